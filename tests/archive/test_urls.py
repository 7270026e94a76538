"""URL normalisation: the spellings of one page fold together, different pages stay apart."""

import pytest

from newsarchive.spiders.discovery import crawlable
from newsarchive.urls import fetch_key, normalize_url, site_from_url, usable_canonical


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # Tracking parameters go, the page's own parameters stay (sorted).
        ("https://warta.id/a?utm_source=fb&utm_medium=social&id=7", "https://warta.id/a?id=7"),
        ("https://warta.id/a?fbclid=IwAR0x&gclid=abc", "https://warta.id/a"),
        (
            "https://news.detik.com/berita/d-123/judul?tag_from=wp_nhl_1",
            "https://news.detik.com/berita/d-123/judul",
        ),
        ("https://warta.id/a?b=2&a=1", "https://warta.id/a?a=1&b=2"),
        # Whole-article switches fold; a later page of a multi-page article does not.
        (
            "https://nasional.kompas.com/read/2024/03/05/judul?page=all",
            "https://nasional.kompas.com/read/2024/03/05/judul",
        ),
        ("https://news.detik.com/d-1/judul?single=1", "https://news.detik.com/d-1/judul"),
        ("https://warta.id/a?amp", "https://warta.id/a"),
        ("https://warta.id/a?page=2", "https://warta.id/a?page=2"),
        # Host case, default ports, fragments, empty paths, escapes of unreserved characters.
        ("HTTPS://Warta.ID:443/A#komentar", "https://warta.id/A"),
        ("http://warta.id:8080", "http://warta.id:8080/"),
        ("https://warta.id/%7Euser/a%2fb", "https://warta.id/~user/a%2Fb"),
        ("https://warta.id/berita/tahun baru", "https://warta.id/berita/tahun%20baru"),
        # Scheme and www. are kept: some portals serve different pages there.
        ("http://www.warta.id/a", "http://www.warta.id/a"),
        ("file:///tmp/halaman.html#x", "file:///tmp/halaman.html"),
    ],
)
def test_normalize_url(url, expected):
    assert normalize_url(url) == expected
    assert normalize_url(expected) == expected  # idempotent


def test_a_canonical_pointing_at_the_home_page_is_not_used():
    assert usable_canonical("https://warta.id/") is None
    assert usable_canonical("https://warta.id") is None
    assert usable_canonical("/relative/only") is None
    assert usable_canonical(" https://warta.id/a ") == "https://warta.id/a"


def test_site_from_url_drops_www():
    assert site_from_url("https://WWW.Warta.id/a") == "warta.id"
    assert site_from_url("https://news.warta.id/a") == "news.warta.id"
    assert site_from_url(None) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://warta.id:8o8/berita/1#atas",  # a port that is no number
        "https://warta.id:99999/berita/1",  # past 65535
        "https://[::1/berita/1",  # an unclosed IPv6 bracket
        "https://[warta.id]/berita/1",  # brackets around what is no address
    ],
)
def test_a_url_urllib_cannot_take_apart_is_kept_apart_not_raised(url):
    # As a page's canonical link, it raised in the store, and the article was lost; as a link
    # on a page, it stopped the crawler's parsing of the page, which was lost too.
    assert normalize_url(url) == fetch_key(url) == url.partition("#")[0]
    assert usable_canonical(url) is None
    assert site_from_url(url) in (None, "warta.id")
    assert not crawlable(url)
