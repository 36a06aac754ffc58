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
    BRACKET_IGNORED,
    NOTE_MIN_CHARS,
    CHAR_MAP,
    DATE_PREFIXES,
    DURATION_DATE_PREFIXES,
    ERRORS,
    MULTIPLIERS,
    NEUTRAL_PREFIXES,
    NEUTRAL_SUFFIXES,
    OPERATOR_DIGRAPHS,
    APPROX_MORE,
    PREFIX_OPERATORS,
    RANGE_SEPARATORS,
    REPEATED_SEPARATORS,
    SCIENTIFIC,
    SOFT_PREFIX_OPERATORS,
    SUFFIX_OPERATORS,
    TRAILING_PUNCTUATION,
    TRAILING_WORDS,
    UNITS,
    WHITESPACE,
    YEAR_PERIODS,
)

__all__ = ["normalize", "parse_text", "parse_texts"]

_TRANSLATION = str.maketrans(CHAR_MAP)
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNIT = re.compile(rf"%|‰|[{_HAN}A-Za-z][{_HAN}A-Za-z/·²³]*")
_NUMBER = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?"
_Y = r"(19[0-9]{2}|20[0-9]{2})"
_N = r"([0-9]{1,2})"
_M = r"(1[0-2]|0?[1-9])"  # a month number that can only be a month
_BEFORE = r"(?:之前|以前|前)?"
_SEP = "(?:" + "|".join(re.escape(s) for s in RANGE_SEPARATORS) + ")"


def _longest_first(words):
    return sorted(words, key=lambda w: (-len(w), w))


_W = "(?:" + "|".join(re.escape(w) for w in _longest_first(TRAILING_WORDS)) + ")?"  # a trailing word


def normalize(text: str) -> str:
    """Whitespace removed, full-width folded, `>=`/`<=` unified, runs of `-`/`~` made one,
    trailing punctuation dropped."""
    text = re.sub(f"[{WHITESPACE}]+", "", text)
    text = text.translate(_TRANSLATION)
    for digraph, symbol in OPERATOR_DIGRAPHS.items():
        text = text.replace(digraph, symbol)
    text = re.sub(APPROX_MORE, r"\1", text)
    for separator in REPEATED_SEPARATORS:
        while separator * 2 in text:
            text = text.replace(separator * 2, separator)
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
    """(normalised unit, dimension, factor) of a written unit; a rate (`万元/月`) has its numerator
    normalised and the rest kept, dimension rate."""
    if written is None:
        return None, None, 1.0
    if "/" in written:
        numerator, per = written.split("/", 1)
        unit, _, factor = UNITS.get(numerator, (numerator, None, 1.0))
        return f"{unit}/{per}", "rate", factor
    if written in UNITS:
        return UNITS[written]
    return written, "count", 1.0


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


def _dates(text: str, year: int | None) -> dict | None:
    """A deadline (or None when the text is not a date). Any date may end in a trailing word
    (`2025年6月底前完成`, `12月底到位`)."""
    prefix, bare = _strip_prefix(text, DATE_PREFIXES)
    # One day: 2025年6月30日前, 2025-06-30, 2025/6/30, 2025.06.30
    m = re.fullmatch(rf"{_Y}(?:年|[./-]){_N}(?:月|[./-]){_N}日?{_BEFORE}{_W}", bare)
    if m:
        return _deadline(int(m[1]), int(m[2]), int(m[3]))
    # One month: 2025年12月, 2025年6月底前, 2025-06, 2025/6 (not 2025.06: a decimal)
    m = re.fullmatch(rf"{_Y}(?:年{_N}(?:月份?)?|[/-]{_N}(?:月份?)?)(?:底|末)?{_BEFORE}{_W}", bare)
    if m:
        return _deadline(int(m[1]), int(m[2] or m[3]), None)
    # One year: 2025年, 2025年底前, 2025年度
    m = re.fullmatch(rf"{_Y}年(?:年底|年末|年度内|年度|年内|底|末|度内|度|内)?{_BEFORE}{_W}", bare)
    if m:
        return _deadline(int(m[1]), 12, None)
    # Periods: the end counts
    m = re.fullmatch(
        rf"{_Y}(?:年|[./-]){_N}(?:月|[./-]){_N}日?{_SEP}(?:{_Y}(?:年|[./-]))?{_N}(?:月|[./-]){_N}日?{_BEFORE}{_W}",
        text,
    )
    if m:
        start_year = int(m[1])
        return _period((start_year, int(m[2]), int(m[3])), (int(m[4] or start_year), int(m[5]), int(m[6])))
    m = re.fullmatch(rf"{_Y}(?:年|[./-]){_N}月?{_SEP}(?:{_Y}(?:年|[./-]))?{_N}(?:月份?)?(?:底|末)?{_BEFORE}{_W}", text)
    if m:
        start_year = int(m[1])
        return _period((start_year, int(m[2]), 1), (int(m[3] or start_year), int(m[4]), None))
    m = re.fullmatch(rf"{_Y}年?{_SEP}{_Y}年(?:底|末)?{_BEFORE}{_W}", text)
    if m:
        return _period((int(m[1]), 1, 1), (int(m[2]), 12, None))
    # Dates that take the evaluation year: 6月30日前, 12月底前, 12月前, 7月, 3-10月, 年底前, 上半年
    m = re.fullmatch(rf"{_N}月{_N}日{_BEFORE}{_W}", bare)
    if m:
        return _deadline(year, int(m[1]), int(m[2]), needs_year=True)
    m = re.fullmatch(rf"{_N}月份?((?:底|末)?(?:之前|以前|前)?){_W}", bare)
    # ... a bare month (`7月`) only if it can be one and no `≤`/`<` makes it a duration (`≤7月`)
    if m and (m[2] or (1 <= int(m[1]) <= 12 and prefix not in DURATION_DATE_PREFIXES)):
        return _deadline(year, int(m[1]), None, needs_year=True)
    m = re.fullmatch(rf"{_M}(?:月(?:{_N}日)?)?{_SEP}{_M}月份?(?:{_N}日|底|末)?{_BEFORE}{_W}", text)
    if m:
        if year is None:
            return {"op": "deadline", "dimension": "date", "error": ERRORS["no_year"]}
        start_day = int(m[2]) if m[2] else 1
        return _period((year, int(m[1]), start_day), (year, int(m[3]), int(m[4]) if m[4] else None))
    words = "|".join(re.escape(w) for w in _longest_first(YEAR_PERIODS))
    m = re.fullmatch(rf"(?:{_Y}年)?({words})(?:底|末)?{_BEFORE}{_W}", bare)
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

_MULTIPLIERS_RE = "|".join(re.escape(w) for w in _longest_first(MULTIPLIERS))
_UNIT_RE = rf"%|‰|[{_HAN}A-Za-z][{_HAN}A-Za-z/·²³]*?"
_IGNORED_RE = "|".join(re.escape(w) for w in _longest_first(BRACKET_IGNORED))
_POST = _longest_first([*SUFFIX_OPERATORS, *NEUTRAL_SUFFIXES])


def _written(multiplier: str | None, unit: str | None) -> dict:
    """value factor, unit, dimension, scale and unit_text of a multiplier and unit as written."""
    normalised, dimension, factor = _unit_info(unit)
    scale = MULTIPLIERS.get(multiplier, 1.0) * factor
    return {"unit": normalised, "dimension": dimension, "scale": scale,
            "unit_text": ((multiplier or "") + (unit or "")) or None}


def _range(text: str) -> dict | None:
    """`80%-90%`, `80~90%`, `80%至90%`, `1-2万元`, `1-2（万元）`."""
    _, body = _strip_prefix(text, NEUTRAL_PREFIXES)
    m = re.fullmatch(
        rf"({_NUMBER})({_MULTIPLIERS_RE})?({_UNIT_RE})?{_SEP}({_NUMBER})({_MULTIPLIERS_RE})?({_UNIT_RE})?"
        rf"(?:\((?:{_IGNORED_RE}|({_MULTIPLIERS_RE})?({_UNIT_RE}))\))?{_W}",
        body,
    )
    if not m:
        return None
    low_number, low_mult, low_unit, high_number, high_mult, high_unit, bracket_mult, bracket_unit = m.groups()
    if bracket_unit is not None and bracket_mult is None and _is_note(bracket_unit):
        bracket_unit = None
    unit = high_unit if high_unit is not None else low_unit
    if unit is None:  # the bracket fills in
        unit, high_mult = bracket_unit, high_mult or bracket_mult
    if low_mult is None and low_unit is None:
        low_mult = high_mult
    low = _to_float(low_number) * MULTIPLIERS.get(low_mult, 1.0)
    high = _to_float(high_number) * MULTIPLIERS.get(high_mult, 1.0)
    if low_unit is not None and high_unit is not None and _unit_info(low_unit)[0] != _unit_info(high_unit)[0]:
        return {"error": ERRORS["range_units"]}
    if unit is not None and bracket_unit is not None and _unit_info(unit)[0] != _unit_info(bracket_unit)[0]:
        return {"error": ERRORS["unit_restated"]}
    if low > high:
        return {"error": ERRORS["range_order"]}
    factor = _unit_info(unit)[2]
    return {"op": "range", "op_written": True, "value": low * factor, "value_hi": high * factor,
            **_written(high_mult, unit)}


def _is_note(word: str) -> bool:
    """A bracketed word that restates no unit: three or more characters, no known unit, no rate."""
    return "/" not in word and word not in UNITS and len(word) >= NOTE_MIN_CHARS


def _bracket(text: str) -> tuple[str | None, str | None, str] | None:
    """A unit restated in brackets at the start of `text`: (multiplier, unit, the rest); None
    when `text` does not start with one. A bracket that restates nothing (`（含）`): (None, None, rest)."""
    close = text.find(")")
    if not text.startswith("(") or close < 0:
        return None
    content, rest = text[1:close], text[close + 1 :]
    if content in BRACKET_IGNORED:
        return None, None, rest
    multiplier, unit = _strip_prefix(content, MULTIPLIERS)
    if multiplier is not None and _is_unit(unit):
        return multiplier, unit, rest
    if _is_unit(content) and _is_note(content):
        return None, None, rest  # a note (`96%（抽样核查）`), not a restated unit
    return (None, content, rest) if _is_unit(content) else None


def _closing(text: str) -> tuple[str | None, str | None] | None:
    """(suffix word, trailing word) when `text` is [suffix operator or 左右][trailing word], else None."""
    for post in [*_POST, ""]:
        if text.startswith(post):
            rest = text[len(post) :]
            if rest == "" or rest in TRAILING_WORDS:
                return post or None, rest or None
    return None


def _quantity_parts(text: str) -> dict | None:
    """[neutral prefix][operator] number [multiplier][unit][(unit)][suffix operator][trailing word]:
    the pieces as written, or None. Where several splits fit, the one the grammar's regular
    expression takes: with the multiplier before without, the shortest unit first."""
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
    candidates = [(multiplier, after_multiplier), (None, rest)] if multiplier else [(None, rest)]
    for multiplier, tail in candidates:
        for cut in range(len(tail) + 1):
            unit = tail[:cut] or None
            if unit is not None and not _is_unit(unit):
                continue
            bracket = _bracket(tail[cut:])
            if bracket is None and tail[cut:].startswith("("):
                continue
            bracket_mult, bracket_unit, after = bracket or (None, None, tail[cut:])
            closing = _closing(after)
            if closing is not None:
                return {"before": before_word, "soft": soft_word, "number": number[0], "multiplier": multiplier,
                        "unit": unit, "bracket_multiplier": bracket_mult, "bracket_unit": bracket_unit,
                        "post": closing[0]}
    return None


def _quantity(parts: dict) -> dict:
    """A quantity from its pieces: op from the prefix, else the suffix, else the soft prefix, else
    eq (a bare value); a bracketed unit fills in or must agree."""
    before = PREFIX_OPERATORS.get(parts["before"]) if parts["before"] else None
    after = SUFFIX_OPERATORS.get(parts["post"]) if parts["post"] else None
    if before is not None and after is not None and before != after:
        return {"error": ERRORS["operators"]}
    multiplier, unit = parts["multiplier"], parts["unit"]
    if unit is None:
        multiplier, unit = multiplier or parts["bracket_multiplier"], parts["bracket_unit"]
    elif parts["bracket_unit"] is not None and _unit_info(unit)[0] != _unit_info(parts["bracket_unit"])[0]:
        return {"error": ERRORS["unit_restated"]}
    written_op = before or after or (SOFT_PREFIX_OPERATORS[parts["soft"]] if parts["soft"] else None)
    written = _written(multiplier, unit)
    value = _to_float(parts["number"]) * MULTIPLIERS.get(multiplier, 1.0) * _unit_info(unit)[2]
    return {"op": written_op or "eq", "op_written": written_op is not None, "value": value, **written}


def _is_formula(text: str, parts: dict | None) -> bool:
    """`=A1*2`, `=SUM(B2:B9)`, `=44,561`: starts with `=` and is not a value. A value is a quantity
    with a unit or multiplier (`=100%`, `=1,150人`) or a number without thousands separator (`=0`)."""
    if not text.startswith("="):
        return False
    if parts is None:
        return True
    has_unit = any(parts[k] is not None for k in ("multiplier", "unit", "bracket_multiplier", "bracket_unit"))
    return not has_unit and "," in parts["number"]


# ---------------------------------------------------------------------------- entry points

FIELDS = ("op", "value", "value_hi", "deadline", "unit", "dimension", "error", "scale", "unit_text", "op_written")


def parse_text(text: str | None, year: int | None = None) -> dict:
    """One text -> {op, value, value_hi, deadline, unit, dimension, error, scale, unit_text,
    op_written} (same as parse_values)."""
    parsed = _parse(text, year)
    if text is not None and re.search(SCIENTIFIC, normalize(text)):
        # an error keeps nothing but a deadline's op and dimension (as every error does)
        deadline = {"op": "deadline", "dimension": "date"} if parsed["op"] == "deadline" else {}
        return {**dict.fromkeys(FIELDS), **deadline, "error": ERRORS["scientific"]}
    return parsed


def _parse(text: str | None, year: int | None) -> dict:
    result = dict.fromkeys(FIELDS)
    if text is None:
        return {**result, "error": ERRORS["empty"]}
    s = normalize(text)
    if s == "":
        return {**result, "error": ERRORS["empty"]}
    parts = _quantity_parts(s)
    if _is_formula(s, parts):
        return {**result, "error": ERRORS["formula"]}
    for found in (_dates(s, year), _range(s), _quantity(parts) if parts else None):
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
