"""`newsarchive verify`: read the whole archive back and say whether it is sound.

A raw page is the archive's evidence: every record can be rebuilt from it, so a page damaged on
disk (a bad sector, a file edited by hand, a copy cut short) must be found by a check, not by the
re-extraction that needed it a year later. Checked: SQLite's own structure of both files
(`PRAGMA quick_check`), every raw page inflated and compared with the sha256 stored when it was
fetched, and every record's page present. The pair itself (the pages file is this archive's) is
checked by opening it (Archive._check_pages_pair).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from newsarchive.storage.archive import Archive

# Problems listed one by one; past this, counted (a damaged block spoils every page after the
# damage in it, hundreds of lines of the same cause).
LISTED_PROBLEMS = 20
PROGRESS_SECONDS = 10.0


@dataclass
class Verification:
    pages: int = 0
    page_bytes: int = 0
    articles: int = 0
    problems: list[str] = field(default_factory=list)
    damaged_pages: int = 0
    records_without_page: int = 0

    @property
    def sound(self) -> bool:
        return not self.problems


def verify_archive(
    archive: Archive, *, progress: Callable[[str], None] | None = None
) -> Verification:
    """Everything `newsarchive verify` checks, with the problems found as lines naming the file
    and the page or record. `progress` gets a line every PROGRESS_SECONDS."""
    found = Verification()
    for db, path in ((archive.db, archive.path), (archive.pages, archive.pages_path)):
        for (problem,) in db.execute("PRAGMA quick_check(100)").fetchall():
            if problem != "ok":
                found.problems.append(f"{path}: {problem}")

    total = archive.pages.execute("SELECT count(*) FROM pages").fetchone()[0]
    page_ids: set[int] = set()
    last = time.monotonic()
    for page_id, size, damage in archive.check_pages():
        page_ids.add(page_id)
        found.pages += 1
        found.page_bytes += size
        if damage is not None:
            found.damaged_pages += 1
            found.problems.append(str(damage))
        if progress and time.monotonic() - last >= PROGRESS_SECONDS:
            last = time.monotonic()
            progress(f"verify: {found.pages:,} of {total:,} raw pages read")

    for article_id, url, page_id in archive.db.execute(
        "SELECT id, url, page_id FROM articles ORDER BY id"
    ):
        found.articles += 1
        if page_id is not None and page_id not in page_ids:
            found.records_without_page += 1
            found.problems.append(
                f"{archive.path}: article {article_id} ({url}) points at raw page {page_id}, "
                f"which {archive.pages_path} does not hold"
            )
    return found
