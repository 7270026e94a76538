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
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument(
        "--workers", type=int, default=None, help="NEWSARCHIVE_EXTRACT_WORKERS (default: settings)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary archive")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    log = tmp / "server.log"
    url_file = tmp / "url"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "newsarchive.demo.server",
            "--articles",
            str(args.articles),
            "--log",
            str(log),
            "--url-file",
            str(url_file),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not url_file.exists() or not url_file.read_text().strip():
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the portal server did not start")
            time.sleep(0.1)
        base = url_file.read_text().strip()
        print(f"portal: {args.articles} articles at {base}")

        # 1. The real crawl.
        db = tmp / "bench.db"
        cmd = [
            sys.executable,
            "-c",
            "from newsarchive.cli import cli; cli()",
            "crawl",
            "demo",
            "--base-url",
            base,
            "--db",
            str(db),
        ]
        settings = dict(FAST)
        if args.workers is not None:
            settings["NEWSARCHIVE_EXTRACT_WORKERS"] = str(args.workers)
        for name, value in settings.items():
            cmd += ["-s", f"{name}={value}"]
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
        wall = time.monotonic() - start
        if proc.returncode != 0:
            raise SystemExit(f"crawl failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
        print(proc.stdout.strip())
        summary = proc.stdout
        new = int(summary.split("articles ")[1].split(" new")[0])
        elapsed = float(summary.split("; ")[-1].split("s (run")[0])

        # 2. The bare spider over the same pages (each page once, as the server saw them).
        paths = []
        seen = set()
        for line in log.read_text().splitlines():
            _method, status, path = line.split(" ", 2)
            if status == "200" and path != "/robots.txt" and path not in seen:
                seen.add(path)
                paths.append(path)
        urls = tmp / "urls.txt"
        urls.write_text("\n".join(base.rstrip("/") + p for p in paths) + "\n")
        start = time.monotonic()
        bare = subprocess.run(
            [sys.executable, "-c", BARE_SPIDER, str(urls), json.dumps(FAST)],
            capture_output=True,
            text=True,
        )
        bare_wall = time.monotonic() - start
        if bare.returncode != 0:
            raise SystemExit(f"bare spider failed:\n{bare.stderr[-3000:]}")
        bare_stats = json.loads(bare.stdout.strip().splitlines()[-1])

        pages = len(paths)
        print()
        print(
            f"full crawl : {new} articles ({pages} pages) in {elapsed:.2f}s crawl time ({wall:.2f}s wall) "
            f"= {new / elapsed:.0f} articles/s ({new / wall:.0f}/s wall)"
        )
        print(
            f"bare spider: {bare_stats['pages']} pages in {bare_stats['elapsed']:.2f}s crawl time "
            f"({bare_wall:.2f}s wall) = {bare_stats['pages'] / bare_stats['elapsed']:.0f} pages/s "
            f"({bare_stats['pages'] / bare_wall:.0f}/s wall)"
        )
        print(
            f"ratio      : full crawl keeps {bare_stats['elapsed'] / elapsed:.2f} of the bare speed "
            f"({bare_wall / wall:.2f} by wall time)"
        )
    finally:
        server.terminate()
        server.wait()
        if not args.keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    main()
