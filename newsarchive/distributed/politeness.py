"""Politeness for the whole shared crawl, not per worker.

- SharedPoliteness, the last downloader middleware before the network: a request starts only
  when Redis grants it a token for its host: at most the host's concurrency in flight across all
  workers, and successive starts at least the delay apart (ACQUIRE in `shared`, on Redis's
  clock). The delay is DOWNLOAD_DELAY (the profile's `download_delay` unless `-s` gives it),
  never less: the jitter of a one-process crawl, which may go down to half the delay, is not
  applied. A 429 or 503 with Retry-After pauses the host for every worker (its next-allowed
  time in Redis). With AUTOTHROTTLE_ENABLED the shared delay follows AutoThrottle's rule from
  the latencies every worker sees. The worker's own Scrapy slots run with no delay (the writer
  sets DOWNLOAD_DELAY=0 for workers), so a granted request is not held back locally and then
  sent together with another worker's.
- SharedRobotsTxt: robots.txt is fetched once per host for the whole crawl (the first worker that
  needs it fetches it, the others wait for it in Redis) and obeyed by every worker, exactly as
  newsarchive's RobotsTxt middleware obeys it in a one-process crawl.
"""

from __future__ import annotations

import logging
import pickle
from collections import deque
from typing import Any

import redis
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from newsarchive.distributed.shared import Keys, WorkerState
from newsarchive.middlewares import RobotsTxt, retry_after_seconds

logger = logging.getLogger(__name__)

TOKEN_META = "_newsarchive_polite_token"
# How long to wait at most before asking again when the host's concurrency is used up and none
# of this worker's tokens comes back (another worker's coming back is not announced).
FULL_WAIT = 0.05
MAX_WAIT = 0.25
# How long robots.txt may take to arrive from another worker before this one fetches it itself.
ROBOTS_WAIT = 60.0


class SharedPoliteness:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.state = WorkerState.current()
        settings = crawler.settings
        # What the user configured; the worker's local DOWNLOAD_DELAY is 0 (see the docstring).
        self.delay = settings.getfloat("NEWSARCHIVE_SHARED_DELAY", 0.0)
        self.concurrency = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 8)
        self.autothrottle = settings.getbool("NEWSARCHIVE_SHARED_AUTOTHROTTLE", False)
        self.target = max(settings.getfloat("AUTOTHROTTLE_TARGET_CONCURRENCY", 1.0), 0.05)
        self.max_delay = settings.getfloat("AUTOTHROTTLE_MAX_DELAY", 60.0)
        self.start_delay = settings.getfloat("AUTOTHROTTLE_START_DELAY", 5.0)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 300.0)
        self.timeout_ms = int((settings.getfloat("DOWNLOAD_TIMEOUT", 180) + 30) * 1000)
        self._tokens = 0
        # Per host: this worker's requests waiting for a token, first come first served.
        self._waiting: dict[str, deque[Deferred]] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> SharedPoliteness:
        return cls(crawler)

    def _host_rules(self, request: Request) -> tuple[float, int]:
        spider = self.crawler.spider
        # A profile's crawl rules, which the worker extension put there (WorkerExtension).
        delay = getattr(spider, "shared_download_delay", None)
        concurrency = getattr(spider, "shared_concurrent_requests_per_domain", None)
        delay = self.delay if delay is None else float(delay)
        # The host's robots.txt Crawl-delay, for the whole crawl (read by the robots.txt
        # middleware before this one).
        robots = RobotsTxt.of(self.crawler)
        asked = robots.crawl_delay(request) if robots is not None else None
        return (
            max(delay, asked or 0.0),
            self.concurrency if concurrency is None else int(concurrency),
        )

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname or ""
        delay, concurrency = self._host_rules(request)
        self._tokens += 1
        token = f"{self.state.wid}:{self._tokens}"
        key = Keys.polite(host)
        while True:
            try:
                pipe = self.state.pipeline()
                self.state.scripts.acquire(
                    keys=[key],
                    args=[int(delay * 1000), max(concurrency, 1), token, self.timeout_ms],
                    client=pipe,
                )
                wait = int(self.state.execute(pipe)[0])
            except redis.RedisError as exc:
                # The crawl is stopping (the worker extension says why); send nothing more.
                self.state.lost(exc)
                raise IgnoreRequest(f"Redis lost: {exc}") from None
            if wait == 0:
                break
            if wait < 0:
                await self._turn(key)
            else:
                await sleep(min(wait / 1000, MAX_WAIT))
        request.meta[TOKEN_META] = (key, token)
        # Another token may be free too: the next request of this worker waiting for the host
        # tries now rather than at its timer.
        self._wake(key)

    async def _turn(self, key: str) -> None:
        """Wait while the host's concurrency is used up: until this worker gives a token of the
        host back (the waiter then asks in the same round trip that returns the token), or
        FULL_WAIT at most (another worker's token coming back is not announced). A waiter per
        request polling every few ms made most of a busy worker's round trips."""
        from twisted.internet import reactor

        waiter: Deferred = Deferred()
        self._waiting.setdefault(key, deque()).append(waiter)
        timer = reactor.callLater(FULL_WAIT, self._fire, waiter)
        try:
            await maybe_deferred_to_future(waiter)
        finally:
            if timer.active():
                timer.cancel()
            queue = self._waiting.get(key)
            if queue and waiter in queue:
                queue.remove(waiter)

    @staticmethod
    def _fire(waiter: Deferred) -> None:
        if not waiter.called:
            waiter.callback(None)

    def _wake(self, key: str) -> None:
        queue = self._waiting.get(key)
        while queue:
            waiter = queue.popleft()
            if not waiter.called:
                from twisted.internet import reactor

                # Not from inside the caller (a response being handled): on the next turn.
                reactor.callLater(0, self._fire, waiter)
                return

    def _release(self, request: Request) -> None:
        held = request.meta.pop(TOKEN_META, None)
        if held is None:
            return
        key, token = held
        # Sent with this worker's next round trip (the settle of this very request, or the
        # next grant, which then finds the token free): a round trip less per page. Politeness
        # only gets stricter for the few milliseconds it waits.
        self.state.later(lambda pipe: pipe.zrem(key + ":active", token))
        self._wake(key)

    def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        if response.status in (429, 503):
            self._pause(request, response)
        if self.autothrottle:
            self._adjust(request, response)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        self._release(request)

    def _pause(self, request: Request, response: Response) -> None:
        """The server asked for a pause (Retry-After on a 429 or 503): no worker starts a
        request to the host before it is over, not only the one that got the answer (whose
        retry waits for it in BackoffRetryMiddleware)."""
        seconds = retry_after_seconds(response.headers.get(b"Retry-After"))
        if not seconds:
            return
        seconds = min(seconds, self.retry_after_max)
        key = Keys.polite(urlparse_cached(request).hostname or "")
        try:
            pipe = self.state.pipeline()
            self.state.scripts.pause(keys=[key], args=[int(seconds * 1000)], client=pipe)
            self.state.execute(pipe)
        except redis.RedisError as exc:
            self.state.lost(exc)
            return
        self.crawler.stats.inc_value("newsarchive/shared_pauses")
        logger.info(
            "%s answered %s: host paused %.1fs for every worker",
            request.url,
            response.status,
            seconds,
        )

    def _adjust(self, request: Request, response: Response) -> None:
        """AutoThrottle's rule on the shared delay: halfway towards latency / target
        concurrency, never below the configured delay, never down on an error response."""
        latency = request.meta.get("download_latency")
        if latency is None:
            return
        key = Keys.polite(urlparse_cached(request).hostname or "")
        floor, _ = self._host_rules(request)  # the shared AutoThrottle keeps a Crawl-delay too
        try:
            current = self.state.client.hget(key, "delay")
            old = int(current) / 1000 if current else max(self.start_delay, floor)
            new = max(floor, min(self.max_delay, (old + latency / self.target) / 2))
            if response.status != 200 and new < old:
                return
            self.state.client.hset(key, "delay", int(new * 1000))
        except redis.RedisError as exc:
            self.state.lost(exc)


class SharedRobotsTxt(RobotsTxt):
    """robots.txt fetched once for the whole crawl; every worker parses the same file. Its
    Crawl-delay is kept by SharedPoliteness for every worker together, not by each worker's
    own download slots (which run with no delay)."""

    def _keep_apart(self, request: Request, delay: float) -> None:
        return

    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        if netloc in self._parsers:
            return await super().robot_parser(request)
        # Claimed now (no await before this), so this worker's other requests wait for it.
        pending: Deferred = Deferred()
        self._parsers[netloc] = pending
        try:
            cached = await self._shared(netloc)
        except redis.RedisError as exc:
            WorkerState.current().lost(exc)
            cached = None
        if cached is None:
            # This worker fetches it (Scrapy's path); `_parse_robots` publishes it.
            del self._parsers[netloc]
            parser = await super().robot_parser(request)
            pending.callback(parser)
            return parser
        url, status, body = cached
        self._stats.inc_value("newsarchive/robotstxt_shared")
        # Parsed as Scrapy parses it, but not published again nor counted as fetched.
        await super()._parse_robots(Response(url, status=status, body=body), netloc, request)
        return self._parsers[netloc]

    async def _shared(self, netloc: str) -> tuple[str, int, bytes] | None:
        """The crawl's copy of netloc's robots.txt, waiting while another worker fetches it; None
        when this worker is to fetch it."""
        state = WorkerState.current()
        client = state.client
        lock = Keys.robots_lock(netloc)
        waited = 0.0
        while True:
            raw = client.hget(Keys.robots, netloc)
            if raw:
                return pickle.loads(raw)
            if client.set(lock, state.wid, nx=True, ex=int(ROBOTS_WAIT)):
                # The worker that held the lock may have published and released it between
                # the read above and this claim: read again, or this one fetches it a second time.
                raw = client.hget(Keys.robots, netloc)
                if raw:
                    client.delete(lock)
                    return pickle.loads(raw)
                return None
            if waited >= ROBOTS_WAIT:
                return None
            holder = client.get(lock)
            if holder and not client.exists(Keys.alive(holder.decode(errors="replace"))):
                # Its holder is gone (killed as it fetched: its heartbeat lapsed): the crawl
                # continued after it waited ROBOTS_WAIT for a robots.txt that never came.
                client.delete(lock)
                continue
            await sleep(0.05)
            waited += 0.05

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        """robots.txt as this worker fetched it: published for the others, and counted (the
        writer tells a site that answered only robots.txt from one that answered pages)."""
        state = WorkerState.current()
        try:
            if not state.client.hexists(Keys.robots, netloc):
                state.client.hset(
                    Keys.robots,
                    netloc,
                    pickle.dumps((response.url, response.status, response.body)),
                )
            state.client.delete(Keys.robots_lock(netloc))
            state.client.hincrby(Keys.stats(self.crawler.spider.site_name), "robots_fetched", 1)
        except redis.RedisError as exc:
            state.lost(exc)
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        # Not shared: the next worker that needs it tries for itself.
        state = WorkerState.current()
        try:
            state.client.delete(Keys.robots_lock(netloc))
        except redis.RedisError as err:
            state.lost(err)
        super()._robots_error(exc, netloc)
