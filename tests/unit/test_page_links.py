"""How the crawler reads the links of what it fetches: relative to the page's <base href> as
Scrapy's response.urljoin reads it, and a link urllib cannot take apart passed over, not raised."""

from __future__ import annotations

from scrapy.http import HtmlResponse, Response

from newsarchive.spiders import discovery as disc
from newsarchive.spiders.portal import _page_base

URL = "https://news.example.id/kategori/daerah/"


def _page(head: str) -> HtmlResponse:
    body = f"<html><head>{head}</head><body><a href='judul/'>x</a></body></html>"
    return HtmlResponse(URL, body=body.encode(), encoding="utf-8")


def test_links_are_relative_to_the_base_href_as_scrapy_reads_it() -> None:
    page = _page('<base href="/arsip/2024/">')
    assert _page_base(page) == "https://news.example.id/arsip/2024/"
    assert disc.absolute_url(_page_base(page), "judul/") == page.urljoin("judul/")
    assert _page_base(_page("")) == URL
    assert _page_base(Response(URL, body=b"%PDF")) == URL


def test_a_base_href_urllib_cannot_take_apart_leaves_the_page_url() -> None:
    # response.urljoin raised here, and every link of the listing was lost with it.
    assert _page_base(_page('<base href="http://[::1/">')) == URL


def test_links_urllib_cannot_take_apart_are_passed_over() -> None:
    assert disc.absolute_url(URL, "//[::1/berita/1") == ""
    assert disc.absolute_url(URL, "http://news.example.id:8o8/a") == "http://news.example.id:8o8/a"
    assert not disc.fetchable("http://news.example.id:8o8/a")
    assert disc.fetchable("https://news.example.id/sitemap.xml.gz")
    assert not disc.crawlable("https://news.example.id/sitemap.xml.gz")
    body = b"User-agent: *\nSitemap: /sitemap.xml\nsitemap:   http://[::1/s.xml \nSitemap:\n"
    assert disc.robots_sitemap_lines(body) == ["/sitemap.xml", "http://[::1/s.xml"]


def test_every_url_test_takes_a_url_urllib_cannot_take_apart() -> None:
    # Each raised ValueError before: safe only while every caller ran `crawlable` first.
    for bad in ("http://[::1/2024/01/02/judul?page=2", "http://news.example.id[/2024/01/02/a"):
        assert disc.same_site(bad, ("news.example.id",)) is False
        assert disc.path_and_query(bad) == ""
        assert disc.looks_like_article(bad) is False
        assert disc.date_in_url(bad) is None
        assert disc.page_number(bad) == 1
        assert disc.previous_day_url(bad + "&date=2024-01-02") is None
        assert disc.listing_date(bad + "&date=2024-01-02") is None
        assert disc.is_pagination_of(bad, URL, 2) is False
        assert disc.show_all_url(bad + "&showall=1") is False
        assert disc.article_continuation(bad, bad.split("?")[0], 2) is False
        assert disc.looks_like_feed(bad + "/feed") is False
    # Good URLs read as before.
    good = "https://news.example.id/2024/01/02/judul?page=2"
    assert disc.page_number(good) == 2 and disc.date_in_url(good).isoformat() == "2024-01-02"
    assert disc.path_and_query(good) == "/2024/01/02/judul?page=2"
