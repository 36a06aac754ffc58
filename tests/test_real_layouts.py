"""The real-layout corpus (tests/fixtures/real_layouts/): tables as units publish them, scored by hand.

Each folder holds one unit's declared targets in a layout the readers accept (a Word text dump, the
.docx itself, canonical tables as .csv or .xlsx; split 指标性质|指标值|度量单位 columns, 指标方向,
分值, amounts in 万元, level-1 labels with points or in traditional characters …), its actuals and
execution, and `expected.yaml`: per project the points of every indicator (by seq, `null` when it
cannot be scored), the execution points, the total, the grade and the findings, each worked out by
hand from docs/scoring.md (the arithmetic is the YAML comment of the row), and the department total.

Both scorers must reproduce every number exactly (|Δ| ≤ 1e-9) and every finding, as a multiset
of `CODE@seq` (or `CODE` for a project-level finding): the pipeline (`selfeval.score`) and the
plain-Python reference (`selfeval.reference.reference_score`), on the same frames read by
`selfeval.ingest`. Where the engine is believed wrong, the YAML keeps the hand-computed value and
names the case under `xfail` (strict), per project and scorer.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

import selfeval
from selfeval.declaration import Declaration
from selfeval.errors import InputWarning
from selfeval.ingest import read_actuals, read_declared, read_execution
from selfeval.reference import reference_score
from selfeval.rules.loader import load_rules

CORPUS = Path(__file__).resolve().parent / "fixtures" / "real_layouts"
RULES = "mof-2020"
EXACT = 1e-9
SCORERS = ("pipeline", "reference")
TABLES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.yaml").is_file())


# ------------------------------------------------------------------ inputs and expectations


@cache
def expected(table: str) -> dict[str, Any]:
    spec = yaml.safe_load((CORPUS / table / "expected.yaml").read_text(encoding="utf-8"))
    spec["projects"] = {str(code): project for code, project in spec["projects"].items()}
    return spec


@cache
def inputs(table: str) -> tuple[Declaration, pl.DataFrame, pl.DataFrame]:
    """The declaration, actuals and execution as the readers give them (their InputWarnings about
    columns they do not read — 指标属性, 执行率 … — are expected in real tables and not checked here)."""
    spec, folder = expected(table), CORPUS / table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        declared = read_declared(folder / spec["declared"], year=spec.get("year"))
        actuals = read_actuals(folder / spec["actuals"])
        execution = read_execution(folder / spec["execution"])
    return declared, actuals, execution


@dataclass(frozen=True)
class Outcome:
    """One scorer's results for one unit, keyed like expected.yaml."""

    points: dict[str, dict[int, float | None]]  # project → seq → points
    budget: dict[str, float | None]  # the declared budget, in 元
    execution: dict[str, float | None]
    total: dict[str, float | None]
    grade: dict[str, str | None]
    findings: dict[str | None, Counter[str]]  # project (None: not tied to one) → CODE@seq multiset
    unit_code: str
    unit_total: float | None
    unit_grade: str | None


def _finding(code: str, seq: int | None) -> str:
    return code if seq is None else f"{code}@{seq}"


@cache
def outcome(table: str, scorer: str) -> Outcome:
    declared, actuals, execution = inputs(table)
    points: dict[str, dict[int, float | None]] = {}
    findings: dict[str | None, Counter[str]] = {}
    if scorer == "pipeline":
        result = selfeval.score(declared, actuals, execution, rules=RULES)
        for project, seq, value in result.indicator_scores.select("project_code", "seq", "points").iter_rows():
            points.setdefault(project, {})[seq] = value
        projects = {row["project_code"]: row for row in result.project_scores.iter_rows(named=True)}
        for code, project, seq in result.findings.select("code", "project_code", "seq").iter_rows():
            findings.setdefault(project, Counter())[_finding(code, seq)] += 1
        (unit,) = result.unit_scores.iter_rows(named=True)
        return Outcome(
            points=points,
            budget={p: row["budget"] for p, row in projects.items()},
            execution={p: row["execution_points"] for p, row in projects.items()},
            total={p: row["total"] for p, row in projects.items()},
            grade={p: row["grade"] for p, row in projects.items()},
            findings=findings, unit_code=unit["unit_code"], unit_total=unit["total"], unit_grade=unit["grade"],
        )
    ref = reference_score(declared, actuals, execution, load_rules(RULES))
    for (_, project, seq), row in ref.indicators.items():
        points.setdefault(project, {})[seq] = row["points"]
    for code, _, project, seq in ref.findings:
        findings.setdefault(project, Counter())[_finding(code, seq)] += 1
    ((unit_code, unit),) = ref.units.items()
    return Outcome(
        points=points,
        budget={p: row["budget"] for (_, p), row in ref.projects.items()},
        execution={p: row["execution_points"] for (_, p), row in ref.projects.items()},
        total={p: row["total"] for (_, p), row in ref.projects.items()},
        grade={p: row["grade"] for (_, p), row in ref.projects.items()},
        findings=findings, unit_code=unit_code, unit_total=unit["total"], unit_grade=unit["grade"],
    )


def _same(got: float | None, want: float | None) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return abs(got - want) <= EXACT


def _xfail(reasons: dict[str, str] | None, scorer: str) -> list[pytest.MarkDecorator]:
    reason = (reasons or {}).get(scorer)
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


# ------------------------------------------------------------------ parameters

PROJECT_CASES = [
    pytest.param(table, project, scorer, id=f"{table}/{project}/{scorer}",
                 marks=_xfail(spec.get("xfail"), scorer))
    for table in TABLES
    for project, spec in expected(table)["projects"].items()
    for scorer in SCORERS
]
UNIT_CASES = [
    pytest.param(table, scorer, id=f"{table}/{scorer}", marks=_xfail(expected(table)["unit"].get("xfail"), scorer))
    for table in TABLES
    for scorer in SCORERS
]
TABLE_CASES = [pytest.param(table, scorer, id=f"{table}/{scorer}") for table in TABLES for scorer in SCORERS]


# ------------------------------------------------------------------ tests


def test_corpus_size() -> None:
    """It should hold at least 12 hand-scored tables."""
    assert len(TABLES) >= 12, TABLES


@pytest.mark.parametrize(("table", "scorer"), TABLE_CASES)
def test_expectations_cover_every_declared_row(table: str, scorer: str) -> None:
    """It should have an expected value for every project and indicator scored, and no finding outside a project."""
    spec, got = expected(table), outcome(table, scorer)
    assert sorted(got.points) == sorted(spec["projects"])
    for project, want in spec["projects"].items():
        assert sorted(got.points[project]) == sorted(want["indicators"]), project
    assert not got.findings.get(None), f"findings not tied to a project: {got.findings.get(None)}"


@pytest.mark.parametrize(("table", "project", "scorer"), PROJECT_CASES)
def test_project_reproduces_hand_computation(table: str, project: str, scorer: str) -> None:
    """It should reproduce every indicator's points, the execution points, total, grade and findings
    (and the declared budget in 元 where the table writes it in 万元)."""
    want, got = expected(table)["projects"][project], outcome(table, scorer)
    wrong: list[str] = []
    for seq, points in sorted(want["indicators"].items()):
        value = got.points[project].get(seq)
        if not _same(value, points):
            wrong.append(f"seq {seq}: got {value}, hand-computed {points}")
    checked = [("execution", got.execution[project]), ("total", got.total[project])]
    if "budget" in want:  # amounts written in 万元 are stored in 元
        checked.append(("budget", got.budget[project]))
    for name, value in checked:
        if not _same(value, want[name]):
            wrong.append(f"{name}: got {value}, hand-computed {want[name]}")
    if got.grade[project] != want["grade"]:
        wrong.append(f"grade: got {got.grade[project]}, hand-computed {want['grade']}")
    found, hand = got.findings.get(project, Counter()), Counter(want["findings"])
    if found != hand:
        wrong.append(f"findings: got {sorted(found.elements())}, hand-computed {sorted(hand.elements())}")
    assert not wrong, f"{scorer} disagrees with {table} project {project}:\n  " + "\n  ".join(wrong)


@pytest.mark.parametrize(("table", "scorer"), UNIT_CASES)
def test_department_total(table: str, scorer: str) -> None:
    """It should reproduce the budget-weighted department total and grade."""
    want, got = expected(table)["unit"], outcome(table, scorer)
    assert got.unit_code == str(want["code"])
    assert _same(got.unit_total, want["total"]), (got.unit_total, want["total"])
    assert got.unit_grade == want["grade"]
