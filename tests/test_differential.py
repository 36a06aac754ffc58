"""Differential property test: the vectorized pipeline against the plain-Python reference.

On random declarations, actuals, execution and rule sets (tests/strategies.py) both must agree to
the cent on every indicator's status and points, every project's total/complete/grade/execution
points, every unit's total/grade and the multiset of findings (code, unit, project, seq).
Before the scorers are compared, the two value grammars are compared on every text of the case,
so a parsing disagreement is reported as such and not as a scoring one.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import ScoringCase, scoring_cases

import selfeval
from selfeval.grammar import parse_values
from selfeval.grammar_reference import parse_text
from selfeval.reference import ReferenceResult, reference_score
from selfeval.result import Result

pytestmark = pytest.mark.slow

PARSED_FIELDS = ("op", "value", "value_hi", "deadline", "unit", "dimension")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b


def grammar_disagreements(case: ScoringCase) -> list[str]:
    """Texts of the case that the vectorized grammar and grammar_reference parse differently."""
    years = dict(zip(case.declaration.units["unit_code"], case.declaration.units["year"], strict=True))
    texts: set[tuple[str, int | None]] = set()
    for row in case.declaration.indicators.select("unit_code", "target_text").iter_rows():
        if row[1] is not None:
            texts.add((row[1], years.get(row[0])))
    for row in case.actuals.select("unit_code", "project_code", "actual_text").iter_rows():
        if row[2] is not None:
            texts.update((row[2], y) for y in set(years.values()))
    out = []
    by_year: dict[int | None, list[str]] = {}
    for text, year in sorted(texts, key=str):
        by_year.setdefault(year, []).append(text.strip())
    for year, batch in by_year.items():
        for text, fast in zip(batch, parse_values(batch, year=year).to_dicts(), strict=True):
            out.extend(_compare_parse(text, year, fast, parse_text(text, year=year)))
    return out


def _compare_parse(text: str, year: int | None, fast: dict[str, Any], slow: dict[str, Any]) -> list[str]:
    diff = {f: (fast.get(f), slow.get(f)) for f in PARSED_FIELDS if not _same(fast.get(f), slow.get(f))}
    if (fast.get("error") is None) != (slow.get("error") is None):
        diff["error"] = (fast.get("error"), slow.get("error"))
    return [f"grammar: {text!r} (year {year}): grammar vs grammar_reference {diff}"] if diff else []


def _key(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, value)


def scoring_disagreements(result: Result, ref: ReferenceResult) -> list[str]:
    """Every difference between the pipeline's result frames and the reference's dicts."""
    out: list[str] = []
    ind = result.indicator_scores
    if ind.height != len(ref.indicators):
        out.append(f"indicator rows: pipeline {ind.height}, reference {len(ref.indicators)}")
    for row in ind.select("unit_code", "project_code", "seq", "status", "points").iter_rows(named=True):
        key = (row["unit_code"], row["project_code"], row["seq"])
        want = ref.indicators.get(key)
        if want is None:
            out.append(f"indicator {key}: not in reference")
        elif (row["status"], row["points"]) != (want["status"], want["points"]):
            out.append(f"indicator {key}: pipeline {row['status']}/{row['points']}, "
                       f"reference {want['status']}/{want['points']} ({want})")
    cols = ("total", "complete", "grade", "execution_points")
    proj = result.project_scores
    if proj.height != len(ref.projects):
        out.append(f"project rows: pipeline {proj.height}, reference {len(ref.projects)}")
    for row in proj.select("unit_code", "project_code", *cols).iter_rows(named=True):
        key = (row["unit_code"], row["project_code"])
        want = ref.projects.get(key)
        if want is None:
            out.append(f"project {key}: not in reference")
            continue
        got, exp = tuple(row[c] for c in cols), tuple(want[c] for c in cols)
        if got != exp:
            out.append(f"project {key} {cols}: pipeline {got}, reference {exp}")
    for row in result.unit_scores.select("unit_code", "total", "grade").iter_rows(named=True):
        want = ref.units.get(row["unit_code"])
        if want is None:
            out.append(f"unit {row['unit_code']}: not in reference")
        elif (row["total"], row["grade"]) != (want["total"], want["grade"]):
            out.append(f"unit {row['unit_code']}: pipeline {row['total']}/{row['grade']}, "
                       f"reference {want['total']}/{want['grade']}")
    got_f = Counter(result.findings.select("code", "unit_code", "project_code", "seq").iter_rows())
    want_f = Counter(ref.findings)
    for f in sorted((got_f - want_f).elements(), key=lambda t: tuple(map(_key, t))):
        out.append(f"finding only in pipeline: {f}")
    for f in sorted((want_f - got_f).elements(), key=lambda t: tuple(map(_key, t))):
        out.append(f"finding only in reference: {f}")
    return out


def describe(case: ScoringCase) -> str:
    """The case as text, for a failing example's report."""
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250, fmt_str_lengths=40):
        return "\n".join([
            f"rules: {case.rules.model_dump(exclude={'title', 'description', 'qualitative'})}",
            f"units:\n{case.declaration.units}",
            f"projects:\n{case.declaration.projects.select('unit_code', 'project_code', 'budget', 'plan_mar', 'plan_jun', 'plan_oct')}",
            f"indicators:\n{case.declaration.indicators.select('unit_code', 'project_code', 'seq', 'level1', 'level2', 'level3', 'target_text', 'weight')}",
            f"actuals:\n{case.actuals}",
            f"execution:\n{case.execution}",
        ])


def check(case: ScoringCase) -> None:
    problems = grammar_disagreements(case)
    if not problems:
        result = selfeval.score(case.declaration, case.actuals, case.execution, case.rules)
        ref = reference_score(case.declaration, case.actuals, case.execution, case.rules)
        problems = scoring_disagreements(result, ref)
    assert not problems, "\n".join([*problems, describe(case)])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scoring_cases())
def test_pipeline_matches_reference(case: ScoringCase) -> None:
    """It should agree with the reference on every status, point, total, grade and finding."""
    check(case)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scoring_cases(max_units=1, max_projects=2, max_indicators=3))
def test_pipeline_matches_reference_small(case: ScoringCase) -> None:
    """It should agree on small cases too (where a failure shrinks to something readable)."""
    check(case)


SHIPPED = ("mof-2020", "per-level2", "strict-overshoot", "sichuan-2023", "anhui-2022", "hubei-2020", "hunan-2019",
           "neimenggu-2022")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scoring_cases(max_units=2, max_projects=3, max_indicators=8), st.sampled_from(SHIPPED))
def test_pipeline_matches_reference_on_shipped_profiles(case: ScoringCase, profile: str) -> None:
    """It should agree with the reference under every shipped rule profile (issue 13)."""
    from dataclasses import replace

    from selfeval.rules.loader import load_rules

    check(replace(case, rules=load_rules(profile)))
