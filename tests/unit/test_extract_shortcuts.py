"""Shortcuts taken for speed answer exactly what the code they stand in for answered: quick
substring tests before case-blind regexes, one walk listing several tags, the first match found
without lxml's look-ahead, remembered answers for repeated date strings and URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsarchive.extract.body import _Markers
from newsarchive.extract.chrome import (
    _DATE_ANCHOR,
    CTA_LINE,
    DATE_WORDS,
    _cta_line,
    _only_words,
    is_date_line,
)
from newsarchive.extract.dates import (
    ABSOLUTE_DATES_KEPT,
    DAY_WORDS,
    _absolute_dates,
    _has_day_word,
    parse_date_parts,
)
from newsarchive.extract.document import (
    LISTED_TAGS,
    _host_of,
    first_descendant,
    host_of,
    listed,
    parse_document,
)

PAGE = """<html><head><title>Judul</title><meta name="description" content="d">
<meta property="og:title" content="Judul"><link rel="canonical" href="https://x.id/a">
<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Judul"}</script>
</head><body><h2>Kanal</h2><div class="wrap"><h1>Judul</h1><p>Satu <a href="/a">tautan</a>
<b>tebal</b></p><p>Dua</p><svg><title>icon</title></svg></div>
<meta itemprop="datePublished" content="2023-07-02"><h2>Terkait</h2>
<script>var x = 1;</script></body></html>"""

CTA_LINES = [
    "Ikuti kami di Google News",
    "IKUTI KAMI DI GOOGLE NEWS",
    "Gabung WhatsApp Channel kami",
    "Saluran WHATSAPP resmi",
    "Newsletter: sign up to get it in your inbox",
    "Our newsletter arrives daily. Subscribe now",
    "The newsletter is free",
    "whatsapp alone",
    "Google  News (two spaces)",
    # Characters IGNORECASE matches to ASCII letters that lower() does not turn into them.
    "Google Newſ",
    "\u017faluran whatsapp",
    "Gabung WhatſApp Channel",
    "WHATSAPP CHANNEL İ",
    "Kelvin \u212a google news",
    "",
    "Berita biasa tanpa ajakan apa pun, panjang dan berkoma, seperti paragraf lainnya.",
]


@pytest.mark.parametrize("text", CTA_LINES)
def test_cta_line_answers_as_the_regex(text: str) -> None:
    assert _cta_line(text) is (CTA_LINE.search(text) is not None)


def test_cta_line_cases_cover_both_answers() -> None:
    answers = {_cta_line(text) for text in CTA_LINES}
    assert answers == {True, False}
    assert _cta_line("Google Newſ") is True  # found only through the regex's case folding


@pytest.mark.parametrize(
    "text",
    [
        "kemarin 19.17",
        "diperbarui hari ini",
        "just now",
        "todays news",  # "today" inside a longer word: the regex refuses it
        "yesterday's",
        "baru saja",
        "barusaja",
        "sekarang",
        "",
    ],
)
def test_day_word_test_answers_as_the_regex(text: str) -> None:
    assert _has_day_word(text) is (DAY_WORDS.search(text) is not None)


@pytest.mark.parametrize(
    "text",
    [
        "Kamis, 05 November 2015 | 11:13 WIB",
        "Updated 19 Nov 2019 7:36 AM",
        "2 jam lalu",
        "Kamis sore",  # date words, no anchor
        "Rapat 2015 ditunda",  # an anchor, a word that is not a date word
        "10:00",
        "",
    ],
)
def test_date_line_answers_as_before(text: str) -> None:
    before = bool(_DATE_ANCHOR.search(text)) and _only_words(text, DATE_WORDS, DATE_WORDS)
    assert is_date_line(text) is before


def test_listed_elements_are_the_tree_walks() -> None:
    doc = parse_document(PAGE)
    for tag in LISTED_TAGS:
        assert listed(doc, tag) == list(doc.tree.iter(tag)), tag
    assert [el.text for el in listed(doc, "title")] == ["Judul", "icon"]
    assert len(listed(doc, "h2")) == 2
    assert doc.meta["datepublished"] == ["2023-07-02"]
    assert doc.jsonld[0]["headline"] == "Judul"


def test_first_descendant_is_what_find_finds() -> None:
    doc = parse_document(PAGE)
    body = doc.tree.find("body")
    wrap = body.find("div")
    for el in (doc.tree, body, wrap, wrap.find("p")):
        for tag in ("title", "h1", "h2", "p", "a", "b", "table"):
            assert first_descendant(el, tag) is el.find(f".//{tag}"), (el.tag, tag)
    assert first_descendant(wrap, "title") is not None  # the svg's, below the div
    assert first_descendant(wrap.find("p"), "p") is None  # descendants only, not itself


def test_remembered_dates_are_the_dates_read_afresh() -> None:
    fetched = datetime(2023, 7, 3, 12, 0, tzinfo=UTC)
    texts = ["2023-07-02T19:17:00+07:00", "Kamis, 05 November 2015 | 11:13 WIB", "2 jam yang lalu"]
    first = [parse_date_parts(t) for t in texts]
    again = [parse_date_parts(t) for t in texts]
    assert first == again
    assert first[0] is not None and first[0].value.hour == 19
    assert first[2] is None  # relative: nothing without a fetch time...
    relative = parse_date_parts(texts[2], fetched_at=fetched)
    assert relative is not None and relative.relative  # ...and read once one is given
    assert relative.value == fetched - timedelta(hours=2)


def test_remembered_dates_stay_bounded() -> None:
    for i in range(ABSOLUTE_DATES_KEPT + 10):
        parse_date_parts(f"{1 + i % 28} Juli {1990 + i % 100}")
    assert len(_absolute_dates) <= ABSOLUTE_DATES_KEPT


@pytest.mark.parametrize(
    "url",
    ["https://www.Detik.com/a", "http://[::1", None, "", "  https://x.id:8080/p  ", "nope"],
)
def test_host_of_remembered_is_host_of_read_afresh(url: str | None) -> None:
    assert host_of(url) == _host_of(url)
    assert host_of(url) == _host_of(url)  # the second answer comes from memory


def test_page_length_is_read_only_when_needed() -> None:
    doc = parse_document(PAGE)
    body = doc.tree.find("body")
    markers = _Markers(body)
    assert markers._page_len is None
    assert markers.page_len() == len("".join(body.itertext()))
