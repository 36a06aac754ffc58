"""The one scoring path: hand-computed cases on the pipeline, declared stage hand-offs, one roll-up."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from selfeval import schema
from selfeval.api import score
from selfeval.pipeline import checked_inputs, score_scenario, stacked_totals
from selfeval.scenarios import Params
from test_reference import ACTUAL_SIDE, INDICATOR_CASES, MOF, PROJECT, UNIT, actual_rows, declare, execution_rows

SRC = Path(__file__).resolve().parents[1] / "src" / "selfeval"


@pytest.mark.parametrize(
    ("target", "actual", "extra", "ratio", "points", "status", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in INDICATOR_CASES],
)
def test_indicator_case_on_the_pipeline(
    target: str | None, actual: str | None, extra: dict[str, Any], ratio: float | None,
    points: float | None, status: str, expected: dict[str, int],
) -> None:
    """It should score each hand-computed reference case exactly as the reference scorer's test expects."""
    extra = dict(extra)
    year = extra.pop("_year", 2025)
    act = {k: extra.pop(k) for k in ACTUAL_SIDE if k in extra}
    decl = declare([{"target_text": target, **extra}], year=year)
    result = score(decl, actual_rows([{"seq": 1, "level3": "指标1", "actual_text": actual, **act}]), execution_rows(), MOF)
    row = result.indicator_scores.row(0, named=True)
    assert (row["status"], row["points"]) == (status, points)
    assert row["ratio"] == (pytest.approx(ratio) if ratio is not None else None)
    assert Counter(result.findings["code"].to_list()) == Counter(expected)
    project = result.project_scores.row(0, named=True)
    assert (project["unit_code"], project["project_code"]) == (UNIT, PROJECT)
    assert project["complete"] == (status == "scored")
    assert project["total"] == pytest.approx((points or 0.0) + 10.0, abs=1e-9)


def test_totals_path_equals_the_full_path() -> None:
    """It should give what-if's totals-only path exactly the project and unit scores of the full path."""
    from selfeval.ingest import read_actuals, read_declared, read_execution

    samples = Path(__file__).resolve().parents[1] / "samples"
    decl = read_declared(samples / "seed_targets_2025.txt")
    inputs = checked_inputs(decl, read_actuals(samples / "actuals_sample.csv"), read_execution(samples / "execution_sample.csv"), MOF)
    full = score_scenario(inputs, MOF)
    stacked, stacked_units = stacked_totals(inputs, {MOF.name: MOF}, {})
    named = inputs.execution.select("project_code", "project_name")
    projects = pl.concat([stacked.select("unit_code"), named, stacked.drop("_s", "unit_code", "_pid")], how="horizontal")
    units = stacked_units.drop("_s")
    assert projects.select(full.project_scores.columns).equals(full.project_scores)
    assert units.sort("unit_code").equals(full.unit_scores)


def test_stage_problems_are_all_listed() -> None:
    """It should list every mismatch of a hand-off with its declaration: missing, extra, wrong dtype."""
    frame = pl.DataFrame({"_order": [1], "_pid": ["x"], "surprise": [1.0]})
    problems = schema.stage_problems(frame, schema.CHECKED)
    assert "column '_pid' is String, declared UInt32" in problems
    assert "undeclared column 'surprise' (Float64)" in problems
    assert sum(p.startswith("missing column") for p in problems) == len(schema.CHECKED) - 2
    with pytest.raises(schema.StageError, match="missing column 'unit_code'"):
        schema.validated(frame, schema.CHECKED, "check")


def test_stage_validation_is_on_in_the_tests() -> None:
    """It should run the suite with every hand-off validated (tests/conftest.py)."""
    assert schema.validating()


def _definitions(pattern: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for path in SRC.rglob("*.py"):
        n = len(re.findall(pattern, path.read_text(encoding="utf-8"), flags=re.MULTILINE))
        if n:
            found[str(path.relative_to(SRC))] = n
    return found


def test_one_implementation_of_totals_grades_and_department() -> None:
    """It should compute project totals, grades and the department roll-up in rollup.py only."""
    assert _definitions(r"^def grade_expr\b") == {"rollup.py": 1}
    assert _definitions(r"^def project_scores\b") == {"rollup.py": 1}
    assert _definitions(r"^def unit_scores\b") == {"rollup.py": 1}
    assert _definitions(r'\.alias\("total"\)') == {"rollup.py": 2}  # project total, department total
    # only the plain-Python oracle (reference.py, with the rule model's grade_of) grades a total outside
    # rollup.py; numpy draws synthetic data, sums what-if points per project and counts what-if's
    # grade moves (checked below), nothing more
    assert _definitions(r"\bgrade_of\(") == {"reference.py": 2, "rules/model.py": 1}
    assert set(_definitions(r"^\s*import numpy")) == {"synth.py", "pipeline.py", "whatif.py"}
    # pipeline.py only places rows and sums them, whatif.py only counts (bincount); no other numpy there
    assert set(_definitions(r"\bnp\.(?!bincount|full|arange|int64|intp|float64|flatnonzero|ndarray)\w+")) == {"synth.py"}


def test_stacked_sums_equal_indicator_sums() -> None:
    """It should sum each scenario's folded points per project exactly as `rollup.indicator_sums` does."""
    from selfeval.pipeline import EXECUTION_INPUTS, SCENARIO_SUMS, _scenario_sums, _slots, folded_rows
    from selfeval.rollup import indicator_sums
    from selfeval.scoring import weigh
    from selfeval.synth import synth
    from selfeval.whatif import with_field

    data = synth(12, seed=5)
    inputs = checked_inputs(data.declaration, data.actuals, data.execution, MOF)
    execution = inputs.execution.select(EXECUTION_INPUTS)
    folded = folded_rows(inputs, MOF, Params.of(MOF))
    slots = _slots(folded, execution)
    for value in (50, 37.5, 62):
        rules = with_field(MOF, "weights.产出指标", value)
        weighed = weigh(folded.tuples.lazy(), rules, Params.of(rules)).select("_weight", "points").collect()
        tid = folded.rows.get_column("_tid")
        rows = folded.rows.with_columns(weighed.get_column(c).gather(tid) for c in ("_weight", "points"))
        expected = execution.select("_pid").join(indicator_sums(rows.lazy()).collect(), on="_pid", how="left", maintain_order="left")
        got = _scenario_sums(slots, weighed)
        assert got.height == expected.height and got.get_column("_indicator_points").null_count() == expected.get_column("_indicators").null_count()
        for column in SCENARIO_SUMS:
            assert got.get_column(column).to_list() == pytest.approx(expected.get_column(column).to_list(), abs=1e-9, nan_ok=False)
