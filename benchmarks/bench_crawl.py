"""Crawl benchmark: a large generated portal on loopback, politeness off.

    python benchmarks/bench_crawl.py                 # 5,000 articles
    python benchmarks/bench_crawl.py --articles 2000 --workers 0

1. Serves the demo portal generator's site with N articles in its own process (127.0.0.1).
2. Crawls it with the real thing (`newsarchive crawl demo`: spider + extract + validate + store into
   a fresh archive) and times it.
3. Runs a bare Scrapy spider that only fetches the very pages the real crawl fetched (read from the
   server's request log), with the same concurrency, and times it.

Reports articles/s end to end next to the bare spider's pages/s, and the ratio of the two crawl
times (same pages, so the ratio is the share of the bare speed the full pipeline keeps).
Each crawl runs in its own process; times are Scrapy's own elapsed time (engine start to close),
and the process wall time, which adds interpreter and Scrapy start-up, is shown beside it.
The two alternate `--rounds` times (a shared machine: other jobs' load falls on both alike) and
the medians are compared. Beside the times: CPU seconds of the crawl process (the one that sets
the pace) and of all its processes, and peak RSS, sampled from /proc every 0.1 s.

    python benchmarks/bench_crawl.py --memory 50000  # peak RSS at 5,000 and at 50,000 articles
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# Politeness off (our own loopback server), the same for both crawls.
FAST = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "32",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "32",
    "LOG_LEVEL": "WARNING",
    "NEWSARCHIVE_PROGRESS": "False",
}

BARE_SPIDER = r"""
import json, sys
import scrapy
from scrapy.crawler import CrawlerProcess

urls = [line.strip() for line in open(sys.argv[1]) if line.strip()]
settings = json.loads(sys.argv[2])

class Bare(scrapy.Spider):
    name = "bare"
    async def start(self):
        for url in urls:
            yield scrapy.Request(url, dont_filter=True)
    def parse(self, response):
        pass

process = CrawlerProcess({**settings, "ROBOTSTXT_OBEY": False, "TELNETCONSOLE_ENABLED": False,
                          "REMOTE_CONTROL_ENABLED": False, "RETRY_ENABLED": False})
crawler = process.create_crawler(Bare)
process.crawl(crawler)
process.start()
stats = crawler.stats.get_stats()
print(json.dumps({"pages": stats.get("response_received_count", 0),
                  "elapsed": stats.get("elapsed_time_seconds")}))
"""


class ProcessWatch:
    """Samples a process and its descendants (the crawl's forkserver, extraction worker and
    writer) every `interval` seconds from /proc: peak RSS of the crawl process and of the whole
    tree, and CPU seconds (the last sample before each process ended)."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_main = self.peak_tree = 0
        self.cpu: dict[int, float] = {}
        # Per process: its name (workers name themselves: na-extract-1, na-writer) and peak RSS.
        self.names: dict[int, str] = {}
        self.peak: dict[int, int] = {}
        # (seconds since the start, pid, RSS) of every sample: when in the crawl a peak came.
        self.samples: list[tuple[float, int, int]] = []
        self.started = time.monotonic()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    @staticmethod
    def children(pid: int) -> list[int]:
        found = []
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                found += [int(c) for c in task.read_text().split()]
        return found

    def tree(self) -> list[int]:
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo += self.children(pid)
        return pids

    def run(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        page = os.sysconf("SC_PAGE_SIZE")
        while not self.done.wait(self.interval):
            total = 0
            for pid in self.tree():
                try:
                    rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except (OSError, IndexError, ValueError):
                    continue
                self.cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
                with contextlib.suppress(OSError):  # a worker names itself once it runs
                    self.names[pid] = Path(f"/proc/{pid}/comm").read_text().strip()
                self.peak[pid] = max(self.peak.get(pid, 0), rss)
                self.samples.append((time.monotonic() - self.started, pid, rss))
                total += rss
                if pid == self.pid:
                    self.peak_main = max(self.peak_main, rss)
            self.peak_tree = max(self.peak_tree, total)

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def peaks(self, since: float = 0.0, until: float = float("inf")) -> dict[str, float]:
        """Peak RSS (MB) per process, by name (`crawl` for the crawl process itself), of the
        samples taken from `since` to `until` seconds after the start."""
        peak: dict[int, int] = {}
        for when, pid, rss in self.samples:
            if since <= when < until:
                peak[pid] = max(peak.get(pid, 0), rss)
        found: dict[str, float] = {}
        for pid in sorted(peak):
            name = "crawl" if pid == self.pid else self.names.get(pid, str(pid))
            while name in found:
                name += "'"
            found[name] = peak[pid] / 2**20
        return found

    def halves(self) -> tuple[dict[str, float], dict[str, float]]:
        """Peak RSS per process in the first and in the second half of the run: memory that
        grows with the pages crawled peaks later in the second half; memory that levels off
        (a bounded cache, a queue) shows the same peak in both."""
        end = self.samples[-1][0] if self.samples else 0.0
        return self.peaks(until=end / 2), self.peaks(since=end / 2)


def show_peaks(peaks: dict[str, float]) -> str:
    return ", ".join(f"{name} {mb:.0f}" for name, mb in peaks.items())


def run_measured(cmd: list[str]) -> tuple[subprocess.CompletedProcess[str], float, ProcessWatch]:
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = ProcessWatch(proc.pid)
    out, err = proc.communicate()
    wall = time.monotonic() - start
    watch.stop()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), wall, watch


class Portal:
    """The generated portal served by its own process, and the paths a crawl asked for."""

    def __init__(self, tmp: Path, articles: int) -> None:
        self.log = tmp / f"server-{articles}.log"
        url_file = tmp / f"url-{articles}"
        self.server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "newsarchive.demo.server",
                "--articles",
                str(articles),
                "--log",
                str(self.log),
                "--url-file",
                str(url_file),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 600
        while not url_file.exists() or not url_file.read_text().strip():
            if time.monotonic() > deadline or self.server.poll() is not None:
                self.close()
                raise SystemExit("the portal server did not start")
            time.sleep(0.1)
        self.base = url_file.read_text().strip()

    def cpu_seconds(self) -> float:
        """CPU seconds the server process has used so far: it answers on the same cores, so what
        it spends on a crawl's requests is not there for the crawl."""
        fields = Path(f"/proc/{self.server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def fetched_paths(self) -> list[str]:
        """Each page the crawl got (200) once, as the server saw them."""
        paths, seen = [], set()
        for line in self.log.read_text().splitlines():
            _method, status, path = line.split(" ", 2)
            if status == "200" and path != "/robots.txt" and path not in seen:
                seen.add(path)
                paths.append(path)
        return paths

    def close(self) -> None:
        self.server.terminate()
        self.server.wait()


def full_crawl(portal: Portal, db: Path, workers: int | None) -> dict[str, Any]:
    for old in db.parent.glob(db.stem + "*"):
        old.unlink()
    cmd = [
        sys.executable,
        "-c",
        "from newsarchive.cli import cli; cli()",
        "crawl",
        "demo",
        "--base-url",
        portal.base,
        "--db",
        str(db),
    ]
    settings = dict(FAST)
    if workers is not None:
        settings["NEWSARCHIVE_EXTRACT_WORKERS"] = str(workers)
    for name, value in settings.items():
        cmd += ["-s", f"{name}={value}"]
    server_before = portal.cpu_seconds()
    proc, wall, watch = run_measured(cmd)
    server_cpu = portal.cpu_seconds() - server_before
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    summary = proc.stdout
    return {
        "articles": int(summary.split("articles ")[1].split(" new")[0]),
        "elapsed": float(summary.split("; ")[-1].split("s (run")[0]),
        "wall": wall,
        "cpu_main": watch.cpu.get(watch.pid, 0.0),
        "cpu_all": sum(watch.cpu.values()),
        # The others in start order: forkserver, extraction worker(s), writer.
        "cpu_others": [watch.cpu[pid] for pid in sorted(watch.cpu) if pid != watch.pid],
        # The busiest single process (Scrapy's, or an extraction worker): each runs on one core.
        "cpu_busiest": max(watch.cpu.values(), default=0.0),
        "cpu_server": server_cpu,
        "rss_main": watch.peak_main / 2**20,
        "rss_tree": watch.peak_tree / 2**20,
        "rss_each": watch.peaks(),
        "rss_halves": watch.halves(),
    }


def bare_crawl(portal: Portal, urls: Path) -> dict[str, float]:
    server_before = portal.cpu_seconds()
    proc, wall, watch = run_measured(
        [sys.executable, "-c", BARE_SPIDER, str(urls), json.dumps(FAST)]
    )
    server_cpu = portal.cpu_seconds() - server_before
    if proc.returncode != 0:
        raise SystemExit(f"bare spider failed:\n{proc.stderr[-3000:]}")
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "pages": stats["pages"],
        "elapsed": stats["elapsed"],
        "wall": wall,
        "cpu_main": watch.cpu.get(watch.pid, 0.0),
        "cpu_server": server_cpu,
    }


def pack_cost(db: Path) -> tuple[int, float, float]:
    """What packing the crawl's pages costs: the crawled pages stored again alone into a fresh
    archive, as the crawl's writer stores them, then `pack_pages(site)` timed (the writer packs
    them a whole block at a time as the crawl goes, and the rest at its end: the same work).
    Returns (pages, store seconds, pack seconds)."""
    from newsarchive.items import RawPage
    from newsarchive.storage import Archive

    fresh = db.with_name("repack.db")
    pages = 0
    with Archive(db, create=False, readonly=True) as crawled, Archive(fresh) as target:
        start = time.monotonic()
        with target.batch(100):
            for row in crawled.iter_raw_pages():
                raw = RawPage(url=row["url"], body=row["body"], status=row["status"])
                target.store(raw, None, site=row["site"])
                pages += 1
        stored = time.monotonic() - start
        start = time.monotonic()
        target.pack_pages("demo")
        packed = time.monotonic() - start
    return pages, stored, packed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument(
        "--workers", type=int, default=None, help="NEWSARCHIVE_EXTRACT_WORKERS (default: settings)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="full crawl and bare spider, alternated, N times each"
    )
    parser.add_argument(
        "--memory",
        type=int,
        metavar="ARTICLES",
        help="also crawl a portal this big once and compare peak RSS with --articles",
    )
    parser.add_argument("--no-pack-cost", action="store_true", help="skip the packing timing")
    parser.add_argument("--keep", action="store_true", help="keep the temporary archive")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    portal = Portal(tmp, args.articles)
    try:
        print(f"portal: {args.articles} articles at {portal.base}")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
        db = tmp / "bench.db"
        full_runs, bare_runs = [], []
        urls = tmp / "urls.txt"
        for number in range(args.rounds):
            # Alternated on a shared machine: other jobs' load falls on both alike.
            full = full_crawl(portal, db, args.workers)
            full_runs.append(full)
            if number == 0:
                paths = portal.fetched_paths()
                urls.write_text("\n".join(portal.base.rstrip("/") + p for p in paths) + "\n")
            bare = bare_crawl(portal, urls)
            bare_runs.append(bare)
            print(
                f"  round {number + 1}: full {full['articles']} articles in {full['elapsed']:.2f}s "
                f"(crawl process CPU {full['cpu_main']:.1f}s, all {full['cpu_all']:.1f}s, "
                f"peak RSS {full['rss_main']:.0f} MB, all processes {full['rss_tree']:.0f} MB: "
                f"{show_peaks(full['rss_each'])}); "
                f"other processes' CPU {', '.join(f'{c:.1f}s' for c in full['cpu_others'])}; "
                f"server CPU {full['cpu_server']:.1f}s; "
                f"bare {bare['pages']} pages in {bare['elapsed']:.2f}s (CPU {bare['cpu_main']:.1f}s, "
                f"server {bare['cpu_server']:.1f}s)"
                f"; ratio {bare['elapsed'] / full['elapsed']:.2f}"
            )

        def median(runs: list[dict[str, float]], key: str) -> float:
            return statistics.median(run[key] for run in runs)

        pages = len(paths)
        new = full_runs[0]["articles"]
        full_s, bare_s = median(full_runs, "elapsed"), median(bare_runs, "elapsed")
        full_cpu, bare_cpu = median(full_runs, "cpu_main"), median(bare_runs, "cpu_main")
        print()
        print(
            f"full crawl : {new} articles ({pages} pages), median {full_s:.2f}s crawl time "
            f"({median(full_runs, 'wall'):.2f}s wall) = {new / full_s:.0f} articles/s"
        )
        print(
            f"bare spider: {bare_runs[0]['pages']} pages, median {bare_s:.2f}s crawl time "
            f"({median(bare_runs, 'wall'):.2f}s wall) = {bare_runs[0]['pages'] / bare_s:.0f} pages/s"
        )
        ratios = [b["elapsed"] / f["elapsed"] for f, b in zip(full_runs, bare_runs, strict=True)]
        print(
            f"ratio      : full crawl keeps {bare_s / full_s:.2f} of the bare speed (medians; "
            f"rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
        )
        all_cpu = median(full_runs, "cpu_all")
        busiest = median(full_runs, "cpu_busiest")
        server_full, server_bare = median(full_runs, "cpu_server"), median(bare_runs, "cpu_server")
        cores = os.cpu_count() or 1
        # CPU times hold on a loaded machine where the crawl times do not. The like-for-like
        # comparison: the crawl's Scrapy process against the bare Scrapy process, same pages.
        print(
            f"CPU        : crawl process {full_cpu:.1f}s, all crawl processes {all_cpu:.1f}s "
            f"(busiest {busiest:.1f}s), portal server {server_full:.1f}s; bare spider "
            f"{bare_cpu:.1f}s, portal server {server_bare:.1f}s"
        )
        print(
            f"  one process: the crawl's Scrapy process does the bare spider's work in "
            f"{full_cpu / bare_cpu:.2f}x its CPU time = {bare_cpu / full_cpu:.2f} of the bare speed"
        )
        # On an idle machine a crawl takes at least its busiest process's CPU time, and at least
        # the CPU time of all the processes on the cores (the portal server's too: it shares them).
        for n in sorted({cores, 2 * cores, 64}):
            full_floor = max(busiest, (all_cpu + server_full) / n)
            bare_floor = max(bare_cpu, (bare_cpu + server_bare) / n)
            print(
                f"  on {n:>2} idle cores: the full crawl could keep at most "
                f"{bare_floor / full_floor:.2f} of the bare speed"
                + (" (this machine)" if n == cores else "")
            )
        print(
            f"peak RSS   : crawl process {median(full_runs, 'rss_main'):.0f} MB, all its processes "
            f"{median(full_runs, 'rss_tree'):.0f} MB"
        )
        if not args.no_pack_cost:
            count, stored, packed = pack_cost(db)
            print(
                f"packing    : the crawl's {count} raw pages pack in {packed:.2f}s, most as it "
                f"goes (storing them took {stored:.2f}s): {100 * packed / full_s:.1f} % of the "
                "crawl time"
            )
        if args.memory:
            portal.close()
            big = Portal(tmp, args.memory)
            portal = big
            large = full_crawl(big, tmp / "large.db", args.workers)
            small = full_runs[-1]
            print(
                f"memory     : peak RSS at {args.articles} articles {small['rss_main']:.0f} MB "
                f"(all processes {small['rss_tree']:.0f} MB), at {args.memory} articles "
                f"{large['rss_main']:.0f} MB ({large['rss_tree']:.0f} MB): "
                f"{100 * (large['rss_main'] / small['rss_main'] - 1):+.1f} % "
                f"({100 * (large['rss_tree'] / small['rss_tree'] - 1):+.1f} % all processes); "
                f"{large['articles']} articles in {large['elapsed']:.1f}s"
            )
            print(
                f"  peak RSS per process (MB) at {args.articles}: {show_peaks(small['rss_each'])}"
            )
            print(f"  peak RSS per process (MB) at {args.memory}: {show_peaks(large['rss_each'])}")
            first, second = large["rss_halves"]
            print(
                f"  at {args.memory}, first half of the crawl: {show_peaks(first)}; "
                f"second half: {show_peaks(second)}"
            )
    finally:
        portal.close()
        if not args.keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    main()
