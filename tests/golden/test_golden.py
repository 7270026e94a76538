"""Golden tests: saved pages, each with the true record beside it.

Every `fixtures/NAME.html` is a page written for these tests (modelled on the seed page and on the
markup real Indonesian portals use, never copied from them); `fixtures/NAME.json` is the record a
careful human reads from that page, written by hand. There is deliberately no way to regenerate the
JSON from extractor output: when a test fails, either the extractor is wrong or the page was misread,
and a person decides which.

Keys of the expected JSON:
- the compared fields (COMPARED_FIELDS), as they should come out of `Article.to_dict()`;
- `_url`, `_fetched_at`: passed to `extract_article` (fetched_at resolves relative dates and picks a
  profile layout);
- `_must_not_contain`: chrome strings present on the page that must not reach `body`
  (case-insensitive);
- `_expect_removed`: the body region holds chrome, so the `removed` audit must not be empty;
- `_compare`: per-field comparison mode for dates when the page does not pin the exact value
  (`instant`: same moment, any offset; `date`: same calendar day);
- `_profile`: a profile file under `profiles/` to pass as `profile=`;
- `_expect_sources`: field -> the source `Article.sources` must name.
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest

from newsarchive.errors import ProfileError
from newsarchive.extract import extract_article
from newsarchive.items import Article
from newsarchive.sites.schema import load_profile_file

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
PROFILES = HERE / "profiles"

# The record fields a golden file pins down. `removed`, `sources`, `raw`, `notes` and
# `extractor_version` are audit data and may change freely between versions.
COMPARED_FIELDS = (
    "title",
    "authors",
    "contributors",
    "published",
    "modified",
    "category",
    "tags",
    "description",
    "body",
    "image",
    "canonical_url",
    "language",
    "site_name",
    "captions",
)
TEST_KEYS = {
    "_url",
    "_fetched_at",
    "_must_not_contain",
    "_expect_removed",
    "_compare",
    "_profile",
    "_expect_sources",
}
DATE_FIELDS = ("published", "modified")
DATE_MODES = ("exact", "instant", "date")

CASES = sorted(p.stem for p in FIXTURES.glob("*.html"))


def _norm(text: str) -> str:
    return " ".join(text.split())


@cache
def expected_record(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@cache
def extracted(name: str) -> Article:
    """The extractor's record for one fixture, computed once for all the field tests."""
    expected = expected_record(name)
    fetched_at = expected.get("_fetched_at")
    profile = load_profile_file(PROFILES / expected["_profile"]) if "_profile" in expected else None
    return extract_article(
        (FIXTURES / f"{name}.html").read_bytes(),
        expected.get("_url"),
        fetched_at=datetime.fromisoformat(fetched_at) if fetched_at else None,
        profile=profile,
    )


def _page_text(name: str) -> str:
    return html.unescape((FIXTURES / f"{name}.html").read_text(encoding="utf-8"))


# --- the golden files themselves -------------------------------------------------------------


def test_there_are_golden_cases():
    assert len(CASES) >= 15, CASES


@pytest.mark.parametrize("name", CASES)
def test_expected_json_is_canonical_and_complete(name):
    """Sorted keys, indent 2, UTF-8 unescaped: diffs of the truth stay readable."""
    path = FIXTURES / f"{name}.json"
    assert path.exists(), f"{name}.html has no expected record {path.name}"
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    canonical = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert text == canonical, f"{path.name} is not in canonical form (sorted keys, indent 2, UTF-8)"
    missing = [f for f in COMPARED_FIELDS if f not in data]
    unknown = sorted(set(data) - set(COMPARED_FIELDS) - TEST_KEYS)
    assert not missing, f"{path.name} lacks fields {missing}"
    assert not unknown, f"{path.name} has unknown keys {unknown}"
    for field, mode in data.get("_compare", {}).items():
        assert field in DATE_FIELDS and mode in DATE_MODES, (
            f"{path.name}: bad _compare {field}={mode}"
        )


@pytest.mark.parametrize("name", CASES)
def test_must_not_contain_lists_real_chrome(name):
    """Each listed chrome string is on the page and is not part of the true body."""
    expected = expected_record(name)
    page = _page_text(name).lower()
    body = (expected["body"] or "").lower()
    for chrome in expected.get("_must_not_contain", []):
        assert _norm(chrome.lower()) in _norm(page), (
            f"{name}: {chrome!r} does not occur on the page"
        )
        assert chrome.lower() not in body, f"{name}: {chrome!r} occurs in the expected body itself"


@pytest.mark.parametrize("name", CASES)
def test_expected_body_is_on_the_page(name):
    """Every true body paragraph is written out on the page (guards against typos in the truth)."""
    page = _norm(_page_text(name))
    for para in (expected_record(name)["body"] or "").split("\n\n"):
        # Datelines are often a <strong> joined to the paragraph: compare the sentence after it.
        tail = para.split(" - ", 1)[-1].split(" – ", 1)[-1].split(" -- ", 1)[-1]
        assert _norm(tail) in page, f"{name}: body paragraph not on the page: {para[:80]!r}"


# --- the extractor against the truth ------------------------------------------------------------


def _fail(name: str, field: str, expected, got) -> str:
    return f"{name}: field {field!r}\n  expected: {expected!r}\n  got:      {got!r}"


def _body_diff(name: str, expected: str | None, got: str | None) -> str:
    if expected is None or got is None:
        return _fail(name, "body", expected, got)
    exp_paras, got_paras = expected.split("\n\n"), got.split("\n\n")
    for i, (e, g) in enumerate(zip(exp_paras, got_paras, strict=False)):
        if e != g:
            return (
                f"{name}: field 'body' differs at paragraph {i} "
                f"(expected {len(exp_paras)} paragraphs, got {len(got_paras)})\n"
                f"  expected: {e!r}\n  got:      {g!r}"
            )
    extra = got_paras[len(exp_paras) :] or exp_paras[len(got_paras) :]
    side = "got extra" if len(got_paras) > len(exp_paras) else "missing"
    return (
        f"{name}: field 'body' has {len(exp_paras)} paragraphs expected, {len(got_paras)} got; "
        f"{side}: {extra[:3]!r}"
    )


def _check_date(name: str, field: str, expected: str | None, got: datetime | None, mode: str):
    if expected is None or got is None:
        assert expected == got, _fail(name, field, expected, got and got.isoformat())
        return
    assert got.tzinfo is not None and got.utcoffset() is not None, _fail(
        name, field, expected, f"naive datetime {got.isoformat()}"
    )
    if mode == "date":
        assert got.date().isoformat() == expected, _fail(name, field, expected, got.isoformat())
        return
    want = datetime.fromisoformat(expected)
    assert got == want, _fail(name, field, expected, got.isoformat())
    if mode == "exact":
        # Same moment is not enough: an Indonesian page's times are recorded in the page's zone.
        assert got.utcoffset() == want.utcoffset(), _fail(name, field, expected, got.isoformat())


def _check_captions(name: str, expected: list[str], got: list[str]):
    # A credit ("Foto: ...") joined to its caption or kept apart are both fine: each expected
    # caption must be found, in order, within the caption the extractor returned.
    ok = len(expected) == len(got) and all(
        _norm(e) in _norm(g) for e, g in zip(expected, got, strict=True)
    )
    assert ok, _fail(name, "captions", expected, got)


@pytest.mark.parametrize("field", COMPARED_FIELDS)
@pytest.mark.parametrize("name", CASES)
def test_field(name, field):
    expected = expected_record(name)
    art = extracted(name)
    want = expected[field]
    if field in DATE_FIELDS:
        mode = expected.get("_compare", {}).get(field, "exact")
        _check_date(name, field, want, getattr(art, field), mode)
    elif field == "contributors":
        got = sorted((c.role, c.name) for c in art.contributors)
        exp = sorted((c["role"], c["name"]) for c in want)
        assert got == exp, _fail(name, field, exp, got)
    elif field == "body":
        assert art.body == want, _body_diff(name, want, art.body)
    elif field == "captions":
        _check_captions(name, want, list(art.captions))
    else:
        got = getattr(art, field)
        assert got == want, _fail(name, field, want, got)


@pytest.mark.parametrize("name", [n for n in CASES if expected_record(n).get("_must_not_contain")])
def test_chrome_never_reaches_body(name):
    expected = expected_record(name)
    art = extracted(name)
    body = (art.body or "").lower()
    leaks = [c for c in expected["_must_not_contain"] if c.lower() in body]
    assert not leaks, f"{name}: chrome in body: {leaks}"


@pytest.mark.parametrize("name", [n for n in CASES if expected_record(n).get("_expect_removed")])
def test_cut_chrome_is_audited(name):
    art = extracted(name)
    assert art.removed, f"{name}: chrome was in the body region but `removed` is empty"
    assert all(r.kind and r.text for r in art.removed), f"{name}: removed entries {art.removed}"


@pytest.mark.parametrize("name", [n for n in CASES if expected_record(n).get("_expect_sources")])
def test_profile_fields_come_from_the_profile(name):
    art = extracted(name)
    for field, source in expected_record(name)["_expect_sources"].items():
        assert art.sources.get(field) == source, _fail(
            name, f"sources[{field}]", source, art.sources
        )


# --- site profiles ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(PROFILES.glob("*.toml")), ids=lambda p: p.name)
def test_golden_profiles_load(path):
    profile = load_profile_file(path)
    assert profile.selectors, f"{path.name} has no selectors"


@pytest.mark.parametrize("name", [n for n in CASES if expected_record(n).get("_profile")])
def test_generic_path_cannot_do_what_the_profile_does(name):
    """Without its profile the page's zone-less time can only be read as WIB (the rule for
    Indonesian pages), which is wrong for this WITA portal: the profile is what fixes it."""
    expected = expected_record(name)
    generic = extract_article(
        (FIXTURES / f"{name}.html").read_bytes(),
        expected["_url"],
        fetched_at=datetime.fromisoformat(expected["_fetched_at"]),
    )
    want = datetime.fromisoformat(expected["published"])
    assert generic.published != want, f"{name}: the generic path already gets {want.isoformat()}"
    assert generic.sources.get("title") != "profile"


def test_profile_layout_is_chosen_by_fetched_at():
    profile = load_profile_file(PROFILES / "kabarlembah.toml")
    old, _ = profile.for_fetched_at("2019-05-03T01:00:00+00:00")
    new, _ = profile.for_fetched_at("2023-07-06T02:00:00+00:00")
    assert old["title"] == ("h2.judul-lama",)
    assert new["title"] == ("div.jdl-naskah",)
    # Selectors a layout does not override are inherited from the top level.
    assert old["category"] == new["category"] == ("span.rbk",)


BAD_PROFILES = [
    # (TOML text, key the error must name, why it is wrong)
    ('name = "bad"\nselector = { title = "h1" }\n', "selector", "unknown top-level key (typo)"),
    ('name = "bad"\n[selectors]\nheadline = "h1"\n', "selectors.headline", "unknown field"),
    ('name = "bad"\n[selectors]\ntitle = "div[[class"\n', "selectors.title", "bad CSS"),
    ('name = "bad"\n[chrome]\nremove = ["div.ok", "p:nth-child("]\n', "chrome.remove", "bad CSS"),
    ('name = "bad"\n[chrome]\nstrip = ["div.ads"]\n', "chrome.strip", "unknown chrome key"),
    (
        'name = "bad"\n[[layouts]]\nvalid_until = "2021-01-01"\n[layouts.selectors]\nbody = ">>"\n',
        "layouts[0].selectors.body",
        "bad CSS in a layout",
    ),
    ('name = "bad"\ntimezone = "Jakarta"\n', "timezone", "unknown zone"),
]


@pytest.mark.parametrize(("text", "key", "why"), BAD_PROFILES, ids=[b[2] for b in BAD_PROFILES])
def test_bad_profile_is_an_error_naming_file_and_key(tmp_path, text, key, why):
    path = tmp_path / "broken-portal.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile_file(path)
    message = str(info.value)
    assert str(path) in message, f"{why}: message does not name the file: {message}"
    assert key in message, f"{why}: message does not name the key {key!r}: {message}"
