"""Bylines: who wrote the article, and who else is credited in what role.

`parse_byline` reads one credit line (`Oleh:Yulfi Alfikri Noer S.IP., M.AP`, `Pewarta: A dan B`,
`Reporter: A | Editor: B`, `(ant)`) into contributors with roles. `find_contributors` looks for the
credits of a page, strongest source first (see its docstring); names credited as editors anywhere
on the page never become authors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from newsarchive.extract import patterns
from newsarchive.extract.dates import MONTHS, parse_date_parts
from newsarchive.extract.document import (
    Document,
    attributed_elements,
    body_positions,
    classed_matching,
    clean_text,
    elements_after,
    host_of,
    page_body,
    profile_texts,
    text_content,
)
from newsarchive.extract.headline import find_headline, unescaped
from newsarchive.items import Contributor

# Credit labels -> role. "sumber"/"source" credit where a story came from (an attribution, not a
# writer) and yield nothing. Longer labels first so "laporan wartawan" wins over "laporan".
LABEL_ROLES: dict[str, str | None] = {
    "laporan wartawan": "reporter",
    "ditulis oleh": "author",
    "written by": "author",
    "geschrieben von": "author",
    "verfasst von": "author",
    "erstellt von": "author",
    # French interviews: "(Propos) recueillis par" the journalist who took the words down.
    "propos recueillis par": "author",
    "recueillis par": "author",
    "recueilli par": "author",
    "reported by": "reporter",
    "edited by": "editor",
    "translated by": "translator",
    "photos by": "photographer",
    "photo by": "photographer",
    "pewarta foto": "photographer",
    "alih bahasa": "translator",
    "penerjemah": "translator",
    "translator": "translator",
    "fotografer": "photographer",
    "photographer": "photographer",
    "penyunting": "editor",
    "redaktur": "editor",
    "editor": "editor",
    "reporter": "reporter",
    "pewarta": "reporter",
    "wartawan": "reporter",
    "koresponden": "reporter",
    "kontributor": "reporter",
    "jurnalis": "reporter",
    "laporan": "reporter",
    "penulis": "author",
    "author": "author",
    "writer": "author",
    "oleh": "author",
    "foto": "photographer",
    "photo": "photographer",
    "rep": "reporter",
    "red": "editor",
    "by": "author",
    # The word for "author" in European languages (German, Polish, Czech, Spanish, Portuguese;
    # Italian; French) and the Bosnian/Croatian/Serbian "writes", as labels with a colon.
    "autor/in": "author",  # German's gender-inclusive form ("Autor/in: Korinna Hennig")
    "autor": "author",
    "autorin": "author",
    "autore": "author",
    "auteur": "author",
    "pi\u0161e": "author",
    "sumber": None,
    "source": None,
}
# Labels that also work without a colon ("Oleh Desca", "by Admin", "Penulis Nabilla Tashandra |
# Editor Bayu Galih"): only when the next word is capitalised and only names follow, so running
# text ("dimiliki oleh pekerja", "Penulis Andrea Hirata mengatakan...") never matches.
BARE_LABELS = (
    "laporan wartawan",
    "penulis",
    "reporter",
    "pewarta",
    "wartawan",
    "editor",
    "redaktur",
    "penyunting",
    "fotografer",
    "ditulis oleh",
    "written by",
    "geschrieben von",
    "verfasst von",
    "erstellt von",
    "propos recueillis par",
    "recueillis par",
    "recueilli par",
    "reported by",
    "edited by",
    "translated by",
    "photos by",
    "photo by",
    "oleh",
    "by",
)
# The words for "by" of languages in which they also stand inside names and sentences: German
# "von" is a name particle ("Ludwig von Mises"), French "par" and Spanish/Portuguese "por" are
# prepositions. A credit line that opens with one ("Von Claudia Ludewig", "Par Barbara
# Stiegler") is labelled by it; elsewhere in a line they are no label.
OPENING_LABELS: dict[str, str] = {"von": "author", "par": "author", "por": "author"}
# Longest first, then grouped by first letter (patterns.factored): where no label starts (most
# characters of a credit line, which LABEL scans whole), the engine tests one branch per first
# letter instead of one per label. The same matches and groups: the labels are plain words, no
# character matches two first letters even case-blind, and each group keeps the longest-first
# order, so at any position the labels that can match are tried in the order they were.
_LABEL_ALT = patterns.factored("|".join(sorted(LABEL_ROLES, key=len, reverse=True)))
_BARE_ALT = patterns.factored("|".join(sorted(BARE_LABELS, key=len, reverse=True)))
# A label in a credit line: "Label:" / "Label :" anywhere, or a bare label before a capital.
LABEL = patterns.compile(
    rf"(?<![\w.])(?:({_LABEL_ALT})\s*[:\uff1a]|({_BARE_ALT})\s+(?=[A-Z\u00c0-\u024f]))",
    re.I,
)
# An opening label at the start of a credit line, before a capitalised word.
OPENING_LABEL = patterns.compile(
    rf"^((?i:{'|'.join(sorted(OPENING_LABELS))}))\s+(?=[A-Z\u00c0-\u024f])"
)
# Every label, lowercase, as a plain case-sensitive alternation grouped by first letters: on the
# lowercased text the engine skips in C to where one of them starts (_labels_in), where LABEL,
# case-blind and opening with a lookbehind, tries both its alternations at every character.
# Sorted by length, then alphabetically: the same pattern in every process, so it is stored once
# (patterns.compile) rather than in a new order with each process's string hashing.
_LABEL_WORDS = patterns.compile(
    patterns.factored(
        "|".join(sorted({*LABEL_ROLES, *BARE_LABELS}, key=lambda label: (-len(label), label)))
    )
)
LABEL_PREFIXES = tuple(LABEL_ROLES)
# Their first two letters (every label has two or more): what a text opening with one opens with.
_LABEL_OPENINGS = frozenset(label[:2] for label in LABEL_PREFIXES)
# A label opening a line without a colon, for labels that sit alone in their own element.
LABEL_NO_COLON = patterns.compile(rf"^\s*({_LABEL_ALT})\b(?!\s*[:\uff1a])", re.I)
# A text node that starts a credit: a label then a colon, the label alone (its value sits in the
# next table cell: `<td>Penulis</td><td>: Nama</td>`), or a bare label before a capital.
LABEL_START = patterns.compile(
    rf"^\s*(?:({_LABEL_ALT})\s*(?:[:\uff1a]|$)|({_BARE_ALT})\s+[A-Z\u00c0-\u024f])",
    re.I,
)
# Desk codes closing an article: "(ant)", "(mdk/ded)", "(fyk/ash)". Only wire-agency codes name a
# contributor; the rest are staff initials.
DESK_CODE = patterns.compile(r"\(\s*([a-z]{2,8})(?:\s*/\s*[a-z0-9-]{1,8}){0,3}\s*\)\s*$", re.I)
AGENCY_CODES = {
    "ant": "ANTARA",
    "antara": "ANTARA",
    "afp": "AFP",
    "rtr": "Reuters",
    "reuters": "Reuters",
    "ap": "AP",
    "xinhua": "Xinhua",
}
# News agencies: credited as role "agency", kept as written.
AGENCIES = {
    "antara",
    "antara news",
    "antaranews",
    "afp",
    "agence france-presse",
    "agence france presse",
    "reuters",
    "ap",
    "associated press",
    "the associated press",
    "xinhua",
    "bloomberg",
    "kyodo",
    "dpa",
    "anadolu",
    "anadolu agency",
    "bernama",
    "efe",
    "upi",
}
# Labels of report lines ("Laporan Wartawan <outlet>[, <city>], <name>"): the outlet and the city
# are written before the reporter, so only the last comma-separated part names a person.
REPORT_LABEL = patterns.compile(r"^laporan\b", re.I)
# Words that start a job description rather than a name ("Kontributor Lhokseumawe, Masriadi").
ROLE_WORDS = patterns.compile(
    r"^(kontributor|koresponden|wartawan|jurnalis|reporter|pewarta)\b", re.I
)
# Academic and honorific titles written after a name and separated by a comma ("Noer S.IP., M.AP"):
# dotted abbreviations, and the undotted ones in common use.
TITLE_PART = patterns.compile(r"^(?:[A-Z][A-Za-z]{0,3}\.\s?){1,4}[A-Za-z]{0,4}\.?$")
UNDOTTED_TITLES = {
    "mba", "ma", "msc", "phd", "sh", "mh", "se", "mm", "mt", "st", "ak", "cpa", "lc", "ba", "bsc",
    "md", "jr", "sr", "ii", "iii", "ms", "rd", "rn", "mph", "cfa", "esq", "dds",
}  # fmt: skip
# Lower-case words that belong inside names ("Ludwig van Beethoven", "Siti binti Ahmad").
NAME_PARTICLES = {"van", "von", "der", "den", "de", "del", "da", "di", "dos", "du", "la", "le",
                  "bin", "binti", "al", "el", "y", "e", "ter", "ten"}  # fmt: skip
# Separators between names in one credit: "and" in Indonesian, English, German and French.
NAME_SPLIT = patterns.compile(r"\s*(?:\s(?:dan|and|serta|und|et)\s|&|;|/|\+)\s*", re.I)
# Its symbols alone: for a credit in which "and" joins the words of an organisation's name
# ("Bayerische Landesanstalt für Wald und Forstwirtschaft", "Department of Health and Human
# Services"), not two names: a lowercase word before it shows it (see _names_organisation).
NAME_SYMBOL_SPLIT = patterns.compile(r"\s*(?:&|;|/|\+)\s*")
# Where a credit's value ends: a pipe/bullet, or " - outlet" ("Bagus Kurniawan - detiknews").
VALUE_END = patterns.compile(r"\s*(?:[|\u2022\u00b7]|\s[-\u2013\u2014]\s).*$", re.S)
# Day names: a credit line that runs into its date line ("By Name on Senin, ...").
DAY_NAMES = patterns.compile(
    r"\b(?:senin|selasa|rabu|kamis|jumat|jum'at|sabtu|minggu|ahad|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun)\b,?",
    re.I,
)
# A date line before a credit label: a digit, or a "posted on" phrase.
DATE_LINE = patterns.compile(
    r"\d|^\s*(?:posted|diposting|published|diterbitkan|dipublikasikan)\b", re.I
)
_DIGIT = patterns.compile(r"\d")
# Stamps that follow a byline on the same line ("Umair Irfan Updated Nov 13").
STAMP_WORDS = patterns.compile(
    r"\b(?:updated|published|publish date|posted|last modified|diperbarui|diterbitkan|"
    # ...and in the European languages of the sites met ("Veröffentlicht am" before the date,
    # in the element a WordPress theme classes "meta-prep-author").
    r"ver\u00f6ffentlicht|aktualisiert|publi\u00e9|publicado|actualizado|atualizado|pubblicato|"
    r"aggiornato|gepubliceerd|bijgewerkt)\b",
    re.I,
)
# A month name left at the end once the day and year are cut ("Associated Press November").
TRAILING_MONTH = patterns.compile(
    rf"\s+(?:{'|'.join(sorted(MONTHS, key=len, reverse=True))})\.?\s*$", re.I
)
# Job titles written after a name. With a rank word ("Staff Writer") they are cut off; a name
# that ends in a job word without one ("AP Auto Writer") is a title, not a person.
JOB_TITLE = patterns.compile(
    r"(?:\b(staff|senior|contributing|chief|special|associate|deputy|managing|political|"
    r"foreign|business|sports|science|news)\s+)?"
    r"\b(?:writer|reporter|correspondent|columnist|contributor|editor)s?\s*$",
    re.I,
)
# Words before a bare "by" that make it a site credit, not a byline ("Designed by", "Powered by").
SITE_CREDIT = patterns.compile(
    r"(?:designed|powered|crafted|developed|built|made|hosted|theme|template|created)"
    r"(?:\s+with\W*\w*)?\W*$",
    re.I,
)
TRAILING_WORDS = patterns.compile(r"(?:\s+(?:on|pada|at|di|,|-))+\s*$", re.I)

# The searches of _credit_value and _strip_job_title behind plain-string screens: each pattern
# tries its alternation at every position (TRAILING_MONTH's 268 month names at every space), and
# most credit values hold none of these words. Every match holds one of the screen's words
# (VALUE_END one of its characters); the end-anchored ones end the text with it.
_day_names_search = patterns.screened(
    DAY_NAMES,
    ("senin", "selasa", "rabu", "kamis", "jum", "sabtu", "minggu", "ahad")
    + ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
    every_match=True,
)
_stamp_words_search = patterns.screened(
    STAMP_WORDS,
    ("updated", "published", "publish date", "posted", "last modified")
    + ("diperbarui", "diterbitkan")
    # ASCII parts of the others' words: "publi" is in publié and publicado.
    + ("ffentlicht", "aktualisiert", "publi", "actualizado", "atualizado", "pubblicato")
    + ("aggiornato", "gepubliceerd", "bijgewerkt"),
    every_match=True,
)
_VALUE_END_CHARS = "|\u2022\u00b7-\u2013\u2014"
_trailing_words_search = patterns.end_screened(TRAILING_WORDS, ("on", "pada", "at", "di", ",", "-"))
_JOB_WORDS = ("writer", "reporter", "correspondent", "columnist", "contributor", "editor")
_job_title_search = patterns.end_screened(
    JOB_TITLE, _JOB_WORDS + tuple(w + "s" for w in _JOB_WORDS)
)
# Names that are never people or desks: share widgets, social networks, link texts.
NOT_NAMES = {
    "facebook", "twitter", "instagram", "youtube", "tiktok", "whatsapp", "line", "share",
    "bagikan", "home", "beranda", "more", "view more articles", "lihat", "selengkapnya",
    "getty images", "istimewa", "dok", "dokumentasi", "ilustrasi",
}  # fmt: skip
# Teams / desks are kept as shown even when they carry the site's brand ("Tim detikBali").
TEAM_PREFIX = patterns.compile(r"^(tim|team|redaksi|desk)\b", re.I)
MAX_NAME_LEN = 60
MAX_NAME_WORDS = 7
MAX_CREDIT_TEXT = 200


def _role_of(label: str) -> str | None:
    return LABEL_ROLES[label.lower()]


def _clean_name(name: str) -> str:
    name = name.strip(" \t,;:|/()[]{}\"'\u201c\u201d\u2018\u2019-\u2013\u2014")
    # A full stop after a word ("Budi.", "ANGEVIN.") ends a sentence; after an initial, a title
    # or a short acronym ("S.H.", "USA.") it is kept.
    if name.endswith(".") and re.search(r"(?:[a-z]{3}|\b[A-Z]{4,})\.$", name):
        name = name[:-1]
    return name.strip()


def _is_title_part(part: str) -> bool:
    part = part.strip()
    return bool(TITLE_PART.match(part)) or part.lower().replace(".", "") in UNDOTTED_TITLES


def _valid_name(name: str, *, labelled: bool) -> bool:
    if not name or len(name) < 2 or len(name) > MAX_NAME_LEN:
        return False
    if len(name.split()) > MAX_NAME_WORDS or any(map(str.isdigit, name)):
        return False
    low = name.lower()
    if "@" in name or "://" in name or low.startswith("www.") or low in NOT_NAMES:
        return False
    if low in LABEL_ROLES or not name[0].isalpha():
        return False
    if _reads_as_sentence(name):
        return False
    # Unlabelled lowercase text is prose or a code ("bgs"), not a byline; a labelled one is kept
    # ("Pewarta: prwir" credits a wire account).
    return labelled or not name.islower()


# Lowercase words (besides name particles) that make a capitalised text a sentence.
SENTENCE_MIN_LOWERCASE_WORDS = 3


def _lowercase_words(text: str) -> tuple[int, bool]:
    """How many words of `text` are lowercase and no name particle nor abbreviation ("dr."),
    and whether any word is capitalised."""
    lowercase = 0
    capitalised = False
    for word in text.split():
        if word[0].isupper():
            capitalised = True
        elif word.islower() and word not in NAME_PARTICLES and not word.endswith("."):
            lowercase += 1
    return lowercase, capitalised


def _reads_as_sentence(name: str) -> bool:
    """Capitalised words among several lowercase ones ("dass der Urheber immer genannt werden
    muss"): a sentence. A person's name is capitalised throughout (but for particles), or
    written in lowercase throughout (a handle)."""
    lowercase, capitalised = _lowercase_words(name)
    return capitalised and lowercase >= SENTENCE_MIN_LOWERCASE_WORDS


def _names_organisation(text: str) -> bool:
    """Capitalised words and a lowercase one: an organisation's name ("Bayerische Landesanstalt
    für Wald", "Department of Health"), or prose, but no person's."""
    lowercase, capitalised = _lowercase_words(text)
    return capitalised and lowercase > 0


def _capitalised_name(name: str) -> bool:
    """Every word capitalised (or a name particle, or camel-cased like "detikBali"): what a bare
    "by"/"oleh" must be followed by, so prose ("by the Chinese government") is not a credit."""
    for word in name.split():
        if not (word[0].isupper() or word in NAME_PARTICLES or any(c.isupper() for c in word[1:])):
            return False
    return True


def _dedupe_repeated(name: str) -> str:
    """ "Sean Martin Sean Martin" (a name printed twice in one byline block) -> "Sean Martin";
    "Eric Yoder close Eric Yoder National" (the name, a profile card's button, the name again
    and the writer's desk) -> "Eric Yoder": the words a byline opens with, repeated later in it,
    are the name (two words at least: one could be a first name shared)."""
    words = name.split()
    half = len(words) // 2
    if len(words) % 2 == 0 and half and words[:half] == words[half:]:
        return " ".join(words[:half])
    for size in range(half, 1, -1):
        opening = words[:size]
        if any(words[i : i + size] == opening for i in range(size, len(words) - size + 1)):
            return " ".join(opening)
    return name


def _looks_like_outlet(part: str) -> bool:
    # Every match holds a dot: most parts (names) have none and skip the regex.
    return "." in part and bool(re.search(r"\.(?:com|co\.id|id|net|org|co)\b", part, re.I))


def _split_names(value: str, *, labelled: bool) -> Iterator[str]:
    """Names in one credit value: "A dan B", "A, B", "A & B"; titles after commas stay attached.
    In order, one at a time: after a bare label a sentence is read only up to its first part that
    is no name (parse_byline)."""
    chunks = NAME_SPLIT.split(value)
    # Only what stands before a separator tells: "Andi Saputra and the team" names a person.
    if any(_names_organisation(chunk) for chunk in chunks[:-1]):
        chunks = NAME_SYMBOL_SPLIT.split(value)
    for chunk in chunks:
        parts = [p.strip() for p in chunk.split(",")]
        merged: list[str] = []
        for part in parts:
            if not part:
                continue
            if merged and _is_title_part(part):
                merged[-1] = f"{merged[-1]}, {part}"
            else:
                merged.append(part)
        kept: list[str] = []
        for i, part in enumerate(merged):
            if _looks_like_outlet(part):
                continue  # "Laporan wartawan Tribunnews.com, Nama"
            if ROLE_WORDS.match(part):
                if i + 1 < len(merged):
                    continue  # "Kontributor Lhokseumawe, Masriadi": a job description
                part = ROLE_WORDS.sub("", part).strip()
            if kept and part.isupper() and not kept[0].isupper() and len(part) > 2:
                break  # "Agence France-Presse, CHARLESTON, South Carolina": a dateline follows
            kept.append(part)
            yield part


def _only_names(candidates: Iterable[str]) -> list[str] | None:
    """The candidates when every one is a capitalised name (all a bare label may be followed
    by), else None: read up to the first that is not, so the rest of a sentence is never split
    and cleaned."""
    names: list[str] = []
    for name in candidates:
        if name.lower() in AGENCIES:
            # "Von Britta Schultejans, dpa": agencies write their names in lowercase too.
            names.append(name)
            continue
        if not (_valid_name(name, labelled=False) and _capitalised_name(name)):
            return None
        names.append(name)
    return names


def _reporter_of_report(value: str) -> str:
    """ "Tribunjambi.com, Muara Bulian, Dedi Nurdin" -> "Dedi Nurdin": after "Laporan Wartawan"
    the outlet (and the reporter's city) come first and the reporter last, each after a comma. A
    name's academic titles after its own commas ("Dedi Nurdin, S.H.") stay with it."""
    parts = value.split(",")
    last = len(parts) - 1
    while last > 0 and _is_title_part(parts[last]):
        last -= 1
    if last > 0:
        return ",".join(parts[last:]).strip()
    words = value.split()
    if len(words) > 1 and _looks_like_outlet(words[0]):
        return " ".join(words[1:])  # "Laporan Wartawan Tribunjambi.com Dedi Nurdin"
    return value


def _credit_value(value: str) -> str:
    """The names part of a credit: up to a pipe, " - outlet", a date, a day name or an
    "Updated" / "Published" stamp."""
    if any(map(value.__contains__, _VALUE_END_CHARS)):
        value = VALUE_END.sub("", value)
    for search in (_DIGIT.search, _day_names_search, _stamp_words_search):
        m = search(value)
        if m:
            value = value[: m.start()]
    value = _without_trailing_month(value)
    m = _trailing_words_search(value)
    return (value[: m.start()] if m else value).strip()


def _without_trailing_month(value: str) -> str:
    """TRAILING_MONTH.sub("", value), the regex run on the value's last word and the whitespace
    before it only. Month names are letters, so a match is that whitespace, the last word (and
    its dot), and trailing whitespace: nothing before the whitespace can be part of one."""
    stripped = value.rstrip()
    last_word = stripped.rsplit(None, 1)[-1] if stripped else ""
    before = stripped[: len(stripped) - len(last_word)]
    if not before:  # no whitespace before the last word: no match
        return value
    if last_word.isascii() and not _is_ascii_month(last_word):
        # The regex would try its 268 names and find none.
        return value
    start = len(before.rstrip())
    return value[:start] + TRAILING_MONTH.sub("", value[start:])


# TRAILING_MONTH's names as its case-blind match reads them in ASCII text: re.IGNORECASE takes a
# dotless ı for i and a long ſ for s (the month names are lowercase letters); a name with any
# other letter beyond ASCII matches no ASCII word.
_ASCII_MONTHS = frozenset(
    folded
    for folded in (name.translate({0x131: "i", 0x17F: "s"}) for name in MONTHS)
    if folded.isascii()
)


def _is_ascii_month(word: str) -> bool:
    """Whether TRAILING_MONTH may match an ASCII `word` as the line's last word: a month name,
    in any case, with or without a dot after it."""
    low = word.lower()
    return low in _ASCII_MONTHS or (low.endswith(".") and low[:-1] in _ASCII_MONTHS)


def _strip_job_title(name: str) -> str | None:
    """ "Meg James Staff Writer" -> "Meg James"; a bare job title ("AP Auto Writer") -> None."""
    m = _job_title_search(name)
    if not m:
        return name
    if m.group(1) and m.start() > 0:
        return name[: m.start()].strip(" ,-")
    return None


def _labels_in(text: str) -> list[re.Match[str]]:
    """list(LABEL.finditer(text)), LABEL tried only where the lowercased text holds a label.

    Where LABEL matches, the lowercased text holds the label it matched at the same place: its
    case-blind match of the (lowercase, ASCII) labels is what str.lower() makes of the text,
    unless the text holds one of the letters patterns.lowers_like_regex looks for (then LABEL
    runs as it is). From each such place in turn, LABEL.match finds what finditer would.
    """
    low = text.lower()
    if len(low) != len(text) or not patterns.lowers_like_regex(text):
        return list(LABEL.finditer(text))
    found: list[re.Match[str]] = []
    position = 0
    while (candidate := _LABEL_WORDS.search(low, position)) is not None:
        match = LABEL.match(text, candidate.start())
        if match is None:
            position = candidate.start() + 1
        else:
            found.append(match)
            position = match.end()
    return found


def parse_byline(text: str, *, default_role: str | None = "author") -> list[Contributor]:
    """Contributors named in one credit line, with roles.

    Labels set the role (`Oleh:`/`Penulis:` author, `Reporter:`/`Pewarta:`/`Laporan wartawan`
    reporter, `Editor:`/`Redaktur:`/`Red:` editor, `Foto:` photographer, `Penerjemah:` translator;
    `Sumber:` is an attribution and names nobody). Text before any label takes `default_role`
    (None: ignored, for lines such as "Posted on 30 Maret 2015 by Admin").
    News agencies get role agency; wire desk codes such as `(ant)` name the agency.
    """
    t = clean_text(text)
    if not t:
        return []
    m = DESK_CODE.fullmatch(t) or (DESK_CODE.match(t) if t.startswith("(") else None)
    if m and m.start() == 0:
        agency = AGENCY_CODES.get(m.group(1).lower())
        return [Contributor(agency, "agency")] if agency else []
    # (role, value, how it was introduced: "colon" label, "bare" label, or "none", the label)
    segments: list[tuple[str | None, str, str, str]] = []
    labels = _labels_in(t)
    head = t[: labels[0].start()] if labels else t
    # Text before a label is a credit of its own ("Andi | Editor: Budi") unless it is the date
    # line the credit follows ("Posted on Maret 30, 2015 by Admin").
    opening = OPENING_LABEL.match(head)
    if opening:
        # "Von Claudia Ludewig": the line's own "by", followed by names only, as a bare label.
        label = opening.group(1)
        segments.append((OPENING_LABELS[label.lower()], head[opening.end() :], "bare", label))
    elif head.strip() and default_role is not None and not (labels and DATE_LINE.search(head)):
        # Before a label, only a clean name list counts ("Andi | Editor: Budi"), not a phrase
        # ("Crafted with love by ...").
        segments.append((default_role, head, "bare" if labels else "none", ""))
    for i, lm in enumerate(labels):
        end = labels[i + 1].start() if i + 1 < len(labels) else len(t)
        label = lm.group(1) or lm.group(2)
        if lm.group(2) and SITE_CREDIT.search(t[: lm.start()]):
            continue  # "Crafted with love by TemplatesYard": the site's credit, not a byline
        segments.append(
            (_role_of(label), t[lm.end() : end], "colon" if lm.group(1) else "bare", label)
        )
    out: list[Contributor] = []
    seen: set[tuple[str, str]] = set()
    for role, value, kind, label in segments:
        if role is None:
            continue
        value = _credit_value(value)
        if REPORT_LABEL.match(label):
            value = _reporter_of_report(value)
        if not value:
            continue
        labelled = kind == "colon"
        named = (
            _dedupe_repeated(n)
            for n in (
                _strip_job_title(_clean_name(n)) for n in _split_names(value, labelled=labelled)
            )
            if n is not None
        )
        if kind != "bare":
            names = list(named)
        else:
            # "By June, the company..." is prose, not a credit: a bare "by"/"oleh" must be
            # followed by nothing but names.
            only_names = _only_names(named)
            if only_names is None:
                continue
            names = only_names
        for name in names:
            if not _valid_name(name, labelled=labelled):
                continue
            final_role = role
            if role in ("author", "reporter") and name.lower() in AGENCIES:
                final_role = "agency"
            key = (name.lower(), final_role)
            if key not in seen:
                seen.add(key)
                out.append(Contributor(name, final_role))
    return out


# --------------------------------------------------------------------------------------------
# Finding the credits of a page
# --------------------------------------------------------------------------------------------

WRITER_ROLES = ("author", "reporter", "agency")
# Containers whose credits are not the article's: comment threads, captions, related-article
# lists, sidebars.
_FOREIGN_CONTAINER_WORDS = (
    "comment|komentar|caption|related|terkait|lainnya|popular|terpopuler|sidebar|widget|"
    "respond|reply|copyright|site-footer|footer-"
)
FOREIGN_CONTAINER = patterns.compile(_FOREIGN_CONTAINER_WORDS, re.I)
FOREIGN_TAGS = frozenset({"figure", "figcaption", "nav", "aside", "select", "option", "footer"})
# For unlabelled byline markup, photo blocks are foreign too: a class="author" inside them is the
# photo credit (kompas's span.author "KOMPAS.COM/NAME" under the lead photo).
_PHOTO_CONTAINER_WORDS = "photo|foto|gallery|figure|image|img|pic"
PHOTO_CONTAINER = patterns.compile(_PHOTO_CONTAINER_WORDS, re.I)
# Their searches behind a plain-string screen (both are alternations of plain words, so every
# match holds one): a page's ancestors' marks are new to the cache, and most name neither.
_foreign_container_search = patterns.screened(
    FOREIGN_CONTAINER, tuple(_FOREIGN_CONTAINER_WORDS.split("|"))
)
_photo_container_search = patterns.screened(
    PHOTO_CONTAINER, tuple(_PHOTO_CONTAINER_WORDS.split("|"))
)
# Classes/ids of byline elements (as whole class tokens or token parts: "detail__author",
# "author-2", "read-page--header__author").
BYLINE_CLASS = patterns.compile(
    r"(?:^|[\s_-])(?:author|authors|byline|by-line|writer|penulis|reporter|wartawan|"
    r"contributor|kontributor|creator)(?:$|[\s_-]|\d)",
    re.I,
)
# Non-standard elements some CMS templates print the writer in (`<author>Nama</author>`,
# `<reporter>`): the browser shows them as plain text, the tag name is the only mark.
BYLINE_TAGS = ("author", "reporter", "writer", "penulis", "wartawan")
# Candidates for BYLINE_CLASS, preselected with a few cheap substring tests (as written: a class
# "AUTHOR" is no candidate); the regex then checks token boundaries. Reporter/writer/wartawan
# classes mark the writer on portals that print no "Oleh:"/"Penulis:" label (`span.reporter-name`).
# The page's class index (classed_matching) finds them without a tree walk of its own; BYLINE_TAGS
# are found apart with iter().
BYLINE_CLASS_HINTS = ("uthor", "yline", "enulis", "eporter", "riter", "artawan")
_BYLINE_HINT = patterns.compile("|".join(BYLINE_CLASS_HINTS))  # on the index's lowercased marks
# Marks that say the element credits a reporter (the role it gets) rather than an author.
REPORTER_MARK = patterns.compile(r"reporter|wartawan|jurnalis|kontributor|contributor", re.I)
AUTHOR_MARK = patterns.compile(r"author|penulis|writer|byline|by-line", re.I)
# Blocks about the writer rather than this article's credit: bios and profile cards, "more from
# this author" lists. Their name elements carry the same classes as a byline.
AUTHOR_BOX = patterns.compile(
    r"bio|profil|about-?(?:the-?)?(?:author|writer)|tentang-?penulis|"
    r"(?:author|writer|penulis|reporter|wartawan)-?(?:box|card)|"
    r"more-?(?:from|by|posts|articles|stories)|other-?(?:posts|articles)|artikel-?lain|lainnya",
    re.I,
)
# A sentence of five words or more: a bio or a note under a byline class, not a name.
BIO_SENTENCE = patterns.compile(r"^(?:\S+\s+){4,}\S*[a-z]{2}[.!?]$")
# Ancestors checked for AUTHOR_BOX and for being a teaser of another article.
BOX_DEPTH = 3
# A teaser is a small block (a list item, a card) with a headline link of its own; a link text of
# this many words is a headline, not a name or a "Share" button.
TEASER_MAX_TEXT = 400
HEADLINE_LINK_WORDS = 4
# Links to a person's page; other links (sections, tags) name no writer.
PERSON_HREF = patterns.compile(
    r"author|autor|penulis|reporter|wartawan|writer|profil|user|kontributor", re.I
)
# "Andi Saputra - 3 Maret 2018 20:15 wib": a name, a dash (or bar / bullet), then a date line.
NAME_DATE_LINE = patterns.compile(
    r"^(?P<name>[^\d|\u2022\u00b7]{2,60}?)\s+[-\u2013\u2014|\u2022\u00b7]\s+(?P<date>.*\d.*)$"
)
_NAME_DATE_SEPARATORS = ("-", "\u2013", "\u2014", "|", "\u2022", "\u00b7")
# Words a date line may hold besides numbers, month names and day names: zones, and the words of
# relative stamps ("2 jam yang lalu", "5 minutes ago").
DATE_LINE_WORDS = frozenset(
    {
        "wib", "wita", "wit", "utc", "gmt", "pukul", "am", "pm", "jam", "menit", "detik", "hari",
        "minggu", "bulan", "yang", "lalu", "ago", "hour", "hours", "minute", "minutes", "day",
        "days",
    }
)  # fmt: skip
# Only the form of a relative stamp is checked, so any instant resolves it.
_ANY_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
# Name-date lines are looked for among this many elements after the headline: they sit right
# under it, before the article text.
NAME_DATE_WINDOW = 40
MAX_NAME_DATE_TEXT = 120
# Values CMSs put in author meta/JSON-LD when nobody was credited: an account or a desk, not the
# writer. They count only when the page names nobody else.
PLACEHOLDER_NAMES = frozenset(
    {
        "admin", "administrator", "superadmin", "admin web", "web admin", "webadmin", "adminweb",
        "developer", "dev", "webmaster", "redaksi", "redaktur", "editor", "penulis", "author",
        "wartawan", "reporter", "staff", "staf", "newsroom", "user", "tim redaksi",
    }
)  # fmt: skip
# Company forms: "PT Media Kabar Nusantara" is the outlet's publishing company, never a writer.
COMPANY_NAME = patterns.compile(r"^(?:PT|P\.T\.|CV)\.?\s+\S|\b(?:Tbk|Ltd|Inc|Corp|LLC)\.?$")
# Byline-marked elements compared for distance to the headline (author lists of teasers can be
# long; the article's own byline is among the first).
MAX_STRUCTURE_CANDIDATES = 12
# ...except avatars, images and comment authors.
BYLINE_CLASS_EXCLUDE = patterns.compile(
    r"img|image|avatar|photo|foto|comment|pic|icon|bio|desc", re.I
)
# Meta tags naming the author, best first. article:author is often a profile URL (filtered).
AUTHOR_META = (
    "author",
    "dtk:author",
    "article:author",
    "parsely-author",
    "sailthru.author",
    "dc.creator",
    "byl",
    "cxenseparse:author",
)
# A sign-off line closing the article text: the writer's or agency's name in capitals, bold
# (Tempo's "DINI TEJA", "ANTARA" on en.tempo.co).
SIGNATURE = patterns.compile(r"^[A-Z][A-Z.'\- ]{1,40}[A-Z.]$")
MAX_SIGNATURE_WORDS = 4
# The article text before a sign-off must be this long (a sign-off ends an article, not a teaser).
MIN_SIGNED_TEXT = 400
# A photographer's byline (not a caption's "Foto:" credit): on a photo story it names the author.
PHOTO_BYLINE = patterns.compile(r"\s*(?:fotografer|photographer|pewarta foto)\b", re.I)
# One letter and a dot: an initial, which a given name may end with.
INITIAL = patterns.compile(r"^[A-Za-z]\.$")
SKIP_TEXT_TAGS = frozenset({"script", "style", "noscript", "template", "textarea"})


# Non-blank text nodes (smart strings that know their element), collected in C. One descendant
# step, not `.//text()`: that merges a node-set per element (the same nodes, more slowly).
_TEXT_NODES = etree.XPath("descendant::text()[normalize-space()]")


def _text(el: Any) -> str:
    """Element text with a space between child elements ("By <a>Name</a><p>on 16 Feb</p>")."""
    if not len(el) and isinstance(el.tag, str):
        # Only text nodes below: itertext would yield its .text alone (a sixth of the cost).
        return clean_text(el.text)
    return clean_text(" ".join(el.itertext()))


_container_marks_cache: dict[str, tuple[bool, bool]] = {}


def _container_marks(marks: str) -> tuple[bool, bool]:
    """(foreign, photo): what an ancestor's "class id" marks say (cached: every credit candidate
    asks this of the same ancestors, and the case-blind regexes cost microseconds a call)."""
    found = _container_marks_cache.get(marks)
    if found is None:
        blank = not marks.strip()
        found = (
            not blank and bool(_foreign_container_search(marks)),
            not blank and bool(_photo_container_search(marks)),
        )
        if len(_container_marks_cache) < 50_000:
            _container_marks_cache[marks] = found
    return found


def _in_foreign_container(el: Any, *, photo_too: bool = False) -> bool:
    for anc in el.iterancestors():
        if anc.tag in FOREIGN_TAGS:
            return True
        foreign, photo = _container_marks((anc.get("class") or "") + " " + (anc.get("id") or ""))
        if foreign or (photo_too and photo):
            return True
        if anc.tag in ("body", "article", "main"):
            break
    return False


# Second-level labels of country domains (kompas.co.id, bbc.co.uk): the brand sits before them.
SECOND_LEVEL_LABELS = frozenset({"co", "or", "ac", "go", "web", "my", "sch", "com", "net", "org"})


def _brand(doc: Document) -> str | None:
    """The site's brand token from its host ("kompas" for regional.kompas.com); read once a page
    (every tag asks it)."""
    if "brand" not in doc.cache:
        doc.cache["brand"] = _host_brand(doc)
    return doc.cache["brand"]


def _host_brand(doc: Document) -> str | None:
    url = doc.url or doc.meta_first("og:url") or ""
    host = host_of(url)
    labels = [p for p in host.split(".") if p and p not in ("www", "m")]
    if len(labels) >= 3 and labels[-2] in SECOND_LEVEL_LABELS:
        labels = labels[:-2]
    elif len(labels) >= 2:
        labels = labels[:-1]
    return labels[-1].lower() if labels else None


def _is_publisher(name: str, doc: Document, brand: str | None) -> bool:
    """Whether a name is the site itself ("Kompas Cyber Media", "Liputan6.com")."""
    if TEAM_PREFIX.match(name):
        return False
    if COMPANY_NAME.search(name):
        return True
    squashed = _squash(name)
    if squashed and squashed in _site_names(doc):
        return True
    return bool(brand and len(brand) >= 3 and brand in squashed) or "developer" in squashed


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _site_names(doc: Document) -> frozenset[str]:
    """The site's own names, squashed: og:site_name and the JSON-LD publisher."""
    if "site_names" not in doc.cache:
        names = [doc.meta_first("og:site_name") or ""]
        article = doc.jsonld_article() or {}
        publisher = article.get("publisher")
        if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
            names.append(publisher["name"])
        doc.cache["site_names"] = frozenset(n for n in map(_squash, names) if n)
    return doc.cache["site_names"]


def names_the_site(name: str, doc: Document) -> bool:
    """Whether `name` is the site's own name: og:site_name, the JSON-LD publisher, or the host's
    brand ("NZZ" on nzz.ch), written any way ("Automobilwoche" for "Automobilwoche.de"). Two
    letters are too few to tell ("U.S.", Reuters's og:site_name, against the topic "US")."""
    names = doc.cache.get("site_identity")
    if names is None:
        brand = _brand(doc)
        names = doc.cache["site_identity"] = _site_names(doc) | ({brand} if brand else set())
    if not names:
        return False
    squashed = _squash(name)
    return len(squashed) >= 3 and squashed in names


def _is_placeholder(name: str, doc: Document, brand: str | None) -> bool:
    """An account or desk standing in for a writer ("admin", "Redaksi", "Redaksi Flores Kini")."""
    low = " ".join(name.lower().split())
    if low in PLACEHOLDER_NAMES:
        return True
    for site in (doc.meta_first("og:site_name"), brand):
        if site and len(site) >= 3 and site.lower() in low:
            rest = " ".join(low.replace(site.lower(), " ").split())
            if rest in PLACEHOLDER_NAMES:
                return True
    return False


def _institutional(name: str, doc: Document, brand: str | None) -> bool:
    """A desk, team, account or the site itself: credited as shown only when no person is."""
    return (
        bool(TEAM_PREFIX.match(name))
        or _is_placeholder(name, doc, brand)
        or _is_publisher(name, doc, brand)
    )


class _Credits:
    """Credit lines found in the page, in document order."""

    def __init__(self) -> None:
        self.lines: list[tuple[Any, list[Contributor]]] = []
        self.editors: set[str] = set()


def _credit_context(el: Any, from_tail: bool) -> Any | None:
    """The element whose text is the whole credit line for a label found in el.text / el.tail."""
    ctx = el.getparent() if from_tail else el
    for _ in range(4):
        if ctx is None:
            return None
        text = _text(ctx)
        if len(text) > MAX_CREDIT_TEXT:
            return None
        # Climb while the context is the bare label ("<td>Penulis</td>"): the value is next door.
        m = LABEL_START.match(text)
        if not (m and not text[m.end() :].strip(" :\uff1a")):
            return ctx
        ctx = ctx.getparent()
    return None


def _labelled_credits(doc: Document) -> _Credits:
    credits = _Credits()
    body = page_body(doc)
    if body is None:
        return credits
    seen: set[Any] = set()
    for text in _TEXT_NODES(body):
        # Cheap prefilter (most text nodes are prose) before the regex: a label's first two
        # letters, one set lookup, before startswith's test of every label in turn.
        head = text.lstrip()[:20].lower()
        if (
            head[:2] not in _LABEL_OPENINGS
            or not head.startswith(LABEL_PREFIXES)
            or not LABEL_START.match(text)
        ):
            continue
        el = text.getparent()
        if el is None or (el.tag in SKIP_TEXT_TAGS and not text.is_tail):
            continue
        ctx = _credit_context(el, text.is_tail)
        if ctx is None or ctx in seen:
            continue
        seen.add(ctx)
        if _in_foreign_container(ctx) or ctx.tag in FOREIGN_TAGS:
            continue
        line = _text(ctx)
        if text.strip().lower() in LABEL_ROLES:
            # The label stood alone in its element ("<h6>Penulis</h6><a>Nama</a>"): the value
            # follows it without a colon.
            line = LABEL_NO_COLON.sub(r"\1:", line, count=1)
        # Only what follows a label counts: the context may open with a date or a menu.
        people = parse_byline(line, default_role=None)
        if not people:
            continue
        credits.lines.append((ctx, people))
        credits.editors.update(p.name.lower() for p in people if p.role == "editor")
    return credits


def _jsonld_people(value: Any) -> list[tuple[str, str]]:
    """(name, @type) pairs from a JSON-LD author/creator value."""
    out = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            out.append((item, "Person"))
        elif isinstance(item, dict):
            name = item.get("name")
            kind = item.get("@type") or "Person"
            if isinstance(name, list):
                name = name[0] if name else None
            if isinstance(name, str):
                out.append((name, kind if isinstance(kind, str) else "Person"))
    return out


def _from_jsonld(doc: Document, editors: set[str], brand: str | None) -> list[Contributor]:
    article = doc.jsonld_article()
    if not article:
        return []
    out: list[Contributor] = []
    for name, kind in _jsonld_people(article.get("author")):
        name = clean_text(unescaped(name))
        if "://" in name or name.lower() in editors:
            continue
        if (kind.lower() == "organization" and _is_publisher(name, doc, brand)) or (
            COMPANY_NAME.search(name) or _squash(name) in _site_names(doc)
        ):
            continue  # the outlet or its company, whatever @type says
        for person in parse_byline(name):
            if person.name.lower() not in editors:
                out.append(person)
    return out


def _structure_role(el: Any) -> str:
    marks = f"{el.tag} {el.get('class') or ''}"
    return "reporter" if REPORTER_MARK.search(marks) and not AUTHOR_MARK.search(marks) else "author"


def _in_author_box(el: Any) -> bool:
    for depth, anc in enumerate(el.iterancestors()):
        if depth >= BOX_DEPTH or anc.tag in ("body", "article", "main"):
            return False
        marks = f"{anc.get('class') or ''} {anc.get('id') or ''}"
        if marks.strip() and AUTHOR_BOX.search(marks):
            return True
    return False


def _in_teaser(el: Any, headline: Any | None) -> bool:
    """Inside a teaser of another article: a small block holding a headline link of its own
    (a "more from this author" or "popular" list item), not the block of this page's headline."""
    around_headline = set(headline.iterancestors()) if headline is not None else set()
    inside = set(el.iter())
    for depth, anc in enumerate(el.iterancestors()):
        if depth >= BOX_DEPTH or anc.tag in ("body", "article", "main") or anc in around_headline:
            return False
        if len(_text(anc)) > TEASER_MAX_TEXT:
            return False
        for link in anc.iter("a"):
            if link not in inside and len(_text(link).split()) >= HEADLINE_LINK_WORDS:
                return True
    return False


def _inside(el: Any, ancestor: Any) -> bool:
    return any(anc is ancestor for anc in el.iterancestors())


def _byline_marked(doc: Document, body: Any) -> list[Any]:
    """The elements under <body> with a byline-like class (BYLINE_CLASS_HINTS) or marked as the
    author by microdata or a link relation (itemprop/rel=author), in document order."""
    by_class = [
        el
        for el in classed_matching(doc, _BYLINE_HINT)
        if (cls := el.get("class")) and any(hint in cls for hint in BYLINE_CLASS_HINTS)
    ]
    by_attribute = [
        el
        for el in attributed_elements(doc)
        if el.get("itemprop") == "author" or el.get("rel") == "author"
    ]
    chosen = set(by_class)
    extra = [el for el in by_attribute if el not in chosen]
    marked = [el for el in by_class + extra if _inside(el, body)]
    if by_class and extra:
        position = body_positions(doc)
        marked.sort(key=position.__getitem__)
    return marked


def _marked_bylines(doc: Document, editors: set[str]) -> list[tuple[Any, list[Contributor]]]:
    """Byline elements by markup (itemprop=author, rel=author, byline/author/reporter classes,
    `<author>` tags), in document order."""
    body = page_body(doc)
    if body is None:
        return []
    headline = find_headline(doc)
    found: list[tuple[Any, list[Contributor]]] = []
    for el in [*body.iter(*BYLINE_TAGS), *_byline_marked(doc, body)]:
        if el.tag in SKIP_TEXT_TAGS or el.tag in ("meta", "link", "img"):
            continue
        marks = el.get("class") or ""
        explicit = el.get("itemprop") == "author" or el.get("rel") == "author"
        is_byline = (
            explicit
            or el.tag in BYLINE_TAGS
            or (BYLINE_CLASS.search(marks) and not BYLINE_CLASS_EXCLUDE.search(marks))
        )
        if not is_byline:
            continue
        if el.get("itemprop") == "author":
            name_el = next((c for c in el.iter() if c.get("itemprop") == "name"), None)
            if name_el is not None:
                el = name_el
        text = el.get("content") if el.tag == "meta" else _text(el)
        if not text or len(text) > MAX_CREDIT_TEXT or _in_foreign_container(el, photo_too=True):
            continue
        if not explicit and (_in_author_box(el) or _in_teaser(el, headline)):
            continue
        if not explicit and BIO_SENTENCE.search(text):
            continue  # "Rina Wulandari adalah wartawan ... sejak 2015.": a bio, not a byline
        role = _structure_role(el)
        people = [p for p in parse_byline(text, default_role=role) if p.name.lower() not in editors]
        if any(p.role in WRITER_ROLES for p in people):
            found.append((el, people))
            if len(found) >= MAX_STRUCTURE_CANDIDATES:
                break
    return found


def _only_a_date(text: str) -> bool:
    """Nothing but a date and time ("3 Maret 2018 20:15 wib", "Senin, 03/07/2023 | 10:15")."""
    for word in re.findall(r"[^\W\d_]+", text.lower()):
        if word not in MONTHS and word not in DATE_LINE_WORDS and not DAY_NAMES.fullmatch(word):
            return False
    return parse_date_parts(text, fetched_at=_ANY_INSTANT) is not None


def _short_text(el: Any, limit: int) -> str | None:
    """The element's text, or None as soon as it runs past `limit` characters (the containers
    after a headline can hold the whole article: no need to join it to know it is too long)."""
    if not len(el) and isinstance(el.tag, str):
        # Only text nodes below: their text is .text, what itertext would yield alone.
        raw = el.text or ""
        if len(raw) > 2 * limit:
            return None
        text = clean_text(raw)
        return text if len(text) <= limit else None
    parts: list[str] = []
    size = 0
    for piece in el.itertext():
        size += len(piece)
        if size > 2 * limit:  # raw text still holds the markup's whitespace
            return None
        parts.append(piece)
    text = clean_text(" ".join(parts))
    return text if len(text) <= limit else None


def name_date_byline(text: str) -> str | None:
    """The name in a "Name - date" line ("Andi Saputra - 3 Maret 2018 20:15 wib" -> "Andi
    Saputra"), or None when the text is not one: the part after the dash must be nothing but a
    date, the part before it a capitalised name rather than a dateline city ("JAKARTA - ...")."""
    if not text or len(text) > MAX_NAME_DATE_TEXT:
        return None
    # Every such line holds one of the separators: a line without is not matched (the regex
    # tries each name length up to 60 characters).
    if not any(map(text.__contains__, _NAME_DATE_SEPARATORS)):
        return None
    m = NAME_DATE_LINE.match(text)
    if not m or not _only_a_date(m.group("date")):
        return None
    name = m.group("name").strip()
    if (name.isupper() and len(name.split()) == 1) or not _capitalised_name(name):
        return None
    return name


def _names_a_section(doc: Document, name: str, line: Any) -> bool:
    """Whether a link elsewhere on the page shows `name` and leads to no person's page: a section
    or tag ("Ekonomi - 3 Maret 2018"), not a writer."""
    body = page_body(doc)
    low = name.lower()
    inside = set(line.iter())
    for link in body.iter("a") if body is not None else ():
        if link not in inside and _text(link).lower() == low and not _is_person_link(link):
            return True
    return False


def _name_date_lines(
    doc: Document, editors: set[str], brand: str | None
) -> list[tuple[Any, list[Contributor]]]:
    """ "Andi Saputra - 3 Maret 2018 20:15 wib" under the headline: the writer, then the date."""
    headline = find_headline(doc)
    if headline is None:
        return []
    # Window elements whose (short) text holds no separator. A child's text is made of some of
    # its parent's text pieces: it holds none either and is no name-date line, told without
    # reading it (most of the window nests in a few of its elements).
    unseparated: set[Any] = set()
    for el in elements_after(doc, headline, NAME_DATE_WINDOW):
        if el.tag in SKIP_TEXT_TAGS:
            continue
        if unseparated and el.getparent() in unseparated:
            unseparated.add(el)
            continue
        text = _short_text(el, MAX_NAME_DATE_TEXT)
        if text is not None and not any(map(text.__contains__, _NAME_DATE_SEPARATORS)):
            unseparated.add(el)
            continue
        name = name_date_byline(text) if text else None
        if name is None:
            continue
        people = [p for p in parse_byline(name) if p.name.lower() not in editors]
        if not people or not all(_capitalised_name(p.name) for p in people):
            continue
        if any(
            _is_publisher(p.name, doc, brand) or _names_a_section(doc, p.name, el) for p in people
        ):
            continue  # "Kompas.com - 03/07/2023": the site's stamp; "Ekonomi - ...": a section
        return [(el, people)]
    return []


def _from_visible(
    doc: Document, editors: set[str], brand: str | None
) -> tuple[tuple[Any, list[Contributor]] | None, tuple[Any, list[Contributor]] | None]:
    """Unlabelled visible bylines (byline markup, name-date lines): the one naming a person
    nearest the headline, and apart from it the nearest naming only a desk, team or the site."""
    candidates = _marked_bylines(doc, editors) + _name_date_lines(doc, editors, brand)
    persons, institutions = [], []
    for el, people in candidates:
        if all(_institutional(p.name, doc, brand) for p in people if p.role in WRITER_ROLES):
            institutions.append((el, people))
        else:
            persons.append((el, people))
    return (
        _closest_to_headline(doc, persons) if persons else None,
        _closest_to_headline(doc, institutions) if institutions else None,
    )


def _from_meta(
    doc: Document, editors: set[str], brand: str | None
) -> tuple[list[Contributor], list[Contributor]]:
    """Writers from author meta tags, and apart from them the first placeholder account found
    ("admin", "redaksi"), which counts only when nothing else names anyone."""
    placeholder: list[Contributor] = []
    for name in AUTHOR_META:
        for value in doc.meta.get(name, ()):
            value = clean_text(unescaped(value))
            if not value or "://" in value or value.startswith("@"):
                continue
            if re.fullmatch(r"[a-z]{1,4}", value):
                continue  # staff initials ("bgs")
            if _looks_like_outlet(value) or _is_publisher(value, doc, brand):
                continue  # the site itself ("Liputan6.com", "Kompas Cyber Media")
            people = [
                p
                for p in parse_byline(value)
                if p.name.lower() not in editors and not _is_publisher(p.name, doc, brand)
            ]
            if people and all(_is_placeholder(p.name, doc, brand) for p in people):
                placeholder = placeholder or people
            elif people:
                return people, placeholder
    return [], placeholder


# A desk code closes a paragraph of article text, not a caption or a one-line teaser.
MIN_DESK_CODED_TEXT = 40


def _from_signature(doc: Document) -> list[Contributor]:
    """A capitalised bold sign-off ending the article text, or a wire desk code closing it."""
    body = page_body(doc)
    if body is None:
        return []
    for el in body.iter("strong", "b"):
        text = clean_text(text_content(el))
        if not SIGNATURE.match(text) or len(text.split()) > MAX_SIGNATURE_WORDS:
            continue
        if (el.tail or "").strip():
            continue
        block = el.getparent()
        # The sign-off closes its paragraph, and that paragraph closes a long article text.
        while block is not None and block.tag not in ("div", "article", "section", "td", "body"):
            block = block.getparent()
        if block is None:
            continue
        block_text = clean_text(text_content(block))
        if len(block_text) < MIN_SIGNED_TEXT or not block_text.endswith(text):
            continue
        return parse_byline(text)
    for el in body.iter("p", "div"):
        tail_text = (el.text or "") if len(el) == 0 else ""
        if len(tail_text) <= MIN_DESK_CODED_TEXT:
            continue  # too short to close an article (asked before the regex: most are)
        m = DESK_CODE.search(tail_text.strip())
        if m:
            agency = AGENCY_CODES.get(m.group(1).lower())
            if agency:
                return [Contributor(agency, "agency")]
    return []


def _closest_to_headline(
    doc: Document, lines: list[tuple[Any, list[Contributor]]]
) -> tuple[Any, list[Contributor]]:
    if len(lines) == 1:
        return lines[0]
    headline = find_headline(doc)
    body = page_body(doc)
    if headline is None or body is None:
        return lines[0]
    position = body_positions(doc)
    center = position.get(headline, 0)

    def distance(line: tuple[Any, list[Contributor]]) -> float:
        offset = position.get(line[0], 0) - center
        return offset if offset >= 0 else -2.0 * offset

    return min(lines, key=distance)


def _is_person_link(el: Any) -> bool:
    return el.tag == "a" and PERSON_HREF.search(el.get("href") or "") is not None


def _is_name_element(el: Any) -> bool:
    """Marked as holding a credited name: microdata, a link relation, a byline class or tag, a
    link to a person's page."""
    if el.get("itemprop") in ("author", "name") or el.get("rel") == "author":
        return True
    if el.tag in BYLINE_TAGS or _is_person_link(el):
        return True
    marks = el.get("class")
    return bool(marks and BYLINE_CLASS.search(marks) and not BYLINE_CLASS_EXCLUDE.search(marks))


def _cut_at_name_elements(people: list[Contributor], block: Any) -> list[Contributor]:
    """Names that run past the end of the element marked as holding them, cut there.

    A byline block's text joins its elements, so the name in `<span class="author">` and the
    outlet in the next element read as one name ("Trevor J. Mitchell Sioux Falls Argus Leader",
    "KENNETH P. VOGEL The New York Times" from `<span itemprop="name">` then `<div
    class="title">`). A name that begins with the last words of a name element's text ends where
    that element ends. A head of one word, or ending in an initial, is left whole: given and
    family names in elements of their own ("<span>Trevor J.</span> <span>Mitchell</span>");
    except a link to a person's page, whose one word is the whole name ("Erstellt von <a
    href="/author/fabian/">Fabian</a> am Dienstag 6. Mai 2014").
    """
    ends: list[tuple[list[str], int]] | None = None
    out = []
    for person in people:
        words = person.name.split()
        if len(words) > 2:
            if ends is None:
                ends = []
                for el in block.iterdescendants():
                    if not isinstance(el.tag, str) or not _is_name_element(el):
                        continue
                    words_in = _text(el).split()
                    if len(words_in) > 1:
                        ends.append((words_in, 2))
                    elif words_in and _is_person_link(el):
                        ends.append((words_in, 1))
            for end, shortest in ends:
                k = next(
                    (
                        k
                        for k in range(min(len(end), len(words) - 1), shortest - 1, -1)
                        if words[:k] == end[-k:]
                    ),
                    0,
                )
                if k and not INITIAL.match(words[k - 1]):
                    person = Contributor(" ".join(words[:k]), person.role)
                    break
        out.append(person)
    return out


def _strip_affiliation(person: Contributor, doc: Document, brand: str | None) -> Contributor:
    """ "Kevin McCoy USA TODAY", "Tom Davies Associated Press": a person's name followed by the
    outlet or agency they write for (printed in the same byline block) -> the person."""
    words = person.name.split()
    for k in (3, 2, 1):
        if len(words) - k < 2:
            continue
        tail = " ".join(words[-k:])
        if tail.lower() in AGENCIES or _is_publisher(tail, doc, brand):
            return Contributor(
                " ".join(words[:-k]), person.role if person.role != "agency" else "author"
            )
    return person


def find_contributors(
    doc: Document, *, selectors: dict[str, tuple[str, ...]]
) -> tuple[list[Contributor], str | None]:
    """Credited people and their roles, and where the writers came from.

    Writers come from the first source that names any, in this order: the profile's `authors`
    selectors; a labelled credit line on the page (`Oleh:`, `Penulis :`, `Pewarta:`, `By`; the
    one nearest the headline when several); JSON-LD author; unlabelled visible bylines, the one
    nearest the headline (itemprop/rel=author, author/byline/reporter/writer/wartawan classes,
    `<author>`-like tags, a `Name - date` line under the headline); meta author (not URLs,
    handles, initials or the site's own name); a capitalised sign-off or wire desk code closing
    the text. Anyone credited as editor on the page is never a writer (JSON-LD `author` is often
    the editor). A page whose only credit is a photographer's byline (a photo story) has the
    photographer as its author.

    The outlet (og:site_name, JSON-LD publisher, the host's brand, a "PT ..." company) is never
    taken from JSON-LD/meta as a writer. Placeholder accounts there ("admin", "redaksi",
    "webmaster") and visible bylines naming only a desk, team or the site count only when the
    page names no person; next to a person, a desk or the site is not a second writer.
    """
    credits = _labelled_credits(doc)
    editors = credits.editors
    extras = [p for _, people in credits.lines for p in people if p.role not in WRITER_ROLES]
    brand = _brand(doc)

    writers: list[Contributor] = []
    source: str | None = None
    for text in profile_texts(doc, selectors, "authors"):
        writers.extend(p for p in parse_byline(text) if p.name.lower() not in editors)
    if writers:
        source = "profile"
    if not writers:
        lines = [(el, ps) for el, ps in credits.lines if any(p.role in WRITER_ROLES for p in ps)]
        if lines:
            block, people = _closest_to_headline(doc, lines)
            writers = [p for p in _cut_at_name_elements(people, block) if p.role in WRITER_ROLES]
            source = "byline"
    # Placeholder accounts in JSON-LD/meta ("admin", "Redaksi") and bylines naming only a desk or
    # the site yield to any person named elsewhere; they are used, in this order, only when the
    # page names nobody else.
    fallbacks: list[tuple[list[Contributor], list[Contributor], str]] = []
    if not writers:
        people = _from_jsonld(doc, editors, brand)
        if people and all(_is_placeholder(p.name, doc, brand) for p in people):
            fallbacks.append((people, [], "json-ld"))
        elif people:
            writers, source = people, "json-ld"
    if not writers:
        person, institution = _from_visible(doc, editors, brand)
        if person is not None:
            writers = [
                p for p in _cut_at_name_elements(person[1], person[0]) if p.role in WRITER_ROLES
            ]
            extras.extend(p for p in person[1] if p.role not in WRITER_ROLES)
            source = "byline"
        elif institution is not None:
            people = institution[1]
            fallbacks.insert(
                0,
                (
                    [p for p in people if p.role in WRITER_ROLES],
                    [p for p in people if p.role not in WRITER_ROLES],
                    "byline",
                ),
            )
    if not writers:
        people, placeholder = _from_meta(doc, editors, brand)
        writers = [p for p in people if p.role in WRITER_ROLES]
        source = "meta" if writers else None
        if placeholder:
            fallbacks.append(([p for p in placeholder if p.role in WRITER_ROLES], [], "meta"))
    if not writers:
        writers = [p for p in _from_signature(doc) if p.role in WRITER_ROLES]
        source = "byline" if writers else None
    if not writers:
        photographers = [
            p
            for el, people in credits.lines
            for p in people
            if p.role == "photographer" and PHOTO_BYLINE.match(_text(el))
        ]
        if photographers:
            writers = [Contributor(p.name, "author") for p in photographers]
            source = "byline"

    if not writers and fallbacks:
        writers, more, source = fallbacks[0]
        extras.extend(more)

    writers = [_strip_affiliation(p, doc, brand) for p in writers]
    if len(writers) > 1:
        # "Jill Disis, CNN Business", "Tim Redaksi, Andi Saputra": the site's own name or a desk
        # next to a person is not a second writer.
        people = [
            p for p in writers if p.role == "agency" or not _institutional(p.name, doc, brand)
        ]
        writers = people or writers
    out: list[Contributor] = []
    seen: set[tuple[str, str]] = set()
    for person in writers + extras:
        key = (person.name.lower(), person.role)
        if key not in seen:
            seen.add(key)
            out.append(person)
    return out, source
