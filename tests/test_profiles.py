"""Provincial rule profiles (issue 13): each one validated and scored on a worked example.

Every profile has one small project whose points were worked out by hand (the arithmetic is in
the comments) under that profile and under mof-2020, so the test shows what the profile changes.
Both the pipeline and the plain-Python reference must give those numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

import selfeval
from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.reference import reference_score
from selfeval.rules.loader import available_rules, builtin_rule_dirs, load_rules

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ("sichuan-2023", "anhui-2022", "hubei-2020", "hunan-2019", "neimenggu-2022")


@dataclass(frozen=True)
class Example:
    """One project: rows (level1, level2, level3, target, actual, tier), execution, hand-computed results."""

    rows: list[tuple[str, str, str, str, str, str | None]]
    executed: float
    points: list[float]
    execution: float
    total: float
    grade: str
    mof_total: float  # the same project under mof-2020, by hand
    codes: list[str] = field(default_factory=list)
    mof_codes: list[str] = field(default_factory=list)
    by_jun: float | None = None
    by_oct: float | None = None


EXAMPLES: dict[str, Example] = {
    # weights 产出 50 / 效益 30 / 满意度 10 / 执行 10
    # 1 ≤5万元, 5.5万元: 1 − (5.5 − 5)/5 = 0.9 → 45.00 (mof: 5/5.5 = 0.90909 → 45.45)
    # 2 ≥90%, 81%: 81/90 = 0.9 → 27.00;  3 ≥90%, 95% → 10.00;  执行 9500/10000 → 9.50
    # total 45 + 27 + 10 + 9.5 = 91.50 优 (mof: 45.45 + 27 + 10 + 9.5 = 91.95)
    "sichuan-2023": Example(
        rows=[("产出指标", "成本指标", "项目成本", "≤5万元", "5.5万元", None),
              ("效益指标", "社会效益指标", "覆盖率", "≥90%", "81%", None),
              ("满意度指标", "服务对象满意度指标", "满意度", "≥90%", "95%", None)],
        executed=9500.0, points=[45.0, 27.0, 10.0], execution=9.5, total=91.5, grade="优", mof_total=91.95,
    ),
    # 产出 50 / 3 = 16.6667 each, whole points (half up):
    # 1 ≥100次, 95次: 0.95 × 16.6667 = 15.83 → 16;  2 ≥90%, 80%: 0.8889 × 16.6667 = 14.81 → 15
    # 3 ≤5万元, 4万元: full 16.6667 → 17, above its 分值 → 16 (表注: 不能超过分值上限);
    # 4 效益 ≥90%, 87%: 0.96667 × 30 = 29.00 → 29
    # 5 满意度 ≥90%, 88%: 0.97778 × 10 = 9.78 → 10;  执行 9876/10000 × 10 = 9.876 → 9.88 (two decimals)
    # total 16 + 15 + 16 + 29 + 10 + 9.88 = 95.88 优
    # (mof: 15.83 + 14.81 + 16.67 + 29.00 + 9.78 + 9.88 = 95.97)
    "anhui-2022": Example(
        rows=[("产出指标", "数量指标", "次数", "≥100次", "95次", None),
              ("产出指标", "质量指标", "合格率", "≥90%", "80%", None),
              ("产出指标", "成本指标", "成本", "≤5万元", "4万元", None),
              ("效益指标", "社会效益指标", "覆盖率", "≥90%", "87%", None),
              ("满意度指标", "服务对象满意度指标", "满意度", "≥90%", "88%", None)],
        executed=9876.0, points=[16.0, 15.0, 16.0, 29.0, 10.0], execution=9.88, total=95.88, grade="优", mof_total=95.97,
    ),
    # 产出 50 / 2 = 25 each. 1 ≥100次, 135次: r = 1.35 ≥ 1.3 → OVERSHOOT (mof: 1.35 < 1.5, none), 25
    # 2 ≥0次, 1次: zero target, 1 ≥ zero_threshold 1 → OVERSHOOT (mof: never), 25
    # 3 ≥90%, 90% → 30;  4 ≥90%, 95% → 10;  执行 10000/10000 → 10;  total 100.00 优 (mof 100.00)
    "hubei-2020": Example(
        rows=[("产出指标", "数量指标", "培训次数", "≥100次", "135次", None),
              ("产出指标", "质量指标", "安全事故", "≥0次", "1次", None),
              ("效益指标", "社会效益指标", "覆盖率", "≥90%", "90%", None),
              ("满意度指标", "服务对象满意度指标", "满意度", "≥90%", "95%", None)],
        executed=10000.0, points=[25.0, 25.0, 30.0, 10.0], execution=10.0, total=100.0, grade="优", mof_total=100.0,
        codes=["OVERSHOOT", "OVERSHOOT"],
    ),
    # 1 ≥100次, 100次 → 50;  2 效益 有效提升, 基本完成 → 部分达成 0.65 × 30 = 19.50 (mof 0.7 → 21.00)
    # 3 满意度 群众满意, 未完成 → 未达成 0.25 × 10 = 2.50 (mof 0.3 → 3.00);  执行 → 10
    # total 50 + 19.5 + 2.5 + 10 = 82.00 良 (mof: 50 + 21 + 3 + 10 = 84.00)
    "hunan-2019": Example(
        rows=[("产出指标", "数量指标", "次数", "≥100次", "100次", None),
              ("效益指标", "社会效益指标", "群众生活", "有效提升", "基本完成", None),
              ("满意度指标", "服务对象满意度指标", "群众满意", "群众满意", "未完成", None)],
        executed=10000.0, points=[50.0, 19.5, 2.5], execution=10.0, total=82.0, grade="良", mof_total=84.0,
    ),
    # all indicators met: 50 + 30 + 10;  执行 9876/10000 × 10 = 9.876 → truncated 9.87 (mof 9.88)
    # 6月底 4500/10000 = 45% ≥ line 40% (mof: plan 50% → SCHEDULE); 10月底 7800 = 78% < line 80% → SCHEDULE
    # (mof: plan 75% → on time);  total 99.87 优 (mof 99.88)
    "neimenggu-2022": Example(
        rows=[("产出指标", "数量指标", "次数", "≥100次", "100次", None),
              ("效益指标", "社会效益指标", "覆盖率", "≥90%", "90%", None),
              ("满意度指标", "服务对象满意度指标", "满意度", "≥90%", "90%", None)],
        executed=9876.0, points=[50.0, 30.0, 10.0], execution=9.87, total=99.87, grade="优", mof_total=99.88,
        codes=["SCHEDULE"], mof_codes=["SCHEDULE"], by_jun=4500.0, by_oct=7800.0,
    ),
}


def _inputs(ex: Example) -> tuple[Declaration, pl.DataFrame, pl.DataFrame]:
    n = len(ex.rows)
    units = schema.conform(pl.DataFrame({"unit_code": ["U"], "unit_name": ["示例单位"], "year": [2025]}), schema.UNITS)
    projects = schema.conform(
        pl.DataFrame({"unit_code": ["U"], "project_code": ["P"], "project_name": ["示例项目"], "budget": [10000.0],
                      "plan_mar": [25.0], "plan_jun": [50.0], "plan_oct": [75.0], "plan_dec": [100.0]}),
        schema.PROJECTS,
    )
    indicators = schema.conform(pl.DataFrame({
        "unit_code": ["U"] * n, "project_code": ["P"] * n, "seq": list(range(1, n + 1)),
        "indicator_id": [f"P-{i:02d}" for i in range(1, n + 1)],
        "level1": [r[0] for r in ex.rows], "level2": [r[1] for r in ex.rows], "level3": [r[2] for r in ex.rows],
        "target_text": [r[3] for r in ex.rows], "weight": [None] * n,
    }, schema_overrides={"weight": pl.Float64}), schema.INDICATORS)
    actuals = schema.conform(pl.DataFrame({
        "project_code": ["P"] * n, "seq": list(range(1, n + 1)), "actual_text": [r[4] for r in ex.rows],
        "deviation_reason": ["已说明"] * n, "tier": [r[5] for r in ex.rows],
    }, schema_overrides={"tier": pl.String}), schema.ACTUALS)
    execution = schema.conform(pl.DataFrame({
        "project_code": ["P"], "year_budget": [10000.0], "executed": [ex.executed],
        "executed_by_jun": [ex.by_jun], "executed_by_oct": [ex.by_oct],
    }, schema_overrides={"executed_by_jun": pl.Float64, "executed_by_oct": pl.Float64}), schema.EXECUTION)
    return Declaration(units, projects, indicators), actuals, execution


def _results(name: str, ex: Example) -> list[tuple[list, float | None, float, str, list[str]]]:
    decl, actuals, execution = _inputs(ex)
    rules = load_rules(name)
    got = selfeval.score(decl, actuals, execution, rules)
    ref = reference_score(decl, actuals, execution, rules)
    project = got.project_scores.row(0, named=True)
    ref_project = ref.projects[("U", "P")]
    return [
        (got.indicator_scores.sort("seq")["points"].to_list(), project["execution_points"], project["total"],
         project["grade"], sorted(got.findings["code"].to_list())),
        ([ref.indicators[("U", "P", s)]["points"] for s in range(1, len(ex.rows) + 1)], ref_project["execution_points"],
         ref_project["total"], ref_project["grade"], sorted(f[0] for f in ref.findings)),
    ]


@pytest.mark.parametrize("name", PROFILES)
def test_profile_worked_example(name: str) -> None:
    """It should give the worked example's hand-computed points, total, grade and findings (pipeline and reference)."""
    ex = EXAMPLES[name]
    for side in _results(name, ex):
        assert side == (ex.points, ex.execution, ex.total, ex.grade, ex.codes)


@pytest.mark.parametrize("name", PROFILES)
def test_profile_differs_from_default(name: str) -> None:
    """It should give the worked example its hand-computed mof-2020 total and findings under mof-2020."""
    ex = EXAMPLES[name]
    for _points, _execution, total, _grade, codes in _results("mof-2020", ex):
        assert (total, codes) == (ex.mof_total, ex.mof_codes)


def _leaves(data: dict, prefix: str = "") -> list[str]:
    """Dotted paths of the values a file sets (mappings walked, anything else a leaf)."""
    out = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        out.extend(_leaves(value, f"{path}.") if isinstance(value, dict) and value else [path])
    return out


@pytest.mark.parametrize("name", [*PROFILES, "per-level2", "strict-overshoot"])
def test_profile_cites_its_documents(name: str) -> None:
    """It should ship as a built-in rule set with a title, a `*` source and a source in its own file for every field it sets."""
    path = available_rules()[name]
    assert path.parent.resolve() in {d.resolve() for d in builtin_rule_dirs()}
    rules = load_rules(name)
    assert rules.title and rules.sources.get("*")
    import yaml

    own = yaml.safe_load(path.read_text(encoding="utf-8"))
    for leaf in _leaves({k: v for k, v in own.items() if k not in {"extends", "name", "title", "description", "sources"}}):
        parts = leaf.split(".")
        cited = [".".join(parts[:n]) for n in range(1, len(parts) + 1) if ".".join(parts[:n]) in own.get("sources", {})]
        assert cited, f"{name}: {leaf} has no source of its own"
    if name in PROFILES:  # the file says where its reading is its own: a comment marks every unverified choice
        assert "原文未见" in path.read_text(encoding="utf-8") or "条款原文" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "path", "document"), [
    ("hubei-2020", "overshoot", "鄂财绩发〔2020〕3号"),
    ("neimenggu-2022", "execution.schedule", "内财监〔2019〕1343号"),
])
def test_notes_attribute_nothing_to_unseen_documents(name: str, path: str, document: str) -> None:
    """It should not say what a document requires when only its citation was found: the note marks it unseen."""
    note = load_rules(name).sources[path]
    assert f"{document}（原文未见" in note and "要求" not in note.split(document, 1)[1][:12], note


@pytest.mark.parametrize("name", ["mof-2020", *PROFILES])
def test_profiles_keep_points_within_their_weights_on_the_sample(name: str) -> None:
    """Under every shipped profile the bundled sample should score no indicator above its 分值 and no
    project or unit above 100 (whole-point rounding of a 12.5 分值 must not give 13). The default
    rule's two-decimal rounding may pass an unrounded 分值 by less than a cent (16.6667 → 16.67)."""
    samples = ROOT / "samples"
    result = selfeval.score(samples / "seed_targets_2025.txt", samples / "actuals_sample.csv",
                            samples / "execution_sample.csv", name)
    over = result.indicator_scores.filter(pl.col("points") > pl.col("weight") + 0.005)
    assert over.select("project_code", "seq", "weight", "points").rows() == []
    assert result.project_scores.get_column("total").max() <= 100.0
    assert result.unit_scores.get_column("total").max() <= 100.0


def test_whole_points_within_weight_by_hand(tmp_path: Path) -> None:
    """12.5 met in full is 13 in whole points, 12 when the score may not pass its 分值; 12.125 is 12
    either way (hand-computed, pipeline and reference)."""
    ex = Example(
        rows=[("产出指标", "数量指标", f"次数{i}", "≥100次", actual, None)
              for i, actual in enumerate(["100次", "97次", "100次", "100次"], start=1)]
        + [("效益指标", "社会效益指标", "覆盖率", "≥90%", "90%", None),
           ("满意度指标", "服务对象满意度指标", "满意度", "≥90%", "95%", None)],
        # 产出 50 / 4 = 12.5 each: 12.5 → 13 → 12 (分值 12.5 rounded down), 0.97 × 12.5 = 12.125 → 12
        # total 12 × 4 + 30 + 10 + 执行 10 = 98.00 优
        executed=10000.0, points=[12.0, 12.0, 12.0, 12.0, 30.0, 10.0], execution=10.0, total=98.0, grade="优",
        mof_total=99.63,  # 12.5 × 3 + 12.13 + 30 + 10 + 10
    )
    for side in _results("anhui-2022", ex):
        assert side == (ex.points, ex.execution, ex.total, ex.grade, [])
    loose = tmp_path / "anhui-loose.yaml"  # the same profile, scores allowed past their 分值
    loose.write_text("extends: anhui-2022\nname: anhui-loose\nrounding:\n  indicator:\n    within_weight: false\n",
                     encoding="utf-8")
    decl, actuals, execution = _inputs(ex)
    got = selfeval.score(decl, actuals, execution, loose)
    assert got.indicator_scores.sort("seq").get_column("points").to_list() == [13.0, 12.0, 13.0, 13.0, 30.0, 10.0]
    assert got.project_scores.item(0, "total") == 101.0
