"""Records point at their raw pages by id, so an archive opens only with its own pages file: not
another archive's, not an older copy of its own, and never a new empty one made because
archive.db was copied or moved without it. Each of those used to give the records' page ids to
other pages: `show --raw` then printed another article's page and `reextract` rewrote records
from the wrong pages, without a word."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from archive_fixtures import cli_error, make_article, make_raw, news_page, snapshot
from click.testing import CliRunner

from newsarchive.cli import cli
from newsarchive.errors import NewsarchiveError
from newsarchive.storage import Archive, default_pages_path

CLI = [sys.executable, "-c", "from newsarchive.cli import cli; cli()"]


def fill(path: Path, urls: list[str], *, batch: bool = True) -> None:
    """Store one article per URL, each with a listing page before it (pages that no record
    points at still take ids)."""
    with Archive(path) as archive:
        for url in urls:
            if batch:
                with archive.batch():
                    archive.store(make_raw(url + "/list"), None, site="warta")
                    archive.store(make_raw(url, body=url.encode()), make_article(url), site="warta")
            else:
                archive.store(make_raw(url + "/list"), None, site="warta")
                archive.store(make_raw(url, body=url.encode()), make_article(url), site="warta")


def urls(first: int, count: int) -> list[str]:
    return [f"https://warta.example.id/berita/{n}" for n in range(first, first + count)]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("batch", [True, False], ids=["batched", "one-by-one"])
def test_the_archive_keeps_the_highest_page_id_it_stored(tmp_path: Path, batch: bool) -> None:
    path = tmp_path / "archive.db"
    fill(path, urls(0, 3), batch=batch)
    fill(path, urls(3, 2), batch=batch)
    archive_db = sqlite3.connect(path)
    pages_db = sqlite3.connect(default_pages_path(path))
    [highest] = pages_db.execute("SELECT max(id) FROM pages").fetchone()
    assert highest == 10  # five articles, five listing pages
    assert archive_db.execute("SELECT page_id_max FROM pages_pair").fetchone() == (highest,)
    [token] = archive_db.execute("SELECT token FROM pages_pair").fetchone()
    assert pages_db.execute("SELECT token FROM archive_pair").fetchone() == (token,)


def test_archive_db_without_its_pages_file_is_refused_for_writing(tmp_path: Path) -> None:
    fill(tmp_path / "archive.db", urls(0, 3))
    alone = tmp_path / "copy"
    alone.mkdir()
    shutil.copy(tmp_path / "archive.db", alone / "archive.db")
    before = snapshot(alone)

    with pytest.raises(NewsarchiveError, match=r"pages\.db: missing: .*archive\.db.*ids up to 6"):
        Archive(alone / "archive.db")
    page = tmp_path / "page.html"
    page.write_bytes(news_page("Harga cabai naik", ["Harga cabai naik di pasar induk pagi ini."]))
    for command in (
        ["import", str(page), "--url", "https://warta.example.id/baru"],
        ["reextract"],
        ["compact"],
    ):
        error = cli_error(invoke(*command, "--db", str(alone / "archive.db")))
        assert "pages.db: missing" in error, command
    # Nothing was made in its place: the next run with the file put back finds it whole.
    assert snapshot(alone) == before
    # The records stay readable alone (a copy of archive.db to browse), and `stats` says what
    # is missing where it counted "0 raw pages" (fuzz_archive seed 4042: pages.db missing).
    result = invoke("stats", "--db", str(alone / "archive.db"))
    assert result.exit_code == 0 and "3 articles" in result.output
    missing = f"{alone / 'pages.db'}: missing: {alone / 'archive.db'} stored its raw pages there"
    assert result.stderr.strip() == f"note: {missing} (ids up to 6); put that file back beside it"
    assert "raw pages (" not in result.stdout
    # `health`, which a cron mail carries, alarms: no run's figures show every page gone.
    health = invoke("health", "--db", str(alone / "archive.db"))
    assert health.exit_code == 1 and missing in cli_error(health)
    url = urls(0, 1)[0]
    assert invoke("show", url, "--db", str(alone / "archive.db")).exit_code == 0
    raw = invoke("show", url, "--raw", "--db", str(alone / "archive.db"))
    assert "pages.db: missing" in cli_error(raw)
    shutil.copy(tmp_path / "pages.db", alone / "pages.db")
    with Archive(alone / "archive.db") as archive:
        assert [p.body for p in archive.article_pages(2)] == [urls(0, 1)[0].encode()]


def test_a_crawl_with_archive_db_alone_does_not_start(tmp_path: Path) -> None:
    fill(tmp_path / "archive.db", urls(0, 2))
    (tmp_path / "pages.db").rename(tmp_path / "elsewhere.db")
    before = snapshot(tmp_path)
    proc = subprocess.run(
        [*CLI, "crawl", "http://127.0.0.1:9/", "--db", str(tmp_path / "archive.db")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "pages.db: missing" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(tmp_path) == before


def test_another_archives_pages_file_is_refused(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    fill(ours / "archive.db", urls(0, 2))
    fill(theirs / "archive.db", urls(100, 4))  # more pages than ours: the ids alone would pass
    shutil.copy(theirs / "pages.db", ours / "pages.db")
    before = snapshot(ours)
    for readonly in (False, True):
        with pytest.raises(NewsarchiveError, match=r"pages\.db: the raw pages of another archive"):
            Archive(ours / "archive.db", readonly=readonly)
    url = urls(0, 1)[0]
    assert "another archive" in cli_error(
        invoke("show", url, "--raw", "--db", str(ours / "archive.db"))
    )
    assert "another archive" in cli_error(invoke("reextract", "--db", str(ours / "archive.db")))
    assert snapshot(ours) == before


def test_an_older_copy_of_its_own_pages_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    fill(path, urls(0, 2))
    backup = tmp_path / "backup"
    backup.mkdir()
    with Archive(path):  # checkpointed and closed: a copy is a whole file
        pass
    shutil.copy(tmp_path / "pages.db", backup / "pages.db")
    fill(path, urls(2, 2))
    shutil.copy(backup / "pages.db", tmp_path / "pages.db")  # restored from the older backup
    before = snapshot(tmp_path)
    with pytest.raises(NewsarchiveError, match=r"holds raw pages up to id 4, but .* up to id 8"):
        Archive(path)
    assert "older copy" in cli_error(invoke("reextract", "--db", str(path)))
    assert snapshot(tmp_path) == before


def test_a_pair_from_before_the_check_is_stamped_and_then_checked(tmp_path: Path) -> None:
    """Files from before archive v10 / pages v6: the first opening stamps the pair (the mark
    from the records); an archive.db of that age without its pages file is refused too."""
    path = tmp_path / "archive.db"
    fill(path, urls(0, 3))
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE pages_pair")
        conn.execute("PRAGMA user_version = 9")
    conn.close()
    with sqlite3.connect(tmp_path / "pages.db") as conn:
        conn.execute("DROP TABLE archive_pair")
        conn.execute("PRAGMA user_version = 5")
    conn.close()
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(path, old / "archive.db")

    with Archive(path) as archive:
        assert archive.article(urls(0, 1)[0]) is not None
    archive_db = sqlite3.connect(path)
    [token, mark] = archive_db.execute("SELECT token, page_id_max FROM pages_pair").fetchone()
    assert mark == 6  # the highest page a record points at (the listing pages are not known)
    pages_db = sqlite3.connect(tmp_path / "pages.db")
    assert pages_db.execute("SELECT token FROM archive_pair").fetchone() == (token,)
    fill(path, urls(3, 1))
    assert archive_db.execute("SELECT page_id_max FROM pages_pair").fetchone() == (8,)

    with pytest.raises(NewsarchiveError, match=r"pages\.db: missing"):
        Archive(old / "archive.db")
    assert not (old / "pages.db").exists()


def test_a_new_archive_makes_its_pages_file(tmp_path: Path) -> None:
    """An archive that never stored a page (runs recorded, nothing fetched) still gets a new
    pages file: the check refuses only where pages would be confused."""
    path = tmp_path / "archive.db"
    with Archive(path) as archive:
        archive.start_run("warta", settings={})
    default_pages_path(path).unlink()
    with Archive(path) as archive:
        archive.store(make_raw(urls(0, 1)[0]), make_article(urls(0, 1)[0]), site="warta")
    assert default_pages_path(path).exists()
