"""Actual results and budget execution (SPEC.md §3.2) from .csv, .xlsx (e.g. the filled template) or .parquet.

Headers may be identifiers, Chinese labels (schema.LABELS) or common aliases (`actual`, 实际完成值,
偏差原因 …); unknown columns are ignored; `unit_code` is optional. Workbooks are read with openpyxl
so a cell reads as the person sees it: `96` → "96", `0.96` in a percent cell → "96%", a date →
"2025-06-30", `19600.0` → "19600".
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from selfeval import schema
from selfeval.errors import InputError, Problem
from selfeval.ingest.common import ROW, coerce, drop_row, header_map, norm_label
from selfeval.ingest.detect import sniff
from selfeval.ingest.tables import read_table_file

ACTUALS_SHEET = "实际完成值"
EXECUTION_SHEET = "预算执行"
ACTUALS_REQUIRED = ("project_code", "seq", "actual_text")
EXECUTION_REQUIRED = ("project_code", "year_budget", "executed")
HEADER_SCAN_ROWS = 10


def _number_text(value: float) -> str:
    """A number as a person would type it: no binary noise, no trailing `.0`."""
    value = round(float(value), 9)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def cell_text(value: object, number_format: str | None = None) -> str | None:
    """An Excel cell's value as text, honouring percent and date formats."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (int, float)):
        if number_format and "%" in number_format:
            return f"{_number_text(float(value) * 100)}%"
        return _number_text(value)
    text = str(value).strip()
    return text or None


def _raw_text(value: object) -> str | None:
    """An Excel cell's value as plain text for a numeric column (formats ignored)."""
    if isinstance(value, bool) or value is None:
        return None if value is None else str(value)
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _read_xlsx(path: Path, target: pl.Schema, preferred: str, sheet: str | None) -> tuple[pl.DataFrame, str]:
    from openpyxl import load_workbook

    file = str(path)
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:
        raise InputError(Problem(file=file, message=f"无法打开 Excel 工作簿：{exc}", expected="有效的 .xlsx 文件")) from None
    try:
        names = list(workbook.sheetnames)
        if sheet is not None and sheet not in names:
            raise InputError(
                Problem(file=file, message=f"没有名为 {sheet} 的工作表（现有工作表：{'、'.join(names)}）",
                        expected=f"工作表 {sheet}")
            )
        chosen = sheet or (preferred if preferred in names else names[0])
        rows = [list(r) for r in workbook[chosen].iter_rows()]
    finally:
        workbook.close()
    mapping = header_map(target.names())
    header_index = 0
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        if sum(1 for c in row if norm_label(c.value) in mapping) >= 2:
            header_index = i
            break
    if not rows:
        raise InputError(Problem(file=file, sheet=chosen, message="工作表为空", expected="首行为表头的表格"))
    headers = [str(c.value).strip() if c.value is not None else f"__col{j}" for j, c in enumerate(rows[header_index])]
    columns: dict[str, list[str | None]] = {}
    for j, header in enumerate(headers):
        if header in columns:
            continue  # a repeated header: the first column wins
        name = mapping.get(norm_label(header))
        as_text = name is None or target[name] == pl.String
        values: list[str | None] = []
        for row in rows[header_index + 1 :]:
            cell = row[j] if j < len(row) else None
            value = getattr(cell, "value", None)
            values.append(cell_text(value, getattr(cell, "number_format", None)) if as_text else _raw_text(value))
        columns[header] = values
    first = header_index + 2  # Excel rows are 1-based and the data start under the header
    frame = pl.DataFrame(columns, schema={h: pl.String for h in columns}).with_row_index(ROW, offset=first)
    return frame.with_columns(pl.col(ROW).cast(pl.Int64)), chosen


def _read(path: str | Path, target: pl.Schema, required: tuple[str, ...], preferred: str, sheet: str | None, what: str) -> pl.DataFrame:
    path = Path(path)
    file = str(path)
    kind = sniff(path)
    sheet_name: str | None = None
    if kind == "xlsx":
        raw, sheet_name = _read_xlsx(path, target, preferred, sheet)
    elif kind in ("csv", "parquet"):
        raw = read_table_file(path, kind)
        raw = raw.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    else:
        raise InputError(
            Problem(file=file, message=f"不是{what}表格（识别为 {kind}）", expected=f"{what}的 .csv、.xlsx 或 .parquet 文件")
        )
    if "year_budget" in target.names():
        raw = _budget_fallback(raw)
    frame = coerce(raw, target, file=file, sheet=sheet_name, required=required)
    keyless = frame.filter(pl.any_horizontal([pl.col(k).is_null() for k in required[:2]]))
    if keyless.height:
        rows = "、".join(str(r) for r in keyless[ROW].head(10).to_list())
        labels = "、".join(schema.LABELS[k] for k in required[:2])
        raise InputError(
            Problem(file=file, sheet=sheet_name, message=f"第 {rows} 行缺少{labels}", expected=f"每行都填写{labels}")
        )
    return drop_row(frame)


def _budget_fallback(raw: pl.DataFrame) -> pl.DataFrame:
    """With no 全年预算数 column, the declared 预算数 stands for it."""
    mapping = header_map(schema.EXECUTION.names())
    if any(mapping.get(norm_label(c)) == "year_budget" for c in raw.columns):
        return raw
    for column in raw.columns:
        if norm_label(column) in {"预算数", "budget", "年初预算数", "预算金额"}:
            return raw.rename({column: "year_budget"})
    return raw


def read_actuals(path: str | Path, *, sheet: str | None = None) -> pl.DataFrame:
    """Actual results (schema.ACTUALS) from .csv/.xlsx/.parquet; an .xlsx uses sheet 实际完成值 if present."""
    return _read(path, schema.ACTUALS, ACTUALS_REQUIRED, ACTUALS_SHEET, sheet, "实际完成值")


def read_execution(path: str | Path, *, sheet: str | None = None) -> pl.DataFrame:
    """Budget execution (schema.EXECUTION) from .csv/.xlsx/.parquet; an .xlsx uses sheet 预算执行 if present."""
    return _read(path, schema.EXECUTION, EXECUTION_REQUIRED, EXECUTION_SHEET, sheet, "预算执行")
