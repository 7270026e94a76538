"""`newsarchive backup`: a consistent copy of a live archive, which replaces only an older backup
of the same archive, only once it is whole and checked, and is itself an archive (restore).

The source is the demo portal's archive, crawled once; every test backs up a copy of it. Writes
during a backup are made between the backup API's steps (its progress callback, with steps of a
page or a few), so they land inside the copy of each file, not before or after it.
"""

from __future__ import annotations

import fcntl
import os
import resource
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
from test_bad_inputs import _bad_files
from test_damaged_files import garble_page

from newsarchive.cli import cli
from newsarchive.errors import NewsarchiveError
from newsarchive.storage import Archive, default_pages_path
from newsarchive.storage import backup as backup_module
from newsarchive.storage.backup import backup_archive
from newsarchive.storage.verify import verify_archive

CLI = [sys.executable, "-c", "from newsarchive.cli import cli; cli()"]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def url(n: int) -> str:
    return f"https://warta.example.id/daerah/2024/03/05/cadangan-{n}"


def store(archive: Archive, n: int) -> None:
    html = news_page(f"Berita cadangan {n}", [f"Isi berita cadangan nomor {n} untuk arsip."])
    archive.store(make_raw(url(n), html), make_article(url(n), title=f"Cadangan {n}"), site="warta")


def counts(db: Path) -> tuple[int, int]:
    """(records, raw pages) of the archive at `db`, read as a pair (opening checks it)."""
    with Archive(db, readonly=True) as archive:
        return archive.count("articles"), archive.pages.execute(
            "SELECT count(*) FROM pages"
        ).fetchone()[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "archive.db"
    crawl = subprocess.run(
        [*CLI, "demo", "--db", str(db)], capture_output=True, text=True, timeout=120
    )
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    return db


@pytest.fixture
def source(demo: Path, tmp_path: Path) -> Path:
    shutil.copytree(demo.parent, tmp_path / "arsip")
    return tmp_path / "arsip" / "archive.db"


def test_a_backup_taken_while_a_writer_stores_is_one_consistent_pair(
    source: Path, tmp_path: Path, monkeypatch
) -> None:
    # A step of one 16 KiB page of archive.db and 8 of pages.db; a "progress" call after each.
    monkeypatch.setattr(backup_module, "STEP_BYTES", 8192)
    monkeypatch.setattr(backup_module, "PROGRESS_SECONDS", 0.0)
    records_before, pages_before = counts(source)
    writes: list[str] = []
    with Archive(source) as writer:

        def store_one_more(line: str) -> None:
            # A copy reading each step's own snapshot starts over after every write: never ends.
            assert len(writes) < 1000, "the copy keeps starting over"
            writes.append(line)
            store(writer, len(writes))

        done = backup_archive(source, tmp_path / "cadangan", progress=store_one_more)
    during_archive = sum("archive.db" in line for line in writes)
    assert during_archive > 20 and len(writes) > during_archive  # into both copies
    # archive.db as it was when its copy began (a copy that read on into the writes would hold
    # more records, or start over and never end); pages.db later, with every page it needs.
    assert done.articles == records_before
    copy = tmp_path / "cadangan" / "archive.db"
    records, pages = counts(copy)  # opens: the pair check passes
    assert records == records_before and pages == done.pages
    assert pages_before + during_archive <= pages <= pages_before + len(writes)
    with Archive(copy, readonly=True) as archive:
        found = verify_archive(archive)
        assert found.sound, found.problems
        assert archive.article(url(1)) is None  # written during its copy: not in the snapshot
    assert counts(source) == (records_before + len(writes), pages_before + len(writes))
    assert sorted(p.name for p in copy.parent.iterdir()) == ["archive.db", "pages.db"]


@pytest.mark.parametrize("during", ["archive.db", "pages.db"])
def test_a_compact_during_the_copy_keeps_the_pair_valid(
    source: Path, tmp_path: Path, monkeypatch, during: str
) -> None:
    """Packing moves pages into blocks and VACUUM rewrites both files, between the two
    snapshots or inside one: page ids stay what they were, so the pair still holds."""
    monkeypatch.setattr(backup_module, "STEP_BYTES", 8192)
    monkeypatch.setattr(backup_module, "PROGRESS_SECONDS", 0.0)
    compacted = []
    with Archive(source) as writer:
        for n in range(20):
            store(writer, n)  # loose pages for the pack

        def compact_once(line: str) -> None:
            if during in line and not compacted:
                compacted.append(writer.pack_pages(None, shrink=False).pages)
                writer.pages.execute("VACUUM")
                writer.db.execute("VACUUM")
                store(writer, 100)

        backup_archive(source, tmp_path / "cadangan", progress=compact_once)
    assert compacted and compacted[0] >= 20
    with Archive(tmp_path / "cadangan" / "archive.db", readonly=True) as archive:
        found = verify_archive(archive)
        assert found.sound, found.problems


def test_backups_while_an_import_process_writes_are_each_a_sound_pair(
    source: Path, tmp_path: Path
) -> None:
    from newsarchive.demo.generator import generate_portal

    saved = tmp_path / "saved"
    saved.mkdir()
    portal = generate_portal("http://warta.example.id/", articles=600)
    for number, article in enumerate(portal.articles):
        (saved / f"{number:04d}.html").write_bytes(portal.response(article.path)[2])
    records_before = counts(source)[0]
    command = [*CLI, "import", str(saved), "--jobs", "1", "--db", str(source)]
    importing = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    taken = []
    try:
        while importing.poll() is None or not taken:
            done = backup_archive(source, tmp_path / "cadangan", verify=True)
            taken.append((done.articles, done.pages))
            assert counts(tmp_path / "cadangan" / "archive.db") == taken[-1]
    finally:
        _, errors = importing.communicate(timeout=120)
    assert importing.returncode == 0, errors.decode()[-2000:]
    during = [records for records, _ in taken if records_before < records < records_before + 600]
    assert during, taken  # at least one backup caught the import halfway
    assert taken == sorted(taken)


def test_a_backup_is_an_archive_to_read_restore_and_write(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "cadangan.db"  # a .db path: its pages file beside it, by the usual rule
    result = invoke("backup", str(dest), "--db", str(source))
    assert result.exit_code == 0, result.output
    records, pages = counts(source)
    assert result.output.count("\n") == 1
    assert f"{dest} (" in result.output and f"{tmp_path / 'cadangan-pages.db'} (" in result.output
    assert f"{records:,} records and {pages:,} raw pages backed up" in result.output
    db = ["--db", str(dest)]
    found = invoke("search", "pekerja", *db)
    assert found.exit_code == 0 and "pekerja" in found.output.lower()
    with Archive(source, readonly=True) as archive:
        article_url, page_id = archive.db.execute(
            "SELECT url, page_id FROM articles ORDER BY id LIMIT 1"
        ).fetchone()
        page = archive.article_pages(page_id)[0].body
    raw = CliRunner().invoke(cli, ["show", article_url, "--raw", *db])
    assert raw.exit_code == 0 and raw.stdout_bytes == page
    verified = invoke("verify", *db)
    assert verified.exit_code == 0 and "sound" in verified.output
    # Restored by copying the two files back (nothing running): the archive works as before.
    for name in ("archive.db", "pages.db"):
        (source.parent / name).unlink()
    shutil.copy(dest, source)
    shutil.copy(default_pages_path(dest), default_pages_path(source))
    assert counts(source) == (records, pages)
    # Written to as an archive: an import stores into it.
    page_file = tmp_path / "baru.html"
    page_file.write_bytes(news_page("Berita baru", ["Isi berita baru setelah pemulihan arsip."]))
    imported = invoke("import", str(page_file), "--url", url(99), *db)
    assert imported.exit_code == 0, imported.output
    assert counts(dest) == (records + 1, pages + 1)
    # ...after which it is no longer a backup: the next backup there would lose that page.
    before = files_in(tmp_path)
    refused = invoke("backup", str(dest), "--db", str(source))
    cli_error(refused, "written to after it was backed up", "not replaced")
    assert files_in(tmp_path) == before


def test_an_older_backup_is_replaced_and_its_stale_wal_removed(
    source: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "cadangan"
    backup_archive(source, dest)
    # A process that had the old backup open was killed: its -wal holds a commit not yet in
    # the file. Applied to the new file, its pages would overwrite the new file's.
    leave_wal = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "conn.execute(\"UPDATE articles SET title = 'DARI WAL LAMA'\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", leave_wal, str(dest / "archive.db")], check=True)
    assert (dest / "archive.db-wal").stat().st_size > 0
    with Archive(source) as writer:
        for n in range(30):
            store(writer, n)
    done = backup_archive(source, dest)
    assert done.replaced
    assert sorted(p.name for p in dest.iterdir()) == ["archive.db", "pages.db"]
    assert counts(dest / "archive.db") == counts(source)
    with Archive(dest / "archive.db", readonly=True) as archive:
        assert verify_archive(archive).sound
        titles = archive.db.execute("SELECT count(*) FROM articles WHERE title = 'DARI WAL LAMA'")
        assert titles.fetchone() == (0,)


def test_the_destination_is_a_valid_pair_at_every_instant_of_a_replacement(
    source: Path, tmp_path: Path, monkeypatch
) -> None:
    dest = tmp_path / "cadangan"
    backup_archive(source, dest)
    with Archive(source) as writer:
        for n in range(5):
            store(writer, n)
    seen = []
    rename = os.replace

    def rename_then_open(temporary, final) -> None:
        rename(temporary, final)
        seen.append((Path(final).name, counts(dest / "archive.db")))  # opens as a pair

    monkeypatch.setattr(os, "replace", rename_then_open)
    backup_archive(source, dest)
    old, new = counts(source)[0] - 5, counts(source)[0]
    assert [(name, records) for name, (records, _) in seen] == [
        ("pages.db", old),  # the new pages file beside the old records: more pages, accepted
        ("archive.db", new),
    ]


def test_a_backup_of_another_archive_or_a_file_not_an_archive_is_never_overwritten(
    source: Path, tmp_path: Path
) -> None:
    other = tmp_path / "lain" / "archive.db"
    other.parent.mkdir()
    with Archive(other) as archive:
        store(archive, 1)
    theirs = tmp_path / "cadangan-lain"
    backup_archive(other, theirs)
    notes = tmp_path / "catatan"
    notes.mkdir()
    (notes / "archive.db").write_text("catatan pribadi, bukan arsip\n")
    with closing(sqlite3.connect(notes / "kontak.db")) as conn:
        conn.execute("CREATE TABLE kontak (nama TEXT)")
        conn.commit()
    (notes / "daftar.txt").write_text("bukan direktori\n")
    cases = [
        (theirs, "a backup of another archive"),
        (notes, "not an SQLite file"),
        (notes / "kontak.db", "an SQLite file that is not a newsarchive archive"),
        (notes / "daftar.txt", "neither a directory nor a .db file name"),
        (source.parent, "a file of the archive being backed up"),
        (default_pages_path(source), "a file of the archive being backed up"),
    ]
    before = files_in(theirs), files_in(notes), files_in(source.parent)
    for dest, expected in cases:
        cli_error(invoke("backup", str(dest), "--db", str(source)), expected)
    assert (files_in(theirs), files_in(notes), files_in(source.parent)) == before
    # Nor is anything but an archive backed up.
    cli_error(invoke("backup", str(tmp_path / "b"), "--db", str(notes / "kontak.db")), "not")
    assert not (tmp_path / "b").exists()


def test_only_a_whole_archive_is_backed_up(source: Path, tmp_path: Path) -> None:
    bad = _bad_files(source, tmp_path / "bad")  # text, empty, foreign, newer, truncated
    (source.parent / "pages.db").rename(tmp_path / "bad" / "elsewhere.db")
    before = files_in(tmp_path / "bad"), files_in(source.parent)
    cases = [*bad.values(), (source, "pages.db: missing")]
    for path, says in cases:
        dest = tmp_path / "cadangan"
        cli_error(invoke("backup", str(dest), "--db", str(path)), path.name, says)
        assert not dest.exists()
    assert (files_in(tmp_path / "bad"), files_in(source.parent)) == before


@pytest.mark.parametrize("damaged", ["archive.db", "pages.db"])
def test_a_damaged_source_is_named_and_the_old_backup_kept(
    source: Path, tmp_path: Path, damaged: str
) -> None:
    dest = tmp_path / "cadangan"
    backup_archive(source, dest)
    before = files_in(dest)
    table = "articles" if damaged == "archive.db" else "blocks"
    garble_page(source.parent / damaged, table, "leaf")
    result = invoke("backup", str(dest), "--db", str(source))
    line = cli_error(result, f"{source.parent / damaged}: damaged", "malformed")
    assert f"newsarchive verify --db {source}" in line
    assert files_in(dest) == before  # the old backup untouched, no temporary file left


def test_a_page_damaged_where_only_verify_sees_it(source: Path, tmp_path: Path) -> None:
    """A raw page's bytes changed inside a sound b-tree: quick_check passes it, --verify not."""
    with closing(sqlite3.connect(default_pages_path(source))) as conn:
        block = conn.execute("SELECT id, data FROM blocks ORDER BY id LIMIT 1").fetchone()
        garbled = bytes(b ^ 0x5A for b in block[1][:64]) + block[1][64:]
        conn.execute("UPDATE blocks SET data = ? WHERE id = ?", [garbled, block[0]])
        conn.commit()
    dest = tmp_path / "cadangan"
    checked = invoke("backup", str(dest), "--verify", "--db", str(source))
    cli_error(checked, "problem(s) found in its copy", "is damaged", "newsarchive verify")
    assert not dest.exists()
    plain = invoke("backup", str(dest), "--db", str(source))
    assert plain.exit_code == 0 and "quick_check passed" in plain.output


def _backup_on_small_disk(source: Path, dest: Path, limit: int) -> subprocess.CompletedProcess:
    """The backup with no file growing past `limit` bytes: a write past it fails as on a full
    disk (a real small file system would need mount privileges)."""

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [*CLI, "backup", str(dest), "--db", str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_disk,
    )


def test_a_full_disk_leaves_no_backup_under_the_final_names(source: Path, tmp_path: Path) -> None:
    limit = source.stat().st_size // 2
    dest = tmp_path / "cadangan"
    full = _backup_on_small_disk(source, dest, limit)
    line = assert_one_error(full.returncode, full.stderr, f"{dest / 'archive.db'}: cannot write")
    assert "nothing was replaced" in line
    assert not dest.exists()  # made for the backup, removed with its temporary files
    # Over an older backup: it stays as it was.
    backup_archive(source, dest)
    with Archive(source) as writer:
        store(writer, 1)
    before = files_in(dest)
    full = _backup_on_small_disk(source, dest, limit)
    assert_one_error(full.returncode, full.stderr, "cannot write")
    assert files_in(dest) == before


def test_too_little_free_space_is_said_before_copying(
    source: Path, tmp_path: Path, monkeypatch
) -> None:
    disk = shutil.disk_usage(tmp_path)
    needed = source.stat().st_size + default_pages_path(source).stat().st_size
    # What the file system would say with room for half the copy.
    monkeypatch.setattr(shutil, "disk_usage", lambda _: disk._replace(free=needed // 2))
    dest = tmp_path / "cadangan"
    with pytest.raises(NewsarchiveError, match=r"not enough free space .* nothing was written"):
        backup_archive(source, dest)
    assert not dest.exists()


def test_one_backup_at_a_time_into_a_directory(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "cadangan"
    dest.mkdir()
    handle = os.open(dest, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(NewsarchiveError, match="another `newsarchive backup` into it"):
            backup_archive(source, dest)
    finally:
        os.close(handle)
    # A killed backup's temporary files go with the next one.
    (dest / ".archive.db.123-abcd.backup").write_bytes(b"setengah")
    backup_archive(source, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["archive.db", "pages.db"]


def test_help_teaches_with_examples() -> None:
    text = invoke("backup", "--help").output
    assert "newsarchive backup /mnt/backup/arsip" in text and "* * *" in text  # a cron line
    assert "--verify" in text
