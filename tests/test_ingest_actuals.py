"""Readers of actual results and budget execution: csv, parquet and workbooks read as a person sees them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from selfeval import schema
from selfeval.errors import InputError
from selfeval.ingest import read_actuals, read_execution

ROOT = Path(__file__).resolve().parents[1]
ACTUALS = ROOT / "samples" / "actuals_sample.csv"
EXECUTION = ROOT / "samples" / "execution_sample.csv"

ACTUALS_HEADER = ["单位编码", "项目编码", "项目名称", "序号", "一级指标", "二级指标", "三级指标", "指标值",
                  "实际完成值", "偏差原因分析及改进措施", "定性评价档次", "档内得分比例"]
EXECUTION_HEADER = ["单位编码", "项目编码", "项目名称", "预算数", "全年预算数", "全年执行数",
                    "3月底累计执行数", "6月底累计执行数", "10月底累计执行数"]


def test_sample_actuals() -> None:
    """It should read the 45 sample actuals with `actual` as actual_text and no unit_code."""
    frame = read_actuals(ACTUALS)
    assert frame.schema == schema.ACTUALS
    assert frame.height == 45
    assert frame["unit_code"].null_count() == 45
    assert frame.group_by("project_code").len()["len"].to_list() == [9] * 5
    first = frame.row(0, named=True)
    assert (first["project_code"], first["seq"], first["actual_text"]) == ("13022925P00JXC419898U", 1, "20000元")
    row = frame.row(by_predicate=(pl.col("project_code") == "13022925P00016410007L") & (pl.col("seq") == 1), named=True)
    assert row["actual_text"] == "88%"
    assert row["deviation_reason"] is not None


def test_sample_execution() -> None:
    """It should read the 5 sample execution rows with amounts as numbers."""
    frame = read_execution(EXECUTION)
    assert frame.schema == schema.EXECUTION
    assert frame.select("project_code", "year_budget", "executed").rows() == [
        ("13022925P00JXC419898U", 20000.0, 19850.0),
        ("13022925P00JXC419591N", 89000.0, 89000.0),
        ("13022925P00016410007L", 20000.0, 19600.0),
        ("13022925P00JXC419899F", 30000.0, 27300.0),
        ("13022925P00JXC419896L", 20000.0, 19600.0),
    ]
    assert frame["executed_by_mar"].to_list() == [5200.0, 22250.0, 3000.0, 4500.0, 5000.0]


def test_parquet_equals_csv(tmp_path: Path) -> None:
    """It should read a parquet copy of the samples exactly like the csv."""
    for source, reader in ((ACTUALS, read_actuals), (EXECUTION, read_execution)):
        pl.read_csv(source).write_parquet(tmp_path / "x.parquet")  # typed columns: seq int, amounts float
        assert_frame_equal(reader(tmp_path / "x.parquet"), reader(source))


# (cell value, number format, expected actual_text): how a typed cell reads back.
CELL_CASES = [
    (96, "General", "96"),
    ("96%", "General", "96%"),
    (0.96, "0%", "96%"),
    (0.955, "0.0%", "95.5%"),
    (dt.datetime(2025, 6, 30), "yyyy-mm-dd", "2025-06-30"),
    (19600.0, "General", "19600"),
    (19600.5, "#,##0.00", "19600.5"),
    ("  2025年12月  ", "@", "2025年12月"),
    (None, "General", None),
]


def _template(path: Path, cells: list[tuple[object, str]], *, extra_sheet_first: bool = True) -> Path:
    wb = openpyxl.Workbook()
    if extra_sheet_first:
        wb.active.title = "说明"
        wb.active.append(["填写说明"])
        ws = wb.create_sheet("实际完成值")
    else:
        ws = wb.active
        ws.title = "Sheet1"
    ws.append(ACTUALS_HEADER + ["备注"])
    for i, (value, fmt) in enumerate(cells, start=1):
        ws.append(["480001", "P1", "项目", i, "产出指标", "数量指标", f"指标{i}", "≥95%", value, None, None, None, "x"])
        ws.cell(row=i + 1, column=9).number_format = fmt
    ws.append([None] * 12)  # a blank row at the end
    ex = wb.create_sheet("预算执行")
    ex.append(EXECUTION_HEADER)
    ex.append(["480001", "P1", "项目", 20000, "20,000.00", "19,850.00", 5200, "10400", None])
    path = path / "filled.xlsx"
    wb.save(path)
    return path


def test_template_cells_read_as_seen(tmp_path: Path) -> None:
    """It should read typed, percent-formatted, date and text cells of 实际完成值 as a person sees them."""
    path = _template(tmp_path, [(v, f) for v, f, _ in CELL_CASES])
    frame = read_actuals(path)
    assert frame.schema == schema.ACTUALS
    assert frame["actual_text"].to_list() == [expected for _, _, expected in CELL_CASES]
    assert frame["seq"].to_list() == list(range(1, len(CELL_CASES) + 1))
    assert frame["unit_code"].unique().to_list() == ["480001"]
    assert frame["level3"][0] == "指标1"


def test_template_execution(tmp_path: Path) -> None:
    """It should read 预算执行 with amounts typed as numbers or as text with thousands separators."""
    frame = read_execution(_template(tmp_path, [(96, "General")]))
    assert frame.schema == schema.EXECUTION
    kept = ["unit_code", "project_code", "year_budget", "executed", "executed_by_mar", "executed_by_jun", "executed_by_oct",
            "amount_unit"]
    assert frame.select(kept).rows() == [("480001", "P1", 20000.0, 19850.0, 5200.0, 10400.0, None, "元")]
    # months the template does not have stay empty, never 0
    assert frame.drop(kept).null_count().row(0) == (1,) * (frame.width - len(kept))


def test_first_sheet_when_unnamed(tmp_path: Path) -> None:
    """It should use the first sheet when no sheet is named 实际完成值."""
    frame = read_actuals(_template(tmp_path, [(0.5, "0%")], extra_sheet_first=False))
    assert frame["actual_text"].to_list() == ["50%"]


def test_named_sheet_missing(tmp_path: Path) -> None:
    """It should name the sheets that exist when the requested sheet is missing."""
    path = _template(tmp_path, [(1, "General")])
    with pytest.raises(InputError) as err:
        read_actuals(path, sheet="不存在")
    message = str(err.value)
    assert str(path) in message and "实际完成值" in message and "预算执行" in message


def test_tier_and_fraction(tmp_path: Path) -> None:
    """It should read the qualitative tier and an in-band fraction given as 0.7, 70% text or a percent cell."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["项目编码", "序号", "实际完成值", "定性评价档次", "档内得分比例"])
    ws.append(["P1", 1, "达成", "达成", 0.9])
    ws.append(["P1", 2, "部分达成", "部分达成", "70%"])
    ws.append(["P1", 3, "未达成", "未达成", 0.3])
    ws.cell(row=4, column=5).number_format = "0%"
    wb.save(tmp_path / "t.xlsx")
    frame = read_actuals(tmp_path / "t.xlsx")
    assert frame.select("tier", "fraction").rows() == [("达成", 0.9), ("部分达成", 0.7), ("未达成", 0.3)]


def test_execution_budget_fallback(tmp_path: Path) -> None:
    """It should take 预算数 as the year budget when there is no 全年预算数 column."""
    path = tmp_path / "e.csv"
    path.write_text("项目编码,预算数,全年执行数\nP1,\"1,000\",900\n", encoding="utf-8")
    assert read_execution(path).select("project_code", "year_budget", "executed").rows() == [("P1", 1000.0, 900.0)]


def test_month_end_spending_headers(tmp_path: Path) -> None:
    """It should read 4月底累计支出 / 8月末执行数 / 1月底累计执行数 into the month's spending column, in 万元 too."""
    path = tmp_path / "execution.csv"
    path.write_text("项目编码,全年预算数（万元）,全年执行数（万元）,4月底累计支出（万元）,8月末执行数（万元）,1月底累计执行数（万元）\n"
                    "P1,2,1.9,0.5,1.2,0.1\n", encoding="utf-8")
    row = read_execution(path).row(0, named=True)
    assert (row["executed_by_apr"], row["executed_by_aug"], row["executed_by_jan"]) == (5000.0, 12000.0, 1000.0)
    assert (row["year_budget"], row["executed"], row["amount_unit"]) == (20000.0, 19000.0, "万元")


def test_month_end_headers_not_read_are_warned(tmp_path: Path) -> None:
    """It should warn of an execution column headed by a month end that is not read as that month's spending
    (4月底支出, 截至8月底累计支出) — with or without a declaration — instead of dropping its numbers without a
    word, and read 8月末支出数 like 8月底支出数."""
    from selfeval import score
    from selfeval.errors import InputWarning

    path = tmp_path / "execution.csv"
    path.write_text("项目编码,全年预算数,全年执行数,4月底支出,截至8月底累计支出,8月末支出数,10月底累计支出\n"
                    "13022925P00JXC419898U,20000,19850,4000,9000,12000,16000\n", encoding="utf-8")
    with pytest.warns(InputWarning) as caught:
        row = read_execution(path).row(0, named=True)
    assert (row["executed_by_aug"], row["executed_by_oct"], row["executed_by_apr"]) == (12000.0, 16000.0, None)
    assert sorted(str(w.message).split("，列 ")[1].split("：")[0] for w in caught) == ["4月底支出", "截至8月底累计支出"]
    with pytest.warns(InputWarning):  # the declaration's own path (reading with the declared codes) warns too
        result = score(ROOT / "samples" / "seed_targets_2025.txt", ACTUALS, path)
    notes = result.findings.filter(pl.col("code") == "INPUT_NOTE")["message"].to_list()
    assert sum("表头未识别为月底累计支出" in n for n in notes) == 2, notes


def test_cells_stating_their_own_unit_under_a_wan_header(tmp_path: Path) -> None:
    """It should read `95万` and `40元` in a `执行数（万元）` column as 95万 and 40 元 — never scaled twice."""
    path = tmp_path / "execution.csv"
    path.write_text("项目编码,全年预算（万元）,执行数（万元）,4月底累计支出（万元）\n"
                    "P1,100,95万,20万\nP2,30,30万元,7.5\nP3,0.01,40元,1元\n", encoding="utf-8")
    frame = read_execution(path)
    assert frame.select("year_budget", "executed", "executed_by_apr").rows() == [
        (1000000.0, 950000.0, 200000.0), (300000.0, 300000.0, 75000.0), (100.0, 40.0, 1.0)]
