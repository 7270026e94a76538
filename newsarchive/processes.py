"""Processes named by host and pid: whether one that left its mark (a shared crawl's writer
claim, a worker's heartbeat, a crawl run's owner) is still there."""

from __future__ import annotations

import os
import re
import socket


def _machine() -> str:
    """What else tells this process's pids apart: the boot (a pid of before a reboot is gone
    whatever runs under it now) and the pid namespace (two containers given the same hostname
    each have their own pid 123); "" where Linux's /proc does not say."""
    parts = []
    try:
        with open("/proc/sys/kernel/random/boot_id") as boot:
            parts.append(f"boot {boot.read().strip()[:8]}")
        parts.append(f"pidns {os.readlink('/proc/self/ns/pid').strip('pid:[]')}")
    except OSError:
        return ""
    return ", ".join(parts)


def this_process() -> str:
    """ "host:pid (boot B, pidns N)" of this process, as a crawl run's owner is recorded."""
    machine = _machine()
    return f"{socket.gethostname()}:{os.getpid()}" + (f" ({machine})" if machine else "")


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


_OWNER = re.compile(r"^(?P<host>[^\s:]+):(?P<pid>\d+)(?: \((?P<machine>[^)]*)\))?$")


def owner_alive(owner: str) -> bool | None:
    """alive_here of an owner written by this_process(): False as well for one of this host
    before its last boot, None for one of another pid namespace (or unreadable)."""
    found = _OWNER.match(owner)
    if found is None:
        return None
    machine = found["machine"]
    if machine is not None:
        here = dict(part.split(" ", 1) for part in _machine().split(", ") if " " in part)
        there = dict(part.split(" ", 1) for part in machine.split(", ") if " " in part)
        if found["host"] == socket.gethostname():
            if there.get("pidns") != here.get("pidns"):
                return None  # another container of the same name: its pids are not ours
            if there.get("boot") != here.get("boot"):
                return False  # the machine rebooted since: every process of then is gone
    return alive_here(found["host"], found["pid"])
