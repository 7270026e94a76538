"""A round trip through WARC loses no page: crawl the demo portal, export the raw pages as a WARC,
import it into a fresh archive: the same articles, raw bodies, fetch times and records."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_helpers import FirstCrawl, run_cli

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
