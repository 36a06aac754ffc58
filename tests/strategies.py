"""Hypothesis strategies for random declarations, actuals, execution and rule sets.

`scoring_cases()` draws a whole scoring input: (Declaration, actuals, execution, RuleSet). The
pieces (`target_texts`, `rule_sets`, …) are reusable on their own. Numbers written into texts are
"nice" (integers or 1–2 decimals) so that every grammar reads them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
from hypothesis import strategies as st

from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.rules.loader import rules_from_mapping
from selfeval.rules.model import RuleSet

LEVEL1_NAMES = ("产出指标", "效益指标", "满意度指标", "成本指标", "服务对象满意度指标")
UNKNOWN_LEVEL1 = ("其他指标", "管理指标")
LEVEL2_NAMES = ("数量指标", "质量指标", "时效指标", "成本指标", "社会效益指标", "经济效益指标",
                "生态效益指标", "可持续影响指标", "服务对象满意度指标")
QUALITATIVE_TARGETS = ("有效提升", "达到预期", "确保群众满意", "良好", "是", "明显改善")
TIER_WORDS = ("达成", "完成", "已完成", "全部完成", "达到", "是", "部分达成", "部分完成", "基本完成",
              "基本达到", "未达成", "未完成", "否", "不满意", "基本满意", "满意", "一般", "有效")
BAD_TEXTS = ("3-", "12.3.4%", "95%%", "#12", "12/5", "≥", "--5")
# (written unit, family) — a family groups units a target and an actual may share.
UNITS: dict[str, tuple[str, ...]] = {
    "percent": ("%", "百分比", "％"),
    "money": ("元", "万元"),
    "count_ci": ("次",),
    "count_ren": ("人",),
    "duration": ("天", "个工作日", "周", "个月", "月", "年"),
    "length": ("米", "公里"),
    "bare": ("",),
}
OPERATOR_FORMS: dict[str, tuple[str, ...]] = {
    "ge": ("≥{v}", "不低于{v}", "{v}以上", ">={v}"),
    "le": ("≤{v}", "不超过{v}", "{v}以内"),
    "gt": (">{v}", "大于{v}"),
    "lt": ("<{v}", "低于{v}"),
    "eq": ("{v}", "={v}"),
}


def nice_numbers(lo: float = 0, hi: float = 200) -> st.SearchStrategy[float]:
    """Integers or numbers with one or two decimals in [lo, hi]."""
    ints = st.integers(int(lo), int(hi)).map(float)
    cents = st.integers(int(lo * 100), int(hi * 100)).map(lambda c: c / 100)
    tenths = st.integers(int(lo * 10), int(hi * 10)).map(lambda c: c / 10)
    return st.one_of(ints, ints, tenths, cents)


def fmt(x: float) -> str:
    """A nice number as written in a table: no trailing zeros, no exponent."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return text or "0"


@dataclass(frozen=True)
class Target:
    """A generated target: its text and what an actual for it should look like."""

    text: str
    kind: str  # quant | range | deadline | qualitative | bad
    family: str | None = None
    unit: str = ""
    value: float = 0.0
    hi: float = 0.0


@st.composite
def target_texts(draw: st.DrawFn, *, clean: bool = False) -> Target:
    """A target text of any op and unit, sometimes unparseable (never when `clean`)."""
    kind = draw(st.sampled_from(["quant"] * 6 + ["range", "deadline", "deadline", "qualitative", "qualitative"]
                                + ([] if clean else ["bad"])))
    if kind == "quant":
        op = draw(st.sampled_from(list(OPERATOR_FORMS)))
        family = draw(st.sampled_from(list(UNITS)))
        unit = draw(st.sampled_from(UNITS[family]))
        value = draw(nice_numbers(0, 120) if unit != "万元" else nice_numbers(0, 20))
        form = draw(st.sampled_from(OPERATOR_FORMS[op]))
        return Target(form.format(v=fmt(value) + unit), "quant", family, unit, value)
    if kind == "range":
        lo = draw(nice_numbers(0, 90))
        hi = lo + draw(nice_numbers(1, 30))
        unit, text = draw(st.sampled_from([
            ("%", f"{fmt(lo)}%-{fmt(hi)}%"), ("%", f"{fmt(lo)}~{fmt(hi)}%"), ("%", f"{fmt(lo)}%至{fmt(hi)}%"),
            ("次", f"{fmt(lo)}-{fmt(hi)}次"),
        ]))
        return Target(text, "range", "percent" if unit == "%" else "count_ci", unit, lo, hi)
    if kind == "deadline":
        y = draw(st.sampled_from([2024, 2025, 2026]))
        m = draw(st.integers(1, 12))
        d = draw(st.integers(1, 28))
        text = draw(st.sampled_from([f"{y}年", f"{y}年{m}月", f"{y}年{m}月{d}日前", f"{y}-{m:02d}-{d:02d}",
                                     "年底前", f"{m}月底前", "上半年"]))
        return Target(text, "deadline")
    if kind == "qualitative":
        return Target(draw(st.sampled_from(QUALITATIVE_TARGETS)), "qualitative")
    return Target(draw(st.sampled_from(BAD_TEXTS)), "bad")


@st.composite
def actual_texts(draw: st.DrawFn, target: Target, *, clean: bool = False) -> str | None:
    """An actual for `target`: usually fitting, sometimes missing, bad, or of another dimension."""
    warts = ["missing", "empty", "bad", "other", "bare", "tier", "date"]
    mode = "fit" if clean else draw(st.sampled_from(["fit"] * 16 + warts))
    if mode == "missing":
        return None
    if mode == "empty":
        return draw(st.sampled_from(["", "  "]))
    if mode == "bad":
        return draw(st.sampled_from(BAD_TEXTS))
    if mode == "tier":
        return draw(st.sampled_from(TIER_WORDS))
    if mode == "date":
        y = draw(st.sampled_from([2024, 2025, 2026]))
        m = draw(st.integers(1, 12))
        d = draw(st.integers(1, 28))
        return draw(st.sampled_from([f"{y}年{m}月", f"{y}年{m}月{d}日", f"{y}-{m:02d}-{d:02d}", f"{y}年"]))
    if mode == "other":
        family = draw(st.sampled_from(list(UNITS)))
        return fmt(draw(nice_numbers(0, 150))) + draw(st.sampled_from(UNITS[family]))
    if mode == "bare":
        return fmt(draw(nice_numbers(0, 150)))
    # fit
    if target.kind in ("quant", "range"):
        base = target.value if target.kind == "quant" else draw(st.sampled_from([target.value, target.hi]))
        factor = draw(st.sampled_from([0.0, 0.5, 0.8, 0.9, 0.95, 1.0, 1.0, 1.0, 1.05, 1.2, 1.5, 2.0, 3.0]))
        value = round(base * factor, draw(st.sampled_from([0, 1, 2])))
        family = target.family or "bare"
        unit = draw(st.sampled_from(UNITS[family])) if draw(st.booleans()) else target.unit
        if unit == "万元":
            value = round(value / 1e4 if target.unit != "万元" else value, 2)
        elif target.unit == "万元" and unit == "元":
            value = round(value * 1e4, 2)
        return fmt(value) + unit
    if target.kind == "deadline":
        y = draw(st.sampled_from([2024, 2025, 2026]))
        m = draw(st.integers(1, 12))
        d = draw(st.integers(1, 28))
        return draw(st.sampled_from([f"{y}年{m}月{d}日", f"{y}年{m}月", f"{y}-{m:02d}-{d:02d}", f"{y}年"]))
    if target.kind == "qualitative":
        return draw(st.sampled_from([*TIER_WORDS, target.text, "无明显变化"]))
    return fmt(draw(nice_numbers(0, 100))) + "%"


def _curve(kind: str, points: list[tuple[float, float]]) -> dict[str, Any]:
    return {"kind": kind, "points": [list(p) for p in points]}


@st.composite
def curves(draw: st.DrawFn) -> dict[str, Any]:
    """A linear or step curve with strictly increasing r and fractions in [0, 1]."""
    kind = draw(st.sampled_from(["linear", "step"]))
    xs = sorted(set(draw(st.lists(st.sampled_from([0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.2]), min_size=1, max_size=5))))
    ys = sorted(draw(st.lists(st.sampled_from([0.0, 0.3, 0.5, 0.6, 0.75, 0.8, 0.9, 1.0]), min_size=len(xs), max_size=len(xs))))
    return _curve(kind, list(zip(xs, ys, strict=True)))


@st.composite
def rule_sets(draw: st.DrawFn) -> RuleSet:
    """A valid rule set built with `rules_from_mapping`, varying every scoring parameter."""
    data: dict[str, Any] = {"name": "generated"}
    if draw(st.booleans()):
        out = draw(st.sampled_from([40.0, 50.0, 60.0]))
        eff = draw(st.sampled_from([20.0, 30.0]))
        sat = draw(st.sampled_from([0.0, 10.0, 12.5]))
        exe = draw(st.sampled_from([10.0, 20.0]))
        data["weights"] = {"产出指标": out, "效益指标": eff, "满意度指标": sat, "预算执行率": exe}
    data["split"] = draw(st.sampled_from(["per_indicator", "per_level2"]))
    if draw(st.booleans()):  # fixed level-2 shares (issue 13), a zero share and unlisted names included
        data["level2_weights"] = draw(st.dictionaries(
            st.sampled_from(["产出指标", "效益指标"]),
            st.dictionaries(st.sampled_from(["数量指标", "质量", "时效指标", "成本指标", "社会效益指标", "经济效益"]),
                            st.sampled_from([0.0, 5.0, 10.0, 20.0]), min_size=1, max_size=3).filter(lambda d: sum(d.values()) > 0),
            max_size=2))
    data["missing_transfer"] = draw(st.sampled_from([
        {"满意度指标": "效益指标"}, {}, {"满意度指标": "效益指标", "效益指标": "产出指标"},
        {"满意度指标": "效益指标", "效益指标": "满意度指标"},
    ]))
    if draw(st.booleans()):
        data["curves"] = {"default": draw(curves())}
        for op in draw(st.lists(st.sampled_from(["ge", "le", "eq", "range", "deadline"]), max_size=2, unique=True)):
            data["curves"][op] = draw(curves())
    overshoot: dict[str, Any] = {"threshold": draw(st.sampled_from([1.2, 1.3, 1.5, 2.0]))}
    if draw(st.booleans()):
        overshoot["deduct"] = _curve(draw(st.sampled_from(["linear", "step"])), [(1.5, 0.0), (3.0, draw(st.sampled_from([0.2, 0.5])))])
    # issue 13: overshoot modes (none/explain/deduct/cap) and a zero-target threshold
    mode = draw(st.sampled_from([None, None, "none", "explain", "cap"] + (["deduct"] if "deduct" in overshoot else [])))
    if mode is not None:
        overshoot["mode"] = mode
    if mode == "cap":
        overshoot["cap"] = draw(st.sampled_from([0.0, 0.8, 0.9]))
    if draw(st.booleans()):
        overshoot["zero_threshold"] = draw(st.sampled_from([0.5, 1.0, 5.0, 100.0]))
    data["overshoot"] = overshoot
    data["reverse"] = {"formula": draw(st.sampled_from(["ratio", "deviation"]))}
    data["deadline"] = {"late_penalty_per_month": draw(st.sampled_from([0.0, 0.1, 0.15, 0.25]))}
    schedule: dict[str, Any] = {"tolerance": draw(st.sampled_from([0.0, 0.0, 5.0])),
                                "points_per_checkpoint": draw(st.sampled_from([0.0, 0.0, 0.5, 1.25]))}
    if draw(st.booleans()):
        # monitoring lines at any month, written as a name, a number or in Chinese
        schedule["thresholds"] = draw(st.dictionaries(st.sampled_from(["mar", "jun", "oct", "apr", 8, "1月底", "11"]),
                                                      st.sampled_from([0.0, 25.0, 40.0, 80.0, 100.0]), max_size=4))
    data["execution"] = {"schedule": schedule, "cap": draw(st.booleans()),
                         "zero_budget": draw(st.sampled_from(["unscorable", "full", "zero"]))}
    if draw(st.booleans()):
        data["execution"]["curve"] = draw(curves())
    data["department"] = draw(st.sampled_from(["budget", "mean", "parts", "category"]))
    if data["department"] == "category" and draw(st.booleans()):  # project categories weighed (issue 13)
        data["category_weights"] = draw(st.sampled_from([
            {"运转类": 30, "特定目标类": 70},
            {"运转类": 1, "特定目标类": 1, "未分类": 2},
            {"特定目标类": 100, "其他": 0},
        ]))
    if data["department"] == "parts":  # department (整体) weights by part (issue 13)
        data["department_weights"] = draw(st.sampled_from([
            {"预算执行率": 20, "产出指标": 40, "效益指标+满意度指标": 40},
            {"预算执行率": 10, "产出指标": 50, "效益指标": 30, "满意度指标": 10},
            {"满意度指标": 30, "预算执行率+产出指标": 70},
        ]))
    rounding: dict[str, Any] = {"mode": draw(st.sampled_from(["half_up", "half_up", "truncate"]))}
    for part in ("indicator", "execution", "total"):
        if draw(st.integers(0, 2)) == 0:
            rounding[part] = {"mode": draw(st.sampled_from(["half_up", "truncate"])), "decimals": draw(st.sampled_from([0, 1, 2]))}
    if draw(st.booleans()):
        rounding.setdefault("indicator", {})["within_weight"] = True
    data["rounding"] = rounding
    if draw(st.booleans()):
        data["grades"] = draw(st.sampled_from([
            [{"grade": "优", "min": 90}, {"grade": "良", "min": 80}, {"grade": "中", "min": 60}, {"grade": "差", "min": 0}],
            [{"grade": "A", "min": 90}, {"grade": "B", "min": 80}, {"grade": "C", "min": 70}, {"grade": "D", "min": 60},
             {"grade": "E", "min": 0}],
            [{"grade": "合格", "min": 60}, {"grade": "不合格", "min": 0}],
        ]))
    if draw(st.booleans()):
        data["qualitative"] = {"tiers": {
            "达成": {"band": [0.8, 1.0], "default": draw(st.sampled_from([1.0, 0.9])),
                   "words": ["达成", "完成", "达到", "是", "已完成", "全部完成", "满意", "有效"]},
            "部分达成": {"band": [0.6, 0.8], "default": 0.7,
                     "words": ["部分达成", "部分完成", "基本完成", "基本达到", "基本满意", "一般"]},
            "未达成": {"band": [0.0, 0.6], "default": draw(st.sampled_from([0.3, 0.0])),
                    "words": ["未达成", "未完成", "未达到", "否", "不满意"]},
        }}
    return rules_from_mapping(data, source="<hypothesis>")


@dataclass(frozen=True)
class ScoringCase:
    """One generated scoring input."""

    declaration: Declaration
    actuals: pl.DataFrame
    execution: pl.DataFrame
    rules: RuleSet


def _tier_columns(draw: st.DrawFn, target: Target) -> tuple[str | None, float | None]:
    if target.kind != "qualitative" or draw(st.integers(0, 2)) > 0:
        return None, None
    tier = draw(st.sampled_from(["达成", "部分达成", "未达成", "完全达成", " 达成 "]))
    fraction = draw(st.sampled_from([None, None, 0.0, 0.5, 0.6, 0.65, 0.75, 0.8, 0.9, 1.0]))
    return tier, fraction


@st.composite
def scoring_cases(draw: st.DrawFn, *, max_units: int = 3, max_projects: int = 4, max_indicators: int = 12) -> ScoringCase:
    """A declaration of 1–3 units with actuals, execution and a rule set, warts included."""
    units: list[dict[str, Any]] = []
    projects: list[dict[str, Any]] = []
    indicators: list[dict[str, Any]] = []
    actuals: list[dict[str, Any]] = []
    execution: list[dict[str, Any]] = []
    n_units = draw(st.integers(1, max_units))
    for u in range(n_units):
        unit = f"48000{u + 1}"
        year = draw(st.sampled_from([2025, 2025, 2025, 2024, None]))
        units.append({"unit_code": unit, "unit_name": f"单位{u + 1}", "year": year})
        for p in range(draw(st.integers(1, max_projects))):
            project = f"{unit}P{p + 1:02d}"
            budget = draw(st.sampled_from([0.0, 10000.0, 20000.0, 89000.0, 12345.67, 30000.0]))
            plans = draw(st.sampled_from([(25.0, 50.0, 75.0), (30.0, 60.0, 90.0), (None, 50.0, None)]))
            projects.append({
                "unit_code": unit, "project_code": project, "project_name": f"项目{p + 1}",
                "category": draw(st.sampled_from(["运转类", "特定目标类", "特定目标类 ", None, "", "其他"])),
                "budget": budget, "fiscal_funds": budget, "other_funds": 0.0,
                "plan_mar": plans[0], "plan_jun": plans[1], "plan_oct": plans[2], "plan_dec": 100.0,
            })
            n_ind = draw(st.integers(1, max_indicators))
            clean = draw(st.booleans()) and year is not None  # a project without warts
            explicit = draw(st.sampled_from([None, None, None, "exact", "any"]))
            for seq in range(1, n_ind + 1):
                level1 = draw(st.sampled_from(LEVEL1_NAMES + LEVEL1_NAMES + LEVEL1_NAMES[:3] + ((), UNKNOWN_LEVEL1[:1])[not clean]))
                if draw(st.integers(0, 9)) == 0:
                    level1 = f" {level1} "
                level2 = draw(st.sampled_from((*LEVEL2_NAMES[:4], *LEVEL2_NAMES[:4], None, "", " 数量指标")))
                level3 = f"指标{seq}"
                target = draw(target_texts(clean=clean))
                weight = None
                if explicit == "exact":  # adds up to 90 (+ execution 10 under the default weights)
                    weight = 90.0 / n_ind
                elif explicit == "any":
                    weight = draw(st.sampled_from([5.0, 10.0, 12.5, 7.5, 2.25]))
                    if draw(st.integers(0, 19)) == 0:
                        weight = None
                indicators.append({
                    "unit_code": unit, "project_code": project, "indicator_id": f"{project}-{seq:02d}",
                    "seq": seq, "level1": level1, "level2": level2, "level3": level3,
                    "target_text": target.text, "weight": weight,
                })
                # the actual row(s)
                presence = "row" if clean else draw(st.sampled_from(["row"] * 24 + ["none", "dup", "clash"]))
                if presence == "none":
                    continue
                tier, fraction = _tier_columns(draw, target)
                row = {
                    "unit_code": draw(st.sampled_from([unit, unit, None])),
                    "project_code": project, "seq": seq,
                    "level3": draw(st.sampled_from([level3, level3, None, f" {level3}"])),
                    "actual_text": draw(actual_texts(target, clean=clean)),
                    "deviation_reason": draw(st.sampled_from([None, None, "", "已说明原因"])),
                    "tier": tier, "fraction": fraction,
                }
                if presence == "clash":
                    row["level3"] = "别的指标"
                actuals.append(row)
                if presence == "dup":
                    actuals.append({**row, "actual_text": draw(actual_texts(target))})
            # execution
            mode = "row" if clean else draw(st.sampled_from(["row"] * 6 + ["none", "no_executed", "no_year_budget", "zero_budget"]))
            if mode == "none":
                continue
            year_budget = budget if budget > 0 else 20000.0
            factor = draw(st.sampled_from([1.0, 0.98, 0.9925, 0.91, 0.5, 0.0, 1.1, 0.875]))
            execution.append({
                "unit_code": draw(st.sampled_from([unit, None])), "project_code": project,
                "year_budget": {"no_year_budget": None, "zero_budget": 0.0}.get(mode, year_budget),
                "executed": None if mode == "no_executed" else round(year_budget * factor, 2),
                "executed_by_mar": draw(st.sampled_from([None, 0.0, 0.25, 0.15, 0.3])),
                "executed_by_jun": draw(st.sampled_from([None, 0.5, 0.45, 0.6])),
                "executed_by_oct": draw(st.sampled_from([None, 0.75, 0.7, 0.9])),
                # months only a rule's line checks (never declared plans)
                "executed_by_jan": draw(st.sampled_from([None, 0.0, 0.05, 0.1])),
                "executed_by_apr": draw(st.sampled_from([None, 0.2, 0.3])),
                "executed_by_aug": draw(st.sampled_from([None, 0.55, 0.7])),
                "executed_by_nov": draw(st.sampled_from([None, 0.85, 1.0])),
            })
            for cp in ("mar", "jun", "oct", "jan", "apr", "aug", "nov"):
                share = execution[-1][f"executed_by_{cp}"]
                if share is not None:
                    execution[-1][f"executed_by_{cp}"] = round(share * year_budget, 2)
    # rows naming nothing declared
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        actuals.append({
            "unit_code": draw(st.sampled_from([None, "480001", "999999"])),
            "project_code": draw(st.sampled_from(["480001P01", "480001P99", "UNKNOWN"])),
            "seq": draw(st.sampled_from([1, 99])), "level3": None, "actual_text": "95%",
            "deviation_reason": None, "tier": None, "fraction": None,
        })
    if draw(st.integers(0, 4)) == 0:
        execution.append({"unit_code": None, "project_code": "NOPROJECT", "year_budget": 100.0, "executed": 50.0})
    declaration = Declaration(
        units=schema.conform(pl.DataFrame(units, schema_overrides={"year": pl.Int32}), schema.UNITS),
        projects=schema.conform(pl.DataFrame(projects, infer_schema_length=None), schema.PROJECTS),
        indicators=schema.conform(pl.DataFrame(indicators, infer_schema_length=None), schema.INDICATORS),
    )
    actual_frame = schema.conform(pl.DataFrame(actuals, infer_schema_length=None), schema.ACTUALS) if actuals else schema.empty(schema.ACTUALS)
    exec_frame = schema.conform(pl.DataFrame(execution, infer_schema_length=None), schema.EXECUTION) if execution else schema.empty(schema.EXECUTION)
    return ScoringCase(declaration, actual_frame, exec_frame, draw(rule_sets()))
