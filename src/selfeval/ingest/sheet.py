"""One worksheet of an .xlsx as raw text columns, read as a person sees it (openpyxl).

* The header row is the first of the top rows naming at least two known columns; rows are
  numbered as Excel numbers them (carried in the ROW column for every later message).
* Merged cells: every cell of a merged range reads the value of its top-left cell (a 项目编码
  merged down over a project's indicator rows belongs to each of them).
* Formulas: the value Excel cached when the file was last saved is read; a formula cell with no
  cached value (a file written by a program and never opened in Excel) is a Problem.
* Excel error values (`#N/A`, `#REF!` …) are read as their text; `coerce_report` reports them.
* A note above the header row such as `金额单位：万元` / `（单位：万元）` is returned with the
  frame, for the reader to convert the amount columns to 元.
* Which sheet: the one asked for (else a Problem listing the sheets that exist), else the first
  of `preferred` that exists, else the sheet whose header names the most required columns.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from selfeval.errors import InputError, Problem
from selfeval.ingest.common import ROW, column_label, header_map, lookup, norm_label

HEADER_SCAN_ROWS = 10
_FORMULA_TAG = re.compile(rb"<(?:\w{1,32}:)?f[\s>/]")
SCAN_BLOCK = 2**20  # bytes of a sheet's XML scanned at a time
SCAN_OVERLAP = 64  # kept from the previous block, so a tag cut between blocks is still found


def _number_text(value: float) -> str:
    """A number as a person would type it: no binary noise, no trailing `.0`, never an exponent
    (`1e+20` is not something the value grammar reads)."""
    value = round(float(value), 9)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if not math.isfinite(value):
        return repr(value)
    return format(Decimal(repr(value)), "f")


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


def raw_text(value: object) -> str | None:
    """An Excel cell's value as plain text for a numeric column (formats ignored)."""
    if isinstance(value, bool) or value is None:
        return None if value is None else str(value)
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _open(file: str, **options: Any) -> Any:
    from openpyxl import load_workbook

    from selfeval.ingest.detect import check_package

    check_package(file)  # an absurd package (a "zip bomb") is refused before openpyxl inflates it
    try:
        return load_workbook(file, **options)
    except Exception as exc:
        raise InputError(Problem(file=file, message=f"无法打开 Excel 工作簿：{exc}", expected="有效的 .xlsx 文件")) from None


def has_formulas(file: str) -> bool:
    """True when any worksheet of the workbook holds a formula (a cheap scan of the XML, read a
    block at a time: a sheet is never held whole, however far it inflates)."""
    try:
        with zipfile.ZipFile(file) as archive:
            return any(
                part_contains(archive, name, _FORMULA_TAG)
                for name in archive.namelist()
                if name.startswith("xl/worksheets/") and name.endswith(".xml")
            )
    except (zipfile.BadZipFile, OSError, KeyError):
        return False


def part_contains(archive: zipfile.ZipFile, name: str, pattern: re.Pattern[bytes], block: int = SCAN_BLOCK) -> bool:
    """Whether the inflated part `name` matches `pattern` (a match shorter than SCAN_OVERLAP bytes),
    read `block` bytes at a time."""
    tail = b""
    with archive.open(name) as part:
        while chunk := part.read(block):
            data = tail + chunk
            if pattern.search(data):
                return True
            tail = data[-SCAN_OVERLAP:]
    return False


def find_sheet(names: list[str], wanted: str) -> str | None:
    """`wanted` among `names`, exactly or ignoring spaces, width and case."""
    if wanted in names:
        return wanted
    by_norm = {norm_label(n): n for n in names}
    return by_norm.get(norm_label(wanted))


def _header_index(values: list[list[Any]], mapping: dict[str, str]) -> tuple[int, set[str]]:
    """(0-based index of the header row, identifiers it names)."""
    best = (0, set())
    for i, row in enumerate(values[:HEADER_SCAN_ROWS]):
        found = {name for v in row if v is not None and (name := lookup(mapping, v)) is not None}
        if len(found) >= 2:
            return i, found
        if i == 0:
            best = (0, found)
    return best


def read_sheet(
    path: str | Path,
    targets: Iterable[str],
    *,
    sheet: str | None = None,
    preferred: tuple[str, ...] = (),
    required: tuple[str, ...] = (),
    numeric: Iterable[str] = (),
) -> tuple[pl.DataFrame, str, list[Problem], str | None]:
    """(raw frame: one String column per header as written plus ROW, sheet name, problems, amount unit
    of a note above the header row such as `金额单位：万元`, else None).

    `targets` are the identifiers the caller knows (header recognition); cells of `numeric`
    identifiers read as plain numbers, every other cell as displayed (percent and date formats).
    """
    file = str(path)
    targets = list(targets)
    mapping = header_map(targets)
    numeric = set(numeric)
    workbook = _open(file, data_only=True)
    try:
        names = list(workbook.sheetnames)
        listed = "、".join(names)
        if sheet is not None:
            chosen = find_sheet(names, sheet)
            if chosen is None:
                raise InputError(Problem(file=file, sheet=sheet, message=f"没有名为 {sheet} 的工作表（现有工作表：{listed}）",
                                         value=sheet, expected=f"工作表之一：{listed}"))
        else:
            chosen = next((found for p in preferred if (found := find_sheet(names, p)) is not None), None)
            if chosen is None:
                chosen = _best_sheet(workbook, names, mapping, required)
        ws = workbook[chosen]
        grid = [[c.value for c in row] for row in ws.iter_rows()]
        formats = [[getattr(c, "number_format", None) for c in row] for row in ws.iter_rows()]
        for merged in ws.merged_cells.ranges:
            top = ws.cell(merged.min_row, merged.min_col)
            for r in range(merged.min_row, merged.max_row + 1):
                for c in range(merged.min_col, merged.max_col + 1):
                    if r - 1 < len(grid) and c - 1 < len(grid[r - 1]):
                        grid[r - 1][c - 1] = top.value
                        formats[r - 1][c - 1] = top.number_format
    finally:
        workbook.close()
    if not any(v is not None for row in grid for v in row):
        raise InputError(Problem(file=file, sheet=chosen, message=f"工作表为空（现有工作表：{listed}）", expected="首行为表头的表格"))

    header_index, _ = _header_index(grid, mapping)
    from selfeval.ingest.layout import amount_note

    note = next((u for row in grid[:header_index] for v in row if isinstance(v, str) and (u := amount_note(v))), None)
    header_row = grid[header_index]
    headers = [cell_text(v) or f"__col{j}" for j, v in enumerate(header_row)]
    first = header_index + 2  # Excel rows are 1-based and the data start under the header
    formulas = _uncached_formulas(file, chosen) if has_formulas(file) else {}
    problems: list[Problem] = []
    columns: dict[str, list[str | None]] = {}
    for j, header in enumerate(headers):
        if header in columns:
            header = f"{header}__{j}"  # a repeated header stays visible; coerce reports it if it has values
        name = lookup(mapping, header)
        values: list[str | None] = []
        for i, row in enumerate(grid[header_index + 1 :]):
            value = row[j] if j < len(row) else None
            if value is None and (first + i, j + 1) in formulas and name is not None:
                problems.append(Problem(
                    file=file, sheet=chosen, row=first + i, column=column_label(header, name),
                    value=formulas[(first + i, j + 1)],
                    message="单元格是公式，但文件中没有保存计算结果（文件可能由程序生成、未在 Excel 中保存过）",
                    expected="在 Excel 中打开并保存该文件，或直接填写数值",
                ))
            fmt = formats[header_index + 1 + i][j] if j < len(formats[header_index + 1 + i]) else None
            if name in numeric and not (fmt and "%" in fmt and isinstance(value, (int, float))):
                values.append(raw_text(value))
            else:  # a percent-formatted number reads as shown (`99%`), so an amount typed as one is reported
                values.append(cell_text(value, fmt))
        columns[header] = values
    frame = pl.DataFrame(columns, schema={h: pl.String for h in columns}).with_row_index(ROW, offset=first)
    return frame.with_columns(pl.col(ROW).cast(pl.Int64)), chosen, problems, note


def _best_sheet(workbook: Any, names: list[str], mapping: dict[str, str], required: tuple[str, ...]) -> str:
    """The sheet whose header row names the most required (then known) columns; ties → first."""
    best, best_score = names[0], (-1, -1)
    for name in names:
        ws = workbook[name]
        top = [[c.value for c in row] for row in ws.iter_rows(max_row=HEADER_SCAN_ROWS)]
        _, found = _header_index(top, mapping)
        score = (len(found & set(required)), len(found))
        if score > best_score:
            best, best_score = name, score
    return best


def _uncached_formulas(file: str, sheet: str) -> dict[tuple[int, int], str]:
    """{(row, column): formula text} of the sheet's formula cells (1-based), read without values."""
    workbook = _open(file, read_only=True, data_only=False)
    try:
        out: dict[tuple[int, int], str] = {}
        for row in workbook[sheet].iter_rows():
            for cell in row:
                value = getattr(cell, "value", None)
                if getattr(cell, "data_type", None) == "f" or (isinstance(value, str) and value.startswith("=")):
                    text = getattr(value, "text", value)  # an ArrayFormula holds its text
                    out[(cell.row, cell.column)] = str(text)
        return out
    finally:
        workbook.close()
