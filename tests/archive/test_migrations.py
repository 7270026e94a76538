"""An archive written by an older schema opens, upgrades in place and keeps everything."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
import sqlite_utils
from archive_fixtures import make_article, make_raw

from newsarchive.errors import NewsarchiveError
from newsarchive.storage import Archive
from newsarchive.storage.compression import compress
from newsarchive.storage.schema import ARCHIVE_MIGRATIONS, PAGES_MIGRATIONS, migrate

V1_ARTICLE = {
    "url": "https://warta.example.id/ekonomi/harga-beras",
    "page_url": "https://warta.example.id/s/beras?utm_source=wa",
    "site": "warta",
    "title": "Harga beras naik menjelang Ramadan",
    "body": "Harga beras medium naik dua ribu rupiah per kilogram di pasar tradisional.",
    "authors": '["Budi Santoso"]',
    "published": "2023-03-01T06:30:00+07:00",
    "published_utc": "2023-02-28T23:30:00Z",
    "published_date": "2023-03-01",
    "category": "Ekonomi",
    "tags": '["beras", "inflasi"]',
    "extractor_version": "0.0.9",
    "content_hash": "abc",
    "content_since": "2023-03-01T00:00:00Z",
    "first_seen": "2023-03-01T00:00:00Z",
    "last_seen": "2023-03-02T00:00:00Z",
    "fetch_count": 2,
}


def make_v1_archive(path) -> None:
    """What newsarchive's first schema wrote: the v1 tables, one article, a version and a run."""
    db = sqlite_utils.Database(path)
    ARCHIVE_MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db["articles"].insert(V1_ARTICLE)
    db["versions"].insert(
        {
            "article_id": 1,
            "url": V1_ARTICLE["url"],
            "content_hash": "old",
            "seen_from": "2023-02-28",
            "seen_until": "2023-03-01",
            "replaced_at": "2023-03-01",
            "reason": "refetch",
            "title": "Harga beras naik",
        }
    )
    db["crawl_runs"].insert(
        {"site": "warta", "started": "2023-03-01T00:00:00Z", "pages_fetched": 5}
    )
    db.close()


def test_v1_archive_upgrades_without_loss(tmp_path):
    path = tmp_path / "archive.db"
    make_v1_archive(path)
    with Archive(path) as archive:
        assert archive.db.execute("PRAGMA user_version").fetchone()[0] == len(ARCHIVE_MIGRATIONS)
        [row] = archive.db.query("SELECT * FROM articles")
        for key, value in V1_ARTICLE.items():
            assert row[key] == value, key
        # v2 backfilled the URL aliases from the URLs v1 kept.
        aliases = dict(archive.db.execute("SELECT url, article_id FROM article_urls").fetchall())
        assert aliases == {V1_ARTICLE["url"]: 1, "https://warta.example.id/s/beras": 1}
        assert archive.count("versions") == 1
        assert archive.count("crawl_runs") == 1
        # The old article is reachable by its URLs and in the search index, and new writes work.
        state = dict(archive.fetch_states())
        assert state["https://warta.example.id/s/beras"].fetch_count == 2
        hits = archive.db.execute(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'ramadan'"
        ).fetchall()
        assert hits == [(1,)]
        url = V1_ARTICLE["url"]
        assert archive.store(make_raw(url), make_article(url), site="warta") == "updated"
        assert archive.count("articles") == 1
    # Opening again is a no-op.
    with Archive(path) as archive:
        assert archive.count("versions") == 2


def test_a_newer_archive_is_refused_with_its_name(tmp_path):
    path = tmp_path / "future.db"
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {len(ARCHIVE_MIGRATIONS) + 1}")
    connection.close()
    with pytest.raises(NewsarchiveError, match=r"future\.db.*newer"):
        Archive(path)


def test_some_other_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "notes.db"
    sqlite_utils.Database(path)["notes"].insert({"text": "hello"})
    with pytest.raises(NewsarchiveError, match=r"notes\.db.*not a newsarchive archive"):
        Archive(path)


def test_v1_pages_file_upgrades_and_keeps_its_pages(tmp_path):
    pages_path = tmp_path / "pages.db"
    db = sqlite_utils.Database(pages_path)
    PAGES_MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    html = b"<html><p>arsip lama</p></html>"
    blob, codec = compress(html)
    db["pages"].insert(
        {
            "url": "https://warta.example.id/a",
            "stored_at": "2023-01-01T00:00:00Z",
            "size": len(html),
            "sha256": hashlib.sha256(html).hexdigest(),
            "compression": codec,
            "body": blob,
        }
    )
    db.close()
    with Archive(tmp_path / "archive.db", pages_path) as archive:
        assert archive.pages.execute("PRAGMA user_version").fetchone()[0] == len(PAGES_MIGRATIONS)
        [page] = archive.article_pages(1)
        assert page.body == b"<html><p>arsip lama</p></html>"
        assert "part_of" in archive.pages["pages"].columns_dict


def test_archive_indexed_by_triggers_moves_to_the_index_queue(tmp_path):
    """An archive from before v6 (its FTS triggers wrote the index row by row) keeps its index,
    and after the upgrade stores, revisits and re-extractions are indexed at commit."""
    from newsarchive.storage.queries import search

    path = tmp_path / "archive.db"
    db = sqlite_utils.Database(path)
    for migration in ARCHIVE_MIGRATIONS[:5]:
        migration(db)
    db.execute("PRAGMA user_version = 5")
    db["articles"].insert(V1_ARTICLE)
    db["articles"].insert(
        {**V1_ARTICLE, "url": "https://warta.example.id/b", "title": "Nelayan libur melaut"}
    )
    db.conn.commit()
    db.close()

    def matches(archive, words):
        return [hit.url for hit in search(archive, words)]

    with Archive(path) as archive:
        assert archive.db.execute("PRAGMA user_version").fetchone()[0] == len(ARCHIVE_MIGRATIONS)
        assert matches(archive, "ramadan") == [V1_ARTICLE["url"]]
        assert matches(archive, "nelayan") == ["https://warta.example.id/b"]
        # A revisit with new text drops the old words from the index and adds the new ones.
        url = V1_ARTICLE["url"]
        article = make_article(url, title="Harga gabah turun", body="Panen raya di Karawang.")
        with archive.batch():
            assert archive.store(make_raw(url), article, site="warta") == "updated"
            new = "https://warta.example.id/c"
            archive.store(make_raw(new), make_article(new, body="Kapal tenggelam."), site="warta")
        assert matches(archive, "ramadan") == []
        assert matches(archive, "karawang") == [url]
        assert matches(archive, "kapal tenggelam") == [new]
        assert archive.db.execute("SELECT count(*) FROM articles_fts_queue").fetchone() == (0,)
        archive.db.execute("INSERT INTO articles_fts(articles_fts) VALUES('integrity-check')")
    # What a plain-SQL write leaves queued is indexed when Archive next opens the file.
    connection = sqlite3.connect(path)
    connection.execute("UPDATE articles SET body = 'Gempa di Cianjur.' WHERE id = 2")
    connection.commit()
    connection.close()
    with Archive(path) as archive:
        assert matches(archive, "cianjur") == ["https://warta.example.id/b"]
        archive.db.execute("INSERT INTO articles_fts(articles_fts) VALUES('integrity-check')")


def cut_short(migrations: tuple, step: int) -> tuple:
    """`migrations` with step `step` interrupted as it ends — a Ctrl-C during a long step, or a
    disk that fills at its last write: the real step runs, then the interruption comes before
    migrate records the new version."""

    def interrupted(db: sqlite_utils.Database) -> None:
        migrations[step](db)
        raise KeyboardInterrupt

    return (*migrations[:step], interrupted, *migrations[step + 1 :])


def schema_of(path) -> tuple[int, list]:
    connection = sqlite3.connect(path)
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        return version, sorted(connection.execute("SELECT type, name, sql FROM sqlite_master"))
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("kind", "step"),
    [("archive", step) for step in range(len(ARCHIVE_MIGRATIONS))]
    + [("pages", step) for step in range(len(PAGES_MIGRATIONS))],
)
def test_a_step_cut_short_leaves_the_file_as_it_was(tmp_path, kind, step):
    """A step and its version number stick together or not at all: an interrupted step leaves
    no table, index or trigger of its own behind (the next opening would run it again over
    them and fail on the first CREATE), and the file then upgrades whole."""
    migrations = ARCHIVE_MIGRATIONS if kind == "archive" else PAGES_MIGRATIONS
    path = tmp_path / f"{kind}.db"
    db = sqlite_utils.Database(path)
    db.enable_wal()
    migrate(db, migrations[:step], path)
    html = b"<html><p>arsip lama</p></html>"
    if step and kind == "archive":
        db["articles"].insert(V1_ARTICLE)
    elif step:
        blob, codec = compress(html)
        db["pages"].insert(
            {
                "url": V1_ARTICLE["url"],
                "stored_at": "2023-01-01T00:00:00Z",
                "size": len(html),
                "sha256": hashlib.sha256(html).hexdigest(),
                "compression": codec,
                "body": blob,
            }
        )
    db.conn.commit()
    before = schema_of(path)

    with pytest.raises(KeyboardInterrupt):
        migrate(db, cut_short(migrations, step), path)
    db.close()
    assert schema_of(path) == before

    archive_path, pages_path = tmp_path / "archive.db", tmp_path / "pages.db"
    with Archive(archive_path, pages_path) as archive:
        assert archive.db.execute("PRAGMA user_version").fetchone()[0] == len(ARCHIVE_MIGRATIONS)
        assert archive.pages.execute("PRAGMA user_version").fetchone()[0] == len(PAGES_MIGRATIONS)
        if step and kind == "archive":
            [row] = archive.db.query("SELECT url, title FROM articles")
            assert row == {"url": V1_ARTICLE["url"], "title": V1_ARTICLE["title"]}
        elif step:
            [page] = archive.article_pages(1)
            assert page.body == html
