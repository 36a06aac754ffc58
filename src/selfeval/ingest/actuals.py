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

Large files: a .csv or .parquet is scanned a block at a time, never read whole. Given the
declaration it is read for (`declared=`), only the rows scoring can use are kept — rows naming a
declared project, rows without a project code, and the first MAX_UNDECLARED_ROWS rows naming no
declared project (each reported as 指标不匹配 by scoring, as before). Every kept row is checked
exactly as above; the further rows naming no declared project are counted, not read, and an
InputWarning says how many (an actuals file of 20 M rows for the seed's 45 indicators keeps 45 +
100,000 rows; scoring it peaks at 0.4 GiB, `benches/bench_memory.py`).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.engine import collect_reading
from selfeval.errors import InputError, Problem
from selfeval.ingest.common import (
    EXCEL_ERRORS,
    ROW,
    _text_expr,
    coerce_report,
    drop_row,
    header_map,
    header_unit,
    header_units,
    key_problems,
    lookup,
    warn_inputs,
)
from selfeval.ingest.layout import AMOUNT_FIELDS, amount_scales, in_yuan, unused_columns, unused_reason, with_unit
from selfeval.ingest.detect import sniff
from selfeval.ingest.sheet import read_sheet
from selfeval.ingest.tables import is_parquet, scan_table_file
from selfeval.report.tables import csv_restored, restored_text

ACTUALS_SHEET = "实际完成值"
EXECUTION_SHEET = "预算执行"
ACTUALS_REQUIRED = ("project_code", "seq", "actual_text")
EXECUTION_REQUIRED = ("project_code", "year_budget", "executed")
# Rows naming no declared project kept (and reported by scoring, one finding each) when a table is
# read for a declaration; further ones are counted only.
MAX_UNDECLARED_ROWS = 100_000


def _read(
    path: str | Path, target: pl.Schema, required: tuple[str, ...], preferred: str, sheet: str | None, what: str,
    declared: Declaration | None = None,
) -> pl.DataFrame:
    path = Path(path)
    file = str(path)
    kind = sniff(path, expected=f"{what}表格（.csv、.xlsx 或 .parquet，或已填写的模板）")
    sheet_name: str | None = None
    note: str | None = None
    problems: list[Problem] = []
    table = "execution" if "year_budget" in target.names() else "actuals"
    unread = 0
    unused: pl.DataFrame | None = None  # first value of each unused column over the whole file
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
        raw, unread, unused = _table_rows(path, kind, table, target.names(), declared)
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
        scales = amount_scales(AMOUNT_FIELDS["execution"], units, note) if table == "execution" else None
        frame, found = coerce_report(raw, target, file=file, sheet=sheet_name, required=required, amount_scales=scales)
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
    warnings = unused_columns(raw if unused is None else unused, table, file=file, sheet=sheet_name)
    if unread:
        warnings.append(Problem(
            file=file, message=f"另有 {unread:,} 行的项目编码未在绩效目标表中申报，未逐行读取和检查（这样的记录只读取了前 "
                               f"{MAX_UNDECLARED_ROWS:,} 行，评分时列为“指标不匹配”）",
            expected=f"只含所申报项目的{what}表格",
        ))
    warn_inputs(warnings)
    return drop_row(frame)


def _declared_codes(declared: Declaration) -> pl.Series:
    """Every project code of a declaration, as written and stripped (the actual rows' codes are
    stripped before they are matched)."""
    codes = pl.concat([declared.projects.get_column("project_code"), declared.indicators.get_column("project_code")])
    codes = codes.cast(pl.String)
    return pl.concat([codes, codes.str.strip_chars()]).drop_nulls().unique()


def _table_rows(
    path: Path, kind: str, table: str, targets: list[str], declared: Declaration | None
) -> tuple[pl.DataFrame, int, pl.DataFrame | None]:
    """(raw rows kept with ROW — the row as a spreadsheet numbers it —, rows not kept, the first
    value of each recognised-but-unused column over the whole file or None when every row is kept).

    Without a declaration every row is kept. With one, rows whose project code (as the checks read
    it: `'` of a CSV formula removed, stripped) names no declared project are kept up to
    MAX_UNDECLARED_ROWS and counted beyond; a row without a code or with an Excel error value there
    is kept (the checks report it).
    """
    csv = not is_parquet(path, kind)  # type: ignore[arg-type]
    with scan_table_file(path, kind) as scan:  # type: ignore[arg-type]
        scan = scan.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
        columns = scan.collect_schema()
        mapping = header_map(targets)  # as the checks recognise headers
        code_column = next((c for c in columns.names() if c != ROW and lookup(mapping, c) == "project_code"), None)
        if code_column is None:  # the checks refuse the file for its header alone
            (raw,) = collect_reading([scan.head(0)])
            return raw, 0, None
        if declared is None:
            (raw,) = collect_reading([scan])
            return (csv_restored(raw) if csv else raw), 0, None
        if csv:  # as the checks read it: `'` removed (csv_restored), then stripped, blank → null
            stripped = restored_text(pl.col(code_column)).str.strip_chars()
            code = pl.when(stripped != "").then(stripped)
        else:
            code = _text_expr(code_column, columns[code_column])
        known = (
            code.is_null() | code.is_in(_declared_codes(declared).implode())
            | code.str.to_uppercase().is_in(pl.lit(list(EXCEL_ERRORS), dtype=pl.List(pl.String)))
        )
        unused = [c for c in columns.names() if c != ROW and unused_reason(table, c) is not None]
        first_values = scan.select(
            _first_value(pl.col(c).cast(pl.String), csv).alias(c) for c in unused
        ) if unused else None
        plans = [scan.filter(known), scan.filter(~known).head(MAX_UNDECLARED_ROWS), scan.filter(~known).select(pl.len())]
        kept, undeclared, count, *rest = collect_reading([*plans, *([first_values] if first_values is not None else [])])
    raw = pl.concat([kept, undeclared], how="vertical").sort(ROW)
    values = rest[0] if rest else pl.DataFrame()
    return (csv_restored(raw) if csv else raw), count.item() - undeclared.height, values


def _first_value(text: pl.Expr, csv: bool) -> pl.Expr:
    """The first non-blank cell of a column, as `unused_columns` reads it."""
    if csv:
        text = restored_text(text)
    stripped = text.str.strip_chars()
    return text.filter(stripped.is_not_null() & (stripped != "")).first()


def _budget_fallback(raw: pl.DataFrame) -> pl.DataFrame:
    """With no 全年预算数 column, the declared 预算数 stands for it."""
    mapping = header_map(schema.EXECUTION.names())
    if any(lookup(mapping, c) == "year_budget" for c in raw.columns):
        return raw
    for column in raw.columns:
        if header_unit(column)[0] in {"预算数", "budget", "年初预算数", "预算金额"}:
            return raw.rename({column: "year_budget"})
    return raw


def read_actuals(path: str | Path, *, sheet: str | None = None, declared: Declaration | None = None) -> pl.DataFrame:
    """Actual results (schema.ACTUALS) from .csv/.xlsx/.parquet; an .xlsx uses sheet 实际完成值 if present.

    `declared`: the declaration they are read for; a .csv/.parquet then keeps only the rows scoring
    can use (see the module docstring)."""
    return _read(path, schema.ACTUALS, ACTUALS_REQUIRED, ACTUALS_SHEET, sheet, "实际完成值", declared)


def read_execution(path: str | Path, *, sheet: str | None = None, declared: Declaration | None = None) -> pl.DataFrame:
    """Budget execution (schema.EXECUTION) from .csv/.xlsx/.parquet; an .xlsx uses sheet 预算执行 if present.

    `declared`: as for `read_actuals`."""
    return _read(path, schema.EXECUTION, EXECUTION_REQUIRED, EXECUTION_SHEET, sheet, "预算执行", declared)
