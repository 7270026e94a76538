"""Dates: Indonesian forms, zone labels, relative forms, and source disagreement.

Two layers:

* `parse_date` reads one date string: ISO-8601 and its malformed cousins, Indonesian and English
  day/month names, numeric day-first dates, 24-hour and dotted (`19.17`) times, 12-hour times,
  zone labels (WIB/WITA/WIT, UTC/GMT, numeric offsets) and relative forms (`2 jam yang lalu`,
  `kemarin`) resolved against `fetched_at`. A fast regex parser handles the known forms; dateparser
  (slow) is the fallback for the rare rest.
* `find_dates` gathers candidates from the page (profile selectors, JSON-LD, meta tags, <time>
  elements, the visible date line near the headline, the URL) and picks published/modified by the
  rules documented on `find_dates`, explaining every disagreement in `notes`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any

from newsarchive.extract import patterns
from newsarchive.extract.document import (
    ARTICLE_TYPES,
    Document,
    _flatten_jsonld,
    attributed_elements,
    classed_matching,
    clean_text,
    elements_after,
    jsonld_scripts,
    page_body,
    parent_text,
    preceding_elements,
    profile_texts,
    text_content,
)
from newsarchive.extract.headline import find_headline

WIB = timezone(timedelta(hours=7), "WIB")
WITA = timezone(timedelta(hours=8), "WITA")
WIT = timezone(timedelta(hours=9), "WIT")

# Zone labels written after times. Indonesian labels first; UTC/GMT/Z are the zero offset.
ZONE_LABELS: dict[str, tzinfo] = {
    "wib": WIB,
    "wita": WITA,
    "wit": WIT,
    "utc": UTC,
    "gmt": UTC,
    "z": UTC,
}

# Other zone abbreviations met on English-language pages, with their fixed offsets (hours). IST is
# read as India (+05:30), by far the most common on news pages.
FIXED_ZONES: dict[str, float] = {
    "pst": -8, "pdt": -7, "mst": -7, "mdt": -6, "cst": -6, "cdt": -5, "est": -5, "edt": -4,
    "akst": -9, "akdt": -8, "hst": -10, "bst": 1, "cet": 1, "cest": 2, "eet": 2, "eest": 3,
    "msk": 3, "ist": 5.5, "pkt": 5, "ict": 7, "sgt": 8, "myt": 8, "pht": 8, "hkt": 8, "awst": 8,
    "jst": 9, "kst": 9, "aest": 10, "aedt": 11, "nzst": 12, "nzdt": 13, "wat": 1, "cat": 2,
    "eat": 3, "sast": 2,
}  # fmt: skip
for _label, _hours in FIXED_ZONES.items():
    ZONE_LABELS[_label] = timezone(timedelta(hours=_hours), _label.upper())
# US generic labels ("04:05 pm PT"): the offset depends on daylight saving time at that date, so
# they map to IANA zones. Two letters are common words in other languages ("et"), so they count
# only when written in capitals.
GENERIC_ZONES = {"pt": "America/Los_Angeles", "mt": "America/Denver", "ct": "America/Chicago",
                 "et": "America/New_York"}  # fmt: skip
_ZONE_ALT = "|".join(sorted([*ZONE_LABELS, *GENERIC_ZONES], key=len, reverse=True))

# Month names and abbreviations, Indonesian and English (with the old spellings Pebruari and
# Nopember, and the abbreviations Indonesian portals print: Agu/Agt/Ags, Okt, Nop, Des).
MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "januari january jan",
        "februari pebruari february feb peb",
        "maret march mar",
        "april apr",
        "mei may",
        "juni june jun",
        "juli july jul",
        "agustus august agu agt ags aug",
        "september sept sep",
        "oktober october okt oct",
        "november nopember nov nop",
        "desember december des dec",
    ),
    start=1,
):
    for _name in _names.split():
        MONTHS[_name] = _number
# Month names of the other languages met on pages from anywhere (German with Austrian Jänner,
# French, Spanish, Italian, Portuguese, Dutch, the Scandinavian ones, Polish and Russian in the
# genitive a date uses: "7 июня 2020"), with their common abbreviations. A table keeps them in the
# fast parser: dateparser knows them too, but costs milliseconds per string. Names shared with the
# lists above (juni, juli, oktober, november, april...) are already there.
OTHER_LANGUAGE_MONTHS = (
    "januar jänner janvier janv enero gennaio janeiro jan. januarie stycznia января янв",
    "februar février févr fevr febrero febbraio fevereiro lutego февраля фев",
    "märz mär maerz mars marzo março marco maart marca марта мар",
    "avril avr abril aprile kwietnia апреля апр",
    "mai mayo maggio maio maja мая",
    "juin junio giugno junho czerwca июня",
    "juillet juil julio luglio julho lipca июля",
    "août aout agosto augustus sierpnia августа авг",
    "septembre septiembre setiembre settembre setembro września сентября сен",
    "octobre octubre ottobre outubro października октября окт",
    "novembre noviembre novembro listopada ноября ноя",
    "dezember dez décembre déc diciembre dicembre dezembro desember grudnia декабря дек",
)
# More of the languages of news sites from anywhere, in the form a date writes them: Ukrainian,
# Czech, Slovak and Croatian in the genitive, Turkish, Hungarian, Romanian, Serbian/Bosnian Latin,
# Finnish (partitive), Greek (genitive), Catalan, Lithuanian. Croatian `listopada` (October) is left
# out: Polish uses the same word for November, and the Polish reading is kept.
MORE_LANGUAGE_MONTHS = (
    "січня ledna januára siječnja ocak január ianuarie tammikuuta ιανουαρίου gener sausio",
    "лютого února februára veljače şubat február februarie helmikuuta φεβρουαρίου febrer vasario",
    "березня března marca ožujka mart március martie maaliskuuta μαρτίου març kovo",
    "квітня dubna apríla travnja nisan április aprilie huhtikuuta απριλίου abril balandžio",
    "травня května mája svibnja mayıs május maj toukokuuta μαΐου maig gegužės",
    "червня června júna lipnja haziran június iunie jun kesäkuuta ιουνίου juny birželio",
    "липня července júla srpnja temmuz július iulie jul heinäkuuta ιουλίου juliol liepos",
    "серпня srpna augusta kolovoza ağustos augusztus avgust elokuuta αυγούστου agost rugpjūčio",
    "вересня září septembra rujna eylül szeptember septembrie septembar syyskuuta σεπτεμβρίου"
    " setembre rugsėjo",
    "жовтня října októbra ekim október octombrie oktobar lokakuuta οκτωβρίου octubre spalio",
    "листопада listopadu novembra studenoga studenog kasım noiembrie novembar marraskuuta"
    " νοεμβρίου lapkričio",
    "грудня prosince decembra prosinca aralık decembrie decembar joulukuuta δεκεμβρίου desembre"
    " gruodžio",
)
for _table in (OTHER_LANGUAGE_MONTHS, MORE_LANGUAGE_MONTHS):
    for _number, _names in enumerate(_table, start=1):
        for _name in _names.split():
            MONTHS.setdefault(_name.rstrip("."), _number)

_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
# Letters of any script around a month name (Cyrillic and accented names end in non-ASCII
# letters), so "mar" is not read inside "marketing" nor "мая" inside a longer word.
# The lookahead on the names' first letters only lets the regex engine skip, in one test, a word
# no name can start (it tries the ~270 names one by one otherwise): MONTH_DAY_YEAR starts with
# a month name, so it is tried at the start of every word of every date text.
_MONTH_FIRST_LETTERS = "".join(sorted({re.escape(name[0]) for name in MONTHS}))
_MONTH = rf"(?<![^\W\d_])(?=[{_MONTH_FIRST_LETTERS}])({_MONTH_ALT})(?![^\W\d_])"

# ISO-like year-first dates, with the malformed variants real pages carry: `2015-11-05 T10:08:58Z`
# (space before T), `2015-06-16T14-05-11Z` (dashes in the time), `2022/12/10 13:19:56` (slashes).
ISO_DATE = patterns.compile(
    r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)"
    r"(?:(?:\s*t\s*|\s+|,\s*)(\d{1,2})[:.-](\d{2})(?:[:.-](\d{2})(?:[.,]\d+)?)?(?!\d))?"
)
# Day before month name: `2 Juli 2023`, `10 Des 2022`, `04 November, 2015`, `16-Feb-2016`.
DAY_MONTH_YEAR = patterns.compile(
    rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th|er|º)?\s*[-/.\s]\s*(?:de\s+)?{_MONTH}\.?,?\s*(?:de\s+)?"
    r"[-/.\s]?\s*(\d{4})(?!\d)"
)
# Month name before day (English, and Indonesian names in WordPress's English pattern:
# `June 19 2015`, `November 20, 2019`, `Maret 30, 2015`).
MONTH_DAY_YEAR = patterns.compile(rf"{_MONTH}\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)")
# Numeric day-first dates (the Indonesian convention): `05/11/2015`, `08/1/2026`, `2.7.2023`, and
# the German typographic form with a (thin) space after each dot, `4. 2. 2022` (a space is allowed
# only after a dot: `4/ 2/ 2022` is not a way anyone writes a date).
NUMERIC_DMY = patterns.compile(
    r"(?<![\d/.-])(\d{1,2})([/.-])(?:(?<=\.)\s)?(\d{1,2})\2(?:(?<=\.)\s)?(\d{4})(?!\d)"
)
# A time: 24-hour `19:17`, dotted `19.17`, optional seconds, optional am/pm. The lookarounds keep
# numbers such as `1.229 views` and `Rp 10.500` from reading as times.
TIME = patterns.compile(
    r"(?<![\d.:,])([01]?\d|2[0-3])[:.]([0-5]\d)(?:[:.]([0-5]\d))?(?![\d]|[.,]\d)"
    r"(?:\s*(a\.?\s?m\.?|p\.?\s?m\.?)(?![a-z]))?"
)
# A zone right after a time: a label (WIB, WITA, WIT, UTC, GMT, Z) and/or a numeric offset
# (`+07:00`, `+0700`, `GMT+7`), possibly in parentheses.
ZONE = patterns.compile(
    rf"\s*\(?\s*(?:({_ZONE_ALT})(?![a-z]))?\s*([+-])?(?(2)(\d{{1,2}})(?::?(\d{{2}}))?)"
)
# Epoch timestamps (seconds or milliseconds), as some CMSs put in meta tags.
EPOCH = patterns.compile(r"^(\d{10})(\d{3})?$")
# Relative forms, resolved against fetched_at: `2 jam yang lalu`, `30 menit lalu`, `sejam lalu`,
# `about 10 hours ago`.
RELATIVE = patterns.compile(
    r"(?<![a-z])(\d+|se|satu|an?|one)\s*"
    r"(detik|menit|jam|hari|minggu|pekan|bulan|tahun|"
    r"seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)"
    r"\s+(?:yang\s+)?(?:lalu|ago)(?![a-z])"
)
RELATIVE_UNITS = {
    "detik": timedelta(seconds=1),
    "second": timedelta(seconds=1),
    "sec": timedelta(seconds=1),
    "menit": timedelta(minutes=1),
    "minute": timedelta(minutes=1),
    "min": timedelta(minutes=1),
    "jam": timedelta(hours=1),
    "hour": timedelta(hours=1),
    "hr": timedelta(hours=1),
    "hari": timedelta(days=1),
    "day": timedelta(days=1),
    "minggu": timedelta(weeks=1),
    "pekan": timedelta(weeks=1),
    "week": timedelta(weeks=1),
    "bulan": timedelta(days=30),
    "month": timedelta(days=30),
    "tahun": timedelta(days=365),
    "year": timedelta(days=365),
}
# Day words relative to fetched_at; the time, when one follows, is local wall-clock time.
DAY_WORDS = patterns.compile(
    r"(?<![a-z])(kemarin|yesterday|hari ini|today|baru saja|just now)(?![a-z])"
)
DAY_WORD_OFFSET = {"kemarin": 1, "yesterday": 1, "hari ini": 0, "today": 0}


def _has_day_word(low: str) -> bool:
    """DAY_WORDS finds something in `low` (lower-cased)."""
    return _day_word_search(low) is not None


def _day_word_search(low: str) -> re.Match[str] | None:
    """DAY_WORDS.search(low). Each of its words is first looked for with str's C-level `in`: most
    texts hold none, and the regex tries its lookbehind at every position."""
    return DAY_WORDS.search(low) if _holds_day_word_letters(low) else None


def _holds_day_word_letters(low: str) -> bool:
    """One of DAY_WORDS' words is in `low`, as letters, whole word or not (then so is it in any
    text that holds this one)."""
    return (
        "kemarin" in low
        or "yesterday" in low
        or "hari ini" in low
        or "today" in low
        or "baru saja" in low
        or "just now" in low
    )


def _relative_search(low: str) -> re.Match[str] | None:
    """RELATIVE.search(low): every match ends in "lalu" or "ago" (the pattern is case-sensitive,
    for lower-cased text), looked for first with `in`."""
    if "lalu" in low or "ago" in low:
        return RELATIVE.search(low)
    return None


# Years outside this range are typos or unrelated numbers, not publication dates.
MIN_YEAR, MAX_YEAR = 1990, 2100


@dataclass(frozen=True)
class ParsedDate:
    """What one string says: naive `value` when the string names no zone."""

    value: datetime
    has_time: bool
    zone: str | None  # the zone as written ("WIB", "Z", "+07:00"), None when absent
    relative: bool = False


def _make(year: int, month: int, day: int) -> datetime | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return datetime(year, month, day)
    except ValueError:
        return None


def _offset_zone(sign: str, hours: str, minutes: str | None) -> tzinfo | None:
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta > timedelta(hours=14):
        return None
    return timezone(-delta if sign == "-" else delta)


def _read_zone(text: str, pos: int, original: str) -> tuple[tzinfo | None, str | None]:
    """The zone written at `pos` (right after a time), if any. `text` is lower-cased `original`."""
    m = ZONE.match(text, pos)
    if not m or not (m.group(1) or m.group(2)):
        return None, None
    label, sign, hours, minutes = m.group(1), m.group(2), m.group(3), m.group(4)
    if sign and hours:
        zone = _offset_zone(sign, hours, minutes)
        if zone is not None:
            return zone, m.group(0).strip(" (")
    if label in GENERIC_ZONES:
        written = original[m.start(1) : m.end(1)] if len(original) == len(text) else ""
        if written != label.upper():
            return None, None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # lazy: rare on the pages we read

        try:
            return ZoneInfo(GENERIC_ZONES[label]), label.upper()
        except ZoneInfoNotFoundError:
            return None, None
    if label:
        return ZONE_LABELS[label], label.upper()
    return None, None


# Year first with a month name, as Hungarian (`2020. június 7.`) and Lithuanian (`2020 m. birželio
# 7 d.`) write it: the dot or "m." after the year is required, so "in 2019 may 5 ..." stays prose.
YEAR_MONTH_DAY = patterns.compile(
    rf"(?<!\d)(\d{{4}})(?:\.|\s+m\.)\s*{_MONTH}\.?\s+(\d{{1,2}})(?!\d)"
)
# Chinese and Japanese (年月日) and Korean (년월일) dates: `2020年2月14日`, `2020년 2월 14일`.
CJK_DATE = patterns.compile(r"(?<!\d)(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]")
# A four-digit run: what ISO_DATE, the _DAY_FIRST_PATTERNS and CJK_DATE all need (their year).
_FOUR_DIGITS = patterns.compile(r"\d{4}")
_DAY_FIRST_PATTERNS = (
    (DAY_MONTH_YEAR, "dmy"),
    (MONTH_DAY_YEAR, "mdy"),
    (NUMERIC_DMY, "num"),
    (YEAR_MONTH_DAY, "ymd"),
)
# Those of them that write the month as a number: all a text tries when none of its runs of
# letters is a month name. A _MONTH match is a whole run of letters (the lookarounds) that is a
# key of MONTHS (every key is letters only), and most texts with a four-digit number and no month
# name are a teaser's or a caption's ("Kodim 0415/Jambi ...", "the 2024 season"), which
# MONTH_DAY_YEAR alone would try the month names on at every word.
_NUMERIC_MONTH_PATTERNS = tuple(
    (pattern, order)
    for pattern, order in _DAY_FIRST_PATTERNS
    if not any(pattern is named for named in (DAY_MONTH_YEAR, MONTH_DAY_YEAR, YEAR_MONTH_DAY))
)
_LETTER_RUN = patterns.compile(r"[^\W\d_]+")


def _names_a_month(text: str) -> bool:
    """Some run of letters in `text` is a month name as MONTHS spells it (lowercase)."""
    return not MONTHS.keys().isdisjoint(_LETTER_RUN.findall(text))


# Numeric dates with a two-digit year, as German, French, British and US pages and forum
# software print them: `28.09.19 12:44`, `26/10/13, 03:48 pm`, `11/19/19 06:56 AM EST`. Alone,
# "1.2.19" is as often a version or a section number, so the form counts only with a time right
# after it (see `_short_numeric_date`); dashes are left out ("10-12-19" is an id or a range more
# often).
SHORT_NUMERIC_DMY = patterns.compile(
    r"(?<![\d/.:,-])(\d{1,2})([/.])(\d{1,2})\2(\d{2})(?![\d/:-]|[.,]\d)"
)
# What may stand between such a date and its time: separators and the word for "at".
_SHORT_DATE_TIME_GAP = patterns.compile(r"[\s,|/–—-]*(?:(?:um|at|à|alle|kl\.?|o)\s+)?")
# Two-digit years from this on are the 1900s (MIN_YEAR keeps only 1990-1999 of them).
SHORT_YEAR_PIVOT = 90
# A day, a month name and a two-digit year: `14 Gennaio 20`, `3 Jan '19`, `16-Feb-16`. The month
# name leaves no doubt about day and month, but two digits are a year only where the text says
# so (see `_short_month_name_date`): "14 Mai 20 Teilnehmer" is a count. Group 2 is any word,
# looked up in MONTHS: the regex stays small (one with the ~270 names costs more to compile than
# it ever runs).
SHORT_DAY_MONTH_YEAR = patterns.compile(
    r"(?<![\d.])(\d{1,2})(?:\.|st|nd|rd|th|er)?(?:\s*[-/.]\s*|\s+)([^\W\d_]{3,})\.?"
    r"(?:\s*[-/.]\s*|,?\s+)'?(\d{2})(?!\d)"
)
# What may close a date line after its date: brackets around a dateline, a full stop.
_DATE_LINE_CLOSE = " ).]"


def _short_date(text: str) -> tuple[datetime, int, int] | None:
    """The first two-digit-year date in `text` (lower-cased) that the rules above accept."""
    if ":" in text:
        found = _short_numeric_date(text)
        if found is not None:
            return found
    return _short_month_name_date(text)


def _short_month_name_date(text: str) -> tuple[datetime, int, int] | None:
    """A SHORT_DAY_MONTH_YEAR date, and its span, where the text makes its last two digits a year:
    a time follows and ends the text (`Publié le 5 avr. 19 à 18:40`), or the date ends it with
    its year written `'19`, or after a comma (a dateline's place: `( Pescasseroli, 14 Gennaio
    20 )`). A bare "2 juli 23" stays unread."""
    end = text.rstrip(_DATE_LINE_CLOSE)
    # Every accepted shape ends the text in two digits (the year's, or the time's minutes): most
    # texts do not, and are spared the regex.
    if len(end) < 3 or not (end[-2:].isdigit() and end[-2:].isascii()):
        return None
    pos = 0
    while (m := SHORT_DAY_MONTH_YEAR.search(end, pos)) is not None:
        # A date may start inside a match whose word is no month ("Nr. 2 vom 14 Jan 20, 12:44").
        pos = m.start(2)
        if m.end() != len(end):
            gap = _SHORT_DATE_TIME_GAP.match(end, m.end())
            tm = TIME.match(end, gap.end()) if gap is not None else None
            if tm is None or tm.end() != len(end):
                continue
        elif end[m.start(3) - 1] != "'" and not end[: m.start()].rstrip().endswith(","):
            continue
        month = MONTHS.get(m.group(2))
        if month is None:
            continue
        short_year = int(m.group(3))
        year = short_year + (1900 if short_year >= SHORT_YEAR_PIVOT else 2000)
        d = _make(year, month, int(m.group(1)))
        if d is not None:
            return d, m.start(), m.end()
    return None


def _short_numeric_date(text: str) -> tuple[datetime, int, int] | None:
    """The first SHORT_NUMERIC_DMY date in `text` that a time follows, and its span."""
    for m in SHORT_NUMERIC_DMY.finditer(text):
        gap = _SHORT_DATE_TIME_GAP.match(text, m.end())
        if gap is None or TIME.match(text, gap.end()) is None:
            continue
        day, month, short_year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        if month > 12 >= day:  # only a month-first reading fits (US style)
            day, month = month, day
        elif m.group(2) == "/" and day <= 12 and day != month:
            # Slashed, the short form is month-first in the US (`11/08/23 5:19pm`) and day-first
            # in Britain and France (`26/10/13, 03:48 pm`); a time format does not tell them apart,
            # so only a date one reading excludes is read. Dotted, it is day-first everywhere.
            continue
        year = short_year + (1900 if short_year >= SHORT_YEAR_PIVOT else 2000)
        d = _make(year, month, day)
        if d is not None:
            return d, m.start(), m.end()
    return None


def _may_hold_date(text: str) -> bool:
    """What `_find_date` needs to find anything: a four-digit year, a time after a short date, or
    two digits at the end (a short year)."""
    end = text.rstrip(_DATE_LINE_CLOSE)
    return ":" in end or end[-2:].isdigit() or _FOUR_DIGITS.search(text) is not None


def _find_date(text: str) -> tuple[datetime, int, int] | None:
    """The first calendar date in `text` (lower-cased) and its span."""
    if not _FOUR_DIGITS.search(text):
        # Every form below writes a four-digit year; a two-digit one needs more (`_short_date`).
        return _short_date(text)
    best: tuple[datetime, int, int] | None = None
    m = ISO_DATE.search(text)
    if m:
        d = _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if d is not None:
            if m.group(4) is not None:
                timed = _iso_time(d, int(m.group(4)), int(m.group(5)), int(m.group(6) or 0))
                if timed is not None:
                    return timed, m.start(), -m.end()  # negative end: the time is already read
            best = (d, m.start(), m.end())
    patterns = _DAY_FIRST_PATTERNS if _names_a_month(text) else _NUMERIC_MONTH_PATTERNS
    if "年" in text or "년" in text:  # the fast test keeps the CJK pattern off every other string
        patterns = (*patterns, (CJK_DATE, "ymd"))
    for pattern, order in patterns:
        m = pattern.search(text)
        if not m or (best and best[1] <= m.start()):
            continue
        if order == "ymd":
            month = m.group(2)
            d = _make(int(m.group(1)), MONTHS.get(month) or int(month), int(m.group(3)))
        elif order == "dmy":
            d = _make(int(m.group(3)), MONTHS[m.group(2)], int(m.group(1)))
        elif order == "mdy":
            d = _make(int(m.group(3)), MONTHS[m.group(1)], int(m.group(2)))
        else:
            day, month = int(m.group(1)), int(m.group(3))
            if month > 12 >= day:  # only a month-first reading fits (US style)
                day, month = month, day
            d = _make(int(m.group(4)), month, day)
        if d is not None:
            best = (d, m.start(), m.end())
    if best is None:
        return _short_date(text)  # four digits that were no year ("Beitrag #1070 ... 26/10/13")
    return best


def _iso_time(d: datetime, hour: int, minute: int, second: int) -> datetime | None:
    """`d` at an ISO form's time of day: 24:00 is the day's end (the next day's midnight), and
    a time no clock shows (07:93, 25:00, a leap second) None, so the date stands alone. Before,
    such a time raised, and the whole page's extraction failed."""
    if (hour, minute, second) == (24, 0, 0):
        return d + timedelta(days=1)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return d.replace(hour=hour, minute=minute, second=second)


def _apply_time(d: datetime, m: re.Match[str]) -> datetime:
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    ampm = (m.group(4) or "").replace(".", "").replace(" ", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    return d.replace(hour=hour, minute=minute, second=second)


def _as_local(fetched_at: datetime, zone: tzinfo | None) -> datetime:
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    return fetched_at.astimezone(zone) if zone is not None else fetched_at


def parse_date_parts(
    text: str, *, fetched_at: datetime | None = None, local_tz: tzinfo | None = None
) -> ParsedDate | None:
    """Read one date string with the fast rules only (no dateparser). None when nothing fits.

    `local_tz` is only used to resolve day words (`kemarin 19.17`) against fetched_at.
    """
    if not text:
        return None
    # What the text says by itself is remembered: a page repeats its date strings (meta tags,
    # JSON-LD, the visible line) and the finders read several of them more than once.
    absolute = _absolute_dates.get(text, _NOT_READ)
    if absolute is _NOT_READ:
        absolute = _absolute_date(text)
        # Plain str keys only: a smart string from XPath would keep its whole tree alive.
        if type(text) is str:
            if len(_absolute_dates) >= ABSOLUTE_DATES_KEPT:
                _absolute_dates.clear()  # the repeats are within a page: old pages' go
            _absolute_dates[text] = absolute
    if absolute is not _NO_ABSOLUTE_DATE:
        return absolute
    if fetched_at is None:
        return None
    return _relative_date(clean_text(text).lower(), fetched_at, local_tz)


# _absolute_date's answers by text; _NOT_READ marks a text not looked at yet, _NO_ABSOLUTE_DATE a
# text with no date of its own (only a relative form, read against fetched_at, may date it).
_absolute_dates: dict[str, Any] = {}
ABSOLUTE_DATES_KEPT = 4096
_NOT_READ: Any = object()
_NO_ABSOLUTE_DATE: Any = object()


def _absolute_date(text: str) -> Any:
    """What parse_date_parts reads from `text` alone: a ParsedDate, None (no date, whatever the
    fetch time), or _NO_ABSOLUTE_DATE (only a relative form may date it)."""
    original = clean_text(text)
    t = original.lower()
    if not t or len(t) > 400:
        return None
    m = EPOCH.match(t)
    if m:
        seconds = int(m.group(1))
        value = datetime.fromtimestamp(seconds, UTC)
        return ParsedDate(value, True, "epoch") if MIN_YEAR <= value.year <= MAX_YEAR else None
    found = _find_date(t)
    if found is not None:
        d, start, end = found
        if end < 0:  # ISO form with its own time
            zone, zone_text = _read_zone(t, -end, original)
            return ParsedDate(d.replace(tzinfo=zone) if zone else d, True, zone_text)
        tm = TIME.search(t, end) or TIME.search(t[:start])
        if tm is None:
            return ParsedDate(d, False, None)
        d = _apply_time(d, tm)
        zone, zone_text = _read_zone(t, tm.end(), original)
        return ParsedDate(d.replace(tzinfo=zone) if zone else d, True, zone_text)
    return _NO_ABSOLUTE_DATE


def _relative_date(t: str, fetched_at: datetime, local_tz: tzinfo | None) -> ParsedDate | None:
    """A relative form (`2 jam yang lalu`, `kemarin 19.17`) in `t` (cleaned, lower-cased), read
    against fetched_at."""
    m = _relative_search(t)
    if m:
        count = 1 if m.group(1) in ("se", "satu", "a", "an", "one") else int(m.group(1))
        unit = m.group(2)
        step = RELATIVE_UNITS.get(unit) or RELATIVE_UNITS[unit.rstrip("s")]
        value = _as_local(fetched_at, local_tz) - count * step
        return ParsedDate(value, step < timedelta(days=1), "relative", relative=True)
    m = _day_word_search(t)
    if m:
        local = _as_local(fetched_at, local_tz)
        if m.group(1) in ("baru saja", "just now"):
            return ParsedDate(local, True, "relative", relative=True)
        day = (local - timedelta(days=DAY_WORD_OFFSET[m.group(1)])).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        tm = TIME.search(t)
        if tm is None:
            return ParsedDate(day, False, "relative", relative=True)
        return ParsedDate(_apply_time(day, tm), True, "relative", relative=True)
    return None


# dateparser is slow to import and to call: only strings that look like a date (a digit and a
# letter, short) and that the fast rules could not read are handed to it.
_DATEPARSER_CANDIDATE = patterns.compile(
    r"(?=.*\d)(?=.*[^\W\d_])"
)  # a digit and a letter of any script


# A year the string writes itself: four digits, or two after a separator ("2-Jul-23").
_YEAR_HINT = patterns.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)|[-/'\s]\d{2}(?![\d:.])")


# The languages dateparser always tries: the project's own (Indonesian) and English. A page in
# another language adds its own first, for the forms the fast tables do not cover.
DATEPARSER_LANGUAGES = ("id", "en")


def _dateparser_fallback(
    text: str, fetched_at: datetime | None, lang: str | None = None
) -> ParsedDate | None:
    if len(text) > 80 or not _DATEPARSER_CANDIDATE.match(text):
        return None
    low = text.lower()
    if ISO_DATE.search(low) or NUMERIC_DMY.search(low):
        return None  # a numeric date the fast rules rejected (year 0001, month 13): not a date
    if _relative_search(low) or _day_word_search(low) or not _YEAR_HINT.search(low):
        # dateparser would resolve these against the clock (relative forms without fetched_at)
        # or invent the current year ("12 Juli"): both are guesses.
        return None
    import dateparser  # lazy: costs ~0.1 s on first use

    settings: dict[str, Any] = {"RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DATES_FROM": "past"}
    if fetched_at is not None:
        settings["RELATIVE_BASE"] = _as_local(fetched_at, None).replace(tzinfo=None)
    languages = [*DATEPARSER_LANGUAGES]
    if lang and lang not in languages:
        languages.insert(0, lang)
    try:
        value = dateparser.parse(text, languages=languages, settings=settings)
    except ValueError:
        # A page language dateparser does not know ("Unknown language(s)"): the default ones.
        try:
            value = dateparser.parse(text, languages=[*DATEPARSER_LANGUAGES], settings=settings)
        except Exception:  # dateparser raises assorted errors on odd input; no date is the answer
            return None
    except Exception:  # as above
        return None
    if value is None or not MIN_YEAR <= value.year <= MAX_YEAR:
        return None
    has_time = bool(TIME.search(text.lower()))
    return ParsedDate(value, has_time, None)


def parse_date(
    text: str, *, fetched_at: datetime | None = None, default_tz: tzinfo | None = WIB
) -> datetime | None:
    """A timezone-aware datetime from one date string, or None.

    A string without a zone is read in `default_tz`; with `default_tz=None` it gives None (an
    offset is never guessed). A date without a time gives local midnight. Relative forms need
    `fetched_at` (taken as UTC when naive).
    """
    parsed = parse_date_parts(text, fetched_at=fetched_at, local_tz=default_tz)
    if parsed is None:
        parsed = _dateparser_fallback(clean_text(text), fetched_at)
    if parsed is None:
        return None
    value = parsed.value
    if value.tzinfo is None:
        if default_tz is None:
            return None
        value = value.replace(tzinfo=default_tz)
    elif parsed.relative and default_tz is not None:
        value = value.astimezone(default_tz)
    return value


# --------------------------------------------------------------------------------------------
# Finding the dates of a page
# --------------------------------------------------------------------------------------------

# Meta names (name / property / itemprop, lower-cased) that carry the publication time, best first.
PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datepublished",
    "publishdate",
    "publish-date",
    "publish_date",
    "pubdate",
    "article.published",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    # Names of scholarly, Swiftype and publishing-platform markup (Google Scholar's citation_*,
    # bepress, PRISM), which institutional and journal pages carry instead of Open Graph.
    "publication_date",
    "publication-date",
    "published_date",
    "citation_publication_date",
    "citation_date",
    "bepress_citation_date",
    "prism.publicationdate",
    "dcterms.issued",
    "dc.date",
    "dc:date",
    "dcterms.date",
    "dc.date.created",
    "date",
    "datecreated",
    "createdate",
    "dcterms.created",
)
# Meta names that carry the last modification time, best first.
MODIFIED_META = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "article.updated",
    "lastmod",
    "last-modified",
    "dc.date.modified",
    "dcterms.modified",
    "updatedate",
    "dateupdate",  # Baidu Baike's microdata
)
# Published-list names that say only "a date" (Dublin Core's date is any event in the resource's
# life; CMSs fill a bare `date` with the render or edit time): on a page that also dates itself with
# a named value (JSON-LD, article:published_time, an itemprop or <time datetime>) on another day,
# these are the odd ones out and are dropped.
GENERIC_DATE_META = frozenset({"date", "dc.date", "dc:date", "dcterms.date"})
# Labels that say a visible date is the update time, not the publication time.
MODIFIED_LABEL = patterns.compile(
    r"(?<![a-z])(diperbarui|diperbaharui|pembaruan|update[d]?|diubah|last modified|modified)(?![a-z])",
    re.I,
)


# MODIFIED_LABEL.search: most date lines name no update, and the regex tries its lookbehind at
# every position.
_modified_label = patterns.screened(
    MODIFIED_LABEL, ("diperba", "pembaruan", "update", "diubah", "modified")
)


# Labels that say a visible date is the publication time (they win over an update label in the
# same line: "Diterbitkan 2 Juli 2023 | Diperbarui 3 Juli 2023").
PUBLISHED_LABEL = patterns.compile(
    r"(?<![a-z])(terbit|diterbitkan|dipublikasikan|published|posted)", re.I
)
# How far around the headline (in elements, document order) the visible date line is looked for:
# dates sit right above (detik's date line, kicker) or below (byline block) the headline, and
# further away they belong to teasers and sidebars. Ancestors of the headline are containers, so
# the window before it (preceding_elements, the preceding:: axis) rightly skips them.
WINDOW_BEFORE = 25
WINDOW_AFTER = 80
# Elements with more children than this are containers, not a date line.
MAX_DATE_CHILDREN = 8
MAX_DATE_TEXT = 200
# A date line is mostly date: a text with more words is a caption or a sentence that mentions a date.
MAX_DATE_WORDS = 16
# Captions mention dates ("...pose for a photo on June 28, 2019"): never the article's date.
CAPTION_MARK = patterns.compile(r"caption|keterangan", re.I)
# Tags whose text is never a visible date.
SKIP_TAGS = frozenset({"script", "style", "noscript", "option", "select", "textarea", "template"})
# Elements whose class/id marks a visible date, for pages whose headline cannot be located: the
# first DATE_MARKED_MAX under <body> whose class holds date, time or publish (ASCII case ignored:
# "documentPublished"), or tanggal, posted, or the German and Spanish words for date (datum,
# fecha) as written, or whose id holds date.
DATE_MARKED_MAX = 20
_DATE_CLASS_WORDS_ANY_CASE = ("date", "time", "publish")
_DATE_CLASS_WORDS = ("tanggal", "posted", "datum", "fecha")
# Those words, to find the candidates in the page's class index (classed_matching; its marks are
# lowercased, so it finds every element the rules above take, and a few more they do not).
_DATE_MARK_WORDS = patterns.compile("date|time|publish|tanggal|posted|datum|fecha")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _date_marked(doc: Document, body: Any) -> list[Any]:
    """The elements whose class or id marks a date (above), in document order. From the class
    index rather than an XPath lowercasing every class of the page (milliseconds a page)."""
    found: list[Any] = []
    for el in classed_matching(doc, _DATE_MARK_WORDS):
        if len(found) >= DATE_MARKED_MAX:
            break
        if el is body or body not in el.iterancestors():
            continue
        cls, ident = el.get("class"), el.get("id")
        if cls is not None:
            lowered = cls.translate(_ASCII_LOWER)
            if any(w in lowered for w in _DATE_CLASS_WORDS_ANY_CASE) or any(
                w in cls for w in _DATE_CLASS_WORDS
            ):
                found.append(el)
                continue
        if ident is not None and "date" in ident:
            found.append(el)
    return found


# A lead that opens with its date, as press releases write them: "(18.01.2018) Deutschlands
# Landwirte ...", "Karlsruhe, (12.11.2021). Traditionell ...", "01.02.2022 „Der Arbeitsmarkt ...".
# Group 1 is the date; an optional place name and comma may come first.
DATELINE = patterns.compile(
    r"^(?:[^\W\d][\w .'-]{0,30},\s*)?\(?"
    r"(\d{1,2}\.\s?\d{1,2}\.\s?\d{4}|\d{1,2}\.?\s[^\W\d]{3,10}\.?\s\d{4})\)?(?=[\s.:,–—-])"
)


# Dates in article URLs: /2023/07/02/ (date only), and the compact /20200428/ some sites use (a
# valid month and day are required, so an eight-digit article id rarely passes).
URL_DATE = patterns.compile(
    r"/((?:19|20)\d{2})(?:[/-](\d{1,2})[/-](\d{1,2})|(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01]))(?=[/-])"
)
# A visible date that differs from the machine-readable value by more than this is more likely a
# neighbouring teaser's date than a correction of the machine value.
MAX_VISIBLE_CORRECTION = timedelta(days=1)

# --- Date lines: the page's own date element, told apart from any other date by several signals ---
# Indonesian day names (with the Arabic-derived Ahad and the old spelling Jum'at): a date line that
# opens with one is written for Indonesian readers, so its zone-less time is Indonesian local time.
_DAY_NAMES_ID = r"senin|selasa|rabu|kamis|jum'?at|sabtu|minggu|ahad"
DAY_NAMES_ID = patterns.compile(rf"(?<![a-z])(?:{_DAY_NAMES_ID})(?![a-z])")
# English day names, which Indonesian portals print too; they only say "this is a date line".
_DAY_NAMES_EN = (
    r"mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:rs|rsday)?|fri(?:day)?|sat(?:urday)?"
    r"|sun(?:day)?"
)
# Class words that mark an element as a date line: schedule (jadwal), date (tanggal/tgl), time
# (waktu), publish (terbit). A class word alone also marks prayer-time and match-schedule widgets
# ("jadwal-sholat", "jadwal-box"), so it counts only with a day name, a time and nothing but the
# date in the text (see `_date_line_kind`).
DATE_LINE_CLASS = patterns.compile(
    r"jadwal|tanggal|tgl|date|time|waktu|publish|terbit|posted", re.I
)
# Tags a visible date line is written in (table cells, paragraphs and headings hold prose and
# teasers far more often than the article's date).
DATE_LINE_TAGS = frozenset({"span", "div"})
# What may stand in a date line besides the date itself: day and month names, zone labels, "pukul"
# (o'clock), digits and the separators portals put between date and time ("7 Mar 2018 | 08:40",
# "Kamis, 7/3/2018 - 08:40"). Text left over means a sentence or a widget, not a date line.
_DATE_LINE_WORDS = patterns.compile(
    rf"(?<![a-z])(?:{_DAY_NAMES_ID}|{_DAY_NAMES_EN}|{_MONTH_ALT}|{_ZONE_ALT}"
    r"|pukul|jam|at|a\.?m\.?|p\.?m\.?)(?![a-z])|[\d\s,.:/|()+•·\-–—]+"
)
# A byline that carries the date: a short name, a dash or pipe, then the date line
# ("Andi Saputra - 3 Maret 2018 20:15 wib"). The name holds no digits and at most six words.
_NAME_THEN_DATE = patterns.compile(r"^[^\W\d][^\d|–—-]{1,60}?\s[-–—|]\s+(?=\S)")


class _NoZone(tzinfo):
    """The stand-in zone of a value whose page names no zone, while candidates are compared: its
    wall clock is taken at face value (offset zero, but never treated as UTC by `_is_utc`).
    find_dates returns such values naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "no zone"


NO_ZONE = _NoZone()


@dataclass
class DatesResult:
    published: datetime | None = None
    published_raw: str | None = None
    published_source: str | None = None
    modified: datetime | None = None
    modified_raw: str | None = None
    modified_source: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class _Candidate:
    parsed: ParsedDate
    raw: str
    source: str  # profile / json-ld / meta / time / byline / url
    where: str  # for notes: "JSON-LD datePublished", "meta pubdate", ...
    value: datetime | None = None  # aware, once the zone is resolved
    zone_note: str | None = None
    # For dates read near the headline: the distance from it (before counted double), and which
    # date-line shape the element has ("date line", "<time> text", "byline date"; None for none).
    distance: float | None = None
    line_kind: str | None = None
    # A meta name that says only "date" (GENERIC_DATE_META): yields to named values on other days.
    generic: bool = False
    # A visible date the page itself marks as its publication (a "publish" class on the element or
    # its parent, a "Published" label in its text).
    marked_published: bool = False


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _same_minute(a: datetime, b: datetime) -> bool:
    return _minute(a.astimezone(UTC)) == _minute(b.astimezone(UTC))


def _is_utc(value: datetime) -> bool:
    return value.tzinfo is not NO_ZONE and value.utcoffset() == timedelta(0)


def _fmt(value: datetime) -> str:
    return value.isoformat()


def _jsonld_dates(doc: Document, key: str) -> list[str]:
    article = doc.jsonld_article() or _salvaged_jsonld_article(doc)
    out = []
    if article is not None:
        value = article.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and value.strip():
            out.append(value.strip())
    return out


def _salvaged_jsonld_article(doc: Document) -> dict[str, Any] | None:
    """The article object of a JSON-LD block the document reader had to skip because text follows
    its JSON value (a stray closing brace, a second object pasted after the first): the first
    value is read and the rest ignored. Only runs on pages where no article object was read."""
    if "salvaged_jsonld" not in doc.cache:
        found: dict[str, Any] | None = None
        decoder = json.JSONDecoder(strict=False)
        for el in jsonld_scripts(doc):
            raw = (el.text or "").strip()
            try:
                json.loads(raw, strict=False)
                continue  # read in full already (and not an article, or it would be found)
            except (ValueError, RecursionError):
                pass
            try:
                value, _ = decoder.raw_decode(raw)
            except (ValueError, RecursionError):
                continue
            objects: list[dict[str, Any]] = []
            _flatten_jsonld(value, objects)
            found = next((obj for obj in objects if _is_article_object(obj)), None)
            if found is not None:
                break
        doc.cache["salvaged_jsonld"] = found
    return doc.cache["salvaged_jsonld"]


def _is_article_object(obj: dict[str, Any]) -> bool:
    types = obj.get("@type")
    names = {str(t).lower() for t in (types if isinstance(types, list) else [types]) if t}
    return bool(names & (ARTICLE_TYPES - {"webpage"}))


def _machine_candidates(doc: Document, kind: str, fetched_at: datetime | None) -> list[_Candidate]:
    """Machine-readable candidates for 'published' or 'modified', best first."""
    out: list[_Candidate] = []
    keys = ("datePublished", "dateCreated") if kind == "published" else ("dateModified",)
    for key in keys:
        for raw in _jsonld_dates(doc, key):
            parsed = parse_date_parts(raw, fetched_at=fetched_at)
            if parsed is None:
                parsed = _dateparser_fallback(raw, fetched_at, doc.lang)
            if parsed is not None:
                out.append(_Candidate(parsed, raw, "json-ld", f"JSON-LD {key}"))
    for name in PUBLISHED_META if kind == "published" else MODIFIED_META:
        for raw in doc.meta.get(name, ()):
            raw = raw.strip()
            parsed = parse_date_parts(raw, fetched_at=fetched_at) if raw else None
            if parsed is None and raw:
                parsed = _dateparser_fallback(raw, fetched_at, doc.lang)
            if parsed is not None:
                out.append(
                    _Candidate(
                        parsed, raw, "meta", f"meta {name}", generic=name in GENERIC_DATE_META
                    )
                )
    itemprop = "datePublished" if kind == "published" else "dateModified"
    # Elements marked as the article's date by microdata (<meta> carriers are read above): a
    # <time>, or a div/span/i/abbr whose `content`/`title` attribute holds the machine value; with
    # no attribute, microdata's value is the element's text (`<time itemprop=datePublished>20.
    # Juni 2018</time>`).
    for el in _date_itemprops(doc):
        if el.get("itemprop") != itemprop and not (
            kind == "published" and el.tag == "time" and el.get("pubdate") is not None
        ):
            continue
        raw = (el.get("datetime") or el.get("content") or el.get("title") or "").strip()
        if not raw:
            raw = clean_text(text_content(el))[:MAX_DATE_TEXT]
        parsed = parse_date_parts(raw, fetched_at=fetched_at) if raw else None
        if parsed is None and raw:
            parsed = _dateparser_fallback(raw, fetched_at, doc.lang)
        if parsed is not None:
            out.append(_Candidate(parsed, raw, "time", f"<{el.tag} itemprop={itemprop}>"))
    if kind == "published" and not out:
        out.extend(_other_jsonld_dates(doc, fetched_at))
    return out


def _date_itemprops(doc: Document) -> list[Any]:
    """Microdata date carriers other than <meta> (read with the meta tags): itemprop
    datePublished/dateModified, and <time pubdate>. Cached: both kinds of date read it."""
    found = doc.cache.get("date_itemprops")
    if found is None:
        found = doc.cache["date_itemprops"] = [
            el
            for el in attributed_elements(doc)
            if el.tag != "meta"
            and (
                el.get("itemprop") in ("datePublished", "dateModified")
                or (el.tag == "time" and el.get("pubdate") is not None)
            )
        ]
    return found


# More JSON-LD objects with a datePublished than this are a listing's items, not one page's date.
MAX_JSONLD_DATED_OBJECTS = 3


def _other_jsonld_dates(doc: Document, fetched_at: datetime | None) -> list[_Candidate]:
    """The datePublished of a JSON-LD object of a type the article finder does not take (HowTo,
    Recipe, BlogPosting nested in a graph...), when no other machine value exists: the page's own
    description of itself still dates it. Several dated objects are a listing: none is taken."""
    dated = [
        obj
        for obj in doc.jsonld
        if isinstance(obj.get("datePublished"), str) and obj["datePublished"].strip()
    ]
    if not dated or len(dated) > MAX_JSONLD_DATED_OBJECTS:
        return []
    raw = dated[0]["datePublished"].strip()
    parsed = parse_date_parts(raw, fetched_at=fetched_at) or _dateparser_fallback(
        raw, fetched_at, doc.lang
    )
    if parsed is None:
        return []
    return [
        _Candidate(parsed, raw, "json-ld", f"JSON-LD datePublished of a {dated[0].get('@type')}")
    ]


def _visible_candidates(
    doc: Document, headline: Any | None, fetched_at: datetime | None, local_tz: tzinfo | None
) -> tuple[list[tuple[float, _Candidate]], list[tuple[float, _Candidate]], list[_Candidate]]:
    """Visible dates around the headline, as (distance, candidate) for published and for modified,
    plus the datetime attributes of <time> elements found there."""
    body = page_body(doc)
    if body is None:
        return [], [], []
    if headline is not None:
        before = preceding_elements(headline, WINDOW_BEFORE)
        after = elements_after(doc, headline, WINDOW_AFTER)
        window = list(enumerate(before, -len(before)))
        window += enumerate(after, 1)
    else:
        # No headline: the first elements whose class/id says "date".
        window = list(enumerate(_date_marked(doc, body)))
    published: list[tuple[float, _Candidate]] = []
    modified: list[tuple[float, _Candidate]] = []
    times: list[_Candidate] = []
    last_el: Any = None
    last_entry: tuple[list[tuple[float, _Candidate]], int] | None = None
    # Window elements whose text holds no digit and none of the day words' letters. A child's
    # text is a stretch of its parent's (lowercasing maps these letters one by one), so a child
    # of one holds neither and is rejected as its parent was, without reading its text again
    # (the window's elements nest: most of them are below another one). Letters, not whole
    # words: a parent that runs "today" into its neighbours' text has a child holding it alone.
    dateless: set[Any] = set()
    for offset, el in window:
        tag = el.tag  # read once: each read makes a new string
        children = len(el)  # counted once: len walks the element's child nodes
        if tag in SKIP_TAGS or children > MAX_DATE_CHILDREN:
            continue
        if tag == "time" and el.get("datetime"):
            parsed = parse_date_parts(el.get("datetime"), fetched_at=fetched_at, local_tz=local_tz)
            if parsed is not None and not _contradicted_by_text(el, parsed):
                times.append(
                    _Candidate(
                        parsed,
                        el.get("datetime"),
                        "time",
                        "<time datetime>",
                        distance=_window_distance(offset),
                    )
                )
        if dateless and el.getparent() in dateless:
            dateless.add(el)
            continue
        raw = parent_text(el) if children else el.text
        # Cheap rejections on the raw text before normalising it.
        if not raw:
            dateless.add(el)
            continue
        if len(raw) > 4 * MAX_DATE_TEXT:
            continue
        if not patterns.has_digit(raw):
            low = raw.lower()
            if not _holds_day_word_letters(low):
                dateless.add(el)
                continue
            if not _has_day_word(low):
                continue
        distance = _window_distance(offset)
        text = clean_text(raw)
        if not text or len(text) > MAX_DATE_TEXT or text.count(" ") >= MAX_DATE_WORDS:
            lead = DATELINE.match(text) if text and offset > 0 else None
            if lead is None:
                continue
            # A dated lead below the headline: ranked after every date line of the window.
            text, distance = lead.group(1), distance + WINDOW_AFTER
        label = _modified_label(text)
        if label and label.start() > 0 and not PUBLISHED_LABEL.search(text[label.start() :]):
            # "2:26 PM HST - Updated November 18 at 4:46 PM": the part before the update label
            # is the publication date, the rest the update.
            head, tail = text[: label.start()], text[label.start() :]
            parsed_tail = parse_date_parts(tail, fetched_at=fetched_at, local_tz=local_tz)
            if parsed_tail is not None:
                tail_candidate = _Candidate(parsed_tail, tail, "byline", "visible date")
                modified.append((abs(offset), tail_candidate))
            text = head
        parsed = parse_date_parts(text, fetched_at=fetched_at, local_tz=local_tz)
        if parsed is None and children and not label and _may_hold_date(text):
            # Date and time in sibling elements that CSS spaces apart
            # (`<span>28.09.19</span><span>12:44</span>`) read as one word ("28.09.1912:44"):
            # the text again with a space between elements.
            spaced = clean_text(" ".join(el.itertext()))
            if spaced != text and len(spaced) <= MAX_DATE_TEXT:
                parsed = parse_date_parts(spaced, fetched_at=fetched_at, local_tz=local_tz)
                text = spaced
        # Hidden elements are not what the reader sees (WordPress hides its 'updated' <time>).
        if parsed is None or _in_caption(el) or _hidden(el):
            continue
        if _is_prose(text) or _after_fetch(parsed, fetched_at):
            # A sentence that mentions a date (a teaser's headline with its time, "the next
            # meeting is on 5 February"), or a date still to come: not the page's own date.
            continue
        if last_entry is not None and last_el in el.iterancestors():
            # A child repeating its parent's date: keep the child's tighter text as the raw string.
            bucket, index = last_entry
            previous = bucket[index][1]
            if previous.parsed.value == parsed.value:
                previous.raw = text
                # The child is the date element itself (the <time> inside a byline block).
                previous.line_kind = _date_line_kind(el, text, parsed) or previous.line_kind
                last_el = el
                if bucket is published and el.get("itemprop") == "dateModified":
                    # The date element itself says, in microdata, that it shows the update: not
                    # the publication (the machine dateModified reads the same value).
                    published.pop(index)
                    last_el, last_entry = None, None
                continue
        candidate = _Candidate(
            parsed,
            text,
            "byline",
            "visible date",
            distance=distance,
            line_kind=_date_line_kind(el, text, parsed),
            marked_published=_marked_published(el, text),
        )
        label = _modified_label(text) or _MODIFIED_CLASS.search(el.get("class") or "")
        bucket = modified if label and not PUBLISHED_LABEL.search(text) else published
        bucket.append((distance, candidate))
        last_el, last_entry = el, (bucket, len(bucket) - 1)
    return published, modified, times


def _window_distance(offset: int) -> float:
    """How far a window element at `offset` (in elements from the headline) is from it: backwards
    (above the headline) counts double, as kickers and date lines sit there, but so does the end
    of the previous block."""
    return float(offset) if offset >= 0 else -2.0 * offset


# A date line carries few words besides the date (a label, an author's name, a place): more than
# this many words left once day/month names, times and zones are removed make a sentence.
MAX_PROSE_WORDS = 10
_WORD = patterns.compile(r"[^\W\d_]{2,}")
# A published date this far after the fetch time is an announced event, not the publication (the
# slack covers a fetch time recorded in UTC against a page's local date ahead of it).
FUTURE_SLACK = timedelta(days=1)


def _is_prose(text: str) -> bool:
    """True when `text` has more words around its date than a date line or byline has."""
    if text.count(" ") < MAX_PROSE_WORDS:  # too short to hold that many words: skip the regexes
        return False
    return len(_WORD.findall(_DATE_LINE_WORDS.sub(" ", text.lower()))) > MAX_PROSE_WORDS


def _after_fetch(parsed: ParsedDate, fetched_at: datetime | None) -> bool:
    if fetched_at is None or parsed.relative:
        return False
    fetched = fetched_at if fetched_at.tzinfo is not None else fetched_at.replace(tzinfo=UTC)
    value = parsed.value if parsed.value.tzinfo is not None else parsed.value.replace(tzinfo=UTC)
    return value > fetched + FUTURE_SLACK


# A <time> whose text and datetime attribute are further apart than this disagree about the day
# (one calendar day is a zone boundary: "23:30" local is the next day in UTC).
MAX_TIME_TEXT_GAP = timedelta(days=1)


def _contradicted_by_text(el: Any, attr: ParsedDate) -> bool:
    """True when the <time> element's own visible text names another day than its datetime
    attribute (`<time datetime="2019-07-03T10:18Z">Publié le 29 juin 2019</time>`): the text is
    what the reader is shown as the date, the attribute a CMS's other timestamp (often the edit)."""
    text = clean_text(text_content(el))
    if not text or not patterns.has_digit(text):
        return False
    shown = parse_date_parts(text)
    if shown is None or shown.relative:
        return False
    gap = abs(shown.value.replace(tzinfo=None) - attr.value.replace(tzinfo=None))
    # A day without a time is its midnight: the attribute's time of day adds up to one more day.
    return gap > (MAX_TIME_TEXT_GAP if shown.has_time else 2 * MAX_TIME_TEXT_GAP)


def only_date(text: str) -> bool:
    """True when `text` (lower-cased) holds nothing but a date, a time, day/month names, a zone and
    separators: a date line, not a sentence or a widget that mentions a date."""
    return not _DATE_LINE_WORDS.sub("", text)


def _date_line_kind(el: Any, text: str, parsed: ParsedDate) -> str | None:
    """Which shape of the page's own date element `el` has, if any. Each rests on several signals,
    since one alone (a class word, a day name, a <time> tag) is also met on teasers and widgets:

    * "date line": a span/div whose class says date/time/schedule/publish, text opening with an
      Indonesian day name, with a time, and nothing but the date (`Rabu, 14 Agustus 2019 09:05`);
    * "<time> text": a <time> without `datetime` whose text is a date with a time (`7 Mar 2018 |
      08:40`): by HTML rules its text is then its machine value;
    * "byline date": a short name, a dash, then a date with a time (`Andi Saputra - 3 Maret 2018
      20:15 wib`).
    """
    if not parsed.has_time or parsed.relative:
        return None
    low = text.lower()
    if el.tag == "time" and not el.get("datetime"):
        return "<time> text" if only_date(low) else None
    m = _NAME_THEN_DATE.match(text)
    if m and len(m.group(0).split()) <= 7 and only_date(low[m.end() :]):
        return "byline date"
    if (
        el.tag in DATE_LINE_TAGS
        and DATE_LINE_CLASS.search(el.get("class") or "")
        and DAY_NAMES_ID.match(low)
        and only_date(low)
    ):
        return "date line"
    return None


# Markup that names a date element as the update time (WordPress 'updated', 'date-modified').
_MODIFIED_CLASS = patterns.compile(r"updated|modified", re.I)
_HIDDEN_STYLE = patterns.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def _hidden(el: Any) -> bool:
    return (
        el.get("hidden") is not None
        or el.get("aria-hidden") == "true"
        or bool(_HIDDEN_STYLE.search(el.get("style") or ""))
    )


_caption_mark_search = patterns.screened(CAPTION_MARK, ("caption", "keterangan"))


def _caption_marked(cls: str) -> bool:
    """CAPTION_MARK finds something in the class value (most classes name no caption)."""
    return _caption_mark_search(cls) is not None


def _in_caption(el: Any) -> bool:
    for node in (el, *el.iterancestors()):
        if node.tag in ("figcaption", "figure") or _caption_marked(node.get("class") or ""):
            return True
        if node.tag in ("body", "article", "main"):
            break
    return False


def _page_zone(candidates: list[_Candidate]) -> tuple[tzinfo | None, str | None]:
    """The zone a zone-less time on this page is read in, when the profile and the page language
    give none: the offset another source on the page writes explicitly (a non-UTC offset, since
    UTC labels are often local times mislabelled), else an Indonesian zone label seen on the page."""
    for c in candidates:
        v = c.parsed.value
        if v.tzinfo is not None and not c.parsed.relative and not _is_utc(v):
            label = c.parsed.zone or _fmt(v)[-6:]
            if label.upper() in ("WIB", "WITA", "WIT"):
                return ZONE_LABELS[label.lower()], f"the {label.upper()} label on the page"
            return v.tzinfo, f"the offset {_fmt(v)[-6:]} of {c.where}"
    return None, None


def _resolve(c: _Candidate, zone: tzinfo | None, zone_why: str | None) -> bool:
    v = c.parsed.value
    if v.tzinfo is None:
        if zone is None:
            # No zone known: the value stays the page's wall-clock time (an offset is never
            # guessed); NO_ZONE lets it be compared and is removed before it leaves find_dates.
            c.value = v.replace(tzinfo=NO_ZONE)
            c.zone_note = (
                f"no zone known for '{c.raw}': kept as the page's local "
                f"{'time' if c.parsed.has_time else 'date'}, without offset"
            )
            return True
        c.value = v.replace(tzinfo=zone)
        if zone_why:
            c.zone_note = f"zone-less '{c.raw}' read in {zone_why}"
    else:
        c.value = v.astimezone(zone) if c.parsed.relative and zone is not None else v
    return True


def find_dates(
    doc: Document,
    *,
    fetched_at: datetime | None,
    default_tz: tzinfo | None,
    selectors: dict[str, tuple[str, ...]],
) -> DatesResult:
    """Published and modified dates of the page, each with its raw string and source.

    Rules, in order:
    1. A profile selector that yields a readable date wins.
    2. Zone-less values are read in `default_tz` (the profile's zone, or WIB on an Indonesian page);
       with none, in the offset another source on the same page writes (JSON-LD `+08:00`, a `WIB`
       label), since a site writes all its times in one local zone; with none of those, a zone-less
       value is unusable (an offset is never guessed).
    3. The machine-readable value (JSON-LD, then meta, then itemprop/<time>) is checked against the
       visible date line next to the headline (captions excluded). Same minute, or less than a
       minute apart: the machine value is kept (it carries seconds), shown in the site's zone.
       Same wall-clock time but the machine says UTC: the machine value is local time
       mislabelled as UTC (detik), the visible one is used. Other disagreement within a day: the
       visible date is what the publisher shows and corrects, the machine value is stale; the
       visible one is used. Beyond a day, or when the visible date has no time, the machine value
       is kept. Every disagreement is explained in `notes`.
       A visible day without a time takes its time from a machine value on that day.
       When the visible date is the page's own date element (a `_date_line_kind` shape: a
       date-classed span/div opening with an Indonesian day name, a <time> whose text is the
       date, a "Name - date" byline), <time datetime> elements farther from the headline are
       teasers' dates and are dropped. A visible WIB/WITA/WIT label decides the offset a
       same-instant machine value is shown in; a WITA/WIT label also replaces the generic WIB
       default for the page's zone-less values; with no default at all, an Indonesian date line
       makes zone-less values WIB.
    4. Without machine values, the visible date; without either, the date in the URL (day only,
       local midnight, with a note).
    5. Modified: a visible "Diperbarui"/"Updated" line, else the machine value (re-read as local
       time when step 3 found that source mislabelling local times as UTC). One earlier than the
       published minute is dropped (it cannot be).
    """
    result = DatesResult()
    local_zone = default_tz
    profile_pub = _profile_candidate(doc, selectors, "published", fetched_at, default_tz)
    profile_mod = _profile_candidate(doc, selectors, "modified", fetched_at, default_tz)
    machine_pub = _machine_candidates(doc, "published", fetched_at)
    machine_mod = _machine_candidates(doc, "modified", fetched_at)
    headline = find_headline(doc)
    visible_pub, visible_mod, times = _visible_candidates(doc, headline, fetched_at, default_tz)
    if headline is not None and not (visible_pub or machine_pub or profile_pub or times):
        # Nothing dates the page near its headline nor in its markup: the date-marked elements
        # anywhere on the page (a byline block far from a mis-found headline, a side column).
        visible_pub = _visible_candidates(doc, None, fetched_at, default_tz)[0]
    machine_pub.extend(c for c in times if not any(c.raw == m.raw for m in machine_pub))

    visible_pub.sort(key=lambda dc: (not dc[1].parsed.has_time, dc[0]))
    visible_mod.sort(key=lambda dc: (not dc[1].parsed.has_time, dc[0]))
    label = _visible_zone_label([c for _, c in visible_pub + visible_mod])
    zone, zone_why = default_tz, None
    if label is not None and default_tz is WIB:
        # WIB is only the default for Indonesian pages (a profile's zone is a distinct object):
        # a page that labels its own date line WITA or WIT writes its zone-less times there too.
        zone, zone_why = ZONE_LABELS[label.lower()], f"the visible zone label {label}"
        local_zone = zone
    if zone is None:
        every = machine_pub + machine_mod + [c for _, c in visible_pub + visible_mod]
        zone, zone_why = _page_zone(every)
        if zone is None and any(
            c.line_kind and DAY_NAMES_ID.search(c.raw.lower()) for _, c in visible_pub
        ):
            # A date line with an Indonesian day name is written for Indonesian readers, on a
            # page that does not declare Indonesian (WordPress themes left on lang="en-US").
            zone, zone_why = WIB, "WIB (the date line next to the headline is Indonesian)"
        local_zone = zone
    for c in [*profile_pub, *profile_mod, *machine_pub, *machine_mod]:
        _resolve(c, zone, zone_why)
    for _, c in visible_pub + visible_mod:
        _resolve(c, zone, zone_why)

    machine_pub = _drop_generic_dates([c for c in machine_pub if c.value is not None], result.notes)
    machine_mod = [c for c in machine_mod if c.value is not None]
    visible = next((c for _, c in visible_pub if c.value is not None), None)
    visible_m = next((c for _, c in visible_mod if c.value is not None), None)
    if visible is not None and visible.line_kind and visible.distance is not None:
        machine_pub = _drop_teaser_times(machine_pub, visible, result.notes)

    mislabelled: set[str] = set()
    url_day = _url_day(doc.url) if doc.url else None
    published = _pick_published(
        [c for c in profile_pub if c.value is not None],
        machine_pub,
        visible,
        result.notes,
        mislabelled,
        machine_mod,
        url_day,
    )
    if published is None and doc.url:
        published = _url_candidate(doc.url, zone, zone_why)
        if published is not None:
            result.notes.append(
                f"published: only the URL gives a date ({published.raw}); time unknown"
            )
    if published is None:
        published = _first_time_element(doc, fetched_at, zone, zone_why)
        if published is not None:
            result.notes.append(
                f"published: no date near the headline; used the page's first <time datetime> "
                f"'{published.raw}'"
            )
    if published is None:
        published = _stand_in_date(doc, machine_mod, fetched_at, zone, zone_why, result.notes)
    if published is not None:
        assert published.value is not None
        if zone is not None and _is_utc(published.value) and published.source != "url":
            # Same instant, shown in the site's local zone (the raw string keeps what was written).
            published.value = published.value.astimezone(zone)
        result.published, result.published_raw = _naive_if_no_zone(published.value), published.raw
        result.published_source = published.source
        if published.zone_note:
            result.notes.append(f"published: {published.zone_note}")
        elif published is visible and _label_overrides(published, default_tz):
            result.notes.append(
                f"published: offset from the visible zone label {published.parsed.zone} "
                f"('{published.raw}'), not the default zone"
            )

    modified = _pick_modified(
        [c for c in profile_mod if c.value is not None],
        machine_mod,
        visible_m,
        mislabelled,
        local_zone,
        result.notes,
    )
    if (
        modified is not None
        and published is not None
        and published.value is not None
        and modified.value is not None
        and _minute(modified.value) < _minute(published.value)
    ):
        result.notes.append(
            f"modified: {modified.where} '{modified.raw}' is earlier than published; dropped"
        )
        modified = None
    if modified is not None:
        assert modified.value is not None
        if zone is not None and _is_utc(modified.value):
            modified.value = modified.value.astimezone(zone)
        result.modified, result.modified_raw = _naive_if_no_zone(modified.value), modified.raw
        result.modified_source = modified.source
    return result


def _naive_if_no_zone(value: datetime) -> datetime:
    """The contract: a value whose zone nobody knows leaves find_dates naive (local wall time)."""
    return value.replace(tzinfo=None) if value.tzinfo is NO_ZONE else value


def _label_overrides(c: _Candidate, default_tz: tzinfo | None) -> bool:
    """True when `c` carries a WITA/WIT label whose offset differs from the default zone's."""
    label = (c.parsed.zone or "").lower()
    if label not in ("wita", "wit") or c.value is None:
        return False
    return default_tz is None or c.value.utcoffset() != c.value.astimezone(default_tz).utcoffset()


def _visible_zone_label(visible: list[_Candidate]) -> str | None:
    """WITA or WIT when the nearest labelled visible date by the headline says so, else None."""
    for c in visible:
        if c.parsed.has_time and c.parsed.zone and not c.parsed.relative:
            label = c.parsed.zone.upper()
            return label if label in ("WITA", "WIT") else None
    return None


def _drop_teaser_times(
    machine: list[_Candidate], line: _Candidate, notes: list[str]
) -> list[_Candidate]:
    """Machine values minus the <time datetime> elements farther from the headline than the page's
    own date line: those belong to teasers (related articles, "Baca juga" boxes) that sit between
    the headline and the end of the window."""
    assert line.value is not None and line.distance is not None
    kept = []
    for c in machine:
        assert c.value is not None
        if (
            c.distance is not None
            and c.distance > line.distance
            and not _same_minute(c.value, line.value)
        ):
            notes.append(
                f"published: {c.where} '{c.raw}' is farther from the headline than the {line.line_kind}"
                f" '{line.raw}'; taken for a teaser's date"
            )
            continue
        kept.append(c)
    return kept


def _profile_candidate(
    doc: Document,
    selectors: dict[str, tuple[str, ...]],
    name: str,
    fetched_at: datetime | None,
    default_tz: tzinfo | None,
) -> list[_Candidate]:
    out = []
    for text in profile_texts(doc, selectors, name):
        parsed = parse_date_parts(text, fetched_at=fetched_at, local_tz=default_tz)
        if parsed is None:
            parsed = _dateparser_fallback(text, fetched_at, doc.lang)
        if parsed is not None:
            out.append(_Candidate(parsed, text, "profile", f"profile {name} selector"))
            break
    return out


def _drop_generic_dates(machine: list[_Candidate], notes: list[str]) -> list[_Candidate]:
    """`machine` minus the generic meta dates (GENERIC_DATE_META) that fall more than a day from
    every named machine value of the page: two machine dates days apart cannot both be the
    publication, and the one whose name says "published" (or the element marked as the article's
    date) knows what it dates."""
    named = [c for c in machine if not c.generic]
    if not named or len(named) == len(machine):
        return machine
    kept = []
    for c in machine:
        assert c.value is not None
        if c.generic and all(
            abs(c.value - n.value) > MAX_VISIBLE_CORRECTION for n in named if n.value is not None
        ):
            notes.append(
                f"published: {c.where} '{c.raw}' is days from {named[0].where} "
                f"'{named[0].raw}'; a bare date meta yields to a named one"
            )
            continue
        kept.append(c)
    return kept


def _pick_published(
    profile: list[_Candidate],
    machine: list[_Candidate],
    visible: _Candidate | None,
    notes: list[str],
    mislabelled: set[str],
    modified: list[_Candidate] | None = None,
    url_day: date | None = None,
) -> _Candidate | None:
    if profile:
        return profile[0]
    timed = [c for c in machine if c.parsed.has_time]
    if visible is None or visible.value is None:
        return timed[0] if timed else (machine[0] if machine else None)
    assert visible.value is not None
    if not visible.parsed.has_time:
        # The visible line gives the day only: a machine value on that day supplies the time.
        for c in timed:
            assert c.value is not None
            if c.value.astimezone(visible.value.tzinfo).date() == visible.value.date():
                return c
        if timed and url_day == visible.value.date():
            notes.append(_url_agrees_note(visible, timed[0]))
            return visible
        if timed:
            notes.append(
                f"published: visible date '{visible.raw}' has no time and no machine value falls "
                f"on that day; used {timed[0].where} '{timed[0].raw}'"
            )
            return timed[0]
        return visible
    if visible.value.tzinfo is NO_ZONE:
        # A zone-less visible time cannot tell a mislabelled machine offset from a right one: a
        # machine value on the visible calendar day (in its own offset) is the same publication,
        # written with an offset, and is kept.
        for c in timed:
            assert c.value is not None
            if c.value.date() == visible.value.date():
                return c
    for c in timed:
        assert c.value is not None
        # Same minute, or less than a minute apart (the visible time rounded, not truncated).
        if _same_minute(c.value, visible.value) or abs(c.value - visible.value) < timedelta(
            minutes=1
        ):
            return _in_visible_zone(c, visible, notes)
    if not timed:
        return visible
    top = timed[0]
    assert top.value is not None
    local_wall = visible.value.replace(tzinfo=None)
    if (
        _is_utc(top.value)
        and not _is_utc(visible.value)
        and _minute(top.value.replace(tzinfo=None)) == _minute(local_wall)
    ):
        mislabelled.add(top.source)
        notes.append(
            f"published: {top.where} says '{top.raw}' but the visible date says '{visible.raw}': "
            "the machine value is local time mislabelled as UTC; used the visible date"
        )
        return visible
    gap = abs(top.value - visible.value)
    if gap > MAX_VISIBLE_CORRECTION and url_day == visible.value.date():
        notes.append(_url_agrees_note(visible, top))
        return visible
    shown_update = next((m for m in modified or () if _same_shown_minute(visible, m)), None)
    if gap > MAX_VISIBLE_CORRECTION and shown_update is not None and visible.marked_published:
        # A teaser's date does not fall on the article's modification minute, and the page marks
        # this date as its publication: it re-dates the article when it reworks it. A date that
        # is not marked so is the update shown beside the headline: published stays the first
        # publication (the machine value) and the visible date is the modification.
        notes.append(
            f"published: the visible date '{visible.raw}' next to the headline is the page's "
            f"{shown_update.where} '{shown_update.raw}', not {top.where} '{top.raw}' "
            f"({_describe_gap(gap)} earlier): the page shows its update as its date; used it"
        )
        return visible
    if gap <= MAX_VISIBLE_CORRECTION:
        # Any UTC-labelled machine value that matches the visible wall clock marks that source
        # as writing local times with a UTC label (so its modified time is read the same way).
        for c in timed:
            assert c.value is not None
            if _is_utc(c.value) and not _is_utc(visible.value):
                mislabelled.add(c.source)
        notes.append(
            f"published: {top.where} says '{top.raw}' but the visible date next to the headline "
            f"says '{visible.raw}' ({_describe_gap(gap)} apart): the machine value is stale or "
            "mislabelled; used the visible date"
        )
        return visible
    notes.append(
        f"published: visible date '{visible.raw}' is {_describe_gap(gap)} from {top.where} "
        f"'{top.raw}'; too far to be a correction, so it is taken for a teaser's date; used "
        f"{top.where}"
    )
    return top


# Class words that mark an element as the publication date (not merely "a date").
_PUBLISH_CLASS = patterns.compile(r"publish|veroeffentlicht|published", re.I)


def _marked_published(el: Any, text: str) -> bool:
    if PUBLISHED_LABEL.search(text):
        return True
    parent = el.getparent()
    return any(
        _PUBLISH_CLASS.search(node.get("class") or "") for node in (el, parent) if node is not None
    )


def _url_agrees_note(visible: _Candidate, machine: _Candidate) -> str:
    return (
        f"published: the visible date '{visible.raw}' is the day in the URL, {machine.where} "
        f"'{machine.raw}' another day: two of the page's own signals agree; used the visible date"
    )


# Offsets a zone can have from UTC: a zone-less wall-clock time equals a UTC instant "in some
# zone" when they differ by a whole number of quarter hours up to this much.
MAX_ZONE_OFFSET = timedelta(hours=14)
ZONE_STEP = timedelta(minutes=15)


def _same_shown_minute(visible: _Candidate, machine: _Candidate) -> bool:
    """True when the visible date (with a time) shows the machine value's minute: the same
    instant, or, for a zone-less visible time, the same minute in some real zone's offset."""
    assert visible.value is not None
    if machine.value is None or not machine.parsed.has_time:
        return False
    if visible.value.tzinfo is not NO_ZONE:
        return _same_minute(visible.value, machine.value)
    shift = _minute(visible.value.replace(tzinfo=None)) - _minute(
        machine.value.astimezone(UTC).replace(tzinfo=None)
    )
    return abs(shift) <= MAX_ZONE_OFFSET and shift % ZONE_STEP == timedelta(0)


def _in_visible_zone(c: _Candidate, visible: _Candidate, notes: list[str]) -> _Candidate:
    """The machine value `c`, shown in the offset of the visible date's Indonesian zone label when
    both give the same instant: the page's own label says which local time the site keeps, while
    a machine offset is the server's or the CMS's (`00:30 WITA` is stored as `23:30+07:00`)."""
    label = (visible.parsed.zone or "").upper()
    assert c.value is not None and visible.value is not None
    if label not in ("WIB", "WITA", "WIT") or c.value.utcoffset() == visible.value.utcoffset():
        return c
    value = c.value.astimezone(ZONE_LABELS[label.lower()])
    if label == "WIB" and _is_utc(c.value):
        # UTC shown in WIB is what an Indonesian page gets anyway: nothing to explain.
        return _Candidate(c.parsed, c.raw, c.source, c.where, value, c.zone_note)
    notes.append(
        f"published: offset from the visible zone label {label} ('{visible.raw}'); {c.where} "
        f"'{c.raw}' gives the same instant in another offset"
    )
    return _Candidate(c.parsed, c.raw, c.source, c.where, value, c.zone_note)


def _describe_gap(gap: timedelta) -> str:
    minutes = int(gap.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 2880:
        return f"{minutes // 60} h"
    return f"{minutes // 1440} days"


def _pick_modified(
    profile: list[_Candidate],
    machine: list[_Candidate],
    visible: _Candidate | None,
    mislabelled: set[str],
    local_zone: tzinfo | None,
    notes: list[str],
) -> _Candidate | None:
    if profile:
        return profile[0]
    if visible is not None and visible.parsed.has_time:
        return visible
    for c in machine:
        assert c.value is not None
        if c.source in mislabelled and _is_utc(c.value) and local_zone is not None:
            fixed = _Candidate(
                c.parsed, c.raw, c.source, c.where, c.value.replace(tzinfo=local_zone)
            )
            notes.append(
                f"modified: {c.where} '{c.raw}' read as local time (that source labels local "
                "times as UTC on this page)"
            )
            return fixed
        return c
    return visible


def _first_time_element(
    doc: Document, fetched_at: datetime | None, zone: tzinfo | None, zone_why: str | None
) -> _Candidate | None:
    """The first visible <time datetime> of the body outside captions, for pages whose headline
    window holds no date (the date sits in a side column, or no headline was found): a page's
    own date comes before its teasers' in document order far more often than not."""
    body = page_body(doc)
    if body is None:
        return None
    for el in body.iter("time"):
        raw = (el.get("datetime") or "").strip()
        if not raw or _hidden(el) or _in_caption(el):
            continue
        parsed = parse_date_parts(raw, fetched_at=fetched_at)
        if parsed is not None and not parsed.relative:
            c = _Candidate(parsed, raw, "time", "<time datetime>")
            _resolve(c, zone, zone_why)
            return c
    return None


# The "last edited" line wikis and CMS footers print (MediaWiki's "This page was last edited on
# 7 April 2020, at 12:33" / "Diese Seite wurde zuletzt am 29. Januar 2020 um 13:22 Uhr geändert.",
# MoinMoin's "(last edited 2019-11-10 13:28:18 by ...)"), in the languages of pages from anywhere.
LAST_EDITED = patterns.compile(
    r"last (?:edited|modified|updated|changed)|zuletzt (?:am\b|geändert|bearbeitet|aktualisiert)"
    r"|(?:geändert|bearbeitet|aktualisiert) am\b|dernière (?:modification|mise à jour)"
    r"|[úu]ltima (?:modifica|edici[óo]n|edi[çc][ãa]o|actualizaci[óo]n|atualiza[çc][ãa]o)"
    r"|laatst (?:gewijzigd|bewerkt)|senast (?:ändrad|redigerad)|sist (?:endret|redigert)"
    # German pages date their content with "Stand: 09.10.2017" ("as of"): the label and a colon
    # or "vom" ("Stand vom 1. März 2020"), so the noun in a sentence does not count.
    r"|(?<![^\W\d_])stand(?::|\s+vom\b)",
    re.I,
)
# LAST_EDITED.search, screened: the whole-page walk asks it of every text and tail. Each ASCII
# match holds one of these (the German, French and Spanish forms with a non-ASCII letter always
# go to the regex).
_LAST_EDITED_WORDS = ("last", "zuletzt", "bearbeitet", "aktualisiert", "ultima", "laatst",
                      "senast", "sist", "stand")  # fmt: skip
_last_edited = patterns.screened(LAST_EDITED, _LAST_EDITED_WORDS)
# Image paths dated by upload day (/files/2016/05/04/cover.png): year, month and day all written.
IMAGE_URL_DATE = patterns.compile(r"/((?:19|20)\d{2})/(\d{1,2})/(\d{1,2})/")


def _stand_in_date(
    doc: Document,
    machine_mod: list[_Candidate],
    fetched_at: datetime | None,
    zone: tzinfo | None,
    zone_why: str | None,
    notes: list[str],
) -> _Candidate | None:
    """The page's date when nothing states its publication, best first: its machine-readable
    modification date, a "last edited" line, the upload day in its share image's URL. Each dates
    the page as it was saved (a wiki article, an institution's page), which is what a reader of an
    undated page goes by; the note says which stood in."""
    if machine_mod:
        c = machine_mod[0]
        notes.append(f"published: the page states no publication date; used {c.where} '{c.raw}'")
        return c
    c = _last_edited_line(doc, fetched_at)
    if c is not None:
        _resolve(c, zone, zone_why)
        notes.append(f"published: the page states no publication date; used the line '{c.raw}'")
        return c
    image = doc.meta_first("og:image", "twitter:image")
    m = IMAGE_URL_DATE.search(image or "")
    d = _make(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None
    if m is None or d is None:
        return None
    c = _Candidate(ParsedDate(d, False, None), m.group(0).strip("/"), "url", "image URL")
    _resolve(c, zone, zone_why)
    notes.append(
        f"published: the page states no date; used the upload day in its image URL ({c.raw})"
    )
    return c


def _last_edited_line(doc: Document, fetched_at: datetime | None) -> _Candidate | None:
    """The first short text on the page that says when it was last edited, read from its label on
    (a whole-page walk, affordable because it only runs on pages with no other date)."""
    body = page_body(doc)
    if body is None:
        return None
    for el in body.iter():
        if not isinstance(el.tag, str) or el.tag in SKIP_TAGS:
            continue
        text, tail = el.text, el.tail
        if text and len(text) <= 400 and _last_edited(text):
            line = clean_text(text_content(el))[: 2 * MAX_DATE_TEXT]
        elif tail and len(tail) <= 400 and _last_edited(tail):
            # A line after a <br> ("Quelle: ...<br/>[Stand: 09.10.2017, 01:40 Uhr]"): the text
            # from the break on is the line.
            line = clean_text(tail)[: 2 * MAX_DATE_TEXT]
        else:
            continue
        label = LAST_EDITED.search(line)
        parsed = parse_date_parts(line[label.start() :] if label else line, fetched_at=fetched_at)
        if parsed is not None and not parsed.relative:
            return _Candidate(parsed, line, "byline", "the last-edited line")
    return None


def _url_day(url: str) -> date | None:
    c = _url_candidate(url, None, None)
    return c.parsed.value.date() if c is not None else None


def _url_candidate(url: str, zone: tzinfo | None, zone_why: str | None) -> _Candidate | None:
    m = URL_DATE.search(url)
    if not m:
        return None
    month, day = (m.group(2), m.group(3)) if m.group(2) else (m.group(4), m.group(5))
    d = _make(int(m.group(1)), int(month), int(day))
    if d is None:
        return None
    c = _Candidate(ParsedDate(d, False, None), m.group(0).strip("/"), "url", "URL")
    _resolve(c, zone, zone_why)
    return c
