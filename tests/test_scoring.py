"""The vectorized scoring pipeline: golden sample, rounding, rule variants, nothing lost."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import selfeval
from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.errors import RuleFileError
from selfeval.expressions import round_half_up
from selfeval.rules.loader import load_rules, rules_from_mapping

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "seed_targets_2025.txt"
ACTUALS = ROOT / "samples" / "actuals_sample.csv"
EXECUTION = ROOT / "samples" / "execution_sample.csv"

# SPEC.md §5.7 — the golden result for the sample.
GOLDEN_TOTALS = {
    "13022925P00JXC419898U": (99.93, "优", 9.93),
    "13022925P00JXC419591N": (100.00, "优", 10.00),
    "13022925P00016410007L": (99.36, "优", 9.80),
    "13022925P00JXC419899F": (98.07, "优", 9.10),
    "13022925P00JXC419896L": (99.55, "优", 9.80),
}
GOLDEN_ROWS = [
    ("13022925P00JXC419898U", 1, 12.5),  # 2万元 vs 20000元 → full
    ("13022925P00JXC419591N", 3, 12.5),  # 额度到账时间 2025年 met
    ("13022925P00016410007L", 1, 12.22),  # 88% vs ≥90%
    ("13022925P00016410007L", 7, 7.34),  # 93% vs ≥95%
    ("13022925P00JXC419899F", 1, 12.5),  # 36次 vs ≥20次 (+ OVERSHOOT)
    ("13022925P00JXC419899F", 3, 11.84),  # 90% vs ≥95%
    ("13022925P00JXC419899F", 6, 7.13),  # 76% vs ≥80%
    ("13022925P00JXC419896L", 1, 12.25),  # 1.96万元 vs 2万元
    ("13022925P00JXC419896L", 3, 12.5),  # 2025年12月 met
]
GOLDEN_SCHEDULE = {
    ("13022925P00016410007L", "executed_by_mar"),
    ("13022925P00016410007L", "executed_by_jun"),
    ("13022925P00JXC419899F", "executed_by_mar"),
    ("13022925P00JXC419899F", "executed_by_jun"),
    ("13022925P00JXC419899F", "executed_by_oct"),
}


@pytest.fixture(scope="module")
def golden() -> selfeval.Result:
    return selfeval.score(SEED, ACTUALS, EXECUTION, "mof-2020")


@pytest.mark.parametrize(("project_code", "expected"), GOLDEN_TOTALS.items())
def test_golden_project_totals(golden: selfeval.Result, project_code: str, expected: tuple) -> None:
    """It should reproduce each project's total, grade and execution points of SPEC.md §5.7."""
    total, grade, execution_points = expected
    row = golden.project_scores.filter(pl.col("project_code") == project_code).row(0, named=True)
    assert (row["total"], row["grade"], row["execution_points"], row["complete"]) == (total, grade, execution_points, True)


@pytest.mark.parametrize(("project_code", "seq", "points"), GOLDEN_ROWS)
def test_golden_notable_rows(golden: selfeval.Result, project_code: str, seq: int, points: float) -> None:
    """It should give the notable rows of SPEC.md §5.7 their points."""
    row = golden.indicator_scores.filter((pl.col("project_code") == project_code) & (pl.col("seq") == seq)).row(0, named=True)
    assert row["points"] == points
    assert row["status"] == "scored"


def test_golden_department(golden: selfeval.Result) -> None:
    """It should give the department 99.55 优 (budget-weighted)."""
    unit = golden.unit_scores.row(0, named=True)
    assert (unit["unit_code"], unit["year"], unit["total"], unit["grade"], unit["projects"], unit["budget"]) == (
        "480001", 2025, 99.55, "优", 5, 179000.0
    )


def test_golden_findings(golden: selfeval.Result) -> None:
    """It should flag the OVERSHOOT on project 4 seq 1 and exactly the SCHEDULE findings of SPEC.md §5.7."""
    f = golden.findings
    overshoot = f.filter(pl.col("code") == "OVERSHOOT").select("project_code", "seq").rows()
    assert overshoot == [("13022925P00JXC419899F", 1)]
    schedule = set(f.filter(pl.col("code") == "SCHEDULE").select("project_code", "column").rows())
    assert schedule == GOLDEN_SCHEDULE
    assert f.filter(pl.col("severity") == "error").height == 0


def test_rows_in_equal_rows_out(golden: selfeval.Result) -> None:
    """It should keep every declared indicator exactly once."""
    declared = selfeval.read_declared(SEED).indicators
    assert golden.indicator_scores.height == declared.height == 45
    assert golden.indicator_scores.select("project_code", "seq").is_duplicated().sum() == 0
    assert golden.indicator_scores.schema == schema.INDICATOR_SCORES


@pytest.mark.parametrize(
    ("value", "expected"),
    [(9.925, 9.93), (7.125, 7.13), (0.005, 0.01), (2.675, 2.68), (1.005, 1.01), (12.2222, 12.22), (0.0, 0.0),
     (99.995, 100.0), (7.124999999, 7.12)],
)
def test_round_half_up(value: float, expected: float) -> None:
    """It should round half up after dropping binary noise, never to even."""
    out = pl.select(round_half_up(pl.lit(value), 2)).item()
    assert out == expected


# ----------------------------------------------------------------------------- small declarations


def _declaration(rows: list[tuple], *, budget: float = 10000.0, weights: list[float | None] | None = None) -> Declaration:
    """One unit, one project; rows are (level1, level2, level3, target_text)."""
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
            "target_text": [r[3] for r in rows], "weight": weights or [None] * n,
        }, schema_overrides={"weight": pl.Float64}),
        schema.INDICATORS,
    )
    return Declaration(units, projects, indicators)


def _actuals(texts: list[str | None], reasons: list[str | None] | None = None, tiers: list[str | None] | None = None) -> pl.DataFrame:
    n = len(texts)
    return schema.conform(
        pl.DataFrame({"project_code": ["P"] * n, "seq": list(range(1, n + 1)), "actual_text": texts,
                      "deviation_reason": reasons or [None] * n, "tier": tiers or [None] * n},
                     schema_overrides={"actual_text": pl.String, "deviation_reason": pl.String, "tier": pl.String}),
        schema.ACTUALS,
    )


def _execution(executed: float | None = 10000.0, year_budget: float = 10000.0) -> pl.DataFrame:
    return schema.conform(
        pl.DataFrame({"project_code": ["P"], "year_budget": [year_budget], "executed": [executed]},
                     schema_overrides={"executed": pl.Float64}),
        schema.EXECUTION,
    )


FOUR_ROWS = [
    ("产出指标", "数量指标", "数量", "≥100次"),
    ("产出指标", "数量指标", "金额", "≤5万元"),
    ("产出指标", "质量指标", "合格率", "≥90%"),
    ("效益指标", "社会效益指标", "影响", "有效提升"),
    ("满意度指标", "服务对象满意度指标", "满意度", "≥90%"),
]


def _points(result: selfeval.Result) -> list[float | None]:
    return result.indicator_scores.sort("seq")["points"].to_list()


def test_split_per_level2_changes_weights() -> None:
    """It should split 产出's 50 points over its level-2 groups first under `split: per_level2`."""
    decl = _declaration(FOUR_ROWS)
    acts = _actuals(["100次", "5万元", "90%", "达成", "90%"])
    default = selfeval.score(decl, acts, _execution(), "mof-2020")
    per_level2 = selfeval.score(decl, acts, _execution(), "per-level2")
    assert default.indicator_scores.sort("seq")["weight"].to_list()[:3] == pytest.approx([50 / 3] * 3)
    assert per_level2.indicator_scores.sort("seq")["weight"].to_list()[:3] == [12.5, 12.5, 25.0]
    # The total is the sum of rounded points (SPEC.md §5.6): 3 × 16.67 = 50.01.
    assert default.project_scores["total"].item() == 100.01
    assert per_level2.project_scores["total"].item() == 100.0


def test_step_curve_and_overshoot_deduction() -> None:
    """It should score by steps and deduct for overshoot under the strict-overshoot variant."""
    decl = _declaration(FOUR_ROWS)
    acts = _actuals(["85次", "5万元", "270%", "达成", "90%"], reasons=["原因", None, "原因", None, None])
    default = _points(selfeval.score(decl, acts, _execution(), "mof-2020"))
    strict = _points(selfeval.score(decl, acts, _execution(), "strict-overshoot"))
    w = 50 / 3
    assert default[0] == pytest.approx(round(w * 0.85, 2))  # proportional
    assert strict[0] == pytest.approx(round(w * 0.8, 2))  # step at 0.8
    # r = 3.0 ≥ 1.5: deduct(3.0) = 0.2 of the weight
    assert default[2] == pytest.approx(round(w, 2))
    assert strict[2] == pytest.approx(round(w * 0.8, 2))


def test_missing_satisfaction_goes_to_effect() -> None:
    """It should pass a missing 满意度指标's 10 points to 效益指标."""
    decl = _declaration([FOUR_ROWS[0], FOUR_ROWS[1], FOUR_ROWS[3]])
    result = selfeval.score(decl, _actuals(["100次", "5万元", "达成"]), _execution(), "mof-2020")
    assert result.indicator_scores.sort("seq")["weight"].to_list() == [25.0, 25.0, 40.0]
    assert result.project_scores["total"].item() == 100.0


def test_explicit_weights_used_and_checked() -> None:
    """It should use explicit 分值 as given and warn when they don't add up to 100."""
    decl = _declaration(FOUR_ROWS, weights=[20.0, 20.0, 20.0, 20.0, 5.0])
    result = selfeval.score(decl, _actuals(["100次", "5万元", "90%", "达成", "90%"]), _execution(), "mof-2020")
    assert result.indicator_scores.sort("seq")["weight"].to_list() == [20.0, 20.0, 20.0, 20.0, 5.0]
    assert result.findings.filter(pl.col("code") == "WEIGHTS_SUM").height == 1
    assert result.project_scores["total"].item() == 95.0


@pytest.mark.parametrize(
    ("actual", "tier", "code"),
    [
        (None, None, "MISSING_ACTUAL"),
        ("三次", None, "UNIT_MISMATCH"),  # qualitative text against a quantitative target
        ("5人", None, "UNIT_MISMATCH"),
        ("≥≤5", None, "UNPARSEABLE"),
    ],
)
def test_unscorable_rows_are_kept_with_an_error(actual: str | None, tier: str | None, code: str) -> None:
    """It should keep an unscorable row, give it no points and an error finding, and mark the project incomplete."""
    decl = _declaration(FOUR_ROWS)
    result = selfeval.score(decl, _actuals([actual, "5万元", "90%", "达成", "90%"]), _execution(), "mof-2020")
    row = result.indicator_scores.filter(pl.col("seq") == 1).row(0, named=True)
    assert (row["status"], row["points"]) == ("unscorable", None)
    assert result.findings.filter((pl.col("seq") == 1) & (pl.col("severity") == "error"))["code"].to_list() == [code]
    assert result.project_scores["complete"].item() is False
    assert result.indicator_scores.height == 5


@pytest.mark.parametrize(
    ("actual", "tier", "fraction"),
    [("达成", None, 1.0), ("基本完成", None, 0.7), ("未完成", None, 0.3), ("有效提升", None, 1.0), ("随便写", "部分达成", 0.7)],
)
def test_qualitative_tiers(actual: str, tier: str | None, fraction: float) -> None:
    """It should score qualitative rows by tier: the tier column, words in the actual, or equality with the target."""
    decl = _declaration(FOUR_ROWS)
    acts = _actuals(["100次", "5万元", "90%", actual, "90%"], tiers=[None, None, None, tier, None])
    row = selfeval.score(decl, acts, _execution(), "mof-2020").indicator_scores.filter(pl.col("seq") == 4).row(0, named=True)
    assert row["fraction"] == fraction
    assert row["points"] == round(30 * fraction, 2)


def test_late_deadline_penalty() -> None:
    """It should take 0.1 of the weight per month late."""
    decl = _declaration([("产出指标", "时效指标", "完成时间", "2025年6月30日前")])
    result = selfeval.score(decl, _actuals(["2025年8月15日"]), _execution(), "mof-2020")
    row = result.indicator_scores.row(0, named=True)
    assert (row["ratio"], row["points"]) == (0.8, 40.0)  # 2 started months late; 产出 takes all 90 points


def test_missing_execution_is_an_error() -> None:
    """It should not score execution without an executed amount, and say so."""
    decl = _declaration(FOUR_ROWS)
    result = selfeval.score(decl, _actuals(["100次", "5万元", "90%", "达成", "90%"]), _execution(executed=None), "mof-2020")
    assert result.project_scores["execution_points"].item() is None
    assert result.project_scores["complete"].item() is False
    assert "MISSING_EXECUTION" in result.findings["code"].to_list()


def test_key_mismatch_on_unknown_and_clashing_actuals() -> None:
    """It should report actuals for undeclared indicators and level-3 names that differ, dropping no row."""
    decl = _declaration(FOUR_ROWS)
    acts = _actuals(["100次", "5万元", "90%", "达成", "90%", "1次"]).with_columns(
        level3=pl.Series(["别的名字", None, None, None, None, "多余"])
    )
    result = selfeval.score(decl, acts, _execution(), "mof-2020")
    keys = result.findings.filter(pl.col("code") == "KEY_MISMATCH").select("seq").to_series().to_list()
    assert sorted(keys) == [1, 6]
    assert result.indicator_scores.height == 5
    assert result.indicator_scores.filter(pl.col("seq") == 1)["status"].item() == "unscorable"


def test_rule_file_errors_name_file_and_field(tmp_path: Path) -> None:
    """It should reject an invalid rule file naming the file and the field path."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: mof-2020\nweights: {产出指标: 50, 效益指标: 30, 满意度指标: 10, 预算执行率: -1}\nsplit: 随便\n",
                   encoding="utf-8")
    with pytest.raises(RuleFileError) as info:
        load_rules(bad)
    text = str(info.value)
    assert "bad.yaml" in text and "weights" in text and "split" in text


def test_rule_extends_overrides_a_few_fields(tmp_path: Path) -> None:
    """It should inherit a rule set and override only what the file says."""
    child = tmp_path / "child.yaml"
    child.write_text("extends: mof-2020\nweights: {产出指标: 40, 效益指标: 40}\n", encoding="utf-8")
    rules = load_rules(child)
    assert rules.weights == {"产出指标": 40.0, "效益指标": 40.0, "满意度指标": 10.0, "预算执行率": 10.0}
    assert rules.overshoot.threshold == 1.5
    assert rules.name == "child"


def test_rules_from_mapping_rejects_unknown_fields() -> None:
    """It should forbid unknown fields."""
    with pytest.raises(RuleFileError, match="weigths"):
        rules_from_mapping({"name": "x", "weigths": {}})
