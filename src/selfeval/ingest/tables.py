"""Canonical declared tables (SPEC.md §3.2) as files: a folder of .csv/.parquet, or one .xlsx workbook.

A folder holds `units.*`, `projects.*`, `indicators.*` and optionally `department_goals.*`; a
workbook holds sheets of those names (or their Chinese names 单位/项目/指标/部门整体目标). Headers
may be identifiers or the Chinese labels of `schema.LABELS`.

Layouts (see `selfeval.ingest.layout`): an indicators table whose target is split over
指标性质 | 指标值 | 度量单位 is combined into target_text and direction; amounts whose header
names 万元 (`预算数（万元）`) or under a sheet note `金额单位：万元` are stored in 元, with
`amount_unit` recording the unit written. A missing budget or level-3 name stays null (lint
reports it); a missing budget with 财政资金/其他资金 filled is their sum, as in a target document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.errors import InputError, Problem
from selfeval.ingest.common import coerce_report, decode_text, drop_row, header_units, key_problems, norm_label, warn_inputs
from selfeval.ingest.document import sort_declared
from selfeval.ingest.layout import AMOUNT_FIELDS, combined_targets, in_yuan, unused_columns
from selfeval.report.tables import TableFormat, write_tables

REQUIRED: dict[str, tuple[str, ...]] = {
    "units": ("unit_code", "unit_name", "year"),
    "projects": ("project_code", "project_name"),
    "indicators": ("project_code", "seq", "level1", "level3", "target_text"),
    "department_goals": ("section", "goal"),
}
SHEET_ALIASES: dict[str, tuple[str, ...]] = {
    "units": ("units", "单位", "单位表", "预算单位"),
    "projects": ("projects", "项目", "项目表"),
    "indicators": ("indicators", "指标", "指标表", "绩效指标"),
    "department_goals": ("department_goals", "部门整体目标", "部门目标", "部门整体绩效目标"),
}
OPTIONAL = ("department_goals",)
# Keys that must be filled and unique, per table (unit_code joins the check where present).
KEYS: dict[str, tuple[str, ...]] = {
    "units": ("unit_code",),
    "projects": ("project_code",),
    "indicators": ("project_code", "seq"),
}
TABLE_SUFFIXES = (".parquet", ".csv")
# What a table is read as, when it has reading helpers beyond its canonical columns.
READ_AS: dict[str, pl.Schema] = {
    "indicators": pl.Schema({**schema.INDICATORS, "nature": pl.String, "measure_unit": pl.String}),
}


# ------------------------------------------------------------------------------ reading


def read_table_file(path: Path, kind: Literal["csv", "parquet"] | None = None) -> pl.DataFrame:
    """One table file as raw columns: parquet with its dtypes, csv as text (UTF-8 or GB18030).

    The path is read literally (never as a glob pattern); CR-only line ends are read as line ends;
    an unbalanced quote is reported at the row and column where it opens.
    """
    file = str(path)
    if kind == "parquet" or (kind is None and path.suffix.lower() == ".parquet"):
        try:
            frame = pl.read_parquet(path, glob=False)
        except Exception as exc:  # a damaged or truncated parquet file
            raise InputError(Problem(file=file, message=f"无法读取 Parquet 文件：{first_line(exc)}", expected="有效的 .parquet 表")) from None
        return readable_columns(frame, file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(Problem(file=file, message=f"无法读取文件：{exc.strerror or exc}")) from None
    text = decode_text(data, file)
    if "\r" in text and "\n" not in text:  # classic Mac line ends
        text = text.replace("\r", "\n")
    from selfeval.report.tables import csv_restored

    try:
        return csv_restored(pl.read_csv(text.encode("utf-8"), infer_schema=False, truncate_ragged_lines=True))
    except Exception as exc:
        where = unbalanced_quote(text)
        if where is not None:
            row, column, line = where
            raise InputError(Problem(file=file, row=row, column=column, value=line[:60],
                                     message="引号不成对：从这一格开始的引号没有正确闭合",
                                     expected="成对的英文双引号（单元格里的引号写成两个 \"\"）")) from None
        raise InputError(Problem(file=file, message=f"无法按 CSV 读取：{first_line(exc)}", expected="逗号分隔、首行为表头的 .csv")) from None


def first_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message, cut to `limit` characters (never a dump of the file)."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unbalanced_quote(text: str) -> tuple[int, str, str] | None:
    """(line, header of the column, that line's text) of a quoted CSV field that never closes, or
    closes with something other than a comma or line end after it; None when every quote is well formed."""
    row, field, start = 1, 0, 0
    opened: tuple[int, int, int] | None = None
    at_field_start = True
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if opened is not None:
            if ch == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 2
                    continue
                if i + 1 < n and text[i + 1] not in ",\r\n":
                    break  # the quote closed inside a cell: the opening quote is the culprit
                opened = None
                at_field_start = False
            elif ch == "\n":
                row += 1
            i += 1
            continue
        if ch == '"' and at_field_start:
            opened = (row, field, start)
        elif ch == ",":
            field += 1
        elif ch == "\n":
            row, field, start = row + 1, 0, i + 1
        at_field_start = ch in ",\n"
        i += 1
    if opened is None:
        return None
    row, field, start = opened
    header = text.split("\n", 1)[0].lstrip("\ufeff").split(",")
    column = header[field].strip().strip('"') if field < len(header) else f"第 {field + 1} 列"
    return row, column, text[start:].split("\n", 1)[0]


def readable_columns(frame: pl.DataFrame, file: str) -> pl.DataFrame:
    """`frame` unchanged when every column holds scalars; a list, struct or binary column is a Problem."""
    bad = [(name, dtype) for name, dtype in frame.schema.items() if dtype.is_nested() or dtype in (pl.Binary, pl.Object)]
    if bad:
        raise InputError([
            Problem(file=file, column=str(name), message=f"列的类型是 {dtype}，不是单个数值或文本",
                    expected="每个单元格一个数值或文本（不是列表、结构或二进制）")
            for name, dtype in bad
        ])
    return frame


def _finish(
    raw: dict[str, pl.DataFrame],
    where: dict[str, tuple[str, str | None]],
    sources: tuple[str, ...],
    read_problems: list[Problem] | None = None,
    notes: dict[str, str | None] | None = None,
) -> Declaration:
    """Coerce the raw tables, fill derivable columns, sort; report every table's problems at once.

    `notes`: per table, the amount unit of a sheet note (`金额单位：万元`).
    """
    problems: list[Problem] = list(read_problems or [])
    warnings: list[Problem] = []
    frames: dict[str, pl.DataFrame] = {}
    for name, target in schema.DECLARED_TABLES.items():
        if name not in raw:
            frames[name] = schema.empty(target)
            continue
        file, sheet = where[name]
        reading = READ_AS.get(name, target)
        try:
            frame, found = coerce_report(raw[name], reading, file=file, sheet=sheet, required=REQUIRED[name])
        except InputError as err:
            problems.extend(err.problems)
            continue
        problems += found
        if name in KEYS:
            problems += key_problems(frame, KEYS[name], file=file, sheet=sheet,
                                     optional=("unit_code",) if name != "units" else (), reported=found)
        if name == "indicators":
            frame = combined_targets(frame)
        if name in AMOUNT_FIELDS:
            units = header_units(raw[name].columns, reading.names())
            frame = in_yuan(frame, AMOUNT_FIELDS[name], units, (notes or {}).get(name))
        warnings += unused_columns(raw[name], name, file=file, sheet=sheet)
        frames[name] = drop_row(frame)
    if problems:
        raise InputError(problems)
    units, projects, indicators = frames["units"], frames["projects"], frames["indicators"]
    for name, what in (("units", "单位"), ("projects", "项目"), ("indicators", "指标")):
        if frames[name].height == 0:
            file, sheet = where[name]
            raise InputError(Problem(file=file, sheet=sheet, message=f"{what}表没有数据行", expected=f"至少一个{what}"))
    only_unit = units["unit_code"][0] if units.height == 1 else None
    sources_sum = pl.col("fiscal_funds").fill_null(0.0) + pl.col("other_funds").fill_null(0.0)
    projects = projects.with_columns(
        pl.col("unit_code").fill_null(pl.lit(only_unit, pl.String)),
        pl.when(pl.col("budget").is_null() & (pl.col("fiscal_funds").is_not_null() | pl.col("other_funds").is_not_null()))
        .then(sources_sum).otherwise(pl.col("budget")).alias("budget"),
    )
    project_unit = projects.select("project_code", pl.col("unit_code").alias("_unit")).unique("project_code", keep="first")
    indicators = (
        indicators.join(project_unit, on="project_code", how="left", maintain_order="left")
        .with_columns(
            pl.col("unit_code").fill_null(pl.col("_unit")).fill_null(pl.lit(only_unit, pl.String)),
            pl.col("indicator_id").fill_null(
                pl.format("{}-{}", pl.col("project_code"), pl.col("seq").cast(pl.String).str.zfill(2))
            ),
        )
        .drop("_unit")
    )
    goals = frames["department_goals"].with_columns(pl.col("unit_code").fill_null(pl.lit(only_unit, pl.String)))
    file, sheet = where["indicators"]
    duplicated = indicators.filter(pl.struct("unit_code", "project_code", "seq").is_duplicated())
    if duplicated.height:
        keys = "，".join(f"{p} 序号 {s}" for p, s in duplicated.select("project_code", "seq").unique(maintain_order=True).head(5).iter_rows())
        raise InputError(Problem(file=file, sheet=sheet, message=f"指标键（项目编码, 序号）重复：{keys}", expected="每个项目内序号唯一"))
    warn_inputs(warnings)
    return sort_declared(
        Declaration(
            units=schema.conform(units, schema.UNITS),
            projects=schema.conform(projects, schema.PROJECTS),
            indicators=schema.conform(indicators, schema.INDICATORS),
            department_goals=schema.conform(goals, schema.DEPARTMENT_GOALS),
            sources=sources,
        )
    )


def read_tables_folder(folder: str | Path) -> Declaration:
    """A folder holding units/projects/indicators(/department_goals) as .parquet or .csv."""
    folder = Path(folder)
    files: dict[str, Path] = {}
    for suffix in reversed(TABLE_SUFFIXES):  # .parquet wins over .csv when both are there
        for p in sorted(folder.iterdir()):
            if p.is_file() and p.suffix.lower() == suffix and not p.name.startswith("."):
                files[p.stem.lower()] = p
    found: dict[str, Path] = {}
    for name, aliases in SHEET_ALIASES.items():
        for alias in aliases:
            if alias.lower() in files:
                found[name] = files[alias.lower()]
                break
    if not found:
        present = "、".join(p.name for p in sorted(folder.iterdir())[:10]) or "（空）"
        raise InputError(
            Problem(file=str(folder), message=f"文件夹中没有可读取的表格（现有：{present}）",
                    expected="units、projects、indicators（可选 department_goals）的 .parquet 或 .csv 文件")
        )
    missing = [n for n in SHEET_ALIASES if n not in found and n not in OPTIONAL]
    if missing:
        raise InputError(
            Problem(file=str(folder), message="缺少表格：" + "、".join(f"{m}.parquet/.csv" for m in missing),
                    expected="units、projects、indicators 三张表（department_goals 可选）")
        )
    raw = {name: read_table_file(path) for name, path in found.items()}
    where = {name: (str(path), None) for name, path in found.items()}
    return _finish(raw, where, tuple(str(found[n]) for n in found))


def sheet_names(path: str | Path) -> list[str]:
    """The sheet names of a workbook, in order."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(str(path), read_only=True)
    except Exception as exc:
        raise InputError(Problem(file=str(path), message=f"无法打开 Excel 工作簿：{exc}", expected="有效的 .xlsx 文件")) from None
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def is_tables_workbook(names: list[str]) -> bool:
    """True when the sheets include units, projects and indicators (by any accepted name)."""
    normalized = {norm_label(n) for n in names}
    return all(any(norm_label(a) in normalized for a in SHEET_ALIASES[t]) for t in ("units", "projects", "indicators"))


def read_tables_xlsx(path: str | Path) -> Declaration:
    """A workbook with sheets units, projects, indicators (department_goals optional)."""
    file = str(path)
    names = sheet_names(path)
    by_norm = {norm_label(n): n for n in names}
    found: dict[str, str] = {}
    for table, aliases in SHEET_ALIASES.items():
        for alias in aliases:
            if norm_label(alias) in by_norm:
                found[table] = by_norm[norm_label(alias)]
                break
    missing = [t for t in SHEET_ALIASES if t not in found and t not in OPTIONAL]
    if missing:
        raise InputError(
            Problem(file=file, message="缺少工作表：" + "、".join(missing) + "（现有工作表：" + "、".join(names) + "）",
                    expected="工作表 units、projects、indicators（可选 department_goals），或中文名 单位、项目、指标")
        )
    from selfeval.ingest.sheet import read_sheet

    raw: dict[str, pl.DataFrame] = {}
    notes: dict[str, str | None] = {}
    problems: list[Problem] = []
    for table, sheet in found.items():
        target = READ_AS.get(table, schema.DECLARED_TABLES[table])
        try:
            raw[table], _, found_problems, notes[table] = read_sheet(
                path, target.names(), sheet=sheet, required=REQUIRED[table],
                numeric=[n for n, d in target.items() if d != pl.String],
            )
        except InputError as err:
            problems.extend(err.problems)
            continue
        problems += found_problems
    where = {table: (file, sheet) for table, sheet in found.items()}
    return _finish(raw, where, (file,), problems, notes)


# ------------------------------------------------------------------------------ writing


# One table writer for the whole tool (atomic, CSV with BOM); the old name stays for callers.
write_frames = write_tables


def write_declared(decl: Declaration, folder: str | Path, fmt: TableFormat = "parquet") -> list[Path]:
    """Write the four canonical tables into `folder` as parquet, csv or both; return the paths."""
    return write_frames(decl.tables(), folder, fmt)


def write_declared_xlsx(decl: Declaration, path: str | Path) -> Path:
    """Write the four canonical tables as one workbook (sheets units/projects/indicators/department_goals)."""
    from selfeval.report.workbook import new_workbook

    path = Path(path)
    with new_workbook(path, title="绩效目标表（规范表格）") as workbook:
        for name, frame in decl.tables().items():
            frame.write_excel(workbook=workbook, worksheet=name, autofit=True, float_precision=2)
    return path
