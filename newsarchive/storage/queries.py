"""Read-side queries behind `search`, `stats` and `export`: full-text search, fill rates, rows."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
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


# Relevance: FTS5's bm25 with a match in the title worth 10 in the body and one in the standfirst
# 4 (a headline naming the words is what a reader means by "about"). Given as the query's rank
# function, so FTS5 still sorts by rank itself.
RANK = "bm25(10.0, 4.0, 1.0)"


@dataclass
class SearchHit:
    id: int
    url: str
    site: str
    title: str | None
    published: str | None
    snippet: str
    category: str | None = None
    authors: list[str] = field(default_factory=list)


def _filters(
    site: str | None,
    since: str | None,
    alias: str = "a",
    *,
    until: str | None = None,
    author: str | None = None,
    category: str | None = None,
) -> tuple[str, list[Any]]:
    """SQL conditions for --site, --since/--until (from `parse_since`), --author and --category.

    A date bound compares with the date printed on the article (its own zone, as a reader
    counts), a time bound with the UTC instant; both fall back to the first-seen time when the
    publication time is unknown. A publication time stated without zone has no UTC instant: a
    time bound compares with its date (the start of that day, as text sorts), not first-seen. --until is inclusive: a date takes in that whole day. Author and
    category match whole values, case-insensitively.
    """
    clauses, params = [], []
    if site is not None:
        clauses.append(f"{alias}.site = ?")
        params.append(site)
    for bound, operator in ((since, ">="), (until, "<=")):
        if bound is None:
            continue
        if len(bound) == 10:
            clauses.append(
                f"coalesce({alias}.published_date, substr({alias}.first_seen, 1, 10)) {operator} ?"
            )
        else:
            clauses.append(
                f"coalesce({alias}.published_utc, {alias}.published_date, {alias}.first_seen)"
                f" {operator} ?"
            )
        params.append(bound)
    if author is not None:
        # json_each over the row's own array: works on every schema version (read commands do
        # not migrate), and the FTS match has already narrowed the rows.
        clauses.append(
            f"EXISTS (SELECT 1 FROM json_each({alias}.authors) WHERE value = ? COLLATE NOCASE)"
        )
        params.append(author.strip())
    if category is not None:
        clauses.append(f"{alias}.category = ? COLLATE NOCASE")
        params.append(category.strip())
    return "".join(f" AND {clause}" for clause in clauses), params


# A plain query: "quoted phrases" and words (letters and digits, inner hyphens and apostrophes
# kept, so reduplicated words like anak-anak and Jum'at stay one term).
_PLAIN_TERM = re.compile(r'"([^"]*)"|(\w+(?:[-\'’]\w+)*)')


def plain_phrases(text: str) -> list[str]:
    """The FTS5 phrases of a plain search, each quoted ('"banjir"', '"kereta cepat"'). Raises
    NewsarchiveError when it holds no word at all ('*', '--')."""
    terms = []
    for phrase, word in _PLAIN_TERM.findall(text):
        term = " ".join(re.findall(r"\w+", phrase or word))
        if term:
            terms.append('"' + term + '"')
    if not terms:
        raise NewsarchiveError(f"search: {text!r} holds no word to search for")
    return terms


def plain_query(text: str) -> str:
    """A plain search ('banjir jakarta', 'anak-anak', '"kereta cepat" 2024') as an FTS5 query:
    every word and phrase must match; nothing in it is FTS syntax. Raises NewsarchiveError when
    it holds no word at all ('*', '--')."""
    return " ".join(plain_phrases(text))


# Everyday words. A word in over half of the articles ('yang', 'dan', 'di' in Indonesian) gets
# bm25's floor weight (FTS5 clamps its idf, log((N - n + 0.5) / (n + 0.5)), to 1e-6), so bm25
# cannot tell its matches apart, yet ranking them costs a score for every one of them: 3.3 s for
# `yang` at a million articles. A search made only of such words is ranked instead by where
# they stand — every one in the title first, then in title or standfirst, then anywhere (the order
# bm25's column weights give) — and newest first within each, which FTS5 reads straight off its
# index, stopping at the page wanted. A phrase counts as everyday when it is in more than
# DENSE_SHARE of the newest DENSE_SAMPLE articles (a fraction of a millisecond to count).
DENSE_SHARE = 0.5
DENSE_SAMPLE = 2000
# Below this many articles bm25 over every match is fast anyway: rank by it.
DENSE_MIN_ARTICLES = 20_000
# The title and standfirst tiers look at the newest this many articles: several everyday words
# are rarely all in one title, and finding the few that are would read the words' whole lists.
DENSE_TIER_WINDOW = 50_000


def dense_sql(phrases: list[str]) -> tuple[str, list[Any]]:
    """SQL giving 1 when every phrase is an everyday one (see DENSE_SHARE), else 0."""
    newest = "(SELECT coalesce(max(id), 0) FROM articles)"
    checks = [f"{newest} >= ?"]
    args: list[Any] = [DENSE_MIN_ARTICLES]
    for phrase in phrases:
        checks.append(
            "(SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ? "
            f"AND articles_fts.rowid > {newest} - ?) > ? * min(?, {newest})"
        )
        args += [phrase, DENSE_SAMPLE, DENSE_SHARE, DENSE_SAMPLE]
    return "SELECT " + " AND ".join(checks), args


@dataclass
class SearchFilters:
    """What narrows a search besides its words (bounds as `parse_since` gives them)."""

    site: str | None = None
    since: str | None = None
    until: str | None = None
    author: str | None = None
    category: str | None = None

    def where(self, alias: str = "a", *, without: str | None = None) -> tuple[str, list[Any]]:
        """The SQL conditions; `without` leaves one filter out (for counts per value of it)."""
        values = {
            name: None if name == without else getattr(self, name)
            for name in ("site", "since", "until", "author", "category")
        }
        return _filters(values.pop("site"), values.pop("since"), alias, **values)


def match_expression(query: str, *, fts: bool = False) -> str:
    """The FTS5 MATCH expression for a search: plain words (default) or FTS5 syntax as given."""
    if not query.strip():
        raise NewsarchiveError("search: empty query")
    return query if fts else plain_query(query)


def search_sql(
    match: str,
    filters: SearchFilters,
    *,
    marks: tuple[str, str] = (SNIPPET_OPEN, SNIPPET_CLOSE),
    snippet_tokens: int = SNIPPET_TOKENS,
    limit: int = 20,
    offset: int = 0,
    dense: bool = False,
) -> tuple[str, list[Any]]:
    """SQL and parameters for the hits of `match` (an FTS5 expression), best first, with a
    snippet whose matched words are wrapped in `marks`. Shared by `newsarchive search` and the
    Datasette search page, so both rank and filter alike. `dense`: `match` is a plain query of
    everyday words only (dense_sql), ranked by where they stand instead of by bm25."""
    where, params = filters.where()
    if dense:
        return _dense_search_sql(
            match, where, params, marks, snippet_tokens, limit=limit, offset=offset
        )
    # FTS5 sorts by rank itself (the ORDER BY goes to the virtual table), so SQLite computes
    # snippet() only for the rows it emits: measured faster than ranking in a subquery first.
    sql = f"""
        SELECT a.id, a.url, a.site, a.title, a.published,
            snippet(articles_fts, -1, ?, ?, ?, ?) AS snippet, a.category, a.authors
        FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
        WHERE articles_fts MATCH ? AND articles_fts.rank MATCH ?{where}
        ORDER BY articles_fts.rank LIMIT ? OFFSET ?
    """
    args = [*marks, SNIPPET_ELLIPSIS, snippet_tokens, match, RANK, *params, limit, offset]
    return sql, args


def _dense_search_sql(
    match: str,
    where: str,
    params: list[Any],
    marks: tuple[str, str],
    snippet_tokens: int,
    *,
    limit: int,
    offset: int,
) -> tuple[str, list[Any]]:
    # Each tier reads its matches newest first and stops after the page wanted (FTS5 walks its
    # lists by rowid; CROSS JOIN keeps it the outer loop, so filters are checked per match as it
    # goes). The page's rows are then the first by (best tier, newest); their snippets are made
    # for those rows alone, each found again in the index by its rowid.
    wanted = limit + offset
    tiers, args = [], []
    for tier, expression in enumerate(
        (f"{{title}} : ({match})", f"{{title description}} : ({match})", match)
    ):
        window = " AND articles_fts.rowid > (SELECT max(id) FROM articles) - ?" if tier < 2 else ""
        tiers.append(
            f"SELECT * FROM (SELECT articles_fts.rowid AS id, {tier} AS tier "
            "FROM articles_fts CROSS JOIN articles a ON a.id = articles_fts.rowid "
            f"WHERE articles_fts MATCH ?{window}{where} "
            "ORDER BY articles_fts.rowid DESC LIMIT ?)"
        )
        args += [expression, *([DENSE_TIER_WINDOW] if window else []), *params, wanted]
    sql = f"""
        SELECT a.id, a.url, a.site, a.title, a.published,
            snippet(articles_fts, -1, ?, ?, ?, ?) AS snippet, a.category, a.authors
        FROM (
            SELECT id, min(tier) AS tier FROM ({" UNION ALL ".join(tiers)})
            GROUP BY id ORDER BY tier, id DESC LIMIT ? OFFSET ?
        ) AS best
        CROSS JOIN articles_fts ON articles_fts.rowid = best.id
        CROSS JOIN articles a ON a.id = best.id
        WHERE articles_fts MATCH ?
        ORDER BY best.tier, best.id DESC
    """
    return sql, [*marks, SNIPPET_ELLIPSIS, snippet_tokens, *args, limit, offset, match]


def is_dense(db: Any, query: str, *, fts: bool = False) -> bool:
    """Whether a search is made of everyday words only (plain searches only: FTS5 syntax, with
    its OR and NOT, is always ranked by bm25)."""
    if fts:
        return False
    sql, args = dense_sql(plain_phrases(query))
    return bool(db.execute(sql, args).fetchone()[0])


def search(
    archive: Archive,
    query: str,
    *,
    site: str | None = None,
    since: str | None = None,
    until: str | None = None,
    author: str | None = None,
    category: str | None = None,
    limit: int = 20,
    fts: bool = False,
) -> list[SearchHit]:
    """Articles matching plain words (every word; "quoted phrases" kept), best first (bm25 over
    title, description and body, the title weighing most). `fts=True` takes the query as FTS5
    syntax instead."""
    match = match_expression(query, fts=fts)
    filters = SearchFilters(site=site, since=since, until=until, author=author, category=category)
    sql, args = search_sql(match, filters, limit=limit, dense=is_dense(archive.db, query, fts=fts))
    try:
        rows = archive.db.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if not fts:
            raise
        raise NewsarchiveError(
            f"search: {query!r} is not valid FTS5 syntax ({exc}); drop --fts to search plain words"
        ) from None
    return [SearchHit(*row[:7], authors=json.loads(row[7] or "[]")) for row in rows]


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
    page_count, page_bytes = archive.pages.execute(
        "SELECT count(*), coalesce(sum(size), 0) FROM pages"
    ).fetchone()
    stored_bytes = archive.stored_page_bytes()
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
        f"SELECT * FROM articles a WHERE 1{where} "
        "ORDER BY coalesce(a.published_utc, a.published_date, a.first_seen), a.id",
        params,
    )


def article_columns(archive: Archive) -> list[str]:
    """The columns of `articles`, in table order (what article_rows' rows hold)."""
    return [row[1] for row in archive.db.execute("PRAGMA table_info(articles)").fetchall()]
