"""A crawl stopped by --max-pages and continued with --resume until it is done archives every
article the sitemap lists, each fetched once: nothing the stopped runs had queued is lost."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from e2e_helpers import articles, crawl_demo

from newsarchive.demo import DemoServer

pytestmark = pytest.mark.e2e

ARTICLES = 70
# Small against the site (about 120 requests with robots.txt, sitemaps and listings), so that the crawl is cut
# many times, each time with requests the engine had already taken from the queue when the
# budget ran out (it takes them several at a time, CONCURRENT_REQUESTS_PER_DOMAIN=8).
BUDGET = 15
MAX_RUNS = 20


def _sitemap_paths(server: DemoServer) -> set[str]:
    sitemap = server.portal.pages["/post-sitemap.xml"][2].decode()
    return {re.sub(r"^https?://[^/]+", "", u) for u in re.findall(r"<loc>([^<]+)</loc>", sitemap)}


def test_max_pages_runs_resumed_until_done_archive_every_sitemap_article_once(
    tmp_path: Path,
) -> None:
    with DemoServer(articles=ARTICLES) as server:
        listed = _sitemap_paths(server)
        db = tmp_path / "demo.db"
        fetched: Counter[str] = Counter()
        stops = 0
        for _ in range(MAX_RUNS):
            server.clear_log()
            proc = crawl_demo(server, db, "--resume", "--max-pages", str(BUDGET))
            paths = server.requested_paths()
            fetched.update(paths)
            if "max_pages" not in proc.stdout:
                break
            assert len(paths) == BUDGET, paths
            stops += 1
        else:
            pytest.fail(f"still not done after {MAX_RUNS} runs of --max-pages {BUDGET}")
    assert stops >= 3, "the crawl was not cut often enough to test anything"
    got = {re.sub(r"^https?://[^/]+", "", row["url"]) for row in articles(db)}
    assert sorted(listed - got) == [], "sitemap articles never archived"
    assert {p: n for p, n in fetched.items() if p in listed and n != 1} == {}, (
        "sitemap articles fetched more than once"
    )
    assert not (tmp_path / "jobs" / "demo" / "demo").exists(), "the finished crawl left job state"
