"""The self-evaluation workbook (SPEC.md §6.2), one per unit, written with xlsxwriter.

Sheets: 汇总, one 项目支出绩效自评表 per project (the official form, print-ready), 部门整体,
问题清单, 计算说明 and 计算明细. Every text that comes from input is written with
`write_string` (never `write`), so `=HYPERLINK(...)` stays text; the workbook is also created
with `strings_to_formulas` off as a second guard. Files are written to a temp name beside the
target and renamed (`atomic_path`).
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
from selfeval.errors import SelfevalError
from selfeval.findings import CATALOGUE
from selfeval.report.atomic import atomic_path, safe_filename, unique_filenames, unique_sheet_names
from selfeval.result import Result
from selfeval.rules.loader import describe_rules
from selfeval.rules.model import RuleSet
from selfeval.schema import LABELS

SUMMARY, DEPARTMENT, FINDINGS, METHOD, DETAIL = "汇总", "部门整体", "问题清单", "计算说明", "计算明细"
FIXED_SHEETS = (SUMMARY, DEPARTMENT, FINDINGS, METHOD, DETAIL)

BODY_FONT, TITLE_FONT = "宋体", "黑体"
MONEY, RATE, POINTS = "#,##0.00", "0.00%", "0.00"
SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}
ROLE_LABELS = {"declared": "绩效目标表", "actuals": "实际完成值", "execution": "预算执行", "rules": "规则文件"}
GRADE_COLOURS = {  # fill, font
    "优": ("#C6EFCE", "#006100"),
    "良": ("#DDEBF7", "#1F4E78"),
    "中": ("#FFEB9C", "#9C5700"),
    "差": ("#FFC7CE", "#9C0006"),
}
A4 = 9
MAX_ROW_HEIGHT = 409.0  # Excel's limit in points; a taller row makes Excel repair the file


class ReportError(SelfevalError, ValueError):
    """The workbook cannot be written as asked (e.g. several units and no unit chosen)."""


# ------------------------------------------------------------------------------ formats


class Formats:
    """Format cache: one xlsxwriter Format per distinct property set (Excel caps their number)."""

    BASE: dict[str, Any] = {"font_name": BODY_FONT, "font_size": 10, "valign": "vcenter", "font_charset": 134}

    def __init__(self, workbook: xlsxwriter.Workbook):
        self._workbook = workbook
        self._cache: dict[tuple[tuple[str, Any], ...], Format] = {}

    def get(self, **props: Any) -> Format:
        merged = {**self.BASE, **props}
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
        base = {"font_name": TITLE_FONT, "border": 1, "align": "center", "text_wrap": True, "bg_color": "#F2F2F2"}
        return self.get(**{**base, **props})

    def cell(self, **props: Any) -> Format:
        return self.get(**{"border": 1, "text_wrap": True, **props})

    def label(self, **props: Any) -> Format:
        return self.get(**{"border": 1, "text_wrap": True, "align": "center", "bold": True, **props})

    def grade(self, grade: str | None, **props: Any) -> Format:
        fill, font = GRADE_COLOURS.get(grade or "", (None, None))
        extra = {"bg_color": fill, "font_color": font} if fill else {}
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
                put_text(ws, row, col, None if value is None else ("是" if value else "否"), fm.cell(align="center", bold=bold))
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


def _write_project(wb: xlsxwriter.Workbook, fm: Formats, name: str, view: UnitView, project: dict[str, Any]) -> None:
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


def _write_department(wb: xlsxwriter.Workbook, fm: Formats, view: UnitView, department_method: str) -> None:
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
        ("是否完整", None if unit.get("complete") is None else ("是" if unit.get("complete") else "否"), "text"),
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


FINDING_COLUMNS: list[tuple[str, float]] = [
    ("序号", 6), ("严重程度", 9), ("问题代码", 17), ("问题名称", 14), ("项目编码", 24), ("项目名称", 24),
    ("指标序号", 8), ("三级指标", 24), ("字段", 14), ("值", 16), ("说明", 50),
]


def _write_findings(wb: xlsxwriter.Workbook, fm: Formats, view: UnitView) -> None:
    ws = wb.add_worksheet(FINDINGS)
    last = len(FINDING_COLUMNS) - 1
    for i, (_, w) in enumerate(FINDING_COLUMNS):
        ws.set_column(i, i, w)
    merge_text(ws, 0, 0, 0, last, "问题清单", fm.title())
    ws.set_row(0, 30)
    counts = {s: view.findings.filter(pl.col("severity") == s).height for s in SEVERITY_LABELS}
    summary = f"共 {view.findings.height} 条：" + "，".join(f"{SEVERITY_LABELS[s]} {n} 条" for s, n in counts.items())
    merge_text(ws, 1, 0, 1, last, summary, fm.get())
    header = 2
    rows = view.findings.rows(named=True)
    cell, centre = fm.cell(), fm.cell(align="center")
    if not rows:
        for col, (name, _) in enumerate(FINDING_COLUMNS):
            put_text(ws, header, col, name, fm.header())
        merge_text(ws, header + 1, 0, header + 1, last, "未发现问题。", cell)
    else:
        ws.add_table(header, 0, header + len(rows), last, {
            "name": "tbl_findings",
            "style": "Table Style Light 1",
            "autofilter": True,
            "columns": [{"header": name, "header_format": fm.header()} for name, _ in FINDING_COLUMNS],
        })
        severity_fmt = {
            "error": fm.cell(align="center", font_color="#9C0006", bg_color="#FFC7CE"),
            "warning": fm.cell(align="center", font_color="#9C5700", bg_color="#FFEB9C"),
            "info": fm.cell(align="center"),
        }
        for i, f in enumerate(rows, start=1):
            at = header + i
            kind = CATALOGUE.get(f["code"] or "")
            column = f.get("column")
            put_number(ws, at, 0, i, fm.cell(align="center", num_format="0"))
            put_text(ws, at, 1, SEVERITY_LABELS.get(f["severity"], f["severity"]), severity_fmt.get(f["severity"], centre))
            put_text(ws, at, 2, f["code"], cell)
            put_text(ws, at, 3, kind.name if kind else None, cell)
            put_text(ws, at, 4, f["project_code"], cell)
            put_text(ws, at, 5, f.get("project_name"), cell)
            put_number(ws, at, 6, f["seq"], fm.cell(align="center", num_format="0"))
            put_text(ws, at, 7, f.get("level3"), cell)
            put_text(ws, at, 8, LABELS.get(column, column) if column else None, cell)
            put_text(ws, at, 9, f.get("value"), cell)
            put_text(ws, at, 10, f["message"], cell)
            ws.set_row(at, row_height([(f.get("project_name"), 24), (f.get("level3"), 24), (f["message"], 50), (f.get("value"), 16)]))
    ws.freeze_panes(header + 1, 0)
    _page_setup(ws, landscape=True, repeat=(header, header))


def _write_method(
    wb: xlsxwriter.Workbook, fm: Formats, result: Result, view: UnitView, generated_at: dt.datetime
) -> None:
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
    pair("生成时间", generated_at.strftime("%Y-%m-%d %H:%M:%S"))
    pair("单位", f"{view.unit_code} {view.unit_name}")
    pair("复现命令", "selfeval report 绩效目标表 --actuals 实际完成值 --execution 预算执行 --rules 规则集 --out 自评表.xlsx")
    section("四、计分方法")
    method = [
        ("完成比例 r", "正向指标（≥、>）r = 实际值 ÷ 指标值；反向指标（≤、<）达到即 r = 1，否则 r = 指标值 ÷ 实际值；"
                     "等值指标 r = 较小值 ÷ 较大值；区间指标在区间内 r = 1；时限指标按期完成 r = 1，逾期按月扣减。"),
        ("指标得分", "得分 = 分值 × 计分曲线(r)，默认曲线为 min(r, 1)：完成指标值的记全部分值，未完成的按完成比例记分。"),
        ("定性指标", "按达成 / 部分达成 / 未达成三档记分，档内比例见上表“定性档次”。"),
        ("预算执行率", "执行率 = 全年执行数 ÷ 全年预算数；得分 = 执行率分值 × 执行率曲线(执行率)。"),
        ("舍入", "每个得分先去除二进制误差（保留 9 位），再四舍五入（half up）保留 2 位小数；总分为各得分之和。"),
        ("等级", grades_text(result.rules) + "。"),
        ("未能评分", "缺少或无法解析实际完成值、计量口径不一致的指标不得分，并在问题清单中列出，项目标记为不完整。"),
    ]
    for name, value in method:
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
    for i, (*_, w) in enumerate(DETAIL_COLUMNS):
        ws.set_column(i, i, w)
    merge_text(ws, 0, 0, 0, last, "计算明细（逐项指标）", fm.title())
    ws.set_row(0, 30)
    header = 1
    rows = view.indicators.rows(named=True)
    for col, (field, _, _) in enumerate(DETAIL_COLUMNS):
        put_text(ws, header, col, LABELS[field], fm.header())
    cell = fm.cell()
    formats = {
        "int": fm.cell(align="center", num_format="0"),
        "ratio": fm.cell(align="center", num_format="0.0000"),
        "points": fm.cell(align="center", num_format=POINTS),
    }
    for i, row in enumerate(rows, start=1):
        at = header + i
        for col, (field, kind, _) in enumerate(DETAIL_COLUMNS):
            value = row.get(field)
            if kind in formats:
                put_number(ws, at, col, value, formats[kind])
            elif kind == "status":
                put_text(ws, at, col, {"scored": "已评分", "unscorable": "未能评分"}.get(value, value), fm.cell(align="center"))
            else:
                put_text(ws, at, col, value, cell)
        ws.set_row(at, row_height((row.get(f), w) for f, k, w in DETAIL_COLUMNS if k == "text"))
    if rows:
        ws.autofilter(header, 0, header + len(rows), last)
    ws.freeze_panes(header + 1, 0)
    _page_setup(ws, landscape=True, repeat=(header, header))


# ------------------------------------------------------------------------------ public API


def _generated_at(generated_at: dt.datetime | None) -> dt.datetime:
    """The time written into the workbook: given, else $SOURCE_DATE_EPOCH (reproducible builds), else now."""
    if generated_at is not None:
        return generated_at
    if epoch := os.environ.get("SOURCE_DATE_EPOCH"):
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).replace(tzinfo=None)
        except ValueError:
            pass
    return dt.datetime.now().replace(microsecond=0)


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
    when = _generated_at(generated_at)
    department_method = "按项目预算数加权平均" if getattr(result.rules, "department", "budget") == "budget" else "项目总分简单平均"
    names = project_sheet_names(view.projects)
    sheet_of = {p["project_code"]: n for p, n in zip(view.projects, names)}
    with atomic_path(target) as tmp:
        wb = xlsxwriter.Workbook(
            str(tmp),
            {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False, "nan_inf_to_errors": True},
        )
        try:
            title = f"项目支出绩效自评表 {view.year or ''} {view.unit_code} {view.unit_name}".strip()
            wb.set_properties({
                "title": title[:255],
                "subject": "项目支出绩效自评",
                "author": "selfeval",
                "company": view.unit_name[:255],
                "comments": f"selfeval {selfeval.__version__}；规则集 {result.rules.name}",
                "created": when,
            })
            fm = Formats(wb)
            _write_summary(wb, fm, view, sheet_of, result.rules, department_method)
            for project, name in zip(view.projects, names):
                _write_project(wb, fm, name, view, project)
            _write_department(wb, fm, view, department_method)
            _write_findings(wb, fm, view)
            _write_method(wb, fm, result, view, when)
            _write_detail(wb, fm, view)
            wb.worksheets()[0].activate()
        finally:
            wb.close()
    return target


def workbook_filename(unit_code: str) -> str:
    """File name of a unit's workbook: `自评表_<单位编码>.xlsx`."""
    return f"自评表_{safe_filename(unit_code, default='单位')}.xlsx"


def write_workbooks(
    result: Result, folder: str | os.PathLike[str], *, generated_at: dt.datetime | None = None
) -> list[Path]:
    """One workbook per unit in `folder` (`自评表_<单位编码>.xlsx`, safe and unique names)."""
    out = Path(folder)
    codes = unit_codes(result)
    files = unique_filenames(workbook_filename(c) for c in codes)
    when = _generated_at(generated_at)
    return [write_workbook(result, out / f, unit_code=c, generated_at=when) for c, f in zip(codes, files)]
