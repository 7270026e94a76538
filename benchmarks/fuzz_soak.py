"""Months of unattended runs against a portal that changes, in minutes: one archive, many runs.

    python benchmarks/fuzz_soak.py --cases 6 --seed 1
    python benchmarks/fuzz_soak.py --cases 3 --seed 40 --runs 40 --changes takedown,restore
    python benchmarks/fuzz_soak.py --cases 4 --seed 90 --weight killed=6
    python benchmarks/fuzz_soak.py --cases 4 --seed 200 --shared 2   # `crawl`s through Redis

Each case serves a demo portal of its own on 127.0.0.1 (a pool of 20-40 generated articles, the
oldest 6-20 published at first; the pages are the demo's own, from newsarchive.demo) and crawls
it 10-40 times into one archive, through `newsarchive run --force` with a plan about half the
time and `newsarchive crawl demo` the rest, changing the portal between runs at random: nothing
(the commonest run), articles published (on the listings, sitemaps, feed and home page), edited
(body or title; the sitemap's lastmod says so for most edits), taken down (404, 410, a 301 to
the home page or to a section; now and then every article at once), restored, moved (a 301 from
the old URL), the site redesigned (every article in the markup `redesigned()` makes) and back,
the server down for a run or two (connection refused), answering 500 or 503 to everything, or
slow; and the runs themselves killed part-way (SIGKILL, SIGTERM, SIGINT) or two started at once
(a second `run` must be refused with 75; a `crawl` beside a run must end sound); with --shared,
the case's Redis restarted between runs (REDIS_RESTARTS: from a snapshot of now, empty, or from
one taken part-way through an earlier shared crawl). Time passes
with NEWSARCHIVE_RECHECK_DAYS=0 (every archived article is due for its recheck); most cases
recheck all of them at each run, some 4 or 9 a run, in rounds.

The harness keeps the portal's truth and checks after each run: the exit status (1 with only
`Error:` lines when the site failed, or when `run` saw an alarm; else 0), `newsarchive health`
and `health --json` (the alarms a change must raise present, none on an ordinary run),
`newsarchive verify`, `newsarchive stats --json` against the tables, and the articles table:
one record per published article, its title and body the site's current ones, at least a version
per change, gone_since set on every article taken down and on no other (what only a recheck
can find, once a round of rechecks has come by); on a run where nothing changed, no raw page,
record or version stored; the archive's growth and the wall time per run, not creeping up. A
case that fails keeps its archive, plan and each run's output (run-NN.log) under --out.

Not a test (random, 1-4 min a case). The runs run the `newsarchive` the processes import: to
soak a fixed version while the checkout changes, export it and run with PYTHONPATH=DIR (as
fuzz_shared.py says). First runs (2026-12-06, 23 cases over seeds 1-8, 11-15 and 21-28, 10-40
runs each), each found a few times over (tests/e2e/test_soak_found.py): an article restored at
its URL stayed gone for ever; a moved article became a second record, the old one rechecked for
ever; of several articles redirected to one section only the first was marked gone (the
section's page 2 read as the next page of each, the dupefilter dropped the rest); a redirect to
a section front or home page with few teasers made the article's record that page ("Portal
Demo"), or an article of its own; a site answering 500 to everything was a crawl that exited 0;
the rechecks a failed run passed over never came round again; and, with that fixed, a round of
rechecks that ended let no next one begin (no takedown or silent edit found after it). Seed 32
then: two takedowns (410) on a 14-page site fired the `failures` alarm on an ordinary run.
With runs killed part-way (SIGKILL, SIGTERM or SIGINT, to the main process or its group;
seeds 41-52): a stop signal that came while the crawl started left it, and the `newsarchive
run` waiting for it, hanging for ever (the workers ignore SIGTERM; multiprocessing's exit hook
waited for them), and a stopped `run` said "run again with --resume" or "the crawl exited with
status -15: no output"; then (seeds 70-74, killed runs weighted up) a SIGTERM that came as the
crawl's workers started was lost (a sweep of signal times over a crawl's start, 1.10-1.40 s in
0.01 s steps, reproduced it), and a crawl given SIGINT while Scrapy built it (before its
reactor ran) sat idle for ever (seeds 73 and 80; a sweep of SIGINT times hung 8 of 8).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsarchive.demo import DemoServer, Portal
from newsarchive.demo.generator import (  # the demo's own page makers: the same markup
    CATEGORIES,
    LISTING_STYLES,
    PER_LISTING_PAGE,
    DemoArticle,
    _esc,
    _html,
    _pager,
    _Renderer,
    _xml,
    redesigned,
)

CLI = [sys.executable, "-m", "newsarchive"]
SITE = "demo"
CONTACT = "https://example.org/fuzz-soak"
SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    # Every archived article is due for its recheck at every run: months of hourly runs.
    "NEWSARCHIVE_RECHECK_DAYS": 0,
    "RETRY_TIMES": 1,  # a run of a site answering 500 takes seconds, not a minute
}
RUN_TIMEOUT = 240
# With --shared: the local workers a `crawl` starts beside its writer (0: one-process crawls).
SHARED_WORKERS = 0
# With --keep-all: every case's directory is kept under --out (runs' output, archive, Redis).
KEEP_ALL = False
# A line of a command's output that is fine to see.
LOG_LINE = re.compile(
    r"^(Error: |WARNING: |INFO: |demo: |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[[^\]]+\] (WARNING|INFO): )"
)
BAD_WORDS = ("Traceback", "Spider error", "ERROR")
CHANGES = (
    "nothing", "publish", "edit_body", "edit_title", "takedown", "restore", "move",
    "redesign", "down", "error_500", "error_503", "slow", "killed", "overlap", "redis",
)  # fmt: skip
# How often each change is drawn: nothing changing is the commonest run.
WEIGHTS = {"nothing": 8, "publish": 4, "edit_body": 2, "edit_title": 2, "takedown": 2}
WEIGHTS |= {"restore": 1, "move": 1, "redesign": 0.5, "down": 0.7, "error_500": 0.4}
WEIGHTS |= {"error_503": 0.4, "slow": 0.6, "killed": 0.8, "overlap": 0.5, "redis": 0.6}
# With --shared: how Redis restarts between runs ("redis"): from a snapshot of now (nothing
# lost), empty (no persistence, or its files lost), or from a snapshot taken during an earlier
# shared crawl (RDB every few minutes: a reboot brings back the state of minutes ago).
REDIS_RESTARTS = ("kept", "empty", "old")
# How often a shared crawl has a snapshot taken part-way, for "old" restarts to come back to.
SNAPSHOT_CHANCE = 0.4
# How a run is killed part-way: a power cut or the OOM killer, systemd stopping it, Ctrl-C.
KILL_SIGNALS = (signal.SIGKILL, signal.SIGKILL, signal.SIGTERM, signal.SIGINT)
GONE_KINDS = ("404", "410", "home", "section")
# health compares with the median of the 5 runs before: a redesign is the median 3 runs later.
HISTORY_AFTER_REDESIGN = 6


@dataclass
class Article:
    """One article of the pool as the site shows it now."""

    demo: DemoArticle
    pool_pages: dict[str, bytes]  # path -> the page as generated (the article's own path)
    published: bool = False
    state: str = "live"  # live | 404 | 410 | home | section
    path: str = ""
    old_paths: list[str] = field(default_factory=list)  # moved from: each answers 301
    title: str = ""
    replaced: dict[str, str] = field(default_factory=dict)  # paragraph -> its edited text
    lastmod: datetime | None = None  # set by most edits: the sitemap says so
    # Site.reached when the site last changed the article without its sitemap saying so (a
    # silent edit, a takedown, a restore): only a recheck finds that.
    unannounced_at: int = 0
    # What the archive should hold after the next run (reached by a fetch).
    versions_expected: int = 0

    @property
    def live(self) -> bool:
        return self.published and self.state == "live"


@dataclass
class Site:
    """The portal's truth: what each run changes, and the pages served from it."""

    server: DemoServer
    articles: list[Article]  # newest first, as generate_portal orders them
    info_pages: dict[str, tuple[int, dict[str, str], bytes]]
    redesign: bool = False
    mode: str = "up"  # up | down | 500 | 503 | slow
    # Runs so far that reached the site (not down, failing everything, killed or continuing a
    # stopped shared crawl): a round of rechecks moves on in those alone.
    reached: int = 0

    def url(self, path: str) -> str:
        return self.server.base_url.rstrip("/") + path

    def visible(self) -> list[Article]:
        return [a for a in self.articles if a.live]

    def article_page(self, art: Article, raw: bytes) -> bytes:
        text = raw.decode("utf-8")
        if self.redesign:
            text = redesigned(text)
        # Links between articles (related, "Baca juga") go: a page's bytes do not change when
        # another article is published or taken down, so only the listings, sitemaps and feed
        # lead to articles.
        text = re.sub(r'<a href="(/[^"?#]+)[^"]*">(.*?)</a>', self._unlink, text)
        if art.title != art.demo.title:
            text = text.replace(_esc(art.demo.title), _esc(art.title))
        for old, new in art.replaced.items():
            text = text.replace(f"<p>{_esc(old)}</p>", f"<p>{_esc(new)}</p>")
        if art.path != art.demo.path:
            text = text.replace(self.url(art.demo.path), self.url(art.path))
            text = text.replace(f'href="{art.demo.path}?page=', f'href="{art.path}?page=')
        return text.encode("utf-8")

    def _unlink(self, match: re.Match[str]) -> str:
        path = match.group(1)
        if path in self._article_paths:
            return match.group(2)
        return match.group(0)

    @property
    def _article_paths(self) -> set[str]:
        paths = set()
        for art in self.articles:
            paths.update({art.demo.path, art.demo.link_path, art.path, *art.old_paths})
        return paths

    def pages(self) -> dict[str, tuple[int, dict[str, str], bytes]]:
        """Every page the site serves now."""
        pages = dict(self.info_pages)
        shown = self.visible()
        for art in self.articles:
            if not art.published:
                continue
            for old in art.old_paths:
                pages[old] = (301, {"Location": self.url(art.path)}, b"")
            if art.state == "410":
                pages[art.path] = (410, {"Content-Type": "text/html"}, b"<h1>410 Gone</h1>")
            elif art.state == "home":
                pages[art.path] = (301, {"Location": self.url("/")}, b"")
            elif art.state == "section":
                section = _Renderer._category_path(art.demo.category)
                pages[art.path] = (301, {"Location": self.url(section)}, b"")
            elif art.state == "live":
                for pool_path, raw in art.pool_pages.items():
                    path = art.path + pool_path[len(art.demo.path) :]
                    pages[path] = _html(self.article_page(art, raw).decode("utf-8"))
        pages.update(self.listing_pages(shown))
        return pages

    def listing_pages(self, shown: list[Article]) -> dict[str, tuple[int, dict[str, str], bytes]]:
        """Home page, category listings, the date index, sitemaps and feed of `shown`."""
        portal = Portal(base_url=self.server.base_url, articles=[self.as_listed(a) for a in shown])
        render = _Renderer(portal, random.Random(0))
        arts = portal.articles
        pages: dict[str, tuple[int, dict[str, str], bytes]] = {}
        for slug, label, _style in CATEGORIES:
            in_cat = [a for a in arts if a.category == slug]
            base = render._category_path(slug)
            last = max(1, -(-len(in_cat) // PER_LISTING_PAGE))
            style = LISTING_STYLES[slug]
            for page in range(1, last + 1):
                chunk = in_cat[(page - 1) * PER_LISTING_PAGE : page * PER_LISTING_PAGE]
                pager, head = _pager(style, base, page, last)
                path = base if page == 1 else (
                    f"{base}page/{page}/" if style == "wordpress" else f"{base}?page={page}"
                )  # fmt: skip
                heading = f"{label} - halaman {page}" if page > 1 else label
                items = [render.listing_item(a) for a in chunk]
                pages[path] = _html(render.listing(heading, items, pager, head))
        pages.update(render.date_index(arts))
        feed_link = '<link rel="alternate" type="application/rss+xml" title="RSS" href="/feed/">'
        home = [render.listing_item(a, "beranda") for a in arts[:12]]
        pages["/"] = _html(render.listing("Beranda", home, "", feed_link))
        pages["/robots.txt"] = (
            200,
            {"Content-Type": "text/plain; charset=utf-8"},
            f"User-agent: *\nDisallow: /cetak/\n\nSitemap: {self.url('/sitemap_index.xml')}\n".encode(),
        )
        sitemaps = ("/post-sitemap.xml", "/news-sitemap.xml", "/page-sitemap.xml")
        pages["/sitemap_index.xml"] = _xml(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "".join(f"<sitemap><loc>{self.url(p)}</loc></sitemap>\n" for p in sitemaps)
            + "</sitemapindex>\n"
        )
        urlset = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        pages["/post-sitemap.xml"] = _xml(
            f'<?xml version="1.0" encoding="UTF-8"?>\n{urlset}>\n'
            + "".join(
                f"<url><loc>{_esc(self.url(a.path))}</loc>"
                f"<lastmod>{(a.lastmod or a.demo.published).isoformat()}</lastmod></url>\n"
                for a in shown
            )
            + "</urlset>\n"
        )
        pages["/news-sitemap.xml"] = _xml(
            f'<?xml version="1.0" encoding="UTF-8"?>\n{urlset} '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
            + "".join(
                f"<url><loc>{_esc(self.url(a.path))}</loc><news:news><news:publication>"
                "<news:name>Portal Demo</news:name><news:language>id</news:language>"
                "</news:publication><news:publication_date>"
                f"{a.demo.published.isoformat()}</news:publication_date>"
                f"<news:title>{_esc(a.title)}</news:title></news:news></url>\n"
                for a in shown[:20]
            )
            + "</urlset>\n"
        )
        pages["/feed/"] = _xml(
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>Portal Demo</title><link>{self.url('/')}</link>"
            "<description>Berita terkini</description>\n"
            + "".join(
                f"<item><title>{_esc(a.title)}</title><link>{_esc(self.url(a.path))}</link>"
                f"<pubDate>{a.demo.published.strftime('%a, %d %b %Y %H:%M:%S +0700')}</pubDate>"
                "</item>\n"
                for a in shown[:15]
            )
            + "</channel></rss>\n",
            "application/rss+xml",
        )
        return pages

    @staticmethod
    def as_listed(art: Article) -> DemoArticle:
        """The article as the listings show it now: its title, URL and lead."""
        lead = art.replaced.get(art.demo.paragraphs[0], art.demo.paragraphs[0])
        return DemoArticle(
            **{
                **art.demo.__dict__,
                "title": art.title,
                "path": art.path,
                "link_path": art.path,
                "paragraphs": [lead],
            }
        )

    def serve(self) -> None:
        """The site as it is now, in place (between runs: no request is in flight)."""
        portal = self.server.portal
        portal.pages.clear()
        portal.pages.update(self.pages())
        portal.__dict__.pop("response", None)
        if self.mode in ("500", "503"):
            status = int(self.mode)
            answer = (status, {"Content-Type": "text/html"}, f"<h1>{status}</h1>".encode())
            portal.response = lambda path: answer  # type: ignore[method-assign]
        elif self.mode == "slow":
            plain = Portal.response.__get__(portal)

            def slowly(path: str) -> tuple[int, dict[str, str], bytes]:
                time.sleep(0.15)
                return plain(path)

            portal.response = slowly  # type: ignore[method-assign]


def new_site(server: DemoServer, rng: random.Random) -> Site:
    pool = server.portal
    # The moved article of the generated demo (its listings link an old URL) is an ordinary one
    # here: this harness moves articles itself.
    articles = []
    for demo in pool.articles:
        own = {
            path: body
            for path, (status, _headers, body) in pool.pages.items()
            if status == 200 and (path == demo.path or path.startswith(demo.path + "?page="))
        }
        articles.append(Article(demo, own, path=demo.path, title=demo.title))
    first = rng.randint(6, max(6, len(articles) // 2))
    for art in articles[-first:]:
        art.published = True
    info = {
        path: page
        for path, page in pool.pages.items()
        if path in pool.info_paths or path == "/page-sitemap.xml"
    }
    return Site(server, articles, info)


# --- changes --------------------------------------------------------------------------------


def change(site: Site, rng: random.Random, name: str) -> str:
    """Apply the change `name` to the site; what it did, in words."""
    live = site.visible()
    now = datetime.now(UTC)
    if name == "publish":
        waiting = [a for a in site.articles if not a.published]
        if not waiting:
            return "publish: nothing left to publish"
        count = min(len(waiting), rng.randint(1, 4))
        for art in waiting[-count:]:  # the oldest waiting: each newer than all shown
            art.published = True
        return f"publish {count}"
    if name in ("edit_body", "edit_title"):
        if not live:
            return f"{name}: no live article"
        arts = rng.sample(live, min(len(live), rng.randint(1, 3)))
        for art in arts:
            if name == "edit_title":
                art.title = (
                    f"{art.demo.title} (diperbarui {len(art.replaced) + 1}{rng.randint(1, 99)})"
                )
            else:
                para = rng.choice(art.demo.paragraphs[2:-1])
                art.replaced[para] = f"Ralat redaksi {rng.randint(1000, 9999)}: " + para
            if rng.random() < 0.7:
                art.lastmod = now
            else:
                art.unannounced_at = site.reached
        return f"{name} {len(arts)}: " + ", ".join(str(a.demo.number) for a in arts)
    if name == "takedown":
        if not live:
            return "takedown: no live article"
        bulk = rng.random() < 0.15 and len(live) >= 12
        arts = rng.sample(live, len(live) if bulk else min(len(live) - 1, rng.randint(1, 2)))
        kind = rng.choice(GONE_KINDS)
        for art in arts:
            art.state = kind if bulk else rng.choice(GONE_KINDS)
            art.unannounced_at = site.reached
        return f"takedown {'in bulk ' if bulk else ''}{len(arts)}: " + ", ".join(
            f"{a.demo.number}:{a.state}" for a in arts
        )
    if name == "restore":
        gone = [a for a in site.articles if a.published and a.state != "live"]
        if not gone:
            return "restore: nothing taken down"
        arts = rng.sample(gone, min(len(gone), rng.randint(1, 3)))
        for art in arts:
            art.state = "live"
            art.unannounced_at = site.reached
        return "restore " + ", ".join(str(a.demo.number) for a in arts)
    if name == "move":
        if not live:
            return "move: no live article"
        art = rng.choice(live)
        art.old_paths.append(art.path)
        # The new URL is on the listings; that it is the old one's article, only the old URL's
        # recheck (its 301) tells.
        art.unannounced_at = site.reached
        stem = art.path.rstrip("/")
        art.path = f"{stem}-{len(art.old_paths)}" + ("/" if art.path.endswith("/") else "")
        return f"move {art.demo.number}: {art.old_paths[-1]} -> {art.path}"
    if name == "redesign":
        site.redesign = not site.redesign
        return "redesign" if site.redesign else "redesign undone"
    if name == "down":
        site.mode = "down"
        return "server down"
    if name in ("error_500", "error_503"):
        site.mode = name[-3:]
        return f"every page {site.mode}"
    if name == "slow":
        site.mode = "slow"
        return "slow"
    if name == "killed":
        site.mode = "slow"  # a run long enough to be killed inside
        return "run killed"
    if name == "overlap":
        site.mode = "slow"  # a run long enough for the second to start inside it
        return "two at once"
    return "nothing"


# --- running and reading ----------------------------------------------------------------------


def env() -> dict[str, str]:
    out = {**os.environ, "NEWSARCHIVE_CONTACT": CONTACT, "PYTHONUNBUFFERED": "1"}
    out.pop("SCRAPY_SETTINGS_MODULE", None)
    out.pop("NEWSARCHIVE_DB", None)
    out.pop("NEWSARCHIVE_PLAN", None)
    return out


def write_plan(plan: Path, base_url: str, per_run: int) -> None:
    every = {**SETTINGS, "NEWSARCHIVE_RECHECK_PER_RUN": per_run}
    settings = "".join(f"{k} = {json.dumps(v)}\n" for k, v in every.items())
    plan.write_text(
        f'db = "archive.db"\ncontact = "{CONTACT}"\njobs = 1\n\n[settings]\n{settings}\n'
        f'[[sites]]\nname = "{SITE}"\nsite = "demo"\nbase_url = "{base_url}"\nevery = "1h"\n'
    )


def crawl_command(
    case_dir: Path, base_url: str, use_plan: bool, per_run: int, redis_url: str | None = None
) -> list[str]:
    if use_plan:
        return [*CLI, "run", "--plan", str(case_dir / "newsarchive.toml"), "--force", "-q"]
    cmd = [*CLI, "crawl", SITE, "--base-url", base_url, "--db", str(case_dir / "archive.db")]
    if redis_url is not None:
        cmd += ["--redis", redis_url, "--workers", str(SHARED_WORKERS)]
    for key, value in {**SETTINGS, "NEWSARCHIVE_RECHECK_PER_RUN": per_run}.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def snapshot_later(redis_server: Any, rng: random.Random, into: Path) -> threading.Timer:
    """A snapshot of the case's Redis 0.2-3 s from now (part-way through the run about to
    start), kept as `into` for a later "old" restart."""

    def save() -> None:
        with contextlib.suppress(Exception):  # Redis busy or gone: no snapshot this time
            redis_server.client().save()
            into.parent.mkdir(exist_ok=True)
            shutil.copy(redis_server.dir / "dump.rdb", into)

    timer = threading.Timer(rng.uniform(0.2, 3.0), save)
    timer.start()
    return timer


def restart_redis(redis_server: Any, rng: random.Random, snapshots: Path) -> str:
    """Restart the case's Redis between runs, one of REDIS_RESTARTS's ways; what it did."""
    taken = sorted(snapshots.glob("*.rdb")) if snapshots.is_dir() else []
    how = rng.choice([way for way in REDIS_RESTARTS if way != "old" or taken])
    if how == "kept":
        redis_server.client().save()
    redis_server.kill()
    if how != "kept":
        redis_server.forget_data()
    if how == "old":
        old = rng.choice(taken)
        shutil.copy(old, redis_server.dir / "dump.rdb")
        how += f" ({old.stem})"
    redis_server.start()
    return f"redis restarted {how}"


def run_cli(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout)


def run_overlapping(
    first: list[str], second: list[str], cwd: Path, rng: random.Random
) -> tuple[int, str, str]:
    """`first`, and `second` started 0.2-2 s into it (cron's next call while a run or a
    manual crawl still goes on): (first's exit status, both outputs, how the second ended). A
    second `run` must be refused with 75 and its one line while a `run` holds the archive, as
    must a second shared crawl while the first one's writer runs; a one-process `crawl` takes
    no lock, and both must end sound."""
    proc = subprocess.Popen(
        first, cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    time.sleep(rng.uniform(0.2, 2.0))
    started_inside = proc.poll() is None
    other = run_cli(second, cwd, timeout=RUN_TIMEOUT)
    try:
        out, _ = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return -1, f"{out}\ntimeout after {RUN_TIMEOUT}s", "first hung"
    said = other.stdout + other.stderr
    both_runs = first[3] == "run" and second[3] == "run"
    # Under -q (cron) the refusal says nothing: a run still going is no news to mail.
    quiet = "-q" in second and not said.strip()
    busy = ("another run is in progress", "another writer")  # a run; a shared crawl's writer
    refused = other.returncode == 75 and (any(text in said for text in busy) or quiet)
    if both_runs and started_inside and not refused and other.returncode != 0:
        out += f"\nsecond run: exit {other.returncode}, want 75 or 0: {said[-300:]}"
    elif not refused and other.returncode != 0:
        out += f"\nsecond {second[3]}: exit {other.returncode}: {said[-300:]}"
    return proc.returncode, out, f"second {second[3]} exit {other.returncode}"


def run_killed(
    args: list[str], cwd: Path, rng: random.Random, groups: list[int]
) -> tuple[int, str, str]:
    """Run `args` and kill it 0.3-4 s in, the main process alone (`kill`) or its whole process
    group (a terminal's Ctrl-C, systemd's stop, the OOM killer's kill -9 of each): (exit status,
    output, what was sent). The main process is waited for, not its output's end: a shared
    crawl's local workers outlive a writer killed alone (they wait for it to come back, as
    designed) and keep the output open; their group goes into `groups`, ended with the case."""
    sig = rng.choice(KILL_SIGNALS)
    with tempfile.TemporaryFile("w+") as output:
        proc = subprocess.Popen(
            args, cwd=cwd, env=env(), stdout=output, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        groups.append(proc.pid)
        try:
            proc.wait(timeout=rng.uniform(0.3, 4.0))
            sent = "none (it ended first)"
        except subprocess.TimeoutExpired:
            group = rng.random() < 0.5
            if group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
            sent = sig.name + (" to the group" if group else "")
            try:
                proc.wait(timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                # Still there: it hangs. Killed, so that it holds nothing the next runs need.
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                output.seek(0)
                return -1, f"{output.read()}\ntimeout after {RUN_TIMEOUT}s (after {sent})", sent
        output.seek(0)
        return proc.returncode, output.read(), sent


def output_problems(text: str) -> list[str]:
    problems = []
    for line in text.splitlines():
        if any(word in line for word in BAD_WORDS):
            problems.append(f"bad line: {line[:200]}")
        elif line.strip() and not LOG_LINE.match(line):
            problems.append(f"unexpected line: {line[:200]}")
    return list(dict.fromkeys(problems))


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def sizes(case_dir: Path) -> int:
    return sum(
        (case_dir / name).stat().st_size
        for name in ("archive.db", "pages.db", "archive.db-wal", "pages.db-wal")
        if (case_dir / name).exists()
    )


def counts(db: Path) -> dict[str, int]:
    if not db.exists():
        return {"articles": 0, "versions": 0, "pages": 0}
    pages_db = db.with_name("pages.db")
    return {
        "articles": query(db, "SELECT count(*) FROM articles")[0][0],
        "versions": query(db, "SELECT count(*) FROM versions")[0][0],
        "pages": query(pages_db, "SELECT count(*) FROM pages")[0][0],
    }


def record_problems(site: Site, db: Path, lag: int) -> list[str]:
    """The archive's articles against the site's truth. What only a recheck finds is checked
    `lag` runs after the change (when a round of rechecks has reached every article)."""
    problems: list[str] = []
    rows = query(
        db,
        "SELECT a.id, a.url, a.title, a.body, a.gone_since, "
        "(SELECT count(*) FROM versions v WHERE v.article_id = a.id) FROM articles a",
    )
    urls = query(db, "SELECT url, article_id FROM article_urls")
    ids_by_url = {url: aid for url, aid in urls}
    matched: Counter[int] = Counter()
    for art in site.articles:
        if not art.published:
            continue
        where = [site.url(p) for p in (art.path, *art.old_paths)]
        ids = {ids_by_url[u] for u in where if u in ids_by_url}
        number = art.demo.number
        if not ids:
            if art.live:
                problems.append(f"article {number} ({art.path}) not archived")
            continue
        matched.update(ids)
        if site.reached - art.unannounced_at < max(lag, 1):
            continue  # its recheck may not have come yet
        if len(ids) > 1:
            problems.append(f"article {number} archived {len(ids)} times: {sorted(ids)}")
        # Doubled, the record of its current URL is the one checked (the other is the problem).
        current = ids_by_url.get(where[0], min(ids))
        row = next(r for r in rows if r[0] == current)
        _id, url, title, body, gone_since, versions = row
        if art.live:
            if gone_since is not None:
                problems.append(f"article {number} live but gone_since {gone_since} ({url})")
            if title != art.title:
                problems.append(f"article {number}: title {title!r}, site says {art.title!r}")
            body = body or ""
            for new in art.replaced.values():
                if new not in body:
                    problems.append(f"article {number}: body lacks the edit {new[:30]!r}")
            if not art.replaced and "Ralat redaksi" in body:
                problems.append(f"article {number}: body has an edit the site undid")
        elif gone_since is None:
            problems.append(f"article {number} taken down ({art.state}) without gone_since")
        if versions < art.versions_expected:
            problems.append(
                f"article {number}: {versions} versions, {art.versions_expected} changes seen"
            )
    for article_id, n in matched.items():
        if n > 1:
            problems.append(f"record {article_id} stands for {n} articles")
    extra = [r for r in rows if r[0] not in matched]
    for row in extra:
        problems.append(f"record {row[0]} for no article of the site: {row[1]}")
    return problems


# What a WARC round trip must bring back, table by table (an article named by its URL).
HISTORY = {
    "articles": "SELECT url, site, title, body, first_seen, last_seen, fetch_count, "
    "content_since, content_hash, gone_since FROM articles",
    "versions": "SELECT a.url, v.content_hash, v.seen_from, v.seen_until, v.replaced_at, "
    "v.reason FROM versions v JOIN articles a ON a.id = v.article_id",
    "URLs": "SELECT u.url, a.url FROM article_urls u JOIN articles a ON a.id = u.article_id",
}
FETCHES = "SELECT p.url, p.sha256, f.fetched_at FROM fetches f JOIN pages p ON p.id = f.page_id"


def archive_history(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    found = {name: sorted(query(db, sql), key=repr) for name, sql in HISTORY.items()}
    found["fetches"] = sorted(query(db.with_name("pages.db"), FETCHES), key=repr)
    return found


def round_trip_problems(case_dir: Path) -> list[str]:
    """The archive exported as a WARC and imported into an empty one: the same articles (dates
    and fetch counts too), versions, URLs and fetches."""
    warc = case_dir / "round-trip.warc.gz"
    copy = case_dir / "round-trip" / "archive.db"
    copy.parent.mkdir(exist_ok=True)
    exported = run_cli(
        [*CLI, "export", "--format", "warc", "-o", str(warc), "--db", str(case_dir / "archive.db")],
        case_dir,
    )
    if exported.returncode != 0:
        return [f"round trip: export exited {exported.returncode}: {exported.stderr[-300:]}"]
    imported = run_cli([*CLI, "import", str(warc), "--db", str(copy), "--jobs", "1"], case_dir)
    if imported.returncode != 0:
        return [f"round trip: import exited {imported.returncode}: {imported.stdout[-300:]}"]
    before, after = archive_history(case_dir / "archive.db"), archive_history(copy)
    problems = []
    for name, rows in before.items():
        lost, added = set(rows) - set(after[name]), set(after[name]) - set(rows)
        if lost or added:
            example = sorted(lost, key=repr)[:1] + sorted(added, key=repr)[:1]
            problems.append(
                f"round trip: {name} differ ({len(lost)} rows not brought back, {len(added)} "
                f"others); e.g. {[masked(repr(row))[:300] for row in example]}"
            )
    return problems


def health(case_dir: Path) -> tuple[list[str], list[str]]:
    """(alarm signals by --json, problems with the command itself)."""
    db = case_dir / "archive.db"
    proc = run_cli([*CLI, "health", "--db", str(db), "--json"], case_dir)
    problems = output_problems(proc.stderr)
    try:
        alarms = json.loads(proc.stdout or "[]")
    except ValueError:
        return [], [f"health --json printed no JSON: {proc.stdout[:200]}"]
    signals = [alarm["signal"] for alarm in alarms]
    if proc.returncode != (1 if signals else 0):
        problems.append(f"health --json exit {proc.returncode} with {len(signals)} alarms")
    plain = run_cli([*CLI, "health", "--db", str(db)], case_dir)
    said = [line for line in (plain.stdout + plain.stderr).splitlines() if line.strip()]
    if len(said) != len(signals) and signals:
        problems.append(f"health printed {len(said)} lines for {len(signals)} alarms")
    return signals, problems


def stats_problems(case_dir: Path) -> list[str]:
    """`newsarchive stats --json` against the archive's own tables."""
    db = case_dir / "archive.db"
    proc = run_cli([*CLI, "stats", "--db", str(db), "--json"], case_dir)
    if proc.returncode != 0:
        return [f"stats exit {proc.returncode}: {proc.stderr[-200:]}"]
    said = json.loads(proc.stdout)
    table = {
        "articles": query(db, "SELECT count(*) FROM articles")[0][0],
        "versions": query(db, "SELECT count(*) FROM versions")[0][0],
        "gone": query(db, "SELECT count(*) FROM articles WHERE gone_since IS NOT NULL")[0][0],
        "crawl_runs": query(db, "SELECT count(*) FROM crawl_runs")[0][0],
    }
    return [
        f"stats says {k} {said.get(k)}, the archive {v}"
        for k, v in table.items()
        if said.get(k) != v
    ]


@dataclass
class RunRecord:
    number: int
    change: str
    command: str
    status: int
    seconds: float
    alarms: list[str]
    problems: list[str]
    said: list[str]
    growth: int
    ordinary: bool


def expected_alarms(
    number: int,
    change_name: str,
    history: list[RunRecord],
    mode: str,
    bulk: int,
    redesigned_at: int,
    per_run: int,
    redesigned: bool = False,
) -> tuple[set[str], set[str]]:
    """(alarms that must fire, alarms that may): a judgment written down, one rule per change."""
    must: set[str] = set()
    may: set[str] = set()
    if mode == "down":
        # Two runs in a row that fetched nothing: the second one says the site is unreachable.
        (must if history and history[-1].change == "down" else may).add("unreachable")
    if mode in ("500", "503") and history:
        must.add("failures")
    if mode in ("500", "503"):
        may.add("unreachable")
    # A redesign (or its undoing) moves the fill-rates until the runs after it are the median;
    # while it lasts, the dates its markup loses on some article styles make the run's mix of
    # pages its `published` rate (46-78 % seen, seeds 220 and 231).
    if number - redesigned_at <= HISTORY_AFTER_REDESIGN or redesigned:
        may.update(f"fill-rate:{name}" for name in ("authors", "published", "category", "body"))
        may.add("fill-rate:title")
    if bulk >= 10:
        # Found one recheck each: fewer than 10 a run can never make the alarm's 10 in a run.
        (must if per_run >= 10 else may).add("taken-down")
        may.add("failures")  # every recheck a 404
    if history and history[-1].change == "killed":
        # A run killed with its process: this run ended it as died, and says so.
        may.add("died")
    if change_name != "publish":
        # Runs that usually bring new articles, then one that brings none: the site's quiet hour
        # looks the same to health as a site whose listings the crawler stopped reading.
        may.add("no-new-articles")
    return must, may


def run_case(seed: int, runs: int, keep: Path, changes: list[str]) -> tuple[list[RunRecord], str]:
    rng = random.Random(seed)
    records: list[RunRecord] = []
    with tempfile.TemporaryDirectory(prefix="fuzz_soak-") as tmp_name:
        case_dir = Path(tmp_name)
        db = case_dir / "archive.db"
        server = DemoServer(articles=rng.randint(20, 40), seed=seed).start()
        port = server.port
        site = new_site(server, rng)
        weights = [WEIGHTS[name] for name in changes]
        # Most cases recheck every article at each run; some a few a run, in rounds.
        per_run = rng.choice([50, 50, 4, 9])
        # Runs that reached the site after an unannounced change by which a round of rechecks
        # has come to it.
        lag = 0 if per_run >= len(site.articles) else 2 + -(-len(site.articles) // per_run)
        print(f"  {len(site.articles)} articles, {per_run} rechecked a run", flush=True)
        write_plan(case_dir / "newsarchive.toml", server.base_url, per_run)
        redesigned_at = -100
        redis_server = None
        if SHARED_WORKERS:
            # The case's own Redis, for the whole case: a killed shared crawl leaves its state
            # there, and the next `crawl` of the same site must take it up.
            from fuzz_shared import RedisServer

            redis_server = RedisServer(case_dir / "redis")
            redis_server.start()
        redis_url = redis_server.url if redis_server else None
        groups: list[int] = []  # of killed runs: what may outlive them
        try:
            for number in range(1, runs + 1):
                before_counts = counts(db)
                before_size = sizes(case_dir)
                site.mode = "up"
                name = "nothing" if number == 1 else rng.choices(changes, weights)[0]
                if records and records[-1].change == "down" and rng.random() < 0.5:
                    name = "down"  # down for hours: two runs in a row make an alarm
                if name == "redis" and redis_server is None:
                    name = "nothing"  # one-process crawls: no Redis to restart
                said_change = change(site, rng, name)
                if name == "redis":
                    said_change = restart_redis(redis_server, rng, case_dir / "snapshots")
                bulk = (
                    int(said_change.split()[3].rstrip(":"))
                    if said_change.startswith("takedown in bulk")
                    else 0
                )
                if site.mode == "down":
                    server.stop()
                else:
                    if server._thread is None:
                        server = DemoServer(articles=1, seed=seed, port=port).start()
                        server.portal.articles = site.server.portal.articles
                        site.server = server
                    site.serve()
                use_plan = rng.random() < 0.5
                cmd = crawl_command(case_dir, server.base_url, use_plan, per_run, redis_url)
                started = time.monotonic()
                killed = ""
                snapshot = None
                if redis_server is not None and not use_plan and rng.random() < SNAPSHOT_CHANCE:
                    snapshot = snapshot_later(
                        redis_server, rng, case_dir / "snapshots" / f"run-{number:02d}.rdb"
                    )
                try:
                    if name == "killed":
                        status, out, killed = run_killed(cmd, case_dir, rng, groups)
                        said_change += f" by {killed}"
                    elif name == "overlap":
                        other = crawl_command(
                            case_dir, server.base_url, not use_plan, per_run, redis_url
                        )
                        if rng.random() < 0.5:
                            other = cmd  # the same command twice
                        status, out, how = run_overlapping(cmd, other, case_dir, rng)
                        said_change += f": {how}"
                    else:
                        proc = run_cli(cmd, case_dir, timeout=RUN_TIMEOUT)
                        status, out = proc.returncode, proc.stdout + proc.stderr
                except subprocess.TimeoutExpired as exc:
                    status, out = -1, f"timeout after {RUN_TIMEOUT}s: {exc}"
                seconds = time.monotonic() - started
                if snapshot is not None:
                    snapshot.cancel()
                    snapshot.join()
                (case_dir / f"run-{number:02d}.log").write_text(f"{' '.join(cmd)}\n{out}")
                problems = output_problems(out)
                said = [line for line in out.splitlines() if line.startswith("Error: ")]
                # A shared crawl stopped part-way stays in Redis, and the next `crawl` through
                # it goes on with that crawl (it says so) rather than starting afresh: what it had
                # fetched before the stop is not fetched again (nor the site asked at all, when
                # nothing was left to fetch), so changes made since, a site down included, are
                # for the run after it to find, as after a killed run.
                continued = "resuming the shared crawl" in out
                if continued:
                    said_change += " (continuing a stopped crawl)"
                elif "starting a new shared crawl" in out:
                    said_change += " (not the ended crawl Redis held)"
                alarms, health_problems = health(case_dir)
                problems += health_problems
                if name == "redesign":
                    redesigned_at = number
                must, may = expected_alarms(
                    number, name, records, site.mode, bulk, redesigned_at, per_run, site.redesign
                )
                if killed or continued:
                    # Health judges the runs that finished; a killed one may have finished
                    # (as "shutdown") with a handful of pages, and then any alarm may fire.
                    must, may = set(), set(alarms)
                missing = must - set(alarms)
                unexpected = set(alarms) - must - may
                if missing:
                    problems.append(f"alarm missing: {sorted(missing)} (got {alarms})")
                if unexpected:
                    problems.append(f"alarm on an ordinary run: {sorted(unexpected)}")
                site_failed = site.mode in ("down", "500", "503")
                # `run` exits 1 on its own crawl's alarms; two at once, the alarms seen after
                # may be the other command's run's. A died crawl it says when it took over the
                # lock of a `run` killed with it (SIGKILL: it could say nothing); one a stopped
                # `run` said itself, or one of a `crawl`, is health's to say.
                run_says = set(alarms)
                last = records[-1] if records else None
                if not (
                    last and last.change == "killed" and last.command == "run" and last.status == -9
                ):
                    run_says.discard("died")
                want_error = site_failed or (use_plan and bool(run_says) and name != "overlap")
                if status == -1:
                    problems.append("timeout")
                elif killed:
                    pass  # what a killed run exits with is the signal's; the next run is checked
                elif continued and status in (0, 1):
                    pass  # the crawl's own end (exit 1 says so): the site now is the next run's
                elif want_error and (status != 1 or not said):
                    problems.append(f"exit {status} (want 1 with an Error line)")
                elif not want_error and status != 0:
                    problems.append(f"exit {status}: {' | '.join(said)[:300]}")
                if status == 1 and not said:
                    problems.append("exit 1 without an Error line")
                if not site_failed and not killed and not continued:
                    site.reached += 1
                    for art in site.articles:
                        if art.live:
                            art.versions_expected = changes_seen(art)
                # A run that could not reach the site changes nothing the archive holds. A
                # killed run leaves what it stored before it died, checked by the next run.
                if db.exists() and not killed and not continued:
                    problems += record_problems(site, db, lag)
                if db.exists():
                    verify = run_cli([*CLI, "verify", "--db", str(db)], case_dir)
                    if verify.returncode != 0:
                        problems.append(f"verify exit {verify.returncode}: {verify.stdout[-300:]}")
                    problems += stats_problems(case_dir)
                after_counts = counts(db)
                growth = sizes(case_dir) - before_size
                ordinary = name in ("nothing", "slow") and number > 1 and not continued
                # A change a round of rechecks has yet to reach may be found by this run.
                pending = any(0 < site.reached - a.unannounced_at <= lag for a in site.articles)
                if ordinary and not pending and records[-1].change in ("nothing", "slow"):
                    for what in ("articles", "versions", "pages"):
                        if after_counts[what] != before_counts[what]:
                            problems.append(
                                f"{what} {before_counts[what]} -> {after_counts[what]} "
                                "on a run that found nothing new"
                            )
                records.append(
                    RunRecord(
                        number,
                        "continued" if continued else name,
                        cmd[3],
                        status,
                        seconds,
                        alarms,
                        problems,
                        said,
                        growth,
                        ordinary,
                    )
                )
                print(
                    f"  run {number:2d} {cmd[3]:5s} {said_change[:70]:70s} exit {status} "
                    f"{seconds:5.1f}s +{growth // 1024}K alarms {alarms or '-'}",
                    flush=True,
                )
                if status != 0:
                    for line in said[:3]:
                        print(f"     said: {masked(line)[:150]}", flush=True)
                # A problem is printed once, at the run that showed it first.
                earlier = set(records[-2].problems) if len(records) > 1 else set()
                for problem in problems:
                    if problem not in earlier:
                        print(f"     FAIL {problem}", flush=True)
        finally:
            if server._thread is not None:
                server.stop()
            for group in groups:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)
            if redis_server is not None:
                redis_server.kill()
        kinds = Counter(
            re.sub(r"\d+|http\S+|'[^']*'|\[[^]]*\]", "N", problem)
            for record in records
            for problem in dict.fromkeys(record.problems)
        )
        for kind, n in kinds.most_common():
            print(f"  problem in {n} runs: {kind[:150]}", flush=True)
        creep = time_creep(records)
        if creep:
            print(f"  FAIL {creep}", flush=True)
        if not records or not records[-1].problems:
            # Through a WARC and back (on an archive the harness found sound).
            trip = round_trip_problems(case_dir)
            for problem in trip:
                print(f"  FAIL {problem}", flush=True)
            creep = "; ".join([creep, *trip]).strip("; ")
        if creep or any(r.problems for r in records) or KEEP_ALL:
            target = keep / f"case-{seed}"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(case_dir, target)
        return records, creep


def masked(line: str) -> str:
    """`line` without what changes from case to case (ports, directories)."""
    return re.sub(r"127\.0\.0\.1:\d+|/tmp/\S+", "...", line)


def changes_seen(art: Article) -> int:
    """How many content changes of `art` the archive has seen, as versions kept: one per title
    edit and one per body edit (each edit is crawled before the next is made, except when a
    run failed: then they count as one; a lower bound is what is checked)."""
    return (art.title != art.demo.title) + min(1, len(art.replaced))


def time_creep(records: list[RunRecord]) -> str:
    plain = [r.seconds for r in records if r.ordinary and r.change == "nothing"]
    if len(plain) < 8:
        return ""
    first, last = statistics.median(plain[:4]), statistics.median(plain[-4:])
    if last > 1.5 * first + 1:
        return f"ordinary runs slowed from {first:.1f}s to {last:.1f}s"
    return ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=6, help="how many cases (default 6)")
    ap.add_argument("--seed", type=int, default=1, help="the first case's seed")
    ap.add_argument("--runs", type=int, default=0, help="runs a case (default: 10-40 at random)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/fuzz_soak"), help="failing cases")
    ap.add_argument(
        "--keep-all", action="store_true", help="keep every case under --out, not only failing ones"
    )
    ap.add_argument(
        "--changes",
        default=",".join(CHANGES),
        help=f"the changes to draw from besides nothing (default: all: {', '.join(CHANGES)})",
    )
    ap.add_argument(
        "--weight",
        action="append",
        default=[],
        metavar="CHANGE=W",
        help="how often a change is drawn, against nothing's 8 (e.g. killed=6; repeatable)",
    )
    ap.add_argument(
        "--shared",
        type=int,
        default=0,
        metavar="WORKERS",
        help="`crawl` runs (not `run --plan` ones) go through a redis-server of the case's own "
        "with WORKERS local workers (default 0: one process)",
    )
    args = ap.parse_args()
    global SHARED_WORKERS, KEEP_ALL
    SHARED_WORKERS = args.shared
    KEEP_ALL = args.keep_all
    if SHARED_WORKERS and shutil.which("redis-server") is None:
        ap.error("--shared needs redis-server (apt-get install redis-server)")
    changes = list(dict.fromkeys(["nothing", *args.changes.split(",")]))
    if unknown := set(changes) - set(CHANGES):
        ap.error(f"unknown changes: {', '.join(sorted(unknown))}")
    for given in args.weight:
        name, _, weight = given.partition("=")
        try:
            value = float(weight)
        except ValueError:
            value = -1.0
        if name not in CHANGES or not 0 <= value < float("inf"):
            ap.error(f"--weight {given}: expected CHANGE=W, a change of {CHANGES} and W >= 0")
        WEIGHTS[name] = value
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for seed in range(args.seed, args.seed + args.cases):
        runs = args.runs or random.Random(seed).randint(10, 40)
        print(f"seed {seed}: {runs} runs", flush=True)
        started = time.monotonic()
        records, creep = run_case(seed, runs, args.out, changes)
        bad = [r for r in records if r.problems]
        plain = [r.seconds for r in records if r.ordinary]
        growth = [r.growth for r in records if r.ordinary]
        print(
            f"seed {seed}: {len(bad)} of {len(records)} runs failed; ordinary runs "
            f"{statistics.median(plain) if plain else 0:.1f}s median, growth "
            f"{max(growth) // 1024 if growth else 0}K at most; {time.monotonic() - started:.0f}s",
            flush=True,
        )
        if bad or creep:
            failed += 1
    print(f"{args.cases} cases, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
