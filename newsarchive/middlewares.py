"""Downloader middlewares: retries that back off as a server asks, and redirects into the archive.

- BackoffRetryMiddleware replaces Scrapy's RetryMiddleware (same settings: RETRY_TIMES,
  RETRY_HTTP_CODES). A 429 or 503 waits before its retry: the server's Retry-After (seconds or an
  HTTP date, capped at RETRY_AFTER_MAX), or else RETRY_BACKOFF_BASE doubled per attempt.
- ArchivedRedirectFilter drops a redirect whose target the archive already holds and is not due
  for a revisit, so an old URL that moved does not make every run re-fetch the article.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.asyncio import sleep
from scrapy.utils.response import response_status_message

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

logger = logging.getLogger(__name__)

# Statuses where the server asks us to slow down rather than reporting a broken page.
BACKOFF_STATUSES = frozenset({429, 503})


def retry_after_seconds(value: str | bytes | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings) -> None:  # noqa: ANN001 (Scrapy's BaseSettings)
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 2.0)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 300.0)

    def backoff_delay(self, request: Request, response: Response) -> float:
        asked = retry_after_seconds(response.headers.get(b"Retry-After"))
        if asked is not None:
            return min(asked, self.retry_after_max)
        attempt = request.meta.get("retry_times", 0)
        return min(self.backoff_base * (2**attempt), self.retry_after_max)

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        if response.status in BACKOFF_STATUSES:
            delay = self.backoff_delay(request, response)
            if delay > 0:
                logger.info(
                    "%s answered %s: waiting %.1fs before retrying",
                    request.url,
                    response.status,
                    delay,
                )
                self.crawler.stats.inc_value("newsarchive/backoff_waits")
                await sleep(delay)
        return retry


class ArchivedRedirectFilter:
    """After a redirect, skip the target if the spider says the archive has it and it is fresh."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivedRedirectFilter:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not request.meta.get("redirect_urls"):
            return
        spider = self.crawler.spider
        should_fetch = getattr(spider, "should_fetch", None)
        if (
            should_fetch is not None
            and request.meta.get("article")
            and not should_fetch(request.url)
        ):
            self.crawler.stats.inc_value("newsarchive/skipped_archived_redirect")
            raise IgnoreRequest(f"redirect target already archived: {request.url}")
