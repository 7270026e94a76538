"""What faceting a table page can afford, shared by the facet plugins in plugins/.

Datasette gives each facet its own time limit (facet_time_limit_ms) and drops a facet that runs
past it from facet_results (the HTML names it in a line below the facets, the JSON nowhere): on a
million-article archive six facets cost seconds a page. Here:

* the page's facets share one budget, facet_time_limit_ms, instead of each having its own;
* a facet that is certain to be slow is not run at all: a facet of a filtered or searched page
  with more than FILTERED_MAX_ROWS rows that SQLite would count from the table (reading every one
  of those rows) rather than from an index alone, an array facet over more than ARRAY_MAX_ROWS
  rows, and every facet when the rows could not be counted;
* a facet not run or out of time stays in facet_results (HTML and JSON) as an entry with no values
  and a `not_counted` note saying why, and the page links to `?_all_facets=1`, which runs every
  facet with the full SQL time limit (sql_time_limit_ms) each.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from datasette.facets import ArrayFacet, Facet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

# ?_all_facets=1: count every facet, however long it takes (not `_facets`: Datasette reads any
# argument starting with `_facet` as a facet).
ALL_FACETS_ARG = "_all_facets"
# Measured on a million synthetic articles (2 cores): a facet over 20,000 rows looked up by id takes
# 0.02-0.04 CPU-s, over 90,000 searched articles 0.15-0.4 CPU-s, over the 200,000 of one site
# about 1 CPU-s. Also where a search switches to walking the date index (plugins/large_archive.py
# SEEK_MAX_MATCHES), after which each facet costs a scan of a whole index.
FILTERED_MAX_ROWS = 20_000
# The array facets over every article (plugins/lean_array_facet.py): at 100,000 articles 0.02 CPU-s
# for the authors, 0.15 for the tags, ten times that at a million.
ARRAY_MAX_ROWS = 150_000
TOO_MANY_ROWS = "not counted: too many articles to count quickly"
UNCOUNTED_ROWS = "not counted: the articles themselves could not be counted in time"
OUT_OF_TIME = "not counted: ran out of time"
_DEADLINE_KEY = "newsarchive.facet_deadline"

FacetResults = tuple[list[dict[str, Any]], list[str]]


def all_facets_requested(facet: Facet) -> bool:
    return facet.request.args.get(ALL_FACETS_ARG) == "1"


def unfiltered(facet: Facet) -> bool:
    """Whether the facet counts the whole table (Datasette's SQL for it has no where clause)."""
    return bool(facet.table) and facet.sql.rstrip().endswith(f" from {escape_sqlite(facet.table)}")


def skip_reason(facet: Facet) -> str | None:
    """Why `facet` should not run on this page, or None to run it (a filtered facet over many
    rows may still run from an index: counted_from_index)."""
    if all_facets_requested(facet):
        return None
    rows = facet.row_count
    if rows is None:
        return UNCOUNTED_ROWS
    if not unfiltered(facet) and rows > FILTERED_MAX_ROWS:
        return TOO_MANY_ROWS
    if isinstance(facet, ArrayFacet) and rows > ARRAY_MAX_ROWS:
        return TOO_MANY_ROWS
    return None


async def counted_from_index(facet: Facet, column: str) -> bool:
    """Whether SQLite would count `column` over the page's rows from indexes alone (every table
    it reads read through a covering index), as the filter of a page of one site has: a site's
    200,000 categories or dates counted in ~15 ms (schema v8's (site, category) and
    (site, published_date)) instead of ~1 s from its rows. Asked of SQLite's plan, so any index
    serves, and a filter no index covers (a search, a category) keeps the row rule."""
    if isinstance(facet, ArrayFacet):
        return False  # counted from the value tables, joined to the rows
    col = escape_sqlite(column)
    try:
        plan = await facet.ds.execute(
            facet.database,
            f"explain query plan select {col} from ({facet.sql}) where {col} is not null",
            facet.params,
            truncate=False,
        )
    except Exception:  # an unusual page's SQL: the row rule decides
        return False
    reads = [row[3] for row in plan.rows if str(row[3]).startswith(("SCAN", "SEARCH"))]
    return bool(reads) and all("USING COVERING INDEX" in detail for detail in reads)


def time_limit_ms(facet: Facet, datasette: Any) -> int:
    """The time this facet's next query may take: what is left of the page's budget (at least 1 ms,
    so a query started past it is interrupted at once and reported as out of time)."""
    if all_facets_requested(facet):
        return datasette.setting("sql_time_limit_ms")
    scope = facet.request.scope
    if _DEADLINE_KEY not in scope:
        scope[_DEADLINE_KEY] = time.monotonic() + datasette.setting("facet_time_limit_ms") / 1000
    return max(1, int((scope[_DEADLINE_KEY] - time.monotonic()) * 1000))


def budget_spent(facet: Facet) -> bool:
    scope = facet.request.scope
    return _DEADLINE_KEY in scope and time.monotonic() >= scope[_DEADLINE_KEY]


def facet_entry(
    facet: Facet, column: str, source: str, values: list[dict[str, Any]], *, truncated: bool
) -> dict[str, Any]:
    """A facet_results entry, as Datasette's own facets make them."""
    return {
        "name": column,
        "type": facet.type,
        "results": values,
        "hideable": source != "metadata",
        "toggle_url": facet.ds.urls.path(
            path_with_removed_args(facet.request, {f"_facet_{facet.type}": column})
        ),
        "truncated": truncated,
    }


def facet_value(facet: Facet, key: str, value: str, count: int, selected: bool) -> dict[str, Any]:
    """One value of a facet_results entry; its link adds the filter `key`=`value`, or removes it
    when `selected`."""
    change = path_with_removed_args if selected else path_with_added_args
    return {
        "value": value,
        "label": value,
        "count": count,
        "toggle_url": facet.ds.absolute_url(facet.request, change(facet.request, {key: value})),
        "selected": selected,
    }


def not_counted(facet: Facet, column: str, source: str, note: str) -> dict[str, Any]:
    """A facet_results entry for a facet that was not counted: where its values would be."""
    return {**facet_entry(facet, column, source, [], truncated=False), "not_counted": note}


class _BudgetedDatasette:
    """The Datasette a facet sees while it runs: facet_time_limit_ms reads as what is left of the
    page's budget, so Datasette's own facet code keeps to it unchanged."""

    def __init__(self, facet: Facet, datasette: Any) -> None:
        self._facet, self._datasette = facet, datasette

    def setting(self, key: str) -> Any:
        if key == "facet_time_limit_ms":
            return time_limit_ms(self._facet, self._datasette)
        return self._datasette.setting(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._datasette, name)


def config_column(config: dict[str, Any]) -> str:
    """The column of one of a facet's get_configs() entries."""
    return config["config"].get("column") or config["config"]["simple"]


async def budgeted(facet: Facet, compute: Callable[[], Awaitable[FacetResults]]) -> FacetResults:
    """Run `compute` (a facet's own facet_results) within the page's budget; facets skipped or
    out of time come back as `not_counted` entries (and out-of-time ones as timed out too)."""
    configs = facet.get_configs()
    if not configs:
        return [], []
    sources = {config_column(config): config["source"] for config in configs}
    reason = skip_reason(facet) or (OUT_OF_TIME if budget_spent(facet) else None)
    skipped = []
    if reason == TOO_MANY_ROWS:
        skipped = [column for column in sources if not await counted_from_index(facet, column)]
        if len(skipped) < len(sources):
            reason = None
    if reason:
        return [not_counted(facet, column, source, reason) for column, source in sources.items()], (
            list(sources) if reason == OUT_OF_TIME else []
        )
    datasette = facet.ds
    facet.ds = _BudgetedDatasette(facet, datasette)
    if skipped:
        # This facet's other columns only (Datasette's facets count what get_configs() lists).
        facet.get_configs = lambda: [  # type: ignore[method-assign]
            config for config in configs if config_column(config) not in skipped
        ]
    try:
        results, timed_out = await compute()
    finally:
        facet.ds = datasette
        facet.__dict__.pop("get_configs", None)
    results += [not_counted(facet, column, sources[column], OUT_OF_TIME) for column in timed_out]
    if skipped:
        results += [
            not_counted(facet, column, sources[column], TOO_MANY_ROWS) for column in skipped
        ]
        order = list(sources)
        results.sort(key=lambda entry: order.index(entry["name"]) if entry["name"] in order else 0)
    return results, timed_out
