"""Prepare: the canonical inputs cast, cleaned and keyed once, before any scoring (stage 1 of 5).

Every later stage joins on integer keys assigned here, never on glued strings:
`_pid` numbers each declared (unit_code, project_code) and `_ik` = `_pid` · 2³² + seq numbers an
indicator. Actual and execution rows get the keys of the declared project they name (null when
they name none); a null unit_code takes the unit of the declared project with that code.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.expressions import clean_text

PROJECT_KEYS = ["unit_code", "project_code"]
# seq is an Int32: shifting the project id by 32 bits keeps every (project, seq) distinct;
# a null seq gets a value no Int32 can take.
_SEQ_SHIFT = 2**32
_NULL_SEQ = 2**31


def indicator_key(pid: pl.Expr, seq: pl.Expr) -> pl.Expr:
    return (pid.cast(pl.Int64) * _SEQ_SHIFT + seq.cast(pl.Int64).fill_null(_NULL_SEQ)).alias("_ik")


@dataclass(frozen=True)
class Prepared:
    """The inputs of one scoring run, cleaned and keyed (frames declared in `schema`)."""

    units: pl.DataFrame  # UNITS, first row per unit_code
    projects: pl.DataFrame  # PROJECTS + `_pid`, declared order
    indicators: pl.DataFrame  # PREPARED_INDICATORS
    actuals: pl.DataFrame  # PREPARED_ACTUALS
    execution: pl.DataFrame  # PREPARED_EXECUTION


def project_key_table(declared: Declaration) -> pl.DataFrame:
    """(unit_code, project_code, _pid) for every project declared or named by an indicator."""
    pairs = pl.concat(
        [declared.projects.select(PROJECT_KEYS), declared.indicators.select(PROJECT_KEYS)], how="vertical_relaxed"
    )
    return pairs.unique(maintain_order=True).with_row_index("_pid")


def _owner_of_code(keys: pl.DataFrame) -> pl.DataFrame:
    """project_code → (unit_code, _pid) of the first declared project with that code."""
    return keys.unique("project_code", keep="first", maintain_order=True).select(
        "project_code", pl.col("unit_code").alias("_declared_unit")
    )


def _keyed(frame: pl.DataFrame, keys: pl.DataFrame) -> pl.LazyFrame:
    """`frame` (unit_code, project_code cleaned) with a null unit filled from the declared project, and `_pid`."""
    lazy = frame.lazy()
    if frame.height and frame.get_column("unit_code").null_count():
        lazy = (
            lazy.join(_owner_of_code(keys).lazy(), on="project_code", how="left", maintain_order="left")
            .with_columns(pl.coalesce("unit_code", "_declared_unit").alias("unit_code"))
            .drop("_declared_unit")
        )
    return lazy.join(keys.lazy(), on=PROJECT_KEYS, how="left", maintain_order="left", nulls_equal=True)


def prepare_indicators(indicators: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """Declared indicators in document order (`_order`), level2/target text cleaned, keyed."""
    frame = schema.conform(indicators, schema.INDICATORS).with_row_index("_order")
    return (
        frame.lazy()
        .join(keys.lazy(), on=PROJECT_KEYS, how="left", maintain_order="left", nulls_equal=True)
        .with_columns(
            indicator_key(pl.col("_pid"), pl.col("seq")),
            clean_text(pl.col("target_text")).alias("target_text"),
            clean_text(pl.col("level2")).alias("level2"),
        )
        .collect(engine="in-memory")
    )


def prepare_actuals(actuals: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """Actual rows as read (`_row`), texts cleaned, keyed; rows of undeclared projects keep a null key."""
    text_columns = ("unit_code", "project_code", "level3", "actual_text", "deviation_reason", "tier")
    frame = schema.conform(actuals, schema.ACTUALS).with_row_index("_row").with_columns(
        clean_text(pl.col(c)) for c in text_columns
    )
    return _keyed(frame, keys).with_columns(indicator_key(pl.col("_pid"), pl.col("seq"))).collect(engine="in-memory")


def prepare_execution(execution: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """Execution rows as read, codes cleaned, keyed by `_pid`."""
    frame = schema.conform(execution, schema.EXECUTION).with_columns(
        clean_text(pl.col("unit_code")), clean_text(pl.col("project_code"))
    )
    return _keyed(frame, keys).collect(engine="in-memory")


def prepare(declared: Declaration, actuals: pl.DataFrame, execution: pl.DataFrame) -> Prepared:
    """Every input of a run cast to its schema, cleaned and keyed, once."""
    keys = project_key_table(declared)
    projects = (
        schema.conform(declared.projects, schema.PROJECTS)
        .join(keys, on=PROJECT_KEYS, how="left", maintain_order="left", nulls_equal=True)
    )
    return Prepared(
        units=schema.conform(declared.units, schema.UNITS),
        projects=projects,
        indicators=prepare_indicators(declared.indicators, keys),
        actuals=prepare_actuals(actuals, keys),
        execution=prepare_execution(execution, keys),
    )


__all__ = ["PROJECT_KEYS", "Prepared", "indicator_key", "prepare", "project_key_table"]
