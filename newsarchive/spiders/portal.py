"""PortalSpider (`portal`): one spider for every site, driven by a site profile or by discovery.

    scrapy crawl portal -a site=demo -a base_url=http://127.0.0.1:8123/
    scrapy crawl portal -a site=https://news.example.id/ -a db=data/archive.db -a since=2024-01-01

Spider arguments: `site` (a packaged profile name, a profile file, or a URL), `base_url` (where a
profile's relative start URLs live; defaults to the site URL), `db` (the archive; default the
NEWSARCHIVE_DB setting), `since` (a date or time as `--since` takes it: skip what is older,
without fetching it when a sitemap, feed, listing or URL gives the date), `max_pages` (exactly
that many requests reach the site, then the crawl stops with reason "max_pages").

The spider navigates; it never extracts: it yields CrawledPage items (raw pages, never a Response)
and FetchFailure items, which the pipelines extract, validate and store. What it leaves to Scrapy:
one request per page (the dupefilter, over canonical fingerprints: newsarchive/fingerprint.py, kept
8 bytes per URL: newsarchive/dupefilter.py),
robots.txt (fetched once, by the robots middleware, which also hands over its Sitemap: lines),
the page budget, redirect loops (newsarchive/middlewares.py) and the job directory
(newsarchive/jobdir.py).
"""

from __future__ import annotations

import functools
import logging
import re
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.core.scheduler import Scheduler
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.selector import Selector
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware
from scrapy.spidermiddlewares.depth import DepthMiddleware
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.response import get_base_url
from twisted.python.failure import Failure

from newsarchive.errors import ArchiveDamaged, ProfileError
from newsarchive.items import CrawledPage, FetchFailure, RawPage
from newsarchive.middlewares import RECHECK, BudgetSpent, RobotsTxt, Unfetchable
from newsarchive.process_memory import fix_mmap_threshold, tune_gc, untune_gc
from newsarchive.sites import SiteProfile, find_profile, load_profile
from newsarchive.spiders import discovery as disc
from newsarchive.spiders.reasons import OFFSITE, ROBOTS_FORBIDDEN, failure_reason, megabytes
from newsarchive.storage.records import CLOCK_AHEAD_TOLERANCE, parse_since
from newsarchive.urls import normalize_url, site_from_url, web_address, without_tracking

logger = logging.getLogger(__name__)


def _page_base(response: Response) -> str:
    """What a page's relative links are relative to, as response.urljoin reads it: its
    `<base href>`, else its URL (also when that `<base>` is one urllib cannot take apart)."""
    if not isinstance(response, TextResponse):
        return response.url
    try:
        return get_base_url(response)  # kept per response by Scrapy
    except ValueError:
        return response.url


# Every article page is scanned for a "show all" link, and a portal's pages share most of their
# links (menus, tickers, related lists): the answer per link is kept (bounded), since parsing
# each link's query string again was a tenth of the spider's time.
_show_all_url = functools.lru_cache(maxsize=1 << 14)(disc.show_all_url)
# How many link decisions the spider remembers (see Recent): per generation, two generations.
RECENT_LINKS = 1 << 14

# A sitemap lists up to 50,000 URLs, and Scrapy's scheduler, when its queue is in memory (no
# JOBDIR), keeps each request it is given until it is fetched (about a kilobyte with its meta and
# headers): a large sitemap's requests were the crawl process's memory growth. The spider keeps a
# sitemap's article URLs instead and hands Scrapy their requests NEWSARCHIVE_SITEMAP_FEED at a
# time, whenever fewer than that many wait in its queue (see _feed). What the crawl fetches is the
# same.
DEFAULT_SITEMAP_FEED = 512
# A profile's [crawl] keys that are Scrapy settings for the run (set in from_crawler).
PROFILE_SETTINGS = {
    "download_delay": "DOWNLOAD_DELAY",
    "concurrent_requests_per_domain": "CONCURRENT_REQUESTS_PER_DOMAIN",
}
# The backlog's URLs are kept zlib-compressed this many at a time (see PackedUrls).
PACKED_URLS_CHUNK = 1024
# A sitemap's article URLs asked of the archive's snapshot together (a shared crawl's is in
# Redis: one round trip for these instead of one each, ~0.1 ms apiece).
DECIDE_TOGETHER = 500

# Where sites without a robots.txt Sitemap line usually keep their sitemaps (WordPress/Yoast
# `sitemap_index.xml` and `post-sitemap.xml`, the generic `sitemap.xml`), and their feed.
SITEMAP_PROBES = ("/sitemap_index.xml", "/sitemap.xml", "/post-sitemap.xml")
FEED_PROBES = ("/feed/",)
# Navigation containers: their links are the site's categories.
NAV_LINKS = "nav a[href], header a[href], [class*='menu'] a[href], [id*='menu'] a[href], [class*='nav'] a[href]"
# Files that are no web page, by their first bytes: what a server sends at an article URL when it
# serves a download (or mislabels one as text/html).
BINARY_MAGIC = (
    (b"%PDF-", "PDF"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG", "PNG"),
    (b"GIF8", "GIF"),
    (b"PK\x03\x04", "ZIP"),
    (b"\x1f\x8b", "gzip"),
)


def raw_page(response: Response, requested_url: str) -> RawPage:
    headers = {
        k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()
    }
    return RawPage(
        url=requested_url,
        body=response.body,
        final_url=response.url if response.url != requested_url else None,
        status=response.status,
        headers=headers,
        fetched_at=datetime.now(UTC),
        encoding=response.encoding if isinstance(response, TextResponse) else None,
    )


def not_html(response: Response) -> str | None:
    """Why `response` is no page to archive (None when it is one)."""
    ctype = response.headers.get(b"Content-Type", b"").decode("latin-1").split(";")[0].strip()
    head = response.body[:8]
    for magic, kind in BINARY_MAGIC:
        if head.startswith(magic):
            if ctype.startswith("text/"):
                return f"not an HTML page ({kind} bytes served as {ctype})"
            return f"not an HTML page ({ctype or kind})"
    if not isinstance(response, TextResponse):
        return f"not an HTML page ({ctype or 'no Content-Type, binary body'})"
    return None


def since_datetime(value: str | date | None) -> datetime | None:
    """`--since` as the moment the spider compares dates with, read by the archive's one parser
    (`parse_since`: a date, or a time with its offset). A date means its midnight UTC."""
    if value in (None, ""):
        return None
    text = parse_since(value.isoformat() if isinstance(value, date) else str(value))
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# The crawl CLI's name for it (`newsarchive.cli.crawl` validates --since with it).
_since = since_datetime


class Recent:
    """A memo of decisions about the keys seen last: two generations of up to `size` keys each.
    A key that keeps coming back (a menu, a ticker) is remembered; memory stays bounded however
    many distinct links a crawl meets. A portal links each article under several spellings
    (tracking parameters, fragments): remembering every one grew the crawl process by about a
    kilobyte per article. A forgotten key is only decided again, the same way."""

    __slots__ = ("new", "old", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.new: dict[str, bool] = {}
        self.old: dict[str, bool] = {}

    def get(self, key: str) -> bool | None:
        value = self.new.get(key)
        if value is None:
            value = self.old.get(key)
            if value is not None:
                self.put(key, value)
        return value

    def put(self, key: str, value: bool) -> None:
        new = self.new
        new[key] = value
        if len(new) >= self.size:
            self.old, self.new = new, {}

    def __len__(self) -> int:
        return len(self.new) + len(self.old)


class PackedUrls:
    """A first-in first-out queue of URLs kept zlib-compressed PACKED_URLS_CHUNK at a time: the
    sitemap backlog. A 50,000-URL sitemap's URLs as strings took 8 MB of the crawl process (160
    bytes each, with the deque) from the moment it was parsed until its requests went out, which
    on a portal whose pages link each other is the end of the crawl; packed, the URLs of one site
    share most of their bytes and take a few hundred kilobytes. Only the chunk being taken from is
    unpacked. URLs hold no newline (urljoin, which made them, removes it), so one separates them."""

    __slots__ = ("_chunks", "_count", "_head", "_tail")

    def __init__(self, urls: Iterable[str] = ()) -> None:
        self._chunks: deque[bytes] = deque()
        self._tail: list[str] = []  # the newest, not packed yet
        self._head: list[str] = []  # the unpacked oldest chunk, reversed: taken with pop()
        self._count = 0
        for url in urls:
            self.append(url)

    def append(self, url: str) -> None:
        tail = self._tail
        tail.append(url)
        self._count += 1
        if len(tail) >= PACKED_URLS_CHUNK:
            self._chunks.append(zlib.compress("\n".join(tail).encode(), 1))
            tail.clear()

    def popleft(self) -> str:
        head = self._head
        if not head:
            if self._chunks:
                head.extend(zlib.decompress(self._chunks.popleft()).decode().split("\n"))
            else:
                head.extend(self._tail)
                self._tail.clear()
            if not head:
                raise IndexError("pop from an empty PackedUrls")
            head.reverse()
        self._count -= 1
        return head.pop()

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        """Takes every URL, oldest first (the queue is empty afterwards)."""
        while self._count:
            yield self.popleft()


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(
        self,
        site: str | None = None,
        base_url: str | None = None,
        db: str | None = None,
        since: str | None = None,
        max_pages: str | int | None = None,
        site_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not site:
            raise ProfileError("which site? pass -a site=NAME (a profile) or -a site=URL")
        self.profile: SiteProfile | None
        url = web_address(site)
        if url:
            self.profile = find_profile(url)
            base_url = base_url or url
        else:
            self.profile = load_profile(site)
        if base_url:
            given, base_url = base_url, web_address(base_url)
            if not base_url:
                raise ProfileError(f"base_url {given!r}: expected an http(s) URL")
        if not base_url:
            starts = self.profile.crawl.get("start_urls", ()) if self.profile else ()
            absolute = [u for u in starts if re.match(r"https?://", u)]
            if not absolute:
                raise ProfileError(
                    f"site {site!r}: its start URLs are relative; pass base_url (newsarchive crawl --base-url)"
                )
            base_url = absolute[0]
        self.base_url = base_url if urlsplit(base_url).path else base_url + "/"
        # The name the archive files the site under: given (a plan entry's name), else the
        # profile's, else the host.
        self.site_name = site_name or (
            self.profile.name if self.profile else (site_from_url(self.base_url) or "site")
        )
        host = (urlsplit(self.base_url).hostname or "").lower()
        self.hosts = tuple(dict.fromkeys([host, *(self.profile.domains if self.profile else ())]))
        self.allowed_domains = list(self.hosts)
        self.db_path = db
        self.since = since_datetime(since)
        # Spent by newsarchive.middlewares.FetchGuard, which reads it from here.
        self.max_pages = int(max_pages) if max_pages not in (None, "", 0, "0") else None
        crawl = self.profile.crawl if self.profile else {}
        self.crawl_rules = crawl
        self._patterns = {
            key: [re.compile(p) for p in crawl.get(key, ())]
            for key in (
                "article_patterns",
                "category_patterns",
                "deny_patterns",
                "pagination_patterns",
            )
        }
        # FetchState per normalised article URL: KnownUrls (the archive, asked per URL),
        # SharedKnown (a shared crawl's worker: the writer's snapshot in Redis), or, with no
        # archive yet, an empty dict.
        self.known: Any = {}
        # Decisions Scrapy cannot make for us: whether a URL is an article (every page links the
        # same menus and tickers) and which links of an article page were already weighed (a CPU
        # saving: the dupefilter would drop their requests anyway), remembered for the links
        # seen last; and for the run, which archived articles were skipped (a stat) and what
        # each listing's pages showed so far (to tell a paginator that repeats itself).
        self._is_article_cache = Recent(RECENT_LINKS)
        self.links_considered = Recent(RECENT_LINKS)
        self.skipped: set[str] = set()
        self._chain_links: dict[str, set[str]] = {}
        self.depth_limit = 0
        # Set by newsarchive.jobdir when this run continues a stopped or killed one: listings are
        # walked past pages the archive already has (not past pages that repeat themselves).
        self.resume_walk = False
        self.started = datetime.now(UTC)
        # Sitemap article URLs whose requests Scrapy has not been handed yet (see _feed), oldest
        # sitemap first, each with its sitemap's response (without its body): the response the
        # requests come from, for the spider middlewares (depth, Referer).
        self._backlog: deque[tuple[Response, PackedUrls]] = deque()
        self._request_steps: list[Callable[[Request, Response], Request | None]] | None = None
        self._lazy: bool | None = None  # decided when the engine is there (see _feeds_lazily)
        self.feed_size = DEFAULT_SITEMAP_FEED

    # --- setup -------------------------------------------------------------------------------

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        if not settings.frozen:
            # The profile's politeness as settings of the spider's priority, so a user's `-s`
            # still wins (Scrapy 2.19 deprecates the spider attributes that carried it, with a
            # warning on every crawl).
            for key, name in PROFILE_SETTINGS.items():
                if key in spider.crawl_rules:
                    settings.set(name, spider.crawl_rules[key], priority="spider")
        spider.db_path = spider.db_path or settings.get("NEWSARCHIVE_DB")
        spider.revisit_hours = tuple(
            float(h)
            for h in spider.crawl_rules.get(
                "revisit_hours", settings.getlist("NEWSARCHIVE_REVISIT_HOURS")
            )
        )
        spider.max_listing_depth = int(
            spider.crawl_rules.get(
                "max_listing_depth", settings.getint("NEWSARCHIVE_MAX_LISTING_DEPTH", 1)
            )
        )
        spider.max_stale_days = settings.getint("NEWSARCHIVE_MAX_STALE_DAYS", 3)
        spider.recheck_per_run = int(
            spider.crawl_rules.get(
                "recheck_per_run", settings.getint("NEWSARCHIVE_RECHECK_PER_RUN", 50)
            )
        )
        spider.recheck_days = float(
            spider.crawl_rules.get(
                "recheck_days", settings.getfloat("NEWSARCHIVE_RECHECK_DAYS", 30)
            )
        )
        spider.max_article_pages = settings.getint("NEWSARCHIVE_MAX_ARTICLE_PAGES", 30)
        spider.depth_limit = settings.getint("DEPTH_LIMIT", 0)
        spider.max_size = settings.getint("DOWNLOAD_MAXSIZE")
        spider.feed_size = settings.getint("NEWSARCHIVE_SITEMAP_FEED", DEFAULT_SITEMAP_FEED)
        crawler.signals.connect(spider._on_closed, signal=signals.spider_closed)
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        return spider

    def _on_closed(self, spider: scrapy.Spider, reason: str) -> None:
        garbled = getattr(self.known, "garbled", None)
        if garbled:
            self.crawler.stats.set_value("newsarchive/garbled_records", len(garbled))
        close_known = getattr(self.known, "close", None)
        if close_known is not None:
            close_known()
        thresholds = getattr(self, "_gc_thresholds", None)
        if thresholds is not None:
            untune_gc(thresholds)

    def _load_known(self) -> None:
        from newsarchive.storage import Archive, KnownUrls

        if self.db_path and Path(self.db_path).exists():
            with Archive(self.db_path):
                pass  # an older archive migrated before it is read
            try:
                self.known = KnownUrls(self.db_path, self.site_name, self._archive_damaged)
            except ArchiveDamaged as exc:
                self._archive_damaged(exc)
                return
            logger.info("%s: %d articles already in the archive", self.site_name, len(self.known))

    def _archive_damaged(self, error: ArchiveDamaged) -> None:
        """A read of the archive met a damaged page: the crawl stops as when its writer meets
        one (one line, finish reason archive_unwritable), the first time."""
        from newsarchive.pipelines import ARCHIVE_UNWRITABLE, REPORTED, stop_crawl

        stats = self.crawler.stats
        if stats.get_value("newsarchive/unwritable"):
            return
        stats.set_value("newsarchive/unwritable", str(error))
        logger.error("%s; stopping the crawl", error, extra=REPORTED)
        stop_crawl(self.crawler, ARCHIVE_UNWRITABLE)

    # --- decisions ---------------------------------------------------------------------------

    def _prefetch_known(self, urls: Iterable[str]) -> None:
        """Hand `self.known` the URLs about to be asked, when it can answer them together."""
        prefetch = getattr(self.known, "prefetch", None)
        if prefetch is not None:
            prefetch([normalize_url(url) for url in urls])

    def should_fetch(self, url: str, changed: datetime | None = None) -> bool:
        """Fetch this article URL? Not if the archive has it, unless a revisit is due, a sitemap
        says it changed since we fetched it, or the archive has it marked taken down."""
        state = self.known.get(normalize_url(url))
        if state is None or state.gone:
            # Taken down, and linked again: it may be back (its record says so when it is).
            return True
        if changed is not None and state.last_fetched is not None and changed > state.last_fetched:
            return True
        return self.revisit_due(state)

    def revisit_due(self, state: Any, now: datetime | None = None) -> bool:
        """Due when a revisit point (hours after publication, or first sight) has passed since
        the last fetch."""
        now = now or self.started
        base = state.published or state.first_seen
        if base is None or state.last_fetched is None:
            return False
        if state.last_fetched > now + CLOCK_AHEAD_TOLERANCE:
            # Fetched "later than now", under a clock set wrong: its revisits would wait for
            # that time; fetched again, it gets a true one.
            return True
        passed = [h for h in self.revisit_hours if base + timedelta(hours=h) <= now]
        if not passed:
            return False
        return state.last_fetched < base + timedelta(hours=max(passed))

    def too_old(self, when: datetime | date | None) -> bool:
        if self.since is None or when is None:
            return False
        if isinstance(when, datetime):
            return when < self.since
        return when < self.since.date()

    def _matches(self, key: str, url: str) -> bool:
        target = disc.path_and_query(url)
        return any(p.search(target) for p in self._patterns[key])

    def on_site(self, url: str) -> bool:
        return disc.crawlable(url) and disc.same_site(url, self.hosts)

    def allowed(self, url: str) -> bool:
        """On the site and not excluded by the profile's deny_patterns: every URL the spider
        requests passes this, wherever it was found (pages, sitemaps, feeds)."""
        return self.on_site(url) and not self._matches("deny_patterns", url)

    def is_article(self, url: str) -> bool:
        # Every page of a portal links the same menus and tickers: decided once while they recur.
        known = self._is_article_cache.get(url)
        if known is None:
            known = self._is_article(url)
            self._is_article_cache.put(url, known)
        return known

    def _is_article(self, url: str) -> bool:
        if not self.allowed(url):
            return False
        if self._patterns["article_patterns"]:
            return self._matches("article_patterns", url)
        return disc.looks_like_article(url)

    def is_category(self, url: str) -> bool:
        return (
            self.allowed(url)
            and bool(self._patterns["category_patterns"])
            and self._matches("category_patterns", url)
        )

    def listed_article(self, url: str) -> bool:
        """A URL a sitemap or feed lists: an article, unless the profile's patterns say it is not
        (sitemaps list articles whatever their URLs look like)."""
        if not self.allowed(url):
            return False
        if self._patterns["article_patterns"]:
            return self._matches("article_patterns", url)
        return not self.is_category(url)

    # --- requests ----------------------------------------------------------------------------

    def wants_article(self, url: str, source: Response, *, changed: datetime | None = None) -> bool:
        """Request this article URL that `source` links or lists?"""
        if self.depth_limit and source.meta.get("depth", 0) + 1 > self.depth_limit:
            # Scrapy's DepthMiddleware would drop it; another page may still reach it less deep.
            return False
        if not self.should_fetch(url, changed):
            # Archived and not due: a decision only the archive can make (a later mention, a
            # sitemap lastmod, may still say it changed).
            self.skipped.add(normalize_url(url))
            self.crawler.stats.set_value("newsarchive/skipped_archived", len(self.skipped))
            return False
        return True

    def article_request(
        self, url: str, source: Response, *, changed: datetime | None = None
    ) -> Request | None:
        if not self.wants_article(url, source, changed=changed):
            return None
        return self._article_request(url)

    def _article_request(self, url: str) -> Request:
        # Requested without its tracking parameters; a second mention of the same page, however
        # spelled, is dropped by Scrapy's dupefilter (canonical fingerprints).
        return Request(
            without_tracking(url),
            callback=self.parse_article,
            errback=self.on_error,
            meta={"article": True},
            priority=10,
        )

    def listing_request(
        self, url: str, *, stale: int = 0, nav: bool = False, chain: str | None = None
    ) -> Request:
        return Request(
            without_tracking(url),
            callback=self.parse_listing,
            errback=self.on_error,
            meta={"stale": stale, "nav": nav, "chain": chain},
        )

    def sitemap_request(self, url: str, *, probe: bool = False) -> Request:
        return Request(
            url,
            callback=self.parse_sitemap,
            errback=self.on_error,
            meta={"probe": probe, "sitemap": True},
            priority=5,
        )

    def feed_request(self, url: str, *, probe: bool = False) -> Request:
        return Request(
            url, callback=self.parse_feed, errback=self.on_error, meta={"probe": probe}, priority=5
        )

    async def start(self) -> AsyncIterator[Request]:
        self._load_known()
        if self.crawler.stats.get_value("newsarchive/unwritable"):
            return  # the archive is damaged: stopping, nothing to ask for
        self._gc_thresholds = tune_gc()
        fix_mmap_threshold()
        base = self.base_url
        starts = [urljoin(base, u) for u in self.crawl_rules.get("start_urls", ())] or [base]
        sitemaps = [urljoin(base, u) for u in self.crawl_rules.get("sitemaps", ())]
        feeds = [urljoin(base, u) for u in self.crawl_rules.get("feeds", ())]
        for url in starts:
            req = self.listing_request(url, nav=True)
            req.meta["start"] = True
            yield req
        for url in sitemaps:
            yield self.sitemap_request(url)
        for url in feeds:
            yield self.feed_request(url)
        for req in self._recheck_requests():
            yield req
        if sitemaps:
            return
        robots = RobotsTxt.of(self.crawler)
        if robots is None:
            # ROBOTSTXT_OBEY is off: nobody else fetches robots.txt, so the spider does (once).
            yield Request(
                urljoin(base, "/robots.txt"),
                callback=self.parse_robots,
                errback=self.on_error,
                meta={"probe": True},
                priority=5,
            )
            return
        # The robots.txt the middleware fetched for the start page (one request per host).
        found = await robots.sitemaps(base)
        if found is None:
            return  # robots.txt could not be fetched at all: the start page's failure says why
        for req in self._robots_sitemaps(found, base):
            yield req

    def _recheck_requests(self) -> list[Request]:
        """Archived articles fetched again because it has been long (recheck_days), not because
        anything listed them: how one the site took down, gone from its listings and sitemaps,
        is found gone. Longest unfetched first from where the last run's stopped,
        recheck_per_run of them, after the run's other requests (a lower priority)."""
        stale = getattr(self.known, "stale", None)  # KnownUrls or SharedKnown; not a new archive
        if stale is None or self.recheck_per_run <= 0:
            return []
        picked = stale(self.started - timedelta(days=self.recheck_days), self.recheck_per_run)
        if not picked:
            return []
        urls = [url for url, _ in picked if self.allowed(url)]
        logger.info(
            "%s: rechecking %d archived article(s) not fetched for %g days",
            self.site_name,
            len(urls),
            self.recheck_days,
        )
        stats = self.crawler.stats
        stats.set_value("newsarchive/rechecks", len(urls))
        # Recorded with the run when it finishes: the next run's rechecks begin after it.
        stats.set_value("newsarchive/recheck_until", picked[-1][1])
        # Below listings (0) and new articles (10): what is new on the site goes first. Not
        # filtered as seen: a site that sends a taken-down article's readers to its home page
        # redirects to a URL this run fetched already, and the recheck would end in nothing.
        # A recheck redirected to an archived article is fetched all the same (RECHECK): that
        # article may be this one moved, archived twice (Archive.store merges them).
        return [
            self._article_request(url).replace(
                priority=-1, dont_filter=True, meta={"article": True, RECHECK: True}
            )
            for url in urls
        ]

    def _robots_sitemaps(self, lines: list[str], base: str) -> Iterator[Request]:
        """Requests for the sitemaps robots.txt names (its `Sitemap:` values), else for the
        usual sitemap addresses. A value that is no URL to fetch is passed over."""
        found = [url for url in (disc.absolute_url(base, line) for line in lines) if url]
        for url in found:
            if disc.fetchable(url):
                yield self.sitemap_request(url)
        if not found:
            for path in SITEMAP_PROBES:
                yield self.sitemap_request(urljoin(self.base_url, path), probe=True)

    # --- the sitemap backlog -----------------------------------------------------------------

    def _feeds_lazily(self) -> bool:
        """Whether a sitemap's requests go to Scrapy a chunk at a time (see _feed): when
        Scrapy's own scheduler keeps its queue in memory, and every spider middleware processes
        the spider's requests one at a time (get_processed_request), so that a request handed
        over later is processed exactly as if the sitemap's callback had returned it. Not with
        JOBDIR, whose queue is on disk and keeps every request for --resume, nor in a shared
        crawl, whose frontier is in Redis and whose requests are settled with the response that
        gave them."""
        if self._lazy is None:
            steps = self._find_request_steps() if self.feed_size > 0 else None
            self._lazy = steps is not None
            self._request_steps = steps or []
        return self._lazy

    def _find_request_steps(self) -> list[Callable[[Request, Response], Request | None]] | None:
        engine = self.crawler.engine
        scheduler = getattr(engine, "scheduler", None)
        if not isinstance(scheduler, Scheduler) or getattr(scheduler, "dqs", True) is not None:
            return None
        steps = []
        base = BaseSpiderMiddleware
        # Callback output goes through the spider middlewares from the last one to the first.
        for mw in reversed(engine.scraper.spidermw.middlewares):
            cls = type(mw)
            if not hasattr(cls, "process_spider_output") and not hasattr(
                cls, "process_spider_output_async"
            ):
                continue  # it only sees responses (HttpErrorMiddleware)
            if not isinstance(mw, base):
                return None
            own = (
                cls.process_spider_output is not base.process_spider_output
                or cls.process_spider_output_async is not base.process_spider_output_async
            )
            # DepthMiddleware's own output method only gives the response its depth first.
            if own and cls is not DepthMiddleware:
                return None
            steps.append(mw.get_processed_request)
        return steps

    def _sitemap_requests(self, urls: PackedUrls, response: Response) -> Iterator[Request]:
        """The requests for the article URLs a sitemap lists: returned now, or kept in the
        backlog and handed to Scrapy by _feed."""
        if not urls:
            return
        if not self._feeds_lazily():
            for url in urls:
                yield self._article_request(url)
            return
        self._backlog.append((response.replace(body=b""), urls))
        self._feed()

    def _feed(self) -> None:
        """When fewer than feed_size requests wait in Scrapy's queue, hand it sitemap requests
        from the backlog until twice that many do. Called from every callback and errback (each
        request Scrapy takes from its queue ends in one) and when the spider is idle."""
        backlog = self._backlog
        if not backlog:
            return
        engine = self.crawler.engine
        scheduler = engine.scheduler
        low = self.feed_size
        if scheduler is None or len(scheduler) >= low:
            return
        steps = self._request_steps
        stats = self.crawler.stats
        while backlog and len(scheduler) < 2 * low:
            source, urls = backlog[0]
            request: Request | None = self._article_request(urls.popleft())
            if not urls:
                backlog.popleft()
            for step in steps:
                request = step(request, source)
                if request is None:
                    break
            else:
                engine.crawl(request)  # as Scrapy does with a callback's requests
                stats.inc_value("newsarchive/sitemap_fed")

    def _on_idle(self, spider: scrapy.Spider) -> None:
        if not self._backlog:
            return
        self._feed()
        scheduler = self.crawler.engine.scheduler
        if scheduler is not None and len(scheduler):
            raise DontCloseSpider

    # --- callbacks ---------------------------------------------------------------------------

    def parse_robots(self, response: Response) -> Iterator[Request]:
        if response.status != 200:
            return self._robots_sitemaps([], response.url)
        return self._robots_sitemaps(disc.robots_sitemap_lines(response.body), response.url)

    def _xml_body(self, response: Response, what: str) -> bytes | FetchFailure | None:
        """The sitemap's or feed's XML, inflated within DOWNLOAD_MAXSIZE; a failure to record
        when it is too big or broken."""
        limit = int(response.meta.get("download_maxsize") or self.max_size)
        try:
            return disc.sitemap_body(response.body, limit)
        except ValueError:  # scrapy.utils._compression._DecompressionMaxSizeExceeded
            reason = f"{what} inflates past {megabytes(limit)}"
        except (OSError, EOFError):
            reason = f"{what} is a broken gzip file"
        return FetchFailure(
            url=response.url, reason=reason, site=self.site_name, status=response.status
        )

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        self._feed()
        body = self._xml_body(response, "sitemap")
        if isinstance(body, FetchFailure):
            yield body
            return
        # Entries are taken one at a time and only the URLs to request are kept: a sitemap may
        # list 50,000 articles, and their (URL, date) pairs all at once would be the crawl
        # process's largest allocation; the URLs are packed as they come (see PackedUrls). What a
        # broken sitemap gave before it broke is dropped, as when it does not open.
        urls = PackedUrls()
        sitemaps: list[Request] = []
        old = 0
        entries: Iterator[tuple[str, datetime | None]] = iter(())
        listed: list[tuple[str, datetime | None]] = []

        def decide() -> None:
            # Asked of the archive's snapshot together (a shared crawl's: one round trip).
            self._prefetch_known(loc for loc, _ in listed)
            for loc, when in listed:
                if self.wants_article(loc, response, changed=when):
                    urls.append(loc)
            listed.clear()

        try:
            kind, entries = disc.iter_sitemap(body)
            for loc, when in entries:
                loc = disc.absolute_url(response.url, loc)
                if kind == "index":
                    if not self.too_old(when) and self.allowed(loc):
                        sitemaps.append(self.sitemap_request(loc))
                elif self.too_old(when):
                    old += 1
                elif self.listed_article(loc):
                    listed.append((loc, when))
                    if len(listed) >= DECIDE_TOGETHER:
                        decide()
            decide()
        except disc.SITEMAP_ERRORS:
            kind = "unknown"
        # Not kept while the requests go out: the body of a .xml.gz sitemap is inflated (and can
        # be 50 MB), and the parser holds it too.
        del entries, body
        if kind == "unknown":
            if response.meta.get("probe"):
                # A guessed location that holds something else (a soft 404): nothing was lost.
                self.crawler.stats.inc_value("newsarchive/probe_not_sitemap")
                return
            ctype = response.headers.get(b"Content-Type", b"").decode("latin-1")
            yield FetchFailure(
                url=response.url,
                reason=f"not a sitemap ({ctype.split(';')[0] or 'no Content-Type'})",
                site=self.site_name,
                status=response.status,
            )
            return
        yield from sitemaps
        if old:
            self.crawler.stats.inc_value("newsarchive/skipped_old", old)
        yield from self._sitemap_requests(urls, response)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        self._feed()
        body = self._xml_body(response, "feed")
        if isinstance(body, FetchFailure):
            yield body
            return
        listed = []
        for link, when in disc.parse_feed(body, response.url):
            if self.too_old(when):
                self.crawler.stats.inc_value("newsarchive/skipped_old")
                continue
            if self.listed_article(link):
                listed.append(link)
        self._prefetch_known(listed)  # a feed's items are a few dozen
        for link in listed:
            req = self.article_request(link, response)
            if req is not None:
                yield req

    def parse_listing(self, response: Response) -> Iterator[Any]:
        self._feed()
        problem = not_html(response)
        if problem:
            yield FetchFailure(
                url=self._first_url(response.request),
                reason=problem,
                site=self.site_name,
                status=response.status,
            )
            return
        # Everything this listing gives is worked out before the first request goes out, from a
        # parsed tree of its own (not the one Response.selector keeps for the response's life),
        # dropped before then. The requests go through Scrapy one by one, a listing's hundred
        # of them while others' are still processed: with the tree held meanwhile, a crawl's
        # last minutes (the listings come after the articles, by priority) held dozens of
        # listing pages' trees at once, and the crawl process grew by 40-70 MB at 50,000
        # articles (glibc does not give such a peak back).
        selector = Selector(response)
        requests = list(self._listing_requests(response, selector))
        del selector
        yield from requests

    def _listing_requests(self, response: TextResponse, selector: Selector) -> Iterator[Request]:
        url = response.url
        base = _page_base(response)
        # Plain lxml elements: a listing has hundreds of links, and a Selector per link is slow.
        anchors = [
            (a, disc.absolute_url(base, a.get("href")).split("#")[0])
            for a in self._anchors(selector)
        ]
        articles: dict[str, date | datetime | None] = {}
        for anchor, link in anchors:
            if link == url or link in articles or not self.is_article(link):
                continue
            # Listing dates only matter for --since.
            articles[link] = self._listed_date(anchor, link) if self.since else None
        # What this listing's earlier pages showed: a link they showed is not news, whatever the
        # archive says, so a paginator that keeps repeating the same links stops.
        chain = response.meta.get("chain") or url
        shown = self._chain_links.setdefault(chain, set())
        fresh = new = dated = old = 0
        self._prefetch_known(articles)
        for link, when in articles.items():
            if when is not None:
                dated += 1
                if self.too_old(when):
                    old += 1
                    continue
            key = normalize_url(link)
            if key not in shown:
                shown.add(key)
                fresh += 1
                new += key not in self.known
            req = self.article_request(link, response)
            if req is not None:
                yield req
        # Categories: from the start pages' navigation (or the profile's category patterns).
        if response.meta.get("nav"):
            yield from self._categories(response, selector)
            yield from self._feeds(response, selector)
        # Pagination stops when everything on the page is older than --since, or after
        # max_listing_depth pages in a row that brought nothing new (max_stale_days for
        # date-indexed listings). Resuming a killed crawl, pages the archive already has do not
        # count as stale (the kill may have come mid-listing); pages that repeat do.
        if dated and old == dated:
            logger.debug("%s: every item is older than --since; pagination stops", url)
            return
        nothing_new = not fresh if self.resume_walk else not new
        stale = response.meta.get("stale", 0) + 1 if nothing_new else 0
        limit = (
            max(self.max_stale_days, self.max_listing_depth)
            if disc.listing_date(url)
            else self.max_listing_depth
        )
        if limit and stale >= limit:
            self.crawler.stats.inc_value("newsarchive/listing_stopped_nothing_new")
            return
        next_url = self._next_page(response, selector, anchors)
        if next_url:
            yield self.listing_request(next_url, stale=stale, chain=chain)

    @staticmethod
    def _anchors(selector: Selector) -> list[Any]:
        root = selector.root
        if not hasattr(root, "iter"):
            return []
        return [a for a in root.iter("a") if a.get("href")]

    def _listed_date(self, anchor: Any, link: str) -> date | datetime | None:
        from_url = disc.date_in_url(link)
        if from_url:
            return from_url
        # A <time datetime> beside the link in its list item.
        node = anchor
        for _ in range(3):
            node = node.getparent()
            if node is None:
                return None
            stamp = node.xpath(".//time/@datetime")
            if stamp:
                return disc.parse_when(str(stamp[0]))
        return None

    def _categories(self, response: Response, selector: Selector) -> Iterator[Request]:
        base = _page_base(response)
        if self._patterns["category_patterns"]:
            hrefs = selector.css("a[href]::attr(href)").getall()
            links = [disc.absolute_url(base, h) for h in hrefs]
            cats = [u for u in links if self.is_category(u)]
        else:
            hrefs = selector.css(NAV_LINKS).xpath("@href").getall()
            links = [disc.absolute_url(base, h) for h in hrefs]
            cats = [
                u
                for u in links
                if self.on_site(u)
                and not self.is_article(u)
                and not self._matches("deny_patterns", u)
                and disc.path_and_query(u) not in ("", "/")
                and not disc.looks_like_feed(u)
            ]
        for url in dict.fromkeys(u.split("#")[0] for u in cats):
            yield self.listing_request(url)

    def _feeds(self, response: Response, selector: Selector) -> Iterator[Request]:
        if self.crawl_rules.get("feeds"):
            return
        found = selector.css(
            "link[rel=alternate][type*=rss]::attr(href), link[rel=alternate][type*=atom]::attr(href)"
        ).getall()
        base = _page_base(response)
        urls = [disc.absolute_url(base, u) for u in found] or [
            urljoin(self.base_url, p) for p in FEED_PROBES
        ]
        for url in urls:
            if self.allowed(url):
                yield self.feed_request(url, probe=not found)

    def _next_page(
        self, response: TextResponse, selector: Selector, anchors: list[tuple[Any, str]]
    ) -> str | None:
        url = response.url
        number = disc.page_number(url)
        base = _page_base(response)
        candidates: list[str] = [
            disc.absolute_url(base, h)
            for h in selector.css("link[rel=next]::attr(href), a[rel~=next]::attr(href)").getall()
        ]
        paginating = bool(self._patterns["pagination_patterns"])
        for anchor, link in anchors:
            text = " ".join(anchor.text_content().split())
            if (
                disc.NEXT_LABELS.match(text)
                or re.search(r"\bnext\b", anchor.get("class", ""))
                or text == str(number + 1)
                or (
                    paginating
                    and self._matches("pagination_patterns", link)
                    and disc.page_number(link) == number + 1
                )
            ):
                candidates.append(link)
        for cand in candidates:
            cand = cand.split("#")[0]
            if cand == url or not self.on_site(cand) or self.is_article(cand):
                continue
            if (
                disc.listing_date(url) is None
                and not disc.is_pagination_of(cand, url, number + 1)
                and not self._matches("pagination_patterns", cand)
            ):
                # A "next" link that is not this listing's next page (a "next article" link).
                continue
            return cand
        # Date-indexed listings go back one day at a time.
        previous = disc.previous_day_url(url)
        if previous and not self.too_old(disc.listing_date(previous)):
            return previous
        return None

    def parse_article(self, response: Response) -> Iterator[Any]:
        self._feed()
        meta = response.meta
        requested = meta.get("first_url") or self._first_url(response.request)
        problem = not_html(response)
        if problem:
            # A PDF or an image is no page we archive: a failures row says what was there.
            yield from self.ended(response.request, problem, response.status)
            return
        page = raw_page(response, requested if not meta.get("first_url") else response.url)
        links = disc.hrefs(response.body, response.url)
        if meta.get("first_url"):
            # Page N of a multi-page article: keep it and look for page N+1.
            pages: list[RawPage] = [*meta["pages"], page]
            first = pages[0]
            article_url = first.final_url or first.url
        else:
            pages = [page]
            article_url = response.url
            # A "show all" link on page 1 replaces the paging: one request for the whole article.
            for link in links:
                if (
                    _show_all_url(link)
                    and normalize_url(link) == normalize_url(article_url)
                    and link != response.url
                ):
                    yield Request(
                        without_tracking(link),
                        callback=self.parse_article,
                        errback=self.on_error,
                        meta={"article": True, "show_all_of": requested},
                        priority=20,
                    )
                    return
            if meta.get("show_all_of"):
                page.url, page.final_url = meta["show_all_of"], response.url
            # Discovery from the article: links to other articles of the site (related lists).
            # Pages of a site share most links (menus, tickers, related lists): each link is
            # weighed once per run, before any URL parsing. A page at the depth limit requests
            # nothing: its links are not weighed, so that a shallower page that links them still
            # can request them (which page comes first is up to the order of the queue).
            deep = self.depth_limit and meta.get("depth", 0) + 1 > self.depth_limit
            considered = self.links_considered
            wanted = []
            for link in () if deep else dict.fromkeys(links):
                if considered.get(link):
                    continue
                considered.put(link, True)
                if (
                    link != response.url
                    and self.is_article(link)
                    and not _show_all_url(link)
                    and not self.too_old(disc.date_in_url(link))
                ):
                    wanted.append(link)
            self._prefetch_known(wanted)
            for link in wanted:
                req = self.article_request(link, response)
                if req is not None:
                    yield req
        number = len(pages) + 1
        if number <= self.max_article_pages:
            for link in links:
                if disc.article_continuation(link, article_url, number):
                    # Not filtered as seen: it carries the pages fetched so far, lost without a
                    # word were it dropped (two rechecks redirected to one section, whose page 2
                    # reads as the next page of each).
                    yield Request(
                        without_tracking(link),
                        callback=self.parse_article,
                        errback=self.on_error,
                        meta={"article": True, "first_url": pages[0].url, "pages": pages},
                        priority=20,
                        dont_filter=True,
                    )
                    return
        yield CrawledPage(raw=pages[0], site=self.site_name, continuations=pages[1:])

    @staticmethod
    def _first_url(request: Request) -> str:
        """The URL as the crawl asked for it, before any redirect."""
        return (request.meta.get("redirect_urls") or [request.url])[0]

    def ended(self, request: Request, reason: str, status: int | None) -> Iterator[Any]:
        """A request that gave no page, or a page the spider failed on (middlewares.SpiderErrors):
        its failures row (and, for a later page of a multi-page article, the pages already
        fetched)."""
        meta = request.meta
        url = self._first_url(request)
        if meta.get("first_url"):
            pages = meta["pages"]
            reason = f"page {len(pages) + 1} of a multi-page article: {reason}"
            yield CrawledPage(raw=pages[0], site=self.site_name, continuations=pages[1:])
            url = request.url
        yield FetchFailure(url=url, reason=reason, status=status, site=self.site_name)

    def on_error(self, failure: Failure) -> Iterator[Any]:
        self._feed()
        request = failure.request
        meta = request.meta
        exc = failure.value
        stats = self.crawler.stats
        if isinstance(exc, BudgetSpent):
            return  # --max-pages: not fetched by the user's choice (the middleware counts it)
        if isinstance(exc, IgnoreRequest) and not isinstance(exc, HttpError | Unfetchable):
            message = str(exc)
            if message.startswith(ROBOTS_FORBIDDEN):
                # The site owner's decision, not a failure: counted (robotstxt/forbidden) and
                # logged, not written to `failures` (every run would add the same rows).
                logger.info("not fetched, disallowed by robots.txt: %s", request.url)
                return
            if message.startswith(OFFSITE):
                if meta.get("redirect_urls"):
                    yield from self.ended(
                        request, f"redirected off the site, to {request.url}", None
                    )
                return
            if "already archived" in message:
                return  # ArchivedRedirectFilter: the target is in the archive
        reason, status = failure_reason(failure, self.crawler.settings)
        if meta.get("probe") and status == 404:
            # A guessed sitemap or feed location that does not exist: normal, not a failure.
            stats.inc_value("newsarchive/probe_missing")
            return
        yield from self.ended(request, reason, status)
