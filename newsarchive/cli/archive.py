"""Archive commands: import, search, reextract, export, browse, stats (over newsarchive.storage)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import click

from newsarchive.cli import (
    PROCESSES_MAX,
    FilePath,
    Seconds,
    cli,
    friendly_errors,
    plan_option,
    standard_input,
    usable_path,
)
from newsarchive.cli import db_option as shared_db_option
from newsarchive.errors import ArchiveUnwritable, NewsarchiveError, NotHtmlError, PageDamaged
from newsarchive.importing import (
    DEFAULT_MAX_SIZE,
    EXTRACTION_CHUNK,
    ImportSink,
    check_html,
    files_in,
    format_size,
    import_page,
    parse_size,
    read_page,
    read_saved,
    reextract,
    saved_page_item,
)
from newsarchive.plan import plan_periods, site_name_option
from newsarchive.storage import Archive, check_archive
from newsarchive.storage.archive import UNEXTRACTED
from newsarchive.storage.export import (
    FORMATS,
    whole_file,
    write_csv,
    write_jsonl,
    write_parquet,
)
from newsarchive.storage.queries import (
    FILL_RATE_FIELDS,
    article_columns,
    article_rows,
    check_site,
    search_results,
    stats,
)
from newsarchive.storage.records import decode_row, parse_since
from newsarchive.urls import page_address
from newsarchive.warc import export_warc, import_warc, is_warc

db_option = shared_db_option()
site_option = click.option("--site", help="Only this site (profile name, or host for imports).")


def jobs_option(also: str = "") -> Callable[[Callable], Callable]:
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=1, max=PROCESSES_MAX),
        default=os.cpu_count() or 1,
        show_default="CPU count",
        help=f"Extract in this many worker processes (1: all in this process{also}; at most "
        "4 times the CPU count).",
    )


progress_option = click.option(
    "--progress-seconds",
    type=Seconds(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="A progress line on stderr this often (on a terminal a bar, when the count is known).",
)

since_option = click.option(
    "--since",
    metavar="DATE",
    help="Only articles published on/after DATE (YYYY-MM-DD or ISO time); first-seen date "
    "when the publication date is unknown.",
)


def _since(value: str | None) -> str | None:
    return parse_since(value) if value else None


# Control characters as Python writes them in a string: a file name holding a line break split
# its Error line in two (a reader of the log, or a script, took the rest for another line).
_VISIBLE_CONTROLS = {code: repr(chr(code))[1:-1] for code in (*range(32), 127) if code != 9}


def _error(message: str) -> None:
    click.echo(f"Error: {message.translate(_VISIBLE_CONTROLS)}", err=True)


@cli.command("import")
@click.argument("pages", nargs=-1, type=FilePath(path_type=Path))
@click.option("--url", help="The page's URL (one PAGE only): key, relative links, site profile.")
@click.option(
    "--site",
    callback=site_name_option,
    help="Site name to file the pages under (default: profile name or host).",
)
@click.option("--batch", is_flag=True, help="Read JSON Lines pages on stdin, as `extract --batch`.")
@click.option(
    "--max-size",
    default=format_size(DEFAULT_MAX_SIZE).replace(" ", ""),
    show_default=True,
    help="Skip pages bigger than this, compressed ones by what they inflate to.",
)
@jobs_option("; --batch: always 1")
@progress_option
@db_option
@friendly_errors
def import_pages(
    pages: tuple[Path, ...],
    url: str | None,
    site: str | None,
    batch: bool,
    max_size: str,
    jobs: int,
    progress_seconds: float,
    db: Path,
) -> None:
    """Store saved pages in the archive: the raw page (compressed) and its article record.

    \b
    Examples:
        newsarchive import saved/*.html saved/*.html.gz
        newsarchive import mirror/                # every page below it (a wget mirror)
        newsarchive import page.html --url https://news.example.id/2024/01/31/judul
        newsarchive import crawl.warc.gz          # a WARC (wget --warc-file, Heritrix, export)
        newsarchive import --jobs 2 big.warc.gz 2>>import.log
        echo '{"id": "a", "url": null, "path": "/abs/page.html"}' | newsarchive import --batch

    Pages are extracted in --jobs worker processes while this one reads and stores, each page
    stored in the order read (a later capture of a page stays its later version); a few dozen
    pages are done here before any worker starts. --batch answers each line before it reads
    the next, so it extracts here. Ctrl-C or SIGTERM stops the reading; the pages read are
    stored (exit status 130/143; importing the same files again adds only what is missing).

    A directory stands for every file below it (sorted; names starting with "." left out);
    the files in it that are no HTML page (styles, scripts, images) are counted, not errors.

    A WARC (.warc or .warc.gz, recognised by its content) gives every HTML response in it, with
    its URL, HTTP status, headers and fetch time (WARC-Date), and every revisit record (the same
    payload fetched again, or a 304) as a refetch of the page it names, read back from the
    archive; other records are counted and skipped. --max-size applies to each record's
    inflated payload.

    Importing a page again adds nothing: the same capture (URL, bytes and fetch time) is
    counted as archived already, and the same article stays one row (a changed page becomes a
    new version of it). A capture older than the article's latest one (a WARC of last year
    imported into an archive crawled since) goes into the article's history, not its record.
    In --batch mode each output line is {"id", "outcome", "url"} or
    {"id", "error"}. The exit status is 1 when any page failed.
    """
    if batch and pages:
        raise NewsarchiveError("--batch reads pages from stdin; do not pass PAGE too")
    if not batch and not pages:
        raise NewsarchiveError("give PAGE files to import, or --batch")
    if url and len(pages) > 1:
        raise NewsarchiveError("--url names one page; give a single PAGE with it")
    if url is not None:
        url = page_address(url)  # before the archive is opened (made, for a new one)
    try:
        limit = parse_size(max_size)
    except ValueError as exc:
        raise NewsarchiveError(f"--max-size: {exc}") from None
    # As a crawl: a damaged file (quick_check, files up to QUICK_CHECK_MAX_BYTES) is named
    # before anything is written to it, where a write meeting the damage would fail after others
    # went in.
    check_archive(db, for_writing=True)
    outcomes: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    skipped_files: Counter[str] = Counter()
    taken_down = revisits = 0
    stopped: list[int] = []
    damage: list[str] = []
    try:
        with Archive(db) as archive:
            with archive.batch():
                if batch:
                    _import_batch(archive, site, outcomes, limit)
                else:
                    # The count is known up front unless a WARC is among the files.
                    known = not any(is_warc(path) or path.is_dir() for path in pages)
                    total = len(pages) if known else None
                    with (
                        _stop_on_signals() as stopped,
                        _Progress(
                            total, progress_seconds, doing="importing", unit="pages"
                        ) as progress,
                        ImportSink(
                            archive, jobs, on_stored=progress.update, stop=lambda: bool(stopped)
                        ) as sink,
                    ):
                        revisits = _import_files(
                            sink, pages, url, site, limit, outcomes, skipped, skipped_files
                        )
                        taken_down = sink.taken_down
            imported = sum(outcomes.values()) - outcomes["failed"]
            if imported and not stopped:
                # As a crawl's end: the pages stored alone packed (all sites at once, so an
                # import's small sites share blocks) and a bulk load's index segments merged.
                damage = archive.crawl_ended(None)
    except ArchiveUnwritable as exc:
        raise NewsarchiveError(
            f"{exc}; the import stopped: what was stored before is kept, and importing the "
            "same files again stores only what is missing"
        ) from None
    if stopped:
        name = signal.Signals(stopped[0]).name
        click.echo(f"stopped by {name} after {imported} pages (all stored); the rest not read")
    older = (
        f", {outcomes['older']} older than their article's latest capture (kept in its history)"
        if outcomes["older"]
        else ""
    )
    known = f", {outcomes['known']} archived already" if outcomes["known"] else ""
    click.echo(
        f"imported {imported} pages into {db}: {outcomes['new']} new, {outcomes['updated']} updated, "
        f"{outcomes['unchanged']} unchanged{older}, {outcomes['page']} without an article"
        f"{known}; {outcomes['failed']} failed",
        err=batch,
    )
    if revisits:
        click.echo(
            f"{revisits} of them refetches that found a page again (WARC revisit records), "
            "stored as the crawl stores a refetch"
        )
    if taken_down:
        click.echo(f"{taken_down} articles marked taken down, as the WARC says")
    if skipped:
        click.echo(
            f"skipped {sum(skipped.values())} WARC records that are no HTML page to keep: "
            + ", ".join(f"{why} {n}" for why, n in skipped.most_common())
        )
    if skipped_files:
        click.echo(
            f"skipped {sum(skipped_files.values())} files in the directories that are no HTML "
            "page: " + ", ".join(f"{why} {n}" for why, n in skipped_files.most_common())
        )
    for line in damage:
        click.echo(f"Error: {line}", err=True)
    if stopped:
        sys.exit(128 + stopped[0])
    if outcomes["failed"] or damage:
        sys.exit(1)


def _import_files(
    sink: ImportSink,
    pages: tuple[Path, ...],
    url: str | None,
    site: str | None,
    max_size: int,
    outcomes: Counter[str],
    skipped: Counter[str],
    skipped_files: Counter[str],
) -> int:
    """Every file (every file below a directory) into `sink`; the counts are complete when this
    returns (sink finished). Returns how many of the pages imported came from WARC revisit
    records."""

    def done(outcome: str | None, error: str | None) -> None:
        outcomes[outcome or "failed"] += 1
        if error is not None:
            _error(error)

    warcs = []
    for path, in_directory in files_in(pages):
        if sink.stopping():
            break
        if is_warc(path):
            if url:
                raise NewsarchiveError(f"{path}: a WARC names its pages' URLs; drop --url")
            warcs.append(import_warc(sink.archive, path, max_size=max_size, site=site, sink=sink))
            continue
        try:
            body = read_saved(path, max_size=max_size)
            try:
                check_html(body, str(path))
            except NotHtmlError as exc:
                if not in_directory:
                    raise
                # A directory (a wget mirror) holds styles, scripts and images beside its
                # pages: counted, not errors.
                skipped_files[str(exc).removeprefix(f"{path}: ")] += 1
                continue
            sink.put(saved_page_item(body, url=url, path=path, site=site), done)
        except ArchiveUnwritable:
            raise
        except NewsarchiveError as exc:
            done(None, str(exc))
    sink.finish()
    revisits = 0
    for result in warcs:
        revisits += result.revisits
        outcomes.update(result.outcomes)
        skipped.update(result.skipped)
        for error in result.errors:
            _error(error)
        if result.stopped:
            outcomes["failed"] += 1
            _error(result.stopped)
    return revisits


def _import_batch(
    archive: Archive, site: str | None, outcomes: Counter[str], max_size: int
) -> None:
    from newsarchive.cli.extract import batch_requests  # the extractor: not for read commands

    for request, error in batch_requests(standard_input()):
        if request is None:
            outcomes["failed"] += 1
            click.echo(json.dumps({"id": None, "error": error}))
            continue
        page_url = request.get("url")
        try:
            body = read_page(request["path"], max_size=max_size)
            outcome = import_page(archive, body, url=page_url, path=request["path"], site=site)
            outcomes[outcome] += 1
            result = {"id": request.get("id"), "outcome": outcome, "path": request["path"]}
        except ArchiveUnwritable:
            raise
        except NewsarchiveError as exc:
            outcomes["failed"] += 1
            result = {"id": request.get("id"), "error": str(exc)}
        click.echo(json.dumps(result, ensure_ascii=False))


@cli.command("search")
@click.argument("words", nargs=-1, required=True, metavar="QUERY...")
@site_option
@since_option
@click.option(
    "--until",
    metavar="DATE",
    help="Only articles published on/before DATE (a date includes the whole day).",
)
@click.option("--author", help="Only articles by this author (whole name, any case).")
@click.option("--category", help="Only articles in this category (whole name, any case).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 2**63 - 1))
@click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON array.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the hits as CSV (lists as JSON text).")
@click.option("--fts", is_flag=True, help="Take QUERY as SQLite FTS5 syntax (OR, NOT, prefix*).")
@click.option(
    "--exact",
    is_flag=True,
    help="Rank every match by FTS5's bm25, never from the top lists of common words (seconds "
    "for common words at a million articles).",
)
@db_option
@friendly_errors
def search_command(
    words: tuple[str, ...],
    site: str | None,
    since: str | None,
    until: str | None,
    author: str | None,
    category: str | None,
    limit: int,
    as_json: bool,
    as_csv: bool,
    fts: bool,
    exact: bool,
    db: Path,
) -> None:
    """Full-text search over titles, descriptions and bodies, best matches first.

    \b
    Examples:
        newsarchive search banjir jakarta              # both words, anywhere
        newsarchive search '"kereta cepat" anak-anak'  # an exact phrase and a word
        newsarchive search gempa --site detik --since 2024-01-01 --until 2024-01-31
        newsarchive search pemilu --author 'Sari Wulandari' --category Nasional --csv
        newsarchive search --fts 'pemilu* NOT latihan' # FTS5 syntax: OR, NOT, NEAR, prefix*

    Plain words are matched whole and case-insensitively, every one of them; punctuation is
    ignored. With --fts the query is SQLite FTS5 syntax. The default output is a table with the
    matched words of each snippet in [brackets]; --json and --csv are for programs.

    On a large archive, searches of common words rank from the words' top lists: exactly FTS5's
    bm25 order where the lists prove it, else an estimate, noted on stderr. --exact ranks every
    match by FTS5's bm25 itself.
    """
    if as_json and as_csv:
        raise NewsarchiveError("--json and --csv: choose one output format")
    query = " ".join(words)
    bounds = {"since": _since(since), "until": _until(until)}
    with Archive(db, readonly=True) as archive:
        check_site(archive, site)
        results = search_results(
            archive,
            query,
            site=site,
            author=author,
            category=category,
            limit=limit,
            fts=fts,
            exact=exact,
            **bounds,
        )
    hits = results.hits
    if as_json:
        click.echo(json.dumps([asdict(hit) for hit in hits], ensure_ascii=False, indent=2))
    elif as_csv:
        _write_hits_csv(hits)
    elif hits:
        _echo_hits_table(hits)
    else:
        click.echo(f"no articles match {query!r}", err=True)
    if hits and not results.exact:
        # Last, where a terminal leaves it in view; on stderr for every format, as a note in the
        # JSON array or the CSV rows would change their shape for the programs reading them.
        click.echo(ESTIMATED_ORDER_NOTE, err=True)


def _until(value: str | None) -> str | None:
    try:
        return _since(value)
    except NewsarchiveError as exc:  # parse_since names --since
        raise NewsarchiveError(str(exc).replace("--since", "--until", 1)) from None


ESTIMATED_ORDER_NOTE = (
    "note: order estimated from the top lists of common words; --exact ranks every match (slower)"
)
SEARCH_CSV_COLUMNS = ("id", "url", "site", "published", "category", "authors", "title", "snippet")


def _write_hits_csv(hits: list) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(SEARCH_CSV_COLUMNS)  # even with no hits: a program still gets the columns
    for hit in hits:
        row = asdict(hit)
        row["authors"] = json.dumps(row["authors"], ensure_ascii=False)
        writer.writerow(row[column] for column in SEARCH_CSV_COLUMNS)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _echo_hits_table(hits: list) -> None:
    """One row per hit (publication date as printed on the article, site, category, authors,
    title), its snippet and URL indented under it; on a terminal the title takes what the
    terminal leaves, into a file or a pipe it is written whole (a width there means nothing)."""
    rows = [
        (
            (hit.published or "")[:10] or "?",
            hit.site,
            hit.category or "",
            _clip(", ".join(hit.authors), 28),
            hit.title or "(no title)",
        )
        for hit in hits
    ]
    header = ("published", "site", "category", "authors", "title")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lead = sum(widths) + 2 * len(widths)
    title_width = (
        max(20, shutil.get_terminal_size((120, 24)).columns - lead) if sys.stdout.isatty() else None
    )
    click.echo(
        click.style(
            "  ".join(f"{name:<{widths[i]}}" for i, name in enumerate(header[:4]))
            + "  "
            + header[4],
            bold=True,
        )
    )
    for hit, row in zip(hits, rows, strict=True):
        cells = "  ".join(f"{value:<{widths[i]}}" for i, value in enumerate(row[:4]))
        title = row[4] if title_width is None else _clip(row[4], title_width)
        click.echo(f"{cells}  {click.style(title, bold=True)}")
        click.echo(" " * 4 + hit.snippet.replace("\n", " "))
        click.echo(" " * 4 + click.style(hit.url, dim=True))


@cli.command("reextract")
@site_option
@click.option(
    "--since",
    metavar="DATE",
    help="Only pages fetched (or imported) on/after DATE (YYYY-MM-DD or ISO time).",
)
@jobs_option()
@progress_option
@db_option
@friendly_errors
def reextract_command(
    site: str | None, since: str | None, jobs: int, progress_seconds: float, db: Path
) -> None:
    """Rebuild article records from the archived raw pages with the current extractor.

    \b
    Example:
        newsarchive reextract --site detik
        newsarchive reextract --jobs 4 2>reextract.log

    No network: each article is re-extracted from its latest raw page, as the crawl would. A
    record whose content changes keeps its old content in the `versions` table. The summary says
    which fields were filled, changed or emptied; "0 changes" means the records already match.
    Pages the extractor failed on when they were stored (kind "unextracted" in `stats`) are
    tried again: an article among them gets its record, another page its kind.
    Ctrl-C or SIGTERM stops it after the articles in work are stored (exit status 130/143; run
    it again to redo everything, or narrow it with --since).
    """
    # Every record is rewritten, every raw page read: a damaged file is named first, whatever its
    # size (`whole`: at 1.2 M articles 16 s of an hour's work, 3 minutes from a cold disk).
    check_archive(db, for_writing=True, whole=True)
    try:
        with Archive(db, create=False) as archive:
            check_site(archive, site)
            targets = archive.reextract_targets(site=site, since=_since(since))
            # Starting a worker costs about a second: a handful of articles is done here sooner.
            jobs = min(jobs, max(1, len(targets) // (2 * EXTRACTION_CHUNK)))
            filled: Counter[str] = Counter()
            changed: Counter[str] = Counter()
            emptied: Counter[str] = Counter()
            touched = versions = done = 0
            errors: list[str] = []
            # Unextracted pages tried again: what each is now ("new" a record, ...), or failed.
            pages: Counter[str] = Counter()
            with (
                _stop_on_signals() as stopped,
                _Progress(len(targets), progress_seconds) as progress,
            ):
                for result in reextract(archive, targets, jobs=jobs, stop=lambda: bool(stopped)):
                    done += 1
                    progress.update(done)
                    if result.page_id is not None:
                        pages[result.recovered or "failed"] += 1
                    if result.error:
                        errors.append(result.error)
                        continue
                    filled.update(result.filled)
                    changed.update(result.changed)
                    emptied.update(result.emptied)
                    touched += result.touched
                    versions += result.new_version
            if not stopped:
                archive.merge_search_index()  # every record re-indexed: many new segments
    except ArchiveUnwritable as exc:
        raise NewsarchiveError(
            f"{exc}; re-extraction stopped: the records re-extracted before are kept, run it "
            "again to finish"
        ) from None
    articles = len(targets) - targets.unextracted
    pages_done = sum(pages.values())
    if stopped:
        name = signal.Signals(stopped[0]).name
        click.echo(
            f"stopped by {name} after {done} of {len(targets)} "
            f"{'articles and pages' if targets.unextracted else 'articles'} (all stored)"
        )
    article_errors = len(errors) - pages["failed"]
    click.echo(
        f"re-extracted {done - pages_done - article_errors} of {articles} articles: "
        f"{touched} changes ({versions} new versions); {article_errors} failed"
    )
    if targets.unextracted:
        parts = {
            "made a record": pages["new"] + pages["updated"] + pages["unchanged"],
            "of an article recorded from a later fetch": pages["older"],
            "now judged no article": pages["page"],
            "failed again": pages["failed"],
        }
        said = ", ".join(f"{n} {what}" for what, n in parts.items() if n) or "none done"
        click.echo(
            f"tried again {pages_done} of {targets.unextracted} page(s) extraction had failed "
            f"on: {said}"
        )
    for label, counts in (("filled", filled), ("changed", changed), ("emptied", emptied)):
        if counts:
            click.echo(
                f"  fields {label}: " + ", ".join(f"{name} {n}" for name, n in counts.most_common())
            )
    for error in errors[:10]:
        _error(error)
    if len(errors) > 10:
        _error(f"... and {len(errors) - 10} more (see the failures table)")
    if stopped:
        sys.exit(128 + stopped[0])
    if errors:
        sys.exit(1)


@contextmanager
def _stop_on_signals() -> Iterator[list[int]]:
    """SIGINT and SIGTERM, inside the block, ask the work to stop: the list yielded gets the
    signal, the work checks it between items and finishes what it holds; a second signal stops
    at once (KeyboardInterrupt: what is committed stays)."""
    stopped: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        if stopped:
            raise KeyboardInterrupt
        stopped.append(signum)

    handlers = {}
    if threading.current_thread() is threading.main_thread():  # else signals cannot be set
        handlers = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stopped
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


class _Progress:
    """A bar on a terminal; elsewhere (a log file, a pipe, systemd) a plain line every
    `seconds`, since a bar's `\\r` rewrites turn a log into one endless line. `total` None (a
    WARC's pages are known only once read): lines with the count and rate, on a terminal too."""

    def __init__(
        self,
        total: int | None,
        seconds: float,
        *,
        doing: str = "re-extracting",
        unit: str = "articles",
    ) -> None:
        self.total = total
        self.seconds = seconds
        self.doing, self.unit = doing, unit
        self.bar = None
        if sys.stderr.isatty() and total is not None:
            self.bar = click.progressbar(length=total, label=doing.capitalize(), file=sys.stderr)
        self.started = self.last = time.monotonic()
        self.shown = 0

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def update(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(done - self.shown)
            self.shown = done
            return
        now = time.monotonic()
        if now - self.last >= self.seconds:
            self.last = now
            self.line(done, now)

    def line(self, done: int, now: float) -> None:
        rate = done / max(now - self.started, 1e-9)
        if self.total is None:
            click.echo(f"{self.doing}: {done} {self.unit}, {rate:.1f}/s", err=True)
        else:
            left = (self.total - done) / rate if rate else 0
            percent = 100 * done / self.total if self.total else 100.0
            click.echo(
                f"{self.doing}: {done} of {self.total} {self.unit} ({percent:.1f} %), "
                f"{rate:.1f}/s, about {_duration(left)} left",
                err=True,
            )
        self.shown = done

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc_info)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


@cli.command("export")
@click.option(
    "--format", "fmt", type=click.Choice((*FORMATS, "warc")), default="jsonl", show_default=True
)
@site_option
@since_option
@click.option(
    "-o",
    "--output",
    type=FilePath(dir_okay=False, path_type=Path),
    callback=usable_path,
    help="File to write (default: stdout).",
)
@db_option
@friendly_errors
def export_command(
    fmt: str, site: str | None, since: str | None, output: Path | None, db: Path
) -> None:
    """Export articles for analysis: every record field, one row per article.

    \b
    Examples:
        newsarchive export --format csv -o articles.csv
        newsarchive export --format parquet --site detik --since 2024-01-01 -o detik.parquet
        newsarchive export | jq .title
        newsarchive export --format warc -o crawl.warc.gz   # the raw pages, for WARC tools

    JSON Lines and Parquet keep authors, tags and the other lists as lists; CSV has them as JSON
    text. Parquet is typed: published/modified are UTC timestamps with the offset the article
    stated in published_offset/modified_offset, contributors a list of {name, role} structs,
    published_date a date. An empty selection still writes the CSV header / Parquet schema.
    WARC holds the raw pages instead (every kind, once per stored body): request, metadata and
    response records (resource for imported files) dated by their fetch, and a revisit record
    for each later fetch that found a page again, in the order the archive stored them; there
    --since is the fetch date; after them, a metadata record for each article taken down
    (gone_since). `newsarchive import` reads it back into the same records, versions, fetches
    and takedowns. A file given with -o appears whole or not at all: an export stopped or
    failed (Ctrl-C, a full disk) leaves a file there before as it was.
    """
    if fmt in ("parquet", "warc") and output is None:
        raise NewsarchiveError(f"{fmt.capitalize()} is binary: give a file with -o FILE")
    if fmt == "warc":
        from newsarchive.storage.verify import LISTED_PROBLEMS

        damaged: list[PageDamaged] = []
        with Archive(db, readonly=True) as archive:
            check_site(archive, site)
            written = export_warc(archive, output, site=site, since=_since(since), damaged=damaged)
        refetches = (
            f" and {written.revisits} refetches that found a page again (revisit records)"
            if written.revisits
            else ""
        )
        click.echo(f"exported {written.pages} raw pages{refetches} to {output}", err=True)
        if damaged:
            # The pages that read are worth having now; the damaged ones cannot be had anyway.
            for damage in damaged[:LISTED_PROBLEMS]:
                click.echo(str(damage), err=True)
            if len(damaged) > LISTED_PROBLEMS:
                click.echo(f"... and {len(damaged) - LISTED_PROBLEMS} more", err=True)
            raise NewsarchiveError(
                f"{output}: {len(damaged)} raw page(s) left out, damaged (listed above); "
                f"`newsarchive verify --db {db}` lists the archive's damage"
            )
        return
    with Archive(db, readonly=True) as archive:
        check_site(archive, site)
        rows = article_rows(archive, site=site, since=_since(since))
        # The columns, so that an empty selection still writes the CSV header / Parquet schema.
        columns = article_columns(archive)
        if output is None:
            count = (
                write_csv(rows, sys.stdout, columns)
                if fmt == "csv"
                else write_jsonl(rows, sys.stdout)
            )
        elif fmt == "parquet":
            with whole_file(output) as partial:
                count = write_parquet(rows, str(partial), columns)
        else:
            with (
                whole_file(output) as partial,
                partial.open("w", encoding="utf-8", newline="") as out,
            ):
                count = write_csv(rows, out, columns) if fmt == "csv" else write_jsonl(rows, out)
    click.echo(f"exported {count} articles" + (f" to {output}" if output else ""), err=True)


@cli.command("browse")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--open", "open_browser", is_flag=True, help="Open a web browser on it.")
@db_option
@plan_option
@friendly_errors
def browse_command(
    port: int, host: str, open_browser: bool, db: Path, plan_path: Path | None
) -> None:
    """Browse the archive in Datasette: facets, full-text search, a dashboard, canned queries.

    \b
    Example:
        newsarchive browse --port 8001      # then open http://127.0.0.1:8001/

    \b
    Pages: / (what the archive holds), /DB/articles (facets beside the articles),
    /DB/articles/ID (one article), /-/search (best matches first), /-/dashboards/archive.

    Serves the records only; the raw pages file is never served. Stop it with Ctrl-C. The home
    page's health reads each site's period from the archive's plan (the overdue signal).
    """
    from datasette.cli import cli as datasette_cli
    from datasette.views.base import DatasetteError

    from newsarchive.datasette import ANNOUNCE_PLUGIN, PLUGINS_DIR, TEMPLATES_DIR, load_metadata
    from newsarchive.datasette import SETTINGS as DATASETTE_SETTINGS

    as_it_is = _servable_only_as_it_is(db)
    _check_listening(host, port)
    periods = plan_periods(db, plan_path)
    metadata = load_metadata(db.stem, periods)
    announce = f"serving {db} at http://{host}:{port}/ (Ctrl-C stops)"
    if as_it_is:
        # Said once Datasette has started: when its start-up meets damage, that is the one line.
        announce = f"{as_it_is}; serving the archive read-only, as it is now\n{announce}"
    metadata["plugins"][ANNOUNCE_PLUGIN] = {"line": announce}
    with _metadata_file(metadata) as metadata_path:
        # Immutable: SQLite then reads the file alone, writing no -shm beside it.
        args = ["serve", *(["-i"] if as_it_is else []), str(db)]
        args += ["--metadata", metadata_path, "--host", host]
        args += ["--plugins-dir", str(PLUGINS_DIR), "--template-dir", str(TEMPLATES_DIR)]
        args += ["--port", str(port)]
        for name, value in DATASETTE_SETTINGS.items():
            args += [
                "--setting",
                name,
                str(value).lower() if isinstance(value, bool) else str(value),
            ]
        if open_browser:
            args.append("--open")
        # A table page whose query fails (a 400 "Invalid SQL" for `_facet=nope`) leaves its
        # facets' coroutines unawaited inside Datasette: four warnings of three lines each on
        # this terminal per such request, nothing a person can act on.
        warnings.filterwarnings(
            "ignore", message=r"coroutine '.*' was never awaited", category=RuntimeWarning
        )
        # In this process, not a child: Ctrl-C and kill reach the server itself.
        try:
            datasette_cli.main(args=args, prog_name="datasette", standalone_mode=False)
        except DatasetteError as exc:
            # Datasette checks its database at start-up, outside any page: damage met there
            # (the search index's configuration, say; the plugins' ArchiveDamaged) came out
            # as a traceback.
            raise NewsarchiveError(exc.message) from None


def _check_listening(host: str, port: int) -> None:
    """NewsarchiveError when Datasette could not listen on host:port (the port taken by another
    server, a host that is none of this machine's addresses): one line before it starts, where
    its server would log the error between start-up lines and exit 3."""
    import errno
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise NewsarchiveError(f"--host {host}: {exc.strerror}") from None
    with socket.socket(family, kind, proto) as probe:
        # As the server binds: a port a closed server left in TIME_WAIT is free for it.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise NewsarchiveError(
                    f"{host}:{port}: in use by another server (another browse?); "
                    "choose another port with --port"
                ) from None
            raise NewsarchiveError(f"{host}:{port}: cannot listen there: {exc.strerror}") from None


@contextmanager
def _metadata_file(metadata: dict[str, object]) -> Iterator[str]:
    """A path Datasette reads `metadata` from once, at start: a pipe where the system names its
    file descriptors (/dev/fd), so that a full disk does not keep the archive from being
    browsed; else a temporary file."""
    text = json.dumps(metadata).encode()
    if Path("/dev/fd").is_dir():
        read, write = os.pipe()
        # Written by a thread: more than a pipe holds would block until Datasette reads it.
        writer = threading.Thread(target=_write_all, args=(write, text), daemon=True)
        writer.start()
        try:
            yield f"/dev/fd/{read}"
        finally:
            os.close(read)
        return
    with tempfile.TemporaryDirectory(prefix="newsarchive-browse-") as tmp:
        path = Path(tmp) / "metadata.json"
        path.write_bytes(text)
        yield str(path)


def _write_all(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError), os.fdopen(fd, "wb") as out:
        out.write(data)


def _servable_only_as_it_is(db: Path) -> str | None:
    """Open `db` for writing (which migrates an older archive before Datasette reads it): None.
    When it cannot be written — a full disk, a file or directory the user may only read, a
    read-only mount (an analyst's copy on a shared drive) — an archive that needs no migration
    and whose main file holds every commit (an empty -wal) can still be served as it is,
    read-only: why it cannot be written. Otherwise the one line of why it cannot be opened."""
    from newsarchive.storage.opening import has_wal_content
    from newsarchive.storage.schema import ARCHIVE_MIGRATIONS

    try:
        with Archive(db, create=False):
            return None
    except (ArchiveUnwritable, NewsarchiveError) as exc:
        unwritable = isinstance(exc, ArchiveUnwritable) or not (
            os.access(db, os.W_OK) and os.access(db.parent, os.W_OK | os.X_OK)
        )
        if not unwritable:
            raise  # not ours, damaged, ...: its own line
        with Archive(db, readonly=True) as archive:
            current = archive.schema_versions[0] == len(ARCHIVE_MIGRATIONS)
        if not current:
            raise NewsarchiveError(
                f"{exc}; an archive from an older newsarchive is upgraded before it is browsed: "
                "open it once where it can be written"
            ) from None
        if has_wal_content(db):
            raise
        return str(exc)


@cli.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@db_option
@friendly_errors
def stats_command(as_json: bool, db: Path) -> None:
    """Counts per site, date ranges and field fill-rates.

    \b
    Example:
        newsarchive stats --db data/demo.db
    """
    with Archive(db, readonly=True) as archive:
        numbers = stats(archive)
    if as_json:
        click.echo(json.dumps(asdict(numbers), indent=2))
        if archive.pages_missing:
            click.echo(f"note: {archive.pages_missing}", err=True)
        return
    raw_mb = numbers.page_bytes / 1e6
    on_disk = numbers.pages_file_bytes / numbers.page_bytes if numbers.page_bytes else 0.0
    stored = numbers.page_stored_bytes / numbers.page_bytes if numbers.page_bytes else 0.0
    click.echo(
        f"{db}: {numbers.articles} articles ({numbers.versions} old versions), "
        f"{numbers.crawl_runs} crawl runs, {numbers.failures} failures; "
        f"{numbers.archive_file_bytes / 1e6:.1f} MB on disk; search index in "
        f"{numbers.search_segments} segment(s)"
    )
    if archive.pages_missing:
        # Said where the raw pages' figures would be (all 0): the records alone are counted. A
        # note, not an error: a copy of archive.db alone is a way to share the records.
        click.echo(f"note: {archive.pages_missing}", err=True)
    else:
        click.echo(
            f"{archive.pages_path}: {numbers.pages} raw pages ({numbers.fetches} fetches), "
            f"{raw_mb:.1f} MB of HTML kept in "
            f"{numbers.pages_file_bytes / 1e6:.1f} MB on disk ({on_disk:.1%} of the raw size; "
            f"the compressed pages alone {stored:.1%})"
        )
    if numbers.page_kinds:
        kinds = ", ".join(f"{kind} {count}" for kind, count in numbers.page_kinds.items())
        click.echo(f"raw pages by kind: {kinds}")
        if numbers.page_kinds.get(UNEXTRACTED):
            click.echo(
                f"  {numbers.page_kinds[UNEXTRACTED]} the extractor failed on: "
                "`newsarchive reextract` tries them again"
            )
    if numbers.gone:
        click.echo(
            f"{numbers.gone} article(s) taken down by their site (404 or 410 on a revisit; "
            "records kept, `gone_since` says when)"
        )
    if not numbers.sites:
        return
    width = max(len(site.site) for site in numbers.sites)
    header = f"{'site':<{width}}  {'articles':>8}  {'publication dates':<22}  " + "  ".join(
        FILL_RATE_FIELDS
    )
    click.echo("\nfield fill-rates per site:\n" + header)
    for site in numbers.sites:
        span = f"{site.first_published or '?'}..{site.last_published or '?'}"
        fills = "  ".join(
            f"{site.fill_rates[name]:>{len(name) - 1}.0f}%" for name in FILL_RATE_FIELDS
        )
        click.echo(f"{site.site:<{width}}  {site.articles:>8}  {span:<22}  {fills}")


@cli.command("show")
@click.argument("url")
@click.option("--raw", is_flag=True, help="Print the raw page bytes as fetched, not the record.")
@db_option
@friendly_errors
def show_command(url: str, raw: bool, db: Path) -> None:
    """Print one archived article: its record as JSON, or with --raw the page as fetched.

    \b
    Examples:
        newsarchive show https://news.example.id/2024/01/31/judul
        newsarchive show 'https://news.example.id/2024/01/31/judul?utm_source=x' --db data/demo.db
        newsarchive show https://news.example.id/2024/01/31/judul --raw > page.html

    URL is any URL the article was reached by (request, final or canonical URL), in any spelling
    the archive keys alike (tracking parameters, case of the host...). --raw writes the stored
    bytes, decompressed, exactly as fetched (first page of a multi-page article), to stdout; it
    also finds pages that have no record (listings, error pages) by their URL.
    """
    with Archive(db, readonly=True) as archive:
        if not raw:
            row = archive.article(url)
            if row is None:
                raise NewsarchiveError(f"{url}: no article with this URL in {db}")
            click.echo(json.dumps(decode_row(row), ensure_ascii=False, indent=2))
            return
        page_id = archive.page_id_for_url(url)
        found = archive.raw_page(page_id) if page_id is not None else None
        if found is None and not archive.pages_path.exists():
            raise NewsarchiveError(f"{archive.pages_path}: missing (the archive's raw pages)")
        if found is None:
            raise NewsarchiveError(f"{url}: no raw page with this URL in {archive.pages_path}")
    sys.stdout.flush()
    sys.stdout.buffer.write(found[1])  # the bytes as fetched, never re-encoded
    sys.stdout.buffer.flush()
