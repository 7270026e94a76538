"""A raw page damaged on disk is found and named — by `verify`, by `show --raw`, by `reextract`
(which keeps the page's record as it was) — never passed on as the page. It used to be a zstd
traceback at best, and, when the damaged bytes still inflated, another page's text served as
the article's."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from archive_fixtures import cli_error, make_article, make_raw, news_page, snapshot
from click.testing import CliRunner

from newsarchive.cli import cli
from newsarchive.storage import Archive, default_pages_path
from newsarchive.storage.compression import compress


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def url(n: int) -> str:
    return f"https://warta.example.id/daerah/2024/03/{n:02d}/berita-{n}"


@pytest.fixture
def archive_db(tmp_path: Path) -> Path:
    """Twelve articles: the first eight packed into a block, the last four stored alone."""
    db = tmp_path / "a" / "archive.db"
    db.parent.mkdir()
    with Archive(db) as archive:
        for n in range(1, 13):
            words = f"Warga desa {n} memanen padi lebih awal karena kemarau panjang tahun ini."
            html = news_page(f"Panen awal di desa {n}", [words, "Harga gabah naik."])
            archive.store(make_raw(url(n), html), make_article(url(n)), site="warta")
            if n == 8:
                archive.pack_pages(None)
    return db


def pages_db(archive_db: Path) -> sqlite3.Connection:
    return sqlite3.connect(default_pages_path(archive_db))


def test_a_sound_archive_verifies(archive_db: Path) -> None:
    result = invoke("verify", "--db", str(archive_db))
    assert result.exit_code == 0, result.output
    assert "sound: 12 raw pages" in result.output and "12 records" in result.output
    with pages_db(archive_db) as conn:  # both layouts were read: a block and pages alone
        kinds = dict(conn.execute("SELECT block_id IS NOT NULL, count(*) FROM pages GROUP BY 1"))
    assert kinds == {1: 8, 0: 4}


def test_a_damaged_block_is_named_page_by_page(archive_db: Path) -> None:
    with pages_db(archive_db) as conn:
        [(block_id, data)] = conn.execute("SELECT id, data FROM blocks").fetchall()
        damaged = bytearray(data)
        for at in range(len(damaged) // 3, len(damaged)):  # the block's later two thirds
            damaged[at] ^= 0x5A
        conn.execute("UPDATE blocks SET data = ? WHERE id = ?", [bytes(damaged), block_id])
        in_block = [i for (i,) in conn.execute("SELECT id FROM pages WHERE block_id IS NOT NULL")]
    conn.close()
    cursor = sqlite3.connect(archive_db).execute("SELECT * FROM articles")
    page_column = [d[0] for d in cursor.description].index("page_id")
    records_before = cursor.fetchall()
    before = snapshot(archive_db.parent)

    result = invoke("verify", "--db", str(archive_db))
    error = cli_error(result)
    damaged_ids = [
        int(line.split("raw page ")[1].split()[0])
        for line in result.stdout.splitlines()
        if "is damaged" in line
    ]
    assert damaged_ids and set(damaged_ids) <= set(in_block)
    assert f"{len(damaged_ids)} damaged raw page(s)" in error
    assert snapshot(archive_db.parent) == before  # verify writes nothing

    [page_url] = [
        u
        for (u,) in pages_db(archive_db).execute(
            "SELECT url FROM pages WHERE id = ?", [damaged_ids[-1]]
        )
    ]
    shown = cli_error(invoke("show", page_url, "--raw", "--db", str(archive_db)))
    assert f"raw page {damaged_ids[-1]} is damaged" in shown

    # Re-extraction rebuilds the sound pages' records and keeps the others as they were.
    rebuilt = invoke("reextract", "--db", str(archive_db))
    assert rebuilt.exit_code == 1
    assert "Traceback" not in rebuilt.stderr
    assert f"re-extracted {12 - len(damaged_ids)} of 12" in rebuilt.output
    assert rebuilt.stderr.count("is damaged") == min(len(damaged_ids), 10)
    records_after = sqlite3.connect(archive_db).execute("SELECT * FROM articles").fetchall()
    assert len(records_after) == len(records_before) == 12
    kept = [row for row in records_after if row[page_column] in damaged_ids]
    assert kept == [row for row in records_before if row[page_column] in damaged_ids]
    # The fixture's records are not what the extractor makes of the pages: the rest changed.
    assert all(row not in records_before for row in records_after if row not in kept)
    failures = (
        sqlite3.connect(archive_db)
        .execute("SELECT count(*) FROM failures WHERE reason LIKE '%is damaged%'")
        .fetchone()[0]
    )
    assert failures == len(damaged_ids)


def test_a_page_edited_into_other_bytes_fails_its_sha256(archive_db: Path) -> None:
    """Bytes that still inflate, but to another page: only the sha256 tells."""
    with pages_db(archive_db) as conn:
        [(page_id, page_url)] = conn.execute(
            "SELECT id, url FROM pages WHERE block_id IS NULL ORDER BY id LIMIT 1"
        ).fetchall()
        other, _ = compress(news_page("Judul lain", ["Isi yang bukan halaman ini sama sekali."]))
        conn.execute("UPDATE page_bodies SET data = ? WHERE page_id = ?", [other, page_id])
    conn.close()
    result = invoke("verify", "--db", str(archive_db))
    cli_error(result)
    assert f"raw page {page_id} is damaged (its bytes do not match the sha256" in result.stdout
    assert "1 damaged raw page(s)" in result.stderr
    shown = cli_error(invoke("show", page_url, "--raw", "--db", str(archive_db)))
    assert "do not match the sha256" in shown


def test_a_record_whose_page_is_gone_is_named(archive_db: Path) -> None:
    with pages_db(archive_db) as conn:
        [(page_id,)] = conn.execute("SELECT id FROM pages WHERE block_id IS NULL LIMIT 1")
        conn.execute("DELETE FROM fetches WHERE page_id = ?", [page_id])
        conn.execute("DELETE FROM page_bodies WHERE page_id = ?", [page_id])
        conn.execute("DELETE FROM pages WHERE id = ?", [page_id])
    conn.close()
    result = invoke("verify", "--db", str(archive_db))
    error = cli_error(result)
    assert f"points at raw page {page_id}, which" in result.stdout
    assert "1 record(s) without their page" in error
    assert "sound" not in result.stdout


def edit_into_other_bytes(archive_db: Path, page_id: int) -> None:
    """A page stored alone whose bytes now inflate to another page (only its sha256 tells)."""
    other, _ = compress(news_page("Judul lain", ["Isi yang bukan halaman ini sama sekali."]))
    with pages_db(archive_db) as conn:
        conn.execute("UPDATE page_bodies SET data = ? WHERE page_id = ?", [other, page_id])
    conn.close()


def loose_pages(archive_db: Path) -> list[int]:
    with pages_db(archive_db) as conn:
        found = [i for (i,) in conn.execute("SELECT id FROM pages WHERE block_id IS NULL")]
    conn.close()
    return found


def test_packing_goes_around_a_damaged_page_and_says_so(archive_db: Path) -> None:
    """One damaged page among those stored alone kept its whole site unpacked at every crawl's
    end and every compact (a tenth of their size lost, growing), with a warning in a log and
    exit 0; now the others are packed, the page stays as it is, and the command that found it
    fails on it. Later packs go around it without a word (every crawl of the site would fail
    on it otherwise, for good); verify lists it every time."""
    damaged, *others = loose_pages(archive_db)
    edit_into_other_bytes(archive_db, damaged)

    error = cli_error(invoke("compact", "--db", str(archive_db)))
    assert f"raw page {damaged} is damaged" in error and "newsarchive verify" in error
    assert loose_pages(archive_db) == [damaged]
    again = invoke("compact", "--db", str(archive_db))
    assert again.exit_code == 0 and "is damaged" not in again.output + again.stderr
    assert loose_pages(archive_db) == [damaged]
    with Archive(archive_db, readonly=True) as archive:
        for page_id in others:  # packed, and read back whole
            assert archive.raw_page(page_id)[1].startswith(b"<!doctype html>")
    listed = invoke("verify", "--db", str(archive_db))
    cli_error(listed, "1 damaged raw page(s)")
    assert f"raw page {damaged} is damaged" in listed.stdout


def test_a_block_holding_a_damaged_page_is_kept_when_its_pages_are_packed_again(
    archive_db: Path,
) -> None:
    """Packing a small block again with new pages dropped the old block; a damaged page left in
    it would then point at no block at all, and what was left of its bytes would be gone."""
    with pages_db(archive_db) as conn:
        [(block_id,)] = conn.execute("SELECT DISTINCT block_id FROM pages WHERE block_id > 0")
        [(damaged, sha256)] = conn.execute(
            "SELECT id, sha256 FROM pages WHERE block_id = ? ORDER BY id LIMIT 1", [block_id]
        )
        # The page's bytes in the block are as they were; the hash they are checked against is
        # not (a flipped bit in the page row): the page reads back as damaged.
        conn.execute("UPDATE pages SET sha256 = ? WHERE id = ?", ["0" * 64, damaged])
    conn.close()
    with Archive(archive_db) as archive:
        lines = archive.crawl_ended(None)
    assert len(lines) == 1 and f"raw page {damaged} is damaged" in lines[0]
    with pages_db(archive_db) as conn:
        assert conn.execute("SELECT block_id FROM pages WHERE id = ?", [damaged]).fetchone() == (
            block_id,
        )
        assert conn.execute("SELECT count(*) FROM blocks WHERE id = ?", [block_id]).fetchone()[0]
        moved = conn.execute("SELECT count(*) FROM pages WHERE block_id != ?", [block_id])
        assert moved.fetchone()[0] == 11  # the block's seven others and the four stored alone
    conn.close()
    with pages_db(archive_db) as conn:
        conn.execute("UPDATE pages SET sha256 = ? WHERE id = ?", [sha256, damaged])
    conn.close()
    with Archive(archive_db, readonly=True) as archive:  # its bytes are all still there
        assert archive.raw_page(damaged)[1].startswith(b"<!doctype html>")


def test_an_import_ending_on_a_damaged_page_exits_1(archive_db: Path, tmp_path: Path) -> None:
    damaged = loose_pages(archive_db)[0]
    edit_into_other_bytes(archive_db, damaged)
    page = tmp_path / "baru.html"
    page.write_bytes(news_page("Panen raya", ["Petani di desa baru memanen padi bersama."]))
    result = invoke("import", str(page), "--url", url(30), "--db", str(archive_db))
    error = cli_error(result, f"raw page {damaged} is damaged")
    assert "left as it is, the other pages packed" in error
    assert "imported 1 pages" in result.output
    assert loose_pages(archive_db) == [damaged]


def test_a_warc_export_leaves_out_the_damaged_pages_and_says_which(
    archive_db: Path, tmp_path: Path
) -> None:
    """The export stopped at the first damaged page: one page could keep every other from a
    WARC. Now the rest is exported, each damaged page named, and the exit status says so; the
    later pages of an article whose first page is damaged are left out with it."""
    first = url(20)
    with Archive(archive_db) as archive:
        archive.store(
            make_raw(first, news_page("Kereta cepat", ["Halaman pertama."])),
            make_article(first),
            site="warta",
            continuations=[make_raw(f"{first}?page=2", news_page("Kereta", ["Kedua."]))],
        )
        [(head,)] = archive.pages.execute("SELECT id FROM pages WHERE url = ?", [first])
    edit_into_other_bytes(archive_db, head)
    out = tmp_path / "out.warc"
    result = invoke("export", "--format", "warc", "-o", str(out), "--db", str(archive_db))
    cli_error(result, f"{out}: 2 raw page(s) left out, damaged", "newsarchive verify --db")
    assert f"raw page {head} is damaged" in result.stderr
    assert f"raw page {head + 1} left out: a later page of an article whose first" in result.stderr
    assert "exported 12 raw pages" in result.stderr
    imported = tmp_path / "again.db"
    assert invoke("import", str(out), "--db", str(imported)).exit_code == 0
    with Archive(imported, readonly=True) as archive:
        urls = {u for (u,) in archive.pages.execute("SELECT url FROM pages")}
    assert urls == {url(n) for n in range(1, 13)}


def test_a_damaged_page_fetched_again_as_it_was_is_healed(archive_db: Path, tmp_path: Path) -> None:
    """The same bytes from the same URL (a revisit, an import of a saved copy) are the page's
    body again: it reads back, verify finds the archive sound, and packing takes it in."""
    damaged = loose_pages(archive_db)[0]
    with pages_db(archive_db) as conn:
        [(page_url,)] = conn.execute("SELECT url FROM pages WHERE id = ?", [damaged])
    conn.close()
    n = int(page_url.rsplit("-", 1)[1])
    words = f"Warga desa {n} memanen padi lebih awal karena kemarau panjang tahun ini."
    html = news_page(f"Panen awal di desa {n}", [words, "Harga gabah naik."])
    edit_into_other_bytes(archive_db, damaged)
    cli_error(invoke("compact", "--db", str(archive_db)), f"raw page {damaged} is damaged")

    saved = tmp_path / "saved.html"
    saved.write_bytes(html)
    assert invoke("import", str(saved), "--url", page_url, "--db", str(archive_db)).exit_code == 0
    assert invoke("verify", "--db", str(archive_db)).exit_code == 0
    with Archive(archive_db, readonly=True) as archive:
        assert archive.raw_page(damaged)[1] == html
    with pages_db(archive_db) as conn:
        assert conn.execute("SELECT count(*) FROM damaged_pages").fetchone()[0] == 0
    conn.close()
    assert invoke("compact", "--db", str(archive_db)).exit_code == 0
    assert loose_pages(archive_db) == []


def test_records_stored_while_the_raw_pages_are_read_are_not_said_to_lack_them(
    archive_db: Path,
) -> None:
    # A crawl writing beside verify (a weekly verify from cron): it stores more articles while
    # verify reads the raw pages. Their records, read after the pages, were said to be without
    # their page, and verify failed on a sound archive.
    from newsarchive.storage.verify import verify_archive

    with Archive(archive_db, readonly=True) as reading:
        read_pages = reading.check_pages

        def pages_then_a_crawl_stores(*args, **kwargs):
            yield from read_pages(*args, **kwargs)
            with Archive(archive_db) as crawl:
                for n in range(13, 16):
                    html = news_page(f"Panen di desa {n}", ["Warga desa memanen padi.", "Lagi."])
                    crawl.store(make_raw(url(n), html), make_article(url(n)), site="warta")

        reading.check_pages = pages_then_a_crawl_stores
        found = verify_archive(reading)
    assert found.problems == []
    assert (found.pages, found.articles) == (12, 12)
    after = invoke("verify", "--db", str(archive_db))
    assert after.exit_code == 0 and "sound: 15 raw pages" in after.output, after.output
