"""Health compares a site's runs in the order they ended: a stopped crawl continued later
(`crawl --resume`, or a shared crawl's same command again) keeps its run row, started before
runs that ran in between, but what it found is the site's latest news."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize(
    ("between", "continued", "unreachable"),
    [
        # The run in between fetched the site; the continued crawl found it down, as did the
        # last run: two runs in a row unreachable.
        (40, 0, True),
        # The run in between found the site down; the continued crawl fetched it whole: the
        # site is up, whatever the run ids say.
        (0, 40, False),
    ],
)
def test_a_crawl_continued_after_a_later_run_counts_as_the_later_one(
    tmp_path, between: int, continued: int, unreachable: bool
) -> None:
    # Run 1 stopped at 10:00, run 2 (the hourly one) came at 11:00, run 1 was continued at
    # 12:00, and run 3, the latest, found the site down at 13:00.
    with Archive(tmp_path / "archive.db") as archive:
        stopped = archive.start_run("warta", {})
        other = archive.start_run("warta", {})
        _finish(archive, other, between, "2026-11-01T11:00:00Z", "2026-11-01T11:01:00Z")
        _finish(archive, stopped, continued, "2026-11-01T10:00:00Z", "2026-11-01T12:01:00Z")
        last = archive.start_run("warta", {})
        _finish(archive, last, 0, "2026-11-01T13:00:00Z", "2026-11-01T13:01:00Z")
        alarms = {alarm.signal: alarm.run_id for alarm in site_alarms(archive, "warta")}
    assert ("unreachable" in alarms, alarms.get("unreachable", last)) == (unreachable, last)
