"""The per-page indexes the finders share give exactly what the whole-tree XPaths they replaced
gave: the same elements, in document order."""

from __future__ import annotations

from lxml import etree

from newsarchive.extract.bylines import _byline_marked
from newsarchive.extract.dates import _date_itemprops
from newsarchive.extract.document import (
    _may_hold_control_chars,
    parse_document,
    with_itemprop,
    with_rel,
)
from newsarchive.extract.fields import _active_nav_links
from newsarchive.extract.kinds import needs_teasers

PAGE = """<html><head><title>T</title>
<link rel="author" href="/me"><meta itemprop="datePublished" content="2023-07-02">
<link class="author" rel="stylesheet" href="x.css"></head><body>
<span itemprop="author">Ani</span>
<div class="post-AUTHOR">not a candidate: the hint is tested as written</div>
<p class="Byline-top" rel="author">Oleh Budi</p>
<a rel="author" href="/budi">Budi</a>
<div class="writer-box"><span class="penulis">Citra</span></div>
<h1 itemprop="headline">Judul</h1><h2 itemprop="headline alternative">no</h2>
<time pubdate datetime="2023-07-02T10:00">2 Juli</time>
<time itemprop="dateModified" datetime="2023-07-03">3 Juli</time>
<a rel="category tag" href="/c">Kategori</a><a rel="tag" href="/t">Label</a>
<a rel="tagged" href="/x">no</a><span rel="category">not a link</span>
</body></html>"""

OLD_BYLINE_MARKED = etree.XPath(
    ".//*[@class and (contains(@class, 'uthor') or contains(@class, 'yline')"
    " or contains(@class, 'enulis') or contains(@class, 'eporter') or contains(@class, 'riter')"
    " or contains(@class, 'artawan')) or @itemprop='author' or @rel='author']"
)
OLD_DATE_ITEMPROP = etree.XPath(
    "descendant-or-self::*[@itemprop='datePublished' or @itemprop='dateModified'"
    " or (self::time and @pubdate)][not(self::meta)]"
)


def test_byline_candidates_match_the_old_xpath_in_document_order():
    doc = parse_document(PAGE)
    body = doc.tree.find("body")
    assert _byline_marked(doc, body) == OLD_BYLINE_MARKED(body)
    texts = [el.text for el in _byline_marked(doc, body)]
    assert texts == ["Ani", "Oleh Budi", "Budi", None, "Citra"]


def test_date_carriers_match_the_old_xpath():
    doc = parse_document(PAGE)
    assert _date_itemprops(doc) == OLD_DATE_ITEMPROP(doc.tree)
    assert [el.tag for el in _date_itemprops(doc)] == ["time", "time"]


def test_itemprop_and_rel_lookups():
    doc = parse_document(PAGE)
    assert [el.text for el in with_itemprop(doc, "headline")] == ["Judul"]
    assert with_rel(doc, "a", lambda rel: "category" in rel) == doc.tree.xpath(
        "//a[contains(@rel, 'category')]"
    )
    assert with_rel(doc, "a", lambda rel: " tag " in f" {rel} ") == doc.tree.xpath(
        "//a[contains(concat(' ', @rel, ' '), ' tag ')]"
    )


def test_control_characters_checked_on_the_bytes_when_they_are_clean():
    clean = "<p>a\u201cb\u201d</p>"
    assert not _may_hold_control_chars(clean.encode("utf-8"), clean)
    dirty = "<p>a\x0bb</p>"
    assert _may_hold_control_chars(dirty.encode("utf-8"), dirty)
    assert _may_hold_control_chars(dirty, dirty)
    assert not _may_hold_control_chars(clean, clean)
    # UTF-16 bytes hold NUL bytes: the decoded text decides.
    assert not _may_hold_control_chars(clean.encode("utf-16-le"), clean)
    page = "<html><body><p>a\x0bb</p>" + "<p>Teks berita.</p>" * 50 + "</body></html>"
    assert parse_document(page.encode("utf-8")).tree.findtext(".//p") == "ab"


def test_teasers_only_read_for_pages_that_do_not_say_they_are_articles():
    article = parse_document(
        '<html><head><meta property="og:type" content="article"></head></html>'
    )
    listing = parse_document(
        '<html><head><meta property="og:type" content="website"></head></html>'
    )
    assert not needs_teasers(article)
    assert needs_teasers(listing)


OLD_ACTIVE_NAV = (
    "//a[contains(concat(' ', @class, ' '), ' active ') or contains(@class, 'current')"
    " or contains(@class, 'selected')]"
    "|//li[contains(concat(' ', @class, ' '), ' active ') or contains(@class, 'current')"
    " or contains(@class, 'selected')]/a"
)
NAV_PAGE = """<html><body><nav><ul>
<li class="menu-item Active"><a href="/a">no: the token is tested as written</a></li>
<li class="menu-item current-menu-parent"><ul>
  <li class="selected"><a href="/b/c">Sub</a></li></ul><a href="/b">Parent after its list</a></li>
<li><a class="is-active" href="/d">no: not the token</a><a class="nav active" href="/e">E</a></li>
<li class="active"><a class="active" href="/f">F, once</a><span><a href="/g">not a child</a></span></li>
</ul></nav></body></html>"""


def test_active_navigation_links_match_the_old_xpath_in_document_order():
    doc = parse_document(NAV_PAGE)
    assert _active_nav_links(doc) == doc.tree.xpath(OLD_ACTIVE_NAV)
    assert [a.get("href") for a in _active_nav_links(doc)] == ["/b/c", "/b", "/e", "/f"]
