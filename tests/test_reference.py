"""The reference scorer against SPEC.md §5.7 and hand-computed cases (docs/scoring.md)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import selfeval.reference as reference_module
from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.reference import ReferenceResult, reference_score, round_half_up
from selfeval.rules.loader import load_rules, rules_from_mapping
from selfeval.rules.model import RuleSet

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
UNIT, PROJECT = "480001", "P1"
MOF = load_rules("mof-2020")

# ------------------------------------------------------------------ builders


def declare(
    indicators: list[dict[str, Any]], *, budget: float = 20000.0, year: int | None = 2025,
    projects: list[dict[str, Any]] | None = None,
) -> Declaration:
    """One unit; `indicators` rows default to project P1, level1 产出指标, seq 1, 2, …"""
    rows = []
    for n, ind in enumerate(indicators, start=1):
        row = {"unit_code": UNIT, "project_code": PROJECT, "seq": n, "level1": "产出指标",
               "level2": "数量指标", "level3": f"指标{n}", **ind}
        row["indicator_id"] = f"{row['project_code']}-{row['seq']:02d}"
        rows.append(row)
    if projects is None:
        projects = [{"project_code": PROJECT, "budget": budget}]
    projects = [{"unit_code": UNIT, "plan_mar": 25.0, "plan_jun": 50.0, "plan_oct": 75.0, "plan_dec": 100.0, **p}
                for p in projects]
    return Declaration(
        units=schema.conform(pl.DataFrame({"unit_code": [UNIT], "unit_name": ["单位"], "year": [year]}), schema.UNITS),
        projects=schema.conform(pl.DataFrame(projects), schema.PROJECTS),
        indicators=schema.conform(pl.DataFrame(rows, infer_schema_length=None), schema.INDICATORS),
    )


def actual_rows(rows: list[dict[str, Any]]) -> pl.DataFrame:
    full = [{"unit_code": UNIT, "project_code": PROJECT, **r} for r in rows]
    return schema.conform(pl.DataFrame(full, infer_schema_length=None), schema.ACTUALS) if full else schema.empty(schema.ACTUALS)


def execution_rows(rows: list[dict[str, Any]] | None = None) -> pl.DataFrame:
    if rows is None:
        rows = [{"project_code": PROJECT, "year_budget": 20000.0, "executed": 20000.0}]
    full = [{"unit_code": UNIT, **r} for r in rows]
    return schema.conform(pl.DataFrame(full, infer_schema_length=None), schema.EXECUTION) if full else schema.empty(schema.EXECUTION)


def score_one(target: str | None, actual: str | None, rules: RuleSet = MOF, **extra: Any) -> ReferenceResult:
    """A project with one 产出指标 indicator (weight 50: no 效益/满意度 to pass weight to)."""
    act = {k: extra.pop(k) for k in ("tier", "fraction", "deviation_reason") if k in extra}
    decl = declare([{"target_text": target, **extra}])
    return reference_score(decl, actual_rows([{"seq": 1, "level3": "指标1", "actual_text": actual, **act}]), execution_rows(), rules)


def codes(result: ReferenceResult) -> Counter[str]:
    return Counter(f[0] for f in result.findings)


# ------------------------------------------------------------------ SPEC.md §5.7 golden result

P1, P2, P3, P4, P5 = ("13022925P00JXC419898U", "13022925P00JXC419591N", "13022925P00016410007L",
                      "13022925P00JXC419899F", "13022925P00JXC419896L")


@pytest.fixture(scope="module")
def golden() -> ReferenceResult:
    from selfeval.ingest import read_actuals, read_declared, read_execution

    return reference_score(
        read_declared(SAMPLES / "seed_targets_2025.txt"),
        read_actuals(SAMPLES / "actuals_sample.csv"),
        read_execution(SAMPLES / "execution_sample.csv"),
        load_rules("mof-2020"),
    )


@pytest.mark.parametrize(
    ("project", "execution_points", "total"),
    [(P1, 9.93, 99.93), (P2, 10.00, 100.00), (P3, 9.80, 99.36), (P4, 9.10, 98.07), (P5, 9.80, 99.55)],
)
def test_golden_projects(golden: ReferenceResult, project: str, execution_points: float, total: float) -> None:
    """It should reproduce every project's execution points, total and grade of SPEC.md §5.7."""
    p = golden.projects[("480001", project)]
    assert (p["execution_points"], p["total"], p["grade"], p["complete"]) == (execution_points, total, "优", True)


@pytest.mark.parametrize(
    ("project", "seq", "points"),
    [(P1, 1, 12.50), (P2, 3, 12.50), (P3, 1, 12.22), (P3, 7, 7.34), (P4, 1, 12.50), (P4, 3, 11.84),
     (P4, 6, 7.13), (P5, 1, 12.25), (P5, 3, 12.50), (P4, 9, 10.00)],
)
def test_golden_notable_rows(golden: ReferenceResult, project: str, seq: int, points: float) -> None:
    """It should score the notable rows of SPEC.md §5.7 to the cent."""
    assert golden.indicators[("480001", project, seq)]["points"] == points


def test_golden_weights_and_rows(golden: ReferenceResult) -> None:
    """It should give 4×12.5 + 4×7.5 + 1×10 in every project and score all 45 indicators."""
    assert len(golden.indicators) == 45
    assert all(i["status"] == "scored" for i in golden.indicators.values())
    for project in (P1, P2, P3, P4, P5):
        weights = sorted(golden.indicators[("480001", project, s)]["weight"] for s in range(1, 10))
        assert weights == [7.5] * 4 + [10.0] + [12.5] * 4


def test_golden_department(golden: ReferenceResult) -> None:
    """It should weight the department score by budget: 99.55 优 over 179000 元."""
    unit = golden.units["480001"]
    assert (unit["total"], unit["grade"], unit["complete"], unit["budget"]) == (99.55, "优", True, 179000.0)


def test_golden_findings(golden: ReferenceResult) -> None:
    """It should flag OVERSHOOT on project 4 seq 1 and exactly the SCHEDULE checkpoints of §5.7."""
    assert ("OVERSHOOT", "480001", P4, 1) in golden.findings
    assert [f for f in golden.findings if f[0] == "OVERSHOOT"] == [("OVERSHOOT", "480001", P4, 1)]
    schedule = sorted((f[2], f[4]) for f in golden.findings_detailed if f[0] == "SCHEDULE")
    assert schedule == sorted([
        (P3, "executed_by_mar"), (P3, "executed_by_jun"),
        (P4, "executed_by_mar"), (P4, "executed_by_jun"), (P4, "executed_by_oct"),
    ])
    assert not [f for f in golden.findings if f[0] in {"MISSING_ACTUAL", "UNPARSEABLE", "UNIT_MISMATCH",
                                                       "KEY_MISMATCH", "WEIGHTS_SUM", "MISSING_EXECUTION"}]


# ------------------------------------------------------------------ rounding

@pytest.mark.parametrize(
    ("value", "expected"),
    [(9.925, 9.93), (7.125, 7.13), (0.005, 0.01), (2.675, 2.68), (1.005, 1.01), (12.2222, 12.22),
     (0.004999999, 0.0), (7.5 * 0.95, 7.13), (10 * 19850 / 20000, 9.93), (99.995, 100.0), (0.0, 0.0)],
)
def test_round_half_up(value: float, expected: float) -> None:
    """It should round half up after dropping binary noise, never to even."""
    assert round_half_up(value, 2) == expected


# ------------------------------------------------------------------ one indicator, as data
ACTUAL_SIDE = ("tier", "fraction", "deviation_reason", "points")
# (id, target, actual, extra columns, ratio, points, status, finding codes)
INDICATOR_CASES: list[tuple[str, str | None, str | None, dict[str, Any], float | None, float | None, str, dict[str, int]]] = [
    ("ge-short", "≥90%", "88%", {}, 88 / 90, 48.89, "scored", {"MISSING_REASON": 1}),
    ("ge-short-with-reason", "≥90%", "88%", {"deviation_reason": "汛期影响"}, 88 / 90, 48.89, "scored", {}),
    ("ge-met", "≥95百分比", "96%", {}, 96 / 95, 50.0, "scored", {}),
    ("ge-zero-target", "≥0次", "3次", {}, 1.0, 50.0, "scored", {}),
    ("gt", ">20次", "25次", {}, 1.25, 50.0, "scored", {}),
    ("le-over", "≤20000元", "25000元", {}, 0.8, 40.0, "scored", {"MISSING_REASON": 1}),
    ("le-met-converted", "≤5个工作日", "3天", {}, 1.0, 50.0, "scored", {}),
    ("lt-zero-target", "<0次", "2次", {}, 0.0, 0.0, "scored", {"MISSING_REASON": 1}),
    # a bare target value is a floor (≥) unless = / 等于 is written or the direction says otherwise
    ("bare-short", "5人", "4人", {}, 0.8, 40.0, "scored", {"MISSING_REASON": 1}),
    ("bare-over-is-met", "5人", "6人", {}, 1.2, 50.0, "scored", {}),
    ("bare-percent-over-is-met", "90%", "100%", {}, 100 / 90, 50.0, "scored", {}),
    ("eq-written-over", "=5人", "6人", {}, 5 / 6, 41.67, "scored", {"MISSING_REASON": 1}),
    ("eq-word-over", "等于5人", "6人", {}, 5 / 6, 41.67, "scored", {"MISSING_REASON": 1}),
    ("bare-cost-is-a-cap", "2万元", "2.5万元", {"level2": "成本指标"}, 0.8, 40.0, "scored", {"MISSING_REASON": 1}),
    ("bare-cost-level1-is-a-cap", "2万元", "1.5万元", {"level1": "成本指标", "level2": "经济成本指标"}, 1.0, 50.0, "scored", {}),
    ("bare-cost-level1-with-points", "2万元", "2.5万元", {"level1": "成本指标（20分）", "level2": "经济成本指标"}, 0.8, 40.0,
     "scored", {"MISSING_REASON": 1, "LEVEL1_POINTS": 1}),
    ("direction-column-le", "90%", "95%", {"direction": "le"}, 90 / 95, 47.37, "scored", {"MISSING_REASON": 1}),
    ("direction-column-eq", "5人", "6人", {"direction": "eq"}, 5 / 6, 41.67, "scored", {"MISSING_REASON": 1}),
    ("written-op-beats-column", "≥90%", "95%", {"direction": "le"}, 95 / 90, 50.0, "scored", {}),
    ("eq-both-zero", "0次", "0次", {}, 1.0, 50.0, "scored", {}),
    # a bare actual number means the target's unit as written, 万 included
    ("bare-actual-wan", "≥11.376万元", "12", {}, 120000 / 113760, 50.0, "scored", {}),
    ("bare-actual-wan-cap", "≤90万元", "95", {}, 90 / 95, 47.37, "scored", {"MISSING_REASON": 1}),
    ("bare-actual-wan-people", "≥3万人次", "2.4", {}, 0.8, 40.0, "scored", {"MISSING_REASON": 1}),
    ("actual-own-multiplier", "≤120万元", "118.6万", {}, 1.0, 50.0, "scored", {}),
    ("bare-zero-target-is-a-cap", "0起", "2起", {}, 0.0, 0.0, "scored", {"MISSING_REASON": 1}),
    ("bare-zero-target-met", "0起", "0起", {}, 1.0, 50.0, "scored", {}),
    # negative and yes/no targets
    ("negative-same-text", "否", "否", {}, None, 50.0, "scored", {}),
    ("negative-same-thing", "无安全事故", "未发生安全事故", {}, None, 50.0, "scored", {}),
    ("negative-zero", "零投诉", "无投诉", {}, None, 50.0, "scored", {}),
    ("negative-other-thing", "无安全事故", "无效", {}, None, 15.0, "scored", {"MISSING_REASON": 1}),
    ("negative-answered-yes", "否", "是", {}, None, 15.0, "scored", {"MISSING_REASON": 1}),
    ("negative-with-a-leading-word", "全年无安全责任事故", "未发生安全责任事故", {}, None, 50.0, "scored", {}),
    ("negative-traditional", "無安全事故", "未發生安全事故", {}, None, 50.0, "scored", {}),
    ("tier-traditional", "有效提升", "達成", {}, None, 50.0, "scored", {}),
    ("bare-cost-traditional-level2", "2万元", "2.5万元", {"level2": "成本指標"}, 0.8, 40.0, "scored", {"MISSING_REASON": 1}),
    ("negative-answered-happened", "无安全事故", "发生安全事故2起", {}, None, 15.0, "scored", {"MISSING_REASON": 1}),
    # an Excel date serial in a date cell is not a number
    ("excel-serial", "2025年6月30日前", "45838", {}, None, None, "unscorable", {"UNPARSEABLE": 1}),
    # the evaluator's own score is kept, with a finding
    ("override-points-with-reason", "≥90%", "95%", {"points": 45.0, "deviation_reason": "质量未达要求"}, 95 / 90, 45.0,
     "scored", {"OVERRIDE": 1}),
    ("override-points-no-reason", "≥90%", "95%", {"points": 45.0}, 95 / 90, 45.0, "scored", {"OVERRIDE": 1}),
    ("override-points-equal", "≥90%", "95%", {"points": 50.0}, 95 / 90, 50.0, "scored", {}),
    ("override-points-invalid", "≥90%", "95%", {"points": 60.0}, 95 / 90, 50.0, "scored", {"OVERRIDE": 1}),
    ("override-fraction-on-quantitative", "≥90%", "95%", {"fraction": 0.9, "deviation_reason": "质量"}, 95 / 90, 45.0,
     "scored", {"OVERRIDE": 1}),
    ("eq-money-wan", "2万元", "1.96万元", {}, 0.98, 49.0, "scored", {"MISSING_REASON": 1}),
    ("eq-money-yuan", "2万元", "20000元", {}, 1.0, 50.0, "scored", {}),
    ("range-inside", "80%-90%", "85%", {}, 1.0, 50.0, "scored", {}),
    ("range-below", "80%-90%", "60%", {}, 0.75, 37.5, "scored", {"MISSING_REASON": 1}),
    ("range-above", "80%~90%", "100%", {}, 0.9, 45.0, "scored", {"MISSING_REASON": 1}),
    ("duration-months-days", "≥3月", "90天", {}, 1.0, 50.0, "scored", {}),
    ("bare-actual-takes-target-unit", "≥95%", "96", {}, 96 / 95, 50.0, "scored", {}),
    ("deadline-met", "2025年", "2025年12月", {}, 1.0, 50.0, "scored", {}),
    ("deadline-late-2-months", "2025年6月30日前", "2025年8月15日", {}, 0.8, 40.0, "scored", {"MISSING_REASON": 1}),
    ("deadline-late-1-day", "2025年6月30日前", "2025-07-01", {}, 0.9, 45.0, "scored", {"MISSING_REASON": 1}),
    ("deadline-late-same-month", "2025年6月15日前", "2025-06-20", {}, 0.9, 45.0, "scored", {"MISSING_REASON": 1}),
    ("deadline-very-late", "2024年", "2025年12月", {}, 0.0, 0.0, "scored", {"MISSING_REASON": 1}),
    ("overshoot", "≥20次", "36次", {}, 1.8, 50.0, "scored", {"OVERSHOOT": 1, "MISSING_REASON": 1}),
    ("overshoot-explained", "≥20次", "36次", {"deviation_reason": "活动增加"}, 1.8, 50.0, "scored", {"OVERSHOOT": 1}),
    ("missing-actual", "≥95%", None, {}, None, None, "unscorable", {"MISSING_ACTUAL": 1}),
    ("blank-actual", "≥95%", "   ", {}, None, None, "unscorable", {"MISSING_ACTUAL": 1}),
    ("unparseable-actual", "≥95%", "95%%", {}, None, None, "unscorable", {"UNPARSEABLE": 1}),
    ("unparseable-target", "12/5", "95%", {}, None, None, "unscorable", {"UNPARSEABLE": 1}),
    ("unit-mismatch-dimension", "≥95%", "3次", {}, None, None, "unscorable", {"UNIT_MISMATCH": 1}),
    ("unit-mismatch-count", "≥20次", "20人", {}, None, None, "unscorable", {"UNIT_MISMATCH": 1}),
    ("unit-mismatch-range-actual", "≥90%", "80%-90%", {}, None, None, "unscorable", {"UNIT_MISMATCH": 1}),
    ("unit-mismatch-deadline", "2025年", "95%", {}, None, None, "unscorable", {"UNIT_MISMATCH": 1}),
    ("deadline-needs-year", "年底前", "2025年12月", {"_year": None}, None, None, "unscorable", {"UNPARSEABLE": 1}),
    ("unknown-level1", "≥90%", "95%", {"level1": "其他指标"}, None, None, "unscorable", {"UNKNOWN_LEVEL1": 1}),
    ("alias-level1", "≥90%", "95%", {"level1": " 成本指标 "}, 95 / 90, 50.0, "scored", {}),
    # qualitative tiers
    ("tier-achieved", "有效提升", "达成", {}, None, 50.0, "scored", {}),
    ("tier-partly", "有效提升", "部分完成", {}, None, 35.0, "scored", {"MISSING_REASON": 1}),
    ("tier-not", "有效提升", "未完成", {}, None, 15.0, "scored", {"MISSING_REASON": 1}),
    ("tier-longest-word", "有效提升", "基本满意", {}, None, 35.0, "scored", {"MISSING_REASON": 1}),
    ("tier-longest-word-not", "有效提升", "不满意", {}, None, 15.0, "scored", {"MISSING_REASON": 1}),
    ("tier-equal-to-target", "明显改善", "明显改善", {}, None, 50.0, "scored", {}),
    ("tier-column", "明显改善", None, {"tier": "部分达成"}, None, 35.0, "scored", {"MISSING_REASON": 1}),
    ("tier-column-fraction", "明显改善", "情况说明", {"tier": "部分达成", "fraction": 0.75}, None, 37.5, "scored", {"MISSING_REASON": 1}),
    ("tier-column-wins", "明显改善", "达成", {"tier": "未达成"}, None, 15.0, "scored", {"MISSING_REASON": 1}),
    ("tier-fraction-out-of-band", "明显改善", "部分达成", {"fraction": 0.9}, None, None, "unscorable", {"INVALID_TIER": 1}),
    ("tier-unknown-name", "明显改善", "达成", {"tier": "完全达成"}, None, None, "unscorable", {"INVALID_TIER": 1}),
    ("tier-no-word", "明显改善", "无明显变化", {}, None, None, "unscorable", {"INVALID_TIER": 1}),
    ("tier-missing", "明显改善", None, {}, None, None, "unscorable", {"MISSING_ACTUAL": 1}),
]


@pytest.mark.parametrize(
    ("target", "actual", "extra", "ratio", "points", "status", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in INDICATOR_CASES],
)
def test_indicator_case(
    target: str | None, actual: str | None, extra: dict[str, Any], ratio: float | None,
    points: float | None, status: str, expected: dict[str, int],
) -> None:
    """It should score one indicator per docs/scoring.md §4–§6."""
    extra = dict(extra)
    year = extra.pop("_year", 2025)
    act = {k: extra.pop(k) for k in ACTUAL_SIDE if k in extra}
    decl = declare([{"target_text": target, **extra}], year=year)
    result = reference_score(decl, actual_rows([{"seq": 1, "level3": "指标1", "actual_text": actual, **act}]),
                             execution_rows(), MOF)
    ind = result.indicators[(UNIT, PROJECT, 1)]
    assert (ind["status"], ind["points"]) == (status, points)
    assert ind["ratio"] == (pytest.approx(ratio) if ratio is not None else None)
    assert codes(result) == Counter(expected)
    project = result.projects[(UNIT, PROJECT)]
    assert project["complete"] == (status == "scored")
    assert project["total"] == round_half_up((points or 0.0) + 10.0)


# ------------------------------------------------------------------ weights, rules, projects


def test_per_indicator_and_transfer() -> None:
    """It should split 50 over 产出 indicators and pass a missing 满意度's 10 to 效益."""
    decl = declare([{"target_text": "≥1次"}, {"target_text": "≥1次"}, {"level1": "效益指标", "target_text": "≥1次"}])
    acts = actual_rows([{"seq": s, "actual_text": "1次"} for s in (1, 2, 3)])
    result = reference_score(decl, acts, execution_rows(), MOF)
    assert [result.indicators[(UNIT, PROJECT, s)]["weight"] for s in (1, 2, 3)] == [25.0, 25.0, 40.0]
    assert result.projects[(UNIT, PROJECT)]["total"] == 100.0
    assert result.projects[(UNIT, PROJECT)]["effect_points"] == 40.0


def test_per_level2_split() -> None:
    """It should split a level-1 over its level-2 groups first, then over their indicators."""
    rules = load_rules("per-level2")
    decl = declare([
        {"target_text": "≥1次", "level2": "数量指标"},
        {"target_text": "≥1次", "level2": "质量指标"},
        {"target_text": "≥1次", "level2": "质量指标"},
        {"target_text": "≥1次", "level2": None},
    ])
    acts = actual_rows([{"seq": s, "actual_text": "1次"} for s in (1, 2, 3, 4)])
    result = reference_score(decl, acts, execution_rows(), rules)
    weights = [result.indicators[(UNIT, PROJECT, s)]["weight"] for s in (1, 2, 3, 4)]
    assert weights == pytest.approx([50 / 3, 50 / 6, 50 / 6, 50 / 3])
    assert [result.indicators[(UNIT, PROJECT, s)]["points"] for s in (1, 2, 3, 4)] == [16.67, 8.33, 8.33, 16.67]
    assert result.projects[(UNIT, PROJECT)]["total"] == 60.0  # 16.67 + 8.33 + 8.33 + 16.67 + 10


def test_explicit_weights_used_and_checked() -> None:
    """It should use explicit 分值 as given and flag WEIGHTS_SUM when they don't reach 100."""
    decl = declare([{"target_text": "≥90%", "weight": 40.0}, {"target_text": "≥90%", "weight": 30.0, "level1": "效益指标"}])
    acts = actual_rows([{"seq": 1, "actual_text": "90%"}, {"seq": 2, "actual_text": "90%"}])
    result = reference_score(decl, acts, execution_rows(), MOF)
    assert [result.indicators[(UNIT, PROJECT, s)]["points"] for s in (1, 2)] == [40.0, 30.0]
    assert result.findings == [("WEIGHTS_SUM", UNIT, PROJECT, None)]
    assert result.projects[(UNIT, PROJECT)]["total"] == 80.0
    assert result.projects[(UNIT, PROJECT)]["grade"] == "良"


def test_explicit_weights_summing_and_partial() -> None:
    """It should accept explicit weights adding to 90 (+10) and ignore them when one is missing."""
    decl = declare([{"target_text": "≥90%", "weight": 60.0}, {"target_text": "≥90%", "weight": 30.0, "level1": "效益指标"}])
    acts = actual_rows([{"seq": 1, "actual_text": "90%"}, {"seq": 2, "actual_text": "90%"}])
    assert reference_score(decl, acts, execution_rows(), MOF).findings == []
    partial = declare([{"target_text": "≥90%", "weight": 60.0}, {"target_text": "≥90%", "level1": "效益指标"}])
    result = reference_score(partial, acts, execution_rows(), MOF)
    assert [result.indicators[(UNIT, PROJECT, s)]["weight"] for s in (1, 2)] == [50.0, 40.0]
    assert [f[0] for f in result.findings] == ["WEIGHTS_SUM"]  # some 分值 given, not all: said, not silent


def test_step_curve() -> None:
    """It should give the fraction of the last step at or below r."""
    rules = load_rules("strict-overshoot")
    assert score_one("≥90%", "88%", rules).indicators[(UNIT, PROJECT, 1)]["points"] == 45.0  # r≈0.978 → 0.9
    assert score_one("≥90%", "50%", rules).indicators[(UNIT, PROJECT, 1)]["points"] == 0.0  # r≈0.556 → 0
    assert score_one("≥90%", "54%", rules).indicators[(UNIT, PROJECT, 1)]["points"] == 30.0  # r=0.6 → 0.6


def test_overshoot_deduction() -> None:
    """It should deduct deduct(r) from the fraction when the rule file sets a deduct curve."""
    rules = load_rules("strict-overshoot")
    result = score_one("≥20次", "36次", rules, deviation_reason="临时增加")
    # r = 1.8: step curve gives 1.0; deduct = 0.2 × (1.8 − 1.5) / 1.5 = 0.04 → 0.96 × 50
    assert result.indicators[(UNIT, PROJECT, 1)]["points"] == 48.0
    assert codes(result) == Counter({"OVERSHOOT": 1})
    capped = score_one("≥20次", "100次", rules, deviation_reason="临时增加")  # r = 5: deduct flat at 0.2
    assert capped.indicators[(UNIT, PROJECT, 1)]["points"] == 40.0


def test_late_penalty_from_rules() -> None:
    """It should take late_penalty_per_month from the rule set."""
    rules = rules_from_mapping({"name": "x", "deadline": {"late_penalty_per_month": 0.25}})
    result = score_one("2025年6月30日前", "2025年8月15日", rules)
    assert result.indicators[(UNIT, PROJECT, 1)]["points"] == 25.0


def test_key_problems() -> None:
    """It should flag duplicates once, level3 clashes and undeclared keys, and add no rows."""
    decl = declare([{"target_text": "≥1次"}, {"target_text": "≥1次"}, {"target_text": "≥1次"}])
    acts = actual_rows([
        {"seq": 1, "actual_text": "1次"}, {"seq": 1, "actual_text": "2次"},
        {"seq": 2, "level3": "别的指标", "actual_text": "1次"},
        {"seq": 3, "level3": " 指标3 ", "actual_text": "1次", "unit_code": None},
        {"seq": 7, "actual_text": "1次"},
        {"project_code": "P9", "seq": 1, "actual_text": "1次", "unit_code": None},
    ])
    result = reference_score(decl, acts, execution_rows(), MOF)
    assert len(result.indicators) == 3
    assert [result.indicators[(UNIT, PROJECT, s)]["status"] for s in (1, 2, 3)] == ["unscorable", "unscorable", "scored"]
    assert sorted(result.findings, key=str) == sorted([
        ("KEY_MISMATCH", UNIT, PROJECT, 1), ("KEY_MISMATCH", UNIT, PROJECT, 2),
        ("KEY_MISMATCH", UNIT, PROJECT, 7), ("KEY_MISMATCH", None, "P9", 1),
    ], key=str)
    assert result.projects[(UNIT, PROJECT)]["complete"] is False


def test_execution_missing_and_schedule() -> None:
    """It should flag MISSING_EXECUTION and SCHEDULE and deduct points_per_checkpoint."""
    decl = declare([{"target_text": "≥1次"}])
    acts = actual_rows([{"seq": 1, "actual_text": "1次"}])
    missing = reference_score(decl, acts, execution_rows([]), MOF)
    assert missing.findings == [("MISSING_EXECUTION", UNIT, PROJECT, None)]
    assert (missing.projects[(UNIT, PROJECT)]["total"], missing.projects[(UNIT, PROJECT)]["complete"]) == (50.0, False)
    rules = rules_from_mapping({"name": "x", "execution": {"schedule": {"points_per_checkpoint": 0.5, "tolerance": 0}}})
    behind = execution_rows([{"project_code": PROJECT, "year_budget": None, "executed": 19850.0,
                              "executed_by_mar": 4000.0, "executed_by_jun": 10000.0, "executed_by_oct": 14000.0}])
    result = reference_score(decl, acts, behind, rules)
    assert sorted(f[4] for f in result.findings_detailed if f[0] == "SCHEDULE") == ["executed_by_mar", "executed_by_oct"]
    assert result.projects[(UNIT, PROJECT)]["execution_points"] == 8.93  # 9.925 → 9.93 − 2 × 0.5


def test_department_budget_and_mean() -> None:
    """It should weight the unit total by budget, or take the plain mean under `department: mean`."""
    decl = declare(
        [{"target_text": "≥1次"}, {"project_code": "P2", "seq": 1, "target_text": "≥1次"}],
        projects=[{"project_code": PROJECT, "budget": 30000.0}, {"project_code": "P2", "budget": 10000.0}],
    )
    acts = actual_rows([{"seq": 1, "actual_text": "1次"}, {"project_code": "P2", "seq": 1, "actual_text": "0.5次"}])
    execution = execution_rows([{"project_code": p, "year_budget": 100.0, "executed": 100.0} for p in (PROJECT, "P2")])
    by_budget = reference_score(decl, acts, execution, MOF)
    assert [by_budget.projects[(UNIT, p)]["total"] for p in (PROJECT, "P2")] == [60.0, 35.0]
    assert by_budget.units[UNIT]["total"] == 53.75
    assert by_budget.units[UNIT]["grade"] == "差"
    mean = reference_score(decl, acts, execution, rules_from_mapping({"name": "m", "department": "mean"}))
    assert mean.units[UNIT]["total"] == 47.5


@pytest.mark.parametrize(("total", "grade"), [(100.0, "优"), (90.0, "优"), (89.99, "良"), (80.0, "良"),
                                              (79.99, "中"), (60.0, "中"), (59.99, "差"), (0.0, "差")])
def test_grade_bands(total: float, grade: str) -> None:
    """It should include each band's lower bound."""
    assert MOF.grade_of(total) == grade


def test_reference_is_independent() -> None:
    """It should use neither the vectorized scorer nor the vectorized grammar."""
    source = Path(reference_module.__file__).read_text(encoding="utf-8")
    assert "selfeval.scoring" not in source
    assert "from selfeval.grammar import" not in source
    assert "selfeval.grammar_reference" in source
