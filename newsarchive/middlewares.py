"""Downloader middlewares: retries that back off as a server asks, and redirects into the archive.

- BackoffRetryMiddleware replaces Scrapy's RetryMiddleware (same settings: RETRY_TIMES,
  RETRY_HTTP_CODES). A 429 or 503 waits before its retry: the server's Retry-After (seconds or an
  HTTP date, capped at RETRY_AFTER_MAX), or else RETRY_BACKOFF_BASE doubled per attempt.
- ArchivedRedirectFilter drops a redirect whose target the archive already holds and is not due
  for a revisit, so an old URL that moved does not make every run re-fetch the article.
- RobotsTxt is Scrapy's RobotsTxtMiddleware (the one robots.txt request per host), saying in one
  line rather than a traceback when robots.txt cannot be fetched, and handing the spider the
  `Sitemap:` lines of the robots.txt it fetched.
- Offsite is Scrapy's OffsiteMiddleware, without keeping each waiting request's parsed URL.
- BotCheck turns a bot check or CAPTCHA answered with status 200 (Cloudflare's "Just a
  moment...", Imperva, Sucuri, DataDome) into a failure that says so, instead of a page.
- FetchGuard sits next to the downloader: it spends the page budget (`max_pages`: exactly that
  many requests reach the network, then the spider closes with reason "max_pages"; requests taken
  from the queue past the budget go back into it, so that --resume fetches them), and turns
  redirect loops and endless redirect chains into failures with a reason (Scrapy's dupefilter
  would drop the looping hop without a word).

And one spider middleware: SpiderErrors turns an exception out of a spider callback into a
failures row for the page and one log line, counted for the crawl's exit status.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.asyncio import sleep
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from twisted.internet.defer import Deferred

from newsarchive.bot_checks import bot_check_reason, bot_check_service
from newsarchive.urls import fetch_key

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser

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


# Request meta of an archived article fetched again because it has been long (a recheck).
RECHECK = "newsarchive_recheck"


class ArchivedRedirectFilter:
    """After a redirect, skip the target if the spider says the archive has it and it is fresh;
    not for a recheck (its redirect to an archived article is news: the article moved)."""

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
            and not request.meta.get(RECHECK)
            and not should_fetch(request.url)
        ):
            self.crawler.stats.inc_value("newsarchive/skipped_archived_redirect")
            raise IgnoreRequest(f"redirect target already archived: {request.url}")


class Unfetchable(IgnoreRequest):
    """A request that cannot give a page, with the reason a person reads in `failures`."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class BudgetSpent(IgnoreRequest):
    """Not fetched: the crawl's page budget (`max_pages`) is spent. The user's choice, not a
    failure. Only for requests downloaded outside the queue (robots.txt): the queue's own go back
    into it, and with JOBDIR to the next run."""


# The longest wait between requests a robots.txt's Crawl-delay gets as asked: one asking for more
# (an hour, a day: a typo, or a wish to be left alone) would stop the crawl of the site; past
# this the crawl waits this long between its requests to the host, and says so.
MAX_CRAWL_DELAY = 60.0


class RobotsTxt(RobotsTxtMiddleware):
    """Scrapy's RobotsTxtMiddleware, with a one-line warning instead of a traceback when robots.txt
    cannot be fetched (the site's own pages then carry the failure), `sitemaps()` for the
    spider, so robots.txt is fetched once per host, by this middleware, and its `Crawl-delay`
    (or `Request-rate`) obeyed: Scrapy reads neither. The host's requests then start at least
    that far apart, without jitter below it, and AutoThrottle does not shorten the wait."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._crawl_delays: dict[str, float | None] = {}

    async def process_request(self, request: Request) -> None:
        await super().process_request(request)
        if request.meta.get("dont_obey_robotstxt"):
            return
        delay = self.crawl_delay(request)
        if delay:
            # Every request to the host carries it: AutoThrottle then leaves the host's delay.
            request.meta["autothrottle_dont_adjust_delay"] = True
            self._keep_apart(request, delay)

    def crawl_delay(self, request: Request) -> float | None:
        """Seconds between requests the host's robots.txt asks of this crawler (capped at
        MAX_CRAWL_DELAY), None when it asks nothing or was not read; once its parser is loaded
        (after process_request has awaited it)."""
        netloc = urlparse_cached(request).netloc
        if netloc in self._crawl_delays:
            return self._crawl_delays[netloc]
        parser = self._parsers.get(netloc)
        if parser is None or isinstance(parser, Deferred):
            return None
        rules = getattr(parser, "rp", None)  # Protego, Scrapy's default robots.txt parser
        useragent = self._robotstxt_useragent or request.headers.get(
            b"User-Agent", self._default_useragent
        )
        if isinstance(useragent, bytes):
            useragent = useragent.decode("latin-1")
        asked = 0.0
        with contextlib.suppress(Exception):  # another parser, or a rule it cannot read
            asked = float(rules.crawl_delay(useragent) or 0.0)
        with contextlib.suppress(Exception):
            rate = rules.request_rate(useragent)
            if rate is not None and rate.requests > 0:
                asked = max(asked, rate.seconds / rate.requests)
        delay = min(asked, MAX_CRAWL_DELAY) if asked > 0 else None
        if delay is not None and asked > delay:
            # Said each run (a cron mail): the crawl of the site is faster than the site asks.
            logger.warning(
                "%s: robots.txt asks for %g s between requests; waiting %g s",
                netloc,
                asked,
                delay,
            )
        elif delay is not None:
            logger.info("%s: robots.txt asks for %g s between requests: obeyed", netloc, delay)
        self._crawl_delays[netloc] = delay
        return delay

    def _keep_apart(self, request: Request, delay: float) -> None:
        """The download slot of the request's host keeps `delay` (or DOWNLOAD_DELAY, when that
        is longer) between its requests, with no jitter below it."""
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        wait = max(delay, self.crawler.settings.getfloat("DOWNLOAD_DELAY"))
        downloader.per_slot_settings[key] = {
            **downloader.per_slot_settings.get(key, {}),
            "delay": wait,
            "jitter": 0,
        }
        slot = downloader.slots.get(key)  # made by the host's first request (robots.txt)
        if slot is not None and (slot.delay != wait or slot.jitter):
            slot.delay, slot.jitter = wait, 0

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            url = urlparse_cached(request)
            robotsreq = Request(
                f"{url.scheme}://{netloc}/robots.txt",
                priority=self.DOWNLOAD_PRIORITY,
                meta={"dont_obey_robotstxt": True, "robots": True},
                callback=NO_CALLBACK,
            )
            try:
                resp = await self.crawler.engine.download_async(robotsreq)
                await self._parse_robots(resp, netloc, request)
            except Exception as e:  # noqa: BLE001 (any failure: crawl as if there were no robots.txt)
                if not isinstance(e, IgnoreRequest):
                    logger.warning(
                        "%s could not be fetched (%s: %s); crawling without its rules",
                        robotsreq.url,
                        type(e).__name__,
                        e,
                    )
                self._robots_error(e, netloc)
            self._stats.inc_value("robotstxt/request_count")
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            return await maybe_deferred_to_future(parser)
        return parser

    async def sitemaps(self, url: str) -> list[str] | None:
        """The `Sitemap:` lines of `url`'s host's robots.txt (fetching it if nobody has yet), or
        None when robots.txt could not be fetched at all."""
        parser = await self.robot_parser(Request(url, callback=NO_CALLBACK))
        if parser is None:
            return None
        protego = getattr(parser, "rp", None)
        return list(getattr(protego, "sitemaps", ()) or ())

    @staticmethod
    def of(crawler: Crawler) -> RobotsTxt | None:
        """The crawl's instance, if robots.txt is obeyed (and the crawl has started)."""
        if getattr(crawler, "engine", None) is None:
            return None
        for mw in crawler.engine.downloader.middleware.middlewares:
            if isinstance(mw, RobotsTxt):
                return mw
        return None


class FetchGuard:
    """The last downloader middleware before the network: the page budget and redirect sanity."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_redirects = crawler.settings.getint("REDIRECT_MAX_TIMES", 20)
        self.sent = 0
        self._closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FetchGuard:
        return cls(crawler)

    def _budget(self) -> int:
        spider = self.crawler.spider
        return int(getattr(spider, "max_pages", None) or 0)

    def process_request(self, request: Request) -> Request | None:
        budget = self._budget()
        if not budget:
            return None
        if self.sent >= budget:
            if request.callback is NO_CALLBACK:
                # Downloaded directly (engine.download_async: robots.txt), not from the queue:
                # handing it back would make the engine download it again at once, forever.
                self.crawler.stats.inc_value("newsarchive/max_pages_dropped")
                raise BudgetSpent(f"page budget of {budget} spent")
            # The engine takes several requests from the queue before the one that spends the
            # budget gets here, and the dupefilter (JOBDIR's requests.seen) already has them: a
            # request dropped here would never be asked for again by a --resume run. Handed back
            # to the engine (past the dupefilter, which has it), it goes into the queue, which
            # JOBDIR keeps for the next run: the scheduler closes only after every request in
            # progress, this one too, is settled.
            self.crawler.stats.inc_value("newsarchive/max_pages_requeued")
            return request.replace(dont_filter=True)
        self.sent += 1
        self.crawler.stats.set_value("newsarchive/max_pages_sent", self.sent)
        if self.sent == budget and not self._closing:
            # Scrapy's close waits for the requests in flight (this one among them), then keeps
            # what is still queued in JOBDIR: exactly `budget` requests reach the network.
            self._closing = True
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="max_pages"))

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in (301, 302, 303, 307, 308) or b"Location" not in response.headers:
            return response
        chain = [*request.meta.get("redirect_urls", ()), request.url]
        location = response.headers[b"Location"].decode("latin-1").strip()
        target = response.urljoin(location).split("#", 1)[0]
        if target in chain:
            raise Unfetchable(f"redirect loop ({len(chain)} URLs)", response.status)
        if len(chain) > self.max_redirects:
            raise Unfetchable(f"more than {self.max_redirects} redirects", response.status)
        if fetch_key(target) == fetch_key(request.url):
            # The server insists on a spelling our fingerprint folds (it adds a tracking
            # parameter): not a repeat, so the dupefilter must let the redirect through.
            request.dont_filter = True
        return response


def bot_check(response: Response) -> str | None:
    """The service whose bot check (or block page) `response` is, or None for a page."""
    return bot_check_service(response.body, response.headers.get)


class BotCheck:
    """A page answered with status 200 that is a bot check or a CAPTCHA (see bot_check): a
    failure with that reason, not a page. Before, it was archived, and on an article URL it
    became a record titled "Just a moment...". (An answer with an error status already fails;
    reasons.failure_reason names the bot check there too.)"""

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status == 200:
            name = bot_check(response)
            if name is not None:
                raise Unfetchable(bot_check_reason(name), response.status)
        return response


class Offsite(OffsiteMiddleware):
    """Scrapy's OffsiteMiddleware (allowed_domains and their subdomains; checked when a request is
    scheduled and again when it is downloaded), reading the host without urlparse_cached, which
    keeps each request's parsed URL for as long as the request lives: the thousands of requests
    waiting in the queue of a large crawl carried about 430 bytes each for it."""

    def should_follow(self, request: Request, spider: Spider) -> bool:
        # host_regex is built from the spider's allowed_domains when it opens (they do not change).
        return bool(self.host_regex.search(urlsplit(request.url).hostname or ""))


class SpiderErrors:
    """A spider callback that raised on a page (an error in newsarchive, or the process out of
    some resource): Scrapy logged a traceback and went on, the crawl ended with status 0, and the
    page's links (a listing's articles, an article's later pages) were never followed, without a
    word where cron looks. Now the page gets a failures row saying so, the log one line (the
    traceback at DEBUG, for a report), and the crawl a count (`newsarchive/spider_errors`) that
    makes it end with an `Error:` line and status 1. Pages of a multi-page article fetched before
    are stored, as for any later page that fails."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SpiderErrors:
        return cls(crawler)

    def process_spider_exception(self, response: Response, exception: Exception) -> list | None:
        from scrapy.exceptions import CloseSpider, DropItem
        from scrapy.spidermiddlewares.httperror import HttpError

        if isinstance(exception, CloseSpider | DropItem | HttpError | IgnoreRequest):
            return None  # Scrapy's own ways out of a callback
        spider = self.crawler.spider
        ended = getattr(spider, "ended", None)
        if ended is None:
            return None
        cause = f"{type(exception).__name__}: {exception}".strip().splitlines()
        reason = f"the spider failed on this page ({cause[0] if cause else 'no message'})"
        self.crawler.stats.inc_value("newsarchive/spider_errors")
        logger.error("%s: %s; its links were not followed", response.url, reason)
        logger.debug("the spider's error on %s", response.url, exc_info=exception)
        return list(ended(response.request, reason, response.status))
