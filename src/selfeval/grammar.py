"""Value grammar: 指标值 / 实际完成值 texts -> op, value, unit, dimension, deadline, and the unit
as written, its scale and whether the op was written (SPEC.md §4; schema.PARSED_VALUES).

Everything here is a Polars expression evaluated over a whole column: normalisation with
``str.replace_many`` / ``str.replace_all``, one anchored ``str.extract_groups`` per form, and a
``when/then`` chain that keeps the first form that matches. No Python runs per row. The struct
is built in stages, each computed once: as columns of a frame (`parse_frame`, `parsed_fields`,
`parse_values`), or as fields of one struct (`parse_expr`); both run the same `_stages`.

The vocabulary (operator words, multipliers, units, date words) is declared once as data at the
top of the module, so adding a word is a one-line change. The forms are tried in this order:

1. empty text                                   -> error 空值
2. an Excel formula (``=A1*2``, ``=44,561``; not ``=100%``)                -> error, never a number
3. a day, a month, a year (``2025年6月30日前``, ``2025年12月``, ``2025年``)  -> deadline
4. a period (``2023.07-2024.01``, ``2025年3月--2025年10月``, ``2025年3月至10月``) -> deadline = its end
5. dates needing the year (``12月底前``, ``7月``, ``3-10月``, ``年底前``, ``上半年``) -> deadline
6. a range (``80%-90%``, ``80~90%``, ``80%至90%``, ``80-90（%）``)         -> range
7. a quantity (``≥1.2万人次``, ``控制在5万元以内``, ``≥20（个）``, ``620万元/月``, ``约3万人次``)
                                                -> ge/le/gt/lt/eq (eq with op_written False: a bare value)
8. no digit at all (``有效提升``, ``是``)                                  -> qualitative
9. anything else                                -> error 无法识别的数值格式, row kept

Any form may close with a trailing word that changes nothing (``100%覆盖``, ``12月底到位``).

``selfeval.grammar_reference`` is a plain per-text Python parser with the same semantics, used
as the oracle in tests and as the baseline of ``benches/bench_grammar.py``.
"""

from __future__ import annotations

import datetime as dt
import functools
import numbers
import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field

import polars as pl

from selfeval.schema import PARSED_VALUES

__all__ = ["ERRORS", "normalized", "parse_expr", "parse_frame", "parse_values", "parsed_fields"]

# ============================================================================ vocabulary (data)

# Characters folded before parsing (NFKC-like): the full-width ASCII block ！..～ -> !..~ , plus
# the look-alike operators and dashes found in real tables.
CHAR_MAP: dict[str, str] = {
    **{chr(0xFF01 + i): chr(0x21 + i) for i in range(0x5E)},
    "≧": "≥",
    "⩾": "≥",
    "≦": "≤",
    "⩽": "≤",
    "═": "=",
    "﹦": "=",
    "﹤": "<",
    "﹥": ">",
    "﹪": "%",
    "〜": "~",
    "—": "-",
    "–": "-",
    "―": "-",
    "‐": "-",
    "−": "-",
    "﹣": "-",
    "㎡": "平方米",
    # traditional multipliers (`≤38萬元`)
    "萬": "万",
    "億": "亿",
    "㎞": "公里",
    "㎏": "千克",
}
# 余 / 多 right after a number or multiplier: "and more" (`300余人`, `120万余人次`), dropped.
APPROX_MORE = r"([0-9万千亿])余"
# Two-character operators, folded after CHAR_MAP (so `＞＝` -> `>=` -> `≥`).
OPERATOR_DIGRAPHS: dict[str, str] = {">=": "≥", "<=": "≤"}
# Runs of a separator folded to one, after CHAR_MAP (`2025年3月--2025年10月`, `——` -> `-`).
REPEATED_SEPARATORS: tuple[str, ...] = ("-", "~")
# Removed everywhere: whitespace (incl. the ideographic space) and zero-width characters.
WHITESPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
# Trailing punctuation dropped at the end of a text (`95%。`).
TRAILING_PUNCTUATION = "。;,、"

# Operator words written before the number. Longest words are tried first.
PREFIX_OPERATORS: dict[str, str] = {
    "≥": "ge",
    "不低于": "ge",
    "不少于": "ge",
    "不小于": "ge",
    "至少": "ge",
    "最少": "ge",
    "大于等于": "ge",
    "大于或等于": "ge",
    "≤": "le",
    "不高于": "le",
    "不超过": "le",
    "不大于": "le",
    "不多于": "le",
    "小于等于": "le",
    "小于或等于": "le",
    "不超出": "le",
    "未超过": "le",
    "未超出": "le",
    "至多": "le",
    "最多": "le",
    ">": "gt",
    "大于": "gt",
    "高于": "gt",
    "超过": "gt",
    "多于": "gt",
    "<": "lt",
    "小于": "lt",
    "低于": "lt",
    "少于": "lt",
    "不足": "lt",
    "=": "eq",
    "等于": "eq",
}
# Operator words written before the number that give way to a suffix word:
# `控制在5万元以内` is le, and so is `控制在5%`; `控制在90%以上` is ge.
SOFT_PREFIX_OPERATORS: dict[str, str] = {"控制在": "le", "达到": "ge"}
# Operator words written after the number (and unit).
SUFFIX_OPERATORS: dict[str, str] = {
    "以上": "ge",
    "及以上": "ge",
    "或以上": "ge",
    "以内": "le",
    "之内": "le",
    "内": "le",
    "以下": "le",
    "及以下": "le",
    "或以下": "le",
}
# Words in front of a quantity that change nothing (`每年8.9万元` = 89000 元); 约 (about) is a
# bare value: op eq, op_written False (`约3万人次`).
NEUTRAL_PREFIXES: tuple[str, ...] = (
    "每年", "全年", "年均", "年度", "累计", "合计", "共计", "总计", "共", "约", "大约", "约为"
)
# Words after a quantity that change nothing: about (`3万人次左右` = 约3万人次).
NEUTRAL_SUFFIXES: tuple[str, ...] = ("左右",)
# Words closing a value that change nothing (`100%覆盖`, `12月底到位`, `≥95%以上达标`,
# `2025年6月底前完成`). Only these words: any other word after a number is read as its unit.
TRAILING_WORDS: tuple[str, ...] = (
    "完成", "全部完成", "全面完成", "按时完成", "覆盖", "全覆盖", "到位", "达标", "合格", "实现", "落实",
    "完工", "竣工", "办结", "验收", "兑现", "发放", "拨付", "支付", "交付", "上线", "开工", "启动", "完毕",
)
# A unit restated in brackets after the value (`≥90%（百分比）`, `≥20（个）`): it fills in where the
# value has no unit and must agree where it has one. These bracketed words restate nothing:
BRACKET_IGNORED: tuple[str, ...] = ("含", "含本数")
# A bracketed word this long that is no known unit is a note, not a restated unit (`96%（抽样核查）`).
NOTE_MIN_CHARS = 3

# Multipliers written between the number and the unit.
MULTIPLIERS: dict[str, float] = {"万": 1e4, "亿": 1e8, "百万": 1e6, "千万": 1e7}

# Known units: written -> (normalised unit, dimension, factor to the normalised unit).
# Any other unit word is a count unit kept as written. A unit with a `/` is a rate (dimension
# rate): its numerator is normalised by this table, the rest kept (`万元/月` -> 元/月, ×10⁴).
UNITS: dict[str, tuple[str, str, float]] = {
    "%": ("%", "percent", 1.0),
    "‰": ("%", "percent", 0.1),  # per mille (森林火灾受害率 ≤0.9‰ = ≤0.09%)
    "千分比": ("%", "percent", 0.1),
    "百分比": ("%", "percent", 1.0),
    "百分点": ("%", "percent", 1.0),
    "个百分点": ("%", "percent", 1.0),
    "元": ("元", "money", 1.0),
    "千元": ("元", "money", 1e3),
    "天": ("天", "duration", 1.0),
    "日": ("天", "duration", 1.0),
    "工作日": ("天", "duration", 1.0),
    "个工作日": ("天", "duration", 1.0),
    "自然日": ("天", "duration", 1.0),
    "个自然日": ("天", "duration", 1.0),
    "周": ("周", "duration", 1.0),
    "星期": ("周", "duration", 1.0),
    "个星期": ("周", "duration", 1.0),
    "月": ("月", "duration", 1.0),
    "个月": ("月", "duration", 1.0),
    "年": ("年", "duration", 1.0),
    "小时": ("小时", "duration", 1.0),
    "个小时": ("小时", "duration", 1.0),
    "公里": ("米", "count", 1e3),
    "千米": ("米", "count", 1e3),
    "km": ("米", "count", 1e3),
    "KM": ("米", "count", 1e3),
    "Km": ("米", "count", 1e3),
    "米": ("米", "count", 1.0),
    "吨": ("千克", "count", 1e3),
    "公斤": ("千克", "count", 1.0),
    "千克": ("千克", "count", 1.0),
    "公顷": ("亩", "count", 15.0),
    "亩": ("亩", "count", 1.0),
    "平方公里": ("平方米", "count", 1e6),
    "平方千米": ("平方米", "count", 1e6),
    "平方米": ("平方米", "count", 1.0),
}
COUNT, RATE = "count", "rate"

# Period words that need the evaluation year: word -> month whose last day is the deadline.
YEAR_PERIODS: dict[str, int] = {
    "年底": 12,
    "年末": 12,
    "年内": 12,
    "年度内": 12,
    "本年度内": 12,
    "本年内": 12,
    "本年度": 12,
    "当年": 12,
    "上半年": 6,
    "下半年": 12,
    "一季度": 3,
    "二季度": 6,
    "三季度": 9,
    "四季度": 12,
    "第一季度": 3,
    "第二季度": 6,
    "第三季度": 9,
    "第四季度": 12,
}
# Words in front of a date that change nothing (`截至2025年6月30日`).
DATE_PREFIXES: tuple[str, ...] = ("不晚于", "不迟于", "截至到", "截止到", "截至", "截止", "≤", "<", "于", "在")
# ... of which these do not make a bare month a date: `≤7月` is a duration, `截至7月` a date.
DURATION_DATE_PREFIXES: tuple[str, ...] = ("≤", "<")
# Range and period separators.
RANGE_SEPARATORS: tuple[str, ...] = ("-", "~", "至", "到")

# Error reasons (the row is kept, `op` says what was recognised if anything).
ERRORS: dict[str, str] = {
    "empty": "空值",
    "unrecognised": "无法识别的数值格式",
    "no_number": "缺少数值",
    "no_year": "缺少年份，无法确定截止日期",
    "bad_date": "无效日期",
    "bad_period": "期间起点晚于终点",
    "range_units": "区间两端单位不一致",
    "range_order": "区间下限大于上限",
    "operators": "运算符前后矛盾",
    "formula": "Excel公式，不是数值",
    "unit_restated": "括号内单位与数值单位不一致",
    "scientific": "不支持科学计数法（如 1e-5），请写成普通数字",
}
# A number in scientific notation (`1e-5`, `2E3`, `1.5e-3`): never read as a range or a unit `e`.
SCIENTIFIC = r"(?:^|[^A-Za-z])[0-9.]*[0-9][eE][+-]?[0-9]"

# ============================================================================ regex pieces

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
DIGIT = "0-9"
NUMBER = rf"[{DIGIT}]{{1,3}}(?:,[{DIGIT}]{{3}})+(?:\.[{DIGIT}]+)?|[{DIGIT}]+(?:\.[{DIGIT}]+)?"
UNIT_WORD = rf"%|‰|[{HAN}A-Za-z][{HAN}A-Za-z/·²³]*?"
YEAR = r"(?:19|20)[0-9]{2}"
MONTH = DAY = r"[0-9]{1,2}"
MONTH_OF_YEAR = r"1[0-2]|0?[1-9]"  # a month number that can only be a month (`3-10月`, `7月`)
BEFORE = r"(?:之前|以前|前)?"


def _alternatives(words: Iterable[str]) -> str:
    """A regex alternation of `words`, longest first, each escaped."""
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


DATE_PREFIX = rf"(?:{_alternatives(DATE_PREFIXES)})?"
SEPARATOR = _alternatives(RANGE_SEPARATORS)
MULTIPLIER = _alternatives(MULTIPLIERS)
# An optional trailing word closing any form; a unit restated in brackets (groups bx, bu).
TRAILING = rf"(?:{_alternatives(TRAILING_WORDS)})?"
BRACKET = rf"(?:\((?:{_alternatives(BRACKET_IGNORED)}|(?P<bx>{MULTIPLIER})?(?P<bu>{UNIT_WORD}))\))?"

# One anchored pattern per form (named groups are read back with str.extract_groups).
PATTERNS: dict[str, str] = {
    "day": (
        rf"^{DATE_PREFIX}(?P<y>{YEAR})(?:年|[./-])(?P<m>{MONTH})(?:月|[./-])(?P<d>{DAY})日?{BEFORE}{TRAILING}$"
    ),
    "month": (
        rf"^{DATE_PREFIX}(?P<y>{YEAR})(?:年(?P<m1>{MONTH})(?:月份?)?|[/-](?P<m2>{MONTH})(?:月份?)?)(?:底|末)?{BEFORE}{TRAILING}$"
    ),
    "year": rf"^{DATE_PREFIX}(?P<y>{YEAR})年(?:年底|年末|年度内|年度|年内|底|末|度内|度|内)?{BEFORE}{TRAILING}$",
    "period_day": (
        rf"^(?P<y1>{YEAR})(?:年|[./-])(?P<m1>{MONTH})(?:月|[./-])(?P<d1>{DAY})日?(?:{SEPARATOR})"
        rf"(?:(?P<y2>{YEAR})(?:年|[./-]))?(?P<m2>{MONTH})(?:月|[./-])(?P<d2>{DAY})日?{BEFORE}{TRAILING}$"
    ),
    "period_month": (
        rf"^(?P<y1>{YEAR})(?:年|[./-])(?P<m1>{MONTH})月?(?:{SEPARATOR})"
        rf"(?:(?P<y2>{YEAR})(?:年|[./-]))?(?P<m2>{MONTH})(?:月份?)?(?:底|末)?{BEFORE}{TRAILING}$"
    ),
    "period_year": rf"^(?P<y1>{YEAR})年?(?:{SEPARATOR})(?P<y2>{YEAR})年(?:底|末)?{BEFORE}{TRAILING}$",
    "month_day": rf"^{DATE_PREFIX}(?P<m>{MONTH})月(?P<d>{DAY})日{BEFORE}{TRAILING}$",
    # `12月底前`, `9月前`, `7月底`; a bare `7月`, `7月份` too (the form checks the month and the prefix).
    "month_end": (
        rf"^(?P<p>{DATE_PREFIX})(?P<m>{MONTH})月份?(?P<s>(?:底|末)?(?:之前|以前|前)?){TRAILING}$"
    ),
    # `3-10月`, `3月至10月`, `3月1日-10月31日`: a period of the evaluation year.
    "month_period": (
        rf"^(?P<m1>{MONTH_OF_YEAR})(?:月(?:(?P<d1>{DAY})日)?)?(?:{SEPARATOR})"
        rf"(?P<m2>{MONTH_OF_YEAR})月份?(?:(?P<d2>{DAY})日|底|末)?{BEFORE}{TRAILING}$"
    ),
    "year_period": (
        rf"^{DATE_PREFIX}(?:(?P<y>{YEAR})年)?(?P<w>{_alternatives(YEAR_PERIODS)})(?:底|末)?{BEFORE}{TRAILING}$"
    ),
    "range": (
        rf"^(?:{_alternatives(NEUTRAL_PREFIXES)})?"
        rf"(?P<n1>{NUMBER})(?P<x1>{MULTIPLIER})?(?P<u1>{UNIT_WORD})?(?:{SEPARATOR})"
        rf"(?P<n2>{NUMBER})(?P<x2>{MULTIPLIER})?(?P<u2>{UNIT_WORD})?{BRACKET}{TRAILING}$"
    ),
    "quantity": (
        rf"^(?:{_alternatives(NEUTRAL_PREFIXES)})?"
        rf"(?:(?P<op>{_alternatives(PREFIX_OPERATORS)})|(?P<soft>{_alternatives(SOFT_PREFIX_OPERATORS)}))?"
        rf"(?P<n>{NUMBER})(?P<x>{MULTIPLIER})?(?P<u>{UNIT_WORD})??{BRACKET}"
        rf"(?P<post>{_alternatives([*SUFFIX_OPERATORS, *NEUTRAL_SUFFIXES])})?{TRAILING}$"
    ),
}

# ============================================================================ expressions

# The output fields, in PARSED_VALUES order: op, value, value_hi, deadline, unit, dimension, error,
# scale, unit_text, op_written.
FIELDS = tuple(name for name in PARSED_VALUES.names() if name != "text")

# What a form yields before the output fields are derived: the op and error it decides, whether
# the text wrote the op, the number(s) with their multiplier applied, the multiplier and unit as
# written, a unit restated in brackets that must agree with it, and a date's components (day
# null = last day of the month; start_* only for periods).
COMPONENTS: dict[str, pl.DataType] = {
    "op": pl.String(),
    "op_written": pl.Boolean(),
    "error": pl.String(),
    "number": pl.Float64(),
    "number_hi": pl.Float64(),
    "written_multiplier": pl.String(),
    "written_unit": pl.String(),
    "restated_unit": pl.String(),
    "year": pl.Int32(),
    "month": pl.Int32(),
    "day": pl.Int32(),
    "start_year": pl.Int32(),
    "start_month": pl.Int32(),
    "start_day": pl.Int32(),
}


@dataclass
class Form:
    """What one form yields where `matched` holds; components left out are null."""

    matched: pl.Expr
    components: dict[str, pl.Expr] = field(default_factory=dict)


# The forms read the normalised text and each pattern's groups from an earlier stage, so each is
# computed once however often referenced: a column (`pl.col`) when the stages run on a frame, a
# field (`pl.field`) inside parse_expr's struct. `_stages` sets which while it builds.
_REF: ContextVar[Callable[[str], pl.Expr]] = ContextVar("grammar_ref", default=pl.field)


def _ref(name: str) -> pl.Expr:
    return _REF.get()(name)


def _norm() -> pl.Expr:
    return _ref("norm")


def _match_field(form: str) -> str:
    return f"match_{form}"


def _groups(form: str) -> pl.Expr:
    """The named groups of `form`'s pattern (a struct; all null where the pattern does not match)."""
    return _ref(_match_field(form))


def normalized(text: pl.Expr) -> pl.Expr:
    """`text` folded to half-width, operators unified, runs of `-` or `~` made one, whitespace and
    trailing punctuation removed."""
    folded = text.str.replace_all(f"[{WHITESPACE}]+", "").str.replace_many(CHAR_MAP).str.replace_many(OPERATOR_DIGRAPHS)
    # `300余人`, `120万余人次`: 余 (and more) after a number is a bare value of the number
    folded = folded.str.replace_all(APPROX_MORE, "${1}")
    for separator in REPEATED_SEPARATORS:
        folded = folded.str.replace_all(f"{re.escape(separator)}{{2,}}", separator)
    return folded.str.replace_all(f"[{TRAILING_PUNCTUATION}]+$", "")


# ---------------------------------------------------------------------------- small helpers


def _text(value: str) -> pl.Expr:
    return pl.lit(value, dtype=pl.String)


def _int(groups: pl.Expr, name: str) -> pl.Expr:
    return groups.struct.field(name).cast(pl.Int32, strict=False)


def _number(groups: pl.Expr, name: str) -> pl.Expr:
    """The number in group `name`, thousands separators dropped."""
    return groups.struct.field(name).str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)


def _multiplier(written: pl.Expr) -> pl.Expr:
    """万 -> 1e4, 亿 -> 1e8 … of a written multiplier; none -> 1."""
    return written.replace_strict(MULTIPLIERS, default=1.0, return_dtype=pl.Float64)


def _numerator(written: pl.Expr) -> pl.Expr:
    """The part a unit's conversion applies to: a rate's numerator (`万元/月` -> 万元), else all of it."""
    return written.str.splitn("/", 2).struct.field("field_0")


# A rate's numerator normalised by one pass of str.replace_many, anchored at the start by a
# marker character no unit contains: "\0千元/" -> "元/", … (longest first), then the marker dropped.
_START = "\x00"
_RATE_NUMERATORS: dict[str, str] = {
    **{f"{_START}{k}/": f"{v[0]}/" for k, v in sorted(UNITS.items(), key=lambda kv: (-len(kv[0]), kv[0])) if k != v[0]},
    _START: "",
}


def _unit(written: pl.Expr) -> pl.Expr:
    """Normalised unit: a known unit's base unit, otherwise the unit as written; a rate's numerator
    normalised and the rest kept (`千元/月` -> `元/月`)."""
    rate = pl.concat_str(pl.lit(_START), written).str.replace_many(_RATE_NUMERATORS, leftmost=True)
    plain = written.replace_strict({k: v[0] for k, v in UNITS.items()}, default=written, return_dtype=pl.String)
    return pl.when(written.str.contains("/", literal=True)).then(rate).otherwise(plain)


def _unit_factor(written: pl.Expr) -> pl.Expr:
    """Factor from the written unit (a rate's numerator) to its base unit (公里 -> 1000); 1 for other
    units and none."""
    return _numerator(written).replace_strict({k: v[2] for k, v in UNITS.items()}, default=1.0, return_dtype=pl.Float64)


def _dimension(written: pl.Expr) -> pl.Expr:
    """Rates (`元/亩`) rate, known units from UNITS, any other word count, no unit null."""
    known = written.replace_strict({k: v[1] for k, v in UNITS.items()}, default=_text(COUNT), return_dtype=pl.String)
    return pl.when(written.str.contains("/", literal=True)).then(_text(RATE)).when(written.is_not_null()).then(known)


def _restated(groups: pl.Expr, written: pl.Expr, multiplier: pl.Expr) -> dict[str, pl.Expr]:
    """The unit and multiplier as written, a bracketed unit (`≥20（个）`) filling in where `written`
    (the value's unit) is null; where it is not, the bracketed unit is `restated_unit`, which must
    agree with it (`≥90%（个）` does not: checked in `_error`)."""
    bu, bx = groups.struct.field("bu"), groups.struct.field("bx")
    # a bracketed word of three or more characters that is no known unit is a note (`96%（抽样核查）`)
    note = (
        bu.is_not_null() & bx.is_null() & ~bu.is_in(list(UNITS)) & ~bu.str.contains("/", literal=True)
        & (bu.str.len_chars() >= NOTE_MIN_CHARS)
    )
    bracket_unit = pl.when(~note).then(bu)
    return {
        "written_unit": pl.coalesce(written, bracket_unit),
        "written_multiplier": pl.when(written.is_null())
        .then(pl.coalesce(multiplier, pl.when(~note).then(bx)))
        .otherwise(multiplier),
        "restated_unit": pl.when(written.is_not_null()).then(bracket_unit),
    }


def _epoch_day(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    """Days since 1970-01-01 of a proleptic Gregorian date, by integer arithmetic (H. Hinnant's
    days_from_civil): far cheaper over a column than building dates with pl.date."""
    y, m, d = (e.cast(pl.Int64) for e in (year, month, day))
    y = y - (m <= 2).cast(pl.Int64)
    era = y // 400
    year_of_era = y - era * 400
    day_of_year = (153 * pl.when(m > 2).then(m - 3).otherwise(m + 9) + 2) // 5 + d - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _days_in_month(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    """28–31 (Gregorian leap years); for a month outside 1–12 a number `_date` never uses."""
    y, m = year.cast(pl.Int64), month.cast(pl.Int64)
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    # months of 31 days alternate 1, 3, 5, 7 | 8, 10, 12: odd before August, even from it
    return pl.when(m == 2).then(28 + leap.cast(pl.Int64)).otherwise(30 + (m + m // 8) % 2)


def _month_bounds(year: pl.Expr, month: pl.Expr) -> dict[str, pl.Expr]:
    """Epoch days of the 1st of the month named (`first`) and of the month after (`following`)."""
    first = _epoch_day(year, month, pl.lit(1))
    return {"first": first, "following": first + _days_in_month(year, month)}


def _date(year: pl.Expr, month: pl.Expr, day: pl.Expr, first: pl.Expr, following: pl.Expr) -> pl.Expr:
    """The date year-month-day, or the month's last day when `day` is null; null when no such day.
    `first`, `following`: the `_month_bounds` of (year, month), computed beforehand (see `_bounds`)."""
    exists = year.is_between(1, 9999) & month.is_between(1, 12) & (day.is_null() | day.is_between(1, following - first))
    epoch_day = pl.when(day.is_null()).then(following - 1).otherwise(first + day - 1)
    return pl.when(exists).then(epoch_day).cast(pl.Int32).cast(pl.Date)


# ---------------------------------------------------------------------------- the forms

DEADLINE = {"op": _text("deadline")}


def _single_dates() -> list[Form]:
    """`2025年6月30日前`, `2025-06-30`, `2025/6/30`, `2025.06.30`; `2025年12月`, `2025-06`; `2025年`."""
    day, month, year = _groups("day"), _groups("month"), _groups("year")
    return [
        Form(
            day.struct.field("y").is_not_null(),
            {**DEADLINE, "year": _int(day, "y"), "month": _int(day, "m"), "day": _int(day, "d")},
        ),
        Form(
            month.struct.field("y").is_not_null(),
            {**DEADLINE, "year": _int(month, "y"), "month": pl.coalesce(_int(month, "m1"), _int(month, "m2"))},
        ),
        Form(year.struct.field("y").is_not_null(), {**DEADLINE, "year": _int(year, "y"), "month": pl.lit(12)}),
    ]


def _periods() -> list[Form]:
    """`2025.1.1-2025.12.31`, `2023.07-2024.01`, `2023年7月-2024年1月`, `2024-2025年`: the end."""
    by_day, by_month, by_year = _groups("period_day"), _groups("period_month"), _groups("period_year")

    def period(g: pl.Expr, start_month: pl.Expr, month: pl.Expr, start_day: pl.Expr, day: pl.Expr) -> Form:
        start_year = _int(g, "y1")
        return Form(
            g.struct.field("y1").is_not_null(),
            {
                **DEADLINE,
                "start_year": start_year,
                "start_month": start_month,
                "start_day": start_day,
                "year": pl.coalesce(_int(g, "y2"), start_year),
                "month": month,
                "day": day,
            },
        )

    return [
        period(by_day, _int(by_day, "m1"), _int(by_day, "m2"), _int(by_day, "d1"), _int(by_day, "d2")),
        period(by_month, _int(by_month, "m1"), _int(by_month, "m2"), pl.lit(1), pl.lit(None)),
        period(by_year, pl.lit(1), pl.lit(12), pl.lit(1), pl.lit(None)),
    ]


def _year_dates(year: pl.Expr) -> list[Form]:
    """Dates that name no year and take `year`: `6月30日前`, `12月底前`, `7月`, `3-10月`, `年底前`, `上半年`.

    A bare month (`7月`, no 底/前) is a date only if it can be one (1–12) and no `≤`/`<` stands in
    front (`≤7月` and `18月` are durations); a period of months ends on its later month's last day.
    """
    month_day, month_end, period = _groups("month_day"), _groups("month_end"), _groups("year_period")
    months = _groups("month_period")
    no_year = pl.when(year.is_null()).then(_text(ERRORS["no_year"]))
    period_year = pl.coalesce(_int(period, "y"), year)
    month = _int(month_end, "m")
    bare_month_is_date = month.is_between(1, 12) & ~month_end.struct.field("p").is_in(DURATION_DATE_PREFIXES)
    return [
        Form(
            month_day.struct.field("m").is_not_null(),
            {**DEADLINE, "error": no_year, "year": year, "month": _int(month_day, "m"), "day": _int(month_day, "d")},
        ),
        Form(
            month_end.struct.field("m").is_not_null() & ((month_end.struct.field("s") != "") | bare_month_is_date),
            {**DEADLINE, "error": no_year, "year": year, "month": month},
        ),
        Form(
            months.struct.field("m1").is_not_null(),
            {
                **DEADLINE,
                "error": no_year,
                "start_year": year,
                "start_month": _int(months, "m1"),
                "start_day": pl.coalesce(_int(months, "d1"), pl.lit(1)),
                "year": year,
                "month": _int(months, "m2"),
                "day": _int(months, "d2"),
            },
        ),
        Form(
            period.struct.field("w").is_not_null(),
            {
                **DEADLINE,
                "error": pl.when(period_year.is_null()).then(_text(ERRORS["no_year"])),
                "year": period_year,
                "month": period.struct.field("w").replace_strict(YEAR_PERIODS, default=None, return_dtype=pl.Int32),
            },
        ),
    ]


def _range() -> Form:
    """`80%-90%`, `80~90%`, `80%至90%`, `1-2万元`, `80-90（%）`: a bare low end takes the high end's
    multiplier and unit; a unit restated in brackets fills in or must agree."""
    g = _groups("range")
    u1, u2 = g.struct.field("u1"), g.struct.field("u2")
    restated = _restated(g, pl.coalesce(u2, u1), g.struct.field("x2"))
    multiplier = _multiplier(restated["written_multiplier"])
    bare_low = g.struct.field("x1").is_null() & u1.is_null()
    low = _number(g, "n1") * pl.when(bare_low).then(multiplier).otherwise(_multiplier(g.struct.field("x1")))
    high = _number(g, "n2") * multiplier
    units_differ = (_unit(u1) != _unit(u2)).fill_null(False)
    return Form(
        g.struct.field("n1").is_not_null(),
        {
            "op": _text("range"),
            "op_written": pl.lit(True),
            # then (`_error`) a restated unit that disagrees, a low end above the high end
            "error": pl.when(units_differ).then(_text(ERRORS["range_units"])),
            "number": low,
            "number_hi": high,
            **restated,
        },
    )


def _quantity() -> Form:
    """`≥1.2万人次`, `不少于20次`, `20次以上`, `控制在5万元以内`, `每年8.9万元`, `1600元/亩`, `96`,
    `≥20（个）`, `100%覆盖`, `约3万人次`, `3万人次左右`.

    The op is the prefix word's, else the suffix word's, else the soft prefix's (控制在), else eq
    (a bare value: op_written False); a prefix and a suffix that disagree (`≤5以上`) are an error,
    so is a bracketed unit that disagrees with the value's (`≥90%（个）`).
    """
    g = _groups("quantity")
    before = g.struct.field("op").replace_strict(PREFIX_OPERATORS, default=None, return_dtype=pl.String)
    after = g.struct.field("post").replace_strict(SUFFIX_OPERATORS, default=None, return_dtype=pl.String)
    soft = g.struct.field("soft").replace_strict(SOFT_PREFIX_OPERATORS, default=None, return_dtype=pl.String)
    written_op = pl.coalesce(before, after, soft)
    restated = _restated(g, g.struct.field("u"), g.struct.field("x"))
    return Form(
        g.struct.field("n").is_not_null(),
        {
            "op": pl.coalesce(written_op, _text("eq")),
            "op_written": written_op.is_not_null(),
            # then (`_error`) a restated unit that disagrees
            "error": pl.when((before != after).fill_null(False)).then(_text(ERRORS["operators"])),
            "number": _number(g, "n") * _multiplier(restated["written_multiplier"]),
            **restated,
        },
    )


def _formula() -> Form:
    """A text starting with `=` that is not a value: `=A1*2`, `=SUM(B2:B9)`, and `=44,561` (a bare
    number with a thousands separator, as Excel shows a date serial). `=100%`, `=1,150人`, `=0` are values."""
    g = _groups("quantity")
    has_unit = pl.any_horizontal(g.struct.field(name).is_not_null() for name in ("x", "u", "bx", "bu"))
    value = g.struct.field("n").is_not_null() & (has_unit | ~g.struct.field("n").str.contains(",", literal=True))
    return Form((_norm().str.starts_with("=") & ~value).fill_null(False), {"error": _text(ERRORS["formula"])})


def _no_number() -> Form:
    """No digit: qualitative (`有效提升`, `是`), except a lone operator (`≥百分比`), an error."""
    return Form(
        ~_norm().str.contains(f"[{DIGIT}]"),
        {
            "op": _text("qualitative"),
            "error": pl.when(_norm().str.contains(r"^[≥≤<>=]")).then(_text(ERRORS["no_number"])),
        },
    )


def _forms(year: pl.Expr) -> list[Form]:
    """Every form, in the order they are tried (the first that matches wins)."""
    return [
        Form((_norm().str.len_chars() == 0).fill_null(True), {"error": _text(ERRORS["empty"])}),
        _formula(),
        *_single_dates(),
        *_periods(),
        *_year_dates(year),
        _range(),
        _quantity(),
        _no_number(),
        Form(pl.lit(True), {"error": _text(ERRORS["unrecognised"])}),
    ]


# ---------------------------------------------------------------------------- assembly


def _first_match(forms: list[Form]) -> pl.Expr:
    """The index in `forms` of the first form that matches (the last form always matches)."""
    first, *rest = forms
    chain = pl.when(first.matched).then(pl.lit(0, dtype=pl.UInt8))
    for index, form in enumerate(rest, start=1):
        chain = chain.when(form.matched).then(pl.lit(index, dtype=pl.UInt8))
    return chain.otherwise(pl.lit(None, dtype=pl.UInt8))


def _component(forms: list[Form], form: pl.Expr, name: str) -> pl.Expr:
    """Component `name` of the form whose index is `form` (null for a form that leaves it out).
    Keyed on the index computed once, so no form's `matched` is repeated per component."""
    dtype = COMPONENTS[name]
    chain = None
    for index, candidate in enumerate(forms):
        if name in candidate.components:
            then = candidate.components[name].cast(dtype)
            chain = (pl.when if chain is None else chain.when)(form == index).then(then)
    return pl.lit(None, dtype=dtype) if chain is None else chain.otherwise(pl.lit(None, dtype=dtype))


def _bounds(c: dict[str, pl.Expr]) -> dict[str, pl.Expr]:
    """The `_month_bounds` of the deadline's and the period start's month. A stage of their own:
    each is read three times by `_date`, and an expression tree costs Polars per node evaluated
    (tens of µs each, which is most of a small run's parsing)."""
    return {
        **{f"deadline_{k}": e for k, e in _month_bounds(c["year"], c["month"]).items()},
        **{f"start_{k}": e for k, e in _month_bounds(c["start_year"], c["start_month"]).items()},
    }


def _derived(c: dict[str, pl.Expr], b: dict[str, pl.Expr]) -> dict[str, pl.Expr]:
    """What the chosen components give, each computed once: the deadline and, for a period, its
    start (null where the components name no real day); the written unit normalised and its
    factor; the restated unit normalised. `b`: the `_bounds` fields."""
    return {
        "deadline": _date(c["year"], c["month"], c["day"], b["deadline_first"], b["deadline_following"]),
        "start": _date(c["start_year"], c["start_month"], c["start_day"], b["start_first"], b["start_following"]),
        "unit": _unit(c["written_unit"]),
        "factor": _unit_factor(c["written_unit"]),
        "restated": _unit(c["restated_unit"]),
    }


def _error(c: dict[str, pl.Expr], d: dict[str, pl.Expr], norm: pl.Expr) -> pl.Expr:
    """The form's error, else a bracketed unit that disagrees with the value's (`≥90%（个）`), else
    a range whose low end is above its high end, else an impossible date, else a period that ends
    before it starts. `d`: the `_derived` fields. A text holding a number in scientific notation
    is told so, whatever form it matched (`1.5e-3` is not the range 1.5 e – 3)."""
    is_deadline = (c["op"] == "deadline").fill_null(False)
    return pl.when(norm.str.contains(SCIENTIFIC)).then(_text(ERRORS["scientific"])).otherwise(_checks(c, d, is_deadline))


def _checks(c: dict[str, pl.Expr], d: dict[str, pl.Expr], is_deadline: pl.Expr) -> pl.Expr:
    return pl.coalesce(
        c["error"],
        pl.when((d["unit"] != d["restated"]).fill_null(False)).then(_text(ERRORS["unit_restated"])),
        pl.when((c["number"] > c["number_hi"]).fill_null(False)).then(_text(ERRORS["range_order"])),
        pl.when(is_deadline & d["deadline"].is_null()).then(_text(ERRORS["bad_date"])),
        pl.when(c["start_year"].is_not_null() & d["start"].is_null()).then(_text(ERRORS["bad_date"])),
        pl.when((d["start"] > d["deadline"]).fill_null(False)).then(_text(ERRORS["bad_period"])),
    )


def _fields(c: dict[str, pl.Expr], d: dict[str, pl.Expr], error: pl.Expr) -> dict[str, pl.Expr]:
    """The output fields from the chosen components, the `_derived` fields and the error.

    A row with an error keeps only its error, except a deadline that could not be dated, which
    keeps op `deadline` and dimension `date`. `scale` is what the number as written was
    multiplied by to give `value` (multiplier × unit factor: `8.9万元` 10⁴, `5公里` 10³, `96` 1);
    `unit_text` the multiplier and unit as written (`万元`, `元/月`).
    """
    ok = error.is_null()
    is_deadline = (c["op"] == "deadline").fill_null(False)
    written, written_multiplier, factor = c["written_unit"], c["written_multiplier"], d["factor"]
    return {
        "op": pl.when(ok | is_deadline).then(c["op"]),
        "value": pl.when(ok).then(c["number"] * factor),
        "value_hi": pl.when(ok).then(c["number_hi"] * factor),
        "deadline": pl.when(ok).then(d["deadline"]),
        "unit": pl.when(ok).then(d["unit"]),
        "dimension": pl.when(is_deadline).then(_text("date")).when(ok).then(_dimension(written)),
        "error": error,
        "scale": pl.when(ok & c["number"].is_not_null()).then(_multiplier(written_multiplier) * factor),
        "unit_text": pl.when(ok & (written.is_not_null() | written_multiplier.is_not_null())).then(
            pl.concat_str(written_multiplier, written, ignore_nulls=True)
        ),
        "op_written": pl.when(ok).then(c["op_written"]),
    }


def _year_expr(year: int | pl.Expr | None) -> pl.Expr:
    if year is None:
        return pl.lit(None, dtype=pl.Int32)
    if isinstance(year, pl.Expr):
        return year.cast(pl.Int32, strict=False)
    if not 1 <= int(year) <= 9999:
        msg = f"year must be between 1 and 9999, got {year!r}"
        raise ValueError(msg)
    return pl.lit(int(year), dtype=pl.Int32)


# ============================================================================ public API


@functools.cache
def _stages(ref: Callable[[str], pl.Expr]) -> tuple[tuple[pl.Expr, ...], ...]:
    """The stages after the first (normalised text `norm`, year `key_year`), each a tuple of named
    expressions reading earlier stages through `ref`: every pattern's groups; which form matches
    first; its components; the month bounds of its dates; the dates and units they give; the error;
    the output fields `out_*`."""
    token = _REF.set(ref)
    try:
        forms = _forms(ref("key_year"))
        components = {name: ref(name) for name in COMPONENTS}
        bounds = {name: ref(f"bound_{name}") for name in _bounds(components)}
        derived = {name: ref(f"derived_{name}") for name in _derived(components, bounds)}
        fields = _fields(components, derived, ref("checked_error"))
        return (
            tuple(ref("norm").str.extract_groups(p).alias(_match_field(f)) for f, p in PATTERNS.items()),
            (_first_match(forms).alias("form"),),
            tuple(_component(forms, ref("form"), name).alias(name) for name in COMPONENTS),
            tuple(e.alias(f"bound_{n}") for n, e in _bounds(components).items()),
            tuple(e.alias(f"derived_{n}") for n, e in _derived(components, bounds).items()),
            (_error(components, derived, ref("norm")).alias("checked_error"),),
            tuple(fields[n].cast(PARSED_VALUES[n]).alias(f"out_{n}") for n in FIELDS),
        )
    finally:
        _REF.reset(token)


def _first_stage(text: pl.Expr, year: int | pl.Expr | None) -> list[pl.Expr]:
    return [normalized(text).alias("norm"), _year_expr(year).alias("key_year")]


def parse_expr(text: pl.Expr, year: int | pl.Expr | None = None) -> pl.Expr:
    """A struct expression parsing `text` (a String expression) into the PARSED_VALUES fields.

    Fields, in order: op, value, value_hi, deadline, unit, dimension, error, scale, unit_text,
    op_written (see schema.PARSED_VALUES and `_fields`). `year` (an int or an
    integer expression such as ``pl.col("year")``) dates texts that name no year (``12月底前``,
    ``年底前``); without it they get op ``deadline``, a null deadline and an error.

    Built in stages with ``struct.with_fields`` so every intermediate is computed once (`_stages`);
    helper fields are dropped at the end. On a frame, `parse_frame` runs the same stages as
    columns, which Polars evaluates faster (no struct to rebuild per stage).
    """
    first = _first_stage(text, year)
    parsed = pl.struct(*first)
    for stage in _stages(pl.field):
        parsed = parsed.struct.with_fields(stage)
    *helper_stages, _ = (first, *_stages(pl.field))  # every stage's fields but the outputs' are dropped
    return parsed.struct.drop([e.meta.output_name() for stage in helper_stages for e in stage]).struct.rename_fields(list(FIELDS))


def _parsed_columns(
    frame: pl.DataFrame | pl.LazyFrame, text: str, year: int | pl.Expr | None, keep: dict[str, pl.Expr]
) -> pl.DataFrame | pl.LazyFrame:
    """`keep` (named expressions of `frame`) and the parsed fields of column `text`, row for row.
    The stages run on a frame of their own, so `frame`'s column names never meet the helpers'."""
    work = frame.select(*(e.alias(f"__keep_{i}") for i, e in enumerate(keep.values())), *_first_stage(pl.col(text), year))
    for stage in _stages(pl.col):
        work = work.with_columns(stage)
    return work.select(*(pl.col(f"__keep_{i}").alias(name) for i, name in enumerate(keep)),
                       *(pl.col(f"out_{n}").alias(n) for n in FIELDS))


def parse_frame(frame: pl.DataFrame, text: str, year: int | pl.Expr | None = None) -> pl.DataFrame:
    """`frame`'s column `text` parsed, eagerly: the PARSED_VALUES fields (op … op_written), one row
    per row of `frame`, in order (`year` as in `parse_expr`). The stages run one after the other,
    which for the few thousand distinct texts of a run costs less than planning one query."""
    return _parsed_columns(frame, text, year, {})


def parsed_fields(
    frame: pl.LazyFrame, text: str, year: int | pl.Expr | None = None, *, distinct: bool = True
) -> pl.LazyFrame:
    """`frame` with the PARSED_VALUES fields (op … error) of its String column `text` appended.

    Columns of `frame` named like a field are replaced (`text` itself may not be named like one).
    `year` as in `parse_expr` (it may name a column of `frame`). With `distinct` (default) each distinct (text, year) is parsed once and
    joined back, order kept: value columns repeat the same few hundred texts, so this is the
    fast path; `distinct=False` parses every row (same result).
    """
    if text in FIELDS:
        msg = f"the text column may not be named like a parsed field: {text!r}"
        raise ValueError(msg)
    key_year = "__grammar_key_year"
    keyed = frame.drop(list(FIELDS), strict=False).with_columns(_year_expr(year).alias(key_year))
    if not distinct:
        kept = {c: pl.col(c) for c in keyed.collect_schema().names() if c != key_year}
        return _parsed_columns(keyed, text, pl.col(key_year), kept)
    keys = {text: pl.col(text), key_year: pl.col(key_year)}
    distinct_parsed = _parsed_columns(keyed.select(list(keys)).unique(), text, pl.col(key_year), keys)
    return keyed.join(distinct_parsed, on=list(keys), how="left", nulls_equal=True, maintain_order="left").drop(key_year)


def parse_values(
    texts: Iterable[str | float | dt.date | None] | pl.Series, year: int | None = None, *, distinct: bool = True
) -> pl.DataFrame:
    """Parse value texts (指标值 / 实际完成值): one row per input, in order, schema PARSED_VALUES.

    `texts` may mix strings, numbers and None, or be a pl.Series of any dtype, as spreadsheet
    cells arrive: a number becomes its text (96.0 -> "96", 0.955 -> "0.955"), a date its ISO
    text, None and NaN stay null. `year` dates texts that name no year (``12月底前``). Never
    raises on such input; a text that fits no rule keeps its row with `error` set. `distinct` as
    in `parsed_fields`.
    """
    frame = _text_series(texts).to_frame()
    if not distinct:
        return pl.concat([frame, parse_frame(frame, "text", year)], how="horizontal").select(PARSED_VALUES.names())
    texts_once = frame.unique(maintain_order=True)
    parsed = pl.concat([texts_once, parse_frame(texts_once, "text", year)], how="horizontal")
    return frame.join(parsed, on="text", how="left", nulls_equal=True, maintain_order="left").select(PARSED_VALUES.names())


# Integral floats up to this magnitude are written as integers (96.0 -> "96").
_EXACT_INTEGERS = 2.0**53


def _text_series(texts: Iterable[str | float | dt.date | None] | pl.Series) -> pl.Series:
    """The texts as a String Series named `text`: cells' numbers and dates as text (see
    parse_values). A Python string that is not valid Unicode (a lone surrogate) cannot enter
    Polars: such strings get U+FFFD in its place."""
    if isinstance(texts, pl.Series):
        return _series_text(texts).rename("text")
    values = list(texts)
    try:
        return pl.Series("text", values, dtype=pl.String)
    except (UnicodeEncodeError, TypeError):  # not all valid str: cells as text (input, not parsing)
        return pl.Series("text", _cells_text(values), dtype=pl.String)


def _series_text(series: pl.Series) -> pl.Series:
    """A Series of any dtype as String, numbers and dates written as `_cell_text` writes them."""
    dtype = series.dtype
    if dtype == pl.String:
        return series
    if dtype.is_float():  # as Float64, so that a Float32 cell reads as its value in a Python list
        series = series.cast(pl.Float64)
        number = pl.col("number")
        integral = (number.abs() < _EXACT_INTEGERS) & (number == number.floor())
        as_text = (
            pl.when(number.is_nan())
            .then(None)
            .when(integral)
            .then(number.cast(pl.Int64).cast(pl.String))
            .otherwise(number.cast(pl.String))
        )
        return series.to_frame("number").select(as_text).to_series()
    if dtype == pl.Datetime:
        return series.dt.date().cast(pl.String)
    try:
        return series.cast(pl.String, strict=False)
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError):  # nested or Object cells
        return pl.Series(_cells_text(series.to_list()), dtype=pl.String)


def _cells_text(values: list[object]) -> list[str | None]:
    """Python cells as text, as a Series of their dtype reads (`_series_text`): str as is, None
    null, True "true", 96 "96", a date or datetime its ISO date, a float as a Float64 Series
    writes it (96.0 "96", NaN null); anything else str()."""
    texts = [_cell_text(v) for v in values]
    reals = [(i, float(v)) for i, v in enumerate(values) if isinstance(v, numbers.Real) and texts[i] is None]
    if reals:
        as_text = _series_text(pl.Series([v for _, v in reals], dtype=pl.Float64)).to_list()
        for (i, _), text in zip(reals, as_text, strict=True):
            texts[i] = text
    return texts


def _cell_text(value: object) -> str | None:
    """One cell as text, except a real number that is not an integer (None: see `_cells_text`)."""
    if value is None or isinstance(value, str):
        return _valid_unicode(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return _valid_unicode(str(value))


def _valid_unicode(text: str | None) -> str | None:
    return None if text is None else re.sub("[\ud800-\udfff]", "\ufffd", text)
