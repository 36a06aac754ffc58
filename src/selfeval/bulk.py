"""Bulk scoring: every unit under a finance bureau in one run (SPEC.md §7, issue 6).

`score_many(source, rules)` accepts three kinds of input:

1. **A (hive-)partitioned Parquet dataset** — a folder holding `indicators/`, `projects/`,
   `units/`, `actuals/`, `execution/` (optionally `department_goals/`), each a folder of Parquet
   files, usually partitioned `unit_group=K/part-0.parquet` as `selfeval synth` writes them.
   Partitions are scored in batches of about `batch_indicators` indicators, so memory stays
   bounded however large the dataset is.
2. **Canonical tables holding many units** — a folder with `units`, `projects`, `indicators`
   (and optionally `department_goals`) plus `actuals` and `execution`, as .parquet or .csv.
3. **A folder of per-unit inputs** — one subfolder per unit holding its declaration (the target
   document `.txt`/`.docx`, a canonical-tables `.xlsx`, or `units/projects/indicators` tables)
   and either the filled fill-in template (`.xlsx` with sheets 实际完成值 and 预算执行) or
   `actuals.*` and `execution.*` files; or, flat, a declaration `NAME.txt|.docx` next to its
   filled template `NAME.xlsx` (or `NAME_<anything>.xlsx`). Each unit is read on its own: a file
   that cannot be read is reported in `skipped` with its reason and the run goes on.

Outputs: the four result tables, a league table (units ranked by total, with grade), the grade
distribution, the findings summary by code, the skipped inputs, and optionally one workbook per
unit written in parallel across processes (named by `report.excel.workbook_filenames`, as
`report` names them). An output folder is written all-or-nothing with a `manifest.json`
(`selfeval.staging`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from selfeval import schema
from selfeval.background import InOrder, mapped_in_order, prefetched
from selfeval.declaration import Declaration
from selfeval.engine import collect
from selfeval.errors import InputError, Problem, SelfevalError
from selfeval.rules.loader import DEFAULT_RULES, load_rules
from selfeval.rules.model import RuleSet

if TYPE_CHECKING:
    from selfeval.report.parts import TableParts

DATASET_TABLES = ("units", "projects", "indicators", "actuals", "execution")
OPTIONAL_DATASET_TABLES = ("department_goals",)
TABLE_SCHEMAS = {**schema.DECLARED_TABLES, "actuals": schema.ACTUALS, "execution": schema.EXECUTION}
ACTUALS_NAMES = ("actuals", "实际完成值")
EXECUTION_NAMES = ("execution", "预算执行")
DECLARATION_SUFFIXES = (".txt", ".docx")
TABLE_SUFFIXES = (".parquet", ".csv", ".xlsx")
BATCH_INDICATORS = 250_000
# Batches scored side by side by default (threads; `workers` sets more): each holds one more batch
# in memory (≈0.3 GiB at 250,000 indicators), so the default stays within a 2 GiB budget.
MAX_SCORERS = 2
SKIPPED = pl.Schema({"path": pl.String, "reason": pl.String})
LEAGUE = pl.Schema(
    {
        "rank": pl.Int32, "unit_code": pl.String, "unit_name": pl.String, "total": pl.Float64, "grade": pl.String,
        "projects": pl.Int32, "budget": pl.Float64, "executed": pl.Float64, "execution_rate": pl.Float64,
        "complete": pl.Boolean, "errors": pl.Int64, "warnings": pl.Int64,
    }
)


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class UnitInput:
    """The files of one unit in a folder of per-unit inputs."""

    label: str
    declared: Path
    actuals: Path
    execution: Path


@dataclass
class Batch:
    """Inputs of a group of units, scored together."""

    label: str
    declaration: Declaration
    actuals: pl.DataFrame
    execution: pl.DataFrame


def source_kind(source: Path) -> str:
    """`dataset`, `tables` or `units` (see the module docstring); InputError otherwise."""
    if not source.is_dir():
        raise InputError(f"批量评分的输入应为文件夹（分区 Parquet 数据集、规范表格或每个单位一个子文件夹），读到：{source}", source)
    if (source / "indicators").is_dir():
        return "dataset"
    stems = {p.stem.lower() for p in source.iterdir() if p.is_file() and p.suffix.lower() in (".parquet", ".csv")}
    if {"units", "projects", "indicators"} <= stems or {"单位", "项目", "指标"} <= stems:
        return "tables"
    return "units"


def _table_file(folder: Path, names: Sequence[str]) -> Path | None:
    for name in names:
        for suffix in TABLE_SUFFIXES:
            for p in folder.iterdir():
                if p.is_file() and p.stem.lower() == name.lower() and p.suffix.lower() == suffix:
                    return p
    return None


def unit_inputs(folder: Path) -> tuple[list[UnitInput], list[tuple[str, str]]]:
    """Per-unit input sets of a folder, and the entries that are incomplete (path, reason)."""
    found: list[UnitInput] = []
    problems: list[tuple[str, str]] = []
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith((".", "~$")))
    for sub in (p for p in entries if p.is_dir()):
        files = sorted(p for p in sub.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))
        stems = {p.stem.lower() for p in files if p.suffix.lower() in (".parquet", ".csv")}
        documents = [p for p in files if p.suffix.lower() in DECLARATION_SUFFIXES]
        actuals = _table_file(sub, ACTUALS_NAMES)
        execution = _table_file(sub, EXECUTION_NAMES)
        workbooks = [p for p in files if p.suffix.lower() == ".xlsx" and p not in (actuals, execution)]
        declared: Path | None
        if {"units", "projects", "indicators"} <= stems:
            declared = sub
        elif documents:
            declared = documents[0]
        elif len(workbooks) == 2:  # a canonical-tables workbook and a filled template
            from selfeval.ingest.tables import is_tables_workbook, sheet_names

            try:
                tables = [w for w in workbooks if is_tables_workbook(sheet_names(w))]
            except SelfevalError:
                tables = []
            declared = tables[0] if tables else None
            workbooks = [w for w in workbooks if w != declared]
        else:
            declared = None
        template = workbooks[0] if workbooks else None
        actuals = actuals or template
        execution = execution or template
        if declared is None:
            problems.append((str(sub), "找不到绩效目标表（.txt/.docx、规范表格 .xlsx 或 units/projects/indicators 表）"))
        elif actuals is None or execution is None:
            problems.append((str(sub), "找不到实际完成值与预算执行（已填写的模板 .xlsx，或 actuals.* 与 execution.*）"))
        else:
            found.append(UnitInput(sub.name, declared, actuals, execution))
    flat_docs = [p for p in entries if p.is_file() and p.suffix.lower() in DECLARATION_SUFFIXES]
    flat_books = [p for p in entries if p.is_file() and p.suffix.lower() == ".xlsx"]
    for doc in flat_docs:
        matches = [b for b in flat_books if b.stem == doc.stem or (b.stem.startswith(doc.stem) and b.stem[len(doc.stem)] in "_-. ")]
        if len(matches) == 1:
            found.append(UnitInput(doc.stem, doc, matches[0], matches[0]))
        elif not matches:
            problems.append((str(doc), f"找不到与之配对的已填写模板（{doc.stem}.xlsx 或 {doc.stem}_….xlsx）"))
        else:
            problems.append((str(doc), "有多个可能配对的模板：" + "、".join(m.name for m in matches)))
    return found, problems


def _error_path(exc: Exception, default: Path) -> str:
    if isinstance(exc, InputError) and exc.problems:
        return exc.problems[0].file
    return str(default)


def _concat_declarations(parts: list[Declaration]) -> Declaration:
    tables = {
        name: pl.concat([getattr(d, name) for d in parts], how="vertical") if parts else schema.empty(target)
        for name, target in schema.DECLARED_TABLES.items()
    }
    return Declaration(**tables, sources=tuple(s for d in parts for s in d.sources))


def _filter_units(decl: Declaration, actuals: pl.DataFrame, execution: pl.DataFrame, codes: list[str]) -> Batch:
    keep = pl.col("unit_code").is_in(codes)
    projects = decl.projects.filter(keep)
    project_codes = projects.get_column("project_code")
    # actuals/execution may leave unit_code empty: they belong to the unit of their project
    own = keep | (pl.col("unit_code").is_null() & pl.col("project_code").is_in(project_codes.implode()))
    return Batch(
        label=f"{codes[0]}…{codes[-1]}",
        declaration=Declaration(
            units=decl.units.filter(keep), projects=projects, indicators=decl.indicators.filter(keep),
            department_goals=decl.department_goals.filter(keep), sources=decl.sources,
        ),
        actuals=actuals.filter(own),
        execution=execution.filter(own),
    )


def _batches_of(decl: Declaration, actuals: pl.DataFrame, execution: pl.DataFrame, batch_indicators: int) -> Iterator[Batch]:
    """Split in-memory inputs into batches of whole units, about `batch_indicators` indicators each:
    a unit joins the batch its first indicator's running offset falls in."""
    counts = decl.units.select("unit_code").join(
        decl.indicators.group_by("unit_code").len(), on="unit_code", how="left", maintain_order="left"
    ).with_columns(pl.col("len").fill_null(0))
    if not counts.height:
        yield Batch("", decl, actuals, execution)
        return
    start = pl.col("len").cum_sum() - pl.col("len")
    batches = counts.with_columns((start // max(1, batch_indicators)).alias("_batch")).group_by(
        "_batch", maintain_order=True
    ).agg(pl.col("unit_code"))
    for codes in batches.get_column("unit_code").to_list():
        yield _filter_units(decl, actuals, execution, codes)


# ----------------------------------------------------------------------------- datasets


def _partitions(table_dir: Path) -> dict[str, list[Path]]:
    """Parquet files of a dataset table, by partition folder name (`unit_group=3`); '' when flat."""
    parts: dict[str, list[Path]] = {}
    for path in sorted(table_dir.rglob("*.parquet")):
        if any(p.startswith(".") for p in path.relative_to(table_dir).parts):
            continue
        key = str(path.parent.relative_to(table_dir)) if path.parent != table_dir else ""
        parts.setdefault(key, []).append(path)
    return parts


def _partition_sort_key(key: str) -> tuple[Any, ...]:
    value = key.rsplit("=", 1)[-1]
    return (0, int(value), key) if value.isdigit() else (1, 0, key)


def _read_dataset_table(files: list[Path], target: pl.Schema) -> pl.DataFrame:
    frame = pl.read_parquet([str(f) for f in files], hive_partitioning=False, glob=False) if files else schema.empty(target)
    return schema.conform(frame, target)


def dataset_partitions(folder: Path) -> dict[str, dict[str, list[Path]]]:
    """The Parquet files of a partitioned dataset: table → partition folder name (`unit_group=3`;
    '' for a flat table) → files. InputError when a required table is missing.

    A data set that `selfeval synth` began and did not finish (its `synth.json` marked incomplete)
    is refused whole: its missing partitions would go unnoticed.
    """
    from selfeval.synth_marker import MARKER, incomplete_synth

    unfinished = incomplete_synth(folder)
    if unfinished is not None:
        raise InputError(Problem(file=str(folder / MARKER), message=unfinished,
                                 expected="重新运行 selfeval synth 生成完整的数据集"))
    tables = {name: _partitions(folder / name) if (folder / name).is_dir() else {} for name in (*DATASET_TABLES, *OPTIONAL_DATASET_TABLES)}
    for name in DATASET_TABLES:
        single = next((folder / f"{name}{s}" for s in (".parquet",) if (folder / f"{name}{s}").is_file()), None)
        if not tables[name] and single is not None:
            tables[name] = {"": [single]}
        if not tables[name] and name not in ("actuals", "execution"):
            raise InputError(f"数据集缺少表 {name}（应为文件夹 {name}/ 下的 .parquet 文件）", folder)
    return tables


def partition_indicators(folder: Path, files: list[Path], key: str, skipped: list[tuple[str, str]]) -> int | None:
    """Indicators in one partition (from the Parquet footers), or None with the reason in `skipped`."""
    try:
        return sum(collect(pl.scan_parquet(str(f), glob=False).select(pl.len())).item() for f in files)
    except Exception as exc:  # noqa: BLE001  any unreadable file: the partition is skipped, the run goes on
        skipped.append((str(folder / "indicators" / key), f"无法读取 Parquet：{type(exc).__name__}: {exc}"))
        return None


def read_partitions(
    folder: Path, tables: dict[str, dict[str, list[Path]]], group: list[str], skipped: list[tuple[str, str]],
) -> Batch | None:
    """The inputs of the partitions `group` as one batch, or None with each partition in `skipped`
    when a file cannot be read."""
    frames: dict[str, pl.DataFrame] = {}
    try:
        for name, target in TABLE_SCHEMAS.items():
            files = [f for key in group for f in tables[name].get(key, [])]
            if "" in tables[name] and name != "indicators":  # an unpartitioned table: all units
                files = tables[name][""]
            frames[name] = _read_dataset_table(files, target)
    except Exception as exc:  # noqa: BLE001  as above
        for key in group:
            skipped.append((str(folder / "*" / key), f"无法读取该分区：{type(exc).__name__}: {exc}"))
        return None
    codes = frames["indicators"].get_column("unit_code").unique().implode()
    if any("" in tables[n] for n in TABLE_SCHEMAS if n != "indicators"):
        keep = pl.col("unit_code").is_in(codes)
        frames = {n: f.filter(keep) if n in schema.DECLARED_TABLES else f for n, f in frames.items()}
    decl = Declaration(
        units=frames["units"], projects=frames["projects"], indicators=frames["indicators"],
        department_goals=frames["department_goals"], sources=(str(folder),),
    )
    return Batch(group[0] if len(group) == 1 else f"{group[0]}…{group[-1]}", decl, frames["actuals"], frames["execution"])


def dataset_batches(
    folder: Path, batch_indicators: int, skipped: list[tuple[str, str]]
) -> tuple[int, Iterator[Batch]]:
    """(number of batches, batches) of a partitioned dataset (`dataset_partitions`); unreadable
    partitions go to `skipped`."""
    tables = dataset_partitions(folder)
    keys = sorted(tables["indicators"], key=_partition_sort_key)
    sizes: dict[str, int] = {}
    for key in keys:
        size = partition_indicators(folder, tables["indicators"][key], key, skipped)
        if size is not None:
            sizes[key] = size
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for key in (k for k in keys if k in sizes):
        current.append(key)
        size += sizes[key]
        if size >= batch_indicators:
            groups.append(current)
            current, size = [], 0
    if current:
        groups.append(current)

    def generate() -> Iterator[Batch]:
        for group in groups:
            batch = read_partitions(folder, tables, group, skipped)
            if batch is not None:
                yield batch

    return len(groups), generate()


def load_inputs(source: str | Path) -> tuple[Declaration, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """All units of a bulk source in memory: (declaration, actuals, execution, skipped)."""
    source = Path(source)
    kind = source_kind(source)
    skipped: list[tuple[str, str]] = []
    if kind == "dataset":
        _, batches = dataset_batches(source, 2**62, skipped)
        parts = list(batches)
        decl = _concat_declarations([b.declaration for b in parts])
        actuals = _concat([b.actuals for b in parts], schema.ACTUALS)
        execution = _concat([b.execution for b in parts], schema.EXECUTION)
    else:
        _, (decl, actuals, execution) = _read_inputs(source, kind, skipped, None)
    return decl, actuals, execution, pl.DataFrame(skipped, schema=SKIPPED, orient="row")


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True)
class BulkResult:
    """Outcome of a bulk run.

    `indicator_scores`, `project_scores` and `findings` are LazyFrames (they grow with the data:
    tens of millions of rows; when `score_many` is given `out`, they are scans of the written
    files): `.collect()` them. The other frames hold one row per unit or less and are in memory.
    """

    indicator_scores: pl.LazyFrame
    project_scores: pl.LazyFrame
    unit_scores: pl.DataFrame
    findings: pl.LazyFrame
    league: pl.DataFrame
    grade_distribution: pl.DataFrame
    findings_summary: pl.DataFrame
    skipped: pl.DataFrame
    rules: RuleSet
    inputs: int = 0
    written: list[Path] = field(default_factory=list)

    @property
    def projects(self) -> int:
        """Number of projects scored."""
        return int(self.grade_distribution.filter(pl.col("level") == "项目")["count"].sum())

    def tables(self) -> dict[str, pl.DataFrame | pl.LazyFrame]:
        return {
            "indicator_scores": self.indicator_scores, "project_scores": self.project_scores,
            "unit_scores": self.unit_scores, "findings": self.findings, "league_table": self.league,
            "grade_distribution": self.grade_distribution, "findings_summary": self.findings_summary,
            "skipped": self.skipped,
        }


def league_table(units: pl.DataFrame, unit_findings: pl.DataFrame) -> pl.DataFrame:
    """Units ranked by total (highest first; ties share a rank), with grade and findings counts."""
    frame = (
        units.join(unit_findings, on="unit_code", how="left")
        .with_columns(
            pl.col("errors").fill_null(0), pl.col("warnings").fill_null(0),
            pl.when(pl.col("budget") > 0).then(pl.col("executed") / pl.col("budget")).otherwise(None).alias("execution_rate"),
            pl.col("total").rank(method="min", descending=True).cast(pl.Int32).alias("rank"),
        )
        .sort(["total", "unit_code"], descending=[True, False], nulls_last=True)
    )
    return frame.select([pl.col(c).cast(t) for c, t in LEAGUE.items()])


def grade_distribution(units: pl.DataFrame, projects: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    """Per level (单位/项目) and grade: count and share, best grade first.

    `projects` may be project rows or counts already taken (columns grade, len)."""
    grades = [g.grade for g in rules.grades]
    rows = []
    for level, frame in (("单位", units), ("项目", projects)):
        if "len" not in frame.columns:
            frame = frame.group_by("grade").len()
        counts = dict(frame.group_by("grade").agg(pl.col("len").sum()).iter_rows())
        total = sum(counts.values())
        for grade in [*grades, *(g for g in counts if g not in grades)]:
            n = counts.get(grade, 0)
            rows.append({"level": level, "grade": grade, "count": n, "share": (n / total) if total else 0.0})
    return pl.DataFrame(rows, schema={"level": pl.String, "grade": pl.String, "count": pl.Int64, "share": pl.Float64})


def findings_summary(counts: pl.DataFrame) -> pl.DataFrame:
    """Findings by code: severity, name, count, units affected (most frequent first)."""
    from selfeval.findings import CATALOGUE

    names = {code: kind.name for code, kind in CATALOGUE.items()}
    if counts.is_empty():
        return pl.DataFrame(schema={"code": pl.String, "severity": pl.String, "name": pl.String, "count": pl.Int64, "units": pl.Int64})
    return (
        counts.group_by("code", "severity").agg(pl.col("count").sum(), pl.col("units").sum())
        .with_columns(pl.col("code").replace_strict(names, default=pl.col("code"), return_dtype=pl.String).alias("name"))
        .select("code", "severity", "name", "count", "units")
        .sort(["count", "code"], descending=[True, False])
    )


def _finding_counts(findings: pl.DataFrame) -> pl.DataFrame:
    """Findings by (code, severity): how many, and how many units they concern (a file's note names none)."""
    return findings.group_by("code", "severity").agg(
        pl.len().cast(pl.Int64).alias("count"), pl.col("unit_code").drop_nulls().n_unique().cast(pl.Int64).alias("units")
    )


def _sorted_by_location(frame: pl.DataFrame, keys: tuple[str, ...] = ("unit_code", "project_code", "seq")) -> pl.DataFrame:
    """`frame` sorted by `keys` (stable), or `frame` itself when it already is: a declaration
    usually lists its indicators in that order, and sorting a wide frame gathers every column
    (1 M indicator rows: 74 ms, against 12 ms to see they are in order)."""
    if frame.height > 1 and not any(frame.get_column(k).null_count() for k in keys):
        cur, prev = [pl.col(k) for k in keys], [pl.col(k).shift() for k in keys]
        in_order = cur[-1] >= prev[-1]
        for c, p in zip(reversed(cur[:-1]), reversed(prev[:-1])):
            in_order = (c > p) | ((c == p) & in_order)
        if frame.lazy().select(in_order.fill_null(True).all()).collect(engine="in-memory").item():
            return frame
    return frame.sort(list(keys), maintain_order=True)


def _sort_findings(frame: pl.DataFrame) -> pl.DataFrame:
    rank = pl.col("severity").replace_strict({"error": 0, "warning": 1, "info": 2}, default=3, return_dtype=pl.Int32)
    return frame.sort(["unit_code", "project_code", "seq", rank, "code", "column", "value", "message"], nulls_last=True, maintain_order=True)


# ----------------------------------------------------------------------------- workbooks


def _write_workbook_chunk(result: Any, folder: str, files: list[tuple[str, str]], generated_at: dt.datetime) -> list[str]:
    """Worker: the workbook of each (unit code, file name) of `files` (runs in a child process)."""
    from selfeval.report.excel import write_workbook

    return [str(write_workbook(result, Path(folder) / name, unit_code=code, generated_at=generated_at)) for code, name in files]


def _unit_result(batch: Batch, frames: Any, rules: RuleSet, codes: list[str]) -> Any:
    from selfeval.result import Result

    keep = pl.col("unit_code").is_in(codes)
    part = _filter_units(batch.declaration, batch.actuals, batch.execution, codes)
    return Result(
        indicator_scores=frames.indicator_scores.filter(keep), project_scores=frames.project_scores.filter(keep),
        unit_scores=frames.unit_scores.filter(keep), findings=frames.findings.filter(keep),
        declaration=part.declaration, rules=rules,
    )


# ----------------------------------------------------------------------------- progress


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), TextColumn("{task.fields[item]}"), console=Console(stderr=True), transient=False,
    ) as bar:
        yield bar


# ----------------------------------------------------------------------------- score_many


def score_many(
    source: str | Path,
    rules: RuleSet | str | Path = DEFAULT_RULES,
    *,
    out: str | Path | None = None,
    fmt: str = "parquet",
    workbooks: str | Path | None = None,
    workers: int | None = None,
    batch_indicators: int = BATCH_INDICATORS,
    progress: bool = False,
    engine: str = "local",
    master: str | None = None,
) -> BulkResult:
    """Score every unit of `source` (a dataset, canonical tables or a folder of per-unit inputs).

    Units are scored in batches of about `batch_indicators` indicators (whole units; scores do
    not depend on the batching). With `out`, the result tables are written there as they are
    produced (`fmt`: parquet, csv or both), so the large ones never sit in memory together.
    With `workbooks`, one self-evaluation workbook per unit is written to that folder by
    `workers` processes (default: the number of CPUs). Batches are scored `workers` at a time
    (threads; default: the number of CPUs, at most MAX_SCORERS), the next one read and the last
    one written meanwhile.

    `out` is written all-or-nothing (`selfeval.staging`): the run's files, with `manifest.json`
    naming the run, its rules and the digests of its inputs, replace the folder's contents in one
    step, or — stopped, killed, or failing — leave it as it was. A second run into the same `out`
    meanwhile, an `out` holding files bulk did not write, or one inside the input (or holding it)
    is refused with an OutputError. `workbooks` inside `out` are part of that swap.

    `engine="spark"` scores a partitioned dataset on Apache Spark (`master`, default `local[2]`;
    `selfeval.spark.bulk`): the same tables, the large ones written partitioned by unit group.
    """
    if engine == "spark":
        from selfeval.spark.bulk import score_many_spark

        return score_many_spark(source, load_rules(rules), out=out, fmt=fmt, workbooks=workbooks, master=master)
    if engine != "local":
        raise SelfevalError(f"未知的引擎 {engine!r}：应为 local 或 spark")
    source = Path(source)
    rules = load_rules(rules)
    kind = source_kind(source)
    if out is None:
        run = _run(source, kind, rules, None, fmt, Path(workbooks) if workbooks is not None else None, workers, batch_indicators, progress)
        return BulkResult(
            indicator_scores=run.indicator_scores.lazy(), project_scores=run.project_scores.lazy(),
            findings=run.findings.lazy(), written=run.books, **run.small,
        )
    from selfeval.report.tables import table_suffixes
    from selfeval.staging import MANIFEST, ReplacedFolder, utc_now

    table_suffixes(fmt)  # a bad format fails here, before any work
    out_dir = Path(out)
    _refuse_nesting(source, out_dir)
    started = utc_now()
    with ReplacedFolder(out_dir, owned=_owned_by_bulk) as stage:
        assert stage.path is not None
        staging = stage.path
        books = _staged_workbooks(workbooks, stage.out, staging)
        inputs = _input_manifest(source, kind)
        run = _run(source, kind, rules, staging, fmt, books, workers, batch_indicators, progress)
        stage.commit(_manifest(rules, fmt, batch_indicators, inputs, run, staging, books, started))

    def final(path: Path) -> Path:  # a staged path → the same path under `out`
        return out_dir / path.relative_to(staging) if path.is_relative_to(staging) else path

    def scan(name: str) -> pl.LazyFrame:
        return pl.scan_parquet(str(out_dir / f"{name}.parquet"), glob=False) if fmt != "csv" else pl.scan_csv(str(out_dir / f"{name}.csv"), glob=False)

    return BulkResult(
        indicator_scores=scan("indicator_scores"), findings=scan("findings"), project_scores=scan("project_scores"),
        written=[final(p) for p in [*run.written, staging / MANIFEST, *run.books]], **run.small,
    )


@dataclass
class _Run:
    """What `_run` produced: the small frames, the large ones (when kept in memory), the files."""

    small: dict[str, Any]
    indicator_scores: pl.DataFrame
    project_scores: pl.DataFrame
    findings: pl.DataFrame
    rows: dict[str, int]
    written: list[Path]
    books: list[Path]


def _run(
    source: Path, kind: str, rules: RuleSet, out_dir: Path | None, fmt: str, workbooks: Path | None,
    workers: int | None, batch_indicators: int, progress: bool,
) -> _Run:
    """Score `source` batch by batch; with `out_dir`, write every table into it (the staging
    folder of `score_many`); with `workbooks`, one workbook per unit there."""
    skipped: list[tuple[str, str]] = []
    large: dict[str, TableParts] = {}
    if out_dir is not None:
        from selfeval.report.parts import TableParts
        from selfeval.report.tables import table_suffixes

        suffixes = table_suffixes(fmt)  # a bad format fails here, before any work
        out_dir.mkdir(parents=True, exist_ok=True)
        large = {name: TableParts(out_dir, name, suffixes, target) for name, target in LARGE_TABLES.items()}
    indicator_parts: list[pl.DataFrame] = []
    finding_parts: list[pl.DataFrame] = []
    project_parts: list[pl.DataFrame] = []
    grade_parts: list[pl.DataFrame] = []
    unit_parts: list[pl.DataFrame] = []
    count_parts: list[pl.DataFrame] = []
    per_unit_parts: list[pl.DataFrame] = []
    inputs = 0
    notes: list[pl.DataFrame] = []  # INPUT_NOTE findings of the files read
    executor = None
    futures = []
    writer = InOrder()  # the last batch's rows written while the next batch is scored
    scorers = workers or min(MAX_SCORERS, os.cpu_count() or 1)
    written_books: list[Path] = []
    taken_names: set[str] = set()  # workbook file names used so far (case-folded), across batches
    generated_at = dt.datetime.now().replace(microsecond=0)
    if workbooks is not None:
        import multiprocessing

        from selfeval.atomic import refuse_symlinks
        from selfeval.report.excel import workbook_filenames

        workbooks.mkdir(parents=True, exist_ok=True)
        executor = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, mp_context=multiprocessing.get_context("spawn"))
    try:
        with _progress(progress) as bar:
            if kind == "dataset":
                total, batches = dataset_batches(source, batch_indicators, skipped)
                inputs = total
            else:
                inputs, (decl, actuals, execution) = _read_inputs(source, kind, skipped, bar, notes)
                chunks = list(_batches_of(decl, actuals, execution, batch_indicators))
                total, batches = len(chunks), iter(chunks)
            task = bar.add_task("评分", total=total, item="") if bar is not None else None
            # the next batch read, `scorers` batches scored side by side, the last one written
            scored = mapped_in_order(functools.partial(_score_batch, rules=rules), prefetched(batches), scorers)
            for batch, frames in scored:
                if bar is not None:
                    bar.update(task, item=f"批次 {batch.label}")
                grade_parts.append(frames.project_scores.group_by("grade").len())
                unit_parts.append(frames.unit_scores)
                f = _sort_findings(frames.findings)
                indicator_frame = _sorted_by_location(frames.indicator_scores)
                count_parts.append(_finding_counts(f))
                per_unit_parts.append(f.group_by("unit_code").agg(
                    (pl.col("severity") == "error").sum().cast(pl.Int64).alias("errors"),
                    (pl.col("severity") == "warning").sum().cast(pl.Int64).alias("warnings"),
                ))
                if large:  # each batch goes straight into the one file of its table
                    writer.submit(functools.partial(_append_batch, large, indicator_frame, f, frames.project_scores))
                else:
                    indicator_parts.append(indicator_frame)
                    project_parts.append(frames.project_scores)
                    finding_parts.append(f)
                if executor is not None and workbooks is not None:
                    codes = frames.unit_scores.get_column("unit_code").to_list()
                    names = workbook_filenames(codes, taken_names)  # the names `report` gives
                    for name in names:
                        refuse_symlinks(workbooks, workbooks / name)
                    step = max(1, -(-len(codes) // (4 * (workers or os.cpu_count() or 1))))
                    for i in range(0, len(codes), step):
                        chunk = codes[i : i + step]
                        files = list(zip(chunk, names[i : i + step]))
                        futures.append(executor.submit(_write_workbook_chunk, _unit_result(batch, frames, rules, chunk), str(workbooks), files, generated_at))
                if bar is not None:
                    bar.advance(task)
            writer.wait()
            if notes:  # the readers' notes on the files: findings of the run, after the units'
                f = pl.concat(notes, how="vertical")
                count_parts.append(_finding_counts(f))
                if large:
                    large["findings"].append(f)
                else:
                    finding_parts.append(f)
            if futures:
                book_task = bar.add_task("自评表", total=len(futures), item="") if bar is not None else None
                for fut in futures:
                    try:
                        written_books += [Path(p) for p in fut.result()]
                    except Exception as exc:
                        skipped.append((str(workbooks), f"自评表写出失败：{type(exc).__name__}: {exc}"))
                    if bar is not None:
                        bar.advance(book_task)
    except BaseException:
        writer.close()
        for parts in large.values():
            parts.abort()
        raise
    finally:
        writer.close()
        if executor is not None:
            executor.shutdown(cancel_futures=True)

    grade_counts = pl.concat(grade_parts, how="vertical") if grade_parts else pl.DataFrame(schema={"grade": pl.String, "len": pl.UInt32})
    units = _concat(unit_parts, schema.UNIT_SCORES).sort("unit_code", maintain_order=True)
    per_unit = pl.concat(per_unit_parts, how="vertical") if per_unit_parts else pl.DataFrame(schema={"unit_code": pl.String, "errors": pl.Int64, "warnings": pl.Int64})
    counts = pl.concat(count_parts, how="vertical") if count_parts else pl.DataFrame()
    skipped_frame = pl.DataFrame(skipped, schema=SKIPPED, orient="row")
    small = dict(
        unit_scores=units, league=league_table(units, per_unit),
        grade_distribution=grade_distribution(units, grade_counts, rules), findings_summary=findings_summary(counts),
        skipped=skipped_frame, rules=rules, inputs=inputs,
    )
    empty = pl.DataFrame()
    if out_dir is None:
        return _Run(
            small=small,
            indicator_scores=_sorted_by_location(_concat(indicator_parts, schema.INDICATOR_SCORES)),
            project_scores=_concat(project_parts, schema.PROJECT_SCORES).sort(["unit_code", "project_code"], maintain_order=True),
            findings=_sort_findings(_concat(finding_parts, schema.FINDINGS)),
            rows={}, written=[], books=written_books,
        )
    rows = {name: parts.rows for name, parts in large.items()}
    try:
        written = _write_outputs(out_dir, large, fmt, small)
    except BaseException:
        for parts in large.values():  # close the files still open
            parts.abort()
        raise
    rows.update({name: frame.height for name, frame in _small_tables(small).items()})
    return _Run(small=small, indicator_scores=empty, project_scores=empty, findings=empty, rows=rows, written=written, books=written_books)


# ----------------------------------------------------------------------------- the output folder

# Names an output folder of an older version (without manifest.json) may hold.
_OUTPUT_TABLES = ("indicator_scores", "project_scores", "unit_scores", "findings", "league_table",
                  "grade_distribution", "findings_summary", "skipped")
WORKBOOK_FOLDER = "自评表"


def _owned_by_bulk(relative: str) -> bool:
    """Whether a file of an output folder without a manifest is one bulk writes (older versions)."""
    parts = relative.split("/")
    if len(parts) == 1:
        stem, _, suffix = parts[0].rpartition(".")
        return stem in _OUTPUT_TABLES and suffix in ("parquet", "csv")
    return len(parts) == 2 and parts[0] == WORKBOOK_FOLDER and parts[1].endswith(".xlsx")


def _refuse_nesting(source: Path, out: Path) -> None:
    """OutputError when the output folder is the input, lies inside it or holds it: the swap
    would delete the input, or later runs would read the output as input."""
    from selfeval.errors import OutputError

    src, dst = source.resolve(), out.resolve()
    if dst == src or dst.is_relative_to(src) or src.is_relative_to(dst):
        msg = f"{out}：输出文件夹不能是输入 {source}，也不能在输入之中或包含输入；请换一个 --out"
        raise OutputError(msg)


def _staged_workbooks(workbooks: str | Path | None, out: Path, staging: Path) -> Path | None:
    """Where the workbooks go: inside the staging folder when they belong inside `out`."""
    if workbooks is None:
        return None
    folder = Path(workbooks).resolve()
    return staging / folder.relative_to(out) if folder.is_relative_to(out) else Path(workbooks)


def _input_manifest(source: Path, kind: str) -> dict[str, Any]:
    """The input's place in the manifest: its path and kind, every file's size and sha256, and one
    digest of them all (a fingerprint of the data set)."""
    from selfeval.staging import digest_of, folder_files

    files = folder_files(source, skip_hidden=True) if source.is_dir() else []
    return {
        "path": str(source.resolve()), "kind": kind, "files": len(files), "bytes": sum(f["bytes"] for f in files),
        "sha256": digest_of(files), "digests": files,
    }


def _manifest(
    rules: RuleSet, fmt: str, batch_indicators: int, inputs: dict[str, Any], run: _Run, staging: Path,
    books: Path | None, started: str,
) -> dict[str, Any]:
    """The run's manifest (the staging folder adds run_id, finished and the file list)."""
    import json

    import selfeval

    from selfeval.report.tables import table_suffixes

    settings = hashlib.sha256(json.dumps(rules.model_dump(mode="json"), sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    book_folder = books.relative_to(staging).as_posix() if books is not None and books.is_relative_to(staging) else None
    return {
        "command": "bulk",
        "selfeval": selfeval.__version__,
        "pid": os.getpid(),
        "started": started,
        "input": inputs,
        "rules": {"name": rules.name, "title": rules.title, "path": rules.source or None, "sha256": rules.sha256 or None,
                  "settings_sha256": settings},
        "format": fmt,
        "batch_indicators": batch_indicators,
        "units": run.small["unit_scores"].height,
        "skipped": run.small["skipped"].height,
        "tables": {name: {"rows": rows, "files": [f"{name}.{s}" for s in table_suffixes(fmt)]} for name, rows in run.rows.items()},
        "workbooks": {"folder": book_folder, "count": len(run.books)} if books is not None else None,
    }


LARGE_TABLES = {"indicator_scores": schema.INDICATOR_SCORES, "project_scores": schema.PROJECT_SCORES,
                "findings": schema.FINDINGS}


def _concat(parts: list[pl.DataFrame], target: pl.Schema) -> pl.DataFrame:
    return pl.concat(parts, how="vertical") if parts else schema.empty(target)


def _append_batch(large: dict[str, TableParts], indicators: pl.DataFrame, findings: pl.DataFrame, projects: pl.DataFrame) -> None:
    large["indicator_scores"].append(indicators)
    large["findings"].append(findings)
    large["project_scores"].append(projects)


def _score_batch(batch: Batch, rules: RuleSet) -> Any:
    from selfeval.pipeline import run

    return run(batch.declaration, batch.actuals, batch.execution, rules)


def _read_inputs(
    source: Path, kind: str, skipped: list[tuple[str, str]], bar: Any, notes: list[pl.DataFrame] | None = None,
) -> tuple[int, tuple[Declaration, pl.DataFrame, pl.DataFrame]]:
    """(number of inputs read, the inputs of every readable unit concatenated); the readers' notes
    on the files read go to `notes` as INPUT_NOTE findings (the unit's code when a file is one unit's)."""
    from selfeval.findings import input_note_findings
    from selfeval.ingest import read_actuals, read_declared, read_execution
    from selfeval.ingest.common import input_notes

    notes = notes if notes is not None else []
    if kind == "tables":
        actuals_file = _table_file(source, ACTUALS_NAMES)
        execution_file = _table_file(source, EXECUTION_NAMES)
        if actuals_file is None or execution_file is None:
            raise InputError("规范表格文件夹中缺少 actuals（实际完成值）或 execution（预算执行）表", source)
        with input_notes() as found:
            decl = read_declared(source)
            read = (decl, read_actuals(actuals_file, declared=decl), read_execution(execution_file, declared=decl))
        if found:
            notes.append(input_note_findings(found))
        return 1, read
    items, problems = unit_inputs(source)
    skipped.extend(problems)
    if not items and not problems:
        raise InputError("文件夹中没有可评分的单位输入", source)
    task = bar.add_task("读取", total=len(items), item="") if bar is not None else None
    decls: list[Declaration] = []
    actuals: list[pl.DataFrame] = []
    executions: list[pl.DataFrame] = []
    seen: dict[str, str] = {}
    for item in items:
        if bar is not None:
            bar.update(task, item=item.label)
        current = item.declared
        try:
            with input_notes() as found:
                decl = read_declared(current)
                current = item.actuals
                act = read_actuals(current, declared=decl)
                current = item.execution
                exe = read_execution(current, declared=decl)
        except Exception as exc:  # any unreadable file is reported, the run goes on
            reason = str(exc) if isinstance(exc, SelfevalError) else f"无法读取：{type(exc).__name__}: {exc}"
            skipped.append((_error_path(exc, current), reason))
        else:
            clash = [c for c in decl.units.get_column("unit_code").to_list() if c in seen]
            if clash:
                skipped.append((str(item.declared), f"单位编码 {clash[0]} 已在 {seen[clash[0]]} 中出现，跳过重复的单位"))
            else:
                seen.update(dict.fromkeys(decl.units.get_column("unit_code").to_list(), str(item.declared)))
                if found:
                    codes = decl.units.get_column("unit_code").to_list()
                    notes.append(input_note_findings(found, codes[0] if len(codes) == 1 else None))
                decls.append(decl if decl.sources else Declaration(**decl.tables(), sources=(str(item.declared),)))
                actuals.append(schema.conform(act, schema.ACTUALS))
                executions.append(schema.conform(exe, schema.EXECUTION))
        if bar is not None:
            bar.advance(task)
    return len(items), (_concat_declarations(decls), _concat(actuals, schema.ACTUALS), _concat(executions, schema.EXECUTION))


def _small_tables(small: dict[str, Any]) -> dict[str, pl.DataFrame]:
    """The per-unit tables of a run, by output name."""
    return {
        "unit_scores": small["unit_scores"], "league_table": small["league"],
        "grade_distribution": small["grade_distribution"], "findings_summary": small["findings_summary"],
        "skipped": small["skipped"],
    }


def _write_outputs(out: Path, large: dict[str, Any], fmt: str, small: dict[str, Any]) -> list[Path]:
    """Write the per-unit tables into `out` (atomically) and put the large ones in place."""
    from selfeval.report.tables import write_tables

    written = write_tables(_small_tables(small), out, fmt)
    for parts in large.values():
        written += parts.finish()
    return written


__all__ = ["BulkResult", "score_many", "load_inputs", "league_table", "grade_distribution", "findings_summary", "unit_inputs", "source_kind"]
