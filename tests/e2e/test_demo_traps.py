"""The demo portal's traps: tracking-parameter spellings of article links, and pages that are not
news (about, contact, advertising, guideline, privacy) at article-shaped URLs and in a sitemap.

Crawled by URL (discovery, no profile), as a new user would: the profile's article patterns would
hide both traps.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from urllib.parse import urlsplit

import pytest
from e2e_helpers import FAST, run_cli

from newsarchive.demo import DemoServer
from newsarchive.demo.generator import strip_tracking
from newsarchive.storage import default_pages_path

pytestmark = pytest.mark.e2e


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("traps")
    db = tmp / "traps.db"
    with DemoServer() as server:
        run_cli("crawl", server.base_url, "--db", str(db), *FAST, cwd=tmp)
        yield server, db


def test_no_url_fetched_twice(crawl) -> None:
    server, _db = crawl
    # Retries of a 5xx answer are meant; any other second fetch of the same page is not.
    counts = Counter(strip_tracking(r.path) for r in server.requests if r.status < 500)
    twice = {path: n for path, n in counts.items() if n > 1}
    assert twice == {}, f"{len(twice)} URLs fetched more than once, e.g. {list(twice.items())[:3]}"


def test_tracking_links_exist(crawl) -> None:
    # The trap is really there: the crawl met tracking-parameter spellings of articles.
    server, _db = crawl
    home = server.portal.pages["/"][2]
    assert b"utm_source=" in home and b"#comments" in home


def test_no_non_article_records(crawl) -> None:
    server, db = crawl
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    paths = {_path(u) for (u,) in conn.execute("SELECT url FROM articles")}
    conn.close()
    article_paths = {a.path for a in server.portal.articles}
    assert paths - article_paths == set(), "non-article pages stored as articles"
    assert article_paths <= paths


def test_info_pages_kept_as_raw_pages_of_another_kind(crawl) -> None:
    server, db = crawl
    fetched = {strip_tracking(r.path) for r in server.requests if r.status == 200}
    info = [p for p in server.portal.info_paths if p in fetched]
    assert info, "the crawl fetched none of the about/contact/policy pages"
    pages = default_pages_path(db)
    conn = sqlite3.connect(f"file:{pages}?mode=ro", uri=True)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(pages)")}
    assert "kind" in columns, "pages has no kind column (engineer B's migration)"
    kinds = {_path(u): k for u, k in conn.execute("SELECT url, kind FROM pages")}
    conn.close()
    wrong = {p: kinds.get(p) for p in info if kinds.get(p) in (None, "article")}
    assert wrong == {}, "info pages missing from pages or kept as articles"
