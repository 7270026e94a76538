"""Site chrome: what is cut out of the article body, and the audit of each cut.

Two kinds of evidence, both generic (no rule names a site):

* **Markup** (`element_kind`): an element whose tag, ARIA role or class/id tokens say it is a
  share bar, a related list, a comment section, an ad slot... Class and id values are split into
  tokens and each token is matched whole, so `post-comments` and `shareBar` match while
  `tag-politics` (WordPress puts that on the <article> itself) does not.
* **Text** (`filter_blocks`): the text blocks of the body container, in reading order, checked for
  Indonesian and English chrome lines: inline inserts (`Baca juga: <headline>`), ad markers
  (`ADVERTISEMENT`, `SCROLL TO CONTINUE WITH CONTENT`), share bars (`Share :`), related-list
  headings with the links under them, tag lists, calls to action, photo credits, byline lines at
  the top and credit lines and video calls to action (`Simak video '...'`, also as the last
  sentence of the last paragraph) at the bottom.

An insert label only cuts a block that *is* an insert: the block starts with the label and is
short, and either a separator follows the label or the rest is a link/bold headline. A sentence
that merely contains the words ("... baca juga buku ini") is never touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from newsarchive.extract import patterns
from newsarchive.items import Removed


def word_set(text: str) -> frozenset[str]:
    """A set of words written as one string (long word lists stay readable)."""
    return frozenset(text.split())


def word_tuple(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# ---------------------------------------------------------------------------------------------
# Markup evidence
# ---------------------------------------------------------------------------------------------

# Tags that are never article text: scripts, styles, embedded media and form controls. Dropped
# silently (there is nothing an analyst would want to audit in them).
JUNK_TAGS = word_set(
    """
    script style noscript template svg math iframe object embed canvas video audio source
    track picture img map input select option textarea button link meta head title base
    dialog amp-ad amp-embed amp-analytics amp-sticky-ad amp-social-share amp-iframe
    amp-video amp-youtube amp-auto-ads
    """
)

# Semantic tags that hold page chrome when they sit inside the body container: navigation,
# asides (sidebars, pull quotes that repeat body text), the article's own header (title, byline,
# date: metadata, not body) and footer (tags, share bars), forms (comment and newsletter forms).
CHROME_TAGS = {
    "nav": "nav",
    "aside": "sidebar",
    "header": "header",
    "footer": "footer",
    "form": "form",
    "marquee": "ticker",
    "h1": "title",
}

# ARIA landmark roles that are chrome wherever they appear.
CHROME_ROLES = {
    "navigation": "nav",
    "complementary": "sidebar",
    "contentinfo": "footer",
    "banner": "header",
    "search": "nav",
    "menu": "nav",
    "menubar": "nav",
    "dialog": "cta",
    "alertdialog": "cta",
}

# Words a class/id token may carry after the keyword without changing what the element is:
# `share-buttons`, `related__list`, `comment-area`, `tags-wrapper`.
_SUFFIXES = (
    r"list|lists|items?|wrap|wrapper|wrap?per|container|cont|box|area|bar|block|blocks|section|"
    r"links?|buttons?|btns?|icons?|widget|widgets|module|panel|holder|inner|outer|content|"
    r"title|header|heading|head|label|count|counter|text|txt|tools?|top|bottom|left|right|"
    r"side|body|main|zone|slot|unit|group|row|col|column|frame|placeholder|desktop|mobile|"
    r"new|news|post|posts|articles?|stories|story|feed|fixed|sticky|floating|float|global|"
    r"mod|el|nav|card|cards|galeri|gallery|foto|photo|tengah|atas|bawah|kanan|kiri|samping|"
    r"primary|secondary|first|last|default|small|large|big|home|single|page|"
    r"v\d|\d+"
)

# Class/id keywords per chrome kind, most specific first (a token is given the first kind
# whose keywords match it whole). Each list says what it is for.
CLASS_KEYWORDS: tuple[tuple[str, str], ...] = (
    # Video and audio players: their text is the player's fallback ("Your browser does not
    # support..."), not prose. Embedded posts (tweets, Instagram) stay: they are quoted content.
    # (A bare `player` is a column of a sports table, not a player.)
    (
        "embed",
        r"video-?player|jwplayer|jw-player|vjs|video-?js|audio-?player|podcast-?player|"
        r"player-?container|player-?wrapper|media-?player",
    ),
    # Comment sections and comment forms (WordPress #respond, Disqus, Facebook, Livefyre).
    (
        "comments",
        r"comments?|komentar|disqus|respond|replies|reply|discussions?|livefyre|"
        r"fb-comments|commentlist|comment-?form|fbcomments?|diskusi",
    ),
    # Running headlines above the article.
    (
        "ticker",
        r"ticker|newsticker|news-?ticker|marquee|running-?text|breaking-?news|"
        r"headline-?ticker|breaking",
    ),
    # Photo captions: they go to `captions`, not to the body.
    (
        "caption",
        r"caption|captions|figcaption|wp-caption-text|keterangan|ket-?foto|foto-?caption|"
        r"photo-?caption|image-?caption|img-?caption",
    ),
    # Photo credits set apart from the caption (`foto-credit`): cut, not a caption.
    ("credit", r"credit|credits|photo-?credit|image-?credit|img-?credit|foto-?credit"),
    # Share and social bars, reaction and rating widgets, print/font-size tools.
    (
        "share",
        r"share|shares|sharing|sharer|social|socials|social-?media|sosmed|socmed|"
        r"addthis|sharethis|sharedaddy|a2a|addtoany|share-?bar|reactions?|rating|rate|vote|"
        r"likes?|emoji|print|font-?size|text-?size|bookmark|sociable",
    ),
    # Related / recommended / popular lists and the "read also" boxes of Indonesian portals.
    (
        "related",
        r"related|terkait|lainnya|recommend|recommended|recommendations?|rekomendasi|"
        r"more-?stories|more-?from|more-?news|also-?read|read-?also|baca-?juga|bacajuga|"
        r"lihat-?juga|read-?more|readmore|read-?next|popular|terpopuler|populer|trending|"
        r"most-?read|most-?popular|most-?viewed|outbrain|taboola|relatedposts|jp-relatedposts|"
        r"you-?may-?like|next-?article|prev-?next|post-?navigation|nav-?links|pilihan|"
        r"berita-?pilihan|linksisip|sisip|inline-?related|topik-?pilihan|headline-?lain",
    ),
    # Tag and topic lists.
    (
        "tags",
        r"tags?|tag-?list|tagcloud|tag-?cloud|post-?tags|topics?|keywords?|"
        r"tagline-?list|hashtags?|labels",
    ),
    # Author boxes (bio, avatar, "more by this author").
    (
        "author_box",
        r"author-?bio|author-?box|about-?the-?author|about-?author|author-?info|"
        r"author-?card|bio-?box|authorbox|author-?profile|author-?details|biography",
    ),
    # Bylines, dates and other article metadata printed inside the body region.
    (
        "byline",
        r"byline|bylines|author|authors|penulis|reporter|editor-?name|redaktur|writer|post-?meta|"
        r"entry-?meta|article-?meta|meta|date|time|timestamp|published|pubdate|posted-?on|"
        r"credit-?line|jurnalis",
    ),
    # Ads and sponsored slots.
    (
        "ad",
        r"ad|ads|adv|advert|adverts|advertisement|advertising|advertorial|iklan|banner|"
        r"banners|sponsor|sponsored|sponsors|promo|promos|promoted|promotion|dfp|gpt|adsense|"
        r"adsbygoogle|adslot|adunit|billboard|leaderboard|skyscraper|mrec|parallax|"
        r"paradetail|commercial|native-?ad|dable",
    ),
    # Newsletter, app, follow-us and paywall calls to action.
    (
        "cta",
        r"newsletter|newsletters|subscribe|subscription|signup|sign-?up|app-?download|"
        r"download-?app|follow-?us|cta|paywall|membership|register|google-?news|whatsapp|"
        r"telegram|push-?notif|notification|optin|opt-?in|mailchimp|popup",
    ),
    # Navigation: breadcrumbs, menus, pagination of the site (not of the article).
    (
        "nav",
        r"breadcrumbs?|nav|navigation|navbar|menu|menus|submenu|pagination|pager|"
        r"skip-?link|skip",
    ),
    # Page and article headers (title, kicker, byline: metadata) and footers.
    ("header", r"header|masthead|site-?header|topbar|hero"),
    # Page and article footers, and the site's contact box ("Redaksi: ...", "Kontak").
    (
        "footer",
        r"footer|site-?footer|entry-?footer|article-?footer|post-?footer|redaksi|"
        r"info-?redaksi|kontak|contact|contact-?info|copyright|disclaimer",
    ),
    # Sidebars and widgets beside the article.
    ("sidebar", r"sidebar|side-?bar|widget|widgets|aside|rail|right-?rail|right-?col"),
)
# Hidden helpers (screen-reader text, collapsed menus): not what a reader sees. Whole tokens only
# (`field-label-hidden` hides a label, not the field).
HIDDEN_TOKENS = word_set(
    """
    hidden hide d-none sr-only screen-reader-text visually-hidden visuallyhidden invisible
    offscreen is-hidden u-hidden hidden-xs-up
    """
)

# One regex for all kinds (one C-level match per token); the named group that matched is the kind.
_TOKEN_KIND_RE = patterns.compile(
    r"(?:.*?[-_])?(?:"
    + "|".join(f"(?P<{kind}>{words})" for kind, words in CLASS_KEYWORDS)
    + rf")(?:[-_]*(?:{_SUFFIXES}))*\d*"
)
# Whether a token has a kind at all: _TOKEN_KIND_RE's strings, with the keywords and suffixes
# grouped by their first character (patterns.factored). Most tokens have none, and this says so
# three times faster; the named groups, which cannot be grouped that way, only run on a match.
_TOKEN_HAS_KIND = patterns.compile(
    r"(?:.*?[-_])?(?:"
    + patterns.factored("|".join(words for _kind, words in CLASS_KEYWORDS))
    + rf")(?:[-_]*(?:{patterns.factored(_SUFFIXES)}))*\d*"
)
# Tokens that look like chrome but name the article itself (WordPress `entry-content`, a body
# wrapper named `has-sidebar`...): never chrome.
_NEVER_CHROME_TOKEN = patterns.compile(
    r"(?:.*[-_])?(?:has|with|no|without|is|show|hide|post-?type|type|format)[-_].*|"
    r".*(?:article|entry|post|story|news|detail|read|body)[-_]*(?:body|content|text|detail)s?"
)
# Photo and media boxes (`pic_artikel`, `photo-wrap`, `image-container`): the image is gone once
# the page is parsed for text, what is left of them is a caption or a credit. Only short boxes
# count (body_walker checks the length).
MEDIA_TOKEN = patterns.compile(
    r"(?:.*[-_])?(?:pic|pics|photo|photos|foto|image|images|img|gambar|thumb|thumbnail|figure|"
    r"lead-?image|featured-?image|media-?image|wp-caption|gallery-?item)(?:[-_].*)?"
)
_token_cache: dict[str, str | None] = {}
_MISSING: Any = object()  # a cache's "not there" (None is a kind: no kind)


def token_kind(token: str) -> str | None:
    """The chrome kind one lower-cased class/id token names, or None."""
    # .get, not a KeyError caught: a run over pages from many sites misses on most tokens, and
    # a raised exception costs as much as the regex screen.
    kind = _token_cache.get(token, _MISSING)
    if kind is not _MISSING:
        return kind
    kind = "hidden" if token in HIDDEN_TOKENS else None
    if kind is None and len(token) < 60:
        m = _TOKEN_KIND_RE.fullmatch(token) if _TOKEN_HAS_KIND.fullmatch(token) else None
        if m:
            kind = m.lastgroup
        elif MEDIA_TOKEN.fullmatch(token):
            kind = "media"
        # The veto last: four tokens in five name no kind, and its regex is the slowest to fail.
        if kind is not None and _NEVER_CHROME_TOKEN.fullmatch(token):
            kind = None
    if len(_token_cache) < 50_000:
        _token_cache[token] = kind
    return kind


_attr_cache: dict[str, str | None] = {}
# Numbers in class and id values (`post-2551586`): dropped from cache keys.
DIGITS = patterns.compile(r"\d+")
_attr_keys: dict[str, str] = {}


def attr_key(value: str) -> str:
    """A class or id value as the name caches key it: lowercased, its numbers 0. Ids and classes
    carry numbers (`post-2551586`, `div-gpt-ad-1572507980488-0`); the same name with other
    numbers is the same name. Remembered: attr_kind and the body finder's test for body
    containers ask it of the same values, and a batch of pages from many sites misses their
    caches on most values of each page."""
    key = _attr_keys.get(value)
    if key is None:
        key = value.lower()
        if patterns.has_digit(key):  # most values have no number: a test costs less than a sub
            key = DIGITS.sub("0", key)
        if len(_attr_keys) < 50_000:
            _attr_keys[value] = key
    return key


def attr_kind(value: str) -> str | None:
    """The chrome kind a class (or id) attribute value names, or None."""
    kind = _attr_cache.get(value, _MISSING)  # .get: misses are common (token_kind says why)
    if kind is not _MISSING:
        return kind
    key = attr_key(value)
    kind = _attr_cache.get(key, _MISSING)
    if kind is _MISSING:
        kind = None
        for token in key.split():
            kind = token_kind(token)
            if kind:
                break
        if len(_attr_cache) < 50_000:
            _attr_cache[key] = kind
    if len(_attr_cache) < 50_000:
        _attr_cache[value] = kind
    return kind


# Inline styles that hide an element.
_HIDDEN_STYLE = patterns.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


# Semantic tags that are chrome anywhere on the page (outside a body container too).
OUTER_CHROME_TAGS = {tag: CHROME_TAGS[tag] for tag in ("nav", "aside", "marquee", "form")}


# element_markup's names of an element with no class, id or itemprop.
_NO_NAMES: tuple[None, None, None] = (None, None, None)


def element_kind(el: Any, *, in_body: bool = True) -> str | None:
    """The chrome kind of an element from its markup alone (tag, role, class, id), or None.

    `in_body=False` leaves out the semantic tags that are chrome only inside a body container
    (<header>, <footer>, <h1>): outside it they are the page's own frame.
    """
    return element_markup(el, in_body=in_body)[0]


def element_markup(
    el: Any, *, in_body: bool = True
) -> tuple[str | None, tuple[str | None, str | None, str | None]]:
    """The chrome kind of an element (as element_kind) and its (class, id, itemprop) values.

    One pass over the element's attributes: lxml attribute lookups are slow enough that the
    per-element cost of the page-wide scan is dominated by them, so the element's attribute names
    are read first (one call) and only the attributes it has are looked up.
    """
    tag_kind = (CHROME_TAGS if in_body else OUTER_CHROME_TAGS).get(el.tag)
    present = el.keys()
    if not present:
        return tag_kind, _NO_NAMES
    get = el.get
    cls = get("class") if "class" in present else None
    ident = get("id") if "id" in present else None
    itemprop = get("itemprop") if "itemprop" in present else None
    names = (cls, ident, itemprop)
    if tag_kind:
        return tag_kind, names
    role = get("role") if "role" in present else None
    if role:
        kind = CHROME_ROLES.get(role.strip().lower())
        if kind:
            return kind, names
    if itemprop and itemprop.strip().lower() in ("comment", "comments"):
        return "comments", names
    if cls:
        kind = attr_kind(cls)
        if kind:
            return kind, names
    if ident:
        kind = attr_kind(ident)
        if kind:
            return kind, names
    if "hidden" in present:
        return "hidden", names
    style = get("style") if "style" in present else None
    if style and _HIDDEN_STYLE.search(style):
        return "hidden", names
    return None, names


# ---------------------------------------------------------------------------------------------
# Text evidence
# ---------------------------------------------------------------------------------------------


@dataclass
class Block:
    """One paragraph-like run of text from the body container, in reading order."""

    text: str
    link_chars: int = 0  # characters inside <a>
    bold_chars: int = 0  # characters inside <strong>/<b>/<em>
    bold_tail: int = 0  # characters of the bold run that closes the block
    heading: bool = False  # from <h2>..<h6>
    cut_after: str | None = None  # kind of the chrome element cut right after this block

    @property
    def link_ratio(self) -> float:
        return self.link_chars / len(self.text) if self.text else 0.0

    @property
    def bold_ratio(self) -> float:
        return self.bold_chars / len(self.text) if self.text else 0.0


# Inline "read also" labels. Indonesian portals' forms first (`Baca :`, `Baca juga:`,
# `Lihat juga`, `Simak juga`, `Simak video ...`, `Berita terkait`), then their English twins.
INSERT_LABELS = (
    r"baca(?:\s+juga)?",
    r"baca\s+(?:selengkapnya|berita\s+lainnya|artikel\s+lainnya)",
    r"lihat\s+juga",
    r"lihat\s+video",
    r"simak\s+juga",
    r"simak(?:\s+\w+){0,2}\s+video",
    r"simak\s+video",
    r"tonton\s+juga",
    r"tonton\s+video",
    r"saksikan\s+juga",
    r"saksikan\s+video",
    r"berita\s+terkait",
    r"artikel\s+terkait",
    r"baca\s+berita\s+terkait",
    r"read\s+also",
    r"also\s+read",
    r"read\s+more",
    r"see\s+also",
    r"related",
    r"more\s+on\s+this",
    r"recommended",
    r"watch",
    r"listen",
    r"also\s+see",
)
# English labels are only inserts when a separator follows (`Related: ...`): as bare words they
# open ordinary sentences too often.
_LABELS_NEED_SEPARATOR = patterns.compile(
    r"related|read\s+more|recommended|watch|listen|see\s+also|also\s+see|more\s+on\s+this|"
    r"lihat\s+video|tonton\s+video|saksikan\s+video"
)
# What separates an insert label from its headline (`Baca juga:`, `Baca -`, `Baca juga »`).
_SEPARATOR = r"\s*(?:[:|»>–—-]+|\.{2,}|…)\s*"
# An insert is short: a label and one headline (a stacked pair at most).
INSERT_MAX_CHARS = 320


def compile_insert_labels(extra: tuple[str, ...] = ()) -> re.Pattern[str]:
    """The insert-label regex: built-in labels plus a profile's own (matched literally)."""
    labels = list(INSERT_LABELS) + [
        r"\s+".join(map(re.escape, e.split())) for e in extra if e.strip()
    ]
    # `(Baca juga: ...)` in parentheses is the same insert. The built-in set is compiled at
    # import (kept with the module patterns); a profile's own set at run time.
    return (re.compile if extra else patterns.compile)(
        rf"^[(\[]?\s*(?P<label>{'|'.join(labels)})(?P<sep>{_SEPARATOR})?(?P<rest>.*?)\s*[)\]]?$",
        re.I | re.S,
    )


DEFAULT_INSERT_RE = compile_insert_labels()

# Standalone ad markers and the scroll prompts that surround in-body ads.
AD_LINE = patterns.compile(
    r"^(?:advertisement|advertisment|advertising|iklan|ads?|sponsored|sponsored content|"
    r"sponsored links?|informasi pemasangan iklan|pasang iklan|advertise with us|"
    r"konten sponsor|promoted|scroll to continue with content|scroll to resume content|"
    r"(?:scroll|gulir) (?:ke bawah )?untuk (?:melanjutkan|lanjut)(?: membaca)?|lanjutkan membaca|"
    r"continue reading below|[\w ]{0,20}video of the day|"
    r"(?:story|article|content) continues below(?: advertisement)?|"
    r"advertisement\s*-\s*scroll to continue|—\s*advertisement\s*—|\W*ad\W*)$",
    re.I,
)


# "Read more" buttons and audio-player prompts left as lines of text.
READ_MORE_LINE = patterns.compile(
    r"^(?:baca selengkapnya|lihat selengkapnya|selengkapnya|read more|continue reading|"
    r"read the full (?:story|article)|klik di sini|click here|dengarkan(?: berita| artikel)? ini|"
    r"listen to (?:this|the) (?:article|story)|listen to article|putar audio)\s*[:.»>…]*$",
    re.I,
)


# Share bars: lines made only of share words, network names and counters (`Share :`,
# `Share 0 Whatsapp 0`, `Share this:`, `Sukai ini:`). Checked word by word (no backtracking
# regex): every word must be one of these, and one of SHARE_CORE_WORDS must be there.
SHARE_WORDS = word_set(
    """
    share shares sharing bagikan artikel ke sukai ini like likes suka tweet retweet whatsapp
    wa facebook fb twitter x line telegram linkedin pinterest pin pint it email e mail print
    cetak copy link salin tautan reddit tumblr messenger google g kakao plurk more lainnya
    flipboard pocket sms comment comments komentar this on with friends article via surat
    elektronik k m
    """
)
SHARE_CORE_WORDS = word_set(
    """
    share shares sharing bagikan sukai tweet whatsapp facebook twitter telegram linkedin
    pinterest print cetak copy salin reddit tumblr
    """
)
# Words and numbers of a line, for the word-by-word checks.
_WORDS = patterns.compile(r"[^\W\d_]+|\d+", re.UNICODE)


def _only_words(text: str, allowed: frozenset[str], core: frozenset[str]) -> bool:
    """Every word of the line is in `allowed` (numbers always are) and one is in `core`."""
    has_core = False
    # One word at a time: most lines fail on their first word, and the rest is not read.
    for match in _WORDS.finditer(text.lower()):
        word = match.group()
        if word.isdigit():
            continue
        if word not in allowed:
            return False
        has_core = has_core or word in core
    return has_core


def is_share_line(text: str) -> bool:
    return _only_words(text, SHARE_WORDS, SHARE_CORE_WORDS)


# Headings of related/popular lists (the links under them go too).
RELATED_HEADING = patterns.compile(
    r"^(?:baca juga|baca|berita terkait|berita lainnya|artikel terkait|artikel lainnya|"
    r"berita pilihan|pilihan editor|pilihan redaksi|topik pilihan|terpopuler|terkomentari|"
    r"terbaru|berita terbaru|populer|paling populer|rekomendasi|rekomendasi untuk anda|"
    r"video terkait|foto terkait|lihat juga|simak juga|terkait|fokus|"
    r"related|related (?:news|articles?|stories|posts|content|coverage|links|topics|videos?)|"
    r"more (?:stories|news|articles|from [\w .]+|on this story|on this topic|to read)"
    r"(?: like this one)?|read more|read next|up next|you (?:may|might) (?:also )?like|"
    r"recommended(?: for you| stories| articles)?|popular(?: now| news| stories| videos)?|"
    r"most (?:read|popular|viewed|shared)|trending(?: now| stories)?|editor'?s picks?|"
    r"top stories|latest(?: news| stories)?|also on [\w .]+|further reading|news ?feed|"
    r"berita terkini|indeks berita|more from [\w .]+|newsticker|news ticker|breaking news|"
    r"running news|pilihan untuk anda|artikel menarik lainnya|jangan lewatkan|"
    r"konten terkait|baca berita lainnya|you may also like|recommended for you)\s*[:»>]*$",
    re.I,
)

# Tag lists, as a labelled line (`Tags: a, b`) or as a line of hashtags.
TAGS_LINE = patterns.compile(
    r"^(?:tags?|tagged(?: with)?|topik|topics?|kata kunci|keywords?|filed under|label|labels|"
    r"tema|subjek)\s*[:\-]\s*.{0,300}$|^(?:#\s?[\w.\-]+(?:[ \w.\-]{0,40}))(?:\s*#\s?[\w.\-]+[ \w.\-]{0,40})*$",
    re.I,
)
# A tag list's heading on its own line (the links follow).
TAGS_HEADING = patterns.compile(r"^(?:tags?|topik|topics?|kata kunci|keywords?|label)\s*:?$", re.I)

# Comment-section headings: everything after one of these is comments. (Not "Discussion" or
# "Responses": articles use those as section titles.)
COMMENTS_HEADING = patterns.compile(
    r"^(?:\d+\s+)?(?:komentar|comments?|tanggapan|\d+ tanggapan|satu tanggapan|"
    r"tinggalkan balasan|tinggalkan komentar|tulis komentar|beri komentar|komentar pembaca|"
    r"leave a (?:reply|comment)|post (?:a|your) comment|post your say|join the discussion|"
    r"reader comments|sign in to (?:post a )?comment|add a comment|"
    r"show comments|view comments|\d+ responses?|one response)\s*(?:\(\d+\))?\s*:?$",
    re.I,
)

# Calls to action: newsletters, apps, channels, "follow us". A line that opens with a call and
# names a channel (`Dapatkan update berita pilihan ... Grup Telegram ...`) is one even when long.
CTA_OPENING = patterns.compile(
    r"^(?:dapatkan|download|unduh|ikuti|follow|subscribe|sign up|daftar|langganan|berlangganan|"
    r"gabung|join|install|get the|get our|klik|click here|tap here|simak breaking news|"
    r"simak berita|pilih saluran|baca berita .{0,40} di aplikasi)\b.{0,240}"
    r"(?:newsletter|aplikasi|app\b|apps\b|channel|saluran|google news|whatsapp|telegram|"
    r"instagram|twitter|facebook|tiktok|youtube|update|notifikasi|notifications|inbox|"
    r"email|berita terkini|subscribe)",
    re.I,
)
# A call to action named anywhere in a short line, and the openings that make one. Two regexes,
# not one with `^` alternatives: mixed in, those are tried at every position of the line.
CTA_LINE = patterns.compile(
    r"google news|whatsapp channel|saluran whatsapp|"
    r"newsletter\b.{0,80}(?:sign up|subscribe|inbox)",
    re.I,
)


def _cta_line(text: str) -> bool:
    """CTA_LINE finds something in the line.

    A word every match holds is first looked for in the lowercased line with str's C-level `in`,
    before the case-blind regex tries every position. IGNORECASE also matches "ſ" to s (and "ı",
    "İ" to i), which lower() leaves alone: a line holding one of those goes to the regex.
    """
    low = text.lower()
    if (
        "google news" not in low
        and "whatsapp" not in low
        and "newsletter" not in low
        and "\u017f" not in text
        and "\u0131" not in text
        and "\u0130" not in text
    ):
        return False
    return CTA_LINE.search(text) is not None


CTA_LINE_OPENING = patterns.compile(
    r"cek berita dan artikel|jangan (?:sampai )?ketinggalan|sign up for|subscribe to|"
    r"get (?:our|the) (?:daily|free|weekly)",
    re.I,
)
CTA_MAX_CHARS = 340

# Syndication notes (`Artikel ini telah tayang di Kompas.com dengan judul ...`): where the text
# also appeared, not text.
SYNDICATION_LINE = patterns.compile(
    r"^[-–—_*\s]*(?:artikel|berita|tulisan) ini (?:telah |sudah |juga |pertama kali )?"
    r"(?:tayang|naik|terbit|dimuat|diterbitkan|ditayangkan|dipublikasikan)\b.{0,300}$"
    r"|^(?:this (?:article|story) (?:was|first) (?:originally |first )?"
    r"(?:published|appeared)|(?:originally|first) (?:published|appeared) (?:on|in|at|by))\b.{0,300}$",
    re.I,
)

# Pagination of a multi-page article (`Halaman 1 2 3 Selanjutnya`, `Halaman Selanjutnya`),
# checked word by word like share bars.
PAGINATION_WORDS = word_set(
    """
    halaman hal page pages dari of selanjutnya berikutnya sebelumnya next previous prev
    lanjut tampilkan semua show all lihat first last pertama terakhir
    """
)
PAGINATION_CORE_WORDS = word_set(
    """
    halaman hal page selanjutnya berikutnya sebelumnya next previous prev lanjut
    """
)


def is_pagination_line(text: str) -> bool:
    return _only_words(text, PAGINATION_WORDS, PAGINATION_CORE_WORDS)


# Photo captions and credits as text lines.
CAPTION_LINE = patterns.compile(
    r"^[(\[]?\s*(?:foto|photo|photos|image|images|gambar|ilustrasi|illustration|credit|"
    r"kredit|sumber foto|fotografer|photographer|pic|picture)\s*(?:/|:|by\b)\s*.{1,160}$"
    r"|^lihat foto$|^(?:getty images|ap photo|reuters|afp|antara foto|shutterstock|istock(?:photo)?)"
    r"(?:/[\w .]+)?[)\]]?$",
    re.I,
)

# Byline lines that open the body (`Oleh:Name`, `Penulis: Name`, `By Name`).
BYLINE_LINE = patterns.compile(
    r"^(?:oleh|penulis|reporter|pewarta|wartawan|kontributor|laporan(?: wartawan| reporter)?"
    r"(?: [\w.]+)?|by|written by|words by|ditulis oleh)\s*:?\s*\S.{0,100}$",
    re.I,
)
# Credit lines that close the body (`Editor: Name`); `Sumber:` (the source) stays, it is text.
CREDIT_LINE = patterns.compile(
    r"^(?:editor|penyunting|redaktur|red|penulis|pewarta|reporter|fotografer|foto|"
    r"videografer|kontributor|penerjemah|translator|writer|author|copy ?editor|"
    r"dilaporkan oleh|laporan)\s*:\s*\S.{0,120}$",
    re.I,
)
# Copyright notices (`COPYRIGHT © ANTARA 2016`).
COPYRIGHT_LINE = patterns.compile(
    r"^(?:copyright|hak cipta|©|\(c\))\b.{0,200}$|^.{0,80}©\s*\d{4}.{0,120}$", re.I
)

# Placeholders of embeds that did not render (`[Gambas:Video 20detik]`, `[embedded content]`).
EMBED_LINE = patterns.compile(
    r"^\[(?:[\w ]{1,30}:[^\]]{0,60}|embedded content|video|ad|iklan)\]$", re.I
)

# Video calls to action (`Simak video 'Judul'`, `Saksikan video di bawah ini:`, `Tonton juga
# video: ...`, `[Gambas:Video 20detik]`): they point at a player that is not text, as a "read
# also" insert points at another article, and portals append them to the last paragraph as often
# as they set them apart. A call is an imperative ("simak", "saksikan", "tonton", "lihat",
# "putar") with "video", then a title set off by a colon or quotes, or a pointer to the player
# ("di bawah ini", "berikut"), and nothing after it: a sentence that mentions a video ("Video itu
# viral ...", "Tonton video itu, kata dia, ...") is none of these.
_VIDEO_CTA_HEAD = (
    r"(?:simak|saksikan|tonton|lihat|putar)(?:\s+(?:juga|pula|lagi))?"
    r"(?:\s+(?:selengkapnya|lengkapnya))?(?:\s+(?:dalam|di|pada|lewat|melalui))?"
    r"\s+(?:(?:tayangan|cuplikan|rekaman)\s+)?video(?:nya)?\b"
    r"(?:\s+(?:pilihan|menarik|terkait|lainnya|lengkap(?:nya)?|selengkapnya|terbaru|juga|pula|"
    r"ini|berikut))*"
)
_VIDEO_CTA_SET_OFF = (
    r"(?:\s*[:：]\s*[^\n]{0,200}"  # a colon and the title, or nothing more
    r"|\s*[\"“'‘][^\n]{2,200}?[\"”'’]\s*[:.!]?"  # the title in quotes
    r"|(?:\s+[\w-]+){0,4}?\s+(?:di\s+bawah(?:\s+ini)?|berikut(?:\s+ini)?|di\s+sini|di\s+atas)"
    r"\s*[:.!]?"  # a pointer to the player
    r"|\s*[.!]?)"
)
_VIDEO_PLACEHOLDER = r"\[\s*gambas\s*:[^\]\n]{0,60}\]"
VIDEO_CTA_LINE = patterns.compile(
    rf"(?:{_VIDEO_PLACEHOLDER}|{_VIDEO_CTA_HEAD}{_VIDEO_CTA_SET_OFF})\s*", re.I
)
# In bold, a call needs no set-off title (`<strong>Tonton juga video Warga Tangkap Buaya</strong>`):
# the bold is what sets it apart.
VIDEO_CTA_BOLD = patterns.compile(rf"{_VIDEO_CTA_HEAD}\s+\S[^\n]{{0,160}}", re.I)
# A call closing the last paragraph starts a sentence (or is a placeholder in brackets).
_VIDEO_CTA_TAIL = patterns.compile(
    rf"(?:^|(?<=[.!?…\"”’)])\s+|\s+(?=\[))(?P<cta>(?:{_VIDEO_PLACEHOLDER}|{_VIDEO_CTA_HEAD})"
    rf"[^\n]{{0,220}})$",
    re.I,
)
# A call is one short sentence: longer text is never one, and no more of the last block's end is
# searched for one.
VIDEO_CTA_MAX_CHARS = 260
# Every call holds one of these (its placeholder or its "video"): the end of a last paragraph
# that holds neither is not searched (the regex tries its heads after every sentence's end).
_VIDEO_CTA_WORDS = ("video", "gambas")


def is_video_cta(text: str, *, bold: bool = False) -> bool:
    """The whole text is a video call to action (`bold`: it is set in bold type)."""
    if len(text) > VIDEO_CTA_MAX_CHARS:
        return False
    return bool(VIDEO_CTA_LINE.fullmatch(text) or (bold and VIDEO_CTA_BOLD.fullmatch(text)))


def video_cta_start(block: Block) -> int | None:
    """Where a video call to action closing the block starts, or None."""
    text = block.text
    start = max(0, len(text) - VIDEO_CTA_MAX_CHARS)
    if patterns.holds_none(text[start:], _VIDEO_CTA_WORDS):
        return None
    m = _VIDEO_CTA_TAIL.search(text, start)
    if not m:
        return None
    start = m.start("cta")
    cta = m.group("cta")
    bold = block.bold_tail >= len(cta)  # the whole call is in the closing bold run
    return start if is_video_cta(cta, bold=bold) else None


# A line that is only a date and/or time (`Kamis, 05 November 2015 | 11:13 WIB`, `Updated
# 19 Nov 2019 7:36 AM`): the page's date stamp, metadata rather than text. Word by word: every
# word is a day, month, zone or date word (numbers always pass).
DATE_WORDS = word_set(
    """
    senin selasa rabu kamis jumat jum at sabtu minggu ahad januari februari maret april mei
    juni juli agustus september oktober november desember jan feb mar apr jun jul agu agt
    ags aug sep sept okt oct nov des dec may january february march june july august october
    december monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu
    thur thurs fri sat sun wib wita wit am pm gmt utc est edt pst pdt cet bst pukul jam
    updated update published posted diperbarui dipublikasikan diterbitkan terbit on at last
    modified diposting pada tanggal date hour hours menit minute minutes ago lalu yang st nd
    rd th
    """
)


def is_date_line(text: str) -> bool:
    # The word test first: it stops at a line's first word that is not a date word (most lines),
    # where the anchor regex scans the whole line.
    return _only_words(text, DATE_WORDS, DATE_WORDS) and bool(_DATE_ANCHOR.search(text))


# A date line carries a year, a time or a d/m date (a bare "2" is not a date).
_DATE_ANCHOR = patterns.compile(
    r"\d{4}|\d{1,2}[:.]\d{2}|\d{1,2}/\d{1,2}|\d+ (?:jam|menit|hours?|minutes?)"
)

# Sentence-ending punctuation: a role line under a byline has none.
_SENTENCE_END = patterns.compile(r"[.!?…\"”’)]$")


def insert_match(block: Block, insert_re: re.Pattern[str]) -> bool:
    """True when the whole block is a "read also" insert: a label, then a headline."""
    text = block.text
    if len(text) > INSERT_MAX_CHARS:
        return False
    m = insert_re.match(text)
    if not m:
        return False
    label = m.group("label").lower()
    rest = m.group("rest").strip()
    if not rest:
        # A bare label ("Baca Juga") is a related-list heading; filter_blocks handles it.
        return False
    if m.group("sep") and m.group("sep").strip():
        if _LABELS_NEED_SEPARATOR.fullmatch(" ".join(label.split())):
            # English labels: only with a linked or bold headline after them.
            return block.link_ratio >= 0.4 or block.bold_ratio >= 0.8
        return True
    if _LABELS_NEED_SEPARATOR.fullmatch(" ".join(label.split())) or label in ("watch", "listen"):
        return False
    # No separator: the rest must be a headline shown as a link or in bold, not a sentence.
    return block.link_ratio >= 0.5 or block.bold_ratio >= 0.8


def _links_only(block: Block) -> bool:
    return block.link_ratio >= 0.6 and len(block.text) <= 250


# A labelled line (`Sumber: <link>`, `KONTAK: <email>`) or a bare URL/e-mail: contact and source
# lines of the article, not a headline linking elsewhere.
_LABELLED_OR_URL = patterns.compile(r"^[\w .()/-]{1,25}:\s|^\S*(?:https?://|www\.|@)\S*$", re.I)


def _teaser_link(block: Block) -> bool:
    return _links_only(block) and not _LABELLED_OR_URL.search(block.text)


def line_kind(block: Block, insert_re: re.Pattern[str] = DEFAULT_INSERT_RE) -> str | None:
    """The chrome kind of one block judged on its own text, or None for article text."""
    text = block.text
    n = len(text)
    if n <= 90 and AD_LINE.match(text):
        return "ad"
    if insert_match(block, insert_re):
        return "insert"
    if n <= 120 and is_share_line(text):
        return "share"
    if n <= 60 and EMBED_LINE.match(text):
        return "embed"
    if n <= VIDEO_CTA_MAX_CHARS and is_video_cta(text, bold=block.bold_ratio >= 0.8):
        return "cta"
    if n <= 60 and READ_MORE_LINE.match(text):
        return "nav"
    if n <= CTA_MAX_CHARS and CTA_OPENING.match(text):
        return "cta"
    if (
        n <= 300
        and (CTA_LINE_OPENING.match(text) or _cta_line(text))
        and (n <= 160 or block.link_ratio > 0.2)
    ):
        return "cta"
    if n <= 360 and SYNDICATION_LINE.match(text):
        return "syndication"
    if n <= 80 and is_pagination_line(text):
        return "nav"
    if n <= 250 and COPYRIGHT_LINE.match(text):
        return "copyright"
    if (
        n <= 320
        and TAGS_LINE.match(text)
        and (text.startswith("#") or block.link_ratio >= 0.3 or ":" in text[:15])
    ):
        return "tags"
    if n <= 180 and CAPTION_LINE.match(text):
        return "caption"
    if n <= 70 and is_date_line(text):
        return "date"
    return None


@dataclass
class Filtered:
    kept: list[Block] = field(default_factory=list)
    removed: list[Removed] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)


def filter_blocks(blocks: list[Block], insert_re: re.Pattern[str] = DEFAULT_INSERT_RE) -> Filtered:
    """Cut the chrome lines out of the body blocks; keep the audit of each cut."""
    out = Filtered()
    list_kind: str | None = None  # set after a related/tags heading: the links under it go too
    in_comments = False
    n = len(blocks)
    for i, block in enumerate(blocks):
        text = block.text
        if in_comments:
            out.removed.append(Removed("comments", text))
            continue
        if list_kind:
            nxt = blocks[i + 1] if i + 1 < n else None
            if (
                _links_only(block)
                or (len(text) <= 40 and not _SENTENCE_END.search(text))
                or (
                    len(text) <= TEASER_MAX_TEXT
                    and ((nxt is not None and _links_only(nxt)) or _links_only(blocks[i - 1]))
                )
            ):
                # Related lists put a category label above each linked headline.
                out.removed.append(Removed(list_kind, text))
                continue
            list_kind = None
        kind = line_kind(block, insert_re)
        if kind is None and len(text) <= 60:
            if COMMENTS_HEADING.match(text):
                # A comments heading after the article opens the comment section; one before
                # any text (a "0 Comments" counter) is just a line.
                kind = "comments"
                kept_chars = sum(len(b.text) for b in out.kept)
                if kept_chars >= 200 and (block.heading or block.bold_ratio > 0.5 or i >= n // 2):
                    in_comments = True
            elif RELATED_HEADING.match(text) or _bare_label(text, insert_re):
                nxt = blocks[i + 1] if i + 1 < n else None
                if block.cut_after in (
                    "related",
                    "insert",
                    "tags",
                    "share",
                    "ad",
                    "nav",
                    "sidebar",
                ):
                    kind = "related"
                elif (
                    nxt is None
                    or _links_only(nxt)
                    or len(nxt.text) <= 40
                    or insert_match(nxt, insert_re)
                ):
                    kind = list_kind = "related"
            elif TAGS_HEADING.match(text):
                nxt = blocks[i + 1] if i + 1 < n else None
                if nxt is None or _links_only(nxt):
                    kind = list_kind = "tags"
        if kind is None and i < 3 and len(out.kept) == 0 and _is_top_byline(blocks, i):
            kind = "byline"
        if kind is None and i >= n - 4 and len(text) <= 140 and CREDIT_LINE.match(text):
            kind = "byline"
        if kind is None:
            out.kept.append(block)
            continue
        out.removed.append(Removed(kind, text))
        if kind == "caption":
            out.captions.append(text)
    _trim_link_runs(out)
    _trim_end_marks(out)
    _join_datelines(out)
    return out


# Desk codes closing a news item: the initials of reporter/editor (`(ant)`, `(mdk/ded)`,
# `(Cas/Isk)`, `(H-4)`). Lower-case initials, initials with a slash, or a letter and a number:
# an acronym in parentheses (`(PBB)`) is none of these.
DESK_CODE = patterns.compile(
    r"\s*\(\s*(?:[a-z]{2,6}(?:\s*/\s*[a-z]{2,6}){0,3}|[A-Za-z]{2,8}(?:\s*/\s*[A-Za-z]{2,8}){1,3}"
    r"|[A-Z]{1,3}-\d{1,3})\s*\)$"
)
# End marks (`***`, `###`, `(selesai)`) closing the text.
END_MARK = patterns.compile(
    r"\s*(?:(?:\*\s*){3,}|#{3,}|\(\s*(?:selesai|end|habis|tamat)\s*\))$", re.I
)


def _closing_mark_region(text: str) -> int | None:
    """Where the part of `text` that may hold an END_MARK or DESK_CODE match starts, or None when
    it holds none: the searches run on that part only (each tries its branches at every position
    of a long paragraph). A match closes the text and is blanks and then stars or hashes, or
    blanks and a parenthesis holding no other: it starts in the blanks before the last "(" of a
    text ending in ")", or in the run of blanks, stars and hashes ending a text."""
    last = text.rstrip()[-1:]
    if last == ")":
        opening = text.rfind("(")
        return None if opening < 0 else len(text[:opening].rstrip())
    if last != "*" and last != "#":
        return None
    run = text
    while True:  # str.rstrip strips what the patterns' \s matches: the run of both kinds
        shorter = run.rstrip().rstrip("*#")
        if shorter == run:
            return len(run)
        run = shorter


def _trim_end_marks(out: Filtered) -> None:
    """Cut desk codes, end marks and video calls to action from the end of the body, as lines or
    as the last words (in any order: `... (nvc/nvc) Simak video ...` and the reverse)."""
    kept = out.kept
    while kept:
        last = kept[-1]
        region = _closing_mark_region(last.text)
        m = None
        if region is not None:
            closing = last.text[region:]
            m = END_MARK.search(closing) or DESK_CODE.search(closing)
        if m:
            kind = "end_mark" if END_MARK.search(closing) else "desk_code"
            start, cut = region + m.start(), m.group(0).strip()
        else:
            video = video_cta_start(last)
            if video is None:
                return
            kind, start, cut = "cta", video, last.text[video:].strip()
        out.removed.append(Removed(kind, cut))
        last.text = last.text[:start].rstrip()
        if not last.text:
            kept.pop()


# A dateline set apart from its paragraph (`<strong>Jakarta</strong> - <p>...`): short, ending in
# a dash. It opens the first paragraph.
DATELINE_ALONE = patterns.compile(r"^[^\n]{2,60}?\s*(?:-|–|—|--)$")


def _join_datelines(out: Filtered) -> None:
    kept = out.kept
    if len(kept) >= 2 and DATELINE_ALONE.match(kept[0].text) and not kept[0].heading:
        first, second = kept[0], kept[1]
        second.text = f"{first.text} {second.text}"
        second.link_chars += first.link_chars
        second.bold_chars += first.bold_chars
        del kept[0]


# A tail of the body where at least this share of the blocks (and this many) are bare links is a
# list of other articles (teasers: headline link, date, summary), not the article.
TEASER_LINK_SHARE = 0.4
TEASER_MIN_LINKS = 4
TEASER_MAX_TEXT = 260  # the summaries in a teaser list are short


def _trim_link_runs(out: Filtered) -> None:
    """Cut link-only blocks before the first paragraph (breadcrumbs, kickers) and the teaser
    lists and link runs after the last one."""
    kept = out.kept
    start = 0
    while start < len(kept) and _teaser_link(kept[start]) and len(kept[start].text) <= 120:
        out.removed.append(Removed("nav", kept[start].text))
        start += 1
    n = len(kept)
    links_after = [0] * (n + 1)
    for j in range(n - 1, start - 1, -1):
        links_after[j] = links_after[j + 1] + (1 if _teaser_link(kept[j]) else 0)
    longest_after = [0] * (n + 1)
    for j in range(n - 1, start - 1, -1):
        longest_after[j] = max(longest_after[j + 1], len(kept[j].text))
    end = n
    for j in range(start, n):
        if (
            _teaser_link(kept[j])
            and links_after[j] >= TEASER_MIN_LINKS
            and links_after[j] >= TEASER_LINK_SHARE * (n - j)
            and longest_after[j] <= TEASER_MAX_TEXT
        ):
            end = j
            break
    while end > start and (
        _teaser_link(kept[end - 1]) or (kept[end - 1].heading and len(kept[end - 1].text) <= 60)
    ):
        # Link runs, and a heading left with nothing under it, close no article.
        end -= 1
    for block in kept[end:]:
        out.removed.append(Removed("related", block.text))
    out.kept = kept[start:end]


def _bare_label(text: str, insert_re: re.Pattern[str]) -> bool:
    m = insert_re.match(text)
    return bool(m) and not m.group("rest").strip()


def _is_top_byline(blocks: list[Block], i: int) -> bool:
    """A byline line before the first paragraph, or the role line right under one."""
    text = blocks[i].text
    if len(text) <= 110 and BYLINE_LINE.match(text) and not _SENTENCE_END.search(text.rstrip(".")):
        return True
    if i > 0 and len(text) <= 90 and not _SENTENCE_END.search(text) and len(text.split()) <= 12:
        prev = blocks[i - 1].text
        return bool(BYLINE_LINE.match(prev)) and len(prev) <= 110
    return False
