"""Datasette with the packaged metadata: facets, search and canned queries work; raw pages never show."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from archive_fixtures import WIB, add_run, make_article, make_raw

from newsarchive.datasette import facet_budget, load_metadata, served_datasette
from newsarchive.storage import Archive

# Only in the raw pages: if this string shows up in any response, raw HTML leaked.
RAW_MARKER = "RAW-PAGE-MARKER-7f3a"
ARTICLES = [
    ("warta", "Nasional", ("Sari Wulandari",), "Nelayan tidak melaut karena ombak tinggi", 5),
    ("warta", "Ekonomi", ("Sari Wulandari", "Budi Santoso"), "Harga beras naik di pasar induk", 5),
    # A name twice in one byline still counts one article.
    (
        "kabar",
        "Ekonomi",
        ("Budi Santoso", "Budi Santoso"),
        "Ekspor kopi meningkat tajam tahun ini",
        6,
    ),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    path = tmp_path_factory.mktemp("datasette") / "archive.db"
    with Archive(path) as archive:
        for n, (site, category, authors, body, day) in enumerate(ARTICLES):
            url = f"https://{site}.example.id/berita/{n}"
            raw = make_raw(url, body=f"<html><!-- {RAW_MARKER} --><p>{body}</p></html>".encode())
            article = make_article(
                url,
                title=body.split(" karena")[0],
                body=body,
                authors=authors,
                category=category,
                published=datetime(2024, 3, day, 8, tzinfo=WIB),
            )
            archive.store(raw, article, site=site)
        archive.record_failure(
            "https://kabar.example.id/rusak", "HTTP 500", status=500, site="kabar"
        )
        # The site took its first article down: a revisit answered 410.
        archive.record_failure(
            "https://warta.example.id/berita/0", "HTTP 410", status=410, site="warta"
        )
    datasette = served_datasette(path)

    def get(url: str):
        async def fetch():
            return await datasette.client.get(url)

        return asyncio.run(fetch())

    return get


def test_articles_are_faceted_by_site_category_author_and_date(served):
    response = served("/archive/articles.json?_shape=objects")
    assert response.status_code == 200
    data = response.json()
    facets = data["facet_results"]
    counts = {
        name: {r["value"]: r["count"] for r in facet["results"]} for name, facet in facets.items()
    }
    assert counts["site"] == {"warta": 2, "kabar": 1}
    assert counts["category"] == {"Ekonomi": 2, "Nasional": 1}
    assert counts["authors"] == {"Sari Wulandari": 2, "Budi Santoso": 2}
    assert counts["tags"] == {"banjir": 3, "pesisir": 3}
    # Dates by month and by day, newest first (not by count).
    by_type = {facet["type"]: facet for facet in facets.values()}
    assert [(r["value"], r["count"]) for r in by_type["month"]["results"]] == [("2024-03", 3)]
    assert [(r["value"], r["count"]) for r in by_type["day"]["results"]] == [
        ("2024-03-06", 1),
        ("2024-03-05", 2),
    ]
    # Newest first by default.
    assert [row["published_date"] for row in data["rows"]] == [
        "2024-03-06",
        "2024-03-05",
        "2024-03-05",
    ]


def test_lean_author_facet_counts_like_datasettes_array_facet(served):
    for query in ("", "site=warta&", "_search=beras&"):
        data = served(f"/archive/articles.json?{query}_facet_array=authors&_shape=objects").json()
        lean, builtin = data["facet_results"]["authors"], data["facet_results"]["authors_2"]
        assert lean["type"] == "lean_array" and builtin["type"] == "array"
        pairs = [[(r["value"], r["count"]) for r in facet["results"]] for facet in (lean, builtin)]
        assert pairs[0] == pairs[1], query


def test_full_text_search_is_wired(served):
    data = served("/archive/articles.json?_search=beras&_shape=objects").json()
    assert [row["title"] for row in data["rows"]] == ["Harga beras naik di pasar induk"]
    data = served("/archive/articles.json?_search=kopi+ekspor&_shape=objects").json()
    assert len(data["rows"]) == 1


def test_canned_queries_run(served):
    per_day = served("/archive/articles_per_day.json?_shape=objects").json()["rows"]
    assert {"day": "2024-03-05", "site": "warta", "articles": 2} in per_day
    fill = {
        row["site"]: row
        for row in served("/archive/field_fill_rates.json?_shape=objects").json()["rows"]
    }
    assert fill["warta"]["articles"] == 2 and fill["warta"]["authors"] == 100.0
    assert fill["kabar"]["modified"] == 0.0
    failures = served("/archive/latest_failures.json?_shape=objects").json()["rows"]
    assert [row["reason"] for row in failures] == ["HTTP 410", "HTTP 500"]
    gone = served("/archive/taken_down.json?_shape=objects").json()["rows"]
    assert [(row["url"], row["title"]) for row in gone] == [
        ("https://warta.example.id/berita/0", "Nelayan tidak melaut")
    ]
    assert gone[0]["gone_since"].endswith("Z")


def test_raw_pages_are_not_reachable(served):
    databases = {db["name"] for db in served("/-/databases.json").json()}
    assert databases == {"archive"}
    assert served("/pages").status_code == 404
    assert served("/archive/pages").status_code == 404
    sql = served("/archive.json?sql=select+*+from+pages")
    assert sql.status_code == 400 and "no such table" in sql.text
    tables = [table["name"] for table in served("/archive.json").json()["tables"]]
    assert "articles" in tables
    for table in tables:
        response = served(f"/archive/{table}.json?_shape=array&_size=max")
        assert response.status_code == 200, table
        assert RAW_MARKER not in response.text, table
        assert "<html" not in json.dumps(response.json()), table


def test_the_articles_page_renders_with_the_data_dictionary(served):
    page = served("/archive/articles")
    assert page.status_code == 200
    assert "Articles" in page.text
    assert "Publication time as ISO-8601" in page.text  # a column description
    assert "authors" in page.text and "published_date" in page.text  # facet names


def test_day_and_month_facets_filter_like_plain_datasette_filters(served):
    data = served("/archive/articles.json?_shape=objects").json()
    day = facet_value(data, "day", "2024-03-05")
    month = facet_value(data, "month", "2024-03")
    toggle = urlsplit(day["toggle_url"])
    by_day = served(f"{toggle.path}?{toggle.query}").json()
    assert {row["published_date"] for row in by_day["rows"]} == {"2024-03-05"}
    assert len(by_day["rows"]) == 2
    assert "published_date__startswith=2024-03" in month["toggle_url"]


def facet_value(data: dict, facet_type: str, value: str) -> dict:
    facet = next(f for f in data["facet_results"].values() if f["type"] == facet_type)
    return next(r for r in facet["results"] if r["value"] == value)


def test_authors_join_table_counts_each_author_once_per_article(served):
    rows = served(
        "/archive.json?_shape=array&sql="
        "select+author,+count(*)+as+n+from+article_authors+group+by+author+order+by+author"
    ).json()
    assert rows == [{"author": "Budi Santoso", "n": 2}, {"author": "Sari Wulandari", "n": 2}]


def test_search_page_ranks_and_highlights(served):
    page = served("/-/search?q=BERAS")
    assert page.status_code == 200
    assert "<mark>beras</mark>" in page.text
    assert "1 article match" in page.text
    # A query without a word is one message, not an error page.
    page = served("/-/search?q=%2A%2A")
    assert page.status_code == 200 and "holds no word" in page.text
    page = served("/-/search?q=beras&since=yesterday")
    assert "since: &#39;yesterday&#39; is not a date" in page.text
    # An edited URL with a page past SQLite's integers: no hits, not an error page.
    page = served(f"/-/search?q=beras&page={2**63}")
    assert page.status_code == 200 and "<mark>beras</mark>" not in page.text


def test_article_page_shows_paragraphs_and_folds_provenance(served):
    page = served("/archive/articles/1")
    assert page.status_code == 200
    assert '<div class="na-body">' in page.text
    assert "<p>Nelayan tidak melaut karena ombak tinggi</p>" in page.text
    assert '<details class="na-more na-provenance">' in page.text
    assert "5 Mar 2024, 08:00 WIB" in page.text


def test_home_page_says_what_the_archive_holds(served):
    page = served("/")
    assert "<strong>3 articles</strong> from\n        2 sites" in page.text
    assert "5 Mar 2024 – 6 Mar 2024" in page.text
    assert "/-/dashboards/archive" in page.text


def test_dashboard_is_configured_for_the_served_database(served):
    page = served("/-/dashboards/archive")
    assert page.status_code == 200
    assert "Articles per day per site" in page.text
    # Every chart's SQL runs on this archive (the browser test checks they are drawn).
    for name, chart in load_metadata("archive")["plugins"]["datasette-dashboards"]["archive"][
        "charts"
    ].items():
        sql = re.sub(r"\[\[.*?\]\]", "", chart["query"])
        response = served("/archive.json?" + urlencode({"sql": sql, "_shape": "array"}))
        assert response.status_code == 200, (name, response.text[:300])
        # No crawl run in this archive: the fill-rate chart has no rows here, the others do.
        assert bool(response.json()) == (name != "fill-rates"), name


def test_article_page_shows_a_zone_less_date_as_written(tmp_path):
    """A record whose page stated no zone: the article page prints its local time, says the zone
    is not stated, and invents no offset."""
    path = tmp_path / "archive.db"
    url = "https://seite.example.de/artikel"
    with Archive(path) as archive:
        raw = make_raw(url, body=f"<html><!-- {RAW_MARKER} --><p>Text</p></html>".encode())
        article = make_article(
            url, body="Die Brücke wird gesperrt.", published=datetime(2018, 6, 27, 9, 54)
        )
        archive.store(raw, article, site="seite")
    datasette = served_datasette(path)

    async def fetch(address: str):
        return await datasette.client.get(address)

    page = asyncio.run(fetch("/archive/articles/1"))
    assert page.status_code == 200
    assert "27 Jun 2018, 09:54 (zone not stated)" in page.text
    assert "WIB" not in page.text and RAW_MARKER not in page.text
    row = asyncio.run(fetch("/archive/articles/1.json?_shape=objects")).json()["rows"][0]
    assert row["published"] == "2018-06-27T09:54:00" and row["published_utc"] is None


def test_search_page_answers_without_counts_that_take_too_long(tmp_path, monkeypatch):
    """Counting every match of a word in most articles takes seconds at a million articles: the
    search page gives each count Datasette's facet time limit, and one that runs out leaves the
    ranked hits, the filters' values (without counts) and the next-page link in place."""
    path = tmp_path / "archive.db"
    with Archive(path) as archive, archive.batch(1000):
        for n in range(1500):
            site = ("warta", "kabar")[n % 2]
            url = f"https://{site}.example.id/berita/{n}"
            body = f"Harga beras naik lagi di pasar {n}"
            archive.store(make_raw(url), make_article(url, title=body, body=body), site=site)

    def search_page(limit_ms: int) -> str:
        datasette = served_datasette(path, facet_time_limit_ms=limit_ms)
        response = asyncio.run(datasette.client.get("/-/search?q=beras&since=2024-01-01"))
        assert response.status_code == 200
        return response.text

    counted = search_page(1000)
    assert "1,500 articles match" in counted
    assert '<option value="warta">warta (750)</option>' in counted
    hurried = search_page(1)
    assert "Too many articles match “beras” to count them quickly" in hurried
    assert '<option value="warta">warta</option>' in hurried
    assert hurried.count('<li class="na-hit">') == counted.count('<li class="na-hit">') > 0
    assert "next →" in hurried and "next →" in counted
    # Past the facets' row limit the matches are counted (from the index alone), per site not.
    monkeypatch.setattr(facet_budget, "FILTERED_MAX_ROWS", 1499)
    many = search_page(1000)
    assert "1,500 articles match" in many
    assert '<option value="warta">warta</option>' in many


def test_home_page_lists_sites_from_an_index_and_their_last_crawl(tmp_path):
    import sqlite3

    from newsarchive.datasette.plugins.analyst import SITES_SQL

    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        for n, site in enumerate(("warta", "kabar", "kabar")):
            url = f"https://{site}.example.id/berita/{n}"
            archive.store(make_raw(url), make_article(url), site=site)
        run = archive.start_run("warta", {})
        archive.finish_run(
            run,
            pages_fetched=1,
            articles_new=1,
            articles_updated=0,
            articles_unchanged=0,
            failures=0,
        )
    with sqlite3.connect(path) as conn:
        started = conn.execute("SELECT started FROM crawl_runs").fetchone()[0]
        # Every site's row from the (site, published_date) index: no article row is read, so the
        # page stays quick at a million articles.
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + SITES_SQL)]
    reads = [step for step in plan if step.startswith(("SCAN", "SEARCH"))]
    assert reads and all("COVERING INDEX" in step for step in reads), plan
    page = asyncio.run(served_datasette(path).client.get("/"))
    assert page.status_code == 200
    rows = re.findall(
        r"<tr><td><a [^>]*>(\w+)</a></td>\s*<td>([\d,]+)</td>.*?<td>([^<]*)</td>\s*"
        r'<td class="na-health">(.*?)</td></tr>',
        page.text,
        re.S,
    )
    by_site = {site: (count, crawl.strip()) for site, count, crawl, _health in rows}
    assert by_site["kabar"] == ("2", "none (imported)")
    assert by_site["warta"][0] == "1"
    assert {site: health for site, _, _, health in rows} == {"warta": "no alarm", "kabar": "–"}
    when = datetime.fromisoformat(started.replace("Z", "+00:00"))
    assert by_site["warta"][1].startswith(f"{when.day} {when:%b %Y}, {when:%H:%M}")


def test_top_authors_chart_counts_as_the_join_it_replaces(tmp_path):
    """The dashboard's top authors, filtered or not, equal a join of article_authors to the
    articles (the chart reads indexes only: no article row)."""
    import sqlite3

    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        for n in range(30):
            site = ("warta", "kabar")[n % 2]
            url = f"https://{site}.example.id/berita/{n}"
            authors = (f"Penulis {n % 4}",) + ((f"Penulis {n % 3}",) if n % 5 == 0 else ())
            article = make_article(
                url, authors=authors, published=datetime(2024, 3, 1 + n % 20, 8, tzinfo=WIB)
            )
            archive.store(make_raw(url), article, site=site)
    chart = load_metadata("archive")["plugins"]["datasette-dashboards"]["archive"]["charts"]
    query = chart["authors"]["query"]
    join = (
        "select aa.author, count(*) as articles from article_authors aa "
        "join articles a on a.id = aa.article_id where 1 {filters} "
        "group by aa.author order by articles desc, aa.author limit 15"
    )
    filters = {
        "site": "and a.site = :site",
        "date_start": "and a.published_date >= :date_start",
        "date_end": "and a.published_date <= :date_end",
    }
    values = {"site": "kabar", "date_start": "2024-03-05", "date_end": "2024-03-12"}
    with sqlite3.connect(path) as conn:
        for chosen in ([], ["site"], ["date_start", "date_end"], ["site", "date_start"]):
            # datasette-dashboards keeps a [[ ... ]] block when its parameter is given.
            sql = re.sub(
                r"\[\[(.*?)\]\]",
                lambda block, chosen=chosen: (
                    block[1] if re.search(r":(\w+)", block[1])[1] in chosen else ""
                ),
                query,
                flags=re.S,
            )
            params = {name: values[name] for name in chosen}
            expected = join.format(filters=" ".join(filters[name] for name in chosen))
            got = conn.execute(sql, params).fetchall()
            assert got == conn.execute(expected, params).fetchall() and got, chosen
            # Indexes only: no article row is read (each a random read at a million articles).
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
            reads = [step for step in plan if step.startswith(("SCAN", "SEARCH"))]
            assert all(
                "COVERING INDEX" in step or step.startswith("SEARCH article_authors")
                for step in reads
            ), (chosen, plan)


def test_home_page_shows_each_sites_health_alarms(tmp_path):
    # What `newsarchive health` says, beside each site: before, only the command said it.
    from newsarchive.storage.archive import RunTally

    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        for run, authors in enumerate((["Sari"], [])):
            tally = RunTally()
            for n in range(6):
                url = f"https://warta.example.id/berita/{run}-{n}"
                article = make_article(url, body="Kalimat berita. " * 20, authors=authors)
                archive.store(make_raw(url), article, site="warta")
                tally.add(article, "article")
            run_id = archive.start_run("warta", {})
            archive.finish_run(
                run_id,
                pages_fetched=6,
                articles_new=6,
                articles_updated=0,
                articles_unchanged=0,
                failures=0,
                tally=tally,
            )
    page = asyncio.run(served_datasette(path).client.get("/"))
    assert page.status_code == 200
    [health] = re.findall(r'<td class="na-health">(.*?)</td>', page.text, re.S)
    assert health == '<span class="na-alarm">fill-rate:authors 100% → 0% (run 2)</span>'


def test_home_page_says_a_site_of_the_plan_is_overdue(tmp_path):
    # `newsarchive browse` passes the plan's periods (plan_periods): a site whose runs stopped
    # completing two days ago is overdue on the home page as under `newsarchive health`.
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        url = "https://warta.example.id/berita/1"
        archive.store(make_raw(url), make_article(url), site="warta")
        run_id = add_run(archive, "warta", "2026-11-01T10:00:00Z", "2026-11-01T10:05:00Z")
    home = {}
    for periods in (None, {"warta": timedelta(hours=6)}):
        page = asyncio.run(served_datasette(path, periods).client.get("/"))
        assert page.status_code == 200
        [home[bool(periods)]] = re.findall(r'<td class="na-health">(.*?)</td>', page.text, re.S)
    assert "overdue" not in home[False]
    assert home[True].startswith(
        '<span class="na-alarm">overdue a complete run every 6h → none for '
    ), home[True]
    assert home[True].endswith(f"(run {run_id})</span>")


@pytest.mark.parametrize(
    ("url", "named"),
    [
        # Found by benchmarks/fuzz_browse.py: each was a 500 quoting Python and a traceback on
        # the terminal of `newsarchive browse`, from Datasette's own reading of the parameter.
        ("/archive/articles?_timelimit=2023-07-02", "_timelimit='2023-07-02': not a whole"),
        ("/archive/articles_per_day?_timelimit=AND", "_timelimit='AND': not a whole"),
        ("/archive/articles?_facet_day=%7Btitle", "_facet_day='{title': not a facet's JSON"),
        ("/archive/articles?_facet_day=%7B%7D", "_facet_day='{}': a facet's JSON names"),
        ("/archive/articles?_facet_date=a%00b", "a NUL character"),
        ("/archive/crawl_runs?_where=a%00b", "a NUL character"),
        ("/archive/versions?published_date__lte=9223372036854775808", "past the 64-bit"),
        ("/archive/articles?_facet_size=-1", "_facet_size='-1': not a whole number of 0 or more"),
        # Not a 500: Datasette's "Invalid SQL" page quoting FTS5's syntax error and the SQL.
        ("/archive/articles?_search=%22", "_search='\"': no word to search for"),
        # A 500 saying "Cannot sort table by nope": the page's fault, the status said.
        ("/archive/articles?_sort=nope", "_sort='nope': not a column this table can be sorted"),
        ("/archive/crawl_runs?_sort_desc=%3Cb%3E", "_sort_desc='<b>': not a column"),
        ("/archive/articles?_sort=title&_sort_desc=site", "sorted by one of them at a time"),
    ],
)
@pytest.mark.parametrize("as_json", [False, True], ids=["html", "json"])
def test_a_parameter_datasette_cannot_take_is_a_400_that_names_it(
    served, capsys, url: str, named: str, as_json: bool
):
    if as_json:
        path, _, query = url.partition("?")
        url = f"{path}.json?{query}"
    response = served(url)
    assert response.status_code == 400
    said = response.json()["error"] if as_json else html_text(response.text)
    assert named in said
    assert "Traceback" not in capsys.readouterr().err


def test_the_search_page_asked_of_a_database_not_served_is_a_404_that_says_so(served, capsys):
    response = served("/-/search?db=nope&q=beras")
    assert response.status_code == 404
    assert "db='nope': no such archive here (it serves archive)" in html_text(response.text)
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "url",
    [
        "/-/search?q=99999999999999999999999",
        "/archive/articles?_search=99999999999999999999999",
        # Filters Datasette binds as text take such a number too.
        "/archive/articles?title__contains=99999999999999999999999",
        "/archive/articles?word_count=99999999999999999999999",
    ],
)
def test_huge_numbers_are_still_taken_where_datasette_takes_them(served, url: str):
    assert served(url).status_code == 200


def html_text(page: str) -> str:
    from html import unescape

    return unescape(re.sub(r"<script.*?</script>|<[^>]+>", " ", page, flags=re.S))


def test_pages_show_a_date_that_is_no_text_as_it_is(tmp_path):
    """fuzz_archive seed 4142: an index page of dates overwritten by another table's page (which
    SQLite's checks can pass) handed the home page a number where a date was: a 500 and a
    traceback out of `browse`. Such a value is shown as it is (`verify` names the damage)."""
    path = tmp_path / "archive.db"
    url = "https://warta.example.id/berita/1"
    with Archive(path) as archive:
        archive.store(make_raw(url), make_article(url), site="warta")
    with sqlite3.connect(path) as conn:  # a number, as the garbled index handed over
        conn.execute("UPDATE articles SET published = 20240305, modified = x'00ff'")
    datasette = served_datasette(path)
    for address in ("/", "/archive/articles/1", "/archive/articles"):
        page = asyncio.run(datasette.client.get(address))
        assert page.status_code == 200, (address, page.text[-500:])
    assert "20240305" in asyncio.run(datasette.client.get("/archive/articles/1")).text
