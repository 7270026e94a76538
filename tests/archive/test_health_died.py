"""A run whose process is gone before it finished (kill -9, the OOM killer, a reboot): its row
looked unfinished for ever, "running" in Datasette, and health said nothing. Each run now keeps
its owner; a run whose owner is gone from this machine is said by health (`died`) and ended as
"died" by the next run started on the archive."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from archive_fixtures import add_run

from newsarchive.processes import alive_here, owner_alive, this_process
from newsarchive.storage import Archive
from newsarchive.storage.health import health


@pytest.fixture
def gone_process() -> Iterator[str]:
    """ "host:pid" of a process of this machine that was killed and not waited for yet: a
    zombie, as a killed crawl's writer stays when nothing waits for it."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    child.kill()
    # Until the zombie is there (os.kill still reaches it).
    for _ in range(200):
        with open(f"/proc/{child.pid}/stat", "rb") as stat:
            if stat.read().rpartition(b")")[2].split()[0] == b"Z":
                break
        subprocess.run(["sleep", "0.01"], check=True)
    yield f"{socket.gethostname()}:{child.pid}"
    child.wait()


with open("/proc/sys/kernel/random/boot_id") as _boot:
    BOOT = _boot.read()[:8]


def _owned_by(archive: Archive, run_id: int, owner: str) -> None:
    with archive.db.conn:
        archive.db.conn.execute("UPDATE crawl_runs SET owner = ? WHERE id = ?", [owner, run_id])


def _row(archive: Archive, run_id: int) -> tuple:
    return archive.db.execute(
        "SELECT finished, finish_reason, pages_fetched, failures, owner FROM crawl_runs "
        "WHERE id = ?",
        [run_id],
    ).fetchone()


def _signals(archive: Archive) -> list[tuple[str, int]]:
    return [(alarm.signal, alarm.run_id) for alarm in health(archive)]


def test_processes_gone_and_there() -> None:
    host, pid = this_process().split(" ")[0].split(":")
    assert alive_here(host, pid) is True
    assert owner_alive(this_process()) is True
    assert alive_here("another-machine.example", pid) is None


def test_a_zombie_is_gone(gone_process: str) -> None:
    host, _, pid = gone_process.rpartition(":")
    assert alive_here(host, pid) is False


def test_a_run_whose_process_is_gone_is_said_then_ended_as_died(
    tmp_path: Path, gone_process: str
) -> None:
    with Archive(tmp_path / "archive.db") as archive:
        for day in (1, 2, 3):
            add_run(archive, "warta", f"2026-11-0{day}T10:00:00Z", f"2026-11-0{day}T10:05:00Z")
        killed = add_run(archive, "warta", "2026-11-04T10:00:00Z", None)
        archive.record_failure("https://warta.example/a", "timeout", run_id=killed, site="warta")
        (failed_at,) = archive.db.execute("SELECT at FROM failures").fetchone()
        _owned_by(archive, killed, gone_process)
        # Said while the row still looks unfinished; the comparisons skip it.
        assert _signals(archive) == [("died", killed)]
        assert _row(archive, killed)[:2] == (None, None)

        # The next run ends it: at its last trace, with what it did.
        after = add_run(archive, "warta", "2026-11-05T10:00:00Z", "2026-11-05T10:05:00Z")
        assert _row(archive, killed) == (failed_at, "died", 0, 1, gone_process)
        assert _row(archive, after)[4] == this_process()
        assert _signals(archive) == [("died", killed)]  # what that next run's command says
        add_run(archive, "warta", "2026-11-06T10:00:00Z", "2026-11-06T10:05:00Z")
        assert _signals(archive) == []


def test_a_run_of_a_process_still_there_or_of_another_machine_is_left(tmp_path: Path) -> None:
    with Archive(tmp_path / "archive.db") as archive:
        running = add_run(archive, "warta", "2026-11-04T10:00:00Z", None)
        elsewhere = add_run(archive, "kabar", "2026-11-04T10:00:00Z", None)
        _owned_by(archive, elsewhere, "another-machine.example:1")
        # Another container given this machine's hostname: its pids are not this one's.
        container = add_run(archive, "harian", "2026-11-04T10:00:00Z", None)
        host, pid = this_process().split(" ")[0].split(":")
        _owned_by(archive, container, f"{host}:{int(pid) + 999_999} (boot {BOOT}, pidns 12345)")
        add_run(archive, "suara", "2026-11-05T10:00:00Z", None)
        for run_id in (running, elsewhere, container):
            assert _row(archive, run_id)[:2] == (None, None)
        assert _signals(archive) == []


def test_a_run_of_this_machine_before_its_last_boot_died(tmp_path: Path) -> None:
    with Archive(tmp_path / "archive.db") as archive:
        killed = add_run(archive, "warta", "2026-11-04T10:00:00Z", None)
        # The same pid runs now (this process): a reboot since tells it is another one.
        host_pid, machine = this_process().split(" ", 1)
        _owned_by(archive, killed, f"{host_pid} {machine.replace(BOOT, 'b00710ad')}")
        assert _signals(archive) == [("died", killed)]


def test_a_died_run_continued_is_unfinished_again(tmp_path: Path, gone_process: str) -> None:
    with Archive(tmp_path / "archive.db") as archive:
        killed = add_run(archive, "warta", "2026-11-04T10:00:00Z", None)
        _owned_by(archive, killed, gone_process)
        add_run(archive, "kabar", "2026-11-05T10:00:00Z", None)
        assert _row(archive, killed)[1] == "died"
        # A shared crawl's writer resuming it (Redis still holds the crawl).
        archive.reopen_runs([killed])
        assert _row(archive, killed)[:2] == (None, None)
        assert _row(archive, killed)[4] == this_process()
        assert _signals(archive) == []
