"""The overdue signal: a site of the plan with no complete run for three of its periods (at least
12 hours). Its runs are killed, hang or are not started at all, and no run's own figures say so:
health judged the latest finished run, weeks old, and said "no alarm"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from archive_fixtures import add_run
from click.testing import CliRunner

from newsarchive.cli import cli
from newsarchive.storage import Archive
from newsarchive.storage.health import health

EVERY = {"warta": timedelta(hours=6)}
T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def _run(archive: Archive, started: datetime, finished: datetime | None, reason: str) -> int:
    """A run of warta from `started` to `finished` (None: never ended), ended for `reason`."""
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    ended = finished.strftime(stamp) if finished else None
    return add_run(archive, "warta", started.strftime(stamp), ended, reason=reason)


def _overdue(archive: Archive, now: datetime) -> list[tuple[str, str, int]]:
    return [
        (alarm.before, alarm.now, alarm.run_id)
        for alarm in health(archive, every=EVERY, now=now)
        if alarm.signal == "overdue"
    ]


def test_a_site_whose_runs_stopped_completing_is_overdue(tmp_path: Path) -> None:
    with Archive(tmp_path / "archive.db") as archive:
        done = _run(archive, T0, T0 + timedelta(minutes=5), "finished")
        # Later runs killed (never ended) or stopped: none complete.
        _run(archive, T0 + timedelta(hours=6), None, "")
        _run(archive, T0 + timedelta(hours=12), T0 + timedelta(hours=12, minutes=1), "shutdown")
        end = T0 + timedelta(minutes=5)
        # Three periods of 6 h are 18 h: not overdue at 17 h 59 min, overdue at 18 h 1 min.
        assert _overdue(archive, end + timedelta(hours=17, minutes=59)) == []
        assert _overdue(archive, end + timedelta(hours=18, minutes=1)) == [
            ("a complete run every 6h", "none for 18h1m", done)
        ]
        # A site the plan does not name has no period to be late for.
        assert health(archive, now=end + timedelta(days=30)) == []
        # A complete run (cut by its page budget counts) ends it.
        _run(archive, T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1), "max_pages")
        assert _overdue(archive, T0 + timedelta(days=1, hours=2)) == []


def test_a_short_period_is_overdue_after_twelve_hours_and_a_site_never_complete_from_its_first_run(
    tmp_path: Path,
) -> None:
    every = {"warta": timedelta(minutes=30)}
    with Archive(tmp_path / "archive.db") as archive:
        first = _run(archive, T0, None, "")
        last = _run(archive, T0 + timedelta(hours=1), T0 + timedelta(hours=3), "redis_lost")

        def overdue(now: datetime) -> list[str]:
            found = health(archive, "warta", every, now)
            return [f"{a.before} -> {a.now} (run {a.run_id})" for a in found]

        assert overdue(T0 + timedelta(hours=11)) == []  # 22 periods, but not yet 12 hours
        assert overdue(T0 + timedelta(hours=12, minutes=30)) == [
            f"a complete run every 30m -> none since its first run began 12h30m ago (run {last})"
        ]
        assert first < last


def test_health_reads_the_periods_from_the_plan_of_the_archive_it_checks(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with Archive(db) as archive:
        done = _run(archive, T0, T0 + timedelta(minutes=5), "finished")
    plan = tmp_path / "newsarchive.toml"
    plan.write_text(
        f'db = "{db}"\n\n[[sites]]\nname = "warta"\nsite = "https://warta.example.id/"\n'
        'every = "1d"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(cli, ["health", "--plan", str(plan)])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: warta: overdue a complete run every 1d -> none for ")
    assert result.stderr.rstrip().endswith(f"(run {done})")
    # The same plan for another archive: its periods say nothing of this one.
    other = tmp_path / "other.toml"
    other.write_text(plan.read_text().replace(str(db), str(tmp_path / "else.db")))
    result = runner.invoke(cli, ["health", "--plan", str(other), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "no alarm" in result.output


def test_a_run_start_garbled_on_disk_does_not_stop_the_plan(tmp_path: Path) -> None:
    """A run row's start garbled into no time sorts after every real one: `run` read it as the
    latest and stopped on it (a ValueError traceback, then a one-line error) at every call,
    while `verify` calls the archive sound. It is passed over; the real latest start counts."""
    from newsarchive.runner import last_done

    with Archive(tmp_path / "archive.db") as archive:
        good = _run(archive, T0, T0 + timedelta(minutes=5), "finished")
        bad = _run(archive, T0 + timedelta(hours=6), T0 + timedelta(hours=6, minutes=5), "finished")
        with archive.db.conn:
            archive.db.conn.execute(
                'UPDATE crawl_runs SET plan_entry = \'{"name": "warta"}\' WHERE id IN (?, ?)',
                [good, bad],
            )
            archive.db.conn.execute(
                "UPDATE crawl_runs SET started = '2S26-11-01T16:00:00Z' WHERE id = ?", [bad]
            )
        assert last_done(archive) == {"warta": T0}
        # health's overdue signal reads the latest end the same way.
        with archive.db.conn:
            archive.db.conn.execute(
                "UPDATE crawl_runs SET finished = '2S26-11-01T16:05:00Z' WHERE id = ?", [bad]
            )
        assert _overdue(archive, T0 + timedelta(days=1)) == [
            ("a complete run every 6h", "none for 23h55m", good)
        ]
