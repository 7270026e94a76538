"""A page read as UTF-8 is parsed straight from its bytes when libxml2 vouches for them
(document._tree_of_valid_utf8), instead of being decoded first to test them: the tree must be the
one the decoding way makes (document._tree_of_text), and every page that is not plain valid UTF-8
(bad bytes anywhere, an error log libxml2 cut short, a declaration of another encoding, control
bytes, a depth-limited parse, leading non-ASCII blanks, an XML declaration) must go the decoding
way."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from newsarchive.errors import NotHtmlError
from newsarchive.extract.decoding import utf8_when_valid
from newsarchive.extract.document import (
    LIBXML_ERRORS_REPORTED,
    _tree_of_text,
    _tree_of_valid_utf8,
    parse_document,
)

# Every place of a page where bytes can stand: text, attribute names and values, tag names,
# comments, script, style, title, textarea, end tags, a processing instruction, CDATA, the
# doctype and after the end. `@` marks the places.
_TEMPLATE = (
    "<!DOCTYPE html@><html lang='id'><head><meta charset='utf-8'><title>Judul @</title>"
    "<script>var s = '@';</script><style>p{content:'@'}</style></head><body class='@'>"
    "<!-- @ --><div id='a' data-@='1' title='@'><p>Teks @ akhir</p><x-@>t</x-@>"
    "<textarea>@</textarea><a href='/@'>tautan</a></div></@><?pi @?><![CDATA[@]]></body></html>@"
)
_SLOTS = _TEMPLATE.count("@")
# Bytes that make and break UTF-8: every byte above ASCII alone (stray continuation bytes, lead
# bytes without their tail, bytes no UTF-8 has), whole sequences, and ASCII between them.
_PIECES = [bytes([b]) for b in range(0x80, 0x100)] + [
    b"\xc3\xa9",  # é
    b"\xe2\x80\x99",  # a curly quote
    b"\xf0\x9f\x98\x80",  # an emoji
    b"\xed\xa0\x80",  # a surrogate: not UTF-8
    b"\xc0\xaf",  # an overlong slash: not UTF-8
    b"\xf4\x90\x80\x80",  # past U+10FFFF: not UTF-8
    b"a",
    b" ",
]


def _page(fillers: list[bytes]) -> bytes:
    parts = _TEMPLATE.encode().split(b"@")
    return b"".join(part + filler for part, filler in zip(parts, [*fillers, b""], strict=True))


def _same_tree(a: object, b: object) -> bool:
    return etree.tostring(a, encoding="utf-8") == etree.tostring(b, encoding="utf-8")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(_PIECES), max_size=3).map(b"".join),
        min_size=_SLOTS,
        max_size=_SLOTS,
    )
)
def test_bytes_anywhere_in_a_page_give_the_tree_of_the_decoding_way(fillers):
    page = _page(fillers)
    tree = _tree_of_valid_utf8(page, None)
    if not _is_utf8(page):
        assert tree is None
    else:
        assert tree is not None
        assert _same_tree(tree, _tree_of_text(page, None))


def test_every_lone_byte_that_is_no_utf8_goes_the_decoding_way():
    for byte in range(0x80, 0x100):
        for fillers in (
            [bytes([byte])] + [b""] * (_SLOTS - 1),
            [b""] * (_SLOTS - 1) + [bytes([byte])],
        ):
            assert _tree_of_valid_utf8(_page(fillers), None) is None, hex(byte)


def test_valid_utf8_pages_are_parsed_from_their_bytes_as_the_decoding_way_parses_them():
    page = _page(["é’😀 ".encode()] * _SLOTS)
    for content_type in (None, "text/html; charset=UTF-8", "text/html; charset=ISO-8859-1"):
        # (the last: a server's default label on a page that says UTF-8 itself)
        tree = _tree_of_valid_utf8(page, content_type)
        assert tree is not None
        assert _same_tree(tree, _tree_of_text(page, content_type))
        assert "Teks é’😀  akhir" in etree.tostring(tree, encoding=str)


def test_bad_bytes_after_libxml2_stops_reporting_errors_go_the_decoding_way():
    # libxml2 reports a parse's first 100 errors only: the stray end tags fill the log and the
    # byte that is not UTF-8 (windows-1252's é, as the page is sniffed to be) goes unreported.
    page = b"<html><body><div>" + b"</span>" * LIBXML_ERRORS_REPORTED + b"<p>caf\xe9</p></div>"
    parser = etree.HTMLParser(encoding="utf-8")
    etree.fromstring(page, parser)
    assert etree.ErrorTypes.ERR_INVALID_ENCODING not in {e.type for e in parser.error_log}
    assert _tree_of_valid_utf8(page, None) is None
    assert parse_document(page).tree.findtext(".//p") == "café"


def test_pages_whose_label_decides_go_the_decoding_way():
    utf8 = "<html><body><p>café</p></body></html>".encode()
    # ISO-2022-JP is ASCII bytes: valid UTF-8 that means other characters.
    jis = "<html><head><meta charset='iso-2022-jp'></head><body><p>日本語</p></body></html>"
    cases = [
        (b"\xef\xbb\xbf" + utf8, None, "café"),  # a byte-order mark, cut off by decode_page
        (jis.encode("iso-2022-jp"), None, "日本語"),
        (jis.encode("iso-2022-jp"), "text/html; charset=ISO-2022-JP", "日本語"),
        (utf8.decode().encode("utf-16-le"), "text/html; charset=utf-16le", None),
    ]
    for page, content_type, text in cases:
        assert not utf8_when_valid(page, content_type)
        assert _tree_of_valid_utf8(page, content_type) is None
        if text is not None:
            assert parse_document(page, content_type=content_type).tree.findtext(".//p") == text


@pytest.mark.parametrize(
    "content_type",
    [None, "text/html; charset=windows-1252", "text/html; charset=koi8-r", "text/html"],
)
def test_bytes_that_are_utf8_are_read_as_utf8_whatever_the_label(content_type: str | None):
    # A template's stale `<meta charset=iso-8859-1>` over UTF-8 text, or a server's label: the
    # page's own label was obeyed, and every accented word became mojibake ("Andrés" as
    # "AndrÃ©s"), as a browser shows it. Text that really is in the label's encoding keeps it.
    text = "Kafe “Kopi Tubruk” — café, kata Andrés"
    head = "<html><head><meta charset='iso-8859-1'></head><body><p>"
    page = head + text + "</p></body></html>"
    assert utf8_when_valid(page.encode(), content_type)
    assert parse_document(page.encode(), content_type=content_type).tree.findtext(".//p") == text
    label = "koi8-r" if content_type and "koi8" in content_type else "cp1252"
    if label == "koi8-r":
        page, text = page.replace(text, "Пресс-служба"), "Пресс-служба"
    found = parse_document(page.encode(label), content_type=content_type).tree.findtext(".//p")
    assert found == text


def test_control_bytes_blanks_and_xml_declarations_go_the_decoding_way():
    cases = [
        b"<html><body><p>a\x01b</p></body></html>",  # removed from the text (_CONTROL)
        b"\xc2\xa0<html><body><p>ab</p></body></html>",  # a blank str.lstrip strips
        b"  <?xml version='1.0'?><html><body><p>ab</p></body></html>",
        b" " * 2000 + b"<html><body><p>ab</p></body></html>",  # no character in the head
    ]
    for page in cases:
        assert _tree_of_valid_utf8(page, None) is None
        assert parse_document(page).tree.findtext(".//p") == "ab"
    with pytest.raises(NotHtmlError, match="empty"):
        parse_document(b"  \xc2\xa0\xe3\x80\x80 ")  # only blanks, two of them beyond ASCII


def test_a_page_past_libxml2s_depth_limit_goes_the_decoding_way():
    deep = b"<div>" * 2100 + b"x" + b"</div>" * 2100
    page = b"<html><body>" + deep + b"<p>Artikel sesudah menu yang dalam.</p></body></html>"
    assert _tree_of_valid_utf8(page, None) is None
    assert parse_document(page).tree.findtext(".//p") == "Artikel sesudah menu yang dalam."
