"""The faster paths of extraction give exactly what the code they replaced gave: the same
elements in document order, the same trees, the same records."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime

from lxml import etree

from newsarchive.extract.body import _LINK_TEXTS, _OUTERMOST_LINK_TEXTS
from newsarchive.extract.dates import _date_marked
from newsarchive.extract.decoding import decode_html, decode_page
from newsarchive.extract.document import (
    attributed_elements,
    classed_matching,
    parse_document,
    preceding_elements,
)
from newsarchive.items import Article, Contributor, Removed, iso_date

PAGE = """<html><head><title>T</title><meta itemprop="datePublished" content="2023-07-02">
<link rel="canonical" href="/a"></head><body>
<!-- a comment between elements -->
<div id="top-nav" class="Menu main-menu"><ul><li class="active"><a href="/">Home</a></li>
<li><a href="/news">News <b>today</b></a> after</li></ul></div>
<div class="breadcrumb"><a href="/">Home</a> › <a href="/news">News</a></div>
<article itemscope itemtype="https://schema.org/NewsArticle">
<h1 class="entry-title" itemprop="headline">Judul berita</h1>
<div class="post-Date">2 Juli 2023</div><span class="publishTime">10:00</span>
<span id="updatedate">3 Juli</span><span class="Tanggal">no: tanggal is matched as written</span>
<p class="tanggal-terbit">Senin, 3 Juli 2023</p>
<div class="entry-content" itemprop="articleBody"><p>Teks <a href="/x">tautan <a href="/y">di
dalam</a> lagi</a> dan <em>lagi</em>.</p><?pi stays?><p>Kedua</p></div>
<div class="tags"><a rel="tag" href="/t/a">A</a><a rel="tag" href="/t/b">B</a></div>
</article>
<footer class="site-footer"><a href="/about">Tentang kami</a></footer>
</body></html>"""

OLD_CLASSED = etree.XPath("descendant-or-self::*[@class or @id or @itemtype]")
OLD_ATTRIBUTED = etree.XPath("descendant-or-self::*[@itemprop or @rel or @pubdate]")
_LOWER_CLASS = "translate(@class, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
OLD_DATE_MARKED = etree.XPath(
    f"(.//*[contains({_LOWER_CLASS}, 'date') or contains({_LOWER_CLASS}, 'time')"
    f" or contains(@class, 'tanggal') or contains({_LOWER_CLASS}, 'publish')"
    f" or contains(@class, 'posted') or contains(@class, 'datum') or contains(@class, 'fecha')"
    " or contains(@id, 'date')])[position() <= 20]"
)


def test_one_pass_indexes_match_the_old_xpaths():
    doc = parse_document(PAGE)
    assert attributed_elements(doc) == OLD_ATTRIBUTED(doc.tree)
    everything = re.compile(".")  # not plain words: the regex path, every classed element
    assert classed_matching(doc, everything) == OLD_CLASSED(doc.tree)


def test_plain_words_found_like_the_regex_finds_them():
    doc = parse_document(PAGE)
    for words in ("title|headline|jdl", "menu|nav", "crumb", "date|time|tanggal", "tag|topic"):
        plain = re.compile(words)
        # The same alternation with a flag goes through the regex engine.
        regex = re.compile(words, re.ASCII)
        assert classed_matching(doc, plain) == classed_matching(doc, regex), words
    assert [el.get("class") for el in classed_matching(doc, re.compile("menu|nav"))] == [
        "Menu main-menu"
    ]


def test_preceding_elements_match_the_xpath_axis():
    doc = parse_document(PAGE)
    axis = etree.XPath("preceding::*[position() <= $n]")
    for el in doc.tree.iter(etree.Element):
        for n in (1, 3, 25, 1000):
            assert preceding_elements(el, n) == axis(el, n=n)


def test_date_marked_elements_match_the_old_xpath():
    doc = parse_document(PAGE)
    body = doc.tree.find("body")
    found = _date_marked(doc, body)
    assert found == OLD_DATE_MARKED(body)
    assert [el.get("class") or el.get("id") for el in found] == [
        "post-Date",
        "publishTime",
        "updatedate",
        "tanggal-terbit",
    ]


def test_outermost_link_texts_are_every_link_text():
    doc = parse_document(PAGE)
    body = doc.tree.find("body")
    assert _OUTERMOST_LINK_TEXTS(body) == etree.XPath(".//text()[ancestor::a]")(body)
    p = body.find(".//p")
    assert _LINK_TEXTS(p) == etree.XPath(".//text()[ancestor::a]")(p)


def test_utf8_pages_parse_from_their_bytes_to_the_same_tree():
    page = PAGE.replace("Teks", "Teks “kutipan” é 😀").encode("utf-8")
    text, utf8 = decode_page(page)
    assert utf8 == page and text == page.decode("utf-8") == decode_html(page)
    from_bytes = parse_document(page)
    from_text = parse_document(page.decode("utf-8"))
    assert etree.tostring(from_bytes.tree, encoding=str) == etree.tostring(
        from_text.tree, encoding=str
    )
    # Invalid UTF-8 is decoded with replacement characters, and parsed from that text.
    broken = page.replace("é".encode(), b"\xe9")
    text, utf8 = decode_page(broken)
    assert utf8 is None and "\ufffd" in text
    assert "\ufffd" in etree.tostring(parse_document(broken).tree, encoding=str)


def test_to_dict_is_what_asdict_gave():
    art = Article(
        url="https://x.id/a",
        title="T",
        authors=["Ani"],
        contributors=[Contributor("Ani", "author"), Contributor("Budi", "editor")],
        published=datetime(2023, 7, 2, 10, 0, tzinfo=UTC),
        modified=datetime(2023, 7, 3),
        tags=["a", "b"],
        removed=[Removed("share", "Bagikan")],
        sources={"title": "h1"},
        raw={"published": "2 Juli 2023"},
        kind_reasons=["long text"],
    )
    want = asdict(art)
    want["published"] = iso_date(art.published)
    want["modified"] = iso_date(art.modified)
    got = art.to_dict()
    assert got == want and list(got) == list(want)
    # An independent copy, as asdict's was.
    got["tags"].append("c")
    got["contributors"][0]["name"] = "X"
    got["sources"]["body"] = "scored"
    assert art.tags == ["a", "b"] and art.contributors[0].name == "Ani"
    assert "body" not in art.sources
