"""ExtractPipeline -> ValidatePipeline -> StorePipeline: what happens to each fetched page.

- ExtractPipeline runs the pure extractor (`extract_article`) on the raw page, and stitches the
  bodies of a multi-page article's later pages onto the first page's record. With
  NEWSARCHIVE_EXTRACT_WORKERS > 0 it extracts in worker processes.
- ValidatePipeline keeps a record only if it is an article (a title and a body); otherwise the
  raw page is still archived and what was missing is counted.
- StorePipeline writes raw pages and records to the archive, records failures, keeps the
  `crawl_runs` row, shows the live progress line and the end summary.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from newsarchive.extract import extract_pages
from newsarchive.items import Article
from newsarchive.spiders.portal import CrawledPage, FetchFailure

logger = logging.getLogger(__name__)

# A body shorter than this is a teaser or an error page, not an article.
MIN_BODY_CHARS = 200
# Fields an article should have; each one missing is counted per crawl (a portal redesign shows up
# as a jump in these counts).
EXPECTED_FIELDS = ("title", "body", "authors", "published")


def _exit_with(parent_pid: int) -> None:
    """Worker initializer: end this worker when the crawl process is gone (even after SIGKILL,
    which gives the pool no chance to shut its workers down)."""
    import os
    import threading

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _worker_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes that do not inherit the reactor and its sockets (forkserver), and that
    end when the crawl process is gone."""
    import multiprocessing
    import os

    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_exit_with,
        initargs=(os.getpid(),),
    )


class ExtractPipeline:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> ExtractPipeline:
        return cls(crawler.settings.getint("NEWSARCHIVE_EXTRACT_WORKERS", 0))

    def open_spider(self, spider: Any = None) -> None:
        if self.workers > 0:
            self.pool = _worker_pool(self.workers)

    def close_spider(self, spider: Any = None) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, CrawledPage):
            return item
        profile = getattr(spider, "profile", None) if spider is not None else None
        pages = [item.raw, *item.continuations]
        try:
            if self.pool is not None:
                future = self.pool.submit(extract_pages, pages, profile)
                item.article = await asyncio.wrap_future(future)
            else:
                item.article = extract_pages(pages, profile)
        except Exception as exc:  # one broken page must not end the crawl
            logger.warning("%s: extraction failed: %s: %s", item.raw.url, type(exc).__name__, exc)
            item.article = None
            item.missing = ["extraction"]
        return item


class ValidatePipeline:
    def __init__(self, stats: Any) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> ValidatePipeline:
        return cls(crawler.stats)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, CrawledPage) or item.article is None:
            return item
        article: Article = item.article
        missing = [name for name in EXPECTED_FIELDS if not getattr(article, name)]
        if article.body and len(article.body) < MIN_BODY_CHARS:
            missing.append("body")
        for name in dict.fromkeys(missing):
            self.stats.inc_value(f"newsarchive/missing/{name}")
        item.missing = list(dict.fromkeys(missing))
        if "title" in missing or "body" in missing:
            # Not an article (a section front, an error page): the raw page is still archived.
            item.article = None
        return item


class ProgressLine:
    """One line on stderr, rewritten in place, when stderr is a terminal."""

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


# The archive lives in a process of its own (one, so SQLite has one writer): SQLite, zstd and
# record serialisation then run beside the crawl instead of taking turns with it for the GIL.
# These functions run in that process; `_WRITER` is its open archive.
_WRITER: dict[str, Any] = {}


def _writer_open(db_path: str, site: str, run_settings: dict[str, Any], commit_every: int) -> int:
    from newsarchive.storage import Archive

    archive = Archive(db_path)
    _WRITER["archive"] = archive
    _WRITER["run_id"] = run_id = archive.start_run(site, run_settings)
    _WRITER["batch"] = batch = archive.batch(commit_every)
    batch.__enter__()
    return run_id


def _writer_store(item: Any) -> str:
    """One item into the archive; returns the outcome to count."""
    archive, run_id = _WRITER["archive"], _WRITER["run_id"]
    if isinstance(item, FetchFailure):
        archive.record_failure(
            item.url, item.reason, status=item.status, run_id=run_id, site=item.site
        )
        return "failures"
    try:
        return archive.store(
            item.raw, item.article, site=item.site, run_id=run_id, continuations=item.continuations
        )
    except Exception as exc:  # StoreError: recorded in failures by the archive
        logger.warning("%s", exc)
        return "failures"


def _writer_close(counts: dict[str, int]) -> None:
    archive = _WRITER.pop("archive")
    try:
        _WRITER.pop("batch").__exit__(None, None, None)
        archive.finish_run(_WRITER.pop("run_id"), **counts)
    finally:
        archive.close()


class StorePipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.commit_every = crawler.settings.getint("NEWSARCHIVE_COMMIT_EVERY", 100)
        self.progress = ProgressLine(crawler.settings.getbool("NEWSARCHIVE_PROGRESS", True))
        self.counts = {"new": 0, "updated": 0, "unchanged": 0, "page": 0, "failures": 0}
        self.run_id: int | None = None
        self.started = time.monotonic()
        self.writer: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> StorePipeline:
        return cls(crawler)

    def open_spider(self, spider: Any = None) -> None:
        spider = spider or self.crawler.spider
        self.site = spider.site_name
        settings = self.crawler.settings
        run_settings = {
            "base_url": spider.base_url,
            "profile": spider.profile.path if spider.profile else None,
            "since": spider.since.date().isoformat() if spider.since else None,
            "max_pages": spider.max_pages,
            "resume": bool(settings.get("JOBDIR")),
            **{
                name: settings.get(name)
                for name in (
                    "USER_AGENT",
                    "ROBOTSTXT_OBEY",
                    "DOWNLOAD_DELAY",
                    "AUTOTHROTTLE_ENABLED",
                    "CONCURRENT_REQUESTS_PER_DOMAIN",
                    "DEPTH_LIMIT",
                )
            },
        }
        self.writer = _worker_pool(1)
        self.run_id = self.writer.submit(
            _writer_open, str(spider.db_path), self.site, run_settings, self.commit_every
        ).result()
        self.started = time.monotonic()

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if isinstance(item, FetchFailure | CrawledPage):
            outcome = await asyncio.wrap_future(self.writer.submit(_writer_store, item))
            self.counts[outcome] = self.counts.get(outcome, 0) + 1
        self.progress.show(self.line())
        return item

    def line(self) -> str:
        c = self.counts
        fetched = self.stats.get_value("response_received_count", 0)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        done = c["new"] + c["updated"] + c["unchanged"]
        return (
            f"{self.site}: {fetched} pages fetched | articles {c['new']} new, {c['updated']} updated, "
            f"{c['unchanged']} unchanged | {c['failures']} failures | {done / elapsed:.1f} articles/s"
        )

    def close_spider(self, spider: Any = None) -> None:
        self.progress.show(self.line(), force=True)
        self.progress.done()
        c = self.counts
        fetched = self.stats.get_value("response_received_count", 0)

        counts = {
            "pages_fetched": fetched,
            "articles_new": c["new"],
            "articles_updated": c["updated"],
            "articles_unchanged": c["unchanged"],
            "failures": c["failures"],
        }
        try:
            self.writer.submit(_writer_close, counts).result()
        finally:
            self.writer.shutdown(wait=True)
        elapsed = time.monotonic() - self.started
        for key, value in self.counts.items():
            self.stats.set_value(f"newsarchive/{key}", value)
        self.stats.set_value("newsarchive/run_id", self.run_id)
        self.stats.set_value("newsarchive/seconds", round(elapsed, 3))
        logger.info("%s (run %s, %.1fs)", self.line(), self.run_id, elapsed)
