"""Searches ranked from the top lists give FTS5's exact bm25 order where the lists can prove it.

Real archives of a few dozen articles, with words common enough to get lists
(search_tops.TOP_MIN_DOCS lowered) and lists too short to hold every article with their word
(TOP_SIZE lowered): a common word's count in an article outside its list is then unknown to the
lists, and each page is compared with FTS5's own `ORDER BY rank` over every match.
"""

from __future__ import annotations

import random

import pytest
from archive_fixtures import make_article, make_raw

from newsarchive.storage import Archive, queries, search_tops
from newsarchive.storage.queries import (
    RANK,
    SearchFilters,
    exact_ranking,
    plain_query,
    planned_search_sql,
    search,
    search_plan,
    search_sql,
)

SITES = ("warta", "kabar")
FILLER = ["kota", "warga", "jalan", "pasar", "rumah", "sekolah", "sungai", "petani", "harga"]


def fts5_page(archive: Archive, query: str, *, limit: int, site: str | None = None) -> list:
    """FTS5's own ranking over every match: (id, score) best first, ties by id as FTS5 breaks
    them (the plain rowid order of its sorter)."""
    where = " AND a.site = ?" if site else ""
    return archive.db.execute(
        "SELECT f.rowid, round(-f.rank, 9) FROM articles_fts f JOIN articles a ON a.id = f.rowid "
        f"WHERE articles_fts MATCH ? AND f.rank MATCH '{RANK}'{where} ORDER BY f.rank LIMIT ?",
        [plain_query(query), *([site] if site else []), limit],
    ).fetchall()


def scored(archive: Archive, query: str, ids: list[int]) -> list:
    scores = dict(
        archive.db.execute(
            "SELECT rowid, round(-bm25(articles_fts, 10.0, 4.0, 1.0), 9) FROM articles_fts "
            "WHERE articles_fts MATCH ?",
            [plain_query(query)],
        ).fetchall()
    )
    return [(article_id, scores[article_id]) for article_id in ids]


def fill(archive: Archive, seed: int = 5) -> None:
    """80 articles: "yang" in every one, "banjir" in 32 with 1-6 occurrences (its title in some),
    "zzlangka" (too rare for a list) in half of those and two more, lengths from 6 to 60
    tokens, so scores seldom tie."""
    rng = random.Random(seed)
    with_banjir = [n for n in range(80) if n % 5 in (1, 2)]
    with_rare = set(with_banjir[::2]) | {0, 40}
    with archive.batch(size=9):
        for n in range(80):
            url = f"https://{SITES[n % 2]}.example.id/{n}"
            words = ["yang"] * rng.randint(1, 3) + rng.choices(FILLER, k=rng.randint(4, 50))
            title = " ".join(rng.choices(FILLER, k=3)).capitalize()
            if n in with_banjir:
                words += ["banjir"] * rng.randint(1, 6)
                if n % 3 == 0:
                    title += " banjir"
            if n in with_rare:
                words += ["zzlangka"] * rng.randint(1, 2)
            rng.shuffle(words)
            article = make_article(url, title=title, body=" ".join(words) + ".")
            archive.store(make_raw(url), article, site=SITES[n % 2])


@pytest.fixture(params=[(0, 1000), (10**9, 1000), (0, 1)], ids=["merged", "fresh", "one-merged"])
def short_lists(monkeypatch, request):
    # Lists merged at every commit, their new entries all left fresh (FRESH_PER_LIST), or at
    # every commit the fresh entries of the one list holding the most merged (MERGE_LISTS).
    fresh_per_list, merge_lists = request.param
    monkeypatch.setattr(search_tops, "FRESH_PER_LIST", fresh_per_list)
    monkeypatch.setattr(search_tops, "MERGE_LISTS", merge_lists)
    monkeypatch.setattr(search_tops, "TOP_MIN_DOCS", 20)
    monkeypatch.setattr(search_tops, "COUNT_EVERY", 1)  # every word counted exactly
    monkeypatch.setattr(search_tops, "TOP_SIZE", 4)
    monkeypatch.setattr(queries, "MIXED_MAX_DOCS", 0)  # listed words: ranked from their lists


def approximate_page(archive: Archive, query: str, *, limit: int) -> list[int]:
    """The plans' SQL alone (what ranks when the lists cannot prove the order)."""
    plan, rare, _ = search_plan(archive.db, query)
    sql, args = search_sql(
        plain_query(query),
        SearchFilters(),
        dense=True,
        rare=rare,
        instances=plan == "mixed" and queries._instances(archive.db),
        limit=limit,
    )
    return [row[0] for row in archive.db.execute(sql, args)]


def test_common_and_rare_words_rank_exactly_as_fts5(tmp_path, short_lists):
    """A listed word with a rare one: every match is found, and the listed word's count in those
    outside its list is read from their text, so page after page is FTS5's order exactly,
    filtered too; counting it as one occurrence there (the plan's SQL) misorders this archive."""
    with Archive(tmp_path / "archive.db") as archive:
        fill(archive)
        query = "banjir zzlangka"
        assert search_plan(archive.db, query)[0] == "mixed"
        listed = {
            row[0]
            for row in archive.db.execute(
                "SELECT t.id FROM search_top t JOIN search_words w ON t.list IN (w.list, ~w.list) "
                "WHERE w.word = 'banjir'"
            )
        }
        expected = fts5_page(archive, query, limit=100)
        assert len(expected) >= 12 and not {row[0] for row in expected} <= listed
        assert approximate_page(archive, query, limit=12) != [row[0] for row in expected[:12]]

        hits = search(archive, query, limit=12)
        assert scored(archive, query, [hit.id for hit in hits]) == expected[:12]
        assert all("[" in hit.snippet for hit in hits)
        for offset in (0, 5, 10):
            page = exact_ranking(archive.db, query, limit=5, offset=offset)
            assert page == [row[0] for row in expected[offset : offset + 5]]
        for site in SITES:
            narrowed = search(archive, query, site=site, limit=4)
            assert [(hit.id, hit.site) for hit in narrowed] == [
                (article_id, site)
                for article_id, _ in fts5_page(archive, query, limit=4, site=site)
            ]


def test_common_words_rank_exactly_when_the_lists_prove_it(tmp_path, short_lists):
    """Two listed words, one in every article (weightless: FTS5 clamps its idf): the page's last
    score beats anything an article outside both lists could score, so the lists' order is
    bm25's. Past what the lists can prove (a deeper page), the plans' SQL ranks, every hit still
    a match."""
    with Archive(tmp_path / "archive.db") as archive:
        fill(archive)
        query = "yang banjir"
        assert search_plan(archive.db, query)[0] == "tops"
        expected = fts5_page(archive, query, limit=3)
        assert exact_ranking(archive.db, query, limit=3) == [row[0] for row in expected]
        assert scored(archive, query, [hit.id for hit in search(archive, query, limit=3)]) == (
            expected
        )

        for site in SITES:
            page = fts5_page(archive, query, limit=2, site=site)
            narrowed = exact_ranking(archive.db, query, SearchFilters(site=site), limit=2)
            assert narrowed == [article_id for article_id, _ in page]
            assert [hit.id for hit in search(archive, query, site=site, limit=2)] == [
                article_id for article_id, _ in page
            ]

        assert exact_ranking(archive.db, query, limit=20) is None  # lists of 4 cannot fill it
        matches = {row[0] for row in fts5_page(archive, query, limit=100)}
        hits = search(archive, query, limit=20)
        assert len({hit.id for hit in hits}) == 20 and {hit.id for hit in hits} <= matches

        # A single listed word: its list is its best articles.
        expected = fts5_page(archive, "banjir", limit=4)
        assert exact_ranking(archive.db, "banjir", limit=4) == [row[0] for row in expected]


def test_the_search_page_sql_ranks_as_search(tmp_path, short_lists):
    """planned_search_sql (the Datasette search page's SQL) gives the same exact pages, with its
    own marks and page offsets."""
    with Archive(tmp_path / "archive.db") as archive:
        fill(archive)
        query = "banjir zzlangka"
        expected = [row[0] for row in fts5_page(archive, query, limit=10)]
        for offset in (0, 5):
            sql, args = planned_search_sql(
                archive.db, query, SearchFilters(), marks=("<b>", "</b>"), limit=5, offset=offset
            )
            rows = archive.db.execute(sql, args).fetchall()
            assert [row[0] for row in rows] == expected[offset : offset + 5]
            assert all("<b>" in row[5] for row in rows)
