"""The article body: find the container, cut the chrome, return clean paragraphs.

The container is chosen in this order:

1. the profile's `body` selectors, when one matches (source "profile");
2. a known CMS body container (`itemprop=articleBody`, WordPress `.entry-content`, class names
   such as `article-body` / `detail__body-text` / `read__content`), when it holds most of the
   page's article-like text (source "container");
3. otherwise a readability-style score: every paragraph-like element gives points (length,
   commas) to its parent and, decaying, to its ancestors; the best element, weighed by its link
   density, wins, and sibling blocks that carry the same article are added (source "scored").

Inside the container the walker turns the markup into text blocks in reading order, skipping
chrome elements (chrome.element_kind) and keeping an audit of each; chrome.filter_blocks then cuts
the chrome lines (inserts, ad markers, share bars, related lists...). No chrome markup cuts the
element that holds the article's paragraphs (prose_holder: judged by paragraph mass, in the page
and in the container), so a wrapper named `post-share-wrap` that holds the text and the share bar
loses only the share bar. Image captions go to
`captions`. When the page has no usable container at all, JSON-LD `articleBody` is the fallback
(source "jsonld"), and a photo page with no prose gets its figure captions (source "captions").

Speed matters (the crawl and `reextract` run this on every page): the page-wide pass only
scores paragraph elements and looks at the markup of their ancestors (memoised); the per-element
work (class tokens, link text) is cached or done in one XPath call.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from newsarchive.extract import patterns
from newsarchive.extract.chrome import (
    _NO_NAMES,
    DEFAULT_INSERT_RE,
    INSERT_MAX_CHARS,
    JUNK_TAGS,
    Block,
    attr_key,
    compile_insert_labels,
    element_kind,
    element_markup,
    filter_blocks,
    line_kind,
    word_set,
    word_tuple,
)
from newsarchive.extract.document import Document, clean_text, css, first_descendant
from newsarchive.items import Removed

# Block-level tags: each starts a new text block.
BLOCK_TAGS = word_set(
    """
    p div section article main h1 h2 h3 h4 h5 h6 ul ol li dl dt dd blockquote pre table
    thead tbody tfoot tr td th caption figure figcaption header footer address center hr
    details summary fieldset legend hgroup aside nav form body html
    """
)
# What the walker notes about the text it collects: subheads, lists, links, bold.
HEADING_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
LIST_TAGS = frozenset({"ul", "ol", "dl"})
LINK_TAGS = frozenset({"a"})
BOLD_TAGS = frozenset({"strong", "b"})
# Inline tags: a chrome class on them only counts for kinds that can sit inside a sentence's
# paragraph (an ad slot, a share button, a caption); never for links (`<a class="tag">` is an
# in-text link to a tag page).
INLINE_TAGS = word_set(
    """
    a span strong b em i u font small big sup sub label time abbr cite q mark code s del
    ins kbd var tt
    """
)
# The chrome kinds a class may give an inline element.
INLINE_CHROME_KINDS = word_set("ad share caption credit hidden embed cta media")

# Elements whose text counts as a paragraph when scoring containers: text tags on all their
# text, wrappers on the text they hold directly.
_TEXT_TAGS = word_tuple("p pre td blockquote dd li h2 h3")
_TEXT_TAG_SET = frozenset(_TEXT_TAGS)
_WRAPPER_TAGS = word_tuple("div section article font span")
# Paragraph-level elements: they give points to containers, they are not containers themselves.
_NOT_CONTAINERS = word_set("p li td h2 h3 pre span font blockquote dd")
# How many of the best-scoring containers are weighed in full (link density, class).
TOP_CANDIDATES = 12
# What a body-like class or id (POSITIVE_CLASS) adds to a container's score.
POSITIVE_CLASS_BONUS = 5
# Class/id tokens of well-known body containers (WordPress, schema.org microdata, news CMSs).
BODY_CLASS = patterns.compile(
    r"(?:.*[-_])?(?:article|story|post|entry|news|detail|read|blog|single|main|page|text|berita|"
    r"isi|artikel|konten|content|itp)[-_]*(?:body|content|text|detail|entry|isi|copy|konten|"
    r"artikel|berita|bodycontent)(?:[-_]*(?:inner|wrapper|wrap|container|main|area|text|body|"
    r"content|detail|\d+))*|articlebody|article_body|td-post-content|entry|story|post-body|"
    r"the-content|body-copy|txt-article|isi-berita|content-detail|detail-content"
)
# Class/id words that make a container more likely to be the article (readability's list).
POSITIVE_CLASS = patterns.compile(
    r"article|body|content|entry|main|page|post|text|blog|story|berita|detail|isi|artikel|read",
    re.I,
)
# How much a paragraph gives to its ancestors, by distance (readability's decay).
ANCESTOR_DECAY = (1.0, 0.5, 1 / 6, 1 / 9, 1 / 12)
# A known container must hold at least this much article-like text to be trusted.
MIN_CONTAINER_CHARS = 60
# Disjoint from the scored best, articleBody microdata with this much text still wins: it is the
# page's own statement of where the article is.
ARTICLEBODY_TRUSTED_CHARS = 250
# A body container nested in another one replaces it when it holds this share of its text.
TIGHT_CONTAINER_SHARE = 0.85
# What prune() drops: the never-text tags except images.
PRUNED_TAGS = tuple(JUNK_TAGS - {"img"})
# Caption boxes around images: how far up from the image, which tags, how much text at most.
MEDIA_BOX_LEVELS = 4
MEDIA_BOX_TAGS = word_set("div span figure a td center section dl dd dt table tbody tr p")
MEDIA_BOX_MAX_CHARS = 300
CAPTION_SET_APART_MAX_CHARS = 200
# Lines above the headline inside the container longer than this are text, not a kicker.
KICKER_MAX_CHARS = 150
# Kinds from markup that the element's own text may correct.
REFINED_KINDS = word_set("hidden related sidebar ad tags share footer nav")
# Inline tags an insert label is set in (`<strong>Baca juga:</strong>`).
INSERT_LABEL_TAGS = word_set("strong b span em i u font")
# A "read also" label at the end of the running text, right before a link: the label and the
# link are an insert even inside a paragraph. Only with a colon, so "baca juga" in a sentence
# followed by a link is left alone.
LABEL_BEFORE_LINK = patterns.compile(
    r"(?:^|(?<=[\s.!?;,(\[]))(?P<label>(?:baca|lihat|simak|tonton|saksikan) juga|baca|"
    r"berita terkait|artikel terkait|read also|also read|see also|related)\s*[:：]\s*$",
    re.I,
)


def _ends_in_colon(text: str) -> bool:
    r"""The text's last character but blanks is a colon: true of every text LABEL_BEFORE_LINK
    finds its label in (it ends `[:：]\s*$`, and str.rstrip strips what \s matches)."""
    return text.rstrip().endswith((":", "\uff1a"))


# The longest audit text kept per removed piece (comment sections can be long).
AUDIT_MAX_CHARS = 600
# Where the article's paragraphs are, measured by text mass rather than by class names: portals
# wrap the whole text in elements named for a feature they also hold (`post-share-wrap` holding
# the paragraphs and the share bar, `author-content`), and a chrome rule must never cut the
# element that holds the article. A prose paragraph is a <p> at least this long with few links
# (teaser summaries and bios are short or stand alone in their own boxes).
PROSE_MIN_CHARS = 80
PROSE_MAX_LINK_SHARE = 0.3
# The parent of the most prose holds the article when it has several such paragraphs and this
# much text, clearly more than any other parent (teaser summaries sit one per box, so a list of
# them never adds up under one parent), and its text is mostly that prose (a teaser list with its
# summaries under one parent is half headlines and dates).
PROSE_MIN_PARAGRAPHS = 2
PROSE_MIN_HOLDER_CHARS = 200
PROSE_LEAD = 2.0
PROSE_MIN_SHARE = 0.7


@dataclass
class BodyResult:
    text: str | None
    removed: list[Removed] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    source: str | None = None  # profile | container | scored | jsonld | captions


def extract_body(
    doc: Document,
    *,
    selectors: dict[str, tuple[str, ...]],
    chrome_remove: tuple[str, ...] = (),
    insert_labels: tuple[str, ...] = (),
    headline: Any = None,
) -> BodyResult:
    """The article text of a parsed page. Mutates doc.tree (chrome is cut out of it).

    `headline` is a headline element that is no <h1> (a heading that opens the article): it and
    the short lines above it in the container are left out as an <h1> and its kickers are."""
    tree = doc.tree
    insert_re = compile_insert_labels(insert_labels) if insert_labels else DEFAULT_INSERT_RE
    profile_chrome: set[Any] = set()
    for selector in chrome_remove:
        profile_chrome.update(css(tree, selector))
    prune(tree)

    result = BodyResult(text=None)
    for selector in selectors.get("body", ()):
        found = [el for el in css(tree, selector) if clean_text(_text(el))]
        if found:
            result = _body_from(
                doc, _outermost(found), "profile", insert_re, profile_chrome, headline
            )
            break
    if not result.text:
        # No profile, or the profile's container held nothing but chrome: the generic path.
        containers, source = find_containers(tree)
        if containers:
            result = _body_from(doc, containers, source, insert_re, profile_chrome, headline)
    if not result.text:
        jsonld_text = _jsonld_body(doc, insert_re)
        if jsonld_text:
            result.text, result.source = jsonld_text, "jsonld"
    if not result.text:
        gallery = _gallery_captions(tree)
        if gallery:
            # A photo page: its captions are all the text it has.
            result.text, result.source = "\n\n".join(gallery), "captions"
            result.captions = gallery
    if not result.text:
        result.source = None
    for item in result.removed:
        if len(item.text) > AUDIT_MAX_CHARS:
            item.text = item.text[: AUDIT_MAX_CHARS - 1] + "…"
    return result


def _body_from(
    doc: Document,
    containers: list[Any],
    source: str | None,
    insert_re: re.Pattern[str],
    profile_chrome: set[Any],
    headline: Any = None,
) -> BodyResult:
    """Walk the containers, cut the chrome, and assemble text, audit and captions."""
    media_boxes: set[Any] = set()
    for container in containers:
        media_boxes |= find_media_boxes(container)
    walker = Walker(insert_re, profile_chrome, media_boxes, headline)
    for container in containers:
        walker.walk_container(container)
    filtered = filter_blocks(walker.finish(), insert_re)
    if filtered.kept and _is_headline(doc, filtered.kept[0].text):
        # The headline repeated at the top of the container (not in an <h1>).
        filtered.removed.append(Removed("title", filtered.kept.pop(0).text))
    before, after = region_captions(containers)
    return BodyResult(
        text="\n\n".join(b.text for b in filtered.kept) or None,
        removed=walker.removed + filtered.removed,
        captions=_unique(before + walker.captions + filtered.captions + after),
        source=source,
    )


def _text(el: Any) -> str:
    """An element's text (text_content() without its XPath call: about twice as fast; a leaf's
    .text, as text_content reads it)."""
    if not len(el):
        return el.text or ""
    return etree.tostring(el, method="text", encoding=str, with_tail=False)


def caption_of(box: Any) -> str:
    """The caption of a figure or photo box: its <figcaption>s, else its caption-class parts
    (a credit set apart in its own element is not caption), else nothing."""
    parts = [clean_text(_text(c)) for c in box.iter("figcaption")]
    if not parts:
        parts = [
            clean_text(_text(el))
            for el in box.iter()
            if el is not box and element_markup(el)[0] == "caption"
        ]
    return " ".join(p for p in parts if p)


# How far above the body container the article's own region (the element that also holds the
# headline) is looked for, to find the lead photo's caption.
REGION_LEVELS = 4


def _caption_hint(names: str) -> bool:
    """A class or id value that names a caption: `capt`, `keterangan`, `ket-foto` or `ketfoto`
    in it, in any case. (str's C-level `in` on the lowercased value, not a regex with re.I: same
    answers, as only `k` among these letters has a non-ASCII case form, the Kelvin sign, which
    lower() also maps to `k`.)"""
    low = names.lower()
    return "capt" in low or "keterangan" in low or "ket-foto" in low or "ketfoto" in low


def headline_region(container: Any) -> Any | None:
    """The nearest ancestor of the container, at most REGION_LEVELS up and below <body>, that
    holds an <h1>: the part of the page the article's photos and their captions belong to."""
    node = container.getparent()
    for _ in range(REGION_LEVELS):
        if node is None or node.tag in ("body", "html"):
            return None
        if first_descendant(node, "h1") is not None:
            return node
        node = node.getparent()
    return None


def region_captions(containers: list[Any]) -> tuple[list[str], list[str]]:
    """Captions of the article's photos outside the body container (the lead photo above it):
    figcaptions and caption-class elements of the region that holds the headline, outside
    related lists, sidebars and other chrome. Returns those before and after the container."""
    region = headline_region(containers[0])
    if region is None:
        return [], []
    starts = set(containers)
    # The last node of the subtree being passed over (a container's, or a caption's nested
    # parts): the walk skips to it instead of filing each node of the body in a set.
    skip_to: Any = None
    before: list[str] = []
    after: list[str] = []
    seen_container = False
    for el in region.iter():
        if el in starts:
            seen_container = True
            if skip_to is None:
                skip_to = _last_node(el)
        if skip_to is not None:
            if el is skip_to:
                skip_to = None
            continue
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if tag != "figcaption":
            # Cheap tests first: only a class or id naming a caption can make one.
            present = el.keys()
            if "class" not in present and "id" not in present:
                continue
            names = (el.get("class") or "") + (el.get("id") or "")
            if not names or not _caption_hint(names) or element_markup(el)[0] != "caption":
                continue
        if len(el):
            skip_to = _last_node(el)  # nested caption parts are part of this one
        if _in_foreign_chrome(el, region):
            continue
        text = clean_text(_text(el))
        if text:
            (after if seen_container else before).append(text)
    return before, after


def _last_node(el: Any) -> Any:
    """The last node of the element's subtree in document order (the element when it has no
    children): its last child's last node, and so on down."""
    while len(el):
        el = el[-1]
    return el


def _in_foreign_chrome(el: Any, stop: Any) -> bool:
    node = el.getparent()
    while node is not None and node is not stop:
        if element_markup(node, in_body=False)[0] in _FOREIGN_CAPTION_KINDS:
            return True
        node = node.getparent()
    return False


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _is_headline(doc: Document, text: str) -> bool:
    """The text is the page's headline as its metadata states it."""
    if len(text) > 300:
        return False
    wanted = text.casefold()
    article = doc.jsonld_article() or {}
    headline = article.get("headline")
    names = [doc.meta_first("og:title"), doc.meta_first("twitter:title")]
    names.append(headline if isinstance(headline, str) else None)
    return any(name and clean_text(name).casefold() == wanted for name in names)


def find_media_boxes(tree: Any) -> set[Any]:
    """Boxes that hold an image and a little text and nothing else: the text is its caption.

    Looked for inside the chosen container only. A box is climbed to from each image, up to a
    few levels, while it stays short and holds no paragraph; icons (tiny images) do not count.
    A paragraph is a caption box only when its short text is set apart (italic or small), and
    so is such a short paragraph right under an image that stands alone.
    """
    boxes: set[Any] = set()
    for img in tree.iter("img"):
        width, height = img.get("width", ""), img.get("height", "")
        if (width.isdigit() and int(width) < 60) or (height.isdigit() and int(height) < 60):
            continue
        node, best, bare = img.getparent(), None, None
        for _ in range(MEDIA_BOX_LEVELS):
            if node is None or node.tag not in MEDIA_BOX_TAGS:
                break
            # A box holds no paragraph (tested first: it spares reading a big box's text).
            if node.tag != "p" and first_descendant(node, "p") is not None:
                break
            text_len = len(_text(node).strip())
            if text_len > MEDIA_BOX_MAX_CHARS:
                break
            if node.tag == "p" and text_len and not _set_apart(node):
                break
            if text_len:
                best = node
            else:
                bare = node
            node = node.getparent()
        if best is None and bare is not None:
            after = bare.getnext()
            if after is not None and after.tag in ("p", "div") and _set_apart(after):
                best = after
        if best is not None:
            boxes.add(best)
    return boxes


def _set_apart(el: Any) -> bool:
    """Short text all in italic/small type: how captions are set when they have no markup."""
    text = _text(el).strip()
    if not text or len(text) > CAPTION_SET_APART_MAX_CHARS:
        return False
    styled = sum(len(_text(e).strip()) for e in el.iter("em", "i", "small", "figcaption"))
    return styled >= 0.9 * len(text)


def prune(tree: Any) -> None:
    """Drop what is never text (scripts, styles, media, form controls, HTML comments).

    Images stay: they carry no text, and they tell caption boxes apart (find_media_boxes).
    """
    etree.strip_elements(
        tree, etree.Comment, etree.ProcessingInstruction, *PRUNED_TAGS, with_tail=False
    )


def _outermost(elements: list[Any]) -> list[Any]:
    """Elements not nested in another element of the list, in document order."""
    chosen = set(elements)
    out = []
    for el in elements:
        parent = el.getparent()
        nested = False
        while parent is not None:
            if parent in chosen:
                nested = True
                break
            parent = parent.getparent()
        if not nested:
            out.append(el)
    return out


# ---------------------------------------------------------------------------------------------
# Choosing the container
# ---------------------------------------------------------------------------------------------


def _own_text(el: Any) -> tuple[str, int]:
    """The text an element shows outside its block-level children, and how much of it is links."""
    parts = [el.text or ""]
    links = 0
    for child in el:
        tag = child.tag
        if isinstance(tag, str) and tag not in BLOCK_TAGS:
            text = _text(child)
            parts.append(text)
            if tag == "a":
                links += len(text.strip())
            elif len(child):
                links += _link_len(child)
        if child.tail:
            parts.append(child.tail)
    return " ".join(parts), links


def _text_holders(elements: Iterable[Any]) -> list[Any]:
    """The elements that have text of their own (not only inside child elements).

    One loop rather than a test function per element (this runs over every wrapper of the page),
    and isspace() rather than strip(): the same test (both go by str.isspace) without a copy.
    """
    out = []
    for el in elements:
        text = el.text
        if text and not text.isspace():
            out.append(el)
            continue
        for child in el:
            tail = child.tail
            if tail and not tail.isspace():
                out.append(el)
                break
    return out


def _bare_link(el: Any) -> bool:
    """An element whose only content is one link (checked without reading its text)."""
    if len(el) != 1 or el[0].tag != "a" or (el.text and el.text.strip()):
        return False
    tail = el[0].tail
    return not (tail and tail.strip())


# Text nodes with a link around them: one pass over the text, each checked against its ancestors.
# (`.//a//text()` merges one node-set per link, quadratic when links nest inside links, as a
# page with thousands of nested inline tags makes them.) Text inside an element that is itself
# inside a link counts as link text: it is the link's text.
_LINK_TEXTS = etree.XPath("descendant::text()[ancestor::a]")
_INSIDE_LINK = etree.XPath("boolean(ancestor::a)")
# The same text nodes under a root no link encloses (<body>), found from the outermost links
# down: a third faster than testing every text node of the page for a link ancestor. Blank ones
# are left in C: they count nothing (str.strip strips what normalize-space does, and more), and
# a third of the link text nodes of a news page are the line breaks around a link's image.
_OUTERMOST_LINK_TEXTS = etree.XPath(
    "descendant::a[not(ancestor::a)]/descendant::text()[normalize-space()]"
)
# libxml2 merges the per-link node-sets of the XPath above at a cost growing with the set merged
# so far: quadratic in the links (20,000 links 0.4 s, 200,000 a minute). Past this many links,
# one pass over the page's text nodes finds the same ones in the same order in linear time
# (a third slower on a news page's few hundred links).
MANY_LINKS = 2000
_COUNT_LINKS = etree.XPath("count(descendant::a)")
_LINK_TEXTS_IN_ONE_PASS = etree.XPath("descendant::text()[ancestor::a][normalize-space()]")
# Up to this much text an element is measured with one XPath call (no element objects are made
# for its links); bigger ones are walked.
XPATH_LINK_MAX_CHARS = 50_000


def _link_len(el: Any, text_len: int | None = None) -> int:
    """Characters of link text inside an element."""
    inside_link = _INSIDE_LINK(el)
    if not inside_link and first_descendant(el, "a") is None:
        return 0
    if text_len is not None and text_len <= XPATH_LINK_MAX_CHARS:
        return sum(len(t.strip()) for t in _LINK_TEXTS(el))
    if inside_link:
        return sum(len(t.strip()) for t in el.itertext())
    n = 0
    pending = list(el)
    while pending:  # outermost links only: a link's own text already holds its nested links'
        child = pending.pop()
        if child.tag == "a":
            n += sum(len(t.strip()) for t in child.itertext())
        elif isinstance(child.tag, str):
            pending.extend(child)
    return n


class _LinkChars:
    """_link_len for the elements of one tree that is not changed meanwhile (find_containers).

    The scoring pass measures the link text of every paragraph and then of the best containers,
    which nest: one `.//text()[ancestor::a]` per element reads the same text nodes (and climbs
    their ancestors) again for each. Here the link text nodes are read once under the root
    (<body>, or the whole page: no link encloses it, so they are the text under its outermost
    links, _OUTERMOST_LINK_TEXTS), each is counted on its innermost <a>, and an element's link text is the sum over its links: the
    same text nodes, the same per-node strip, so the same numbers as _link_len. Elements inside
    a link, <a> elements themselves and very long texts keep _link_len's own branches.
    """

    def __init__(self, root: Any) -> None:
        self.root = root
        self.own: dict[Any, int] | None = None
        # Element -> whether it is an <a> or inside one (_in_link).
        self._linked: dict[Any, bool] = {}

    def _in_link(self, el: Any) -> bool:
        """Whether an <a> encloses the element: its ancestors climbed only up to one already
        answered for (the measured elements are paragraphs of a few containers: they share
        their ancestors). Several times faster than iterancestors("a"), which builds its tag
        matcher on each call."""
        linked = self._linked
        chain = []
        node = el.getparent()
        while node is not None and node not in linked:
            if node.tag == "a":
                linked[node] = inside = True
                break
            chain.append(node)
            node = node.getparent()
        else:
            inside = node is not None and linked[node]
        for passed in chain:  # below the answer's element: inside a link exactly when it is
            linked[passed] = inside
        return inside

    def _index(self) -> dict[Any, int]:
        own: dict[Any, int] = {}
        many = _COUNT_LINKS(self.root) > MANY_LINKS
        for text in (_LINK_TEXTS_IN_ONE_PASS if many else _OUTERMOST_LINK_TEXTS)(self.root):
            n = len(text.strip())
            if not n:
                continue
            el = text.getparent()
            if text.is_tail:  # a tail is text of the parent of the element it follows
                el = el.getparent()
            while el.tag != "a":
                el = el.getparent()
            own[el] = own.get(el, 0) + n
        return own

    def __call__(self, el: Any, text_len: int) -> int:
        if text_len > XPATH_LINK_MAX_CHARS or el.tag == "a" or self._in_link(el):
            return _link_len(el, text_len)
        own = self.own
        if own is None:
            own = self.own = self._index()
        # map in C rather than a generator resuming in Python for each link.
        return sum(map(own.get, el.iter("a"), itertools.repeat(0)))


def _body_names(names: tuple[str | None, str | None, str | None]) -> bool:
    cls, ident, itemprop = names
    return bool(
        (cls and _body_attr(cls))
        or (ident and _body_attr(ident))
        or (itemprop and "articlebody" in itemprop.lower())
    )


_body_attr_cache: dict[str, bool] = {}


def _may_name_body(token: str) -> bool:
    """The token holds a word every BODY_CLASS match holds (each of its branches ends in or is
    one of these): a token with none is no body container, told with str's C-level `in` instead
    of the regex backtracking over each of the token's dashes."""
    return (
        "body" in token
        or "content" in token
        or "text" in token
        or "detail" in token
        or "entry" in token
        or "isi" in token
        or "copy" in token
        or "konten" in token
        or "artikel" in token
        or "berita" in token
        or "story" in token
        or "txt-article" in token
    )


def _body_attr(value: str) -> bool:
    """A class or id value names a body container (cached; numbers do not matter)."""
    hit = _body_attr_cache.get(value)
    if hit is None:
        key = attr_key(value)
        hit = _body_attr_cache.get(key)
        if hit is None:
            # A token's words are the value's: a value with none of them has no body token.
            hit = _may_name_body(key) and any(
                len(t) < 60 and _may_name_body(t) and BODY_CLASS.fullmatch(t) for t in key.split()
            )
        if len(_body_attr_cache) < 50_000:
            _body_attr_cache[key] = _body_attr_cache[value] = hit
    return hit


class _Markers:
    """What the markup says about each element that holds text, looked up lazily and memoised.

    An element is "known" (a well-known body container) or "chrome" (its tag, role, class or id
    says so) or neither. The nearest marker above a paragraph decides: chrome excludes it, a
    body container protects it from any chrome further up (broken markup nests articles in
    headers). Chrome that holds most of the page's text is not chrome, whatever its class says,
    nor is chrome around the article's paragraphs (`protect`, from prose_holder).
    """

    def __init__(self, root: Any) -> None:
        self.root = root
        self._page_len: int | None = None
        self.memo: dict[Any, str | None] = {}
        self.known: list[Any] = []
        self.protected: set[Any] = set()

    def protect(self, elements: list[Any]) -> None:
        """These elements hold the article's prose: never chrome (the memo starts over)."""
        self.protected.update(elements)
        self.memo.clear()
        self.known.clear()

    def _own(self, el: Any) -> str | None:
        kind, names = element_markup(el, in_body=False)
        if names != _NO_NAMES and _body_names(names):
            self.known.append(el)
            return "known"
        if kind is None or el.tag in INLINE_TAGS or el.tag in ("html", "body"):
            return None
        if self.protected and kind != "comments" and el in self.protected:
            return None
        if kind == "media":
            return "chrome" if len(_text(el)) <= MEDIA_BOX_MAX_CHARS else None
        if kind != "comments":
            # An element's text is part of the page's: past 800 characters the page has text,
            # and only then is the page's length read (serialising all of it costs a tenth of
            # a millisecond, and most chrome is shorter).
            text_len = len(_text(el))
            if text_len > 800 and text_len > 0.5 * self.page_len():
                return None
        return "chrome"

    def page_len(self) -> int:
        """The length of the page's text (read once, when first needed)."""
        if self._page_len is None:
            self._page_len = len(_text(self.root))
        return self._page_len

    def nearest(self, el: Any) -> str | None:
        """The nearest marker at or above the element."""
        memo = self.memo
        chain = []
        node = el
        while node is not None and node not in memo:
            chain.append(node)
            node = node.getparent()
        state = memo[node] if node is not None else None
        for n in reversed(chain):
            state = self._own(n) or state
            memo[n] = state
        return memo[el]


@dataclass
class Prose:
    """Where a page's (or container's) prose paragraphs are."""

    holder: Any  # the parent of the most prose: the article's paragraphs
    chars: int  # its prose text
    others: list[Any]  # other parents holding enough prose to be an article of their own


def prose_holder(paragraphs: Iterable[tuple[Any, int, int]]) -> Prose | None:
    """The element whose <p> children hold the article's prose.

    `paragraphs` are (element, text length, link text length) of the candidate paragraphs; only
    prose paragraphs (PROSE_MIN_CHARS, PROSE_MAX_LINK_SHARE) count. None when no parent holds
    several of them and clearly more than any other parent. (Whether its text is mostly that
    prose is `mostly_prose`, checked apart: it reads the holder's text, so only when needed.)
    """
    mass: dict[Any, int] = {}
    count: dict[Any, int] = {}
    for el, length, links in paragraphs:
        if el.tag != "p" or length < PROSE_MIN_CHARS or links > PROSE_MAX_LINK_SHARE * length:
            continue
        parent = el.getparent()
        if parent is None:
            continue
        mass[parent] = mass.get(parent, 0) + length
        count[parent] = count.get(parent, 0) + 1
    holder, chars, second = None, 0, 0
    for el, m in mass.items():
        if m > chars:
            holder, chars, second = el, m, chars
        elif m > second:
            second = m
    if (
        holder is None
        or count[holder] < PROSE_MIN_PARAGRAPHS
        or chars < PROSE_MIN_HOLDER_CHARS
        or chars < PROSE_LEAD * second
    ):
        return None
    others = [
        el
        for el, m in mass.items()
        if el is not holder and count[el] >= PROSE_MIN_PARAGRAPHS and m >= PROSE_MIN_HOLDER_CHARS
    ]
    return Prose(holder, chars, others)


def mostly_prose(prose: Prose) -> bool:
    """The holder's text is mostly its prose paragraphs (a teaser box with its summaries under one
    parent is half headlines and dates)."""
    return prose.chars >= PROSE_MIN_SHARE * len(_text(prose.holder).strip())


def _protect_prose(entries: list[tuple[Any, str, int, int]], markers: _Markers) -> None:
    """Overrule chrome markup around the page's prose holder, unless an unmarked element holds
    enough prose to be the article itself: a page whose article is unmarked keeps its chrome as
    chrome (a preloaded "next article" box stays cut even when it is the longer text)."""
    prose = prose_holder((el, length, links) for el, _, length, links in entries)
    if prose is None or markers.nearest(prose.holder) != "chrome":
        return
    chain = _chain(prose.holder)
    if any(element_markup(n, in_body=False)[0] == "comments" for n in chain):
        return  # a long comment thread is still comments
    if any(markers.nearest(el) != "chrome" for el in prose.others) or not mostly_prose(prose):
        return
    markers.protect(chain)


def _chain(el: Any, stop: Any = None) -> list[Any]:
    """The element and its ancestors, up to (not including) `stop`."""
    out = []
    while el is not None and el is not stop:
        out.append(el)
        el = el.getparent()
    return out


def find_containers(tree: Any) -> tuple[list[Any], str | None]:
    """The element(s) holding the article, and how they were found."""
    body = tree.find("body")
    root = body if body is not None else tree
    markers = _Markers(root)
    link_len = _LinkChars(root)

    score: dict[Any, float] = {}
    good: dict[Any, float] = {}  # article-like text in the subtree (no decay)
    # Text tags are scored on all their text; wrappers (div, span...) only when they hold text
    # directly. (Not found with XPath `//text()/..`: libxml2 merges that node-set quadratically.)
    wrappers = _text_holders(root.iter(*_WRAPPER_TAGS))
    entries: list[tuple[Any, str, int, int]] = []
    for el in itertools.chain(root.iter(*_TEXT_TAGS), wrappers):
        if el.tag in _TEXT_TAG_SET:
            if _bare_link(el):
                continue  # menus and link lists: never a paragraph
            text = _text(el)
            length = len(text.strip())
            if length < 25:
                continue
            links = link_len(el, length)
        else:
            text, links = _own_text(el)
            length = len(text.strip())
            if length < 25:
                continue
        entries.append((el, text, length, links))
    _protect_prose(entries, markers)

    for el, text, length, links in entries:
        tag = el.tag
        density = min(1.0, links / length) if length else 1.0
        if density > 0.6 or markers.nearest(el) == "chrome":
            continue
        points = (1 + text.count(",") + text.count("،") + min(length // 100, 3)) * (1 - density)
        if tag in ("li", "h2", "h3"):
            points *= 0.5
        weight = length * (1 - density)
        good[el] = good.get(el, 0.0) + weight
        if tag in _TEXT_TAG_SET:
            node, level = el.getparent(), 0
        else:
            node, level = el, 0
            good[el] -= weight  # counted again below as level 0
        while node is not None:
            good[node] = good.get(node, 0.0) + weight
            if level < len(ANCESTOR_DECAY):
                score[node] = score.get(node, 0.0) + points * ANCESTOR_DECAY[level]
            level += 1
            node = node.getparent()

    if not score:
        return [], None

    # Link density and class only lower or nudge a score: weighing the best few by raw points
    # finds the same winner without measuring every ancestor of every paragraph.
    ranked = sorted(
        (
            (points + good.get(el, 0.0) / 1000, el)
            for el, points in score.items()
            if el.tag not in _NOT_CONTAINERS
        ),
        key=lambda item: item[0],
        reverse=True,
    )[:TOP_CANDIDATES]
    best, best_score = None, 0.0
    for raw, el in ranked:
        # Weighing only lowers a candidate's raw score (link density, the list factor) or adds
        # the class bonus: once raw + bonus cannot beat the best, neither can the rest (ranked
        # by raw), and their text, the whole page's for the outer ones, is not read. The margin
        # leaves float rounding no say.
        if raw + POSITIVE_CLASS_BONUS + 1e-6 * (1 + raw) < best_score:
            break
        text_len = len(_text(el).strip()) or 1
        density = min(1.0, link_len(el, text_len) / text_len)
        value = (raw - good.get(el, 0.0) / 1000) * (1 - density)
        if el.tag in LIST_TAGS:
            # A list wins only when the page has nothing better: lists are mostly link lists.
            value *= 0.3
        cls = (el.get("class") or "") + " " + (el.get("id") or "")
        if POSITIVE_CLASS.search(cls):
            value += POSITIVE_CLASS_BONUS
        value += good.get(el, 0.0) / 1000
        if value > best_score:
            best, best_score = el, value
    if best is None:
        return [], None

    known = _known_container(markers.known, good)
    if known is not None:
        k_good, c_good = good.get(known, 0.0), good.get(best, 0.0)
        if _is_ancestor(best, known):
            if k_good >= 0.6 * c_good:
                return [known], "container"
        elif _is_ancestor(known, best) or known is best:
            return [known], "container"
        elif k_good >= 0.5 * c_good or (
            _is_articlebody(known) and k_good >= ARTICLEBODY_TRUSTED_CHARS
        ):
            # Disjoint: articleBody microdata is the page's own statement, trusted further.
            return [known], "container"
    return _with_siblings(best, good, markers), "scored"


def _known_container(candidates: list[Any], good: dict[Any, float]) -> Any:
    """The well-known body container with the most article-like text (articleBody first)."""
    best, best_good, itemprop_best = None, 0.0, None
    for el in candidates:
        g = good.get(el)
        if not g or g < MIN_CONTAINER_CHARS:
            continue
        itemprop = el.get("itemprop")
        if itemprop and "articlebody" in itemprop.lower():
            if itemprop_best is None or g > good[itemprop_best]:
                itemprop_best = el
        elif g > best_good:
            best, best_good = el, g
    if itemprop_best is not None and (best is None or good[itemprop_best] >= 0.5 * best_good):
        best, best_good = itemprop_best, good[itemprop_best]
    if best is None:
        return None
    # Nested body classes (`content_detail` > `text_detail`): the innermost one that still holds
    # nearly all the text leaves out the photo, kicker and boxes around the text.
    tightest, depth = best, 0
    for el in candidates:
        if el is best or good.get(el, 0.0) < TIGHT_CONTAINER_SHARE * best_good:
            continue
        d, node = 0, el.getparent()
        while node is not None and node is not best:
            d, node = d + 1, node.getparent()
        if node is best and d + 1 > depth:
            tightest, depth = el, d + 1
    return tightest


def _is_articlebody(el: Any) -> bool:
    itemprop = el.get("itemprop")
    return bool(itemprop) and "articlebody" in itemprop.lower()


def _is_ancestor(ancestor: Any, el: Any) -> bool:
    node = el.getparent()
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def _with_siblings(best: Any, good: dict[Any, float], markers: _Markers) -> list[Any]:
    """The best container plus siblings that carry the same article (split by ads or wrappers)."""
    parent = best.getparent()
    if parent is None:
        return [best]
    best_good = good.get(best, 0.0)
    threshold = max(80.0, 0.2 * best_good)
    best_cls = best.get("class")
    out = []
    for sib in parent:
        if sib is best:
            out.append(sib)
            continue
        if not isinstance(sib.tag, str) or sib.tag in ("h1", "header", "footer", "nav", "aside"):
            continue
        if markers.nearest(sib) == "chrome":
            continue
        g = good.get(sib, 0.0)
        same_class = bool(best_cls) and sib.get("class") == best_cls and g > 0
        if g >= threshold or same_class or (sib.tag == "p" and g >= 80):
            out.append(sib)
    return out


# ---------------------------------------------------------------------------------------------
# Walking the container
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Frame:
    """An element being walked: its remaining children and what to undo when it is left. (Slots:
    one is made for every element walked, and read at each of its children.)"""

    el: Any
    children: Iterator[Any]
    block: bool
    link: bool
    bold: bool
    saved_heading: bool = False


class Walker:
    """Turns container markup into text blocks, cutting chrome elements with an audit."""

    def __init__(
        self,
        insert_re: re.Pattern[str],
        profile_chrome: set[Any],
        media_boxes: set[Any],
        headline: Any = None,
    ) -> None:
        self.insert_re = insert_re
        self.profile_chrome = profile_chrome
        self.media_boxes = media_boxes
        self.headline = headline
        self.blocks: list[Block] = []
        self.removed: list[Removed] = []
        self.captions: list[str] = []
        self._parts: list[str] = []
        self._bold_parts: list[bool] = []  # per part of _parts: set in bold
        self._link_chars = 0
        self._bold_chars = 0
        self._in_link = 0
        self._in_bold = 0
        self._heading = False
        self._skip: set[Any] = set()
        self._container_len: int | None = None  # read when first needed (_chrome_kind)
        self._container_start = 0
        self._container: Any = None
        # The container's prose holder and its ancestors (prose_holder), found when first needed.
        self._protected: set[Any] | None = None

    def walk_container(self, container: Any) -> None:
        self._container_len = None
        self._container = container
        self._protected = None
        self._flush()
        self._container_start = len(self.blocks)
        self._walk(container)
        self._flush()

    def finish(self) -> list[Block]:
        self._flush()
        return self.blocks

    def _add(self, text: str | None) -> None:
        if not text:
            return
        self._parts.append(text)
        self._bold_parts.append(self._in_bold > 0)
        if self._in_link or self._in_bold:
            n = len(text.strip())
            if self._in_link:
                self._link_chars += n
            if self._in_bold:
                self._bold_chars += n

    def _flush(self) -> None:
        if self._parts:
            text = "".join(self._parts)
            # Half the pending runs are the line breaks between block tags: nothing to clean
            # (clean_text splits on what isspace tests).
            text = "" if text.isspace() else clean_text(text)
            if text:
                self.blocks.append(
                    Block(
                        text=text,
                        link_chars=min(self._link_chars, len(text)),
                        bold_chars=min(self._bold_chars, len(text)),
                        heading=self._heading,
                        bold_tail=self._bold_tail() if self._bold_chars else 0,
                    )
                )
        self._parts = []
        self._bold_parts = []
        self._link_chars = 0
        self._bold_chars = 0

    def _bold_tail(self) -> int:
        """Characters of the bold run closing the pending block (a call to action in <strong>)."""
        tail: list[str] = []
        for part, bold in zip(reversed(self._parts), reversed(self._bold_parts), strict=True):
            if not bold and part.strip():
                break
            tail.append(part)
        return len(clean_text("".join(reversed(tail))))

    def _cut(self, el: Any, kind: str, text: str | None = None) -> None:
        text = clean_text(_text(el)) if text is None else text
        if not text:
            return
        if kind in REFINED_KINDS and len(text) <= INSERT_MAX_CHARS:
            # A "read also" box is an insert whatever its class calls it (related, sidebar...);
            # a hidden block is what its text says (an ad marker...).
            links = _link_len(el, len(text))
            refined = line_kind(Block(text=text, link_chars=links), self.insert_re)
            if refined == "insert" or (kind == "hidden" and refined):
                kind = refined
        self.removed.append(Removed(kind, text))

    def _chrome_kind(self, el: Any, tag: str) -> str | None:
        if el in self.profile_chrome:
            return "profile"
        if el is self.headline:
            return "title"
        kind, names = element_markup(el, in_body=True)
        if kind is None:
            if tag == "figure" or el in self.media_boxes:
                return "caption"
            return None
        if tag in INLINE_TAGS and kind not in INLINE_CHROME_KINDS:
            return None
        if kind == "media":
            return "caption" if len(_text(el)) <= MEDIA_BOX_MAX_CHARS else None
        if names != _NO_NAMES and _body_names(names):
            # `article-body pagination-first`: the body class wins over the chrome one.
            return None
        if kind != "comments":
            if self._holds_prose(el):
                return None
            # A class that says "chrome" on an element holding most of the container's text is
            # a naming accident (`content has-share-bar`), not chrome.
            # The element's text is part of the container's: the container's length is only
            # read for an element past 400 characters.
            text_len = len(_text(el))
            if text_len > 400 and text_len > 0.5 * self._container_length():
                return None
        return kind

    def _container_length(self) -> int:
        """The length of the container's text as it was before the walk changed any of it."""
        if self._container_len is None:
            self._container_len = len(_text(self._container))
        return self._container_len

    def _holds_prose(self, el: Any) -> bool:
        """The element holds the container's prose paragraphs (prose_holder): never chrome."""
        if first_descendant(el, "p") is None:
            return False  # most chrome (share bars, ads, link lists) holds no paragraph at all
        if self._protected is None:
            prose = prose_holder(_paragraph_sizes(self._container))
            self._protected = set()
            if prose is not None and mostly_prose(prose):
                self._protected.update(_chain(prose.holder, self._container))
        return el in self._protected

    def _walk(self, root: Any) -> None:
        """Depth-first over the container with an explicit stack, not recursion: a page may nest
        elements deeper than Python's recursion limit (libxml2 builds trees 2048 levels deep)."""
        frame = self._enter(root, top=True)
        if frame is None:
            return
        stack = [frame]
        while stack:
            frame = stack[-1]
            child = next(frame.children, None)
            if child is None:
                stack.pop()
                self._leave(frame)
                if stack:
                    self._after_child(frame.el)
                continue
            if isinstance(child.tag, str):
                entered = self._enter(child)
                if entered is not None:
                    stack.append(entered)
                    continue  # its tail is added when it is left
            self._after_child(child)

    def _enter(self, el: Any, top: bool = False) -> _Frame | None:
        """Open an element: cut it (None), or add its leading text and return its frame."""
        tag = el.tag
        if tag == "img":
            return None
        if not top:
            if el in self._skip:
                return None
            kind = self._chrome_kind(el, tag)
            if kind is not None:
                if tag in BLOCK_TAGS:
                    self._flush()
                cuts = len(self.removed)
                if kind == "caption":
                    self._cut_figure(el)
                else:
                    self._cut(el, kind)
                if kind == "title":
                    self._cut_kickers()
                if self.blocks and not self._parts and len(self.removed) > cuts:
                    # The block right before a cut list is its heading ("Baca Juga" + a box).
                    self.blocks[-1].cut_after = self.removed[-1].kind
                return None
            if tag in INSERT_LABEL_TAGS and self._inline_insert(el):
                return None
            if tag == "a" and self._parts and self._text_label_insert(el):
                return None
        if tag == "br":
            self._flush()
            return None
        frame = _Frame(el, iter(el), tag in BLOCK_TAGS, tag in LINK_TAGS, tag in BOLD_TAGS)
        if frame.block:
            self._flush()
            frame.saved_heading = self._heading
            if tag in HEADING_TAGS:
                self._heading = True
        if frame.link:
            self._in_link += 1
        if frame.bold:
            self._in_bold += 1
        self._add(el.text)
        return frame

    def _after_child(self, child: Any) -> None:
        if child.tail:
            self._add(child.tail)
        elif child.tag in ("td", "th"):
            self._add(" ")

    def _leave(self, frame: _Frame) -> None:
        if frame.link:
            self._in_link -= 1
        if frame.bold:
            self._in_bold -= 1
        if frame.block:
            self._flush()
            self._heading = frame.saved_heading
        elif frame.el.tag in ("td", "th", "dt"):
            self._add(" ")

    def _cut_kickers(self) -> None:
        """Short lines above the headline (rubric, kicker, series label) are not body."""
        above = self.blocks[self._container_start :]
        if above and all(len(b.text) <= KICKER_MAX_CHARS for b in above):
            self.removed.extend(Removed("header", b.text) for b in above)
            del self.blocks[self._container_start :]

    def _cut_figure(self, el: Any) -> None:
        """A figure or photo box: its caption goes to `captions`, the whole box to the audit.
        A box with no marked caption counts as one only when short and not a list of links
        (video playlists sit in <figure>s too)."""
        text = clean_text(_text(el))
        if not text:
            return
        caption = caption_of(el)
        if (
            not caption
            and len(text) <= MEDIA_BOX_MAX_CHARS
            and _link_len(el, len(text)) < len(text) / 2
        ):
            caption = text
        if caption:
            self.captions.append(caption)
        self.removed.append(Removed("caption", text))

    def _inline_insert(self, el: Any) -> bool:
        """A bold "read also" inside a paragraph: `<strong>Baca juga:</strong> <a>headline</a>`
        or `<strong>Baca juga: <a>headline</a></strong>`. Cuts the label and the link."""
        if len(el) > 1:
            return False
        label = clean_text(_text(el))
        if not label or len(label) > INSERT_MAX_CHARS:
            return False
        m = self.insert_re.match(label)
        if not m or not (m.group("sep") or "").strip():
            return False
        rest = m.group("rest").strip()
        if rest:
            # Label and headline in one bold element: the headline must be its link.
            linked = len(el) == 1 and el[0].tag == "a"
            if linked and len(clean_text(_text(el[0]))) >= 0.5 * len(rest):
                self.removed.append(Removed("insert", label))
                return True
            return False
        nxt = el.getnext()
        if nxt is None or nxt.tag != "a" or (el.tail and el.tail.strip()):
            return False
        headline = clean_text(_text(nxt))
        self.removed.append(Removed("insert", f"{label} {headline}".strip()))
        self._skip.add(nxt)
        return True

    def _text_label_insert(self, link: Any) -> bool:
        """A plain-text label right before a link in running text (`... Baca juga: <a>...</a>`):
        cut the label and the link, keep the sentence around them."""
        tail = "".join(self._parts[-8:])[-60:]  # not the whole block: a cell may hold 1000 links
        # Most links follow running text: told without the regex's search.
        if not _ends_in_colon(tail):
            return False
        m = LABEL_BEFORE_LINK.search(tail)
        if not m:
            return False
        joined = "".join(self._parts)
        headline = clean_text(_text(link))
        if len(headline.split()) < 3:
            return False
        start = len(joined) - len(tail) + m.start("label")
        before = joined[:start].rstrip()
        if before.endswith(("(", "[")):
            # `(Baca juga: <a>...</a>)`: the brackets go with the insert.
            start = len(before) - 1
            if link.tail and link.tail.lstrip().startswith((")", "]")):
                self._container_length()  # measured before this edit shortens the text
                link.tail = link.tail.lstrip()[1:]
        self._parts = [joined[:start]]
        self._bold_parts = [False]
        self.removed.append(Removed("insert", f"{clean_text(m.group(0))} {headline}"))
        return True


def _paragraph_sizes(container: Any) -> Iterator[tuple[Any, int, int]]:
    """(element, text length, link text length) of the <p> elements in a container."""
    for p in container.iter("p"):
        length = len(_text(p).strip())
        if length < PROSE_MIN_CHARS:
            yield p, length, 0
        else:
            yield p, length, (_link_len(p, length) if first_descendant(p, "a") is not None else 0)


# Chrome that holds other articles' captions (teaser thumbnails), never the page's own photos.
_FOREIGN_CAPTION_KINDS = frozenset(
    {
        "related",
        "nav",
        "sidebar",
        "footer",
        "header",
        "comments",
        "ad",
        "share",
        "cta",
        "tags",
        "ticker",
    }
)


def _gallery_captions(tree: Any) -> list[str]:
    """The figure captions of a photo page (outside related lists, menus and sidebars)."""
    out: list[str] = []
    for cap in tree.iter("figcaption"):
        text = clean_text(_text(cap))
        if len(text) < 30 or text in out:
            continue
        node, foreign = cap.getparent(), False
        while node is not None:
            if element_kind(node, in_body=False) in _FOREIGN_CAPTION_KINDS:
                foreign = True
                break
            node = node.getparent()
        if not foreign:
            out.append(text)
    return out


def _jsonld_body(doc: Document, insert_re: re.Pattern[str]) -> str | None:
    """JSON-LD articleBody, split into lines and filtered like the DOM body."""
    article = doc.jsonld_article()
    if not article:
        return None
    raw = article.get("articleBody")
    if not isinstance(raw, str) or len(raw.strip()) < 50:
        return None
    lines = [clean_text(line) for line in re.split(r"\n\s*\n|\r?\n", raw)]
    blocks = [Block(text=line) for line in lines if line]
    kept = filter_blocks(blocks, insert_re).kept
    return "\n\n".join(b.text for b in kept) or None
