"""`newsarchive run`: crawl the plan's sites that are due, `jobs` at a time, then exit.

What cron calls. Each due site is crawled by its own `newsarchive crawl` process (which has its
own extraction and writer processes), so two sites use both cores and one site's crash cannot
take another's down; the archive takes several writers (short transactions, see storage). A site
that is not due is not contacted at all. One run at a time per archive: a lock file beside it,
held with flock, so a run killed with -9 leaves no lock behind (the file's content then only says
whose it was).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from newsarchive.errors import NewsarchiveError
from newsarchive.plan import Plan, PlanSite, format_interval
from newsarchive.storage import Archive
from newsarchive.storage.health import site_alarms
from newsarchive.storage.records import parse_stored_time, utc_now

# A run row counts as "done" for scheduling when the crawl ended by itself.
DONE_REASONS = ("finished", "closespider_pagecount", "max_pages")
# A site whose last run started a little less than `every` ago is due anyway: cron fires on the
# minute, and last time's crawl started a few seconds after its tick.
DUE_TOLERANCE_SHARE = 0.05
DUE_TOLERANCE_MAX = timedelta(minutes=10)
# The exit status when another run holds the archive (EX_TEMPFAIL: try again later).
EXIT_LOCKED = 75


class RunLocked(NewsarchiveError):
    """Another `newsarchive run` holds this archive."""


def lock_path(db: Path) -> Path:
    return db.with_name(db.stem + ".run.lock")


class RunLock:
    """An exclusive lock on an archive for one `run`, with who holds it written inside."""

    def __init__(self, db: Path) -> None:
        self.path = lock_path(db)
        self._handle: IO[str] | None = None
        self.previous: dict[str, Any] | None = None  # a dead holder's note, when taken over

    def acquire(self) -> RunLock:
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_note(handle)
            handle.close()
            who = (
                f"pid {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')}"
                if holder
                else "holder unknown"
            )
            raise RunLocked(f"{self.path}: another run is in progress ({who})") from None
        note = _read_note(handle)
        if note and note.get("pid") != os.getpid():
            self.previous = note  # a run killed before it could clear its note
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": utc_now()})
        )
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.flush()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_note(handle: IO[str]) -> dict[str, Any] | None:
    handle.seek(0)
    text = handle.read().strip()
    if not text:
        return None
    try:
        note = json.loads(text)
    except ValueError:
        return None
    return note if isinstance(note, dict) else None


@dataclass
class SiteOutcome:
    name: str
    status: str  # crawled | failed | not-due
    reason: str = ""  # why due / not due
    run_id: int | None = None
    exit_status: int | None = None
    summary: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    plan: str
    db: str
    started: str
    finished: str = ""
    took_over: dict[str, Any] | None = None
    sites: list[SiteOutcome] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [p for site in self.sites for p in site.problems + site.alarms]

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "db": self.db,
            "started": self.started,
            "finished": self.finished,
            "took_over_lock_of": self.took_over,
            "sites": [vars(site) for site in self.sites],
            "problems": self.problems,
        }


def last_done(archive: Archive, name: str) -> datetime | None:
    """When the last run of plan entry `name` that ended by itself started."""
    placeholders = ", ".join("?" for _ in DONE_REASONS)
    row = archive.db.execute(
        "SELECT max(started) FROM crawl_runs WHERE json_extract(plan_entry, '$.name') = ? "
        f"AND finish_reason IN ({placeholders})",
        [name, *DONE_REASONS],
    ).fetchone()
    return parse_stored_time(row[0]) if row and row[0] else None


def due(entry: PlanSite, last: datetime | None, now: datetime) -> tuple[bool, str]:
    """Is the entry due at `now`, and why (in words for the summary)."""
    if last is None:
        return True, "never crawled"
    tolerance = min(entry.every * DUE_TOLERANCE_SHARE, DUE_TOLERANCE_MAX)
    age = now - last
    ago = format_interval(timedelta(seconds=int(age.total_seconds()) // 60 * 60)) or "0m"
    if age >= entry.every - tolerance:
        return True, f"last run {ago} ago, every {format_interval(entry.every)}"
    return False, f"not due: last run {ago} ago, every {format_interval(entry.every)}"


def crawl_command(plan: Plan, entry: PlanSite) -> list[str]:
    """The `newsarchive crawl` command line for one entry."""
    cmd = [sys.executable, "-m", "newsarchive", "crawl", entry.site, "--db", str(plan.db)]
    cmd += ["--name", entry.name]
    if plan.contact:
        cmd += ["--contact", plan.contact]
    if entry.since:
        cmd += ["--since", entry.since]
    if entry.max_pages:
        cmd += ["--max-pages", str(entry.max_pages)]
    if entry.base_url:
        cmd += ["--base-url", entry.base_url]
    for name, value in {**plan.settings, **entry.settings}.items():
        text = json.dumps(value) if isinstance(value, dict | list) else str(value)
        cmd += ["-s", f"{name}={text}"]
    cmd += ["-s", "NEWSARCHIVE_PLAN_ENTRY=" + json.dumps(entry.entry(), sort_keys=True)]
    return cmd


@dataclass
class _Running:
    entry: PlanSite
    outcome: SiteOutcome
    process: subprocess.Popen[str]
    started: float
    max_run_before: int


def _max_run_id(db: Path) -> int:
    with Archive(db, readonly=True) as archive:
        row = archive.db.execute("SELECT coalesce(max(id), 0) FROM crawl_runs").fetchone()
    return int(row[0])


def run_plan(
    plan: Plan,
    *,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
    progress_seconds: float = 60.0,
    force: bool = False,
) -> RunReport:
    """Crawl every due site of `plan`, `plan.jobs` at a time; returns what happened to each.

    `force`: every site now, due or not. Raises RunLocked when another run holds the archive. `progress` gets a line every
    `progress_seconds` while crawls run (for a log: never a carriage-return line).
    """
    from newsarchive.storage import check_archive

    check_archive(plan.db, for_writing=True)
    report = RunReport(plan=str(plan.path), db=str(plan.db), started=utc_now())
    with RunLock(plan.db) as lock:
        report.took_over = lock.previous
        _ensure_archive(plan.db)
        now = now or datetime.now(UTC)
        waiting: list[PlanSite] = []
        with Archive(plan.db, readonly=True) as archive:
            for entry in plan.sites:
                is_due, why = due(entry, last_done(archive, entry.name), now)
                if force and not is_due:
                    is_due, why = True, "forced (" + why.removeprefix("not due: ") + ")"
                if is_due:
                    waiting.append(entry)
                    report.sites.append(SiteOutcome(entry.name, "waiting", why))
                else:
                    report.sites.append(SiteOutcome(entry.name, "not-due", why))
        outcomes = {site.name: site for site in report.sites}
        _crawl_all(plan, waiting, outcomes, progress, progress_seconds)
    report.finished = utc_now()
    return report


def _ensure_archive(db: Path) -> None:
    """Create (or migrate) the archive before crawls start, so parallel crawls find it ready."""
    with Archive(db):
        pass


def _crawl_all(
    plan: Plan,
    waiting: list[PlanSite],
    outcomes: dict[str, SiteOutcome],
    progress: Callable[[str], None] | None,
    progress_seconds: float,
) -> None:
    running: list[_Running] = []
    queue = list(waiting)
    last_progress = time.monotonic()
    stop = _StopSignal()
    with stop:
        while queue or running:
            while queue and len(running) < plan.jobs and not stop.received:
                entry = queue.pop(0)
                outcome = outcomes[entry.name]
                before = _max_run_id(plan.db)
                process = subprocess.Popen(
                    crawl_command(plan, entry),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
                outcome.status = "running"
                running.append(_Running(entry, outcome, process, time.monotonic(), before))
            if stop.received:
                for item in running:
                    with contextlib.suppress(ProcessLookupError):
                        item.process.send_signal(signal.SIGTERM)
                for entry in queue:
                    outcomes[entry.name].status = "not-started"
                    outcomes[entry.name].problems.append(
                        f"{entry.name}: not crawled: the run was stopped"
                    )
                queue = []
            for item in list(running):
                if item.process.poll() is None:
                    continue
                running.remove(item)
                _finished(plan, item)
            if progress and running and time.monotonic() - last_progress >= progress_seconds:
                last_progress = time.monotonic()
                busy = ", ".join(
                    f"{r.entry.name} {time.monotonic() - r.started:.0f}s" for r in running
                )
                done = sum(1 for o in outcomes.values() if o.status in ("crawled", "failed"))
                progress(f"running: {busy}; {done} done, {len(queue)} waiting")
            time.sleep(0.2)


def _finished(plan: Plan, item: _Running) -> None:
    """Read a finished crawl's result: its exit status, its run row, its health alarms."""
    out, err = item.process.communicate()
    outcome = item.outcome
    outcome.exit_status = item.process.returncode
    outcome.seconds = round(time.monotonic() - item.started, 1)
    outcome.summary = " ".join(line for line in out.splitlines() if line.strip())[-500:]
    errors = [
        line.removeprefix("Error: ") for line in err.splitlines() if line.startswith("Error:")
    ]
    with Archive(plan.db, readonly=True) as archive:
        row = archive.db.execute(
            "SELECT id, site FROM crawl_runs WHERE id > ? "
            "AND json_extract(plan_entry, '$.name') = ? ORDER BY id DESC LIMIT 1",
            [item.max_run_before, item.entry.name],
        ).fetchone()
        if row:
            outcome.run_id = row[0]
            outcome.alarms = [
                alarm.line()  # the run's site is the entry's name
                for alarm in site_alarms(archive, row[1])
                if alarm.run_id == row[0]
            ]
    if outcome.exit_status == 0:
        outcome.status = "crawled"
        return
    outcome.status = "failed"
    if not errors:
        tail = [line for line in err.splitlines() if line.strip()][-1:] or ["no output"]
        errors = [f"the crawl exited with status {outcome.exit_status}: {tail[0][:300]}"]
    outcome.problems.extend(
        f"{item.entry.name}: {error.removeprefix(item.entry.name + ': ')}" for error in errors
    )


class _StopSignal:
    """SIGTERM/SIGINT while crawls run: pass SIGTERM on to them (each stops gracefully) and
    start no more."""

    def __init__(self) -> None:
        self.received = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = True

    def __enter__(self) -> _StopSignal:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
