"""Shared crawls through a Redis that misbehaves: random faults at random moments.

    python benchmarks/fuzz_shared.py --cases 30 --seed 1
    python benchmarks/fuzz_shared.py --cases 10 --seed 400 --faults client_kill,oom

Each case starts a redis-server of its own (a free port on 127.0.0.1, its own directory) and a
demo portal (15-30 articles), runs `newsarchive crawl demo --redis URL --workers 1` with one more
`newsarchive worker` beside it, and meanwhile injects one to three faults, each at a random
moment: every client connection killed, Redis paused (CLIENT PAUSE, DEBUG SLEEP, SIGSTOP), Redis
restarted without its data, with it (SHUTDOWN SAVE) or from an older snapshot (BGSAVE, then
kill -9; or its AOF, then kill -9), writes refused (maxmemory 1mb, noeviction), FLUSHALL, one of
the crawl's keys deleted, a worker killed (SIGKILL) and another one started.

The crawl must then either finish with every article archived, or stop with one `Error:` line
(exit 1) having lost nothing it archived; in both cases a second plain shared crawl, Redis
healthy again, must bring the archive to every article. A failure is: a process still running
past the timeout (a hang: which ones, and what they last printed), a traceback, a "Spider
error" or ERROR line, a line nobody should print (an error of more than one line), an exit
status other than 0 or 1, `newsarchive verify` unhappy, an article stored twice, a run row
"finished" (or exit 0) with articles missing, or a second crawl that does not complete the
archive. The logs of a failing case, or of a crawl that did not exit 0, are kept under --out.

Not a test (random, 10-45 s a case). The crawls run the `newsarchive` the processes import: to
fuzz a fixed version while the checkout changes, export it (`git archive HEAD newsarchive | tar
-x -C DIR`) and run with PYTHONPATH=DIR. First runs (2026-12-06, 97 cases): tracebacks from a
worker whose Redis failed while it started (its crawler opening, its seeding, its first
heartbeat, its wait for the crawl) or in a callback (SharedKnown), from a writer whose Redis
failed in open() or after the crawl was over; a worker whose start requests never reached Redis
(NOSCRIPT after a restart) marked its site seeded, and the crawl "finished" with 0-8 of 22
articles; the worker set deleted and a worker killed: "finished" with 18 of 20
(tests/e2e/test_shared_faults_found.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from newsarchive.demo import DemoServer

CLI = [sys.executable, "-m", "newsarchive"]
PREFIX = "newsarchive:"
# Slow enough that a crawl lasts several seconds, so the faults land in its middle.
CRAWL_SETTINGS = [
    *("-s", "DOWNLOAD_DELAY=0.08", "-s", "DOWNLOAD_DELAY_JITTER=0"),
    *("-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"),
    # A dead worker's leases come back in 3 s (15 by default); workers whose writer stopped
    # give up after 10 s (300 by default): a case lasts seconds, not minutes.
    *("-s", "NEWSARCHIVE_HEARTBEAT_TTL=3", "-s", "NEWSARCHIVE_WRITER_PATIENCE=10"),
]
FIRST_TIMEOUT = 150.0
SECOND_TIMEOUT = 120.0
# A line of a crawl's or a worker's stderr that is fine to see: the command's one Error line,
# warnings (the writer's, Scrapy's), the workers' summaries.
LOG_LINE = re.compile(
    r"^(Error: |WARNING: |INFO: |worker \S+: |demo: "
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[[^\]]+\] (WARNING|INFO): )"
)
BAD_WORDS = ("Traceback", "Spider error", "ERROR")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def crawl_env() -> dict[str, str]:
    env = {**os.environ, "NEWSARCHIVE_CONTACT": "https://example.org/fuzz-shared"}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class RedisServer:
    """A redis-server of the case's own, which the faults stop, pause and restart."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.dir / "redis.log"

    def start(self, *, appendonly: bool = False) -> None:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        cmd += ["--dir", str(self.dir), "--dbfilename", "dump.rdb", "--save", ""]
        cmd += ["--appendonly", "yes" if appendonly else "no", "--enable-debug-command", "yes"]
        cmd += ["--logfile", str(self.log)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().ping()
                return
            except redis.BusyLoadingError:
                pass
            except redis.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on {self.port}") from None
            time.sleep(0.05)

    def client(self, timeout: float = 5.0) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=timeout, socket_connect_timeout=timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a stopped process does not die of SIGKILL late
            self.proc.kill()
            self.proc.wait()

    def forget_data(self) -> None:
        for name in ("dump.rdb", "appendonlydir"):
            path = self.dir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    def heal(self) -> None:
        """Redis as a second crawl needs it: running, answering, taking writes."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        self.proc.send_signal(signal.SIGCONT)
        client = self.client(timeout=30)
        client.execute_command("CLIENT", "UNPAUSE")
        client.config_set("maxmemory", "0")


@dataclass
class Case:
    seed: int
    tmp: Path
    server: DemoServer
    redis: RedisServer
    db: Path
    writer: subprocess.Popen[bytes] | None = None
    second: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    worker_logs: list[Path] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    killed: set[int] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)

    def start_worker(self) -> None:
        log = self.tmp / f"worker-{len(self.workers)}.log"
        with log.open("wb") as sink:
            self.workers.append(
                subprocess.Popen(
                    [*CLI, "worker", "--redis", self.redis.url, "--wait", "20"],
                    cwd=self.tmp,
                    env=crawl_env(),
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        self.worker_logs.append(log)

    def local_workers(self) -> list[int]:
        """The `newsarchive worker` processes the writer started (Linux /proc)."""
        if self.writer is None or self.writer.poll() is not None:
            return []
        path = Path(f"/proc/{self.writer.pid}/task/{self.writer.pid}/children")
        with contextlib.suppress(OSError):
            return [int(pid) for pid in path.read_text().split()]
        return []


# --- faults ------------------------------------------------------------------------------------


def fault_client_kill(case: Case, rng: random.Random) -> str:
    killed = case.redis.client().execute_command(
        "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"
    )
    return f"CLIENT KILL TYPE normal ({killed} connections)"


def fault_client_pause(case: Case, rng: random.Random) -> str:
    ms = rng.randint(300, 7000)
    case.redis.client().execute_command("CLIENT", "PAUSE", ms)
    return f"CLIENT PAUSE {ms}"


def fault_debug_sleep(case: Case, rng: random.Random) -> str:
    seconds = round(rng.uniform(0.3, 6), 1)
    with contextlib.suppress(redis.RedisError):
        case.redis.client(timeout=seconds + 10).execute_command("DEBUG", "SLEEP", seconds)
    return f"DEBUG SLEEP {seconds}"


def fault_sigstop(case: Case, rng: random.Random) -> str:
    seconds = round(rng.uniform(0.5, 9), 1)
    assert case.redis.proc is not None
    case.redis.proc.send_signal(signal.SIGSTOP)
    case.stop.wait(seconds)
    case.redis.proc.send_signal(signal.SIGCONT)
    return f"SIGSTOP redis-server for {seconds}s"


def fault_restart_empty(case: Case, rng: random.Random) -> str:
    down = round(rng.uniform(0, 3), 1)
    case.redis.kill()
    case.redis.forget_data()
    case.stop.wait(down)
    case.redis.start()
    return f"redis-server restarted without its data (down {down}s)"


def fault_restart_saved(case: Case, rng: random.Random) -> str:
    down = round(rng.uniform(0, 3), 1)
    with contextlib.suppress(redis.ConnectionError):
        case.redis.client(timeout=30).shutdown(save=True)
    assert case.redis.proc is not None
    case.redis.proc.wait()
    case.stop.wait(down)
    case.redis.start()
    return f"redis-server SHUTDOWN SAVE, restarted with its RDB (down {down}s)"


def fault_restart_old_snapshot(case: Case, rng: random.Random) -> str:
    later = round(rng.uniform(0.1, 3), 1)
    client = case.redis.client()
    client.bgsave()
    while client.info("persistence")["rdb_bgsave_in_progress"]:
        time.sleep(0.02)
    case.stop.wait(later)
    case.redis.kill()
    case.redis.start()
    return f"redis-server kill -9 {later}s after a BGSAVE, restarted with that RDB"


def fault_restart_aof(case: Case, rng: random.Random) -> str:
    later = round(rng.uniform(0.1, 3), 1)
    client = case.redis.client()
    client.config_set("appendonly", "yes")
    while True:
        info = client.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            break
        time.sleep(0.02)
    case.stop.wait(later)
    case.redis.kill()
    (case.redis.dir / "dump.rdb").unlink(missing_ok=True)
    case.redis.start(appendonly=True)
    return f"redis-server kill -9 {later}s after turning AOF on (everysec), restarted with it"


def fault_oom(case: Case, rng: random.Random) -> str:
    seconds = round(rng.uniform(0.5, 8), 1)
    client = case.redis.client()
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", "1mb")
    case.stop.wait(seconds)
    with contextlib.suppress(redis.ConnectionError):
        case.redis.client().config_set("maxmemory", "0")
    return f"maxmemory 1mb noeviction for {seconds}s"


def fault_flushall(case: Case, rng: random.Random) -> str:
    case.redis.client().flushall()
    return "FLUSHALL"


def fault_delete_key(case: Case, rng: random.Random) -> str:
    client = case.redis.client()
    keys = sorted(k.decode() for k in client.scan_iter(match=PREFIX + "*", count=1000))
    if not keys:
        return "DEL of a crawl key: none found"
    key = rng.choice(keys)
    client.delete(key)
    return f"DEL {key}"


def fault_kill_worker(case: Case, rng: random.Random) -> str:
    external = [p.pid for p in case.workers if p.poll() is None]
    local = case.local_workers()
    choices = [("external", pid) for pid in external] + [("local", pid) for pid in local]
    if not choices:
        case.start_worker()
        return "kill a worker: none running; another one started"
    kind, pid = rng.choice(choices)
    case.killed.add(pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    case.start_worker()
    return f"SIGKILL {kind} worker {pid}; another one started"


FAULTS: dict[str, Callable[[Case, random.Random], str]] = {
    "client_kill": fault_client_kill,
    "client_pause": fault_client_pause,
    "debug_sleep": fault_debug_sleep,
    "sigstop": fault_sigstop,
    "restart_empty": fault_restart_empty,
    "restart_saved": fault_restart_saved,
    "restart_old_snapshot": fault_restart_old_snapshot,
    "restart_aof": fault_restart_aof,
    "oom": fault_oom,
    "flushall": fault_flushall,
    "delete_key": fault_delete_key,
    "kill_worker": fault_kill_worker,
}


def inject(case: Case, rng: random.Random, names: list[str], moments: list[float]) -> None:
    started = time.monotonic()
    for name, moment in zip(names, moments, strict=True):
        if case.stop.wait(max(0.0, started + moment - time.monotonic())):
            return
        at = time.monotonic() - started
        try:
            said = FAULTS[name](case, rng)
        except Exception as exc:  # the fault itself failed (Redis already down): said so
            said = f"{name} failed: {type(exc).__name__}: {exc}"
        case.faults.append(f"{at:5.1f}s {said}")


# --- checks ------------------------------------------------------------------------------------


def archived(db: Path) -> tuple[int, int]:
    """(articles, distinct URLs) in the archive."""
    if not db.exists():
        return 0, 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*), count(DISTINCT url) FROM articles").fetchone()
    except sqlite3.OperationalError:
        return 0, 0
    finally:
        conn.close()


def output_problems(text: str, what: str) -> list[str]:
    """What is wrong in a process's output: each traceback as one line (the last frame in
    newsarchive's code and the exception), bad lines, lines nobody should print."""
    problems: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("Traceback"):
            frame, i = "", i + 1
            while i < len(lines) and (lines[i].startswith(" ") or not lines[i].strip()):
                if "/newsarchive/" in lines[i] and "site-packages" not in lines[i]:
                    frame = lines[i].strip().split("/newsarchive/")[-1].replace('", line', ":")
                i += 1
            exception = lines[i].strip() if i < len(lines) else "?"
            problems.append(f"{what}: traceback at {frame or '?'}: {exception[:200]}")
        elif line.startswith(("During handling", "The above exception")):
            pass
        elif any(word in line for word in BAD_WORDS):
            problems.append(f"{what}: {line[:300]}")
        elif line.strip() and not LOG_LINE.match(line):
            problems.append(f"{what}: unexpected line: {line[:300]}")
        i += 1
    return list(dict.fromkeys(problems))


def exit_problems(status: int | None, text: str, what: str) -> list[str]:
    if status == 0:
        return []
    if status == 1:
        said = [line for line in text.splitlines() if line.startswith("Error: ")]
        return [] if said else [f"{what}: exit 1 without an Error line"]
    return [f"{what}: exit status {status}"]


def first_run_reason(db: Path) -> str | None:
    """How the archive's first run row says that run ended."""
    if not db.exists():
        return None
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT finish_reason FROM crawl_runs ORDER BY id LIMIT 1").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return row[0] if row else None


def masked(line: str) -> str:
    """`line` without what changes from case to case (ports, directories)."""
    return re.sub(r"127\.0\.0\.1:\d+|/tmp/\S+", "...", line)


def last_lines(path: Path, n: int = 5) -> str:
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    return " | ".join(lines[-n:]) or "(nothing)"


def process_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1]
    except (OSError, IndexError):
        return False
    return not state.startswith("Z")


def verify(db: Path) -> list[str]:
    if not db.exists():
        return []
    proc = subprocess.run(
        [*CLI, "verify", "--db", str(db)],
        cwd=db.parent,
        capture_output=True,
        text=True,
        env=crawl_env(),
    )
    if proc.returncode != 0:
        return [f"verify: exit {proc.returncode}: {(proc.stdout + proc.stderr)[-500:]}"]
    return []


def run_crawl(case: Case, log: Path, workers: int) -> subprocess.Popen[bytes]:
    cmd = [*CLI, "crawl", "demo", "--base-url", case.server.base_url, "--db", str(case.db)]
    cmd += ["--redis", case.redis.url, "--workers", str(workers), *CRAWL_SETTINGS]
    with log.open("wb") as sink:
        return subprocess.Popen(
            cmd,
            cwd=case.tmp,
            env=crawl_env(),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@dataclass
class Outcome:
    seed: int
    faults: list[str]
    first: str
    problems: list[str]
    articles: int
    after_first: int
    after_second: int | None
    said: list[str] = field(default_factory=list)


def run_case(seed: int, keep: Path, faults: list[str]) -> Outcome:
    rng = random.Random(seed)
    names = rng.choices(faults, k=rng.randint(1, 3))
    moments = sorted(rng.uniform(0.3, 6) for _ in names)
    problems: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="fuzz_shared-") as tmp_name,
        DemoServer(articles=rng.randint(15, 30), seed=seed) as server,
    ):
        tmp = Path(tmp_name)
        case = Case(seed, tmp, server, RedisServer(tmp / "redis"), tmp / "archive.db")
        expected = len(server.portal.articles)
        try:
            case.redis.start()
            first_log = tmp / "crawl-1.log"
            case.writer = run_crawl(case, first_log, workers=1)
            case.start_worker()
            injector = threading.Thread(
                target=inject, args=(case, rng, names, moments), daemon=True
            )
            injector.start()
            deadline = time.monotonic() + FIRST_TIMEOUT
            while case.writer.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            if case.writer.poll() is None:
                alive = [f"writer {case.writer.pid}"] + [
                    f"local worker {pid}" for pid in case.local_workers()
                ]
                problems.append(
                    f"hang: after {FIRST_TIMEOUT:.0f}s still running: {', '.join(alive)}; "
                    f"their log ends: {last_lines(first_log)}"
                )
                kill_group(case.writer)
            case.stop.set()
            injector.join(timeout=60)
            # Workers outlive a writer that stopped: they give up after the writer patience.
            deadline = time.monotonic() + 40
            for proc, log in zip(case.workers, case.worker_logs, strict=True):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                if proc.poll() is None:
                    problems.append(f"hang: worker {proc.pid} still running: {last_lines(log)}")
                    kill_group(proc)
            first_text = first_log.read_text(errors="replace")
            status = case.writer.returncode
            first = f"exit {status}"
            said = [line for line in first_text.splitlines() if line.startswith("Error: ")]
            if said:
                first += f" ({masked(said[-1])[:160]})"
            if not problems:
                problems += exit_problems(status, first_text, "crawl")
            problems += output_problems(first_text, "crawl")
            errors = [line for line in first_text.splitlines() if line.startswith("Error: ")]
            for proc, log in zip(case.workers, case.worker_logs, strict=True):
                text = log.read_text(errors="replace")
                errors += [line for line in text.splitlines() if line.startswith("Error: ")]
                if proc.pid not in case.killed:
                    problems += exit_problems(proc.returncode, text, f"worker {proc.pid}")
                problems += output_problems(text, f"worker {proc.pid}")
            problems += verify(case.db)
            count, distinct = archived(case.db)
            if count != distinct:
                problems.append(f"{count - distinct} articles stored twice")
            reason = first_run_reason(case.db)
            first += f", run {reason}"
            if (status == 0 or reason == "finished") and count < expected:
                problems.append(
                    f"finished (exit {status}, run {reason}) with {count}/{expected} articles"
                )
            second_count = None
            if count < expected or status != 0:
                # Redis healthy again: the same command must bring the archive to every article.
                try:
                    case.redis.heal()
                except (redis.RedisError, RuntimeError) as exc:
                    problems.append(f"could not heal Redis for the second crawl: {exc}")
                second_log = tmp / "crawl-2.log"
                case.second = second = run_crawl(case, second_log, workers=2)
                try:
                    second.wait(timeout=SECOND_TIMEOUT)
                except subprocess.TimeoutExpired:
                    problems.append(f"second crawl hang: its log ends: {last_lines(second_log)}")
                    kill_group(second)
                text = second_log.read_text(errors="replace")
                if second.returncode != 0:
                    problems.append(
                        f"second crawl: exit {second.returncode}: {last_lines(second_log)}"
                    )
                problems += output_problems(text, "second crawl")
                problems += verify(case.db)
                second_count, distinct = archived(case.db)
                if second_count != distinct:
                    problems.append(
                        f"second crawl: {second_count - distinct} articles stored twice"
                    )
                if second_count < expected:
                    problems.append(f"second crawl: {second_count}/{expected} articles")
                if second_count < count:
                    problems.append(
                        f"articles lost: {count} before the second crawl, {second_count}"
                    )
        finally:
            case.stop.set()
            for proc in (case.writer, case.second, *case.workers):
                if proc is not None and proc.poll() is None:
                    kill_group(proc)
            case.redis.kill()
        if problems or status != 0:
            target = keep / f"case-{seed}"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(tmp, target, ignore=shutil.ignore_patterns("*.db*", "dump.rdb"))
            (target / "faults.txt").write_text("\n".join(case.faults) + "\n")
        said = [masked(line) for line in errors]
        return Outcome(seed, case.faults, first, problems, expected, count, second_count, said=said)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=12, help="how many cases (default 12)")
    ap.add_argument("--seed", type=int, default=1, help="the first case's seed")
    ap.add_argument("--out", type=Path, default=Path("/tmp/fuzz_shared"), help="failing logs")
    ap.add_argument(
        "--faults",
        default=",".join(FAULTS),
        help=f"the faults to draw from, comma-separated (default: all: {', '.join(FAULTS)})",
    )
    args = ap.parse_args()
    faults = args.faults.split(",")
    if unknown := set(faults) - set(FAULTS):
        ap.error(f"unknown faults: {', '.join(sorted(unknown))}")
    if shutil.which("redis-server") is None:
        print("redis-server is not installed (apt-get install redis-server)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    # Killed (kill PID): each case's finally still stops its processes and its redis-server.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(f"stopped by signal {signum}"))
    failed = 0
    for seed in range(args.seed, args.seed + args.cases):
        started = time.monotonic()
        outcome = run_case(seed, args.out, faults)
        counts = f"{outcome.after_first}/{outcome.articles}"
        if outcome.after_second is not None:
            counts += f", then {outcome.after_second}/{outcome.articles}"
        print(
            f"seed {seed}: {outcome.first}; articles {counts}; {time.monotonic() - started:.0f}s",
            flush=True,
        )
        for fault in outcome.faults:
            print(f"    {fault}", flush=True)
        for line, n in Counter(outcome.said).items():
            print(f"    said{f' ({n}x)' if n > 1 else ''}: {line[:200]}", flush=True)
        if outcome.problems:
            failed += 1
            for problem in outcome.problems:
                print(f"  FAIL {problem}", flush=True)
        if outcome.problems or not outcome.first.startswith("exit 0"):
            print(f"  logs: {args.out / f'case-{seed}'}", flush=True)
    print(f"{args.cases} cases, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
