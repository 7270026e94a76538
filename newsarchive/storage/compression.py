"""Raw page bodies, compressed with zstandard.

Measured on the 221 corpus pages (35.8 MB of HTML, ../shared/corpus): level 3 keeps 19.6 % of the
bytes at ~440 MB/s, level 9 17.8 % at ~90 MB/s, level 19 16.9 % at ~4 MB/s; a dictionary trained
on half the pages saved only ~1 point more on the other half (mixed sites), not worth a dictionary
table to keep forever. Level 9 costs ~2 ms for a typical 160 kB page: invisible next to a polite
crawl's delay and to extraction.
"""

from __future__ import annotations

import zstandard

from newsarchive.errors import NewsarchiveError

ZSTD_LEVEL = 9
# Stored with every page, so a later change of codec or level can still read old rows.
COMPRESSION = f"zstd-{ZSTD_LEVEL}"


def compress(body: bytes) -> tuple[bytes, str]:
    """The compressed body and the name of the codec to store next to it."""
    # A compressor per call: zstandard contexts must not be shared between threads, and making
    # one costs microseconds.
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(body), COMPRESSION


def decompress(blob: bytes, compression: str) -> bytes:
    if compression.startswith("zstd"):
        return zstandard.ZstdDecompressor().decompress(blob)
    if compression == "none":
        return blob
    raise NewsarchiveError(f"raw page stored with unknown compression {compression!r}")
