"""Scrapy settings for newsarchive: polite and safe by default, every default overridable.

Override any of these with `-s NAME=VALUE` (both `scrapy crawl portal` and `newsarchive crawl`
take it), or per site in the profile's `[crawl]` table (`download_delay`,
`concurrent_requests_per_domain`). The contact URL in the User-Agent comes from the
NEWSARCHIVE_CONTACT environment variable or `newsarchive crawl --contact URL`.
"""

from __future__ import annotations

import os

from newsarchive import __version__

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["newsarchive.spiders"]
NEWSPIDER_MODULE = "newsarchive.spiders"

# --- Safe by default -------------------------------------------------------------------------
# A scheduled crawler on a shared server opens no control ports. Scrapy 2.19's remote control
# runs submitted Python code (and writes a token under the user's home); the telnet console gives a
# Python shell. Both stay off unless the user turns them on.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False

# --- Polite by default -----------------------------------------------------------------------
# An honest User-Agent: who we are and how to reach the operator.
NEWSARCHIVE_CONTACT = os.environ.get("NEWSARCHIVE_CONTACT", "").strip()
USER_AGENT = f"newsarchive/{__version__} (+{NEWSARCHIVE_CONTACT or 'contact URL not set; see NEWSARCHIVE_CONTACT'})"
ROBOTSTXT_OBEY = True
# One second between requests to the same host, randomised by ±50%.
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# AutoThrottle slows down when the site answers slowly; it never goes below DOWNLOAD_DELAY.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
# No article page is 10 MB; a response that big is a mistake or a trap.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
DOWNLOAD_TIMEOUT = 30
# Listing pagination counts towards depth: 30 listing pages deep is a generous first crawl; later
# runs stop much earlier (a listing page that brings nothing new ends its pagination).
DEPTH_LIMIT = 30
# Retries with back-off: 429 and 503 wait for Retry-After (capped) or an exponential back-off.
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_BACKOFF_BASE = 2.0  # seconds; doubled on each retry of a 429/503
RETRY_AFTER_MAX = 300.0  # never sleep longer than this on a Retry-After header
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "newsarchive.middlewares.BackoffRetryMiddleware": 550,
    # Scrapy's offsite filter, without a parsed URL kept per request waiting in the queue.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "newsarchive.middlewares.Offsite": 50,
    # Scrapy's robots.txt handling, which also hands the spider the robots.txt Sitemap: lines
    # (one robots.txt request per host) and fails in one line, not a traceback.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "newsarchive.middlewares.RobotsTxt": 100,
    # After a redirect, skip a target the archive already holds (and is not due for a revisit).
    "newsarchive.middlewares.ArchivedRedirectFilter": 610,
    # A bot check or CAPTCHA answered with 200 instead of the page: a failure saying so.
    "newsarchive.middlewares.BotCheck": 940,
    # Next to the network: the --max-pages budget (exact), redirect loops and endless chains.
    "newsarchive.middlewares.FetchGuard": 950,
}
# Next to the spider, so it sees what its callbacks raise first: a failures row and one line,
# counted for the exit status, where Scrapy logged a traceback and the crawl ended 0.
SPIDER_MIDDLEWARES = {"newsarchive.middlewares.SpiderErrors": 1000}
# A moved article redirects once or twice; ten hops is a chain that will not end (Scrapy: 20).
REDIRECT_MAX_TIMES = 10
COOKIES_ENABLED = False
# One request per page however a link spells it: fingerprints over the canonical URL (tracking
# parameters, fragments, parameter order folded), so Scrapy's dupefilter drops the repeats.
REQUEST_FINGERPRINTER_CLASS = "newsarchive.fingerprint.CanonicalFingerprinter"
# Scrapy's dupefilter, with what it has seen kept in ~8 bytes per URL instead of ~95 (memory flat
# over a long crawl); JOBDIR's requests.seen as Scrapy writes it.
DUPEFILTER_CLASS = "newsarchive.dupefilter.CompactDupeFilter"
# Keeps JOBDIR usable across runs: drops a killed run's half-written state when the next one
# starts, and a finished run's state once Scrapy has written it (see newsarchive/jobdir.py).
EXTENSIONS = {"newsarchive.jobdir.JobDirLifecycle": 0}

# --- Pipeline --------------------------------------------------------------------------------
ITEM_PIPELINES = {
    "newsarchive.pipelines.ExtractPipeline": 100,
    "newsarchive.pipelines.ValidatePipeline": 200,
    "newsarchive.pipelines.StorePipeline": 300,
}
# Scrapy starts this many tasks per response to process its output (default 100). A response
# yields one item (its page) after its requests, which take no time to process: one task is enough,
# and each extra one costs the reactor thread time and memory for every response in flight.
CONCURRENT_ITEMS = 1

# --- newsarchive's own ------------------------------------------------------------------------
NEWSARCHIVE_DB = "data/archive.db"
# Revisit young articles this many hours after publication (or first sight), to catch edits.
NEWSARCHIVE_REVISIT_HOURS = [1, 6, 24, 168]
# Past those, an article is fetched again only when a listing, sitemap or feed shows it changed, and
# an article a site takes down leaves its listings and sitemaps: each run also rechecks this many
# archived articles last fetched over NEWSARCHIVE_RECHECK_DAYS ago, longest ago first (a 404 or 410
# marks one gone, a change makes a version). 50 a run: a site crawled hourly is swept ~36,000
# articles a month, for ~1 minute more a run at the 1 s delay. 0 turns it off.
NEWSARCHIVE_RECHECK_PER_RUN = 50
NEWSARCHIVE_RECHECK_DAYS = 30
# Listing pagination stops after this many pages in a row that bring no article new to the archive
# or, whatever the archive holds, no link the same listing's earlier pages did not show (a
# paginator that repeats itself: a trap).
NEWSARCHIVE_MAX_LISTING_DEPTH = 1
# Date-indexed listings (/indeks?date=) go back one day at a time; they stop after this many days
# in a row with nothing new (a quiet day is normal; an endless calendar is a trap), or at --since.
NEWSARCHIVE_MAX_STALE_DAYS = 3
# Sitemap requests are handed to Scrapy this many at a time, whenever fewer than this many wait in
# its queue, rather than all of a 50,000-URL sitemap at once (memory flat; 0: all at once). Only
# without JOBDIR: with --resume, Scrapy's queue is on disk and keeps every request.
NEWSARCHIVE_SITEMAP_FEED = 512
# Multi-page articles longer than this are cut (a loop guard).
NEWSARCHIVE_MAX_ARTICLE_PAGES = 30
# Extract in this many worker processes (0: in the crawl's own process). Extraction is CPU-bound
# and Scrapy runs in one thread: one worker on a machine with two cores or more lets fetching,
# storing and extracting overlap (about 1.5x the articles/s on a 2-core machine).
NEWSARCHIVE_EXTRACT_WORKERS = 1 if (os.cpu_count() or 1) >= 2 else 0
# A live progress line on stderr when it is a terminal.
NEWSARCHIVE_PROGRESS = True
# The plan file entry a crawl is made for (JSON), set by `newsarchive run`; kept with the run.
NEWSARCHIVE_PLAN_ENTRY = ""
# Shared crawls (--redis; newsarchive/distributed/shared.py says why each is what it is): seconds
# a worker's heartbeat lasts, workers wait for a writer gone, and writer and workers try to reach
# a Redis that went (a restart, a failover) before they stop.
NEWSARCHIVE_HEARTBEAT_TTL = 15
NEWSARCHIVE_WRITER_PATIENCE = 300.0
NEWSARCHIVE_REDIS_PATIENCE = 120.0

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
