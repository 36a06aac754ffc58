"""`selfeval rules diff A B`: what differs between two rule sets, in words, and — given data — what
the difference does to scores and grades (through the what-if, issue 13).

Registered on the `rules` group by the last imports of `selfeval.cli`; imports nothing heavy until it runs.
"""

from pathlib import Path
from typing import Annotated, Optional

import typer

from selfeval.cli import RulesDirOption, console, err_console, escape, fail, rules_app
from selfeval.errors import SelfevalError


def _differences_table(a_name: str, b_name: str, rows: list[tuple[str, str, str]]):  # noqa: ANN202
    from rich.table import Table

    table = Table(title=f"规则差异：{escape(a_name)} → {escape(b_name)}（{len(rows)} 项）", header_style="bold", show_lines=True)
    table.add_column("字段", style="bold", overflow="fold")
    table.add_column(escape(a_name), overflow="fold")
    table.add_column(escape(b_name), overflow="fold")
    for field, left, right in rows:
        table.add_row(escape(field), escape(left), escape(right))
    return table


@rules_app.command("diff")
def rules_diff(
    a: Annotated[str, typer.Argument(help="基准规则集（名称或 YAML 文件路径），如 mof-2020")],
    b: Annotated[str, typer.Argument(help="对比规则集（名称或 YAML 文件路径）")],
    on: Annotated[Optional[Path], typer.Option("--on", help="在这批数据上比较得分：绩效目标表（配合 -a/-e），或 bulk 可读取的文件夹/数据集")] = None,
    actuals: Annotated[Optional[Path], typer.Option("--actuals", "-a", help="实际完成值（--on 为单个绩效目标表时）")] = None,
    execution: Annotated[Optional[Path], typer.Option("--execution", "-e", help="预算执行数据（--on 为单个绩效目标表时）")] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="列出得分变化最大的前几个项目")] = 10,
    rules_dir: RulesDirOption = None,
) -> None:
    """比较两个规则集：逐项列出不同的规则（权重、曲线、档次、等级、执行率、舍入、依据……）；
    给出 --on 数据时，再用规则调整试算（what-if）列出等级变化的项目数、得分变化最大的项目和等级迁移矩阵。

    退出码：0 成功；2 规则文件或输入错误。
    """
    from selfeval.rules.describe import rule_differences
    from selfeval.rules.loader import load_rules

    if (actuals is None) != (execution is None):
        raise fail(SelfevalError("--actuals 与 --execution 需同时给出"), 2)
    if actuals is not None and on is None:
        raise fail(SelfevalError("给出 --actuals/--execution 时须用 --on 指定绩效目标表"), 2)
    try:
        rule_sets = [load_rules(name, rules_dirs=rules_dir or ()) for name in (a, b)]
    except SelfevalError as exc:
        raise fail(exc, 2) from None
    result = None
    if on is not None:  # the data are read and scored first: a bad input is one line, nothing else
        try:
            with console.status("在数据上比较两个规则集…"):
                result = _whatif_on(on, actuals, execution, rule_sets)
        except (SelfevalError, OSError) as exc:
            raise fail(exc, 2) from None
    rows = rule_differences(*rule_sets)
    if rows:
        console.print(_differences_table(rule_sets[0].name, rule_sets[1].name, rows))
    else:
        console.print(f"{escape(rule_sets[0].name)} 与 {escape(rule_sets[1].name)} 的全部规则相同。", highlight=False)
    if result is None:
        return
    from selfeval.whatif import changes_table, migration_tables, summary_table

    console.print(summary_table(result))
    for level in ("项目", "单位"):
        for table in migration_tables(result, level):
            console.print(table)
    console.print(changes_table(result, "项目", top))
    for warning in result.warnings:
        err_console.print(f"[yellow]注意：[/]{escape(str(warning))}", highlight=False)


def _whatif_on(source: Path, actuals: Path | None, execution: Path | None, rule_sets: list):  # noqa: ANN202
    """The what-if of `rule_sets` on a declaration with its actuals and execution, a dataset or a bulk folder."""
    from selfeval.bulk import source_kind
    from selfeval.whatif import whatif, whatif_dataset

    if actuals is not None and execution is not None:
        from selfeval.ingest import read_actuals, read_declared, read_execution

        declared = read_declared(source)
        return whatif(declared, read_actuals(actuals, declared=declared), read_execution(execution, declared=declared), rule_sets)
    if source_kind(source) == "dataset":
        result, _written, skipped = whatif_dataset(source, rule_sets)
        for path, reason in skipped:
            err_console.print(f"[yellow]跳过[/] {escape(str(path))}：{escape(str(reason))}", highlight=False)
        return result
    from selfeval.bulk import load_inputs

    declared, act, exe, skipped = load_inputs(source)
    if declared.units.height == 0:
        msg = f"{source}：没有可评分的单位（{skipped.height} 个输入均无法读取）"
        raise SelfevalError(msg)
    for path, reason in skipped.iter_rows():
        err_console.print(f"[yellow]跳过[/] {escape(str(path))}：{escape(str(reason))}", highlight=False)
    return whatif(declared, act, exe, rule_sets)
