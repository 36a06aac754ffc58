"""The one scoring path: prepare → check → score → rollup → findings.

`checked_inputs` runs the parameter-free stages once (prepare, check, execution check);
`score_scenario` runs the parameterised ones (score, rollup, findings) for one set of numeric
parameters. `selfeval.score`, `selfeval.bulk` and `selfeval.whatif` are thin drivers over these
two functions; no stage is implemented anywhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from selfeval import schema
from selfeval.background import mapped_in_order, started
from selfeval.check import Checked, check
from selfeval.checkpoints import DECLARED_PLANS, SPENT_COLUMNS
from selfeval.declaration import Declaration
from selfeval.engine import collect_all
from selfeval.findings import concat_findings, detect
from selfeval.ingest.prepare import Prepared, prepare
from selfeval.rollup import (
    GROUP_WEIGHTS, check_execution, indicator_sums, project_scores, project_totals, score_execution, stacked_key, unit_index,
    unit_scores,
)
from selfeval.rules.model import RuleSet
from selfeval.scenarios import Params
from selfeval.scoring import FLAGS, SCORING_INPUTS, indicator_detail, indicator_scores_frame, score, weigh

if TYPE_CHECKING:
    import numpy as np  # what-if only, imported when used: a single run never loads numpy


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


def checked_inputs(
    declared: Declaration, actuals: pl.DataFrame, execution: pl.DataFrame, rules: RuleSet, *, findings: bool = True
) -> CheckedInputs:
    """Prepare and check every input once (valid for every scenario sharing `rules`' structure);
    `findings=False` when no findings will be reported (what-if: see `check`)."""
    prepared = prepare(declared, actuals, execution)
    execution_checked = started(lambda: check_execution(prepared, rules), "execution")  # independent of `check`: beside it
    checked = check(prepared, rules, findings=findings)
    exec_checked, exec_keys = execution_checked.result()
    return CheckedInputs(prepared=prepared, checked=checked, execution=exec_checked, execution_key_findings=exec_keys)


def score_scenario(inputs: CheckedInputs, rules: RuleSet, params: Params | None = None) -> Frames:
    """Score, roll up and report one scenario: the four result frames."""
    params = params or Params.of(rules)
    detail = indicator_detail(inputs.checked, score(inputs.checked, rules, params))
    # the indicators' findings need nothing of the roll-up: found beside it
    indicator_findings = started(lambda: detect(detail.lazy(), "indicator", rules), "findings")
    execution = score_execution(inputs.execution.lazy(), rules, params)
    execution_df, projects_df = collect_all([execution, project_scores(detail.lazy(), execution, rules, params)])
    units = unit_scores(projects_df.lazy(), inputs.prepared.units, rules).sort("unit_code", maintain_order=True)
    findings = [
        indicator_findings.result(),
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
EXECUTION_INPUTS = ["_pid", "unit_code", "category", "budget", *(f"plan_{c}" for c in DECLARED_PLANS), "year_budget", "executed",
                    *SPENT_COLUMNS.values(), "_n_execution", "_has_execution"]


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


# Stacked project rows (projects × scenarios) rolled up at once: bounds the stacked frames.
STACK_ROWS = 2_000_000
# Scenarios weighed and summed at once (threads; each holds one scenario's project rows).
MAX_THREADS = 2
# The sums of `indicator_sums` that depend on the scenario (the others are summed once per fold).
SCENARIO_SUMS = [*schema.LEVEL1_GROUPS.values(), "_indicator_points", "_weight_sum", *GROUP_WEIGHTS.values()]


@dataclass(frozen=True)
class _Slots:
    """The folded rows of declared projects, by their project's position in the execution frame."""

    slot: np.ndarray  # position of each kept row's project
    tid: np.ndarray  # as intp: numpy gathers by it without converting it each time
    n: np.ndarray
    cell: np.ndarray  # slot × (groups + 1) + the row's level-1 group (the last: none): one bincount sums every group
    fixed: pl.DataFrame  # scenario-independent sums, one row per declared project (null: no indicator)


def _slots(folded: Folded, execution: pl.DataFrame) -> _Slots:
    import numpy as np

    rows = folded.rows
    pids = execution.get_column("_pid").to_numpy()
    size = int(max(pids.max(initial=0), rows.get_column("_pid").max() or 0)) + 1
    position = np.full(size, -1, dtype=np.int64)
    position[pids] = np.arange(len(pids))
    slot = position[rows.get_column("_pid").to_numpy()]
    keep = slot >= 0
    # the group's Enum code is its position in LEVEL1_GROUPS; no group: the last cell
    none = len(schema.LEVEL1_GROUPS)
    code = rows.get_column("level1_group").to_physical().fill_null(none).to_numpy().astype(np.int64)[keep]
    fixed = indicator_sums(rows.lazy().with_columns(pl.lit(0.0).alias("points"), pl.lit(0.0).alias("_weight")))
    fixed = execution.select("_pid").lazy().join(fixed, on="_pid", how="left", maintain_order="left")
    return _Slots(
        slot=slot[keep], tid=rows.get_column("_tid").to_numpy()[keep].astype(np.intp),
        n=rows.get_column("_n").to_numpy()[keep].astype(np.float64),
        cell=slot[keep] * (len(schema.LEVEL1_GROUPS) + 1) + code,
        fixed=fixed.drop(SCENARIO_SUMS).collect(engine="in-memory"),
    )


def _scenario_sums(slots: _Slots, weighed: pl.DataFrame) -> pl.DataFrame:
    """`indicator_sums`' scenario-dependent sums of one scenario, one row per declared project.

    Each folded row stands for `_n` indicators of one (weight shape, fraction): its points are the
    tuple's, gathered by `_tid`, times `_n`, summed per project slot.
    """
    import numpy as np

    size, cells = slots.fixed.height, len(schema.LEVEL1_GROUPS) + 1
    points = weighed.get_column("points").fill_null(0.0).to_numpy()[slots.tid] * slots.n
    weights = weighed.get_column("_weight").fill_null(0.0).to_numpy()[slots.tid] * slots.n
    # a (project, group) cell adds its rows in row order, as a bincount per group would
    # transposed once, so each group's column is contiguous (Polars takes it without copying element by element)
    by_group = np.bincount(slots.cell, weights=points, minlength=size * cells).reshape(size, cells).T.copy()
    weight_by_group = np.bincount(slots.cell, weights=weights, minlength=size * cells).reshape(size, cells).T.copy()
    sums = {col: by_group[g] for g, col in enumerate(schema.LEVEL1_GROUPS.values())}
    sums["_indicator_points"] = np.bincount(slots.slot, weights=points, minlength=size)
    sums["_weight_sum"] = np.bincount(slots.slot, weights=weights, minlength=size)
    sums.update({col: weight_by_group[g] for g, col in enumerate(GROUP_WEIGHTS.values())})  # read by `department: parts`
    none = slots.fixed.get_column("_indicators").is_null()
    frame = pl.DataFrame(sums)
    return frame.with_columns(pl.when(none).then(None).otherwise(pl.all()).name.keep()) if none.any() else frame


def stacked_totals(
    inputs: CheckedInputs, scenarios: dict[str, RuleSet], folded: dict[tuple[float, ...], Folded]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(project_scores, unit_scores) of scenarios sharing one structure (`inputs` checked under it),
    stacked: `_s` is the scenario's position in `scenarios`, each block in declared order.

    The rules are the pipeline's: each scenario weighs its distinct (weight shape, fraction) tuples
    (`weigh`), the tuples' points are summed per project, and the projects of many scenarios are
    rolled up at once by `project_totals` and `unit_scores`. Project rows carry `_pid` instead of
    codes and names; `folded` is filled per `fraction_key`.
    """
    execution = inputs.execution.select(EXECUTION_INPUTS).join(
        unit_index(inputs.prepared.units), on="unit_code", how="left", maintain_order="left"
    )
    names = list(scenarios)
    structure = scenarios[names[0]]
    per_chunk = max(1, STACK_ROWS // max(1, execution.height))
    uid = execution.get_column("_uid")
    by_unit = not uid.null_count() and uid.is_sorted()  # then the stacked rows list units in ascending `stacked_key`
    slots: dict[tuple[float, ...], _Slots] = {}
    scored_execution: dict[tuple[float, ...], pl.DataFrame] = {}
    project_parts: list[pl.DataFrame] = []
    unit_parts: list[pl.DataFrame] = []
    public = [c for c in schema.PROJECT_SCORES.names() if c not in ("project_code", "project_name")]

    def block(item: tuple[int, RuleSet, Params, tuple[float, ...]]) -> pl.DataFrame:
        """One scenario's project rows: execution scored, its tuples weighed and summed per project."""
        s, rules, params, key = item
        weighed = weigh(folded[key].tuples.lazy(), rules, params).select("_weight", "points").collect(engine="in-memory")
        return pl.concat(
            [scored_execution[_execution_key(params)], slots[key].fixed.drop("_pid"), _scenario_sums(slots[key], weighed)],
            how="horizontal",
        ).with_columns(pl.lit(s, dtype=pl.UInt32).alias("_s"), pl.lit(params.total_points).alias("_total_points"))

    for start in range(0, len(names), per_chunk):
        chunk = []
        for s, name in enumerate(names[start:start + per_chunk], start=start):
            # what scenarios share is made once, before they are weighed side by side
            rules = scenarios[name]
            params = Params.of(rules)
            key = fraction_key(rules, params)
            if key not in folded:
                folded[key] = folded_rows(inputs, rules, params)
            if key not in slots:
                slots[key] = _slots(folded[key], execution)
            exec_key = _execution_key(params)
            if exec_key not in scored_execution:
                scored_execution[exec_key] = score_execution(execution.lazy(), rules, params).collect(engine="in-memory")
            chunk.append((s, rules, params, key))

        # numpy and Polars release the GIL: scenarios are weighed and summed on every core
        stacked = [frame for _, frame in mapped_in_order(block, iter(chunk), min(MAX_THREADS, os.cpu_count() or 1))]
        # grades, rounding and department mode are structural: equal for every scenario here
        rolled = project_totals(pl.concat(stacked, how="vertical").lazy(), structure, Params.of(structure), by=["_s"])
        # the projects are rolled up first and the units from them (one plan for both computed them twice)
        p_df = rolled.select("_s", *public, "_pid", "_uid", *GROUP_WEIGHTS.values()).collect(engine="in-memory")
        keyed = p_df.lazy().with_columns(stacked_key(inputs.prepared.units).set_sorted()) if by_unit else p_df.lazy()
        rolled_units = unit_scores(keyed, inputs.prepared.units, structure, by=["_s"])
        if not by_unit:  # keyed by `_k` they come back by scenario and unit code; otherwise in declared order
            rolled_units = rolled_units.sort("_s", "unit_code", maintain_order=True)
        project_parts.append(p_df.drop("_uid", *GROUP_WEIGHTS.values()))
        unit_parts.append(rolled_units.collect(engine="in-memory"))
    return pl.concat(project_parts, how="vertical"), pl.concat(unit_parts, how="vertical")


def _execution_key(params: Params) -> tuple[float, float, float]:
    """The parameters a project's execution points depend on (scenarios equal here share them)."""
    return (params.execution_weight, params.schedule_points, params.schedule_tolerance)


def fraction_key(rules: RuleSet, params: Params) -> tuple[float, ...]:
    """The parameters an indicator's fraction earned depends on (scenarios equal here share `folded_rows`)."""
    shapes_points = rules.overshoot.effective_mode in ("deduct", "cap")
    return (params.late_penalty, params.overshoot_threshold if shapes_points else 0.0)


def run(declared: Declaration, actuals: pl.DataFrame, execution: pl.DataFrame, rules: RuleSet) -> Frames:
    """One scoring run under `rules`."""
    return score_scenario(checked_inputs(declared, actuals, execution, rules), rules)


__all__ = [
    "CheckedInputs", "Folded", "Frames", "checked_inputs", "folded_rows", "fraction_key", "run", "score_scenario", "stacked_totals",
]
