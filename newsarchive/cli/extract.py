"""`newsarchive extract`: one page to JSON, or the JSON Lines batch protocol of ../shared/bench."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

import click

from newsarchive.cli import FilePath, cli, friendly_errors, standard_input
from newsarchive.errors import NewsarchiveError
from newsarchive.extract import extract_article
from newsarchive.importing import DEFAULT_MAX_SIZE, format_size, read_page
from newsarchive.items import Article
from newsarchive.process_memory import tuned_gc
from newsarchive.urls import page_address


def record(article: Article) -> dict:
    return article.to_dict()


@cli.command()
@click.argument(
    "page", required=False, type=FilePath(dir_okay=False, allow_dash=True, path_type=Path)
)
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
        curl -s https://news.example.id/2023/07/02/judul | newsarchive extract - --url ...
        echo '{"id": "a", "url": null, "path": "/abs/page.html"}' | newsarchive extract --batch

    PAGE `-` reads the page from stdin (gzip, zstd, xz or bzip2 inflated, as for files).
    In --batch mode each input line is {"id", "url", "path"}; each output line is the record with
    "id" echoed, or {"id", "error"} for a page that could not be read. The exit status is 1 when
    any page failed.
    """
    if batch:
        if page is not None:
            raise click.UsageError("--batch reads pages from stdin; do not pass PAGE too")
        sys.exit(0 if run_batch(standard_input(), sys.stdout) == 0 else 1)
    if page is None:
        raise click.UsageError("give a PAGE file, or --batch")
    if url is not None:
        url = page_address(url)
    html = read_stdin_page() if str(page) == "-" else read_page(page)
    article = extract_article(html, url)
    click.echo(json.dumps(record(article), ensure_ascii=False, indent=None if compact else 2))


def read_stdin_page() -> bytes:
    """The page piped to stdin, checked and inflated exactly as a saved file is: read_page wants
    a seekable file (it sniffs the compression from the first bytes), so stdin is spooled to a
    temporary one first."""
    import tempfile  # here: only this path needs it, and it costs ~5 ms of every start-up

    limit = DEFAULT_MAX_SIZE
    with tempfile.TemporaryDirectory(prefix="newsarchive-extract-") as tmp:
        spool = Path(tmp) / "stdin"
        with spool.open("wb") as out:
            stream = standard_input().buffer
            copied = 0
            while chunk := stream.read(1 << 16):
                copied += len(chunk)
                if copied > limit:  # a compressed page this big inflates past the limit too
                    raise NewsarchiveError(f"stdin: more than {format_size(limit)}; not a page")
                out.write(chunk)
        try:
            return read_page(spool, max_size=limit)
        except NewsarchiveError as exc:
            raise NewsarchiveError(str(exc).replace(str(spool), "stdin")) from None


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


# Characters str.splitlines() (and so many JSON Lines readers) take for line breaks although
# JSON allows them raw inside strings: escaped, one record stays one line for every reader.
_LINE_BREAKING = str.maketrans({"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_line(value: object) -> str:
    """`value` as one line of JSON Lines (UTF-8 text kept, line-breaking characters escaped)."""
    text = json.dumps(value, ensure_ascii=False)
    if "\u0085" in text or "\u2028" in text or "\u2029" in text:
        text = text.translate(_LINE_BREAKING)
    return text + "\n"


def run_batch(lines: Iterable[str], out: TextIO) -> int:
    """The batch protocol. Returns the number of pages that failed."""
    with tuned_gc():
        return _run_batch(lines, out)


def _run_batch(lines: Iterable[str], out: TextIO) -> int:
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
        out.write(json_line(result))
        out.flush()
    return failed
