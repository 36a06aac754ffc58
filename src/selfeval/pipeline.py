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
from selfeval.scoring import FLAGS, SCORING_INPUTS, indicator_detail, indicator_scores_frame, score, weigh


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
    detail = indicator_detail(inputs.checked, score(inputs.checked, rules, params))
    execution = score_execution(inputs.execution.lazy(), rules, params)
    execution_df, projects_df = collect_all([execution, project_scores(detail.lazy(), execution, rules, params)])
    units = unit_scores(projects_df.lazy(), inputs.prepared.units, rules).sort("unit_code", maintain_order=True)
    findings = [
        detect(detail.lazy(), "indicator", rules),
        detect(execution_df.lazy(), "execution", rules),
        detect(projects_df.lazy(), "project", rules),
    ]
    units_df, *found = collect_all([units, *findings])
    return Frames(
        indicator_scores=indicator_scores_frame(detail),
        project_scores=projects_df.select(schema.PROJECT_SCORES.names()),
        unit_scores=units_df,
        findings=concat_findings([*found, inputs.checked.key_findings, inputs.execution_key_findings]),
    )


@dataclass(frozen=True)
class Folded:
    """Indicator rows folded for many scenarios: `rows` has one row per project and distinct
    (weight shape, fraction earned) — `_tid`, a row of `tuples` — standing for `_n` indicators."""

    rows: pl.DataFrame
    tuples: pl.DataFrame


TUPLE_KEYS = ["level1_group", "weight", "_explicit", *FLAGS, "_divisor", "_problem", "_fraction", "target_op", "fraction",
              "_given_points"]
# What the what-if keeps of a project (names are attached once, not per scenario).
EXECUTION_INPUTS = ["_pid", "unit_code", "budget", "plan_mar", "plan_jun", "plan_oct", "year_budget", "executed",
                    "executed_by_mar", "executed_by_jun", "executed_by_oct", "_n_execution", "_has_execution"]


def folded_rows(inputs: CheckedInputs, rules: RuleSet, params: Params) -> Folded:
    """Indicator rows folded by (project, weight shape, fraction earned). Valid for every scenario
    that shares `params`' `fraction_key`: the other parameters act only through the weight."""
    scored = score(inputs.checked, rules, params, columns=SCORING_INPUTS)
    tuples = scored.select(TUPLE_KEYS).unique().with_row_index("_tid")
    rows = (
        scored.join(tuples, on=TUPLE_KEYS, how="left", nulls_equal=True)
        .group_by("_pid", "_tid").agg(pl.len().alias("_n"))
    )
    static = ["level1_group", "_explicit", "status", "weight"]
    status = tuples.select(pl.when(pl.col("_problem").is_null()).then(pl.lit("scored")).otherwise(pl.lit("unscorable")))
    table = tuples.with_columns(status.to_series().alias("status"))
    # categories as Enums: the per-scenario roll-up compares them as small integers
    enums = {"level1_group": pl.Enum(list(schema.LEVEL1_GROUPS)), "status": pl.Enum(["scored", "unscorable"])}
    rows = rows.with_columns(
        table.get_column(c).gather(rows.get_column("_tid")).cast(enums.get(c, table.schema[c])) for c in static
    )
    # sorted by project, the per-scenario group-by over projects runs on slices, not a hash table
    return Folded(rows=rows.sort("_pid").with_columns(pl.col("_pid").set_sorted()), tuples=tuples)


def score_totals(
    inputs: CheckedInputs, rules: RuleSet, params: Params, folded: Folded | None = None, *, names: bool = True
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(project_scores, unit_scores) of one scenario, without indicator detail or findings (what-if).

    `folded` (from `folded_rows` of a scenario with the same `fraction_key`) skips re-scoring the
    cases; each distinct (weight shape, fraction) is weighed once and gathered onto the projects.
    Without `names` the project rows carry `_pid` instead of codes and names (in declared order).
    """
    folded = folded or folded_rows(inputs, rules, params)
    weighed = weigh(folded.tuples.lazy(), rules, params).select("_weight", "points").collect(engine="in-memory")
    tid = folded.rows.get_column("_tid")
    rows = folded.rows.with_columns(weighed.get_column(c).gather(tid) for c in ("_weight", "points"))
    execution = inputs.execution if names else inputs.execution.select(EXECUTION_INPUTS)
    projects = project_scores(rows.lazy(), score_execution(execution.lazy(), rules, params), rules, params)
    public = [c for c in schema.PROJECT_SCORES.names() if names or c not in ("project_code", "project_name")]
    projects = projects.select(*public, *([] if names else ["_pid"]))
    return projects, unit_scores(projects, inputs.prepared.units, rules).sort("unit_code", maintain_order=True)


def fraction_key(rules: RuleSet, params: Params) -> tuple[float, ...]:
    """The parameters an indicator's fraction earned depends on (scenarios equal here share `folded_rows`)."""
    return (params.late_penalty, params.overshoot_threshold if rules.overshoot.deduct is not None else 0.0)


def run(declared: Declaration, actuals: pl.DataFrame, execution: pl.DataFrame, rules: RuleSet) -> Frames:
    """One scoring run under `rules`."""
    return score_scenario(checked_inputs(declared, actuals, execution, rules), rules)


__all__ = [
    "CheckedInputs", "Folded", "Frames", "checked_inputs", "folded_rows", "fraction_key", "run", "score_scenario", "score_totals",
]
