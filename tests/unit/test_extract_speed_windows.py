"""Shortcuts in the byline and date finders give what the longer way gave: the label patterns
grouped by first letter match as the plain alternations did, a leaf's text is read without
itertext, the windows around the headline skip the children of elements whose text already
failed, and the link counts cut short agree with findall."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urldefrag, urljoin

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from lxml import etree

from newsarchive.extract import bylines
from newsarchive.extract.bylines import (
    _LABEL_OPENINGS,
    BARE_LABELS,
    LABEL,
    LABEL_NO_COLON,
    LABEL_PREFIXES,
    LABEL_ROLES,
    LABEL_START,
    _short_text,
    _text,
    find_contributors,
)
from newsarchive.extract.dates import _visible_candidates
from newsarchive.extract.document import (
    clean_text,
    elements_after,
    following_elements,
    parse_document,
    preceding_elements,
)
from newsarchive.extract.fields import _links
from newsarchive.extract.headline import find_headline
from newsarchive.extract.kinds import _leads_elsewhere, _parses

# The label patterns as they were written before their alternations were grouped.
_PLAIN_LABELS = "|".join(sorted(LABEL_ROLES, key=len, reverse=True))
_PLAIN_BARE = "|".join(sorted(BARE_LABELS, key=len, reverse=True))
PLAIN_LABEL = re.compile(
    rf"(?<![\w.])(?:({_PLAIN_LABELS})\s*[:\uff1a]|({_PLAIN_BARE})\s+(?=[A-Z\u00c0-\u024f]))",
    re.I,
)
PLAIN_LABEL_NO_COLON = re.compile(rf"^\s*({_PLAIN_LABELS})\b(?!\s*[:\uff1a])", re.I)
PLAIN_LABEL_START = re.compile(
    rf"^\s*(?:({_PLAIN_LABELS})\s*(?:[:\uff1a]|$)|({_PLAIN_BARE})\s+[A-Z\u00c0-\u024f])",
    re.I,
)

CREDIT_LINES = [
    "Laporan Wartawan Tribunnews.com, Dedi Nurdin",
    "laporan: Andi",
    "Reporter: A | Editor: B",
    "Rep: Andi, Red: Budi",
    "Penulis Nabilla Tashandra | Editor Bayu Galih",
    "Oleh karena itu, pihaknya berkomitmen",
    "Photos by Jane Doe, photo by John",
    "written by Sam and edited by Kim",
    "Foto\uff1a Ani",
    "\u212aontributor: Budi",  # KELVIN SIGN: matches k case-blind
    "\u017fumber: Antara",  # LONG S: matches s case-blind
    "PENULIS",
    "  redaktur ",
    "by-line by Admin",
    "Posted on Maret 30, 2015 by Admin",
]
_LABEL_CHARS = sorted(set("".join(LABEL_ROLES)) | set(" :\uff1aABPRKS\u212a\u017f\u0131\u0130.-"))


def _matches(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], tuple]]:
    return [(m.span(), m.groups()) for m in pattern.finditer(text)]


@pytest.mark.parametrize("text", CREDIT_LINES)
def test_grouped_label_patterns_match_as_the_plain_ones(text: str) -> None:
    assert_grouped_match_as_plain(text)


@given(st.text(alphabet=_LABEL_CHARS, max_size=40))
def test_grouped_label_patterns_match_as_the_plain_ones_on_any_text(text: str) -> None:
    assert_grouped_match_as_plain(text)


def assert_grouped_match_as_plain(text: str) -> None:
    assert _matches(LABEL, text) == _matches(PLAIN_LABEL, text)
    start, plain_start = LABEL_START.match(text), PLAIN_LABEL_START.match(text)
    assert (start and (start.span(), start.groups())) == (
        plain_start and (plain_start.span(), plain_start.groups())
    )
    assert LABEL_NO_COLON.sub(r"\1:", text, count=1) == PLAIN_LABEL_NO_COLON.sub(
        r"\1:", text, count=1
    )


LEAVES_PAGE = """<html><body><div id="all">
<p>  Oleh:\u00a0 Andi   Saputra\u200b </p><p></p><span>x</span>
<div>By <a>Name</a><p>on 16 Feb</p><!-- a comment --> tail</div>
<b><!-- only a comment --></b><i>   </i><em>%s</em>
</div></body></html>""" % ("long text " * 40)


def test_leaf_text_is_the_itertext_text() -> None:
    root = etree.fromstring(LEAVES_PAGE, etree.HTMLParser())
    elements = list(root.iter(etree.Element))
    assert any(not len(el) for el in elements) and any(len(el) for el in elements)
    for el in elements:
        pieces = list(el.itertext())
        assert _text(el) == clean_text(" ".join(pieces))
        for limit in (5, 12, 120):
            joined = clean_text(" ".join(pieces))
            expected = None if sum(map(len, pieces)) > 2 * limit or len(joined) > limit else joined
            assert _short_text(el, limit) == expected


LINKS_PAGE = """<html><body>
<a id="self" href="/x">outer <a href="/in">inner</a></a>
<div id="box"><a href="/1">1</a><span><a href="/2">2</a></span><a href="/3">3</a></div>
<p id="none">no links</p>
</body></html>"""


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 10])
def test_links_cut_short_are_findall_cut_short(limit: int) -> None:
    root = etree.fromstring(LINKS_PAGE, etree.HTMLParser())
    for el in root.iter(etree.Element):
        assert _links(el, limit) == el.findall(".//a")[:limit]


FETCHED = datetime(2024, 1, 10, tzinfo=UTC)


def _window_dates(page: str) -> tuple[list[str], list[str]]:
    """The raw strings of the visible dates and <time> attributes found around the headline."""
    doc = parse_document(page, "https://example.com/a")
    published, modified, times = _visible_candidates(doc, find_headline(doc), FETCHED, None)
    return [c.raw for _, c in published + modified], [c.raw for c in times]


def test_a_time_element_inside_a_dateless_block_is_still_read() -> None:
    # The block's text ("Oleh Redaksi Rabu") holds no digit and no day word: its children are
    # skipped for their text, not for their datetime attribute.
    page = """<html><body><h1>Judul berita yang panjang sekali</h1>
    <div class="meta"><span>Oleh Redaksi</span>
    <time datetime="2023-07-05T10:15:00+07:00">Rabu</time></div>
    <p>Isi berita tanpa angka sama sekali di sini.</p></body></html>"""
    assert _window_dates(page) == ([], ["2023-07-05T10:15:00+07:00"])


def test_a_date_line_after_a_dateless_sibling_is_read() -> None:
    page = """<html><body><h1>Judul berita yang panjang sekali</h1>
    <div class="kicker"><span>Politik</span><span>Nasional</span></div>
    <div class="date">Senin, 3 Juli 2023 10:15 WIB</div>
    <p>Isi berita tanpa angka sama sekali di sini.</p></body></html>"""
    assert _window_dates(page) == (["Senin, 3 Juli 2023 10:15 WIB"], [])


def test_a_name_date_line_below_wrappers_is_read() -> None:
    # The first elements under the headline hold no separator; the line sits two levels down
    # in a block that holds one.
    page = """<html><body><h1>Judul berita yang panjang sekali</h1>
    <div class="kicker"><span>Politik</span></div>
    <div class="info"><div><span>Andi Saputra - 3 Maret 2018 20:15 wib</span></div></div>
    <p>Isi berita tanpa tanda pisah sama sekali di sini, cukup panjang untuk dibaca.</p>
    </body></html>"""
    people, _source = find_contributors(parse_document(page, "https://example.com/a"), selectors={})
    assert [p.name for p in people] == ["Andi Saputra"]


def test_the_name_date_window_reads_each_text_once_per_nesting() -> None:
    # A wrapper without a separator: its children are not read again (the shortcut is taken).
    page = """<html><body><h1>Judul berita yang panjang sekali</h1>
    <div class="kicker"><span><b>Politik</b></span><span>Nasional</span></div>
    <p>Andi Saputra - 3 Maret 2018 20:15 wib</p></body></html>"""
    read: list[str] = []
    original = bylines._short_text

    def counting(el, limit):  # noqa: ANN001, ANN202
        read.append(el.tag)
        return original(el, limit)

    bylines._short_text = counting
    try:
        people, _ = find_contributors(parse_document(page, "https://example.com/a"), selectors={})
    finally:
        bylines._short_text = original
    assert [p.name for p in people] == ["Andi Saputra"]
    assert read == ["div", "p"]


_URL_PIECES = st.lists(
    st.sampled_from(["/", "//", ".", "..", "a", "b", ";", "?", "#", "=", "%20", "h.id", "[", ":"]),
    max_size=8,
).map("".join)
_URL_STARTS = st.sampled_from(["", "/", "//", "http://", "https://", "https://h.id", "HTTP://"])


@example("https://h.id/x", "/a/../x")
@example("https://h.id/x", "/a/./x")
@example("https://h.id/x;p", "https:///x")
@example("https://h.id/x", "/x;p")
@example("https://h.id/x?", "/x?")
@given(
    st.tuples(_URL_STARTS, _URL_PIECES).map("".join),
    st.tuples(_URL_STARTS, _URL_PIECES).map("".join),
)
def test_a_link_said_to_lead_elsewhere_does(base: str, href: str) -> None:
    """_leads_elsewhere only says so of a link that urljoin takes to another page: checked
    against a random page URL and against the very URL the link leads to."""
    assume(href)
    try:
        here = urldefrag(urljoin(base, href))[0]
    except ValueError:
        return
    for page in (base, here):
        if not page or not _parses(page):
            continue
        try:
            target = urldefrag(urljoin(page, href))[0]
        except ValueError:
            continue
        if _leads_elsewhere(page, href):
            assert target != page


def test_the_elements_after_an_element_are_remembered_for_the_longest_window() -> None:
    blocks = "<div><p>a</p><!-- c --><p>b<i>c</i></p></div>" * 20
    page = f"<html><body><h1>T</h1>{blocks}<h2>U</h2>{'<span>x</span>' * 5}</body></html>"
    doc = parse_document(page, "https://example.com/a")
    h1, h2 = doc.tree.find(".//h1"), doc.tree.find(".//h2")
    for el, limit in [(h1, 80), (h1, 40), (h1, 90), (h1, 3), (h2, 40), (h2, 2), (h1, 40)]:
        assert elements_after(doc, el, limit) == following_elements(el, limit)


PRECEDING_PAGE = """<html><head><title>t</title></head><body>
<!-- top --><div id="menu"><ul><li><a>1</a><!-- x --></li><li><a>2</a><b><i>3</i></b></li></ul>
<p>kicker <span>a</span> <!-- y --> b</p></div>text<div><div><div><span>deep</span></div></div></div>
<section><h2>k</h2><!-- z --><div><h1 id="h">Headline</h1><p>after</p></div></section>
</body></html>"""


@pytest.mark.parametrize("limit", [0, 1, 2, 3, 5, 8, 13, 40])
def test_preceding_elements_are_xpaths(limit: int) -> None:
    # What the walks stand for: XPath's preceding and following axes (elements only, no
    # ancestors or descendants), the nearest `limit`, in document order.
    root = etree.fromstring(PRECEDING_PAGE, etree.HTMLParser())
    for el in root.iter(etree.Element):
        nearest = el.xpath("preceding::*")[-limit:] if limit else []
        assert preceding_elements(el, limit) == nearest


@pytest.mark.parametrize("limit", [0, 1, 2, 3, 5, 8, 13, 40])
def test_following_elements_are_xpaths(limit: int) -> None:
    root = etree.fromstring(PRECEDING_PAGE, etree.HTMLParser())
    for el in root.iter(etree.Element):
        assert following_elements(el, limit) == el.xpath("following::*")[:limit]


@example("Penulis: Andi")
@example("\u212aontributor: Budi")
@example("by")
@example("b")
@given(st.text(alphabet=_LABEL_CHARS, max_size=24))
def test_a_text_opening_with_a_label_opens_with_a_label_opening(text: str) -> None:
    # Every label has two letters or more: its first two are what such a text opens with.
    head = text.lstrip()[:20].lower()
    if head.startswith(LABEL_PREFIXES):
        assert head[:2] in _LABEL_OPENINGS


def test_a_day_word_a_child_holds_alone_is_read_though_its_parent_runs_it_into_words() -> None:
    # The block's text runs the day word into its neighbours ("Diperbaruitodaypukul"): no day
    # word there, but the child's own text is one, read as before.
    page = """<html><body><h1>Judul berita yang panjang sekali</h1>
    <div class="meta">Diperbarui<span>today</span>pukul</div>
    <p>Isi berita tanpa angka sama sekali di sini.</p></body></html>"""
    assert _window_dates(page) == (["today"], [])
