"""Rule-language fields of issue 13, each on a tiny project, against points worked out by hand.

Every case is scored by the pipeline and by the plain-Python reference; both must give the
hand-computed numbers written in the case (never numbers the code produced).
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

import selfeval
from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.errors import RuleFileError
from selfeval.reference import reference_score
from selfeval.rules.loader import rules_from_mapping

# (level1, level2, level3, target_text, weight): 产出 50 / 效益 30 / 满意度 10 + 执行 10 = 100
THREE_ROWS = [
    ("产出指标", "成本指标", "成本", "≤5万元"),
    ("效益指标", "社会效益指标", "覆盖率", "≥90%"),
    ("满意度指标", "服务对象满意度指标", "满意度", "≥90%"),
]


def _declaration(rows: list[tuple[str, str, str, str]], *, budget: float = 10000.0) -> Declaration:
    units = schema.conform(pl.DataFrame({"unit_code": ["U"], "unit_name": ["测试单位"], "year": [2025]}), schema.UNITS)
    projects = schema.conform(
        pl.DataFrame({"unit_code": ["U"], "project_code": ["P"], "project_name": ["测试项目"], "budget": [budget],
                      "plan_mar": [25.0], "plan_jun": [50.0], "plan_oct": [75.0], "plan_dec": [100.0]}),
        schema.PROJECTS,
    )
    n = len(rows)
    indicators = schema.conform(
        pl.DataFrame({
            "unit_code": ["U"] * n, "project_code": ["P"] * n, "seq": list(range(1, n + 1)),
            "indicator_id": [f"P-{i:02d}" for i in range(1, n + 1)],
            "level1": [r[0] for r in rows], "level2": [r[1] for r in rows], "level3": [r[2] for r in rows],
            "target_text": [r[3] for r in rows], "weight": [None] * n,
        }, schema_overrides={"weight": pl.Float64}),
        schema.INDICATORS,
    )
    return Declaration(units, projects, indicators)


def _actuals(texts: list[str]) -> pl.DataFrame:
    n = len(texts)
    return schema.conform(
        pl.DataFrame({"project_code": ["P"] * n, "seq": list(range(1, n + 1)), "actual_text": texts,
                      "deviation_reason": ["说明"] * n}),
        schema.ACTUALS,
    )


def _execution(executed: float, year_budget: float = 10000.0, by_jun: float | None = None) -> pl.DataFrame:
    return schema.conform(
        pl.DataFrame({"project_code": ["P"], "year_budget": [year_budget], "executed": [executed],
                      "executed_by_jun": [by_jun]}, schema_overrides={"executed_by_jun": pl.Float64}),
        schema.EXECUTION,
    )


def _both(decl: Declaration, actuals: pl.DataFrame, execution: pl.DataFrame, data: dict[str, Any]) -> list[dict[str, Any]]:
    """(pipeline, reference) as {points per seq, execution, total, grade, findings}."""
    rules = rules_from_mapping({"name": "case", **data})
    got = selfeval.score(decl, actuals, execution, rules)
    ref = reference_score(decl, actuals, execution, rules)
    project = got.project_scores.row(0, named=True)
    ref_project = ref.projects[("U", "P")]
    return [
        {"points": got.indicator_scores.sort("seq")["points"].to_list(), "execution": project["execution_points"],
         "total": project["total"], "grade": project["grade"], "codes": sorted(got.findings["code"].to_list())},
        {"points": [ref.indicators[("U", "P", s)]["points"] for s in range(1, decl.indicators.height + 1)],
         "execution": ref_project["execution_points"], "total": ref_project["total"], "grade": ref_project["grade"],
         "codes": sorted(f[0] for f in ref.findings)},
    ]


# (id, rule mapping, actual texts, executed, expected points per seq, execution points, total)
CASES = [
    # t/a (default): 5万 / 6万 = 0.8333 → 50 × 0.8333 = 41.67
    ("reverse-ratio", {}, ["6万元", "90%", "90%"], 10000.0, [41.67, 30.0, 10.0], 10.0, 91.67),
    # published formula: 1 − (6 − 5)/5 = 0.8 → 40.00
    ("reverse-deviation", {"reverse": {"formula": "deviation"}}, ["6万元", "90%", "90%"], 10000.0, [40.0, 30.0, 10.0], 10.0, 90.0),
    # a ≥ 2t → 0 under the published formula (t/a would give 0.5 → 25)
    ("reverse-deviation-2t", {"reverse": {"formula": "deviation"}}, ["10万元", "90%", "90%"], 10000.0, [0.0, 30.0, 10.0], 10.0, 50.0),
    # 144% / 90% = 1.6 ≥ 1.5, cap 0.8 → 30 × 0.8 = 24
    ("overshoot-cap", {"overshoot": {"mode": "cap", "cap": 0.8}}, ["5万元", "144%", "90%"], 10000.0, [50.0, 24.0, 10.0], 10.0, 94.0),
    # 117% / 90% = 1.3 ≥ 1.3: explain → score unchanged
    ("overshoot-explain-130", {"overshoot": {"mode": "explain", "threshold": 1.3}}, ["5万元", "117%", "90%"], 10000.0,
     [50.0, 30.0, 10.0], 10.0, 100.0),
    # truncate: 9876 / 10000 × 10 = 9.876 → 9.87; 88/90 × 30 = 29.3333 → 29.33
    ("truncate", {"rounding": {"mode": "truncate"}}, ["5万元", "88%", "90%"], 9876.0, [50.0, 29.33, 10.0], 9.87, 99.2),
    # whole points per indicator (half up), execution truncated to 1 decimal: 29.33 → 29; 9.876 → 9.8
    ("whole-points", {"rounding": {"indicator": {"decimals": 0}, "execution": {"mode": "truncate", "decimals": 1}}},
     ["5万元", "88%", "90%"], 9876.0, [50.0, 29.0, 10.0], 9.8, 98.8),
    # execution above 100 %: curve falls to 0.5 at 150 %; rate 1.2 → 1 − 0.5 × 0.2/0.5 = 0.8 → 8
    ("execution-uncapped", {"execution": {"curve": {"points": [[0, 0], [1, 1], [1.5, 0.5]]}}}, ["5万元", "90%", "90%"],
     12000.0, [50.0, 30.0, 10.0], 8.0, 98.0),
    # the same with cap: rate read as 100 % → 10
    ("execution-capped", {"execution": {"cap": True, "curve": {"points": [[0, 0], [1, 1], [1.5, 0.5]]}}},
     ["5万元", "90%", "90%"], 12000.0, [50.0, 30.0, 10.0], 10.0, 100.0),
]


@pytest.mark.parametrize(("data", "texts", "executed", "points", "execution", "total"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_field_hand_computed(data: dict, texts: list[str], executed: float, points: list[float],
                                  execution: float, total: float) -> None:
    """It should give the hand-computed points, execution points and total under each new field (pipeline and reference)."""
    for side in _both(_declaration(THREE_ROWS), _actuals(texts), _execution(executed), data):
        assert (side["points"], side["execution"], side["total"]) == (points, execution, total)


def test_level2_weights_hand_computed() -> None:
    """It should split 产出 50 by fixed level-2 shares over the level-2s present (unlisted: the mean share).

    Shares 数量 20, 质量 15, 时效 10, 成本 5 (mean 12.5); present 数量, 质量, 时效 and 其他 (unlisted → 12.5):
    Σ = 57.5. 数量 50 × 20/57.5 = 17.391 over 2 indicators → 8.70 each; 质量 50 × 15/57.5 = 13.04;
    时效 50 × 10/57.5 = 8.70; 其他 50 × 12.5/57.5 = 10.87; 效益 30 + 满意度 10 (absent, passed to 效益) = 40.
    """
    rows = [("产出指标", "数量指标", "a", "≥100次"), ("产出指标", "数量指标", "b", "≥100次"),
            ("产出指标", "质量指标", "c", "≥90%"), ("产出指标", "时效", "d", "≥90%"), ("产出指标", "其他", "e", "≥90%"),
            ("效益指标", "社会效益指标", "f", "≥90%")]
    data = {"level2_weights": {"产出指标": {"数量指标": 20, "质量": 15, "时效指标": 10, "成本指标": 5}}}
    acts = _actuals(["100次", "100次", "90%", "90%", "90%", "90%"])
    for side in _both(_declaration(rows), acts, _execution(10000.0), data):
        assert side["points"] == [8.7, 8.7, 13.04, 8.7, 10.87, 40.0]
        assert side["total"] == 100.01  # the sum of rounded points (SPEC.md §5.6)


@pytest.mark.parametrize(("mode", "codes"), [(None, ["OVERSHOOT"]), ("explain", ["OVERSHOOT"]), ("none", [])])
def test_overshoot_finding_by_mode(mode: str | None, codes: list[str]) -> None:
    """It should flag 144% against ≥90% (r = 1.6) unless the mode is `none`, points unchanged."""
    data = {"overshoot": {"mode": mode}} if mode else {}
    for side in _both(_declaration(THREE_ROWS), _actuals(["5万元", "144%", "90%"]), _execution(10000.0), data):
        assert side["codes"] == codes
        assert side["points"] == [50.0, 30.0, 10.0]


@pytest.mark.parametrize(("zero_threshold", "codes"), [(None, []), (5.0, []), (3.0, ["OVERSHOOT"])])
def test_zero_target_threshold(zero_threshold: float | None, codes: list[str]) -> None:
    """It should flag a ≥0 target only when the actual reaches `overshoot.zero_threshold` (3次 ≥ 3)."""
    rows = [("产出指标", "数量指标", "事故", "≥0次"), *THREE_ROWS[1:]]
    data = {"overshoot": {"zero_threshold": zero_threshold}} if zero_threshold else {}
    for side in _both(_declaration(rows), _actuals(["3次", "90%", "90%"]), _execution(10000.0), data):
        assert side["codes"] == codes


@pytest.mark.parametrize(("zero_budget", "execution", "codes"),
                         [("unscorable", None, ["MISSING_EXECUTION"]), ("full", 10.0, []), ("zero", 0.0, [])])
def test_zero_budget(zero_budget: str, execution: float | None, codes: list[str]) -> None:
    """It should score a year budget of 0 as the rule says: unscorable (today), full or zero points."""
    data = {"execution": {"zero_budget": zero_budget}}
    for side in _both(_declaration(THREE_ROWS, budget=0.0), _actuals(["5万元", "90%", "90%"]),
                      _execution(0.0, year_budget=0.0), data):
        assert (side["execution"], side["codes"]) == (execution, codes)


@pytest.mark.parametrize("zero_budget", ["full", "zero"])
def test_zero_budget_reconciles(zero_budget: str) -> None:
    """It should count an execution scored by `zero_budget` as scored in the reconciliation line
    (rate null, points given), so `score`/`report` don't stop with 对账不平."""
    from selfeval.reconcile import reconcile

    rules = rules_from_mapping({"name": "t", "execution": {"zero_budget": zero_budget}})
    result = selfeval.score(_declaration(THREE_ROWS, budget=0.0), _actuals(["5万元", "90%", "90%"]),
                            _execution(0.0, year_budget=0.0), rules)
    counts = reconcile(result).check()
    assert (counts.execution_scored, counts.execution_missing) == (1, 0)


@pytest.mark.parametrize(("thresholds", "codes"), [({}, ["SCHEDULE"]), ({"jun": 40.0}, []), ({"jun": 60.0}, ["SCHEDULE"])])
def test_checkpoint_thresholds(thresholds: dict, codes: list[str]) -> None:
    """It should compare 6月底 45% with the rule's line when it has one (40 %: on time), else with the plan (50 %)."""
    data = {"execution": {"schedule": {"thresholds": thresholds}}}
    for side in _both(_declaration(THREE_ROWS), _actuals(["5万元", "90%", "90%"]), _execution(10000.0, by_jun=4500.0), data):
        assert side["codes"] == codes


# 4/6/8/10月底 monitoring lines 25/40/60/80 % (a province's 支出进度 rule); spending by month end in 元
MONTH_LINES = {"4月底": 25, 6: 40, "aug": 60, "10月": 80}


def _monthly_execution(**by_month: float) -> pl.DataFrame:
    columns = {f"executed_by_{m}": [v] for m, v in by_month.items()}
    return schema.conform(pl.DataFrame({"project_code": ["P"], "year_budget": [10000.0], "executed": [10000.0], **columns}),
                          schema.EXECUTION)


@pytest.mark.parametrize(
    ("by_month", "behind", "execution_points"),
    [
        # on every line: 4月底 25 %, 6月底 45 %, 8月底 60 %, 10月底 85 %
        ({"apr": 2500.0, "jun": 4500.0, "aug": 6000.0, "oct": 8500.0}, [], 10.0),
        # behind at 4月底 (24 %) and 8月底 (59.99 %): two checkpoints × 1.5 points off 10
        ({"apr": 2400.0, "jun": 4500.0, "aug": 5999.0, "oct": 8500.0}, ["executed_by_apr", "executed_by_aug"], 7.0),
        # only 8月底 given and behind; months without spending given are not checked
        ({"aug": 3000.0}, ["executed_by_aug"], 8.5),
        # 2月底 has no line and no declared plan: never behind, however little was spent
        ({"feb": 0.0}, [], 10.0),
    ],
)
def test_checkpoints_of_any_month(by_month: dict[str, float], behind: list[str], execution_points: float) -> None:
    """It should check spending at every month a rule draws a line (4/8月底 too), each behind month a SCHEDULE finding."""
    data = {"execution": {"schedule": {"thresholds": MONTH_LINES, "points_per_checkpoint": 1.5}}}
    decl, actuals = _declaration(THREE_ROWS), _actuals(["5万元", "90%", "90%"])
    for side in _both(decl, actuals, _monthly_execution(**by_month), data):
        assert side["codes"] == ["SCHEDULE"] * len(behind)
        assert side["execution"] == execution_points
    rules = rules_from_mapping({"name": "case", **data})
    found = selfeval.score(decl, actuals, _monthly_execution(**by_month), rules).findings.sort("column")
    assert found["column"].to_list() == behind
    if "executed_by_apr" in behind:
        assert found["message"][0] == "4月底累计支出 2400 元（占全年预算 24%），低于规则的支出进度监控线 25%"


def test_checkpoint_months_named_any_way() -> None:
    """It should read a line written as apr, 4, "4", 4月, 4月底 or 4月末 as 4月底, in calendar order."""
    for key in ("apr", 4, "4", "4月", "4月底", "4月末"):
        rules = rules_from_mapping({"name": "m", "execution": {"schedule": {"thresholds": {"10月底": 80, key: 25}}}})
        assert rules.execution.schedule.thresholds == {"apr": 25.0, "oct": 80.0}


def test_named_grade_bands() -> None:
    """It should grade 91.67 with five named bands A ≥ 95, B ≥ 90, C ≥ 80, D ≥ 60, E."""
    data = {"grades": [{"grade": "A", "min": 95}, {"grade": "B", "min": 90}, {"grade": "C", "min": 80},
                       {"grade": "D", "min": 60}, {"grade": "E", "min": 0}]}
    for side in _both(_declaration(THREE_ROWS), _actuals(["6万元", "90%", "90%"]), _execution(10000.0), data):
        assert (side["total"], side["grade"]) == (91.67, "B")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"sources": {"overshoot.limit": "某文件"}}, "sources"),
        ({"sources": {"weights": " "}}, "sources"),
        ({"overshoot": {"mode": "cap"}}, "overshoot"),
        ({"overshoot": {"mode": "deduct"}}, "overshoot"),
        ({"overshoot": {"cap": float("nan"), "mode": "cap"}}, "overshoot.cap"),
        ({"execution": {"schedule": {"thresholds": {"dec": 60}}}}, "execution.schedule.thresholds"),
        ({"execution": {"schedule": {"thresholds": {"12月底": 100}}}}, "execution.schedule.thresholds"),
        ({"execution": {"schedule": {"thresholds": {"8月底": 60, "aug": 60}}}}, "execution.schedule.thresholds"),
        ({"execution": {"schedule": {"thresholds": {"jun": 140}}}}, "execution.schedule.thresholds"),
        ({"rounding": {"mode": "banker"}}, "rounding.mode"),
        ({"grades": [{"grade": "优", "min": 90}, {"grade": "优", "min": 0}]}, "grades"),
        ({"reverse": {"formula": "inverse"}}, "reverse.formula"),
        ({"level2_weights": {"产出": {"数量指标": 1}}}, "level2_weights"),
        ({"level2_weights": {"产出指标": {"数量指标": -1}}}, "level2_weights"),
        ({"level2_weights": {"产出指标": {"数量指标": float("inf")}}}, "level2_weights.产出指标.数量指标"),
    ],
)
def test_bad_new_fields_named(data: dict, field: str) -> None:
    """It should reject a bad new field with one line naming the file and the field path."""
    with pytest.raises(RuleFileError) as err:
        rules_from_mapping({"name": "bad", **data}, source="省.yaml")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("省.yaml")
    assert field in message


def test_source_of_most_specific() -> None:
    """It should find the note of the most specific path given, then the profile's `*` note."""
    rules = rules_from_mapping({"name": "s", "sources": {"*": "甲", "overshoot": "乙", "overshoot.threshold": "丙"}})
    assert rules.source_of("overshoot.threshold") == "丙"
    assert rules.source_of("overshoot.mode") == "乙"
    assert rules.source_of("rounding") == "甲"


def _two_projects() -> tuple[Declaration, pl.DataFrame, pl.DataFrame]:
    """P1 (budget 10000): 80次 of ≥100次 → 40, 效益 90% → 30, 满意度 → 10, 执行 8000 → 8: total 88.
    P2 (budget 30000): 100次 → 50, 效益 45% of ≥90% → 15, 满意度 → 10, 执行 27000 → 9: total 84."""
    units = schema.conform(pl.DataFrame({"unit_code": ["U"], "unit_name": ["测试单位"], "year": [2025]}), schema.UNITS)
    projects = schema.conform(pl.DataFrame({
        "unit_code": ["U", "U"], "project_code": ["P1", "P2"], "project_name": ["一", "二"], "budget": [10000.0, 30000.0],
    }), schema.PROJECTS)
    rows = [("产出指标", "数量指标", "次数", "≥100次"), ("效益指标", "社会效益指标", "覆盖率", "≥90%"),
            ("满意度指标", "服务对象满意度指标", "满意度", "≥90%")]
    indicators = schema.conform(pl.DataFrame({
        "unit_code": ["U"] * 6, "project_code": ["P1"] * 3 + ["P2"] * 3, "seq": [1, 2, 3] * 2,
        "indicator_id": [f"{p}-{i:02d}" for p in ("P1", "P2") for i in (1, 2, 3)],
        "level1": [r[0] for r in rows] * 2, "level2": [r[1] for r in rows] * 2, "level3": [r[2] for r in rows] * 2,
        "target_text": [r[3] for r in rows] * 2, "weight": [None] * 6,
    }, schema_overrides={"weight": pl.Float64}), schema.INDICATORS)
    actuals = schema.conform(pl.DataFrame({
        "project_code": ["P1"] * 3 + ["P2"] * 3, "seq": [1, 2, 3] * 2,
        "actual_text": ["80次", "90%", "90%", "100次", "45%", "90%"], "deviation_reason": ["说明"] * 6,
    }), schema.ACTUALS)
    execution = schema.conform(pl.DataFrame({
        "project_code": ["P1", "P2"], "year_budget": [10000.0, 30000.0], "executed": [8000.0, 27000.0],
    }), schema.EXECUTION)
    return Declaration(units, projects, indicators), actuals, execution


@pytest.mark.parametrize(
    ("data", "total"),
    [
        # budget-weighted: (88 × 10000 + 84 × 30000) / 40000 = 85.00
        ({}, 85.0),
        # plain mean: (88 + 84) / 2 = 86.00
        ({"department": "mean"}, 86.0),
        # parts: 执行 20 × 17/20 = 17; 产出 40 × 90/100 = 36; 效益+满意度 40 × (30+10+15+10)/80 = 32.5 → 85.50
        ({"department": "parts", "department_weights": {"预算执行率": 20, "产出指标": 40, "效益指标+满意度指标": 40}}, 85.5),
        # a part of weight 0 counts for nothing: 执行 50 × 17/20 + 产出 50 × 90/100 = 42.5 + 45 = 87.50
        ({"department": "parts", "department_weights": {"预算执行率": 50, "产出指标": 50, "效益指标": 0}}, 87.5),
    ],
)
def test_department_modes_hand_computed(data: dict, total: float) -> None:
    """It should roll the two projects up to the hand-computed department score in each mode (pipeline and reference)."""
    decl, actuals, execution = _two_projects()
    rules = rules_from_mapping({"name": "dept", **data})
    got = selfeval.score(decl, actuals, execution, rules)
    ref = reference_score(decl, actuals, execution, rules)
    assert sorted(got.project_scores["total"].to_list()) == [84.0, 88.0]
    assert got.unit_scores["total"].item() == total
    assert ref.units["U"]["total"] == total


def test_department_parts_in_whatif() -> None:
    """It should give the what-if's stacked roll-up the same department score as a single run (parts mode)."""
    from selfeval.whatif import whatif

    decl, actuals, execution = _two_projects()
    parts = rules_from_mapping({"name": "parts", "department": "parts",
                                "department_weights": {"预算执行率": 20, "产出指标": 40, "效益指标+满意度指标": 40}})
    result = whatif(decl, actuals, execution, [rules_from_mapping({"name": "base"}), parts])
    units = {row["scenario"]: row["total"] for row in result.unit_scores.iter_rows(named=True)}
    assert units == {"base": 85.0, "parts": 85.5}


def test_zero_target_overshoot_message() -> None:
    """It should say, for a zero target, that the actual reached the rule's zero threshold (not a ratio)."""
    rows = [("产出指标", "数量指标", "事故", "≥0次"), *THREE_ROWS[1:]]
    rules = rules_from_mapping({"name": "z", "overshoot": {"zero_threshold": 3}})
    got = selfeval.score(_declaration(rows), _actuals(["3次", "90%", "90%"]), _execution(10000.0), rules)
    message = got.findings.filter(pl.col("code") == "OVERSHOOT")["message"].item()
    assert "为 0" in message and "超额阈值 3" in message and "倍" not in message


def test_inline_source_notes() -> None:
    """It should take a `source:` written inside a field as that field's note (`sources` itself wins, top level is `*`)."""
    rules = rules_from_mapping({
        "name": "inline", "source": "整份文件",
        "overshoot": {"threshold": 1.3, "source": "某文件第三条"},
        "weights": {"产出指标": 50, "效益指标": 30, "满意度指标": 10, "预算执行率": 10, "source": "表注一"},
        "grades": [{"grade": "优", "min": 90, "source": "等级条款"}, {"grade": "差", "min": 0}],
        "qualitative": {"tiers": {"达成": {"band": [0.8, 1.0], "default": 1.0, "source": "定性条款"}}},
        "sources": {"weights": "显式的依据"},
    })
    assert rules.sources == {"*": "整份文件", "overshoot": "某文件第三条", "weights": "显式的依据", "grades": "等级条款",
                             "qualitative.tiers.达成": "定性条款"}
    assert rules.overshoot.threshold == 1.3 and rules.grades[0].grade == "优"
    assert rules.source_of("overshoot.threshold") == "某文件第三条"


def test_inline_source_must_be_text() -> None:
    """It should reject a `source:` that is not text with one line naming the field."""
    with pytest.raises(RuleFileError) as err:
        rules_from_mapping({"name": "bad", "overshoot": {"source": 5}}, source="省.yaml")
    assert "overshoot.source" in str(err.value) and "\n" not in str(err.value)


def test_inline_source_beats_the_parents_sources(tmp_path) -> None:  # noqa: ANN001
    """It should let a profile's own `source:` notes (top level, inside `weights`) replace what the profile it
    extends cites for the same field: a province's note is never replaced by 财预〔2020〕10号's."""
    from selfeval.rules.loader import load_rules

    path = tmp_path / "child.yaml"
    path.write_text("extends: mof-2020\nname: child\nsource: 某省文件\n"
                    "weights: {产出指标: 60, 效益指标: 20, 满意度指标: 10, 预算执行率: 10, source: 某省文件 表注一}\n",
                    encoding="utf-8")
    rules = load_rules(path)
    assert rules.sources["*"] == "某省文件"
    assert rules.sources["weights"] == "某省文件 表注一"
    assert rules.source_of("curves") == load_rules("mof-2020").source_of("curves")  # not restated: the parent's


@pytest.mark.parametrize(("body", "words"), [
    # department parts that leave out 满意度 and add up to 90: the department score would top out at 90
    ("department: parts\ndepartment_weights: {预算执行率: 20, 产出指标: 40, 效益指标: 30}\n", ["department_weights", "90"]),
    ("grades:\n  - {grade: 优, min: 90}\n  - {grade: 差, min: -10}\n", ["grades", "-10"]),
    ("grades:\n  - {grade: 优, min: 190}\n  - {grade: 差, min: 0}\n", ["grades", "190"]),
])
def test_rule_file_numbers_that_cannot_be_meant(tmp_path, body: str, words: list[str]) -> None:  # noqa: ANN001
    """It should refuse, in one line naming the field, department weights that don't add up to the full
    score and grade lines below 0 or above it."""
    from selfeval.rules.loader import load_rules

    path = tmp_path / "bad.yaml"
    path.write_text(f"extends: mof-2020\nname: bad\n{body}", encoding="utf-8")
    with pytest.raises(RuleFileError) as err:
        load_rules(path)
    assert all(w in str(err.value) for w in words) and "\n" not in str(err.value)


def test_group_points_carry_no_float_noise() -> None:
    """It should give 产出 points as the plain sum of the indicators' points: level-2 shares 20/15/10/5 give
    20 + 12.63 + 10 + 4.17 = 46.80 (not 46.800000000000004)."""
    rows = [("产出指标", "数量指标", "次数", "≥100次"), ("产出指标", "质量指标", "合格率", "≥95%"),
            ("产出指标", "时效指标", "及时率", "≥0次"), ("产出指标", "成本指标", "成本", "≤5万元"), *THREE_ROWS[1:]]
    rules = rules_from_mapping({"name": "l2", "level2_weights": {"产出指标": {"数量指标": 20, "质量指标": 15, "时效指标": 10,
                                                                           "成本指标": 5}}})
    got = selfeval.score(_declaration(rows), _actuals(["135次", "80%", "2次", "6万元", "90%", "90%"]), _execution(10000.0), rules)
    assert got.indicator_scores.sort("seq")["points"].to_list()[:4] == [20.0, 12.63, 10.0, 4.17]
    assert got.project_scores["output_points"].item() == 46.8


def _three_projects(categories: list[str | None]) -> tuple[Declaration, pl.DataFrame, pl.DataFrame]:
    """Projects A, B, C (budgets 1万, 3万, 2万) totalling 100, 89 and 70 under the default rule."""
    codes = ["A", "B", "C"]
    units = schema.conform(pl.DataFrame({"unit_code": ["U"], "unit_name": ["测试单位"], "year": [2025]}), schema.UNITS)
    projects = schema.conform(pl.DataFrame({
        "unit_code": ["U"] * 3, "project_code": codes, "project_name": ["甲", "乙", "丙"], "category": categories,
        "budget": [10000.0, 30000.0, 20000.0]}, schema_overrides={"category": pl.String}), schema.PROJECTS)
    rows = [{"unit_code": "U", "project_code": p, "seq": i, "indicator_id": f"{p}{i}", "level1": r[0], "level2": r[1],
             "level3": r[2], "target_text": t}
            for p in codes for i, (r, t) in enumerate(zip(THREE_ROWS, ["≥100次", "≥90%", "≥90%"]), start=1)]
    actual = {"A": ["100次", "90%", "90%"], "B": ["80次", "90%", "90%"], "C": ["50次", "90%", "45%"]}
    actuals = schema.conform(pl.DataFrame({
        "project_code": [p for p in codes for _ in range(3)], "seq": [1, 2, 3] * 3,
        "actual_text": [t for p in codes for t in actual[p]], "deviation_reason": ["说明"] * 9}), schema.ACTUALS)
    execution = schema.conform(pl.DataFrame({"project_code": codes, "year_budget": [10000.0, 30000.0, 20000.0],
                                             "executed": [10000.0, 27000.0, 20000.0]}), schema.EXECUTION)
    return Declaration(units, projects, schema.conform(pl.DataFrame(rows), schema.INDICATORS)), actuals, execution


def test_department_without_a_weighted_category_is_incomplete() -> None:
    """It should leave the department score empty and incomplete when no project is in a weighted category."""
    decl, actuals, execution = _three_projects([None, "专项类", " "])
    rules = rules_from_mapping({"name": "c", "department": "category", "category_weights": {"运转类": 30}})
    got = selfeval.score(decl, actuals, execution, rules).unit_scores.row(0, named=True)
    ref = reference_score(decl, actuals, execution, rules).units["U"]
    assert (got["total"], got["grade"], got["complete"]) == (None, None, False)
    assert (ref["total"], ref["grade"], ref["complete"]) == (None, None, False)


@pytest.mark.parametrize(
    ("categories", "weights", "total", "flagged"),
    [
        # A 100 (运转类), B 89 (特定目标类), C 70 (no category → 未分类); every category weighs the same:
        # (100 + 89 + 70) ÷ 3 = 86.33
        (["运转类", "特定目标类", None], {}, 86.33, ["C"]),
        # 运转类 30 / 特定目标类 70, 未分类 not weighed: (30 × 100 + 70 × 89) ÷ 100 = 92.3 — C left out
        (["运转类", "特定目标类", None], {"运转类": 30, "特定目标类": 70}, 92.3, ["C"]),
        # 未分类 50 too: (3000 + 6230 + 50 × 70) ÷ 150 = 84.87
        (["运转类", "特定目标类", " "], {"运转类": 30, "特定目标类": 70, "未分类": 50}, 84.87, ["C"]),
        # B and C share 特定目标类: its score is budget-weighted (89 × 3万 + 70 × 2万) ÷ 5万 = 81.4;
        # (30 × 100 + 70 × 81.4) ÷ 100 = 86.98
        (["运转类", "特定目标类", "特定目标类"], {"运转类": 30, "特定目标类": 70}, 86.98, []),
    ],
)
def test_department_by_project_category(categories: list, weights: dict, total: float, flagged: list[str]) -> None:
    """It should roll a department up by project category: budget-weighted within, the rule's weights across."""
    decl, actuals, execution = _three_projects(categories)
    rules = rules_from_mapping({"name": "c", "department": "category", **({"category_weights": weights} if weights else {})})
    got = selfeval.score(decl, actuals, execution, rules)
    assert got.project_scores["total"].to_list() == [100.0, 89.0, 70.0]
    assert got.unit_scores["total"].to_list() == [total]
    assert reference_score(decl, actuals, execution, rules).units["U"]["total"] == total
    found = got.findings.filter(pl.col("code") == "CATEGORY")
    assert found["project_code"].to_list() == flagged
    assert all("部门整体得分" in m for m in found["message"])


@pytest.mark.parametrize(
    "data",
    [{"department": "budget", "category_weights": {"运转类": 1}},
     {"department": "category", "category_weights": {"运转类": -1}},
     {"department": "category", "category_weights": {"运转类": 0}}],
)
def test_category_weights_checked(data: dict) -> None:
    """It should refuse category weights outside `department: category`, negative, or all zero — naming the field."""
    with pytest.raises(RuleFileError) as err:
        rules_from_mapping({"name": "bad", **data}, source="省.yaml")
    assert "category_weights" in str(err.value)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"weightz": 1}, "字段 weightz：不是已知字段"),
        ({"total_points": "abc"}, "字段 total_points：应为数字，读到 'abc'"),
        ({"department": "foo"}, "应为 'budget'、'mean'、'parts'、'category' 之一"),
        ({"rounding": {"decimals": 9}}, "字段 rounding.decimals：应不大于 6，读到 9"),
        ({"execution": {"cap": "maybe"}}, "字段 execution.cap：应为 true 或 false"),
        # bounds as written (0, not 0.0), a blank value as 空值 (not None), a month as 4月底 (not {'apr': -5.0})
        ({"execution": {"schedule": {"points_per_checkpoint": -1}}}, "points_per_checkpoint：应不小于 0，读到 -1"),
        ({"execution": {"schedule": {"thresholds": {4: None}}}}, "thresholds.apr：应为数字，读到 空值"),
        ({"execution": {"schedule": {"thresholds": {4: -5, "8月底": 120}}}}, "之间，读到 4月底 -5、8月底 120"),
        ({"department": "category", "category_weights": {"运转类": -30}}, "须为不小于 0 的数，读到 运转类 -30"),
        ({"grades": [{"grade": "", "min": 1}]}, "字段 grades.0.grade：不能为空"),
        ({"qualitative": {"tiers": {"优": {"band": [0.8, 1], "default": 1}, "良": {"band": [0.7, 0.85], "default": 0.75}}}},
         "字段 qualitative.tiers：定性档次“良”0.7–0.85 与“优”0.8–1 的区间重叠"),
    ],
)
def test_rule_file_errors_in_chinese(data: dict, words: str) -> None:
    """It should word every refusal of a rule file in Chinese (pydantic's own English never shows)."""
    with pytest.raises(RuleFileError) as err:
        rules_from_mapping({"name": "bad", **data}, source="省.yaml")
    message = str(err.value)
    assert words in message
    assert not any(english in message for english in ("Value error", "Input should", "Field required", "Extra inputs", " or "))


def test_profile_restates_its_parents_monitoring_line_in_other_words(tmp_path) -> None:  # noqa: ANN001
    """It should let a profile replace the line of the profile it extends however either spells the month
    (neimenggu-2022 writes `jun: 40`; a county writing `6月底: 50` means 6月底 50 %, not a month written twice),
    and still refuse one file writing the same month twice."""
    from selfeval.rules.loader import load_rules

    path = tmp_path / "county.yaml"
    path.write_text("extends: neimenggu-2022\nname: county\nexecution:\n  schedule:\n    thresholds:\n      6月底: 50\n      4: 25\n",
                    encoding="utf-8")
    assert load_rules(path).execution.schedule.thresholds == {"apr": 25.0, "jun": 50.0, "oct": 80.0}
    path.write_text("extends: neimenggu-2022\nname: county\nexecution:\n  schedule:\n    thresholds: {6月底: 50, jun: 45}\n",
                    encoding="utf-8")
    with pytest.raises(RuleFileError) as err:
        load_rules(path)
    assert "county.yaml" in str(err.value) and "6月底 写了两次" in str(err.value)


def test_misspelt_department_is_the_only_complaint() -> None:
    """It should report a misspelt `department: catgory` alone, not also blame its category_weights for a
    department mode that is not category."""
    with pytest.raises(RuleFileError) as err:
        rules_from_mapping({"name": "d", "department": "catgory", "category_weights": {"运转类": 30}}, source="省.yaml")
    assert "字段 department：" in str(err.value) and "category_weights" not in str(err.value)


def test_schedule_message_never_reads_as_reaching_the_line() -> None:
    """It should word 2499.99 元 of 10000 by 4月底 (24.9999 %, behind a 25 % line) as 24.9999 %, not as
    "占全年预算 25%，低于规则的支出进度监控线 25%"; a share well below keeps two decimals (24.33 %)."""
    rules = rules_from_mapping({"name": "m", "execution": {"schedule": {"thresholds": {"4月底": 25, "8月底": 60}}}})
    decl, actuals = _declaration(THREE_ROWS), _actuals(["5万元", "90%", "90%"])
    found = selfeval.score(decl, actuals, _monthly_execution(apr=2499.99, aug=5433.33), rules).findings.sort("column")
    assert found["message"].to_list() == [
        "4月底累计支出 2499.99 元（占全年预算 24.9999%），低于规则的支出进度监控线 25%",
        "8月底累计支出 5433.33 元（占全年预算 54.33%），低于规则的支出进度监控线 60%",
    ]


def test_inherited_category_weights_say_how_to_clear_them(tmp_path) -> None:  # noqa: ANN001
    """It should tell a profile going back to `department: budget` under a category profile how to drop the
    category weights it inherits (it never wrote them), and take `category_weights: {}` as that."""
    from selfeval.rules.loader import load_rules

    (tmp_path / "prov.yaml").write_text("extends: mof-2020\nname: prov\ndepartment: category\n"
                                        "category_weights: {运转类: 30, 特定目标类: 70}\n", encoding="utf-8")
    child = tmp_path / "county.yaml"
    child.write_text("extends: prov\nname: county\ndepartment: budget\n", encoding="utf-8")
    with pytest.raises(RuleFileError) as err:
        load_rules(child)
    assert "category_weights: {} 清除" in str(err.value) and "\n" not in str(err.value)
    child.write_text("extends: prov\nname: county\ndepartment: budget\ncategory_weights: {}\n", encoding="utf-8")
    assert load_rules(child).category_weights == {}
