"""`selfeval audit`: the finance bureau checks the self-evaluations units submitted (issue 14).

Registered on the app by the last import of `selfeval.cli`; imports nothing heavy until it runs.
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

from selfeval.cli import (
    YEAR_RANGE,
    OutputStyle,
    RulesDirOption,
    RulesOption,
    TableFormat,
    _frame_table,
    app,
    check_output,
    console,
    escape,
    fail,
)
from selfeval.errors import SelfevalError

TOP = 15


@app.command("audit")
def audit_command(
    submissions: Annotated[Path, typer.Argument(help="提交的自评表：一个 .xlsx/.xls/.docx 文件，存放多个自评表的文件夹，或规范表格文件夹（含 claimed_points 等列）")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="输出文件夹：审核结果.xlsx 与审核结果表（audit_summary、audit_findings …）")] = None,
    rules: RulesOption = "mof-2020",
    fmt: Annotated[TableFormat, typer.Option("--format", "-f", help="审核结果表格式")] = TableFormat.parquet,
    year: Annotated[Optional[int], typer.Option("--year", "-y", **YEAR_RANGE, help="预算年度（自评表中未写明年度时使用，如 2025）")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", "-j", min=1, max=64, help="读取文件的进程数（默认 CPU 核数）")] = None,
    style: Annotated[OutputStyle, typer.Option("--style", help="human：表格；json：机器可读")] = OutputStyle.human,
    top: Annotated[int, typer.Option("--top", min=0, help="终端显示问题最多的前几个项目")] = TOP,
    rules_dir: RulesDirOption = None,
) -> None:
    """审核单位提交的项目支出绩效自评表：按规则复算每项得分、执行率、总分与等级，列出每一处与规则不符的自评结论。

    无法读取的文件会列出原因，其余文件照常审核。
    退出码：0 无错误级问题；1 有错误级问题或无法读取的文件；2 输入或规则文件错误。
    """
    import json

    from selfeval.atomic import refuse_overwriting_inputs
    from selfeval.audit.api import audit
    from selfeval.audit.report import (
        WORKBOOK_NAME,
        write_audit_tables,
        write_audit_workbook,
    )
    from selfeval.cli_support import json_ready, rules_line
    from selfeval.report.tables import table_paths
    from selfeval.rules.loader import load_rules

    check_output(out, "folder")
    if out is not None and submissions.is_dir() and out.resolve().is_relative_to(submissions.resolve()):
        # the next audit of the folder would read 审核结果.xlsx as a submission
        raise fail(SelfevalError(f"{out}：输出文件夹不能位于待审核的文件夹 {submissions} 之内，请换一个文件夹"), 2)
    try:
        rule_set = load_rules(rules, rules_dirs=rules_dir or ())
        if out is not None:
            names = ["audit_summary", "audit_findings", "audit_indicators", "audit_projects", "audit_files", "audit_sheets"]
            refuse_overwriting_inputs([out / WORKBOOK_NAME, *table_paths(names, out, fmt.value)], [submissions, rule_set.source or None])
        with console.status("读取并复算自评表…"):
            result = audit(submissions, rule_set, year=year, workers=workers)
        if not submissions.is_dir() and result.files.get_column("status").to_list() == ["无法读取"]:
            # one file given and it cannot be read: bad input (one line, exit 2), not an audit of nothing
            raise SelfevalError(str(result.files.get_column("reason")[0]))
        written = []
        if out is not None:
            written = [write_audit_workbook(result, out / WORKBOOK_NAME), *write_audit_tables(result, out, fmt.value)]
    except (SelfevalError, OSError) as exc:
        raise fail(exc, 2) from None
    counts = result.counts()
    unreadable = result.files.filter(result.files.get_column("status") != "已审核")
    if style is OutputStyle.json:
        payload = {
            "rules": {"name": rule_set.name, "source": rule_set.source, "sha256": rule_set.sha256},
            "counts": counts, "files": result.files.to_dicts(), "summary": result.summary.to_dicts(),
            "findings": result.findings.to_dicts(),
        }
        console.print_json(json.dumps(json_ready(payload), ensure_ascii=False, default=str, allow_nan=False))
    else:
        _print_human(result, top)
        console.print(escape(rules_line(rule_set)), highlight=False, soft_wrap=True)
        for path in written:
            console.print(f"已写出 {escape(str(path))}", highlight=False)
    if counts["error"] or unreadable.height:
        raise typer.Exit(1)


def _print_human(result: object, top: int) -> None:
    import polars as pl
    from rich.table import Table

    summary = result.summary  # type: ignore[attr-defined]
    findings = result.findings  # type: ignore[attr-defined]
    files = result.files  # type: ignore[attr-defined]
    sheets = result.sheets  # type: ignore[attr-defined]
    shown = summary.head(top)
    table = Table(title=f"审核汇总（问题最多的前 {shown.height} 个项目，共 {summary.height} 个）")
    for header in ("单位", "项目", "自评总分", "复算总分", "差额", "自评等级", "复算等级", "错误", "警告"):
        table.add_column(header)
    for row in shown.iter_rows(named=True):
        diff = row["difference"]
        table.add_row(
            escape(str(row["unit_name"] or row["unit_code"] or "")), escape(str(row["project_name"] or row["project_code"] or "")),
            _num(row["claimed_total"]), _num(row["total"]),
            f"[red]{_num(diff)}[/]" if diff not in (None, 0) else _num(diff),
            escape(str(row["claimed_grade"] or "—")), escape(str(row["grade"] or "—")),
            f"[bold red]{row['errors']}[/]" if row["errors"] else "0", str(row["warnings"]),
        )
    console.print(table)
    if findings.height:
        by_code = findings.group_by("severity", "code", "name").agg(pl.len().alias("count")).sort("count", descending=True)
        console.print(_frame_table(by_code, "问题分类", {"severity": "严重程度", "code": "问题代码", "name": "问题", "count": "数量"}))
    for row in files.filter(pl.col("status") != "已审核").iter_rows(named=True):
        console.print(f"[red]{escape(row['status'])}[/] {escape(row['file'])}：{escape(str(row['reason'] or '没有找到自评表'))}",
                      highlight=False)
    counts = result.counts()  # type: ignore[attr-defined]
    skipped = sheets.filter(pl.col("status") == "已跳过").height
    audited = files.filter(pl.col("status") == "已审核").height
    console.print(
        f"共 {files.height} 个文件，审核 {audited} 个、{summary.height} 个项目（跳过 {skipped} 个非自评表工作表）；"
        f"错误 {counts['error']} 处，警告 {counts['warning']} 处。",
        highlight=False,
    )


def _num(value: object) -> str:
    return "—" if value is None else f"{value:.2f}"


def synth_submissions(units: int, out: Path, seed: int, error_rate: float) -> None:
    """`selfeval synth --submissions`: filled 自评表 files with injected errors and truth.csv."""
    from selfeval.audit.synthetic import write_submissions

    check_output(out, "folder")
    try:
        with console.status("生成自评表…"):
            truth = write_submissions(out, units, seed, error_rate=error_rate)
    except (SelfevalError, OSError) as exc:
        raise fail(exc, 2) from None
    files = sum(1 for p in out.iterdir() if p.suffix in (".xlsx", ".docx"))
    console.print(f"已生成 [bold]{escape(str(out))}[/]（种子 {seed}）：{files} 个自评表文件，注入错误 {truth.height} 处，"
                  f"见 truth.csv", highlight=False)
