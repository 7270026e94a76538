"""The lead image's and the tags' fill-rates: a run's stories fill them unevenly, so only their
collapse is a health alarm, where the other fields alarm on a 20-point fall."""

from __future__ import annotations

import json

import pytest
from archive_fixtures import add_run

from newsarchive.storage import Archive
from newsarchive.storage.health import site_alarms

FULL = {"title": 100.0, "authors": 90.0, "published": 100.0, "category": 100.0, "body": 100.0}


def alarms_after(tmp_path, history: list[dict[str, float]], latest: dict[str, float]) -> set[str]:
    """The fill-rate signals of a site whose runs had these rates, `latest` the last."""
    with Archive(tmp_path / "archive.db") as archive:
        for day, rates in enumerate([*history, latest], start=1):
            run_id = add_run(
                archive, "warta", f"2026-11-{day:02d}T10:00:00Z", f"2026-11-{day:02d}T10:05:00Z"
            )
            with archive.db.conn:
                archive.db.conn.execute(
                    "UPDATE crawl_runs SET articles_seen = 20, fill_rates = ? WHERE id = ?",
                    [json.dumps(rates), run_id],
                )
        return {
            alarm.line().split()[1]
            for alarm in site_alarms(archive, "warta")
            if alarm.signal.startswith("fill-rate:")
        }


@pytest.mark.parametrize(
    ("usual", "latest", "alarm"),
    [
        (90.0, 0.0, True),  # a redesign: gone from every article
        (60.0, 15.0, True),  # a quarter of the usual rate
        (60.0, 20.0, False),  # a run of wire stories without tags: 40 points down, no alarm
        (30.0, 0.0, False),  # a site that rarely has them says nothing by losing them
        (90.0, 90.0, False),
    ],
)
def test_image_and_tags_alarm_only_when_their_rate_collapses(
    tmp_path, usual: float, latest: float, alarm: bool
) -> None:
    history = [{**FULL, "image": usual, "tags": usual + 5 * k} for k in (-1, 0, 1)]
    found = alarms_after(tmp_path, history, {**FULL, "image": latest, "tags": latest})
    expected = {"fill-rate:image", "fill-rate:tags"} if alarm else set()
    assert found == expected


def test_runs_from_before_image_and_tags_were_kept_give_no_baseline_for_them(tmp_path) -> None:
    # Runs recorded before this change hold five rates: the first run that holds image and
    # tags has nothing to be compared with.
    found = alarms_after(tmp_path, [FULL, FULL], {**FULL, "image": 0.0, "tags": 0.0})
    assert found == set()


def test_the_other_fields_still_alarm_on_a_twenty_point_fall(tmp_path) -> None:
    rich = {**FULL, "image": 80.0, "tags": 80.0}
    found = alarms_after(tmp_path, [rich, rich], {**rich, "authors": 65.0, "tags": 45.0})
    assert found == {"fill-rate:authors"}
