"""Searches of common words rank from the top lists (schema v7), kept in step with the index.

Each test writes a real archive of a few dozen articles with words common enough to get lists
(search_tops.TOP_MIN_DOCS lowered) and checks the lists' path against FTS5's own bm25 over every
match, and the lists' counts against FTS5's.
"""

from __future__ import annotations

import random
import sqlite3

import pytest
from archive_fixtures import make_article, make_raw

from newsarchive.storage import Archive, queries, search_tops
from newsarchive.storage.queries import plain_query, search, search_plan
from newsarchive.storage.schema import ARCHIVE_MIGRATIONS

WORDS = [
    "yang",
    "dan",
    "di",
    "banjir",
    "warga",
    "harga",
    "pasar",
    "kota",
    "jalan",
    "rumah",
    "sekolah",
    "gempa",
    "listrik",
    "kereta",
    "pantai",
    "nelayan",
    "petani",
    "sungai",
    "kafé",
    "jum'at",
    "anak-anak",
    "Übersee",
]
SITES = ("warta", "kabar", "suara")
QUERIES = (
    "yang",
    "banjir",
    "yang dan",
    "banjir warga",
    "harga pasar kota",
    "gempa zzlangka",  # a rare word: its counts from FTS5's instance list
    '"banjir warga" yang',  # a phrase: ranked by FTS5's bm25 over it
)


def text(rng: random.Random, count: int) -> str:
    # Zipf-like: the first words are in nearly every article, the last in a few.
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    return " ".join(rng.choices(WORDS, weights=weights, k=count))


def fill(archive: Archive, count: int = 60, seed: int = 3) -> None:
    rng = random.Random(seed)
    with archive.batch(size=7):
        for n in range(count):
            url = f"https://{SITES[n % 3]}.example.id/{n}"
            body = text(rng, rng.randint(5, 40))
            if n % 11 == 0:
                body += " zzlangka"  # a rare word: the "mixed" plan
            article = make_article(url, title=text(rng, rng.randint(1, 5)).capitalize(), body=body)
            archive.store(make_raw(url), article, site=SITES[n % 3])


def exact_scores(archive: Archive, query: str) -> dict[int, float]:
    """FTS5's bm25 of every match (higher is better)."""
    return {
        rowid: -score
        for rowid, score in archive.db.execute(
            "SELECT rowid, bm25(articles_fts, 10.0, 4.0, 1.0) FROM articles_fts "
            "WHERE articles_fts MATCH ?",
            [plain_query(query)],
        )
    }


def check_counts(archive: Archive, *, sampled: bool = False) -> None:
    """The lists' counts are FTS5's (every word's, unless words without a list are `sampled`),
    and each list holds every article above its floor."""
    db = archive.db
    lengths = {
        article_id: sum(search_tops._varints(size))
        for article_id, size in db.execute("SELECT id, sz FROM articles_fts_docsize")
    }
    assert dict(db.execute("SELECT id, length FROM search_lengths").fetchall()) == lengths
    sizes = list(lengths.values())
    assert db.execute("SELECT docs, tokens FROM search_stats").fetchone() == (
        len(sizes),
        sum(sizes),
    )
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, articles_fts, row)"
    )
    fts_docs = dict(db.execute("SELECT term, doc FROM temp.vocab").fetchall())
    ours = {w: n for w, n in db.execute("SELECT word, docs FROM search_words") if n > 0}
    if sampled:
        listed = {w for (w,) in db.execute("SELECT word FROM search_words WHERE list >= 0")}
        assert listed
        ours = {w: n for w, n in ours.items() if w in listed}
        fts_docs = {w: n for w, n in fts_docs.items() if w in listed}
    assert ours == fts_docs
    avgdl = db.execute("SELECT avgdl_ref FROM search_stats").fetchone()[0]
    texts = db.execute("SELECT id, title, description, body FROM articles").fetchall()
    for word, list_id, floor in db.execute(
        "SELECT word, list, coalesce(floor, 0) FROM search_words WHERE list IS NOT NULL"
    ).fetchall():
        merged = db.execute("SELECT id, freq, length FROM search_top WHERE list = ?", [list_id])
        fresh = db.execute("SELECT id, freq, length FROM search_top WHERE list = ~?", [list_id])
        merged, fresh = merged.fetchall(), fresh.fetchall()
        # Lists are trimmed when the fresh entries are merged into them.
        assert len(merged) <= search_tops.TOP_SIZE
        listed = {row[0]: row[1:] for row in merged + fresh}
        assert len(listed) == len(merged) + len(fresh)
        for article_id, *columns in texts:
            freq, length = search_tops.article_terms(*columns)
            if word not in freq:
                assert article_id not in listed, (word, article_id)
            elif article_id in listed:
                assert listed[article_id] == (freq[word], length)
            else:
                assert search_tops.impact(freq[word], length, avgdl) <= floor + 1e-9


@pytest.fixture(params=[(0, 1000), (10**9, 1000), (0, 1)], ids=["merged", "fresh", "one-merged"])
def common(monkeypatch, request):
    # Lists merged at every commit, their new entries all left fresh (FRESH_PER_LIST), or at
    # every commit the fresh entries of the one list holding the most merged (MERGE_LISTS).
    fresh_per_list, merge_lists = request.param
    monkeypatch.setattr(search_tops, "FRESH_PER_LIST", fresh_per_list)
    monkeypatch.setattr(search_tops, "MERGE_LISTS", merge_lists)
    monkeypatch.setattr(search_tops, "TOP_MIN_DOCS", 7)
    monkeypatch.setattr(search_tops, "COUNT_EVERY", 1)  # every word counted exactly
    monkeypatch.setattr(queries, "MIXED_MAX_DOCS", 0)  # listed words: ranked from their lists


@pytest.mark.parametrize("mixed_max_docs", [0, 10_000])
def test_complete_lists_rank_exactly_as_fts5(tmp_path, common, monkeypatch, mixed_max_docs):
    """Lists holding every article with their word: both plans give FTS5's bm25 order (with
    MIXED_MAX_DOCS, a search of listed words takes its rarest as the rare part)."""
    monkeypatch.setattr(search_tops, "TOP_SIZE", 10_000)
    monkeypatch.setattr(queries, "MIXED_MAX_DOCS", mixed_max_docs)
    monkeypatch.setattr(queries, "MIXED_MIN_HOLDERS", 10**9)  # whatever the words
    with Archive(tmp_path / "archive.db") as archive:
        fill(archive)
        check_counts(archive)
        for query in QUERIES:
            plan = search_plan(archive.db, query)
            several = len(query.split()) > 1 and mixed_max_docs
            mixed = "zzlangka" in query or '"' in query or several
            assert plan[0] == ("mixed" if mixed else "tops"), query
            assert plan[2] or mixed, query  # complete
            scores = exact_scores(archive, query)
            hits = search(archive, query, limit=10)
            best = sorted(scores.values(), reverse=True)[:10]
            assert [round(scores[hit.id], 9) for hit in hits] == [round(s, 9) for s in best]
            assert all("[" in hit.snippet for hit in hits)


def test_short_lists_give_matching_hits_and_honour_filters(tmp_path, common, monkeypatch):
    """Lists of 4: every hit holds every word, pages fill up (from FTS5 when the lists cannot),
    filters hold, and a single word ranks exactly (its own list is its best articles)."""
    monkeypatch.setattr(search_tops, "TOP_SIZE", 4)
    with Archive(tmp_path / "archive.db") as archive:
        fill(archive)
        check_counts(archive)
        for query in QUERIES:
            scores = exact_scores(archive, query)
            hits = search(archive, query, limit=6)
            assert len({hit.id for hit in hits}) == len(hits) == min(6, len(scores))
            assert all(hit.id in scores for hit in hits)
            for site in SITES:
                narrowed = search(archive, query, site=site, limit=6)
                in_site = {
                    row[0]
                    for row in archive.db.execute("SELECT id FROM articles WHERE site = ?", [site])
                } & set(scores)
                assert len(narrowed) == min(6, len(in_site))
                assert all(hit.id in in_site and hit.site == site for hit in narrowed)
        scores = exact_scores(archive, "banjir")
        top = sorted(scores.values(), reverse=True)[:4]
        assert [round(scores[hit.id], 9) for hit in search(archive, "banjir", limit=4)] == [
            round(s, 9) for s in top
        ]


def test_changed_deleted_and_new_articles(tmp_path, common, monkeypatch):
    """A changed article's old words and a deleted article never come back from a list; a new
    article that beats a list's floor is found first."""
    monkeypatch.setattr(search_tops, "TOP_SIZE", 4)
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        fill(archive)
        best = [hit.id for hit in search(archive, "banjir", limit=4)]
        listed = {
            row[0]
            for row in archive.db.execute(
                "SELECT t.id FROM search_top t JOIN search_words w ON t.list IN (w.list, ~w.list) "
                "WHERE w.word = 'banjir'"
            )
        }
        assert set(best) <= listed  # the top 4, and fresh entries not yet merged
        changed_url, deleted = (
            archive.db.execute("SELECT url FROM articles WHERE id = ?", [best[0]]).fetchone()[0],
            best[1],
        )
        article = make_article(changed_url, title="Pasar kota", body="Harga naik di pasar.")
        assert archive.store(make_raw(changed_url), article, site="warta") == "updated"
        new = "https://warta.example.id/new"
        article = make_article(new, title="Banjir banjir banjir", body="Banjir lagi.")
        archive.store(make_raw(new), article, site="warta")
        new_id = archive.db.execute("SELECT id FROM articles WHERE url = ?", [new]).fetchone()[0]
    connection = sqlite3.connect(path)  # a plain-SQL delete, indexed when Archive opens
    connection.execute("DELETE FROM article_urls WHERE article_id = ?", [deleted])
    connection.execute("DELETE FROM article_authors WHERE article_id = ?", [deleted])
    connection.execute("DELETE FROM article_tags WHERE article_id = ?", [deleted])
    connection.execute("DELETE FROM articles WHERE id = ?", [deleted])
    connection.commit()
    connection.close()
    with Archive(path) as archive:
        check_counts(archive)
        for limit in (1, 4, 30):
            ids = [hit.id for hit in search(archive, "banjir", limit=limit)]
            assert ids[0] == new_id
            assert best[0] not in ids and deleted not in ids
            assert set(ids) <= set(exact_scores(archive, "banjir"))
        assert best[0] in {hit.id for hit in search(archive, "pasar kota", limit=60)}


def test_migration_builds_the_lists_of_an_older_archive(tmp_path, common, monkeypatch):
    """A v6 archive gets its lists on upgrade, as if they had been kept all along."""
    monkeypatch.setattr(search_tops, "TOP_SIZE", 5)
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        fill(archive)
        before = archive.db.execute("SELECT word, docs FROM search_words ORDER BY word").fetchall()
    connection = sqlite3.connect(path)
    connection.executescript(
        "DROP TABLE search_top; DROP TABLE search_words; DROP TABLE search_stats; "
        "PRAGMA user_version = 6;"
    )
    connection.close()
    with Archive(path, readonly=True) as archive:  # read as it is: FTS5's ranking
        assert search_plan(archive.db, "yang dan")[0] == "exact"
        assert len(search(archive, "yang dan", limit=5)) == 5
    with Archive(path) as archive:
        assert archive.db.execute("PRAGMA user_version").fetchone()[0] == len(ARCHIVE_MIGRATIONS)
        assert (
            archive.db.execute("SELECT word, docs FROM search_words ORDER BY word").fetchall()
            == before
        )
        check_counts(archive)
        assert search_plan(archive.db, "yang dan")[0] == "tops"
        scores = exact_scores(archive, "yang dan")
        assert all(hit.id in scores for hit in search(archive, "yang dan", limit=8))


def test_sampled_counts_still_list_every_common_word(tmp_path, common, monkeypatch):
    """Words without a list counted from one article in 3: the common ones still get lists,
    with exact counts and complete tops, and changes keep them so."""
    monkeypatch.setattr(search_tops, "COUNT_EVERY", 3)
    monkeypatch.setattr(search_tops, "TOP_SIZE", 5)
    with Archive(tmp_path / "archive.db") as archive:
        fill(archive, count=90)
        check_counts(archive, sampled=True)
        db = archive.db
        db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, articles_fts, row)"
        )
        common_words = {w for (w,) in db.execute("SELECT term FROM temp.vocab WHERE doc >= 2 * 7")}
        listed = {w for (w,) in db.execute("SELECT word FROM search_words WHERE list >= 0")}
        assert common_words <= listed
        url = db.execute("SELECT url FROM articles WHERE id = 3").fetchone()[0]
        article = make_article(url, title="Sekolah baru", body="Sekolah dibuka di kota.")
        assert archive.store(make_raw(url), article, site="warta") == "updated"
        check_counts(archive, sampled=True)


def test_v7_archive_upgrades_to_lean_indexes_with_its_lists_intact(tmp_path, common, monkeypatch):
    """v8: search_words.list indexed for the listed words only (v7 indexed every word), the
    authors-text index dropped, the browsing indexes added; lists, counts and results unchanged."""
    monkeypatch.setattr(search_tops, "TOP_SIZE", 5)
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        fill(archive)
    connection = sqlite3.connect(path)
    tables = ("search_words", "search_top")
    before = {t: connection.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}
    connection.executescript(
        """
        DROP INDEX articles_category_published_utc; DROP INDEX articles_site_category;
        DROP INDEX articles_site_published_date; DROP INDEX search_words_list;
        CREATE INDEX articles_category ON articles(category);
        CREATE INDEX articles_authors ON articles(authors);
        CREATE TABLE v7 (word TEXT PRIMARY KEY, docs INTEGER NOT NULL, list INTEGER UNIQUE,
            floor REAL) WITHOUT ROWID;
        INSERT INTO v7 SELECT * FROM search_words; DROP TABLE search_words;
        ALTER TABLE v7 RENAME TO search_words;
        PRAGMA user_version = 7;
        """
    )
    connection.close()
    with Archive(path, readonly=True) as archive:
        old = [hit.id for hit in search(archive, "yang dan", limit=8)]
    with Archive(path) as archive:
        db = archive.db
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(ARCHIVE_MIGRATIONS)
        indexes = {
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        assert {"articles_site_category", "articles_site_published_date"} <= indexes
        assert {
            "articles_authors",
            "articles_category",
            "sqlite_autoindex_search_words_2",
        }.isdisjoint(indexes)
        assert {
            t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables
        } == before
        listed = db.execute("SELECT count(*) FROM search_words WHERE list IS NOT NULL").fetchone()[
            0
        ]
        entries = db.execute(
            "SELECT count(*) FROM search_words INDEXED BY search_words_list WHERE list IS NOT NULL"
        ).fetchone()[0]
        assert entries == listed > 0
        assert [hit.id for hit in search(archive, "yang dan", limit=8)] == old
        check_counts(archive)
        with pytest.raises(sqlite3.IntegrityError):  # still one word a list
            db.execute("UPDATE search_words SET list = 0 WHERE list = 1")
