"""`newsarchive run`, `health` and `schedule`: crawls a researcher leaves running."""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import sys
from datetime import timedelta
from pathlib import Path

import click

from newsarchive.cli import FilePath, Seconds, cli, friendly_errors, plan_option, usable_path
from newsarchive.plan import find_plan, format_interval, load_plan, plan_periods


@cli.command("run")
@plan_option
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something is wrong.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option(
    "--progress-every",
    default=60.0,
    show_default=True,
    type=Seconds(min=1),
    metavar="SECONDS",
    help="A progress line on stderr this often while crawls run (not with -q).",
)
@click.option("--force", is_flag=True, help="Crawl every site of the plan now, due or not.")
@friendly_errors
def run_command(
    plan_path: Path | None, quiet: bool, as_json: bool, progress_every: float, force: bool
) -> None:
    """Crawl every site of the plan that is due, `jobs` at a time, then exit: what cron calls.

    \b
    Example plan (newsarchive.toml):
        db = "data/archive.db"
        contact = "https://my-lab.example/newsarchive"
        jobs = 2
        [[sites]]
        name = "detik"
        site = "https://news.detik.com/"
        every = "6h"
    \b
    Examples:
        newsarchive run                          # ./newsarchive.toml
        newsarchive run --plan ~/plans/jambi.toml -q
        newsarchive run --json | jq .problems

    A site not due is not contacted. The exit status is 0 when every due site was crawled and
    no health alarm fired; 1 otherwise, with one `Error:` line per problem on stderr; 75 when
    another run holds the archive (one line says whose; with -q only once it has held it for a
    day, so that a long crawl is not mailed at each call cron makes). Once the archive cannot
    be written (a full disk), no more crawls start; each site left is one `Error:` line,
    crawled by the next run once there is room.
    """
    from newsarchive.runner import RunLocked, run_plan

    plan = load_plan(find_plan(plan_path))

    def progress(line: str) -> None:
        click.echo(f"{plan.path.name}: {line}", err=True)

    try:
        report = run_plan(
            plan,
            progress=None if quiet else progress,
            progress_seconds=progress_every,
            force=force,
        )
    except RunLocked as exc:
        # A crawl longer than the schedule's period meets the next call: under -q (cron) that
        # is no news to mail every time, until the run has held the archive so long that it
        # may be stuck.
        held_for = exc.held_for
        if held_for is not None and held_for >= RUN_MAY_BE_STUCK:
            longer = format_interval(timedelta(minutes=held_for // timedelta(minutes=1)))
            click.echo(f"Error: {exc}; it has held it for {longer}: it may be stuck", err=True)
        elif not quiet or held_for is None:
            click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    elif not quiet:
        if report.took_over:
            click.echo(
                f"took over the lock of a run that is gone (pid {report.took_over.get('pid')}, "
                f"since {report.took_over.get('since')})",
                err=True,
            )
        for site in report.sites:
            if site.status == "not-due":
                click.echo(f"{site.name}: {site.reason}")
            elif site.status == "not-started":
                click.echo(f"{site.name}: not crawled")  # why: its Error line
            else:
                run = f" (run {site.run_id})" if site.run_id is not None else ""
                # A crawl that never started has no summary line: why is its Error line.
                summary = f": {site.summary}" if site.summary else ""
                click.echo(f"{site.name}: {site.status}{run} in {site.seconds:.0f}s{summary}")
    for problem in report.problems:
        click.echo(f"Error: {problem}", err=True)
    if report.problems:
        sys.exit(1)


db_option = click.option(
    "--db",
    type=FilePath(readable=False, path_type=Path),  # the archive's own one-line checks
    callback=usable_path,
    default=None,
    help="The archive (default: $NEWSARCHIVE_DB, else the plan's db, else data/archive.db).",
)


@cli.command("health")
@db_option
@plan_option
@click.option("--site", help="Only this site.")
@click.option("--json", "as_json", is_flag=True, help="Print the alarms as a JSON array.")
@friendly_errors
def health_command(
    db: Path | None, plan_path: Path | None, site: str | None, as_json: bool
) -> None:
    """Compare each site's latest crawl with its own earlier runs; exit 1 on any alarm.

    \b
    Examples:
        newsarchive health --db data/archive.db
        newsarchive health --json | jq '.[].signal'

    Signals: a field's fill-rate (title, authors, published, category, body) 20 points below
    the median of the site's previous runs (a redesign the extractor does not read), the lead
    image's or the tags' fill-rate falling to a quarter of a median of at least 40 %, a surge of
    failures, no new article where runs usually bring some, nothing fetched in 2 runs in a row,
    raw pages of the site found damaged since its latest run started (`newsarchive verify`
    lists them), no complete run for 3 of the plan's periods, at least 12 hours (`overdue`:
    runs killed, hanging or not started; read from the plan of the archive checked), a run
    whose process is gone before it finished (`died`: killed, by the OOM killer, a reboot, kill
    -9; said until two more runs have started). Each
    alarm is one line: site, signal, before -> now, run id. And for the whole archive: its raw
    pages file missing (deleted, moved, left out of a restore).
    """
    from newsarchive.runner import reading_archive
    from newsarchive.storage.health import health
    from newsarchive.storage.queries import check_site

    db = _db_for(db, plan_path)
    every = plan_periods(db, plan_path)
    with reading_archive(db) as archive:
        check_site(archive, site)
        alarms = health(archive, site, every)
        sites = archive.db.execute("SELECT count(DISTINCT site) FROM crawl_runs").fetchone()[0]
        # Every raw page gone at once (the file deleted, moved, or left out of a restore) is in
        # no run's figures, and the next crawl would be the first to say it.
        pages_missing = archive.pages_missing
    if as_json:
        click.echo(json.dumps([alarm.to_dict() for alarm in alarms], indent=2))
    else:
        for alarm in alarms:
            click.echo(f"Error: {alarm.line()}", err=True)
        if not alarms and not pages_missing:
            checked = f"site {site}" if site else f"{sites} sites"
            click.echo(f"{db}: {checked}, no alarm")
    if pages_missing:
        click.echo(f"Error: {pages_missing}", err=True)
    if alarms or pages_missing:
        sys.exit(1)


def _db_for(db: Path | None, plan_path: Path | None) -> Path:
    from newsarchive.storage import DEFAULT_DB

    if db is not None:
        return db
    if os.environ.get("NEWSARCHIVE_DB", "").strip() and plan_path is None:
        return Path(os.environ["NEWSARCHIVE_DB"].strip())
    plan_file = find_plan(plan_path)
    if plan_path is not None or plan_file.exists():
        return load_plan(plan_file).db
    return DEFAULT_DB


@cli.command("schedule")
@plan_option
@click.option("--cron", "kind", flag_value="cron", default=True, help="A crontab line (default).")
@click.option("--systemd", "kind", flag_value="systemd", help="A systemd service and timer.")
@friendly_errors
def schedule_command(plan_path: Path | None, kind: str) -> None:
    """Print what runs `newsarchive run` for this plan on time: a crontab line or systemd units.

    \b
    Examples:
        newsarchive schedule --plan newsarchive.toml --cron >> mycron && crontab mycron
        newsarchive schedule --systemd     # then save the two units it prints

    `run` is called at a period every site's `every` is a whole number of (with cron, the
    longest one cron can say; at least 5 minutes): each site falls due on a call, and `run`
    skips the sites not due, so none is contacted more often than its `every`.
    """
    from newsarchive.errors import NewsarchiveError
    from newsarchive.sites import load_profile
    from newsarchive.urls import web_address

    plan = load_plan(find_plan(plan_path))
    plan_file = plan.path.resolve()
    if "\n" in str(plan_file) or "\r" in str(plan_file):
        raise NewsarchiveError(
            f"--plan {plan_file}: a line break in the plan's path, which no crontab line or "
            "unit can hold: move the plan"
        )
    for number, entry in enumerate(plan.sites):
        if not web_address(entry.site):
            try:
                load_profile(entry.site)  # every run would fail on it: said now, one line
            except NewsarchiveError as exc:
                raise NewsarchiveError(f"{plan.path}: sites[{number}].site: {exc}") from None
    workdir = plan_file.parent
    program = shutil.which("newsarchive") or f"{sys.executable} -m newsarchive"
    command = f"{program} run --plan {shlex.quote(str(plan_file))} -q"
    period = run_period([entry.every for entry in plan.sites], cron=kind == "cron")
    if kind == "cron":
        # cron reads an unescaped % as the end of the command (the rest goes to its stdin).
        click.echo(
            f"{cron_spec(period)} cd {shlex.quote(str(workdir))} && {command}"
            f"  # newsarchive plan {plan_file.name}".replace("%", "\\%")
        )
        return
    # systemd reads % as a specifier (%h, %n...): %% is a percent sign.
    workdir = Path(str(workdir).replace("%", "%%"))
    command = command.replace("%", "%%")
    plan_file = Path(str(plan_file).replace("%", "%%"))
    name = "newsarchive-" + plan_file.stem
    click.echo(
        f"# {name}.service\n"
        "[Unit]\n"
        f"Description=newsarchive: crawl the sites of {plan_file} that are due\n"
        "After=network-online.target\nWants=network-online.target\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"WorkingDirectory={workdir}\n"
        f"ExecStart={command}\n"
        "# SIGTERM stops the crawls gracefully (items stored, runs finished).\n"
        "KillSignal=SIGTERM\nTimeoutStopSec=120\n\n"
        f"# {name}.timer\n"
        "[Unit]\n"
        f"Description=Run {name}.service every {format_interval(period)}\n\n"
        "[Timer]\n"
        "OnBootSec=5min\n"
        f"OnUnitActiveSec={int(period.total_seconds())}s\n"
        "Persistent=true\n\n"
        "[Install]\nWantedBy=timers.target"
    )


# How long a run may hold the archive before the runs it keeps out say so even under -q.
RUN_MAY_BE_STUCK = timedelta(hours=24)
# The periods cron repeats evenly, in minutes: minute steps that divide an hour, hour steps that
# divide a day, a day, a week.
CRON_PERIODS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440, 10080)
# `run` is not called more often than this for any plan: where no longer period fits every site,
# a site is crawled less than this after its time.
SHORTEST_RUN_PERIOD = timedelta(minutes=5)


def run_period(everies: list[timedelta], *, cron: bool) -> timedelta:
    """How often to call `run` for sites crawled at these intervals: a period each of them is
    a whole number of, so that each site falls due on a call rather than up to a call later
    (with 6-hourly calls, a site every 7 h was crawled every 12 h); with `cron`, the longest
    such period cron can repeat; never under SHORTEST_RUN_PERIOD."""
    common = math.gcd(*(int(every.total_seconds()) for every in everies))
    if cron:
        minutes = max(common // 60, 1)  # intervals with seconds in them: no whole minute fits
        common = 60 * max(period for period in CRON_PERIODS if minutes % period == 0)
    return max(timedelta(seconds=common), SHORTEST_RUN_PERIOD)


def cron_spec(interval: timedelta) -> str:
    """The cron schedule for an interval: the largest step cron can repeat evenly that is not
    longer than it. run_period's periods are such steps, so they are said exactly."""
    minutes = int(interval.total_seconds() // 60)
    if minutes < 60:
        step = max(d for d in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30) if d <= max(minutes, 1))
        return f"*/{step} * * * *"
    hours = minutes // 60
    if hours < 24:
        step = max(d for d in (1, 2, 3, 4, 6, 8, 12) if d <= hours)
        return "7 * * * *" if step == 1 else f"7 */{step} * * *"
    days = hours // 24
    if days < 7:
        return "7 3 * * *"
    return "7 3 * * 1"
