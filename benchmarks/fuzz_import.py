"""Inputs `newsarchive import` must not fail on: WARCs and saved pages made of corpus pages and
damaged at random.

    python benchmarks/fuzz_import.py --seconds 600 --seed 1

Each case starts from a copy of one archive holding a clean WARC ("A", imported once per run)
and imports one damaged input ("B") into it with `newsarchive import` (--jobs 1 or 2; a third of
the --jobs 2 WARCs hold enough pages to start the extraction workers). B is a WARC (gzip per
record or plain, written with warcio) of corpus pages (fuzz_extract's pages; some at A's URLs;
bodies sent plain, chunked, gzip, deflate or br), its records damaged one of two ways:

- inside a record, its framing kept (the WARC Content-Length fixed up): odd or missing
  WARC-Target-URI, WARC-Date, WARC-Type and WARC-Record-ID; malformed HTTP status lines and
  headers; chunked bodies that are not; a Content-Encoding that lies, or an encoded body broken;
  huge headers; empty bodies; charsets that are not the body's; fuzz_extract's page mutations;
  revisit records, duplicates, newsarchive metadata records with odd facts (requested URL, site,
  part-of). The records after it are expected to be imported;
- the framing itself: a Content-Length that lies or is missing, a record or gzip member cut
  short, garbage between records, bytes flipped, the file cut, one gzip member for the whole
  file, a header block broken. Only the records before the damage are expected.

or saved files and directories (HTML, .gz/.xz/.bz2/.zst, cut or mutated, empty, binary, odd
names, a WARC among them). A case fails on: a traceback; no end within IMPORT_SECONDS; an exit
status other than 0 or 1; an output line that is none of import's own (an error of more than one
line); exit 1 without an `Error:` line or 0 with one; any raw page or article of A gone, or
`newsarchive verify` failing after B; an intact page of B not imported (but one whose requested
URL and body are an earlier record's: a page row is one requested URL and body, so it is a
fetch of that page, which keeps the first one's final URL). The first input of each kind of
failure is written to --out with what was expected (case.json).

Not a test (random, minutes long): a search for what the tests do not think of. Before the first
runs (2026-12-06) one record stopped the rest of its WARC from being imported when it was
brotli-encoded (warcio 1.8 cannot use brotli 1.2), its gzip body broke off, bytes followed its
last chunk, it had no WARC-Type or no WARC-Target-URI or a space in it, or its HTTP status was
past SQLite's integers (a traceback); a plain WARC record without a Content-Length swallowed
the rest of the file without a word; a gzip WARC cut in its first member was a traceback; and
`WARC/` followed by no WARC was read as an ARC record (an offset below 0). Left (not in
warc.py): a saved .gz page whose deflate data is corrupt is a traceback (zlib.error out of
importing.read_saved) that ends the whole import; a file name holding a newline splits its
Error line in two; a later page of an article already stored as a page of its own is not kept
as the article's part (re-extraction then loses its text).
"""

from __future__ import annotations

import argparse
import bz2
import collections
import gzip
import hashlib
import io
import json
import lzma
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import brotli
import zstandard
from fuzz_extract import SHARED, corpus_pages, mutated
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

A_SITE = "https://arsip.example.id"
# Archive A's pages (make_base), which a revisit record of B may name.
A_URLS = [f"{A_SITE}/2024/01/{n + 1:02d}/arsip-{n}" for n in range(12)]
REVISIT_PROFILES = ["identical-payload-digest", "server-not-modified", "identical", ""]
REVISIT_DATES = ["2024-02-03T03:15:00Z", "not a date", "2024-13-45T99:99:99Z", "", "\x00"]
REVISIT_DIGESTS = ["sha1:" + "A" * 32, "md5:0", "sha1:not base32!", "sha256:" + "0" * 64, ""]
B_SITE = "https://fuzz.example.id"
# An import of one case takes seconds (the biggest, 90 pages, about 20): past this it hangs.
IMPORT_SECONDS = 180
# Lines `import` writes itself; any other is part of an error of more than one line (or a
# library talking past it).
OWN_LINES = re.compile(
    r"^(imported \d+ pages into |skipped \d+ (WARC records|files in the directories) |Error: "
    r"|\d+ of them refetches that found a page again |\d+ articles marked taken down)"
)
ODD_URIS = [
    "",
    "http://[::1/x",
    "http://fuzz.example.id:8o8/x",
    "fuzz.example.id/no-scheme",
    "/relative/path",
    "javascript:void(0)",
    "http://fuzz.example.id/sp ace/%zz",
    "http://\u0444\u0443\u0437\u0437.example/\u00e9",
    "http://fuzz.example.id/" + "a" * 70_000,
    "<http://fuzz.example.id/angle>",
    "file:///etc/passwd",
    "http://",
]
ODD_DATES = ["", "garbage", "2024-13-45T99:99:99Z", "99999-01-01T00:00:00Z", "2024-02-30T00:00Z"]
ODD_DATES += ["2024-01-01", "2024-01-01T00:00:00+99:00", "1969-12-31T23:59:59Z", "0000-00-00"]
ODD_TYPES = ["", "foo", "RESPONSE", "Response", "revisit", "continuation", "conversion"]
ODD_TYPES += ["metadata", "request", "warcinfo", "resource", "response ", "\u00e9"]
ODD_STATUS_LINES = [
    b"HTTP/1.1 abc OK",
    b"HTTP/1.1",
    b"HTTP/1.1 200",
    b"HTTP/1.1 999 Whatever",
    b"HTTP/1.1 0 Zero",
    b"HTTP/1.1 -1 Minus",
    b"HTTP/1.1 99999999999999999999 Big",
    b"garbage",
    b"",
    b"HTTP/1.1 200 OK extra words \xff\xfe",
    b"ICY 200 OK",
    b"HTTP/2 200",
    b"HTTP/1.1 301 Moved",
    b"HTTP/1.1 404 Not Found",
    b"HTTP/1.1 500 Error",
    b"HTTP/1.1 204 No Content",
]
ODD_HEADER_LINES = [
    b"no colon here",
    b": empty name",
    b"X-Nul: a\x00b",
    b"X-Bytes: \xff\xfe\x80",
    b"\xff\xfe: bytes as name",
    b" continued header line",
    b"Content-Type: text/html; charset=x-unknown-charset",
    b"Content-Type: text/html; charset=utf-16",
    b"Content-Type: text/html; charset=",
    b'Content-Type: text/html; charset="windows-1252"',
    b"Content-Type: ;;;",
    b"Content-Type: application/octet-stream",
    b"Content-Type: text/plain",
    b"Content-Type:",
    b"Content-Length: -5",
    b"Content-Length: abc",
    b"Content-Length: 99999999999999999999999",
    b"Content-Length: 3",
    b"Location: http://[::1/",
    b"Location: " + B_SITE.encode() + b"/2024/01/01/elsewhere",
    b"Location:",
    b"Set-Cookie: " + b"c" * 9000,
]
ODD_ENCODINGS = [b"gzip", b"deflate", b"br", b"zstd", b"compress", b"identity", b"gzip, gzip"]
ODD_ENCODINGS += [b"x-unknown", b""]
ENCODERS = {b"gzip": gzip.compress, b"deflate": zlib.compress, b"br": brotli.compress}


@dataclass
class Record:
    """One record of B: its bytes as written, and what the checks expect of it."""

    name: str
    data: bytes = b""
    url: str | None = None  # the page's URL when it is an HTML page that should be imported
    damage: list[str] = field(default_factory=list)  # content damage: may be skipped itself
    copies: int = 1  # written this many times in a row (gzip: a member each)
    # A page's row in the archive: the URL it was requested at and its body's digest. A page
    # row is one (requested URL, body), so a later record with both equal to an earlier one's
    # is a fetch of that page, which keeps the first one's final URL.
    row: tuple[str, str] | None = None
    requested: str | None = None  # a metadata record's requested-url
    start: int = 0  # its offset in the file
    end: int = 0


@dataclass
class Case:
    """One input for `import`: the files, the arguments, and the pages expected after it."""

    label: str
    files: dict[str, bytes]  # relative name -> bytes ("dir/" names make directories)
    args: list[str]  # relative names given to import
    expected: set[str]  # URLs that must be in the archive afterwards
    # Expected too, but after a record damaged inside (its framing kept): a failure of its own.
    after_damage: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    jobs: int = 1


# --- WARC records --------------------------------------------------------------------------


def _http_block(status: bytes, headers: list[bytes], body: bytes) -> bytes:
    return status + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


def _chunked(data: bytes, rng: random.Random) -> bytes:
    out, at = [], 0
    while at < len(data):
        size = rng.randint(1, 20_000)
        out.append(b"%x\r\n%s\r\n" % (len(data[at : at + size]), data[at : at + size]))
        at += size
    return b"".join(out) + b"0\r\n\r\n"


def _warc_record(
    url: str, kind: str, block: bytes, rng: random.Random, *, content_type: str | None = None
) -> tuple[list[tuple[str, str]], bytes]:
    """A record's WARC headers (Record-ID, Date, Block-Digest as warcio writes them) and its
    block, the HTTP head included as given, so both can be damaged afterwards."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False, warc_version="WARC/1.1")
    if content_type is None:
        content_type = {
            "response": "application/http; msgtype=response",
            "revisit": "application/http; msgtype=response",
            "request": "application/http; msgtype=request",
            "metadata": "application/warc-fields",
        }.get(kind, "text/html")
    day = rng.randint(1, 28)
    # Written as a resource: warcio would parse (and rewrite) the HTTP head of a response.
    record = writer.create_warc_record(
        url,
        "resource",
        payload=io.BytesIO(block),
        length=len(block),
        warc_content_type=content_type,
        warc_headers_dict={"WARC-Date": f"2024-02-{day:02d}T0{day % 10}:15:00Z"},
    )
    writer.write_record(record)
    head, _, rest = out.getvalue().partition(b"\r\n\r\n")
    headers = []
    for line in head.decode().split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name == "WARC-Type":
            value = kind
        elif name == "WARC-Payload-Digest" and "application/http" in content_type:
            continue  # the digest of the block, not of the payload after the HTTP head
        headers.append((name, value.strip()))
    return headers, rest[: len(block)]


def _encode(headers: list[tuple[str, str]], block: bytes) -> bytes:
    """A record's bytes, its Content-Length the block's (framing damage comes later)."""
    lines = [f"{name}: {value}" for name, value in headers if name != "Content-Length"]
    lines.append(f"Content-Length: {len(block)}")
    head = "WARC/1.1\r\n" + "".join(f"{line}\r\n" for line in lines)
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + block + b"\r\n\r\n"


def _set_header(headers: list[tuple[str, str]], name: str, value: str | None) -> None:
    headers[:] = [(n, v) for n, v in headers if n.lower() != name.lower()]
    if value is not None:
        headers.insert(0, (name, value))


def page_record(url: str, body: bytes, rng: random.Random, *, damage: bool) -> Record:
    """An HTML response (or resource) record of `body`; `damage`: one or two things inside it
    broken, its framing kept."""
    kind = "resource" if rng.random() < 0.1 else "response"
    status = b"HTTP/1.1 200 OK"
    headers = [b"Content-Type: text/html; charset=utf-8", b"Server: nginx"]
    wire = body
    if kind == "response" and rng.random() < 0.4:
        # As servers send them (brotli: what browsers' crawlers record).
        encoding = rng.choice([b"gzip", b"gzip", b"deflate", b"br"])
        wire = ENCODERS[encoding](wire)
        headers.append(b"Content-Encoding: " + encoding)
    if kind == "response" and rng.random() < 0.3:
        wire = _chunked(wire, rng)
        headers.append(b"Transfer-Encoding: chunked")
    elif kind == "response":
        headers.append(b"Content-Length: %d" % len(wire))
    done: list[str] = []
    warc_changes: list[tuple[str, str | None]] = []
    duplicate = bare_lf = False
    for _ in range(rng.randint(1, 2) if damage else 0):
        what = rng.randrange(15)
        if what == 0:
            value = rng.choice([*ODD_URIS, None])
            warc_changes.append(("WARC-Target-URI", value))
            done.append(f"target-uri {value!r:.60}")
        elif what == 1:
            value = rng.choice([*ODD_DATES, None])
            warc_changes.append(("WARC-Date", value))
            done.append(f"date {value!r}")
        elif what == 2:
            value = rng.choice(ODD_TYPES)
            warc_changes.append(("WARC-Type", value))
            done.append(f"type {value!r}")
        elif what == 3:
            value = rng.choice([None, "", "<urn:uuid:same>", "x" * 5000])
            warc_changes.append(("WARC-Record-ID", value))
            done.append(f"record-id {value!r:.40}")
        elif what == 4 and kind == "response":
            status = rng.choice(ODD_STATUS_LINES)
            done.append(f"status line {status!r}")
        elif what == 5 and kind == "response":
            line = rng.choice(ODD_HEADER_LINES)
            headers.insert(rng.randrange(len(headers) + 1), line)
            done.append(f"http header {line[:60]!r}")
        elif what == 6 and kind == "response":
            # Says chunked; the body is not (or its chunk sizes are wrong).
            headers.append(b"Transfer-Encoding: chunked")
            if rng.random() < 0.5 and wire:
                wire = b"%x\r\n" % (len(wire) + rng.randint(-50, 50_000)) + wire
            done.append("chunked lie")
        elif what == 7 and kind == "response":
            encoding = rng.choice(ODD_ENCODINGS)
            headers.append(b"Content-Encoding: " + encoding)
            if encoding == b"gzip" and rng.random() < 0.5:
                wire = gzip.compress(body)[: rng.randrange(1, 2000)]
            done.append(f"content-encoding lie {encoding!r}")
        elif what == 8 and kind == "response":
            if rng.random() < 0.5:
                headers.append(b"X-Huge: " + b"h" * rng.choice([70_000, 300_000, 1_500_000]))
            else:
                headers += [b"X-Many-%d: v" % n for n in range(rng.choice([1000, 20_000]))]
            done.append("huge headers")
        elif what == 9:
            wire = b""
            done.append("empty body")
        elif what == 10:
            charset = rng.choice(["utf-16", "windows-1252", "x-unknown", "shift_jis", "utf-32"])
            if charset in ("utf-16", "utf-32") and rng.random() < 0.5:
                wire = body.decode("utf-8", "replace").encode(charset)
            headers[0] = f"Content-Type: text/html; charset={charset}".encode()
            done.append(f"charset {charset}")
        elif what == 11:
            wire = mutated(body, rng)
            done.append("page mutated")
        elif what == 12:
            duplicate = True
            done.append("duplicate")
        elif what == 14 and kind == "response":
            encoding = rng.choice([b"gzip", b"deflate", b"br"])
            encoded = bytearray(ENCODERS[encoding](body))
            for _ in range(rng.randint(1, 5)):
                encoded[rng.randrange(len(encoded) // 2, len(encoded))] = rng.randrange(256)
            wire = bytes(encoded)
            headers.append(b"Content-Encoding: " + encoding)
            done.append(f"{encoding.decode()} body corrupted")
        elif what == 13 and kind == "response":
            bare_lf = True
            done.append("bare LF http head")
    if kind == "response":
        block = _http_block(status, headers, wire)
        if bare_lf:
            head, _, rest = block.partition(b"\r\n\r\n")
            block = head.replace(b"\r\n", b"\n") + b"\n\n" + rest
        warc_headers, block = _warc_record(url, kind, block, rng)
    else:
        content_type = headers[0].decode("latin-1").partition(": ")[2]
        warc_headers, block = _warc_record(url, kind, wire, rng, content_type=content_type)
    for name, value in warc_changes:
        _set_header(warc_headers, name, value)
    # A record whose type or URL changed may well be no page any more: not expected.
    record = Record(f"{kind} {url}", _encode(warc_headers, block), None if done else url, done)
    record.copies = 2 if duplicate else 1
    return record


def other_record(rng: random.Random, url: str) -> Record:
    """A record that holds no page: warcinfo, request, metadata, revisit, a redirect, an image."""
    what = rng.randrange(6)
    if what == 0:
        headers, block = _warc_record("", "warcinfo", b"software: fuzz\r\n", rng)
        headers = [(n, v) for n, v in headers if n != "WARC-Target-URI"]
        return Record("warcinfo", _encode(headers, block))
    if what == 1:
        block = b"GET / HTTP/1.1\r\nHost: fuzz.example.id\r\n\r\n"
        return Record("request", _encode(*_warc_record(url, "request", block, rng)))
    if what == 2:
        headers, block = _warc_record(url, "metadata", b"site: fuzz\r\nkind: article\r\n", rng)
        headers.append(("WARC-Concurrent-To", "<urn:uuid:nothing>"))
        return Record("metadata", _encode(headers, block))
    if what == 3:
        block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
        if rng.random() < 0.5:
            block += b"<html>revisit with a payload</html>"
        headers, block = _warc_record(url, "revisit", block, rng)
        profile = rng.choice(REVISIT_PROFILES)
        headers.append(("WARC-Profile", f"http://netpreserve.org/warc/1.1/revisit/{profile}"))
        # Of a page of A, of this file, or of none; at its time, another, or none given.
        headers.append(("WARC-Refers-To-Target-URI", rng.choice([url, *A_URLS, ""])))
        if rng.random() < 0.7:
            headers.append(("WARC-Refers-To-Date", rng.choice(REVISIT_DATES)))
        if rng.random() < 0.5:
            headers.append(("WARC-Payload-Digest", rng.choice(REVISIT_DIGESTS)))
        return Record("revisit", _encode(headers, block))
    if what == 4:
        block = _http_block(b"HTTP/1.1 302 Found", [b"Location: /elsewhere"], b"")
        return Record("redirect", _encode(*_warc_record(url + "-old", "response", block, rng)))
    block = _http_block(b"HTTP/1.1 200 OK", [b"Content-Type: image/png"], b"\x89PNG\r\n" * 20)
    return Record("image", _encode(*_warc_record(url + ".png", "response", block, rng)))


ODD_SITES = [
    "",
    "demo",
    "../../etc",
    "x" * 5000,
    "\u00e9t\u00e9",
    "local",
    "fuzz.example.id",
    "a b",
]
ODD_PARTS = ["2", "-1", "0", "abc", "99999999999999999999", ""]


def facts_record(rng: random.Random, page: Record, previous: Record | None) -> Record:
    """A metadata record of newsarchive's facts for `page` (as export writes them before a
    page): its requested URL, site, kind, and the article it is a later page of, odd ones."""
    facts: dict[str, str] = {}
    if rng.random() < 0.5:
        facts["requested-url"] = rng.choice([*ODD_URIS[:8], f"{B_SITE}/lama-{rng.randrange(99)}"])
    if rng.random() < 0.5:
        facts["site"] = rng.choice(ODD_SITES)
    if rng.random() < 0.3:
        facts["kind"] = rng.choice(["article", "listing", "", "zzz"])
    if previous is not None and rng.random() < 0.5:
        # A later page of the previous page's article (or of one that is not there).
        found = re.search(rb"WARC-Record-ID: (<[^>\r\n]*>)", previous.data)
        facts["part-of"] = found.group(1).decode() if found else "<urn:uuid:nothing>"
        facts["part"] = rng.choice(ODD_PARTS)
    block = "".join(f"{name}: {value}\r\n" for name, value in facts.items()).encode()
    headers, block = _warc_record(page.url or "", "metadata", block, rng)
    found = re.search(rb"WARC-Record-ID: (<[^>\r\n]*>)", page.data)
    headers.append(("WARC-Concurrent-To", found.group(1).decode() if found else "<urn:x>"))
    return Record(
        "metadata",
        _encode(headers, block),
        damage=[f"facts {facts}"[:200]],
        requested=facts.get("requested-url"),
    )


FRAMING = [
    "content-length short",
    "content-length long",
    "content-length junk",
    "content-length missing",
    "record cut",
    "gzip member cut",
    "garbage between records",
    "bytes flipped",
    "file cut",
    "one gzip member",
    "no WARC/ line",
    "header garbage",
]


def _damage_framing(record: Record, rng: random.Random, what: str) -> bytes:
    """`record`'s bytes with its framing broken by `what` (record-level kinds)."""
    data = record.data
    head, _, rest = data.partition(b"\r\n\r\n")
    if what.startswith("content-length"):
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        new = {
            "content-length short": str(max(0, length - rng.randint(1, 500))),
            "content-length long": str(length + rng.choice([1, 2, 100, 10_000, 1 << 40])),
            "content-length junk": rng.choice(["abc", "-5", "", "1e3", "0x10", " 12 12"]),
        }.get(what)
        lines = [ln for ln in head.split(b"\r\n") if not ln.startswith(b"Content-Length")]
        if new is not None:
            lines.append(b"Content-Length: " + new.encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + rest
    if what == "no WARC/ line":
        return data.split(b"\r\n", 1)[1]
    if what == "header garbage":
        line = rng.choice([b"no colon", b"\xff\xfe\x00", b"WARC-Type", b"X" * 200_000])
        return head + b"\r\n" + line + b"\r\n\r\n" + rest
    return data


def warc_case(
    rng: random.Random, pages: list[bytes], a_urls: list[str], seed: int, jobs: int
) -> Case:
    gz = rng.random() < 0.6
    big = jobs > 1 and rng.random() < 0.33
    count = rng.randint(70, 90) if big else rng.randint(3, 12)
    records: list[Record] = []
    damaged_inside = rng.random() < 0.6
    for n in range(count):
        if rng.random() < 0.15:
            url = rng.choice(a_urls)  # a new capture of one of A's pages
        else:
            url = f"{B_SITE}/2024/02/{n % 28 + 1:02d}/s{seed}-berita-{n}"
        if rng.random() < 0.2:
            records.append(other_record(rng, url))
        damage = damaged_inside and rng.random() < 0.25
        body = rng.choice(pages)
        page = page_record(url, body, rng, damage=damage)
        requested = url
        if page.url and rng.random() < 0.15:
            previous = next((r for r in reversed(records) if r.url), None)
            records.append(facts_record(rng, page, previous))
            requested = records[-1].requested or url
        if not page.damage:
            page.row = (requested, hashlib.sha256(body).hexdigest())
        records.append(page)
    notes = [f"{len(records)} records, {'gzip per record' if gz else 'plain'}, --jobs {jobs}"]
    framing = rng.choice(FRAMING) if rng.random() < 0.5 else None
    at = rng.randrange(len(records))
    if framing and framing in FRAMING[:4] + FRAMING[10:]:
        records[at].data = _damage_framing(records[at], rng, framing)
        notes.append(f"framing: {framing} in record {at} ({records[at].name})")
    blob = bytearray()
    damage_at: int | None = None
    for n, record in enumerate(records):
        record.start = len(blob)
        data = (gzip.compress(record.data) if gz else record.data) * record.copies
        if framing in FRAMING[:4] + FRAMING[10:] and n == at:
            damage_at = record.start
        if framing == "record cut" and n == at:
            data = data[: rng.randrange(len(data))]
            damage_at = record.start
            notes.append(f"framing: record {at} cut to {len(data)} bytes")
        if framing == "gzip member cut" and n == at and gz:
            data = data[: rng.randrange(10, len(data))]
            damage_at = record.start
            notes.append(f"framing: gzip member of record {at} cut to {len(data)} bytes")
        blob += data
        record.end = len(blob)
        if framing == "garbage between records" and n == at:
            garbage = rng.choice(
                [b"\r\n" * 5, b"junk\r\n", os.urandom(rng.randint(1, 300)), b"WARC/1.1\r\n\r\n"]
            )
            blob += garbage
            damage_at = len(blob) - len(garbage)
            notes.append(f"framing: {garbage[:20]!r} after record {at}")
    if framing == "bytes flipped":
        where = rng.randrange(len(blob))
        for _ in range(rng.randint(1, 20)):
            spot = min(len(blob) - 1, where + rng.randrange(200))
            blob[spot] = rng.randrange(256)
        damage_at = where
        notes.append(f"framing: bytes flipped from offset {where}")
    elif framing == "file cut":
        damage_at = rng.randrange(len(blob))
        del blob[damage_at:]
        notes.append(f"framing: file cut at {damage_at}")
    elif framing == "one gzip member":
        blob = bytearray(gzip.compress(b"".join(r.data * r.copies for r in records)))
        damage_at = 0
        notes.append("framing: every record in one gzip member")
    expected, after_damage = set(), set()
    damaged_before = False
    rows: dict[tuple[str, str], str] = {}
    for record in records:
        intact = damage_at is None or record.end <= damage_at
        first = rows.setdefault(record.row, record.url or "") if record.row else record.url
        if record.url and intact and first == record.url:
            (after_damage if damaged_before else expected).add(record.url)
        damaged_before = damaged_before or bool(record.damage)
        if record.damage:
            notes.append(f"inside {record.name[:80]}: {', '.join(record.damage)}")
    name = "b.warc.gz" if gz else "b.warc"
    label = f"warc:{framing or ('inside' if damaged_inside else 'clean')}"
    return Case(label, {name: bytes(blob)}, [name], expected, after_damage, notes, jobs)


# --- saved pages ---------------------------------------------------------------------------

ODD_NAMES = ["plain.html", "sp ace.html", "new\nline.html", "\u00e9t\u00e9.html", "x" * 200]
ODD_NAMES += ["bad-\udcff-utf8.html", "-dash.html", "tab\t.htm"]


def _compressed(data: bytes, codec: str) -> bytes:
    if codec == "gz":
        return gzip.compress(data)
    if codec == "xz":
        return lzma.compress(data)
    if codec == "bz2":
        return bz2.compress(data)
    return zstandard.ZstdCompressor().compress(data)


def saved_case(
    rng: random.Random, pages: list[bytes], a_urls: list[str], seed: int, jobs: int
) -> Case:
    files: dict[str, bytes] = {}
    clean: list[str] = []
    notes = []
    for n in range(rng.randint(2, 10)):
        folder = rng.choice(["", "dir/", "dir/sub/"])
        name = f"{folder}{n}-{rng.choice(ODD_NAMES)}"
        body = rng.choice(pages)
        what = rng.randrange(10)
        if what < 3:
            files[name] = body
            clean.append(name)
            continue
        if what == 3:
            codec = rng.choice(["gz", "xz", "bz2", "zst"])
            files[f"{name}.{codec}"] = _compressed(body, codec)
            clean.append(f"{name}.{codec}")
            continue
        if what == 4:
            codec = rng.choice(["gz", "xz", "bz2", "zst"])
            data = bytearray(_compressed(body, codec))
            if rng.random() < 0.5:
                del data[rng.randrange(len(data)) :]
                notes.append(f"{name}.{codec}: cut")
            else:
                at = rng.randrange(len(data))
                data[at : at + 20] = os.urandom(len(data[at : at + 20]))
                notes.append(f"{name}.{codec}: bytes flipped at {at}")
            files[f"{name}.{codec}"] = bytes(data)
        elif what == 5:
            files[name] = mutated(body, rng)
            notes.append(f"{name}: page mutated")
        elif what == 6:
            files[name] = rng.choice(
                [b"", b" \n", os.urandom(rng.randint(1, 5000)), b"\x00" * 100, b"WARC/1.1\r\n"]
            )
            notes.append(f"{name}: {files[name][:20]!r}")
        elif what == 7:
            data = rng.choice([b"WARC/1.1\r\nWARC-Type: response\r\n\r\n", b"WARC/" + body])
            files[name] = gzip.compress(data) if rng.random() < 0.5 else data
            notes.append(f"{name}: WARC/ and no WARC")
        elif what == 8:
            inner = warc_case(rng, pages, a_urls, seed, 1)
            files[f"{folder}{n}.warc"] = next(iter(inner.files.values()))
            notes.append(f"{folder}{n}.warc: {inner.label}")
        else:
            # A compressed file that inflates to another compressed file.
            files[f"{name}.gz"] = gzip.compress(gzip.compress(body))
            notes.append(f"{name}.gz: gzip in gzip")
    # A file that is no page is an error when named, counted when found in a directory.
    args = [name for name in files if "/" not in name]
    if any(name.startswith("dir/") for name in files):
        args.append("dir")
    # Names for now: check() makes them file: URIs once the files exist.
    return Case("saved", files, args, set(clean), set(), notes, jobs)


# --- running ------------------------------------------------------------------------------


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _snapshot(db: Path) -> tuple[set[tuple[str, str]], set[str]]:
    with sqlite3.connect(f"file:{db.with_name('pages.db')}?mode=ro", uri=True) as conn:
        pages = set(conn.execute("SELECT url, sha256 FROM pages"))
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        articles = {url for (url,) in conn.execute("SELECT url FROM articles")}
    return pages, articles


def _page_urls(db: Path) -> set[str]:
    with sqlite3.connect(f"file:{db.with_name('pages.db')}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT url, final_url FROM pages").fetchall()
    return {url for row in rows for url in row if url}


def _newsarchive(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """The command's outcome; one that has not ended after `timeout` seconds is killed and
    comes back with exit status None."""
    command = [sys.executable, "-m", "newsarchive", *args]
    try:
        return subprocess.run(
            command, capture_output=True, text=True, errors="replace", timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
        return subprocess.CompletedProcess(command, None, output, f"killed after {timeout} s")


def make_base(root: Path, pages: list[bytes], rng: random.Random) -> tuple[Path, list[str]]:
    """Archive A: a clean WARC of a dozen corpus pages, imported."""
    warc = root / "a.warc.gz"
    urls = A_URLS
    with warc.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, body in zip(urls, rng.sample(pages, len(urls)), strict=True):
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            writer.write_record(
                writer.create_warc_record(
                    url, "response", payload=io.BytesIO(body), http_headers=headers
                )
            )
    db = root / "base" / "archive.db"
    db.parent.mkdir()
    proc = _newsarchive("import", str(warc), "--db", str(db), "--jobs", "1")
    if proc.returncode != 0:
        raise SystemExit(f"archive A: import failed: {proc.stdout}{proc.stderr}")
    return db, urls


def check(case: Case, base: Path, work: Path) -> list[str]:
    """Run one case; what went wrong."""
    shutil.rmtree(work, ignore_errors=True)
    (work / "db").mkdir(parents=True)
    for name in ("archive.db", "pages.db"):
        shutil.copy(base.with_name(name), work / "db" / name)
    db = work / "db" / "archive.db"
    _write(work / "in", case.files)
    before_pages, before_articles = _snapshot(db)
    args = [str(work / "in" / name) for name in case.args]
    proc = _newsarchive(
        "import",
        *args,
        "--db",
        str(db),
        "--jobs",
        str(case.jobs),
        "--progress-seconds",
        "1e9",
        timeout=IMPORT_SECONDS,
    )
    failures = []
    if proc.returncode is None:
        failures.append(f"no end within {IMPORT_SECONDS} s (a hang)")
        case.notes.append(f"killed; output:\n{proc.stdout[-3000:]}")
        return failures
    output = proc.stdout + proc.stderr
    lines = output.splitlines()
    if "Traceback" in output:
        at = [line for line in lines if line.strip().startswith("File ")]
        failures.append(f"traceback: {lines[-1][:200]} at {at[-1].strip()[:200] if at else '?'}")
    if proc.returncode not in (0, 1):
        failures.append(f"exit status {proc.returncode}")
    odd = [line for line in lines if not OWN_LINES.match(line)]
    # The rest of a name holding a newline, printed as it is: one kind however many files.
    tails = tuple(name.split("\n", 1)[1] for name in case.files if "\n" in name)
    if odd and tails and all(line.startswith(tails) for line in odd):
        failures.append("an Error line split in two by a newline in a file's name")
    elif odd and "Traceback" not in output:
        failures.append(f"a line import does not write: {odd[0][:200]!r}")
    errors = [line for line in lines if line.startswith("Error: ")]
    if proc.returncode == 1 and not errors:
        failures.append("exit status 1 without an Error line")
    if proc.returncode == 0 and errors:
        failures.append(f"exit status 0 with an Error line: {errors[0][:200]}")
    after_pages, after_articles = _snapshot(db)
    if before_pages - after_pages:
        failures.append(f"LOSS: {len(before_pages - after_pages)} raw pages of A gone")
    if before_articles - after_articles:
        failures.append(f"LOSS: articles of A gone: {sorted(before_articles - after_articles)}")
    verify = _newsarchive("verify", "--db", str(db))
    if verify.returncode != 0:
        failures.append(f"verify failed: {(verify.stdout + verify.stderr).strip()[-300:]}")
    stored = _page_urls(db)
    expected = {
        (work / "in" / url).resolve().as_uri() if case.label == "saved" else url
        for url in case.expected
    }
    # Why pages went missing, as import said it (the first Error line, its file cut off).
    said = next((line.split(": ", 2)[-1] for line in errors), "no Error line")
    missing = expected - stored
    if missing:
        failures.append(f"intact pages not imported: {len(missing)} of {len(expected)}: {said}")
    missing = case.after_damage - stored
    if missing:
        failures.append(
            f"pages after a record damaged inside (framing kept) not imported: "
            f"{len(missing)} of {len(case.after_damage)}: {said}"
        )
        case.notes.append(f"not imported: {sorted(missing)}")
    case.notes.append(f"exit {proc.returncode}; output:\n{output[-3000:]}")
    return failures


def _kind(failure: str) -> str:
    """What makes two failures the same kind: their text without paths, URLs and numbers."""
    return re.sub(r"(/tmp|https?:)/\S*|\d+", "#", failure)[:100]


def _save(out: Path, number: int, case: Case, failures: list[str]) -> Path:
    where = out / f"case-{number}"
    shutil.rmtree(where, ignore_errors=True)
    _write(where, case.files)
    facts = {
        "label": case.label,
        "args": case.args,
        "jobs": case.jobs,
        "failures": failures,
        "expected": sorted(case.expected),
        "after_damage": sorted(case.after_damage),
        "notes": case.notes,
    }
    (where / "case.json").write_text(json.dumps(facts, indent=1))
    return where


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=600, help="how long to run (default 600)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shared", type=Path, default=SHARED, help="the ../shared folder")
    ap.add_argument("--out", type=Path, default=Path("/tmp/fuzz_import"), help="failing inputs")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pages = corpus_pages(args.shared)
    if not pages:
        print(f"{args.shared}/corpus: no pages", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    found: collections.Counter[str] = collections.Counter()
    runs, deadline = 0, time.monotonic() + args.seconds
    with tempfile.TemporaryDirectory(prefix="fuzz_import-") as tmp:
        base, a_urls = make_base(Path(tmp), pages, rng)
        while time.monotonic() < deadline:
            runs += 1
            jobs = rng.choice([1, 2])
            make = warc_case if rng.random() < 0.8 else saved_case
            case = make(rng, pages, a_urls, args.seed * 100_000 + runs, jobs)
            failures = check(case, base, Path(tmp) / "case")
            for failure in failures:
                kind = _kind(failure)
                if kind not in found:
                    saved = _save(args.out, runs, case, failures)
                    print(f"{case.label}: {failure} (input: {saved})", flush=True)
                found[kind] += 1
    print(f"{runs} inputs, {len(found)} kinds of failure: {dict(found)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
