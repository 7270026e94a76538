"""parse_date: one row per date form met on Indonesian and English news pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from newsarchive.extract.dates import WIB, WIT, WITA, DatesResult, find_dates, parse_date
from newsarchive.extract.document import parse_document

PLUS7 = timezone(timedelta(hours=7))
PLUS8 = timezone(timedelta(hours=8))
# A crawl at 14:00 UTC = 21:00 WIB on Sunday 2 July 2023.
FETCHED = datetime(2023, 7, 2, 14, 0, tzinfo=UTC)


def test_zone_constants() -> None:
    moment = datetime(2023, 7, 2, 12, 0)
    assert moment.replace(tzinfo=WIB).utcoffset() == timedelta(hours=7)
    assert moment.replace(tzinfo=WITA).utcoffset() == timedelta(hours=8)
    assert moment.replace(tzinfo=WIT).utcoffset() == timedelta(hours=9)


ABSOLUTE_FORMS = [
    # Indonesian day and month names, dash before the time, zone label (the seed page).
    ("Minggu, 2 Juli 2023 - 19:17 WIB", datetime(2023, 7, 2, 19, 17, tzinfo=PLUS7)),
    # WITA and WIT labels.
    ("Minggu, 2 Juli 2023 19:17 WITA", datetime(2023, 7, 2, 19, 17, tzinfo=PLUS8)),
    (
        "Senin, 3 Juli 2023 08:00 WIT",
        datetime(2023, 7, 3, 8, 0, tzinfo=timezone(timedelta(hours=9))),
    ),
    # Dotted time.
    ("Minggu, 2 Juli 2023 19.17 WIB", datetime(2023, 7, 2, 19, 17, tzinfo=PLUS7)),
    # Numeric day-first date with a day name (detik 2015).
    ("Kamis, 05/11/2015 10:08 WIB", datetime(2015, 11, 5, 10, 8, tzinfo=PLUS7)),
    # Numeric date without leading zero and without zone (mediaindonesia): default WIB.
    ("08/1/2026 20:19", datetime(2026, 1, 8, 20, 19, tzinfo=PLUS7)),
    # Abbreviated Indonesian month, comma before the time (detik 2015).
    ("Selasa 16 Jun 2015, 14:05 WIB", datetime(2015, 6, 16, 14, 5, tzinfo=PLUS7)),
    ("Sabtu, 10 Des 2022 13:19 WIB", datetime(2022, 12, 10, 13, 19, tzinfo=PLUS7)),
    ("Rabu, 4 Agt 2021 09:00 WIB", datetime(2021, 8, 4, 9, 0, tzinfo=PLUS7)),
    ("Jumat, 12 Okt 2018 07:30 WIB", datetime(2018, 10, 12, 7, 30, tzinfo=PLUS7)),
    # Old spellings.
    ("Senin, 1 Pebruari 2010 10:00 WIB", datetime(2010, 2, 1, 10, 0, tzinfo=PLUS7)),
    ("Ahad, 7 Nopember 2010 10:00 WIB", datetime(2010, 11, 7, 10, 0, tzinfo=PLUS7)),
    # Pipe between date and time (kompas), comma (republika).
    ("Selasa, 16 Februari 2016 | 14:38 WIB", datetime(2016, 2, 16, 14, 38, tzinfo=PLUS7)),
    ("Senin, 15 Februari 2016, 16:15 WIB", datetime(2016, 2, 15, 16, 15, tzinfo=PLUS7)),
    # Time before the date.
    ("19:17 WIB, 2 Juli 2023", datetime(2023, 7, 2, 19, 17, tzinfo=PLUS7)),
    # "on ... at ..." (liputan6), and a views counter that must not read as a time (antaranews).
    ("on 16 Feb 2016 at 09:10 WIB", datetime(2016, 2, 16, 9, 10, tzinfo=PLUS7)),
    ("Kamis, 5 November 2015 14:56 WIB | 1.229 Views", datetime(2015, 11, 5, 14, 56, tzinfo=PLUS7)),
    # English forms: day name, comma after the month, 12-hour clock, ordinal day.
    ("Wednesday, 04 November, 2015 | 07:28 WIB", datetime(2015, 11, 4, 7, 28, tzinfo=PLUS7)),
    ("Fri, June 19 2015, 7:36 AM", datetime(2015, 6, 19, 7, 36, tzinfo=PLUS7)),
    ("July 2nd, 2023 at 7:17 pm", datetime(2023, 7, 2, 19, 17, tzinfo=PLUS7)),
    ("November 20, 2019 13:42", datetime(2019, 11, 20, 13, 42, tzinfo=PLUS7)),
    # Indonesian month in an English pattern, date only (WordPress): local midnight.
    ("Maret 30, 2015", datetime(2015, 3, 30, 0, 0, tzinfo=PLUS7)),
    # ISO-8601 and its malformed cousins.
    ("2015-11-05T14:56:43+07:00", datetime(2015, 11, 5, 14, 56, 43, tzinfo=PLUS7)),
    ("2016-02-16T02:10:56Z", datetime(2016, 2, 16, 2, 10, 56, tzinfo=UTC)),
    ("2015-11-05 T10:08:58Z", datetime(2015, 11, 5, 10, 8, 58, tzinfo=UTC)),
    ("2015-06-16T14-05-11Z", datetime(2015, 6, 16, 14, 5, 11, tzinfo=UTC)),
    ("2019-11-20 13:42:06+08:00", datetime(2019, 11, 20, 13, 42, 6, tzinfo=PLUS8)),
    ("2023-07-02T19:17:00.000+0700", datetime(2023, 7, 2, 19, 17, tzinfo=PLUS7)),
    ("2022/12/10 13:19:56", datetime(2022, 12, 10, 13, 19, 56, tzinfo=PLUS7)),
    ("2023-07-02", datetime(2023, 7, 2, 0, 0, tzinfo=PLUS7)),
    # GMT with an offset, RFC 822.
    ("02 Jul 2023 19:17 GMT+7", datetime(2023, 7, 2, 19, 17, tzinfo=PLUS7)),
    ("Sun, 02 Jul 2023 12:17:00 GMT", datetime(2023, 7, 2, 12, 17, tzinfo=UTC)),
    # Zone abbreviations of English-language sites; US generic labels follow daylight saving.
    (
        "01:38:07 PM IST Nov 20, 2019",
        datetime(2019, 11, 20, 13, 38, 7, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ),
    (
        "Monday, November 18, 2019, 04:05 pm PT (07:05 pm ET)",
        datetime(2019, 11, 18, 16, 5, tzinfo=timezone(timedelta(hours=-8))),
    ),
    ("July 4, 2019 10:00 am ET", datetime(2019, 7, 4, 10, 0, tzinfo=timezone(timedelta(hours=-4)))),
    (
        "Nov. 20, 2019 6:02 AM EST",
        datetime(2019, 11, 20, 6, 2, tzinfo=timezone(timedelta(hours=-5))),
    ),
    # A separator between date and time, as <time> elements without `datetime` write them.
    ("7 Mar 2018 | 08:40", datetime(2018, 3, 7, 8, 40, tzinfo=PLUS7)),
    ("Kamis, 7/3/2018 - 08:40", datetime(2018, 3, 7, 8, 40, tzinfo=PLUS7)),
    # A byline carrying the date, lower-case zone label.
    ("Andi Saputra - 3 Maret 2018 20:15 wib", datetime(2018, 3, 3, 20, 15, tzinfo=PLUS7)),
    # Epoch milliseconds (a CMS meta tag).
    ("1670653196000", datetime(2022, 12, 10, 6, 19, 56, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "expected"), ABSOLUTE_FORMS)
def test_absolute_forms(text: str, expected: datetime) -> None:
    value = parse_date(text)
    assert value == expected
    assert value is not None and value.utcoffset() == expected.utcoffset()


RELATIVE_FORMS = [
    ("2 jam yang lalu", datetime(2023, 7, 2, 12, 0, tzinfo=UTC)),
    ("30 menit lalu", datetime(2023, 7, 2, 13, 30, tzinfo=UTC)),
    ("sejam yang lalu", datetime(2023, 7, 2, 13, 0, tzinfo=UTC)),
    ("20 detik yang lalu", datetime(2023, 7, 2, 13, 59, 40, tzinfo=UTC)),
    ("3 hari lalu", datetime(2023, 6, 29, 14, 0, tzinfo=UTC)),
    ("about 10 hours ago", datetime(2023, 7, 2, 4, 0, tzinfo=UTC)),
    ("5 minutes ago", datetime(2023, 7, 2, 13, 55, tzinfo=UTC)),
    # Day words are local (WIB) days: yesterday in Jakarta is 1 July.
    ("kemarin", datetime(2023, 7, 1, 0, 0, tzinfo=PLUS7)),
    ("kemarin 19.17", datetime(2023, 7, 1, 19, 17, tzinfo=PLUS7)),
    ("Hari ini, 08:15 WIB", datetime(2023, 7, 2, 8, 15, tzinfo=PLUS7)),
    ("yesterday", datetime(2023, 7, 1, 0, 0, tzinfo=PLUS7)),
]


@pytest.mark.parametrize(("text", "expected"), RELATIVE_FORMS)
def test_relative_forms_resolve_against_fetched_at(text: str, expected: datetime) -> None:
    value = parse_date(text, fetched_at=FETCHED)
    assert value == expected
    # Shown in the page's zone.
    assert value is not None and value.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize("text", ["2 jam yang lalu", "kemarin", "30 menit lalu"])
def test_relative_forms_need_fetched_at(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Baca juga: Polisi tangkap pelaku",
        "1.229 Views",
        "Rp 10.500",
        "0001-01-01T00:00:00Z",  # CMS placeholder
        "32/13/2023 10:00",
        "Copyright 2023",
    ],
)
def test_not_dates(text: str) -> None:
    assert parse_date(text) is None


def test_zoneless_time_without_default_zone_is_none() -> None:
    # An offset is never guessed: with no default zone a zone-less time is unusable...
    assert parse_date("Fri, June 19 2015, 7:36 AM", default_tz=None) is None
    # ...while a labelled one still reads.
    assert parse_date("Minggu, 2 Juli 2023 - 19:17 WIB", default_tz=None) == datetime(
        2023, 7, 2, 12, 17, tzinfo=UTC
    )


def test_two_letter_zone_counts_only_in_capitals() -> None:
    # "et" is a word in other languages: lower-case, it is not Eastern Time.
    assert parse_date("2 Juli 2023 10:00 et 12:00", default_tz=None) is None


def test_default_zone_applies_to_zoneless_times() -> None:
    assert parse_date("08/1/2026 20:19", default_tz=WITA) == datetime(
        2026, 1, 8, 20, 19, tzinfo=PLUS8
    )


def test_ambiguous_numeric_date_reads_day_first_unless_impossible() -> None:
    assert parse_date("05/11/2015 10:08") == datetime(2015, 11, 5, 10, 8, tzinfo=PLUS7)
    # 11/25 can only be month/day.
    assert parse_date("11/25/2015 10:08") == datetime(2015, 11, 25, 10, 8, tzinfo=PLUS7)


def test_dateparser_fallback_reads_rare_forms() -> None:
    # A two-digit year is none of the fast forms: dateparser reads it.
    assert parse_date("2-Jul-23 19:17") == datetime(2023, 7, 2, 19, 17, tzinfo=PLUS7)


# --- the page's own date line, found by several signals (find_dates) ---------------------------

HEADLINE = "Petani Garut Mulai Tanam Padi Gadu Meski Debit Irigasi Menyusut"


def _page(line: str, *, head: str = "", extra: str = "", lang: str = ' lang="id"') -> str:
    return (
        f"<html{lang}><head><title>{HEADLINE} - Kabar Priangan</title>"
        f'<meta property="og:title" content="{HEADLINE}">{head}</head><body>'
        f"<nav><a href='/'>Beranda</a></nav><article><h1>{HEADLINE}</h1>{line}"
        "<div class='isi'><p>Petani mulai menanam padi meski debit air irigasi menyusut sejak Juli, "
        f"kata ketua kelompok tani setempat.</p>{extra}<p>Dinas menyiapkan pompa air.</p></div>"
        "</article></body></html>"
    )


def _dates(html: str, default_tz=WIB) -> DatesResult:
    doc = parse_document(html, "https://kabarpriangan.example/garut/petani-tanam-padi")
    return find_dates(doc, fetched_at=FETCHED, default_tz=default_tz, selectors={})


# A "Baca juga" teaser between the headline's date line and the end of the search window.
TEASER = (
    "<div class='baca-juga'>Baca juga: <a href='/x'>Harga Gabah Naik Jelang Musim Gadu</a> "
    "<time datetime='2019-08-11T15:20:00+07:00'>11 Agustus 2019</time></div>"
)


@pytest.mark.parametrize(
    "line",
    [
        '<div class="jadwal">Rabu, 14 Agustus 2019 09:05</div>',
        '<span class="publish-time">Rabu, 14 Agustus 2019 09:05</span>',
        "<time>14 Agu 2019 | 09:05</time>",
        "<div class='meta'>Oleh: Dedi Suherman <time>Rabu, 14/8/2019 - 09:05</time></div>",
        '<div class="reporter">Dedi Suherman - 14 Agustus 2019 09:05 wib</div>',
    ],
)
def test_date_line_beats_a_farther_teaser_time(line: str) -> None:
    result = _dates(_page(line, extra=TEASER))
    assert result.published == datetime(2019, 8, 14, 9, 5, tzinfo=PLUS7)
    assert result.published_source == "byline"
    assert any("teaser" in note for note in result.notes)


def test_plain_visible_date_still_yields_to_a_teaser_time_beyond_a_day() -> None:
    # No date-line shape (no class word, no day name): the old rule stands, the <time datetime> is
    # kept and the visible date is taken for a teaser's.
    result = _dates(_page("<p>14 Agustus 2019 09:05</p>", extra=TEASER))
    assert result.published == datetime(2019, 8, 11, 15, 20, tzinfo=PLUS7)


def test_prayer_time_widget_is_not_a_date_line() -> None:
    # Class word, day name and times, but the text is a schedule, not a date line.
    widget = (
        '<div class="jadwal-sholat">Jadwal Sholat Garut Rabu, 14 Agustus 2019 Subuh 04:33</div>'
    )
    result = _dates(_page(widget, extra=TEASER))
    assert result.published == datetime(2019, 8, 11, 15, 20, tzinfo=PLUS7)


def test_zoneless_indonesian_date_line_is_wib_when_the_page_gives_no_zone() -> None:
    # A page declaring another language gets no default zone; the Indonesian day name says WIB.
    html = _page('<div class="jadwal">Rabu, 14 Agu 2019 09:05</div>', lang=' lang="en-US"')
    result = _dates(html, default_tz=None)
    assert result.published == datetime(2019, 8, 14, 9, 5, tzinfo=PLUS7)
    assert any("WIB" in note for note in result.notes)


def test_zoneless_english_date_without_zone_stays_naive() -> None:
    # No Indonesian day name: an offset is still never guessed; the local time is kept naive.
    html = _page('<div class="date">August 14, 2019 09:05</div>', lang=' lang="en-US"')
    result = _dates(html, default_tz=None)
    assert result.published == datetime(2019, 8, 14, 9, 5)
    assert result.published.tzinfo is None
    assert any("no zone known" in note for note in result.notes)


def test_visible_wita_label_wins_over_a_machine_offset_for_the_same_instant() -> None:
    html = _page(
        '<div class="tanggal">Senin, 5 Juni 2023 00:30 WITA</div>',
        head='<meta property="article:published_time" content="2023-06-04T23:30:00+07:00">',
    )
    result = _dates(html)
    assert result.published == datetime(2023, 6, 5, 0, 30, tzinfo=PLUS8)
    assert result.published is not None and result.published.utcoffset() == timedelta(hours=8)
    assert any("visible zone label WITA" in note for note in result.notes)


def test_visible_wita_label_over_a_utc_machine_value() -> None:
    html = _page(
        '<div class="tanggal">Senin, 5 Juni 2023 00:30 WITA</div>',
        head='<meta property="article:published_time" content="2023-06-04T16:30:00Z">',
    )
    published = _dates(html).published
    assert published is not None and published.isoformat() == "2023-06-05T00:30:00+08:00"


def test_visible_wit_label_sets_the_zone_of_zoneless_machine_values() -> None:
    # The default would read the zone-less meta value as WIB, an hour off the visible WIT time.
    html = _page(
        '<div class="tanggal">Senin, 5 Juni 2023 09:30 WIT</div>',
        head='<meta property="article:published_time" content="2023-06-05 09:30:00">',
    )
    result = _dates(html)
    assert result.published is not None
    assert result.published.isoformat() == "2023-06-05T09:30:00+09:00"
    assert any("visible zone label WIT" in note for note in result.notes)


def test_profile_zone_is_not_overridden_for_zoneless_values() -> None:
    # A profile's zone (here WIB written explicitly) is a person's statement about the site: the
    # labelled visible value keeps its own label, zone-less machine values keep the profile's.
    profile_wib = timezone(timedelta(hours=7), "WIB")
    html = _page(
        '<div class="tanggal">Senin, 5 Juni 2023 09:30 WITA</div>',
        head='<meta property="article:published_time" content="2023-06-05 09:30:00">',
    )
    result = _dates(html, default_tz=profile_wib)
    assert result.published == datetime(2023, 6, 5, 9, 30, tzinfo=PLUS8)


def test_label_note_when_the_visible_wita_date_stands_alone() -> None:
    result = _dates(_page('<div class="tanggal">Senin, 5 Juni 2023 00:30 WITA</div>'))
    assert result.published is not None and result.published.utcoffset() == timedelta(hours=8)
    assert any("visible zone label WITA" in note for note in result.notes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A time no clock shows, as a CMS may write in its metadata: the date stands alone.
        # Before, each raised, and the page's whole extraction failed (no record).
        ("2019-11-19T07:93:25+00:00", datetime(2019, 11, 19, tzinfo=WIB)),
        ("2019-11-19 25:00", datetime(2019, 11, 19, tzinfo=WIB)),
        ("2019-11-19T23:59:60Z", datetime(2019, 11, 19, tzinfo=WIB)),
        # ISO 8601's end of the day: the next day's midnight.
        ("2019-11-19T24:00:00Z", datetime(2019, 11, 20, tzinfo=UTC)),
    ],
)
def test_iso_times_no_clock_shows(text: str, expected: datetime) -> None:
    assert parse_date(text) == expected


def test_a_page_with_such_a_time_still_gives_its_record() -> None:
    html = (
        '<html><head><meta property="article:published_time" content="2019-11-19T07:93:25+00:00">'
        "<title>Banjir melanda kota</title></head><body><h1>Banjir melanda kota</h1>"
        "<p>Banjir melanda kota sejak pagi, dan warga mengungsi ke masjid terdekat.</p>"
        "</body></html>"
    )
    from newsarchive.extract import extract_article

    article = extract_article(html.encode(), "https://news.example.id/2019/11/19/banjir")
    assert article.title == "Banjir melanda kota"
    assert article.published is not None and article.published.date().isoformat() == "2019-11-19"
