"""Title, category, tags, description, image, canonical URL, site name: each a cascade of sources.

Every finder returns the value, and where it matters the source that won, so a record says where
each value came from.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from itertools import islice
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from newsarchive.extract import patterns
from newsarchive.extract.bylines import LABEL, names_the_site
from newsarchive.extract.dates import only_date
from newsarchive.extract.document import (
    Document,
    classed_matching,
    clean_text,
    css,
    element_text,
    host_of,
    listed,
    page_body,
    preceding_elements,
    profile_texts,
    text_content,
    with_rel,
)
from newsarchive.extract.headline import (
    displayed_headline,
    find_headline,
    find_site_name,
    jsonld_str,
    names_only_site,
    norm_text,
    opening_heading,
    strip_site_suffix,
    title_references,
    unescaped,
)

# Month names that only Indonesian dates use, and the Indonesian zone labels: a cheap language
# hint for pages without lang.
ID_HINT_WORDS = ("Maret", "Agustus", "Desember", "Pebruari", "Nopember", "WIB", "WITA")
# Indonesian month names that German (Juni, Juli, Oktober) or Dutch (Januari, Februari, Mei)
# spell the same way: alone they hint at Indonesian only when the prose reads Indonesian too, or
# German pages without lang get Indonesian dates and WIB times.
ID_HINT_SHARED_WORDS = ("Januari", "Februari", "Mei", "Juni", "Juli", "Oktober")
_ID_HINT = patterns.compile(rf"\b({'|'.join(ID_HINT_WORDS)})\b")
_ID_HINT_SHARED = patterns.compile(rf"\b({'|'.join(ID_HINT_SHARED_WORDS)})\b")


def _hints(pattern: re.Pattern[str], words: tuple[str, ...], text: str) -> bool:
    """`pattern` (one of `words` as a whole word) is in `text`. A plain substring test of each
    word first: on most pages none occurs, and that is far cheaper than the regex's scan."""
    return any(word in text for word in words) and pattern.search(text) is not None


# Function words that make up a fifth of any Indonesian text and are rare in English: names and
# quoted phrases in an English article about Indonesia add only a few.
ID_FUNCTION_WORDS = frozenset(
    {"yang", "dan", "di", "ini", "itu", "dengan", "untuk", "dari", "dalam", "tidak", "akan"}
    | {"pada", "juga", "ke", "karena", "adalah", "bahwa", "oleh", "atau", "sudah", "telah"}
    | {"bisa", "kata", "saat"}
)
EN_FUNCTION_WORDS = frozenset(
    {"the", "of", "and", "to", "in", "is", "that", "for", "was", "with", "on", "as", "by", "at"}
    | {"from", "it", "are", "has", "have", "be", "this", "were"}
)
# Enough words to judge, few enough to stay cheap on long pages.
LANG_SAMPLE_WORDS = 400
LANG_MIN_WORDS = 40
MIN_PROSE_WORDS = 8
# Indonesian prose runs at 10-25 % of these words; English about Indonesia stays under 3 %.
ID_MIN_SHARE = 0.08
# Italian 'di', a Dutch 'dan' or a quoted phrase repeat one or two words; prose uses many.
ID_MIN_DISTINCT = 6
# Malay shares most of these words: a page declared Malay keeps its declaration.
NOT_OVERRIDDEN_LANGS = frozenset({"ms", "id", "in"})
_WORD = patterns.compile(r"[^\W\d_]+")


# Text runs long enough to be prose (about eight words), outside code and links. The length test
# comes first so that lxml checks ancestors only for the few runs that pass it.
PROSE_RUNS_XPATH = (
    "(//body//text()[string-length() > 40]"
    "[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::a)])"
    f"[position() <= {LANG_SAMPLE_WORDS // MIN_PROSE_WORDS}]"
)
_PROSE_RUNS = etree.XPath(PROSE_RUNS_XPATH)


def _prose_runs(doc: Document) -> Iterator[list[str]]:
    """The words of each prose run: <p> first (cheap, and where most pages write), then any
    long text run (<div> text between <br>) for pages with too few paragraphs."""
    total = 0
    for p in doc.tree.iter("p"):
        words = _WORD.findall(text_content(p).lower())
        # Short runs are menus, dates, captions and labels, not prose.
        if len(words) >= MIN_PROSE_WORDS:
            total += len(words)
            yield words
    if total >= LANG_MIN_WORDS:
        return
    for text in _PROSE_RUNS(doc.tree):
        words = _WORD.findall(text.lower())
        if len(words) >= MIN_PROSE_WORDS:
            yield words


# The English words that are not Indonesian ones too (text_is_indonesian counts a word shared by
# both lists as Indonesian).
_EN_ONLY_FUNCTION_WORDS = EN_FUNCTION_WORDS - ID_FUNCTION_WORDS


def text_is_indonesian(doc: Document) -> bool:
    """The page's own prose reads as Indonesian, whatever its markup declares."""
    if "text_is_indonesian" in doc.cache:
        return doc.cache["text_is_indonesian"]
    total = id_count = en_count = 0
    seen: set[str] = set()
    for words in _prose_runs(doc):
        total += len(words)
        # Counted by map in C, not word by word in Python (an English run holds none of the
        # Indonesian words, and is not counted for them).
        found = ID_FUNCTION_WORDS.intersection(words)
        if found:
            id_count += sum(map(ID_FUNCTION_WORDS.__contains__, words))
            seen |= found
        en_count += sum(map(_EN_ONLY_FUNCTION_WORDS.__contains__, words))
        # English prose shows itself within a few sentences: stop reading.
        if total >= LANG_MIN_WORDS and en_count >= id_count:
            break
        if total >= LANG_SAMPLE_WORDS:
            break
    result = (
        total >= LANG_MIN_WORDS
        and id_count >= ID_MIN_SHARE * total
        and id_count > 2 * en_count
        and len(seen) >= ID_MIN_DISTINCT
    )
    doc.cache["text_is_indonesian"] = result
    return result


def is_indonesian(doc: Document) -> bool:
    """Declared Indonesian, or declared otherwise while the prose is plainly Indonesian (WordPress
    themes and CMS templates ship lang="en-US" on Indonesian sites); undeclared pages by hints.

    Kept in doc.cache: is_indonesian_site asks again, and an undeclared page's answer reads the
    whole page's text.
    """
    found = doc.cache.get("is_indonesian")
    if found is None:
        found = doc.cache["is_indonesian"] = _is_indonesian(doc)
    return found


def _is_indonesian(doc: Document) -> bool:
    if doc.lang:
        if doc.lang in ("id", "in"):
            return True
        return doc.lang not in NOT_OVERRIDDEN_LANGS and text_is_indonesian(doc)
    if doc.url and re.search(r"\.id(?:[:/]|$)", doc.url.split("?")[0][:80]):
        return True
    head = page_body(doc)
    sample = (text_content(head) if head is not None else "")[:20000]
    if _hints(_ID_HINT, ID_HINT_WORDS, sample):
        return True
    return _hints(_ID_HINT_SHARED, ID_HINT_SHARED_WORDS, sample) and text_is_indonesian(doc)


# Names that mark an Indonesian publication, whatever language a page is written in (The Jakarta
# Post, Tempo English): their zone-less times are Jakarta time.
_ID_PUBLICATION = patterns.compile(
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


def _similar(a: str, b: str) -> bool:
    na, nb = norm_text(a), norm_text(b)
    return bool(na) and (na == nb or (len(na) > 10 and len(nb) > 10 and (na in nb or nb in na)))


def find_title(
    doc: Document, selectors: dict[str, tuple[str, ...]]
) -> tuple[str | None, str | None]:
    """The headline, and the source that gave it."""
    found = _find_title(doc, selectors)
    doc.cache["title"] = found[0]  # find_tags keeps the headline out of the tags
    return found


def _find_title(
    doc: Document, selectors: dict[str, tuple[str, ...]]
) -> tuple[str | None, str | None]:
    texts = profile_texts(doc, selectors, "title")
    if texts:
        return texts[0], "profile"
    shown = displayed_headline(doc)
    if shown is not None:
        return element_text(shown), "h1"
    references = title_references(doc)
    opening = opening_heading(doc)
    if opening is not None and (not references or names_only_site(doc, references[0][0])):
        # The metadata names only the site: the heading that opens the article is its headline.
        return element_text(opening), "heading"
    if references:
        reference, source = references[0]
        return strip_site_suffix(reference, find_site_name(doc)), source
    h1s = [t for t in (element_text(h) for h in listed(doc, "h1")) if t]
    return (h1s[0], "h1") if h1s else (None, None)


# Breadcrumb containers by name. Only container tags: a menu <li class="sf-breadcrumb"> holds a
# whole submenu, not a trail.
BREADCRUMB_MARK = patterns.compile(r"crumb|breadcumb|breadcrump")
NOT_CONTAINER_TAGS = frozenset({"li", "a", "body", "html"})
# Links that start a trail: the home page.
_HOME = {"home", "beranda", "index", "homepage", "halaman utama", "depan", "news home"}
# Crumbs that name the kind of page rather than a section ('Detail Berita' on detik).
PAGE_KIND_CRUMB = patterns.compile(
    r"^(detail|details|read|baca|artikel|article|berita detail)\b", re.I
)
MAX_TRAIL_LINKS = 7


# Top-level crumbs that name the whole newsroom, not a section: a deeper crumb says more.
GENERIC_TOP_CRUMBS = frozenset({"news", "berita", "home", "beranda", "index", "indeks"})
# What sites put between crumbs (and before them: 'Anda di sini:').
CRUMB_SEPARATORS = patterns.compile(r"\s*(?:[›»>/|→⟩]|&gt;|::)\s*")
# An unlinked crumb is the section being shown, a short name; longer text is the headline.
MAX_UNLINKED_CRUMB_WORDS = 4


# The XPaths below are compiled once here: a string `el.xpath(...)` call compiles its expression
# again on every call, and these run per candidate element, several times a page. They use one
# descendant:: step where `.//` would merge a node-set per element (the same nodes, slower).
# A trail's links and its text outside links (and outside scripts), in document order.
_LINKS_AND_UNLINKED_TEXT = etree.XPath(
    "descendant::a | descendant::text()[not(ancestor::a or ancestor::script)]"
)


def _unlinked_crumbs(container) -> list[str]:
    """Crumbs shown as plain text after the trail's last link: the section being shown."""
    nodes = _LINKS_AND_UNLINKED_TEXT(container)
    last_link = max((i for i, n in enumerate(nodes) if not isinstance(n, str)), default=-1)
    found = []
    for text in nodes[last_link + 1 :]:
        for part in CRUMB_SEPARATORS.split(text):
            part = clean_text(part)
            if (
                part
                and not part.endswith((":", "...", "…"))
                and not any(ch.isdigit() for ch in part)
                and len(part.split()) <= MAX_UNLINKED_CRUMB_WORDS
                and any(ch.isalpha() for ch in part)
            ):
                found.append(part)
    return found


def _crumb_texts(container, doc: Document, title: str | None) -> list[str]:
    items = []
    own_urls = {u for u in (doc.url, find_canonical_url(doc)) if u}
    candidates = [(element_text(a), (a.get("href") or "").strip()) for a in container.iter("a")]
    candidates += [(text, "") for text in _unlinked_crumbs(container)]
    for text, href in candidates:
        if not text or len(text) > 60 or text.lower() in _HOME:
            continue
        if href in own_urls or PAGE_KIND_CRUMB.match(text) or (title and _similar(text, title)):
            continue
        items.append(text)
    return _without_generic_top(items)


def _without_generic_top(items: list[str]) -> list[str]:
    """The trail without leading newsroom-wide crumbs ('News', 'Berita') when a deeper one
    follows; a trail that is only 'Berita' keeps it (detik's section is called that)."""
    while len(items) > 1 and items[0].lower() in GENERIC_TOP_CRUMBS:
        items = items[1:]
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
        last = elements[-1] if elements else {}
        if (
            not last.get("item")
            and len(str(last.get("name") or "").split()) > MAX_UNLINKED_CRUMB_WORDS
        ):
            # The last crumb without a URL (schema.org lets the current page leave it out), in
            # more words than a section's name: the page itself, under a headline of its own.
            elements = elements[:-1]
        for el in elements:
            item = el.get("item")
            item_url = (item.get("@id") or item.get("url")) if isinstance(item, dict) else item
            name = jsonld_str(el.get("name")) or (
                jsonld_str(item) if isinstance(item, dict) else None
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
            return _without_generic_top(names)
    return []


# How far (in elements, document order) an unnamed trail may sit before the headline.
TRAIL_MAX_DISTANCE = 40


def _before_headline(doc: Document) -> list[Any]:
    """The elements just before the displayed headline, nearest first (computed once a page)."""
    if "before_headline" not in doc.cache:
        headline = find_headline(doc)
        doc.cache["before_headline"] = (
            [] if headline is None else preceding_elements(headline, TRAIL_MAX_DISTANCE)[::-1]
        )
    return doc.cache["before_headline"]


def _visible_trail_wins(shown: list[str], declared: list[str]) -> bool:
    """Whether the trail a reader sees says more than the JSON-LD one the site declares.

    It does where it goes deeper below the declared section, names that section more fully
    ('Bola Dunia' shown for a declared 'Dunia'), or spells it as displayed where the declaration
    is a lower-cased slug name ('berita'). Otherwise the declaration wins: visible trails are
    often abbreviated ('Cyberlife' for 'Cyber Life').
    """
    last_shown, last_declared = norm_text(shown[-1]), norm_text(declared[-1])
    if last_shown == last_declared:
        return declared[-1].islower() and not shown[-1].islower()
    if last_shown.endswith(" " + last_declared):
        return True
    if all(d.lower() in GENERIC_TOP_CRUMBS for d in declared):
        return True
    return len(shown) > len(declared) and last_declared in {norm_text(s) for s in shown[:-1]}


def _links(el: Any, limit: int) -> list[Any]:
    """The first `limit` links below `el`, in document order: el.findall(".//a") (ElementPath's
    descendant step is iterdescendants) cut short, for callers that only need to know whether
    there are more than limit - 1 (a container before the headline can hold the whole menu).
    """
    return list(islice(el.iterdescendants("a"), limit))


def _breadcrumb_items(doc: Document, title: str | None) -> tuple[list[str], str]:
    # JSON-LD first: it is what the site declares, where the visible trail may be abbreviated.
    names = _jsonld_trail(doc, title)
    crumbs = classed_matching(doc, BREADCRUMB_MARK)
    for crumb in crumbs:
        if (
            crumb.tag in NOT_CONTAINER_TAGS
            or len(_links(crumb, MAX_TRAIL_LINKS + 1)) > MAX_TRAIL_LINKS
        ):
            continue
        items = _crumb_texts(crumb, doc, title)
        if items:
            if not names or _visible_trail_wins(items, names):
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
        links = _links(container, MAX_TRAIL_LINKS + 1)
        if not 1 <= len(links) <= MAX_TRAIL_LINKS or not _is_home_link(links[0], site_host):
            continue
        text = element_text(container)
        link_text = sum(len(element_text(a)) for a in links)
        if len(links) == 1:
            # A home link and the section's name as plain text ('⌂ › World'): only where the
            # name is one of the site's sections, linked elsewhere on the page.
            if len(text) - link_text > MAX_LABEL_LENGTH:
                continue
            items = _unlinked_crumbs(container)
            if (
                len(items) == 1
                and not (title and _similar(items[0], title))
                and norm_text(items[0]) in _section_link_texts(doc, site_host)
            ):
                return items, "breadcrumb"
            continue
        if len(text) > link_text + 6 * len(links) or not _links_form_trail(container, links, doc):
            continue
        items = _crumb_texts(container, doc, title)
        if items:
            return items, "breadcrumb"
    return [], ""


# What sits between the links of a trail; menus put nothing or bars between theirs.
TRAIL_ARROWS = patterns.compile(r"^(?:[\s›»>/→⟩]|&gt;)+$")


def _resolved_hrefs(links: list[Any], doc: Document) -> list[str]:
    base = find_canonical_url(doc) or doc.url or ""
    hrefs = []
    for a in links:
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:")):
            continue  # the current page's own crumb
        with contextlib.suppress(ValueError):
            hrefs.append(urljoin(base, href))
    return hrefs


def _descends(parent: str, child: str) -> bool:
    """`child` is a page below `parent`: a deeper path, or a subdomain of the parent's site."""
    try:
        p, c = urlsplit(parent), urlsplit(child)
        p_host, c_host = p.hostname or "", c.hostname or ""
    except ValueError:
        return False
    p_host, c_host = p_host.removeprefix("www."), c_host.removeprefix("www.")
    p_path = [x for x in p.path.split("/") if x]
    c_path = [x for x in c.path.split("/") if x]
    if c_host == p_host:
        return len(c_path) > len(p_path) and c_path[: len(p_path)] == p_path
    return c_host.endswith("." + p_host) and not p_path


_UNLINKED_TEXT = etree.XPath("descendant::text()[not(ancestor::a)]")


def _links_form_trail(container, links: list[Any], doc: Document) -> bool:
    """A run of links is a trail, not a menu, where each link goes below the one before it
    (/kanal/news then /kanal/news/nasional) or arrows stand between them. A menu's links are
    siblings (/makassar, /ekonomi, /olahraga)."""
    hrefs = _resolved_hrefs(links, doc)
    if all(_descends(a, b) for a, b in zip(hrefs, hrefs[1:], strict=False)):
        return True
    between = "".join(_UNLINKED_TEXT(container))
    return bool(between.strip()) and bool(TRAIL_ARROWS.match(between))


def _section_link_texts(doc: Document, site_host: str) -> set[str]:
    """Normalised texts of the links to the site's sections (the page's menus), computed once."""
    if "section_link_texts" not in doc.cache:
        texts = set()
        for a in _menu_links(doc):
            text = element_text(a)
            if text and len(text) <= MAX_LABEL_LENGTH and not _is_home_link(a, site_host):
                texts.add(norm_text(text))
        doc.cache["section_link_texts"] = texts
    return doc.cache["section_link_texts"]


# A section label shown just above the headline ('kanal', 'rubrik', 'kicker' boxes).
SECTION_LABEL_CLASS = patterns.compile(
    r"kanal|rubrik|rubric|kategori|category|subkat|section-label|channel", re.I
)
MAX_LABEL_LENGTH = 30


# Whether SECTION_LABEL_CLASS finds something in a class value (most classes name no section).
_section_label_search = patterns.screened(
    SECTION_LABEL_CLASS,
    ("kanal", "rubri", "kategori", "category", "subkat", "section-label", "channel"),
)


def _names_section_label(cls: str) -> bool:
    return _section_label_search(cls) is not None


def _section_label(doc: Document) -> str | None:
    for el in _before_headline(doc):
        if not _names_section_label(el.get("class") or ""):
            continue
        text = element_text(el)
        if (
            0 < len(text) <= MAX_LABEL_LENGTH
            and len(_links(el, 2)) <= 1
            and not _IN_NOT_NAVIGATION(el)
            # A date in the label's place (axios's span.time-rubric "Jan 18, 2019") names none.
            and not (any(c.isdigit() for c in text) and only_date(text.lower()))
        ):
            return text
    return None


# Class/id marks of menu containers, besides <header> and <nav>: where a site lists its sections.
NAVIGATION_MARK = patterns.compile(r"menu|nav")


def _menu_links(doc: Document) -> list[Any]:
    """The links of the site's menus, computed once a page."""
    if "menu_links" not in doc.cache:
        menus = classed_matching(doc, NAVIGATION_MARK)
        menus += doc.tree.iter("header", "nav")
        doc.cache["menu_links"] = list(dict.fromkeys(a for m in menus for a in m.iter("a")))
    return doc.cache["menu_links"]


# Links that mark the current section in a site's navigation: a link, or the list item holding
# it, whose class has the token "active" or "current"/"selected" anywhere (as written). Found
# through the page's class index (classed_matching) rather than an XPath over every link and
# list item; the hint runs on the index's lowercased marks, _active_class then decides.
ACTIVE_NAV_HINT = patterns.compile(r"active|current|selected")


def _active_class(cls: str | None) -> bool:
    return bool(cls) and (" active " in f" {cls} " or "current" in cls or "selected" in cls)


def _active_nav_links(doc: Document) -> list[Any]:
    """The active links (`a.active`) and the links right under active list items (`li.active >
    a`), in document order."""
    marked = [el for el in classed_matching(doc, ACTIVE_NAV_HINT) if _active_class(el.get("class"))]
    links = [el for el in marked if el.tag == "a"]
    under_items = [child for el in marked if el.tag == "li" for child in el if child.tag == "a"]
    if not under_items:
        return links
    # Items nest and share links with the first list: back to document order, once each.
    position = {a: i for i, a in enumerate(doc.tree.iter("a"))}
    return sorted(set(links).union(under_items), key=position.__getitem__)


# Active links that are not the site's section navigation: tabs of 'popular/newest' widgets,
# comment threads, article bodies, sidebars and footers.
NOT_NAVIGATION_XPATH = (
    "ancestor::*[self::article or self::aside or self::footer"
    " or contains(@class, 'comment') or contains(@id, 'comment') or contains(@class, 'widget')"
    " or contains(@class, 'tab') or contains(@class, 'sidebar') or contains(@id, 'sidebar')]"
)
_IN_NOT_NAVIGATION = etree.XPath(NOT_NAVIGATION_XPATH)
_IN_MENU_LIST = etree.XPath("ancestor::ul or ancestor::nav")


def _active_nav_item(doc: Document) -> str | None:
    best, best_depth = None, -1
    for a in _active_nav_links(doc):
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
        if _IN_NOT_NAVIGATION(a) or not _IN_MENU_LIST(a):
            continue
        # Sub-sections sit deeper in the menu than their parent sections.
        depth = sum(1 for _ in a.iterancestors())
        if depth > best_depth:
            best, best_depth = text, depth
    return best


def find_category(
    doc: Document, selectors: dict[str, tuple[str, ...]], title: str | None = None
) -> tuple[str | None, str | None]:
    """The most specific section: breadcrumb, category link, active navigation, metadata, then
    the URL.

    `title` keeps the headline itself out of trails that end with it.
    """
    found = _find_category(doc, selectors, title)
    doc.cache["category"] = found[0]  # find_tags keeps the section out of the tags
    return found


def _find_category(
    doc: Document, selectors: dict[str, tuple[str, ...]], title: str | None
) -> tuple[str | None, str | None]:
    texts = profile_texts(doc, selectors, "category")
    if texts:
        return texts[-1], "profile"
    crumbs, source = _breadcrumb_items(doc, title)
    if crumbs:
        return crumbs[-1], source
    # WordPress themes mark the post's categories with rel="category tag".
    for a in with_rel(doc, "a", lambda rel: "category" in rel):
        text = element_text(a)
        if text:
            return text, "category-link"
    label = _section_label(doc)
    if label:
        return label, "section-label"
    active = _active_nav_item(doc)
    if active:
        return active, "navigation"
    section = _first_listed(jsonld_str((doc.jsonld_article() or {}).get("articleSection")))
    if section:
        return section, "json-ld"
    section = _first_listed(clean_text(unescaped(doc.meta_first("article:section") or "")))
    if section:
        return section, "meta"
    section = _url_section(doc)
    if section:
        return section, "url"
    return None, None


def _first_listed(section: str | None) -> str | None:
    """The first of the sections a page lists in one string ('Blogartikel,Digitalisierung';
    WordPress plugins join a post's categories and tags so): the post's main one."""
    if not section:
        return None
    return next((s.strip() for s in KEYWORD_SEPARATORS.split(section) if s.strip()), None)


# Host labels that are not sections: the site itself, mobile/AMP/CDN mirrors, language editions,
# and newsroom-wide names.
NOT_SECTION_HOST_LABELS = frozenset(
    {"www", "www2", "www3", "m", "mobile", "amp", "wap", "beta", "web", "en", "id", "cdn"}
    | {"static", "img", "images", "assets", "news", "berita", "portal", "home", "indeks"}
    | {"blog", "blogs", "hosted", "app", "apps", "api", "shop", "store", "ads"}
)
# Labels under a country code that belong to the suffix (portal.co.id, portal.com.sg), not to the
# site's name.
SECOND_LEVEL_SUFFIXES = frozenset(
    {"co", "com", "or", "org", "ac", "go", "net", "web", "my", "sch", "biz", "gov", "edu", "mil"}
)
# Path segments that name the kind of page, an archive or the whole newsroom, not a section.
GENERIC_PATH_SEGMENTS = frozenset(
    {"read", "baca", "berita", "news", "detail", "details", "artikel", "article", "articles"}
    | {"post", "posts", "amp", "id", "en", "story", "stories", "content", "view", "index"}
    | {"indeks", "arsip", "archive", "archives", "blog", "single", "page", "html", "m", "www"}
    | {"p", "s", "r", "d", "a", "n", "berita-terkini", "terkini", "latest", "breaking"}
    | {"breaking-news", "headlines", "headline", "top-stories"}
)
# Media formats: a /foto/ or /video/ segment says how the story is told, not its section.
FORMAT_SEGMENTS = frozenset(
    {"foto", "photo", "photos", "video", "videos", "galeri", "gallery", "tv", "infografis"}
    | {"infographic", "podcast", "readfoto", "multimedia"}
)
# Segments that introduce a section's name: /kanal/ekonomi/..., /category/politik/...
SECTION_PREFIX_SEGMENTS = frozenset({"kanal", "category", "kategori", "rubrik", "channel"})
# Pages about a tag, author or search, whose next segment is no section.
NOT_ARTICLE_SEGMENTS = frozenset(
    {"tag", "tags", "topik", "topic", "author", "penulis", "search", "cari", "wp-content"}
)
# A section slug: one to three short words. Longer hyphenated runs are headline slugs.
SECTION_SLUG = patterns.compile(r"^[a-z]{2,20}(?:-[a-z]{2,20}){0,2}$")


# Hosting platforms whose subdomains are whole sites (kabardesa.blogspot.com), not sections.
HOSTING_PLATFORMS = frozenset(
    {"blogspot", "wordpress", "medium", "tumblr", "github", "netlify", "vercel", "wixsite"}
    | {"weebly", "substack", "kompasiana", "blogger"}
)


def _site_labels(host: str) -> list[str]:
    """The host's labels left of the site's own name (bola.portal.co.id -> ['bola'])."""
    labels = host.split(".")
    suffix = 2 if len(labels) >= 3 and labels[-2] in SECOND_LEVEL_SUFFIXES else 1
    # Regional suffixes add a two-letter label (city.sc.gov.br).
    if suffix == 2 and len(labels) >= 4 and len(labels[-3]) == 2:
        suffix = 3
    if len(labels) <= suffix + 1 or labels[-(suffix + 1)] in HOSTING_PLATFORMS:
        return []
    return labels[: -(suffix + 1)]


def _path_section(path: str) -> tuple[str, str] | None:
    """The deepest section slug before the date, numeric id or headline slug of a path, with
    the path of the section's own page."""
    segments = [seg.lower() for seg in path.split("/") if seg]
    # The last segment is the headline slug (or a page number / 'amp' after it).
    while segments and (segments[-1].isdigit() or segments[-1] in GENERIC_PATH_SEGMENTS):
        segments.pop()
    found = None
    for i, seg in enumerate(segments[:-1]):
        if seg in NOT_ARTICLE_SEGMENTS:
            return None
        if seg in GENERIC_PATH_SEGMENTS or seg in FORMAT_SEGMENTS or seg in SECTION_PREFIX_SEGMENTS:
            continue
        if not SECTION_SLUG.match(seg):
            break  # a date, an id ('d-6453785') or the slug: sections come before these
        found = seg, "/" + "/".join(segments[: i + 1])
    return found


def _site_spelling(doc: Document, slug: str, section_url: str) -> str:
    """The section's name as the site's own links to it write it ('Sepak Bola' for
    /sepakbola), else the slug in title case."""
    want = slug.replace("-", "")
    target = section_url.rstrip("/")
    for a in doc.tree.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or want not in href.lower().replace("-", ""):
            continue
        with contextlib.suppress(ValueError):
            if urljoin(target, href).rstrip("/").lower() == target:
                text = element_text(a)
                if text and norm_text(text).replace(" ", "") == want:
                    return text
    return " ".join(word.capitalize() for word in slug.split("-"))


def _url_section(doc: Document) -> str | None:
    """The section a URL names, for pages that show none: a path segment before the date or
    slug (/nasional/2024/01/02/slug), else a section subdomain (bola.portal.example)."""
    url = doc.url or find_canonical_url(doc)
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if not host or host.replace(".", "").isdigit():
        return None
    origin = f"{parts.scheme or 'https'}://{host}"
    found = _path_section(parts.path)
    if found:
        slug, path = found
        return _site_spelling(doc, slug, origin + path)
    for label in _site_labels(host):
        if (
            label not in NOT_SECTION_HOST_LABELS
            and label not in FORMAT_SEGMENTS
            and SECTION_SLUG.match(label)
        ):
            return _site_spelling(doc, label, origin)
    return None


# Visible tag lists: WordPress rel="tag" links, then containers the CMSs name after tags/topics.
TAG_CONTAINER_CLASS = patterns.compile(r"tag|topik|topic")
# Site-wide topic lists (trending, popular, picks) and menus are not the article's tags: an
# element in or holding a <header>, <nav> or <footer>, or whose class or id (as written) names
# one of those or a trending/popular/picks box, or a tag cloud (the site's most used tags).
SITE_TOPICS_TAGS = frozenset({"header", "nav", "footer"})


def _marks_site_topics(el: Any) -> bool:
    if el.tag in SITE_TOPICS_TAGS:
        return True
    cls = el.get("class")
    if cls and (
        "trend" in cls
        or "popul" in cls
        or "pilihan" in cls
        or "hot" in cls
        or "choice" in cls
        or "cloud" in cls
        or "menu" in cls
        or "header" in cls
        or "footer" in cls
    ):
        return True
    ident = el.get("id")
    return bool(ident) and ("header" in ident or "footer" in ident)


# The two tests below walk the tree in Python: five times faster than the XPaths they replace
# (`ancestor-or-self::*[self::header or ... or contains(@class, 'trend') or ...]` and the same
# with `descendant::`), whose predicate libxml2 evaluates with a node-set per attribute test.
def _in_site_topics(el: Any) -> bool:
    """The element or one of its ancestors marks site-wide topics or a menu."""
    node = el
    while node is not None:
        if _marks_site_topics(node):
            return True
        node = node.getparent()
    return False


def _holds_site_topics(el: Any) -> bool:
    """One of the element's descendants marks site-wide topics or a menu."""
    return any(_marks_site_topics(sub) for sub in el.iterdescendants(etree.Element))


MAX_TAGS = 20
# A tag is a word or a name; a longer link text is a headline.
MAX_TAG_CHARS = 50


# Headings of boxes that list the site's own sections or picks, not the article's tags.
SITE_BOX_TITLE = patterns.compile(
    r"\b(pilihan|populer|terpopuler|trending|terhangat|hangat|hot|program|programs|kanal"
    r"|rubrik|channel|sections?|kategori|categories|editor'?s? choice|most popular)\b",
    re.I,
)
# Headings that say a box holds the article's own tags.
ARTICLE_TAGS_TITLE = patterns.compile(
    r"\b(tags?|topik|topics?|terkait|related|kata kunci|keywords?|label)\b", re.I
)
# Where a tag's link goes: tag and topic pages. A link to a section page is navigation.
TAG_URL = patterns.compile(
    r"/(tag|tags|topik|topic|topics|label|keyword|kata-kunci)(/|$|\?)|[?&]tag="
)
# Box headings are a few words; a longer text before a box is a sentence ('Baca juga: ...').
MAX_BOX_TITLE_WORDS = 4
HEADING_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
HEADING_CLASS = patterns.compile(r"title|head|label|judul")


_LINKS_AND_TEXT_OUTSIDE_LINKS = etree.XPath("descendant::a | descendant::text()[not(ancestor::a)]")


def _box_title(container) -> str:
    """The heading a box gives its links: text before its first link, or the heading just
    before the box."""
    before = []
    for node in _LINKS_AND_TEXT_OUTSIDE_LINKS(container):
        if not isinstance(node, str):
            break
        before.append(node)
    title = clean_text(" ".join(before))
    previous = container.getprevious()
    if (
        not title
        and previous is not None
        and isinstance(previous.tag, str)
        and (previous.tag in HEADING_TAGS or HEADING_CLASS.search(previous.get("class") or ""))
    ):
        title = element_text(previous)
    return title if len(title.split()) <= MAX_BOX_TITLE_WORDS else ""


def _navigation_hrefs(doc: Document) -> set[str]:
    """Hosts and paths of the site's menu links, computed once a page."""
    if "navigation_hrefs" not in doc.cache:
        doc.cache["navigation_hrefs"] = {_href_key(a.get("href")) for a in _menu_links(doc)} - {""}
    return doc.cache["navigation_hrefs"]


# A link's scheme and "www.", left out of its key (compiled once: _href_key runs on every menu
# link of a page, and re.sub looks its pattern up in re's cache each call).
_SCHEME_AND_WWW = patterns.compile(r"^(?:https?:)?//(?:www\.)?")
# What a link must open with for _SCHEME_AND_WWW to match it (menus link mostly by path).
_SCHEME_OPENINGS = ("http:", "https:", "//")


def _href_key(href: str | None) -> str:
    href = (href or "").strip()
    if href.startswith(_SCHEME_OPENINGS):
        href = _SCHEME_AND_WWW.sub("", href)
    return href.rstrip("/").lower()


def _is_section_link(a, doc: Document) -> bool:
    """A link to one of the site's sections (as its menus link them), not to a tag page."""
    href = (a.get("href") or "").strip()
    if not href or href.startswith(("#", "javascript:")) or TAG_URL.search(href):
        return False
    return _href_key(href) in _navigation_hrefs(doc)


def _page_category(doc: Document) -> str:
    if "category" not in doc.cache:
        find_category(doc, {})
    return norm_text(doc.cache["category"] or "")


# Links that are buttons, not tag pages: they go nowhere ('#'), run a script or an app
# (javascript:, mailto:, whatsapp:, fb-messenger:; any scheme but the web's), or share the page
# ('?share=twitter', as WordPress's Jetpack links its buttons). A share box's class can hold
# 'tag' ('share-tools--event-tag'), and a theme's name does ('tagdiv').
BUTTON_HREF = patterns.compile(r"^(?:#|(?!https?:)[a-z][a-z0-9+.-]*:)|[?&]share=", re.I)
# Social networks (by their sites' last two host labels): a link to one is a share button or the
# site's profile there, never one of the article's tags (a tag links to the site's own tag page).
SOCIAL_NETWORK_SITES = frozenset(
    {"facebook.com", "twitter.com", "x.com", "linkedin.com", "pinterest.com", "reddit.com"}
    | {"instagram.com", "whatsapp.com", "wa.me", "t.me", "telegram.me", "vk.com", "xing.com"}
    | {"threads.net", "bsky.app", "line.me"}
)
_ABSOLUTE_OPENINGS = ("http://", "https://", "//")


def _is_button(a: Any) -> bool:
    """A share, mail or script button written as a link (see BUTTON_HREF), or a link to a
    social network."""
    href = (a.get("href") or "").strip()
    if BUTTON_HREF.search(href):
        return True
    if not href.startswith(_ABSOLUTE_OPENINGS):
        return False
    # The host's last two labels, split off by hand: urlsplit costs more than the whole test.
    host = href.split("/", 3)[2].rpartition("@")[2].partition(":")[0].lower()
    return ".".join(host.rsplit(".", 2)[-2:]) in SOCIAL_NETWORK_SITES


def _tag_texts(links: list[Any], doc: Document, *, headed_as_tags: bool = False) -> list[str]:
    """The texts of a tag list's links, without the page's own section linked as a section
    (LA Times' tag box opens with 'Business'), and none for a box that lists the site's
    sections unless its heading says these are the article's tags. Buttons (_is_button) and the
    box's own label ('Temas relacionados:', a link to the tag index) are no tags. A box whose
    links that show text are mostly buttons shares the page (a tag box may hold a few icons), one
    whose links are mostly headlines lists other articles."""
    texts = [element_text(a) for a in links]
    buttons = [_is_button(a) for a in links]
    shown = sum(1 for text in texts if text)
    shown_buttons = sum(1 for text, button in zip(texts, buttons, strict=True) if text and button)
    if 2 * shown_buttons > shown or 2 * sum(len(t) > MAX_TAG_CHARS for t in texts) > len(links):
        return []
    named = [
        (a, text)
        for a, text, button in zip(links, texts, buttons, strict=True)
        if 0 < len(text) <= MAX_TAG_CHARS and not text.endswith(":") and not button
    ]
    category = _page_category(doc)
    if headed_as_tags:
        # Whether a link leads to a section then matters only for a tag that names the page's
        # section: asked of that one alone (the question reads every menu link of the page).
        sections = None
    else:
        sections = {i for i, (a, _) in enumerate(named) if _is_section_link(a, doc)}
        if len(sections) * 2 > len(named):
            return []
    return [
        text
        for i, (a, text) in enumerate(named)
        if not (
            norm_text(text) == category
            and (
                (_is_section_link(a, doc) if sections is None else i in sections)
                or not TAG_URL.search(a.get("href") or "")
            )
        )
    ]


def _visible_tags(doc: Document) -> list[str]:
    # rel="tag" marks WordPress tags; rel="category tag" marks its categories.
    links = [
        a
        for a in with_rel(doc, "a", lambda rel: " tag " in f" {rel} ")
        if "category" not in (a.get("rel") or "").lower()
    ]
    if links:
        return _tag_texts(links[:MAX_TAGS], doc, headed_as_tags=True)
    # Only elements whose marks (class first) hold a tag word can have a class that does.
    for container in classed_matching(doc, TAG_CONTAINER_CLASS):
        if container.tag in NOT_CONTAINER_TAGS or not TAG_CONTAINER_CLASS.search(
            (container.get("class") or "").lower()
        ):
            continue
        links = _links(container, MAX_TAGS + 1)
        if not 0 < len(links) <= MAX_TAGS or _in_site_topics(container):
            continue
        if _holds_site_topics(container):
            continue
        # A box headed 'Topik Pilihan' / 'Program' / 'Kanal', or one listing the site's
        # sections, is the site's, not the article's.
        heading = _box_title(container)
        if SITE_BOX_TITLE.search(heading):
            continue
        texts = _tag_texts(links, doc, headed_as_tags=bool(ARTICLE_TAGS_TITLE.search(heading)))
        if texts:
            return texts
    return []


# What separates keywords that a page writes as one string (meta keywords, a lone article:tag,
# JSON-LD keywords): commas and semicolons, and the Arabic, full-width and ideographic commas.
KEYWORD_SEPARATORS = patterns.compile(r"[,;\u060c\uff0c\u3001]")
# A headline this long (normalised) that a keyword holds whole makes the keyword the headline
# with decorations ('HEADLINE|...', '... | site'); a shorter one can be a topic's name.
MIN_HEADLINE_IN_KEYWORD = 20


def _keyword_values(value: Any) -> list[str]:
    """The strings of a keywords value: a string, or a list of them (lists within flattened)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _keyword_values(item)]
    return []


def _keywords(values: list[str]) -> list[str]:
    """Keywords from the values of a keyword field: several values are a keyword each (a comma
    may belong to one: 'Washington, D.C.'); a lone value holding separators is the whole list
    written in one string ('Business,Public Companies', 'US;GLOBAL;MARKETS')."""
    values = [unescaped(value) for value in values]  # 'PG&amp;E' holds a semicolon
    if len(values) == 1:
        values = KEYWORD_SEPARATORS.split(values[0])
    return [clean_text(value) for value in values]


def _not_tags(doc: Document) -> tuple[set[str], str]:
    """What a keyword list repeats besides its keywords: the page's descriptions (normalised),
    and its headline (normalised) as the record gives it."""
    article = doc.jsonld_article() or {}
    descriptions = [doc.meta_first(name) for name in ("og:description", "description")]
    descriptions += [doc.meta_first("twitter:description"), jsonld_str(article.get("description"))]
    title = doc.cache.get("title") or find_title(doc, {})[0]
    return {norm_text(unescaped(d)) for d in descriptions if d}, norm_text(title or "")


def _is_page_text(text: str, descriptions: set[str], title: str) -> bool:
    """`text` is the page's description or its headline (whole, or within decorations), which
    keyword lists and tag metas often repeat (a breadcrumb's last item, a CMS's
    'HEADLINE|...' code): no topic of the article."""
    norm = norm_text(text)
    if norm in descriptions:
        return True
    return bool(title) and (
        norm == title or (len(title) >= MIN_HEADLINE_IN_KEYWORD and title in norm)
    )


# A keyword that holds a contact rather than a topic: a URL ("https://twitter.com/AP_Sports",
# "twitter.com/name") or an e-mail address.
CONTACT_IN_KEYWORD = patterns.compile(r"://|^www\.|\.com/|\S@\S+\.[a-z]{2,}")
# Entity-type codes a newsroom's tagger writes into its keywords ("Paul George
# PROFESSIONAL_ATHLETE SPORTS_FIGURE PERSON"): capitals joined by underscores.
ENTITY_CODE = patterns.compile(r"^[A-Z]+(?:_[A-Z]+)+$")
# With such codes, the capitalised type words at the ends ("PERSON", "COACH") are codes too.
CAPITALS_WORD = patterns.compile(r"^[A-Z]{4,}$")


def _without_entity_codes(text: str) -> str:
    """`text` without its entity-type codes (ENTITY_CODE): "" when it held nothing else."""
    if "_" not in text:
        return text
    words = text.split()
    kept = [word for word in words if not ENTITY_CODE.match(word)]
    if len(kept) == len(words):
        return text
    while kept and CAPITALS_WORD.match(kept[0]):
        kept.pop(0)
    while kept and CAPITALS_WORD.match(kept[-1]):
        kept.pop()
    return " ".join(kept)


def _is_not_tag(text: str, descriptions: set[str], title: str) -> bool:
    """A keyword that names no topic: a handle or CMS code ('@mlive-river'), a label ('News:'),
    a credit written into the list ('Editor:B Kunto Wibisono': a byline label and a colon), a
    contact (a URL, an e-mail address), or the page's headline or description."""
    if text.startswith("@") or text.endswith(":"):
        return True
    if CONTACT_IN_KEYWORD.search(text):
        return True
    if ":" in text and (credit := LABEL.match(text)) is not None and credit.group(1):
        return True
    return _is_page_text(text, descriptions, title)


def find_tags(doc: Document, selectors: dict[str, tuple[str, ...]]) -> list[str]:
    """The article's tags: the profile's, else article:tag metas, the visible tag list, JSON-LD
    keywords, news_keywords. Not a tag: the page's headline or description repeated there, a
    handle or CMS code ('@mlive-river'), nor the site's own name (a site tagging its articles
    with its name says nothing of their topic).
    """
    texts = profile_texts(doc, selectors, "tags")
    if not texts:
        texts = _keywords(doc.meta.get("article:tag", []))
        if not texts:
            texts = _visible_tags(doc)
        if not texts:
            texts = _keywords(_keyword_values((doc.jsonld_article() or {}).get("keywords")))
        if not texts:
            texts = _keywords(_keyword_values(doc.meta_first("news_keywords")))
        if texts:
            descriptions, title = _not_tags(doc)
            texts = [
                t
                for t in map(_without_entity_codes, texts)
                if t and not _is_not_tag(t, descriptions, title) and not names_the_site(t, doc)
            ]
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
    described = doc.meta_first("og:description", "description", "twitter:description")
    if described:
        return unescaped(described)
    return jsonld_str((doc.jsonld_article() or {}).get("description"))


# A site's stand-in for a lead image, which its pages name when the article has none: a blank,
# a favicon or site icon, a placeholder, an avatar, the site's default share image or its logo.
# Read on the file name (a directory "sites/default/files" is Drupal's for every image), and
# "logo" only where the name is the logo's ("logo.png", "givewell_fb_logo.jpg",
# "mw_logo_social.png"), not where it shows one ("alibaba-logo-getty-1024.jpg").
STAND_IN_IMAGE_NAME = patterns.compile(
    r"(?:^|[_.-])(?:blank|favicon|placeholder|spacer|no-?image|"
    r"default-?(?:user|avatar|image|og|share|social|thumb)|"
    r"(?:og|opengraph|share|social|fb)[_-]?(?:image[_-]?)?default)(?:[_.-]|$)|"
    r"^logo|logo$|logo[_-](?:fb|facebook|twitter|social|og|share)|"
    r"(?:fb|facebook|twitter|social|og|share)[_-]logo",
    re.I,
)
# Every match holds one of these (most image URLs none): the regex runs only on those that do.
_stand_in_image_name_search = patterns.screened(
    STAND_IN_IMAGE_NAME,
    ("blank", "favicon", "placeholder", "spacer", "image", "default", "logo"),
    every_match=True,
)
# ...and by where it lives: WordPress.com's site icons (a hash for a file name); a WordPress
# theme's or plugin's own folder, or a Drupal theme's, which hold the site's artwork (its logo,
# its default share picture: "wp-content/themes/tnb-aquarius/images/tnb-pill.png"), where every
# article's pictures are uploads ("wp-content/uploads/", "sites/default/files/").
STAND_IN_IMAGE_PATH = (
    "/blavatar/",
    "/wp-content/themes/",
    "/wp-content/plugins/",
    "/sites/all/themes/",
    "/themes/custom/",
    "/themes/contrib/",
)


def is_stand_in_image(url: str) -> bool:
    """Whether `url` names a site's stand-in image rather than the article's own."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    if any(part in path for part in STAND_IN_IMAGE_PATH):
        return True
    name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return _stand_in_image_name_search(name) is not None


def find_image(doc: Document, selectors: dict[str, tuple[str, ...]]) -> str | None:
    """The lead image: the profile's, else og:image, twitter:image, JSON-LD image; the first
    that is not a site's stand-in (is_stand_in_image). None rather than a logo."""
    for selector in selectors.get("image", ()):
        for el in css(doc.tree, selector):
            src = el.get("content") or el.get("src") or el.get("data-src") or el.get("href")
            if src:
                return src.strip()
    for name in ("og:image", "og:image:url", "twitter:image", "twitter:image:src"):
        for image in doc.meta.get(name, ()):
            if image and image.strip() and not is_stand_in_image(image.strip()):
                return image.strip()
    value = (doc.jsonld_article() or {}).get("image")
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url")
    if isinstance(value, str) and value.strip() and not is_stand_in_image(value.strip()):
        return value.strip()
    return None


def find_canonical_url(doc: Document) -> str | None:
    """The page's canonical URL (<link rel=canonical>, else og:url); read once a page, as several
    finders ask for it."""
    if "canonical_url" not in doc.cache:
        doc.cache["canonical_url"] = _canonical_url(doc)
    return doc.cache["canonical_url"]


def _canonical_url(doc: Document) -> str | None:
    for link in listed(doc, "link"):
        if (link.get("rel") or "").strip().lower() == "canonical" and link.get("href"):
            return link.get("href").strip()
    return doc.meta_first("og:url")
