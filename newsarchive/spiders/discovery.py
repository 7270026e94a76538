"""What a link is, read from its URL and its place on the page: the crawler's discovery rules.

Pure functions over strings and parsed pages (no network, no crawler), so they are cheap to test
and to reuse: article URLs by shape, listing pagination in its real forms, multi-page article
continuations, sitemaps and feeds with their dates. Sitemaps are read with Scrapy's own parser and
gunzip (`scrapy.utils.sitemap`, `scrapy.utils.gz`): no entity resolution, bounded inflation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import SplitResult, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import etree
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap

from newsarchive.urls import split_url

# Article URLs by shape, for sites without a profile: a date in the path (/2023/07/02/,
# /20230702/), a numeric id of 5+ digits as a segment or glued to a slug (detik d-6801234,
# kompas 19170011, `-123456`), or a long hyphenated slug (five words or more).
ARTICLE_SHAPES = (
    re.compile(r"/(19|20)\d{2}/(0?[1-9]|1[0-2])(/(0?[1-9]|[12]\d|3[01]))?/[^/]+"),
    re.compile(r"/(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d*/"),
    re.compile(r"/(?:[a-z]{1,3}-)?\d{5,}(?:/|-|$)"),
    re.compile(r"-\d{5,}(?:\.html?)?/?$"),
    re.compile(r"/[a-z0-9]+(?:-[a-z0-9]+){4,}(?:\.html?)?/?$"),
)
# Paths that look like articles by those rules but are listings, archives or utilities.
NOT_ARTICLE = re.compile(
    r"/(?:page|halaman|tag|tags|topik|topic|kategori|category|author|penulis|indeks|index|search|"
    r"cari|feed|rss|amp-stories|wp-admin|wp-login|login|register|daftar)(?:/|$|\?)",
    re.IGNORECASE,
)
# `/2`, `/3/` after an article path: a later page of a multi-page article.
CONTINUATION_SUFFIX = re.compile(r"[a-z].*/\d{1,2}/?$")
# Links no crawler of articles wants: files, mail, scripts, share intents.
SKIP_EXTENSIONS = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|ico|css|js|json|pdf|zip|rar|gz|mp[34]|avi|mov|webm|woff2?|ttf)$",
    re.IGNORECASE,
)
# "Next page" link texts on Indonesian and English portals.
NEXT_LABELS = re.compile(
    r"^(?:selanjutnya|berikutnya|lanjut|next(?: page)?|halaman berikutnya|older posts|»|›|>|>>|→)"
    r"(?:\s*[»›>→]+)?$",
    re.IGNORECASE,
)
# Where a listing's page number sits: /page/N/, ?page=N (also ?p=N, ?hal=N, ?halaman=N).
PAGE_IN_PATH = re.compile(r"/(?:page|halaman|hal)/(\d+)/?$", re.IGNORECASE)
PAGE_PARAMS = ("page", "p", "hal", "halaman", "paged")
# Date-indexed listings: /indeks?date=2023-07-02 (or detik's 07/02/2023).
DATE_PARAMS = ("date", "tanggal", "tgl")
# "Show the whole article" switches; their presence on an article's first page ends the paging.
SHOW_ALL_PARAMS = {
    "page": {"all"},
    "single": {"1", "true"},
    "showall": {"1", "true", "all"},
    "show_all": {"1", "true"},
}
# Hrefs in raw HTML, read without parsing (article pages are mined for links cheaply).
HREF = re.compile(rb"""<(?:a|link)\s[^>]*?href\s*=\s*["']([^"'#<>\s]+)""", re.IGNORECASE)


# What a URL urllib cannot take apart has: no parts.
_NO_PARTS = urlsplit("")


def _parts(url: str) -> SplitResult:
    """urllib's parts of any text: one it cannot take apart (an unclosed IPv6 bracket) has none,
    so each test below is false of it instead of raising in the spider, whatever order a caller
    runs them in. Not urls.split_url: none of these reads the port, and checking it would cost
    the crawl ~0.3 µs a call, a few calls for every link of every page."""
    try:
        return urlsplit(url)
    except ValueError:
        return _NO_PARTS


def same_site(url: str, hosts: tuple[str, ...]) -> bool:
    host = (_parts(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in hosts)


def path_and_query(url: str) -> str:
    parts = _parts(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def looks_like_article(url: str) -> bool:
    """True when the URL has the shape of an article on a typical news portal."""
    parts = _parts(url)
    path = parts.path
    if SKIP_EXTENSIONS.search(path) or NOT_ARTICLE.search(path):
        return False
    if page_number(url) > 1 or CONTINUATION_SUFFIX.search(path):
        # Page 2.. of a multi-page article: reached from its first page and stitched there.
        return False
    return any(shape.search(path.lower()) for shape in ARTICLE_SHAPES)


def absolute_url(base: str, href: str) -> str:
    """`href`, as a page, sitemap, feed or robots.txt gives it, made absolute against `base`;
    "" for one urllib cannot take apart (an unclosed IPv6 bracket), which no check takes for
    a page to fetch: one such link no longer stops the reading of what lists it."""
    try:
        return urljoin(base, href)
    except ValueError:
        return ""


def robots_sitemap_lines(body: bytes) -> list[str]:
    """The values of a robots.txt's `Sitemap:` lines, as written (Scrapy's
    sitemap_urls_from_robots joins them as it goes, and raised at one urllib cannot read)."""
    text = body.decode("utf-8", "replace")
    return [
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.lstrip().lower().startswith("sitemap:") and line.split(":", 1)[1].strip()
    ]


def _web_parts(url: str) -> SplitResult | None:
    parts = split_url(url)
    return parts if parts is not None and parts.scheme in ("http", "https") else None


def fetchable(url: str) -> bool:
    """An http(s) URL urllib can take apart: a malformed link (a port that is no number, an
    unclosed IPv6 bracket) is not followed, where it used to stop the reading of the page,
    sitemap or robots.txt that gave it, and lose what they listed."""
    return _web_parts(url) is not None


def crawlable(url: str) -> bool:
    """A fetchable URL, not of a file no article is (an image, an archive, a document)."""
    parts = _web_parts(url)
    return parts is not None and not SKIP_EXTENSIONS.search(parts.path)


def date_in_url(url: str) -> date | None:
    """The publication date many portals put in article paths (/2023/07/02/)."""
    m = re.search(
        r"/((?:19|20)\d{2})/(0?[1-9]|1[0-2])/(0?[1-9]|[12]\d|3[01])/", _parts(url).path + "/"
    )
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def parse_when(text: str | None) -> datetime | None:
    """ISO-8601 (sitemaps, Atom, <time datetime>) or RFC 822 (RSS) dates; naive ones are UTC."""
    if not text:
        return None
    text = text.strip()
    value: datetime | None = None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def page_number(url: str) -> int:
    """The page number of a listing URL (1 when it shows none)."""
    parts = _parts(url)
    m = PAGE_IN_PATH.search(parts.path)
    if m:
        return int(m.group(1))
    for name, value in parse_qsl(parts.query):
        if name.lower() in PAGE_PARAMS and value.isdigit():
            return int(value)
    return 1


def previous_day_url(url: str) -> str | None:
    """For a date-indexed listing (/indeks?date=2023-07-02), the same listing one day earlier."""
    parts = _parts(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    for i, (name, value) in enumerate(params):
        if name.lower() not in DATE_PARAMS:
            continue
        for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d-%m-%Y", "%Y/%m/%d"):
            try:
                day = datetime.strptime(value, fmt).date()
            except ValueError:
                continue
            params[i] = (name, (day - timedelta(days=1)).strftime(fmt))
            return urlunsplit(parts._replace(query=urlencode(params, safe="/")))
    return None


def listing_date(url: str) -> date | None:
    """The day a date-indexed listing shows."""
    for name, value in parse_qsl(_parts(url).query):
        if name.lower() in DATE_PARAMS:
            for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d-%m-%Y", "%Y/%m/%d"):
                try:
                    return datetime.strptime(value, fmt).date()
                except ValueError:
                    continue
    return None


def is_pagination_of(candidate: str, current: str, number: int) -> bool:
    """Is `candidate` page `number` of the listing `current` is a page of?"""
    cur, cand = _parts(current), _parts(candidate)
    if cur.netloc != cand.netloc or page_number(candidate) != number:
        return False
    base_cur = PAGE_IN_PATH.sub("/", cur.path).rstrip("/")
    base_cand = PAGE_IN_PATH.sub("/", cand.path).rstrip("/")
    return base_cur == base_cand


def show_all_url(url: str) -> bool:
    if "?" not in url:
        return False
    return any(
        name.lower() in SHOW_ALL_PARAMS and value.lower() in SHOW_ALL_PARAMS[name.lower()]
        for name, value in parse_qsl(_parts(url).query, keep_blank_values=True)
    )


def article_continuation(candidate: str, article_url: str, number: int) -> bool:
    """Is `candidate` page `number` of the multi-page article at `article_url`?

    The forms portals use: `?page=N` on the article URL, or `/N` (`/N/`) appended to its path.
    """
    # Both forms extend the article URL's path: a string test rules out almost every link cheaply.
    if not candidate.startswith(article_url.split("?", 1)[0].rstrip("/")):
        return False
    art, cand = _parts(article_url), _parts(candidate)
    if art.netloc != cand.netloc:
        return False
    base = art.path.rstrip("/")
    if cand.path.rstrip("/") == base:
        params = dict(parse_qsl(cand.query))
        return any(params.get(name) == str(number) for name in PAGE_PARAMS)
    return cand.path.rstrip("/") == f"{base}/{number}" and not cand.query


def hrefs(body: bytes, base_url: str) -> list[str]:
    """Absolute link targets of a page, read from the raw bytes without parsing it."""
    parts = _parts(base_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    out = []
    for match in HREF.finditer(body):
        href = match.group(1).decode("utf-8", "replace").replace("&amp;", "&")
        if href.startswith(("javascript:", "mailto:", "tel:", "whatsapp:", "data:")):
            continue
        # Most links are absolute or root-relative: no need for the (slow) general urljoin.
        if href.startswith(("http://", "https://")):
            out.append(href)
        elif href.startswith("/") and not href.startswith("//") and "/." not in href:
            out.append(origin + href)
        elif joined := absolute_url(base_url, href):
            out.append(joined)
    return out


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


_XML_PARSER = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=True)
GZIP_MAGIC = b"\x1f\x8b\x08"


def sitemap_body(body: bytes, max_size: int) -> bytes:
    """The XML of a sitemap or feed response: a `.xml.gz` file (served without Content-Encoding,
    so still compressed) is gunzipped the way SitemapSpider does, never past `max_size` bytes
    (DOWNLOAD_MAXSIZE applies to the inflated size). Raises ValueError past it, OSError/EOFError
    on a broken gzip stream."""
    if body[:3] == GZIP_MAGIC:
        return gunzip(body, max_size=max_size)
    return body


class _NewsSitemap(Sitemap):
    """Scrapy's sitemap parser, also keeping a news sitemap's `news:publication_date` (nested
    inside `news:news`, which Scrapy's reads only one level deep)."""

    def _process_sitemap_element(self, elem: etree._Element) -> dict | None:
        published = next(
            (
                (el.text or "").strip()
                for el in elem.iter()
                if self._get_tag_name(el) == "publication_date"
            ),
            None,
        )
        entry = super()._process_sitemap_element(elem)
        if entry is not None and published:
            entry["publication_date"] = published
        return entry


# What a broken sitemap raises, when it is opened or part-way through its entries.
SITEMAP_ERRORS = (etree.XMLSyntaxError, StopIteration)


def iter_sitemap(body: bytes) -> tuple[str, Iterator[tuple[str, datetime | None]]]:
    """('index' | 'urlset' | 'unknown', (loc, date) one at a time), parsed as they are taken: a
    50,000-URL sitemap never has all its entries (and their dates) in memory at once. Raises one
    of SITEMAP_ERRORS when the XML is broken, here or part-way through the entries."""
    # Only leading whitespace stops lxml (before the XML declaration); left alone, the body is
    # not copied (a sitemap's can be 50 MB), which strip() did for its last newline.
    sitemap = _NewsSitemap(body.lstrip())
    kind = {"sitemapindex": "index", "urlset": "urlset"}.get(sitemap.type, "unknown")
    if kind == "unknown":
        return kind, iter(())
    entries = (
        (d["loc"], parse_when(d.get("publication_date")) or parse_when(d.get("lastmod")))
        for d in sitemap
        if d.get("loc")
    )
    return kind, entries


def parse_sitemap(body: bytes) -> tuple[str, list[tuple[str, datetime | None]]]:
    """('index' | 'urlset' | 'unknown', [(loc, date)]): date = news:publication_date or lastmod."""
    try:
        kind, entries = iter_sitemap(body)
        return kind, list(entries)
    except SITEMAP_ERRORS:
        return "unknown", []


def parse_feed(body: bytes, base_url: str) -> list[tuple[str, datetime | None]]:
    """[(link, date)] of an RSS or Atom feed."""
    try:
        root = etree.fromstring(body.strip(), parser=_XML_PARSER)
    except etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    out = []
    for item in root.iter():
        name = _local(item.tag)
        if name not in ("item", "entry"):
            continue
        link = when = None
        for el in item:
            child = _local(el.tag)
            if child == "link":
                href = el.get("href")
                if href and el.get("rel", "alternate") == "alternate":
                    link = href
                elif el.text and el.text.strip():
                    link = el.text.strip()
            elif child in ("pubdate", "published", "date", "updated") and when is None:
                when = parse_when(el.text)
            elif child == "guid" and link is None and (el.text or "").startswith("http"):
                link = el.text.strip()
        if link and (joined := absolute_url(base_url, link)):
            out.append((joined, when))
    return out


def looks_like_feed(url: str) -> bool:
    path = _parts(url).path.lower()
    return path.endswith(
        ("/feed", "/feed/", "/rss", "/rss/", ".rss", "/atom.xml", "/rss.xml", "/feed.xml")
    )
