"""Title, category, tags, description, image, canonical URL, site name: each a cascade of sources.

Every finder returns the value, and where it matters the source that won, so a record says where
each value came from.
"""

from __future__ import annotations

import re
from typing import Any

from newsarchive.extract.document import (
    Document,
    classed,
    clean_text,
    css,
    element_text,
    host_of,
    profile_texts,
)

# Separators sites put between a headline and their own name in <title> / og:title.
TITLE_SEPARATORS = re.compile(r"\s+(?:[-|–—:»·]|::)\s+")
# Month names that only Indonesian dates use: a cheap language hint for pages without lang.
_ID_HINT = re.compile(
    r"\b(Januari|Februari|Maret|Mei|Juni|Juli|Agustus|Oktober|Desember|WIB|WITA)\b"
)


def is_indonesian(doc: Document) -> bool:
    if doc.lang:
        return doc.lang == "id" or doc.lang == "in"
    if doc.url and re.search(r"\.id(?:[:/]|$)", doc.url.split("?")[0][:80]):
        return True
    head = doc.tree.find("body")
    sample = (head.text_content() if head is not None else "")[:20000]
    return bool(_ID_HINT.search(sample))


# Names that mark an Indonesian publication, whatever language a page is written in (The Jakarta
# Post, Tempo English): their zone-less times are Jakarta time.
_ID_PUBLICATION = re.compile(
    r"(indonesia|jakarta|surabaya|bandung|medan|makassar|semarang|yogyakarta|denpasar|bali)", re.I
)


def is_indonesian_site(doc: Document) -> bool:
    """True for pages in Indonesian and for Indonesian publications writing in other languages."""
    if is_indonesian(doc):
        return True
    url = find_canonical_url(doc) or doc.url or ""
    if re.search(r"^(?:https?:)?//[^/]+\.id(?::\d+)?(?:/|$)", url):
        return True
    names = (host_of(url), doc.meta_first("og:site_name", "copyright", "author"))
    return any(n and _ID_PUBLICATION.search(n) for n in names)


def _jsonld_str(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    return clean_text(value) if isinstance(value, str) and value.strip() else None


_PUNCT = re.compile(r"[^\w\s]+")


def _norm(text: str) -> str:
    """Lowercase, punctuation dropped, whitespace collapsed: compares headlines that meta tags
    re-punctuate (':' and '?' dropped, curly quotes straightened)."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def _similar(a: str, b: str) -> bool:
    na, nb = _norm(a), _norm(b)
    return bool(na) and (na == nb or (len(na) > 10 and len(nb) > 10 and (na in nb or nb in na)))


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


# Where a displayed headline can sit besides <h1>: sites put the channel name in <h1> and the
# headline in <h2> (kompas 2016), or the headline in a styled div (republika photo pages). In
# this order of preference.
HEADLINE_TAGS = ("h1", "h2")
HEADLINE_MARK = re.compile("title|headline|jdl")
NOT_HEADLINE_TAGS = frozenset({"meta", "title", "script", "style", "a", "body", "html"})
# A displayed headline may carry a rubric prefix ('In Picture: ', 'FOTO: ') that meta tags drop.
MAX_RUBRIC_PREFIX = 30
MAX_HEADLINE_LENGTH = 400


def _headline_candidates(doc: Document) -> list[tuple[Any, str, str]]:
    """(element, text, normalised text) of every element that may display the headline."""
    found = doc.cache.get("headline_candidates")
    if found is None:
        elements = [el for tag in HEADLINE_TAGS for el in doc.tree.iter(tag)]
        elements += doc.tree.xpath("//*[@itemprop='headline']")
        elements += [el for el, marks in classed(doc) if HEADLINE_MARK.search(marks)]
        found = []
        for el in dict.fromkeys(elements):
            if el.tag in NOT_HEADLINE_TAGS:
                continue
            text = element_text(el)
            if text and len(text) <= MAX_HEADLINE_LENGTH:
                found.append((el, text, _norm(text)))
        doc.cache["headline_candidates"] = found
    return found


def _displayed_headline(doc: Document, reference: str) -> Any | None:
    """The element displaying the headline that meta tags give as `reference`."""
    ref = _norm(reference)
    if len(ref) < 8:
        return None
    prefixed = None
    for el, text, norm in _headline_candidates(doc):
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


def find_title(
    doc: Document, selectors: dict[str, tuple[str, ...]]
) -> tuple[str | None, str | None]:
    texts = profile_texts(doc, selectors, "title")
    if texts:
        return texts[0], "profile"
    article = doc.jsonld_article() or {}
    site = find_site_name(doc)
    references = [
        (doc.meta_first("og:title"), "meta"),
        (_jsonld_str(article.get("headline")), "json-ld"),
        (doc.meta_first("twitter:title"), "meta"),
    ]
    title_el = doc.tree.find(".//title")
    if title_el is not None and element_text(title_el):
        references.append((element_text(title_el), "title"))
    for reference, _source in references:
        if not reference:
            continue
        for candidate in dict.fromkeys((reference, strip_site_suffix(reference, site))):
            shown = _displayed_headline(doc, candidate)
            if shown is not None:
                # The date and byline finders look around this element.
                doc.cache["headline"] = shown
                return element_text(shown), "h1"
    h1s = [t for t in (element_text(h) for h in doc.tree.iter("h1")) if t]
    for reference, source in references:
        if reference:
            return strip_site_suffix(reference, site), source
    return (h1s[0], "h1") if h1s else (None, None)


# Breadcrumb containers by name. Only container tags: a menu <li class="sf-breadcrumb"> holds a
# whole submenu, not a trail.
BREADCRUMB_MARK = re.compile(r"crumb|breadcumb|breadcrump")
NOT_CONTAINER_TAGS = frozenset({"li", "a", "body", "html"})
# Links that start a trail: the home page.
_HOME = {"home", "beranda", "index", "homepage", "halaman utama", "depan", "news home"}
# Crumbs that name the kind of page rather than a section ('Detail Berita' on detik).
PAGE_KIND_CRUMB = re.compile(r"^(detail|details|read|baca|artikel|article|berita detail)\b", re.I)
MAX_TRAIL_LINKS = 7


def _crumb_texts(container, doc: Document, title: str | None) -> list[str]:
    items = []
    own_urls = {u for u in (doc.url, find_canonical_url(doc)) if u}
    for a in container.iter("a"):
        text = element_text(a)
        if not text or len(text) > 60 or text.lower() in _HOME:
            continue
        href = (a.get("href") or "").strip()
        if href in own_urls or PAGE_KIND_CRUMB.match(text) or (title and _similar(text, title)):
            continue
        items.append(text)
    return items


def _url_path(href: str) -> str:
    return re.sub(r"^(?:https?:)?//[^/]+", "", href.strip())


def _is_home_link(a, site_host: str = "") -> bool:
    """A link to the site's own home page (relative, or on the page's host)."""
    href = (a.get("href") or "").strip()
    host = host_of(href)
    if (
        host
        and site_host
        and not (
            host == site_host or host.endswith("." + site_host) or site_host.endswith("." + host)
        )
    ):
        return False
    return element_text(a).lower() in _HOME or (href != "" and _url_path(href) in ("", "/"))


def _jsonld_trail(doc: Document, title: str | None) -> list[str]:
    own = {u.rstrip("/") for u in (doc.url, find_canonical_url(doc)) if u}
    for obj in doc.jsonld:
        if str(obj.get("@type", "")).lower() != "breadcrumblist":
            continue
        names, seen_urls = [], set()
        elements = [e for e in obj.get("itemListElement") or [] if isinstance(e, dict)]
        elements.sort(
            key=lambda e: int(e["position"]) if str(e.get("position", "")).isdigit() else 0
        )
        for el in elements:
            item = el.get("item")
            item_url = (item.get("@id") or item.get("url")) if isinstance(item, dict) else item
            name = _jsonld_str(el.get("name")) or (
                _jsonld_str(item) if isinstance(item, dict) else None
            )
            if isinstance(item_url, str):
                if _url_path(item_url) in ("", "/"):
                    continue  # the home page
                # Templates repeat the section's URL under the channel's name: first name wins.
                if item_url.rstrip("/") in own or item_url.rstrip("/") in seen_urls:
                    continue
                seen_urls.add(item_url.rstrip("/"))
            if not name or name.lower() in _HOME or PAGE_KIND_CRUMB.match(name):
                continue
            if title and _similar(name, title):
                continue
            names.append(name)
        if names:
            return names
    return []


# How far (in elements, document order) an unnamed trail may sit before the headline.
TRAIL_MAX_DISTANCE = 40


def _before_headline(doc: Document) -> list[Any]:
    """The elements just before the displayed headline, nearest first (computed once a page)."""
    if "before_headline" not in doc.cache:
        from newsarchive.extract.dates import find_headline

        headline = find_headline(doc)
        doc.cache["before_headline"] = (
            []
            if headline is None
            else headline.xpath("preceding::*[position() <= $n]", n=TRAIL_MAX_DISTANCE)[::-1]
        )
    return doc.cache["before_headline"]


def _breadcrumb_items(doc: Document, title: str | None) -> tuple[list[str], str]:
    # JSON-LD first: it is what the site declares, where the visible trail may be abbreviated.
    names = _jsonld_trail(doc, title)
    crumbs = [el for el, marks in classed(doc) if BREADCRUMB_MARK.search(marks)]
    for crumb in crumbs:
        if crumb.tag in NOT_CONTAINER_TAGS or len(crumb.findall(".//a")) > MAX_TRAIL_LINKS:
            continue
        items = _crumb_texts(crumb, doc, title)
        if items:
            # The visible trail wins only where it names the declared section more fully
            # ('Bola Dunia' shown for a declared 'Dunia').
            shown, declared = _norm(items[-1]), _norm(names[-1]) if names else ""
            if not names or (shown != declared and shown.endswith(" " + declared)):
                return items, "breadcrumb"
            break
    if names:
        return names, "json-ld"
    # An unnamed trail: a short run of links that starts at the home page, just before the
    # headline (tempo's 'kanal map').
    site_host = host_of(find_canonical_url(doc) or doc.url)
    for container in _before_headline(doc):
        if container.tag not in ("ul", "ol", "div", "nav"):
            continue
        links = container.findall(".//a")
        if not 2 <= len(links) <= MAX_TRAIL_LINKS or not _is_home_link(links[0], site_host):
            continue
        text = element_text(container)
        link_text = sum(len(element_text(a)) for a in links)
        if len(text) > link_text + 6 * len(links):
            continue
        items = _crumb_texts(container, doc, title)
        if items:
            return items, "breadcrumb"
    return [], ""


# A section label shown just above the headline ('kanal', 'rubrik', 'kicker' boxes).
SECTION_LABEL_CLASS = re.compile(
    r"kanal|rubrik|rubric|kategori|category|subkat|section-label|channel", re.I
)
MAX_LABEL_LENGTH = 30


def _section_label(doc: Document) -> str | None:
    for el in _before_headline(doc):
        if not SECTION_LABEL_CLASS.search(el.get("class") or ""):
            continue
        text = element_text(el)
        if (
            0 < len(text) <= MAX_LABEL_LENGTH
            and len(el.findall(".//a")) <= 1
            and not el.xpath(NOT_NAVIGATION_XPATH)
        ):
            return text
    return None


# Links that mark the current section in a site's navigation.
ACTIVE_NAV_XPATH = (
    "//a[contains(concat(' ', @class, ' '), ' active ') or contains(@class, 'current')"
    " or contains(@class, 'selected')]"
    "|//li[contains(concat(' ', @class, ' '), ' active ') or contains(@class, 'current')"
    " or contains(@class, 'selected')]/a"
)


# Active links that are not the site's section navigation: tabs of 'popular/newest' widgets,
# comment threads, article bodies, sidebars and footers.
NOT_NAVIGATION_XPATH = (
    "ancestor::*[self::article or self::aside or self::footer"
    " or contains(@class, 'comment') or contains(@id, 'comment') or contains(@class, 'widget')"
    " or contains(@class, 'tab') or contains(@class, 'sidebar') or contains(@id, 'sidebar')]"
)


def _active_nav_item(doc: Document) -> str | None:
    best, best_depth = None, -1
    for a in doc.tree.xpath(ACTIVE_NAV_XPATH):
        text = element_text(a)
        href = a.get("href") or ""
        if (
            not text
            or len(text) > 40
            or text.lower() in _HOME
            or href.startswith("#")
            or _is_home_link(a)
        ):
            continue
        if a.xpath(NOT_NAVIGATION_XPATH) or not a.xpath("ancestor::ul or ancestor::nav"):
            continue
        # Sub-sections sit deeper in the menu than their parent sections.
        depth = len(a.xpath("ancestor::*"))
        if depth > best_depth:
            best, best_depth = text, depth
    return best


def find_category(
    doc: Document, selectors: dict[str, tuple[str, ...]], title: str | None = None
) -> tuple[str | None, str | None]:
    """The most specific section: breadcrumb, category link, active navigation, then metadata.

    `title` keeps the headline itself out of trails that end with it.
    """
    texts = profile_texts(doc, selectors, "category")
    if texts:
        return texts[-1], "profile"
    crumbs, source = _breadcrumb_items(doc, title)
    if crumbs:
        return crumbs[-1], source
    # WordPress themes mark the post's categories with rel="category tag".
    for a in doc.tree.xpath("//a[contains(@rel, 'category')]"):
        text = element_text(a)
        if text:
            return text, "category-link"
    label = _section_label(doc)
    if label:
        return label, "section-label"
    active = _active_nav_item(doc)
    if active:
        return active, "navigation"
    section = _jsonld_str((doc.jsonld_article() or {}).get("articleSection"))
    if section:
        return section, "json-ld"
    section = doc.meta_first("article:section")
    if section:
        return clean_text(section), "meta"
    return None, None


# Visible tag lists: WordPress rel="tag" links, then containers the CMSs name after tags/topics.
TAG_CONTAINER_CLASS = re.compile(r"tag|topik|topic")
# Site-wide topic lists (trending, popular, picks) and menus are not the article's tags.
NOT_ARTICLE_TAGS_XPATH = (
    "ancestor-or-self::*[self::header or self::nav or self::footer"
    " or contains(@class, 'trend') or contains(@class, 'popul') or contains(@class, 'pilihan')"
    " or contains(@class, 'hot') or contains(@class, 'choice') or contains(@class, 'menu')"
    " or contains(@class, 'header')"
    " or contains(@class, 'footer') or contains(@id, 'header') or contains(@id, 'footer')]"
)
MAX_TAGS = 20


def _visible_tags(doc: Document) -> list[str]:
    texts = [
        element_text(a) for a in doc.tree.xpath("//a[contains(concat(' ', @rel, ' '), ' tag ')]")
    ]
    if texts:
        return texts[:MAX_TAGS]
    for container, _ in classed(doc):
        if container.tag in NOT_CONTAINER_TAGS or not TAG_CONTAINER_CLASS.search(
            (container.get("class") or "").lower()
        ):
            continue
        links = container.findall(".//a")
        if not 0 < len(links) <= MAX_TAGS or container.xpath(NOT_ARTICLE_TAGS_XPATH):
            continue
        if container.xpath(NOT_ARTICLE_TAGS_XPATH.replace("ancestor-or-self::", "descendant::")):
            continue
        texts = [element_text(a) for a in links if 0 < len(element_text(a)) <= 50]
        if texts:
            return texts
    return []


def find_tags(doc: Document, selectors: dict[str, tuple[str, ...]]) -> list[str]:
    texts = profile_texts(doc, selectors, "tags")
    if not texts:
        texts = [clean_text(v) for v in doc.meta.get("article:tag", [])]
    if not texts:
        texts = _visible_tags(doc)
    if not texts:
        kw = (doc.jsonld_article() or {}).get("keywords")
        if isinstance(kw, str):
            texts = [clean_text(k) for k in kw.split(",")]
        elif isinstance(kw, list):
            texts = [clean_text(str(k)) for k in kw]
    if not texts:
        texts = [clean_text(k) for k in (doc.meta_first("news_keywords") or "").split(",")]
    seen: dict[str, str] = {}
    for t in texts:
        t = t.lstrip("#").strip()
        if t and t.lower() not in seen:
            seen[t.lower()] = t
    return list(seen.values())


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
