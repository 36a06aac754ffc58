"""Renderings of lint findings: a rich table, JSON, and a workbook with a filterable table."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
from rich.table import Table

from selfeval.atomic import atomic_path
from selfeval.findings import CATALOGUE

SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}
SEVERITY_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}
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
    from selfeval.schema import LABELS

    names = {code: kind.name for code, kind in CATALOGUE.items()}
    return findings.with_columns(
        pl.col("severity").replace_strict(SEVERITY_LABELS, default=pl.col("severity")).alias("severity_label"),
        pl.col("code").replace_strict(names, default=pl.col("code")).alias("name"),
        pl.col("column").replace_strict(LABELS, default=pl.col("column")).alias("column_label"),
    )


def counts(findings: pl.DataFrame) -> dict[str, int]:
    """Findings per severity, every severity present (0 when none)."""
    seen = dict(findings.group_by("severity").len().iter_rows())
    return {sev: int(seen.get(sev, 0)) for sev in SEVERITY_LABELS}


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
        style = SEVERITY_STYLES.get(row["severity"], "")
        table.add_row(
            f"[{style}]{row['severity_label']}[/]" if style else row["severity_label"],
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

    Every text is written with write_string (a value like ``=1+1`` stays text); written atomically.
    """
    import xlsxwriter

    path = Path(path)
    rows = labelled(findings)
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False})
        wb.set_properties({"title": "绩效目标表审查结果", "created": created or dt.datetime(2000, 1, 1)})
        wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        top = wb.add_format({"valign": "top"})
        ws = wb.add_worksheet("问题清单")
        for col, (_key, header, width) in enumerate(XLSX_COLUMNS):
            ws.set_column(col, col, width, wrap if header == "说明" else top)
        for r, record in enumerate(rows.iter_rows(named=True), start=1):
            for col, (key, _header, _width) in enumerate(XLSX_COLUMNS):
                value = record[key]
                if value is None:
                    continue
                if isinstance(value, int):
                    ws.write_number(r, col, value)
                else:
                    ws.write_string(r, col, str(value))
        ws.add_table(
            0, 0, max(rows.height, 1), len(XLSX_COLUMNS) - 1,
            {"name": "问题清单", "style": "Table Style Medium 2", "autofilter": True,
             "columns": [{"header": header} for _key, header, _w in XLSX_COLUMNS]},
        )
        ws.freeze_panes(1, 0)
        info = wb.add_worksheet("检查项说明")
        for col, (header, width) in enumerate((("代码", 28), ("问题", 20), ("默认严重程度", 12), ("说明模板", 60), ("为什么重要", 60))):
            info.set_column(col, col, width, wrap)
            info.write_string(0, col, header)
        lint_kinds = [k for code, k in CATALOGUE.items() if code.startswith("LINT_")]
        for r, kind in enumerate(lint_kinds, start=1):
            for col, text in enumerate((kind.code, kind.name, SEVERITY_LABELS[kind.severity], kind.template, kind.why)):
                info.write_string(r, col, text)
        wb.close()
    return path
