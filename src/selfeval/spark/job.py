"""A `spark-submit` entry script: bulk scoring on a cluster, from Parquet paths or Hive tables to
Parquet paths or Hive tables (README, "Running on Spark").

    spark-submit --master yarn [--archives env.tar.gz#env …] .../selfeval/spark/job.py \\
        --input hdfs:///jxpj/2025 --output hdfs:///jxpj_results/2025 [--rules mof-2020]
    spark-submit … job.py --hive 'jxpj.{table}' --output-hive 'jxpj_results.{table}'

Input tables are `units`, `projects`, `indicators` (required), `actuals`, `execution`,
`department_goals`, each with the declared columns and `unit_group`. Outputs: `indicator_scores`,
`project_scores`, `findings` (partitioned by unit_group), `unit_scores`, `league_table`,
`grade_distribution`, `findings_summary`, `skipped`, and `manifest.json` (written last). An output
path is written whole or not at all (`output.py`): staged beside it and renamed in when every
table is there; a local folder is swapped as `bulk --out` is, an existing cluster path refused.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="selfeval-spark-job", description="selfeval 批量评分（Spark 集群）")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="分区 Parquet 数据集的路径（hdfs://、s3a://、file:// 或本地）")
    source.add_argument("--hive", help="输入表名模式，如 'jxpj.{table}'（{table} 为 units、projects、indicators …）")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--output", help="结果输出路径（Parquet；本地文件夹整体替换，集群路径不能已存在）")
    target.add_argument("--output-hive", help="结果表名模式，如 'jxpj_results.{table}'")
    parser.add_argument("--rules", default="mof-2020", help="规则集名称或 YAML 文件（默认 mof-2020）")
    parser.add_argument("--master", default=None, help="Spark master（spark-submit 已给出时省略）")
    return parser


def _hive_inputs(spark: Any, pattern: str) -> dict[str, Any]:
    from selfeval.spark.inputs import INPUTS, declared_columns

    frames = {}
    for name in INPUTS.tables:
        table = pattern.format(table=name)
        if spark.catalog.tableExists(table):
            frames[name] = declared_columns(spark.table(table), name, table)
    return frames


def _results(spark: Any, args: argparse.Namespace, rules: Any) -> Any:
    """The stacked results: a dataset path read group by group on the executors where they can
    open it (`groups.py`), catalog tables through Spark's shuffle."""
    from selfeval.spark.bulk import RESULTS, group_work, scored
    from selfeval.spark.groups import score_stacked
    from selfeval.spark.inputs import stack

    if args.input is not None:
        return scored(spark, args.input, rules)
    return score_stacked(stack(_hive_inputs(spark, args.hive)), RESULTS, group_work(rules), args.hive)


def _write_all(spark: Any, results: Any, rules: Any, write: Callable[[Any, str, bool], None]) -> dict[str, int]:
    """Every table through `write(frame, name, partitioned)`; the rows of each."""
    from pyspark import StorageLevel

    from selfeval.spark.bulk import LARGE, RESULTS, SORT_KEYS, small_tables
    from selfeval.spark.packing import GROUP

    results = results.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        for name in LARGE:
            write(RESULTS.spark_table(results, name).sortWithinPartitions(GROUP, *SORT_KEYS[name]), name, True)
        small, rows = small_tables(results, rules)
    finally:
        results.unpersist()
    names = {"unit_scores": "unit_scores", "league": "league_table", "grade_distribution": "grade_distribution",
             "findings_summary": "findings_summary", "skipped": "skipped"}
    for key, name in names.items():
        write(spark.createDataFrame(small[key].to_arrow()), name, False)
        rows[name] = small[key].height
    return rows


def _writer(folder: str | None, hive: str | None) -> Callable[[Any, str, bool], None]:
    def write(frame: Any, name: str, partitioned: bool) -> None:
        writer = frame.write.mode("errorifexists")
        if partitioned:
            writer = writer.partitionBy("unit_group")
        if folder is not None:
            writer.parquet(f"{folder.rstrip('/')}/{name}")
        else:
            writer.format("parquet").saveAsTable(str(hive).format(table=name))

    return write


def run(argv: Sequence[str] | None = None) -> dict[str, int]:
    """Score and write; the rows written per table."""
    import selfeval
    from selfeval.rules.loader import load_rules
    from selfeval.spark.output import (
        drop_spark_markers,
        hadoop_staged,
        spark_parts,
        write_manifest,
    )
    from selfeval.spark.session import spark_session
    from selfeval.staging import ReplacedFolder, utc_now

    args = _parser().parse_args(argv)
    rules = load_rules(args.rules)
    spark = spark_session(args.master)
    results = _results(spark, args, rules)
    manifest: dict[str, Any] = {
        "command": "spark-job", "selfeval": selfeval.__version__, "started": utc_now(), "input": args.input or args.hive,
        "rules": {"name": rules.name, "path": rules.source or None, "sha256": rules.sha256 or None},
        "engine": {"name": "spark", "master": spark.sparkContext.master, "spark": spark.version},
    }
    if args.output_hive is not None:  # catalog tables: each table's own commit
        rows = _write_all(spark, results, rules, _writer(None, args.output_hive))
    elif "://" not in args.output:  # a local folder: staged and swapped in as bulk --out
        with ReplacedFolder(Path(args.output), owned=spark_parts) as stage:
            assert stage.path is not None
            rows = _write_all(spark, results, rules, _writer(str(stage.path), None))
            drop_spark_markers(stage.path)
            stage.commit({**manifest, "tables": rows})
    else:  # a cluster path: staged beside it, renamed in
        with hadoop_staged(spark, args.output) as stage_path:
            rows = _write_all(spark, results, rules, _writer(stage_path, None))
            write_manifest(spark, stage_path, {**manifest, "finished": utc_now(), "tables": rows})
    print(f"selfeval: 规则 {rules.name} sha256 {rules.sha256}；" + "，".join(f"{k} {v} 行" for k, v in rows.items()))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    from selfeval.errors import SelfevalError
    from selfeval.spark.session import spark_errors

    try:
        with spark_errors("selfeval-spark-job"):
            run(argv)
    except SelfevalError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
