"""Screens in front of slow regexes answer as the regexes do: a credit value is cut where the
unscreened searches cut it, a job title is found where JOB_TITLE finds it, the trailing month is
cut by its regex run on the last word only, and the end of a body block is searched for end
marks, desk codes and video calls only when it can hold one."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from newsarchive.extract import patterns
from newsarchive.extract.bylines import (
    _DIGIT,
    _NAME_DATE_SEPARATORS,
    DAY_NAMES,
    JOB_TITLE,
    NAME_DATE_LINE,
    STAMP_WORDS,
    TRAILING_MONTH,
    TRAILING_WORDS,
    VALUE_END,
    _credit_value,
    _day_names_search,
    _job_title_search,
    _stamp_words_search,
    _strip_job_title,
    _trailing_words_search,
    _without_trailing_month,
    name_date_byline,
)
from newsarchive.extract.chrome import (
    _VIDEO_CTA_TAIL,
    _VIDEO_CTA_WORDS,
    DESK_CODE,
    END_MARK,
    VIDEO_CTA_MAX_CHARS,
    Block,
    _closing_mark_region,
    video_cta_start,
)
from newsarchive.extract.dates import DAY_WORDS, RELATIVE, _day_word_search, _relative_search

# What the patterns read: their words in several cases, the characters re.IGNORECASE matches to
# ASCII letters that str.lower() does not lower to them (dotless ı, dotted İ, long ſ) and the
# Kelvin sign, blanks \s matches beyond ASCII, the separators and marks, digits and other words.
_WORDS = [
    "Senin", "SABTU", "jum'at", "Mon", "sunday", "Updated", "posted", "Publish date",
    "November", "nov", "Nov.", "Januari", "MÄRZ", "mars", "Σεπτεμβρίου", "maj",
    "Staff", "Writer", "writers", "REPORTER", "editor", "news", "on", "Pada", "di", "at",
    "Simak", "video", "VIDEO", "Gambas", "[Gambas:Video 20detik]", "[gambas: x]", "juga", "berikut", "ini",
    "(ant)", "(mdk/ded)", "(H-4)", "(selesai)", "( Tamat\n)", "(END)", "(", ")", "*", "#", "**", "***", "* * *", "###", "(PBB)",
    "Andi", "Budi Santoso", "detikNews", "wr\u0131ter", "\u0130ni", "po\u017fted", "\u212aamis",
    "Nama", "x", "7", "2023", "12:30", "2 jam yang lalu", "5 minutes ago", "kemarin", "hari ini",
    "Hari Ini", "just now", "baru saja", "sagooo", "lalu", "ago", "\u2014", "\u00b7",
]  # fmt: skip
_GLUE = [" ", "  ", "\n", "\t", "\xa0", "\u3000", "\u2028", "", ",", ".", " - ", " | ", "\u2022",
         " \u2013 ", ":", "\u201c", "\u201d", "!"]  # fmt: skip

texts = st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_GLUE)), max_size=8).map(
    lambda pairs: "".join(word + glue for word, glue in pairs)
)


def _credit_value_unscreened(value: str) -> str:
    value = VALUE_END.sub("", value)
    for pattern in (_DIGIT, DAY_NAMES, STAMP_WORDS):
        m = pattern.search(value)
        if m:
            value = value[: m.start()]
    value = TRAILING_MONTH.sub("", value)
    return TRAILING_WORDS.sub("", value).strip()


def _span(m: re.Match[str] | None) -> tuple[int, int] | None:
    return m.span() if m else None


@settings(max_examples=800)
@given(texts)
def test_the_screened_credit_searches_cut_where_the_regexes_cut(text):
    assert _without_trailing_month(text) == TRAILING_MONTH.sub("", text)
    assert _credit_value(text) == _credit_value_unscreened(text)
    assert _strip_job_title(text) == _strip_job_title_unscreened(text)


def _strip_job_title_unscreened(name: str) -> str | None:
    m = JOB_TITLE.search(name)
    if not m:
        return name
    if m.group(1) and m.start() > 0:
        return name[: m.start()].strip(" ,-")
    return None


def test_credit_values_with_a_trailing_month_or_title_are_cut():
    assert _without_trailing_month("Associated Press November ") == "Associated Press"
    assert _without_trailing_month("  Nov.\n") == ""
    assert _without_trailing_month("November") == "November"
    assert _credit_value("Andi Budi on Senin, 3 Juli") == "Andi Budi"
    assert _credit_value("Andi Budi Updated Nov 13") == "Andi Budi"
    assert _credit_value("Andi Budi - detikNews") == "Andi Budi"
    assert _strip_job_title("Meg James Staff Writer ") == "Meg James"
    assert _strip_job_title("AP Auto Writer") is None
    assert _strip_job_title("Meg James wr\u0131ter") is None  # dotless i: the regex's i


@settings(max_examples=800)
@given(texts, st.sampled_from(_WORDS))
def test_the_end_screens_let_every_match_through(text, last):
    text += last
    for screened, pattern in (
        (_trailing_words_search, TRAILING_WORDS),
        (_job_title_search, JOB_TITLE),
        (_day_names_search, DAY_NAMES),
        (_stamp_words_search, STAMP_WORDS),
    ):
        assert _span(screened(text)) == _span(pattern.search(text))
    region = _closing_mark_region(text)
    for pattern in (END_MARK, DESK_CODE):
        whole = _span(pattern.search(text))
        closing = pattern.search(text[region:]) if region is not None else None
        assert whole == (_span(closing) and (closing.start() + region, closing.end() + region))
    start = max(0, len(text) - VIDEO_CTA_MAX_CHARS)
    if _VIDEO_CTA_TAIL.search(text, start):
        assert not patterns.holds_none(text[start:], _VIDEO_CTA_WORDS)


def test_a_video_call_closing_a_block_is_still_found():
    block = Block("Warga menangkap buaya itu. Simak video 'Warga Tangkap Buaya':")
    assert video_cta_start(block) == len("Warga menangkap buaya itu. ")
    assert video_cta_start(Block("Warga menangkap buaya itu. Simak juga berita lain:")) is None
    assert video_cta_start(Block("Warga menangkap buaya. [Gambas:Instagram]")) is not None
    # A dotless ı matches i case-blind: the screen cannot tell, the regex decides.
    assert not patterns.holds_none("V\u0131DEO", ("video",))
    assert patterns.holds_none("V\u0131DEO", ("gambas",)) is False
    assert patterns.holds_none("\u212aamis", ("video",))


def test_closing_marks_are_searched_where_they_start():
    for text, start in (
        ("Selesai dibahas.  ###", 16),
        ("Selesai dibahas. * * *\n", 16),
        ("Harga naik (5 persen) \xa0(ant/ded)", 21),
        ("Akhir berita (Selesai)", 12),
    ):
        m = END_MARK.search(text) or DESK_CODE.search(text)
        assert m is not None and m.start() == start
        assert _closing_mark_region(text) == start
    for text in ("Harga naik (5 persen) hari ini.", "Tanpa tanda", "", "akhir *"):
        assert _closing_mark_region(text) is None or not (
            END_MARK.search(text) or DESK_CODE.search(text)
        )


@settings(max_examples=800)
@given(texts)
def test_the_date_word_screens_find_what_the_regexes_find(text):
    for low in (text, text.lower()):
        assert _span(_relative_search(low)) == _span(RELATIVE.search(low))
        assert _span(_day_word_search(low)) == _span(DAY_WORDS.search(low))
    # name_date_byline's screen: a line the regex matches holds one of the separators.
    if NAME_DATE_LINE.match(text) is not None:
        assert any(separator in text for separator in _NAME_DATE_SEPARATORS)


def test_name_date_lines_and_relative_dates_are_still_read():
    assert name_date_byline("Andi Saputra - 3 Maret 2018 20:15 wib") == "Andi Saputra"
    assert name_date_byline("Andi Saputra \u00b7 3 Maret 2018") == "Andi Saputra"
    assert _relative_search("diunggah 2 jam yang lalu") is not None
    assert _day_word_search("kemarin 19.17") is not None
