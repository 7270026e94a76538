"""The spider on Scrapy's mechanisms: an exact --max-pages, one request per page, a clean --resume."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from e2e_helpers import crawl_demo

from newsarchive.demo import DemoServer

pytestmark = pytest.mark.e2e


def test_max_pages_is_exact_and_nothing_is_fetched_twice(tmp_path: Path) -> None:
    with DemoServer(articles=40) as server:
        proc = crawl_demo(server, tmp_path / "demo.db", "--max-pages", "20")
        paths = server.requested_paths()
    assert len(paths) == 20, paths
    assert paths.count("/robots.txt") == 1
    assert [p for p, n in Counter(paths).items() if n > 1] == []
    assert "max_pages" in proc.stdout


def test_resume_run_that_finishes_logs_no_error_and_leaves_no_job_state(tmp_path: Path) -> None:
    with DemoServer(articles=12) as server:
        db = tmp_path / "demo.db"
        for _ in range(2):  # a fresh --resume run, then one after it finished
            proc = crawl_demo(server, db, "--resume")
            assert "ERROR" not in proc.stderr, proc.stderr[-3000:]
            assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
            assert not (tmp_path / "jobs" / "demo" / "demo").exists()
