"""selfeval 命令行：一个命令对应一个使用场景。Thin typer app; the work lives in the library."""

import contextlib
import enum
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from selfeval.cli_support import OneLineGroup, error_line, output_problem, print_error, rules_line
from selfeval.errors import SelfevalError

# A group's unused --help flag defaults to False rather than None: typer coerces a None flag through
# pydantic, which alone would make `selfeval <command> --help` import pydantic (keep help fast).
GROUP_CONTEXT = {"default_map": {"help": False}}

app = typer.Typer(
    name="selfeval",
    help="绩效自评引擎：读取绩效目标表与实际完成值，逐项评分、汇总定级并生成自评表。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings=GROUP_CONTEXT,
    cls=OneLineGroup,  # every error one line on stderr, never a usage box or a traceback
)
class LazyConsole:
    """A rich Console made on first use: `selfeval --help` never imports rich's console."""

    def __init__(self, **options: object) -> None:
        self._options = options
        self._console: Any = None

    def get(self) -> Any:
        """The rich Console itself (for rich objects that take one)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)  # type: ignore[arg-type]
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


def escape(text: str) -> str:
    """User text shown as text, never read as rich markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


console = LazyConsole()
err_console = LazyConsole(stderr=True)


class TableFormat(str, enum.Enum):
    parquet = "parquet"
    csv = "csv"
    both = "both"


class Engine(str, enum.Enum):
    local = "local"
    spark = "spark"


EngineOption = Annotated[Engine, typer.Option("--engine", help="评分引擎：local（本机）或 spark（Apache Spark，按单位组分发；需 pip install 'selfeval[spark]' 与 Java）")]
MasterOption = Annotated[Optional[str], typer.Option("--master", help="Spark master（--engine spark 时；默认 local[2]，集群如 yarn、spark://主机:7077）")]


class OutputStyle(str, enum.Enum):
    human = "human"
    json = "json"


def fail(error: Exception, code: int = 1) -> typer.Exit:
    """Print a clean error as one line on stderr (never a traceback) and return the Exit to raise."""
    print_error(error_line(error))
    return typer.Exit(code)


def check_output(path: Optional[Path], kind: str, option: str = "--out") -> None:
    """Exit 2 before any work when `path` cannot be written as a `kind` ("folder" or "file")."""
    problem = output_problem(path, kind, option) if path is not None else None
    if problem is not None:
        raise fail(SelfevalError(problem), 2)


YEAR_RANGE = {"min": 1900, "max": 2100}
YearOption = Annotated[Optional[int], typer.Option("--year", "-y", **YEAR_RANGE, help="预算年度（文件中无法确定年度时填写，如 2025）")]
RulesDirOption = Annotated[
    Optional[list[Path]],
    typer.Option("--rules-dir", help="规则文件夹（可重复）：其中的规则集按名称优先于内置规则集；不给时当前目录的 scoring_rules/ 不会替换内置规则集"),
]
ForceOption = Annotated[bool, typer.Option("--force", help="覆盖已有填写内容的文件（已填写的模板，或不是 selfeval 生成的文件）")]


@contextlib.contextmanager
def input_warnings() -> Iterator[None]:
    """Print each InputWarning a reader raised (a column read but not used …) as “注意：…” on stderr
    when the command ends, once per message; other warnings pass on unchanged. A command that
    fails on bad input (exit 2) prints only its one error line."""
    import sys
    import warnings

    from rich.markup import escape

    from selfeval.errors import InputWarning

    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", InputWarning)
            yield
    finally:
        ending = sys.exc_info()[1]  # the exception closing the command, if any
        failed = ending is not None and not (isinstance(ending, typer.Exit) and ending.exit_code in (0, 1))
        shown: set[str] = set()
        for w in caught:
            if not issubclass(w.category, InputWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            elif failed:
                continue
            elif str(w.message) not in shown:
                shown.add(str(w.message))
                err_console.print(f"[yellow]注意：[/]{escape(str(w.message))}", highlight=False)


@app.callback()
def _every_command(ctx: typer.Context) -> None:
    ctx.with_resource(input_warnings())


# ------------------------------------------------------------------------------------ parse
# (owned by the ingest work: `selfeval parse FILE [--out DIR] [--format parquet|csv]`)


@app.command("parse")
def parse_command(
    file: Annotated[Path, typer.Argument(help="绩效目标表：文本导出（.txt）、.docx、规范表格 .xlsx 或存放 .csv/.parquet 的文件夹")],
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="输出文件夹：写出 units、projects、indicators、department_goals 与 parsed_targets")
    ] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", "-f", help="输出表格格式")] = TableFormat.parquet,
    year: Annotated[Optional[int], typer.Option("--year", "-y", **YEAR_RANGE, help="预算年度（文件中无法确定年度时必填，如 2025）")] = None,
) -> None:
    """读取绩效目标表，显示汇总（单位、项目、指标、预算合计、指标值解析错误数），可写出规范表格。

    退出码：0 成功；2 输入文件错误（文件为空、格式无法识别、缺少列等）。
    """
    from selfeval.atomic import refuse_overwriting_inputs
    from selfeval.ingest import read_declared, write_frames
    from selfeval.ingest.summary import declared_summary, parsed_targets
    from selfeval.report.tables import table_paths

    check_output(out, "folder")
    try:
        decl = read_declared(file, year=year)
        targets = parsed_targets(decl)
        if out is not None:
            refuse_overwriting_inputs(table_paths([*decl.tables(), "parsed_targets"], out, fmt.value), [file])
        written = write_frames({**decl.tables(), "parsed_targets": targets}, out, fmt.value) if out is not None else []
    except SelfevalError as exc:
        raise fail(exc, 2) from None
    except OSError as exc:
        raise fail(exc, 2) from None
    console.print(declared_summary(decl, targets))
    for path in written:
        console.print(f"已写出 {escape(str(path))}")


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
    year: YearOption = None,
    rules_dir: RulesDirOption = None,
) -> None:
    """对一个单位评分：逐项指标评分、项目总分与等级、部门整体得分，并列出问题清单。

    退出码：0 无错误；1 存在错误级问题（如缺少实际完成值）；2 输入或规则文件错误。
    """
    import json

    from selfeval.api import score, write_tables
    from selfeval.cli_support import json_ready
    from selfeval.atomic import refuse_overwriting_inputs
    from selfeval.report.console import findings_summary, project_table
    from selfeval.report.tables import table_paths
    from selfeval.rules.loader import load_rules

    from selfeval.reconcile import reconcile

    check_output(out, "folder")
    try:
        rule_set = load_rules(rules, rules_dirs=rules_dir or ())
        result = score(declared, actuals, execution, rule_set, year=year)
        reconciliation = reconcile(result)
        reconciliation.check()
        if out is not None:
            refuse_overwriting_inputs(table_paths(result.tables(), out, fmt.value), [declared, actuals, execution, rule_set.source or None])
        written = write_tables(result, out, fmt.value) if out is not None else []
    except (SelfevalError, OSError) as exc:
        raise fail(exc, 2) from None
    if style is OutputStyle.json:
        payload = {
            "rules": {"name": rule_set.name, "source": rule_set.source, "sha256": rule_set.sha256},
            "units": result.unit_scores.to_dicts(),
            "projects": result.project_scores.to_dicts(),
            "findings": result.findings.to_dicts(),
        }
        console.print_json(json.dumps(json_ready(payload), ensure_ascii=False, default=str, allow_nan=False))
    else:
        # The full table needs a wide terminal; a narrow one gets the compact table.
        console.print(project_table(result, compact=console.width < 150))
        if result.findings.height:
            console.print(findings_summary(result.findings))
        console.print(reconciliation.line(), highlight=False)
        console.print(escape(rules_line(rule_set)), highlight=False, soft_wrap=True)
        for path in written:
            console.print(f"已写出 {escape(str(path))}")
    if (result.findings["severity"] == "error").any():
        raise typer.Exit(1)


rules_app = typer.Typer(help="查看评分规则集。", no_args_is_help=True, context_settings=GROUP_CONTEXT)
app.add_typer(rules_app, name="rules")


@rules_app.command("show")
def rules_show(
    name: Annotated[str, typer.Argument(help="规则集名称或 YAML 文件路径")] = "mof-2020",
    rules_dir: RulesDirOption = None,
) -> None:
    """显示一个规则集的全部参数（权重、曲线、档次、等级等）。"""
    from rich.table import Table

    from selfeval.rules.loader import describe_rules, load_rules

    try:
        rules = load_rules(name, rules_dirs=rules_dir or ())
    except SelfevalError as exc:
        raise fail(exc, 2) from None
    table = Table(title=f"规则集 {rules.name}", header_style="bold", show_lines=False)
    table.add_column("项目", style="bold")
    table.add_column("内容", overflow="fold")
    for key, value in describe_rules(rules):
        table.add_row(key, value)
    console.print(table)


@rules_app.command("list")
def rules_list(rules_dir: RulesDirOption = None) -> None:
    """列出可用的规则集。"""
    from selfeval.rules.loader import available_rules, load_rules

    try:
        found = available_rules(rules_dir or ())
    except SelfevalError as exc:
        raise fail(exc, 2) from None
    for name, path in found.items():
        try:
            title = load_rules(path, rules_dirs=rules_dir or ()).title
        except SelfevalError as exc:
            title = f"（无效：{exc}）"
        console.print(f"{escape(str(name))}\t{escape(str(title))}\t{escape(str(path))}")


# --------------------------------------------------------------------- template/report/demo
# (owned by the report work)


DEMO_SAMPLES = ("seed_targets_2025.txt", "actuals_sample.csv", "execution_sample.csv")


def sample_dir() -> Path:
    """Folder of the bundled seed sample: the package's data/samples, else the repository's samples/."""
    package = Path(__file__).resolve().parent / "data" / "samples"
    candidates = [package, Path(__file__).resolve().parents[2] / "samples", Path.cwd() / "samples"]
    for folder in candidates:
        if all((folder / name).is_file() for name in DEMO_SAMPLES):
            return folder
    msg = f"找不到内置示例文件（{'、'.join(DEMO_SAMPLES)}）；已查找：{'、'.join(str(c) for c in candidates)}"
    raise FileNotFoundError(msg)


def _compact_table(result: object) -> object:
    """项目得分一览（窄表，80 列终端也能看清）。"""
    from selfeval.report.console import project_table

    return project_table(result, compact=True)  # type: ignore[arg-type]


def _written(paths: list[Path]) -> None:
    for path in paths:
        console.print(f"  已写出 [bold]{escape(str(path))}[/]", highlight=False)


@app.command("template")
def template_command(
    declared: Annotated[Path, typer.Argument(help="绩效目标表：文本导出（.txt）、.docx、规范表格 .xlsx 或其所在文件夹")],
    out: Annotated[Path, typer.Option("--out", "-o", help="模板输出路径（.xlsx）")] = Path("template.xlsx"),
    rules: Annotated[str, typer.Option("--rules", "-r", help="规则集名称或 YAML 文件（决定定性评价档次的下拉选项）")] = "mof-2020",
    year: Annotated[Optional[int], typer.Option("--year", "-y", **YEAR_RANGE, help="预算年度（文件中无法确定年度时填写）")] = None,
    force: ForceOption = False,
    rules_dir: RulesDirOption = None,
) -> None:
    """生成实际完成值填报模板：申报内容已锁定，黄色单元格填写实际完成值、偏差原因与预算执行数。

    填好后可直接用于 score / report 的 --actuals 与 --execution。--out 不能是输入文件；已填写的模板不加 --force 不会被覆盖。
    退出码：0 成功；2 输入或规则文件错误，或 --out 会覆盖输入或已填写的内容。
    """
    from selfeval.ingest import read_declared
    from selfeval.report.template import refuse_unsafe_output, write_template
    from selfeval.rules.loader import load_rules

    check_output(out, "file")
    try:
        refuse_unsafe_output(out, [declared, Path(rules)], force=force)
        rule_set = load_rules(rules, rules_dirs=rules_dir or ())
        decl = read_declared(declared, year=year)
        path = write_template(decl, out, rules=rule_set)
    except (SelfevalError, OSError) as exc:
        raise fail(exc, 2) from None
    console.print(
        f"已生成填报模板 [bold]{escape(str(path))}[/]：{decl.projects.height} 个项目、{decl.indicators.height} 项指标。"
        "请在“实际完成值”“预算执行”工作表的黄色单元格中填写。",
        highlight=False,
    )
    console.print(escape(rules_line(rule_set)), highlight=False, soft_wrap=True)


@app.command("report")
def report_command(
    declared: Annotated[Path, typer.Argument(help="绩效目标表：文本导出、.docx、.xlsx 或规范表格所在文件夹")],
    actuals: Annotated[Path, typer.Option("--actuals", "-a", help="实际完成值（.csv/.xlsx/.parquet，或已填写的模板）")],
    execution: Annotated[Path, typer.Option("--execution", "-e", help="预算执行数据（.csv/.xlsx/.parquet，或已填写的模板）")],
    rules: Annotated[str, typer.Option("--rules", "-r", help="规则集名称（如 mof-2020）或 YAML 文件路径")] = "mof-2020",
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="自评表路径（.xlsx）；多个单位时为输出文件夹。默认 自评表_<单位编码>.xlsx"),
    ] = None,
    unit: Annotated[Optional[str], typer.Option("--unit", "-u", help="只为该单位编码生成自评表（输入含多个单位时）")] = None,
    year: YearOption = None,
    force: ForceOption = False,
    rules_dir: RulesDirOption = None,
) -> None:
    """评分并生成项目支出绩效自评表（.xlsx）：汇总、各项目自评表、部门整体、问题清单、计算说明。

    --out 不能是输入文件；已填写的模板等已有内容的文件不加 --force 不会被覆盖。
    退出码：0 无错误；1 存在错误级问题（工作簿照常生成，见“问题清单”）；2 输入或规则文件错误，或 --out 会覆盖输入或已填写的内容。
    """
    from selfeval.api import score
    from selfeval.reconcile import reconcile
    from selfeval.report.excel import unit_codes, workbook_filename, workbook_filenames, write_workbook, write_workbooks
    from selfeval.report.template import refuse_unsafe_output

    from selfeval.rules.loader import load_rules

    inputs = [declared, actuals, execution, Path(rules)]

    check_output(out, "file" if out is not None and out.suffix.lower() == ".xlsx" else "folder")
    try:
        rule_set = load_rules(rules, rules_dirs=rules_dir or ())
        result = score(declared, actuals, execution, rule_set, year=year)
        reconciliation = reconcile(result)
        reconciliation.check()
        codes = unit_codes(result)
        if unit is not None or len(codes) == 1:
            code = unit or codes[0]
            target = out if out is not None and out.suffix.lower() == ".xlsx" else (out or Path.cwd()) / workbook_filename(code)
            refuse_unsafe_output(target, inputs, force=force)
            written = [write_workbook(result, target, unit_code=code)]
        elif out is not None and out.suffix.lower() == ".xlsx":
            msg = f"输入包含 {len(codes)} 个单位，一个 .xlsx 只能写一个单位：请用 --unit 指定单位，或让 --out 指向文件夹（每个单位一个工作簿）"
            raise fail(SelfevalError(msg), 2)
        else:
            for name in workbook_filenames(codes):
                refuse_unsafe_output((out or Path.cwd()) / name, inputs, force=force)
            written = write_workbooks(result, out or Path.cwd())
    except (SelfevalError, OSError) as exc:
        raise fail(exc, 2) from None
    console.print(_compact_table(result))
    console.print(reconciliation.line(), highlight=False)
    console.print(escape(rules_line(rule_set)), highlight=False, soft_wrap=True)
    _written(written)
    errors = result.findings.get_column("severity").eq("error").sum()
    if result.findings.height:
        console.print(f"问题清单共 {result.findings.height} 条（其中错误 {errors} 条），详见工作簿“问题清单”。", highlight=False)
    if errors:
        raise typer.Exit(1)


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="输出文件夹")] = Path("selfeval-output"),
) -> None:
    """演示完整流程：用内置示例（玉田县石臼窝镇 2025 年绩效目标表与示例完成值）解析、评分并生成自评表和结果表。

    无需其他输入。输出：自评表_480001.xlsx，以及 indicator_scores、project_scores、unit_scores、findings
    四张结果表（.parquet 与 .csv）。
    """
    from selfeval.api import score, write_tables
    from selfeval.report.excel import write_workbooks

    check_output(out, "folder")
    try:
        folder = sample_dir()
        declared = folder / DEMO_SAMPLES[0]
        with console.status("解析绩效目标表并评分…"):  # the declaration is read once, by score
            result = score(declared, folder / DEMO_SAMPLES[1], folder / DEMO_SAMPLES[2])
        decl = result.declaration
        console.print(
            f"示例：{folder}\n  绩效目标表 {declared.name}：{decl.units.height} 个单位、{decl.projects.height} 个项目、"
            f"{decl.indicators.height} 项指标",
            highlight=False,
        )
        with console.status("生成自评表…"):
            written = write_workbooks(result, out)
            written += write_tables(result, out, "both")
    except (SelfevalError, OSError) as exc:
        raise fail(exc, 2) from None
    console.print(_compact_table(result))
    console.print(f"输出文件夹 [bold]{escape(str(out.resolve()))}[/]：", highlight=False)
    _written(written)
    console.print(f"用 Excel 或 WPS 打开 {escape(str(written[0].name))} 查看并打印各项目的《项目支出绩效自评表》。", highlight=False)


# ------------------------------------------------------------------------------------- lint
# (owned by the lint work: `selfeval lint DECLARED [--config FILE] [--format table|json|xlsx] [--out FILE]`)


class LintFormat(str, enum.Enum):
    table = "table"
    json = "json"
    xlsx = "xlsx"


@app.command("lint")
def lint_command(
    declared: Annotated[Path, typer.Argument(help="绩效目标表：文本导出、.docx、.xlsx 或规范表格所在文件夹")],
    config: Annotated[
        Optional[Path], typer.Option("--config", "-c", help="审查配置 YAML（只写要改的项：开关、严重程度、阈值）")
    ] = None,
    fmt: Annotated[LintFormat, typer.Option("--format", "-f", help="table：终端表格；json：机器可读；xlsx：可筛选的工作簿")] = LintFormat.table,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="输出文件（xlsx 必填；json 不填则打印到终端）")] = None,
    year: YearOption = None,
) -> None:
    """审查绩效目标表：缺少一级指标、二级指标归类错误、定量指标写成定性、比率超 100%、满意度目标偏低、
    成本指标设下限或超预算、占位符与无法解析的指标值、照搬的目标表、支出计划、资金来源合计、重名指标。

    退出码：0 无错误级问题；1 存在错误级问题；2 输入文件或配置文件错误。
    """
    from selfeval.atomic import refuse_overwriting_inputs
    from selfeval.ingest import read_declared
    from selfeval.lint import lint
    from selfeval.lint.report import counts_line, findings_json, findings_table, write_findings_json, write_findings_xlsx

    if fmt is LintFormat.xlsx and out is None:
        raise fail(ValueError("--format xlsx 需要用 --out 指定输出文件"), 2)
    if fmt is LintFormat.table and out is not None:
        raise fail(ValueError("--format table 只输出到终端；写文件请用 --format json 或 xlsx"), 2)
    check_output(out, "file")
    try:
        findings = lint(read_declared(declared, year=year), config)
        if out is not None:
            refuse_overwriting_inputs([out], [declared, config])
        if fmt is LintFormat.xlsx and out is not None:
            write_findings_xlsx(findings, out)
        elif fmt is LintFormat.json and out is not None:
            write_findings_json(findings, out)
    except SelfevalError as exc:
        raise fail(exc, 2) from None
    except OSError as exc:
        raise fail(exc, 2) from None
    if fmt is LintFormat.table:
        if findings.height:
            console.print(findings_table(findings))
        console.print(counts_line(findings))
    elif out is None:
        console.print_json(findings_json(findings))
    else:
        err_console.print(f"已写出 {escape(str(out))}：{counts_line(findings)}")
    if (findings["severity"] == "error").any():
        raise typer.Exit(1)


# ------------------------------------------------------------------------------------ synth
# (owned by the bulk/what-if work: `selfeval synth --units N [--seed S] --out DIR`)


@app.command("synth")
def synth_command(
    units: Annotated[int, typer.Option("--units", "-n", min=1, max=1_000_000, help="单位数（每个单位 3–12 个项目、约 9 项指标/项目）")],
    out: Annotated[Path, typer.Option("--out", "-o", help="输出文件夹：按 unit_group 分区的 Parquet 数据集")],
    seed: Annotated[int, typer.Option("--seed", "-s", min=0, max=2**63 - 1, help="随机种子（非负整数）：同一种子生成的数据完全相同")] = 0,
    submissions: Annotated[bool, typer.Option("--submissions", help="改为生成各单位已填写的项目支出绩效自评表（.xlsx/.docx，注入各类错误）与 truth.csv，供 audit 审核")] = False,
    error_rate: Annotated[float, typer.Option("--error-rate", min=0.0, max=1.0, help="与 --submissions 同用：注入一处错误的项目比例")] = 0.3,
) -> None:
    """生成合成测试数据：绩效目标、实际完成值与预算执行（含未完成、超额、缺失、无法解析、单位不一致、支出滞后等情形），
    写成分区 Parquet 数据集（<表>/unit_group=K/part-0.parquet），可直接用于 bulk 与 whatif。
    """
    if submissions:  # the audit journey's test set (selfeval.cli_audit)
        from selfeval.cli_audit import synth_submissions

        return synth_submissions(units, out, seed, error_rate)
    from rich.progress import Progress

    from selfeval.synth import GROUP_UNITS, write_synth

    groups = -(-units // GROUP_UNITS)
    check_output(out, "folder")
    try:
        with Progress(console=err_console.get(), transient=True) as bar:
            task = bar.add_task("生成", total=groups)
            counts = write_synth(out, units, seed, on_group=lambda done, total: bar.update(task, completed=done))
    except (SelfevalError, OSError) as exc:
        raise fail(exc, 2) from None
    labels = {"units": "单位", "projects": "项目", "indicators": "指标", "actuals": "实际完成值", "execution": "预算执行"}
    summary = "，".join(f"{labels[k]} {v:,} 行" for k, v in counts.items())
    console.print(f"已生成 [bold]{escape(str(out))}[/]（种子 {seed}，{groups} 个分区）：{summary}", highlight=False)


# ------------------------------------------------------------------------------------- bulk
# (owned by the bulk/what-if work: `selfeval bulk INPUT --out DIR [--rules R] [--workbooks]`)


def _frame_table(frame: object, title: str, columns: dict[str, str], limit: int | None = None) -> object:
    """A rich table of selected columns of a small frame (Chinese headers, numbers to 2 decimals)."""
    from rich.markup import escape
    from rich.table import Table

    from selfeval.report.labels import SEVERITY_LABELS, severity_markup, yes_no_markup

    table = Table(title=title, header_style="bold")
    wrapping = {"unit_name", "name", "reason", "path", "project_name"}
    for key, header in columns.items():
        table.add_column(header, overflow="fold", no_wrap=key not in wrapping)
    rows = frame.head(limit) if limit is not None else frame  # type: ignore[attr-defined]
    for row in rows.iter_rows(named=True):
        cells = []
        for key in columns:
            value = row[key]
            if isinstance(value, bool):
                cells.append(yes_no_markup(value))
            elif isinstance(value, float):
                cells.append(f"{value * 100:.1f}%" if key in ("share", "execution_rate") else f"{value:,.2f}")
            elif key == "severity":
                cells.append(severity_markup(value) if value in SEVERITY_LABELS else escape(str(value)))
            else:
                cells.append("—" if value is None else escape(str(value)))
        table.add_row(*cells)
    return table


@app.command("bulk")
def bulk_command(
    source: Annotated[Path, typer.Argument(help="输入文件夹：分区 Parquet 数据集、含多个单位的规范表格，或每个单位一个子文件夹（绩效目标表 + 已填写模板）")],
    out: Annotated[Path, typer.Option("--out", "-o", help="输出文件夹：四张结果表、单位排名、等级分布、问题汇总、跳过的文件")],
    rules: RulesOption = "mof-2020",
    workbooks: Annotated[bool, typer.Option("--workbooks", help="同时为每个单位生成自评表（写入 输出文件夹/自评表/，多进程并行）")] = False,
    workers: Annotated[Optional[int], typer.Option("--workers", "-j", min=1, max=64, help="同时评分的批次数与生成自评表的进程数（默认 CPU 核数，同时评分最多 2 批；每多 1 批约多占 0.3 GiB 内存）")] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", "-f", help="结果表格式")] = TableFormat.parquet,
    top: Annotated[int, typer.Option("--top", min=0, help="终端显示排名前几的单位")] = 20,
    rules_dir: RulesDirOption = None,
    engine: EngineOption = Engine.local,
    master: MasterOption = None,
) -> None:
    """批量评分：一次为成百上千个单位评分，输出单位排名（含等级）、等级分布、问题汇总；无法读取的文件会列出原因并跳过，其余照常评分。

    输出文件夹整体替换：本次运行的全部文件（含记录规则与输入摘要的 manifest.json）一起出现，中断时保持上一次的结果。
    退出码：0 全部读取且无错误级问题；1 有文件被跳过或存在错误级问题；2 输入或规则文件错误，或输出文件夹正被另一次运行写出、
    含有不是 bulk 写出的文件、含有符号链接、与输入重叠。
    """
    from selfeval.bulk import score_many
    from selfeval.report.labels import COLUMN_LABELS as labels
    from selfeval.rules.loader import load_rules

    check_output(out, "folder")
    try:
        rule_set = load_rules(rules, rules_dirs=rules_dir or ())
        result = score_many(
            source, rule_set, out=out, fmt=fmt.value, workbooks=out / "自评表" if workbooks else None,
            workers=workers, progress=engine is Engine.local, engine=engine.value, master=master,
        )
    except (SelfevalError, OSError) as exc:
        raise fail(exc, 2) from None
    league_cols = ["rank", "unit_code", "unit_name", "total", "grade", "projects", "execution_rate", "complete", "errors", "warnings"]
    console.print(_frame_table(result.league, f"单位排名（前 {min(top, result.league.height)} 名，共 {result.league.height} 个单位）",
                               {c: labels[c] for c in league_cols}, top))
    console.print(_frame_table(result.grade_distribution, "等级分布", {c: labels[c] for c in ("level", "grade", "count", "share")}))
    if result.findings_summary.height:
        console.print(_frame_table(result.findings_summary, "问题汇总", {c: labels[c] for c in ("severity", "code", "name", "count", "units")}))
    if result.skipped.height:
        console.print(_frame_table(result.skipped, f"跳过的输入（{result.skipped.height} 个）", {"path": "文件", "reason": "原因"}))
    n_projects, n_units = result.projects, result.unit_scores.height
    console.print(
        f"共 {result.inputs} 个输入，已评分 {n_units} 个单位、{n_projects} 个项目；跳过 {result.skipped.height} 个。"
        f"结果已写入 [bold]{escape(str(out))}[/]（{len(result.written)} 个文件）。",
        highlight=False,
    )
    console.print(escape(rules_line(rule_set)), highlight=False, soft_wrap=True)
    errors = result.findings_summary.filter(result.findings_summary.get_column("severity") == "error").get_column("count").sum()
    if result.skipped.height or errors:
        raise typer.Exit(1)


# ----------------------------------------------------------------------------------- whatif
# (owned by the bulk/what-if work: `selfeval whatif INPUT --rules A --rules B … | --sweep FIELD=v1,v2,…`)


@app.command("whatif")
def whatif_command(
    source: Annotated[Path, typer.Argument(help="绩效目标表（配合 --actuals/--execution），或 bulk 可读取的文件夹（数据集、规范表格、每单位一个子文件夹）")],
    rules: Annotated[Optional[list[str]], typer.Option("--rules", "-r", help="规则集（可重复）：第一个为对比基准；与 --sweep 同用时只给一个，作为扫描的基础规则")] = None,
    sweep: Annotated[Optional[list[str]], typer.Option("--sweep", "-s", help="参数扫描：字段=值1,值2,…（如 weights.产出指标=40,45,50,55；可重复，取组合）")] = None,
    actuals: Annotated[Optional[Path], typer.Option("--actuals", "-a", help="实际完成值（输入为单个绩效目标表时）")] = None,
    execution: Annotated[Optional[Path], typer.Option("--execution", "-e", help="预算执行数据（输入为单个绩效目标表时）")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="对比工作簿路径（.xlsx）：情景汇总、项目得分、单位得分、等级迁移、情景参数")] = None,
    tables: Annotated[Optional[Path], typer.Option("--tables", help="结果表输出文件夹：whatif_summary、whatif_projects、whatif_units、whatif_migration、whatif_parameters")] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", "-f", help="结果表格式（与 --tables 同用）")] = TableFormat.parquet,
    top: Annotated[int, typer.Option("--top", min=0, help="终端显示得分变化最大的前几个单位/项目")] = 15,
    rules_dir: RulesDirOption = None,
    engine: EngineOption = Engine.local,
    master: MasterOption = None,
) -> None:
    """规则调整试算：同一批数据在多个规则情景下的项目与单位得分、等级、与第一个情景的差值及等级迁移矩阵（优→良 …）。
    仅数值参数不同的情景在一次向量化计算中完成。

    退出码：0 成功；2 输入、规则文件或 --sweep 参数错误。
    """
    from selfeval.whatif import changes_table, migration_tables, summary_table, whatif, write_whatif_tables

    check_output(out, "file")
    check_output(tables, "folder", "--tables")
    if not rules and not sweep:
        raise fail(SelfevalError("请用 --rules 给出至少两个规则集，或用 --sweep 给出参数扫描（如 --sweep weights.产出指标=40,45,50）"), 2)
    if sweep and rules and len(rules) > 1:
        raise fail(SelfevalError("与 --sweep 同用时只能给一个 --rules（扫描的基础规则）"), 2)
    try:
        from selfeval.rules.loader import DEFAULT_RULES, load_rules

        rule_sets = [load_rules(r, rules_dirs=rules_dir or ()) for r in (rules or [DEFAULT_RULES])]
        if (actuals is None) != (execution is None):
            raise SelfevalError("--actuals 与 --execution 需同时给出")
        if engine is Engine.spark and actuals is not None:
            raise SelfevalError("--engine spark 读取分区 Parquet 数据集，不与 --actuals/--execution 同用")
        from selfeval.atomic import refuse_overwriting_inputs
        from selfeval.bulk import source_kind
        from selfeval.report.tables import table_paths
        from selfeval.whatif import WHATIF_TABLES, whatif_dataset

        read = [source, actuals, execution, *(r.source or None for r in rule_sets)]
        refuse_overwriting_inputs([*([out] if out is not None else []), *(table_paths(WHATIF_TABLES, tables, fmt.value) if tables is not None else [])], read)
        written_tables: list[Path] = []
        if actuals is not None and execution is not None:
            from selfeval.ingest import read_actuals, read_declared, read_execution

            declared = read_declared(source)
            act, exe = read_actuals(actuals, declared=declared), read_execution(execution, declared=declared)
            with console.status("计算各情景得分…"):
                result = whatif(declared, act, exe, rule_sets, sweep=sweep or None)
        elif engine is Engine.spark or source_kind(source) == "dataset":
            # a dataset is compared a batch of units at a time: memory stays bounded at any size
            with console.status("逐批计算各情景得分…"):
                result, written_tables, skipped_parts = whatif_dataset(source, rule_sets, sweep=sweep or None, tables=tables, fmt=fmt.value,
                                                                       engine=engine.value, master=master)
            for path, reason in skipped_parts:
                err_console.print(f"[yellow]跳过[/] {escape(str(path))}：{escape(str(reason))}", highlight=False)
        else:
            from selfeval.bulk import load_inputs

            with console.status("读取输入…"):
                declared, act, exe, skipped = load_inputs(source)
            if declared.units.height == 0:  # every input skipped: nothing to compare
                reasons = "；".join(f"{p}：{r}" for p, r in skipped.head(3).iter_rows())
                raise SelfevalError(f"{source}：没有可评分的单位（{skipped.height} 个输入均无法读取：{reasons}）")
            for path, reason in skipped.iter_rows():
                err_console.print(f"[yellow]跳过[/] {escape(str(path))}：{escape(str(reason))}", highlight=False)
            with console.status("计算各情景得分…"):
                result = whatif(declared, act, exe, rule_sets, sweep=sweep or None)
        written = result.write_workbook(out) if out is not None else None
        if tables is not None and not written_tables:
            written_tables = write_whatif_tables(result, tables, fmt.value)
    except (SelfevalError, OSError) as exc:
        raise fail(exc, 2) from None
    console.print(summary_table(result))
    for table in migration_tables(result, "单位"):
        console.print(table)
    for table in migration_tables(result, "项目"):
        console.print(table)
    console.print(changes_table(result, "单位", top))
    console.print(changes_table(result, "项目", top))
    for warning in result.warnings:
        err_console.print(f"[yellow]注意：[/]{escape(str(warning))}", highlight=False)
    for rule_set in rule_sets:
        console.print(escape(rules_line(rule_set)), highlight=False, soft_wrap=True)
    for path in [*([written] if written is not None else []), *written_tables]:
        console.print(f"已写出 [bold]{escape(str(path))}[/]", highlight=False)


import selfeval.cli_audit  # noqa: E402,F401  registers `selfeval audit` (the audit journey, issue 14)
import selfeval.cli_rules  # noqa: E402,F401  registers `selfeval rules diff` (rule profiles, issue 13)
import selfeval.cli_serve  # noqa: E402,F401  registers `selfeval serve` (the web application, issue 15)


# Objects a command run creates before its first young-generation collection. Python's default
# (700) makes the imports a command needs (Polars, pydantic, the rule model: ~10^6 objects, none
# of them garbage) trigger ~150 collections and a full one, ~50 ms of a 0.6 s demo; the
# scoring itself leaves little cyclic garbage (its data lives in Polars), so a bigger young
# generation costs a few MB at most.
GC_YOUNG_THRESHOLD = 50_000


def main() -> None:
    """Console-script entry point."""
    import gc

    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    try:
        app()
    finally:
        # Shutting down, the interpreter collects every generation while it clears the modules:
        # with Polars, pydantic and a run's objects alive that took 80-130 ms of a 0.6 s command,
        # finding no garbage. Frozen objects are skipped; the rest of the shutdown (atexit
        # handlers, flushing the standard streams) runs as usual.
        gc.freeze()


if __name__ == "__main__":
    main()
