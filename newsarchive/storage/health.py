"""Site health: each site's latest crawl run compared with its own history.

A portal redesign rarely breaks a crawl outright: the pages still come, but the bylines or the
dates stop being found, and the archive fills with emptier records without a word. Each finished
run keeps its per-field fill-rates and counts (crawl_runs); a signal fires when the latest run
falls clearly below the trailing median of the runs before it. Thresholds are deliberately coarse:
an alarm a researcher gets by mail must mean something changed.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from newsarchive.crawl_jobs import COMPLETE_REASONS
from newsarchive.plan import format_interval
from newsarchive.storage.archive import (
    DIED,
    GONE_STATUSES,
    HEALTH_COLLAPSE_FIELDS,
    HEALTH_FIELDS,
    UNEXTRACTED,
    Archive,
)
from newsarchive.storage.records import parse_stored_time

# How many earlier runs make the baseline (their median), and how few are enough to judge.
HISTORY_RUNS = 5
MIN_HISTORY_RUNS = 1
# A field's fill-rate falling this many percentage points below its baseline is an alarm...
FILL_DROP_POINTS = 20.0
# ...when the latest run saw enough articles for a rate to mean anything.
MIN_ARTICLES_FOR_RATES = 5
# The lead image and the tags (HEALTH_COLLAPSE_FIELDS) swing with a run's stories: an alarm only
# when a rate of at least this much falls to at most this share of it (a redesign loses them
# from every article; a run of wire stories without tags halves them).
COLLAPSE_BASELINE = 40.0
COLLAPSE_SHARE = 0.25
# Failures per page fetched: an alarm when the share reaches this and at least doubles.
FAILURE_SHARE_ALARM = 0.2
# A run with no new article is an alarm for a site whose runs usually bring at least this many,
# judged on at least this many earlier runs (one earlier run is a first crawl, not a habit).
USUAL_NEW_ARTICLES = 3
USUAL_NEW_MIN_RUNS = 3
# This many runs in a row that fetched nothing: the site is unreachable.
UNREACHABLE_RUNS = 2
# Articles a run found taken down (404/410, or redirected to a listing): a site takes down a few;
# this many in one run, and three times the runs before, more likely means its URLs changed (every
# old one redirected to the home page) or it turns the crawler away with 404s.
TAKEDOWN_ALARM = 10
# A site of the plan with no complete run (finished, or cut by its page budget, having fetched
# pages: a run whose every request failed ends "finished" too) ended in this many of its
# periods, and in at least OVERDUE_MIN, is overdue: its runs are killed (the OOM killer, a
# reboot), hang, or are not started at all (a lost crontab, a stopped timer, a machine down).
# No run's own figures show that: the latest finished run stays as it was.
OVERDUE_PERIODS = 3
OVERDUE_MIN = timedelta(hours=12)
# A run whose process is gone before it finished is said while it is among the site's last this
# many runs: the run that ends it as DIED is the one after it.
DIED_WINDOW = 2


@dataclass(frozen=True)
class Alarm:
    site: str
    # fill-rate:<field> | failures | no-new-articles | unreachable | damaged-pages |
    # unextracted-pages | taken-down | overdue | died
    signal: str
    before: str
    now: str
    run_id: int

    def line(self) -> str:
        return f"{self.site}: {self.signal} {self.before} -> {self.now} (run {self.run_id})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Run:
    id: int
    started: str
    finished: str
    pages_fetched: int
    articles_new: int
    articles_seen: int
    failures: int
    fill_rates: dict[str, float]


def _runs(archive: Archive, site: str, limit: int) -> list[_Run]:
    """The site's finished runs, the last to end first: a stopped crawl continued later keeps
    its run row (and id) from before the runs made in between, but ends after them."""
    columns = {row[1] for row in archive.db.execute("PRAGMA table_info(crawl_runs)")}
    # An archive from before runs kept health signals (opened read-only, not migrated).
    seen, fills = ("articles_seen", "fill_rates") if "fill_rates" in columns else ("NULL", "NULL")
    rows = archive.db.execute(
        f"SELECT id, started, finished, pages_fetched, articles_new, {seen}, failures, {fills} "
        "FROM crawl_runs WHERE site = ? AND finished IS NOT NULL "
        # A run that died has the counts of a part of a run: no measure of the site.
        f"AND finish_reason IS NOT '{DIED}' "
        "ORDER BY finished DESC, id DESC LIMIT ?",
        [site, limit],
    ).fetchall()
    runs = []
    for run_id, started, finished, fetched, new, seen, failures, fills in rows:
        try:
            rates = json.loads(fills) if fills else {}
        except ValueError:
            rates = {}
        runs.append(
            _Run(run_id, started, finished, fetched or 0, new or 0, seen or 0, failures or 0, rates)
        )
    return runs


def _damaged_since(archive: Archive, site: str, started: str) -> int:
    """Raw pages of `site` found damaged (by packing at a crawl's or an import's end, `compact`)
    since `started`: said once by the command that found them, and here until the site's next
    run."""
    try:
        return archive.pages.execute(
            "SELECT count(*) FROM damaged_pages d JOIN pages p ON p.id = d.page_id "
            "WHERE p.site = ? AND d.found_at >= ?",
            [site, started],
        ).fetchone()[0]
    except sqlite3.OperationalError:  # a pages file from before damage was kept (read as it is)
        return 0


def _unextracted(archive: Archive, site: str) -> int:
    """Raw pages of `site` the extractor failed on, whenever they were stored: their records are
    missing until `reextract` makes them (it tries them again at each run)."""
    try:
        return archive.pages.execute(
            "SELECT count(*) FROM pages WHERE kind = ? AND site = ? AND part_of IS NULL",
            [UNEXTRACTED, site],
        ).fetchone()[0]
    except sqlite3.OperationalError:  # a pages file from before kinds (read as it is)
        return 0


def _taken_down(archive: Archive, site: str, run: _Run) -> int:
    """Articles of `site` the run found gone (their gone_since falls within it)."""
    try:
        return archive.db.execute(
            "SELECT count(*) FROM articles WHERE gone_since BETWEEN ? AND ? AND site = ?",
            [run.started, run.finished, site],
        ).fetchone()[0]
    except sqlite3.OperationalError:  # an archive from before gone_since (read as it is)
        return 0


def _takedown_failures(archive: Archive, site: str, run: _Run) -> int:
    """The run's failures that were archived articles answering 404 or 410: takedowns (the
    taken-down signal's), not the site failing the crawler. Two takedowns among a small site's
    dozen pages would otherwise read as a fifth of its pages failing."""
    urls = archive.db.execute(
        f"SELECT url FROM failures WHERE at BETWEEN ? AND ? AND run_id = ? AND site = ? "
        f"AND status IN ({', '.join(str(status) for status in sorted(GONE_STATUSES))})",
        [run.started, run.finished, run.id, site],
    ).fetchall()
    found = (archive.article(url) for (url,) in urls)
    return sum(1 for article in found if article is not None and article.get("gone_since"))


def _overdue(archive: Archive, site: str, every: timedelta, now: datetime) -> Alarm | None:
    """The overdue alarm of `site`, crawled `every` by its plan, or None."""
    marks = ", ".join("?" for _ in COMPLETE_REASONS)
    row = archive.db.execute(
        # A time garbled on disk into no time sorts after every real one: passed over.
        f"SELECT id, finished FROM crawl_runs WHERE site = ? AND julianday(finished) IS NOT NULL "
        f"AND finish_reason IN ({marks}) AND pages_fetched > 0 "
        "ORDER BY finished DESC, id DESC LIMIT 1",
        [site, *COMPLETE_REASONS],
    ).fetchone()
    said = "none for {}"
    if row is None:
        said = "none since its first run began {} ago"
        row = archive.db.execute(
            "SELECT max(id), min(started) FROM crawl_runs WHERE site = ? "
            "AND julianday(started) IS NOT NULL",
            [site],
        ).fetchone()
    run_id, since = row
    since_time = parse_stored_time(since)
    if run_id is None or since_time is None:
        return None
    age = now - since_time
    if age <= max(OVERDUE_PERIODS * every, OVERDUE_MIN):
        return None
    ago = format_interval(timedelta(minutes=int(age.total_seconds()) // 60)) or "0m"
    return Alarm(
        site, "overdue", f"a complete run every {format_interval(every)}", said.format(ago), run_id
    )


def _died(archive: Archive, site: str) -> Alarm | None:
    """The died alarm: one of the site's last DIED_WINDOW runs (by start) ended with its process
    gone, or is unfinished with it gone now. The run after it ends a dead one as DIED, so the
    command that ran that next run (`run` for cron) still says it, once."""
    try:
        rows = archive.db.execute(
            "SELECT id, finish_reason, owner FROM crawl_runs WHERE site = ? "
            "ORDER BY started DESC, id DESC LIMIT ?",
            [site, DIED_WINDOW],
        ).fetchall()
    except sqlite3.OperationalError:  # an archive from before owners (read as it is)
        return None
    unfinished_and_gone = set(archive.dead_runs(site))
    died = [
        (run_id, owner)
        for run_id, reason, owner in rows
        if reason == DIED or run_id in unfinished_and_gone
    ]
    if not died:
        return None
    run_id, owner = max(died)  # the latest
    return Alarm(
        site,
        "died",
        "a run that finishes",
        f"its process ({owner.partition(' ')[0]}) gone before it finished: killed (out of "
        "memory? a reboot?)",
        run_id,
    )


def _percent(value: float) -> str:
    return f"{value:.0f}%"


def site_alarms(
    archive: Archive,
    site: str,
    every: timedelta | None = None,
    now: datetime | None = None,
) -> list[Alarm]:
    """The alarms of `site`'s latest finished run against the runs before it; with `every`
    (its plan's), whether a complete run is overdue at `now` (default: the current time)."""
    alarms: list[Alarm] = []
    if every is not None:
        overdue = _overdue(archive, site, every, now or datetime.now(UTC))
        if overdue is not None:
            alarms.append(overdue)
    died = _died(archive, site)
    if died is not None:
        alarms.append(died)
    runs = _runs(archive, site, HISTORY_RUNS + 1)
    if not runs:
        return alarms
    latest, history = runs[0], runs[1:]
    recent = runs[:UNREACHABLE_RUNS]
    if len(recent) == UNREACHABLE_RUNS and all(r.pages_fetched == 0 for r in recent):
        alarms.append(
            Alarm(site, "unreachable", f"{UNREACHABLE_RUNS} runs", "0 pages fetched", latest.id)
        )
    damaged = _damaged_since(archive, site, latest.started)
    if damaged:
        alarms.append(
            Alarm(
                site, "damaged-pages", "0", f"{damaged} raw pages (newsarchive verify)", latest.id
            )
        )
    unextracted = _unextracted(archive, site)
    if unextracted:
        alarms.append(
            Alarm(
                site,
                "unextracted-pages",
                "0",
                f"{unextracted} raw pages (newsarchive reextract --site {site})",
                latest.id,
            )
        )
    if len(history) < MIN_HISTORY_RUNS:
        return alarms
    if latest.articles_seen >= MIN_ARTICLES_FOR_RATES:
        for name in HEALTH_FIELDS + HEALTH_COLLAPSE_FIELDS:
            past = [r.fill_rates[name] for r in history if name in r.fill_rates]
            if not past or name not in latest.fill_rates:
                continue
            baseline, now = statistics.median(past), latest.fill_rates[name]
            if name in HEALTH_COLLAPSE_FIELDS:
                fell = baseline >= COLLAPSE_BASELINE and now <= COLLAPSE_SHARE * baseline
            else:
                fell = baseline - now >= FILL_DROP_POINTS
            if fell:
                alarms.append(
                    Alarm(site, f"fill-rate:{name}", _percent(baseline), _percent(now), latest.id)
                )
    if latest.pages_fetched:
        failed = latest.failures - _takedown_failures(archive, site, latest)
        share = failed / latest.pages_fetched
        past_shares = [
            (r.failures - _takedown_failures(archive, site, r)) / r.pages_fetched
            for r in history
            if r.pages_fetched
        ]
        baseline = statistics.median(past_shares) if past_shares else 0.0
        if share >= FAILURE_SHARE_ALARM and share >= 2 * baseline:
            alarms.append(
                Alarm(
                    site,
                    "failures",
                    f"{baseline:.0%} of pages",
                    f"{share:.0%} ({failed} of {latest.pages_fetched})",
                    latest.id,
                )
            )
    taken_down = _taken_down(archive, site, latest)
    if taken_down >= TAKEDOWN_ALARM:
        usual = statistics.median(_taken_down(archive, site, run) for run in history)
        if taken_down >= 3 * usual:
            alarms.append(
                Alarm(
                    site,
                    "taken-down",
                    f"{usual:.0f} articles per run",
                    f"{taken_down} articles (did its URLs change? Datasette's \"Articles "
                    'taken down" lists them)',
                    latest.id,
                )
            )
    usual_new = statistics.median(r.articles_new for r in history)
    if (
        len(history) >= USUAL_NEW_MIN_RUNS
        and latest.pages_fetched
        and latest.articles_new == 0
        and usual_new >= USUAL_NEW_ARTICLES
    ):
        alarms.append(
            Alarm(site, "no-new-articles", f"{usual_new:.0f} new per run", "0 new", latest.id)
        )
    return alarms


def health(
    archive: Archive,
    site: str | None = None,
    every: Mapping[str, timedelta] | None = None,
    now: datetime | None = None,
) -> list[Alarm]:
    """Alarms for every site with runs (or just `site`), sites in name order; `every`: the
    plan's period of each site it has, for the overdue signal."""
    every = every or {}
    if site is not None:
        return site_alarms(archive, site, every.get(site), now)
    sites = [
        row[0] for row in archive.db.execute("SELECT DISTINCT site FROM crawl_runs ORDER BY 1")
    ]
    return [alarm for name in sites for alarm in site_alarms(archive, name, every.get(name), now)]
