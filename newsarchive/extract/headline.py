"""The page's headline: its texts in the metadata and the element that displays it.

One finder for every field: the title is that element's text, and the date, byline and category
finders look around that element (a date line sits just below the headline, a breadcrumb just
above it). Computed once per page and kept in `doc.cache`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lxml import etree

from newsarchive.extract import patterns
from newsarchive.extract.body import find_containers
from newsarchive.extract.chrome import element_kind
from newsarchive.extract.document import (
    Document,
    classed_matching,
    clean_text,
    element_text,
    following_elements,
    host_of,
    listed,
    page_body,
    preceding_elements,
    text_content,
    with_itemprop,
)

# Separators sites put between a headline and their own name in <title> / og:title. Japanese and
# Chinese titles set a full-width bar (U+FF5C) without spaces: their script has none to put there.
TITLE_SEPARATORS = patterns.compile(r"\s+(?:[-|–—:»·]|::)\s+|\s*\uff5c\s*")
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

# A page with no <h1> and no element showing the metadata's headline (which may be only the site's
# name) still sets its headline apart: in the heading that opens the article's text, after at
# most a date line or a rubric. A sidebar's or footer's heading ("Berita Terkini", "Related
# posts") opens a link list, never the container of the article's paragraphs.
OPENING_HEADING_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
# What may stand before the opening heading, inside the article's container or just above it:
# date lines, bylines and rubric labels. Longer wordy text there (a headline styled in a <div>,
# a lead) means the heading comes after the article's opening: a standfirst or a subhead.
OPENING_MAX_CHARS_BEFORE = 150
OPENING_MAX_ELEMENTS_BEFORE = 8
# The article's first paragraph follows the heading within this many elements (inline ones count:
# the text between is what is limited).
OPENING_MAX_ELEMENTS_AFTER = 25
OPENING_MAX_LABEL_WORDS = 4
OPENING_MAX_DATE_LINE_WORDS = 10
# A paragraph of prose this long, just before a heading, makes the heading a subhead.
PROSE_MIN_CHARS = 80
# Classes and ids of headings that are not the headline but stand next to it.
NOT_HEADLINE_MARK = patterns.compile(
    r"(?<![a-z])(?:sub-?title|sub-?head|subheadline|dek|standfirst|lead|teaser|kicker|excerpt|"
    r"summary)"
)
# A heading this long is a standfirst written as sentences, not a headline.
OPENING_MAX_HEADLINE_CHARS = 150
# Widget labels are a word or two ("Berita Terkini", "Advertisement"); headlines are longer.
# Text in a script written without spaces (Chinese, Japanese) is measured in characters instead.
OPENING_MIN_WORDS = 3
OPENING_MIN_UNSPACED_CHARS = 8
NON_TEXT_TAGS = frozenset({"script", "style", "noscript", "template"})


def unescaped(text: str) -> str:
    """`text` with its HTML character references resolved ('Glasgow&#8217;s' -> 'Glasgow’s').

    JSON-LD is script text, which the HTML parser leaves as written, and CMSs escape the strings
    they put there (WordPress writes '&#8211;' for a dash); meta content escaped twice keeps one
    level after parsing. A reader of the page sees the characters.
    """
    if "&" not in text:
        return text
    # Imported on first use: loading html.entities' tables costs more than a page's unescaping,
    # and most pages escape none of these texts.
    from html import unescape

    return unescape(text)


def jsonld_str(value: Any) -> str | None:
    """A JSON-LD value as text: the first of a list, the name of an object."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    return clean_text(unescaped(value)) if isinstance(value, str) and value.strip() else None


def norm_text(text: str) -> str:
    """Lowercase, punctuation dropped, whitespace collapsed: compares headlines that meta tags
    re-punctuate (':' and '?' dropped, curly quotes straightened)."""
    low = text.lower()
    if low.isascii():
        return " ".join(low.translate(_ASCII_PUNCT_TO_SPACE).split())
    return " ".join(_PUNCT.sub(" ", low).split())


def find_site_name(doc: Document) -> str | None:
    name = doc.meta_first("og:site_name")
    if name:
        return name
    # application-name names the site on most pages, but some portals (MSN) set it to each
    # article's headline: not a site name when it is the headline the metadata gives.
    name = doc.meta_first("application-name")
    if name and not _is_metadata_headline(doc, name):
        return name
    publisher = (doc.jsonld_article() or {}).get("publisher")
    return jsonld_str(publisher) if isinstance(publisher, dict | list | str) else None


def _is_metadata_headline(doc: Document, text: str) -> bool:
    """`text` is the headline as the page's metadata gives it, whole or without the ' - Site'
    decorations of its title."""
    norm = norm_text(text)
    return any(
        norm in (norm_text(reference), norm_text(strip_site_suffix(reference)))
        for reference, _ in title_references(doc)
    )


# Meta tags that name the site or its owner, never one article. (Not application-name: MSN sets
# it to each article's headline.)
SITE_NAMING_META = ("og:site_name", "publisher", "author", "copyright")


def names_only_site(doc: Document, text: str) -> bool:
    """The metadata's title is the site's own name, the same on every page: it equals what the
    page's metadata gives as the site's or its owner's name, or its host ('Kompas.com')."""
    title = norm_text(text)
    if not title:
        return False
    publisher = (doc.jsonld_article() or {}).get("publisher")
    names = [doc.meta_first(name) for name in SITE_NAMING_META]
    if isinstance(publisher, dict | list | str):
        names.append(jsonld_str(publisher))
    if any(name and norm_text(name) == title for name in names):
        return True
    host = host_of(doc.url)
    return bool(host) and title.replace(" ", "") == host.replace(".", "")


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
    return [(unescaped(text), source) for text, source in references if text]


class _Candidates:
    """[element, text, normalised text or None until _displaying needs it] of every element that
    may display the headline: the h1s and h2s, the itemprop="headline" elements, then those
    whose class or id names a title, each once, in that order.

    Read only as far as asked, and kept: the first reference mostly finds its headline in the
    page's h1, and the title-classed elements (a listing holds dozens) are then never looked up
    nor their text read.
    """

    def __init__(self, doc: Document) -> None:
        self.read: list[list[Any]] = []
        self._unread = self._candidates(doc)

    def __iter__(self) -> Iterator[list[Any]]:
        yield from self.read
        for candidate in self._unread:
            self.read.append(candidate)
            yield candidate

    @staticmethod
    def _candidates(doc: Document) -> Iterator[list[Any]]:
        seen: set[Any] = set()
        groups: tuple[Callable[[], list[Any]], ...] = (
            lambda: [el for tag in DISPLAY_TAGS for el in listed(doc, tag)],
            lambda: with_itemprop(doc, "headline"),
            lambda: classed_matching(doc, HEADLINE_MARK),
        )
        for group in groups:
            for el in group():
                if el in seen:
                    continue
                seen.add(el)
                if el.tag in NOT_HEADLINE_TAGS:
                    continue
                text = element_text(el)
                if text and len(text) <= MAX_HEADLINE_LENGTH:
                    yield [el, text, None]


def _displaying(candidates: Iterable[list[Any]], reference: str) -> Any | None:
    """The element displaying the headline that meta tags give as `reference`."""
    ref = norm_text(reference)
    if len(ref) < 8:
        return None
    prefixed = None
    for candidate in candidates:
        el, text, norm = candidate
        if len(text) > len(reference) + MAX_RUBRIC_PREFIX + 10:
            continue
        if len(text) < len(ref) and "\u0130" not in text:
            # Normalising never lengthens a text (but for a dotted capital I, which lowers to
            # two characters): it can be neither `ref` nor end with it. Most teasers' headlines
            # are shorter than the article's, and are never normalised.
            continue
        if norm is None:
            norm = candidate[2] = norm_text(text)
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
        candidates = _Candidates(doc)
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
    h1-h3 (then any short element) whose text overlaps it; else the first h1; else the heading
    that opens the article's text (opening_heading); else None."""
    if "headline" not in doc.cache:
        shown = displayed_headline(doc)
        if shown is None:
            shown = _loose_headline(doc)
        if shown is None:
            shown = _opening_heading(doc)
            doc.cache["opening_heading"] = shown
        doc.cache["headline"] = shown
    return doc.cache["headline"]


def opening_heading(doc: Document) -> Any | None:
    """The headline when only its place told it (find_headline's last resort), else None: the
    title then comes from it only when the metadata names nothing but the site, and the body
    leaves it out as it leaves out an <h1>."""
    find_headline(doc)
    return doc.cache.get("opening_heading")


def _opening_heading(doc: Document) -> Any | None:
    """The h2-h6 that opens the article's container (the body finder's), or that stands just
    above it, with at most a date line or rubric before it."""
    containers, _source = find_containers(doc.tree)
    if not containers or containers[0].tag in ("body", "html"):
        # The whole page as the container: its first heading is the site's banner.
        return None
    container = containers[0]
    heading = _heading_inside(container)
    if heading is not None and any(other is not heading for other in container.iter(heading.tag)):
        # Its level recurs in the article: the article's first subhead.
        return None
    if heading is None:
        heading = _heading_above(container)
    if (
        heading is None
        or not _reads_as_headline(heading, container)
        or any(_is_prose(el) for el in preceding_elements(heading, OPENING_MAX_ELEMENTS_BEFORE))
        or not _leads_to_prose(heading)
    ):
        # After prose it is a subhead; not followed by prose, it heads a list or a box.
        return None
    return heading


def _is_prose(el: Any) -> bool:
    """A paragraph of the article's prose: a <p> (or text set straight in its element) long enough
    and mostly not links."""
    if el.tag == "p":
        text = clean_text(text_content(el))
        if len(text) < PROSE_MIN_CHARS:
            return False
        links = sum(len(clean_text(text_content(a))) for a in el.iter("a"))
        return links * 2 < len(text)
    return el.tag not in NON_TEXT_TAGS and len(clean_text(el.text)) >= PROSE_MIN_CHARS


def _leads_to_prose(heading: Any) -> bool:
    """The article's first paragraph follows the heading, after at most a date line or byline."""
    between = _OpeningText()
    if len(clean_text(heading.tail)) >= PROSE_MIN_CHARS:
        return True
    if not between.admits(heading.tail):
        return False
    for el in following_elements(heading, OPENING_MAX_ELEMENTS_AFTER):
        if _is_prose(el):
            return True
        if not between.admits_element(el):
            return False
    return False


class _OpeningText:
    """The text between the start of the article and its first paragraph, on either side of the
    opening heading: only labels, bylines and date lines may stand there."""

    def __init__(self) -> None:
        self.chars = 0

    def admits(self, text: str | None) -> bool:
        """Count `text`; False once it is more than a label or a date line, or too much."""
        text = text.strip() if text else ""
        if not text:
            return True
        self.chars += len(text)
        if self.chars > OPENING_MAX_CHARS_BEFORE:
            return False
        words = len(text.split())
        return words <= OPENING_MAX_LABEL_WORDS or (
            words <= OPENING_MAX_DATE_LINE_WORDS and any(c.isdigit() for c in text)
        )

    def admits_element(self, el: Any) -> bool:
        """`admits` of an element's own text (unless it holds none to read) and of its tail."""
        return (el.tag in NON_TEXT_TAGS or self.admits(el.text)) and self.admits(el.tail)


def _heading_inside(container: Any) -> Any | None:
    """The first heading in the container, when only labels and date lines come before it."""
    before = _OpeningText()
    for event, el in etree.iterwalk(container, events=("start", "end")):
        tag = el.tag
        if event == "start":
            if tag in OPENING_HEADING_TAGS:
                return el
            text = el.text if isinstance(tag, str) and tag not in NON_TEXT_TAGS else None
        else:
            text = el.tail if el is not container else None
        if not before.admits(text):
            return None
    return None


def _heading_above(container: Any) -> Any | None:
    """The nearest heading before the container, when only labels and date lines stand between
    them."""
    before = _OpeningText()
    for el in reversed(preceding_elements(container, OPENING_MAX_ELEMENTS_BEFORE)):
        if el.tag in OPENING_HEADING_TAGS:
            return el
        if not before.admits_element(el):
            return None
    return None


def _reads_as_headline(heading: Any, container: Any) -> bool:
    """Long enough for a headline, not a link to another page (a listing's teaser), and not
    inside a sidebar, menu or form of its own."""
    text = element_text(heading)
    if not text or len(text) > OPENING_MAX_HEADLINE_CHARS:
        return False
    if len(text.split()) < OPENING_MIN_WORDS and not (
        " " not in text and len(text) >= OPENING_MIN_UNSPACED_CHARS and _unspaced_script(text)
    ):
        return False
    links = sum(len(clean_text(text_content(a))) for a in heading.iter("a"))
    if next(heading.iterancestors("a"), None) is not None or links * 2 > len(text):
        return False
    names = f"{heading.get('class') or ''} {heading.get('id') or ''}".lower()
    if NOT_HEADLINE_MARK.search(names):
        return False
    # Up to where it meets the container's own line of ancestors: chrome above that holds the
    # article too, and the body finder has judged it.
    shared = {container, *container.iterancestors()}
    node = heading
    while node is not None and node not in shared:
        if element_kind(node, in_body=False) is not None:
            return False
        node = node.getparent()
    return True


def _unspaced_script(text: str) -> bool:
    """Written in a script that puts no spaces between words (CJK: U+2E80 onwards)."""
    return any(ch >= "\u2e80" for ch in text)


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
            value = clean_text(unescaped(value)).lower()
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
        body = page_body(doc)
        for el in body.iter(*LOOSE_TAGS) if body is not None else ():
            own = el.text
            if own and low <= len(own) <= high and _matches_title(clean_text(own).lower(), keys):
                return el
    return first_h1
