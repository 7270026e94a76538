"""The top lists' upkeep keeps what it knows of the lists in memory between commits (each list's
size and lowest entries, the listed words and their floors: search_tops.upkeep). These tests check
that it writes exactly what the same upkeep without that memory writes — every list entry, floor,
count and length — through inserts, updates and deletes in commits of many sizes, with a second
writer committing in between, and after a transaction whose upkeep was rolled back.

Lists are kept small (TOP_SIZE, BOTTOM and TOP_MIN_DOCS lowered) so that a few hundred articles
fill them, trim them in every commit and empty their in-memory bottoms again and again.
"""

from __future__ import annotations

import random

import pytest
from archive_fixtures import make_article, make_raw
from test_search_scale import check_counts

from newsarchive.storage import Archive, search_tops
from newsarchive.storage.schema import index_queued

# ASCII words (their lists are read from FTS5's instance list), words that fold to ASCII
# ("kafé", "Übersee") and words that stay non-ASCII ("straße", "жители": read through bm25).
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
    "kafé",
    "Übersee",
    "straße",
    "жители",
    "petani",
    "sungai",
]
BATCH_SIZES = (1, 5, 13, 2, 29, 3)
TABLES = ("search_stats", "search_words", "search_lengths", "search_top")


def text(rng: random.Random, count: int) -> str:
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    return " ".join(rng.choices(WORDS, weights=weights, k=count))


def article(rng: random.Random, n: int, version: int = 0):
    url = f"https://warta.example.id/{n}"
    body = text(rng, rng.randint(3, 40)) + (" ubah" * version)
    return make_raw(url), make_article(url, title=text(rng, rng.randint(1, 4)), body=body)


def write(archive: Archive, rng: random.Random, start: int, count: int, size: int) -> None:
    """`count` articles from number `start` in commits of `size`; every fourth commit also
    changes an earlier article's text and deletes another (plain SQL, as another tool would)."""
    with archive.batch(size=size, max_seconds=0):
        for n in range(start, start + count):
            archive.store(*article(rng, n), site="warta")
            if n % 4 == 0 and n > 10:
                raw, changed = article(rng, rng.randrange(n), version=n)
                archive.store(raw, changed, site="warta")
            if n % 9 == 0 and n > 20:
                conn = archive.db.conn
                (victim,) = conn.execute(
                    "SELECT id FROM articles ORDER BY (id * 7919) % 101, id LIMIT 1"
                ).fetchone()
                for table in ("article_urls", "article_authors", "article_tags"):
                    conn.execute(f"DELETE FROM {table} WHERE article_id = ?", [victim])
                conn.execute("DELETE FROM articles WHERE id = ?", [victim])


def tables(archive: Archive) -> dict[str, list[tuple]]:
    return {
        table: archive.db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
        for table in TABLES
    }


@pytest.fixture(
    params=[(0, 1000), (1, 1000), (3, 1000), (0, 2), (1, 3)],
    ids=[
        "merge-every-commit",
        "fresh-1",
        "fresh-3",
        "two-lists-every-commit",
        "fresh-1-three-lists",
    ],
)
def small_lists(monkeypatch, request):
    # Fresh entries merged at every commit, or when about one or three a list wait; all of them,
    # or those of the two or three lists holding the most (MERGE_LISTS).
    fresh_per_list, merge_lists = request.param
    monkeypatch.setattr(search_tops, "FRESH_PER_LIST", fresh_per_list)
    monkeypatch.setattr(search_tops, "MERGE_LISTS", merge_lists)
    monkeypatch.setattr(search_tops, "TOP_MIN_DOCS", 7)
    monkeypatch.setattr(search_tops, "TOP_SIZE", 6)
    monkeypatch.setattr(search_tops, "BOTTOM", 2)


def forgetful(monkeypatch) -> None:
    """The upkeep as it was before it kept anything: every transaction reads the lists anew."""
    monkeypatch.setattr(search_tops, "upkeep", lambda conn: search_tops.Upkeep(conn, 0))


def build(path, *, count: int = 240, seed: int = 5) -> list[dict[str, list[tuple]]]:
    """The tables after each group of commits (a wrong trim can be evened out by later ones)."""
    rng = random.Random(seed)
    seen = []
    with Archive(path) as archive:
        done = 0
        for size in BATCH_SIZES * 20:
            if done >= count:
                break
            write(archive, rng, done, min(4 * size, count - done), size)
            done += 4 * size
            seen.append(tables(archive))
    return seen


@pytest.mark.parametrize("count_every", [1, 3])
def test_kept_upkeep_writes_what_reading_the_lists_writes(
    tmp_path, small_lists, monkeypatch, count_every
):
    monkeypatch.setattr(search_tops, "COUNT_EVERY", count_every)
    kept = build(tmp_path / "kept.db")
    assert len(kept[-1]["search_top"]) > 20
    assert {row[2] for row in kept[-1]["search_words"]} - {None}  # lists were made
    with monkeypatch.context() as patched:
        forgetful(patched)
        read = build(tmp_path / "read.db")
    assert kept == read
    with Archive(tmp_path / "kept.db") as archive:
        check_counts(archive, sampled=count_every > 1)


def test_another_writer_between_commits(tmp_path, small_lists, monkeypatch):
    """Two writers taking turns: each finds the lists changed by the other (data_version) and
    writes what one writer making the same commits writes."""
    monkeypatch.setattr(search_tops, "COUNT_EVERY", 1)
    rng = random.Random(11)
    with Archive(tmp_path / "shared.db") as first, Archive(tmp_path / "shared.db") as second:
        done = 0
        shared = []
        for turn, size in enumerate(BATCH_SIZES * 6):
            write((first, second)[turn % 2], rng, done, 3 * size, size)
            done += 3 * size
            shared.append(tables(first))
    rng = random.Random(11)
    with Archive(tmp_path / "alone.db") as alone:
        done = 0
        for turn, size in enumerate(BATCH_SIZES * 6):
            write(alone, rng, done, 3 * size, size)
            done += 3 * size
            assert tables(alone) == shared[turn], turn
        check_counts(alone)


def test_rolled_back_upkeep_is_forgotten(tmp_path, small_lists, monkeypatch):
    """A transaction whose upkeep ran and was then rolled back (a failed commit) leaves nothing
    behind in the lists, on disk or in what the writer keeps."""
    monkeypatch.setattr(search_tops, "COUNT_EVERY", 1)

    def run(path, *, roll_back: bool) -> dict[str, list[tuple]]:
        rng = random.Random(3)
        with Archive(path) as archive:
            write(archive, rng, 0, 120, 7)
            if roll_back:
                conn = archive.db.conn
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE articles SET body = body || ' banjir banjir' WHERE id % 3 = 0")
                for n in range(500, 530):
                    archive.store(*article(random.Random(n), n), site="warta")
                index_queued(archive.db)  # trims lists, raises floors, learns sizes...
                assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] > 120
                conn.rollback()  # ...all undone
                archive.pages.conn.rollback()
            seen = []
            for start in range(120, 240, 20):
                write(archive, rng, start, 20, 5)
                seen.append(tables(archive))
            return seen

    assert run(tmp_path / "rolled.db", roll_back=True) == run(
        tmp_path / "plain.db", roll_back=False
    )


def fresh_waiting(archive: Archive) -> dict[int, int]:
    """Fresh entries waiting, per list."""
    return dict(
        archive.db.execute(
            "SELECT ~list, count(*) FROM search_top WHERE list < 0 GROUP BY list"
        ).fetchall()
    )


def test_merge_in_portions_takes_the_lists_with_the_most_waiting(tmp_path, monkeypatch):
    """A merge in portions takes the fresh entries of the MERGE_LISTS lists holding the most
    (ties: the lower list) and leaves the others' waiting; over many commits the entries waiting
    stay about FRESH_PER_LIST a list, as when every list is merged at once."""
    monkeypatch.setattr(search_tops, "FRESH_PER_LIST", 4)
    monkeypatch.setattr(search_tops, "MERGE_LISTS", 3)
    monkeypatch.setattr(search_tops, "TOP_MIN_DOCS", 7)
    monkeypatch.setattr(search_tops, "TOP_SIZE", 6)
    monkeypatch.setattr(search_tops, "COUNT_EVERY", 1)
    rng = random.Random(8)
    with Archive(tmp_path / "archive.db") as archive:
        for start in range(0, 300, 10):
            write(archive, rng, start, 10, 10)
            lists = archive.db.execute(
                "SELECT count(*) FROM search_words WHERE list IS NOT NULL"
            ).fetchone()[0]
            assert sum(fresh_waiting(archive).values()) <= 2 * 4 * lists
        waiting = fresh_waiting(archive)
        assert len(waiting) > 3  # more lists wait than a merge takes
        conn = archive.db.conn
        conn.execute("BEGIN IMMEDIATE")
        state = search_tops.upkeep(conn)
        search_tops.merge(conn, state, most=3)
        left = fresh_waiting(archive)
        taken = sorted(waiting, key=lambda list_id: (-waiting[list_id], list_id))[:3]
        assert set(waiting) - set(left) == set(taken)
        assert left == {list_id: n for list_id, n in waiting.items() if list_id not in taken}
        assert state.fresh == sum(left.values())
        conn.commit()
        search_tops.committed(conn)
        check_counts(archive)
