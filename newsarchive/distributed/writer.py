"""`newsarchive crawl SITE... --redis URL --workers N`: the shared crawl's writer and coordinator.

The one process that opens the SQLite archive. It
1. checks Redis and the archive, and either starts a crawl (a run row per site, the archive's
   known URLs published per site, the crawl's config) or resumes the unfinished one Redis holds
   for the same sites and archive (a writer killed and started again);
2. starts N local workers (`newsarchive worker`, exactly what other machines run);
3. stores every item the workers send (batches taken into a processing list that stays in Redis
   until the batch is committed, so a killed writer loses nothing), returns the leases of workers
   that stopped answering to the frontier, and ends the crawl when it is drained: every site
   seeded, frontier empty, no lease, no item waiting;
4. finishes the run rows and deletes the crawl's keys.

A writer killed (kill -9) and started again with the same command ends with the archive an
uninterrupted crawl gives: each item carries an id, recorded in the archive in the same
transaction as the item, so a batch committed just before the kill and found again in the
processing list is skipped, not stored twice; the run's counts and quality tally so far are
committed in that transaction too (table shared_progress) and read back on restart. The local
workers are separate processes: they outlive a killed writer and go on crawling into Redis
meanwhile; the restarted writer starts N more, and every worker exits when the crawl is over.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from newsarchive.crawl_jobs import store_item
from newsarchive.distributed.shared import (
    DONE_TTL,
    HEARTBEAT_TTL,
    PREFIX,
    WRITER_TTL,
    Keys,
    RedisProblem,
    Scripts,
    be_patient,
    connect,
    describe,
    display_url,
    read_config,
    redis_patience,
    refuse_evicting,
    requeue_worker,
)
from newsarchive.distributed.worker import decode_item, encode_state
from newsarchive.errors import ArchiveUnwritable, Busy, NewsarchiveError
from newsarchive.items import FetchFailure
from newsarchive.pipelines import RECORDED_SETTINGS
from newsarchive.processes import owner_alive, this_process
from newsarchive.storage.archive import RunTally, stale_articles

logger = logging.getLogger(__name__)

# Items per batch taken from Redis and committed together.
BATCH = 200
# How often the writer looks for dead workers and for the end of the crawl.
CHECK_EVERY = 0.25
# How long the writer waits when no item is waiting, and after a batch smaller than BATCH (a
# one-process crawl commits every 0.2 s too).
IDLE_WAIT = 0.05
GATHER_WAIT = 0.1
# The articles fetched longest ago published for the workers' rechecks: far more than a run
# rechecks (NEWSARCHIVE_RECHECK_PER_RUN, 50), few enough to send at once (~1 MB).
SHARED_STALE = 10_000
# Local workers get this long to exit once the crawl is over.
WORKER_EXIT_TIMEOUT = 60.0
COUNT_KEYS = ("new", "updated", "unchanged", "page", "failures", "store_failures")
# Tests only: the writer kills itself (SIGKILL) right after its Nth batch commit, before the
# batch leaves Redis — the moment a real crash makes a restarted writer find a stored batch again.
KILL_AFTER_COMMIT = "NEWSARCHIVE_TEST_KILL_WRITER_AFTER_COMMIT"
# For the tests: seconds the writer's end takes before it finishes the runs (what packing the
# pages and merging the search index take at a million articles).
SLOW_END = "NEWSARCHIVE_TEST_SLOW_WRITER_END"


@dataclass
class SharedCrawl:
    sites: list[str]
    names: list[str]
    db: Path
    url: str
    workers: int = 2
    base_url: str | None = None
    since: str | None = None
    site_name: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    verbose: bool = False

    def identity(self) -> dict[str, Any]:
        """What makes two commands the same crawl (a restarted writer resumes it)."""
        return {
            "sites": self.sites,
            "names": self.names,
            "db": str(Path(self.db).resolve()),
            "base_url": self.base_url,
            "since": self.since,
            "site_name": self.site_name,
        }


class Stopped(Exception):
    """SIGTERM or Ctrl-C reached the writer."""


class WriterBusy(Busy):
    """Another writer is running this shared crawl (exit 75, as `run` refused)."""


def _run_settings(crawl: SharedCrawl, site: str) -> dict[str, Any]:
    """What the run row keeps of the crawl's settings (as StorePipeline keeps them)."""
    from scrapy.settings import Settings

    from newsarchive.sites import find_profile, load_profile
    from newsarchive.urls import web_address

    settings = Settings()
    settings.setmodule("newsarchive.settings", priority="project")
    for name, value in crawl.overrides.items():
        settings.set(name, value, priority="cmdline")
    url = web_address(site)
    profile = find_profile(url) if url else load_profile(site)
    return {
        "base_url": crawl.base_url or url,
        "profile": str(profile.path) if profile is not None and profile.path else None,
        "since": crawl.since,
        "max_pages": None,
        "resume": False,
        "shared": {"redis": display_url(crawl.url), "local_workers": crawl.workers},
        **{name: settings.get(name) for name in RECORDED_SETTINGS},
    }


def _clear_crawl_keys(client: redis.Redis) -> None:
    """Every key of a crawl (not the `done` markers late workers still read, nor the writer's
    claim on it)."""
    batch = []
    for key in client.scan_iter(match=PREFIX + "*", count=1000):
        name = key.decode() if isinstance(key, bytes) else key
        if name.startswith(PREFIX + "done:") or name == Keys.writer:
            continue
        batch.append(key)
        if len(batch) >= 500:
            client.delete(*batch)
            batch = []
    if batch:
        client.delete(*batch)


def reap_workers(client: redis.Redis, scripts: Scripts) -> None:
    """Workers that stopped answering: their leased requests go back to the frontier. A worker
    holding leases is put back in the worker set if it is missing there (the set deleted by
    hand, a worker killed before its next heartbeat re-added it): the end of the crawl and this
    reaping look for leases through that set, and its requests would never come back."""
    listed = {
        raw.decode() if isinstance(raw, bytes) else raw for raw in client.smembers(Keys.workers)
    }
    prefix = Keys.leases("")
    for key in client.scan_iter(match=prefix + "*", count=1000):
        wid = (key.decode() if isinstance(key, bytes) else key)[len(prefix) :]
        if wid not in listed:
            client.sadd(Keys.workers, wid)
            listed.add(wid)
    for wid in listed:
        # A worker of this machine whose process is gone (killed) is reaped at once: its
        # heartbeat lasts up to HEARTBEAT_TTL more, which a crawl continued right after a kill
        # of its process group waited out before it had the leases back. One of another pid
        # namespace given this hostname (a container) is judged by its heartbeat alone.
        owner = client.get(Keys.alive(wid))  # the worker's this_process()
        if owner is None or owner_alive(owner.decode(errors="replace")) is False:
            n = requeue_worker(client, scripts, wid)
            logger.warning("worker %s stopped answering: %d requests back in the frontier", wid, n)


class Writer:
    def __init__(self, crawl: SharedCrawl) -> None:
        self.crawl = crawl
        self.client = connect(crawl.url)
        self.scripts = Scripts(self.client)
        # How long Redis may fail (a restart, a failover) before the writer gives up, one line:
        # `-s NEWSARCHIVE_REDIS_PATIENCE=N`, the workers' patience too. Not while it joins: a
        # Redis gone at once is one line at once.
        self.redis_patience = redis_patience(crawl.overrides)
        be_patient(self.client, crawl.url, self.redis_patience)
        self.where = display_url(crawl.url)
        self.config: dict[str, Any] = {}
        self.counts: dict[str, Counter[str]] = {}
        self.tallies: dict[str, Any] = {}
        self.robots_recorded: dict[str, set[tuple[str, str]]] = {}
        self.commits = 0
        self.kill_after = int(os.environ.get(KILL_AFTER_COMMIT) or 0)
        self.procs: list[subprocess.Popen[bytes]] = []
        self.archive: Any = None
        self.started = time.monotonic()
        self.redis_failing_since: float | None = None
        # What the writer's claim on the crawl holds ("host:pid (boot B, pidns N)"): `claim`
        # sets it, its heartbeat keeps it.
        self.owner = this_process()
        self.heartbeat_stop = threading.Event()
        self.heartbeat: threading.Thread | None = None

    # --- setup ---------------------------------------------------------------------------------

    def claim(self) -> None:
        """Become the crawl's one writer, or raise WriterBusy. Two writers of one crawl (cron's
        next call while a long crawl still runs) took its items in turns and each finished its
        runs with half the counts. The mark of a writer killed a moment ago is waited for until
        it lapses (WRITER_TTL), or not at all when it names a process of this machine that is
        gone (and refused at once when it is there)."""
        deadline = time.monotonic() + WRITER_TTL + 1
        while not self.client.set(Keys.writer, self.owner, nx=True, ex=WRITER_TTL):
            raw = self.client.get(Keys.writer)
            holder = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
            # Judged by host, pid, boot and pid namespace: a hostname alone took the live
            # writer of another container given the same name for a gone one.
            alive = owner_alive(holder) if holder else None
            if holder and alive is False:
                self.client.delete(Keys.writer)
                continue
            if holder and (alive or time.monotonic() >= deadline):
                raise WriterBusy(
                    f"{self.where}: another writer ({holder}) is running this shared crawl; "
                    "this command leaves it to that one"
                )
            time.sleep(0.2)
        # From a thread of its own: the writer's work between two beats may take longer than
        # the claim lasts (opening and migrating a large archive, a commit waiting for another
        # process's write lock, a crawl's end merging the search index: 17 s at a million
        # articles), and a second writer got in then.
        self.heartbeat = threading.Thread(target=self._beat, name="writer-heartbeat", daemon=True)
        self.heartbeat.start()

    def _beat(self) -> None:
        """The writer's heartbeat, which its workers watch too: its claim renewed every second
        while the process lives (a Redis failing meanwhile: the next beat tries again)."""
        while not self.heartbeat_stop.wait(1.0):
            with contextlib.suppress(redis.RedisError):
                self.client.set(Keys.writer, self.owner, ex=WRITER_TTL)

    def release(self) -> None:
        """Stop the heartbeat and give the claim up (the crawl ended or stopped: workers
        elsewhere start their patience now, not when the claim lapses)."""
        self.heartbeat_stop.set()
        if self.heartbeat is not None:
            self.heartbeat.join(timeout=2)
        with contextlib.suppress(redis.RedisError):
            self.client.delete(Keys.writer)

    def open(self) -> None:
        from newsarchive.storage import Archive

        crawl = self.crawl
        refuse_evicting(self.client, self.where)
        self.claim()
        existing = read_config(self.client)
        self.archive = Archive(crawl.db)
        if existing is not None:
            if existing.get("identity") != crawl.identity():
                self.archive.close()
                raise RedisProblem(
                    f"{self.where} holds an unfinished shared crawl of "
                    f"{', '.join(existing.get('names', []))} into {existing['identity']['db']} "
                    f"(started {existing.get('started')}): run that command again to finish it, "
                    "or use another Redis database (redis://HOST:PORT/N)"
                )
            ended = self._ended_already(existing)
            if ended:
                logger.warning("%s: %s; starting a new shared crawl", self.where, ended)
                existing = None
        if existing is not None:
            self.config = existing
            # Ended as "died" by a crawl started while nobody wrote them: they go on now.
            self.archive.reopen_runs(existing["run_ids"].values())
            logger.warning(
                "resuming the shared crawl started %s (runs %s)",
                existing["started"],
                ", ".join(map(str, existing["run_ids"].values())),
            )
        else:
            _clear_crawl_keys(self.client)
            run_ids = {
                name: self.archive.start_run(name, _run_settings(crawl, site))
                for site, name in zip(crawl.sites, crawl.names, strict=True)
            }
            for name in crawl.names:
                self._publish_known(name)
            self.config = {
                "id": uuid.uuid4().hex,
                "identity": crawl.identity(),
                "sites": crawl.sites,
                "names": crawl.names,
                "base_url": crawl.base_url,
                "since": crawl.since,
                "site_name": crawl.site_name,
                "settings": crawl.overrides,
                "run_ids": run_ids,
                "started": datetime.now(UTC).isoformat(),
            }
            # Written last, in one command: a worker that sees the crawl sees all of it.
            self.client.hset(
                Keys.crawl, mapping={"id": self.config["id"], "config": json.dumps(self.config)}
            )
        for name in crawl.names:
            self.counts[name] = Counter()
            self.tallies[name] = RunTally()
            self.robots_recorded[name] = set()
            saved = self.archive.shared_progress(self.config["run_ids"][name])
            if saved:
                # A restarted writer: the run's counts so far, as committed with its items.
                progress = json.loads(saved)
                self.counts[name].update(progress["counts"])
                self.tallies[name] = RunTally(**progress["tally"])
                self.robots_recorded[name] = {tuple(r) for r in progress["robots"]}

    def _ended_already(self, config: dict[str, Any]) -> str | None:
        """Why the crawl Redis holds cannot be resumed into this archive, or None. A Redis
        restarted from a snapshot taken before the crawl ended brings its keys back: resumed,
        it rewrote the finished runs' rows (their counts, their end) and the crawl after it had
        no run of its own. Likewise an archive put back from a backup older than the crawl."""
        run_ids = {int(run_id): name for name, run_id in config["run_ids"].items()}
        ends = self.archive.run_ends(run_ids)
        runs = ", ".join(map(str, run_ids))
        started = f"the shared crawl started {config.get('started')} (runs {runs})"
        if any(ends.get(run_id, (None, None))[0] != name for run_id, name in run_ids.items()):
            return (
                f"Redis holds {started}, which {self.crawl.db} has no record of (an archive "
                "put back from an older backup?)"
            )
        if all(reason == "finished" for _, reason in ends.values()):
            return (
                f"Redis holds {started}, which ended (Redis restarted from a snapshot taken "
                "before that?)"
            )
        return None

    def _publish_known(self, site: str) -> None:
        """What the archive has of `site`, for the workers' "fetch again?" decisions: streamed
        from the archive into a Redis hash 5,000 URLs at a time (the writer holds no more)."""
        key = Keys.known(site)
        self.client.delete(key)
        states = self.archive.fetch_states(site)
        while chunk := dict(itertools.islice(states, 5000)):
            self.client.hset(
                key, mapping={url: encode_state(state) for url, state in chunk.items()}
            )
        # And what the spider may recheck (stale_articles from now, in its order, more than any
        # run rechecks), with each article's last fetch: SharedKnown.stale takes its own number
        # and age from them.
        stale = stale_articles(self.archive.db, site, datetime.now(UTC), SHARED_STALE)
        self.client.set(
            Keys.stale(site),
            json.dumps([[url, until.partition(" ")[0], until] for url, until in stale]),
        )

    def start_workers(self) -> None:
        cmd = [sys.executable, "-m", "newsarchive", "worker", "--redis", self.crawl.url]
        # The URL is right (the writer is in): a Redis gone as they start is waited for.
        cmd += ["--redis-patience", str(self.redis_patience)]
        if self.crawl.verbose:
            cmd.append("-v")
        for _ in range(self.crawl.workers):
            self.procs.append(
                subprocess.Popen(
                    cmd,
                    stdout=None if self.crawl.verbose else subprocess.DEVNULL,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            )

    # --- storing -------------------------------------------------------------------------------

    def _store(self, item: Any) -> None:
        run_id = self.config["run_ids"].get(item.site)
        counts = self.counts.setdefault(item.site, Counter())
        if isinstance(item, FetchFailure) and item.reason.startswith("robots.txt"):
            # Every worker that could not fetch robots.txt says so; one row is enough.
            key = (item.url, item.reason)
            recorded = self.robots_recorded.setdefault(item.site, set())
            if key in recorded:
                return
            recorded.add(key)
        if not isinstance(item, FetchFailure) and item.site not in self.tallies:
            self.tallies[item.site] = RunTally()
        # ArchiveUnwritable goes on up: the crawl stops, its batch stays in Redis for the next run.
        outcome, warning = store_item(self.archive, item, run_id, self.tallies.get(item.site))
        self.archive.pack_when_due()
        if warning:
            logger.warning("%s", warning)
        if outcome == "store_failures":
            counts["failures"] += 1
        counts[outcome] += 1

    def _progress(self, site: str) -> str:
        return json.dumps(
            {
                "counts": dict(self.counts.get(site, Counter())),
                "tally": asdict(self.tallies.get(site) or RunTally()),
                "robots": sorted(self.robots_recorded.get(site, ())),
            }
        )

    def drain_once(self) -> int:
        """Store one batch; the number of items in it.

        The batch is one SQLite transaction holding its items, their ids and the runs' counts;
        only once it is committed does the batch leave Redis. Killed in between, the restarted
        writer takes the same batch again and skips every item whose id the archive has."""
        # A batch a killed writer took, or one whose commit failed here, comes first.
        batch = self.scripts.take(keys=[Keys.items, Keys.processing], args=[BATCH])
        if not batch:
            return 0
        items = [decode_item(data) for data in batch]
        stored = self.archive.shared_items_stored([item_id for item_id, _ in items])
        self.archive.begin_shared_batch()
        done: list[tuple[str, int | None]] = []
        sites: set[str] = set()
        for item_id, item in items:
            if item_id in stored:
                continue
            self._store(item)
            done.append((item_id, self.config["run_ids"].get(item.site)))
            sites.add(item.site)
        progress = {
            self.config["run_ids"][site]: self._progress(site)
            for site in sites
            if site in self.config["run_ids"]
        }
        self.archive.record_shared_batch(done, progress)
        self.archive.flush()
        self.commits += 1
        if self.kill_after and self.commits >= self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        self.client.delete(Keys.processing)
        return len(batch)

    # --- watching ------------------------------------------------------------------------------

    def reap(self) -> None:
        reap_workers(self.client, self.scripts)

    def drained(self) -> bool:
        keys = [Keys.workers, Keys.seeded, Keys.items, Keys.processing]
        return bool(self.scripts.drained(keys=keys, args=[PREFIX, *self.crawl.names]))

    def check_state(self) -> None:
        current = self.client.hget(Keys.crawl, "id")
        current = current.decode() if isinstance(current, bytes) else current
        if current != self.config["id"]:
            raise RedisProblem(
                f"{self.where}: the crawl's state is gone from Redis (was the server restarted "
                f"or flushed?); what was stored is in {self.crawl.db}; start the crawl again"
            )

    def check_workers(self) -> None:
        if not self.procs or any(p.poll() is None for p in self.procs):
            return
        if self.client.scard(Keys.workers):
            return  # workers on other machines carry on
        statuses = ", ".join(str(p.returncode) for p in self.procs)
        raise NewsarchiveError(
            f"every worker ended before the crawl was done (exit statuses {statuses}); the "
            "crawl stays in Redis: run the same command again to continue it"
        )

    def run(self) -> None:
        """Store items and watch the crawl until it is drained."""
        last_check = 0.0
        while True:
            try:
                taken = self.drain_once()
                if taken:
                    self.redis_failing_since = None
                    if taken < BATCH:
                        # Items trickle in: let them gather. A commit per item or two made most
                        # of the writer's CPU (SQLite commits) and of Redis's round trips.
                        time.sleep(GATHER_WAIT)
                    if time.monotonic() - last_check < CHECK_EVERY:
                        continue
                now = time.monotonic()
                if now - last_check >= CHECK_EVERY:
                    last_check = now
                    self.check_state()
                    self.reap()
                    if self.drained():
                        self.client.set(Keys.done(self.config["id"]), "1", ex=DONE_TTL)
                        return
                    self.check_workers()
                self.redis_failing_since = None
                # Idle: the items wait a little longer (no one waits for them) and Redis and
                # the writer are not kept busy by polling.
                time.sleep(IDLE_WAIT)
            except redis.RedisError as exc:
                now = time.monotonic()
                if self.redis_failing_since is None:
                    self.redis_failing_since = now
                # A connection error or a refusal for memory comes once the client tried for
                # the patience already; another refusal (a read-only replica) is tried again
                # here for as long.
                waited = isinstance(
                    exc, redis.ConnectionError | redis.TimeoutError | redis.OutOfMemoryError
                )
                if waited or now - self.redis_failing_since > self.redis_patience:
                    raise RedisProblem(
                        f"{self.where}: Redis unreachable ({describe(exc)})"
                    ) from None
                time.sleep(0.5)

    # --- the end -------------------------------------------------------------------------------

    def wait_for_workers(self) -> None:
        deadline = time.monotonic() + WORKER_EXIT_TIMEOUT
        for proc in self.procs:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                logger.warning("worker pid %d did not exit; killing it", proc.pid)
                proc.kill()
                proc.wait()
        # Workers elsewhere leave the set when they exit, or are reaped when their heartbeat
        # expires; either way their last items are then in Redis.
        deadline = time.monotonic() + HEARTBEAT_TTL + 5
        while self.client.scard(Keys.workers) and time.monotonic() < deadline:
            self.reap()
            self.drain_once()
            time.sleep(0.1)
        while self.drain_once():
            pass

    def stop_workers(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=WORKER_EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def finish(self, reason: str) -> list[tuple[str, dict[str, Any]]]:
        """Finish every run row with the crawl's counts; each site's stats for the summary."""
        time.sleep(float(os.environ.get(SLOW_END) or 0))
        results = []
        for name in self.crawl.names:
            run_id = self.config["run_ids"][name]
            # What was stored: the writer's own counts (kept in the archive across restarts);
            # what was fetched and skipped: the workers' counts, settled into Redis page by page.
            shared = dict(self.counts.get(name, Counter()))
            try:
                fetched, robots = self.client.hmget(
                    Keys.stats(name), ["pages_fetched", "robots_fetched"]
                )
                shared["pages_fetched"] = int(fetched or 0)
                shared["robots_fetched"] = int(robots or 0)
                skipped = int(self.client.scard(Keys.skipped(name)))
                rechecks = {
                    key.decode(): value.decode()
                    for key, value in self.client.hgetall(Keys.rechecks(name)).items()
                }
            except redis.RedisError:
                skipped, rechecks = 0, {}
                # At least a page for every item stored: not "every request failed".
                shared.setdefault("pages_fetched", sum(shared.get(k, 0) for k in COUNT_KEYS))
            counts = {
                "pages_fetched": shared.get("pages_fetched", 0),
                "articles_new": shared.get("new", 0),
                "articles_updated": shared.get("updated", 0),
                "articles_unchanged": shared.get("unchanged", 0),
                "failures": shared.get("failures", 0),
                "recheck_until": rechecks.get("until"),
            }
            self.archive.finish_run(
                run_id, **counts, finish_reason=reason, tally=self.tallies.get(name)
            )
            if reason == "finished":
                self.archive.forget_shared_items(run_id)
            results.append(
                (
                    name,
                    {
                        "response_received_count": counts["pages_fetched"],
                        # As in a one-process crawl's stats: a site that answered robots.txt
                        # and failed every page is a site whose every request failed.
                        "robotstxt/response_count": shared.get("robots_fetched", 0),
                        **{f"newsarchive/{k}": shared.get(k, 0) for k in COUNT_KEYS},
                        "newsarchive/skipped_archived": skipped,
                        "newsarchive/rechecks": int(rechecks.get("count", 0)),
                        "newsarchive/seconds": round(time.monotonic() - self.started, 3),
                        "newsarchive/run_id": run_id,
                        "finish_reason": reason,
                    },
                )
            )
        # As a one-process crawl's end does (crawl_jobs.writer_close).
        damage = self.archive.crawl_ended(self.crawl.names)
        if damage:
            for _name, stats in results:
                stats["newsarchive/damage"] = damage
        return results

    def close(self) -> None:
        self.heartbeat_stop.set()  # on any way out: a claim not released lapses (WRITER_TTL)
        if self.archive is not None:
            self.archive.close()
            self.archive = None


def run_shared_crawl(crawl: SharedCrawl) -> list[tuple[str, dict[str, Any]]]:
    """Run (or resume) the shared crawl to its end; each site's stats. RedisProblem or
    NewsarchiveError (one line) when it cannot finish."""
    received: list[int] = []

    def keep(signum: int, frame: Any) -> None:
        received.append(signum)

    def stop(signum: int, frame: Any) -> None:
        raise Stopped

    # A stop signal while the writer connects and opens the crawl (its claim, the archive and
    # its migrations, the run rows, the crawl's config) waits until that is done, and then
    # stops the crawl as any stop does: it ended the process silently (SIGTERM), as a
    # traceback, or as click's bare "Aborted!" (Ctrl-C), leaving run rows never finished.
    previous = {s: signal.signal(s, keep) for s in (signal.SIGTERM, signal.SIGINT)}
    writer = None
    try:
        try:
            writer = Writer(crawl)
        except redis.RedisError as exc:  # gone since connect()'s PING
            raise RedisProblem(
                f"{display_url(crawl.url)}: Redis unreachable ({describe(exc)})"
            ) from None
        try:
            writer.open()
        except redis.RedisError as exc:  # a Redis that refuses writes (maxmemory), gone since
            raise RedisProblem(
                f"{writer.where}: Redis refused the crawl ({describe(exc)})"
            ) from None
        for s in previous:
            signal.signal(s, stop)
        with writer.archive.batch(10**9, max_seconds=0):
            try:
                if received:
                    raise Stopped
                writer.start_workers()
                writer.run()
                try:
                    # A stop signal in this wait is a stop like any: the crawl stays in Redis
                    # and the same command ends it.
                    writer.wait_for_workers()
                except redis.RedisError as exc:
                    # Done means every item is stored: only the goodbyes are missed.
                    logger.warning(
                        "%s: Redis lost once the crawl was done (%s): every item is stored; its "
                        "keys may stay in Redis",
                        writer.where,
                        describe(exc),
                    )
            except (Stopped, NewsarchiveError) as exc:
                # Workers stop gracefully (their leases go back to the frontier); what they sent
                # is stored; the crawl stays in Redis for the next run of the same command.
                for s in previous:
                    signal.signal(s, signal.SIG_IGN)
                writer.stop_workers()
                reason = (
                    "shutdown"
                    if isinstance(exc, Stopped)
                    else "redis_lost"
                    if isinstance(exc, RedisProblem)
                    else "workers_gone"
                )
                # A full disk: nothing more can be stored, nor the runs finished; the batch it
                # was storing and the rest stay in Redis.
                full = isinstance(exc, ArchiveUnwritable)
                with contextlib.suppress(redis.RedisError):
                    while not full and writer.drain_once():
                        pass
                if not full:
                    writer.finish(reason)
                # Held until the runs are finished: a second writer that came in meanwhile
                # took the crawl up while they were.
                writer.release()
                if isinstance(exc, Stopped):
                    raise NewsarchiveError(
                        "the shared crawl was stopped; run the same command again to continue it"
                    ) from None
                if full:
                    raise NewsarchiveError(
                        f"{exc}; the shared crawl stopped: what was stored is kept, the rest "
                        "waits in Redis: run the same command again once there is room"
                    ) from None
                raise
            # The runs' rows and the raw pages' packing, then the keys: short, and left half
            # done by a stop would only make the same command do it again.
            for s in previous:
                signal.signal(s, signal.SIG_IGN)
            results = writer.finish("finished")
        with contextlib.suppress(redis.RedisError):
            _clear_crawl_keys(writer.client)
        writer.release()  # the crawl is over: no writer's claim on it
        return results
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if writer is not None:
            writer.close()
