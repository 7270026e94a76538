"""The site's name: og:site_name, else application-name — unless application-name is the article's
own headline, as a portal modelled on MSN sets it on every article page (then the record has no
site name rather than the headline as one, and the headline is not cut away as a site suffix)."""

from __future__ import annotations

import pytest

from newsarchive.extract import extract_article

HEADLINE = "Warga bantaran sungai mengungsi setelah banjir setinggi dua meter"
BODY = "".join(
    f"<p>{text}</p>"
    for text in (
        "Ratusan warga di bantaran sungai mengungsi ke balai desa sejak Senin malam setelah air "
        "naik dengan cepat dan merendam rumah mereka hingga setinggi dua meter.",
        "Petugas gabungan membuka dapur umum dan mendata kebutuhan para pengungsi, terutama "
        "anak-anak dan warga lanjut usia yang membutuhkan obat-obatan.",
        "Menurut kepala desa, air mulai surut pada Selasa siang, tetapi warga diminta tetap "
        "waspada karena hujan deras diperkirakan masih turun hingga akhir pekan.",
    )
)


def page(title: str, head: str, *, h1: bool = False) -> str:
    shown = f"<h1>{HEADLINE}</h1>" if h1 else ""
    return (
        f"<html><head><title>{title}</title>{head}</head><body>"
        f'<nav><a href="/">Beranda</a> <a href="/berita">Berita</a></nav>'
        f"<article>{shown}{BODY}</article><footer>Hak cipta</footer></body></html>"
    )


@pytest.mark.parametrize("title", [HEADLINE, f"{HEADLINE} | Portal"])
@pytest.mark.parametrize("h1", [False, True])
def test_application_name_that_is_the_headline_is_no_site_name(title: str, h1: bool) -> None:
    html = page(title, f'<meta name="application-name" content="{HEADLINE}">', h1=h1)
    article = extract_article(html, "https://portal.example.com/berita/123")
    assert article.site_name is None
    assert article.title == HEADLINE


def test_application_name_that_names_the_site_is_kept() -> None:
    html = page(f"{HEADLINE} - Kabar Kota", '<meta name="application-name" content="Kabar Kota">')
    article = extract_article(html, "https://kabarkota.example.id/berita/123")
    assert article.site_name == "Kabar Kota"
    assert article.title == HEADLINE


def test_og_site_name_comes_first() -> None:
    head = (
        f'<meta name="application-name" content="{HEADLINE}">'
        '<meta property="og:site_name" content="Portal Berita">'
    )
    article = extract_article(page(HEADLINE, head), "https://portal.example.com/berita/123")
    assert article.site_name == "Portal Berita"
