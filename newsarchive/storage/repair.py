"""`newsarchive repair`: build archive.db again from its records, for damage in what it derives.

Most of archive.db is derived from its records and kept by triggers and by Archive: the
full-text index (and its queue), the lists of common words (search_tops), article_authors and
article_tags, site_fills, and every index on the record tables. Damage there (a garbled b-tree
page, index blobs garbled inside sound pages) loses nothing: it can all be made again. Repair
copies the records, row for row, into a new file made as a new archive is (the current schema,
built by the same migrations), whose triggers and builders then derive everything else, checks
it, and renames it into place. The old file is kept beside it under another name.

A new file rather than DROP and rebuild in place: dropping a table frees its b-tree pages by
walking it, which fails on the very page that is damaged ("database disk image is malformed"),
and a file that stays in use keeps whatever damage its free pages hold.

Records themselves cannot be rebuilt from the archive: a record table that cannot be read whole
refuses the repair (a backup is what holds them). A record whose content no longer matches its
content hash (text garbled where SQLite cannot tell) is carried over as it is and named: its raw
page rebuilds it (`newsarchive reextract --site`), or a backup. pages.db is not touched: a raw
page is the evidence itself, and its pair token (pages_pair) is carried over, so the pair stays
valid.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from newsarchive.errors import NewsarchiveError
from newsarchive.storage.archive import (
    ARCHIVE_PAGE_SIZE,
    WRITER_CACHE_MAX_KIB,
    Archive,
    default_pages_path,
)
from newsarchive.storage.opening import (
    ARCHIVE,
    PAGES,
    create_file,
    inspect_file,
    is_damage,
    lenient_text,
    quick_check,
    read_with_fallback,
    remove_with_sidecars,
    schema_problems,
    sync_path,
    unwritable,
)
from newsarchive.storage.schema import (
    ARCHIVE_MIGRATIONS,
    CONTENT_COLUMNS,
    PAGES_MIGRATIONS,
    build_search,
)
from newsarchive.storage.verify import content_matches, search_index_damage, verify_archive

# What archive.db records and nothing else holds, copied row for row; every other table (and
# every index) of the schema is derived from these by its triggers and builders. article_urls is
# a record although v2 backfilled it from articles: later writes add every URL an article was
# reached by (a short link, a redirect on a revisit), which no article row keeps. pages_pair
# holds the token the pages file was stamped with: a new one would make the pages foreign.
RECORD_TABLES = (
    "crawl_runs",
    "articles",
    "versions",
    "failures",
    "article_urls",
    "shared_items",
    "shared_progress",
    "pages_pair",
)
# Derived, counted before and after for the report (the rest are the index's own tables).
DERIVED_TABLES = (
    "article_authors",
    "article_tags",
    "site_fills",
    "search_words",
    "search_top",
    "search_lengths",
)
PROGRESS_SECONDS = 10.0
LISTED_RECORDS = 20
# The new file is written with a writer's largest page cache (Archive._size_cache): its indexes
# (URL, aliases, authors, tags, facets) are written at random places. At 100,000 articles the
# copy took 2.4 s with 256 MB, 3.4 s with SQLite's 2 MB (RSS 400 / 138 MB).
BUILD_CACHE_KIB = WRITER_CACHE_MAX_KIB


class RepairRefused(NewsarchiveError):
    """Repair cannot help (records damaged, the archive in use, an old schema): nothing changed."""


@dataclass
class Repair:
    """What repair found and did. `kept_as` None: nothing was rebuilt (the file is as it was)."""

    path: Path
    problems: list[str] = field(default_factory=list)  # what the checks found before
    damaged_records: list[str] = field(default_factory=list)
    counts: dict[str, tuple[int | None, int]] = field(default_factory=dict)  # before, after
    kept_as: Path | None = None
    seconds: float = 0.0
    articles: int = 0  # in the old file, when it could count them
    phases: dict[str, float] = field(default_factory=dict)  # seconds each step took
    # quick_check's problems of the raw pages file beside it, which repair never rebuilds.
    pages_problems: list[str] = field(default_factory=list)

    @property
    def rebuilt(self) -> bool:
        return self.kept_as is not None


# SQLite's temporary file while the search lists are built (search_tops._candidates): ~1.3 GB at a
# million synthetic articles.
TEMP_BYTES_PER_ARTICLE = 1_300


def sqlite_temp_dir() -> str:
    """Where SQLite on Unix writes its temporary files: the first writable of $SQLITE_TMPDIR,
    $TMPDIR, /var/tmp, /usr/tmp, /tmp (os_unix.c, unixTempFileDir), else the working directory."""
    candidates = [os.environ.get("SQLITE_TMPDIR"), os.environ.get("TMPDIR")]
    for directory in (*candidates, "/var/tmp", "/usr/tmp", "/tmp"):
        if directory and os.path.isdir(directory) and os.access(directory, os.W_OK | os.X_OK):
            return directory
    return "."


def repair_path(path: Path) -> Path:
    """The new archive.db while it is built: beside the old, so the rename is atomic."""
    return path.with_name(f"{path.name}.repairing")


def repair_archive(
    path: str | Path,
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Repair:
    """Check the archive at `path`; when archive.db's derived structures are damaged (or
    `force`), build it again from its records and swap it in, keeping the old file as
    `<name>.damaged-<time>` (`<name>.before-repair-<time>` when the checks found nothing).
    Raises RepairRefused (nothing changed) when repair cannot help, and NewsarchiveError for a
    full disk (the new file removed, the archive as it was)."""
    path = Path(path)
    started = time.monotonic()
    state = inspect_file(path, ARCHIVE, len(ARCHIVE_MIGRATIONS), for_writing=True, must_exist=True)
    if state.version != len(ARCHIVE_MIGRATIONS):
        raise RepairRefused(
            f"{path}: schema v{state.version}, older than this newsarchive's "
            f"v{len(ARCHIVE_MIGRATIONS)}; repair rebuilds the current schema only: upgrade it "
            "first (any import or crawl opens it for writing), or restore it from a backup"
        )
    _check_pages_file(path)
    from newsarchive.runner import RunLock

    result = Repair(path)
    temporary = repair_path(path)
    remove_with_sidecars(temporary)  # a killed repair's leftover
    with RunLock(path):
        try:
            _repair(path, temporary, result, force=force, progress=_Progress(progress, result))
        except BaseException as exc:
            fatal = unwritable(exc, temporary)
            if fatal is not None:
                room = path.stat().st_size / 1e6
                scratch = TEMP_BYTES_PER_ARTICLE * result.articles / 1e6
                raise NewsarchiveError(
                    f"{path}: not repaired: {str(fatal).split(': cannot write: ', 1)[-1]}; "
                    f"the new archive needs room beside the old (up to {room:,.0f} MB) and "
                    f"SQLite's temporary directory {sqlite_temp_dir()} about {scratch:,.0f} MB "
                    f"(SQLITE_TMPDIR names another); {temporary.name} removed, the archive is "
                    "as it was"
                ) from None
            raise
        finally:
            remove_with_sidecars(temporary)  # swapped in, or never to be
    # Raw pages damaged or missing beside it are said, not mended: "nothing to repair" with
    # exit 0 sent `repair && verify` on to a verify that failed (fuzz_archive: a pages.db page
    # of garbage or of another table, a garbled body, an older copy of the file, no file).
    result.pages_problems = _raw_page_problems(path, progress)
    result.seconds = time.monotonic() - started
    return result


PAGES_MISSING = "missing"


def _raw_page_problems(path: Path, progress: Callable[[str], None] | None) -> list[str]:
    """What `verify` finds wrong with the raw pages of the archive at `path` (read whole, as
    verify reads them: ~a minute per million pages): its lines about pages damaged, unreadable
    or missing for a record; [PAGES_MISSING] for no pages file beside records; [] when sound."""
    pages = default_pages_path(path)
    if not pages.exists() and not pages.is_symlink():
        return [PAGES_MISSING] if _holds_records(path) else []
    try:
        with Archive(path, readonly=True) as archive:
            found = verify_archive(archive, progress=progress)
    except NewsarchiveError as exc:
        # Not opened with it (an older copy of the file, damage past opening): said as the
        # opening says it, naming the file (archive.db was rebuilt, or found sound).
        return [str(exc).splitlines()[0]]
    except sqlite3.DatabaseError as exc:
        return [f"{pages}: {exc}"]
    # Its lines about the raw pages: each starts with the pages file's path (its structure, a
    # damaged or unreadable page), or names a record's page the file does not hold.
    return [
        line
        for line in found.problems
        if line.startswith(f"{archive.pages_path}: ") or "points at raw page" in line
    ]


def _holds_records(path: Path) -> bool:
    """Whether the archive at `path` holds any article record (True when it cannot tell)."""

    def read(uri: str) -> bool:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            return conn.execute("SELECT EXISTS (SELECT 1 FROM articles)").fetchone()[0] == 1

    try:
        return read_with_fallback(path, read)
    except sqlite3.Error:
        return True


def _check_pages_file(path: Path) -> None:
    """RepairRefused when the raw pages file beside the archive is not its own (another
    archive's, a directory, an empty or foreign file), as every command that reads the archive
    refuses it: repair rebuilds archive.db alone and said "nothing to repair", exit 0, beside
    them. None at all is fine, as for the read commands (a copy of archive.db alone)."""
    pages = default_pages_path(path)
    if not pages.exists() and not pages.is_symlink():
        return
    state = inspect_file(pages, PAGES, len(PAGES_MIGRATIONS), for_writing=False, must_exist=True)
    if state.fresh:
        raise RepairRefused(f"{pages}: an empty SQLite file, not the archive's raw pages")

    def token(file: Path, table: str) -> str | None:
        def read(uri: str) -> str | None:
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
                row = conn.execute(f"SELECT token FROM {table}").fetchone()
            return row[0] if row else None

        try:
            return read_with_fallback(file, read)
        except (sqlite3.DatabaseError, UnicodeDecodeError):
            return None  # unreadable here (what repair is for) or from before the pair tokens

    ours, theirs = token(path, "pages_pair"), token(pages, "archive_pair")
    if ours and theirs and ours != theirs:
        raise RepairRefused(f"{pages}: the raw pages of another archive, not of {path}")


def _repair(
    path: Path, temporary: Path, result: Repair, *, force: bool, progress: _Progress
) -> None:
    create_file(
        temporary,
        ARCHIVE,
        Archive._builder(ARCHIVE_MIGRATIONS, temporary, page_size=ARCHIVE_PAGE_SIZE),
    )
    conn = sqlite3.connect(temporary, isolation_level=None)
    try:
        conn.set_progress_handler(progress.tick, 100_000)
        # The old file in exclusive locking mode: the exclusive lock taken here is held until the
        # connection closes, so no crawl, import or reader has it open (they would go on in the
        # old file once it is renamed away) and none can open it before the swap.
        conn.execute("ATTACH ? AS src", [str(path)])
        conn.execute("PRAGMA src.locking_mode = EXCLUSIVE")
        try:
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            raise RepairRefused(
                f"{path}: in use by another process (a crawl, an import, a `run`, Datasette?); "
                "repair needs it alone: stop it and run repair again"
            ) from None
        conn.text_factory = lenient_text
        progress.phase = "checking the old file"
        result.problems = _damage(conn, "src", path)
        result.damaged_records = _damaged_records(conn, "src", path)
        if not result.problems and not force:
            return
        before = _counts(conn, "src")
        result.articles = before.get("articles") or 0
        conn.execute(f"PRAGMA main.cache_size = -{BUILD_CACHE_KIB}")
        # A crash while building leaves only the new file to throw away: no journal needed.
        conn.execute("PRAGMA main.journal_mode = OFF")
        conn.execute("PRAGMA main.synchronous = OFF")
        conn.execute("BEGIN")
        copied = _copy_records(conn, path, progress)
        progress.phase = "building the full-text index and the search lists of common words"
        build_search(conn)
        conn.execute("COMMIT")
        progress.phase = "checking the new file"
        after = _counts(conn, "main")
        problems = _damage(conn, "main", temporary)
        wrong = [t for t in RECORD_TABLES if after[t] != copied[t]]
        if problems or wrong:
            raise NewsarchiveError(
                f"{path}: not repaired: the new file did not check out "
                f"({'; '.join(problems) or 'records copied: ' + ', '.join(wrong)}); "
                "the archive is as it was"
            )
        result.counts = {
            table: (before.get(table), after[table]) for table in (*RECORD_TABLES, *DERIVED_TABLES)
        }
        conn.execute("PRAGMA main.synchronous = FULL")
        conn.execute("PRAGMA main.journal_mode = DELETE")
        # The old file's -wal written into it (a rename leaves the -wal behind, where it would
        # be read as the new file's): it stays whole under its new name.
        mode = conn.execute("PRAGMA src.journal_mode = DELETE").fetchone()[0]
        if str(mode).lower() != "delete":
            raise NewsarchiveError(f"{path}: not repaired: its -wal could not be written into it")
        sync_path(temporary)
        progress.phase = "swapping"
        result.kept_as = _swap(path, temporary, "damaged" if result.problems else "before-repair")
        progress.phase = "done"
    finally:
        conn.close()


def _damage(conn: sqlite3.Connection, schema: str, path: Path) -> list[str]:
    """What verify's structural checks find in `schema` (integrity_check, the full-text index read
    whole through fts5vocab; see verify.search_index_problems), run through this connection,
    which alone may read the file while it holds it."""
    problems = (
        quick_check(conn, 100, schema, whole=True)
        + schema_problems(conn, schema)
        + search_index_damage(conn, schema)
    )
    return [f"{path}: {problem}" for problem in problems]


def _damaged_records(conn: sqlite3.Connection, schema: str, path: Path) -> list[str]:
    """Articles whose content does not match their content hash (as verify finds them): carried
    over as they are, named for reextract or a backup. A table that cannot be read is left to
    the copy, which refuses it."""
    damaged = []
    cursor = conn.execute(
        f"SELECT id, url, site, content_hash, {', '.join(CONTENT_COLUMNS)} "
        f"FROM {schema}.articles ORDER BY id"
    )
    names = [column[0] for column in cursor.description]
    try:
        for values in cursor:
            row = dict(zip(names, values, strict=True))
            if not content_matches(row):
                damaged.append(f"{path}: article {row['id']} ({row['url']}, site {row['site']})")
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
    return damaged


def _copy_records(conn: sqlite3.Connection, path: Path, progress: _Progress) -> dict[str, int]:
    """Every RECORD_TABLES row into the new file, each table in one statement (its triggers fill
    the derived tables as a store does); the rows copied per table. A table that cannot be read
    whole is RepairRefused."""
    copied = {}
    for table in RECORD_TABLES:
        progress.phase = f"copying {table}"
        columns = ", ".join(
            f'"{name}"' for _, name, *_ in conn.execute(f"PRAGMA main.table_info({table})")
        )
        # Rows the new file's migrations made (pages_pair's new token) give way to the old.
        conn.execute(f"DELETE FROM main.{table}")
        try:
            copied[table] = conn.execute(
                f"INSERT INTO main.{table}({columns}) SELECT {columns} FROM src.{table}"
            ).rowcount
        except sqlite3.IntegrityError as exc:
            # Rows a damaged unique index let in twice (a URL stored again while its index
            # could not find the first): the records need a person, or a backup.
            raise RepairRefused(
                f"{path}: its {table} records break the schema's rules ({exc}): not repaired; "
                "restore the archive from a backup (nothing was changed)"
            ) from None
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            readable = _readable_rows(conn, table)
            raise RepairRefused(
                f"{path}: its {table} records are damaged ({readable:,} rows could be read "
                f"before the damage: {exc}); repair rebuilds only what is derived from the "
                "records: restore the archive from a backup (nothing was changed)"
            ) from None
    return copied


def _readable_rows(conn: sqlite3.Connection, table: str) -> int:
    key = "rowid"
    if conn.execute(
        "SELECT 1 FROM src.sqlite_master WHERE name = ? AND sql LIKE '%WITHOUT ROWID%'", [table]
    ).fetchone():
        key = conn.execute(f"PRAGMA src.table_info({table})").fetchone()[1]
    count = 0
    with contextlib.suppress(sqlite3.DatabaseError):
        # NOT INDEXED: the table's own b-tree, not an index that also holds the key.
        for _ in conn.execute(f"SELECT {key} FROM src.{table} NOT INDEXED"):
            count += 1
    return count


def _counts(conn: sqlite3.Connection, schema: str) -> dict[str, int | None]:
    """Rows per record and derived table; None where the table cannot be counted (damaged)."""
    counts: dict[str, int | None] = {}
    for table in (*RECORD_TABLES, *DERIVED_TABLES):
        try:
            counts[table] = conn.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            counts[table] = None
    return counts


def _swap(path: Path, temporary: Path, label: str) -> Path:
    """The new file into place in one rename, the old one kept as `<name>.<label>-<time>` first
    (a hard link: the archive's name never stops naming a whole file)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = path.with_name(f"{path.name}.{label}-{stamp}")
    n = 1
    while kept.exists():
        n += 1
        kept = path.with_name(f"{path.name}.{label}-{stamp}-{n}")
    try:
        os.link(path, kept)
        os.replace(temporary, path)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        # No hard links here: two renames; between them the archive's name names no file.
        os.rename(path, kept)
        os.rename(temporary, path)
    sync_path(path.parent)
    return kept


class _Progress:
    """A line every PROGRESS_SECONDS while repair works, from SQLite's progress handler (long
    statements included): the phase and the time so far."""

    def __init__(self, report: Callable[[str], None] | None, result: Repair) -> None:
        self.report = report
        self.result = result
        self._phase = "opening"
        self.started = self.last = self.phase_started = time.monotonic()

    @property
    def phase(self) -> str:
        return self._phase

    @phase.setter
    def phase(self, name: str) -> None:
        now = time.monotonic()
        self.result.phases[self._phase] = now - self.phase_started
        self._phase, self.phase_started = name, now

    def tick(self) -> int:
        now = time.monotonic()
        if self.report is not None and now - self.last >= PROGRESS_SECONDS:
            self.last = now
            self.report(f"repair: {self.phase} ({now - self.started:,.0f} s so far)")
        return 0
