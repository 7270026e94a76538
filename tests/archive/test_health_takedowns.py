"""Health's taken-down alarm: a run that finds many of a site's articles gone at once (its URLs
changed, or it answers the crawler 404) is said, a site's usual takedowns are not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from archive_fixtures import add_run, make_article, make_raw

from newsarchive.storage import Archive
from newsarchive.storage.health import TAKEDOWN_ALARM, site_alarms

START = datetime(2026, 11, 1, tzinfo=UTC)


def _at(hours: float) -> str:
    return (START + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _archive_with_runs(path, gone_per_run: list[int]) -> Archive:
    """Runs a day apart, each an hour long, and in each the given number of the site's
    articles found gone (gone_since within the run)."""
    archive = Archive(path)
    urls = [f"https://warta.example.id/berita/{n}" for n in range(sum(gone_per_run) + 5)]
    for url in urls:
        archive.store(make_raw(url), make_article(url), site="warta")
    gone = iter(urls)
    for day, count in enumerate(gone_per_run):
        add_run(archive, "warta", _at(24 * day), _at(24 * day + 1), pages=50, failures=count)
        with archive.db.conn:
            for _ in range(count):
                archive.db.conn.execute(
                    "UPDATE articles SET gone_since = ? WHERE url = ?",
                    [_at(24 * day + 0.5), next(gone)],
                )
    return archive


def _signals(archive: Archive) -> dict[str, str]:
    return {alarm.signal: alarm.now for alarm in site_alarms(archive, "warta")}


def test_many_takedowns_in_one_run_fire_an_alarm(tmp_path):
    with _archive_with_runs(tmp_path / "a.db", [1, 0, 2, TAKEDOWN_ALARM + 2]) as archive:
        signals = _signals(archive)
    assert signals["taken-down"].startswith(f"{TAKEDOWN_ALARM + 2} articles")


def test_a_sites_usual_takedowns_are_no_alarm(tmp_path):
    # Few in the latest run, or as many as the site's runs usually find.
    for counts in ([1, 0, TAKEDOWN_ALARM - 1], [6, 5, 7, TAKEDOWN_ALARM + 2]):
        with _archive_with_runs(tmp_path / f"{sum(counts)}.db", counts) as archive:
            assert "taken-down" not in _signals(archive), counts


def _small_site_run(archive: Archive, failing: list[tuple[str, int]]) -> None:
    """A run of a dozen-page site whose fetches of `failing` (URL, status) failed."""
    run_id = archive.start_run("warta", {})
    for url, status in failing:
        archive.record_failure(url, f"HTTP {status}", status=status, run_id=run_id, site="warta")
    archive.finish_run(
        run_id,
        pages_fetched=14,
        articles_new=0,
        articles_updated=0,
        articles_unchanged=12,
        failures=len(failing),
    )


def test_archived_articles_answering_gone_are_no_failure_alarm(tmp_path):
    # Found by the soak fuzzer: two takedowns on a 14-page site read as failures 7% -> 21%.
    archived = [f"https://warta.example.id/berita/{n}" for n in range(4)]
    listing = "https://warta.example.id/indeks?date=2023-07-02"
    with Archive(tmp_path / "a.db") as archive:
        for url in archived:
            archive.store(make_raw(url), make_article(url), site="warta")
        _small_site_run(archive, [(listing, 404)])
        _small_site_run(archive, [(listing, 404), (archived[0], 410), (archived[1], 404)])
        assert "failures" not in _signals(archive)
        # The same share of failures at pages that are no archived article is the alarm.
        _small_site_run(
            archive,
            [(listing, 404), (listing + "&p=2", 404), ("https://warta.example.id/x", 500)],
        )
        assert _signals(archive)["failures"] == "21% (3 of 14)"
