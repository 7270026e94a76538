"""`newsarchive compact`: pack raw pages into per-site blocks and give the space back; merge the
search index into one segment."""

from __future__ import annotations

from pathlib import Path

import click

from newsarchive.cli import cli, db_option, friendly_errors


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
    from newsarchive.storage import Archive
    from newsarchive.storage.compression import BLOCK_LEVEL

    with Archive(db, create=False) as archive:
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
