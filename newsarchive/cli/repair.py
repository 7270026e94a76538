"""`newsarchive repair`: build archive.db again from its records when what it derives from them
(the search index, authors, tags, site counts, indexes) is damaged."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from newsarchive.cli import cli, db_option, friendly_errors


@cli.command("repair")
@click.option(
    "--force",
    is_flag=True,
    help="Rebuild even when the checks find nothing damaged.",
)
@db_option()
@friendly_errors
def repair_command(force: bool, db: Path) -> None:
    """Rebuild archive.db from its records: the full-text index, the search lists, authors,
    tags, per-site counts and every index are made again, in a new file checked before it
    replaces the old one. The old file is kept beside it (X.db.damaged-<time>, or
    X.db.before-repair-<time> when --force rebuilt a sound one); nothing is deleted.

    \b
    Examples:
        newsarchive verify --db data/archive.db     # says what is damaged
        newsarchive repair --db data/archive.db
        newsarchive verify --db data/archive.db     # sound again

    What it cannot rebuild it refuses, changing nothing: records that cannot be read (restore
    from a backup). A record whose text no longer matches its content hash is carried over as it
    is and named (`newsarchive reextract --site SITE` rebuilds it from its raw page). pages.db is
    not touched: a raw page is the evidence itself. It is read whole as `verify` reads it
    (about a minute per million pages), and raw pages damaged, missing for a record, or no
    pages file beside the records are listed and said in one line, exit 1 (a backup restores
    them): `repair && verify` goes on only when verify will find the archive sound.
    Needs the archive alone (no crawl, import, `run` or Datasette on it), room for a second
    archive.db beside the first, and about 130 MB per 100,000 articles in SQLite's temporary
    directory (/var/tmp unless SQLITE_TMPDIR names another); about a minute per 100,000
    articles; a progress line every 10 s on a terminal.
    """
    from newsarchive.errors import NewsarchiveError
    from newsarchive.storage.repair import RECORD_TABLES, repair_archive

    def progress(line: str) -> None:
        if sys.stderr.isatty():
            click.echo(line, err=True)

    result = repair_archive(db, force=force, progress=progress)
    _echo_first(result.problems, prefix="found: ")
    if result.rebuilt:
        click.echo(
            f"{db}: rebuilt from its records in {result.seconds:,.0f} s: full-text index, "
            "search lists, authors, tags, site counts, indexes"
        )
        for table, (before, after) in result.counts.items():
            kind = "records" if table in RECORD_TABLES else "derived"
            was = "unreadable" if before is None else f"{before:,}"
            click.echo(f"  {table:<16} {was:>12} -> {after:>12,}  ({kind})")
        click.echo(
            f"the old file is kept as {result.kept_as}: delete it once `newsarchive verify` "
            "says the archive is sound"
        )
    else:
        click.echo(
            f"{db}: nothing to repair: quick_check and the full-text index are sound "
            "(--force rebuilds anyway)"
        )
    if result.damaged_records:
        _echo_first(result.damaged_records, suffix=": content does not match its content hash")
        raise NewsarchiveError(
            f"{db}: {len(result.damaged_records)} record(s) damaged (listed above), carried "
            "over as they were: repair cannot rebuild records; `newsarchive reextract --site "
            "SITE` rebuilds them from their raw pages, or restore the archive from a backup"
        )
    if result.pages_problems:
        from newsarchive.storage import default_pages_path
        from newsarchive.storage.repair import PAGES_MISSING

        if result.pages_problems == [PAGES_MISSING]:
            raise NewsarchiveError(
                f"{default_pages_path(db)}: missing: the raw pages of the records in {db} are "
                "not beside it: repair rebuilds archive.db alone, never the raw pages (the "
                "evidence); a backup restores them"
            )
        _echo_first(result.pages_problems, prefix="found: ")
        raise NewsarchiveError(
            f"{default_pages_path(db)}: the raw pages file is damaged "
            f"({len(result.pages_problems)} problem(s), listed above): repair rebuilds "
            f"archive.db alone, never the raw pages (the evidence); `newsarchive verify --db "
            f"{db}` lists them again, a backup restores them"
        )


def _echo_first(lines: list[str], *, prefix: str = "", suffix: str = "") -> None:
    """The first LISTED_RECORDS of `lines`, each as prefix + line + suffix, then how many more."""
    from newsarchive.storage.repair import LISTED_RECORDS

    for line in lines[:LISTED_RECORDS]:
        click.echo(f"{prefix}{line}{suffix}")
    if len(lines) > LISTED_RECORDS:
        click.echo(f"{prefix}... and {len(lines) - LISTED_RECORDS} more")
