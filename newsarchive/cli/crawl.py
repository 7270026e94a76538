"""`newsarchive crawl` and `newsarchive demo`: conveniences over Scrapy's `portal` spider.

`newsarchive crawl SITE` runs exactly what `scrapy crawl portal -a site=SITE` runs (the same spider,
settings and pipelines), in this process, one site after another; it adds the job directory for
`--resume`, a progress line and a summary.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from newsarchive.cli import PROCESSES_MAX, FilePath, Seconds, cli, friendly_errors, usable_path
from newsarchive.cli import db_option as shared_db_option
from newsarchive.crawl_jobs import COMPLETE_REASONS
from newsarchive.errors import ArchiveUnwritable, NewsarchiveError
from newsarchive.plan import site_name_option

DEMO_DB = Path("data") / "demo.db"
DEMO_PORT = 8638
# The demo portal is our own server on loopback: no need to wait between requests. robots.txt is
# still obeyed (the demo shows that it is).
DEMO_SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
}


@dataclass
class CrawlResult:
    site: str
    stats: dict[str, Any]

    def count(self, key: str) -> int:
        return int(self.stats.get(f"newsarchive/{key}", 0) or 0)

    def summary(self) -> str:
        s = self.stats
        # A disk that filled while the last items were stored, after the spider closed: Scrapy
        # has said "finished" by then; the run row says why it did not.
        reason = s.get("finish_reason", "not finished")
        if s.get("newsarchive/unwritable"):
            reason = ArchiveUnwritable.finish_reason
        return (
            f"{self.site}: {s.get('response_received_count', 0)} pages fetched; articles "
            f"{self.count('new')} new, {self.count('updated')} updated, {self.count('unchanged')} unchanged; "
            f"{self.count('page')} other pages; {self.count('failures')} failures; "
            f"{s.get('newsarchive/skipped_archived', 0)} archived articles skipped"
            + (f", {self.count('rechecks')} rechecked; " if self.count("rechecks") else "; ")
            + f"{float(s.get('newsarchive/seconds', 0) or 0):.1f}s (run {s.get('newsarchive/run_id')}, "
            f"{reason})"
        )


def _site_name(site: str) -> str:
    from newsarchive.sites import find_profile, load_profile
    from newsarchive.urls import site_from_url, web_address

    url = web_address(site)
    if url:
        profile = find_profile(url)
        return profile.name if profile else (site_from_url(url) or "site")
    return load_profile(site).name  # raises ProfileError for an unknown site


def checked_names(
    sites: list[str], *, since: str | None, base_url: str | None, site_name: str | None
) -> list[str]:
    """The archive's name for each site to crawl, once the sites, `--since`, `--base-url` and
    the NEWSARCHIVE_CONTACT the settings read are checked: a mistake in any is a one-line error
    before anything starts."""
    from newsarchive.spiders.portal import _since
    from newsarchive.urls import required_address

    _since(since)
    if base_url is not None:
        try:
            required_address(base_url, "expected an http(s) URL")
        except NewsarchiveError as exc:
            raise NewsarchiveError(f"--base-url {exc}") from None
    if os.environ.get("NEWSARCHIVE_CONTACT", "").strip():  # read by newsarchive.settings
        _checked_contact(os.environ["NEWSARCHIVE_CONTACT"], "NEWSARCHIVE_CONTACT")
    names = [_site_name(site) for site in sites]
    return [site_name] if site_name else names


def job_dir(db: Path, site: str) -> Path:
    """Scrapy's JOBDIR for `--resume`: beside the archive (data/jobs/<archive>/<site>)."""
    return Path(db).parent / "jobs" / Path(db).stem / re.sub(r"[^A-Za-z0-9_.-]+", "_", site)


def _checked_contact(text: str, where: str) -> str:
    from newsarchive.urls import contact_address

    try:
        return contact_address(text)
    except NewsarchiveError as exc:
        raise NewsarchiveError(f"{where} {exc}") from None


def parse_overrides(pairs: tuple[str, ...]) -> dict[str, Any]:
    """`-s NAME=VALUE` pairs as settings, each value checked against the type of the setting's
    default (a number where a number is expected...), so a typo is a one-line error before the
    crawl starts rather than an exception inside it."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise NewsarchiveError(f"-s {pair!r}: expected NAME=VALUE, e.g. -s DOWNLOAD_DELAY=2")
        out[name] = check_setting(name, value)
    return out


def _default_settings() -> Any:
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("newsarchive.settings", priority="project")
    return settings


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Settings that let no request start at 0: a crawl that waits forever.
AT_LEAST_ONE = frozenset(
    {"CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN", "CONCURRENT_ITEMS"}
)


def _usable_number(name: str, number: float, value: str) -> float:
    """`number` unless no crawl can run with it: nan or inf (a delay or a size past any clock),
    below 0 (only priorities go below), 0 for the concurrency settings."""
    import math

    if not math.isfinite(number):
        raise NewsarchiveError(f"-s {name}={value!r}: expected a finite number")
    if number < 0 and "PRIORITY" not in name:
        raise NewsarchiveError(f"-s {name}={value!r}: expected a number from 0")
    if number < 1 and name in AT_LEAST_ONE:
        raise NewsarchiveError(f"-s {name}={value!r}: expected at least 1 (0 starts nothing)")
    return number


# What a setting's name may be: letters, digits, underscores (and dots, for an extension's).
SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def check_setting(name: str, value: str) -> Any:
    """`value` for the setting `name`, converted to its default's type; NewsarchiveError names
    the setting and what was expected when it does not convert, or when `name` is a near miss
    of a known setting (DOWNLOAD_DELY)."""
    import difflib

    from scrapy.settings import Settings

    defaults = _default_settings()
    if not SETTING_NAME.fullmatch(name):
        # A plan's `"" = 1` or `"DOWNLOAD DELAY" = 2` reached the crawl as `-s =1` and was
        # refused only there, by the crawl `run` started (`schedule` took the plan).
        raise NewsarchiveError(f"-s {name!r}: not a setting's name (e.g. DOWNLOAD_DELAY)")
    if name not in defaults:
        close = difflib.get_close_matches(name, list(defaults), n=1, cutoff=0.85)
        if close:
            raise NewsarchiveError(f"-s {name}: unknown setting; did you mean {close[0]}?")
        return value  # a setting of some extension: passed on as given
    default = defaults[name]
    if name == "LOG_LEVEL" and str(value).upper() not in LOG_LEVELS:
        raise NewsarchiveError(f"-s {name}={value!r}: expected one of {', '.join(LOG_LEVELS)}")
    if name == "USER_AGENT" and any(char.isspace() and char != " " for char in str(value)):
        # As for a contact: the header cannot hold a line break, and Twisted sends one as a
        # space, so the site would see another User-Agent than the one written.
        raise NewsarchiveError(
            f"-s {name}={value!r}: a User-Agent is one line (no line break or tab)"
        )
    try:
        probe = Settings({name: value})  # a dict setting's JSON is parsed here already
        if isinstance(default, bool):
            return probe.getbool(name)
        if isinstance(default, int | float):
            # Scrapy reads most numeric settings as floats even where the default is whole.
            number = _usable_number(name, probe.getfloat(name), value)
            if isinstance(default, float):
                return number
            return int(number) if number.is_integer() else number
        if isinstance(default, dict) or hasattr(default, "copy_to_dict"):
            return probe.getdict(name)
        if isinstance(default, (list, tuple)):
            return probe.getlist(name)
    except (TypeError, ValueError):
        kind = {bool: "true or false", int: "a number", float: "a number"}.get(
            type(default), f"a value like {default!r}"
        )
        if isinstance(default, dict) or hasattr(default, "copy_to_dict"):
            kind = "a JSON object"
        raise NewsarchiveError(
            f"-s {name}={value!r}: expected {kind} (the default is {default!r})"
        ) from None
    return value


def run_crawls(
    sites: list[str],
    *,
    db: Path,
    since: str | None = None,
    max_pages: int | None = None,
    resume: bool = False,
    base_url: str | None = None,
    overrides: dict[str, Any] | None = None,
    verbose: bool = False,
    site_name: str | None = None,
) -> list[CrawlResult]:
    """Crawl each site in turn with the `portal` spider; returns each crawl's Scrapy stats."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings
    from twisted.internet import defer

    from newsarchive.crawl_jobs import stop_reactor
    from newsarchive.spiders.portal import PortalSpider
    from newsarchive.storage import check_archive
    from newsarchive.workers import raise_open_file_limit, start_forkserver

    names = checked_names(sites, since=since, base_url=base_url, site_name=site_name)
    # A file that is not our archive (or a damaged one) is named in one line before Scrapy
    # starts, and is left as it was.
    check_archive(db, for_writing=True)
    raise_open_file_limit()
    settings = Settings()
    settings.setmodule("newsarchive.settings", priority="project")
    settings.set("LOG_LEVEL", "INFO" if verbose else "WARNING", priority="cmdline")
    # Failures are counted in the summary and kept in the archive's failures table.
    settings.set("RETRY_GIVE_UP_LOG_LEVEL", "INFO", priority="cmdline")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    settings.set("LOG_INSTALL_ROOT_HANDLER", True, priority="cmdline")
    # Before Scrapy and Twisted start threads (workers.start_forkserver says why).
    start_forkserver()
    process = CrawlerProcess(settings)
    if not verbose:
        # What the command says itself at its end (a dead worker, a full disk) is not logged
        # on the terminal first. On the logger: Scrapy replaces the root handler per crawler.
        for name in ("newsarchive.pipelines", "newsarchive.spiders.portal"):
            logging.getLogger(name).addFilter(
                lambda record: not getattr(record, "newsarchive_reported", False)
            )
    # The first crawler created installs the reactor (asyncio); each crawler has its own copy of
    # the settings, so each site gets its own job directory.
    crawlers = []
    for site, name in zip(sites, names, strict=True):
        crawler = process.create_crawler(PortalSpider)
        if resume:
            crawler.settings.set("JOBDIR", str(job_dir(db, name)), priority="cmdline")
        crawlers.append((site, crawler))
    results: list[CrawlResult] = []
    errors: list[BaseException] = []

    @defer.inlineCallbacks
    def crawl_all():
        try:
            for site, crawler in crawlers:
                yield process.crawl(
                    crawler,
                    site=site,
                    base_url=base_url,
                    db=str(db),
                    since=since,
                    max_pages=max_pages,
                    site_name=site_name,
                )
                stats = crawler.stats.get_stats() if crawler.stats else {}
                results.append(CrawlResult(getattr(crawler.spider, "site_name", site), dict(stats)))
        except KeyboardInterrupt:
            pass  # Ctrl-C before the reactor ran: said as a crawl that did not finish
        except Exception as exc:  # reported after the reactor stops, in one line
            errors.append(exc)
        finally:
            stop_reactor()

    crawl_all()
    process.start(stop_after_crawl=False)
    if errors:
        exc = errors[0]
        if isinstance(exc, NewsarchiveError):
            raise exc
        raise NewsarchiveError(f"the crawl could not start: {type(exc).__name__}: {exc}")
    return results


def spider_errors_problem(site: str, count: int) -> str:
    """The Error line for pages the spider failed on (middlewares.SpiderErrors)."""
    return (
        f"{site}: the spider failed on {count} page(s), whose links were not followed (an "
        "error in newsarchive: the log above names each page, `failures` keeps them; "
        "-s LOG_LEVEL=DEBUG shows the tracebacks to report)"
    )


def crawl_problems(results: list[CrawlResult], db: Path) -> list[str]:
    """One line per site whose crawl should alarm whoever reads the cron mail: every request
    failed, or a first crawl that archived no article (a wrong URL, a site that blocks us, a
    template the extractor cannot read); and a line for pages the extractor failed on (an
    error in it, or its worker died), which were kept raw without a record."""
    from newsarchive.storage import Archive

    problems = []
    with Archive(db, readonly=True) as archive:
        for result in results:
            run_id = result.stats.get("newsarchive/run_id")
            # robots.txt's answer is no page of the site: a site answering 500 to everything
            # had one response more than failures, and its crawl passed for a working one.
            fetched = int(result.stats.get("response_received_count", 0) or 0) - int(
                result.stats.get("robotstxt/response_count", 0) or 0
            )
            failures = result.count("failures")
            reason = None
            if run_id is not None:
                row = archive.db.execute(
                    "SELECT reason, count(*) FROM failures WHERE run_id = ? GROUP BY reason "
                    "ORDER BY 2 DESC LIMIT 1",
                    [run_id],
                ).fetchone()
                reason = row[0] if row else None
            if fetched == 0 or (failures and fetched <= failures and not result.count("new")):
                why = f" (most often: {reason})" if reason else ""
                problems.append(f"{result.site}: every request failed, {failures} failures{why}")
                continue
            archived = result.count("new") + result.count("updated") + result.count("unchanged")
            known = archive.db.execute(
                "SELECT count(*) FROM articles WHERE site = ?", [result.site]
            ).fetchone()[0]
            if (
                archived == 0
                and known == 0
                and not result.stats.get("newsarchive/skipped_archived")
            ):
                problems.append(
                    f"{result.site}: no article found in {fetched} pages fetched "
                    f"({result.count('page')} kept as other pages, {failures} failures)"
                )
            garbled = result.count("garbled_records")
            if garbled:
                problems.append(
                    f"{result.site}: {garbled} archived record(s) held a garbled value (bytes "
                    "damaged on disk; the warnings above name them), fetched again to be stored "
                    f"afresh; `newsarchive verify --db {db}` lists any other damage"
                )
            spider_errors = result.count("spider_errors")
            if spider_errors:
                problems.append(spider_errors_problem(result.site, spider_errors))
            unextracted = result.count("missing/extraction")
            if unextracted:
                # Before, only a warning in the log said so: the pages were filed as other pages.
                problems.append(
                    f"{result.site}: extraction failed on {unextracted} page(s), kept as raw "
                    "pages without a record (the warnings above name each and why; "
                    "`newsarchive reextract` tries them again)"
                )
    return problems


db_option = shared_db_option()


@cli.command("crawl")
@click.argument("sites", nargs=-1, required=True, metavar="NAME|URL...")
@db_option
@click.option("--since", metavar="DATE", help="Skip articles published before DATE (YYYY-MM-DD).")
@click.option("--max-pages", type=click.IntRange(min=1), help="Stop each site after N responses.")
@click.option(
    "--resume",
    is_flag=True,
    help="Continue a stopped or killed crawl (job state under data/jobs/).",
)
@click.option(
    "--base-url", help="Where a profile's relative start URLs live (e.g. a local mirror)."
)
@click.option(
    "--contact", metavar="URL", help="Your contact URL for the User-Agent (or NEWSARCHIVE_CONTACT)."
)
@click.option(
    "-s",
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy setting.",
)
@click.option(
    "--name",
    "site_name",
    metavar="NAME",
    callback=site_name_option,
    help="File the articles under this site name (one site only; default: profile name or host).",
)
@click.option(
    "--redis",
    "redis_url",
    metavar="URL",
    help="Share the crawl through Redis (redis://HOST:PORT/DB): workers here and on other "
    "machines (`newsarchive worker`), this process stores.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0, max=PROCESSES_MAX),
    default=2,
    show_default=True,
    help="With --redis: crawl workers started on this machine (at most 4 times the CPU count).",
)
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log.")
@friendly_errors
def crawl_command(
    sites: tuple[str, ...],
    db: Path,
    since: str | None,
    max_pages: int | None,
    resume: bool,
    base_url: str | None,
    contact: str | None,
    settings: tuple[str, ...],
    site_name: str | None,
    redis_url: str | None,
    workers: int,
    verbose: bool,
) -> None:
    """Crawl news portals into the archive: new and changed articles only.

    \b
    Each site is a packaged profile name (see newsarchive/sites/) or just a URL, which is then
    discovered: navigation, sitemaps (robots.txt, sitemap_index.xml, news sitemaps), feeds.
    Same as: scrapy crawl portal -a site=NAME|URL -a db=PATH
    \b
    Examples:
        newsarchive crawl https://news.example.id/ --since 2024-01-01
        newsarchive crawl demo --base-url http://127.0.0.1:8123/ --db data/demo.db
    """
    if site_name is not None and len(sites) > 1:
        raise NewsarchiveError("--name names one site; give a single site with it")
    overrides: dict[str, Any] = parse_overrides(settings)
    if contact:
        from newsarchive import __version__

        contact = _checked_contact(contact, "--contact")
        overrides.setdefault("USER_AGENT", f"newsarchive/{__version__} (+{contact})")
    options: dict[str, Any] = {
        "db": db,
        "since": since,
        "max_pages": max_pages,
        "resume": resume,
        "base_url": base_url,
        "overrides": overrides,
        "verbose": verbose,
        "site_name": site_name,
    }
    if redis_url:
        results = run_shared_crawl_command(
            list(sites), redis_url=redis_url, workers=workers, **options
        )
    else:
        results = run_crawls(list(sites), **options)
    for result in results:
        click.echo(result.summary())
    for result in results:
        if result.stats.get("newsarchive/open_error"):
            raise NewsarchiveError(result.stats["newsarchive/open_error"])
        unwritable = result.stats.get("newsarchive/unwritable")
        if unwritable and result.stats.get("newsarchive/run_id") is None:
            raise NewsarchiveError(f"{unwritable}; the crawl of {result.site} did not start")
        if unwritable:
            raise NewsarchiveError(
                f"{unwritable}; the crawl of {result.site} stopped: "
                f"{result.count('not_stored')} pages fetched were not stored (the next run "
                "fetches them again), everything stored before is kept"
            )
    stopped = [r for r in results if r.stats.get("finish_reason") not in COMPLETE_REASONS]
    if len(results) < len(sites) or stopped:
        reason = stopped[0].stats.get("finish_reason", "not finished") if stopped else "stopped"
        if stopped and stopped[0].stats.get("newsarchive/worker_died"):
            # Which process, and how it ended (the log line saying so is left out above).
            reason = f"{reason}: {stopped[0].stats['newsarchive/worker_died']}"
        if resume:
            raise NewsarchiveError(
                f"a crawl did not finish ({reason}); run again with --resume to continue it"
            )
        # Without --resume there is no job state to continue from; what was stored is kept, and
        # a new crawl does not fetch the archived articles again.
        raise NewsarchiveError(
            f"a crawl did not finish ({reason}); what it stored is kept: run it again to go on "
            "(archived articles are not fetched again)"
        )
    problems = crawl_problems(results, db)
    # The archive's own, found at the crawl's end: the same lines for every site of it.
    problems += dict.fromkeys(
        line for result in results for line in result.stats.get("newsarchive/damage", ())
    )
    for problem in problems:
        click.echo(f"Error: {problem}", err=True)
    if problems:
        raise SystemExit(1)


def run_shared_crawl_command(
    sites: list[str],
    *,
    db: Path,
    redis_url: str,
    workers: int,
    since: str | None,
    max_pages: int | None,
    resume: bool,
    base_url: str | None,
    overrides: dict[str, Any],
    verbose: bool,
    site_name: str | None,
) -> list[CrawlResult]:
    """`newsarchive crawl --redis`: checks, then the writer of newsarchive.distributed."""
    import logging

    from newsarchive.distributed.writer import SharedCrawl, run_shared_crawl
    from newsarchive.storage import check_archive

    if resume:
        raise NewsarchiveError(
            "--resume is for one-process crawls: a shared crawl resumes from Redis when the same "
            "command runs again"
        )
    if max_pages:
        raise NewsarchiveError("--max-pages is not supported with --redis (a per-site budget)")
    names = checked_names(sites, since=since, base_url=base_url, site_name=site_name)
    check_archive(db, for_writing=True)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s: %(message)s"
    )
    crawl = SharedCrawl(
        sites=sites,
        names=names,
        db=db,
        url=redis_url,
        workers=workers,
        base_url=base_url,
        since=since,
        site_name=site_name,
        overrides=overrides,
        verbose=verbose,
    )
    return [CrawlResult(name, stats) for name, stats in run_shared_crawl(crawl)]


@cli.command("worker")
@click.option(
    "--redis",
    "redis_url",
    required=True,
    metavar="URL",
    help="The Redis of the shared crawl (redis://HOST:PORT/DB).",
)
@click.option(
    "--wait",
    type=Seconds(min=0),
    default=60.0,
    show_default=True,
    help="Seconds to wait for a crawl to appear in Redis.",
)
@click.option(
    "--redis-patience",
    type=Seconds(min=0),
    default=0.0,
    show_default=True,
    help="Seconds to keep trying a Redis that does not answer at the start (0: one Error line "
    "at once, a mistyped URL being likelier). Once joined, the crawl's own patience applies.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log.")
@friendly_errors
def worker_command(redis_url: str, wait: float, redis_patience: float, verbose: bool) -> None:
    """Join a shared crawl (started with `newsarchive crawl SITE --redis URL`) from any machine.

    \b
    Fetches and extracts; the items go to the crawl's writer through Redis (no archive here).
    Ends when the crawl is over. The contact URL and settings come from the crawl itself.
    """
    from newsarchive.distributed.worker import run_worker

    report = run_worker(redis_url, wait=wait, patience=redis_patience, verbose=verbose)
    click.echo(report.summary())
    if report.problem:
        raise NewsarchiveError(report.problem)
    results = [CrawlResult(site, stats) for site, stats in report.sites.items()]
    failed = [
        spider_errors_problem(result.site, result.count("spider_errors"))
        for result in results
        if result.count("spider_errors")
    ]
    for line in failed:
        click.echo(f"Error: {line}", err=True)
    if failed:
        raise SystemExit(1)


@cli.command("demo")
@click.option(
    "--db",
    type=FilePath(readable=False, path_type=Path),  # the archive's own one-line checks
    callback=usable_path,
    default=DEMO_DB,
    show_default=True,
    help="The archive to crawl the demo portal into.",
)
@click.option(
    "--serve", is_flag=True, help="Keep serving the demo portal after the crawl (Ctrl-C stops)."
)
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log.")
@friendly_errors
def demo_command(db: Path, serve: bool, verbose: bool) -> None:
    """Crawl the bundled demo portal (offline, on 127.0.0.1) into an archive.

    A generated Indonesian news site with the chrome of real portals (tickers, "Baca juga"
    inserts, share bars, related lists), categories with pagination, a sitemap, a feed, a
    robots.txt, a multi-page article, a redirect and broken links, crawled with the real spider.
    """
    from newsarchive.demo import DemoServer
    from newsarchive.demo.check import audit
    from newsarchive.storage import Archive
    from newsarchive.storage.health import site_alarms
    from newsarchive.storage.queries import article_rows

    try:
        # The same port on every run keeps the demo's URLs stable, so a second `newsarchive demo`
        # is an incremental crawl of the same portal rather than a new one.
        server = DemoServer(port=DEMO_PORT).start()
    except OSError:
        server = DemoServer().start()
    try:
        click.echo(
            f"Demo portal serving {len(server.portal.articles)} articles at {server.base_url}"
        )
        started = time.monotonic()
        results = run_crawls(
            ["demo"], db=db, base_url=server.base_url, overrides=DEMO_SETTINGS, verbose=verbose
        )
        for result in results:
            click.echo(result.summary())
        with Archive(db) as archive:
            report = audit(article_rows(archive, site="demo"), server.portal)
            failures = archive.count("failures")
            alarms = site_alarms(archive, "demo")
        click.echo(
            f"Archive {db}: {report.archived} of {report.expected} demo articles archived, "
            f"{report.complete} with title, author, date and a clean body "
            f"({failures} failures recorded in all runs; {time.monotonic() - started:.1f}s)."
        )
        for path, problems in list(report.problems.items())[:5]:
            click.echo(f"  {path}: {'; '.join(problems)}")
        click.echo(
            "Health: no alarm (newsarchive health compares each run with the site's history)"
            if not alarms
            else "Health: " + "; ".join(alarm.line() for alarm in alarms)
        )
        click.echo(f"Browse it:  newsarchive browse --db {db}")
        click.echo(f"Search it:  newsarchive search --db {db} pekerja")
        if serve:
            click.echo(f"Still serving the demo portal at {server.base_url} (Ctrl-C stops).")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    finally:
        server.stop()
