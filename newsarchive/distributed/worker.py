"""`newsarchive worker --redis URL`: one crawl worker of a shared crawl, on any machine.

A worker reads the crawl from Redis (sites, settings, what the archive already has), runs the
same `portal` spider as a one-process crawl (one crawler per site, in one Scrapy process), and
hands its items to the writer through Redis. It opens no archive. It ends when the writer says the
crawl is over; it stops with one `Error:` line when Redis is gone or has lost the crawl.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import pickle
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
import zstandard
from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from newsarchive.distributed.scheduler import ITEM_LEASE, Pending
from newsarchive.distributed.shared import (
    HEARTBEAT_EVERY,
    SEEDING,
    Keys,
    RedisProblem,
    WorkerState,
    be_patient,
    connect,
    describe,
    display_url,
    read_config,
)
from newsarchive.items import CrawledPage, FetchFailure
from newsarchive.pipelines import robots_failures
from newsarchive.spiders.portal import PROFILE_SETTINGS
from newsarchive.storage.archive import FetchState
from newsarchive.storage.records import utc_iso

logger = logging.getLogger(__name__)

# How often an idle worker looks at the frontier again (Scrapy's own engine heartbeat is 5 s).
POKE_EVERY = 0.05
# Redis failing this many heartbeats in a row stops the worker.
HEARTBEAT_FAILURES = 5
# The finish reason of a worker stopped because Redis failed or lost the crawl.
REDIS_LOST = "redis_lost"


def encode_item(item_id: str, item: CrawledPage | FetchFailure) -> bytes:
    # zstd level 1: raw pages shrink several times for little CPU, so Redis holds less and the
    # network between machines carries less.
    return zstandard.ZstdCompressor(level=1).compress(
        pickle.dumps((item_id, item), pickle.HIGHEST_PROTOCOL)
    )


def decode_item(data: bytes) -> tuple[str, CrawledPage | FetchFailure]:
    """(the item's id, unique in the crawl: worker id and number; the item)."""
    return pickle.loads(zstandard.ZstdDecompressor().decompress(data))


def encode_state(state: FetchState) -> str:
    return json.dumps(
        [
            state.first_seen.isoformat() if state.first_seen else None,
            state.last_fetched.isoformat() if state.last_fetched else None,
            state.published.isoformat() if state.published else None,
            state.fetch_count,
            state.gone,
        ]
    )


def decode_state(text: bytes | str) -> FetchState:
    first_seen, last_seen, published, fetch_count, gone = json.loads(text)
    return dataclasses.replace(
        FetchState.from_stored(first_seen, last_seen, published, fetch_count), gone=gone
    )


class SharedKnown:
    """The writer's snapshot (a Redis hash, normalised URL -> encode_state) asked per URL, as
    KnownUrls asks the archive: a worker loaded the whole hash before, as much memory as the
    site's archived URLs (120 MB for 660,000) in every worker. A round trip is ~0.1 ms (more to
    another machine), so the spider hands over a sitemap's or a listing's URLs first
    (`prefetch`: one HMGET for all of them), and answers are kept (the snapshot does not change
    during the crawl; at most KEEP of them)."""

    KEEP = 20_000

    def __init__(
        self, client: Any, site: str, lost: Callable[[BaseException], None] | None = None
    ) -> None:
        self.client, self.key, self.site = client, Keys.known(site), site
        self.kept: dict[str, FetchState | None] = {}
        # Told when Redis fails (WorkerState.lost: the worker stops with one line). The
        # answers then are "not known": an archived article fetched again is stored as
        # unchanged, where an exception in a spider's callback lost the page's links.
        self.lost = lost

    def _ask(self, command: Callable[[], Any], failed: Any) -> Any:
        try:
            return command()
        except redis.ConnectionError:
            pass  # a connection killed (CLIENT KILL, a failover): redis-py opens a new one
        except redis.RedisError as exc:
            return self._failed(exc, failed)
        try:
            return command()
        except redis.RedisError as exc:
            return self._failed(exc, failed)

    def _failed(self, exc: BaseException, failed: Any) -> Any:
        if self.lost is None:
            raise exc
        self.lost(exc)
        return failed

    def prefetch(self, urls: list[str]) -> None:
        wanted = [url for url in dict.fromkeys(urls) if url not in self.kept]
        if not wanted:
            return
        values = self._ask(lambda: self.client.hmget(self.key, wanted), None)
        if values is None:
            return  # not kept: asked again
        if len(self.kept) + len(wanted) > self.KEEP:
            self.kept.clear()
        for url, value in zip(wanted, values, strict=True):
            self.kept[url] = decode_state(value) if value is not None else None

    def stale(self, fetched_before: datetime, limit: int) -> list[tuple[str, str]]:
        """KnownUrls.stale from the writer's list (Keys.stale); where they stop goes to Redis
        for the writer to record with the run (a worker's stats stay its own)."""
        if limit <= 0:
            return []
        before = utc_iso(fetched_before)
        listed = json.loads(self._ask(lambda: self.client.get(Keys.stale(self.site)), None) or "[]")
        picked = [(url, until) for url, seen, until in listed if seen < before][:limit]
        if picked:
            mapping = {"count": len(picked), "until": picked[-1][1]}
            self._ask(lambda: self.client.hset(Keys.rechecks(self.site), mapping=mapping), None)
        return picked

    def get(self, url: str) -> FetchState | None:
        if url not in self.kept:
            self.prefetch([url])
        return self.kept.get(url)

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and self.get(url) is not None

    def __len__(self) -> int:
        return int(self._ask(lambda: self.client.hlen(self.key), 0))


def worker_settings(config: dict[str, Any], url: str, *, verbose: bool = False) -> Any:
    """The crawl's settings (newsarchive's, then the `crawl` command's overrides) with the
    shared-crawl components in place of the one-process ones."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("newsarchive.settings", priority="project")
    settings.set("LOG_LEVEL", "INFO" if verbose else "WARNING", priority="cmdline")
    settings.set("RETRY_GIVE_UP_LOG_LEVEL", "INFO", priority="cmdline")
    for name, value in (config.get("settings") or {}).items():
        settings.set(name, value, priority="cmdline")
    shared = {
        "NEWSARCHIVE_REDIS_URL": url,
        # Politeness is enforced in Redis (SharedPoliteness); locally nothing waits, or a granted
        # request could be held back and then leave together with another worker's.
        "NEWSARCHIVE_SHARED_DELAY": settings.getfloat("DOWNLOAD_DELAY"),
        "NEWSARCHIVE_SHARED_AUTOTHROTTLE": settings.getbool("AUTOTHROTTLE_ENABLED"),
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "SCHEDULER": "newsarchive.distributed.scheduler.SharedScheduler",
        "NEWSARCHIVE_DB": "",  # no archive here: what it knows comes from Redis
        "NEWSARCHIVE_PROGRESS": False,
        "LOG_INSTALL_ROOT_HANDLER": True,
    }
    for name, value in shared.items():
        settings.set(name, value, priority="cmdline")
    pipelines = settings.getdict("ITEM_PIPELINES")
    pipelines.pop("newsarchive.pipelines.StorePipeline", None)
    pipelines["newsarchive.distributed.worker.RedisItemPipeline"] = 300
    settings.set("ITEM_PIPELINES", pipelines, priority="cmdline")
    middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
    middlewares["newsarchive.middlewares.RobotsTxt"] = None
    middlewares["newsarchive.distributed.politeness.SharedRobotsTxt"] = 100
    # After FetchGuard (950): nothing after it holds a request back from the network.
    middlewares["newsarchive.distributed.politeness.SharedPoliteness"] = 960
    settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="cmdline")
    spider_mw = settings.getdict("SPIDER_MIDDLEWARES")
    spider_mw["newsarchive.distributed.worker.SeedOnce"] = 0
    settings.set("SPIDER_MIDDLEWARES", spider_mw, priority="cmdline")
    extensions = settings.getdict("EXTENSIONS")
    extensions["newsarchive.distributed.worker.WorkerExtension"] = 0
    settings.set("EXTENSIONS", extensions, priority="cmdline")
    return settings


class SeedOnce:
    """Spider middleware: the sites' start requests are queued once for the whole crawl.

    A worker runs the spider's `start()` only while its site is not yet marked seeded; the mark
    is set when a `start()` has run to its end, so a worker killed while seeding leaves the job
    to the others (requests queued twice are dropped by the shared dupefilter). While it seeds,
    a mark in the worker's lease hash keeps the crawl from being taken for over.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> SeedOnce:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        state = WorkerState.current()
        site = self.crawler.spider.site_name
        mark = SEEDING + site
        try:
            seeded = state.client.sismember(Keys.seeded, site)
            if not seeded:
                state.client.hset(Keys.leases(state.wid), mark, "1")
        except redis.RedisError as exc:
            state.lost(exc)  # the worker stops with one line; another seeds the site
            return
        if not seeded:
            async for request in start:
                yield request
            if state.problem is not None:
                # A start request did not reach Redis (the worker stops): marked seeded, the
                # site would have nothing queued, and the crawl would end at once as done.
                return
            pipe = state.client.pipeline()
            pipe.sadd(Keys.seeded, site)
            pipe.hdel(Keys.leases(state.wid), mark)
            try:
                pipe.execute()
            except redis.RedisError as exc:
                state.lost(exc)
                return
        else:
            logger.info("%s: already seeded by another worker", site)
        state.seeded_sites.add(site)


class RedisItemPipeline:
    """Items to the writer's queue in Redis, in place of StorePipeline's local writer: held with
    the lease of the request they came from and sent when it settles (scheduler.SiteChannel),
    each with an id of its own that the writer records with it, so a batch stored again after a
    writer crash is recognised."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.state = WorkerState.current()
        self.sent = 0
        self.robots_reported: set[str] = set()
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedisItemPipeline:
        return cls(crawler)

    def _send(self, item: CrawledPage | FetchFailure) -> None:
        self.sent += 1
        # The lease tag must not travel with the item.
        lease = item.__dict__.pop(ITEM_LEASE, None)
        data = encode_item(f"{self.state.wid}:{self.sent}", item)
        channel = self.state.channels.get(item.site)
        if channel is None or not channel.hold_item(lease, data):
            try:
                pipe = self.state.pipeline()
                pipe.rpush(Keys.items, data)
                self.state.execute(pipe)
            except redis.RedisError as exc:
                self.state.lost(exc)
                return
        self.crawler.stats.set_value("newsarchive/items_sent", self.sent)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, CrawledPage | FetchFailure):
            if isinstance(item, FetchFailure) and item.reason.startswith("robots.txt"):
                self.robots_reported.add(item.reason)
            self._send(item)
        return item

    def spider_closed(self, spider: Any, reason: str) -> None:
        """robots.txt failures (Scrapy records no item for them), and the responses and skipped
        URLs no settle has counted yet."""
        stats = self.crawler.stats.get_stats()
        spider = self.crawler.spider or spider
        if not self.robots_reported and reason != REDIS_LOST:
            for failure in robots_failures(stats, spider.base_url, spider.site_name):
                self._send(failure)
        channel = self.state.channels.get(spider.site_name)
        if channel is not None and reason != REDIS_LOST:
            channel.settle("", Pending())


class WorkerExtension:
    """Per crawler (site): what the archive knows, from Redis; staying open while other workers
    may still queue requests; closing when the crawl is over or Redis lost it."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.state = WorkerState.current()
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)

    @classmethod
    def from_crawler(cls, crawler: Any) -> WorkerExtension:
        return cls(crawler)

    def spider_opened(self, spider: Any) -> None:
        site = spider.site_name
        # The writer's snapshot of the archive when the crawl began: every worker decides "fetch
        # again?" on the same state a one-process crawl has.
        spider.known = SharedKnown(self.state.client, site, self.state.lost)
        spider.started = datetime.fromisoformat(self.state.config["started"])
        # A profile's politeness rules are enforced in Redis (SharedPoliteness), not by this
        # worker's slot (whose DOWNLOAD_DELAY the writer set to 0, above the profile's); a
        # setting the user gave (`-s`) wins over the profile's, as in a one-process crawl.
        given = self.state.config.get("settings") or {}
        for key, name in PROFILE_SETTINGS.items():
            value = spider.crawl_rules.get(key) if name not in given else None
            setattr(spider, f"shared_{key}", value)
        logger.info(
            "%s: %d article URLs already in the archive (from Redis)", site, len(spider.known)
        )

    def spider_idle(self, spider: Any) -> None:
        if self.state.done or self.state.problem:
            return  # the engine closes the spider
        raise DontCloseSpider


@dataclass
class WorkerReport:
    wid: str
    sites: dict[str, dict[str, Any]] = field(default_factory=dict)
    problem: str | None = None

    def summary(self) -> str:
        parts = [
            f"{site}: {s.get('response_received_count', 0)} pages fetched, "
            f"{s.get('newsarchive/items_sent', 0)} items sent ({s.get('finish_reason', '?')})"
            for site, s in self.sites.items()
        ]
        return f"worker {self.wid}: " + "; ".join(parts)


def wait_for_crawl(client: redis.Redis, url: str, wait: float) -> dict[str, Any]:
    deadline = time.monotonic() + wait
    while True:
        config = read_config(client)
        if config is not None:
            return config
        if time.monotonic() >= deadline:
            raise RedisProblem(
                f"{display_url(url)}: no crawl to join (waited {wait:.0f}s); start one with "
                "`newsarchive crawl SITE --redis URL --db PATH`"
            )
        time.sleep(0.2)


def run_worker(
    url: str, *, wait: float = 60.0, patience: float = 0.0, verbose: bool = False
) -> WorkerReport:
    """Join the crawl in Redis at `url` and work until it is over; RedisProblem when Redis fails
    or loses the crawl. `patience`: seconds to keep trying a Redis that does not answer at
    first (a crawl's writer gives its local workers its own)."""
    from scrapy.crawler import CrawlerProcess
    from twisted.internet import defer

    from newsarchive.crawl_jobs import stop_reactor
    from newsarchive.spiders.portal import PortalSpider
    from newsarchive.workers import raise_open_file_limit, start_forkserver

    # Until Scrapy sets up logging, the joining's warnings (Redis gone and back) go to stderr
    # as the writer's do; Python's last-resort handler would print them without their level.
    joining = logging.StreamHandler()
    joining.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logging.getLogger("newsarchive").addHandler(joining)
    try:
        client = connect(url, patience)
        # Answered once, Redis may go while the worker joins (a restart as a run starts its
        # local workers): as long as the worker waits for a crawl, it waits for Redis too.
        be_patient(client, url, max(wait, patience))
        config = wait_for_crawl(client, url, wait)
        state = WorkerState.install(url, config, client)
        state.register()
    except redis.RedisError as exc:  # a Redis that refuses writes (maxmemory), gone since
        raise RedisProblem(
            f"{display_url(url)}: Redis refused the worker ({describe(exc)})"
        ) from None
    finally:
        logging.getLogger("newsarchive").removeHandler(joining)
    settings = worker_settings(config, url, verbose=verbose)
    raise_open_file_limit()
    start_forkserver()  # before Scrapy and Twisted start threads (workers.start_forkserver)
    process = CrawlerProcess(settings)
    crawlers = []
    for site in config["sites"]:
        crawlers.append((site, process.create_crawler(PortalSpider)))
    report = WorkerReport(state.wid)
    errors: list[BaseException] = []
    heart = _Heart(state, [c for _, c in crawlers])

    def crawl_all() -> Any:
        runs = [
            process.crawl(
                crawler,
                site=site,
                base_url=config.get("base_url"),
                db="",
                since=config.get("since"),
                site_name=config.get("site_name"),
            )
            for site, crawler in crawlers
        ]
        done = defer.DeferredList(runs, consumeErrors=True)

        def finished(results: list[tuple[bool, Any]]) -> None:
            for ok, value in results:
                if not ok and not isinstance(value.value, KeyboardInterrupt):
                    errors.append(value.value)
            heart.stop()
            # A SIGTERM (the writer stopping its workers) may have stopped it already; Ctrl-C
            # while the crawlers were set up, before it ran.
            stop_reactor()

        done.addCallback(finished)

    crawl_all()  # the first crawl installs Scrapy's reactor: import it only after
    from twisted.internet import reactor

    reactor.callWhenRunning(heart.start)
    try:
        process.start(stop_after_crawl=False)
    finally:
        with contextlib.suppress(redis.RedisError):  # Redis is gone: the leases went with it
            state.leave()
    for site, crawler in crawlers:
        stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
        report.sites[getattr(crawler.spider, "site_name", site)] = stats
    report.problem = state.problem
    if errors and not report.problem:
        exc = errors[0]
        report.problem = f"the worker could not crawl: {type(exc).__name__}: {exc}"
    return report


class _Heart:
    """The worker's heartbeat (its liveness for the writer; whether the crawl is over or lost)
    and the poke that makes an idle engine look at the frontier again."""

    def __init__(self, state: WorkerState, crawlers: list[Any]) -> None:
        self.state = state
        self.crawlers = crawlers
        self.failures = 0
        self.loops: list[Any] = []
        self.stopping = False

    def start(self) -> None:
        from twisted.internet import task

        beat = task.LoopingCall(self.beat)
        poke = task.LoopingCall(self.poke)
        self.loops = [beat, poke]
        beat.start(HEARTBEAT_EVERY, now=True)
        poke.start(POKE_EVERY, now=False)

    def stop(self) -> None:
        for loop in self.loops:
            if loop.running:
                loop.stop()

    def beat(self) -> None:
        state = self.state
        try:
            state.register()
            current = state.client.hget(Keys.crawl, "id")
            current = current.decode() if isinstance(current, bytes) else current
            if state.client.exists(Keys.done(state.crawl_id)):
                state.done = True
            elif current != state.crawl_id:
                state.problem = (
                    f"{display_url(state.url)}: the crawl's state is gone from Redis (was the "
                    "server restarted or flushed?); start the crawl again"
                )
            else:
                self.check_writer(bool(state.client.exists(Keys.writer)))
                if state.seeded_sites and not all(
                    state.client.smismember(Keys.seeded, sorted(state.seeded_sites))
                ):
                    # Redis came back from a snapshot older than the seeding (or the key was
                    # deleted): the crawl could never be over. Stopped, its leases given back,
                    # the site is seeded again by the same command run again.
                    state.problem = (
                        f"{display_url(state.url)}: Redis lost part of the crawl's state (a "
                        "restart from an older snapshot?); run the same `newsarchive crawl "
                        "--redis` command again to continue the crawl"
                    )
                given = state.give_back_unheld()
                if given:
                    logger.warning(
                        "%d requests leased here but no longer held (Redis restarted from an "
                        "older snapshot?) back in the frontier",
                        given,
                    )
            self.failures = 0
        except redis.RedisError as exc:
            self.failures += 1
            if self.failures >= HEARTBEAT_FAILURES:
                state.problem = f"{display_url(state.url)}: Redis unreachable ({describe(exc)})"
        if state.problem and not self.stopping:
            self.stopping = True
            # Said once, as the command's `Error:` line; the log has it for -v.
            logger.info("%s; stopping this worker", state.problem)
            for crawler in self.crawlers:
                engine = crawler.engine
                if engine is not None and engine.spider is not None:
                    from newsarchive.pipelines import stop_crawl

                    stop_crawl(crawler, REDIS_LOST)

    def check_writer(self, alive: bool) -> None:
        """Stop when the writer has been gone for the crawl's writer patience: its workers
        would otherwise wait forever for a writer killed and never restarted."""
        state = self.state
        if alive:
            state.writer_missing_since = None
            return
        now = time.monotonic()
        if state.writer_missing_since is None:
            state.writer_missing_since = now
            logger.warning("the crawl's writer is not running; waiting for it to come back")
        elif now - state.writer_missing_since >= state.writer_patience:
            state.problem = (
                f"{display_url(state.url)}: the crawl's writer has been gone for "
                f"{state.writer_patience:.0f}s (stopped or killed?); run the same `newsarchive "
                "crawl --redis` command again to continue the crawl, then the workers"
            )

    def poke(self) -> None:
        # Tokens given back while nothing else went to Redis.
        self.state.send_later()
        for crawler in self.crawlers:
            slot = getattr(crawler.engine, "_slot", None) if crawler.engine else None
            if slot is not None and slot.closing is None:
                slot.nextcall.schedule()
