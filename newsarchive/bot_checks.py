"""Bot checks, CAPTCHAs and block pages that services answer a crawler with instead of the page.

The crawl turns such an answer into a failure that names the service (middlewares.BotCheck);
the extractor files such a page as no article (a WARC from another crawler, an imported file),
never a record titled "Just a moment...". Pure: no Scrapy here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# How each service says so, cheapest first: headers (set on such answers only); the page title
# (read from the page's first bytes, where the head is); strings of the check page itself, looked
# for only in a small page (a check page is a few kB; scanning every page would cost a crawl
# ~0.15 ms a page), chosen from what the check page has and a normal page of a site behind the
# service does not: Cloudflare puts /cdn-cgi/challenge-platform/ scripts into ordinary pages too,
# but `_cf_chl_opt` only into its challenge.
BOT_CHECK_HEADERS: tuple[tuple[str, str, bytes], ...] = (
    ("Cloudflare", "cf-mitigated", b"challenge"),
    ("DataDome", "x-datadome", b"protected"),
)
BOT_CHECK_TITLES: dict[bytes, str] = {
    b"just a moment...": "Cloudflare",
    b"attention required! | cloudflare": "Cloudflare",
    b"sucuri website firewall - access denied": "Sucuri",
    b"ddos-guard": "DDoS-Guard",
}
BOT_CHECK_MARKERS: tuple[tuple[str, bytes], ...] = (
    ("Cloudflare", b"window._cf_chl_opt"),
    ("Imperva", b"Incapsula incident ID"),
    ("DataDome", b"geo.captcha-delivery.com"),
)
# Where a page's <title> is looked for, and the largest page scanned for the markers.
TITLE_WITHIN_BYTES = 4096
BOT_CHECK_MAX_BYTES = 16 * 1024
_TITLE = re.compile(rb"<title[^>]*>\s*([^<]{1,80}?)\s*</title", re.I)


def bot_check_service(
    body: bytes | str, header: Callable[[str], bytes | str | None] | None = None
) -> str | None:
    """The service whose bot check (or block page) this answer is, or None for a page.
    `header(name)`: the answer's header of that name, when it came over HTTP."""
    if header is not None:
        for name, key, value in BOT_CHECK_HEADERS:
            found = header(key)
            if isinstance(found, str):
                found = found.encode("latin-1", "replace")
            if found is not None and value in found.lower():
                return name
    head = body[:TITLE_WITHIN_BYTES]
    if isinstance(head, str):
        head = head.encode("utf-8", "replace")
    title = _TITLE.search(head)
    if title is not None:
        named = BOT_CHECK_TITLES.get(title[1].lower())
        if named is not None:
            return named
    if len(body) > BOT_CHECK_MAX_BYTES:
        return None
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    for name, marker in BOT_CHECK_MARKERS:
        if marker in body:
            return name
    return None


def bot_check_reason(name: str) -> str:
    return f"a bot check ({name}) answered instead of the page: the site turns this crawler away"
