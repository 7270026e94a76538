"""search_tops.build (migration v7, `repair`) lists common words from scratch without keeping the
lists in memory: it writes only the articles that may still be among a word's best to a temporary
table, and lets SQLite rank them. These tests check its tables against the lists' definition
computed plainly from every article (each common word's articles sorted by (impact, id), the best
TOP_SIZE listed, the next one's impact the floor), on real archives of a few hundred articles with
lists made small (TOP_MIN_DOCS and TOP_SIZE lowered) so that the bars that decide what is written
rise many times, and with many ties (articles of the same text weigh the same).
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter

import pytest
from archive_fixtures import make_article, make_raw

# The words of the upkeep tests: ASCII ones, ones that fold to ASCII, ones that stay non-ASCII.
from test_insert_upkeep import WORDS  # noqa: E402

from newsarchive.storage import Archive, search_tops

TABLES = ("search_stats", "search_words", "search_lengths", "search_top")


def text(rng: random.Random, count: int) -> str:
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    return " ".join(rng.choices(WORDS, weights=weights, k=count))


def fill(path, *, count: int, seed: int) -> None:
    """`count` articles; every third repeats an earlier one's text (the same impacts: ties that
    only the ids decide)."""
    rng = random.Random(seed)
    texts: list[tuple[str, str]] = []
    with Archive(path) as archive, archive.batch(size=50, max_seconds=0):
        for n in range(count):
            if texts and n % 3 == 0:
                title, body = rng.choice(texts)
            else:
                title, body = text(rng, rng.randint(1, 4)), text(rng, rng.randint(2, 30))
                texts.append((title, body))
            url = f"https://warta.example.id/{n}"
            archive.store(make_raw(url), make_article(url, title=title, body=body), site="warta")


def tables(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    return {
        table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() for table in TABLES
    }


def defined(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    """The tables as the module's docstring defines them, from every article's terms at once."""
    terms = [
        (article_id, *search_tops.article_terms(title, description, body))
        for article_id, title, description, body in conn.execute(
            "SELECT id, title, description, body FROM articles ORDER BY id"
        )
    ]
    docs = Counter(word for _, freq, _ in terms for word in freq)
    articles, total = len(terms), sum(length for _, _, length in terms)
    avgdl = total / articles
    common = sorted(word for word, count in docs.items() if count >= search_tops.TOP_MIN_DOCS)
    top, floors = [], {}
    for list_id, word in enumerate(common):
        ranked = sorted(
            (
                (search_tops.impact(freq[word], length, avgdl), article_id, freq[word], length)
                for article_id, freq, length in terms
                if word in freq
            ),
            reverse=True,
        )
        size = search_tops.TOP_SIZE
        top += [(list_id, article_id, score, f, n) for score, article_id, f, n in ranked[:size]]
        floors[word] = ranked[size][0] if len(ranked) > size else 0.0
    listed = {word: list_id for list_id, word in enumerate(common)}
    return {
        "search_stats": [
            (1, articles, total, avgdl if articles >= search_tops.TOP_MIN_DOCS else None)
        ],
        "search_words": sorted(
            (word, count, listed.get(word), floors.get(word)) for word, count in docs.items()
        ),
        "search_lengths": [(article_id, length) for article_id, _, length in terms],
        "search_top": sorted(top),
    }


@pytest.mark.parametrize(("top_size", "seed"), [(1, 1), (3, 2), (3, 3), (8, 4), (1000, 5)])
def test_build_writes_the_lists_as_defined(tmp_path, monkeypatch, top_size, seed):
    monkeypatch.setattr(search_tops, "TOP_MIN_DOCS", 12)
    monkeypatch.setattr(search_tops, "TOP_SIZE", top_size)
    fill(tmp_path / "archive.db", count=400, seed=seed)
    conn = sqlite3.connect(tmp_path / "archive.db")
    try:
        search_tops.build(conn)
        built = tables(conn)
        expected = defined(conn)
        # What the test is about: lists made, some fuller than TOP_SIZE (floors), ties in them.
        assert len({row[0] for row in built["search_top"]}) >= 10
        if top_size < 1000:
            assert any(row[3] for row in built["search_words"])
        assert built == expected
        # Nothing of the build is left behind.
        assert not conn.execute("SELECT name FROM temp.sqlite_master").fetchall()
    finally:
        conn.close()


def test_build_without_common_words(tmp_path, monkeypatch):
    monkeypatch.setattr(search_tops, "TOP_MIN_DOCS", 1000)
    fill(tmp_path / "archive.db", count=60, seed=7)
    conn = sqlite3.connect(tmp_path / "archive.db")
    try:
        search_tops.build(conn)
        built = tables(conn)
        assert built == defined(conn)
        assert not built["search_top"]
        assert built["search_stats"][0][3] is None  # too few articles for avgdl_ref
    finally:
        conn.close()
