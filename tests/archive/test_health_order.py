"""Health compares a site's runs in the order they ended: a stopped crawl continued later
(`crawl --resume`, or a shared crawl's same command again) keeps its run row, started before
runs that ran in between, but what it found is the site's latest news."""

from __future__ import annotations

from newsarchive.storage import Archive
from newsarchive.storage.health import site_alarms


def _finish(archive: Archive, run_id: int, pages: int, started: str, finished: str) -> None:
    archive.finish_run(
        run_id,
        pages_fetched=pages,
        articles_new=0,
        articles_updated=0,
        articles_unchanged=pages,
        failures=0 if pages else 8,
    )
    with archive.db.conn:
        archive.db.conn.execute(
            "UPDATE crawl_runs SET started = ?, finished = ? WHERE id = ?",
            [started, finished, run_id],
        )


def test_a_crawl_continued_after_a_later_run_counts_as_the_later_one(tmp_path):
    # Run 1 stopped at 10:00; run 2 (the hourly one) fetched the site at 11:00; run 1 continued
    # at 12:00 found the site down, and so did run 3 at 13:00: two runs in a row unreachable.
    with Archive(tmp_path / "archive.db") as archive:
        stopped = archive.start_run("warta", {})
        between = archive.start_run("warta", {})
        _finish(archive, between, 40, "2026-11-01T11:00:00Z", "2026-11-01T11:01:00Z")
        _finish(archive, stopped, 0, "2026-11-01T10:00:00Z", "2026-11-01T12:01:00Z")
        last = archive.start_run("warta", {})
        _finish(archive, last, 0, "2026-11-01T13:00:00Z", "2026-11-01T13:01:00Z")
        alarms = {alarm.signal: alarm for alarm in site_alarms(archive, "warta")}
    assert "unreachable" in alarms, alarms
    assert alarms["unreachable"].run_id == last


def test_the_run_that_ended_last_is_the_one_judged(tmp_path):
    # Run 2 found the site down at 11:00; run 1, stopped earlier and continued at 12:00, fetched
    # it whole: the site is up, whatever the run ids say.
    with Archive(tmp_path / "archive.db") as archive:
        stopped = archive.start_run("warta", {})
        down = archive.start_run("warta", {})
        _finish(archive, down, 0, "2026-11-01T11:00:00Z", "2026-11-01T11:01:00Z")
        _finish(archive, stopped, 40, "2026-11-01T10:00:00Z", "2026-11-01T12:01:00Z")
        again = archive.start_run("warta", {})
        _finish(archive, again, 0, "2026-11-01T13:00:00Z", "2026-11-01T13:01:00Z")
        alarms = {alarm.signal for alarm in site_alarms(archive, "warta")}
    assert "unreachable" not in alarms, alarms
