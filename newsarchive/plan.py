"""The plan file (`newsarchive.toml`): which sites to keep archived, how often, into which archive.

    db = "data/archive.db"
    contact = "https://my-lab.example/newsarchive"
    jobs = 2                      # sites crawled at once, each in its own processes

    [settings]                    # Scrapy settings for every site (optional)
    DOWNLOAD_DELAY = 2

    [[sites]]
    name = "detik"                # the entry's name: how runs and alarms refer to it
    site = "https://news.detik.com/"   # a URL, a packaged profile name, or a profile file
    every = "6h"                  # 30m, 6h, 1d, 1w, or combined: 1d12h
    since = "2024-01-01"          # optional
    max_pages = 500               # optional
    base_url = "http://..."       # optional: where a profile's relative start URLs live
    settings = { DOWNLOAD_DELAY = 3 }  # optional, per site

The schema is closed: an unknown key, a wrong type or a bad value is a PlanError naming the file
and the key, as for site profiles. Relative paths (`db`, profile files) are relative to the plan
file's directory, so cron can run it from anywhere.
"""

from __future__ import annotations

import errno
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from newsarchive.errors import NewsarchiveError
from newsarchive.urls import contact_address, meant_address, web_address

DEFAULT_PLAN = Path("newsarchive.toml")
PLAN_ENV = "NEWSARCHIVE_PLAN"
DEFAULT_JOBS = 2

TOP_KEYS = {"db", "contact", "jobs", "settings", "sites"}
SITE_KEYS = {"name", "site", "every", "since", "max_pages", "base_url", "settings"}
_INTERVAL_PART = re.compile(r"(\d+)\s*([smhdw])", re.I)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Shorter intervals would make `run` a crawler in a loop, which is not what a plan is for.
MIN_INTERVAL = timedelta(minutes=5)


class PlanError(NewsarchiveError):
    """A plan file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class PlanSite:
    name: str
    site: str
    every: timedelta
    since: str | None = None
    max_pages: int | None = None
    base_url: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def entry(self) -> dict[str, Any]:
        """The entry as written (resolved), for crawl_runs.plan_entry."""
        return {
            "name": self.name,
            "site": self.site,
            "every": format_interval(self.every),
            "since": self.since,
            "max_pages": self.max_pages,
            "base_url": self.base_url,
            "settings": self.settings,
        }


@dataclass(frozen=True)
class Plan:
    path: Path
    db: Path
    contact: str | None
    jobs: int
    settings: dict[str, Any]
    sites: tuple[PlanSite, ...]

    def site(self, name: str) -> PlanSite:
        for entry in self.sites:
            if entry.name == name:
                return entry
        known = ", ".join(s.name for s in self.sites)
        raise PlanError(f"{self.path}: no site named {name!r} (the plan has: {known})")


# Past this an interval is a typo (and past timedelta's range an OverflowError): ten years.
MAX_INTERVAL = timedelta(days=3650)


def parse_interval(text: str) -> timedelta:
    """'6h' -> 6 hours; '1d12h', '90m', '2w'. ValueError for anything else."""
    compact = text.strip().replace(" ", "")
    parts = _INTERVAL_PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts).lower() != compact.lower():
        raise ValueError(f"{text!r} is not an interval like 30m, 6h, 1d or 1d12h")
    seconds = sum(int(n) * _UNIT_SECONDS[u.lower()] for n, u in parts)
    if seconds > MAX_INTERVAL.total_seconds():
        raise ValueError(f"{text!r} is longer than any schedule (at most {MAX_INTERVAL.days}d)")
    return timedelta(seconds=seconds)


def format_interval(interval: timedelta) -> str:
    """6 hours -> '6h'; the inverse of parse_interval for whole units."""
    seconds = int(interval.total_seconds())
    out = ""
    for unit in ("w", "d", "h", "m", "s"):
        count, seconds = divmod(seconds, _UNIT_SECONDS[unit])
        if count:
            out += f"{count}{unit}"
    return out or "0s"


def find_plan(path: str | Path | None) -> Path:
    """The plan file to use: the one given, else $NEWSARCHIVE_PLAN, else ./newsarchive.toml."""
    if path:
        return Path(path)
    env = os.environ.get(PLAN_ENV, "").strip()
    return Path(env) if env else DEFAULT_PLAN


def plan_periods(db: Path, plan_path: str | Path | None) -> dict[str, timedelta]:
    """Each site's `every` in the plan (given, else found as `run` finds it) when it is the plan
    of archive `db`, else nothing: what health's overdue signal needs."""
    plan_file = find_plan(plan_path)
    if not plan_path and not plan_file.exists():
        return {}
    try:
        plan = load_plan(plan_file)
    except PlanError:
        if plan_path:
            raise
        return {}  # a plan found, not asked for, that does not load: no periods from it
    if plan.db.resolve() != Path(db).resolve():
        return {}
    return {entry.name: entry.every for entry in plan.sites}


def load_plan(path: str | Path) -> Plan:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise PlanError(
            f"{path}: no such plan file (write one, see `newsarchive run --help`)"
        ) from None
    except IsADirectoryError:
        raise PlanError(f"{path}: is a directory, not a plan file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: not valid TOML: {exc}") from None
    return parse_plan(data, path)


def _fail(path: Path, key: str, why: str) -> PlanError:
    return PlanError(f"{path}: {key}: {why}")


def _check_keys(table: Any, allowed: set[str], path: Path, prefix: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise _fail(path, prefix.rstrip(".") or "plan", "expected a table")
    for key in table:
        if key not in allowed:
            raise _fail(
                path, f"{prefix}{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})"
            )
    return table


def _settings(table: Any, path: Path, key: str) -> dict[str, Any]:
    from newsarchive.cli.crawl import check_setting

    if not isinstance(table, dict):
        raise _fail(path, key, "expected a table of Scrapy settings, e.g. { DOWNLOAD_DELAY = 2 }")
    out = {}
    for name, value in table.items():
        try:
            # The same check as `crawl -s`: typed against the setting's default.
            out[name] = check_setting(name, value if isinstance(value, str) else _toml_text(value))
        except NewsarchiveError as exc:
            where = f"{key}.{name}" if name else f'{key}.""'
            raise _fail(path, where, str(exc).split(": ", 1)[-1]) from None
    return out


def _toml_text(value: Any) -> str:
    import json

    return json.dumps(value) if isinstance(value, dict | list | bool) else str(value)


def _resolve_site(value: str, base: Path) -> str:
    """A profile file relative to the plan file's directory; URLs (scheme in lower case) and
    names as they are."""
    url = web_address(value)  # NewsarchiveError for an address no crawl starts from (ftp://)
    if url:
        return url
    if value.endswith(".toml") or "/" in value:
        candidate = Path(value)
        candidate = candidate if candidate.is_absolute() else base / candidate
        refuse_impossible_path(candidate)
        meant = meant_address(value)
        if meant and not candidate.exists():
            # "127.0.0.1:8123/" or "kompas.com/news": an address without its scheme, read as
            # a file beside the plan, would fail every run with a path the user never wrote.
            raise NewsarchiveError(
                f"{value}: no such profile file; to crawl a site by its address, give its "
                f"URL: {meant}"
            )
        return str(candidate.resolve())
    return value


def refuse_impossible_path(path: Path) -> None:
    """Raise NewsarchiveError when no file can be at `path`: a name too long, a symbolic link
    loop, a file where a directory should be (pathlib's resolve() and is_dir() raise there,
    where a missing file is only missing)."""
    try:
        path.stat()
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENAMETOOLONG, errno.ENOTDIR):
            raise NewsarchiveError(f"{str(path)[:300]}: {exc.strerror}") from None


def parse_plan(data: dict[str, Any], path: Path) -> Plan:
    _check_keys(data, TOP_KEYS, path, "")
    base = path.parent.resolve() if path.parent != Path("") else Path.cwd()
    db_value = data.get("db", "data/archive.db")
    if not isinstance(db_value, str) or not db_value.strip() or "\0" in db_value:
        raise _fail(path, "db", 'expected the archive\'s path, e.g. "data/archive.db"')
    db = Path(db_value)
    db = db if db.is_absolute() else base / db
    try:
        refuse_impossible_path(db)
    except NewsarchiveError as exc:
        raise _fail(path, "db", str(exc)) from None
    contact = data.get("contact")
    if contact is not None and (not isinstance(contact, str) or not contact.strip()):
        raise _fail(path, "contact", "expected your contact URL or e-mail, as a string")
    if contact is not None:
        try:
            contact = contact_address(contact)
        except NewsarchiveError as exc:
            raise _fail(path, "contact", str(exc)) from None
    jobs = data.get("jobs", DEFAULT_JOBS)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise _fail(path, "jobs", "expected a whole number of sites to crawl at once, 1 or more")
    settings = _settings(data.get("settings", {}), path, "settings")
    raw_sites = data.get("sites")
    if not isinstance(raw_sites, list) or not raw_sites:
        raise _fail(path, "sites", "expected at least one [[sites]] entry")
    sites: list[PlanSite] = []
    for index, raw in enumerate(raw_sites):
        sites.append(_site(raw, path, f"sites[{index}]", base))
    names = [s.name for s in sites]
    for name in names:
        if names.count(name) > 1:
            raise _fail(path, "sites", f"two entries are named {name!r}; names must be unique")
    return Plan(
        path=path,
        db=db,
        contact=contact,
        jobs=jobs,
        settings=settings,
        sites=tuple(sites),
    )


# What the archive files a site under: a plan's entry name, `crawl --name`, `import --site`.
# Short and printable: it heads the lines of `stats`, `health` and the crawl's summary.
SITE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def site_name_option(ctx: Any, param: Any, value: str | None) -> str | None:
    """Click callback: a site name given on the command line must be one a plan would take."""
    if value is not None and not SITE_NAME.fullmatch(value):
        import click

        option = param.opts[0] if param is not None and param.opts else "name"
        raise click.ClickException(
            f"{option} {value!r}: expected a short name like 'detik' or 'kompas-bola' (letters, "
            "digits, _ . -)"
        )
    return value


def _site(raw: Any, path: Path, key: str, base: Path) -> PlanSite:
    table = _check_keys(raw, SITE_KEYS, path, f"{key}.")
    for required in ("name", "site", "every"):
        if required not in table:
            raise _fail(path, f"{key}.{required}", "missing (name, site and every are required)")
    name = table["name"]
    if not isinstance(name, str) or not SITE_NAME.fullmatch(name):
        raise _fail(path, f"{key}.name", "expected a short name like 'detik' or 'kompas-bola'")
    site = table["site"]
    if not isinstance(site, str) or not site.strip():
        raise _fail(path, f"{key}.site", "expected a URL, a profile name or a profile file")
    every_text = table["every"]
    try:
        if not isinstance(every_text, str):
            raise ValueError('expected a string like "6h"')
        every = parse_interval(every_text)
    except ValueError as exc:
        raise _fail(path, f"{key}.every", str(exc)) from None
    if every < MIN_INTERVAL:
        raise _fail(path, f"{key}.every", f"{every_text!r} is shorter than the minimum, 5m")
    since = table.get("since")
    if since is not None:
        from newsarchive.storage.records import parse_since

        if not isinstance(since, str):
            raise _fail(path, f"{key}.since", 'expected a date as a string, e.g. "2024-01-01"')
        try:
            parse_since(since)
        except NewsarchiveError as exc:
            raise _fail(path, f"{key}.since", str(exc)) from None
    max_pages = table.get("max_pages")
    if max_pages is not None and (
        not isinstance(max_pages, int) or isinstance(max_pages, bool) or max_pages < 1
    ):
        raise _fail(path, f"{key}.max_pages", "expected a whole number, 1 or more")
    base_url = table.get("base_url")
    if base_url is not None:
        try:
            usable = isinstance(base_url, str) and web_address(base_url)
        except NewsarchiveError as exc:
            raise _fail(path, f"{key}.base_url", str(exc)) from None
        if not usable:
            raise _fail(path, f"{key}.base_url", "expected an http(s) URL")
    if "\0" in site:
        raise _fail(path, f"{key}.site", "a NUL character in it: no profile file or URL has one")
    try:
        resolved = _resolve_site(site.strip(), base)
    except NewsarchiveError as exc:
        raise _fail(path, f"{key}.site", str(exc)) from None
    return PlanSite(
        name=name,
        site=resolved,
        every=every,
        since=since,
        max_pages=max_pages,
        base_url=base_url,
        settings=_settings(table.get("settings", {}), path, f"{key}.settings"),
    )
