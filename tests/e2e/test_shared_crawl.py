"""A crawl shared through a real Redis (redis-server on a random loopback port): the same archive as
a one-process crawl, nothing lost when a worker is killed, politeness for the whole crawl, and
one-line errors when Redis is unreachable or loses the crawl.

redis-server must be installed (apt-get install redis-server): without it these tests fail,
they are never skipped.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from e2e_helpers import (
    CLI,
    FAST,
    crawl_demo,
    crawl_env,
    crawled_then_taken_down,
    free_port,
    run_on_small_disk,
    running_redis,
    shared_crawl,
)

import newsarchive.sites
from newsarchive.demo import DemoServer
from newsarchive.settings import SPIDER_MIDDLEWARES
from newsarchive.storage import default_pages_path
from newsarchive.storage.compression import IN_BLOCK

pytestmark = pytest.mark.e2e

TIMEOUT = 90


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory):
    with running_redis(tmp_path_factory.mktemp("redis")) as port:
        yield f"redis://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def server():
    with DemoServer(articles=60) as s:
        yield s


@pytest.fixture(scope="module")
def reference(server: DemoServer, tmp_path_factory: pytest.TempPathFactory):
    """The one-process crawl: its archive and what the server saw."""
    db = tmp_path_factory.mktemp("one") / "one.db"
    before = len(server.requests)
    crawl_demo(server, db)
    return db, Counter(r.path for r in server.requests[before:])


def _rows(db: Path) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return sorted(
            conn.execute(
                "SELECT url, title, body, published, authors, category, canonical_url, site "
                "FROM articles"
            )
        )
    finally:
        conn.close()


def _query(db: Path, sql: str) -> list[tuple]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql))
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def _arrival_times(server: DemoServer) -> list[float]:
    """A list that gets when each request but robots.txt's arrives (the server's log has the
    order, not the time)."""
    times: list[float] = []
    record = server._httpd.record

    def timed(entry) -> None:  # noqa: ANN001
        if entry.path != "/robots.txt":
            times.append(time.monotonic())
        record(entry)

    server._httpd.record = timed
    return times


def _worker(url: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "worker", "--redis", url],
        cwd=cwd,
        env=crawl_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _empty_database(redis_server: str, number: int) -> tuple[str, redis.Redis]:
    """The URL of database `number` of the module's Redis, emptied, and a client of it."""
    url = f"{redis_server}/{number}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    return url, client


def _until_done(client: redis.Redis, crawl: subprocess.Popen) -> None:
    """Until the writer tells its workers the crawl is over (its `done` key)."""
    deadline = time.monotonic() + TIMEOUT
    while not client.keys("newsarchive:done:*"):
        assert crawl.poll() is None and time.monotonic() < deadline, "not done"
        time.sleep(0.01)


def _finish(proc: subprocess.Popen, timeout: float = TIMEOUT) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"did not end in {timeout}s:\n{out}\n{err[-3000:]}")
    return out, err


def _local_workers(pid: int) -> list[int]:
    """The `newsarchive worker` processes the crawl started (Linux /proc)."""
    found = []
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in map(int, children):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"worker" in cmdline:
            found.append(child)
    return found


def _writer_killing_itself(
    server: DemoServer, db: Path, url: str, args: tuple[str, ...], after_commit: int
) -> tuple[list[int], Path]:
    """Run the shared crawl's writer until it SIGKILLs itself right after commit number
    `after_commit` (before that batch leaves Redis); its two local workers' pids (they outlive
    it: separate processes) and the log they all wrote."""
    cmd = [*CLI, "crawl", "demo", "--base-url", server.base_url, "--db", str(db)]
    # A file, not a pipe: the workers inherit the writer's stderr and outlive it, so a pipe
    # would not reach its end when the writer dies.
    log = db.with_suffix(".log")
    with log.open("w") as sink:
        first = subprocess.Popen(
            [*cmd, "--redis", url, *args],
            cwd=db.parent,
            env={**crawl_env(), "NEWSARCHIVE_TEST_KILL_WRITER_AFTER_COMMIT": str(after_commit)},
            stdout=sink,
            stderr=sink,
        )
    workers: list[int] = []
    deadline = time.monotonic() + TIMEOUT
    while first.poll() is None and time.monotonic() < deadline:
        if len(workers) < 2:  # the second may start a moment after the first
            workers = _local_workers(first.pid)
        time.sleep(0.01)
    if first.poll() is None:
        first.kill()
        pytest.fail(f"the writer did not kill itself:\n{log.read_text()[-3000:]}")
    assert first.returncode == -signal.SIGKILL, f"{first.returncode}\n{log.read_text()[-3000:]}"
    assert len(workers) == 2, workers
    return workers, log


def test_shared_crawl_gives_the_one_process_archive(
    server: DemoServer, reference: tuple, redis_server: str, tmp_path: Path
) -> None:
    ref_db, ref_requests = reference
    url = f"{redis_server}/1"
    db = tmp_path / "shared.db"
    external = _worker(url, tmp_path)  # joins as soon as the crawl is in Redis
    before = len(server.requests)
    crawl = shared_crawl(server, db, url, "--workers", "2", *FAST)
    out, err = _finish(crawl)
    assert crawl.returncode == 0, f"{out}\n{err[-3000:]}"
    ext_out, ext_err = _finish(external)
    assert external.returncode == 0, ext_err[-3000:]
    assert "Traceback" not in err + ext_err, (err + ext_err)[-3000:]
    assert "60 new" in out
    # The external worker fetched part of the crawl.
    fetched = int(ext_out.split("demo: ")[1].split(" pages fetched")[0])
    assert fetched > 0, ext_out
    # The same records as the one-process crawl, one row per article, each fetched once.
    assert _rows(db) == _rows(ref_db)
    assert len(_rows(db)) == 60
    assert _query(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(60, 60)]
    assert {n for (n,) in _query(db, "SELECT fetch_count FROM articles")} == {1}
    assert _query(db, "SELECT count(*) FROM failures") == _query(
        ref_db, "SELECT count(*) FROM failures"
    )
    # Exactly the requests of the one-process crawl (robots.txt once, every page once; only
    # the broken page is asked for again, by its retries, as in one process).
    requests = Counter(r.path for r in server.requests[before:])
    assert requests == ref_requests
    columns = "site, articles_new, failures, finish_reason, pages_fetched"
    runs = _query(db, f"SELECT {columns} FROM crawl_runs")
    assert runs == _query(ref_db, f"SELECT {columns} FROM crawl_runs")
    assert runs[0][:4] == ("demo", 60, 2, "finished")
    # Its end packed the raw pages into blocks, as one process's does.
    for archive in (db, ref_db):
        pages = default_pages_path(archive)
        assert _query(pages, f"SELECT count(*) FROM pages WHERE compression != '{IN_BLOCK}'") == [
            (0,)
        ]
    # The crawl cleaned up after itself: only the marker late workers read is left.
    client = redis.Redis.from_url(url)
    assert [k for k in client.keys("*") if not k.startswith(b"newsarchive:done:")] == []

    # A second shared crawl is incremental exactly like a second one-process crawl.
    before = len(server.requests)
    again = shared_crawl(server, db, url, "--workers", "2", *FAST)
    out, err = _finish(again)
    assert again.returncode == 0, err[-3000:]
    articles = {a.path for a in server.portal.articles}
    assert not {r.path for r in server.requests[before:]} & articles
    assert "0 new" in out and "59 archived articles skipped" in out


def test_a_second_writer_of_a_running_shared_crawl_is_refused_and_the_first_finishes(
    server: DemoServer, reference: tuple, redis_server: str, tmp_path: Path
) -> None:
    # Cron's next call while a long shared crawl still runs: the same command again. Two
    # writers took the crawl's items in turns, and the first one finished its run row with
    # part of the counts and "every request failed" (fuzz_soak --shared, seed 220).
    ref_db, _ = reference
    url = f"{redis_server}/12"
    db = tmp_path / "shared.db"
    slow = ("-s", "DOWNLOAD_DELAY=0.1", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1")
    first = shared_crawl(server, db, url, "--workers", "1", *FAST, *slow)
    deadline = time.monotonic() + TIMEOUT
    while not _query(db, "SELECT 1 FROM articles LIMIT 1"):
        assert first.poll() is None and time.monotonic() < deadline, "nothing archived"
        time.sleep(0.1)
    second = shared_crawl(server, db, url, "--workers", "1", *FAST, *slow)
    _, err = _finish(second)
    assert first.poll() is None, "the crawl ended before the second command was refused"
    said = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert (second.returncode, len(said)) == (75, 1), err[-3000:]
    assert "another writer" in said[0] and f"{first.pid}" in said[0]
    out, err = _finish(first)
    assert first.returncode == 0, f"{out}\n{err[-3000:]}"
    assert _rows(db) == _rows(ref_db)
    columns = "site, articles_new, failures, finish_reason"
    assert _query(db, f"SELECT {columns} FROM crawl_runs") == [("demo", 60, 2, "finished")]


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _of_another_container(pid: int) -> str:
    """A process mark (processes.this_process) of `pid` in another pid namespace of this host
    and boot: a container given this hostname."""
    from newsarchive.processes import this_process

    host, _, machine = this_process().partition(" ")
    boot = machine.strip("()").split(", ")[0]
    return f"{host.rsplit(':', 1)[0]}:{pid} ({boot}, pidns 1)"


@pytest.mark.parametrize("where", ["another machine", "a container of the same hostname"])
def test_a_writer_on_another_machine_is_waited_for_until_its_claim_lapses(
    redis_server: str, tmp_path: Path, where: str
) -> None:
    # Whether a writer on another machine is there is known from its heartbeat alone: while it
    # beats, the crawl is left to it (exit 75); once it stops, this one takes the crawl over.
    # So too for one of another pid namespace given this hostname (containers named alike):
    # judged by hostname and pid alone, its pid not found here, it was taken for gone and two
    # writers shared the crawl.
    if where == "another machine":
        holder = "elsewhere.example:4242 (boot 1234abcd, pidns 4026531836)"
    else:
        holder = _of_another_container(_dead_pid())
    url, client = _empty_database(redis_server, 14)
    db = tmp_path / "archive.db"
    beating = threading.Event()
    beating.set()

    def beat() -> None:
        while beating.is_set():
            client.set("newsarchive:writer", holder, ex=2)
            time.sleep(0.5)

    beater = threading.Thread(target=beat, daemon=True)
    beater.start()
    with DemoServer(articles=4) as small:
        refused = shared_crawl(small, db, url, "--workers", "1", *FAST)
        _, err = _finish(refused)
        beating.clear()
        beater.join()
        said = [line for line in err.splitlines() if line.startswith("Error: ")]
        assert (refused.returncode, len(said)) == (75, 1), err[-3000:]
        assert f"another writer ({holder})" in said[0]
        assert client.get("newsarchive:writer") == holder.encode()  # not taken
        taken = shared_crawl(small, db, url, "--workers", "1", *FAST)
        out, err = _finish(taken)
    assert taken.returncode == 0, f"{out}\n{err[-3000:]}"
    assert _query(db, "SELECT articles_new, finish_reason FROM crawl_runs") == [(4, "finished")]


def test_a_worker_of_a_container_of_the_same_hostname_is_not_reaped_while_it_beats(
    redis_server: str,
) -> None:
    # Judged by hostname and pid alone ("host:pid:..." in its id), a live worker of another
    # container given this hostname had a pid gone here: it was reaped at once, its leased
    # requests handed out again while it still fetched them. Its heartbeat now names its boot
    # and pid namespace (processes.this_process), as a run's owner does.
    from newsarchive.distributed.shared import Keys, Scripts
    from newsarchive.distributed.writer import reap_workers
    from newsarchive.processes import this_process

    _, client = _empty_database(redis_server, 15)
    host, _, machine = this_process().partition(" ")
    host = host.rsplit(":", 1)[0]
    dead = _dead_pid()
    heartbeats = {
        "other-container": _of_another_container(dead),
        "gone-here": f"{host}:{dead} {machine}",
        "no-heartbeat": None,
    }
    for name, owner in heartbeats.items():
        wid = f"{host}:{dead}:{name}"
        client.sadd(Keys.workers, wid)
        client.hset(Keys.leases(wid), f"r\tdemo\t{name}", f"0\nrequest of {name}")
        if owner is not None:
            client.set(Keys.alive(wid), owner, ex=30)
    reap_workers(client, Scripts(client))
    left = {raw.decode().rsplit(":", 1)[1] for raw in client.smembers(Keys.workers)}
    assert left == {"other-container"}
    frontier = {raw.decode() for raw in client.zrange("newsarchive:requests:demo", 0, -1)}
    assert frontier == {"request of gone-here", "request of no-heartbeat"}


def test_a_shared_crawl_stopped_at_its_end_says_so_in_one_line_and_is_finished_by_a_rerun(
    redis_server: str, tmp_path: Path
) -> None:
    # SIGTERM as the crawl is done: the writer waits for its workers to exit, then finishes the
    # runs. A stop signal there raised out of that wait as a traceback (fuzz_soak --shared,
    # seed 225). Now it ends in one line, or not at all (it came after the end), and the same
    # command again ends the crawl.
    db = tmp_path / "archive.db"
    url = f"{redis_server}/13"
    with DemoServer(articles=6) as small:
        articles = len(small.portal.articles)
        client = redis.Redis.from_url(url)
        crawl = shared_crawl(small, db, url, "--workers", "2", *FAST)
        _until_done(client, crawl)
        crawl.send_signal(signal.SIGTERM)
        _, err = _finish(crawl)
        said = [line for line in err.splitlines() if line.startswith("Error: ")]
        assert "Traceback" not in err, err[-3000:]
        assert (crawl.returncode, len(said)) in ((0, 0), (1, 1)), err[-3000:]
        again = shared_crawl(small, db, url, "--workers", "1", *FAST)
        _, err = _finish(again)
        assert again.returncode == 0, err[-3000:]
    runs = _query(db, "SELECT articles_new, finish_reason FROM crawl_runs")
    assert runs[-1] == (articles, "finished"), runs
    assert not [k for k in client.keys("*") if b":done:" not in k]


def test_worker_killed_mid_crawl_loses_nothing(
    server: DemoServer, reference: tuple, redis_server: str, tmp_path: Path
) -> None:
    ref_db, _ = reference
    url = f"{redis_server}/2"
    db = tmp_path / "killed.db"
    slow = ["-s", "DOWNLOAD_DELAY=0.04", "-s", "DOWNLOAD_DELAY_JITTER=0"]
    # A dead worker's leases return after its heartbeat expires: 2 s here, 15 s by default.
    slow += ["-s", "NEWSARCHIVE_HEARTBEAT_TTL=2"]
    articles = {a.path for a in server.portal.articles}
    before = len(server.requests)
    crawl = shared_crawl(server, db, url, "--workers", "2", *FAST, *slow)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = [r for r in server.requests[before:] if r.path in articles]
        if len(done) >= 20:
            break
        time.sleep(0.02)
    workers = _local_workers(crawl.pid)
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)
    stored_at_kill = len(_query(db, "SELECT id FROM articles"))
    out, err = _finish(crawl)
    assert crawl.returncode == 0, f"{out}\n{err[-3000:]}"
    assert stored_at_kill < 60, "the kill came after the crawl was over"
    assert "stopped answering" in err  # the writer returned its requests to the frontier
    assert _rows(db) == _rows(ref_db), "articles lost, added or different"
    assert _query(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(60, 60)]
    # What the killed worker had sent was never fetched again (its item went to Redis with the
    # end of its lease, in one step), and what it fetched reached the run row.
    assert {n for (n,) in _query(db, "SELECT fetch_count FROM articles")} == {1}
    assert _query(db, "SELECT count(*) FROM failures") == _query(
        ref_db, "SELECT count(*) FROM failures"
    )
    columns = "articles_new, articles_unchanged, failures, pages_fetched, finish_reason"
    assert _query(db, f"SELECT {columns} FROM crawl_runs") == _query(
        ref_db, f"SELECT {columns} FROM crawl_runs"
    )


def test_writer_killed_and_restarted_gives_the_one_process_archive(
    server: DemoServer, reference: tuple, redis_server: str, tmp_path: Path
) -> None:
    """kill -9 of the writer at its worst moment: a batch committed to SQLite but still in
    Redis's processing list. The same command, run again, resumes the crawl, skips that batch
    and ends with the one-process archive and run row."""
    ref_db, _ = reference
    url = f"{redis_server}/6"
    db = tmp_path / "writer.db"
    slow = ["-s", "DOWNLOAD_DELAY=0.03", "-s", "DOWNLOAD_DELAY_JITTER=0"]
    args = ("--workers", "2", *FAST, *slow)
    workers, log = _writer_killing_itself(server, db, url, args, after_commit=3)
    client = redis.Redis.from_url(url)
    replay = client.llen("newsarchive:items:processing")
    assert replay > 0, "the kill did not leave a committed batch in Redis"
    stored = _query(db, "SELECT count(*) FROM shared_items")[0][0]
    assert 0 < len(_query(db, "SELECT id FROM articles")) < 60, "killed after the crawl was over"
    assert stored >= replay

    again = shared_crawl(server, db, url, *args)
    out, err = _finish(again)
    assert again.returncode == 0, f"{out}\n{err[-3000:]}"
    assert "resuming the shared crawl" in err
    assert "Traceback" not in err, err[-3000:]
    # The killed writer's workers end with the crawl.
    for pid in workers:
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
                break  # exited; its parent is gone, nobody reaps it here
            time.sleep(0.1)
        alive = Path(f"/proc/{pid}/stat").exists() and not Path(
            f"/proc/{pid}/stat"
        ).read_text().split(") ")[1].startswith("Z")
        assert not alive, f"worker {pid} of the killed writer is still running"
    # The one-process archive: same records, one row each, each fetched and stored once, the
    # replayed batch not stored again (no "unchanged" anywhere).
    assert _rows(db) == _rows(ref_db)
    assert _query(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(60, 60)]
    assert {n for (n,) in _query(db, "SELECT fetch_count FROM articles")} == {1}
    assert _query(db, "SELECT count(*) FROM failures") == _query(
        ref_db, "SELECT count(*) FROM failures"
    )
    # One run row, its counters and quality tally carried across the restart.
    columns = (
        "site, articles_new, articles_updated, articles_unchanged, failures, pages_fetched, "
        "finish_reason, articles_seen, fill_rates, page_kinds"
    )
    assert _query(db, f"SELECT {columns} FROM crawl_runs") == _query(
        ref_db, f"SELECT {columns} FROM crawl_runs"
    )
    assert "60 new" in out
    # The ids were only needed while the crawl could be resumed.
    assert _query(db, "SELECT count(*) FROM shared_items") == [(0,)]


def test_politeness_holds_across_workers(redis_server: str, tmp_path: Path) -> None:
    url = f"{redis_server}/3"
    delay = 0.2
    with DemoServer(articles=8) as small:
        # When each request arrived (the server's log has the order, not the time).
        times: list[float] = []
        record = small._httpd.record

        def timed(entry) -> None:
            times.append(time.monotonic())
            record(entry)

        small._httpd.record = timed
        db = tmp_path / "polite.db"
        polite = ["-s", f"DOWNLOAD_DELAY={delay}", "-s", "DOWNLOAD_DELAY_JITTER=0"]
        polite += ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
        crawl = shared_crawl(small, db, url, "--workers", "3", *polite)
        out, err = _finish(crawl)
        assert crawl.returncode == 0, f"{out}\n{err[-3000:]}"
        paths = small.requested_paths()
    assert "8 new" in out
    assert paths.count("/robots.txt") == 1
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    assert len(gaps) > 20
    # Redis grants starts at least `delay` apart; what the server sees adds the jitter of each
    # worker's event loop between the grant and the bytes on the wire (a few tens of ms, more
    # on a loaded machine: a request sent late shortens the gap after it by as much as it
    # lengthened the one before). Over three requests in a row that jitter is paid once, not
    # twice: their span is >= 2 delays less one jitter (seen up to 0.13 s on a machine with load
    # ~5, so 0.8 delay is allowed). Three workers each keeping the delay on their own would start
    # ~3 requests per delay (spans of ~0.7 delay).
    spans = sorted(c - a for a, c in zip(times, times[2:], strict=False))
    assert spans[0] >= delay * 1.2, spans[:5]
    assert gaps[len(gaps) // 10] >= delay * 0.7, gaps[:5]
    assert times[-1] - times[0] >= delay * len(gaps) * 0.98


def test_robots_txt_crawl_delay_holds_across_workers(redis_server: str, tmp_path: Path) -> None:
    # The host's Crawl-delay, for the whole crawl: three workers with no delay of their own
    # start their requests at least that far apart (before: as fast as they could).
    url = f"{redis_server}/8"
    delay = 0.3
    with DemoServer(articles=6) as small:
        status, headers, body = small.portal.pages["/robots.txt"]
        body = body.replace(b"User-agent: *\n", f"User-agent: *\nCrawl-delay: {delay}\n".encode())
        small.portal.pages["/robots.txt"] = (status, headers, body)
        times = _arrival_times(small)
        db = tmp_path / "delayed.db"
        crawl = shared_crawl(small, db, url, "--workers", "3", *FAST)
        out, err = _finish(crawl)
        assert crawl.returncode == 0, f"{out}\n{err[-3000:]}"
    assert "6 new" in out
    # As in test_politeness_holds_across_workers: three starts in a row span two delays, less
    # one event-loop jitter.
    spans = sorted(c - a for a, c in zip(times, times[2:], strict=False))
    assert len(spans) > 10
    assert spans[0] >= delay * 1.2, spans[:5]


def test_a_profiles_delay_holds_across_workers(redis_server: str, tmp_path: Path) -> None:
    # The profile's download_delay, for the whole crawl, with no deprecation warning from Scrapy
    # (it reached Scrapy as a spider attribute: four WARNING lines from every process).
    url = f"{redis_server}/10"
    delay = 0.3
    profile = tmp_path / "slow.toml"
    demo = (Path(newsarchive.sites.__file__).parent / "demo.toml").read_text()
    profile.write_text(demo.replace("[crawl]\n", f"[crawl]\ndownload_delay = {delay}\n"))
    with DemoServer(articles=6) as small:
        times = _arrival_times(small)
        fast = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"]
        crawl = shared_crawl(
            small, tmp_path / "slow.db", url, "--workers", "3", *fast, site=str(profile)
        )
        out, err = _finish(crawl)
        assert crawl.returncode == 0, f"{out}\n{err[-3000:]}"
    assert "6 new" in out
    assert "WARNING" not in err and "Warning" not in err, err
    spans = sorted(c - a for a, c in zip(times, times[2:], strict=False))
    assert len(spans) > 10
    assert spans[0] >= delay * 1.2, spans[:5]


def test_a_shared_crawl_rechecks_the_articles_fetched_longest_ago(
    redis_server: str, tmp_path: Path
) -> None:
    # As a crawl in one process does (test_takedown.py): the writer publishes the articles
    # fetched longest ago, the workers recheck the first of them, a 404 marks one gone. Each
    # once: two workers starting together both seeded the site, and the rechecks (never
    # filtered as seen, see PortalSpider._recheck_requests) went to the site twice.
    db = tmp_path / "archive.db"
    with DemoServer(articles=6) as small:
        urls = crawled_then_taken_down(small, db)
        before = dict(_query(db, "SELECT url, fetch_count FROM articles"))
        asked = len(small.requests)
        answer = small.portal.response

        def slow_robots(path: str) -> tuple:
            if path == "/robots.txt":  # a site slow to answer: the seeding takes a while
                time.sleep(4)
            return answer(path)

        small.portal.response = slow_robots
        rechecks = ["-s", "NEWSARCHIVE_RECHECK_PER_RUN=2"]
        crawl = shared_crawl(small, db, f"{redis_server}/9", "--workers", "2", *FAST, *rechecks)
        out, err = _finish(crawl)
        assert crawl.returncode == 0, f"{out}\n{err[-3000:]}"
        paths = Counter(r.path for r in small.requests[asked:])
    after = {
        url: (count, gone)
        for url, count, gone in _query(db, "SELECT url, fetch_count, gone_since FROM articles")
    }
    assert [url for url in urls if after[url][1]] == [urls[0]]
    assert [url for url in urls if after[url][0] > before[url]] == [urls[1]]
    assert after[urls[1]][0] == before[urls[1]] + 1
    rechecked = [urlsplit(url).path for url in urls[:2]]
    assert [paths[path] for path in rechecked] == [1, 1], paths


def test_a_site_answering_500_to_everything_is_a_failedshared_crawl(
    redis_server: str, tmp_path: Path
) -> None:
    # As a one-process crawl says (test_soak_found.py): a site whose every request, robots.txt
    # included, answers 500 is a failed crawl. The shared crawl's count of pages fetched took in
    # robots.txt's answer, so it had one page more than failures and exited 0 (fuzz_soak
    # --shared, seed 201).
    db = tmp_path / "archive.db"
    with DemoServer(articles=6) as small:
        crawl_demo(small, db)
        small.portal.response = lambda path: (500, {"Content-Type": "text/html"}, b"<h1>500</h1>")
        crawl = shared_crawl(small, db, f"{redis_server}/11", "--workers", "1", *FAST)
        out, err = _finish(crawl)
    said = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert (crawl.returncode, len(said)) == (1, 1), f"{out}\n{err[-3000:]}"
    assert "every request failed" in said[0]


def test_retry_after_pauses_the_host_for_every_worker(redis_server: str) -> None:
    """A 429 with Retry-After reaching one worker's SharedPoliteness holds back another
    worker's next request to the host (its grant in Redis), for as long as asked."""
    from scrapy import Request
    from scrapy.http import Response
    from scrapy.utils.test import get_crawler

    from newsarchive.distributed.politeness import SharedPoliteness
    from newsarchive.distributed.shared import Keys, Scripts, WorkerState

    url = f"{redis_server}/7"
    redis.Redis.from_url(url).flushdb()
    WorkerState.install(url, {"id": "retry-after", "settings": {}})
    crawler = get_crawler(settings_dict={"DOWNLOAD_DELAY": 0})
    crawler._apply_settings()  # what a starting crawl does: stats and the rest set up
    polite = SharedPoliteness(crawler)
    request = Request("http://host.test/a")
    other = Scripts(redis.Redis.from_url(url))  # another worker's connection

    tokens = iter(range(100))

    def grant() -> int:
        # Each request of the other worker has a token of its own (one sent again may start).
        token = f"b{next(tokens)}"
        return int(other.acquire(keys=[Keys.polite("host.test")], args=[0, 8, token, 10000]))

    assert grant() == 0  # not paused yet: the other worker may start at once
    polite.process_response(request, Response(request.url, status=200, request=request))
    assert grant() == 0  # a 200 pauses nothing
    answer = Response(request.url, status=429, headers={"Retry-After": "2"}, request=request)
    polite.process_response(request, answer)
    wait = grant()
    assert 1500 < wait <= 2000, wait
    time.sleep(wait / 1000 + 0.05)
    assert grant() == 0  # the pause is over


def test_a_full_disk_stops_the_shared_crawl_and_the_same_command_finishes_it(
    redis_server: str, tmp_path: Path
) -> None:
    """The writer meets a full disk (a file size limit on the crawl command, whose process is
    the writer): one line, exit 1, the archive whole; the batch it was storing and the rest
    stay in Redis, and the same command run again (room again) ends with every article once."""
    url = f"{redis_server}/9"
    redis.Redis.from_url(url).flushdb()
    articles = 400
    db = tmp_path / "archive.db"
    cmd = [*CLI, "crawl", "demo", "--db", str(db), "--redis", url, "--workers", "2", *FAST]

    with DemoServer(articles=articles) as big:
        cmd[4:4] = ["--base-url", big.base_url]
        full = run_on_small_disk(cmd, tmp_path, 1_700_000, TIMEOUT)
        assert full.returncode == 1, f"{full.stdout}\n{full.stderr[-3000:]}"
        assert "Traceback" not in full.stderr, full.stderr[-3000:]
        errors = [line for line in full.stderr.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1 and "cannot write: " in errors[0], full.stderr[-3000:]
        assert "the shared crawl stopped" in errors[0]
        kept = _query(db, "SELECT count(*) FROM articles")[0][0]
        assert 0 < kept < articles
        again = run_on_small_disk(cmd, tmp_path, None, TIMEOUT)
        assert again.returncode == 0, f"{again.stdout}\n{again.stderr[-3000:]}"
    rows = _query(db, "SELECT url FROM articles")
    assert len(rows) == articles == len(set(rows))
    assert _query(db, "PRAGMA integrity_check") == [("ok",)]


def test_robots_txt_published_while_claiming_is_not_fetched_again(redis_server: str) -> None:
    """A worker that finds no robots.txt in Redis and then claims the fetch must not fetch it when
    the worker that held the claim published it (and released the claim) in between."""
    import asyncio
    import pickle

    from scrapy.utils.test import get_crawler

    from newsarchive.distributed.politeness import SharedRobotsTxt
    from newsarchive.distributed.shared import Keys, WorkerState

    url = f"{redis_server}/8"
    redis.Redis.from_url(url).flushdb()
    netloc = "host.test"
    published = ("http://host.test/robots.txt", 200, b"User-agent: *\nDisallow: /private\n")
    other = redis.Redis.from_url(url)  # the worker fetching it
    other.set(Keys.robots_lock(netloc), "1")

    class PublishedRightAfterTheRead(redis.Redis):
        def hget(self, name, key):
            answer = super().hget(name, key)
            if other.exists(Keys.robots_lock(netloc)) and not other.hexists(Keys.robots, netloc):
                other.hset(Keys.robots, netloc, pickle.dumps(published))
                other.delete(Keys.robots_lock(netloc))
            return answer

    state = WorkerState.install(url, {"id": "robots-race", "settings": {}})
    state.client = PublishedRightAfterTheRead.from_url(url)
    crawler = get_crawler(settings_dict={"ROBOTSTXT_OBEY": True})
    middleware = SharedRobotsTxt(crawler)
    assert asyncio.run(middleware._shared(netloc)) == published
    assert not other.exists(Keys.robots_lock(netloc))


def test_robots_txt_claimed_by_a_worker_gone_is_fetched_at_once(redis_server: str) -> None:
    """The worker fetching robots.txt was killed (SIGKILL to the crawl's process group): the
    crawl continued by the same command waited ROBOTS_WAIT (60 s) for it before fetching it
    itself (fuzz_soak --shared, seed 322: 59 s instead of 3). A claim whose holder's heartbeat
    is gone is taken over; a live holder is still waited for."""
    import asyncio
    import pickle

    from scrapy.utils.test import get_crawler

    from newsarchive.distributed.politeness import ROBOTS_WAIT, SharedRobotsTxt
    from newsarchive.distributed.shared import Keys, WorkerState

    url, other = _empty_database(redis_server, 8)
    netloc = "host.test"
    state = WorkerState.install(url, {"id": "robots-gone", "settings": {}})
    middleware = SharedRobotsTxt(get_crawler(settings_dict={"ROBOTSTXT_OBEY": True}))

    other.set(Keys.robots_lock(netloc), "vm:1234:gone", ex=int(ROBOTS_WAIT))  # no heartbeat
    started = time.monotonic()
    assert asyncio.run(middleware._shared(netloc)) is None  # this worker fetches it
    assert time.monotonic() - started < 2
    assert other.get(Keys.robots_lock(netloc)) == state.wid.encode()

    other.set(Keys.robots_lock(netloc), "vm:1235:alive", ex=int(ROBOTS_WAIT))
    other.set(Keys.alive("vm:1235:alive"), "1", ex=30)
    published = ("http://host.test/robots.txt", 200, b"User-agent: *\nDisallow: /private\n")
    started = time.monotonic()
    threading.Timer(1.5, other.hset, args=(Keys.robots, netloc, pickle.dumps(published))).start()
    assert asyncio.run(middleware._shared(netloc)) == published  # waited for the live one
    assert time.monotonic() - started >= 1.5


def test_a_worker_gone_gives_back_the_politeness_tokens_it_held(redis_server: str) -> None:
    """A worker killed as it fetched held the host's concurrency (its politeness tokens) until
    the tokens expired, a minute: the crawl continued after a SIGKILL to its process group
    fetched nothing for 59 s (fuzz_soak --shared, seed 322). Reaping the worker (its heartbeat
    lapsed) now frees them with its leases; other workers' tokens stay."""
    from newsarchive.distributed.shared import Keys, Scripts, requeue_worker

    _, client = _empty_database(redis_server, 8)
    active = Keys.polite("host.test") + ":active"
    gone, alive = "vm:1234:0a1b2c", "vm:1235:3d4e5f"
    later = time.time() * 1000 + 60_000
    client.zadd(active, {f"{gone}:1": later, f"{gone}:2": later, f"{alive}:7": later})
    client.zadd(Keys.polite("other.test") + ":active", {f"{gone}:3": later})
    scripts = Scripts(client)
    grant = {"keys": [Keys.polite("host.test")], "args": [0, 3, f"{alive}:8", 60_000]}
    assert scripts.acquire(**grant) == -1  # the host's 3 requests at a time are taken
    requeue_worker(client, scripts, gone)
    assert client.zrange(active, 0, -1) == [f"{alive}:7".encode()]
    assert client.zcard(Keys.polite("other.test") + ":active") == 0
    assert scripts.acquire(**grant) == 0


def test_a_shared_crawl_killed_with_its_workers_is_continued_at_once(
    redis_server: str, tmp_path: Path
) -> None:
    # kill -9 of the crawl's process group (the OOM killer, a reboot), then the same command:
    # it waited for the dead workers' heartbeats to lapse (15 s) to have their leases back, and
    # for their politeness tokens to expire (a minute) to fetch again (fuzz_soak --shared, seed
    # 322: 59 s). Workers of this machine whose process is gone are reaped at once now.
    from newsarchive.distributed.shared import HEARTBEAT_TTL

    url, client = _empty_database(redis_server, 7)
    db = tmp_path / "archive.db"
    two_at_a_time = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")
    with DemoServer(articles=20) as small:
        answer = small.portal.response

        def slowly(path: str) -> tuple:
            time.sleep(0.3)  # requests in flight, holding the host's two tokens, at the kill
            return answer(path)

        small.portal.response = slowly
        crawl = shared_crawl(
            small, db, url, "--workers", "2", *FAST, *two_at_a_time, own_group=True
        )
        deadline = time.monotonic() + TIMEOUT
        while len(small.requests) < 8:
            assert crawl.poll() is None and time.monotonic() < deadline, "nothing crawled"
            time.sleep(0.05)
        os.killpg(crawl.pid, signal.SIGKILL)
        crawl.communicate()
        assert client.zcard("newsarchive:polite:127.0.0.1:active") > 0  # tokens the dead held
        started = time.monotonic()
        again = shared_crawl(small, db, url, "--workers", "2", *FAST, *two_at_a_time)
        out, err = _finish(again)
        took = time.monotonic() - started
    assert again.returncode == 0, f"{out}\n{err[-3000:]}"
    assert "resuming the shared crawl" in err
    assert len(_query(db, "SELECT id FROM articles")) == 20
    assert took < HEARTBEAT_TTL, (took, err[-3000:])


def test_a_shared_crawl_ended_as_died_meanwhile_goes_on_when_continued(
    redis_server: str, tmp_path: Path
) -> None:
    # A shared crawl killed with its writer, then another crawl into the archive: that one ends
    # the dead run as "died" (its writer is gone), and the shared crawl continued later must
    # make the run its own again rather than leave it "died" while it runs and after.
    url, _ = _empty_database(redis_server, 0)
    db = tmp_path / "archive.db"
    with DemoServer(articles=20) as small:
        answer = small.portal.response

        def slowly(path: str) -> tuple:
            time.sleep(0.2)
            return answer(path)

        small.portal.response = slowly
        crawl = shared_crawl(small, db, url, "--workers", "1", *FAST, own_group=True)
        deadline = time.monotonic() + TIMEOUT
        while len(_query(db, "SELECT id FROM articles")) < 3:
            assert crawl.poll() is None and time.monotonic() < deadline, "nothing stored"
            time.sleep(0.05)
        os.killpg(crawl.pid, signal.SIGKILL)
        crawl.communicate()
        [(run_id, reason, dead)] = _query(db, "SELECT id, finish_reason, owner FROM crawl_runs")
        assert reason is None
        small.portal.response = answer
        crawl_demo(small, db)
        row = f"SELECT finish_reason, owner FROM crawl_runs WHERE id = {run_id}"
        assert _query(db, row) == [("died", dead)]
        small.portal.response = slowly
        again = shared_crawl(small, db, url, "--workers", "1", *FAST)
        # While it goes on, the run is its writer's: not "died", nor judged by the dead one.
        while _query(db, row)[0][1] == dead:
            assert again.poll() is None and time.monotonic() < deadline + TIMEOUT, "not resumed"
            time.sleep(0.05)
        assert _query(db, row)[0][0] is None
        health = subprocess.run(
            [*CLI, "health", "--db", str(db)], env=crawl_env(), capture_output=True, text=True
        )
        assert ": died " not in health.stderr, health.stderr
        assert again.poll() is None, "ended before it was checked"
        out, err = _finish(again)
    assert again.returncode == 0, f"{out}\n{err[-3000:]}"
    assert "resuming the shared crawl" in err
    runs = _query(db, "SELECT id, finish_reason FROM crawl_runs ORDER BY id")
    assert runs == [(run_id, "finished"), (run_id + 1, "finished")]


def test_redis_unreachable_is_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"redis://127.0.0.1:{port}/0"
    proc = subprocess.run(
        [*CLI, "crawl", "demo", "--base-url", "http://127.0.0.1:9/", "--redis", url],
        cwd=tmp_path,
        env=crawl_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        proc.stderr.strip().splitlines()[0]
    ] and proc.stderr.startswith(f"Error: {url}: Redis unreachable"), proc.stderr
    worker = subprocess.run(
        [*CLI, "worker", "--redis", url],
        cwd=tmp_path,
        env=crawl_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == 1
    assert worker.stderr.startswith(f"Error: {url}: Redis unreachable"), worker.stderr
    assert len(worker.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("url", "says"),
    [
        # Before, a traceback: the message masked the password through urllib, which raised.
        ("redis://:hunter2@127.0.0.1:63o9/0", "redis://:***@127.0.0.1:63o9/0: not a valid URL"),
        ("redis://[::1/0", "not a valid URL"),
        # Before, redis-py took a path that is no number for database 0, another crawl's.
        ("redis://127.0.0.1:6379/berita", "'berita' is no database number"),
    ],
)
def test_a_redis_url_that_is_no_redis_url_is_one_line(tmp_path: Path, url: str, says: str) -> None:
    worker = subprocess.run(
        [*CLI, "worker", "--redis", url, "--wait", "1"],
        cwd=tmp_path,
        env=crawl_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == 1 and "Traceback" not in worker.stderr, worker.stderr
    [line] = worker.stderr.strip().splitlines()
    assert line.startswith("Error: --redis ") and says in line and "hunter2" not in line, line


def test_redis_flushed_mid_crawl_stops_with_one_line(
    server: DemoServer, redis_server: str, tmp_path: Path
) -> None:
    url = f"{redis_server}/4"
    db = tmp_path / "lost.db"
    slow = ["-s", "DOWNLOAD_DELAY=0.05", "-s", "DOWNLOAD_DELAY_JITTER=0"]
    crawl = shared_crawl(server, db, url, "--workers", "2", *FAST, *slow)
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _query(db, "SELECT id FROM articles"):
        time.sleep(0.05)
    client.flushdb()  # what a restarted Redis without persistence looks like
    start = time.monotonic()
    out, err = _finish(crawl, timeout=60)
    assert time.monotonic() - start < 30, "the crawl hung after Redis lost it"
    assert crawl.returncode == 1
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert errors and errors[-1].startswith(f"Error: {url}: the crawl's state is gone from Redis")
    assert "Traceback" not in err, err[-3000:]
    runs = _query(db, "SELECT finish_reason FROM crawl_runs")
    assert runs == [("redis_lost",)]


def test_workers_of_a_writer_gone_for_good_stop_with_one_line(
    server: DemoServer, redis_server: str, tmp_path: Path
) -> None:
    """A writer killed and not restarted: its workers stop by themselves once the writer
    patience is over, with one Error line and their leases back in the frontier, so the same
    command run later still finishes the crawl with every article fetched once."""
    url = f"{redis_server}/7"
    db = tmp_path / "gone.db"
    args = (
        "--workers", "2", *FAST,
        "-s", "DOWNLOAD_DELAY=0.03", "-s", "DOWNLOAD_DELAY_JITTER=0",
        "-s", "NEWSARCHIVE_WRITER_PATIENCE=1",
    )  # fmt: skip
    workers, log = _writer_killing_itself(server, db, url, args, after_commit=2)
    killed_at = time.monotonic()

    def running(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1]
        except OSError:
            return False
        return not state.startswith("Z")  # a zombie has exited; nobody here reaps it

    while any(map(running, workers)) and time.monotonic() - killed_at < 60:
        time.sleep(0.1)
    assert not any(map(running, workers)), f"workers still waiting:\n{log.read_text()[-3000:]}"
    text = log.read_text()
    assert text.count("the crawl's writer has been gone for 1s") == 2, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    client = redis.Redis.from_url(url)
    assert client.scard("newsarchive:workers") == 0
    assert not list(client.scan_iter(match="newsarchive:leases:*")), "leases left behind"
    assert 0 < len(_query(db, "SELECT id FROM articles")) < 60, "killed after the crawl was over"

    again = shared_crawl(server, db, url, *args)
    out, err = _finish(again)
    assert again.returncode == 0, f"{out}\n{err[-3000:]}"
    assert _query(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(60, 60)]
    assert {n for (n,) in _query(db, "SELECT fetch_count FROM articles")} == {1}


def test_workers_ask_the_snapshot_together_and_keep_the_answers(redis_server: str) -> None:
    """SharedKnown: a sitemap's or a listing's URLs in one HMGET, each answered once, the same
    states the writer published."""
    from datetime import UTC, datetime

    from newsarchive.distributed.shared import Keys
    from newsarchive.distributed.worker import SharedKnown, encode_state
    from newsarchive.storage import FetchState

    _, client = _empty_database(redis_server, 5)
    when = datetime(2024, 3, 5, 3, 0, tzinfo=UTC)
    states = {
        f"https://warta.example.id/berita/{n}": FetchState(when, when, None, n % 3 + 1)
        for n in range(300)
    }
    client.hset(Keys.known("warta"), mapping={url: encode_state(s) for url, s in states.items()})
    known = SharedKnown(client, "warta")
    asked = [*list(states)[:200], "https://warta.example.id/baru"]

    def hmgets() -> int:
        return int(client.info("commandstats").get("cmdstat_hmget", {}).get("calls", 0))

    before = hmgets()
    known.prefetch(asked)
    assert hmgets() == before + 1
    assert [known.get(url) for url in asked[:200]] == [states[url] for url in asked[:200]]
    assert "https://warta.example.id/baru" not in known
    assert hmgets() == before + 1  # every answer kept, the unknown one too
    assert known.get(list(states)[250]) == states[list(states)[250]]  # not prefetched: asked
    assert hmgets() == before + 2
    assert len(known) == 300


def test_a_writer_busy_longer_than_its_claim_lasts_keeps_it(
    redis_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The writer's end took longer than its claim lasted (packing the pages and merging the
    # search index: 17 s at a million articles), and it beat only between items: cron's next
    # call then got in, "resumed" the crawl being finished, and the two finished its runs. Its
    # heartbeat now beats from a thread of its own.
    from newsarchive.distributed.shared import WRITER_TTL
    from newsarchive.distributed.writer import SLOW_END

    db = tmp_path / "archive.db"
    url, client = _empty_database(redis_server, 14)
    monkeypatch.setenv(SLOW_END, str(WRITER_TTL + 4))
    with DemoServer(articles=4) as small:
        crawl = shared_crawl(small, db, url, "--workers", "1", *FAST)
        _until_done(client, crawl)
        time.sleep(WRITER_TTL + 1)
        assert crawl.poll() is None, "the writer's end was not slow"
        monkeypatch.delenv(SLOW_END)
        second = shared_crawl(small, db, url, "--workers", "1", *FAST)
        _, err = _finish(second)
        assert second.returncode == 75, err[-3000:]
        assert err.startswith(
            f"Error: {url}: another writer ({socket.gethostname()}:{crawl.pid} ("
        ), err
        out, err = _finish(crawl)
        assert crawl.returncode == 0, f"{out}\n{err[-3000:]}"
    runs = _query(db, "SELECT articles_new, finish_reason FROM crawl_runs")
    assert runs == [(4, "finished")], runs
    assert client.keys("newsarchive:*") == [k for k in client.keys("*") if b":done:" in k]


def test_a_stop_while_the_writer_opens_the_crawl_is_one_line_and_a_rerun_finishes_it(
    redis_server: str, tmp_path: Path
) -> None:
    # SIGTERM while the writer was still opening the crawl (here: waiting for another machine's
    # claim to lapse) ended it as a traceback (Stopped raised in open()), or silently before
    # that (fuzz_soak --shared, seed 313: Ctrl-C gave click's bare "Aborted!"). It is now kept
    # until the crawl is open, then stops it like any stop.
    from newsarchive.distributed.shared import WRITER_TTL

    url, client = _empty_database(redis_server, 15)
    db = tmp_path / "archive.db"
    client.set("newsarchive:writer", "4242@elsewhere.example", ex=WRITER_TTL)  # lapses soon
    with DemoServer(articles=4) as small:
        crawl = shared_crawl(small, db, url, "--workers", "1", *FAST)
        time.sleep(2)  # started, and waiting for the claim
        assert client.get("newsarchive:writer") == b"4242@elsewhere.example"
        crawl.send_signal(signal.SIGTERM)
        _, err = _finish(crawl)
        assert (crawl.returncode, err.splitlines()) == (
            1,
            ["Error: the shared crawl was stopped; run the same command again to continue it"],
        ), err[-3000:]
        again = shared_crawl(small, db, url, "--workers", "1", *FAST)
        out, err = _finish(again)
    assert again.returncode == 0, f"{out}\n{err[-3000:]}"
    assert "resuming the shared crawl" in err
    assert _query(db, "SELECT articles_new, finish_reason FROM crawl_runs") == [(4, "finished")]


def test_a_page_a_workers_spider_fails_on_is_a_failure_and_the_workers_error_line(
    server: DemoServer, redis_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spider callback raising in a worker of a shared crawl (a fault injected as
    tests/e2e/test_spider_errors.py does): the writer stores the page's failures row, and the
    worker, which ran the spider, ends with one `Error:` line and status 1."""
    url, _client = _empty_database(redis_server, 9)
    faults = str(Path(__file__).parent)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [faults, os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("NEWSARCHIVE_TEST_FAULT_ON", "/ekonomi/")
    middlewares = json.dumps({**SPIDER_MIDDLEWARES, "spider_faults.RaiseOnPage": 1100})
    db = tmp_path / "shared.db"
    external = _worker(url, tmp_path)
    crawl = shared_crawl(server, db, url, "--workers", "0", *FAST,
                         "-s", f"SPIDER_MIDDLEWARES={middlewares}")  # fmt: skip
    out, err = _finish(crawl)
    ext_out, ext_err = _finish(external)
    assert "Traceback" not in err + ext_err, (err + ext_err)[-3000:]
    assert external.returncode == 1, ext_out + ext_err[-3000:]
    errors = [line for line in ext_err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith("Error: demo: the spider failed on 1 page(s)")
    listing = f"{server.base_url}ekonomi/"
    assert _query(db, f"SELECT reason FROM failures WHERE url = '{listing}'") == [
        ("the spider failed on this page (RuntimeError: injected fault)",)
    ]
