"""Raw pages packed into per-site blocks: every page still reads back byte for byte, on its own,
the file shrinks, and packing again (with new pages) keeps blocks growing."""

from __future__ import annotations

import hashlib
import sqlite3

from archive_fixtures import make_article, make_raw, news_page

from newsarchive.storage import Archive
from newsarchive.storage.compression import IN_BLOCK


def _page(i: int) -> bytes:
    # A site's pages: the same template around different text, as a crawl stores them.
    return news_page(
        f"Berita nomor {i} tentang banjir di kota",
        [
            f"Paragraf {i}-{j}: warga kota menghadapi banjir yang datang lagi tahun ini."
            for j in range(8)
        ],
    ) + (b"<!-- template " + b"menu kanal iklan " * 400 + b"-->")


def test_packed_pages_read_back_exactly_and_take_less_space(tmp_path) -> None:
    db = tmp_path / "archive.db"
    bodies = {}
    with Archive(db) as archive:
        for i in range(30):
            url = f"https://warta.example.id/2024/03/05/berita-{i}"
            bodies[url] = _page(i)
            archive.store(make_raw(url, body=bodies[url]), make_article(url), site="warta")
        archive.store(make_raw("https://lain.example.id/x", body=_page(99)), None, site="lain")
        before = archive.stored_page_bytes()
        result = archive.pack_pages()
        assert result.pages == 30 and result.blocks == 1  # the lone page of "lain" stays alone
        after = archive.stored_page_bytes()
        assert after < before / 4
        for url, body in bodies.items():
            page_id = archive.page_id_for_url(url)
            meta, got = archive.raw_page(page_id)
            assert meta["compression"] == IN_BLOCK
            assert (
                hashlib.sha256(got).hexdigest()
                == meta["sha256"]
                == hashlib.sha256(body).hexdigest()
            )
        [pages] = archive.article_pages(archive.page_id_for_url(url))[:1]
        assert pages.body == body
        assert sum(1 for _ in archive.iter_raw_pages()) == 31

        # New pages of the site join its (small) block instead of starting a block each.
        for i in range(30, 35):
            url = f"https://warta.example.id/2024/03/06/berita-{i}"
            bodies[url] = _page(i)
            archive.store(make_raw(url, body=bodies[url]), make_article(url), site="warta")
        again = archive.pack_pages("warta")
        assert again.pages == 35 and again.blocks == 1
        blocks = archive.pages.execute("SELECT count(*) FROM blocks").fetchone()[0]
        assert blocks == 1
        for url, body in bodies.items():
            assert archive.raw_page(archive.page_id_for_url(url))[1] == body


def test_a_pages_file_from_before_blocks_is_read_and_packed(tmp_path) -> None:
    db = tmp_path / "archive.db"
    url = "https://warta.example.id/2024/03/05/lama"
    with Archive(db) as archive:
        archive.store(make_raw(url, body=_page(1)), make_article(url), site="warta")
        archive.store(make_raw(url + "-2", body=_page(2)), make_article(url + "-2"), site="warta")
    # Roll the pages file back to its v3 form: bodies in `pages`, no blocks.
    pages = tmp_path / "pages.db"
    conn = sqlite3.connect(pages)
    conn.executescript(
        "UPDATE pages SET body = (SELECT data FROM page_bodies b WHERE b.page_id = pages.id);"
        "DROP TABLE page_bodies; DROP INDEX pages_block; DROP TABLE blocks;"
        "ALTER TABLE pages DROP COLUMN block_id; ALTER TABLE pages DROP COLUMN block_offset;"
        "PRAGMA user_version = 3;"
    )
    conn.close()
    with Archive(db, readonly=True) as archive:
        assert archive.raw_page(archive.page_id_for_url(url))[1] == _page(1)
    with Archive(db) as archive:  # migrated on opening for writing
        assert archive.pack_pages().pages == 2
        assert archive.raw_page(archive.page_id_for_url(url))[1] == _page(1)
        assert archive.pages.execute(
            "SELECT count(*) FROM pages WHERE length(body) > 0"
        ).fetchone() == (0,)
