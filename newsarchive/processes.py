"""Processes named by host and pid: whether one that left its mark (a shared crawl's writer
claim, a worker's id, a crawl run's owner) is still there."""

from __future__ import annotations

import os
import socket


def this_process() -> str:
    """ "host:pid" of this process, as a crawl run's owner is recorded."""
    return f"{socket.gethostname()}:{os.getpid()}"


def alive_here(host: str, pid: str) -> bool | None:
    """Whether process `pid` of `host` is there when `host` is this machine; None for another
    machine's (or no pid), which only its heartbeat tells of. A zombie is gone: a process
    killed stays one until its parent waits for it, which a container's first process (no
    init) or a killed crawl's parent may never do."""
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's: there
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # "pid (command) state ...": the command may hold spaces and parentheses.
            state = stat.read().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):  # no /proc (not Linux), or gone since
        return True
    return state != b"Z"


def owner_alive(owner: str) -> bool | None:
    """alive_here of a "host:pid" written by this_process()."""
    host, _, pid = owner.rpartition(":")
    return alive_here(host, pid)
