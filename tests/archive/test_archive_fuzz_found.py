"""Damage benchmarks/fuzz_archive.py found, each made here by hand in a small archive of our own:
every command meeting it ends in one `Error:` line naming the damaged file, exit 1, the files as
they were; `repair` does not call an archive repaired that `verify` then fails."""

from __future__ import annotations

import gzip
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest
from archive_fixtures import (
    assert_one_error,
    cli_error,
    copy_page,
    make_article,
    make_raw,
    news_page,
    pages_of,
    snapshot,
)
from click.testing import CliRunner

from newsarchive.cli import cli
from newsarchive.storage import Archive, default_pages_path

READ_COMMANDS = [["stats"], ["health"], ["search", "panen"], ["export"], ["verify"]]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def url(n: int) -> str:
    return f"https://warta.example.id/daerah/2024/03/{n:02d}/berita-{n}"


@pytest.fixture
def archive_db(tmp_path: Path) -> Path:
    """Six articles, their raw pages packed into a block (the files hold everything: Archive
    writes its -wal into them when it closes)."""
    db = tmp_path / "a" / "archive.db"
    db.parent.mkdir()
    with Archive(db) as archive:
        for n in range(1, 7):
            words = f"Warga desa {n} memanen padi lebih awal karena kemarau panjang tahun ini."
            html = news_page(f"Panen awal di desa {n}", [words, "Harga gabah naik."])
            article = make_article(url(n), title=f"Panen awal di desa {n}", body=words)
            archive.store(make_raw(url(n), html), article, site="warta")
        archive.pack_pages(None)
    return db


def replace_once(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) == 1 and len(old) == len(new), (path, old)
    path.write_bytes(data.replace(old, new))


@pytest.mark.parametrize("which", ["archive.db", "pages.db"])
def test_a_schema_statement_garbled_into_bytes_that_are_not_utf8(
    archive_db: Path, which: str
) -> None:
    """One byte of a CREATE INDEX statement in sqlite_master turned into 0xb8 (fuzz_archive: 28
    bytes flipped in pages.db): SQLite cannot read the schema and says so in a message quoting
    the statement, which Python's sqlite3 cannot decode — a UnicodeDecodeError traceback out of
    opening._identity from every command instead of the file's one Error line."""
    path = archive_db if which == "archive.db" else default_pages_path(archive_db)
    statement = b"ON versions(article_id)" if which == "archive.db" else b"ON pages(block_id)"
    garbled = statement[:4] + b"\xb8" + statement[5:]  # the table's name: no such table
    replace_once(path, statement, garbled)
    before = snapshot(archive_db.parent)
    writers = [["reextract", "--jobs", "1"], ["compact"], ["import", __file__, "--url", url(9)]]
    if which == "archive.db":  # (repair reads archive.db alone)
        writers.append(["repair"])
    for command in [*READ_COMMANDS, *writers]:
        result = invoke(*command, "--db", str(archive_db))
        line = cli_error(result, f"{path}: ")
        assert "corrupt" in line or "damaged" in line, (command, line)
    assert snapshot(archive_db.parent) == before


@pytest.mark.parametrize("byte", [b"\xbf", b"x"], ids=["not utf-8", "another name"])
def test_a_trigger_garbled_into_another_column_is_named_and_repaired(
    archive_db: Path, byte: bytes
) -> None:
    """A byte flipped in a trigger's text in sqlite_master (fuzz_archive seed 3812: a column of
    site_fills named `last_s\xbfen_max`): the schema still reads, quick_check passes, and the
    trigger is compiled only by a write that fires it. `verify` said the archive was sound;
    `reextract` failed on every record it updated with a UnicodeDecodeError (SQLite's message
    quoted the garbled name), wrote a failures row each, and exit 1."""
    garbled = b"last_s" + byte + b"en_max"
    data = archive_db.read_bytes()
    # The trigger run by an update of an article (its old and new values into site_fills).
    start = data.index(b"CREATE TRIGGER site_fills_au ")
    at = data.index(b"last_seen_max", start)
    archive_db.write_bytes(data[:at] + garbled + data[at + len(garbled) :])
    before = snapshot(archive_db.parent)
    for command in (
        ["reextract", "--jobs", "1"],
        ["compact"],
        ["import", __file__, "--url", url(9)],
    ):
        line = cli_error(invoke(*command, "--db", str(archive_db)), f"{archive_db}: ")
        assert "the triggers of articles on UPDATE do not compile: no such column: last_s" in line
    assert snapshot(archive_db.parent) == before
    assert invoke("search", "panen", "--db", str(archive_db)).exit_code == 0  # reads need none
    verify = invoke("verify", "--db", str(archive_db))
    assert verify.exit_code == 1
    assert "the triggers of articles on UPDATE do not compile" in verify.output
    repair = invoke("repair", "--db", str(archive_db))
    assert repair.exit_code == 0, repair.output + repair.stderr
    assert invoke("verify", "--db", str(archive_db)).exit_code == 0
    assert invoke("reextract", "--jobs", "1", "--db", str(archive_db)).exit_code == 0


@pytest.mark.parametrize("offset", [18, 19], ids=["write version", "read version"])
@pytest.mark.parametrize("which", ["archive.db", "pages.db"])
def test_a_header_of_another_file_format_version_is_named(
    archive_db: Path, which: str, offset: int
) -> None:
    """A byte flipped in the header's file format versions (fuzz_archive seed 3850: 2 -> 0xfb,
    beside the -wal a killed crawl left). SQLite takes a file of write version past 2 for
    read-only and reads it without its -wal: every command saw the archive as it was before
    the crawl's last writes, and `verify` called it sound."""
    path = archive_db if which == "archive.db" else default_pages_path(archive_db)
    data = bytearray(path.read_bytes())
    data[offset] = 0xFB
    path.write_bytes(bytes(data))
    before = snapshot(archive_db.parent)
    writers = [["reextract", "--jobs", "1"], ["compact"], ["import", __file__, "--url", url(9)]]
    for command in [*READ_COMMANDS, *writers]:
        line = cli_error(invoke(*command, "--db", str(archive_db)), f"{path}: ")
        assert "file format versions are 251/2" in line or "versions are 2/251" in line, line
    assert snapshot(archive_db.parent) == before


@pytest.mark.parametrize("encoding", [2, 3, 0xFB], ids=["UTF-16le", "UTF-16be", "none"])
@pytest.mark.parametrize("which", ["archive.db", "pages.db"])
def test_a_header_of_another_text_encoding_is_named(
    archive_db: Path, which: str, encoding: int
) -> None:
    """A byte flipped in the header's text encoding (fuzz_archive seed 3960: pages.db said
    UTF-16): `compact` attached the pages file to the archive and SQLite refused, a traceback;
    read as UTF-16, every text of the file is garbage."""
    path = archive_db if which == "archive.db" else default_pages_path(archive_db)
    data = bytearray(path.read_bytes())
    assert data[56:60] == b"\0\0\0\1"
    data[59] = encoding
    path.write_bytes(bytes(data))
    before = snapshot(archive_db.parent)
    writers = [["reextract", "--jobs", "1"], ["compact"], ["import", __file__, "--url", url(9)]]
    for command in [*READ_COMMANDS, *writers, ["verify"]]:
        line = cli_error(invoke(*command, "--db", str(archive_db)), f"{path}: ")
        assert f"text encoding is {encoding}, not 1 (UTF-8)" in line, line
    assert snapshot(archive_db.parent) == before


def _replace_pages_file(pages: Path, how: str, tmp_path: Path) -> None:
    pages.unlink()
    if how == "another archive's":
        with Archive(tmp_path / "other" / "archive.db") as other:
            other.store(make_raw(url(20)), make_article(url(20)), site="lain")
        (tmp_path / "other" / "pages.db").rename(pages)
    elif how == "a directory":
        pages.mkdir()
    elif how == "an empty file":
        pages.write_bytes(b"")


# (None at all is no error: archive.db alone is readable, and repairable, by design.)
@pytest.mark.parametrize("how", ["another archive's", "a directory", "an empty file"])
def test_repair_does_not_call_an_archive_without_its_pages_file_done(
    archive_db: Path, tmp_path: Path, how: str
) -> None:
    """repair reads archive.db alone: with its pages file gone or not its own it said "nothing to
    repair" and exited 0, and `verify` (as the README's `repair && verify` runs it) failed on the
    pair at once. Every other command names the pages file in one line; repair, which cannot
    rebuild it, should too, changing nothing."""
    pages = default_pages_path(archive_db)
    (tmp_path / "other").mkdir()
    _replace_pages_file(pages, how, tmp_path)
    stats = invoke("stats", "--db", str(archive_db))
    cli_error(stats, f"{pages}")  # what every other command says
    before = snapshot(archive_db.parent)
    result = invoke("repair", "--db", str(archive_db))
    cli_error(result, f"{pages}")
    assert snapshot(archive_db.parent) == before


def test_a_record_whose_text_is_no_longer_utf8(archive_db: Path, tmp_path: Path) -> None:
    """A byte of a record's title turned into 0xff inside a sound page (fuzz_archive: bytes
    written into an `articles` leaf): SQLite has no checksum and hands the bytes back, and
    Python's sqlite3 raises OperationalError "Could not decode to UTF-8 column 'title'" — a
    traceback from `show`, `show --raw`, `export` and `search`. `verify` names the record (its
    content hash) and `reextract` rebuilds it; the readers should serve it as it now is (as they
    serve text garbled into other valid UTF-8) or name the damage in one line."""
    replace_once(archive_db, b"Panen awal di desa 3", b"Panen \xffwal di desa 3")
    db = ["--db", str(archive_db)]
    out = str(tmp_path / "out.parquet")
    for command in (
        ["show", url(3)],
        ["show", url(3), "--raw"],
        ["export"],
        ["export", "--format", "csv"],
        ["export", "--format", "parquet", "-o", out],
        ["search", "panen"],
        ["search", "desa", "--json"],
    ):
        result = invoke(*command, *db)
        if result.exit_code != 0:
            cli_error(result, f"{archive_db}")
    verified = invoke("verify", *db)
    cli_error(verified, "1 problem(s)")
    assert f"({url(3)}) is damaged" in verified.stdout


@pytest.mark.parametrize(
    ("target", "reader"),
    [
        ("sqlite_autoindex_articles_1", ["show", url(3)]),  # the unique index on articles.url
        ("articles_fts_docsize", ["search", "panen"]),  # the full-text index's lengths
    ],
)
def test_verify_finds_a_page_overwritten_by_a_sound_page_of_another_table(
    archive_db: Path, target: str, reader: list[str]
) -> None:
    """A page of `target` with a leaf of the full-text index's data written over it (fuzz_archive:
    "page 62 copied over it", "page 46 copied over it"): every page is a well-formed b-tree page,
    so PRAGMA quick_check (what verify and repair read) passes, and so does verify's decoding of
    the full-text index; the reader names the archive damaged, but `verify` said "sound",
    `repair` "nothing to repair", and reextract, compact, import and crawl went on writing into
    it. (PRAGMA integrity_check meets the index's damage; neither it nor FTS5's integrity-check
    meets the lengths': reading articles_fts_docsize as FTS5 does, or `repair --force`, would.)"""
    [page] = pages_of(archive_db, target)
    copy_page(archive_db, pages_of(archive_db, "articles_fts_data")[0], page)
    db = ["--db", str(archive_db)]
    cli_error(invoke(*reader, *db), "damaged")  # what the readers meet
    verified = invoke("verify", *db)
    cli_error(verified, "problem(s)")
    assert str(archive_db) in verified.stdout
    repaired = invoke("repair", *db)
    assert repaired.exit_code == 0 and "rebuilt" in repaired.stdout, repaired.output
    assert invoke(*reader, *db).exit_code == 0
    assert invoke("verify", *db).exit_code == 0


def test_an_archive_file_replaced_by_a_directory_is_one_line(archive_db: Path) -> None:
    """archive.db a directory (fuzz_archive: a file replaced by a directory): click's check of the
    `--db` path answered first, with a usage error of three lines and exit status 2, where
    pages.db a directory is one line naming it, exit 1 (opening.inspect_file says "is a
    directory, not an archive file" for both). So too an archive.db that cannot be read
    ("File ... is not readable", exit 2; pages.db: "permission denied (cannot read it)")."""
    archive_db.unlink()
    archive_db.mkdir()
    for command in READ_COMMANDS:
        result = invoke(*command, "--db", str(archive_db))
        assert result.exit_code == 1, (command, result.stderr)
        cli_error(result, f"{archive_db}: is a directory")
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_archive_file_that_cannot_be_read_is_one_line(archive_db: Path) -> None:
    """archive.db mode 000 (fuzz_archive): click's own readability check of `--db` answered the
    writing commands (import, crawl, browse) with a three-line usage error, exit 2. (Run without
    root's power over permissions, as a user would be.)"""
    without_override = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    page = archive_db.parent / "page.html"
    page.write_bytes(news_page("Judul", ["Isi berita yang cukup panjang untuk sebuah artikel."]))
    archive_db.chmod(0o000)
    try:
        for command in (
            ["import", str(page), "--url", url(9)],
            ["crawl", "demo", "--base-url", "http://127.0.0.1:9/"],
            ["browse", "--port", "9"],
        ):
            done = subprocess.run(
                [*(without_override if os.geteuid() == 0 else [])]
                + [sys.executable, "-m", "newsarchive", *command, "--db", str(archive_db)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert_one_error(done.returncode, done.stderr, f"{archive_db}: permission denied")
    finally:
        archive_db.chmod(0o644)


@pytest.mark.parametrize("directory", ["writable", "read-only"])
def test_browse_of_an_archive_whose_search_index_config_is_zeroed(
    archive_db: Path, directory: str
) -> None:
    """The full-text index's config page zeroed (fuzz_archive: articles_fts_config leaf, zeros):
    `browse` checks its connection at start-up, FTS5 cannot build its table ("vtable constructor
    failed: articles_fts"), and large_archive.ArchiveDamaged came out of Datasette's start-up
    as a traceback; the other commands name the damage in one line. browse should too (or serve
    its page saying the archive is damaged). In a directory the user may only read (fuzz_archive
    seed 4040), its note "serving the archive read-only" came before that line: said now once
    Datasette has started, beside the "serving" line. (Run without root's power over
    permissions, as a user would be.)"""
    [config] = pages_of(archive_db, "articles_fts_config")
    uri = f"file:{archive_db}?mode=ro&immutable=1"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    with archive_db.open("r+b") as handle:
        handle.seek((config - 1) * size)
        handle.write(bytes(size))
    cli_error(invoke("search", "panen", "--db", str(archive_db)), f"{archive_db}: damaged")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    without_override = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    read_only = directory == "read-only"
    if read_only:
        archive_db.parent.chmod(0o555)
    server = subprocess.Popen(
        [*(without_override if read_only and os.geteuid() == 0 else [])]
        + [sys.executable, "-m", "newsarchive", "browse", "--db", str(archive_db)]
        + ["--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        page = None
        while server.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    page = (response.status, response.read().decode())
            except urllib.error.HTTPError as exc:
                page = (exc.code, exc.read().decode())
            except OSError:
                time.sleep(0.2)
                continue
            break
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
        stderr = server.communicate(timeout=30)[1]
        archive_db.parent.chmod(0o755)
    assert "Traceback" not in stderr, stderr[-3000:]
    if page is None:  # it did not serve: one line saying why
        assert_one_error(server.returncode, stderr, str(archive_db))
        # Not announced first as served (fuzz_archive seed 3712: "serving ... at ..." came
        # before the Error line, Datasette's check of every table being after start-up).
        assert "serving" not in stderr, stderr
    else:
        assert page[0] == 200 or "The archive is damaged" in page[1], page


def test_repair_in_a_directory_it_may_write_but_not_list(archive_db: Path) -> None:
    """The archive's directory with mode 333 (fuzz_archive: the directory not listable): repair
    builds the new file and swaps it in, then fsyncs the directory (opening.sync_path), whose
    open for reading is refused: a PermissionError traceback, exit 1, after the archive was
    already replaced. (Run without root's power over permissions, as a user would be.)"""
    without_override = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
    command = [sys.executable, "-m", "newsarchive", "repair", "--force", "--db", str(archive_db)]
    archive_db.parent.chmod(0o333)
    try:
        done = subprocess.run(
            [*(without_override if os.geteuid() == 0 else []), *command],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        archive_db.parent.chmod(0o755)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    if done.returncode != 0:  # refused before it changed anything: one line
        assert_one_error(done.returncode, done.stderr)
        assert not list(archive_db.parent.glob("archive.db.*")), done.stderr
    assert invoke("verify", "--db", str(archive_db)).exit_code == 0


def test_a_writer_does_not_start_a_new_archive_beside_the_pages_of_a_lost_one(
    archive_db: Path, tmp_path: Path
) -> None:
    """archive.db gone, its pages.db left (fuzz_archive: archive.db missing): import (and crawl)
    made a new empty archive.db beside it, then refused it in one line that called the pages
    "the raw pages of another archive" — and left the new file behind, so every later command
    says so too, where before they said "no archive here". The writer should name what is
    missing and create nothing (as it keeps a missing pages.db from being made anew)."""
    archive_db.unlink()
    page = tmp_path / "page.html"
    page.write_bytes(news_page("Judul baru", ["Isi berita baru yang belum ada di arsip."]))
    before = snapshot(archive_db.parent)
    result = invoke("import", str(page), "--url", url(9), "--db", str(archive_db))
    line = cli_error(result, f"{archive_db}")
    assert "another archive" not in line, line
    assert snapshot(archive_db.parent) == before


def test_a_read_command_leaves_a_journal_beside_the_pages_file_as_it_is(archive_db: Path) -> None:
    """A -journal beside pages.db (fuzz_archive: a hot -journal of garbage; a real one would be
    another file's, left by a restore): `stats`, a read command, deleted it. A read-only
    connection is read-write with query_only on when no -wal is there (opening.connect), and
    SQLite opening a file read-write deals with a hot journal first: deletes it, or rolls it
    back into the file. A read command writes nothing; a journal there is left for a person (or
    named as damage)."""
    journal = default_pages_path(archive_db).with_name("pages.db-journal")
    journal.write_bytes(bytes.fromhex("d9d505f920a163d7") + bytes(range(256)) * 2)
    before = snapshot(archive_db.parent)
    for command in READ_COMMANDS:
        invoke(*command, "--db", str(archive_db))
        assert snapshot(archive_db.parent) == before, command


def test_a_journal_there_for_a_moment_is_a_new_archive_turning_to_wal(archive_db: Path) -> None:
    """A new archive is linked into place in rollback mode and the process that made it turns
    it to WAL, which writes archive.db-journal for a moment: another process starting on the
    archive just then (two crawls and an import started together, test_two_writers.py, about
    one run in five on a loaded machine) refused it as holding another file's journal. A
    journal gone within a moment is waited for; one that stays is still refused."""
    import threading

    from newsarchive.storage.opening import JOURNAL_PATIENCE

    journal = archive_db.with_name(archive_db.name + "-journal")
    journal.write_bytes(b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7" + bytes(512))
    threading.Timer(JOURNAL_PATIENCE / 4, journal.unlink).start()
    result = invoke("stats", "--db", str(archive_db))
    assert result.exit_code == 0, result.output
    journal.write_bytes(b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7" + bytes(512))
    result = invoke("stats", "--db", str(archive_db))
    assert result.exit_code == 1 and "rollback journal beside it" in result.output, result.output


def test_a_raw_page_whose_url_is_no_longer_utf8_is_a_damaged_raw_page(archive_db: Path) -> None:
    """fuzz_archive seed 3602: bytes flipped in pages.db turned a raw page's URL into bytes that
    are no UTF-8. `reextract` stopped at it, named archive.db as the damaged file and left the
    records it had rebuilt before it: now that page is a damaged raw page like one whose body
    no longer inflates (said, left out), and the rest are rebuilt."""
    pages = default_pages_path(archive_db)
    data = pages.read_bytes()
    assert data.count(url(3).encode()) == 2  # the page's row and its (url, sha256) index entry
    pages.write_bytes(data.replace(url(3).encode(), url(3).encode().replace(b"rita", b"r\xffta")))
    db = ["--db", str(archive_db)]
    result = invoke("reextract", *db)
    line = cli_error(result, f"{pages}: raw page")
    assert "no longer UTF-8" in line and str(archive_db) + ":" not in line
    with Archive(archive_db) as archive:
        assert archive.count() == 6  # no record lost
    verified = invoke("verify", *db)
    cli_error(verified, "problem(s)")
    assert "no longer UTF-8" in verified.stdout
    # The WARC export leaves it out and says so; the other pages are in it.
    warc = archive_db.parent / "pages.warc.gz"
    exported = invoke("export", "--format", "warc", "-o", str(warc), *db)
    cli_error(exported, "damaged")
    assert gzip.decompress(warc.read_bytes()).count(b"WARC-Type: response") == 5


def test_repair_beside_a_damaged_raw_pages_file_says_so(archive_db: Path) -> None:
    """fuzz_archive seed 3602: a page of pages.db overwritten with garbage. repair said "nothing
    to repair" with exit 0 (it rebuilds archive.db alone), and `repair && verify`, the README's
    line, went on to a verify that failed. It now says the raw pages file is damaged, exit 1."""
    pages = default_pages_path(archive_db)
    [target] = pages_of(pages, "blocks_site")
    uri = f"file:{pages}?mode=ro&immutable=1"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(pages.read_bytes())
    data[(target - 1) * size : target * size] = bytes(range(256)) * (size // 256)
    pages.write_bytes(bytes(data))
    before = archive_db.read_bytes()
    result = invoke("repair", "--db", str(archive_db))
    line = cli_error(result, f"{pages}: the raw pages file is damaged")
    assert "verify" in line and "backup" in line
    assert archive_db.read_bytes() == before  # nothing to rebuild there: left as it was


def test_repair_beside_no_raw_pages_file_says_the_pages_are_missing(archive_db: Path) -> None:
    """fuzz_archive seed 3712: pages.db deleted. repair said "nothing to repair", exit 0, and
    `repair && verify` went on to a verify that listed every record's page missing."""
    pages = default_pages_path(archive_db)
    pages.unlink()
    before = archive_db.read_bytes()
    result = invoke("repair", "--db", str(archive_db))
    line = cli_error(result, f"{pages}: missing: the raw pages of the records in {archive_db}")
    assert "backup" in line
    assert archive_db.read_bytes() == before
    assert not pages.exists()  # not replaced by an empty one


def test_repair_of_records_alone_with_no_records_needs_no_raw_pages(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    Archive(db).close()
    default_pages_path(db).unlink()
    result = invoke("repair", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "nothing to repair" in result.output


@pytest.mark.parametrize("damage", ["garbled block", "older pages file"])
def test_repair_beside_raw_pages_only_verify_finds_damaged_says_so(
    archive_db: Path, tmp_path: Path, damage: str
) -> None:
    """fuzz_archive (seeds 3602-3603, 3712): pages.db damage SQLite's own checks do not see —
    bytes garbled inside a block of pages, an older copy of the file missing the newest pages.
    repair said "nothing to repair", exit 0, and `repair && verify` went on to a verify that
    failed. repair now reads the raw pages as verify does."""
    pages = default_pages_path(archive_db)
    if damage == "garbled block":
        with closing(sqlite3.connect(pages)) as conn:
            (block_id, data) = conn.execute("SELECT id, data FROM blocks LIMIT 1").fetchone()
            garbled = bytearray(data)
            garbled[len(garbled) // 2 : len(garbled) // 2 + 8] = b"\x00" * 8
            conn.execute("UPDATE blocks SET data = ? WHERE id = ?", [bytes(garbled), block_id])
            conn.commit()
        expected = "is damaged"
    else:
        older = tmp_path / "older"
        invoke("backup", str(older), "--db", str(archive_db))
        with Archive(archive_db) as archive:
            words = "Warga desa memanen padi lebih awal karena kemarau panjang tahun ini."
            article = make_article(url(7), title="Panen awal di desa 7", body=words)
            archive.store(make_raw(url(7), news_page("Panen awal", [words])), article, site="warta")
        shutil.copy(older / pages.name, pages)
        expected = "an older copy"
    verified = invoke("verify", "--db", str(archive_db))
    assert verified.exit_code == 1
    result = invoke("repair", "--db", str(archive_db))
    cli_error(result, f"{pages}: the raw pages file is damaged")
    assert expected in result.stdout


def test_a_record_whose_provenance_is_no_longer_json(archive_db: Path) -> None:
    """Bytes flipped into a record's `removed` (fuzz_archive seed 3960: a control character
    inside its JSON): `export` raised a JSONDecodeError traceback, and `verify`, which checks
    the content against its hash, said nothing of it (what was cut is no content)."""
    db = ["--db", str(archive_db)]
    assert invoke("reextract", "--jobs", "1", *db).exit_code == 0  # records as extracted
    with closing(sqlite3.connect(archive_db)) as conn, conn:
        conn.execute(
            "UPDATE articles SET removed = ? WHERE url = ?",
            ['[{"kind": "ad", "text": "Iklan\x01"}]', url(3)],
        )
    for command in (
        ["export"],
        ["export", "--format", "parquet", "-o", "x.parquet"],
        ["show", url(3)],
    ):
        line = cli_error(invoke(*command, *db), "article ")
        assert f"({url(3)}) is damaged: its removed is no longer JSON" in line, line
    verified = invoke("verify", *db)
    assert verified.exit_code == 1
    assert f"({url(3)}) is damaged (its removed is no longer JSON)" in verified.output
    # Its content unchanged, the record is rebuilt all the same (every column is compared).
    rebuilt = invoke("reextract", "--jobs", "1", *db)
    assert rebuilt.exit_code == 0 and "1 changes (0 new versions)" in rebuilt.output
    assert invoke("verify", *db).exit_code == 0
    assert invoke("export", *db).exit_code == 0


def _index_reads(path: Path, by: str) -> bool:
    """Whether fts5vocab reads the full-text index whole `by` 'row' (term by term, each term's
    position lists skipped by their sizes: what `verify` read before) or 'col' (per column,
    walking the position lists). A garbled size can make SQLite ask for gigabytes."""
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute("ATTACH ? AS archive", [f"file:{path}?mode=ro&immutable=1"])
        conn.execute(
            f"CREATE VIRTUAL TABLE temp.terms USING fts5vocab(archive, articles_fts, {by})"
        )
        try:
            conn.execute("SELECT count(*), sum(cnt) FROM temp.terms").fetchone()
        except (sqlite3.DatabaseError, MemoryError):
            return False
    return True


WORDS = [
    "warga",
    "desa",
    "panen",
    "padi",
    "kemarau",
    "harga",
    "gabah",
    "petani",
    "sawah",
    "hujan",
    "pasar",
]


def _words_archive(tmp_path: Path) -> tuple[Path, bytes, int, int]:
    """Forty articles of WORDS, their search index one large segment: the archive, its bytes,
    and where in them the segment's blob lies (up to the end of its page)."""
    db = tmp_path / "a" / "archive.db"
    db.parent.mkdir()
    rng = random.Random(1)
    with Archive(db) as archive, archive.batch(100):
        for n in range(40):
            body = " ".join(rng.choice(WORDS) for _ in range(60)) + "."
            html = news_page(f"Panen di desa {n}", [body])
            archive.store(
                make_raw(url(n % 28 + 1) + f"-{n}", html),
                make_article(url(n % 28 + 1) + f"-{n}", title=f"Panen di desa {n}", body=body),
                site="warta",
            )
    uri = f"file:{db}?mode=ro&immutable=1"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        [(blob,)] = conn.execute(
            "SELECT block FROM articles_fts_data WHERE id > 10 ORDER BY length(block) DESC LIMIT 1"
        ).fetchall()
    sound = db.read_bytes()
    start = sound.find(blob[:32])
    assert start > 0
    return db, sound, start, min(start + len(blob), (start // size + 1) * size)


def search_fails(path: Path, error: type[Exception] = sqlite3.DatabaseError) -> bool:
    """Whether a ranked search of some word of WORDS raises `error` straight from SQLite."""
    with closing(sqlite3.connect(path)) as conn:
        for word in WORDS:
            try:
                conn.execute(
                    "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rank",
                    [word],
                ).fetchall()
            except (sqlite3.DatabaseError, MemoryError) as exc:
                if isinstance(exc, error):
                    return True
    return False


def test_a_garbled_size_in_the_search_index_is_damage_not_a_memory_error(tmp_path: Path) -> None:
    """A size inside a full-text segment garbled into a huge one: SQLite asks for that much
    memory and fails, and Python raises MemoryError, which `verify` (and a search meeting it)
    let out as a traceback (found beside fuzz_archive seed 4043)."""
    db, sound, start, end = _words_archive(tmp_path)
    for spot in range(start + 8, end - 16, 16):
        damaged = bytearray(sound)
        damaged[spot : spot + 16] = bytes([0xFF]) * 16
        db.write_bytes(damaged)
        if search_fails(db, MemoryError):
            break
    else:
        pytest.fail("no spot of the segment garbled makes SQLite run out of memory")
    failed = [w for w in WORDS if invoke("search", w, "--db", str(db)).exit_code != 0]
    assert failed
    cli_error(invoke("search", failed[0], "--db", str(db)), f"{db}")
    verified = invoke("verify", "--db", str(db))
    cli_error(verified, "problem(s)")
    assert "the full-text index is damaged" in verified.stdout, verified.stdout


def test_a_garbled_position_list_of_the_search_index_is_found_by_verify(tmp_path: Path) -> None:
    """16 bytes garbled inside a full-text segment's blob, its page sound (fuzz_archive seed
    4043): a ranked search met the damage ("database disk image is malformed"), but `verify`
    called the archive sound and `repair` found nothing to repair: the index was read term by
    term, each term's position lists skipped by their sizes. Reading it per column walks them.
    (Not every garble in them shows so: ~2 in 5 of those that fail a ranked search here. FTS5's
    own integrity-check, which tokenizes every article again, would see them all.) The first
    spot of the largest segment where a search fails and the old reading passes is found by
    trying them in turn."""
    db, sound, start, end = _words_archive(tmp_path)
    for spot in range(start + 8, end - 16):
        damaged = bytearray(sound)
        damaged[spot : spot + 16] = random.Random(spot).randbytes(16)
        db.write_bytes(damaged)
        if _index_reads(db, "row") and not _index_reads(db, "col") and search_fails(db):
            break
    else:
        pytest.fail("no spot of the segment garbled fails a search and passes the old reading")
    verified = invoke("verify", "--db", str(db))
    cli_error(verified, "problem(s)")
    assert "the full-text index is damaged" in verified.stdout, verified.stdout
    repaired = invoke("repair", "--db", str(db))
    assert repaired.exit_code == 0 and "rebuilt" in repaired.stdout, repaired.output
    assert not search_fails(db)
    assert invoke("verify", "--db", str(db)).exit_code == 0


def test_a_raw_page_whose_size_is_garbled_is_named_by_verify(archive_db: Path) -> None:
    """fuzz_archive seed 4140: bytes flipped in pages.db made a raw page's size NULL; `verify`
    and `repair` summed the sizes and died on it (TypeError traceback). A size that no longer
    matches its body is damage too: the body's sha256 cannot see it for a page stored alone."""
    with Archive(archive_db) as archive:  # one page stored alone, beside the packed ones
        html = news_page("Panen di desa 7", ["Warga desa 7 memanen padi.", "Harga gabah naik."])
        archive.store(make_raw(url(7), html), make_article(url(7)), site="warta")
    pages = default_pages_path(archive_db)
    with closing(sqlite3.connect(pages)) as conn, conn:
        alone = conn.execute("SELECT id FROM pages WHERE block_id IS NULL").fetchone()[0]
        packed = conn.execute("SELECT min(id) FROM pages WHERE block_id IS NOT NULL").fetchone()[0]
        conn.execute("UPDATE pages SET size = size + 3 WHERE id = ?", [alone])
        # NULL in the fuzz's file (a record header garbled); NOT NULL keeps an UPDATE from it.
        conn.execute("UPDATE pages SET size = 'x9' WHERE id = ?", [packed])
    for command in ("verify", "repair"):
        result = invoke(command, "--db", str(archive_db))
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
    verified = invoke("verify", "--db", str(archive_db))
    cli_error(verified, "2 damaged raw page(s)")
    assert f"raw page {packed} is damaged (its size is 'x9')" in verified.stdout
    assert f"raw page {alone} is damaged (its size says" in verified.stdout


def test_a_garbled_stored_time_is_damage_named_where_it_is_read(archive_db: Path) -> None:
    """fuzz_archive seed 4140: a stored time garbled ('2S23-06-26...') was a ValueError traceback
    out of `export --format parquet` (an article's time) and `--format warc` and `reextract`
    (a raw page's fetch time), and `verify` called a raw page with one sound."""
    pages = default_pages_path(archive_db)
    with closing(sqlite3.connect(archive_db)) as conn, conn:
        conn.execute("UPDATE articles SET published = '2S24-03-02T10:00:00+07:00' WHERE url = ?",
                     [url(2)])  # fmt: skip
    with closing(sqlite3.connect(pages)) as conn, conn:
        conn.execute("UPDATE pages SET fetched_at = '2024-0X-02T03:00:00Z' WHERE url = ?", [url(4)])
        [page] = conn.execute("SELECT id FROM pages WHERE url = ?", [url(4)]).fetchone()
    db = ["--db", str(archive_db)]
    parquet = archive_db.parent / "a.parquet"
    line = cli_error(invoke("export", "--format", "parquet", "-o", str(parquet), *db), url(2))
    assert "a stored time is garbled: '2S24-03-02T10:00:00+07:00'" in line
    assert f"newsarchive verify --db {archive_db}" in line and not parquet.exists()

    verified = invoke("verify", *db)
    cli_error(verified, "1 damaged raw page(s)")
    assert (
        f"raw page {page} is damaged (its fetched_at: a stored time is garbled" in verified.stdout
    )

    warc = archive_db.parent / "a.warc.gz"
    cli_error(invoke("export", "--format", "warc", "-o", str(warc), *db), "damaged")
    assert gzip.decompress(warc.read_bytes()).count(b"WARC-Type: response") == 5
    reextracted = invoke("reextract", *db)
    cli_error(reextracted, url(4), "fetched_at")
    assert "re-extracted 5 of 6 articles" in reextracted.stderr + reextracted.stdout


def test_search_list_rows_where_no_list_can_be_are_damage_when_storing(tmp_path: Path) -> None:
    """fuzz_archive seed 4141: the index of listed words (search_words_list) had a page of
    article_tags written over it, so words read as listed in an archive too small for lists at
    all (made here by setting a word's list by hand); the next store's list upkeep divided by
    the missing average length: a TypeError traceback out of `import`. Now it is damage, said
    as SQLite's is."""
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        for n in range(1, 41):  # enough for words to be counted (sampled) in search_words
            words = f"Warga desa {n} memanen padi lebih awal karena kemarau panjang tahun ini."
            archive.store(make_raw(url(n), news_page(f"Panen {n}", [words])),
                          make_article(url(n), body=words), site="warta")  # fmt: skip
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE search_words SET list = 7 WHERE word = (SELECT min(word) FROM "
                     "search_words)")  # fmt: skip
    saved = tmp_path / "baru.html"
    saved.write_bytes(news_page("Jembatan baru dibuka", ["Warga menyambut jembatan baru."]))
    result = invoke("import", str(saved), "--url", url(49), "--db", str(db))
    line = cli_error(result, f"{db}: cannot write: the archive is damaged")
    assert "search lists without their average length" in line and "newsarchive verify" in line
    assert invoke("repair", "--db", str(db), "--force").exit_code == 0
    assert invoke("import", str(saved), "--url", url(49), "--db", str(db)).exit_code == 0
