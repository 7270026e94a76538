"""A shared crawl whose redis-server restarts in the middle (an upgrade, a reboot, a failover):
the writer and its workers wait for it (NEWSARCHIVE_REDIS_PATIENCE) and the crawl goes on where
it was, instead of every process stopping with "Redis connection lost".

A real redis-server saving its data (SHUTDOWN SAVE, started again on the same port from its RDB).
redis-server must be installed: without it this test fails, it is never skipped.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from e2e_helpers import CLI, crawl_env, free_port, running_redis, shared_crawl

from newsarchive.demo import DemoServer

pytestmark = pytest.mark.e2e

TIMEOUT = 120
ARTICLES = 20


def _archived(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return 0
    try:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        conn.close()


def _slow_crawl(server: DemoServer, db: Path, url: str, *settings: str) -> Any:
    """A shared crawl with one local worker, slow enough that a fault falls in its middle."""
    slow = ["-s", "DOWNLOAD_DELAY=0.05", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
    slow += ["-s", "AUTOTHROTTLE_ENABLED=False", *settings]
    return shared_crawl(server, db, url, "--workers", "1", *slow)


@contextlib.contextmanager
def _killed_if_left(proc: Any) -> Iterator[Any]:
    """`proc`, killed on the way out if it is still running (a test that failed part-way)."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _saving_redis_place(tmp_path: Path) -> tuple[Path, int, str, Path]:
    """A directory for a Redis that saves its data, a port and URL for it, the archive's path."""
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    port = free_port()
    return redis_dir, port, f"redis://127.0.0.1:{port}/0", tmp_path / "archive.db"


def _until_archived(db: Path, crawl: Any, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while _archived(db) < count and crawl.poll() is None:
        assert time.monotonic() < deadline, "no article archived"
        time.sleep(0.1)


def test_a_shared_crawl_goes_on_after_its_redis_restarts(tmp_path: Path) -> None:
    # Down longer than a worker's heartbeat lasts: back, the writer takes the workers for dead
    # and puts their leased requests back in the frontier while they still crawl them.
    down, heartbeat = 4.0, 2
    redis_dir, port, url, db = _saving_redis_place(tmp_path)
    with DemoServer(articles=ARTICLES) as server:
        with running_redis(redis_dir, port, saves=True):
            crawl = _slow_crawl(
                server,
                db,
                url,
                "-s",
                "NEWSARCHIVE_REDIS_PATIENCE=30",
                "-s",
                f"NEWSARCHIVE_HEARTBEAT_TTL={heartbeat}",
            )
            try:
                _until_archived(db, crawl, 5)
                before = _archived(db)
                redis.Redis(port=port).shutdown(save=True)
            except BaseException:
                crawl.kill()
                raise
        time.sleep(down)
        with running_redis(redis_dir, port, saves=True), _killed_if_left(crawl):
            out, err = crawl.communicate(timeout=TIMEOUT)
    assert before < ARTICLES, "the crawl was over before Redis restarted"
    assert crawl.returncode == 0, f"{out}\n{err[-3000:]}"
    assert "Traceback" not in err and "Error:" not in err, err[-3000:]
    assert "Redis is back" in err, err[-3000:]
    assert _archived(db) == ARTICLES


def test_the_calls_that_move_work_answer_the_same_when_sent_again(tmp_path: Path) -> None:
    """Riding out a restart sends again a call whose answer the broken connection lost, and
    that call may have run. Sent twice, each script that moves work answers what it did the
    first time instead of doing it again: POP (requests leased twice, the first ones in no
    worker's hands), TAKE (a second batch taken, the first one in the processing list
    deleted with the second's commit), ACQUIRE (a second politeness slot held)."""
    from newsarchive.distributed.shared import Scripts

    with running_redis(tmp_path) as port:
        client = redis.Redis(port=port)
        scripts = Scripts(client)
        client.zadd("frontier", {b"first\nrequest": 1, b"second": 2, b"third": 3})
        client.set("alive", "1")
        pop = {"keys": ["frontier", "leases", "alive"], "args": ["r\tdemo\t", 1, 2]}
        assert scripts.pop(**pop) == [b"first\nrequest", b"second"]
        assert scripts.pop(**pop) == [b"first\nrequest", b"second"]
        assert scripts.pop(keys=pop["keys"], args=["r\tdemo\t", 3, 2]) == [b"third"]
        assert client.hlen("leases") == 3 and client.zcard("frontier") == 0

        client.rpush("items", "a", "b", "c")
        take = {"keys": ["items", "processing"], "args": [2]}
        assert scripts.take(**take) == [b"a", b"b"]
        assert scripts.take(**take) == [b"a", b"b"]
        client.delete("processing")  # the batch committed
        assert scripts.take(**take) == [b"c"]

        polite = {"keys": ["polite:host"], "args": [1000, 1]}
        assert scripts.acquire(keys=polite["keys"], args=[*polite["args"], "w:1", 60000]) == 0
        assert scripts.acquire(keys=polite["keys"], args=[*polite["args"], "w:1", 60000]) == 0
        # Another request still waits: one slot, held by w:1.
        assert scripts.acquire(keys=polite["keys"], args=[*polite["args"], "w:2", 60000]) != 0


def test_a_worker_gives_back_the_leases_it_no_longer_holds(tmp_path: Path) -> None:
    """A Redis restarted from an older snapshot brings back leases a worker had ended since:
    nobody would ever settle them, and the crawl could not end (fuzz_shared.py seeds 700 and
    704 hung so). The worker's heartbeat gives back those it does not hold; the ones it holds
    and its seeding marks stay."""
    from newsarchive.distributed.scheduler import SiteChannel
    from newsarchive.distributed.shared import Keys, WorkerState

    with running_redis(tmp_path) as port:
        client = redis.Redis(port=port)
        state = WorkerState(f"redis://127.0.0.1:{port}/0", {"id": "c", "settings": {}})
        channel = SiteChannel(state, "demo", spider=None)
        state.channels["demo"] = channel
        leases = Keys.leases(state.wid)
        client.hset(
            leases,
            mapping={
                "r\tdemo\t1": b"-1\nin progress",
                "r\tdemo\t2": b"-1\nprefetched",
                "r\tdemo\t3": b"-2\nended before the restart",
                "s\tdemo": b"1",
            },
        )
        channel.pending["r\tdemo\t1"] = object()
        channel.prefetched.append(("r\tdemo\t2", b"prefetched"))
        assert state.give_back_unheld() == 1
        assert client.zrange(Keys.frontier("demo"), 0, -1, withscores=True) == [
            (b"ended before the restart", -2.0)
        ]
        assert sorted(client.hkeys(leases)) == [b"r\tdemo\t1", b"r\tdemo\t2", b"s\tdemo"]
        assert state.give_back_unheld() == 0


def test_a_worker_given_patience_waits_for_a_redis_not_up_yet(tmp_path: Path) -> None:
    """A crawl's writer starts its local workers with its patience: a Redis restarting just
    then (fuzz_shared.py seed 701: a worker refused at its first PING, "every worker ended
    before the crawl was done") is waited for. Without it, a Redis that never answered is one
    line at once (most likely a mistyped URL)."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    started = time.monotonic()
    at_once = subprocess.run(
        [*CLI, "worker", "--redis", url, "--wait", "1"],
        cwd=tmp_path,
        env=crawl_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert at_once.returncode == 1 and time.monotonic() - started < 15
    assert at_once.stderr.splitlines()[-1].startswith(f"Error: {url}: Redis unreachable")
    patient = subprocess.Popen(
        [*CLI, "worker", "--redis", url, "--wait", "3", "--redis-patience", "60"],
        cwd=tmp_path,
        env=crawl_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with _killed_if_left(patient):
        time.sleep(3)
        assert patient.poll() is None, patient.communicate()[1]
        with running_redis(tmp_path, port):
            _, err = patient.communicate(timeout=TIMEOUT)
    # It reached Redis, and waited there for a crawl that never came.
    assert patient.returncode == 1, err
    assert err.splitlines()[-1].startswith(f"Error: {url}: no crawl to join"), err
    assert "Traceback" not in err, err
    # Said as the writer says its warnings (Python's last resort printed them bare).
    assert [line.split(": ", 2)[0] for line in err.splitlines()[:2]] == ["WARNING", "WARNING"]
    assert "Redis unreachable" in err and "Redis is back" in err, err


def test_a_crawl_whose_seeding_redis_lost_stops_instead_of_waiting_for_ever(
    tmp_path: Path,
) -> None:
    """Redis back from a snapshot older than the seeding (or the key deleted) no longer lists
    the site as seeded: the crawl could never be over, and writer and workers, waiting out the
    restart, waited for ever (fuzz_shared.py seed 904). A worker that finds a site it saw seeded
    missing stops with one line; the writer then says every worker ended (exit 1), and the same
    command continues the crawl."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    db = tmp_path / "archive.db"
    with DemoServer(articles=ARTICLES) as server, running_redis(tmp_path, port):
        crawl = _slow_crawl(server, db, url, "-s", "NEWSARCHIVE_REDIS_PATIENCE=5")
        with _killed_if_left(crawl):
            _until_archived(db, crawl, 3)
            redis.Redis(port=port).delete("newsarchive:seeded")
            out, err = crawl.communicate(timeout=TIMEOUT)
    assert crawl.returncode == 1, f"{out}\n{err[-3000:]}"
    assert "Traceback" not in err, err[-3000:]
    assert "every worker ended before the crawl was done" in err, err[-3000:]


def _runs(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT id, site, started, finished, finish_reason, pages_fetched, articles_new, "
            "articles_unchanged, failures, articles_seen FROM crawl_runs ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("after", ["redis_from_snapshot", "archive_replaced"])
def test_a_crawl_redis_holds_that_the_archive_has_ended_is_not_resumed(
    tmp_path: Path, after: str
) -> None:
    """Redis back from a snapshot taken before the crawl ended (a reboot, RDB every few minutes)
    holds the crawl's keys again. The next crawl resumed it: it rewrote the ended run's row
    (its end, its counts) and had no run of its own. Likewise an archive replaced by an older
    one that never saw the crawl. The writer now sees the run ended (or unknown), says so in one
    warning and starts a new crawl; the ended run's row stays as it was."""
    redis_dir, port, url, db = _saving_redis_place(tmp_path)
    with DemoServer(articles=ARTICLES) as server:
        with running_redis(redis_dir, port, saves=True):
            with _killed_if_left(_slow_crawl(server, db, url)) as crawl:
                _until_archived(db, crawl, 3)
                redis.Redis(port=port).save()  # the crawl's keys as they are mid-way
                out, err = crawl.communicate(timeout=TIMEOUT)
            assert crawl.returncode == 0, f"{out}\n{err[-3000:]}"
            redis.Redis(port=port).shutdown(nosave=True)
        ended = _runs(db)
        assert [run[4] for run in ended] == ["finished"]
        if after == "archive_replaced":
            for path in tmp_path.glob("*.db*"):  # archive.db, pages.db and their WALs
                path.unlink()
        with running_redis(redis_dir, port, saves=True):  # from the mid-way snapshot
            assert redis.Redis(port=port).exists("newsarchive:crawl")
            with _killed_if_left(_slow_crawl(server, db, url)) as again:
                out, err = again.communicate(timeout=TIMEOUT)
    assert again.returncode == 0, f"{out}\n{err[-3000:]}"
    assert "Traceback" not in err and "resuming" not in err, err[-3000:]
    warnings = [line for line in err.splitlines() if "starting a new shared crawl" in line]
    assert len(warnings) == 1, err[-3000:]
    assert ("has no record of" if after == "archive_replaced" else "which ended") in warnings[0]
    runs = _runs(db)
    assert [run[4] for run in runs] == ["finished"] * (2 if after == "redis_from_snapshot" else 1)
    if after == "redis_from_snapshot":
        assert runs[0] == ended[0]  # the ended run's row untouched
        assert runs[1][6] == 0 and f"(run {runs[1][0]}, finished)" in out, out
    assert _archived(db) == ARTICLES
