"""Page kinds: articles become records; listings and the outlet's own pages are kept as raw pages
only. Each rule is checked on a page built for it, and against the page that must not trip it."""

from __future__ import annotations

import pytest

from newsarchive.extract import extract_article

PROSE = [
    "Pemerintah kota meresmikan taman baru di pusat kota setelah pembangunan yang berlangsung "
    "hampir dua tahun dan menelan biaya miliaran rupiah dari anggaran daerah.",
    "Wali kota mengatakan taman itu dirancang sebagai ruang terbuka hijau yang ramah anak, lansia, "
    "dan penyandang disabilitas, dengan jalur pejalan kaki yang lebar dan teduh.",
    "Warga menyambut baik kehadiran taman tersebut, meski sebagian berharap pemerintah juga "
    "menambah lampu penerangan dan tempat sampah di sekitar area bermain anak.",
]
RELATED = "".join(
    f'<li><a href="/2024/03/0{i}/berita-lain-{i}/">Berita lain nomor {i} tentang kota hari ini</a></li>'
    for i in range(1, 6)
)


def page(
    title: str,
    paragraphs: list[str],
    *,
    og_type: str | None = None,
    date: str | None = None,
    byline: str | None = None,
    extra: str = "",
) -> str:
    meta = f'<meta property="og:type" content="{og_type}">' if og_type else ""
    when = f'<time datetime="{date}">{date}</time>' if date else ""
    by = f'<p class="byline">Penulis: {byline}</p>' if byline else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html lang='id'><head><title>{title}</title>{meta}</head><body>"
        f"<nav><a href='/'>Beranda</a><a href='/tentang-kami/'>Tentang Kami</a></nav>"
        f"<article><h1>{title}</h1>{by}{when}<div class='content'>{body}</div></article>"
        f"{extra}<footer><a href='/kontak/'>Kontak</a></footer></body></html>"
    )


def kind(html: str, url: str) -> tuple[str, list[str]]:
    article = extract_article(html, url)
    return article.page_kind, article.kind_reasons


def test_a_dated_article_with_related_links_is_an_article() -> None:
    html = page(
        "Taman kota diresmikan",
        PROSE,
        date="2024-03-05T10:00:00+07:00",
        extra=f"<aside><h3>Baca Juga</h3><ul>{RELATED}</ul></aside>",
    )
    assert kind(html, "https://kota.example.id/taman-kota-diresmikan/")[0] == "article"


def test_article_markup_decides_even_without_a_date() -> None:
    html = page("Tentang Kami dan kota", PROSE, og_type="article")
    found, reasons = kind(html, "https://kota.example.id/tentang-kami/")
    assert found == "article"
    assert "says it is an article" in reasons[0]


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/tentang-kami/", "Tentang Kami"),
        ("/kontak/", "Hubungi Kami"),
        ("/informasi-pemasangan-iklan-dan-kerja-sama/", "Pasang Iklan"),
        ("/p/halaman/", "Kebijakan Privasi"),
        ("/about.html", "Who we are"),
    ],
)
def test_the_outlets_own_pages_are_other(path: str, title: str) -> None:
    # Long enough prose that "a headline and a long body" alone would call it an article.
    html = page(title, PROSE * 4, og_type="website")
    found, reasons = kind(html, f"https://kota.example.id{path}")
    assert found == "other"
    assert "no publication date" in reasons[0]


def test_a_news_headline_with_an_info_word_is_still_news() -> None:
    html = page(
        "Iklan rokok di papan reklame jalan protokol akhirnya dilarang pemerintah kota",
        PROSE,
        date="2024-03-05T10:00:00+07:00",
    )
    assert kind(html, "https://kota.example.id/iklan-rokok-dilarang/")[0] == "article"


def test_a_page_of_teasers_is_a_listing() -> None:
    cards = "".join(
        f"<div class='card'><span>Kota</span><h2><a href='/2024/03/0{i}/judul-{i}/'>"
        f"Judul berita nomor {i} tentang taman dan warga kota</a></h2>"
        f"<p>Ringkasan berita nomor {i}: pemerintah kota menaruh perhatian besar pada taman "
        "dan ruang terbuka bagi warga…</p><time datetime='2024-03-05T10:00:00+07:00'>5 Maret"
        "</time></div>"
        for i in range(1, 9)
    )
    html = (
        "<html lang='id'><head><title>Berita Kota</title></head><body>"
        f"<main><h1>Berita Kota</h1>{cards}</main></body></html>"
    )
    found, reasons = kind(html, "https://kota.example.id/kota/")
    assert found == "listing"
    assert "headlines linking to other pages" in reasons[0]


def test_an_undated_short_page_without_any_article_signal_is_other() -> None:
    html = page("Selamat datang", PROSE[:1])
    assert kind(html, "https://kota.example.id/selamat-datang/")[0] == "other"


def test_an_undated_page_with_a_byline_and_an_article_url_is_an_article() -> None:
    html = page("Taman kota diresmikan", PROSE, byline="Ahmad Fauzi")
    found, reasons = kind(html, "https://kota.example.id/berita/1234567/taman-kota-diresmikan")
    assert found == "article"
    assert "byline" in reasons[0] and "article-shaped URL" in reasons[0]


def test_a_page_with_nothing_in_it_is_other() -> None:
    assert kind("<html><body><div></div></body></html>", "https://kota.example.id/x")[0] == "other"
