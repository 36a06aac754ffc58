"""Level-1 labels as printed → name, written points and group (docs/scoring.md §2).

Real tables write `产出指标(50分)`, `（30分）`, `效益指标 30分`, a bare `(50分)` cell, traditional
characters (`產出指標`) and other names (`项目完成指标`, `效果指标`, `社会效益` …). A label is
normalized in four steps, the same in Polars (`normalize_level1`, `level1_points`) and in plain
Python (`normalize_level1_text`, `level1_points_text`, for the reference and the tests):

1. characters: full-width ASCII → half-width, brackets 【】〔〕[]{} → (), traditional → simplified
   (the small table below: the characters of level-1 names), whitespace removed;
2. the points: one `(50分)` / `(分值:50)` / `50分` at the end, else one `(50分)` / `50分` at the
   start, is cut off and kept as the label's points;
3. an enumeration prefix `一、` `1.` `(一)` `(1)` is cut off;
4. punctuation left at either end is stripped, and brackets around the whole name.

The name then resolves to a group (`group_lookup`): a canonical group, or a rule-file alias
(alias keys normalized the same way; `X` and `X指标` are the same name); an empty name with
points maps to the one group whose rule weight equals them. Everything is computed per distinct
label; the pipeline never loops over rows.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import TYPE_CHECKING

import polars as pl

from selfeval.rules.model import LEVEL1_GROUPS

if TYPE_CHECKING:
    from selfeval.rules.model import RuleSet

# ----------------------------------------------------------------------------- vocabulary (data)

# Traditional (and variant) → simplified, for the characters of level-1 names and their points.
TRADITIONAL = {
    "產": "产", "産": "产", "價": "价", "眾": "众", "衆": "众", "會": "会", "務": "务", "員": "员",
    "響": "响", "實": "实", "對": "对", "態": "态", "執": "执", "數": "数", "時": "时", "權": "权",
    "標": "标", "濟": "济", "滿": "满", "環": "环", "類": "类", "級": "级", "經": "经", "績": "绩",
    "續": "续", "職": "职", "評": "评", "質": "质", "運": "运", "項": "项", "預": "预", "羣": "群",
    "個": "个", "總": "总", "計": "计", "範": "范", "圍": "围", "則": "则", "護": "护", "劃": "划",
    # the characters of qualitative actuals (達成, 無安全事故, 未發生 …), read with the same table
    "達": "达", "無": "无", "發": "发", "現": "现", "與": "与", "顯": "显", "進": "进", "準": "准",
    "確": "确", "設": "设", "備": "备", "營": "营", "應": "应", "組": "组", "織": "织", "辦": "办",
    "監": "监", "檢": "检", "驗": "验", "資": "资", "業": "业", "區": "区", "內": "内", "線": "线",
    "較": "较", "穩": "稳", "損": "损", "傷": "伤", "災": "灾", "險": "险", "證": "证", "報": "报",
    "處": "处", "蓋": "盖", "顧": "顾", "戶": "户", "訴": "诉", "違": "违", "規": "规",
}
OPENERS, CLOSERS = "【〔[{〈《", "】〕]}〉》"
# Full-width ASCII (U+FF01…U+FF5E) → ASCII; then brackets → ( ); then traditional → simplified.
_FULLWIDTH = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}
_BRACKETS = {**dict.fromkeys(OPENERS, "("), **dict.fromkeys(CLOSERS, ")")}
CHAR_MAP: dict[str, str] = {
    **{k: _BRACKETS.get(v, v) for k, v in _FULLWIDTH.items()},
    **_BRACKETS,
    **TRADITIONAL,
}
CHAR_MAP = {k: v for k, v in CHAR_MAP.items() if k != v}
# Whitespace of every kind (as literal characters, read alike by Python `re` and Rust regex).
WHITESPACE = "[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+"

_NUM = r"[0-9]+(?:\.[0-9]+)?"
_KEY = r"(?:分值|权重|满分|计分|分数)?:?"
# Points at the end: `(50分)` `(50)` `(分值:50分)` or `50分` `分值50分`; at the start only with 分.
SUFFIX = rf"(?:\({_KEY}({_NUM})分?\)|{_KEY}({_NUM})分)$"
PREFIX = rf"^(?:\({_KEY}({_NUM})分\)|({_NUM})分)"
ENUMERATION = r"^(?:\((?:[0-9]+|[一二三四五六七八九十]+)\)|(?:[0-9]+|[一二三四五六七八九十]+)[、.])"
_PUNCT = r":;,.、。·•\-—_"
EDGE_PUNCT = rf"^[{_PUNCT}]+|[{_PUNCT}]+$"
WRAPPED = r"^\(([^()]*)\)$"  # a name wholly in brackets: `【产出指标】`

# A hint names a known name when the label is at least this similar (difflib ratio).
HINT_MIN_RATIO = 0.5
# Written points further than this from the rule weight raise LEVEL1_POINTS.
POINTS_TOLERANCE = 0.005


# ----------------------------------------------------------------------------- Polars


def _chars(expr: pl.Expr) -> pl.Expr:
    """Step 1: width, brackets, traditional characters, whitespace."""
    mapped = expr.str.replace_many(list(CHAR_MAP), list(CHAR_MAP.values()))
    return mapped.str.replace_all(WHITESPACE, "")


def level1_points(expr: pl.Expr) -> pl.Expr:
    """The points written in a level-1 label (Float64; null when none)."""
    text = _chars(expr)
    number = pl.coalesce(
        text.str.extract(SUFFIX, 1), text.str.extract(SUFFIX, 2),
        text.str.extract(PREFIX, 1), text.str.extract(PREFIX, 2),
    )
    return number.cast(pl.Float64)


def normalize_level1(expr: pl.Expr) -> pl.Expr:
    """A level-1 label as a name: characters normalized, points and enumeration cut off."""
    text = _chars(expr)
    has_suffix = text.str.contains(SUFFIX)
    text = pl.when(has_suffix).then(text.str.replace(SUFFIX, "")).otherwise(text.str.replace(PREFIX, ""))
    text = text.str.replace(ENUMERATION, "").str.replace_all(EDGE_PUNCT, "")
    return text.str.replace(WRAPPED, "$1")


def group_expr(level1: pl.Expr, rules: RuleSet) -> pl.Expr:
    """Canonical level-1 group of a level-1 label (null when unknown) — docs/scoring.md §2."""
    name = normalize_level1(level1)
    by_name = name.replace_strict(group_lookup(rules), default=None, return_dtype=pl.String)
    by_weight = groups_by_weight(rules)
    if not by_weight:
        return by_name
    by_points = pl.when(name == "").then(
        level1_points(level1).replace_strict(by_weight, default=None, return_dtype=pl.String)
    )
    return pl.coalesce(by_name, by_points)


def level1_table(labels: pl.Series, rules: RuleSet) -> pl.DataFrame:
    """One row per distinct label: `level1`, `level1_group`, `level1_points`, `_level1_hint`.

    The hint (closest known name of an unknown label) is worked out in Python per distinct label.
    """
    table = (
        pl.DataFrame({"level1": labels.unique()}, schema={"level1": pl.String})
        .with_columns(
            group_expr(pl.col("level1"), rules).alias("level1_group"),
            level1_points(pl.col("level1")).alias("level1_points"),
        )
    )
    unknown = table.filter(pl.col("level1_group").is_null())["level1"].drop_nulls().to_list()
    hints = {label: closest_level1_text(label, rules) for label in unknown}
    return table.with_columns(
        pl.col("level1").replace_strict(hints, default=None, return_dtype=pl.String).alias("_level1_hint")
    )


def points_differ(rules: RuleSet) -> pl.Expr:
    """The points written in the label (`level1_points`) differ from the rule weight of its group."""
    return (pl.col("level1_points") - rule_weight(rules)).abs() > POINTS_TOLERANCE


def rule_weight(rules: RuleSet) -> pl.Expr:
    """The rule-set weight of the row's `level1_group`."""
    weights = {g: float(rules.weights[g]) for g in LEVEL1_GROUPS}
    return pl.col("level1_group").replace_strict(weights, default=None, return_dtype=pl.Float64)


# ----------------------------------------------------------------------------- plain Python


def _chars_text(text: str) -> str:
    out = "".join(CHAR_MAP.get(ch, ch) for ch in text)
    return re.sub(WHITESPACE, "", out)


def level1_points_text(label: str | None) -> float | None:
    """Plain-Python twin of `level1_points`."""
    if label is None:
        return None
    text = _chars_text(label)
    for pattern in (SUFFIX, PREFIX):
        match = re.search(pattern, text)
        if match:
            return float(match.group(1) or match.group(2))
    return None


def normalize_level1_text(label: str | None) -> str | None:
    """Plain-Python twin of `normalize_level1`."""
    if label is None:
        return None
    text = _chars_text(label)
    text = re.sub(SUFFIX, "", text, count=1) if re.search(SUFFIX, text) else re.sub(PREFIX, "", text, count=1)
    text = re.sub(EDGE_PUNCT, "", re.sub(ENUMERATION, "", text, count=1))
    return re.sub(WRAPPED, r"\1", text)


@lru_cache(maxsize=64)
def _lookup(aliases: tuple[tuple[str, str], ...]) -> dict[str, str]:
    table: dict[str, str] = {}
    for name, group in [*((g, g) for g in LEVEL1_GROUPS), *aliases]:
        key = normalize_level1_text(name)
        if key:
            table.setdefault(key, group)
    for key, group in list(table.items()):  # `X` and `X指标` are the same name
        other = key.removesuffix("指标") if key.endswith("指标") else f"{key}指标"
        if other:
            table.setdefault(other, group)
    return table


def group_lookup(rules: RuleSet) -> dict[str, str]:
    """Normalized name → group: the canonical groups, then the rule set's aliases (normalized)."""
    return _lookup(tuple(rules.aliases.items()))


def groups_by_weight(rules: RuleSet) -> dict[float, str]:
    """Rule weight → group, for the weights exactly one group has (a bare `(50分)` cell)."""
    weights = [float(rules.weights[g]) for g in LEVEL1_GROUPS]
    return {w: g for w, g in zip(weights, LEVEL1_GROUPS) if weights.count(w) == 1}


def level1_group_text(label: str | None, rules: RuleSet) -> str | None:
    """Plain-Python twin of `group_expr`."""
    name = normalize_level1_text(label)
    if name is None:
        return None
    group = group_lookup(rules).get(name)
    if group is None and name == "":
        points = level1_points_text(label)
        group = None if points is None else groups_by_weight(rules).get(points)
    return group


def closest_level1_text(label: str | None, rules: RuleSet) -> str | None:
    """The known level-1 name (canonical group or alias key) closest to an unknown label, if any is close.

    Names are compared without a trailing 指标 (which every name shares).
    """
    name = (normalize_level1_text(label) or "").removesuffix("指标")
    if not name:
        return None
    best, best_ratio = None, HINT_MIN_RATIO
    for known in [*LEVEL1_GROUPS, *rules.aliases]:
        other = (normalize_level1_text(known) or "").removesuffix("指标")
        ratio = difflib.SequenceMatcher(None, name, other).ratio()
        if ratio > best_ratio or (best is None and ratio >= best_ratio):
            best, best_ratio = known, ratio
    return best


__all__ = [
    "CHAR_MAP", "TRADITIONAL", "closest_level1_text", "group_expr", "group_lookup", "groups_by_weight",
    "level1_group_text", "level1_points", "level1_points_text", "level1_table", "normalize_level1",
    "normalize_level1_text", "points_differ", "rule_weight",
]
