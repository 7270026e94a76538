"""Re-extraction rebuilds records from raw pages with the current extractor, keeping old versions."""

from __future__ import annotations

from archive_fixtures import make_article, make_raw, news_page

from newsarchive.extract import EXTRACTOR_VERSION, extract_article
from newsarchive.importing import import_page, reextract

URL = "https://warta.example.id/nasional/2024/03/05/jembatan-baru"
PAGE = news_page(
    "Jembatan baru di Kali Brantas dibuka untuk umum",
    [
        "KEDIRI - Jembatan baru yang menghubungkan dua kecamatan di tepi Kali Brantas resmi dibuka "
        "untuk umum pada Selasa pagi setelah dua tahun pembangunan.",
        "Bupati mengatakan jembatan itu memangkas waktu tempuh warga dari satu jam menjadi sepuluh "
        "menit, terutama bagi petani yang membawa hasil panen ke pasar.",
        "Warga menyambut pembukaan jembatan dengan syukuran sederhana di ujung timur jembatan.",
    ],
    canonical=URL,
)


def run(archive, **filters):
    return list(reextract(archive, archive.reextract_targets(**filters)))


def test_a_record_from_an_older_extractor_is_rebuilt_and_its_version_kept(archive):
    older = make_article(
        URL,
        title="Jembatan dibuka",
        body="(body the old extractor got wrong)",
        extractor_version="0.0.1",
    )
    archive.store(make_raw(URL, body=PAGE), older, site="warta")

    [result] = run(archive)
    assert result.error is None
    assert "title" in result.changed and "body" in result.changed
    assert result.new_version

    current = extract_article(PAGE, URL)
    row = archive.article(URL)
    assert row["title"] == current.title != "Jembatan dibuka"
    assert row["body"] == current.body
    assert row["extractor_version"] == EXTRACTOR_VERSION
    [version] = archive.versions(row["id"])
    assert version["reason"] == "reextract"
    assert version["title"] == "Jembatan dibuka"
    assert version["extractor_version"] == "0.0.1"
    # The search index follows the rebuilt text.
    hits = archive.db.execute(
        "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'brantas'"
    ).fetchall()
    assert hits == [(row["id"],)]

    # Nothing changed since: a second run changes nothing and adds no version.
    [again] = run(archive)
    assert not again.touched and not again.new_version
    assert len(archive.versions(row["id"])) == 1


def test_imported_files_reextract_to_zero_changes(archive, tmp_path):
    with_url = tmp_path / "with-url.html"
    without_url = tmp_path / "no-url.html"
    with_url.write_bytes(PAGE)
    without_url.write_bytes(
        news_page(
            "Pasar malam kembali digelar",
            ["Pedagang kembali berjualan di alun-alun setelah dua pekan libur karena hujan deras."],
        )
    )
    assert import_page(archive, PAGE, url=URL, path=with_url) == "new"
    assert import_page(archive, without_url.read_bytes(), path=without_url) == "new"
    results = run(archive)
    assert len(results) == 2
    assert [r for r in results if r.touched or r.error] == []


def test_filters_pick_the_pages_to_rebuild(archive):
    archive.store(make_raw(URL, body=PAGE), make_article(URL), site="warta")
    other = "https://kabar.example.id/a/1"
    archive.store(make_raw(other, body=PAGE), make_article(other), site="kabar")
    assert [r.url for r in run(archive, site="kabar")] == [other]
    # Both raw pages were fetched on 2024-03-05 (make_raw's fetched_at).
    assert run(archive, since="2024-03-06T00:00:00Z") == []
    assert len(run(archive, since="2024-03-05T00:00:00Z")) == 2


def test_a_multi_page_article_is_stitched_again_from_all_its_pages(archive):
    from newsarchive.pipelines import extract_pages

    second_url = URL + "?page=2"
    second = news_page(
        "Jembatan baru di Kali Brantas dibuka untuk umum (2)",
        [
            "Pemerintah kabupaten juga menyiapkan penerangan jalan dan trotoar di kedua ujung "
            "jembatan agar pejalan kaki aman pada malam hari."
        ],
        canonical=URL,
    )
    pages = [make_raw(URL, body=PAGE), make_raw(second_url, body=second)]
    article = extract_pages(pages, None)
    assert "penerangan jalan" in article.body
    assert archive.store(pages[0], article, site="warta", continuations=pages[1:]) == "new"
    assert archive.count("pages") == 2

    [result] = run(archive)
    assert result.error is None and not result.touched
    assert "penerangan jalan" in archive.article(URL)["body"]
