"""One way to open a workbook and one way to write a table into it.

`new_workbook(path)` is the only place an `xlsxwriter.Workbook` is created: every workbook the
tool writes has the same safety options (a text such as ``=cmd|' /C calc'!A0`` or
``http://…`` stays text, a numeric-looking text stays text, NaN/inf become Excel errors instead
of a corrupt file), a reproducible `created` date, and is written to a temp file beside the
target and renamed (`atomic_path`), so a reader never sees half a workbook.

`write_table(wb, sheet, frame)` writes a frame as an Excel table with `DataFrame.write_excel`:
Chinese headers, Booleans as 是/否, NaN as blank, column widths in Excel's character units, and
the rows Excel cannot hold cut off with a note.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator, Mapping
from typing import Any

import polars as pl
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from selfeval.atomic import atomic_path
from selfeval.report.labels import label, yes_no_expr

SAFE_OPTIONS: dict[str, Any] = {
    "strings_to_formulas": False,  # "=…" from input is text, never a formula
    "strings_to_urls": False,  # "http://…" is text, never a link (and no 65,530-link limit)
    "strings_to_numbers": False,  # "007" stays "007"
    "nan_inf_to_errors": True,  # NaN/inf become #NUM!/#DIV/0! instead of an invalid file
}
EXCEL_MAX_ROWS = 1_048_576


def timestamp(value: dt.datetime | None = None) -> dt.datetime:
    """The time stamped into a workbook: `value`, else $SOURCE_DATE_EPOCH (reproducible builds), else now."""
    if value is not None:
        return value
    if epoch := os.environ.get("SOURCE_DATE_EPOCH"):
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).replace(tzinfo=None)
        except ValueError:
            pass
    return dt.datetime.now().replace(microsecond=0)


@contextlib.contextmanager
def new_workbook(
    path: str | os.PathLike[str], *, created: dt.datetime | None = None, small: bool = False, **properties: Any
) -> Iterator[xlsxwriter.Workbook]:
    """A workbook with the safety options, written atomically to `path` when the block ends.

    `created` fixes the document's created date (default: `timestamp()`); `properties` are
    further document properties (title, subject, author, company, comments). `small=True` (a
    workbook known to be small, e.g. one unit's self-evaluation) assembles its parts in memory
    instead of in temporary files: quicker, but a large table would hold its XML in memory too.

    >>> with new_workbook("out.xlsx", title="结果") as wb:  # doctest: +SKIP
    ...     write_table(wb, "结果", frame)
    """
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {**SAFE_OPTIONS, "in_memory": small})
        try:
            wb.set_properties({**properties, "created": timestamp(created)})
            yield wb
        finally:
            wb.close()


def _unique(names: list[str]) -> list[str]:
    """Headers made unique (an Excel table refuses two equal headers): `名称`, `名称(2)`, …"""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        n = seen.get(name, 0) + 1
        seen[name] = n
        out.append(name if n == 1 else f"{name}({n})")
    return out


def table_frame(frame: pl.DataFrame, labels: Mapping[str, str] | None = None) -> pl.DataFrame:
    """`frame` as people read it: Booleans as 是/否, NaN as null, columns renamed to their labels."""
    fixes = [yes_no_expr(c) for c, t in frame.schema.items() if t == pl.Boolean]
    fixes += [pl.col(c).fill_nan(None) for c, t in frame.schema.items() if t.is_float()]
    out = frame.with_columns(fixes) if fixes else frame
    headers = _unique([(labels or {}).get(c) or label(c) for c in frame.columns])
    return out.rename(dict(zip(frame.columns, headers)))


def write_table(
    wb: xlsxwriter.Workbook,
    sheet: str | Worksheet,
    frame: pl.DataFrame,
    *,
    position: tuple[int, int] = (0, 0),
    labels: Mapping[str, str] | None = None,
    widths: Mapping[str, float] | None = None,
    formats: Mapping[str, str | dict[str, Any]] | None = None,
    header_format: dict[str, Any] | None = None,
    table_name: str | None = None,
    table_style: str | None = "Table Style Light 9",
    overflow_note: str = "",
) -> int:
    """Write `frame` as an Excel table at `position` of `sheet` (created when a name is new).

    `labels`, `widths` (Excel character units) and `formats` (a number format or xlsxwriter
    format properties) are keyed by the frame's column names; headers default to
    `labels.label`. Rows beyond Excel's limit are left out with a note (plus `overflow_note`).
    Returns the first free row below the table.
    """
    ws = sheet if isinstance(sheet, Worksheet) else wb.get_worksheet_by_name(sheet) or wb.add_worksheet(sheet)
    row0, col0 = position
    limit = EXCEL_MAX_ROWS - row0 - 2
    shown = table_frame(frame.head(limit), labels)
    header_of = dict(zip(frame.columns, shown.columns))
    shown.write_excel(
        workbook=wb,
        worksheet=ws,
        position=position,
        table_name=table_name,
        table_style=table_style,
        column_formats={header_of[c]: dict(f) if isinstance(f, dict) else f for c, f in (formats or {}).items()},
        header_format=dict(header_format) if header_format else None,
        float_precision=2,
        autofilter=True,
    )
    for column, width in (widths or {}).items():
        j = col0 + frame.get_column_index(column)
        ws.set_column(j, j, width)
    if not widths:  # a readable default from the header's length (CJK counts double)
        for j, header in enumerate(shown.columns, start=col0):
            ws.set_column(j, j, max(10, min(40, len(header) * 2 + 2)))
    end = row0 + 1 + max(shown.height, 1)
    if frame.height > limit:
        ws.write_string(end, col0, f"（超出 Excel 行数上限，只写出前 {limit} 行，共 {frame.height} 行）{overflow_note}")
        end += 1
    return end


__all__ = ["EXCEL_MAX_ROWS", "SAFE_OPTIONS", "new_workbook", "table_frame", "timestamp", "write_table"]
