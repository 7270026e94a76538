"""Re-extraction rebuilds records from raw pages with the current extractor, keeping old versions."""

from __future__ import annotations

from archive_fixtures import (
    make_article,
    make_raw,
    news_page,
    roll_pages_file_back_to_v3,
    sigterm_once_logged,
)

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


# --- in worker processes -------------------------------------------------------------------

DEMO = "http://127.0.0.1:8123/"
BINARY = b"%PDF-1.4\x00\x01\x02\x03 not a page at all \x00" * 20


def demo_archive(path, articles=40):
    """An archive of `articles` demo-portal article pages (real HTML: extraction runs), packed
    into blocks as a crawl leaves them, whose records an "older extractor" made, plus one page
    the extractor refuses (binary bytes stored under an article's URL)."""
    from newsarchive.demo.generator import generate_portal
    from newsarchive.storage import Archive

    portal = generate_portal(DEMO, articles=articles)
    with Archive(path) as archive:
        for art in portal.articles:
            status, headers, body = portal.response(art.path)
            if status == 200:
                url = portal.url(art.path)
                old = make_article(url, title=art.title, extractor_version="0.0.1")
                archive.store(make_raw(url, body=body, headers=headers), old, site="demo")
        broken = portal.url("/broken/page")
        archive.store(make_raw(broken, body=BINARY), make_article(broken), site="demo")
        archive.pack_pages()
    return broken


def copy_of(source, name):
    import shutil

    from newsarchive.storage.archive import default_pages_path

    target = source.parent / name / source.name
    target.parent.mkdir()
    shutil.copyfile(source, target)
    shutil.copyfile(default_pages_path(source), default_pages_path(target))
    return target


def state(path):
    """Every record, version, alias and failure, without the columns that say when."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:

        def rows(sql):
            cursor = conn.execute(sql)
            names = [d[0] for d in cursor.description]
            drop = {"id", "content_since", "replaced_at", "seen_until", "at"}
            return sorted(
                tuple((n, v) for n, v in zip(names, row, strict=True) if n not in drop)
                for row in cursor
            )

        return {
            "articles": rows("SELECT * FROM articles"),
            "versions": rows("SELECT * FROM versions"),
            "aliases": rows("SELECT * FROM article_urls"),
            "failures": rows("SELECT * FROM failures"),
            "fts": rows("SELECT rowid AS article, title, body FROM articles_fts"),
        }
    finally:
        conn.close()


def reextract_file(path, **kwargs):
    from newsarchive.storage import Archive

    with Archive(path, create=False) as archive:
        return list(reextract(archive, archive.reextract_targets(), **kwargs))


def test_parallel_reextraction_stores_exactly_what_one_process_stores(tmp_path):
    source = tmp_path / "source" / "archive.db"
    source.parent.mkdir()
    broken = demo_archive(source)
    one, two = copy_of(source, "one"), copy_of(source, "two")

    sequential = reextract_file(one, jobs=1)
    parallel = reextract_file(two, jobs=2)

    # 40 articles: more than two chunks, so both workers had pages, and every article came back.
    assert len(parallel) == len(sequential) == 41
    assert sorted(r.article_id for r in parallel) == sorted(r.article_id for r in sequential)
    for results in (sequential, parallel):
        [failed] = [r for r in results if r.error]
        assert failed.url == broken and "NotHtmlError" in failed.error
        # The run went on past it: every other record was rebuilt by the current extractor.
        assert sum(r.new_version for r in results) == 40
    after = state(two)
    assert after == state(one)
    assert after != state(source)
    [failure] = after["failures"]
    assert dict(failure)["url"] == broken and "reextract" in dict(failure)["reason"]
    versions = {dict(row)["extractor_version"] for row in after["articles"]}
    assert versions == {EXTRACTOR_VERSION, "test"}  # "test": the broken page's record, kept


def test_a_stopped_parallel_run_keeps_exactly_what_it_reported(tmp_path):
    from newsarchive.storage import Archive

    path = tmp_path / "archive.db"
    demo_archive(path, articles=80)
    seen = []
    with Archive(path, create=False) as archive:
        for result in reextract(
            archive, archive.reextract_targets(), jobs=2, stop=lambda: len(seen) >= 20
        ):
            seen.append(result)
    # It stopped early (the chunks in the workers were finished and stored, nothing more read).
    assert 20 <= len(seen) < 81
    rebuilt = [dict(row) for row in state(path)["articles"]]
    current = {row["url"] for row in rebuilt if row["extractor_version"] == EXTRACTOR_VERSION}
    assert current == {r.url for r in seen if r.new_version}


def test_sigterm_stops_the_command_cleanly_with_progress_lines_in_a_log(tmp_path):
    import re
    import signal
    import sys

    path = tmp_path / "archive.db"
    demo_archive(path, articles=400)
    command = [sys.executable, "-m", "newsarchive", "reextract", "--jobs", "2"]
    command += ["--progress-seconds", "0.05", "--db", str(path)]
    # Stderr is a file here: plain progress lines, the first one once the run is going.
    status, out, errors = sigterm_once_logged(command, tmp_path / "stderr.log", rb"re-extracting:")
    assert status == 128 + signal.SIGTERM, errors
    assert "\r" not in errors and "Traceback" not in errors
    assert re.search(r"re-extracting: \d+ of 401 articles \(\d+\.\d %\), [\d.]+/s", errors)
    stopped = re.search(r"stopped by SIGTERM after (\d+) of 401 articles", out)
    assert stopped, out
    done = int(stopped.group(1))
    assert 0 < done < 401
    # What it reported is what is stored: each reported article rebuilt, none beyond.
    rebuilt = [dict(row) for row in state(path)["articles"]]
    current = [row for row in rebuilt if row["extractor_version"] == EXTRACTOR_VERSION]
    failed = len(state(path)["failures"])
    assert len(current) + failed == done


def test_a_killed_worker_fails_only_its_pages_and_the_run_goes_on(tmp_path):
    import multiprocessing
    import os
    import signal

    from newsarchive.storage import Archive

    path = tmp_path / "archive.db"
    demo_archive(path, articles=120)
    results, killed = [], []
    with Archive(path, create=False) as archive:
        for result in reextract(archive, archive.reextract_targets(), jobs=2):
            results.append(result)
            if not killed:
                # Both workers hold chunks now (they are filled before the first result).
                victim = multiprocessing.active_children()[0]
                os.kill(victim.pid, signal.SIGKILL)
                killed.append(victim.pid)
    assert len({r.article_id for r in results}) == len(results) == 121
    died = [r for r in results if r.error and "worker died (killed by SIGKILL)" in r.error]
    # The chunks the dead worker held (at most 2 x 16 articles), and nothing else.
    assert 0 < len(died) <= 32
    rebuilt = [r for r in results if r.new_version]
    assert len(rebuilt) == 120 - len(died)
    failures = state(path)["failures"]
    assert len(failures) == len(died) + 1  # + the binary page


# --- the targets, streamed in reading order ----------------------------------------------


def _reference_targets(archive, site=None, since=None):
    """What reextract_targets gives, the plain way: every row in memory, then one sort."""
    from newsarchive.storage import ReextractTarget

    profiles = {}
    for run_id, settings in archive.db.execute("SELECT id, settings FROM crawl_runs"):
        import json

        profiles[run_id] = json.loads(settings).get("profile") or None
    columns = {row[1] for row in archive.pages.execute("PRAGMA table_info(pages)")}
    block = "block_id" if "block_id" in columns else "NULL"
    pages = {
        page_id: (run_id, block_id, fetched or stored)
        for page_id, run_id, block_id, fetched, stored in archive.pages.execute(
            f"SELECT id, run_id, {block}, fetched_at, stored_at FROM pages"
        )
    }
    keyed = []
    for article_id, page_id, row_site in archive.db.execute(
        "SELECT id, page_id, site FROM articles WHERE page_id IS NOT NULL"
    ):
        if page_id not in pages or (site is not None and row_site != site):
            continue
        run_id, block_id, when = pages[page_id]
        if since is not None and when < since:
            continue
        target = ReextractTarget(article_id, page_id, row_site, profiles.get(run_id))
        keyed.append(((-1 if block_id is None else block_id, page_id, article_id), target))
    return [target for _, target in sorted(keyed, key=lambda pair: pair[0])]


def _interleaved_archive(archive):
    """Three sites' pages interleaved, over two runs (one with a profile, one without) and
    imports, most packed into several blocks, and newer ones stored alone after the packing."""
    from datetime import UTC, datetime

    with_profile = archive.start_run("warta", {"profile": "profiles/warta.toml"})
    without = archive.start_run("kabar", {})
    runs = {"warta": with_profile, "kabar": without, "suara": None}
    number = 0

    def store_round(day):
        nonlocal number
        for i in range(12):
            site = ("warta", "kabar", "suara")[i % 3]
            number += 1
            url = f"https://{site}.example.id/2024/03/{day:02d}/berita-{number}"
            body = news_page(
                f"Berita {number} dari {site}",
                [f"Paragraf {number}-{j}: " + f"kata{number * 7 + j} " * 60 for j in range(6)],
            )
            fetched = datetime(2024, 3, day, 3, 0, tzinfo=UTC)
            archive.store(
                make_raw(url, body=body, fetched_at=fetched),
                make_article(url),
                site=site,
                run_id=runs[site],
            )

    store_round(5)
    store_round(6)
    assert archive.pack_pages(block_bytes=20_000).blocks > 2
    store_round(7)  # stored alone, with ids above every packed page


def test_targets_stream_in_block_order_equal_to_a_plain_sort(archive):
    _interleaved_archive(archive)
    blocks = archive.pages.execute("SELECT count(DISTINCT block_id) FROM pages").fetchone()[0]
    assert blocks > 2
    for filters in (
        {},
        {"site": "kabar"},
        {"since": "2024-03-06T00:00:00Z"},
        {"site": "warta", "since": "2024-03-07T00:00:00Z"},
        {"site": "nowhere"},
    ):
        expected = _reference_targets(archive, **filters)
        targets = archive.reextract_targets(**filters)
        assert len(targets) == len(expected)
        assert list(targets) == expected
        assert list(targets) == expected  # a second pass gives the same
    everything = list(archive.reextract_targets())
    assert len(everything) == 36
    # Pages alone (the newest, highest ids) come first, then the blocks, and a run's profile
    # goes with its pages.
    alone = {row[0] for row in archive.pages.execute("SELECT id FROM pages WHERE block_id IS NULL")}
    assert len(alone) == 12
    assert {t.page_id for t in everything[:12]} == alone
    assert {t.profile_path for t in everything if t.site == "warta"} == {"profiles/warta.toml"}
    assert {t.profile_path for t in everything if t.site != "warta"} == {None}


def test_targets_from_a_pages_file_from_before_blocks(tmp_path):

    from newsarchive.storage import Archive

    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        for i in range(3):
            url = f"{URL}-{i}"
            archive.store(make_raw(url, body=PAGE), make_article(url), site="warta")
    roll_pages_file_back_to_v3(tmp_path / "pages.db")
    with Archive(db, readonly=True) as archive:
        targets = archive.reextract_targets()
        assert len(targets) == 3
        assert list(targets) == _reference_targets(archive)
        assert [t.page_id for t in targets] == sorted(t.page_id for t in targets)
