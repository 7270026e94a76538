"""The archive: all SQL of newsarchive lives in this package (sqlite-utils over two SQLite files).

Typical use: open `Archive("data/archive.db")`, and inside `with archive.batch():` call
`archive.store(raw_page, article, site="detik")` per item ('new' | 'updated' | 'unchanged' | 'page').
"""

from newsarchive.errors import ArchiveUnwritable
from newsarchive.storage.archive import (
    DEFAULT_DB,
    OUTCOMES,
    Archive,
    FetchState,
    KnownUrls,
    ReextractResult,
    ReextractTarget,
    StoreError,
    check_archive,
    default_pages_path,
    extraction_url,
)

__all__ = [
    "DEFAULT_DB",
    "OUTCOMES",
    "Archive",
    "ArchiveUnwritable",
    "FetchState",
    "KnownUrls",
    "ReextractResult",
    "ReextractTarget",
    "StoreError",
    "check_archive",
    "default_pages_path",
    "extraction_url",
]
