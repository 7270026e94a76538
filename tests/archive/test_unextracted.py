"""Pages the extractor failed on are kept as "unextracted", and `reextract` tries them again.

Before, such a page was filed as an "other page" and `reextract` (articles only) never looked at
it again: an article lost to an extractor bug stayed lost after the bug was fixed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from archive_fixtures import make_article, make_raw, news_page
from click.testing import CliRunner

from newsarchive.cli import cli
from newsarchive.extract import extract_article
from newsarchive.importing import reextract
from newsarchive.storage import Archive

URL = "https://warta.example.id/daerah/2024/03/06/banjir-surut"
PAGE = news_page(
    "Banjir di tepi Bengawan Solo mulai surut",
    [
        "BOJONEGORO - Banjir yang merendam tiga desa di tepi Bengawan Solo mulai surut pada Rabu "
        "pagi setelah hujan reda sejak dua hari terakhir.",
        "Warga mulai membersihkan rumah dari lumpur, sementara petugas memeriksa tanggul yang "
        "sempat retak di sisi utara desa.",
        "Posko pengungsian tetap dibuka sampai air benar-benar kembali ke alur sungai.",
    ],
    canonical=URL,
)
CONTACT_URL = "https://warta.example.id/kontak"
CONTACT = b"""<!doctype html><html lang="id"><head><title>Kontak - Warta Contoh</title></head>
<body><h1>Hubungi kami</h1><p>Surel: redaksi@warta.example.id</p></body></html>"""
BUG = "RuntimeError: an extractor bug"


def page_rows(archive: Archive) -> list[tuple[str, str, list[str]]]:
    return [
        (url, kind, json.loads(reasons))
        for url, kind, reasons in archive.pages.execute(
            "SELECT url, kind, kind_reasons FROM pages ORDER BY id"
        )
    ]


def run(archive: Archive, **filters):
    return list(reextract(archive, archive.reextract_targets(**filters)))


def test_a_page_the_extractor_failed_on_is_kept_unextracted(archive):
    outcome = archive.store(make_raw(URL, body=PAGE), None, site="warta", extraction_error=BUG)
    assert outcome == "page"
    assert page_rows(archive) == [(URL, "unextracted", [f"extraction failed: {BUG}"])]
    assert archive.pages_by_kind() == {"unextracted": 1}
    # Without the error it is what it was before: a page no record was made from.
    archive.store(make_raw(CONTACT_URL, body=CONTACT), None, site="warta")
    assert page_rows(archive)[1][1] == "other"


@pytest.mark.parametrize("jobs", [1, 2])
def test_reextract_makes_the_record_the_crawl_could_not(archive, jobs):
    archive.store(make_raw(URL, body=PAGE), None, site="warta", extraction_error=BUG)
    targets = archive.reextract_targets()
    assert (len(targets), targets.unextracted) == (1, 1)

    [result] = list(reextract(archive, targets, jobs=jobs))
    assert result.error is None
    assert result.recovered == "new"
    row = archive.article(URL)
    assert result.article_id == row["id"]
    expected = extract_article(PAGE, URL)
    assert (row["title"], row["body"]) == (expected.title, expected.body)
    assert row["site"] == "warta"
    assert row["fetch_count"] == 1
    [(_, kind, _reasons)] = page_rows(archive)
    assert kind == "article"
    hits = archive.db.execute(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'bengawan'"
    ).fetchall()
    assert hits == [(row["id"],)]
    # Done: the next run has only the article to rebuild, and changes nothing.
    targets = archive.reextract_targets()
    assert (len(targets), targets.unextracted) == (1, 0)
    [again] = run(archive)
    assert again.page_id is None and not again.touched


def test_a_page_that_is_no_article_gets_its_kind(archive):
    archive.store(make_raw(CONTACT_URL, body=CONTACT), None, site="warta", extraction_error=BUG)
    [result] = run(archive)
    assert result.error is None
    assert result.recovered == "page"
    assert result.not_article.startswith("now judged a")
    assert archive.count() == 0
    [(_, kind, reasons)] = page_rows(archive)
    assert kind in ("other", "listing")
    assert f"extraction failed: {BUG}" not in reasons


def test_a_record_from_a_later_fetch_is_left_as_it_is(archive):
    archive.store(make_raw(URL, body=PAGE), None, site="warta", extraction_error=BUG)
    later = make_article(URL, title="Banjir surut, warga kembali", body="Tubuh berita yang baru.")
    archive.store(make_raw(URL, body=PAGE + b"<!-- later -->"), later, site="warta")

    results = run(archive)
    [retried] = [r for r in results if r.page_id is not None]
    assert retried.recovered == "older"
    row = archive.article(URL)
    assert retried.article_id == row["id"]
    assert archive.count() == 1
    # The record stays the later page's: rebuilt from it (one version, the rebuild's), not
    # replaced by the older page's.
    assert row["page_id"] == 2
    assert [v["reason"] for v in archive.versions(row["id"])] == ["reextract"]
    assert page_rows(archive)[0][1] == "article"


def test_a_page_that_fails_again_stays_unextracted(archive, monkeypatch):
    import newsarchive.extract

    archive.store(make_raw(URL, body=PAGE), None, site="warta", extraction_error=BUG)

    def broken(pages, profile=None):
        raise RuntimeError("still broken")

    monkeypatch.setattr(newsarchive.extract, "extract_pages", broken)
    [result] = run(archive)
    assert result.page_id == 1
    assert "still broken" in result.error
    assert page_rows(archive)[0][1] == "unextracted"
    assert archive.reextract_targets().unextracted == 1


def test_filters_pick_the_unextracted_pages_too(archive):
    archive.store(make_raw(URL, body=PAGE), None, site="warta", extraction_error=BUG)
    assert archive.reextract_targets(site="other").unextracted == 0
    assert archive.reextract_targets(site="warta").unextracted == 1
    assert archive.reextract_targets(since="2999-01-01").unextracted == 0


def test_the_command_says_what_became_of_them(tmp_path: Path):
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        archive.store(make_raw(URL, body=PAGE), None, site="warta", extraction_error=BUG)
        archive.store(make_raw(CONTACT_URL, body=CONTACT), None, site="warta", extraction_error=BUG)
    stats = CliRunner().invoke(cli, ["stats", "--db", str(db)])
    assert "unextracted" in stats.output

    result = CliRunner().invoke(cli, ["reextract", "--db", str(db)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "re-extracted 0 of 0 articles: 0 changes (0 new versions); 0 failed" in lines
    assert (
        "tried again 2 of 2 page(s) extraction had failed on: 1 made a record, "
        "1 now judged no article"
    ) in lines
    with Archive(db, create=False) as archive:
        assert archive.article(URL)["title"] == "Banjir di tepi Bengawan Solo mulai surut"
