"""Is the demo crawl's archive right? Each generated article against its record.

The demo knows what it published, so a record can be checked exactly: title, author, date, and a
body that holds every paragraph and none of the page's chrome; and it knows which of its pages
are not news (about, contact, policies), none of which may be a record. `newsarchive demo` prints
the count and the end-to-end tests assert it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from newsarchive.demo.generator import Portal

# Strings of the demo pages' chrome, one per form; none may appear in an archived body.
CHROME_MARKERS = (
    "Baca :",  # seed-style inserts
    "Baca juga",  # detik/kompas inserts
    "Baca Juga",  # the related list heading
    "Share :",
    "ADVERTISEMENT",
    "SCROLL TO CONTINUE WITH CONTENT",
    "Halaman:",
    "Selanjutnya",
    "Oleh:",
    "Penulis",
    "Bagikan",
    "Berita Terkini",
    "Berita Terkait",
    "Tag :",
    "Cetak",
    "Seluruh hak cipta",
)


@dataclass
class DemoAudit:
    expected: int
    archived: int
    complete: int
    problems: dict[str, list[str]] = field(default_factory=dict)
    # Pages the portal publishes that are not news (about, contact, policies) but were stored
    # as article records: each is also listed in `problems`.
    non_articles: list[str] = field(default_factory=list)


def _path(url: str | None) -> str:
    parts = urlsplit(url or "")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def audit(rows: Iterable[dict[str, Any]], portal: Portal) -> DemoAudit:
    by_path = {_path(row.get("url")): row for row in rows}
    result = DemoAudit(expected=len(portal.articles), archived=0, complete=0)
    for path in portal.info_paths:
        if path in by_path:
            result.non_articles.append(path)
            result.problems[path] = [
                "not an article (an about/contact/policy page) but in articles"
            ]
    for art in portal.articles:
        row = by_path.get(art.path)
        if row is None:
            result.problems[art.path] = ["not archived"]
            continue
        result.archived += 1
        problems = []
        if (row.get("title") or "").strip() != art.title:
            problems.append(f"title {row.get('title')!r}")
        authors = json.loads(row.get("authors") or "[]")
        if art.author not in authors:
            problems.append(f"authors {authors!r}")
        if not row.get("published") or not row["published"].startswith(
            art.published.isoformat()[:16]
        ):
            problems.append(
                f"published {row.get('published')!r} (expected {art.published.isoformat()})"
            )
        body = row.get("body") or ""
        for para in art.paragraphs:
            if para.removesuffix(" ***")[:60] not in body:
                problems.append(f"body lacks {para[:40]!r}")
                break
        # Nothing before the first paragraph (byline, role line, date) and, after the last, at
        # most its own end mark (`***`, editor initials such as `(rdp/imk)`).
        if not body.startswith(art.paragraphs[0][:60]):
            problems.append(f"body starts {body[:60]!r}")
        last = art.paragraphs[-1].removesuffix(" ***")
        last_core = last[: last.rfind(" (")] if last.endswith(")") else last
        tail = body.rsplit(last_core, 1)
        if len(tail) == 2 and len(tail[1].strip()) > 20:
            problems.append(f"body ends {body[-60:]!r}")
        leaked = [m for m in CHROME_MARKERS if m in body]
        if leaked:
            problems.append(f"chrome in body: {leaked}")
        if problems:
            result.problems[art.path] = problems
        else:
            result.complete += 1
    return result
