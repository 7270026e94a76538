"""A disk that fills up under the archive: the command stops with one line, exits non-zero, and
what was committed before stays whole and readable; nothing is reported stored that was not.
The disk is "filled" by a file size limit on the command (e2e_helpers.run_on_small_disk)."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from e2e_helpers import CLI, FAST, crawl_demo, run_on_small_disk

from newsarchive.demo import DemoServer
from newsarchive.storage import default_pages_path
from newsarchive.storage.opening import ARCHIVE, create_file


def test_a_new_file_is_linked_into_place_whole_or_not_at_all(tmp_path: Path) -> None:
    """create_file links only a file holding everything that was built into it. Here another
    connection keeps the new file's WAL from being copied back (as a full disk does): closing
    used to leave the schema in the WAL, which was then deleted beside a linked, empty file."""
    path = tmp_path / "new.db"
    readers: list[sqlite3.Connection] = []

    def build(db) -> None:
        db.execute("CREATE TABLE articles(id INTEGER PRIMARY KEY, title TEXT)")
        db.execute("INSERT INTO articles(title) VALUES ('satu')")
        file = db.execute("PRAGMA database_list").fetchone()[2]
        reader = sqlite3.connect(file)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
        readers.append(reader)

    try:
        with pytest.raises(Exception) as failed:
            create_file(path, ARCHIVE, build)
    finally:
        for reader in readers:
            reader.close()
    assert "Traceback" not in str(failed.value)
    assert not path.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # its temporary files went too


ARTICLES = 400
# Room for a new archive (~1.3 MB of WAL while it is made), full after about a third of
# ARTICLES (the demo archive of ARTICLES takes ~2.3 MB, and each file is limited alone).
SMALL_DISK = 1_700_000


def _crawl(server: DemoServer, db: Path, limit: int | None) -> subprocess.CompletedProcess[str]:
    command = [*CLI, "crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST]
    return run_on_small_disk(command, db.parent, limit)


def _articles_in(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]


def _browse_reads_it_as_it_is(
    db: Path, cwd: Path, *, full_disk: bool = True, why: str = "cannot write: "
) -> None:
    """`browse` opens the archive for writing first (to upgrade an older one), which a full disk
    refused: it then served nothing. An archive that needs no upgrade is served as it is."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [*CLI, "browse", "--db", str(db), "--port", str(port)]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1, 1))

    server = subprocess.Popen(command, cwd=cwd, stderr=subprocess.PIPE, text=True,
                              preexec_fn=limit if full_disk else None)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        query = urllib.parse.urlencode({"_search": "warga", "_shape": "array"})
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/archive/articles.json?{query}", timeout=5
                ) as response:
                    rows = json.load(response)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "browse did not start in 30 s"
                time.sleep(0.2)
        assert rows and all("warga" in (row["body"] or "").lower() for row in rows)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
    said = server.stderr.read()
    assert why in said and "serving the archive read-only, as it is" in said
    assert "Traceback" not in said


def _one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr[-3000:]
    return lines[0]


@pytest.fixture(scope="module")
def server():
    with DemoServer(articles=ARTICLES) as demo:
        yield demo


def test_a_crawl_stops_at_a_full_disk_and_the_next_run_gets_the_rest(
    server: DemoServer, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    first = _crawl(server, db, SMALL_DISK)
    assert first.returncode == 1
    error = _one_line_error(first.stderr)
    assert f"{db}: cannot write: " in error and "the crawl of demo stopped" in error
    # What the summary says was stored is what the archive holds, no more.
    stored = int(re.search(r"articles (\d+) new", first.stdout)[1])
    assert 0 < stored == _articles_in(db) < ARTICLES
    assert "archive_unwritable" in first.stdout
    fetched = len(server.requested_paths())
    assert fetched < ARTICLES  # it stopped fetching, it did not go through the site failing
    # Room again: the next run stores the rest, and nothing is lost for good.
    second = _crawl(server, db, None)
    assert second.returncode == 0, second.stderr[-3000:]
    assert int(re.search(r"articles (\d+) new", second.stdout)[1]) == ARTICLES - stored
    assert _articles_in(db) == ARTICLES


def test_a_crawl_on_a_full_disk_does_not_start(server: DemoServer, tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    crawl_demo(server, db, "--max-pages", "20")
    before = _articles_in(db)
    pages = default_pages_path(db).read_bytes()
    server.clear_log()
    crawl = _crawl(server, db, 20_000)  # not even the -shm beside the archive fits
    assert crawl.returncode == 1
    error = _one_line_error(crawl.stderr)
    named = (f"{db}: cannot write: ", f"{default_pages_path(db)}: cannot write: ")
    assert any(what in error for what in named) and "did not start" in error
    assert server.requested_paths() == []
    assert _articles_in(db) == before
    assert default_pages_path(db).read_bytes() == pages


def test_an_import_stops_at_a_full_disk_with_one_line(tmp_path: Path) -> None:
    from newsarchive.demo.generator import generate_portal

    portal = generate_portal("http://127.0.0.1:9/", articles=ARTICLES)
    folder = tmp_path / "saved"
    folder.mkdir()
    for number, article in enumerate(portal.articles):
        (folder / f"{number:04d}.html").write_bytes(portal.pages[article.path][2])
    db = tmp_path / "archive.db"
    for jobs in ("2", "1"):
        command = [*CLI, "import", str(folder), "--db", str(db), "--jobs", jobs]
        run = run_on_small_disk(command, tmp_path, SMALL_DISK)
        assert run.returncode == 1
        error = _one_line_error(run.stderr)
        assert f"{db}: cannot write: " in error and "the import stopped" in error
        assert 0 < _articles_in(db) < ARTICLES
    again = run_on_small_disk([*CLI, "import", str(folder), "--db", str(db)], tmp_path, None)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _articles_in(db) == ARTICLES


def test_reextraction_stops_at_a_full_disk_and_runs_again_to_the_end(
    server: DemoServer, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    crawl_demo(server, db)
    with sqlite3.connect(db) as conn:  # records to be rebuilt: every one is written again
        conn.execute("UPDATE articles SET body = 'rusak'")
    limit = db.stat().st_size + 3_000_000  # room for some of the new versions
    command = [*CLI, "reextract", "--db", str(db), "--jobs", "1"]
    stopped = run_on_small_disk(command, tmp_path, limit)
    assert stopped.returncode == 1
    error = _one_line_error(stopped.stderr)
    assert f"{db}: cannot write: " in error and "re-extraction stopped" in error
    with sqlite3.connect(db) as conn:
        left = conn.execute("SELECT count(*) FROM articles WHERE body = 'rusak'").fetchone()[0]
    assert 0 < left < ARTICLES
    assert run_on_small_disk(command, tmp_path, None).returncode == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM articles WHERE body = 'rusak'").fetchone() == (0,)
    assert _articles_in(db) == ARTICLES


def test_the_archive_stays_readable_on_a_full_disk(server: DemoServer, tmp_path: Path) -> None:
    """Reading a WAL archive writes its -shm first, which a full disk refuses: the first read
    command was a traceback (and left a -shm of 3 bytes, after which the others said "cannot
    write"). A file whose -wal holds nothing is read as it is; one whose -wal holds commits not
    in the file cannot be read without the -shm: one line, never the stale file."""
    db = tmp_path / "archive" / "archive.db"
    db.parent.mkdir()
    crawl_demo(server, db, "--max-pages", "20")
    with closing(sqlite3.connect(db)) as conn:  # closed: its -shm is mapped while open
        [url] = conn.execute("SELECT url FROM articles LIMIT 1").fetchone()
    commands = {
        "stats": ("articles", ["stats"]),
        "search": ("http", ["search", "warga"]),
        "show --raw": ("<html", ["show", url, "--raw"]),
        "export": (url, ["export"]),
        "verify": ("sound", ["verify"]),
        "health": ("no alarm", ["health"]),
    }
    for attempt in (1, 2, 3):  # then after what the one before left beside the files
        for name, (says, args) in commands.items():
            done = run_on_small_disk([*CLI, *args, "--db", str(db)], tmp_path, 1)
            assert done.returncode == 0, (attempt, name, done.stderr[-2000:])
            assert says in done.stdout, (attempt, name, done.stdout[-500:])
        if attempt == 2:
            # A command that writes fails, leaving a -wal and a -shm beside each file: verify
            # was then a traceback (its index check read the archive apart).
            refused = run_on_small_disk(
                [*CLI, "import", str(db), "--url", url, "--db", str(db)], tmp_path, 1
            )
            assert "cannot write: " in _one_line_error(refused.stderr)
            # As a real full disk leaves them (seen on a full tmpfs): the -shm's first 3 bytes
            # of the 32 kB SQLite was extending it to, and an empty -wal.
            for path in (db, default_pages_path(db)):
                Path(f"{path}-shm").write_bytes(b"\0\0\0")
                Path(f"{path}-wal").write_bytes(b"")
    assert [path.name for path in sorted(db.parent.iterdir())] == [
        *["archive.db", "archive.db-shm", "archive.db-wal"],
        *["pages.db", "pages.db-shm", "pages.db-wal"],
    ]
    _browse_reads_it_as_it_is(db, tmp_path)

    # Commits in a -wal the file does not hold yet, and no -shm to read it by.
    copy = tmp_path / "copy"
    copy.mkdir()
    writer = sqlite3.connect(db)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("UPDATE articles SET title = 'Judul baru' WHERE url = ?", [url])
    writer.commit()
    for suffix in ("", "-wal"):
        (copy / f"archive.db{suffix}").write_bytes(Path(f"{db}{suffix}").read_bytes())
    writer.close()
    (copy / "pages.db").write_bytes(default_pages_path(db).read_bytes())
    shown = run_on_small_disk([*CLI, "show", url, "--db", str(copy / "archive.db")], tmp_path, 1)
    assert shown.returncode == 1
    error = _one_line_error(shown.stderr)
    assert f"{copy / 'archive.db'}: cannot read it: " in error and "-shm" in error
    assert (
        "Judul baru"
        in run_on_small_disk(
            [*CLI, "show", url, "--db", str(copy / "archive.db")], tmp_path, None
        ).stdout
    )


@contextmanager
def read_only(directory: Path) -> Iterator[Path]:
    """`directory` where nothing can be written: a read-only bind mount of it for root (whom
    file modes do not stop), else the modes of it and its files."""
    if os.geteuid() == 0:
        mount = directory.with_name(directory.name + "-ro")
        mount.mkdir()
        subprocess.run(["mount", "--bind", str(directory), str(mount)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(mount)], check=True)
            yield mount
        finally:
            subprocess.run(["umount", str(mount)], check=True)
        return
    modes = {path: path.stat().st_mode for path in [directory, *directory.iterdir()]}
    for path, mode in modes.items():
        path.chmod(mode & ~0o222)
    try:
        yield directory
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def test_an_archive_on_a_read_only_drive_is_read_and_browsed(
    server: DemoServer, tmp_path: Path
) -> None:
    """An analyst's copy on a shared drive mounted read-only: `browse` refused it ("permission
    denied (cannot write to it)"), as it opens the archive for writing first. Now it is served
    as it is, the read commands read it, and the writing ones say why they cannot in one line."""
    folder = tmp_path / "shared"
    folder.mkdir()
    db = folder / "archive.db"
    crawl_demo(server, db, "--max-pages", "20")
    with read_only(folder) as mounted:
        copy = mounted / "archive.db"
        for args, says in ((["search", "warga"], "http"), (["stats"], "articles")):
            done = subprocess.run([*CLI, *args, "--db", str(copy)], cwd=tmp_path,
                                  capture_output=True, text=True, timeout=60)  # fmt: skip
            assert done.returncode == 0 and says in done.stdout, done.stderr[-2000:]
        refused = subprocess.run([*CLI, "reextract", "--db", str(copy)], cwd=tmp_path,
                                 capture_output=True, text=True, timeout=60)  # fmt: skip
        assert "(cannot write to it)" in _one_line_error(refused.stderr)
        _browse_reads_it_as_it_is(copy, tmp_path, full_disk=False, why="(cannot write to it)")
