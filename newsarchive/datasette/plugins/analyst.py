"""The analyst's views for `newsarchive browse`: what the templates in ../templates need.

- `/-/search`: full-text search in plain words, ranked by relevance, snippets with the matched
  words highlighted, filters by site, category and date range beside the results. It runs the
  same SQL as `newsarchive search` (newsarchive.storage.queries.search_sql).
- Template helpers: the archive summary of the home page, an article's earlier versions and
  highlighted snippets for the articles table when it is searched.
- Jinja filters: `local_time` (an ISO time in the zone it was written in, WIB/WITA/WIT named),
  `paragraphs` (a body split on its blank lines), `from_json`, `marked` (snippet marks to <mark>).
- Menu links to the dashboard and the search page.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import sys
import time
from datetime import datetime
from typing import Any

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.utils import path_with_replaced_args, sqlite_timelimit
from datasette.utils.asgi import NotFound, Request, Response
from markupsafe import Markup, escape

from newsarchive.datasette import ANNOUNCE_PLUGIN, HEALTH_PLUGIN, facet_budget
from newsarchive.errors import NewsarchiveError
from newsarchive.storage.queries import SearchFilters, plain_query, plan_search
from newsarchive.storage.records import parse_since

# Snippet marks: control characters no article text holds, so the text can be HTML-escaped
# first and the marks turned into <mark> after.
MARK_OPEN, MARK_CLOSE = "\x02", "\x03"
ZONE_NAMES = {"+07:00": "WIB", "+08:00": "WITA", "+09:00": "WIT", "+00:00": "UTC"}
# Shown after a local time whose page stated no zone.
NO_ZONE_LABEL = "(zone not stated)"
SEARCH_PAGE_SIZE = 20
# Past it a page's offset is no SQLite integer (an edited URL): the page shows no hits.
_LAST_PAGE = (2**63 - 1) // SEARCH_PAGE_SIZE
DASHBOARD_SLUG = "archive"


def local_time(value: str | None, with_time: bool = True) -> str:
    """'2023-07-02T19:17:00+07:00' as '2 Jul 2023, 19:17 WIB': the article's own clock, as its
    readers saw it. Text that is not an ISO time is shown as it is, and so is a value that is no
    text (a number or bytes read from a damaged page, which SQLite's checks can pass)."""
    if not value:
        return ""
    if not isinstance(value, str):
        return str(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    day = f"{moment.day} {moment:%b %Y}"
    if not with_time or len(value) == 10:  # a bare date (the page gave no time) has no clock
        return day
    offset = moment.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if offset else ""
    # A time without offset is the page's own clock, zone not stated: shown as such, not as UTC.
    zone = ZONE_NAMES.get(offset, f"UTC{offset}") if offset else NO_ZONE_LABEL
    return f"{day}, {moment:%H:%M} {zone}".rstrip()


def paragraphs(body: str | None) -> list[str]:
    """The body's paragraphs (newsarchive separates them with a blank line)."""
    return [part.strip() for part in re.split(r"\n\s*\n", body or "") if part.strip()]


def from_json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def marked(text: str | None) -> Markup:
    """A snippet with MARK_OPEN/MARK_CLOSE around matched words, as HTML with <mark>."""
    html = str(escape(text or ""))
    return Markup(html.replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>"))


def short(text: str | None, length: int = 160) -> str:
    """The start of a text, cut at a word, for a one-line preview."""
    text = " ".join((text or "").split())
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0] + " …"


@hookimpl
def prepare_jinja2_environment(env: Any) -> None:
    env.filters.update(
        local_time=local_time,
        paragraphs=paragraphs,
        from_json=from_json,
        marked=marked,
        short=short,
    )


def _records_database(datasette: Any) -> str:
    """The served archive: `newsarchive browse` serves exactly one file."""
    names = [name for name in datasette.databases if name != "_internal"]
    if not names:
        raise NewsarchiveError("no archive is served")
    return names[0]


# Per site from the (site, published_date) index alone: 0.13 s at a million articles, where a
# column the index does not hold (the newest last_seen, shown here until 2026-12-05) read every
# row: 3.2 s, and past the SQL time limit on a busy machine, an error for the whole home page.
SITES_SQL = (
    "select site, count(*) as articles, min(published_date) as first, "
    "max(published_date) as last from articles group by site order by articles desc, site"
)
# When each site was last crawled (crawl_runs is small, and indexed by site).
LAST_CRAWLS_SQL = "select site, max(started) from crawl_runs group by site"


def site_alarms(
    path: str | None, periods: dict[str, float] | None = None
) -> dict[str, list[str]] | None:
    """`newsarchive health` for the served archive, per site: its alarm lines (none: no alarm).
    None when it cannot be read (a stand-alone file without its pages file, say): the page then
    says the health is unknown rather than "no alarm". The pages file is read for two counts
    (damaged and unextracted pages), never served. `periods`: seconds between a site's runs in
    its plan (the overdue signal)."""
    from datetime import timedelta
    from pathlib import Path

    from newsarchive.storage import Archive
    from newsarchive.storage.health import health

    if not path:
        return None
    every = {site: timedelta(seconds=seconds) for site, seconds in (periods or {}).items()}
    try:
        with Archive(Path(path), readonly=True) as archive:
            alarms = health(archive, every=every)
    except (NewsarchiveError, sqlite3.Error):
        return None
    found: dict[str, list[str]] = {}
    for alarm in alarms:
        found.setdefault(alarm.site, []).append(
            f"{alarm.signal} {alarm.before} → {alarm.now} (run {alarm.run_id})"
        )
    return found


async def archive_summary(datasette: Any, database: str) -> dict[str, Any]:
    """What the archive holds, for the home page: counts, sites, their date ranges, when each
    was last crawled (None: never, its pages were imported) and its health alarms."""
    db = datasette.get_database(database)
    crawled = dict((await db.execute(LAST_CRAWLS_SQL)).rows)
    # Off the event loop: it opens the archive's files (0.05-0.25 s at a million articles).
    periods = (datasette.plugin_config(HEALTH_PLUGIN) or {}).get("periods")
    alarms = await asyncio.get_running_loop().run_in_executor(None, site_alarms, db.path, periods)
    sites = [
        {
            **dict(row),
            "last_crawl": crawled.get(row["site"]),
            "alarms": None if alarms is None else alarms.get(row["site"], []),
        }
        for row in (await db.execute(SITES_SQL)).rows
    ]

    async def one(sql: str) -> Any:
        return (await db.execute(sql)).first()[0]

    return {
        "articles": sum(site["articles"] for site in sites),
        "sites": sites,
        "first": min((s["first"] for s in sites if s["first"]), default=None),
        "last": max((s["last"] for s in sites if s["last"]), default=None),
        "versions": await one("select count(*) from versions"),
        "runs": await one("select count(*) from crawl_runs"),
        "last_run": await one("select max(started) from crawl_runs"),
        "failures": await one("select count(*) from failures"),
    }


async def article_versions(datasette: Any, database: str, article_id: int) -> list[dict]:
    db = datasette.get_database(database)
    result = await db.execute(
        "select id, replaced_at, reason, title, seen_from, seen_until from versions "
        "where article_id = ? order by replaced_at desc, id desc",
        [article_id],
    )
    return [dict(row) for row in result.rows]


async def search_snippets(
    datasette: Any, database: str, ids: list[int], query: str
) -> dict[int, Markup]:
    """Highlighted snippets for rows of the articles table searched with Datasette's `_search`
    (Datasette's own table search shows no snippet)."""
    if not ids or not query.strip():
        return {}
    try:
        match = plain_query(query)
    except NewsarchiveError:
        return {}
    placeholders = ", ".join("?" for _ in ids)
    result = await datasette.get_database(database).execute(
        f"select rowid, snippet(articles_fts, -1, ?, ?, '…', 24) from articles_fts "
        f"where articles_fts match ? and rowid in ({placeholders})",
        [MARK_OPEN, MARK_CLOSE, match, *ids],
    )
    return {row[0]: marked(row[1]) for row in result.rows}


@hookimpl
def extra_template_vars(datasette: Any) -> dict[str, Any]:
    async def summary(database: str) -> dict[str, Any]:
        return await archive_summary(datasette, database)

    async def versions(database: str, article_id: int) -> list[dict]:
        return await article_versions(datasette, database, article_id)

    async def snippets(database: str, ids: list[int], query: str) -> dict[int, Markup]:
        return await search_snippets(datasette, database, ids, query)

    return {
        "newsarchive_summary": summary,
        "newsarchive_versions": versions,
        "newsarchive_snippets": snippets,
        "newsarchive_dashboard": f"/-/dashboards/{DASHBOARD_SLUG}",
    }


@hookimpl
def menu_links(datasette: Any) -> list[dict[str, str]]:
    return [
        {"href": datasette.urls.path("/-/search"), "label": "Search articles"},
        {"href": datasette.urls.path(f"/-/dashboards/{DASHBOARD_SLUG}"), "label": "Dashboard"},
    ]


def _date_arg(request: Request, name: str, errors: list[str]) -> str | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return parse_since(value)
    except NewsarchiveError:
        errors.append(f"{name}: {value!r} is not a date like 2024-01-31")
        return None


def _ranked_hits(
    conn: sqlite3.Connection, query: str, filters: SearchFilters, page: int, time_limit_ms: int
) -> tuple[list[dict[str, Any]], bool]:
    """The page's hits, ranked as `newsarchive search` ranks them (queries.plan_search), and
    whether that order is FTS5's bm25 exactly (else estimated from the top lists), on one
    connection: a mixed plan makes temp tables on the connection its SQL then reads, and
    Datasette's db.execute may pick another. With Datasette's SQL time limit, over the ranking
    too (plan_search reads the matches to prove their order)."""
    sql, args = query, []
    with sqlite_timelimit(conn, time_limit_ms):
        try:
            planned = plan_search(
                conn,
                query,
                filters,
                marks=(MARK_OPEN, MARK_CLOSE),
                snippet_tokens=32,
                limit=SEARCH_PAGE_SIZE,
                offset=(page - 1) * SEARCH_PAGE_SIZE,
            )
            sql, args = planned.sql, planned.args
            cursor = conn.execute(sql, args)
            rows = cursor.fetchall()
        except sqlite3.OperationalError as exc:
            if exc.args == ("interrupted",):
                raise QueryInterrupted(exc, sql, args) from None
            raise
    columns = [column[0] for column in cursor.description]
    hits = [dict(zip(columns, row, strict=True)) for row in rows]
    return hits, planned.exact_order(rows)


async def _match_counts(
    datasette: Any, db: Any, match: str, filters: SearchFilters
) -> tuple[int | None, dict[str, list[dict[str, Any]]]]:
    """How many articles match, and per site and category (with the other filters applied, so a
    reader can switch site). Counting reads every match, which for a word in most articles of a
    million-article archive takes seconds: the three counts share Datasette's facet time limit
    (facet_budget's rule for a page's facets), the per-site and per-category ones are not tried
    past FILTERED_MAX_ROWS matches (each would read every matching row), and a count that runs
    out gives no number (None) and, for the filters, the values without counts."""
    limit = datasette.setting("facet_time_limit_ms")
    deadline = time.monotonic() + limit / 1000
    fts_from = (
        "from articles_fts join articles a on a.id = articles_fts.rowid where articles_fts match ?"
    )
    where, params = filters.where()
    # Unfiltered, the index alone counts the matches: no row of articles is read for each.
    count_from = fts_from if where else "from articles_fts where articles_fts match ?"
    try:
        found = await db.execute(
            f"select count(*) {count_from}{where}", [match, *params], custom_time_limit=limit
        )
        total: int | None = found.first()[0]
    except QueryInterrupted:
        total = None
    counts: dict[str, list[dict[str, Any]]] = {}
    for column in ("site", "category"):
        where, params = filters.where(without=column)
        left_ms = int((deadline - time.monotonic()) * 1000)
        rows = None
        if total is not None and total <= facet_budget.FILTERED_MAX_ROWS and left_ms >= 1:
            try:
                rows = await db.execute(
                    f"select a.{column} as value, count(*) as count {fts_from}{where} "
                    f"group by a.{column} order by count desc, value limit 50",
                    [match, *params],
                    custom_time_limit=left_ms,
                )
            except QueryInterrupted:
                rows = None
        if rows is None:
            rows = await db.execute(
                f"select distinct {column} as value, null as count from articles "
                f"where {column} is not null order by value limit 50"
            )
        counts[column] = [dict(row) for row in rows.rows]
    return total, counts


async def search_page(request: Request, datasette: Any) -> Response:
    database = request.args.get("db") or _records_database(datasette)
    if database not in datasette.databases or database == "_internal":
        raise NotFound(
            f"db={database[:80]!r}: no such archive here (it serves {_records_database(datasette)})"
        )
    db = datasette.get_database(database)
    query = (request.args.get("q") or "").strip()
    errors: list[str] = []
    filters = SearchFilters(
        site=request.args.get("site") or None,
        category=request.args.get("category") or None,
        since=_date_arg(request, "since", errors),
        until=_date_arg(request, "until", errors),
    )
    try:
        page = min(max(1, int(request.args.get("page") or 1)), _LAST_PAGE)
    except ValueError:
        page = 1
    context: dict[str, Any] = {
        "q": query,
        "filters": filters,
        "since": request.args.get("since") or "",
        "until": request.args.get("until") or "",
        "hits": [],
        "exact_order": True,
        "total": 0,
        "more": False,
        "page": page,
        "page_size": SEARCH_PAGE_SIZE,
        "site_counts": [],
        "category_counts": [],
        "database": database,
        "errors": errors,
        "path_with_replaced_args": path_with_replaced_args,
        # The colour Datasette 0.65 gives every database's page header (views/base.py).
        "database_color": lambda name: "ff0000",
    }
    match = None
    if query:
        try:
            match = plain_query(query)
        except NewsarchiveError as exc:
            errors.append(str(exc))
    if match and not errors:
        hits, exact_order = await db.execute_fn(
            lambda conn: _ranked_hits(
                conn, query, filters, page, datasette.setting("sql_time_limit_ms")
            )
        )
        for hit in hits:
            hit["snippet"] = marked(hit["snippet"])
            hit["authors"] = from_json(hit["authors"]) or []
        total, counts = await _match_counts(datasette, db, match, filters)
        context.update(
            hits=hits,
            exact_order=exact_order,
            # Unknown (None) when counting took too long: a page is full, there may be more.
            total=total,
            more=(total is None and len(hits) == SEARCH_PAGE_SIZE)
            or (total is not None and total > page * SEARCH_PAGE_SIZE),
            site_counts=counts["site"],
            category_counts=counts["category"],
        )
    return Response.html(
        await datasette.render_template("newsarchive_search.html", context, request=request)
    )


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    """Print the line `newsarchive browse` announces itself with once Datasette is ready to
    serve: after its start-up checks (which open every table: damage met there is an Error line
    alone, with no "serving" line before it)."""
    line = (datasette.plugin_config(ANNOUNCE_PLUGIN) or {}).get("line")

    def wrap(app: Any) -> Any:
        async def announced(scope: dict, receive: Any, send: Any) -> None:
            if scope.get("type") != "lifespan" or not line:
                return await app(scope, receive, send)

            async def send_then_say(message: dict) -> None:
                await send(message)
                if message.get("type") == "lifespan.startup.complete":
                    print(line, file=sys.stderr, flush=True)

            return await app(scope, receive, send_then_say)

        return announced

    return wrap


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [(r"^/-/search$", search_page)]
