"""`selfeval bulk --engine spark`: a partitioned dataset scored on Spark, unit group by unit group.

Spark reads the dataset's tables (`TABLE/unit_group=K/*.parquet`, any Spark-readable path),
stacks them (`packing.Layout`) and hands each unit group — all of its units' projects,
indicators, actuals and execution — to `pipeline.run` through Arrow
(`groupBy("unit_group").applyInArrow`). The rules travel to the executors as their resolved YAML
(with the rule file's sha256). The large result tables are written by Spark, partitioned by
unit group; the per-unit tables (league table, grade distribution, findings summary) are built
on the driver by `selfeval.bulk`'s own functions from Spark SQL aggregates of the results.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import yaml

from selfeval import schema
from selfeval.errors import InputError, SelfevalError
from selfeval.rules.model import RuleSet
from selfeval.spark.packing import GROUP, Layout

INPUTS = Layout({
    "units": schema.UNITS, "projects": schema.PROJECTS, "indicators": schema.INDICATORS,
    "department_goals": schema.DEPARTMENT_GOALS, "actuals": schema.ACTUALS, "execution": schema.EXECUTION,
})
REQUIRED = ("units", "projects", "indicators")
LARGE = ("indicator_scores", "project_scores", "findings")
# Per group, besides the result tables: the counts the local engine takes of each batch, and the
# size of each large table (all collected to the driver in one Spark job).
COUNTS = {
    "per_unit": pl.Schema({"unit_code": pl.String, "errors": pl.Int64, "warnings": pl.Int64}),
    "finding_counts": pl.Schema({"code": pl.String, "severity": pl.String, "count": pl.Int64, "units": pl.Int64}),
    "grade_counts": pl.Schema({"grade": pl.String, "len": pl.Int64}),
    "sizes": pl.Schema(dict.fromkeys(LARGE, pl.Int64)),
}
RESULTS = Layout({
    "indicator_scores": schema.INDICATOR_SCORES, "project_scores": schema.PROJECT_SCORES,
    "unit_scores": schema.UNIT_SCORES, "findings": schema.FINDINGS, **COUNTS,
})
SMALL = ("unit_scores", *COUNTS)
SORT_KEYS = {"indicator_scores": ["unit_code", "project_code", "seq"], "project_scores": ["unit_code", "project_code"],
             "findings": ["unit_code", "project_code", "seq", "code", "column"]}


# ----------------------------------------------------------------------------- rules on the executors


def rules_text(rules: RuleSet) -> str:
    """The resolved rule set as YAML, with the rule file it came from and its sha256."""
    document = {"rules": rules.model_dump(mode="json"), "source": rules.source, "sha256": rules.sha256}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


@functools.lru_cache(maxsize=8)
def rules_of(text: str) -> RuleSet:
    """The RuleSet of `rules_text` (parsed once per executor process)."""
    document = yaml.safe_load(text)
    return RuleSet.model_validate(document["rules"]).model_copy(
        update={"source": document["source"], "sha256": document["sha256"]})


# ----------------------------------------------------------------------------- one unit group


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


def score_group(table: pa.Table, rules: str, source: str) -> pa.Table:
    """Executor side: the stacked inputs of one unit group → its stacked result tables."""
    from selfeval.bulk import _finding_counts, _sort_findings
    from selfeval.pipeline import run

    inputs = group_inputs(table, source)
    if inputs is None:
        return RESULTS.pack({}, None)
    group, declaration, actuals, execution = inputs
    frames = run(declaration, actuals, execution, rules_of(rules))
    findings = _sort_findings(frames.findings)
    return RESULTS.pack({
        "indicator_scores": frames.indicator_scores.sort(SORT_KEYS["indicator_scores"], maintain_order=True),
        "project_scores": frames.project_scores, "unit_scores": frames.unit_scores, "findings": findings,
        # as bulk._run counts each batch
        "per_unit": findings.group_by("unit_code").agg(
            (pl.col("severity") == "error").sum().alias("errors"), (pl.col("severity") == "warning").sum().alias("warnings")),
        "finding_counts": _finding_counts(findings),
        "grade_counts": frames.project_scores.group_by("grade").len(),
        "sizes": pl.DataFrame([[frames.indicator_scores.height], [frames.project_scores.height], [findings.height]],
                              schema=COUNTS["sizes"]),
    }, group)


def group_scorer(rules: RuleSet, source: str) -> Any:
    """The function Spark calls per unit group (pickled with the rules' YAML)."""
    text = rules_text(rules)

    def score(table: pa.Table) -> pa.Table:
        return score_group(table, text, source)

    return score


# ----------------------------------------------------------------------------- reading


def _exists(source: str, name: str) -> bool:
    if "://" in source:
        return True  # a remote path: Spark says whether it is there
    return (Path(source) / name).is_dir()


def check_dataset(source: str) -> None:
    """InputError unless `source` (a local folder) is a complete partitioned dataset."""
    if "://" in source:
        return
    from selfeval.bulk import source_kind
    from selfeval.synth import MARKER, incomplete_synth

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


def score_frames(frames: Mapping[str, Any], rules: RuleSet, source: str = "spark") -> dict[str, Any]:
    """Result tables (Spark frames, each with its unit group) of input tables given as Spark frames
    — Hive tables (`spark.table("db.indicators")`) or any other source. Each frame holds a table's
    columns (`selfeval.schema`) and `unit_group`; `units`, `projects`, `indicators` are required,
    `actuals`, `execution`, `department_goals` may be missing. The results are lazy: persist them
    before writing more than one."""
    inputs = stack({name: declared_columns(frame, name) for name, frame in frames.items() if frame is not None})
    results = inputs.groupBy(GROUP).applyInArrow(group_scorer(rules, source), schema=RESULTS.spark_schema())
    return {name: RESULTS.spark_table(results, name) for name in (*LARGE, "unit_scores")}


def scored(spark: Any, source: str, rules: RuleSet) -> Any:
    """The stacked result tables of every unit group (lazy; persist before several actions)."""
    inputs = stacked_inputs(spark, source)
    return inputs.groupBy(GROUP).applyInArrow(group_scorer(rules, source), schema=RESULTS.spark_schema())


# ----------------------------------------------------------------------------- the run


def _polars(frame: Any) -> pl.DataFrame:
    out = pl.from_arrow(frame.toArrow())
    assert isinstance(out, pl.DataFrame)
    return out


def small_tables(results: Any, rules: RuleSet) -> tuple[dict[str, Any], dict[str, int]]:
    """(unit_scores, league, grade_distribution, findings_summary; rows of each large table), from
    the per-group counts collected in one Spark job and summed by `selfeval.bulk`'s functions."""
    from pyspark.sql import functions as F

    from selfeval.bulk import findings_summary, grade_distribution, league_table

    wanted = [RESULTS.index(name) for name in SMALL]
    t = RESULTS.unpack(_polars(results.filter(F.col("_table").isin(wanted))))
    units = t["unit_scores"].sort("unit_code", maintain_order=True)
    counts = t["finding_counts"]
    rows = {name: int(t["sizes"].get_column(name).sum()) for name in LARGE}
    return {
        "unit_scores": units, "league": league_table(units, t["per_unit"]),
        "grade_distribution": grade_distribution(units, t["grade_counts"], rules),
        "findings_summary": findings_summary(counts if counts.height else pl.DataFrame()),
    }, rows


def collect_all(results: Any, rules: RuleSet) -> tuple[dict[str, Any], dict[str, pl.DataFrame]]:
    """Every table in memory from one Spark job (a library call without an output folder)."""
    from selfeval.bulk import (
        _sort_findings,
        findings_summary,
        grade_distribution,
        league_table,
    )

    t = RESULTS.unpack(_polars(results))
    units = t["unit_scores"].sort("unit_code", maintain_order=True)
    counts = t["finding_counts"]
    small = {
        "unit_scores": units, "league": league_table(units, t["per_unit"]),
        "grade_distribution": grade_distribution(units, t["grade_counts"], rules),
        "findings_summary": findings_summary(counts if counts.height else pl.DataFrame()),
    }
    large = {name: t[name].sort(SORT_KEYS[name], maintain_order=True) for name in ("indicator_scores", "project_scores")}
    return small, {**large, "findings": _sort_findings(t["findings"])}


def write_large(results: Any, out_dir: Path | str) -> None:
    """The large tables written by Spark under `out_dir/<table>/unit_group=K/`."""
    # the groupBy already placed each group in one partition: one file per group and table
    for name in LARGE:
        table = RESULTS.spark_table(results, name).sortWithinPartitions(GROUP, *SORT_KEYS[name])
        table.write.mode("errorifexists").partitionBy(GROUP).parquet(f"{str(out_dir).rstrip('/')}/{name}")
    if "://" not in str(out_dir):
        _drop_spark_markers(Path(out_dir))


def _drop_spark_markers(folder: Path) -> None:
    """Spark's `_SUCCESS` and `.crc` side files: not results, and not in the manifest."""
    for root, _, names in os.walk(folder):
        for name in names:
            if name == "_SUCCESS" or (name.startswith(".") and name.endswith(".crc")):
                os.remove(Path(root) / name)


def scan_large(out_dir: Path, name: str) -> pl.LazyFrame:
    """A written large table read back with its declared schema (the unit group dropped)."""
    target = RESULTS.tables[name]
    if not any((out_dir / name).rglob("*.parquet")):
        return schema.empty(target).lazy()
    return pl.scan_parquet(str(out_dir / name / "**" / "*.parquet"), hive_partitioning=True).select(
        pl.col(c).cast(t) for c, t in target.items())


def run_digest(rules: RuleSet) -> str:
    """sha256 of the rules as shipped to the executors."""
    return hashlib.sha256(rules_text(rules).encode()).hexdigest()


def score_many_spark(
    source: str | Path, rules: RuleSet, *, out: str | Path | None = None, fmt: str = "parquet",
    workbooks: str | Path | None = None, master: str | None = None,
) -> Any:
    """`bulk.score_many` on Spark (`engine="spark"`): same tables, the large ones written by
    Spark partitioned by unit group (`out/indicator_scores/unit_group=K/…`), all-or-nothing with
    the manifest as the local engine's."""
    from selfeval.spark.session import require_pyspark, spark_errors, spark_session

    require_pyspark()
    from pyspark import StorageLevel

    from selfeval.bulk import SKIPPED, _Run

    if workbooks is not None:
        raise SelfevalError("Spark 引擎不写每个单位的自评表（--workbooks）：请用本地引擎，或先批量评分再对选定单位运行 report")
    if fmt != "parquet":
        raise SelfevalError(f"Spark 引擎只写 Parquet 结果表（--format parquet），收到 {fmt}")
    source_text = str(source)
    check_dataset(source_text)
    spark = spark_session(master)
    empty_skipped = pl.DataFrame(schema=SKIPPED)

    def compute(out_dir: Path | None) -> _Run:
        results = scored(spark, source_text, rules)
        if out_dir is None:  # one job: everything to the driver
            small, frames = collect_all(results, rules)
            rows: dict[str, int] = {}
        else:  # computed once, then each large table written and the counts collected
            results = results.persist(StorageLevel.MEMORY_AND_DISK)
            try:
                write_large(results, out_dir)
                small, rows = small_tables(results, rules)
            finally:
                results.unpersist()
            frames = {}
        small = {**small, "skipped": empty_skipped, "rules": rules, "inputs": _groups(source_text)}
        empty = pl.DataFrame()
        return _Run(small=small, indicator_scores=frames.get("indicator_scores", empty),
                    project_scores=frames.get("project_scores", empty), findings=frames.get("findings", empty),
                    rows=rows, written=[], books=[])

    with spark_errors(source_text):
        return _score_many(source_text, rules, out, spark, compute)


def _score_many(source_text: str, rules: RuleSet, out: str | Path | None, spark: Any, compute: Any) -> Any:
    from selfeval.bulk import (
        BulkResult,
        _input_manifest,
        _manifest,
        _owned_by_bulk,
        _refuse_nesting,
    )

    if out is None:
        run = compute(None)
        return BulkResult(indicator_scores=run.indicator_scores.lazy(), project_scores=run.project_scores.lazy(),
                          findings=run.findings.lazy(), **run.small)
    from selfeval.report.tables import write_tables
    from selfeval.staging import MANIFEST, ReplacedFolder, utc_now

    out_dir = Path(out)
    _refuse_nesting(Path(source_text), out_dir)
    started = utc_now()
    with ReplacedFolder(out_dir, owned=_owned_by_bulk) as stage:
        assert stage.path is not None
        staging = stage.path
        inputs = _input_manifest(Path(source_text), "dataset")
        run = compute(staging)
        unit_tables = {"unit_scores": run.small["unit_scores"], "league_table": run.small["league"],
                        "grade_distribution": run.small["grade_distribution"],
                        "findings_summary": run.small["findings_summary"], "skipped": run.small["skipped"]}
        run.written = write_tables(unit_tables, staging, "parquet")
        run.rows.update({name: frame.height for name, frame in unit_tables.items()})
        manifest = _manifest(rules, "parquet", 0, inputs, run, staging, None, started)
        for name in LARGE:
            manifest["tables"][name] = {"rows": run.rows[name], "folder": f"{name}/", "partitioned_by": GROUP}
        manifest["engine"] = {"name": "spark", "master": spark.sparkContext.master, "spark": spark.version,
                              "rules_shipped_sha256": run_digest(rules)}
        del manifest["batch_indicators"]
        stage.commit(manifest)
    written = [out_dir / p.relative_to(staging) for p in run.written] + [
        out_dir / name / f.relative_to(out_dir / name) for name in LARGE for f in sorted((out_dir / name).rglob("*.parquet"))]
    return BulkResult(indicator_scores=scan_large(out_dir, "indicator_scores"),
                      project_scores=scan_large(out_dir, "project_scores"), findings=scan_large(out_dir, "findings"),
                      written=[*written, out_dir / MANIFEST], **run.small)


def _groups(source: str) -> int:
    """Number of unit groups (the inputs of the run, as the local engine counts its batches)."""
    if "://" not in source:
        return sum(1 for p in (Path(source) / "indicators").iterdir() if p.is_dir() and p.name.startswith(f"{GROUP}="))
    return 0


__all__ = ["INPUTS", "LARGE", "RESULTS", "rules_of", "rules_text", "score_frames", "score_group", "score_many_spark", "scored"]
