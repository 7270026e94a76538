"""WARC in and out: the archive's raw pages as a WARC/1.1 file, and a WARC's HTML pages into the
archive. Pure functions over an Archive and file paths (warcio for the format; no Scrapy).

Export writes, per stored raw page (one `pages` row: one distinct body per URL), in this order:

- a `request` record (HTTP pages): `GET` of the final URL, the request that produced the body;
- a `metadata` record (`application/warc-fields`): what HTTP does not say and a round trip must
  keep: `requested-url` when a redirect was followed, the `site` it was archived under, its `kind`,
  and for a later page of a multi-page article `part-of` (the WARC-Record-ID of its first page's
  record) and `part`. A metadata record rather than a second request record or a synthetic 3xx
  response: we never stored the redirect response, so inventing one would put data in the WARC
  that was never fetched; a metadata record is the standard place for crawler facts, every WARC
  tool indexes and skips it, and it comes before its page so an importer can stream;
- a `response` record (HTTP pages), Target-URI the final URL, the stored status and headers with
  Content-Length / Content-Encoding / Transfer-Encoding fixed to describe the stored, decoded
  body; or a `resource` record for pages imported from files (their `file:` URI): there was no
  HTTP exchange, and `resource` is the WARC type for content without one.

WARC-Date is the fetch time (imported files: the time they were stored). Every record with a
payload gets a WARC-Payload-Digest (sha1, base32: what warcio, wget and Heritrix write).

Each later fetch that found a page unchanged (a refetch: a row of `fetches`, no page of its own)
is a `revisit` record (profile identical-payload-digest: WARC-Refers-To the page's record,
WARC-Refers-To-Target-URI and -Date, the same payload digest, the HTTP head without the body),
with its own metadata record before it (a later page of a multi-page article: `part-of` its
first page's revisit, as for its pages). Records go out in the order the archive stored them:
each refetch before the first page fetched after it. An import replays that order, so an
article whose text changed and then went back ends with the text it went back to, as the
archive's record did; with each page written once at its first fetch and the refetches left
out (before 2026-12-07), it ended with the other text, and last_seen and fetch_count were lost.

After the pages, a `metadata` record for each article the site took down (its `gone_since`),
Target-URI the article's URL, WARC-Date and a `gone-since` field the time the crawl first met
the 404, the 410 or the redirect away: the crawl kept no page of that answer, and without it
an import gave the article back as live.

Import streams a WARC (gzip per record, or plain) record by record and archives each HTML
`response` (and HTML `resource`) through newsarchive.importing.import_fetched: URL, status,
headers and fetch time (= WARC-Date) are kept in the raw page. A `revisit` record (identical
payload, or HTTP 304; ours or another tool's) is stored as a refetch of the capture it names,
read back from the archive (Archive.revisited_pages: by URL and time, else by payload digest);
one naming a capture the archive does not hold is counted and skipped. Memory stays bounded
however the file inflates: see _Guard. A record whose framing is sound costs at most its own page, however
odd or damaged that page (its URL, status, encoding: see _RecordLoader, _Decoded); one whose
framing is not stops the file there, with one line naming its offset.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import sqlite3
import uuid
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any, NamedTuple
from urllib.parse import urljoin, urlsplit

from warcio.archiveiterator import ArchiveIterator, WARCIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.recordloader import ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsarchive import __version__
from newsarchive.errors import NewsarchiveError, NotHtmlError, PageDamaged
from newsarchive.importing import (
    DEFAULT_MAX_SIZE,
    REVISIT_OUTCOMES,
    ImportItem,
    ImportSink,
    RevisitOf,
    check_html,
    fetched_page_item,
    format_size,
)
from newsarchive.items import RawPage
from newsarchive.sites import SiteProfile, list_profiles
from newsarchive.storage import Archive
from newsarchive.storage.export import whole_file
from newsarchive.storage.records import parse_stored_time, utc_iso

WARC_VERSION = "WARC/1.1"
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Headers that describe the bytes on the wire, not the stored body (which is decoded: no gzip, no
# chunks): replaced or dropped on export, dropped on import.
WIRE_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding"})
# A gzip member that inflates more than this many times its compressed size, past the size
# limit, is a decompression bomb: HTML compresses 5-20 times, real media about once; a bomb of
# zeros about 1000 times.
BOMB_RATIO = 200
GZIP_MAGIC = b"\x1f\x8b"
# Room for a record's WARC and HTTP headers and the blank lines between records, on top of what
# the record declares, before the reader counts the file as broken.
HEADER_SLACK = 1024 * 1024
# Later pages of one multi-page article held back until the article is complete (bounded memory).
MAX_PARTS = 50
# Redirects remembered (wget: a 3xx record, then the page it led to) and metadata records waiting
# for their page: bounded, the oldest forgotten first.
MAX_PENDING = 1000
# Redirected pages remembered for the revisit records that may name them later in the file.
MAX_KEPT_UNDER = 100_000
# The revisit records whose capture can be read back from the archive: the same payload fetched
# again (WARC-Payload-Digest), or an HTTP 304.
REVISIT_PROFILES = ("/revisit/identical-payload-digest", "/revisit/server-not-modified")


# --- export -----------------------------------------------------------------------------------


def _record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def _warc_date(row: dict[str, Any]) -> str:
    return _warc_time(row["fetched_at"] or row["stored_at"])


def _warc_time(stored: str | None) -> str:
    moment = parse_stored_time(stored) or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_fields(
    writer: WARCWriter, target: str, values: dict[str, Any], headers: dict[str, str]
) -> None:
    """A `metadata` record of newsarchive's facts about `target` (application/warc-fields)."""
    facts = _fields(values)
    writer.write_record(
        writer.create_warc_record(
            target,
            "metadata",
            payload=io.BytesIO(facts),
            length=len(facts),
            warc_content_type="application/warc-fields",
            warc_headers_dict=headers,
        )
    )


def _clean(value: object) -> str:
    # A CR or LF inside a header value would end the header block early.
    return " ".join(str(value).splitlines())


def _response_headers(stored: dict[str, Any], body_length: int) -> list[tuple[str, str]]:
    headers = [
        (_clean(name), _clean(value))
        for name, value in stored.items()
        if name.lower() not in WIRE_HEADERS
    ]
    headers.append(("Content-Length", str(body_length)))
    return headers


def _stored_headers(row: dict[str, Any]) -> dict[str, Any]:
    """A page row's HTTP headers as stored (JSON); none if they no longer read as an object."""
    try:
        stored = json.loads(row["headers"] or "{}")
    except ValueError:
        return {}
    return stored if isinstance(stored, dict) else {}


def _status_line(status: int | None) -> str:
    status = status or 200
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _fields(values: dict[str, Any]) -> bytes:
    """application/warc-fields: `name: value` lines, as in warcinfo records."""
    lines = [f"{name}: {_clean(value)}\r\n" for name, value in values.items() if value is not None]
    return "".join(lines).encode("utf-8")


def _write_page(
    writer: WARCWriter, row: dict[str, Any], head_ids: dict[int, str], main_id: str
) -> None:
    """The records of one raw page, its response (or resource) record named `main_id`."""
    body: bytes = row["body"]
    target = row["final_url"] or row["url"]
    date = _warc_date(row)
    stored = _stored_headers(row)
    parts = urlsplit(target)
    is_http = parts.scheme.lower() in ("http", "https")
    if is_http:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = writer.create_warc_record(
            target,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=StatusAndHeaders(
                f"GET {path} HTTP/1.1", [("Host", parts.netloc)], is_http_request=True
            ),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": main_id},
        )
        writer.write_record(request)
    _write_fields(
        writer,
        target,
        {
            "requested-url": row["url"]
            if row["final_url"] and row["final_url"] != row["url"]
            else None,
            "site": row["site"],
            "kind": row["kind"],
            "part-of": head_ids.get(row["part_of"]) if row["part_of"] else None,
            "part": row["part"] if row["part_of"] else None,
        },
        {"WARC-Date": date, "WARC-Concurrent-To": main_id},
    )
    if is_http:
        record = writer.create_warc_record(
            target,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=StatusAndHeaders(
                _status_line(row["status"]),
                _response_headers(stored, len(body)),
                protocol="HTTP/1.1",
            ),
            warc_headers_dict={"WARC-Record-ID": main_id, "WARC-Date": date},
        )
    else:
        content_type = next(
            (str(v) for k, v in stored.items() if k.lower() == "content-type"), None
        ) or ("text/html" + (f"; charset={row['encoding']}" if row["encoding"] else ""))
        record = writer.create_warc_record(
            target,
            "resource",
            payload=io.BytesIO(body),
            length=len(body),
            warc_content_type=_clean(content_type),
            warc_headers_dict={"WARC-Record-ID": main_id, "WARC-Date": date},
        )
    writer.write_record(record)


class WarcExport(NamedTuple):
    """What export_warc wrote: raw pages, and later fetches that found a page unchanged."""

    pages: int
    revisits: int


def payload_digest(body: bytes) -> str:
    """A payload's WARC-Payload-Digest as warcio writes it for a response: sha1, base32."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def same_payload(digest: str | None) -> Callable[[bytes], bool] | None:
    """A test that a body is the payload a WARC-Payload-Digest names (sha1 or sha256, in base32
    or hex); None when it names another algorithm, or none, so cannot be checked."""
    algorithm, _, value = (digest or "").strip().partition(":")
    hashes = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha-256": hashlib.sha256}
    hash_of = hashes.get(algorithm.lower())
    if hash_of is None or not value:
        return None
    value = value.strip()
    try:
        wanted = (
            bytes.fromhex(value)
            if len(value) == 2 * hash_of().digest_size
            else base64.b32decode(value.upper())
        )
    except ValueError:
        return None
    return lambda body: hash_of(body).digest() == wanted


class _Refetches:
    """The archive's later fetches of the exported pages (refetches that found a page unchanged),
    as `revisit` records, each written where the archive stored it: before the first page first
    fetched after it. So an import stores them in the archive's own order, and an article that
    went back to an earlier text ends with that text, as the archive's record did.

    A refetch may come months after its page: the payload digest of each page fetched again is
    kept on disk (a private temporary SQLite file) until the export ends, not in memory, and the
    page's record is named from `page_record_id`, not remembered."""

    def __init__(
        self,
        archive: Archive,
        writer: WARCWriter,
        page_record_id: Callable[[int], str],
        site: str | None,
        since: str | None,
        damaged: list[PageDamaged] | None,
    ) -> None:
        self.archive = archive
        self.writer = writer
        self.page_record_id = page_record_id
        self.damaged = damaged
        self.rows = archive.later_fetches(site=site, since=since, damaged=damaged)
        self.pending = next(self.rows, None)
        self.count = 0
        self.digests: sqlite3.Connection | None = None
        # The first page's last revisit record (page id, record id): a later page's refetch,
        # stored right after it, names it as its article's.
        self.head_revisit: tuple[int, str] | None = None

    def close(self) -> None:
        if self.digests is not None:
            self.digests.close()

    def before(self, row: dict[str, Any]) -> None:
        """Called before each page is written: for a first page, the refetches stored before it
        (a later page follows its first page at once); for any page fetched again, its payload
        digest, kept for its revisits."""
        if self.pending is None:
            return
        first, fetches = self.archive.fetch_span(row["id"])
        if not row["part_of"]:
            self.write_until(first)
        if fetches > 1:
            if self.digests is None:
                self.digests = sqlite3.connect("")  # a temporary file, gone when closed
                self.digests.execute("CREATE TABLE d (page INTEGER PRIMARY KEY, digest TEXT)")
            self.digests.execute(
                "INSERT OR REPLACE INTO d VALUES (?, ?)", [row["id"], payload_digest(row["body"])]
            )

    def write_until(self, fetch_id: int | None = None) -> None:
        """The refetches stored before fetch `fetch_id` (None: all the rest)."""
        while self.pending is not None and (
            fetch_id is None or self.pending["fetch_id"] < fetch_id
        ):
            self._write(self.pending)
            self.pending = next(self.rows, None)

    def _written_digest(self, page_id: int) -> str | None:
        if self.digests is None:
            return None
        found = self.digests.execute("SELECT digest FROM d WHERE page = ?", [page_id]).fetchone()
        return found[0] if found else None

    def _write(self, fetch: dict[str, Any]) -> None:
        page_id = fetch["id"]
        digest = self._written_digest(page_id)
        record_id: str | None = self.page_record_id(page_id)
        if digest is None:
            # Its page is not in this file (fetched before --since) or was left out damaged.
            record_id = None
            if self.damaged is not None and any(d.page_id == page_id for d in self.damaged):
                return
            try:
                found = self.archive.raw_page(page_id)
            except PageDamaged as damage:
                if self.damaged is None:
                    raise
                self.damaged.append(damage)
                return
            if found is None:
                return
            digest = payload_digest(found[1])
        target = fetch["final_url"] or fetch["url"]
        date = _warc_time(fetch["fetch_time"])
        revisit_id = _record_id()
        head = self.head_revisit
        part_of = head[1] if fetch["part_of"] and head and head[0] == fetch["part_of"] else None
        _write_fields(
            self.writer,
            target,
            {
                "requested-url": fetch["url"] if target != fetch["url"] else None,
                "site": fetch["site"],
                "kind": fetch["kind"],
                "part-of": part_of,
                "part": fetch["part"] if part_of else None,
            },
            {"WARC-Date": date, "WARC-Concurrent-To": revisit_id},
        )
        if not fetch["part_of"]:
            self.head_revisit = (page_id, revisit_id)
        http_headers = None
        if urlsplit(target).scheme.lower() in ("http", "https"):
            http_headers = StatusAndHeaders(
                _status_line(fetch["fetch_status"] or fetch["status"]),
                _response_headers(_stored_headers(fetch), fetch["size"] or 0),
                protocol="HTTP/1.1",
            )
        headers = {"WARC-Record-ID": revisit_id, "WARC-Date": date}
        if record_id is not None:
            headers["WARC-Refers-To"] = record_id
        self.writer.write_record(
            self.writer.create_revisit_record(
                target,
                digest,
                target,
                _warc_date(fetch),  # the page's first fetch: its own record's date
                http_headers=http_headers,
                warc_headers_dict=headers,
            )
        )
        self.count += 1


def export_warc(
    archive: Archive,
    output: str | Path,
    *,
    site: str | None = None,
    since: str | None = None,
    damaged: list[PageDamaged] | None = None,
) -> WarcExport:
    """Write the archive's raw pages to `output` as WARC/1.1 (gzip per record when the name ends
    in .gz), and its refetches that found a page unchanged as `revisit` records, in the order the
    archive stored them. Written to a temporary file beside `output` and renamed at the end, so
    a failed export leaves no half file. `site` and `since` (fetch time, see
    Archive.iter_raw_pages) select pages and refetches. A damaged page raises PageDamaged, or,
    given a `damaged` list, is left out and added to it (Archive.iter_raw_pages)."""
    output = Path(output)
    count = 0
    with whole_file(output) as partial, partial.open("wb") as out:
        writer = WARCWriter(out, gzip=output.name.endswith(".gz"), warc_version=WARC_VERSION)
        info = {
            "software": f"newsarchive/{__version__}",
            "format": "WARC File Format 1.1",
            "description": f"raw pages of {archive.path}",
        }
        writer.write_record(writer.create_warcinfo_record(output.name, info))
        # Each page's record named from its id: unique to this file, and known again to the
        # revisit records that refer to it however much later they come.
        namespace = uuid.uuid4()

        def page_record_id(page_id: int) -> str:
            return f"<urn:uuid:{uuid.uuid5(namespace, str(page_id))}>"

        refetches = _Refetches(archive, writer, page_record_id, site, since, damaged)
        try:
            head_ids: dict[int, str] = {}
            for row in archive.iter_raw_pages(site=site, since=since, damaged=damaged):
                refetches.before(row)
                record_id = page_record_id(row["id"])
                _write_page(writer, row, head_ids, record_id)
                if not row["part_of"]:
                    # Parts follow their first page directly: only the latest head is needed.
                    head_ids = {row["id"]: record_id}
                count += 1
            refetches.write_until()
        finally:
            refetches.close()
        for url, gone_since in archive.taken_down(site=site, since=since):
            _write_fields(
                writer, url, {"gone-since": gone_since}, {"WARC-Date": _warc_time(gone_since)}
            )
    return WarcExport(count, refetches.count)


# --- import -----------------------------------------------------------------------------------


def is_warc(path: str | Path) -> bool:
    """Whether `path` holds a WARC, by its first bytes (`WARC/`, after gzip inflation), not its
    name. False for anything unreadable, or not a regular file (a FIFO would be waited on for
    ever): the page reader then says what is wrong with it."""
    try:
        if not Path(path).is_file():
            return False
        with Path(path).open("rb") as handle:
            head = handle.read(5)
            if head.startswith(GZIP_MAGIC):
                handle.seek(0)
                # Only as far as the first 5 bytes: a member broken past them (a cut WARC) is
                # still a WARC, said broken where it is.
                head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(handle.read(64 * 1024), 5)
            return head == b"WARC/"
    except (OSError, zlib.error):
        return False


class WarcBroken(NewsarchiveError):
    """The WARC cannot be read on from here (the message names the record offset)."""


class _Guard:
    """The file object warcio reads through: it counts the compressed bytes and, before every
    block, how far warcio has inflated since the current record began, and stops a record that
    inflates past the size limit at a bomb's ratio, or that runs far past its declared length.

    warcio inflates one 16 kB block at a time (at most ~16 MB out), but would otherwise read on
    for as long as a gzip member or a line goes on; this keeps memory and time bounded.
    """

    def __init__(self, handle: IO[bytes], max_size: int) -> None:
        self.handle = handle
        self.max_size = max_size
        self.offset = 0
        self.reader: Any = None  # warcio's DecompressingBufferedReader, set once it exists
        self.start(0)

    def start(self, declared: int) -> None:
        self.mark_raw = self.offset
        self.mark_inflated = self.reader.num_read if self.reader is not None else 0
        self.budget = declared + self.max_size + HEADER_SLACK

    def tell(self) -> int:
        return self.offset

    def read(self, size: int = -1) -> bytes:
        if self.reader is not None:
            inflated = self.reader.num_read - self.mark_inflated
            raw = self.offset - self.mark_raw
            if inflated > self.max_size and inflated > BOMB_RATIO * max(raw, 1):
                raise WarcBroken(
                    f"inflates past {format_size(self.max_size)} (--max-size) at "
                    f"{inflated // max(raw, 1)} times its compressed size: a decompression bomb"
                )
            if inflated > self.budget:
                raise WarcBroken("more data than its Content-Length says: a broken WARC")
        data = self.handle.read(size)
        self.offset += len(data)
        return data


class _RecordLoader(ArcWarcRecordLoader):
    """warcio's record parser, less two ways one record's odd WARC-Target-URI stopped the import
    (warcio raises on it or talks on stderr, which the import must take for a broken file):
    none at all raised AttributeError on the way to the HTTP head (the record is now one
    without HTTP), and a space in it logged a warning (now corrected as warcio corrects it,
    without the warning)."""

    def load_http_headers(self, rec_type: str, uri: str | None, stream: Any, length: Any) -> Any:
        return super().load_http_headers(rec_type, uri or "", stream, length)

    def _ensure_target_uri_format(self, rec_headers: StatusAndHeaders) -> str | None:
        uri = rec_headers.get_header("WARC-Target-URI")
        if uri is not None and uri.startswith("<") and uri.endswith(">"):  # wget 1.19
            uri = uri[1:-1]
            rec_headers.replace_header("WARC-Target-URI", uri)
        if uri is not None and " " in uri:
            uri = uri.replace(" ", "%20")
            rec_headers.replace_header("WARC-Target-URI", uri)
        return uri


class _Stderr(io.TextIOBase):
    """Catches what warcio writes to stderr (it reports broken gzip data and bad Content-Lengths
    there and reads on): the import turns it into its one error line instead."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        if len(self.text) < 1000:
            self.text += text
        return len(text)

    def said(self) -> str:
        """What warcio wrote, on one line: a warning of several lines ("Record not followed by
        newline, perhaps Content-Length is invalid", its offset, the bytes found) kept whole."""
        text = " ".join(self.text.split())
        return text if len(text) <= 300 else text[:300] + "..."


@dataclass
class WarcImport:
    """What an import of one WARC did."""

    outcomes: Counter[str] = field(default_factory=Counter)  # new / updated / unchanged / page
    skipped: Counter[str] = field(default_factory=Counter)  # why a record was no page to keep
    errors: list[str] = field(default_factory=list)  # pages that failed; the import went on
    stopped: str | None = None  # why the file could not be read to its end
    revisits: int = 0  # of the pages imported, refetches stored from revisit records

    @property
    def imported(self) -> int:
        return sum(self.outcomes.values()) - self.outcomes["failed"]


@dataclass
class _Group:
    """A page waiting for the later pages of its multi-page article."""

    raw: RawPage
    record_id: str
    site: str | None
    offset: int
    parts: list[RawPage] = field(default_factory=list)
    revisit: RevisitOf | None = None  # a revisit record: `raw` (no body) found this again


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def _header_dict(headers: StatusAndHeaders, body_length: int) -> dict[str, str]:
    """HTTP headers as the crawl stores them (repeated names joined with ", "); those that
    describe the wire encoding are dropped, and Content-Length, when sent, gives the length of
    the body as stored (decoded), as export writes it."""
    result: dict[str, str] = {}
    for name, value in headers.headers:
        if name.lower() == "content-length":
            result[name] = str(body_length)
        elif name.lower() not in WIRE_HEADERS:
            result[name] = f"{result[name]}, {value}" if name in result else value
    return result


class BodyUndecodable(NewsarchiveError):
    """A response body that breaks off inside its Content-Encoding: the page is damaged, the
    WARC around it is not."""


class _Inflater:
    """zlib (gzip, deflate) behind the two methods of brotli's Decompressor that _Decoded uses."""

    def __init__(self, wbits: int) -> None:
        self.zlib = zlib.decompressobj(wbits)

    def process(self, data: bytes, output_buffer_limit: int) -> bytes:
        return self.zlib.decompress(self.zlib.unconsumed_tail + data, output_buffer_limit)

    def is_finished(self) -> bool:
        return self.zlib.eof


def _decoder(encoding: str, head: bytes) -> Any:
    """A decompressor for an HTTP Content-Encoding, None for one the import leaves as sent
    (identity, unknown ones: the HTML check then refuses a body still compressed)."""
    if encoding in ("gzip", "x-gzip"):
        return _Inflater(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        # Servers send raw deflate as often as the zlib stream HTTP names: told apart by the
        # zlib header, as browsers do.
        wrapped = len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        return _Inflater(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
    if encoding == "br":
        try:
            import brotli  # Scrapy's dependency: what its downloads are decoded with
        except ImportError:
            return None
        return brotli.Decompressor()
    return None


class _Decoded:
    """A response body read through its Content-Encoding (gzip, deflate, br), each read at most
    `size` bytes however far a block inflates (a bomb stops at the size limit, as in _Guard).

    As browsers and warcio do, a body that does not decode from its first bytes on was sent
    unencoded whatever its header says, and is read as it is; one that breaks off later (or a
    gzip stream broken from the start) raises BodyUndecodable. Not warcio's decoding: it writes
    such a break to stderr, which the import must take for a broken file (one bad page stopped
    the rest of the WARC), and its brotli decoder fails on the brotli Scrapy installs (>= 1.2:
    it sets an attribute brotli's Decompressor no longer has)."""

    def __init__(self, stream: IO[bytes], encoding: str) -> None:
        self.stream = stream
        self.encoding = encoding
        self.decoder: Any = None
        self.started = False
        self.head = b""  # what was read before the first decoded byte: the body if not encoded
        self.decoded = 0
        self.more_out = False  # the last output filled its read: more waits without new input

    def read(self, size: int = -1) -> bytes:
        size = size if size > 0 else 64 * 1024
        while self.decoder is not None or not self.started:
            if self.decoder is not None and self.decoder.is_finished():
                return b""  # bytes after the encoded body (a server's stray ones): no page
            data = b""
            if not self.more_out:
                data = self.stream.read(64 * 1024)
                if not self.started:
                    self.started = True
                    self.decoder = _decoder(self.encoding, data)
                if self.decoded == 0:
                    self.head += data
                if not data or self.decoder is None:
                    break  # cut inside its encoding (the page as far as it goes), or no encoding
            try:
                out = self.decoder.process(data, output_buffer_limit=size)
            except Exception as exc:  # zlib.error, brotli.error
                if self.decoded or self.head.startswith(GZIP_MAGIC):
                    raise BodyUndecodable(
                        f"its {self.encoding} Content-Encoding breaks off after "
                        f"{self.decoded} bytes of the page ({exc})"
                    ) from None
                self.decoder = None  # not encoded after all
                break
            self.more_out = len(out) >= size
            if out:
                self.decoded += len(out)
                self.head = b""
                return out
        if self.head:
            out, self.head = self.head[:size], self.head[size:]
            return out
        return self.stream.read(size) if self.decoder is None else b""


def _payload_stream(record: Any) -> IO[bytes]:
    """The record's payload as the page was, its Transfer-Encoding and Content-Encoding undone
    (record.content_stream() with _Decoded for the content encoding)."""
    http = record.http_headers
    stream: IO[bytes] = record.raw_stream
    if not http:
        return stream
    if (http.get_header("Transfer-Encoding") or "").strip().lower() == "chunked":
        stream = ChunkedDataReader(stream)  # falls back to the bytes as they are if not chunked
    encoding = (http.get_header("Content-Encoding") or "").strip().lower()
    return _Decoded(stream, encoding) if encoding else stream


def _read_payload(stream: IO[bytes], limit: int) -> bytes | None:
    chunks, total = [], 0
    while True:
        chunk = stream.read(min(64 * 1024, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)


def _parse_fields(data: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    return fields


def _profile_named(site: str | None) -> SiteProfile | None:
    # As `reextract` does: the packaged profile named like the site the page was archived under
    # (a crawl's site is its profile's name), so a round trip extracts as the crawl did.
    if not site:
        return None
    return next((profile for profile in list_profiles() if profile.name == site), None)


def _warc_moment(text: str | None) -> datetime | None:
    """A WARC-Date (or WARC-Refers-To-Date) value as an aware datetime; None if unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fetched_at(record: Any) -> datetime | None:
    return _warc_moment(record.rec_headers.get_header("WARC-Date"))


def _time_text(value: str | None) -> str | None:
    """A WARC time as the archive stores times (UTC text), None if unreadable."""
    return utc_iso(_warc_moment(value))


class _RevisitRead(NamedTuple):
    """A revisit record read: the refetch (`raw`, no body yet) and the capture it found again."""

    raw: RawPage
    record_id: str
    facts: dict[str, str]
    offset: int
    of: RevisitOf


class _Importer:
    def __init__(self, sink: ImportSink, path: Path, max_size: int, site: str | None) -> None:
        self.sink = sink
        self.path = path
        self.max_size = max_size
        self.site = site
        self.result = WarcImport()
        self.group: _Group | None = None
        self.notes: OrderedDict[str, dict[str, str]] = OrderedDict()
        self.redirects: OrderedDict[str, str] = OrderedDict()
        # The URL first asked for that a redirected response's page was kept under, by its
        # Target-URI: where a later revisit of that URI finds the page.
        self.kept_under: OrderedDict[str, str] = OrderedDict()
        self.too_big: str | None = None  # a page skipped for its size, said once read past

    def run(self, guard: _Guard, iterator: ArchiveIterator) -> None:
        records = iter(iterator)
        caught = _Stderr()
        while not self.sink.stopping():
            # Only warcio's reading is watched: extraction and storing may warn on stderr freely.
            with contextlib.redirect_stderr(caught):
                record = next(records, None)
                self._settle_too_big()
                if record is None:
                    break
                offset = iterator.offset
                guard.start(record.length or 0)
                page = self.read(record, offset, guard)
            if caught.text:
                raise WarcBroken(caught.said())
            if isinstance(page, _RevisitRead):
                self.place_revisit(*page)
            elif page is not None:
                self.place(*page)
        if caught.text:
            raise WarcBroken(caught.said())
        self.flush()

    def _settle_too_big(self) -> None:
        if self.too_big:
            self.result.outcomes["failed"] += 1
            self.result.errors.append(self.too_big)
            self.too_big = None

    @staticmethod
    def _remember(
        store: OrderedDict[str, Any], key: str, value: Any, most: int = MAX_PENDING
    ) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > most:
            store.popitem(last=False)

    def read(
        self, record: Any, offset: int, guard: _Guard
    ) -> tuple[RawPage, str, dict[str, str], int] | _RevisitRead | None:
        """The page in `record` with its record id, newsarchive facts and offset (a revisit: the
        refetch and what it found again); None when the record holds no page to keep (counted
        in `skipped`)."""
        kind = record.rec_type
        headers = record.rec_headers
        target = (headers.get_header("WARC-Target-URI") or "").strip()
        if not kind:
            if record.length is None:
                raise WarcBroken("a record without a WARC-Type: not a WARC record")
            # Its Content-Length still says where the next record starts.
            self.result.skipped["records without a WARC-Type"] += 1
            return None
        if record.length is None and guard.reader.decompressor is None:
            # Uncompressed, nothing says where it ends: warcio would read the rest of the file
            # as this record, and the records in it would be lost without a word.
            raise WarcBroken("a record without a Content-Length: where it ends is unknown")
        if kind == "metadata":
            concurrent = headers.get_header("WARC-Concurrent-To")
            if _media_type(record.content_type) == "application/warc-fields":
                data = _read_payload(record.content_stream(), 64 * 1024)
                facts = _parse_fields(data) if data is not None else {}
                if concurrent:
                    self._remember(self.notes, concurrent.strip(), facts)
                elif target and facts.get("gone-since"):
                    self._takedown(target, facts["gone-since"])
            return None
        if kind in ("warcinfo", "request", "conversion", "continuation"):
            return  # no page in them
        if kind == "revisit":
            return self._revisit(record, target, offset)
        if kind not in ("response", "resource"):
            self.result.skipped[f"{kind} records"] += 1
            return None
        if not target:
            # No URL to keep the page under (several would all be filed under "").
            self.result.skipped["records without a WARC-Target-URI"] += 1
            return None
        status = 200
        if kind == "response":
            http = record.http_headers
            if http is None:
                self.result.skipped["responses that are not HTTP"] += 1
                return None
            try:
                status = int(http.get_statuscode())
            except (TypeError, ValueError):
                self.result.skipped["responses without an HTTP status"] += 1
                return None
            if not 100 <= status <= 999:
                # Not three digits: a damaged status line (past 2**63, one SQLite cannot store).
                self.result.skipped["responses with an HTTP status no server sends"] += 1
                return None
            if 300 <= status < 400:
                location = http.get_header("Location")
                if location:
                    # wget and browsers record the redirect, then the page it led to: the page
                    # is kept under the URL first asked for, as the crawl keeps it.
                    origin = self.redirects.pop(target, target)
                    self._remember(self.redirects, urljoin(target, location.strip()), origin)
                self.result.skipped["redirects"] += 1
                return None
            content_type = http.get_header("Content-Type")
        else:
            content_type = record.content_type
        media = _media_type(content_type)
        if media and media not in HTML_TYPES:
            self.result.skipped[f"not HTML ({media})"] += 1
            return None
        where = f"{self.path}: record at offset {offset} ({target})"
        undecodable: BodyUndecodable | None = None
        try:
            body = _read_payload(_payload_stream(record), self.max_size)
        except BodyUndecodable as exc:
            body, undecodable = b"", exc
        if body is None:
            # Skipped, as `import` skips a too-big file; said once the reader is past it, since
            # a decompression bomb stops the file there instead (see _Guard) with its own line.
            self.too_big = (
                f"{where}: past the {format_size(self.max_size)} limit (--max-size); skipped"
            )
            return None
        # Whatever the body's encoding left unread (bytes after its end) is still the record's:
        # only a stream that ends before the record's Content-Length is a cut file.
        while record.raw_stream.read(64 * 1024):
            pass
        if getattr(record.raw_stream, "limit", 0) > 0:
            raise WarcBroken(f"the record ends {record.raw_stream.limit} bytes early: truncated")
        if undecodable is not None:
            self.result.outcomes["failed"] += 1
            self.result.errors.append(f"{where}: {undecodable}; skipped")
            return None
        try:
            check_html(body, where)
        except NotHtmlError as exc:
            reason = str(exc).removeprefix(f"{where}: ")
            self.result.skipped[f"not HTML ({media or reason})"] += 1
            return None
        if kind == "response":
            page_headers = _header_dict(record.http_headers, len(body))
        else:
            page_headers = {"Content-Type": content_type} if content_type else {}
        record_id = (headers.get_header("WARC-Record-ID") or "").strip()
        facts = self.notes.pop(record_id, {})
        requested = facts.get("requested-url") or self.redirects.pop(target, None)
        if requested and requested != target:
            self._remember(self.kept_under, target, requested, MAX_KEPT_UNDER)
        raw = RawPage(
            url=requested or target,
            body=body,
            final_url=target if requested and requested != target else None,
            status=status,
            headers=page_headers,
            fetched_at=_fetched_at(record),
        )
        return raw, record_id, facts, offset

    def _revisit(self, record: Any, target: str, offset: int) -> _RevisitRead | None:
        """A `revisit` record: a later fetch that found a page it names again (identical payload,
        or HTTP 304), stored as a refetch of that page once it is read back from the archive."""
        headers = record.rec_headers
        profile = (headers.get_header("WARC-Profile") or "").strip().rstrip("/")
        if not profile.endswith(REVISIT_PROFILES):
            self.result.skipped["revisit records of another profile"] += 1
            return None
        if not target:
            self.result.skipped["records without a WARC-Target-URI"] += 1
            return None
        status, page_headers = None, {}
        http = record.http_headers
        if http is not None:
            try:
                status = int(http.get_statuscode())
            except (TypeError, ValueError):
                status = None
            if status == 304 or (status is not None and not 100 <= status <= 999):
                # 304 Not Modified: the page archived, unchanged (its own status is kept).
                status = None
            if status is not None and 300 <= status < 400:
                self.result.skipped["redirects"] += 1
                return None
            page_headers = _header_dict(http, 0) if status is not None else {}
        while record.raw_stream.read(64 * 1024):
            pass  # the rest of its block: no payload of its own
        refers = (headers.get_header("WARC-Refers-To-Target-URI") or "").strip() or target
        refers_date = _time_text(headers.get_header("WARC-Refers-To-Date"))
        record_id = (headers.get_header("WARC-Record-ID") or "").strip()
        facts = self.notes.pop(record_id, {})
        requested = facts.get("requested-url") or self.redirects.pop(target, None)
        # The capture revisited is kept under the URL its response was kept under: the URL
        # first asked for, when a redirect led to it.
        urls = [url for url in (requested if refers == target else None, refers) if url]
        urls += [self.kept_under[refers]] if refers in self.kept_under else []
        raw = RawPage(
            url=requested or target,
            body=b"",
            final_url=target if requested and requested != target else None,
            status=status,
            headers=page_headers,
            fetched_at=_fetched_at(record),
        )
        of = RevisitOf(
            tuple(dict.fromkeys(urls)),
            refers_date,
            same_payload(headers.get_header("WARC-Payload-Digest")),
        )
        return _RevisitRead(raw, record_id, facts, offset, of)

    def _takedown(self, url: str, since: str) -> None:
        """A newsarchive export's word that the article at `url` was taken down at `since`."""
        try:
            when = parse_stored_time(since.strip())
        except ValueError:
            when = None
        if when is None:
            self.result.skipped["takedowns without a readable time"] += 1
            return
        self.sink.takedown(url, utc_iso(when))  # marked once every page is stored

    def place(self, raw: RawPage, record_id: str, facts: dict[str, str], offset: int) -> None:
        """A later page of the article being collected joins it; any other page stores that
        article and starts a new one."""
        group = self.group
        if (
            group is not None
            and group.revisit is None
            and facts.get("part-of") == group.record_id
            and len(group.parts) < MAX_PARTS
        ):
            group.parts.append(raw)
            return
        self.flush()
        self.group = _Group(raw, record_id, facts.get("site") or None, offset)

    def place_revisit(
        self, raw: RawPage, record_id: str, facts: dict[str, str], offset: int, of: RevisitOf
    ) -> None:
        group = self.group
        if (
            group is not None
            and group.revisit is not None
            and facts.get("part-of") == group.record_id
            and len(group.parts) < MAX_PARTS
        ):
            # A later page of the article fetched again with it: its own fetch time is kept.
            group.parts.append(raw)
            return
        self.flush()
        self.group = _Group(raw, record_id, facts.get("site") or None, offset, revisit=of)

    def flush(self) -> None:
        group, self.group = self.group, None
        if group is None:
            return
        site = self.site or group.site
        result = self.result

        def done(outcome: str | None, error: str | None) -> None:
            if outcome in REVISIT_OUTCOMES:
                result.skipped[outcome] += 1
                return
            if error is None:
                result.outcomes[outcome or "page"] += 1
                if group.revisit is not None and outcome != "known":
                    result.revisits += 1
                return
            result.outcomes["failed"] += 1
            reason = error.removeprefix(f"{group.raw.url}: ")
            result.errors.append(
                f"{self.path}: record at offset {group.offset} ({group.raw.url}): {reason}"
            )

        if group.revisit is not None:
            item = ImportItem(
                raw=group.raw,
                shown=None,
                where=group.raw.url,
                continuations=group.parts,  # the later pages' refetches: their times
                site=site,
                profile=_profile_named(site),
                revisit=group.revisit,
            )
        else:
            item = fetched_page_item(
                group.raw, continuations=group.parts, site=site, profile=_profile_named(site)
            )
        self.sink.put(item, done)


def import_warc(
    archive: Archive,
    path: str | Path,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    site: str | None = None,
    sink: ImportSink | None = None,
) -> WarcImport:
    """Archive the HTML pages of the WARC at `path` (gzip or plain), streaming it record by record.

    Each HTML `response` (or `resource`) record becomes a raw page with the record's URL (the URL
    first asked for when a redirect or a newsarchive metadata record says so), HTTP status,
    headers and fetch time (WARC-Date), and its article record, as `import` makes them. Other
    records are counted in `skipped`. `max_size` limits each record's inflated payload. A broken
    WARC or a decompression bomb stops the file: `stopped` names the record offset, and the pages
    before it stay imported. Raises NewsarchiveError only when the file cannot be opened.

    `sink`: where the pages go (ImportSink: several WARCs through one sink share its extraction
    workers); the returned counts are complete once the caller has called `sink.finish()`.
    Without one the pages are extracted and stored here, and complete on return.
    """
    if sink is None:
        with ImportSink(archive) as own:
            result = import_warc(archive, path, max_size=max_size, site=site, sink=own)
            own.finish()
        return result
    path = Path(path)
    importer = _Importer(sink, path, max_size, site)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise NewsarchiveError(f"{path}: cannot read: {exc.strerror or exc}") from None
    iterator: ArchiveIterator | None = None
    with handle:
        guard = _Guard(handle, max_size)
        try:
            # WARC records only: is_warc saw `WARC/`, and an ArchiveIterator would take what
            # follows a broken one for an old ARC record (a record of garbage, offsets < 0).
            iterator = WARCIterator(guard)
            # Set before the first record is read (the iterator's defaults: no HTTP check, no
            # ARC conversion).
            iterator.loader = _RecordLoader(verify_http=False, arc2warc=False)
            guard.reader = iterator.reader
            importer.run(guard, iterator)
        except WarcBroken as exc:
            importer.result.stopped = _where(path, iterator, str(exc))
        except NewsarchiveError:
            raise
        except Exception as exc:  # warcio's parse errors: ArchiveLoadFailed, ValueError, zlib...
            message = " ".join(str(exc).split()) or type(exc).__name__
            if len(message) > 300:  # warcio quotes the line it could not parse: binary, maybe
                message = message[:300] + "..."
            importer.result.stopped = _where(path, iterator, f"not a readable WARC: {message}")
        finally:
            if importer.result.stopped:
                # What was read before the broken record is complete: keep it.
                with contextlib.suppress(NewsarchiveError):
                    importer.flush()
    return importer.result


def _where(path: Path, iterator: ArchiveIterator | None, why: str) -> str:
    offset = iterator.offset if iterator is not None else 0
    return f"{path}: record at offset {offset}: {why}; stopped there"
