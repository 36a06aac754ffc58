"""`selfeval whatif --engine spark`: every scenario over a partitioned dataset in one Spark pass.

Each unit group is scored under every scenario by `whatif.scenario_scores` and compared by
`whatif.compare` (the local engine's functions, on Polars, on an executor that reads the group's
own files: `groups.py`); scenarios stay columns. Unreadable groups are skipped as locally.
The per-group comparisons come back stacked (`packing.Layout`): the wide project/unit rows are
written by Spark partitioned by unit group, the counts are summed on the driver by the local
engine's `_migration`/`_summary`, and the views keep the rows that move most, chosen in Spark.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from selfeval import schema
from selfeval.rules.model import RuleSet
from selfeval.bulk import SKIPPED
from selfeval.spark.bulk import _polars, rules_of, rules_text
from selfeval.spark.groups import Work, unit_groups
from selfeval.spark.inputs import check_dataset
from selfeval.spark.packing import GROUP, Layout

ROW = "_row"  # a row's place in its group's declared order (with the group: the local `_order`)
LEVELS = ("projects", "units")


def comparison_layout(names: list[str], grades: list[str]) -> Layout:
    """The stacked comparison of one group: its schemas are those `compare` gives (run on no rows)."""
    from selfeval.whatif import SCENARIO, compare

    empty = compare(pl.DataFrame(schema={SCENARIO: pl.String, **schema.PROJECT_SCORES}),
                    pl.DataFrame(schema={SCENARIO: pl.String, **schema.UNIT_SCORES}), names, grades)
    return Layout({
        "projects": pl.Schema({**empty.projects.schema, ROW: pl.Int64}),
        "units": pl.Schema({**empty.units.schema, ROW: pl.Int64}),
        "migration": empty.migration.schema, "tallies": empty.tallies.schema, "skipped": SKIPPED,
    })


def compare_inputs(
    declaration: Any, actuals: pl.DataFrame, execution: pl.DataFrame, scenarios: list[tuple[str, str]], grades: list[str],
) -> dict[str, pl.DataFrame]:
    """Executor side: one unit group under every scenario, compared with the first."""
    from selfeval.whatif import compare, scenario_scores

    names = [name for name, _ in scenarios]
    rule_sets = {name: rules_of(text) for name, text in scenarios}
    projects_long, units_long, _ = scenario_scores(declaration, actuals, execution, rule_sets)
    found = compare(projects_long, units_long, names, grades)
    return {"projects": found.projects.with_row_index(ROW), "units": found.units.with_row_index(ROW),
            "migration": found.migration, "tallies": found.tallies}


def group_work(scenarios: Mapping[str, RuleSet], grades: list[str]) -> Work:
    """The comparison Spark runs per unit group (pickled with every scenario's YAML)."""
    shipped = [(name, rules_text(rules)) for name, rules in scenarios.items()]

    def work(_: int, declaration: Any, actuals: pl.DataFrame, execution: pl.DataFrame) -> dict[str, pl.DataFrame]:
        return compare_inputs(declaration, actuals, execution, shipped, grades)

    return work


def _view(frame: Any, layout: Layout, level: str, names: list[str], keep: int, total: int) -> pl.DataFrame:
    """At most `keep` rows of a level, those whose total moves most (ties: declared order), in
    declared order — as the local engine's `_largest_moves`."""
    from pyspark.sql import functions as F

    ordered = [F.col(GROUP), F.col(ROW)]
    if total > keep:
        if len(names) > 1:
            deltas = [F.abs(F.col(f"`delta__{n}`")) for n in names[1:]]
            move = F.coalesce(F.greatest(*deltas) if len(deltas) > 1 else deltas[0], F.lit(0.0))
            frame = frame.orderBy(move.desc(), *ordered)
        else:
            frame = frame.orderBy(*ordered)
        frame = frame.limit(keep)
    rows = _polars(frame).sort(GROUP, ROW)
    target = pl.Schema({c: t for c, t in layout.tables[level].items() if c != ROW})
    return schema.conform(rows, target)


def _write_staged(frame: Any, target: Path, manifest: dict[str, Any]) -> None:
    """A wide table written by Spark into a staging folder and swapped in whole (`output.py`)."""
    from selfeval.spark.output import drop_spark_markers, spark_parts
    from selfeval.staging import ReplacedFolder

    with ReplacedFolder(target, owned=spark_parts) as stage:
        assert stage.path is not None
        frame.write.mode("overwrite").partitionBy(GROUP).parquet(str(stage.path))
        drop_spark_markers(stage.path)
        stage.commit(manifest)


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

    from selfeval.errors import SelfevalError
    from selfeval.report.tables import write_tables
    from selfeval.scenarios import group_by_structure
    from selfeval.spark.session import spark_session
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
    layout = comparison_layout(names, grades)
    spark = spark_session(master)
    results = unit_groups(spark, source_text, layout, group_work(scenarios, grades))
    results = results.persist(StorageLevel.MEMORY_AND_DISK)
    written: list[Path] = []
    try:
        levels = {level: layout.spark_table(results, level) for level in LEVELS}
        counts = {level: levels[level].count() for level in LEVELS}
        views = {level: _view(levels[level], layout, level, names, keep, counts[level]) for level in LEVELS}
        migration = schema.conform(_polars(layout.spark_table(results, "migration", keep_group=False)), layout.tables["migration"])
        tallies = schema.conform(_polars(layout.spark_table(results, "tallies", keep_group=False)), layout.tables["tallies"])
        skipped = _polars(layout.spark_table(results, "skipped", keep_group=False)).rows()
        if tables is not None:
            for level in LEVELS:
                target = Path(tables) / f"whatif_{level}"
                frame = levels[level].repartition(GROUP).sortWithinPartitions(GROUP, ROW).drop(ROW)
                _write_staged(frame, target, {"command": "whatif", "table": target.name, "rows": counts[level], "scenarios": names})
                written += sorted(target.rglob("*.parquet"))
    finally:
        results.unpersist()
    if not counts["units"]:
        from selfeval.errors import InputError

        msg = "数据集中没有可评分的单位（所有分区都无法读取）" + (f"：{skipped[0][0]}：{skipped[0][1]}" if skipped else "")
        raise InputError(msg, Path(source_text))
    result = WhatIfResult(
        scenarios=dict(scenarios),
        project_scores=pl.DataFrame(schema={SCENARIO: pl.String, **schema.PROJECT_SCORES}),
        unit_scores=pl.DataFrame(schema={SCENARIO: pl.String, **schema.UNIT_SCORES}),
        projects=views["projects"], units=views["units"],
        migration=_migration([migration], names), summary=_summary([tallies], names, grades),
        parameters=_parameters(dict(scenarios)), passes=len(group_by_structure(dict(scenarios))),
        warnings=tuple(_weight_warnings(scenarios)), compared=dict(counts),
    )
    if tables is not None:
        small = {k: v for k, v in whatif_tables(result).items() if k not in ("whatif_projects", "whatif_units")}
        written += write_tables(small, tables, fmt)
    return result, written, skipped


__all__ = ["compare_inputs", "comparison_layout", "whatif_spark"]
