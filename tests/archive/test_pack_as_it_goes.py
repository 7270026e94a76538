"""A crawl's writer packs its site's raw pages into whole blocks as a block's worth comes in
(Archive.pack_whole_blocks), instead of all at the crawl's end: the blocks are the ones the end
would have cut, every page reads back byte for byte, the rest waits for the end, and a damaged
page met on the way is still said in the crawl's one line."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
import zstandard
from archive_fixtures import make_article, make_raw, news_page

from newsarchive import crawl_jobs
from newsarchive.errors import ArchiveUnwritable
from newsarchive.importing import ImportSink, saved_page_item
from newsarchive.items import CrawledPage, FetchFailure
from newsarchive.storage import Archive, default_pages_path

BLOCK = 15_000  # bytes of raw HTML a block holds in these tests (a crawl's: 8 MiB)


def page(i: int) -> bytes:
    return news_page(
        f"Berita {i}: banjir di kota",
        [f"Paragraf {i}-{j}: warga menghadapi banjir lagi tahun ini." for j in range(6)],
    )


def url(i: int) -> str:
    return f"https://warta.example.id/2024/03/05/berita-{i}"


def block_layout(db) -> list[list[int]]:
    """The page ids of each block of the pages file, in block order."""
    with closing(sqlite3.connect(default_pages_path(db))) as conn:
        rows = conn.execute(
            "SELECT block_id, id FROM pages WHERE block_id IS NOT NULL ORDER BY block_id, id"
        ).fetchall()
    blocks: dict[int, list[int]] = {}
    for block_id, page_id in rows:
        blocks.setdefault(block_id, []).append(page_id)
    return list(blocks.values())


def test_whole_blocks_are_the_ones_the_end_would_cut_and_the_rest_waits(tmp_path) -> None:
    bodies = {url(i): page(i) for i in range(60)}
    size = sum(map(len, bodies.values()))
    assert size > 3 * BLOCK

    # All packed at the end, as before.
    with Archive(tmp_path / "end.db") as archive:
        for u, body in bodies.items():
            archive.store(make_raw(u, body=body), make_article(u), site="warta")
        archive.pack_pages("warta", block_bytes=BLOCK)
    at_end = block_layout(tmp_path / "end.db")

    # Packed as it goes, inside a crawl's batch, then the end packs the rest.
    with Archive(tmp_path / "going.db") as archive, archive.batch(size=7, max_seconds=0):
        packed = []
        for n, (u, body) in enumerate(bodies.items()):
            archive.store(make_raw(u, body=body), make_article(u), site="warta")
            if n % 10 == 9:
                packed.append(archive.pack_whole_blocks("warta", block_bytes=BLOCK).pages)
        waiting = archive.pages.execute("SELECT count(*) FROM page_bodies").fetchone()[0]
        whole = block_layout(tmp_path / "going.db")
        assert sum(packed) == sum(map(len, whole)) > 0
        assert waiting == len(bodies) - sum(packed) > 0  # less than a block waits
        archive.pack_pages("warta", block_bytes=BLOCK)
        for u, body in bodies.items():
            assert archive.raw_page(archive.page_id_for_url(u))[1] == body
    assert block_layout(tmp_path / "going.db") == at_end
    assert len(at_end) > len(whole) > 1


def damaged_page_stored_alone(db) -> int:  # noqa: ANN001
    """A page of the site stored alone (by an earlier import), then damaged on disk: its id."""
    with Archive(db) as archive:
        archive.store(make_raw(url(1000), body=page(1000)), make_article(url(1000)), site="warta")
    with closing(sqlite3.connect(default_pages_path(db))) as conn, conn:
        [(damaged,)] = conn.execute("SELECT page_id FROM page_bodies").fetchall()
        other = zstandard.ZstdCompressor().compress(b"<html>another page</html>")
        conn.execute("UPDATE page_bodies SET data = ? WHERE page_id = ?", [other, damaged])
    return damaged


def test_a_crawls_writer_packs_as_it_goes_and_says_damage_at_the_end(tmp_path, monkeypatch) -> None:
    db = tmp_path / "archive.db"
    damaged = damaged_page_stored_alone(db)

    monkeypatch.setattr(crawl_jobs, "PACK_BLOCK_BYTES", BLOCK)
    crawl_jobs.writer_open(str(db), "warta", {}, commit_every=5)
    loose_during = []
    for start in range(0, 60, 6):
        items = [
            CrawledPage(
                raw=make_raw(url(i), body=page(i)), site="warta", article=make_article(url(i))
            )
            for i in range(start, start + 6)
        ]
        replies = crawl_jobs.writer_store_many(
            [*items, FetchFailure(url(start) + "x", "HTTP 404", "warta")]
        )
        assert [outcome for outcome, _ in replies] == ["new"] * 6 + ["failures"]
        with closing(sqlite3.connect(default_pages_path(db))) as conn:
            loose_during.append(conn.execute("SELECT count(*) FROM page_bodies").fetchone()[0])
    packed_during = block_layout(db)
    lines = crawl_jobs.writer_close(
        {
            "pages_fetched": 70,
            "articles_new": 60,
            "articles_updated": 0,
            "articles_unchanged": 0,
            "failures": 10,
        }
    )

    # Never more waits than the rest of a block and the block's worth stored before the next look.
    per_block = max(map(len, packed_during))
    assert len(packed_during) >= 3 and max(loose_during) <= 2 * per_block + 1, loose_during
    # Said once, at the end, although the pack that met it ran during the crawl.
    assert len(lines) == 1 and f"raw page {damaged} is damaged" in lines[0], lines
    with Archive(db) as archive:
        assert archive.pages.execute("SELECT page_id FROM page_bodies").fetchall() == [(damaged,)]
        for i in range(60):
            assert archive.raw_page(archive.page_id_for_url(url(i)))[1] == page(i)


def test_an_import_says_the_damage_its_packing_met_on_the_way(tmp_path) -> None:
    """An import packs as it goes too (ImportSink): a damaged page met then is said by the
    import's end (crawl_ended), not only remembered for verify."""
    db = tmp_path / "archive.db"
    damaged = damaged_page_stored_alone(db)
    with Archive(db) as archive:
        with archive.batch(), ImportSink(archive, pack_every=BLOCK) as sink:
            for i in range(40):
                item = saved_page_item(page(i), url=url(i), site="warta")
                sink.put(item, lambda outcome, error: None)
            sink.finish()
            packed_on_the_way = block_layout(db)
        lines = archive.crawl_ended(None)
    assert packed_on_the_way  # the damaged page was met by a pack during the import
    assert len(lines) == 1 and f"raw page {damaged} is damaged" in lines[0], lines


def test_a_full_disk_met_by_packing_during_a_crawl_loses_nothing_and_ends_it_in_one_line(
    tmp_path, monkeypatch
) -> None:
    """Packing fails as on a full disk (every block write): the crawl's items are all stored
    and readable, alone, and the end's packing, which meets it too, raises the one error that
    stops the crawl."""
    db = tmp_path / "archive.db"

    def disk_full(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        raise ArchiveUnwritable(f"{db}: cannot write: the disk is full")

    monkeypatch.setattr(crawl_jobs, "PACK_BLOCK_BYTES", BLOCK)
    monkeypatch.setattr(Archive, "_write_block", disk_full)
    crawl_jobs.writer_open(str(db), "warta", {}, commit_every=5)
    for start in range(0, 40, 8):
        items = [
            CrawledPage(
                raw=make_raw(url(i), body=page(i)), site="warta", article=make_article(url(i))
            )
            for i in range(start, start + 8)
        ]
        assert [outcome for outcome, _ in crawl_jobs.writer_store_many(items)] == ["new"] * 8
    counts = {
        "pages_fetched": 40,
        "articles_new": 40,
        "articles_updated": 0,
        "articles_unchanged": 0,
        "failures": 0,
    }
    with pytest.raises(ArchiveUnwritable, match="the disk is full"):
        crawl_jobs.writer_close(counts)
    with Archive(db) as archive:
        assert archive.pages.execute("SELECT count(*) FROM page_bodies").fetchone()[0] == 40
        for i in range(40):
            assert archive.raw_page(archive.page_id_for_url(url(i)))[1] == page(i)
        [(finished,)] = archive.db.execute("SELECT finish_reason FROM crawl_runs").fetchall()
    assert finished == "finished"  # the run row was written before the end's packing
