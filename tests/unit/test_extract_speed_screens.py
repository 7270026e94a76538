"""Screens in front of slow steps answer as the steps do: a text LABEL_BEFORE_LINK finds a label in
ends in a colon (body._ends_in_colon, asked before the regex), the date window's text of an
element with children is its text_content (dates read it with the children counted once), and a
wire desk code closes only a paragraph longer than MIN_DESK_CODED_TEXT (its length is now asked
before the regex)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from newsarchive.extract.body import LABEL_BEFORE_LINK, _ends_in_colon
from newsarchive.extract.bylines import MIN_DESK_CODED_TEXT, _from_signature
from newsarchive.extract.document import parent_text, parse_document, text_content

# The pieces the label regex reads: its labels in both cases, colons (the full-width one too),
# blanks \s matches beyond ASCII (no-break, ideographic, line separator, vertical tab), the
# punctuation its lookbehind allows, and words.
_PIECES = [
    "Baca juga",
    "BACA",
    "baca",
    "Lihat Juga",
    "related",
    "See also",
    "artikel terkait",
    ":",
    "\uff1a",
    " ",
    "\n",
    "\t",
    "\xa0",
    "\u3000",
    "\u2028",
    "\x0b",
    "\x1c",
    ".",
    "(",
    "[",
    ",",
    "kata",
    "x",
    "-",
]


@given(st.lists(st.sampled_from(_PIECES), max_size=10).map("".join))
def test_every_text_the_label_regex_finds_a_label_in_ends_in_a_colon(text):
    if LABEL_BEFORE_LINK.search(text) is not None:
        assert _ends_in_colon(text)


def test_the_colon_screen_lets_labels_through_and_stops_running_text():
    for text in ("Baca juga:", "kata (baca juga\uff1a\u3000\n", "Related :\xa0 "):
        assert LABEL_BEFORE_LINK.search(text) is not None and _ends_in_colon(text)
    for text in ("Baca juga: ini", "kata biasa ", "baca juga"):
        assert not _ends_in_colon(text)


def test_parent_text_is_the_string_value_of_an_element_with_children():
    # The string value is what lxml.html's text_content() gave: text_content's answer.
    root = etree.fromstring(
        "<div><p>Senin, <b>3 Maret</b> 2018<!-- c --> 10:15 <i>WIB</i></p> after"
        "<span>a<br/>b</span> tail <p>x<?pi y?>z</p>end</div>",
        etree.HTMLParser(),
    )
    string_value = etree.XPath("string()")
    parents = [el for el in root.iter(etree.Element) if len(el)]
    assert len(parents) >= 5
    for el in parents:
        assert parent_text(el) == text_content(el) == string_value(el)


def test_a_desk_code_closes_only_a_paragraph_longer_than_the_minimum():
    def agency_of(paragraph: str) -> list[tuple[str, str]]:
        page = f"<html><body><div><p>{paragraph}</p></div></body></html>"
        return [(c.name, c.role) for c in _from_signature(parse_document(page))]

    for code in ("(ant)", "(afp/xyz)", " ( ANT ) "):
        for size in (MIN_DESK_CODED_TEXT - 1, MIN_DESK_CODED_TEXT, MIN_DESK_CODED_TEXT + 1):
            paragraph = ("x" * size)[: size - len(code)] + code
            assert len(paragraph) == size
            expected = [] if size <= MIN_DESK_CODED_TEXT else [(_AGENCY[code], "agency")]
            assert agency_of(paragraph) == expected, (code, size)


_AGENCY = {"(ant)": "ANTARA", "(afp/xyz)": "AFP", " ( ANT ) ": "ANTARA"}
