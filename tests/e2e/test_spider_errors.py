"""A spider callback that raises on a page: Scrapy logged a traceback, the page's links were
never followed, and the crawl ended 0 with nothing where cron looks. Now the page has a
failures row, the log one line, and the crawl one `Error:` line and status 1. And a crawl
started under a limit on open files too low for it is refused in one line, where it failed
midway with tracebacks (or silently lost a listing)."""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from e2e_helpers import CLI, CRAWL_TIMEOUT, FAST, crawl_env

from newsarchive.demo import DemoServer
from newsarchive.settings import SPIDER_MIDDLEWARES

FAULTS = str(Path(__file__).parent)


def _crawl(server: DemoServer, db: Path, env: dict[str, str], *extra: str, preexec=None):
    return subprocess.run(
        [*CLI, "crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST, *extra],
        cwd=db.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=CRAWL_TIMEOUT,
        preexec_fn=preexec,
    )


def test_a_page_the_spider_fails_on_is_a_failure_and_an_error_line(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    env = crawl_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [FAULTS, env.get("PYTHONPATH")]))
    env["NEWSARCHIVE_TEST_FAULT_ON"] = "/ekonomi/"
    # -s replaces the whole setting: the crawl's own middlewares, then the fault beside the spider.
    middleware = json.dumps({**SPIDER_MIDDLEWARES, "spider_faults.RaiseOnPage": 1100})
    with DemoServer(articles=20) as server:
        proc = _crawl(server, db, env, "-s", f"SPIDER_MIDDLEWARES={middleware}")
        listing = f"{server.base_url}ekonomi/"
    assert proc.returncode == 1, proc.stdout + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, proc.stderr[-3000:]
    assert errors[0].startswith("Error: demo: the spider failed on 1 page(s), whose links were")
    logged = [line for line in proc.stderr.splitlines() if listing in line]
    assert len(logged) == 1 and "RuntimeError: injected fault" in logged[0], proc.stderr
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT url, reason FROM failures WHERE url = ?", [listing]).fetchall()
        archived = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert rows == [(listing, "the spider failed on this page (RuntimeError: injected fault)")], (
        rows
    )
    assert archived > 0  # the rest of the crawl went on


def test_a_crawl_under_too_low_a_limit_on_open_files_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    db = tmp_path / "archive.db"

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))

    with DemoServer(articles=5) as server:
        proc = _crawl(server, db, crawl_env(), preexec=low_limit)
        requests = len(server.requests)
    assert proc.returncode == 1, proc.stdout + proc.stderr[-3000:]
    assert proc.stderr.splitlines() == [
        "Error: the limit on open files is 40 (`ulimit -n`); a crawl needs at least 64"
    ]
    assert requests == 0


def test_a_low_soft_limit_on_open_files_is_raised_for_the_crawl(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard == resource.RLIM_INFINITY or hard >= 256, "the machine's own hard limit is low"

    def low_soft_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (24, hard))

    with DemoServer(articles=20) as server:
        proc = _crawl(server, db, crawl_env(), preexec=low_soft_limit)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "Too many open files" not in proc.stderr and "Traceback" not in proc.stderr
    assert "articles 20 new" in proc.stdout, proc.stdout
