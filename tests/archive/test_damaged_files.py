"""Damage inside a file that passes the opening checks (a b-tree page overwritten with garbage: a bad
sector, bit rot, a copy cut short in the middle), met by every command at query time: one `Error:`
line naming the damaged file and what to do, exit 1, no traceback, and nothing written to the
files; `verify` lists the damage. It used to be an sqlite3 traceback from most commands ("database
disk image is malformed"), a second traceback from `verify` itself, and a damaged full-text index
passed `verify` as sound.

Every file here is a real archive damaged by writing bytes into it at a page found with
`PRAGMA page_size` and `dbstat`.
"""

from __future__ import annotations

import asyncio
import gc
import random
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from archive_fixtures import assert_one_error, cli_error, make_article, make_raw, news_page
from archive_fixtures import snapshot as files_in
from click.testing import CliRunner

from newsarchive.cli import cli
from newsarchive.demo import DemoServer
from newsarchive.storage import Archive, default_pages_path

LONG_URL = "https://warta.example.id/daerah/2024/03/05/tanggul-jebol"
# Longer than archive.db's 16 KiB page: the record's body runs on into overflow pages.
LONG_BODY = " ".join(
    f"Paragraf {n}: warga pesisir memperbaiki tanggul yang jebol diterjang banjir rob semalam."
    for n in range(300)
)


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    # As the command's process ending would: the SQLite error in the result's exception chain
    # holds its statements, which keep the file open (a -wal and -shm beside it) until freed.
    result.exception = result.exc_info = None
    gc.collect()
    return result


def url(n: int) -> str:
    return f"https://warta.example.id/daerah/2024/03/{n:02d}/berita-{n}"


@pytest.fixture(scope="module")
def sound(tmp_path_factory) -> Path:
    """Twenty short articles and one long one, their raw pages packed into blocks."""
    db = tmp_path_factory.mktemp("sound") / "archive.db"
    with Archive(db) as archive:
        for n in range(1, 21):
            words = f"Warga desa {n} memanen padi lebih awal karena kemarau panjang tahun ini."
            html = news_page(f"Panen awal di desa {n}", [words, "Harga gabah naik."])
            article = make_article(url(n), title=f"Panen awal di desa {n}", body=words)
            archive.store(make_raw(url(n), html), article, site="warta")
        html = news_page("Tanggul jebol", [LONG_BODY])
        article = make_article(LONG_URL, title="Tanggul jebol", body=LONG_BODY)
        archive.store(make_raw(LONG_URL, html), article, site="warta")
        archive.pack_pages(None)
    return db


@pytest.fixture
def copy(sound: Path, tmp_path: Path) -> Path:
    """A fresh copy of the sound archive, to damage."""
    shutil.copytree(sound.parent, tmp_path / "a")
    return tmp_path / "a" / "archive.db"


def garble_page(path: Path, table: str, pagetype: str | None = None, which: int = 0) -> int:
    """Overwrite a page of `table` (the first, or `which` in file order, of that dbstat page
    type) with garbage; its number."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [
            number
            for (number,) in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = ? AND coalesce(?, pagetype) = pagetype "
                "ORDER BY pageno",
                [table, pagetype],
            )
        ]
    assert pages, (path, table, pagetype)
    with path.open("r+b") as handle:
        handle.seek((pages[which] - 1) * page_size)
        handle.write(random.Random(pages[which]).randbytes(page_size))
    return pages[which]


def garble_search_index(path: Path) -> None:
    """Overwrite the full-text index's segment blobs where they lie in the file, each only up to
    the end of its page: every b-tree page stays sound, so quick_check passes."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        # Ids 1 and 10 are the index's averages and structure records; the rest are segments.
        blobs = [
            blob for (blob,) in conn.execute("SELECT block FROM articles_fts_data WHERE id > 10")
        ]
    data = path.read_bytes()
    garbled = 0
    with path.open("r+b") as handle:
        for blob in blobs:
            at = data.find(blob[:32]) if len(blob) >= 32 else -1
            if at < 0:
                continue
            end = min(at + len(blob), (at // page_size + 1) * page_size)
            handle.seek(at)
            handle.write(random.Random(at).randbytes(end - at))
            garbled += 1
    assert garbled


def quick_check(path: Path) -> list[str]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)) as conn:
        return [row[0] for row in conn.execute("PRAGMA quick_check")]


def damaged_error(result, path: Path) -> str:
    """The one Error line of a command that met damage in `path`: names the file, says it is
    damaged as SQLite does, and what to do."""
    line = cli_error(result, f"{path}: damaged", "database disk image is malformed")
    assert "newsarchive verify --db" in line and "backup" in line, line
    return line


def each_names_the_damage(commands: list[list[str]], db: Path, damaged: Path) -> None:
    for command in commands:
        result = invoke(*command, "--db", str(db))
        try:
            damaged_error(result, damaged)
        except AssertionError as failure:
            raise AssertionError(f"newsarchive {' '.join(command)}: {failure}") from None


def test_the_overflow_page_of_a_long_body(copy: Path) -> None:
    garble_page(copy, "articles", "overflow")
    before = files_in(copy.parent)
    db = ["--db", str(copy)]
    out = str(copy.parent.parent / "out.parquet")
    each_names_the_damage(
        [
            ["show", LONG_URL],
            ["show", LONG_URL, "--raw"],  # looks the page up through the record
            ["export"],
            ["export", "--format", "csv"],
            ["export", "--format", "parquet", "-o", out],
        ],
        copy,
        copy,
    )
    # A short record is still served: only what reads the damaged page stops.
    assert invoke("show", url(3), *db).exit_code == 0
    assert files_in(copy.parent) == before

    # The writers name it before writing anything (quick_check, as a crawl's start does).
    page = copy.parent.parent / "page.html"
    page.write_bytes(news_page("Judul baru", ["Isi berita baru yang belum ada di arsip."]))
    for command in (["reextract", "--jobs", "1"], ["import", str(page), "--url", url(40)]):
        result = invoke(*command, *db)
        line = assert_one_error(result.exit_code, result.stderr, f"{copy}: truncated or corrupt")
        assert "malformed: On tree page" in line and "newsarchive verify --db" in line, line
    assert files_in(copy.parent) == before

    result = invoke("verify", *db)
    assert f"{copy}: On tree page" in result.stdout
    cli_error(result, "problem(s)")


def test_a_body_garbled_where_sqlite_cannot_tell(copy: Path) -> None:
    """Text overwritten inside the long body's overflow page, its page pointer kept: SQLite has no
    checksum and reads it back without an error; only the record's content hash tells."""
    with closing(sqlite3.connect(f"file:{copy}?mode=ro&immutable=1", uri=True)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        [(page,)] = conn.execute(
            "SELECT pageno FROM dbstat WHERE name = 'articles' AND pagetype = 'overflow'"
        )
        [(long_id,)] = conn.execute("SELECT id FROM articles WHERE url = ?", [LONG_URL])
    with copy.open("r+b") as handle:
        handle.seek((page - 1) * page_size + 100)  # past the 4-byte pointer to the next page
        handle.write(b"XXXX" * 50)
    assert quick_check(copy) == ["ok"]
    shown = invoke("show", LONG_URL, "--db", str(copy))
    assert shown.exit_code == 0 and "XXXX" in shown.stdout  # served as it now is

    result = invoke("verify", "--db", str(copy))
    assert (
        f"{copy}: article {long_id} ({LONG_URL}) is damaged (its content does not match the "
        "hash stored with it), or was edited outside newsarchive"
    ) in result.stdout.splitlines()
    cli_error(result, "1 problem(s)")


def test_a_garbled_leaf_stops_quick_check_and_verify_goes_on(copy: Path) -> None:
    """A page garbled whole makes quick_check itself raise: verify still checks the rest."""
    garble_page(copy, "articles", "leaf")
    result = invoke("verify", "--db", str(copy))
    lines = result.stdout.splitlines()
    assert f"{copy}: database disk image is malformed (the check could not read past it)" in lines
    assert any(line.startswith(f"{copy}: records cannot be read") for line in lines), lines
    cli_error(result, "problem(s) in 21 raw pages")  # the raw pages were all read
    damaged_error(invoke("export", "--db", str(copy)), copy)


def test_an_index_page_of_the_records(copy: Path) -> None:
    garble_page(copy, "sqlite_autoindex_articles_1")  # the unique index on articles.url
    before = files_in(copy.parent)
    damaged_error(invoke("show", url(3), "--db", str(copy)), copy)
    assert files_in(copy.parent) == before


def test_the_full_text_index_damaged_inside_sound_pages(copy: Path) -> None:
    garble_search_index(copy)
    assert quick_check(copy) == ["ok"]  # what the opening checks read cannot see it
    before = files_in(copy.parent)

    result = invoke("verify", "--db", str(copy))
    assert f"{copy}: the full-text index is damaged: database disk image is malformed" in (
        result.stdout.splitlines()
    )
    cli_error(result, "1 problem(s)")

    line = cli_error(invoke("search", "panen", "--db", str(copy)), f"{copy}: damaged")
    assert "its full-text index" in line and "newsarchive verify" in line
    assert files_in(copy.parent) == before
    line = cli_error(invoke("compact", "--db", str(copy)), f"{copy}: damaged")
    assert "its full-text index" in line
    # The damaged file is left as it was (the sound pages file was packed and vacuumed first).
    assert files_in(copy.parent)["archive.db"] == before["archive.db"]
    assert not (copy.parent / "archive.db-wal").exists()


def test_a_page_of_the_raw_pages_blocks(copy: Path) -> None:
    pages = default_pages_path(copy)
    garble_page(pages, "blocks", "leaf")  # the blocks' rows (an overflow page: test_verify)
    before = files_in(copy.parent)
    db = ["--db", str(copy)]
    out = str(copy.parent.parent / "out.warc.gz")
    # The pages whose block row is on the damaged page are named; the rest read on.
    damaged = f"{pages}: raw page 3 is damaged (database disk image is malformed)"
    cli_error(invoke("show", url(3), "--raw", *db), damaged, "newsarchive verify --db", "backup")
    # The pages that read are exported; the damaged ones are listed and make the exit status.
    exported = invoke("export", "--format", "warc", "-o", out, *db)
    cli_error(exported, "raw page(s) left out, damaged", "newsarchive verify --db")
    assert damaged in exported.stderr.splitlines()
    with Archive(copy, readonly=True) as archive:
        total = archive.pages.execute("SELECT count(*) FROM pages").fetchone()[0]
    left_out = int(exported.stderr.split(" raw page(s) left out")[0].rsplit(" ", 1)[1])
    assert f"exported {total - left_out} raw pages" in exported.stderr
    cli_error(invoke("compact", *db), f"{pages}: truncated or corrupt", "newsarchive verify")
    assert invoke("show", url(3), *db).exit_code == 0  # the record needs no raw page
    assert files_in(copy.parent) == before

    result = invoke("verify", *db)
    assert damaged in result.stdout.splitlines()
    assert "cannot be read" not in result.stdout  # verify went on past that block
    cli_error(result, "damaged raw page(s)")


def test_stats_and_health_name_the_file(copy: Path) -> None:
    pages = default_pages_path(copy)
    garble_page(pages, "pages", "leaf")
    damaged_error(invoke("stats", "--db", str(copy)), pages)
    garble_page(copy, "crawl_runs_site")  # what health reads first, an index of the runs
    damaged_error(invoke("health", "--db", str(copy)), copy)


def test_crawl_names_the_damage_in_one_line_before_it_starts(copy: Path) -> None:
    garble_page(copy, "articles", "overflow")
    before = files_in(copy.parent)
    with DemoServer(articles=6) as server:
        done = subprocess.run(
            [sys.executable, "-m", "newsarchive", "crawl", "demo", "--base-url", server.base_url]
            + ["--db", str(copy)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert_one_error(
        done.returncode, done.stderr, f"{copy}: truncated or corrupt", "newsarchive verify --db"
    )
    # quick_check's findings, which came on lines of their own after a header.
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "malformed: On tree page" in done.stderr and "***" not in done.stderr
    assert files_in(copy.parent) == before


def test_browse_shows_a_page_saying_the_archive_is_damaged(copy: Path, capsys) -> None:
    from newsarchive.datasette import served_datasette

    with closing(sqlite3.connect(f"file:{copy}?mode=ro&immutable=1", uri=True)) as conn:
        [(long_id,)] = conn.execute("SELECT id FROM articles WHERE url = ?", [LONG_URL])
    garble_page(copy, "articles", "leaf", which=-1)  # the last leaf: the long article's row
    datasette = served_datasette(copy)

    async def get(path: str):
        return await datasette.client.get(path)

    page = asyncio.run(get(f"/{copy.stem}/articles/{long_id}"))
    assert page.status_code == 500
    assert "The archive is damaged" in page.text
    assert f"{copy}: damaged (database disk image is malformed)" in page.text
    assert "newsarchive verify --db" in page.text
    data = asyncio.run(get(f"/{copy.stem}/articles.json")).json()
    assert data["ok"] is False and "newsarchive verify" in data["error"]
    assert "Traceback" not in capsys.readouterr().err
    assert asyncio.run(get(f"/{copy.stem}/articles/1")).status_code == 200


def test_a_file_too_big_to_check_at_the_start_is_written_and_its_damage_named_where_met(
    copy: Path, monkeypatch
) -> None:
    """Over opening.QUICK_CHECK_MAX_BYTES a writer starts without reading the whole file (a grown
    archive's crawl waited a minute for that, cold): a damaged page it never touches does not
    stop it, the page it brings is stored, and the damage is named where it is read. The
    commands that go through the whole archive anyway (reextract, compact) still read it all
    first and name the damage before writing anything."""
    from newsarchive.storage import opening

    garble_page(copy, "articles", "overflow")
    monkeypatch.setattr(opening, "QUICK_CHECK_MAX_BYTES", 0)  # every file is over it
    page = copy.parent.parent / "page.html"
    page.write_bytes(news_page("Judul baru", ["Isi berita baru yang belum ada di arsip."]))
    db = ["--db", str(copy)]
    before = files_in(copy.parent)
    for command in (["compact"], ["reextract", "--jobs", "1"]):
        result = invoke(*command, *db)
        line = assert_one_error(result.exit_code, result.stderr, f"{copy}: truncated or corrupt")
        assert "malformed: On tree page" in line, line
    assert files_in(copy.parent) == before
    imported = invoke("import", str(page), "--url", url(40), *db)
    assert imported.exit_code == 0, imported.stderr
    assert "Judul baru" in invoke("show", url(40), *db).stdout
    damaged_error(invoke("show", LONG_URL, *db), copy)
    result = invoke("verify", *db)
    assert f"{copy}: On tree page" in result.stdout
    cli_error(result, "problem(s)")


def test_a_write_that_meets_damage_stops_every_write(copy: Path) -> None:
    """Where the opening checks do not read (files over opening.QUICK_CHECK_MAX_BYTES), a store
    meeting a damaged page stops the archive's writes as a full disk does — the crawl then ends
    in one line — instead of failing item after item (a warning each, and the crawl fetching on
    for nothing)."""
    from newsarchive.errors import ArchiveUnwritable

    garble_page(copy, "article_urls")
    new = "https://warta.example.id/daerah/2024/03/30/baru"
    with Archive(copy) as archive:
        stopped = pytest.raises(
            ArchiveUnwritable, match=r"archive\.db: cannot write: the archive is "
        )
        with stopped, archive.batch():
            archive.store(make_raw(new), make_article(new), site="warta")
        assert "damaged" in str(archive.unwritable)
        with pytest.raises(ArchiveUnwritable):  # at once, without touching the files again
            archive.store(make_raw(new + "-2"), make_article(new + "-2"), site="warta")
    # Under 2 GB a command that writes reads the whole file first and refuses it.
    refused = invoke("import", __file__, "--url", new, "--db", str(copy))
    cli_error(refused, f"{copy}: truncated or corrupt", "newsarchive verify --db")


def test_compact_refuses_a_damaged_file_before_it_rewrites_both(copy: Path) -> None:
    """compact packed and vacuumed an archive.db whose damage was not on its way, and said
    nothing (exit 0)."""
    garble_page(copy, "articles", "overflow")
    before = files_in(copy.parent)
    cli_error(invoke("compact", "--db", str(copy)), f"{copy}: truncated or corrupt")
    assert files_in(copy.parent) == before
