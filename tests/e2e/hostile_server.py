"""A hostile news portal on 127.0.0.1: real articles beside every way a server can misbehave.
(And, at the end, how the tests run a command while watching its memory.)

A raw asyncio server (not http.server) so that it can misbehave at the byte level: hang, drip,
reset a connection mid-body, promise more bytes than it sends, stream 20 MB, serve gzip bombs.
Every connection ends by itself within seconds (`MAX_SECONDS`), whatever the client does, and
`stop()` ends the server thread; the tests never depend on a crawler being well behaved to finish.

The normal articles are the demo portal's (so their expected title and body are known exactly);
the faults sit at article-shaped URLs linked from the home page, each described by a `Fault`
(what it does, and what the archive should say about it afterwards).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from newsarchive.demo.generator import DemoArticle, Portal, generate_portal

MB = 1 << 20
# No connection lives longer than this, whatever the client does (the hang and the drip end
# here at the latest; a crawl with DOWNLOAD_TIMEOUT=3 gives up long before).
MAX_SECONDS = 20
BIG_PAGE = 20 * MB  # twice the crawl's 10 MB download limit
# What the gzip bombs inflate to: well past the 1 GB the crawl's memory must stay under, so an
# unbounded decompression shows in the peak RSS (and costs ~2 MB on the wire).
BOMB_INFLATED = 2048 * MB
TRAP_DAY = date(2024, 1, 15)

# Paragraphs with the characters a wrong decoding garbles: curly quotes, an apostrophe, accents.
SPECIAL_PARAGRAPH = (
    "\u201cKami sudah berupaya maksimal,\u201d kata Andr\u00e9s P\u00e9rez, pemilik kaf\u00e9 di "
    "tepi Sungai Batanghari, pada Jum\u2019at pagi \u2014 sambil menunjukkan caf\u00e9 yang "
    "terendam banjir."
)


@functools.cache
def gzip_bomb(prefix: bytes, inflated: int = BOMB_INFLATED) -> bytes:
    """A gzip member of `prefix` + spaces, `inflated` bytes in all, built in well under a second.

    Deflate's output for a megabyte of spaces after a full flush is the same block every time,
    so the block is compressed once and repeated; only the CRC runs over the whole length.
    """
    chunk = b" " * MB
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    assert block == again, "deflate did not reach a steady state"
    tail = comp.flush(zlib.Z_FINISH)
    count = (inflated - len(prefix)) // MB
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    size = len(prefix) + count * MB
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + head + block * count + tail + struct.pack("<II", crc, size & 0xFFFFFFFF)


HTML_BOMB_PREFIX = b"<!DOCTYPE html><html lang='id'><head><title>Bom</title></head><body><p>"
SITEMAP_BOMB_PREFIX = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
)
PDF_BYTES = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    + bytes(range(256)) * 8
    + b"\nxref\n0 3\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)
JPEG_BYTES = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + bytes(range(256)) * 16
    + b"\xff\xd9"
)


@dataclass(frozen=True)
class Fault:
    """One misbehaviour at one URL, and what the archive must say about it afterwards.

    `expect` is "archived" (a record with the right title and body under `path`) or "failure"
    (a `failures` row for a URL under `path` whose reason matches `reason`, a regex, case
    blind). `stem` is what every URL of the fault starts with (redirect hops, retries).
    """

    name: str
    path: str
    expect: str
    reason: str = ""
    what: str = ""

    @property
    def stem(self) -> str:
        return self.path.rstrip("/")


def _f(name: str, slug: str, expect: str, reason: str = "", what: str = "") -> Fault:
    return Fault(name, f"/2024/01/15/{slug}/", expect, reason, what)


SIZE_REASON = r"10 ?mb|larger|too (large|big)|size|maxsize|bomb|decompress"
FAULTS: tuple[Fault, ...] = (
    _f("http_500", "server-selalu-gagal-menjawab-permintaan", "failure", r"\b500\b", "500 always"),
    _f(
        "http_503_then_ok",
        "server-sibuk-sebentar-lalu-pulih-kembali",
        "archived",
        what="503 + Retry-After: 1, then 200",
    ),
    _f(
        "hang",
        "server-diam-tidak-pernah-menjawab-sama-sekali",
        "failure",
        r"timed? ?out",
        "accepts, then sends nothing",
    ),
    _f("drip", "server-mengirim-satu-byte-setiap-detik", "failure", r"timed? ?out", "1 byte/s"),
    _f(
        "reset_mid_body",
        "koneksi-diputus-di-tengah-jalan-oleh-server",
        "failure",
        r"connection|reset|lost|incomplete|data ?loss|truncated|closed",
        "RST after half the body",
    ),
    _f(
        "short_body",
        "isi-halaman-lebih-pendek-dari-yang-dijanjikan",
        "failure",
        r"incomplete|short|data ?loss|truncated|content-length|fewer|closed|lost",
        "Content-Length 20000, 5000 sent, clean close",
    ),
    _f(
        "charset_header_latin1",
        "header-latin1-padahal-isinya-utf8-semua",
        "archived",
        what="header ISO-8859-1, body UTF-8, meta utf-8",
    ),
    _f(
        "charset_stray_cp1252",
        "satu-byte-cp1252-nyasar-di-komentar-html",
        "archived",
        what="UTF-8 header and meta, one 0x93 byte in a comment",
    ),
    _f(
        "nesting_300",
        "menu-bertingkat-tiga-ratus-lapis-div",
        "archived",
        what="300 nested divs before the article",
    ),
    _f(
        "nesting_5000",
        "menu-bertingkat-lima-ribu-lapis-div",
        "archived",
        what="5,000 nested divs before the article",
    ),
    _f(
        "malformed_links",
        "tautan-rusak-dan-kanonik-yang-tidak-bisa-dibaca",
        "archived",
        what="links with a port that is no number and an unclosed IPv6 bracket; such a canonical",
    ),
    _f(
        "big_with_length",
        "halaman-raksasa-dua-puluh-megabyte-berlabel",
        "failure",
        SIZE_REASON,
        "20 MB with Content-Length",
    ),
    _f(
        "big_without_length",
        "halaman-raksasa-dua-puluh-megabyte-tanpa-label",
        "failure",
        SIZE_REASON,
        "20 MB, no Content-Length, close-delimited",
    ),
    _f(
        "redirect_loop",
        "pengalihan-berputar-putar-tanpa-henti",
        "failure",
        r"redirect",
        "A -> B -> A",
    ),
    _f(
        "redirect_chain",
        "rantai-pengalihan-yang-tidak-ada-ujungnya",
        "failure",
        r"redirect",
        "hop 1 -> hop 2 -> ... forever",
    ),
    _f(
        "gzip_bomb",
        "bom-gzip-yang-mengembang-jadi-gigabyte",
        "failure",
        SIZE_REASON,
        "Content-Encoding: gzip inflating to 2 GB",
    ),
    _f(
        "pdf",
        "dokumen-pdf-di-alamat-sebuah-artikel",
        "failure",
        r"pdf|not an? html|not html|content.type|binary",
        "application/pdf",
    ),
    _f(
        "jpeg",
        "gambar-jpeg-di-alamat-sebuah-artikel",
        "failure",
        r"jpe?g|image|not an? html|not html|content.type|binary",
        "image/jpeg",
    ),
    _f(
        "pdf_as_html",
        "dokumen-pdf-yang-mengaku-sebagai-html",
        "failure",
        r"pdf|not an? html|not html|binary|content",
        "PDF bytes as text/html",
    ),
    _f("http_404", "berita-yang-sudah-lama-dihapus-redaksi", "failure", r"\b404\b", "404"),
    _f(
        "bot_check_page",
        "pemeriksaan-bot-menjawab-dengan-status-dua-ratus",
        "failure",
        r"^a bot check \(Cloudflare\) answered instead of the page",
        "Cloudflare's 'Just a moment...' challenge with status 200",
    ),
    _f(
        "bot_check_403",
        "pemeriksaan-bot-menolak-dengan-status-403",
        "failure",
        r"^HTTP 403: a bot check \(Cloudflare\)",
        "403 with cf-mitigated: challenge",
    ),
    _f(
        "cloudflare_scripts",
        "artikel-biasa-dengan-skrip-cloudflare-terselip",
        "archived",
        what="a normal article carrying Cloudflare's challenge-platform script (no bot check)",
    ),
)
FAULTS_BY_NAME = {f.name: f for f in FAULTS}
# Cloudflare's managed challenge, shortened: what a crawler gets instead of the page.
CLOUDFLARE_CHALLENGE = (
    b"<!DOCTYPE html><html lang='en-US'><head><title>Just a moment...</title>"
    b"<meta http-equiv='refresh' content='390'></head><body><div class='main-wrapper'>"
    b"<h1>127.0.0.1</h1><h2>Checking if the site connection is secure</h2>"
    b"<p>127.0.0.1 needs to review the security of your connection before proceeding.</p>"
    b"</div><script>(function(){window._cf_chl_opt={cvId:'3',cZone:'127.0.0.1',cType:'managed'};"
    b"var a=document.createElement('script');"
    b"a.src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray=8f1a';"
    b"document.getElementsByTagName('head')[0].appendChild(a);}());</script></body></html>"
)
# Linked from the home page, never to be requested (robots.txt Disallow).
DISALLOWED_PATH = "/rahasia/2024/01/15/dokumen-internal-redaksi-yang-dilarang-robots/"
SITEMAP_BOMB_PATH = "/sitemap-berita.xml.gz"
# What a publisher's typo gives, and urllib cannot take apart: a port that is no number, an
# unclosed IPv6 bracket. In the home page's list, the sitemap, robots.txt and one article's links
# and canonical link.
MALFORMED_URLS = ("http://127.0.0.1:8o8/2024/01/15/tautan-rusak/", "http://[::1/2024/01/15/rusak/")
PAGE_TRAP = "/terkini/"  # ?page=N forever, the same links on every page
CALENDAR_TRAP = "/indeks"  # ?date=YYYY-MM-DD, a previous day forever


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    at: float


@dataclass
class _Site:
    """The pages of the portal, made once for its base URL."""

    base_url: str
    portal: Portal  # the normal articles, and the info pages their footers link
    fault_articles: dict[str, tuple[DemoArticle, bytes]] = field(default_factory=dict)

    @property
    def normal(self) -> list[DemoArticle]:
        return self.portal.articles


def _build_site(base_url: str) -> _Site:
    # Six real articles (the demo's, with its three page styles), and from a second demo portal
    # the articles the "archived" faults serve: their own links and canonical rewritten to the
    # fault URLs, so each fault is a record of its own.
    site = _Site(base_url, generate_portal(base_url, articles=6, seed=7))
    donor = generate_portal(base_url, articles=8, seed=11)
    archived = [f for f in FAULTS if f.expect == "archived"]
    # The donor article left over stands in for a normal one in the others' related lists.
    targets = [f.path for f in archived] + [a.path for a in site.normal]
    mapping = dict(zip((a.path for a in donor.articles), targets, strict=False))
    for art, fault in zip(donor.articles, archived, strict=False):
        html = donor.pages[art.path][2].decode("utf-8")
        for old, new in mapping.items():
            html = html.replace(old, new)
        site.fault_articles[fault.name] = (art, html.encode("utf-8"))
    return site


def _with_special_paragraph(art: DemoArticle, html: bytes) -> bytes:
    """The article with SPECIAL_PARAGRAPH after its first paragraph (in UTF-8)."""
    first = art.paragraphs[0].encode("utf-8")
    at = html.index(first) + len(first)
    at = html.index(b"</p>", at) + len(b"</p>")
    return html[:at] + f"\n<p>{SPECIAL_PARAGRAPH}</p>".encode() + html[at:]


def _nested(html: bytes, depth: int) -> bytes:
    """A mega-menu `depth` divs deep, opened and closed right after <body>, before the article."""
    at = html.index(b">", html.index(b"<body")) + 1
    menu = b'<div class="mega-menu">' * depth + b"<a href='/'>Menu</a>" + b"</div>" * depth
    return html[:at] + menu + html[at:]


class HostileServer:
    """The hostile portal on 127.0.0.1 (a free port), served from a thread of its own.

    >>> with HostileServer() as server:
    ...     server.base_url  # 'http://127.0.0.1:PORT/'
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._log: list[Logged] = []
        self._hits: dict[str, int] = {}
        self._tasks: set[asyncio.Task] = set()
        self.port = 0
        self.base_url = ""
        self.site: _Site | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> HostileServer:
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, limit=64 * 1024)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            self.base_url = f"http://127.0.0.1:{self.port}/"
            self.site = _build_site(self.base_url)
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="hostile-portal", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("the hostile portal did not start")
        return self

    def stop(self) -> None:
        if self._thread is None:
            return

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self._loop.close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the log --------------------------------------------------------------------------------

    @property
    def requests(self) -> list[Logged]:
        with self._lock:
            return list(self._log)

    def requested_paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def _count(self, key: str) -> int:
        with self._lock:
            self._hits[key] = self._hits.get(key, 0) + 1
            return self._hits[key]

    # --- HTTP -----------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await asyncio.wait_for(self._serve(reader, writer), MAX_SECONDS)
        except (
            TimeoutError,
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # One request per connection (every answer says Connection: close).
        head = await reader.readuntil(b"\r\n\r\n")
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, path, _version = request_line.split(" ", 2)
        with self._lock:
            self._log.append(Logged(method, path, time.monotonic()))
        await self._route(path, reader, writer)

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        length: bool = True,
    ) -> None:
        reasons = {200: "OK", 301: "Moved Permanently", 302: "Found", 404: "Not Found",
                   500: "Internal Server Error", 503: "Service Unavailable"}  # fmt: skip
        lines = [f"HTTP/1.1 {status} {reasons.get(status, 'Status')}", "Connection: close"]
        hdrs = {"Content-Type": "text/html; charset=utf-8", **(headers or {})}
        if length:
            hdrs.setdefault("Content-Length", str(len(body)))
        lines += [f"{k}: {v}" for k, v in hdrs.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await self._write_body(writer, body)

    @staticmethod
    async def _write_body(writer: asyncio.StreamWriter, body: bytes) -> None:
        # In pieces, draining between them: a client that stops reading (a size limit) or goes
        # away makes the write fail here, which ends the connection.
        view = memoryview(body)
        for start in range(0, len(body), 256 * 1024):
            writer.write(view[start : start + 256 * 1024])
            await writer.drain()

    async def _route(
        self, path: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        assert self.site is not None
        site = self.site
        bare = path.split("?", 1)[0]
        if path == "/":
            return await self._send(writer, 200, self._home().encode())
        if path == "/robots.txt":
            robots = (
                "User-agent: *\nDisallow: /rahasia/\nDisallow: /cetak/\nDisallow: /cari\n\n"
                f"Sitemap: {self.url('/sitemap.xml')}\nSitemap: {self.url(SITEMAP_BOMB_PATH)}\n"
                f"Sitemap: {MALFORMED_URLS[1]}\n"
            )
            return await self._send(writer, 200, robots.encode(), {"Content-Type": "text/plain"})
        if path == "/sitemap.xml":
            return await self._send(
                writer, 200, self._sitemap(), {"Content-Type": "application/xml"}
            )
        if path == SITEMAP_BOMB_PATH:
            return await self._send(
                writer, 200, gzip_bomb(SITEMAP_BOMB_PREFIX), {"Content-Type": "application/x-gzip"}
            )
        if bare == PAGE_TRAP:
            return await self._send(writer, 200, self._page_trap(path).encode())
        if bare == CALENDAR_TRAP:
            return await self._send(writer, 200, self._calendar_trap(path).encode())
        handler = self._fault_handler(bare)
        if handler is not None:
            return await handler(path, reader, writer)
        # The normal articles and info pages (tracking parameters ignored, as the demo does).
        status, headers, body = site.portal.response(path)
        await self._send(writer, status, body, headers)

    def _fault_handler(
        self, bare: str
    ) -> Callable[[str, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]] | None:
        for fault in FAULTS:
            if bare == fault.path or bare.startswith(fault.stem + "-"):
                return functools.partial(getattr(self, f"_fault_{fault.name}"), fault)
        return None

    # --- pages ----------------------------------------------------------------------------------

    def _article_links(self) -> str:
        assert self.site is not None
        return "\n".join(
            f'<article class="post"><h2><a href="{a.path}">{a.title}</a></h2>'
            f'<time datetime="{a.published.isoformat()}"></time></article>'
            for a in self.site.normal
        )

    def _page(self, title: str, main: str, head: str = "") -> str:
        return (
            "<!DOCTYPE html><html lang='id'><head><meta charset='utf-8'>"
            f"<title>{title} - Portal Uji</title>{head}</head><body>"
            "<header><nav class='main-nav'><ul><li><a href='/'>Home</a></li>"
            f"<li><a href='{PAGE_TRAP}'>Terkini</a></li>"
            f"<li><a href='{CALENDAR_TRAP}?date={TRAP_DAY.isoformat()}'>Indeks</a></li>"
            "</ul></nav></header>"
            f"<main><h1>{title}</h1>{main}</main>"
            "<footer><p>&copy; 2024 Portal Uji</p></footer></body></html>"
        )

    def _home(self) -> str:
        faults = "\n".join(
            f'<article class="post"><h2><a href="{f.path}">Berita {f.name.replace("_", " ")}</a>'
            "</h2></article>"
            for f in FAULTS
        )
        disallowed = (
            f'<article class="post"><h2><a href="{DISALLOWED_PATH}">Rahasia</a></h2></article>'
        )
        malformed = "".join(
            f'<article class="post"><h2><a href="{url}">Tautan rusak</a></h2></article>'
            for url in MALFORMED_URLS
        )
        return self._page("Beranda", self._article_links() + faults + disallowed + malformed)

    def _sitemap(self) -> bytes:
        assert self.site is not None
        urls = "".join(
            f"<url><loc>{self.url(a.path)}</loc><lastmod>{a.published.isoformat()}</lastmod></url>\n"
            for a in self.site.normal
        ) + "".join(f"<url><loc>{url}</loc></url>\n" for url in MALFORMED_URLS)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n'
        ).encode()

    def _page_trap(self, path: str) -> str:
        # Every page lists the same articles and links the next page: nothing new after page 1.
        number = 1
        if "page=" in path:
            number = int(path.rsplit("page=", 1)[1].split("&")[0] or 1)
        nxt = f"{PAGE_TRAP}?page={number + 1}"
        pager = f'<nav class="pagination"><a rel="next" href="{nxt}">Selanjutnya</a></nav>'
        return self._page(
            f"Terkini - halaman {number}",
            self._article_links() + pager,
            f'<link rel="next" href="{nxt}">',
        )

    def _calendar_trap(self, path: str) -> str:
        # Every day links the day before, forever, and shows the same articles.
        day = TRAP_DAY
        if "date=" in path:
            day = date.fromisoformat(path.rsplit("date=", 1)[1][:10])
        prev = day - timedelta(days=1)
        link = (
            f'<a class="prev-day" href="{CALENDAR_TRAP}?date={prev.isoformat()}">« Sebelumnya</a>'
        )
        return self._page(f"Indeks Berita {day.isoformat()}", self._article_links() + link)

    def expected_article(self, fault: Fault) -> tuple[DemoArticle, bool]:
        """The article an "archived" fault serves, and whether it carries SPECIAL_PARAGRAPH."""
        assert self.site is not None
        return self.site.fault_articles[fault.name][0], fault.name.startswith("charset")

    # --- the faults -----------------------------------------------------------------------------

    async def _fault_http_500(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        await self._send(writer, 500, b"<h1>500 Internal Server Error</h1>")

    async def _fault_http_503_then_ok(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        if self._count(fault.name) == 1:
            return await self._send(writer, 503, b"<h1>Sedang sibuk</h1>", {"Retry-After": "1"})
        await self._send(writer, 200, self.site.fault_articles[fault.name][1])  # type: ignore[union-attr]

    async def _fault_hang(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        # Nothing at all until the client gives up (its read returns b"" then) or MAX_SECONDS.
        await reader.read(1)

    async def _fault_drip(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        body = self._page("Pelan", "<p>" + "pelan " * 400 + "</p>").encode()
        writer.write(
            f"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/html\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        for byte in body:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(1)

    async def _fault_reset_mid_body(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        body = self._page("Putus", "<p>" + "putus " * 4000 + "</p>").encode()
        writer.write(
            f"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/html\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[: len(body) // 2]
        )
        await writer.drain()
        await asyncio.sleep(0.2)
        # SO_LINGER 0: closing sends RST instead of FIN, a reset rather than an end of data.
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def _fault_short_body(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        body = self._page("Pendek", "<p>" + "pendek " * 700 + "</p>").encode()[:5000]
        writer.write(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/html; charset=utf-8\r\n"
            b"Content-Length: 20000\r\n\r\n" + body
        )
        await writer.drain()
        writer.close()  # a clean FIN, 15,000 bytes short

    async def _fault_bot_check_page(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        await self._send(writer, 200, CLOUDFLARE_CHALLENGE, {"Server": "cloudflare"})

    async def _fault_bot_check_403(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        headers = {"Server": "cloudflare", "cf-mitigated": "challenge"}
        await self._send(writer, 403, CLOUDFLARE_CHALLENGE, headers)

    async def _fault_cloudflare_scripts(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        # What Cloudflare's bot management puts into every page of a site behind it.
        script = (
            b"<script>(function(){window.__CF$cv$params={r:'8f1a',t:'MTcz'};var a=document."
            b"createElement('script');a.src='/cdn-cgi/challenge-platform/scripts/jsd/main.js';"
            b"document.getElementsByTagName('head')[0].appendChild(a);})();</script>"
        )
        body = self._fault_body(fault).replace(b"</body>", script + b"</body>")
        await self._send(writer, 200, body, {"Server": "cloudflare"})

    def _fault_body(self, fault: Fault) -> bytes:
        assert self.site is not None
        return self.site.fault_articles[fault.name][1]

    async def _fault_charset_header_latin1(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        art, _ = self.expected_article(fault)
        body = _with_special_paragraph(art, self._fault_body(fault))
        await self._send(writer, 200, body, {"Content-Type": "text/html; charset=ISO-8859-1"})

    async def _fault_charset_stray_cp1252(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        art, _ = self.expected_article(fault)
        body = _with_special_paragraph(art, self._fault_body(fault))
        at = body.index(b"<head>") + len(b"<head>")
        body = body[:at] + b"<!-- iklan \x93pojok kanan\x94 dimatikan -->" + body[at:]
        await self._send(writer, 200, body, {"Content-Type": "text/html; charset=UTF-8"})

    async def _fault_malformed_links(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        # What a publisher's typo gives: urllib cannot take these apart (before, one of them
        # among a page's links lost the page).
        body = re.sub(
            rb'<link rel="canonical" href="[^"]*"',
            f'<link rel="canonical" href="{MALFORMED_URLS[1]}"'.encode(),
            self._fault_body(fault),
        )
        links = "".join(f'<a href="{url}">tautan</a>' for url in MALFORMED_URLS).encode()
        at = body.index(b"</body>")
        await self._send(writer, 200, body[:at] + links + body[at:])

    async def _fault_nesting_300(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        await self._send(writer, 200, _nested(self._fault_body(fault), 300))

    async def _fault_nesting_5000(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        await self._send(writer, 200, _nested(self._fault_body(fault), 5000))

    async def _stream_big(self, writer: asyncio.StreamWriter, *, with_length: bool) -> None:
        head = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/html; charset=utf-8\r\n"
        if with_length:
            head += f"Content-Length: {BIG_PAGE}\r\n"
        writer.write((head + "\r\n").encode())
        filler = (b"<p>" + b"isi halaman raksasa " * 50 + b"</p>\n") * 64
        sent = 0
        while sent < BIG_PAGE:
            piece = filler[: BIG_PAGE - sent]
            writer.write(piece)
            await writer.drain()
            sent += len(piece)
        writer.close()

    async def _fault_big_with_length(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        await self._stream_big(writer, with_length=True)

    async def _fault_big_without_length(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        await self._stream_big(writer, with_length=False)

    async def _fault_redirect_loop(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        other = f"{fault.stem}-b/" if path == fault.path else fault.path
        await self._send(writer, 302, b"", {"Location": self.url(other)})

    async def _fault_redirect_chain(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        hop = 0
        if path.startswith(fault.stem + "-"):
            hop = int(path[len(fault.stem) + 1 :].strip("/") or 0)
        await self._send(writer, 301, b"", {"Location": self.url(f"{fault.stem}-{hop + 1}/")})

    async def _fault_gzip_bomb(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        await self._send(
            writer,
            200,
            gzip_bomb(HTML_BOMB_PREFIX),
            {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
        )

    async def _fault_pdf(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        await self._send(writer, 200, PDF_BYTES, {"Content-Type": "application/pdf"})

    async def _fault_jpeg(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        await self._send(writer, 200, JPEG_BYTES, {"Content-Type": "image/jpeg"})

    async def _fault_pdf_as_html(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        await self._send(writer, 200, PDF_BYTES, {"Content-Type": "text/html"})

    async def _fault_http_404(self, fault: Fault, path: str, reader, writer) -> None:  # noqa: ANN001
        await self._send(writer, 404, b"<h1>404</h1><p>Berita sudah dihapus.</p>")


# --- running a command and watching its memory ----------------------------------------------------


@dataclass
class Measured:
    returncode: int | None  # None: it did not end by itself within the bound and was killed
    stdout: str
    stderr: str
    seconds: float
    peak_rss: int  # bytes: the most the whole process group held at once

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def group_rss(pgid: int) -> int:
    """Resident memory of every process in process group `pgid`, summed (Linux /proc)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
            # Fields after the command name (which may hold spaces): state ppid pgrp ...
            if int(stat.rsplit(b")", 1)[1].split()[2]) != pgid:
                continue
            with open(f"/proc/{entry.name}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    return total


def run_measured(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> Measured:
    """Run `cmd` in a process group of its own, sampling the group's RSS every 50 ms.

    A per-process figure (ru_maxrss) would miss the worker processes' share; the sum over the
    group is what the machine has to hold. Past `timeout` the whole group is killed.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True
        )
        peak = 0
        returncode: int | None = None
        while True:
            peak = max(peak, group_rss(proc.pid))
            returncode = proc.poll()
            if returncode is not None:
                break
            if time.monotonic() - started > timeout:
                kill_group(proc.pid)
                proc.wait()
                returncode = None
                break
            time.sleep(0.05)
        seconds = time.monotonic() - started
        # The workers may still be ending; never leave them behind.
        kill_group(proc.pid)
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            seconds,
            peak,
        )


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
