"""URL normalisation: one spelling per article, so the archive keys, the crawler's "have I got this
already?" check and the re-extraction all agree on which URLs are the same page.

Conservative on purpose: only differences that never change what the page shows are folded
(tracking parameters, "show the whole article on one page" switches, fragments, letter case of the
host, default ports). Scheme, `www.` and paths are kept as they are, because some portals do serve
different pages there.
"""

from __future__ import annotations

import re
from urllib.parse import (
    SplitResult,
    parse_qsl,
    quote,
    unquote_plus,
    urlencode,
    urlsplit,
    urlunsplit,
)

from newsarchive.errors import NewsarchiveError

# Query parameters that only tell the publisher where a reader came from: analytics campaign tags
# (Google, Facebook, Microsoft, Mailchimp, HubSpot, Marketo, Yandex, Instagram, Twitter), and the
# click trackers portals add to their own internal links (detik's `tag_from`, Medium-style
# `source`).
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "_hsenc",
        "_hsmi",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "cmpid",
        "s_cid",
        "ocid",
        "tag_from",
        "source",
        "utm",
        "__twitter_impression",
    }
)

# Prefixes of whole families of campaign parameters (utm_source, utm_medium, ...; hsa_*, pk_*).
TRACKING_PREFIXES = ("utm_", "hsa_", "pk_", "mtm_")

# "Show the whole article on one page" and AMP switches: the same article as the plain URL
# (kompas `?page=all`, detik `?single=1`, WordPress `?amp`, `?page=1` = first page). Only these
# exact values fold; `?page=2` is a different part of a multi-page article and is kept.
ONE_PAGE_VARIANTS = {
    "page": {"all", "1", "0"},
    "single": {"1", "true"},
    "showall": {"1", "true", "all"},
    "show_all": {"1", "true"},
    "amp": {"", "1", "true"},
    "outputtype": {"amp"},
}

DEFAULT_PORTS = {"http": "80", "https": "443"}

# Percent-escapes of unreserved characters are equivalent to the characters themselves (RFC 3986).
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_SAFE_PATH = "/:@!$&'()*+,;=-._~"
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _is_one_page_variant(name: str, value: str) -> bool:
    values = ONE_PAGE_VARIANTS.get(name.lower())
    return values is not None and value.lower() in values


def _unescape_unreserved(match: re.Match[str]) -> str:
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()


def _normalise_path(path: str) -> str:
    # `%7E`, `%7e` and `~` agree; escapes of reserved characters (`%2F`) stay escaped; characters
    # that need escaping (spaces, non-ASCII) are escaped.
    path = _PERCENT_ESCAPE.sub(_unescape_unreserved, path)
    return quote(path, safe=_SAFE_PATH + "%") or "/"


def normalize_url(url: str) -> str:
    """The archive's spelling of `url`.

    >>> normalize_url("HTTPS://News.Example.ID:443/a/b?utm_source=x&page=all&id=3#top")
    'https://news.example.id/a/b?id=3'
    """
    return _normalise(url, fold_one_page=True)


def fetch_key(url: str) -> str:
    """The spelling two requests must share to be one fetch: `normalize_url` without folding the
    one-page variants. `?page=all`, `?single=1` and `?amp` name the same article but a different
    response (the whole article, an AMP page), and the crawler asks for them after the plain URL,
    so they must not be taken for a repeat of it; `?page=1` of a listing stays apart too.

    >>> fetch_key("HTTPS://News.Example.ID/a?utm_source=x&page=all#top")
    'https://news.example.id/a?page=all'
    """
    return _normalise(url, fold_one_page=False)


def without_tracking(url: str) -> str:
    """`url` minus its tracking parameters and fragment, otherwise exactly as written (parameter
    order and spelling kept, so the server sees the link it published): what the crawler requests.

    >>> without_tracking("https://x.id/a?id=3&utm_source=fb&b=1#top")
    'https://x.id/a?id=3&b=1'
    """
    base, _, _fragment = url.partition("#")
    if "?" not in base:
        return base
    head, _, query = base.partition("?")
    kept = [
        pair
        for pair in query.split("&")
        if pair and not _is_tracking(unquote_plus(pair.split("=", 1)[0]))
    ]
    return f"{head}?{'&'.join(kept)}" if kept else head


def split_url(url: str) -> SplitResult | None:
    """urllib's parts of `url`, its port read; None when urllib cannot take it apart (a port
    that is no number, an unclosed IPv6 bracket), as a page's link or canonical link may be."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - urllib checks the port when it is read
    except ValueError:
        return None
    return parts


def _normalise(url: str, *, fold_one_page: bool) -> str:
    url = url.strip()
    parts = split_url(url)
    if parts is None:
        # Kept as written but for the fragment: the same as itself only.
        return url.partition("#")[0]
    port = parts.port
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        # file: URIs of imported pages and anything exotic: only the fragment goes.
        return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))
    host = (parts.hostname or "").rstrip(".")
    netloc = host
    if port is not None and str(port) != DEFAULT_PORTS[scheme]:
        netloc = f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    path = _normalise_path(parts.path)
    params = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name) and not (fold_one_page and _is_one_page_variant(name, value))
    ]
    # Sorted, so the order a link happened to list its parameters in does not matter.
    query = urlencode(sorted(params), quote_via=quote, safe="/:@!$'()*+,;-._~")
    return urlunsplit((scheme, netloc, path, query, ""))


def usable_canonical(canonical: str | None) -> str | None:
    """The page's canonical URL if it can name the article, else None.

    Some portals point every page's canonical at their home page or a section front; keying on
    that would merge unrelated articles into one, so a canonical URL without a path is ignored.
    """
    if not canonical:
        return None
    parts = split_url(canonical.strip())
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.path.strip("/") == "":
        return None
    return canonical.strip()


def site_from_url(url: str | None) -> str | None:
    """The host of `url` without `www.`: the site name used when no profile or `--site` names it."""
    if not url:
        return None
    parts = split_url(url)
    host = (parts.hostname or "").lower().rstrip(".") if parts else ""
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


# What a command-line site or `--base-url` starts with when it is an address: a scheme and "//".
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(?=//)")


def web_address(text: str) -> str | None:
    """`text` as a web address (a site to crawl, a page's URL), its scheme in lower case
    (`HTTP://` is an address like any other); None when `text` has no scheme (for a crawl: a
    profile name or file). NewsarchiveError when it is no web address: another scheme (ftp://,
    file://), no host, a port that is no number, an unclosed IPv6 bracket."""
    match = _SCHEME.match(text)
    if not match:
        return None
    scheme = match[1].lower()
    if scheme not in ("http", "https"):
        raise NewsarchiveError(f"{text}: not a web address (http:// or https://)")
    url = scheme + text[len(scheme) :]
    parts = split_url(url)
    if parts is None:
        raise NewsarchiveError(f"{text}: not a valid URL (its host or port)")
    if not parts.hostname:
        raise NewsarchiveError(f"{text}: no host name in this URL")
    return url


# A host name or IPv4 address, maybe a port and a path, maybe after a mistyped scheme (http:/x,
# https//x): what a user means as an address when no scheme was read from it.
_LIKE_AN_ADDRESS = re.compile(
    r"(?:(https?):?/+)?((?:[a-z0-9-]+\.)+[a-z]{2,}|\d{1,3}(?:\.\d{1,3}){3}|localhost)(:\d+)?(/.*)?",
    re.I,
)


def meant_address(text: str) -> str | None:
    """The URL `text` reads as when it is an address written without its scheme or with the
    scheme mistyped (`detik.com` -> https://detik.com/; `127.0.0.1:8123` -> http://...), for
    an error to suggest; None when it does not look like one (or is a profile file's name)."""
    match = _LIKE_AN_ADDRESS.fullmatch(text)
    if not match or text.lower().endswith(".toml"):
        return None
    scheme, host, port, path = match.groups()
    local = host.lower() == "localhost" or host[0].isdigit()
    scheme = (scheme or ("http" if local else "https")).lower()
    return f"{scheme}://{host}{port or ''}{path or '/'}"


def required_address(text: str, missing: str) -> str:
    """`text`'s web address (web_address), where one is required: else NewsarchiveError,
    `missing` saying what was wanted and, for an address written without its scheme, the URL
    it reads as."""
    url = web_address(text)
    if url is None:
        meant = meant_address(text)
        # Quoted when nothing would show of it (empty, blanks, a line break).
        shown = text if text.strip() and text.isprintable() else repr(text)
        raise NewsarchiveError(f"{shown}: {missing}" + (f", e.g. {meant}" if meant else ""))
    return url


def page_address(text: str) -> str:
    """`text` given as a page's URL (import --url, extract --url), checked (required_address):
    a page is archived under its URL."""
    return required_address(text, "not a page's URL; give its http(s) address")


# An e-mail address as a User-Agent's contact (RFC 9110 asks for a URL; mail addresses are common).
_MAIL_ADDRESS = re.compile(r"(?:mailto:)?[^@\s<>()]+@[^@\s<>()]+\.[A-Za-z]{2,}", re.I)


def contact_address(text: str) -> str:
    """`text` as the operator's contact in the User-Agent: a web address or an e-mail address
    (`mailto:` or not), else NewsarchiveError. A site's operator reads it to reach whoever
    runs the crawl, and a line break in it would end the header."""
    text = text.strip()
    if _MAIL_ADDRESS.fullmatch(text):
        return text
    if any(char.isspace() or not char.isprintable() for char in text):
        raise NewsarchiveError(f"{text!r}: a contact has no spaces or line breaks")
    return required_address(text, "not a contact: give a URL or an e-mail address")
