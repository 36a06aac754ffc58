"""Rich tables for people at a terminal: project scores, unit scores, findings summary."""

from __future__ import annotations

import polars as pl
from rich.markup import escape
from rich.table import Table

from selfeval.findings import CATALOGUE
from selfeval.result import Result

GRADE_STYLES = {"优": "bold green", "良": "green", "中": "yellow", "差": "bold red"}
SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "—" if value is None else fmt.format(value)


def project_table(result: Result) -> Table:
    """One row per project plus the department row of each unit."""
    table = Table(title="项目支出绩效自评结果", show_lines=False, header_style="bold")
    for header, justify in [
        ("单位", "left"), ("项目编码", "left"), ("项目名称", "left"), ("预算数", "right"), ("执行数", "right"),
        ("执行率", "right"), ("执行率得分", "right"), ("产出", "right"), ("效益", "right"), ("满意度", "right"),
        ("总分", "right"), ("等级", "center"), ("完整", "center"),
    ]:
        table.add_column(header, justify=justify, overflow="fold")
    units = {u["unit_code"]: u for u in result.unit_scores.iter_rows(named=True)}
    for unit_code, rows in result.project_scores.group_by("unit_code", maintain_order=True):
        for p in rows.iter_rows(named=True):
            table.add_row(
                escape(str(unit_code[0])), escape(p["project_code"] or ""), escape(p["project_name"] or ""),
                _num(p["budget"]), _num(p["executed"]),
                _num(p["execution_rate"] * 100 if p["execution_rate"] is not None else None, "{:.2f}%"),
                _num(p["execution_points"]), _num(p["output_points"]), _num(p["effect_points"]),
                _num(p["satisfaction_points"]), _num(p["total"]),
                f"[{GRADE_STYLES.get(p['grade'] or '', '')}]{p['grade'] or '—'}[/]", "是" if p["complete"] else "[red]否[/]",
            )
        u = units.get(unit_code[0])
        if u is not None:
            table.add_row(
                escape(str(u["unit_code"])), "", f"[bold]部门整体：{escape(u['unit_name'] or '')}[/]", _num(u["budget"]),
                _num(u["executed"]), "", "", "", "", "", f"[bold]{_num(u['total'])}[/]",
                f"[{GRADE_STYLES.get(u['grade'] or '', '')}]{u['grade'] or '—'}[/]", "是" if u["complete"] else "[red]否[/]",
                end_section=True,
            )
    return table


def findings_summary(findings: pl.DataFrame) -> Table:
    """Findings counted by code and severity."""
    table = Table(title="问题清单汇总", header_style="bold")
    for header in ("严重程度", "代码", "问题", "数量"):
        table.add_column(header)
    counts = findings.group_by("severity", "code").len().sort(["severity", "code"])
    for row in counts.iter_rows(named=True):
        kind = CATALOGUE.get(row["code"])
        table.add_row(SEVERITY_LABELS.get(row["severity"], row["severity"] or ""), row["code"],
                      kind.name if kind else row["code"], str(row["len"]))
    return table
