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

Every call is synchronous redis-py from the reactor thread, as in scrapy-redis: one round trip
per request popped, one per request queued (dupefilter and frontier in one script), one per
acknowledgement.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from scrapy import Request, Spider
from scrapy_redis import picklecompat
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import Base
from scrapy_redis.scheduler import Scheduler

from newsarchive.distributed.shared import LEASE_META, Keys, WorkerState

logger = logging.getLogger(__name__)


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

    def __len__(self) -> int:
        return int(self.server.zcard(self.key))

    def push_leased(self, request: Request, fingerprint: str) -> bool:
        """Queue `request` unless the dupefilter has seen it (`fingerprint` "" = dont_filter);
        ends the lease of the request it continues. True when queued."""
        lease = request.meta.pop(LEASE_META, None) or ""
        data = self._encode_request(request)
        return bool(
            self.state.scripts.push(
                keys=[self.key, Keys.seen(self.site), Keys.leases(self.state.wid)],
                args=[fingerprint, -request.priority, data, lease],
            )
        )

    def pop(self, timeout: int = 0) -> Request | None:
        field = self.state.lease_field(self.site)
        data = self.state.scripts.pop(
            keys=[self.key, Keys.leases(self.state.wid), Keys.alive(self.state.wid)], args=[field]
        )
        if not data:
            return None
        request = self._decode_request(data)
        request.meta[LEASE_META] = field
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
        self._ack_when_done()

    def _ack_when_done(self) -> None:
        """Acknowledge a lease when the engine removes its request from its slot: after the
        download, the callback or errback, and the handling of everything they returned (Scrapy
        has no signal for that moment; this is the engine's own bookkeeping of it)."""
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is None or not callable(getattr(slot, "remove_request", None)):
            raise RuntimeError(
                "this Scrapy version's engine has no slot.remove_request: a shared crawl cannot "
                "tell when a request is done"
            )
        remove = slot.remove_request
        state = self.state

        def remove_request(request: Request) -> None:
            remove(request)
            field = request.meta.get(LEASE_META)
            if field:
                state.ack(field)

        slot.remove_request = remove_request

    def close(self, reason: str) -> None:
        """Never flushes: the frontier and the dupefilter belong to the whole crawl."""

    def enqueue_request(self, request: Request) -> bool:
        try:
            fingerprint = "" if request.dont_filter else self.df.request_fingerprint(request)
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
        if request is not None and self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        if self.state.problem:
            return False
        try:
            return len(self.queue) > 0
        except redis.RedisError as exc:
            self.state.lost(exc)
            return False
