"""Plain per-text reference parser for the value grammar (SPEC.md §4).

The oracle of the differential tests and the baseline of ``benches/bench_grammar.py``: one text
at a time, regular expressions and if/else, written for obviousness, not speed. It shares only
the vocabulary (the data tables) with ``selfeval.grammar``; never imported by the pipeline.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from selfeval.grammar import (
    CHAR_MAP,
    DATE_PREFIXES,
    ERRORS,
    MULTIPLIERS,
    NEUTRAL_PREFIXES,
    OPERATOR_DIGRAPHS,
    PREFIX_OPERATORS,
    RANGE_SEPARATORS,
    SOFT_PREFIX_OPERATORS,
    SUFFIX_OPERATORS,
    TRAILING_PUNCTUATION,
    UNITS,
    WHITESPACE,
    YEAR_PERIODS,
)

__all__ = ["normalize", "parse_text", "parse_texts"]

_TRANSLATION = str.maketrans(CHAR_MAP)
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNIT = re.compile(rf"%|[{_HAN}A-Za-z][{_HAN}A-Za-z/·²³]*")
_NUMBER = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?"
_Y = r"(19[0-9]{2}|20[0-9]{2})"
_N = r"([0-9]{1,2})"
_BEFORE = r"(?:之前|以前|前)?"
_SEP = "(?:" + "|".join(re.escape(s) for s in RANGE_SEPARATORS) + ")"


def _longest_first(words):
    return sorted(words, key=lambda w: (-len(w), w))


def normalize(text: str) -> str:
    """Whitespace removed, full-width folded, `>=`/`<=` unified, trailing punctuation dropped."""
    text = re.sub(f"[{WHITESPACE}]+", "", text)
    text = text.translate(_TRANSLATION)
    for digraph, symbol in OPERATOR_DIGRAPHS.items():
        text = text.replace(digraph, symbol)
    return text.rstrip(TRAILING_PUNCTUATION)


def _strip_prefix(text: str, words) -> tuple[str | None, str]:
    """(the longest of `words` that `text` starts with, the rest)."""
    for word in _longest_first(words):
        if text.startswith(word):
            return word, text[len(word) :]
    return None, text


def _is_unit(word: str) -> bool:
    return _UNIT.fullmatch(word) is not None


def _unit_info(written: str | None) -> tuple[str | None, str | None, float]:
    """(normalised unit, dimension, factor) of a written unit."""
    if written is None:
        return None, None, 1.0
    if written in UNITS:
        return UNITS[written]
    return written, ("other" if "/" in written else "count"), 1.0


def _to_float(number: str) -> float:
    return float(number.replace(",", ""))


# ---------------------------------------------------------------------------- dates


def _day(year: int | None, month: int | None, day: int | None) -> dt.date | None:
    """That day, or the month's last day when day is None; None when there is no such day."""
    if year is None or month is None or not 1 <= month <= 12 or not 1 <= year <= 9999:
        return None
    last = calendar.monthrange(year, month)[1]
    if day is None:
        return dt.date(year, month, last)
    return dt.date(year, month, day) if 1 <= day <= last else None


def _date_prefix(text: str) -> str:
    return _strip_prefix(text, DATE_PREFIXES)[1]


def _dates(text: str, year: int | None) -> dict | None:
    """A deadline (or None when the text is not a date)."""
    bare = _date_prefix(text)
    # One day: 2025年6月30日前, 2025-06-30, 2025/6/30, 2025.06.30
    m = re.fullmatch(rf"{_Y}(?:年|[./-]){_N}(?:月|[./-]){_N}日?{_BEFORE}", bare)
    if m:
        return _deadline(int(m[1]), int(m[2]), int(m[3]))
    # One month: 2025年12月, 2025年6月底前, 2025-06, 2025/6 (not 2025.06: a decimal)
    m = re.fullmatch(rf"{_Y}(?:年{_N}月?|[/-]{_N}月?)(?:底|末)?{_BEFORE}", bare)
    if m:
        return _deadline(int(m[1]), int(m[2] or m[3]), None)
    # One year: 2025年, 2025年底前, 2025年度
    m = re.fullmatch(rf"{_Y}年(?:年底|年末|年度内|年度|年内|底|末|度内|度|内)?{_BEFORE}", bare)
    if m:
        return _deadline(int(m[1]), 12, None)
    # Periods: the end counts
    m = re.fullmatch(
        rf"{_Y}(?:年|[./-]){_N}(?:月|[./-]){_N}日?{_SEP}(?:{_Y}(?:年|[./-]))?{_N}(?:月|[./-]){_N}日?{_BEFORE}", text
    )
    if m:
        start_year = int(m[1])
        return _period((start_year, int(m[2]), int(m[3])), (int(m[4] or start_year), int(m[5]), int(m[6])))
    m = re.fullmatch(rf"{_Y}(?:年|[./-]){_N}月?{_SEP}(?:{_Y}(?:年|[./-]))?{_N}月?(?:底|末)?{_BEFORE}", text)
    if m:
        start_year = int(m[1])
        return _period((start_year, int(m[2]), 1), (int(m[3] or start_year), int(m[4]), None))
    m = re.fullmatch(rf"{_Y}年?{_SEP}{_Y}年(?:底|末)?{_BEFORE}", text)
    if m:
        return _period((int(m[1]), 1, 1), (int(m[2]), 12, None))
    # Dates that take the evaluation year: 6月30日前, 12月底前, 12月前, 年底前, 2025年上半年
    m = re.fullmatch(rf"{_N}月{_N}日{_BEFORE}", bare)
    if m:
        return _deadline(year, int(m[1]), int(m[2]), needs_year=True)
    m = re.fullmatch(rf"{_N}月(?:(?:底|末)(?:之前|以前|前)?|之前|以前|前)", bare)
    if m:
        return _deadline(year, int(m[1]), None, needs_year=True)
    words = "|".join(re.escape(w) for w in _longest_first(YEAR_PERIODS))
    m = re.fullmatch(rf"(?:{_Y}年)?({words})(?:底|末)?{_BEFORE}", bare)
    if m:
        own_year = int(m[1]) if m[1] else year
        return _deadline(own_year, YEAR_PERIODS[m[2]], None, needs_year=True)
    return None


def _deadline(year: int | None, month: int, day: int | None, *, needs_year: bool = False) -> dict:
    result = {"op": "deadline", "dimension": "date"}
    if needs_year and year is None:
        return {**result, "error": ERRORS["no_year"]}
    date = _day(year, month, day)
    if date is None:
        return {**result, "error": ERRORS["bad_date"]}
    return {**result, "deadline": date}


def _period(start: tuple[int, int, int], end: tuple[int, int, int | None]) -> dict:
    first, last = _day(*start), _day(*end)
    if first is None or last is None:
        return {"op": "deadline", "dimension": "date", "error": ERRORS["bad_date"]}
    if first > last:
        return {"op": "deadline", "dimension": "date", "error": ERRORS["bad_period"]}
    return {"op": "deadline", "dimension": "date", "deadline": last}


# ---------------------------------------------------------------------------- numbers


def _range(text: str) -> dict | None:
    """`80%-90%`, `80~90%`, `80%至90%`, `1-2万元`."""
    _, body = _strip_prefix(text, NEUTRAL_PREFIXES)
    multipliers = "|".join(re.escape(w) for w in _longest_first(MULTIPLIERS))
    unit = rf"%|[{_HAN}A-Za-z][{_HAN}A-Za-z/·²³]*?"
    m = re.fullmatch(
        rf"({_NUMBER})({multipliers})?({unit})?{_SEP}({_NUMBER})({multipliers})?({unit})?", body
    )
    if not m:
        return None
    low_number, low_mult, low_unit, high_number, high_mult, high_unit = m.groups()
    if low_mult is None and low_unit is None:
        low_mult = high_mult
    low = _to_float(low_number) * MULTIPLIERS.get(low_mult, 1.0)
    high = _to_float(high_number) * MULTIPLIERS.get(high_mult, 1.0)
    if low_unit is not None and high_unit is not None and _unit_info(low_unit)[0] != _unit_info(high_unit)[0]:
        return {"error": ERRORS["range_units"]}
    if low > high:
        return {"error": ERRORS["range_order"]}
    unit, dimension, factor = _unit_info(high_unit if high_unit is not None else low_unit)
    return {"op": "range", "value": low * factor, "value_hi": high * factor, "unit": unit, "dimension": dimension}


def _unit_and_suffix(rest: str) -> tuple[str, str] | None:
    """(unit, suffix operator) of what follows the number: the longest suffix operator (or none)
    that leaves a valid unit (or nothing)."""
    for suffix in [*_longest_first(SUFFIX_OPERATORS), ""]:
        if rest.endswith(suffix):
            written = rest[: len(rest) - len(suffix)]
            if written == "" or _is_unit(written):
                return written, suffix
    return None


def _quantity(text: str) -> dict | None:
    """[neutral prefix][operator] number [multiplier][unit][suffix operator]."""
    _, rest = _strip_prefix(text, NEUTRAL_PREFIXES)
    before_word, rest = _strip_prefix(rest, PREFIX_OPERATORS)
    soft_word = None
    if before_word is None:
        soft_word, rest = _strip_prefix(rest, SOFT_PREFIX_OPERATORS)
    number = re.match(_NUMBER, rest)
    if number is None:
        return None
    rest = rest[number.end() :]
    multiplier, after_multiplier = _strip_prefix(rest, MULTIPLIERS)
    # A multiplier counts unless what follows it cannot be a unit (`5万/人`: unit `万/人`).
    for multiplier, rest in ((multiplier, after_multiplier), (None, rest)):
        split = _unit_and_suffix(rest)
        if split is not None:
            break
    else:
        return None
    written, suffix = split
    after_word = suffix or None
    before = PREFIX_OPERATORS.get(before_word) if before_word else None
    after = SUFFIX_OPERATORS.get(after_word) if after_word else None
    if before is not None and after is not None and before != after:
        return {"error": ERRORS["operators"]}
    op = before or after or (SOFT_PREFIX_OPERATORS[soft_word] if soft_word else None) or "eq"
    unit, dimension, factor = _unit_info(written or None)
    value = _to_float(number[0]) * MULTIPLIERS.get(multiplier, 1.0) * factor
    return {"op": op, "value": value, "unit": unit, "dimension": dimension}


# ---------------------------------------------------------------------------- entry points


def parse_text(text: str | None, year: int | None = None) -> dict:
    """One text -> {op, value, value_hi, deadline, unit, dimension, error} (same as parse_values)."""
    result = dict.fromkeys(("op", "value", "value_hi", "deadline", "unit", "dimension", "error"))
    if text is None:
        return {**result, "error": ERRORS["empty"]}
    s = normalize(text)
    if s == "":
        return {**result, "error": ERRORS["empty"]}
    for found in (_dates(s, year), _range(s), _quantity(s)):
        if found is not None:
            return {**result, **found}
    if not re.search("[0-9]", s):
        if s[0] in "≥≤<>=":
            return {**result, "error": ERRORS["no_number"]}
        return {**result, "op": "qualitative"}
    return {**result, "error": ERRORS["unrecognised"]}


def parse_texts(texts, year: int | None = None) -> list[dict]:
    """parse_text over a sequence, each result with its `text`."""
    return [{"text": text, **parse_text(text, year)} for text in texts]
