"""Safe and polite defaults, as a crawl actually gets them, and back-off that honours Retry-After."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from e2e_helpers import crawl_demo, crawl_env, run_cli

import newsarchive.sites
from newsarchive.demo import DemoServer
from newsarchive.middlewares import retry_after_seconds


def _crawl_settings() -> dict:
    code = (
        "import json; from scrapy.utils.project import get_project_settings; s = get_project_settings(); "
        "print(json.dumps({k: s.get(k) for k in ('REMOTE_CONTROL_ENABLED', 'TELNETCONSOLE_ENABLED', "
        "'ROBOTSTXT_OBEY', 'AUTOTHROTTLE_ENABLED', 'DOWNLOAD_DELAY', 'USER_AGENT', 'DOWNLOAD_MAXSIZE', "
        "'DEPTH_LIMIT', 'CONCURRENT_ITEMS', 'RETRY_HTTP_CODES', 'CONCURRENT_REQUESTS_PER_DOMAIN')}))"
    )
    env = crawl_env()
    env["SCRAPY_SETTINGS_MODULE"] = "newsarchive.settings"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    import json

    return json.loads(out.stdout)


def test_no_control_ports_and_polite_defaults() -> None:
    s = _crawl_settings()
    assert s["REMOTE_CONTROL_ENABLED"] is False
    assert s["TELNETCONSOLE_ENABLED"] is False
    assert s["ROBOTSTXT_OBEY"] is True
    assert s["AUTOTHROTTLE_ENABLED"] is True
    assert float(s["DOWNLOAD_DELAY"]) >= 0.5
    assert (
        s["USER_AGENT"].startswith("newsarchive/")
        and "https://example.org/newsarchive-e2e" in s["USER_AGENT"]
    )
    assert 0 < int(s["DOWNLOAD_MAXSIZE"]) <= 50 * 1024 * 1024
    assert int(s["DEPTH_LIMIT"]) > 0
    assert int(s["CONCURRENT_ITEMS"]) <= 10
    assert {429, 503} <= {int(c) for c in s["RETRY_HTTP_CODES"]}


def test_retry_after_forms() -> None:
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert (
        retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now)
        == 30.0
    )
    assert (
        retry_after_seconds(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now)
        == 0.0
    )
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


class _Throttling(BaseHTTPRequestHandler):
    """Answers the article with 429 + Retry-After: 2 once, then serves it."""

    protocol_version = "HTTP/1.1"
    hits: list[tuple[float, str, int]] = []
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802
        with self.lock:
            seen = sum(1 for _, path, _ in self.hits if path == self.path)
            if self.path == "/robots.txt":
                status, body, extra = 404, b"", {}
            elif self.path == "/":
                status, extra = 200, {}
                body = b"<html><body><a href='/2024/01/01/sebuah-berita-panjang-sekali-judulnya/'>x</a></body></html>"
            elif seen == 0:
                status, body, extra = 429, b"slow down", {"Retry-After": "2"}
            else:
                status, extra = 200, {}
                body = (
                    b"<html lang='id'><head><title>Sebuah berita</title></head><body><h1>Sebuah berita</h1>"
                    + b"<p>"
                    + b"Isi berita yang cukup panjang untuk sebuah artikel. " * 10
                    + b"</p></body></html>"
                )
            self.hits.append((time.monotonic(), self.path, status))
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_429_waits_for_retry_after(tmp_path: Path) -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Throttling)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/"
        cmd = [
            sys.executable,
            "-c",
            "from newsarchive.cli import cli; cli()",
            "crawl",
            url,
            "--db",
            str(tmp_path / "a.db"),
        ]
        cmd += [
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
            "-s",
            "NEWSARCHIVE_MAX_LISTING_DEPTH=0",
        ]
        proc = subprocess.run(
            cmd, cwd=tmp_path, env=crawl_env(), capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
    finally:
        httpd.shutdown()
        httpd.server_close()
    article = [(t, s) for t, p, s in _Throttling.hits if p.startswith("/2024/")]
    assert [s for _, s in article] == [429, 200]
    assert article[1][0] - article[0][0] >= 1.9


def test_an_email_contact_reaches_the_user_agent(tmp_path: Path) -> None:
    from newsarchive import __version__

    with DemoServer(articles=3) as server:
        crawl_demo(server, tmp_path / "a.db", "--contact", "peneliti@univ.example.ac.id")
        agents = {request.user_agent for request in server.requests}
    assert agents == {f"newsarchive/{__version__} (+peneliti@univ.example.ac.id)"}


def _timed_demo(
    articles: int, crawl_delay: str | None
) -> tuple[DemoServer, list[tuple[float, str]]]:
    """The demo portal with `Crawl-delay: <crawl_delay>` in its robots.txt, and a list that
    gets when each request arrived (the server's log has the order, not the time)."""
    server = DemoServer(articles=articles)
    if crawl_delay is not None:
        status, headers, body = server.portal.pages["/robots.txt"]
        body = body.replace(
            b"User-agent: *\n", b"User-agent: *\nCrawl-delay: " + crawl_delay.encode() + b"\n"
        )
        server.portal.pages["/robots.txt"] = (status, headers, body)
    arrivals: list[tuple[float, str]] = []
    record = server._httpd.record

    def timed(entry) -> None:  # noqa: ANN001
        arrivals.append((time.monotonic(), entry.path))
        record(entry)

    server._httpd.record = timed
    return server, arrivals


def test_robots_txt_crawl_delay_is_obeyed(tmp_path: Path) -> None:
    # Scrapy reads robots.txt for Allow/Disallow only: before, a site asking for 0.4 s between
    # requests got them as fast as the settings let (here: no delay, 8 at once).
    server, arrivals = _timed_demo(6, "0.4")
    with server:
        fast = ["-s", "AUTOTHROTTLE_ENABLED=True", "-s", "AUTOTHROTTLE_START_DELAY=0"]
        done = crawl_demo(server, tmp_path / "a.db", "--max-pages", "8", *fast)
    assert "Error" not in done.stderr and "WARNING" not in done.stderr, done.stderr
    times = [at for at, path in arrivals if path != "/robots.txt"]
    assert len(times) >= 7
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # No jitter below it, and AutoThrottle does not shorten it: the requests as a whole keep the
    # delay (the times are taken in the server's thread, late by up to a scheduling slice on a
    # loaded machine, which one gap alone shows as shorter).
    assert times[-1] - times[0] >= 0.37 * len(gaps), gaps
    assert min(gaps) >= 0.3, gaps


def test_a_profiles_politeness_is_applied_without_a_warning(tmp_path: Path) -> None:
    # The profile's delay and concurrency reached Scrapy as spider attributes, which Scrapy 2.19
    # deprecates: four WARNING lines on every crawl of such a profile, in a cron mail.
    profile = tmp_path / "slow.toml"
    demo = (Path(newsarchive.sites.__file__).parent / "demo.toml").read_text()
    profile.write_text(
        demo.replace(
            "[crawl]\n", "[crawl]\ndownload_delay = 0.4\nconcurrent_requests_per_domain = 1\n"
        )
    )
    server, arrivals = _timed_demo(6, None)
    db = tmp_path / "a.db"
    with server:
        done = run_cli(
            "crawl", str(profile), "--base-url", server.base_url, "--db", str(db),
            "--max-pages", "8", "-s", "AUTOTHROTTLE_ENABLED=False", cwd=tmp_path,
        )  # fmt: skip
    assert "WARNING" not in done.stderr and "Warning" not in done.stderr, done.stderr
    times = [at for at, path in arrivals if path != "/robots.txt"]
    assert len(times) >= 7
    # DOWNLOAD_DELAY_JITTER spreads each gap over 0.2-0.6 s; together they keep the delay.
    assert times[-1] - times[0] >= 0.3 * (len(times) - 1)
    with sqlite3.connect(db) as conn:
        (settings,) = conn.execute("SELECT settings FROM crawl_runs").fetchone()
    recorded = json.loads(settings)
    assert float(recorded["DOWNLOAD_DELAY"]) == 0.4
    assert int(recorded["CONCURRENT_REQUESTS_PER_DOMAIN"]) == 1
