"""The dataset's tables read by Spark and stacked in one frame: the shuffled hand-off
(`groups.py`), for Hive/catalog tables and paths the executors' Polars cannot open.

Spark reads each table (`TABLE/unit_group=K/*.parquet` or a catalog table with a `unit_group`
column), casts it to its declared columns and stacks them (`packing.Layout` INPUTS), so a
`groupBy(unit_group)` brings all of a group's tables to one Python call.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from selfeval import schema
from selfeval.errors import InputError
from selfeval.spark.packing import GROUP, Layout

INPUTS = Layout({
    "units": schema.UNITS, "projects": schema.PROJECTS, "indicators": schema.INDICATORS,
    "department_goals": schema.DEPARTMENT_GOALS, "actuals": schema.ACTUALS, "execution": schema.EXECUTION,
})
REQUIRED = ("units", "projects", "indicators")


def _exists(source: str, name: str) -> bool:
    if "://" in source:
        return True  # a remote path: Spark says whether it is there
    return (Path(source) / name).is_dir()


def check_dataset(source: str) -> None:
    """InputError unless `source` (a local folder) is a complete partitioned dataset."""
    if "://" in source:
        return
    from selfeval.bulk import source_kind
    from selfeval.synth_marker import MARKER, incomplete_synth

    path = Path(source)
    if source_kind(path) != "dataset":
        msg = "Spark 引擎读取分区 Parquet 数据集（indicators/ 等文件夹，按 unit_group 分区，如 selfeval synth 所写）"
        raise InputError(msg, path)
    unfinished = incomplete_synth(path)
    if unfinished is not None:
        raise InputError(f"{path / MARKER}：{unfinished}", path)
    for name in REQUIRED:
        if not (path / name).is_dir():
            raise InputError(f"数据集缺少表 {name}（应为文件夹 {name}/ 下按 unit_group 分区的 .parquet 文件）", path)


def declared_columns(frame: Any, name: str, where: str = "") -> Any:
    """A Spark frame of table `name` as declared (columns cast; missing ones null) with its unit group."""
    from pyspark.sql import functions as F

    if GROUP not in frame.columns:
        msg = f"表 {name} 没有 {GROUP} 列（数据集应按 {GROUP} 分区：{name}/{GROUP}=K/*.parquet）：Spark 引擎按单位组分发评分"
        raise InputError(msg, where or name)
    spark_types = INPUTS.spark_schema()
    columns = [F.col(GROUP).cast("long").alias(GROUP)]
    for col in INPUTS.tables[name]:
        field = spark_types[f"{name}__{col}"]
        value = F.col(f"`{col}`") if col in frame.columns else F.lit(None)
        columns.append(value.cast(field.dataType).alias(field.name))
    return frame.select(*columns)


def read_table(spark: Any, source: str, name: str) -> Any:
    """One table of the dataset as a Spark frame (`declared_columns`); None when an optional
    table is absent."""
    from pyspark.errors import AnalysisException

    path = f"{source.rstrip('/')}/{name}"
    if not _exists(source, name):
        return None
    try:
        frame = spark.read.option("basePath", path).parquet(path)
    except AnalysisException as exc:
        if name in REQUIRED:
            raise InputError(f"数据集缺少表 {name}：{str(exc).splitlines()[0]}", path) from None
        return None
    return declared_columns(frame, name, path)


def stack(frames: Mapping[str, Any]) -> Any:
    """The input tables (declared columns and unit group, `declared_columns`) stacked in one Spark
    frame (`packing.Layout` INPUTS); only groups with indicators, as the local engine reads them."""
    from pyspark.sql import functions as F

    missing = [name for name in REQUIRED if frames.get(name) is None]
    if missing:
        raise InputError(f"缺少表 {'、'.join(missing)}（Spark 引擎需要 units、projects、indicators）", "spark")
    tagged = [frame.withColumn("_table", F.lit(INPUTS.index(name)).cast("byte"))
              for name, frame in frames.items() if frame is not None]
    stacked = functools.reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), tagged)
    stacked = stacked.join(frames["indicators"].select(GROUP).distinct(), GROUP, "left_semi")
    return stacked.select(*[
        F.col(f"`{f.name}`") if f.name in stacked.columns else F.lit(None).cast(f.dataType).alias(f.name)
        for f in INPUTS.spark_schema().fields
    ])


def stacked_inputs(spark: Any, source: str) -> Any:
    """Every table of the dataset at `source` stacked in one Spark frame."""
    return stack({name: read_table(spark, source, name) for name in INPUTS.tables})


def group_inputs(table: pa.Table, source: str) -> tuple[Any, Any, pl.DataFrame, pl.DataFrame] | None:
    """Executor side: (unit group, declaration, actuals, execution) of one group's stacked inputs;
    None for an empty hand-off."""
    from selfeval.declaration import Declaration

    stacked = pl.from_arrow(table)
    assert isinstance(stacked, pl.DataFrame)
    if stacked.height == 0:
        return None
    t = INPUTS.unpack(stacked)
    declaration = Declaration(units=t["units"], projects=t["projects"], indicators=t["indicators"],
                              department_goals=t["department_goals"], sources=(source,))
    return stacked.get_column(GROUP)[0], declaration, t["actuals"], t["execution"]


__all__ = ["INPUTS", "REQUIRED", "check_dataset", "declared_columns", "group_inputs", "read_table", "stack", "stacked_inputs"]
