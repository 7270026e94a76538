"""Parse a page once: decoded text, lxml tree, meta tags and JSON-LD objects."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import lxml.html
from lxml import etree

from newsarchive.errors import NotHtmlError

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
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
    tree: Any  # lxml.html.HtmlElement
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
        """The JSON-LD object that describes the article (NewsArticle before WebPage)."""
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


def decode_html(data: str | bytes) -> str:
    """Bytes to text: BOM, then <meta charset>, then UTF-8, then cp1252 (never fails)."""
    if isinstance(data, str):
        return data
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    m = _META_CHARSET.search(data[:4096])
    if m:
        enc = m.group(1).decode("ascii", "ignore").lower()
        if enc not in ("utf-8", "utf8"):
            try:
                return data.decode(enc)
            except (LookupError, UnicodeDecodeError):
                pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


# lxml.html's default parser picks each element's Python class through a Python callback, a cost
# paid for every element touched; a fixed default lookup gives the same classes in C.
_PARSER = etree.HTMLParser()
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def parse_document(html: str | bytes, url: str | None = None) -> Document:
    """Parse HTML into a Document. Raises NotHtmlError when there is nothing to parse."""
    text = decode_html(html)
    text = _CONTROL.sub("", text)
    if not text.strip():
        raise NotHtmlError("empty document")
    # lxml refuses str input that carries an XML encoding declaration.
    if text.lstrip().startswith("<?xml"):
        text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    try:
        tree = lxml.html.document_fromstring(text, parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise NotHtmlError(f"cannot parse as HTML: {exc}") from exc
    doc = Document(url=url, tree=tree)
    doc.meta = _read_meta(tree)
    doc.jsonld = _read_jsonld(tree)
    lang = (
        tree.get("lang")
        or tree.get("xml:lang")
        or doc.meta_first("og:locale", "language", "content-language")
    )
    doc.lang = (
        lang.strip().replace("_", "-").split("-")[0].lower() if lang and lang.strip() else None
    )
    return doc


def _read_meta(tree: Any) -> dict[str, list[str]]:
    meta: dict[str, list[str]] = {}
    for el in tree.iter("meta"):
        key = el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv")
        value = el.get("content")
        if key and value is not None:
            meta.setdefault(key.strip().lower(), []).append(value)
    return meta


def _flatten_jsonld(value: Any, out: list[dict[str, Any]]) -> None:
    if isinstance(value, list):
        for v in value:
            _flatten_jsonld(v, out)
    elif isinstance(value, dict):
        if "@graph" in value:
            _flatten_jsonld(value["@graph"], out)
        if "@type" in value:
            out.append(value)


def _read_jsonld(tree: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for el in tree.iter("script"):
        if (el.get("type") or "").strip().lower() != "application/ld+json":
            continue
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
    return " ".join(text.replace("\u200b", "").replace("\ufeff", "").split())


def element_text(el: Any) -> str:
    """An element's visible text, whitespace collapsed; the content attribute for <meta>."""
    if el.tag == "meta":
        return clean_text(el.get("content"))
    return clean_text(el.text_content())


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
    from urllib.parse import urlsplit

    try:
        host = urlsplit((url or "").strip()).hostname or ""
    except ValueError:  # 'http://[::1' and other unparseable URLs
        return ""
    return host.removeprefix("www.")


def classed(doc: Document) -> list[tuple[Any, str]]:
    """Every element with a class, id or itemtype, with those attributes lowercased in one string.

    Computed once a page: the field finders filter this list with their regexes instead of each
    running a whole-tree XPath.
    """
    found = doc.cache.get("classed")
    if found is None:
        found = doc.cache["classed"] = [
            (el, f"{el.get('class') or ''} {el.get('id') or ''} {el.get('itemtype') or ''}".lower())
            for el in doc.tree.xpath("//*[@class or @id or @itemtype]")
        ]
    return found
