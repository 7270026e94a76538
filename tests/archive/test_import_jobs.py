"""`import --jobs N`: pages extracted in worker processes, stored here in the order read, with
the same records as an import in one process."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

from archive_fixtures import sigterm_once_logged
from test_reextract import state
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsarchive.demo.generator import generate_portal
from newsarchive.importing import IN_PROCESS_FIRST, ImportSink, saved_page_item
from newsarchive.storage import Archive

DEMO = "http://127.0.0.1:8123/"
UPDATED = b" Berita ini diperbarui dengan keterangan resmi dari pemerintah daerah."


def _write_warc(path: Path, captures: list[tuple[str, int, bytes]]) -> None:
    """A gzipped WARC of HTTP responses (url, status, HTML), in this order."""
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for n, (url, status, body) in enumerate(captures):
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                http_headers=StatusAndHeaders(
                    f"{status} {'OK' if status == 200 else 'Not Found'}",
                    [("Content-Type", "text/html; charset=utf-8")],
                    protocol="HTTP/1.1",
                ),
                warc_headers_dict={"WARC-Date": f"2024-03-05T02:{n // 60:02d}:{n % 60:02d}Z"},
            )
            writer.write_record(record)


def _updated(body: bytes) -> bytes:
    """The same article with a sentence more (after the first that ends a paragraph): a later
    capture whose content changed."""
    return re.sub(rb"\.</p>", b"." + UPDATED + b"</p>", body, count=1)


def _demo_pages(count: int) -> list[tuple[str, bytes]]:
    portal = generate_portal(DEMO, articles=count)
    pages = []
    for art in portal.articles:
        status, _, body = portal.response(art.path)
        if status == 200:
            pages.append((portal.url(art.path), body))
    return pages


def _import(db: Path, jobs: int, *files: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "newsarchive", "import", "--jobs", str(jobs)]
    command += ["--progress-seconds", "0.01", "--db", str(db), *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_parallel_import_stores_what_one_process_stores_in_the_order_read(tmp_path: Path) -> None:
    pages = _demo_pages(150)
    assert len(pages) > IN_PROCESS_FIRST + 60  # past the pages done before the workers start
    first = tmp_path / "first.warc.gz"
    captures = [(url, 200, body) for url, body in pages]
    captures.insert(70, (DEMO + "hilang", 404, b"<html><body><h1>404</h1></body></html>"))
    _write_warc(first, captures)
    # A second crawl: 60 articles again, changed (new versions), and one seen for the first time.
    later = tmp_path / "later.warc.gz"
    _write_warc(later, [(url, 200, _updated(body)) for url, body in pages[:60]])
    # A WARC cut short: what comes before the cut is kept, the rest reported.
    cut = tmp_path / "cut.warc.gz"
    _write_warc(cut, [(url, 200, _updated(_updated(body))) for url, body in pages[60:100]])
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size * 3 // 4])

    runs = {}
    for jobs in (1, 2):
        db = tmp_path / f"jobs{jobs}" / "archive.db"
        db.parent.mkdir()
        runs[jobs] = (db, _import(db, jobs, first, later, cut))
    one, two = runs[1][1], runs[2][1]
    assert one.returncode == two.returncode == 1, two.stderr  # the cut WARC
    assert one.stdout.replace("jobs1", "jobs2") == two.stdout
    summary = re.search(r"imported (\d+) pages .*: (\d+) new, (\d+) updated", two.stdout)
    assert summary, two.stdout
    assert int(summary.group(3)) >= 60  # the later captures, and the cut file's first ones
    errors = [line for line in two.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "cut.warc.gz" in errors[0] and "Traceback" not in two.stderr
    # Progress lines on stderr (not a terminal): counts that grow.
    counts = [int(n) for n in re.findall(r"^importing: (\d+) pages, [\d.]+/s$", two.stderr, re.M)]
    assert counts and counts == sorted(counts) and counts[-1] > IN_PROCESS_FIRST
    assert state(runs[2][0]) == state(runs[1][0])
    with Archive(runs[2][0], create=False) as archive:
        # Each changed article's record is its latest capture, its earlier one a version.
        row = archive.article(pages[0][0])
        assert UPDATED.decode().strip() in row["body"]
        assert len(archive.versions(row["id"])) >= 1


def test_results_come_back_in_the_order_read_when_a_later_chunk_finishes_first(
    tmp_path: Path,
) -> None:
    """A chunk of slow pages (big ones) followed by a chunk of quick ones holding the same
    articles changed: the quick chunk is done first, and is stored second."""
    pages = _demo_pages(IN_PROCESS_FIRST + 40)
    slow = [(url, body.replace(b"</p>", b"</p>" + body[-20000:] * 10, 1)) for url, body in pages]
    db = tmp_path / "archive.db"
    stored: list[str] = []
    with Archive(db) as archive, archive.batch(), ImportSink(archive, jobs=2) as sink:

        def put(url: str, body: bytes) -> None:
            sink.put(saved_page_item(body, url=url), lambda outcome, error: stored.append(url))

        for url, body in pages[:IN_PROCESS_FIRST]:
            put(url, body)
        assert sink.pool is None  # the first pages were done here
        originals = slow[IN_PROCESS_FIRST : IN_PROCESS_FIRST + 16]
        for url, body in originals:
            put(url, body)
        for url, body in pages[IN_PROCESS_FIRST : IN_PROCESS_FIRST + 16]:
            put(url, _updated(body))
        sink.finish()
        assert sink.pool is not None
    order = [url for url, _ in pages[:IN_PROCESS_FIRST]] + [url for url, _ in originals] * 2
    assert stored == order
    with Archive(db, create=False) as archive:
        for url, _ in originals:
            row = archive.article(url)
            assert UPDATED.decode().strip() in row["body"], url
            assert len(archive.versions(row["id"])) == 1


def test_sigterm_stops_a_parallel_import_with_everything_read_stored(tmp_path: Path) -> None:
    import signal
    import sqlite3

    warc = tmp_path / "big.warc.gz"
    _write_warc(warc, [(url, 200, body) for url, body in _demo_pages(1500)])
    db = tmp_path / "archive.db"
    command = [sys.executable, "-m", "newsarchive", "import", "--jobs", "2"]
    command += ["--progress-seconds", "0.05", "--db", str(db), str(warc)]
    # Past the pages done before the workers start: the workers hold chunks.
    status, out, errors = sigterm_once_logged(
        command, tmp_path / "stderr.log", rb"importing: (\d{3,}) pages"
    )
    assert status == 128 + signal.SIGTERM, errors
    assert "Traceback" not in errors
    stopped = re.search(r"stopped by SIGTERM after (\d+) pages \(all stored\)", out)
    assert stopped, out
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    # What it reported is what is stored, and it stopped before the end of the file.
    assert IN_PROCESS_FIRST < stored == int(stopped.group(1)) < 1500


def test_reading_waits_for_a_slow_page_rather_than_holding_everything_after_it(
    tmp_path: Path,
) -> None:
    """In order, what finishes after a slow page waits for it in memory: the reading stops once
    a few chunks wait, instead of running on while one worker does all the rest."""
    from newsarchive.importing import CHUNKS_PER_WORKER, EXTRACTION_CHUNK, ORDERED_BACKLOG_CHUNKS

    pages = _demo_pages(IN_PROCESS_FIRST + 600)
    url, body = pages[IN_PROCESS_FIRST]
    paragraphs = b"".join(re.findall(rb"<p>[^<]{80,}</p>", body))
    slow = body.replace(b"</p>", b"</p>" + paragraphs * 6000, 1)  # ~13 MB: a second to extract
    put = 0
    read_when_stored: dict[str, int] = {}
    with Archive(tmp_path / "archive.db") as archive, ImportSink(archive, jobs=2) as sink:

        def stored(page_url: str) -> None:
            read_when_stored.setdefault(page_url, put)

        for n, (page_url, page) in enumerate(pages):
            put += 1
            item = saved_page_item(slow if n == IN_PROCESS_FIRST else page, url=page_url)
            sink.put(item, lambda outcome, error, page_url=page_url: stored(page_url))
        sink.finish()
    assert len(read_when_stored) == len(pages)
    workers = 2
    ahead = workers * (CHUNKS_PER_WORKER + ORDERED_BACKLOG_CHUNKS + 1) * EXTRACTION_CHUNK
    assert read_when_stored[url] <= IN_PROCESS_FIRST + 1 + ahead < len(pages)


def _loose_pages(db: Path) -> int:
    import sqlite3

    from newsarchive.storage import default_pages_path
    from newsarchive.storage.compression import IN_BLOCK

    with sqlite3.connect(default_pages_path(db)) as conn:
        query = "SELECT count(*) FROM pages WHERE compression != ?"
        return conn.execute(query, [IN_BLOCK]).fetchone()[0]


def test_an_import_packs_a_sites_pages_as_they_fill_a_block(tmp_path: Path) -> None:
    pages = _demo_pages(60)
    db = tmp_path / "archive.db"
    with (
        Archive(db) as archive,
        archive.batch(),
        ImportSink(archive, pack_every=sum(len(body) for _, body in pages[:20])) as sink,
    ):
        for url, body in pages[:45]:
            sink.put(saved_page_item(body, url=url), lambda outcome, error: None)
        sink.finish()
    # Packed while importing, a block's worth at a time (the end's pack, crawl_ended, was not
    # run): what is left alone is what came after the last full block.
    assert 0 < _loose_pages(db) < 20
    with Archive(db, create=False) as archive:
        for url, body in pages[:45]:
            assert archive.raw_page(archive.article(url)["page_id"])[1] == body


def test_the_import_command_leaves_no_page_stored_alone(tmp_path: Path) -> None:
    pages = _demo_pages(30)
    warc = tmp_path / "pages.warc.gz"
    _write_warc(warc, [(url, 200, body) for url, body in pages])
    saved = tmp_path / "saved.html"
    saved.write_bytes(pages[0][1])
    db = tmp_path / "archive.db"
    for files in ([warc], [saved]):
        done = _import(db, 2, *files)
        assert done.returncode == 0, done.stderr
        # As a crawl's end: packed into blocks (small sites share them), every page readable.
        assert _loose_pages(db) == 0
    with Archive(db, create=False) as archive:
        for url, body in pages:
            assert archive.raw_page(archive.article(url)["page_id"])[1] == body


def test_a_directory_imports_every_page_below_it_and_counts_what_is_no_page(
    tmp_path: Path,
) -> None:
    """A wget mirror: pages in folders beside styles, images and a WARC; the pages and the WARC's
    are imported in one order, the rest counted. A file named on its own is still an error."""
    pages = _demo_pages(12)
    mirror = tmp_path / "mirror"
    for n, (_url, body) in enumerate(pages[:8]):
        folder = mirror / ("2023" if n % 2 else "") / ("07" if n % 3 == 0 else "")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"page-{n}.html").write_bytes(body)
    (mirror / "style.css").write_text("body { color: red }")
    (mirror / "2023" / "logo.png").write_bytes(bytes(range(256)) * 4)
    (mirror / ".git").mkdir()
    (mirror / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    _write_warc(mirror / "crawl.warc.gz", [(url, 200, body) for url, body in pages[8:]])
    db = tmp_path / "archive.db"
    done = _import(db, 2, mirror)
    assert done.returncode == 0, done.stderr
    assert "imported 12 pages" in done.stdout and "0 failed" in done.stdout
    assert re.search(r"skipped 2 files in the directories that are no HTML page: ", done.stdout)
    assert "Error" not in done.stderr
    with Archive(db, create=False) as archive:
        assert archive.count() == 12
    alone = _import(db, 2, mirror / "style.css")
    assert alone.returncode == 1 and "style.css: no HTML markup found" in alone.stderr
