"""Rule scenarios: the numeric parameters of a rule set, and scenarios grouped by structure.

A rule set splits into *structural* parts (aliases, split mode, curves, tiers, grades, rounding,
department mode), which decide how indicators are checked, and *numeric parameters* (weights,
overshoot threshold, late penalty, schedule tolerance and points, total points), which the
score and roll-up stages take as `Params`. Scenarios sharing a structure share one check stage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from selfeval.rules.model import EXECUTION_KEY, LEVEL1_GROUPS, RuleSet

SCENARIO = "scenario"

# parameter → dotted field path of the rule set (what `--sweep` names)
PARAMS: dict[str, tuple[str, ...]] = {
    "w_产出指标": ("weights", "产出指标"),
    "w_效益指标": ("weights", "效益指标"),
    "w_满意度指标": ("weights", "满意度指标"),
    "w_execution": ("weights", EXECUTION_KEY),
    "overshoot_threshold": ("overshoot", "threshold"),
    "late_penalty": ("deadline", "late_penalty_per_month"),
    "schedule_tolerance": ("execution", "schedule", "tolerance"),
    "schedule_points": ("execution", "schedule", "points_per_checkpoint"),
    "total_points": ("total_points",),
}


def _get(data: dict, path: tuple[str, ...]) -> float:
    for key in path:
        data = data[key]
    return float(data)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Params:
    """The numeric parameters of one scenario."""

    group_weights: dict[str, float]
    execution_weight: float
    overshoot_threshold: float
    late_penalty: float
    schedule_tolerance: float
    schedule_points: float
    total_points: float

    @classmethod
    def of(cls, rules: RuleSet) -> Params:
        return cls(
            group_weights={g: float(rules.weights[g]) for g in LEVEL1_GROUPS},
            execution_weight=float(rules.weights[EXECUTION_KEY]),
            overshoot_threshold=float(rules.overshoot.threshold),
            late_penalty=float(rules.deadline.late_penalty_per_month),
            schedule_tolerance=float(rules.execution.schedule.tolerance),
            schedule_points=float(rules.execution.schedule.points_per_checkpoint),
            total_points=float(rules.total_points),
        )

    def as_row(self) -> dict[str, float]:
        """The parameters by name of `PARAMS`."""
        return {
            **{f"w_{g}": w for g, w in self.group_weights.items()}, "w_execution": self.execution_weight,
            "overshoot_threshold": self.overshoot_threshold, "late_penalty": self.late_penalty,
            "schedule_tolerance": self.schedule_tolerance, "schedule_points": self.schedule_points,
            "total_points": self.total_points,
        }


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


__all__ = ["PARAMS", "Params", "SCENARIO", "group_by_structure", "structural_key"]
