"""Dates: Indonesian forms, zone labels, relative forms, and source disagreement. (stub)"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo

from newsarchive.extract.document import Document

WIB = timezone(timedelta(hours=7), "WIB")
WITA = timezone(timedelta(hours=8), "WITA")
WIT = timezone(timedelta(hours=9), "WIT")


@dataclass
class DatesResult:
    published: datetime | None = None
    published_raw: str | None = None
    published_source: str | None = None
    modified: datetime | None = None
    modified_raw: str | None = None
    modified_source: str | None = None
    notes: list[str] = field(default_factory=list)


def parse_date(text: str, *, fetched_at: datetime | None = None, default_tz: tzinfo | None = WIB) -> datetime | None:
    return None


def find_dates(
    doc: Document,
    *,
    fetched_at: datetime | None,
    default_tz: tzinfo | None,
    selectors: dict[str, tuple[str, ...]],
) -> DatesResult:
    return DatesResult()
