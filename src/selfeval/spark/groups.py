"""Each unit group handed to the Polars pipeline on an executor, in one of two ways.

* **Read on the executor** (a dataset in a folder the executors can open: any folder on a local
  master, a `file://` path — a mount every executor has — on a cluster). The driver lists each group's Parquet files as the local engine
  does (`bulk.dataset_partitions`) and ships only that list, one group per task (`mapInArrow`
  over one row per group); the executor reads its group with Polars (`bulk.read_partitions`)
  and scores it. No input row passes through the JVM or a shuffle: moving the stacked rows was
  most of the time (README, "Running on Spark"). A group whose files cannot be read goes to the
  `skipped` table with the local engine's reason and the run goes on.
* **Shuffled** (catalog/Hive tables, and paths Polars cannot open: `hdfs://`, `s3a://` …).
  Spark reads and stacks the tables (`inputs.py`) and groups them by unit group
  (`groupBy(unit_group).applyInArrow`); Spark's own read errors stop the run.

Both give the same stacked result frame (`Layout`, with a `skipped` table), so everything after
the scoring is one code path. `work(declaration, actuals, execution)` is the engine's own scoring
(`bulk.score_inputs`, `whatif.compare_inputs`), returning its result tables by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from selfeval.spark.packing import GROUP, Layout

Work = Callable[[int, Any, pl.DataFrame, pl.DataFrame], dict[str, pl.DataFrame]]
SKIPPED = "skipped"
# One row per unit group: the partition's folder name and its files, table by table (JSON).
LISTING = f"{GROUP} long, partition string, files string"


def local_folder(source: str) -> Path | None:
    """The dataset's folder when the executors can open it with Polars, else None."""
    if source.startswith("file://"):
        return Path(source.removeprefix("file://"))
    return None if "://" in source else Path(source)


def listing(folder: Path) -> list[tuple[int, str, str]] | None:
    """(unit group, partition, files as JSON) of every `unit_group=K` partition of indicators, in
    the local engine's order; None when the dataset is not partitioned that way (the shuffled path
    then reads it, and says what is wrong)."""
    from selfeval.bulk import _partition_sort_key, dataset_partitions

    tables = dataset_partitions(folder)
    rows = []
    for key in sorted(tables["indicators"], key=_partition_sort_key):
        name, _, value = key.partition("=")
        if name != GROUP or not value.isdigit():
            return None
        files = {table: {k: [str(f) for f in parts[k]] for k in (key, "") if k in parts} for table, parts in tables.items()}
        rows.append((int(value), key, json.dumps(files, ensure_ascii=False)))
    return rows


def _read_group(folder: Path, key: str, files: str, skipped: list[tuple[str, str]]) -> Any:
    """Executor side: the `bulk.Batch` of one partition, or None (why in `skipped`), checked and
    read as the local engine does."""
    from selfeval.bulk import partition_indicators, read_partitions

    tables = {name: {k: [Path(f) for f in fs] for k, fs in parts.items()} for name, parts in json.loads(files).items()}
    if partition_indicators(folder, tables["indicators"][key], key, skipped) is None:
        return None
    return read_partitions(folder, tables, [key], skipped)


def _packed(layout: Layout, frames: dict[str, pl.DataFrame], skipped: list[tuple[str, str]], group: int | None) -> pa.Table:
    from selfeval.bulk import SKIPPED as SKIPPED_SCHEMA

    return layout.pack({**frames, SKIPPED: pl.DataFrame(skipped, schema=SKIPPED_SCHEMA, orient="row")}, group)


def read_and_score(layout: Layout, work: Work, source: str) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The `mapInArrow` function: each listed group read on the executor and scored by `work`."""
    folder = local_folder(source)
    assert folder is not None

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for row in batch.to_pylist():
                skipped: list[tuple[str, str]] = []
                read = _read_group(folder, row["partition"], row["files"], skipped)
                frames = work(row[GROUP], read.declaration, read.actuals, read.execution) if read is not None else {}
                yield from _packed(layout, frames, skipped, row[GROUP]).to_batches()

    return run


def shuffled(layout: Layout, work: Work, source: str) -> Callable[[pa.Table], pa.Table]:
    """The `applyInArrow` function: one group's stacked inputs (`inputs.stack`) scored by `work`."""
    from selfeval.spark.inputs import group_inputs

    def run(table: pa.Table) -> pa.Table:
        inputs = group_inputs(table, source)
        if inputs is None:
            return layout.pack({}, None)
        group, declaration, actuals, execution = inputs
        return _packed(layout, work(group, declaration, actuals, execution), [], group)

    return run


def score_stacked(stacked: Any, layout: Layout, work: Work, source: str) -> Any:
    """The result frame of inputs already stacked in Spark (`inputs.stack`), grouped by unit group."""
    return stacked.groupBy(GROUP).applyInArrow(shuffled(layout, work, source), schema=layout.spark_schema())


def direct_listing(spark: Any, source: str) -> list[tuple[int, str, str]] | None:
    """The groups' files (`listing`) when the executors can read them themselves: on a local
    master they share this machine's files; on a cluster only a `file://` path says every
    executor has the folder mounted (a plain path there means the cluster's own file system)."""
    from selfeval.spark.session import is_local

    folder = local_folder(source)
    if folder is None or not (source.startswith("file://") or is_local(spark.sparkContext.master)):
        return None
    return listing(folder)


def read_on_executors(spark: Any, source: str, layout: Layout, work: Work, rows: list[tuple[int, str, str]]) -> Any:
    """The stacked result frame of the listed groups (`direct_listing`), each read and scored by
    `work` on an executor."""
    # one slice per row: each group is its own task, so groups spread over the executors evenly
    # and every output partition holds one group
    tasks = spark.sparkContext.parallelize(rows, max(1, len(rows)))
    return spark.createDataFrame(tasks, LISTING).mapInArrow(read_and_score(layout, work, source), layout.spark_schema())


def unit_groups(spark: Any, source: str, layout: Layout, work: Work) -> Any:
    """The stacked result frame (`layout`) of every unit group of the dataset at `source`, each
    group scored by `work` on an executor (lazy: persist it before several actions)."""
    from selfeval.spark.inputs import stacked_inputs

    rows = direct_listing(spark, source)
    if rows is None:
        return score_stacked(stacked_inputs(spark, source), layout, work, source)
    return read_on_executors(spark, source, layout, work, rows)


__all__ = ["SKIPPED", "Work", "direct_listing", "listing", "local_folder", "read_on_executors", "score_stacked", "unit_groups"]
