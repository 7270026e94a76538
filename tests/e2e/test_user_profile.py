"""A user's own profile file, with selectors, is applied by the crawl and again by `reextract`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from e2e_helpers import FAST, run_cli

from newsarchive.demo import DemoServer
from newsarchive.sites.schema import PACKAGED_DIR

pytestmark = pytest.mark.e2e

SELECTORS = """
[selectors]
title = ["h1.entry-title", "h1.detail__title", "h1.read__title"]
"""


def _sources(db: Path) -> list[dict]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = [json.loads(s) for (s,) in conn.execute("SELECT sources FROM articles")]
    conn.close()
    return rows


def test_a_profile_file_is_applied_by_crawl_and_reextract(tmp_path: Path) -> None:
    packaged = (PACKAGED_DIR / "demo.toml").read_text(encoding="utf-8")
    profile = tmp_path / "my-portal.toml"
    profile.write_text(
        packaged.replace('name = "demo"', 'name = "my-portal"') + SELECTORS, encoding="utf-8"
    )
    db = tmp_path / "mine.db"
    with DemoServer(articles=12) as server:
        run_cli(
            "crawl", str(profile), "--base-url", server.base_url, "--db", str(db), *FAST,
            cwd=tmp_path,
        )  # fmt: skip
    sources = _sources(db)
    assert len(sources) >= 12
    assert all(s.get("title") == "profile" for s in sources), sources[:3]

    # Re-extraction must use the same file: the titles stay the profile's, nothing changes.
    proc = run_cli("reextract", "--db", str(db), cwd=tmp_path)
    assert "0 changes" in proc.stdout, proc.stdout
    assert all(s.get("title") == "profile" for s in _sources(db))

    # Without the profile's selectors, the same pages give the generic source: the check above
    # could fail.
    profile.write_text(packaged.replace('name = "demo"', 'name = "my-portal"'), encoding="utf-8")
    proc = run_cli("reextract", "--db", str(db), cwd=tmp_path)
    assert "0 changes" not in proc.stdout
    assert not any(s.get("title") == "profile" for s in _sources(db))
