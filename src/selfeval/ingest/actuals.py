"""Actual results and budget execution (SPEC.md §3.2) from .csv, .xlsx (e.g. the filled template) or .parquet.

Headers may be identifiers, Chinese labels (schema.LABELS) or common aliases (`actual`, 实际完成值,
偏差原因 …); unknown columns are ignored; `unit_code` is optional. Workbooks are read with openpyxl
so a cell reads as the person sees it: `96` → "96", `0.96` in a percent cell → "96%", a date →
"2025-06-30", `19600.0` → "19600" (see `selfeval.ingest.sheet` for merged cells and formulas).

Every problem of a file is reported at once, each naming file, sheet, row (as the spreadsheet
numbers it), column (header as written), the value seen and what was expected: Excel error
values (`#N/A` … in any column, including 实际完成值: the run stops and names the cell rather
than scoring a broken lookup), text that is not a number, formulas without a cached result,
rows without a key, and keys that repeat (with every row holding them). Blank rows and
surrounding spaces are ignored; numbers stored as text (`19,850.00`, full-width digits) are read.

Layouts: 分值 → weight and 得分/自评得分/评分 → points on actual rows (the filled template has both);
a 度量单位 column completes a bare number (`96` + `%` → `96%`); execution amounts whose header names
万元 (`全年执行数（万元）`) or under a sheet note `金额单位：万元` are stored in 元 with `amount_unit`.
Columns recognised but not read (完成率, 执行率 …) are InputWarnings (`selfeval.ingest.layout.UNUSED`).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from selfeval import schema
from selfeval.errors import InputError, Problem
from selfeval.ingest.common import ROW, coerce_report, drop_row, header_map, header_unit, header_units, key_problems, lookup, warn_inputs
from selfeval.ingest.layout import AMOUNT_FIELDS, in_yuan, unused_columns, with_unit
from selfeval.ingest.detect import sniff
from selfeval.ingest.sheet import read_sheet
from selfeval.ingest.tables import read_table_file

ACTUALS_SHEET = "实际完成值"
EXECUTION_SHEET = "预算执行"
ACTUALS_REQUIRED = ("project_code", "seq", "actual_text")
EXECUTION_REQUIRED = ("project_code", "year_budget", "executed")


def _read(path: str | Path, target: pl.Schema, required: tuple[str, ...], preferred: str, sheet: str | None, what: str) -> pl.DataFrame:
    path = Path(path)
    file = str(path)
    kind = sniff(path, expected=f"{what}表格（.csv、.xlsx 或 .parquet，或已填写的模板）")
    sheet_name: str | None = None
    note: str | None = None
    problems: list[Problem] = []
    table = "execution" if "year_budget" in target.names() else "actuals"
    if table == "actuals":
        target = pl.Schema({**target, "measure_unit": pl.String})
    if kind == "xlsx":
        numeric = [n for n, d in target.items() if d != pl.String]
        if "year_budget" in target.names():
            numeric.append("budget")
        raw, sheet_name, problems, note = read_sheet(
            path, [*target.names(), "budget"], sheet=sheet, preferred=(preferred,), required=required, numeric=numeric
        )
    elif kind in ("csv", "parquet"):
        if sheet is not None:
            raise InputError(Problem(file=file, message=f"{kind} 文件没有工作表，不能指定工作表 {sheet}", value=sheet,
                                     expected="不指定工作表，或使用 .xlsx 工作簿"))
        raw = read_table_file(path, kind)
        raw = raw.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    else:
        raise InputError(
            Problem(file=file, message=f"不是{what}表格（识别为 {kind}）", expected=f"{what}的 .csv、.xlsx 或 .parquet 文件")
        )
    units = header_units(raw.columns, [*target.names(), "budget"])
    if table == "execution":
        raw = _budget_fallback(raw)
        if "year_budget" not in units and "budget" in units:
            units["year_budget"] = units["budget"]
    try:
        frame, found = coerce_report(raw, target, file=file, sheet=sheet_name, required=required)
    except InputError as err:
        raise InputError([*problems, *err.problems]) from None
    keys = ("project_code", "seq") if "seq" in target.names() else ("project_code",)
    problems += found + key_problems(frame, keys, file=file, sheet=sheet_name, optional=("unit_code",), reported=found)
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.row is None, p.row or 0)))
    if frame.height == 0:  # a header alone (or CR-only line ends read as one line) is no data
        raise InputError(Problem(file=file, sheet=sheet_name, message=f"{what}表格没有数据行",
                                 expected=f"表头下每行一条{what}"))
    if table == "execution":
        frame = in_yuan(frame, AMOUNT_FIELDS["execution"], units, note)
    else:
        frame = frame.with_columns(with_unit(pl.col("actual_text"), pl.col("measure_unit")).alias("actual_text")).drop("measure_unit")
    warn_inputs(unused_columns(raw, table, file=file, sheet=sheet_name))
    return drop_row(frame)


def _budget_fallback(raw: pl.DataFrame) -> pl.DataFrame:
    """With no 全年预算数 column, the declared 预算数 stands for it."""
    mapping = header_map(schema.EXECUTION.names())
    if any(lookup(mapping, c) == "year_budget" for c in raw.columns):
        return raw
    for column in raw.columns:
        if header_unit(column)[0] in {"预算数", "budget", "年初预算数", "预算金额"}:
            return raw.rename({column: "year_budget"})
    return raw


def read_actuals(path: str | Path, *, sheet: str | None = None) -> pl.DataFrame:
    """Actual results (schema.ACTUALS) from .csv/.xlsx/.parquet; an .xlsx uses sheet 实际完成值 if present."""
    return _read(path, schema.ACTUALS, ACTUALS_REQUIRED, ACTUALS_SHEET, sheet, "实际完成值")


def read_execution(path: str | Path, *, sheet: str | None = None) -> pl.DataFrame:
    """Budget execution (schema.EXECUTION) from .csv/.xlsx/.parquet; an .xlsx uses sheet 预算执行 if present."""
    return _read(path, schema.EXECUTION, EXECUTION_REQUIRED, EXECUTION_SHEET, sheet, "预算执行")
