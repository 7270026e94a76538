"""Opening archive files safely: nothing is written to a file before it is known to be ours.

A file is looked at in three steps, each cheaper than being wrong: its first 100 bytes (is it an
SQLite file at all, and as long as its header says?), then a read-only SQLite connection that
creates nothing (`user_version`, `application_id`, its tables), and only then, for a write, a
read-write connection that may switch it to WAL and migrate it. A new file is built under a
temporary name and linked into place whole, so another process never sees a half-made archive
(and two crawls starting at once on a new path both end up using the same one).

Every problem is one NewsarchiveError line naming the file and the cause.
"""

from __future__ import annotations

import errno
import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import sqlite_utils

from newsarchive.errors import ArchiveUnwritable, NewsarchiveError

SQLITE_HEADER = b"SQLite format 3\x00"
# Stamped into every file we create (and into older ones on their first write), so a file is
# recognised as ours by its header alone; b"NARC" and b"NAPG".
ARCHIVE_APPLICATION_ID = 0x4E415243
PAGES_APPLICATION_ID = 0x4E415047
# `check_archive` reads every page of files up to this size (PRAGMA quick_check) before every
# crawl, run and import (reextract and compact read them whole at any size: `whole`): ~2 ms a MB
# from the page cache, ~30 ms a MB from this 2-core VM's cold disk (b-tree order is not file
# order). At 2 GiB, as it was, a crawl of a grown archive (a 1.9 GB pages file) waited 4 s warm
# and 62 s cold before fetching a page. Bigger files get the header, size and schema checks
# only: damage there is named where a command reads or writes it, and `verify` reads everything.
QUICK_CHECK_MAX_BYTES = 256 * 1024**2
# The same check on the way out of a command that met damage, to name which of the two files it
# is in (verify.damage_line): paid once, by a command that stops anyway, so larger files too.
DAMAGE_CHECK_MAX_BYTES = 2 * 1024**3
# SQLite waits this long inside one attempt (its own sleep-and-retry busy handler); `retry_busy`
# repeats attempts with back-off up to LOCK_WAIT_SECONDS in all.
BUSY_TIMEOUT_MS = 5_000
LOCK_WAIT_SECONDS = 60.0
# The default archive directory is created when missing; any other missing directory is most
# likely a typo in --db, and is reported instead of silently made.
DEFAULT_DIR = Path("data")

Migration = Callable[[sqlite_utils.Database], None]
T = TypeVar("T")


@dataclass(frozen=True)
class Role:
    """What a file is for: the records archive or its raw pages."""

    name: str
    application_id: int
    table: str  # present in every schema version of this kind of file
    what: str  # for messages: "a newsarchive archive" / "a newsarchive raw pages file"


ARCHIVE = Role("archive", ARCHIVE_APPLICATION_ID, "articles", "a newsarchive archive")
PAGES = Role("pages", PAGES_APPLICATION_ID, "pages", "a newsarchive raw pages file")
_ROLES = {role.application_id: role for role in (ARCHIVE, PAGES)}


@dataclass(frozen=True)
class FileState:
    """What inspection found: `exists` False means a new file may be made at `path`."""

    path: Path
    exists: bool
    version: int = 0
    tables: frozenset[str] = frozenset()

    @property
    def fresh(self) -> bool:
        """An SQLite file with nothing in it yet (ours to initialise on a write)."""
        return self.exists and self.version == 0 and not self.tables


# SQLite's primary result codes that say the file cannot be written at all, with the cause as a
# person reads it. Anything else (a constraint, a bug of ours) fails one item, not the command.
UNWRITABLE_CAUSES = {
    sqlite3.SQLITE_FULL: "the disk is full",
    sqlite3.SQLITE_IOERR: "the file system refused a write (full, over a size limit, or failing)",
    sqlite3.SQLITE_READONLY: "the file is read-only now",
    sqlite3.SQLITE_CANTOPEN: "a file beside it cannot be created (its -wal or a temporary file)",
}


# SQLite's result codes for a file that is not what it should be: SQLITE_CORRUPT (with its
# extended forms: _VTAB for an FTS5 index, _INDEX, _SEQUENCE) and SQLITE_NOTADB.
DAMAGE_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def is_damage(exc: BaseException) -> bool:
    """Whether `exc` is SQLite saying a file is damaged ("database disk image is malformed", "file
    is not a database"), not that it is busy, full or read-only."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in DAMAGE_CODES
    message = str(exc).lower()
    return "malformed" in message or "corrupt" in message


def quick_check(
    db: sqlite3.Connection | sqlite_utils.Database,
    limit: int,
    schema: str = "main",
    *,
    whole: bool = False,
) -> list[str]:
    """PRAGMA quick_check's problems (of the database attached as `schema`), [] for a sound file.
    A page too damaged for the check to read on past is a problem too (SQLite raises instead of
    listing it). `whole`: integrity_check, which also matches every index against its table: an
    index page overwritten by a well-formed page of another table passes quick_check (verify and
    repair; 22.5 s against 20.0 s for a million-article archive.db)."""
    pragma = "integrity_check" if whole else "quick_check"
    try:
        rows = db.execute(f"PRAGMA {schema}.{pragma}({limit})").fetchall()
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        return [f"{exc} (the check could not read past it)"]
    # A row may hold several problems, one a line, after one naming the schema ("*** in
    # database main ***").
    lines = [line for (row,) in rows if row != "ok" for line in row.splitlines()]
    return [line for line in lines if line and not line.startswith("*** ")][:limit]


def schema_problems(
    db: sqlite3.Connection | sqlite_utils.Database, schema: str = "main"
) -> list[str]:
    """The triggers SQLite cannot compile, [] for a sound schema. A trigger's statements are
    compiled only when a write that fires them is: a byte flipped in one (a column's name made
    another) passes quick_check and every read, and every later update failed, with an error
    Python could not even decode. Each table's INSERT, UPDATE of every column and DELETE are
    compiled here (EXPLAIN: nothing runs), about a millisecond."""
    problems = []
    tables = db.execute(
        f"SELECT DISTINCT tbl_name FROM {schema}.sqlite_master WHERE type = 'trigger' ORDER BY 1"
    ).fetchall()
    for (table,) in tables:
        quoted = f"[{table.replace(']', ']]')}]"
        name = f"{schema}.{quoted}"
        columns = [
            f"[{row[1].replace(']', ']]')}]"
            for row in db.execute(f"PRAGMA {schema}.table_info({quoted})")
        ]
        writes = {
            "INSERT": f"INSERT INTO {name} DEFAULT VALUES",
            "UPDATE": f"UPDATE {name} SET "
            + ", ".join(f"{column} = {column}" for column in columns)
            + " WHERE 0",
            "DELETE": f"DELETE FROM {name} WHERE 0",
        }
        for write, statement in writes.items():
            try:
                db.execute(f"EXPLAIN {statement}").fetchall()
            except UnicodeDecodeError as exc:
                # SQLite's message quotes the garbled schema text: shown as far as it reads.
                said = (
                    exc.object.decode("utf-8", "replace") if isinstance(exc.object, bytes) else ""
                )
                problems.append(f"the triggers of {table} on {write} do not compile: {said}")
            except sqlite3.DatabaseError as exc:
                problems.append(f"the triggers of {table} on {write} do not compile: {exc}")
    return problems


def unwritable(exc: BaseException, path: Path) -> ArchiveUnwritable | None:
    """`exc` as an ArchiveUnwritable naming `path`, when it says the file cannot be written."""
    if isinstance(exc, ArchiveUnwritable):
        return exc
    code = getattr(exc, "sqlite_errorcode", None)
    cause = UNWRITABLE_CAUSES.get(code & 0xFF) if isinstance(code, int) else None
    if cause is None:
        return None
    return ArchiveUnwritable(f"{path}: cannot write: {cause} ({exc})")


def is_busy(exc: BaseException) -> bool:
    message = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and (
        "database is locked" in message or "busy" in message
    )


def retry_busy(action: Callable[[], T], path: Path) -> T:
    """Run `action`, retrying with back-off while another process holds the lock.

    Each attempt already waits BUSY_TIMEOUT_MS in SQLite; this loop covers what the busy
    handler cannot (SQLITE_BUSY returned at once, e.g. on a WAL switch) and gives up after
    LOCK_WAIT_SECONDS with one line instead of a traceback.
    """
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    delay = 0.02
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            if time.monotonic() >= deadline:
                raise NewsarchiveError(
                    f"{path}: another process has kept the archive locked for over "
                    f"{LOCK_WAIT_SECONDS:.0f} s ({exc}); try again when it has finished"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def _uri(path: Path, **params: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"file:{quote(str(path.absolute()))}?{query}"


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


# A file just made is linked into place in rollback mode, and the process that made it switches
# it to WAL, which writes a journal for a moment: one there for longer is not ours.
JOURNAL_PATIENCE = 1.0


def _journal_problem(path: Path) -> str | None:
    """A rollback journal beside one of our files, which are in WAL mode and write none except
    the moment a new file turns to WAL (another process starting on it: waited for, up to
    JOURNAL_PATIENCE): SQLite opening the file (a read command too) would roll it back into the
    file, or delete it. One left by a copy or a restore is another file's, and its pages would
    overwrite ours."""
    journal = _sidecar(path, "-journal")
    deadline = time.monotonic() + JOURNAL_PATIENCE
    while True:
        try:
            if journal.stat().st_size == 0:
                return None
        except OSError:
            return None
        if time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    return (
        f"{path}: a rollback journal beside it ({journal.name}) that this archive never writes "
        "(another file's, left by a copy or a restore?): move it away, then run the command again"
    )


def _parent_problem(path: Path, *, for_writing: bool) -> str | None:
    parent = path.parent
    if not parent.exists():
        if for_writing and parent.absolute() == DEFAULT_DIR.absolute():
            return None  # made when the archive is created
        return f"{path}: directory {parent} does not exist"
    if not parent.is_dir():
        return f"{path}: {parent} is not a directory"
    if for_writing and not os.access(parent, os.W_OK | os.X_OK):
        return f"{path}: permission denied (cannot create files in {parent})"
    return None


def _header_problem(path: Path, head: bytes, size: int) -> str | None:
    """What is wrong with the file judging by its first 100 bytes, if anything."""
    if size == 0:
        return (
            f"{path}: an empty file (0 bytes), not an archive; remove it to start a new "
            "archive there"
        )
    if not head.startswith(SQLITE_HEADER[: min(len(head), 16)]) or len(head) < 16:
        return f"{path}: not an SQLite file (so not {ARCHIVE.what})"
    if len(head) < 100:
        return f"{path}: truncated: {size} bytes, shorter than an SQLite header"
    if head[18] not in (1, 2) or head[19] not in (1, 2):
        # The file format's write and read versions: 1 (rollback journal) or 2 (WAL). SQLite
        # takes a file of another write version for read-only and reads it without its -wal:
        # every command then saw an older archive and called it sound.
        return (
            f"{path}: truncated or corrupt (database disk image is malformed): its header's "
            f"file format versions are {head[18]}/{head[19]}, not 1 or 2"
        )
    encoding = int.from_bytes(head[56:60], "big")
    if encoding not in (0, 1):
        # UTF-8 (1; 0 before the first table), as the archive's files are made. Read as UTF-16
        # every text is garbage, and SQLite refuses to attach the pages file to the archive
        # (`compact` failed with a traceback: fuzz_archive seed 3960).
        return (
            f"{path}: truncated or corrupt (database disk image is malformed): its header's "
            f"text encoding is {encoding}, not 1 (UTF-8)"
        )
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    # The header's page count is only valid when written by a SQLite that keeps it (the
    # "version-valid-for" number equals the change counter).
    header_valid = head[24:28] == head[92:96] and pages > 0
    if (
        header_valid
        and size < pages * page_size
        # While a WAL is in use a checkpoint may be growing the file right now.
        and not _sidecar(path, "-wal").exists()
    ):
        return (
            f"{path}: truncated or corrupt (database disk image is malformed): {size} bytes, "
            f"its header says {pages * page_size}"
        )
    return None


def read_only_uri(path: Path) -> str:
    """A URI that reads `path` and creates nothing beside it. Without both a -wal and a -shm,
    nobody has the file open in WAL mode, so it is complete alone and `immutable=1` reads it
    without making either (plain `mode=ro` on a WAL file leaves both behind)."""
    in_use = _sidecar(path, "-wal").exists() and _sidecar(path, "-shm").exists()
    return _uri(path, mode="ro") if in_use else _uri(path, mode="ro", immutable="1")


def read_with_fallback(path: Path, read: Callable[[str], T]) -> T:
    """read(uri) with read_only_uri(path); on a disk with no room for the -shm that reading a
    WAL file writes first, and nothing in the -wal (the main file alone holds everything, see
    connect), read(uri) again with `immutable`, which needs no file beside it."""
    try:
        return read(read_only_uri(path))
    except sqlite3.DatabaseError as exc:
        if unwritable(exc, path) is None or has_wal_content(path):
            raise
        return read(_uri(path, mode="ro", immutable="1"))


def _read_identity(
    path: Path, *, read_up_to: float, compile_triggers: bool
) -> tuple[int, int, frozenset[str]]:
    """(user_version, application_id, table names) through a connection that creates nothing
    (read_only_uri); every page read too (quick_check) when the file is up to `read_up_to`
    bytes; its triggers compiled (schema_problems) with `compile_triggers`."""
    return read_with_fallback(
        path,
        lambda uri: _identity(path, uri, read_up_to=read_up_to, compile_triggers=compile_triggers),
    )


def _identity(
    path: Path, uri: str, *, read_up_to: float, compile_triggers: bool
) -> tuple[int, int, frozenset[str]]:
    connection = sqlite3.connect(uri, uri=True)
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        tables = frozenset(
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        )
        problems = []
        if read_up_to > 0 and path.stat().st_size <= read_up_to:
            problems = quick_check(connection, 3)
        if compile_triggers and not problems:
            problems = schema_problems(connection)
        if problems:
            raise sqlite3.DatabaseError("database disk image is malformed: " + "; ".join(problems))
    finally:
        connection.close()
    return version, application_id, tables


def _classify(
    path: Path, role: Role, known: int, version: int, application_id: int, tables: frozenset[str]
) -> None:
    other = next(r for r in (ARCHIVE, PAGES) if r is not role)
    if application_id == other.application_id or (
        application_id == 0 and other.table in tables and role.table not in tables
    ):
        if role is ARCHIVE:
            raise NewsarchiveError(
                f"{path}: {other.what}, not the archive; pass the archive file next to it "
                "(e.g. data/archive.db)"
            )
        raise NewsarchiveError(f"{path}: {other.what}, not {role.what}")
    listed = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    foreign = f"{path}: an SQLite file that is not {role.what}" + (
        f" (its tables: {listed})" if tables else ""
    )
    if application_id not in (0, role.application_id):
        raise NewsarchiveError(foreign)
    ours = application_id == role.application_id or role.table in tables
    if version > known:
        if ours or not tables:
            raise NewsarchiveError(
                f"{path}: made by a newer newsarchive (schema version {version} > {known}, the "
                "newest this one knows); upgrade newsarchive to use it"
            )
        raise NewsarchiveError(foreign)
    if version == 0 and not tables:
        return
    if not ours or version == 0:
        raise NewsarchiveError(foreign)


def inspect_file(
    path: str | Path,
    role: Role,
    known_version: int,
    *,
    for_writing: bool,
    must_exist: bool,
    read_up_to: float = 0,
) -> FileState:
    """Look at `path` without changing it: ours (and at which version), new, or an error.

    A file of up to `read_up_to` bytes (0: no file, not even an empty one) is also read page by
    page (quick_check), finding damage the schema read misses.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise NewsarchiveError(f"{path}: is a directory, not an archive file")
        exists = path.exists()
        if exists and not path.is_file():
            # Opened to read its header, a FIFO waits for ever for a writer (a plan's `db`
            # naming one hung `run`; --db options are checked before, by usable_path).
            raise NewsarchiveError(
                f"{path}: not a regular file (a FIFO, device or socket), not an archive file"
            )
    except PermissionError:
        raise NewsarchiveError(f"{path}: permission denied") from None
    except OSError as exc:
        # A name too long, a symbolic link loop: a plan's `db` meets these here (--db options
        # are checked before, by usable_path).
        raise NewsarchiveError(f"{path}: {exc.strerror}") from None
    if not exists:
        if must_exist:
            if role is ARCHIVE:
                problem = _parent_problem(path, for_writing=False)
                raise NewsarchiveError(
                    problem
                    or f"{path}: no archive here (import pages or crawl first, or pass --db)"
                )
            raise NewsarchiveError(f"{path}: no raw pages file here")
        problem = _parent_problem(path, for_writing=for_writing)
        if problem:
            raise NewsarchiveError(problem)
        return FileState(path, exists=False)
    try:
        with path.open("rb") as handle:
            head = handle.read(100)
        size = path.stat().st_size
    except PermissionError:
        raise NewsarchiveError(f"{path}: permission denied (cannot read it)") from None
    except OSError as exc:
        raise NewsarchiveError(f"{path}: cannot read: {exc.strerror or exc}") from None
    problem = _header_problem(path, head, size) or _journal_problem(path)
    if problem:
        raise NewsarchiveError(problem)
    try:
        # A writer checks the triggers its writes will fire (one reading does not need them).
        version, application_id, tables = _read_identity(
            path, read_up_to=read_up_to, compile_triggers=for_writing and read_up_to > 0
        )
    except UnicodeDecodeError:
        # SQLite's error quoted a schema statement garbled into bytes that are no UTF-8, which
        # Python cannot decode into the message.
        raise NewsarchiveError(
            f"{path}: truncated or corrupt: database disk image is malformed (its schema is "
            "garbled)"
        ) from None
    except sqlite3.DatabaseError as exc:
        # Reading a file in use writes too (its -shm): a full disk is not a damaged file.
        fatal = unwritable(exc, path)
        if fatal is not None:
            raise fatal from None
        message = str(exc)
        if "malformed" not in message:
            message = f"database disk image is malformed? ({message})"
        raise NewsarchiveError(f"{path}: truncated or corrupt: {message}") from None
    _classify(path, role, known_version, version, application_id, tables)
    if for_writing and not os.access(path, os.W_OK):
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            raise NewsarchiveError(f"{path}: on a read-only file system (cannot write to it)")
        raise NewsarchiveError(f"{path}: permission denied (cannot write to it)")
    if for_writing and not os.access(path.parent, os.W_OK | os.X_OK):
        # SQLite makes its -wal and -shm files beside the archive while writing.
        raise NewsarchiveError(f"{path}: permission denied (cannot create files in {path.parent})")
    return FileState(path, exists=True, version=version, tables=tables)


def connect(path: Path, *, readonly: bool) -> sqlite_utils.Database:
    """A connection to an inspected file of ours; never creates the file.

    Read-only: when nobody else has the file open (no -wal), a read-write connection with
    `query_only` on, because SQLite removes the -wal and -shm it needed when the last connection
    closes, so a read command leaves the directory as it found it; otherwise `mode=ro`, which
    uses the files that are there. Both refuse every write. On a disk with no room for the -shm
    that reading a WAL file makes first, a file whose -wal is absent or empty (everything is in
    the main file) is read as `immutable`, which needs no file beside it: a full disk still lets
    its archive be read.
    """
    if readonly:
        busy = _sidecar(path, "-wal").exists()
        writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)
        mode = "rw" if writable and not busy else "ro"
    else:
        mode = "rw"
    try:
        return _connect(path, readonly=readonly, mode=mode)
    except sqlite3.DatabaseError as exc:
        fatal = unwritable(exc, path)
        if readonly and fatal is not None and not has_wal_content(path):
            try:
                return _connect(path, readonly=True, mode="ro", immutable="1")
            except sqlite3.DatabaseError:
                pass
        if readonly and fatal is not None:
            cause = str(fatal).split(": cannot write: ", 1)[-1]
            raise ArchiveUnwritable(
                f"{path}: cannot read it: SQLite must first write {path.name}-shm beside it "
                f"(its -wal holds commits not yet in the file), and {cause}"
            ) from None
        # Opening for writing writes (the -shm beside a WAL file, the switch to WAL).
        raise fatal or NewsarchiveError(f"{path}: cannot open: {exc}") from None


# SQLite's files beside a database. A -wal names no database: left beside a file put in its
# place, it would be applied to that file at its next opening, garbling it.
SIDECARS = ("-wal", "-shm", "-journal")


def lenient_text(data: bytes) -> str:
    """An SQLite text_factory for text garbled on disk into bytes that are no UTF-8 (SQLite keeps
    no checksum of its own and reads it back without an error): read as it is, its bytes kept
    (surrogateescape), instead of a decoding error ending the read."""
    return data.decode("utf-8", "surrogateescape")


def remove_with_sidecars(path: Path) -> None:
    for file in (path, *(_sidecar(path, suffix) for suffix in SIDECARS)):
        file.unlink(missing_ok=True)


def sync_path(path: Path) -> None:
    """fsync a file, or a directory (its renames made durable: a crash after a command said done
    must not undo them); a file system that cannot sync a directory is let be, and so is a
    directory we may write in but not read (mode 333: the rename is done, only its flush to
    disk is left to the system)."""
    try:
        handle = os.open(path, os.O_RDONLY)
    except PermissionError:
        if path.is_dir():
            return
        raise
    try:
        os.fsync(handle)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
    finally:
        os.close(handle)


def has_wal_content(path: Path) -> bool:
    """Whether `path`'s -wal holds commits not yet in the file (then the file alone is stale)."""
    try:
        return _sidecar(path, "-wal").stat().st_size > 0
    except FileNotFoundError:
        return False


def _connect(path: Path, *, readonly: bool, **params: str) -> sqlite_utils.Database:
    # check_same_thread=False: an Archive's batch commits from a timer thread, under its lock.
    connection = sqlite3.connect(_uri(path, **params), uri=True, check_same_thread=False)
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if readonly:
            connection.execute("PRAGMA query_only = 1")
            # The first read of a WAL file writes its -shm: a full disk shows here, not at
            # the caller's first query.
            connection.execute("PRAGMA schema_version").fetchone()
        db = sqlite_utils.Database(connection)
        if not readonly:
            if db.journal_mode != "wal":
                retry_busy(db.enable_wal, path)
            # In WAL mode NORMAL still never corrupts the file; it only may lose the last
            # commits on power loss, and makes each commit far cheaper.
            db.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        connection.close()
        raise
    return db


def create_file(path: Path, role: Role, build: Callable[[sqlite_utils.Database], None]) -> None:
    """Make a new file of `role` at `path`, complete, or leave one another process just made.

    Built under a temporary name in the same directory and hard-linked into place: the link
    fails if `path` appeared meanwhile, and then the other process's file is used.
    """
    if not path.parent.exists() and path.parent.absolute() == DEFAULT_DIR.absolute():
        path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.new")
    try:
        # Made here first: where SQLite cannot make it, it says only "unable to open database
        # file"; the system says why (permission denied, a read-only file system).
        os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        connection = sqlite3.connect(temporary)
        try:
            db = sqlite_utils.Database(connection)
            # Before any table exists: lets packing (compression.py) hand freed pages back to
            # the file system with `PRAGMA incremental_vacuum` instead of a full VACUUM.
            connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
            db.enable_wal()
            build(db)
            db.execute(f"PRAGMA application_id = {role.application_id}")
            # Only the main file is linked into place: out of WAL mode first, which copies the
            # WAL into it and fails when it cannot (a full disk). Closing would checkpoint too,
            # but a failed checkpoint there is silent, and the WAL holding the rest is deleted
            # below: the linked file was malformed (seen with a disk filling up).
            mode = connection.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
            if str(mode).lower() != "delete":
                raise NewsarchiveError(f"{path}: cannot create: its new file could not be finished")
        except sqlite3.OperationalError as exc:
            fatal = unwritable(exc, path)
            if fatal is None:
                raise
            raise fatal from None
        finally:
            connection.close()
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process created it first: theirs is as good as ours
        except OSError as exc:
            # No hard links on this file system: a rename, checked first (not atomic, but
            # only another newsarchive starting at the same instant could race it).
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            if not path.exists():
                os.replace(temporary, path)
    except PermissionError:
        raise NewsarchiveError(f"{path}: permission denied (cannot create it)") from None
    except OSError as exc:
        raise NewsarchiveError(f"{path}: cannot create: {exc.strerror or exc}") from None
    finally:
        for leftover in (temporary, _sidecar(temporary, "-wal"), _sidecar(temporary, "-shm")):
            leftover.unlink(missing_ok=True)
