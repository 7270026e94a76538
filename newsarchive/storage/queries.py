"""Read-side queries behind `search`, `stats` and `export`: full-text search, fill rates, rows."""

from __future__ import annotations

import heapq
import itertools
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsarchive.errors import NewsarchiveError
from newsarchive.storage import search_tops
from newsarchive.storage.archive import Archive
from newsarchive.storage.schema import FTS_COLUMNS, SITE_FILL_FIELDS, filled_sql

# Fields whose fill rate `stats` and the Datasette canned query report (see the schema).
FILL_RATE_FIELDS = SITE_FILL_FIELDS

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


# Common words. FTS5 ranks by bm25 over every match, and bm25 first counts the articles holding
# each phrase by reading its whole list: a word in most articles costs a full scan (3.6 s for
# `yang` at a million articles) however few hits are wanted. The archive keeps, for each word in
# at least search_tops.TOP_MIN_DOCS articles, its article count (so its idf needs no scan) and a
# top list: the articles it weighs most in, with the counts bm25 needs (see search_tops). A plain
# search whose words have lists ranks from them:
#
# * "tops": every phrase is a listed word. The candidates are the articles in any of the words'
#   lists. Each is scored by bm25 itself — the same formula, weights, N, avgdl and idf FTS5 uses —
#   from the counts the lists hold; a word an article is not among the best of counts as a single
#   occurrence in that article (bm25 of count 1 at the article's own length): outside a word's
#   best articles, one occurrence is the most likely count, and it is never worth more than the
#   list's floor. Candidates are then
#   checked against the full-text index best first (they must hold every word, and pass the
#   filters) until the page is full.
# * "mixed": some phrases are listed words, others not (rare words, phrases). The articles
#   matching the whole query are found by FTS5 (it walks the rare lists and skips through the
#   common ones), the rare part of their bm25 is exact (rare words: from their counts in FTS5's
#   instance list, the article's length and FTS5's article count of the word; phrases: FTS5's
#   own bm25 over them, whose full scans are of short lists), and each listed word adds its exact
#   share where the article is in its list, else the same single-occurrence share.
#
# So the plans' SQL orders by bm25 with each common word's share exact where that word is among
# the strongest in the article and its single-occurrence value elsewhere; when every list holds
# all the articles with its word (fewer than TOP_SIZE of them), it is exactly FTS5's bm25 order.
# plan_search first tries to prove FTS5's exact order from the lists (exact_ranking, below):
# it can for "mixed" (up to RESOLVE_MAX texts read), and for "tops" where the page allows; the
# plans' SQL ranks what it cannot, and plan_search says whether the order is exact (an estimate
# is noted by `newsarchive search`, whose --exact has FTS5 rank every match). Words
# in over half of the articles weigh almost nothing (FTS5 clamps their idf to 1e-6), so a search
# of only such words is ordered by how strongly they stand in the article (title first).
# When the lists cannot fill the page (narrow filters, deep pages), every match is ranked by FTS5.


def _words(phrases: list[str]) -> list[str] | None:
    """The single word of each phrase ('"banjir"' -> 'banjir'), or None if a phrase has several."""
    words = []
    for phrase in phrases:
        found = search_tops.tokens(phrase.strip('"'))
        if len(found) != 1:
            return None
        words.append(found[0])
    return words


def _word_values(words: list[str]) -> str:
    return " UNION ALL ".join(
        f"SELECT ? AS word, {position} AS position" for position in range(len(words))
    )


def _listed(db: Any, phrases: list[str]) -> dict[str, tuple[int, float, int]] | None:
    """Per listed phrase: its list, floor and article count; None on an archive without lists."""
    try:
        rows = db.execute(
            f"SELECT word, list, coalesce(floor, 0), docs FROM search_words "
            f"WHERE list IS NOT NULL AND word IN ({','.join('?' * len(phrases))})",
            [(_words([p]) or [""])[0] for p in phrases],
        ).fetchall()
    except sqlite3.OperationalError:
        return None
    return {word: (list_id, floor, docs) for word, list_id, floor, docs in rows}


# A search of several listed words is ranked as "mixed", its rarest word taken as the rare part,
# when that word is in at most MIXED_MAX_DOCS articles and fewer than MIXED_MIN_HOLDERS of its
# list's articles are expected to hold the other words (TOP_SIZE times each one's share of the
# articles): reading its counts then costs less than checking candidates most of which fail.
MIXED_MAX_DOCS = 20_000
MIXED_MIN_HOLDERS = 100


def _single(length: str) -> str:
    """SQL of bm25's term weight (no idf) for one occurrence in an article of `length` tokens."""
    k1, b = search_tops.K1, search_tops.B
    return f"{k1 + 1} / (1 + {k1} * ({1 - b} + {b} * {length} / s.avgdl))"


def _bm25_terms(alias: str = "t") -> str:
    """SQL of a listed word's bm25 share in an article, minus what a single occurrence in it
    would be (the value the share is given where the article is not in the word's list)."""
    k1, b = search_tops.K1, search_tops.B
    return (
        f"q.idf * ({alias}.freq * {k1 + 1} / ({alias}.freq + {k1} * "
        f"({1 - b} + {b} * {alias}.length / s.avgdl)) - {_single(alias + '.length')})"
    )


_QUERY_WORDS = """
    stats AS MATERIALIZED (SELECT docs AS n, 1.0 * tokens / docs AS avgdl FROM search_stats),
    q AS MATERIALIZED (
        SELECT v.position, w.list, coalesce(w.floor, 0) AS floor, CASE WHEN s.n - w.docs > w.docs
            THEN ln((s.n - w.docs + 0.5) / (w.docs + 0.5)) ELSE 1e-6 END AS idf
        FROM ({values}) v JOIN search_words w ON w.word = v.word, stats s
        WHERE w.list IS NOT NULL
    )"""


def _page_sql(page: str, marks_args: list[Any], match: str) -> tuple[str, list[Any]]:
    sql = f"""
        SELECT a.id, a.url, a.site, a.title, a.published,
            snippet(articles_fts, -1, ?, ?, ?, ?) AS snippet, a.category, a.authors
        FROM ({page}) AS best
        CROSS JOIN articles_fts ON articles_fts.rowid = best.id
        CROSS JOIN articles a ON a.id = best.id
        WHERE articles_fts MATCH ?
        ORDER BY best.gain DESC, best.id DESC
    """
    return sql, [*marks_args, match]


def _tops_sql(
    match: str,
    words: list[str],
    where: str,
    params: list[Any],
    marks_args: list[Any],
    *,
    limit: int,
    offset: int,
) -> tuple[str, list[Any]]:
    # Candidates best first (a subquery with LIMIT is not flattened into the join, so it is read
    # in its order and the checks stop when the page is full); an article in a word's list holds
    # that word, the other words are looked up in the full-text index by rowid. When the
    # candidates cannot fill the page and no list is complete (one that holds every article with
    # its word makes every match a candidate), the second half of the UNION
    # ranks every match by FTS5's bm25 instead; otherwise its MATCH is '""', which matches
    # nothing at no cost (FTS5 ranks when the scan starts, before any WHERE term is tested).
    # Each row says which half it is from (FTS_RANKED_COLUMN): a page is all from one. Ties go
    # to the higher id in the lists' half, as before, and to the lower in FTS5's, as FTS5 orders
    # them, so that a page FTS5 ranked is FTS5's page exactly.
    join = " JOIN articles a ON a.id = c.id" if where else ""
    # Per word, a bit of `known` when the article is in its list; else one lookup of that word.
    checks = " AND ".join(
        f"(c.known & {1 << position} OR EXISTS (SELECT 1 FROM articles_fts f "
        "WHERE f.articles_fts MATCH ? AND f.rowid = c.id))"
        for position in range(len(words))
    )
    sql = f"""
        WITH {_QUERY_WORDS.format(values=_word_values(words))},
        cand AS MATERIALIZED (
            SELECT t.id, sum(1 << q.position) AS known,
                sum({_bm25_terms()}) + (SELECT sum(idf) FROM q) * {_single("max(t.length)")}
                    AS gain
            FROM q CROSS JOIN search_top t ON {search_tops.listed_in("t.list", "q.list")}
            CROSS JOIN stats s
            GROUP BY t.id
        ),
        page AS MATERIALIZED (
            SELECT c.id, c.gain FROM (
                SELECT id, known, gain FROM cand ORDER BY gain DESC, id DESC LIMIT -1
            ) AS c{join}
            WHERE {checks}{where}
            LIMIT ? OFFSET ?
        ),
        fallback AS MATERIALIZED (
            SELECT (SELECT count(*) FROM page) < ? AND (SELECT min(floor) FROM q) > 0 AS yes
        )
        SELECT a.id, a.url, a.site, a.title, a.published,
            snippet(articles_fts, -1, ?, ?, ?, ?) AS snippet, a.category, a.authors,
            -best.gain AS sort, 0 AS fts_ranked, -best.id AS tie
        FROM page AS best
        CROSS JOIN articles_fts ON articles_fts.rowid = best.id
        CROSS JOIN articles a ON a.id = best.id
        WHERE articles_fts MATCH ? AND NOT (SELECT yes FROM fallback)
        UNION ALL
        SELECT * FROM (
            SELECT a.id, a.url, a.site, a.title, a.published,
                snippet(articles_fts, -1, ?, ?, ?, ?) AS snippet, a.category, a.authors,
                articles_fts.rank AS sort, 1 AS fts_ranked, a.id AS tie
            FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
            WHERE articles_fts MATCH iif((SELECT yes FROM fallback), ?, '""')
                AND articles_fts.rank MATCH ?{where}
            ORDER BY articles_fts.rank LIMIT ? OFFSET ?
        )
        ORDER BY sort, tie
    """
    args = [*words, *(f'"{word}"' for word in words), *params, limit, offset, limit]
    args += [*marks_args, match, *marks_args, match, RANK, *params, limit, offset]
    return sql, args


# The column of the tops plan's rows saying whether FTS5 ranked them (see _tops_sql).
FTS_RANKED_COLUMN = 9

INSTANCES, ROWS = search_tops.INSTANCES, "temp.search_rows"


def instances_sql() -> list[str]:
    """The connection's views of FTS5's instance list (term, doc, col, offset) and per-term
    article counts (term, doc, cnt), which the mixed plan reads a rare word's counts from: temp
    tables, so they work read-only too."""
    return [
        search_tops.CREATE_INSTANCES,
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {ROWS} USING fts5vocab(main, articles_fts, row)",
    ]


def _instances(db: Any) -> bool:
    """Make INSTANCES on the connection; False where it cannot be made. A read-only Archive's
    connection has query_only on, which refuses even temp tables: it is lifted for that one
    statement (the file itself stays read-only: it is not a write to it)."""
    try:
        for statement in instances_sql():
            db.execute(statement)
        return True
    except sqlite3.OperationalError:
        pass
    try:
        if not db.execute("PRAGMA query_only").fetchone()[0]:
            return False
        db.execute("PRAGMA query_only = 0")
        try:
            for statement in instances_sql():
                db.execute(statement)
        finally:
            db.execute("PRAGMA query_only = 1")
    except sqlite3.OperationalError:
        return False
    return True


def _rare_hits_sql(match: str, rare: str, rare_words: list[str] | None) -> tuple[str, list[Any]]:
    """The mixed plan's matches as the CTE `hits` (id, part): the articles matching the whole
    query, each with the rare phrases' share of its bm25. With `rare_words` (single words, and
    INSTANCES made on the connection) from their counts in FTS5's instance list, the article
    lengths and FTS5's article counts, bm25 as FTS5 computes it (its operations in its order, see
    _Ranking.share) without its per-row lookups; else FTS5's own bm25 over the rare phrases alone
    (exact too: their full scans are of short lists). Needs the CTE `stats` before it."""
    weights = ", ".join(str(w) for w in search_tops.WEIGHTS)
    if rare_words:
        k1, b = search_tops.K1, search_tops.B
        cases = " ".join(
            f"WHEN '{column}' THEN {weight}"
            for column, weight in zip(FTS_COLUMNS, search_tops.WEIGHTS, strict=True)
        )
        return (
            f"""
        u AS MATERIALIZED (
            SELECT v.word, CASE WHEN s.n - w.doc > w.doc
                THEN ln((s.n - w.doc + 0.5) / (w.doc + 0.5)) ELSE 1e-6 END AS idf
            FROM ({_word_values(rare_words)}) v JOIN {ROWS} w ON w.term = v.word, stats s
        ),
        f AS MATERIALIZED (
            SELECT i.term, i.doc, sum(CASE i.col {cases} ELSE 0 END) AS freq
            FROM (SELECT DISTINCT word FROM u) d CROSS JOIN {INSTANCES} i ON i.term = d.word
            GROUP BY i.term, i.doc
        ),
        m AS MATERIALIZED (SELECT rowid AS id FROM articles_fts WHERE articles_fts MATCH ?),
        hits AS MATERIALIZED (
            SELECT m.id, sum(u.idf * ((f.freq * {k1 + 1.0!r}) / (f.freq + {k1!r} * ({1 - b!r}
                + {b!r} * l.length / s.avgdl)))) AS part
            FROM m CROSS JOIN u JOIN f ON f.term = u.word AND f.doc = m.id
            JOIN search_lengths l ON l.id = m.id CROSS JOIN stats s
            GROUP BY m.id
        )""",
            [*rare_words, match],
        )
    return (
        f"""
        r AS MATERIALIZED (
            SELECT rowid AS id, -bm25(articles_fts, {weights}) AS part
            FROM articles_fts WHERE articles_fts MATCH ?
        ),
        m AS MATERIALIZED (SELECT rowid AS id FROM articles_fts WHERE articles_fts MATCH ?),
        hits AS MATERIALIZED (SELECT r.id, r.part FROM r JOIN m ON m.id = r.id)""",
        [rare, match],
    )


def _mixed_sql(
    match: str,
    rare: str,
    words: list[str],
    where: str,
    params: list[Any],
    marks_args: list[Any],
    *,
    limit: int,
    offset: int,
    rare_words: list[str] | None = None,
) -> tuple[str, list[Any]]:
    # The articles matching the whole query (FTS5 walks the rare lists, skipping through the
    # common ones: cheap), each with the rare part's bm25 share (_rare_hits_sql) and each
    # listed word's.
    rare_part, rare_args = _rare_hits_sql(match, rare, rare_words)
    join = " JOIN articles a ON a.id = h.id" if where else ""
    page = f"""
        WITH {_QUERY_WORDS.format(values=_word_values(words))},{rare_part},
        shares AS MATERIALIZED (
            SELECT h.id, sum({_bm25_terms()}) AS gain
            FROM hits h CROSS JOIN q CROSS JOIN search_top t
                ON t.id = h.id AND {search_tops.listed_in("t.list", "q.list")}
            CROSS JOIN stats s
            GROUP BY h.id
        )
        SELECT h.id, h.part + coalesce(e.gain, 0)
            + (SELECT sum(idf) FROM q) * {_single("l.length")} AS gain
        FROM hits h LEFT JOIN shares e ON e.id = h.id
        JOIN search_lengths l ON l.id = h.id CROSS JOIN stats s{join}
        WHERE 1{where}
        ORDER BY gain DESC, h.id DESC LIMIT ? OFFSET ?
    """
    sql, _ = _page_sql(page, marks_args, match)
    return sql, [*marks_args, *words, *rare_args, *params, limit, offset, match]


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
    rare: str | None = None,
    instances: bool = False,
) -> tuple[str, list[Any]]:
    """SQL and parameters for the hits of `match` (an FTS5 expression), best first, with a
    snippet whose matched words are wrapped in `marks`. Shared by `newsarchive search` and the
    Datasette search page, so both rank and filter alike. `dense`: `match` is a plain query whose
    a phrase has a top list (search_plan), ranked from the lists; `rare` (with
    dense): the FTS5 expression of its phrases without a list, the others being listed words
    (the "mixed" plan above); `instances`: the connection has INSTANCES (instances_sql)."""
    where, params = filters.where()
    marks_args = [*marks, SNIPPET_ELLIPSIS, snippet_tokens]
    if dense:
        phrases = [f'"{p}"' for p in re.findall(r'"([^"]*)"', match)]
        if rare is None:
            words = _words(phrases) or []
            return _tops_sql(match, words, where, params, marks_args, limit=limit, offset=offset)
        rare_phrases = re.findall(r'"[^"]*"', rare)
        words = _words([p for p in phrases if p not in set(rare_phrases)]) or []
        return _mixed_sql(
            match,
            rare,
            words,
            where,
            params,
            marks_args,
            limit=limit,
            offset=offset,
            rare_words=_words(rare_phrases) if instances else None,
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
    args = [*marks_args, match, RANK, *params, limit, offset]
    return sql, args


def search_plan(db: Any, query: str, *, fts: bool = False) -> tuple[str, str | None, bool]:
    """How a search is ranked: ("tops" | "mixed" | "exact", the FTS5 expression of the phrases
    without a list for "mixed", whether a list used holds all its word's articles, so that every
    match is a candidate). Plain searches only: FTS5 syntax, with its OR and NOT, is always ranked
    by FTS5's bm25."""
    if fts:
        return "exact", None, True
    phrases = plain_phrases(query)
    listed = _listed(db, phrases)
    if not listed:
        return "exact", None, True
    rare = []
    complete = False  # a list holding every article with its word: every match is a candidate
    for phrase in phrases:
        words = _words([phrase])
        if words and words[0] in listed:
            complete = complete or listed[words[0]][1] <= 0
        else:
            rare.append(phrase)
    if not rare and len(set(phrases)) > 1:
        counts = [listed[_words([phrase])[0]][2] for phrase in phrases]
        rarest = min(range(len(phrases)), key=counts.__getitem__)
        articles = db.execute("SELECT docs FROM search_stats").fetchone()[0] or 1
        holders = search_tops.TOP_SIZE
        for n, count in enumerate(counts):
            if n != rarest:
                holders *= count / articles
        if counts[rarest] <= MIXED_MAX_DOCS and holders < MIXED_MIN_HOLDERS:
            rare = [phrases[rarest]]
            complete = False
    if not rare:
        return "tops", None, complete
    return "mixed", " ".join(rare), complete


# Exact order from the lists. The plans above give each listed word's share exactly where the
# article is in the word's list; elsewhere that share is only known to lie between a single
# occurrence's and what the list's floor allows (search_tops: an article outside a list weighs
# at most its floor there). So each candidate has an upper bound, and the exact score of those
# whose bound can still reach the page is computed from their text (the tokens and column
# weights FTS5 counts, as search_tops counts them), best bound first, until the page's last
# score beats every bound left:
#
# * "mixed": FTS5 finds every match, so the page is then bm25's exactly.
# * "tops": the candidates are the lists' articles; an article in none of them scores at most
#   the sum of idf times floor (_Ranking.outside_all), so the page is bm25's exactly when its
#   last score reaches that. When it cannot (two words in hundreds of thousands of articles
#   each have floors near the top of the scale: an article in neither list may score as well as
#   the best of them), when the lists cannot fill the page, or when more than RESOLVE_MAX texts
#   would be read, the plans' SQL above ranks instead, as before.
# Ties go to the lower id, as FTS5 orders them.
RESOLVE_MAX = 150
# A word's share of the most a search can score under which its absence from a list is taken
# as leaving little doubt (_Ranking.provable).
LIGHT_SHARE = 0.02
# Bounds are compared with scores summed in another order: a margin well above float error.
_SLACK = 1e-9


@dataclass
class _Ranking:
    """The lists' numbers for one search: bm25's N and avgdl as FTS5 has them, the avgdl the
    lists' impacts and floors were computed at, and per listed word (list, floor, idf, docs)."""

    articles: int
    avgdl: float
    avgdl_ref: float
    words: dict[str, tuple[int, float, float, int]]

    def share(self, word: str, freq: float, length: int) -> float:
        # FTS5's bm25 term for one phrase (fts5_aux.c): idf times the impact, its operations in
        # FTS5's order.
        return self.words[word][2] * search_tops.impact(freq, length, self.avgdl)

    def outside_all(self, phrases: list[str]) -> float:
        """The most an article in none of the lists can score. At any length, a count whose
        impact at avgdl_ref is at most the floor has at most floor*r*(k1+1)/(floor*r+k1+1-floor)
        at avgdl, r = max(1, avgdl/avgdl_ref)."""
        k1 = search_tops.K1
        ratio = max(1.0, self.avgdl / self.avgdl_ref)
        total = 0.0
        for word in phrases:
            _, floor, idf, _ = self.words[word]
            if floor <= 0:
                return 0.0  # every article with that word is in its list
            total += idf * floor * ratio * (k1 + 1) / (floor * ratio + k1 + 1 - floor)
        return total * (1 + _SLACK)

    def provable(self, db: Any, words: list[str]) -> bool:
        """Whether reading candidates' texts may prove the page for the distinct `words`, cheaply.

        Cheap only when being missing from a list leaves little doubt: all words but one nearly
        weightless outside their lists (a word in most articles: its idf is near 0). Otherwise
        hundreds of texts would be read (two words in 100,000+ articles each, or one and a word
        in 5,000-20,000: 200-750 texts, 12-22 ms at a million articles). And an article missing
        from some lists must be able to beat every article outside all of them when it holds
        those words once: else only articles in every list can (a handful: two lists of
        TOP_SIZE rarely share more), and the page cannot be proved."""
        if len(words) < 2:
            return True
        k1, b = search_tops.K1, search_tops.B
        ratio = max(1.0, self.avgdl / self.avgdl_ref)
        scale = sum(self.words[word][2] for word in words) * (k1 + 1)
        bounds = {}
        for word in words:
            _, floor, idf, _ = self.words[word]
            bounds[word] = idf * floor * ratio * (k1 + 1) / (floor * ratio + k1 + 1 - floor)
        if sum(bounds[word] > LIGHT_SHARE * scale for word in words) > 1:
            return False
        lists = {self.words[word][0]: word for word in words}
        # Per list its best impact and its shortest article (no article in it is shorter).
        tops = {
            lists[list_id]: (best, shortest)
            for list_id, best, shortest in db.execute(
                "SELECT max(list, ~list), max(impact), min(length) FROM search_top "
                f"WHERE list IN ({','.join('?' * 2 * len(lists))}) GROUP BY 1",
                [*lists, *(~list_id for list_id in lists)],
            )
        }
        shortest = min((length for _, length in tops.values()), default=0)
        # One occurrence's share is largest in the shortest article.
        single = (k1 + 1) / (1 + k1 * (1 - b + b * shortest / self.avgdl))
        gains, losses = {}, {}
        for word in words:
            idf = self.words[word][2]
            best = tops.get(word, (k1 + 1, 0))[0]
            top = idf * best * ratio * (k1 + 1) / (best * ratio + k1 + 1 - best)
            gains[word] = top - bounds[word]  # in its list: at most this above the bound
            losses[word] = bounds[word] - idf * single  # not in it, held once: at least this below
        for size in range(1, len(words)):
            for listed in itertools.combinations(words, size):
                missing = [word for word in words if word not in listed]
                if sum(gains[w] for w in listed) >= sum(losses[w] for w in missing):
                    return True
        return False

    def share_sql(self, word: str, freq: str, length: str) -> str:
        """SQL of share(): NULL where `freq` is."""
        k1, b = search_tops.K1, search_tops.B
        idf = self.words[word][2]
        norm = f"{k1!r} * ({1 - b!r} + {b!r} * {length} / {self.avgdl!r})"
        return f"{idf!r} * (({freq}) * {k1 + 1.0!r} / (({freq}) + {norm}))"

    def bound_sql(self, word: str, freq: str, length: str) -> str:
        """SQL of the most `word` adds to an article of `length` tokens, `freq` its count there
        where the article is in its list (else NULL). NULL when the article cannot hold it (the
        list is complete)."""
        k1, b = search_tops.K1, search_tops.B
        _, floor, idf, _ = self.words[word]
        if floor <= 0:
            outside = "NULL"
        elif floor >= k1 + 1:
            outside = repr(idf * (k1 + 1))
        else:
            # The count whose impact at avgdl_ref is the floor, at this length.
            scale = floor * k1 / (k1 + 1 - floor)
            most = f"{scale!r} * ({1 - b!r} + {b!r} * {length} / {self.avgdl_ref!r})"
            outside = f"{self.share_sql(word, most, length)} * {1 + _SLACK!r}"
        return f"coalesce({self.share_sql(word, freq, length)}, {outside})"


def _ranking(db: Any, words: list[str]) -> _Ranking | None:
    stats = db.execute("SELECT docs, tokens, avgdl_ref FROM search_stats").fetchone()
    if not stats or not stats[0] or not stats[2]:
        return None
    articles, tokens, avgdl_ref = stats
    distinct = sorted(set(words))
    rows = db.execute(
        f"SELECT word, list, coalesce(floor, 0), docs FROM search_words "
        f"WHERE list IS NOT NULL AND word IN ({','.join('?' * len(distinct))})",
        distinct,
    ).fetchall()
    listed = {
        word: (list_id, floor, search_tops.idf(docs, articles), docs)
        for word, list_id, floor, docs in rows
    }
    if len(listed) != len(distinct):
        return None
    return _Ranking(articles, tokens / articles, avgdl_ref, listed)


def _weighted_counts(texts: tuple[Any, ...], words: set[str]) -> dict[str, float]:
    """bm25's f of each of `words` in an article's (title, description, body): the tokens
    search_tops.tokens makes, counted with the column weights. ASCII text, nearly all of it, is
    searched by C code alone, and only where the word is in it at all (search_tops.article_terms
    counts every word: ten times slower)."""
    counts = dict.fromkeys(words, 0.0)
    for weight, text in zip(search_tops.WEIGHTS, texts, strict=True):
        if not text:
            continue
        lowered = str(text).lower()
        if lowered.isascii():
            present = [word for word in words if word in lowered]
            if present:
                # Separators to spaces, each doubled: " word " then counts every occurrence,
                # side by side ones too.
                spaced = b"  " + lowered.encode().translate(search_tops.ASCII_SEPARATORS) + b"  "
                spaced = spaced.replace(b" ", b"  ")
                for word in present:
                    counts[word] += weight * spaced.count(b" " + word.encode() + b" ")
        else:
            found = search_tops.tokens(str(text))
            for word in words:
                counts[word] += weight * found.count(word)
    return counts


def _resolve(
    db: Any,
    ranking: _Ranking,
    phrases: list[str],
    candidates: Iterator[tuple],
    need: int,
    where: str,
    params: list[Any],
    *,
    matches: bool = False,
) -> tuple[list[tuple[float, int]], bool] | None:
    """Exact scores, best first, of the `need` best `candidates`, which come best bound first as
    rows of (id, length, the score's part from phrases without a list, each distinct listed
    word's count where the article is in its list, the bound). The text of those whose bound can
    still reach the page is read. With whether the candidates settled the page (False: they ran
    out before filling it). `matches`: every candidate matches and passes the filters. None
    past RESOLVE_MAX texts."""
    distinct = sorted({p for p in phrases if p in ranking.words})
    listed = [p for p in phrases if p in ranking.words]
    best: list[tuple[float, int]] = []  # a min-heap of (score, -id): the page so far
    read = 0
    while True:
        # Just enough to fill the page, then a few at a time: most reads end the search.
        batch = list(itertools.islice(candidates, max(8, need - len(best))))
        if not batch:
            return sorted(best, reverse=True), len(best) >= need
        if len(best) >= need and batch[0][-1] < best[0][0]:
            return sorted(best, reverse=True), True
        batch = [row for row in batch if len(best) < need or row[-1] >= best[0][0]]
        unknown = [row[0] for row in batch if where or None in row[3:-1]]
        read += len(unknown)
        if read > RESOLVE_MAX:
            return None
        texts = {}
        if unknown:
            texts = {
                row[0]: row[1:]
                for row in db.execute(
                    "SELECT a.id, a.title, a.description, a.body FROM articles a "
                    f"WHERE a.id IN (SELECT value FROM json_each(?)){where}",
                    [json.dumps(unknown), *params],
                )
            }
        for article_id, length, part, *known, _ in batch:
            freqs = dict(zip(distinct, known, strict=True))
            missing = {word for word, freq in freqs.items() if freq is None}
            if (where or missing) and article_id not in texts:
                continue  # filtered out
            if missing:
                freqs.update(_weighted_counts(texts[article_id], missing))
                if any(freqs[word] <= 0 for word in missing):
                    if not matches:
                        continue  # does not hold every word
                    # FTS5 matched it: a text its tokenizer splits otherwise than ours.
                    freqs = {word: max(freq, 1.0) for word, freq in freqs.items()}
            score = part
            for phrase in listed:
                score += ranking.share(phrase, freqs[phrase], length)
            entry = (score, -article_id)
            if len(best) < need:
                heapq.heappush(best, entry)
            elif entry > best[0]:
                heapq.heapreplace(best, entry)
        if len(best) >= need and batch and batch[-1][-1] < best[0][0]:
            return sorted(best, reverse=True), True


def _tops_ranked(db: Any, words: list[str], filters: SearchFilters, need: int) -> list[int] | None:
    """The ids of the `need` best articles for a search of listed `words`, in exact bm25 order;
    None when the lists cannot prove that order cheaply (see above)."""
    ranking = _ranking(db, words)
    if ranking is None:
        return None
    distinct = sorted(set(words))
    outside = ranking.outside_all(words)
    if outside > 0 and not ranking.provable(db, distinct):
        return None
    where, params = filters.where()
    if len(distinct) == 1:
        # One word: its list holds each candidate's exact score, best first, no text to read
        # but for the filters.
        list_id = ranking.words[distinct[0]][0]
        share = " + ".join(ranking.share_sql(word, "t.freq", "t.length") for word in words)
        cursor = db.execute(
            f"SELECT t.id, t.length, 0.0, t.freq, {share} AS bound FROM search_top t "
            f"WHERE {search_tops.listed_in('t.list', '?')} ORDER BY bound DESC, t.id",
            [list_id, list_id],
        )
        resolved = _resolve(db, ranking, words, iter(cursor), need, where, params)
        cursor.close()
        return _proved(resolved, outside)
    columns = ", ".join(
        f"max(CASE WHEN {search_tops.listed_in('t.list', str(ranking.words[word][0]))} "
        f"THEN t.freq END) AS f{n}"
        for n, word in enumerate(distinct)
    )
    index = {word: f"c.f{n}" for n, word in enumerate(distinct)}
    bound = " + ".join(ranking.bound_sql(word, index[word], "c.length") for word in words)
    # The least each candidate scores if it holds every word (a count of at least 1), and how
    # likely it is to hold the words it is not listed for: going down that least score until
    # the page is expected full estimates the page's last score, and the candidates whose bound
    # reaches the estimate are about the texts the proof would read. When the estimate is below
    # what an article outside every list may score, or those texts are more than RESOLVE_MAX,
    # the plans' SQL ranks at once.
    low = " + ".join(
        f"coalesce({ranking.share_sql(word, index[word], 'c.length')}, "
        f"{ranking.share_sql(word, '1.0', 'c.length')})"
        for word in words
    )
    odds = " * ".join(
        f"iif({index[word]} IS NULL, {ranking.words[word][3] / ranking.articles!r}, 1.0)"
        for word in distinct
    )
    lists = ", ".join(
        f"{list_id}, {~list_id}" for list_id in (ranking.words[word][0] for word in distinct)
    )
    cursor = db.execute(
        f"""
        WITH c AS MATERIALIZED (
            SELECT t.id, max(t.length) AS length, {columns}
            FROM search_top t WHERE t.list IN ({lists}) GROUP BY t.id
        ),
        b AS MATERIALIZED (
            SELECT c.*, {bound} AS bound, {low} AS low, {odds} AS odds FROM c
            WHERE bound IS NOT NULL
        ),
        k AS MATERIALIZED (
            SELECT coalesce(max(low), -1) AS last FROM (
                SELECT low, sum(odds) OVER (ORDER BY low DESC, id) AS held FROM b
            ) WHERE held >= ?1
        ),
        r AS MATERIALIZED (SELECT count(*) AS reads FROM b, k WHERE b.bound >= k.last)
        SELECT k.last, r.reads,
            b.id, b.length, 0.0, {", ".join(f"b.f{n}" for n in range(len(distinct)))}, b.bound
        FROM k, r, b ORDER BY b.bound DESC, b.id
        """,
        [need],
    )
    rows = iter(cursor)
    first = next(rows, None)
    if first is None or first[0] < outside or first[1] > RESOLVE_MAX:
        cursor.close()
        return None
    candidates = (row[2:] for row in itertools.chain([first], rows))
    resolved = _resolve(db, ranking, words, candidates, need, where, params)
    cursor.close()
    return _proved(resolved, outside)


def _proved(
    resolved: tuple[list[tuple[float, int]], bool] | None, outside: float
) -> list[int] | None:
    """The ids of a page _resolve made from the lists' candidates, if no article outside every
    list (scoring at most `outside`) can belong on it."""
    if resolved is None:
        return None
    page, settled = resolved
    if settled and page and page[-1][0] < outside:
        return None  # an article in no list might still beat the page's last
    if not settled and outside > 0:
        return None  # the lists cannot fill the page: articles outside them may
    return [-negated for _, negated in page]


def _mixed_ranked(
    db: Any,
    match: str,
    rare: str,
    phrases: list[str],
    filters: SearchFilters,
    need: int,
    *,
    instances: bool,
) -> list[int] | None:
    """The mixed plan's matches (every one, from FTS5) in exact bm25 order, the `need` best."""
    rare_phrases = re.findall(r'"[^"]*"', rare)
    words = _words([p for p in phrases if p not in set(rare_phrases)]) or []
    ranking = _ranking(db, words) if words else None
    if ranking is None:
        return None
    rare_words = _words(rare_phrases) if instances else None
    where, params = filters.where()
    sql, args = _mixed_matches_sql(match, rare, words, ranking, where, params, rare_words)
    cursor = db.execute(sql, args)
    # Every candidate is a match that passes the filters: texts are read for counts only.
    resolved = _resolve(db, ranking, words, iter(cursor), need, "", [], matches=True)
    cursor.close()
    return None if resolved is None else [-negated for _, negated in resolved[0]]


def _mixed_matches_sql(
    match: str,
    rare: str,
    words: list[str],
    ranking: _Ranking,
    where: str,
    params: list[Any],
    rare_words: list[str] | None,
) -> tuple[str, list[Any]]:
    """Every match of the mixed plan, best bound first: id, length, the rare part of its bm25
    (exact, as in _mixed_sql), each distinct listed word's count where the article is in that
    word's list, and the bound."""
    hits, hits_args = _rare_hits_sql(match, rare, rare_words)
    distinct = sorted(set(words))
    index = {word: f"c.f{n}" for n, word in enumerate(distinct)}
    counts = ", ".join(
        "(SELECT t.freq FROM search_top t WHERE "
        f"{search_tops.listed_in('t.list', str(ranking.words[word][0]))} AND t.id = h.id) AS f{n}"
        for n, word in enumerate(distinct)
    )
    # A match holds every word: where a list is complete, the article is in it.
    bound = " + ".join(
        f"coalesce({ranking.bound_sql(word, index[word], 'c.length')}, 0)" for word in words
    )
    join = " JOIN articles a ON a.id = h.id" if where else ""
    sql = f"""
        WITH stats AS MATERIALIZED (
            SELECT docs AS n, 1.0 * tokens / docs AS avgdl FROM search_stats
        ),{hits},
        c AS MATERIALIZED (
            SELECT h.id, l.length, h.part, {counts}
            FROM hits h JOIN search_lengths l ON l.id = h.id{join}
            WHERE 1{where}
        )
        SELECT c.id, c.length, c.part, {", ".join(index[word] for word in distinct)},
            c.part + {bound} AS bound
        FROM c ORDER BY bound DESC, c.id
    """
    return sql, [*hits_args, *params]


def _ranked_page_sql(ids: list[int], match: str, marks_args: list[Any]) -> tuple[str, list[Any]]:
    """The hits `ids` in that order, with their snippets (as the plans' SQL gives them)."""
    sql = """
        SELECT a.id, a.url, a.site, a.title, a.published,
            snippet(articles_fts, -1, ?, ?, ?, ?) AS snippet, a.category, a.authors
        FROM json_each(?) AS best
        CROSS JOIN articles_fts ON articles_fts.rowid = best.value
        CROSS JOIN articles a ON a.id = best.value
        WHERE articles_fts MATCH ?
        ORDER BY best.key
    """
    return sql, [*marks_args, json.dumps(ids), match]


def _ranked(
    db: Any,
    query: str,
    plan: str,
    rare: str | None,
    filters: SearchFilters,
    need: int,
    *,
    instances: bool,
) -> list[int] | None:
    """The ids of a plain search's `need` best hits in exact bm25 order, from the top lists (see
    above); None when the lists cannot prove that order cheaply (the plans' SQL then ranks)."""
    phrases = plain_phrases(query)
    if plan == "tops":
        words = _words(phrases)
        return _tops_ranked(db, words, filters, need) if words else None
    if plan == "mixed" and rare:
        return _mixed_ranked(
            db, plain_query(query), rare, phrases, filters, need, instances=instances
        )
    return None


def exact_ranking(
    db: Any,
    query: str,
    filters: SearchFilters | None = None,
    *,
    limit: int = 20,
    offset: int = 0,
) -> list[int] | None:
    """The ids of a plain search's page in FTS5's bm25 order, as the top lists prove it (see
    above), or None where they cannot and the plans' SQL ranks (planned_search_sql does both).
    Run on the connection the page is then read from: a mixed plan makes INSTANCES there."""
    plan, rare, _ = search_plan(db, query)
    if plan == "exact":
        return None
    instances = plan == "mixed" and _instances(db)
    ranked = _ranked(
        db, query, plan, rare, filters or SearchFilters(), offset + limit, instances=instances
    )
    return None if ranked is None else ranked[offset:]


@dataclass
class PlannedSearch:
    """A search page's SQL and parameters, and whether its order is FTS5's bm25 order exactly
    (FTS5 ranked it, or the top lists proved it) rather than the plans' estimate from the lists:
    None when the tops plan's SQL decides as it runs (exact_order reads that from its rows)."""

    sql: str
    args: list[Any]
    exact: bool | None

    def exact_order(self, rows: list[Any]) -> bool:
        """Whether `rows`, this SQL's, are in FTS5's bm25 order."""
        if self.exact is not None:
            return self.exact
        return not rows or bool(rows[0][FTS_RANKED_COLUMN])


def plan_search(
    db: Any,
    query: str,
    filters: SearchFilters,
    *,
    fts: bool = False,
    exact: bool = False,
    **options: Any,
) -> PlannedSearch:
    """search_sql for `query` ranked as search_plan decides, with `options` (marks, limit...);
    `exact`: FTS5 ranks every match whatever the lists (seconds for common words at a million
    articles). Run it on the connection `db` itself: a mixed plan makes INSTANCES (temp tables)
    there."""
    match = match_expression(query, fts=fts)
    plan, rare, _ = ("exact", None, True) if exact else search_plan(db, query, fts=fts)
    instances = plan == "mixed" and _instances(db)
    if plan != "exact":
        limit, offset = options.get("limit", 20), options.get("offset", 0)
        ranked = _ranked(db, query, plan, rare, filters, offset + limit, instances=instances)
        if ranked is not None:
            marks = options.get("marks", (SNIPPET_OPEN, SNIPPET_CLOSE))
            tokens = options.get("snippet_tokens", SNIPPET_TOKENS)
            page = [*marks, SNIPPET_ELLIPSIS, tokens]
            return PlannedSearch(*_ranked_page_sql(ranked[offset:], match, page), exact=True)
    sql, args = search_sql(
        match, filters, dense=plan != "exact", rare=rare, instances=instances, **options
    )
    # The tops SQL ranks by FTS5 itself when the lists cannot fill the page.
    return PlannedSearch(sql, args, exact=None if plan == "tops" else plan == "exact")


def planned_search_sql(
    db: Any, query: str, filters: SearchFilters, *, fts: bool = False, **options: Any
) -> tuple[str, list[Any]]:
    """plan_search's SQL and parameters (without whether its order is exact)."""
    planned = plan_search(db, query, filters, fts=fts, **options)
    return planned.sql, planned.args


@dataclass
class SearchResults:
    hits: list[SearchHit]
    # False: ordered by the plans' estimate from the top lists of common words (see above), which
    # may differ from FTS5's bm25 order; True: exactly FTS5's order.
    exact: bool


def search_results(
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
    exact: bool = False,
) -> SearchResults:
    """Articles matching plain words (every word; "quoted phrases" kept), best first (bm25 over
    title, description and body, the title weighing most; common words ranked from their top
    lists, see above), and whether that order is FTS5's exactly. `fts=True` takes the query as
    FTS5 syntax instead; `exact=True` has FTS5 rank every match (slow for common words)."""
    filters = SearchFilters(site=site, since=since, until=until, author=author, category=category)
    planned = plan_search(archive.db, query, filters, fts=fts, exact=exact, limit=limit)
    try:
        rows = archive.db.execute(planned.sql, planned.args).fetchall()
    except sqlite3.OperationalError as exc:
        if not fts:
            raise
        raise NewsarchiveError(
            f"search: {query!r} is not valid FTS5 syntax ({exc}); drop --fts to search plain words"
        ) from None
    hits = [SearchHit(*row[:7], authors=json.loads(row[7] or "[]")) for row in rows]
    return SearchResults(hits, exact=planned.exact_order(rows))


def search(archive: Archive, query: str, **options: Any) -> list[SearchHit]:
    """search_results' hits (`options`: its filters, limit, fts and exact)."""
    return search_results(archive, query, **options).hits


def _fill_expression(column: str) -> str:
    # The same test of "filled" as site_fills' triggers (schema.filled_sql), summed over the rows.
    return f"round(100.0 * sum({filled_sql(column, column)}) / count(*), 1)"


def fill_rates_scan_sql() -> str:
    """fill_rates_sql's rows counted from every article row: for an archive from before
    site_fills (schema v9) opened read-only, and the definition site_fills' triggers keep."""
    fills = ",\n    ".join(f"{_fill_expression(column)} AS {column}" for column in FILL_RATE_FIELDS)
    return (
        f"SELECT site, count(*) AS articles,\n    {fills}\n"
        "FROM articles GROUP BY site ORDER BY articles DESC, site"
    )


def fill_rates_sql() -> str:
    """Per site: articles and the percentage of them with each field filled, from the counts
    the schema's triggers keep in site_fills (the same numbers as fill_rates_scan_sql)."""
    fills = ",\n    ".join(
        f"round(100.0 * {column} / articles, 1) AS {column}" for column in FILL_RATE_FIELDS
    )
    return (
        f"SELECT site, articles,\n    {fills}\n"
        "FROM site_fills WHERE articles > 0 ORDER BY articles DESC, site"
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
    # The full-text index's segments: each search looks each word up in all (compact merges them).
    search_segments: int = 0
    # Raw pages per kind (article, listing, other, error, unextracted), most first.
    page_kinds: dict[str, int] = field(default_factory=dict)
    # Articles their site took down (answered 404 or 410 at on a revisit): records kept.
    gone: int = 0


# Per site: its date ranges. Publication dates from the (site, published_date) index, two seeks
# a site; first_seen / last_seen as site_fills keeps them, counted from the site's articles only
# where a delete or an edit left them unknown (NULL).
_SITE_RANGES_SQL = """
    SELECT f.site,
        (SELECT min(published_date) FROM articles WHERE site = f.site),
        (SELECT max(published_date) FROM articles WHERE site = f.site),
        coalesce(f.first_seen_min, (SELECT min(first_seen) FROM articles WHERE site = f.site)),
        coalesce(f.last_seen_max, (SELECT max(last_seen) FROM articles WHERE site = f.site))
    FROM site_fills f WHERE f.articles > 0
"""
# The same from every article row: an archive from before site_fills opened read-only.
_SITE_RANGES_SCAN_SQL = """
    SELECT site, min(published_date), max(published_date), min(first_seen), max(last_seen)
    FROM articles GROUP BY site
"""


def check_site(archive: Archive, site: str | None) -> None:
    """NewsarchiveError naming the archive's sites when `site` is given and the archive holds
    nothing of it (no article, crawl run or raw page): a mistyped `--site` selects nothing, and
    the command would report that nothing as the truth ("no articles match", "no alarm")."""
    if site is None:
        return
    held = archive.db.execute(
        "SELECT EXISTS(SELECT 1 FROM articles WHERE site = ?)"
        " OR EXISTS(SELECT 1 FROM crawl_runs WHERE site = ?)",
        [site, site],
    ).fetchone()[0]
    if (
        held
        or archive.pages.execute(
            "SELECT EXISTS(SELECT 1 FROM pages WHERE site = ?)", [site]
        ).fetchone()[0]
    ):
        return
    import difflib

    sites = [
        row[0]
        for row in archive.db.execute(
            "SELECT DISTINCT site FROM articles UNION SELECT site FROM crawl_runs ORDER BY 1"
        )
    ]
    listed = ", ".join(sites[:20]) + (f" and {len(sites) - 20} more" if len(sites) > 20 else "")
    close = difflib.get_close_matches(site.lower(), sites, n=1, cutoff=0.6)
    raise NewsarchiveError(
        f"--site {site}: no such site in {archive.path} "
        + (f"(its sites: {listed})" if sites else "(it holds no site yet)")
        + (f"; did you mean {close[0]}?" if close else "")
    )


def _has_table(db: Any, name: str) -> bool:
    return bool(
        db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]
        ).fetchone()
    )


def stats(archive: Archive) -> ArchiveStats:
    """The archive's counts, per-site date ranges and fill rates, and its files' sizes: from the
    counts the schema keeps (site_fills, page_totals) and indexes, not from every row."""
    db = archive.db
    kept = _has_table(db, "site_fills")
    ranges = {
        row[0]: row[1:] for row in db.execute(_SITE_RANGES_SQL if kept else _SITE_RANGES_SCAN_SQL)
    }
    sites = []
    for row in db.query(fill_rates_sql() if kept else fill_rates_scan_sql()):
        site, count = row.pop("site"), row.pop("articles")
        sites.append(SiteStats(site, count, *ranges[site], fill_rates=row))
    page_count, page_bytes = archive.pages.execute(
        "SELECT pages, bytes FROM page_totals"
        if _has_table(archive.pages, "page_totals")
        else "SELECT count(*), coalesce(sum(size), 0) FROM pages"
    ).fetchone()
    stored_bytes = archive.stored_page_bytes()
    return ArchiveStats(
        articles=sum(site.articles for site in sites),
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
        search_segments=archive.search_segments(),
        page_kinds=archive.pages_by_kind(),
        gone=_gone_articles(db),
    )


def _gone_articles(db: Any) -> int:
    columns = {row[1] for row in db.execute("PRAGMA table_info(articles)")}
    if "gone_since" not in columns:  # an archive from before schema v12, opened read-only
        return 0
    # Counted from the partial index over the gone ones only.
    return db.execute("SELECT count(*) FROM articles WHERE gone_since IS NOT NULL").fetchone()[0]


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
