"""Read-side queries behind `search`, `stats` and `export`: full-text search, fill rates, rows."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsarchive.errors import NewsarchiveError
from newsarchive.storage.archive import Archive

# Fields whose fill rate `stats` and the Datasette canned query report: the ones an analyst
# notices missing. JSON list columns count as filled when the list is not empty.
FILL_RATE_FIELDS = (
    "title",
    "authors",
    "published",
    "modified",
    "category",
    "tags",
    "description",
    "body",
    "image",
)
LIST_FIELDS = frozenset({"authors", "tags"})

# Highlight marks and context size for search snippets (FTS5 snippet(): up to 16 tokens).
SNIPPET_OPEN, SNIPPET_CLOSE, SNIPPET_ELLIPSIS, SNIPPET_TOKENS = "[", "]", "…", 16


@dataclass
class SearchHit:
    id: int
    url: str
    site: str
    title: str | None
    published: str | None
    snippet: str


def _filters(site: str | None, since: str | None, alias: str = "a") -> tuple[str, list[Any]]:
    """SQL conditions for --site and --since (from `parse_since`): published on/after, or first
    seen on/after when the publication time is unknown."""
    clauses, params = [], []
    if site is not None:
        clauses.append(f"{alias}.site = ?")
        params.append(site)
    if since is not None and len(since) == 10:
        # A date: the date printed on the article (its own zone), as a reader would count.
        clauses.append(f"coalesce({alias}.published_date, substr({alias}.first_seen, 1, 10)) >= ?")
        params.append(since)
    elif since is not None:
        clauses.append(f"coalesce({alias}.published_utc, {alias}.first_seen) >= ?")
        params.append(since)
    return "".join(f" AND {clause}" for clause in clauses), params


# A plain query: "quoted phrases" and words (letters and digits, inner hyphens and apostrophes
# kept, so reduplicated words like anak-anak and Jum'at stay one term).
_PLAIN_TERM = re.compile(r'"([^"]*)"|(\w+(?:[-\'’]\w+)*)')


def plain_query(text: str) -> str:
    """A plain search ('banjir jakarta', 'anak-anak', '"kereta cepat" 2024') as an FTS5 query:
    every word and phrase must match; nothing in it is FTS syntax. Raises NewsarchiveError when
    it holds no word at all ('*', '--')."""
    terms = []
    for phrase, word in _PLAIN_TERM.findall(text):
        term = " ".join(re.findall(r"\w+", phrase or word))
        if term:
            terms.append('"' + term + '"')
    if not terms:
        raise NewsarchiveError(f"search: {text!r} holds no word to search for")
    return " ".join(terms)


def search(
    archive: Archive,
    query: str,
    *,
    site: str | None = None,
    since: str | None = None,
    limit: int = 20,
    fts: bool = False,
) -> list[SearchHit]:
    """Articles matching plain words (every word; "quoted phrases" kept), best first (bm25 over
    title, description and body). `fts=True` takes the query as FTS5 syntax instead."""
    if not query.strip():
        raise NewsarchiveError("search: empty query")
    match = query if fts else plain_query(query)
    where, params = _filters(site, since)
    # FTS5 sorts by rank itself (the ORDER BY goes to the virtual table), so SQLite computes
    # snippet() only for the rows it emits: measured faster than ranking in a subquery first.
    sql = f"""
        SELECT a.id, a.url, a.site, a.title, a.published,
            snippet(articles_fts, -1, ?, ?, ?, ?) AS snippet
        FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
        WHERE articles_fts MATCH ?{where}
        ORDER BY articles_fts.rank LIMIT ?
    """
    args = [SNIPPET_OPEN, SNIPPET_CLOSE, SNIPPET_ELLIPSIS, SNIPPET_TOKENS, match, *params, limit]
    try:
        rows = archive.db.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if not fts:
            raise
        raise NewsarchiveError(
            f"search: {query!r} is not valid FTS5 syntax ({exc}); drop --fts to search plain words"
        ) from None
    return [SearchHit(*row) for row in rows]


def _fill_expression(column: str) -> str:
    if column in LIST_FIELDS:
        return f"round(100.0 * sum({column} != '[]') / count(*), 1)"
    return f"round(100.0 * count(nullif(trim({column}), '')) / count(*), 1)"


def fill_rates_sql() -> str:
    """Per site: articles and the percentage of them with each field filled."""
    fills = ",\n    ".join(f"{_fill_expression(column)} AS {column}" for column in FILL_RATE_FIELDS)
    return (
        f"SELECT site, count(*) AS articles,\n    {fills}\n"
        "FROM articles GROUP BY site ORDER BY articles DESC, site"
    )


@dataclass
class SiteStats:
    site: str
    articles: int
    first_published: str | None
    last_published: str | None
    first_seen: str | None
    last_seen: str | None
    fill_rates: dict[str, float]


@dataclass
class ArchiveStats:
    articles: int
    versions: int
    pages: int
    fetches: int
    page_bytes: int
    page_stored_bytes: int
    failures: int
    crawl_runs: int
    archive_file_bytes: int  # archive.db with its WAL, as on disk
    pages_file_bytes: int  # pages.db with its WAL, as on disk
    sites: list[SiteStats]


def stats(archive: Archive) -> ArchiveStats:
    db = archive.db
    ranges = {
        row[0]: row[1:]
        for row in db.execute(
            "SELECT site, min(published_date), max(published_date), min(first_seen), max(last_seen) "
            "FROM articles GROUP BY site"
        )
    }
    sites = []
    for row in db.query(fill_rates_sql()):
        site, count = row.pop("site"), row.pop("articles")
        sites.append(SiteStats(site, count, *ranges[site], fill_rates=row))
    page_count, page_bytes, stored_bytes = archive.pages.execute(
        "SELECT count(*), coalesce(sum(size), 0), coalesce(sum(length(body)), 0) FROM pages"
    ).fetchone()
    return ArchiveStats(
        articles=archive.count("articles"),
        versions=archive.count("versions"),
        pages=page_count,
        fetches=archive.count("fetches"),
        page_bytes=page_bytes,
        page_stored_bytes=stored_bytes,
        failures=archive.count("failures"),
        crawl_runs=archive.count("crawl_runs"),
        archive_file_bytes=_file_bytes(archive.path),
        pages_file_bytes=_file_bytes(archive.pages_path),
        sites=sites,
    )


def _file_bytes(path: Path) -> int:
    files = (path, path.with_name(path.name + "-wal"))
    return sum(file.stat().st_size for file in files if file.exists())


def article_rows(
    archive: Archive, *, site: str | None = None, since: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every article row (JSON columns still JSON text), oldest publication first."""
    where, params = _filters(site, since)
    yield from archive.db.query(
        f"SELECT * FROM articles a WHERE 1{where} ORDER BY coalesce(a.published_utc, a.first_seen), a.id",
        params,
    )
