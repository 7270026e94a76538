"""Category, tags and language rules on small hand-written pages modelled on Indonesian portals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from newsarchive.extract import extract_article
from newsarchive.extract.document import parse_document
from newsarchive.extract.fields import (
    _path_section,
    _site_labels,
    find_category,
    find_tags,
    is_indonesian,
    text_is_indonesian,
)

TITLE = "Banjir Rob Rendam Permukiman Warga di Pesisir Semarang Utara"
ID_PROSE = (
    "<p>Banjir rob kembali merendam permukiman warga di pesisir Semarang Utara pada Selasa pagi"
    " karena air laut pasang lebih tinggi dari biasanya.</p>"
    "<p>Menurut warga, air mulai masuk ke rumah sejak pukul 05.00 dan belum surut hingga siang."
    " Mereka mengatakan tanggul yang dibangun tahun lalu tidak mampu menahan air.</p>"
    "<p>Pemerintah kota akan menambah pompa di dua titik dan juga meminta warga untuk waspada"
    " karena pasang tinggi diperkirakan terjadi sampai akhir pekan ini.</p>"
)
EN_PROSE = (
    "<p>Tidal flooding inundated homes in North Semarang on Tuesday morning as the sea rose"
    " higher than usual, residents of Kampung Tambak Lorok said.</p>"
    "<p>The water entered houses from 5 a.m. and had not receded by noon. Residents said the"
    " sea wall built last year in Jalan Arteri Utara was unable to hold it back.</p>"
    '<p>"Kami sudah capek," said one resident, Siti Aminah, which means "we are tired". The city'
    " will add pumps at two locations and has asked residents to stay alert this week.</p>"
)


def page(
    body: str,
    *,
    lang: str = "id",
    head: str = "",
    jsonld: list[dict[str, Any]] | None = None,
    prose: str = ID_PROSE,
) -> str:
    scripts = "".join(
        f'<script type="application/ld+json">{json.dumps(obj)}</script>' for obj in jsonld or []
    )
    return (
        f'<html lang="{lang}"><head><title>{TITLE} - Kabar Pantura</title>'
        f'<meta property="og:title" content="{TITLE}">{head}{scripts}</head>'
        f"<body>{body}<h1>{TITLE}</h1><div class='content'>{prose}</div></body></html>"
    )


def trail(*names: str, url: str = "https://www.pantura.example") -> dict[str, Any]:
    items = [
        {"@type": "ListItem", "position": i + 1, "name": n, "item": f"{url}/{n.lower()}"}
        for i, n in enumerate(names)
    ]
    return {"@type": "BreadcrumbList", "itemListElement": items}


def category_of(html: str, url: str | None = None) -> tuple[str | None, str | None]:
    return find_category(parse_document(html, url), {}, TITLE)


def tags_of(html: str, url: str | None = None) -> list[str]:
    return find_tags(parse_document(html, url), {})


HOME = '<a href="https://www.pantura.example/">Beranda</a>'
NAV = (
    "<nav class='menu'><a href='https://www.pantura.example/semarang'>Semarang</a>"
    " <a href='https://www.pantura.example/ekonomi'>Ekonomi</a>"
    " <a href='https://www.pantura.example/olahraga'>Olahraga</a></nav>"
)


# --- rule 1: a visible trail beats a shallower or lower-cased JSON-LD trail -------------------


def test_deeper_visible_trail_beats_shallower_jsonld():
    html = page(
        f"<ul class='breadcrumb'><li>{HOME}</li>"
        "<li><a href='/semarang'>Semarang</a></li><li><a href='/semarang/pesisir'>Pesisir</a></li>"
        "</ul>",
        jsonld=[trail("Semarang")],
    )
    assert category_of(html) == ("Pesisir", "breadcrumb")


def test_lowercased_jsonld_takes_the_visible_spelling():
    html = page(
        f"<div class='breadcrumb'>{HOME} › <a href='/jawa-tengah'>Jawa Tengah</a></div>",
        jsonld=[trail("jawa tengah")],
    )
    assert category_of(html) == ("Jawa Tengah", "breadcrumb")


def test_declared_trail_wins_over_an_abbreviated_visible_one():
    # The visible trail spells the section differently at the same depth: the declaration wins.
    html = page(
        f"<div class='breadcrumb'>{HOME} › <a href='/cyberlife'>Cyberlife</a></div>",
        jsonld=[trail("Teknologi", "Cyber Life")],
    )
    assert category_of(html) == ("Cyber Life", "json-ld")


def test_visible_trail_unrelated_to_the_declaration_does_not_win():
    html = page(
        f"<div class='breadcrumb'>{HOME} › <a href='/a'>Politik</a> › <a href='/b'>Pemilu</a></div>",
        jsonld=[trail("Nasional")],
    )
    assert category_of(html) == ("Nasional", "json-ld")


# --- rule 2: generic top-level crumbs give way to deeper ones ---------------------------------


@pytest.mark.parametrize("top", ["News", "Berita", "Index"])
def test_generic_top_crumb_gives_way_to_the_unlinked_section(top):
    html = page(
        f"<ol class='breadcrumb'><li>{HOME}</li><li><a href='/x'>{top}</a></li>"
        "<li class='active'>Daerah</li></ol>"
    )
    assert category_of(html) == ("Daerah", "breadcrumb")


def test_trail_of_only_a_generic_crumb_keeps_it():
    # detik calls a section 'Berita': with nothing deeper it is the section.
    html = page(f"<div class='breadcrumb'>{HOME} › <a href='/berita'>Berita</a></div>")
    assert category_of(html) == ("Berita", "breadcrumb")


def test_unlinked_crumbs_skip_the_headline_dates_and_labels():
    html = page(
        "<div class='breadcrumb'>Anda di sini: "
        f"{HOME} / <a href='/berita'>Berita</a> / <span>Semarang</span> / "
        "<span>Banjir Rob Rendam Permukiman Warga...</span> <span>12 Maret 2024</span></div>"
    )
    assert category_of(html) == ("Semarang", "breadcrumb")


def test_generic_top_of_jsonld_trail_gives_way_too():
    html = page("", jsonld=[trail("News", "Hukum")])
    assert category_of(html) == ("Hukum", "json-ld")


# --- rule 3: the URL names the section when the page shows none --------------------------------


@pytest.mark.parametrize(
    ("url", "section"),
    [
        (
            "https://www.pantura.example/nasional/2024/01/02/banjir-rob-rendam-permukiman",
            "Nasional",
        ),
        ("https://pantura.example/ekonomi/read/123/banjir-rob-rendam-permukiman", "Ekonomi"),
        (
            "https://pantura.example/berita/gaya-hidup/123/banjir-rob-rendam-permukiman",
            "Gaya Hidup",
        ),
        ("https://pantura.example/kanal/hukum/banjir-rob-rendam-permukiman-warga", "Hukum"),
        ("https://bola.pantura.example/read/2024/01/02/banjir-rob-rendam", "Bola"),
        ("https://otomotif.pantura.co.id/berita/546646/banjir-rob", "Otomotif"),
        ("https://m.pantura.example/jateng/d-712345/banjir-rob-rendam-permukiman", "Jateng"),
    ],
)
def test_section_from_the_url(url, section):
    assert category_of(page(""), url) == (section, "url")


@pytest.mark.parametrize(
    "url",
    [
        "https://www.pantura.example/2024/01/02/banjir-rob-rendam-permukiman/",
        "https://www.pantura.example/read/2024/01/02/banjir-rob-rendam-permukiman",
        "https://www.pantura.example/berita/123/banjir-rob-rendam-permukiman",
        "https://www.pantura.example/news/2024/banjir-rob-rendam-permukiman.html",
        "https://amp.pantura.example/banjir-rob-rendam-permukiman",
        "https://www.pantura.co.id/banjir-rob-rendam-permukiman",
        "https://en.pantura.example/id/2024/banjir-rob-rendam-permukiman",
        "https://www.pantura.example/tag/banjir-rob/2",
        "https://www.pantura.example/foto/123/banjir-rob-rendam-permukiman",
        "https://www.pantura.example/banjir-rob-rendam-permukiman-warga-di-pesisir/",
        "http://127.0.0.1:8000/nasional/2024/banjir",
    ],
)
def test_no_section_from_generic_urls(url):
    assert category_of(page(""), url) == (None, None)


def test_url_section_takes_the_sites_spelling():
    html = page("<ul class='menu'><li><a href='/sepakbola'>Sepak Bola</a></li></ul>")
    url = "https://pantura.example/sepakbola/d-771204/banjir-rob-rendam"
    assert category_of(html, url) == ("Sepak Bola", "url")


def test_url_is_only_a_fallback():
    html = page(f"<div class='breadcrumb'>{HOME} › <a href='/semarang'>Semarang</a></div>")
    url = "https://pantura.example/ekonomi/2024/01/02/banjir-rob"
    assert category_of(html, url) == ("Semarang", "breadcrumb")


def test_site_labels_know_second_level_suffixes():
    assert _site_labels("bola.pantura.co.id") == ["bola"]
    assert _site_labels("pantura.co.id") == []
    assert _site_labels("pantura.example") == []
    assert _site_labels("kabardesa.blogspot.com") == []
    assert _site_labels("kabardesa.blogspot.co.id") == []
    assert _site_labels("www.kota.sc.gov.br") == ["www"]
    assert _path_section("/ekonomi/energi/2024/05/14/slug") == ("energi", "/ekonomi/energi")


# --- the unnamed trail before the headline is a trail, not the site's menu ---------------------


def test_site_menu_before_headline_is_not_a_trail():
    html = page(f"<div class='top'>{HOME}{NAV}</div>")
    assert category_of(html, "https://www.pantura.example/2024/01/02/banjir-rob") == (None, None)


def test_nested_links_before_headline_are_a_trail():
    html = page(
        f"<div class='map'>{HOME}<a href='https://www.pantura.example/kanal/news'>News</a>"
        "<a href='https://www.pantura.example/kanal/news/semarang'>Semarang</a></div>"
    )
    assert category_of(html) == ("Semarang", "breadcrumb")


def test_home_link_and_plain_section_name_that_the_menu_lists():
    html = page(
        f"{NAV}<div class='title-bar'><a href='/' class='home'><img alt=''></a><p>Ekonomi</p></div>"
    )
    assert category_of(html) == ("Ekonomi", "breadcrumb")


def test_home_link_and_a_name_the_menu_does_not_list_is_no_trail():
    html = page(f"{NAV}<div class='logo-bar'><a href='/'>Kabar Pantura</a> Portal Terpercaya</div>")
    assert category_of(html) == (None, None)


# --- rule 4: language from the text when the declaration disagrees -----------------------------


def test_indonesian_text_declared_english_is_indonesian():
    doc = parse_document(page("", lang="en-US"))
    assert text_is_indonesian(doc) and is_indonesian(doc)
    assert extract_article(page("", lang="en-US")).language == "id"


def test_english_article_about_indonesia_stays_english():
    html = page("", lang="en", prose=EN_PROSE)
    assert not is_indonesian(parse_document(html))
    assert extract_article(html).language == "en"


def test_declared_malay_is_kept():
    # Malay shares the function words; its declaration is not second-guessed.
    assert extract_article(page("", lang="ms")).language == "ms"


def test_too_little_text_keeps_the_declaration():
    html = page("", lang="en", prose="<p>Banjir rob di Semarang dan Demak.</p>")
    assert extract_article(html).language == "en"


def test_italian_di_is_not_indonesian():
    prose = (
        "<p>Il sindaco di Semarang ha detto che la città di Giava centrale ha chiesto aiuto al"
        " governo per le inondazioni di marea che hanno colpito le case dei pescatori.</p>" * 3
    )
    assert extract_article(page("", lang="it", prose=prose)).language == "it"


# --- rule 5: section boxes and section links are not tags ---------------------------------------


def test_box_headed_topik_pilihan_is_not_the_articles_tags():
    html = page(
        "<div class='box-topik'><h3>Topik Pilihan</h3>"
        "<a href='/topik/pemilu-2024'>Pemilu 2024</a><a href='/topik/harga-bbm'>Harga BBM</a></div>"
    ).replace(
        "</body>",
        "<div class='tags'><a href='/tag/rob'>rob</a><a href='/tag/semarang'>Semarang</a></div>"
        "</body>",
    )
    assert tags_of(html) == ["rob", "Semarang"]


@pytest.mark.parametrize("heading", ["Program", "Kanal", "Tag Populer", "Trending"])
def test_site_box_headings(heading):
    html = page(f"<div class='tag-box'><span>{heading}</span><a href='/p/a'>Satu</a></div>")
    assert tags_of(html) == []


def test_heading_just_before_the_box_counts():
    html = page("<h4>Kanal</h4><ul class='topic-list'><li><a href='/k/a'>Satu</a></li></ul>")
    assert tags_of(html) == []


def test_tag_box_headed_tags_is_kept():
    html = page(
        "<div class='tag-list'><h5>Topik Terkait</h5><a href='/tag/rob'>rob</a>"
        "<a href='/tag/tanggul'>tanggul</a></div>"
    )
    assert tags_of(html) == ["rob", "tanggul"]


def test_section_link_repeated_in_tag_list_is_dropped():
    html = page(
        NAV + f"<div class='breadcrumb'>{HOME} › <a href='/ekonomi'>Ekonomi</a></div>"
        "<div class='tag-artikel'><a href='https://www.pantura.example/ekonomi'>Ekonomi</a>"
        "<a href='/tag/rob'>rob</a><a href='/tag/nelayan'>nelayan</a></div>"
    )
    assert tags_of(html) == ["rob", "nelayan"]


def test_tag_named_like_a_section_is_kept_when_it_links_a_tag_page():
    html = page(
        NAV
        + "<div class='tag-artikel'><a href='https://www.pantura.example/tag/ekonomi'>Ekonomi</a>"
        "<a href='/tag/rob'>rob</a></div>"
    )
    assert tags_of(html) == ["Ekonomi", "rob"]


def test_box_listing_the_sites_sections_is_not_tags():
    html = page(
        NAV + "<div class='topik'><a href='https://www.pantura.example/semarang'>Semarang</a>"
        "<a href='https://www.pantura.example/ekonomi'>Ekonomi</a></div>"
    )
    assert tags_of(html) == []


def test_wordpress_category_link_is_not_a_tag():
    html = page(
        "<span class='cat-links'><a href='/category/hukum/' rel='category tag'>Hukum</a></span>"
        "<span class='tags-links'><a href='/tag/rob/' rel='tag'>rob</a></span>"
    )
    assert tags_of(html) == ["rob"]


def test_wordpress_categories_without_tags_give_no_tags():
    html = page("<a href='/category/hukum/' rel='category tag'>Hukum</a>")
    assert tags_of(html) == []


def test_sentence_before_a_tag_box_is_no_box_heading():
    html = page(
        "<div class='baca'>Baca juga: Program Makan Bergizi Gratis Dimulai di Semarang</div>"
        "<div class='tags'><a href='/tag/rob'>rob</a><a href='/tag/tanggul'>tanggul</a></div>"
    )
    assert tags_of(html) == ["rob", "tanggul"]


def test_icon_links_in_a_tag_box_do_not_hide_its_tags():
    html = page(
        NAV + "<div class='tag-artikel'><a href='/tag/rob'>rob</a>"
        "<a href='https://facebook.com/share'><i class='fb'></i></a>"
        "<a href='https://x.com/share'><i class='x'></i></a></div>"
    )
    assert tags_of(html) == ["rob"]


def test_topics_headed_as_related_are_kept_even_when_the_menu_links_them():
    html = page(
        NAV + "<div class='list-of-tags'><h3>Related Topics</h3>"
        "<a href='https://www.pantura.example/semarang'>Semarang</a>"
        "<a href='/tag/rob'>rob</a></div>"
    )
    assert tags_of(html) == ["Semarang", "rob"]
