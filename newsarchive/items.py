"""The data contracts: what a crawl fetches (RawPage) and what extraction makes of it (Article).

Plain dataclasses with no Scrapy import, so extraction, storage and tests share them freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any

ROLES = ("author", "editor", "reporter", "photographer", "translator", "agency")


@dataclass
class RawPage:
    """One fetched page, exactly as it came over the wire."""

    url: str
    body: bytes
    final_url: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    fetched_at: datetime | None = None  # timezone-aware, UTC
    encoding: str | None = None


@dataclass
class Contributor:
    name: str
    role: str  # one of ROLES


@dataclass
class Removed:
    """A piece of chrome cut out of the body region, kept so an analyst can audit the cut."""

    # ticker, insert, share, related, tags, author_box, comments, ad, cta, caption, credit, byline,
    # date, nav, header, footer, sidebar, form, title, hidden, embed, copyright, syndication,
    # desk_code, end_mark, profile (cut by a profile's chrome.remove)
    kind: str
    text: str


@dataclass
class Article:
    url: str | None = None
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    contributors: list[Contributor] = field(default_factory=list)
    published: datetime | None = None
    modified: datetime | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    body: str | None = None
    image: str | None = None
    captions: list[str] = field(default_factory=list)
    canonical_url: str | None = None
    language: str | None = None
    site_name: str | None = None
    removed: list[Removed] = field(default_factory=list)
    # Per field: where the winning value came from (profile / json-ld / meta / time / byline /
    # generic / url) and, for dates, the raw string it was read from.
    sources: dict[str, str] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extractor_version: str = ""
    # What the page is: "article" (kept in `articles`), "listing" (a section front, an index, a
    # search result) or "other" (about, contact, policy, error pages...). Every raw page is kept
    # whatever its kind; only articles become records. `kind_reasons` says why, in plain words.
    page_kind: str = "article"
    kind_reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: datetimes as ISO-8601 with offset. A date whose zone the page does not
        state is naive and keeps what the page says: `2018-06-27T09:54:00` (local time, no
        offset), or `2018-06-27` for a bare date (a naive value at midnight)."""
        # Not dataclasses.asdict: its deep copy of every value cost 1.5-2 % of extraction. The
        # record holds only strings, datetimes, and lists and dicts of those or of flat
        # dataclasses (Contributor, Removed): fresh containers give the same independent copy.
        d: dict[str, Any] = {}
        for name in _ARTICLE_FIELDS:
            value = getattr(self, name)
            if isinstance(value, list):
                value = [plain_value(v) for v in value]
            elif isinstance(value, dict):
                value = dict(value)
            d[name] = value
        for key in ("published", "modified"):
            if d[key] is not None:
                d[key] = iso_date(d[key])
        return d


def plain_value(value: Any) -> Any:
    """A list item of a record as asdict gives it: a flat dataclass (Contributor, Removed) as a
    dict of its fields; anything else as it is. asdict itself deep-copies every value, which
    cost the crawl's writer a tenth of its time (0.19 ms an article)."""
    if isinstance(value, str):
        return value
    names = _FIELD_NAMES.get(type(value))
    if names is None:
        if not is_dataclass(value) or isinstance(value, type):
            return value
        names = _FIELD_NAMES[type(value)] = tuple(f.name for f in fields(value))
    return {name: getattr(value, name) for name in names}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


_ARTICLE_FIELDS = tuple(f.name for f in fields(Article))


def iso_date(value: datetime) -> str:
    """ISO-8601 text of a record date: with its offset when it has one; a naive value (the page
    gave no zone) without offset, and a naive midnight as the bare date the page gave."""
    if value.tzinfo is None and value.time() == datetime.min.time():
        return value.date().isoformat()
    return value.isoformat()


PAGE_KINDS = ("article", "listing", "other")


# A body shorter than this is counted as a missing body in the crawl's stats and its run's
# fill-rates (a portal redesign shows up as a jump in these counts: the text a template change
# leaves is a caption or a share bar); whether the page is an article is the extractor's call.
MIN_BODY_CHARS = 200

# The reasons require_headline_and_body gives.
NO_HEADLINE = "no headline"
NO_BODY_TEXT = "no body text"


def require_headline_and_body(article: Article) -> None:
    """Whatever the classifier said, a page without a headline or a body cannot be a record: an
    "article" without either is filed as another page, with the reason."""
    if article.page_kind == "article" and not (article.title and article.body):
        article.page_kind = "other"
        article.kind_reasons = [
            *article.kind_reasons,
            NO_HEADLINE if not article.title else NO_BODY_TEXT,
        ]


def has_field(article: Article, name: str) -> bool:
    """Whether `article` has the field `name` filled; a body under MIN_BODY_CHARS counts as
    none (the crawl's missing-field counts and its run's fill-rates read it alike)."""
    value = getattr(article, name, None)
    if name == "body":
        return bool(value) and len(value) >= MIN_BODY_CHARS
    return bool(value)


def lost_its_text(article: Article) -> bool:
    """An article by every other sign that require_headline_and_body filed as another page: what
    a redesign the extractor cannot read makes of an article (see RunTally)."""
    return article.page_kind == "other" and article.kind_reasons[-1:] in (
        [NO_HEADLINE],
        [NO_BODY_TEXT],
    )


@dataclass
class CrawledPage:
    """An article candidate as fetched: the raw page, plus pages 2..n of a multi-page article."""

    raw: RawPage
    site: str
    continuations: list[RawPage] = field(default_factory=list)
    # Filled by the pipelines:
    article: Article | None = None
    missing: list[str] = field(default_factory=list)
    # Why extracting the page raised (an extractor bug, or its worker died): the page is then
    # stored as "unextracted", and `reextract` tries it again.
    extraction_error: str | None = None


@dataclass
class FetchFailure:
    """A URL the crawl met that ended without a stored page: `reason` is for a person to read
    ("HTTP 404", "redirect loop", "not an HTML page (application/pdf)")."""

    url: str
    reason: str
    site: str
    status: int | None = None
