"""Small news pages of our own and ready-made records for the archive tests."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from newsarchive.items import Article, Contributor, RawPage
from newsarchive.storage import Archive

WIB = timezone(timedelta(hours=7))


def news_page(
    title: str,
    paragraphs: list[str],
    *,
    canonical: str | None = None,
    published: str = "2024-03-05T09:15:00+07:00",
    category: str = "Nasional",
) -> bytes:
    """A portal-style article page: meta tags, byline, chrome around the body."""
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    body = "\n".join(f"<p>{text}</p>" for text in paragraphs)
    return f"""<!doctype html><html lang="id"><head><meta charset="utf-8">
<title>{title} - Warta Contoh</title>{link}
<meta property="og:title" content="{title}">
<meta property="article:published_time" content="{published}">
<meta property="article:section" content="{category}">
<meta name="description" content="{paragraphs[0][:120]}">
</head><body><nav><a href="/">Beranda</a> <a href="/nasional">Nasional</a></nav>
<div class="ticker">BREAKING: Harga cabai naik lagi di pasar induk</div>
<article><h1>{title}</h1><div class="byline">Oleh Sari Wulandari</div>
<div class="entry-content">{body}
<div class="share">Bagikan: Facebook Twitter WhatsApp</div></div></article>
<footer>Hak cipta Warta Contoh</footer></body></html>""".encode()


def make_article(
    url: str,
    *,
    title: str = "Banjir rob genangi pesisir utara",
    body: str = "Air laut pasang menggenangi permukiman warga sejak Selasa pagi.",
    authors: tuple[str, ...] = ("Sari Wulandari",),
    category: str | None = "Nasional",
    tags: tuple[str, ...] = ("banjir", "pesisir"),
    published: datetime | None = datetime(2024, 3, 5, 9, 15, tzinfo=WIB),
    extractor_version: str = "test",
) -> Article:
    return Article(
        url=url,
        title=title,
        authors=list(authors),
        contributors=[Contributor(name, "author") for name in authors],
        published=published,
        category=category,
        tags=list(tags),
        description=body[:60],
        body=body,
        canonical_url=url,
        language="id",
        sources={"title": "meta"},
        extractor_version=extractor_version,
    )


def make_raw(
    url: str, body: bytes = b"<html><body><p>halaman</p></body></html>", **kwargs
) -> RawPage:
    kwargs.setdefault("fetched_at", datetime(2024, 3, 5, 3, 0, tzinfo=UTC))
    return RawPage(url=url, body=body, **kwargs)


def add_run(
    archive: Archive,
    site: str,
    started: str,
    finished: str | None,
    *,
    pages: int = 20,
    new: int = 5,
    failures: int = 0,
    reason: str | None = "finished",
) -> int:
    """A run row of `site` as if it had run from `started` to `finished` (stored times; None:
    it never ended, killed or hanging), with these counts and finish reason; its id."""
    run_id = archive.start_run(site, {})
    if finished is not None:
        archive.finish_run(
            run_id,
            pages_fetched=pages,
            articles_new=new,
            articles_updated=0,
            articles_unchanged=max(pages - new - failures, 0),
            failures=failures,
            finish_reason=reason,
        )
    with archive.db.conn:
        archive.db.conn.execute(
            "UPDATE crawl_runs SET started = ?, finished = ? WHERE id = ?",
            [started, finished, run_id],
        )
    return run_id


def roll_pages_file_back_to_v3(pages: Path) -> None:
    """Turn a pages file into its v3 form, from before blocks: bodies in `pages`, no blocks."""
    conn = sqlite3.connect(pages)
    conn.executescript(
        "UPDATE pages SET body = (SELECT data FROM page_bodies b WHERE b.page_id = pages.id);"
        "DROP TABLE page_bodies; DROP INDEX pages_block; DROP TABLE blocks;"
        "ALTER TABLE pages DROP COLUMN block_id; ALTER TABLE pages DROP COLUMN block_offset;"
        "PRAGMA user_version = 3;"
    )
    conn.close()


def sigterm_once_logged(command: list[str], log: Path, pattern: bytes) -> tuple[int, str, str]:
    """Run `command` with stderr to `log`, send it SIGTERM once `pattern` (a regex) shows in
    the log, and wait for it: (exit status, stdout, stderr)."""
    import re
    import signal
    import subprocess
    import time

    with log.open("wb") as errors:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)
        try:
            deadline = time.monotonic() + 60
            while not re.search(pattern, log.read_bytes()):
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.02)
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    return proc.returncode, out.decode(), log.read_text()


def assert_one_error(code: int, stderr: str, *expected: str) -> str:
    assert code != 0, stderr
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, stderr
    for text in expected:
        assert text in errors[0], errors[0]
    return errors[0]


def snapshot(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


def cli_error(result, *expected: str) -> str:
    """assert_one_error for the result of click's CliRunner."""
    return assert_one_error(result.exit_code, result.stderr, *expected)


def pages_of(path: Path, name: str) -> list[int]:
    """The page numbers of table or index `name` in the SQLite file at `path` (dbstat)."""
    uri = f"file:{path}?mode=ro&immutable=1"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        return [n for (n,) in conn.execute("SELECT pageno FROM dbstat WHERE name = ?", [name])]


def copy_page(path: Path, source: int, target: int) -> None:
    """Page `source` of the file written over page `target` (a write that went astray)."""
    uri = f"file:{path}?mode=ro&immutable=1"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    data[(target - 1) * size : target * size] = data[(source - 1) * size : source * size]
    path.write_bytes(bytes(data))
