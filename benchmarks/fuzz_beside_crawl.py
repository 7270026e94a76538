"""What a person runs on the archive while a scheduled crawl writes it: every command beside a
live crawl, at random moments.

    python benchmarks/fuzz_beside_crawl.py --crawls 3 --seed 1

Each crawl serves a demo portal of its own (--articles, on 127.0.0.1) and crawls it with
`newsarchive crawl` at a slow pace (2 requests at a time), with `newsarchive browse` serving the
same archive. Until the crawl ends, commands are run one after another, each picked at random:
`show` (the record) and `show --raw` (the page as fetched, compared byte for byte with what the
portal served), `search`, `export` (JSON Lines, every line parsed; and WARC), `import` of that WARC (a second
writer; nothing in it is new), `stats`, `health`, `verify`, `backup` (and `verify` of the
copy), `reextract`, `compact`, and pages of `browse`.
A failure: a traceback anywhere, a read command's exit status other than 0 (1 for `health`,
which may have an alarm), `verify` finding a problem in a sound archive, wrong raw bytes, a
record without a title, a writing command (`reextract`, `compact`) failing with other than one
`Error:` line, a page of `browse` that is no 200, the crawl not exiting 0 or missing articles,
and at the end `verify` of the archive not passing. Each failure's command and output go to
--out.

Not a test (random, minutes long): a search for what the tests do not think of. Its first run
(2026-12-07) found `verify` saying a crawl's newest records were without their raw page.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from newsarchive.demo import DemoServer

NEWSARCHIVE = [sys.executable, "-m", "newsarchive"]
SLOW = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "2",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "2",
    "LOG_LEVEL": "WARNING",
    "NEWSARCHIVE_PROGRESS": "False",
}
COMMANDS = (
    "show", "raw", "search", "export", "warc", "stats", "health", "verify", "backup",
    "reextract", "compact", "import", "browse",
)  # fmt: skip
BROWSE_PAGES = (
    "/",
    "/archive/articles?_search=beras",
    "/archive/articles.json?_size=5",
    "/-/search?q=pemerintah",
    "/-/dashboards/archive",
    "/archive/crawl_runs",
)
SEARCH_WORDS = ("pemerintah", "beras", "inflasi daerah", "yang")


class Case:
    """One crawl and the commands run beside it; failures written to `out`."""

    def __init__(self, server: DemoServer, work: Path, out: Path, rng: random.Random) -> None:
        self.server = server
        self.db = work / "archive.db"
        self.work = work
        self.out = out
        self.rng = rng
        self.failures: list[str] = []
        self.ran: Counter[str] = Counter()
        self.port = 0

    def fail(self, what: str, proc: Any = None) -> None:
        self.failures.append(what)
        self.out.mkdir(parents=True, exist_ok=True)
        text = what
        if proc is not None:
            stdout = proc.stdout if isinstance(proc.stdout, str) else repr(proc.stdout[:2000])
            text += f"\nexit {proc.returncode}\n{' '.join(map(str, proc.args))}\n"
            text += f"--- stdout\n{stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}\n"
        (self.out / f"failure-{len(self.failures)}.txt").write_text(text, encoding="utf-8")
        print(f"  FAILURE: {what}", flush=True)

    def run(self, *args: str, text: bool = True, timeout: float = 600) -> Any:
        proc = subprocess.run(
            [*NEWSARCHIVE, *args], capture_output=True, text=text, timeout=timeout
        )
        if not text:
            proc.stderr = proc.stderr.decode("utf-8", "replace")
        if "Traceback" in proc.stderr:
            self.fail(f"traceback: newsarchive {args[0]}", proc)
        return proc

    def archived_url(self) -> str | None:
        try:
            with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as conn:
                row = conn.execute("SELECT url FROM articles ORDER BY random() LIMIT 1").fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row else None

    def one_command(self, kind: str) -> None:
        db = ["--db", str(self.db)]
        if kind in ("show", "raw"):
            url = self.archived_url()
            if url is None:
                return
            proc = self.run("show", url, *db, *(["--raw"] if kind == "raw" else []), text=False)
            if proc.returncode != 0:
                self.fail(f"show {url}", proc)
            elif kind == "raw":
                served = self.server.portal.pages.get(url[len(self.server.base_url) - 1 :])
                if served is not None and proc.stdout != served[2]:
                    self.fail(f"show --raw {url}: not the bytes the portal served", proc)
            elif not json.loads(proc.stdout).get("title"):
                self.fail(f"show {url}: a record without a title", proc)
        elif kind == "search":
            proc = self.run("search", self.rng.choice(SEARCH_WORDS), *db)
            if proc.returncode != 0:
                self.fail("search", proc)
        elif kind == "export":
            proc = self.run("export", *db)
            if proc.returncode != 0:
                self.fail("export", proc)
            for line in proc.stdout.splitlines():
                try:
                    json.loads(line)
                except ValueError:
                    self.fail(f"export: a line that is no JSON: {line[:200]!r}", proc)
                    break
        elif kind in ("warc", "import"):
            target = self.work / "export.warc.gz"
            proc = self.run("export", "--format", "warc", "-o", str(target), *db)
            if proc.returncode != 0:
                self.fail("export --format warc", proc)
            elif kind == "import":
                # The archive's own pages back into it, a second writer beside the crawl's.
                again = self.run("import", str(target), *db)
                if again.returncode != 0 or " new" in again.stdout.replace(" 0 new", ""):
                    self.fail("import of the archive's own WARC", again)
            target.unlink(missing_ok=True)
        elif kind in ("stats", "verify"):
            proc = self.run(kind, *db)
            if proc.returncode != 0:
                self.fail(kind, proc)
        elif kind == "health":
            proc = self.run("health", *db)
            if proc.returncode not in (0, 1):
                self.fail("health", proc)
        elif kind == "backup":
            copy = self.work / "backup"
            proc = self.run("backup", str(copy), *db)
            if proc.returncode != 0:
                self.fail("backup", proc)
            else:
                check = self.run("verify", "--db", str(copy / "archive.db"))
                if check.returncode != 0:
                    self.fail("verify of a backup taken beside the crawl", check)
            shutil.rmtree(copy, ignore_errors=True)
        elif kind in ("reextract", "compact"):
            proc = self.run(kind, *db)
            errors = [line for line in proc.stderr.splitlines() if line.startswith("Error")]
            if proc.returncode != 0 and len(errors) != 1:
                self.fail(kind, proc)
        elif kind == "browse":
            for path in BROWSE_PAGES:
                try:
                    url = f"http://127.0.0.1:{self.port}{path}"
                    with urllib.request.urlopen(url, timeout=30) as response:
                        response.read()
                except Exception as exc:  # an HTTPError is a page that is no 200
                    self.fail(f"browse {path}: {exc}")
        self.ran[kind] += 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def one_crawl(seed: int, articles: int, out: Path) -> Case:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp, DemoServer(articles=articles, seed=seed) as server:
        case = Case(server, Path(tmp), out / f"seed-{seed}", rng)
        crawl_cmd = [*NEWSARCHIVE, "crawl", "demo", "--base-url", server.base_url]
        crawl_cmd += ["--db", str(case.db)]
        for name, value in SLOW.items():
            crawl_cmd += ["-s", f"{name}={value}"]
        crawl_log = Path(tmp) / "crawl.log"
        with crawl_log.open("w") as log:
            crawl = subprocess.Popen(crawl_cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not case.db.exists() and crawl.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        case.port = free_port()
        browse_log = Path(tmp) / "browse.log"
        with browse_log.open("w") as log:
            browse = subprocess.Popen(
                [*NEWSARCHIVE, "browse", "--db", str(case.db), "--port", str(case.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            while "serving" not in browse_log.read_text() and browse.poll() is None:
                time.sleep(0.2)
            while crawl.poll() is None:
                case.one_command(rng.choice(COMMANDS))
        finally:
            browse.terminate()
            browse.wait(30)
            crawl.wait(600)
        said = crawl_log.read_text()
        if crawl.returncode != 0 or f"articles {articles} new" not in said:
            case.fail(f"the crawl: exit {crawl.returncode}\n{said[-4000:]}")
        if "Traceback" in browse_log.read_text():
            case.fail(f"browse's terminal:\n{browse_log.read_text()[-4000:]}")
        final = case.run("verify", "--db", str(case.db))
        if final.returncode != 0:
            case.fail("verify after the crawl", final)
    return case


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crawls", type=int, default=3, help="how many crawls (default 3)")
    ap.add_argument("--articles", type=int, default=2000, help="the portal's articles")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("/tmp/fuzz_beside_crawl"), help="failures")
    args = ap.parse_args()
    failed = 0
    for seed in range(args.seed, args.seed + args.crawls):
        started = time.monotonic()
        case = one_crawl(seed, args.articles, args.out)
        failed += bool(case.failures)
        ran = ", ".join(f"{kind} {n}" for kind, n in sorted(case.ran.items()))
        print(
            f"seed {seed}: {len(case.failures)} failure(s) in {sum(case.ran.values())} commands "
            f"({ran}), {time.monotonic() - started:.0f}s",
            flush=True,
        )
    print(f"{args.crawls} crawls, {failed} with failures")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
