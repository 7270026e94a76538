"""End to end: the project deployed to a real scrapyd with `scrapyd-deploy`, the portal spider
scheduled through scrapyd's HTTP API, as the README's "Deploying to scrapyd" says.

scrapyd runs on 127.0.0.1 in a temporary directory with its own configuration; `scrapyd-deploy`
builds the egg from the repository's own scrapy.cfg and pyproject.toml (only the target URL comes
from a user-level scrapy.cfg in a temporary HOME); the job crawls the demo portal on loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e_helpers import FAST, articles, crawl_env, free_port

from newsarchive import __version__
from newsarchive.demo import DemoServer
from newsarchive.demo.check import audit
from newsarchive.storage import Archive
from newsarchive.storage.queries import article_rows

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]
CONTACT = crawl_env()["NEWSARCHIVE_CONTACT"]  # scrapyd gets it; its jobs must see it
START_TIMEOUT = 30
JOB_TIMEOUT = 90


@dataclass
class Scrapyd:
    url: str
    root: Path
    env: dict[str, str]
    output: Path

    def get(self, endpoint: str, **params: str) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{endpoint}{query}", timeout=10) as response:
            return json.load(response)

    def post(self, endpoint: str, params: list[tuple[str, str]]) -> dict:
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(f"{self.url}{endpoint}", data=data, timeout=10) as response:
            return json.load(response)

    def text(self, path: str) -> str:
        with urllib.request.urlopen(urllib.parse.urljoin(self.url, path), timeout=10) as response:
            return response.read().decode("utf-8", "replace")

    def log_tail(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")[-3000:]


def _tool(name: str) -> str:
    """A console script of this environment (the venv's bin need not be on PATH)."""
    script = Path(sys.executable).with_name(name)
    found = str(script) if script.exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install -e '.[test]'"
    return found


@pytest.fixture
def scrapyd(tmp_path: Path) -> Iterator[Scrapyd]:
    root = tmp_path / "scrapyd"
    home = tmp_path / "home"  # no user-level scrapyd.conf, scrapy.cfg or .netrc of the developer's
    root.mkdir()
    home.mkdir()
    port = free_port()
    (root / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        "bind_address = 127.0.0.1\n"
        f"http_port = {port}\n"
        f"eggs_dir = {root / 'eggs'}\n"
        f"logs_dir = {root / 'logs'}\n"
        f"dbs_dir = {root / 'dbs'}\n"
        "items_dir =\n"
        "poll_interval = 0.2\n",
        encoding="utf-8",
    )
    env = crawl_env()  # NEWSARCHIVE_CONTACT set: the jobs inherit scrapyd's environment
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    output = root / "scrapyd.out"
    with open(output, "wb") as out:
        # Its own session: at the end, whatever scrapyd started goes with it.
        proc = subprocess.Popen(
            [sys.executable, "-m", "scrapyd"],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Scrapyd(f"http://127.0.0.1:{port}/", root, env, output)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, f"scrapyd exited ({proc.returncode}):\n{server.log_tail()}"
            try:
                if server.get("daemonstatus.json")["status"] == "ok":
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, f"scrapyd did not answer:\n{server.log_tail()}"
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with contextlib.suppress(ProcessLookupError):  # a job left running, and its workers
            os.killpg(proc.pid, signal.SIGKILL)


def _deploy(scrapyd: Scrapyd, version: str) -> dict:
    """`scrapyd-deploy e2e -v VERSION` from the repository root, the target URL from a user-level
    scrapy.cfg (the project name comes from the repository's own [deploy] section)."""
    config = Path(scrapyd.env["XDG_CONFIG_HOME"]) / "scrapy.cfg"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"[deploy:e2e]\nurl = {scrapyd.url}\n", encoding="utf-8")
    proc = subprocess.run(
        [_tool("scrapyd-deploy"), "e2e", "-v", version],
        cwd=REPO,
        env=scrapyd.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"deploy failed:\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout)


def _wait_finished(scrapyd: Scrapyd, job: str) -> dict:
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline:
        jobs = scrapyd.get("listjobs.json", project="newsarchive")
        finished = [j for j in jobs["finished"] if j["id"] == job]
        if finished:
            return finished[0]
        time.sleep(0.25)
    pytest.fail(f"job {job} not finished after {JOB_TIMEOUT} s: {jobs}\n{scrapyd.log_tail()}")


def test_deployed_to_scrapyd_the_portal_spider_archives_the_demo_portal(
    scrapyd: Scrapyd, tmp_path: Path
) -> None:
    reply = _deploy(scrapyd, "e2e-1")
    assert reply["status"] == "ok", reply
    assert (reply["project"], reply["version"], reply["spiders"]) == ("newsarchive", "e2e-1", 1)
    assert scrapyd.get("listprojects.json")["projects"] == ["newsarchive"]
    assert scrapyd.get("listspiders.json", project="newsarchive")["spiders"] == ["portal"]
    assert scrapyd.get("listversions.json", project="newsarchive")["versions"] == ["e2e-1"]

    # The egg scrapyd stored: the Scrapy entry point, every module, the package data.
    with zipfile.ZipFile(scrapyd.root / "eggs" / "newsarchive" / "e2e-1.egg") as egg:
        names = set(egg.namelist())
        entry_points = egg.read("EGG-INFO/entry_points.txt").decode()
    assert "[scrapy]\nsettings = newsarchive.settings" in entry_points
    # Everything under newsarchive/: modules, profiles, templates, Datasette metadata.
    shipped = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "newsarchive").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
    }
    assert {"newsarchive/settings.py", "newsarchive/sites/demo.toml"} <= shipped
    assert shipped <= names, sorted(shipped - names)

    db = tmp_path / "archive" / "demo.db"
    db.parent.mkdir()
    with DemoServer() as server:
        params = [("project", "newsarchive"), ("spider", "portal")]
        params += [("site", "demo"), ("base_url", server.base_url), ("db", str(db))]
        params += [("setting", value) for value in FAST[1::2]]  # no politeness delay on loopback
        scheduled = scrapyd.post("schedule.json", params)
        assert scheduled["status"] == "ok", scheduled
        job = _wait_finished(scrapyd, scheduled["jobid"])
        requests = list(server.requests)
        site = server.portal

    log = scrapyd.text(job["log_url"])
    assert "Traceback" not in log, log[-5000:]
    assert "'finish_reason': 'finished'" in log, log[-3000:]

    rows = articles(db)
    assert {urllib.parse.urlsplit(r["url"]).path for r in rows} == {a.path for a in site.articles}
    assert len(rows) == len(site.articles) == 60
    with Archive(db, create=False) as archive:
        report = audit(article_rows(archive), site)
        runs = list(archive.db.query("SELECT * FROM crawl_runs"))
    assert report.problems == {} and report.complete == 60
    assert len(runs) == 1 and runs[0]["site"] == "demo" and runs[0]["finished"]
    assert runs[0]["articles_new"] == 60
    # The job ran with the deployed settings and scrapyd's environment (the contact URL).
    assert "/robots.txt" in {r.path for r in requests}
    assert {r.user_agent for r in requests} == {f"newsarchive/{__version__} (+{CONTACT})"}
