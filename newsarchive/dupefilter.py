"""The crawl's dupefilter (`DUPEFILTER_CLASS`): Scrapy's RFPDupeFilter, with the fingerprints it has
seen kept in about 8 bytes each instead of a set of 20-byte `bytes` (90-100 bytes per URL with the
set's table: 5 MB at 50,000 URLs, 90 MB at a million, held to the end of the crawl).

What stays Scrapy's: when a request counts as seen (its fingerprint, from
newsarchive.fingerprint.CanonicalFingerprinter), the `dupefilter/filtered` stat and log line, and
JOBDIR's `requests.seen`, written and read in Scrapy's format (each whole fingerprint after its
length), so a job directory written before this filter, or by Scrapy's own, resumes the same.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from scrapy.dupefilters import RFPDupeFilter

if TYPE_CHECKING:
    from scrapy.utils.request import RequestFingerprinterProtocol

# The first 8 bytes of a fingerprint (SHA-1, so evenly spread) are its key in memory: two URLs of
# one crawl share one with a chance of about n^2 / 2^65 (3 in 100 million at a million URLs).
KEY_BYTES = 8
# New keys wait in a set (fast to search, ~80 bytes each) and are merged into the sorted array
# (8 bytes each) this many at a time: a merge copies the array once, about 10 ms at a million
# keys, so its cost per URL stays around a microsecond.
MERGE_EVERY = 1 << 13
# requests.seen: each fingerprint after its length, 2 bytes big-endian (scrapy.dupefilters).
_LENGTH_BYTES = 2


class FingerprintKeys:
    """The set of fingerprints seen, as much of the set protocol as RFPDupeFilter uses (`in`, `add`,
    `update`, `len`): each kept as its first KEY_BYTES bytes, in a sorted array of 64-bit integers
    searched by bisection, the newest in a small set until they are merged into it."""

    __slots__ = ("_new", "_sorted")

    def __init__(self, fingerprints: Iterable[bytes] = ()) -> None:
        self._sorted = array("Q")
        self._new: set[int] = set()
        self.update(fingerprints)

    def __contains__(self, fingerprint: bytes) -> bool:
        key = int.from_bytes(fingerprint[:KEY_BYTES], "big")
        if key in self._new:
            return True
        keys = self._sorted
        at = bisect_left(keys, key)
        return at < len(keys) and keys[at] == key

    def add(self, fingerprint: bytes) -> None:
        # Not searched first: RFPDupeFilter adds only what it found missing, and a key added
        # twice (a requests.seen written twice over) is only 8 bytes more, found all the same.
        new = self._new
        new.add(int.from_bytes(fingerprint[:KEY_BYTES], "big"))
        if len(new) >= MERGE_EVERY:
            self._merge()

    def update(self, fingerprints: Iterable[bytes]) -> None:
        for fingerprint in fingerprints:
            self.add(fingerprint)

    def __len__(self) -> int:
        return len(self._sorted) + len(self._new)

    def _merge(self) -> None:
        old = self._sorted
        merged = array("Q")
        start = 0
        for key in sorted(self._new):
            at = bisect_left(old, key, start)
            merged.extend(old[start:at])
            merged.append(key)
            start = at
        merged.extend(old[start:])
        self._sorted = merged
        self._new = set()


def stored_fingerprints(file: IO[bytes], block: int = 1 << 16) -> Iterator[bytes]:
    """The fingerprints in an open requests.seen, read a block at a time (a million URLs' file is
    22 MB); a last one cut short (a crawl killed mid-write) is left out, as Scrapy does."""
    pending = b""
    while chunk := file.read(block):
        data = pending + chunk
        at = 0
        while at + _LENGTH_BYTES <= len(data):
            end = at + _LENGTH_BYTES + int.from_bytes(data[at : at + _LENGTH_BYTES], "big")
            if end > len(data):
                break
            yield data[at + _LENGTH_BYTES : end]
            at = end
        pending = data[at:]


class CompactDupeFilter(RFPDupeFilter):
    """RFPDupeFilter over FingerprintKeys (see the module's docstring)."""

    def __init__(
        self,
        path: str | None = None,
        debug: bool = False,
        *,
        fingerprinter: RequestFingerprinterProtocol | None = None,
    ) -> None:
        # Scrapy's would read requests.seen into a set of its own first: opened here instead.
        super().__init__(None, debug, fingerprinter=fingerprinter)
        self._fingerprints = FingerprintKeys()  # type: ignore[assignment]
        if path:
            self.file = Path(path, "requests.seen").open("a+b")  # noqa: SIM115 (closed in close())
            self.file.seek(0)
            self._fingerprints.update(stored_fingerprints(self.file))
