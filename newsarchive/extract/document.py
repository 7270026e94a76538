"""Parse a page once: decoded text, lxml tree, meta tags and JSON-LD objects."""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate, islice
from typing import Any

from lxml import etree

from newsarchive.errors import NotHtmlError
from newsarchive.extract import patterns
from newsarchive.extract.decoding import check_html, decode_page, utf8_when_valid

# JSON-LD types that describe the article itself (schema.org Article and its subtypes).
ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "blogposting",
    "webpage",
    "liveblogposting",
    "backgroundnewsarticle",
    "reviewnewsarticle",
    "socialmediaposting",
}


@dataclass
class Document:
    url: str | None
    tree: Any  # lxml.etree._Element
    meta: dict[str, list[str]] = field(default_factory=dict)
    jsonld: list[dict[str, Any]] = field(default_factory=list)
    lang: str | None = None
    # Values computed once per page and shared by the field finders (the headline element).
    cache: dict[str, Any] = field(default_factory=dict)

    def meta_first(self, *names: str) -> str | None:
        """First non-empty value among meta names/properties, in the order given."""
        for name in names:
            for value in self.meta.get(name.lower(), ()):
                if value and value.strip():
                    return value.strip()
        return None

    def jsonld_article(self) -> dict[str, Any] | None:
        """The JSON-LD object that describes the article (NewsArticle before WebPage); found
        once (the finders ask a dozen times a page, and a listing's JSON-LD holds hundreds of
        objects)."""
        if "jsonld_article" not in self.cache:
            self.cache["jsonld_article"] = self._jsonld_article()
        return self.cache["jsonld_article"]

    def _jsonld_article(self) -> dict[str, Any] | None:
        best = None
        for obj in self.jsonld:
            types = obj.get("@type")
            types = types if isinstance(types, list) else [types]
            names = {str(t).lower() for t in types if t}
            if names & (ARTICLE_TYPES - {"webpage"}):
                return obj
            if "webpage" in names and best is None:
                best = obj
        return best


# lxml's own C element classes, not lxml.html's: the finders use none of HtmlElement's methods,
# and HtmlElement, a Python subclass, makes every element object the page walks cost more to make
# and to free (a tenth of a walk over the page). Fixed, and in C: lxml.html's parser picks each
# element's class through a Python callback. (`Document.tree` is an lxml.etree._Element.)
# huge_tree: without it libxml2 stops parsing at 256 levels of nesting and silently drops the
# rest of the page (mega menus nest that deep before the article); with it the limit is 2048.
_HTML_CLASSES = etree.ElementDefaultClassLookup()
# collect_ids=False: libxml2 would otherwise file every id attribute in a hash table for XPath's
# id() function, which nothing here calls (a few percent of the parse).
_PARSER = etree.HTMLParser(huge_tree=True, collect_ids=False)
_PARSER.set_element_class_lookup(_HTML_CLASSES)
# The same parser for a page handed over as its UTF-8 bytes (decode_page): the same tree as
# from its text, without libxml2 converting the text back to UTF-8.
_UTF8_PARSER = etree.HTMLParser(huge_tree=True, collect_ids=False, encoding="utf-8")
_UTF8_PARSER.set_element_class_lookup(_HTML_CLASSES)

_CONTROL = patterns.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# The same characters, each looked for with a C-level `in` (a memchr-like scan) before the regex
# runs: almost no page has any, and the regex scan of a whole page costs half a parse.
_CONTROL_CHARS = tuple(chr(c) for c in range(32) if c not in (9, 10, 13))
_CONTROL_BYTES = tuple(bytes([c]) for c in range(32) if c not in (9, 10, 13))

# Nesting kept when a page is deeper than libxml2 parses: Chromium's parser stops nesting at 512
# levels too (HTMLConstructionSite's maximum DOM depth), so a page is read as a browser shows it.
MAX_DEPTH = 512
_TOKEN = patterns.compile(r"<!--.*?(?:-->|\Z)|<(/?)([a-zA-Z][a-zA-Z0-9:-]*)\b[^>]*>", re.S)
_RAW_TEXT_TAGS = frozenset({"script", "style", "textarea", "title", "xmp", "iframe", "noembed"})
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta"}
    | {"param", "source", "track", "wbr"}
)
# Elements an open sibling of the same name closes (`<li>a<li>b`), as libxml2 does.
_SELF_CLOSING_SIBLINGS = frozenset({"p", "li", "dt", "dd", "option", "tr", "td", "th"})
# A block boundary cut away beyond MAX_DEPTH leaves a line break, so paragraphs stay apart.
_BLOCK_BOUNDARY = frozenset(
    {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "section"}
    | {"article"}
)


def flatten_deep_nesting(text: str, max_depth: int = MAX_DEPTH) -> str:
    """The markup with tags nested deeper than `max_depth` removed (their text kept).

    An approximate tokenizer (comments, raw-text elements, void elements and implied closes are
    handled; the tree builder's finer rules are not): it only runs on a page libxml2 gave up on,
    and only needs to bring the depth well under libxml2's limit of 2048.
    """
    out: list[str] = []
    stack: list[tuple[str, bool]] = []  # (tag, kept in the output)
    kept = 0
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.search(text, pos)
        if m is None:
            out.append(text[pos:])
            break
        out.append(text[pos : m.start()])
        pos = m.end()
        name = m.group(2)
        if name is None:  # a comment
            out.append(m.group(0))
            continue
        name = name.lower()
        if m.group(1):  # a closing tag: close up to the nearest open element of that name
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == name:
                    closed_kept = stack[i][1]
                    kept -= sum(1 for _, k in stack[i:] if k)
                    del stack[i:]
                    if closed_kept:
                        out.append(m.group(0))
                    elif name in _BLOCK_BOUNDARY:
                        out.append("<br>")
                    break
            else:
                out.append(m.group(0))  # a stray end tag: libxml2 ignores it, so may we
            continue
        if name in _RAW_TEXT_TAGS:
            end = re.compile(rf"</{name}\s*>", re.I).search(text, pos)
            stop = end.end() if end else n
            out.append(m.group(0) + text[pos:stop])
            pos = stop
            continue
        if name in _VOID_TAGS or m.group(0).endswith("/>"):
            out.append(m.group(0))
            continue
        if stack and name in _SELF_CLOSING_SIBLINGS and stack[-1][0] == name:
            kept -= stack.pop()[1]
        if kept < max_depth:
            out.append(m.group(0))
            stack.append((name, True))
            kept += 1
        else:
            if name in _BLOCK_BOUNDARY:
                out.append("<br>")
            stack.append((name, False))
    return "".join(out)


def _may_hold_control_chars(html: str | bytes, text: str) -> bool:
    """Whether the decoded `text` may hold a character _CONTROL removes. In every encoding
    decode_html applies (the WHATWG ones) such a character comes from such a byte (in UTF-16 with
    a NUL byte, itself one): bytes free of them are checked instead of the text, several times
    faster once the text holds characters beyond Latin-1."""
    if isinstance(html, bytes) and not _holds_control_bytes(html):
        return False
    return any(ch in text for ch in _CONTROL_CHARS)


def _holds_control_bytes(data: bytes) -> bool:
    """Any byte of a character _CONTROL removes is in the page (each looked for with `in`, the
    calls made by map in C rather than by a generator resuming in Python for each)."""
    return any(map(data.__contains__, _CONTROL_BYTES))


def _parse_tree(text: str, utf8: bytes | None = None) -> Any:
    """The tree of the page's text; from `utf8`, the text's own UTF-8 bytes, when given."""
    parser = _PARSER if utf8 is None else _UTF8_PARSER
    tree = _document_fromstring(text if utf8 is None else utf8, parser)
    last = parser.error_log.last_error
    if last is not None and last.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
        # libxml2 stopped at its depth limit and kept only what came before: parse again with
        # the excess nesting flattened, so the article after a deep menu is not lost.
        tree = _document_fromstring(flatten_deep_nesting(text), _PARSER)
    return tree


def _document_fromstring(page: str | bytes, parser: Any) -> Any:
    """lxml.html.document_fromstring with our parser: the page's root element."""
    root = etree.fromstring(page, parser)
    if root is None:
        raise etree.ParserError("Document is empty")
    return root


def parse_document(
    html: str | bytes, url: str | None = None, *, content_type: str | None = None
) -> Document:
    """Parse HTML into a Document. Raises NotHtmlError for what is not an HTML page.

    `content_type` is the HTTP Content-Type header, when known: its charset is used to decode.
    """
    check_html(html, content_type)
    tree = _tree_of_valid_utf8(html, content_type) if isinstance(html, bytes) else None
    if tree is None:
        tree = _tree_of_text(html, content_type)
    doc = Document(url=url, tree=tree)
    doc.meta = _read_meta(listed(doc, "meta"))
    doc.jsonld = _read_jsonld(jsonld_scripts(doc))
    lang = (
        tree.get("lang")
        or tree.get("xml:lang")
        or doc.meta_first("og:locale", "language", "content-language")
    )
    doc.lang = (
        lang.strip().replace("_", "-").split("-")[0].lower() if lang and lang.strip() else None
    )
    return doc


def _tree_of_text(html: str | bytes, content_type: str | None) -> Any:
    """The page's tree from its decoded text (or the text's UTF-8 bytes, when they are the page's).
    Raises NotHtmlError."""
    text, utf8 = decode_page(html, content_type)
    if _may_hold_control_chars(html, text):
        text, utf8 = _CONTROL.sub("", text), None
    if not text or text.isspace():  # not text.strip(): that copies the whole page
        raise NotHtmlError("not an HTML page: the page is empty")
    # lxml refuses str input that carries an XML encoding declaration.
    if text.lstrip().startswith("<?xml"):
        text, utf8 = re.sub(r"^\s*<\?xml[^>]*\?>", "", text), None
    try:
        return _parse_tree(text, utf8)
    except (etree.ParserError, ValueError) as exc:
        raise NotHtmlError(f"not an HTML page: cannot parse it as HTML ({exc})") from exc


# libxml2 stops reporting a parse's errors after this many (XML_MAX_ERRORS): a log this long may
# have left an encoding error out.
LIBXML_ERRORS_REPORTED = 100
# What libxml2 reports for bytes that are not UTF-8 where it reads UTF-8 (ERR_INVALID_ENCODING in
# libxml2 2.14; older versions said ERR_INVALID_CHAR, "Input is not proper UTF-8").
_NOT_UTF8_ERRORS = frozenset(
    {
        etree.ErrorTypes.ERR_INVALID_ENCODING,
        etree.ErrorTypes.ERR_INVALID_CHAR,
        etree.ErrorTypes.ERR_UNKNOWN_ENCODING,
        etree.ErrorTypes.ERR_UNSUPPORTED_ENCODING,
    }
)
# How far into the page its first character (not a blank) is looked for.
HEAD_BYTES = 1024


def _tree_of_valid_utf8(data: bytes, content_type: str | None) -> Any | None:
    """The tree _tree_of_text makes of a page it would read as UTF-8 and parse from its bytes,
    made without decoding the page; None when that cannot be told (_tree_of_text decides then).

    For such a page decoding is only the test of its UTF-8 (the parser takes the bytes, not the
    text): 2 % of a batch's instructions. libxml2 checks the UTF-8 it reads itself and reports
    each invalid sequence (it puts U+FFFD for it): a page whose parse reports none is valid UTF-8
    and its tree is the one _tree_of_text makes. The page's other checks are read off its bytes:
    no control byte (_CONTROL), and its first character, ASCII and not a blank, shows it is
    neither empty nor an XML document (blanks before it are ASCII ones: str.lstrip strips the
    same). Anything else, an error log libxml2 may have cut short, and a parse stopped by its
    depth limit go the decoding way.
    """
    if not utf8_when_valid(data, content_type) or _holds_control_bytes(data):
        return None
    head = data[:HEAD_BYTES].lstrip()
    if not head or head[0] >= 0x80 or head.startswith(b"<?xml"):
        return None
    try:
        tree = _document_fromstring(data, _UTF8_PARSER)
    except (etree.ParserError, ValueError):
        return None
    log = _UTF8_PARSER.error_log
    if len(log) >= LIBXML_ERRORS_REPORTED or any(error.type in _NOT_UTF8_ERRORS for error in log):
        return None
    last = log.last_error
    if last is not None and last.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT:
        return None
    return tree


# The tags whose elements are listed in one walk over the page (listed): a walk costs about the
# same whatever tags it looks for (a tenth of the parse on a big page), and the meta and JSON-LD
# readers and the finders each walked it for theirs.
LISTED_TAGS = ("meta", "script", "style", "link", "title", "h1", "h2")


def listed(doc: Document, tag: str) -> list[Any]:
    """The `tag` elements of the page (one of LISTED_TAGS) in document order: doc.tree.iter(tag),
    read once for all those tags (cached: read before extract_body changes the tree)."""
    lists = doc.cache.get("listed")
    if lists is None:
        lists = {name: [] for name in LISTED_TAGS}
        for el in doc.tree.iter(*LISTED_TAGS):
            lists[el.tag].append(el)
        doc.cache["listed"] = lists
    return lists[tag]


def clear_script_text(doc: Document) -> None:
    """Empty the <script> and <style> elements of the page (JSON-LD blocks excepted), leaving
    the elements in place with their tails.

    Their text is never shown, and on news pages it is most of the text under <body> (two thirds
    of it on the AEB pages: ad, tracking and data scripts): every walk over text nodes or
    serialisation of a block's text after this (the byline label scan reads each text node under
    <body>) skips it instead of reading and discarding it. The elements stay, so what counts
    elements (the windows around the headline) counts the same. JSON-LD is kept: it is the page's
    own description of itself, and readers may come back to it.
    """
    kept = set(jsonld_scripts(doc))
    for el in listed(doc, "script"):
        if el not in kept:
            el.text = None
    for el in listed(doc, "style"):
        el.text = None


def jsonld_scripts(doc: Document) -> list[Any]:
    """The page's JSON-LD <script> elements, in document order (cached with `listed`)."""
    found = doc.cache.get("jsonld_scripts")
    if found is None:
        found = doc.cache["jsonld_scripts"] = [el for el in listed(doc, "script") if _is_jsonld(el)]
    return found


def _is_jsonld(script: Any) -> bool:
    return (script.get("type") or "").strip().lower() == "application/ld+json"


def _read_meta(elements: list[Any]) -> dict[str, list[str]]:
    meta: dict[str, list[str]] = {}
    for el in elements:
        key = el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv")
        value = el.get("content")
        if key and value is not None:
            meta.setdefault(key.strip().lower(), []).append(value)
    return meta


def _flatten_jsonld(value: Any, out: list[dict[str, Any]]) -> None:
    """Every typed object in a JSON-LD value, @graph members before the object holding them.

    Iterative: JSON nested near the recursion limit must not overflow the stack here.
    """
    pending: list[tuple[bool, Any]] = [(False, value)]  # (ready to emit, value)
    while pending:
        ready, item = pending.pop()
        if ready:
            out.append(item)
        elif isinstance(item, list):
            pending.extend((False, v) for v in reversed(item))
        elif isinstance(item, dict):
            if "@type" in item:
                pending.append((True, item))
            if "@graph" in item:
                pending.append((False, item["@graph"]))


def _read_jsonld(scripts: list[Any]) -> list[dict[str, Any]]:
    """The typed objects of these JSON-LD <script> elements."""
    out: list[dict[str, Any]] = []
    for el in scripts:
        raw = (el.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            # Real pages carry trailing commas and raw newlines; one lenient retry.
            try:
                data = json.loads(re.sub(r",\s*([}\]])", r"\1", raw), strict=False)
            except (ValueError, RecursionError):
                continue
        _flatten_jsonld(data, out)
    return out


_CSS_CACHE: dict[str, Any] = {}


def css(tree: Any, selector: str) -> list[Any]:
    """Elements matching a CSS selector (compiled once per selector)."""
    compiled = _CSS_CACHE.get(selector)
    if compiled is None:
        from lxml.cssselect import CSSSelector

        compiled = _CSS_CACHE[selector] = CSSSelector(selector)
    return compiled(tree)


def clean_text(text: str | None) -> str:
    """Collapse whitespace (NBSP and zero-width characters included) to single spaces."""
    if not text:
        return ""
    if text.isascii():  # holds neither (isascii is a flag read; each replace is a call)
        return " ".join(text.split())
    return " ".join(text.replace("\u200b", "").replace("\ufeff", "").split())


_FIRST_DESCENDANT: dict[str, etree.XPath] = {}


def first_descendant(el: Any, tag: str) -> Any | None:
    """The first `tag` element below `el` in document order, as el.find(".//tag") finds it.

    lxml's tag iterator (behind find) looks one match ahead, so find reads on to the end of the
    subtree after the first match when there is no second one (the whole page, for a <title>);
    libxml2 stops at the first node for XPath's literal `[1]`.
    """
    path = _FIRST_DESCENDANT.get(tag)
    if path is None:
        path = _FIRST_DESCENDANT[tag] = etree.XPath(f"descendant::{tag}[1]")
    found = path(el)
    return found[0] if found else None


def text_content(el: Any) -> str:
    """el.text_content(), about twice as fast: the text serialisation gives the same string
    without an XPath evaluation per call (the finders call this thousands of times a page)."""
    if isinstance(el.tag, str):
        if not len(el):
            # No child elements, comments or processing instructions: only text nodes, which
            # .text joins (removing a comment can leave two side by side), so the same string
            # as the serialisation, without its keyword handling and buffer (half of the
            # calls are on such leaves, at half the cost).
            return el.text or ""
        return etree.tostring(el, method="text", encoding=str, with_tail=False)
    # Comments and processing instructions: what lxml.html's text_content() did, an XPath
    # string() (which lxml refuses for them, as it did there).
    return _STRING_VALUE(el)


_STRING_VALUE = etree.XPath("string()", smart_strings=False)


def parent_text(el: Any) -> str:
    """text_content of an element known to have child elements: its text serialisation, as
    text_content gives it. For a caller that counted the children already (len(el) walks all the
    element's child nodes, a few hundred nanoseconds on a container)."""
    return etree.tostring(el, method="text", encoding=str, with_tail=False)


def element_text(el: Any) -> str:
    """An element's visible text, whitespace collapsed; the content attribute for <meta>."""
    if el.tag == "meta":
        return clean_text(el.get("content"))
    return clean_text(text_content(el))


def profile_texts(
    doc: Document, selectors: dict[str, tuple[str, ...]], field_name: str
) -> list[str]:
    """Texts matched by the profile's selectors for a field: the first selector that matches wins."""
    for selector in selectors.get(field_name, ()):
        texts = [t for t in (element_text(el) for el in css(doc.tree, selector)) if t]
        if texts:
            return texts
    return []


def host_of(url: str | None) -> str:
    """The lowercased host of a URL without 'www.', '' when there is none or it does not parse."""
    # Remembered: the finders ask this of the same page URL several times a page, and urlsplit
    # is slow pure Python.
    host = _hosts.get(url) if type(url) is str else None
    if host is None:
        host = _host_of(url)
        if type(url) is str:
            if len(_hosts) >= HOSTS_KEPT:
                _hosts.clear()
            _hosts[url] = host
    return host


_hosts: dict[str, str] = {}
HOSTS_KEPT = 4096


def _host_of(url: str | None) -> str:
    from urllib.parse import urlsplit

    try:
        host = urlsplit((url or "").strip()).hostname or ""
    except ValueError:  # 'http://[::1' and other unparseable URLs
        return ""
    return host.removeprefix("www.")


# The attributes that put an element in the class index (_classed_index) and in the list of
# attributed elements (attributed_elements).
_CLASS_MARKS = frozenset({"class", "id", "itemtype"})
_ATTRIBUTE_MARKS = frozenset({"itemprop", "rel", "pubdate"})


def _marked_elements(doc: Document) -> tuple[list[Any], list[str]]:
    """The elements with a class, id or itemtype, in document order, and each one's
    "class id itemtype" marks; fills the cache of attributed_elements on the way.

    One Python pass over the tree reading each element's attribute names: twice as fast as the
    two XPaths it replaces (`descendant-or-self::*[@class or @id or @itemtype]` and
    `[@itemprop or @rel or @pubdate]`: libxml2 builds a node-set per attribute test per element),
    and both lists are always wanted (the headline finder reads both on every page). The names
    say which marks an element has: most have a class and nothing else, and only that is looked
    up (an lxml lookup costs as much for an attribute that is not there).
    """
    classed: list[Any] = []
    marks: list[str] = []
    attributed: list[Any] = []
    no_class_mark = _CLASS_MARKS.isdisjoint
    no_attribute_mark = _ATTRIBUTE_MARKS.isdisjoint
    only_class = ["class"]
    # Every element's Python object is kept for the rest of the page (the cache lives as long as
    # the Document): lxml makes an element's object when code first reaches the element and frees
    # it when the last reference goes, so without this each later walk, parent step or XPath
    # result makes and frees most of them again (0.6 % of a whole AEB run's instructions).
    everything = doc.cache["elements"] = list(doc.tree.iter(etree.Element))
    for el in everything:
        names = el.keys()
        if names:
            if names == only_class:
                classed.append(el)
                marks.append(el.get("class") + "  ")
                continue
            if not no_class_mark(names):
                classed.append(el)
                get = el.get
                cls = (get("class") or "") if "class" in names else ""
                ident = (get("id") or "") if "id" in names else ""
                kind = (get("itemtype") or "") if "itemtype" in names else ""
                marks.append(f"{cls} {ident} {kind}")
            if not no_attribute_mark(names):
                attributed.append(el)
    doc.cache.setdefault("attributed", attributed)
    return classed, marks


def _classed_index(doc: Document) -> tuple[list[Any], str, list[int]]:
    """Every element with a class, id or itemtype; their "class id itemtype" marks lowercased,
    joined with NUL; and where each element's marks start in that string.

    Computed once a page: the field finders filter it with their regexes instead of each running
    a whole-tree XPath. Lowercased once, joined: the offsets stay true unless some character's
    lowercase is longer (a dotted capital I), and then each element's marks are lowercased alone
    (NUL is not case-ignorable, so a final sigma lowers the same either way).
    """
    found = doc.cache.get("classed")
    if found is None:
        elements, raw = _marked_elements(doc)
        joined = "\x00".join(raw)
        text = joined.lower()
        if len(text) != len(joined):
            raw = [marks.lower() for marks in raw]
            text = "\x00".join(raw)
        # Each element's marks start one separator after the previous one's end.
        starts = [0, *accumulate(len(marks) + 1 for marks in raw)][: len(raw)]
        found = doc.cache["classed"] = (elements, text, starts)
    return found


# A pattern that is only plain words joined by `|` (no flags): classed_matching looks for each
# word with str.find, several times faster than the regex engine trying the alternation at every
# character of the joined marks (most words occur in few elements, so each find skips far).
_PLAIN_WORDS = patterns.compile(r"[a-z0-9_-]+(?:\|[a-z0-9_-]+)*")
_words_of_pattern: dict[re.Pattern[str], tuple[str, ...] | None] = {}


def _plain_words(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """The words of a plain alternation of words, else None (cached per pattern)."""
    try:
        return _words_of_pattern[pattern]
    except KeyError:
        pass
    words = None
    if pattern.flags == re.UNICODE and _PLAIN_WORDS.fullmatch(pattern.pattern):
        words = tuple(pattern.pattern.split("|"))
    _words_of_pattern[pattern] = words
    return words


def classed_matching(doc: Document, pattern: re.Pattern[str]) -> list[Any]:
    """The elements with a class, id or itemtype whose marks `pattern` finds something in, in
    document order.

    One scan of all the marks joined (cached) instead of one regex call per element: the finders
    ask this of the same few hundred elements with several patterns a page. Only for patterns
    that cannot match across the NUL separator (plain words and alternations of them).
    """
    elements, text, starts = _classed_index(doc)
    count = len(starts)
    words = _plain_words(pattern)
    if words is not None:
        # The elements whose marks hold one of the words: the same elements the regex finds.
        hits: set[int] = set()
        find = text.find
        for word in words:
            position = find(word)
            while position != -1:
                index = bisect_right(starts, position) - 1
                hits.add(index)
                if index + 1 >= count:
                    break
                position = find(word, starts[index + 1])
        return [elements[i] for i in sorted(hits)]
    found: list[Any] = []
    search = pattern.search
    match = search(text)
    while match is not None:
        index = bisect_right(starts, match.start()) - 1
        found.append(elements[index])
        if index + 1 >= count:
            break
        # The element is in: resume at the next one's marks rather than visit every other
        # match in these (a class list can name "title" a dozen times).
        match = search(text, starts[index + 1])
    return found


def attributed_elements(doc: Document) -> list[Any]:
    """Every element with an itemprop, rel or pubdate attribute, in document order (cached: read
    before extract_body changes the tree).

    Elements carrying microdata (itemprop), a link relation (rel) or <time pubdate>: the date,
    headline, byline, category and tag finders each filter this one list for theirs instead of
    each walking the tree. Found with the class index, in the same pass (_marked_elements).
    """
    found = doc.cache.get("attributed")
    if found is None:
        _classed_index(doc)
        found = doc.cache["attributed"]
    return found


def with_itemprop(doc: Document, *values: str) -> list[Any]:
    """The elements whose itemprop is exactly one of `values`, in document order."""
    return [el for el in attributed_elements(doc) if el.get("itemprop") in values]


def with_rel(doc: Document, tag: str, has: Callable[[str], bool]) -> list[Any]:
    """The `tag` elements whose rel value passes `has`, in document order."""
    return [
        el
        for el in attributed_elements(doc)
        if el.tag == tag and (rel := el.get("rel")) is not None and has(rel)
    ]


def page_body(doc: Document) -> Any | None:
    """The page's <body> element, doc.tree.find("body"), or None (cached: read before
    extract_body changes the tree). The finders ask for it a dozen times a page, and each find
    goes through lxml's path parser for a microsecond."""
    try:
        return doc.cache["body"]
    except KeyError:
        body = doc.cache["body"] = doc.tree.find("body")
        return body


def body_positions(doc: Document) -> dict[Any, int]:
    """Each node of <body>'s subtree -> its index in document order (cached: read before
    extract_body changes the tree). Empty without a <body>."""
    found = doc.cache.get("body_positions")
    if found is None:
        body = page_body(doc)
        found = {} if body is None else {el: i for i, el in enumerate(body.iter())}
        doc.cache["body_positions"] = found
    return found


def following_elements(el: Any, limit: int) -> list[Any]:
    """The next `limit` elements after `el` in document order, outside its own subtree (the
    XPath following:: axis, walked by hand: it stops early instead of scanning the document)."""
    out: list[Any] = []
    node = el
    while node is not None and len(out) < limit:
        nxt = node.getnext()
        if nxt is None:
            node = node.getparent()
            continue
        # nxt's elements in document order, as many as still wanted (taken in C).
        out.extend(islice(nxt.iter(etree.Element), limit - len(out)))
        node = nxt
    return out


def elements_after(doc: Document, el: Any, limit: int) -> list[Any]:
    """following_elements(el, limit) for an element of the page, remembered for the last element
    asked about (the date and the byline finders both read the elements after the headline):
    the first `limit` of a longer such list are the same elements. Read before extract_body
    changes the tree (clearing script text, as clear_script_text does, changes no element)."""
    found = doc.cache.get("elements_after")
    if found is None or found[0] is not el or found[1] < limit:
        found = doc.cache["elements_after"] = (el, limit, following_elements(el, limit))
    return found[2][:limit]


def preceding_elements(el: Any, limit: int) -> list[Any]:
    """The `limit` elements nearest before `el` in document order, outside its ancestors, in
    document order: XPath's `preceding::*[position() <= limit]`, walked by hand. libxml2 only
    stops early for a literal `[n]`; with `position() <= n` it collects every element before
    `el` (the whole menu above a headline) before keeping the last few."""
    out: list[Any] = []
    node = el
    while node is not None and len(out) < limit:
        prev = node.getprevious()
        if prev is None:
            node = node.getparent()  # ancestors are not preceding elements
            continue
        # prev's subtree in reverse document order: listed in C and reversed, a quarter of the
        # cost of a Python walk that stops after the few it needs (most subtrees are small).
        for sub in reversed(list(prev.iter(etree.Element))):
            out.append(sub)
            if len(out) >= limit:
                break
        node = prev
    out.reverse()
    return out
