"""Round five of the extraction shortcuts answers exactly as the code it replaced: class tokens get
the chrome kind the three regexes gave them in their old order, a factored alternation matches
the strings the plain one did, a leaf's .text is its text serialisation, the ASCII fast paths of
the text normalisers and the screened container tests agree with their regexes, and the class
index's kept element objects are the elements it indexed."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from newsarchive.extract import chrome, patterns
from newsarchive.extract.body import _text, prune
from newsarchive.extract.bylines import (
    FOREIGN_CONTAINER,
    PHOTO_CONTAINER,
    _foreign_container_search,
    _photo_container_search,
)
from newsarchive.extract.chrome import (
    _NEVER_CHROME_TOKEN,
    _SUFFIXES,
    _TOKEN_KIND_RE,
    CLASS_KEYWORDS,
    DIGITS,
    HIDDEN_TOKENS,
    MEDIA_TOKEN,
    attr_key,
    token_kind,
)
from newsarchive.extract.document import (
    _classed_index,
    clean_text,
    parse_document,
    text_content,
)
from newsarchive.extract.headline import _PUNCT, norm_text


def _spellings(alternative: str) -> list[str]:
    """Every string a keyword alternative matches: `c?` optional, `\\d` a digit (the only regex
    syntax the keyword and suffix lists use besides `|`, `\\d+` aside)."""
    if alternative == r"\d+":
        return ["7", "2019"]
    out = [""]
    i = 0
    while i < len(alternative):
        if alternative.startswith(r"\d", i):
            piece, i = ["3"], i + 2
        else:
            piece, i = [alternative[i]], i + 1
        if i < len(alternative) and alternative[i] == "?":
            piece, i = [*piece, ""], i + 1
        assert not set(piece[0]) & set("()[]*+{}.^$|\\"), alternative
        out = [s + p for s in out for p in piece]
    return out


KEYWORDS = [s for _kind, words in CLASS_KEYWORDS for a in words.split("|") for s in _spellings(a)]
SUFFIXES = [s for a in _SUFFIXES.split("|") for s in _spellings(a)]
# Pieces tokens are made of: every keyword and suffix spelling, the words that veto a kind, media
# words, hidden tokens, and parts that are none of these.
PIECES = sorted(
    {*KEYWORDS, *SUFFIXES, *HIDDEN_TOKENS}
    | {"has", "with", "no", "is", "post-type", "format", "article", "entry", "body", "content"}
    | {"pic", "photo", "gallery-item", "wp-caption", "lead-image", "x", "zz", "q1", "wsj"}
)
tokens = st.lists(
    st.one_of(st.sampled_from(PIECES), st.sampled_from(["-", "_", "--", "0", "42"])),
    min_size=1,
    max_size=5,
).map("".join)


def _token_kind_before(token: str) -> str | None:
    """token_kind as it was: the veto first, then the named groups, then media."""
    kind = "hidden" if token in HIDDEN_TOKENS else None
    if kind is None and len(token) < 60 and not _NEVER_CHROME_TOKEN.fullmatch(token):
        m = _TOKEN_KIND_RE.fullmatch(token)
        if m:
            kind = m.lastgroup
        if kind is None and MEDIA_TOKEN.fullmatch(token):
            kind = "media"
    return kind


@given(tokens)
def test_token_kinds_are_as_the_regexes_gave_them_in_their_old_order(token):
    chrome._token_cache.pop(token, None)
    assert token_kind(token) == _token_kind_before(token)


def test_every_keyword_spelling_alone_and_after_a_prefix_keeps_its_kind():
    # Each keyword the screen was built from: a screen missing one would call it kindless.
    for keyword in KEYWORDS:
        for token in (keyword, f"site-{keyword}", f"x_{keyword}-wrapper2", f"{keyword}{keyword}"):
            chrome._token_cache.pop(token, None)
            assert token_kind(token) == _token_kind_before(token), token
    assert token_kind("sidebar-widget") == "sidebar"
    assert token_kind("entry-content") is None  # vetoed: names the article itself
    assert token_kind("zzq") is None


ALTERNATIONS = [
    "|".join(words for _kind, words in CLASS_KEYWORDS),
    _SUFFIXES,
    r"ad|ads|adv|a|share|sharing|s?x|\d+|v\d|\.com|\x41|-x|wrap?per|b{2}c|",
]
probes = st.text(alphabet="abdcehilmoprstuvwx-_.0179A", max_size=12)


@pytest.mark.parametrize("alternation", ALTERNATIONS)
def test_a_factored_alternation_matches_the_same_strings(alternation):
    plain = re.compile(f"(?:{alternation})")
    grouped = re.compile(f"(?:{patterns.factored(alternation)})")
    words = [s for a in alternation.split("|") if "{" not in a for s in _spellings_or_raw(a)]
    for word in [*words, *(w + "s" for w in words), *(w[:-1] for w in words if w)]:
        assert bool(grouped.fullmatch(word)) == bool(plain.fullmatch(word)), word

    @given(probes)
    def same(text):
        assert bool(grouped.fullmatch(text)) == bool(plain.fullmatch(text))
        assert bool(grouped.search(text)) == bool(plain.search(text))

    same()


def _spellings_or_raw(alternative: str) -> list[str]:
    try:
        return _spellings(alternative)
    except AssertionError:
        return []


def test_factoring_groups_by_first_character_and_refuses_groups():
    assert patterns.factored("ad|ads|share|a") == "a(?:d|ds|)|s(?:hare)"
    # A quantified or multi-character escape head stays whole, so it is not split apart.
    assert patterns.factored(r"s?x|\x41|\d+|\dpx") == r"(?:s?x)|(?:\x41)|(?:\d+)|\d(?:px)"
    with pytest.raises(ValueError):
        patterns.factored("(?:a|b)c|d")
    with pytest.raises(ValueError):
        patterns.factored("[ab]c|d")
    with pytest.raises(ValueError):
        patterns.factored(r"a\|b|c")


# Texts with ASCII punctuation, controls, digits, blanks of every kind, and the letters case
# folding treats apart (Kelvin sign, dotted capital I, long s), zero-width space and BOM.
mixed_texts = st.lists(
    st.sampled_from(
        list("aZk9_ -:,.'\"?!()/#|\t\n\x0b\x1f\x07")
        + ["\u00a0", "\u212a", "\u0130", "\u017f", "\u200b", "\ufeff", "\u2019", "\u3000"]
        + ["comment", "Related", "FOTO", "image", "footer-", "site-footer", "pic"]
    ),
    max_size=20,
).map("".join)


@given(mixed_texts)
def test_text_normalisers_answer_as_their_regex_forms(text):
    assert norm_text(text) == " ".join(_PUNCT.sub(" ", text.lower()).split())
    assert clean_text(text) == " ".join(text.replace("\u200b", "").replace("\ufeff", "").split())
    chrome._attr_keys.pop(text, None)
    assert attr_key(text) == DIGITS.sub("0", text.lower())


@given(mixed_texts)
def test_screened_container_tests_answer_as_their_regexes(marks):
    assert bool(_foreign_container_search(marks)) == bool(FOREIGN_CONTAINER.search(marks))
    assert bool(_photo_container_search(marks)) == bool(PHOTO_CONTAINER.search(marks))


PAGE = """<html><body><div class="a">
<p>one <!-- c --> two</p><p>x<?php echo 1 ?>y</p><span>&nbsp;left&amp;right </span>
<p>lead <b>bold<!--c--></b> tail<script>var s = 1;</script> end</p><em></em><br>
<h2>  <!----></h2><td>a<style>.x{}</style>b</td><p>\u200bzero\ufeff</p>
</div></body></html>"""


@pytest.mark.parametrize("pruned", [False, True])
def test_a_leafs_text_is_its_text_serialisation(pruned):
    # After prune a removed comment leaves two text nodes side by side: .text joins them.
    doc = parse_document(PAGE)
    if pruned:
        prune(doc.tree)
    leaves = 0
    for el in doc.tree.iter(etree.Element):
        serialised = etree.tostring(el, method="text", encoding=str, with_tail=False)
        leaves += not len(el)
        assert text_content(el) == serialised
        assert _text(el) == serialised
    assert leaves >= 5
    if pruned:
        first = doc.tree.find(".//p")
        assert len(first.xpath("text()")) == 2 and _text(first) == "one  two"


def test_the_jsonld_article_is_found_once_and_is_the_first_article_object():
    page = (
        '<html><head><script type="application/ld+json">[{"@type": "WebPage", "name": "w"},'
        ' {"@type": "NewsArticle", "headline": "h"}]</script></head><body></body></html>'
    )
    doc = parse_document(page)
    first = doc.jsonld_article()
    assert first == {"@type": "NewsArticle", "headline": "h"}
    assert doc.jsonld_article() is first and doc.cache["jsonld_article"] is first


def test_the_class_index_keeps_the_elements_it_indexed():
    doc = parse_document(PAGE.replace("<p>", '<p class="k">'))
    elements, text, _starts = _classed_index(doc)
    assert doc.cache["elements"] == list(doc.tree.iter(etree.Element))
    assert elements == [el for el in doc.cache["elements"] if el.get("class") is not None]
    assert text.count("\x00") == len(elements) - 1
