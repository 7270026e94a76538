"""`newsarchive repair`: archive.db built again from its records when what it derives from them is
damaged, the old file kept; refused, changing nothing, where the records themselves are damaged,
the archive is in use, or the disk has no room for the new file.

Every archive here is real and damaged as tests/archive/test_damaged_files.py damages one: bytes
written over a page found with dbstat, or over the full-text index's blobs inside sound pages.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from archive_fixtures import cli_error, make_article, make_raw, news_page, snapshot
from test_damaged_files import garble_page, garble_search_index, invoke

from newsarchive.storage import Archive, default_pages_path
from newsarchive.storage.opening import read_only_uri
from newsarchive.storage.repair import RECORD_TABLES

WORDS = [
    "banjir",
    "rob",
    "pesisir",
    "tanggul",
    "warga",
    "nelayan",
    "pasar",
    "harga",
    "beras",
    "cabai",
    "sekolah",
    "guru",
    "jalan",
    "tol",
    "gempa",
    "relawan",
    "bantuan",
    "desa",
    "panen",
    "padi",
    "kemarau",
    "sungai",
    "pelabuhan",
    "kapal",
    "listrik",
]
LONG_URL = "https://warta.example.id/daerah/2024/03/31/tanggul-jebol"
LONG_BODY = " ".join(f"Paragraf {n}: warga pesisir memperbaiki tanggul jebol." for n in range(400))


def url(n: int) -> str:
    return f"https://warta.example.id/daerah/2024/03/{n % 28 + 1:02d}/berita-{n}"


@pytest.fixture(scope="module")
def sound(tmp_path_factory) -> Path:
    """Sixty articles (several leaf pages of records, tags and index) and one long one."""
    db = tmp_path_factory.mktemp("sound") / "archive.db"
    with Archive(db) as archive, archive.batch():
        run = archive.start_run("warta", {})
        for n in range(60):
            words = [WORDS[(n * 7 + k * 3) % len(WORDS)] for k in range(80)]
            body = f"Berita {n} tentang {WORDS[n % len(WORDS)]}. " + " ".join(words)
            title = f"Kabar {WORDS[n % len(WORDS)]} nomor {n}"
            article = make_article(
                url(n),
                title=title,
                body=body,
                authors=(f"Penulis {n % 5}",),
                tags=(WORDS[n % len(WORDS)], WORDS[(n + 3) % len(WORDS)], f"topik-{n}"),
            )
            archive.store(
                make_raw(url(n), news_page(title, [body])), article, site="warta", run_id=run
            )
        html = news_page("Tanggul jebol", [LONG_BODY])
        article = make_article(LONG_URL, title="Tanggul jebol", body=LONG_BODY)
        archive.store(make_raw(LONG_URL, html), article, site="warta", run_id=run)
        archive.record_failure("https://warta.example.id/hilang", "HTTP 404", status=404)
    with Archive(db) as archive:
        archive.pack_pages(None)
    return db


@pytest.fixture
def copy(sound: Path, tmp_path: Path) -> Path:
    """A copy of the sound archive's two files, to damage."""
    (tmp_path / "a").mkdir()
    for file in (sound, default_pages_path(sound)):
        shutil.copy2(file, tmp_path / "a" / file.name)
    return tmp_path / "a" / "archive.db"


def files_in(directory: Path) -> dict[str, str]:
    """The files and their hashes, but the `run` lock's (empty) file, which repair takes too."""
    return {name: sha for name, sha in snapshot(directory).items() if not name.endswith(".lock")}


def quick_check(path: Path) -> list[str]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)) as conn:
        try:
            return [row[0] for row in conn.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as exc:
            return [str(exc)]


def records(db: Path) -> dict[str, list]:
    """Every record table, row for row (what repair must carry over unchanged), text as the
    bytes stored (a garbled one may be no UTF-8)."""
    with closing(sqlite3.connect(read_only_uri(db), uri=True)) as conn:
        conn.text_factory = bytes
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in RECORD_TABLES
        }


def derived(db: Path) -> dict[str, list]:
    """The derived tables that have one right content. (The search lists' counts of rare words
    are estimates kept by sampling as articles come, exact when built at once: compared through
    what search finds instead.)"""
    with closing(sqlite3.connect(read_only_uri(db), uri=True)) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("article_authors", "article_tags", "site_fills")
        }


def searches(db: Path) -> list[str]:
    out = []
    for query in ("banjir", "panen padi", "tanggul", "nelayan kapal"):
        result = invoke("search", query, "--json", "--db", str(db))
        assert result.exit_code == 0, result.output
        out.append(result.stdout)
    assert any(json.loads(found) for found in out)
    return out


def kept_file(db: Path, label: str = "damaged") -> Path:
    """The old file repair kept: `damaged` when its checks found damage, `before-repair` when
    --force rebuilt a sound file."""
    [kept] = db.parent.glob(f"{db.name}.*-*T*Z")
    assert kept.name.startswith(f"{db.name}.{label}-"), kept.name
    return kept


def same_but_journal_mode(kept: bytes, damaged: bytes) -> bool:
    """The file as it was but for header bytes 18-19 (2: WAL, 1: rollback journal): repair writes
    the old file's -wal into it before renaming it, so it stays whole alone (and the header's
    change counters with it)."""
    return kept[100:] == damaged[100:] and kept[18:20] == b"\x01\x01"


def repaired(db: Path, sound: Path, damaged_bytes: bytes) -> None:
    """Repair succeeds; records unchanged, derived tables as in the sound archive, verify sound,
    search as before the damage, the old file kept byte for byte."""
    result = invoke("repair", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "rebuilt from its records" in result.stdout
    kept = kept_file(db)
    assert f"the old file is kept as {kept}" in result.stdout
    assert same_but_journal_mode(kept.read_bytes(), damaged_bytes)
    assert not (db.parent / f"{db.name}.repairing").exists()
    assert records(db) == records(sound)
    assert derived(db) == derived(sound)
    verified = invoke("verify", "--db", str(db))
    assert verified.exit_code == 0, verified.output
    assert "sound" in verified.stdout
    assert searches(db) == searches(sound)


def test_a_garbled_page_of_the_full_text_index(copy: Path, sound: Path) -> None:
    garble_page(copy, "articles_fts_data")
    found = invoke("verify", "--db", str(copy))
    assert "On tree page" in found.stdout or "full-text index is damaged" in found.stdout
    assert found.exit_code == 1
    repaired(copy, sound, copy.read_bytes())


def browsed_search(db: Path) -> dict:
    """Datasette's full-text search of the articles, as `newsarchive browse` serves it. (Its
    connections stay open: repair would then refuse the file as in use, rightly.)"""
    from newsarchive.datasette import served_datasette

    async def get() -> dict:
        page = await served_datasette(db).client.get(
            f"/{db.stem}/articles.json?_search=banjir&_col=url&_sort=id"
        )
        return page.json()

    return asyncio.run(get())


def test_the_index_garbled_inside_sound_pages(copy: Path, sound: Path) -> None:
    garble_search_index(copy)
    assert quick_check(copy) == ["ok"]
    assert "the full-text index is damaged" in invoke("verify", "--db", str(copy)).stdout
    repaired(copy, sound, copy.read_bytes())
    browsed = browsed_search(copy)
    assert browsed.get("ok") is not False and browsed["rows"], browsed
    assert browsed["rows"] == browsed_search(sound)["rows"]


@pytest.mark.parametrize("table", ["article_tags", "article_authors", "site_fills"])
def test_a_garbled_page_of_authors_tags_or_site_counts(copy: Path, sound: Path, table: str) -> None:
    garble_page(copy, table)
    assert quick_check(copy) != ["ok"]
    repaired(copy, sound, copy.read_bytes())


def test_damaged_records_are_refused_and_nothing_changes(copy: Path) -> None:
    garble_page(copy, "articles", "leaf", which=1)
    before = files_in(copy.parent)
    result = invoke("repair", "--db", str(copy))
    line = cli_error(result, f"{copy}: its articles records are damaged", "rows could be read")
    assert "restore the archive from a backup" in line and "nothing was changed" in line
    readable = int(line.split("records are damaged (")[1].split(" rows")[0].replace(",", ""))
    assert 0 < readable < 61
    assert files_in(copy.parent) == before


def garble_long_body(db: Path, garble: bytes) -> int:
    """`garble` written inside the long body's overflow page, its page pointer kept (SQLite reads
    it back without an error); the long article's id."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        page = conn.execute(
            "SELECT pageno FROM dbstat WHERE name = 'articles' AND pagetype = 'overflow'"
        ).fetchone()[0]
        [(long_id,)] = conn.execute("SELECT id FROM articles WHERE url = ?", [LONG_URL])
    with db.open("r+b") as handle:
        handle.seek((page - 1) * page_size + 100)
        handle.write(garble)
    return long_id


@pytest.mark.parametrize("garble", [b"XXXX" * 50, b"\xff\xfe" * 100], ids=["text", "no-utf8"])
def test_a_garbled_record_is_carried_over_and_named(copy: Path, garble: bytes) -> None:
    """Text garbled inside the long body's overflow page (SQLite cannot tell) and the index
    damaged: the index is rebuilt, the record kept as it is and named, exit 1."""
    long_id = garble_long_body(copy, garble)
    garble_search_index(copy)
    garbled = records(copy)
    result = invoke("repair", "--db", str(copy))
    assert f"{copy}: article {long_id} ({LONG_URL}, site warta)" in result.stdout
    line = cli_error(result, "1 record(s) damaged", "reextract --site")
    assert "carried over as they were" in line
    assert records(copy) == garbled  # as it was, not dropped
    assert kept_file(copy).exists()
    verified = invoke("verify", "--db", str(copy))
    assert "full-text index" not in verified.stdout
    assert f"article {long_id}" in verified.stdout
    # What the line says mends it does, also for bytes that are no UTF-8 any more; the garbled
    # record is kept byte for byte as the old version.
    mended = invoke("reextract", "--site", "warta", "--jobs", "1", "--db", str(copy))
    assert mended.exit_code == 0, mended.output
    assert invoke("verify", "--db", str(copy)).exit_code == 0
    with closing(sqlite3.connect(copy)) as conn:
        conn.text_factory = bytes
        [(old_body,)] = conn.execute(
            "SELECT body FROM versions WHERE article_id = ? AND reason = 'reextract'", [long_id]
        )
    assert garble in old_body


def test_a_sound_archive_is_left_as_it_is_unless_forced(copy: Path, sound: Path) -> None:
    before = files_in(copy.parent)
    result = invoke("repair", "--db", str(copy))
    assert result.exit_code == 0, result.output
    assert "nothing to repair" in result.stdout
    assert files_in(copy.parent) == before

    forced = invoke("repair", "--force", "--db", str(copy))
    assert forced.exit_code == 0, forced.output
    kept = kept_file(copy, "before-repair")
    assert f"the old file is kept as {kept}" in forced.stdout
    assert same_but_journal_mode(kept.read_bytes(), sound.read_bytes())
    assert records(copy) == records(sound) and derived(copy) == derived(sound)
    assert searches(copy) == searches(sound)
    # The pages file is untouched and still this archive's: writes go on.
    assert default_pages_path(copy).read_bytes() == default_pages_path(sound).read_bytes()
    page = copy.parent.parent / "baru.html"
    page.write_bytes(news_page("Nelayan pulang", ["Nelayan pulang membawa tangkapan besar."]))
    imported = invoke("import", str(page), "--url", url(99), "--db", str(copy))
    assert imported.exit_code == 0, imported.output
    assert invoke("show", url(99), "--db", str(copy)).exit_code == 0
    assert "Nelayan pulang" in invoke("search", "tangkapan", "--db", str(copy)).stdout
    assert invoke("stats", "--db", str(copy)).exit_code == 0
    assert invoke("verify", "--db", str(copy)).exit_code == 0


def test_refused_while_another_process_has_the_archive_open(copy: Path) -> None:
    garble_search_index(copy)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom newsarchive.storage import Archive\n"
            f"a = Archive({str(copy)!r}, readonly=True)\n"
            "a.db.execute('SELECT count(*) FROM articles').fetchone()\n"
            "print('open', flush=True)\nsys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        before = files_in(copy.parent)
        result = invoke("repair", "--db", str(copy))
        cli_error(result, f"{copy}: in use by another process", "stop it and run repair again")
        assert files_in(copy.parent) == before
    finally:
        holder.communicate("")


def test_commits_left_in_the_wal_by_a_killed_writer_are_kept(copy: Path) -> None:
    """A crawl killed with -9 leaves commits in archive.db-wal: they are records like any other,
    and the file kept holds them too (written into it: a -wal left beside the new file would be
    read as its own and garble it)."""
    script = (
        f"import os, sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from archive_fixtures import make_article, make_raw\n"
        "from newsarchive.storage import Archive\n"
        f"a = Archive({str(copy)!r})\n"
        "u = 'https://warta.example.id/daerah/2024/04/01/terakhir'\n"
        "a.store(make_raw(u), make_article(u, title='Berita terakhir'), site='warta')\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    wal = copy.with_name(copy.name + "-wal")
    assert wal.stat().st_size > 0
    with_wal = records(copy)["articles"]
    assert len(with_wal) == 62

    result = invoke("repair", "--force", "--db", str(copy))
    assert result.exit_code == 0, result.output
    assert not wal.exists()
    assert records(copy)["articles"] == with_wal
    assert records(kept_file(copy, "before-repair"))["articles"] == with_wal
    assert invoke("verify", "--db", str(copy)).exit_code == 0


def test_refused_while_a_run_holds_the_archive(copy: Path) -> None:
    from newsarchive.runner import RunLock

    garble_search_index(copy)
    before = files_in(copy.parent)
    with RunLock(copy):
        result = invoke("repair", "--db", str(copy))
    cli_error(result, "another run is in progress")
    assert files_in(copy.parent) == before


def test_no_room_for_the_new_file(copy: Path) -> None:
    """The disk "filled" by a file size limit on the command: one line, the new file removed,
    the archive as it was; repaired once there is room."""
    garble_search_index(copy)
    before = files_in(copy.parent)
    limit = copy.stat().st_size // 2

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command = [sys.executable, "-c", "from newsarchive.cli import cli; cli()"]
    scratch = copy.parent.parent / "scratch"  # SQLite's temporary files: named in the line
    scratch.mkdir()
    run = subprocess.run(
        [*command, "repair", "--db", str(copy)],
        capture_output=True,
        text=True,
        preexec_fn=small_disk,
        timeout=120,
        env={**os.environ, "SQLITE_TMPDIR": str(scratch)},
    )
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert len(errors) == 1, run.stderr
    assert f"{copy}: not repaired: " in errors[0] and "needs room" in errors[0], errors[0]
    assert f"temporary directory {scratch} about " in errors[0], errors[0]
    assert "the archive is as it was" in errors[0]
    assert files_in(copy.parent) == before
    assert invoke("repair", "--db", str(copy)).exit_code == 0


def test_a_record_garbled_into_bytes_that_are_no_utf8_is_replaced_when_its_page_comes_again(
    copy: Path, tmp_path: Path
) -> None:
    """The same page fetched again (here imported from its saved copy) over a record whose text
    SQLite cannot decode any more: stored as an update, the garbled bytes kept as the old
    version — not a failure of every later crawl of that URL."""
    saved = tmp_path / "page.html"
    shown = invoke("show", LONG_URL, "--raw", "--db", str(copy))
    assert shown.exit_code == 0, shown.output
    saved.write_bytes(shown.stdout_bytes)
    garble = b"\xff\xfe" * 100
    long_id = garble_long_body(copy, garble)

    result = invoke("import", str(saved), "--url", LONG_URL, "--db", str(copy))
    assert result.exit_code == 0, result.output
    assert "1 updated" in result.output, result.output
    with closing(sqlite3.connect(copy)) as conn:
        conn.text_factory = bytes
        [(old_body,)] = conn.execute(
            "SELECT body FROM versions WHERE article_id = ?", [long_id]
        ).fetchall()
        [(body,)] = conn.execute("SELECT body FROM articles WHERE id = ?", [long_id])
    assert garble in old_body
    assert body.decode("utf-8") and garble not in body
    assert invoke("verify", "--db", str(copy)).exit_code == 0
