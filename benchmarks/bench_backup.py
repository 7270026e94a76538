"""Benchmark (not a test): `newsarchive backup` against `cp` of the same two files, alternated in
one run (the page cache and the other load on the machine are then alike for both).

    python benchmarks/bench_backup.py --db /tmp/bench1m_s20/archive.db --dest /tmp/bk1m
    python benchmarks/bench_backup.py --db data/archive.db --dest /tmp/bk --rounds 3 --verify

Each command runs as a child process; its wall time, CPU time (user + system, from the children's
rusage) and peak RSS are printed, then the medians and the ratio backup / cp. `cp` of a live
archive is no backup (a torn copy while a crawl writes): it is the floor a copy cannot beat. DEST
is removed before each run and at the end; it needs room for one copy of both files.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from newsarchive.storage import default_pages_path


def run(command: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of `command` run as a child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of the children is the largest of any child so far: fresh only if it grew.
    return wall, cpu, after.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="the archive to back up")
    parser.add_argument("--dest", type=Path, required=True, help="a scratch directory")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--verify", action="store_true", help="backup --verify")
    args = parser.parse_args()
    commands = {
        "cp": ["cp", str(args.db), str(default_pages_path(args.db)), str(args.dest)],
        "backup": [sys.executable, "-m", "newsarchive", "backup", str(args.dest), "--db",
                   str(args.db), *(["--verify"] if args.verify else [])],
    }  # fmt: skip
    times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    try:
        for round_ in range(args.rounds):
            for name, command in commands.items():
                shutil.rmtree(args.dest, ignore_errors=True)
                args.dest.mkdir()
                times[name].append(run(command))
                wall, cpu, rss = times[name][-1]
                print(f"round {round_ + 1} {name:6} wall {wall:6.1f} s  CPU {cpu:6.1f} s  "
                      f"peak RSS so far {rss:5.0f} MB", flush=True)  # fmt: skip
    finally:
        shutil.rmtree(args.dest, ignore_errors=True)
    median = {name: [statistics.median(t[i] for t in runs) for i in (0, 1)]
              for name, runs in times.items()}  # fmt: skip
    for name, (wall, cpu) in median.items():
        print(f"median {name:6} wall {wall:6.1f} s  CPU {cpu:6.1f} s")
    print(f"backup / cp: wall {median['backup'][0] / median['cp'][0]:.2f}x, "
          f"CPU {median['backup'][1] / median['cp'][1]:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
