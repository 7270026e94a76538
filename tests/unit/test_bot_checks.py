"""A bot check or CAPTCHA answered instead of the page is named, not archived as the page."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse

from newsarchive.bot_checks import BOT_CHECK_MARKERS, BOT_CHECK_MAX_BYTES, BOT_CHECK_TITLES
from newsarchive.extract import extract_article
from newsarchive.middlewares import BotCheck, Unfetchable, bot_check

URL = "https://news.example.id/2024/01/15/judul-berita/"


def _response(body: bytes, status: int = 200, headers: dict | None = None) -> HtmlResponse:
    return HtmlResponse(URL, status=status, body=body, headers=headers or {}, encoding="utf-8")


@pytest.mark.parametrize(("name", "marker"), BOT_CHECK_MARKERS)
def test_each_check_page_is_named(name: str, marker: bytes) -> None:
    page = b"<html><head></head><body>" + marker + b"</body></html>"
    assert bot_check(_response(page)) == name
    with pytest.raises(Unfetchable, match=rf"^a bot check \({name}\) answered"):
        BotCheck().process_response(None, _response(page))


@pytest.mark.parametrize(("title", "name"), BOT_CHECK_TITLES.items())
def test_each_check_title_is_named(title: bytes, name: str) -> None:
    page = b"<html><head><TITLE> " + title.upper() + b" </TITLE></head><body></body></html>"
    assert bot_check(_response(page + b"<p>x</p>" * 20_000)) == name  # whatever its size


def test_headers_name_it_whatever_the_page() -> None:
    assert bot_check(_response(b"<p>x</p>", 403, {"cf-mitigated": "challenge"})) == "Cloudflare"
    assert bot_check(_response(b"<p>x</p>", 403, {"X-DataDome": "protected"})) == "DataDome"


def test_pages_of_sites_behind_such_services_are_pages() -> None:
    article = b"<html><body><article>" + b"<p>Kalimat berita.</p>" * 50 + b"</article>"
    # Cloudflare's bot management script in an ordinary page, a Cloudflare server header.
    ordinary = article + (
        b"<script>window.__CF$cv$params={r:'8f'};a.src='/cdn-cgi/challenge-platform/scripts/"
        b"jsd/main.js'</script></body></html>"
    )
    response = _response(ordinary, headers={"Server": "cloudflare", "cf-ray": "8f1a-SIN"})
    assert bot_check(response) is None
    assert BotCheck().process_response(None, response) is response
    # A page that quotes a check page's words (an article about bot checks).
    quoting = article * 80 + b"<p>Just a moment...</p><svg><title>Just a moment...</title>"
    quoting += b"<p>Incapsula incident ID</p>"
    assert len(quoting) > BOT_CHECK_MAX_BYTES
    assert bot_check(_response(quoting)) is None


def test_an_imported_check_page_is_no_article() -> None:
    # A WARC from another crawler, a saved file: before, a record titled "Just a moment...".
    page = (
        b"<html><head><title>Just a moment...</title></head><body><h1>news.example.id</h1>"
        b"<p>Checking if the site connection is secure. news.example.id needs to review the "
        b"security of your connection before proceeding.</p></body></html>"
    )
    found = extract_article(page, URL)
    assert found.page_kind == "other"
    assert found.kind_reasons == [
        "a bot check (Cloudflare) answered instead of the page: the site turns this crawler away"
    ]
    assert extract_article(page.decode(), URL).page_kind == "other"
