"""`newsarchive search --exact` ranks by FTS5's bm25 itself, and a search says when its order is
only estimated from the top lists.

A real archive of 240 articles with words common enough to get lists (search_tops.TOP_MIN_DOCS
lowered) and lists of 30 (TOP_SIZE lowered, merged at every commit), two words in about half
the articles each: for a search of both, the lists prove a short page, estimate a page of 20 (the
candidates fill it but cannot be proven) and cannot fill a page of 25 (then FTS5 ranks every
match); a listed word with a rare one is always proven. Each page is compared with FTS5's own
`ORDER BY rank`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
from datetime import datetime, timedelta

import pytest
from archive_fixtures import WIB, make_article, make_raw
from click.testing import CliRunner
from test_search_exact import fts5_page

from newsarchive.cli import cli
from newsarchive.cli.archive import ESTIMATED_ORDER_NOTE
from newsarchive.datasette import served_datasette
from newsarchive.storage import Archive, queries, search_tops
from newsarchive.storage.queries import (
    SearchFilters,
    plan_search,
    search_plan,
    search_results,
)

SITES = ("warta", "kabar")
FILLER = ["kota", "warga", "jalan", "pasar", "rumah", "sekolah", "sungai", "petani", "harga"]
COMMON = "yang banjir"  # two listed words
PROVEN_LIMIT, ESTIMATED_LIMIT, UNFILLED_LIMIT = 5, 20, 25  # COMMON's pages, see above
WITH_RARE = "banjir zzlangka"  # a listed word and a rare one: every match read, exact order
FIRST_DAY = datetime(2024, 3, 1, 9, tzinfo=WIB)


@pytest.fixture
def short_lists(monkeypatch):
    monkeypatch.setattr(search_tops, "TOP_MIN_DOCS", 20)
    monkeypatch.setattr(search_tops, "COUNT_EVERY", 1)  # every word counted exactly
    monkeypatch.setattr(search_tops, "TOP_SIZE", 30)
    monkeypatch.setattr(search_tops, "FRESH_PER_LIST", 0)  # lists of 30 at every commit
    monkeypatch.setattr(queries, "MIXED_MAX_DOCS", 0)  # listed words: ranked from their lists


@pytest.fixture
def listed(tmp_path, short_lists):
    """240 articles, one a day from March 1st 2024, on two sites: "yang" and "banjir" each in
    about 45% (1-5 times), "zzlangka" in one in 20; bodies of 5 to 55 tokens."""
    path = tmp_path / "archive.db"
    rng = random.Random(6)
    with Archive(path) as archive, archive.batch(size=9):
        for n in range(240):
            site = SITES[n % 2]
            url = f"https://{site}.example.id/{n}"
            words = rng.choices(FILLER, k=rng.randint(4, 50))
            for word in ("yang", "banjir"):
                if rng.random() < 0.45:
                    words += [word] * rng.randint(1, 5)
            if n % 20 == 0:
                words.append("zzlangka")
            rng.shuffle(words)
            title = " ".join(rng.choices(FILLER, k=3)).capitalize()
            published = FIRST_DAY + timedelta(days=n)
            article = make_article(
                url, title=title, body=" ".join(words) + ".", published=published
            )
            archive.store(make_raw(url), article, site=site)
    return path


def fts5_ids(path, query: str, *, limit: int, site: str | None = None) -> list[int]:
    """FTS5's own ranking over every match, best first (test_search_exact's reference)."""
    with Archive(path, readonly=True) as archive:
        return [row[0] for row in fts5_page(archive, query, limit=limit, site=site)]


def run_search(path, *args: str):
    result = CliRunner().invoke(cli, ["search", *args, "--db", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def json_ids(result) -> list[int]:
    return [hit["id"] for hit in json.loads(result.stdout)]


def test_the_plans_say_which_pages_they_rank_exactly(listed):
    """The archive gives each case the tests below rely on: a page of COMMON proven from the
    lists, one estimated (and, as estimates may, not FTS5's order), one the lists cannot fill,
    ranked by FTS5 in the plan's SQL; and that the pages said to be exact are FTS5's."""
    with Archive(listed, readonly=True) as archive:
        assert search_plan(archive.db, COMMON)[0] == "tops"
        assert search_plan(archive.db, WITH_RARE)[0] == "mixed"
        for limit, planned_exact, exact in (
            (PROVEN_LIMIT, True, True),
            (ESTIMATED_LIMIT, None, False),
            (UNFILLED_LIMIT, None, True),
        ):
            planned = plan_search(archive.db, COMMON, SearchFilters(), limit=limit)
            assert planned.exact is planned_exact, limit
            results = search_results(archive, COMMON, limit=limit)
            assert results.exact is exact, limit
            expected = fts5_ids(listed, COMMON, limit=limit)
            assert ([hit.id for hit in results.hits] == expected) is exact, limit
        assert search_results(archive, WITH_RARE, limit=ESTIMATED_LIMIT).exact
        assert search_results(archive, COMMON, limit=ESTIMATED_LIMIT, exact=True).exact


def test_exact_ranks_every_match_as_fts5(listed):
    """--exact gives FTS5's order where the lists only estimate, in every format, with filters
    and limits, snippets marked as ever."""
    expected = fts5_ids(listed, COMMON, limit=ESTIMATED_LIMIT)
    with Archive(listed, readonly=True) as archive:
        exact = search_results(archive, COMMON, limit=ESTIMATED_LIMIT, exact=True)
    assert [hit.id for hit in exact.hits] == expected
    assert all("[" in hit.snippet for hit in exact.hits)

    assert json_ids(run_search(listed, COMMON, "--exact", "--json")) == expected
    rows = csv.DictReader(io.StringIO(run_search(listed, COMMON, "--exact", "--csv").stdout))
    assert [int(row["id"]) for row in rows] == expected
    table = run_search(listed, COMMON, "--exact").stdout
    assert table.count("https://") == ESTIMATED_LIMIT and "[yang]" in table.lower()
    for site in SITES:
        narrowed = run_search(listed, COMMON, "--exact", "--site", site, "--limit", "7", "--json")
        assert json_ids(narrowed) == fts5_ids(listed, COMMON, limit=7, site=site)
    with Archive(listed, readonly=True) as archive:
        since = {
            row[0]
            for row in archive.db.execute(
                "SELECT id FROM articles WHERE substr(published, 1, 10) >= '2024-06-01'"
            )
        }
    assert 60 < len(since) < 200
    later = json_ids(run_search(listed, COMMON, "--exact", "--since", "2024-06-01", "--json"))
    assert later == [n for n in fts5_ids(listed, COMMON, limit=240) if n in since][:20]


def test_the_note_says_when_the_order_is_estimated(listed):
    """On stderr, once, in every format (JSON and CSV keep their shape); never for an order that
    is FTS5's: proven from the lists, ranked by FTS5 (--exact, --fts, no list, lists too short
    to fill the page), nor when nothing matches."""
    for output in ((), ("--json",), ("--csv",)):
        result = run_search(listed, COMMON, *output)
        assert result.stderr.splitlines() == [ESTIMATED_ORDER_NOTE]
        assert ESTIMATED_ORDER_NOTE not in result.stdout
    assert len(json.loads(run_search(listed, COMMON, "--json").stdout)) == ESTIMATED_LIMIT
    assert "--exact ranks every match" in ESTIMATED_ORDER_NOTE

    exact = {
        (COMMON, "--limit", str(PROVEN_LIMIT)): fts5_ids(listed, COMMON, limit=PROVEN_LIMIT),
        (COMMON, "--limit", str(UNFILLED_LIMIT)): fts5_ids(listed, COMMON, limit=UNFILLED_LIMIT),
        (WITH_RARE,): fts5_ids(listed, WITH_RARE, limit=20),
        (COMMON, "--exact"): fts5_ids(listed, COMMON, limit=20),
        ("--fts", "yang AND banjir"): fts5_ids(listed, COMMON, limit=20),
        ("zzlangka",): fts5_ids(listed, "zzlangka", limit=20),
    }
    with Archive(listed, readonly=True) as archive:
        assert search_plan(archive.db, "zzlangka")[0] == "exact"  # too rare for a list
    for args, expected in exact.items():
        assert json_ids(run_search(listed, *args, "--json")) == expected, args
        for output in ((), ("--json",), ("--csv",)):
            assert run_search(listed, *args, *output).stderr == "", (args, output)
    nothing = run_search(listed, "yang", "zzbelum")
    assert nothing.stderr == "no articles match 'yang zzbelum'\n"


def test_a_page_the_lists_cannot_fill_is_fts5s_ties_included(tmp_path, monkeypatch):
    """Lists of 2 cannot fill a page of 6, so FTS5 ranks it (no note): the same page as FTS5's,
    down to the order of articles that score alike (here ten identical ones)."""
    monkeypatch.setattr(search_tops, "TOP_MIN_DOCS", 5)
    monkeypatch.setattr(search_tops, "COUNT_EVERY", 1)
    monkeypatch.setattr(search_tops, "TOP_SIZE", 2)
    monkeypatch.setattr(queries, "MIXED_MAX_DOCS", 0)
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        for n in range(30):
            url = f"https://warta.example.id/{n}"
            body = ("yang banjir kota", "yang jalan", "banjir rumah pasar")[n % 3]
            archive.store(make_raw(url), make_article(url, title="Berita", body=body), site="warta")
        assert search_plan(archive.db, COMMON)[0] == "tops"
        results = search_results(archive, COMMON, limit=6)
    expected = fts5_ids(path, COMMON, limit=6)
    assert results.exact and [hit.id for hit in results.hits] == expected
    assert expected == sorted(expected)  # FTS5 orders ties by id
    assert run_search(path, COMMON, "--limit", "6").stderr == ""


def test_help_says_exact_is_slower(tmp_path):
    help_text = " ".join(run_search(tmp_path / "archive.db", "--help").stdout.split())
    assert "--exact Rank every match by FTS5's bm25" in help_text
    assert "seconds for common words at a million articles" in help_text


def test_the_search_page_shows_the_note_only_for_an_estimated_order(listed):
    """The Datasette search page (20 hits a page) ranks as `newsarchive search` and says so."""
    datasette = served_datasette(listed)

    def page(query: str) -> str:
        response = asyncio.run(datasette.client.get(f"/-/search?q={query.replace(' ', '+')}"))
        assert response.status_code == 200
        return response.text

    note = "Order estimated from the top lists of common words"
    estimated = page(COMMON)
    assert note in estimated and estimated.count('<li class="na-hit">') == 20
    proven = page(WITH_RARE)
    assert note not in proven and proven.count('<li class="na-hit">') > 0
