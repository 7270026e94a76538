"""Redis: the connection, the key names and the Lua scripts every participant of a shared crawl
uses.

Invariant the scripts keep: a request is always in exactly one of two places, the site's frontier
(a sorted set, by priority) or one worker's lease hash; popping moves it atomically, and a lease
only goes away when the request's successors (requests, items) are in Redis. The end of the
crawl (frontier empty, no lease, no item waiting) is then a state no worker can leave by itself.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlunsplit

import redis

from newsarchive import settings as defaults
from newsarchive.errors import NewsarchiveError
from newsarchive.processes import this_process
from newsarchive.urls import split_url

logger = logging.getLogger(__name__)

PREFIX = "newsarchive:"
# A worker's heartbeat key lives this long; a worker silent for longer is taken for dead and its
# leases go back to the frontier. Long enough for a busy reactor, short enough for a quick retry.
HEARTBEAT_TTL = defaults.NEWSARCHIVE_HEARTBEAT_TTL
HEARTBEAT_EVERY = 1.0
# The writer's heartbeat key lives this long; the writer refreshes it about every second (a
# writer busy for longer only starts its workers' patience). A worker that finds it missing for
# WRITER_PATIENCE seconds in a row stops, its leases back in the frontier: a writer killed and
# never restarted must not leave workers waiting forever; one restarted within the patience
# finds its workers still there.
WRITER_TTL = 5
WRITER_PATIENCE = defaults.NEWSARCHIVE_WRITER_PATIENCE
# How long a writer or worker keeps trying to reach a Redis that was there and went (a restart,
# a failover) before it stops: its crawl goes on where it was (_PatientRetry).
REDIS_PATIENCE = defaults.NEWSARCHIVE_REDIS_PATIENCE
# After a clean end, workers that join late read this for a while and exit quietly.
DONE_TTL = 600
# Field prefixes in a worker's lease hash: a leased request, and a site whose start requests the
# worker is still seeding (the crawl cannot be over while a worker may still seed).
LEASE = "r\t"
SEEDING = "s\t"
# Request.meta key carrying the lease of the request being processed (stripped before it is
# queued again).
LEASE_META = "_newsarchive_lease"


class RedisProblem(NewsarchiveError):
    """Redis cannot be reached, or it lost the crawl: one line naming the URL."""


def display_url(url: str) -> str:
    """The URL without its password, for messages and the run row."""
    parts = split_url(url)
    if parts is None:  # urllib cannot take it apart: whatever sits before an @ is masked
        return re.sub(r"(//[^/@]*:)[^/@]*@", r"\1***@", url)
    if parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        user = f"{parts.username}:***@" if parts.username else ":***@"
        return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))
    return url


def connect(url: str, patience: float = 0.0) -> redis.Redis:
    """A client for `url`, checked with a PING; RedisProblem (one line) when it cannot be used.
    `patience`: seconds to keep trying a Redis that does not answer (be_patient); none by
    default, so a wrong URL is one line at once."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise RedisProblem(f"--redis {url!r}: expected a URL like redis://HOST:6379/0")
    parts = split_url(url)
    if parts is None:
        raise RedisProblem(f"--redis {display_url(url)}: not a valid URL (its host or port)")
    database = parts.path.strip("/")
    if parts.scheme != "unix" and database and not database.isdigit():
        # redis-py would take such a path for database 0 without a word: another crawl's.
        raise RedisProblem(
            f"--redis {display_url(url)}: {database!r} is no database number; "
            "expected a URL like redis://HOST:6379/0"
        )
    try:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=5,
            socket_timeout=30,
            health_check_interval=30,
            retry=_PatientRetry(),
        )
        be_patient(client, url, patience)
        client.ping()
    except ValueError as exc:
        raise RedisProblem(f"{display_url(url)}: not a usable Redis URL ({exc})") from None
    except redis.RedisError as exc:
        raise RedisProblem(f"{display_url(url)}: Redis unreachable ({describe(exc)})") from None
    return client


def refuse_evicting(client: redis.Redis, where: str) -> None:
    """RedisProblem (one line) when Redis makes room by evicting keys (a maxmemory with a policy
    other than noeviction: Redis set up as a cache). The crawl's keys would go at random, and
    with them requests in the frontier, items waiting for the writer, pages seen: pages lost or
    fetched twice without a word. With noeviction a full Redis refuses writes instead, which
    the crawl waits out (its patience) or stops on in one line."""
    try:
        memory = client.info("memory")
    except redis.ResponseError:  # INFO refused (an ACL): nothing to tell from
        return
    policy = memory.get("maxmemory_policy", "noeviction")
    if int(memory.get("maxmemory") or 0) and policy != "noeviction":
        raise RedisProblem(
            f"{where}: Redis evicts keys when full (maxmemory {memory.get('maxmemory_human')}, "
            f"maxmemory-policy {policy}), which would lose the crawl's at random: set "
            "maxmemory-policy noeviction, or use a Redis without maxmemory"
        )


def redis_patience(settings: Any) -> float:
    """`NEWSARCHIVE_REDIS_PATIENCE` of a crawl's settings (a dict or Scrapy's), in seconds."""
    return float(settings.get("NEWSARCHIVE_REDIS_PATIENCE", REDIS_PATIENCE))


class _PatientRetry(redis.retry.Retry):
    """redis-py's retry policy for every connection of one client, shared by them all (a copy
    would not see `be_patient`): a connection that cannot be made or breaks under a command
    (refused, reset, timed out, Redis loading its data after a restart), or a write refused for
    memory (maxmemory; the writer's draining frees some), is tried again for up to `patience`
    seconds, then the error is raised. Every call a writer or worker makes is safe to send
    twice (the scripts say how), so a command that ran before its answer was lost does no harm
    sent again. A wrong password is not retried. Until `be_patient`, nothing is: a wrong URL is
    one line at once."""

    def __init__(self) -> None:
        errors = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            socket.timeout,
            redis.exceptions.OutOfMemoryError,
        )
        super().__init__(redis.backoff.NoBackoff(), 0, supported_errors=errors)
        self.patience = 0.0
        self.label = ""
        self.failing_since: float | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> _PatientRetry:
        return self

    def call_with_retry(
        self,
        do: Callable[[], Any],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> Any:
        failures = 0
        deadline = None
        while True:
            try:
                answer = do()
            except self._supported_errors as error:
                failures += 1
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                if isinstance(error, redis.exceptions.AuthenticationError) or (
                    is_retryable is not None and not is_retryable(error)
                ):
                    raise
                now = time.monotonic()
                deadline = deadline or now + self.patience
                if now >= deadline:
                    raise
                if self.failing_since is None:
                    self.failing_since = now
                    refused = isinstance(error, redis.exceptions.OutOfMemoryError)
                    logger.warning(
                        "%s: Redis %s (%s); trying again for up to %.0f s",
                        self.label,
                        "refuses writes" if refused else "unreachable",
                        describe(error),
                        self.patience,
                    )
                time.sleep(min(0.05 * 2**failures, 1.0, deadline - now))
            else:
                if self.failing_since is not None:
                    logger.warning(
                        "%s: Redis is back after %.1f s",
                        self.label,
                        time.monotonic() - self.failing_since,
                    )
                    self.failing_since = None
                return answer


def be_patient(client: redis.Redis, url: str, seconds: float) -> None:
    """From now on, `client` tries for `seconds` to reach a Redis that went (REDIS_PATIENCE)."""
    retry = client.connection_pool.connection_kwargs["retry"]
    retry.patience = max(0.0, seconds)
    retry.label = display_url(url)


def describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def worker_id() -> str:
    """A worker's name in the crawl's keys: host, pid and a random part (a pid is reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Keys:
    """Key names; one crawl per Redis database."""

    crawl = PREFIX + "crawl"  # hash: id, config (JSON)
    workers = PREFIX + "workers"  # set of worker ids
    seeded = PREFIX + "seeded"  # set of site names whose start requests are all queued
    items = PREFIX + "items"  # list: items for the writer
    processing = PREFIX + "items:processing"  # list: the batch the writer is storing
    robots = PREFIX + "robots"  # hash: netloc -> pickled (url, status, body)
    writer = PREFIX + "writer"  # string with a TTL: "pid@host" of the writer while it runs

    @staticmethod
    def done(crawl_id: str) -> str:
        return f"{PREFIX}done:{crawl_id}"

    @staticmethod
    def frontier(site: str) -> str:
        return f"{PREFIX}requests:{site}"

    @staticmethod
    def seen(site: str) -> str:
        return f"{PREFIX}seen:{site}"

    @staticmethod
    def known(site: str) -> str:
        return f"{PREFIX}known:{site}"

    @staticmethod
    def stale(site: str) -> str:
        # string: JSON [[url, last_seen, recheck_until], ...], what a run may recheck, in order
        return f"{PREFIX}stale:{site}"

    @staticmethod
    def rechecks(site: str) -> str:
        # hash: count, until: the rechecks the seeding worker queued, where they stop
        return f"{PREFIX}rechecks:{site}"

    @staticmethod
    def stats(site: str) -> str:
        return f"{PREFIX}stats:{site}"

    @staticmethod
    def skipped(site: str) -> str:
        return f"{PREFIX}skipped:{site}"

    @staticmethod
    def alive(wid: str) -> str:
        return f"{PREFIX}alive:{wid}"

    @staticmethod
    def leases(wid: str) -> str:
        return f"{PREFIX}leases:{wid}"

    @staticmethod
    def polite(host: str) -> str:
        return f"{PREFIX}polite:{host}"

    @staticmethod
    def robots_lock(netloc: str) -> str:
        return f"{PREFIX}robots-lock:{netloc}"


# KEYS: frontier, seen, leases. ARGV: fingerprint ("" = dont_filter), score, data, lease field
# of the request this one continues ("" = none). Queues the request unless seen; either way the
# lease it continues (a redirect, a retry) is over. Returns 1 when queued.
PUSH = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[2], ARGV[1]) == 0 then
  if ARGV[4] ~= '' then redis.call('HDEL', KEYS[3], ARGV[4]) end
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
if ARGV[4] ~= '' then redis.call('HDEL', KEYS[3], ARGV[4]) end
return 1
"""

# KEYS: frontier, leases, alive. ARGV: lease field prefix, first number, count. Up to `count`
# of the best requests move into the worker's leases (fields prefix..number, prefix..number+1...),
# each kept with its score so it can go back as it was. Nothing for a worker taken for dead.
# Several per call: the worker keeps the rest locally (they stay leased), one round trip fewer
# per request. Sent again with the same fields (its answer lost with the connection), it answers
# what it leased the first time instead of leasing more.
POP = """
local n = tonumber(ARGV[2])
local held = {}
while true do
  local v = redis.call('HGET', KEYS[2], ARGV[1] .. n)
  if not v then break end
  held[#held + 1] = string.match(v, '^[^\\n]*\\n(.*)$')
  n = n + 1
end
if #held > 0 then return held end
if redis.call('EXISTS', KEYS[3]) == 0 then return {} end
local r = redis.call('ZPOPMIN', KEYS[1], tonumber(ARGV[3]))
local out = {}
for i = 1, #r, 2 do
  redis.call('HSET', KEYS[2], ARGV[1] .. n, r[i + 1] .. '\\n' .. r[i])
  out[#out + 1] = r[i]
  n = n + 1
end
return out
"""

# KEYS: frontier, seen, leases, items, stats, skipped. ARGV: lease field ("" = none), responses
# received, then the number of requests and (fingerprint, score, data) for each, then the
# number of items and each item, then the archived URLs the spider skipped.
# Everything a finished request left behind goes to Redis with the end of its lease, in one
# atomic step: a worker killed before it leaves the request leased (fetched again, nothing of it
# stored twice); after it, nothing of it is fetched again. One round trip per page.
SETTLE = """
local i = 3
local nreq = tonumber(ARGV[i])
for _ = 1, nreq do
  local fp = ARGV[i + 1]
  if fp == '' or redis.call('SADD', KEYS[2], fp) == 1 then
    redis.call('ZADD', KEYS[1], ARGV[i + 2], ARGV[i + 3])
  end
  i = i + 3
end
i = i + 1
local nitems = tonumber(ARGV[i])
for _ = 1, nitems do
  i = i + 1
  redis.call('RPUSH', KEYS[4], ARGV[i])
end
for j = i + 1, #ARGV do redis.call('SADD', KEYS[6], ARGV[j]) end
if tonumber(ARGV[2]) > 0 then redis.call('HINCRBY', KEYS[5], 'pages_fetched', ARGV[2]) end
if ARGV[1] ~= '' then redis.call('HDEL', KEYS[3], ARGV[1]) end
return 1
"""

# KEYS: leases, workers. ARGV: prefix, worker id or '', then the leases the worker still holds.
# Every other request leased by the worker goes back to its site's frontier; with a worker id
# (the worker gone or leaving) its seeding marks go too and it leaves the worker set. Without
# one, a live worker gives back leases it does not hold (Redis restarted from an older
# snapshot brought back leases it had ended since). Returns the count.
REQUEUE = """
local held = {}
for i = 3, #ARGV do held[ARGV[i]] = true end
local all = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if string.sub(f, 1, 2) == 'r\\t' and not held[f] then
    local rest = string.sub(f, 3)
    local tab = string.find(rest, '\\t', 1, true)
    local site = string.sub(rest, 1, tab - 1)
    local nl = string.find(v, '\\n', 1, true)
    redis.call('ZADD', ARGV[1] .. 'requests:' .. site, string.sub(v, 1, nl - 1), string.sub(v, nl + 1))
    redis.call('HDEL', KEYS[1], f)
    n = n + 1
  end
end
if ARGV[2] ~= '' then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[2])
end
return n
"""

# KEYS: workers, seeded, items, processing. ARGV: prefix, then the crawl's site names. 1 when the
# crawl is over: every site seeded, every frontier empty, no worker holding a lease or seeding,
# no item waiting for the writer.
DRAINED = """
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 0 then return 0 end
  if redis.call('ZCARD', ARGV[1] .. 'requests:' .. ARGV[i]) > 0 then return 0 end
end
for _, wid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('HLEN', ARGV[1] .. 'leases:' .. wid) > 0 then return 0 end
end
if redis.call('LLEN', KEYS[3]) > 0 or redis.call('LLEN', KEYS[4]) > 0 then return 0 end
return 1
"""

# KEYS: items, processing. ARGV: batch size. Up to that many items move to the processing list
# (the writer's, kept until they are committed, so a killed writer loses none). A batch already
# there comes first: a killed writer's, one whose commit failed, or this call's own sent again.
TAKE = """
local held = redis.call('LRANGE', KEYS[2], 0, -1)
if #held > 0 then return held end
local batch = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #batch == 0 then return batch end
redis.call('LTRIM', KEYS[1], #batch, -1)
redis.call('RPUSH', KEYS[2], unpack(batch))
return batch
"""

# KEYS: the host's politeness hash. ARGV: minimum delay (ms), concurrency, token, token lifetime
# (ms). 0 when the request may start now (its token is recorded), else the milliseconds to wait.
# The clock is Redis's, so the workers' clocks do not matter. A token already recorded (the call
# sent again) may start.
ACQUIRE = """
local active = KEYS[1] .. ':active'
if redis.call('ZSCORE', active, ARGV[3]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', active, '-inf', now)
if redis.call('ZCARD', active) >= tonumber(ARGV[2]) then return -1 end
local nxt = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
if now < nxt then return nxt - now end
local delay = tonumber(redis.call('HGET', KEYS[1], 'delay') or ARGV[1])
if delay < tonumber(ARGV[1]) then delay = tonumber(ARGV[1]) end
redis.call('HSET', KEYS[1], 'next', now + delay)
redis.call('ZADD', active, now + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', active, tonumber(ARGV[4]) * 2)
redis.call('PEXPIRE', KEYS[1], 86400000)
return 0
"""


# KEYS: the host's politeness hash. ARGV: milliseconds. A 429/503 with Retry-After: no worker
# starts a request to the host before then (the next-allowed time only moves later).
PAUSE = """
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local nxt = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
if until_ms > nxt then redis.call('HSET', KEYS[1], 'next', until_ms) end
redis.call('PEXPIRE', KEYS[1], 86400000)
return until_ms
"""


class _Script:
    """A registered script that, called on a pipeline, queues a bare EVALSHA. redis-py's own
    Script sends SCRIPT EXISTS before every pipeline holding one: a second round trip per page.
    The scripts are loaded when the client is set up; a Redis that lost them but kept the crawl
    (restarted from its RDB or AOF, SCRIPT FLUSH) answers NOSCRIPT, and WorkerState.execute
    loads them again and sends what was refused once more (called alone, redis-py's Script does
    the same)."""

    def __init__(self, client: redis.Redis, source: str) -> None:
        self.source = source
        self.script = client.register_script(source)
        self.sha = client.script_load(source)

    def __call__(self, keys: list[Any], args: list[Any], client: Any = None) -> Any:
        if isinstance(client, redis.client.Pipeline):
            return client.evalsha(self.sha, len(keys), *keys, *args)
        return self.script(keys=keys, args=args, client=client)


class Scripts:
    """The Lua scripts, registered on one client."""

    def __init__(self, client: redis.Redis) -> None:
        self.push = _Script(client, PUSH)
        self.pop = _Script(client, POP)
        self.requeue = _Script(client, REQUEUE)
        self.drained = _Script(client, DRAINED)
        self.take = _Script(client, TAKE)
        self.acquire = _Script(client, ACQUIRE)
        self.settle = _Script(client, SETTLE)
        self.pause = _Script(client, PAUSE)

    def load(self, client: redis.Redis) -> None:
        """Load every script into Redis again (a script's sha is its text's: the same)."""
        for script in vars(self).values():
            client.script_load(script.source)


def requeue_worker(client: redis.Redis, scripts: Scripts, wid: str) -> int:
    """Return every request `wid` leased to the frontier, free the politeness tokens it held,
    and forget the worker. The tokens of a worker killed as it fetched kept its hosts'
    concurrency used up until they expired (DOWNLOAD_TIMEOUT + 30 s): a crawl continued after
    its workers were killed waited a minute for them (fuzz_soak --shared, seed 322)."""
    requeued = int(scripts.requeue(keys=[Keys.leases(wid), Keys.workers], args=[PREFIX, wid]))
    mine = f"{wid}:".encode()
    for key in client.scan_iter(match=Keys.polite("*") + ":active", count=1000):
        held = [token for token in client.zrange(key, 0, -1) if token.startswith(mine)]
        if held:
            client.zrem(key, *held)
    return requeued


def read_config(client: redis.Redis) -> dict[str, Any] | None:
    """The crawl Redis holds (None when it holds none)."""
    raw = client.hget(Keys.crawl, "config")
    return json.loads(raw) if raw else None


class WorkerState:
    """What the crawlers (one per site) of one worker process share: the client, the worker's id
    and its lease counter, and whether Redis lost the crawl."""

    _current: WorkerState | None = None

    def __init__(self, url: str, config: dict[str, Any], client: redis.Redis | None = None) -> None:
        self.url = url
        self.client = client or connect(url)
        self.scripts = Scripts(self.client)
        self.config = config
        self.crawl_id: str = config["id"]
        self.wid = worker_id()
        # What its heartbeat holds: who it is, with the boot and pid namespace, so the writer
        # can tell its process gone (see Writer.reap) without taking another container of the
        # same hostname for this one.
        self.owner = this_process()
        self._next = 0
        self._later: list[Callable[[Any], Any]] = []
        # Sites this worker saw seeded (by itself or another): each must stay in Keys.seeded.
        self.seeded_sites: set[str] = set()
        # Per site: the SiteChannel of its crawler (scheduler.py).
        self.channels: dict[str, Any] = {}
        # Set when the crawl must stop: the message for the user (one line).
        self.problem: str | None = None
        self.done = False
        # `-s NEWSARCHIVE_HEARTBEAT_TTL=N` on the crawl command: how soon a dead worker's leases
        # go back to the frontier (the tests use a short one).
        settings = config.get("settings") or {}
        self.ttl = int(float(settings.get("NEWSARCHIVE_HEARTBEAT_TTL", HEARTBEAT_TTL)))
        # `-s NEWSARCHIVE_WRITER_PATIENCE=N`: how long workers wait for a writer that is gone.
        self.writer_patience = float(settings.get("NEWSARCHIVE_WRITER_PATIENCE", WRITER_PATIENCE))
        # `-s NEWSARCHIVE_REDIS_PATIENCE=N`: how long to try to reach a Redis that went.
        be_patient(self.client, url, redis_patience(settings))
        # When this worker first found the writer's heartbeat missing (None: it was there).
        self.writer_missing_since: float | None = None

    @classmethod
    def install(
        cls, url: str, config: dict[str, Any], client: redis.Redis | None = None
    ) -> WorkerState:
        cls._current = cls(url, config, client)
        return cls._current

    @classmethod
    def current(cls) -> WorkerState:
        if cls._current is None:
            raise RuntimeError("not a shared-crawl worker (start it with `newsarchive worker`)")
        return cls._current

    def lease_fields(self, site: str, count: int) -> tuple[str, int]:
        """A lease field prefix and the first of `count` numbers reserved for a POP."""
        first = self._next + 1
        self._next += count
        return f"{LEASE}{site}\t", first

    def later(self, op: Callable[[Any], Any]) -> None:
        """Queue a command whose answer nobody waits for (a politeness token given back): it
        rides along with this worker's next round trip instead of costing one of its own. The
        worker's heartbeat and idle poke send what is left within 50 ms."""
        self._later.append(op)

    def pipeline(self) -> Any:
        """A pipeline (no MULTI) that starts with the queued commands; `execute(pipe)` gives
        the answers of what was added after them."""
        pipe = self.client.pipeline(transaction=False)
        pipe._newsarchive_skip = len(self._later)
        for op in self._later:
            op(pipe)
        self._later.clear()
        return pipe

    def execute(self, pipe: Any) -> list[Any]:
        """Run `pipe`; the answers of what was added after the queued commands. A command Redis
        refused did not run, while the rest of the pipeline did: a script it no longer has
        (NOSCRIPT: it restarted with the crawl's data, its scripts gone; they are loaded again)
        and a write refused for memory are sent again alone (the client's patience applies).
        Any other error is raised, as pipe.execute() raises it."""
        commands = list(pipe.command_stack)
        answers = pipe.execute(raise_on_error=False)
        refused = (redis.exceptions.NoScriptError, redis.exceptions.OutOfMemoryError)
        if any(isinstance(answer, redis.exceptions.NoScriptError) for answer in answers):
            self.scripts.load(self.client)
        for i, ((args, options), answer) in enumerate(zip(commands, answers, strict=True)):
            if isinstance(answer, refused):
                answers[i] = self.client.execute_command(*args, **options)
        for answer in answers:
            if isinstance(answer, redis.exceptions.ResponseError):
                raise answer
        return answers[pipe._newsarchive_skip :]

    def send_later(self) -> None:
        if self._later:
            try:
                self.execute(self.pipeline())
            except redis.RedisError as exc:
                self.lost(exc)

    def lost(self, exc: BaseException) -> None:
        if self.problem is None:
            self.problem = f"{display_url(self.url)}: Redis connection lost ({describe(exc)})"

    def give_back_unheld(self) -> int:
        """Leases of this worker in Redis that it does not hold (no request of its has them)
        go back to the frontier: a Redis restarted from an older snapshot (an RDB, an AOF
        missing its last second) brings back leases the worker had ended since, and the crawl
        could never end while they stay. The count given back."""
        held = [lease for channel in self.channels.values() for lease in channel.held_leases()]
        keys = [Keys.leases(self.wid), Keys.workers]
        return int(self.scripts.requeue(keys=keys, args=[PREFIX, "", *held]))

    def register(self) -> None:
        """Heartbeat: alive for HEARTBEAT_TTL more seconds, and in the worker set."""
        pipe = self.pipeline()
        pipe.set(Keys.alive(self.wid), self.owner, ex=self.ttl)
        pipe.sadd(Keys.workers, self.wid)
        self.execute(pipe)

    def leave(self) -> None:
        """A clean exit: whatever is still leased goes back to the frontier at once."""
        self.send_later()
        self.client.delete(Keys.alive(self.wid))
        requeue_worker(self.client, self.scripts, self.wid)
