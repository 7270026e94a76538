"""What a page is: an article, a listing (section front, index, search results) or another page
(about, contact, policy, staff list, an error page).

Only articles become records; every page is archived whatever its kind, with the reasons, so a
wrong call can be audited and undone by `reextract`. The rules are general ones, read off what
portals share, not off any one site:

- A page that says it is an article (og:type article, schema.org Article types) is one.
- A listing is a page whose text is mostly teasers: headlines that are links to other pages,
  each standing as a line of its own.
- A page about the outlet itself (about, contact, policy, advertising, editorial staff) names
  itself so in its URL or headline, and carries no publication date.
- A page with a headline and text but no date, no byline, no article markup and no dated or
  numbered URL is the outlet's own page, not news, when its text is short; long prose without
  any of those stays an article (a saved page of a small site), with that said in the reasons.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from newsarchive.extract import patterns
from newsarchive.extract.document import Document, text_content

ARTICLE = "article"
LISTING = "listing"
OTHER = "other"

# og:type / JSON-LD @type values a page uses to say it is one article.
ARTICLE_MARKUP_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "reviewnewsarticle",
        "blogposting",
        "liveblogposting",
    }
)
# JSON-LD types of pages that list other pages.
LISTING_MARKUP_TYPES = frozenset({"collectionpage", "itemlist", "searchresultspage"})
# JSON-LD types of the outlet's own pages.
OTHER_MARKUP_TYPES = frozenset({"aboutpage", "contactpage", "profilepage"})

# Words of the outlet's own pages (Indonesian and English), matched in the URL path's last
# segment and in the headline. Whole words, so "kontak senjata" in a headline is not "kontak"
# alone: the headline must be short (a page title, not a news headline) to count.
INFO_WORDS = patterns.compile(
    r"\b(?:tentang[- ]kami|about(?:[- ]us)?|kontak(?:[- ]kami)?|hubungi[- ]kami|contact(?:[- ]us)?|"
    r"redaksi|susunan[- ]redaksi|tim[- ]redaksi|editorial[- ]team|masthead|"
    r"pedoman(?:[- ]media[- ]siber|[- ]pemberitaan)?|kode[- ]etik|code[- ]of[- ]ethics|"
    r"kebijakan[- ]privasi|privacy(?:[- ]policy)?|cookie[- ]policy|"
    r"syarat(?:[- ]dan[- ]ketentuan)?|terms(?:[- ](?:of[- ](?:use|service)|and[- ]conditions))?|"
    r"disclaimer|penafian|pasang[- ]iklan|iklan|advertis(?:e|ing)|media[- ]kit|"
    r"karir|karier|careers?|lowongan|faq|bantuan|help|sitemap|peta[- ]situs|"
    r"informasi[- ]pemasangan|kerja[- ]sama|partnership)\b",
    re.I,
)
# A headline longer than this is a news headline even when it holds an info word.
INFO_TITLE_MAX_WORDS = 6
# URL shapes of news articles: a date in the path, or a long number (an article id).
ARTICLE_URL = patterns.compile(
    r"/(?:19|20)\d{2}[/-]?\d{1,2}[/-]?\d{1,2}(?=[/-])|/\d{5,}(?=[/.-]|$)|\d{6,}"
)
# A teaser headline is a link whose text has at least this many words.
TEASER_MIN_WORDS = 4
# A page is a listing when its body holds at least this many teaser lines, making at least this
# share of its lines (an article's stray related links stay well under both).
LISTING_MIN_TEASERS = 4
LISTING_MIN_SHARE = 0.2
# Without a date, byline, article markup or article URL, a page with less body than this is the
# outlet's own page rather than news.
UNDATED_ARTICLE_MIN_CHARS = 1500


def markup_types(doc: Document) -> set[str]:
    """The page's own type statements: og:type and the JSON-LD @type values, lower-cased."""
    types: set[str] = set()
    og = doc.meta_first("og:type")
    if og:
        types.add(og.strip().lower())
    for obj in doc.jsonld:
        value = obj.get("@type")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                types.add(item.strip().lower())
    return types


def needs_teasers(doc: Document) -> bool:
    """Whether classify_page will look at the page's teasers: not when the page says it is an
    article (that settles its kind first), so most article pages skip reading every link."""
    return not markup_types(doc) & ARTICLE_MARKUP_TYPES


def teaser_texts(doc: Document) -> set[str]:
    """Texts of links to other pages that read like headlines (normalised), from the intact
    tree: read before body extraction cuts chrome out of it."""
    here = urldefrag(doc.url)[0] if doc.url else None
    base_parses = here is not None and _parses(here)
    texts: set[str] = set()
    for a in doc.tree.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        # _normalise, its words counted on the way: casefolding makes no character blank nor
        # empty, and none blank into another, so the normalised text has as many words.
        words = text_content(a).split()
        if len(words) < TEASER_MIN_WORDS:
            continue
        text = " ".join(words).casefold()
        if text in texts:
            continue  # (a text already kept needs no second look at its link target)
        if here and not (base_parses and _leads_elsewhere(here, href)):
            try:
                target = urldefrag(urljoin(here, href))[0]
            except ValueError:
                continue
            if target == here:
                continue
        texts.add(text)
    return texts


def _parses(url: str) -> bool:
    """urljoin can read `url` as a base (it raises ValueError for a malformed one)."""
    try:
        urlsplit(url)
    except ValueError:
        return False
    return True


def _leads_elsewhere(here: str, href: str) -> bool:
    """True when urldefrag(urljoin(here, href))[0] is certainly not `here`, told without
    joining (pure Python, tens of microseconds a link, and a listing has a hundred); False when
    that is not known. `here` must parse (_parses).

    For an href of printable ASCII, absolute (http, https, with a host) or from the root ("/",
    no "//") without dot segments, the joined URL holds the href's start verbatim: the join keeps
    an absolute one's host and path, and a root one's path, only cutting the fragment and
    empty query or parameters (urlsplit removes nothing from such text, and no segment is
    resolved). The start up to the first ";", "?" or "#" is then in the joined URL, and a page
    URL that does not hold it is another.
    """
    if not (href.isascii() and href.isprintable()) or " " in href:
        return False
    if href[0] == "/":
        if href[1:2] == "/" or "/." in href[: _first_of(href, "?#")]:
            return False  # another host, or dot segments to resolve
    elif href.startswith(("http://", "https://")):
        host = href[href.index("//") + 2 :]
        if not host or host[0] in "/?#;" or "[" in href or "]" in href:
            return False  # no host (the base's is taken), or an IPv6 host to check
    else:
        return False
    return href[: _first_of(href, ";?#")] not in here


def _first_of(text: str, stops: str) -> int:
    """The position of the first of `stops` in `text`, or its length."""
    end = len(text)
    for stop in stops:
        found = text.find(stop, 0, end)  # only before the first found so far
        if found >= 0:
            end = found
    return end


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def classify_page(doc: Document, article: Any, teasers: set[str]) -> tuple[str, list[str]]:
    """(kind, reasons) for a page, from its markup and the fields already extracted."""
    types = markup_types(doc)
    title = article.title or ""
    body = article.body or ""
    if not title and not body:
        return OTHER, ["no headline and no body text"]
    said_article = types & ARTICLE_MARKUP_TYPES
    if said_article:
        return ARTICLE, [f"the page says it is an article ({', '.join(sorted(said_article))})"]

    lines = [_normalise(line) for line in body.split("\n") if line.strip()]
    teaser_lines = sum(1 for line in lines if line in teasers)
    if teaser_lines >= LISTING_MIN_TEASERS and teaser_lines >= LISTING_MIN_SHARE * len(lines):
        return LISTING, [
            f"{teaser_lines} of its {len(lines)} text lines are headlines linking to other pages"
        ]
    said_listing = types & LISTING_MARKUP_TYPES
    if said_listing:
        return LISTING, [f"the page says it is a list of pages ({', '.join(sorted(said_listing))})"]

    dated = article.published is not None and article.sources.get("published") != "url"
    path = _path(doc.url)
    said_other = types & OTHER_MARKUP_TYPES
    if said_other and not dated:
        return OTHER, [
            f"the page says it is the outlet's own page ({', '.join(sorted(said_other))})"
        ]
    if not dated:
        info = _info_words(path, title)
        if info:
            return OTHER, [f"a page about the outlet ({info!r}) with no publication date"]

    evidence = []
    if dated:
        evidence.append("a publication date")
    if article.authors:
        evidence.append("a byline")
    if ARTICLE_URL.search(path):
        evidence.append("an article-shaped URL")
    if evidence:
        return ARTICLE, ["a headline and body text with " + " and ".join(evidence)]
    if len(body) < UNDATED_ARTICLE_MIN_CHARS:
        return OTHER, [
            f"no publication date, byline, article markup or article URL, and only {len(body)} "
            "characters of text"
        ]
    return ARTICLE, [
        f"{len(body)} characters of running text, though no publication date, byline, article "
        "markup or article URL"
    ]


def _path(url: str | None) -> str:
    if not url:
        return ""
    rest = url.split("://", 1)[-1]
    slash = rest.find("/")
    return rest[slash:].split("?", 1)[0].split("#", 1)[0] if slash >= 0 else "/"


def _info_words(path: str, title: str) -> str | None:
    """The info word naming the outlet's own page, in the URL's last segment or a short title."""
    segment = path.rstrip("/").rsplit("/", 1)[-1]
    segment = re.sub(r"\.\w{2,5}$", "", segment)  # about.html
    if segment and not ARTICLE_URL.search(path):
        words = segment.replace("_", "-")
        match = INFO_WORDS.search(words)
        # The segment is the page's name: an info word must be most of it, not one word of a
        # long news slug ("iklan-rokok-dilarang-di-...").
        if match and len(words.split("-")) <= INFO_TITLE_MAX_WORDS:
            return match.group(0)
    if title and len(title.split()) <= INFO_TITLE_MAX_WORDS:
        match = INFO_WORDS.search(title)
        if match:
            return match.group(0)
    return None
