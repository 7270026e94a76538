"""The page's headline: its texts in the metadata and the element that displays it.

One finder for every field: the title is that element's text, and the date, byline and category
finders look around that element (a date line sits just below the headline, a breadcrumb just
above it). Computed once per page and kept in `doc.cache`.
"""

from __future__ import annotations

from typing import Any

from newsarchive.extract import patterns
from newsarchive.extract.document import (
    Document,
    classed_matching,
    clean_text,
    element_text,
    listed,
    text_content,
    with_itemprop,
)

# Separators sites put between a headline and their own name in <title> / og:title.
TITLE_SEPARATORS = patterns.compile(r"\s+(?:[-|–—:»·]|::)\s+")
_PUNCT = patterns.compile(r"[^\w\s]+")
# The ASCII characters _PUNCT takes, each to a space: for ASCII text, str.translate does in one C
# pass what the regex does testing every character's class (a run becomes several spaces instead
# of one, which norm_text's split() makes the same).
_ASCII_PUNCT_TO_SPACE = {c: " " for c in range(128) if _PUNCT.fullmatch(chr(c))}

# Where a displayed headline can sit besides <h1>: sites put the channel name in <h1> and the
# headline in <h2> (kompas 2016), or the headline in a styled div (republika photo pages). In
# this order of preference.
DISPLAY_TAGS = ("h1", "h2")
HEADLINE_MARK = patterns.compile("title|headline|jdl")
NOT_HEADLINE_TAGS = frozenset({"meta", "title", "script", "style", "a", "body", "html"})
# A displayed headline may carry a rubric prefix ('In Picture: ', 'FOTO: ') that meta tags drop.
MAX_RUBRIC_PREFIX = 30
MAX_HEADLINE_LENGTH = 400
# Tags that hold headlines outside h1-h3 when no element displays the metadata's headline
# exactly (republika's div.jdl-pic, spans in table layouts): matched on their own text.
LOOSE_TAGS = ("div", "span", "p", "td", "strong", "b", "header", "section")


def jsonld_str(value: Any) -> str | None:
    """A JSON-LD value as text: the first of a list, the name of an object."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    return clean_text(value) if isinstance(value, str) and value.strip() else None


def norm_text(text: str) -> str:
    """Lowercase, punctuation dropped, whitespace collapsed: compares headlines that meta tags
    re-punctuate (':' and '?' dropped, curly quotes straightened)."""
    low = text.lower()
    if low.isascii():
        return " ".join(low.translate(_ASCII_PUNCT_TO_SPACE).split())
    return " ".join(_PUNCT.sub(" ", low).split())


def find_site_name(doc: Document) -> str | None:
    name = doc.meta_first("og:site_name", "application-name")
    if name:
        return name
    publisher = (doc.jsonld_article() or {}).get("publisher")
    return jsonld_str(publisher) if isinstance(publisher, dict | list | str) else None


def strip_site_suffix(title: str, site_name: str | None = None) -> str:
    """Drop ' - Site name' / 'Rubric | ' decorations that <title> and og:title add."""
    parts = TITLE_SEPARATORS.split(title)
    if len(parts) == 1:
        return title
    if site_name:
        site = site_name.lower()
        kept = [p for p in parts if p.lower() != site and site not in p.lower().replace(" ", "")]
        if kept and len(kept) < len(parts):
            parts = kept
    # The headline is the longest part; site names and rubrics are short.
    return max(parts, key=len) if len(parts) > 1 else parts[0]


def title_references(doc: Document) -> list[tuple[str, str]]:
    """The headline as the metadata gives it, best first: (text, source)."""
    article = doc.jsonld_article() or {}
    references = [
        (doc.meta_first("og:title"), "meta"),
        (jsonld_str(article.get("headline")), "json-ld"),
        (doc.meta_first("twitter:title"), "meta"),
    ]
    titles = listed(doc, "title")
    title_el = titles[0] if titles else None
    if title_el is not None and element_text(title_el):
        references.append((element_text(title_el), "title"))
    return [(text, source) for text, source in references if text]


def _candidates(doc: Document) -> list[tuple[Any, str, str]]:
    """(element, text, normalised text) of every element that may display the headline."""
    elements = [el for tag in DISPLAY_TAGS for el in listed(doc, tag)]
    elements += with_itemprop(doc, "headline")
    elements += classed_matching(doc, HEADLINE_MARK)
    found = []
    for el in dict.fromkeys(elements):
        if el.tag in NOT_HEADLINE_TAGS:
            continue
        text = element_text(el)
        if text and len(text) <= MAX_HEADLINE_LENGTH:
            found.append((el, text, norm_text(text)))
    return found


def _displaying(candidates: list[tuple[Any, str, str]], reference: str) -> Any | None:
    """The element displaying the headline that meta tags give as `reference`."""
    ref = norm_text(reference)
    if len(ref) < 8:
        return None
    prefixed = None
    for el, text, norm in candidates:
        if len(text) > len(reference) + MAX_RUBRIC_PREFIX + 10:
            continue
        if norm == ref:
            return el
        if (
            prefixed is None
            and norm.endswith(" " + ref)
            and len(norm) - len(ref) <= MAX_RUBRIC_PREFIX
        ):
            prefixed = el
    return prefixed


def displayed_headline(doc: Document) -> Any | None:
    """The element whose text is the metadata's headline (whole, or after a short rubric), or
    None: then the page's own title element is not known for sure."""
    if "displayed_headline" not in doc.cache:
        candidates = _candidates(doc)
        site = find_site_name(doc)
        shown = None
        for reference, _source in title_references(doc):
            for text in dict.fromkeys((reference, strip_site_suffix(reference, site))):
                shown = _displaying(candidates, text)
                if shown is not None:
                    break
            if shown is not None:
                break
        doc.cache["displayed_headline"] = shown
    return doc.cache["displayed_headline"]


def find_headline(doc: Document) -> Any | None:
    """The element showing the headline: the one displaying the metadata's headline; else an
    h1-h3 (then any short element) whose text overlaps it; else the first h1; else None."""
    if "headline" not in doc.cache:
        shown = displayed_headline(doc)
        doc.cache["headline"] = shown if shown is not None else _loose_headline(doc)
    return doc.cache["headline"]


def _title_keys(doc: Document) -> list[str]:
    """Lower-cased headline texts from the page's metadata, with and without site suffixes."""
    keys = []
    for value in (
        doc.meta_first("og:title"),
        doc.meta_first("twitter:title"),
        (doc.jsonld_article() or {}).get("headline"),
        _title_text(doc),
    ):
        if isinstance(value, str):
            value = clean_text(value).lower()
            if len(value) >= 10:
                keys.append(value)
                # "Headline | Site" -> "Headline": the longest part, when it is long enough to
                # be a headline on its own.
                longest = max(TITLE_SEPARATORS.split(value), key=len)
                if longest != value and len(longest) >= 20:
                    keys.append(longest)
    return keys


def _title_text(doc: Document) -> str | None:
    """doc.tree.findtext(".//title"): the <title>'s own text, None without a <title>."""
    titles = listed(doc, "title")
    return (titles[0].text or "") if titles else None


def _matches_title(text: str, keys: list[str]) -> bool:
    return len(text) >= 10 and any(text in key or key in text for key in keys)


def _loose_headline(doc: Document) -> Any | None:
    keys = _title_keys(doc)
    first_h1 = None
    for tag in ("h1", "h2", "h3"):
        for el in doc.tree.iter(tag):
            if tag == "h1" and first_h1 is None:
                first_h1 = el
            if keys and _matches_title(clean_text(text_content(el)).lower(), keys):
                return el
    if keys:
        lengths = [len(k) for k in keys]
        low, high = min(lengths) // 2, max(lengths) * 2
        body = doc.tree.find("body")
        for el in body.iter(*LOOSE_TAGS) if body is not None else ():
            own = el.text
            if own and low <= len(own) <= high and _matches_title(clean_text(own).lower(), keys):
                return el
    return first_h1
