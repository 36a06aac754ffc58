"""审核结果.xlsx and the audit tables (Parquet/CSV), through the one workbook factory and the one table writer.

Sheets: 审核汇总 (unit × project, worst first), 问题清单 (every finding with file, sheet, row, cell),
文件 (every file and sheet read or skipped), then one sheet per unit with the claimed and the
recomputed numbers side by side (projects, then indicators), differences highlighted.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from selfeval.atomic import unique_sheet_names
from selfeval.audit.result import AUDIT_LABELS, AuditResult
from selfeval.report.labels import (
    SEVERITY_FILLS,
    excel_fill,
    label,
    severity_label_expr,
)

SUMMARY, FINDINGS, FILES = "审核汇总", "问题清单", "文件"
WORKBOOK_NAME = "审核结果.xlsx"
_LABELS = {**{c: label(c) for c in ("unit_code", "unit_name", "project_code", "project_name", "seq", "level1", "level2",
                                     "level3", "target_text", "actual_text", "deviation_reason", "explain", "severity",
                                     "code", "message", "value", "year_budget", "executed")}, **AUDIT_LABELS}
DIFF_FILL = {"bg_color": "#FFC7CE", "font_color": "#9C0006"}


def _labels(frame: pl.DataFrame) -> dict[str, str]:
    return {c: _LABELS.get(c, label(c)) for c in frame.columns}


def findings_view(result: AuditResult) -> pl.DataFrame:
    return result.findings.select(
        severity_label_expr(), "code", "name", "file", "sheet", "row", "cell", "column", "unit_code", "project_code",
        "project_name", "seq", "level3", "value", "expected", "message",
    )


def write_audit_workbook(result: AuditResult, path: str | Path) -> Path:
    """Write 审核结果.xlsx (atomically) and return its path."""
    from selfeval.report.workbook import new_workbook, write_table

    path = Path(path)
    with new_workbook(path, title="绩效自评审核结果") as wb:
        diff = wb.add_format(DIFF_FILL)
        summary = result.summary
        write_table(wb, SUMMARY, summary, labels=_labels(summary), formats=_points_formats(summary))
        ws = wb.get_worksheet_by_name(SUMMARY)
        _highlight(ws, summary, ["difference"], diff, nonzero=True)
        _highlight(ws, summary, ["errors"], wb.add_format(excel_fill(SEVERITY_FILLS["error"])), nonzero=True)
        _grade_mismatch(ws, summary, diff)
        ws.freeze_panes(1, 0)
        findings = findings_view(result)
        write_table(wb, FINDINGS, findings, labels=_labels(findings))
        wb.get_worksheet_by_name(FINDINGS).freeze_panes(1, 0)
        files = result.sheets.join(result.files.select("file", pl.col("status").alias("file_status"), pl.col("reason").alias("file_reason")),
                                   on="file", how="full", coalesce=True)
        files = files.select("file", pl.coalesce("status", "file_status").alias("status"), "sheet", "forms",
                             pl.coalesce("reason", "file_reason").alias("reason"))
        write_table(wb, FILES, files, labels=_labels(files))
        _unit_sheets(wb, result, diff)
    return path


def _points_formats(frame: pl.DataFrame) -> dict[str, str]:
    return {c: "0.00" for c, t in frame.schema.items() if t == pl.Float64 and "rate" not in c} | {
        c: "0.00%" for c in frame.columns if c.endswith("rate")}


def _highlight(ws, frame: pl.DataFrame, columns: list[str], fmt, *, nonzero: bool) -> None:
    """Conditional format: a non-zero value of `columns` filled (the rows are the table's)."""
    for column in columns:
        if column not in frame.columns or frame.height == 0:
            continue
        j = frame.get_column_index(column)
        ws.conditional_format(1, j, frame.height, j, {"type": "cell", "criteria": "!=", "value": 0, "format": fmt})


def _grade_mismatch(ws, frame: pl.DataFrame, fmt) -> None:
    if frame.height == 0:
        return
    from xlsxwriter.utility import xl_rowcol_to_cell

    a, b = frame.get_column_index("claimed_grade"), frame.get_column_index("grade")
    first_a, first_b = xl_rowcol_to_cell(1, a, col_abs=True), xl_rowcol_to_cell(1, b, col_abs=True)
    ws.conditional_format(1, a, frame.height, b, {
        "type": "formula", "criteria": f"=AND({first_b}<>\"\",{first_a}<>{first_b})", "format": fmt})


def _unit_sheets(wb, result: AuditResult, diff) -> None:
    from selfeval.report.workbook import write_table

    units = result.projects.select("unit_code", "unit_name").unique(maintain_order=True)
    names = unique_sheet_names([f"{c}" if n is None or n == c else f"{c} {n}" for c, n in units.iter_rows()],
                               reserved=[SUMMARY, FINDINGS, FILES])
    for (code, _), sheet in zip(units.iter_rows(), names):
        projects = result.projects.filter(pl.col("unit_code") == code).drop("unit_code", "unit_name")
        projects = projects.with_columns(pl.when(pl.col("complete").fill_null(False))
                                         .then((pl.col("claimed_total") - pl.col("total")).round(2)).alias("difference"))
        end = write_table(wb, sheet, projects, labels=_labels(projects), formats=_points_formats(projects),
                          table_style="Table Style Light 9")
        ws = wb.get_worksheet_by_name(sheet)
        _highlight(ws, projects, ["difference"], diff, nonzero=True)
        indicators = result.indicators.filter(pl.col("unit_code") == code).drop("unit_code", "file")
        start = end + 2
        ws.write_string(start - 1, 0, "逐项指标：自评与复算对照（差额非零者标红）")
        write_table(wb, ws, indicators, position=(start, 0), labels=_labels(indicators), formats=_points_formats(indicators))
        if indicators.height:
            j = indicators.get_column_index("difference")
            ws.conditional_format(start + 1, j, start + indicators.height, j,
                                  {"type": "cell", "criteria": "!=", "value": 0, "format": diff})
        ws.freeze_panes(1, 0)


def write_audit_tables(result: AuditResult, folder: str | Path, fmt: str = "parquet") -> list[Path]:
    """The audit tables as Parquet and/or CSV (atomically) in `folder`."""
    from selfeval.report.tables import write_tables

    return write_tables(result.tables(), folder, fmt)


__all__ = ["WORKBOOK_NAME", "findings_view", "write_audit_tables", "write_audit_workbook"]
