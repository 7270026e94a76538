"""The discovery rules the spider uses, one row per real form (no network)."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime

import pytest

from newsarchive.spiders import discovery as disc


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://jambi.example.id/2023/07/02/empati-dan-dedikasi-pekerja-sosial/",
            True,
        ),  # WordPress date path
        ("https://news.example.com/berita/d-6801234/judul-berita", True),  # detik id
        ("https://nasional.example.com/read/2016/01/04/19170011/judul", True),  # kompas
        (
            "https://www.example.co.id/news/read/2023/09/12/kebakaran-hutan-di-jambi-kembali-meluas",
            True,
        ),
        (
            "https://example.id/ekonomi/harga-beras-naik-lagi-di-pasar-tradisional-jambi",
            True,
        ),  # long slug
        ("https://example.id/kategori/opini/page/2/", False),
        ("https://example.id/tag/ekonomi-dan-bisnis-daerah-jambi-hari-ini", False),
        ("https://example.id/indeks?date=2023-07-02", False),
        ("https://example.id/read/2016/01/04/19170011/judul?page=2", False),  # page 2 of an article
        ("https://example.id/2023/07/02/judul-berita-panjang/2/", False),  # page 2, path form
        ("https://example.id/wp-content/uploads/2023/07/02/foto-kegiatan-warga-desa.jpg", False),
        ("https://example.id/redaksi/", False),
    ],
)
def test_article_shapes(url: str, expected: bool) -> None:
    assert disc.looks_like_article(url) is expected


def test_page_numbers_and_pagination() -> None:
    assert disc.page_number("https://x.id/kategori/opini/page/3/") == 3
    assert disc.page_number("https://x.id/nasional/?page=4") == 4
    assert disc.page_number("https://x.id/nasional/") == 1
    assert disc.is_pagination_of(
        "https://x.id/kategori/opini/page/2/", "https://x.id/kategori/opini/", 2
    )
    assert disc.is_pagination_of(
        "https://x.id/nasional/?page=3", "https://x.id/nasional/?page=2", 3
    )
    assert not disc.is_pagination_of("https://x.id/ekonomi/?page=2", "https://x.id/nasional/", 2)
    assert disc.NEXT_LABELS.match("Selanjutnya »")
    assert disc.NEXT_LABELS.match("Berikutnya")
    assert disc.NEXT_LABELS.match("»")
    assert not disc.NEXT_LABELS.match("Sebelumnya")


def test_date_index_goes_back_a_day() -> None:
    assert (
        disc.previous_day_url("https://x.id/indeks?date=2023-07-01")
        == "https://x.id/indeks?date=2023-06-30"
    )
    assert (
        disc.previous_day_url("https://x.id/indeks?date=03/01/2024")
        == "https://x.id/indeks?date=02/29/2024"
    )
    assert disc.previous_day_url("https://x.id/indeks") is None
    assert disc.listing_date("https://x.id/indeks?date=2023-07-01") == date(2023, 7, 1)


def test_article_continuations_and_show_all() -> None:
    art = "https://x.id/read/2023/07/02/1234/judul"
    assert disc.article_continuation(f"{art}?page=2", art, 2)
    assert disc.article_continuation(f"{art}/2", art, 2)
    assert not disc.article_continuation(f"{art}?page=3", art, 2)
    assert not disc.article_continuation("https://x.id/read/2023/07/02/9999/lain?page=2", art, 2)
    assert disc.show_all_url(f"{art}?page=all")
    assert disc.show_all_url(f"{art}?single=1")
    assert not disc.show_all_url(f"{art}?page=2")


# A news sitemap: the second entry has no date at all; the first a lastmod and a later
# news:publication_date (which wins).
NEWS_SITEMAP = (
    b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
    b'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
    b"<url><loc>https://x.id/a/1</loc><lastmod>2024-02-01</lastmod><news:news>"
    b"<news:publication_date>2024-01-05T08:00:00Z</news:publication_date></news:news></url>"
    b"<url><loc>https://x.id/a/2</loc></url></urlset>"
)


def test_sitemaps_index_urlset_and_news_dates() -> None:
    index = (
        b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://x.id/post-sitemap1.xml</loc><lastmod>2024-01-02T10:00:00+07:00</lastmod></sitemap>"
        b"</sitemapindex>"
    )
    kind, entries = disc.parse_sitemap(index)
    assert kind == "index"
    assert entries == [("https://x.id/post-sitemap1.xml", datetime(2024, 1, 2, 3, 0, tzinfo=UTC))]
    kind, entries = disc.parse_sitemap(NEWS_SITEMAP)
    assert kind == "urlset"
    # news:publication_date wins over lastmod; an entry without dates is kept, undated.
    assert entries == [
        ("https://x.id/a/1", datetime(2024, 1, 5, 8, 0, tzinfo=UTC)),
        ("https://x.id/a/2", None),
    ]


def test_rss_and_atom_feeds() -> None:
    rss = (
        b"<rss><channel><item><title>a</title><link>https://x.id/a/1</link>"
        b"<pubDate>Sun, 02 Jul 2023 19:17:00 +0700</pubDate></item></channel></rss>"
    )
    assert disc.parse_feed(rss, "https://x.id/") == [
        ("https://x.id/a/1", datetime(2023, 7, 2, 12, 17, tzinfo=UTC))
    ]
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><link rel="alternate" href="/a/2"/>'
        b"<updated>2023-07-02T12:00:00Z</updated></entry></feed>"
    )
    assert disc.parse_feed(atom, "https://x.id/") == [
        ("https://x.id/a/2", datetime(2023, 7, 2, 12, 0, tzinfo=UTC))
    ]


def test_hrefs_read_from_raw_bytes() -> None:
    body = b'<a href="/a/1">x</a> <a class="y" href="https://o.id/b">y</a> <a href="c/d?p=1&amp;q=2">z</a> <a href="mailto:r@x.id">m</a>'
    assert disc.hrefs(body, "https://x.id/dir/page") == [
        "https://x.id/a/1",
        "https://o.id/b",
        "https://x.id/dir/c/d?p=1&q=2",
    ]


def test_gzipped_sitemap_inflates_within_the_limit_only() -> None:
    xml = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://x.id/a/1</loc></url></urlset>"
    )
    assert disc.sitemap_body(gzip.compress(xml), 1024) == xml
    assert disc.sitemap_body(xml, 10) == xml  # plain XML: DOWNLOAD_MAXSIZE already bounded it
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000)
    assert len(bomb) < 10_000
    with pytest.raises(ValueError):
        disc.sitemap_body(bomb, 1024 * 1024)
    with pytest.raises((OSError, EOFError)):
        disc.sitemap_body(b"\x1f\x8b\x08" + b"not gzip at all", 1024)


def test_sitemap_entities_are_not_expanded() -> None:
    billion_laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://x.id/&lol2;</loc></url></urlset>"
    )
    kind, entries = disc.parse_sitemap(billion_laughs)
    assert kind == "urlset"
    assert all("lollol" not in loc for loc, _ in entries)
