"""ExtractPipeline -> ValidatePipeline -> StorePipeline: what happens to each fetched page.

- ExtractPipeline runs the pure extractor (`extract_pages`) on the raw page (and the later pages of
  a multi-page article) with the spider's site profile. With NEWSARCHIVE_EXTRACT_WORKERS > 0 it
  extracts in worker processes (newsarchive.workers).
- ValidatePipeline keeps a record only for a page the extractor classed as an article
  (`Article.page_kind`); every other page is still archived as a raw page with its kind, and the
  kinds and the fields missing from articles are counted in the crawl's stats.
- StorePipeline writes raw pages, records and failures to the archive from a writer process of
  its own, keeps the `crawl_runs` row, shows the live progress line and logs the end summary.

Scrapy 2.19 passes `spider` to a pipeline method only where the parameter is required (and warns
that it will stop doing so): these pipelines take what they need from the crawler instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urljoin

from scrapy import signals
from scrapy.exceptions import CloseSpider

from newsarchive import crawl_jobs
from newsarchive.errors import ArchiveUnwritable, NewsarchiveError, NotHtmlError
from newsarchive.extract import extract_pages
from newsarchive.items import (
    Article,
    CrawledPage,
    FetchFailure,
    has_field,
    require_headline_and_body,
)
from newsarchive.workers import WorkerGone, WorkerProcess

logger = logging.getLogger(__name__)

# Fields an article should have; each one missing is counted per crawl.
EXPECTED_FIELDS = ("title", "body", "authors", "published")
# The writer commits after this many items or this many seconds, whichever comes first: another
# crawl or an import on the same archive waits at most that long for its turn to write.
DEFAULT_COMMIT_EVERY = 100
DEFAULT_COMMIT_SECONDS = crawl_jobs.DEFAULT_COMMIT_SECONDS
# Items go to the writer process in batches of up to this many, or after this many seconds for
# a batch that does not fill (a slow site): a message and a reply per item cost the crawl process
# a socket write and a wake-up each, measured as the largest single cost of its event loop.
WRITER_BATCH = 32
WRITER_BATCH_SECONDS = 0.1
# Batches sent and not yet answered, at most: then process_item waits for the oldest, so the
# items held in memory stay bounded however far the writer falls behind (memory flat).
WRITER_IN_FLIGHT = 2
# The finish reason when a worker process died under the crawl.
WORKER_DIED = "worker_died"
# The finish reason when the archive could not be written (a full disk): nothing more is fetched.
ARCHIVE_UNWRITABLE = ArchiveUnwritable.finish_reason
# The finish reason when the archive could not be opened for the crawl (nothing was fetched).
ARCHIVE_UNOPENED = "archive_unopened"
# `extra` of a log record the `newsarchive crawl` command reports itself in its last line: it
# leaves such records out of its terminal output (Scrapy's own log, `-v`, still shows them).
REPORTED = {"newsarchive_reported": True}


def stop_crawl(crawler: Any, reason: str) -> None:
    """Close the spider with `reason`, as CloseSpider from a callback would, from anywhere.

    Scheduled, not awaited: the close waits for the items in progress, and the caller may be one.
    """
    engine = getattr(crawler, "engine", None)
    if engine is None or getattr(engine, "spider", None) is None:
        return

    async def close() -> None:
        # Already closing or closed (Ctrl-C, the other worker): nothing to add.
        with contextlib.suppress(RuntimeError):
            await engine.close_spider_async(reason=reason)

    asyncio.ensure_future(close())


# --- extraction --------------------------------------------------------------------------------


class ExtractPipeline:
    def __init__(self, crawler: Any, workers: int) -> None:
        self.crawler = crawler
        self.workers = workers
        self.pool: list[WorkerProcess] = []
        self.profile: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> ExtractPipeline:
        return cls(crawler, crawler.settings.getint("NEWSARCHIVE_EXTRACT_WORKERS", 0))

    async def open_spider(self, spider: Any = None) -> None:
        # The profile (selectors, time zone, chrome rules, layouts) of the site being crawled: a
        # packaged one, or the user's own file.
        self.profile = getattr(self.crawler.spider, "profile", None)
        for number in range(self.workers):
            worker = WorkerProcess(f"newsarchive-extract-{number + 1}", on_lost=self._lost)
            self.pool.append(worker)
            await worker.connect()
            await worker.call(crawl_jobs.extract_init, self.profile)

    def _lost(self, worker: WorkerProcess) -> None:
        if worker in self.pool:
            self.pool.remove(worker)
        why = worker.describe_end()
        self.crawler.stats.set_value("newsarchive/worker_died", why)
        logger.error("%s; stopping the crawl", why, extra=REPORTED)
        stop_crawl(self.crawler, WORKER_DIED)

    async def close_spider(self, spider: Any = None) -> None:
        for worker in self.pool:
            await worker.close()
        self.pool = []

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, CrawledPage):
            return item
        pages = [item.raw, *item.continuations]
        try:
            if self.pool:
                worker = min(self.pool, key=lambda w: len(w.pending))
                item.article = await worker.call(crawl_jobs.extract, pages)
            else:
                item.article = extract_pages(pages, self.profile)
        except WorkerGone:
            # The worker died with this page in it (maybe of it): not extracted again here, where
            # it could take the crawl down too. The raw page is still archived, as "unextracted":
            # `reextract` tries it again.
            item.article = None
            item.missing = ["extraction"]
            item.extraction_error = "its extraction worker process ended while extracting it"
        except NotHtmlError as exc:
            # The page's own fault (empty, a PDF served as HTML): no extractor failed and a
            # re-extraction would find the same, so it is another page with the reason, not a
            # failed crawl. The crawl said "extraction failed", exit 1, and sent the user to
            # `reextract`, which does not try such pages.
            logger.warning("%s: kept as another page: %s", item.raw.url, exc)
            item.article = Article(url=item.raw.url, page_kind="other", kind_reasons=[str(exc)])
        except Exception as exc:  # one broken page must not end the crawl
            logger.warning("%s: extraction failed: %s: %s", item.raw.url, type(exc).__name__, exc)
            item.article = None
            item.missing = ["extraction"]
            item.extraction_error = f"{type(exc).__name__}: {exc}"
        return item


# --- validation --------------------------------------------------------------------------------


class ValidatePipeline:
    def __init__(self, stats: Any) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> ValidatePipeline:
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, CrawledPage):
            return item
        article: Article | None = item.article
        if article is None:
            self.stats.inc_value("newsarchive/missing/extraction")
            return item
        require_headline_and_body(article)
        kind = article.page_kind or "article"
        self.stats.inc_value(f"newsarchive/kind/{kind}")
        if kind != "article":
            item.missing = []
            return item
        item.missing = [name for name in EXPECTED_FIELDS if not has_field(article, name)]
        for name in item.missing:
            self.stats.inc_value(f"newsarchive/missing/{name}")
        return item


# --- progress ----------------------------------------------------------------------------------


class ProgressLine:
    """One line on stderr, rewritten in place, when stderr is a terminal (never `\\r` into a log
    file or a pipe: there Scrapy's LogStats line, at INFO, tells the progress)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.last = 0.0
        self.width = 0

    def show(self, text: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.last < 0.25:
            return
        self.last = now
        sys.stderr.write("\r" + text.ljust(self.width))
        sys.stderr.flush()
        self.width = len(text)

    def done(self) -> None:
        if self.enabled and self.width:
            sys.stderr.write("\n")
            sys.stderr.flush()


# --- the archive writer ------------------------------------------------------------------------


def _item_url(item: FetchFailure | CrawledPage) -> str:
    return item.url if isinstance(item, FetchFailure) else item.raw.url


def robots_failures(stats: dict[str, Any], base_url: str, site: str) -> list[FetchFailure]:
    """robots.txt fetches that failed, from Scrapy's stats (its middleware records no item)."""
    failures = []
    for key, count in stats.items():
        if not key.startswith("robotstxt/exception_count/") or not count:
            continue
        name = key.rsplit("/", 1)[1].strip("<>'").replace("class '", "").rsplit(".", 1)[-1]
        reason = "connection refused" if "ConnectionRefused" in name else name.rstrip("'>")
        failures.append(
            FetchFailure(
                url=urljoin(base_url, "/robots.txt"),
                reason=f"robots.txt could not be fetched: {reason}",
                site=site,
            )
        )
    return failures


# The Scrapy settings a run row keeps (crawl_runs.settings), so a crawl can be cited.
RECORDED_SETTINGS = (
    "USER_AGENT",
    "ROBOTSTXT_OBEY",
    "DOWNLOAD_DELAY",
    "AUTOTHROTTLE_ENABLED",
    "CONCURRENT_REQUESTS_PER_DOMAIN",
    "DEPTH_LIMIT",
)


class StorePipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.commit_every = settings.getint("NEWSARCHIVE_COMMIT_EVERY", DEFAULT_COMMIT_EVERY)
        self.commit_seconds = settings.getfloat(
            "NEWSARCHIVE_COMMIT_SECONDS", DEFAULT_COMMIT_SECONDS
        )
        self.progress = ProgressLine(settings.getbool("NEWSARCHIVE_PROGRESS", True))
        self.counts: Counter[str] = Counter(
            {"new": 0, "updated": 0, "unchanged": 0, "page": 0, "failures": 0}
        )
        # Why requests failed, for the end summary ("nothing answered (connection refused)").
        self.reasons: Counter[str] = Counter()
        self.not_stored = 0
        # The line saying why the archive cannot be written, once a write found it so.
        self.unwritable: str | None = None
        self.run_id: int | None = None
        self.db_path: str | None = None
        self.site = "site"
        self.started = time.monotonic()
        self.writer: WorkerProcess | None = None
        # Items waiting to go to the writer, the batches it has not answered yet, and the timer
        # that sends a batch that does not fill.
        self.batch: list[FetchFailure | CrawledPage] = []
        self.in_flight: list[asyncio.Task[None]] = []
        self.flush_timer: asyncio.TimerHandle | None = None
        # The run row is finished once, in spider_closed (where Scrapy says why the crawl ended).
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> StorePipeline:
        return cls(crawler)

    async def open_spider(self, spider: Any = None) -> None:
        spider = self.crawler.spider
        self.site = spider.site_name
        self.db_path = str(spider.db_path)
        settings = self.crawler.settings
        run_settings = {
            "base_url": spider.base_url,
            "profile": str(spider.profile.path) if getattr(spider, "profile", None) else None,
            "since": spider.since.date().isoformat() if getattr(spider, "since", None) else None,
            "max_pages": getattr(spider, "max_pages", None),
            "resume": bool(settings.get("JOBDIR")),
            **{name: settings.get(name) for name in RECORDED_SETTINGS},
        }
        # Set by `newsarchive run` for the plan entry this crawl is made for (JSON).
        entry = settings.get("NEWSARCHIVE_PLAN_ENTRY")
        plan_entry = json.loads(entry) if isinstance(entry, str) and entry else entry or None
        writer = WorkerProcess("newsarchive-writer", on_lost=self._lost)
        try:
            await writer.connect()
            self.run_id = await writer.call(
                crawl_jobs.writer_open,
                self.db_path,
                self.site,
                run_settings,
                self.commit_every,
                self.commit_seconds,
                plan_entry,
            )
        except NewsarchiveError as exc:
            # The archive cannot be opened or written (a full disk, a lock held too long):
            # closed before any request (Scrapy's way for a component that cannot start), and
            # said in one line by the command.
            await writer.close()
            if isinstance(exc, ArchiveUnwritable):
                self.unwritable = str(exc)
                raise CloseSpider(ARCHIVE_UNWRITABLE) from None
            self.stats.set_value("newsarchive/open_error", str(exc))
            raise CloseSpider(ARCHIVE_UNOPENED) from None
        except BaseException:
            await writer.close()
            raise
        self.writer = writer
        self.started = time.monotonic()

    def _lost(self, worker: WorkerProcess) -> None:
        why = worker.describe_end()
        self.stats.set_value("newsarchive/worker_died", why)
        logger.error("%s; stopping the crawl", why, extra=REPORTED)
        stop_crawl(self.crawler, WORKER_DIED)

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, FetchFailure | CrawledPage):
            if isinstance(item, FetchFailure):
                self.reasons[item.reason] += 1
            await self._store(item)
        self.progress.show(self.line())
        return item

    async def _store(self, item: FetchFailure | CrawledPage) -> None:
        """Queue `item` for the writer; a full batch is sent (the outcomes are counted when the
        reply comes). Waits only while WRITER_IN_FLIGHT batches are unanswered."""
        self.batch.append(item)
        if len(self.batch) >= WRITER_BATCH:
            self._send_batch()
        elif self.flush_timer is None:
            self.flush_timer = asyncio.get_running_loop().call_later(
                WRITER_BATCH_SECONDS, self._send_batch
            )
        while len(self.in_flight) > WRITER_IN_FLIGHT:
            await asyncio.shield(self.in_flight[0])

    def _send_batch(self) -> None:
        if self.flush_timer is not None:
            self.flush_timer.cancel()
            self.flush_timer = None
        if not self.batch:
            return
        items, self.batch = self.batch, []
        self.in_flight.append(asyncio.ensure_future(self._store_batch(items)))

    async def _store_batch(self, items: list[FetchFailure | CrawledPage]) -> None:
        try:
            replies = await self._call_writer(items)
        finally:
            # Here, not in a done callback: whoever waits on this task sees it gone on waking.
            self.in_flight.remove(asyncio.current_task())  # type: ignore[arg-type]
        for outcome, warning in replies:
            if outcome == "unwritable":
                self.not_stored += 1
                self._stop_unwritable(warning or "the archive cannot be written")
                continue
            if outcome == "store_failures":
                self.counts["failures"] += 1
                self.counts["store_failures"] += 1
            else:
                self.counts[outcome] += 1
            if warning:
                logger.warning("%s", warning)

    async def _call_writer(
        self, items: list[FetchFailure | CrawledPage]
    ) -> list[tuple[str, str | None]]:
        writer = self.writer
        if writer is None or writer.gone or self.unwritable:
            # Said once, in the summary: the writer's death (or a full disk) stops the crawl.
            self.not_stored += len(items)
            return []
        try:
            return await writer.call(crawl_jobs.writer_store_many, items)
        except WorkerGone:
            self.not_stored += len(items)
            return []
        except Exception as exc:
            if len(items) == 1:
                # An item that cannot be sent (does not pickle): logged, the crawl goes on.
                logger.error("%s: not stored: %s: %s", _item_url(items[0]), type(exc).__name__, exc)
                self.not_stored += 1
                return []
        # One bad item must not lose its batch: the others are sent one by one.
        replies = []
        for item in items:
            replies += await self._call_writer([item])
        return replies

    def _stop_unwritable(self, message: str, lost: dict[str, int] | None = None) -> None:
        """The archive cannot be written: stop fetching (the first time), and take the items of
        the batch it could not commit (`lost`) out of the counts."""
        for outcome, count in (lost or {}).items():
            taken = min(self.counts[outcome], count)
            self.counts[outcome] -= taken
            self.not_stored += taken
        if self.unwritable is None:
            self.unwritable = message
            logger.error("%s; stopping the crawl", message, extra=REPORTED)
            stop_crawl(self.crawler, ARCHIVE_UNWRITABLE)

    async def _drain(self) -> None:
        """Send what is queued and wait for every reply: the writer holds all items then."""
        self._send_batch()
        while self.in_flight:
            await asyncio.shield(self.in_flight[0])

    def line(self) -> str:
        c = self.counts
        fetched = self.stats.get_value("response_received_count", 0)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        done = c["new"] + c["updated"] + c["unchanged"]
        return (
            f"{self.site}: {fetched} pages fetched | articles {c['new']} new, {c['updated']} updated, "
            f"{c['unchanged']} unchanged | {c['failures']} failures | {done / elapsed:.1f} articles/s"
        )

    async def close_spider(self, spider: Any = None) -> None:
        await self._drain()  # the counts of the end line include every item
        self.progress.show(self.line(), force=True)
        self.progress.done()

    async def spider_closed(self, spider: Any, reason: str) -> None:
        """Every item is through the pipelines: record robots.txt failures, finish the run row
        (with Scrapy's finish reason), close the writer, put the counts in the stats."""
        spider = self.crawler.spider or spider
        stats = self.stats.get_stats()
        if not any(r.startswith("robots.txt") for r in self.reasons):
            for failure in robots_failures(stats, getattr(spider, "base_url", ""), self.site):
                self.reasons[failure.reason] += 1
                await self._store(failure)
        await self._drain()
        fetched = stats.get("response_received_count", 0)
        counts = {
            "pages_fetched": fetched,
            "articles_new": self.counts["new"],
            "articles_updated": self.counts["updated"],
            "articles_unchanged": self.counts["unchanged"],
            "failures": self.counts["failures"],
            "recheck_until": stats.get("newsarchive/recheck_until"),
        }
        writer, self.writer = self.writer, None
        if writer is not None:
            try:
                if not writer.gone:
                    with contextlib.suppress(WorkerGone):
                        damage = await writer.call(crawl_jobs.writer_close, counts, reason)
                        if damage:
                            self.stats.set_value("newsarchive/damage", damage)
            except ArchiveUnwritable as exc:
                self._stop_unwritable(str(exc), exc.lost)
            finally:
                await writer.close()
            if writer.gone and self.run_id is not None and self.db_path:
                try:
                    crawl_jobs.finish_run_here(self.db_path, self.run_id, counts, reason)
                except Exception as exc:
                    logger.warning("run %s could not be finished: %s", self.run_id, exc)
        elapsed = time.monotonic() - self.started
        for key, value in self.counts.items():
            self.stats.set_value(f"newsarchive/{key}", value)
        self.stats.set_value("newsarchive/not_stored", self.not_stored)
        if self.unwritable:
            self.stats.set_value("newsarchive/unwritable", self.unwritable)
        self.stats.set_value("newsarchive/known_before", len(getattr(spider, "known", None) or ()))
        self.stats.set_value("newsarchive/failure_reasons", dict(self.reasons))
        self.stats.set_value("newsarchive/run_id", self.run_id)
        self.stats.set_value("newsarchive/seconds", round(elapsed, 3))
        logger.info("%s (run %s, %.1fs, %s)", self.line(), self.run_id, elapsed, reason)
