"""Every command on every bad input a user can give it: a non-zero exit, one `Error:` line naming
the cause, no traceback, and the files it was pointed at left byte for byte as they were (no
-wal, -shm or raw pages file created beside them)."""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from archive_fixtures import assert_one_error, cli_error, news_page, snapshot
from click.testing import CliRunner

from newsarchive.cli import cli
from newsarchive.storage import default_pages_path

URL = "https://warta.example.id/daerah/2024/03/05/sawah-kering"
PAGE = news_page(
    "Ratusan hektare sawah kering di Indramayu",
    [
        "INDRAMAYU - Ratusan hektare sawah di pesisir Indramayu mengering karena kemarau panjang "
        "yang belum juga berakhir, dan anak-anak petani ikut membantu mengangkut air.",
        "Petani berharap pemerintah segera membangun embung untuk menampung air hujan.",
    ],
    canonical=URL,
)
CLI = [sys.executable, "-c", "from newsarchive.cli import cli; cli()"]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def archive_db(tmp_path: Path) -> Path:
    """A real archive with one article, checkpointed so it is all in the main file."""
    db = tmp_path / "made" / "archive.db"
    db.parent.mkdir()
    (tmp_path / "page.html").write_bytes(PAGE)
    result = invoke("import", str(tmp_path / "page.html"), "--url", URL, "--db", str(db))
    assert result.exit_code == 0, result.output
    return db


def _bad_files(archive_db: Path, where: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, a word the error must say)."""
    where.mkdir()
    text = where / "notes.db"
    text.write_text("these are my notes, not a database\n" * 20)
    empty = where / "empty.db"
    empty.write_bytes(b"")
    foreign = where / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers(name) VALUES ('Ani')")
    conn.close()
    future = where / "future.db"
    shutil.copy(archive_db, future)
    with sqlite3.connect(future) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA user_version = 999")
    conn.close()
    truncated = where / "truncated.db"
    data = archive_db.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    return {
        "text": (text, "not an SQLite file"),
        "empty": (empty, "empty file"),
        "foreign": (foreign, "not a newsarchive archive"),
        "future": (future, "newer newsarchive"),
        "truncated": (truncated, "truncated or corrupt"),
    }


READ_AND_WRITE_COMMANDS = [
    ("stats",),
    ("search", "sawah"),
    ("export",),
    ("reextract",),
    ("import", "{page}"),
    ("verify",),
    ("compact",),
    ("backup", "{dest}"),
]


@pytest.mark.parametrize("command", READ_AND_WRITE_COMMANDS, ids=lambda c: c[0])
def test_files_that_are_not_our_archive_are_named_and_left_untouched(
    archive_db: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    page = tmp_path / "page.html"
    bad = _bad_files(archive_db, tmp_path / "bad")
    before = snapshot(tmp_path / "bad")
    for _name, (path, says) in bad.items():
        args = [
            a.replace("{page}", str(page)).replace("{dest}", str(tmp_path / "copy"))
            for a in command
        ]
        result = invoke(*args, "--db", str(path))
        assert_one_error(result.exit_code, result.stderr, path.name, says)
    assert snapshot(tmp_path / "bad") == before, "a bad file was changed or a file was created"


def test_crawl_refuses_a_bad_archive_before_contacting_anyone(
    archive_db: Path, tmp_path: Path
) -> None:
    bad = _bad_files(archive_db, tmp_path / "bad")
    before = snapshot(tmp_path / "bad")
    for path, says in bad.values():
        proc = subprocess.run(
            [*CLI, "crawl", "http://127.0.0.1:9/", "--db", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert_one_error(proc.returncode, proc.stderr, path.name, says)
        assert "pages fetched" not in proc.stdout  # refused before the crawl started
    assert snapshot(tmp_path / "bad") == before


def test_read_commands_write_nothing(archive_db: Path) -> None:
    pages = default_pages_path(archive_db)
    pages.unlink()  # an archive whose raw pages file is gone: read commands still read records
    before = snapshot(archive_db.parent)
    assert invoke("stats", "--db", str(archive_db)).exit_code == 0
    assert invoke("search", "sawah", "--db", str(archive_db)).exit_code == 0
    assert invoke("export", "--db", str(archive_db)).exit_code == 0
    assert snapshot(archive_db.parent) == before
    assert not pages.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["search", "sawah"],
        ["export"],
        ["export", "--format", "warc", "-o", "{out}"],
        ["health"],
        ["reextract"],
        ["compact"],
    ],
)
def test_a_site_the_archive_does_not_hold_is_one_line(
    archive_db: Path, tmp_path: Path, command: list[str]
) -> None:
    # Before, a mistyped --site selected nothing and said so as the truth: "no articles
    # match", 0 exported, 0 re-extracted, and `health` "no alarm" for a site it never read.
    out = tmp_path / "pages.warc.gz"
    command = [part.format(out=out) for part in command]
    before = snapshot(archive_db.parent)
    typo = invoke(*command, "--site", "warta.example.ix", "--db", str(archive_db))
    cli_error(
        typo,
        f"--site warta.example.ix: no such site in {archive_db}",
        "(its sites: warta.example.id); did you mean warta.example.id?",
    )
    assert snapshot(archive_db.parent) == before and not out.exists()
    right = invoke(*command, "--site", "warta.example.id", "--db", str(archive_db))
    assert right.exit_code == 0, right.stderr


def test_a_site_with_raw_pages_only_is_a_site(archive_db: Path, tmp_path: Path) -> None:
    # A listing page imported under a site of its own: no article, no crawl run, but its pages.
    (tmp_path / "list.html").write_bytes(b"<html><body><ul><li>a</li></ul></body></html>")
    imported = invoke(
        "import",
        str(tmp_path / "list.html"),
        "--url",
        "https://x.example/",
        "--site",
        "indeks",
        "--db",
        str(archive_db),
    )
    assert imported.exit_code == 0, imported.stderr
    assert invoke("compact", "--site", "indeks", "--db", str(archive_db)).exit_code == 0


def test_a_limit_past_what_sqlite_counts_is_one_line(archive_db: Path) -> None:
    result = invoke("search", "sawah", "--limit", str(2**63), "--db", str(archive_db))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "Invalid value for '--limit'" in result.stderr


@pytest.mark.parametrize(
    ("words", "found"),
    [
        (("anak-anak",), True),  # reduplicated words are everyday Indonesian
        (("sawah", "Indramayu"), True),
        (('"ratusan hektare"',), True),
        (("embung", "kereta"), False),  # every word must match
        (("Jum'at", "(sawah"), False),
    ],
)
def test_search_takes_plain_words(archive_db: Path, words: tuple[str, ...], found: bool) -> None:
    result = invoke("search", *words, "--db", str(archive_db), "--json")
    assert result.exit_code == 0, result.stderr
    assert (URL in result.output) is found


@pytest.mark.parametrize("query", ["*", "+ -", "()", '""'])
def test_a_query_without_words_is_one_line(archive_db: Path, query: str) -> None:
    result = invoke("search", "--db", str(archive_db), query)
    assert_one_error(result.exit_code, result.stderr, "no word")


def test_fts_syntax_only_with_the_flag(archive_db: Path) -> None:
    ok = invoke("search", "--fts", "sawah NOT kereta", "--db", str(archive_db), "--json")
    assert ok.exit_code == 0 and URL in ok.output
    bad = invoke("search", "--fts", "sawah AND (", "--db", str(archive_db))
    assert_one_error(bad.exit_code, bad.stderr, "FTS5", "--fts")


def _bomb(path: Path, inflated: int) -> None:
    with gzip.open(path, "wb", compresslevel=9) as out:
        chunk = b"<p>" + b"a" * (1024 * 1024 - 3)
        for _ in range(inflated // len(chunk)):
            out.write(chunk)


def test_bad_imports_are_one_line_each_and_the_rest_is_imported(
    archive_db: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "imports"
    bad.mkdir()
    (bad / "empty.html").write_bytes(b"")
    (bad / "scan.pdf.html").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    (bad / "photo.html").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40)
    (bad / "words.html").write_text("just words, no markup at all")
    _bomb(bad / "bomb.html.gz", 64 * 1024 * 1024)
    (bad / "broken.html.gz").write_bytes(gzip.compress(PAGE)[:40])
    # Its deflate data corrupt from the first block on: before, zlib's error was a traceback that
    # ended the import, the files after it too.
    corrupt = bytearray(gzip.compress(PAGE))
    corrupt[10] = 0xFF  # a block type deflate does not have
    (bad / "corrupt.html.gz").write_bytes(bytes(corrupt))
    # Before, the name's line break split its Error line in two.
    (bad / "two\nlines.html").write_bytes(b"")
    good = tmp_path / "good.html"
    good.write_bytes(PAGE.replace(b"sawah-kering", b"sawah-kering-2"))
    names = sorted(p.name for p in bad.iterdir())
    result = invoke(
        "import",
        *(str(bad / n) for n in names),
        str(good),
        "--max-size",
        "16MB",
        "--db",
        str(archive_db),
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == len(names), result.stderr
    for name, says in {
        "empty.html": "empty",
        "scan.pdf.html": "PDF",
        "photo.html": "JPEG",
        "words.html": "no HTML markup",
        "bomb.html.gz": "inflates past 16 MB",
        "broken.html.gz": "broken gzip",
        "corrupt.html.gz": "broken gzip file: Error -3 while decompressing data",
        "two\\nlines.html": "empty",
    }.items():
        [line] = [e for e in errors if name in e]
        assert says in line, line
    assert "imported 1 pages" in result.output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            "warta.example.id/daerah/1",
            "give its http(s) address, e.g. https://warta.example.id/daerah/1",
        ),
        ("sawah-kering", "sawah-kering: not a page's URL"),
        ("ftp://warta.example.id/1", "not a web address"),
    ],
)
def test_a_page_url_that_is_no_web_address_is_one_line(tmp_path: Path, url: str, says: str) -> None:
    # Before, the page was archived with that text as its URL, its key: "sawah-kering" under
    # the site "local", "ftp://..." under the site of its host.
    page = tmp_path / "page.html"
    page.write_bytes(PAGE)
    db = tmp_path / "a.db"
    cli_error(invoke("import", str(page), "--url", url, "--db", str(db)), says)
    assert not db.exists()
    cli_error(invoke("extract", str(page), "--url", url), says)
    request = json.dumps({"id": "p1", "url": url, "path": str(page)})
    batch = CliRunner().invoke(cli, ["import", "--batch", "--db", str(db)], input=request + "\n")
    assert batch.exit_code == 1
    assert says in json.loads(batch.stdout.splitlines()[0])["error"]
    with sqlite3.connect(default_pages_path(db)) as pages:
        assert pages.execute("SELECT count(*) FROM pages").fetchone() == (0,)


def test_an_archive_where_no_file_can_be_made_is_one_line(tmp_path: Path) -> None:
    # /proc refuses a new file even to root. Before: a traceback ending in SQLite's "unable
    # to open database file" (import), Scrapy's traceback and that line (crawl).
    db = f"/proc/newsarchive-{_free_port()}.db"
    (tmp_path / "page.html").write_bytes(PAGE)
    imported = invoke("import", str(tmp_path / "page.html"), "--url", URL, "--db", db)
    cli_error(imported, f"{db}: cannot create")
    proc = subprocess.run(
        [*CLI, "crawl", f"http://127.0.0.1:{_free_port()}/", "--db", db],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert_one_error(proc.returncode, proc.stderr, f"{db}: cannot create")


def test_a_site_nothing_answers_on_fails_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    proc = subprocess.run(
        [*CLI, "crawl", f"http://127.0.0.1:{_free_port()}/", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert_one_error(proc.returncode, proc.stderr, "every request failed", "refused")


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("DOWNLOAD_TIMEOUT=abc", "expected a number"),
        ("ROBOTSTXT_OBEY=maybe", "true or false"),
        ("DOWNLOAD_DELY=2", "did you mean DOWNLOAD_DELAY"),
        ("DOWNLOAD_DELAY", "NAME=VALUE"),
    ],
)
def test_bad_settings_are_refused_before_the_crawl(tmp_path: Path, setting: str, says: str) -> None:
    proc = subprocess.run(
        [*CLI, "crawl", "http://127.0.0.1:9/", "--db", str(tmp_path / "a.db"), "-s", setting],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_error(proc.returncode, proc.stderr, says)
    assert not (tmp_path / "a.db").exists()


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        # An address without its scheme, or with the scheme mistyped: the error says how to
        # give it, with the text as typed (a path would fold "http:/" into "http:").
        (["detik.com"], ["unknown site 'detik.com'", "give its URL: https://detik.com/"]),
        (["news.example.id/x"], ["no such profile file", "URL: https://news.example.id/x"]),
        (["http:/news.example.id"], ["http:/news.example.id: no", "URL: http://news.example.id/"]),
        (["my-site"], ["unknown site 'my-site'"]),
        (["ftp://news.example.id/"], ["ftp://news.example.id/: not a web address"]),
        (["http://news.example.id:99999/"], ["http://news.example.id:99999/: not a valid URL"]),
        (["https:///berita"], ["no host name"]),
        # Before, a --base-url without a scheme started the crawl and ended it at once
        # ("start_error"), saying to run again with --resume.
        (
            ["demo", "--base-url", "127.0.0.1:8123"],
            ["--base-url 127.0.0.1:8123: expected an http(s) URL, e.g. http://127.0.0.1:8123/"],
        ),
        (["demo", "--base-url", "file:///srv/"], ["--base-url file:///srv/: not a web address"]),
    ],
)
def test_a_site_neither_address_nor_profile_is_one_line_before_the_crawl(
    tmp_path: Path, arguments: list[str], says: list[str]
) -> None:
    db = tmp_path / "a.db"
    result = CliRunner().invoke(cli, ["crawl", *arguments, "--db", str(db)])
    cli_error(result, *says)
    assert not db.exists()


@pytest.mark.parametrize(
    ("contact", "says"),
    [
        # Before, each went into the User-Agent as it was: a line break ends the header.
        ("not a url", "'not a url': a contact has no spaces or line breaks"),
        ("x\r\nX-Injected: 1", "a contact has no spaces or line breaks"),
        ("lab.example.id", "not a contact: give a URL or an e-mail address, e.g. https://lab."),
        ("ftp://lab.example.id/", "ftp://lab.example.id/: not a web address"),
    ],
)
def test_a_contact_that_is_no_address_is_one_line_before_the_crawl(
    tmp_path: Path, contact: str, says: str
) -> None:
    db = tmp_path / "a.db"
    result = CliRunner().invoke(cli, ["crawl", "demo", "--contact", contact, "--db", str(db)])
    cli_error(result, "--contact", says)
    assert not db.exists()
    result = CliRunner(env={"NEWSARCHIVE_CONTACT": contact}).invoke(
        cli, ["crawl", "demo", "--db", str(db)]
    )
    cli_error(result, "NEWSARCHIVE_CONTACT", says)
    assert not db.exists()


@pytest.mark.parametrize(
    ("profile", "says"),
    [
        ("timezone = 5\n", "timezone"),
        ('domains = "x.example"\n', "domains"),
        ("name = \n", "not valid TOML"),
        # Before: "its start URLs are relative", which it is not.
        ('[crawl]\nstart_urls = ["ftp://x.example/"]\n', "crawl.start_urls: ftp://x.example/"),
    ],
)
def test_bad_profiles_are_one_line(tmp_path: Path, profile: str, says: str) -> None:
    path = tmp_path / "site.toml"
    path.write_text(profile)
    proc = subprocess.run(
        [*CLI, "crawl", str(path), "--db", str(tmp_path / "a.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_error(proc.returncode, proc.stderr, "site.toml", says)


def test_pages_the_extractor_failed_on_are_an_error_line(tmp_path: Path) -> None:
    # The extraction pipeline counts them (newsarchive/missing/extraction): an error in the
    # extractor, or its worker died. Before, only a log warning said so, and the crawl exited 0
    # with the pages filed as other pages.
    from newsarchive.cli.crawl import CrawlResult, crawl_problems
    from newsarchive.storage import Archive

    db = tmp_path / "archive.db"
    Archive(db).close()
    stats = {"response_received_count": 9, "newsarchive/new": 6, "newsarchive/page": 3}
    clean = CrawlResult("warta", stats)
    assert crawl_problems([clean], db) == []
    failed = CrawlResult("warta", {**stats, "newsarchive/missing/extraction": 2})
    assert crawl_problems([failed], db) == [
        "warta: extraction failed on 2 page(s), kept as raw pages without a record "
        "(the warnings above name each and why; `newsarchive reextract` tries them again)"
    ]
