"""The one scoring path: prepare → check → score → rollup → findings.

`checked_inputs` runs the parameter-free stages once (prepare, check, execution check);
`score_scenario` runs the parameterised ones (score, rollup, findings) for one set of numeric
parameters. `selfeval.score`, `selfeval.bulk` and `selfeval.whatif` are thin drivers over these
two functions; no stage is implemented anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from selfeval import schema
from selfeval.check import Checked, check
from selfeval.declaration import Declaration
from selfeval.engine import collect_all
from selfeval.findings import concat_findings, detect
from selfeval.ingest.prepare import Prepared, prepare
from selfeval.rollup import check_execution, project_scores, score_execution, unit_scores
from selfeval.rules.model import RuleSet
from selfeval.scenarios import Params
from selfeval.scoring import SCORING_INPUTS, indicator_scores_frame, score


@dataclass(frozen=True)
class CheckedInputs:
    """The parameter-free part of a run: prepared inputs, checked indicators and execution."""

    prepared: Prepared
    checked: Checked
    execution: pl.DataFrame
    execution_key_findings: pl.DataFrame


@dataclass(frozen=True)
class Frames:
    """The result frames of one scenario (schemas INDICATOR_SCORES … FINDINGS)."""

    indicator_scores: pl.DataFrame
    project_scores: pl.DataFrame
    unit_scores: pl.DataFrame
    findings: pl.DataFrame


def checked_inputs(declared: Declaration, actuals: pl.DataFrame, execution: pl.DataFrame, rules: RuleSet) -> CheckedInputs:
    """Prepare and check every input once (valid for every scenario sharing `rules`' structure)."""
    prepared = prepare(declared, actuals, execution)
    exec_checked, exec_keys = check_execution(prepared, rules)
    return CheckedInputs(prepared=prepared, checked=check(prepared, rules), execution=exec_checked,
                         execution_key_findings=exec_keys)


def score_scenario(inputs: CheckedInputs, rules: RuleSet, params: Params | None = None) -> Frames:
    """Score, roll up and report one scenario: the four result frames."""
    params = params or Params.of(rules)
    scored = score(inputs.checked.indicators.lazy(), rules, params)
    execution = score_execution(inputs.execution.lazy(), rules, params)
    projects = project_scores(scored, execution, rules, params)
    scored_df, execution_df, projects_df = collect_all([scored, execution, projects])
    units = unit_scores(projects_df.lazy(), inputs.prepared.units, rules)
    findings = [
        detect(scored_df.lazy(), "indicator", rules),
        detect(execution_df.lazy(), "execution", rules),
        detect(projects_df.lazy(), "project", rules),
    ]
    indicator_df, units_df, *found = collect_all([indicator_scores_frame(scored_df.lazy()), units, *findings])
    return Frames(
        indicator_scores=indicator_df,
        project_scores=projects_df.select(schema.PROJECT_SCORES.names()),
        unit_scores=units_df.sort("unit_code", maintain_order=True),
        findings=concat_findings([*found, inputs.checked.key_findings, inputs.execution_key_findings]),
    )


def score_totals(inputs: CheckedInputs, rules: RuleSet, params: Params) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(project_scores, unit_scores) of one scenario, without indicator detail or findings (what-if)."""
    scored = score(inputs.checked.indicators.lazy().select(SCORING_INPUTS), rules, params)
    projects = project_scores(scored, score_execution(inputs.execution.lazy(), rules, params), rules, params)
    projects = projects.select(schema.PROJECT_SCORES.names())
    return projects, unit_scores(projects, inputs.prepared.units, rules)


def run(declared: Declaration, actuals: pl.DataFrame, execution: pl.DataFrame, rules: RuleSet) -> Frames:
    """One scoring run under `rules`."""
    return score_scenario(checked_inputs(declared, actuals, execution, rules), rules)


__all__ = ["CheckedInputs", "Frames", "checked_inputs", "run", "score_scenario", "score_totals"]
