"""A crawl whose end meets a damaged raw page of its site: the crawl's articles are archived,
the other pages packed around it, and the crawl says so in one `Error:` line, exit 1 — what a
cron mail carries — once (`verify` lists it every time). It used to be a warning in the log,
exit 0, and the site's pages left unpacked at every crawl from then on."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import zstandard
from e2e_helpers import CLI, FAST, run_cli, run_on_small_disk

from newsarchive.demo import DemoServer
from newsarchive.storage import default_pages_path


def test_a_crawl_ending_on_a_damaged_page_of_its_site_fails_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    saved = tmp_path / "saved.html"
    saved.write_text("<html><head><title>Catatan lama</title></head><body><p>Isi.</p></body>")
    # One page of the site stored alone (an import of one page keeps it so), then damaged.
    run_cli("import", str(saved), "--url", "https://lama.example.id/1", "--site", "demo",
            "--db", str(db), cwd=tmp_path)  # fmt: skip
    with closing(sqlite3.connect(default_pages_path(db))) as conn, conn:
        [(damaged,)] = conn.execute("SELECT page_id FROM page_bodies").fetchall()
        other = zstandard.ZstdCompressor().compress(b"<html>another page</html>")
        conn.execute("UPDATE page_bodies SET data = ? WHERE page_id = ?", [other, damaged])

    with DemoServer(articles=5) as server:
        command = [*CLI, "crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST]
        proc = run_on_small_disk(command, tmp_path, None)
        # Health, which a cron mail carries after each run, names it until the site's next run.
        health = run_on_small_disk([*CLI, "health", "--db", str(db)], tmp_path, None)
        # Said once: the next crawl goes around the page without failing on it again.
        again = run_on_small_disk(command, tmp_path, None)
        healthy = run_on_small_disk([*CLI, "health", "--db", str(db)], tmp_path, None)
    assert again.returncode == 0 and "is damaged" not in again.stderr, again.stderr[-2000:]
    assert health.returncode == 1, health.stdout + health.stderr
    [alarm] = [line for line in health.stderr.splitlines() if line.startswith("Error:")]
    assert alarm.startswith("Error: demo: damaged-pages 0 -> 1 raw pages"), alarm
    assert healthy.returncode == 0 and "no alarm" in healthy.stdout, healthy.stderr

    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and f"raw page {damaged} is damaged" in errors[0], proc.stderr
    assert "newsarchive verify" in errors[0] and "Traceback" not in proc.stderr
    assert "articles 5 new" in proc.stdout
    with closing(sqlite3.connect(default_pages_path(db))) as conn:
        loose = [i for (i,) in conn.execute("SELECT page_id FROM page_bodies")]
        packed = conn.execute("SELECT count(*) FROM pages WHERE block_id IS NOT NULL").fetchone()
    assert loose == [damaged] and packed[0] >= 5


def test_a_crawl_whose_reads_meet_a_damaged_page_stops_in_one_line(tmp_path: Path) -> None:
    """fuzz_archive seed 4040: an index the crawl reads to pick its rechecks had another table's
    page written over it, a page PRAGMA quick_check passes, so the crawl started, and Scrapy
    printed a traceback ("Error while reading start items") before the writer met the damage
    too. Now the read stops the crawl as a write does: one `Error:` line naming the file and
    `verify`, exit 1, the run row's finish reason archive_unwritable."""
    db = tmp_path / "archive.db"
    with DemoServer(articles=5) as server:
        first = run_cli("crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST,
                        cwd=tmp_path)  # fmt: skip
        assert first.returncode == 0, first.stderr[-2000:]
        uri = f"file:{db}?mode=ro&immutable=1"
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            size = conn.execute("PRAGMA page_size").fetchone()[0]
            [(source,)] = conn.execute(
                "SELECT pageno FROM dbstat WHERE name = 'articles_fts_docsize'"
            ).fetchall()
            [(target,)] = conn.execute(
                "SELECT pageno FROM dbstat WHERE name = 'articles_site_last_seen'"
            ).fetchall()
        data = bytearray(db.read_bytes())
        data[(target - 1) * size : target * size] = data[(source - 1) * size : source * size]
        db.write_bytes(bytes(data))
        command = [*CLI, "crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST]
        proc = run_on_small_disk(command, tmp_path, None)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"Error: {db}: cannot write: the archive is damaged"), lines
    assert f"newsarchive verify --db {db}" in lines[0]
    assert "archive_unwritable)" in proc.stdout, proc.stdout
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        reasons = [r for (r,) in conn.execute("SELECT finish_reason FROM crawl_runs ORDER BY id")]
    assert reasons == ["finished", "archive_unwritable"], reasons


def test_a_crawl_meeting_a_garbled_record_fetches_it_again_and_says_so(tmp_path: Path) -> None:
    """fuzz_archive seed 4140: bytes flipped inside an archived article's row garbled its
    published time ('2S23-06-26...'), which the structure checks pass. The crawl's "fetch
    again?" lookup raised on it for every listing, sitemap and feed linking the article: their
    links were not followed. Now the article counts as one the crawl has not met: fetched again
    and stored afresh, a warning naming it, one `Error:` line and exit 1 for the cron mail."""
    db = tmp_path / "archive.db"
    with DemoServer(articles=5) as server:
        first = run_cli("crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST,
                        cwd=tmp_path)  # fmt: skip
        assert first.returncode == 0, first.stderr[-2000:]
        with closing(sqlite3.connect(db)) as conn, conn:
            article, published = conn.execute(
                "SELECT id, published FROM articles ORDER BY id LIMIT 1"
            ).fetchone()
            garbled = "2S" + published[2:]
            conn.execute("UPDATE articles SET published = ? WHERE id = ?", [garbled, article])
        command = [*CLI, "crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST]
        proc = run_on_small_disk(command, tmp_path, None)
        again = run_on_small_disk(command, tmp_path, None)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "spider failed" not in proc.stderr, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and f"article {article} holds a garbled value" in warnings[0]
    assert repr(garbled) in warnings[0], warnings
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        "Error: demo: 1 archived record(s) held a garbled value (bytes damaged on disk; the "
        "warnings above name them), fetched again to be stored afresh; "
        f"`newsarchive verify --db {db}` lists any other damage"
    ], proc.stderr
    assert "1 unchanged" in proc.stdout, proc.stdout  # fetched again; the other four skipped
    with closing(sqlite3.connect(db)) as conn:
        stored = conn.execute("SELECT published FROM articles WHERE id = ?", [article]).fetchone()
    assert stored == (published,)
    assert again.returncode == 0 and "garbled" not in again.stderr, again.stderr
    verified = run_on_small_disk([*CLI, "verify", "--db", str(db)], tmp_path, None)
    assert verified.returncode == 0, verified.stdout + verified.stderr
