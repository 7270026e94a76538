"""The shared frontier and dupefilter: scrapy-redis's Scheduler, queue and dupefilter, adapted.

scrapy-redis 0.9.1 (the current release) still runs on Scrapy 2.19: its Scheduler passes 2.19's
duck-typed BaseScheduler check, and its queues serialise requests with `Request.to_dict`. Used
as it ships, a shared newsarchive crawl would still go wrong in four ways, which these
subclasses fix:

- its dupefilter fingerprints `canonicalize_url` and ignores REQUEST_FINGERPRINTER_CLASS, so
  `/a?utm_source=x` and `/a` would be two pages: SharedDupeFilter uses the crawler's fingerprinter
  (newsarchive.fingerprint, the same fingerprints as a one-process crawl);
- its pop deletes the request: a worker killed with requests in flight loses them. LeasedQueue
  moves the request into the worker's lease hash in the same Lua script, and the lease is
  acknowledged only when Scrapy has finished with the request (its callback's requests queued,
  its items in the writer's queue), or when its redirect/retry is queued in its place;
- its Scheduler.close flushes the frontier unless SCHEDULER_PERSIST, and its dupefilter deletes
  its key on close: one worker finishing would wipe the shared crawl. SharedScheduler never
  flushes (the writer deletes the keys when the whole crawl is over);
- it has one frontier per spider name: here every site of the crawl has its own (the spider is
  `portal` for all of them).

Every call is synchronous redis-py from the reactor thread, as in scrapy-redis, so round trips
are what a worker's throughput is made of; they are kept to about two per page plus the
politeness grant:
- a pop takes up to PREFETCH requests at once (all leased; the rest wait in the worker);
- what a request leaves behind (the requests its callback returned, its items, its redirect or
  retry, the responses it counted, the archived URLs it skipped) is held locally under its lease
  and goes to Redis with the end of the lease in one script (SETTLE) when Scrapy is done with
  it. That is also what makes a killed worker exact: a request is either still leased (fetched
  again, nothing of it in Redis) or settled (its page sent, never fetched again).
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import redis
from scrapy import Request, Spider, signals
from scrapy_redis import picklecompat
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import Base
from scrapy_redis.scheduler import Scheduler

from newsarchive.distributed.shared import LEASE_META, Keys, WorkerState
from newsarchive.items import CrawledPage, FetchFailure
from newsarchive.middlewares import RECHECK

logger = logging.getLogger(__name__)

# Requests leased per pop. More saves round trips; each one leased waits in this worker while
# others might be idle (only at the very end of a crawl, and for a few pages).
PREFETCH = 4
# An item's attribute naming the lease of the request that produced it (removed before it is
# sent).
ITEM_LEASE = "_newsarchive_lease"


@dataclass
class Pending:
    """What a leased request has left behind so far, sent when its lease ends."""

    requests: list[tuple[str, int, bytes]] = field(default_factory=list)
    items: list[bytes] = field(default_factory=list)
    responses: int = 0


class SiteChannel:
    """One site's traffic of one worker: the requests it holds leased and what they left behind.

    `settle(lease)` sends it all with the end of the lease, in one atomic script."""

    def __init__(self, state: WorkerState, site: str, spider: Spider) -> None:
        self.state = state
        self.site = site
        self.spider = spider
        self.pending: dict[str, Pending] = {}
        # Leased and not handed to the engine yet (LeasedQueue's: (lease field, data)).
        self.prefetched: deque[tuple[str, bytes]] = deque()
        # Responses with no lease of their own (robots.txt): counted with the next settle.
        self.loose_responses = 0
        self.skipped_sent: set[str] = set()
        # Fingerprints of the requests this worker has held for a settle: each is in the
        # crawl's dupefilter once its settle is done (or the worker is gone).
        self.held: set[str] = set()
        self.keys = [
            Keys.frontier(site),
            Keys.seen(site),
            Keys.leases(state.wid),
            Keys.items,
            Keys.stats(site),
            Keys.skipped(site),
        ]

    def _new_skipped(self) -> list[str]:
        skipped = getattr(self.spider, "skipped", None) or ()
        if len(skipped) == len(self.skipped_sent):
            return []  # a set only grows: same size, nothing new
        return [url for url in skipped if url not in self.skipped_sent]

    def settle(self, lease: str, pending: Pending | None = None) -> None:
        """`lease` is over: what it left behind goes to Redis with its end, atomically."""
        if pending is None:
            pending = self.pending.pop(lease, None) or Pending()
        skipped = self._new_skipped()
        args: list[Any] = [lease, pending.responses + self.loose_responses, len(pending.requests)]
        for request in pending.requests:
            args.extend(request)
        args.append(len(pending.items))
        args.extend(pending.items)
        args.extend(skipped)
        try:
            pipe = self.state.pipeline()
            self.state.scripts.settle(keys=self.keys, args=args, client=pipe)
            self.state.execute(pipe)
        except redis.RedisError as exc:
            # The lease stays in Redis: the request goes back to the frontier with this worker.
            self.state.lost(exc)
            return
        self.loose_responses = 0
        self.skipped_sent.update(skipped)

    def held_leases(self) -> list[str]:
        """Every lease this worker holds for the site: prefetched, or its request in progress."""
        return [*self.pending, *(lease for lease, _ in self.prefetched)]

    def count_response(self, request: Request) -> None:
        pending = self.pending.get(request.meta.get(LEASE_META) or "")
        if pending is not None:
            pending.responses += 1
        else:
            self.loose_responses += 1

    def hold_item(self, lease: str | None, data: bytes) -> bool:
        """Hold an item for the end of `lease`; False when that lease is not open here (the
        caller sends the item at once)."""
        pending = self.pending.get(lease or "")
        if pending is None:
            return False
        pending.items.append(data)
        return True


class SharedDupeFilter(RFPDupeFilter):
    """scrapy-redis's dupefilter keyed per site, over newsarchive's canonical fingerprints."""

    def __init__(self, server: redis.Redis, key: str, fingerprinter: Any, debug: bool = False):
        super().__init__(server, key, debug)
        self.fingerprinter = fingerprinter

    def request_fingerprint(self, request: Request) -> str:
        return self.fingerprinter.fingerprint(request).hex()

    def close(self, reason: str = "") -> None:
        """Kept: the other workers still use it (RFPDupeFilter deletes it here)."""


class LeasedQueue(Base):
    """scrapy-redis's priority queue whose pop is a lease, not a delete."""

    def __init__(self, server: redis.Redis, spider: Spider, key: str, state: WorkerState):
        super().__init__(server, spider, key, serializer=picklecompat)
        self.state = state
        self.site = spider.site_name
        # Leased by this worker, not yet handed to the engine: (lease field, data).
        self.prefetched: deque[tuple[str, bytes]] = deque()

    def __len__(self) -> int:
        return len(self.prefetched) + int(self.server.zcard(self.key))

    def _encode_request(self, request: Request) -> bytes:
        """`Request.to_dict(spider=...)`, pickled, as scrapy-redis does, without its cost: Scrapy
        finds a callback's name with inspect.getmembers over the whole spider, twice per request
        (a third of a worker's CPU on a crawl that queues every link). A bound method of the
        spider is named by its function's name, checked against the spider; anything else takes
        Scrapy's way."""
        names: dict[str, Any] = {}
        for attr in ("callback", "errback"):
            func = getattr(request, attr)
            if not callable(func):
                names[attr] = func
                continue
            inner = getattr(func, "__func__", None)
            name = getattr(inner, "__name__", None)
            own = getattr(getattr(self.spider, name, None), "__func__", None) if name else None
            if inner is None or own is not inner:
                return super()._encode_request(request)
            names[attr] = name
        data: dict[str, Any] = {"url": request.url, **names, "headers": dict(request.headers)}
        for attr in request.attributes:
            data.setdefault(attr, getattr(request, attr))
        if type(request) is not Request:
            data["_class"] = f"{type(request).__module__}.{type(request).__name__}"
        return self.serializer.dumps(data)

    def push_leased(self, request: Request, fingerprint: str) -> bool:
        """Queue `request` now unless the dupefilter has seen it (`fingerprint` "" =
        dont_filter); ends the lease of the request it continues. True when queued."""
        lease = request.meta.pop(LEASE_META, None) or ""
        data = self._encode_request(request)
        pipe = self.state.pipeline()
        self.state.scripts.push(
            keys=[self.key, Keys.seen(self.site), Keys.leases(self.state.wid)],
            args=[fingerprint, -request.priority, data, lease],
            client=pipe,
        )
        return bool(self.state.execute(pipe)[0])

    def pop(self, timeout: int = 0) -> Request | None:
        if not self.prefetched:
            prefix, first = self.state.lease_fields(self.site, PREFETCH)
            pipe = self.state.pipeline()
            self.state.scripts.pop(
                keys=[self.key, Keys.leases(self.state.wid), Keys.alive(self.state.wid)],
                args=[prefix, first, PREFETCH],
                client=pipe,
            )
            popped = self.state.execute(pipe)[0] or []
            self.prefetched.extend((f"{prefix}{first + i}", d) for i, d in enumerate(popped))
        if not self.prefetched:
            return None
        field_, data = self.prefetched.popleft()
        request = self._decode_request(data)
        request.meta[LEASE_META] = field_
        return request


class SharedScheduler(Scheduler):
    """scrapy-redis's Scheduler over the site's leased frontier and shared dupefilter."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> SharedScheduler:
        state = WorkerState.current()
        scheduler = cls(server=state.client, persist=True)
        scheduler.stats = crawler.stats
        scheduler.crawler = crawler
        scheduler.state = state
        return scheduler

    def open(self, spider: Spider) -> None:
        self.spider = spider
        site = spider.site_name
        self.queue = LeasedQueue(self.server, spider, Keys.frontier(site), self.state)
        self.df = SharedDupeFilter(
            self.server,
            Keys.seen(site),
            self.crawler.request_fingerprinter,
            debug=spider.settings.getbool("DUPEFILTER_DEBUG"),
        )
        self.channel = SiteChannel(self.state, site, spider)
        self.channel.prefetched = self.queue.prefetched
        self.state.channels[site] = self.channel
        # Every response the run row counts, counted with the request it answered.
        self.crawler.signals.connect(self._response_received, signal=signals.response_received)
        self._settle_when_done()
        self._tag_outputs()

    def _settle_when_done(self) -> None:
        """Settle a lease when the engine removes its request from its slot: after the
        download, the callback or errback, and the handling of everything they returned (Scrapy
        has no signal for that moment; this is the engine's own bookkeeping of it)."""
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is None or not callable(getattr(slot, "remove_request", None)):
            raise RuntimeError(
                "this Scrapy version's engine has no slot.remove_request: a shared crawl cannot "
                "tell when a request is done"
            )
        remove = slot.remove_request
        channel = self.channel

        def remove_request(request: Request) -> None:
            remove(request)
            lease = request.meta.get(LEASE_META)
            if lease:
                channel.settle(lease)

        slot.remove_request = remove_request

    def _tag_outputs(self) -> None:
        """Mark what a callback or errback returns with the lease of its request, so it is held
        for that lease's settle. The scraper's per-output step sees both (errback output skips
        the spider middlewares, so a spider middleware would miss failures)."""
        scraper = self.crawler.engine.scraper
        process = getattr(scraper, "_process_spidermw_output_async", None)
        if process is None:
            raise RuntimeError(
                "this Scrapy version's scraper has no _process_spidermw_output_async: a shared "
                "crawl cannot tell which request an item came from"
            )

        async def tagged(output: Any, response: Any) -> None:
            request = getattr(response, "request", None)
            lease = request.meta.get(LEASE_META) if request is not None else None
            if lease:
                if isinstance(output, Request):
                    output.meta[LEASE_META] = lease
                elif isinstance(output, CrawledPage | FetchFailure):
                    output.__dict__[ITEM_LEASE] = lease
            await process(output, response)

        scraper._process_spidermw_output_async = tagged

    def _response_received(self, response: Any, request: Request, spider: Spider) -> None:
        self.channel.count_response(request)

    def close(self, reason: str) -> None:
        """Never flushes: the frontier and the dupefilter belong to the whole crawl."""

    def _fingerprint(self, request: Request) -> str:
        """The shared dupefilter's key for `request`; "" (never filtered) for a dont_filter one,
        but for a recheck as the spider's start() makes it: workers that start together may
        each seed the site (SeedOnce), and the rechecks went to the site once per worker. Its
        retries and redirects (retry_times, redirect_times in meta) stay unfiltered."""
        if not request.dont_filter:
            return self.df.request_fingerprint(request)
        meta = request.meta
        if meta.get(RECHECK) and not meta.get("retry_times") and not meta.get("redirect_times"):
            return "recheck:" + self.df.request_fingerprint(request)
        return ""

    def enqueue_request(self, request: Request) -> bool:
        try:
            fingerprint = self._fingerprint(request)
            pending = self.channel.pending.get(request.meta.get(LEASE_META) or "")
            if pending is not None and fingerprint and fingerprint in self.channel.held:
                # This worker has already sent (or holds) the same page: the dupefilter would
                # drop it; not encoding it saves the worker's time (listings repeat links).
                del request.meta[LEASE_META]
                self.df.log(request, self.spider)
                return False
            if pending is not None:
                if fingerprint:
                    self.channel.held.add(fingerprint)
                # Returned by a request still in progress (a link, a redirect, a retry): queued
                # (or dropped by the dupefilter) when that request settles.
                del request.meta[LEASE_META]
                pending.requests.append(
                    (fingerprint, -request.priority, self.queue._encode_request(request))
                )
                queued = True
            else:
                queued = self.queue.push_leased(request, fingerprint)
        except redis.RedisError as exc:
            self.state.lost(exc)
            return False
        if not queued:
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self.state.problem or self.state.done:
            return None
        try:
            request = self.queue.pop()
        except redis.RedisError as exc:
            self.state.lost(exc)
            return None
        if request is not None:
            self.channel.pending[request.meta[LEASE_META]] = Pending()
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        if self.state.problem:
            return False
        if self.queue.prefetched:
            return True
        try:
            return len(self.queue) > 0
        except redis.RedisError as exc:
            self.state.lost(exc)
            return False
