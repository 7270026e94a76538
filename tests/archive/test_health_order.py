"""Health compares a site's runs in the order they ended: a stopped crawl continued later
(`crawl --resume`, or a shared crawl's same command again) keeps its run row, started before
runs that ran in between, but what it found is the site's latest news."""

from __future__ import annotations

import pytest
from archive_fixtures import add_run

from newsarchive.storage import Archive
from newsarchive.storage.health import site_alarms


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

        def run(pages: int, started: str, finished: str) -> int:
            failures = 0 if pages else 8
            return add_run(
                archive, "warta", started, finished, pages=pages, new=0, failures=failures
            )

        run(continued, "2026-11-01T10:00:00Z", "2026-11-01T12:01:00Z")  # run 1, continued
        run(between, "2026-11-01T11:00:00Z", "2026-11-01T11:01:00Z")
        last = run(0, "2026-11-01T13:00:00Z", "2026-11-01T13:01:00Z")
        alarms = {alarm.signal: alarm.run_id for alarm in site_alarms(archive, "warta")}
    assert ("unreachable" in alarms, alarms.get("unreachable", last)) == (unreachable, last)
