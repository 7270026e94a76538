"""What a person types into the address bar of `newsarchive browse`: its pages asked with
parameters mutated at random.

    python benchmarks/fuzz_browse.py --seconds 300 --seed 1

Crawls the demo portal (on 127.0.0.1) into a fresh archive once, serves it with the real
`newsarchive browse` on a free port of 127.0.0.1, and asks its pages — the home page, the
database page, the articles table and one article, the search page, the dashboard and its
charts, the canned queries, the other tables, each as HTML and as JSON — with their parameters
(search words, filters, facets, sort, page size, dates, the dashboard's filters) set to values a
hand or a pasted link gives: FTS5 syntax, quotes, NUL and control characters, very long text,
negative, huge and non-numbers, impossible dates, unknown columns and databases, markup.

A request fails on: a traceback in the server's log; a status of 500 or above whose page says
nothing but "Error 500"; no answer within REQUEST_SECONDS; markup sent in a parameter coming
back unescaped (`<script>` in the page); the server gone. The first request of each kind of
failure is written to --out (the URL, the status, the page and the log lines).

Not a test (random, minutes long): a search for what the tests do not think of.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode

from newsarchive.demo import DemoServer

REQUEST_SECONDS = 20
MARKUP = "<script>alert(1)</script>"

# What the parameters get: plain values first (so most requests reach deep), then hostile ones.
PLAIN = ["yang", "pekerja", "demo", "Nasional", "2023-07-02", "1", "20", "site", "published"]
HOSTILE = [
    "",
    " ",
    '"',
    "'",
    "''",
    '"unclosed',
    "NEAR(",
    "NEAR(a b, -1)",
    "*",
    "a*",
    "-yang",
    "yang OR",
    "AND",
    "NOT",
    "^",
    "title:",
    "nope:yang",
    "{title body}: x",
    "a\x00b",
    "\x00",
    "\x01\x7f",
    "\n",
    "\t",
    "%",
    "%%",
    "_",
    "\\",
    "../../etc/passwd",
    "日本語",
    "\u202e",
    "\ud7ff",
    "😀",
    "x" * 5000,
    "yang " * 300,
    "-1",
    "0",
    "-0",
    "1e309",
    "nan",
    "inf",
    "99999999999999999999999999",
    "9223372036854775808",
    "-9223372036854775809",
    "0x10",
    "1.5",
    "2024-99-99",
    "2024-02-30",
    "0000-00-00",
    "9999-12-31",
    "10000-01-01",
    "2024-01-01T25:00",
    "yesterday",
    "nope",
    "rowid",
    "id",
    "body",
    "authors",
    "[]",
    '["a"]',
    "{}",
    "null",
    MARKUP,
    '"><img src=x>',
    "javascript:alert(1)",
]
ARTICLE_PARAMS = [
    "_search", "_facet", "_facet_array", "_facet_date", "_facet_month", "_facet_day", "_sort",
    "_sort_desc", "_size", "_next", "_where", "_col", "_nocol", "_labels", "_shape", "_nofacet",
    "_nocount", "_facet_size", "_trace", "_timelimit", "_search_body", "_searchmode",
    "site", "site__exact", "site__not", "category", "category__in", "published_date__gte",
    "published_date__lte", "published_utc__gt", "authors__arraycontains",
    "tags__arraycontains", "authors__arraynotcontains", "id__in", "word_count__gt",
    "gone_since__isnull", "title__contains", "title__glob", "title__like", "first_seen__date",
]  # fmt: skip
# `db` rarely: most search pages are asked of the served archive.
SEARCH_PARAMS = ["q", "site", "category", "since", "until", "page"] * 4 + ["db"]
DASHBOARD_PARAMS = ["site", "date_start", "date_end"]
TABLES = ["articles", "crawl_runs", "failures", "versions", "article_authors", "article_tags"]
QUERIES = ["articles_per_day", "taken_down", "latest_failures"]
CHARTS = ["articles", "sites", "days", "per-day", "fill-rates", "authors", "categories"]


def value(rng: random.Random) -> str:
    return rng.choice(PLAIN) if rng.random() < 0.3 else rng.choice(HOSTILE)


def params(rng: random.Random, names: list[str]) -> list[tuple[str, str]]:
    return [(rng.choice(names), value(rng)) for _ in range(rng.randint(1, 4))]


def random_url(rng: random.Random, db: str, article_id: int) -> str:
    shape = rng.choice(["table", "table", "search", "search", "article", "dashboard", "other"])
    json_ = rng.random() < 0.25
    if shape == "table":
        table = "articles" if rng.random() < 0.7 else rng.choice(TABLES)
        path = f"/{db}/{table}" + (".json" if json_ else "")
        return path + "?" + urlencode(params(rng, ARTICLE_PARAMS))
    if shape == "search":
        return "/-/search?" + urlencode(params(rng, SEARCH_PARAMS) + [("q", value(rng))])
    if shape == "article":
        key = str(article_id) if rng.random() < 0.5 else value(rng)
        return f"/{db}/articles/{quote(key, safe='')}" + (".json" if json_ else "")
    if shape == "dashboard":
        chart = "" if rng.random() < 0.5 else "/" + rng.choice(CHARTS)
        query = urlencode(params(rng, DASHBOARD_PARAMS))
        return f"/-/dashboards/archive{chart}?{query}"
    where = rng.choice(["/", f"/{db}", *(f"/{db}/{q}" for q in QUERIES)])
    return where + ("?" + urlencode(params(rng, ARTICLE_PARAMS)) if rng.random() < 0.5 else "")


def fetch(base: str, url: str) -> tuple[int, str, float, bool]:
    """Status, page, seconds, and whether the page is HTML."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(base + url, timeout=REQUEST_SECONDS) as response:
            status, body, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, body, headers = exc.code, exc.read(), exc.headers
    html = "html" in (headers.get("Content-Type") or "")
    return status, body.decode("utf-8", "replace"), time.monotonic() - started, html


def says_nothing(page: str) -> bool:
    """A 500 page with no message beside its heading (Datasette's own errors carry one)."""
    text = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", page, flags=re.S)
    words = [w for w in text.split() if w not in {"Error", "500", "Powered", "by", "Datasette"}]
    return not words or page.strip().startswith("{") and '"error": ""' in page


def traceback_kind(log: str) -> str:
    """A traceback's exception and the last frame of newsarchive's (else the last frame)."""
    lines = log[log.index("Traceback (most recent call last)") :].splitlines()[1:]
    frames = [line.strip() for line in lines if line.strip().startswith('File "')]
    ours = [frame for frame in frames if "/newsarchive/" in frame and "site-packages" not in frame]
    where = (ours or frames or ["?"])[-1]
    where = re.sub(r'File ".*?([^/]+)", line (\d+), in (\S+)', r"\1:\2 \3", where)
    error = next((line for line in lines if line and not line[0].isspace()), "?")
    return f"traceback: {error.split(':')[0]} at {where}"


def failure(status: int, page: str, seconds: float, html: bool, log: str) -> str | None:
    if "Traceback (most recent call last)" in log:
        return traceback_kind(log)
    if status >= 500 and says_nothing(page):
        return f"HTTP {status} saying nothing"
    if seconds >= REQUEST_SECONDS:
        return "no answer in time"
    if html and MARKUP in page:  # JSON gives the value back as data, which is right
        return "markup sent back unescaped"
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=300, help="how long to run (default 300)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("/tmp/fuzz_browse"), help="failing requests")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "fuzz.db"
        with DemoServer(articles=30, seed=args.seed) as server:
            crawl = subprocess.run(
                [sys.executable, "-m", "newsarchive", "crawl", "demo", "--base-url",
                 server.base_url, "--db", str(db), "-s", "DOWNLOAD_DELAY=0"],
                capture_output=True, text=True, timeout=300,
            )  # fmt: skip
        if crawl.returncode != 0:
            print(crawl.stderr[-2000:])
            return 2
        log_path = Path(tmp) / "browse.log"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        with open(log_path, "w") as log_file:
            browse = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "newsarchive",
                    "browse",
                    "--db",
                    str(db),
                    "--port",
                    str(port),
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                text=True,
            )
        try:
            return fuzz(args, rng, browse, log_path, f"http://127.0.0.1:{port}")
        finally:
            browse.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                browse.wait(timeout=10)


def fuzz(
    args: argparse.Namespace,
    rng: random.Random,
    browse: subprocess.Popen,
    log_path: Path,
    base: str,
) -> int:
    deadline = time.monotonic() + 60
    while True:
        try:
            fetch(base, "/")
            break
        except (urllib.error.URLError, ConnectionError):
            if browse.poll() is not None or time.monotonic() > deadline:
                print(log_path.read_text()[-2000:])
                return 2
            time.sleep(0.2)
    article_id = 1
    with contextlib.suppress(ValueError, KeyError, IndexError):
        rows = json.loads(fetch(base, "/fuzz/articles.json?_shape=arrays&_size=1")[1])["rows"]
        article_id = rows[0][0]
    kinds: dict[str, int] = {}
    requests = 0
    stop = time.monotonic() + args.seconds
    while time.monotonic() < stop:
        url = random_url(rng, "fuzz", article_id)
        seen = log_path.stat().st_size
        try:
            status, page, seconds, html = fetch(base, url)
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            status, page, seconds, html = 0, f"{type(exc).__name__}: {exc}", REQUEST_SECONDS, False
        time.sleep(0.01)  # the log line of the request written
        with open(log_path, errors="replace") as log_file:
            log_file.seek(seen)
            log = log_file.read()
        requests += 1
        kind = failure(status, page, seconds, html, log)
        if browse.poll() is not None:
            kind = "the server ended"
        if kind is None:
            continue
        if kind not in kinds:
            case = args.out / f"case-{args.seed}-{len(kinds) + 1}.txt"
            case.write_text(f"{url}\nHTTP {status} in {seconds:.2f}s\n\n{log}\n\n{page[:20000]}")
            print(f"{kind}: {url[:200]} ({case})", flush=True)
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "the server ended":
            break
    print(f"{requests} requests, {len(kinds)} kinds of failure: {kinds}")
    return 1 if kinds else 0


if __name__ == "__main__":
    sys.exit(main())
