"""The extractor's regular expressions, compiled once per installation instead of once per process.

The extract modules compile about 120 patterns at import (month and day names in a dozen
languages, the chrome vocabularies): 4 % of the instructions of a 181-page `extract --batch`,
spent in the re module's parser and compiler, which are pure Python. `compile` keeps what that
compiler hands to the regex engine (_sre.compile's arguments: the pattern's engine code and
groups) in a file beside the package's bytecode, and later processes build each pattern straight
from it: the same Pattern, equal to re.compile's, without parsing.

Kept as bytecode is: written only when Python writes bytecode (not under
PYTHONDONTWRITEBYTECODE), under PYTHONPYCACHEPREFIX when that is set, for one Python version
(the engine's code changes between versions), and replaced whole, atomically. A pattern not in
the file, or a file from another Python, falls back to re.compile; so does anything the file
holds that the engine refuses (_sre.compile validates the code it is given).
"""

from __future__ import annotations

import _sre
import contextlib
import marshal
import os
import re
import sys
from collections.abc import Callable
from typing import Any

# What the stored code is only valid for: this interpreter's version and its engine's.
_STAMP = (sys.version, _sre.MAGIC, _sre.CODESIZE)

# (pattern, flags) -> _sre.compile's arguments; None until the file is read.
_stored: dict[tuple[str | bytes, int], tuple[Any, ...]] | None = None
# What this process compiled or read, written back by save() when anything was missing.
_used: dict[tuple[str | bytes, int], tuple[Any, ...]] = {}
_missing = False


def _cache_file() -> str | None:
    from importlib.util import cache_from_source

    try:
        bytecode = cache_from_source(__file__)  # follows sys.pycache_prefix
    except NotImplementedError:  # no cache tag: this Python keeps no bytecode either
        return None
    return os.path.join(
        os.path.dirname(bytecode), f"patterns.{sys.implementation.cache_tag}.sre-code"
    )


def _read() -> dict[tuple[str | bytes, int], tuple[Any, ...]]:
    path = _cache_file()
    if path is None:
        return {}
    try:
        with open(path, "rb") as handle:
            # loads on the whole file: marshal.load reads a file object a few bytes at a time.
            stamp, entries = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if stamp != _STAMP or not isinstance(entries, dict):
        return {}
    return entries


def _engine_arguments(pattern: str | bytes, flags: int) -> tuple[Any, ...]:
    """_sre.compile's arguments for the pattern, as re._compiler.compile computes them."""
    from re import _compiler, _parser

    parsed = _parser.parse(pattern, flags)
    # Plain ints: the compiler's opcodes are an int subclass, which marshal does not write.
    code = [int(op) for op in _compiler._code(parsed, flags)]
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    return (
        pattern,
        int(flags | parsed.state.flags),
        code,
        parsed.state.groups - 1,
        groupindex,
        tuple(indexgroup),
    )


def compile(pattern: str | bytes, flags: int = 0) -> re.Pattern[Any]:  # noqa: A001 (re's twin)
    """re.compile(pattern, flags), from the stored engine code when there is some.

    For the patterns a module compiles once at import; a pattern built at run time (from a
    profile or a page) goes to re.compile, or the file would grow with every one seen.
    """
    global _stored, _missing
    if _stored is None:
        _stored = _read()
    key = (pattern, int(flags))
    arguments = _stored.get(key)
    if arguments is not None:
        try:
            built = _sre.compile(*arguments)
        except (TypeError, ValueError, RuntimeError, OverflowError):
            pass  # not code this engine takes: compiled afresh below
        else:
            if built.pattern == pattern:  # a damaged file's entry under another key is not used
                _used[key] = arguments
                return built
    built = re.compile(pattern, flags)
    _missing = True
    try:
        arguments = _engine_arguments(pattern, int(flags))
        kept = _sre.compile(*arguments) == built
    except Exception:  # the re module's internals moved: nothing is stored, nothing breaks
        kept = False
    if kept:
        _used[key] = arguments
    return built


def save() -> None:
    """Write the engine code of the patterns compiled so far, when some were not stored yet (the
    extract package calls this once its modules are imported)."""
    global _missing, _stored
    if not _missing or sys.dont_write_bytecode:
        return
    path = _cache_file()
    if path is None:
        return
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "wb") as handle:
            marshal.dump((_STAMP, _used), handle)
        os.replace(temporary, path)  # readers see the old file or the new one, never half
    except (OSError, ValueError):  # a read-only install: patterns are compiled each time
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return
    _missing = False
    _stored = dict(_used)


# What may follow a regex atom and make it optional or repeated.
_QUANTIFIERS = frozenset("?*+{")


def factored(alternation: str) -> str:
    """The alternation `alternation` ("ad|ads|adv|share|sharing": plain alternatives, no groups
    or character classes) with the alternatives that open with the same character grouped under
    it: "a(?:d|ds|dv)|s(?:hare|haring)". It matches the same strings; the alternatives come in
    another order, so where a pattern matches and which alternative it takes may differ: for
    tests of whether a pattern matches, not for match positions or named groups.

    Why: the regex engine skips a branch whose first literal is not the next character, but a
    branch that opens with a group is entered and its alternatives tried one by one. Grouped by
    their first character, a position where none starts costs a test per distinct first
    character instead of one per alternative (the chrome keyword test fails 3x faster). An
    alternative that opens with anything but a plain or escaped character with no quantifier
    after it is kept whole.
    """
    if "(" in alternation or "[" in alternation or "\\|" in alternation:
        raise ValueError(f"not a plain alternation: {alternation[:60]!r}")
    heads: dict[str, list[str]] = {}
    for alternative in alternation.split("|"):
        size = 2 if alternative.startswith("\\") else 1
        head, rest = alternative[:size], alternative[size:]
        if size == 2:  # an escape: a class (\d) or a character (\.), not \x41, \N{...}, \1
            plain = head[1] in "dswDSW" or not head[1].isalnum()
        else:
            plain = head.isalnum() or head in ("-", "_")
        if not plain or rest[:1] in _QUANTIFIERS:
            heads.setdefault(f"(?:{alternative})", []).append("")  # kept whole
        else:
            heads.setdefault(head, []).append(rest)
    return "|".join(
        head + (f"(?:{'|'.join(rests)})" if rests != [""] else "") for head, rests in heads.items()
    )


# The characters other than ASCII that re.IGNORECASE matches to an ASCII letter but str.lower()
# does not lower to that letter alone: dotless ı and dotted İ (both match i; İ lowers to two
# characters) and the long ſ (matches s). (The fourth, the Kelvin sign, lowers to k.)
_CASE_BLIND_ODD = ("\u0131", "\u0130", "\u017f")


def lowers_like_regex(text: str) -> bool:
    """Whether every case-blind regex match of ASCII letters in `text` is those letters in
    text.lower(): true for ASCII text, and for any text without _CASE_BLIND_ODD."""
    return text.isascii() or not any(map(text.__contains__, _CASE_BLIND_ODD))


def holds_none(text: str, needles: tuple[str, ...]) -> bool:
    """True when `text` holds none of `needles` (lowercase ASCII) even case-blind, as a regex
    under re.I sees it: a pattern every match of which holds one cannot match. Checked with str's
    C-level `in` on the lowercased text; text that lowers unlike the regex reads it (one of
    _CASE_BLIND_ODD) is never said to hold none."""
    if not lowers_like_regex(text):
        return False
    low = text.lower()
    return not any(map(low.__contains__, needles))


def screened(
    pattern: re.Pattern[str], needles: tuple[str, ...], *, every_match: bool = False
) -> Callable[[str], re.Match[str] | None]:
    """`pattern.search`, with ASCII text screened first by str's C-level `in`: when the lowercased
    text holds none of `needles` (lowercase; every match of the pattern in ASCII text holds one),
    None without running the regex, which would try its branches at every position. Text that is
    not ASCII goes to the regex (under re.I the Kelvin sign and a dotless ı match k and i, which
    lower() keeps apart), unless `every_match`: every match of the pattern in any text holds one
    of the needles (lowercase ASCII), and holds_none decides."""
    search = pattern.search
    if every_match:

        def holds_none_screened_search(text: str) -> re.Match[str] | None:
            if holds_none(text, needles):
                return None
            return search(text)

        return holds_none_screened_search

    def screened_search(text: str) -> re.Match[str] | None:
        if text.isascii() and not any(map(text.lower().__contains__, needles)):
            return None
        return search(text)

    return screened_search


DIGIT = compile(r"\d")


def has_digit(text: str) -> bool:
    """`\\d` finds something in `text`. In an ASCII text the only digits are 0-9, each looked for
    with str's C-level `in`: several times faster than the regex, which tests every character's
    Unicode category (some 200 instructions a character), and most texts asked about hold no
    digit at all."""
    if text.isascii():
        return (
            "0" in text
            or "1" in text
            or "2" in text
            or "3" in text
            or "4" in text
            or "5" in text
            or "6" in text
            or "7" in text
            or "8" in text
            or "9" in text
        )
    return DIGIT.search(text) is not None


def end_screened(
    pattern: re.Pattern[str], endings: tuple[str, ...]
) -> Callable[[str], re.Match[str] | None]:
    """`pattern.search` for a pattern anchored at the end (`...\\s*$`) whose every match ends the
    text, trailing whitespace aside, with one of `endings` (lowercase ASCII): text that ends with
    none of them gets None without running the regex, which would try its branches at every
    position (as in `screened`; str.rstrip strips what the regex's \\s matches)."""
    search = pattern.search

    def end_screened_search(text: str) -> re.Match[str] | None:
        if lowers_like_regex(text) and not text.rstrip().lower().endswith(endings):
            return None
        return search(text)

    return end_screened_search
