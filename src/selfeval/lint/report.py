"""Renderings of lint findings: a rich table, JSON, and a workbook with a filterable table."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
from rich.table import Table

from selfeval.atomic import atomic_path
from selfeval.findings import CATALOGUE
from selfeval.report.labels import LABELS, SEVERITIES, SEVERITY_LABELS, severity_label_expr, severity_markup

# Workbook columns: (finding column or derived key, Chinese header, width)
XLSX_COLUMNS = [
    ("severity_label", "严重程度", 9),
    ("code", "代码", 28),
    ("name", "问题", 20),
    ("unit_code", "单位编码", 10),
    ("project_code", "项目编码", 24),
    ("seq", "序号", 6),
    ("column_label", "字段", 12),
    ("value", "值", 24),
    ("message", "说明", 80),
]


def labelled(findings: pl.DataFrame) -> pl.DataFrame:
    """The findings with the Chinese severity, the finding's short name and the column's label."""
    names = {code: kind.name for code, kind in CATALOGUE.items()}
    return findings.with_columns(
        severity_label_expr().alias("severity_label"),
        pl.col("code").replace_strict(names, default=pl.col("code")).alias("name"),
        pl.col("column").replace_strict(LABELS, default=pl.col("column")).alias("column_label"),
    )


def counts(findings: pl.DataFrame) -> dict[str, int]:
    """Findings per severity, every severity present (0 when none)."""
    seen = dict(findings.group_by("severity").len().iter_rows())
    return {sev: int(seen.get(sev, 0)) for sev in SEVERITIES}


def counts_line(findings: pl.DataFrame) -> str:
    c = counts(findings)
    return "，".join(f"{SEVERITY_LABELS[s]} {n} 项" for s, n in c.items()) + f"（共 {findings.height} 项）"


def findings_table(findings: pl.DataFrame, title: str = "绩效目标表审查结果") -> Table:
    """A rich table: 严重程度, 代码, 问题, 项目, 序号, 说明."""
    table = Table(title=title, header_style="bold", show_lines=False, expand=True)
    for header, kwargs in (
        ("严重程度", {"no_wrap": True, "width": 8}),
        ("代码", {"overflow": "fold", "max_width": 12}),
        ("问题", {"overflow": "fold", "max_width": 8}),
        ("项目", {"overflow": "fold", "max_width": 12}),
        ("序号", {"justify": "right", "width": 4}),
        ("说明", {"overflow": "fold", "ratio": 1}),
    ):
        table.add_column(header, **kwargs)
    for row in labelled(findings).iter_rows(named=True):
        table.add_row(
            severity_markup(row["severity"]),
            row["code"],
            row["name"],
            row["project_code"] or "",
            "" if row["seq"] is None else str(row["seq"]),
            row["message"] or "",
        )
    return table


def findings_json(findings: pl.DataFrame) -> str:
    """The findings as a JSON array of objects (FINDINGS columns), Chinese kept as is."""
    return json.dumps(findings.to_dicts(), ensure_ascii=False, indent=2)


def write_findings_json(findings: pl.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(findings_json(findings) + "\n", encoding="utf-8")
    return path


def write_findings_xlsx(findings: pl.DataFrame, path: str | Path, *, created: dt.datetime | None = None) -> Path:
    """A workbook: sheet 问题清单 with the findings as a filterable Excel table, sheet 检查项说明.

    Written with the tool's one workbook factory (text such as ``=1+1`` stays text), atomically.
    """
    from selfeval.report.workbook import new_workbook, write_table

    path = Path(path)
    keys = [key for key, _header, _width in XLSX_COLUMNS]
    top, wrap = {"valign": "top"}, {"valign": "top", "text_wrap": True}
    kinds = [k for code, k in CATALOGUE.items() if code.startswith("LINT_")]
    catalogue = pl.DataFrame(
        {
            "代码": [k.code for k in kinds], "问题": [k.name for k in kinds],
            "默认严重程度": [SEVERITY_LABELS[k.severity] for k in kinds],
            "说明模板": [k.template for k in kinds], "为什么重要": [k.why for k in kinds],
        },
        schema=dict.fromkeys(("代码", "问题", "默认严重程度", "说明模板", "为什么重要"), pl.String),
    )
    with new_workbook(path, created=created, title="绩效目标表审查结果") as wb:
        write_table(
            wb, "问题清单", labelled(findings).select(keys), table_name="问题清单", table_style="Table Style Medium 2",
            labels={key: header for key, header, _w in XLSX_COLUMNS},
            widths={key: width for key, _h, width in XLSX_COLUMNS},
            formats={key: wrap if key == "message" else top for key in keys},
        )
        wb.get_worksheet_by_name("问题清单").freeze_panes(1, 0)
        write_table(
            wb, "检查项说明", catalogue, table_name="检查项", widths=dict(zip(catalogue.columns, (28, 20, 12, 60, 60))),
            formats=dict.fromkeys(catalogue.columns, wrap),
        )
    return path
