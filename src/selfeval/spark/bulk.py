"""`selfeval bulk --engine spark`: a partitioned dataset scored on Spark, unit group by unit group.

Each unit group — all of its units' projects, indicators, actuals and execution — is scored by
`pipeline.run` on an executor, which reads the group's own files (or, for catalog tables and
paths Polars cannot open, gets them from Spark through Arrow: `groups.py`). The rules travel to
the executors as their resolved YAML (with the rule file's sha256). The large result tables are written by Spark, partitioned by
unit group; the per-unit tables (league table, grade distribution, findings summary) are built
on the driver by `selfeval.bulk`'s own functions from Spark SQL aggregates of the results.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from selfeval import schema
from selfeval.bulk import SKIPPED
from selfeval.errors import SelfevalError
from selfeval.rules.model import RuleSet
from selfeval.spark.groups import Work, score_stacked, unit_groups
from selfeval.spark.inputs import declared_columns, stack
from selfeval.spark.output import drop_spark_markers
from selfeval.spark.packing import GROUP, Layout

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
    "unit_scores": schema.UNIT_SCORES, "findings": schema.FINDINGS, **COUNTS, "skipped": SKIPPED,
})
SMALL = ("unit_scores", *COUNTS, "skipped")
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


def score_inputs(
    declaration: Any, actuals: pl.DataFrame, execution: pl.DataFrame, rules: str, out: tuple[str, int] | None = None,
) -> dict[str, pl.DataFrame]:
    """Executor side: one unit group's result tables and counts (`RESULTS`), scored as bulk scores
    a batch. With `out` (folder, unit group) the large tables are written there by the executor
    (`write_group`) and only the counts come back."""
    from selfeval.bulk import _finding_counts, _sort_findings
    from selfeval.pipeline import run

    frames = run(declaration, actuals, execution, rules_of(rules))
    findings = _sort_findings(frames.findings)
    large = {"indicator_scores": frames.indicator_scores.sort(SORT_KEYS["indicator_scores"], maintain_order=True),
             "project_scores": frames.project_scores.sort(SORT_KEYS["project_scores"], maintain_order=True),
             "findings": findings}
    if out is not None:
        folder, group = out
        write_group({name: f"{folder}/{name}" for name in large}, group, large)
        large = {}
    return {
        **large, "unit_scores": frames.unit_scores,
        # as bulk._run counts each batch
        "per_unit": findings.group_by("unit_code").agg(
            (pl.col("severity") == "error").sum().alias("errors"), (pl.col("severity") == "warning").sum().alias("warnings")),
        "finding_counts": _finding_counts(findings),
        "grade_counts": frames.project_scores.group_by("grade").len(),
        "sizes": pl.DataFrame([[frames.indicator_scores.height], [frames.project_scores.height], [findings.height]],
                              schema=COUNTS["sizes"]),
    }


def write_group(folders: Mapping[str, str], group: int, frames: Mapping[str, pl.DataFrame]) -> None:
    """Executor side: a group's tables as `folders[table]/unit_group=K/part-0.parquet`, the layout
    Spark's partitioned writer gives; each file whole (a retried task replaces it)."""
    from selfeval.atomic import atomic_path

    for name, frame in frames.items():
        with atomic_path(Path(folders[name]) / f"{GROUP}={group}" / "part-0.parquet") as tmp:
            frame.write_parquet(tmp)


def group_work(rules: RuleSet, out: Path | None = None) -> Work:
    """The scoring Spark runs per unit group (pickled with the rules' YAML); with `out` (a folder
    the executors can write) each executor writes its group's large tables there itself."""
    text = rules_text(rules)
    folder = None if out is None else str(out)

    def work(group: int, declaration: Any, actuals: pl.DataFrame, execution: pl.DataFrame) -> dict[str, pl.DataFrame]:
        return score_inputs(declaration, actuals, execution, text, None if folder is None else (folder, group))

    return work


# ----------------------------------------------------------------------------- inputs to results


def score_frames(frames: Mapping[str, Any], rules: RuleSet, source: str = "spark") -> dict[str, Any]:
    """Result tables (Spark frames, each with its unit group) of input tables given as Spark frames
    — Hive tables (`spark.table("db.indicators")`) or any other source. Each frame holds a table's
    columns (`selfeval.schema`) and `unit_group`; `units`, `projects`, `indicators` are required,
    `actuals`, `execution`, `department_goals` may be missing. The results are lazy: persist them
    before writing more than one."""
    inputs = stack({name: declared_columns(frame, name) for name, frame in frames.items() if frame is not None})
    results = score_stacked(inputs, RESULTS, group_work(rules), source)
    return {name: RESULTS.spark_table(results, name) for name in (*LARGE, "unit_scores")}


def scored(spark: Any, source: str, rules: RuleSet) -> Any:
    """The stacked result tables of every unit group (lazy; persist before several actions)."""
    return unit_groups(spark, source, RESULTS, group_work(rules))


# ----------------------------------------------------------------------------- the run


def _polars(frame: Any) -> pl.DataFrame:
    out = pl.from_arrow(frame.toArrow())
    assert isinstance(out, pl.DataFrame)
    return out


def small_tables(results: Any, rules: RuleSet) -> tuple[dict[str, Any], dict[str, int]]:
    """(unit_scores, league, grade_distribution, findings_summary; rows of each large table), from
    the per-group counts collected in one Spark job and summed by `selfeval.bulk`'s functions."""
    from pyspark.sql import functions as F

    wanted = [RESULTS.index(name) for name in SMALL]
    t = RESULTS.unpack(_polars(results.filter(F.col("_table").isin(wanted))))
    rows = {name: int(t["sizes"].get_column(name).sum()) for name in LARGE}
    return _unit_tables(t, rules), rows


def _unit_tables(t: dict[str, pl.DataFrame], rules: RuleSet) -> dict[str, Any]:
    """The per-unit tables from the per-group counts, by `selfeval.bulk`'s own functions."""
    from selfeval.bulk import findings_summary, grade_distribution, league_table

    units = t["unit_scores"].sort("unit_code", maintain_order=True)
    counts = t["finding_counts"]
    return {
        "unit_scores": units, "league": league_table(units, t["per_unit"]),
        "grade_distribution": grade_distribution(units, t["grade_counts"], rules),
        "findings_summary": findings_summary(counts if counts.height else pl.DataFrame()),
        "skipped": t["skipped"],
    }


def collect_all(results: Any, rules: RuleSet) -> tuple[dict[str, Any], dict[str, pl.DataFrame]]:
    """Every table in memory from one Spark job (a library call without an output folder)."""
    from selfeval.bulk import _sort_findings

    t = RESULTS.unpack(_polars(results))
    small = _unit_tables(t, rules)
    large = {name: t[name].sort(SORT_KEYS[name], maintain_order=True) for name in ("indicator_scores", "project_scores")}
    return small, {**large, "findings": _sort_findings(t["findings"])}


def write_large(results: Any, out_dir: Path | str) -> None:
    """The large tables written by Spark under `out_dir/<table>/unit_group=K/`."""
    # the groupBy already placed each group in one partition: one file per group and table
    for name in LARGE:
        table = RESULTS.spark_table(results, name).sortWithinPartitions(GROUP, *SORT_KEYS[name])
        table.write.mode("errorifexists").partitionBy(GROUP).parquet(f"{str(out_dir).rstrip('/')}/{name}")
    if "://" not in str(out_dir):
        drop_spark_markers(Path(out_dir))


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
    """`bulk.score_many` on Spark (`engine="spark"`): same tables, the large ones partitioned by
    unit group (`out/indicator_scores/unit_group=K/…`), all-or-nothing with the manifest as the
    local engine's. On a local master the executors write them (they read their groups' files
    and share this machine's folders: `groups.direct_listing`); otherwise Spark does."""
    from selfeval.spark.session import (
        is_local,
        require_pyspark,
        spark_errors,
        spark_session,
    )

    require_pyspark()
    from pyspark import StorageLevel

    from selfeval.bulk import _Run
    from selfeval.spark.groups import direct_listing, read_on_executors
    from selfeval.spark.inputs import check_dataset

    if workbooks is not None:
        raise SelfevalError("Spark 引擎不写每个单位的自评表（--workbooks）：请用本地引擎，或先批量评分再对选定单位运行 report")
    if fmt != "parquet":
        raise SelfevalError(f"Spark 引擎只写 Parquet 结果表（--format parquet），收到 {fmt}")
    source_text = str(source)
    check_dataset(source_text)
    spark = spark_session(master)

    def compute(out_dir: Path | None) -> _Run:
        listed = direct_listing(spark, source_text)
        if out_dir is None:  # one job: everything to the driver
            small, frames = collect_all(scored(spark, source_text, rules), rules)
            rows: dict[str, int] = {}
        elif listed is not None and is_local(spark.sparkContext.master):
            # one job: each executor writes its group's large tables, only the counts come back
            # (moving the wide result rows through Spark cost more than the scoring)
            results = read_on_executors(spark, source_text, RESULTS, group_work(rules, out_dir), listed)
            small, rows = small_tables(results, rules)
            frames = {}
        else:  # computed once, then each large table written by Spark and the counts collected
            results = scored(spark, source_text, rules).persist(StorageLevel.MEMORY_AND_DISK)
            try:
                write_large(results, out_dir)
                small, rows = small_tables(results, rules)
            finally:
                results.unpersist()
            frames = {}
        small = {**small, "rules": rules, "inputs": _groups(source_text)}
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


__all__ = ["LARGE", "RESULTS", "rules_of", "rules_text", "score_frames", "score_inputs", "score_many_spark", "scored"]
