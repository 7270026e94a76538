"""An extractor bug in a real crawl: the pages it hit are kept, said, alarmed on, and recovered.

The bug is planted in the crawl's processes (its extraction workers included) by a
`sitecustomize` module on PYTHONPATH: `extract_pages` raises for the URLs the test names, as
an extractor bug on a page shape nobody met before would. Everything else is real: the demo
portal on loopback, the crawl, the archive files, the commands.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from e2e_helpers import CLI, CRAWL_TIMEOUT, FAST, articles, crawl_env

from newsarchive.demo import DemoServer
from newsarchive.demo.check import audit
from newsarchive.storage import Archive
from newsarchive.storage.queries import article_rows

PLANTED_BUG = """
import os

_broken = [u for u in os.environ.get("NEWSARCHIVE_TEST_BROKEN_URLS", "").split(",") if u]
if _broken:
    import newsarchive.extract

    _extract_pages = newsarchive.extract.extract_pages

    def _extract_with_a_bug(pages, profile=None):
        if pages[0].url in _broken:
            import multiprocessing

            if os.environ.get("NEWSARCHIVE_TEST_BUG") == "exit" and multiprocessing.parent_process():
                os._exit(70)  # as a crash in a C library would end the extraction worker
            raise ZeroDivisionError("a planted extractor bug")
        return _extract_pages(pages, profile)

    newsarchive.extract.extract_pages = _extract_with_a_bug
"""


def command(
    *args: str, cwd: Path, bug_dir: Path, broken: list[str], bug: str = "raise"
) -> subprocess.CompletedProcess[str]:
    env = crawl_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(bug_dir), env.get("PYTHONPATH")]))
    env["NEWSARCHIVE_TEST_BROKEN_URLS"] = ",".join(broken)
    env["NEWSARCHIVE_TEST_BUG"] = bug
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=CRAWL_TIMEOUT
    )


def kinds(db: Path) -> dict[str, str]:
    with Archive(db, create=False) as archive:
        return dict(archive.pages.execute("SELECT url, kind FROM pages WHERE part_of IS NULL"))


@pytest.fixture(scope="module")
def server() -> DemoServer:
    with DemoServer(articles=10) as started:
        yield started


def test_pages_an_extractor_bug_hit_are_recovered_by_reextract(server: DemoServer, tmp_path: Path):
    bug_dir = tmp_path / "bug"
    bug_dir.mkdir()
    (bug_dir / "sitecustomize.py").write_text(PLANTED_BUG)
    portal = server.portal
    assert portal.multipage_path
    multipage = portal.url(portal.multipage_path)
    single = next(portal.url(a.path) for a in portal.articles if a.pages == 1)
    broken = [multipage, single]
    db = tmp_path / "archive.db"

    crawl = command(
        "crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST,
        cwd=tmp_path, bug_dir=bug_dir, broken=broken,
    )  # fmt: skip
    # Said in the crawl's Error line, and the exit status: a cron mail carries both.
    assert crawl.returncode == 1, crawl.stderr[-2000:]
    assert "demo: extraction failed on 2 page(s)" in crawl.stderr
    stored = kinds(db)
    assert stored[single] == stored[multipage] == "unextracted"
    assert len(articles(db)) == len(portal.articles) - 2

    health = command("health", "--db", str(db), cwd=tmp_path, bug_dir=bug_dir, broken=[])
    assert health.returncode == 1
    assert "demo: unextracted-pages 0 -> 2 raw pages (newsarchive reextract --site demo)" in (
        health.stderr
    )

    # The bug still there: they fail again, and say so.
    again = command("reextract", "--db", str(db), cwd=tmp_path, bug_dir=bug_dir, broken=broken)
    assert again.returncode == 1
    assert "tried again 2 of 2 page(s) extraction had failed on: 2 failed again" in again.stdout
    assert kinds(db)[single] == "unextracted"

    # The bug fixed: their records are made, as a crawl without the bug makes them.
    fixed = command("reextract", "--db", str(db), cwd=tmp_path, bug_dir=bug_dir, broken=[])
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "tried again 2 of 2 page(s) extraction had failed on: 2 made a record" in fixed.stdout
    with Archive(db, create=False) as archive:
        report = audit(article_rows(archive), portal)
        parts = archive.pages.execute(
            "SELECT DISTINCT kind FROM pages WHERE part_of IS NOT NULL"
        ).fetchall()
    assert report.problems == {}
    assert report.complete == len(portal.articles)
    assert parts == [("article",)]  # the multi-page article's later pages follow its first
    assert set(kinds(db).values()) <= {"article", "listing", "other", "error"}
    health = command("health", "--db", str(db), cwd=tmp_path, bug_dir=bug_dir, broken=[])
    assert health.returncode == 0, health.stderr


def test_an_import_keeps_the_page_an_extractor_bug_hit(tmp_path: Path):
    bug_dir = tmp_path / "bug"
    bug_dir.mkdir()
    (bug_dir / "sitecustomize.py").write_text(PLANTED_BUG)
    with DemoServer(articles=3) as started:
        portal = started.portal
        article = portal.articles[0]
        body = portal.response(article.path)[2]
    page = tmp_path / "page.html"
    page.write_bytes(body)
    url = portal.url(article.path)
    db = tmp_path / "archive.db"

    imported = command(
        "import", str(page), "--url", url, "--db", str(db),
        cwd=tmp_path, bug_dir=bug_dir, broken=[url],
    )  # fmt: skip
    # Before: the error line, and nothing of the page kept.
    assert imported.returncode == 1
    assert "a planted extractor bug; its raw page is kept" in imported.stderr
    assert kinds(db) == {url: "unextracted"}

    fixed = command("reextract", "--db", str(db), cwd=tmp_path, bug_dir=bug_dir, broken=[])
    assert fixed.returncode == 0, fixed.stderr
    [row] = articles(db)
    assert row["title"] == article.title


def test_a_page_its_extraction_worker_died_on_is_kept_unextracted(
    server: DemoServer, tmp_path: Path
):
    bug_dir = tmp_path / "bug"
    bug_dir.mkdir()
    (bug_dir / "sitecustomize.py").write_text(PLANTED_BUG)
    portal = server.portal
    deadly = portal.url(portal.articles[-1].path)
    db = tmp_path / "archive.db"

    crawl = command(
        "crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST,
        "-s", "NEWSARCHIVE_EXTRACT_WORKERS=1",
        cwd=tmp_path, bug_dir=bug_dir, broken=[deadly], bug="exit",
    )  # fmt: skip
    assert crawl.returncode == 1, crawl.stderr[-2000:]
    # Which process ended, and how (before: "(worker_died)" alone; then "(still running)").
    assert "newsarchive-extract-1" in crawl.stderr
    assert "ended unexpectedly (exit status 70)" in crawl.stderr
    assert kinds(db)[deadly] == "unextracted"

    fixed = command("reextract", "--db", str(db), cwd=tmp_path, bug_dir=bug_dir, broken=[])
    assert fixed.returncode == 0, fixed.stderr
    assert any(row["title"] == portal.articles[-1].title for row in articles(db))


def test_pages_that_are_no_html_are_other_pages_not_a_failed_crawl(tmp_path: Path):
    """A portal serving an article's URL with a page cut short or blank: the page's own fault,
    which no re-extraction mends. The crawl said "extraction failed", exit 1,
    and sent the user to `reextract`, which does not try such pages."""
    with DemoServer(articles=10) as server:
        portal = server.portal
        singles = [a for a in portal.articles if a.pages == 1]
        cut, blank = portal.url(singles[0].path), portal.url(singles[1].path)
        html = {"Content-Type": "text/html; charset=utf-8"}
        portal.pages[singles[0].path] = (200, html, b"<!DOCTYPE html")
        portal.pages[singles[1].path] = (200, html, b"\n \n")
        db = tmp_path / "archive.db"
        crawl = subprocess.run(
            [*CLI, "crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST],
            cwd=tmp_path, env=crawl_env(), capture_output=True, text=True, timeout=CRAWL_TIMEOUT,
        )  # fmt: skip
    assert crawl.returncode == 0, crawl.stderr[-2000:]
    assert "extraction failed" not in crawl.stderr
    assert f"{cut}: kept as another page: not an HTML page" in crawl.stderr
    with Archive(db, create=False) as archive:
        reasons = dict(
            archive.pages.execute(
                "SELECT url, kind_reasons FROM pages WHERE url IN (?, ?)", [cut, blank]
            ).fetchall()
        )
    assert kinds(db)[cut] == kinds(db)[blank] == "other"
    assert "cannot parse it as HTML" in reasons[cut] and "the page is empty" in reasons[blank]
    assert len(articles(db)) == len(portal.articles) - 2
