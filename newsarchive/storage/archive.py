"""The Archive: two SQLite files written through one object.

`archive.db` holds the records (articles, versions, crawl runs, failures, the full-text index): the
file Datasette serves. `pages.db` next to it holds the raw pages, compressed: publishers' content,
kept so any record can be rebuilt, never served. Both run in WAL mode, so readers never block the
writer and a killed crawl leaves both files intact.

Every item is written atomically (a savepoint in each file). SQLite cannot commit two files as one,
so the raw pages commit first: a crash between the two commits can leave raw pages without their
records (the crawler does not know them yet, fetches them again and completes them), never a record
whose page is missing. Inside `with archive.batch():` commits happen every `batch_size` items
instead of per item.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import sqlite_utils

from newsarchive.errors import NewsarchiveError
from newsarchive.items import Article, RawPage
from newsarchive.sites import SiteProfile
from newsarchive.storage.compression import compress, decompress
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
    migrate,
)
from newsarchive.urls import normalize_url, site_from_url, usable_canonical

DEFAULT_DB = Path("data") / "archive.db"
DEFAULT_BATCH_SIZE = 500
# Waiting this long for another writer's lock beats failing a crawl item at once.
BUSY_TIMEOUT_MS = 10_000

OUTCOMES = ("new", "updated", "unchanged", "page")


class StoreError(NewsarchiveError):
    """One item could not be stored; it was recorded in `failures` and the archive is unchanged."""


@dataclass(frozen=True)
class FetchState:
    """What the archive knows about a URL, for the crawler's "fetch again?" decision."""

    first_seen: datetime
    last_fetched: datetime
    published: datetime | None
    fetch_count: int


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

    @property
    def touched(self) -> bool:
        return bool(self.filled or self.changed or self.emptied)


def default_pages_path(db_path: str | Path) -> Path:
    """Where the raw pages of an archive live: data/archive.db -> data/pages.db, X.db -> X-pages.db."""
    db_path = Path(db_path)
    if db_path.name == "archive.db":
        return db_path.with_name("pages.db")
    return db_path.with_name(f"{db_path.stem}-pages.db")


def extraction_url(page_url: str | None) -> str | None:
    """The URL to hand the extractor for a stored page: web URLs only.

    Pages imported from files without `--url` are stored under their file: URI; the extractor saw
    no URL for them at import, so re-extraction must not show it one either.
    """
    if page_url and urlsplit(page_url).scheme.lower() in ("http", "https"):
        return page_url
    return None


def _packaged_profile(site: str) -> SiteProfile | None:
    """The packaged profile named like the site (crawls file articles under their profile's
    name), or None: then extraction picks the profile by URL, as it did at import."""
    from newsarchive.sites import list_profiles

    return next((profile for profile in list_profiles() if profile.name == site), None)


def _canonical(article: Article, page_url: str | None) -> str | None:
    """The article's canonical URL made absolute against the page's URL, if it is usable."""
    if not article.canonical_url:
        return None
    return usable_canonical(urljoin(page_url or "", article.canonical_url.strip()))


def _other_scheme(url: str) -> str | None:
    for this, other in (("http://", "https://"), ("https://", "http://")):
        if url.startswith(this):
            return other + url[len(this) :]
    return None


def _insert(db: sqlite_utils.Database, table: str, row: dict[str, Any]) -> int:
    """INSERT one row, returning its id. Plain SQL: Table.insert() introspects the table on
    every call, which halved the insert rate of a crawl-sized batch."""
    columns = ", ".join(f"[{name}]" for name in row)
    placeholders = ", ".join("?" for _ in row)
    cursor = db.execute(
        f"INSERT INTO [{table}] ({columns}) VALUES ({placeholders})", list(row.values())
    )
    return cursor.lastrowid


def _update(db: sqlite_utils.Database, table: str, row_id: int, changes: dict[str, Any]) -> None:
    assignments = ", ".join(f"[{name}] = ?" for name in changes)
    db.execute(f"UPDATE [{table}] SET {assignments} WHERE id = ?", [*changes.values(), row_id])


def _open_database(path: Path, migrations: tuple, *, create: bool) -> sqlite_utils.Database:
    if not path.exists():
        if not create:
            raise NewsarchiveError(
                f"{path}: no archive here (import pages or crawl first, or pass --db)"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise NewsarchiveError(f"{path}: is a directory, not an archive file")
    try:
        db = sqlite_utils.Database(path)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.enable_wal()
        # In WAL mode NORMAL still never corrupts the file; it only may lose the last commits
        # on power loss, and makes each commit far cheaper.
        db.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        raise NewsarchiveError(f"{path}: cannot open as an SQLite archive ({exc})") from None
    migrate(db, migrations, path)
    return db


class Archive:
    """An archive: records in `db_path`, raw pages in `pages_path` (default: a sibling file)."""

    def __init__(
        self,
        db_path: str | Path = DEFAULT_DB,
        pages_path: str | Path | None = None,
        *,
        create: bool = True,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.path = Path(db_path)
        self.pages_path = Path(pages_path) if pages_path else default_pages_path(self.path)
        if self.pages_path.resolve() == self.path.resolve():
            raise NewsarchiveError(f"{self.path}: raw pages need a file of their own")
        self.db = _open_database(self.path, ARCHIVE_MIGRATIONS, create=create)
        try:
            self.pages = _open_database(self.pages_path, PAGES_MIGRATIONS, create=True)
        except BaseException:
            self.db.close()
            raise
        self.batch_size = batch_size
        self._batch_depth = 0
        self._uncommitted = 0

    # --- lifecycle and transactions ----------------------------------------------------------

    def close(self) -> None:
        if self._batch_depth:
            self._commit()
        self.db.close()
        self.pages.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def batch(self, size: int | None = None) -> Iterator[Archive]:
        """Group writes: one commit per `size` items (default `batch_size`) instead of one each.

        Items stored before an exception leaves the block are committed (each is complete on its
        own); nested batches join the outer one.
        """
        if self._batch_depth:
            self._batch_depth += 1
            try:
                yield self
            finally:
                self._batch_depth -= 1
            return
        previous_size = self.batch_size
        self.batch_size = size or self.batch_size
        self._begin()
        self._batch_depth = 1
        try:
            yield self
        finally:
            self._batch_depth = 0
            self.batch_size = previous_size
            self._commit()

    def _begin(self) -> None:
        for db in (self.pages, self.db):
            if not db.conn.in_transaction:
                db.begin()
        self._uncommitted = 0

    def _commit(self) -> None:
        # Raw pages first: a page without its record can be rebuilt, the reverse cannot.
        self.pages.commit()
        self.db.commit()

    def _item_done(self) -> None:
        if not self._batch_depth:
            return
        self._uncommitted += 1
        if self._uncommitted >= self.batch_size:
            self._commit()
            self._begin()

    @contextmanager
    def _item(self) -> Iterator[None]:
        # Outer db savepoint, inner pages savepoint: leaving the block commits (or releases)
        # pages before the records.
        with self.db.atomic(), self.pages.atomic():
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
    ) -> str:
        """Keep the raw page and, if there is one, its article record.

        Returns 'new', 'updated' (content changed; the old version went to `versions`),
        'unchanged', or 'page' (raw page kept, no article). `continuations` are the later pages
        of a multi-page article whose record was stitched from all of them: they are kept as
        parts of `raw`, so re-extraction can stitch them again. Atomic per item: on any error
        nothing of the item is kept, the failure is recorded and StoreError is raised.
        """
        try:
            with self._item():
                now = utc_now()
                page_id, _ = self._store_page(raw, site=site, run_id=run_id, now=now)
                for part, later in enumerate(continuations, start=2):
                    part_id, is_new = self._store_page(later, site=site, run_id=run_id, now=now)
                    if is_new:
                        _update(self.pages, "pages", part_id, {"part_of": page_id, "part": part})
                outcome = self._store_article(raw, article, page_id=page_id, site=site, now=now)
        except Exception as exc:
            reason = f"could not store: {type(exc).__name__}: {exc}"
            self.record_failure(raw.url, reason, status=raw.status, run_id=run_id, site=site)
            self._item_done()
            raise StoreError(f"{raw.url}: {reason}") from exc
        self._item_done()
        return outcome

    def import_page(
        self,
        body: bytes,
        *,
        url: str | None = None,
        path: str | Path | None = None,
        site: str | None = None,
    ) -> str:
        """Store a page saved earlier (a file, or bytes from elsewhere) as raw page + record.

        The record is what `extract_article(body, url)` makes of it, exactly as `extract` prints
        it. Without `url` the page is kept under its file: URI and keyed by its canonical URL when
        it names one. `site` defaults to the name of the site profile matching `url`, else the
        host of `url` or of the canonical URL, else "local".
        """
        from newsarchive.extract import extract_article
        from newsarchive.sites import find_profile

        page_url = url or (Path(path).resolve().as_uri() if path else None)
        if not page_url:
            raise NewsarchiveError("import_page needs the page's url or the path it was read from")
        raw = RawPage(url=page_url, body=body)
        try:
            article: Article | None = extract_article(body, url)
        except NewsarchiveError:
            raise
        except Exception as exc:  # an extractor bug on one page must not end an import
            reason = f"extractor error: {type(exc).__name__}: {exc}"
            self.record_failure(page_url, reason, site=site)
            raise StoreError(f"{path or url}: {reason}") from exc
        if article is not None and not (article.title or article.body):
            article = None  # nothing of an article in it: keep the page only
        if site is None:
            # A profile name only when the extractor used that profile (it picks one by `url`),
            # since re-extraction picks the profile by site name; else the host.
            profile = find_profile(url) if url else None
            named_url = url or (article.canonical_url if article else None)
            site = profile.name if profile else (site_from_url(named_url) or "local")
        return self.store(raw, article, site=site)

    def _store_article(
        self, raw: RawPage, article: Article | None, *, page_id: int, site: str, now: str
    ) -> str:
        fetched = utc_iso(raw.fetched_at) or now
        if article is None:
            return "page"
        columns = article_columns(article)
        canonical = _canonical(article, raw.final_url or raw.url)
        key = normalize_url(canonical or raw.final_url or raw.url)
        aliases = {key, normalize_url(raw.url)}
        if raw.final_url:
            aliases.add(normalize_url(raw.final_url))
        seen = {"page_url": raw.url, "final_url": raw.final_url, "page_id": page_id}
        existing = self._find_article(key, aliases)
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
            outcome = "new"
        else:
            article_id = existing["id"]
            update = {
                **columns,
                **seen,
                "last_seen": max(existing["last_seen"], fetched),
                "fetch_count": existing["fetch_count"] + 1,
            }
            if existing["content_hash"] == columns["content_hash"]:
                outcome = "unchanged"
            else:
                self._keep_version(existing, replaced_at=now, reason="refetch")
                update["content_since"] = fetched
                outcome = "updated"
            _update(self.db, "articles", article_id, update)
        self._add_aliases(article_id, aliases)
        return outcome

    def _store_page(
        self, raw: RawPage, *, site: str, run_id: int | None, now: str
    ) -> tuple[int, bool]:
        """Keep the page (once per distinct body and URL) and log the fetch; (page id, is new)."""
        body = raw.body if isinstance(raw.body, bytes) else str(raw.body).encode("utf-8")
        digest = hashlib.sha256(body).hexdigest()
        found = self.pages.execute(
            "SELECT id FROM pages WHERE url = ? AND sha256 = ?", [raw.url, digest]
        ).fetchone()
        if found:
            page_id, is_new = found[0], False
        else:
            blob, codec = compress(body)
            headers = json.dumps(dict(raw.headers or {}), ensure_ascii=False, default=str)
            page_id, is_new = (
                _insert(
                    self.pages,
                    "pages",
                    {
                        "url": raw.url,
                        "final_url": raw.final_url,
                        "status": raw.status,
                        "headers": headers,
                        "encoding": raw.encoding,
                        "fetched_at": utc_iso(raw.fetched_at),
                        "stored_at": now,
                        "site": site,
                        "run_id": run_id,
                        "size": len(body),
                        "sha256": digest,
                        "compression": codec,
                        "body": blob,
                    },
                ),
                True,
            )
        fetch = {"page_id": page_id, "fetched_at": utc_iso(raw.fetched_at), "stored_at": now}
        _insert(self.pages, "fetches", {**fetch, "status": raw.status, "run_id": run_id})
        return page_id, is_new

    def _find_article(self, key: str, aliases: set[str]) -> dict[str, Any] | None:
        """The article stored under `key`, else under any alias, else under the other scheme.

        The last step catches a site's move from http to https: an article archived in the http
        years is the same article when its https URL comes back.
        """
        rows = self.db.query("SELECT * FROM articles WHERE url = ?", [key])
        for row in rows:
            return row
        for candidates in (aliases, {_other_scheme(url) for url in aliases | {key}} - {None}):
            placeholders = ", ".join("?" for _ in candidates)
            rows = self.db.query(
                f"SELECT a.* FROM article_urls u JOIN articles a ON a.id = u.article_id "
                f"WHERE u.url IN ({placeholders}) ORDER BY a.id LIMIT 1",
                sorted(candidates),
            )
            for row in rows:
                return row
        return None

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
                **{column: old[column] for column in CONTENT_COLUMNS},
            },
        )

    def start_run(self, site: str, settings: dict[str, Any]) -> int:
        """Open a `crawl_runs` row; returns its id for finish_run(), store() and record_failure()."""
        with self.db.atomic():
            return _insert(
                self.db,
                "crawl_runs",
                {
                    "site": site,
                    "started": utc_now(),
                    "settings": json.dumps(
                        settings, ensure_ascii=False, sort_keys=True, default=str
                    ),
                },
            )

    def finish_run(
        self,
        run_id: int,
        *,
        pages_fetched: int,
        articles_new: int,
        articles_updated: int,
        articles_unchanged: int,
        failures: int,
    ) -> None:
        with self.db.atomic():
            _update(
                self.db,
                "crawl_runs",
                run_id,
                {
                    "finished": utc_now(),
                    "pages_fetched": pages_fetched,
                    "articles_new": articles_new,
                    "articles_updated": articles_updated,
                    "articles_unchanged": articles_unchanged,
                    "failures": failures,
                },
            )
        if self._batch_depth:
            self._commit()
            self._begin()

    def record_failure(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        run_id: int | None = None,
        site: str | None = None,
    ) -> None:
        """Note that `url` could not be fetched, extracted or stored, and why."""
        with self.db.atomic():
            _insert(
                self.db,
                "failures",
                {
                    "url": url,
                    "at": utc_now(),
                    "reason": reason,
                    "status": status,
                    "site": site,
                    "run_id": run_id,
                },
            )

    # --- reading -------------------------------------------------------------------------

    def fetch_state(self, site: str | None = None) -> dict[str, FetchState]:
        """Per normalised URL (request, final and canonical URL of each article): what is known."""
        sql = (
            "SELECT u.url, a.id, a.first_seen, a.last_seen, a.published, a.fetch_count "
            "FROM article_urls u JOIN articles a ON a.id = u.article_id"
        )
        params: list[Any] = []
        if site is not None:
            sql += " WHERE a.site = ?"
            params.append(site)
        states: dict[int, FetchState] = {}
        result: dict[str, FetchState] = {}
        for url, article_id, first_seen, last_seen, published, fetch_count in self.db.execute(
            sql, params
        ):
            state = states.get(article_id)
            if state is None:
                state = states[article_id] = FetchState(
                    first_seen=parse_stored_time(first_seen),
                    last_fetched=parse_stored_time(last_seen),
                    published=parse_stored_time(published),
                    fetch_count=fetch_count,
                )
            result[url] = state
        return result

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
        body = decompress(row.pop("body"), row["compression"])
        return row, body

    def count(self, table: str = "articles") -> int:
        db = self.pages if table in ("pages", "fetches") else self.db
        return db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]

    # --- re-extraction -------------------------------------------------------------------

    def reextract_targets(
        self, *, site: str | None = None, since: str | None = None
    ) -> list[tuple[int, int]]:
        """(article id, page id) of the articles to rebuild: each from its latest raw page.

        `since` (a date or UTC text, see records.parse_since) keeps the pages fetched (imports:
        stored) on or after it.
        """
        sql = "SELECT id, page_id FROM articles WHERE page_id IS NOT NULL"
        params: list[Any] = []
        if site is not None:
            sql += " AND site = ?"
            params.append(site)
        targets = [(row[0], row[1]) for row in self.db.execute(sql + " ORDER BY id", params)]
        if since is not None:
            recent = {
                row[0]
                for row in self.pages.execute(
                    "SELECT id FROM pages WHERE coalesce(fetched_at, stored_at) >= ?", [since]
                )
            }
            targets = [target for target in targets if target[1] in recent]
        return targets

    def article_pages(self, page_id: int) -> list[RawPage]:
        """The raw page `page_id` and, for a multi-page article, its later pages in order."""
        rows = self.pages.execute(
            "SELECT url, final_url, status, headers, fetched_at, encoding, compression, body "
            "FROM pages WHERE id = ? OR part_of = ? ORDER BY coalesce(part, 1)",
            [page_id, page_id],
        ).fetchall()
        return [
            RawPage(
                url=url,
                body=decompress(body, compression),
                final_url=final_url,
                status=status,
                headers=json.loads(headers),
                fetched_at=parse_stored_time(fetched_at),
                encoding=encoding,
            )
            for url, final_url, status, headers, fetched_at, encoding, compression, body in rows
        ]

    def reextract(self, targets: list[tuple[int, int]]) -> Iterator[ReextractResult]:
        """Rebuild each target's record from its raw pages with the current extractor.

        The same extraction as the crawl: the crawl's page-stitching function over the article's
        pages, with the site's packaged profile. Yields one result per article, as it goes (for a
        progress bar). A record whose fields changed is updated; if its content changed, the old
        content is kept in `versions`.
        """
        # The crawl's own extraction step (pure; it lives with the pipelines, which import
        # Scrapy, hence the import here and not at the top).
        from newsarchive.extract import extract_pages

        with self.batch():
            for article_id, page_id in targets:
                rows = list(self.db.query("SELECT * FROM articles WHERE id = ?", [article_id]))
                if not rows:
                    continue
                old = rows[0]
                result = ReextractResult(article_id=article_id, url=old["url"])
                pages = self.article_pages(page_id)
                if not pages:
                    result.error = (
                        f"{old['url']}: raw page {page_id} is missing from {self.pages_path}"
                    )
                    yield result
                    continue
                for page in pages:
                    # Imported files: the extractor saw no URL then, so it sees none now.
                    page.url = extraction_url(page.url) or ""
                try:
                    article = extract_pages(pages, _packaged_profile(old["site"]))
                    with self._item():
                        self._apply_reextraction(old, article, result)
                except Exception as exc:  # one broken page must not end the run
                    result.error = f"{old['url']}: {type(exc).__name__}: {exc}"
                    self.record_failure(old["url"], f"reextract: {result.error}", site=old["site"])
                self._item_done()
                yield result

    def _apply_reextraction(
        self, old: dict[str, Any], article: Article, result: ReextractResult
    ) -> None:
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
