"""The self-evaluation workbook (SPEC.md §6.2), one per unit, written with xlsxwriter.

Sheets: 汇总, one 项目支出绩效自评表 per project (the official form, print-ready), 部门整体,
问题清单, 计算说明 and 计算明细. The official forms (汇总, project sheets, 部门整体, 计算说明) are laid
out by hand and every text from input is written with `write_string` (never `write`); the plain
tables (问题清单, 计算明细) are written with `DataFrame.write_excel`. The workbook comes from
`new_workbook` (strings never become formulas or links; written atomically). 计算说明 explains the
method in words generated from the rule set.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

import selfeval
from selfeval.atomic import safe_filename, unique_filenames, unique_sheet_names
from selfeval.checkpoints import CHECKPOINT_MONTHS, SPENT_COLUMNS, month_label
from selfeval.errors import SelfevalError
from selfeval.findings import CATALOGUE
from selfeval.report.labels import (
    GRADE_FILLS,
    LABELS,
    ROLE_LABELS,
    SEVERITIES,
    SEVERITY_FILLS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    excel_fill,
    severity_label_expr,
    yes_no,
)
from selfeval.report.workbook import new_workbook, timestamp, write_table
from selfeval.result import Result
from selfeval.rules.loader import describe_rules
from selfeval.rules.model import EXECUTION_KEY, Curve, RuleSet

SUMMARY, DEPARTMENT, FINDINGS, METHOD, DETAIL = "汇总", "部门整体", "问题清单", "计算说明", "计算明细"
FIXED_SHEETS = (SUMMARY, DEPARTMENT, FINDINGS, METHOD, DETAIL)

BODY_FONT, TITLE_FONT = "宋体", "黑体"
MONEY, RATE, POINTS = "#,##0.00", "0.00%", "0.00"
A4 = 9
MAX_ROW_HEIGHT = 409.0  # Excel's limit in points; a taller row makes Excel repair the file


class ReportError(SelfevalError, ValueError):
    """The workbook cannot be written as asked (e.g. several units and no unit chosen)."""


# ------------------------------------------------------------------------------ formats


class Formats:
    """Format cache: one xlsxwriter Format per distinct property set (Excel caps their number)."""

    BASE: dict[str, Any] = {"font_name": BODY_FONT, "font_size": 10, "valign": "vcenter", "font_charset": 134}

    HEADER: dict[str, Any] = {"font_name": TITLE_FONT, "border": 1, "align": "center", "text_wrap": True, "bg_color": "#F2F2F2"}
    CELL: dict[str, Any] = {"border": 1, "text_wrap": True}

    def __init__(self, workbook: xlsxwriter.Workbook):
        self._workbook = workbook
        self._cache: dict[tuple[tuple[str, Any], ...], Format] = {}

    @classmethod
    def props(cls, **props: Any) -> dict[str, Any]:
        """The full property set of a format (BASE + `props`), e.g. for `write_table`."""
        return {**cls.BASE, **props}

    def get(self, **props: Any) -> Format:
        merged = self.props(**props)
        key = tuple(sorted(merged.items()))
        if key not in self._cache:
            self._cache[key] = self._workbook.add_format(merged)
        return self._cache[key]

    # named formats used across sheets
    def title(self, size: int = 16) -> Format:
        return self.get(font_name=TITLE_FONT, font_size=size, align="center")

    def subtitle(self) -> Format:
        return self.get(font_size=11, align="center")

    def note(self, **props: Any) -> Format:
        return self.get(**{"text_wrap": True, **props})

    def header(self, **props: Any) -> Format:
        return self.get(**{**self.HEADER, **props})

    def cell(self, **props: Any) -> Format:
        return self.get(**{**self.CELL, **props})

    def label(self, **props: Any) -> Format:
        return self.get(**{"border": 1, "text_wrap": True, "align": "center", "bold": True, **props})

    def grade(self, grade: str | None, **props: Any) -> Format:
        extra = excel_fill(GRADE_FILLS.get(grade or ""))
        return self.get(**{"border": 1, "align": "center", "bold": True, **extra, **props})


# ------------------------------------------------------------------------------ cell helpers


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and not math.isfinite(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def put_text(ws: Worksheet, row: int, col: int, value: Any, fmt: Format | None = None) -> None:
    """Write input text as a string cell (never a formula), or a formatted blank."""
    if _blank(value):
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def put_number(ws: Worksheet, row: int, col: int, value: Any, fmt: Format | None = None) -> None:
    """Write a number, or a formatted blank for null/NaN."""
    if _blank(value):
        ws.write_blank(row, col, None, fmt)
    else:
        ws.write_number(row, col, float(value), fmt)


def merge_text(ws: Worksheet, r1: int, c1: int, r2: int, c2: int, value: Any, fmt: Format) -> None:
    """Merge a range and put text in it (merge_range itself would call `write`)."""
    if (r1, c1) != (r2, c2):
        ws.merge_range(r1, c1, r2, c2, "", fmt)
    put_text(ws, r1, c1, value, fmt)


def merge_number(ws: Worksheet, r1: int, c1: int, r2: int, c2: int, value: Any, fmt: Format) -> None:
    if (r1, c1) != (r2, c2):
        ws.merge_range(r1, c1, r2, c2, "", fmt)
    put_number(ws, r1, c1, value, fmt)


def text_width(text: str) -> float:
    """Approximate width of `text` in Excel column-width units at 10pt (CJK ≈ 1.9 units)."""
    return sum(1.9 if unicodedata.east_asian_width(ch) in "WF" else 1.0 for ch in text)


def lines_needed(text: Any, width: float) -> int:
    """Lines `text` wraps to in a cell `width` units wide."""
    if _blank(text):
        return 1
    usable = max(width - 1.5, 1.0)
    return sum(max(1, math.ceil(text_width(part) / usable)) for part in str(text).split("\n"))


def row_height(cells: Iterable[tuple[Any, float]], *, line: float = 14.0, minimum: float = 20.0) -> float:
    """Row height (points) that shows every (text, width) cell fully wrapped."""
    lines = max((lines_needed(text, width) for text, width in cells), default=1)
    return min(MAX_ROW_HEIGHT, max(minimum, lines * line + 5))


def _sheet_ref(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _fmt_num(value: Any, pattern: str = "{:,.2f}") -> str:
    return "—" if _blank(value) else pattern.format(value)


def _fmt_rate(value: Any) -> str:
    return "—" if _blank(value) else f"{value * 100:.2f}%"


def _page_setup(ws: Worksheet, *, landscape: bool = False, repeat: tuple[int, int] | None = None) -> None:
    ws.set_paper(A4)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.7)
    ws.center_horizontally()
    ws.set_footer("&C第 &P 页，共 &N 页")
    if repeat is not None:
        ws.repeat_rows(*repeat)


# ------------------------------------------------------------------------------ data views


@dataclass(frozen=True)
class UnitView:
    """The slice of a Result belonging to one unit, as plain rows for layout."""

    unit_code: str
    unit_name: str
    year: int | None
    unit: dict[str, Any]
    projects: list[dict[str, Any]]  # project_scores joined with declared projects
    indicators: pl.DataFrame
    findings: pl.DataFrame
    goals: pl.DataFrame


def unit_codes(result: Result) -> list[str]:
    """Units present in the result, in order of first appearance."""
    codes = result.unit_scores.get_column("unit_code").to_list()
    codes += result.project_scores.get_column("unit_code").to_list()
    codes += result.declaration.units.get_column("unit_code").to_list()
    return list(dict.fromkeys(c for c in codes if c is not None))


def unit_view(result: Result, unit_code: str) -> UnitView:
    """Everything the workbook of `unit_code` shows."""
    by_unit = pl.col("unit_code") == unit_code
    units = result.unit_scores.filter(by_unit)
    declared_unit = result.declaration.units.filter(by_unit)
    unit = units.row(0, named=True) if units.height else {"unit_code": unit_code}
    unit_name = unit.get("unit_name") or (declared_unit.item(0, "unit_name") if declared_unit.height else None) or ""
    year = unit.get("year") or (declared_unit.item(0, "year") if declared_unit.height else None)
    declared = result.declaration.projects.filter(by_unit).select(
        "project_code", "fiscal_funds", "other_funds", "goal", "purpose",
        pl.col("project_name").alias("declared_name"), pl.col("budget").alias("declared_budget"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_declared_order"),
    )
    scores = result.project_scores.filter(by_unit).with_row_index("_order")
    projects = (  # in the order of the declaration (as in the target document), then as scored
        scores.join(declared, on="project_code", how="left")
        .with_columns(
            pl.coalesce("project_name", "declared_name").alias("project_name"),
            pl.coalesce("budget", "declared_budget").alias("budget"),
        )
        .sort("_declared_order", "_order", nulls_last=True)
        .drop("_order", "_declared_order", "declared_name", "declared_budget")
    )
    indicators = result.indicator_scores.filter(by_unit).sort("project_code", "seq")
    names = projects.select("project_code", "project_name")
    level3 = result.indicator_scores.filter(by_unit).select("project_code", "seq", "level3")
    findings = (
        result.findings.filter(by_unit)
        .with_row_index("_order")
        .join(names, on="project_code", how="left")
        .join(level3, on=["project_code", "seq"], how="left")
        .sort("_order")
        .drop("_order")
    )
    goals = result.declaration.department_goals.filter(by_unit)
    return UnitView(
        unit_code=unit_code,
        unit_name=str(unit_name),
        year=int(year) if year is not None else None,
        unit=unit,
        projects=projects.rows(named=True),
        indicators=indicators,
        findings=findings,
        goals=goals,
    )


# ------------------------------------------------------------------------------ sheets


SUMMARY_COLUMNS: list[tuple[str, str, float]] = [  # field, kind, width
    ("project_code", "code", 24),
    ("project_name", "text", 30),
    ("budget", "money", 14),
    ("executed", "money", 14),
    ("execution_rate", "rate", 9),
    ("execution_points", "points", 9),
    ("output_points", "points", 9),
    ("effect_points", "points", 9),
    ("satisfaction_points", "points", 9),
    ("total", "points", 9),
    ("grade", "grade", 8),
    ("complete", "bool", 8),
]


def grades_text(rules: RuleSet) -> str:
    """The grade bands of a rule set in words, e.g. `90 分及以上为优，80 分及以上为良，…`."""
    bands = sorted(rules.grades, key=lambda g: g.min, reverse=True)
    return "，".join(f"{g.min:g} 分及以上为{g.grade}" if g.min > 0 else f"其余为{g.grade}" for g in bands)


def _year_text(view: UnitView) -> str:
    return f"（{view.year}年度）" if view.year else ""


def _write_summary(
    wb: xlsxwriter.Workbook, fm: Formats, view: UnitView, sheet_of: dict[str, str], rules: RuleSet, method: str
) -> None:
    ws = wb.add_worksheet(SUMMARY)
    last = len(SUMMARY_COLUMNS) - 1
    for i, (_, _, width) in enumerate(SUMMARY_COLUMNS):
        ws.set_column(i, i, width)
    merge_text(ws, 0, 0, 0, last, "项目支出绩效自评汇总表", fm.title())
    merge_text(ws, 1, 0, 1, last, _year_text(view), fm.subtitle())
    merge_text(ws, 2, 0, 2, last - 3, f"单位：{view.unit_code} {view.unit_name}", fm.get())
    merge_text(ws, 2, last - 2, 2, last, "金额单位：元", fm.get(align="right"))
    ws.set_row(0, 30)
    header_row = 3
    for col, (field, _, width) in enumerate(SUMMARY_COLUMNS):
        put_text(ws, header_row, col, LABELS[field], fm.header())
    ws.set_row(header_row, row_height((LABELS[f], w) for f, _, w in SUMMARY_COLUMNS))

    def write_row(row: int, record: dict[str, Any], *, bold: bool = False, link: str | None = None) -> None:
        heights = []
        for col, (field, kind, width) in enumerate(SUMMARY_COLUMNS):
            value = record.get(field)
            if kind == "money":
                put_number(ws, row, col, value, fm.cell(num_format=MONEY, bold=bold))
            elif kind == "rate":
                put_number(ws, row, col, value, fm.cell(num_format=RATE, bold=bold))
            elif kind == "points":
                put_number(ws, row, col, value, fm.cell(num_format=POINTS, bold=bold))
            elif kind == "grade":
                put_text(ws, row, col, value, fm.grade(value))
            elif kind == "bool":
                put_text(ws, row, col, yes_no(value), fm.cell(align="center", bold=bold))
            elif kind == "code" and link is not None and not _blank(value):
                ws.write_url(row, col, f"internal:{_sheet_ref(link)}!A1", fm.cell(font_color="#0563C1", underline=1), str(value))
            else:
                put_text(ws, row, col, value, fm.cell(bold=bold))
            if kind in {"text", "code"}:
                heights.append((value, width))
        ws.set_row(row, row_height(heights))

    row = header_row + 1
    first_data = row
    for project in view.projects:
        write_row(row, project, link=sheet_of.get(project["project_code"]))
        row += 1
    last_data = row - 1
    unit = view.unit
    budget, executed = unit.get("budget"), unit.get("executed")
    rate = executed / budget if not _blank(budget) and not _blank(executed) and budget else None
    write_row(
        row,
        {"project_code": DEPARTMENT, "project_name": view.unit_name, "budget": budget, "executed": executed,
         "execution_rate": rate, "total": unit.get("total"), "grade": unit.get("grade"), "complete": unit.get("complete")},
        bold=True,
    )
    dept_row = row
    from selfeval.report.trace import COMMENT_OPTIONS, department_trace

    total_col = [f for f, _, _ in SUMMARY_COLUMNS].index("total")
    ws.write_comment(dept_row, total_col, department_trace(view.projects, unit, rules, view.indicators.rows(named=True)),
                     COMMENT_OPTIONS)
    row += 1
    notes = [
        f"注：1. 部门整体得分{method}；自评等级：{grades_text(rules)}（分数线含本数）。",
        "2. 是否完整为“否”的项目有指标或预算执行未能评分，总分仅含已评分部分，详见“问题清单”。",
        f"3. 评分规则：{rules.title or rules.name}（{rules.name}）；各项计算过程见“计算说明”“计算明细”。",
    ]
    for text in notes:
        merge_text(ws, row, 0, row, last, text, fm.note())
        ws.set_row(row, row_height([(text, sum(w for *_, w in SUMMARY_COLUMNS))]))
        row += 1
    ws.freeze_panes(header_row + 1, 2)
    if view.projects:
        total_col = [f for f, _, _ in SUMMARY_COLUMNS].index("total")
        chart = wb.add_chart({"type": "bar"})
        chart.add_series({
            "name": LABELS["total"],
            "categories": [SUMMARY, first_data, 1, last_data, 1],
            "values": [SUMMARY, first_data, total_col, last_data, total_col],
            "data_labels": {"value": True, "num_format": POINTS},
            "fill": {"color": "#4472C4"},
        })
        chart.set_title({"name": "各项目总分", "name_font": {"name": TITLE_FONT, "size": 12}})
        chart.set_x_axis({"min": 0, "max": 100, "major_unit": 10, "num_font": {"name": BODY_FONT}})
        chart.set_y_axis({"reverse": True, "num_font": {"name": BODY_FONT, "size": 9}})
        chart.set_legend({"none": True})
        height = max(220, 60 + 36 * len(view.projects))
        chart.set_size({"width": 900, "height": height})
        ws.insert_chart(row + 1, 0, chart, {"object_position": 2})
        row += 2 + math.ceil(height / 20)  # default rows are 20 px high: print the chart too
    _page_setup(ws, landscape=True, repeat=(header_row, header_row))
    ws.print_area(0, 0, max(row, dept_row), last)


PROJECT_WIDTHS = [10, 17, 22, 13, 13, 8, 8, 28]  # A..H


def _completion_summary(project: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """实际完成情况: what was achieved, generated from the scored rows."""
    total = len(rows)
    scored = [r for r in rows if r["status"] == "scored"]
    unscored = [r for r in rows if r["status"] != "scored"]
    full = [r for r in scored if r["weight"] and r["points"] is not None and r["points"] >= r["weight"] - 0.005]
    short = [r for r in scored if r not in full]
    parts = [f"全年预算执行率 {_fmt_rate(project.get('execution_rate'))}（执行 {_fmt_num(project.get('executed'))} 元）。"]
    parts.append(f"{total} 项绩效指标中，{len(full)} 项完成指标值")
    if short:
        described = "、".join(
            f"{r['level3'] or ''}（{r['actual_text'] or '—'}，指标值{r['target_text'] or '—'}）" for r in short[:5]
        )
        parts[-1] += f"，{len(short)} 项未完全完成：{described}" + ("等" if len(short) > 5 else "")
    if unscored:
        parts[-1] += f"，{len(unscored)} 项未能评分（见问题清单）"
    parts[-1] += "。"
    return "".join(parts)


def late_months(findings: pl.DataFrame, project_code: str | None) -> list[str]:
    """The month ends at which a project's spending was behind (its SCHEDULE findings), in calendar order."""
    spent = {column: c for c, column in SPENT_COLUMNS.items()}
    columns = findings.filter((pl.col("code") == "SCHEDULE") & (pl.col("project_code") == project_code))["column"]
    months = sorted({spent[c] for c in columns if c in spent}, key=CHECKPOINT_MONTHS.__getitem__)
    return [month_label(c) for c in months]


def _write_project(
    wb: xlsxwriter.Workbook, fm: Formats, name: str, view: UnitView, project: dict[str, Any], rules: RuleSet | None = None
) -> None:
    """One project's 自评表; with `rules`, every 得分 carries its trace as a cell comment (report/trace.py)."""
    from selfeval.report.trace import COMMENT_OPTIONS, execution_trace, indicator_trace, total_trace

    ws = wb.add_worksheet(name)
    widths = PROJECT_WIDTHS
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    full = sum(widths)
    cell, label = fm.cell(), fm.label()
    money, points, rate = fm.cell(num_format=MONEY), fm.cell(num_format=POINTS, align="center"), fm.cell(num_format=RATE, align="center")
    centre = fm.cell(align="center")

    merge_text(ws, 0, 0, 0, 7, "项目支出绩效自评表", fm.title(18))
    ws.set_row(0, 32)
    merge_text(ws, 1, 0, 1, 7, _year_text(view), fm.subtitle())
    merge_text(ws, 2, 0, 2, 4, f"项目编码：{project['project_code'] or ''}", fm.get())
    merge_text(ws, 2, 5, 2, 7, "金额单位：元", fm.get(align="right"))

    r = 3
    merge_text(ws, r, 0, r, 1, "项目名称", label)
    merge_text(ws, r, 2, r, 7, project.get("project_name"), cell)
    ws.set_row(r, row_height([(project.get("project_name"), sum(widths[2:]))]))
    r += 1
    merge_text(ws, r, 0, r, 1, "主管部门", label)
    merge_text(ws, r, 2, r, 3, view.unit_name, cell)
    merge_text(ws, r, 4, r, 5, "实施单位", label)
    merge_text(ws, r, 6, r, 7, view.unit_name, cell)
    ws.set_row(r, row_height([(view.unit_name, widths[2] + widths[3]), (view.unit_name, widths[6] + widths[7])]))

    # 项目资金 block
    r += 1
    funds_top = r
    merge_text(ws, r, 0, r + 3, 0, "项目资金（元）", label)
    put_text(ws, r, 1, None, label)
    for col, text in enumerate(["年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"], start=2):
        put_text(ws, r, col, text, label)
    ws.set_row(r, 22)
    r += 1
    put_text(ws, r, 1, "年度资金总额", centre)
    put_number(ws, r, 2, project.get("budget"), money)
    put_number(ws, r, 3, project.get("year_budget"), money)
    put_number(ws, r, 4, project.get("executed"), money)
    put_number(ws, r, 5, project.get("execution_weight"), points)
    put_number(ws, r, 6, project.get("execution_rate"), rate)
    put_number(ws, r, 7, project.get("execution_points"), fm.cell(num_format=POINTS, align="center", bold=True))
    if rules is not None:
        ws.write_comment(r, 7, execution_trace(project, rules, late_months(view.findings, project.get("project_code"))),
                         COMMENT_OPTIONS)
    ws.set_row(r, 22)
    for offset, (text, field) in enumerate([("其中：财政资金", "fiscal_funds"), ("其他资金", "other_funds")], start=1):
        put_text(ws, r + offset, 1, text, centre)
        put_number(ws, r + offset, 2, project.get(field), money)
        for col in (3, 4):
            put_text(ws, r + offset, col, None, money)
        merge_text(ws, r + offset, 5, r + offset, 7, "—", centre)
        ws.set_row(r + offset, 22)
    r = funds_top + 4

    # 年度总体目标
    rows = view.indicators.filter(pl.col("project_code") == project["project_code"]).rows(named=True)
    goal = project.get("goal")
    achieved = _completion_summary(project, rows)
    merge_text(ws, r, 0, r + 1, 0, "年度总体目标", label)
    merge_text(ws, r, 1, r, 4, "预期目标", label)
    merge_text(ws, r, 5, r, 7, "实际完成情况", label)
    ws.set_row(r, 22)
    merge_text(ws, r + 1, 1, r + 1, 4, goal, cell)
    merge_text(ws, r + 1, 5, r + 1, 7, achieved, cell)
    ws.set_row(r + 1, row_height([(goal, sum(widths[1:5])), (achieved, sum(widths[5:8]))], minimum=40))
    r += 2

    # indicator table
    header_row = r
    for col, text in enumerate(["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"]):
        put_text(ws, r, col, text, fm.header())
    ws.set_row(r, row_height([("偏差原因分析及改进措施", widths[7]), ("年度指标值", widths[3])], minimum=24))
    r += 1
    first = r
    unscored_fmt = fm.cell(align="center", font_color="#C00000")
    for i, row in enumerate(rows):
        at = first + i
        put_text(ws, at, 2, row["level3"], cell)
        put_text(ws, at, 3, row["target_text"], centre)
        put_text(ws, at, 4, row["actual_text"], centre)
        put_number(ws, at, 5, row["weight"], points)
        if row["status"] == "scored" and not _blank(row["points"]):
            put_number(ws, at, 6, row["points"], points)
        else:
            put_text(ws, at, 6, "未评分", unscored_fmt)
        if rules is not None:
            ws.write_comment(at, 6, indicator_trace(row, rules), COMMENT_OPTIONS)
        put_text(ws, at, 7, row["deviation_reason"], cell)
        ws.set_row(at, row_height([(row["level2"], widths[1]), (row["level3"], widths[2]), (row["target_text"], widths[3]),
                                   (row["actual_text"], widths[4]), (row["deviation_reason"], widths[7])]))
    # merged 一级 / 二级 cells over consecutive equal values
    for col, key in ((0, ("level1",)), (1, ("level1", "level2"))):
        start = 0
        for i in range(1, len(rows) + 1):
            if i == len(rows) or tuple(rows[i][k] for k in key) != tuple(rows[start][k] for k in key):
                merge_text(ws, first + start, col, first + i - 1, col, rows[start][key[-1]], centre)
                start = i
    r = first + len(rows)

    # totals
    merge_text(ws, r, 0, r, 5, "总分", label)
    put_number(ws, r, 6, project.get("total"), fm.cell(num_format=POINTS, align="center", bold=True))
    if rules is not None:
        ws.write_comment(r, 6, total_trace(project, rows, rules), COMMENT_OPTIONS)
    weights = [row["weight"] for row in rows if not _blank(row["weight"])]
    full_points = sum(weights) + (project.get("execution_weight") or 0.0)
    put_text(ws, r, 7, f"满分 {full_points:g} 分（含预算执行率 {_fmt_num(project.get('execution_weight'), '{:g}')} 分）", cell)
    ws.set_row(r, 24)
    r += 1
    merge_text(ws, r, 0, r, 5, "自评等级", label)
    grade = project.get("grade")
    put_text(ws, r, 6, grade, fm.grade(grade))
    incomplete = project.get("complete") is False
    note = f"有 {sum(1 for row in rows if row['status'] != 'scored')} 项指标或预算执行未能评分，总分不完整，见问题清单" if incomplete else None
    put_text(ws, r, 7, note, fm.cell(font_color="#C00000") if note else cell)
    ws.set_row(r, row_height([(note, widths[7])], minimum=24))
    r += 2
    sign = "单位负责人：　　　　　　财务负责人：　　　　　　填报人：　　　　　　联系电话：　　　　　　填报日期：　　　　年　　月　　日"
    merge_text(ws, r, 0, r, 7, sign, fm.note())
    ws.set_row(r, row_height([(sign, full)]))

    _page_setup(ws, repeat=(header_row, header_row))
    ws.print_area(0, 0, r, 7)
    ws.freeze_panes(header_row + 1, 0)


def _goal_text(record: dict[str, Any]) -> str:
    parts = []
    if not _blank(record.get("goal")):
        parts.append(str(record["goal"]))
    if not _blank(record.get("indicator")):
        parts.append(f"绩效指标：{record['indicator']}")
    return "\n".join(parts)


def _write_department(
    wb: xlsxwriter.Workbook, fm: Formats, view: UnitView, department_method: str, rules: RuleSet | None = None
) -> None:
    ws = wb.add_worksheet(DEPARTMENT)
    widths = [8, 22, 44, 44]
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    full = sum(widths)
    cell, label = fm.cell(), fm.label()
    merge_text(ws, 0, 0, 0, 3, "部门整体绩效自评表", fm.title(18))
    ws.set_row(0, 32)
    merge_text(ws, 1, 0, 1, 3, _year_text(view), fm.subtitle())
    merge_text(ws, 2, 0, 2, 3, f"单位：{view.unit_code} {view.unit_name}　　　金额单位：元", fm.get())
    r = 3

    def section(title: str) -> None:
        nonlocal r
        merge_text(ws, r, 0, r, 3, title, fm.get(font_name=TITLE_FONT, font_size=12))
        ws.set_row(r, 24)
        r += 1

    unit = view.unit
    budget, executed = unit.get("budget"), unit.get("executed")
    rate = executed / budget if not _blank(budget) and not _blank(executed) and budget else None
    section("一、部门整体自评结果")
    pairs: list[tuple[str, Any, str]] = [
        ("单位", f"{view.unit_code} {view.unit_name}", "text"),
        ("项目数", unit.get("projects"), "int"),
        ("预算数", budget, "money"),
        ("全年执行数", executed, "money"),
        ("执行率", rate, "rate"),
        ("总分", unit.get("total"), "points"),
        ("自评等级", unit.get("grade"), "grade"),
        ("是否完整", yes_no(unit.get("complete")), "text"),
        ("计算方法", department_method, "text"),
    ]
    for name, value, kind in pairs:
        merge_text(ws, r, 0, r, 1, name, label)
        if kind == "text":
            merge_text(ws, r, 2, r, 3, value, cell)
        elif kind == "grade":
            ws.merge_range(r, 2, r, 3, "", fm.grade(value, align="left"))
            put_text(ws, r, 2, value, fm.grade(value, align="left"))
        else:
            num_format = {"money": MONEY, "rate": RATE, "points": POINTS, "int": "0"}[kind]
            merge_number(ws, r, 2, r, 3, value, fm.cell(num_format=num_format, align="left", bold=kind == "points"))
        if name == "总分" and rules is not None:
            from selfeval.report.trace import COMMENT_OPTIONS, department_trace

            ws.write_comment(r, 2, department_trace(view.projects, unit, rules, view.indicators.rows(named=True)), COMMENT_OPTIONS)
        ws.set_row(r, 22)
        r += 1
    r += 1

    goals = view.goals.sort("section", "seq")
    overall = goals.filter(pl.col("section") == "总体绩效目标").rows(named=True)
    items = goals.filter(pl.col("section") == "分项绩效目标").sort("seq").rows(named=True)
    measures = goals.filter(pl.col("section") == "工作保障措施").sort("seq").rows(named=True)

    section("二、总体绩效目标")
    text = "\n".join(t for t in (_goal_text(g) or (g.get("title") or "") for g in overall) if t) or "（申报材料中未载明）"
    merge_text(ws, r, 0, r, 3, text, cell)
    ws.set_row(r, row_height([(text, full)], minimum=30))
    r += 2

    section("三、分项绩效目标")
    for col, head in enumerate(["序号", "分项", "绩效目标", "绩效指标"]):
        put_text(ws, r, col, head, fm.header())
    ws.set_row(r, 22)
    r += 1
    if not items:
        merge_text(ws, r, 0, r, 3, "（申报材料中未载明）", cell)
        r += 1
    for n, g in enumerate(items, start=1):
        put_number(ws, r, 0, g.get("seq") or n, fm.cell(align="center", num_format="0"))
        put_text(ws, r, 1, g.get("title"), cell)
        put_text(ws, r, 2, g.get("goal"), cell)
        put_text(ws, r, 3, g.get("indicator"), cell)
        ws.set_row(r, row_height([(g.get("title"), widths[1]), (g.get("goal"), widths[2]), (g.get("indicator"), widths[3])]))
        r += 1
    r += 1

    section("四、工作保障措施")
    if not measures:
        merge_text(ws, r, 0, r, 3, "（申报材料中未载明）", cell)
        r += 1
    for n, g in enumerate(measures, start=1):
        put_number(ws, r, 0, g.get("seq") or n, fm.cell(align="center", num_format="0"))
        body = "。".join(t.rstrip("。") for t in (g.get("title"), _goal_text(g)) if not _blank(t))
        body = body + "。" if body and not body.endswith(("。", "；", ".")) else body
        merge_text(ws, r, 1, r, 3, body, cell)
        ws.set_row(r, row_height([(body, sum(widths[1:]))]))
        r += 1
    _page_setup(ws)
    ws.print_area(0, 0, r, 3)


FINDING_COLUMNS: list[tuple[str, str, float]] = [  # column of findings_view, header, width
    ("no", "序号", 6), ("severity", "严重程度", 9), ("code", "问题代码", 17), ("name", "问题名称", 14),
    ("project_code", "项目编码", 24), ("project_name", "项目名称", 24), ("seq", "指标序号", 8),
    ("level3", "三级指标", 24), ("column", "字段", 14), ("value", "值", 16), ("message", "说明", 50),
]


def findings_view(findings: pl.DataFrame) -> pl.DataFrame:
    """The 问题清单 rows: numbered, severity in Chinese, the finding's name, the column's label."""
    names = {code: kind.name for code, kind in CATALOGUE.items()}
    return findings.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("no"),
        severity_label_expr(),
        "code",
        pl.col("code").replace_strict(names, default=None, return_dtype=pl.String).alias("name"),
        "project_code",
        "project_name",
        "seq",
        "level3",
        pl.col("column").replace_strict(LABELS, default=pl.col("column"), return_dtype=pl.String),
        "value",
        "message",
    )


def _write_findings(wb: xlsxwriter.Workbook, fm: Formats, view: UnitView) -> None:
    ws = wb.add_worksheet(FINDINGS)
    last = len(FINDING_COLUMNS) - 1
    merge_text(ws, 0, 0, 0, last, "问题清单", fm.title())
    ws.set_row(0, 30)
    counts = {s: view.findings.filter(pl.col("severity") == s).height for s in SEVERITIES}
    summary = f"共 {view.findings.height} 条：" + "，".join(f"{SEVERITY_LABELS[s]} {n} 条" for s, n in counts.items())
    merge_text(ws, 1, 0, 1, last, summary, fm.get())
    header = 2
    rows = findings_view(view.findings)
    centre = Formats.props(**Formats.CELL, align="center")
    formats: dict[str, str | dict[str, Any]] = {c: Formats.props(**Formats.CELL) for c, _, _ in FINDING_COLUMNS}
    formats.update(no={**centre, "num_format": "0"}, seq={**centre, "num_format": "0"}, severity=centre)
    end = write_table(
        wb, ws, rows, position=(header, 0), table_name="tbl_findings", table_style="Table Style Light 1",
        labels={c: h for c, h, _ in FINDING_COLUMNS}, widths={c: w for c, _, w in FINDING_COLUMNS},
        formats=formats, header_format=Formats.props(**Formats.HEADER),
    )
    if rows.height:
        col = [c for c, _, _ in FINDING_COLUMNS].index("severity")
        for severity, fill in SEVERITY_FILLS.items():
            ws.conditional_format(header + 1, col, header + rows.height, col, {
                "type": "cell", "criteria": "==", "value": f'"{SEVERITY_LABELS[severity]}"',
                "format": wb.add_format(excel_fill(fill)),
            })
        wrapped = [(c, w) for c, _, w in FINDING_COLUMNS if c in ("project_name", "level3", "message", "value")]
        for at, record in enumerate(rows.select(c for c, _ in wrapped).iter_rows(), start=header + 1):
            ws.set_row(at, row_height(zip(record, (w for _, w in wrapped))))
    else:
        merge_text(ws, end, 0, end, last, "未发现问题。", fm.cell())
    ws.freeze_panes(header + 1, 0)
    _page_setup(ws, landscape=True, repeat=(header, header))


OP_WORDS = {"ge": "正向（≥）", "gt": "正向（>）", "le": "反向（≤）", "lt": "反向（<）", "eq": "等值", "range": "区间", "deadline": "时限"}


def curve_text(curve: Curve, x: str = "r") -> str:
    """A curve in words: `min(r, 1)`, the points of a linear curve, or the steps of a step curve."""
    points = [(float(a), float(b)) for a, b in curve.points]
    if curve.kind == "step":
        steps = "，".join(f"{x} ≥ {a:g} 记 {b:g}" for a, b in points)
        below = f"，{x} < {points[0][0]:g} 记 0" if points[0][0] > 0 else ""
        return f"阶梯：{steps}{below}"
    if len(points) == 1:
        return f"恒为 {points[0][1]:g}"
    if points[0] == (0.0, 0.0) and points[-1] == (1.0, 1.0) and all(a == b for a, b in points):
        return f"min({x}, 1)"
    joined = "、".join(f"({a:g}, {b:g})" for a, b in points)
    (x0, y0), (xn, yn) = points[0], points[-1]
    return f"过点 {joined} 的折线（{x} ≤ {x0:g} 时为 {y0:g}，{x} ≥ {xn:g} 时为 {yn:g}，其间线性插值）"


def department_text(rules: RuleSet) -> str:
    """How the department score is formed (汇总 note, 部门整体 and 计算说明)."""
    if rules.department in ("parts", "category"):
        from selfeval.rules.describe import department_words

        return department_words(rules)
    return "按项目预算数加权平均" if rules.department == "budget" else "项目总分简单平均"


def _rounding_text(decimals: int) -> str:
    return "取整" if decimals == 0 else f"保留 {decimals} 位小数"


def method_rows(rules: RuleSet) -> list[tuple[str, str]]:
    """计算说明 · 计分方法: (项目, 说明) rows, every number and curve taken from `rules`."""
    late = rules.deadline.late_penalty_per_month
    default = rules.curve_for("default")
    score = f"得分 = 分值 × 计分曲线(r)，计分曲线为 {curve_text(default)}"
    if curve_text(default) == "min(r, 1)":
        score += "：完成指标值的记全部分值，未完成的按完成比例记分"
    others = [f"{OP_WORDS.get(op, op)}指标为 {curve_text(c)}" for op, c in rules.curves.items() if op != "default"]
    score += ("；" + "；".join(others) if others else "") + "。"
    weights = "、".join(f"{k} {v:g}" for k, v in rules.weights.items())
    split = ("一级指标的分值在其三级指标间平均分配" if rules.split == "per_indicator"
             else "一级指标的分值先在其二级指标间平均分配，再在二级指标内的三级指标间平均分配")
    transfer = "".join(f"；项目没有{k}的，其分值并入{v}" for k, v in rules.missing_transfer.items())
    transfer += "".join(
        f"；{g}的分值按二级指标权重（{'、'.join(f'{k} {v:g}' for k, v in table.items())}）在项目实有的二级指标间按比例分配，"
        "未列出的二级指标按已列出权重的平均数计，再在二级指标内的三级指标间平均分配"
        for g, table in rules.level2_weights.items())
    overshoot = rules.overshoot
    mode = overshoot.effective_mode
    deduct = (f"，并扣减 分值 × 扣分曲线(r)，扣分曲线为 {curve_text(overshoot.deduct)}" if mode == "deduct" and overshoot.deduct
              else f"，得分不超过分值的 {overshoot.cap:g} 倍" if mode == "cap" and overshoot.cap is not None
              else "，不扣分")
    zero = (f"；指标值为 0 的正向指标完成值达到 {overshoot.zero_threshold:g} 的同样处理" if overshoot.zero_threshold is not None
            else "")
    overshoot_text = ("不检查超额完成。" if mode == "none"
                      else f"正向指标 r ≥ {overshoot.threshold:g}（完成值达到指标值的 {overshoot.threshold:g} 倍）的，列入问题清单并须说明原因{deduct}{zero}。")
    reverse = ("反向指标（≤、<）达到即 r = 1，否则 r = 指标值 ÷ 实际值" if rules.reverse.formula == "ratio"
               else "反向指标（≤、<）达到即 r = 1，超过时 r = 1 − (实际值 − 指标值) ÷ 指标值，达到指标值 2 倍及以上 r = 0")
    tiers = "；".join(f"{name} {t.band[0]:g}–{t.band[1]:g}（默认 {t.default:g}）" for name, t in rules.qualitative.tiers.items())
    schedule = rules.execution.schedule
    behind = f"低于计划超过 {schedule.tolerance:g} 个百分点" if schedule.tolerance > 0 else "低于计划"
    late_spending = f"3月底、6月底、10月底累计执行进度{behind}的，列入问题清单，" + (
        f"每个节点扣 {schedule.points_per_checkpoint:g} 分" if schedule.points_per_checkpoint > 0 else "不扣分")
    decimals = _rounding_text(rules.rounding.decimals)
    parts = {part: rules.rounding.of(part) for part in ("indicator", "execution", "total")}
    if all(p == (rules.rounding.mode, rules.rounding.decimals) for p in parts.values()) and rules.rounding.mode == "half_up":
        rounding = f"每个得分先去除二进制误差（保留 9 位），再四舍五入（half up）{decimals}；总分为各得分之和，同样{decimals}。"
    else:
        words = {"half_up": "四舍五入（half up）", "truncate": "截尾（舍去）"}
        names = {"indicator": "指标得分", "execution": "执行率得分", "total": "总分（各得分之和）与部门整体得分"}
        rounding = "每个得分先去除二进制误差（保留 9 位），再" + "；".join(
            f"{names[part]}{words[m]}{_rounding_text(d)}" for part, (m, d) in parts.items()) + "。"
    total_mode, total_decimals = parts["total"]
    department_rounding = ("四舍五入" if total_mode == "half_up" else "截尾") + _rounding_text(total_decimals)
    execution_extra = "".join([
        "；执行率超过 100% 的按 100% 计" if rules.execution.cap else "",
        {"unscorable": "", "full": "；全年预算数为 0 的记满分", "zero": "；全年预算数为 0 的记 0 分"}[rules.execution.zero_budget],
    ])
    lines = schedule.thresholds
    plan_words = ("、".join(f"{month_label(c)}不低于 {v:g}%" for c, v in lines.items()) + "（其余节点按申报的支出计划）"
                  if lines else "")
    if plan_words:
        late_spending = f"支出进度监控线：{plan_words}；累计执行进度{behind.replace('计划', '监控线或计划')}的，列入问题清单，" + (
            f"每个节点扣 {schedule.points_per_checkpoint:g} 分" if schedule.points_per_checkpoint > 0 else "不扣分")
    return [
        ("分值", f"满分 {rules.total_points:g} 分：{weights}；目标表未列明指标分值的，{split}{transfer}。"),
        ("完成比例 r", f"正向指标（≥、>）r = 实际值 ÷ 指标值；{reverse}；"
                     "等值指标 r = 较小值 ÷ 较大值；区间指标在区间内 r = 1；时限指标按期完成 r = 1，"
                     f"逾期 r = 1 − {late:g} × 逾期月数（不低于 0）。"),
        ("指标得分", score),
        ("超额完成", overshoot_text),
        ("定性指标", f"按档次记分（得分比例区间）：{tiers}；可填写档内得分比例。"),
        ("预算执行率", f"执行率 = 全年执行数 ÷ 全年预算数；得分 = 执行率分值（{rules.weights.get(EXECUTION_KEY, 0):g} 分）"
                     f"× 执行率曲线，执行率曲线为 {curve_text(rules.execution.curve, '执行率')}{execution_extra}；{late_spending}。"),
        ("舍入", rounding),
        ("部门整体", f"部门整体得分{department_text(rules)}，{department_rounding}。" if rules.department == "parts"
         else f"部门整体得分为各项目总分{department_text(rules)}，{department_rounding}。"),
        ("等级", grades_text(rules) + "（分数线含本数）。"),
        ("未能评分", "缺少或无法解析实际完成值、计量口径不一致的指标不得分，并在问题清单中列出，项目标记为不完整。"),
    ]


def _write_method(wb: xlsxwriter.Workbook, fm: Formats, result: Result, view: UnitView, when: dt.datetime) -> None:
    ws = wb.add_worksheet(METHOD)
    widths = [24, 52, 70]
    for i, w in enumerate(widths):
        ws.set_column(i, i, w)
    cell, label = fm.cell(), fm.label(align="left")
    merge_text(ws, 0, 0, 0, 2, "计算说明", fm.title())
    ws.set_row(0, 30)
    merge_text(ws, 1, 0, 1, 2, "本表列出评分所用的规则集、输入文件及其 SHA-256 校验值和软件版本，据此可完整复现本工作簿中的每一个数值。", fm.note())
    ws.set_row(1, 20)
    r = 2

    def section(title: str) -> None:
        nonlocal r
        r += 1
        merge_text(ws, r, 0, r, 2, title, fm.get(font_name=TITLE_FONT, font_size=12))
        ws.set_row(r, 24)
        r += 1

    def pair(name: str, value: Any, extra: Any = None, *, merge: bool = True) -> None:
        nonlocal r
        put_text(ws, r, 0, name, label)
        if merge:
            merge_text(ws, r, 1, r, 2, value, cell)
            ws.set_row(r, row_height([(name, widths[0]), (value, widths[1] + widths[2])]))
        else:
            put_text(ws, r, 1, value, cell)
            put_text(ws, r, 2, extra, cell)
            ws.set_row(r, row_height([(name, widths[0]), (value, widths[1]), (extra, widths[2])]))
        r += 1

    section("一、评分规则")
    for name, value in describe_rules(result.rules):
        pair(name, value)
    section("二、输入文件")
    put_text(ws, r, 0, "类别", fm.header())
    put_text(ws, r, 1, "文件", fm.header())
    put_text(ws, r, 2, "SHA-256", fm.header())
    r += 1
    if not result.inputs:
        pair("（未记录）", "本次结果由程序内存中的数据计算，未记录输入文件")
    for item in result.inputs:
        pair(ROLE_LABELS.get(item.role, item.role), item.path, item.sha256, merge=False)
    section("三、软件与生成信息")
    pair("selfeval 版本", selfeval.__version__)
    pair("Polars 版本", pl.__version__)
    pair("生成时间", when.strftime("%Y-%m-%d %H:%M:%S"))
    pair("单位", f"{view.unit_code} {view.unit_name}")
    pair("复现命令", "selfeval report 绩效目标表 --actuals 实际完成值 --execution 预算执行 --rules 规则集 --out 自评表.xlsx")
    section("四、计分方法")
    for name, value in method_rows(result.rules):
        pair(name, value)
    _page_setup(ws)
    ws.print_area(0, 0, r, 2)


DETAIL_COLUMNS: list[tuple[str, str, float]] = [
    ("project_code", "text", 24), ("seq", "int", 6), ("level1", "text", 10), ("level3", "text", 24),
    ("target_text", "text", 13), ("actual_text", "text", 13), ("ratio", "ratio", 9), ("weight", "points", 8),
    ("points", "points", 8), ("status", "status", 8), ("explain", "text", 48),
]


def _write_detail(wb: xlsxwriter.Workbook, fm: Formats, view: UnitView) -> None:
    ws = wb.add_worksheet(DETAIL)
    last = len(DETAIL_COLUMNS) - 1
    merge_text(ws, 0, 0, 0, last, "计算明细（逐项指标）", fm.title())
    ws.set_row(0, 30)
    header = 1
    rows = view.indicators.select(
        pl.col("status").replace_strict(STATUS_LABELS, default=pl.col("status"), return_dtype=pl.String)
        if field == "status" else field
        for field, _, _ in DETAIL_COLUMNS
    )
    centre = Formats.props(**Formats.CELL, align="center")
    kinds: dict[str, dict[str, Any]] = {
        "text": Formats.props(**Formats.CELL), "status": centre, "int": {**centre, "num_format": "0"},
        "ratio": {**centre, "num_format": "0.0000"}, "points": {**centre, "num_format": POINTS},
    }
    write_table(
        wb, ws, rows, position=(header, 0), table_name="tbl_detail", table_style="Table Style Light 1",
        widths={f: w for f, _, w in DETAIL_COLUMNS}, formats={f: kinds[k] for f, k, _ in DETAIL_COLUMNS},
        header_format=Formats.props(**Formats.HEADER),
    )
    text = [(f, w) for f, k, w in DETAIL_COLUMNS if k == "text"]
    for at, record in enumerate(rows.select(f for f, _ in text).iter_rows(), start=header + 1):
        ws.set_row(at, row_height(zip(record, (w for _, w in text))))
    ws.freeze_panes(header + 1, 0)
    _page_setup(ws, landscape=True, repeat=(header, header))


# ------------------------------------------------------------------------------ public API


def _choose_unit(result: Result, unit_code: str | None) -> str:
    codes = unit_codes(result)
    if unit_code is not None:
        if unit_code not in codes:
            msg = f"结果中没有单位 {unit_code!r}；现有单位：{', '.join(codes) or '（无）'}"
            raise ReportError(msg)
        return unit_code
    if len(codes) == 1:
        return codes[0]
    if not codes:
        msg = "结果中没有任何单位，无法生成自评表"
        raise ReportError(msg)
    msg = (
        f"结果包含 {len(codes)} 个单位（{', '.join(codes[:5])}{'…' if len(codes) > 5 else ''}），"
        "一个工作簿只写一个单位：请用 unit_code= 指定单位，或用 write_workbooks() 为每个单位各写一个工作簿"
    )
    raise ReportError(msg)


def project_sheet_names(projects: Sequence[dict[str, Any]]) -> list[str]:
    """Sheet names of the project sheets: `序号.项目名称`, valid and unique."""
    raw = [f"{i}.{p.get('project_name') or p.get('project_code') or '项目'}" for i, p in enumerate(projects, start=1)]
    return unique_sheet_names(raw, reserved=FIXED_SHEETS, default="项目")


def write_workbook(
    result: Result,
    path: str | os.PathLike[str],
    *,
    unit_code: str | None = None,
    generated_at: dt.datetime | None = None,
) -> Path:
    """Write the self-evaluation workbook of one unit to `path` (atomically) and return the path.

    `unit_code` chooses the unit when the result holds several (else a ReportError).
    `generated_at` fixes the time shown in 计算说明 and the document's created date
    (default: $SOURCE_DATE_EPOCH, else now), so output can be made byte-reproducible.
    """
    target = Path(path)
    code = _choose_unit(result, unit_code)
    view = unit_view(result, code)
    when = timestamp(generated_at)
    department_method = department_text(result.rules)
    names = project_sheet_names(view.projects)
    sheet_of = {p["project_code"]: n for p, n in zip(view.projects, names)}
    title = f"项目支出绩效自评表 {view.year or ''} {view.unit_code} {view.unit_name}".strip()
    properties = {
        "title": title[:255],
        "subject": "项目支出绩效自评",
        "author": "selfeval",
        "company": view.unit_name[:255],
        "comments": f"selfeval {selfeval.__version__}；规则集 {result.rules.name}",
    }
    with new_workbook(target, created=when, small=True, **properties) as wb:  # one unit's projects
        fm = Formats(wb)
        _write_summary(wb, fm, view, sheet_of, result.rules, department_method)
        for project, name in zip(view.projects, names):
            _write_project(wb, fm, name, view, project, result.rules)
        _write_department(wb, fm, view, department_method, result.rules)
        _write_findings(wb, fm, view)
        _write_method(wb, fm, result, view, when)
        _write_detail(wb, fm, view)
        wb.worksheets()[0].activate()
    return target


def workbook_filename(unit_code: str) -> str:
    """File name of a unit's workbook: `自评表_<单位编码>.xlsx`."""
    return f"自评表_{safe_filename(unit_code, default='单位')}.xlsx"


def workbook_filenames(codes: Iterable[str], taken: set[str] | None = None) -> list[str]:
    """File names of the workbooks of `codes`: `workbook_filename`, made unique in order (`A/B` and
    `A_B` give `自评表_A_B.xlsx` and `自评表_A_B_2.xlsx`). Pass the same `taken` set to name units
    given in several calls (bulk names them batch by batch); `report` and `bulk` both name here."""
    return unique_filenames((workbook_filename(c) for c in codes), taken=taken)


def write_workbooks(
    result: Result, folder: str | os.PathLike[str], *, generated_at: dt.datetime | None = None
) -> list[Path]:
    """One workbook per unit in `folder` (`自评表_<单位编码>.xlsx`, safe and unique names)."""
    out = Path(folder)
    codes = unit_codes(result)
    files = workbook_filenames(codes)
    when = timestamp(generated_at)
    return [write_workbook(result, out / f, unit_code=c, generated_at=when) for c, f in zip(codes, files)]
