"""`newsarchive extract`: one page to JSON, or the JSON Lines batch protocol of ../shared/bench."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

import click

from newsarchive.cli import cli, friendly_errors
from newsarchive.errors import NewsarchiveError
from newsarchive.extract import extract_article
from newsarchive.importing import read_page
from newsarchive.items import Article


def record(article: Article) -> dict:
    return article.to_dict()


@cli.command()
@click.argument("page", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", help="The page's URL (for relative links, the profile, URL dates).")
@click.option(
    "--batch", is_flag=True, help="Read JSON Lines pages on stdin, write records on stdout."
)
@click.option("--compact", is_flag=True, help="One-line JSON instead of pretty-printed.")
@friendly_errors
def extract(page: Path | None, url: str | None, batch: bool, compact: bool) -> None:
    """Extract the article record from a saved page and print it as JSON.

    \b
    Examples:
        newsarchive extract saved/page.html --url https://news.example.id/2023/07/02/judul
        echo '{"id": "a", "url": null, "path": "/abs/page.html"}' | newsarchive extract --batch

    In --batch mode each input line is {"id", "url", "path"}; each output line is the record with
    "id" echoed, or {"id", "error"} for a page that could not be read. The exit status is 1 when
    any page failed.
    """
    if batch:
        if page is not None:
            raise click.UsageError("--batch reads pages from stdin; do not pass PAGE too")
        sys.exit(0 if run_batch(sys.stdin, sys.stdout) == 0 else 1)
    if page is None:
        raise click.UsageError("give a PAGE file, or --batch")
    article = extract_article(read_page(page), url)
    click.echo(json.dumps(record(article), ensure_ascii=False, indent=None if compact else 2))


def batch_requests(lines: Iterable[str]) -> Iterator[tuple[dict | None, str | None]]:
    """The requests of the batch protocol, one per non-blank line: (request, None), or
    (None, error) for a line that is not a request object."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if not isinstance(req, dict) or "path" not in req:
                raise ValueError("expected an object with 'id', 'url' and 'path'")
        except ValueError as exc:
            yield None, f"stdin line {lineno}: {exc}"
            continue
        yield req, None


def run_batch(lines: Iterable[str], out: TextIO) -> int:
    """The batch protocol. Returns the number of pages that failed."""
    failed = 0
    for req, error in batch_requests(lines):
        if req is None:
            failed += 1
            out.write(json.dumps({"id": None, "error": error}) + "\n")
            continue
        result: dict
        try:
            article = extract_article(read_page(req["path"]), req.get("url"))
            result = {"id": req.get("id"), **record(article)}
        except NewsarchiveError as exc:
            failed += 1
            result = {"id": req.get("id"), "error": str(exc)}
        except Exception as exc:  # one broken page must not end the batch
            failed += 1
            result = {
                "id": req.get("id"),
                "error": f"{req['path']}: extractor error: {type(exc).__name__}: {exc}",
            }
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
    return failed
