"""The plan file: a closed schema whose mistakes name the file and the key; intervals; due-ness."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsarchive.cli.run import CRON_PERIODS, cron_spec, run_period
from newsarchive.plan import PlanError, PlanSite, format_interval, load_plan, parse_interval
from newsarchive.runner import crawl_command, due

GOOD = """
db = "data/archive.db"
contact = "https://lab.example/na"
jobs = 3

[settings]
DOWNLOAD_DELAY = 2

[[sites]]
name = "detik"
site = "https://news.detik.com/"
every = "6h"
since = "2024-01-01"
max_pages = 500
settings = { CONCURRENT_REQUESTS_PER_DOMAIN = 1 }

[[sites]]
name = "mine"
site = "profiles/mine.toml"
every = "1d12h"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_plan_resolves_paths_against_its_own_directory(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, GOOD))
    assert plan.db == tmp_path / "data" / "archive.db"
    assert plan.jobs == 3 and plan.contact == "https://lab.example/na"
    assert plan.settings == {"DOWNLOAD_DELAY": 2}
    detik, mine = plan.sites
    assert detik.every == timedelta(hours=6) and detik.max_pages == 500
    assert detik.settings == {"CONCURRENT_REQUESTS_PER_DOMAIN": 1}
    assert mine.site == str(tmp_path / "profiles" / "mine.toml")
    assert mine.every == timedelta(days=1, hours=12)
    cmd = crawl_command(plan, detik)
    assert cmd[3:5] == ["crawl", "https://news.detik.com/"]
    assert cmd[7:9] == ["--name", "detik"]
    assert "DOWNLOAD_DELAY=2.0" in cmd and "CONCURRENT_REQUESTS_PER_DOMAIN=1" in cmd
    assert cmd[cmd.index("--since") : cmd.index("--since") + 2] == ["--since", "2024-01-01"]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("jobs = 3", "jobs = 0"), "jobs"),
        (("jobs = 3", 'jobs = "two"'), "jobs"),
        (("jobs = 3", "job = 3"), "job"),
        (('every = "6h"', 'every = "often"'), "sites[0].every"),
        (('every = "6h"', 'every = "1m"'), "sites[0].every"),
        (('every = "6h"', "every = 6"), "sites[0].every"),
        (('since = "2024-01-01"', 'since = "kemarin"'), "sites[0].since"),
        (("max_pages = 500", "max_pages = -1"), "sites[0].max_pages"),
        (('name = "mine"', 'name = "detik"'), "sites"),
        (('name = "mine"', 'nama = "mine"'), "sites[1].nama"),
        (("DOWNLOAD_DELAY = 2", 'DOWNLOAD_DELAY = "slow"'), "settings.DOWNLOAD_DELAY"),
        (("DOWNLOAD_DELAY = 2", "DOWNLOAD_DELY = 2"), "settings.DOWNLOAD_DELY"),
        (('db = "data/archive.db"', "db = 5"), "db"),
        (('site = "https://news.detik.com/"', 'site = "ftp://news.detik.com/"'), "sites[0].site"),
        (('site = "https://news.detik.com/"', 'site = "http://:80/"'), "sites[0].site"),
        (("max_pages = 500", 'base_url = "news.detik.com"'), "sites[0].base_url"),
        (("max_pages = 500", 'base_url = "file:///srv/mirror/"'), "sites[0].base_url"),
        (('contact = "https://lab.example/na"', 'contact = "lab kami"'), "contact"),
        (('contact = "https://lab.example/na"', 'contact = "lab.example"'), "contact"),
    ],
)
def test_mistakes_name_the_file_and_the_key(
    tmp_path: Path, change: tuple[str, str], key: str
) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(PlanError) as err:
        load_plan(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {key}:"), message
    assert "\n" not in message


def test_an_address_in_capitals_is_an_address(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, GOOD.replace("https://news", "HTTPS://news")))
    assert plan.sites[0].site == "https://news.detik.com/"


def test_missing_broken_and_empty_plans(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="no such plan file"):
        load_plan(tmp_path / "none.toml")
    with pytest.raises(PlanError, match="not valid TOML"):
        load_plan(write(tmp_path, "db = "))
    with pytest.raises(PlanError, match="sites: expected at least one"):
        load_plan(write(tmp_path, 'db = "x.db"'))


@pytest.mark.parametrize(
    ("text", "hours"), [("6h", 6), ("1d", 24), ("1d12h", 36), ("90m", 1.5), ("1w", 168)]
)
def test_intervals(text: str, hours: float) -> None:
    assert parse_interval(text) == timedelta(hours=hours)
    assert parse_interval(format_interval(parse_interval(text))) == timedelta(hours=hours)


@pytest.mark.parametrize("text", ["", "6", "h", "6x", "six hours", "6h-"])
def test_bad_intervals(text: str) -> None:
    with pytest.raises(ValueError):
        parse_interval(text)


def test_due_with_a_tolerance_for_cron_ticks(tmp_path: Path) -> None:
    entry = load_plan(write(tmp_path, GOOD)).sites[0]  # every 6h
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert due(entry, None, now) == (True, "never crawled")
    assert due(entry, now - timedelta(hours=5, minutes=59, seconds=50), now)[0]
    assert not due(entry, now - timedelta(hours=5), now)[0]
    assert due(entry, now - timedelta(hours=5), now)[1] == "not due: last run 5h ago, every 6h"


@pytest.mark.parametrize(
    ("every", "spec"),
    [("5m", "*/5 * * * *"), ("45m", "*/30 * * * *"), ("1h", "7 * * * *"), ("7h", "7 */6 * * *")]
    + [("1d", "7 3 * * *"), ("2w", "7 3 * * 1")],
)
def test_cron_steps(every: str, spec: str) -> None:
    assert cron_spec(parse_interval(every)) == spec


@pytest.mark.parametrize("cron", [True, False], ids=["cron", "systemd"])
@pytest.mark.parametrize(
    "everies", [["6h", "90m"], ["7h"], ["45m"], ["36h", "1d"], ["2d", "3d"], ["2w"], ["7m", "1h"]]
)
def test_each_site_is_crawled_at_its_own_interval(everies: list[str], cron: bool) -> None:
    # Before, `run` was called at the shortest `every` rounded down to what cron says: a site
    # every 7 h, called 6-hourly, was crawled every 12 h; every 45 m, called half-hourly, hourly.
    sites = [PlanSite(f"s{n}", "demo", parse_interval(every)) for n, every in enumerate(everies)]
    period = run_period([site.every for site in sites], cron=cron)
    if cron:
        assert period.total_seconds() / 60 in CRON_PERIODS
        assert cron_spec(period) == cron_spec(period + timedelta(seconds=59))  # said exactly
    rng = random.Random(len(everies))
    start = datetime(2026, 1, 5, 0, 7, tzinfo=UTC)
    last: dict[str, datetime] = {}
    gaps: dict[str, list[timedelta]] = {site.name: [] for site in sites}
    for call in range(int(timedelta(days=45) / period)):
        # A call comes a few seconds after its tick, and so does the crawl it starts.
        now = start + call * period + timedelta(seconds=rng.uniform(0, 10))
        for site in sites:
            if due(site, last.get(site.name), now)[0]:
                if site.name in last:
                    gaps[site.name].append(now - last[site.name])
                last[site.name] = now
    for site in sites:
        late = [gap for gap in gaps[site.name] if abs(gap - site.every) > timedelta(minutes=5)]
        assert len(gaps[site.name]) >= 2 and not late, (site.every, period, late[:3])


def test_a_last_run_in_the_future_is_due_not_waited_for(tmp_path: Path) -> None:
    """A run row started "in the future": a new machine's clock set wrong before its time sync,
    or a start garbled on disk into another year. Waited for, the site went uncrawled until
    then, without a word."""
    entry = load_plan(write(tmp_path, GOOD)).sites[0]  # every 6h
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert due(entry, datetime(2027, 1, 1, 12, 0, tzinfo=UTC), now) == (
        True,
        "its last run started in the future (2027-01-01T12:00:00Z), by this clock",
    )
    # A few minutes ahead is clock skew between machines or a leap: not due yet.
    assert not due(entry, now + timedelta(minutes=3), now)[0]
