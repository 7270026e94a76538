"""Records into the archive from outside a crawl: saved pages (`import`) and raw pages already
archived (`reextract`).

The archive stores records; this module makes them: it reads a saved file (bounded, however it
is compressed), runs the extractor, and hands the record to `Archive.store` /
`Archive.apply_reextraction`, as the crawl's pipelines do for fetched pages.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import itertools
import lzma
import os
import re
import signal
import stat
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from newsarchive.errors import (
    ArchiveUnwritable,
    NewsarchiveError,
    NotHtmlError,
    PageDamaged,
    ProfileError,
)
from newsarchive.items import Article, RawPage
from newsarchive.settings import DOWNLOAD_MAXSIZE
from newsarchive.sites import SiteProfile, find_profile, list_profiles, load_profile_file
from newsarchive.urls import page_address, site_from_url

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from newsarchive.storage import Archive, ReextractResult, ReextractTarget

# The storage layer (sqlite_utils and its plugins) and zstandard are imported where they are
# used: `newsarchive extract` reads pages through this module, and its start-up time counts in
# every batch run (the storage imports alone cost more than a hundred pages' parsing).

# The crawl's download limit applies to saved pages too, and to what a compressed one inflates
# to: no article page is this big, and a decompression bomb stops here instead of taking the
# machine's memory (a 10 kB .gz can inflate to gigabytes).
DEFAULT_MAX_SIZE = DOWNLOAD_MAXSIZE
_CHUNK = 64 * 1024

# Recognised by their first bytes, not the file name: saved pages are often misnamed.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"BZh", "bzip2"),
)


def format_size(size: int) -> str:
    """10485760 -> '10 MB' (binary units, as DOWNLOAD_MAXSIZE is written)."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


def parse_size(text: str) -> int:
    """'10MB', '512k', '2 GiB', '1048576' -> bytes (k/M/G are binary, as for DOWNLOAD_MAXSIZE)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if not match:
        raise ValueError(f"{text!r} is not a size like 10MB, 512k or 1048576")
    number, unit = float(match.group(1)), match.group(2).lower()
    size = int(number * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit])
    if size <= 0:
        raise ValueError(f"{text!r}: the size must be more than 0 bytes")
    return size


def _open_decompressed(codec: str, raw: IO[bytes]) -> IO[bytes]:
    """A streaming reader: memory stays at one chunk whatever the file inflates to."""
    if codec == "gzip":
        return gzip.GzipFile(fileobj=raw)
    if codec == "xz":
        return lzma.LZMAFile(raw)
    if codec == "bzip2":
        return bz2.BZ2File(raw)
    import zstandard

    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)


def _read_bounded(stream: IO[bytes], max_size: int) -> bytes | None:
    """At most `max_size` bytes of `stream`, or None when it holds more."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(_CHUNK, max_size + 1 - total))
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > max_size:
            return None
        chunks.append(chunk)


def read_page(path: str | Path, *, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
    """The bytes of a saved page (inflated if gzip, zstd, xz or bzip2), or a NotHtmlError naming
    the file and what is wrong: missing, a directory, unreadable, too big, inflating past
    `max_size`, a broken archive, empty, binary, no markup."""
    data = read_saved(path, max_size=max_size)
    check_html(data, str(path))
    return data


def read_saved(path: str | Path, *, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
    """read_page without its HTML check: the file's bytes, inflated, or a NotHtmlError for a
    file that cannot be read (missing, a directory, unreadable, too big, a broken archive)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = None  # opening it says why
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        # A FIFO would be read for ever (nothing writes it); a device or socket is no page.
        raise NotHtmlError(f"{path}: not a regular file (a FIFO, device or socket); skipped")
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
            handle.seek(0)
            codec = next((name for magic, name in _MAGIC if head.startswith(magic)), None)
            if codec is None:
                data = _read_bounded(handle, max_size)
                if data is None:
                    raise NotHtmlError(
                        f"{path}: {format_size(path.stat().st_size)}, past the "
                        f"{format_size(max_size)} limit (--max-size); skipped"
                    )
            else:
                try:
                    with _open_decompressed(codec, handle) as stream:
                        data = _read_bounded(stream, max_size)
                except (OSError, EOFError, lzma.LZMAError, zlib.error, _zstd_error()) as exc:
                    # zlib.error: gzip's deflate data itself corrupt (before, a traceback that
                    # ended the whole import, the other files too).
                    raise NotHtmlError(f"{path}: broken {codec} file: {exc}") from None
                if data is None:
                    raise NotHtmlError(f"{path}: inflates past {format_size(max_size)}; skipped")
    except FileNotFoundError:
        raise NotHtmlError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise NotHtmlError(f"{path}: is a directory, not a page") from None
    except PermissionError:
        raise NotHtmlError(f"{path}: permission denied") from None
    except OSError as exc:
        raise NotHtmlError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return data


def files_in(paths: Iterable[Path]) -> Iterator[tuple[Path, bool]]:
    """(file, found in a directory) for each path, a directory standing for every file below it:
    sorted, streamed (a million saved pages need no list), names starting with "." left out
    (.git, editors' files)."""
    for path in paths:
        if not path.is_dir():
            yield path, False
            continue
        for folder, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
            for name in sorted(filenames):
                if not name.startswith("."):
                    yield Path(folder) / name, True


def _zstd_error() -> type[Exception]:
    """zstandard's error class, imported only once a zstd page is being read."""
    import zstandard

    return zstandard.ZstdError


def check_html(data: bytes, where: str) -> None:
    """Refuse what is plainly not an HTML page: empty, binary (a PDF, an image...), or text with
    no markup at all, in one line naming `where`."""
    # Here, not at the top: the read commands import this module, and the extractor package
    # costs them ~0.15 s of start-up (search, stats, show need none of it).
    from newsarchive.extract.decoding import not_html_reason

    if not data.strip():
        raise NotHtmlError(f"{where}: empty file")
    reason = not_html_reason(data)
    if reason is not None:
        raise NotHtmlError(f"{where}: not an HTML page: {reason}")
    if b"<" not in data[:65536]:
        raise NotHtmlError(f"{where}: no HTML markup found")


# --- import -------------------------------------------------------------------------------


@dataclass
class ImportItem:
    """One article (or page) to import: the raw page as the archive keeps it, the later pages of
    its multi-page article, and `shown`, the same pages as the extractor sees them (None: not
    extracted, an error page). `where` names it in error lines (the file, or the WARC record's
    URL); `site` and `profile` as given (None: decided from the URL after extraction)."""

    raw: RawPage
    shown: list[RawPage] | None
    where: str
    continuations: Sequence[RawPage] = ()
    site: str | None = None
    profile: SiteProfile | None = None
    web_url: str | None = None  # the URL that picks the profile and names the site
    # A WARC revisit: `raw` (no body) is a refetch of this archived capture, read back to store
    # (`continuations` then: the refetches of its later pages, no body either).
    revisit: RevisitOf | None = None


@dataclass(frozen=True)
class RevisitOf:
    """The archived capture a WARC `revisit` record says a later fetch found again: stored under
    one of `urls`, fetched at `when` (stored UTC text; None: the latest), with a body
    `same_payload` accepts (None: not checked). See Archive.revisited_pages."""

    urls: tuple[str, ...]
    when: str | None
    same_payload: Callable[[bytes], bool] | None


# What a revisit whose capture cannot be read back from the archive counts as (the `done`
# outcome of ImportSink.put): no page is stored for it.
REVISIT_NOT_ARCHIVED = "revisits of a capture not in the archive"
REVISIT_OF_LATER_PAGE = "revisits of a later page of an article (its first page's bring it)"
REVISIT_OUTCOMES = (REVISIT_NOT_ARCHIVED, REVISIT_OF_LATER_PAGE)


def saved_page_item(
    body: bytes, *, url: str | None = None, path: str | Path | None = None, site: str | None = None
) -> ImportItem:
    """A page saved earlier (see import_page) as an ImportItem."""
    if url is not None:
        url = page_address(url)  # the key it is archived under: no typo kept as one
    page_url = url or (Path(path).resolve().as_uri() if path else None)
    if not page_url:
        raise NewsarchiveError("import_page needs the page's url or the path it was read from")
    return ImportItem(
        raw=RawPage(url=page_url, body=body),
        shown=[RawPage(url=url or "", body=body)],
        where=str(path or url),
        site=site,
        web_url=url,
    )


def fetched_page_item(
    raw: RawPage,
    *,
    continuations: Sequence[RawPage] = (),
    site: str | None = None,
    profile: SiteProfile | None = None,
) -> ImportItem:
    """A page fetched elsewhere (see import_fetched) as an ImportItem."""
    from newsarchive.storage.archive import extraction_url

    pages = [raw, *continuations]
    shown = None
    if not (raw.status and raw.status >= 400):
        # Copies: the extractor sees web URLs only; the archive keeps the file: URI.
        shown = [replace(page, url=extraction_url(page.url) or "") for page in pages]
        for page, original in zip(shown, pages, strict=True):
            page.final_url = extraction_url(original.final_url)
    return ImportItem(
        raw=raw,
        shown=shown,
        where=raw.url,
        continuations=continuations,
        site=site,
        profile=profile,
        web_url=extraction_url(raw.final_url) or extraction_url(raw.url),
    )


def extract_item(item: ImportItem) -> Extracted:
    """The item's record, extracted in this process (as an extraction worker makes it)."""
    from newsarchive.extract import extract_pages

    if item.shown is None:
        return Extracted(item, None, None, None)
    try:
        return Extracted(item, extract_pages(item.shown, item.profile), None, None)
    except Exception as exc:  # an extractor bug on one page must not end an import
        return Extracted(item, None, None, *_error_of(exc))


def store_item(archive: Archive, done: Extracted) -> str:
    """Store an extracted ImportItem: raw page + record, or raw page only when the extractor
    judged it no article or found nothing of one. Returns the outcome of Archive.store; an
    extraction error raises NewsarchiveError: the page's own fault (nothing stored), or an
    extractor bug (the raw page stored as unextracted, the error recorded in `failures`)."""
    item: ImportItem = done.tag
    raw = item.raw
    article, columns = done.article, done.columns
    if done.error is not None:
        if done.page_fault is not None:
            raise NewsarchiveError(done.page_fault)
        # An extractor bug: the page is kept (unextracted, `reextract` tries it again), and the
        # import counts it as failed.
        reason = f"extractor error: {done.error}"
        archive.store(
            raw,
            None,
            site=_item_site(item, None),
            continuations=item.continuations,
            extraction_error=done.error,
        )
        archive.record_failure(raw.url, reason, status=raw.status, site=item.site)
        raise NewsarchiveError(
            f"{item.where}: {reason}; its raw page is kept, `newsarchive reextract` tries it again"
        )
    if article is not None and not (article.title or article.body):
        article, columns = None, None  # nothing of an article in it: keep the page only
    return archive.store(
        raw,
        article,
        site=_item_site(item, article),
        continuations=item.continuations,
        columns=columns,
        replay=True,
    )


def _item_site(item: ImportItem, article: Article | None) -> str:
    """The site an item is filed under: as given, else the name of the profile the extractor
    used (it picks one by the URL; re-extraction picks the profile by site name), else the
    host of its URL or of the canonical URL, else "local"."""
    if item.site is not None:
        return item.site
    found = item.profile or (find_profile(item.web_url) if item.web_url else None)
    named_url = item.web_url or (article.canonical_url if article else None)
    return found.name if found else (site_from_url(named_url) or "local")


def import_page(
    archive: Archive,
    body: bytes,
    *,
    url: str | None = None,
    path: str | Path | None = None,
    site: str | None = None,
) -> str:
    """Store a page saved earlier (a file, or bytes from elsewhere) as raw page + record.

    The record is what `extract_article(body, url)` makes of it, exactly as `extract` prints it;
    a page the extractor judges a listing or other page is kept as a raw page only. Without
    `url` the page is kept under its file: URI and keyed by its canonical URL when it names one.
    `site` defaults to the name of the site profile matching `url`, else the host of `url` or of
    the canonical URL, else "local". Returns the outcome of Archive.store.
    """
    item = saved_page_item(body, url=url, path=path, site=site)
    return store_item(archive, extract_item(item))


def import_fetched(
    archive: Archive,
    raw: RawPage,
    *,
    continuations: Sequence[RawPage] = (),
    site: str | None = None,
    profile: SiteProfile | None = None,
) -> str:
    """Store a page fetched elsewhere (a WARC's response record) as raw page + record, keeping
    what the fetch knew: URL and final URL, HTTP status, headers, fetch time.

    As the crawl does, the record is `extract_pages` over the page and the later pages of its
    multi-page article (`continuations`, kept as parts of `raw`), with `profile` (default: the
    packaged profile matching the URL); the HTTP charset decodes the page and the fetch time
    anchors relative dates. An error status (>= 400) keeps the page as an error page, no record.
    A page under a file: URI is extracted without a URL, as `import_page` does. `site` defaults
    as in `import_page`. Returns the outcome of Archive.store.
    """
    item = fetched_page_item(raw, continuations=continuations, site=site, profile=profile)
    return store_item(archive, extract_item(item))


IN_PROCESS_FIRST = 64
"""Pages an ImportSink with jobs > 1 still extracts in this process before it starts its
workers: a worker takes about a second to start, which a few dozen pages do not repay."""


class ImportSink:
    """Where ImportItems go to be stored: extracted in this process (`jobs=1`), or past the
    first IN_PROCESS_FIRST in `jobs` worker processes (ExtractionPool) while this one reads the
    input and stores. Either way each item is stored in the order it was put (a later capture
    of a page stays the later version) and `done(outcome, error)` is called once it is: with
    Archive.store's outcome, or with the one-line error that kept it out.

    Call `finish()` at the end (every item put is then stored and reported); leaving the block
    without it, on an error, stops the workers and what they held is not stored. `stop()`
    returning True asks whoever reads the input to stop reading (`stopping()`), and finish."""

    def __init__(
        self,
        archive: Archive,
        jobs: int = 1,
        *,
        on_stored: Callable[[int], None] | None = None,
        stop: Callable[[], bool] | None = None,
        pack_every: int | None = None,
    ) -> None:
        from newsarchive.storage.compression import BLOCK_BYTES

        self.archive = archive
        self.stopping = stop or (lambda: False)  # readers of the input check it between items
        self.jobs = jobs
        self.pool: ExtractionPool | None = None
        self.on_stored = on_stored  # called with the count of items stored so far
        self.stored = 0
        self._in_process = 0
        self.pack_every = pack_every or BLOCK_BYTES  # the blocks packed as it goes
        # Articles the input says were taken down: (URL, since when), marked once every page
        # before is stored (finish). `taken_down`: how many were marked.
        self._takedowns: list[tuple[str, str]] = []
        self.taken_down = 0

    def __enter__(self) -> ImportSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.pool is not None:
            self.pool.close()

    def put(self, item: ImportItem, done: Callable[[str | None, str | None], None]) -> None:
        if self.pool is None and (self.jobs <= 1 or self._in_process < IN_PROCESS_FIRST):
            self._in_process += 1
            self._store(extract_item(item), item, done)
            return
        if self.pool is None:
            self.pool = ExtractionPool(self.jobs)
        if item.revisit is not None and item.revisit.when is not None:
            # The capture a revisit names is most often stored long before: read back now, the
            # page is extracted by the workers like any other. (Else it is read back in its
            # turn, once the pages before it are stored.)
            early = self._revisited(item, at_that_time=True)
            if isinstance(early, ImportItem):
                item = early
        tag = (item, done)
        if item.shown is None:
            self._stored(self.pool.skip(tag))
        else:
            self._stored(self.pool.submit(item.shown, item.profile, tag))

    def takedown(self, url: str, when: str) -> None:
        """The article at `url` was taken down from its site at `when` (a stored time)."""
        self._takedowns.append((url, when))

    def finish(self) -> None:
        """Every item put stored, then every takedown said marked. (The import's end packs the
        rest and merges the index, after its batch: Archive.crawl_ended(None).)"""
        if self.pool is not None:
            self._stored(self.pool.drain())
        takedowns, self._takedowns = self._takedowns, []
        self.taken_down += sum(self.archive.mark_gone(url, when) for url, when in takedowns)

    def _stored(self, results: list[Extracted]) -> None:
        for result in results:
            item, done = result.tag
            self._store(result, item, done)

    def _store(
        self, result: Extracted, item: ImportItem, done: Callable[[str | None, str | None], None]
    ) -> None:
        try:
            if item.revisit is not None:
                # Read back here, in order: the capture may be among the pages just stored.
                revisited = self._revisited(item)
                if isinstance(revisited, str):
                    done(revisited, None)
                    return
                item, result = revisited, extract_item(revisited)
            outcome = store_item(self.archive, result._replace(tag=item))
        except ArchiveUnwritable:
            raise  # not this page's fault: the import stops (a full disk)
        except NewsarchiveError as exc:
            done(None, str(exc))
        else:
            done(outcome, None)
            # An import holds about a block of pages stored alone per site at most (a big
            # WARC's sites), and its end (Archive.crawl_ended) packs only the rest.
            self.archive.pack_when_due(self.pack_every)
        self.stored += 1
        if self.on_stored is not None:
            self.on_stored(self.stored)

    def _revisited(self, item: ImportItem, *, at_that_time: bool = False) -> ImportItem | str:
        """The revisit `item` as the page it found again (with the later pages of its article),
        fetched at the revisit's time; else the REVISIT_OUTCOMES reason it cannot be (see
        Archive.revisited_pages for `at_that_time`)."""
        revisit = item.revisit
        assert revisit is not None
        pages = self.archive.revisited_pages(
            revisit.urls, revisit.when, revisit.same_payload, at_that_time=at_that_time
        )
        if pages is None:
            return REVISIT_NOT_ARCHIVED
        if not pages:
            return REVISIT_OF_LATER_PAGE
        head, *parts = pages
        headers = {
            name: str(len(head.body)) if name.lower() == "content-length" else value
            for name, value in (item.raw.headers or {}).items()
        }
        raw = replace(
            item.raw,
            body=head.body,
            encoding=head.encoding,
            headers=headers or head.headers,
            status=item.raw.status or head.status,
        )
        # Each later page at its own refetch's time when the WARC gave one (item.continuations:
        # revisits of them, by URL), else at its first page's.
        when = {part.url: part.fetched_at for part in item.continuations}
        later = [replace(part, fetched_at=when.get(part.url, raw.fetched_at)) for part in parts]
        return fetched_page_item(raw, continuations=later, site=item.site, profile=item.profile)


# --- reextract ----------------------------------------------------------------------------


class ProfileChooser:
    """The profile to re-extract each article with: `forced` if given, else the profile file
    the article's crawl ran with (while that file exists), else the packaged profile named like
    the site, else None (extraction then picks a packaged profile by URL, as at import)."""

    def __init__(self, forced: SiteProfile | None = None) -> None:
        self.forced = forced
        self._files: dict[str, SiteProfile | ProfileError] = {}
        self.gone: set[str] = set()  # recorded profile files that no longer exist

    def choose(self, target: ReextractTarget) -> SiteProfile | None:
        if self.forced is not None:
            return self.forced
        recorded = target.profile_path
        if recorded:
            if Path(recorded).is_file():
                if recorded not in self._files:
                    try:
                        self._files[recorded] = load_profile_file(recorded)
                    except ProfileError as exc:
                        self._files[recorded] = exc
                found = self._files[recorded]
                if isinstance(found, ProfileError):
                    # Re-extracting with some other profile would silently change the record.
                    raise found
                return found
            self.gone.add(recorded)
        return next((p for p in list_profiles() if p.name == target.site), None)


EXTRACTION_CHUNK = 16
"""Articles per message to an extraction worker: one pickle and one wake-up for 16 pages instead
of one each (an article is a few milliseconds of extraction; a round trip alone is ~0.1 ms)."""
CHUNKS_PER_WORKER = 2
"""Chunks a worker holds at most (one in work, one waiting): it never idles for its next chunk,
and the raw pages in flight stay at jobs x 2 x 16 whatever the archive's size (memory flat)."""
ORDERED_BACKLOG_CHUNKS = 4
"""In order (import): chunks' worth of finished articles a worker may have waiting for an
earlier article still in work before reading stops until it is done (memory flat, slow pages
or not)."""
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def reextract(
    archive: Archive,
    targets: Iterable[ReextractTarget],
    *,
    profile: SiteProfile | None = None,
    jobs: int = 1,
    stop: Callable[[], bool] | None = None,
) -> Iterator[ReextractResult]:
    """Rebuild each target's record from its raw pages with the current extractor.

    The same extraction as the crawl (its page-stitching function over the article's pages),
    with the profile ProfileChooser picks. Yields one result per article, as it goes (for a
    progress bar); a page that fails is recorded in `failures` and the run goes on.

    `jobs` > 1 extracts in that many worker processes; this process reads the raw pages (in
    the targets' order: reextract_targets gives them block by block, so a packed block is
    inflated once) and stores the results, in batches. The records are the same as with
    `jobs=1`; only the order of the results differs. `stop()` returning True ends the run early
    and cleanly: nothing more is read, what the workers hold is still stored, then it returns.
    The workers are spawned (fresh interpreters), so a script calling this with `jobs` > 1
    needs the usual `if __name__ == "__main__":` guard of multiprocessing.
    """
    chooser = ProfileChooser(profile)
    stop = stop or (lambda: False)
    if jobs <= 1:
        yield from _reextract_here(archive, targets, chooser, stop)
    else:
        yield from _reextract_parallel(archive, targets, chooser, jobs, stop)


def _read_pages(archive: Archive, target: ReextractTarget) -> list[RawPage] | ReextractResult:
    """The target's raw pages, or the result saying why there are none to extract from (missing
    or damaged): the record is then kept as it was."""
    from newsarchive.storage.archive import extraction_url

    try:
        pages = archive.article_pages(target.page_id)
        problem = f"raw page {target.page_id} is missing from {archive.pages_path}"
    except PageDamaged as exc:
        pages, problem = [], str(exc)
    if not pages:
        row = archive.article_row(target.article_id) if target.article_id else None
        return _failed(archive, target, (row or {}).get("url"), problem)
    for page in pages:
        # Imported files: the extractor saw no URL then, so it sees none now.
        page.url = extraction_url(page.url) or ""
    return pages


def _failed(
    archive: Archive, target: ReextractTarget, url: str | None, error: str
) -> ReextractResult:
    """One article (or unextracted page) that could not be rebuilt: recorded in `failures`, and
    the run goes on."""
    url = url or (f"article {target.article_id}" if target.article_id else f"page {target.page_id}")
    result = _target_result(target, url, f"{url}: {error}")
    archive.record_failure(url, f"reextract: {result.error}", site=target.site)
    return result


def _target_result(target: ReextractTarget, url: str, error: str) -> ReextractResult:
    from newsarchive.storage import ReextractResult

    if target.article_id is None:
        return ReextractResult(0, url, error=error, page_id=target.page_id)
    return ReextractResult(target.article_id, url, error=error)


def _store(
    archive: Archive,
    target: ReextractTarget,
    url: str,
    article: Article,
    columns: dict[str, Any] | None = None,
) -> ReextractResult:
    try:
        if target.article_id is None:
            return archive.apply_page_extraction(target.page_id, article, columns=columns)
        return archive.apply_reextraction(target.article_id, article, columns=columns)
    except ArchiveUnwritable:
        raise  # every later record would fail the same way: the run stops
    except Exception as exc:  # one broken record must not end the run
        return _failed(archive, target, url, f"{type(exc).__name__}: {exc}")


def _reextract_here(
    archive: Archive,
    targets: Iterable[ReextractTarget],
    chooser: ProfileChooser,
    stop: Callable[[], bool],
) -> Iterator[ReextractResult]:
    """The one-process path: read, extract, store, one article at a time."""
    from newsarchive.extract import extract_pages

    with archive.batch():
        for target in targets:
            if stop():
                return
            pages = _read_pages(archive, target)
            if not isinstance(pages, list):
                yield pages
                continue
            try:
                article = extract_pages(pages, chooser.choose(target))
            except ProfileError as exc:
                yield _target_result(target, pages[0].url, str(exc))
                continue
            except Exception as exc:  # one broken page must not end the run
                yield _failed(archive, target, pages[0].url, f"{type(exc).__name__}: {exc}")
                continue
            yield _store(archive, target, pages[0].url, article)


# --- extraction in worker processes (reextract --jobs, import --jobs) -------------------------


class Extracted(NamedTuple):
    """What extraction made of one article: its record (and, from a worker process, the record's
    columns), or the error that stopped it; `tag` is what the caller submitted with the pages.
    `page_fault`: the error was the page's own (a NewsarchiveError such as not HTML), its
    message as it is, not an extractor bug."""

    tag: Any
    article: Article | None
    columns: dict[str, Any] | None
    error: str | None
    page_fault: str | None = None


def _error_of(exc: Exception) -> tuple[str, str | None]:
    """Extracted.error and .page_fault for an exception raised by extraction."""
    return f"{type(exc).__name__}: {exc}", str(exc) if isinstance(exc, NewsarchiveError) else None


def _extraction_worker(tasks: Any, results: Connection) -> None:
    """An extraction worker: (chunk id, new profiles, [(profile key, pages)]) in, (chunk id,
    [(article, its record columns, error, page fault)]) out, pickled here so a result that does
    not pickle becomes an error for its article instead of a lost chunk.

    It ignores SIGINT and SIGTERM (the main process stops the run and still wants the chunks
    in work), ends at None, and ends by itself when the main process is gone (even killed)."""
    import pickle
    import queue

    from newsarchive.extract import extract_pages
    from newsarchive.storage.records import article_columns

    for signum in _STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    parent = os.getppid()
    profiles: dict[Any, SiteProfile | None] = {None: None}
    while True:
        try:
            message = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:
                return
            continue
        if message is None:
            return
        chunk_id, new_profiles, items = message
        profiles.update(new_profiles)
        out = []
        for profile_key, pages in items:
            try:
                article = extract_pages(pages, profiles[profile_key])
                # The record's columns are made here too: they are pure (JSON, dates), and
                # making them is a third of what storing a record costs the main process,
                # which is the one that cannot be spread over cores.
                columns = article_columns(article) if article.page_kind == "article" else None
                out.append((article, columns, None, None))
            except Exception as exc:  # one broken page must not end the run
                out.append((None, None, *_error_of(exc)))
        del items, message
        try:
            payload = pickle.dumps((chunk_id, out), pickle.HIGHEST_PROTOCOL)
        except Exception:
            safe = []
            for article, columns, error, page_fault in out:
                try:
                    pickle.dumps((article, columns))
                except Exception as exc:
                    article, columns = None, None
                    error = f"result does not pickle: {type(exc).__name__}: {exc}"
                safe.append((article, columns, error, page_fault))
            payload = pickle.dumps((chunk_id, safe), pickle.HIGHEST_PROTOCOL)
        try:
            results.send_bytes(payload)
        except OSError:
            return


class _Worker:
    """One extraction process, its task queue (a feeder thread sends: putting never blocks this
    process), its own result pipe (a worker killed mid-send garbles only its own), and the
    chunks it holds (chunk id -> the sequence numbers of its articles)."""

    def __init__(self, context: Any, number: int) -> None:
        self.tasks = context.Queue()
        # A dead worker's queue may never be read: exiting must not wait to flush it.
        self.tasks.cancel_join_thread()
        reader, writer = context.Pipe(duplex=False)
        self.results: Connection = reader
        self.process = context.Process(
            target=_extraction_worker,
            args=(self.tasks, writer),
            name=f"newsarchive-extract-{number}",
            daemon=True,
        )
        # Ignored while it starts (a spawned interpreter keeps an ignored SIGINT): Ctrl-C during
        # its imports must not kill it; the main process stops the run instead.
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            handlers = {signum: signal.signal(signum, signal.SIG_IGN) for signum in _STOP_SIGNALS}
        try:
            self.process.start()
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        writer.close()
        self.held: dict[int, list[int]] = {}
        self.profiles: set[Any] = {None}  # profile keys this worker has been sent

    def close(self, timeout: float) -> None:
        # Nothing more is read: a worker blocked sending a result it holds (a full pipe, when the
        # run ends on an error) gets an error and ends, instead of waiting out the timeout.
        self.results.close()
        if self.process.is_alive():
            with contextlib.suppress(Exception):
                self.tasks.put(None)
            self.process.join(timeout)
            if self.process.is_alive():
                self.process.kill()
        self.process.join()
        self.tasks.close()


def _profile_key(profile: SiteProfile | None) -> Any:
    return None if profile is None else (profile.name, str(getattr(profile, "path", "")))


class ExtractionPool:
    """Extraction in `jobs` spawned worker processes, fed from this one: `submit` an article's
    pages (with its profile and a tag of the caller's), and get back, in the order submitted,
    what is done so far (`ordered=False`: as soon as done, for a caller to whom the order does
    not matter); `skip` holds a place in that order for an item that needs no extraction.
    Articles go in chunks of EXTRACTION_CHUNK, at most CHUNKS_PER_WORKER a worker: `submit`
    waits for results when every worker is full, so the pages in flight stay bounded whatever
    the input's size. A worker that dies (out of memory, a crash in a C library on some page)
    fails the articles it held, "extraction worker died", and a new one takes its place.

    Spawned, not forked: a fresh interpreter inherits neither the archive's SQLite connections
    nor the lock of its commit thread (fork would copy both mid-use); so a script using it needs
    the usual `if __name__ == "__main__":` guard of multiprocessing."""

    def __init__(self, jobs: int, *, ordered: bool = True) -> None:
        import multiprocessing

        self.ordered = ordered

        self._context = multiprocessing.get_context("spawn")
        self._started = 0
        self.workers = [self._new_worker() for _ in range(jobs)]
        self._chunk_ids = itertools.count()
        self._sequence = itertools.count()
        self._chunk: list[tuple[int, Any, list[RawPage]]] = []  # (sequence, profile key, pages)
        self._profiles: dict[Any, SiteProfile | None] = {}
        self._tags: dict[int, Any] = {}
        self._done: dict[int, Extracted | None] = {}  # finished, waiting for earlier ones
        self._next = 0  # the sequence number to hand back next

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _new_worker(self) -> _Worker:
        self._started += 1
        return _Worker(self._context, self._started)

    def submit(
        self, pages: list[RawPage], profile: SiteProfile | None, tag: Any
    ) -> list[Extracted]:
        sequence = next(self._sequence)
        key = _profile_key(profile)
        self._profiles[key] = profile
        self._tags[sequence] = tag
        self._chunk.append((sequence, key, pages))
        ready: list[Extracted] = []
        if len(self._chunk) >= EXTRACTION_CHUNK:
            while not self._send():
                ready += self._collect()
            # Room for the next chunk before the caller reads its pages: what is read ahead of
            # the workers stays one chunk, and a run stopped now has read nothing it will not use.
            while self._full():
                ready += self._collect()
        return ready + self._ready()

    def skip(self, tag: Any) -> list[Extracted]:
        """`tag` comes back (as an Extracted with no article and no error) in its place."""
        sequence = next(self._sequence)
        self._tags[sequence] = tag
        self._done[sequence] = None
        ready: list[Extracted] = []
        while self._full():
            ready += self._collect()
        return ready + self._ready()

    def drain(self) -> list[Extracted]:
        """Everything submitted, done (waits for the workers)."""
        ready: list[Extracted] = []
        if self._chunk:
            while not self._send():
                ready += self._collect()
        while any(worker.held for worker in self.workers):
            ready += self._collect()
        return ready + self._ready()

    def _full(self) -> bool:
        """No worker has room for a chunk, or (in order) too many finished articles wait for an
        earlier one still in work (a slow page): their pages and records stay in memory until
        it is done, so reading waits too."""
        if all(len(worker.held) >= CHUNKS_PER_WORKER for worker in self.workers):
            return True
        return len(self._done) >= ORDERED_BACKLOG_CHUNKS * EXTRACTION_CHUNK * len(self.workers)

    def close(self, timeout: float = 5.0) -> None:
        for worker in self.workers:
            worker.close(timeout)

    def _send(self) -> bool:
        """The open chunk to the least busy worker, if one has room."""
        worker = min(self.workers, key=lambda w: len(w.held))
        if len(worker.held) >= CHUNKS_PER_WORKER:
            return False
        chunk, self._chunk = self._chunk, []
        new = {key: self._profiles[key] for _, key, _ in chunk if key not in worker.profiles}
        worker.profiles.update(new)
        chunk_id = next(self._chunk_ids)
        worker.held[chunk_id] = [sequence for sequence, _, _ in chunk]
        worker.tasks.put((chunk_id, new, [(key, pages) for _, key, pages in chunk]))
        return True

    def _collect(self) -> list[Extracted]:
        """Wait for at least one chunk back (or a worker's death), file its results, and return
        what is ready now."""
        import pickle
        from multiprocessing.connection import wait

        from newsarchive.workers import exit_description

        by_conn = {w.results: w for w in self.workers}
        by_sentinel = {w.process.sentinel: w for w in self.workers}
        ready = wait([*by_conn, *by_sentinel], timeout=0.5)
        lost = []
        for ready_one in ready:
            worker = by_conn.get(ready_one)  # type: ignore[call-overload]
            if worker is None:
                continue
            try:
                chunk_id, out = pickle.loads(worker.results.recv_bytes())
            except (EOFError, OSError):
                lost.append(worker)
                continue
            sequences = worker.held.pop(chunk_id)
            for sequence, result in zip(sequences, out, strict=True):
                self._done[sequence] = Extracted(self._tags[sequence], *result)
        for ready_one in ready:
            worker = by_sentinel.get(ready_one)  # type: ignore[call-overload]
            if worker is not None and worker not in lost and not worker.results.poll():
                lost.append(worker)
        for worker in lost:
            worker.process.join(1)
            why = exit_description(worker.process.exitcode)
            if not worker.held:
                # Dead before it was given work: a new one would most likely die too.
                raise NewsarchiveError(f"{worker.process.name} ended ({why})")
            for sequences in worker.held.values():
                for sequence in sequences:
                    error = f"extraction worker died ({why})"
                    self._done[sequence] = Extracted(self._tags[sequence], None, None, error)
            worker.held.clear()
            self.workers.remove(worker)
            worker.close(timeout=0)
            self.workers.append(self._new_worker())
        return self._ready()

    def _ready(self) -> list[Extracted]:
        if not self.ordered:
            ready = [
                done if done is not None else Extracted(self._tags[sequence], None, None, None)
                for sequence, done in self._done.items()
            ]
            for sequence in self._done:
                del self._tags[sequence]
            self._done.clear()
            return ready
        ready = []
        while self._next in self._done:
            done = self._done.pop(self._next)
            tag = self._tags.pop(self._next)
            ready.append(done if done is not None else Extracted(tag, None, None, None))
            self._next += 1
        return ready


def _reextract_parallel(
    archive: Archive,
    targets: Iterable[ReextractTarget],
    chooser: ProfileChooser,
    jobs: int,
    stop: Callable[[], bool],
) -> Iterator[ReextractResult]:

    def stored(done: list[Extracted]) -> Iterator[ReextractResult]:
        for result in done:
            target, url = result.tag
            if result.error is not None or result.article is None:
                yield _failed(archive, target, url, result.error or "no record")
            else:
                yield _store(archive, target, url, result.article, result.columns)

    # Unordered: results are stored as they come, so a stopped run has read the least.
    with ExtractionPool(jobs, ordered=False) as pool, archive.batch():
        for target in targets:
            if stop():
                break
            pages = _read_pages(archive, target)
            if not isinstance(pages, list):
                yield pages
                continue
            try:
                chosen = chooser.choose(target)
            except ProfileError as exc:
                yield _target_result(target, pages[0].url, str(exc))
                continue
            yield from stored(pool.submit(pages, chosen, (target, pages[0].url)))
        yield from stored(pool.drain())
