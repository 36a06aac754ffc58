"""Rule parameters as columns, so several rule scenarios score in one vectorized pass.

A rule set splits into *structural* parts (aliases, split mode, curves, tiers, grades, rounding,
department mode) and *numeric parameters* (weights, overshoot threshold, late penalty, schedule
tolerance and points, total points). Scenarios that share the structural parts are scored together:
their numeric parameters become columns of a small frame cross-joined into the pipeline.
"""

from __future__ import annotations

import json

import polars as pl

from selfeval.rules.model import EXECUTION_KEY, RuleSet

SCENARIO = "scenario"

# column → (getter of the value from a RuleSet, dotted field path used by sweeps)
PARAMS: dict[str, tuple[str, ...]] = {
    "_w_产出指标": ("weights", "产出指标"),
    "_w_效益指标": ("weights", "效益指标"),
    "_w_满意度指标": ("weights", "满意度指标"),
    "_w_execution": ("weights", EXECUTION_KEY),
    "_overshoot_threshold": ("overshoot", "threshold"),
    "_late_penalty": ("deadline", "late_penalty_per_month"),
    "_schedule_tolerance": ("execution", "schedule", "tolerance"),
    "_schedule_points": ("execution", "schedule", "points_per_checkpoint"),
    "_total_points": ("total_points",),
}


def _get(data: dict, path: tuple[str, ...]) -> float:
    for key in path:
        data = data[key]
    return float(data)  # type: ignore[arg-type]


def scenario_params(scenarios: dict[str, RuleSet]) -> pl.DataFrame:
    """One row per scenario: its name and every numeric parameter as a column."""
    rows = []
    for name, rules in scenarios.items():
        dumped = rules.model_dump()
        rows.append({SCENARIO: name, **{col: _get(dumped, path) for col, path in PARAMS.items()}})
    return pl.DataFrame(rows, schema={SCENARIO: pl.String, **{c: pl.Float64 for c in PARAMS}})


def structural_key(rules: RuleSet) -> str:
    """A key equal for rule sets that differ only in numeric parameters."""
    dumped = rules.model_dump(exclude={"name", "title", "description"})
    for path in PARAMS.values():
        node = dumped
        for key in path[:-1]:
            node = node[key]
        node.pop(path[-1], None)
    return json.dumps(dumped, sort_keys=True, ensure_ascii=False, default=str)


def group_by_structure(scenarios: dict[str, RuleSet]) -> list[dict[str, RuleSet]]:
    """Scenarios grouped so each group shares one structure (order kept)."""
    groups: dict[str, dict[str, RuleSet]] = {}
    for name, rules in scenarios.items():
        groups.setdefault(structural_key(rules), {})[name] = rules
    return list(groups.values())
