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
from selfeval.expressions import clean_text, join_by_runs, run_starts

PROJECT_KEYS = ["unit_code", "project_code"]
# seq is an Int32: shifting the project id by 32 bits keeps every (project, seq) distinct;
# a null seq gets a value no Int32 can take.
_SEQ_SHIFT = 2**32
_NULL_SEQ = 2**31


def indicator_key(pid: pl.Expr, seq: pl.Expr) -> pl.Expr:
    return (pid.cast(pl.Int64) * _SEQ_SHIFT + seq.cast(pl.Int64).fill_null(_NULL_SEQ)).alias("_ik")


def flag_sorted(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """`frame` with each of `columns` that is in ascending order flagged so: joins and group-bys on
    a flagged key merge runs instead of hashing (a filled template lists indicators in order)."""
    flagged = [c for c in columns if not frame.get_column(c).null_count() and frame.get_column(c).is_sorted()]
    return frame.with_columns(pl.col(c).set_sorted() for c in flagged) if flagged else frame


@dataclass(frozen=True)
class Prepared:
    """The inputs of one scoring run, cleaned and keyed (frames declared in `schema`)."""

    units: pl.DataFrame  # UNITS, first row per unit_code
    projects: pl.DataFrame  # PROJECTS + `_pid`, declared order
    indicators: pl.DataFrame  # INDICATORS + `_order`, `_pid`, `year`, `_ik`
    actuals: pl.DataFrame  # PREPARED_ACTUALS
    execution: pl.DataFrame  # PREPARED_EXECUTION


def project_key_table(declared: Declaration) -> pl.DataFrame:
    """(unit_code, project_code, _pid, year) for every project declared or named by an indicator."""
    named = declared.indicators.select(PROJECT_KEYS).filter(run_starts(PROJECT_KEYS))  # one row per run
    pairs = pl.concat([declared.projects.select(PROJECT_KEYS), named], how="vertical_relaxed")
    years = schema.conform(declared.units, schema.UNITS).select("unit_code", "year").unique("unit_code", keep="first")
    return (
        pairs.unique(maintain_order=True).with_row_index("_pid")
        .join(years, on="unit_code", how="left", maintain_order="left")
    )


def with_project_key(frame: pl.DataFrame, keys: pl.DataFrame, *, year: bool = False) -> pl.DataFrame:
    """`frame` with `_pid` (and the unit's `year`) of its (unit_code, project_code).

    Rows of one project usually follow each other, so the codes are looked up once per run of
    equal codes, not once per row.
    """
    if not frame.height:
        return frame.with_columns(pl.lit(None, dtype=pl.UInt32).alias("_pid"),
                                  *([pl.lit(None, dtype=pl.Int32).alias("year")] if year else []))
    wanted = ["_pid", "year"] if year else ["_pid"]
    return join_by_runs(frame, keys.select(*PROJECT_KEYS, *wanted), PROJECT_KEYS)


def _owner_of_code(keys: pl.DataFrame) -> pl.DataFrame:
    """project_code → unit_code of the first declared project with that code."""
    return keys.unique("project_code", keep="first", maintain_order=True).select(
        "project_code", pl.col("unit_code").alias("_declared_unit")
    )


def _with_declared_unit(frame: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """A null unit_code takes the unit of the declared project with the row's project_code."""
    if not frame.height or not frame.get_column("unit_code").null_count():
        return frame
    return (
        frame.join(_owner_of_code(keys), on="project_code", how="left", maintain_order="left")
        .with_columns(pl.coalesce("unit_code", "_declared_unit").alias("unit_code"))
        .drop("_declared_unit")
    )


def prepare_indicators(indicators: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """Declared indicators in document order (`_order`), level2/target text cleaned, keyed, with the unit's year."""
    frame = schema.conform(indicators, schema.INDICATORS).with_row_index("_order").with_columns(
        clean_text(pl.col("target_text")).alias("target_text"),
        clean_text(pl.col("level2")).alias("level2"),
    )
    frame = with_project_key(frame, keys, year=True)
    return flag_sorted(frame.with_columns(indicator_key(pl.col("_pid"), pl.col("seq"))), "_pid", "_ik")


def prepare_actuals(actuals: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """Actual rows as read (`_row`), texts cleaned, keyed; rows of undeclared projects keep a null key."""
    text_columns = ("unit_code", "project_code", "level3", "actual_text", "deviation_reason", "tier")
    frame = schema.conform(actuals, schema.ACTUALS).with_row_index("_row").with_columns(
        clean_text(pl.col(c)) for c in text_columns
    )
    frame = with_project_key(_with_declared_unit(frame, keys), keys)
    return flag_sorted(frame.with_columns(indicator_key(pl.col("_pid"), pl.col("seq"))), "_pid", "_ik")


def prepare_execution(execution: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """Execution rows as read, codes cleaned, keyed by `_pid`."""
    frame = schema.conform(execution, schema.EXECUTION).with_columns(
        clean_text(pl.col("unit_code")), clean_text(pl.col("project_code"))
    )
    return flag_sorted(with_project_key(_with_declared_unit(frame, keys), keys), "_pid")


def prepare(declared: Declaration, actuals: pl.DataFrame, execution: pl.DataFrame) -> Prepared:
    """Every input of a run cast to its schema, cleaned and keyed, once.

    The tables are prepared side by side (threads: Polars releases the GIL, and most of these
    column passes use one core each).
    """
    from concurrent.futures import ThreadPoolExecutor

    keys = project_key_table(declared)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="selfeval-prepare") as pool:
        indicators = pool.submit(prepare_indicators, declared.indicators, keys)
        prepared_actuals = pool.submit(prepare_actuals, actuals, keys)
        projects = with_project_key(schema.conform(declared.projects, schema.PROJECTS), keys)
        prepared_execution = prepare_execution(execution, keys)
        return Prepared(
            units=schema.conform(declared.units, schema.UNITS),
            projects=projects,
            indicators=indicators.result(),
            actuals=prepared_actuals.result(),
            execution=prepared_execution,
        )


__all__ = ["PROJECT_KEYS", "Prepared", "indicator_key", "prepare", "project_key_table"]
