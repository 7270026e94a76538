"""Dates on pages from anywhere: one hand-made case per date form and markup, and the contract for
a date whose page names no zone (kept naive, never given a guessed offset)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from newsarchive.datasette.plugins.analyst import local_time
from newsarchive.extract import extract_article
from newsarchive.extract.dates import parse_date_parts
from newsarchive.items import Article
from newsarchive.storage.records import article_columns

BODY = "<p>" + " ".join(["Ein langer Absatz mit genug Worten für den Text der Seite."] * 8) + "</p>"


def page(head: str = "", before: str = "", after: str = "", lang: str | None = "de") -> str:
    lang_attr = f' lang="{lang}"' if lang else ""
    return (
        f"<html{lang_attr}><head><title>Titel</title>{head}</head><body><article>{before}"
        f"<h1>Eine Überschrift der Seite</h1>{after}{BODY}</article></body></html>"
    )


@pytest.mark.parametrize(
    ("text", "want", "has_time"),
    [
        ("am 20.06.2018", datetime(2018, 6, 20), False),
        ("27.06.2018 09:54", datetime(2018, 6, 27, 9, 54), True),
        ("January 22, 2014", datetime(2014, 1, 22), False),
        ("20. Juni 2018", datetime(2018, 6, 20), False),
        ("3. Januar 2019, 14:05 Uhr", datetime(2019, 1, 3, 14, 5), True),
        ("1. März 2020", datetime(2020, 3, 1), False),
        ("5. Mai 2017", datetime(2017, 5, 5), False),
        ("24. Dezember 2015", datetime(2015, 12, 24), False),
        ("12. Jänner 2021", datetime(2021, 1, 12), False),
        ("14 février 2019", datetime(2019, 2, 14), False),
        ("3 août 2019", datetime(2019, 8, 3), False),
        ("1er décembre 2020", datetime(2020, 12, 1), False),
        ("15 de marzo de 2020", datetime(2020, 3, 15), False),
        ("7 июня 2020 г.", datetime(2020, 6, 7), False),
        ("25 декабря 2019", datetime(2019, 12, 25), False),
        ("9 maggio 2018", datetime(2018, 5, 9), False),
        ("2 maart 2016", datetime(2016, 3, 2), False),
    ],
)
def test_date_forms_of_other_languages(text, want, has_time):
    parsed = parse_date_parts(text)
    assert parsed is not None, text
    assert parsed.value == want and parsed.has_time == has_time and parsed.zone is None


@pytest.mark.parametrize("text", ["marketing 2020", "Marsch 2019", "Maier 12 2018"])
def test_month_names_are_whole_words(text):
    assert parse_date_parts(text) is None


@pytest.mark.parametrize(
    ("html", "want"),
    [
        # Zone-less visible date lines next to the headline.
        (page(after='<p class="date">am 20.06.2018</p>'), "2018-06-20"),
        (page(after="<span>27.06.2018 09:54</span>"), "2018-06-27T09:54:00"),
        (page(after="<div>January 22, 2014</div>", lang="en"), "2014-01-22"),
        (page(after="<span>19. Oktober 2019, 14:37 Uhr</span>"), "2019-10-19T14:37:00"),
        # A date-only JSON-LD value.
        (
            page(
                '<script type="application/ld+json">{"@type": "NewsArticle", '
                '"datePublished": "2019-07-25"}</script>'
            ),
            "2019-07-25",
        ),
        # Microdata on elements other than <meta>: content attribute, title, a <time>'s text.
        (
            page(after='<i itemprop="datePublished" content="2020-02-11T17:29:00+01:00">x</i>'),
            "2020-02-11T17:29:00+01:00",
        ),
        (
            page(after='<abbr itemprop="datePublished" title="2011-03-30T21:05:00-07:00">9</abbr>'),
            "2011-03-30T21:05:00-07:00",
        ),
        (page(after='<time itemprop="datePublished">20. Juni 2018</time>'), "2018-06-20"),
        # Meta names of other publishing systems.
        (page('<meta name="publication_date" content="2022-02-08T14:00:00">'), "2022-02-08T14:00:00"),
        (page('<meta name="DC.date.issued" content="2011-09-17">'), "2011-09-17"),
        (page('<meta name="citation_publication_date" content="2009/09/15">'), "2009-09-15"),
        (page('<meta name="parsely-pub-date" content="2020-05-01T10:00:00Z">'),
         "2020-05-01T10:00:00+00:00"),
        (page('<meta name="sailthru.date" content="2020-05-01 10:00:00">'), "2020-05-01T10:00:00"),
        (page('<meta name="article.published" content="2018-03-04">'), "2018-03-04"),
        (page('<meta name="pubdate" content="2017-01-02">'), "2017-01-02"),
        (page('<meta name="date" content="2016-04-05">'), "2016-04-05"),
        # A press-release lead that opens with its date.
        (page(after="<p><strong>(18.01.2018) Die Landwirte zittern vor der Seuche, die seit "
                    "Wochen im Osten des Landes um sich greift und Schweine tötet.</strong></p>"),
         "2018-01-18"),
    ],
)  # fmt: skip
def test_published_from_markup(html, want):
    article = extract_article(html, "https://example.org/artikel")
    assert article.to_dict()["published"] == want, article.notes


def test_url_dates_without_zone():
    article = extract_article(page(lang="en"), "https://example.org/2020/04/28/story/")
    assert article.to_dict()["published"] == "2020-04-28"
    compact = extract_article(page(lang="en"), "https://example.org/20200428/story")
    assert compact.to_dict()["published"] == "2020-04-28"
    assert extract_article(page(lang="en"), "https://example.org/20201399/story").published is None


def test_time_element_outside_the_headline_window():
    filler = "".join(f"<div><span>x{i}</span></div>" for i in range(60))
    html = page(after=filler + '<aside><time datetime="2020-08-06T09:09:24Z">6 Aug</time></aside>')
    article = extract_article(html, "https://example.org/a")
    assert article.to_dict()["published"] == "2020-08-06T09:09:24+00:00"


def test_zone_less_value_is_kept_naive_with_a_note():
    article = extract_article(page(after="<span>27.06.2018 09:54</span>"), "https://example.org/a")
    assert article.published == datetime(2018, 6, 27, 9, 54)
    assert article.published.tzinfo is None
    assert any("no zone known" in note and "27.06.2018 09:54" in note for note in article.notes)


def test_an_offset_elsewhere_on_the_page_still_zones_a_visible_time():
    head = '<meta property="article:modified_time" content="2018-06-28T10:00:00+02:00">'
    article = extract_article(
        page(head, after="<span>27.06.2018 09:54</span>"), "https://example.org/a"
    )
    assert article.to_dict()["published"] == "2018-06-27T09:54:00+02:00"


def test_german_page_without_lang_is_not_indonesian():
    html = page(after="<span>Donnerstag, 14. Juni 2018 10:15</span>", lang=None).replace(
        BODY, "<p>" + "Die Sitzung im Juni und im Juli war lang, sagte der Sprecher. " * 10 + "</p>"
    )
    article = extract_article(html, "https://example.org/a")
    assert article.language != "id"
    assert article.to_dict()["published"] == "2018-06-14T10:15:00"  # no WIB offset


def test_indonesian_page_keeps_wib():
    article = extract_article(
        page(after="<span>Senin, 02 Juli 2023 19:17 WIB</span>", lang="id"),
        "https://example.id/a",
    )
    assert article.to_dict()["published"] == "2023-07-02T19:17:00+07:00"


@pytest.mark.parametrize(
    ("value", "text", "utc", "day"),
    [
        (datetime(2018, 6, 27, 9, 54), "2018-06-27T09:54:00", None, "2018-06-27"),
        (datetime(2018, 6, 27), "2018-06-27", None, "2018-06-27"),
        (
            datetime(2018, 6, 27, 1, 0, tzinfo=timezone(timedelta(hours=7))),
            "2018-06-27T01:00:00+07:00",
            "2018-06-26T18:00:00Z",
            "2018-06-27",
        ),
    ],
)
def test_stored_columns_for_naive_and_aware_dates(value, text, utc, day):
    article = Article(url="https://example.org/a", title="T", published=value)
    assert article.to_dict()["published"] == text
    row = article_columns(article)
    assert row["published"] == text
    assert row["published_utc"] == utc
    assert row["published_date"] == day


def test_datasette_shows_zone_less_dates_as_written():
    assert local_time("2018-06-27") == "27 Jun 2018"
    assert local_time("2018-06-27T09:54:00") == "27 Jun 2018, 09:54 (zone not stated)"
    assert local_time("2023-07-02T19:17:00+07:00") == "2 Jul 2023, 19:17 WIB"


# --- Forms and rules added for the held-out pages (hand-made inputs) ---


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("4. 2. 2022", datetime(2022, 2, 4)),  # German typographic spaces after the dots
        ("Von Redaktion 4.\u2009 2.\u20092022.", datetime(2022, 2, 4)),
        ("7 червня 2020", datetime(2020, 6, 7)),  # Ukrainian
        ("12. června 2020", datetime(2020, 6, 12)),  # Czech
        ("15 Haziran 2020 14:05", datetime(2020, 6, 15, 14, 5)),  # Turkish
        ("2020. június 7. 10:30", datetime(2020, 6, 7, 10, 30)),  # Hungarian, year first
        ("2020 m. birželio 7 d.", datetime(2020, 6, 7)),  # Lithuanian, year first
        ("3 iunie 2021", datetime(2021, 6, 3)),  # Romanian
        ("1. mart 2020.", datetime(2020, 3, 1)),  # Serbian/Bosnian Latin
        ("7 kesäkuuta 2020", datetime(2020, 6, 7)),  # Finnish
        ("7 Ιουνίου 2020", datetime(2020, 6, 7)),  # Greek
        ("7 de juny de 2020", datetime(2020, 6, 7)),  # Catalan
        ("14. rujna 2019.", datetime(2019, 9, 14)),  # Croatian
        ("5 listopada 2020", datetime(2020, 11, 5)),  # Polish November, not Croatian October
        ("2020年2月14日 10:47", datetime(2020, 2, 14, 10, 47)),  # Chinese / Japanese
        ("2020년 2월 14일", datetime(2020, 2, 14)),  # Korean
    ],
)
def test_more_date_forms(text, want):
    parsed = parse_date_parts(text)
    assert parsed is not None, text
    assert parsed.value == want


@pytest.mark.parametrize("text", ["in 2019 may 5 people came", "4/ 2/ 2022", "Kapitel 2020 mart"])
def test_more_forms_stay_strict(text):
    assert parse_date_parts(text) is None


LD_EXTRA_BRACE = (
    '<script type="application/ld+json">{"@type": "NewsArticle", '
    '"datePublished": "2020-10-26T18:10:00+01:00"}}</script>'
)
TEASER = (
    "<div>BiH Još dvoje preminulo od posljedica korone, potvrđeno 49 novih slučajeva u "
    "RS 09.08.2020 u 10:52</div>"
)


@pytest.mark.parametrize(
    ("html", "url", "want"),
    [
        # JSON-LD with text after its value (a stray brace) is still read.
        (page(LD_EXTRA_BRACE), None, "2020-10-26T18:10:00+01:00"),
        # A teaser sentence with its own date is prose, not the page's date line.
        (page(LD_EXTRA_BRACE, after=TEASER), None, "2020-10-26T18:10:00+01:00"),
        # A <time> whose text names another day than its datetime: the shown day wins.
        (
            page(after='<time datetime="2019-07-03T10:18:46Z">Publié le 29 juin 2019</time>',
                 lang="fr"),
            None,
            "2019-06-29",
        ),
        # A bare meta `date` yields to the element marked as the article's date on another day.
        (
            page('<meta name="date" content="2022-01-21T15:38:44+01:00">',
                 after='<time itemprop="datePublished" datetime="2022-01-27">27.01.2022</time>'),
            None,
            "2022-01-27T00:00:00+01:00",  # the day, in the offset the page writes elsewhere
        ),
        (
            page('<meta name="Date" content="2022-1-26T14:32:06+02:00">',
                 after='<time datetime="2022-01-21">21.01.2022 - 13:30</time>'),
            None,
            "2022-01-21T13:30:00+02:00",
        ),
        # ...but is kept when it agrees with them (same day).
        (
            page('<meta name="date" content="2022-01-27T09:00:00+01:00">',
                 after='<time itemprop="datePublished" datetime="2022-01-27">27.01.2022</time>'),
            None,
            "2022-01-27T09:00:00+01:00",
        ),
        # The visible date agrees with the URL's day; the machine value is another day's.
        (
            page(after='<span class="published">22. Oktober 2019</span>'
                       '<aside><time datetime="2009-04-11 18:06:36">11. April 2009</time></aside>'),
            "https://blog.example/2019/10/22/artikel/",
            "2019-10-22",
        ),
        # A date the page marks as its publication is the machine modification minute (in some
        # zone): the page re-dated the article; an unmarked one is only the update.
        (
            page('<script type="application/ld+json">{"@type": "NewsArticle", '
                 '"datePublished": "2021-03-16T16:16:10Z", '
                 '"dateModified": "2021-03-20T14:00:17Z"}</script>',
                 after='<div class="publish-info"><p class="date-time">'
                       "20. März 2021 - 15:00 Uhr</p></div>"),
            None,
            "2021-03-20T15:00:00",
        ),
        (
            page('<script type="application/ld+json">{"@type": "NewsArticle", '
                 '"datePublished": "2021-03-16T16:16:10Z", '
                 '"dateModified": "2021-03-20T14:00:17Z"}</script>',
                 after='<p class="date-time">20. März 2021 - 15:00 Uhr</p>'),
            None,
            "2021-03-16T16:16:10+00:00",
        ),
        # Nothing dates the page but its modification meta.
        (page('<meta itemprop="dateUpdate" content="2020-02-14 10:47:36">', lang=None), None,
         "2020-02-14T10:47:36"),
        # ...or a wiki's "last edited" footer (the event announced in a sentence does not count).
        (
            page(after="<p>Der nächste Stammtisch findet am Mi. 5. Februar 2020 ab 19 Uhr im "
                       "Cafe am Markt statt.</p>")
            .replace("</body>", '<ul id="footer"><li id="footer-info-lastmod">Diese Seite wurde '
                                "zuletzt am 29. Januar 2020 um 13:22 Uhr geändert.</li></ul>"
                                "</body>"),
            None,
            "2020-01-29T13:22:00",
        ),
        (
            page(lang="en").replace("</body>", '<p id="pageinfo">Guide/Download (last edited '
                                               "2019-11-10 13:28:18 by Someone)</p></body>"),
            None,
            "2019-11-10T13:28:18",
        ),
        # ...or the upload day in its share image's URL.
        (page('<meta property="og:image" content="https://x.example/files/2016/05/04/og.png">',
              lang="en"), None, "2016-05-04"),
    ],
)  # fmt: skip
def test_rules_for_pages_from_anywhere(html, url, want):
    article = extract_article(html, url or "https://example.org/artikel")
    assert article.to_dict()["published"] == want, article.notes


def test_future_date_line_loses_to_fetch_time():
    html = page(after="<span>Am 5. Februar 2030 um 19:00</span>")
    fetched = datetime(2020, 1, 30, tzinfo=UTC)
    article = extract_article(html, "https://example.org/a", fetched_at=fetched)
    assert article.published is None, article.notes


def test_stand_in_dates_are_explained():
    html = page('<meta itemprop="dateUpdate" content="2020-02-14 10:47:36">', lang=None)
    article = extract_article(html, "https://example.org/a")
    assert any("states no publication date" in note for note in article.notes)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # Dotted, the two-digit year is day-first (German forum and news software).
        ("12.03.21 08:15", datetime(2021, 3, 12, 8, 15)),
        ("Beitrag vom 05.11.98, 22:40", datetime(1998, 11, 5, 22, 40)),
        # Slashed, only a date one reading excludes: day-first (British/French forums)...
        ("Posté par Zoé le 23/02/17, 09:05 pm", datetime(2017, 2, 23, 21, 5)),
        # ...or month-first (US bylines), with the zone after the time.
        ("04/27/18 11:02 AM", datetime(2018, 4, 27, 11, 2)),
        # A four-digit number before it (a post counter) is no year.
        ("Beiträge 4417 Post #2 am 30.01.16 um 17:45", datetime(2016, 1, 30, 17, 45)),
    ],
)
def test_two_digit_years_with_a_time(text, want):
    parsed = parse_date_parts(text)
    assert parsed is not None, text
    assert parsed.value.replace(tzinfo=None) == want and parsed.has_time


@pytest.mark.parametrize(
    "text",
    [
        "Version 2.4.19",  # a version number, no time after it
        "Registriert: 12.03.21",  # a date alone: too often a section or version number
        "07/06/21 10:30 am",  # both readings possible, and the page does not say which
        "Release 1.12.20.3 at 10:00",  # a longer dotted number
        "10.0.0.12 12:30",  # an address
    ],
)
def test_two_digit_years_stay_strict(text):
    assert parse_date_parts(text) is None


def test_date_and_time_in_sibling_elements_are_read_apart():
    # Date and time in two spans that only CSS spaces: their joined text "14.02.2019 18:22".
    html = page(after='<p class="meta"><span>14.02.2019</span><span>18:22</span></p>')
    assert extract_article(html, "https://example.org/a").to_dict()["published"] == (
        "2019-02-14T18:22:00"
    )


def test_element_marked_as_modification_is_not_the_publication():
    # The only shown date is the <time itemprop=dateModified> in the byline block (in a div
    # that repeats it): the machine datePublished stays the publication date.
    html = page(
        '<meta property="article:published_time" content="2018-04-27T03:10:00-04:00">'
        '<meta property="article:modified_time" content="2018-04-27T11:02:41-04:00">',
        after='<div class="byline-date"><time itemprop="dateCreated" datetime='
        '"2018-04-27T03:10:00-04:00"></time><br><time itemprop="dateModified" '
        'datetime="2018-04-27T11:02:41-04:00">04/27/18 11:02 AM</time></div>',
        lang="en",
    )
    record = extract_article(html, "https://example.org/a").to_dict()
    assert record["published"] == "2018-04-27T03:10:00-04:00"
    assert record["modified"] == "2018-04-27T11:02:41-04:00"


def test_german_stand_line_dates_an_undated_page():
    # An institution's page whose only date is the "as of" line after a <br> in its footer, far
    # below the headline (past a long list of links).
    links = "".join(f"<li><a href='/s{i}'>Seite {i}</a></li>" for i in range(60))
    html = (
        '<html lang="de"><head><title>Amt</title></head><body><h1>Bürgerservice</h1>'
        f"{BODY}<ul>{links}</ul><p class='print'>Quelle: Amt der Stadt<br>Seite: start<br>"
        "[Stand: 03.02.2021, 07:30 Uhr]</p></body></html>"
    )
    article = extract_article(html, "https://example.org/")
    assert article.to_dict()["published"] == "2021-02-03T07:30:00", article.notes
    assert any("Stand: 03.02.2021" in note for note in article.notes)


def test_stand_as_a_noun_is_no_date_label():
    html = (
        '<html lang="de"><head><title>Amt</title></head><body><h1>Bürgerservice</h1>'
        f"{BODY}<p>Der Stand der Arbeiten am Rathaus wurde am 03.02.2021 mit allen Anwohnern "
        "der Straße im großen Saal besprochen.</p></body></html>"
    )
    article = extract_article(html, "https://example.org/")
    assert article.published is None, article.notes


def test_forum_post_with_a_two_digit_year_dates_the_thread():
    # A forum thread: the first post's header writes its date with a two-digit year.
    html = page(
        after="<div class='postbody'><p class='author'>Beitrag #1 von Wanderer am 27/11/14, "
        "08:05 pm</p></div>",
    )
    article = extract_article(html, "https://forum.example.org/t12-regeln")
    assert article.to_dict()["published"] == "2014-11-27T20:05:00", article.notes


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # A month name with a two-digit year, where the line says the two digits are a year: a
        # dateline's place before it (an Italian press release), an apostrophe, a time after it.
        ("( Sulmona, 3 Febbraio 21 )", datetime(2021, 2, 3)),
        ("Berlin, 22-Sep-18.", datetime(2018, 9, 22)),
        # A number, a word and the day before the month ("2 vom 14") read as a date first.
        ("Heft 2 vom 14 Jan 20, 12:44", datetime(2020, 1, 14, 12, 44)),
        ("Posted on 9 Jan '19", datetime(2019, 1, 9)),
        ("Publié le 5 avr. 19 à 18:40", datetime(2019, 4, 5, 18, 40)),
    ],
)
def test_two_digit_years_with_a_month_name(text, want):
    parsed = parse_date_parts(text)
    assert parsed is not None, text
    assert parsed.value == want


def test_two_digit_year_with_a_month_name_needs_the_line_to_say_so():
    assert parse_date_parts("Wien, 14 Mai 20") is not None
    # Without a place, an apostrophe or a time, two digits may be a count ("14 Mai 20
    # Teilnehmer") or a day number: no date.
    for text in ("2 juli 23", "Treffen am 14 Mai 20", "Treffen am 14 Mai 20 Teilnehmer",
                 "il 3 febbraio 21 persone arrivano"):  # fmt: skip
        assert parse_date_parts(text) is None, text


def test_dateline_with_a_two_digit_year_dates_a_press_release():
    html = (
        '<html lang="it"><head><title>Ente Parco</title></head><body><div id="testo">'
        "<h1>Nuovi nati nel parco</h1><em>( Sulmona, 3 Febbraio 21 )</em>"
        + BODY
        + "</div></body></html>"
    )
    article = extract_article(html, "https://parco.example.it/notizia.php?id=12")
    assert article.to_dict()["published"] == "2021-02-03", article.notes
