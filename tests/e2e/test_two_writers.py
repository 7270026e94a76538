"""Two writers on one archive: two crawls started a moment apart, and an import while they run.

All must finish with exit status 0, and the archive must hold every article once, counted once
as new across the runs (the other run finds it unchanged).
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from e2e_helpers import CLI, CRAWL_TIMEOUT, crawl_env

from newsarchive.demo import DemoServer

pytestmark = pytest.mark.e2e

# Slow enough that the two crawls overlap for several seconds.
SLOW = ["-s", "DOWNLOAD_DELAY=0.05", "-s", "AUTOTHROTTLE_ENABLED=False"]
SAVED_PAGE = (
    b"<html lang='id'><head><title>Warga membersihkan sungai</title>"
    b"<meta property='og:type' content='article'>"
    b"<meta property='article:published_time' content='2024-01-02T08:00:00+07:00'></head>"
    b"<body><article><h1>Warga membersihkan sungai</h1><p>Oleh: Rina Sari</p>"
    b"<p>Ratusan warga membersihkan sungai dari sampah plastik pada Minggu pagi, dibantu "
    b"relawan dan petugas kebersihan kota.</p><p>Kegiatan itu akan diulang setiap bulan, kata "
    b"ketua panitia.</p></article></body></html>"
)


def _start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *args],
        cwd=cwd,
        env=crawl_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_crawls_and_an_import_share_one_archive(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    page = tmp_path / "saved.html"
    with DemoServer(articles=40) as server:
        crawl = ["crawl", "demo", "--base-url", server.base_url, "--db", str(db), *SLOW]
        first = _start(*crawl, cwd=tmp_path)
        time.sleep(1.0)
        second = _start(*crawl, cwd=tmp_path)
        time.sleep(0.5)
        page.write_bytes(SAVED_PAGE)
        imported = subprocess.run(
            [*CLI, "import", str(page), "--url", "https://elsewhere.example.id/2024/01/02/x/"]
            + ["--site", "imported", "--db", str(db)],
            capture_output=True,
            text=True,
            timeout=CRAWL_TIMEOUT,
            env=crawl_env(),
        )
        outputs = [proc.communicate(timeout=CRAWL_TIMEOUT) for proc in (first, second)]
        expected = {a.path for a in server.portal.articles}

    for proc, (out, err) in zip((first, second), outputs, strict=True):
        assert proc.returncode == 0, f"{out}\n{err[-3000:]}"
        assert "Traceback" not in err and "database is locked" not in err, err[-3000:]
    assert imported.returncode == 0, imported.stderr
    assert "1 new" in imported.stdout

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = conn.execute("SELECT url FROM articles WHERE site = 'demo'").fetchall()
    runs = conn.execute(
        "SELECT articles_new, started, finished FROM crawl_runs WHERE site = 'demo' ORDER BY id"
    ).fetchall()
    imported_rows = conn.execute("SELECT count(*) FROM articles WHERE site = 'imported'").fetchone()
    conn.close()
    paths = [url.split(server.base_url.rstrip("/"), 1)[-1] for (url,) in rows]
    assert len(paths) == len(set(paths)), "an article stored twice"
    assert expected <= set(paths)
    assert len(runs) == 2 and all(finished for _, _, finished in runs)
    assert runs[1][1] < runs[0][2], "the two crawls did not overlap"
    # Each article is new to exactly one of the two runs.
    assert sum(new for new, _, _ in runs) == len(rows)
    assert imported_rows == (1,)
