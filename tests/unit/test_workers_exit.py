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


# The crawl starts the forkserver before any other thread exists; a stop signal that comes as
# its pipelines then start their workers (Twisted's threads running) must reach its handler.
SIGNALLED_WHILE_WORKERS_START = """
import os, signal, threading, time
from multiprocessing import forkserver
from newsarchive import workers

received = []
signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
workers.start_forkserver()
stop = threading.Event()
threading.Thread(target=stop.wait, daemon=True).start()
real_start = forkserver.ensure_running

def start_then_signalled():
    real_start()
    os.kill(os.getpid(), signal.SIGTERM)  # sent to the process: any thread may take it

forkserver.ensure_running = start_then_signalled
worker = workers.WorkerProcess("newsarchive-test")
deadline = time.monotonic() + 5
while not received and time.monotonic() < deadline:
    time.sleep(0.01)
stop.set()
print(received)
"""


def _printed_by(script: str) -> str:
    """What a Python `script`, run in a process of its own, prints; it must exit 0."""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_a_stop_signal_while_workers_start_reaches_the_process() -> None:
    assert _printed_by(SIGNALLED_WHILE_WORKERS_START).strip() == f"[{int(signal.SIGTERM)}]"


# Ctrl-C and systemd's stop reach every process of the crawl: the forkserver and the workers
# must outlive them (the crawl stops gracefully, then closes its workers).
SIGNALLED_FORKSERVER_AND_WORKER = """
import os, signal, time
from multiprocessing import forkserver
from newsarchive.workers import WorkerProcess

worker = WorkerProcess("newsarchive-test")
server = forkserver._forkserver._forkserver_pid
for pid in (server, worker.process.pid):
    os.kill(pid, signal.SIGTERM)
    os.kill(pid, signal.SIGINT)
time.sleep(0.5)
print(worker.process.is_alive(), open(f"/proc/{server}/stat").read().split()[2] != "Z")
"""


def test_the_forkserver_and_workers_outlive_stop_signals() -> None:
    assert _printed_by(SIGNALLED_FORKSERVER_AND_WORKER).split() == ["True", "True"]
