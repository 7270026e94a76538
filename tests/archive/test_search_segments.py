"""The full-text index merged into one segment (each search looks each word up once a segment):
searches answer the same before and after, in one transaction or many small steps, only past a
threshold at the end of a long write, always on `compact`."""

from __future__ import annotations

import json
import sqlite3

import pytest
from archive_fixtures import make_article, make_raw
from click.testing import CliRunner

from newsarchive.cli import cli
from newsarchive.storage import Archive
from newsarchive.storage import archive as archive_module
from newsarchive.storage.queries import search

WORDS = ("banjir", "pesisir", "warga", "pasang", "jalan", "pasar", "harga", "beras", "hujan")
QUERIES = ("banjir", "warga pasar", "harga beras", "hujan jalan pesisir")


def _fill(path, commits: int, *, rare: int = 0) -> None:
    """`commits` commits of three articles each: FTS5 writes a segment a commit. `rare`: words
    of each article's own besides (a segment of several index pages)."""
    with Archive(path) as archive:
        for commit in range(commits):
            with archive.batch():
                for n in range(3):
                    k = 3 * commit + n
                    words = " ".join(WORDS[(k * j) % len(WORDS)] for j in range(1, 2 + k % 7))
                    own = " ".join(f"kata{k}x{j}" for j in range(rare))
                    url = f"https://warta.example.id/berita/{k}"
                    article = make_article(
                        url, title=f"Berita {k} {words}", body=f"{words}. " * 3 + own
                    )
                    archive.store(make_raw(url), article, site="warta")


def _answers(archive: Archive) -> list[list[int]]:
    return [[hit.id for hit in search(archive, query, limit=50)] for query in QUERIES]


def _sound(archive: Archive) -> None:
    archive.db.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")


@pytest.mark.parametrize("step_pages", [1, 20_000])
def test_merging_leaves_one_segment_and_the_same_answers(tmp_path, step_pages) -> None:
    path = tmp_path / "archive.db"
    _fill(path, 9, rare=2000)
    with Archive(path) as archive:
        before = archive.search_segments()
        assert before >= 2
        answers = _answers(archive)
        assert all(answers)
        assert archive.merge_search_index(always=True, step_pages=step_pages) == (before, 1)
        assert archive.search_segments() == 1
        assert _answers(archive) == answers
        _sound(archive)
        assert archive.merge_search_index(always=True) == (1, 1)  # nothing left to do


def test_a_merge_stopped_between_steps_leaves_a_sound_index_the_next_one_finishes(tmp_path):
    path = tmp_path / "archive.db"
    _fill(path, 9, rare=2000)
    with Archive(path) as archive:
        answers = _answers(archive)
        conn = archive.db.conn
        # The first step of an incremental merge, as merge_search_index takes it, then a stop.
        with conn:
            conn.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('merge', -1)")
        assert archive.search_segments() > 1  # stopped halfway
        assert _answers(archive) == answers
        _sound(archive)
    with Archive(path) as archive:
        assert archive.merge_search_index(always=True)[1] == 1
        assert _answers(archive) == answers
        _sound(archive)


def test_below_the_threshold_nothing_is_merged(tmp_path) -> None:
    path = tmp_path / "archive.db"
    _fill(path, 4)
    with Archive(path) as archive:
        segments = archive.search_segments()
        assert 1 < segments < archive_module.SEARCH_SEGMENTS_MAX
        assert archive.merge_search_index() == (segments, segments)
        assert archive.search_segments() == segments


def test_small_segments_beside_a_big_one_wait_until_they_are_a_share_worth_a_merge(tmp_path):
    """A day's crawl on a big archive: many commits, each a small segment. Merging would rewrite
    the whole index for a few articles; it waits until they hold SEARCH_MERGE_SHARE of it."""
    path = tmp_path / "archive.db"
    _fill(path, 12, rare=3000)
    with Archive(path) as archive:
        assert archive.merge_search_index(always=True)[1] == 1
        for k in range(12):  # a commit each: a segment each
            with archive.batch():
                url = f"https://warta.example.id/hari-ini/{k}"
                archive.store(make_raw(url), make_article(url, body="banjir warga"), site="warta")
        segments = archive.search_segments()
        assert segments >= archive_module.SEARCH_SEGMENTS_MAX
        assert archive.merge_search_index() == (segments, segments)
        answers = _answers(archive)
        assert archive.merge_search_index(always=True) == (segments, 1)
        assert _answers(archive) == answers


def test_compact_merges_the_index_and_says_so(tmp_path) -> None:
    path = tmp_path / "archive.db"
    _fill(path, 9)
    with Archive(path) as archive:
        before = archive.search_segments()
    result = CliRunner().invoke(cli, ["compact", "--db", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"search index in 1 segment(s), was {before}" in result.output
    shown = CliRunner().invoke(cli, ["stats", "--json", "--db", str(path)], catch_exceptions=False)
    assert json.loads(shown.output)["search_segments"] == 1
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(DISTINCT segid) FROM articles_fts_idx").fetchone() == (1,)
    conn.close()


def test_an_import_past_the_threshold_ends_merged(tmp_path, monkeypatch) -> None:
    path = tmp_path / "archive.db"
    _fill(path, 9)
    pages = []
    for n in range(3):
        page = tmp_path / f"page{n}.html"
        page.write_text(
            f"<html><head><title>Harga beras {n}</title></head><body><article><h1>Harga beras "
            f"{n}</h1><p>{'Harga beras naik lagi di pasar kota pekan ini. ' * 5}</p></article>"
            "</body></html>",
            encoding="utf-8",
        )
        pages.append(str(page))
    monkeypatch.setattr(archive_module, "SEARCH_SEGMENTS_MAX", 2)
    result = CliRunner().invoke(
        cli,
        ["import", *pages, "--site", "warta", "--db", str(path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    with Archive(path, readonly=True) as archive:
        assert archive.search_segments() == 1
        assert len(search(archive, "harga beras", limit=50)) >= 3
