"""Request fingerprints over the archive's spelling of a URL, so Scrapy's own dupefilter (and its
JOBDIR `requests.seen`) takes `/a?utm_source=x`, `/a?fbclid=y` and `/A#top`-style spellings of one
page for one request.

Enabled by `REQUEST_FINGERPRINTER_CLASS = "newsarchive.fingerprint.CanonicalFingerprinter"`. The
key is `newsarchive.urls.fetch_key`: tracking parameters, fragments, host case, default ports,
parameter order and escapes of unreserved characters are folded; `?page=2` and the "whole
article" switches (`?page=all`, `?single=1`) are not, because they are different responses the
spider asks for on purpose (later pages of a multi-page article, the show-all page after page 1).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from newsarchive.urls import fetch_key

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request


class CanonicalFingerprinter:
    """Scrapy's REQUEST_FINGERPRINTER_CLASS protocol: `fingerprint(request) -> bytes`."""

    def __init__(self, crawler: Crawler | None = None) -> None:
        # A request is fingerprinted by the dupefilter and again by other components (cache,
        # stats); one computation per request object is enough.
        self._cache: WeakKeyDictionary[Request, bytes] = WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CanonicalFingerprinter:
        return cls(crawler)

    def fingerprint(self, request: Request) -> bytes:
        cached = self._cache.get(request)
        if cached is not None:
            return cached
        # Method and body count as in Scrapy's default fingerprint (a POST search is not a GET);
        # headers do not.
        key = json.dumps(
            [request.method, fetch_key(request.url), request.body.hex()], separators=(",", ":")
        )
        value = hashlib.sha1(key.encode(), usedforsecurity=False).digest()
        self._cache[request] = value
        return value
