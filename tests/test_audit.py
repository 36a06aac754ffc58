"""Auditing submitted self-evaluations (issue 14): each finding kind by a small hand-made submission.

Every expected number is computed by hand in `audit_fixtures.clean_form`'s docstring or beside the
case; the audit must report exactly the listed codes (no more: precision; no fewer: recall).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from audit_fixtures import CLEAN_TOTAL, changed, changed_indicator, clean_form

from selfeval.audit.api import audit
from selfeval.audit.forms_writer import write_docx, write_xlsx


def codes(result: Any) -> list[str]:
    return sorted(result.findings.get_column("code").to_list())


def _f(**kw: Any) -> dict[str, Any]:
    return changed(clean_form(), **kw)


def _i(index: int, total: float | None = None, grade: str | None = None, **kw: Any) -> dict[str, Any]:
    form = changed_indicator(clean_form(), index, **kw)
    if total is not None:
        form["total"] = total
    if grade is not None:
        form["grade"] = grade
    return form


# (id, submitted form, expected codes, {code: the rule's value as the finding states it})
CASES = [
    # 98 printed under parts adding up to 97 (25 + 22.5 + 30 + 10 + 9.5)
    ("total-not-sum", _f(total=98.0), ["AUDIT_TOTAL_RULE", "AUDIT_TOTAL_SUM"], {"AUDIT_TOTAL_SUM": "97"}),
    # 95% of ≥95% met, scored 17.5 of 25 with no reason; total 97 − 7.5 = 89.5 → 良 (consistent)
    ("met-deducted", _i(0, points=17.5, total=89.5, grade="良"), ["AUDIT_MET_DEDUCTED", "AUDIT_TOTAL_RULE"],
     {"AUDIT_MET_DEDUCTED": "25", "AUDIT_TOTAL_RULE": "97"}),
    # 满意度 scored 12 of its 10; total 99
    ("above-weight", _i(3, points=12, total=99.0), ["AUDIT_ABOVE_WEIGHT", "AUDIT_TOTAL_RULE"], {"AUDIT_ABOVE_WEIGHT": "10"}),
    # 分值 35 + 25 + 30 + 10 + 10 = 110; points as the 分值 give: 35 + 22.5 + 30 + 10 + 9.5 = 107
    ("weights-110", _i(0, weight=35, points=35, total=107.0), ["AUDIT_WEIGHTS_LEVEL1", "AUDIT_WEIGHTS_TOTAL"],
     {"AUDIT_WEIGHTS_TOTAL": "100", "AUDIT_WEIGHTS_LEVEL1": "50"}),
    # a rate of 0 printed on a project that spent 95,000 of 100,000
    ("rate-zero", _f(execution_rate=0.0), ["AUDIT_RATE"], {"AUDIT_RATE": "95%"}),
    # total 97 is 优, printed 良
    ("grade-band", _f(grade="良"), ["AUDIT_GRADE"], {"AUDIT_GRADE": "优"}),
    # 18 of ≥20 次 is 22.5, given the full 25; total 99.5
    ("unmet-full", _i(1, points=25, total=99.5), ["AUDIT_TOTAL_RULE", "AUDIT_UNMET_FULL"], {"AUDIT_UNMET_FULL": "22.5"}),
    # 部分达成 band 0.6–0.8 × 30 = 18–24, given 30 (reason given); the rule's default 0.7 × 30 = 21 → total 88
    ("tier-band", _i(2, actual="部分达成", reason="部分村庄未完成", points=30), ["AUDIT_TIER_BAND", "AUDIT_TOTAL_RULE"],
     {"AUDIT_TIER_BAND": "18–24", "AUDIT_TOTAL_RULE": "88"}),
    # 18 of ≥20 次 = 22.5, given 20 with no reason (the shortfall also needs one); total 94.5
    ("points-differ", _i(1, points=20, reason=None, total=94.5), ["AUDIT_POINTS", "AUDIT_TOTAL_RULE", "MISSING_REASON"],
     {"AUDIT_POINTS": "22.5"}),
    ("points-explained", _i(1, points=20, total=94.5), ["AUDIT_POINTS_EXPLAINED", "AUDIT_TOTAL_RULE"],
     {"AUDIT_POINTS_EXPLAINED": "22.5"}),
    # execution 95% × 10 = 9.5, printed 10; total 97.5
    ("execution-points", _f(execution_points=10, total=97.5), ["AUDIT_EXECUTION_POINTS", "AUDIT_TOTAL_RULE"],
     {"AUDIT_EXECUTION_POINTS": "9.5"}),
    # executed 105,000 of 100,000: rate 105%, points min(1.05, 1) × 10 = 10; total 25 + 22.5 + 30 + 10 + 10 = 97.5
    ("overspent", _f(executed=105000.0, execution_rate=1.05, execution_points=10, total=97.5), ["AUDIT_OVERSPENT"], {}),
    # 80,000 + 10,000 ≠ 100,000
    ("funds-parts", _f(other={"budget": 10000.0}), ["AUDIT_FUNDS_PARTS"], {}),
    ("missing-reason", _i(1, reason=None), ["MISSING_REASON"], {}),
    ("not-a-number", _i(0, points="二十五"), ["AUDIT_NOT_A_NUMBER"], {}),
    # no points printed for row 1: parts 72 → total 72 (中), the rule gives 97
    ("points-missing", _i(0, points=None, total=72.0, grade="中"), ["AUDIT_POINTS_MISSING", "AUDIT_TOTAL_RULE"],
     {"AUDIT_POINTS_MISSING": "25"}),
    # the level-1 label says 40 points, its 分值 add up to 25 + 25 = 50
    ("label-points", changed_indicator(changed_indicator(clean_form(), 0, level1="产出指标（40分）"), 1, level1="产出指标（40分）"),
     ["AUDIT_WEIGHTS_LEVEL1"], {}),
    # 部分达成 given 24 = 0.8 × 30, inside its band, with a reason: 25 + 22.5 + 24 + 10 + 9.5 = 91 → accepted
    ("tier-in-band", _i(2, actual="部分达成", reason="部分村庄未完成", points=24, total=91.0), [], {}),
    ("label-points-agree", changed_indicator(changed_indicator(clean_form(), 0, level1="产出指标（50分）"), 1,
                                             level1="产出指标（50分）"), [], {}),
]


@pytest.mark.parametrize(("form", "expected", "rule_values"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_error_class_is_flagged_exactly(tmp_path: Path, form: dict, expected: list[str], rule_values: dict) -> None:
    """It should report exactly the expected codes for a submission with one error, quoting the rule's value."""
    path = write_xlsx(tmp_path / "单位.xlsx", [clean_form("P0", "无误项目"), form])
    result = audit(path)
    assert codes(result) == sorted(expected)
    assert set(result.findings.get_column("project_code")) <= {form["project_code"]}
    for code, value in rule_values.items():
        assert result.findings.filter(pl.col("code") == code).get_column("expected").to_list() == [value]


@pytest.mark.parametrize(("layout", "amount_unit", "stacked"), [
    ("central", "元", False), ("central", "万元", False), ("provincial", "元", False), ("central", "元", True),
    ("provincial", "万元", True),
])
def test_clean_submissions_of_every_layout_have_no_finding(tmp_path: Path, layout: str, amount_unit: str, stacked: bool) -> None:
    """It should read every layout (元/万元, provincial split target, stacked) and find nothing in clean forms."""
    path = write_xlsx(tmp_path / "s.xlsx", [clean_form("P1", "一号"), clean_form("P2", "二号")], layout=layout,
                      amount_unit=amount_unit, stacked=stacked)
    result = audit(path)
    assert codes(result) == []
    summary = result.summary.sort("project_code")
    assert summary.get_column("claimed_total").to_list() == [CLEAN_TOTAL, CLEAN_TOTAL]
    assert summary.get_column("total").to_list() == [CLEAN_TOTAL, CLEAN_TOTAL]
    assert summary.get_column("grade").to_list() == ["优", "优"]
    assert result.projects.sort("project_code").get_column("year_budget").to_list() == [100000.0, 100000.0]


def test_finding_names_file_sheet_row_and_cell(tmp_path: Path) -> None:
    """It should locate a grade error at the 自评等级 cell: rows 1–13 header and funds, 14–17 indicators, 18 总分, 19 等级, column G."""
    path = write_xlsx(tmp_path / "单位.xlsx", [clean_form("P1", "一号"), changed(clean_form("P2", "二号"), grade="差")],
                      sheet_names=["一号", "二号"])
    found = audit(path).findings.row(0, named=True)
    assert (found["code"], found["file"], found["sheet"], found["row"], found["cell"], found["column"]) == (
        "AUDIT_GRADE", str(path), "二号", 19, "G19", "自评等级")
    assert found["value"] == "差"


def test_stacked_forms_locate_the_second_project(tmp_path: Path) -> None:
    """It should locate an error of the second of two forms stacked on one sheet below the first (19 rows + 3 blank)."""
    path = write_xlsx(tmp_path / "s.xlsx", [clean_form("P1", "一号"), changed(clean_form("P2", "二号"), grade="差")], stacked=True)
    found = audit(path).findings.row(0, named=True)
    assert (found["code"], found["project_code"], found["cell"]) == ("AUDIT_GRADE", "P2", "G41")


def test_docx_submission(tmp_path: Path) -> None:
    """It should audit a Word submission: clean tables pass, a wrong total is found at its table cell."""
    clean = audit(write_docx(tmp_path / "ok.docx", [clean_form("P1", "一号"), clean_form("P2", "二号")]))
    assert codes(clean) == []
    assert clean.summary.get_column("total").to_list() == [CLEAN_TOTAL, CLEAN_TOTAL]
    bad = audit(write_docx(tmp_path / "bad.docx", [changed(clean_form("P1", "一号"), total=98.0)]))
    assert codes(bad) == ["AUDIT_TOTAL_RULE", "AUDIT_TOTAL_SUM"]
    total = bad.findings.filter(pl.col("code") == "AUDIT_TOTAL_SUM").row(0, named=True)
    assert (total["sheet"], total["cell"]) == ("第 1 个表格", "第18行第7列")


def test_provincial_variant_with_an_error(tmp_path: Path) -> None:
    """It should combine 指标性质 | 指标值 | 度量单位 and still find a met target deducted."""
    form = _i(0, points=20, total=92.0)
    result = audit(write_xlsx(tmp_path / "p.xlsx", [form], layout="provincial", amount_unit="万元"))
    assert codes(result) == ["AUDIT_MET_DEDUCTED", "AUDIT_TOTAL_RULE"]


def test_folder_with_a_broken_file_audits_the_others(tmp_path: Path) -> None:
    """It should name a broken file and a file with no form, and audit the good ones."""
    folder = tmp_path / "county"
    folder.mkdir()
    write_xlsx(folder / "a.xlsx", [clean_form("PA", "甲")])
    write_xlsx(folder / "b.xlsx", [changed(clean_form("PB", "乙"), grade="中")])
    (folder / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    pl.DataFrame({"名称": ["x"], "数量": [1]}).write_excel(folder / "notes.xlsx")
    result = audit(folder)
    by_file = dict(result.files.select(pl.col("file").str.extract(r"([^/]+)$"), "status").iter_rows())
    assert by_file == {"a.xlsx": "已审核", "b.xlsx": "已审核", "broken.xlsx": "无法读取", "notes.xlsx": "无自评表"}
    assert codes(result) == ["AUDIT_GRADE", "AUDIT_NO_FORM", "AUDIT_UNREADABLE"]
    unreadable = result.findings.filter(pl.col("code") == "AUDIT_UNREADABLE").row(0, named=True)
    assert unreadable["file"].endswith("broken.xlsx") and "broken.xlsx" in unreadable["message"]
    assert result.summary.height == 2


def test_same_project_twice_counts_the_first(tmp_path: Path) -> None:
    """It should audit a project code submitted twice once (the first file) and name the copy."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_xlsx(folder / "1.xlsx", [clean_form("PX", "重复项目")])
    write_xlsx(folder / "2.xlsx", [changed(clean_form("PX", "重复项目"), total=50.0)])
    result = audit(folder)
    assert codes(result) == ["AUDIT_DUPLICATE_PROJECT"]
    dup = result.findings.row(0, named=True)
    assert dup["file"].endswith("2.xlsx") and str(folder / "1.xlsx") in dup["message"]
    assert result.summary.filter(~pl.col("duplicate")).get_column("total").to_list() == [CLEAN_TOTAL]


def test_year_is_read_from_the_form(tmp_path: Path) -> None:
    """It should read the year of `（2025年度）` so a deadline target `2025年12月` scores (met by `2025年11月`)."""
    form = changed_indicator(clean_form(), 3, level1="满意度指标", target="2025年12月", actual="2025年11月")
    result = audit(write_xlsx(tmp_path / "y.xlsx", [form]))
    assert codes(result) == []


def test_subtotal_row_is_named_not_dropped(tmp_path: Path) -> None:
    """It should read a 产出指标 subtotal row (分值 50, 得分 47.5, no indicator) as a subtotal, name it (row 16), and count nothing twice."""
    form = clean_form()
    form["indicators"].insert(2, {"level1": "产出指标", "level2": "小计", "level3": None, "target": None, "actual": None,
                                  "weight": 50, "points": 47.5, "reason": None})
    result = audit(write_xlsx(tmp_path / "s.xlsx", [form]))
    assert codes(result) == ["AUDIT_SUBTOTAL_ROW"]
    found = result.findings.row(0, named=True)
    assert (found["severity"], found["row"], found["cell"], found["value"]) == ("info", 16, "G16", "47.5")
    assert result.summary.get_column("total").to_list() == [CLEAN_TOTAL]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice converts the test workbook to .xls")
def test_xls_submission_read_through_calamine(tmp_path: Path) -> None:
    """It should read an Excel 97-2003 .xls (fastexcel/calamine, merged ranges not reported) and find its wrong grade."""
    write_xlsx(tmp_path / "s.xlsx", [clean_form("P1", "一号"), changed(clean_form("P2", "二号"), grade="中")], layout="provincial")
    subprocess.run(["soffice", "--headless", "--convert-to", "xls", "--outdir", str(tmp_path), str(tmp_path / "s.xlsx")],
                   check=True, capture_output=True, timeout=180)
    result = audit(tmp_path / "s.xls")
    assert codes(result) == ["AUDIT_GRADE"]
    assert result.summary.sort("project_code").get_column("total").to_list() == [CLEAN_TOTAL, CLEAN_TOTAL]
    # provincial: 12 rows of header and funds, 2 header rows, 4 indicators, 总分 at 19, 自评等级 at 20; 得分 is column J
    assert result.findings.row(0, named=True)["cell"] == "J20"


def test_docs_list_every_audit_kind() -> None:
    """It should document every audit finding kind (docs/audit.md) and no code that does not exist."""
    import re

    from selfeval.audit.kinds import AUDIT_KINDS, PIPELINE_CODES
    from selfeval.findings import CATALOGUE

    text = (Path(__file__).resolve().parents[1] / "docs" / "audit.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| (AUDIT_[A-Z_0-9]+) \|", text, flags=re.MULTILINE))
    assert listed == {k.code for k in AUDIT_KINDS}
    assert all(code in CATALOGUE for code in PIPELINE_CODES)
    for kind in AUDIT_KINDS:
        for check in kind.checks:
            from selfeval.findings import placeholders

            assert set(placeholders(kind.template_of(check.variant))) <= set(check.fields(None)), kind.code


def test_weights_total_is_located_at_the_printed_full_points(tmp_path: Path) -> None:
    """It should locate 分值 adding up to 110 at the 满分 printed under 分值 on the 总分 row (F18)."""
    result = audit(write_xlsx(tmp_path / "w.xlsx", [_i(0, weight=35, points=35, total=107.0)]))
    found = result.findings.filter(pl.col("code") == "AUDIT_WEIGHTS_TOTAL").row(0, named=True)
    assert (found["cell"], found["value"]) == ("F18", "110")


def test_same_project_name_in_two_units_is_not_a_duplicate(tmp_path: Path) -> None:
    """It should key a project without 项目编码 by its unit and name: two units' 村级组织运转经费 are two projects."""
    folder = tmp_path / "in"
    folder.mkdir()
    for unit in ("甲镇人民政府本级", "乙镇人民政府本级"):
        form = changed(clean_form(None, "村级组织运转经费", unit=unit), project_code=None)
        write_xlsx(folder / f"{unit}.xlsx", [form])
    result = audit(folder)
    assert codes(result) == []
    assert sorted(result.summary.get_column("unit_code").to_list()) == ["乙镇人民政府本级", "甲镇人民政府本级"]
    assert result.summary.get_column("total").to_list() == [CLEAN_TOTAL, CLEAN_TOTAL]


def _published_template(path: Path, total: float) -> Path:
    """The central template as published, built cell by cell: 附件 line, 项目资金（万元）, 其中：当年财政拨款, a
    绩效指标 column merged down the indicator rows, 满分 100 under 分值 on the 总分 row, no 项目编码, no 自评等级."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    rows = [
        ["附件2"],
        ["项目支出绩效自评表"],
        ["（2025年度）"],
        ["项目名称", "农村人居环境整治"],
        ["主管部门", "玉田县农业农村局", None, None, "实施单位", "玉田县农业农村局本级"],
        ["项目资金（万元）", None, "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"],
        [None, "年度资金总额", 10, 10, 9.5, 10, "95%", 9.5],
        [None, "其中：当年财政拨款", 10, 10, 9.5, "—", "—", "—"],
        [None, "上年结转资金", None, None, None, "—", "—", "—"],
        [None, "其他资金", None, None, None, "—", "—", "—"],
        ["年度总体目标", "预期目标", None, None, "实际完成情况"],
        [None, "完成整治任务", None, None, "已完成"],
        ["绩效指标", "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"],
        [None, "产出指标", "质量指标", "指标1：整治达标率", "≥95%", "95%", 25, 25, None],
        [None, None, "数量指标", "指标2：清理次数", "≥20次", "18次", 25, 22.5, "汛期顺延"],
        [None, "效益指标", "生态效益指标", "指标1：人居环境", "有效提升", "达成", 30, 30, None],
        [None, "满意度指标", "服务对象满意度指标", "指标1：群众满意度", "≥90%", "92%", 10, 10, None],
        ["总分", None, None, None, None, None, 100, total, None],
    ]
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            if value is not None:
                ws.cell(r, c, value)
    for ref in ("A2:I2", "A3:I3", "B4:I4", "B5:D5", "F5:I5", "A6:A10", "B11:D11", "E11:I11", "B12:D12", "E12:I12",
                "A11:A12", "A13:A17", "B14:B15", "A18:F18"):
        ws.merge_cells(ref)
    wb.save(path)
    return path


def test_published_central_template(tmp_path: Path) -> None:
    """It should read the published template (万元, 绩效指标 column, no code, no grade): clean = 97.00; 94 under parts of 93 flagged."""
    clean = audit(_published_template(tmp_path / "ok.xlsx", 97.0))
    assert codes(clean) == []
    row = clean.summary.row(0, named=True)
    assert (row["unit_code"], row["project_code"], row["total"], row["grade"]) == ("玉田县农业农村局本级", "农村人居环境整治", 97.0, "优")
    assert clean.projects.row(0, named=True)["year_budget"] == 100000.0  # 10 万元
    # the published error class: a total printed above the sum of its parts (98 under 25 + 22.5 + 30 + 10 + 9.5 = 97)
    wrong = audit(_published_template(tmp_path / "bad.xlsx", 98.0))
    assert codes(wrong) == ["AUDIT_TOTAL_RULE", "AUDIT_TOTAL_SUM"]
    found = wrong.findings.filter(pl.col("code") == "AUDIT_TOTAL_SUM").row(0, named=True)
    assert (found["cell"], found["value"], found["expected"]) == ("H18", "98", "97")


def test_formula_saved_without_result_is_named(tmp_path: Path) -> None:
    """It should name a 总分 and a 得分 written as formulas never calculated (G18, G14), not read them as blanks."""
    import openpyxl

    path = write_xlsx(tmp_path / "f.xlsx", [clean_form()], sheet_names=["表"])
    wb = openpyxl.load_workbook(path)
    wb["表"]["G18"] = "=SUM(G14:G17)+H7"
    wb["表"]["G14"] = "=25"
    wb.save(path)  # openpyxl keeps formulas without results, as a program writing the file would
    result = audit(path)
    assert codes(result) == ["AUDIT_FORMULA_UNCACHED", "AUDIT_FORMULA_UNCACHED"]
    assert sorted(result.findings.select("cell", "value").rows()) == [("G14", "=25"), ("G18", "=SUM(G14:G17)+H7")]


@pytest.mark.parametrize(("printed", "flagged"), [
    (0.9525, True),     # stored 95.25 % against 95 %: 0.25 points off, beyond 0.01
    (0.95004, False),   # stored 95.004 %: within 0.01 percentage point
    ("95.3%", True),    # typed to one decimal: allowed ± 0.05, off by 0.3
    ("95%", False),     # typed without decimals: 95 % is 95,000 / 100,000 exactly
    ("96%", True),      # typed without decimals: allowed ± 0.5, off by 1
])
def test_rate_tolerance_follows_what_was_stored(tmp_path: Path, printed: object, flagged: bool) -> None:
    """It should compare a rate stored as a number at the tolerance, and a rate typed as text within its last digit."""
    result = audit(write_xlsx(tmp_path / "r.xlsx", [_f(execution_rate=printed)]))
    assert codes(result) == (["AUDIT_RATE"] if flagged else [])


def test_zip_bomb_among_submissions_is_named_before_inflating(tmp_path: Path) -> None:
    """It should refuse a workbook whose sheet inflates 1000:1 (a "zip bomb") from its declared sizes, and audit the rest."""
    import zipfile

    folder = tmp_path / "in"
    folder.mkdir()
    write_xlsx(folder / "good.xlsx", [clean_form()])
    with zipfile.ZipFile(folder / "bomb.xlsx", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (8 * 2**20))  # 8 MiB of spaces, a few KiB packed
    result = audit(folder)
    assert codes(result) == ["AUDIT_UNREADABLE"]
    assert "压缩比" in result.findings.row(0, named=True)["message"]
    assert result.summary.get_column("total").to_list() == [CLEAN_TOTAL]


@pytest.mark.parametrize(("printed", "codes_expected"), [("优秀", []), (" 优 ", []), ("良好", ["AUDIT_GRADE"])])
def test_grade_in_full_words(tmp_path: Path, printed: str, codes_expected: list[str]) -> None:
    """It should read 优秀/良好 as 优/良 (97 is 优): 优秀 passes, 良好 is the wrong band."""
    assert codes(audit(write_xlsx(tmp_path / "g.xlsx", [_f(grade=printed)]))) == codes_expected


def test_amount_unit_in_the_funds_headers(tmp_path: Path) -> None:
    """It should read amounts in 万元 when only the funds headers say so (`全年预算数（万元）`): 10 万元 = 100,000 元."""
    import openpyxl

    path = write_xlsx(tmp_path / "w.xlsx", [clean_form()], amount_unit="万元", sheet_names=["表"])
    wb = openpyxl.load_workbook(path)
    ws = wb["表"]
    ws["A6"], ws["G3"] = "项目资金", "（单位见表头）"  # the block's own label and the note no longer name the unit
    for cell, header in (("C6", "年初预算数（万元）"), ("D6", "全年预算数（万元）"), ("E6", "全年执行数（万元）")):
        ws[cell] = header
    wb.save(path)
    result = audit(path)
    assert codes(result) == []
    assert result.projects.select("year_budget", "executed").row(0) == (100000.0, 95000.0)


@pytest.mark.parametrize(("label", "grade", "drop_total", "expected"), [
    ("自评等级", "优", True, []),         # no 总分 row: the grade row ends the table, never read as an indicator
    ("评价等级", "良", False, ["AUDIT_GRADE"]),  # a grade row labelled 评价等级 is read (97 is 优)
])
def test_grade_row_ends_the_indicator_table(tmp_path: Path, label: str, grade: str, drop_total: bool, expected: list[str]) -> None:
    """It should end the indicators at the grade row (总分 row missing or not), read the grade, and find nothing else."""
    import openpyxl

    path = write_xlsx(tmp_path / "g.xlsx", [_f(grade=grade)], sheet_names=["表"])
    wb = openpyxl.load_workbook(path)
    ws = wb["表"]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    ws.cell(rows["自评等级"], 1, label)
    if drop_total:
        ws.delete_rows(rows["总分"])
    wb.save(path)
    result = audit(path)
    assert codes(result) == expected
    assert result.summary.get_column("claimed_grade").to_list() == [grade]


def test_amounts_in_messages_are_in_the_unit_written(tmp_path: Path) -> None:
    """It should quote amounts of a form written in 万元 in 万元 (9.5万元 ÷ 10万元), as the cells print them, not in 元."""
    rate = audit(write_xlsx(tmp_path / "r.xlsx", [_f(execution_rate=0.0)], amount_unit="万元"))
    assert "全年执行数 9.5万元 ÷ 全年预算数 10万元 = 95%" in rate.findings.row(0, named=True)["message"]
    over = audit(write_xlsx(tmp_path / "o.xlsx", [_f(executed=105000.0, execution_rate=1.05, execution_points=10.0, total=97.5)],
                            amount_unit="万元"))
    found = over.findings.filter(pl.col("code") == "AUDIT_OVERSPENT").row(0, named=True)
    assert (found["value"], found["expected"]) == ("10.5万元", "10万元")
    assert "全年执行数 10.5万元 超过全年预算数 10万元" in found["message"]


@pytest.mark.parametrize("name", ["notes.txt", "renamed.docx"])
def test_one_unreadable_file_is_one_line_exit_2(tmp_path: Path, name: str) -> None:
    """It should answer one file that cannot be read (a .txt, a workbook renamed .docx) with one line naming it, exit 2."""
    from typer.testing import CliRunner

    from selfeval.cli import app

    path = tmp_path / name
    if name.endswith(".txt"):
        path.write_text("项目名称：x\n", encoding="utf-8")
    else:
        write_xlsx(path, [clean_form()])
    done = CliRunner().invoke(app, ["audit", str(path), "--out", str(tmp_path / "out")])
    assert done.exit_code == 2, done.output
    lines = [line for line in done.output.splitlines() if line.strip()]
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in done.output
    assert not (tmp_path / "out").exists()


def test_no_difference_shown_for_a_partial_recompute(tmp_path: Path) -> None:
    """It should leave 差额 empty when a row could not be scored (INVALID_TIER): 97 − 67 = 30 is not a discrepancy."""
    result = audit(write_xlsx(tmp_path / "p.xlsx", [_i(2, actual="效果显著")]))
    assert codes(result) == ["INVALID_TIER"]
    row = result.summary.row(0, named=True)
    assert (row["complete"], row["claimed_total"], row["difference"]) == (False, CLEAN_TOTAL, None)
