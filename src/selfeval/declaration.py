"""The declared side of a self-evaluation: what a unit promised (SPEC.md §3.2)."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from selfeval import schema


@dataclass(frozen=True)
class Declaration:
    """Canonical declared tables of one or many units, plus where they came from."""

    units: pl.DataFrame
    projects: pl.DataFrame
    indicators: pl.DataFrame
    department_goals: pl.DataFrame = field(default_factory=lambda: schema.empty(schema.DEPARTMENT_GOALS))
    sources: tuple[str, ...] = ()

    def tables(self) -> dict[str, pl.DataFrame]:
        """The four canonical tables by name."""
        return {
            "units": self.units,
            "projects": self.projects,
            "indicators": self.indicators,
            "department_goals": self.department_goals,
        }
