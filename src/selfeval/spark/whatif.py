"""`selfeval whatif --engine spark`: every scenario over a partitioned dataset in one Spark pass.

Each unit group is scored under every scenario by `whatif.scenario_scores` and compared by
`whatif.compare` (the local engine's functions, on Polars, on an executor that reads the group's
own files: `groups.py`); scenarios stay columns. Unreadable groups are skipped as locally.
Only small tables come back through Arrow (`packing.Layout`): each group's rows that move most
(at most `keep` a level — the rows the views keep are among them, so the driver picks them with
the local engine's `_largest_moves`; sent as one Arrow IPC value a level, since a row of a
hundred scenario columns costs Spark far more as columns), its row counts, migration and tallies
(summed by the local engine's `_migration`/`_summary`). The wide project/unit rows (`--tables`) are written by the
executors on a local master, else by Spark; either way into folders staged and swapped in whole.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from selfeval import schema
from selfeval.bulk import SKIPPED
from selfeval.rules.model import RuleSet
from selfeval.spark.bulk import _polars, rules_of, rules_text, write_group
from selfeval.spark.groups import Work, unit_groups
from selfeval.spark.inputs import check_dataset
from selfeval.spark.packing import GROUP, TAG, Layout

ROW = "_order"  # a row's place in its group's declared order (with the group: the local `_order`)
LEVELS = ("projects", "units")
COUNTS = pl.Schema(dict.fromkeys(LEVELS, pl.Int64))
VIEWS = pl.Schema({"level": pl.String, "rows": pl.Binary})  # a level's largest moves, Arrow IPC


def comparison_layout(names: list[str], grades: list[str], *, wide: bool) -> tuple[Layout, dict[str, pl.Schema]]:
    """(The stacked comparison of one group, each level's wide rows): the schemas are those
    `compare` gives (run on no rows); the wide rows are stacked only when Spark writes them."""
    from selfeval.whatif import SCENARIO, compare

    empty = compare(pl.DataFrame(schema={SCENARIO: pl.String, **schema.PROJECT_SCORES}),
                    pl.DataFrame(schema={SCENARIO: pl.String, **schema.UNIT_SCORES}), names, grades)
    levels = {level: pl.Schema({**getattr(empty, level).schema, ROW: pl.Int64}) for level in LEVELS}
    return Layout({
        **(levels if wide else {}), "views": VIEWS, "counts": COUNTS,
        "migration": empty.migration.schema, "tallies": empty.tallies.schema, "skipped": SKIPPED,
    }), levels


def compare_inputs(
    declaration: Any, actuals: pl.DataFrame, execution: pl.DataFrame, scenarios: list[tuple[str, str]], grades: list[str],
    keep: int, rows: str | tuple[dict[str, str], int] | None,
) -> dict[str, pl.DataFrame]:
    """Executor side: one unit group under every scenario, compared with the first. The wide rows:
    `rows` = "return" hands them back, (folders, group) writes them there, None drops them."""
    from selfeval.whatif import _largest_moves, compare, scenario_scores

    names = [name for name, _ in scenarios]
    rule_sets = {name: rules_of(text) for name, text in scenarios}
    projects_long, units_long, _ = scenario_scores(declaration, actuals, execution, rule_sets)
    found = compare(projects_long, units_long, names, grades)
    wide = {level: getattr(found, level).with_row_index(ROW) for level in LEVELS}
    views = {level: _ipc(_largest_moves(frame, names, keep).sort(ROW)) for level, frame in wide.items()}
    frames = {"views": pl.DataFrame({"level": list(views), "rows": list(views.values())}, schema=VIEWS),
              "counts": pl.DataFrame([[frame.height] for frame in wide.values()], schema=COUNTS),
              "migration": found.migration, "tallies": found.tallies}
    if rows == "return":
        frames.update(wide)
    elif rows is not None:
        folders, group = rows
        write_group(folders, group, {level: frame.drop(ROW) for level, frame in wide.items()})
    return frames


def _ipc(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc(buffer)
    return buffer.getvalue()


def group_work(scenarios: Mapping[str, RuleSet], grades: list[str], keep: int, rows: str | dict[str, str] | None) -> Work:
    """The comparison Spark runs per unit group (pickled with every scenario's YAML)."""
    shipped = [(name, rules_text(rules)) for name, rules in scenarios.items()]

    def work(group: int, declaration: Any, actuals: pl.DataFrame, execution: pl.DataFrame) -> dict[str, pl.DataFrame]:
        where = (rows, group) if isinstance(rows, dict) else rows
        return compare_inputs(declaration, actuals, execution, shipped, grades, keep, where)

    return work


def _small(results: Any, layout: Layout) -> dict[str, pl.DataFrame]:
    """Every table but the wide rows, collected in one job, rows in (group, declared) order."""
    from pyspark.sql import functions as F

    wanted = [layout.index(name) for name in layout.tables if name not in LEVELS]
    stacked = _polars(results.filter(F.col(TAG).isin(wanted))).sort(GROUP, nulls_last=True, maintain_order=True)
    return layout.unpack(stacked)


def _view(views: pl.DataFrame, target: pl.Schema, level: str, names: list[str], keep: int) -> pl.DataFrame:
    """At most `keep` rows of a level, those whose total moves most (ties: declared order), in
    declared order: the local engine's `_largest_moves` over every group's own largest moves."""
    from selfeval.whatif import _largest_moves

    parts = [pl.read_ipc(io.BytesIO(data)) for data in views.filter(pl.col("level") == level).get_column("rows")]
    tops = pl.concat(parts, how="vertical") if parts else schema.empty(target)
    rows = _largest_moves(tops.drop(ROW).with_row_index(ROW), names, keep).sort(ROW).drop(ROW)
    return schema.conform(rows, pl.Schema({c: t for c, t in target.items() if c != ROW}))


def _write_wide(results: Any, layout: Layout, stages: Mapping[str, Any]) -> None:
    """The wide rows written by Spark into each level's staging folder, partitioned by unit group."""
    for level, stage in stages.items():
        frame = layout.spark_table(results, level).repartition(GROUP).sortWithinPartitions(GROUP, ROW).drop(ROW)
        frame.write.mode("overwrite").partitionBy(GROUP).parquet(str(stage.path))


def whatif_spark(
    source: str | Path, scenarios: Mapping[str, RuleSet], *, tables: str | Path | None = None, fmt: str = "parquet",
    keep: int = 20_000, master: str | None = None,
) -> tuple[Any, list[Path], list[tuple[str, str]]]:
    """`whatif_dataset` on Spark: (result, files written, skipped) as the local engine returns them."""
    from selfeval.spark.session import spark_errors

    with spark_errors(str(source)):
        return _whatif_spark(source, scenarios, tables=tables, fmt=fmt, keep=keep, master=master)


def _whatif_spark(
    source: str | Path, scenarios: Mapping[str, RuleSet], *, tables: str | Path | None, fmt: str, keep: int,
    master: str | None,
) -> tuple[Any, list[Path], list[tuple[str, str]]]:
    from selfeval.spark.session import require_pyspark

    require_pyspark()
    from pyspark import StorageLevel

    from selfeval.errors import InputError, SelfevalError
    from selfeval.report.tables import write_tables
    from selfeval.scenarios import group_by_structure
    from selfeval.spark.groups import direct_listing
    from selfeval.spark.output import drop_spark_markers, spark_parts
    from selfeval.spark.session import is_local, spark_session
    from selfeval.staging import ReplacedFolder
    from selfeval.whatif import (
        SCENARIO,
        WhatIfResult,
        _migration,
        _parameters,
        _summary,
        _weight_warnings,
        whatif_tables,
    )

    if tables is not None and fmt != "parquet":
        raise SelfevalError(f"Spark 引擎只写 Parquet 结果表（--format parquet），收到 {fmt}")
    source_text = str(source)
    check_dataset(source_text)
    names = list(scenarios)
    grades = [g.grade for g in scenarios[names[0]].grades]
    spark = spark_session(master)
    # the executors write the wide rows where they share this machine's folders (a local master
    # reading the groups itself); elsewhere Spark writes them
    by_executors = tables is not None and is_local(spark.sparkContext.master) and direct_listing(spark, source_text) is not None
    by_spark = tables is not None and not by_executors
    layout, levels = comparison_layout(names, grades, wide=by_spark)
    with contextlib.ExitStack() as staged:
        stages = {level: staged.enter_context(ReplacedFolder(Path(tables) / f"whatif_{level}", owned=spark_parts))
                  for level in LEVELS} if tables is not None else {}
        rows = {level: str(stage.path) for level, stage in stages.items()} if by_executors else None
        results = unit_groups(spark, source_text, layout, group_work(scenarios, grades, keep, "return" if by_spark else rows))
        if by_spark:  # read twice: the small tables, then the wide rows
            results = results.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            t = _small(results, layout)
            counts = {level: int(t["counts"].get_column(level).sum()) for level in LEVELS}
            skipped = t["skipped"].rows()
            if not counts["units"]:
                msg = "数据集中没有可评分的单位（所有分区都无法读取）" + (f"：{skipped[0][0]}：{skipped[0][1]}" if skipped else "")
                raise InputError(msg, Path(source_text))
            if by_spark:
                _write_wide(results, layout, stages)
        finally:
            if by_spark:
                results.unpersist()
        for level, stage in stages.items():
            drop_spark_markers(stage.path)
            stage.commit({"command": "whatif", "table": f"whatif_{level}", "rows": counts[level], "scenarios": names})
    written = [p for level in stages for p in sorted((Path(str(tables)) / f"whatif_{level}").rglob("*.parquet"))]
    result = WhatIfResult(
        scenarios=dict(scenarios),
        project_scores=pl.DataFrame(schema={SCENARIO: pl.String, **schema.PROJECT_SCORES}),
        unit_scores=pl.DataFrame(schema={SCENARIO: pl.String, **schema.UNIT_SCORES}),
        projects=_view(t["views"], levels["projects"], "projects", names, keep),
        units=_view(t["views"], levels["units"], "units", names, keep),
        migration=_migration([schema.conform(t["migration"], layout.tables["migration"])], names),
        summary=_summary([schema.conform(t["tallies"], layout.tables["tallies"])], names, grades),
        parameters=_parameters(dict(scenarios)), passes=len(group_by_structure(dict(scenarios))),
        warnings=tuple(_weight_warnings(scenarios)), compared=dict(counts),
    )
    if tables is not None:
        small = {k: v for k, v in whatif_tables(result).items() if k not in ("whatif_projects", "whatif_units")}
        written += write_tables(small, tables, fmt)
    return result, written, skipped


__all__ = ["compare_inputs", "comparison_layout", "whatif_spark"]
