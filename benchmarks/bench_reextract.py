"""Re-extraction benchmark: `newsarchive reextract --jobs 1` against `--jobs 2` on one archive.

    python benchmarks/bench_reextract.py                    # 20,000 demo-portal article pages
    python benchmarks/bench_reextract.py --articles 5000 --rounds 3

1. Builds an archive of N real article pages: the demo portal generator's pages (the same HTML
   the crawl benchmark serves), stored as a crawl stores them (raw page + a record) and then
   packed into per-site zstd blocks as a crawl leaves them. The records are placeholders from an
   "older extractor", so every re-extraction rewrites every record (a new version, the search
   index updated): the worst case, as after an extractor upgrade.
2. Copies the archive once per run and times the real command on it, as a user runs it
   (`newsarchive reextract --jobs J --db COPY`, its own process: start-up, listing the targets,
   reading, extracting, storing, committing). Runs alternate --jobs 1 and --jobs 2, `--rounds`
   times each (the machine is shared: alternating spreads other jobs' load over both), and the
   medians are reported with each run's figure.
3. Extrapolates to 1,000,000 pages at the median pages/s of each: the work per page does not
   grow with the archive (a page is read by its primary key, a block inflated once, a record
   updated by its id), so time is linear in pages. What does grow: listing the targets (one
   query, a few seconds per million) and the target list in memory (~200 bytes an article).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from newsarchive.demo.generator import generate_portal
from newsarchive.items import Article, RawPage
from newsarchive.storage import Archive
from newsarchive.storage.archive import default_pages_path

BASE = "http://127.0.0.1:8123/"


def build(db: Path, articles: int) -> int:
    portal = generate_portal(BASE, articles=articles)
    fetched = datetime(2024, 3, 5, 3, 0, tzinfo=UTC)
    stored = 0
    with Archive(db) as archive:
        with archive.batch(500):
            for art in portal.articles:
                status, headers, body = portal.response(art.path)
                if status != 200:
                    continue
                url = portal.url(art.path)
                raw = RawPage(url=url, body=body, status=200, headers=headers, fetched_at=fetched)
                old = Article(
                    url=url,
                    title=art.title,
                    body="(the body an older extractor got)",
                    canonical_url=url,
                    extractor_version="0.0.1",
                )
                archive.store(raw, old, site="demo")
                stored += 1
        archive.pack_pages()
    return stored


def timed(args: list[str]) -> tuple[float, float, str]:
    """Run `newsarchive ARGS`: (wall seconds, CPU seconds of the command and its workers, its
    first output line)."""
    cmd = [sys.executable, "-m", "newsarchive", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    return seconds, cpu, proc.stdout.splitlines()[0]


def compare_jobs(
    tmp: Path, rounds: int, pages: int, command: Callable[[int, Path], list[str]]
) -> None:
    """Run `newsarchive` with `command(jobs, fresh work directory)` for --jobs 1 and 2,
    alternating, `rounds` times each (the machine is shared: alternating spreads other jobs'
    load over both), and print each run and the medians, wall and CPU."""
    times: dict[int, list[float]] = {1: [], 2: []}
    cpus: dict[int, list[float]] = {1: [], 2: []}
    for round_number in range(rounds):
        for jobs in (1, 2):
            work = tmp / f"run-{round_number}-{jobs}"
            work.mkdir()
            seconds, cpu, summary = timed(command(jobs, work))
            times[jobs].append(seconds)
            cpus[jobs].append(cpu)
            print(f"  --jobs {jobs}: {seconds:6.1f}s = {pages / seconds:6.1f} pages/s  ({summary})")
            shutil.rmtree(work)
    median = {jobs: statistics.median(values) for jobs, values in times.items()}
    print()
    for jobs in (1, 2):
        rate = pages / median[jobs]
        hours = 1_000_000 / rate / 3600
        print(
            f"--jobs {jobs}: median {median[jobs]:.1f}s = {rate:.1f} pages/s; "
            f"1,000,000 pages at this rate: {hours:.2f} h"
        )
    print(f"ratio  : --jobs 2 is {median[1] / median[2]:.2f}x --jobs 1")
    # The machine may be shared: CPU seconds say what an idle one would do. --jobs 1 is one
    # process (its CPU time is its time); --jobs 2 runs three processes on two cores, so at
    # best its CPU time spread over both.
    cpu1 = statistics.median(cpus[1]) / pages
    cpu2 = statistics.median(cpus[2]) / pages
    cores = min(2, os.cpu_count() or 1)
    for jobs, per_page, rate in ((1, cpu1, 1 / cpu1), (2, cpu2, cores / cpu2)):
        print(
            f"CPU --jobs {jobs}: {1000 * per_page:.2f} ms a page (all processes); on idle "
            f"cores at most {rate:.0f} pages/s, 1,000,000 pages in {1e6 / rate / 3600:.2f} h"
        )


def copy_archive(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)
    shutil.copyfile(default_pages_path(source), default_pages_path(target))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each --jobs (alternated)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary archive")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-reextract-"))
    try:
        source = tmp / "source" / "archive.db"
        source.parent.mkdir()
        start = time.monotonic()
        pages = build(source, args.articles)
        print(f"archive: {pages} demo article pages, built in {time.monotonic() - start:.1f}s")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")

        def reextract_copy(jobs: int, work: Path) -> list[str]:
            copy_archive(source, work / "archive.db")
            return ["reextract", "--jobs", str(jobs), "--db", str(work / "archive.db")]

        compare_jobs(tmp, args.rounds, pages, reextract_copy)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
