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
    from openpyxl import load_workbook

    from selfeval.ingest.detect import check_package

    check_package(file)  # a "zip bomb" is refused before openpyxl inflates it
    try:
        workbook = load_workbook(file, data_only=True)
    except Exception as exc:  # openpyxl raises assorted errors on a damaged package
        raise InputError(Problem(file=file, message=f"无法打开 Excel 工作簿：{exc}", expected="有效的 .xlsx 文件")) from None
    grids = []
    try:
        for ws in workbook.worksheets:
            cells = [[c.value for c in row] for row in ws.iter_rows()]
            formats = [[c.number_format for c in row] for row in ws.iter_rows()]
            for merged in ws.merged_cells.ranges:
                top = ws.cell(merged.min_row, merged.min_col)
                for r in range(merged.min_row - 1, min(merged.max_row, len(cells))):
                    for c in range(merged.min_col - 1, min(merged.max_col, len(cells[r]))):
                        cells[r][c] = top.value
                        formats[r][c] = top.number_format
            grids.append(Grid(file=file, sheet=ws.title, cells=cells, formats=formats))
    finally:
        workbook.close()
    return grids


def _xls_grids(file: str) -> list[Grid]:
    import fastexcel

    try:
        reader = fastexcel.read_excel(file)
        names = list(reader.sheet_names)
    except Exception as exc:
        raise InputError(Problem(file=file, message=f"无法打开 Excel 97-2003 工作簿：{exc}", expected="有效的 .xls 文件")) from None
    grids = []
    for name in names:
        try:
            frame = reader.load_sheet_by_name(name, header_row=None, dtypes="string").to_polars()
        except Exception:  # an empty sheet has no columns to read
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
    except Exception as exc:  # python-docx raises assorted errors on a damaged package
        raise InputError(Problem(file=file, message=f"无法打开 Word 文档：{exc}", expected="可用 Word 打开的 .docx 文件")) from None
    grids = []
    for t, table in enumerate(_tables(document), start=1):
        # row.cells repeats a merged cell over every grid column (and down every row) it covers
        cells = [[(cell.text.strip() or None) for cell in row.cells] for row in table.rows]
        grids.append(Grid(file=file, sheet=f"第 {t} 个表格", cells=cells, kind="table"))
    return grids


def _tables(document: Any) -> list[Any]:
    """Every table of the document body in order, tables nested in a cell included after it."""
    out = []
    for table in document.tables:
        out.append(table)
        for row in table.rows:
            for cell in row.cells:
                out.extend(cell.tables)
    return out


def column_letter(index: int) -> str:
    """Excel's letter of a 0-based column index (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


__all__ = ["SUFFIXES", "Grid", "column_letter", "read_grids"]
