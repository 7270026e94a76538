"""When the spider fetches an archived article again: the revisit schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsarchive.spiders.portal import PortalSpider
from newsarchive.storage import FetchState

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


def _spider() -> PortalSpider:
    spider = PortalSpider(site="https://news.example.id/")
    spider.revisit_hours = (1.0, 6.0, 24.0, 168.0)
    return spider


def _state(published_ago: timedelta, fetched_ago: timedelta) -> FetchState:
    return FetchState(
        first_seen=NOW - fetched_ago,
        last_fetched=NOW - fetched_ago,
        published=NOW - published_ago,
        fetch_count=1,
    )


def test_young_article_revisited_on_schedule() -> None:
    spider = _spider()
    # Fetched 10 minutes after publication; 2 hours later the 1-hour revisit is due.
    assert spider.revisit_due(_state(timedelta(hours=2), timedelta(hours=1, minutes=50)), NOW)
    # Fetched 2 hours after publication, now 3 hours: the next point (6 h) has not come yet.
    assert not spider.revisit_due(_state(timedelta(hours=3), timedelta(hours=1)), NOW)
    # Published 8 days ago, last fetched at 2 days: the 7-day revisit is due.
    assert spider.revisit_due(_state(timedelta(days=8), timedelta(days=6)), NOW)


def test_old_article_first_fetched_late_is_never_revisited() -> None:
    spider = _spider()
    assert not spider.revisit_due(_state(timedelta(days=400), timedelta(days=30)), NOW)
    assert not spider.revisit_due(_state(timedelta(days=400), timedelta(minutes=5)), NOW)


def test_archived_urls_are_skipped_unless_due_or_changed() -> None:
    spider = _spider()
    spider.started = NOW
    url = "https://news.example.id/2024/03/01/judul-berita/"
    spider.known = {url: _state(timedelta(days=9), timedelta(days=1))}
    assert not spider.should_fetch(url)
    assert not spider.should_fetch(url + "?utm_source=x")  # the same page, normalised
    assert spider.should_fetch(url, changed=NOW - timedelta(hours=2))  # sitemap lastmod is newer
    assert spider.should_fetch("https://news.example.id/2024/03/02/berita-lain/")


def test_an_article_fetched_under_a_clock_set_ahead_is_due_again() -> None:
    """Fetched while the machine's clock said a later year (a new machine before its time
    sync): its last fetch is "in the future", and every revisit waited for that time."""
    spider = _spider()
    ahead = _state(timedelta(days=2), -timedelta(days=365))  # fetched "a year from now"
    assert spider.revisit_due(ahead, NOW)
    # Seconds ahead is two machines' clocks: the schedule holds.
    assert not spider.revisit_due(_state(timedelta(days=400), -timedelta(minutes=2)), NOW)
