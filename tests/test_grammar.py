"""The value grammar (SPEC.md §4): cases as data, the API's contract, and the differential check
against the plain reference parser.

A case's expected row always states op, value, value_hi, deadline, unit, dimension and error; it
states scale, unit_text and op_written where the case is about them (all the section-4 cases of
"Real target and self-evaluation tables score right" do). Every case is also compared in full,
all fields, with the reference parser (`test_differential_on_cases`)."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from selfeval import grammar
from selfeval.grammar import ERRORS, parse_expr, parse_values, parsed_fields
from selfeval.grammar_reference import parse_text, parse_texts
from selfeval.ingest import read_actuals, read_declared
from selfeval.schema import PARSED_VALUES

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
YEAR = 2025


UNSTATED = object()  # a new field (scale, unit_text, op_written) the case does not state
NEW_FIELDS = ("scale", "unit_text", "op_written")


def row(
    op=None,
    value=None,
    value_hi=None,
    deadline=None,
    unit=None,
    dimension=None,
    error=None,
    *,
    scale=UNSTATED,
    unit_text=UNSTATED,
    written=UNSTATED,
) -> dict:
    """An expected parse; `error` is a key of grammar.ERRORS; `written` is op_written. A row with
    no number (error, deadline, qualitative) states the new fields: all null."""
    expected = {
        "op": op,
        "value": value,
        "value_hi": value_hi,
        "deadline": deadline,
        "unit": unit,
        "dimension": dimension,
        "error": ERRORS[error] if error else None,
    }
    if value is None and scale is UNSTATED:
        scale, unit_text, written = None, None, None
    new = {"scale": scale, "unit_text": unit_text, "op_written": written}
    return {**expected, **{k: v for k, v in new.items() if v is not UNSTATED}}


def pct(op, value, **new):
    return row(op, value, unit="%", dimension="percent", **new)


def money(op, value, **new):
    return row(op, value, unit="元", dimension="money", **new)


def count(op, value, unit, **new):
    return row(op, value, unit=unit, dimension="count", **new)


def duration(op, value, unit, **new):
    return row(op, value, unit=unit, dimension="duration", **new)


def rate(op, value, unit, **new):
    return row(op, value, unit=unit, dimension="rate", **new)


def span(low, high, unit=None, dimension=None, **new):
    return row("range", low, high, unit=unit, dimension=dimension, **new)


PERCENT = {"scale": 1.0, "unit_text": "%"}  # the new fields of a value in %


def due(year, month, day):
    return row("deadline", deadline=dt.date(year, month, day), dimension="date")


def stated(parsed: dict, expected: dict) -> dict:
    """`parsed` cut to the fields `expected` states."""
    return {k: parsed[k] for k in expected}


QUALITATIVE = row("qualitative")

# SPEC.md §4 "Examples that must parse exactly".
# The new fields: scale (value / the number as written), unit_text (as written), op_written
# (False: a bare value, its op left to the indicator's direction).
SPEC_EXAMPLES = [
    ("≥95百分比", pct("ge", 95, scale=1.0, unit_text="百分比", written=True)),
    ("≤20000元", money("le", 20000, scale=1.0, unit_text="元", written=True)),
    ("2万元", money("eq", 20000, scale=1e4, unit_text="万元", written=False)),
    ("每年8.9万元", money("eq", 89000, scale=1e4, unit_text="万元", written=False)),
    ("≥3月", duration("ge", 3, "月", scale=1.0, unit_text="月", written=True)),
    ("5人", count("eq", 5, "人", scale=1.0, unit_text="人", written=False)),
    ("2025年", due(2025, 12, 31)),
    ("≥1.2万人次", count("ge", 12000, "人次", scale=1e4, unit_text="万人次", written=True)),
    ("=100%", pct("eq", 100, **PERCENT, written=True)),
    ("≤5个工作日", duration("le", 5, "天", scale=1.0, unit_text="个工作日", written=True)),
    ("不低于90%", pct("ge", 90, **PERCENT, written=True)),
    ("80%-90%", span(80, 90, "%", "percent", **PERCENT, written=True)),
    ("有效提升", QUALITATIVE),
]

# One group per rule; texts from the issue, the seed and real tables. Parsed with year=2025.
OPERATOR_CASES = [
    ("≧95%", pct("ge", 95)),
    ("≦5%", pct("le", 5)),
    ("＞3", row("gt", 3)),
    ("＜3", row("lt", 3)),
    ("═100%", pct("eq", 100)),
    ("﹦100%", pct("eq", 100)),
    ("＝100%", pct("eq", 100)),
    ("≥ 95%", pct("ge", 95)),
    (" ≥95 % ", pct("ge", 95)),
    (">=90%", pct("ge", 90)),
    ("＞＝90%", pct("ge", 90)),
    ("<=5%", pct("le", 5)),
    ("＜＝5%", pct("le", 5)),
    (">90%", pct("gt", 90)),
    ("大于90%", pct("gt", 90)),
    ("高于90%", pct("gt", 90)),
    ("超过20次", count("gt", 20, "次")),
    ("<3次", count("lt", 3, "次")),
    ("小于3次", count("lt", 3, "次")),
    ("低于5%", pct("lt", 5)),
    ("等于100%", pct("eq", 100)),
    ("不少于20次", count("ge", 20, "次")),
    ("至少20次", count("ge", 20, "次")),
    ("大于等于90%", pct("ge", 90)),
    ("20次以上", count("ge", 20, "次")),
    ("20次及以上", count("ge", 20, "次")),
    ("95%以上", pct("ge", 95, **PERCENT, written=True)),
    ("不高于5%", pct("le", 5, **PERCENT, written=True)),
    ("不超过5万元", money("le", 50000)),
    ("不大于3次", count("le", 3, "次")),
    ("小于等于3次", count("le", 3, "次")),
    ("5%以内", pct("le", 5)),
    ("5%以下", pct("le", 5)),
    ("5天内", duration("le", 5, "天")),
    ("控制在5万元以内", money("le", 50000)),
    ("控制在5%", pct("le", 5, **PERCENT, written=True)),
    ("控制在90%以上", pct("ge", 90)),
    ("100%", pct("eq", 100)),
    ("96", row("eq", 96, scale=1.0, unit_text=None, written=False)),
    ("≤5以上", row(error="operators")),
]

NUMBER_CASES = [
    ("1,150人", count("eq", 1150, "人")),
    ("1，150人", count("eq", 1150, "人")),
    ("1,150次", count("eq", 1150, "次")),
    ("12,345,678元", money("eq", 12345678)),
    ("９５％", pct("eq", 95)),
    ("９５．５％", pct("eq", 95.5)),
    ("95.5%", pct("eq", 95.5)),
    ("1.2亿元", money("eq", 1.2e8, scale=1e8, unit_text="亿元", written=False)),
    ("1.96万元", money("eq", 19600)),
    ("1.2万", row("eq", 12000, scale=1e4, unit_text="万", written=False)),
    ("3千元", money("eq", 3000, scale=1e3, unit_text="千元", written=False)),
    ("全年8.9万元", money("eq", 89000)),
    ("年均2次", count("eq", 2, "次")),
    ("每年不少于4次", count("ge", 4, "次")),
    ("0", row("eq", 0)),
]

UNIT_CASES = [
    # per mille is a percent ÷ 10; traditional multipliers; 余 (and more) after a number
    ("96%（抽样核查）", pct("eq", 96, written=False)),  # a bracketed note, not a restated unit
    ("≥95%(据统计)", pct("ge", 95)),
    ("0-0(元/亩)", rate("range", 0, "元/亩", value_hi=0, unit_text="元/亩")),  # a rate in brackets is a unit
    ("≤0.9‰", pct("le", 0.9 * 0.1, scale=0.1, unit_text="‰")),
    ("0.35‰", pct("eq", 0.35 * 0.1, scale=0.1, unit_text="‰", written=False)),
    ("≤38萬元", money("le", 380000, scale=1e4, unit_text="万元")),
    ("1.2億元", money("eq", 1.2e8, scale=1e8, unit_text="亿元", written=False)),
    ("300余人", count("eq", 300, "人", unit_text="人", written=False)),
    ("120万余人次", count("eq", 1.2e6, "人次", scale=1e4, unit_text="万人次", written=False)),
    ("≥95百分点", pct("ge", 95)),
    ("≥3年", duration("ge", 3, "年")),
    ("3个月", duration("eq", 3, "月")),
    ("≥1月", duration("ge", 1, "月")),
    ("2周", duration("eq", 2, "周")),
    ("2星期", duration("eq", 2, "周")),
    ("10天", duration("eq", 10, "天")),
    ("10日", duration("eq", 10, "天")),
    ("10工作日", duration("eq", 10, "天")),
    ("5公里", count("eq", 5000, "米", scale=1e3, unit_text="公里", written=False)),
    ("5千米", count("eq", 5000, "米")),
    ("≥5.6km", count("ge", 5600, "米", scale=1e3, unit_text="km")),
    ("300米", count("eq", 300, "米")),
    ("3吨", count("eq", 3000, "千克")),
    ("2公顷", count("eq", 30, "亩", scale=15.0, unit_text="公顷", written=False)),
    ("200亩", count("eq", 200, "亩")),
    ("≥900次", count("ge", 900, "次")),
    ("3个", count("eq", 3, "个")),
    ("12项", count("eq", 12, "项")),
    ("2场", count("eq", 2, "场")),
    ("50户", count("eq", 50, "户")),
    ("1000平方米", count("eq", 1000, "平方米")),
    # dimension rate since section 4 (was other): a rate compares only with the same rate unit
    ("1600元/亩", rate("eq", 1600, "元/亩", scale=1.0, unit_text="元/亩", written=False)),
    ("5万元/公里", rate("eq", 50000, "元/公里", scale=1e4, unit_text="万元/公里", written=False)),
]

RANGE_CASES = [
    ("80~90%", row("range", 80, 90, unit="%", dimension="percent")),
    ("80～90%", row("range", 80, 90, unit="%", dimension="percent")),
    ("80%至90%", row("range", 80, 90, unit="%", dimension="percent")),
    ("80-90%", row("range", 80, 90, unit="%", dimension="percent")),
    ("80到90", row("range", 80, 90)),
    ("1-2万元", row("range", 10000, 20000, unit="元", dimension="money")),
    ("5个至10个", row("range", 5, 10, unit="个", dimension="count")),
    ("90-80%", row(error="range_order")),
    ("80%-90元", row(error="range_units")),
]

DATE_CASES = [
    ("2025年", due(2025, 12, 31)),
    ("2025年前", due(2025, 12, 31)),
    ("2025年底前", due(2025, 12, 31)),
    ("2025年年底前", due(2025, 12, 31)),
    ("2025年12月", due(2025, 12, 31)),
    ("2025年6月", due(2025, 6, 30)),
    ("2024年2月", due(2024, 2, 29)),
    ("2025年6月底前", due(2025, 6, 30)),
    ("2025-06", due(2025, 6, 30)),
    ("2025年6月30日前", due(2025, 6, 30)),
    ("2025年6月30日", due(2025, 6, 30)),
    ("截至2025年6月30日", due(2025, 6, 30)),
    ("2025-06-30", due(2025, 6, 30)),
    ("2025/6/30", due(2025, 6, 30)),
    ("2025.06.30", due(2025, 6, 30)),
    ("2023.07-2024.01", due(2024, 1, 31)),
    ("2023年7月-2024年1月", due(2024, 1, 31)),
    ("2025年1月-12月", due(2025, 12, 31)),
    ("2025.1.1-2025.6.30", due(2025, 6, 30)),
    ("2024-2025年", due(2025, 12, 31)),
    ("12月底前", due(YEAR, 12, 31)),
    ("12月前", due(YEAR, 12, 31)),
    ("6月30日前", due(YEAR, 6, 30)),
    ("年底前", due(YEAR, 12, 31)),
    ("上半年", due(YEAR, 6, 30)),
    ("三季度", due(YEAR, 9, 30)),
    ("2026年上半年", due(2026, 6, 30)),
    ("2025年13月", row("deadline", dimension="date", error="bad_date")),
    ("2025年2月30日", row("deadline", dimension="date", error="bad_date")),
    ("2024.01-2023.07", row("deadline", dimension="date", error="bad_period")),
]

QUALITATIVE_CASES = [
    (text, QUALITATIVE)
    for text in ("有效提升", "达到预期", "确保群众满意", "是", "否", "优良", "长期", "良好", "明显改善", "Yes")
]

ERROR_CASES = [
    ("", row(error="empty")),
    ("   ", row(error="empty")),
    ("　", row(error="empty")),
    (None, row(error="empty")),
    ("≥百分比", row(error="no_number")),
    ("第1名", row(error="unrecognised")),
    ("95%，98%", row(error="unrecognised")),
    ("1,2345人", row(error="unrecognised")),
    ("-5%", row(error="unrecognised")),
]

# ---------------------------------------------------------------------------- section 4 of
# "Real target and self-evaluation tables score right": value grammar on real texts.

# A unit restated in brackets after the value: fills in where the value has none, must agree.
BRACKET_CASES = [
    ("≥90%（百分比）", pct("ge", 90, **PERCENT, written=True)),
    (">=98%(百分比)", pct("ge", 98, **PERCENT, written=True)),
    ("≥20（个）", count("ge", 20, "个", scale=1.0, unit_text="个", written=True)),
    ("≥20(个)", count("ge", 20, "个", scale=1.0, unit_text="个", written=True)),
    ("≥95%（%）", pct("ge", 95, **PERCENT, written=True)),
    ("≥８０％（百分比）", pct("ge", 80, **PERCENT, written=True)),
    ("≥5（万元）", money("ge", 50000, scale=1e4, unit_text="万元", written=True)),
    ("5万（元）", money("eq", 50000, scale=1e4, unit_text="万元", written=False)),
    ("≤3（个工作日）", duration("le", 3, "天", scale=1.0, unit_text="个工作日", written=True)),
    ("≥90%（含）", pct("ge", 90, **PERCENT, written=True)),
    ("90%（含）以上", pct("ge", 90, **PERCENT, written=True)),
    ("≥20（个）以上", count("ge", 20, "个", scale=1.0, unit_text="个", written=True)),
    ("80-90（%）", span(80, 90, "%", "percent", **PERCENT, written=True)),
    ("1-2（万元）", span(10000, 20000, "元", "money", scale=1e4, unit_text="万元", written=True)),
    ("≥90%（个）", row(error="unit_restated")),
    ("≥3万元（人次）", row(error="unit_restated")),
]

# A value followed by a trailing word (完成, 覆盖, 到位, 达标 …) that changes nothing.
TRAILING_WORD_CASES = [
    ("100%覆盖", pct("eq", 100, **PERCENT, written=False)),
    ("100%完成", pct("eq", 100, **PERCENT, written=False)),
    ("100%全覆盖", pct("eq", 100, **PERCENT, written=False)),
    ("100%合格", pct("eq", 100, **PERCENT, written=False)),
    ("≥95%以上达标", pct("ge", 95, **PERCENT, written=True)),
    ("20次完成", count("eq", 20, "次", scale=1.0, unit_text="次", written=False)),
    ("20人次覆盖", count("eq", 20, "人次", scale=1.0, unit_text="人次", written=False)),
    ("10户到位", count("eq", 10, "户", scale=1.0, unit_text="户", written=False)),
    ("5天内完成", duration("le", 5, "天", scale=1.0, unit_text="天", written=True)),
    ("80%-90%完成", span(80, 90, "%", "percent", **PERCENT, written=True)),
    ("12月底到位", due(YEAR, 12, 31)),
    ("7月到位", due(YEAR, 7, 31)),
    ("2025年6月底前完成", due(2025, 6, 30)),
    ("2025年底前完成", due(2025, 12, 31)),
    ("6月30日前办结", due(YEAR, 6, 30)),
    ("年底前全部完成", due(YEAR, 12, 31)),
]

# Periods end on the last day of the later month; month-only texts take the unit's year; a bare
# month (1–12, no ≤/<) is a date, not a duration.
PERIOD_AND_MONTH_CASES = [
    ("2025年3月--2025年10月", due(2025, 10, 31)),
    ("2025年3月——2025年10月", due(2025, 10, 31)),
    ("2025年3月至10月", due(2025, 10, 31)),
    ("2025年3月-10月底", due(2025, 10, 31)),
    ("3-10月", due(YEAR, 10, 31)),
    ("3月-10月", due(YEAR, 10, 31)),
    ("3月至10月", due(YEAR, 10, 31)),
    ("3～10月", due(YEAR, 10, 31)),
    ("３－１０月", due(YEAR, 10, 31)),
    ("3月1日-10月15日", due(YEAR, 10, 15)),
    ("3-10月底前完成", due(YEAR, 10, 31)),
    ("1-2月", due(YEAR, 2, 28)),
    ("10-3月", row("deadline", dimension="date", error="bad_period")),
    ("3月1日-2月30日", row("deadline", dimension="date", error="bad_date")),
    ("3-15月", span(3, 15, "月", "duration", scale=1.0, unit_text="月", written=True)),
    ("1-3个月", span(1, 3, "月", "duration", scale=1.0, unit_text="个月", written=True)),
    ("7月", due(YEAR, 7, 31)),
    ("7月底", due(YEAR, 7, 31)),
    ("9月前", due(YEAR, 9, 30)),
    ("12月", due(YEAR, 12, 31)),
    ("7月份", due(YEAR, 7, 31)),
    ("2025年7月份", due(2025, 7, 31)),
    ("3-10月份", due(YEAR, 10, 31)),
    ("2月", due(YEAR, 2, 28)),
    ("截至7月", due(YEAR, 7, 31)),
    ("≤7月", duration("le", 7, "月", scale=1.0, unit_text="月", written=True)),
    ("18月", duration("eq", 18, "月", scale=1.0, unit_text="月", written=False)),
]

# Rates: money or count per period (or per head), dimension rate, money scaled to 元.
RATE_CASES = [
    ("620万元/月", rate("eq", 6_200_000, "元/月", scale=1e4, unit_text="万元/月", written=False)),
    ("3元/人", rate("eq", 3, "元/人", scale=1.0, unit_text="元/人", written=False)),
    ("2次/年", rate("eq", 2, "次/年", scale=1.0, unit_text="次/年", written=False)),
    ("≥2次/年", rate("ge", 2, "次/年", scale=1.0, unit_text="次/年", written=True)),
    ("≤3千元/人", rate("le", 3000, "元/人", scale=1e3, unit_text="千元/人", written=True)),
    ("1.5万元/人次", rate("eq", 15000, "元/人次", scale=1e4, unit_text="万元/人次", written=False)),
    ("５０元／人", rate("eq", 50, "元/人", scale=1.0, unit_text="元/人", written=False)),
    ("5公里/天", rate("eq", 5000, "米/天", scale=1e3, unit_text="公里/天", written=False)),
    ("不超过200元/人", rate("le", 200, "元/人", scale=1.0, unit_text="元/人", written=True)),
    ("10-20元/人", row("range", 10, 20, unit="元/人", dimension="rate", scale=1.0, unit_text="元/人", written=True)),
    ("4次/月以上", rate("ge", 4, "次/月", scale=1.0, unit_text="次/月", written=True)),
]

# Excel formulas that leak into text are a finding, never a number; a bare integer (a count, or
# a date serial the engine judges in context) is a number.
FORMULA_CASES = [
    ("=44,561", row(error="formula")),
    ("＝44,561", row(error="formula")),
    ("=A1*2", row(error="formula")),
    ("=SUM(B2:B9)", row(error="formula")),
    ("=B3", row(error="formula")),
    ("=", row(error="formula")),
    ("44561", row("eq", 44561, scale=1.0, unit_text=None, written=False)),
    ("=44561", row("eq", 44561, scale=1.0, unit_text=None, written=True)),
    ("=1,150人", count("eq", 1150, "人", scale=1.0, unit_text="人", written=True)),
    ("=0", row("eq", 0, scale=1.0, unit_text=None, written=True)),
]

# Operator words, about, full width; and the new fields of bare values with multipliers.
WORDING_CASES = [
    ("达到95%", pct("ge", 95, **PERCENT, written=True)),
    ("达到95%以上", pct("ge", 95, **PERCENT, written=True)),
    ("不少于5次", count("ge", 5, "次", scale=1.0, unit_text="次", written=True)),
    ("最少3次", count("ge", 3, "次", scale=1.0, unit_text="次", written=True)),
    ("不超过3个工作日", duration("le", 3, "天", scale=1.0, unit_text="个工作日", written=True)),
    ("不足5%", pct("lt", 5, **PERCENT, written=True)),
    ("９５％以上", pct("ge", 95, **PERCENT, written=True)),
    ("5天以内", duration("le", 5, "天", scale=1.0, unit_text="天", written=True)),
    ("5天以下", duration("le", 5, "天", scale=1.0, unit_text="天", written=True)),
    ("3万人次以上", count("ge", 30000, "人次", scale=1e4, unit_text="万人次", written=True)),
    ("约3万人次", count("eq", 30000, "人次", scale=1e4, unit_text="万人次", written=False)),
    ("3万人次左右", count("eq", 30000, "人次", scale=1e4, unit_text="万人次", written=False)),
    ("大约5%", pct("eq", 5, **PERCENT, written=False)),
    ("约为5天", duration("eq", 5, "天", scale=1.0, unit_text="天", written=False)),
    ("5%左右", pct("eq", 5, **PERCENT, written=False)),
    ("≥９５％", pct("ge", 95, **PERCENT, written=True)),
    ("＞＝９８％", pct("ge", 98, **PERCENT, written=True)),
    ("控制在５万元以内", money("le", 50000, scale=1e4, unit_text="万元", written=True)),
    ("8.9万元", money("eq", 89000, scale=1e4, unit_text="万元", written=False)),
    ("3百万元", money("eq", 3e6, scale=1e6, unit_text="百万元", written=False)),
]

SECTION4_CASES = [
    *BRACKET_CASES,
    *TRAILING_WORD_CASES,
    *PERIOD_AND_MONTH_CASES,
    *RATE_CASES,
    *FORMULA_CASES,
    *WORDING_CASES,
]

CASES = [
    *SPEC_EXAMPLES,
    *OPERATOR_CASES,
    *NUMBER_CASES,
    *UNIT_CASES,
    *RANGE_CASES,
    *DATE_CASES,
    *QUALITATIVE_CASES,
    *ERROR_CASES,
    *SECTION4_CASES,
]

# Dates that need the evaluation year: without one, op deadline, no date, an error.
NEEDS_YEAR = ["12月底前", "12月前", "6月30日前", "年底前", "上半年", "7月", "7月底", "9月前", "3-10月", "3月1日-10月15日",
              "12月底到位"]


def _parsed(texts, year=YEAR) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "text"} for r in parse_values(texts, year=year).iter_rows(named=True)]


@pytest.fixture(scope="module")
def parsed_cases() -> dict:
    """Every case parsed in one call (a call per case would mostly time query planning)."""
    texts = [t for t, _ in CASES]
    return dict(zip(texts, _parsed(texts), strict=True))


@pytest.mark.parametrize(("text", "expected"), SPEC_EXAMPLES, ids=[t for t, _ in SPEC_EXAMPLES])
def test_spec_examples(text, expected):
    """It should parse every example of SPEC.md §4 exactly, also on its own."""
    assert [stated(p, expected) for p in _parsed([text])] == [expected]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[repr(t) for t, _ in CASES])
def test_case(parsed_cases, text, expected):
    """It should parse each rule's cases to the expected fields."""
    assert stated(parsed_cases[text], expected) == expected


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[repr(t) for t, _ in CASES])
def test_reference_case(text, expected):
    """It should give the same answer from the reference parser (the oracle is right too)."""
    assert stated(parse_text(text, YEAR), expected) == expected


def test_dates_without_year():
    """It should mark a date that names no year as a deadline with an error when no year is given."""
    assert _parsed(NEEDS_YEAR, year=None) == [row("deadline", dimension="date", error="no_year")] * len(NEEDS_YEAR)


def test_month_bounds_match_the_calendar():
    """It should give the epoch day of every month's 1st and the month's length (leap years
    included) exactly as the calendar does, for every month of years 1-9999."""
    import calendar

    months = pl.DataFrame({"y": range(1, 10_000)}, schema={"y": pl.Int32}).join(
        pl.DataFrame({"m": range(1, 13)}, schema={"m": pl.Int32}), how="cross"
    )
    bounds = grammar._month_bounds(pl.col("y"), pl.col("m"))
    got = months.select(bounds["first"].alias("first"), (bounds["following"] - bounds["first"]).alias("days"))
    epoch = dt.date(1970, 1, 1)
    rows = months.iter_rows()
    expected = [((dt.date(y, m, 1) - epoch).days, calendar.monthrange(y, m)[1]) for y, m in rows]
    assert got.rows() == expected


def test_all_cases_at_once_keep_order():
    """It should return one row per input, in order, with `text` equal to the input."""
    texts = [t for t, _ in CASES]
    frame = parse_values(texts, year=YEAR)
    assert frame.height == len(texts)
    assert frame.get_column("text").to_list() == texts
    assert [stated(p, e) for p, (_, e) in zip(_parsed(texts), CASES, strict=True)] == [e for _, e in CASES]


def test_schema():
    """It should return exactly the PARSED_VALUES columns and dtypes, also for no input."""
    assert parse_values(["≥95%", None], year=YEAR).schema == PARSED_VALUES
    assert parse_values([]).schema == PARSED_VALUES
    assert parse_values([]).height == 0


def test_series_input():
    """It should take a pl.Series (any name) as well as a list."""
    texts = ["≥95%", None, "2025年", "是", "≥95%"]
    from_series = parse_values(pl.Series("target_text", texts), year=YEAR)
    assert_frame_equal(from_series, parse_values(texts, year=YEAR))


# Spreadsheet cells as they arrive: (cell, the text it is parsed as).
CELLS = [
    (96.0, "96"),
    (96, "96"),
    (0.955, "0.955"),
    (1e-05, "0.00001"),
    (-3.0, "-3"),
    (44561, "44561"),
    (None, None),
    (float("nan"), None),
    ("≥95%", "≥95%"),
    (dt.date(2025, 6, 30), "2025-06-30"),
    (dt.datetime(2025, 6, 30, 0, 0), "2025-06-30"),
    (True, "true"),
]


def test_cells_numbers_and_none():
    """It should take numbers, None and dates mixed with strings, parsing each as its text."""
    cells, texts = zip(*CELLS, strict=True)
    parsed = parse_values(list(cells), year=YEAR)
    assert parsed.get_column("text").to_list() == list(texts)
    assert_frame_equal(parsed, parse_values(list(texts), year=YEAR))


@pytest.mark.parametrize(
    "series",
    [
        pl.Series([96.0, 0.955, 1e-05, -3.0, None, float("nan"), 44561.0]),
        pl.Series([96, None, 44561], dtype=pl.Int64),
        pl.Series([96, 3], dtype=pl.UInt8),
        pl.Series([dt.date(2025, 6, 30), None]),
        pl.Series([dt.datetime(2025, 6, 30, 12, 0)]),
        pl.Series([True, None]),
        pl.Series([None, None], dtype=pl.Null),
        pl.Series([0.955, 96.0], dtype=pl.Float32),
        pl.Series([[1, 2], None]),
    ],
    ids=lambda s: str(s.dtype),
)
def test_series_of_any_dtype(series):
    """It should take a pl.Series of any dtype and read each cell as `parse_values` reads it in a list."""
    assert_frame_equal(parse_values(series, year=YEAR), parse_values(series.to_list(), year=YEAR))


def test_new_fields_hang_together():
    """It should give scale exactly when there is a value, op_written exactly for a comparison
    (ge … eq, range), unit_text whenever there is a unit, and value_hi / value at the same scale."""
    texts = [t for t, _ in CASES]
    parsed = parse_values(texts, year=YEAR)
    comparison = pl.col("op").is_in(["ge", "le", "gt", "lt", "eq", "range"]) & pl.col("error").is_null()
    bad = parsed.filter(
        (pl.col("scale").is_null() != pl.col("value").is_null())
        | (pl.col("op_written").is_null() == comparison)
        | (pl.col("unit").is_not_null() & pl.col("unit_text").is_null())
        | (pl.col("unit_text").is_null() & (pl.col("scale") != 1.0))
        | ((pl.col("op") == "range") & ~pl.col("op_written"))
        | ((pl.col("dimension") == "rate") != pl.col("unit").str.contains("/", literal=True).fill_null(False))
    )
    assert bad.get_column("text").to_list() == []


def test_duplicates_and_distinct_off():
    """It should give the same rows whether distinct texts are parsed once or every row is parsed."""
    texts = [t for t, _ in CASES] * 3
    assert_frame_equal(parse_values(texts, year=YEAR), parse_values(texts, year=YEAR, distinct=False))


def test_parse_expr_struct():
    """It should give a struct with exactly the PARSED_VALUES fields, equal to parse_values."""
    texts = [t for t, _ in CASES]
    frame = pl.DataFrame({"text": texts}, schema={"text": pl.String})
    out = frame.select(pl.col("text"), parse_expr(pl.col("text"), YEAR).alias("parsed"))
    dtype = out.schema["parsed"]
    assert isinstance(dtype, pl.Struct)
    assert {f.name: f.dtype for f in dtype.fields} == {k: v for k, v in PARSED_VALUES.items() if k != "text"}
    assert_frame_equal(out.unnest("parsed"), parse_values(texts, year=YEAR))


def test_year_from_a_column():
    """It should take the year of each row from an expression (the unit's year)."""
    frame = pl.LazyFrame(
        {"t": ["12月底前", "12月底前", "年底前", "96%"], "year": [2024, 2025, None, None], "op": [1, 2, 3, 4]}
    )
    out = parsed_fields(frame, "t", pl.col("year")).collect()
    assert out.columns == ["t", "year", *grammar.FIELDS]  # `op` of the input replaced
    assert out.get_column("deadline").to_list() == [dt.date(2024, 12, 31), dt.date(2025, 12, 31), None, None]
    assert out.get_column("error").to_list()[2] == ERRORS["no_year"]
    as_expr = frame.select(parse_expr(pl.col("t"), pl.col("year")).alias("p")).unnest("p").collect()
    assert_frame_equal(as_expr, out.select(grammar.FIELDS))


def test_parse_frame_equals_parse_expr_and_leaves_the_frame_alone():
    """It should parse a frame's column eagerly exactly as the struct expression does, whatever
    other columns the frame has (even ones named like the stages' helpers: norm, form, year)."""
    texts = [t for t, _ in CASES] + [None, "", "12月底前"]
    frame = pl.DataFrame({"t": texts, "year": [YEAR] * len(texts), "norm": ["x"] * len(texts), "form": [1] * len(texts)})
    parsed = grammar.parse_frame(frame, "t", pl.col("year"))
    assert parsed.columns == list(grammar.FIELDS)
    as_expr = frame.select(parse_expr(pl.col("t"), pl.col("year")).alias("p")).unnest("p")
    assert_frame_equal(parsed, as_expr)


@pytest.mark.parametrize("year", [0, 10_000, 2**40])
def test_year_out_of_range(year):
    """It should refuse a year no date can have (a programming error, not a text error)."""
    with pytest.raises(ValueError, match="year"):
        parse_values(["12月底前"], year=year)


def test_invalid_unicode_does_not_raise():
    """It should keep a row for a Python string that is not valid Unicode (lone surrogate)."""
    frame = parse_values(["a\ud800", "95%"])
    assert frame.get_column("text").to_list() == ["a\ufffd", "95%"]
    assert frame.get_column("op").to_list() == ["qualitative", "eq"]


def _seed_targets() -> list[str]:
    """The 指标值 texts of the seed declaration, as the reader gives them."""
    return read_declared(SAMPLES / "seed_targets_2025.txt").indicators["target_text"].to_list()


def _sample_actuals() -> list[str]:
    return read_actuals(SAMPLES / "actuals_sample.csv")["actual_text"].to_list()


def test_seed_targets_and_sample_actuals_parse():
    """It should parse the seed's 45 targets and the sample's 45 actuals with no error."""
    targets, actuals = _seed_targets(), _sample_actuals()
    assert len(targets) == len(actuals) == 45
    parsed = parse_values(targets + actuals, year=YEAR)
    assert parsed.filter(pl.col("error").is_not_null()).height == 0
    assert parsed.filter(pl.col("op").is_null()).height == 0


# ---------------------------------------------------------------------------- differential


def realistic_texts(n: int, seed: int = 0) -> list[str]:
    """Texts shaped like real 指标值 / 实际完成值: operator word + number + multiplier + unit
    [+ (unit)] + suffix [+ trailing word], ranges, rates, dates, periods, month-only texts,
    formulas, qualitative words, with full-width and spacing variants."""
    rng = random.Random(seed)
    prefixes = ["", "", "", *grammar.PREFIX_OPERATORS, *grammar.SOFT_PREFIX_OPERATORS, "每年", "全年", "约", "="]
    suffixes = ["", "", "", *grammar.SUFFIX_OPERATORS, *grammar.NEUTRAL_SUFFIXES]
    units = ["", "%", "百分比", "元", "人次", "次", "个工作日", "月", "年", "公里", "元/亩", "吨", "公顷", "户",
             "元/月", "次/年", "千元/人"]
    brackets = ["", "", "", "", "（百分比）", "(个)", "（万元）", "(含)", "（%）"]
    trailing = ["", "", "", "完成", "覆盖", "到位", "达标"]
    words = ["有效提升", "达到预期", "是", "否", "优良", "长期", "年底前", "上半年", "=A1*2", "=SUM(A1:A3)", "=44,561"]

    def number() -> str:
        return rng.choice(["95", "90", "100", "1,150", "8.9", "1.2", "0", "2025", "12", "３", "9５"])

    def one() -> str:
        kind = rng.random()
        if kind < 0.55:
            text = rng.choice(prefixes) + number() + rng.choice(["", "", "万", "亿"]) + rng.choice(units)
            text += rng.choice(brackets) + rng.choice(suffixes) + rng.choice(trailing)
        elif kind < 0.65:
            unit = rng.choice(["%", "", "元", "次", "月", "元/人"])
            text = number() + rng.choice([unit, ""]) + rng.choice(grammar.RANGE_SEPARATORS) + number() + unit
            text += rng.choice(brackets) + rng.choice(trailing)
        elif kind < 0.85:
            y, m, d = rng.choice(["2024", "2025"]), str(rng.randint(1, 13)), str(rng.randint(1, 32))
            m2 = str(rng.randint(1, 13))
            text = rng.choice(
                [f"{y}年", f"{y}年{m}月", f"{y}年{m}月{d}日前", f"{y}-{m}-{d}", f"{y}.{m}-{y}.{m}", f"{m}月底前", f"{m}月{d}日",
                 f"{m}月", f"≤{m}月", f"{m}-{m2}月", f"{m}月至{m2}月", f"{y}年{m}月--{y}年{m2}月", f"{m}月{d}日-{m2}月{d}日"]
            ) + rng.choice(trailing)
        else:
            text = rng.choice(words)
        if rng.random() < 0.1:
            text = text.replace("%", "％").replace("≥", "≧").replace("1", "１")
        if rng.random() < 0.1:
            text = " ".join(text)
        return text

    return [one() for _ in range(n)]


def _reference_frame(texts, year) -> pl.DataFrame:
    return pl.DataFrame(parse_texts(texts, year), schema=PARSED_VALUES)


@pytest.mark.parametrize("year", [None, YEAR])
def test_differential_on_cases(year):
    """It should agree with the reference parser on every case, with and without a year."""
    texts = [t for t, _ in CASES] + NEEDS_YEAR
    assert_frame_equal(parse_values(texts, year=year), _reference_frame(texts, year))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_differential_on_generated_texts(seed):
    """It should agree with the reference parser on a few hundred generated realistic texts."""
    texts = realistic_texts(400, seed)
    year = YEAR if seed % 2 else None
    assert_frame_equal(parse_values(texts, year=year), _reference_frame(texts, year))


def test_vectorized_only():
    """It should not run Python per row (no map_elements / map_batches in the grammar)."""
    source = Path(grammar.__file__).read_text(encoding="utf-8")
    assert "map_elements" not in source
    assert "map_batches" not in source


@pytest.mark.parametrize("text", ["1e-320%", "1e5", "≥2E3万元", "1.5e-3"])
def test_scientific_notation_is_named_in_the_error(text: str) -> None:
    """It should say a number in scientific notation is not read, not report a range or an unknown form."""
    from selfeval.grammar import ERRORS, parse_values
    from selfeval.grammar_reference import parse_text

    assert parse_values(pl.Series([text]), 2025).row(0, named=True)["error"] == ERRORS["scientific"]
    assert parse_text(text, 2025)["error"] == ERRORS["scientific"]
