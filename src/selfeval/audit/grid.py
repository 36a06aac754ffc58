"""A submitted file → its tables as grids of cells, read as a person sees them.

Every reader yields `Grid`s: one per worksheet (.xlsx, .xls) or per Word table (.docx). A cell is
its value (text, number, date or None) and, for .xlsx, its number format (so `0.9925` formatted
`0.00%` reads as a rate). A merged range reads its top-left value in every cell it covers
(openpyxl ranges; python-docx grid cells already repeat a merged cell), so a label spanning
three columns or a 一级指标 spanning six rows is found wherever one looks. An .xls file is read
through calamine (fastexcel), which does not report merged ranges: the form reader carries
一级/二级 labels down and reads a label's value as the next non-empty cell to its right, so the
grid works either way.

Nothing here interprets the cells; `form.py` finds the self-evaluation forms in them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selfeval.errors import InputError, Problem

SUFFIXES = (".xlsx", ".xlsm", ".xls", ".docx")


@dataclass(frozen=True)
class Grid:
    """One worksheet or Word table: `cells[r][c]` (0-based), `formats[r][c]` number formats or None."""

    file: str
    sheet: str
    cells: list[list[Any]]
    formats: list[list[str | None]] | None = None
    # how a location is shown: `sheet` (Excel: 工作表, A1 cells) or `table` (Word: 第 N 个表格)
    kind: str = "sheet"
    # formula cells saved without their result (a file written by a program, never opened in Excel): (r, c) → formula
    uncached: dict[tuple[int, int], str] | None = None

    def value(self, r: int, c: int) -> Any:
        row = self.cells[r] if 0 <= r < len(self.cells) else []
        return row[c] if 0 <= c < len(row) else None

    def number_format(self, r: int, c: int) -> str | None:
        if self.formats is None or not 0 <= r < len(self.formats):
            return None
        row = self.formats[r]
        return row[c] if 0 <= c < len(row) else None


def read_grids(path: str | Path) -> list[Grid]:
    """Every table of a submitted file; an unreadable file raises InputError naming it."""
    file = str(path)
    suffix = Path(file).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_grids(file)
    if suffix == ".xls":
        return _xls_grids(file)
    if suffix == ".docx":
        return _docx_grids(file)
    raise InputError(Problem(file=file, message=f"不支持的文件类型 {suffix or '（无扩展名）'}",
                             expected="自评表 .xlsx、.xls 或 .docx"))


def _xlsx_grids(file: str) -> list[Grid]:
    """Values and number formats read in openpyxl's read-only mode (a stream, ≈ 8× faster than the full
    model), merged ranges from each sheet's `<mergeCell>` elements."""
    import zipfile

    from openpyxl import load_workbook

    from selfeval.ingest.detect import check_package

    check_package(file)  # a "zip bomb" is refused before openpyxl inflates it
    try:
        workbook = load_workbook(file, data_only=True, read_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises assorted errors on a damaged package
        raise InputError(Problem(file=file, message=f"无法打开 Excel 工作簿：{exc}", expected="有效的 .xlsx 文件")) from None
    from selfeval.ingest.sheet import has_formulas

    formulas = _formula_cells(file) if has_formulas(file) else {}
    grids = []
    try:
        with zipfile.ZipFile(file) as archive:
            for ws in workbook.worksheets:
                if not hasattr(ws, "iter_rows"):  # a chart sheet holds no cells
                    continue
                ws.reset_dimensions()  # a wrong stored dimension must not cut rows off
                cells: list[list[Any]] = []
                formats: list[list[str | None]] = []
                for row in ws.iter_rows():
                    cells.append([getattr(c, "value", None) for c in row])
                    formats.append([getattr(c, "number_format", None) for c in row])
                part = getattr(ws, "_worksheet_path", None)
                for r1, c1, r2, c2 in (_merged_ranges(archive, part) if part else []):
                    _fill_merge(cells, formats, r1, c1, r2, c2)
                uncached = {(r, c): f for (r, c), f in formulas.get(ws.title, {}).items()
                            if r < len(cells) and (c >= len(cells[r]) or cells[r][c] is None)}
                grids.append(Grid(file=file, sheet=ws.title, cells=cells, formats=formats, uncached=uncached or None))
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise InputError(Problem(file=file, message=f"无法读取 Excel 工作簿：{exc}", expected="有效的 .xlsx 文件")) from None
    finally:
        workbook.close()
    return grids


def _formula_cells(file: str) -> dict[str, dict[tuple[int, int], str]]:
    """{sheet: {(row, col) 0-based: formula text}} of every formula cell (one read-only pass, formulas not values)."""
    from openpyxl import load_workbook

    workbook = load_workbook(file, read_only=True, data_only=False)
    try:
        out: dict[str, dict[tuple[int, int], str]] = {}
        for ws in workbook.worksheets:
            if not hasattr(ws, "iter_rows"):
                continue
            found = out.setdefault(ws.title, {})
            for row in ws.iter_rows():
                for cell in row:
                    value = getattr(cell, "value", None)
                    if getattr(cell, "data_type", None) == "f" or (isinstance(value, str) and value.startswith("=")):
                        found[(cell.row - 1, cell.column - 1)] = str(getattr(value, "text", value))
        return out
    finally:
        workbook.close()


_MERGE = re.compile(rb'<(?:\w{1,32}:)?mergeCell\s+ref="([A-Z]{1,3})(\d{1,7}):([A-Z]{1,3})(\d{1,7})"')


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


def _merged_ranges(archive: Any, part: str, block: int = 1 << 20) -> list[tuple[int, int, int, int]]:
    """(r1, c1, r2, c2), 0-based, of every `<mergeCell ref="A1:B2"/>` of a sheet part, read a block at a time."""
    out: set[tuple[int, int, int, int]] = set()
    tail = b""
    with archive.open(part.lstrip("/")) as stream:
        while chunk := stream.read(block):
            data = tail + chunk
            for m in _MERGE.finditer(data):
                out.add((int(m.group(2)) - 1, _col_index(m.group(1)), int(m.group(4)) - 1, _col_index(m.group(3))))
            tail = data[-128:]
    return sorted(out)


def _fill_merge(cells: list[list[Any]], formats: list[list[str | None]], r1: int, c1: int, r2: int, c2: int) -> None:
    """Every cell of a merged range reads its top-left value and format."""
    if r1 >= len(cells) or c1 >= len(cells[r1]):
        return
    value, fmt = cells[r1][c1], formats[r1][c1]
    for r in range(r1, min(r2 + 1, len(cells))):
        row, frow = cells[r], formats[r]
        if len(row) <= c2:  # a short (ragged) row is padded to the range
            row.extend([None] * (c2 + 1 - len(row)))
            frow.extend([None] * (c2 + 1 - len(frow)))
        for c in range(c1, c2 + 1):
            row[c] = value
            frow[c] = fmt


def _xls_grids(file: str) -> list[Grid]:
    import fastexcel

    try:
        reader = fastexcel.read_excel(file)
        names = list(reader.sheet_names)
    except Exception as exc:  # noqa: BLE001 - calamine raises its own errors on a damaged file
        raise InputError(Problem(file=file, message=f"无法打开 Excel 97-2003 工作簿：{exc}", expected="有效的 .xls 文件")) from None
    grids = []
    for name in names:
        try:
            frame = reader.load_sheet_by_name(name, header_row=None, dtypes="string").to_polars()
        except Exception:  # noqa: BLE001 - an empty sheet has no columns to read
            grids.append(Grid(file=file, sheet=name, cells=[]))
            continue
        cells = [list(row) for row in frame.iter_rows()]
        grids.append(Grid(file=file, sheet=name, cells=[[_xls_value(v) for v in row] for row in cells]))
    return grids


def _xls_value(value: Any) -> Any:
    """calamine's text of a cell: a number written as `12.5` is read back as a number."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _docx_grids(file: str) -> list[Grid]:
    import docx

    from selfeval.ingest.detect import check_package

    check_package(file)
    try:
        document = docx.Document(file)
    except Exception as exc:  # noqa: BLE001 - python-docx raises assorted errors on a damaged package
        raise InputError(Problem(file=file, message=f"无法打开 Word 文档：{exc}", expected="可用 Word 打开的 .docx 文件")) from None
    return [Grid(file=file, sheet=f"第 {t} 个表格", cells=_docx_cells(table), kind="table")
            for t, table in enumerate(document.tables, start=1)]


def _docx_cells(table: Any) -> list[list[Any]]:
    """A Word table as a grid: a cell spanning columns (gridSpan) repeats over them, a vertically merged
    cell (vMerge continue) repeats the cell above — what python-docx's `row.cells` gives, walked once."""
    from docx.oxml.ns import qn

    w_t, w_p = qn("w:t"), qn("w:p")
    grid: list[list[Any]] = []
    for tr in table._tbl.tr_lst:
        row: list[Any] = []
        for tc in tr.tc_lst:
            span = tc.grid_span
            if tc.vMerge == "continue" and grid:
                above = grid[-1]
                value = above[len(row)] if len(row) < len(above) else None
            else:
                text = "\n".join("".join(t.text or "" for t in p.iter(w_t)) for p in tc.iter(w_p)).strip()
                value = text or None
            row.extend([value] * span)
        grid.append(row)
    return grid


def column_letter(index: int) -> str:
    """Excel's letter of a 0-based column index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


__all__ = ["SUFFIXES", "Grid", "column_letter", "read_grids"]
