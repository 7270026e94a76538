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
import pickle
import socket
import struct
import sys
import time
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

from newsarchive.extract import extract_pages
from newsarchive.items import Article, CrawledPage, FetchFailure

logger = logging.getLogger(__name__)

# A body shorter than this is a teaser or an error page, not an article.
MIN_BODY_CHARS = 200
# Fields an article should have; each one missing is counted per crawl (a portal redesign shows up
# as a jump in these counts).
EXPECTED_FIELDS = ("title", "body", "authors", "published")


# The frame header of multiprocessing's Connection, which the worker's end of the socket speaks:
# the length as a signed 32-bit big-endian integer, or -1 and then a 64-bit one from 2 GiB up.
_FRAME_HEADER = struct.Struct("!i")
_LONG_FRAME_HEADER = struct.Struct("!Q")
# How long a worker gets to exit after its socket closes before it is terminated.
WORKER_EXIT_TIMEOUT = 10.0


def _serve(conn: Connection) -> None:
    """A worker process: run each (function, args) that comes down the socket and send back
    (True, result) or (False, exception), in order. It ends when the crawl process closes its end
    of the socket, which also happens when the crawl process is killed (even by SIGKILL)."""
    import signal

    # Ctrl-C goes to the whole process group: the crawl process stops gracefully and then closes
    # its workers; a worker interrupted midway would lose what the graceful stop still needs.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            function, args = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            reply = (True, function(*args))
        except Exception as exc:
            reply = (False, exc)
        try:
            payload = pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an exception or result that does not pickle
            payload = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        try:
            conn.send_bytes(payload)
        except OSError:
            return


class WorkerProcess:
    """One worker process, called from the crawl's event loop over a socket.

    Not a ProcessPoolExecutor: each submit to one wakes its management thread, and a feeder thread
    pickles and sends the work; with two round trips per article those threads take the GIL from
    the reactor thread several times per page, and the reactor thread is the crawl's bottleneck.
    Here the event loop itself writes each call to a non-blocking socket and reads the replies
    (which come back in order: the worker runs one call at a time), so the crawl process runs no
    extra thread, and a full socket buffer never blocks the reactor.
    """

    def __init__(self, name: str) -> None:
        import multiprocessing

        ours, theirs = socket.socketpair()
        conn = Connection(theirs.detach())
        # forkserver: the worker does not inherit the reactor, its sockets, or our end of this one,
        # so it sees the end of the socket when the crawl process ends.
        context = multiprocessing.get_context("forkserver")
        self.process = context.Process(target=_serve, args=(conn,), name=name, daemon=True)
        self.process.start()
        conn.close()
        self.sock = ours
        self.pending: deque[asyncio.Future[Any]] = deque()
        self.transport: asyncio.Transport | None = None
        self.lost: BaseException | None = None
        self.buffer = bytearray()
        self.writable: asyncio.Future[None] | None = None
        self.closed: asyncio.Future[None] | None = None

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        self.closed = loop.create_future()
        await loop.connect_accepted_socket(lambda: _WorkerProtocol(self), sock=self.sock)

    async def call(self, function: Any, *args: Any) -> Any:
        """function(*args) in the worker process; raises what it raises."""
        if self.writable is not None:
            # The socket buffer is full: wait until the worker has read some of it.
            await asyncio.shield(self.writable)
        if self.transport is None or self.lost is not None:
            raise RuntimeError(f"{self.process.name}: the worker process is gone ({self.lost})")
        payload = pickle.dumps((function, args), pickle.HIGHEST_PROTOCOL)
        if len(payload) < 0x7FFFFFFF:
            header = _FRAME_HEADER.pack(len(payload))
        else:
            header = _FRAME_HEADER.pack(-1) + _LONG_FRAME_HEADER.pack(len(payload))
        future = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        self.transport.write(header + payload)
        return await future

    def received(self, data: bytes) -> None:
        """Replies (maybe a part of one) from the worker: each complete one settles its call."""
        buffer = self.buffer
        buffer += data
        offset = 0
        while True:
            start = offset + 4
            if len(buffer) < start:
                break
            (size,) = _FRAME_HEADER.unpack_from(buffer, offset)
            if size == -1:
                start += 8
                if len(buffer) < start:
                    break
                (size,) = _LONG_FRAME_HEADER.unpack_from(buffer, offset + 4)
            end = start + size
            if len(buffer) < end:
                break
            ok, value = pickle.loads(buffer[start:end])
            offset = end
            future = self.pending.popleft()
            if not future.cancelled():
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        if offset:
            del buffer[:offset]

    def lost_connection(self, exc: BaseException | None) -> None:
        """The socket closed (we closed it, or the worker ended): calls still waiting fail."""
        self.lost = exc or EOFError("connection closed")
        while self.pending:
            future = self.pending.popleft()
            if not future.done():
                future.set_exception(
                    RuntimeError(f"{self.process.name}: the worker process ended ({self.lost})")
                )
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)
        if not self.closed.done():
            self.closed.set_result(None)

    async def close(self) -> None:
        """Close the socket (the worker ends when it reads its end) and wait for the worker."""
        if self.transport is not None:
            self.transport.close()  # sends what is still buffered first
            if self.lost is None:
                await self.closed
        else:
            self.sock.close()
        deadline = time.monotonic() + WORKER_EXIT_TIMEOUT
        while self.process.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if self.process.is_alive():
            logger.warning("%s did not exit; terminating it", self.process.name)
            self.process.terminate()
        self.process.join()


class _WorkerProtocol(asyncio.Protocol):
    def __init__(self, worker: WorkerProcess) -> None:
        self.worker = worker

    def connection_made(self, transport: Any) -> None:
        self.worker.transport = transport

    def data_received(self, data: bytes) -> None:
        self.worker.received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.worker.lost_connection(exc)

    def pause_writing(self) -> None:
        self.worker.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        writable, self.worker.writable = self.worker.writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)


class ExtractPipeline:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: list[WorkerProcess] = []

    @classmethod
    def from_crawler(cls, crawler: Any) -> ExtractPipeline:
        return cls(crawler.settings.getint("NEWSARCHIVE_EXTRACT_WORKERS", 0))

    async def open_spider(self, spider: Any = None) -> None:
        for number in range(self.workers):
            worker = WorkerProcess(f"newsarchive-extract-{number + 1}")
            self.pool.append(worker)
            await worker.connect()

    async def close_spider(self, spider: Any = None) -> None:
        for worker in self.pool:
            await worker.close()
        self.pool = []

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, CrawledPage):
            return item
        profile = getattr(spider, "profile", None) if spider is not None else None
        pages = [item.raw, *item.continuations]
        try:
            if self.pool:
                worker = min(self.pool, key=lambda w: len(w.pending))
                item.article = await worker.call(extract_pages, pages, profile)
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

    async def open_spider(self, spider: Any = None) -> None:
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
        self.writer = WorkerProcess("newsarchive-writer")
        await self.writer.connect()
        self.run_id = await self.writer.call(
            _writer_open, str(spider.db_path), self.site, run_settings, self.commit_every
        )
        self.started = time.monotonic()

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if isinstance(item, FetchFailure | CrawledPage):
            outcome = await self.writer.call(_writer_store, item)
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

    async def close_spider(self, spider: Any = None) -> None:
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
            await self.writer.call(_writer_close, counts)
        finally:
            await self.writer.close()
        elapsed = time.monotonic() - self.started
        for key, value in self.counts.items():
            self.stats.set_value(f"newsarchive/{key}", value)
        self.stats.set_value("newsarchive/run_id", self.run_id)
        self.stats.set_value("newsarchive/seconds", round(elapsed, 3))
        logger.info("%s (run %s, %.1fs)", self.line(), self.run_id, elapsed)
