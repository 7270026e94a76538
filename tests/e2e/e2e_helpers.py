"""Helpers of the end-to-end tests: crawls run in subprocesses, archive readers.

Scrapy's reactor cannot be restarted inside one process, so every crawl here is a subprocess:
`newsarchive crawl ...` or `python -m scrapy crawl portal ...`, exactly as a user runs them.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from newsarchive.demo import DemoServer
from newsarchive.storage import Archive, default_pages_path
from newsarchive.storage.queries import article_rows

# Our own loopback server: no politeness delay needed, and a short e2e suite.
FAST = [
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    # A shared crawl whose Redis a test takes away for good stops in seconds, not minutes.
    "-s",
    "NEWSARCHIVE_REDIS_PATIENCE=1",
]
CLI = [sys.executable, "-c", "from newsarchive.cli import cli; cli()"]
CRAWL_TIMEOUT = 120


def crawl_env() -> dict[str, str]:
    env = dict(os.environ)
    env["NEWSARCHIVE_CONTACT"] = "https://example.org/newsarchive-e2e"
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    return env


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env=crawl_env(),
        capture_output=True,
        text=True,
        timeout=CRAWL_TIMEOUT,
    )
    assert proc.returncode == 0, f"crawl failed:\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc


def run_on_small_disk(
    command: list[str], cwd: Path, file_size_limit: int | None, timeout: float = CRAWL_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """`command` run with no file of its (or its children's) growing past `file_size_limit`
    bytes (RLIMIT_FSIZE; None: no limit): a write past it fails as a write to a full disk does
    (SQLite says "disk I/O error"). A real small file system would need mount privileges."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run(
        command,
        cwd=cwd,
        env=crawl_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit if file_size_limit else None,
    )


def crawl_demo(server: DemoServer, db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "crawl",
        "demo",
        "--base-url",
        server.base_url,
        "--db",
        str(db),
        *FAST,
        *extra,
        cwd=db.parent,
    )


def start_crawl(
    server: DemoServer, db: Path, *extra: str, site: str = "demo", own_group: bool = False
) -> subprocess.Popen[str]:
    """`newsarchive crawl SITE` of `server` into `db` with `extra`, started, output piped; with
    `own_group`, in a process group of its own (os.killpg reaches its workers too)."""
    cmd = [*CLI, "crawl", site, "--base-url", server.base_url, "--db", str(db)]
    return subprocess.Popen(
        [*cmd, *extra],
        cwd=db.parent,
        env=crawl_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=own_group,
    )


def shared_crawl(
    server: DemoServer,
    db: Path,
    url: str,
    *extra: str,
    site: str = "demo",
    own_group: bool = False,
) -> subprocess.Popen[str]:
    """`newsarchive crawl SITE --redis URL` (start_crawl): its writer and the local workers
    `extra` asks for."""
    return start_crawl(server, db, "--redis", url, *extra, site=site, own_group=own_group)


def articles(db: Path) -> list[dict]:
    with Archive(db, create=False) as archive:
        return list(article_rows(archive))


def copy_archive(src: Path, dst: Path) -> None:
    for a, b in ((src, dst), (default_pages_path(src), default_pages_path(dst))):
        shutil.copy(a, b)


@dataclass
class Portal:
    server: DemoServer
    offsite: DemoServer


@dataclass
class FirstCrawl:
    db: Path
    requests: list  # the server's log of this crawl
    output: str


def take_down(portal: Any, path: str) -> None:
    """The site takes the article at `path` down: 404 there, and no listing, sitemap or feed
    links it any more (its links point at another page)."""
    for page, (status, headers, body) in list(portal.pages.items()):
        portal.pages[page] = (status, headers, body.replace(path.encode(), b"/tentang-kami/"))
    portal.pages[path] = (404, {"Content-Type": "text/html"}, b"<h1>404</h1>")


def set_last_fetched(db: Path, days_ago: dict[str, int]) -> None:
    # As if the articles had last been fetched that long ago: a month of runs not waited out.
    with sqlite3.connect(db) as conn:
        for url, days in days_ago.items():
            when = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
            conn.execute("UPDATE articles SET last_seen = ? WHERE url = ?", [when, url])


def crawled_then_taken_down(server: DemoServer, db: Path) -> list[str]:
    """The demo crawled into `db`, then its first article taken down (take_down) and every
    article last fetched 40-45 days ago, the first longest ago: the articles' URLs in order.
    No revisit of the others is due (published years ago), and nothing links the first."""
    portal = server.portal
    crawl_demo(server, db)
    urls = [portal.url(article.path) for article in portal.articles]
    take_down(portal, portal.articles[0].path)
    set_last_fetched(db, {url: 40 + n for n, url in enumerate(reversed(urls))})
    return urls


def free_port() -> int:
    """A port nothing listens on at 127.0.0.1 (free when asked)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_redis(workdir: Path, port: int | None = None, *, saves: bool = False) -> Iterator[int]:
    """A real redis-server on a loopback port (a free one by default), for the shared-crawl
    tests: its port, once it answers a PING. Without persistence, or with `saves` its data in
    `workdir` (dump.rdb: SHUTDOWN SAVE writes it, a server started again there reads it).
    Fails (never skips) without redis-server."""
    import pytest
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not installed: the shared-crawl tests need a real Redis "
            "(apt-get install redis-server)"
        )
    port = port or free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--appendonly", "no"]
        + ([] if saves else ["--save", ""]),
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail(f"redis-server did not start on port {port}")
            time.sleep(0.05)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
