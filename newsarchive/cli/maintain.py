"""`newsarchive compact`: pack raw pages into per-site blocks and give the space back; merge the
search index into one segment."""

from __future__ import annotations

from pathlib import Path

import click

from newsarchive.cli import cli, db_option, friendly_errors
from newsarchive.errors import NewsarchiveError


@cli.command("compact")
@click.option("--site", help="Only this site's pages.")
@click.option(
    "--level",
    type=click.IntRange(1, 22),
    help="zstd level: pack every block made at another level again at this one (19: ~1.5 "
    "points smaller than a crawl's 9, ~3 MB of HTML a second).",
)
@db_option()
@friendly_errors
def compact_command(site: str | None, level: int | None, db: Path) -> None:
    """Pack the raw pages stored alone into per-site blocks, then shrink the pages file; merge
    the full-text index into one segment (searches look each word up once instead of once a
    segment); count again the per-site first/last seen that deletes left unknown (`stats`).

    \b
    Examples:
        newsarchive compact --db data/archive.db
        newsarchive compact --level 19 --db data/archive.db   # an offline repack, smaller

    A crawl and an import pack their new pages when they end; this packs what a stopped one
    left and what older archives hold. Every page stays readable on its own (`show --raw`,
    `reextract`); a stopped compact loses nothing.
    """
    from newsarchive.storage import Archive, check_archive
    from newsarchive.storage.archive import damage_lines
    from newsarchive.storage.compression import BLOCK_LEVEL
    from newsarchive.storage.queries import check_site

    # A damaged file is named first, whatever its size (`whole`), not packed and vacuumed around:
    # compact only reads what it packs and merges, and over a garbled page of the records it
    # exited 0. Reading both files costs it less than the VACUUM that rewrites one of them.
    check_archive(db, for_writing=True, whole=True)
    with Archive(db, create=False) as archive:
        check_site(archive, site)
        before = archive.pages_path.stat().st_size
        result = archive.pack_pages(
            site, level=level or BLOCK_LEVEL, relevel=level is not None, shrink=False
        )
        # Shrinks the file (not packing's incremental vacuum: far slower for this much), and
        # converts an older file to incremental auto-vacuum, so later packs shrink it.
        archive.pages.execute("PRAGMA auto_vacuum = INCREMENTAL")
        archive.pages.execute("VACUUM")
        after = archive.pages_path.stat().st_size
        segments = archive.merge_search_index(always=True)
        archive.recount_site_extremes()
    share = result.stored_after / result.raw_bytes if result.raw_bytes else 0.0
    click.echo(
        f"{archive.pages_path}: {result.pages} pages packed into {result.blocks} blocks "
        f"({result.raw_bytes / 1e6:.1f} MB of HTML in {result.stored_after / 1e6:.1f} MB, "
        f"{share:.1%}); file {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB"
    )
    click.echo(f"{archive.path}: search index in {segments[1]} segment(s), was {segments[0]}")
    damage = damage_lines(result.damaged, db)
    if damage:
        raise NewsarchiveError(damage[0])


@cli.command("verify")
@db_option()
@friendly_errors
def verify_command(db: Path) -> None:
    """Read the whole archive back: SQLite's structure of both files, every raw page against
    the sha256 kept since it was fetched, every record's content against its hash and its other
    fields as JSON, every record's page present. Exit 1 when anything is wrong, with the
    problems listed on stdout and one `Error:` line.

    \b
    Examples:
        newsarchive verify --db data/archive.db
        0 4 * * 0  newsarchive verify --db ~/arsip/archive.db > /dev/null   # weekly, cron

    Nothing is written. About a minute per million articles (the files in the page cache); a
    progress line every 10 s on a terminal. A damaged page is named with its id (`newsarchive show URL --raw` reads one);
    `reextract` leaves the record of a damaged page as it was, and says so.
    """
    import sys

    from newsarchive.storage import Archive
    from newsarchive.storage.verify import LISTED_PROBLEMS, verify_archive

    def progress(line: str) -> None:
        if sys.stderr.isatty():
            click.echo(line, err=True)

    with Archive(db, readonly=True) as archive:
        found = verify_archive(archive, progress=progress)
    for problem in found.problems[:LISTED_PROBLEMS]:
        click.echo(problem)
    if len(found.problems) > LISTED_PROBLEMS:
        click.echo(f"... and {len(found.problems) - LISTED_PROBLEMS} more")
    checked = (
        f"{found.pages:,} raw pages ({found.page_bytes / 1e6:,.1f} MB of HTML) and "
        f"{found.articles:,} records"
    )
    if found.sound:
        click.echo(f"{archive.path}, {archive.pages_path}: sound: {checked} read back")
        return
    raise NewsarchiveError(
        f"{archive.path}, {archive.pages_path}: {len(found.problems)} problem(s) in {checked}: "
        f"{found.damaged_pages} damaged raw page(s), {found.records_without_page} record(s) "
        "without their page (listed above); nothing was changed. `newsarchive repair` rebuilds "
        "what archive.db derives from its records (the index, the lists), a backup the rest"
    )
