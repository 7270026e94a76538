"""A round trip through WARC loses no page: crawl the demo portal, export the raw pages as a WARC,
import it into a fresh archive: the same articles, raw bodies, fetch times and records."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_helpers import FirstCrawl, Portal, crawl_demo, run_cli

from newsarchive.storage import Archive, default_pages_path

pytestmark = pytest.mark.e2e


def _pages(db: Path) -> set[tuple]:
    with Archive(db, readonly=True) as archive:
        return {
            (
                row["url"],
                row["final_url"],
                row["status"],
                row["fetched_at"],
                row["part"],
                hashlib.sha256(row["body"]).hexdigest(),
            )
            for row in archive.iter_raw_pages()
        }


def _records(db: Path) -> dict[str, tuple]:
    with sqlite3.connect(db) as conn:
        return {
            url: rest
            for url, *rest in conn.execute(
                "SELECT url, site, title, body, authors, published, category, tags FROM articles"
            )
        }


def test_crawl_export_import_loses_no_page(first_crawl: FirstCrawl, tmp_path: Path) -> None:
    warc = tmp_path / "crawl.warc.gz"
    run_cli(
        "export", "--format", "warc", "-o", str(warc), "--db", str(first_crawl.db), cwd=tmp_path
    )
    check = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", str(warc)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    copy = tmp_path / "copy.db"
    proc = run_cli("import", str(warc), "--db", str(copy), cwd=tmp_path)

    original, again = _records(first_crawl.db), _records(copy)
    assert len(original) >= 60
    assert original == again  # same article URLs, sites, titles, bodies...
    pages = _pages(first_crawl.db)
    assert _pages(copy) == pages  # same raw bodies (sha256), URLs, statuses, fetch times, parts
    assert any(final for _, final, *_ in pages), "the crawl followed no redirect"
    assert any(part for *_, part, _ in pages), "the crawl stitched no multi-page article"
    assert f"{len(original)} new" in proc.stdout
    with sqlite3.connect(default_pages_path(copy)) as conn:
        assert conn.execute("SELECT count(*) FROM pages WHERE part_of IS NOT NULL").fetchone()[0]


def _fetch_history(db: Path) -> tuple[list[tuple], list[tuple]]:
    """Each article's dates and fetch count, and every fetch of every raw page."""
    with sqlite3.connect(db) as conn:
        articles = conn.execute(
            "SELECT url, first_seen, last_seen, fetch_count, content_since, content_hash, "
            "gone_since FROM articles ORDER BY url"
        ).fetchall()
    with sqlite3.connect(default_pages_path(db)) as conn:
        fetches = sorted(
            conn.execute(
                "SELECT p.url, p.sha256, f.fetched_at, f.status FROM fetches f "
                "JOIN pages p ON p.id = f.page_id"
            )
        )
    return articles, fetches


def test_a_recrawl_s_refetches_travel_through_a_warc(
    first_crawl: FirstCrawl, portal: Portal, tmp_path: Path
) -> None:
    # The crawl's second run rechecks every archived article; most come back unchanged. The WARC
    # held each distinct body once: the refetches were lost on import (last_seen, fetch_count).
    db = tmp_path / "recrawled" / "demo.db"
    run_cli("backup", str(db.parent), "--db", str(first_crawl.db), cwd=tmp_path)
    time.sleep(1.1)  # a second later: the refetches' times are not the first fetches'
    crawl_demo(portal.server, db, "-s", "NEWSARCHIVE_RECHECK_DAYS=0")
    articles, fetches = _fetch_history(db)
    assert sum(count for *_, count, _since, _hash, _gone in articles) > len(articles) + 20
    warc = tmp_path / "recrawl.warc.gz"
    exported = run_cli("export", "--format", "warc", "-o", str(warc), "--db", str(db), cwd=tmp_path)
    assert "refetches that found a page again" in exported.stderr
    copy = tmp_path / "copy.db"
    imported = run_cli("import", str(warc), "--db", str(copy), cwd=tmp_path)
    assert "refetches that found a page again" in imported.stdout
    assert _fetch_history(copy) == (articles, fetches)
    assert _records(copy) == _records(db)
