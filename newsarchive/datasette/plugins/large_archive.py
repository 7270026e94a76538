"""Datasette's table pages at a million articles: `?_search=` planned by its number of matches, and
the built-in column facet kept to the page's facet budget (newsarchive.datasette.facet_budget).

Datasette turns `?_search=` into `id in (select rowid from articles_fts where articles_fts match
...)`. SQLite then looks every match up by id and sorts them all by published_utc: fine for a few
thousand matches, ~1 s for 90,000 at a million articles, and past the 5 s SQL limit (an error
page) for a word in every article. Written `+id in (...)` it walks the published_utc index newest
first and stops after a page of matches (0.15 CPU-s for the every-article word), but that costs a
scan of the whole index when there are few matches. So the clause Datasette builds is kept for up
to SEEK_MAX_MATCHES matches, counted cheaply by reading at most that many from the full-text
index, and gets the `+` beyond: `_search` stays the URL parameter, with Datasette's own parsing.
Datasette's count uses the same clause: `+id` makes it a scan of a small index (0.3 CPU-s for
every article) instead of a million row look-ups (seconds).

Datasette counts a searched page's rows with the same clause: a set of every match's id, probed
for every article (0.34 s at a million articles for a word in every one). The full-text index
alone gives that count (0.06 s) whenever it indexes exactly the archive's articles, which is
whenever nothing waits in its queue (schema v6: writers outside Archive leave rows there until
the next Archive opens the file): ArchiveDatabase asks the index then, and the clause
otherwise, in one statement.

`authors__arraycontains=X` (the links of the author facet and of every byline) is Datasette's
json_each() over every row: 2.2 CPU-s at a million articles. The archive keeps the same values in
article_authors (and tags in article_tags), indexed: an extra clause `id in (select article_id from
article_authors where author = trim(X))`, implied by the filter, lets SQLite look the few articles
up and run json_each() on those alone.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Generator
from typing import Any

from datasette import hookimpl
from datasette.database import Database, QueryInterrupted
from datasette.facets import ArrayFacet, ColumnFacet, Facet
from datasette.filters import FilterArguments
from datasette.utils import await_me_maybe
from datasette.views.base import DatasetteError

from newsarchive.datasette import ARRAY_VALUE_TABLES
from newsarchive.datasette.facet_budget import FacetResults, budgeted
from newsarchive.storage.opening import is_damage
from newsarchive.storage.verify import WHAT_TO_DO

# Up to this many matches Datasette's own plan (look each up, sort) is the faster one: 0.02 CPU-s
# for 20,000 matches at a million articles, while the index walk costs up to 0.05 CPU-s whatever
# the matches (all of it when they are few or old).
SEEK_MAX_MATCHES = 20_000
# The clause datasette/filters.py (search_filters) builds for ?_search= (0.65).
_SEARCH_CLAUSE = re.compile(
    r"(?P<pk>\S+) in \(select rowid from (?P<fts>\S+) where (?P=fts) match "
    r"(?P<match>escape_fts\(:search\)|:search)\)"
)


async def planned_search_clause(
    datasette: Any, database: str, clause: str, search: str, seek_max: int = SEEK_MAX_MATCHES
) -> str:
    """Datasette's `?_search=` clause, with the index walk chosen when more than `seek_max`
    articles match (any other clause comes back as it is)."""
    parsed = _SEARCH_CLAUSE.fullmatch(clause)
    if not parsed:
        return clause
    fts, match = parsed["fts"], parsed["match"]
    sql = (
        f"select count(*) from (select rowid from {fts} where {fts} match {match} "
        f"limit {seek_max + 1})"
    )
    try:
        matches = (await datasette.get_database(database).execute(sql, {"search": search})).rows
    except (sqlite3.DatabaseError, QueryInterrupted):
        return clause  # Datasette's own query reports what is wrong with the search
    return f"+{clause}" if matches[0][0] > seek_max else clause


# The count Datasette's table view runs for a page whose only filter is `?_search=` (0.65:
# `select count(*) {from_sql}`, from_sql ending in a space).
_SEARCH_COUNT = re.compile(
    r"select count\(\*\) from articles where \+?"
    r"id in \(select rowid from (?P<fts>articles_fts) where (?P=fts) match "
    r"(?P<match>escape_fts\(:search\)|:search)\) ?"
)


def search_count_sql(sql: str) -> str:
    """`sql`, or for the count of a searched page, a statement that counts from the full-text
    index alone when nothing waits in its queue or stale list (the index then holds exactly the
    articles), and with `sql` itself otherwise (SQLite runs only the branch it picks)."""
    parsed = _SEARCH_COUNT.fullmatch(sql)
    if not parsed:
        return sql
    fts, match = parsed["fts"], parsed["match"]
    return (
        f"select case when exists (select 1 from {fts}_queue) "
        f"or exists (select 1 from {fts}_stale) then ({sql.strip()}) "
        f"else (select count(*) from {fts} where {fts} match {match}) end"
    )


def ran_out_in_setup(exc: BaseException, elapsed_ms: float, limit_ms: float) -> bool:
    """Whether `exc` is a time limit that ran out while FTS5 set its table up: the limit
    interrupts FTS5's own reads of its configuration, which fail as "vtable constructor failed"
    rather than "interrupted" (a search page's count then was an error page, not a count left
    out). Told apart from a broken index by the time it took."""
    return str(exc).startswith("vtable constructor failed") and elapsed_ms >= limit_ms


class ArchiveDamaged(DatasetteError):
    """A query met a damaged page of the archive file: Datasette's error page says which file and
    what to do (it showed "Error 500: database disk image is malformed", and printed a traceback
    on the terminal per request; its error page prints none for a DatasetteError)."""

    def __init__(self, path: str, error: sqlite3.DatabaseError) -> None:
        super().__init__(
            f"{path}: damaged ({error}). {WHAT_TO_DO.format(db=path)}.",
            title="The archive is damaged",
        )


class ArchiveDatabase(Database):
    """Datasette's database for an archive: the count of a searched articles page from the
    index, the database page's table counts without the hidden tables', and a damaged file
    named as such."""

    async def execute_fn(self, fn: Any) -> Any:
        # Every query of this database comes through here (execute too, and /-/search's).
        try:
            return await super().execute_fn(fn)
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            raise ArchiveDamaged(self.path, exc) from None

    async def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            return await super().execute(search_count_sql(sql), *args, **kwargs)
        except sqlite3.OperationalError as exc:
            limit = min(kwargs.get("custom_time_limit") or 10**9, self.ds.sql_time_limit_ms)
            if ran_out_in_setup(exc, (time.monotonic() - started) * 1000, limit):
                raise QueryInterrupted(exc, sql, args[0] if args else None) from None
            raise

    async def table_counts(self, limit: int = 10) -> dict[str, int | None]:
        """Datasette's table_counts, with None ("Many rows") for hidden tables, uncounted.

        Datasette counts every table on the database page, each with a time limit that cannot
        stop SQLite's count(*) (one step that reads the whole table): at a million articles the
        full-text index's data table alone took 8.3 s with a cold cache, and the page 9-14 s.
        Hidden tables are plumbing (the index's shadow tables, its top lists): no count needed."""
        hidden = set(await self.hidden_table_names())
        counts: dict[str, int | None] = {}
        for table in await self.table_names():
            counts[table] = None
            if table in hidden:
                continue
            try:
                sql = f"select count(*) from [{table}]"
                counts[table] = (await self.execute(sql, custom_time_limit=limit)).rows[0][0]
            except (QueryInterrupted, sqlite3.DatabaseError, ArchiveDamaged):
                pass  # as Datasette: left None
        return counts


@hookimpl
def startup(datasette: Any) -> Any:
    async def count_searches_from_the_index() -> None:
        for name, db in list(datasette.databases.items()):
            if db.is_memory or not db.path:
                continue
            # An archive (schema v6 on): its index queue is what tells when the index is whole.
            if not all(
                [
                    await db.table_exists(table)
                    for table in ("articles_fts_queue", "articles_fts_stale")
                ]
            ):
                continue
            # Its connections stay open: Datasette's threads keep theirs by database name.
            datasette.remove_database(name)
            datasette.add_database(
                ArchiveDatabase(datasette, path=db.path, is_mutable=db.is_mutable),
                name=name,
                route=db.route,
            )

    return count_searches_from_the_index


def _planned(result: Any, datasette: Any, database: str) -> Any:
    async def planned() -> FilterArguments | None:
        arguments = await await_me_maybe(result)
        if isinstance(arguments, FilterArguments) and "search" in arguments.params:
            arguments.where_clauses = [
                await planned_search_clause(datasette, database, clause, arguments.params["search"])
                for clause in arguments.where_clauses
            ]
        return arguments

    return planned


@hookimpl(specname="filters_from_request")
def array_values_from_their_tables(request: Any, database: str, table: str, datasette: Any) -> Any:
    async def clauses() -> FilterArguments | None:
        if table != "articles":
            return None
        db = datasette.get_database(database)
        where, params = [], {}
        for column, (values_table, value_column) in ARRAY_VALUE_TABLES.items():
            for n, value in enumerate(request.args.getlist(f"{column}__arraycontains")):
                # A blank value is not in the values table; the filter alone decides then.
                if not value.strip() or not await db.table_exists(values_table):
                    continue
                param = f"na_{column}_{n}"
                where.append(
                    f"id in (select article_id from {values_table} "
                    f"where {value_column} = trim(:{param}))"
                )
                params[param] = value
        return FilterArguments(where, params) if where else None

    return clauses


@hookimpl(wrapper=True)
def filters_from_request(
    request: Any, database: str, table: str, datasette: Any
) -> Generator[None, list, list]:
    # A wrapper sees every plugin's filters, Datasette's search_filters among them.
    results = yield
    return [_planned(result, datasette, database) for result in results]


class BudgetedColumnFacet(ColumnFacet):
    """Datasette's column facet, within the page's facet budget."""

    async def facet_results(self) -> FacetResults:
        return await budgeted(self, super().facet_results)


@hookimpl(wrapper=True)
def register_facet_classes() -> Generator[None, list, list]:
    # The built-in column facet (`facets: [site]`) is replaced rather than joined by a second
    # "column" type, which would count every column facet twice.
    # Facets run in this order and share one budget: the array facets, the dearest, go last so
    # that they cannot leave the others without time.
    classes: list[list[type[Facet]]] = yield
    ordered = sorted(
        (
            BudgetedColumnFacet if klass is ColumnFacet else klass
            for group in classes
            for klass in group
        ),
        key=lambda klass: issubclass(klass, ArrayFacet),
    )
    return [ordered]
