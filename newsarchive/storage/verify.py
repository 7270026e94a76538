"""`newsarchive verify`: read the whole archive back and say whether it is sound.

A raw page is the archive's evidence: every record can be rebuilt from it, so a page damaged on
disk (a bad sector, a file edited by hand, a copy cut short) must be found by a check, not by the
re-extraction that needed it a year later. Checked: SQLite's own structure of both files
(`PRAGMA quick_check`), every raw page inflated and compared with the sha256 stored when it was
fetched, every record against its content hash and its page present, and the full-text index
decoded whole (FTS5 keeps it as blobs inside sound rows: quick_check passes a damaged one, which
shows only when a search reads it). The pair itself (the pages file is this archive's) is checked
by opening it (Archive._check_pages_pair).

A damaged file met by any other command is one line too (`damage_line`, used by the CLI's
friendly_errors): naming the file when a quick_check can tell which, and what to do.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from newsarchive.storage.archive import Archive, default_pages_path
from newsarchive.storage.opening import (
    DAMAGE_CHECK_MAX_BYTES,
    is_damage,
    lenient_text,
    quick_check,
    read_with_fallback,
    schema_problems,
)
from newsarchive.storage.records import content_hash
from newsarchive.storage.schema import CONTENT_COLUMNS, FTS_COLUMNS, JSON_COLUMNS

# A record's JSON columns outside its content hash (where the field came from, what was cut):
# `show` and `export` decode them, so verify reads each as JSON.
PROVENANCE_JSON = tuple(sorted(JSON_COLUMNS - set(CONTENT_COLUMNS)))

# Problems listed one by one; past this, counted (a damaged block spoils every page after the
# damage in it, hundreds of lines of the same cause).
LISTED_PROBLEMS = 20
PROGRESS_SECONDS = 10.0
# What a person does about a damaged file, at the end of every line saying so.
WHAT_TO_DO = (
    "`newsarchive verify --db {db}` lists the damage; `newsarchive repair --db {db}` rebuilds "
    "what archive.db derives from its records, a backup restores the rest"
)


@dataclass
class Verification:
    pages: int = 0
    page_bytes: int = 0
    articles: int = 0
    problems: list[str] = field(default_factory=list)
    damaged_pages: int = 0
    records_without_page: int = 0
    damaged_records: int = 0  # content that does not match its content_hash
    # The raw pages could not all be read: records cannot be told apart from missing pages.
    unreadable: bool = False

    @property
    def sound(self) -> bool:
        return not self.problems


def verify_archive(
    archive: Archive, *, progress: Callable[[str], None] | None = None
) -> Verification:
    """Everything `newsarchive verify` checks, with the problems found as lines naming the file
    and the page or record. `progress` gets a line every PROGRESS_SECONDS."""
    found = Verification()
    for db, path in ((archive.db, archive.path), (archive.pages, archive.pages_path)):
        found.problems.extend(f"{path}: {problem}" for problem in quick_check(db, 100, whole=True))
        found.problems.extend(f"{path}: {problem}" for problem in schema_problems(db))

    with _records_as_they_are_now(archive.db.conn):
        _check_pages_then_records(archive, found, progress)
    found.problems.extend(
        f"{archive.path}: {problem}" for problem in search_index_problems(archive.path)
    )
    return found


@contextlib.contextmanager
def _records_as_they_are_now(conn: sqlite3.Connection) -> Iterator[None]:
    """Read the records as they are before the raw pages are read, whatever is written meanwhile:
    a writer commits a page before its record, so every record read then has its page among the
    pages read after. Read later, a crawl's records stored since the pages were read were said
    to be without their page (a weekly `verify` from cron beside a crawl failed)."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        # The snapshot starts at the first read. A file damaged there is said by the steps after.
        with contextlib.suppress(sqlite3.DatabaseError):
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        yield
    finally:
        if conn.in_transaction:
            conn.rollback()


def _check_pages_then_records(
    archive: Archive, found: Verification, progress: Callable[[str], None] | None
) -> None:
    # A damaged page met by a step ends that step (one line saying where), not the others:
    # the records are still checked when the raw pages cannot all be read, and the reverse.
    page_ids: set[int] = set()
    try:
        total = archive.pages.execute("SELECT count(*) FROM pages").fetchone()[0]
        last = time.monotonic()
        for page_id, size, damage in archive.check_pages():
            page_ids.add(page_id)
            found.pages += 1
            found.page_bytes += size
            if damage is not None:
                found.damaged_pages += 1
                found.problems.append(str(damage))
            if progress and time.monotonic() - last >= PROGRESS_SECONDS:
                last = time.monotonic()
                progress(f"verify: {found.pages:,} of {total:,} raw pages read")
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        found.unreadable = True
        past = f" past the first {found.pages:,}" if found.pages else ""
        found.problems.append(f"{archive.pages_path}: raw pages cannot be read{past}: {exc}")

    # Text that is no UTF-8 (a garbled page SQLite reads without noticing) comes through as
    # it is, to fail its content hash, instead of ending the scan in a decoding error.
    conn = archive.db.conn
    text_factory, conn.text_factory = conn.text_factory, lenient_text
    try:
        _check_records(archive, found, page_ids, progress)
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        past = f" past the first {found.articles:,}" if found.articles else ""
        found.problems.append(f"{archive.path}: records cannot be read{past}: {exc}")
    finally:
        conn.text_factory = text_factory


def _check_records(
    archive: Archive,
    found: Verification,
    page_ids: set[int],
    progress: Callable[[str], None] | None,
) -> None:
    """Every record's content against the content_hash stored with it (SQLite keeps no checksum
    of its own: a flipped bit in a body, or a garbled overflow page of a long one, reads back
    without an error, and is served), and its raw page present. ~2 s of CPU per 100,000."""
    total = archive.db.execute("SELECT count(*) FROM articles").fetchone()[0]
    last = time.monotonic()
    cursor = archive.db.execute(
        f"SELECT id, url, page_id, content_hash, {', '.join(CONTENT_COLUMNS)}, "
        f"{', '.join(PROVENANCE_JSON)} FROM articles ORDER BY id"
    )
    names = [column[0] for column in cursor.description]
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        found.articles += 1
        article = f"article {row['id']} ({_printable(row['url'])})"
        if not content_matches(row):
            found.damaged_records += 1
            found.problems.append(
                f"{archive.path}: {article} is damaged (its content does not match the hash "
                "stored with it), or was edited outside newsarchive"
            )
        elif broken := next((name for name in PROVENANCE_JSON if not _json(row[name])), None):
            # Outside the content hash, and read back by `show` and `export`.
            found.damaged_records += 1
            found.problems.append(
                f"{archive.path}: {article} is damaged (its {broken} is no longer JSON), or was "
                "edited outside newsarchive"
            )
        page_id = row["page_id"]
        if page_id is not None and page_id not in page_ids and not found.unreadable:
            found.records_without_page += 1
            found.problems.append(
                f"{archive.path}: {article} points at raw page {page_id}, which "
                f"{archive.pages_path} does not hold"
            )
        if progress and time.monotonic() - last >= PROGRESS_SECONDS:
            last = time.monotonic()
            progress(f"verify: {found.articles:,} of {total:,} records read")


def _json(value: object) -> bool:
    if value is None:
        return True
    try:
        json.loads(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return False
    return True


def content_matches(row: dict) -> bool:
    """Whether a record's content (CONTENT_COLUMNS, read with lenient_text) is what its
    content_hash was made from."""
    try:
        return content_hash(row) == row["content_hash"]
    except UnicodeEncodeError:  # bytes that are no text
        return False


def _printable(text: object) -> str:
    return str(text).encode("utf-8", "replace").decode("utf-8")


def search_index_problems(db_path: Path) -> list[str]:
    """The full-text index read whole: every term's list of articles and positions decoded
    (fts5vocab, per column), where a damaged blob raises, ~0.7 s of CPU per 100,000 articles (as much as
    quick_check of the same file), and its document sizes (~0.8 s more: 8.8 s at a million).

    fts5vocab is a table of its own, which a read-only connection cannot create: it is made in
    a scratch in-memory database that reads the archive attached read-only.
    """

    def decode_whole(uri: str) -> list[str]:
        with closing(sqlite3.connect(":memory:", uri=True)) as scratch:
            scratch.execute("ATTACH ? AS archive", [uri])
            return search_index_damage(scratch, "archive")

    return read_with_fallback(db_path, decode_whole)


def search_index_damage(conn: sqlite3.Connection, schema: str) -> list[str]:
    """The full-text index of the archive attached to `conn` as `schema`, decoded whole: one
    problem when a blob of it is damaged, else []. (fts5vocab needs a table of its own: made in
    `conn`'s temp schema.)"""
    terms = f"temp.{schema}_search_terms"
    try:
        conn.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {terms} "
            # 'col', not 'row': only a per-column count walks each position list (for the
            # column markers), where a garbled one fails ranked searches (fuzz_archive seed
            # 4043); 'row' skips them by their sizes. The same time: ~1 s per 100,000 articles.
            f"USING fts5vocab({schema}, articles_fts, 'col')"
        )
        conn.execute(f"SELECT count(*), sum(cnt) FROM {terms}").fetchone()
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        return [f"the full-text index is damaged: {exc}"]
    except MemoryError:
        # A garbled size in a segment: FTS5 asks for that much memory before it can see more.
        return ["the full-text index is damaged: a size in it asks for more memory than there is"]
    finally:
        with contextlib.suppress(sqlite3.DatabaseError):
            conn.execute(f"DROP TABLE IF EXISTS {terms}")
    return _document_sizes_damage(conn, schema)


def _document_sizes_damage(conn: sqlite3.Connection, schema: str) -> list[str]:
    """The index's document sizes (articles_fts_docsize: per article, a varint per indexed
    column), which bm25 reads and nothing above does: a page of them overwritten by another
    table's well-formed page passes integrity_check and fts5vocab, and every ranked search met
    it. Each row must be an article's, its sizes one varint per column (~1 s a million)."""
    try:
        return _check_document_sizes(conn, schema)
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        return []  # the records or the sizes cannot be read: said by the checks that read them


def _check_document_sizes(conn: sqlite3.Connection, schema: str) -> list[str]:
    columns = len(FTS_COLUMNS)
    stray = conn.execute(
        f"SELECT count(*) FROM {schema}.articles_fts_docsize d "
        f"WHERE NOT EXISTS (SELECT 1 FROM {schema}.articles a WHERE a.id = d.id)"
    ).fetchone()[0]
    if stray:
        return [f"the full-text index is damaged: {stray} document size(s) of no article"]
    for article_id, sizes in conn.execute(f"SELECT id, sz FROM {schema}.articles_fts_docsize"):
        if not isinstance(sizes, bytes) or _varint_count(sizes) != columns:
            return [f"the full-text index is damaged: the sizes of article {article_id}"]
    return []


def _varint_count(data: bytes) -> int:
    """How many SQLite varints `data` holds exactly, -1 when it ends inside one."""
    count, length = 0, 0
    for byte in data:
        length += 1
        if byte < 0x80 or length == 9:
            count, length = count + 1, 0
    return count if length == 0 else -1


def damage_line(error: sqlite3.DatabaseError, db_path: Path) -> str | None:
    """The one line for a command that met a damaged file, or None when `error` is no sign of
    damage: which file when a quick_check of each (files up to opening.DAMAGE_CHECK_MAX_BYTES)
    can tell, else both, and what to do.

    SQLite's error does not say which file of the two it came from; the check (0.7 s of CPU, 3 s
    from a cold disk, for a 600 MB archive) runs once, on the way out of a command that cannot
    go on anyway. Any other SQLite error is checked for damage too: a garbled page can fail as
    something else (VACUUM over a garbled overflow chain said "database or disk is full").
    """
    pages_path = default_pages_path(db_path)
    said_damaged = is_damage(error)
    # Python's sqlite3, not SQLite: stored text no longer UTF-8 (bytes garbled inside a page
    # SQLite still reads as sound: it keeps no checksum).
    undecodable = str(error).startswith("Could not decode to UTF-8")
    damaged = []
    for path in (db_path, pages_path):
        problems = file_problems(path)
        if not problems:
            continue
        if said_damaged:
            said = problems[0] if str(error) in problems[0] else f"{error}: {problems[0]}"
            damaged.append(f"{path}: damaged ({said})")
        else:
            failed = str(error) if len(str(error)) <= 100 else f"{str(error)[:100]}..."
            damaged.append(
                f"{path}: damaged (database disk image is malformed: {problems[0]}; reading it "
                f"failed with: {failed})"
            )
    if damaged:
        where = "; ".join(damaged)
    elif undecodable:
        # Both files hold text (a raw page's URL and headers too): the error names neither.
        where = (
            f"{db_path} or its raw pages file {pages_path}: damaged: stored text is no longer "
            f"UTF-8 ({str(error)[:100]})"
        )
    elif not said_damaged:
        return None
    elif db_path.exists() and search_index_problems(db_path):
        # Inside the index's blobs, where quick_check does not look (as fast as it, above).
        where = f"{db_path}: damaged: its full-text index ({error})"
    else:
        where = f"{db_path} or its raw pages file {pages_path}: damaged ({error})"
    return f"{where}; the command stopped there. {WHAT_TO_DO.format(db=db_path)}"


def file_problems(path: Path) -> list[str]:
    """quick_check's first problems of the file at `path`; [] when it is sound, missing, or too
    big to read through here."""
    try:
        if path.stat().st_size > DAMAGE_CHECK_MAX_BYTES:
            return []
    except OSError:
        return []

    def check(uri: str) -> list[str]:
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            return quick_check(sqlite_utils.Database(conn), 3)

    try:
        return read_with_fallback(path, check)
    except sqlite3.Error:
        return []  # not readable for another cause (locked, gone): not known to be damaged
