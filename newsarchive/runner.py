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
import errno
import fcntl
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from newsarchive.crawl_jobs import COMPLETE_REASONS
from newsarchive.errors import ArchiveUnwritable, Busy, NewsarchiveError
from newsarchive.plan import Plan, PlanSite, format_interval
from newsarchive.storage import Archive, default_pages_path
from newsarchive.storage.health import site_alarms
from newsarchive.storage.records import (
    CLOCK_AHEAD_TOLERANCE,
    parse_stored_time,
    utc_iso,
    utc_now,
)

# A site whose last run started a little less than `every` ago is due anyway: cron fires on the
# minute, and last time's crawl started a few seconds after its tick.
DUE_TOLERANCE_SHARE = 0.05
DUE_TOLERANCE_MAX = timedelta(minutes=10)
# When the note in the lock file, beside the archive, cannot be written for one of these, the
# archive cannot be written either.
_NOTE_UNWRITABLE = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "over the file size limit",
    errno.EROFS: "the file system is read-only",
    errno.EIO: "the file system refused a write",
}


class RunLocked(Busy):
    """Another `newsarchive run` holds this archive; `held_for` says how long, when its note
    says since when."""

    def __init__(self, message: str, held_for: timedelta | None = None) -> None:
        super().__init__(message)
        self.held_for = held_for


def lock_path(db: Path) -> Path:
    return db.with_name(db.stem + ".run.lock")


class RunLock:
    """An exclusive lock on an archive for one `run`, with who holds it written inside."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.path = lock_path(db)
        self._fd: int | None = None
        self.previous: dict[str, Any] | None = None  # a dead holder's note, when taken over
        self.unwritable: str | None = None  # why the note could not be written (a full disk)

    def acquire(self) -> RunLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise NewsarchiveError(
                f"{self.path}: cannot open the run's lock: {exc.strerror}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_note(fd)
            os.close(fd)
            who = (
                f"pid {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')}"
                if holder
                else "holder unknown"
            )
            try:
                since = parse_stored_time(holder.get("since")) if holder else None
            except (TypeError, ValueError):
                since = None  # a note from elsewhere: whose it is still says enough
            held_for = datetime.now(UTC) - since if since else None
            raise RunLocked(f"{self.path}: another run is in progress ({who})", held_for) from None
        note = _read_note(fd)
        if note and note.get("pid") != os.getpid():
            self.previous = note  # a run killed before it could clear its note
        mine = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": utc_now()})
        note_bytes = mine.encode()
        try:
            os.ftruncate(fd, 0)
            written = 0
            while written < len(note_bytes):  # a disk filling mid-write writes part of it
                count = os.pwrite(fd, note_bytes[written:], written)
                if count == 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                written += count
        except OSError as exc:
            # The flock is the lock; the note only says whose it is: on a full disk it stays
            # empty (a run refused then says "holder unknown"), and the run starts no crawl.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            if exc.errno not in _NOTE_UNWRITABLE:
                os.close(fd)
                raise NewsarchiveError(f"{self.path}: cannot write: {exc.strerror}") from None
            self.unwritable = (
                f"{self.db}: cannot write: {_NOTE_UNWRITABLE[exc.errno]} "
                f"({self.path.name} beside it: {exc.strerror})"
            )
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_note(fd: int) -> dict[str, Any] | None:
    text = os.pread(fd, 64 * 1024, 0).decode("utf-8", "replace").strip()
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
    status: str  # crawled | failed | not-started | not-due
    reason: str = ""  # why due / not due
    run_id: int | None = None
    exit_status: int | None = None
    finish_reason: str | None = None  # the crawl's (archive_unwritable when it said so)
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
    # Problems of the run as a whole: the archive could not even be read to tell which sites
    # are due.
    run_problems: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return self.run_problems + [p for site in self.sites for p in site.problems + site.alarms]

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


def last_done(archive: Archive) -> dict[str, datetime]:
    """Per plan entry name, when its last run that ended by itself started. One pass over the
    runs for every entry: the name is inside each run's JSON, which no index reaches, and a pass
    an entry took 41 ms at a year of hourly runs of 10 entries (87,600 runs). A start garbled on
    disk into no time is passed over: it would stop every `run` of the plan (and it sorts after
    every real one)."""
    placeholders = ", ".join("?" for _ in COMPLETE_REASONS)
    rows = archive.db.execute(
        "SELECT json_extract(plan_entry, '$.name') AS name, max(started) FROM crawl_runs "
        f"WHERE plan_entry IS NOT NULL AND finish_reason IN ({placeholders}) "
        "AND julianday(started) IS NOT NULL GROUP BY name",
        list(COMPLETE_REASONS),
    ).fetchall()
    return {name: parse_stored_time(started) for name, started in rows if name and started}


def due(entry: PlanSite, last: datetime | None, now: datetime) -> tuple[bool, str]:
    """Is the entry due at `now`, and why (in words for the summary)."""
    if last is None:
        return True, "never crawled"
    tolerance = min(entry.every * DUE_TOLERANCE_SHARE, DUE_TOLERANCE_MAX)
    age = now - last
    if age < -CLOCK_AHEAD_TOLERANCE:
        # A clock set wrong then or now, or a start garbled on disk into another time: waiting
        # for it would leave the site uncrawled.
        return True, f"its last run started in the future ({utc_iso(last)}), by this clock"
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
    after_a_dead_run: bool = False  # see _crawl_all
    # The signal that stopped the run, once it was passed on to this crawl.
    stopped: str = ""


@contextlib.contextmanager
def reading_archive(db: Path) -> Iterator[Archive]:
    """The archive opened read-only, a full disk raised as ArchiveUnwritable (one line) also
    when the first query meets it: reading a WAL archive whose -shm is gone (its last writer
    closed cleanly) writes a new one first."""
    from newsarchive.storage.opening import unwritable

    try:
        with Archive(db, readonly=True) as archive:
            yield archive
    except sqlite3.Error as exc:
        raise unwritable(exc, db) or exc from None


def _max_run_id(db: Path) -> int:
    with reading_archive(db) as archive:
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

    `force`: every site now, due or not. Raises RunLocked when another run holds the archive.
    `progress` gets a line every `progress_seconds` while crawls run (for a log: never a
    carriage-return line). Once the archive cannot be written (a full disk), no further crawl
    starts: the sites left are reported not crawled, for the next run.
    """
    from newsarchive.storage import check_archive

    # Why the archive cannot be written (a full disk), found before any crawl starts.
    unwritable: str | None = None
    try:
        check_archive(plan.db, for_writing=True)
    except ArchiveUnwritable as exc:
        unwritable = str(exc)
    report = RunReport(plan=str(plan.path), db=str(plan.db), started=utc_now())
    with RunLock(plan.db) as lock:
        report.took_over = lock.previous
        unwritable = unwritable or lock.unwritable
        if unwritable is None:
            try:
                _ensure_archive(plan.db)
            except ArchiveUnwritable as exc:
                unwritable = str(exc)
        now = now or datetime.now(UTC)
        try:
            waiting = _due_sites(plan, now, force, report)
        except ArchiveUnwritable as exc:
            names = ", ".join(entry.name for entry in plan.sites)
            report.run_problems.append(
                f"{exc}; no site of the plan was crawled ({names}: which are due could not be "
                "read); the next run crawls those due once there is room"
            )
            waiting = []
        outcomes = {site.name: site for site in report.sites}
        if unwritable:
            _not_crawled(waiting, outcomes, _until_room(unwritable))
        else:
            _crawl_all(
                plan,
                waiting,
                outcomes,
                progress,
                progress_seconds,
                after_a_dead_run=lock.previous is not None,
            )
    report.finished = utc_now()
    return report


def _due_sites(plan: Plan, now: datetime, force: bool, report: RunReport) -> list[PlanSite]:
    """The entries to crawl now, each also added to `report` (due or not, and why)."""
    waiting: list[PlanSite] = []
    outcomes: list[SiteOutcome] = []
    with contextlib.ExitStack() as stack:
        # No archive yet (a full disk kept it from being made): nothing was crawled before.
        archive = stack.enter_context(reading_archive(plan.db)) if plan.db.exists() else None
        done = last_done(archive) if archive else {}
        for entry in plan.sites:
            last = done.get(entry.name)
            is_due, why = due(entry, last, now)
            if force and not is_due:
                is_due, why = True, "forced (" + why.removeprefix("not due: ") + ")"
            if is_due:
                waiting.append(entry)
                outcomes.append(SiteOutcome(entry.name, "waiting", why))
            else:
                outcomes.append(SiteOutcome(entry.name, "not-due", why))
    report.sites.extend(outcomes)
    return waiting


def _ensure_archive(db: Path) -> None:
    """Create (or migrate) the archive before crawls start, so parallel crawls find it ready."""
    with Archive(db):
        pass


def _not_crawled(entries: list[PlanSite], outcomes: dict[str, SiteOutcome], why: str) -> None:
    for entry in entries:
        outcomes[entry.name].status = "not-started"
        outcomes[entry.name].problems.append(f"{entry.name}: not crawled: {why}")


def _until_room(unwritable: str) -> str:
    return f"{unwritable}; the next run crawls it once there is room"


def _crawl_all(
    plan: Plan,
    waiting: list[PlanSite],
    outcomes: dict[str, SiteOutcome],
    progress: Callable[[str], None] | None,
    progress_seconds: float,
    *,
    after_a_dead_run: bool = False,
) -> None:
    """`after_a_dead_run`: this run took over the lock of a run that is gone (killed with its
    crawls: the OOM killer, a reboot), whose crawls it says died."""
    running: list[_Running] = []
    queue = list(waiting)
    last_progress = time.monotonic()
    # Why the archive cannot be written, once a crawl (or the run itself) found so: every
    # crawl started after that would only fail the same way.
    unwritable: str | None = None
    stop = _StopSignal()
    stop_with_the_run = _parent_death_signal()
    with stop:
        while queue or running:
            while queue and len(running) < plan.jobs and not stop.received and not unwritable:
                entry = queue[0]
                outcome = outcomes[entry.name]
                try:
                    before = _max_run_id(plan.db)
                except ArchiveUnwritable as exc:
                    unwritable = str(exc)
                    break
                queue.pop(0)
                process = subprocess.Popen(
                    crawl_command(plan, entry),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                    preexec_fn=stop_with_the_run,
                )
                outcome.status = "running"
                running.append(
                    _Running(entry, outcome, process, time.monotonic(), before, after_a_dead_run)
                )
            if stop.received:
                for item in running:
                    if not item.stopped:
                        item.stopped = stop.received
                        with contextlib.suppress(ProcessLookupError):
                            item.process.send_signal(signal.SIGTERM)
                _not_crawled(queue, outcomes, f"the run was stopped ({stop.received})")
                queue = []
            for item in list(running):
                if item.process.poll() is None:
                    continue
                running.remove(item)
                unwritable = _finished(plan, item) or unwritable
            if unwritable and queue:
                _not_crawled(queue, outcomes, _until_room(unwritable))
                queue = []
            if progress and running and time.monotonic() - last_progress >= progress_seconds:
                last_progress = time.monotonic()
                busy = ", ".join(
                    f"{r.entry.name} {time.monotonic() - r.started:.0f}s" for r in running
                )
                done = sum(1 for o in outcomes.values() if o.status in ("crawled", "failed"))
                progress(f"running: {busy}; {done} done, {len(queue)} waiting")
            time.sleep(0.2)


def _parent_death_signal() -> Callable[[], None] | None:
    """For the crawl's process, to run before it execs: SIGTERM (a graceful stop) when the run
    that started it dies. A run killed alone (`kill -9` of its pid) would otherwise leave its
    crawl going without the run's lock, beside the crawl of the same site the next run starts.
    Linux only (prctl); elsewhere None."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here, not in the forked child
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def set_it() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the run died before the signal was set
            os.kill(os.getpid(), signal.SIGTERM)

    return set_it


def _finished(plan: Plan, item: _Running) -> str | None:
    """Read a finished crawl's result: its exit status, its run row, its health alarms.
    Returns why the archive cannot be written when this crawl (or reading its result) found
    so, else None."""
    out, err = item.process.communicate()
    outcome = item.outcome
    outcome.exit_status = item.process.returncode
    outcome.seconds = round(time.monotonic() - item.started, 1)
    outcome.summary = " ".join(line for line in out.splitlines() if line.strip())[-500:]
    errors = [
        line.removeprefix("Error: ") for line in err.splitlines() if line.startswith("Error:")
    ]
    ended = _SUMMARY_END.search(outcome.summary)
    if ended:
        outcome.run_id = None if ended["run"] == "None" else int(ended["run"])
        outcome.finish_reason = ended["reason"]
    unwritable = _unwritable_cause(plan, outcome.finish_reason, errors)
    if unwritable is not None:
        # The summary says "finished" when the disk filled while the last pages were stored,
        # after the spider had closed; the run row says archive_unwritable, as here.
        outcome.finish_reason = ArchiveUnwritable.finish_reason
    else:
        # A run cut short by a full disk is compared with nothing: its counts are partial, and
        # its one line already says what happened.
        try:
            _read_run(plan, item)
        except NewsarchiveError as exc:
            if isinstance(exc, ArchiveUnwritable):
                unwritable = str(exc)
            if outcome.exit_status == 0:
                errors.append(f"crawled, but its health was not checked: {exc}")
    if outcome.exit_status == 0 and not errors:
        outcome.status = "crawled"
        return unwritable
    outcome.status = "crawled" if outcome.exit_status == 0 else "failed"
    if item.stopped and outcome.exit_status != 0 and not unwritable:
        # Whatever the crawl said ("run again with --resume", or nothing if the signal came
        # while it started): the next run crawls the site again, and what it stored is kept.
        errors = [
            f"stopped before the crawl finished (the run was stopped, {item.stopped}); what it "
            "stored is kept, and the next run crawls the site again"
        ]
    if not errors:
        tail = [line for line in err.splitlines() if line.strip()][-1:] or ["no output"]
        errors = [f"the crawl exited with status {outcome.exit_status}: {tail[0][:300]}"]
    outcome.problems.extend(
        f"{item.entry.name}: {error.removeprefix(item.entry.name + ': ')}" for error in errors
    )
    return unwritable


# The end of a crawl's summary line: "... 7.3s (run 12, finished)" (cli/crawl.py).
_SUMMARY_END = re.compile(r"\(run (?P<run>None|\d+), (?P<reason>[a-z_ ]+)\)$")


def _unwritable_cause(plan: Plan, finish_reason: str | None, errors: list[str]) -> str | None:
    """Why the archive cannot be written, when the crawl stopped for that: its error line
    holds the archive's own ArchiveUnwritable message (a file of the archive, "cannot write")."""
    files = (f"{plan.db}: cannot write: ", f"{default_pages_path(plan.db)}: cannot write: ")
    for error in errors:
        for name in files:
            if name in error:
                return error[error.index(name) :].split("; the crawl of ")[0]
    if finish_reason == ArchiveUnwritable.finish_reason:
        return f"{plan.db}: cannot write (the crawl stopped: {ArchiveUnwritable.finish_reason})"
    return None


def _read_run(plan: Plan, item: _Running) -> None:
    """The crawl's run row and its health alarms, into the outcome."""
    outcome = item.outcome
    with reading_archive(plan.db) as archive:
        row = archive.db.execute(
            "SELECT id, site FROM crawl_runs WHERE id > ? "
            "AND json_extract(plan_entry, '$.name') = ? ORDER BY id DESC LIMIT 1",
            [item.max_run_before, item.entry.name],
        ).fetchone()
        if row:
            outcome.run_id = row[0]
            outcome.alarms = [
                alarm.line()  # the run's site is the entry's name
                for alarm in site_alarms(archive, row[1], item.entry.every)
                # Overdue: no complete run for periods, this one included (it failed too).
                # Died: the crawl of a `run` killed with it (the OOM killer, a reboot), whose
                # lock this run took over: no other command can say it. (A crawl that stopped
                # on a full disk and could not finish its row was said by its own run.)
                if alarm.run_id == row[0]
                or alarm.signal == "overdue"
                or (alarm.signal == "died" and item.after_a_dead_run)
            ]


class _StopSignal:
    """SIGTERM/SIGINT while crawls run: pass SIGTERM on to them (each stops gracefully) and
    start no more."""

    def __init__(self) -> None:
        self.received = ""  # the signal's name, once one came
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signal.Signals(signum).name

    def __enter__(self) -> _StopSignal:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
