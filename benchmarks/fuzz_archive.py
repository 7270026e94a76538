"""Damage to an archive's files no command may fail on: a sound archive damaged at random, then
every command run on it.

    python benchmarks/fuzz_archive.py --seconds 600 --seed 1

The sound archive is made once per run: the demo portal (30 articles, on 127.0.0.1) crawled, three
corpus pages imported (packed, in a shared block) and four stored alone through Archive.store
(page_bodies rows), with the search top lists built. Beside it: a second archive of its own
(another archive's files), an older copy of its pages file, and -wal files left by a write to each
archive (what a killed crawl leaves).

Each case copies it and damages it one to two ways: bytes flipped at random offsets or in the
header; a page of a table, index, FTS shadow table, search top list or pages.db block found with
`dbstat` overwritten (garbage, zeros, part of it, or another page of the file copied over it);
the bytes of a full-text segment or a zstd block overwritten inside sound pages (SQLite cannot
see that); a file truncated; a -wal or -shm left behind (the archive's own, garbled, another
archive's, garbage) or a hot -journal of garbage; archive.db and pages.db from different
archives or an older copy; a file missing, replaced by a directory, an empty file, a text file,
another SQLite database or a dangling symlink; permissions removed (the commands then run
without root's power to ignore them, through setpriv).

Then each command runs as a subprocess with a timeout. The read commands (`stats`, `health`,
`search` a rare and a common word, `show URL`, `show --raw URL`, `export`, `export --format
warc`, `verify`) share one copy; each writer (`backup DEST`, `reextract`, `compact`, `repair`
then `verify`, `import` of a saved page, `crawl demo`) gets a copy of its own; `browse` is
started, asked for `/` and a search page, and stopped. A case fails on: a traceback; a hang; an
exit status other than 0 or 1; exit 1 without an `Error:` line, 0 with one, or an `Error:` line
and more on stderr (an error of more than one line); a read command that changed a file; a
writer that said it failed and changed a file (unless what it names is a damaged raw page, which
packing goes around and reextract records, or records repair carried over); a writer that succeeded on an archive `verify` called
sound and left it unsound or without a record or raw page it had; `repair` exit 0 and `verify`
failing after it or a record lost; `backup` exit 0 with a copy that fails quick_check; `show
--raw` exit 0 with other bytes than the page's; `verify` calling sound an archive another command
called damaged; `browse` answering 500 without saying the archive is damaged, or not at all.
Reported apart, for a person to judge (`--silent` lists them): a read command exiting 0 with
output other than on the sound archive. The first case of each kind of failure is kept in --out
(its damaged files and case.json).

Not a test (random, minutes long): a search for what the tests do not think of. The first runs
(2026-12-06; tests/archive/test_archive_fuzz_found.py holds each, failing until mended) found: a
schema statement garbled into bytes that are not UTF-8 made every command a UnicodeDecodeError
traceback (SQLite's error message quotes the statement); a record's text garbled into bytes
that are not UTF-8 was an OperationalError traceback from show, export and search; a unique
index page overwritten with a sound page of another table passed quick_check, so verify called
the archive sound, repair found nothing to repair and reextract and compact wrote on, while
show named it damaged; repair said "nothing to repair", exit 0, with pages.db missing, another
archive's, an older copy or damaged (verify fails at once after); archive.db a directory or
unreadable was click's usage error (three lines, exit 2); browse on a zeroed full-text index
config page was a traceback at start-up; repair in a directory it may write but not list was a
PermissionError traceback after the swap; import and crawl with archive.db gone made a new one
beside the old pages file and called it another archive's; `stats` deleted a -journal left
beside pages.db. The same page overwrite in articles_fts_docsize passes verify too.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from fuzz_crawl import FAST
from fuzz_extract import SHARED, corpus_pages
from fuzz_import import _kind

from newsarchive.demo import DemoServer
from newsarchive.extract import extract_article
from newsarchive.items import RawPage
from newsarchive.storage import Archive

# Each command takes about half a second on this archive; a crawl of it a few.
COMMAND_SECONDS = 120
BROWSE_START_SECONDS = 30
CONTACT = "https://example.org/newsarchive-fuzz"
A_SITE = "https://arsip.example.id"
# Permissions removed: the commands run without root's power to ignore them.
RESTRICTED = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]
FILES = ("archive.db", "pages.db")
SIDECARS = ("-wal", "-shm", "-journal")
RARE_WORD_QUERY = "SELECT title FROM articles ORDER BY id DESC LIMIT 1"


@dataclass
class Base:
    """The sound archive and what the cases take from beside it."""

    dir: Path
    other: Path  # another archive's directory
    older_pages: Path  # this archive's pages.db before the last pages were stored
    wal: Path  # -wal/-shm files left by a write to this archive
    other_wal: Path  # and to the other one
    saved_page: Path  # a page for `import`
    server: DemoServer
    urls: list[str]  # articles' URLs
    words: list[str]  # a rare and a common word
    pages: set[tuple[str, str]] = field(default_factory=set)  # (url, sha256) of raw pages
    articles: set[str] = field(default_factory=set)
    sound: dict[str, str] = field(default_factory=dict)  # read command -> its stdout


@dataclass
class Outcome:
    status: int | None  # None: killed after the timeout
    stdout: str
    stderr: str


@dataclass
class Case:
    number: int
    damage: list[str] = field(default_factory=list)
    restricted: bool = False  # run without root's power over permissions (RESTRICTED)
    failures: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


def newsarchive(
    *args: str, restricted: bool = False, cwd: Path | None = None, timeout: float = COMMAND_SECONDS
) -> Outcome:
    env = {**os.environ, "NEWSARCHIVE_CONTACT": CONTACT, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("NEWSARCHIVE_DB", None)
    command = [*(RESTRICTED if restricted else []), sys.executable, "-m", "newsarchive", *args]
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=env,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
        return Outcome(None, out, f"killed after {timeout} s")
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def sound_or_exit(outcome: Outcome, what: str) -> Outcome:
    if outcome.status != 0:
        raise SystemExit(f"{what}: exit {outcome.status}: {outcome.stdout}{outcome.stderr}")
    return outcome


def copy_pair(src: Path, dst: Path) -> None:
    """The two files (no -wal or -shm: the archive at `src` is closed)."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy(src / name, dst / name)


def _left_wal(db: Path, into: Path, write) -> None:
    """The -wal and -shm files `write(archive)` leaves beside a copy of `db` while the archive is
    still open (a crawl killed there), copied to `into`."""
    work = into.with_name(into.name + "-work")
    copy_pair(db.parent, work)
    into.mkdir()
    with Archive(work / "archive.db") as archive:
        write(archive)
        for name in FILES:
            for suffix in ("-wal", "-shm"):
                if (work / (name + suffix)).exists():
                    shutil.copy(work / (name + suffix), into / (name + suffix))
    shutil.rmtree(work)


def _store(archive: Archive, url: str, body: bytes) -> None:
    archive.store(RawPage(url=url, body=body), extract_article(body, url), site="arsip.example.id")


def make_base(root: Path, pages: list[bytes], rng: random.Random, server: DemoServer) -> Base:
    base = root / "base"
    db = base / "archive.db"
    base.mkdir()
    sound_or_exit(
        newsarchive("crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST),
        "crawl of the demo portal",
    )
    chosen = rng.sample(pages, 10)
    saved = root / "saved"
    saved.mkdir()
    for n, body in enumerate(chosen[:3]):
        (saved / f"{n}.html").write_bytes(body)
        url = f"{A_SITE}/2024/01/{n + 1:02d}/impor-{n}"
        sound_or_exit(newsarchive("import", str(saved / f"{n}.html"), "--url", url, "--db",
                                  str(db)), "import")  # fmt: skip
    older_pages = root / "older-pages.db"
    shutil.copy(base / "pages.db", older_pages)
    with Archive(db) as archive:  # stored alone: no pack after them
        for n, body in enumerate(chosen[3:7]):
            _store(archive, f"{A_SITE}/2024/02/{n + 1:02d}/sendiri-{n}", body)
    # The search top lists are built by a compact (a sound archive's first, here).
    sound_or_exit(newsarchive("compact", "--db", str(db)), "compact")
    for n, body in enumerate(chosen[3:7]):
        with Archive(db) as archive:
            _store(archive, f"{A_SITE}/2024/03/{n + 1:02d}/sendiri-{n}", body)
    other = root / "other"
    other.mkdir()
    for n, body in enumerate(chosen[7:9]):
        (saved / f"other-{n}.html").write_bytes(body)
        url = f"https://lain.example.id/2024/01/{n + 1:02d}/lain-{n}"
        sound_or_exit(newsarchive("import", str(saved / f"other-{n}.html"), "--url", url,
                                  "--db", str(other / "archive.db")), "import")  # fmt: skip
    wal, other_wal = root / "wal", root / "other-wal"
    _left_wal(db, wal, lambda a: _store(a, f"{A_SITE}/2024/04/01/wal", chosen[9]))
    _left_wal(other / "archive.db", other_wal,
              lambda a: _store(a, "https://lain.example.id/2024/04/01/wal", chosen[9]))  # fmt: skip
    (saved / "new.html").write_bytes(chosen[9])
    with closing(sqlite3.connect(db)) as conn:
        urls = [url for (url,) in conn.execute("SELECT url FROM articles ORDER BY id")]
        title = conn.execute(RARE_WORD_QUERY).fetchone()[0]
    rare = max(re.findall(r"\w+", title), key=len).lower()
    found = Base(base, other, older_pages, wal, other_wal, saved / "new.html", server, urls,
                 [rare, "yang"])  # fmt: skip
    found.pages, found.articles = snapshot(db)
    sound = root / "sound"
    copy_pair(base, sound)
    for name, args in read_commands(found, sound / "archive.db", root):
        found.sound[name] = _placed(sound_or_exit(newsarchive(*args), name).stdout, sound)
    shutil.rmtree(sound)
    return found


def snapshot(db: Path) -> tuple[set[tuple[str, str]], set[str]]:
    """(url, sha256) of the raw pages and the URLs of the records, read through SQLite."""
    uri = "file:{}?mode=ro"
    with closing(sqlite3.connect(uri.format(db.with_name("pages.db")), uri=True)) as conn:
        pages = set(conn.execute("SELECT url, sha256 FROM pages"))
    with closing(sqlite3.connect(uri.format(db), uri=True)) as conn:
        articles = {url for (url,) in conn.execute("SELECT url FROM articles")}
    return pages, articles


def hashes(directory: Path) -> dict[str, str]:
    """The files and what they hold; not a -shm (a reader's shared memory index), a `run`'s
    lock file, an empty -wal or -journal."""
    found = {}
    for path in sorted(directory.iterdir()):
        if path.name.endswith(("-shm", ".lock")) or (path.name.endswith(SIDECARS) and _empty(path)):
            continue
        if path.is_file() and os.access(path, os.R_OK):
            found[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[path.name] = "directory" if path.is_dir() else "unreadable"
    return found


def _empty(path: Path) -> bool:
    return path.is_file() and not path.is_symlink() and path.stat().st_size == 0


# --- damage --------------------------------------------------------------------------------


def _objects(path: Path) -> list[tuple[str, str, int]]:
    """(table or index, page type, page number) of every page dbstat sees in the file."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)) as conn:
            return list(conn.execute("SELECT name, pagetype, pageno FROM dbstat"))
    except sqlite3.Error:
        return []


def _page_size(path: Path) -> int:
    with closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)) as conn:
        return conn.execute("PRAGMA page_size").fetchone()[0]


def damage_page(rng: random.Random, path: Path) -> str:
    pages = _objects(path)
    if not pages:
        return damage_bytes(rng, path)
    # Each object as likely as another, whatever its size: small tables hold the lists.
    names = sorted({name for name, _, _ in pages})
    name = rng.choice(names)
    name, kind, number = rng.choice([p for p in pages if p[0] == name])
    size = _page_size(path)
    data = bytearray(path.read_bytes())
    start = (number - 1) * size
    how = rng.randrange(4)
    if how == 0:
        data[start : start + size] = rng.randbytes(size)
        what = "garbage"
    elif how == 1:
        data[start : start + size] = bytes(size)
        what = "zeros"
    elif how == 2:
        at = start + rng.randrange(size)
        length = min(rng.randint(1, 400), start + size - at)
        data[at : at + length] = rng.randbytes(length)
        what = f"{length} bytes at +{at - start}"
    else:
        other = rng.choice(pages)[2]
        data[start : start + size] = data[(other - 1) * size : other * size]
        what = f"page {other} copied over it"
    path.write_bytes(bytes(data))
    return f"{path.name}: page {number} ({name} {kind}): {what}"


def damage_bytes(rng: random.Random, path: Path) -> str:
    data = bytearray(path.read_bytes())
    if not data:
        return f"{path.name}: empty, no bytes to flip"
    header = rng.random() < 0.2
    spots = []
    for _ in range(rng.randint(1, 30)):
        at = rng.randrange(min(100, len(data))) if header else rng.randrange(len(data))
        data[at] = rng.randrange(256)
        spots.append(at)
    path.write_bytes(bytes(data))
    return f"{path.name}: {len(spots)} bytes flipped at {sorted(spots)[:8]}"


def damage_blob(rng: random.Random, path: Path) -> str:
    """Bytes of a blob overwritten where it lies in the file, up to the end of its page: a
    full-text segment or a zstd block or page body, its b-tree pages left sound."""
    query = {
        "archive.db": "SELECT id, block FROM articles_fts_data WHERE id > 10",
        "pages.db": "SELECT 'block ' || id, data FROM blocks UNION ALL "
        "SELECT 'page body ' || page_id, data FROM page_bodies",
    }[path.name]
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)) as conn:
            blobs = [row for row in conn.execute(query) if row[1] and len(row[1]) >= 32]
    except sqlite3.Error:
        blobs = []
    if not blobs:
        return damage_bytes(rng, path)
    name, blob = rng.choice(blobs)
    data = bytearray(path.read_bytes())
    at = data.find(blob[: min(len(blob), 64)])
    if at < 0:
        return damage_bytes(rng, path)
    size = _page_size(path)
    at += rng.randrange(min(len(blob), size - at % size))
    end = min(at + rng.randint(1, 200), (at // size + 1) * size)
    data[at:end] = rng.randbytes(end - at)
    path.write_bytes(bytes(data))
    return f"{path.name}: {name} garbled inside its page: {end - at} bytes at {at}"


def damage_truncate(rng: random.Random, path: Path) -> str:
    size = path.stat().st_size
    at = rng.choice([0, rng.randrange(100), rng.randrange(size)])
    if rng.random() < 0.5 and size > 65536:
        page = _page_size(path)
        at = rng.randrange(1, size // page) * page
    with path.open("r+b") as handle:
        handle.truncate(at)
    return f"{path.name}: cut to {at} of {size} bytes"


def damage_sidecar(rng: random.Random, path: Path, base: Base) -> str:
    name = path.name
    how = rng.randrange(7)
    if how == 6:
        for file in FILES:
            for suffix in ("-wal", "-shm"):
                if (base.wal / (file + suffix)).exists():
                    shutil.copy(base.wal / (file + suffix), path.with_name(file + suffix))
        return "both files: the -wal and -shm a write left (a killed crawl)"
    wal, shm = path.with_name(name + "-wal"), path.with_name(name + "-shm")
    source = base.wal if how in (0, 1, 2) else base.other_wal
    if how <= 3 and (source / (name + "-wal")).exists():
        shutil.copy(source / (name + "-wal"), wal)
        if (source / (name + "-shm")).exists() and rng.random() < 0.7:
            shutil.copy(source / (name + "-shm"), shm)
        what = "its own -wal" if source == base.wal else "another archive's -wal"
        if how == 1:
            what += " garbled: " + damage_bytes(rng, wal)
        elif how == 2 and shm.exists():
            what += " and a garbled -shm: " + damage_bytes(rng, shm)
        return f"{name}: {what} left beside it"
    if how == 4:
        target = rng.choice([wal, shm])
        target.write_bytes(rng.randbytes(rng.choice([10, 32, 4096, 40000])))
        return f"{name}: {target.name} of garbage"
    journal = path.with_name(name + "-journal")
    journal.write_bytes(bytes.fromhex("d9d505f920a163d7") + rng.randbytes(rng.choice([20, 600])))
    return f"{name}: a hot -journal of garbage"


def damage_pair(rng: random.Random, case_dir: Path, base: Base) -> str:
    how = rng.randrange(4)
    if how == 0:
        shutil.copy(base.other / "pages.db", case_dir / "pages.db")
        return "pages.db: another archive's"
    if how == 1:
        shutil.copy(base.other / "archive.db", case_dir / "archive.db")
        return "archive.db: another archive's"
    if how == 2:
        shutil.copy(base.older_pages, case_dir / "pages.db")
        return "pages.db: an older copy of its own"
    name = rng.choice(FILES)
    (case_dir / name).unlink()
    return f"{name}: missing"


def damage_replace(rng: random.Random, path: Path) -> str:
    how = rng.randrange(5)
    path.unlink()
    if how == 0:
        path.mkdir()
        return f"{path.name}: a directory"
    if how == 1:
        path.write_bytes(b"")
        return f"{path.name}: an empty file"
    if how == 2:
        path.write_text("catatan rapat\n" * rng.randint(1, 500))
        return f"{path.name}: a text file"
    if how == 3:
        with closing(sqlite3.connect(path)) as conn:
            conn.executescript("PRAGMA journal_mode=WAL; CREATE TABLE notes(x); INSERT INTO notes "
                               "VALUES (1);")  # fmt: skip
        return f"{path.name}: someone else's SQLite database"
    path.symlink_to(path.with_name("nowhere"))
    return f"{path.name}: a dangling symlink"


def damage_permissions(rng: random.Random, case_dir: Path, case: Case) -> str:
    case.restricted = True
    how = rng.randrange(4)
    name = rng.choice(FILES)
    if how == 0:
        (case_dir / name).chmod(0)
        return f"{name}: mode 000"
    if how == 1:
        (case_dir / name).chmod(0o444)
        return f"{name}: read-only"
    if how == 2:
        case_dir.chmod(0o555)
        return "the directory: read-only"
    case_dir.chmod(0o333)
    return "the directory: not listable"


def damage(rng: random.Random, case_dir: Path, base: Base, case: Case) -> None:
    for _ in range(1 if rng.random() < 0.7 else 2):
        path = case_dir / rng.choice(FILES)
        if not path.is_file() or path.is_symlink():
            continue
        kind = rng.random()
        if kind < 0.3:
            case.damage.append(damage_page(rng, path))
        elif kind < 0.45:
            case.damage.append(damage_blob(rng, path))
        elif kind < 0.55:
            case.damage.append(damage_bytes(rng, path))
        elif kind < 0.62:
            case.damage.append(damage_truncate(rng, path))
        elif kind < 0.77:
            case.damage.append(damage_sidecar(rng, path, base))
        elif kind < 0.85:
            case.damage.append(damage_pair(rng, case_dir, base))
        elif kind < 0.93:
            case.damage.append(damage_replace(rng, path))
        elif not case.restricted:
            case.damage.append(damage_permissions(rng, case_dir, case))


# --- checks -----------------------------------------------------------------------------------


def read_commands(base: Base, db: Path, out: Path) -> list[tuple[str, list[str]]]:
    at = ["--db", str(db)]
    url = base.urls[len(base.urls) // 2]
    last = base.urls[-1]  # an article stored alone, after the compact
    return [
        ("stats", ["stats", *at]),
        ("health", ["health", *at]),
        ("search rare", ["search", base.words[0], *at]),
        ("search common", ["search", base.words[1], "--json", *at]),
        ("show", ["show", url, *at]),
        ("show last", ["show", last, *at]),
        ("show --raw", ["show", url, "--raw", *at]),
        ("show --raw last", ["show", last, "--raw", *at]),
        ("export", ["export", *at]),
        ("export warc", ["export", "--format", "warc", "-o", str(out / "out.warc.gz"), *at]),
        ("verify", ["verify", *at]),
    ]


def judge(case: Case, name: str, outcome: Outcome) -> None:
    """The failures any command's outcome shows on its own."""
    if outcome.status is None:
        case.failures.append(f"{name}: no end within {COMMAND_SECONDS} s (a hang)")
        return
    text = outcome.stdout + outcome.stderr
    if "Traceback" in text:
        lines = text.splitlines()
        at = [line.strip() for line in lines if line.strip().startswith("File ")]
        last = next(line for line in reversed(lines) if line.strip())
        case.failures.append(f"{name}: traceback: {last[:160]} at {at[-1][:160] if at else '?'}")
        return
    if outcome.status not in (0, 1):
        case.failures.append(f"{name}: exit status {outcome.status}")
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    if outcome.status == 1 and not errors:
        case.failures.append(f"{name}: exit 1 without an Error line")
    if outcome.status == 0 and errors:
        case.failures.append(f"{name}: exit 0 with an Error line: {errors[0][:160]}")
    if len(errors) > 1 and not name.startswith(("health", "crawl", "reextract")):
        case.failures.append(f"{name}: {len(errors)} Error lines: {errors[1][:160]}")
    if errors:
        others = [line for line in lines if not line.startswith("Error: ") and not _own(line)]
        if others:
            case.failures.append(f"{name}: more than the Error line: {others[0][:160]!r}")


# What commands write on stderr beside their Error line: their summaries and progress, export's
# list of the raw pages it left out, warnings the logging writes in one line.
OWN_STDERR = re.compile(
    r"^(exported \d+|imported \d+|re-extracted \d+|\S+: raw page \d+ is damaged|"
    r"\.\.\. and \d+ more|(WARNING|INFO|ERROR):? |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|\S+: \d+ raw page\(s\)|note: )"
)


def _own(line: str) -> bool:
    return bool(OWN_STDERR.match(line))


def _said_damaged(outcome: Outcome) -> bool:
    return outcome.status == 1 and bool(
        re.search(r"^Error: .*(damaged|corrupt|malformed)", outcome.stderr, re.M)
    )


def _raw_page_damage(outcome: Outcome) -> bool:
    return bool(re.search(r"^Error: .*raw page.* damaged", outcome.stderr, re.M))


def check_reads(case: Case, base: Base, damaged: Path, work: Path) -> tuple[Outcome, bool]:
    """Run the read commands on one copy; `verify`'s outcome, and whether any said damaged."""
    copy = work / "read"
    shutil.copytree(damaged, copy, symlinks=True)
    out = work / "read-out"
    out.mkdir()
    said_damaged = False
    verify = Outcome(None, "", "")
    for name, args in read_commands(base, copy / "archive.db", out):
        before = hashes(copy)
        outcome = newsarchive(*args, restricted=case.restricted)
        judge(case, name, outcome)
        case.log.append(
            f"{name}: exit {outcome.status}: {outcome.stdout.strip()[-300:]} | "
            f"{outcome.stderr.strip()[-300:]}"
        )
        if name == "verify":
            verify = outcome
        elif _said_damaged(outcome):
            said_damaged = True
        if hashes(copy) != before:
            case.failures.append(
                f"{name}: a read command changed the files ({_changed(before, hashes(copy))})"
            )
        if outcome.status == 0 and _placed(outcome.stdout, copy) != base.sound[name]:
            if name.startswith("show --raw"):
                case.failures.append(f"{name}: exit 0 with other bytes than the page's")
            elif not name.startswith("export warc"):
                case.silent.append(f"{name}: exit 0, output not the sound archive's")
    if verify.status == 0 and said_damaged:
        case.failures.append("verify: sound, where another command said damaged")
    return verify, said_damaged


def _placed(output: str, directory: Path) -> str:
    """`output` with the archive's directory named alike wherever the copy is."""
    return output.replace(str(directory), "ARCHIVE")


def _changed(before: dict[str, str], after: dict[str, str]) -> str:
    names = sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))
    return ", ".join(names)


def _unchanged_or_said(case: Case, name: str, outcome: Outcome, before, after) -> None:
    """A writer that failed left the files as they were, but where it names a damaged raw page
    (packing goes around it; reextract records it) or a -wal was there (SQLite applies it)."""
    if outcome.status == 0 or before == after or _raw_page_damage(outcome):
        return
    changed = _changed(before, after)
    if name == "compact" and changed == "pages.db" and "full-text index" in outcome.stderr:
        return  # it packs and vacuums the sound pages file before it meets the index's damage
    if name == "crawl" and "cannot write: the archive is damaged" in outcome.stderr:
        # A crawl opens its run row before it reads the archive: one that meets damage in an
        # index quick_check passes ends that row (archive_unwritable), for `health` to say.
        case.log.append(f"crawl: stopped on damage, its run row recorded in {changed}")
        return
    if name == "repair" and "carried over as they were" in outcome.stderr:
        return  # rebuilt, its records that do not match their hash named (README: exit 1)
    if name == "repair" and "repair rebuilds archive.db alone, never the raw pages" in (
        outcome.stderr
    ):
        return  # archive.db rebuilt, then the raw pages it cannot mend named (exit 1)
    if any(name.endswith("-wal") for name in before):
        case.log.append(f"{name}: failed, a -wal was there, changed {changed}")
    else:
        case.failures.append(f"{name}: failed and changed {changed}")


def _still_holds(case: Case, base: Base, db: Path, name: str) -> None:
    """After a writer that succeeded on an archive verify called sound: still sound, nothing of
    the sound archive lost."""
    verify = newsarchive("verify", "--db", str(db), restricted=case.restricted)
    if verify.status != 0:
        case.failures.append(f"{name}: exit 0 on a sound archive and verify fails after: "
                             f"{verify.stderr.strip()[-160:]}")  # fmt: skip
        return
    try:
        pages, articles = snapshot(db)
    except sqlite3.Error as exc:
        case.failures.append(f"{name}: archive unreadable after: {exc}")
        return
    if base.pages - pages:
        case.failures.append(f"{name}: LOSS: {len(base.pages - pages)} raw pages gone")
    if base.articles - articles:
        case.failures.append(f"{name}: LOSS: {len(base.articles - articles)} records gone")


def check_writers(case: Case, base: Base, damaged: Path, work: Path, sound: bool) -> None:
    fresh = work / "write"
    writers: list[tuple[str, list[str]]] = [
        ("backup", ["backup", str(work / "backup")]),
        ("reextract", ["reextract", "--jobs", "1", "--progress-seconds", "1e9"]),
        ("compact", ["compact"]),
        ("repair", ["repair"]),
        ("import", ["import", str(base.saved_page), "--url", f"{A_SITE}/2024/05/01/baru"]),
        ("crawl", ["crawl", "demo", "--base-url", base.server.base_url, *FAST]),
    ]
    for name, args in writers:
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(work / "backup", ignore_errors=True)
        shutil.copytree(damaged, fresh, symlinks=True)
        db = fresh / "archive.db"
        before = hashes(fresh)
        outcome = newsarchive(*args, "--db", str(db), restricted=case.restricted, cwd=work)
        judge(case, name, outcome)
        case.log.append(
            f"{name}: exit {outcome.status}: {outcome.stdout.strip()[-300:]} | "
            f"{outcome.stderr.strip()[-300:]}"
        )
        if outcome.status is None:
            continue
        after = hashes(fresh)
        _unchanged_or_said(case, name, outcome, before, after)
        if name == "backup" and outcome.status == 0:
            dest = work / "backup"
            for file in FILES:
                try:
                    uri = f"file:{dest / file}?mode=ro"
                    with closing(sqlite3.connect(uri, uri=True)) as conn:
                        check = conn.execute("PRAGMA quick_check").fetchone()[0]
                except sqlite3.Error as exc:
                    check = str(exc)
                if check != "ok":
                    case.failures.append(f"backup: exit 0, its copy's {file} fails: {check}")
        elif name == "repair" and outcome.status == 0:
            verify = newsarchive("verify", "--db", str(db), restricted=case.restricted)
            if verify.status != 0:
                last = verify.stderr.strip().splitlines()[-1:] or ["?"]
                # What repair leaves alone (pages.db) is one kind, however verify words it.
                lines = (verify.stdout + verify.stderr).splitlines()
                if not any(line.startswith((f"{db}:", f"Error: {db}:")) for line in lines):
                    last = ["pages.db damaged or not archive.db's pair"]
                case.failures.append(f"repair: exit 0 and verify fails after: {last[0][:200]}")
            else:
                try:
                    _, articles = snapshot(db)
                except sqlite3.Error as exc:
                    case.failures.append(f"repair: exit 0, verify sound, then a read fails: {exc}")
                    continue
                if base.articles - articles:
                    case.failures.append(
                        f"repair: LOSS: {len(base.articles - articles)} records gone"
                    )
        elif outcome.status == 0 and sound and name != "backup":
            _still_holds(case, base, db, name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=COMMAND_SECONDS) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def check_browse(case: Case, base: Base, damaged: Path, work: Path) -> None:
    copy = work / "browse"
    shutil.copytree(damaged, copy, symlinks=True)
    port = _free_port()
    command = [sys.executable, "-m", "newsarchive", "browse", "--db", str(copy / "archive.db")]
    server = subprocess.Popen(
        [*(RESTRICTED if case.restricted else []), *command, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        cwd=work,
    )
    base_url = f"http://127.0.0.1:{port}"
    pages: list[tuple[str, int, str]] = []
    try:
        deadline = time.monotonic() + BROWSE_START_SECONDS
        while server.poll() is None and time.monotonic() < deadline:
            try:
                _get(f"{base_url}/-/versions.json")
                break
            except OSError:
                time.sleep(0.2)
        if server.poll() is None:
            if time.monotonic() >= deadline:
                case.failures.append(f"browse: not serving after {BROWSE_START_SECONDS} s")
            else:
                search = "/-/search?" + urllib.parse.urlencode({"q": base.words[0]})
                for path in ("/", search, "/archive/articles"):
                    try:
                        pages.append((path, *_get(base_url + path)))
                    except OSError as exc:
                        pages.append((path, 0, str(exc)))
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
        try:
            _, stderr = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            _, stderr = server.communicate()
            case.failures.append("browse: did not stop within 20 s of Ctrl-C")
    status = server.returncode if not pages else 0
    judge(case, "browse", Outcome(status, "", stderr))
    for path, code, text in pages:
        case.log.append(f"browse {path}: {code}")
        if code == 0:
            case.failures.append(f"browse {path}: no answer: {text[:160]}")
        elif code >= 500 and "damaged" not in text:
            case.failures.append(f"browse {path}: {code} without saying the archive is damaged")


def run_case(case: Case, base: Base, work: Path, rng: random.Random) -> Path:
    """Damage a copy of the base archive and run every command on it; the damaged files."""
    damaged = work / "damaged"
    copy_pair(base.dir, damaged)
    damage(rng, damaged, base, case)
    verify, said_damaged = check_reads(case, base, damaged, work)
    check_writers(case, base, damaged, work, sound=verify.status == 0)
    check_browse(case, base, damaged, work)
    return damaged


def _save(out: Path, case: Case, damaged: Path) -> Path:
    where = out / f"case-{case.number}"
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(damaged, where / "archive", symlinks=True)
    facts = {"damage": case.damage, "restricted": case.restricted, "failures": case.failures,
             "silent": case.silent, "log": case.log}  # fmt: skip
    (where / "case.json").write_text(json.dumps(facts, indent=1))
    return where


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=600, help="how long to run (default 600)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shared", type=Path, default=SHARED, help="the ../shared folder")
    ap.add_argument("--out", type=Path, default=Path("/tmp/fuzz_archive"), help="failing cases")
    ap.add_argument("--silent", action="store_true", help="list the silent differences too")
    ap.add_argument("--verbose", action="store_true", help="a line per case: damage, statuses")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pages = corpus_pages(args.shared)
    if not pages:
        print(f"{args.shared}/corpus: no pages", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    found: collections.Counter[str] = collections.Counter()
    silent: collections.Counter[str] = collections.Counter()
    runs, deadline = 0, time.monotonic() + args.seconds
    with (
        tempfile.TemporaryDirectory(prefix="fuzz_archive-") as tmp,
        DemoServer(articles=30) as server,
    ):
        root = Path(tmp)
        base = make_base(root, pages, rng, server)
        while time.monotonic() < deadline:
            runs += 1
            case = Case(runs)
            work = root / "case"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            damaged = run_case(case, base, work, rng)
            if args.verbose:
                statuses = " ".join(line.split(": ", 2)[1][5:] for line in case.log
                                    if ": exit " in line)  # fmt: skip
                print(f"case {runs}: {'; '.join(case.damage)[:200]}: {statuses}", flush=True)
            # One kind of failure whichever commands it came from (the opening code most share).
            commands: dict[str, list[str]] = collections.defaultdict(list)
            for failure in case.failures:
                command, _, what = failure.partition(": ")
                commands[_kind(what)].append(command)
            new = [kind for kind in commands if kind not in found]
            if new or (args.silent and any(_kind(s) not in silent for s in case.silent)):
                saved = _save(args.out, case, damaged)
                for kind in new:
                    first = next(f for f in case.failures if _kind(f.partition(": ")[2]) == kind)
                    print(f"{'; '.join(case.damage)}: {first} (also {', '.join(commands[kind])};"
                          f" case: {saved})", flush=True)  # fmt: skip
                if args.silent:
                    for note in case.silent:
                        if _kind(note) not in silent:
                            print(f"silent: {'; '.join(case.damage)}: {note} ({saved})")
            found.update(commands.keys())
            silent.update({_kind(s) for s in case.silent})
    print(f"{runs} damaged archives, {len(found)} kinds of failure: {dict(found)}")
    print(f"silent differences (exit 0, output not the sound archive's): {dict(silent)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
