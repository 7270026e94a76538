"""Raw pages packed into blocks (a big site's own, small sites' shared): every page still reads
back byte for byte, on its own, the file shrinks, packing again (with new pages) keeps blocks
growing, a killed pack loses nothing, and older pages files are read and repacked."""

from __future__ import annotations

import hashlib
import random
import sqlite3
import subprocess
import sys

import pytest
from archive_fixtures import make_article, make_raw, news_page, roll_pages_file_back_to_v3

from newsarchive.storage import Archive
from newsarchive.storage import archive as archive_module
from newsarchive.storage.compression import (
    IN_BLOCK,
    PAGES_PAGE_SIZE,
    BlockReader,
    compress_block,
)


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
        # Both sites are far from half a block: one shared block holds them, "lain" last.
        assert result.pages == 31 and result.blocks == 1
        assert archive.pages.execute("SELECT site, pages FROM blocks").fetchall() == [(None, 31)]
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
        assert again.pages == 36 and again.blocks == 1
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
    pages = tmp_path / "pages.db"
    roll_pages_file_back_to_v3(pages)
    with Archive(db, readonly=True) as archive:
        assert archive.raw_page(archive.page_id_for_url(url))[1] == _page(1)
    with Archive(db) as archive:  # migrated on opening for writing
        assert archive.pack_pages().pages == 2
        assert archive.raw_page(archive.page_id_for_url(url))[1] == _page(1)
        assert archive.pages.execute(
            "SELECT count(*) FROM pages WHERE length(body) > 0"
        ).fetchone() == (0,)


def _store_site(archive: Archive, site: str, count: int, start: int = 0) -> dict[str, bytes]:
    bodies = {}
    for i in range(start, start + count):
        url = f"https://{site}.example.id/2024/03/05/berita-{i}"
        bodies[url] = _page(i).replace(b"Warta Contoh", site.encode())
        archive.store(make_raw(url, body=bodies[url]), make_article(url), site=site)
    return bodies


def _check_all(archive: Archive, bodies: dict[str, bytes]) -> None:
    for url, body in bodies.items():
        meta, got = archive.raw_page(archive.page_id_for_url(url))
        assert got == body
        assert hashlib.sha256(got).hexdigest() == meta["sha256"]


def test_a_big_site_packs_alone_and_small_sites_share_blocks_side_by_side(tmp_path) -> None:
    with Archive(tmp_path / "archive.db") as archive:
        bodies = _store_site(archive, "warta", 30)  # ~260 kB: over half of a 200 kB block
        small = {site: _store_site(archive, site, 2) for site in ("kabar", "suara", "harian")}
        for site_bodies in small.values():
            bodies.update(site_bodies)
        result = archive.pack_pages(block_bytes=200_000)
        assert result.pages == 36
        blocks = archive.pages.execute("SELECT id, site, pages FROM blocks ORDER BY id").fetchall()
        assert {site for _, site, _ in blocks} == {"warta", None}
        assert sum(n for _, site, n in blocks if site == "warta") == 30
        [(shared, _, six)] = [row for row in blocks if row[1] is None]
        assert six == 6
        # A site's pages stay next to each other in the shared block.
        order = [
            row[0]
            for row in archive.pages.execute(
                "SELECT site FROM pages WHERE block_id = ? ORDER BY block_offset", [shared]
            )
        ]
        assert [order[i] for i in (0, 2, 4)] == [order[i] for i in (1, 3, 5)]
        assert sorted(set(order)) == ["harian", "kabar", "suara"]
        _check_all(archive, bodies)


def test_a_big_sites_later_small_crawls_grow_its_own_last_block(tmp_path) -> None:
    """A daily crawl stores a few pages of a site that has blocks of its own: they join its last
    block, not the shared one, and a pack with nothing new packs nothing (the last block is not
    moved into the shared one either)."""
    with Archive(tmp_path / "archive.db") as archive:
        bodies = _store_site(archive, "warta", 30)
        bodies.update(_store_site(archive, "kabar", 2))
        archive.pack_pages(block_bytes=200_000)
        own = "SELECT count(*), sum(pages) FROM blocks WHERE site IS ?"
        warta_before = archive.pages.execute(own, ["warta"]).fetchone()
        shared_before = archive.pages.execute(
            "SELECT id, pages FROM blocks WHERE site IS NULL"
        ).fetchall()
        assert warta_before[1] == 30 and shared_before[0][1] == 2
        assert archive.pack_pages(block_bytes=200_000).pages == 0
        for day in range(3):
            bodies.update(_store_site(archive, "warta", 2, start=100 + 2 * day))
            result = archive.pack_pages(block_bytes=200_000)
            # The new pages and the small last block they join, nothing of the full blocks.
            assert 2 <= result.pages < 30
            assert archive.pages.execute(own, ["warta"]).fetchone()[1] == 32 + 2 * day
            assert (
                archive.pages.execute("SELECT id, pages FROM blocks WHERE site IS NULL").fetchall()
                == shared_before
            )
        assert archive.pack_pages(block_bytes=200_000).pages == 0
        _check_all(archive, bodies)


def test_a_crawls_end_packs_its_sites_and_a_failure_is_a_warning(tmp_path, caplog) -> None:
    with Archive(tmp_path / "archive.db") as archive:
        bodies = _store_site(archive, "warta", 3)
        bodies.update(_store_site(archive, "kabar", 3))
        archive.crawl_ended(["warta"])
        loose = "SELECT site, count(*) FROM pages WHERE compression != ? GROUP BY site"
        assert archive.pages.execute(loose, [IN_BLOCK]).fetchall() == [("kabar", 3)]

        def broken(*args, **kwargs):
            raise sqlite3.OperationalError("disk I/O error")

        archive.pack_pages = broken
        archive.crawl_ended(["kabar"])  # no exception: the pages stay readable alone
        assert "raw pages of kabar not packed: OperationalError: disk I/O error" in caplog.text
        del archive.pack_pages
        archive.crawl_ended(["kabar"])  # the next crawl's end packs them
        assert archive.pages.execute(loose, [IN_BLOCK]).fetchall() == []
        _check_all(archive, bodies)


def test_packing_an_older_layout_moves_small_sites_into_shared_blocks(tmp_path, monkeypatch):
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        bodies = {}
        for site in ("kabar", "suara"):
            bodies.update(_store_site(archive, site, 3))
        # The layout before shared blocks: every site's pages in a block of its own.
        monkeypatch.setattr(archive_module, "SHARED_SHARE", 0.0)
        assert archive.pack_pages().blocks == 2
        monkeypatch.undo()
    with Archive(db) as archive:  # as `newsarchive compact` packs it now
        assert archive.pack_pages().pages == 6
        assert archive.pages.execute("SELECT site, pages FROM blocks").fetchall() == [(None, 6)]
        _check_all(archive, bodies)
        assert archive.pack_pages().blocks == 0  # nothing left to do


def test_packing_at_another_level_repacks_every_block_and_a_crawls_pack_keeps_it(tmp_path):
    """`compact --level 19`: the blocks a crawl's end made at 9 (a big site's own, the shared
    one) are packed again at 19, smaller, every page intact; doing it again finds nothing to do,
    and the next crawl's pack (at 9, no relevel) leaves the level-19 blocks as they are."""
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        bodies = _store_site(archive, "warta", 30)
        for site in ("kabar", "suara"):
            bodies.update(_store_site(archive, site, 2))
        archive.pack_pages(block_bytes=200_000)
        assert archive.pack_pages(block_bytes=200_000).pages == 0
        codecs = archive.pages.execute("SELECT DISTINCT compression FROM blocks").fetchall()
        assert codecs == [("zstd-9-block",)]
        stored_at_9 = archive.stored_page_bytes()
        assert archive.pack_pages(block_bytes=200_000, level=19, relevel=True).pages == 34
        blocks = archive.pages.execute("SELECT site, compression, pages FROM blocks").fetchall()
        assert {codec for _, codec, _ in blocks} == {"zstd-19-block"}
        assert sum(n for _, _, n in blocks) == 34
        assert archive.stored_page_bytes() < stored_at_9
        _check_all(archive, bodies)
        assert archive.pack_pages(block_bytes=200_000, level=19, relevel=True).pages == 0
        own = "SELECT id, compression FROM blocks WHERE site = 'warta'"
        warta_blocks = archive.pages.execute(own).fetchall()
        bodies.update(_store_site(archive, "harian", 2))  # a later crawl's pages, then its pack
        assert archive.pack_pages(block_bytes=200_000).pages >= 2  # into the shared block
        assert archive.pages.execute(own).fetchall() == warta_blocks  # left at 19
        assert {codec for _, codec in warta_blocks} == {"zstd-19-block"}
        assert archive.pages.execute(
            "SELECT count(*) FROM pages WHERE compression != ?", [IN_BLOCK]
        ).fetchone() == (0,)
        _check_all(archive, bodies)


def test_compact_level_packs_every_block_at_that_level(tmp_path):
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        bodies = {**_store_site(archive, "warta", 3), **_store_site(archive, "kabar", 2)}
        archive.pack_pages()

    def compact(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "newsarchive", "compact", *args, "--db", str(db)]
        return subprocess.run(command, capture_output=True, text=True)

    done = compact("--level", "12")
    assert done.returncode == 0, done.stderr
    assert "5 pages packed into 1 blocks" in done.stdout
    with Archive(db) as archive:
        codecs = archive.pages.execute("SELECT compression FROM blocks").fetchall()
        assert codecs == [("zstd-12-block",)]
        _check_all(archive, bodies)
    bad = compact("--level", "30")
    assert bad.returncode == 2 and "Invalid value for '--level'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_page_is_read_by_inflating_its_block_only_to_its_end(tmp_path) -> None:
    rng = random.Random(5)
    # Pages that do not shrink much, so the block's frame is many reading steps long.
    pages = [rng.randbytes(400_000).hex().encode() for _ in range(3)]
    blob, codec = compress_block(pages)
    assert len(blob) > 4 * BlockReader.STEP
    reader = BlockReader(blob, codec)
    assert reader.read(0, len(pages[0])) == pages[0]
    assert len(reader.data) < len(pages[0]) + len(pages[1])
    assert reader.read(len(pages[0]) + len(pages[1]), len(pages[2])) == pages[2]
    assert reader.read(len(pages[0]), len(pages[1])) == pages[1]  # from what it kept
    with Archive(tmp_path / "archive.db") as archive:
        for i, body in enumerate(pages):
            url = f"https://warta.example.id/{i}"
            archive.store(make_raw(url, body=body), None, site="warta")
        archive.pack_pages()
        archive._blocks.clear()
        first = archive.page_id_for_url("https://warta.example.id/0")
        assert archive.raw_page(first)[1] == pages[0]
        [cached] = archive._blocks.values()
        assert len(cached.data) < sum(map(len, pages)) // 2


def test_a_new_pages_file_has_small_pages_and_an_older_one_keeps_its_own(tmp_path) -> None:
    with Archive(tmp_path / "archive.db") as archive:
        assert archive.pages.execute("PRAGMA page_size").fetchone()[0] == PAGES_PAGE_SIZE
    old = sqlite3.connect(tmp_path / "pages.db")
    old.executescript("PRAGMA journal_mode = DELETE; PRAGMA page_size = 4096; VACUUM;")
    old.close()
    with Archive(tmp_path / "archive.db") as archive:
        archive.store(make_raw("https://warta.example.id/a", body=_page(1)), None, site="warta")
        assert archive.pages.execute("PRAGMA page_size").fetchone()[0] == 4096


KILLED_PACK = """
import os, signal, sys
from newsarchive.storage import Archive
from newsarchive.storage import archive as module
db, when = sys.argv[1], sys.argv[2]
write_block, pack_group = module.Archive._write_block, module.Archive._pack_group
written = []

def write_then_die(self, *args, **kwargs):
    if written:  # the second block: the first one is committed
        os.kill(os.getpid(), signal.SIGKILL)
    written.append(1)
    return write_block(self, *args, **kwargs)

def die_before_dropping(self, site, pages, replaced, *args):
    pack_group(self, site, pages, [], *args)  # every new block, none of the old dropped
    self._commit()
    os.kill(os.getpid(), signal.SIGKILL)

if when == "mid-pack":
    module.Archive._write_block = write_then_die
else:
    module.Archive._pack_group = die_before_dropping
with Archive(db) as archive:
    archive.pack_pages(block_bytes=40_000)
"""


@pytest.mark.parametrize("when", ["mid-pack", "before-old-blocks-go"])
def test_a_pack_killed_halfway_loses_nothing(tmp_path, monkeypatch, when) -> None:
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        bodies = _store_site(archive, "warta", 12)  # ~100 kB: blocks of its own at 40 kB
        for site in ("kabar", "suara", "harian"):
            bodies.update(_store_site(archive, site, 2))
        if when != "mid-pack":  # old per-site blocks, which the pack replaces
            monkeypatch.setattr(archive_module, "SHARED_SHARE", 0.0)
            assert archive.pack_pages(block_bytes=400_000).blocks == 4
            monkeypatch.undo()
    killed = subprocess.run([sys.executable, "-c", KILLED_PACK, str(db), when], timeout=60)
    assert killed.returncode == -9
    with Archive(db) as archive:
        _check_all(archive, bodies)
        archive.pack_pages(block_bytes=40_000)
        _check_all(archive, bodies)
        # No block is left that no page points at, and every page is packed.
        assert archive.pages.execute(
            "SELECT count(*) FROM blocks WHERE id NOT IN (SELECT block_id FROM pages "
            "WHERE block_id IS NOT NULL)"
        ).fetchone() == (0,)
        assert archive.pages.execute(
            "SELECT count(*) FROM pages WHERE compression != ?", [IN_BLOCK]
        ).fetchone() == (0,)


def test_compact_shrinks_the_file_with_one_vacuum_after_packing(tmp_path) -> None:
    """A crawl's pack hands the freed pages back at once (incremental vacuum); compact packs
    without it (page by page it took 300 s of 474 after a million pages stored alone) and
    shrinks the file with its VACUUM."""
    from newsarchive.storage import default_pages_path

    for shrink in (True, False):
        db = tmp_path / f"shrink-{shrink}" / "archive.db"
        db.parent.mkdir()
        with Archive(db) as archive:
            bodies = _store_site(archive, "warta", 40)
            archive.pack_pages(shrink=shrink)
            free = archive.pages.execute("PRAGMA freelist_count").fetchone()[0]
            _check_all(archive, bodies)
        assert (free == 0) is shrink, free
    before = default_pages_path(db).stat().st_size
    command = [sys.executable, "-m", "newsarchive", "compact", "--db", str(db)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with Archive(db) as archive:
        assert archive.pages.execute("PRAGMA freelist_count").fetchone()[0] == 0
        _check_all(archive, bodies)
    assert default_pages_path(db).stat().st_size < before


def test_pages_another_writer_packs_meanwhile_are_not_damaged(tmp_path) -> None:
    # fuzz_beside_crawl seed 52: `compact` packed a crawl's pages while the crawl's writer was
    # reading them to pack them too. A body read after `compact` moved it was "missing": the
    # crawl exited 1 naming a damaged raw page, recorded it in damaged_pages (a health alarm),
    # and the archive was sound.
    db = tmp_path / "archive.db"
    urls = [f"https://warta.example.id/2024/03/05/berita-{i}" for i in range(12)]
    with Archive(db) as archive:
        for i, url in enumerate(urls):
            archive.store(make_raw(url, body=_page(i)), make_article(url), site="warta")
    with Archive(db) as crawl:
        read_body = crawl._body
        first = []

        def compact_packs_between_the_row_and_the_body(*args, **kwargs):
            if not first:
                first.append(True)
                with Archive(db) as compact:
                    assert compact.pack_pages(None).pages == len(urls)
            return read_body(*args, **kwargs)

        crawl._body = compact_packs_between_the_row_and_the_body
        result = crawl.pack_whole_blocks("warta", block_bytes=1)
        assert result.damaged == []
        assert crawl.pages.execute("SELECT count(*) FROM damaged_pages").fetchone() == (0,)
    with Archive(db, readonly=True) as after:
        assert sorted(after.raw_page(after.page_id_for_url(url))[1] for url in urls) == sorted(
            _page(i) for i in range(12)
        )
    verify = subprocess.run(
        [sys.executable, "-m", "newsarchive", "verify", "--db", str(db)],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
