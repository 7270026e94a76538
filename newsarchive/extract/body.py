"""The article body: find the container, cut the chrome, return clean paragraphs. (stub)"""

from __future__ import annotations

from dataclasses import dataclass, field

from newsarchive.extract.document import Document
from newsarchive.items import Removed


@dataclass
class BodyResult:
    text: str | None
    removed: list[Removed] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    source: str | None = None  # profile | jsonld | container | scored


def extract_body(
    doc: Document,
    *,
    selectors: dict[str, tuple[str, ...]],
    chrome_remove: tuple[str, ...] = (),
    insert_labels: tuple[str, ...] = (),
) -> BodyResult:
    paras = [" ".join(p.text_content().split()) for p in doc.tree.iter("p")]
    paras = [p for p in paras if len(p) > 40]
    return BodyResult(text="\n\n".join(paras) or None, source="scored")
