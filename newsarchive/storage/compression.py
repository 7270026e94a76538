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
table to keep forever. A page is stored alone at level 3 (ZSTD_LEVEL): a crawl's end and an
import pack it into a block at level 9 soon after, so a higher level alone would be paid twice
(the Indonesian corpus pages, ~108 kB: 1.37 ms a page at 9, 0.29 at 3; 17.8 % against 19.4 % of
their size while alone; until 2026-12-05 pages were stored alone at 9 and imports never packed).

Shared blocks (issue 13): a site with less than half a block of pages to pack cannot fill a block
of its own, and most of an import's sites (and a first crawl's) are such sites. Their pages go
into shared blocks (`blocks.site` NULL) instead, each site's pages kept together, the sites in
order of their reversed host names: cross-site boilerplate (the same CMSes, libraries and trackers)
is then paid once per block. Measured on the whole corpus (521 pages, 81.6 MB, 404 sites;
benchmarks/bench_pages_size.py): per-site blocks 16.3 %, shared blocks 14.4 %
at level 9 (~50 MB/s, ~20 s per GB of HTML); at level 19 12.9 % (~3 MB/s, ~310 s per GB:
pack_pages(level=19) for an offline repack, not a crawl's end). A zstd dictionary trained from
the same pages (112 kB, 86 s to train) made shared 8 MB blocks slightly worse (14.7 % vs 14.4 %),
so there is none. The sites' order matters: shuffled pages packed to 16.0 %; ordering the sites by
the scripts they load (greedy Jaccard) gained 0.1 point more, not worth a scan of every page.

Reading one page streams its block only up to the page's end (BlockReader), keeping what it
inflated so the next page of the same block (re-extraction reads in block order) continues
from there.
"""

from __future__ import annotations

import threading

import zstandard

from newsarchive.errors import NewsarchiveError

ZSTD_LEVEL = 3
# Stored with every page, so a later change of codec or level can still read old rows.
COMPRESSION = f"zstd-{ZSTD_LEVEL}"


# One compressor per thread (zstandard contexts must not be shared between threads), kept:
# making one per page cost ~15 % of compressing a 2 kB page. Its one-shot output is the same.
_COMPRESSORS = threading.local()


def compress(body: bytes) -> tuple[bytes, str]:
    """The compressed body and the name of the codec to store next to it."""
    compressor = getattr(_COMPRESSORS, "zstd", None)
    if compressor is None:
        compressor = _COMPRESSORS.zstd = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    return compressor.compress(body), COMPRESSION


# A block holds a site's pages up to this many raw bytes: big enough for the template to be
# paid once, small enough to inflate for one page in a few milliseconds.
BLOCK_BYTES = 8 * 1024 * 1024
BLOCK_LEVEL = 9
# Stored in a page row's `compression` when its body lives in a block.
IN_BLOCK = "block"
# Page size of a new pages.db. Its rows are small (metadata, the fetch log) and its blobs are read
# whole, so the page size is mostly the floor of every table and index (a dozen): at 4 kB the
# demo portal's 62 pages took 118.8 kB of file for 21.7 kB of blocks; at 1 kB, 96 kB when its
# crawl ends, 91 kB after `newsarchive compact`. A big row
# spills into full overflow pages, so nothing is wasted there; reading a 1 MB compressed block
# costs ~1 ms more in page fetches. Files made earlier keep theirs (WAL mode fixes it).
PAGES_PAGE_SIZE = 1024


# Sites with less than this much to pack (bytes, a share of the block size) go to shared blocks.
SHARED_SHARE = 0.5
# Window limit for reading: a block's frame window spans the block (see compress_block).
MAX_WINDOW = 1 << 27


def block_codec(level: int = BLOCK_LEVEL) -> str:
    return f"zstd-{level}-block"


def compress_block(bodies: list[bytes], level: int = BLOCK_LEVEL) -> tuple[bytes, str]:
    """One frame for several pages (concatenated; offsets are kept by the caller)."""
    data = b"".join(bodies)
    window = max(20, min(27, (max(len(data), 1) - 1).bit_length()))
    params = zstandard.ZstdCompressionParameters.from_level(
        level, window_log=window, enable_ldm=True
    )
    compressor = zstandard.ZstdCompressor(compression_params=params)
    return compressor.compress(data), block_codec(level)


def decompress_block(blob: bytes, compression: str) -> bytes:
    if compression.startswith("zstd"):
        # The frame's content size is in its header; the window may exceed the default limit.
        return zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW).decompress(blob)
    raise NewsarchiveError(f"page block stored with unknown compression {compression!r}")


class BlockReader:
    """A block inflated only as far as asked: `read(offset, size)` feeds the frame to the
    decompressor until `offset + size` bytes are out, and keeps them, so a later page of the
    same block continues where the last one stopped."""

    # Compressed bytes fed per step: ~1 MB inflated at a block's usual ratio.
    STEP = 128 * 1024

    def __init__(self, blob: bytes, compression: str) -> None:
        if not compression.startswith("zstd"):
            raise NewsarchiveError(f"page block stored with unknown compression {compression!r}")
        self._blob = memoryview(blob)
        self._fed = 0
        self._inflater = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW).decompressobj()
        self.data = bytearray()

    def read(self, offset: int, size: int) -> bytes:
        end = offset + size
        while len(self.data) < end and self._fed < len(self._blob):
            chunk = self._blob[self._fed : self._fed + self.STEP]
            self._fed += len(chunk)
            self.data += self._inflater.decompress(chunk)
        if len(self.data) < end:
            raise NewsarchiveError(f"page block ends at {len(self.data)} bytes, a page needs {end}")
        return bytes(self.data[offset:end])


def decompress(blob: bytes, compression: str) -> bytes:
    if compression.startswith("zstd"):
        return zstandard.ZstdDecompressor().decompress(blob)
    if compression == "none":
        return blob
    raise NewsarchiveError(f"raw page stored with unknown compression {compression!r}")
