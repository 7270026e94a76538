"""Benchmark (not a test): how small the raw pages get, old layout against new, in one run.

    python benchmarks/bench_pages_size.py                    # corpus (all + each part) and demo
    python benchmarks/bench_pages_size.py --levels 9,19      # also the new layout at level 19
    python benchmarks/bench_pages_size.py --no-demo --keep /tmp/pz

Loading: the corpus pages (../shared/corpus: id/*.html, aeb/html/*.html.gz, dates/html/*.html.gz)
are imported with what `newsarchive import` runs (read_page + import_page in one batch) into a
fresh archive, once for the whole corpus and once per part; the archive is then copied, and each
copy is packed as `newsarchive compact` packs (Archive.pack_pages, then VACUUM):

- old: the layout before issue 13's work: per-site blocks only (SHARED_SHARE 0: every site packs
  alone), level 9, a pages.db of 4 kB pages, whole blocks inflated to read a page;
- new: small sites in shared blocks (sites side by side by host name), a pages.db of 1 kB pages,
  pages read by streaming their block only to the page's end;
- relevel (for each level of --levels but 9): the new layout packed at 9, as a crawl's end leaves
  it, then packed again at that level (`newsarchive compact --level N`).

The demo portal is crawled once with `newsarchive demo` (new code: packed when the crawl ends);
the old layout is the same file rebuilt with 4 kB pages (one site: per-site and shared blocks are
the same frame). Every page of every copy is read back and checked against its sha256.

Reported: compressed bodies alone (blocks + bodies stored alone) and the whole pages.db file, as a
share of the pages' HTML; packing speed (MB of HTML per CPU-second, and seconds per GB); the time
to read one page from a packed block (fresh reader, median of random pages).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from newsarchive.importing import DEFAULT_MAX_SIZE, import_page, read_page
from newsarchive.storage import Archive
from newsarchive.storage import archive as archive_module
from newsarchive.storage.compression import IN_BLOCK, decompress_block

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"
PARTS = {
    "id": ["id/*.html"],
    "aeb": ["aeb/html/*.html.gz"],
    "dates": ["dates/html/*.html.gz"],
}


def part_files(corpus: Path, part: str) -> list[Path]:
    patterns = [p for name in PARTS for p in PARTS[name]] if part == "all" else PARTS[part]
    return sorted(path for pattern in patterns for path in corpus.glob(pattern))


def set_page_size(pages_db: Path, page_size: int) -> None:
    conn = sqlite3.connect(pages_db)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute(f"PRAGMA page_size = {page_size}")
    conn.execute("VACUUM")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()


def load(files: list[Path], folder: Path) -> None:
    """The pages imported, unpacked, into folder/archive.db (pages.db at 4 kB pages)."""
    folder.mkdir(parents=True)
    saved = archive_module.PAGES_PAGE_SIZE
    archive_module.PAGES_PAGE_SIZE = 4096
    try:
        with Archive(folder / "archive.db") as archive, archive.batch():
            for path in files:
                import_page(archive, read_page(path, max_size=DEFAULT_MAX_SIZE), path=path)
    finally:
        archive_module.PAGES_PAGE_SIZE = saved


def compact(folder: Path, layout: str, level: int) -> dict:
    """Pack as `newsarchive compact` does, in the old or the new layout; sizes and timings."""
    pages_db = folder / "pages.db"
    relevel = layout == "relevel"
    if layout == "new":
        set_page_size(pages_db, archive_module.PAGES_PAGE_SIZE)
    saved = archive_module.SHARED_SHARE
    if layout == "old":
        archive_module.SHARED_SHARE = 0.0  # every site's pages in blocks of its own
    try:
        with Archive(folder / "archive.db", create=False) as archive:
            cpu, wall = time.process_time(), time.perf_counter()
            result = archive.pack_pages(level=level, relevel=relevel)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            archive.pages.execute("PRAGMA auto_vacuum = INCREMENTAL")
            archive.pages.execute("VACUUM")
    finally:
        archive_module.SHARED_SHARE = saved
    with Archive(folder / "archive.db", readonly=True) as archive:
        raw = archive.pages.execute("SELECT coalesce(sum(size), 0) FROM pages").fetchone()[0]
        stored = archive.stored_page_bytes()
        checked = 0
        for row in archive.iter_raw_pages():
            if hashlib.sha256(row["body"]).hexdigest() != row["sha256"]:
                raise SystemExit(f"{folder}: page {row['id']} does not read back")
            checked += 1
        read_ms = read_times(archive, "old" if layout == "old" else "new")
        whole_ms = read_times(archive, "old") if layout != "old" else None
        shared = archive.pages.execute(
            "SELECT count(*), coalesce(sum(raw_size), 0) FROM blocks WHERE site IS NULL"
        ).fetchone()
        blocks = archive.pages.execute("SELECT count(*) FROM blocks").fetchone()[0]
    return {
        "raw": raw,
        "bodies": stored / raw,
        "file": pages_db.stat().st_size / raw,
        "file_bytes": pages_db.stat().st_size,
        "pack_cpu": cpu,
        "pack_wall": wall,
        "packed_raw": result.raw_bytes,
        "pages": checked,
        "blocks": blocks,
        "shared": shared,
        "read_ms": read_ms,
        "whole_ms": whole_ms,
    }


def read_times(archive: Archive, layout: str, count: int = 40) -> float | None:
    """Median ms to read one packed page with nothing cached: the new reader ("new") streams the
    block to the page's end; the old one ("old") inflated the whole block."""
    ids = [
        row[0]
        for row in archive.pages.execute("SELECT id FROM pages WHERE compression = ?", [IN_BLOCK])
    ]
    if not ids:
        return None
    times = []
    for page_id in random.Random(7).sample(ids, min(count, len(ids))):
        archive._blocks.clear()
        start = time.perf_counter()
        if layout == "new":
            meta, body = archive.raw_page(page_id)
        else:
            meta = next(iter(archive.pages.query("SELECT * FROM pages WHERE id = ?", [page_id])))
            blob, codec = archive.pages.execute(
                "SELECT data, compression FROM blocks WHERE id = ?", [meta["block_id"]]
            ).fetchone()
            offset = meta["block_offset"]
            body = decompress_block(blob, codec)[offset : offset + meta["size"]]
        times.append(time.perf_counter() - start)
        assert hashlib.sha256(body).hexdigest() == meta["sha256"]
    return statistics.median(times) * 1000


def line(name: str, layout: str, level: int, m: dict) -> str:
    mb_s = m["packed_raw"] / 1e6 / m["pack_cpu"] if m["pack_cpu"] else 0.0
    per_gb = 1e9 / (m["packed_raw"] / m["pack_cpu"]) if m["packed_raw"] else 0.0
    shared = f"{m['shared'][0]} shared ({m['shared'][1] / 1e6:.1f} MB)"
    read = f"{m['read_ms']:.1f} ms" if m["read_ms"] is not None else "-"
    if m.get("whole_ms") is not None:
        read += f" (whole block inflated: {m['whole_ms']:.1f} ms)"
    return (
        f"{name:6s} {layout:7s} L{level:<2d} {m['raw'] / 1e6:7.2f} MB  bodies {m['bodies']:6.2%}  "
        f"file {m['file']:6.2%} ({m['file_bytes'] / 1e6:6.2f} MB)  pack {mb_s:6.1f} MB/CPU-s "
        f"({per_gb:5.0f} s/GB)  read 1 page {read}  {m['blocks']} blocks, {shared}, "
        f"{m['pages']} pages sha256-checked"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--parts", default="all,id,aeb,dates")
    parser.add_argument("--levels", default="9", help="levels of the new layout (old: 9)")
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--keep", type=Path, help="keep the archives in this folder")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-pages-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"archives in {root}", flush=True)
    try:
        for part in args.parts.split(","):
            files = part_files(args.corpus.resolve(), part)
            loose = root / part / "loose"
            shutil.rmtree(root / part, ignore_errors=True)
            start = time.perf_counter()
            load(files, loose)
            print(f"{part}: imported {len(files)} files in {time.perf_counter() - start:.1f} s",
                  flush=True)  # fmt: skip
            runs = [("old", 9)] + [("new", level) for level in levels]
            runs += [("relevel", level) for level in levels if level != 9 and 9 in levels]
            for layout, level in runs:
                folder = root / part / f"{layout}-{level}"
                shutil.copytree(root / part / "new-9" if layout == "relevel" else loose, folder)
                print(line(part, layout, level, compact(folder, layout, level)), flush=True)
        if not args.no_demo:
            demo(root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def demo(root: Path) -> None:
    folder = root / "demo" / "new-9"
    shutil.rmtree(root / "demo", ignore_errors=True)
    folder.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "newsarchive", "demo", "--db", str(folder / "archive.db")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    old = root / "demo" / "old-9"
    shutil.copytree(folder, old)
    set_page_size(old / "pages.db", 4096)
    for layout, path in (("old", old), ("new", folder)):
        with Archive(path / "archive.db", readonly=True) as archive:
            raw = archive.pages.execute("SELECT sum(size) FROM pages").fetchone()[0]
            stored = archive.stored_page_bytes()
            for row in archive.iter_raw_pages():
                assert hashlib.sha256(row["body"]).hexdigest() == row["sha256"]
            read = read_times(archive, layout)
        size = (path / "pages.db").stat().st_size
        print(
            f"demo   {layout:3s} L9  {raw / 1e6:7.2f} MB  bodies {stored / raw:6.2%}  "
            f"file {size / raw:6.2%} ({size / 1e6:6.2f} MB)  read 1 page {read:.1f} ms "
            "(packed when the crawl ended)",
            flush=True,
        )


if __name__ == "__main__":
    main()
