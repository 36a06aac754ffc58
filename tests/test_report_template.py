"""The fill-in template: structure, protection, validation, and the filled round trip."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from report_fixtures import make_result
from selfeval.ingest import read_actuals, read_declared, read_execution
from selfeval.report.template import ACTUALS_SHEET, EXECUTION_SHEET, HELP_SHEET, write_template
from selfeval.schema import LABELS

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "seed_targets_2025.txt"
ACTUALS = ROOT / "samples" / "actuals_sample.csv"
EXECUTION = ROOT / "samples" / "execution_sample.csv"

ACTUAL_HEADERS = ["单位编码", "项目编码", "项目名称", "序号", "一级指标", "二级指标", "三级指标", "指标值",
                  "实际完成值", "偏差原因分析及改进措施", "定性评价档次", "档内得分比例", "分值", "自评得分（如需调整）"]
EXECUTION_HEADERS = ["单位编码", "项目编码", "项目名称", "预算数", "全年预算数", "全年执行数",
                     "3月底累计执行数", "6月底累计执行数", "10月底累计执行数"]
FILL_IN = {"实际完成值", "偏差原因分析及改进措施", "定性评价档次", "档内得分比例", "分值", "自评得分（如需调整）"}


@pytest.fixture(scope="module")
def seed_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.xlsx"
    return write_template(read_declared(SEED), path, generated_at=dt.datetime(2026, 1, 15))


def _headers(ws) -> list[str]:
    return [c.value for c in ws[1]]


def test_template_sheets_and_headers(seed_template: Path) -> None:
    """It should hold 填写说明, 实际完成值 (45 rows) and 预算执行 (5 rows) with Chinese headers."""
    wb = openpyxl.load_workbook(seed_template)
    assert set(wb.sheetnames) == {HELP_SHEET, ACTUALS_SHEET, EXECUTION_SHEET}
    actuals, execution = wb[ACTUALS_SHEET], wb[EXECUTION_SHEET]
    assert _headers(actuals) == ACTUAL_HEADERS
    assert _headers(execution) == EXECUTION_HEADERS
    assert actuals.max_row == 1 + 45
    assert execution.max_row == 1 + 5
    assert all(h in LABELS.values() for h in ACTUAL_HEADERS + EXECUTION_HEADERS if h != "自评得分（如需调整）")


def test_template_locks_declared_and_unlocks_fill_in_columns(seed_template: Path) -> None:
    """It should protect the sheets, lock the declared columns and unlock the columns to fill."""
    wb = openpyxl.load_workbook(seed_template)
    ws = wb[ACTUALS_SHEET]
    assert ws.protection.sheet and not ws.protection.password
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref is not None
    for col, header in enumerate(ACTUAL_HEADERS, start=1):
        cell = ws.cell(2, col)
        assert cell.protection.locked == (header not in FILL_IN), header
        if header in FILL_IN:
            assert cell.fill.fgColor.rgb not in (None, "00000000")
    ex = wb[EXECUTION_SHEET]
    assert ex.protection.sheet
    for col, header in enumerate(EXECUTION_HEADERS, start=1):
        assert ex.cell(2, col).protection.locked == (header in {"单位编码", "项目编码", "项目名称", "预算数"}), header
    # 全年预算数 prefilled with the budget
    assert [ex.cell(r, 5).value for r in range(2, 7)] == [ex.cell(r, 4).value for r in range(2, 7)]
    assert sorted(ex.cell(r, 4).value for r in range(2, 7)) == [20000, 20000, 20000, 30000, 89000]


def test_template_validations(seed_template: Path) -> None:
    """It should offer the rule tiers as a drop-down and limit 档内得分比例 to 0–1 and amounts to ≥ 0."""
    wb = openpyxl.load_workbook(seed_template)
    rules = {(dv.type, str(dv.sqref)): dv for dv in wb[ACTUALS_SHEET].data_validations.dataValidation}
    lists = [dv for (kind, _), dv in rules.items() if kind == "list"]
    assert len(lists) == 1 and lists[0].formula1 == '"达成,部分达成,未达成"'
    assert str(lists[0].sqref) == "K2:K46"
    decimals = {str(dv.sqref): dv for (kind, _), dv in rules.items() if kind == "decimal"}
    assert set(decimals) == {"L2:L46", "M2:M46", "N2:N46"}  # 档内得分比例, 分值, 自评得分
    assert (decimals["L2:L46"].formula1, decimals["L2:L46"].formula2) == ("0", "1")
    assert (decimals["M2:M46"].formula1, decimals["M2:M46"].formula2) == ("0", "100")
    ex_rules = [dv for dv in wb[EXECUTION_SHEET].data_validations.dataValidation if dv.type == "decimal"]
    assert len(ex_rules) == 1 and ex_rules[0].operator == "greaterThanOrEqual" and str(ex_rules[0].sqref) == "E2:I6"


def test_template_hostile_text_stays_text(tmp_path: Path) -> None:
    """It should write formula-looking declared text as text cells."""
    hostile = '=HYPERLINK("http://x","y")'
    result = make_result([hostile, "-1+2"], level3_prefix="@")
    path = write_template(result.declaration, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path)[ACTUALS_SHEET]
    names = {ws.cell(r, 3).value for r in range(2, ws.max_row + 1)}
    assert names == {hostile, "-1+2"}
    for r in range(2, ws.max_row + 1):
        assert ws.cell(r, 3).data_type == "s"
        assert ws.cell(r, 7).value.startswith("@") and ws.cell(r, 7).data_type == "s"


def _typed_like_a_user(text: str | None, n: int) -> tuple[object, str | None]:
    """A value as a person would type it in Excel: percents as 96, as 0.96 formatted %, or as text."""
    if text is None:
        return None, None
    if text.endswith("%"):
        number = float(text[:-1])
        kind = n % 3
        if kind == 0:
            return int(number) if number.is_integer() else number, None  # 96 in a % row
        if kind == 1:
            return number / 100, "0%"  # 0.96 shown as 96%
        return text, None  # the text "96%"
    if text == "2025年12月":
        return dt.datetime(2025, 12, 20), "yyyy-mm-dd"  # a date typed as an Excel date
    return text, None  # 1.96万元, 36次, 2025年, 3个月 … as text


def fill_template(template: Path, target: Path) -> Path:
    """Fill the template from the CSV samples with openpyxl, the way a user types."""
    wb = openpyxl.load_workbook(template)
    ws = wb[ACTUALS_SHEET]
    col = {h: i for i, h in enumerate(_headers(ws), start=1)}
    actuals = pl.read_csv(ACTUALS, infer_schema_length=0)
    by_key = {(r["project_code"], int(r["seq"])): r for r in actuals.iter_rows(named=True)}
    for n, row in enumerate(range(2, ws.max_row + 1)):
        sample = by_key[(ws.cell(row, col["项目编码"]).value, ws.cell(row, col["序号"]).value)]
        value, number_format = _typed_like_a_user(sample["actual"], n)
        cell = ws.cell(row, col["实际完成值"])
        cell.value = value
        if number_format:
            cell.number_format = number_format
        if sample["deviation_reason"]:
            ws.cell(row, col["偏差原因分析及改进措施"]).value = sample["deviation_reason"]
    ex = wb[EXECUTION_SHEET]
    ecol = {h: i for i, h in enumerate(_headers(ex), start=1)}
    execution = {r["project_code"]: r for r in pl.read_csv(EXECUTION).iter_rows(named=True)}
    fields = {"全年预算数": "year_budget", "全年执行数": "executed", "3月底累计执行数": "executed_by_mar",
              "6月底累计执行数": "executed_by_jun", "10月底累计执行数": "executed_by_oct"}
    for row in range(2, ex.max_row + 1):
        sample = execution[ex.cell(row, ecol["项目编码"]).value]
        for header, field in fields.items():
            ex.cell(row, ecol[header]).value = sample[field]  # amounts typed as numbers
    wb.save(target)
    return target


SCORE_COLUMNS = ["unit_code", "project_code", "indicator_id", "seq", "level1_group", "target_op", "target_value",
                 "actual_value", "ratio", "weight", "fraction", "points", "status"]


def test_filled_template_scores_like_the_csv_samples(seed_template: Path, tmp_path: Path) -> None:
    """It should read a filled template back and score it exactly as the CSV samples."""
    from selfeval.api import score

    filled = fill_template(seed_template, tmp_path / "filled.xlsx")
    declared = read_declared(SEED)
    from_template = score(declared, read_actuals(filled), read_execution(filled))
    from_csv = score(declared, read_actuals(ACTUALS), read_execution(EXECUTION))
    assert_frame_equal(from_template.project_scores, from_csv.project_scores)
    assert_frame_equal(from_template.unit_scores, from_csv.unit_scores)
    assert_frame_equal(
        from_template.indicator_scores.select(SCORE_COLUMNS), from_csv.indicator_scores.select(SCORE_COLUMNS)
    )
    assert_frame_equal(
        from_template.findings.select("code", "project_code", "seq"), from_csv.findings.select("code", "project_code", "seq")
    )
    assert from_template.project_scores.get_column("total").to_list() == from_csv.project_scores.get_column("total").to_list()


def test_template_has_the_rules_checkpoint_months(tmp_path: Path) -> None:
    """It should add a 4月底/8月底 column when the rule draws a line there, and read them back as spending."""
    from selfeval.rules.loader import rules_from_mapping

    rules = rules_from_mapping({"name": "m", "execution": {"schedule": {"thresholds": {"4月底": 25, "aug": 60}}}})
    path = write_template(read_declared(SEED), tmp_path / "t.xlsx", rules=rules, generated_at=dt.datetime(2026, 1, 15))
    wb = openpyxl.load_workbook(path)
    ws = wb[EXECUTION_SHEET]
    headers = _headers(ws)
    assert headers[6:] == ["3月底累计执行数", "4月底累计执行数", "6月底累计执行数", "8月底累计执行数", "10月底累计执行数"]
    assert "3月底、4月底、6月底、8月底、10月底累计执行数" in " ".join(str(c.value) for c in wb[HELP_SHEET]["A"])
    ws.cell(row=2, column=headers.index("4月底累计执行数") + 1, value=1234.5)
    wb.save(path)
    read = read_execution(path)
    assert read["executed_by_apr"].to_list()[0] == 1234.5
    assert read["executed_by_aug"].null_count() == read.height
