"""`newsarchive backup`: a consistent copy of an archive, taken while crawls write it.

Copying the two files (`cp`) while a crawl writes gives a torn copy: the -wal holds commits the
main file does not, and the two files are copied at different moments. SQLite's online backup
API reads one snapshot of a file (the read transaction held open on the source connection) in
steps, while other connections go on writing (WAL: the writer is not blocked; only checkpoints
wait behind the snapshot, so the source's -wal grows for the length of the backup).

The pair stays valid (Archive._check_pages_pair) because archive.db is snapshotted first and
pages.db after: a page is committed before the records that point at it (and before the mark
archive.db keeps of the highest page id it stored), and page ids are never reused or renumbered
(packing rewrites bodies into blocks in place, `id` is the rowid, which VACUUM keeps), so the
later pages snapshot holds every page the earlier records snapshot knows of, and perhaps more,
which opening accepts.

At the destination nothing is replaced before the new pair is whole and checked: both copies are
written under temporary names beside their final ones, synced, read back (PRAGMA quick_check, and
the pair check of opening; `verify` optionally), then renamed into place pages file first, so at
every instant the destination is a valid pair, also when it replaces an older backup.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from newsarchive.errors import NewsarchiveError
from newsarchive.storage.archive import Archive, default_pages_path
from newsarchive.storage.opening import (
    ARCHIVE,
    PAGES,
    SIDECARS,
    Role,
    inspect_file,
    is_damage,
    quick_check,
    read_only_uri,
    remove_with_sidecars,
    sync_path,
    unwritable,
)
from newsarchive.storage.schema import ARCHIVE_MIGRATIONS, PAGES_MIGRATIONS

PROGRESS_SECONDS = 10.0
# Bytes copied per step of the backup API: steps are where progress is reported, and between
# them nothing is held that another connection waits for (the source snapshot is a WAL read).
STEP_BYTES = 64 * 1024**2
TEMPORARY_SUFFIX = ".backup"
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


@dataclass
class BackupResult:
    """What a backup wrote: the two files at their final paths, their sizes, and what the
    snapshot held."""

    archive_path: Path
    pages_path: Path
    archive_bytes: int = 0
    pages_bytes: int = 0
    articles: int = 0
    pages: int = 0
    seconds: float = 0.0
    replaced: bool = False  # an older backup of the same archive was there
    verified: bool = False  # the copy passed verify_archive, not only quick_check
    problems: list[str] = field(default_factory=list)


def backup_targets(dest: Path, source: Path) -> tuple[Path, Path]:
    """The archive and pages paths a backup of `source` to `dest` writes: `dest` a directory
    (made when missing, if its parent exists) holds files named like the source's; a `.db` path
    is the archive file, its pages file beside it by default_pages_path's rule."""
    if dest.is_dir():
        archive_path = dest / source.name
    elif dest.suffix == ".db":
        archive_path = dest
    elif dest.exists():
        raise NewsarchiveError(
            f"{dest}: neither a directory nor a .db file name; pass a directory to back up into "
            "or the archive file to write (e.g. backup/archive.db)"
        )
    else:
        archive_path = dest / source.name
    return archive_path, default_pages_path(archive_path)


def backup_archive(
    source: Path,
    dest: Path,
    *,
    verify: bool = False,
    progress: Callable[[str], None] | None = None,
) -> BackupResult:
    """Copy the archive at `source` and its raw pages file to `dest` (see backup_targets), one
    consistent snapshot of each, checked before it replaces anything. Raises NewsarchiveError
    (one line) when the source is not a sound archive, `dest` holds something other than an
    older backup of it, or the copy cannot be written; then nothing at `dest` has changed and
    no temporary file is left. `progress` gets a line every PROGRESS_SECONDS."""
    started = time.monotonic()
    source = Path(source)
    archive_path, pages_path = backup_targets(Path(dest), source)
    result = BackupResult(archive_path, pages_path)
    with Archive(source, readonly=True) as archive:
        if not archive.pages_path.exists():
            raise NewsarchiveError(
                f"{archive.pages_path}: missing: the raw pages file of {source}; a backup "
                "without it could rebuild no record (put it back beside the archive first)"
            )
        _refuse_same_files((archive_path, pages_path), (archive.path, archive.pages_path))
        directory, made = _destination_directory(archive_path)
        with _locked(directory), _removed_on_failure(directory, made):
            token, mark = _pair_of(archive)
            result.replaced = _check_replaceable(archive_path, pages_path, source, token, mark)
            _remove_leftovers(directory, (archive_path, pages_path))
            _check_free_space(directory, archive)
            temporaries = [_temporary(archive_path), _temporary(pages_path)]
            try:
                _copy_pair(archive, temporaries, result, progress)
                _check_copy(source, archive, temporaries, result, verify, progress)
                # Pages first: a newer pages file beside the older records is a valid pair, the
                # newer records beside the older pages file is not.
                _rename_into_place(temporaries[1], pages_path)
                _rename_into_place(temporaries[0], archive_path)
                sync_path(directory)
            except sqlite3.DatabaseError as exc:
                raise _backup_error(exc, source, archive_path) from None
            except OSError as exc:
                raise _os_error(exc, archive_path) from None
            finally:
                for temporary in temporaries:
                    remove_with_sidecars(temporary)
    result.archive_bytes = archive_path.stat().st_size
    result.pages_bytes = pages_path.stat().st_size
    result.seconds = time.monotonic() - started
    return result


def _refuse_same_files(targets: tuple[Path, Path], sources: tuple[Path, Path]) -> None:
    for target in targets:
        for file in sources:
            if _same_file(target, file):
                raise NewsarchiveError(
                    f"{target}: a file of the archive being backed up ({file}), which a backup "
                    "must not replace; pass another directory or .db path to back up into"
                )


def _same_file(first: Path, second: Path) -> bool:
    try:
        return first.absolute().resolve() == second.absolute().resolve() or (
            first.exists() and second.exists() and first.samefile(second)
        )
    except OSError:
        return False


def _destination_directory(archive_path: Path) -> tuple[Path, bool]:
    """The directory the backup files go in, and whether it was made here: made when it is
    missing and its parent exists (a dated directory of a cron line); a missing parent is more
    likely a typo, and is named."""
    directory = archive_path.parent
    if directory.is_dir():
        return directory, False
    if directory.exists():
        raise NewsarchiveError(f"{archive_path}: {directory} is not a directory")
    if not directory.parent.is_dir():
        raise NewsarchiveError(f"{archive_path}: directory {directory.parent} does not exist")
    try:
        directory.mkdir()
    except FileExistsError:
        return directory, False
    except OSError as exc:
        raise NewsarchiveError(
            f"{directory}: cannot create the backup directory: {exc.strerror or exc}"
        ) from None
    return directory, True


@contextlib.contextmanager
def _removed_on_failure(directory: Path, made: bool) -> Iterator[None]:
    """A directory made for a backup that failed goes again: a failed backup leaves nothing."""
    try:
        yield
    except BaseException:
        if made:
            with contextlib.suppress(OSError):
                directory.rmdir()  # only when empty: never what another process put there
        raise


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One backup at a time into `directory`: two renaming their pairs into place at once could
    leave one's archive beside the other's older pages file. The lock is on the directory itself
    (flock), so it leaves no file behind and ends with the process."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError as exc:
        raise NewsarchiveError(f"{directory}: cannot open: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NewsarchiveError(
                f"{directory}: another `newsarchive backup` into it is running; try again when "
                "it has finished"
            ) from None
        except OSError:
            pass  # a file system without flock (some network ones): one backup at a time is up to cron
        yield
    finally:
        os.close(handle)


def _pair_of(archive: Archive) -> tuple[str | None, int]:
    """The archive's pair token (None before schema v10) and the highest page id it stored."""
    try:
        row = archive.db.execute("SELECT token, page_id_max FROM pages_pair").fetchone()
    except sqlite3.OperationalError:
        return None, 0
    return (row[0], row[1]) if row else (None, 0)


def _check_replaceable(
    archive_path: Path, pages_path: Path, source: Path, token: str | None, mark: int
) -> bool:
    """Whether an older backup of this archive is at the targets (True), nothing is (False), or
    raise: something else is there (another archive's backup, a file that is not an archive,
    one that cannot be read), which is never overwritten."""
    found = False
    for path, role, known, table, mark_column in (
        (archive_path, ARCHIVE, len(ARCHIVE_MIGRATIONS), "pages_pair", "page_id_max"),
        (pages_path, PAGES, len(PAGES_MIGRATIONS), "archive_pair", None),
    ):
        if not path.exists() and not path.is_symlink():
            continue
        found = True
        theirs, their_mark = _identity_of(path, role, known, table, mark_column)
        if token is None or theirs is None:
            raise NewsarchiveError(
                f"{path}: {role.what} whose pair token cannot be compared with {source}'s (made "
                "before newsarchive kept one), so not known to be a backup of it; not replaced: "
                "remove it or back up elsewhere"
            )
        if theirs != token:
            raise NewsarchiveError(
                f"{path}: a backup of another archive, not of {source}; not replaced: remove it "
                "or back up elsewhere"
            )
        if their_mark is not None and their_mark > mark:
            raise NewsarchiveError(
                f"{path}: holds raw pages up to id {their_mark}, {source} only up to id {mark}: "
                "written to after it was backed up (used as an archive?), or the archive is an "
                "older copy; not replaced: remove it or back up elsewhere"
            )
    return found


def _identity_of(
    path: Path, role: Role, known: int, table: str, mark_column: str | None
) -> tuple[str | None, int | None]:
    """(pair token, page id mark) of a file of ours at the destination; raises when it is not
    one, or cannot be read."""
    what = f"{role.what} (not replaced: remove it or back up elsewhere)"
    try:
        inspect_file(path, role, known, for_writing=False, must_exist=True)
    except NewsarchiveError as exc:
        raise NewsarchiveError(f"{exc}; not replaced: remove it or back up elsewhere") from None
    columns = f"token, {mark_column}" if mark_column else "token, NULL"
    try:
        with contextlib.closing(sqlite3.connect(read_only_uri(path), uri=True)) as conn:
            row = conn.execute(f"SELECT {columns} FROM {table}").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None, None
        raise NewsarchiveError(f"{path}: cannot be read ({exc}), {what}") from None
    except sqlite3.DatabaseError as exc:
        raise NewsarchiveError(f"{path}: cannot be read ({exc}), {what}") from None
    return (row[0], row[1]) if row else (None, None)


def _temporary(final: Path) -> Path:
    return final.with_name(f".{final.name}.{os.getpid()}-{secrets.token_hex(4)}{TEMPORARY_SUFFIX}")


def _remove_leftovers(directory: Path, finals: tuple[Path, Path]) -> None:
    """Temporary files of an earlier backup into `directory` that was killed (the lock says no
    other one is running)."""
    for final in finals:
        for leftover in directory.glob(f".{final.name}.*{TEMPORARY_SUFFIX}*"):
            leftover.unlink(missing_ok=True)


def _check_free_space(directory: Path, archive: Archive) -> None:
    """Refuse before copying when the two copies cannot fit (their size is the files' page
    counts now; an older backup's space comes back only once the new one has replaced it)."""
    needed = sum(
        db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
        for db in (archive.db, archive.pages)
    )
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise NewsarchiveError(
            f"{directory}: not enough free space for the backup: it needs {needed / 1e6:,.1f} MB, "
            f"{free / 1e6:,.1f} MB are free; nothing was written"
        )


def _copy_pair(
    archive: Archive,
    temporaries: list[Path],
    result: BackupResult,
    progress: Callable[[str], None] | None,
) -> None:
    """Each file's snapshot into its temporary, archive.db first (see the module's note)."""
    for db, path, temporary in (
        (archive.db, archive.path, temporaries[0]),
        (archive.pages, archive.pages_path, temporaries[1]),
    ):
        source = db.conn
        # Held for the whole copy: every step reads this one snapshot, whatever is committed
        # meanwhile (a step without a transaction of its own would see the new commits and the
        # backup start over).
        source.execute("BEGIN")
        try:
            if path == archive.path:
                result.articles = source.execute("SELECT count(*) FROM articles").fetchone()[0]
            else:
                result.pages = source.execute("SELECT count(*) FROM pages").fetchone()[0]
            _copy_file(source, path, temporary, progress)
        finally:
            source.execute("COMMIT")


def _copy_file(
    source: sqlite3.Connection,
    path: Path,
    temporary: Path,
    progress: Callable[[str], None] | None,
) -> None:
    target = sqlite3.connect(temporary)
    try:
        # The temporary is new and removed on any failure: no rollback journal is needed, and
        # it is synced once, whole, below (not at every step).
        target.execute("PRAGMA journal_mode = OFF")
        target.execute("PRAGMA synchronous = OFF")
        page_size = source.execute("PRAGMA page_size").fetchone()[0]
        last = time.monotonic()

        def report(_status: int, remaining: int, total: int) -> None:
            nonlocal last
            if progress and time.monotonic() - last >= PROGRESS_SECONDS:
                last = time.monotonic()
                done = (total - remaining) * page_size / 1e6
                progress(f"backup: {path.name}: {done:,.0f} of {total * page_size / 1e6:,.0f} MB")

        source.backup(target, pages=max(1, STEP_BYTES // page_size), progress=report)
    finally:
        target.close()
    sync_path(temporary)


def _check_copy(
    source: Path,
    archive: Archive,
    temporaries: list[Path],
    result: BackupResult,
    verify: bool,
    progress: Callable[[str], None] | None,
) -> None:
    """Read the copies back before they replace anything: the backup API copies pages as they
    are, a damaged one too. quick_check finds damage in SQLite's structure of each; opening
    them as a pair runs the pair check; `verify` reads every raw page and record too."""
    from newsarchive.storage.verify import WHAT_TO_DO, verify_archive

    copies = dict(zip((archive.path, archive.pages_path), temporaries, strict=True))
    kept = f"nothing was replaced at {result.archive_path.parent}"
    if not verify:
        for original, copy in copies.items():
            with contextlib.closing(sqlite3.connect(read_only_uri(copy), uri=True)) as conn:
                problems = quick_check(conn, 3)
            if problems:
                said = problems[0]
                if "malformed" not in said:
                    said = f"database disk image is malformed: {said}"
                raise NewsarchiveError(
                    f"{original}: damaged ({said}; found in its copy): not backed up, {kept}. "
                    f"{WHAT_TO_DO.format(db=source)}"
                )
    try:
        with Archive(temporaries[0], temporaries[1], readonly=True) as copy:
            if verify:
                found = verify_archive(copy, progress=progress)
                result.verified = found.sound
                # The problems are the source's (its copy is what was read).
                result.problems = [_as_source(line, copies) for line in found.problems]
    except NewsarchiveError as exc:
        message = _as_source(str(exc), copies, prefix="the copy of ")
        raise NewsarchiveError(f"{source}: its copy does not open: {message}; {kept}") from None
    if result.problems:
        raise NewsarchiveError(
            f"{source}: {len(result.problems)} problem(s) found in its copy (first: "
            f"{result.problems[0]}); not backed up, {kept}. {WHAT_TO_DO.format(db=source)}"
        )


def _as_source(text: str, copies: dict[Path, Path], prefix: str = "") -> str:
    """`text` naming each source file where it named that file's temporary copy."""
    for original, copy in copies.items():
        text = text.replace(str(copy), f"{prefix}{original}")
    return text


def _rename_into_place(temporary: Path, final: Path) -> None:
    # The sidecars of the file being replaced go first: a -wal left there would be applied to
    # the new file at its next opening. A process still reading the old file keeps its own
    # open files (renamed over, not changed) until it opens the path again.
    for suffix in SIDECARS:
        final.with_name(final.name + suffix).unlink(missing_ok=True)
    os.replace(temporary, final)


def _backup_error(exc: sqlite3.DatabaseError, source: Path, target: Path) -> NewsarchiveError:
    """One line for an SQLite error during the copy: the destination could not be written (the
    source is only read), or the source is damaged past what the copy can read."""
    failed = unwritable(exc, target)
    if failed is not None:
        cause = str(failed).split(": cannot write: ", 1)[-1]
        return NewsarchiveError(
            f"{target}: cannot write the backup: {cause}; nothing was replaced and no partial "
            "copy was left"
        )
    if is_damage(exc):
        from newsarchive.storage.verify import damage_line

        return NewsarchiveError(damage_line(exc, source) or f"{source}: damaged ({exc})")
    return NewsarchiveError(f"{source}: backup failed: {exc}; nothing was replaced")


def _os_error(exc: OSError, target: Path) -> NewsarchiveError:
    if exc.errno in DISK_FULL_ERRNOS:
        cause = "the disk is full (or the file is over a size limit)"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        cause = "permission denied"
    else:
        cause = exc.strerror or str(exc)
    where = exc.filename or target
    return NewsarchiveError(
        f"{target}: cannot write the backup: {cause} ({where}); nothing was replaced and no "
        "partial copy was left"
    )
