"""Redis failing at the moments benchmarks/fuzz_shared.py found a shared crawl unprepared for,
made deterministic: a proxy between one process and a real redis-server (on 127.0.0.1) cuts the
connection when a given command goes by, and then refuses every new one (Redis gone for good).

What each process must do then: stop with one `Error:` line (or finish, when everything was
already stored), never print a traceback.

redis-server must be installed (apt-get install redis-server): without it these tests fail,
they are never skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from e2e_helpers import CLI, FAST, crawl_env, running_redis, shared_crawl

from newsarchive.demo import DemoServer
from newsarchive.distributed import shared

pytestmark = pytest.mark.e2e

TIMEOUT = 60


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory):
    with running_redis(tmp_path_factory.mktemp("redis")) as port:
        yield port


class CuttingProxy:
    """TCP proxy to Redis on 127.0.0.1 that cuts its clients off for good when `trigger` (bytes
    of a command as sent) first goes from a client to Redis: at once (the command never reaches
    Redis), or with `answered`, at that client's next command (the command and its answer go
    through). With `once`, only the connection carrying the command is closed (Redis answers
    the next one: what CLIENT KILL does to a command in flight). With `instead`, nothing is
    cut: `instead()` runs, then the command goes on."""

    def __init__(
        self,
        redis_port: int,
        trigger: bytes,
        *,
        answered: bool = False,
        once: bool = False,
        instead: Callable[[], None] | None = None,
    ) -> None:
        self.redis_port = redis_port
        self.trigger = trigger
        self.answered = answered
        self.once = once
        self.instead = instead
        self.seen = threading.Event()
        self.cut = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.cut.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut.is_set():
                client.close()
                return
            upstream = socket.create_connection(("127.0.0.1", self.redis_port))
            self.sockets += [client, upstream]
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._answers, args=(upstream, client), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        tail = b""
        armed = False
        while not self.cut.is_set():
            try:
                data = client.recv(65536)
            except OSError:
                data = b""
            if not data:  # the client closed this connection: so does the proxy
                for sock in (client, upstream):
                    sock.close()
                return
            if armed:
                break
            if self.trigger in tail + data and not self.seen.is_set():
                self.seen.set()
                if self.instead is not None:
                    self.instead()
                elif self.once:
                    for sock in (client, upstream):
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RDWR)
                        sock.close()
                    return
                elif self.answered:
                    armed = True
                else:
                    break
            tail = data[-len(self.trigger) :]
            try:
                upstream.sendall(data)
            except OSError:
                return
        self.cut_off()

    @staticmethod
    def _answers(upstream: socket.socket, client: socket.socket) -> None:
        while True:
            try:
                data = upstream.recv(65536)
                if not data:
                    return
                client.sendall(data)
            except OSError:
                return

    def cut_off(self) -> None:
        """Every connection closed, none accepted from now on."""
        self.cut.set()
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def _command(name: str) -> bytes:
    """A command's name as redis-py sends it (RESP), not as it appears in a script's source."""
    return f"${len(name)}\r\n{name}\r\n".encode()


def _one_error_line(stderr: str, url: str) -> None:
    assert "Traceback" not in stderr, stderr[-3000:]
    assert " ERROR: " not in stderr, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"Error: {url}: "), stderr[-3000:]


@pytest.mark.parametrize(
    "command",
    [
        # The crawler opening: how many URLs the archive already has (WorkerExtension).
        "HLEN",
        # Its start: whether another worker seeded the site already (SeedOnce).
        "SISMEMBER",
    ],
)
def test_a_worker_losing_redis_while_it_starts_stops_with_one_line(
    redis_port: int, tmp_path: Path, command: str
) -> None:
    """Before: a traceback per failed Redis call ("Error caught on signal handler",
    "Error while reading start items and requests"), then the Error line."""
    database = 1 if command == "HLEN" else 2
    client = redis.Redis(port=redis_port, db=database)
    client.flushdb()
    with DemoServer(articles=3) as server:
        config = {
            "id": uuid.uuid4().hex,
            "sites": ["demo"],
            "names": ["demo"],
            "base_url": server.base_url,
            "since": None,
            "site_name": None,
            "settings": dict(setting.split("=", 1) for setting in FAST[1::2]),
            "run_ids": {"demo": 1},
            "started": datetime.now(UTC).isoformat(),
        }
        client.hset("newsarchive:crawl", mapping={"id": config["id"], "config": json.dumps(config)})
        client.set("newsarchive:writer", "test@here", ex=TIMEOUT)
        proxy = CuttingProxy(redis_port, _command(command))
        url = f"redis://127.0.0.1:{proxy.port}/{database}"
        worker = subprocess.run(
            [*CLI, "worker", "--redis", url, "--wait", "5"],
            cwd=tmp_path,
            env=crawl_env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    assert proxy.cut.is_set(), f"no {command} went by:\n{worker.stderr[-3000:]}"
    assert worker.returncode == 1, worker.stderr[-3000:]
    _one_error_line(worker.stderr, url)


def test_a_writer_losing_redis_once_the_crawl_is_done_keeps_it_and_says_one_line(
    redis_port: int, tmp_path: Path
) -> None:
    """Redis gone right after the writer marked the crawl done (every item stored): before, a
    traceback from its last steps (waiting for the workers to leave, clearing the keys)."""
    database = 3
    redis.Redis(port=redis_port, db=database).flushdb()
    proxy = CuttingProxy(redis_port, b"newsarchive:done:", answered=True)
    url = f"redis://127.0.0.1:{proxy.port}/{database}"
    db = tmp_path / "archive.db"
    with DemoServer(articles=6) as server:
        writer = shared_crawl(server, db, url, "--workers", "0", *FAST)
        # The worker reaches Redis itself: only the writer loses it.
        worker = subprocess.Popen(
            [*CLI, "worker", "--redis", f"redis://127.0.0.1:{redis_port}/{database}"],
            cwd=tmp_path,
            env=crawl_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            out, err = writer.communicate(timeout=TIMEOUT)
            worker.communicate(timeout=TIMEOUT)
        finally:
            for proc in (writer, worker):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    assert proxy.cut.is_set(), f"the crawl never ended:\n{err[-3000:]}"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM articles").fetchone() == (6,)
    finally:
        conn.close()
    if writer.returncode == 0:
        assert "Traceback" not in err, err[-3000:]
    else:
        assert writer.returncode == 1, err[-3000:]
        _one_error_line(err, url)


@pytest.mark.parametrize("command", ["crawl", "worker"])
def test_joining_a_redis_that_refuses_writes_is_one_line(
    redis_port: int, tmp_path: Path, command: str
) -> None:
    """Redis out of memory (maxmemory reached, noeviction): its first write, the writer's
    heartbeat or the worker's, answers OOM, and keeps answering it past the crawl's Redis
    patience (1 s here). Before: a traceback (OutOfMemoryError) from the writer's open() and
    the worker's first heartbeat, which nothing caught."""
    database = 4 if command == "crawl" else 5
    client = redis.Redis(port=redis_port, db=database)
    client.flushdb()
    url = f"redis://127.0.0.1:{redis_port}/{database}"
    if command == "crawl":
        args = ["crawl", "demo", "--base-url", "http://127.0.0.1:9/", "--db", "archive.db"]
        args += ["--redis", url, "--workers", "0", *FAST]
    else:
        settings = dict(setting.split("=", 1) for setting in FAST[1::2])
        config = {"id": "oom", "sites": ["demo"], "settings": settings, "started": "2026-01-01"}
        client.hset("newsarchive:crawl", mapping={"id": "oom", "config": json.dumps(config)})
        args = ["worker", "--redis", url, "--wait", "1"]
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", "1")
    try:
        proc = subprocess.run(
            [*CLI, *args],
            cwd=tmp_path,
            env=crawl_env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    finally:
        client.config_set("maxmemory", "0")
        client.flushdb()
    assert proc.returncode == 1, proc.stderr[-3000:]
    _one_error_line(proc.stderr, url)
    assert "maxmemory" in proc.stderr, proc.stderr[-3000:]


@dataclass
class SharedRun:
    """A shared crawl of the demo portal: a writer, a worker through a CuttingProxy, and with
    `healthy`, a second worker straight to Redis that does what the first left undone."""

    through_proxy: subprocess.CompletedProcess[str]
    healthy: subprocess.CompletedProcess[str] | None
    writer: subprocess.CompletedProcess[str]
    archived: int

    def stderr(self) -> str:
        return "".join(p.stderr for p in (self.through_proxy, self.healthy, self.writer) if p)


def _crawl_through(
    proxy: CuttingProxy,
    redis_port: int,
    database: int,
    tmp_path: Path,
    *,
    articles: int,
    healthy: bool,
) -> SharedRun:
    url = f"redis://127.0.0.1:{redis_port}/{database}"
    db = tmp_path / "archive.db"
    second = None
    with DemoServer(articles=articles) as server:
        args = [*CLI, "crawl", "demo", "--base-url", server.base_url, "--db", str(db)]
        writer = subprocess.Popen(
            [*args, "--redis", url, "--workers", "0", *FAST],
            cwd=tmp_path,
            env=crawl_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            first = subprocess.run(
                [*CLI, "worker", "--redis", f"redis://127.0.0.1:{proxy.port}/{database}"],
                cwd=tmp_path,
                env=crawl_env(),
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
            assert proxy.seen.is_set(), f"the trigger never went by:\n{first.stderr[-3000:]}"
            if healthy:
                second = subprocess.run(
                    [*CLI, "worker", "--redis", url, "--wait", "5"],
                    cwd=tmp_path,
                    env=crawl_env(),
                    capture_output=True,
                    text=True,
                    timeout=TIMEOUT,
                )
            out, err = writer.communicate(timeout=TIMEOUT)
        finally:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
            proxy.cut_off()
    conn = sqlite3.connect(db)
    try:
        archived = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        conn.close()
    ended = subprocess.CompletedProcess(writer.args, writer.returncode, out, err)
    return SharedRun(first, second, ended, archived)


def test_a_site_whose_start_requests_did_not_reach_redis_is_not_marked_seeded(
    redis_port: int, tmp_path: Path
) -> None:
    """Redis goes while a worker seeds, right after the worker's seeding mark got its answer:
    queueing the start requests fails and the worker stops. Before, it marked the site seeded
    all the same, so with nothing queued and nothing leased the crawl was over: the writer
    finished it at once with nothing archived, and a healthy worker joining then had nothing to
    do (fuzz_shared.py seed 101, where Redis had lost its scripts: "finished" with 1 of 22
    articles; a lost script is loaded again now, test below)."""
    database = 6
    redis.Redis(port=redis_port, db=database).flushdb()
    # The worker's seeding mark in its lease hash: the start requests come right after it.
    proxy = CuttingProxy(redis_port, b"\r\ns\tdemo\r\n", answered=True)
    run = _crawl_through(proxy, redis_port, database, tmp_path, articles=5, healthy=True)
    assert "Traceback" not in run.stderr(), run.stderr()[-3000:]
    assert run.writer.returncode == 0, f"{run.writer.stdout}\n{run.stderr()[-3000:]}"
    assert run.archived == 5


@pytest.mark.parametrize("script", ["ACQUIRE", "SETTLE"])
def test_a_redis_that_lost_its_scripts_mid_crawl_is_given_them_again(
    redis_port: int, tmp_path: Path, script: str
) -> None:
    """Redis restarted with the crawl's data (RDB or AOF) but without the scripts it had loaded
    (or SCRIPT FLUSH) while a worker crawls: the worker's next pipelined script call (a
    politeness token, a lease settled) answers NOSCRIPT. Before, the worker stopped ("Redis
    connection lost (... NOSCRIPT ...)") and the crawl waited for another worker. Now the
    scripts are loaded again and the refused call sent again: one worker finishes the crawl,
    every article archived."""
    database = 9
    client = redis.Redis(port=redis_port, db=database)
    client.flushdb()
    sha = hashlib.sha1(getattr(shared, script).encode()).hexdigest().encode()
    proxy = CuttingProxy(redis_port, sha, instead=client.script_flush)
    run = _crawl_through(proxy, redis_port, database, tmp_path, articles=6, healthy=False)
    assert run.through_proxy.returncode == 0, run.stderr()[-3000:]
    assert "Traceback" not in run.stderr() and "NOSCRIPT" not in run.stderr(), run.stderr()
    assert run.writer.returncode == 0, f"{run.writer.stdout}\n{run.stderr()[-3000:]}"
    assert run.archived == 6


def test_a_redis_out_of_memory_for_a_while_is_waited_for(redis_port: int, tmp_path: Path) -> None:
    """Redis refuses writes for memory (maxmemory, noeviction) for a moment mid-crawl, as a
    worker settles a page: the refused call did not run, and is sent again until Redis takes
    it (the crawl's patience; the writer draining items frees memory). Before, the worker
    stopped at its first refused write ("Redis connection lost (... maxmemory ...)")."""
    database = 10
    client = redis.Redis(port=redis_port, db=database)
    client.flushdb()

    def full_for_a_while() -> None:
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", "1")
        threading.Timer(0.5, client.config_set, args=("maxmemory", "0")).start()

    sha = hashlib.sha1(shared.SETTLE.encode()).hexdigest().encode()
    proxy = CuttingProxy(redis_port, sha, instead=full_for_a_while)
    try:
        run = _crawl_through(proxy, redis_port, database, tmp_path, articles=6, healthy=False)
    finally:
        client.config_set("maxmemory", "0")
    assert run.through_proxy.returncode == 0, run.stderr()[-3000:]
    assert "Traceback" not in run.stderr() and "Error:" not in run.stderr(), run.stderr()
    assert "Redis is back" in run.through_proxy.stderr, run.stderr()[-3000:]
    assert run.writer.returncode == 0, f"{run.writer.stdout}\n{run.stderr()[-3000:]}"
    assert run.archived == 6


def test_a_connection_lost_in_a_spider_callback_loses_no_page(
    redis_port: int, tmp_path: Path
) -> None:
    """The connection of a worker is killed while a page's callback asks Redis what the archive
    has (SharedKnown's HMGET; CLIENT KILL, a failover) and Redis answers the next connection.
    Before: "Spider error processing" the page (a feed, sitemap or listing) with a traceback;
    its request then ended as done, its links never queued (the demo portal links its articles
    from other pages too, so none went missing here)."""
    database = 7
    redis.Redis(port=redis_port, db=database).flushdb()
    proxy = CuttingProxy(redis_port, _command("HMGET"), once=True)
    # Whatever the first worker left undone (it may stop: one line), the healthy one does.
    run = _crawl_through(proxy, redis_port, database, tmp_path, articles=8, healthy=True)
    cut = run.through_proxy
    assert "Traceback" not in cut.stderr and "Spider error" not in cut.stderr, cut.stderr[-3000:]
    assert (
        cut.returncode == 0
        or len([line for line in cut.stderr.splitlines() if line.startswith("Error: ")]) == 1
    ), cut.stderr[-3000:]
    assert run.writer.returncode == 0, f"{run.writer.stdout}\n{run.stderr()[-3000:]}"
    assert run.archived == 8


def test_the_leases_of_a_worker_missing_from_the_worker_set_come_back(
    redis_port: int, tmp_path: Path
) -> None:
    """The worker set deleted (DEL newsarchive:workers: a person cleaning up, a bad script) and a
    worker killed before its next heartbeat put it back: its leased requests are in Redis, but
    the writer looked for dead workers' leases, and for the end of the crawl, only through that
    set. Before: they never came back, and the crawl ended "finished" without their articles
    (fuzz_shared.py seed 506: 18 of 20)."""
    database = 8
    client = redis.Redis(port=redis_port, db=database)
    client.flushdb()
    url = f"redis://127.0.0.1:{redis_port}/{database}"
    db = tmp_path / "archive.db"
    articles = 12
    slow = ["-s", "DOWNLOAD_DELAY=0.2", "-s", "DOWNLOAD_DELAY_JITTER=0"]
    slow += ["-s", "NEWSARCHIVE_HEARTBEAT_TTL=1"]

    def leased_article(paths: set[str]) -> bool:
        for key in client.scan_iter(match="newsarchive:leases:*"):
            for name, value in client.hgetall(key).items():
                if not name.startswith(b"r\t"):  # a seeding mark, no request
                    continue
                request = pickle.loads(value.split(b"\n", 1)[1])
                if urlsplit(request["url"]).path in paths:
                    return True
        return False

    def worker() -> subprocess.Popen:
        return subprocess.Popen(
            [*CLI, "worker", "--redis", url, "--wait", "5"],
            cwd=tmp_path,
            env=crawl_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    with DemoServer(articles=articles) as server:
        paths = {article.path for article in server.portal.articles}
        writer = subprocess.Popen(
            [*CLI, "crawl", "demo", "--base-url", server.base_url, "--db", str(db)]
            + ["--redis", url, "--workers", "0", *FAST, *slow],
            cwd=tmp_path,
            env=crawl_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first = worker()
        try:
            deadline = time.monotonic() + TIMEOUT
            while not leased_article(paths) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert leased_article(paths), "the worker never held an article's request"
            first.send_signal(signal.SIGSTOP)  # no heartbeat puts it back in the set now
            client.delete("newsarchive:workers")
            first.kill()
            first.wait()
            second = worker()
            out, err = writer.communicate(timeout=TIMEOUT)
            second.communicate(timeout=TIMEOUT)
        finally:
            for proc in (writer, first):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    assert writer.returncode == 0, f"{out}\n{err[-3000:]}"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM articles").fetchone() == (articles,), out
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("command", "cut_at"),
    [
        # The worker waiting for the crawl to appear (wait_for_crawl's HGET).
        ("worker", "HGET"),
        # The worker, then the writer, loading the Lua scripts (Scripts).
        ("worker", "SCRIPT"),
        ("crawl", "SCRIPT"),
    ],
)
def test_redis_lost_right_after_the_first_ping_is_one_line(
    redis_port: int, tmp_path: Path, command: str, cut_at: str
) -> None:
    """Redis answers the PING that checks it, then goes (restarted, killed, failed over) before
    the process has joined the crawl. Before: a traceback from the worker's wait for the crawl
    (fuzz_shared.py seed 610) and from either process's script loading."""
    database = 9
    client = redis.Redis(port=redis_port, db=database)
    client.flushdb()
    config = {"id": "joining", "sites": ["demo"], "settings": {}, "started": "2026-01-01T00:00"}
    client.hset("newsarchive:crawl", mapping={"id": "joining", "config": json.dumps(config)})
    proxy = CuttingProxy(redis_port, _command(cut_at))
    url = f"redis://127.0.0.1:{proxy.port}/{database}"
    if command == "crawl":
        args = ["crawl", "demo", "--base-url", "http://127.0.0.1:9/", "--db", "archive.db"]
        args += ["--redis", url, "--workers", "0"]
    else:
        args = ["worker", "--redis", url, "--wait", "1"]
    proc = subprocess.run(
        [*CLI, *args],
        cwd=tmp_path,
        env=crawl_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proxy.cut.is_set(), f"no {cut_at} went by:\n{proc.stderr[-3000:]}"
    assert proc.returncode == 1, proc.stderr[-3000:]
    _one_error_line(proc.stderr, url)


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-ttl"])
def test_a_redis_that_evicts_keys_when_full_is_refused_in_one_line(
    redis_port: int, tmp_path: Path, policy: str
) -> None:
    """A Redis set up as a cache (a maxmemory, a policy that evicts) drops keys at random when
    full: the crawl lost its state part-way ("gone from Redis (was the server restarted or
    flushed?)") or, had the evicted keys been items or requests, pages without a word. The
    crawl is refused before anything is written; without a maxmemory the policy is harmless."""
    database = 11
    client = redis.Redis(port=redis_port, db=database)
    client.flushdb()
    url = f"redis://127.0.0.1:{redis_port}/{database}"
    db = tmp_path / "archive.db"
    client.config_set("maxmemory-policy", policy)
    try:
        with DemoServer(articles=4) as server:
            client.config_set("maxmemory", "512mb")
            refused = shared_crawl(server, db, url, "--workers", "1", *FAST)
            out, err = refused.communicate(timeout=TIMEOUT)
            assert refused.returncode == 1, f"{out}\n{err}"
            assert err.splitlines() == [
                f"Error: {url}: Redis evicts keys when full (maxmemory 512.00M, "
                f"maxmemory-policy {policy}), which would lose the crawl's at random: set "
                "maxmemory-policy noeviction, or use a Redis without maxmemory"
            ]
            assert not db.exists() and client.dbsize() == 0
            client.config_set("maxmemory", "0")
            crawl = shared_crawl(server, db, url, "--workers", "1", *FAST)
            out, err = crawl.communicate(timeout=TIMEOUT)
    finally:
        client.config_set("maxmemory", "0")
        client.config_set("maxmemory-policy", "noeviction")
    assert crawl.returncode == 0, f"{out}\n{err[-3000:]}"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 4
