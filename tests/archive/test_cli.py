"""The archive commands end to end on real files: import, search, reextract, export, stats, errors."""

from __future__ import annotations

import csv
import gzip
import io
import json
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from archive_fixtures import make_article, make_raw, news_page
from click.testing import CliRunner

from newsarchive.cli import cli
from newsarchive.storage import Archive

PAGES = {
    "sawah.html": (
        "https://warta.example.id/daerah/2024/03/05/sawah-kering",
        news_page(
            "Ratusan hektare sawah kering di Indramayu",
            [
                "INDRAMAYU - Ratusan hektare sawah di pesisir Indramayu mengering karena kemarau panjang "
                "yang belum juga berakhir.",
                "Petani berharap pemerintah segera membangun embung untuk menampung air hujan.",
            ],
            canonical="https://warta.example.id/daerah/2024/03/05/sawah-kering",
        ),
    ),
    "kereta.html": (
        "https://warta.example.id/nasional/2024/03/06/kereta-cepat",
        news_page(
            "Penumpang kereta cepat melonjak saat libur panjang",
            [
                "JAKARTA - Jumlah penumpang kereta cepat melonjak selama libur panjang akhir pekan, kata "
                "operator pada Rabu.",
                "Operator menambah jadwal perjalanan untuk mengurai antrean di stasiun.",
            ],
            published="2024-03-06T10:00:00+07:00",
            canonical="https://warta.example.id/nasional/2024/03/06/kereta-cepat",
        ),
    ),
}


def invoke(*args, stdin=None, env=None):
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False, env=env)


def one_line_error(result, *expected: str) -> None:
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error:")
    for text in expected:
        assert text in lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def filled(tmp_path):
    db = tmp_path / "archive.db"
    for name, (url, html) in PAGES.items():
        (tmp_path / name).write_bytes(html)
        result = invoke(
            "import", str(tmp_path / name), "--url", url, "--site", "warta", "--db", str(db)
        )
        assert result.exit_code == 0, result.output
    return db


def test_import_twice_gives_the_same_articles(tmp_path, filled):
    files = [str(tmp_path / name) for name in PAGES]
    result = invoke("import", *files, "--db", str(filled))
    assert result.exit_code == 0, result.output
    # Without --url the pages are keyed by their canonical URLs: the same two articles.
    assert "0 new" in result.output and "2 unchanged" in result.output
    stats = json.loads(invoke("stats", "--json", "--db", str(filled)).output)
    assert stats["articles"] == 2
    assert stats["pages"] == 4  # the same bytes under file: URIs and under the web URLs
    assert stats["page_stored_bytes"] < stats["page_bytes"]


def test_import_batch_speaks_the_extract_protocol(tmp_path):
    db = tmp_path / "batch.db"
    lines = []
    for n, (name, (url, html)) in enumerate(PAGES.items()):
        (tmp_path / name).write_bytes(html)
        lines.append(json.dumps({"id": n, "url": url, "path": str(tmp_path / name)}))
    lines.append(json.dumps({"id": "gone", "url": None, "path": str(tmp_path / "missing.html")}))
    result = invoke("import", "--batch", "--db", str(db), stdin="\n".join(lines) + "\n")
    assert result.exit_code == 1
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert [reply.get("outcome") for reply in replies] == ["new", "new", None]
    assert replies[2]["id"] == "gone" and "no such file" in replies[2]["error"]


def test_search_written_to_a_pipe_keeps_whole_titles_whatever_the_terminal_width(filled):
    # COLUMNS is what a narrow terminal (or a test runner's worker) reports; output that is not a
    # terminal is for a file or a program, where a clipped title is lost text.
    result = invoke("search", "sawah", "--db", str(filled), env={"COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    assert "Ratusan hektare sawah kering di Indramayu" in result.output
    assert "…" not in result.output.splitlines()[1]


def test_search_finds_a_known_sentence(filled):
    result = invoke("search", '"sawah di pesisir Indramayu mengering"', "--db", str(filled))
    assert result.exit_code == 0, result.output
    assert "Ratusan hektare sawah kering di Indramayu" in result.output
    hits = json.loads(invoke("search", "penumpang stasiun", "--json", "--db", str(filled)).output)
    assert [hit["url"] for hit in hits] == [PAGES["kereta.html"][0]]
    assert (
        json.loads(
            invoke(
                "search", "penumpang", "--since", "2024-03-07", "--json", "--db", str(filled)
            ).output
        )
        == []
    )


def test_reextract_over_unchanged_pages_reports_zero_changes(filled):
    result = invoke("reextract", "--db", str(filled))
    assert result.exit_code == 0, result.output
    assert "re-extracted 2 of 2 articles: 0 changes" in result.stdout


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "warc"])
def test_an_export_that_cannot_finish_leaves_the_file_there_as_it_was(filled, tmp_path, fmt):
    # A disk that fills up (here: a file size limit on the command) stops the export midway.
    # Before, a half CSV, JSON Lines or Parquet file was left under the name, over what was there.
    out = tmp_path / f"articles.{fmt}"
    out.write_text("last week's export\n")
    limit = 3000

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    filler = tmp_path / "more.html"
    for n in range(8):  # enough records that every format passes the limit
        filler.write_bytes(news_page(f"Berita ke-{n} dari daerah", ["Isi berita " * 80]))
        url = f"https://warta.example.id/daerah/2024/03/0{n + 1}/berita-{n}"
        assert invoke("import", str(filler), "--url", url, "--db", str(filled)).exit_code == 0
    proc = subprocess.run(
        [sys.executable, "-m", "newsarchive", "export", "--format", fmt, "-o", str(out)]
        + ["--db", str(filled)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_disk,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"Error: {out}: cannot write" in proc.stderr
    assert out.read_text() == "last week's export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_export_formats(filled, tmp_path):
    jsonl = invoke("export", "--db", str(filled))
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [r["url"] for r in records] == [PAGES["sawah.html"][0], PAGES["kereta.html"][0]]
    assert isinstance(records[0]["tags"], list)
    rows = list(
        csv.DictReader(io.StringIO(invoke("export", "--format", "csv", "--db", str(filled)).stdout))
    )
    assert len(rows) == 2 and json.loads(rows[0]["authors"]) == records[0]["authors"]
    out = tmp_path / "articles.parquet"
    result = invoke(
        "export",
        "--format",
        "parquet",
        "--since",
        "2024-03-06",
        "-o",
        str(out),
        "--db",
        str(filled),
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.column("title").to_pylist() == [
        "Penumpang kereta cepat melonjak saat libur panjang"
    ]
    authors_type = table.schema.field("authors").type
    assert pa.types.is_list(authors_type) and pa.types.is_string(authors_type.value_type)


def test_stats_lists_sites_and_fill_rates(filled):
    result = invoke("stats", "--db", str(filled))
    assert result.exit_code == 0, result.output
    assert "2 articles" in result.output
    [row] = [line for line in result.output.splitlines() if line.startswith("warta")]
    assert "2024-03-05..2024-03-06" in row


def test_stats_and_export_tell_the_articles_the_site_took_down(filled, tmp_path):
    copy = filled
    before = invoke("stats", "--db", str(copy)).output
    assert "taken down" not in before
    with Archive(copy) as archive:
        archive.record_failure(PAGES["sawah.html"][0], "HTTP 404", status=404, site="warta")
        # A URL with no record is only a failure.
        archive.record_failure("https://warta.example.id/hilang", "HTTP 404", status=404)
    result = invoke("stats", "--db", str(copy))
    assert result.exit_code == 0, result.output
    assert "1 article(s) taken down by their site" in result.output
    out = tmp_path / "articles.parquet"
    assert invoke("export", "--format", "parquet", "-o", str(out), "--db", str(copy)).exit_code == 0
    table = pq.read_table(out)
    assert pa.types.is_timestamp(table.schema.field("gone_since").type)
    urls, times = table.column("url").to_pylist(), table.column("gone_since").to_pylist()
    gone = dict(zip(urls, times, strict=True))
    assert gone[PAGES["kereta.html"][0]] is None
    assert gone[PAGES["sawah.html"][0]].year >= 2026


def test_user_mistakes_are_one_line_errors(tmp_path, filled):
    one_line_error(
        invoke("search", "--fts", "banjir AND (", "--db", str(filled)), "banjir AND (", "FTS5"
    )
    one_line_error(
        invoke("search", "banjir", "--db", str(tmp_path / "none.db")), "none.db", "no archive"
    )
    one_line_error(
        invoke("export", "--since", "kemarin", "--db", str(filled)), "--since", "kemarin"
    )
    one_line_error(invoke("export", "--format", "parquet", "--db", str(filled)), "-o FILE")
    one_line_error(
        invoke("import", "a.html", "b.html", "--url", "https://x.id/a", "--db", str(filled)),
        "--url",
    )
    one_line_error(
        invoke("import", str(tmp_path / "missing.html"), "--db", str(filled)),
        "missing.html",
        "no such file",
    )
    not_db = tmp_path / "notes.db"
    not_db.write_text("not a database")
    one_line_error(invoke("stats", "--db", str(not_db)), "notes.db")


def test_help_teaches_with_examples():
    for command in ("import", "search", "reextract", "export", "browse", "stats"):
        result = invoke(command, "--help")
        assert result.exit_code == 0
        assert "Example" in result.output and "newsarchive " + command in result.output


def test_browse_where_it_cannot_listen_is_one_line(filled):
    # Before, Datasette's server logged the error between its start-up lines and exited 3.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        in_use = invoke("browse", "--db", str(filled), "--port", str(port))
    one_line_error(in_use, f"127.0.0.1:{port}: in use by another server", "--port")
    unknown = invoke("browse", "--db", str(filled), "--host", "no-such-host.invalid")
    one_line_error(unknown, "--host no-such-host.invalid")


def test_browse_serves_the_records_and_not_the_raw_pages(filled):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "newsarchive", "browse", "--db", str(filled), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/databases.json", timeout=2) as response:
                    databases = json.load(response)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "browse did not start in 30 s"
                time.sleep(0.2)
        assert [db["name"] for db in databases] == ["archive"]
        query = urllib.parse.urlencode({"_search": "Indramayu", "_shape": "array"})
        with urllib.request.urlopen(f"{base}/archive/articles.json?{query}") as response:
            rows = json.load(response)
        assert [row["url"] for row in rows] == [PAGES["sawah.html"][0]]
        # A facet of no such column: the page says so; the terminal gets no warnings of
        # Datasette's unawaited facet coroutines (twelve lines a request before).
        try:
            urllib.request.urlopen(f"{base}/archive/articles?_facet=nope", timeout=10)
        except urllib.error.HTTPError as exc:
            assert exc.code == 400
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
    log = server.stderr.read().decode()
    assert f"serving {filled} at {base}/" in log
    assert "never awaited" not in log


def test_search_narrows_by_until_author_and_category(filled):
    def urls(*args: str) -> list[str]:
        result = invoke("search", *args, "--json", "--db", str(filled))
        assert result.exit_code == 0, result.output
        return [hit["url"] for hit in json.loads(result.stdout)]

    sawah, kereta = PAGES["sawah.html"][0], PAGES["kereta.html"][0]
    assert set(urls("pada OR karena OR untuk", "--fts")) == {sawah, kereta}
    # --until takes in the whole day it names (the date printed on the article).
    assert urls("pada OR karena OR untuk", "--fts", "--until", "2024-03-05") == [sawah]
    assert urls("pada OR karena OR untuk", "--fts", "--until", "2024-03-06T02:59:00Z") == [sawah]
    assert set(urls("pada OR karena OR untuk", "--fts", "--author", "sari wulandari")) == {
        sawah,
        kereta,
    }
    assert urls("pada OR karena OR untuk", "--fts", "--author", "Sari") == []
    assert set(urls("pada OR karena OR untuk", "--fts", "--category", "NASIONAL")) == {
        sawah,
        kereta,
    }
    assert urls("pada OR karena OR untuk", "--fts", "--category", "Ekonomi") == []
    hit = json.loads(invoke("search", "embung", "--json", "--db", str(filled)).stdout)[0]
    assert hit["category"] == "Nasional" and hit["authors"] == ["Sari Wulandari"]


def test_search_prints_a_table_or_csv(filled):
    table = invoke("search", "embung", "--db", str(filled))
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["published", "site", "category", "authors", "title"]
    assert lines[1].startswith("2024-03-05  warta  Nasional  Sari Wulandari  Ratusan hektare")
    assert "[embung]" in lines[2] and lines[3].strip() == PAGES["sawah.html"][0]
    rows = list(
        csv.DictReader(io.StringIO(invoke("search", "embung", "--csv", "--db", str(filled)).stdout))
    )
    assert [row["url"] for row in rows] == [PAGES["sawah.html"][0]]
    assert json.loads(rows[0]["authors"]) == ["Sari Wulandari"]
    empty = invoke("search", "tidakada", "--csv", "--db", str(filled))
    assert empty.stdout.strip() == "id,url,site,published,category,authors,title,snippet"
    one_line_error(
        invoke("search", "x", "--json", "--csv", "--db", str(filled)), "--json and --csv"
    )
    one_line_error(invoke("search", "x", "--until", "kemarin", "--db", str(filled)), "--until")


def test_extract_reads_the_page_from_stdin(tmp_path):
    url, html = PAGES["sawah.html"]
    piped = invoke("extract", "-", "--url", url, stdin=html)
    assert piped.exit_code == 0, piped.output
    (tmp_path / "page.html").write_bytes(html)
    from_file = invoke("extract", str(tmp_path / "page.html"), "--url", url)
    assert json.loads(piped.stdout) == json.loads(from_file.stdout)
    assert json.loads(invoke("extract", "-", stdin=gzip.compress(html)).stdout)["title"] == (
        "Ratusan hektare sawah kering di Indramayu"
    )
    one_line_error(invoke("extract", "-", stdin=b""), "stdin", "empty")
    one_line_error(invoke("extract", "-", stdin=b"just words"), "stdin")


def test_author_and_tag_rows_follow_the_records(tmp_path):
    path = tmp_path / "archive.db"
    url = "https://warta.example.id/berita/1"

    def rows(archive, table):
        return sorted(archive.db.execute(f"SELECT * FROM {table}").fetchall())

    with Archive(path) as archive:
        archive.store(
            make_raw(url), make_article(url, authors=("Sari", "Budi", "Sari")), site="warta"
        )
        assert rows(archive, "article_authors") == [(1, "Budi"), (1, "Sari")]
        assert rows(archive, "article_tags") == [(1, "banjir"), (1, "pesisir")]
        # A revisit that changes the byline and the tags replaces the rows.
        changed = make_article(url, authors=("Budi", "Rina"), tags=("rob",), body="Air naik lagi.")
        assert archive.store(make_raw(url, body=b"<p>2</p>"), changed, site="warta") == "updated"
        assert rows(archive, "article_authors") == [(1, "Budi"), (1, "Rina")]
        assert rows(archive, "article_tags") == [(1, "rob")]
        # Re-extraction writes through the same UPDATE.
        archive.apply_reextraction(1, make_article(url, authors=("Dewi",), tags=(), body="Lain."))
        assert rows(archive, "article_authors") == [(1, "Dewi")]
        assert rows(archive, "article_tags") == []
    # An archive from before the tables (schema v3) gets them filled from the JSON arrays.
    connection = sqlite3.connect(path)
    for table in ("article_authors", "article_tags"):
        connection.executescript(
            f"DROP TABLE {table}; DROP TRIGGER {table}_ai; DROP TRIGGER {table}_au; "
            f"DROP TRIGGER {table}_ad;"
        )
    connection.execute("PRAGMA user_version = 3")
    connection.close()
    with Archive(path) as archive:
        assert rows(archive, "article_authors") == [(1, "Dewi")]
        archive.store(
            make_raw(url, body=b"<p>3</p>"), make_article(url, authors=("Eka",)), site="warta"
        )
        assert rows(archive, "article_authors") == [(1, "Eka")]


def test_a_zone_less_date_is_imported_searched_and_exported_as_written(tmp_path):
    """A page from anywhere whose date states no zone: the record keeps the page's local time
    through import, --since/--until (by the date printed on the page) and every export."""
    page = news_page(
        "Die Brücke am Fluss wird im Sommer gesperrt",
        [
            "Die Brücke über den Fluss wird im Sommer für Bauarbeiten an den Pfeilern gesperrt.",
            "Umleitungen führen über die Nachbarorte, sagte die Stadtverwaltung am Dienstag.",
        ],
        published="2024-03-05T23:30:00",
    ).replace(b'lang="id"', b'lang="de"')
    (tmp_path / "bruecke.html").write_bytes(page)
    db = ["--db", str(tmp_path / "archive.db")]
    url = "https://stadt.example.de/bruecke"
    assert invoke("import", str(tmp_path / "bruecke.html"), "--url", url, *db).exit_code == 0

    def hits(*args: str) -> list[str]:
        result = invoke("search", "Brücke", *args, "--json", *db)
        assert result.exit_code == 0, result.output
        return [hit["url"] for hit in json.loads(result.stdout)]

    assert hits() == [url]
    assert hits("--since", "2024-03-05", "--until", "2024-03-05") == [url]
    assert hits("--since", "2024-03-06") == []
    assert hits("--until", "2024-03-04") == []
    record = json.loads(invoke("export", *db).stdout)
    assert record["published"] == "2024-03-05T23:30:00"  # no WIB, no UTC shift
    row = next(csv.DictReader(io.StringIO(invoke("export", "--format", "csv", *db).stdout)))
    assert row["published"] == "2024-03-05T23:30:00"
    out = tmp_path / "a.parquet"
    assert invoke("export", "--format", "parquet", "-o", str(out), *db).exit_code == 0
    (parquet_row,) = pq.read_table(out).to_pylist()
    assert (
        parquet_row["published"] is None and parquet_row["published_local"] == record["published"]
    )
    assert parquet_row["published_date"].isoformat() == "2024-03-05"


def test_everyday_words_rank_from_their_top_lists(tmp_path, monkeypatch):
    """Words common enough to have top lists (schema v7) are ranked from them in bm25's order
    (the title first: it weighs most), even a word in over half of the articles, whose idf FTS5
    clamps to almost nothing; filters and snippets as ever."""
    from newsarchive.storage import queries, search_tops

    monkeypatch.setattr(search_tops, "TOP_MIN_DOCS", 2)
    monkeypatch.setattr(search_tops, "COUNT_EVERY", 1)
    db = tmp_path / "archive.db"
    texts = [
        ("Cuaca cerah", "Hari ini yang cerah di kota."),  # body only, oldest
        ("Yang tersisa dari banjir", "Warga membersihkan rumah."),  # title
        ("Pasar ramai", "Pedagang yang berjualan sejak pagi."),  # body only
        ("Harga naik", "Yang naik harga cabai dan bawang."),  # standfirst (first 60 chars)
        ("Jalan rusak", "Warga mengeluh jalan berlubang."),  # no match
        ("Yang baru di kota", "Taman kota dibuka untuk umum."),  # title, newest
    ]
    with Archive(db) as archive:
        for n, (title, body) in enumerate(texts):
            url = f"https://warta.example.id/{n}"
            site = "kabar" if n == 2 else "warta"
            archive.store(make_raw(url), make_article(url, title=title, body=body), site=site)

        def hits(*args: str) -> list[dict]:
            result = invoke("search", *args, "--json", "--db", str(db))
            assert result.exit_code == 0, result.output
            return json.loads(result.stdout)

        assert queries.search_plan(archive.db, "yang")[0] == "tops"
        assert queries.search_plan(archive.db, "yang banjir")[0] == "mixed"
        assert queries.search_plan(archive.db, "yang zzz")[0] == "mixed"
        score = {  # FTS5's own bm25 of each match (lower is better), by URL's last character
            url[-1]: round(rank, 9)
            for url, rank in archive.db.execute(
                "SELECT a.url, articles_fts.rank FROM articles_fts JOIN articles a "
                "ON a.id = articles_fts.rowid WHERE articles_fts MATCH 'yang' "
                f"AND articles_fts.rank MATCH '{queries.RANK}'"
            )
        }
        exact = sorted(score, key=lambda name: (score[name], name))
        found = hits("yang")
        assert sorted(score[hit["url"][-1]] for hit in found) == [
            score[hit["url"][-1]] for hit in found
        ]
        assert sorted(hit["url"][-1] for hit in found) == sorted(exact)
        assert {hit["url"][-1] for hit in found[:2]} == {"5", "1"}  # the two titles
        assert "[Yang]" in found[0]["snippet"] or "[yang]" in found[0]["snippet"]
        assert [hit["url"][-1] for hit in hits("yang", "--site", "kabar")] == ["2"]
        assert {hit["url"][-1] for hit in hits("yang", "--limit", "2")} == {"5", "1"}
        # A rarer word in the query brings bm25 back: every word must still match.
        assert [hit["url"][-1] for hit in hits("yang banjir")] == ["1"]


@pytest.mark.parametrize("command", [["search", "banjir"], ["stats"], ["show", "https://x.id/a"]])
def test_read_commands_start_without_the_extractor_or_scrapy(
    tmp_path: Path, command: list[str]
) -> None:
    """The command's module alone is loaded (the extractor and Scrapy cost ~0.15 s and more of
    start-up); every command is still found (the other tests run them all)."""
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        archive.store(make_raw("https://x.id/a"), make_article("https://x.id/a"), site="x")
    probe = (
        "import sys; from newsarchive.cli import cli\n"
        f"try: cli({[*command, '--db', str(db)]!r})\n"
        "except SystemExit as end: assert not end.code, end.code\n"
        "print(sorted(m for m in ('newsarchive.extract', 'scrapy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "[]"


def test_an_interrupt_no_command_handles_is_one_line_and_status_130(filled, monkeypatch):
    # Ctrl-C where a command has no stop of its own (as it starts; a second signal that stops
    # an import at once) ended in click's bare "Aborted!" and exit status 1 (fuzz_soak --shared,
    # seed 313): a cron job read that as a failure with nothing said.
    import newsarchive.cli.archive

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(newsarchive.cli.archive, "search_results", interrupted)
    result = invoke("search", "sawah", "--db", str(filled))
    assert result.exit_code == 130
    assert result.stderr.splitlines() == [
        "Error: stopped (interrupted); what was stored before is kept"
    ]
    assert "Aborted" not in result.output
