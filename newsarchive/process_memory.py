"""The collector and the C allocator of newsarchive's long-running processes: the crawl process
(spiders/portal.py), the writer (pipelines.py) and `extract --batch` (cli/extract.py)."""

from __future__ import annotations

import ctypes
import gc
import platform
from collections.abc import Iterator
from contextlib import contextmanager

# Python's cyclic GC runs a young-generation pass whenever 700 more container objects have been
# allocated than freed. A crawl keeps thousands of requests, responses and tasks in flight, and a
# page's extraction allocates thousands of short-lived containers (lxml element proxies, lists,
# match objects), so passes are frequent and each one walks many survivors (about 2 of the
# reactor thread's 11 CPU seconds in a 5,000-article crawl; 0.6 % of an AEB batch's
# instructions). A larger first threshold makes passes rarer; freezing what exists when the work
# starts (Scrapy, Twisted, the modules' tables and compiled patterns: alive until the end anyway)
# keeps the full passes from re-walking it.
GC_YOUNG_THRESHOLD = 5000


def tune_gc() -> tuple[int, int, int]:
    """Tune the collector for a long run of work; returns the thresholds untune_gc restores."""
    before = gc.get_threshold()
    gc.collect()  # garbage from before the work is collected, not frozen with the rest
    gc.freeze()
    gc.set_threshold(max(before[0], GC_YOUNG_THRESHOLD), *before[1:])
    return before


def untune_gc(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(*thresholds)
    gc.unfreeze()


@contextmanager
def tuned_gc() -> Iterator[None]:
    """tune_gc for the block, then the collector as it was."""
    thresholds = tune_gc()
    try:
        yield
    finally:
        untune_gc(thresholds)


# glibc's malloc gives a block larger than its mmap threshold (128 KiB at first) a mapping of its
# own, returned to the system when freed; but each time it frees such a block, it raises the
# threshold to that block's size (up to 32 MiB). A 50,000-URL sitemap's 9 MB body raised it past
# the large buffers a crawl keeps allocating and freeing (response bodies, the pickled batches
# sent to the worker processes), which then came from the heap and fragmented it: the crawl
# process grew with the crawl (peak RSS over 20,000 articles 148 MB, with the threshold fixed
# 141; the writer, receiving those batches, 183 and 170 MB). Set once, the threshold stays.
MMAP_THRESHOLD = 256 * 1024
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


def fix_mmap_threshold() -> None:
    """Fix glibc's mmap threshold for this process (nothing elsewhere: other C libraries do not
    move theirs)."""
    if platform.libc_ver()[0] != "glibc":
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
