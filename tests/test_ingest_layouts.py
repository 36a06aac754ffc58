"""Layouts people use: split 指标性质|指标值|度量单位, 指标方向, 分值, 万元 amounts, missing budgets and
level-3 names, the once-per-unit plan finding, --year everywhere, unused columns warned, the template's
分值 and 自评得分 read back."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from docx_builder import build_docx
from selfeval import schema
from selfeval.cli import app
from selfeval.declaration import Declaration
from selfeval.errors import InputError, InputWarning
from selfeval.ingest import read_actuals, read_declared, read_execution
from selfeval.ingest.layout import combined_targets, in_yuan
from selfeval.lint import lint

LAYOUTS = Path(__file__).resolve().parent / "fixtures" / "layouts"
SPLIT = LAYOUTS / "split_targets.txt"  # 指标性质 | 指标值 | 度量单位 | 分值 | 备注, 项目资金（万元）
DIRECTION = LAYOUTS / "direction_column.txt"  # 指标方向 column, （金额单位：万元）, no year
FOLDER = LAYOUTS / "split_folder"  # the same targets as canonical csv tables, 预算数（万元） headers
P1, P2 = "53010225P0001", "53010225P0002"
runner = CliRunner()


def quietly(read: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a reader with its InputWarnings silenced (the tests that expect them use pytest.warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)
        return read(*args, **kwargs)


@pytest.fixture(scope="module")
def split() -> Declaration:
    return quietly(read_declared, SPLIT)


# ------------------------------------------------------------------ 指标性质 | 指标值 | 度量单位

# (seq in P1, target_text, direction, weight)
SPLIT_P1 = [
    (1, "≥120人次", "ge", 20.0),  # ≧ is ≥
    (2, "=100%", "eq", 20.0),  # full-width ＝
    (3, "≥95%", "ge", 10.0),
    (4, "≤10万元", "le", 10.0),
    (5, "有效减轻", "qualitative", 20.0),  # 定性 keeps the 指标值 as written
    (6, "1%", "le", 10.0),  # 反向 is a direction, not a sign
    (7, "95%", "ge", 10.0),  # 正向 likewise
]


def _targets(decl: Declaration, project: str = P1) -> list[tuple[Any, ...]]:
    return decl.indicators.filter(pl.col("project_code") == project).select("seq", "target_text", "direction", "weight").rows()


def test_split_target_columns_are_combined(split: Declaration) -> None:
    """It should combine 指标性质 + 指标值 + 度量单位 into target_text and set direction and weight."""
    assert _targets(split) == SPLIT_P1
    assert split.indicators.schema == schema.INDICATORS


def test_split_layout_same_from_docx(tmp_path: Path, split: Declaration) -> None:
    """It should read the same split layout from a Word document."""
    path = build_docx(SPLIT.read_text(encoding="utf-8"), tmp_path / "split.docx")
    decl = quietly(read_declared, path)
    assert _targets(decl) == SPLIT_P1
    assert decl.projects.select("project_code", "budget", "amount_unit").rows() == split.projects.select(
        "project_code", "budget", "amount_unit").rows()


def test_split_layout_same_from_folder(split: Declaration) -> None:
    """It should read the split layout from canonical csv tables the same way as from the document."""
    decl = quietly(read_declared, FOLDER)
    assert _targets(decl) == SPLIT_P1
    columns = ["project_code", "seq", "level3", "target_text", "direction", "weight"]
    assert decl.indicators.select(columns).rows() == split.indicators.select(columns).rows()


def test_split_layout_from_workbook(tmp_path: Path) -> None:
    """It should combine split columns of an .xlsx workbook and read 万元 from a note above the header."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "单位"
    ws.append(["单位编码", "单位名称", "年度"])
    ws.append(["530102", "某某区教育体育局", 2025])
    ws = wb.create_sheet("项目")
    ws.append(["2025年项目支出预算（金额单位：万元）"])
    ws.append(["项目编码", "项目名称", "预算数", "财政资金"])
    ws.append(["P1", "学生资助", 12.3456, 12.3456])
    ws = wb.create_sheet("指标")
    ws.append(["项目编码", "序号", "一级指标", "三级指标", "指标性质", "指标值", "度量单位", "分值"])
    ws.append(["P1", 1, "产出指标", "资助人数", "≧", 120, "人次", 60])
    ws.append(["P1", 2, "满意度指标", "满意度", "正向", 95, "%", 40])
    wb.save(tmp_path / "tables.xlsx")
    decl = read_declared(tmp_path / "tables.xlsx")
    assert decl.projects.select("budget", "fiscal_funds", "amount_unit").rows() == [(123456.0, 123456.0, "万元")]
    assert decl.indicators.select("target_text", "direction", "weight").rows() == [
        ("≥120人次", "ge", 60.0), ("95%", "ge", 40.0)]


# (nature, value, unit, 指标方向) → (target_text, direction)
COMBINE_CASES: list[tuple[str | None, str | None, str | None, str | None, str | None, str | None]] = [
    ("≥", "95", "%", None, "≥95%", "ge"),
    ("≧", "95", "%", None, "≥95%", "ge"),
    (">=", "95", "%", None, "≥95%", "ge"),
    ("不低于", "95", "%", None, "≥95%", "ge"),
    ("≤", "5", "天", None, "≤5天", "le"),
    ("≦", "5", "天", None, "≤5天", "le"),
    ("＝", "100", "%", None, "=100%", "eq"),
    ("正向", "95", "%", None, "95%", "ge"),
    ("反向", "3", "%", None, "3%", "le"),
    ("定性", "有效提升", None, None, "有效提升", "qualitative"),
    ("定性", "好", "%", None, "好", "qualitative"),
    ("定量", "95", "%", None, "95%", None),
    ("≥", "≥95%", "%", None, "≥95%", "ge"),  # sign and unit already written: not doubled
    ("≥", "95", "/", None, "≥95", "ge"),  # a placeholder unit is no unit
    ("≥", "1.2万", "人", None, "≥1.2万人", "ge"),
    (None, "95", "%", None, "95%", None),
    (None, "95%", None, "正向", "95%", "ge"),
    (None, "95%", None, "≥", "≥95%", "ge"),
    ("≥", "95", "%", "反向", "≥95%", "le"),  # an explicit 指标方向 wins over 指标性质 for the direction
    ("≥", None, "%", None, None, "ge"),
]


@pytest.mark.parametrize(("nature", "value", "unit", "stated", "text", "direction"), COMBINE_CASES,
                         ids=[f"{c[0]}|{c[1]}|{c[2]}|{c[3]}" for c in COMBINE_CASES])
def test_combined_target_cases(nature: str | None, value: str | None, unit: str | None, stated: str | None,
                               text: str | None, direction: str | None) -> None:
    """It should write {sign}{value}{unit} and the direction, keeping 正向/反向 out of the text."""
    frame = pl.DataFrame({"target_text": [value], "nature": [nature], "measure_unit": [unit], "direction": [stated]},
                         schema={"target_text": pl.String, "nature": pl.String, "measure_unit": pl.String, "direction": pl.String})
    assert combined_targets(frame).rows() == [(text, direction)]


def test_combined_targets_of_a_long_table_equal_each_case() -> None:
    """A long table (cells repeated, so combined once per distinct cell) should give every row
    exactly what its case gives alone, in the original row order, nulls included."""
    cases = [c[:4] for c in COMBINE_CASES]
    rows = [cases[(i * 7) % len(cases)] for i in range(20 * len(cases))]
    columns = ("nature", "target_text", "measure_unit", "direction")
    frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row").select(
        "target_text", "nature", "measure_unit", "direction", pl.int_range(pl.len()).alias("row")
    )
    expected = {c[:4]: c[4:] for c in COMBINE_CASES}
    combined = combined_targets(frame)
    assert combined.columns == ["target_text", "direction", "row"]
    assert combined.get_column("row").to_list() == list(range(len(rows)))
    assert combined.select("target_text", "direction").rows() == [expected[r] for r in rows]


# ------------------------------------------------------------------ 指标方向 column, 分值

def test_direction_column() -> None:
    """It should read an explicit 指标方向 column: a sign goes in front of a bare value, a word only to direction."""
    decl = read_declared(DIRECTION, year=2025)
    assert decl.indicators.select("level3", "target_text", "direction", "weight").rows() == [
        ("建档人数", "≥1200人", "ge", 30.0),
        ("建档合格率", "≥95%", "ge", 30.0),
        ("人均建档成本", "40元", "le", 10.0),
        ("群众健康意识", "明显提升", "qualitative", 20.0),
        ("群众满意度", "90%", "ge", 10.0),
    ]


def test_weights_per_indicator_on_targets(split: Declaration) -> None:
    """It should read 分值 per indicator; each project's weights here sum to 100."""
    sums = split.indicators.group_by("project_code", maintain_order=True).agg(pl.col("weight").sum()).rows()
    assert sums == [(P1, 100.0), (P2, 100.0)]


# ------------------------------------------------------------------ amounts in 万元

def test_budget_in_wan_from_label_header(split: Declaration) -> None:
    """It should read 项目资金（万元） as the amount unit and store 元, with amount_unit 万元."""
    row = split.projects.filter(pl.col("project_code") == P1).row(0, named=True)
    assert (row["budget"], row["fiscal_funds"], row["other_funds"], row["amount_unit"]) == (125000.0, 100000.0, 25000.0, "万元")


def test_budget_in_wan_from_note() -> None:
    """It should read （金额单位：万元） as the amount unit of the document."""
    decl = read_declared(DIRECTION, year=2025)
    assert decl.projects.select("budget", "fiscal_funds", "other_funds", "amount_unit").rows() == [(50000.0, 45000.0, 5000.0, "万元")]


def test_budget_in_wan_from_folder_headers() -> None:
    """It should read 预算数（万元） headers of a canonical table and store 元."""
    decl = quietly(read_declared, FOLDER)
    assert decl.projects.select("project_code", "budget", "fiscal_funds", "other_funds", "amount_unit").rows() == [
        (P1, 125000.0, 100000.0, 25000.0, "万元"), (P2, None, None, None, "万元")]


def test_canonical_amount_unit_is_provenance(tmp_path: Path, split: Declaration) -> None:
    """It should read back written canonical tables unchanged: amount_unit records, it does not convert."""
    from selfeval.ingest import write_declared

    write_declared(split, tmp_path, "csv")
    again = read_declared(tmp_path)
    assert again.projects.select("budget", "amount_unit").rows() == split.projects.select("budget", "amount_unit").rows()


AMOUNT_CASES = [(12.5, 125000.0), (12.3456, 123456.0), (0.01, 100.0), (1.23456789, 12345.68), (0.07, 700.0)]


@pytest.mark.parametrize(("wan", "yuan"), AMOUNT_CASES, ids=[str(c[0]) for c in AMOUNT_CASES])
def test_wan_to_yuan_is_exact_to_cents(wan: float, yuan: float) -> None:
    """It should convert 万元 to 元 exactly, rounded to cents (no binary noise)."""
    frame = in_yuan(pl.DataFrame({"budget": [wan]}), ["budget"], {"budget": "万元"})
    assert frame.rows() == [(yuan, "万元")]


def test_execution_in_wan_from_header() -> None:
    """It should store execution amounts under 全年执行数（万元） headers in 元, warning about 执行率."""
    with pytest.warns(InputWarning, match="执行率"):
        frame = read_execution(LAYOUTS / "execution_wan.csv")
    assert frame.select("project_code", "year_budget", "executed", "amount_unit").rows() == [(P1, 125000.0, 118000.0, "万元")]


def test_execution_in_wan_from_sheet_note(tmp_path: Path) -> None:
    """It should read 金额单位：万元 above the header row of an execution sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "预算执行"
    ws.append(["预算执行情况（金额单位：万元）"])
    ws.append(["项目编码", "预算数", "全年执行数", "6月底累计执行数"])
    ws.append([P1, 12.5, 11.8, 6.25])
    wb.save(tmp_path / "execution.xlsx")
    frame = read_execution(tmp_path / "execution.xlsx")
    assert frame.select("year_budget", "executed", "executed_by_jun", "amount_unit").rows() == [(125000.0, 118000.0, 62500.0, "万元")]


def test_lint_compares_cost_with_budget_in_yuan(split: Declaration) -> None:
    """It should not report a false COST_OVER_BUDGET when budgets are written in 万元 (≤10万元 within 12.5万元)."""
    assert lint(split).filter(pl.col("code") == "LINT_COST_OVER_BUDGET").is_empty()
    over = split.indicators.with_columns(
        pl.when(pl.col("target_text") == "≤10万元").then(pl.lit("≤15万元")).otherwise(pl.col("target_text")).alias("target_text"))
    found = lint(Declaration(split.units, split.projects, over)).filter(pl.col("code") == "LINT_COST_OVER_BUDGET")
    assert found.select("project_code", "seq").rows() == [(P1, 4)]


# ------------------------------------------------------------------ missing budgets and level-3 names

@pytest.mark.parametrize("source", [SPLIT, FOLDER], ids=["text", "folder"])
def test_missing_budget_and_level3_are_null_and_linted(source: Path) -> None:
    """It should keep a missing budget and a missing level-3 name null in both readers, and lint them."""
    decl = quietly(read_declared, source)
    p2 = decl.projects.filter(pl.col("project_code") == P2).row(0, named=True)
    assert (p2["budget"], p2["fiscal_funds"], p2["other_funds"]) == (None, None, None)
    assert decl.indicators.filter(pl.col("project_code") == P2)["level3"].to_list() == [None, "师生满意度"]
    findings = lint(decl)
    budget = findings.filter(pl.col("code") == "LINT_MISSING_BUDGET")
    assert budget.select("project_code", "severity", "column").rows() == [(P2, "warning", "budget")]
    level3 = findings.filter(pl.col("code") == "LINT_MISSING_LEVEL3")
    assert level3.select("project_code", "seq", "severity", "column").rows() == [(P2, 1, "warning", "level3")]
    assert findings.filter(pl.col("code") == "LINT_DUPLICATE_LEVEL3").is_empty()


def test_budget_from_sources_when_missing(tmp_path: Path) -> None:
    """It should take 财政资金 + 其他资金 as the budget when only they are given, in a folder as in a document."""
    decl = quietly(read_declared, FOLDER)
    from selfeval.ingest import write_declared

    write_declared(decl, tmp_path, "csv")
    projects = pl.read_csv(tmp_path / "projects.csv").with_columns(pl.lit(None, pl.Float64).alias("budget"))
    projects.write_csv(tmp_path / "projects.csv")
    again = read_declared(tmp_path)
    assert again.projects["budget"].to_list() == [125000.0, None]


# ------------------------------------------------------------------ LINT_PLAN_NOT_100

def test_plan_missing_once_per_unit(split: Declaration) -> None:
    """It should report projects without any spending plan once per unit, as info, not per project."""
    found = lint(split).filter(pl.col("code") == "LINT_PLAN_NOT_100")
    assert found.select("unit_code", "project_code", "severity", "value").rows() == [("530102", None, "info", "2")]
    assert "2 个项目" in found["message"].item()


def test_plan_declared_not_100_per_project() -> None:
    """It should keep the per-project warning when a plan is declared but does not reach 100."""
    found = lint(read_declared(DIRECTION, year=2025)).filter(pl.col("code") == "LINT_PLAN_NOT_100")
    assert found.select("project_code", "severity").rows() == [("62030125P0009", "warning")]


def test_plan_missing_mixed_unit(split: Declaration) -> None:
    """It should report one info for the unplanned projects of a unit and nothing for a complete plan."""
    projects = split.projects.with_columns(
        *[pl.when(pl.col("project_code") == P1).then(pl.lit(v)).otherwise(None).alias(c)
          for c, v in (("plan_mar", 25.0), ("plan_jun", 50.0), ("plan_oct", 75.0), ("plan_dec", 100.0))])
    found = lint(Declaration(split.units, projects, split.indicators)).filter(pl.col("code") == "LINT_PLAN_NOT_100")
    assert found.select("project_code", "severity", "value").rows() == [(None, "info", "1")]


# ------------------------------------------------------------------ actuals: 分值 and 得分

def test_actuals_weight_points_and_unit() -> None:
    """It should read 分值 → weight, 自评得分 → points, complete a bare actual with 度量单位, and warn about 完成率."""
    with pytest.warns(InputWarning, match="完成率"):
        frame = read_actuals(LAYOUTS / "actuals_scored.csv")
    assert frame.schema == schema.ACTUALS
    assert frame.select("seq", "actual_text", "weight", "points").rows() == [
        (1, "126人次", 20.0, 20.0), (2, "100%", 20.0, None), (7, "96%", 10.0, 9.5)]


@pytest.mark.parametrize("header", ["得分", "自评得分", "评分"])
def test_actuals_points_headers_xlsx(tmp_path: Path, header: str) -> None:
    """It should read the evaluator's score under 得分/自评得分/评分 and 分值 from a workbook."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["项目编码", "序号", "实际完成值", "分值", header])
    ws.append([P1, 1, "126人次", 20, 18.5])
    wb.save(tmp_path / "actuals.xlsx")
    assert read_actuals(tmp_path / "actuals.xlsx").select("weight", "points").rows() == [(20.0, 18.5)]


def test_template_round_trip_with_weight_and_points(tmp_path: Path, split: Declaration) -> None:
    """It should pre-fill 分值 with the declared weights and read 分值 and 自评得分（如需调整） back."""
    from selfeval.report.template import ACTUALS_SHEET, write_template

    path = write_template(split, tmp_path / "template.xlsx", generated_at=dt.datetime(2026, 1, 15))
    wb = openpyxl.load_workbook(path)
    ws = wb[ACTUALS_SHEET]
    col = {c.value: c.column for c in ws[1]}
    assert {"分值", "自评得分（如需调整）"} <= set(col)
    for row in range(2, ws.max_row + 1):
        ws.cell(row, col["实际完成值"]).value = "1"
    ws.cell(2, col["自评得分（如需调整）"]).value = 18
    ws.cell(3, col["分值"]).value = 25  # the evaluator may change a weight
    wb.save(path)
    frame = read_actuals(path)
    weights = split.indicators["weight"].to_list()
    weights[1] = 25.0
    assert frame["weight"].to_list() == weights
    assert frame["points"].to_list() == [18.0] + [None] * (len(weights) - 1)


# ------------------------------------------------------------------ unused columns, --year, CLI

def test_unused_indicator_header_is_a_warning() -> None:
    """It should warn (once per file) about an indicator-table column it does not read, never drop it silently."""
    with pytest.warns(InputWarning, match="备注") as record:
        read_declared(SPLIT)
    assert sum("备注" in str(w.message) for w in record) == 1
    assert record[0].message.problem.file == str(SPLIT)


def test_unused_folder_column_is_a_warning() -> None:
    """It should warn about 指标属性 in a canonical indicators table."""
    with pytest.warns(InputWarning, match="指标属性"):
        read_declared(FOLDER)


def test_year_required_then_given() -> None:
    """It should ask for --year when the document names none, and take it."""
    with pytest.raises(InputError, match="--year"):
        read_declared(DIRECTION)
    assert read_declared(DIRECTION, year=2024).units["year"].to_list() == [2024]


def _invoke(*args: str) -> Any:
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


@pytest.mark.parametrize("command", ["lint", "template", "parse"])
def test_year_option_declaration_commands(tmp_path: Path, command: str) -> None:
    """It should fail without --year (exit 2, naming --year) and accept --year on lint/template/parse."""
    extra = ["--out", str(tmp_path / "t.xlsx")] if command == "template" else []
    missing = _invoke(command, DIRECTION, *extra)
    assert missing.exit_code == 2 and "--year" in missing.output
    given = _invoke(command, DIRECTION, "--year", "2025", *extra)
    assert given.exit_code in (0, 1), given.output
    assert "--year" not in given.output


@pytest.mark.parametrize("command", ["score", "report"])
def test_year_option_scoring_commands(tmp_path: Path, command: str) -> None:
    """It should accept --year on score and report and score the declaration of that year."""
    args = [command, DIRECTION, "-a", LAYOUTS / "direction_actuals.csv", "-e", LAYOUTS / "direction_execution.csv"]
    extra = ["--out", str(tmp_path / "report.xlsx")] if command == "report" else ["--style", "json"]
    missing = _invoke(*args, *extra)
    assert missing.exit_code == 2 and "--year" in missing.output
    given = _invoke(*args, *extra, "--year", "2025")
    assert given.exit_code in (0, 1), given.output
    if command == "report":
        assert (tmp_path / "report.xlsx").is_file()
    else:
        assert '"year": 2025' in given.output


def test_cli_prints_input_warnings() -> None:
    """It should print each InputWarning as 注意 and still succeed."""
    result = _invoke("parse", SPLIT)
    assert result.exit_code == 0, result.output
    assert "注意" in result.output and "备注" in result.output
