"""Import benchmark: `newsarchive import --jobs 1` against `--jobs 2` on one WARC.

    python benchmarks/bench_import.py                       # 10,000 demo-portal article pages
    python benchmarks/bench_import.py --articles 3000 --rounds 3
    python benchmarks/bench_import.py --articles 2000 --refetches 2   # + 2 revisits of each page

1. Writes a gzipped WARC of N real article pages (the demo portal generator's HTML, as the crawl
   and re-extraction benchmarks use), one HTTP response record each, as wget or Heritrix write
   them; with --refetches K, then K rounds of `revisit` records of every page (the same payload
   fetched again, a day apart each round), as an archive's export writes a crawl's refetches.
2. Imports it into a fresh archive with the real command, as a user runs it (`newsarchive import
   --jobs J WARC --db NEW`: start-up, reading the WARC, extracting, storing, packing nothing,
   merging the search index at the end). Runs alternate --jobs 1 and --jobs 2, `--rounds` times
   each; medians reported, with the CPU seconds of all processes per page (on a shared machine
   the CPU time says what idle cores would do).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench_reextract import BASE, compare_jobs
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsarchive.demo.generator import generate_portal
from newsarchive.warc import payload_digest

FIRST_FETCH = "2024-01-01T00:00:00Z"


def write_warc(path: Path, articles: int, refetches: int = 0) -> int:
    """The WARC; returns the records that are pages to import (responses and revisits)."""
    portal = generate_portal(BASE, articles=articles)
    written = 0
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for day in range(1, refetches + 2):
            for art in portal.articles:
                status, headers, body = portal.response(art.path)
                if status != 200:
                    continue
                url = portal.url(art.path)
                http = StatusAndHeaders("200 OK", list(headers.items()), "HTTP/1.1")
                if day == 1:
                    record = writer.create_warc_record(
                        url,
                        "response",
                        payload=io.BytesIO(body),
                        http_headers=http,
                        warc_headers_dict={"WARC-Date": FIRST_FETCH},
                    )
                else:
                    record = writer.create_revisit_record(
                        url,
                        payload_digest(body),
                        url,
                        FIRST_FETCH,
                        http_headers=http,
                        warc_headers_dict={"WARC-Date": f"2024-01-{day:02d}T00:00:00Z"},
                    )
                writer.write_record(record)
                written += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each --jobs (alternated)")
    parser.add_argument(
        "--refetches", type=int, default=0, help="revisit records of each page after the pages"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        warc = tmp / "pages.warc.gz"
        start = time.monotonic()
        pages = write_warc(warc, args.articles, args.refetches)
        print(
            f"WARC: {pages} demo article pages and refetches, {warc.stat().st_size / 1e6:.1f} MB, "
            f"written in {time.monotonic() - start:.1f}s"
        )
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")

        def import_warc(jobs: int, work: Path) -> list[str]:
            return ["import", "--jobs", str(jobs), str(warc), "--db", str(work / "archive.db")]

        compare_jobs(tmp, args.rounds, pages, import_warc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
