"""A sitemap's entries are parsed as they are taken (discovery.iter_sitemap): a 50,000-URL sitemap
never has all its (URL, date) pairs in memory at once, only the URLs the spider keeps."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from test_discovery import NEWS_SITEMAP

from newsarchive.spiders import discovery as disc

pytestmark = pytest.mark.e2e

URLS = 20_000


def _sitemap(count: int) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "".join(
            f"<url><loc>https://portal.example.id/berita/{n}/judul-artikel-yang-cukup-panjang-{n}"
            f"</loc><lastmod>2024-01-{n % 28 + 1:02d}T10:00:00+07:00</lastmod></url>\n"
            for n in range(count)
        )
        + "</urlset>\n"
    ).encode()


def _peak(keep_urls: Callable[[bytes], list[str]], body: bytes) -> tuple[list[str], int]:
    """(the URLs kept, the peak of Python allocations while parsing and keeping them)."""
    tracemalloc.start()
    try:
        kept = keep_urls(body)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return kept, peak


def _streamed(body: bytes) -> list[str]:
    kind, entries = disc.iter_sitemap(body)
    assert kind == "urlset"
    return [loc for loc, _when in entries]


def _listed(body: bytes) -> list[str]:
    kind, entries = disc.parse_sitemap(body)
    assert kind == "urlset"
    return [loc for loc, _when in entries]


def test_sitemap_entries_are_parsed_as_taken() -> None:
    body = _sitemap(URLS)
    streamed, streamed_peak = _peak(_streamed, body)
    listed, listed_peak = _peak(_listed, body)
    assert streamed == listed
    assert len(streamed) == URLS
    # Kept: the URL strings and their list (~130 bytes each). The whole list of entries adds a
    # tuple and a date with its time zone per URL, about twice that again.
    per_url = streamed_peak / URLS
    assert per_url < 200, f"{per_url:.0f} bytes per URL at the peak"
    assert streamed_peak < 0.6 * listed_peak, (streamed_peak, listed_peak)


def test_streamed_entries_keep_dates_and_kinds() -> None:
    kind, entries = disc.iter_sitemap(NEWS_SITEMAP)
    assert kind == "urlset"
    assert list(entries) == [
        ("https://x.id/a/1", datetime(2024, 1, 5, 8, 0, tzinfo=UTC)),
        ("https://x.id/a/2", None),
    ]
    kind, entries = disc.iter_sitemap(b"<html><body>not a sitemap</body></html>")
    assert kind == "unknown"
    assert list(entries) == []
    with pytest.raises(disc.SITEMAP_ERRORS):
        disc.iter_sitemap(b"")
    assert disc.parse_sitemap(b"") == ("unknown", [])
