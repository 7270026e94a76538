"""A crawl process that exits without closing its worker processes still exits, and takes them
with it (found by the soak fuzzer: SIGTERM while a crawl started left it, and the `newsarchive
run` waiting for it, hanging for ever)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

# Starts a worker the way the crawl's pipelines do, then leaves without closing it: what a stop
# signal does when it comes after the pipelines opened and before Scrapy crawls.
LEAVES_A_WORKER = """
from newsarchive.workers import WorkerProcess
worker = WorkerProcess("newsarchive-test")
print(worker.process.pid, flush=True)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of an exited parent is reaped by init in a moment; /proc says which it is.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_process_leaving_an_open_worker_exits_and_the_worker_ends() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", LEAVES_A_WORKER],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError("the process never exited: waiting for its worker") from None
    assert proc.returncode == 0, err[-2000:]
    worker_pid = int(out.split()[0])
    deadline = time.monotonic() + 10
    while _alive(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker_pid), "the worker outlived the crawl process"
