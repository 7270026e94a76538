"""What a user writes that newsarchive must take or refuse in one line: run plans, site profiles,
command-line options and environment variables, mutated at random.

    python benchmarks/fuzz_config.py --seconds 600 --seed 1

Each case starts from a sound input (a plan crawling the demo portal, a profile with every
section, a command line of each command) and mutates it: wrong types at every key, unknown and
missing keys, duplicate keys and tables, broken TOML, huge, negative, zero, NaN and infinite
numbers, empty strings, non-ASCII and control characters, bad regexes and CSS selectors, bad
URLs, time zones and intervals, a BOM, UTF-16 and bytes that are no UTF-8; paths that are a
directory, a FIFO, a symlink loop, too long, empty, under a missing directory, or hold a line
break or a `%`. It runs the command in a directory of its own beside a copy of a small sound
archive (crawled once from the demo portal on 127.0.0.1, which every crawl here talks to and
nothing else). Plans go to `schedule`, `health --plan` and sometimes `run`; profiles to
`crawl`; options to the command they belong to. A case fails on: a traceback; no end within
CASE_SECONDS (CRAWL_SECONDS for a command that may crawl); an exit status other than 0, 1 or 2;
an error of more than one line (click's usage block counts as one), or one that names none of
the file, key, option or value; for `schedule`, output that cron or systemd would read as
something else; exit 1 without an `Error:` line; exit 0 where a mutation made the input wrong
in a way the code can know; a profile the crawl refuses only after fetching; the archive's
files changed by a command that failed, or an article of it gone. The first case of each kind
of failure is written to --out (the files, the command line, the output).

Not a test (random, minutes long): a search for what the tests do not think of. Found by the
first runs (2026-12-06; tests/unit/test_config_fuzz_found.py): tracebacks from an interval past
timedelta's range (`every = "99999999999999999999w"`), a NUL byte in a plan's `db` or `site`, a
time zone offset of a day or more, a regex repetition past 2**32-1, a CSS selector holding a
control character or nested deep, `-s LOG_LEVEL=LOUD`, a `--db` or `--plan` that is a symlink
loop, too long or empty; hangs on a FIFO given as any file, and on a concurrency of 0 or a
delay of inf taken from `-s`, a plan or a profile; silent wrong runs from NaN, inf and negative
settings, `+07:99`, an impossible `valid_until`, a `javascript:` start URL or feed, a selector
with an undeclared namespace, `revisit_hours = [inf]`, NaN seconds for progress and waits, a
site name holding a line break (`import --site`, `crawl --name`), and `schedule` lines that cron
and systemd read otherwise (a `%` or a line break in the plan's path).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import json
import math
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsarchive.demo import DemoServer

CLI = [sys.executable, "-m", "newsarchive"]
# A validation error takes under a second, a command reading the small archive a few; a crawl
# of the demo portal capped at a few pages about ten. Past these a case hangs.
CASE_SECONDS = 20
CRAWL_SECONDS = 90
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]
FAST += ["-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"]
CONTACT = "https://lab.example/newsarchive-fuzz"
ARCHIVE_FILES = ("archive.db", "pages.db")
# What the user wrote is wrong: every command reading it can know (BAD); only a command that
# uses it can (RUN_BAD: an archive path that is a directory, a profile that is missing); a
# value that is fine (OK); or one the fuzzer has no opinion on (None).
OK, BAD, RUN_BAD = "ok", "bad", "run-bad"
# The one Error line of click and of our commands; a usage block around click's is allowed.
CLICK_LINES = re.compile(r"^(Usage: |Try '|Error: |\s*$)")

Pool = list[tuple[Any, str | None]]

SELECTOR_POOL: Pool = [
    (["h1"], OK),
    ("h1.title", OK),
    (["h1["], BAD),
    (["a[b='\x01']"], BAD),
    (["ns|a"], BAD),  # compiles, but no page can be searched with an undeclared namespace
    (["::before"], BAD),
    ([""], BAD),
    ([5], BAD),
    ("//h1", BAD),
    (["h1", "div.x > p:nth-child(2n+1)"], OK),
    (["h1:nth-child(99999999999999999999n)"], None),
    (["p" + ":not(.x)" * 500], None),
    # Arabic-Indic digits: CSS lets any non-ASCII code point start a name (only ASCII digits
    # cannot), so this is a valid type selector that matches nothing, like a mistyped class.
    (["\u0663\u0664"], OK),
    ({"css": "h1"}, BAD),
]
REGEX_POOL: Pool = [
    (["^/x/"], OK),
    ("^/x/", OK),
    (["("], BAD),
    (["a{4294967296}"], BAD),
    (["a**"], BAD),
    ([""], BAD),
    (["(?i)^/X"], OK),
    (["x{1,99999}"], None),
    (["(" * 300 + ")" * 300], None),
    ([1], BAD),
    (["\\"], BAD),
    (["[\ud800]"], BAD),
]
START_URL_POOL: Pool = [
    (["/"], OK),
    ("/", OK),
    (["ftp://127.0.0.1/"], BAD),
    (["javascript:alert(1)"], BAD),
    (["http://[::1/"], BAD),
    (["http://127.0.0.1:99999/"], BAD),
    ([5], BAD),
    ([""], BAD),
    (["/\x00"], None),
    (["/\u00e9t\u00e9/"], OK),
]
NUMBER_BAD: Pool = [
    (-1, BAD),
    (math.nan, BAD),
    (math.inf, BAD),
    (-math.inf, BAD),
    ("1", BAD),
    (True, BAD),
    ([1], BAD),
    (1e308, None),
]
WHOLE_BAD: Pool = [(1.5, BAD), (0.0, BAD), (2**63 - 1, None), *NUMBER_BAD]
SETTINGS_POOL: Pool = [
    ({"DOWNLOAD_DELAY": 0}, OK),
    ({"DOWNLOAD_DELAY": -1}, BAD),
    ({"DOWNLOAD_DELAY": math.nan}, BAD),
    ({"DOWNLOAD_DELAY": math.inf}, BAD),
    ({"DOWNLOAD_DELAY": "abc"}, BAD),
    ({"DOWNLOAD_DELAY": [1]}, BAD),
    ({"DOWNLOAD_DELY": 1}, BAD),
    ({"CONCURRENT_REQUESTS": 0}, BAD),
    ({"CONCURRENT_REQUESTS_PER_DOMAIN": 0}, BAD),
    ({"CONCURRENT_REQUESTS_PER_DOMAIN": -3}, BAD),
    ({"ROBOTSTXT_OBEY": "maybe"}, BAD),
    ({"USER_AGENT": "a\nb"}, BAD),
    ({"": 1}, BAD),
    ({"DEPTH_LIMIT": "deep"}, BAD),
    ({"ITEM_PIPELINES": "x"}, BAD),
    ({"LOG_LEVEL": "LOUD"}, BAD),
    ({"DOWNLOAD_TIMEOUT": 0}, None),
    ({"NEWSARCHIVE_PLAN_ENTRY": "x"}, None),
    ({"CLOSESPIDER_PAGECOUNT": 2**63 - 1}, None),
    ({"MY_EXTENSION_SETTING": "x"}, OK),
    ("DOWNLOAD_DELAY=2", BAD),
    ([1, 2], BAD),
]
WRONG_TYPES: Pool = [
    (5, BAD),
    ("x", BAD),
    (True, BAD),
    ([], BAD),
    ({}, BAD),
    (1.5, BAD),
    (["a", 1], BAD),
]


def plan_pools(server: str) -> dict[str, Pool]:
    """Values for each key of a plan (`sites.X` for an entry's), each with whether it is wrong."""
    return {
        "db": [
            ("arch/archive.db", OK),
            ("", BAD),
            ("  ", BAD),
            (5, BAD),
            ("arch", RUN_BAD),
            ("fifo", RUN_BAD),
            ("notes.txt", RUN_BAD),
            ("/dev/null", RUN_BAD),
            ("x" * 300 + ".db", RUN_BAD),
            ("loop/archive.db", RUN_BAD),
            ("arch/a\x00b.db", BAD),
            ("new/deeper/archive.db", None),
            ("arch/line\nbreak.db", None),
            ("~/archive.db", None),
        ],
        "contact": [
            (CONTACT, OK),
            ("lab@example.org", OK),
            ("", BAD),
            ("not a url", BAD),
            ("https://lab.example/\nX-Evil: 1", BAD),
            ("http://[::1/", BAD),
            (5, BAD),
            ("\u202ehttps://lab.example/", BAD),
        ],
        "jobs": [(1, OK), (3, OK), (0, BAD), (-1, BAD), *WHOLE_BAD],
        "settings": SETTINGS_POOL,
        "sites.name": [
            ("demo", OK),
            ("", BAD),
            ("a b", BAD),
            ("\u00e9", BAD),
            (5, BAD),
            ("-x", BAD),
            ("../x", BAD),
            ("a\n", BAD),
            ("x" * 300, None),
        ],
        "sites.site": [
            ("demo", OK),
            (server, OK),
            ("fz.toml", OK),
            ("", BAD),
            (5, BAD),
            ("nosuch", RUN_BAD),
            ("nosuch.toml", RUN_BAD),
            ("badprofile.toml", RUN_BAD),
            ("arch/", RUN_BAD),
            ("fifo.toml", RUN_BAD),
            ("http://127.0.0.1:99999/", BAD),
            ("ftp://127.0.0.1/", BAD),
            ("http:/127.0.0.1", RUN_BAD),
            (server.removeprefix("http://"), RUN_BAD),
            ("http://[::1/", BAD),
            ("a\x00b.toml", BAD),
            ("demo\n", None),
        ],
        "sites.every": [
            ("6h", OK),
            ("1d 12h", OK),
            ("6H", OK),
            ("0s", BAD),
            ("4m", BAD),
            ("1x", BAD),
            ("", BAD),
            (6, BAD),
            ("99999999999999999999w", BAD),
            ("-6h", BAD),
            ("nan", BAD),
            ("\u0666h", None),
            ("6h\n", None),
        ],
        "sites.since": [
            ("2020-01-01", OK),
            ("2024-13-45", BAD),
            ("", BAD),
            ("yesterday", BAD),
            ("2024-01-01T25:00", BAD),
            (5, BAD),
            ("9999-12-31", None),
            ("0001-01-01", None),
        ],
        "sites.max_pages": [(5, OK), (0, BAD), *WHOLE_BAD],
        "sites.base_url": [
            (server, OK),
            ("", BAD),
            (server.removeprefix("http://"), BAD),
            ("ftp://127.0.0.1/", BAD),
            ("http://[::1/", BAD),
            ("http://127.0.0.1:99999/", BAD),
            ("javascript:x", BAD),
            (5, BAD),
        ],
        "sites.settings": SETTINGS_POOL,
    }


PROFILE_POOLS: dict[str, Pool] = {
    "name": [
        ("fz", OK),
        ("FZ", BAD),
        ("", BAD),
        ("a b", BAD),
        (5, BAD),
        ("\u00e9", BAD),
        ("-a", BAD),
    ],
    "domains": [
        (["fz.example"], OK),
        (["127.0.0.1"], OK),
        ([], OK),
        ("fz.example", BAD),
        ([""], BAD),
        (["a b"], BAD),
        (["http://fz.example"], BAD),
        ([5], BAD),
        (["\u00e9.example"], None),
    ],
    "timezone": [
        ("WIB", OK),
        ("+07:00", OK),
        ("-23:59", OK),
        ("+99:00", BAD),
        ("+24:00", BAD),
        ("-24", BAD),
        ("+07:99", BAD),
        ("Asia/Jakarta", None),
        ("", BAD),
        (7, BAD),
        ("UTC", None),
    ],
    "language": [("id", OK), (5, BAD), ("", None)],
    "selectors.title": SELECTOR_POOL,
    "selectors.body": SELECTOR_POOL,
    "selectors.published": SELECTOR_POOL,
    "chrome.remove": SELECTOR_POOL,
    "chrome.insert_labels": [(["Baca juga"], OK), (5, BAD), ([""], BAD), ([None], None)],
    "layouts.valid_until": [
        ("2024-01-01", OK),
        ("2024-13-45", BAD),
        (20240101, BAD),
        ("", BAD),
        ("01/02/2024", BAD),
    ],
    "layouts.selectors": [({"title": ["h1"]}, OK), ({"titel": ["h1"]}, BAD), ("h1", BAD)],
    "crawl.start_urls": START_URL_POOL,
    "crawl.sitemaps": START_URL_POOL,
    "crawl.feeds": START_URL_POOL,
    "crawl.article_patterns": REGEX_POOL,
    "crawl.category_patterns": REGEX_POOL,
    "crawl.deny_patterns": REGEX_POOL,
    "crawl.pagination_patterns": REGEX_POOL,
    "crawl.max_listing_depth": [(1, OK), (0, OK), *WHOLE_BAD],
    "crawl.download_delay": [(0, OK), (0.5, OK), *NUMBER_BAD],
    "crawl.concurrent_requests_per_domain": [(8, OK), (0, BAD), *WHOLE_BAD],
    "crawl.revisit_hours": [
        ([1, 6], OK),
        ([0], BAD),
        ([math.inf], BAD),
        ([math.nan], BAD),
        ([1e300], BAD),
        ("1", BAD),
        ([-1], BAD),
        ([], None),
    ],
}
# Keys a user may misspell, for unknown-key mutations.
NEAR_MISSES = ["max_page", "Every", "site ", "selector", "timezon", "start_url", "\u00e9", ""]


@dataclass
class Case:
    kind: str
    command: list[str]
    labels: list[str] = field(default_factory=list)  # what was mutated, for the report
    wrong: str | None = OK  # BAD, RUN_BAD, OK or None: see the constants
    files: dict[str, bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    where: list[str] = field(default_factory=list)  # what its Error line may name
    may_crawl: bool = False
    output: str = ""  # the command's exit status and output, once run


def worse(a: str | None, b: str | None) -> str | None:
    """The verdict of two mutations together: wrong when either is, unknown before fine."""
    for verdict in (BAD, RUN_BAD, None):
        if verdict in (a, b):
            return verdict
    return OK


# --- TOML written by hand: what the mutations make is often no TOML a writer would produce.


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if value is None:
        return '""'
    raise TypeError(value)


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def toml_document(doc: dict[str, Any]) -> str:
    lines = []
    tables = []
    for key, value in doc.items():
        if isinstance(value, dict):
            tables.append((f"[{toml_key(key)}]", value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables.extend((f"[[{toml_key(key)}]]", v) for v in value)
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for header, table in tables:
        lines += ["", header]
        lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


# --- Mutations


def mutate_doc(doc: dict[str, Any], pools: dict[str, Pool], rng: random.Random, case: Case) -> None:
    """One mutation of a plan or profile held as a dict: a value from a key's pool, a wrong
    type, an unknown key, a key taken out."""
    key = rng.choice(sorted(pools))
    if any(label.startswith(key) for label in case.labels):
        return  # a second value would hide what the first one made of the input
    section, _, name = key.rpartition(".")
    table = _table(doc, section, rng)
    kind = rng.random()
    if table is None:
        return
    if kind < 0.6:
        value, verdict = rng.choice(pools[key])
        table[name] = value
        case.labels.append(f"{key}={value!r}"[:120])
        if isinstance(value, str) and value.strip():
            case.where.append(value.strip()[:30])
    elif kind < 0.75:
        value, verdict = rng.choice(WRONG_TYPES)
        if type(value) in (type(table.get(name)), type(pools[key][0][0])):
            verdict = None  # the right type after all (a list for a list)
        if name == "settings" or key.endswith(("_patterns", "start_urls", "sitemaps", "feeds")):
            verdict = verdict if not isinstance(value, str) else None  # a string is a list of one
        if key.startswith(("selectors.", "chrome.")) and isinstance(value, str):
            verdict = None
        table[name] = value
        case.labels.append(f"{key} wrong type {value!r}")
    elif kind < 0.88:
        unknown = rng.choice([*NEAR_MISSES, name + "s", name.upper()])
        if unknown in table or unknown == name:
            return
        table[unknown] = 1
        verdict = BAD
        case.labels.append(f"unknown key {section + '.' if section else ''}{unknown!r}")
        case.where.append(unknown.strip() or '""')
    else:
        if name not in table:
            return
        del table[name]
        required = case.kind == "plan" and key in ("sites.name", "sites.site", "sites.every")
        verdict = BAD if required else OK
        case.labels.append(f"{key} left out")
    case.wrong = worse(case.wrong, verdict)
    case.where.append(name)


def _table(doc: dict[str, Any], section: str, rng: random.Random) -> dict[str, Any] | None:
    if not section:
        return doc
    value = doc.setdefault(section, {} if section not in ("sites", "layouts") else [{}])
    if isinstance(value, list):
        tables = [v for v in value if isinstance(v, dict)]
        return rng.choice(tables) if tables else None
    return value if isinstance(value, dict) else None


def mutate_text(text: str, rng: random.Random, case: Case) -> bytes:
    """A mutation of the file's text or bytes; whether it is still TOML is tomllib's word."""
    lines = text.splitlines(keepends=True)
    kind = rng.randrange(11)
    if kind == 0:  # a key line twice
        at = rng.choice([i for i, line in enumerate(lines) if " = " in line] or [0])
        lines.insert(at + 1, lines[at])
        case.labels.append("a key written twice")
    elif kind == 1:  # a table twice
        headers = [line for line in lines if line.startswith("[") and not line.startswith("[[")]
        if headers:
            lines.append("\n" + rng.choice(headers))
        case.labels.append("a table written twice")
    elif kind == 2:
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(["=", "[", '"', "]]", "\\", "{", "'''", "\n=\n"]) + text[at:]
        lines = [text]
        case.labels.append("a character inserted")
    elif kind == 3:
        at = rng.randrange(len(text) + 1)
        lines = [text[: max(0, at - rng.randint(1, 5))] + text[at:]]
        case.labels.append("characters cut")
    elif kind == 4:
        lines = [text[: rng.randrange(len(text) + 1)]]
        case.labels.append("the file cut short")
    elif kind == 5:
        lines = ["\ufeff" + text]
        case.labels.append("a UTF-8 BOM")
    elif kind == 6:
        lines = [text.replace("\n", "\r\n")]
        case.labels.append("CRLF line ends")
    data = "".join(lines).encode("utf-8", "surrogatepass")
    if kind == 7:
        data = "".join(lines).encode("utf-16", "surrogatepass")
        case.labels.append("UTF-16")
    elif kind == 8:
        at = rng.randrange(len(data) + 1)
        data = data[:at] + rng.choice([b"\xff", b"\xe9", b"\x00", b"\xc3", b"\x1b[31m"]) + data[at:]
        case.labels.append("bytes no UTF-8 reads, or a control character")
    elif kind == 9:
        data = b""
        case.labels.append("an empty file")
    elif kind == 10:
        data = data * 2
        case.labels.append("the whole file twice")
    try:
        # A BOM is taken (Windows editors write one), as newsarchive reads plans and profiles.
        tomllib.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        case.wrong = worse(case.wrong, BAD)
    else:
        if kind in (9, 10) and case.kind == "plan":
            case.wrong = worse(case.wrong, BAD)  # no sites, or every entry twice
        elif kind in (2, 3, 4, 9):
            case.wrong = None  # still TOML, but what the mutations above made may be cut out
    return data


# --- The inputs


def base_plan(server: str) -> dict[str, Any]:
    return {
        "db": "arch/archive.db",
        "contact": CONTACT,
        "jobs": 1,
        "settings": {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False},
        "sites": [
            {
                "name": "demo",
                "site": "demo",
                "every": "6h",
                "since": "2020-01-01",
                "max_pages": 5,
                "base_url": server,
                "settings": {"CONCURRENT_REQUESTS_PER_DOMAIN": 8},
            }
        ],
    }


def base_profile() -> dict[str, Any]:
    return {
        "name": "fz",
        "domains": ["fz.example"],
        "timezone": "WIB",
        "language": "id",
        "selectors": {"title": ["h1"], "body": ["div.entry-content", "article"]},
        "chrome": {"remove": [".share"], "insert_labels": ["Baca juga"]},
        "crawl": {
            "start_urls": ["/"],
            "sitemaps": ["/sitemap_index.xml"],
            "feeds": ["/feed/"],
            "article_patterns": [r"^/\d{4}/\d{2}/\d{2}/[a-z0-9-]+/$", r"^/berita/\d+/[a-z0-9-]+$"],
            "category_patterns": [r"^/kategori/[a-z-]+/$"],
            "deny_patterns": ["^/cetak/"],
            "pagination_patterns": [r"/page/\d+/$"],
            "max_listing_depth": 1,
            "download_delay": 0,
            "concurrent_requests_per_domain": 8,
            "revisit_hours": [1, 6, 24],
        },
        "layouts": [{"valid_until": "2024-01-01", "selectors": {"title": ["h1.old"]}}],
    }


def mutated_file(base: dict[str, Any], pools: dict[str, Pool], rng: random.Random, case: Case):
    doc = json.loads(json.dumps(base))
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        mutate_doc(doc, pools, rng, case)
    text = toml_document(doc)
    if rng.random() < 0.3:
        return mutate_text(text, rng, case)
    return text.encode("utf-8", "surrogatepass")


def plan_case(rng: random.Random, server: str) -> Case:
    case = Case("plan", [])
    data = mutated_file(base_plan(server), plan_pools(server), rng, case)
    name = rng.choice(["plan.toml", "plan.toml", "my plan.toml", "pl\u00e4n.toml", "plan\n.toml"])
    name = rng.choice([name, name, "50%/" + name.replace("\n", "")])
    case.files[name] = data
    case.where += [name, "plan", "archive.db"]  # an archive it cannot use is named
    # The bad profile a plan entry may name: its own line when the crawl meets it.
    case.files["badprofile.toml"] = b'name = "bad"\nnope = 1\n'
    case.files["fz.toml"] = toml_document(base_profile()).encode()
    how = rng.random()
    if how < 0.45:
        case.command = ["schedule", "--plan", name, rng.choice(["--cron", "--systemd"])]
    elif how < 0.65:
        case.command = ["health", "--plan", name]
    elif how < 0.8:
        case.command = ["run", "--plan", name, "--json"]  # run --json: the summary on stdout
        case.may_crawl = True
    else:
        case.command = ["schedule"]
        case.env["NEWSARCHIVE_PLAN"] = name
        case.labels.append("plan given by NEWSARCHIVE_PLAN")
    if case.command[0] != "run" and case.wrong == RUN_BAD:
        case.wrong = OK  # only a crawl meets it
    return case


def profile_case(rng: random.Random, server: str) -> Case:
    case = Case("profile", [])
    data = mutated_file(base_profile(), PROFILE_POOLS, rng, case)
    name = rng.choice(["fz.toml", "fz.toml", "./sub/fz.toml", "my fz.toml", "fz\u00e9.toml"])
    stem_is_a_name = re.fullmatch(r"[a-z0-9][a-z0-9_-]*", Path(name).stem)
    if "name = " not in data.decode("utf-8", "replace") and not stem_is_a_name:
        case.wrong = worse(case.wrong, BAD)  # the name comes from the file's, not an identifier
    case.files[name.removeprefix("./")] = data
    case.where += [Path(name).name, "profile"]
    site = name if "/" in name else "./" + name
    case.command = ["crawl", site, "--db", "arch/archive.db", "--base-url", server]
    case.command += ["--max-pages", "4", *FAST]
    case.may_crawl = True
    return case


PATH_POOL: Pool = [
    ("arch", BAD),
    ("new/deeper/x.db", None),
    ("line\nbreak.db", None),
    ("x" * 300 + ".db", BAD),
    ("/dev/null", BAD),
    ("fifo", BAD),
    ("loop", BAD),
    ("notes.txt", BAD),
    ("empty", BAD),
    ("/proc/self/status", BAD),
    ("", BAD),
    ("~/x.db", None),
    ("/", BAD),
    ("-", None),
]
DATE_POOL: Pool = [
    ("2024-01-01", OK),
    ("2024-13-45", BAD),
    ("", None),  # an unset shell variable: taken as no date
    ("yesterday", BAD),
    ("99999-01-01", BAD),
    ("2024-01-01T25:00", BAD),
    ("2024-02-30", BAD),
    ("\u0662\u0660\u0662\u0664-01-01", None),
    ("-1", BAD),
]
NUMBER_POOL: Pool = [
    ("0", BAD),
    ("-1", BAD),
    ("nan", BAD),
    ("inf", BAD),
    ("1e400", BAD),
    ("99999999999999999999999", BAD),
    ("1.5", None),
    ("x", BAD),
    ("", BAD),
    ("\u0663", None),
]
SEC_POOL: Pool = [("nan", BAD), ("inf", None), ("-1", BAD), ("0", BAD), ("1e400", None)]
SEC_POOL += [("x", BAD), ("5", OK)]
SITE_POOL: Pool = [("demo", OK), ("nosuch", BAD), ("", BAD), ("de\nmo", BAD), ("%", BAD)]
SITE_POOL += [("\u00e9", BAD), ("x" * 5000, BAD)]
URL_POOL: Pool = [
    ("http://[::1/", BAD),
    ("127.0.0.1:1/x", BAD),
    ("ftp://127.0.0.1/", BAD),
    ("", BAD),
    ("javascript:x", BAD),
    ("http://127.0.0.1:99999/", BAD),
    ("http://127.0.0.1/\n", None),
    ("https://fz.example/berita/1/x", OK),
]


def option_cases(server: str) -> list[tuple[list[str], dict[str, Pool]]]:
    """Each command line, and the values of its options to mutate (a value None: a flag)."""
    db = ["--db", "arch/archive.db"]
    return [
        (["search", *db, "banjir"], {"--site": SITE_POOL, "--since": DATE_POOL,
            "--until": DATE_POOL, "--limit": NUMBER_POOL, "--author": [("", None), ("\x1b", None)],
            "--db": PATH_POOL, "@query": [("", BAD), ('"', None), ("NOT", None), ("*", None)]}),
        (["export", *db, "-o", "out.jsonl"], {"--site": SITE_POOL, "--since": DATE_POOL,
            "--format": [("xml", BAD), ("", BAD), ("CSV", None)], "--db": PATH_POOL,
            # A file there is replaced; "-" and /dev/null are where output may go.
            "-o": [(v, None if v in ("/dev/null", "-", "notes.txt", "empty") else w)
                   for v, w in PATH_POOL if v != "fifo"]}),
        (["show", *db, f"{server}1"], {"@url": URL_POOL + [("0", BAD), ("-1", BAD),
            ("99999999999999999999999", BAD)], "--db": PATH_POOL}),
        (["stats", *db], {"--db": PATH_POOL}),
        (["verify", *db], {"--db": PATH_POOL}),
        (["compact", *db], {"--site": SITE_POOL, "--level": NUMBER_POOL, "--db": PATH_POOL}),
        (["reextract", *db, "-j", "1"], {"--site": SITE_POOL, "--since": DATE_POOL,
            "-j": NUMBER_POOL, "--progress-seconds": SEC_POOL, "--db": PATH_POOL}),
        (["health", *db], {"--site": SITE_POOL, "--db": PATH_POOL,
            "--plan": [(v, None) for v, _ in PATH_POOL]}),  # --db first: the plan unread
        (["backup", *db, "backup"], {"@dest": [("arch", BAD), ("arch/archive.db", BAD),
            ("/dev/null", BAD), ("line\nbreak", None), ("x" * 300, BAD), ("", BAD),
            ("new/deeper/b", None), ("notes.txt", BAD)], "--db": PATH_POOL}),
        (["import", *db, "page.html", "--url", "https://fz.example/berita/1/x", "-j", "1"],
            {"--url": URL_POOL, "--site": [("", None), ("a b", None), ("\n", BAD)],
            "--max-size": [("-1", BAD), ("0", BAD), ("nan", BAD), ("10XB", BAD), ("1e999", BAD),
            ("", BAD), ("1KB", OK)], "-j": NUMBER_POOL, "--progress-seconds": SEC_POOL,
            # A folder or any file is something import reads; these no file can be.
            "@page": [(v, w if v in ("fifo", "loop", "", "x" * 300 + ".db") else None)
                      for v, w in PATH_POOL],
            "--db": PATH_POOL}),
        (["extract", "page.html", "--url", "https://fz.example/berita/1/x"],
            {"--url": URL_POOL, "@page": [(v, w) for v, w in PATH_POOL if v != "-"]}),
        (["crawl", "demo", *db, "--base-url", server, "--max-pages", "3", *FAST],
            {"--since": DATE_POOL, "--max-pages": NUMBER_POOL, "--base-url": URL_POOL[:-1],
            "--contact": [("", None), ("not a url", BAD), ("a\nb", BAD), ("x@y", BAD)],
            "-s": [("DOWNLOAD_DELAY=nan", BAD), ("CONCURRENT_REQUESTS=0", BAD),
                   ("DOWNLOAD_DELAY=-1", BAD), ("=1", BAD), ("X", BAD), ("LOG_LEVEL=LOUD", BAD),
                   ("USER_AGENT=a\nb", BAD), ("CLOSESPIDER_TIMEOUT=inf", BAD),
                   ("ROBOTSTXT_OBEY=maybe", BAD), ("DOWNLOAD_DELAY=1e400", BAD)],
            "--name": [("", BAD), ("a b", None), ("../../x", BAD), ("\n", BAD), ("x" * 300, BAD)],
            "--redis": [("redis://127.0.0.1:1/0", BAD), ("redis://127.0.0.1:x/0", BAD),
                        ("http://127.0.0.1/", BAD), ("redis://127.0.0.1:1/-1", BAD)],
            "--workers": [(v, None) for v, _ in NUMBER_POOL], "--db": PATH_POOL,
            "@site": [("nosuch", BAD), ("", BAD), ("ftp://127.0.0.1/", BAD), ("\u00e9", BAD),
                      ("http://[::1/", BAD), ("arch/", BAD), ("fifo", BAD)]}),
        (["worker", "--redis", "redis://127.0.0.1:1/0", "--wait", "0"],
            {"--wait": SEC_POOL, "--redis": [("", BAD), ("redis://[::1/", BAD),
             ("redis://127.0.0.1:99999/0", BAD), ("redis://127.0.0.1:1/x", BAD)]}),
        (["run", "--plan", "plan.toml", "--progress-every", "60"],
            {"--progress-every": SEC_POOL, "--plan": PATH_POOL}),
        (["schedule", "--plan", "plan.toml"], {"--plan": PATH_POOL}),
    ]  # fmt: skip


ENV_POOLS: dict[str, Pool] = {
    "NEWSARCHIVE_DB": PATH_POOL,
    "NEWSARCHIVE_PLAN": PATH_POOL,
    "NEWSARCHIVE_CONTACT": [("not a url", BAD), ("a\rb", BAD), ("\u00e9", BAD), ("x@y", BAD)],
}


def option_case(rng: random.Random, server: str) -> Case:
    command, pools = rng.choice(option_cases(server))
    case = Case("options", list(command))
    case.where += [arg for arg in command[1:] if not arg.startswith("-")]
    case.files["page.html"] = b"<html><h1>Judul</h1><p>" + b"Kalimat berita. " * 40 + b"</p>"
    case.files["plan.toml"] = toml_document(base_plan(server)).encode()
    for _ in range(rng.choice([1, 1, 2])):
        if rng.random() < 0.15:
            var = rng.choice(sorted(ENV_POOLS))
            value, verdict = rng.choice(ENV_POOLS[var])
            if "\x00" in value or (var == "NEWSARCHIVE_DB" and "--db" in case.command):
                continue
            if var == "NEWSARCHIVE_PLAN" and "--plan" in case.command:
                continue
            uses = {"NEWSARCHIVE_DB": ("stats", "verify", "search", "show", "export")}
            uses["NEWSARCHIVE_PLAN"] = ("schedule", "run")
            uses["NEWSARCHIVE_CONTACT"] = ("crawl",)
            if case.command[0] not in uses[var]:
                continue
            if var == "NEWSARCHIVE_DB":
                case.command[case.command.index("--db") : case.command.index("--db") + 2] = []
            if var == "NEWSARCHIVE_PLAN":
                case.command[case.command.index("--plan") : case.command.index("--plan") + 2] = []
            case.env[var] = value
            case.labels.append(f"{var}={value!r}")
            case.where += [var, value.strip()[:30], repr(value)[:30]]
        else:
            option = rng.choice(sorted(pools))
            if any(label.startswith(option + " ") for label in case.labels):
                continue
            value, verdict = rng.choice(pools[option])
            set_option(case.command, option, value)
            case.labels.append(f"{option} {value!r}"[:120])
            case.where += [option.lstrip("@"), value.strip()[:30], repr(value)[:30]]
            if option == "--db":
                case.where += ["archive"]  # "no archive at ...", "is a directory" name it
        case.wrong = worse(case.wrong, verdict)
    case.may_crawl = case.command[0] in ("crawl", "run")
    return case


def set_option(command: list[str], option: str, value: str) -> None:
    """Give `option` this value: replaced where the command has it, else added; `@name` is a
    positional argument (the last one of the command as written, or the one after the verb)."""
    if option.startswith("@"):
        positional = [i for i, arg in enumerate(command) if i > 0 and not arg.startswith("-")
                      and not command[i - 1].startswith("-")]  # fmt: skip
        if option in ("@site", "@page"):
            command[1] = value
        elif positional:
            command[positional[-1]] = value
        return
    if option in command and option != "-s":
        command[command.index(option) + 1] = value
    else:
        command += [option, value]


# --- Running a case


def prepare(case_dir: Path, archive: Path, case: Case) -> None:
    (case_dir / "arch").mkdir(parents=True)
    for name in ARCHIVE_FILES:
        shutil.copy2(archive / name, case_dir / "arch" / name)
    os.mkfifo(case_dir / "fifo")
    os.mkfifo(case_dir / "fifo.toml")
    (case_dir / "loop").symlink_to("loop")
    (case_dir / "notes.txt").write_text("not an archive\n")
    (case_dir / "empty").write_bytes(b"")
    for name, data in case.files.items():
        path = case_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def digest(folder: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in ARCHIVE_FILES
        if (folder / name).exists()
    }


def archived(folder: Path) -> set[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{folder / 'archive.db'}?mode=ro", uri=True)
    try:
        return set(conn.execute("SELECT url, content_hash FROM articles"))
    finally:
        conn.close()


def run_case(case: Case, archive: Path, server: DemoServer) -> list[str]:
    """The ways the case failed (none: it passed), each a short phrase."""
    with tempfile.TemporaryDirectory(prefix="fuzzcfg-") as tmp:
        case_dir = Path(tmp)
        prepare(case_dir, archive, case)
        before, articles = digest(case_dir / "arch"), archived(case_dir / "arch")
        requests = len(server.requests)
        env = {**os.environ, "NEWSARCHIVE_CONTACT": CONTACT, **case.env}
        env.pop("SCRAPY_SETTINGS_MODULE", None)
        started = time.monotonic()
        timeout = CRAWL_SECONDS if case.may_crawl else CASE_SECONDS
        # A session of its own: a crawl's extraction and writer processes go with it on a hang.
        with subprocess.Popen(
            [*CLI, *case.command],
            cwd=case_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        ) as child:
            try:
                stdout, stderr = child.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                stdout, stderr = child.communicate()
                case.output = f"(killed after {timeout}s)\n{stdout}{stderr}"
                return ["hang"]
            except KeyboardInterrupt:
                os.killpg(child.pid, signal.SIGKILL)  # its own session: not stopped with us
                raise
        proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
        case.output = f"exit {proc.returncode} in {time.monotonic() - started:.1f}s\n"
        case.output += f"--- stdout\n{proc.stdout[-4000:]}--- stderr\n{proc.stderr[-4000:]}"
        fetched = len(server.requests) > requests
        return judge(case, proc, fetched, before, articles, case_dir / "arch")


def judge(
    case: Case,
    proc: subprocess.CompletedProcess[str],
    fetched: bool,
    before: dict[str, str],
    articles: set[tuple[str, str]],
    arch: Path,
) -> list[str]:
    failures = []
    out = proc.stdout + proc.stderr
    status = proc.returncode
    crawled = "pages fetched" in proc.stdout or (fetched and case.command[0] == "run")
    if "Traceback (most recent call last)" in out:
        return ["traceback " + _exception_line(proc.stderr)]
    if status not in (0, 1, 2):
        failures.append(f"exit status {status}")
    stderr = [line for line in proc.stderr.splitlines() if line.strip()]
    said = [line for line in stderr if line.startswith("Error: ")]
    logged = [line for line in stderr if not line.startswith("Error: ")]  # our own lines
    if any(" ERROR" in line or "Spider error" in line for line in logged):
        failures.append("an ERROR line in the log")
    if status == 1 and not said:
        failures.append("exit 1 without an Error line")
    if status in (1, 2) and not crawled and case.command[0] != "run":
        allowed = CLICK_LINES if status == 2 else re.compile(r"^Error: ")
        if len(said) > 1 or any(not allowed.match(line) for line in stderr):
            failures.append("an error of more than one line")
        elif said and not any(w and w.lower() in said[0].lower() for w in case.where):
            failures.append("an error naming no file, key, option or value")
    known_wrong = case.wrong == BAD or (case.wrong == RUN_BAD and case.command[0] == "run")
    if status == 0 and known_wrong:
        failures.append("exit 0 on a wrong input")
    if case.command[0] == "schedule" and status == 0:
        failures += schedule_mistakes(proc.stdout, systemd="--systemd" in case.command)
    if case.kind == "profile" and case.wrong == BAD and fetched:
        failures.append("a wrong profile refused only after fetching")
    if (arch / "archive.db").exists():
        if status != 0 and not crawled and digest(arch) != before:
            failures.append("the archive's files changed by a command that failed")
        try:
            lost = articles - archived(arch)
        except sqlite3.Error as exc:
            lost, failures = set(), [*failures, f"the archive unreadable after: {exc}"]
        if lost and case.command[0] not in ("reextract",):
            failures.append(f"{len(lost)} archived articles gone")
    elif before:
        failures.append("the archive's files removed")
    return failures


def schedule_mistakes(out: str, *, systemd: bool) -> list[str]:
    """What makes `schedule`'s output run something else than the plan: cron reads `%` as a
    line break and a crontab entry is one line; systemd reads `%` as a specifier."""
    if systemd:
        return ["a lone % in a systemd unit"] if re.search(r"(?<!%)%(?!%)", out) else []
    if len(out.splitlines()) != 1:
        return ["a crontab entry of more than one line"]
    return ["an unescaped % in a crontab line"] if re.search(r"(?<!\\)%", out) else []


def _exception_line(text: str) -> str:
    """The exception a traceback ended in, numbers and addresses blanked (one kind per line)."""
    raised = re.findall(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception|Exit|Interrupt)\b.*)$", text, re.M)
    line = raised[-1] if raised else "?"
    return re.sub(r"0x[0-9a-f]+|\d{3,}|'[^']{40,}'|/tmp/\S+", "N", line)[:100]


def make_archive(folder: Path, server: DemoServer) -> None:
    """The sound archive every case starts from: the demo portal crawled once."""
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [*CLI, "crawl", "demo", "--base-url", server.base_url, "--db", str(folder / "archive.db")]
        + FAST,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NEWSARCHIVE_CONTACT": CONTACT},
    )
    if proc.returncode != 0:
        raise SystemExit(f"the first archive could not be made:\n{proc.stdout}{proc.stderr}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=600, help="how long to run (default 600)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("/tmp/fuzz_config"), help="failing cases")
    ap.add_argument(
        "--kinds", default="plan,profile,options", help="which inputs (default: all three)"
    )
    args = ap.parse_args()
    rng = random.Random(args.seed)
    makers = {"plan": plan_case, "profile": profile_case, "options": option_case}
    kinds = [makers[k] for k in args.kinds.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    found: collections.Counter[str] = collections.Counter()
    counts: collections.Counter[str] = collections.Counter()
    with DemoServer(articles=8, seed=args.seed) as server, tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "sound"
        make_archive(archive, server)
        deadline = time.monotonic() + args.seconds
        # Ctrl-C (or SIGTERM) ends the search early, with the summary of what it found.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            search(args, rng, kinds, archive, server, deadline, found, counts)
    runs, crawls = counts["runs"], counts["crawls"]
    print(f"{runs} cases ({crawls} could crawl), {len(found)} kinds of failure:")
    for key, count in found.most_common():
        print(f"  {count:4d}  {key}")
    return 1 if found else 0


def search(
    args: argparse.Namespace,
    rng: random.Random,
    kinds: list[Any],
    archive: Path,
    server: DemoServer,
    deadline: float,
    found: collections.Counter[str],
    counts: collections.Counter[str],
) -> None:
    """Run cases until `deadline`, each failure's first case saved and counted in `found`."""
    while time.monotonic() < deadline:
        case = rng.choice(kinds)(rng, server.base_url)
        if case.may_crawl and case.wrong == OK and rng.random() < 0.6:
            continue  # a crawl that should succeed takes seconds: only some of them
        counts["runs"] += 1
        counts["crawls"] += case.may_crawl
        for failure in run_case(case, archive, server):
            key = f"{case.kind} {case.command[0]}: {failure}"
            if key not in found:
                _save(args.out / f"case-{len(found) + 1}", case, failure)
                print(f"{key} ({'; '.join(case.labels)}; in {args.out})", flush=True)
            found[key] += 1


def _save(folder: Path, case: Case, failure: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in case.files.items():
        path = folder / "files" / name.replace("\n", "\\n")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (folder / "case.json").write_text(
        json.dumps(
            {
                "failure": failure,
                "command": case.command,
                "env": case.env,
                "mutations": case.labels,
                "input": case.wrong,
                "where": case.where,
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    (folder / "output.txt").write_text(case.output)


if __name__ == "__main__":
    sys.exit(main())
