"""WARC export and import, and `show`, on real files: warcio reads what we write (its
ArchiveIterator and its `check`/`index` CLI as a second reader), and we import WARCs written by
wget against the demo portal and by warcio's own WARCWriter."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from archive_fixtures import news_page
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsarchive.cli import cli
from newsarchive.demo import DemoServer
from newsarchive.importing import IN_PROCESS_FIRST, import_fetched, import_page
from newsarchive.items import RawPage
from newsarchive.storage import Archive, default_pages_path
from newsarchive.warc import export_warc, import_warc, is_warc

WARCIO = [sys.executable, "-m", "warcio.cli"]
SITE = "https://warta.example.id"
FETCHED = datetime(2024, 3, 5, 2, 15, 7, tzinfo=UTC)


def _page(title: str, url: str, words: str = "Petani menunggu hujan") -> bytes:
    paragraphs = [f"{words} di {title.lower()} sejak pekan lalu, kata warga setempat."] * 3
    return news_page(title, paragraphs, canonical=url)


def _raw(url: str, body: bytes, **fields) -> RawPage:
    headers = {"Content-Type": "text/html; charset=utf-8", "Server": "nginx"}
    return RawPage(url=url, body=body, headers={**headers, **fields.pop("headers", {})}, **fields)


def _stored_pages(db: Path) -> set[tuple]:
    with sqlite3.connect(default_pages_path(db)) as conn:
        return set(
            conn.execute("SELECT url, final_url, status, sha256, fetched_at, part FROM pages")
        )


def _records(db: Path) -> dict[str, tuple]:
    with sqlite3.connect(db) as conn:
        return {
            url: rest for url, *rest in conn.execute("SELECT url, title, body, site FROM articles")
        }


KERETA = f"{SITE}/2024/03/06/kereta"


def _fetch_kereta(archive: Archive, when: datetime, page_2_later: int = 0) -> None:
    """A multi-page article fetched at `when` (page 2 that many seconds later): page 2 is kept
    as a part of page 1."""
    import_fetched(
        archive,
        _raw(KERETA, _page("Kereta cepat", KERETA), fetched_at=when),
        continuations=[
            _raw(
                f"{KERETA}?page=2",
                _page("Kereta cepat", KERETA, words="Penumpang halaman kedua"),
                fetched_at=when + timedelta(seconds=page_2_later),
            )
        ],
        site="warta",
    )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """An archive holding every kind of raw page a WARC must carry."""
    db = tmp_path / "source.db"
    saved = tmp_path / "saved.html"
    saved.write_bytes(_page("Berkas simpanan", f"{SITE}/2024/03/01/berkas"))
    with Archive(db) as archive:
        # A redirect followed: requested URL and final URL differ.
        import_fetched(
            archive,
            _raw(
                f"{SITE}/b/1?utm_source=x",
                _page("Sawah kering", f"{SITE}/2024/03/05/sawah"),
                final_url=f"{SITE}/2024/03/05/sawah",
                fetched_at=FETCHED,
                # What the wire said; the stored body is decoded, so these must not survive.
                headers={"Content-Encoding": "gzip", "Transfer-Encoding": "chunked"},
            ),
            site="warta",
        )
        # A multi-page article: page 2 is kept as a part of page 1.
        _fetch_kereta(archive, FETCHED)
        # An error page, and a file imported without a URL (no fetch time, a file: URI).
        import_fetched(
            archive,
            _raw(f"{SITE}/hilang", b"<html><body><h1>404</h1></body></html>", status=404),
            site="warta",
        )
        import_page(archive, saved.read_bytes(), path=saved)
    return db


def test_export_is_a_valid_warc_with_every_raw_page(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "crawl.warc.gz"
    with Archive(source, readonly=True) as archive:
        assert export_warc(archive, out) == (5, 0)  # no page fetched again
    assert out.read_bytes()[:2] == b"\x1f\x8b" and is_warc(out)
    with sqlite3.connect(default_pages_path(source)) as conn:
        stored = {
            row[0]: row[1:]
            for row in conn.execute(
                "SELECT coalesce(final_url, url), sha256, fetched_at, stored_at, url FROM pages"
            )
        }

    seen: dict[str, list[str]] = {}
    with out.open("rb") as handle:
        for record in ArchiveIterator(handle, check_digests=True):
            uri = record.rec_headers.get_header("WARC-Target-URI")
            seen.setdefault(uri or "", []).append(record.rec_type)
            if record.rec_type not in ("response", "resource"):
                continue
            body = record.content_stream().read()
            sha256, fetched_at, stored_at, requested = stored[uri]
            assert hashlib.sha256(body).hexdigest() == sha256
            assert record.rec_headers.get_header("WARC-Date") == (fetched_at or stored_at)
            assert record.rec_headers.get_header("WARC-Payload-Digest").startswith("sha1:")
            assert record.rec_headers.get_header("WARC-Record-ID")
            if record.rec_type == "response":
                http = record.http_headers
                assert http.get_header("Content-Length") == str(len(body))
                assert http.get_header("Content-Encoding") is None
                assert http.get_header("Transfer-Encoding") is None
                assert http.get_header("Server") == "nginx"
            else:
                assert uri.startswith("file:")
                assert record.content_type.startswith("text/html")
    # Each page once: request + metadata + response for web pages, metadata + resource for the
    # imported file; the error page keeps its status.
    assert seen.pop("") == ["warcinfo"]
    assert len(seen) == 5
    for uri, types in seen.items():
        expected = (
            ["metadata", "resource"]
            if uri.startswith("file:")
            else ["request", "metadata", "response"]
        )
        assert types == expected, uri
    # warcio's command-line tools read it too (digests checked).
    check = subprocess.run([*WARCIO, "check", "-v", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") >= 5
    index = subprocess.run(
        [*WARCIO, "index", "-f", "warc-type,warc-target-uri,http:status", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [json.loads(line) for line in index.stdout.splitlines()]
    statuses = {
        line["warc-target-uri"]: line.get("http:status")
        for line in lines
        if line["warc-type"] == "response"
    }
    assert statuses[f"{SITE}/hilang"] == "404"
    assert statuses[f"{SITE}/2024/03/05/sawah"] == "200"


def test_round_trip_keeps_urls_bodies_times_parts_and_records(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "crawl.warc"  # plain, not gzip
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "--format", "warc", "-o", str(out), "--db", str(source)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"WARC/1.1")
    copy = tmp_path / "copy.db"
    result = runner.invoke(cli, ["import", str(out), "--db", str(copy)])
    assert result.exit_code == 0, result.output
    assert "imported 4 pages" in result.output  # the multi-page article is one import
    assert _stored_pages(copy) - {p for p in _stored_pages(source) if p[4] is None} >= set()
    original, again = _stored_pages(source), _stored_pages(copy)
    # Everything kept but the fetch time of the imported file, which had none: its stored time.
    assert {p for p in original if p[4]} <= again
    assert {p[:4] + p[5:] for p in original} == {p[:4] + p[5:] for p in again}
    assert _records(copy) == _records(source)
    with sqlite3.connect(default_pages_path(copy)) as conn:
        headers = json.loads(
            conn.execute("SELECT headers FROM pages WHERE final_url IS NOT NULL").fetchone()[0]
        )
        kinds = dict(conn.execute("SELECT url, kind FROM pages WHERE status = 404"))
    assert "Content-Encoding" not in headers and headers["Server"] == "nginx"
    assert kinds == {f"{SITE}/hilang": "error"}


def test_a_takedown_travels_through_export_and_import(source: Path, tmp_path: Path) -> None:
    # The crawl keeps no page of the 404 or 410 it met at an archived article: before, its WARC
    # held only the article's page, and importing it gave the article back as live.
    gone = f"{SITE}/2024/03/05/sawah"
    with Archive(source) as archive:
        archive.record_failure(gone, "HTTP 410", status=410, site="warta")
        [(url, since)] = archive.taken_down()
        assert url == gone and since > FETCHED.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert archive.taken_down(site="nothing") == []
    out = tmp_path / "crawl.warc.gz"
    runner = CliRunner()
    exported = runner.invoke(
        cli, ["export", "--format", "warc", "-o", str(out), "--db", str(source)]
    )
    assert exported.exit_code == 0, exported.output
    with out.open("rb") as handle:
        said = [
            (r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
            for r in ArchiveIterator(handle)
            if r.rec_type == "metadata" and not r.rec_headers.get_header("WARC-Concurrent-To")
        ]
    assert said == [(gone, f"gone-since: {since}\r\n".encode())]
    copy = tmp_path / "copy.db"
    imported = runner.invoke(cli, ["import", str(out), "--db", str(copy)])
    assert imported.exit_code == 0, imported.output
    assert "1 articles marked taken down, as the WARC says" in imported.output
    with sqlite3.connect(copy) as conn:
        marked = conn.execute("SELECT url, gone_since FROM articles WHERE gone_since IS NOT NULL")
        assert marked.fetchall() == [(gone, since)]
    again = runner.invoke(cli, ["import", str(out), "--db", str(copy)])
    assert again.exit_code == 0 and "taken down" not in again.output


def _fetches(db: Path) -> set[tuple]:
    with sqlite3.connect(default_pages_path(db)) as conn:
        return set(
            conn.execute(
                "SELECT p.url, p.sha256, f.fetched_at FROM fetches f JOIN pages p ON p.id = f.page_id"
            )
        )


def _article_state(db: Path) -> tuple:
    with sqlite3.connect(db) as conn:
        return (
            conn.execute(
                "SELECT url, body, first_seen, last_seen, fetch_count, content_since FROM articles"
            ).fetchall(),
            conn.execute("SELECT content_hash, reason FROM versions ORDER BY id").fetchall(),
        )


def _day(day: int) -> datetime:
    return datetime(2024, 3, day, 2, 0, tzinfo=UTC)


def test_refetches_travel_as_revisit_records_in_the_order_stored(tmp_path: Path) -> None:
    # An article whose text changed and then went back: its record ends with the first text. The
    # WARC held each body once, so an import used to end with the second text, and lost every
    # refetch that found the page unchanged (last_seen, fetch_count).
    url = f"{SITE}/2024/03/01/sawah"
    first, second = _page("Sawah", url), _page("Sawah", url, words="Petani menanam padi")
    source = tmp_path / "source.db"
    with Archive(source) as archive:
        for body, day in [(first, 1), (first, 2), (second, 3), (first, 4), (first, 5)]:
            import_fetched(archive, _raw(url, body, fetched_at=_day(day)), site="warta")
    out = tmp_path / "sawah.warc.gz"
    runner = CliRunner()
    exported = runner.invoke(
        cli, ["export", "--format", "warc", "-o", str(out), "--db", str(source)]
    )
    assert exported.exit_code == 0, exported.output
    assert "exported 2 raw pages and 3 refetches" in exported.output
    with out.open("rb") as handle:
        records = [
            (r.rec_type, dict(r.rec_headers.headers))
            for r in ArchiveIterator(handle)
            if r.rec_type in ("response", "revisit")
        ]
    assert [(kind, h["WARC-Date"][8:10]) for kind, h in records] == [
        ("response", "01"), ("revisit", "02"), ("response", "03"), ("revisit", "04"),
        ("revisit", "05"),
    ]  # fmt: skip
    first_record = records[0][1]
    for kind, headers in records:
        if kind == "revisit":
            assert headers["WARC-Profile"].endswith("/revisit/identical-payload-digest")
            assert headers["WARC-Refers-To"] == first_record["WARC-Record-ID"]
            assert headers["WARC-Refers-To-Date"] == first_record["WARC-Date"]
            assert headers["WARC-Payload-Digest"] == first_record["WARC-Payload-Digest"]
    check = subprocess.run([*WARCIO, "check", "-v", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    copy = tmp_path / "copy.db"
    imported = runner.invoke(cli, ["import", str(out), "--db", str(copy)])
    assert imported.exit_code == 0, imported.output
    assert "imported 5 pages" in imported.output and "3 of them refetches" in imported.output
    assert _article_state(copy) == _article_state(source)
    (_, body, *_), *_ = _article_state(copy)[0]
    assert body.startswith("Petani menunggu hujan")
    assert _fetches(copy) == _fetches(source)


def test_refetches_replay_in_order_through_extraction_workers(tmp_path: Path) -> None:
    # Past the first IN_PROCESS_FIRST pages an import extracts in worker processes, and a
    # revisit whose capture is stored already is read back as it is read (not in its turn).
    source = tmp_path / "source.db"
    url = f"{SITE}/2024/03/01/sawah"
    first, second = _page("Sawah", url), _page("Sawah", url, words="Petani menanam padi")
    with Archive(source) as archive:
        for n in range(IN_PROCESS_FIRST):
            filler = f"{SITE}/2024/02/01/isi-{n}"
            body = _page(f"Isi {n}", filler, words=f"Warga desa {n} menunggu")
            import_fetched(archive, _raw(filler, body, fetched_at=_day(1)), site="warta")
        for day, body in enumerate([first, first, second, first, first] * 2, start=6):
            import_fetched(archive, _raw(url, body, fetched_at=_day(day)), site="warta")
        out = tmp_path / "sawah.warc.gz"
        assert export_warc(archive, out).revisits == 8
    copy = tmp_path / "copy.db"
    imported = CliRunner().invoke(cli, ["import", str(out), "--db", str(copy), "--jobs", "2"])
    assert imported.exit_code == 0, imported.output
    assert _article_state(copy) == _article_state(source)
    assert _fetches(copy) == _fetches(source)


def test_a_multi_page_article_refetched_travels_as_revisits_of_each_page(
    source: Path, tmp_path: Path
) -> None:
    # Page 2 is fetched a second after page 1; stored as one refetch at page 1's time, its
    # own fetch time was lost (fuzz_soak seed 3921's round trip).
    first = KERETA
    with Archive(source) as archive:
        # Fetched again, both pages unchanged.
        _fetch_kereta(archive, datetime(2024, 3, 9, 1, 0, tzinfo=UTC), page_2_later=1)
        out = tmp_path / "kereta.warc"
        assert export_warc(archive, out, site="warta") == (4, 2)
    with out.open("rb") as handle:
        records = [r.rec_headers for r in ArchiveIterator(handle)]
    # Each page's revisit names that page's own record.
    responses = {
        h.get_header("WARC-Target-URI"): h.get_header("WARC-Record-ID")
        for h in records
        if h.get_header("WARC-Type") == "response"
    }
    revisits = {
        h.get_header("WARC-Target-URI"): h.get_header("WARC-Refers-To")
        for h in records
        if h.get_header("WARC-Type") == "revisit"
    }
    assert revisits == {url: responses[url] for url in (first, f"{first}?page=2")}
    copy = tmp_path / "copy.db"
    with Archive(copy) as archive:
        result = import_warc(archive, out)
        assert result.revisits == 1 and result.outcomes["unchanged"] == 1
        kereta = archive.article(first)
        assert (kereta["fetch_count"], kereta["last_seen"]) == (2, "2024-03-09T01:00:00Z")
    # Both pages fetched twice, as in the source (the imported file is not of the site).
    refetched = {f for f in _fetches(source) if f[0].startswith(first)}
    assert len(refetched) == 4 and refetched <= _fetches(copy)

    # Another tool's revisit of the later page alone brings nothing: the first page's does.
    other = tmp_path / "part.warc"
    with other.open("wb") as handle:
        writer = WARCWriter(handle, gzip=False)
        writer.write_record(
            writer.create_revisit_record(
                f"{first}?page=2",
                "md5:0",
                f"{first}?page=2",
                FETCHED.strftime("%Y-%m-%dT%H:%M:%SZ"),
                warc_headers_dict={"WARC-Date": "2024-03-10T00:00:00Z"},
            )
        )
    with Archive(copy) as archive:
        result = import_warc(archive, other)
        assert result.imported == 0
        assert list(result.skipped) == [
            "revisits of a later page of an article (its first page's bring it)"
        ]


def test_a_304_revisit_is_a_refetch_of_the_page_archived(tmp_path: Path) -> None:
    # Heritrix and others record a conditional request answered "304 Not Modified" as a
    # revisit of profile server-not-modified: the page archived, found unchanged.
    url = f"{SITE}/2024/03/01/sawah"
    warc = tmp_path / "conditional.warc"
    with warc.open("wb") as handle:
        writer = WARCWriter(handle, gzip=False)
        writer.write_record(
            writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(_page("Sawah", url)),
                http_headers=StatusAndHeaders(
                    "200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1"
                ),
                warc_headers_dict={"WARC-Date": "2024-03-01T02:00:00Z"},
            )
        )
        revisit = writer.create_revisit_record(
            url,
            "sha1:" + "A" * 32,  # what no payload hashes to: the time decides
            url,
            "2024-03-01T02:00:00Z",
            http_headers=StatusAndHeaders("304 Not Modified", [], protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": "2024-03-04T02:00:00Z"},
        )
        revisit.rec_headers.replace_header(
            "WARC-Profile", "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
        )
        writer.write_record(revisit)
    with Archive(tmp_path / "a.db") as archive:
        result = import_warc(archive, warc)
        assert dict(result.outcomes) == {"new": 1, "unchanged": 1} and not result.skipped
        row = archive.article(url)
        assert (row["fetch_count"], row["last_seen"]) == (2, "2024-03-04T02:00:00Z")
        assert archive.raw_page(row["page_id"])[0]["status"] == 200
    with sqlite3.connect(default_pages_path(tmp_path / "a.db")) as conn:
        assert conn.execute("SELECT status FROM fetches").fetchall() == [(200,), (200,)]


def test_revisits_of_captures_the_archive_lacks_are_counted_not_stored(tmp_path: Path) -> None:
    url = f"{SITE}/2024/03/01/sawah"
    body = _page("Sawah", url)
    source = tmp_path / "source.db"
    with Archive(source) as archive:
        import_fetched(archive, _raw(url, body, fetched_at=_day(1)), site="warta")
        whole = tmp_path / "whole.warc.gz"
        export_warc(archive, whole)
        import_fetched(archive, _raw(url, body, fetched_at=_day(2)), site="warta")
        # Only what was fetched since day 2: the refetch, its page in the earlier file.
        since = tmp_path / "since.warc.gz"
        assert export_warc(archive, since, since="2024-03-02") == (0, 1)
    with Archive(tmp_path / "empty.db") as archive:
        result = import_warc(archive, since)
        assert result.imported == 0 and archive.count() == 0
        assert dict(result.skipped) == {"revisits of a capture not in the archive": 1}
    with Archive(tmp_path / "both.db") as archive:
        import_warc(archive, whole)
        assert import_warc(archive, since).revisits == 1
    assert _article_state(tmp_path / "both.db") == _article_state(source)

    # Another tool's revisits that name the archived page's URL but a time no capture of it
    # has, with another payload's sha1 or a digest that cannot be checked, are not taken for
    # refetches of it.
    other = tmp_path / "other.warc"
    with other.open("wb") as handle:
        writer = WARCWriter(handle, gzip=False)
        for digest, refers_date in [
            ("sha1:" + "A" * 32, "2024-03-01T05:00:00Z"),
            ("md5:0", "2024-03-07T02:00:00Z"),
        ]:
            writer.write_record(
                writer.create_revisit_record(
                    url,
                    digest,
                    url,
                    refers_date,
                    warc_headers_dict={"WARC-Date": "2024-03-08T00:00:00Z"},
                )
            )
    with Archive(tmp_path / "both.db") as archive:
        result = import_warc(archive, other)
        assert dict(result.skipped) == {"revisits of a capture not in the archive": 2}
    assert _article_state(tmp_path / "both.db") == _article_state(source)


def test_export_filters_by_site_and_fetch_time(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "warta.warc.gz"
    with Archive(source, readonly=True) as archive:
        # The multi-page article's part travels with its first page.
        assert export_warc(archive, out, site="warta", since="2024-03-05").pages == 3 + 1
        assert export_warc(archive, out, site="nothing").pages == 0
    with out.open("rb") as handle:
        assert [r.rec_type for r in ArchiveIterator(handle)] == ["warcinfo"]


def test_export_needs_a_file_and_a_writable_place(source: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "--format", "warc", "--db", str(source)])
    assert result.exit_code == 1 and "Error: Warc is binary" in result.output
    target = tmp_path / "missing-dir" / "x.warc.gz"
    result = runner.invoke(
        cli, ["export", "--format", "warc", "-o", str(target), "--db", str(source)]
    )
    assert result.exit_code == 1
    assert result.output.count("Error:") == 1 and str(target) in result.output
    assert "Traceback" not in result.output


def _warcio_file(path: Path, *, gzip_records: bool = True) -> None:
    """A WARC written by warcio's own writer, as other tools make them: a gzip-encoded chunked
    HTML response, an image, a redirect, a revisit."""
    article = _page("Gempa Cianjur", f"{SITE}/2024/02/01/gempa")
    wire = gzip.compress(article)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(wire), wire)
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=gzip_records)
        response = writer.create_warc_record(
            f"{SITE}/2024/02/01/gempa",
            "response",
            payload=io.BytesIO(chunked),
            http_headers=StatusAndHeaders(
                "200 OK",
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Encoding", "gzip"),
                    ("Transfer-Encoding", "chunked"),
                    ("X-Cache", "HIT"),
                ],
                protocol="HTTP/1.1",
            ),
            warc_headers_dict={"WARC-Date": "2024-02-01T03:04:05Z"},
        )
        writer.write_record(response)
        image = writer.create_warc_record(
            f"{SITE}/foto.png",
            "response",
            payload=io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
            http_headers=StatusAndHeaders(
                "200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.1"
            ),
        )
        writer.write_record(image)
        redirect = writer.create_warc_record(
            f"{SITE}/lama",
            "response",
            payload=io.BytesIO(b""),
            http_headers=StatusAndHeaders(
                "301 Moved Permanently", [("Location", "/2024/02/02/baru")], protocol="HTTP/1.1"
            ),
        )
        writer.write_record(redirect)
        moved = writer.create_warc_record(
            f"{SITE}/2024/02/02/baru",
            "response",
            payload=io.BytesIO(_page("Jalan baru", f"{SITE}/2024/02/02/baru")),
            http_headers=StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1"
            ),
            warc_headers_dict={"WARC-Date": "2024-02-02T00:00:00Z"},
        )
        writer.write_record(moved)
        revisit = writer.create_revisit_record(
            f"{SITE}/2024/02/01/gempa",
            digest=response.rec_headers.get_header("WARC-Payload-Digest"),
            refers_to_uri=f"{SITE}/2024/02/01/gempa",
            refers_to_date="2024-02-01T03:04:05Z",
            warc_headers_dict={"WARC-Date": "2024-02-03T08:00:00Z"},
        )
        writer.write_record(revisit)


@pytest.mark.parametrize("gzip_records", [True, False])
def test_import_warcio_written_warc(tmp_path: Path, gzip_records: bool) -> None:
    warc = tmp_path / ("other.warc.gz" if gzip_records else "other.warc")
    _warcio_file(warc, gzip_records=gzip_records)
    with Archive(tmp_path / "w.db") as archive:
        result = import_warc(archive, warc)
        assert result.stopped is None and result.errors == []
        # The revisit is the same page fetched again: a refetch, read back from the archive.
        assert dict(result.outcomes) == {"new": 2, "unchanged": 1} and result.revisits == 1
        assert dict(result.skipped) == {"not HTML (image/png)": 1, "redirects": 1}
        gempa = archive.article(f"{SITE}/2024/02/01/gempa")
        assert gempa["title"] == "Gempa Cianjur" and gempa["site"] == "warta.example.id"
        assert gempa["fetch_count"] == 2 and gempa["last_seen"] == "2024-02-03T08:00:00Z"
        meta, body = archive.raw_page(gempa["page_id"])
        assert body == _page("Gempa Cianjur", f"{SITE}/2024/02/01/gempa")  # de-chunked, inflated
        assert meta["status"] == 200 and meta["fetched_at"] == "2024-02-01T03:04:05Z"
        headers = json.loads(meta["headers"])
        assert headers["X-Cache"] == "HIT" and "Content-Encoding" not in headers
        assert "Transfer-Encoding" not in headers
        # The redirect's target is kept under the URL first asked for, as the crawl keeps it.
        moved = archive.article(f"{SITE}/lama")
        meta, _ = archive.raw_page(moved["page_id"])
        assert (meta["url"], meta["final_url"]) == (f"{SITE}/lama", f"{SITE}/2024/02/02/baru")


def _wget_warc(server: DemoServer, where: Path) -> Path:
    wget = shutil.which("wget")
    assert wget, "wget is needed for this test (CI: apt-get install -y wget); it is not installed"
    subprocess.run(
        [
            wget,
            "--recursive",
            "--level=2",
            "--no-verbose",
            "--tries=1",
            "--timeout=10",
            "-P",
            str(where / "mirror"),
            "--warc-file",
            str(where / "demo"),
            server.base_url,
        ],
        capture_output=True,
        timeout=120,
    )  # wget exits 8 on the portal's deliberate 404/500 pages: the WARC is what counts
    warc = where / "demo.warc.gz"
    assert warc.is_file(), "wget wrote no WARC"
    return warc


def test_import_wget_warc_of_the_demo_portal(tmp_path: Path) -> None:
    with DemoServer(articles=12) as server:
        warc = _wget_warc(server, tmp_path)
        portal = server.portal
    with warc.open("rb") as handle:
        responses = [
            (
                r.rec_headers.get_header("WARC-Target-URI"),
                r.http_headers.get_statuscode(),
                r.http_headers.get_header("Content-Type") or "",
                r.rec_headers.get_header("WARC-Date"),
            )
            for r in ArchiveIterator(handle)
            if r.rec_type == "response"
        ]
    html = [r for r in responses if r[2].startswith("text/html") and not r[1].startswith("3")]
    db = tmp_path / "wget.db"
    result = CliRunner().invoke(cli, ["import", str(warc), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert f"imported {len(html)} pages" in result.output
    assert "redirects" in result.output and "not HTML (text/plain)" in result.output
    with Archive(db, readonly=True) as archive:
        assert archive.count("pages") + 0 >= len({(u, s) for u, s, _, _ in html}) - 5
        for article in portal.articles:
            row = archive.article(portal.url(article.path))
            assert row is not None, article.path
            assert row["title"] == article.title
        # Every page kept with its status and the fetch time wget recorded.
        with sqlite3.connect(default_pages_path(db)) as conn:
            kept = {
                (url, str(status), fetched)
                for url, status, fetched in conn.execute(
                    "SELECT coalesce(final_url, url), status, fetched_at FROM pages"
                )
            }
        assert {(u, s, d) for u, s, _, d in html} == kept
        assert any(s == "404" for _, s, _, _ in html)
        # The old-scheme URL that redirects: the page is kept under it, with its final URL.
        old = portal.url(portal.redirect_from)
        assert archive.article(old)["page_url"].split("?")[0] == old


def _bomb_member(url: str, size: int, content_type: str) -> bytes:
    """One gzip member holding a WARC response whose payload is `size` zero bytes: a few kB on
    disk, gigabytes if read whole."""
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {size}\r\n\r\n"
    ).encode()
    warc = (
        "WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:bomb>\r\n"
        f"WARC-Target-URI: {url}\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(head) + size}\r\n\r\n"
    ).encode()
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(warc + head)]
    zeros = b"\0" * (1 << 20)
    for _ in range(size >> 20):
        parts.append(compressor.compress(zeros))
    parts.append(compressor.compress(b"\r\n\r\n"))
    parts.append(compressor.flush())
    return b"".join(parts)


@pytest.mark.parametrize("content_type", ["text/html", "image/png"])
def test_gzip_bomb_stops_with_one_error_and_keeps_earlier_pages(
    tmp_path: Path, content_type: str
) -> None:
    good = tmp_path / "good.warc.gz"
    _warcio_file(good)
    bomb = tmp_path / "bomb.warc.gz"
    bomb_at = good.stat().st_size
    # 64 MB of zeros against a 1 MB limit; then a page that is never reached.
    bomb.write_bytes(
        good.read_bytes() + _bomb_member(f"{SITE}/bom", 64 << 20, content_type) + good.read_bytes()
    )
    assert bomb.stat().st_size < 200_000
    db = tmp_path / "b.db"
    result = CliRunner().invoke(cli, ["import", str(bomb), "--db", str(db), "--max-size", "1MB"])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert str(bomb) in errors[0] and f"offset {bomb_at}" in errors[0]
    assert "decompression bomb" in errors[0]
    assert "Traceback" not in result.output
    with Archive(db, readonly=True) as archive:
        assert archive.count("articles") == 2  # the pages before the bomb stay imported
        assert archive.article(f"{SITE}/bom") is None


def test_too_big_page_is_skipped_with_an_error_and_the_rest_imported(tmp_path: Path) -> None:
    warc = tmp_path / "big.warc"
    filler = "".join(
        f"<p>Paragraf {n} tentang banjir yang berbeda-beda {n * 7919}.</p>" for n in range(40000)
    )
    with warc.open("wb") as handle:
        writer = WARCWriter(handle, gzip=False)
        writer.write_record(
            writer.create_warc_record(
                f"{SITE}/besar",
                "response",
                payload=io.BytesIO(f"<html><body>{filler}</body></html>".encode()),
                http_headers=StatusAndHeaders(
                    "200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1"
                ),
            )
        )
    with warc.open("ab") as handle:
        _warcio_file(tmp_path / "rest.warc", gzip_records=False)
        handle.write((tmp_path / "rest.warc").read_bytes())
    result = CliRunner().invoke(
        cli, ["import", str(warc), "--db", str(tmp_path / "x.db"), "--max-size", "1MB"]
    )
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "offset 0" in errors[0] and f"{SITE}/besar" in errors[0]
    assert "past the 1 MB limit" in errors[0]
    assert "imported 3 pages" in result.output and "1 failed" in result.output


def test_a_record_whose_url_urllib_cannot_take_apart_is_kept_and_the_rest_imported(
    tmp_path: Path,
) -> None:
    # Before, its record stopped the import ("not a readable WARC: Invalid IPv6 URL"), and every
    # record after it was left out.
    warc = tmp_path / "odd.warc"
    urls = ["http://[::1/2024/02/01/a", "http://warta.example.id:8o8/b", f"{SITE}/2024/02/03/c"]
    with warc.open("wb") as handle:
        writer = WARCWriter(handle, gzip=False)
        for url in urls:
            writer.write_record(
                writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(_page("Banjir di hilir sungai", url)),
                    http_headers=StatusAndHeaders(
                        "200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1"
                    ),
                )
            )
    db = tmp_path / "x.db"
    result = CliRunner().invoke(cli, ["import", str(warc), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "imported 3 pages" in result.output
    assert {url for url, *_ in _stored_pages(db)} == set(urls)
    assert f"{SITE}/2024/02/03/c" in _records(db)


def test_broken_warcs_name_the_file_and_offset(tmp_path: Path) -> None:
    good = tmp_path / "good.warc.gz"
    _warcio_file(good)
    data = good.read_bytes()
    with good.open("rb") as handle:
        offsets = [0]
        iterator = ArchiveIterator(handle)
        for _ in iterator:
            offsets.append(iterator.get_record_offset() + iterator.get_record_length())
    truncated = tmp_path / "truncated.warc.gz"
    # Cut inside the fourth record (the moved page): the first page is kept, the cut is named.
    truncated.write_bytes(data[: offsets[3] + (offsets[4] - offsets[3]) // 2])
    garbage = tmp_path / "garbage.warc"
    garbage.write_bytes(b"WARC/1.1\r\nthis is no header\r\n\r\n" + b"x" * 100)
    runner = CliRunner()
    for path, kept in ((truncated, 1), (garbage, 0)):
        db = tmp_path / f"{path.stem}.db"
        result = runner.invoke(cli, ["import", str(path), "--db", str(db)])
        assert result.exit_code == 1, result.output
        errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, result.output
        assert str(path) in errors[0] and "record at offset" in errors[0]
        assert "Traceback" not in result.output
        with Archive(db, readonly=True) as archive:
            assert archive.count("articles") == kept
    assert (
        f"offset {offsets[3]}"
        in runner.invoke(cli, ["import", str(truncated), "--db", str(tmp_path / "again.db")]).output
    )


def test_show_prints_the_record_or_the_raw_bytes(source: Path) -> None:
    runner = CliRunner()
    url = f"{SITE}/2024/03/05/sawah"
    # Any spelling the archive keys alike: the request URL with its tracking parameter.
    for asked in (url, f"{SITE}/b/1?utm_source=x", url + "?utm_campaign=y"):
        result = runner.invoke(cli, ["show", asked, "--db", str(source)])
        assert result.exit_code == 0, result.output
        record = json.loads(result.output)
        assert record["title"] == "Sawah kering" and isinstance(record["authors"], list)
    result = runner.invoke(cli, ["show", url, "--raw", "--db", str(source)])
    assert result.exit_code == 0
    assert result.stdout_bytes == _page("Sawah kering", url)
    # A page without a record (the error page) is still there in raw form.
    result = runner.invoke(cli, ["show", f"{SITE}/hilang", "--raw", "--db", str(source)])
    assert result.stdout_bytes == b"<html><body><h1>404</h1></body></html>"
    for args in ([f"{SITE}/nope"], [f"{SITE}/nope", "--raw"], [f"{SITE}/hilang"]):
        result = runner.invoke(cli, ["show", *args, "--db", str(source)])
        assert result.exit_code == 1
        assert result.output.count("Error:") == 1 and args[0] in result.output
    help_text = runner.invoke(cli, ["show", "--help"]).output
    assert "newsarchive show https://" in help_text


def test_a_warc_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    misnamed = tmp_path / "page.html"
    _warcio_file(misnamed)
    assert is_warc(misnamed)
    html = tmp_path / "crawl.warc.gz"
    html.write_bytes(gzip.compress(b"<html><body>WARC/</body></html>"))
    assert not is_warc(html) and not is_warc(tmp_path / "absent.warc")
    result = CliRunner().invoke(cli, ["import", str(misnamed), "--db", str(tmp_path / "m.db")])
    assert result.exit_code == 0 and "imported 3 pages" in result.output
