"""Archive.store and friends: one article per page however often it comes, versions, runs, failures."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from archive_fixtures import make_article, make_raw

from newsarchive.errors import NewsarchiveError
from newsarchive.storage import Archive, StoreError, default_pages_path

URL = "https://warta.example.id/nasional/2024/03/05/banjir-rob"


def test_pages_file_sits_next_to_the_archive(tmp_path):
    assert default_pages_path(tmp_path / "data" / "archive.db") == tmp_path / "data" / "pages.db"
    assert default_pages_path(tmp_path / "demo.db") == tmp_path / "demo-pages.db"
    (tmp_path / "data").mkdir()
    with Archive(tmp_path / "data" / "archive.db") as archive:
        assert archive.db.journal_mode == "wal"
        assert archive.pages.journal_mode == "wal"
    assert (tmp_path / "data" / "pages.db").exists()


def test_a_page_stored_twice_is_one_article(archive):
    raw = make_raw(URL)
    assert archive.store(raw, make_article(URL), site="warta") == "new"
    refetch = make_raw(URL, fetched_at=raw.fetched_at + timedelta(hours=1))
    assert archive.store(refetch, make_article(URL), site="warta") == "unchanged"
    assert archive.count("articles") == 1
    assert archive.count("pages") == 1  # identical bytes are kept once
    assert archive.count("fetches") == 2  # and each fetch of them is logged
    row = archive.article(URL)
    assert row["fetch_count"] == 2
    assert archive.versions(row["id"]) == []


def test_the_same_capture_stored_again_is_no_second_fetch(archive, tmp_path):
    # A WARC or a saved page imported again (an import run twice, or after a stop): each of
    # its captures was counted as a fetch once more, its article's fetch_count doubled.
    raw = make_raw(URL)
    assert archive.store(raw, make_article(URL), site="warta") == "new"
    assert archive.store(make_raw(URL), make_article(URL), site="warta") == "known"
    saved = make_raw(URL + "/simpan", fetched_at=None)  # a saved file: no fetch time
    assert archive.store(saved, make_article(URL + "/simpan"), site="warta") == "new"
    assert archive.store(saved, make_article(URL + "/simpan"), site="warta") == "known"
    assert archive.count("fetches") == 2
    assert archive.article(URL)["fetch_count"] == 1
    assert archive.article(URL + "/simpan")["fetch_count"] == 1
    # A capture whose page went in and whose record did not (a full disk between the two
    # files' commits) is recorded when stored again: it is no known capture to skip.
    later = make_raw(URL, fetched_at=raw.fetched_at + timedelta(days=1))
    edited = make_article(URL, title="Banjir rob meluas")
    assert archive.store(later, edited, site="warta") == "updated"
    row = archive.article(URL)
    with archive.db.conn:
        archive.db.conn.execute("DELETE FROM versions")
        archive.db.conn.execute(
            "UPDATE articles SET title = ?, content_hash = ?, last_seen = ?, fetch_count = 1 "
            "WHERE id = ?",
            [make_article(URL).title, "before", row["first_seen"], row["id"]],
        )
    assert archive.store(later, edited, site="warta") == "updated"
    again = archive.article(URL)
    assert again["title"] == "Banjir rob meluas" and again["fetch_count"] == 2
    assert archive.count("fetches") == 3


def test_tracking_and_one_page_variants_reach_the_same_article(archive):
    archive.store(make_raw(URL), make_article(URL), site="warta")
    variant = URL + "?utm_source=twitter&page=all#komentar"
    outcome = archive.store(
        make_raw(variant, body=b"<p>other bytes</p>"), make_article(URL), site="warta"
    )
    assert outcome == "unchanged"
    assert archive.count("articles") == 1
    assert archive.count("pages") == 2


def test_request_final_and_canonical_urls_all_lead_to_the_article(archive):
    short = "https://warta.example.id/s/abc"
    redirected = "https://m.warta.example.id/nasional/banjir-rob"
    archive.store(make_raw(short, final_url=redirected), make_article(URL), site="warta")
    state = dict(archive.fetch_states())
    assert set(state) == {URL, short, redirected}
    assert state[short] == state[URL]
    assert state[URL].fetch_count == 1
    assert state[URL].published.isoformat() == "2024-03-05T09:15:00+07:00"
    assert state[URL].first_seen == datetime(2024, 3, 5, 3, 0, tzinfo=UTC)
    assert dict(archive.fetch_states(site="other")) == {}
    # A later fetch by the redirecting URL alone still finds it, even without a canonical URL.
    article = make_article(URL)
    article.canonical_url = None
    refetch = make_raw(short, final_url=redirected, fetched_at=datetime(2024, 3, 6, tzinfo=UTC))
    assert archive.store(refetch, article, site="warta") == "unchanged"
    assert archive.count("articles") == 1


def test_changed_content_keeps_the_old_version(archive):
    archive.store(make_raw(URL), make_article(URL, title="Banjir rob"), site="warta")
    later = make_raw(URL, body=b"<p>edited</p>", fetched_at=datetime(2024, 3, 6, tzinfo=UTC))
    assert (
        archive.store(later, make_article(URL, title="Banjir rob meluas"), site="warta")
        == "updated"
    )
    row = archive.article(URL)
    assert row["title"] == "Banjir rob meluas"
    assert row["first_seen"] == "2024-03-05T03:00:00Z"
    assert row["last_seen"] == row["content_since"] == "2024-03-06T00:00:00Z"
    [old] = archive.versions(row["id"])
    assert old["title"] == "Banjir rob"
    assert old["reason"] == "refetch"
    assert old["seen_from"] == "2024-03-05T03:00:00Z"
    assert old["content_hash"] != row["content_hash"]


def test_raw_page_is_kept_even_without_an_article(archive):
    raw = make_raw(
        "https://warta.example.id/indeks",
        body=b"<html>listing</html>",
        status=200,
        headers={"Content-Type": "text/html"},
        encoding="utf-8",
    )
    assert archive.store(raw, None, site="warta") == "page"
    assert archive.count("articles") == 0
    [page_id] = [row[0] for row in archive.pages.execute("SELECT id FROM pages")]
    meta, body = archive.raw_page(page_id)
    assert body == b"<html>listing</html>"
    assert meta["headers"] == '{"Content-Type": "text/html"}'
    assert meta["fetched_at"] == "2024-03-05T03:00:00Z"


def test_a_failing_item_is_recorded_and_the_rest_go_on(archive):
    broken = make_article(URL + "-2")
    broken.tags = [object()]  # not JSON-serialisable: this item cannot be stored
    with archive.batch():
        assert archive.store(make_raw(URL), make_article(URL), site="warta") == "new"
        with pytest.raises(StoreError, match="could not store"):
            archive.store(make_raw(URL + "-2"), broken, site="warta")
        assert archive.store(make_raw(URL + "-3"), make_article(URL + "-3"), site="warta") == "new"
    assert archive.count("articles") == 2
    # Atomic per item: the failed item left no raw page behind either.
    assert archive.count("pages") == 2
    [failure] = archive.db.query("SELECT url, reason, site FROM failures")
    assert failure["url"] == URL + "-2" and "could not store" in failure["reason"]


def test_batch_commits_every_n_items_and_at_the_end(tmp_path):
    path = tmp_path / "archive.db"
    reader = None
    with Archive(path) as archive, archive.batch(size=3):
        for n in range(5):
            archive.store(make_raw(f"{URL}-{n}"), make_article(f"{URL}-{n}"), site="warta")
        reader = sqlite3.connect(path)
        # Three items are committed; the last two are still in the open batch.
        assert reader.execute("SELECT count(*) FROM articles").fetchone()[0] == 3
    assert reader.execute("SELECT count(*) FROM articles").fetchone()[0] == 5
    reader.close()


def test_batch_commits_by_time_spaced_by_the_last_commits_cost(tmp_path):
    path = tmp_path / "archive.db"
    Archive(path).close()
    reader = sqlite3.connect(path)

    def committed() -> int:
        return reader.execute("SELECT count(*) FROM articles").fetchone()[0]

    with Archive(path, batch_seconds=0.05) as archive, archive.batch(size=1000):
        archive.store(make_raw(f"{URL}-0"), make_article(f"{URL}-0"), site="warta")
        time.sleep(0.3)  # past batch_seconds: the timer thread commits the first item
        assert committed() == 1
        # A commit that took 0.2 s: the next batch stays open for COMMIT_SPACING times that.
        archive._commit_seconds = 0.2
        archive.store(make_raw(f"{URL}-1"), make_article(f"{URL}-1"), site="warta")
        time.sleep(0.3)
        archive.store(make_raw(f"{URL}-2"), make_article(f"{URL}-2"), site="warta")
        assert committed() == 1  # 0.3 s > batch_seconds, < COMMIT_SPACING * 0.2 s
        deadline = time.monotonic() + 5
        while committed() < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert committed() == 3  # the timer commits once the spacing is over
    reader.close()


def test_runs_and_failures_are_recorded(archive):
    run_id = archive.start_run("warta", {"download_delay": 1.5, "max_pages": 10})
    archive.store(make_raw(URL), make_article(URL), site="warta", run_id=run_id)
    archive.record_failure(URL + "-x", "HTTP 404", status=404, run_id=run_id, site="warta")
    archive.finish_run(
        run_id,
        pages_fetched=2,
        articles_new=1,
        articles_updated=0,
        articles_unchanged=0,
        failures=1,
    )
    [run] = archive.db.query("SELECT * FROM crawl_runs")
    assert run["finished"] >= run["started"]
    assert run["settings"] == '{"download_delay": 1.5, "max_pages": 10}'
    assert (run["pages_fetched"], run["articles_new"], run["failures"]) == (2, 1, 1)
    [failure] = archive.db.query("SELECT * FROM failures")
    assert (failure["status"], failure["run_id"], failure["reason"]) == (404, run_id, "HTTP 404")


def test_fts_follows_inserts_and_updates(archive):
    archive.store(
        make_raw(URL),
        make_article(URL, body="Nelayan tidak melaut karena ombak tinggi."),
        site="warta",
    )
    search = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?"
    assert archive.db.execute(search, ["nelayan"]).fetchall() == [(1,)]
    archive.store(
        make_raw(URL, body=b"v2"),
        make_article(URL, body="Petani memanen padi lebih awal."),
        site="warta",
    )
    assert archive.db.execute(search, ["nelayan"]).fetchall() == []
    assert archive.db.execute(search, ["petani"]).fetchall() == [(1,)]
    archive.db.execute("INSERT INTO articles_fts(articles_fts) VALUES('integrity-check')")


def test_concurrent_reader_while_writing_does_not_error(tmp_path):
    path = tmp_path / "archive.db"
    Archive(path).close()
    errors: list[BaseException] = []
    done = threading.Event()
    counts: list[int] = []

    def write() -> None:
        try:
            with Archive(path) as archive, archive.batch(size=5):
                for n in range(200):
                    body = f"Berita nomor {n} tentang pasar dan harga beras."
                    archive.store(
                        make_raw(f"{URL}-{n}"), make_article(f"{URL}-{n}", body=body), site="warta"
                    )
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    def read() -> None:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            while not done.is_set():
                counts.append(connection.execute("SELECT count(*) FROM articles").fetchone()[0])
                connection.execute(
                    "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'beras' LIMIT 5"
                ).fetchall()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert counts == sorted(counts)  # readers only ever see whole batches appear
    with Archive(path) as archive:
        assert archive.count("articles") == 200


def test_opening_something_that_is_not_an_archive_names_the_file(tmp_path):
    junk = tmp_path / "notes.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(NewsarchiveError, match="notes.db"):
        Archive(junk)
    with pytest.raises(NewsarchiveError, match="no archive here"):
        Archive(tmp_path / "missing.db", create=False)


def test_home_page_canonicals_do_not_merge_articles_and_relative_ones_resolve(archive):
    first, second = make_article(URL + "-a"), make_article(URL + "-b")
    first.canonical_url = second.canonical_url = "https://warta.example.id/"
    archive.store(make_raw(URL + "-a"), first, site="warta")
    archive.store(make_raw(URL + "-b"), second, site="warta")
    assert archive.count("articles") == 2

    relative = make_article(URL)
    relative.canonical_url = "/nasional/banjir-rob"
    archive.store(make_raw(URL + "?from=home"), relative, site="warta")
    assert archive.article("https://warta.example.id/nasional/banjir-rob")["page_url"] == (
        URL + "?from=home"
    )


def test_an_article_from_the_http_years_is_found_again_over_https(archive):
    old_url = "http://warta.example.id/berita/2015/11/05/lombok"
    archive.store(make_raw(old_url), make_article(old_url), site="warta")
    new_url = "https://warta.example.id/berita/2015/11/05/lombok"
    assert archive.store(make_raw(new_url), make_article(new_url), site="warta") == "unchanged"
    assert archive.count("articles") == 1
    assert archive.article(old_url)["url"] == old_url  # the key stays; https is now an alias
    assert new_url in dict(archive.fetch_states())


def test_fts_is_written_at_commit_and_follows_every_change(archive):
    """The index is written when a batch commits (schema v6): an item rolled back leaves nothing
    queued, and inserts, rewrites and deletes inside one batch all end up indexed exactly."""
    search = "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid"
    with archive.batch():
        for n, body in enumerate(("Nelayan melaut.", "Petani memanen padi.", "Ombak tinggi.")):
            url = f"{URL}-{n}"
            archive.store(make_raw(url), make_article(url, body=body), site="warta")
        url = f"{URL}-1"
        archive.store(
            make_raw(url, body=b"v2"),
            make_article(url, body="Petani menanam jagung."),
            site="warta",
        )
        archive.db.execute("DELETE FROM articles WHERE id = 3")
    assert archive.db.execute(search, ["nelayan"]).fetchall() == [(1,)]
    assert archive.db.execute(search, ["padi"]).fetchall() == []
    assert archive.db.execute(search, ["jagung"]).fetchall() == [(2,)]
    assert archive.db.execute(search, ["ombak"]).fetchall() == []
    # Indexed rows changed in a later batch: their old entries go, even for a reused rowid.
    with archive.batch():
        archive.db.execute("DELETE FROM articles WHERE id = 2")
        url = f"{URL}-9"
        archive.store(make_raw(url), make_article(url, body="Harga cabai naik."), site="warta")
    assert archive.db.execute(search, ["jagung"]).fetchall() == []
    assert archive.db.execute(search, ["cabai"]).fetchall() == [(2,)]
    for table in ("articles_fts_queue", "articles_fts_stale"):
        assert archive.db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    archive.db.execute("INSERT INTO articles_fts(articles_fts) VALUES('integrity-check')")


def test_the_writers_page_cache_follows_the_archives_size(tmp_path, monkeypatch):
    """A sixteenth of archive.db, within bounds, kept in step as the archive grows: a small
    archive's writer does not hold a large archive's cache."""
    from newsarchive.storage import archive as archive_module

    def cache_kib(archive: Archive) -> int:
        return -archive.db.execute("PRAGMA cache_size").fetchone()[0]

    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        assert cache_kib(archive) == archive_module.WRITER_CACHE_MIN_KIB
    monkeypatch.setattr(archive_module, "WRITER_CACHE_MIN_KIB", 1)
    monkeypatch.setattr(archive_module, "WRITER_CACHE_MAX_KIB", 10_000)
    with Archive(path) as archive, archive.batch(10):
        small = cache_kib(archive)
        assert small == max(1, path.stat().st_size // 16 // 1024)
        for n in range(120):
            url = f"https://warta.example.id/berita/{n}"
            archive.store(make_raw(url), make_article(url, body="Banjir di kota. " * 400), site="w")
        archive.flush()
        # The file grows as the log is checkpointed into it; the next commit sizes the cache.
        archive.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        url = "https://warta.example.id/berita/terakhir"
        archive.store(make_raw(url), make_article(url), site="w")
        archive.flush()
        assert cache_kib(archive) == path.stat().st_size // 16 // 1024 > small


def test_a_runs_fill_rates_count_article_pages_that_lost_their_text():
    from newsarchive.items import Article, require_headline_and_body
    from newsarchive.storage.archive import RunTally

    tally = RunTally()
    whole = Article(title="Judul", body="Kalimat berita. " * 20, authors=["Sari"])
    caption = Article(title="Judul", body="Ilustrasi. Foto: Dok. Portal", authors=["Sari"])
    no_text = Article(title="Judul", body="", authors=["Sari"])
    require_headline_and_body(no_text)  # filed as another page, as the crawl files it
    contact = Article(title="Kontak", body="", page_kind="other")
    for article in (whole, caption, no_text, contact):
        tally.add(article, article.page_kind)
    assert tally.articles == 3  # the contact page is no article
    assert tally.fill_rates()["body"] == 33.3
    assert tally.fill_rates()["title"] == 100.0
    assert tally.kinds == {"article": 2, "other": 2}


def test_a_later_page_stored_alone_first_is_linked_to_its_article(archive):
    # Met alone first (a listing linked page 2 of an article), then as page 2 of the article:
    # before, only a new row was linked, and re-extraction stitched the article without it.
    first, second = "https://warta.example.id/berita/1", "https://warta.example.id/berita/1?page=2"
    archive.store(make_raw(second, body=b"<html><p>halaman dua</p></html>"), None, site="warta")
    archive.store(
        make_raw(first, body=b"<html><p>halaman satu</p></html>"),
        make_article(first),
        site="warta",
        continuations=[make_raw(second, body=b"<html><p>halaman dua</p></html>")],
    )
    page_id = archive.article(first)["page_id"]
    assert [page.url for page in archive.article_pages(page_id)] == [first, second]
    assert archive.count("pages") == 2


def test_an_article_the_site_took_down_is_marked_gone_and_back(archive):
    # A revisit answered 404 or 410: before, only a failures row said so, the record nothing.
    url = "https://warta.example.id/berita/dihapus"
    archive.store(make_raw(url), make_article(url), site="warta")
    archive.record_failure(url + "?utm_source=wa", "HTTP 500", status=500, site="warta")
    assert archive.article(url)["gone_since"] is None  # a server error is no takedown
    archive.record_failure(url + "?utm_source=wa", "HTTP 410", status=410, site="warta")
    gone = archive.article(url)["gone_since"]
    assert gone is not None
    time.sleep(0.01)
    archive.record_failure(url, "HTTP 404", status=404, site="warta")
    assert archive.article(url)["gone_since"] == gone  # since the first time
    archive.record_failure("https://warta.example.id/berita/lain", "HTTP 404", status=404)
    assert archive.count() == 1
    gone_rows = archive.db.execute("SELECT count(*) FROM articles WHERE gone_since IS NOT NULL")
    assert gone_rows.fetchone() == (1,)
    # An older copy imported late says nothing of now; a fetch after the takedown does.
    archive.store(make_raw(url), make_article(url), site="warta")
    assert archive.article(url)["gone_since"] == gone
    later = datetime.now(UTC) + timedelta(seconds=1)
    archive.store(make_raw(url, fetched_at=later), make_article(url), site="warta")
    assert archive.article(url)["gone_since"] is None  # back on the site


LATER = datetime(2024, 4, 1, tzinfo=UTC)  # than make_raw's fetches


def test_an_article_url_that_now_leads_to_the_home_page_is_marked_gone(archive):
    # A "soft" takedown: the site answers the article's URL with a redirect to its home page or
    # a section (a listing), or to a "not found" page served with 200 (no article).
    home = "https://warta.example.id/"
    for n, (kind, final) in enumerate((("listing", home), ("other", home + "tidak-ditemukan"))):
        url = f"https://warta.example.id/berita/{n}/dihapus"
        archive.store(make_raw(url), make_article(url), site="warta")
        landed = make_article(final)
        landed.page_kind = kind
        archive.store(make_raw(url, final_url=final, fetched_at=LATER), landed, site="warta")
        assert archive.article(url)["gone_since"] == "2024-04-01T00:00:00Z", kind
    # Not a takedown: a listing that redirects (it is no article), the same page under another
    # spelling of its URL, an article that moved to a new URL, an extractor failure.
    kept = "https://warta.example.id/berita/9/ada"
    archive.store(make_raw(kept), make_article(kept), site="warta")
    section = make_article(home + "nasional/")
    section.page_kind = "listing"
    archive.store(make_raw(home + "nasional", final_url=home + "nasional/"), section, site="warta")
    spelled = make_article(kept)
    spelled.page_kind = "listing"
    archive.store(make_raw(kept + "?utm_source=x", final_url=kept), spelled, site="warta")
    moved = "https://warta.example.id/berita/9/ada-baru"
    archive.store(
        make_raw(kept, final_url=moved, fetched_at=LATER), make_article(moved), site="warta"
    )
    archive.store(
        make_raw(kept, final_url=home, fetched_at=LATER),
        None,
        site="warta",
        extraction_error="ValueError: x",
    )
    assert archive.article(kept)["gone_since"] is None
    gone_rows = archive.db.execute("SELECT count(*) FROM articles WHERE gone_since IS NOT NULL")
    assert gone_rows.fetchone() == (2,)


def test_an_article_url_redirected_to_another_story_keeps_its_record(archive):
    # The archived article's URL now redirects to a page read as an article, but another one (a
    # short section front, another story): before, the record took that page's title and text.
    url = "https://warta.example.id/berita/1/dihapus"
    archive.store(make_raw(url), make_article(url), site="warta")
    elsewhere = "https://warta.example.id/kategori/opini/"
    section = make_article(elsewhere, title="Portal Warta", body="Opini warga hari ini.")
    landed = make_raw(url, b"<p>Opini</p>", final_url=elsewhere, fetched_at=LATER)
    archive.store(landed, section, site="warta")
    record = archive.article(url)
    assert record["title"] == "Banjir rob genangi pesisir utara"
    assert record["gone_since"] == "2024-04-01T00:00:00Z"
    # The page it leads to is kept raw, not made a record through a taken-down URL.
    assert archive.article(elsewhere) is None
    assert archive.count() == 1
    assert archive.pages.execute("SELECT count(*) FROM pages").fetchone() == (2,)


def test_an_article_archived_under_its_old_and_new_url_becomes_one_record(archive):
    # The site moved the article: its new URL was archived from the listings first, then the old
    # URL was seen redirecting to it. One story, one record: the older one's history goes to it.
    old, new = "https://warta.example.id/berita/2/ada", "https://warta.example.id/berita/2/ada-baru"
    archive.store(make_raw(old), make_article(old), site="warta")
    edited = make_article(old, body="Air laut pasang lagi.")
    archive.store(make_raw(old, fetched_at=LATER - timedelta(days=1)), edited, site="warta")
    first_seen = archive.article(old)["first_seen"]
    retitled = make_article(new, title="Banjir rob genangi pesisir utara Jakarta")
    archive.store(make_raw(new, fetched_at=LATER - timedelta(hours=1)), retitled, site="warta")
    assert archive.count() == 2
    archive.store(make_raw(old, final_url=new, fetched_at=LATER), retitled, site="warta")
    assert archive.count() == 1
    record = archive.article(old)
    assert record == archive.article(new)
    assert (record["first_seen"], record["gone_since"]) == (first_seen, None)
    assert record["fetch_count"] == 4
    reasons = archive.db.execute(
        "SELECT reason, body FROM versions WHERE article_id = ? ORDER BY id", [record["id"]]
    ).fetchall()
    assert [reason for reason, _ in reasons] == ["refetch", "moved"]
    hits = list(
        archive.db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'Jakarta'")
    )
    assert [row[0] for row in hits] == [record["id"]]


def test_a_moved_article_with_a_new_headline_is_known_by_its_text(archive):
    # A headline rewritten with the URL's slug: the same text tells the same story.
    old, new = (
        "https://warta.example.id/berita/3/rob",
        "https://warta.example.id/berita/3/air-pasang",
    )
    archive.store(make_raw(old), make_article(old), site="warta")
    rewritten = make_article(new, title="Warga pesisir mengungsi ke masjid")
    archive.store(make_raw(old, final_url=new, fetched_at=LATER), rewritten, site="warta")
    assert archive.count() == 1
    record = archive.article(new)
    assert (record["title"], record["gone_since"]) == ("Warga pesisir mengungsi ke masjid", None)


def test_another_story_at_an_archived_articles_url_gets_a_record_of_its_own(archive):
    # A page at an archived article's URL whose own (canonical) URL and story are another's: a
    # reused URL, a page imported under a wrong URL (found by fuzz_import). Before, the archived
    # record took that story's headline and text under its own URL.
    url = "https://warta.example.id/berita/4/rob"
    archive.store(make_raw(url), make_article(url), site="warta")
    other = "https://warta.example.id/berita/9/harga-beras"
    story = make_article(
        other, title="Harga beras naik di pasar induk", body="Pedagang menaikkan harga beras."
    )
    assert archive.store(make_raw(url, fetched_at=LATER), story, site="warta") == "new"
    assert archive.count() == 2
    assert archive.article(url)["title"] == "Banjir rob genangi pesisir utara"
    assert archive.article(other)["title"] == "Harga beras naik di pasar induk"
    assert archive.db.execute("SELECT count(*) FROM versions").fetchone() == (0,)
    # The same story under a new canonical URL (an edited headline) is still an update.
    renamed = "https://warta.example.id/berita/4/rob-pesisir-utara"
    edited = make_article(renamed, title="Banjir rob genangi pesisir utara Jawa")
    edit_fetched = make_raw(url, fetched_at=LATER + timedelta(days=1))
    assert archive.store(edit_fetched, edited, site="warta") == "updated"
    assert archive.article(url)["title"] == "Banjir rob genangi pesisir utara Jawa"
    assert archive.count() == 2


def test_stories_claiming_one_canonical_url_each_keep_a_record(archive):
    # A site pointing every article's canonical URL at its section front: keyed by it, each
    # article overwrote the one before (which became a version of the next).
    section = "https://warta.example.id/nasional/"
    stories = [
        ("https://warta.example.id/nasional/1/rob", "Banjir rob genangi pesisir utara", "Air."),
        ("https://warta.example.id/nasional/2/beras", "Harga beras naik di pasar induk", "Beras."),
        ("https://warta.example.id/nasional/3/jalan", "Jalan provinsi rusak di Bungo", "Jalan."),
    ]
    for url, title, body in stories:
        story = make_article(section, title=title, body=body)  # its canonical: the section
        assert archive.store(make_raw(url), story, site="warta") == "new"
    assert archive.count() == 3
    assert [archive.article(url)["title"] for url, _, _ in stories] == [t for _, t, _ in stories]
    assert archive.db.execute("SELECT count(*) FROM versions").fetchone() == (0,)
    # An article fetched again, edited, updates its own record.
    url, title, _ = stories[1]
    edited = make_article(section, title=title + " Jambi", body="Beras naik lagi.")
    assert archive.store(make_raw(url, fetched_at=LATER), edited, site="warta") == "updated"
    assert archive.article(url)["title"] == title + " Jambi"
    assert archive.article(stories[0][0])["title"] == stories[0][1]
    assert archive.count() == 3


def test_a_redirect_to_another_story_read_without_its_text_merges_nothing(archive):
    # The archived article's URL redirects to another archived story, whose page came without
    # its text (cut short): a headline as different as two stories was taken for one story,
    # because the text missing on one side "said nothing against it", and the archived article
    # was merged into the other and deleted (found by fuzz_import).
    old = "https://warta.example.id/berita/5/rob"
    archive.store(make_raw(old), make_article(old), site="warta")
    new = "https://warta.example.id/berita/6/harga-beras"
    title = "Harga beras naik di pasar induk"
    archive.store(make_raw(new), make_article(new, title=title, body="Harga naik."), site="warta")
    cut = make_article(new, title=title, body="")
    archive.store(make_raw(old, final_url=new, fetched_at=LATER), cut, site="warta")
    assert archive.count() == 2
    record = archive.article(old)
    assert (record["title"], record["gone_since"]) == (
        "Banjir rob genangi pesisir utara",
        "2024-04-01T00:00:00Z",
    )


def test_rechecks_go_in_rounds_that_end_though_the_rechecked_are_due_again(archive):
    # Two rechecks a run; the first run's fail (left where they were). Every article is due
    # again at once (a round outlasting recheck_days, on a large site): before, the rechecked
    # ones came after the cursor again, the round never ended, the failed two never came round.
    from newsarchive.storage.archive import stale_articles

    urls = [f"https://warta.example.id/berita/{n}" for n in range(6)]
    for n, url in enumerate(urls):
        fetched = datetime(2024, 3, 1, tzinfo=UTC) + timedelta(minutes=n)
        archive.store(make_raw(url, fetched_at=fetched), make_article(url), site="warta")
    asked = []
    for run in range(5):
        now = datetime.now(UTC) + timedelta(seconds=run)
        picked = stale_articles(archive.db, "warta", now, 2, now=now)
        asked.append([urls.index(url) for url, _ in picked])
        run_id = archive.start_run("warta", {})
        if run:  # the first run's rechecks fail: nothing stored
            for url, _ in picked:
                archive.store(make_raw(url, fetched_at=now), make_article(url), site="warta")
        counts = dict(pages_fetched=2, articles_new=0, articles_updated=0, articles_unchanged=2)
        archive.finish_run(
            run_id, **counts, failures=0, finish_reason="finished", recheck_until=picked[-1][1]
        )
    assert asked == [[0, 1], [2, 3], [4, 5], [0, 1], [2, 3]]
    # A run that rechecks a whole round (every article, as months pass between runs): the next
    # begins another (before, nothing was picked again: the wrap stopped at the old cursor).
    for run in range(5, 8):
        now = datetime.now(UTC) + timedelta(seconds=run)
        picked = stale_articles(archive.db, "warta", now, 10, now=now)
        assert sorted(urls.index(url) for url, _ in picked) == list(range(6)), run
        run_id = archive.start_run("warta", {})
        for url, _ in picked:
            archive.store(make_raw(url, fetched_at=now), make_article(url), site="warta")
        counts = dict(pages_fetched=6, articles_new=0, articles_updated=0, articles_unchanged=6)
        archive.finish_run(
            run_id, **counts, failures=0, finish_reason="finished", recheck_until=picked[-1][1]
        )


def test_an_imported_404_capture_marks_the_article_gone_since_it_was_captured(archive):
    url = "https://warta.example.id/berita/ditarik"
    archive.store(make_raw(url), make_article(url), site="warta")  # captured 2024-03-05
    earlier = make_raw(url, status=404, fetched_at=datetime(2024, 3, 1, tzinfo=UTC))
    archive.store(earlier, None, site="warta")
    assert archive.article(url)["gone_since"] is None  # before the copy we have: says nothing
    archive.store(make_raw(url, status=410, fetched_at=LATER), None, site="warta")
    assert archive.article(url)["gone_since"] == "2024-04-01T00:00:00Z"


def _capture(archive: Archive, day: int, body: str, *, replay: bool = True) -> str:
    """The article at URL captured on March `day` with `body` (its page's bytes differ by it),
    imported (`replay`) or crawled."""
    raw = make_raw(
        URL,
        body=f"<html><p>{body}</p></html>".encode(),
        fetched_at=datetime(2024, 3, day, tzinfo=UTC),
    )
    return archive.store(raw, make_article(URL, body=body), site="warta", replay=replay)


def _history(archive: Archive) -> tuple[dict, list[tuple]]:
    row = archive.article(URL)
    versions = [
        (
            v["body"],
            v["seen_from"][8:10],
            v["seen_until"][8:10],
            v["replaced_at"][8:10],
            v["reason"],
        )
        for v in archive.versions(row["id"])
    ]
    return row, sorted(versions, key=lambda v: v[1])


def test_older_captures_imported_later_join_the_history_not_the_record(archive):
    # A backfill: last year's WARC imported into an archive crawled since. Each older capture
    # was stored as the latest: the record took its old text and its page (which `reextract`
    # then read), and the text crawled on the 20th became a version "replaced" at import time.
    assert _capture(archive, 20, "Teks kini") == "new"
    latest_page = archive.article(URL)["page_id"]
    outcomes = [
        _capture(archive, day, text)
        for day, text in [(1, "Teks lama"), (2, "Teks lama"), (8, "Teks kini"), (4, "Teks ralat")]
    ]
    assert outcomes == ["older"] * 4
    row, versions = _history(archive)
    assert row["body"] == "Teks kini" and row["page_id"] == latest_page
    assert (row["first_seen"][8:10], row["content_since"][8:10], row["last_seen"][8:10]) == (
        "01", "08", "20",
    )  # fmt: skip
    assert row["fetch_count"] == 5
    # The old text from the 1st to the 2nd, a correction seen on the 4th, each replaced when
    # the next text was first seen.
    assert versions == [
        ("Teks lama", "01", "02", "04", "older capture"),
        ("Teks ralat", "04", "04", "08", "older capture"),
    ]
    # A capture inside a stretch that held its text changes nothing but the count.
    assert _capture(archive, 10, "Teks kini") == "older"
    assert _history(archive) == ({**row, "fetch_count": 6}, versions)
    # A later capture is the record again, as ever.
    assert _capture(archive, 25, "Teks baru") == "updated"
    row, versions = _history(archive)
    assert row["body"] == "Teks baru" and versions[-1][:2] == ("Teks kini", "08")
    # A crawl's page was fetched now, whatever the clock said before (set back since).
    assert _capture(archive, 22, "Teks terbaru", replay=False) == "updated"
    assert archive.article(URL)["body"] == "Teks terbaru"
