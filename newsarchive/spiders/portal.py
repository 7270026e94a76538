"""PortalSpider (`portal`): one spider for every site, driven by a site profile or by discovery.

    scrapy crawl portal -a site=demo -a base_url=http://127.0.0.1:8123/
    scrapy crawl portal -a site=https://news.example.id/ -a db=data/archive.db -a since=2024-01-01

Spider arguments: `site` (a packaged profile name, a profile file, or a URL), `base_url` (where a
profile's relative start URLs live; defaults to the site URL), `db` (the archive; default the
NEWSARCHIVE_DB setting), `since` (YYYY-MM-DD: skip what is older, without fetching it when a
sitemap, feed, listing or URL gives the date), `max_pages` (stop after that many responses).

The spider navigates; it never extracts: it yields CrawledPage items (raw pages, never a Response)
and FetchFailure items, which the pipelines extract, validate and store.
"""

from __future__ import annotations

import gc
import logging
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError  # noqa: A004
from twisted.python.failure import Failure

from newsarchive.errors import NewsarchiveError, ProfileError
from newsarchive.items import CrawledPage, FetchFailure, RawPage
from newsarchive.sites import SiteProfile, find_profile, load_profile
from newsarchive.spiders import discovery as disc
from newsarchive.urls import normalize_url, site_from_url

logger = logging.getLogger(__name__)

# Where sites without a robots.txt Sitemap line usually keep their sitemaps (WordPress/Yoast
# `sitemap_index.xml` and `post-sitemap.xml`, the generic `sitemap.xml`), and their feed.
SITEMAP_PROBES = ("/sitemap_index.xml", "/sitemap.xml", "/post-sitemap.xml")
FEED_PROBES = ("/feed/",)
# Navigation containers: their links are the site's categories.
NAV_LINKS = "nav a[href], header a[href], [class*='menu'] a[href], [id*='menu'] a[href], [class*='nav'] a[href]"
# A file in JOBDIR while a crawl runs: still there at start means the last run was killed.
RUNNING_MARKER = "newsarchive-running"
# What Scrapy keeps in JOBDIR; after a kill it is inconsistent (written only on a clean stop).
JOBDIR_STATE = ("requests.queue", "requests.seen", "spider.state")




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


def _since(value: str | date | None) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        raise NewsarchiveError(f"--since: expected a date YYYY-MM-DD, got {value!r}") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# Python's cyclic GC runs a young-generation pass whenever 700 more container objects have been
# allocated than freed. A crawl keeps thousands of requests, responses and tasks in flight, so
# passes are frequent and each one walks many survivors (about 2 of the reactor thread's 11 CPU
# seconds in a 5,000-article crawl). A larger first threshold makes passes rarer; freezing what
# exists when the crawl starts (Scrapy, Twisted, settings, the spider: alive until the end anyway)
# keeps the full passes from re-walking it. Both last while the crawl runs: the spider puts the GC
# back as it was when it closes.
GC_YOUNG_THRESHOLD = 5000


def _tune_gc() -> tuple[int, int, int]:
    """Tune the GC for a crawl; returns the thresholds to restore."""
    before = gc.get_threshold()
    gc.collect()  # garbage from before the crawl is collected, not frozen with the rest
    gc.freeze()
    gc.set_threshold(max(before[0], GC_YOUNG_THRESHOLD), *before[1:])
    return before


def _untune_gc(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(*thresholds)
    gc.unfreeze()


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(
        self,
        site: str | None = None,
        base_url: str | None = None,
        db: str | None = None,
        since: str | None = None,
        max_pages: str | int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not site:
            raise ProfileError("which site? pass -a site=NAME (a profile) or -a site=URL")
        self.profile: SiteProfile | None
        if re.match(r"https?://", site):
            self.profile = find_profile(site)
            base_url = base_url or site
        else:
            self.profile = load_profile(site)
        if not base_url:
            starts = self.profile.crawl.get("start_urls", ()) if self.profile else ()
            absolute = [u for u in starts if re.match(r"https?://", u)]
            if not absolute:
                raise ProfileError(
                    f"site {site!r}: its start URLs are relative; pass base_url (newsarchive crawl --base-url)"
                )
            base_url = absolute[0]
        self.base_url = base_url if urlsplit(base_url).path else base_url + "/"
        self.site_name = (
            self.profile.name if self.profile else (site_from_url(self.base_url) or "site")
        )
        host = (urlsplit(self.base_url).hostname or "").lower()
        self.hosts = tuple(dict.fromkeys([host, *(self.profile.domains if self.profile else ())]))
        self.allowed_domains = list(self.hosts)
        self.db_path = db
        self.since = _since(since)
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
        if "download_delay" in crawl:
            self.download_delay = crawl["download_delay"]
        if "concurrent_requests_per_domain" in crawl:
            self.max_concurrent_requests = crawl["concurrent_requests_per_domain"]
        self.known: dict[str, Any] = {}
        self.links_considered: set[str] = set()
        self._is_article_cache: dict[str, bool] = {}
        self.requested: set[str] = set()
        self.skipped: set[str] = set()
        self.depth_limit = 0
        self.resume_walk = False  # set when resuming after a kill: walk listings past known pages
        self.pages_seen = 0
        self.started = datetime.now(UTC)

    # --- setup -------------------------------------------------------------------------------

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
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
        spider.max_article_pages = settings.getint("NEWSARCHIVE_MAX_ARTICLE_PAGES", 30)
        spider.depth_limit = settings.getint("DEPTH_LIMIT", 0)
        jobdir = settings.get("JOBDIR")
        if jobdir:
            spider._prepare_jobdir(Path(jobdir))
        crawler.signals.connect(spider._on_closed, signal=signals.spider_closed)
        return spider

    def _prepare_jobdir(self, jobdir: Path) -> None:
        """Make a killed run resumable: Scrapy's JOBDIR state is only consistent after a clean
        stop, so after a kill it is dropped and the archive (which commits as it goes) says what
        is done; listings are then walked past pages that bring nothing new."""
        marker = jobdir / RUNNING_MARKER
        if marker.exists():
            logger.warning(
                "the last crawl into %s was killed: resuming from what the archive holds", jobdir
            )
            for name in JOBDIR_STATE:
                path = jobdir / name
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()
            self.resume_walk = True
        elif (jobdir / "requests.queue").exists():
            # Stopped cleanly mid-crawl (Ctrl-C): Scrapy continues its own queue.
            self.resume_walk = True
        jobdir.mkdir(parents=True, exist_ok=True)
        marker.write_text("a crawl is running (or was killed) with this job directory\n")
        self._jobdir = jobdir

    def _on_closed(self, spider: scrapy.Spider, reason: str) -> None:
        thresholds = getattr(self, "_gc_thresholds", None)
        if thresholds is not None:
            _untune_gc(thresholds)
        jobdir = getattr(self, "_jobdir", None)
        if jobdir is None:
            return
        (jobdir / RUNNING_MARKER).unlink(missing_ok=True)
        if reason == "finished":
            # A finished crawl leaves nothing to resume; its seen-set would hide every page from
            # the next run with the same job directory.
            shutil.rmtree(jobdir, ignore_errors=True)

    def _load_known(self) -> None:
        from newsarchive.storage import Archive

        if self.db_path and Path(self.db_path).exists():
            with Archive(self.db_path) as archive:
                self.known = archive.fetch_state(self.site_name)
        logger.info("%s: %d article URLs already in the archive", self.site_name, len(self.known))

    # --- decisions ---------------------------------------------------------------------------

    def should_fetch(self, url: str, changed: datetime | None = None) -> bool:
        """Fetch this article URL? Not if the archive has it, unless a revisit is due or a sitemap
        says it changed since we fetched it."""
        state = self.known.get(normalize_url(url))
        if state is None:
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
        passed = [h for h in self.revisit_hours if base + timedelta(hours=h) <= now]
        if not passed:
            return False
        return state.last_fetched < base + timedelta(hours=max(passed))

    def is_new(self, url: str) -> bool:
        return normalize_url(url) not in self.known

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

    def is_article(self, url: str) -> bool:
        # Every page of a portal links the same menus and tickers: decide each URL once per run.
        known = self._is_article_cache.get(url)
        if known is None:
            known = self._is_article_cache[url] = self._is_article(url)
        return known

    def _is_article(self, url: str) -> bool:
        if not self.on_site(url) or self._matches("deny_patterns", url):
            return False
        if self._patterns["article_patterns"]:
            return self._matches("article_patterns", url)
        return disc.looks_like_article(url)

    def is_category(self, url: str) -> bool:
        return (
            self.on_site(url)
            and not self._matches("deny_patterns", url)
            and bool(self._patterns["category_patterns"])
            and self._matches("category_patterns", url)
        )

    # --- requests ----------------------------------------------------------------------------

    def _count_page(self) -> None:
        self.pages_seen += 1
        if self.max_pages and self.pages_seen >= self.max_pages:
            raise CloseSpider("max_pages")

    def article_request(
        self, url: str, source: Response, *, changed: datetime | None = None
    ) -> Request | None:
        if self.depth_limit and source.meta.get("depth", 0) + 1 > self.depth_limit:
            # Scrapy's DepthMiddleware would drop it; another page may still reach it less deep.
            return None
        # Sitemaps, feeds, listings and related-article lists name the same articles many times;
        # one request per URL per run (Scrapy's dupefilter would drop the rest, at a higher cost).
        if url in self.requested:
            return None
        if not self.should_fetch(url, changed):
            # Not remembered as requested: a later mention (a sitemap lastmod) may say it changed.
            self.skipped.add(url)
            self.crawler.stats.set_value("newsarchive/skipped_archived", len(self.skipped))
            return None
        self.requested.add(url)
        return Request(
            url,
            callback=self.parse_article,
            errback=self.on_error,
            meta={"article": True},
            priority=10,
        )

    def listing_request(self, url: str, *, stale: int = 0, nav: bool = False) -> Request:
        return Request(
            url,
            callback=self.parse_listing,
            errback=self.on_error,
            meta={"stale": stale, "nav": nav},
        )

    def probe(self, url: str, callback: Any) -> Request:
        # A guessed location: a miss is normal, not a failure.
        return Request(
            url, callback=callback, errback=self.on_error, meta={"probe": True}, priority=5
        )

    async def start(self) -> AsyncIterator[Request]:
        self._load_known()
        self._gc_thresholds = _tune_gc()
        base = self.base_url
        starts = [urljoin(base, u) for u in self.crawl_rules.get("start_urls", ())] or [base]
        sitemaps = [urljoin(base, u) for u in self.crawl_rules.get("sitemaps", ())]
        feeds = [urljoin(base, u) for u in self.crawl_rules.get("feeds", ())]
        for url in sitemaps:
            yield Request(url, callback=self.parse_sitemap, errback=self.on_error, priority=5)
        for url in feeds:
            yield Request(url, callback=self.parse_feed, errback=self.on_error, priority=5)
        if not sitemaps:
            yield self.probe(urljoin(base, "/robots.txt"), self.parse_robots)
        for url in starts:
            req = self.listing_request(url, nav=True)
            req.meta["start"] = True
            yield req

    # --- callbacks ---------------------------------------------------------------------------

    def parse_robots(self, response: Response) -> Iterator[Request]:
        self._count_page()
        text = (
            response.text
            if isinstance(response, TextResponse)
            else response.body.decode("utf-8", "replace")
        )
        found = disc.robots_sitemaps(text, response.url)
        for url in found:
            yield Request(url, callback=self.parse_sitemap, errback=self.on_error, priority=5)
        if not found:
            for path in SITEMAP_PROBES:
                yield self.probe(urljoin(self.base_url, path), self.parse_sitemap)

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        self._count_page()
        kind, entries = disc.parse_sitemap(response.body)
        for loc, when in entries:
            loc = urljoin(response.url, loc)
            if kind == "index":
                if not self.too_old(when) and self.on_site(loc):
                    yield Request(
                        loc, callback=self.parse_sitemap, errback=self.on_error, priority=5
                    )
                continue
            if self.too_old(when):
                self.crawler.stats.inc_value("newsarchive/skipped_old")
                continue
            if self.is_article(loc) or (
                not self._patterns["article_patterns"]
                and self.on_site(loc)
                and not self.is_category(loc)
            ):
                req = self.article_request(loc, response, changed=when)
                if req is not None:
                    yield req

    def parse_feed(self, response: Response) -> Iterator[Request]:
        self._count_page()
        for link, when in disc.parse_feed(response.body, response.url):
            if self.too_old(when):
                self.crawler.stats.inc_value("newsarchive/skipped_old")
                continue
            if self.on_site(link):
                req = self.article_request(link, response)
                if req is not None:
                    yield req

    def parse_listing(self, response: Response) -> Iterator[Request]:
        self._count_page()
        if not isinstance(response, TextResponse):
            return
        url = response.url
        # Plain lxml elements: a listing has hundreds of links, and a Selector per link is slow.
        anchors = [
            (a, response.urljoin(a.get("href")).split("#")[0]) for a in self._anchors(response)
        ]
        articles: dict[str, date | datetime | None] = {}
        for anchor, link in anchors:
            if link == url or link in articles or not self.is_article(link):
                continue
            # Listing dates only matter for --since.
            articles[link] = self._listed_date(anchor, link) if self.since else None
        new = 0
        dated = old = 0
        for link, when in articles.items():
            if when is not None:
                dated += 1
                if self.too_old(when):
                    old += 1
                    continue
            if self.is_new(link):
                new += 1
            req = self.article_request(link, response)
            if req is not None:
                yield req
        # Categories: from the start pages' navigation (or the profile's category patterns).
        if response.meta.get("nav"):
            yield from self._categories(response)
            yield from self._feeds(response)
        # Pagination: stop when the page brought nothing new (after max_listing_depth such pages
        # in a row) or when everything on it is older than --since.
        stale = 0 if new else response.meta.get("stale", 0) + 1
        if dated and old == dated:
            logger.debug("%s: every item is older than --since; pagination stops", url)
            return
        if self.max_listing_depth and stale >= self.max_listing_depth and not self.resume_walk:
            self.crawler.stats.inc_value("newsarchive/listing_stopped_nothing_new")
            return
        next_url = self._next_page(response, anchors)
        if next_url:
            yield self.listing_request(next_url, stale=stale)

    @staticmethod
    def _anchors(response: TextResponse) -> list[Any]:
        root = response.selector.root
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

    def _categories(self, response: Response) -> Iterator[Request]:
        if self._patterns["category_patterns"]:
            links = [response.urljoin(h) for h in response.css("a[href]::attr(href)").getall()]
            cats = [u for u in links if self.is_category(u)]
        else:
            links = [response.urljoin(h) for h in response.css(NAV_LINKS).xpath("@href").getall()]
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

    def _feeds(self, response: Response) -> Iterator[Request]:
        if self.crawl_rules.get("feeds"):
            return
        found = response.css(
            "link[rel=alternate][type*=rss]::attr(href), link[rel=alternate][type*=atom]::attr(href)"
        ).getall()
        urls = [response.urljoin(u) for u in found] or [
            urljoin(self.base_url, p) for p in FEED_PROBES
        ]
        for url in urls:
            if self.on_site(url):
                yield (
                    self.probe(url, self.parse_feed)
                    if not found
                    else Request(url, callback=self.parse_feed, errback=self.on_error, priority=5)
                )

    def _next_page(self, response: TextResponse, anchors: list[tuple[Any, str]]) -> str | None:
        url = response.url
        number = disc.page_number(url)
        candidates: list[str] = [
            response.urljoin(h)
            for h in response.css("link[rel=next]::attr(href), a[rel~=next]::attr(href)").getall()
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
        self._count_page()
        meta = response.meta
        requested = (
            meta.get("first_url") or (meta.get("redirect_urls") or [response.request.url])[0]
        )
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("newsarchive/not_html")
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
                    disc.show_all_url(link)
                    and normalize_url(link) == normalize_url(article_url)
                    and link != response.url
                ):
                    yield Request(
                        link,
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
            # considered once per run, before any URL parsing.
            for link in dict.fromkeys(links):
                if link in self.links_considered:
                    continue
                self.links_considered.add(link)
                if link != response.url and self.is_article(link) and not disc.show_all_url(link):
                    if self.too_old(disc.date_in_url(link)):
                        continue
                    req = self.article_request(link, response)
                    if req is not None:
                        yield req
        number = len(pages) + 1
        if number <= self.max_article_pages:
            for link in links:
                if disc.article_continuation(link, article_url, number):
                    yield Request(
                        link,
                        callback=self.parse_article,
                        errback=self.on_error,
                        meta={"article": True, "first_url": pages[0].url, "pages": pages},
                        priority=20,
                    )
                    return
        yield CrawledPage(raw=pages[0], site=self.site_name, continuations=pages[1:])

    def on_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        meta = request.meta
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            # robots.txt, off-site, or an archived redirect target: a decision, not a failure.
            return
        if meta.get("probe"):
            return
        status = None
        if failure.check(HttpError):
            status = failure.value.response.status
            reason = f"HTTP {status}"
        elif failure.check(DNSLookupError):
            reason = "DNS lookup failed"
        elif failure.check(TimeoutError, TCPTimedOutError):
            reason = "timed out"
        else:
            reason = f"{failure.type.__name__}: {failure.getErrorMessage()}"
        url = meta.get("redirect_urls", [request.url])[0]
        if meta.get("first_url"):
            # A later page of a multi-page article failed: keep what we have of it.
            pages = meta["pages"]
            reason = f"page {len(pages) + 1} of a multi-page article: {reason}"
            yield CrawledPage(raw=pages[0], site=self.site_name, continuations=pages[1:])
            url = request.url
        yield FetchFailure(url=url, reason=reason, status=status, site=self.site_name)
