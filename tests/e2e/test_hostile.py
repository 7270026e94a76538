"""The real crawl against a hostile portal: every fault ends archived or recorded with a reason.

One crawl of the whole portal per module (the `hostile` fixture), as a user runs it (the CLI in a
subprocess), then one test per fault, so a report names exactly which faults still go wrong.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from e2e_helpers import CLI, FAST, crawl_env
from hostile_server import (
    CALENDAR_TRAP,
    DISALLOWED_PATH,
    FAULTS,
    HTML_BOMB_PREFIX,
    PAGE_TRAP,
    SITEMAP_BOMB_PATH,
    SIZE_REASON,
    SPECIAL_PARAGRAPH,
    Fault,
    HostileServer,
    Measured,
    gzip_bomb,
    run_measured,
)

from newsarchive.demo.check import audit

pytestmark = pytest.mark.e2e

CRAWL_BOUND = 150  # seconds: the hang and the drip cost 3 s per try, retries included
RSS_BOUND = 1_000_000_000
# A trap page may be fetched a few times (the page that showed nothing new, one more), never to
# the depth limit (30).
TRAP_BOUND = 8
# The sitemap bomb is listed in robots.txt, not linked: a fault of its own.
CHECKS = (
    *FAULTS,
    Fault("sitemap_bomb", SITEMAP_BOMB_PATH, "failure", SIZE_REASON, ".xml.gz inflating to 2 GB"),
)


@dataclass
class HostileCrawl:
    server: HostileServer
    db: Path
    run: Measured
    requests: list[str]  # paths, in order
    failures: list[dict]
    articles: dict[str, dict]  # by path


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _rows(db: Path, sql: str) -> list[dict]:
    # Read-only: the test must not be the thing that changes the archive.
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql)]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileCrawl:
    # Built before the crawl starts, so the first bomb request is not kept waiting.
    gzip_bomb(HTML_BOMB_PREFIX)
    tmp = tmp_path_factory.mktemp("hostile")
    db = tmp / "hostile.db"
    with HostileServer() as server:
        cmd = [*CLI, "crawl", server.base_url, "--db", str(db), *FAST]
        cmd += ["-s", "DOWNLOAD_TIMEOUT=3", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16"]
        run = run_measured(cmd, cwd=tmp, env=crawl_env(), timeout=CRAWL_BOUND)
        requests = server.requested_paths()
        crawl = HostileCrawl(server, db, run, requests, [], {})
        if db.exists():
            crawl.failures = _rows(db, "SELECT url, reason, status FROM failures")
            crawl.articles = {_path(r["url"]): r for r in _rows(db, "SELECT * FROM articles")}
        yield crawl


def _report(crawl: HostileCrawl) -> str:
    return f"exit {crawl.run.returncode}; output:\n{crawl.run.output[-3000:]}"


# --- the crawl as a whole ---------------------------------------------------------------------


def test_crawl_ends_by_itself_and_says_so(hostile: HostileCrawl) -> None:
    assert hostile.run.returncode is not None, f"still running after {CRAWL_BOUND}s: killed"
    # Six articles archived: a crawl that did its job, whatever the faults beside them.
    assert hostile.run.returncode == 0, _report(hostile)
    assert hostile.run.seconds < CRAWL_BOUND


def test_peak_memory_under_1_gb(hostile: HostileCrawl) -> None:
    assert hostile.run.peak_rss < RSS_BOUND, (
        f"peak RSS of the crawl's processes {hostile.run.peak_rss / 1e6:.0f} MB"
    )


def test_no_traceback(hostile: HostileCrawl) -> None:
    assert "Traceback" not in hostile.run.output, hostile.run.output[-5000:]


def test_normal_articles_archived_clean(hostile: HostileCrawl) -> None:
    portal = hostile.server.site.portal  # type: ignore[union-attr]
    report = audit(hostile.articles.values(), replace(portal, info_paths=()))
    assert report.problems == {}
    assert report.complete == len(portal.articles) == 6


def test_only_articles_become_records(hostile: HostileCrawl) -> None:
    article_paths = {a.path for a in hostile.server.site.normal}  # type: ignore[union-attr]
    article_paths |= {f.path for f in FAULTS if f.expect == "archived"}
    assert set(hostile.articles) - article_paths == set(), "pages stored as articles"


def test_robots_disallowed_link_never_requested(hostile: HostileCrawl) -> None:
    assert "/robots.txt" in hostile.requests
    assert DISALLOWED_PATH not in hostile.requests
    assert not [p for p in hostile.requests if p.startswith(("/rahasia/", "/cetak/", "/cari"))]


def test_robots_fetched_once(hostile: HostileCrawl) -> None:
    assert hostile.requests.count("/robots.txt") == 1


@pytest.mark.parametrize("trap", [PAGE_TRAP, CALENDAR_TRAP])
def test_trap_followed_a_bounded_number_of_times(hostile: HostileCrawl, trap: str) -> None:
    hits = [p for p in hostile.requests if p.split("?", 1)[0] == trap]
    assert hits, f"{trap} was never visited (it is in the home page's navigation)"
    assert len(hits) <= TRAP_BOUND, f"{trap} fetched {len(hits)} times: {hits[:3]} ..."


def test_every_reason_is_specific(hostile: HostileCrawl) -> None:
    # "ResponseDataLossError: " (a class name and nothing) says nothing to a person.
    vague = [
        f
        for f in hostile.failures
        if not (f["reason"] or "").strip() or re.fullmatch(r"[\w.]+:\s*", f["reason"])
    ]
    assert vague == []


# --- one test per fault -----------------------------------------------------------------------


@pytest.mark.parametrize("fault", CHECKS, ids=[f.name for f in CHECKS])
def test_fault(hostile: HostileCrawl, fault: Fault) -> None:
    requested = [p for p in hostile.requests if p.split("?", 1)[0].startswith(fault.stem)]
    assert requested, f"{fault.path} ({fault.what}) was never requested"
    failures = [f for f in hostile.failures if _path(f["url"]).startswith(fault.stem)]
    if fault.expect == "archived":
        _assert_archived(hostile, fault, failures)
    else:
        assert failures, (
            f"{fault.what}: nothing in failures (silent); "
            f"archived as an article: {fault.path in hostile.articles}"
        )
        reasons = [f["reason"] for f in failures]
        assert any(re.search(fault.reason, r or "", re.IGNORECASE) for r in reasons), (
            f"{fault.what}: reasons {reasons!r} do not say /{fault.reason}/"
        )
        assert not [p for p in hostile.articles if p.startswith(fault.stem)], "archived as article"
    if fault.name.startswith("redirect"):
        # Scrapy gives up after REDIRECT_MAX_TIMES (20) hops; a loop must not be walked again.
        assert len(requested) <= 25, f"{len(requested)} requests"


def _assert_archived(hostile: HostileCrawl, fault: Fault, failures: list[dict]) -> None:
    art, special = hostile.server.expected_article(fault)
    row = hostile.articles.get(fault.path)
    assert row is not None, f"{fault.what}: not archived; failures {failures!r}"
    assert (row["title"] or "").strip() == art.title
    body = row["body"] or ""
    missing = [p[:50] for p in art.paragraphs if p.removesuffix(" ***")[:60] not in body]
    assert missing == [], f"{fault.what}: body lacks {missing[:3]} (body {len(body)} chars)"
    if special:
        assert SPECIAL_PARAGRAPH in body, (
            f"{fault.what}: curly quotes/accents garbled: "
            f"{[line for line in body.splitlines() if 'Andr' in line]!r}"
        )
    assert failures == [], f"archived, yet recorded as failed: {failures!r}"


# --- import of a decompression bomb -----------------------------------------------------------


def test_import_gzip_bomb_is_bounded(tmp_path: Path) -> None:
    bomb = tmp_path / "bom.html.gz"
    bomb.write_bytes(gzip_bomb(HTML_BOMB_PREFIX))
    db = tmp_path / "archive.db"
    run = run_measured(
        [*CLI, "import", str(bomb), "--db", str(db)], cwd=tmp_path, env=crawl_env(), timeout=60
    )
    assert run.returncode is not None, "import still running after 60 s"
    assert "Traceback" not in run.output, run.output[-3000:]
    assert run.peak_rss < RSS_BOUND, f"peak RSS {run.peak_rss / 1e6:.0f} MB"
    # Nothing archived from it, and the one line that says why names the file and the limit.
    assert run.returncode != 0, run.output
    assert "bom.html.gz" in run.output and re.search(SIZE_REASON, run.output, re.IGNORECASE), (
        run.output
    )
    if db.exists():
        assert _rows(db, "SELECT count(*) AS n FROM articles") == [{"n": 0}]
