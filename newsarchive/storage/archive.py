"""The Archive: two SQLite files written through one object.

`archive.db` holds the records (articles, versions, crawl runs, failures, the full-text index): the
file Datasette serves. `pages.db` next to it holds the raw pages, compressed: publishers' content,
kept so any record can be rebuilt, never served. Both run in WAL mode, so readers never block the
writer and a killed crawl leaves both files intact.

Opening never writes to a file before it is known to be ours (see opening.py); `readonly=True`
opens for reading and writes nothing at all (no migration, no pages file, no WAL switch).

Every item is written atomically (a savepoint in each file). SQLite cannot commit two files as one,
so the raw pages commit first: a crash between the two commits can leave raw pages without their
records (the crawler does not know them yet, fetches them again and completes them), never a record
whose page is missing.

Several processes may write one archive (two crawls, a crawl and an import): every write
transaction starts with BEGIN IMMEDIATE, so a writer waits for the lock before it reads anything
instead of failing when it upgrades a read lock (the SQLITE_BUSY no busy timeout can cure), and
waits with back-off for up to a minute. Inside `with archive.batch():` the transaction spans several
items but is committed after `size` items or `max_seconds`, whichever comes first, by a timer
thread too, so a batch never holds the lock while its caller waits for the network.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import logging
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import sqlite_utils
import zstandard

from newsarchive.errors import (
    ArchiveDamaged,
    ArchiveUnwritable,
    GarbledValue,
    NewsarchiveError,
    PageDamaged,
)
from newsarchive.items import PAGE_KINDS as EXTRACTED_KINDS
from newsarchive.items import (
    Article,
    RawPage,
    has_field,
    lost_its_text,
    require_headline_and_body,
)
from newsarchive.processes import owner_alive, this_process
from newsarchive.storage import opening
from newsarchive.storage.compression import (
    BLOCK_BYTES,
    BLOCK_LEVEL,
    IN_BLOCK,
    PAGES_PAGE_SIZE,
    SHARED_SHARE,
    BlockReader,
    block_codec,
    compress,
    compress_block,
    decompress,
)
from newsarchive.storage.opening import (
    ARCHIVE,
    PAGES,
    FileState,
    connect,
    create_file,
    inspect_file,
    is_damage,
    lenient_text,
    retry_busy,
    unwritable,
)
from newsarchive.storage.records import (
    article_columns,
    is_empty,
    parse_stored_time,
    utc_iso,
    utc_now,
)
from newsarchive.storage.schema import (
    ARCHIVE_MIGRATIONS,
    CONTENT_COLUMNS,
    PAGES_MIGRATIONS,
    RECORD_COLUMNS,
    index_committed,
    index_queued,
    migrate,
)
from newsarchive.urls import normalize_url, split_url, usable_canonical

logger = logging.getLogger(__name__)

DEFAULT_DB = Path("data") / "archive.db"
DEFAULT_BATCH_SIZE = 500
# A batch commits at least this often: long enough to group a burst of items into one commit,
# short enough that another writer (a second crawl, an import) waits a fraction of a second.
DEFAULT_BATCH_SECONDS = 0.2
# ...or, when committing itself takes long, only after this many times the last commit's time:
# a commit's cost is mostly per commit, not per item (the full-text index writes a new segment,
# each touched top list its pages), and it grows with the archive (~0.1-0.3 s at a million
# articles), so a fixed 0.2 s spent most of a bulk load committing. Commits then take at most
# about a fifth of the time, and a small archive's commits (a few ms) keep the 0.2 s. Never past
# MAX_SPACING times batch_seconds (2 s): one slow commit (a checkpoint, a stalled disk) must not
# hold the write lock, and the items of the open batch, for long.
COMMIT_SPACING = 4
MAX_SPACING = 10

OUTCOMES = ("new", "updated", "unchanged", "page")
# What a site answers at an article it took down (a revisit): the record says it is gone.
GONE_STATUSES = frozenset({404, 410})
# A redirect from an archived article's URL to a page of these kinds (the home page, a section, a
# "not found" page served with 200) is a takedown too; "unextracted" is not (our failure).
SOFT_GONE_KINDS = frozenset({"listing", "other"})
# A page is stored under one of the extractor's kinds, "error" (an HTTP error page), or this one:
# extracting it raised (an extractor bug, or its worker died). `reextract` tries it again and
# files it under what it then is.
UNEXTRACTED = "unextracted"
# The text columns of a raw page's row (besides its body), as re-extraction reads them.
_PAGE_TEXT_COLUMNS = (
    "url", "final_url", "headers", "encoding", "fetched_at", "stored_at", "site", "sha256", "kind",
)  # fmt: skip
# ...of those, what article_pages reads.
_ARTICLE_PAGE_TEXTS = ("url", "final_url", "headers", "fetched_at", "encoding", "sha256")


def _page_texts_as_bytes(
    names: Sequence[str], present: Iterable[str] | None = None, table: str = ""
) -> str:
    """The select list that reads these text columns of `pages` as bytes, for
    Archive._decode_page_texts; a column not `present` (an older pages file) reads as NULL."""
    have = set(names if present is None else present)
    return ", ".join(
        f"CAST({table}{name} AS BLOB) AS {name}" if name in have else f"NULL AS {name}"
        for name in names
    )


# The finish reason of a run whose process went away before it finished (Archive.dead_runs).
DIED = "died"


class StoreError(NewsarchiveError):
    """One item could not be stored; it was recorded in `failures` and the archive is unchanged."""


@dataclass(frozen=True)
class FetchState:
    """What the archive knows about a URL, for the crawler's "fetch again?" decision."""

    first_seen: datetime
    last_fetched: datetime
    published: datetime | None
    fetch_count: int
    gone: bool = False  # marked taken down (gone_since): linked again, it may be back

    @classmethod
    def from_stored(
        cls,
        first_seen: str,
        last_seen: str,
        published: str | None,
        fetch_count: int,
        gone_since: str | None = None,
    ) -> FetchState:
        """From the articles row's first_seen, last_seen, published, fetch_count and gone_since
        as stored."""
        return cls(
            first_seen=parse_stored_time(first_seen),
            last_fetched=parse_stored_time(last_seen),
            published=parse_stored_time(published),
            fetch_count=fetch_count,
            gone=gone_since is not None,
        )


def readable_state(stored: Sequence[Any]) -> FetchState | None:
    """FetchState.from_stored(*stored), or None when a value does not read back: bytes garbled
    on disk inside an article's row, which the file's structure checks pass. The crawl then
    takes the article for one it has not met, and fetches it again; its store writes the row
    afresh."""
    try:
        return FetchState.from_stored(*stored)
    except GarbledValue:
        return None


def warn_garbled(path: Path, article_id: int, stored: Sequence[Any]) -> None:
    """Say that an article's row (first_seen, last_seen, published, ...) does not read back."""
    value = repr(list(stored))
    for time_text in stored[:3]:
        try:
            parse_stored_time(time_text)
        except GarbledValue:
            value = repr(time_text)
            break
    logger.warning(
        "%s: article %s holds a garbled value (%s); fetched again as a new one; "
        "`newsarchive verify --db %s` lists the damage",
        path, article_id, value, path,
    )  # fmt: skip


class KnownUrls:
    """What the archive has of one site, for a crawl's "fetch again?" and "anything new on this
    listing?" decisions: the FetchState of a normalised URL (requested, final or canonical URL of
    an article), looked up one URL at a time (two primary-key searches, ~6 us) instead of loaded
    whole at the crawl's start, which took 7.2 s and 120 MB for a site with 220,000 archived
    articles (660,000 URLs) and grew with the archive. Only the articles there when it was made
    count (ids up to the largest then; new ones get larger ids): the archive as the crawl found
    it, not what the crawl stores as it goes (a listing's links stored from another listing are
    still news to it). Read-only, its own connection; `close()` it.

    A damaged page met by a lookup (an index page quick_check passed) is ArchiveDamaged; given
    `damaged`, it is told instead and the answer is "not known" (no archived article, nothing
    stale), as SharedKnown answers when Redis fails: the spider stops the crawl in one line
    where an exception in its callbacks was a traceback for every page."""

    _SQL = (
        "SELECT a.id, a.first_seen, a.last_seen, a.published, a.fetch_count, a.gone_since "
        "FROM article_urls u JOIN articles a ON a.id = u.article_id "
        "WHERE u.url = ? AND a.site = ? AND a.id <= ?"
    )

    def __init__(
        self,
        db_path: str | Path,
        site: str,
        damaged: Callable[[ArchiveDamaged], None] | None = None,
    ) -> None:
        self.site = site
        self.path = Path(db_path)
        self.damaged = damaged
        # Articles whose row held a value that does not read back, told once each.
        self.garbled: set[int] = set()
        self.db = connect(self.path, readonly=True)
        try:
            (self.last_id,) = self.db.execute(
                "SELECT coalesce(max(id), 0) FROM articles"
            ).fetchone()
            # The site's articles then (an index counts them), for the crawl's log and stats.
            (self.count,) = self.db.execute(
                "SELECT count(*) FROM articles WHERE site = ?", [site]
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            if is_damage(exc):
                raise damaged_archive(exc, self.path) from None
            raise

    def _met(self, exc: sqlite3.DatabaseError) -> None:
        if not is_damage(exc):
            raise exc
        error = damaged_archive(exc, self.path)
        if self.damaged is None:
            raise error from None
        self.damaged(error)

    def get(self, url: str) -> FetchState | None:
        try:
            row = self.db.execute(self._SQL, [url, self.site, self.last_id]).fetchone()
        except sqlite3.DatabaseError as exc:
            self._met(exc)
            return None
        if row is None:
            return None
        article_id, *stored = row
        state = readable_state(stored)
        if state is None and article_id not in self.garbled:
            self.garbled.add(article_id)
            warn_garbled(self.path, article_id, stored)
        return state

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and self.get(url) is not None

    def stale(self, fetched_before: datetime, limit: int) -> list[tuple[str, str]]:
        """What this crawl rechecks: see stale_articles."""
        try:
            return stale_articles(self.db, self.site, fetched_before, limit, last_id=self.last_id)
        except sqlite3.DatabaseError as exc:
            self._met(exc)
            return []

    def __len__(self) -> int:
        return self.count

    def close(self) -> None:
        self.db.close()


def damaged_archive(exc: sqlite3.DatabaseError, path: Path) -> ArchiveDamaged:
    """SQLite's `exc` met on a damaged page of the archive at `path`, as the error that stops a
    crawl or import: nothing more is written to a damaged file."""
    return ArchiveDamaged(
        f"{path}: cannot write: the archive is damaged ({exc}); `newsarchive verify --db {path}` "
        "lists the damage",
        cause=exc,
    )


def stale_articles(
    db: Any,
    site: str,
    fetched_before: datetime,
    limit: int,
    *,
    last_id: int | None = None,
    now: datetime | None = None,
) -> list[tuple[str, str]]:
    """The site's articles a crawl rechecks, at most `limit`, as (URL, where the rechecks
    stop: the run's `recheck_until`): those last fetched before `fetched_before`, none known
    gone (nor past `last_id`), longest ago first, in rounds: from where the site's last
    rechecks stopped on, then from the start again. A round passes over the articles as they
    were when it began: one rechecked since (fetched again, so at the end of the line) waits for
    the next round, and one whose recheck failed (left where it was) gets it; were the rechecked
    ones taken again while they are due (a round longer than `recheck_days`, on a large site),
    the round would never end and the failed ones never come round (schema v13; the cursor is
    "last_seen id round-start"). `now`: when the crawl began (a new round begins then)."""
    if limit <= 0:
        return []
    found = db.execute(
        "SELECT recheck_until FROM crawl_runs WHERE site = ? AND recheck_until IS NOT NULL "
        "ORDER BY id DESC LIMIT 1",
        [site],
    ).fetchone()
    seen, number, begun = ((found[0] if found else "").split(" ") + ["", ""])[:3]
    after = (seen, int(number)) if number.isdigit() else ("", 0)
    now_iso = utc_iso(now) if now is not None else utc_now()
    round_start = begun or now_iso  # a cursor from before rounds had starts: one begins now
    sql = (
        "SELECT url, last_seen || ' ' || id FROM articles INDEXED BY articles_site_last_seen "
        "WHERE site = ? AND last_seen <= ? AND gone_since IS NULL AND id <= ? "
        "AND (last_seen, id) {} (?, ?) ORDER BY last_seen, id LIMIT ?"
    )
    # Stored times have whole seconds: one of the same second as the bound counts as before it
    # (NEWSARCHIVE_RECHECK_DAYS=0 rechecked none of a run that ended within the second).
    stale_before = utc_iso(fetched_before)
    last = last_id if last_id is not None else 2**62
    params = [site, min(stale_before, round_start), last, *after]
    picked = [
        (url, f"{until} {round_start}")
        for url, until in db.execute(sql.format(">"), [*params, limit]).fetchall()
    ]
    if len(picked) < limit and after != ("", 0):
        # The round is over: the next begins now, from the start (but for what this run has
        # picked already, at its end now: the round's last).
        taken = {url for url, _ in picked}
        params = [site, stale_before, last, "", 0]
        for url, until in db.execute(sql.format(">"), [*params, limit + len(taken)]):
            if len(picked) == limit:
                break
            if url not in taken:
                picked.append((url, f"{until} {now_iso}"))
    return picked


# Two records tell one story when their headlines, or else their texts, share at least this
# share of their words (Jaccard): a moved article keeps its headline or most of its text (an
# edited headline, a new slug); a section front or another story shares little of either.
SAME_STORY_WORDS = 0.5


def _same_story(record: dict[str, Any], columns: dict[str, Any]) -> bool:
    """Whether an archived record and a newly extracted one tell one story; a headline or text
    missing on either side says nothing either way (with neither to compare: one story). Before,
    a text missing on one side made two headlines as different as two stories one story: a
    page cut short at an archived article's URL merged that article into another."""
    compared = False
    for field_name in ("title", "body"):
        words, others = (
            set(str(r.get(field_name) or "").casefold().split()) for r in (record, columns)
        )
        if not words or not others:
            continue
        if len(words & others) / len(words | others) >= SAME_STORY_WORDS:
            return True
        compared = True
    return not compared


def _redirected(raw: RawPage) -> bool:
    """The request for `raw.url` ended at another URL (the archive's spelling of both)."""
    return bool(raw.final_url) and normalize_url(raw.final_url) != normalize_url(raw.url)


@dataclass(frozen=True)
class ReextractTarget:
    """An article to rebuild: from its latest raw page, with the profile it was crawled with; or,
    with no `article_id`, an unextracted page to try again."""

    article_id: int | None
    page_id: int
    site: str
    # The profile file the crawl that fetched the page ran with (crawl_runs.settings "profile"),
    # or None (imported, or crawled before runs recorded it).
    profile_path: str | None = None


class ReextractTargets:
    """Archive.reextract_targets: the targets sorted in a scratch SQLite file of their own, so
    memory stays flat whatever the archive's size (at a million articles, Python lists and
    dicts of them took hundreds of MB), and the archive's files are read once, up front, so no
    long read holds back their WAL checkpoints while the re-extraction writes.

    The scratch file is SQLite's private temporary database (it is deleted when closed);
    close() frees it at once, else it goes with the object.
    """

    def __init__(self) -> None:
        # "": a private on-disk database; its pages are cached up to cache_size, then spill.
        # check_same_thread=False as for the archive's own connections (it is never shared).
        self._scratch = sqlite3.connect("", check_same_thread=False)
        self._scratch.execute(
            "CREATE TABLE articles (id INTEGER PRIMARY KEY, page_id INTEGER, site TEXT)"
        )
        self._scratch.execute(
            "CREATE TABLE pages (id INTEGER PRIMARY KEY, run_id INTEGER, block INTEGER)"
        )
        self._scratch.execute("CREATE TABLE unextracted (page_id INTEGER PRIMARY KEY, site TEXT)")
        self._profiles: dict[int | None, str | None] = {}
        self._count = 0
        self.unextracted = 0  # of them, unextracted pages

    def fill(self, archive: Archive, *, site: str | None, since: str | None) -> None:
        sql = "SELECT id, page_id, site FROM articles WHERE page_id IS NOT NULL"
        params: list[Any] = []
        if site is not None:
            sql += " AND site = ?"
            params.append(site)
        condition, page_params = "", []
        if since is not None:
            condition, page_params = " WHERE coalesce(fetched_at, stored_at) >= ?", [since]
        block = archive._block_columns().split(",")[0]
        with self._scratch:
            # Cursors are iterated row by row: nothing here holds more than a row in Python.
            self._scratch.executemany(
                "INSERT INTO articles VALUES (?, ?, ?)",
                archive.db.execute(sql + " ORDER BY id", params),
            )
            # A page alone sorts as block -1: before every block.
            self._scratch.executemany(
                "INSERT INTO pages VALUES (?, ?, coalesce(?, -1))",
                archive.pages.execute(
                    f"SELECT id, run_id, {block} FROM pages{condition} ORDER BY id", page_params
                ),
            )
            # Through the kind index; a multi-page article's later pages go with its first.
            unextracted = "SELECT id, site FROM pages WHERE kind = ? AND part_of IS NULL"
            unextracted_params: list[Any] = [UNEXTRACTED]
            if site is not None:
                unextracted += " AND site = ?"
                unextracted_params.append(site)
            self._scratch.executemany(
                "INSERT INTO unextracted VALUES (?, ?)",
                archive.pages.execute(unextracted, unextracted_params),
            )
        for run_id, settings in archive.db.execute("SELECT id, settings FROM crawl_runs"):
            try:
                recorded = json.loads(settings or "{}").get("profile")
            except (ValueError, AttributeError):
                recorded = None
            self._profiles[run_id] = recorded if isinstance(recorded, str) and recorded else None
        self._count = self._scratch.execute(
            "SELECT count(*) FROM articles JOIN pages ON pages.id = articles.page_id"
        ).fetchone()[0]
        self.unextracted = self._scratch.execute(
            "SELECT count(*) FROM unextracted JOIN pages ON pages.id = unextracted.page_id"
        ).fetchone()[0]
        self._count += self.unextracted

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[ReextractTarget]:
        # SQLite's sorter spills to temporary files past its cache: flat memory here too.
        rows = self._scratch.execute(
            "SELECT articles.id, articles.page_id, articles.site, pages.run_id, pages.block "
            "FROM articles JOIN pages ON pages.id = articles.page_id "
            "UNION ALL SELECT NULL, unextracted.page_id, unextracted.site, pages.run_id, "
            "pages.block FROM unextracted JOIN pages ON pages.id = unextracted.page_id "
            "ORDER BY 5, 2, 1"
        )
        profiles = self._profiles
        for article_id, page_id, site, run_id, _block in rows:
            yield ReextractTarget(article_id, page_id, site, profiles.get(run_id))

    def close(self) -> None:
        self._scratch.close()


@dataclass
class ReextractResult:
    """One article rebuilt from its raw page."""

    article_id: int
    url: str
    filled: list[str] = field(default_factory=list)  # empty before, a value now
    changed: list[str] = field(default_factory=list)  # a different value now
    emptied: list[str] = field(default_factory=list)  # a value before, empty now
    new_version: bool = False
    error: str | None = None
    # Set when the extractor now judges the page a listing or other page: the record is left
    # as it was (records are never deleted by a re-extraction), and the summary says so.
    not_article: str | None = None
    # An unextracted page tried again (`article_id` 0 unless it made a record): the
    # Archive.store outcome it had now, "older" when a later fetch of it has the record
    # already, or "page" (with `not_article`: what it is now).
    page_id: int | None = None
    recovered: str | None = None

    @property
    def touched(self) -> bool:
        return bool(self.filled or self.changed or self.emptied)


@dataclass
class PackResult:
    """What pack_pages did: pages packed, blocks written, and bytes (raw; stored before/after:
    the stored size of repacked small blocks is not in `stored_before`)."""

    pages: int = 0
    blocks: int = 0
    raw_bytes: int = 0
    stored_before: int = 0
    stored_after: int = 0
    # Pages that could not be read back: left where they are, for verify to list.
    damaged: list[PageDamaged] = field(default_factory=list)


def _as_stored(value: Any) -> Any:
    """A value read by opening.lenient_text, back as the bytes it was read from (kept as they
    were)."""
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogateescape")
    return value


def damage_lines(damaged: Sequence[PageDamaged], db: Path) -> list[str]:
    """The raw pages packing found damaged (PackResult.damaged), as one line for the command's
    end: a cron mail carries it, and the exit status says so."""
    if not damaged:
        return []
    more = f" (and {len(damaged) - 1} more damaged raw page(s))" if len(damaged) > 1 else ""
    return [
        f"{damaged[0]}{more}: left as it is, the other pages packed; `newsarchive verify --db "
        f"{db}` lists the damage"
    ]


# The record fields whose fill-rate is a site's health signal (a redesign empties them silently).
HEALTH_FIELDS = ("title", "authors", "published", "category", "body")
# Fields a run's stories fill unevenly (a wire story without tags, a live report without a lead
# image): their rate is kept beside the others, and only its collapse is a health signal.
HEALTH_COLLAPSE_FIELDS = ("image", "tags")


@dataclass
class RunTally:
    """What one crawl run stored, for its row in crawl_runs: articles seen (new, updated or
    unchanged, and article pages without a headline or body), how many had each health field
    filled, and pages per kind."""

    articles: int = 0
    filled: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(HEALTH_FIELDS + HEALTH_COLLAPSE_FIELDS, 0)
    )
    kinds: dict[str, int] = field(default_factory=dict)

    def add(self, article: Article | None, kind: str) -> None:
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if article is None:
            return
        if kind != "article" and not lost_its_text(article):
            return
        # An article page the extractor found no headline or body in is kept without a record,
        # but counted here as an article seen with those fields empty: a redesign that loses
        # the body of some articles shows as the body's fill-rate falling (a health alarm),
        # where leaving them out kept it at 100 %.
        self.articles += 1
        for name in self.filled:
            if has_field(article, name):  # a caption or a share bar is no body
                self.filled[name] += 1

    def fill_rates(self) -> dict[str, float]:
        """Percent of the run's articles with each field filled (empty when it stored none)."""
        if not self.articles:
            return {}
        return {name: round(100.0 * n / self.articles, 1) for name, n in self.filled.items()}


def default_pages_path(db_path: str | Path) -> Path:
    """Where the raw pages of an archive live: data/archive.db -> data/pages.db, X.db -> X-pages.db."""
    db_path = Path(db_path)
    if db_path.name == "archive.db":
        return db_path.with_name("pages.db")
    return db_path.with_name(f"{db_path.stem}-pages.db")


def extraction_url(page_url: str | None) -> str | None:
    """The URL to hand the extractor for a stored page: web URLs only.

    Pages imported from files without `--url` are stored under their file: URI; the extractor saw
    no URL for them at import, so re-extraction must not show it one either. Nor is it shown one
    urllib cannot take apart (a WARC record's, an unclosed IPv6 bracket), which no link resolves
    against.
    """
    parts = split_url(page_url) if page_url else None
    if parts is not None and parts.scheme.lower() in ("http", "https"):
        return page_url
    return None


def check_archive(
    path: str | Path,
    *,
    for_writing: bool = True,
    pages_path: str | Path | None = None,
    whole: bool = False,
) -> None:
    """Raise NewsarchiveError (one line naming the file and the cause) unless `path` and its raw
    pages file can be opened, for writing or reading. Creates and changes nothing.

    For writing, a path that does not exist yet is fine (it will be created) if its directory
    exists and is writable. Files up to opening.QUICK_CHECK_MAX_BYTES are also read page by
    page (quick_check), finding damage the header and schema checks miss; with `whole`, files
    of any size (for a command that goes through the whole archive anyway). Problems named:
    not an SQLite file, an SQLite file that is not an archive, made by a newer newsarchive,
    truncated or corrupt, empty, a directory, a missing directory, permission denied.
    """
    path = Path(path)
    pages = Path(pages_path) if pages_path else default_pages_path(path)
    read_up_to = float("inf") if whole else opening.QUICK_CHECK_MAX_BYTES
    state = inspect_file(
        path,
        ARCHIVE,
        len(ARCHIVE_MIGRATIONS),
        for_writing=for_writing,
        must_exist=not for_writing,
        read_up_to=read_up_to,
    )
    if not for_writing and state.fresh:
        raise NewsarchiveError(f"{path}: an empty SQLite file, not an archive yet")
    if _same_file(path, pages):
        raise NewsarchiveError(f"{path}: raw pages need a file of their own")
    inspect_file(
        pages,
        PAGES,
        len(PAGES_MIGRATIONS),
        for_writing=for_writing,
        must_exist=False,
        read_up_to=read_up_to,
    )


def _same_file(first: Path, second: Path) -> bool:
    return first.absolute().resolve() == second.absolute().resolve()


def _canonical(article: Article, page_url: str | None) -> str | None:
    """The article's canonical URL made absolute against the page's URL, if it is usable."""
    if not article.canonical_url:
        return None
    try:
        absolute = urljoin(page_url or "", article.canonical_url.strip())
    except ValueError:
        return None  # a link urllib cannot take apart (an unclosed IPv6 bracket) names no page
    return usable_canonical(absolute)


def _other_scheme(url: str) -> str | None:
    for this, other in (("http://", "https://"), ("https://", "http://")):
        if url.startswith(this):
            return other + url[len(this) :]
    return None


def page_kind(
    raw: RawPage, article: Article | None, extraction_error: str | None = None
) -> tuple[str, list[str]]:
    """The kind to store a page under, and why. `extraction_error`: why extracting it raised."""
    if article is not None:
        kind = article.page_kind if article.page_kind in EXTRACTED_KINDS else "other"
        return kind, list(article.kind_reasons)
    if raw.status and raw.status >= 400:
        return "error", [f"HTTP {raw.status}"]
    if extraction_error:
        return UNEXTRACTED, [f"extraction failed: {extraction_error}"]
    return "other", ["no article record was made from it"]


def _insert(db: sqlite_utils.Database, table: str, row: dict[str, Any]) -> int:
    """INSERT one row, returning its id. Plain SQL: Table.insert() introspects the table on
    every call, which halved the insert rate of a crawl-sized batch."""
    cursor = db.conn.execute(_insert_sql(table, tuple(row)), list(row.values()))
    return cursor.lastrowid


@functools.lru_cache(maxsize=64)
def _insert_sql(table: str, names: tuple[str, ...]) -> str:
    # The same few statements for every item (pages, fetches, articles): built once each.
    columns = ", ".join(f"[{name}]" for name in names)
    placeholders = ", ".join("?" for _ in names)
    return f"INSERT INTO [{table}] ({columns}) VALUES ({placeholders})"


def _update(db: sqlite_utils.Database, table: str, row_id: int, changes: dict[str, Any]) -> None:
    assignments = ", ".join(f"[{name}] = ?" for name in changes)
    db.execute(f"UPDATE [{table}] SET {assignments} WHERE id = ?", [*changes.values(), row_id])


def _empty_pages() -> sqlite_utils.Database:
    """An in-memory stand-in for a raw pages file that does not exist yet (read-only opening):
    the schema, no rows."""
    db = sqlite_utils.Database(sqlite3.connect(":memory:", check_same_thread=False))
    migrate(db, PAGES_MIGRATIONS, Path(":memory:"))
    return db


_SAVEPOINTS = itertools.count(1)
# Page size of a new archive.db. An article row (its text inline, see the articles table) is
# 2-6 kB: with SQLite's default 4 kB pages one such row fills a page nearly alone, and a larger one
# spills onto an overflow page of its own. Measured on 150,000-200,000 synthetic articles (2.7 kB
# rows): the articles table took 3.9 kB per article at 4 kB pages, 3.0 kB at 16 kB; the whole
# file 6.0 kB, 5.1 kB. The price: a commit writes whole pages, and the authors and tags indexes
# take a few random ones per article, so inserts were ~15 % slower at that size (offset by the
# WAL setting below). Files made earlier keep their page size (WAL mode fixes it).
ARCHIVE_PAGE_SIZE = 16384
# Page cache of a writing connection to archive.db: a sixteenth of the file, between these bounds
# (KiB), set when the archive is opened and kept in step as it grows (see _size_cache). The cache
# is a ceiling the writer fills within ~15,000 articles, so a fixed 64 MiB was most of how much a
# crawl's writer grew (134 -> 196 MB between a 5,000- and a 50,000-article crawl; 32 MiB: 141 ->
# 163), while it only pays on a large archive, whose indexes it holds: at 1.35 M articles 64 MiB
# stored 5,000 articles ~5 % faster than 32 (three pairs, quiet machine), 16 MiB 5-8 % slower
# than 64 at 1 M, and at 50,000 articles 16 MiB cost nothing (4.75 vs 4.92 CPU-s per 5,000).
WRITER_CACHE_MIN_KIB = 16 * 1024
WRITER_CACHE_MAX_KIB = 64 * 1024
# The writer checkpoints its WAL into archive.db once it holds this much, instead of SQLite's
# 1,000 pages. Each commit dirties a few hundred index pages at random places (authors, tags);
# between checkpoints a page rewritten by many commits is copied into the file once, and the two
# fsyncs of a checkpoint are paid less often: measured 20-25 % more articles/s at 200,000.
WRITER_WAL_BYTES = 64 * 1024 * 1024

# The full-text index is a set of segments (FTS5 adds one a commit and merges them by level, ~13
# at a million articles), and every term a search looks up is looked up in each: in one segment
# the two-word searches of benchmarks/bench_search.py at 1.5 M articles took p50 6.2 ms instead
# of 9.4 (two common words p95 6.8 instead of 13.9; with 7 segments 10.6). The end of a crawl,
# an import or a re-extraction merges them when there are this many and the segments besides the
# largest hold SEARCH_MERGE_SHARE of the index: a merge rewrites the whole index (~30 s at 1.5 M
# articles), worth it after a bulk load, not after each day's crawl of a few thousand articles
# (whose hundreds of commits reach 8 segments within the day).
SEARCH_SEGMENTS_MAX = 8
SEARCH_MERGE_SHARE = 0.1
# Index leaf pages (~4 kB) merged a transaction: the WAL stays ~100 MB and another writer can
# take its turn between steps.
SEARCH_MERGE_STEP_PAGES = 20_000


class Archive:
    """An archive: records in `db_path`, raw pages in `pages_path` (default: a sibling file).

    `create=False`: the archive must exist already. `readonly=True`: open for reading only; the
    files are not changed in any way (an older schema is read as it is; a missing raw pages file
    reads as empty). `batch_size` and `batch_seconds` are the defaults of batch().
    """

    def __init__(
        self,
        db_path: str | Path = DEFAULT_DB,
        pages_path: str | Path | None = None,
        *,
        create: bool = True,
        readonly: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_seconds: float = DEFAULT_BATCH_SECONDS,
    ) -> None:
        self.path = Path(db_path)
        self.pages_path = Path(pages_path) if pages_path else default_pages_path(self.path)
        self.readonly = readonly
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self._lock = threading.RLock()
        self._batch_depth = 0
        self._batch_items = 0
        self._began: float | None = None  # when the open batch transaction began (monotonic)
        self._commit_seconds = 0.0  # how long the last commit took (see COMMIT_SPACING)
        self._flusher: threading.Thread | None = None
        self._stop_flusher = threading.Event()
        self._flush_error: BaseException | None = None
        # Set once a write found the files unwritable (a full disk): every later write raises it
        # at once, and close() commits nothing. The articles stored since the last commit (the
        # open batch: outcome, id, fetch_count) are what such a failure may lose.
        self._unwritable: ArchiveUnwritable | None = None
        self._uncommitted: list[tuple[str, int, int]] = []
        self._cache_kib = 0  # the writer's page cache as last set (see _size_cache)
        # The archive's pages_pair.page_id_max as last read or written; None until the pages
        # file is open and checked (writes while opening store no page).
        self._pages_mark: int | None = None
        self._closed = False
        # Opened read-only without the raw pages file its records point into: why, for the
        # commands that report on the archive (stats, health) to say; records stay readable.
        self.pages_missing: str | None = None
        self._has_blocks: bool | None = None
        self._blocks: dict[int, BlockReader] = {}
        self._known_damage: set[int] = set()  # damaged_pages, read at each pack
        # Raw bytes stored alone per site, not yet in whole blocks, and the damage those packs
        # met, said at the end (pack_when_due, crawl_ended).
        self._unpacked: dict[str, int] = {}
        self._damage_met: list[PageDamaged] = []
        if _same_file(self.path, self.pages_path):
            raise NewsarchiveError(f"{self.path}: raw pages need a file of their own")
        # Both files are inspected before either is created or written to.
        db_state = inspect_file(
            self.path,
            ARCHIVE,
            len(ARCHIVE_MIGRATIONS),
            for_writing=not readonly,
            must_exist=readonly or not create,
        )
        if readonly and db_state.fresh:
            raise NewsarchiveError(f"{self.path}: an empty SQLite file, not an archive yet")
        pages_state = inspect_file(
            self.pages_path,
            PAGES,
            len(PAGES_MIGRATIONS),
            for_writing=not readonly,
            must_exist=False,
        )
        self.schema_versions = (db_state.version, pages_state.version)
        if readonly:
            self._open_readonly(pages_state)
        else:
            self._open_for_writing(db_state, pages_state)

    def _open_readonly(self, pages_state: FileState) -> None:
        self.db = connect(self.path, readonly=True)
        try:
            if pages_state.exists and not pages_state.fresh:
                self.pages = connect(self.pages_path, readonly=True)
            else:
                # Records stay readable without their pages (a copy of archive.db alone).
                self.pages = _empty_pages()
                stored = self._pages_stored()
                if stored:
                    self.pages_missing = self._missing_pages(stored)
                return
        except BaseException:
            self.db.close()
            raise
        try:
            self._check_pages_pair(stamp=False)
        except BaseException:
            self.db.close()
            self.pages.close()
            raise

    def _open_for_writing(self, db_state: FileState, pages_state: FileState) -> None:
        if not db_state.exists:
            self._refuse_lost_records(pages_state)
            create_file(
                self.path,
                ARCHIVE,
                self._builder(ARCHIVE_MIGRATIONS, self.path, page_size=ARCHIVE_PAGE_SIZE),
            )
        self.db = connect(self.path, readonly=False)
        try:
            migrate(self.db, ARCHIVE_MIGRATIONS, self.path, application_id=ARCHIVE.application_id)
            # A writer's cache: storing an article updates a dozen b-trees (unique URL, facet
            # indexes, aliases, authors, tags) at random places, and SQLite's default 2 MB cache
            # makes most of those page reads at a million articles (5 GB of file) system calls.
            self._size_cache()
            page_size = self.db.execute("PRAGMA page_size").fetchone()[0]
            self.db.execute(f"PRAGMA wal_autocheckpoint = {WRITER_WAL_BYTES // page_size}")
            # Rows a writer outside Archive left queued for the full-text index (schema v6).
            if self.db.execute(
                "SELECT EXISTS (SELECT 1 FROM articles_fts_queue) "
                "OR EXISTS (SELECT 1 FROM articles_fts_stale)"
            ).fetchone()[0]:
                with self._write(self.db, self.path):
                    pass
            if not pages_state.exists:
                stored = self._pages_stored()
                if stored:
                    raise NewsarchiveError(
                        f"{self._missing_pages(stored)} (a new one would give those ids to "
                        "other pages)"
                    )
                create_file(
                    self.pages_path,
                    PAGES,
                    self._builder(PAGES_MIGRATIONS, self.pages_path, page_size=PAGES_PAGE_SIZE),
                )
            self.pages = connect(self.pages_path, readonly=False)
        except BaseException:
            self.db.close()
            raise
        try:
            found = migrate(
                self.pages, PAGES_MIGRATIONS, self.pages_path, application_id=PAGES.application_id
            )
            self._check_pages_pair(stamp=True)
            if 0 < found < 3:
                self._classify_old_pages()
        except BaseException:
            self.db.close()
            self.pages.close()
            raise

    def _size_cache(self) -> None:
        """The writer's page cache to a sixteenth of archive.db (WRITER_CACHE_MIN_KIB to _MAX_KIB):
        16 MiB up to ~50,000 articles, 64 MiB from ~200,000."""
        try:
            size = self.path.stat().st_size // 16 // 1024
        except OSError:
            return
        kib = min(max(size, WRITER_CACHE_MIN_KIB), WRITER_CACHE_MAX_KIB)
        if kib != self._cache_kib:
            self.db.execute(f"PRAGMA cache_size = -{kib}")
            self._cache_kib = kib

    @staticmethod
    def _builder(migrations: tuple, path: Path, *, page_size: int | None = None):
        def build(db: sqlite_utils.Database) -> None:
            if page_size:
                # The new file is already in WAL mode, which fixes its page size: leave it for
                # the change, which VACUUM applies (instantly: nothing is in the file yet).
                db.conn.execute("PRAGMA journal_mode = DELETE")
                db.conn.execute(f"PRAGMA page_size = {page_size}")
                db.conn.execute("VACUUM")
                db.enable_wal()
            migrate(db, migrations, path)

        return build

    def _missing_pages(self, stored: int) -> str:
        return (
            f"{self.pages_path}: missing: {self.path} stored its raw pages there (ids up to "
            f"{stored}); put that file back beside it"
        )

    def _pages_stored(self) -> int:
        """The highest raw page id this archive has stored in its pages file (schema v10), 0
        for none (or a file from before v10, opened read-only)."""
        try:
            row = self.db.execute("SELECT page_id_max FROM pages_pair").fetchone()
        except sqlite3.OperationalError:
            return 0
        return row[0] if row else 0

    def _check_pages_pair(self, *, stamp: bool) -> None:
        """Refuse a raw pages file that is not this archive's (see schema._archive_v10): one
        stamped by another archive, or one holding fewer pages than this archive stored in its
        own. An unstamped file (from before pages v6, or just created) that passes gets this
        archive's token when `stamp`."""
        try:
            pair = self.db.execute("SELECT token, page_id_max FROM pages_pair").fetchone()
            row = self.pages.execute("SELECT token FROM archive_pair").fetchone()
        except sqlite3.OperationalError:
            return  # files from before archive v10 / pages v6, opened read-only
        if pair is None:
            return
        token, stored = pair
        if row is not None and row[0] != token:
            raise NewsarchiveError(
                f"{self.pages_path}: the raw pages of another archive, not of {self.path}"
            )
        highest = self.pages.execute("SELECT coalesce(max(id), 0) FROM pages").fetchone()[0]
        if highest < stored:
            raise NewsarchiveError(
                f"{self.pages_path}: holds raw pages up to id {highest}, but {self.path} stored "
                f"pages up to id {stored} in its pages file: an older copy of that file (restored "
                "from another backup?) or another one"
            )
        self._pages_mark = stored
        if row is None and stamp:
            with self._write(self.pages, self.pages_path):
                self.pages.execute("INSERT INTO archive_pair(id, token) VALUES (1, ?)", [token])

    def _refuse_lost_records(self, pages_state: FileState) -> None:
        """NewsarchiveError, creating nothing, when archive.db is missing but the raw pages file
        beside it holds an archive's pages: a new archive.db there was refused as "another
        archive's" pages by every later command, and left behind."""
        if not pages_state.exists or pages_state.fresh:
            return
        with contextlib.closing(connect(self.pages_path, readonly=True)) as pages:
            try:
                # Stamped with its archive's token (pages v6): no new archive.db would pass.
                held = pages.execute("SELECT EXISTS (SELECT 1 FROM archive_pair)").fetchone()[0]
            except sqlite3.OperationalError:
                held = False  # an older file, unstamped: the archive made here adopts it
        if held:
            raise NewsarchiveError(
                f"{self.path}: missing, but {self.pages_path} beside it holds the raw pages of "
                f"an archive: restore {self.path.name} from a backup (or move the raw pages "
                "file away to start a new archive)"
            )

    def _note_pages_stored(self) -> None:
        """Record in the open records transaction the highest page id the pages file holds
        (committed just before, or in the same batch): the mark _check_pages_pair checks."""
        if self._pages_mark is None:
            return
        highest = self.pages.conn.execute("SELECT max(id) FROM pages").fetchone()[0]
        if highest is not None and highest > self._pages_mark:
            self.db.conn.execute("UPDATE pages_pair SET page_id_max = ?", [highest])
            self._pages_mark = highest

    def _classify_old_pages(self) -> None:
        """After the page-kinds migration: the pages records point at are articles (with the
        continuations stitched into them); the rest stay unclassified (kind NULL)."""
        ids = [row[0] for row in self.db.execute("SELECT page_id FROM articles WHERE page_id > 0")]
        with self._write(self.pages, self.pages_path):
            self.pages.execute(
                "CREATE TEMP TABLE IF NOT EXISTS article_pages(id INTEGER PRIMARY KEY)"
            )
            self.pages.conn.executemany(
                "INSERT OR IGNORE INTO temp.article_pages(id) VALUES (?)", [(i,) for i in ids]
            )
            self.pages.execute(
                "UPDATE pages SET kind = 'article', kind_reasons = "
                "'[\"its record was in the archive before pages had kinds\"]' "
                "WHERE kind IS NULL AND (id IN (SELECT id FROM temp.article_pages) "
                "OR part_of IN (SELECT id FROM temp.article_pages))"
            )
            self.pages.execute("DROP TABLE temp.article_pages")

    # --- lifecycle and transactions ----------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._stop_flush_thread()
        try:
            with self._lock:
                if not self.readonly and self._unwritable is None:
                    self._commit()
        finally:
            self._closed = True
            self.db.close()
            self.pages.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_writable(self) -> None:
        if self.readonly:
            raise NewsarchiveError(f"{self.path}: opened read-only")

    @contextmanager
    def batch(
        self, size: int | None = None, *, max_seconds: float | None = None
    ) -> Iterator[Archive]:
        """Group writes: one commit per `size` items (default `batch_size`) or per `max_seconds`
        (default `batch_seconds`, 0.2 s; COMMIT_SPACING times the last commit's time when that is
        longer), whichever comes first, instead of one per item.

        Each item stays atomic on its own (a savepoint); items stored before an exception leaves
        the block are committed. A timer thread commits a batch that has been open for
        `max_seconds` even when no item follows (the crawl waiting for the network), so the
        write lock is never held for long; `max_seconds=0` turns the time limit off. Nested
        batches join the outer one.
        """
        self._check_writable()
        if self._batch_depth:
            self._batch_depth += 1
            try:
                yield self
            finally:
                self._batch_depth -= 1
            return
        previous = (self.batch_size, self.batch_seconds)
        self.batch_size = size or self.batch_size
        if max_seconds is not None:
            self.batch_seconds = max_seconds
        self._batch_depth = 1
        self._start_flush_thread()
        try:
            yield self
        finally:
            self._stop_flush_thread()
            with self._lock:
                self._batch_depth = 0
                self.batch_size, self.batch_seconds = previous
                self._commit()

    def flush(self) -> None:
        """Commit what an open batch holds now (the batch goes on)."""
        with self._lock:
            self._commit()

    def _start_flush_thread(self) -> None:
        if self.batch_seconds <= 0:
            return
        self._stop_flusher = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_loop,
            args=(self._stop_flusher,),
            name="newsarchive-batch-commit",
            daemon=True,
        )
        self._flusher.start()

    def _stop_flush_thread(self) -> None:
        if self._flusher is not None:
            self._stop_flusher.set()
            self._flusher.join()
            self._flusher = None

    def _flush_loop(self, stop: threading.Event) -> None:
        interval = max(self.batch_seconds / 4, 0.01)
        while not stop.wait(interval):
            with self._lock:
                if not self._batch_due():
                    continue
                try:
                    self._commit()
                except BaseException as exc:  # reported by the next write, in its thread
                    self._flush_error = exc
                    return

    def _raise_flush_error(self) -> None:
        if self._flush_error is not None:
            error, self._flush_error = self._flush_error, None
            raise error

    def _raise_unwritable(self) -> None:
        """Before an item's writes (under the lock): what stopped the writing before, raised."""
        if self._unwritable is not None:
            raise self._unwritable
        self._raise_flush_error()

    @contextmanager
    def _unwritable_if_fatal(self) -> Iterator[None]:
        """An error that ends all writing (a full disk, a damaged file) as ArchiveUnwritable."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            fatal = self._stopping(exc)
            if fatal is None:
                raise
            raise self._became_unwritable(fatal) from None

    def _begin_batch_transaction(self) -> None:
        """Open the batch's transaction (lazily, at the first write after a commit): the records
        file first, then the pages file, in every process, so two writers cannot deadlock."""
        if self.db.conn.in_transaction:
            return
        retry_busy(lambda: self.db.conn.execute("BEGIN IMMEDIATE"), self.path)
        try:
            retry_busy(lambda: self.pages.conn.execute("BEGIN IMMEDIATE"), self.pages_path)
        except BaseException:
            self.db.conn.rollback()
            raise
        self._began = time.monotonic()
        self._batch_items = 0

    def _commit(self) -> None:
        started = time.monotonic()
        with self._unwritable_if_fatal():
            # Raw pages first: a page without its record can be rebuilt, the reverse cannot.
            if self.pages.conn.in_transaction:
                self.pages.conn.commit()
            if self.db.conn.in_transaction:
                self._note_pages_stored()
                index_queued(self.db)
                self.db.conn.commit()
                self._uncommitted.clear()  # kept, whatever fails after this
                index_committed(self.db)
                self._commit_seconds = time.monotonic() - started
                self._size_cache()
        self._began = None
        self._batch_items = 0
        self._uncommitted.clear()

    def _lost_of_batch(self) -> dict[str, int]:
        """The outcomes of the open batch's articles that are not in the archive, read back:
        a COMMIT that fails may have been written all the same (its last frame in the WAL)."""
        lost: Counter[str] = Counter(outcome for outcome, _, _ in self._uncommitted)
        try:
            for outcome, article_id, fetch_count in self._uncommitted:
                row = self.db.conn.execute(
                    "SELECT fetch_count FROM articles WHERE id = ?", [article_id]
                ).fetchone()
                if row is not None and row[0] >= fetch_count:
                    lost[outcome] -= 1
        except sqlite3.Error:
            pass  # unreadable too: counted lost, the next run fetches them again
        return {outcome: count for outcome, count in lost.items() if count > 0}

    @property
    def unwritable(self) -> ArchiveUnwritable | None:
        """The error that stopped this archive's writes (a full disk), or None."""
        return self._unwritable

    def _stopping(self, exc: BaseException) -> ArchiveUnwritable | None:
        """`exc` as the error that stops every write, or None: the files cannot be written (a
        full disk), or a write met a damaged page (then every item after it would fail on it
        too, each one line of warning, and the crawl would go on fetching for nothing)."""
        fatal = unwritable(exc, self.path)
        if fatal is None and is_damage(exc):
            fatal = damaged_archive(exc, self.path)
        return fatal

    def _became_unwritable(self, error: ArchiveUnwritable) -> ArchiveUnwritable:
        """Stop writing: the open batch is rolled back (SQLite may have undone it already) and
        every later write raises the returned error, which counts what the batch held."""
        if self._unwritable is None:
            for conn in (self.db.conn, self.pages.conn):
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.rollback()
            self._unwritable = ArchiveUnwritable(str(error), lost=self._lost_of_batch())
            self._began = None
            self._batch_items = 0
        return self._unwritable

    def _batch_due(self) -> bool:
        """Whether the open batch has been open long enough to commit by time."""
        if self.batch_seconds <= 0 or self._began is None:
            return False
        spacing = min(COMMIT_SPACING * self._commit_seconds, MAX_SPACING * self.batch_seconds)
        limit = max(self.batch_seconds, spacing)
        return time.monotonic() - self._began >= limit

    def _item_done(self) -> None:
        if not self._batch_depth or self._began is None:
            return
        self._batch_items += 1
        if self._batch_items >= self.batch_size or self._batch_due():
            self._commit()

    @contextmanager
    def _write(self, db: sqlite_utils.Database, path: Path) -> Iterator[None]:
        """A savepoint inside an open transaction, else a BEGIN IMMEDIATE transaction of its own."""
        conn = db.conn
        if conn.in_transaction:
            name = f"item_{next(_SAVEPOINTS)}"
            conn.execute(f"SAVEPOINT {name}")
            try:
                yield
            except BaseException:
                # An error may have ended the whole transaction already (nothing to undo).
                if conn.in_transaction:
                    conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            else:
                conn.execute(f"RELEASE SAVEPOINT {name}")
            return
        retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"), path)
        try:
            yield
            if db is self.db:
                self._note_pages_stored()
                index_queued(db)
            conn.commit()
        except BaseException as exc:
            if conn.in_transaction:
                conn.rollback()
            fatal = self._stopping(exc)
            if fatal is not None:
                raise fatal from None
            raise
        if db is self.db:
            index_committed(db)

    @contextmanager
    def _item(self) -> Iterator[None]:
        # Records first, then pages (the lock order of every writer); leaving the block commits
        # (or releases) pages before the records.
        with self._write(self.db, self.path), self._write(self.pages, self.pages_path):
            yield

    # --- writing -------------------------------------------------------------------------

    def store(
        self,
        raw: RawPage,
        article: Article | None,
        *,
        site: str,
        run_id: int | None = None,
        continuations: Sequence[RawPage] = (),
        columns: dict[str, Any] | None = None,
        extraction_error: str | None = None,
        replay: bool = False,
    ) -> str:
        """Keep the raw page and, if it is an article, its record.

        Returns 'new', 'updated' (content changed; the old version went to `versions`),
        'unchanged', or 'page' (raw page kept, no record: no article, or `article.page_kind` is
        not "article"). The page is stored with its kind (article / listing / other / error /
        unextracted) and the reasons for it. `continuations` are the later pages of a multi-page
        article whose record was stitched from all of them: they are kept as parts of `raw`, so
        re-extraction can stitch them again. `columns`: `article_columns(article)` made already (by an
        extraction worker process, where that work runs beside this one). `extraction_error`:
        why extracting the page raised (`article` is then None): it is kept as "unextracted", for
        `reextract` to try again. `replay`: the page is a capture of the past (an import), so
        one fetched before the article's latest fetch joins its history, not its record (outcome
        'older'); a crawl's page was fetched now, the latest whatever the clock said before.
        Atomic per item: on any error nothing of the item is kept, the failure is recorded and
        StoreError is raised.
        """
        self._check_writable()
        with self._lock:
            self._raise_unwritable()
            if self._batch_depth:
                self._begin_batch_transaction()
            kind, reasons = page_kind(raw, article, extraction_error)
            try:
                with self._item():
                    now = utc_now()
                    page_id, again = self._store_page(
                        raw, site=site, run_id=run_id, now=now, kind=kind, reasons=reasons
                    )
                    for part, later in enumerate(continuations, start=2):
                        part_id, _ = self._store_page(
                            later,
                            site=site,
                            run_id=run_id,
                            now=now,
                            kind=kind,
                            reasons=[f"page {part} of {raw.url}"],
                        )
                        # A page stored before on its own (the same URL and bytes, met alone
                        # first) is linked too: else re-extraction stitched the article
                        # without it.
                        self.pages.execute(
                            "UPDATE pages SET part_of = ?, part = ? "
                            "WHERE id = ? AND part_of IS NULL AND id != ?",
                            [page_id, part, part_id, page_id],
                        )
                    record = article if kind == "article" else None
                    outcome, article_id, fetch_count = self._store_article(
                        raw,
                        record,
                        page_id=page_id,
                        site=site,
                        now=now,
                        columns=columns,
                        replay=replay,
                        again=again,
                    )
                    if again and outcome == "page":
                        outcome = "known"  # this very capture, archived before
                    if kind in SOFT_GONE_KINDS and _redirected(raw):
                        # An archived article's URL now leads to the home page or a section: the
                        # site took it down without saying 404 (a "soft" takedown).
                        self._mark_gone(raw.url, utc_iso(raw.fetched_at) or now)
                    elif kind == "error" and raw.status in GONE_STATUSES:
                        # Its 404 kept as a page (an import of a later capture): gone since then.
                        self._mark_gone(raw.url, utc_iso(raw.fetched_at) or now)
            except Exception as exc:
                fatal = self._stopping(exc)
                if fatal is not None:
                    raise self._became_unwritable(fatal) from None
                reason = f"could not store: {type(exc).__name__}: {exc}"
                self.record_failure(raw.url, reason, status=raw.status, run_id=run_id, site=site)
                self._item_done()
                raise StoreError(f"{raw.url}: {reason}") from exc
            if self._began is not None and article_id is not None:
                self._uncommitted.append((outcome, article_id, fetch_count))
            # A batch commit that fails here decides this item's fate with its batch's (read
            # back into the error's `lost`): its outcome is returned, the next write raises.
            with contextlib.suppress(ArchiveUnwritable):
                self._item_done()
            return outcome

    def _store_article(
        self,
        raw: RawPage,
        article: Article | None,
        *,
        page_id: int,
        site: str,
        now: str,
        columns: dict[str, Any] | None = None,
        keep_later: bool = False,
        replay: bool = False,
        again: bool = False,
    ) -> tuple[str, int | None, int]:
        """(outcome, the article's id, its fetch_count now); no id for a page without a record.
        `keep_later` (a page extracted long after it was stored): a record of the article from
        a later page is left as it is, outcome "older". `replay`: see store. `again`: this
        capture was stored before; if its record shows it, outcome "known" and nothing changes
        (a capture imported twice is no second fetch), else it is recorded now (the records
        of a crawl whose pages were committed and whose records were not: a full disk)."""
        fetched = utc_iso(raw.fetched_at) or now
        if article is None:
            return "page", None, 0
        columns = columns if columns is not None else article_columns(article)
        canonical = _canonical(article, raw.final_url or raw.url)
        source = canonical or raw.final_url or raw.url
        key = normalize_url(source)
        aliases = {key}
        for url in (raw.url, raw.final_url):
            if url:
                # Most pages are stored under their canonical URL: normalised once.
                aliases.add(key if url == source else normalize_url(url))
        seen = {"page_url": raw.url, "final_url": raw.final_url, "page_id": page_id}
        existing = self._find_article(key, aliases, lenient=True)
        if (
            existing is not None
            and existing["content_hash"] != columns["content_hash"]  # unchanged: one story
            and not _same_story(existing, columns)
        ):
            own = aliases - {key}
            if existing["url"] != key:
                # Found by the URL asked for alone, a page whose own (canonical) URL is another
                # and whose story is another: the site now serves another article there (a
                # reused URL, a page saved under a wrong name). That article gets a record of
                # its own; the archived one keeps its text (updating it gave one article's URL
                # another's).
                existing = None
            elif own and not self._names_article(existing["id"], own):
                # Found by the canonical URL alone, from another URL, with another story: a site
                # pointing every page's canonical at a section front or at one article. Keyed
                # by that, each article overwrote the one before. This one is keyed by its own
                # URL; the canonical URL keeps naming the first.
                key = normalize_url(raw.final_url or raw.url)
                aliases = own
                existing = self._find_article(key, aliases, lenient=True)
        moved_from = None
        if _redirected(raw):
            # An archived article's URL now redirects. To the same story (its URL moved): one
            # record, whichever of its URLs was archived first. To another page (a short
            # section front read as an article, another story): the archived article was
            # taken down and keeps its own text; the page it leads to is kept raw, no record
            # (an article there is archived when the crawl finds it at its own URL).
            asked = normalize_url(raw.url)
            before = self._find_article(asked, {asked}, lenient=True)
            if before is not None and before["site"] == site:
                if not _same_story(before, columns):
                    self._mark_gone(raw.url, fetched)
                    return "page", None, 0
                if existing is not None and existing["id"] != before["id"]:
                    moved_from = before
        if keep_later and existing is not None and (existing["page_id"] or 0) > page_id:
            return "older", existing["id"], existing["fetch_count"]
        captured = fetched if raw.fetched_at is not None else None  # None: a saved file's
        if again and existing is not None and self._records_capture(existing, columns, captured):
            return "known", existing["id"], existing["fetch_count"]
        if (
            replay
            and existing is not None
            and moved_from is None
            and fetched < existing["last_seen"]
        ):
            # A capture from before the record's latest fetch: a backfill (an older WARC
            # imported into an archive crawled since). Stored as the latest, it made an old
            # text the article's current one, its page the one `reextract` reads.
            self._add_aliases(existing["id"], aliases)
            return "older", existing["id"], self._store_older(existing, columns, fetched)
        if existing is None:
            article_id = _insert(
                self.db,
                "articles",
                {
                    "url": key,
                    "site": site,
                    **columns,
                    **seen,
                    "content_since": fetched,
                    "first_seen": fetched,
                    "last_seen": fetched,
                    "fetch_count": 1,
                },
            )
            outcome, fetch_count = "new", 1
        else:
            article_id = existing["id"]
            update = {
                **columns,
                **seen,
                "last_seen": max(existing["last_seen"], fetched),
                "fetch_count": existing["fetch_count"] + 1,
            }
            if existing.get("gone_since") is not None and fetched >= existing["gone_since"]:
                # Back on the site (an older copy imported late says nothing of now).
                update["gone_since"] = None
            fetch_count = update["fetch_count"]
            if existing["content_hash"] == columns["content_hash"]:
                outcome = "unchanged"
            else:
                # When the site's new text was fetched (an import's capture time, not the
                # import's).
                self._keep_version(existing, replaced_at=fetched, reason="refetch")
                update["content_since"] = fetched
                outcome = "updated"
            _update(self.db, "articles", article_id, update)
        if moved_from is not None:
            fetch_count = self._merge_moved(moved_from, article_id, when=fetched)
        self._add_aliases(article_id, aliases)
        return outcome, article_id, fetch_count

    def _records_capture(
        self, record: dict[str, Any], columns: dict[str, Any], fetched: str | None
    ) -> bool:
        """Whether the article's record or one of its versions holds this capture's text over a
        stretch of time that takes in `fetched` (None, a saved page's unknown fetch time: at
        any time)."""
        digest = columns["content_hash"]
        if record["content_hash"] == digest:
            return fetched is None or record["content_since"] <= fetched <= record["last_seen"]
        return (
            self.db.conn.execute(
                "SELECT 1 FROM versions WHERE article_id = ? AND content_hash = ? "
                "AND coalesce(? BETWEEN seen_from AND seen_until, 1) LIMIT 1",
                [record["id"], digest, fetched],
            ).fetchone()
            is not None
        )

    def _store_older(self, record: dict[str, Any], columns: dict[str, Any], fetched: str) -> int:
        """A capture fetched before the `record`'s latest fetch joins the article's history,
        not its current record (which keeps the latest capture's text and page): the text is
        known to have been there at `fetched`. Inside a stretch that held the same text, nothing
        changes; else the stretch right after or right before it that held the same text
        reaches back or on to it, or, with neither, it becomes a version of its own, replaced
        when the next text was first seen. Returns the article's fetch_count now."""
        conn = self.db.conn
        digest = columns["content_hash"]
        # Stretches of one text, each (first seen, last seen, content hash, version id): the
        # versions the site's changes made, and the current text.
        stretches = [
            tuple(row)
            for row in conn.execute(
                "SELECT seen_from, seen_until, content_hash, id FROM versions "
                "WHERE article_id = ? AND reason IN ('refetch', 'moved', 'older capture')",
                [record["id"]],
            )
        ]
        stretches.append(
            (record["content_since"], record["last_seen"], record["content_hash"], None)
        )
        holding = [s for s in stretches if s[0] <= fetched <= s[1]]
        after = min((s for s in stretches if s[0] > fetched), default=None)
        before = max((s for s in stretches if s[1] < fetched), key=lambda s: s[1], default=None)
        starts_here = False  # this text is the first seen from `fetched` on
        if any(s[2] == digest for s in holding):
            pass
        elif not holding and after is not None and after[2] == digest:
            if after[3] is None:
                conn.execute(
                    "UPDATE articles SET content_since = ? WHERE id = ?", [fetched, record["id"]]
                )
            else:
                conn.execute("UPDATE versions SET seen_from = ? WHERE id = ?", [fetched, after[3]])
            starts_here = True
        elif not holding and before is not None and before[2] == digest and before[3] is not None:
            conn.execute("UPDATE versions SET seen_until = ? WHERE id = ?", [fetched, before[3]])
        else:
            older = {
                **columns,
                "id": record["id"],
                "url": record["url"],
                "content_since": fetched,
                "last_seen": fetched,
            }
            replaced = after[0] if after is not None else record["last_seen"]
            self._keep_version(older, replaced_at=replaced, reason="older capture")
            starts_here = not holding
        if starts_here and before is not None and before[3] is not None:
            # The text before was replaced by this one from then on, not later.
            conn.execute(
                "UPDATE versions SET replaced_at = min(replaced_at, ?) WHERE id = ?",
                [fetched, before[3]],
            )
        conn.execute(
            "UPDATE articles SET first_seen = min(first_seen, ?), fetch_count = fetch_count + 1 "
            "WHERE id = ?",
            [fetched, record["id"]],
        )
        return record["fetch_count"] + 1

    def _merge_moved(self, old: dict[str, Any], into: int, *, when: str) -> int:
        """One story archived as two records (its URL moved, and the new URL was archived
        before the old one was seen redirecting to it): `old` becomes a version of `into`, its
        versions and URLs go to it, and it is deleted. Returns `into`'s fetch_count now."""
        conn = self.db.conn
        self._keep_version(old, replaced_at=when, reason="moved")
        conn.execute("UPDATE versions SET article_id = ? WHERE article_id = ?", [into, old["id"]])
        conn.execute(
            "UPDATE article_urls SET article_id = ? WHERE article_id = ?", [into, old["id"]]
        )
        conn.execute("DELETE FROM articles WHERE id = ?", [old["id"]])
        conn.execute(
            "UPDATE articles SET first_seen = min(first_seen, ?), "
            "fetch_count = fetch_count + ? WHERE id = ?",
            [old["first_seen"], old["fetch_count"], into],
        )
        return conn.execute("SELECT fetch_count FROM articles WHERE id = ?", [into]).fetchone()[0]

    def _store_page(
        self,
        raw: RawPage,
        *,
        site: str,
        run_id: int | None,
        now: str,
        kind: str,
        reasons: list[str],
    ) -> tuple[int, bool]:
        """Keep the page (once per distinct body and URL) and log the fetch; (page id, whether
        this very capture was archived already: the same page with a fetch at the same time, or
        both without one, which is logged once).

        A page stored again keeps the kind it was first stored with (page rows are never
        updated, see the pages schema)."""
        body = raw.body if isinstance(raw.body, bytes) else str(raw.body).encode("utf-8")
        digest = hashlib.sha256(body).hexdigest()
        found = self.pages.execute(
            "SELECT id FROM pages WHERE url = ? AND sha256 = ?", [raw.url, digest]
        ).fetchone()
        fetched_at = utc_iso(raw.fetched_at)
        if found:
            page_id = found[0]
            if self._known_damage_anywhere():
                self._heal(page_id, body)
            if self.pages.execute(
                "SELECT 1 FROM fetches WHERE page_id = ? AND fetched_at IS ? LIMIT 1",
                [page_id, fetched_at],
            ).fetchone():
                return page_id, True
        else:
            blob, codec = compress(body)
            headers = json.dumps(dict(raw.headers or {}), ensure_ascii=False, default=str)
            page_id = _insert(
                self.pages,
                "pages",
                {
                    "url": raw.url,
                    "final_url": raw.final_url,
                    "status": raw.status,
                    "headers": headers,
                    "encoding": raw.encoding,
                    "fetched_at": fetched_at,
                    "stored_at": now,
                    "site": site,
                    "run_id": run_id,
                    "size": len(body),
                    "sha256": digest,
                    "compression": codec,
                    "kind": kind,
                    "kind_reasons": json.dumps(reasons, ensure_ascii=False),
                    "body": b"",  # in page_bodies until packed (see the pages schema, v4)
                },
            )
            self.pages.execute(
                "INSERT INTO page_bodies(page_id, data) VALUES (?, ?)", [page_id, blob]
            )
            self._unpacked[site] = self._unpacked.get(site, 0) + len(body)
        fetch = {"page_id": page_id, "fetched_at": fetched_at, "stored_at": now}
        _insert(self.pages, "fetches", {**fetch, "status": raw.status, "run_id": run_id})
        return page_id, False

    def _find_article(
        self, key: str, aliases: set[str], *, lenient: bool = False
    ) -> dict[str, Any] | None:
        """The article stored under `key`, else under any alias, else under the other scheme.

        The last step catches a site's move from http to https: an article archived in the http
        years is the same article when its https URL comes back.
        """
        # Plain cursors, not Database.query(): that wraps every read in a savepoint of its own,
        # three per stored article. One look-up covers the aliases and the other scheme.
        row = self._article_where("url = ?", [key], lenient=lenient)
        if row is not None:
            return row
        other = {_other_scheme(url) for url in aliases | {key}} - {None} - aliases
        found = self.db.conn.execute(
            f"SELECT url, article_id FROM article_urls WHERE url IN "
            f"({', '.join('?' for _ in aliases | other)})",
            sorted(aliases | other),
        ).fetchall()
        for candidates in (aliases, other):
            for article_id in sorted({found_id for url, found_id in found if url in candidates}):
                row = self._article_where("id = ?", [article_id], lenient=lenient)
                if row is not None:
                    return row
        return None

    def _article_where(
        self, condition: str, params: list[Any], *, lenient: bool = False
    ) -> dict[str, Any] | None:
        """`lenient`: for the writers that replace the record (a refetch, a re-extraction);
        readers that show it get SQLite's error, which the CLI names as damage."""
        try:
            cursor = self.db.conn.execute(f"SELECT * FROM articles WHERE {condition}", params)
            row = cursor.fetchone()
        except sqlite3.OperationalError as exc:
            if not lenient or "Could not decode" not in str(exc):
                raise
            # Text garbled on disk into bytes that are no UTF-8 (verify names the record): read
            # as it is, so a re-extraction can replace it, its bytes kept as the old version.
            conn = self.db.conn
            text_factory, conn.text_factory = conn.text_factory, lenient_text
            try:
                cursor = conn.execute(f"SELECT * FROM articles WHERE {condition}", params)
                row = cursor.fetchone()
            finally:
                conn.text_factory = text_factory
        if row is None:
            return None
        return dict(zip([column[0] for column in cursor.description], row, strict=True))

    def _names_article(self, article_id: int, urls: set[str]) -> bool:
        """Whether any of `urls` is one of the article's own (article_urls)."""
        return (
            self.db.conn.execute(
                f"SELECT 1 FROM article_urls WHERE article_id = ? AND url IN "
                f"({', '.join('?' for _ in urls)}) LIMIT 1",
                [article_id, *sorted(urls)],
            ).fetchone()
            is not None
        )

    def _add_aliases(self, article_id: int, aliases: set[str]) -> None:
        # First come, first kept: a URL already naming another article keeps naming it.
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO article_urls(url, article_id) VALUES (?, ?)",
            [(alias, article_id) for alias in sorted(aliases)],
        )

    def _keep_version(self, old: dict[str, Any], *, replaced_at: str, reason: str) -> None:
        _insert(
            self.db,
            "versions",
            {
                "article_id": old["id"],
                "url": old["url"],
                "content_hash": old["content_hash"],
                "seen_from": old["content_since"],
                "seen_until": old["last_seen"],
                "replaced_at": replaced_at,
                "reason": reason,
                "extractor_version": old["extractor_version"],
                **{column: _as_stored(old[column]) for column in CONTENT_COLUMNS},
            },
        )

    def start_run(
        self, site: str, settings: dict[str, Any], *, plan_entry: dict[str, Any] | None = None
    ) -> int:
        """Open a `crawl_runs` row; returns its id for finish_run(), store() and record_failure().

        `settings["profile"]`, the path of the profile file the crawl ran with, is what
        `reextract` uses to rebuild the run's records with the same profile. `plan_entry` is the
        plan file's entry the run was made for (`newsarchive run`), kept for citation."""
        from newsarchive import __version__

        self._check_writable()
        with self._lock, self._write(self.db, self.path):
            self._end_dead_runs()
            return _insert(
                self.db,
                "crawl_runs",
                {
                    "site": site,
                    "started": utc_now(),
                    "owner": this_process(),
                    "settings": json.dumps(
                        settings, ensure_ascii=False, sort_keys=True, default=str
                    ),
                    "version": __version__,
                    "plan_entry": (
                        json.dumps(plan_entry, ensure_ascii=False, sort_keys=True, default=str)
                        if plan_entry
                        else None
                    ),
                },
            )

    def dead_runs(self, site: str | None = None) -> list[int]:
        """Unfinished runs (of `site`) whose owner, a process of this machine, is gone: killed
        (the OOM killer, a reboot, kill -9) before it could end its run. Another machine's runs
        are not judged."""
        try:
            rows = self.db.execute(
                "SELECT id, owner FROM crawl_runs WHERE finished IS NULL AND owner IS NOT NULL"
                + (" AND site = ?" if site is not None else ""),
                [site] if site is not None else [],
            ).fetchall()
        except sqlite3.OperationalError:  # an archive from before owners (read as it is)
            return []
        return [run_id for run_id, owner in rows if owner_alive(owner) is False]

    def _end_dead_runs(self) -> None:
        """End the dead runs as DIED (in the open write): at their last trace (a page stored, a
        failure), with the pages they stored and the failures they met."""
        for run_id in self.dead_runs():
            (started,) = self.db.execute(
                "SELECT started FROM crawl_runs WHERE id = ?", [run_id]
            ).fetchone()
            fetched, last_fetch = self.pages.execute(
                "SELECT count(*), max(stored_at) FROM fetches WHERE run_id = ?", [run_id]
            ).fetchone()
            failed, last_failure = self.db.execute(
                "SELECT count(*), max(at) FROM failures WHERE run_id = ?", [run_id]
            ).fetchone()
            _update(
                self.db,
                "crawl_runs",
                run_id,
                {
                    "finished": max(t for t in (started, last_fetch, last_failure) if t),
                    "finish_reason": DIED,
                    "pages_fetched": fetched,
                    "failures": failed,
                },
            )

    def reopen_runs(self, run_ids: Iterable[int]) -> None:
        """This process continues `run_ids` (a shared crawl resumed): it owns them now, and one
        ended as DIED while nobody wrote it is unfinished again."""
        self._check_writable()
        owner = this_process()
        with self._lock:
            with self._write(self.db, self.path):
                self.db.conn.executemany(
                    "UPDATE crawl_runs SET owner = ?, finished = CASE WHEN finish_reason = ? "
                    "THEN NULL ELSE finished END, finish_reason = CASE WHEN finish_reason = ? "
                    "THEN NULL ELSE finish_reason END WHERE id = ?",
                    [(owner, DIED, DIED, run_id) for run_id in run_ids],
                )
            # Inside a batch: visible now, as a finished run is.
            self._commit()

    def finish_run(
        self,
        run_id: int,
        *,
        pages_fetched: int,
        articles_new: int,
        articles_updated: int,
        articles_unchanged: int,
        failures: int,
        finish_reason: str | None = None,
        tally: RunTally | None = None,
        recheck_until: str | None = None,
    ) -> None:
        """Close the run row with its counts, why it ended, (from `tally`) the fill-rates and
        page kinds of what it stored, and where its rechecks stopped (stale_articles) when it
        finished."""
        self._check_writable()
        changes: dict[str, Any] = {
            "finished": utc_now(),
            "pages_fetched": pages_fetched,
            "articles_new": articles_new,
            "articles_updated": articles_updated,
            "articles_unchanged": articles_unchanged,
            "failures": failures,
            "finish_reason": finish_reason,
        }
        if recheck_until is not None and finish_reason == "finished":
            # Where the run's rechecks stopped, once they had their turn: a run stopped, or cut
            # by --max-pages (rechecks come last), leaves them to the next.
            changes["recheck_until"] = recheck_until
        if tally is not None:
            changes["articles_seen"] = tally.articles
            changes["fill_rates"] = json.dumps(tally.fill_rates())
            changes["page_kinds"] = json.dumps(dict(sorted(tally.kinds.items())))
        with self._lock:
            with self._write(self.db, self.path):
                _update(self.db, "crawl_runs", run_id, changes)
            # Inside a batch: the finished run (and everything before it) is visible now.
            self._commit()

    def record_failure(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        run_id: int | None = None,
        site: str | None = None,
    ) -> None:
        """Note that `url` could not be fetched, extracted or stored, and why. A 404 or 410 at an
        archived article (a revisit) marks it gone from the site: `gone_since`, the first time."""
        self._check_writable()
        with self._lock, self._write(self.db, self.path):
            now = utc_now()
            _insert(
                self.db,
                "failures",
                {
                    "url": url,
                    "at": now,
                    "reason": reason,
                    "status": status,
                    "site": site,
                    "run_id": run_id,
                },
            )
            if status in GONE_STATUSES:
                self._mark_gone(url, now)

    def mark_gone(self, url: str, when: str) -> bool:
        """The archived article at `url` is gone from its site since `when` (a stored time), as
        another archive's WARC export says; whether an article was marked (see _mark_gone)."""
        self._check_writable()
        with self._lock, self._write(self.db, self.path):
            return self._mark_gone(url, when)

    def _mark_gone(self, url: str, when: str) -> bool:
        """The archived article at `url`, if any, is gone from its site since `when` (unless it
        was already, or was fetched after `when`: an old capture imported late)."""
        key = normalize_url(url)
        found = self._find_article(key, {key}, lenient=True)
        if found is not None and found.get("gone_since") is None and found["last_seen"] <= when:
            _update(self.db, "articles", found["id"], {"gone_since": when})
            return True
        return False

    # --- a shared crawl's writer (newsarchive.distributed.writer) -------------------------

    def begin_shared_batch(self) -> None:
        """Open the batch's transaction now (inside `batch()`), so every item stored up to the
        next flush() — failures included, whose rows would otherwise commit on their own — is
        committed together with record_shared_batch()."""
        self._check_writable()
        with self._lock:
            if not self._batch_depth:
                raise NewsarchiveError("begin_shared_batch() outside batch()")
            self._begin_batch_transaction()

    def shared_items_stored(self, item_ids: Sequence[str]) -> set[str]:
        """Which of these shared-crawl items are in the archive already (a replayed batch)."""
        found: set[str] = set()
        ids = list(item_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                row[0]
                for row in self.db.execute(
                    f"SELECT item_id FROM shared_items WHERE item_id IN ({marks})", chunk
                )
            )
        return found

    def record_shared_batch(
        self, items: Sequence[tuple[str, int | None]], progress: dict[int, str]
    ) -> None:
        """In the open batch transaction: these (item id, run id) are stored, and each run's
        progress (JSON) is now this. Committed by the next flush() with the items themselves."""
        self._check_writable()
        with self._lock, self._write(self.db, self.path):
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO shared_items(item_id, run_id) VALUES (?, ?)", items
            )
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO shared_progress(run_id, progress) VALUES (?, ?)",
                list(progress.items()),
            )

    def run_ends(self, run_ids: Iterable[int]) -> dict[int, tuple[str, str | None]]:
        """(site, finish_reason) of each of `run_ids` this archive has a row for."""
        ids = list(run_ids)
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT id, site, finish_reason FROM crawl_runs WHERE id IN ({marks})", ids
        ).fetchall()
        return {run_id: (site, reason) for run_id, site, reason in rows}

    def shared_progress(self, run_id: int) -> str | None:
        row = self.db.execute(
            "SELECT progress FROM shared_progress WHERE run_id = ?", [run_id]
        ).fetchone()
        return row[0] if row else None

    def forget_shared_items(self, run_id: int) -> None:
        """The run's crawl is over: its item ids are no longer needed (its progress stays)."""
        self._check_writable()
        with self._lock, self._write(self.db, self.path):
            self.db.execute("DELETE FROM shared_items WHERE run_id = ?", [run_id])
        with self._lock:
            self._commit()

    # --- reading -------------------------------------------------------------------------

    def fetch_states(self, site: str | None = None) -> Iterator[tuple[str, FetchState]]:
        """Per normalised URL (request, final and canonical URL of each article): what is known,
        streamed (a shared crawl publishes it for its workers; a crawl in one process asks
        KnownUrls one URL at a time)."""
        sql = (
            "SELECT u.url, a.id, a.first_seen, a.last_seen, a.published, a.fetch_count, "
            "a.gone_since FROM article_urls u JOIN articles a ON a.id = u.article_id"
        )
        params: list[Any] = []
        if site is not None:
            sql += " WHERE a.site = ?"
            params.append(site)
        garbled: set[int] = set()
        for url, article_id, *row in self.db.execute(sql, params):
            state = readable_state(row)
            if state is not None:
                yield url, state
            elif article_id not in garbled:  # fetched again, as KnownUrls.get answers
                garbled.add(article_id)
                warn_garbled(self.path, article_id, row)

    def article(self, url: str) -> dict[str, Any] | None:
        """The `articles` row reached by `url` (any of its URLs, any spelling), or None."""
        key = normalize_url(url)
        return self._find_article(key, {key})

    def versions(self, article_id: int) -> list[dict[str, Any]]:
        return list(
            self.db.query("SELECT * FROM versions WHERE article_id = ? ORDER BY id", [article_id])
        )

    def raw_page(self, page_id: int) -> tuple[dict[str, Any], bytes] | None:
        """A stored page's metadata and its body bytes, decompressed."""
        rows = list(self.pages.query("SELECT * FROM pages WHERE id = ?", [page_id]))
        if not rows:
            return None
        row = rows[0]
        body = self._body(
            page_id, row.pop("body"), row["compression"], row.get("block_id"),
            row.get("block_offset"), row["size"], row["sha256"],
        )  # fmt: skip
        return row, body

    def stored_page_bytes(self) -> int:
        """Bytes the raw pages take compressed: bodies alone, and blocks."""
        tables = {row[0] for row in self.pages.execute("SELECT name FROM sqlite_master")}
        total = self.pages.execute("SELECT coalesce(sum(length(body)), 0) FROM pages").fetchone()[0]
        for table, column in (("page_bodies", "data"), ("blocks", "data")):
            if table in tables:
                total += self.pages.execute(
                    f"SELECT coalesce(sum(length({column})), 0) FROM {table}"
                ).fetchone()[0]
        return total

    def count(self, table: str = "articles") -> int:
        db = self.pages if table in ("pages", "fetches") else self.db
        return db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]

    def pages_by_kind(self) -> dict[str, int]:
        """Raw pages per kind; "unclassified" counts pages stored before pages had kinds."""
        columns = {row[1] for row in self.pages.execute("PRAGMA table_info(pages)")}
        if "kind" not in columns:  # an older pages file, opened read-only: not migrated
            total = self.count("pages")
            return {"unclassified": total} if total else {}
        # Grouped by the column itself: SQLite then reads the kind index in order (0.06 s at a
        # million pages; an expression there took a sort, 0.3 s).
        counts = self.pages.execute("SELECT kind, count(*) FROM pages GROUP BY kind").fetchall()
        named = [(kind or "unclassified", count) for kind, count in counts]
        return dict(sorted(named, key=lambda pair: (-pair[1], pair[0])))

    # --- re-extraction: the caller extracts (newsarchive.importing.reextract), we store -------

    def reextract_targets(
        self, *, site: str | None = None, since: str | None = None
    ) -> ReextractTargets:
        """The articles to rebuild, each from its latest raw page, with the profile file its
        crawl ran with, and the unextracted pages to try again (`.unextracted` of them): `len()`
        is their number, and iterating gives them (again on each pass).

        `since` (a date or UTC text, see records.parse_since) keeps the pages fetched (imports:
        stored) on or after it.

        In reading order: block by block, and by page id within a block and among pages stored
        alone, so a reader inflates each packed block once (the block cache holds two) instead
        of once per page when sites' pages interleave. Pages alone come first; ties (articles
        sharing a page) by article id.
        """
        scratch = ReextractTargets()
        try:
            scratch.fill(self, site=site, since=since)
        except BaseException:
            scratch.close()
            raise
        return scratch

    def article_pages(self, page_id: int) -> list[RawPage]:
        """The raw page `page_id` and, for a multi-page article, its later pages in order.
        Raises PageDamaged for a page that cannot be read back as it was stored."""
        texts = _page_texts_as_bytes(_ARTICLE_PAGE_TEXTS)
        cursor = self.pages.execute(
            f"SELECT id, status, compression, body, {self._block_columns()}, size, {texts} "
            "FROM pages WHERE id = ? OR part_of = ? ORDER BY coalesce(part, 1)",
            [page_id, page_id],
        )
        names = [description[0] for description in cursor.description]
        pages = []
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            self._decode_page_texts(row)
            pages.append(
                RawPage(
                    url=row["url"],
                    body=self._body(
                        row["id"],
                        row["body"],
                        row["compression"],
                        row["block_id"],
                        row["block_offset"],
                        row["size"],
                        row["sha256"],
                    ),
                    final_url=row["final_url"],
                    status=row["status"],
                    headers=json.loads(row["headers"]),
                    fetched_at=parse_stored_time(row["fetched_at"]),
                    encoding=row["encoding"],
                )
            )
        return pages

    def _decode_page_texts(self, row: dict[str, Any]) -> None:
        """A raw page row's text columns, read as bytes (CAST AS BLOB), decoded in place.
        Raises PageDamaged for one that is no longer UTF-8 (bytes garbled inside a page SQLite
        still reads): sqlite3's own decoding raised an error that named no page and no file; and
        for a time among them that is no time."""
        for name in _PAGE_TEXT_COLUMNS:
            value = row.get(name)
            if isinstance(value, bytes):
                try:
                    row[name] = value.decode()
                except UnicodeDecodeError:
                    raise PageDamaged(
                        f"{self.pages_path}: raw page {row['id']} is damaged (its {name} is no "
                        "longer UTF-8 text)",
                        row["id"],
                    ) from None
        for name in ("fetched_at", "stored_at"):  # read back as times (re-extraction, export)
            try:
                parse_stored_time(row.get(name))
            except GarbledValue as exc:
                raise PageDamaged(
                    f"{self.pages_path}: raw page {row['id']} is damaged (its {name}: {exc})",
                    row["id"],
                ) from None

    def article_row(self, article_id: int, *, lenient: bool = False) -> dict[str, Any] | None:
        return self._article_where("id = ?", [article_id], lenient=lenient)

    def apply_reextraction(
        self, article_id: int, article: Article, *, columns: dict[str, Any] | None = None
    ) -> ReextractResult:
        """Replace the record `article_id` with `article`, a fresh extraction of its raw pages.

        A record whose fields changed is updated; if its content changed, the old content is kept
        in `versions`. A page the extractor no longer judges an article leaves its record as it
        was (`not_article` says why). Atomic; inside a batch like store().

        `columns`: `article_columns(article)` made already (by a reextract worker process, where
        it costs the writer nothing: it is a third of the writer's time per record).
        """
        self._check_writable()
        with self._lock:
            self._raise_unwritable()
            old = self.article_row(article_id, lenient=True)
            if old is None:
                return ReextractResult(
                    article_id=article_id, url="", error=f"article {article_id} is gone"
                )
            result = ReextractResult(article_id=article_id, url=old["url"])
            if article.page_kind != "article":
                reasons = "; ".join(article.kind_reasons) or "no reason given"
                result.not_article = f"now judged a {article.page_kind} page ({reasons})"
                return result
            if self._batch_depth:
                self._begin_batch_transaction()
            with self._unwritable_if_fatal(), self._write(self.db, self.path):
                self._apply_reextraction(old, article, result, columns)
            self._item_done()
            return result

    def apply_page_extraction(
        self, page_id: int, article: Article, *, columns: dict[str, Any] | None = None
    ) -> ReextractResult:
        """File the unextracted page `page_id` under what `article`, its extraction now, makes
        of it: an article gets its record, as the crawl would have stored it (a record of the
        same article from a later fetch is left as it is: "older"); another page gets its kind.
        Atomic; inside a batch like store()."""
        self._check_writable()
        with self._lock:
            self._raise_unwritable()
            found = self.pages.execute(
                "SELECT url, final_url, status, fetched_at, site, kind FROM pages WHERE id = ?",
                [page_id],
            ).fetchone()
            if found is None or found[5] != UNEXTRACTED:
                why = "is gone" if found is None else f"is a {found[5]} page already"
                return ReextractResult(0, "", page_id=page_id, error=f"page {page_id} {why}")
            url, final_url, status, fetched_at, site, _kind = found
            raw = RawPage(
                url=url,
                body=b"",  # not read: the record's keys come from the URLs and the article
                final_url=final_url,
                status=status,
                fetched_at=parse_stored_time(fetched_at),
            )
            require_headline_and_body(article)
            kind, reasons = page_kind(raw, article)
            result = ReextractResult(0, url, page_id=page_id)
            if self._batch_depth:
                self._begin_batch_transaction()
            with self._unwritable_if_fatal(), self._item():
                if kind == "article":
                    outcome, article_id, _count = self._store_article(
                        raw,
                        article,
                        page_id=page_id,
                        site=site or "local",
                        now=utc_now(),
                        columns=columns,
                        keep_later=True,
                    )
                    assert article_id is not None  # a record was given
                    result.article_id = article_id
                    result.recovered = outcome
                    if outcome == "older":
                        reasons.append(f"its record (article {article_id}) is of a later fetch")
                else:
                    reasons_text = "; ".join(reasons) or "no reason given"
                    result.recovered = "page"
                    result.not_article = f"now judged a {kind} page ({reasons_text})"
                _update(
                    self.pages,
                    "pages",
                    page_id,
                    {"kind": kind, "kind_reasons": json.dumps(reasons, ensure_ascii=False)},
                )
                # Its later pages (a multi-page article) were stored under its kind.
                self.pages.execute("UPDATE pages SET kind = ? WHERE part_of = ?", [kind, page_id])
            self._item_done()
            return result

    def _apply_reextraction(
        self,
        old: dict[str, Any],
        article: Article,
        result: ReextractResult,
        columns: dict[str, Any] | None = None,
    ) -> None:
        if columns is None:
            columns = article_columns(article)
        for column in RECORD_COLUMNS:
            before, after = old[column], columns[column]
            if before == after:
                continue
            if is_empty(before) and is_empty(after):
                continue
            if is_empty(before):
                result.filled.append(column)
            elif is_empty(after):
                result.emptied.append(column)
            else:
                result.changed.append(column)
        if not result.touched and old["extractor_version"] == columns["extractor_version"]:
            return
        update = dict(columns)
        if old["content_hash"] != columns["content_hash"]:
            now = utc_now()
            self._keep_version(old, replaced_at=now, reason="reextract")
            update["content_since"] = now
            result.new_version = True
        _update(self.db, "articles", old["id"], update)
        canonical = _canonical(article, old["final_url"] or old["page_url"])
        if canonical:
            self._add_aliases(old["id"], {normalize_url(canonical)})

    # --- raw page bodies: alone, or packed in a site's blocks (compression.py) -------------

    def _block_columns(self) -> str:
        """`block_id, block_offset`, or NULLs for an older pages file opened read-only."""
        if self._has_blocks is None:
            columns = {row[1] for row in self.pages.execute("PRAGMA table_info(pages)")}
            self._has_blocks = "block_id" in columns
        return (
            "block_id, block_offset"
            if self._has_blocks
            else "NULL AS block_id, NULL AS block_offset"
        )

    def _body(
        self,
        page_id: int,
        blob: bytes,
        compression: str,
        block_id: int | None,
        block_offset: int | None,
        size: int,
        sha256: str | None,
    ) -> bytes:
        """A page's body as fetched, checked against the sha256 stored with it (~0.06 ms for a
        100 kB page): damage on disk is named, never passed on as the page."""
        try:
            if compression != IN_BLOCK:
                if not blob:  # stored since pages.db v4: the body has a table of its own
                    found = self.pages.execute(
                        "SELECT data FROM page_bodies WHERE page_id = ?", [page_id]
                    ).fetchone()
                    if found is None:
                        raise NewsarchiveError("its body is missing")
                    blob = found[0]
                body = decompress(blob, compression)
            elif block_id is None or block_offset is None:
                raise NewsarchiveError("it is packed, but no block is named")
            else:
                body = self._block(block_id).read(block_offset, size)
        except (NewsarchiveError, zstandard.ZstdError, sqlite3.DatabaseError) as exc:
            # The row holding the body (a block, a page_bodies row) on a damaged file page: this
            # page's damage, not the end of every read after it.
            if isinstance(exc, sqlite3.DatabaseError) and not is_damage(exc):
                raise
            # A block that failed once fails again: read it afresh next time, not half-inflated.
            self._blocks.pop(block_id, None)
            raise PageDamaged(
                f"{self.pages_path}: raw page {page_id} is damaged ({exc})", page_id
            ) from None
        if sha256 is not None and hashlib.sha256(body).hexdigest() != sha256:
            raise PageDamaged(
                f"{self.pages_path}: raw page {page_id} is damaged (its bytes do not match the "
                "sha256 stored with them)",
                page_id,
            )
        return body

    def _block(self, block_id: int) -> BlockReader:
        """A block, inflated as far as pages were read from it (compression.BlockReader); the
        last two are kept, since pages are mostly read in order."""
        cached = self._blocks.get(block_id)
        if cached is None:
            found = self.pages.execute(
                "SELECT data, compression FROM blocks WHERE id = ?", [block_id]
            ).fetchone()
            if found is None:
                raise NewsarchiveError(f"its block {block_id} is missing")
            cached = BlockReader(found[0], found[1])
            if len(self._blocks) >= 2:
                self._blocks.pop(next(iter(self._blocks)))
            self._blocks[block_id] = cached
        return cached

    def crawl_ended(self, sites: Sequence[str] | None) -> list[str]:
        """What the end of a crawl does, one process or shared, and of an import: each site's new
        raw pages packed into its blocks (a tenth of their size, compression.py; `sites` None:
        every site's at once, so small sites share blocks, as an import's mostly are), and the
        full-text index merged when its segments have piled up (merge_search_index).

        Returns the damage met on the way (and by pack_when_due before), in one line: a raw
        page that no longer reads back as fetched is left where it is and the others are packed
        around it (before, one such page kept its whole site unpacked at every crawl, with a
        warning). Raises ArchiveUnwritable when a file cannot be written (a full disk) or a
        write meets damage: what the crawl archived is kept either way, but whoever reads the
        cron mail must hear of it. Any other failure is logged: neither step is needed for what
        is archived to be right, and the next crawl's end or `newsarchive compact` does it."""
        damaged, self._damage_met = self._damage_met, []
        for site in [None] if sites is None else sites:
            damaged += self.pack_or_warn(site).damaged
        try:
            self.merge_search_index()
        except ArchiveUnwritable:
            raise
        except Exception as exc:
            fatal = self._stopping(exc)
            if fatal is not None:
                raise fatal from None
            logger.warning("search index not merged: %s: %s", type(exc).__name__, exc)
        return damage_lines(damaged, self.path)

    def pack_when_due(self, block_bytes: int = BLOCK_BYTES) -> None:
        """Pack the whole blocks of each site whose raw pages stored alone (by this Archive, and
        what is left of earlier ones) fill one now: what a crawl's or an import's writer calls
        as it goes, so that its end packs only the last part instead of everything at once (on
        2 cores, the end's packing of 5,000 demo pages took ~1.5 s with the other core idle),
        and a long crawl's pages take their packed size on disk as it goes. Failures as
        pack_or_warn; the damage met is said by crawl_ended."""
        for site, size in list(self._unpacked.items()):
            if size >= block_bytes:
                self._unpacked[site] = 0  # a failed pack is tried again a block's worth later
                self._damage_met += self.pack_or_warn(site, whole_blocks_of=block_bytes).damaged

    def pack_or_warn(self, site: str | None, *, whole_blocks_of: int | None = None) -> PackResult:
        """pack_pages(site) (None: every site), or pack_whole_blocks(site) in blocks of
        `whole_blocks_of` bytes; a failure logged rather than raised unless the archive cannot
        be written (see crawl_ended)."""
        try:
            if whole_blocks_of is not None and site is not None:
                return self.pack_whole_blocks(site, block_bytes=whole_blocks_of)
            return self.pack_pages(site)
        except ArchiveUnwritable:
            raise
        except Exception as exc:
            fatal = self._stopping(exc)
            if fatal is not None:
                raise fatal from None
            what = site or "every site"
            logger.warning("raw pages of %s not packed: %s: %s", what, type(exc).__name__, exc)
            return PackResult()

    def search_segments(self) -> int:
        """How many segments the full-text index has (each search looks each term up in all)."""
        return len(self._search_segment_pages())

    def _search_segment_pages(self) -> list[int]:
        """Per segment of the full-text index, about how many leaf pages it has (its entries in
        the index's page index), largest first."""
        return [
            pages
            for (pages,) in self.db.execute(
                "SELECT count(*) AS n FROM articles_fts_idx GROUP BY segid ORDER BY n DESC"
            )
        ]

    def recount_site_extremes(self) -> int:
        """site_fills' first_seen_min / last_seen_max that a delete or an edit left unknown
        (NULL; stats then reads the site's rows each time), counted again from the site's
        articles: the sites recounted. (`compact`.)"""
        self._check_writable()
        with self._lock, self._write(self.db, self.path):
            return self.db.execute(
                "UPDATE site_fills SET "
                "first_seen_min = (SELECT min(first_seen) FROM articles a "
                "WHERE a.site = site_fills.site), "
                "last_seen_max = (SELECT max(last_seen) FROM articles a "
                "WHERE a.site = site_fills.site) "
                "WHERE articles > 0 AND (first_seen_min IS NULL OR last_seen_max IS NULL)"
            ).rowcount

    def merge_search_index(
        self, *, always: bool = False, step_pages: int = SEARCH_MERGE_STEP_PAGES
    ) -> tuple[int, int]:
        """Merge the full-text index into one segment (segments before, after): `always` when it
        has more than one (`compact`), else when due (the end of a crawl, an import or a
        re-extraction): SEARCH_SEGMENTS_MAX segments or more, SEARCH_MERGE_SHARE of the index
        outside the largest. FTS5's incremental optimize, `step_pages` leaf pages a transaction:
        a merge stopped halfway leaves a sound index, and the next one goes on with it. Whether a
        step did any work is read from the index's structure record (FTS5 counts a change for
        every 'merge' command, work done or not)."""
        self._check_writable()
        sizes = self._search_segment_pages()
        before = len(sizes)
        if always:
            due = before > 1
        else:
            outside_largest, total = sum(sizes[1:]), sum(sizes)
            due = before >= SEARCH_SEGMENTS_MAX and outside_largest >= SEARCH_MERGE_SHARE * total
        if not due:
            return before, before
        structure = "SELECT block FROM articles_fts_data WHERE id = 10"
        amount = -step_pages  # negative: start an optimize (every segment to one level first)
        while True:
            with self._lock, self._write(self.db, self.path):
                was = self.db.execute(structure).fetchone()
                self.db.execute(
                    "INSERT INTO articles_fts(articles_fts, rank) VALUES ('merge', ?)", [amount]
                )
                done = self.db.execute(structure).fetchone() == was
            amount = step_pages
            if done:
                return before, self.search_segments()

    def pack_pages(
        self,
        site: str | None = None,
        *,
        block_bytes: int = BLOCK_BYTES,
        level: int = BLOCK_LEVEL,
        relevel: bool = False,
        shrink: bool = True,
    ) -> PackResult:
        """Pack the pages stored alone into blocks (all sites, or `site`), with the pages of
        blocks that are still small, so blocks keep growing to block_bytes. `relevel`: blocks
        compressed at another level than `level` are packed again too (`compact --level`: an
        offline repack at 19 keeps ~1.5 points less of the HTML than a crawl's 9, at ~3 MB/s).
        `shrink=False`: the freed pages are left in the file, for a caller that VACUUMs next
        (compact): an incremental vacuum moves the file's pages one at a time, which after
        packing a million pages stored alone took 300 s of compact's 474, the VACUUM after it 23.

        A site with at least half a block to pack, or with an own block that big already (a
        big site's daily crawl), gets blocks of its own. A smaller one (most
        sites of an import, a first small crawl) goes into shared blocks (`blocks.site` NULL),
        with the pages of its own small blocks: its pages stay together, next to sites that load
        the same scripts (compression.py). Each block is one transaction and old blocks go only
        once no page points at them: a pack stopped halfway leaves every page readable."""
        self._check_writable()
        result = PackResult()
        self._read_known_damage()
        shared_below = int(block_bytes * SHARED_SHARE)
        half = block_bytes // 2
        other = block_codec(level) if relevel else None
        if site is not None:
            sites = [site]
        else:
            sites = [
                row[0]
                for row in self.pages.execute(
                    "SELECT DISTINCT site FROM pages WHERE compression != ? "
                    "UNION SELECT DISTINCT site FROM blocks WHERE site IS NOT NULL "
                    "AND (raw_size < ? OR compression != coalesce(?, compression))",
                    [IN_BLOCK, half, other],
                )
            ]
        pool: list[tuple[str | None, list[tuple[int, int]]]] = []
        retired: list[int] = []
        for name in sites:
            if name is None:
                loose = self._loose_pages(None)
                if loose:
                    pool.append((None, loose))
                continue
            small = self._small_blocks(name, half, other)
            loose = self._loose_pages(name)
            in_small = self._pages_in_blocks(small)
            total = sum(size for _, size in loose) + sum(size for _, size in in_small)
            if total >= shared_below or self._has_own_block(name, half):
                if loose or self._at_other_codec(small, other):
                    self._pack_group(name, sorted(in_small + loose), small, block_bytes, level,
                                     result)  # fmt: skip
            elif loose or in_small:
                pool.append((name, sorted(in_small + loose)))
                retired.extend(small)
        if pool or self._at_other_codec(self._small_blocks(None, half, other), other):
            self._pack_shared(pool, retired, block_bytes, level, result, other)
        with self._lock, self._write(self.pages, self.pages_path):
            # Blocks no page points at any more: those a stopped pack left behind.
            orphans = self.pages.execute(
                "DELETE FROM blocks WHERE NOT EXISTS "
                "(SELECT 1 FROM pages WHERE pages.block_id = blocks.id)"
            ).rowcount
        if result.blocks or orphans > 0:
            with self._lock:
                self._commit()
                # Files made with auto_vacuum=INCREMENTAL shrink here; older ones reuse the
                # freed pages for later writes (`newsarchive compact` vacuums them). Each step
                # of the pragma frees one page and Python's execute() steps once: a script runs
                # it to its end (and outside any transaction, which a script requires).
                if shrink:
                    retry_busy(
                        lambda: self.pages.conn.executescript("PRAGMA incremental_vacuum;"),
                        self.pages_path,
                    )
        return result

    def pack_whole_blocks(
        self, site: str, *, block_bytes: int = BLOCK_BYTES, level: int = BLOCK_LEVEL
    ) -> PackResult:
        """Pack the site's pages stored alone into blocks of its own, as many as they fill whole
        (in id order, grouped as pack_pages groups them), and leave the rest alone: what a crawl
        does each time a block's worth has come in, so that its end (pack_pages) packs only the
        last part instead of everything at once, and the pages take their packed size on disk
        as the crawl goes. Commits the open batch first. Only pages stored since the v4 pages
        schema are looked at (their bodies wait in page_bodies, a small table), so this costs
        the same in a site of a million pages."""
        self._check_writable()
        result = PackResult()
        self.flush()
        loose = self.pages.execute(
            "SELECT pages.id, pages.size FROM page_bodies JOIN pages ON pages.id = page_id "
            "WHERE pages.site IS ? ORDER BY pages.id",
            [site],
        ).fetchall()
        whole = size = 0
        for count, (_, page_size) in enumerate(loose, 1):
            size += page_size
            if size >= block_bytes:  # a block ends here, as _pack_group cuts them
                whole, size = count, 0
        self._unpacked[site] = size  # what waits: pack_when_due packs again when a block's due
        if whole:
            self._read_known_damage()
            self._pack_group(site, loose[:whole], [], block_bytes, level, result)
        return result

    def _read_known_damage(self) -> None:
        self._known_damage = {
            page_id for (page_id,) in self.pages.execute("SELECT page_id FROM damaged_pages")
        }

    def _loose_pages(self, site: str | None) -> list[tuple[int, int]]:
        return self.pages.execute(
            "SELECT id, size FROM pages WHERE site IS ? AND compression != ? ORDER BY id",
            [site, IN_BLOCK],
        ).fetchall()

    def _small_blocks(self, site: str | None, half: int, other: str | None = None) -> list[int]:
        """A site's own blocks (shared blocks: site None) still under half a block, and those
        compressed with another codec than `other` when given (pack_pages' relevel)."""
        return [
            row[0]
            for row in self.pages.execute(
                "SELECT id FROM blocks WHERE site IS ? "
                "AND (raw_size < ? OR compression != coalesce(?, compression)) ORDER BY id",
                [site, half, other],
            )
        ]

    def _has_own_block(self, site: str, half: int) -> bool:
        """Whether `site` has a block of its own of at least half a block: a big site, whose
        later pages (a daily crawl's few) go on growing its own last block rather than move it
        and them into a shared one, where they would then stay."""
        return bool(
            self.pages.execute(
                "SELECT EXISTS (SELECT 1 FROM blocks WHERE site = ? AND raw_size >= ?)",
                [site, half],
            ).fetchone()[0]
        )

    def _at_other_codec(self, blocks: list[int], codec: str | None) -> bool:
        """Whether any of `blocks` is compressed otherwise than `codec`."""
        if not blocks or codec is None:
            return False
        marks = ", ".join("?" for _ in blocks)
        return bool(
            self.pages.execute(
                f"SELECT EXISTS (SELECT 1 FROM blocks WHERE id IN ({marks}) AND compression != ?)",
                [*blocks, codec],
            ).fetchone()[0]
        )

    def _pages_in_blocks(self, blocks: list[int]) -> list[tuple[int, int]]:
        """The pages of `blocks`, block by block in their order inside each."""
        if not blocks:
            return []
        marks = ", ".join("?" for _ in blocks)
        return [
            (page_id, size)
            for page_id, size, _block, _offset in sorted(
                self.pages.execute(
                    f"SELECT id, size, block_id, block_offset FROM pages WHERE block_id IN ({marks})",
                    blocks,
                ).fetchall(),
                key=lambda row: (blocks.index(row[2]), row[3]),
            )
        ]

    def _pack_shared(
        self,
        pool: list[tuple[str | None, list[tuple[int, int]]]],
        retired: list[int],
        block_bytes: int,
        level: int,
        result: PackResult,
        other: str | None = None,
    ) -> None:
        """Small sites' pages into shared blocks: the shared blocks still small (or, with
        `other`, at another codec) first, their pages in place, then each site's pages
        together, the sites by reversed host labels (a portal's subdomains side by side;
        compression.py has what the order is worth)."""
        small = self._small_blocks(None, block_bytes // 2, other)
        kept = self._pages_in_blocks(small)
        if len(kept) + sum(len(pages) for _, pages in pool) < 2:
            return  # one page alone is already as small as it gets
        pool = sorted(pool, key=lambda unit: list(reversed((unit[0] or "").split("."))))
        ordered = kept + [page for _name, pages in pool for page in pages]
        self._pack_group(None, ordered, small + retired, block_bytes, level, result)

    def _pack_group(
        self,
        site: str | None,
        pages: list[tuple[int, int]],
        replaced: list[int],
        block_bytes: int,
        level: int,
        result: PackResult,
    ) -> None:
        """`pages` (in this order) into blocks of `site` (None: shared), then the blocks they
        were in (`replaced`) dropped, once no page points at them."""
        if len(pages) < 2 and not replaced:
            return  # one page alone is already as small as it gets
        group: list[tuple[int, int]] = []
        size = 0
        for page_id, page_size in pages:
            group.append((page_id, page_size))
            size += page_size
            if size >= block_bytes:
                self._write_block(site, group, result, level)
                group, size = [], 0
        if group:
            self._write_block(site, group, result, level)
        if replaced:
            marks = ", ".join("?" for _ in replaced)
            with self._lock, self._write(self.pages, self.pages_path):
                # A damaged page left in its block keeps that block: all there is of it.
                self.pages.execute(
                    f"DELETE FROM blocks WHERE id IN ({marks}) AND NOT EXISTS "
                    "(SELECT 1 FROM pages WHERE pages.block_id = blocks.id)",
                    replaced,
                )

    def _write_block(
        self,
        site: str | None,
        group: list[tuple[int, int]],
        result: PackResult,
        level: int = BLOCK_LEVEL,
    ) -> None:
        # Where each page is now. Another writer of the archive (`compact`, or a crawl of
        # another site packing shared blocks) may pack some of them while this one reads and
        # compresses: a page it moved is not damaged, and this block is then not written.
        places = self._page_places([page_id for page_id, _ in group])
        bodies, offsets, offset, readable, found = [], [], 0, [], []
        for page_id, size in group:
            if page_id in self._known_damage:
                continue  # found and said before: left where it is, not read again
            try:
                _, body = self.raw_page(page_id) or ({}, b"")
            except PageDamaged as damage:
                if self._page_places([page_id]) == {page_id: places.get(page_id)}:
                    found.append(damage)
                continue
            readable.append((page_id, size))
            bodies.append(body)
            offsets.append(offset)
            offset += len(body)
        if found:
            self._remember_damage(found)
            result.damaged += found
        group = readable
        if not group:
            return
        blob, codec = compress_block(bodies, level)
        ids = [page_id for page_id, _ in group]
        marks = ", ".join("?" for _ in ids)
        before = self.pages.execute(
            f"SELECT coalesce(sum(length(body)), 0) FROM pages WHERE id IN ({marks}) "
            "AND compression != ?",
            [*ids, IN_BLOCK],
        ).fetchone()[0]
        before += self.pages.execute(
            f"SELECT coalesce(sum(length(data)), 0) FROM page_bodies WHERE page_id IN ({marks})",
            ids,
        ).fetchone()[0]
        with self._lock, self._write(self.pages, self.pages_path):
            if self._page_places(ids) != {page_id: places[page_id] for page_id in ids}:
                return  # packed meanwhile by another writer: its blocks hold them
            block_id = _insert(
                self.pages,
                "blocks",
                {
                    "site": site,
                    "compression": codec,
                    "pages": len(group),
                    "raw_size": offset,
                    "data": blob,
                },
            )
            self.pages.conn.executemany(
                "UPDATE pages SET body = x'', compression = ?, block_id = ?, block_offset = ? "
                "WHERE id = ?",
                [
                    (IN_BLOCK, block_id, start, page_id)
                    for (page_id, _), start in zip(group, offsets, strict=True)
                ],
            )
            self.pages.execute(f"DELETE FROM page_bodies WHERE page_id IN ({marks})", ids)
        self._blocks.clear()
        result.pages += len(group)
        result.blocks += 1
        result.raw_bytes += offset
        result.stored_before += before
        result.stored_after += len(blob)

    def _page_places(self, ids: list[int]) -> dict[int, tuple[Any, ...]]:
        """Where each page's body is: (compression, block_id, block_offset)."""
        marks = ", ".join("?" for _ in ids)
        return {
            page_id: tuple(place)
            for page_id, *place in self.pages.execute(
                f"SELECT id, compression, block_id, block_offset FROM pages WHERE id IN ({marks})",
                ids,
            )
        }

    def _known_damage_anywhere(self) -> bool:
        """Whether any page is known damaged (one read per opening until one is)."""
        if not self._known_damage:
            row = self.pages.execute("SELECT page_id FROM damaged_pages LIMIT 1").fetchone()
            if row is None:
                return False
            self._known_damage.add(row[0])
        return True

    def _heal(self, page_id: int, body: bytes) -> None:
        """A page known damaged, fetched again with the very bytes it had (its URL and sha256):
        those bytes are its body again, stored alone until packed, and it is no longer damaged.
        The block it was in goes once no page points at it (pack_pages)."""
        if not self.pages.execute(
            "SELECT 1 FROM damaged_pages WHERE page_id = ?", [page_id]
        ).fetchone():
            return
        blob, codec = compress(body)
        self.pages.execute(
            "UPDATE pages SET body = x'', compression = ?, block_id = NULL, block_offset = NULL "
            "WHERE id = ?",
            [codec, page_id],
        )
        self.pages.execute(
            "INSERT OR REPLACE INTO page_bodies(page_id, data) VALUES (?, ?)", [page_id, blob]
        )
        self.pages.execute("DELETE FROM damaged_pages WHERE page_id = ?", [page_id])
        self._known_damage.discard(page_id)
        self._blocks.clear()
        logger.info("%s: raw page %s healed: fetched again as it was", self.pages_path, page_id)

    def _remember_damage(self, found: list[PageDamaged]) -> None:
        """Record pages packing found damaged (pages schema v7), so that later packs go around
        them unread and say nothing more of them."""
        now = utc_now()
        with self._lock, self._write(self.pages, self.pages_path):
            self.pages.conn.executemany(
                "INSERT OR IGNORE INTO damaged_pages(page_id, found_at, cause) VALUES (?, ?, ?)",
                [(damage.page_id, now, str(damage)) for damage in found],
            )
        self._known_damage.update(damage.page_id for damage in found)

    # --- raw pages for WARC export and `show` (newsarchive.warc, newsarchive.cli.archive) ------

    def taken_down(
        self, *, site: str | None = None, since: str | None = None
    ) -> list[tuple[str, str]]:
        """(URL, gone_since) of every article its site took down; `site` and `since` select as
        iter_raw_pages does, `since` compared with the time the crawl found it gone."""
        where, params = ["gone_since IS NOT NULL"], []
        if site is not None:
            where.append("site = ?")
            params.append(site)
        if since is not None:
            where.append("gone_since >= ?")
            params.append(since)
        sql = f"SELECT url, gone_since FROM articles WHERE {' AND '.join(where)} ORDER BY id"
        return [(url, when) for url, when in self.db.execute(sql, params)]

    def iter_raw_pages(
        self,
        *,
        site: str | None = None,
        since: str | None = None,
        damaged: list[PageDamaged] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every stored raw page once (a page row is one distinct body per URL), metadata plus
        `body` (decompressed), streamed one at a time: each first page followed by the later
        pages of its multi-page article, in order (parts carry `part_of` and `part`).

        `site` and `since` (UTC text or a date, see records.parse_since; compared with the fetch
        time, the stored time for imported files) select by a page's first page, so an article's
        parts travel with it. A damaged page raises PageDamaged, or, given a `damaged` list, is
        added to it and left out, with the later pages of its article (no part without its
        first page).
        """
        columns = {row[1] for row in self.pages.execute("PRAGMA table_info(pages)")}

        def column(name: str) -> str:
            # An older pages file opened read-only is not migrated: absent columns read as NULL.
            return f"p.{name}" if name in columns else f"NULL AS {name}"

        part_of = "p.part_of" if "part_of" in columns else "NULL"
        head = "coalesce(h.{0}, p.{0})" if "part_of" in columns else "p.{0}"
        join = "LEFT JOIN pages h ON h.id = p.part_of" if "part_of" in columns else ""
        where, params = [], []
        if site is not None:
            where.append(f"{head.format('site')} = ?")
            params.append(site)
        if since is not None:
            when = "coalesce(h.fetched_at, h.stored_at, p.fetched_at, p.stored_at)"
            where.append(f"{when if join else 'coalesce(p.fetched_at, p.stored_at)'} >= ?")
            params.append(since)
        part = "p.part" if "part" in columns else "NULL"
        # Text read as bytes and decoded here: a row whose text is no longer UTF-8 (bytes
        # garbled inside a page SQLite still reads) is one damaged raw page, where sqlite3's own
        # decoding raised out of the whole walk.
        texts = _page_texts_as_bytes(_PAGE_TEXT_COLUMNS, columns, "p.")
        # Metadata only in the sorted query (the sorter would otherwise copy every body); each
        # body is read by its primary key as the rows stream.
        sql = (
            f"SELECT p.id, p.status, p.size, {column('part_of')}, {column('part')}, "
            f"{texts} FROM pages p {join}"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY coalesce({part_of}, p.id), coalesce({part}, 1), p.id"
        )
        cursor = self.pages.conn.execute(sql, params)
        names = [description[0] for description in cursor.description]
        damaged_heads: set[int] = set()
        for values in cursor:
            row = dict(zip(names, values, strict=True))
            if row["part_of"] is not None and row["part_of"] in damaged_heads:
                damaged.append(PageDamaged(
                    f"{self.pages_path}: raw page {row['id']} left out: a later page of an "
                    f"article whose first page ({row['part_of']}) is damaged", row["id"],
                ))  # fmt: skip
                continue
            try:
                self._decode_page_texts(row)
                blob, codec, block_id, block_offset = self.pages.execute(
                    f"SELECT body, compression, {self._block_columns()} FROM pages WHERE id = ?",
                    [row["id"]],
                ).fetchone()
                row["body"] = self._body(
                    row["id"], blob, codec, block_id, block_offset, row["size"], row["sha256"]
                )
            except PageDamaged as damage:
                if damaged is None:
                    raise
                damaged.append(damage)
                if not row["part_of"]:
                    damaged_heads.add(row["id"])
                continue
            yield row

    def fetch_span(self, page_id: int) -> tuple[int | None, int]:
        """(id of the page's first fetch, how many times it was fetched): later fetches found
        the page unchanged (a page row is one distinct body per URL)."""
        first, count = self.pages.execute(
            "SELECT min(id), count(*) FROM fetches WHERE page_id = ?", [page_id]
        ).fetchone()
        return first, count

    def later_fetches(
        self,
        *,
        site: str | None = None,
        since: str | None = None,
        damaged: list[PageDamaged] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every fetch of a stored page after its first (a refetch that found it unchanged), in
        the order stored: `fetch_id`, `fetch_status`, `fetch_time` (fetch time, else stored
        time) with the page's row (`id`, url, status, headers, `part_of`, `part`...; no body).
        A later page of a multi-page article comes right after its first page's refetch (they
        are stored together). `site` selects as iter_raw_pages does, `since` by this fetch's
        time; a page whose row is damaged raises PageDamaged, or, given a `damaged` list, is
        added to it once and left out."""
        present = {row[1] for row in self.pages.execute("PRAGMA table_info(pages)")}
        texts = _page_texts_as_bytes(_PAGE_TEXT_COLUMNS, present, "p.")
        where = ["f.id > (SELECT min(id) FROM fetches WHERE page_id = f.page_id)"]
        params: list[Any] = []
        parts = "p.part_of, p.part" if "part_of" in present else "NULL AS part_of, NULL AS part"
        if site is not None:
            where.append("p.site = ?")
            params.append(site)
        if since is not None:
            where.append("coalesce(f.fetched_at, f.stored_at) >= ?")
            params.append(since)
        cursor = self.pages.conn.execute(
            "SELECT f.id AS fetch_id, f.status AS fetch_status, "
            "coalesce(f.fetched_at, f.stored_at) AS fetch_time, "
            f"p.id, p.status, p.size, {parts}, {texts} FROM fetches f "
            "JOIN pages p ON p.id = f.page_id "
            f"WHERE {' AND '.join(where)} ORDER BY f.id",
            params,
        )
        names = [description[0] for description in cursor.description]
        for values in cursor:
            row = dict(zip(names, values, strict=True))
            try:
                self._decode_page_texts(row)
            except PageDamaged as damage:
                if damaged is None:
                    raise
                if all(known.page_id != damage.page_id for known in damaged):
                    damaged.append(damage)
                continue
            yield row

    def revisited_pages(
        self,
        urls: Sequence[str],
        when: str | None,
        same_payload: Callable[[bytes], bool] | None,
        *,
        at_that_time: bool = False,
    ) -> list[RawPage] | None:
        """The stored capture a WARC `revisit` record refers to, with the later pages of its
        multi-page article (as article_pages): the page stored under one of `urls` fetched at
        `when` (stored UTC text, to the second); without one fetched then, one whose body
        `same_payload` accepts (the record's payload digest, where it can be checked); with
        neither a time nor a digest to check, the latest. The digest does not overrule the time:
        tools compute it over the payload as sent (gzip, chunks) where the archive keeps it
        decoded. An empty list: the capture is a later page of an article (its first page's
        revisit brings it). None: none is archived (`at_that_time`: none fetched at `when`)."""
        rows = self.pages.execute(
            "SELECT id, coalesce(fetched_at, stored_at), part_of FROM pages "
            f"WHERE url IN ({', '.join('?' * len(urls))}) ORDER BY id DESC",
            list(urls),
        ).fetchall()
        then = [row for row in rows if when and (row[1] or "")[:19] == when[:19]]
        found = then[0] if then else None
        if found is None and not at_that_time:
            if same_payload is not None:
                found = next((row for row in rows if self._holds(row[0], same_payload)), None)
            elif when is None and rows:
                found = rows[0]
        if found is None:
            return None
        return [] if found[2] is not None else self.article_pages(found[0])

    def _holds(self, page_id: int, same_payload: Callable[[bytes], bool]) -> bool:
        stored = self.raw_page(page_id)
        return stored is not None and same_payload(stored[1])

    def check_pages(self) -> Iterator[tuple[int, int, PageDamaged | None]]:
        """Every stored raw page read back and checked against its sha256: (page id, size,
        None or the damage found), in the order the file keeps them (block by block, each
        block inflated once), without keeping the bodies."""
        blocks = self._block_columns()
        present = {row[1] for row in self.pages.execute("PRAGMA table_info(pages)")}
        # Its text too, which SQLite hands back whatever bytes it holds (see _decode_page_texts).
        texts = _page_texts_as_bytes(_PAGE_TEXT_COLUMNS, present)
        cursor = self.pages.conn.execute(
            f"SELECT id, compression, size, {blocks}, {texts} FROM pages "
            "ORDER BY block_id IS NOT NULL, block_id, block_offset, id"
            if self._has_blocks
            else f"SELECT id, compression, size, {blocks}, {texts} FROM pages ORDER BY id"
        )
        names = [description[0] for description in cursor.description]
        for values in cursor:
            row = dict(zip(names, values, strict=True))
            page_id, compression, size = row["id"], row["compression"], row["size"]
            try:
                self._decode_page_texts(row)
            except PageDamaged as damage:
                yield page_id, size, damage
                continue
            sha256, block_id, block_offset = row["sha256"], row["block_id"], row["block_offset"]
            blob = b""
            if compression != IN_BLOCK:
                blob = self.pages.execute(
                    "SELECT body FROM pages WHERE id = ?", [page_id]
                ).fetchone()[0]
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                # A garbled size column (NULL, text) that the sha256 of the body cannot see for
                # a page stored alone: `stats` and `verify` sum it.
                yield (
                    page_id,
                    0,
                    PageDamaged(
                        f"{self.pages_path}: raw page {page_id} is damaged (its size is {size!r})",
                        page_id,
                    ),
                )
                continue
            try:
                body = self._body(page_id, blob, compression, block_id, block_offset, size, sha256)
            except PageDamaged as damage:
                yield page_id, size, damage
                continue
            if len(body) != size:
                yield (
                    page_id,
                    size,
                    PageDamaged(
                        f"{self.pages_path}: raw page {page_id} is damaged (its size says {size:,} "
                        f"bytes, its body has {len(body):,})",
                        page_id,
                    ),
                )
            else:
                yield page_id, size, None

    def page_id_for_url(self, url: str) -> int | None:
        """The raw page reached by `url`: the page of the article it names (any of its URLs,
        any spelling), else the latest page stored under that exact (or normalised) URL."""
        row = self.article(url)
        if row is not None and row.get("page_id"):
            return row["page_id"]
        found = self.pages.execute(
            "SELECT id FROM pages WHERE url IN (?, ?) ORDER BY coalesce(fetched_at, stored_at) "
            "DESC, id DESC LIMIT 1",
            [url, normalize_url(url)],
        ).fetchone()
        return found[0] if found else None
