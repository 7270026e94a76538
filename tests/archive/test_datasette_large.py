"""The articles table at scale: `?_search=` planned by its matches, facets within one page budget,
facets left out said so (newsarchive/datasette/plugins/large_archive.py, facet_budget.py)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

import pytest
from archive_fixtures import WIB, make_article, make_raw
from datasette.app import Datasette
from datasette.facets import ColumnFacet
from datasette.utils.asgi import Request

from newsarchive.datasette import served_datasette
from newsarchive.datasette.facet_budget import (
    FILTERED_MAX_ROWS,
    OUT_OF_TIME,
    TOO_MANY_ROWS,
    UNCOUNTED_ROWS,
    skip_reason,
)
from newsarchive.datasette.plugins.large_archive import BudgetedColumnFacet, planned_search_clause
from newsarchive.datasette.plugins.lean_array_facet import LeanArrayFacet
from newsarchive.storage import Archive

ARTICLES = 60
FACETS = {
    ("site", "column"),
    ("category", "column"),
    ("authors", "lean_array"),
    ("tags", "lean_array"),
    ("published_date", "month"),
    ("published_date", "day"),
}


def published(n: int) -> datetime:
    """Over 40 days from 25 Jan (three months), two articles on every other day or so, at 08:00
    and 20:00 WIB: the same date in UTC."""
    return datetime(2024, 1, 25, 8, tzinfo=WIB) + timedelta(
        days=2 * n // 3, hours=12 if n % 3 == 1 else 0
    )


def newest_periods(width: int) -> list[tuple[str, int]]:
    periods = Counter(published(n).date().isoformat()[:width] for n in range(ARTICLES))
    return sorted(periods.items(), reverse=True)


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("large") / "archive.db"
    with Archive(path) as archive, archive.batch(100):
        for n in range(ARTICLES):
            site = ("warta", "kabar", "suara")[n % 3]
            url = f"https://{site}.example.id/berita/{n}"
            # Every third article mentions beras; every article mentions harga.
            body = f"Harga {'beras' if n % 3 == 0 else 'cabai'} di pasar {n} naik"
            article = make_article(
                url,
                title=body,
                body=body,
                authors=(f"Penulis {n % 4}",),
                category=("Ekonomi", "Daerah")[n % 2],
                published=published(n),
            )
            archive.store(make_raw(url), article, site=site)
    return path


def get(datasette: Datasette, url: str):
    response = asyncio.run(datasette.client.get(url))
    assert response.status_code == 200, response.text[:500]
    return response


SEARCH_CLAUSE = (
    "id in (select rowid from articles_fts where articles_fts match escape_fts(:search))"
)


def test_search_walks_the_date_index_only_when_many_articles_match(archive_path):
    datasette = served_datasette(archive_path)
    get(datasette, "/")  # Datasette registers its SQL functions (escape_fts) on start-up
    database = archive_path.stem

    def plan(search: str, seek_max: int, clause: str = SEARCH_CLAUSE) -> str:
        return asyncio.run(planned_search_clause(datasette, database, clause, search, seek_max))

    assert plan("beras", seek_max=20) == SEARCH_CLAUSE  # 20 matches: Datasette's own plan
    assert plan("beras", seek_max=19) == "+" + SEARCH_CLAUSE  # 21: the index walk
    assert plan("tidakada", seek_max=0) == SEARCH_CLAUSE
    # Other clauses, and searches FTS5 rejects, are left for Datasette to run or report.
    assert plan("beras", 0, "site = :p0") == "site = :p0"
    raw = SEARCH_CLAUSE.replace("escape_fts(:search)", ":search")
    assert plan('"beras', 0, raw) == raw
    assert plan("beras", 0, raw) == "+" + raw

    # Both plans give the same page of rows in the same order, and the same count.
    async def rows(clause: str) -> tuple[list, int]:
        db = datasette.get_database(database)
        page = await db.execute(
            f"select id from articles where {clause} order by published_utc desc limit 7",
            {"search": "harga"},
        )
        count = await db.execute(
            f"select count(*) from articles where {clause}", {"search": "harga"}
        )
        return [row[0] for row in page.rows], count.rows[0][0]

    seek, walk = asyncio.run(rows(SEARCH_CLAUSE)), asyncio.run(rows("+" + SEARCH_CLAUSE))
    assert seek == walk and seek[1] == ARTICLES and len(seek[0]) == 7


def test_search_page_uses_the_planned_clause(archive_path):
    data = get(
        served_datasette(archive_path), "/archive/articles.json?_search=harga&_shape=objects"
    ).json()
    assert data["filtered_table_rows_count"] == ARTICLES
    # 60 matches: well under the threshold of the walk.
    assert f"where {SEARCH_CLAUSE}" in data["query"]["sql"]
    assert data["rows"][0]["published_date"] == newest_periods(10)[0][0]


def test_facets_share_one_budget_and_say_when_they_ran_out(archive_path):
    """With a budget of 1 ms the page's facets run out: each stays in facet_results, empty, with
    a note, and the page offers to count them all; `_all_facets=1` then counts every one."""
    datasette = served_datasette(archive_path, facet_time_limit_ms=1)
    data = get(datasette, "/archive/articles.json").json()
    facets = data["facet_results"].values()
    assert {(facet["name"], facet["type"]) for facet in facets} == FACETS
    out_of_time = [facet for facet in facets if facet.get("not_counted") == OUT_OF_TIME]
    assert out_of_time and all(facet["results"] == [] for facet in out_of_time)
    page = get(datasette, "/archive/articles").text
    assert OUT_OF_TIME in page
    assert 'href="/archive/articles?_all_facets=1">Count every facet</a>' in page

    counted = get(datasette, "/archive/articles.json?_all_facets=1").json()["facet_results"]
    assert {(facet["name"], facet["type"]) for facet in counted.values()} == FACETS
    assert not any(facet.get("not_counted") for facet in counted.values())
    assert {r["value"]: r["count"] for r in counted["site"]["results"]} == {
        "warta": 20,
        "kabar": 20,
        "suara": 20,
    }


def test_facets_that_would_read_too_many_rows_are_not_run(archive_path):
    datasette = served_datasette(archive_path)

    def reason(facet_class, query: str, rows: int | None, filtered: bool) -> str | None:
        where = " where site = :p0" if filtered else ""
        facet = facet_class(
            datasette,
            Request.fake(f"/archive/articles?{query}"),
            "archive",
            sql=f"select id, site, authors from articles{where} ",
            table="articles",
            row_count=rows,
        )
        return skip_reason(facet)

    many = FILTERED_MAX_ROWS + 1
    assert reason(ColumnFacet, "site=warta", many, filtered=True) == TOO_MANY_ROWS
    assert reason(ColumnFacet, "site=warta", FILTERED_MAX_ROWS, filtered=True) is None
    assert reason(ColumnFacet, "", 10**6, filtered=False) is None  # an index scan
    assert reason(LeanArrayFacet, "", 10**6, filtered=False) == TOO_MANY_ROWS  # every array
    assert reason(ColumnFacet, "", None, filtered=False) == UNCOUNTED_ROWS
    assert reason(LeanArrayFacet, "_all_facets=1", 10**6, filtered=True) is None


def test_period_facets_count_dates_and_times_alike(archive_path):
    """The day and month facets read the newest dates and sum them into periods; over a column of
    times (two a day here) they fall back to grouping by the period, with the same counts."""
    datasette = served_datasette(archive_path)
    facets = get(
        datasette,
        "/archive/articles.json?_facet_day=published_utc&_facet_month=published_utc&_facet_size=2",
    ).json()["facet_results"]

    def counts(name: str, facet_type: str) -> tuple[list, bool]:
        facet = next(f for f in facets.values() if f["name"] == name and f["type"] == facet_type)
        return [(r["value"], r["count"]) for r in facet["results"]], facet["truncated"]

    # The newest day has one article, the next two: three rows of times cover only two days.
    assert len(newest_periods(7)) == 3 and [n for _, n in newest_periods(10)[:2]] == [1, 2]
    assert counts("published_date", "month") == (newest_periods(7)[:2], True)
    assert counts("published_date", "day") == (newest_periods(10)[:2], True)
    assert counts("published_utc", "month") == counts("published_date", "month")
    assert counts("published_utc", "day") == counts("published_date", "day")
    everything = get(datasette, "/archive/articles.json?_facet_size=max").json()
    months = next(f for f in everything["facet_results"].values() if f["type"] == "month")
    assert [(r["value"], r["count"]) for r in months["results"]] == newest_periods(7)
    assert months["truncated"] is False


def test_array_filters_look_articles_up_in_the_values_tables(archive_path):
    """`authors__arraycontains=` gets a clause on article_authors (indexed) beside Datasette's
    json_each() filter: the same articles, without reading every row's array."""
    datasette = served_datasette(archive_path)
    url = "/archive/articles.json?_shape=objects&_size=max&authors__arraycontains="
    data = get(datasette, url + "Penulis+1").json()
    assert "from article_authors where author = trim(:na_authors_0)" in data["query"]["sql"]
    assert data["filtered_table_rows_count"] == ARTICLES // 4
    assert {row["id"] for row in data["rows"]} == {
        row["id"]
        for row in get(
            datasette, url.replace("authors__arraycontains", "authors__contains") + "Penulis+1"
        ).json()["rows"]
    }
    tagged = get(datasette, url + "Penulis+1&tags__arraycontains=banjir").json()
    assert "from article_tags where tag = trim(:na_tags_0)" in tagged["query"]["sql"]
    assert tagged["filtered_table_rows_count"] == ARTICLES // 4
    # A blank value is left to Datasette's filter alone (no article has it).
    blank = get(datasette, url + "+").json()
    assert "article_authors" not in blank["query"]["sql"]
    assert blank["filtered_table_rows_count"] == 0


def test_filtered_facets_over_many_rows_run_when_an_index_alone_counts_them(archive_path):
    """Past FILTERED_MAX_ROWS a filtered page's facet still runs when SQLite counts it from an
    index alone (a site's categories: schema v8's (site, category)); one that would read the rows
    (the authors text, no index) stays out with its note, in the order the facets were asked."""
    datasette = served_datasette(archive_path)
    get(datasette, "/")

    def facet_results(where: str, params: dict, facets: list[str]) -> dict[str, dict]:
        query = "&".join(f"_facet={name}" for name in facets)
        facet = BudgetedColumnFacet(
            datasette,
            Request.fake(f"/archive/articles?{query}"),
            "archive",
            sql=f"select * from articles where {where}",
            params=params,
            table="articles",
            row_count=FILTERED_MAX_ROWS + 1,
        )
        results, timed_out = asyncio.run(facet.facet_results())
        assert timed_out == []
        return {entry["name"]: entry for entry in results}

    by_site = facet_results("site = :p0", {"p0": "warta"}, ["authors", "category"])
    assert list(by_site) == ["authors", "category"]
    assert by_site["authors"]["not_counted"] == TOO_MANY_ROWS
    assert "not_counted" not in by_site["category"]
    assert {r["value"]: r["count"] for r in by_site["category"]["results"]} == {
        "Ekonomi": 10,
        "Daerah": 10,
    }
    searched = facet_results(SEARCH_CLAUSE, {"search": "beras"}, ["category", "site"])
    assert [entry.get("not_counted") for entry in searched.values()] == [TOO_MANY_ROWS] * 2


def test_a_searched_pages_count_comes_from_the_index_while_it_is_whole(archive_path, tmp_path):
    """The count of `?_search=` pages is the index's own while it indexes exactly the articles;
    an article deleted by plain SQL (its index entry waits in the stale list until an Archive
    opens the file) is counted out all the same."""
    import shutil
    import sqlite3

    from newsarchive.datasette.plugins.large_archive import (
        ArchiveDatabase,
        search_count_sql,
    )

    for clause in (SEARCH_CLAUSE, "+" + SEARCH_CLAUSE):
        count = f"select count(*) from articles where {clause} "
        assert search_count_sql(count).endswith(
            "else (select count(*) from articles_fts where articles_fts match escape_fts(:search)) end"
        )
        # A page with any other filter beside the search is counted as Datasette counts it.
        other = f"select count(*) from articles where site = :p0 and {clause} "
        assert search_count_sql(other) == other
    datasette = served_datasette(archive_path)
    data = get(datasette, "/archive/articles.json?_search=harga").json()
    assert data["filtered_table_rows_count"] == ARTICLES
    # (Datasette loads the plugins directory as modules of its own: the class is compared by name.)
    assert type(datasette.get_database("archive")).__name__ == ArchiveDatabase.__name__
    assert (
        get(served_datasette(archive_path), "/archive/articles.json?_search=beras").json()[
            "filtered_table_rows_count"
        ]
        == ARTICLES // 3
    )

    copy = tmp_path / "archive.db"
    shutil.copyfile(archive_path, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("DELETE FROM articles WHERE url = 'https://warta.example.id/berita/0'")
        assert conn.execute("SELECT count(*) FROM articles_fts_stale").fetchone() == (1,)
        # The index alone still counts it.
        assert conn.execute(
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'harga'"
        ).fetchone() == (ARTICLES,)
    data = get(served_datasette(copy), "/archive/articles.json?_search=harga").json()
    assert data["filtered_table_rows_count"] == ARTICLES - 1


def test_the_database_page_counts_the_tables_an_analyst_reads_and_hides_the_plumbing(
    archive_path,
):
    """The search index's top lists and a shared crawl's hand-over tables are hidden like the
    index's own shadow tables, and hidden tables are listed uncounted: Datasette's count(*)
    cannot be stopped by its time limit (9-14 s for the page at a million articles, cold)."""
    tables = {
        table["name"]: table
        for table in get(served_datasette(archive_path), "/archive.json?_show_hidden=1").json()[
            "tables"
        ]
    }
    plumbing = {"search_stats", "search_words", "search_lengths", "search_top", "shared_items"}
    plumbing |= {"shared_progress", "articles_fts_data", "articles_fts_idx", "article_urls"}
    plumbing |= {"site_fills"}
    assert plumbing <= set(tables)
    for name in plumbing:
        assert tables[name]["hidden"], name
        assert tables[name]["count"] is None, name
    assert tables["articles"]["count"] == ARTICLES
    assert not tables["articles"]["hidden"]
    assert tables["article_authors"]["count"] > 0


def test_a_time_limit_running_out_in_the_index_set_up_is_a_count_left_out(tmp_path):
    """FTS5 reports a time limit that runs out while it reads its own configuration as "vtable
    constructor failed": counted as the limit running out (QueryInterrupted: the page leaves the
    count out), while the same error from a broken index, fast, stays an error."""
    import sqlite3

    from newsarchive.datasette.plugins.large_archive import ran_out_in_setup

    broken = tmp_path / "broken.db"
    with sqlite3.connect(broken) as conn:
        conn.execute("CREATE VIRTUAL TABLE articles_fts USING fts5(title)")
        conn.execute("DROP TABLE articles_fts_config")
    with sqlite3.connect(broken) as conn, pytest.raises(sqlite3.OperationalError) as failed:
        conn.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'x'").fetchall()
    assert str(failed.value).startswith("vtable constructor failed")
    assert ran_out_in_setup(failed.value, elapsed_ms=12.0, limit_ms=10)
    assert not ran_out_in_setup(failed.value, elapsed_ms=3.0, limit_ms=10)
    assert not ran_out_in_setup(sqlite3.OperationalError("no such table: x"), 50.0, 10)
