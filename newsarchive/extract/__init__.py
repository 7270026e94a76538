"""Extraction: one saved page in, one clean Article out.

A pure function of (page bytes, URL, fetched_at, site profile). Nothing under this package imports
Scrapy: the crawl, `reextract`, the golden tests and the benchmarks all call the same code.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urljoin

from newsarchive.bot_checks import bot_check_reason, bot_check_service
from newsarchive.extract import patterns
from newsarchive.extract.body import extract_body
from newsarchive.extract.bylines import find_contributors
from newsarchive.extract.dates import WIB, find_dates
from newsarchive.extract.document import Document, clear_script_text, parse_document
from newsarchive.extract.fields import (
    find_canonical_url,
    find_category,
    find_description,
    find_image,
    find_tags,
    find_title,
    is_indonesian,
    is_indonesian_site,
)
from newsarchive.extract.headline import find_site_name, opening_heading
from newsarchive.extract.kinds import OTHER, classify_page, needs_teasers, teaser_texts
from newsarchive.items import Article, RawPage
from newsarchive.sites import SiteProfile, find_profile

# Every module's patterns are compiled by now: keep their engine code for the next process.
patterns.save()

# Bumped whenever a change can alter records, so the archive knows which records `reextract` may
# improve.
EXTRACTOR_VERSION = "0.1.0"

__all__ = ["EXTRACTOR_VERSION", "Document", "extract_article", "extract_pages", "parse_document"]


def extract_article(
    html: str | bytes,
    url: str | None = None,
    *,
    fetched_at: datetime | None = None,
    profile: SiteProfile | None = None,
    content_type: str | None = None,
) -> Article:
    """Extract the article record from one page.

    `profile` defaults to the packaged profile whose domains cover `url`; with none, the generic
    rules alone apply. `content_type` is the HTTP Content-Type header when the page came over
    HTTP (its charset decodes the page). The record says what the page is (`page_kind`: article,
    listing or other, with `kind_reasons`). Raises NotHtmlError for input that is not an HTML
    page.
    """
    doc = parse_document(html, url, content_type=content_type)
    if profile is None:
        profile = find_profile(url)
    fetched_iso = fetched_at.isoformat() if fetched_at else None
    selectors, chrome_remove = profile.for_fetched_at(fetched_iso) if profile else ({}, ())
    insert_labels = profile.insert_labels if profile else ()

    art = Article(url=url, extractor_version=EXTRACTOR_VERSION)
    indonesian = is_indonesian(doc)
    # A declared language loses to prose that is plainly Indonesian (is_indonesian reads the text).
    art.language = (profile.language if profile and profile.language else None) or (
        "id" if indonesian and doc.lang != "in" else doc.lang
    )
    if art.language is None and indonesian:
        art.language = "id"
    indonesian_site = indonesian or is_indonesian_site(doc)
    default_tz = (
        profile.timezone if profile and profile.timezone else (WIB if indonesian_site else None)
    )

    # Metadata is read from the intact tree; body extraction cuts chrome out of it afterwards.
    art.title, art.sources["title"] = find_title(doc, selectors)
    # The date finder reads the page with its script text: its date-line tests measure an
    # element's whole text (a toolbar that holds a script is no date line), and its records stay
    # as they were. The finders after it read the page without (clear_script_text).
    dates = find_dates(doc, fetched_at=fetched_at, default_tz=default_tz, selectors=selectors)
    clear_script_text(doc)
    contributors, source = find_contributors(doc, selectors=selectors)
    art.contributors = contributors
    art.authors = [c.name for c in contributors if c.role in ("author", "reporter", "agency")]
    if source:
        art.sources["authors"] = source
    for name in ("published", "modified"):
        value = getattr(dates, name)
        if value is not None:
            setattr(art, name, value)
            art.sources[name] = getattr(dates, name + "_source")
            art.raw[name] = getattr(dates, name + "_raw")
    art.notes.extend(dates.notes)
    art.category, cat_source = find_category(doc, selectors, art.title)
    if cat_source:
        art.sources["category"] = cat_source
    art.tags = find_tags(doc, selectors)
    art.description = find_description(doc, selectors)
    # Both as absolute URLs: a record's "/nouvelle/1728875/..." names no page once apart from
    # the page it came from.
    art.image = _absolute(find_image(doc, selectors), url)
    art.canonical_url = _absolute(find_canonical_url(doc), url)
    art.site_name = find_site_name(doc)

    # Read before extract_body cuts chrome out of the tree, and only when classify_page uses them.
    teasers = teaser_texts(doc) if needs_teasers(doc) else set()
    body = extract_body(
        doc,
        selectors=selectors,
        chrome_remove=chrome_remove,
        insert_labels=insert_labels,
        headline=opening_heading(doc),
    )
    art.body = body.text
    art.removed = body.removed
    art.captions = body.captions
    if body.source:
        art.sources["body"] = body.source
    art.page_kind, art.kind_reasons = classify_page(doc, art, teasers)
    checked = bot_check_service(html)
    if checked is not None:
        # Imported or re-extracted: the crawl fails such an answer before it gets here.
        art.page_kind, art.kind_reasons = OTHER, [bot_check_reason(checked)]
    return art


def _absolute(link: str | None, page_url: str | None) -> str | None:
    """`link` resolved against the page's URL; as written when it is absolute already, or when
    either cannot be taken apart ('http://[::1')."""
    if not link or not page_url or _plain_absolute_url(link):
        return link
    try:
        return urljoin(page_url, link)
    except ValueError:
        return link


def _plain_absolute_url(url: str) -> bool:
    """Whether urljoin gives back `url` itself whatever the page URL: an http(s) URL with a host,
    in printable ASCII without spaces, and no query, fragment or parameters (which urllib's
    parse and unparse could rewrite, "http://a/b?" losing its "?"). Told without urljoin, whose
    pure-Python parsing of both URLs is a percent of a small page's extraction."""
    if url.startswith("https://"):
        host_at = 8
    elif url.startswith("http://"):
        host_at = 7
    else:
        return False
    return (
        url[host_at : host_at + 1] not in ("", "/")
        and url.isascii()
        and url.isprintable()
        and not any(map(url.__contains__, " ?#;"))
    )


def extract_pages(pages: list[RawPage], profile: SiteProfile | None = None) -> Article:
    """The record of an article from its pages: page 1 gives every field; later pages add body."""
    first = pages[0]
    article = extract_article(
        first.body,
        first.final_url or first.url,
        fetched_at=first.fetched_at,
        profile=profile,
        content_type=content_type_of(first),
    )
    if len(pages) > 1:
        bodies = [article.body] if article.body else []
        for later in pages[1:]:
            part = extract_article(
                later.body,
                later.final_url or later.url,
                fetched_at=later.fetched_at,
                profile=profile,
                content_type=content_type_of(later),
            )
            if part.body:
                bodies.append(part.body)
            article.removed.extend(part.removed)
            article.captions.extend(c for c in part.captions if c not in article.captions)
        article.body = "\n\n".join(bodies) or None
        article.notes.append(f"stitched from {len(pages)} pages")
    return article


def content_type_of(page: RawPage) -> str | None:
    """The page's HTTP Content-Type header (header names are case-insensitive)."""
    for name, value in (page.headers or {}).items():
        if name.lower() == "content-type":
            return value
    return None
