"""Shared-crawl benchmark: articles/s with 1, 2 and 3 workers through Redis, next to one process.

    python benchmarks/bench_shared_crawl.py                  # 2,000 articles, 1/2/3 workers
    python benchmarks/bench_shared_crawl.py --articles 5000 --workers 1 2 3 4 --profile

1. Serves the demo portal generator's site with N articles in its own process (127.0.0.1), and a
   redis-server on a free port (no persistence).
2. Crawls it with one process (`newsarchive crawl demo`), then shared with 1, 2, 3... workers
   (`newsarchive crawl demo --redis URL --workers 0` is the writer; the benchmark starts the
   `newsarchive worker` processes itself, as other machines would), each into a fresh archive,
   politeness off (loopback).
3. Reports articles/s by wall time (start of the command to the last article stored and the
   command's end, worker start-up included) and the ratio to the one-process crawl, and the CPU
   seconds each part used (sampled from /proc: writer, each worker with its extraction process,
   redis-server), which says where the limit is. `--profile` also runs the writer and the
   workers under cProfile and prints their top functions.
"""

from __future__ import annotations

import argparse
import cProfile  # noqa: F401  (documents that the profiles are cProfile's)
import os
import pstats
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

FAST = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "32",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "32",
    "LOG_LEVEL": "WARNING",
    "NEWSARCHIVE_PROGRESS": "False",
}
CLI = [sys.executable, "-c", "from newsarchive.cli import cli; cli()"]
TICKS = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CpuSampler:
    """CPU seconds per process tree, sampled from /proc (children of the roots included, e.g. a
    worker's extraction process), so processes that end between samples lose < 0.2 s."""

    def __init__(self, roots: dict[int, str]) -> None:
        self.roots = dict(roots)
        self.cpu: dict[int, float] = {}
        self.owner: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def add(self, pid: int, label: str) -> None:
        self.roots[pid] = label

    def _children(self, pid: int) -> list[int]:
        try:
            return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def _sample(self) -> None:
        for root, label in list(self.roots.items()):
            todo = [root]
            while todo:
                pid = todo.pop()
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self.cpu[pid] = (int(fields[11]) + int(fields[12])) / TICKS
                self.owner[pid] = label
                todo.extend(self._children(pid))

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def start(self) -> CpuSampler:
        self._thread.start()
        return self

    def stop(self) -> dict[str, float]:
        self._sample()
        self._stop.set()
        self._thread.join()
        totals: dict[str, float] = defaultdict(float)
        for pid, seconds in self.cpu.items():
            totals[self.owner[pid]] += seconds
        return dict(totals)


def _settings_args() -> list[str]:
    out = []
    for name, value in FAST.items():
        out += ["-s", f"{name}={value}"]
    return out


def _articles(stdout: str) -> int:
    return int(stdout.split("articles ")[1].split(" new")[0])


def one_process(base: str, tmp: Path) -> tuple[int, float, float]:
    db = tmp / "one.db"
    cmd = [*CLI, "crawl", "demo", "--base-url", base, "--db", str(db), *_settings_args()]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = CpuSampler({proc.pid: "crawl"}).start()
    out, err = proc.communicate()
    wall = time.monotonic() - start
    cpu = sum(sampler.stop().values())
    if proc.returncode != 0:
        raise SystemExit(f"one-process crawl failed:\n{out}\n{err[-3000:]}")
    return _articles(out), wall, cpu


def _redis_counts(port: int) -> tuple[int, int]:
    """Redis's (commands processed, socket reads): how much the crawl asked of it; the reads
    are about the round trips (a pipeline is one read when it fits in one packet)."""
    import redis

    info = redis.Redis(port=port).info("stats")
    return int(info["total_commands_processed"]), int(info.get("total_reads_processed", 0))


def shared(
    base: str, tmp: Path, url: str, workers: int, redis_pid: int, profile: bool
) -> tuple[int, float, dict[str, float], list[Path]]:
    db = tmp / f"shared-{workers}.db"
    prof = [sys.executable, "-m", "cProfile", "-o"]
    profiles: list[Path] = []
    writer_cmd = ["crawl", "demo", "--base-url", base, "--db", str(db), "--redis", url]
    writer_cmd += ["--workers", "0", *_settings_args()]
    if profile:
        profiles.append(tmp / f"writer-{workers}.prof")
        cmd = [*prof, str(profiles[-1]), "-m", "newsarchive", *writer_cmd]
    else:
        cmd = [*CLI, *writer_cmd]
    start = time.monotonic()
    writer = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = CpuSampler({writer.pid: "writer", redis_pid: "redis-server"}).start()
    procs = []
    for number in range(workers):
        worker_cmd = ["worker", "--redis", url]
        if profile:
            profiles.append(tmp / f"worker-{workers}-{number + 1}.prof")
            cmd = [*prof, str(profiles[-1]), "-m", "newsarchive", *worker_cmd]
        else:
            cmd = [*CLI, *worker_cmd]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        sampler.add(proc.pid, f"worker {number + 1}")
        procs.append(proc)
    out, err = writer.communicate()
    wall = time.monotonic() - start
    for proc in procs:
        proc.wait()
    cpu = sampler.stop()
    if writer.returncode != 0:
        raise SystemExit(f"shared crawl ({workers} workers) failed:\n{out}\n{err[-3000:]}")
    return _articles(out), wall, cpu, profiles


def _top(path: Path, limit: int = 10) -> None:
    if not path.exists():
        print(f"  (no profile written: {path.name})")
        return
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime")
    print(f"--- {path.name}: top functions by own time")
    width = stats.total_tt or 1
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:limit]
    for (filename, line, name), (_cc, _nc, tt, _ct, _callers) in rows:
        short = "/".join(Path(filename).parts[-2:])
        print(f"  {tt:7.2f}s {100 * tt / width:5.1f}%  {name} ({short}:{line})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--profile", action="store_true", help="cProfile writer and workers")
    parser.add_argument("--keep", action="store_true", help="keep the temporary files")
    args = parser.parse_args()
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")

    tmp = Path(tempfile.mkdtemp(prefix="bench-shared-"))
    url_file = tmp / "url"
    server = subprocess.Popen(
        [sys.executable, "-m", "newsarchive.demo.server", "--articles", str(args.articles)]
        + ["--url-file", str(url_file)],
        stdout=subprocess.DEVNULL,
    )
    port = _free_port()
    redis_proc = subprocess.Popen(
        [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        + ["--appendonly", "no"],
        cwd=tmp,
        stdout=subprocess.DEVNULL,
    )
    os.environ.setdefault("NEWSARCHIVE_CONTACT", "https://example.org/newsarchive-bench")
    try:
        deadline = time.monotonic() + 120
        while not url_file.exists() or not url_file.read_text().strip():
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the portal server did not start")
            time.sleep(0.1)
        base = url_file.read_text().strip()
        print(
            f"portal: {args.articles} articles at {base}; redis on port {port}; "
            f"{os.cpu_count()} cores"
        )
        with open("/proc/loadavg") as f:
            print(f"load average before: {' '.join(f.read().split()[:3])} (other processes skew)")
        new, wall, one_cpu = one_process(base, tmp)
        base_rate = new / wall
        print(
            f"one process : {new} articles in {wall:6.2f}s wall = {base_rate:6.1f} articles/s "
            f"| CPU s: {one_cpu:.1f} = {1000 * one_cpu / new:.1f} ms/article"
        )
        for n in args.workers:
            url = f"redis://127.0.0.1:{port}/{n % 16}"
            commands, reads = _redis_counts(port)
            new_n, wall_n, cpu, profiles = shared(base, tmp, url, n, redis_proc.pid, args.profile)
            commands_n, reads_n = _redis_counts(port)
            rate = new_n / wall_n
            parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(cpu.items()))
            total = sum(cpu.values())
            print(
                f"{n} worker{'s' if n > 1 else ' '}   : {new_n} articles in {wall_n:6.2f}s wall = "
                f"{rate:6.1f} articles/s = {rate / base_rate:.2f}x one process | CPU s: {parts} "
                f"| total {total:.1f} = {1000 * total / new_n:.1f} ms/article, of "
                f"{wall_n * (os.cpu_count() or 1):.1f} available | Redis per article: "
                f"{(commands_n - commands) / new_n:.1f} commands, {(reads_n - reads) / new_n:.1f} "
                "reads (~round trips)"
            )
            if args.profile:
                for path in profiles[:2]:
                    _top(path)
    finally:
        server.terminate()
        redis_proc.terminate()
        server.wait()
        redis_proc.wait()
        if args.keep or args.profile:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
