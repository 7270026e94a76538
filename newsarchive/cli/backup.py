"""`newsarchive backup`: a consistent copy of the archive, safe while crawls write it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from newsarchive.cli import FilePath, cli, db_option, friendly_errors, usable_directory


@cli.command("backup")
@click.argument("dest", type=FilePath(path_type=Path), callback=usable_directory)
@click.option(
    "--verify",
    "verify",
    is_flag=True,
    help="Read the copy back whole before it replaces anything, as `newsarchive verify` does "
    "(every raw page against its sha256, every record): about a minute per million articles.",
)
@db_option()
@friendly_errors
def backup_command(dest: Path, verify: bool, db: Path) -> None:
    """Copy the archive and its raw pages file to DEST: one consistent snapshot of the pair,
    taken while crawls and imports go on writing it (copying the files with `cp` meanwhile
    gives a torn copy). DEST is a directory (made if missing; the copies keep the archive's
    file names) or an archive file name ending in .db (its pages file beside it:
    backup/arsip.db -> backup/arsip-pages.db).

    \b
    Examples:
        newsarchive backup /mnt/backup/arsip --db data/archive.db
        newsarchive backup /mnt/backup/arsip-$(date +%a) --verify   # a copy per weekday
        30 3 * * *  newsarchive backup /mnt/backup/arsip --db ~/arsip/archive.db > /dev/null

    An older backup of the same archive at DEST is replaced, and only once the new copy is
    whole and checked (PRAGMA quick_check of both files; all of `verify` with --verify):
    DEST is a usable archive at every instant. Anything else at DEST (another archive's
    backup, a file that is not an archive) is never overwritten. Nothing is written to the
    archive itself. A progress line every 10 s on a terminal.

    A backup is an archive: read it with `--db DEST/archive.db`. To restore, with nothing
    running on the archive, move its files aside (with any -wal and -shm beside them, which
    would garble a file copied in their place), then copy the backup's two files back, or
    back the backup up into the archive's directory.
    """
    from newsarchive.storage.backup import backup_archive

    def progress(line: str) -> None:
        if sys.stderr.isatty():
            click.echo(line, err=True)

    done = backup_archive(db, dest, verify=verify, progress=progress)
    checked = "verified whole" if done.verified else "quick_check passed"
    click.echo(
        f"{done.archive_path} ({done.archive_bytes / 1e6:,.1f} MB), {done.pages_path} "
        f"({done.pages_bytes / 1e6:,.1f} MB): {done.articles:,} records and {done.pages:,} raw "
        f"pages backed up in {done.seconds:.1f} s ({checked}"
        f"{'; replaced the older backup' if done.replaced else ''})"
    )
