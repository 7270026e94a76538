"""`newsarchive browse` as an analyst sees it: a real server on a crawled demo archive, pages
rendered by headless Chromium, assertions on the rendered DOM (after scripts ran), a screenshot
of every page under the test's tmp dir.

Chromium is a system package (Debian: `apt-get install -y chromium`). Without it these tests
fail, never skip: a missing browser must not pass for a working UI.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import lxml.html
import pytest
from archive_fixtures import WIB, make_article, make_raw

from newsarchive.storage import Archive

CHROMIUM = next(
    (path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None
)
DB = "demo"  # Datasette names the database after the file: demo.db
PHRASE_BODY = (
    "Posyandu di Cirebon memeriksa anak-anak balita setiap bulan.\n\n"
    "Petugas mencatat tinggi dan berat badan mereka."
)


def chromium(url: str, *args: str, budget_ms: int = 2500) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.fail(
            "chromium is not installed: the browser tests render pages in headless Chromium "
            "(Debian/Ubuntu: apt-get install -y chromium)"
        )
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--window-size=1400,1000",
        # Scripts (the dashboard's fetch + Vega rendering) run in virtual time up to this budget
        # before the DOM is dumped or the screenshot taken.
        f"--virtual-time-budget={budget_ms}",
        *args,
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def render(url: str, screenshot: Path, *, budget_ms: int = 2500) -> lxml.html.HtmlElement:
    """The page's DOM after its scripts ran, and its first screen saved to `screenshot`."""
    chromium(url, f"--screenshot={screenshot}", budget_ms=budget_ms)
    assert screenshot.stat().st_size > 10_000, f"{screenshot}: an empty screenshot"
    html = chromium(url, "--dump-dom", budget_ms=budget_ms).stdout
    return lxml.html.fromstring(html)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _add_second_site(path: Path) -> None:
    """A second site, so per-site views have two sites: a phrase with a hyphen (anak-anak) in a
    body and in a headline, and an article that changed once (an earlier version)."""
    with Archive(path) as archive:
        stories = [
            ("https://kabar.example.id/1", "Posyandu keliling di Cirebon", PHRASE_BODY, 10),
            (
                "https://kabar.example.id/2",
                "Vaksinasi anak-anak sekolah dimulai",
                "Dinas kesehatan memulai vaksinasi.\n\nSekolah dasar menjadi sasaran pertama.",
                2,
            ),
        ]
        for url, title, body, day in stories:
            article = make_article(
                url,
                title=title,
                body=body,
                authors=("Rina Kartika",),
                category="Kesehatan",
                tags=("kesehatan", "anak"),
                published=datetime(2023, 6, day, 9, 30, tzinfo=WIB),
            )
            archive.store(make_raw(url, body=f"<p>{body}</p>".encode()), article, site="kabar")
        edited = make_article(
            stories[0][0],
            title=stories[0][1],
            body=PHRASE_BODY + "\n\nPemeriksaan berikutnya dijadwalkan bulan depan.",
            authors=("Rina Kartika",),
            category="Kesehatan",
            tags=("kesehatan", "anak"),
            published=datetime(2023, 6, 10, 9, 30, tzinfo=WIB),
        )
        archive.store(make_raw(stories[0][0], body=b"<p>edited</p>"), edited, site="kabar")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if CHROMIUM is None:
        pytest.fail(
            "chromium is not installed: the browser tests render pages in headless Chromium "
            "(Debian/Ubuntu: apt-get install -y chromium)"
        )
    work = tmp_path_factory.mktemp("browse")
    db = work / f"{DB}.db"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    crawl = subprocess.run(
        [sys.executable, "-m", "newsarchive", "demo", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert crawl.returncode == 0, crawl.stderr[-2000:]
    _add_second_site(db)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "newsarchive", "browse", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/-/versions.json", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"newsarchive browse did not start: {process.stderr.read()[-2000:]!r}")
            time.sleep(0.2)
    shots = tmp_path_factory.mktemp("screenshots")
    yield base, shots, db
    process.terminate()
    process.wait(timeout=10)


def _text(element) -> str:
    return " ".join(element.text_content().split())


def test_articles_table_first_screen_is_search_facets_and_short_rows(server):
    base, shots, _ = server
    page = render(f"{base}/{DB}/articles", shots / "articles.png")
    rows = page.cssselect("table.na-rows tr.na-row")
    assert len(rows) == 20  # a page of rows, not a column dictionary
    # Bodies and JSON columns stay out of the grid: every cell is short.
    for row in rows:
        assert len(row.cssselect("td")) == 5
        for cell in row.cssselect("td"):
            assert len(_text(cell)) < 400, _text(cell)[:100]
        assert "[{" not in _text(row) and '["' not in _text(row)
    # The search box comes before any long text in the page.
    elements = [el for el in page.body.iter() if el.tag not in ("script", "style")]
    search_at = elements.index(page.cssselect("aside input[name=q]")[0])
    long_at = next(
        (i for i, el in enumerate(elements) if len((el.text or "").strip()) > 300), len(elements)
    )
    assert search_at < long_at
    assert search_at < elements.index(page.cssselect("table.na-rows")[0])
    # Facets beside the rows, in the analyst's order; dates by date, newest first.
    facets = [el.get("data-facet") for el in page.cssselect("aside .na-facet")]
    assert facets == [
        "site:column",
        "category:column",
        "authors:lean_array",
        "tags:lean_array",
        "published_date:month",
        "published_date:day",
    ]
    sites = {
        _text(li.cssselect(".na-value")[0])
        for li in page.cssselect("[data-facet='site:column'] li")
    }
    assert sites == {"demo", "kabar"}
    days = [
        _text(li.cssselect(".na-value")[0])
        for li in page.cssselect("[data-facet='published_date:day'] li:not(.facet-truncated)")
    ]
    assert len(days) == 10 and days == sorted(days, reverse=True)
    # The column documentation is reachable but folded.
    guide = page.cssselect("details#column-guide")[0]
    assert guide.get("open") is None and "Publication time as ISO-8601" in _text(guide)


def test_authors_and_tags_filter_as_values(server):
    base, shots, _ = server
    page = render(
        f"{base}/{DB}/articles?authors__arraycontains=Rina+Kartika&tags__arraycontains=anak",
        shots / "articles-by-author.png",
    )
    rows = page.cssselect("tr.na-row")
    assert len(rows) == 2
    assert all("Rina Kartika" in _text(row.cssselect("td")[4]) for row in rows)


def test_article_page_reads_like_an_article(server):
    base, shots, db = server
    with Archive(db, readonly=True) as archive:
        article_id = archive.article("https://kabar.example.id/1")["id"]
    page = render(f"{base}/{DB}/articles/{article_id}", shots / "article.png")
    article = page.cssselect("article.na-article")[0]
    assert _text(article.cssselect("h1")[0]) == "Posyandu keliling di Cirebon"
    assert "Rina Kartika" in _text(article.cssselect(".na-byline")[0])
    assert _text(article.cssselect(".na-byline time")[0]) == "10 Jun 2023, 09:30 WIB"
    paragraphs = [_text(p) for p in article.cssselect(".na-body p")]
    assert paragraphs == [
        "Posyandu di Cirebon memeriksa anak-anak balita setiap bulan.",
        "Petugas mencatat tinggi dan berat badan mereka.",
        "Pemeriksaan berikutnya dijadwalkan bulan depan.",
    ]
    assert [_text(a) for a in article.cssselect(".na-tags a")] == ["kesehatan", "anak"]
    # The earlier version is linked; provenance is there, folded below the body.
    versions = article.cssselect(".na-versions a")
    assert len(versions) == 1 and f"/{DB}/versions/" in versions[0].get("href")
    provenance = article.cssselect("details.na-provenance")[0]
    assert provenance.get("open") is None
    elements = list(article.iter())
    assert elements.index(provenance) > elements.index(article.cssselect(".na-body")[0])
    # No wide table of every column: the page is an article.
    assert not page.cssselect("table.rows-and-columns")


def test_search_ranks_by_relevance_and_highlights_plain_words(server):
    base, shots, _ = server
    page = render(f"{base}/-/search?q=anak-anak", shots / "search.png")
    titles = [_text(a) for a in page.cssselect(".na-hit .na-hit-title")]
    # The headline match ranks first although the other article is newer (10 Jun vs 2 Jun).
    assert titles[:2] == ["Vaksinasi anak-anak sekolah dimulai", "Posyandu keliling di Cirebon"]
    marks = [_text(mark).lower() for mark in page.cssselect(".na-hit .na-snippet mark")]
    assert marks and all(mark in ("anak", "anak-anak") for mark in marks)
    # Filters beside the results.
    aside = page.cssselect("aside form.na-filters")[0]
    for selector in (
        "select[name=site]",
        "select[name=category]",
        "input[name=since]",
        "input[name=until]",
    ):
        assert aside.cssselect(selector), selector
    # Filtering by site and date range narrows the hits.
    page = render(
        f"{base}/-/search?q=anak-anak&site=kabar&since=2023-06-05&until=2023-06-30",
        shots / "search-filtered.png",
    )
    assert [_text(a) for a in page.cssselect(".na-hit .na-hit-title")] == [
        "Posyandu keliling di Cirebon"
    ]


def test_dashboard_draws_its_charts(server):
    base, shots, _ = server
    page = render(f"{base}/-/dashboards/archive", shots / "dashboard.png", budget_ms=10000)
    for chart in ("per-day", "fill-rates", "authors", "categories"):
        container = page.cssselect(f"#chart-{chart}")
        assert container, chart
        drawn = container[0].cssselect("svg")
        assert drawn, f"chart {chart} was not drawn"
    # Counts are whole numbers on their axes: a small archive's read "0 1 1 2 2" (0.5 rounded).
    for chart in ("per-day", "authors", "categories"):
        labels = [_text(text) for text in page.cssselect(f"#chart-{chart} .role-axis-label text")]
        counts = [label for label in labels if label.replace(".", "").isdigit()]
        assert len(counts) >= 2 and all(label.isdigit() for label in counts), (chart, labels)
        assert len(set(counts)) == len(counts), (chart, labels)
    metric = _text(page.cssselect("#chart-articles")[0])
    assert metric == "62"  # 60 demo articles + 2


def test_crawl_runs_show_runs_on_the_first_screen(server):
    # Datasette listed the column descriptions above the rows: the first screen was all of
    # them, and each row as tall as its settings JSON wrapped.
    base, shots, _ = server
    page = render(f"{base}/{DB}/crawl_runs", shots / "crawl_runs.png")
    [guide] = page.cssselect("details.na-column-guide")
    assert _text(guide.cssselect("summary")[0]).startswith("Column guide (")
    assert guide.cssselect("dl.column-descriptions dt")
    assert not page.cssselect("details[open]")
    assert page.cssselect("table.rows-and-columns td.col-settings")


def test_home_says_what_the_archive_holds(server):
    base, shots, _ = server
    page = render(f"{base}/", shots / "home.png")
    holds = _text(page.cssselect(".na-holds")[0])
    assert holds.startswith("62 articles from 2 sites, published 2 Jun 2023 –"), holds
    links = {a.get("href") for a in page.cssselect("a")}
    assert "/-/dashboards/archive" in links and "/-/search" in links
    database = render(f"{base}/{DB}", shots / "database.png")
    tables = [
        _text(a)
        for a in database.cssselect("h3 a, h2 a")
        if a.get("href", "").startswith(f"/{DB}/")
    ]
    assert tables[0] == "articles"
    assert "article_urls" not in tables  # plumbing is hidden
