"""parse_date: one row per date form met on Indonesian and English news pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from newsarchive.extract.dates import WIB, WIT, WITA, parse_date

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
