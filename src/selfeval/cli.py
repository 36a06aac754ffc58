"""selfeval 命令行：一个命令对应一个使用场景。Thin typer app; the work lives in the library."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from selfeval.errors import SelfevalError

app = typer.Typer(
    name="selfeval",
    help="绩效自评引擎：读取绩效目标表与实际完成值，逐项评分、汇总定级并生成自评表。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console()
err_console = Console(stderr=True)


class TableFormat(str, enum.Enum):
    parquet = "parquet"
    csv = "csv"
    both = "both"


class OutputStyle(str, enum.Enum):
    human = "human"
    json = "json"


def fail(error: Exception, code: int = 1) -> typer.Exit:
    """Print a clean error (never a traceback) and return the Exit to raise."""
    err_console.print(f"[bold red]错误：[/]{error}", highlight=False)
    return typer.Exit(code)


# ------------------------------------------------------------------------------------ parse
# (owned by the ingest work: `selfeval parse FILE [--out DIR] [--format parquet|csv]`)


@app.command("parse")
def parse_command(
    file: Annotated[Path, typer.Argument(help="绩效目标表：文本导出（.txt）、.docx、规范表格 .xlsx 或存放 .csv/.parquet 的文件夹")],
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="输出文件夹：写出 units、projects、indicators、department_goals 与 parsed_targets")
    ] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", "-f", help="输出表格格式")] = TableFormat.parquet,
    year: Annotated[Optional[int], typer.Option("--year", "-y", help="预算年度（文件中无法确定年度时必填，如 2025）")] = None,
) -> None:
    """读取绩效目标表，显示汇总（单位、项目、指标、预算合计、指标值解析错误数），可写出规范表格。

    退出码：0 成功；2 输入文件错误（文件为空、格式无法识别、缺少列等）。
    """
    from selfeval.ingest import read_declared, write_frames
    from selfeval.ingest.summary import declared_summary, parsed_targets

    try:
        decl = read_declared(file, year=year)
        targets = parsed_targets(decl)
        written = write_frames({**decl.tables(), "parsed_targets": targets}, out, fmt.value) if out is not None else []
    except SelfevalError as exc:
        raise fail(exc, 2) from None
    except OSError as exc:
        raise fail(exc, 2) from None
    console.print(declared_summary(decl, targets))
    for path in written:
        console.print(f"已写出 {path}")


# ------------------------------------------------------------------------------------ score
# (owned by the scoring work)

RulesOption = Annotated[
    str, typer.Option("--rules", "-r", help="规则集名称（scoring_rules/ 下的文件名，如 mof-2020）或 YAML 文件路径")
]


@app.command("score")
def score_command(
    declared: Annotated[Path, typer.Argument(help="绩效目标表：文本导出、.docx、.xlsx 或规范表格所在文件夹")],
    actuals: Annotated[Path, typer.Option("--actuals", "-a", help="实际完成值（.csv/.xlsx/.parquet，或已填写的模板）")],
    execution: Annotated[Path, typer.Option("--execution", "-e", help="预算执行数据（.csv/.xlsx/.parquet，或已填写的模板）")],
    rules: RulesOption = "mof-2020",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="输出文件夹：写出四张结果表")] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", "-f", help="结果表格式")] = TableFormat.parquet,
    style: Annotated[OutputStyle, typer.Option("--style", help="human：表格；json：机器可读")] = OutputStyle.human,
) -> None:
    """对一个单位评分：逐项指标评分、项目总分与等级、部门整体得分，并列出问题清单。

    退出码：0 无错误；1 存在错误级问题（如缺少实际完成值）；2 输入或规则文件错误。
    """
    import json

    from selfeval.api import score, write_tables
    from selfeval.report.console import findings_summary, project_table

    try:
        result = score(declared, actuals, execution, rules)
        written = write_tables(result, out, fmt.value) if out is not None else []
    except SelfevalError as exc:
        raise fail(exc, 2) from None
    if style is OutputStyle.json:
        payload = {
            "units": result.unit_scores.to_dicts(),
            "projects": result.project_scores.to_dicts(),
            "findings": result.findings.to_dicts(),
        }
        console.print_json(json.dumps(payload, ensure_ascii=False, default=str))
    else:
        console.print(project_table(result))
        if result.findings.height:
            console.print(findings_summary(result.findings))
        for path in written:
            console.print(f"已写出 {path}")
    if (result.findings["severity"] == "error").any():
        raise typer.Exit(1)


rules_app = typer.Typer(help="查看评分规则集。", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@rules_app.command("show")
def rules_show(name: Annotated[str, typer.Argument(help="规则集名称或 YAML 文件路径")] = "mof-2020") -> None:
    """显示一个规则集的全部参数（权重、曲线、档次、等级等）。"""
    from rich.table import Table

    from selfeval.rules.loader import describe_rules, load_rules

    try:
        rules = load_rules(name)
    except SelfevalError as exc:
        raise fail(exc, 2) from None
    table = Table(title=f"规则集 {rules.name}", header_style="bold", show_lines=False)
    table.add_column("项目", style="bold")
    table.add_column("内容", overflow="fold")
    for key, value in describe_rules(rules):
        table.add_row(key, value)
    console.print(table)


@rules_app.command("list")
def rules_list() -> None:
    """列出可用的规则集。"""
    from selfeval.rules.loader import available_rules, load_rules

    for name, path in available_rules().items():
        try:
            title = load_rules(path).title
        except SelfevalError as exc:
            title = f"（无效：{exc}）"
        console.print(f"{name}\t{title}\t{path}")


# --------------------------------------------------------------------- template/report/demo
# (owned by the report work)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
