"""`newsarchive run` (several sites, `jobs` at a time) when the disk under the archive fills up:
once the archive cannot be written no further crawl starts, every site affected is one `Error:`
line (the same in `--json`), the exit status is 1, what was stored stays whole, and the next run
with room crawls the rest. The disk is "filled" by a file size limit (RLIMIT_FSIZE) on the run,
which its crawls inherit (e2e_helpers.run_on_small_disk)."""

from __future__ import annotations

import json
import re
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_helpers import crawl_env, run_on_small_disk

from newsarchive.demo import DemoServer
from newsarchive.storage import Archive, default_pages_path

pytestmark = pytest.mark.e2e

RUN = [sys.executable, "-m", "newsarchive", "run"]
NAMES = ("alpha", "beta", "gamma")
ARTICLES = 100
# The archive is made before the run (a new one needs ~1.3 MB of WAL while it is made); with
# this limit on each file, the WAL is full after some of the first site's articles.
SMALL_DISK = 900_000
# Not even the -shm a reader of the archive needs (32 kB) fits.
NO_ROOM = 20_000


@pytest.fixture(scope="module")
def servers():
    demos = [DemoServer(articles=ARTICLES, seed=seed).start() for seed in (11, 12, 13)]
    yield dict(zip(NAMES, demos, strict=True))
    for demo in demos:
        demo.stop()


@pytest.fixture
def plan(servers: dict[str, DemoServer], tmp_path: Path) -> Path:
    for demo in servers.values():
        demo.clear_log()
    path = tmp_path / "newsarchive.toml"
    write_plan(path, servers, jobs=1)
    (tmp_path / "archive").mkdir()
    with Archive(archive_db(path)):
        pass
    return path


def write_plan(path: Path, servers: dict[str, DemoServer], *, jobs: int) -> None:
    entries = "".join(
        f'[[sites]]\nname = "{name}"\nsite = "{demo.base_url}"\nevery = "6h"\n\n'
        for name, demo in servers.items()
    )
    path.write_text(
        f'db = "archive/archive.db"\ncontact = "https://example.org/lab"\njobs = {jobs}\n\n'
        "[settings]\nDOWNLOAD_DELAY = 0\nAUTOTHROTTLE_ENABLED = false\n"
        f"CONCURRENT_REQUESTS_PER_DOMAIN = 8\n\n{entries}",
        encoding="utf-8",
    )


def archive_db(plan: Path) -> Path:
    return plan.parent / "archive" / "archive.db"


def run(plan: Path, limit: int | None, *args: str) -> subprocess.CompletedProcess[str]:
    return run_on_small_disk([*RUN, "--plan", str(plan), *args], Path("/"), limit)


def error_lines(stderr: str) -> list[str]:
    """The run's `Error:` lines: nothing else on stderr, no traceback."""
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert all(line.startswith("Error: ") for line in lines), stderr[-3000:]
    return [line.removeprefix("Error: ") for line in lines]


def stored(plan: Path) -> dict[str, int]:
    """Articles per site in the archive, after checking its integrity."""
    with sqlite3.connect(archive_db(plan)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return dict(conn.execute("SELECT site, count(*) FROM articles GROUP BY site"))


def new_articles(summary: str) -> int:
    return int(re.search(r"articles (\d+) new", summary)[1])


def test_a_disk_full_in_the_first_site_starts_no_more_crawls(
    servers: dict[str, DemoServer], plan: Path
) -> None:
    first = run(plan, SMALL_DISK, "--json")
    assert first.returncode == 1, first.stderr[-3000:]
    errors = error_lines(first.stderr)
    db = archive_db(plan)
    assert errors[0].startswith(f"alpha: {db}: cannot write: ")
    assert "the crawl of alpha stopped" in errors[0]
    # The sites after it are not crawled (not even started: no request), one line each.
    for name, line in zip(("beta", "gamma"), errors[1:], strict=True):
        assert line.startswith(f"{name}: not crawled: {db}: cannot write: ")
        assert line.endswith("the next run crawls it once there is room")
        assert servers[name].requested_paths() == []
    assert len(errors) == 3
    report = json.loads(first.stdout)
    assert report["problems"] == errors  # --json says what stderr says
    alpha, beta, gamma = report["sites"]
    assert alpha["status"] == "failed" and alpha["finish_reason"] == "archive_unwritable"
    assert [beta["status"], gamma["status"]] == ["not-started", "not-started"]
    # What the crawl said it stored is what the archive holds.
    # (Under load the first batch can outgrow the disk before its commit: then none is kept.)
    kept = new_articles(alpha["summary"])
    assert stored(plan) == ({"alpha": kept} if kept else {}) and kept < ARTICLES
    assert servers["alpha"].requested_paths()  # it stopped mid-crawl, not before it

    # Room again (and two crawls at a time): the next run crawls exactly what is missing.
    write_plan(plan, servers, jobs=2)
    second = run(plan, None, "--json")
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stderr == ""
    report = json.loads(second.stdout)
    assert [site["status"] for site in report["sites"]] == ["crawled"] * 3
    assert new_articles(report["sites"][0]["summary"]) == ARTICLES - kept
    assert stored(plan) == dict.fromkeys(NAMES, ARTICLES)


def test_two_crawls_at_a_time_stop_and_the_third_is_not_started(
    servers: dict[str, DemoServer], plan: Path
) -> None:
    write_plan(plan, servers, jobs=2)
    first = run(plan, SMALL_DISK)
    assert first.returncode == 1, first.stderr[-3000:]
    errors = error_lines(first.stderr)
    db = archive_db(plan)
    # One line per site: the two running crawls stop (or, when the other one filled the disk
    # first, do not start), the third is not started.
    assert [line.split(": ")[0] for line in errors] == list(NAMES)
    for line in errors[:2]:
        assert f"{db}: cannot write: " in line and re.search(r"stopped|did not start", line)
    assert errors[2].startswith(f"gamma: not crawled: {db}: cannot write: ")
    assert servers["gamma"].requested_paths() == []
    # The stdout summary of each crawl is what the archive holds.
    out = dict(line.split(": ", 1) for line in first.stdout.splitlines())
    assert out["gamma"] == "not crawled"
    kept = {name: new_articles(out[name]) for name in ("alpha", "beta")}
    # (Two crawls fill one WAL: under load neither may have committed before it is full.)
    assert stored(plan) == {name: count for name, count in kept.items() if count}


def test_a_disk_full_between_sites(servers: dict[str, DemoServer], plan: Path) -> None:
    """The first site is crawled with room to spare; the disk is full when it ends (the
    limit is put on the run once the first crawl has started, so only later crawls and the
    run itself meet it): the run still reads the archive for the first site's health check
    (nothing is left in its -wal), the second crawl does not start, the third is not tried."""
    run_process = subprocess.Popen(
        [*RUN, "--plan", str(plan)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=crawl_env(),
        cwd="/",
    )
    try:
        deadline = time.monotonic() + 60
        while not servers["alpha"].requested_paths():
            assert time.monotonic() < deadline and run_process.poll() is None
            time.sleep(0.02)
        resource.prlimit(run_process.pid, resource.RLIMIT_FSIZE, (NO_ROOM, NO_ROOM))
        out, err = run_process.communicate(timeout=120)
    finally:
        run_process.kill()
    assert run_process.returncode == 1, err[-3000:]
    errors = error_lines(err)
    db = archive_db(plan)
    assert len(errors) == 2, err
    assert errors[0].startswith(f"beta: {db}: cannot write: ") and "did not start" in errors[0]
    assert errors[1].startswith(f"gamma: not crawled: {db}: cannot write: ")
    assert servers["beta"].requested_paths() == [] == servers["gamma"].requested_paths()
    assert out.splitlines()[0].startswith("alpha: ") and "finished" in out.splitlines()[0]
    assert out.splitlines()[-1] == "gamma: not crawled"
    assert stored(plan) == {"alpha": ARTICLES}


def test_a_run_on_a_full_disk_starts_nothing_and_changes_nothing(
    servers: dict[str, DemoServer], plan: Path
) -> None:
    db = archive_db(plan)
    before = (db.read_bytes(), default_pages_path(db).read_bytes())
    # The health check alone, first: the archive was closed cleanly, so reading it has to make
    # its -shm again, which the full disk refuses; with nothing in a -wal, the main file is
    # read as it is.
    health = [sys.executable, "-m", "newsarchive", "health", "--plan", str(plan)]
    checked = run_on_small_disk(health, Path("/"), NO_ROOM)
    assert checked.returncode == 0, checked.stderr
    assert "no alarm" in checked.stdout and not error_lines(checked.stderr)
    for args in (("--json",), ()):
        refused = run(plan, NO_ROOM, *args)
        assert refused.returncode == 1, refused.stderr[-3000:]
        errors = error_lines(refused.stderr)
        if args:  # a report all the same, saying what stderr says
            assert json.loads(refused.stdout)["problems"] == errors
        assert [line.split(": not crawled: ")[0] for line in errors] == list(NAMES)
        assert all(f"not crawled: {db}: cannot write: " in line for line in errors)
    assert all(demo.requested_paths() == [] for demo in servers.values())
    assert (db.read_bytes(), default_pages_path(db).read_bytes()) == before


def test_a_full_disk_under_an_archive_still_readable_starts_no_crawl(
    servers: dict[str, DemoServer], plan: Path
) -> None:
    """A reader elsewhere (Datasette, say) keeps the archive's -shm: the run can read which
    sites are due, but nothing can be written, not even the note in its lock file."""
    db = archive_db(plan)
    readers = [sqlite3.connect(path) for path in (db, default_pages_path(db))]
    try:
        for reader in readers:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
        refused = run(plan, 10, "--json")  # not even the lock's note (~80 bytes) fits
    finally:
        for reader in readers:
            reader.close()
    assert refused.returncode == 1, refused.stderr[-3000:]
    errors = error_lines(refused.stderr)
    assert errors == json.loads(refused.stdout)["problems"]
    assert [line.split(": not crawled: ")[0] for line in errors] == list(NAMES)
    assert all(f"not crawled: {db}: cannot write: " in line for line in errors)
    assert all(demo.requested_paths() == [] for demo in servers.values())
    assert stored(plan) == {}
