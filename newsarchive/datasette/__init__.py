"""The packaged Datasette metadata for an archive (see metadata.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from newsarchive.storage.queries import fill_rates_sql

if TYPE_CHECKING:
    from datasette.app import Datasette

METADATA_PATH = Path(__file__).with_name("metadata.yaml")
PLUGINS_DIR = Path(__file__).with_name("plugins")
# Template overrides: the articles table, the article page, the home and database pages, /-/search.
TEMPLATES_DIR = Path(__file__).with_name("templates")
TEMPLATE_DATABASE = "archive"
# The plugin configuration (metadata "plugins") the home page's health reads: the plan's period
# of each site, in seconds, under "periods".
HEALTH_PLUGIN = "newsarchive-health"
# The line `newsarchive browse` prints once Datasette has started ("serving X at URL"), under
# "line": after start-up, so an archive Datasette cannot open is one Error line alone.
ANNOUNCE_PLUGIN = "newsarchive-announce"

# Datasette settings for `newsarchive browse`, measured on a 100,000-article archive: facet
# suggestions probe every column and cost seconds there (our facets are chosen in the metadata
# instead); canned queries such as the fill rates scan the table (~1 s there). The facet time
# limit is the whole page's: its facets share it (newsarchive.datasette.facet_budget).
SETTINGS = {
    "suggest_facets": False,
    "facet_time_limit_ms": 1000,
    "sql_time_limit_ms": 5000,
}

# Array columns of `articles` and the tables holding their values one per row (trimmed text,
# non-empty; kept equal by the schema's triggers), for facets and filters that need an index.
ARRAY_VALUE_TABLES = {"authors": ("article_authors", "author"), "tags": ("article_tags", "tag")}


def load_metadata(
    database_name: str = TEMPLATE_DATABASE, periods: Mapping[str, timedelta] | None = None
) -> dict[str, Any]:
    """The metadata with its database entry named after the served file (Datasette keys
    metadata by file stem: data/demo.db is served as `demo`); `periods`: each site's `every`
    in the archive's plan, for the home page's health (its overdue signal)."""
    metadata = yaml.safe_load(METADATA_PATH.read_text(encoding="utf-8"))
    metadata.setdefault("plugins", {})[HEALTH_PLUGIN] = {
        "periods": {site: every.total_seconds() for site, every in (periods or {}).items()}
    }
    database = metadata["databases"].pop(TEMPLATE_DATABASE)
    database["queries"]["field_fill_rates"] = {
        "title": "Field fill-rates per site",
        "description": "Per site: articles, and the percentage of them that have each field.",
        "sql": fill_rates_sql(),
    }
    metadata["databases"][database_name] = database
    # The dashboard's charts and filters query the served database by its name.
    for dashboard in metadata.get("plugins", {}).get("datasette-dashboards", {}).values():
        for item in [*dashboard.get("charts", {}).values(), *dashboard.get("filters", {}).values()]:
            if item.get("db") == TEMPLATE_DATABASE:
                item["db"] = database_name
    return metadata


def served_datasette(
    path: Path, periods: Mapping[str, timedelta] | None = None, **settings: Any
) -> Datasette:
    """The Datasette `newsarchive browse` serves for the archive at `path` (its metadata, plugins,
    templates and SETTINGS, `settings` over them; `periods` as load_metadata's), in this
    process: for tests and benchmarks, which request its pages through `datasette.client`."""
    from datasette.app import Datasette

    return Datasette(
        [str(path)],
        metadata=load_metadata(path.stem, periods),
        settings={**SETTINGS, **settings},
        plugins_dir=str(PLUGINS_DIR),
        template_dir=str(TEMPLATES_DIR),
    )
