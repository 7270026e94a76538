"""An article the site takes down: a revisit answered 404 marks its record gone, and keeps it."""

from __future__ import annotations

import re
from pathlib import Path

from e2e_helpers import articles, crawl_demo, crawled_then_taken_down

from newsarchive.demo import DemoServer


def test_a_revisit_answered_404_marks_the_article_gone(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with DemoServer(articles=6) as server:
        portal = server.portal
        crawl_demo(server, db)
        taken_down = portal.articles[0]
        url = portal.url(taken_down.path)
        # The site takes the article down, and its sitemap says the URL changed (which makes the
        # next run fetch it again, as a due revisit does).
        portal.pages[taken_down.path] = (404, {"Content-Type": "text/html"}, b"<h1>404</h1>")
        status, headers, sitemap = portal.pages["/post-sitemap.xml"]
        sitemap = re.sub(
            rb"(<loc>" + re.escape(url.encode()) + rb"</loc><lastmod>)[^<]+",
            rb"\g<1>2099-01-01T00:00:00+07:00",
            sitemap,
        )
        portal.pages["/post-sitemap.xml"] = (status, headers, sitemap)
        crawl_demo(server, db)
    by_url = {row["url"]: row for row in articles(db)}
    gone = by_url[url]
    # Kept, with what it said before it was taken down, and when the site stopped serving it.
    assert gone["title"] == taken_down.title
    assert gone["gone_since"] is not None
    assert [row["url"] for row in by_url.values() if row["gone_since"]] == [url]


def test_an_article_taken_down_after_it_left_the_listings_is_found_by_a_recheck(
    tmp_path: Path,
) -> None:
    db = tmp_path / "archive.db"
    with DemoServer(articles=6) as server:
        taken_down = server.portal.articles[0]
        urls = crawled_then_taken_down(server, db)
        before = {row["url"]: row for row in articles(db)}

        # Rechecks off: the crawl never asks for it again, and cannot know.
        crawl_demo(server, db, "-s", "NEWSARCHIVE_RECHECK_PER_RUN=0")
        assert not [row["url"] for row in articles(db) if row["gone_since"]]

        # Two a run: the two fetched longest ago, the taken-down one first.
        result = crawl_demo(server, db, "-s", "NEWSARCHIVE_RECHECK_PER_RUN=2")
        assert "archived articles skipped, 2 rechecked;" in result.stdout
        after = {row["url"]: row for row in articles(db)}
        assert [url for url, row in after.items() if row["gone_since"]] == [urls[0]]
        assert after[urls[0]]["title"] == taken_down.title  # the record kept
        rechecked = [url for url in urls if after[url]["fetch_count"] > before[url]["fetch_count"]]
        assert rechecked == [urls[1]]
        assert after[urls[1]]["last_seen"] > before[urls[1]]["last_seen"]

        # The next run takes the next ones in line; the gone one is not asked again.
        crawl_demo(server, db, "-s", "NEWSARCHIVE_RECHECK_PER_RUN=2")
        again = {row["url"]: row for row in articles(db)}
        rechecked = [url for url in urls if again[url]["fetch_count"] > after[url]["fetch_count"]]
        assert rechecked == urls[2:4]
        assert again[urls[0]]["gone_since"] == after[urls[0]]["gone_since"]


def test_a_recheck_that_fails_does_not_hold_up_the_others(tmp_path: Path) -> None:
    # An article whose recheck keeps failing keeps its last fetch: were the rechecks always the
    # ones fetched longest ago, it would be asked first every run, and a few such articles
    # would stop every other article from being rechecked.
    db = tmp_path / "archive.db"
    with DemoServer(articles=6) as server:
        urls = crawled_then_taken_down(server, db)
        broken = server.portal.articles[1].path
        server.portal.pages[broken] = (500, {"Content-Type": "text/html"}, b"<h1>500</h1>")
        fetches = {row["url"]: row["fetch_count"] for row in articles(db)}
        asked_for_broken = []
        for _ in range(4):
            start = len(server.requests)
            crawl_demo(server, db, "-s", "NEWSARCHIVE_RECHECK_PER_RUN=2", "-s", "RETRY_TIMES=0")
            asked_for_broken.append(
                sum(request.path == broken for request in server.requests[start:])
            )
            now = {row["url"]: row["fetch_count"] for row in articles(db)}
            rechecked = [url for url in urls if now[url] > fetches[url]]
            fetches = now
            if len(asked_for_broken) == 2:
                assert rechecked == urls[2:4]
            if len(asked_for_broken) == 3:
                assert rechecked == urls[4:6]
    # Asked in the first run (with the taken-down one), then again only when every other had
    # had its turn (the fourth run: the others were fetched minutes ago, so it alone).
    assert asked_for_broken == [1, 0, 0, 1]


def test_an_article_url_redirected_to_the_home_page_is_marked_gone(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with DemoServer(articles=6) as server:
        urls = crawled_then_taken_down(server, db)
        # Not a 404: the site sends the article's readers to its home page.
        server.portal.pages[server.portal.articles[0].path] = (301, {"Location": "/"}, b"")
        result = crawl_demo(server, db, "-s", "NEWSARCHIVE_RECHECK_PER_RUN=1")
    assert "1 rechecked" in result.stdout
    assert [row["url"] for row in articles(db) if row["gone_since"]] == [urls[0]]


def test_rechecks_a_run_did_not_reach_wait_for_the_next(tmp_path: Path) -> None:
    # Rechecks come last: a run cut by --max-pages before them does not count them as done.
    import sqlite3

    db = tmp_path / "archive.db"
    with DemoServer(articles=6) as server:
        urls = crawled_then_taken_down(server, db)
        crawl_demo(server, db, "--max-pages", "2", "-s", "NEWSARCHIVE_RECHECK_PER_RUN=2")
        with sqlite3.connect(db) as conn:
            cut = conn.execute("SELECT recheck_until FROM crawl_runs ORDER BY id DESC").fetchone()
        assert cut == (None,)
        crawl_demo(server, db, "-s", "NEWSARCHIVE_RECHECK_PER_RUN=2")
    assert [row["url"] for row in articles(db) if row["gone_since"]] == [urls[0]]
