"""Crawls the crawler must not fail in: the demo portal with its pages mutated at random.

    python benchmarks/fuzz_crawl.py --crawls 20 --seed 1

Each crawl serves a demo portal of its own (15 articles, on 127.0.0.1) with about half its pages
(articles, listings, sitemaps, feed, robots.txt) mutated as fuzz_extract.py mutates pages, plus
what only the spider reads (malformed next/feed/sitemap links, huge page numbers, impossible
`?date=`), and crawls it with `newsarchive crawl`. A crawl whose output holds a traceback, a
"Spider error" or an ERROR line, or that exits with a status other than 0, is a bug: its output
is written to --out. Articles a mutation broke or cut off are expected to be missing; so is
every article when the mutations cut every way to them: exit 1 with the documented "no article
found" line is the crawl saying so, not a bug.

Not a test (random, minutes long). Before the first run (2026-12-06) one link urllib cannot take
apart (`http://host:8o8/`, `http://[::1/`) lost the page, sitemap or robots.txt holding it.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from fuzz_extract import INSERTS, mutated

from newsarchive.demo import DemoServer

# What only the spider reads: links it follows, pages it pages through, dates it indexes by.
SPIDER_INSERTS = [
    b'<a href="//[::1/x">a</a>',
    b'<a href="http://127.0.0.1:99999/2024/01/01/x/">a</a>',
    b'<link rel="next" href="http://[::1/">',
    b'<link rel="alternate" type="application/rss+xml" href="http://[::1/feed">',
    b'<a href="?page=99999999999999999999">next</a>',
    b'<a href="/indeks?date=9999-99-99">x</a>',
    b'<a href="/page/99999999999999999999/">Selanjutnya</a>',
    b"<loc>http://[::1/x</loc>",
    b"<lastmod>9999-99-99T99:99</lastmod>",
    b"<url><loc>http://127.0.0.1:8o8/x</loc></url>",
    b'<a href="javascript:void(0)">x</a>',
    b'<a href="mailto:x@[::1">x</a>',
    b'<a href="\x00">x</a>',
    b'<a href="http://\xff\xfe/">x</a>',
]
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]
FAST += ["-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"]


def crawl_mutated_portal(seed: int) -> tuple[int, str]:
    """The exit status and output of one crawl of a portal mutated with `seed`."""
    rng = random.Random(seed)
    with DemoServer(articles=15, seed=seed) as server:
        for path, (status, headers, body) in list(server.portal.pages.items()):
            if body and rng.random() < 0.5:
                server.portal.pages[path] = (status, headers, mutated(body, rng))
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.run(
                [sys.executable, "-m", "newsarchive", "crawl", "demo"]
                + ["--base-url", server.base_url, "--db", f"{tmp}/archive.db", *FAST],
                capture_output=True,
                text=True,
                timeout=300,
            )
    return proc.returncode, proc.stdout + proc.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crawls", type=int, default=20, help="how many crawls (default 20)")
    ap.add_argument("--seed", type=int, default=1, help="the first crawl's seed")
    ap.add_argument("--out", type=Path, default=Path("/tmp/fuzz_crawl"), help="failing output")
    args = ap.parse_args()
    INSERTS.extend(SPIDER_INSERTS * 3)  # mostly what the spider reads
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for seed in range(args.seed, args.seed + args.crawls):
        status, output = crawl_mutated_portal(seed)
        lines = output.splitlines()
        bad = [
            line for line in lines if any(s in line for s in ("Traceback", "Spider error", "ERROR"))
        ]
        summary = next((line for line in reversed(lines) if "pages fetched" in line), "no summary")
        said = [line for line in lines if line.startswith("Error: ")]
        unreadable = status == 1 and said and all("no article found in" in line for line in said)
        print(f"seed {seed}: exit {status}; {summary}", flush=True)
        if bad or (status != 0 and not unreadable):
            failed += 1
            log = args.out / f"crawl-{seed}.log"
            log.write_text(output)
            print(f"  {bad[0] if bad else 'exit status'} (output: {log})", flush=True)
    print(f"{args.crawls} crawls, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
