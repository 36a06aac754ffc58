"""The self-evaluation workbook, written from a hand-built Result and read back with openpyxl."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from report_fixtures import (
    FIXED_SHEETS,
    GENERATED_AT,
    cells_right_of,
    findings_table_rows,
    make_result,
    number_right_of,
    project_code_of,
    project_sheets,
    summary_rows,
)
from selfeval.report import ReportError, write_workbook, write_workbooks

HOSTILE = '=HYPERLINK("http://x","y")'


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    path = write_workbook(make_result(), tmp_path_factory.mktemp("wb") / "自评表.xlsx", generated_at=GENERATED_AT)
    return openpyxl.load_workbook(path)


def test_sheets_in_order(workbook: openpyxl.Workbook) -> None:
    """It should write 汇总, one sheet per project, 部门整体, 问题清单, 计算说明, 计算明细."""
    assert workbook.sheetnames == ["汇总", "1.河渠清理及河长制", "2.乡镇人大工作站", "部门整体", "问题清单", "计算说明", "计算明细"]
    assert workbook.active.title == "汇总"


def test_project_sheet_official_layout(workbook: openpyxl.Workbook) -> None:
    """It should lay a project sheet out as the official 项目支出绩效自评表 with numbers as numbers."""
    ws = workbook["1.河渠清理及河长制"]
    texts = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert {"项目支出绩效自评表", "（2025年度）", "项目名称", "主管部门", "实施单位", "项目资金（元）", "年初预算数",
            "全年预算数", "全年执行数", "分值", "执行率", "得分", "年度总体目标", "预期目标", "实际完成情况", "一级指标",
            "二级指标", "三级指标", "年度指标值", "实际完成值", "偏差原因分析及改进措施", "总分", "自评等级"} <= texts
    assert cells_right_of(ws, "项目名称")[0] == "河渠清理及河长制"
    assert cells_right_of(ws, "实施单位")[0] == "玉田县石臼窝镇人民政府本级"
    assert cells_right_of(ws, "年度资金总额") == [20000, 20000, 19600, 10, 0.98, 9.8]
    assert number_right_of(ws, "总分") == 83.92
    assert cells_right_of(ws, "自评等级")[0] == "良"
    assert project_code_of(ws) == "480001P0001"
    assert ws.cell(*_find(ws, "总分")).offset(0, 6).value == 83.92  # in the 得分 column (G)


def _find(ws, label: str) -> tuple[int, int]:
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == label:
                return cell.row, cell.column
    raise AssertionError(label)


def test_project_sheet_merges_level1_and_level2(workbook: openpyxl.Workbook) -> None:
    """It should merge consecutive equal 一级指标 cells (and 二级 within them)."""
    ws = workbook["1.河渠清理及河长制"]
    head_row, _ = _find(ws, "一级指标")
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert f"A{head_row + 1}:A{head_row + 2}" in merged  # 产出指标 over two rows
    assert f"A{head_row + 3}:A{head_row + 4}" in merged  # 效益指标
    assert f"B{head_row + 3}:B{head_row + 4}" in merged  # 社会效益指标 twice in a row
    assert ws.cell(head_row + 4, 7).value == "未评分"  # the unscorable row has no points


def test_project_sheet_print_setup(workbook: openpyxl.Workbook) -> None:
    """It should print on A4, one page wide, repeating the indicator header, with a CJK font and borders."""
    ws = workbook["1.河渠清理及河长制"]
    assert ws.page_setup.paperSize == 9
    assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0  # omitted = 1 (Excel default)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    head_row, _ = _find(ws, "一级指标")
    assert ws.print_title_rows.replace("$", "") == f"{head_row}:{head_row}"
    cell = ws.cell(head_row + 1, 3)
    assert cell.font.name == "宋体" and cell.alignment.wrap_text and cell.border.left.style == "thin"
    assert ws["A1"].font.name == "黑体"
    assert ws.column_dimensions["H"].width > ws.column_dimensions["F"].width


def test_summary_sheet(workbook: openpyxl.Workbook) -> None:
    """It should list every project and the department row, numbers as numbers, grade coloured, with a chart."""
    ws = workbook["汇总"]
    rows = summary_rows(ws)
    assert [r["项目编码"] for r in rows] == ["480001P0001", "480001P0002", "部门整体"]
    dept = rows[-1]
    assert (dept["总分"], dept["自评等级"], dept["项目名称"]) == (83.92, "良", "玉田县石臼窝镇人民政府本级")
    assert isinstance(rows[0]["预算数"], (int, float)) and isinstance(rows[0]["执行率"], float)
    assert rows[0]["是否完整"] == "否"
    grade_cell = next(c for row in ws.iter_rows() for c in row if c.value == "良")
    assert grade_cell.fill.fgColor.rgb.endswith("DDEBF7")
    assert len(ws._charts) == 1
    rate_cell = next(c for row in ws.iter_rows() for c in row if c.value == 0.98)
    assert rate_cell.number_format == "0.00%"


def test_department_sheet(workbook: openpyxl.Workbook) -> None:
    """It should show the department score and grade and the goals of part 1."""
    ws = workbook["部门整体"]
    assert number_right_of(ws, "总分") == 83.92
    assert cells_right_of(ws, "自评等级")[0] == "良"
    texts = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert "做好农业、农村、农民工作。" in texts
    assert "党组织建设及党员教育管理" in texts
    assert any("完善制度建设" in t for t in texts)


def test_findings_sheet_is_a_filterable_table(workbook: openpyxl.Workbook) -> None:
    """It should list every finding in an Excel table with Chinese severity and names."""
    ws = workbook["问题清单"]
    assert findings_table_rows(ws) == 4
    (table,) = ws.tables.values()
    assert table.autoFilter is not None
    values = [c.value for row in ws.iter_rows() for c in row]
    assert values.count("错误") == 2 and values.count("警告") == 2
    assert "缺少实际完成值" in values and "支出进度滞后" in values
    assert "实际完成值" in values  # the column named by its label


def test_method_sheet(workbook: openpyxl.Workbook) -> None:
    """It should record the rule set with its hash, the inputs with theirs, the version and time."""
    ws = workbook["计算说明"]
    assert cells_right_of(ws, "规则集")[0] == "mof-2020"
    assert len(cells_right_of(ws, "SHA-256")[0]) == 64
    assert cells_right_of(ws, "绩效目标表") == ["fixture.txt", "0" * 64]
    assert cells_right_of(ws, "selfeval 版本")[0] == "0.1.0"
    assert cells_right_of(ws, "生成时间")[0] == "2026-01-15 09:30:00"
    assert cells_right_of(ws, "权重·产出指标")[0] == "50"


def test_document_created_date_is_fixed(tmp_path: Path) -> None:
    """It should stamp the given time as the created date and write byte-identical files."""
    result = make_result()
    a = write_workbook(result, tmp_path / "a.xlsx", generated_at=GENERATED_AT)
    b = write_workbook(result, tmp_path / "b.xlsx", generated_at=GENERATED_AT)
    assert a.read_bytes() == b.read_bytes()
    assert openpyxl.load_workbook(a).properties.created == GENERATED_AT


def test_source_date_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should take the time from SOURCE_DATE_EPOCH when none is given."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01 00:00 UTC
    path = write_workbook(make_result(), tmp_path / "a.xlsx")
    assert openpyxl.load_workbook(path).properties.created == dt.datetime(2026, 1, 1)


def test_hostile_names(tmp_path: Path) -> None:
    """It should survive formula-looking names, 200-char names and names equal after truncation."""
    long_a = "关于" + "很长的项目名称" * 28 + "甲"
    long_b = "关于" + "很长的项目名称" * 28 + "乙"
    names = [HOSTILE, long_a, long_b, "+cmd|' /C calc'!A0", "汇总", "a/b:c*d?[e]"]
    result = make_result(names, level3_prefix="=1+")
    path = write_workbook(result, tmp_path / "hostile.xlsx", generated_at=GENERATED_AT)
    wb = openpyxl.load_workbook(path)
    assert len(wb.sheetnames) == len(set(n.casefold() for n in wb.sheetnames)) == len(FIXED_SHEETS) + len(names)
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in wb.sheetnames)
    sheets = project_sheets(wb)
    assert len(sheets) == len(names)
    written_names = []
    for ws in sheets:
        cell = next(c for row in ws.iter_rows() for c in row if c.value == "项目名称")
        name_cell = ws.cell(cell.row, cell.column + 2)
        assert name_cell.data_type == "s"
        written_names.append(name_cell.value)
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@")):
                    assert c.data_type == "s", (ws.title, c.coordinate, c.value)
        assert any(c.value == "=1+整治河渠环境达标率" and c.data_type == "s" for row in ws.iter_rows() for c in row)
    assert written_names == names  # full names in the cells, only sheet names are shortened
    summary = wb["汇总"]
    for row in summary.iter_rows():
        for c in row:
            if isinstance(c.value, str) and c.value.startswith("="):
                assert c.data_type == "s"
    assert len(project_sheets(wb)[1].title) == 31 and project_sheets(wb)[1].title != project_sheets(wb)[2].title
    # no formula anywhere: openpyxl would report data_type 'f'
    for ws in wb.worksheets:
        assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row), ws.title


def test_several_units_need_a_choice(tmp_path: Path) -> None:
    """It should refuse to guess the unit, write the chosen one, or one workbook per unit."""
    result = make_result(units=[("480001", "甲镇"), ("480002", "乙/镇")])
    with pytest.raises(ReportError, match="unit_code"):
        write_workbook(result, tmp_path / "x.xlsx")
    with pytest.raises(ReportError, match="480009"):
        write_workbook(result, tmp_path / "x.xlsx", unit_code="480009")
    assert not (tmp_path / "x.xlsx").exists()
    path = write_workbook(result, tmp_path / "b.xlsx", unit_code="480002")
    wb = openpyxl.load_workbook(path)
    assert summary_rows(wb["汇总"])[-1]["项目名称"] == "乙/镇"
    assert all(project_code_of(ws).startswith("480002") for ws in project_sheets(wb))
    paths = write_workbooks(result, tmp_path / "all")
    assert [p.name for p in paths] == ["自评表_480001.xlsx", "自评表_480002.xlsx"]
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["自评表_480001.xlsx", "自评表_480002.xlsx"]


def test_no_temp_files_left(tmp_path: Path) -> None:
    """It should leave only the workbook in the folder."""
    write_workbook(make_result(), tmp_path / "a.xlsx", generated_at=GENERATED_AT)
    assert [p.name for p in tmp_path.iterdir()] == ["a.xlsx"]


def test_huge_text_keeps_rows_within_excel_limits(tmp_path: Path) -> None:
    """It should cap row heights at Excel's 409 points however long a text is."""
    result = make_result(["长" * 5000])
    path = write_workbook(result, tmp_path / "big.xlsx", generated_at=GENERATED_AT)
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        assert all((dim.height or 0) <= 409 for dim in ws.row_dimensions.values()), ws.title
