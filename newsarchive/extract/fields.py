"""Title, category, tags, description, image, canonical URL, site name: each a cascade of sources.

Every finder returns the value, and where it matters the source that won, so a record says where
each value came from.
"""

from __future__ import annotations

import re
from typing import Any

from newsarchive.extract.document import Document, clean_text, css, element_text, profile_texts

# Separators sites put between a headline and their own name in <title> / og:title.
TITLE_SEPARATORS = re.compile(r"\s+(?:[-|–—:»·]|::)\s+")
# Month names that only Indonesian dates use: a cheap language hint for pages without lang.
_ID_HINT = re.compile(r"\b(Januari|Februari|Maret|Mei|Juni|Juli|Agustus|Oktober|Desember|WIB|WITA)\b")


def is_indonesian(doc: Document) -> bool:
    if doc.lang:
        return doc.lang == "id" or doc.lang == "in"
    if doc.url and re.search(r"\.id(?:[:/]|$)", doc.url.split("?")[0][:80]):
        return True
    head = doc.tree.find("body")
    sample = (head.text_content() if head is not None else "")[:20000]
    return bool(_ID_HINT.search(sample))


def _jsonld_str(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    return clean_text(value) if isinstance(value, str) and value.strip() else None


def _similar(a: str, b: str) -> bool:
    na, nb = a.lower(), b.lower()
    return na == nb or (len(na) > 10 and (na in nb or nb in na))


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


def find_title(doc: Document, selectors: dict[str, tuple[str, ...]]) -> tuple[str | None, str | None]:
    texts = profile_texts(doc, selectors, "title")
    if texts:
        return texts[0], "profile"
    article = doc.jsonld_article() or {}
    meta_title = doc.meta_first("og:title", "twitter:title") or _jsonld_str(article.get("headline"))
    h1s = [t for t in (element_text(h) for h in doc.tree.iter("h1")) if t]
    if meta_title:
        for h in h1s:
            if _similar(h, meta_title) or _similar(h, strip_site_suffix(meta_title)):
                return h, "h1"
    headline = _jsonld_str(article.get("headline"))
    if headline:
        for h in h1s:
            if _similar(h, headline):
                return h, "h1"
        return headline, "json-ld"
    if meta_title:
        return strip_site_suffix(meta_title, find_site_name(doc)), "meta"
    if len(h1s) == 1:
        return h1s[0], "h1"
    title_el = doc.tree.find(".//title")
    if title_el is not None and element_text(title_el):
        return strip_site_suffix(element_text(title_el), find_site_name(doc)), "title"
    return (h1s[0], "h1") if h1s else (None, None)


# Breadcrumb containers, most explicit first: schema.org microdata, then the class names CMSs use.
BREADCRUMB_SELECTORS = (
    "[itemtype*='BreadcrumbList']",
    "nav[aria-label*='readcrumb']",
    ".breadcrumb",
    ".breadcrumbs",
    "#breadcrumb",
    "#breadcrumbs",
    ".breadcrumb-list",
    ".breadcumb",
    ".brcrumb",
)
_HOME = {"home", "beranda", "index", "homepage", "halaman utama", "depan"}


def _breadcrumb_items(doc: Document) -> list[str]:
    for sel in BREADCRUMB_SELECTORS:
        for crumb in css(doc.tree, sel):
            items = [element_text(a) for a in crumb.iter("a")]
            items = [i for i in items if i and i.lower() not in _HOME and len(i) < 60]
            if items:
                return items
    for obj in doc.jsonld:
        if str(obj.get("@type", "")).lower() == "breadcrumblist":
            names = []
            for el in obj.get("itemListElement") or []:
                if not isinstance(el, dict):
                    continue
                name = _jsonld_str(el.get("name")) or _jsonld_str((el.get("item") or {}) if isinstance(el.get("item"), dict) else None)
                if name and name.lower() not in _HOME:
                    names.append(name)
            if names:
                return names
    return []


def find_category(doc: Document, selectors: dict[str, tuple[str, ...]]) -> tuple[str | None, str | None]:
    texts = profile_texts(doc, selectors, "category")
    if texts:
        return texts[-1], "profile"
    title = find_title(doc, selectors)[0]
    crumbs = [c for c in _breadcrumb_items(doc) if not (title and _similar(c, title))]
    if crumbs:
        return crumbs[-1], "breadcrumb"
    section = _jsonld_str((doc.jsonld_article() or {}).get("articleSection"))
    if section:
        return section, "json-ld"
    section = doc.meta_first("article:section")
    if section:
        return clean_text(section), "meta"
    return None, None


def find_tags(doc: Document, selectors: dict[str, tuple[str, ...]]) -> list[str]:
    texts = profile_texts(doc, selectors, "tags")
    if not texts:
        texts = [clean_text(v) for v in doc.meta.get("article:tag", [])]
    if not texts:
        kw = (doc.jsonld_article() or {}).get("keywords")
        if isinstance(kw, str):
            texts = [clean_text(k) for k in kw.split(",")]
        elif isinstance(kw, list):
            texts = [clean_text(str(k)) for k in kw]
    seen: dict[str, None] = {}
    for t in texts:
        t = t.lstrip("#").strip()
        if t and t.lower() not in (s.lower() for s in seen):
            seen[t] = None
    return list(seen)


def find_description(doc: Document, selectors: dict[str, tuple[str, ...]]) -> str | None:
    texts = profile_texts(doc, selectors, "description")
    if texts:
        return texts[0]
    return doc.meta_first("og:description", "description", "twitter:description") or _jsonld_str(
        (doc.jsonld_article() or {}).get("description")
    )


def find_image(doc: Document, selectors: dict[str, tuple[str, ...]]) -> str | None:
    for selector in selectors.get("image", ()):
        for el in css(doc.tree, selector):
            src = el.get("content") or el.get("src") or el.get("data-src") or el.get("href")
            if src:
                return src.strip()
    image = doc.meta_first("og:image", "og:image:url", "twitter:image", "twitter:image:src")
    if image:
        return image
    value = (doc.jsonld_article() or {}).get("image")
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url")
    return value.strip() if isinstance(value, str) and value.strip() else None


def find_canonical_url(doc: Document) -> str | None:
    for link in doc.tree.iter("link"):
        if (link.get("rel") or "").strip().lower() == "canonical" and link.get("href"):
            return link.get("href").strip()
    return doc.meta_first("og:url")


def find_site_name(doc: Document) -> str | None:
    name = doc.meta_first("og:site_name", "application-name")
    if name:
        return name
    publisher = (doc.jsonld_article() or {}).get("publisher")
    return _jsonld_str(publisher) if isinstance(publisher, dict | list | str) else None
