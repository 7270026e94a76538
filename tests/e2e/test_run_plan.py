"""`newsarchive run` from a plan file, as cron calls it: sites crawled in parallel, a second run
that contacts nothing, an overlapping run refused, a killed run's lock taken over, and the
health alarm a portal redesign fires."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from e2e_helpers import crawl_env

from newsarchive.demo import DemoServer

pytestmark = pytest.mark.e2e

RUN = [sys.executable, "-m", "newsarchive", "run"]
TIMEOUT = 180


def write_plan(path: Path, sites: dict[str, str], *, delay: float = 0, every: str = "6h") -> None:
    entries = "".join(
        f'[[sites]]\nname = "{name}"\nsite = "{url}"\nevery = "{every}"\n\n'
        for name, url in sites.items()
    )
    path.write_text(
        'db = "archive/archive.db"\ncontact = "https://example.org/lab"\njobs = 2\n\n'
        f"[settings]\nDOWNLOAD_DELAY = {delay}\nAUTOTHROTTLE_ENABLED = false\n\n{entries}",
        encoding="utf-8",
    )
    (path.parent / "archive").mkdir(exist_ok=True)


def run(plan: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RUN, "--plan", str(plan), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=crawl_env(),
        cwd="/",  # the plan's relative paths are the plan file's, not the working directory's
    )


def start_run(plan: Path) -> subprocess.Popen[str]:
    """`newsarchive run -q` in the background, in a process group of its own."""
    return subprocess.Popen(
        [*RUN, "--plan", str(plan), "-q"],
        env=crawl_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@contextlib.contextmanager
def run_under_way(plan: Path, server: DemoServer, requests: int) -> Iterator[subprocess.Popen]:
    """`newsarchive run -q` in the background, once its crawl has made `requests` requests; its
    process group killed at the end, whatever happened."""
    proc = start_run(plan)
    try:
        wait_for_lock(plan)
        deadline = time.monotonic() + 60
        while len(server.requests) < requests and time.monotonic() < deadline:
            time.sleep(0.05)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def archived_urls(plan: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{plan.parent / 'archive' / 'archive.db'}?mode=ro", uri=True)
    urls = [u for (u,) in conn.execute("SELECT url FROM articles")]
    conn.close()
    return urls


def runs(plan: Path) -> list[dict]:
    conn = sqlite3.connect(f"file:{plan.parent / 'archive' / 'archive.db'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM crawl_runs ORDER BY id")]
    conn.close()
    return rows


def wait_for_lock(plan: Path, seconds: float = 30) -> dict:
    lock = plan.parent / "archive" / "archive.run.lock"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if lock.exists() and lock.read_text().strip():
            return json.loads(lock.read_text())
        time.sleep(0.1)
    raise AssertionError("the run never took its lock")


def test_two_sites_in_parallel_then_a_run_that_contacts_nothing(tmp_path: Path) -> None:
    plan = tmp_path / "newsarchive.toml"
    with DemoServer(articles=20) as alpha, DemoServer(articles=15, seed=7) as beta:
        write_plan(plan, {"alpha": alpha.base_url, "beta": beta.base_url}, delay=0.02)
        first = run(plan, "--json")
        assert first.returncode == 0, first.stderr[-3000:]
        report = json.loads(first.stdout)
        assert [s["status"] for s in report["sites"]] == ["crawled", "crawled"]
        rows = runs(plan)
        assert sorted(r["site"] for r in rows) == ["alpha", "beta"]
        # Both at once (jobs = 2): each started before the other finished.
        assert (
            rows[0]["started"] <= rows[1]["finished"] and rows[1]["started"] <= rows[0]["finished"]
        )
        for row in rows:
            entry = json.loads(row["plan_entry"])
            assert entry["name"] == row["site"] and entry["every"] == "6h"
            assert row["version"] and row["finish_reason"] == "finished"
            assert json.loads(row["fill_rates"])["title"] == 100.0
            assert json.loads(row["page_kinds"])["article"] >= 15

        fetched = len(alpha.requests) + len(beta.requests)
        second = run(plan, "-q")
        assert second.returncode == 0, second.stderr
        assert second.stdout == "" and second.stderr == ""  # quiet: nothing to say
        assert len(alpha.requests) + len(beta.requests) == fetched, "a site not due was contacted"
        assert len(runs(plan)) == 2


def test_a_site_that_names_nothing_fails_alone_in_one_error_line(tmp_path: Path) -> None:
    plan = tmp_path / "newsarchive.toml"
    with DemoServer(articles=10) as server:
        write_plan(plan, {"typo": "detik.com", "portal": server.base_url})
        proc = run(plan)
    assert proc.returncode == 1
    # The other site is crawled; the bad one's line ends where its crawl did (no empty ": ").
    assert "portal: crawled (run 1) in " in proc.stdout, proc.stdout
    typo = [line for line in proc.stdout.splitlines() if line.startswith("typo:")]
    assert len(typo) == 1 and typo[0].startswith("typo: failed in ") and typo[0].endswith("s")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        "Error: typo: unknown site 'detik.com' (packaged profiles: demo); to crawl a site by "
        "its address, give its URL: https://detik.com/"
    ], proc.stderr


def test_an_overlapping_run_is_refused_and_a_killed_runs_lock_taken_over(tmp_path: Path) -> None:
    plan = tmp_path / "newsarchive.toml"
    with DemoServer(articles=30) as server:
        write_plan(plan, {"slow": server.base_url}, delay=0.1)
        first = start_run(plan)
        holder = wait_for_lock(plan)
        assert holder["pid"] == first.pid
        refused = run(plan)
        assert refused.returncode == 75
        [line] = refused.stderr.strip().splitlines()
        assert line.startswith("Error:") and "another run is in progress" in line
        assert f"pid {first.pid}" in line and holder["since"] in line
        # Under cron (-q) a crawl still going at the next call is no news to mail.
        quiet = run(plan, "-q")
        assert (quiet.returncode, quiet.stdout, quiet.stderr) == (75, "", "")

        # kill -9 the whole run (a crash): its lock must not block the next run.
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        taken = run(plan)
        assert f"took over the lock of a run that is gone (pid {first.pid}" in taken.stderr
        # A crawl that had begun its run row died with it: this run, which ended that row so,
        # says it (exit 1). Killed before it began one, nothing of it is left to say.
        errors = [line for line in taken.stderr.splitlines() if line.startswith("Error:")]
        if any(r["finish_reason"] == "died" for r in runs(plan)):
            assert taken.returncode == 1 and len(errors) == 1, taken.stderr[-3000:]
            assert errors[0].startswith("Error: slow: died ")
        else:
            assert taken.returncode == 0 and errors == [], taken.stderr[-3000:]
        # The killed run never finished, so the site was still due and is now crawled.
        done = [r for r in runs(plan) if r["finish_reason"] == "finished"]
        assert len(done) == 1
        urls = archived_urls(plan)
        assert len(urls) == len(set(urls)) >= 30


def test_a_stopped_run_says_so_in_one_line_and_the_next_run_crawls_the_site(
    tmp_path: Path,
) -> None:
    # systemd stopping the service, `timeout`, or a `kill` of the run: its crawl stops, and the
    # line cron mails says that, not the crawl's own advice to `--resume`.
    plan = tmp_path / "newsarchive.toml"
    with DemoServer(articles=30) as server:
        write_plan(plan, {"slow": server.base_url}, delay=0.1)
        with run_under_way(plan, server, requests=5) as first:
            first.send_signal(signal.SIGTERM)
            _out, err = first.communicate(timeout=60)
        assert first.returncode == 1
        assert err.splitlines() == [
            "Error: slow: stopped before the crawl finished (the run was stopped, SIGTERM); "
            "what it stored is kept, and the next run crawls the site again"
        ], err[-3000:]
        again = run(plan)
        assert again.returncode == 0, again.stderr[-3000:]
        urls = archived_urls(plan)
        assert len(urls) == len(set(urls)) >= 30


def test_a_run_killed_alone_takes_its_crawl_with_it(tmp_path: Path) -> None:
    # `kill -9` of the run's pid alone: its crawl must not go on without the run's lock, beside
    # the crawl of the same site the next run would start. It stops as gracefully as on SIGTERM.
    plan = tmp_path / "newsarchive.toml"
    with DemoServer(articles=30) as server:
        write_plan(plan, {"slow": server.base_url}, delay=0.3)
        with run_under_way(plan, server, requests=3) as first:
            first.kill()
            first.communicate(timeout=30)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (runs(plan) and runs(plan)[-1]["finished"]):
                time.sleep(0.1)
            fetched = len(server.requests)
            time.sleep(1)
            assert len(server.requests) == fetched, "the crawl went on after its run was killed"
        [row] = runs(plan)
        assert row["finish_reason"] == "shutdown"
        # Well short of the site: the crawl stopped, it did not run to its end.
        assert fetched < 30


def test_a_run_holding_the_archive_for_a_day_is_said_even_under_q(tmp_path: Path) -> None:
    plan = tmp_path / "newsarchive.toml"
    write_plan(plan, {"portal": "https://portal.example.id/"})
    lock = plan.parent / "archive" / "archive.run.lock"
    since = (datetime.now(UTC) - timedelta(days=1, hours=2)).isoformat()
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a run that started 26 hours ago and holds it still
        held.write(json.dumps({"pid": 4242, "host": "crawler-1", "since": since}))
        held.flush()
        quiet = run(plan, "-q")
    assert quiet.returncode == 75 and quiet.stdout == ""
    [line] = quiet.stderr.splitlines()
    assert line.startswith("Error:") and "pid 4242 on crawler-1" in line
    assert line.endswith("it has held it for 1d2h: it may be stuck"), line


def test_a_redesign_fires_a_health_alarm(tmp_path: Path) -> None:
    plan = tmp_path / "newsarchive.toml"
    with DemoServer(articles=20) as healthy:
        write_plan(plan, {"portal": healthy.base_url})
        first = run(plan)
        assert first.returncode == 0, first.stderr[-3000:]
        assert "Error" not in first.stderr
    # The same site (same plan entry), redesigned: structured data and bylines gone.
    with DemoServer(articles=20, seed=99, redesign=True) as redesigned:
        write_plan(plan, {"portal": redesigned.base_url})
        second = run(plan, "--force")
    assert second.returncode == 1, second.stdout + second.stderr
    errors = [line for line in second.stderr.splitlines() if line.startswith("Error:")]
    run_id = runs(plan)[-1]["id"]
    assert f"Error: portal: fill-rate:authors 100% -> 0% (run {run_id})" in errors

    health = subprocess.run(
        [sys.executable, "-m", "newsarchive", "health", "--plan", str(plan), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert health.returncode == 1
    alarms = json.loads(health.stdout)
    assert {"site": "portal", "signal": "fill-rate:authors", "run_id": run_id}.items() <= alarms[
        0
    ].items()


def run_after_a_redesign(
    plan: Path, change: Callable[[bytes], bytes]
) -> tuple[subprocess.CompletedProcess[str], int]:
    """A healthy run of the demo portal, then one of the same site with `change` made to every
    article page: the second run's result and its run id."""
    with DemoServer(articles=20) as healthy:
        write_plan(plan, {"portal": healthy.base_url})
        first = run(plan)
        assert first.returncode == 0, first.stderr[-3000:]
    with DemoServer(articles=20, seed=99) as redesigned:
        pages = redesigned.portal.pages
        for article in redesigned.portal.articles:
            status, headers, body = pages[article.path]
            pages[article.path] = (status, headers, change(body))
        write_plan(plan, {"portal": redesigned.base_url})
        second = run(plan, "--force")
    assert second.returncode == 1, second.stdout + second.stderr
    return second, runs(plan)[-1]["id"]


def test_a_redesign_that_loses_the_article_text_fires_a_health_alarm(tmp_path: Path) -> None:
    # The paragraphs gone from every article page (rendered by a script now, say): what is left
    # is a caption or a share bar on some templates (records with a "body" of 30-40 characters),
    # nothing on others (pages kept without a record). Before, neither moved the body's
    # fill-rate (the short bodies counted as filled, the pages without text not at all) and the
    # run said nothing.
    second, run_id = run_after_a_redesign(
        tmp_path / "newsarchive.toml", lambda body: re.sub(rb"<p\b.*?</p>", b"", body, flags=re.S)
    )
    found = re.search(
        rf"Error: portal: fill-rate:body 100% -> (\d+)% \(run {run_id}\)", second.stderr
    )
    assert found, second.stderr
    assert int(found[1]) <= 10  # a page or two keep text outside paragraphs


def without_images_and_tags(body: bytes) -> bytes:
    body = re.sub(rb'<meta property="og:image"[^>]*>|<img\b[^>]*>', b"", body)
    return re.sub(rb'<a [^>]*rel="tag"[^>]*>.*?</a>', b"", body, flags=re.S)


def test_a_redesign_that_loses_the_lead_images_and_tags_fires_a_health_alarm(
    tmp_path: Path,
) -> None:
    # The pictures now come from a script, and the tag list is gone: every other field is as
    # before. Before, the run said nothing (only five fields' rates were watched).
    second, run_id = run_after_a_redesign(tmp_path / "newsarchive.toml", without_images_and_tags)
    errors = {line for line in second.stderr.splitlines() if line.startswith("Error:")}
    assert {
        f"Error: portal: fill-rate:image 100% -> 0% (run {run_id})",
        f"Error: portal: fill-rate:tags 100% -> 0% (run {run_id})",
    } <= errors, second.stderr
    assert not any("fill-rate:authors" in line for line in errors)


def test_schedule_prints_a_crontab_line_and_systemd_units(tmp_path: Path) -> None:
    plan = tmp_path / "newsarchive.toml"
    write_plan(plan, {"a": "https://a.example.id/", "b": "https://b.example.id/"}, every="7h")
    cron = subprocess.run(
        [sys.executable, "-m", "newsarchive", "schedule", "--plan", str(plan), "--cron"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cron.returncode == 0, cron.stderr
    line = cron.stdout.strip()
    # 7 h is no step cron repeats: hourly calls, each site due on every 7th (6-hourly calls
    # crawled them every 12 h).
    assert line.startswith("7 * * * * cd ")
    assert f"run --plan {plan.resolve()} -q" in line
    units = subprocess.run(
        [sys.executable, "-m", "newsarchive", "schedule", "--plan", str(plan), "--systemd"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "OnUnitActiveSec=25200s" in units.stdout
    assert f"WorkingDirectory={plan.resolve().parent}" in units.stdout


def test_a_run_that_fails_again_says_the_site_is_overdue(tmp_path: Path) -> None:
    """The site's last complete run ended two days ago (later ones were killed, or none ran):
    this run fails too, and besides its own failure `run` says no complete run came for three
    of the plan's periods, as `health` says at any time."""
    plan = tmp_path / "newsarchive.toml"
    with DemoServer(articles=6) as server:
        write_plan(plan, {"portal": server.base_url})
        first = run(plan)
        assert first.returncode == 0, first.stderr[-3000:]
    conn = sqlite3.connect(plan.parent / "archive" / "archive.db")
    with conn:
        conn.execute(
            "UPDATE crawl_runs SET started = strftime('%Y-%m-%dT%H:%M:%SZ', started, '-2 days'), "
            "finished = strftime('%Y-%m-%dT%H:%M:%SZ', finished, '-2 days')"
        )
    conn.close()
    down = run(plan)  # the server is gone: connection refused
    assert down.returncode == 1, down.stdout + down.stderr
    errors = [line for line in down.stderr.splitlines() if line.startswith("Error:")]
    overdue = [line for line in errors if " overdue " in line]
    assert len(overdue) == 1, down.stderr
    assert overdue[0].startswith("Error: portal: overdue a complete run every 6h -> none for 2d")
    assert overdue[0].endswith(f"(run {runs(plan)[0]['id']})")
    health = subprocess.run(
        [sys.executable, "-m", "newsarchive", "health", "--plan", str(plan)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert health.returncode == 1 and overdue[0] in health.stderr.splitlines(), health.stderr


def test_the_run_after_a_run_killed_with_its_crawl_says_it_died(tmp_path: Path) -> None:
    """A run killed with its whole process group (the OOM killer, `kill -9`, a reboot) cannot
    say so itself. The next cron `run` ends its crawl's row as died and must say it: before, it
    said only its own crawl's alarms and exited 0, and the kill reached no cron mail."""
    plan = tmp_path / "newsarchive.toml"
    with DemoServer(articles=30) as server:
        write_plan(plan, {"portal": server.base_url}, delay=0.2)
        with run_under_way(plan, server, requests=4):
            pass  # its process group is killed at the end of the block
        [killed] = runs(plan)
        assert killed["finished"] is None
        write_plan(plan, {"portal": server.base_url})
        after = run(plan, "--force")
    assert after.returncode == 1, after.stdout + after.stderr
    errors = [line for line in after.stderr.splitlines() if line.startswith("Error:")]
    died = [line for line in errors if " died " in line]
    assert len(died) == 1, after.stderr
    assert died[0].endswith(f"(run {killed['id']})")
    first, second = runs(plan)
    assert first["finish_reason"] == "died" and second["finish_reason"] == "finished"
    # Said once: the run after that one is quiet again.
    with DemoServer(articles=30) as server:
        write_plan(plan, {"portal": server.base_url})
        quiet = run(plan, "--force")
    assert " died " not in quiet.stderr, quiet.stderr
