"""Words and colours people read, declared once: severity and grade labels, terminal styles,
Excel fills, status and yes/no words, and the Chinese column labels.

`selfeval.schema.LABELS` stays the source of the canonical frames' column labels; `VIEW_LABELS`
adds the columns of the bulk and what-if views. Nothing here imports xlsxwriter or rich, so the
terminal, the workbooks and the tests all read the same dictionaries.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from selfeval.schema import LABELS, SEVERITIES

SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}
SEVERITY_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}  # rich markup
SEVERITY_FILLS = {"error": ("#FFC7CE", "#9C0006"), "warning": ("#FFEB9C", "#9C5700")}  # Excel fill, font

GRADE_STYLES = {"优": "bold green", "良": "green", "中": "yellow", "差": "bold red"}  # rich markup
GRADE_FILLS = {  # Excel fill, font
    "优": ("#C6EFCE", "#006100"),
    "良": ("#DDEBF7", "#1F4E78"),
    "中": ("#FFEB9C", "#9C5700"),
    "差": ("#FFC7CE", "#9C0006"),
}

STATUS_LABELS = {"scored": "已评分", "unscorable": "未能评分"}
ROLE_LABELS = {"declared": "绩效目标表", "actuals": "实际完成值", "execution": "预算执行", "rules": "规则文件"}
YES, NO = "是", "否"

# Columns of the bulk and what-if views (the canonical frames' columns are in schema.LABELS).
VIEW_LABELS = {
    "scenario": "情景", "grade_changed": "等级是否变化", "level": "层级", "from_grade": "原等级", "to_grade": "新等级",
    "count": "数量", "share": "占比", "pass": "计算批次", "rules": "规则集", "rank": "名次", "errors": "错误数",
    "warnings": "警告数", "units": "涉及单位数", "name": "问题", "path": "文件", "reason": "原因",
    "projects_mean_total": "项目平均分", "units_mean_total": "单位平均分",
    "projects_grade_changed": "等级变化项目数", "units_grade_changed": "等级变化单位数",
    "projects_total_changed": "得分变化项目数", "units_total_changed": "得分变化单位数",
}
COLUMN_LABELS = {**LABELS, **VIEW_LABELS}


def label(column: str) -> str:
    """The Chinese header of a column (the column's own name when it has none)."""
    return COLUMN_LABELS.get(column, column)


def severity_label(severity: str | None) -> str:
    return SEVERITY_LABELS.get(severity or "", severity or "")


def severity_markup(severity: str | None) -> str:
    """The severity's Chinese word in its rich style (`[bold red]错误[/]`)."""
    text = severity_label(severity)
    style = SEVERITY_STYLES.get(severity or "")
    return f"[{style}]{text}[/]" if style else text


def grade_markup(grade: str | None, empty: str = "—") -> str:
    """A grade in its rich style; `empty` for no grade."""
    from rich.markup import escape

    style = GRADE_STYLES.get(grade or "")
    # a grade a profile names itself (A/B/C/D, 优秀 …) has no colour: plain text (`[]…[/]` is no markup)
    return f"[{style}]{escape(grade or empty)}[/]" if style else escape(grade or empty)


def yes_no(value: bool | None) -> str | None:
    return None if value is None else (YES if value else NO)


def yes_no_markup(value: bool | None) -> str:
    """是, or 否 in red (also for unknown): for terminal tables."""
    return YES if value else f"[red]{NO}[/]"


def yes_no_expr(column: str) -> pl.Expr:
    """A Boolean column as 是/否 text (null stays null)."""
    col = pl.col(column)
    return pl.when(col).then(pl.lit(YES)).when(col.not_()).then(pl.lit(NO)).otherwise(None).alias(column)


def severity_label_expr(column: str = "severity") -> pl.Expr:
    return pl.col(column).replace_strict(SEVERITY_LABELS, default=pl.col(column), return_dtype=pl.String)


def excel_fill(fill_font: tuple[str, str] | None) -> dict[str, Any]:
    """xlsxwriter format properties of a (fill, font colour) pair; {} for none."""
    return {"bg_color": fill_font[0], "font_color": fill_font[1]} if fill_font else {}


__all__ = [
    "COLUMN_LABELS", "GRADE_FILLS", "GRADE_STYLES", "LABELS", "NO", "ROLE_LABELS", "SEVERITIES", "SEVERITY_FILLS",
    "SEVERITY_LABELS", "SEVERITY_STYLES", "STATUS_LABELS", "VIEW_LABELS", "YES", "excel_fill", "grade_markup", "label",
    "severity_label", "severity_label_expr", "severity_markup", "yes_no", "yes_no_expr", "yes_no_markup",
]
