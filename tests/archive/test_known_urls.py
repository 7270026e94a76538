"""KnownUrls: the crawl asks the archive about one URL at a time instead of loading a site's
every URL at its start (memory and start-up that grew with the archive)."""

from __future__ import annotations

import sqlite3
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from archive_fixtures import copy_page, make_article, make_raw, pages_of

from newsarchive.errors import ArchiveDamaged
from newsarchive.storage import Archive, KnownUrls
from newsarchive.urls import normalize_url

ARTICLES = 1500


def _archive(path: Path) -> None:
    with Archive(path) as archive, archive.batch(500):
        for n in range(ARTICLES):
            site = ("warta", "kabar")[n % 2]
            url = f"https://{site}.example.id/berita/{n}"
            # Every tenth one was requested under a short URL and redirected.
            requested = f"https://{site}.example.id/r/{n}" if n % 10 == 0 else url
            raw = make_raw(requested, final_url=url if requested != url else None)
            archive.store(raw, make_article(url), site=site)


def test_each_url_reads_as_the_whole_sites_state_did(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    _archive(path)
    with Archive(path, create=False) as archive:
        loaded = dict(archive.fetch_states("warta"))
    known = KnownUrls(path, "warta")
    try:
        assert len(known) == ARTICLES // 2
        assert len(loaded) > ARTICLES // 2  # requested and final URLs both lead to an article
        for url, state in loaded.items():
            assert known.get(url) == state and url in known
        assert known.get(normalize_url("https://kabar.example.id/berita/1")) is None  # other site
        assert "https://warta.example.id/berita/tidak-ada" not in known
    finally:
        known.close()


def test_articles_stored_after_it_was_made_are_news_to_it(tmp_path: Path) -> None:
    """The archive as the crawl found it: what the crawl stores itself is not "known" (its
    listings' rule for new links), while an article it fetches again stays known."""
    path = tmp_path / "archive.db"
    _archive(path)
    known = KnownUrls(path, "warta")
    try:
        fresh = "https://warta.example.id/berita/baru"
        again = normalize_url("https://warta.example.id/berita/2")
        before = known.get(again)
        with Archive(path) as archive:
            archive.store(make_raw(fresh), make_article(fresh), site="warta")
            later = datetime(2024, 3, 9, tzinfo=UTC)
            archive.store(make_raw(again, fetched_at=later), make_article(again), site="warta")
            assert archive.article(fresh) is not None
        assert normalize_url(fresh) not in known
        assert again in known and known.get(again).fetch_count == before.fetch_count + 1
    finally:
        known.close()


def test_making_it_holds_none_of_the_sites_urls_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    _archive(path)

    def peak(make) -> int:
        tracemalloc.start()
        try:
            made = make()
            return tracemalloc.get_traced_memory()[1], made
        finally:
            tracemalloc.stop()

    loaded_peak, _ = peak(lambda: dict(Archive(path, readonly=True).fetch_states("warta")))
    known_peak, known = peak(lambda: KnownUrls(path, "warta"))
    try:
        assert known.get(normalize_url("https://warta.example.id/berita/4")) is not None
    finally:
        known.close()
    # ~900 URLs of this site loaded whole take hundreds of kB; asked one by one, nothing is held.
    assert loaded_peak > 200_000
    assert known_peak < 50_000, known_peak


def test_a_damaged_page_met_by_a_lookup_is_archive_damage_told_once_asked(tmp_path: Path) -> None:
    """fuzz_archive seed 4040: a crawl's recheck query met an index page with another table's
    page over it (quick_check passes such a page) and Scrapy printed a traceback; a lookup in a
    page callback would have printed one for every page. Now the lookup raises ArchiveDamaged
    naming the file, or tells the crawl's callback and answers "not known"."""
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        for n in range(3):
            url = f"https://warta.example.id/berita/{n}"
            archive.store(make_raw(url), make_article(url), site="warta")
    # Another table's sound page over each (every one a single page in so small an archive).
    [sizes] = pages_of(path, "articles_fts_docsize")
    for target in ("articles_site_last_seen", "article_urls"):
        [page] = pages_of(path, target)
        copy_page(path, sizes, page)
    before = datetime(2030, 1, 1, tzinfo=UTC)
    url = normalize_url("https://warta.example.id/berita/1")

    known = KnownUrls(path, "warta")
    try:
        for ask in (lambda: known.stale(before, 10), lambda: known.get(url)):
            with pytest.raises(ArchiveDamaged) as raised:
                ask()
            assert str(raised.value).startswith(f"{path}: cannot write: the archive is damaged")
            assert f"newsarchive verify --db {path}" in str(raised.value)
    finally:
        known.close()

    told: list[ArchiveDamaged] = []
    known = KnownUrls(path, "warta", told.append)
    try:
        assert known.stale(before, 10) == []
        assert known.get(url) is None and url not in known
        assert len(told) == 3 and all(isinstance(e.cause, sqlite3.DatabaseError) for e in told)
    finally:
        known.close()


def test_an_article_whose_row_is_garbled_is_not_known_and_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """fuzz_archive seed 4140: a stored time garbled on disk raised out of every lookup of the
    article (the spider's callbacks) and out of a shared crawl's published snapshot. Now the
    article is one the crawl has not met (fetched again, stored afresh), said once."""
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        for n in range(3):
            url = f"https://warta.example.id/berita/{n}"
            archive.store(make_raw(url), make_article(url), site="warta")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE articles SET last_seen = '2024-1X-01T00:00:00Z' WHERE id = 2")
    garbled = normalize_url("https://warta.example.id/berita/1")
    known = KnownUrls(path, "warta")
    try:
        with caplog.at_level("WARNING", logger="newsarchive.storage.archive"):
            assert known.get(garbled) is None and known.get(garbled) is None
            assert known.get(normalize_url("https://warta.example.id/berita/2")) is not None
    finally:
        known.close()
    assert known.garbled == {2}
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "article 2 holds a garbled value ('2024-1X-01T00:00:00Z')" in said[0]
    caplog.clear()
    with Archive(path, create=False) as archive, caplog.at_level("WARNING"):
        states = dict(archive.fetch_states("warta"))
    assert garbled not in states and len(states) == 2
    assert ["article 2 holds a garbled value" in r.getMessage() for r in caplog.records] == [True]
