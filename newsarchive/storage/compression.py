"""Raw page bodies, compressed with zstandard: each page alone when stored, then packed.

Packing: pages of one site share most of their markup (template, menus, scripts), which a page
compressed alone cannot use. Packed, a site's pages are concatenated into blocks of up to
BLOCK_BYTES and each block is one zstd frame whose window spans it, so every page after the first
costs little more than its own text. Measured (level 9, 8 MB blocks): the demo portal's pages
from 29.7 % of their size alone to 3.5 %; the Indonesian corpus pages (3-4 a site) from 17.8 % to
11.5 %. Reading one page inflates its block only (about 10 ms for 8 MB), so random access stays.

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


# A block holds a site's pages up to this many raw bytes: big enough for the template to be
# paid once, small enough to inflate for one page in a few milliseconds.
BLOCK_BYTES = 8 * 1024 * 1024
BLOCK_LEVEL = 9
BLOCK_COMPRESSION = f"zstd-{BLOCK_LEVEL}-block"
# Stored in a page row's `compression` when its body lives in a block.
IN_BLOCK = "block"


def compress_block(bodies: list[bytes]) -> tuple[bytes, str]:
    """One frame for several pages (concatenated; offsets are kept by the caller)."""
    data = b"".join(bodies)
    window = max(20, min(27, (max(len(data), 1) - 1).bit_length()))
    params = zstandard.ZstdCompressionParameters.from_level(
        BLOCK_LEVEL, window_log=window, enable_ldm=True
    )
    return zstandard.ZstdCompressor(compression_params=params).compress(data), BLOCK_COMPRESSION


def decompress_block(blob: bytes, compression: str) -> bytes:
    if compression.startswith("zstd"):
        # The frame's content size is in its header; the window may exceed the default limit.
        return zstandard.ZstdDecompressor(max_window_size=1 << 27).decompress(blob)
    raise NewsarchiveError(f"page block stored with unknown compression {compression!r}")


def decompress(blob: bytes, compression: str) -> bytes:
    if compression.startswith("zstd"):
        return zstandard.ZstdDecompressor().decompress(blob)
    if compression == "none":
        return blob
    raise NewsarchiveError(f"raw page stored with unknown compression {compression!r}")
