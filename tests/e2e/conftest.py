"""Fixtures: the demo portal on loopback, a second "other site" server, one shared first crawl."""

from __future__ import annotations

import pytest
from e2e_helpers import FirstCrawl, Portal, crawl_demo

from newsarchive.demo import DemoServer


@pytest.fixture(scope="session")
def portal() -> Portal:
    # The "other site" lives on another loopback address: a different host to the crawler, and a
    # server whose log shows whether anything went there.
    offsite = DemoServer(host="127.0.0.2", articles=3).start()
    server = DemoServer(offsite_url=offsite.base_url).start()
    yield Portal(server, offsite)
    server.stop()
    offsite.stop()


@pytest.fixture(scope="session")
def first_crawl(portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> FirstCrawl:
    """One complete crawl of the demo portal into a fresh archive (shared by several tests)."""
    db = tmp_path_factory.mktemp("first") / "demo.db"
    before = len(portal.server.requests)
    proc = crawl_demo(portal.server, db)
    return FirstCrawl(db=db, requests=portal.server.requests[before:], output=proc.stdout)
