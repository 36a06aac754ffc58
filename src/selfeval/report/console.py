"""Rich tables for people at a terminal: project scores, unit scores, findings summary."""

from __future__ import annotations

import polars as pl
from rich.markup import escape
from rich.table import Table

from selfeval.findings import CATALOGUE
from selfeval.report.labels import grade_markup, severity_label, yes_no_markup
from selfeval.result import Result


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "—" if value is None else fmt.format(value)


def _rate(value: float | None) -> str:
    return _num(value * 100 if value is not None else None, "{:.2f}%")


FULL_COLUMNS = [
    ("单位", "left"), ("项目编码", "left"), ("项目名称", "left"), ("预算数", "right"), ("执行数", "right"),
    ("执行率", "right"), ("执行率得分", "right"), ("产出", "right"), ("效益", "right"), ("满意度", "right"),
    ("总分", "right"), ("等级", "center"), ("完整", "center"),
]
# Narrow enough for an 80-column terminal.
COMPACT_COLUMNS = [("序号", "right"), ("项目名称", "left"), ("执行率", "right"), ("总分", "right"),
                   ("自评等级", "center"), ("是否完整", "center")]


def _project_cells(p: dict, n: int, compact: bool) -> list[str]:
    if compact:
        return [str(n), escape(p["project_name"] or p["project_code"] or ""), _rate(p["execution_rate"]),
                _num(p["total"]), grade_markup(p["grade"]), yes_no_markup(p["complete"])]
    return [
        escape(p["unit_code"] or ""), escape(p["project_code"] or ""), escape(p["project_name"] or ""),
        _num(p["budget"]), _num(p["executed"]), _rate(p["execution_rate"]), _num(p["execution_points"]),
        _num(p["output_points"]), _num(p["effect_points"]), _num(p["satisfaction_points"]), _num(p["total"]),
        grade_markup(p["grade"]), yes_no_markup(p["complete"]),
    ]


def _unit_cells(u: dict, compact: bool) -> list[str]:
    total, name = f"[bold]{_num(u['total'])}[/]", escape(f"{u['unit_code'] or ''} {u['unit_name'] or ''}".strip())
    if compact:
        return ["", f"[bold]部门整体：{name}[/]", "", total, grade_markup(u["grade"]), yes_no_markup(u["complete"])]
    return [escape(u["unit_code"] or ""), "", f"[bold]部门整体：{escape(u['unit_name'] or '')}[/]", _num(u["budget"]),
            _num(u["executed"]), "", "", "", "", "", total, grade_markup(u["grade"]), yes_no_markup(u["complete"])]


def project_table(result: Result, *, compact: bool = False) -> Table:
    """One row per project plus the department row of each unit; `compact` for narrow terminals."""
    table = Table(title="项目支出绩效自评结果", header_style="bold")
    for header, justify in COMPACT_COLUMNS if compact else FULL_COLUMNS:
        table.add_column(header, justify=justify, overflow="fold")
    # Rendering: a terminal table is built row by row (a few hundred rows at most).
    units = {u["unit_code"]: u for u in result.unit_scores.iter_rows(named=True)}
    for (unit_code,), rows in result.project_scores.group_by("unit_code", maintain_order=True):
        for n, p in enumerate(rows.iter_rows(named=True), start=1):
            table.add_row(*_project_cells(p, n, compact))
        if (u := units.get(unit_code)) is not None:
            table.add_row(*_unit_cells(u, compact), end_section=True)
    return table


def findings_summary(findings: pl.DataFrame) -> Table:
    """Findings counted by code and severity."""
    table = Table(title="问题清单汇总", header_style="bold")
    for header in ("严重程度", "代码", "问题", "数量"):
        table.add_column(header)
    counts = findings.group_by("severity", "code").len().sort(["severity", "code"])
    for row in counts.iter_rows(named=True):
        kind = CATALOGUE.get(row["code"])
        table.add_row(severity_label(row["severity"]), row["code"],
                      kind.name if kind else row["code"], str(row["len"]))
    return table
