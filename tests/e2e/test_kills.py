"""kill -9 at seeded random points, then --resume until done: nothing lost, nothing doubled; and
SIGTERM, which must stop a crawl as gracefully as Ctrl-C."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from e2e_helpers import CLI, FAST, crawl_env, run_cli, start_crawl
from hostile_server import kill_group

from newsarchive.demo import DemoServer

pytestmark = pytest.mark.e2e

ARTICLES = 30
# Slow enough that a kill lands mid-crawl; small commits so some work is in the archive.
SLOW = ["-s", "DOWNLOAD_DELAY=0.05", "-s", "DOWNLOAD_DELAY_JITTER=0"]
SLOW += ["-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "NEWSARCHIVE_COMMIT_EVERY=3"]


def _articles(db: Path) -> list[tuple[str, str]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return sorted(conn.execute("SELECT url, body FROM articles"))
    except sqlite3.OperationalError:  # killed before the schema was written
        return []
    finally:
        conn.close()


def _crawl(server: DemoServer, db: Path, *, resume: bool = True) -> subprocess.Popen:
    resumed = ["--resume"] if resume else []
    return start_crawl(server, db, *resumed, *FAST, *SLOW, own_group=True)


def _until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def server():
    with DemoServer(articles=ARTICLES) as s:
        yield s


@pytest.fixture(scope="module")
def reference(server: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> list:
    db = tmp_path_factory.mktemp("ref") / "ref.db"
    run_cli("crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST, cwd=db.parent)
    return _articles(db)


def _sigterm_mid_crawl(server: DemoServer, db: Path, *, resume: bool) -> tuple[int, str, str]:
    """A crawl SIGTERMed once it has archived 6 articles: (exit status, stdout, stderr)."""
    proc = _crawl(server, db, resume=resume)
    assert _until(lambda: len(_articles(db)) >= 6 or proc.poll() is not None, 40)
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        kill_group(proc.pid)
    return proc.returncode, out, err


def test_kill_9_at_random_points_then_resume(server: DemoServer, reference: list, tmp_path: Path):
    rng = random.Random(20231207)
    db = tmp_path / "killed.db"
    # After the first commit, mid-crawl, near the end (as fractions of the articles archived).
    points = [1, rng.randint(ARTICLES // 3, ARTICLES // 2), rng.randint(ARTICLES - 8, ARTICLES - 3)]
    survived = []
    for target in points:
        proc = _crawl(server, db)
        _until(lambda t=target, p=proc: len(_articles(db)) >= t or p.poll() is not None, 40)
        # A kill only counts when it landed on a running crawl.
        killed = proc.poll() is None
        if killed:
            kill_group(proc.pid)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        if killed:
            survived.append((target, len(_articles(db))))
    assert len(survived) == len(points), f"kill points not reached: {survived}"
    for _ in range(3):  # --resume until done
        if len(_articles(db)) == len(reference):
            break
        proc = run_cli(
            "crawl",
            "demo",
            "--base-url",
            server.base_url,
            "--db",
            str(db),
            "--resume",
            *FAST,
            cwd=tmp_path,
        )
        assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    got = _articles(db)
    assert [u for u, _ in got] == [u for u, _ in reference], "articles lost or added"
    assert got == reference, "bodies differ from the uninterrupted crawl"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    counts = [n for (n,) in conn.execute("SELECT fetch_count FROM articles")]
    conn.close()
    assert set(counts) == {1}, "an article was archived twice"


def test_sigterm_stops_gracefully_then_resume(server: DemoServer, reference: list, tmp_path: Path):
    db = tmp_path / "term.db"
    status, out, err = _sigterm_mid_crawl(server, db, resume=True)
    assert status not in (0, None), "a stopped crawl must not say it finished"
    assert "Traceback" not in out + err, err[-3000:]
    assert "run again with --resume to continue it" in err.splitlines()[-1]
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    runs = list(conn.execute("SELECT finished FROM crawl_runs"))
    conn.close()
    assert runs and all(finished for (finished,) in runs), "the run row was never finished"
    resumed = run_cli(
        "crawl",
        "demo",
        "--base-url",
        server.base_url,
        "--db",
        str(db),
        "--resume",
        *FAST,
        cwd=tmp_path,
    )
    assert "Traceback" not in resumed.stdout + resumed.stderr, resumed.stderr[-3000:]
    assert _articles(db) == reference


def test_a_crawl_without_resume_stopped_says_to_run_it_again(
    server: DemoServer, reference: list, tmp_path: Path
):
    # No job state was kept, so --resume has nothing to continue: the advice is a new crawl,
    # which skips what the stopped one archived.
    db = tmp_path / "plain.db"
    status, _out, err = _sigterm_mid_crawl(server, db, resume=False)
    assert status == 1
    assert err.splitlines()[-1] == (
        "Error: a crawl did not finish (shutdown); what it stored is kept: run it again to go on "
        "(archived articles are not fetched again)"
    )
    kept = len(_articles(db))
    again = run_cli(
        "crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST, cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert _articles(db) == reference
    assert f"{kept} archived articles skipped" in again.stdout or kept == 0, again.stdout


# Ctrl-C while Scrapy builds the crawler, before its reactor runs (and before Scrapy's own
# handlers are in place): Python raises KeyboardInterrupt there. Simulated where it lands, in the
# spider's construction, so that the test does not depend on when a signal arrives.
INTERRUPTED_WHILE_SETTING_UP = """
import sys
from newsarchive.spiders.portal import PortalSpider
from newsarchive.cli import cli

def interrupted(*args, **kwargs):
    raise KeyboardInterrupt

PortalSpider.from_crawler = classmethod(interrupted)
cli(sys.argv[1:])
"""


def test_ctrl_c_while_the_crawl_is_set_up_ends_it(server: DemoServer, tmp_path: Path):
    db = tmp_path / "setup.db"
    cmd = ["crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST]
    proc = subprocess.Popen(
        [CLI[0], "-c", INTERRUPTED_WHILE_SETTING_UP, *cmd],
        cwd=tmp_path,
        env=crawl_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError("the crawl never ended: its reactor ran with nothing to do") from None
    finally:
        kill_group(proc.pid)
    assert proc.returncode == 1
    assert "Traceback" not in err, err[-3000:]
    assert err.splitlines()[-1].startswith("Error: a crawl did not finish (stopped)")


def _runs(db: Path) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT id, finish_reason, finished IS NOT NULL, pages_fetched, owner "
            "FROM crawl_runs ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def _health(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "health", "--db", str(db)],
        cwd=db.parent,
        env=crawl_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_run_killed_with_its_process_is_said_by_health_and_ended_as_died(
    server: DemoServer, tmp_path: Path
):
    db = tmp_path / "died.db"
    proc = _crawl(server, db, resume=False)
    try:
        assert _until(lambda: len(_articles(db)) >= 6 or proc.poll() is not None, 40)
        assert proc.poll() is None, "the crawl ended before the kill"
    finally:
        kill_group(proc.pid)
        proc.wait(timeout=30)
    assert _until(lambda: _runs(db)[0][4] is not None, 5)
    [(killed, reason, finished, _, owner)] = _runs(db)
    assert (reason, finished) == (None, False)  # the row alone cannot tell: it looks unfinished

    # health tells it at once, before anything has ended the run: one line, exit status 1.
    said = _health(db)
    assert said.returncode == 1, said.stdout + said.stderr
    [line] = [line for line in said.stderr.splitlines() if ": died " in line]
    assert (
        f"({owner.partition(' ')[0]}) gone before it finished" in line and f"(run {killed})" in line
    )

    # The next crawl ends it as died, at its last page, with the pages it stored; and the
    # command that ran that next crawl still says it (a cron mail carries it once).
    run_cli("crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST, cwd=tmp_path)
    (_, reason, finished, fetched, _), (_, next_reason, *_) = _runs(db)
    assert (reason, finished, next_reason) == ("died", True, "finished")
    assert fetched >= 6
    said = _health(db)
    assert said.returncode == 1 and "died a run that finishes -> " in said.stderr
    # One complete run later the site is well again.
    run_cli("crawl", "demo", "--base-url", server.base_url, "--db", str(db), *FAST, cwd=tmp_path)
    said = _health(db)
    assert said.returncode == 0 and " died " not in said.stderr, said.stderr
