"""A `spark-submit` entry script: bulk scoring on a cluster, from Parquet paths or Hive tables to
Parquet paths or Hive tables (README, "Running on Spark").

    spark-submit --master yarn [--archives env.tar.gz#env …] .../selfeval/spark/job.py \\
        --input hdfs:///jxpj/2025 --output hdfs:///jxpj_results/2025 [--rules mof-2020]
    spark-submit … job.py --hive 'jxpj.{table}' --output-hive 'jxpj_results.{table}'

Input tables are `units`, `projects`, `indicators` (required), `actuals`, `execution`,
`department_goals`, each with the declared columns and `unit_group`. Outputs: `indicator_scores`,
`project_scores`, `findings` (partitioned by unit_group), `unit_scores`, `league_table`,
`grade_distribution`, `findings_summary`. An output that exists is refused (Spark's
errorifexists): a cluster path has no atomic folder swap, so write each run to a new path.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="selfeval-spark-job", description="selfeval 批量评分（Spark 集群）")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="分区 Parquet 数据集的路径（hdfs://、s3a://、file:// 或本地）")
    source.add_argument("--hive", help="输入表名模式，如 'jxpj.{table}'（{table} 为 units、projects、indicators …）")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--output", help="结果输出路径（Parquet；不能已存在）")
    target.add_argument("--output-hive", help="结果表名模式，如 'jxpj_results.{table}'")
    parser.add_argument("--rules", default="mof-2020", help="规则集名称或 YAML 文件（默认 mof-2020）")
    parser.add_argument("--master", default=None, help="Spark master（spark-submit 已给出时省略）")
    return parser


def _inputs(spark: Any, args: argparse.Namespace) -> dict[str, Any]:
    from selfeval.spark.bulk import INPUTS, declared_columns, read_table

    if args.input is not None:
        return {name: read_table(spark, args.input, name) for name in INPUTS.tables}
    frames = {}
    for name in INPUTS.tables:
        table = args.hive.format(table=name)
        if spark.catalog.tableExists(table):
            frames[name] = declared_columns(spark.table(table), name, table)
    return frames


def _write(frame: Any, name: str, args: argparse.Namespace, partitioned: bool) -> None:
    writer = frame.write.mode("errorifexists")
    if partitioned:
        writer = writer.partitionBy("unit_group")
    if args.output is not None:
        writer.parquet(f"{args.output.rstrip('/')}/{name}")
    else:
        writer.format("parquet").saveAsTable(args.output_hive.format(table=name))


def run(argv: Sequence[str] | None = None) -> dict[str, int]:
    """Score and write; the rows written per table."""
    from pyspark import StorageLevel

    from selfeval.rules.loader import load_rules
    from selfeval.spark.bulk import (
        LARGE,
        RESULTS,
        SORT_KEYS,
        group_scorer,
        small_tables,
        stack,
    )
    from selfeval.spark.packing import GROUP
    from selfeval.spark.session import spark_session

    args = _parser().parse_args(argv)
    rules = load_rules(args.rules)
    spark = spark_session(args.master)
    inputs = stack(_inputs(spark, args))
    results = inputs.groupBy(GROUP).applyInArrow(group_scorer(rules, args.input or args.hive), schema=RESULTS.spark_schema())
    results = results.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        for name in LARGE:
            _write(RESULTS.spark_table(results, name).sortWithinPartitions(GROUP, *SORT_KEYS[name]), name, args, True)
        small, rows = small_tables(results, rules)
    finally:
        results.unpersist()
    names = {"unit_scores": "unit_scores", "league": "league_table", "grade_distribution": "grade_distribution",
             "findings_summary": "findings_summary"}
    for key, name in names.items():
        _write(spark.createDataFrame(small[key].to_arrow()), name, args, False)
        rows[name] = small[key].height
    print(f"selfeval: 规则 {rules.name} sha256 {rules.sha256}；" + "，".join(f"{k} {v} 行" for k, v in rows.items()))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    from selfeval.errors import SelfevalError

    try:
        run(argv)
    except SelfevalError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
