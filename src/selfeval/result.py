"""The outcome of one scoring run: the four result frames and what produced them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from selfeval.declaration import Declaration

if TYPE_CHECKING:
    from selfeval.rules.model import RuleSet


@dataclass(frozen=True)
class InputFile:
    """An input file as recorded in 计算说明: its role, name and sha256."""

    role: str
    path: str
    sha256: str


@dataclass(frozen=True)
class Result:
    """Frames of SPEC.md §6.1 plus the declaration and rules they came from."""

    indicator_scores: pl.DataFrame
    project_scores: pl.DataFrame
    unit_scores: pl.DataFrame
    findings: pl.DataFrame
    declaration: Declaration
    rules: "RuleSet"
    inputs: tuple[InputFile, ...] = field(default=())
    # Rows read from the actuals and execution tables, for the reconciliation line.
    actual_rows: int | None = None
    execution_rows: int | None = None

    def tables(self) -> dict[str, pl.DataFrame]:
        """The four result tables by name."""
        return {
            "indicator_scores": self.indicator_scores,
            "project_scores": self.project_scores,
            "unit_scores": self.unit_scores,
            "findings": self.findings,
        }
