"""The quicker paths of extraction answer exactly as the code they replaced: stored pattern code
builds the same patterns as re.compile, plain-string tests agree with the case-blind regexes they
stand in front of, Python walks find what the XPaths found, and one decode serves both the
encoding sniffer and the parser."""

from __future__ import annotations

import marshal
import os
import re
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from newsarchive.extract import patterns
from newsarchive.extract.body import BODY_CLASS, _caption_hint, _may_name_body
from newsarchive.extract.chrome import (
    _HIDDEN_STYLE,
    CHROME_ROLES,
    CHROME_TAGS,
    OUTER_CHROME_TAGS,
    attr_kind,
    element_markup,
)
from newsarchive.extract.dates import (
    _MONTH_ALT,
    CAPTION_MARK,
    MODIFIED_LABEL,
    MONTH_DAY_YEAR,
    _caption_marked,
    _find_date,
    _modified_label,
)
from newsarchive.extract.decoding import choose_encoding, decode_page
from newsarchive.extract.document import (
    _classed_index,
    clear_script_text,
    jsonld_scripts,
    parse_document,
    text_content,
)
from newsarchive.extract.fields import (
    SECTION_LABEL_CLASS,
    _holds_site_topics,
    _in_site_topics,
    _names_section_label,
)

REPO = Path(__file__).resolve().parents[2]

# Letters a case-blind regex matches although lower() does not make them the ASCII letter, or
# that lower() turns into more than one character: the reason the plain-string tests only take
# ASCII text and hand the rest to the regex.
TRICKY = "\u212a\u0131\u0130\u017f\u00df\u1e9e\u03c2"
# Text made of the words the tests look for, their capitals and the tricky letters.
texts = st.lists(
    st.sampled_from(
        list("captionkeraguFOTdmbhsyl -_:0123456789")
        + list(TRICKY)
        + ["Caption", "KETERANGAN", "ket-foto", "KetFoto", "Diperbarui", "diperbaharui"]
        + ["Pembaruan", "UPDATED", "diubah", "Last Modified", "kanal", "Rubrik", "rubric"]
        + ["KATEGORI", "category", "subkat", "Section-Label", "channel", "\u0663", "\uff13"]
    ),
    max_size=12,
).map("".join)


# --- stored pattern code ---------------------------------------------------------------------


SAMPLE_PATTERNS = [
    (r"(?P<day>\d{1,2})\s+(?P<month>[^\W\d_]+)", 0),
    (r"caption|keterangan", re.I),
    (r"^\s*(?:by|oleh)\s*[:\uff1a]", re.I | re.S),
    (r"(?<![a-z])(?:kemarin|yesterday)(?![a-z])", 0),
    (r"[\x00-\x08\x0b\x0c\x0e-\x1f]", 0),
]


def test_compiled_patterns_equal_re_compile():
    for pattern, flags in SAMPLE_PATTERNS:
        built = patterns.compile(pattern, flags)
        expected = re.compile(pattern, flags)
        assert built == expected
        assert built.groupindex == expected.groupindex
        assert built.groups == expected.groups


def _import_extract(prefix: Path, **env: str) -> bool:
    """Import the extract package in a fresh interpreter with this bytecode cache; whether its
    patterns equal re.compile's."""
    script = (
        "import re\n"
        "from newsarchive.extract import chrome, dates\n"
        "print(all(p == re.compile(p.pattern, p.flags) for p in"
        " (dates.MONTH_DAY_YEAR, dates.ISO_DATE, chrome.AD_LINE, chrome.DESK_CODE)))\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environment.update(PYTHONPYCACHEPREFIX=str(prefix), **env)
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip() == "True"


def _store_file(prefix: Path) -> Path:
    found = list(prefix.rglob("patterns.*.sre-code"))
    assert len(found) == 1, found
    return found[0]


def test_pattern_code_is_stored_beside_the_bytecode_and_read_back(tmp_path):
    assert _import_extract(tmp_path)
    store = _store_file(tmp_path)
    stamp, entries = marshal.loads(store.read_bytes())
    assert stamp == patterns._STAMP and len(entries) > 100
    # A process that finds every pattern stored compiles none, so writes nothing.
    written = store.stat().st_mtime_ns
    assert _import_extract(tmp_path)
    assert store.stat().st_mtime_ns == written


def test_a_damaged_or_foreign_store_falls_back_to_compiling(tmp_path):
    assert _import_extract(tmp_path)
    store = _store_file(tmp_path)
    good = store.read_bytes()
    stamp, entries = marshal.loads(good)
    broken = {key: (*args[:2], [0xDEAD] * 3, *args[3:]) for key, args in entries.items()}
    for damaged in (
        marshal.dumps((stamp, broken)),  # code the engine refuses
        marshal.dumps((("another python", 0, 4), entries)),  # another interpreter's store
        b"not marshal data",
    ):
        store.write_bytes(damaged)
        assert _import_extract(tmp_path)
        assert store.read_bytes() == good  # compiled afresh, and stored again


def test_nothing_is_written_when_python_writes_no_bytecode(tmp_path):
    assert _import_extract(tmp_path, PYTHONDONTWRITEBYTECODE="1")
    assert not list(tmp_path.rglob("patterns.*.sre-code"))


# --- plain-string tests in front of regexes ---------------------------------------------------


@given(texts)
def test_plain_string_tests_agree_with_their_regexes(text):
    assert patterns.has_digit(text) == (patterns.DIGIT.search(text) is not None)
    assert _caption_hint(text) == (re.search(r"capt|keterangan|ket-?foto", text, re.I) is not None)
    assert _caption_marked(text) == (CAPTION_MARK.search(text) is not None)
    assert _names_section_label(text) == (SECTION_LABEL_CLASS.search(text) is not None)
    found, expected = _modified_label(text), MODIFIED_LABEL.search(text)
    assert (found and found.span()) == (expected and expected.span())


# Class tokens built from the words BODY_CLASS is made of, and others.
class_tokens = st.lists(
    st.sampled_from(
        [
            "article",
            "story",
            "post",
            "entry",
            "news",
            "detail",
            "read",
            "blog",
            "single",
            "main",
            "page",
            "text",
            "berita",
            "isi",
            "artikel",
            "konten",
            "content",
            "itp",
            "body",
            "copy",
            "bodycontent",
            "inner",
            "wrapper",
            "wrap",
            "container",
            "area",
            "td",
            "the",
            "txt",
            "x",
            "0",
            "12",
            "-",
            "_",
            "--",
        ]
    ),
    min_size=1,
    max_size=5,
).map("".join)


@given(class_tokens)
def test_body_class_words_are_in_every_body_class_match(token):
    if BODY_CLASS.fullmatch(token):
        assert _may_name_body(token)


def test_plain_string_tests_on_the_letters_case_folding_treats_apart():
    # The Kelvin sign matches k and the dotless ı matches i under re.I: the regexes decide.
    assert _caption_hint("photo-\u212aeterangan")
    assert _caption_marked("\u212aeterangan") and _caption_marked("capt\u0131on")
    assert _names_section_label("\u212aanal") and _names_section_label("rubr\u0131k")
    assert _modified_label("d\u0131ubah 3 Juli") is not None
    assert patterns.has_digit("\u0663") and patterns.has_digit("tanggal \uff13")
    assert not patterns.has_digit("Juli")


def test_month_names_are_found_as_without_the_first_letter_lookahead():
    without = re.compile(
        rf"(?<![^\W\d_])({_MONTH_ALT})(?![^\W\d_])"
        r"\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)"
    )
    for text in (
        "updated june 19 2015 at noon",
        "maret 30, 2015",
        "σεπτεμβρίου 4 2021",
        "мая 9 2020",
        "marketing 12 2020",
        "xjuly 4 2020",
        "published: december 1st, 2019",
    ):
        found, expected = MONTH_DAY_YEAR.search(text), without.search(text)
        assert (found and found.groups()) == (expected and expected.groups()), text


def test_a_text_without_a_four_digit_year_has_no_calendar_date():
    assert _find_date("19:17 wib, 2 jam yang lalu") is None
    assert _find_date("2 juli 23") is None
    assert _find_date("2 juli 2023")[0].year == 2023


# --- trees and attributes ---------------------------------------------------------------------

PAGE = """<html><head><title>T</title>
<script type="application/ld+json">{"@type": "NewsArticle", "headline": "H"}</script>
<script>var tracking = 1;</script></head><body>
<!-- a comment -->
<header class="site-header"><nav id="main-nav"><a href="/">Home</a></nav></header>
<div id="box" class="x" itemtype="https://schema.org/Thing">
<div class="tags"><a href="/tag/a">A</a></div>
<div class="Trending now"><ul class="tags"><li><a href="/tag/b">B</a></li></ul></div>
<aside><div class="tags"><a href="/tag/c">C</a></div></aside>
<div class="post-tags" id="page-footer-tags"><a href="/tag/d">D</a></div>
<span hidden="" class="tag-x">hidden</span><span role="navigation">role</span>
<span style="display: none" class="tag-y">styled</span><span class="">empty class</span>
<span id="only-id">id</span><span itemprop="comment">c</span></div>
</body></html>"""

OLD_SITE_TOPICS = (
    "ancestor-or-self::*[self::header or self::nav or self::footer"
    " or contains(@class, 'trend') or contains(@class, 'popul') or contains(@class, 'pilihan')"
    " or contains(@class, 'hot') or contains(@class, 'choice') or contains(@class, 'menu')"
    " or contains(@class, 'header')"
    " or contains(@class, 'footer') or contains(@id, 'header') or contains(@id, 'footer')]"
)
OLD_IN_SITE_TOPICS = etree.XPath(OLD_SITE_TOPICS)
OLD_HOLDS_SITE_TOPICS = etree.XPath(OLD_SITE_TOPICS.replace("ancestor-or-self::", "descendant::"))


def test_site_topic_walks_match_the_old_xpaths():
    doc = parse_document(PAGE)
    elements = list(doc.tree.iter(etree.Element))
    assert [_in_site_topics(el) for el in elements] == [
        bool(OLD_IN_SITE_TOPICS(el)) for el in elements
    ]
    assert [_holds_site_topics(el) for el in elements] == [
        bool(OLD_HOLDS_SITE_TOPICS(el)) for el in elements
    ]
    assert any(_in_site_topics(el) for el in elements)
    assert not all(_in_site_topics(el) for el in elements)


def _old_element_markup(el, in_body):
    """element_markup as it was: every attribute looked up, present or not."""
    tag_kind = (CHROME_TAGS if in_body else OUTER_CHROME_TAGS).get(el.tag)
    get = el.get
    cls, ident, itemprop = get("class"), get("id"), get("itemprop")
    names = (cls, ident, itemprop)
    if tag_kind:
        return tag_kind, names
    role = get("role")
    if role and CHROME_ROLES.get(role.strip().lower()):
        return CHROME_ROLES[role.strip().lower()], names
    if itemprop and itemprop.strip().lower() in ("comment", "comments"):
        return "comments", names
    for value in (cls, ident):
        if value and attr_kind(value):
            return attr_kind(value), names
    if get("hidden") is not None:
        return "hidden", names
    style = get("style")
    if style and _HIDDEN_STYLE.search(style):
        return "hidden", names
    return None, names


def test_element_markup_reads_only_the_attributes_there_and_answers_as_before():
    doc = parse_document(PAGE)
    for el in doc.tree.iter(etree.Element):
        for in_body in (True, False):
            assert element_markup(el, in_body=in_body) == _old_element_markup(el, in_body)
    kinds = {el.text: element_markup(el)[0] for el in doc.tree.iter("span")}
    assert kinds["hidden"] == "hidden" and kinds["styled"] == "hidden"
    assert kinds["role"] == "nav" and kinds["c"] == "comments" and kinds["empty class"] is None


def test_class_index_marks_are_class_id_itemtype():
    doc = parse_document(PAGE)
    elements, text, starts = _classed_index(doc)
    marks = [
        f"{el.get('class') or ''} {el.get('id') or ''} {el.get('itemtype') or ''}".lower()
        for el in elements
    ]
    assert text == "\x00".join(marks)
    assert [text[s : s + len(m)] for m, s in zip(marks, starts, strict=True)] == marks
    assert "x box https://schema.org/thing" in marks and "  " in marks  # class=""


def test_tree_is_lxml_etree_and_text_content_as_lxml_html_had_it():
    doc = parse_document(PAGE)
    assert type(doc.tree) is etree._Element
    div = doc.tree.find(".//div")
    assert text_content(div) == lxml.html.fromstring(etree.tostring(div)).text_content()
    # A comment is no XPath context: text_content() refused it with lxml.html's classes too.
    comment = next(node for node in doc.tree.iter() if node.tag is etree.Comment)
    with pytest.raises(ValueError, match="not an XML element"):
        text_content(comment)


def test_script_text_cleared_except_json_ld():
    doc = parse_document(PAGE)
    assert [el.get("type") for el in jsonld_scripts(doc)] == ["application/ld+json"]
    assert doc.jsonld[0]["headline"] == "H"
    clear_script_text(doc)
    scripts = list(doc.tree.iter("script"))
    assert [bool(el.text) for el in scripts] == [True, False]


def test_sniffed_utf8_page_decoded_once_to_the_same_text():
    page = "<html><body><p>Kata “kutip” — café</p></body></html>".encode()
    assert choose_encoding(page) == ("utf-8", "sniffed")
    text, utf8 = decode_page(page)
    assert text == page.decode("utf-8") and utf8 is page
    cp1252 = "<html><body><p>caf\u00e9 \u201cq\u201d</p></body></html>".encode("cp1252")
    assert choose_encoding(cp1252) == ("windows-1252", "sniffed")
    assert decode_page(cp1252) == (cp1252.decode("cp1252"), None)
