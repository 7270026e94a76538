"""The closed schema of a site profile, and its loader.

A profile is data, not code: selectors per field, extra chrome to cut, the site's timezone, and a
crawl section. Any key the schema does not know, any selector that does not compile, any regex that
does not compile is a ProfileError naming the file and the key — a typo must never silently turn a
rule off.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsarchive.errors import NewsarchiveError, ProfileError
from newsarchive.urls import meant_address, web_address

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

PACKAGED_DIR = Path(__file__).parent

# Field name -> selector(s). The first selector that matches non-empty text wins.
SELECTOR_FIELDS = (
    "title",
    "authors",
    "published",
    "modified",
    "category",
    "tags",
    "description",
    "body",
    "image",
)
ZONE_LABELS = {"WIB": 7, "WITA": 8, "WIT": 9}
TOP_KEYS = {"name", "domains", "timezone", "language", "selectors", "chrome", "crawl", "layouts"}
CHROME_KEYS = {"remove", "insert_labels"}
LAYOUT_KEYS = {"valid_until", "selectors", "chrome"}
CRAWL_KEYS = {
    "start_urls",
    "article_patterns",
    "category_patterns",
    "deny_patterns",
    "pagination_patterns",
    "sitemaps",
    "feeds",
    "max_listing_depth",
    "download_delay",
    "concurrent_requests_per_domain",
    "revisit_hours",
    "recheck_per_run",
    "recheck_days",
}


@dataclass(frozen=True)
class Layout:
    """Selectors and chrome that applied to pages fetched before `valid_until` (Fundus-style)."""

    valid_until: str | None
    selectors: dict[str, tuple[str, ...]]
    chrome_remove: tuple[str, ...]


@dataclass(frozen=True)
class SiteProfile:
    name: str
    path: str
    domains: tuple[str, ...] = ()
    timezone: tzinfo | None = None
    language: str | None = None
    selectors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    chrome_remove: tuple[str, ...] = ()
    insert_labels: tuple[str, ...] = ()
    layouts: tuple[Layout, ...] = ()
    crawl: dict[str, Any] = field(default_factory=dict)

    def for_fetched_at(
        self, fetched_at_iso: str | None
    ) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
        """Selectors and chrome for a page fetched at that time: the oldest layout still valid."""
        if fetched_at_iso:
            for layout in sorted(self.layouts, key=lambda lay: lay.valid_until or "9999"):
                if layout.valid_until and fetched_at_iso[:10] < layout.valid_until:
                    return layout.selectors, layout.chrome_remove
        return self.selectors, self.chrome_remove

    def matches(self, url: str) -> bool:
        # Imported here: newsarchive.extract imports this module at its own import time.
        from newsarchive.extract.document import host_of

        host = host_of(url)
        return any(host == d or host.endswith("." + d) for d in self.domains)


def _fail(path: Path | str, key: str, why: str) -> ProfileError:
    return ProfileError(f"{path}: {key}: {why}")


def parse_timezone(value: str, path: Path | str = "<profile>", key: str = "timezone") -> tzinfo:
    """'WIB' / 'WITA' / 'WIT' or '+07:00'-style offsets."""
    label = value.strip().upper()
    if label in ZONE_LABELS:
        return timezone(timedelta(hours=ZONE_LABELS[label]), label)
    m = re.fullmatch(r"(?:UTC)?([+-])(\d{1,2}):?(\d{2})?", label)
    if not m:
        raise _fail(path, key, f"unknown timezone {value!r} (use WIB, WITA, WIT or +HH:MM)")
    sign = 1 if m.group(1) == "+" else -1
    hours, minutes = int(m.group(2)), int(m.group(3) or 0)
    # The earth's zones run from -12:00 to +14:00; "+07:99" is a typo, not +08:39.
    if minutes >= 60 or hours * 60 + minutes > 14 * 60:
        raise _fail(path, key, f"timezone {value!r}: no such offset (from -12:00 to +14:00)")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _str_list(value: Any, path: Path, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(path, key, "expected a string or a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _start_url(url: str, path: Path, key: str) -> str:
    """A start URL, sitemap or feed: a path on the site, or a web address (scheme in lower
    case); another scheme is refused here, where it would pass for a relative URL."""
    try:
        address = web_address(url)
    except NewsarchiveError as exc:
        raise _fail(path, key, str(exc)) from None
    if address is None and re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", url):
        # mailto:, javascript:, a scheme without // — no page to fetch, not a path either.
        raise _fail(path, key, f"{url}: not a web address (http:// or https://) or a path")
    return address or url


def _domains(value: Any, path: Path) -> tuple[str, ...]:
    # A list even for one domain: a string here is most often a list written wrongly, and
    # taking "a, b" as one host name would match nothing without a word.
    if not isinstance(value, list):
        raise _fail(path, "domains", 'expected a list of host names, e.g. ["detik.com"]')
    hosts = tuple(d.lower() for d in _str_list(value, path, "domains"))
    for host in hosts:
        if not re.fullmatch(
            r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", host
        ):
            raise _fail(path, "domains", f"{host!r} is not a host name like 'news.example.id'")
    return hosts


def _selectors(value: Any, path: Path, key: str) -> tuple[str, ...]:
    sels = _str_list(value, path, key)
    if not sels:
        return sels
    # Imported here: lxml.cssselect (and cssselect's parser) cost ~7 ms at start-up, and most
    # runs load only profiles without selectors.
    from lxml import etree
    from lxml.cssselect import CSSSelector, SelectorError

    page = etree.fromstring("<html><body><p>x</p></body></html>")
    for sel in sels:
        try:
            # Used once on a page as well: some compile and fail only there (a namespace
            # prefix, a control character in a value), on every page of the crawl.
            CSSSelector(sel)(page)
        except SelectorError as exc:
            raise _fail(path, key, f"bad CSS selector {sel!r}: {exc}") from None
        except (etree.LxmlError, ValueError, RecursionError) as exc:
            raise _fail(
                path, key, f"bad CSS selector {sel!r}: lxml cannot use it ({exc})"
            ) from None
    return sels


def _regexes(value: Any, path: Path, key: str) -> tuple[str, ...]:
    pats = _str_list(value, path, key)
    for pat in pats:
        try:
            re.compile(pat)
        except (re.error, OverflowError, RecursionError) as exc:
            raise _fail(path, key, f"bad regular expression {pat!r}: {exc}") from None
    return pats


# Bounds past which a number in a profile is a typo, not a wish: and nan, inf or 1e300 hours
# overflowed the clocks they are added to, or waited forever.
MAX_DAYS = 36_500
MAX_DELAY = 3_600.0


def _number(value: Any, low: float, high: float) -> bool:
    """An int or float (not a bool) from low to high; nan and inf are not."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


def _check_keys(table: Any, allowed: set[str], path: Path, prefix: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise _fail(path, prefix.rstrip("."), "expected a table")
    for key in table:
        if key not in allowed:
            raise _fail(path, prefix + key, f"unknown key (allowed: {', '.join(sorted(allowed))})")
    return table


def _selector_table(table: Any, path: Path, prefix: str) -> dict[str, tuple[str, ...]]:
    table = _check_keys(table, set(SELECTOR_FIELDS), path, prefix)
    return {k: _selectors(v, path, prefix + k) for k, v in table.items()}


def _crawl_table(table: Any, path: Path) -> dict[str, Any]:
    table = _check_keys(table, CRAWL_KEYS, path, "crawl.")
    out: dict[str, Any] = {}
    for key, value in table.items():
        full = "crawl." + key
        if key.endswith("_patterns"):
            out[key] = _regexes(value, path, full)
        elif key in ("start_urls", "sitemaps", "feeds"):
            out[key] = tuple(_start_url(url, path, full) for url in _str_list(value, path, full))
        elif key in ("max_listing_depth", "recheck_per_run"):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise _fail(path, full, "expected a non-negative integer")
            out[key] = value
        elif key == "concurrent_requests_per_domain":
            # 0 would let no request start: the crawl would wait forever.
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise _fail(path, full, "expected a positive integer")
            out[key] = value
        elif key == "recheck_days":
            if not _number(value, 0, MAX_DAYS) or value == 0:
                raise _fail(path, full, f"expected a positive number of days (at most {MAX_DAYS})")
            out[key] = float(value)
        elif key == "download_delay":
            if not _number(value, 0, MAX_DELAY):
                raise _fail(path, full, f"expected a number of seconds from 0 to {MAX_DELAY:g}")
            out[key] = float(value)
        elif key == "revisit_hours":
            if not isinstance(value, list) or not all(
                _number(v, 0, MAX_DAYS * 24) and v > 0 for v in value
            ):
                raise _fail(
                    path,
                    full,
                    f"expected a list of positive numbers of hours (at most {MAX_DAYS * 24})",
                )
            out[key] = tuple(float(v) for v in value)
    return out


def parse_profile(data: dict[str, Any], path: Path | str) -> SiteProfile:
    path = Path(path)
    _check_keys(data, TOP_KEYS, path, "")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise _fail(path, "name", "expected a lowercase identifier like 'detik' or 'my-portal'")
    domains = _domains(data["domains"], path) if "domains" in data else ()
    if "timezone" in data and not isinstance(data["timezone"], str):
        raise _fail(path, "timezone", "expected a string such as 'WIB' or '+07:00'")
    tz = parse_timezone(data["timezone"], path) if "timezone" in data else None
    language = data.get("language")
    if language is not None and not isinstance(language, str):
        raise _fail(path, "language", "expected a string such as 'id'")
    selectors = _selector_table(data.get("selectors", {}), path, "selectors.")
    chrome = _check_keys(data.get("chrome", {}), CHROME_KEYS, path, "chrome.")
    chrome_remove = (
        _selectors(chrome["remove"], path, "chrome.remove") if "remove" in chrome else ()
    )
    labels = (
        _str_list(chrome["insert_labels"], path, "chrome.insert_labels")
        if "insert_labels" in chrome
        else ()
    )
    layouts = []
    raw_layouts = data.get("layouts", [])
    if not isinstance(raw_layouts, list):
        raise _fail(path, "layouts", "expected an array of tables ([[layouts]])")
    for i, lay in enumerate(raw_layouts):
        prefix = f"layouts[{i}]."
        lay = _check_keys(lay, LAYOUT_KEYS, path, prefix)
        until = lay.get("valid_until")
        if until is not None:
            until = str(until)
            try:
                valid = bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", until)) and bool(
                    date.fromisoformat(until)
                )
            except ValueError:
                valid = False  # 2024-13-45
            if not valid:
                raise _fail(path, prefix + "valid_until", "expected a date YYYY-MM-DD")
        lay_chrome = _check_keys(lay.get("chrome", {}), CHROME_KEYS, path, prefix + "chrome.")
        layouts.append(
            Layout(
                valid_until=until,
                selectors={
                    **selectors,
                    **_selector_table(lay.get("selectors", {}), path, prefix + "selectors."),
                },
                chrome_remove=(
                    _selectors(lay_chrome["remove"], path, prefix + "chrome.remove")
                    if "remove" in lay_chrome
                    else chrome_remove
                ),
            )
        )
    crawl = _crawl_table(data.get("crawl", {}), path)
    return SiteProfile(
        name=name,
        path=str(path),
        domains=domains,
        timezone=tz,
        language=language,
        selectors=selectors,
        chrome_remove=chrome_remove,
        insert_labels=labels,
        layouts=tuple(layouts),
        crawl=crawl,
    )


def load_profile_file(path: Path | str) -> SiteProfile:
    path = Path(path)
    return _load(path, path)


def _load(source: Traversable, path: Path) -> SiteProfile:
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    return parse_profile(data, path)


@lru_cache(maxsize=1)
def _packaged() -> tuple[SiteProfile, ...]:
    # Read as package resources when the package is no directory: under scrapyd it runs from a
    # zipped egg. From a directory (every other install) the files are read directly, which
    # spares each run importing importlib.resources (~5 ms of start-up).
    if PACKAGED_DIR.is_dir():
        package: Path | Traversable = PACKAGED_DIR
    else:
        from importlib.resources import files

        package = files(__package__)
    found = sorted((r for r in package.iterdir() if r.name.endswith(".toml")), key=lambda r: r.name)
    return tuple(_load(r, PACKAGED_DIR / r.name) for r in found)


def list_profiles() -> list[SiteProfile]:
    return list(_packaged())


def load_profile(name_or_path: str) -> SiteProfile:
    """A packaged profile by name, or a profile file by path."""
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        if not Path(name_or_path).is_file():
            # Named as typed: Path() would fold "http:/x" or "https//x" into other text.
            raise ProfileError(f"{name_or_path}: no such profile file{_address_hint(name_or_path)}")
        return load_profile_file(name_or_path)
    for profile in _packaged():
        if profile.name == name_or_path:
            return profile
    known = ", ".join(p.name for p in _packaged()) or "none"
    raise ProfileError(
        f"unknown site {name_or_path!r} (packaged profiles: {known}){_address_hint(name_or_path)}"
    )


def _address_hint(site: str) -> str:
    """How to give `site` as an address, when it reads as one written without its scheme."""
    url = meant_address(site)
    return f"; to crawl a site by its address, give its URL: {url}" if url else ""


def find_profile(url: str | None) -> SiteProfile | None:
    """The packaged profile whose domains cover this URL, if any."""
    if not url:
        return None
    for profile in _packaged():
        if profile.matches(url):
            return profile
    return None
