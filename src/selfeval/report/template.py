"""The fill-in template (SPEC.md §3.3): the declared indicators and budgets, ready to be filled.

Two data sheets the readers know by name — 实际完成值 (one row per indicator, keyed by 项目编码
and 序号) and 预算执行 (one row per project) — plus 填写说明. Declared columns are locked, the
columns to fill are unlocked and highlighted, with drop-downs and number validation; the sheets
are protected without a password (so nobody edits a key by accident, yet anyone can unprotect).
A filled template reads back through `read_actuals` / `read_execution` with no other step.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

import selfeval
from selfeval.atomic import refuse_overwriting_input
from selfeval.checkpoints import SPENT_COLUMNS, checked_months, month_label
from selfeval.declaration import Declaration
from selfeval.errors import OutputError
from selfeval.report.excel import A4, MONEY, Formats, put_number, put_text, row_height
from selfeval.report.workbook import new_workbook
from selfeval.rules.loader import load_rules
from selfeval.rules.model import RuleSet
from selfeval.schema import LABELS

ACTUALS_SHEET, EXECUTION_SHEET, HELP_SHEET = "实际完成值", "预算执行", "填写说明"

# (field, width, fill-in?) — headers are the Chinese LABELS the readers map back.
ACTUAL_COLUMNS: list[tuple[str, float, bool]] = [
    ("unit_code", 10, False),
    ("project_code", 24, False),
    ("project_name", 22, False),
    ("seq", 6, False),
    ("level1", 10, False),
    ("level2", 17, False),
    ("level3", 26, False),
    ("target_text", 14, False),
    ("actual_text", 16, True),
    ("deviation_reason", 36, True),
    ("tier", 13, True),
    ("fraction", 13, True),
    ("weight", 8, True),  # pre-filled with the declared 分值 when there is one
    ("points", 14, True),  # the evaluator's own score, only when it must differ from the rule's
]
# Template headers that differ from schema.LABELS (the actuals reader knows them as aliases).
HEADERS = {"points": "自评得分（如需调整）"}
EXECUTION_COLUMNS: list[tuple[str, float, bool]] = [
    ("unit_code", 10, False),
    ("project_code", 24, False),
    ("project_name", 28, False),
    ("budget", 14, False),
    ("year_budget", 14, True),
    ("executed", 14, True),
]


def execution_columns(rules: RuleSet) -> list[tuple[str, float, bool]]:
    """The execution sheet's columns: the month-end spending of every checkpoint the rule checks."""
    months = checked_months(rules.execution.schedule.thresholds)
    return [*EXECUTION_COLUMNS, *((SPENT_COLUMNS[c], 16, True) for c in months)]


def _month_words(rules: RuleSet) -> str:
    return "、".join(month_label(c) for c in checked_months(rules.execution.schedule.thresholds))

FILL = "#FFF2CC"  # light yellow: cells to fill
FILL_QUALITATIVE = "#FCE4D6"  # tier cells of qualitative targets
_HAS_DIGIT = re.compile(r"[0-9０-９]")
_PROTECT = {
    "autofilter": True,
    "sort": False,
    "format_columns": True,
    "format_rows": True,
    "select_locked_cells": True,
    "select_unlocked_cells": True,
}


def _header(ws: Worksheet, fm: Formats, columns: list[tuple[str, float, bool]]) -> None:
    for col, (field, width, fill) in enumerate(columns):
        ws.set_column(col, col, width)
        fmt = fm.header(bg_color="#FFD966" if fill else "#D9D9D9", locked=True)
        put_text(ws, 0, col, HEADERS.get(field, LABELS[field]), fmt)
    ws.set_row(0, row_height((HEADERS.get(f, LABELS[f]), w) for f, w, _ in columns))
    ws.freeze_panes(1, 0)


def _finish(ws: Worksheet, last_row: int, columns: list[tuple[str, float, bool]]) -> None:
    """Filter, protect (no password) and print setup of a data sheet."""
    ws.autofilter(0, 0, last_row, len(columns) - 1)
    ws.protect("", _PROTECT)
    ws.set_landscape()
    ws.set_paper(A4)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)


def _actuals_sheet(wb: xlsxwriter.Workbook, fm: Formats, declaration: Declaration, rules: RuleSet) -> None:
    ws = wb.add_worksheet(ACTUALS_SHEET)
    _header(ws, fm, ACTUAL_COLUMNS)
    names = declaration.projects.select("unit_code", "project_code", "project_name", pl.int_range(pl.len()).alias("_p"))
    rows = (
        declaration.indicators.join(names, on=["unit_code", "project_code"], how="left")
        .sort("_p", "seq", nulls_last=True)
        .rows(named=True)
    )
    locked = fm.cell(locked=True)
    locked_centre = fm.cell(locked=True, align="center", num_format="0")
    fill_text = fm.cell(locked=False, bg_color=FILL, num_format="@")
    fill_tier = fm.cell(locked=False, bg_color=FILL, align="center")
    fill_tier_q = fm.cell(locked=False, bg_color=FILL_QUALITATIVE, align="center")
    fill_fraction = fm.cell(locked=False, bg_color=FILL, num_format="0.00", align="center")
    fill_points = fm.cell(locked=False, bg_color=FILL, num_format="General", align="center")
    for r, row in enumerate(rows, start=1):
        heights = []
        for col, (field, width, fill) in enumerate(ACTUAL_COLUMNS):
            if field == "seq":
                put_number(ws, r, col, row["seq"], locked_centre)
            elif field in ("actual_text", "deviation_reason"):
                ws.write_blank(r, col, None, fill_text)
            elif field == "tier":
                qualitative = row["target_text"] is not None and not _HAS_DIGIT.search(row["target_text"])
                ws.write_blank(r, col, None, fill_tier_q if qualitative else fill_tier)
            elif field == "fraction":
                ws.write_blank(r, col, None, fill_fraction)
            elif field == "weight":
                put_number(ws, r, col, row.get("weight"), fill_points)
            elif field == "points":
                ws.write_blank(r, col, None, fill_points)
            else:
                put_text(ws, r, col, row.get(field), locked)
                heights.append((row.get(field), width))
        ws.set_row(r, row_height(heights))
    last = max(len(rows), 1)
    col_of = {field: i for i, (field, _, _) in enumerate(ACTUAL_COLUMNS)}
    tiers = list(rules.qualitative.tiers)
    ws.data_validation(1, col_of["actual_text"], last, col_of["actual_text"], {
        "validate": "any",
        "input_title": "实际完成值",
        "input_message": "按指标值的口径填写，如 96%、36次、1.96万元、2025年12月；只填数字时按指标值的单位理解（96 即 96%）。定性指标可填“达成”等并在档次列选择。",
    })
    ws.data_validation(1, col_of["tier"], last, col_of["tier"], {
        "validate": "list",
        "source": tiers,
        "input_title": "定性评价档次",
        "input_message": f"定性指标选择档次：{'、'.join(tiers)}；定量指标留空。",
        "error_title": "档次无效",
        "error_message": f"请从下拉列表中选择：{'、'.join(tiers)}",
    })
    bands = "；".join(f"{n} {t.band[0]:g}–{t.band[1]:g}" for n, t in rules.qualitative.tiers.items())
    ws.data_validation(1, col_of["fraction"], last, col_of["fraction"], {
        "validate": "decimal",
        "criteria": "between",
        "minimum": 0,
        "maximum": 1,
        "input_title": "档内得分比例（可选）",
        "input_message": f"0–1 之间的小数，须在所选档次的区间内（{bands}）；留空按默认比例。"[:255],
        "error_title": "比例无效",
        "error_message": "请输入 0 到 1 之间的小数",
    })
    ws.data_validation(1, col_of["weight"], last, col_of["weight"], {
        "validate": "decimal",
        "criteria": "between",
        "minimum": 0,
        "maximum": 100,
        "input_title": "分值",
        "input_message": "该指标的分值；已按绩效目标表预填，目标表没有分值时可填写（同一项目的分值合计应符合规则）。",
        "error_title": "分值无效",
        "error_message": "请输入 0 到 100 之间的数字",
    })
    ws.data_validation(1, col_of["points"], last, col_of["points"], {
        "validate": "decimal",
        "criteria": ">=",
        "value": 0,
        "input_title": "自评得分（可选）",
        "input_message": "只在需要调整按规则计算的得分时填写，不超过该指标的分值；留空按规则计算。",
        "error_title": "得分无效",
        "error_message": "请输入不小于 0 的数字",
    })
    _finish(ws, last, ACTUAL_COLUMNS)


def _execution_sheet(wb: xlsxwriter.Workbook, fm: Formats, declaration: Declaration, rules: RuleSet) -> None:
    ws = wb.add_worksheet(EXECUTION_SHEET)
    columns = execution_columns(rules)
    _header(ws, fm, columns)
    locked = fm.cell(locked=True)
    locked_money = fm.cell(locked=True, num_format=MONEY)
    fill_money = fm.cell(locked=False, bg_color=FILL, num_format=MONEY)
    rows = declaration.projects.rows(named=True)
    for r, row in enumerate(rows, start=1):
        for col, (field, width, fill) in enumerate(columns):
            if field == "budget":
                put_number(ws, r, col, row["budget"], locked_money)
            elif field == "year_budget":
                put_number(ws, r, col, row["budget"], fill_money)  # prefilled; adjust if the budget changed
            elif fill:
                ws.write_blank(r, col, None, fill_money)
            else:
                put_text(ws, r, col, row.get(field), locked)
        ws.set_row(r, row_height([(row.get("project_name"), 28), (row.get("project_code"), 24)]))
    last = max(len(rows), 1)
    first_amount = [f for f, _, _ in columns].index("year_budget")
    ws.data_validation(1, first_amount, last, len(columns) - 1, {
        "validate": "decimal",
        "criteria": ">=",
        "value": 0,
        "input_title": "金额（元）",
        "input_message": f"以元为单位填写数字；{_month_words(rules)}为截至当月底的累计执行数（可选）。",
        "error_title": "金额无效",
        "error_message": "请输入不小于 0 的数字（单位：元）",
    })
    _finish(ws, last, columns)


def _help_sheet(wb: xlsxwriter.Workbook, fm: Formats, declaration: Declaration, rules: RuleSet) -> None:
    ws = wb.add_worksheet(HELP_SHEET)
    ws.set_column(0, 0, 100)
    tiers = "、".join(rules.qualitative.tiers)
    lines: list[tuple[str, dict[str, Any]]] = [
        ("绩效自评填写说明", {"font_name": "黑体", "font_size": 16}),
        ("本模板由 selfeval 根据绩效目标表生成。黄色单元格需要填写，灰色表头的列为申报内容，已锁定（工作表保护无密码，如需修改可在“审阅→撤销工作表保护”中取消）。", {}),
        ("一、“实际完成值”工作表：每个三级指标一行，按“项目编码 + 序号”对应申报的指标，请勿增删行或修改编码、序号。", {}),
        ("  · 实际完成值：按指标值的口径填写，例如 96%、36次、1,150人次、1.96万元、2025年12月、3个月。只填数字时按指标值的单位理解（指标值“≥95百分比”时填 96 即 96%）；也可填写 0.96 并设为百分比格式。", {}),
        (f"  · 定性指标（指标值无数字，如“有效提升”）：在“定性评价档次”中选择 {tiers}，实际完成值可填写完成情况文字；“档内得分比例”可选填，须在档次区间内。", {}),
        ("  · 偏差原因分析及改进措施：未完成指标值或完成值远高于指标值（1.5 倍以上）时必须填写。", {}),
        ("  · 分值：已按绩效目标表预填；目标表没有分值时可逐项填写。自评得分（如需调整）：只在需要调整按规则计算的得分时填写，留空即按规则计算。", {}),
        (f"二、“预算执行”工作表：每个项目一行，金额单位为元。全年预算数已按预算数预填，预算调整的请改为调整后的全年预算数；全年执行数必填；{_month_words(rules)}累计执行数用于检查支出进度（可选）。", {}),
        ("三、填好后保存，运行：selfeval score 绩效目标表 --actuals 本文件 --execution 本文件，或 selfeval report 绩效目标表 --actuals 本文件 --execution 本文件 --out 自评表.xlsx。", {}),
        (f"评分规则：{rules.title or rules.name}；selfeval {selfeval.__version__}。", {"font_color": "#595959"}),
    ]
    for r, (text, props) in enumerate(lines):
        put_text(ws, r, 0, text, fm.note(**props))
        ws.set_row(r, row_height([(text, 100)], minimum=22))
    r = len(lines) + 1
    put_text(ws, r, 0, "资金支出计划（累计，%）：", fm.get(bold=True))
    for row in declaration.projects.rows(named=True):
        r += 1
        plans = "/".join("—" if row[k] is None else f"{row[k]:g}" for k in ("plan_mar", "plan_jun", "plan_oct", "plan_dec"))
        text = f"{row['project_code'] or ''}　{row['project_name'] or ''}：3月底/6月底/10月底/12月底 = {plans}"
        put_text(ws, r, 0, text, fm.note())
    ws.set_paper(A4)
    ws.fit_to_pages(1, 0)


# Columns a person fills in (the pre-filled 分值 and 全年预算数 are left out: a fresh template has them).
FILLED_COLUMNS = {
    ACTUALS_SHEET: [f for f, _, fill in ACTUAL_COLUMNS if fill and f != "weight"],
    EXECUTION_SHEET: [f for f, _, fill in EXECUTION_COLUMNS if fill and f != "year_budget"] + list(SPENT_COLUMNS.values()),
}


def holds_filled_values(path: str | os.PathLike[str]) -> bool:
    """Whether the file at `path` holds values a person entered, so that writing over it loses work:
    a filled template (a value in a column to fill of 实际完成值 or 预算执行), or anything selfeval did
    not write (a file that is no workbook, a workbook whose author is not selfeval). A report or an
    unfilled template written by selfeval holds none; a missing file holds none."""
    target = Path(path)
    if not target.exists():
        return False
    from openpyxl import load_workbook

    from selfeval.ingest.detect import check_package

    try:
        check_package(target)  # an absurd package is never inflated (and is not selfeval's)
        wb = load_workbook(target, read_only=True, data_only=True)
    except Exception:  # not a workbook openpyxl reads: someone else's file
        return True
    try:
        if (wb.properties.creator or "") != "selfeval":
            return True
        for sheet, fields in FILLED_COLUMNS.items():
            if sheet not in wb.sheetnames:
                continue
            headers = {HEADERS.get(f, LABELS[f]) for f in fields}
            rows = wb[sheet].iter_rows(values_only=True)
            columns = [i for i, h in enumerate(next(rows, ())) if h in headers]
            if any(row[i] not in (None, "") for row in rows for i in columns if i < len(row)):
                return True
    finally:
        wb.close()
    return False


def refuse_unsafe_output(
    target: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None], *, force: bool = False
) -> None:
    """OutputError when writing a workbook to `target` would overwrite one of `inputs` (always), or
    a file holding filled values (`holds_filled_values`) unless `force`."""
    refuse_overwriting_input(target, inputs)
    if not force and holds_filled_values(target):
        msg = f"{target}：文件中已有填写的内容（或不是 selfeval 生成的文件），覆盖会丢失；确需覆盖请加 --force，或换一个 --out"
        raise OutputError(msg)


def write_template(
    declaration: Declaration,
    path: str | os.PathLike[str],
    *,
    rules: RuleSet | str | None = None,
    generated_at: dt.datetime | None = None,
) -> Path:
    """Write the fill-in template of `declaration` to `path` (atomically) and return the path.

    `rules` (a RuleSet or rule-set name; default mof-2020) supplies the qualitative tiers of the
    drop-down.
    """
    rule_set = rules if isinstance(rules, RuleSet) else load_rules(rules or "mof-2020")
    target = Path(path)
    properties = {"title": "绩效自评填报模板", "author": "selfeval", "comments": f"selfeval {selfeval.__version__}"}
    with new_workbook(target, created=generated_at, **properties) as wb:
        fm = Formats(wb)
        _help_sheet(wb, fm, declaration, rule_set)
        _actuals_sheet(wb, fm, declaration, rule_set)
        _execution_sheet(wb, fm, declaration, rule_set)
        wb.get_worksheet_by_name(ACTUALS_SHEET).activate()
    return target
