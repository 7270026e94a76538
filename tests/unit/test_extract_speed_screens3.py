"""Shortcuts in the date, byline, headline and body finders give what the longer way gave: the
day-first date patterns that need a month name are skipped for a text naming none; the trailing
month, outlet and link-scheme tests are screened; byline labels are looked for in the lowercased
text first; a bare label stops reading a sentence at its first word that is no name; the headline
candidates are read only as far as a reference needs them and normalised only when they can
match; teaser links are counted before they are normalised; blank link text is left out of the
link index in C; the link test of an element climbs only to an ancestor already answered for; and
the caption walk skips subtrees instead of filing them in a set."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import urldefrag, urljoin

import pytest
from lxml import etree

import newsarchive.extract as extract
from newsarchive.extract import body, bylines, dates, decoding, fields, headline, kinds
from newsarchive.extract.body import MANY_LINKS, _LinkChars
from newsarchive.extract.bylines import (
    LABEL,
    TRAILING_MONTH,
    _labels_in,
    _looks_like_outlet,
    _without_trailing_month,
    parse_byline,
)
from newsarchive.extract.chrome import element_markup
from newsarchive.extract.dates import MONTHS, _find_date, _names_a_month
from newsarchive.extract.document import (
    Document,
    classed_matching,
    clean_text,
    element_text,
    listed,
    page_body,
    parse_document,
    text_content,
    with_itemprop,
)
from newsarchive.extract.headline import norm_text

MONTH = re.compile(dates._MONTH)

DATE_TEXTS = [
    "2 juli 2023",
    "minggu, 2 juli 2023 - 19:17 wib",
    "kodim 0415/jambi meluncurkan program layanan kesehatan",
    "the 2024 season opener drew 45,000 fans",
    "june 19 2015",
    "november 20, 2019 at 10:15 am",
    "2020. június 7.",
    "2020 m. birželio 7 d.",
    "12 мая 2020",
    "04 november, 2015",
    "16-feb-2016",
    "marketing 2023 plan",
    "julimarch 2020",
    "mar2020 and 5 mar",
    "5 mar 2020",
    "05/11/2015",
    "2.7.2023 und 4. 2. 2022",
    "2015-11-05 t10:08:58z",
    "2020年2月14日",
    "bab 1 juli. 2023",
    "1 jul 2023 and 2023-07-02",
    "juli 2023",
    "3 dec. 2019, 5 déc 2020",
]


@pytest.mark.parametrize("text", DATE_TEXTS)
def test_month_screen_says_yes_wherever_a_month_name_is(text: str) -> None:
    if MONTH.search(text):
        assert _names_a_month(text)


@pytest.mark.parametrize("text", DATE_TEXTS)
def test_find_date_with_the_month_screen_is_the_unscreened_one(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    screened = _find_date(text)
    monkeypatch.setattr(dates, "_names_a_month", lambda text: True)
    assert screened == _find_date(text)


def _trailing_month_by_regex(value: str) -> str:
    """_without_trailing_month as it was: the regex on the last word and the space before it."""
    stripped = value.rstrip()
    last_word = stripped.rsplit(None, 1)[-1] if stripped else ""
    before = stripped[: len(stripped) - len(last_word)]
    if not before:
        return value
    start = len(before.rstrip())
    return value[:start] + TRAILING_MONTH.sub("", value[start:])


def _month_spellings() -> list[str]:
    words = ["Fahmi", "x", "Press", "juli..", "juli.x", "KASIM", "Kasim", "ARALIK", "mayis", "K"]
    for name in MONTHS:
        words += [name, name.upper(), name.title(), name + ".", name.upper() + "."]
        words += [name.replace("i", "\u0131"), name.replace("k", "\u212a")]
        words += [name.replace("s", "\u017f"), name + "s", "x" + name]
    return words


def test_trailing_month_screen_cuts_what_the_regex_cuts() -> None:
    for word in _month_spellings():
        for value in (
            f"Associated Press {word}",
            f"Name  {word} ",
            word,
            f" {word}",
            f"A\t{word}\n",
        ):
            assert _without_trailing_month(value) == _trailing_month_by_regex(value), value


@pytest.mark.parametrize(
    "part",
    ["Tribunnews.com", "Kompas.co.id", "detik.NET", "Dedi Nurdin", "S.H.", "a.idx", "A. Budi", ""],
)
def test_outlet_screen(part: str) -> None:
    expected = bool(re.search(r"\.(?:com|co\.id|id|net|org|co)\b", part, re.I))
    assert _looks_like_outlet(part) is expected


LABEL_TEXTS = [
    "Penulis: Rizki Fahmi",
    "Reporter: A | Editor: B",
    "Rep: Andi, Red: Budi",
    "By: JERUSALEM POST STAFF",
    "by Admin",
    "Oleh karena itu, kegiatan tersebut melibatkan tokoh masyarakat, pemuda, dan perangkat desa.",
    "By choosing I Accept , you consent to our use of cookies.",
    "Posted on Maret 30, 2015 by Admin",
    "Crafted with love by TemplatesYard",
    "x.by: A and xby: B and (by: C) and 1by: D",
    "xphotos by: A",  # a label inside a place where none starts
    "photos by: A, photo by B, Photos By: C",
    "Laporan Wartawan Tribunnews.com, Dedi Nurdin",
    "\u212aontributor: Andi",  # the Kelvin sign: re.IGNORECASE reads it as k, so does lower()
    "\u017fource: Reuters",  # a long s: lower() keeps it, the regex reads s
    "Penul\u0131s: Andi",  # a dotless i
    "\u0130stanbul by: Andi",  # a dotted capital I: lowered, two characters
    "Editor\uff1a Budi",
    "Redaktur:Andi;Penyunting :Budi",
    "Written by: Regan written by: Regan",
    "RED: A",
    "",
]


@pytest.mark.parametrize("text", LABEL_TEXTS)
def test_labels_found_as_finditer_finds_them(text: str) -> None:
    expected = [(m.span(), m.groups()) for m in LABEL.finditer(text)]
    assert [(m.span(), m.groups()) for m in _labels_in(text)] == expected


def test_a_bare_label_reads_a_sentence_only_up_to_its_first_word_that_is_no_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cleaned: list[str] = []
    clean_name = bylines._clean_name

    def counting(name: str) -> str:
        cleaned.append(name)
        return clean_name(name)

    monkeypatch.setattr(bylines, "_clean_name", counting)
    line = "Oleh karena itu, warga, pemuda, perangkat desa dan tokoh masyarakat hadir"
    assert parse_byline(line, default_role=None) == []
    assert cleaned == ["karena itu"]
    cleaned.clear()
    people = parse_byline("Oleh Andi Saputra dan Budi Santoso", default_role=None)
    assert [(p.name, p.role) for p in people] == [
        ("Andi Saputra", "author"),
        ("Budi Santoso", "author"),
    ]
    assert cleaned == ["Andi Saputra", "Budi Santoso"]


# The link index as it was: every text node under the outermost links, blank ones included.
_ALL_LINK_TEXTS = etree.XPath("descendant::a[not(ancestor::a)]//text()")


def _link_index_of_every_text(root: etree._Element) -> dict[etree._Element, int]:
    own: dict[etree._Element, int] = {}
    for text in _ALL_LINK_TEXTS(root):
        n = len(text.strip())
        if not n:
            continue
        el = text.getparent()
        if text.is_tail:
            el = el.getparent()
        while el.tag != "a":
            el = el.getparent()
        own[el] = own.get(el, 0) + n
    return own


LINK_PAGE = """<html><body>
<p>Intro <a href="/a">
  <img src="x.jpg">
  Headline one</a> and <a href="/b"> </a><a href="/c">\u00a0</a>
<a href="/d">\u00a0x\u2003</a><a href="/e"><span>in</span> span <b>bold</b> tail</a>
<a href="/f">outer <a href="/g">inner</a> after</a><a href="/h"><!-- c --> y </a>
<a href="/i">\t\n</a><a href="/j">z</a>
</p></body></html>"""


# The page above with its links repeated past MANY_LINKS: the link texts are then read in one
# pass over the page's text nodes (the outermost links' node-sets, merged by libxml2, took 0.4 s
# at 20,000 links and a minute at 200,000).
MANY_LINK_PAGE = LINK_PAGE.replace("<p>", "<p>" + '<a href="/m">many</a> ' * (MANY_LINKS + 1))


@pytest.mark.parametrize("page", [LINK_PAGE, MANY_LINK_PAGE], ids=["few links", "many links"])
def test_link_index_without_blank_text_counts_what_it_counted(page: str) -> None:
    root = page_body(parse_document(page, "https://example.com/a"))
    expected = _link_index_of_every_text(root)
    assert expected  # the page has link text
    assert _LinkChars(root)._index() == expected


def test_page_body_is_the_body_element() -> None:
    doc = parse_document("<html><body><p>Hi there</p></body></html>", "https://example.com/")
    assert page_body(doc) is doc.tree.find("body")
    assert page_body(doc) is page_body(doc)


def test_label_words_are_one_pattern_whatever_the_string_hashing() -> None:
    # Stored once by patterns.compile only if every process builds the same pattern.
    code = "from newsarchive.extract import bylines; print(bylines._LABEL_WORDS.pattern)"
    seen = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        seen.add(done.stdout)
    assert len(seen) == 1


def _region_captions_with_a_set(containers: list[etree._Element]) -> tuple[list[str], list[str]]:
    """region_captions as it was: every node of a container or caption filed in a set."""
    region = body.headline_region(containers[0])
    if region is None:
        return [], []
    starts = set(containers)
    inside: set[etree._Element] = set()
    before: list[str] = []
    after: list[str] = []
    seen_container = False
    for el in region.iter():
        if el in starts:
            seen_container = True
            inside.update(el.iter())
        if el in inside or not isinstance(el.tag, str):
            continue
        if el.tag != "figcaption":
            present = el.keys()
            if "class" not in present and "id" not in present:
                continue
            names = (el.get("class") or "") + (el.get("id") or "")
            if not names or not body._caption_hint(names) or element_markup(el)[0] != "caption":
                continue
        inside.update(el.iter())
        if body._in_foreign_chrome(el, region):
            continue
        text = clean_text(body._text(el))
        if text:
            (after if seen_container else before).append(text)
    return before, after


REGION_PAGES = [
    # A lead photo above the container, one below it, a caption in a related box.
    """<main><h1>Judul berita yang panjang</h1><figure><img src="a.jpg">
    <figcaption>Foto utama <span class="caption-credit">(Antara)</span></figcaption></figure>
    <div id="C"><p>Isi berita.</p><figure><figcaption>Di dalam</figcaption></figure>
    <p>Lagi<!-- akhir --></p></div>
    <div class="wp-caption-text">Keterangan bawah<p>kedua</p><!-- c --></div>
    <div class="related"><div class="caption">Bukan ini</div></div>
    <div class="caption">Luar <div class="caption">Dalam</div> lagi</div></main>""",
    # The container ends in a comment; a caption holds the container (markup gone wrong).
    """<div><h1>Judul</h1><div class="ket-foto">Sebelum <div id="C"><p>isi</p><b>x</b></div>
    sesudah</div><div id="foto-caption">Akhir</div><!-- c --><figcaption>Terakhir</figcaption></div>""",
    # A container inside another, before a caption of the outer one.
    """<div><h1>Judul</h1><div id="C"><div id="D"><p>x</p></div><figcaption>Di C</figcaption>
    </div><figcaption>Sesudah</figcaption></div>""",
    # An empty container, and two containers.
    """<section><h1>Judul</h1><div id="C"></div><figcaption>Satu</figcaption>
    <div id="D"><p>dua <i>x</i></p></div><figcaption>Tiga<!--x--></figcaption></section>""",
]


@pytest.mark.parametrize("page", REGION_PAGES)
def test_region_captions_skip_subtrees_as_the_set_did(page: str) -> None:
    doc = parse_document(f"<html><body>{page}</body></html>", "https://example.com/a")
    containers = [el for el in doc.tree.iter() if el.get("id") in ("C", "D")]
    expected = _region_captions_with_a_set(containers)
    assert expected != ([], [])
    assert body.region_captions(containers) == expected


@pytest.mark.parametrize(
    "href",
    [
        "https://www.example.com/ekonomi/",
        "http://example.com/a",
        "//www.example.com/b/",
        "https:example.com",
        "HTTP://WWW.EXAMPLE.COM/C",
        "  /nasional/  ",
        "/kategori/opini/",
        "www.example.com/d",
        "javascript:void(0)",
        "",
        None,
    ],
)
def test_href_key_without_the_regex_where_it_cannot_match(href: str | None) -> None:
    stripped = (href or "").strip()
    expected = re.sub(r"^(?:https?:)?//(?:www\.)?", "", stripped).rstrip("/").lower()
    assert fields._href_key(href) == expected


def _displaying_every_norm(texts: list[str], reference: str) -> int | None:
    """headline._displaying as it was: every candidate's text normalised (index of the one)."""
    ref = norm_text(reference)
    if len(ref) < 8:
        return None
    prefixed = None
    for i, text in enumerate(texts):
        if len(text) > len(reference) + headline.MAX_RUBRIC_PREFIX + 10:
            continue
        norm = norm_text(text)
        if norm == ref:
            return i
        if (
            prefixed is None
            and norm.endswith(" " + ref)
            and len(norm) - len(ref) <= headline.MAX_RUBRIC_PREFIX
        ):
            prefixed = i
    return prefixed


HEADLINE_TEXTS = [
    "Berita lain",
    "Gubernur Jambi meresmikan jembatan",
    "FOTO: Gubernur Jambi meresmikan jembatan baru",
    "Gubernur Jambi Meresmikan Jembatan Baru",
    "\u0130stanbul",  # lowers to two characters: normalised, it is longer than it is
    "Gubernur Jambi meresmikan jembatan baru di Muara Bulian, warga menyambut gembira",
]


@pytest.mark.parametrize(
    "reference",
    [
        "Gubernur Jambi meresmikan jembatan baru",
        "Gubernur Jambi: meresmikan jembatan baru!",
        "i stanbul",
        "Jembatan baru",
        "short",
    ],
)
def test_displaying_normalises_only_texts_that_can_match(reference: str) -> None:
    for texts in (HEADLINE_TEXTS, HEADLINE_TEXTS[::-1], HEADLINE_TEXTS[2:]):
        candidates = [[i, text, None] for i, text in enumerate(texts)]
        assert headline._displaying(candidates, reference) == _displaying_every_norm(
            texts, reference
        )


def _teaser_texts_normalised_first(doc: Document) -> set[str]:
    """kinds.teaser_texts as it was: every link's text normalised, then its words counted."""
    here = urldefrag(doc.url)[0] if doc.url else None
    base_parses = here is not None and kinds._parses(here)
    texts: set[str] = set()
    for a in doc.tree.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        text = kinds._normalise(text_content(a))
        if text in texts or len(text.split()) < kinds.TEASER_MIN_WORDS:
            continue
        if here and not (base_parses and kinds._leads_elsewhere(here, href)):
            target = urldefrag(urljoin(here, href))[0]
            if target == here:
                continue
        texts.add(text)
    return texts


TEASER_PAGE = """<html><body>
<a href="/a">Gubernur   Jambi meresmikan\u00a0jembatan</a>
<a href="/b">STRASSE und Stra\u00dfe gehen</a><a href="/c">Tiga kata saja</a>
<a href="/d">\u0130stanbul'da b\u00fcy\u00fck bir toplant\u0131 yap\u0131ld\u0131</a>
<a href="/e">gubernur jambi MERESMIKAN jembatan</a><a href="#top">Kembali ke atas halaman ini</a>
<a href="https://example.com/x">Halaman ini sendiri dengan judul panjang</a>
<a href="/f"><span>Empat</span> <b>kata</b>\u2003di\u200bsini ya</a></body></html>"""


def test_teaser_texts_counted_before_normalising() -> None:
    doc = parse_document(TEASER_PAGE, "https://example.com/x")
    expected = _teaser_texts_normalised_first(doc)
    assert len(expected) >= 3
    assert kinds.teaser_texts(doc) == expected


@pytest.mark.parametrize(
    "text", ["/a/b?x=1#y", "/a#y?x", "/a;p?q#f", "#only", "?", "", "/plain/path", "a;b;c?d"]
)
@pytest.mark.parametrize("stops", ["?#", ";?#", "#"])
def test_first_of_is_the_earliest_stop(text: str, stops: str) -> None:
    found = [text.find(stop) for stop in stops if stop in text]
    assert kinds._first_of(text, stops) == min(found, default=len(text))


def _every_candidate(doc: Document) -> list[list[object]]:
    """headline._candidates as it was: every candidate's text read up front."""
    elements = [el for tag in headline.DISPLAY_TAGS for el in listed(doc, tag)]
    elements += with_itemprop(doc, "headline")
    elements += classed_matching(doc, headline.HEADLINE_MARK)
    found = []
    for el in dict.fromkeys(elements):
        if el.tag in headline.NOT_HEADLINE_TAGS:
            continue
        text = element_text(el)
        if text and len(text) <= headline.MAX_HEADLINE_LENGTH:
            found.append([el, text, None])
    return found


HEADLINE_PAGE = """<html><head><meta property="og:title" content="{title}">
<title>{title} - Portal</title></head><body>
<div class="site-title">Portal Demo</div><h2 class="title">Berita lain hari ini</h2>
<h1 class="entry-title">{shown}</h1><span itemprop="headline">{title}</span>
<h2>Terpopuler</h2><div class="post-title"><a href="/b">Judul teaser kedua yang lain</a></div>
<h1>Judul kedua</h1><p class="subtitle">Sebuah anak judul</p></body></html>"""


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("Gubernur Jambi meresmikan jembatan baru", "Gubernur Jambi meresmikan jembatan baru"),
        (
            "Gubernur Jambi meresmikan jembatan baru",
            "FOTO: Gubernur Jambi meresmikan jembatan baru",
        ),
        ("Gubernur Jambi meresmikan jembatan baru", "Judul lain sama sekali"),
    ],
)
def test_headline_candidates_read_as_far_as_needed(
    title: str, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = HEADLINE_PAGE.format(title=title, shown=shown)
    expected_doc = parse_document(page, "https://example.com/a")
    expected = [[el.sourceline, text] for el, text, _ in _every_candidate(expected_doc)]
    candidates = headline._Candidates(parse_document(page, "https://example.com/a"))
    next(iter(candidates))  # read one, then all: the same candidates, once each
    assert [[el.sourceline, text] for el, text, _ in candidates] == expected
    assert [[el.sourceline, text] for el, text, _ in candidates] == expected

    def every_shown(doc: Document) -> object:
        candidates = _every_candidate(doc)
        for reference, _source in headline.title_references(doc):
            site = headline.find_site_name(doc)
            for text in dict.fromkeys((reference, headline.strip_site_suffix(reference, site))):
                found = headline._displaying(candidates, text)
                if found is not None:
                    return found
        return None

    expected_shown = every_shown(expected_doc)
    read: list[str] = []
    element_text_of = headline.element_text
    monkeypatch.setattr(headline, "element_text", lambda el: read.append(el) or element_text_of(el))
    doc = parse_document(page, "https://example.com/a")
    shown_el = headline.displayed_headline(doc)
    assert (shown_el is None) == (expected_shown is None)
    if shown_el is not None:
        assert shown_el.sourceline == expected_shown.sourceline
    if shown == title:  # the h1 shows it: no other candidate's text was read
        assert [el.tag for el in read if el.tag != "title"] == ["h1"]


NESTED_LINK_PAGE = """<html><body><div><p>Teks <a href="/a"><span>di <b>dalam</b></span>
<em>tautan</em></a> dan <i>di luar</i></p><a href="/b"><div><p>paragraf dalam tautan</p>
<a href="/c"><span>bersarang</span></a></div></a><ul><li><a href="/d">x</a></li><li>y</li>
</ul></div><p><span><strong>tanpa tautan</strong></span></p></body></html>"""


@pytest.mark.parametrize("order", ["document", "reversed", "inner first"])
def test_in_link_answers_as_iterancestors_does(order: str) -> None:
    root = page_body(parse_document(NESTED_LINK_PAGE, "https://example.com/a"))
    elements = list(root.iter(etree.Element))
    if order == "reversed":
        elements.reverse()
    elif order == "inner first":
        elements.sort(key=lambda el: -sum(1 for _ in el.iterancestors()))
    link_chars = _LinkChars(root)
    answers = [link_chars._in_link(el) for el in elements]
    assert answers == [next(el.iterancestors("a"), None) is not None for el in elements]
    assert any(answers) and not all(answers)


def _tag_texts_every_link_asked(
    links: list[etree._Element], doc: Document, *, headed_as_tags: bool
) -> list[str]:
    """fields._tag_texts as it was: every link asked whether it leads to a section."""
    named = [(a, text) for a in links if 0 < len(text := element_text(a)) <= 50]
    category = fields._page_category(doc)
    sections = {i for i, (a, _) in enumerate(named) if fields._is_section_link(a, doc)}
    if not headed_as_tags and len(sections) * 2 > len(named):
        return []
    return [
        text
        for i, (a, text) in enumerate(named)
        if not (
            norm_text(text) == category
            and (i in sections or not fields.TAG_URL.search(a.get("href") or ""))
        )
    ]


TAGS_PAGE = """<html><head><meta property="article:section" content="Ekonomi"></head><body>
<nav class="main-nav"><a href="/">Home</a><a href="/ekonomi/">Ekonomi</a>
<a href="https://www.example.com/nasional/">Nasional</a></nav><article><h1>Judul</h1>
<div class="tags">{links}</div></article></body></html>"""
TAG_LINK_SETS = [
    '<a rel="tag" href="/ekonomi/">Ekonomi</a><a rel="tag" href="/cari?q=jambi">jambi</a>',
    '<a rel="tag" href="/tag/ekonomi">Ekonomi</a><a rel="tag" href="/nasional">Nasional</a>',
    '<a rel="tag" href="/x/ekonomi">EKONOMI</a><a rel="tag" href="/ekonomi">pangan</a>',
    '<a rel="tag" href="/ekonomi/">Ekonomi</a><a rel="tag" href="/nasional/">Nasional</a>',
    '<a rel="tag" href="/ekonomi/">Ekonomi</a><a rel="tag" href="/">Home</a>',  # all sections
]


@pytest.mark.parametrize("links", TAG_LINK_SETS)
@pytest.mark.parametrize("headed_as_tags", [True, False])
def test_tag_links_asked_about_sections_only_when_it_matters(
    links: str, headed_as_tags: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = parse_document(TAGS_PAGE.format(links=links), "https://example.com/ekonomi/a")
    tag_links = [a for a in doc.tree.iter("a") if a.get("rel") == "tag"]
    expected = _tag_texts_every_link_asked(tag_links, doc, headed_as_tags=headed_as_tags)
    asked: list[str] = []
    is_section_link = fields._is_section_link

    def counting(a: etree._Element, doc: Document) -> bool:
        asked.append(element_text(a))
        return is_section_link(a, doc)

    monkeypatch.setattr(fields, "_is_section_link", counting)
    assert fields._tag_texts(tag_links, doc, headed_as_tags=headed_as_tags) == expected
    if headed_as_tags:
        assert all(norm_text(text) == "ekonomi" for text in asked)


IMAGE_URLS = [
    "http://127.0.0.1:8123/img/0.jpg",
    "https://cdn.example.com/a/b/../c.jpg",
    "https://cdn.example.com",
    "http://[::1]/x.png",
    "http://[::1/x.png",
    "https://u:p@host:8080//double//slash.jpg",
    "http://host/a.jpg?",
    "http://host/a.jpg#",
    "http://host/a;v=1.jpg",
    "http://host/a b.jpg",
    "HTTP://host/a.jpg",
    "http:///a.jpg",
    "http://host/a\\tb.jpg",
    "//cdn.example.com/a.jpg",
    "/img/a.jpg",
    "https://host/\u00e9t\u00e9.jpg",
]
PAGE_URLS = ["https://example.com/a/b", "http://example.com/", "ftp://x/y", "http://[::1", ""]


@pytest.mark.parametrize("image", IMAGE_URLS)
def test_plain_absolute_urls_are_what_urljoin_gives_back(image: str) -> None:
    if not extract._plain_absolute_url(image):
        return
    for page in PAGE_URLS:
        try:
            joined = urljoin(page, image)
        except ValueError:
            continue  # extract_article keeps the URL as written
        assert joined == image, page


def test_some_urls_are_plain() -> None:
    assert [url for url in IMAGE_URLS if extract._plain_absolute_url(url)] == [
        "http://127.0.0.1:8123/img/0.jpg",
        "https://cdn.example.com/a/b/../c.jpg",
        "https://cdn.example.com",
        "http://[::1]/x.png",
        "http://[::1/x.png",
        "https://u:p@host:8080//double//slash.jpg",
        "http://host/a\\tb.jpg",
    ]


@pytest.mark.parametrize(
    "data",
    [magic + b"rest of the file" for magic, _ in decoding._MAGIC]
    + [b"  \n%PDF-1.7", b"<html><body>x</body></html>", b"\xef\xbb\xbf<p>"],
)
def test_magic_numbers_found_with_one_startswith(data: bytes) -> None:
    head = data[: decoding.BINARY_SAMPLE_BYTES]
    start = head.lstrip()
    expected = next(
        (
            f"looks like {what}"
            for magic, what in decoding._MAGIC
            if head.startswith(magic) or (magic == b"%PDF-" and start.startswith(magic))
        ),
        None,
    )
    assert decoding.not_html_reason(data) == expected


@pytest.mark.parametrize(
    "content_type",
    ["text/html; charset=utf-8", "text/html;charset=ISO-8859-1", 'text/html; charset="utf-16"']
    + ["text/html", "text/html; charset=nonsense", ""],
)
def test_http_charset_remembered_as_read(content_type: str) -> None:
    m = decoding._HTTP_CHARSET.search(content_type)
    expected = decoding.encoding_for_label(m.group(1)) if m else None
    assert decoding.http_charset(content_type) == (expected if content_type else None)
    assert decoding.http_charset(content_type) == (expected if content_type else None)


def _text_is_indonesian_word_by_word(doc: Document) -> bool:
    """fields.text_is_indonesian as it was: each word looked up in turn."""
    total = id_count = en_count = 0
    seen: set[str] = set()
    for words in fields._prose_runs(doc):
        total += len(words)
        for w in words:
            if w in fields.ID_FUNCTION_WORDS:
                id_count += 1
                seen.add(w)
            elif w in fields.EN_FUNCTION_WORDS:
                en_count += 1
        if total >= fields.LANG_MIN_WORDS and en_count >= id_count:
            break
        if total >= fields.LANG_SAMPLE_WORDS:
            break
    return (
        total >= fields.LANG_MIN_WORDS
        and id_count >= fields.ID_MIN_SHARE * total
        and id_count > 2 * en_count
        and len(seen) >= fields.ID_MIN_DISTINCT
    )


PROSE = {
    "id": "Pemerintah daerah yang baru dilantik akan menyiapkan anggaran untuk pembangunan jalan "
    "dan jembatan di desa itu, karena warga sudah lama menunggu dari tahun lalu dengan sabar.",
    "en": "The government said that it would prepare the budget for the new roads and bridges in "
    "the village, because residents have been waiting for years with patience and hope.",
    "mixed": "Warga yang tinggal di desa itu said that the roads and bridges dari pemerintah are "
    "not yet ready, dan mereka akan menunggu for another year with the others.",
}


@pytest.mark.parametrize(
    "runs",
    [["id"] * 3, ["en"] * 3, ["mixed"] * 4, ["en", "id", "id", "id"], ["id"], ["mixed", "en"]],
)
def test_prose_words_counted_as_word_by_word(runs: list[str]) -> None:
    page = "<html><body>" + "".join(f"<p>{PROSE[r]}</p>" for r in runs) + "</body></html>"
    expected = _text_is_indonesian_word_by_word(parse_document(page, "https://example.com/a"))
    assert fields.text_is_indonesian(parse_document(page, "https://example.com/a")) == expected


def test_prose_words_counted_as_word_by_word_when_the_lists_share_a_word(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A word on both lists counts as Indonesian only, as the elif did.
    shared = {"dan", "di", "yang", "akan", "dari", "untuk", "dengan", "itu"}
    monkeypatch.setattr(fields, "EN_FUNCTION_WORDS", fields.EN_FUNCTION_WORDS | shared)
    monkeypatch.setattr(
        fields, "_EN_ONLY_FUNCTION_WORDS", fields.EN_FUNCTION_WORDS - fields.ID_FUNCTION_WORDS
    )
    for runs in (["mixed"] * 4, ["id"] * 3):
        page = "<html><body>" + "".join(f"<p>{PROSE[r]}</p>" for r in runs) + "</body></html>"
        expected = _text_is_indonesian_word_by_word(parse_document(page, "https://example.com/a"))
        assert fields.text_is_indonesian(parse_document(page, "https://example.com/a")) == expected
