"""Readers: every input format → the canonical frames of `selfeval.schema` (SPEC.md §3).

* `read_declared(path, year=None)` — a target document (text dump or .docx), a workbook of the
  canonical tables (.xlsx), or a folder of them (.csv/.parquet); the format is sniffed from content.
* `read_actuals(path)` / `read_execution(path)` — .csv, .xlsx (e.g. the filled template), .parquet.
* `write_declared(decl, folder, fmt)` / `write_declared_xlsx(decl, path)` — the canonical tables as files.

Every table reader reports all problems of a file at once (`InputError.problems`), each with file,
sheet, row (as the spreadsheet numbers it), column (header as written), the value seen and what
was expected; see `ingest.common.coerce_report` and `ingest.sheet.read_sheet`.

What a reader recognises but does not use (an indicator-table column such as 备注, a 执行率 or
完成率 column …) is never dropped silently: once the file has been read without errors, each is
emitted as a `selfeval.errors.InputWarning` (`warnings.warn`; `.problem` locates it), which the
CLI prints as “注意：…”. Layouts (split 指标性质|指标值|度量单位, 指标方向, 万元 amounts) are in
`ingest.layout`.
"""

from __future__ import annotations

from pathlib import Path

from selfeval.declaration import Declaration
from selfeval.errors import InputError, Problem
from selfeval.ingest.actuals import read_actuals, read_execution
from selfeval.ingest.detect import sniff
from selfeval.ingest.docx import read_docx
from selfeval.ingest.tables import (
    SHEET_ALIASES,
    is_tables_workbook,
    read_tables_folder,
    read_tables_xlsx,
    sheet_names,
    write_declared,
    write_declared_xlsx,
    write_frames,
)
from selfeval.ingest.text import read_text_dump

__all__ = [
    "read_actuals",
    "read_declared",
    "read_execution",
    "write_declared",
    "write_declared_xlsx",
    "write_frames",
]


def read_declared(path: str | Path, *, year: int | None = None) -> Declaration:
    """Read declared targets from any supported input; `year` overrides the year found in a document."""
    path = Path(path)
    if year is not None and not 1900 <= year <= 2100:
        raise InputError(Problem(file=str(path), message=f"预算年度 {year} 超出合理范围", value=str(year), expected="1900 到 2100 之间的年度"))
    kind = sniff(path)
    if kind == "text":
        return read_text_dump(path, year=year)
    if kind == "docx":
        return read_docx(path, year=year)
    if kind == "folder":
        return _with_year(read_tables_folder(path), year)
    if kind == "xlsx":
        names = sheet_names(path)
        if is_tables_workbook(names):
            return _with_year(read_tables_xlsx(path), year)
        raise InputError(
            Problem(file=str(path), message="工作簿中没有 units、projects、indicators 工作表（现有工作表：" + "、".join(names) + "）",
                    expected="含 units/projects/indicators（可选 department_goals）工作表的 .xlsx，或绩效目标表 .docx/.txt")
        )
    # a single .csv/.parquet: if it is one of a folder's canonical tables, read the folder
    stem = path.stem.lower()
    if any(stem in (a.lower() for a in aliases) for aliases in SHEET_ALIASES.values()):
        return _with_year(read_tables_folder(path.parent), year)
    raise InputError(
        Problem(file=str(path), message="单个表格文件只含一张表，不足以构成绩效目标声明",
                expected="含 units、projects、indicators 表的文件夹或 .xlsx 工作簿，或绩效目标表 .docx/.txt")
    )


def _with_year(decl: Declaration, year: int | None) -> Declaration:
    """Canonical tables carry their year; an explicit `year` replaces it."""
    if year is None:
        return decl
    import polars as pl

    units = decl.units.with_columns(pl.lit(year, pl.Int32).alias("year"))
    return Declaration(units, decl.projects, decl.indicators, decl.department_goals, decl.sources)
