"""WARC import of what benchmarks/fuzz_import.py found (2026-12-06): a record whose WARC framing is
sound but whose page is odd or damaged costs that page at most, never the records after it; a
record whose framing is not is said, not read past in silence. Before, most of these stopped the
import at the record ("...; stopped there") and every page after it in the file was left out."""

from __future__ import annotations

import gzip
import io
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import brotli
import pytest
from archive_fixtures import news_page
from click.testing import CliRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsarchive.cli import cli
from newsarchive.storage import Archive, default_pages_path

SITE = "https://warta.example.id"
BEFORE = f"{SITE}/2024/04/01/sebelum"
ODD = f"{SITE}/2024/04/02/aneh"
AFTER = f"{SITE}/2024/04/03/sesudah"


def _page(title: str, url: str, paragraphs: int = 3) -> bytes:
    rng = random.Random(title)
    words = ["banjir", "warga", "sungai", "hujan", "pagi", "petugas", "jalan", "desa", "air"]
    text = [
        " ".join(f"{rng.choice(words)}{rng.randrange(1000)}" for _ in range(40)) + "."
        for _ in range(paragraphs)
    ]
    return news_page(title, text, canonical=url)


def _response(
    writer: WARCWriter,
    url: str,
    payload: bytes,
    headers: list[tuple[str, str]],
    status: str = "200 OK",
):
    return writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(payload),
        http_headers=StatusAndHeaders(
            status, [("Content-Type", "text/html; charset=utf-8"), *headers], protocol="HTTP/1.1"
        ),
    )


def _warc(
    path: Path,
    odd_payload: bytes,
    odd_headers: list[tuple[str, str]],
    status: str = "200 OK",
    **odd_warc: str,
) -> None:
    """A page, the odd record (its payload, HTTP status and headers as given, WARC headers
    changed by `odd_warc`), and a page after it; gzip per record when `path` ends in .gz."""
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=path.suffix == ".gz")
        writer.write_record(_response(writer, BEFORE, _page("Sebelum", BEFORE), []))
        odd = _response(writer, ODD, odd_payload, odd_headers, status)
        for name, value in odd_warc.items():
            odd.rec_headers.replace_header(name, value)
        writer.write_record(odd)
        writer.write_record(_response(writer, AFTER, _page("Sesudah", AFTER), []))


def _import(warc: Path, db: Path):
    return CliRunner().invoke(cli, ["import", str(warc), "--db", str(db), "--jobs", "1"])


def _stored(db: Path) -> set[str]:
    with sqlite3.connect(default_pages_path(db)) as conn:
        return {url for (url,) in conn.execute("SELECT url FROM pages")}


def _body(db: Path, url: str) -> bytes:
    with Archive(db, readonly=True) as archive:
        return archive.raw_page(archive.article(url)["page_id"])[1]


@pytest.fixture(params=["x.warc", "x.warc.gz"])
def warc(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return tmp_path / request.param


def test_a_brotli_encoded_page_is_decoded_and_the_rest_imported(warc: Path) -> None:
    # warcio 1.8 cannot decode brotli with the brotli Scrapy requires (>= 1.2): "not a readable
    # WARC: 'brotli.Decompressor' object has no attribute 'unused_data'". A long page: decoded
    # over several reads.
    page = _page("Aneh", ODD, paragraphs=800)
    assert len(page) > 200_000
    _warc(warc, brotli.compress(page), [("Content-Encoding", "br")])
    db = warc.parent / "a.db"
    result = _import(warc, db)
    assert result.exit_code == 0, result.output
    assert "imported 3 pages" in result.output
    assert _body(db, ODD) == page
    assert AFTER in _stored(db)


def test_a_body_that_breaks_off_in_its_gzip_encoding_is_one_error_and_the_rest_imported(
    warc: Path,
) -> None:
    # Long enough for its gzip to span several reads; broken near its end (where a disk or a
    # transfer error would leave it), after the page began to decode.
    page = _page("Aneh", ODD, paragraphs=800)
    encoded = bytearray(gzip.compress(page))
    assert len(encoded) > 40_000
    for at in range(len(encoded) - 2000, len(encoded) - 1000, 50):
        encoded[at] ^= 0x5A
    _warc(warc, bytes(encoded), [("Content-Encoding", "gzip")])
    db = warc.parent / "g.db"
    result = _import(warc, db)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert ODD in errors[0] and "gzip Content-Encoding breaks off" in errors[0]
    assert "stopped there" not in result.output
    assert "imported 2 pages" in result.output and "1 failed" in result.output
    assert _stored(db) == {BEFORE, AFTER}


def test_bytes_after_the_last_chunk_are_no_truncation(warc: Path) -> None:
    # warcio stops reading a chunked body at its last chunk; the record's bytes after it were
    # taken for a cut file: "the record ends 7 bytes early: truncated". A long gzip-encoded page:
    # its gzip ends in the middle of a read.
    page = _page("Aneh", ODD, paragraphs=800)
    wire = gzip.compress(page)
    chunked = b"%x\r\n%s\r\n0\r\n\r\nstray\r\n" % (len(wire), wire)
    _warc(warc, chunked, [("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")])
    db = warc.parent / "c.db"
    result = _import(warc, db)
    assert result.exit_code == 0, result.output
    assert "imported 3 pages" in result.output
    assert _body(db, ODD) == page
    assert AFTER in _stored(db)


def test_a_record_without_a_warc_type_is_skipped_and_the_rest_imported(warc: Path) -> None:
    # Its Content-Length says where it ends: before, "a record without a WARC-Type: not a WARC
    # record; stopped there".
    _warc(warc, _page("Aneh", ODD), [], **{"WARC-Type": ""})
    db = warc.parent / "t.db"
    result = _import(warc, db)
    assert result.exit_code == 0, result.output
    assert "imported 2 pages" in result.output
    assert "records without a WARC-Type 1" in result.output
    assert _stored(db) == {BEFORE, AFTER}


def test_a_record_without_a_content_length_in_a_plain_warc_is_an_error(tmp_path: Path) -> None:
    # Before, the rest of the file was read as that record's body: its page imported, every
    # record after it gone, exit status 0 and not a word.
    warc = tmp_path / "x.warc"
    _warc(warc, _page("Aneh", ODD), [])
    data = warc.read_bytes()
    odd_at = data.index(b"WARC/1.", 1)
    head_end = data.index(b"\r\n\r\n", odd_at)
    head = b"\r\n".join(
        line
        for line in data[odd_at:head_end].split(b"\r\n")
        if not line.startswith(b"Content-Length")
    )
    warc.write_bytes(data[:odd_at] + head + data[head_end:])
    db = tmp_path / "n.db"
    result = _import(warc, db)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert f"record at offset {odd_at}" in errors[0] and "without a Content-Length" in errors[0]
    assert _stored(db) == {BEFORE}


@pytest.mark.parametrize("status", ["99999999999999999999 Big", "-1 Minus", "0 Zero"])
def test_a_status_no_server_sends_is_skipped_and_the_rest_imported(
    tmp_path: Path, status: str
) -> None:
    # Before, a status past SQLite's integers ended the import in a traceback (OverflowError
    # storing it), every page after it left out; -1 and 0 were kept as the page's status.
    warc = tmp_path / "x.warc"
    _warc(warc, _page("Aneh", ODD), [], status=status)
    db = tmp_path / "s.db"
    result = _import(warc, db)
    assert not isinstance(result.exception, OverflowError), result.exception
    assert result.exit_code == 0, result.output
    assert "responses with an HTTP status no server sends 1" in result.output
    assert _stored(db) == {BEFORE, AFTER}


@pytest.mark.parametrize("kind", ["response", "resource"])
def test_a_record_without_a_target_uri_is_skipped_and_the_rest_imported(
    tmp_path: Path, kind: str
) -> None:
    # Before, a response without one stopped the import ("not a readable WARC: 'NoneType'
    # object has no attribute 'startswith'"), and a resource was kept under the URL "".
    warc = tmp_path / "x.warc"
    with warc.open("wb") as handle:
        writer = WARCWriter(handle, gzip=False)
        writer.write_record(_response(writer, BEFORE, _page("Sebelum", BEFORE), []))
        if kind == "response":
            odd = _response(writer, ODD, _page("Aneh", ODD), [])
        else:
            odd = writer.create_warc_record(
                ODD,
                "resource",
                payload=io.BytesIO(_page("Aneh", ODD)),
                warc_content_type="text/html",
            )
        odd.rec_headers.remove_header("WARC-Target-URI")
        writer.write_record(odd)
        writer.write_record(_response(writer, AFTER, _page("Sesudah", AFTER), []))
    db = tmp_path / "u.db"
    result = _import(warc, db)
    assert result.exit_code == 0, result.output
    assert "records without a WARC-Target-URI 1" in result.output
    assert _stored(db) == {BEFORE, AFTER}


def test_a_target_uri_with_a_space_is_kept_and_the_rest_imported(warc: Path) -> None:
    # warcio logs a warning on stderr for it, which the import took for a broken file: "Replacing
    # spaces in invalid WARC-Target-URI: ...; stopped there". In a process of its own: under
    # pytest the warning goes to pytest's log capture, not to stderr.
    _warc(warc, _page("Aneh", ODD), [], **{"WARC-Target-URI": f"{SITE}/2024/04/02/sp ace"})
    db = warc.parent / "p.db"
    result = subprocess.run(
        [sys.executable, "-m", "newsarchive", "import", str(warc), "--db", str(db), "-j", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert _stored(db) == {BEFORE, f"{SITE}/2024/04/02/sp%20ace", AFTER}


def test_a_gzip_warc_cut_inside_its_first_member_is_one_error(tmp_path: Path) -> None:
    # Before: a traceback (zlib.error) from telling whether the file is a WARC, before any file
    # of the import was read.
    warc = tmp_path / "x.warc.gz"
    _warc(warc, _page("Aneh", ODD), [])
    data = warc.read_bytes()
    second = data.index(b"\x1f\x8b", 10)  # the next member: the first is cut short before it
    warc.write_bytes(data[: second // 2] + data[second:])
    result = _import(warc, tmp_path / "z.db")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and str(warc) in errors[0] and "record at offset 0" in errors[0]


@pytest.mark.parametrize("name", ["x.warc", "x.warc.gz"])
def test_warc_and_then_no_warc_is_one_error_at_offset_0(tmp_path: Path, name: str) -> None:
    # Before, what follows `WARC/` was read as an old ARC record (a record of garbage) and the
    # error named an offset below 0 ("record at offset -60998").
    # A first line of five words or more: the shape of an ARC record's header line.
    data = b'WARC/<html lang="id" dir="ltr" class="no-js tema gelap">\n' + _page("Aneh", ODD)
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    db = tmp_path / "w.db"
    result = _import(path, db)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "record at offset 0: not a readable WARC" in errors[0], errors
    assert "skipped" not in result.output  # no record of garbage read
