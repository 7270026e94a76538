"""Bylines: who wrote the article, and who else is credited in what role. (stub)"""

from __future__ import annotations

from newsarchive.extract.document import Document
from newsarchive.items import Contributor


def parse_byline(text: str) -> list[Contributor]:
    return []


def find_contributors(
    doc: Document, *, selectors: dict[str, tuple[str, ...]]
) -> tuple[list[Contributor], str | None]:
    return [], None
