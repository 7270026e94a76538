"""What the crawl's worker processes run: extraction (`extract_init`, `extract`) and the archive
writer (`writer_open`, `writer_store_many`, `writer_close`), called by the pipelines through
newsarchive.workers. Kept apart from newsarchive.pipelines, and free of Scrapy, because a worker
imports the module of each function it is sent: Scrapy and the extractor cost each worker ~0.3 s
of CPU to import at every crawl's start, for nothing (the writer needs neither)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from newsarchive.errors import ArchiveUnwritable
from newsarchive.items import Article, FetchFailure, RawPage

if TYPE_CHECKING:
    from newsarchive.storage.archive import Archive, RunTally

# The writer commits at least this often (seconds; pipelines: NEWSARCHIVE_COMMIT_SECONDS).
DEFAULT_COMMIT_SECONDS = 0.25
# The blocks the writer packs raw pages into as they come in (Archive.pack_when_due):
# compression.BLOCK_BYTES when None.
PACK_BLOCK_BYTES: int | None = None
# Finish reasons of a crawl that ran to its end (its own, or the page budget the user set): a
# run row "done" for scheduling (runner), a crawl the command does not report as stopped.
COMPLETE_REASONS = ("finished", "max_pages", "closespider_pagecount")


# --- extraction --------------------------------------------------------------------------------

# In an extraction worker: the spider's profile, sent once when the worker starts rather than
# pickled with every page.
_EXTRACTOR: dict[str, Any] = {}


def extract_init(profile: Any) -> None:
    _EXTRACTOR["profile"] = profile


def extract(pages: list[RawPage]) -> Article:
    from newsarchive.extract import extract_pages  # not in the writer, which never extracts

    return extract_pages(pages, _EXTRACTOR.get("profile"))


# --- the archive writer ------------------------------------------------------------------------

# The archive lives in a process of its own (one, so SQLite has one writer per crawl): SQLite, zstd
# and record serialisation then run beside the crawl instead of taking turns with it for the GIL.
# These functions run in that process; `_WRITER` holds its open archive.
_WRITER: dict[str, Any] = {}


def writer_open(
    db_path: str,
    site: str,
    run_settings: dict[str, Any],
    commit_every: int,
    commit_seconds: float = DEFAULT_COMMIT_SECONDS,
    plan_entry: dict[str, Any] | None = None,
) -> int:
    from newsarchive.process_memory import fix_mmap_threshold
    from newsarchive.storage import Archive
    from newsarchive.storage.archive import RunTally

    fix_mmap_threshold()  # the batches it receives are the crawl process's large buffers
    archive = Archive(db_path)
    try:
        run_id = archive.start_run(site, run_settings, plan_entry=plan_entry)
        batch = archive.batch(commit_every, max_seconds=commit_seconds)
        batch.__enter__()
    except BaseException:
        archive.close()
        raise
    from newsarchive.storage.compression import BLOCK_BYTES

    _WRITER.update(
        archive=archive,
        run_id=run_id,
        batch=batch,
        tally=RunTally(),
        site=site,
        block_bytes=PACK_BLOCK_BYTES or BLOCK_BYTES,
    )
    return run_id


def _writer_store(item: Any) -> tuple[str, str | None]:
    """One item into the archive: (the outcome to count, a warning to log or None). The outcome
    "unwritable" (with the error's line) when the archive cannot be written: the crawl stops."""
    try:
        return _writer_store_one(item)
    except ArchiveUnwritable as exc:
        return "unwritable", str(exc)


def _writer_store_one(item: Any) -> tuple[str, str | None]:
    return store_item(_WRITER["archive"], item, _WRITER["run_id"], _WRITER["tally"])


def store_item(
    archive: Archive, item: Any, run_id: int | None, tally: RunTally | None
) -> tuple[str, str | None]:
    """One crawled item (an article page, another page, or a FetchFailure) into the archive,
    for the one-process writer and the shared one: (the outcome to count, a warning to log or
    None). The page's kind goes into `tally`. Raises ArchiveUnwritable: the crawl stops."""
    if isinstance(item, FetchFailure):
        try:
            archive.record_failure(
                item.url, item.reason, status=item.status, run_id=run_id, site=item.site
            )
        except ArchiveUnwritable:
            raise
        except Exception as exc:
            return (
                "failures",
                f"{item.url}: could not record the failure: {type(exc).__name__}: {exc}",
            )
        return "failures", None
    article = item.article
    try:
        outcome = archive.store(
            item.raw,
            article,
            site=item.site,
            run_id=run_id,
            continuations=item.continuations,
            extraction_error=item.extraction_error,
        )
    except ArchiveUnwritable:
        raise
    except Exception as exc:
        # StoreError: the archive recorded it in `failures` and kept nothing of the item. Anything
        # else (the archive's own bug): recorded here, so it is not lost without a word.
        from newsarchive.storage import StoreError

        if not isinstance(exc, StoreError):
            with contextlib.suppress(Exception):
                archive.record_failure(
                    item.raw.url,
                    f"could not store: {type(exc).__name__}: {exc}",
                    status=item.raw.status,
                    run_id=run_id,
                    site=item.site,
                )
        return "store_failures", f"{exc}" if isinstance(exc, StoreError) else (
            f"{item.raw.url}: could not store: {type(exc).__name__}: {exc}"
        )
    if tally is not None:
        from newsarchive.storage.archive import page_kind

        # The kind the page was stored under.
        kind, _reasons = page_kind(item.raw, article, item.extraction_error)
        # An article page kept without a record is an archived article's URL now leading to
        # another page (a section front, another story): a takedown, not an article seen with
        # that page's fields (no byline, no category) in the run's fill-rates.
        tally.add(None if kind == "article" and outcome == "page" else article, kind)
    return outcome, None


def writer_store_many(items: list[Any]) -> list[tuple[str, str | None]]:
    """Several items in one call (StorePipeline batches them): one message, one wake-up of this
    process and one reply for up to WRITER_BATCH items, instead of one each. Then the site's
    raw pages are packed into whole blocks when one is due (Archive.pack_when_due)."""
    replies = [_writer_store(item) for item in items]
    archive = _WRITER["archive"]
    if archive.unwritable is None:
        # A full disk met by packing: the next store's commit, or the end's packing, meets it
        # too and stops the crawl in its one line.
        with contextlib.suppress(ArchiveUnwritable):
            archive.pack_when_due(_WRITER["block_bytes"])
    return replies


def writer_close(counts: dict[str, Any], reason: str = "finished") -> list[str]:
    """Commit, finish the run row, pack and merge; the damage packing met (Archive.crawl_ended).
    Raises ArchiveUnwritable when the archive cannot be written (then the run row stays
    unfinished; its `lost` is what was not kept)."""
    archive = _WRITER.pop("archive")
    try:
        _WRITER.pop("batch").__exit__(None, None, None)
        broken = archive.unwritable
        if broken is not None:
            # The items of the batch it rolled back are not in the archive: not counted.
            for outcome, count in broken.lost.items():
                key = f"articles_{outcome}"
                if key in counts:
                    counts[key] = max(counts[key] - count, 0)
            reason = ArchiveUnwritable.finish_reason
        try:
            # After a failure, written if the disk has room again by now.
            archive.finish_run(
                _WRITER.pop("run_id"), **counts, finish_reason=reason, tally=_WRITER.pop("tally")
            )
        except ArchiveUnwritable as exc:
            broken = broken or exc
        if broken is not None:
            raise broken
        # After the run row: a merge of a big index takes seconds, and an interrupt then must
        # not leave the run looking unfinished.
        return archive.crawl_ended([_WRITER.pop("site")])
    finally:
        archive.close()


def finish_run_here(db_path: str, run_id: int, counts: dict[str, Any], reason: str) -> None:
    """Finish the run row from the crawl process, when the writer process is gone. What the
    writer had not committed is lost; those pages are not in the archive and are fetched again
    by the next run (its rechecks too: where they stopped is not recorded)."""
    from newsarchive.storage import Archive

    counts = {**counts, "recheck_until": None}
    with Archive(db_path, create=False) as archive:
        archive.finish_run(run_id, **counts, finish_reason=reason)


def stop_reactor() -> None:
    """Stop the reactor; when it has not started yet, as soon as it starts.

    A crawl's setup can fail before the reactor runs (Ctrl-C while Scrapy builds the crawler:
    KeyboardInterrupt): a stop asked for then was a no-op, and the reactor, started right after,
    ran for ever with nothing to do."""
    from twisted.internet import reactor
    from twisted.internet.error import ReactorNotRunning

    if reactor.running:
        # A stop signal may have stopped it already (Scrapy's own handling).
        with contextlib.suppress(ReactorNotRunning):
            reactor.stop()
    else:
        reactor.callWhenRunning(reactor.stop)
