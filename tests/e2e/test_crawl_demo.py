"""End to end: the real spider crawls the demo portal over loopback into a real archive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from e2e_helpers import CLI, FAST, FirstCrawl, Portal, articles, copy_archive, crawl_demo, crawl_env

from newsarchive.demo.check import CHROME_MARKERS, audit
from newsarchive.storage import Archive
from newsarchive.storage.queries import article_rows

pytestmark = pytest.mark.e2e


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _article_paths(portal: Portal) -> set[str]:
    paths = set()
    for art in portal.server.portal.articles:
        paths.add(art.path)
        for page in range(2, art.pages + 1):
            paths.add(f"{art.path}?page={page}")
    return paths


def _content(db: Path) -> dict[str, tuple]:
    return {
        _path(row["url"]): (
            row["title"],
            row["body"],
            row["published"],
            row["authors"],
            row["category"],
        )
        for row in articles(db)
    }


def test_first_crawl_archives_every_article_clean(first_crawl: FirstCrawl, portal: Portal) -> None:
    with Archive(first_crawl.db, create=False) as archive:
        report = audit(article_rows(archive), portal.server.portal)
        assert archive.count("articles") == len(portal.server.portal.articles) == 60
    assert report.problems == {}
    assert report.complete == 60
    for row in articles(first_crawl.db):
        assert row["site"] == "demo"
        assert not any(marker in row["body"] for marker in CHROME_MARKERS)
    assert "60 new" in first_crawl.output


def test_crawl_runs_row_and_user_agent(first_crawl: FirstCrawl) -> None:
    with Archive(first_crawl.db, create=False) as archive:
        runs = list(archive.db.query("SELECT * FROM crawl_runs"))
    assert len(runs) == 1
    run = runs[0]
    assert run["site"] == "demo" and run["finished"]
    assert run["articles_new"] == 60 and run["articles_updated"] == 0
    assert run["pages_fetched"] > 60 and run["failures"] == 2
    agents = {r.user_agent for r in first_crawl.requests}
    assert agents == {"newsarchive/0.1.0 (+https://example.org/newsarchive-e2e)"}


def test_robots_disallowed_paths_never_requested(first_crawl: FirstCrawl, portal: Portal) -> None:
    paths = [r.path for r in first_crawl.requests]
    assert "/robots.txt" in paths
    # The portal links into both disallowed paths from every article page.
    linked = portal.server.portal.pages[portal.server.portal.articles[0].path][2]
    assert b'href="/cetak/' in linked and b'href="/cari?' in linked
    assert not [p for p in paths if p.startswith(portal.server.portal.disallowed_prefixes)]


def test_offsite_links_never_followed(first_crawl: FirstCrawl, portal: Portal) -> None:
    article_page = portal.server.portal.pages[portal.server.portal.articles[0].path][2]
    assert portal.offsite.base_url.encode() in article_page
    assert portal.offsite.requests == []


def test_404_and_500_recorded_as_failures(first_crawl: FirstCrawl, portal: Portal) -> None:
    site = portal.server.portal
    with Archive(first_crawl.db, create=False) as archive:
        failures = {
            (_path(r["url"]), r["status"]) for r in archive.db.query("SELECT * FROM failures")
        }
    assert failures == {(site.gone_path, 404), (site.broken_path, 500)}
    broken = [r for r in first_crawl.requests if r.path == site.broken_path]
    assert len(broken) == 3  # retried twice, then given up


def test_redirect_stored_under_final_url(first_crawl: FirstCrawl, portal: Portal) -> None:
    site = portal.server.portal
    rows = {_path(r["url"]): r for r in articles(first_crawl.db)}
    assert site.redirect_to in rows
    assert site.redirect_from not in rows
    row = rows[site.redirect_to]
    assert _path(row["page_url"]) == site.redirect_from
    assert _path(row["final_url"]) == site.redirect_to
    # The crawler reached the article only through the redirect.
    paths = [r.path for r in first_crawl.requests]
    assert site.redirect_from in paths and site.redirect_to in paths


def test_multipage_article_stitched(first_crawl: FirstCrawl, portal: Portal) -> None:
    site = portal.server.portal
    art = next(a for a in site.articles if a.pages > 1)
    row = {_path(r["url"]): r for r in articles(first_crawl.db)}[art.path]
    for para in (art.paragraphs[0], art.paragraphs[len(art.paragraphs) // 2], art.paragraphs[-1]):
        assert para in row["body"]
    assert "stitched from 3 pages" in json.loads(row["notes"])
    paths = [r.path for r in first_crawl.requests]
    assert f"{art.path}?page=2" in paths and f"{art.path}?page=3" in paths
    # Later pages are not articles of their own.
    assert len(articles(first_crawl.db)) == 60


def test_second_crawl_fetches_no_article_again(
    first_crawl: FirstCrawl, portal: Portal, tmp_path: Path
) -> None:
    db = tmp_path / "demo.db"
    copy_archive(first_crawl.db, db)
    before_content = _content(db)
    start = len(portal.server.requests)
    proc = crawl_demo(portal.server, db)
    requested = [r.path for r in portal.server.requests[start:]]
    assert requested, "the second crawl asked for nothing at all"
    assert set(requested) & _article_paths(portal) == set()
    assert portal.server.portal.redirect_from not in requested
    assert _content(db) == before_content
    with Archive(db, create=False) as archive:
        assert archive.count("articles") == 60
        assert archive.count("versions") == 0
        run = list(archive.db.query("SELECT * FROM crawl_runs ORDER BY id"))[-1]
    assert run["articles_new"] == run["articles_updated"] == run["articles_unchanged"] == 0
    assert "0 new" in proc.stdout


def test_killed_crawl_resumes_to_the_same_archive(
    first_crawl: FirstCrawl, portal: Portal, tmp_path: Path
) -> None:
    db = tmp_path / "demo.db"
    article_paths = _article_paths(portal)
    start = len(portal.server.requests)
    # Slow enough to be killed midway; small commits so part of the work is in the archive.
    slow = [
        "-s",
        "DOWNLOAD_DELAY=0.05",
        "-s",
        "DOWNLOAD_DELAY_JITTER=0",
        "-s",
        "CONCURRENT_REQUESTS_PER_DOMAIN=1",
    ]
    cmd = [
        *CLI,
        "crawl",
        "demo",
        "--base-url",
        portal.server.base_url,
        "--db",
        str(db),
        "--resume",
        *FAST,
        *slow,
    ]
    cmd += ["-s", "NEWSARCHIVE_COMMIT_EVERY=5"]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=crawl_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        fetched = [r for r in portal.server.requests[start:] if r.path in article_paths]
        if len(fetched) >= 25:
            break
        time.sleep(0.05)
    workers = _descendants(proc.pid)
    assert workers, "the crawl runs its extraction and archive writer in worker processes"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # Its workers see their socket close and end too: a killed crawl leaves no process behind.
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)], "worker processes outlived the crawl"
    jobdir = tmp_path / "jobs" / "demo" / "demo"
    assert jobdir.is_dir(), "the crawl kept no job directory"
    partial = len(articles(db))
    assert 0 < partial < 60, f"expected a crawl killed midway, archive had {partial} articles"

    resume_start = len(portal.server.requests)
    crawl_demo(portal.server, db, "--resume")
    refetched = [r.path for r in portal.server.requests[resume_start:] if r.path in article_paths]
    assert _content(db) == _content(first_crawl.db)
    with Archive(db, create=False) as archive:
        assert archive.count("articles") == 60
        assert archive.count("versions") == 0
        counts = [
            row["fetch_count"] for row in archive.db.query("SELECT fetch_count FROM articles")
        ]
    assert set(counts) == {1}, "an article was archived twice"
    # What the killed run had committed was not fetched again.
    assert len(set(refetched)) <= 60 + 2 - partial
    assert not jobdir.exists(), "a finished crawl leaves no job state behind"


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped by init."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_since_skips_old_articles_without_fetching(portal: Portal, tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    since = date(2023, 6, 25)
    start = len(portal.server.requests)
    crawl_demo(portal.server, db, "--since", since.isoformat())
    requested = {r.path for r in portal.server.requests[start:]}
    site = portal.server.portal
    archived = set(_content(db))
    recent = {a.path for a in site.articles if a.published.date() >= since}
    assert recent <= archived
    # Old articles whose date shows in the URL, a sitemap, a feed or a listing are never fetched.
    old_dated = {a.path for a in site.articles if a.published.date() < since and a.style != "detik"}
    assert old_dated and not (old_dated & requested)


def test_scrapy_crawl_discovers_the_portal_without_a_profile(
    portal: Portal, tmp_path: Path
) -> None:
    """`scrapy crawl portal -a site=URL`: the same spider, discovering the site from its URL."""
    db = tmp_path / "discovered.db"
    env = crawl_env()
    env["SCRAPY_SETTINGS_MODULE"] = "newsarchive.settings"
    cmd = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "portal",
        "-a",
        f"site={portal.server.base_url}",
    ]
    cmd += ["-a", f"db={db}", "-s", "LOG_LEVEL=WARNING", *FAST]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    site = portal.server.portal
    assert {a.path for a in site.articles} <= set(_content(db))
    with Archive(db, create=False) as archive:
        report = audit(article_rows(archive), site)
        runs = list(archive.db.query("SELECT site FROM crawl_runs"))
    assert report.complete == 60
    assert runs == [{"site": "127.0.0.1"}]


def test_sitemaps_feed_and_pagination_forms_followed(first_crawl: FirstCrawl) -> None:
    paths = {r.path for r in first_crawl.requests}
    assert {"/sitemap_index.xml", "/post-sitemap.xml", "/news-sitemap.xml", "/feed/"} <= paths
    # The three pagination forms and the date index.
    assert {
        "/kategori/opini/page/2/",
        "/nasional/?page=2",
        "/ekonomi/?page=2",
        "/indeks?date=2023-07-01",
    } <= paths


def test_changed_article_gets_a_new_version(tmp_path: Path) -> None:
    """A sitemap lastmod newer than the archive's copy makes the next run fetch that article only."""
    from newsarchive.demo import DemoServer

    with DemoServer(articles=12) as server:
        db = tmp_path / "demo.db"
        crawl_demo(server, db)
        site = server.portal
        art = site.articles[3]
        status, headers, body = site.pages[art.path]
        old_para = art.paragraphs[1]
        site.pages[art.path] = (
            status,
            headers,
            body.replace(old_para.encode(), b"Paragraf ini diperbarui redaksi."),
        )
        now = datetime.now(UTC).isoformat()
        sitemap = site.pages["/post-sitemap.xml"]
        loc = f"<loc>{site.url(art.path)}</loc><lastmod>{art.published.isoformat()}</lastmod>"
        assert loc.encode() in sitemap[2]
        site.pages["/post-sitemap.xml"] = (
            sitemap[0],
            sitemap[1],
            sitemap[2].replace(
                loc.encode(), f"<loc>{site.url(art.path)}</loc><lastmod>{now}</lastmod>".encode()
            ),
        )
        start = len(server.requests)
        crawl_demo(server, db)
        article_paths = {a.path for a in site.articles}
        refetched = [r.path for r in server.requests[start:] if r.path in article_paths]
    assert refetched == [art.path]
    rows = {_path(r["url"]): r for r in articles(db)}
    assert "Paragraf ini diperbarui redaksi." in rows[art.path]["body"]
    with Archive(db, create=False) as archive:
        versions = archive.versions(rows[art.path]["id"])
        run = list(archive.db.query("SELECT * FROM crawl_runs ORDER BY id"))[-1]
    assert len(versions) == 1 and old_para[:60] in versions[0]["body"]
    assert run["articles_updated"] == 1 and run["articles_new"] == 0
