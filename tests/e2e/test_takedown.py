"""An article the site takes down: a revisit answered 404 marks its record gone, and keeps it."""

from __future__ import annotations

import re
from pathlib import Path

from e2e_helpers import articles, crawl_demo

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
