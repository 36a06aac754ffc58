"""Level-1 labels as printed (docs/scoring.md §2): normalization, group, written points, findings."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selfeval.api import score
from selfeval.check import group_expr as check_group_expr
from selfeval.findings import CATALOGUE, template_pattern
from selfeval.level1 import (
    TRADITIONAL,
    closest_level1_text,
    group_expr,
    level1_group_text,
    level1_points,
    level1_points_text,
    normalize_level1,
    normalize_level1_text,
)
from selfeval.reference import reference_score
from selfeval.rules.loader import rules_from_mapping
from selfeval.rules.model import _default_aliases
from test_reference import MOF, actual_rows, declare, execution_rows

ROOT = Path(__file__).resolve().parents[1]
# Two groups weigh 40: a bare `(40分)` cell names neither.
EVEN = rules_from_mapping({"name": "even", "weights": {"产出指标": 40, "效益指标": 40, "满意度指标": 10, "预算执行率": 10}})

# (label as printed, normalized name, points written, group under mof-2020)
CASES: list[tuple[str | None, str | None, float | None, str | None]] = [
    ("产出指标", "产出指标", None, "产出指标"),
    (" 产出指标 ", "产出指标", None, "产出指标"),
    ("产出指标(50分)", "产出指标", 50.0, "产出指标"),
    ("产出指标（50分）", "产出指标", 50.0, "产出指标"),
    ("产出指标(50)", "产出指标", 50.0, "产出指标"),
    ("产出指标（分值：50分）", "产出指标", 50.0, "产出指标"),
    ("产出指标（满分50分）", "产出指标", 50.0, "产出指标"),
    ("产出指标(40分)", "产出指标", 40.0, "产出指标"),
    ("产出指标 50分", "产出指标", 50.0, "产出指标"),
    ("50分 产出指标", "产出指标", 50.0, "产出指标"),
    ("（50分）产出指标", "产出指标", 50.0, "产出指标"),
    ("效益指标 30分", "效益指标", 30.0, "效益指标"),
    ("效益指标（30.5分）", "效益指标", 30.5, "效益指标"),
    ("满意度指标（１０分）", "满意度指标", 10.0, "满意度指标"),
    ("满意度指标\u3000(10分)", "满意度指标", 10.0, "满意度指标"),
    ("产出\n指标", "产出指标", None, "产出指标"),
    ("【产出指标】", "产出指标", None, "产出指标"),
    ("一、产出指标", "产出指标", None, "产出指标"),
    ("(一)效益指标（30分）", "效益指标", 30.0, "效益指标"),
    ("1.满意度指标", "满意度指标", None, "满意度指标"),
    ("产出指标：", "产出指标", None, "产出指标"),
    ("產出指標", "产出指标", None, "产出指标"),
    ("產出指標（50分）", "产出指标", 50.0, "产出指标"),
    ("滿意度指標", "满意度指标", None, "满意度指标"),
    ("服務對象滿意度指標", "服务对象满意度指标", None, "满意度指标"),
    ("經濟效益指標", "经济效益指标", None, "效益指标"),
    ("可持續影響指標", "可持续影响指标", None, "效益指标"),
    ("(50分)", "", 50.0, "产出指标"),
    ("（30分）", "", 30.0, "效益指标"),
    ("（10分）", "", 10.0, "满意度指标"),
    ("50分", "", 50.0, "产出指标"),
    ("(20分)", "", 20.0, None),
    ("项目完成指标", "项目完成指标", None, "产出指标"),
    ("完成指标", "完成指标", None, "产出指标"),
    ("项目效益指标", "项目效益指标", None, "效益指标"),
    ("效果指标", "效果指标", None, "效益指标"),
    ("效果指标(30分)", "效果指标", 30.0, "效益指标"),
    ("社会效益", "社会效益", None, "效益指标"),
    ("社会效益指标", "社会效益指标", None, "效益指标"),
    ("经济效益", "经济效益", None, "效益指标"),
    ("生态效益指标", "生态效益指标", None, "效益指标"),
    ("可持续影响", "可持续影响", None, "效益指标"),
    ("成本指标", "成本指标", None, "产出指标"),
    ("成本指标（20分）", "成本指标", 20.0, "产出指标"),
    ("成本", "成本", None, "产出指标"),
    ("服务对象满意度", "服务对象满意度", None, "满意度指标"),
    ("满意程度", "满意程度", None, "满意度指标"),
    ("产品指标", "产品指标", None, None),
    ("其他指标", "其他指标", None, None),
    ("", "", None, None),
    (None, None, None, None),
]


@pytest.mark.parametrize(("label", "name", "points", "group"), CASES)
def test_label_normalized_alike_in_polars_and_python(
    label: str | None, name: str | None, points: float | None, group: str | None
) -> None:
    """It should read each printed label into the same name, points and group in Polars and in plain Python."""
    frame = pl.DataFrame({"l": [label]}, schema={"l": pl.String}).select(
        normalize_level1(pl.col("l")).alias("name"),
        level1_points(pl.col("l")).alias("points"),
        group_expr(pl.col("l"), MOF).alias("group"),
        check_group_expr(pl.col("l"), MOF).alias("check_group"),
    )
    assert frame.row(0) == (name, points, group, group)
    assert (normalize_level1_text(label), level1_points_text(label), level1_group_text(label, MOF)) == (name, points, group)
    assert MOF.group_of(label) == group


@pytest.mark.parametrize(("label", "group"), [(c[0], c[3]) for c in CASES])
def test_pipeline_and_reference_agree_on_each_label(label: str | None, group: str | None) -> None:
    """It should give each label the same group, status, points and findings in the pipeline and the reference."""
    decl = declare([{"level1": label, "target_text": "≥90%"}])
    actuals = actual_rows([{"seq": 1, "level3": "指标1", "actual_text": "95%"}])
    result = score(decl, actuals, execution_rows(), MOF)
    ref = reference_score(decl, actuals, execution_rows(), MOF)
    row = result.indicator_scores.row(0, named=True)
    ref_row = ref.indicators[("480001", "P1", 1)]
    assert row["level1_group"] == ref_row["group"] == group
    assert (row["status"], row["points"]) == (ref_row["status"], ref_row["points"])
    assert row["status"] == ("scored" if group is not None else "unscorable")
    assert sorted(result.findings.select("code", "unit_code", "project_code", "seq").rows()) == sorted(ref.findings)


def test_bare_points_cell_with_two_groups_of_that_weight_is_unknown() -> None:
    """It should leave a bare points cell unknown when two groups have that weight, and map an unambiguous one."""
    assert level1_group_text("(40分)", EVEN) is None
    assert level1_group_text("(10分)", EVEN) == "满意度指标"
    assert EVEN.group_of("（40分）") is None
    frame = pl.DataFrame({"l": ["(40分)", "(10分)", "产出指标(40分)"]}).select(group_expr(pl.col("l"), EVEN))
    assert frame.to_series().to_list() == [None, "满意度指标", "产出指标"]
    decl = declare([{"level1": "(40分)", "target_text": "≥90%"}, {"level1": "产出指标", "target_text": "≥90%"}])
    actuals = actual_rows([{"seq": n, "level3": f"指标{n}", "actual_text": "95%"} for n in (1, 2)])
    result = score(decl, actuals, execution_rows(), EVEN)
    ref = reference_score(decl, actuals, execution_rows(), EVEN)
    assert result.indicator_scores["status"].to_list() == ["unscorable", "scored"]
    assert sorted(result.findings.select("code", "unit_code", "project_code", "seq").rows()) == sorted(ref.findings)
    assert Counter(result.findings["code"]) == Counter({"UNKNOWN_LEVEL1": 1})


@pytest.mark.parametrize(
    ("label", "hint"),
    [("产品指标", "产出指标"), ("效应指标", "效益指标"), ("满意指标", "满意度指标"), ("其他指标", None), ("指标", None), ("", None)],
)
def test_unknown_label_names_the_closest_known_name(label: str, hint: str | None) -> None:
    """It should name the closest canonical group or alias of an unknown label, or none when nothing is close."""
    assert level1_group_text(label, MOF) is None
    assert closest_level1_text(label, MOF) == hint


def test_unknown_level1_finding_carries_the_hint() -> None:
    """It should raise UNKNOWN_LEVEL1 with the hint variant when a close name exists, the plain one otherwise."""
    decl = declare([{"level1": "产品指标", "target_text": "≥90%"}, {"level1": "其他", "target_text": "≥90%"}])
    actuals = actual_rows([{"seq": n, "level3": f"指标{n}", "actual_text": "95%"} for n in (1, 2)])
    findings = score(decl, actuals, execution_rows(), MOF).findings.filter(pl.col("code") == "UNKNOWN_LEVEL1")
    kind = CATALOGUE["UNKNOWN_LEVEL1"]
    by_seq = dict(zip(findings["seq"], findings["message"]))
    assert template_pattern(kind.template_of("hint")).match(by_seq[1])
    assert "产出指标" in by_seq[1]
    assert template_pattern(kind.template_of("default")).match(by_seq[2])
    assert not template_pattern(kind.template_of("hint")).match(by_seq[2])


def _level1_points_findings(labels: list[str]) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    decl = declare([{"level1": label, "target_text": "≥90%"} for label in labels])
    actuals = actual_rows([{"seq": n, "level3": f"指标{n}", "actual_text": "95%"} for n in range(1, len(labels) + 1)])
    result = score(decl, actuals, execution_rows(), MOF)
    ref = reference_score(decl, actuals, execution_rows(), MOF)
    found = result.findings.filter(pl.col("code") == "LEVEL1_POINTS")
    pipeline = sorted(zip(found["seq"], found["column"]))
    reference = sorted((f[3], f[4]) for f in ref.findings_detailed if f[0] == "LEVEL1_POINTS")
    return pipeline, reference


@pytest.mark.parametrize(
    ("labels", "seqs"),
    [
        (["产出指标(40分)"], [1]),
        (["产出指标(50分)"], []),
        (["产出指标"], []),
        (["(50分)", "（30分）"], []),
        (["产出指标(40分)", "产出指标(40分)", "效益指标(30分)", "效益指标 20分", "效益指标 20分"], [1, 4]),
        (["产出指标(40分)", "产出指标（40分）"], [1, 2]),  # two spellings are two labels
        (["产品指标(40分)"], []),  # unknown: UNKNOWN_LEVEL1 says it
        (["满意度指标（１０分）", "成本指标(20分)"], [2]),
    ],
)
def test_level1_points_once_per_project_and_label(labels: list[str], seqs: list[int]) -> None:
    """It should warn LEVEL1_POINTS on the first indicator of each label whose points differ from the rule weight."""
    pipeline, reference = _level1_points_findings(labels)
    assert pipeline == reference == [(s, "level1") for s in seqs]


def test_level1_points_is_a_registered_warning() -> None:
    """It should register LEVEL1_POINTS as a warning raised at the indicator stage on column level1."""
    kind = CATALOGUE["LEVEL1_POINTS"]
    assert kind.severity == "warning"
    assert [(c.stage, c.column) for c in kind.checks] == [("indicator", "level1")]


def test_checked_rows_carry_the_written_points() -> None:
    """It should keep the points written in the label on every checked indicator row (level1_points)."""
    from selfeval.pipeline import checked_inputs

    decl = declare([{"level1": "产出指标(40分)", "target_text": "≥90%"}, {"level1": "效益指标", "target_text": "≥90%"}])
    actuals = actual_rows([{"seq": n, "level3": f"指标{n}", "actual_text": "95%"} for n in (1, 2)])
    rows = checked_inputs(decl, actuals, execution_rows(), MOF).checked.indicators
    assert rows["level1_points"].to_list() == [40.0, None]
    assert rows["level1_group"].to_list() == ["产出指标", "效益指标"]


def test_rule_file_aliases_equal_the_model_defaults() -> None:
    """It should keep the aliases of scoring_rules/mof-2020.yaml identical to the model's defaults."""
    data = yaml.safe_load((ROOT / "scoring_rules" / "mof-2020.yaml").read_text(encoding="utf-8"))
    assert data["aliases"] == _default_aliases()
    assert MOF.aliases == _default_aliases()


def test_traditional_spelling_of_every_known_name_resolves_alike() -> None:
    """It should map the traditional spelling of every canonical group and alias to the same group."""
    to_traditional = {s: t for t, s in TRADITIONAL.items() if t not in ("産", "衆", "羣")}
    assert all(t != s for t, s in TRADITIONAL.items())
    for name, group in [*((g, g) for g in ("产出指标", "效益指标", "满意度指标")), *MOF.aliases.items()]:
        traditional = "".join(to_traditional.get(ch, ch) for ch in name)
        assert level1_group_text(f"{traditional}（5分）", MOF) == group, traditional


# Labels assembled from the pieces real tables print, in any order and spacing.
_PIECES = st.sampled_from([
    "产出指标", "產出指標", "效益", "满意度指标", "滿意度", "项目完成指标", "社会效益", "成本指标", "其他", "指标",
    "(", ")", "（", "）", "【", "】", "50", "３０", "10.5", "分", "分值", "满分", ":", "：", "、", "一、", "1.", "(一)",
    " ", "\u3000", "\n", "-", "。", "%", "x", "A", "Ｂ",
])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_PIECES, max_size=6).map("".join), min_size=1, max_size=20))
def test_polars_and_python_agree_on_any_label(labels: list[str]) -> None:
    """It should read any label alike in Polars and in plain Python: name, points and group."""
    frame = pl.DataFrame({"l": labels}, schema={"l": pl.String}).select(
        normalize_level1(pl.col("l")), level1_points(pl.col("l")).alias("p"), group_expr(pl.col("l"), MOF).alias("g")
    )
    expected = [(normalize_level1_text(x), level1_points_text(x), level1_group_text(x, MOF)) for x in labels]
    assert frame.rows() == expected
