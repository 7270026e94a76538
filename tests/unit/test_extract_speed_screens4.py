"""The class-name key of the chrome finder (attr_key) is the same with its digit test in front of
the number-replacing regex as with the regex's own search: values with ASCII digits, with digits
of other scripts (which `\\d` matches and the plain-string test leaves to the regex), and with
none."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsarchive.extract import chrome, patterns

# The key as it was read before the digit test: lowercased, each run of digits replaced by "0".
_NUMBERS = re.compile(r"\d+")


def _key_by_regex(value: str) -> str:
    key = value.lower()
    return _NUMBERS.sub("0", key) if _NUMBERS.search(key) else key


# Class and id values: ASCII names with and without numbers, and digits from other scripts
# (Arabic-Indic, Devanagari, fullwidth) that only the regex recognises as digits.
values = st.text(
    alphabet=st.sampled_from(list("abcXYZ-_ 0179") + ["\u0663", "\u0967", "\uff13", "\u0130"]),
    max_size=30,
)


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    saved = dict(chrome._attr_keys)
    chrome._attr_keys.clear()
    yield
    chrome._attr_keys.clear()
    chrome._attr_keys.update(saved)


@given(values)
def test_attr_key_agrees_with_the_number_regex(value):
    chrome._attr_keys.clear()
    assert chrome.attr_key(value) == _key_by_regex(value)


@pytest.mark.parametrize(
    "value, key",
    [
        ("post-2551586", "post-0"),
        ("div-gpt-ad-1572507980488-0", "div-gpt-ad-0-0"),
        ("Entry-Content", "entry-content"),
        ("col-\u0663\u0663", "col-0"),  # Arabic-Indic digits: the value is not ASCII
        ("item-\uff19", "item-0"),  # a fullwidth nine
        ("", ""),
    ],
)
def test_attr_key_zeroes_numbers_of_any_script(value, key):
    assert chrome.attr_key(value) == key


@given(st.text(max_size=40))
def test_has_digit_agrees_with_the_digit_regex(text):
    assert patterns.has_digit(text) == (re.search(r"\d", text) is not None)
