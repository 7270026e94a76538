"""The sitemap backlog: a sitemap's requests handed to Scrapy a chunk at a time
(NEWSARCHIVE_SITEMAP_FEED) fetch exactly what handing them all at once fetches, within an exact
--max-pages; with --resume they all go to Scrapy's disk queue."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from e2e_helpers import articles, crawl_demo

from newsarchive.demo import DemoServer

pytestmark = pytest.mark.e2e

ARTICLES = 70


@pytest.fixture(scope="module")
def server():
    with DemoServer(articles=ARTICLES) as s:
        yield s


def _crawl(server: DemoServer, db: Path, feed: int, *extra: str) -> tuple[list[str], str]:
    """(the paths the crawl requested, its output: the summary and Scrapy's log with its stats)."""
    server.clear_log()
    proc = crawl_demo(server, db, "-v", "-s", f"NEWSARCHIVE_SITEMAP_FEED={feed}", *extra)
    return server.requested_paths(), proc.stdout + proc.stderr


def _fed(output: str) -> int:
    found = re.search(r"'newsarchive/sitemap_fed': (\d+)", output)
    return int(found.group(1)) if found else 0


def _twice(paths: list[str]) -> list[str]:
    """Paths requested more than once, but for the demo's broken page (a 500, retried)."""
    return [p for p, n in Counter(paths).items() if n > 1 and "rusak" not in p]


def _listed(server: DemoServer) -> set[str]:
    sitemap = server.portal.pages["/post-sitemap.xml"][2].decode()
    return {re.sub(r"^https?://[^/]+", "", u) for u in re.findall(r"<loc>([^<]+)</loc>", sitemap)}


def test_fed_sitemap_fetches_what_all_at_once_fetches(server: DemoServer, tmp_path: Path):
    at_once, out = _crawl(server, tmp_path / "at-once.db", 0)
    assert _fed(out) == 0
    fed, out = _crawl(server, tmp_path / "fed.db", 3)
    # Handed over a few at a time: the sitemap's 69 articles, less those the listings and related
    # lists had already asked for.
    assert _fed(out) >= 3
    assert _twice(fed) == [], "a page fetched twice"
    assert sorted(fed) == sorted(at_once)
    listed = _listed(server)
    assert len(listed) == ARTICLES - 1  # all but the moved article
    assert listed <= set(fed), "a sitemap-listed article was never requested"
    got = {row["url"] for row in articles(tmp_path / "fed.db")}
    assert got == {row["url"] for row in articles(tmp_path / "at-once.db")}
    assert len(got) == ARTICLES


def test_fed_sitemap_keeps_max_pages_exact(server: DemoServer, tmp_path: Path):
    # Handed over when fewer than 20 requests wait: so already when the sitemap is read, one of
    # the first pages (with 3, whether the queue ever runs that low within 60 pages is timing).
    paths, out = _crawl(server, tmp_path / "budget.db", 20, "--max-pages", "60")
    assert len(paths) == 60, paths
    assert _fed(out) > 0
    assert _twice(paths) == []
    assert "max_pages" in out


def test_resume_feeds_scrapy_disk_queue_every_sitemap_request(server: DemoServer, tmp_path: Path):
    """With --resume (JOBDIR) every request goes to Scrapy's disk queue at once (no backlog
    a stop would lose): the crawl archives every listed article all the same."""
    db = tmp_path / "resume.db"
    paths, out = _crawl(server, db, 3, "--resume")
    assert "finished" in out
    assert _fed(out) == 0
    assert _twice(paths) == []
    got = {re.sub(r"^https?://[^/]+", "", row["url"]) for row in articles(db)}
    assert _listed(server) <= got
    assert not (tmp_path / "jobs" / "resume" / "demo").exists()
