"""Partitioned datasets for the Spark engine's tests: `synth` units regrouped into small unit
groups, with holes (a group without actuals, one without execution, units without either) and
rows that raise every finding kind the pipeline reports."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from selfeval.findings import CATALOGUE
from selfeval.synth import synth

# Finding kinds the scoring pipeline reports (lint and audit kinds — registered once their modules are
# imported, so present or not by test order — and the readers' notes are not its own). CATEGORY
# is raised only under `department: category` (tests/test_rule_language.py, the differential test).
PIPELINE_KINDS = sorted(k for k in CATALOGUE
                        if not k.startswith(("LINT_", "AUDIT_")) and k not in ("INPUT_NOTE", "CATEGORY"))


def write_dataset(folder: Path, tables: dict[str, pl.DataFrame], group_units: int, *,
                  missing: dict[str, set[int]] | None = None) -> Path:
    """`folder/<table>/unit_group=K/part-0.parquet`, units in groups of `group_units` in code order;
    `missing[table]` names groups written without that table."""
    codes = tables["units"].get_column("unit_code").sort()
    group_of = pl.DataFrame({"unit_code": codes, "unit_group": pl.int_range(codes.len(), eager=True) // group_units})
    project_group = tables["projects"].select("project_code", "unit_code").join(group_of, on="unit_code").drop("unit_code")
    for name, frame in tables.items():
        if name in ("actuals", "execution"):  # unit_code may be empty there: the project says
            keyed = frame.join(project_group, on="project_code", how="left").join(
                group_of.rename({"unit_group": "_by_unit"}), on="unit_code", how="left")
            keyed = keyed.with_columns(pl.coalesce("unit_group", "_by_unit", pl.lit(0)).alias("unit_group")).drop("_by_unit")
        else:
            keyed = frame.join(group_of, on="unit_code", how="left")
        for (group,), part in keyed.group_by("unit_group", maintain_order=True):
            if group in (missing or {}).get(name, set()):
                continue
            target = folder / name / f"unit_group={group}"
            target.mkdir(parents=True, exist_ok=True)
            part.drop("unit_group").write_parquet(target / "part-0.parquet")
    return folder


def with_every_finding(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The tables changed so that the pipeline reports each of PIPELINE_KINDS somewhere."""
    units = tables["units"].get_column("unit_code").sort().to_list()
    ind, act, exe = tables["indicators"], tables["actuals"], tables["execution"]
    first = lambda code: pl.col("project_code") == ind.filter(pl.col("unit_code") == code).get_column("project_code")[0]
    # UNKNOWN_LEVEL1 and LEVEL1_POINTS: a level-1 label the rules do not know, one with other points
    ind = ind.with_columns(
        pl.when(first(units[1]) & (pl.col("seq") == 1)).then(pl.lit("其他指标")).when(first(units[2]))
        .then(pl.col("level1") + pl.lit("（35分）")).otherwise(pl.col("level1")).alias("level1"),
        # WEIGHTS_SUM: written weights that do not add up
        pl.when(first(units[3])).then(pl.lit(7.0)).otherwise(pl.col("weight")).alias("weight"),
    )
    # OVERRIDE: the evaluator's own points; KEY_MISMATCH: an actual naming no declared indicator,
    # and an execution row of an undeclared project
    act = act.with_columns(pl.when(first(units[4])).then(pl.lit(1.0)).otherwise(pl.col("points")).alias("points"))
    stray = act.filter(pl.col("unit_code") == units[5]).head(1).with_columns(pl.lit(999, pl.Int32).alias("seq"))
    stray_exe = exe.filter(pl.col("unit_code") == units[5]).head(1).with_columns(
        (pl.col("project_code") + "X").alias("project_code"))
    # units with no actuals or no execution at all
    act = pl.concat([act.filter(pl.col("unit_code") != units[6]), stray])
    exe = pl.concat([exe.filter(pl.col("unit_code") != units[7]), stray_exe])
    return {**tables, "indicators": ind, "actuals": act, "execution": exe}


def synth_tables(units: int, seed: int) -> dict[str, pl.DataFrame]:
    return synth(units, seed=seed).tables()
