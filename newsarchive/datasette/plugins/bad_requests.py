"""Parameters a hand or a pasted link got wrong, refused with a 400 page that names them.

Datasette takes them as they come and fails deep inside (a ValueError from int(), a JSON
error, SQLite refusing a NUL or a number past 64 bits): a 500 page quoting Python, and a
traceback on the terminal of `newsarchive browse` for each request. These are checked before
Datasette sees the request; anything else still reaches it. A sort Datasette cannot do (a column
it cannot sort by, `_sort` with `_sort_desc`) it says itself, as a server error (500): that error
becomes the 400 it is, naming the parameter (handle_exception).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from datasette import hookimpl
from datasette.utils.asgi import Response
from datasette.views.base import DatasetteError

# Parameters Datasette reads with int(): "max" is allowed where Datasette allows it.
WHOLE_NUMBERS = {"_timelimit": False, "_size": True, "_facet_size": True}
# The facet parameters whose value may be a JSON object ({"column": ...}), as Datasette reads them.
FACETS = ("_facet", "_facet_array", "_facet_date", "_facet_month", "_facet_day")
INT64 = 2**63
# The filters Datasette compares as numbers when their value looks like one.
COMPARISONS = ("__gt", "__gte", "__lt", "__lte")


def request_problem(query_string: bytes) -> str | None:
    """What is wrong with a request's parameters, for a person to read, or None."""
    try:
        pairs = parse_qsl(query_string.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return "the address holds bytes that are not UTF-8"
    for name, value in pairs:
        shown = f"{name}={value[:80]!r}"
        if "\x00" in name or "\x00" in value:
            return f"{shown}: a NUL character has no place in a parameter"
        if name in WHOLE_NUMBERS and value and not _whole_number(value, WHOLE_NUMBERS[name]):
            allowed = "a whole number of 0 or more" + (" or max" if WHOLE_NUMBERS[name] else "")
            return f"{shown}: not {allowed}"
        if name.startswith("_search") and value.strip() and not any(c.isalnum() for c in value):
            # Datasette's quoting makes FTS5 syntax of a lone `"` that FTS5 refuses: an
            # "Invalid SQL" page quoting the SQL.
            return f"{shown}: no word to search for"
        if name in FACETS and value.startswith("{"):
            problem = _facet_config_problem(value)
            if problem:
                return f"{shown}: {problem}"
        if name.endswith(COMPARISONS) and _is_int(value) and not -INT64 <= int(value) < INT64:
            # Datasette binds a comparison's number as one, which SQLite cannot hold (other
            # filters and the search page's words bind it as text).
            return f"{shown}: a number past the 64-bit integers SQLite compares"
    return None


def _whole_number(value: str, max_allowed: bool) -> bool:
    return (max_allowed and value == "max") or (_is_int(value) and int(value) >= 0)


def _is_int(value: str) -> bool:
    digits = value[1:] if value[:1] in "+-" else value
    return digits.isascii() and digits.isdigit()


def _facet_config_problem(value: str) -> str | None:
    try:
        config = json.loads(value)
    except ValueError:
        return 'not a facet\'s JSON (like {"column": "site"})'
    if not isinstance(config, dict) or not isinstance(
        config.get("column", config.get("simple")), str
    ):
        return 'a facet\'s JSON names its column (like {"column": "site"})'
    return None


async def bad_request(datasette: Any, path: str, message: str) -> Response:
    """Datasette's own error page (or JSON) for a 400 with `message`."""
    info = {"ok": False, "error": message, "status": 400, "title": "Bad request"}
    if path.endswith(".json"):
        return Response.json(info, status=400)
    template = datasette.jinja_env.select_template(["400.html", "error.html"])
    page = await template.render_async(
        dict(info, urls=datasette.urls, app_css_hash=datasette.app_css_hash(), menu_links=list)
    )
    return Response.html(page, status=400)


def sort_problem(message: str, args: Any) -> str | None:
    """Datasette's words for a sort it cannot do, which it sends as a server error (500), as
    the parameter's problem; None for any other error."""
    if message.startswith("Cannot use _sort and _sort_desc"):
        return "_sort and _sort_desc: a table is sorted by one of them at a time"
    if message.startswith("Cannot sort table by "):
        name = "_sort" if args.get("_sort") else "_sort_desc"
        return f"{name}={args.get(name, '')[:80]!r}: not a column this table can be sorted by"
    return None


@hookimpl
def handle_exception(datasette: Any, request: Any, exception: Exception) -> Any:
    if not isinstance(exception, DatasetteError):
        return None
    problem = sort_problem(str(exception.message), request.args)
    if problem is None:
        return None

    async def inner() -> Response:
        return await bad_request(datasette, request.path, problem)

    return inner


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    def wrap(app: Any) -> Any:
        async def checked(scope: dict, receive: Any, send: Any) -> None:
            if scope.get("type") == "http":
                path = scope.get("path", "")
                problem = request_problem(scope.get("query_string") or b"")
                if problem is not None:
                    response = await bad_request(datasette, path, problem)
                    await response.asgi_send(send)
                    return
            await app(scope, receive, send)

        return checked

    return wrap
