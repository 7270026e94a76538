"""site_fills and page_totals (schema v9 / pages v5): the counts `stats` and the fill-rates canned
query read, kept by triggers, equal what reading every row gives after any write."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import sqlite_utils
from archive_fixtures import make_article, make_raw

from newsarchive.storage import Archive
from newsarchive.storage.queries import fill_rates_scan_sql, fill_rates_sql, stats
from newsarchive.storage.schema import ARCHIVE_MIGRATIONS, PAGES_MIGRATIONS

SITE_TRIGGERS = ("site_fills_ai", "site_fills_ad", "site_fills_au", "site_fills_au_site")
PAGE_TRIGGERS = ("page_totals_ai", "page_totals_ad", "page_totals_au")

# Per site from every row: the extremes site_fills keeps.
SEEN_SCAN = "SELECT site, min(first_seen), max(last_seen) FROM articles GROUP BY site"


def differences(archive: Archive) -> list[str]:
    """How the kept counts differ from the full scans (empty: they are equal)."""
    found = []
    kept, scanned = archive.db.execute(fill_rates_sql()), archive.db.execute(fill_rates_scan_sql())
    kept_rows, scanned_rows = kept.fetchall(), scanned.fetchall()
    if kept_rows != scanned_rows:
        found.append(f"fill rates {kept_rows} != {scanned_rows}")
    # An extreme is kept exactly, or NULL (unknown: stats then counts it from the site's rows).
    extremes = {
        site: (first, last)
        for site, first, last in archive.db.execute(
            "SELECT site, first_seen_min, last_seen_max FROM site_fills WHERE articles > 0"
        )
    }
    for site, first, last in archive.db.execute(SEEN_SCAN):
        kept_first, kept_last = extremes.get(site, ("missing", "missing"))
        if kept_first not in (None, first) or kept_last not in (None, last):
            found.append(f"{site}: seen {kept_first}..{kept_last} != {first}..{last}")
    totals = archive.pages.execute("SELECT pages, bytes FROM page_totals").fetchone()
    pages = archive.pages.execute("SELECT count(*), coalesce(sum(size), 0) FROM pages").fetchone()
    if totals != pages:
        found.append(f"page totals {totals} != {pages}")
    return found


def at(day: int, hour: int = 3) -> datetime:
    return datetime(2024, 3, day, hour, 0, tzinfo=UTC)


def write_everything(archive: Archive, path) -> list[str]:
    """Stores, revisits, re-extractions, deletes and plain-SQL edits, checking the counts after
    each: the differences found along the way (empty: equal at every step)."""
    found: list[str] = []

    def check(step: str) -> None:
        found.extend(f"after {step}: {difference}" for difference in differences(archive))

    with archive.batch():
        # Records with every kind of gap: no title, a title of spaces, no authors or tags, no
        # category, no publication time, a body of spaces.
        for n, changes in enumerate(
            [
                {},
                {"title": None, "authors": (), "category": None},
                {"title": "   ", "tags": (), "published": None},
                {"body": "  ", "category": " "},
            ]
        ):
            url = f"https://warta.example.id/{n}"
            raw = make_raw(
                url, body=f"<html><p>warta {n}</p></html>".encode(), fetched_at=at(1 + n)
            )
            archive.store(raw, make_article(url, **changes), site="warta")
        for n in range(3):
            url = f"https://kabar.example.id/{n}"
            raw = make_raw(url, body=f"<html><p>kabar {n}</p></html>".encode(), fetched_at=at(2))
            archive.store(raw, make_article(url, authors=() if n else ("Dewi",)), site="kabar")
    check("stores")
    # Packing rewrites page rows (their block): the counts stay.
    assert archive.pack_pages().pages == 7
    url = "https://kabar.example.id/3"
    archive.store(make_raw(url, fetched_at=at(3)), make_article(url), site="kabar")
    check("packing")
    assert archive.pack_pages().pages == 8
    # Nothing deleted yet: every extreme is known.
    assert archive.db.execute(
        "SELECT count(*) FROM site_fills WHERE first_seen_min IS NULL OR last_seen_max IS NULL"
    ).fetchone() == (0,)

    # A revisit with a changed record (title gone, tags filled), later: last_seen moves on.
    url = "https://warta.example.id/0"
    raw = make_raw(url, body=b"<html><p>warta 0 changed</p></html>", fetched_at=at(9))
    assert archive.store(raw, make_article(url, title="", tags=("gempa",)), site="warta") == (
        "updated"
    )
    # An unchanged revisit of another article.
    url = "https://kabar.example.id/1"
    raw = make_raw(url, body=b"<html><p>kabar 1</p></html>", fetched_at=at(8))
    assert archive.store(raw, make_article(url, authors=()), site="kabar") == "unchanged"
    check("revisits")

    # A re-extraction filling what was missing and emptying what was there.
    archive.apply_reextraction(2, make_article("https://warta.example.id/1", category="Hukum"))
    article = make_article("https://warta.example.id/2", body=" ")
    archive.apply_reextraction(3, dataclasses.replace(article, image="https://x.id/a.jpg"))
    check("re-extractions")

    # A user's plain SQL on the files, each statement committed on its own.
    archive.close()
    records, pages = path, path.with_name("pages.db")
    edits = [
        (records, "UPDATE articles SET title = '  ' WHERE id = 4"),
        (records, "UPDATE articles SET authors = '[]', tags = '[\"x\"]' WHERE id = 5"),
        (records, "UPDATE articles SET modified = '2024-03-09' WHERE site = 'kabar'"),
        # The earliest first_seen of warta edited later, then the latest last_seen earlier.
        (records, "UPDATE articles SET first_seen = '2024-03-20T00:00:00Z' WHERE id = 1"),
        (records, "UPDATE articles SET last_seen = '2024-03-01T00:00:00Z' WHERE id = 1"),
        # An article moved to another site, and one to a new site.
        (records, "UPDATE articles SET site = 'kabar' WHERE id = 2"),
        (records, "UPDATE articles SET site = 'suara', title = NULL WHERE id = 3"),
        # The article holding kabar's earliest first_seen deleted, then a whole site.
        (records, "DELETE FROM articles WHERE id = 5"),
        (records, "DELETE FROM articles WHERE site = 'suara'"),
        (
            records,
            "INSERT INTO articles(url, site, title, first_seen, last_seen, content_since, "
            "content_hash) VALUES ('https://suara.example.id/x', 'suara', 'Baru', "
            "'2024-04-01T00:00:00Z', '2024-04-02T00:00:00Z', '2024-04-01', 'h')",
        ),
        (pages, "UPDATE pages SET size = size + 7 WHERE id = 1"),
        (pages, "DELETE FROM fetches WHERE page_id = 2"),
        (pages, "DELETE FROM pages WHERE id = 2"),
        # A page stored as before blocks, by plain SQL, and one deleted.
        (
            pages,
            "INSERT INTO pages(url, stored_at, size, sha256, compression, body) VALUES "
            "('https://warta.example.id/lama', '2023-01-01', 10, 's', 'zstd', x'010203')",
        ),
        (pages, "DELETE FROM fetches WHERE page_id = 3"),
        (pages, "DELETE FROM pages WHERE id = 3"),
    ]
    for file, edit in edits:
        user = sqlite3.connect(file)
        user.execute(edit)
        user.commit()
        user.close()
        with Archive(path, readonly=True) as reader:
            found.extend(f"after {edit!r}: {difference}" for difference in differences(reader))
    return found


def test_kept_counts_equal_the_full_scans_through_every_write(tmp_path):
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        assert write_everything(archive, path) == []
    with Archive(path, readonly=True) as archive:
        numbers = stats(archive)
        # The re-inserted suara article: its extremes kept again after the site emptied.
        assert archive.db.execute(
            "SELECT first_seen_min, last_seen_max FROM site_fills WHERE site = 'suara'"
        ).fetchone() == ("2024-04-01T00:00:00Z", "2024-04-02T00:00:00Z")
        # Deleting the article that held kabar's earliest first_seen left it unknown...
        assert archive.db.execute(
            "SELECT first_seen_min FROM site_fills WHERE site = 'kabar'"
        ).fetchone() == (None,)
        seen = {row[0]: row[1:] for row in archive.db.execute(SEEN_SCAN)}
        page_count, page_bytes = archive.pages.execute(
            "SELECT count(*), sum(size) FROM pages"
        ).fetchone()
    # ... and stats counts it from the site's articles.
    assert {s.site: (s.first_seen, s.last_seen) for s in numbers.sites} == seen
    assert {s.site: s.articles for s in numbers.sites} == {"warta": 2, "kabar": 4, "suara": 1}
    assert numbers.articles == 7
    assert (numbers.pages, numbers.page_bytes) == (page_count, page_bytes)


@pytest.mark.parametrize("trigger", SITE_TRIGGERS + PAGE_TRIGGERS)
def test_each_trigger_is_needed(tmp_path, trigger):
    """Without any one trigger the same writes leave the kept counts wrong (so the test above
    exercises every one of them)."""
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        db = archive.pages if trigger.startswith("page_") else archive.db
        db.execute(f"DROP TRIGGER {trigger}")
        assert write_everything(archive, path) != []


def test_stats_reads_no_article_row():
    """The fill rates come from site_fills alone; the date ranges from indexes (and the site's
    rows only for an extreme a delete left unknown)."""
    conn = sqlite3.connect(":memory:")
    db = sqlite_utils.Database(conn)
    for migration in ARCHIVE_MIGRATIONS:
        migration(db)
    plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + fill_rates_sql()))
    assert "articles" not in plan
    from newsarchive.storage.queries import _SITE_RANGES_SQL

    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + _SITE_RANGES_SQL)]
    reads = [step for step in plan if "articles" in step]
    assert len(reads) == 4 and all(
        "INDEX articles_site_published_date (site=?)" in r for r in reads
    )
    assert sum("COVERING INDEX" in step for step in reads) == 2  # publication dates


def make_v8_archive(path) -> None:
    """An archive as schema v8 left it (before site_fills), with articles of two sites, and its
    pages file at v4 (before page_totals)."""
    db = sqlite_utils.Database(path)
    for migration in ARCHIVE_MIGRATIONS[:8]:
        migration(db)
    db.execute("PRAGMA user_version = 8")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(30):
        seen = (start + timedelta(days=n)).isoformat()
        db["articles"].insert(
            {
                "url": f"https://{'warta' if n % 3 else 'kabar'}.example.id/{n}",
                "site": "warta" if n % 3 else "kabar",
                "title": None if n % 5 == 0 else ("  " if n % 7 == 0 else f"Judul {n}"),
                "authors": "[]" if n % 4 == 0 else '["Sari"]',
                "tags": '["a"]' if n % 2 else "[]",
                "category": "Ekonomi" if n % 6 else "",
                "published_date": f"2024-01-{n % 28 + 1:02d}" if n % 8 else None,
                "body": f"Isi berita {n}.",
                "first_seen": seen,
                "last_seen": seen,
                "content_since": seen,
                "content_hash": str(n),
            }
        )
    db.conn.commit()
    db.close()
    pages = sqlite_utils.Database(path.with_name("pages.db"))
    for migration in PAGES_MIGRATIONS[:4]:
        migration(pages)
    pages.execute("PRAGMA user_version = 4")
    for n in range(5):
        pages["pages"].insert(
            {
                "url": f"https://warta.example.id/{n}",
                "stored_at": "2024-01-01T00:00:00Z",
                "size": 1000 + n,
                "sha256": str(n),
                "compression": "zstd",
                "body": b"",
            }
        )
    pages.conn.commit()
    pages.close()


def test_an_archive_from_before_site_fills_upgrades_with_the_same_stats(tmp_path):
    path = tmp_path / "archive.db"
    make_v8_archive(path)
    # Read-only, an older archive is read as it is: stats reads every row, as before.
    with Archive(path, readonly=True) as archive:
        assert archive.schema_versions == (8, 4)
        before = stats(archive)
    with Archive(path) as archive:
        assert archive.db.execute("PRAGMA user_version").fetchone() == (len(ARCHIVE_MIGRATIONS),)
        assert archive.pages.execute("PRAGMA user_version").fetchone() == (len(PAGES_MIGRATIONS),)
        assert differences(archive) == []
        # Filled from the rows: every extreme known.
        assert archive.db.execute(
            "SELECT count(*) FROM site_fills WHERE first_seen_min IS NULL"
        ).fetchone() == (0,)
        after = stats(archive)
        # New writes after the upgrade are counted.
        url = "https://warta.example.id/new"
        archive.store(make_raw(url, fetched_at=at(5)), make_article(url), site="warta")
        assert differences(archive) == []
    assert before.sites == after.sites
    assert (before.articles, before.pages, before.page_bytes) == (30, 5, 5010)
    assert (after.articles, after.pages, after.page_bytes) == (30, 5, 5010)
    assert {s.site: s.articles for s in after.sites} == {"warta": 20, "kabar": 10}
    # Opening again is a no-op (the step ran once).
    with Archive(path) as archive:
        assert archive.db.execute("SELECT sum(articles) FROM site_fills").fetchone() == (31,)


def test_compact_counts_again_the_extremes_a_delete_left_unknown(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        for day in (1, 2, 3):
            url = f"https://warta.example.id/{day}"
            raw = dataclasses.replace(make_raw(url), fetched_at=at(day))
            archive.store(raw, make_article(url, title=f"Judul {day}"), site="warta")
    with sqlite3.connect(path) as conn:  # the newest article goes, by plain SQL
        conn.execute("DELETE FROM articles WHERE url LIKE '%/3'")
        kept = conn.execute("SELECT last_seen_max FROM site_fills WHERE site = 'warta'").fetchone()
    assert kept == (None,)  # unknown until counted again
    command = [sys.executable, "-m", "newsarchive", "compact", "--db", str(path)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with Archive(path) as archive:
        row = archive.db.execute(
            "SELECT first_seen_min, last_seen_max FROM site_fills WHERE site = 'warta'"
        ).fetchone()
        scanned = archive.db.execute(SEEN_SCAN).fetchone()
        assert row == scanned[1:] and row[1] is not None
        assert differences(archive) == []
