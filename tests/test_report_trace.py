"""Score traces in the workbook (issue 13): a comment on every 得分 with formula, inputs, clause and source;
计算说明 lists the profile's sources; LibreOffice reads the comments."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

import selfeval
from selfeval.report.excel import write_workbook

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "seed_targets_2025.txt"
ACTUALS = ROOT / "samples" / "actuals_sample.csv"
EXECUTION = ROOT / "samples" / "execution_sample.csv"
RIVER = "13022925P00016410007L"  # 河渠清理及河长制: 达标率 88% vs ≥90% → 12.22 (SPEC.md §5.7)


def _workbook(tmp_path: Path, rules: str) -> Path:
    result = selfeval.score(SEED, ACTUALS, EXECUTION, rules)
    return write_workbook(result, tmp_path / f"{rules}.xlsx")


def _score_cells(path: Path) -> dict[str, dict[str, object]]:
    """Per project sheet (by 项目编码): the indicator 得分 cells' (value, comment) and the 执行率/总分 comments."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        code = next((c.value.split("：", 1)[1] for row in ws.iter_rows(max_row=4) for c in row
                     if isinstance(c.value, str) and c.value.startswith("项目编码：")), None)
        if code is None:
            continue
        header = next(c.row for row in ws.iter_rows() for c in row if c.value == "偏差原因分析及改进措施")
        total_row = next(c.row for row in ws.iter_rows(min_row=header) for c in row if c.value == "总分")
        funds = next(c.row for row in ws.iter_rows() for c in row if c.value == "年度资金总额")
        out[code] = {
            "indicators": [(ws.cell(r, 7).value, ws.cell(r, 7).comment.text if ws.cell(r, 7).comment else None)
                           for r in range(header + 1, total_row)],
            "execution": ws.cell(funds, 8).comment.text if ws.cell(funds, 8).comment else None,
            "total": ws.cell(total_row, 7).comment.text if ws.cell(total_row, 7).comment else None,
        }
    return out


def test_every_score_has_its_trace(tmp_path: Path) -> None:
    """It should put a comment on every indicator 得分, the 执行率 得分 and the 总分 of every project sheet."""
    cells = _score_cells(_workbook(tmp_path, "mof-2020"))
    assert len(cells) == 5
    for sheet in cells.values():
        assert len(sheet["indicators"]) == 9
        assert all(comment for _, comment in sheet["indicators"])
        assert sheet["execution"] and sheet["total"]


def test_trace_of_a_shortfall(tmp_path: Path) -> None:
    """It should trace 88% against ≥90% to 12.5 × 88/90 = 12.22 with the clause and 财预〔2020〕10号."""
    value, comment = _score_cells(_workbook(tmp_path, "mof-2020"))[RIVER]["indicators"][0]
    assert value == 12.22
    assert "88%" in comment and "90" in comment and "0.9778" in comment and "12.22" in comment
    assert "规则：正向指标" in comment and "四舍五入" in comment
    assert "依据：" in comment and "财预〔2020〕10号" in comment


def test_trace_follows_the_profile(tmp_path: Path) -> None:
    """It should trace the execution points with the profile's truncation and cite the profile's source."""
    cells = _score_cells(_workbook(tmp_path, "neimenggu-2022"))
    # 19850 / 20000 × 10 = 9.925 → truncated 9.92 (half up would give 9.93)
    execution = cells["13022925P00JXC419898U"]["execution"]
    assert "99.25%" in execution and "9.92" in execution and "截尾" in execution
    assert "内财监〔2019〕1343号" in execution or "乌拉特中旗" in execution
    total = cells["13022925P00JXC419898U"]["total"]
    assert "99.92" in total


def test_method_sheet_lists_sources(tmp_path: Path) -> None:
    """It should list the profile's sources in 计算说明."""
    wb = openpyxl.load_workbook(_workbook(tmp_path, "sichuan-2023"))
    rows = {r[0]: r[1] for r in wb["计算说明"].iter_rows(values_only=True) if r[0]}
    assert "510000_0013zp" in rows["依据·整个规则集"]
    assert "偏离度公式" in rows["依据·反向指标"]
    assert "偏离度公式" in rows["反向指标计分"]


def test_libreoffice_reads_the_comments(tmp_path: Path) -> None:
    """It should keep every trace when LibreOffice opens the workbook (converted to .ods, comments are annotations)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        assert not os.environ.get("CI"), "CI must run the render check: .ci/run installs LibreOffice"
        pytest.skip("LibreOffice not installed: `soffice`/`libreoffice` not on PATH (apt-get install libreoffice-calc)")
    workbook = _workbook(tmp_path, "mof-2020")
    expected = sum(len(s["indicators"]) + 2 for s in _score_cells(workbook).values())
    env = {**os.environ, "HOME": str(tmp_path)}
    done = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless", "--norestore",
         "--convert-to", "ods", "--outdir", str(tmp_path / "ods"), str(workbook)],
        capture_output=True, text=True, timeout=180, env=env, check=False,
    )
    ods = tmp_path / "ods" / "mof-2020.ods"
    assert ods.exists(), done.stdout + done.stderr
    content = zipfile.ZipFile(ods).read("content.xml").decode("utf-8")
    assert content.count("<office:annotation") >= expected
    assert "依据：财预〔2020〕10号" in content and "12.5 × 0.9778 = 12.22" in content


METHOD_CASES = [  # (rule changes, 计算说明 · 计分方法 row, text it must hold, text it must not hold)
    ({"reverse": {"formula": "deviation"}}, "完成比例 r", "2 倍及以上 r = 0", "r = 指标值 ÷ 实际值"),
    ({"overshoot": {"mode": "none"}}, "超额完成", "不检查超额完成", "r ≥ 1.5"),
    ({"overshoot": {"mode": "cap", "cap": 0.8}}, "超额完成", "不超过分值的 0.8 倍", "不扣分"),
    ({"overshoot": {"zero_threshold": 2}}, "超额完成", "指标值为 0 的正向指标完成值达到 2", "扣分曲线"),
    ({"rounding": {"execution": {"mode": "truncate"}}}, "舍入", "执行率得分截尾（舍去）保留 2 位小数", "同样"),
    ({"rounding": {"mode": "truncate", "decimals": 1}}, "部门整体", "截尾保留 1 位小数", "四舍五入"),
    ({"execution": {"schedule": {"thresholds": {"jun": 40}}}}, "预算执行率", "6月底不低于 40%", "3月底、6月底、10月底累计"),
    ({"execution": {"zero_budget": "full", "cap": True}}, "预算执行率", "全年预算数为 0 的记满分", "记 0 分"),
]


@pytest.mark.parametrize(("changes", "row", "present", "absent"), METHOD_CASES)
def test_method_text_covers_new_fields(changes: dict, row: str, present: str, absent: str) -> None:
    """It should describe the reverse formula, overshoot mode, rounding per part and execution rules in 计算说明."""
    from selfeval.report.excel import method_rows
    from selfeval.rules.loader import rules_from_mapping

    text = dict(method_rows(rules_from_mapping({"name": "m", **changes})))[row]
    assert present in text and absent not in text, text


def test_method_text_department_parts_and_level2() -> None:
    """It should describe department parts and fixed level-2 shares in 计算说明."""
    from selfeval.report.excel import method_rows
    from selfeval.rules.loader import rules_from_mapping

    rules = rules_from_mapping({"name": "m", "department": "parts",
                                "department_weights": {"预算执行率": 20, "产出指标": 40, "效益指标+满意度指标": 40},
                                "level2_weights": {"产出指标": {"数量指标": 20, "质量指标": 30}}})
    rows = dict(method_rows(rules))
    assert "预算执行率 20、产出指标 40、效益指标+满意度指标 40" in rows["部门整体"] and "加权平均" not in rows["部门整体"]
    assert "数量指标 20、质量指标 30" in rows["分值"]


@pytest.mark.parametrize(("target", "actual", "ratio", "flagged"), [(0.0, 1.0, 1.0, True), (100.0, 135.0, 1.35, True),
                                                                   (100.0, 125.0, 1.25, False)])
def test_trace_names_overshoot_clause(target: float, actual: float, ratio: float, flagged: bool) -> None:
    """It should add hubei-2020's overshoot clause and its source to the trace of a row that overshoots (r ≥ 1.3, or a zero target reached 1)."""
    from selfeval.report.trace import indicator_trace
    from selfeval.rules.loader import load_rules

    row = {"explain": "…", "status": "scored", "direction": "ge", "ratio": ratio, "target_value": target,
           "actual_value": actual, "weight": 25.0}
    text = indicator_trace(row, load_rules("hubei-2020"))
    assert ("超额完成" in text and "130%" in text) is flagged, text


def test_department_score_has_its_trace(tmp_path: Path) -> None:
    """It should trace the department score (汇总 and 部门整体) to Σ(总分 × 预算数) ÷ Σ预算数 = 99.55 (SPEC.md §5.7)."""
    wb = openpyxl.load_workbook(_workbook(tmp_path, "mof-2020"))
    summary = wb["汇总"]
    dept = next(row for row in summary.iter_rows() if row[0].value == "部门整体")
    total = next(c for c in dept if c.value == 99.55)
    assert total.comment is not None
    text = total.comment.text
    assert "99.93 × 20,000.00" in text and "÷ 179,000.00 = 99.55" in text and "依据：" in text
    sheet = wb["部门整体"]
    cell = next(c for row in sheet.iter_rows() for c in row if c.value == 99.55)
    assert cell.comment is not None and cell.comment.text == text


def test_department_parts_trace(tmp_path: Path) -> None:
    """It should show each department part's points earned and available under `department: parts`."""
    from selfeval.report.trace import department_trace
    from selfeval.rules.loader import rules_from_mapping

    rules = rules_from_mapping({"name": "p", "department": "parts",
                                "department_weights": {"预算执行率": 20, "产出指标": 40, "效益指标+满意度指标": 40}})
    projects = [{"execution_points": 8.0, "execution_weight": 10.0, "total": 88.0, "budget": 1.0},
                {"execution_points": 9.0, "execution_weight": 10.0, "total": 84.0, "budget": 3.0}]
    rows = [{"level1_group": "产出指标", "weight": 50.0, "points": 40.0, "status": "scored"},
            {"level1_group": "效益指标", "weight": 30.0, "points": None, "status": "unscorable"}]
    text = department_trace(projects, {"total": 80.0}, rules, rows)
    assert "预算执行率：20 × 17 ÷ 20" in text and "产出指标：40 × 40 ÷ 50" in text and "效益指标+满意度指标：40 × 0 ÷ 30" in text


def test_department_category_trace_and_method() -> None:
    """It should trace a department rolled up by project category: each category's weight and terms, 未分类 too."""
    from selfeval.report.excel import method_rows
    from selfeval.report.trace import department_trace
    from selfeval.rules.loader import rules_from_mapping

    rules = rules_from_mapping({"name": "c", "department": "category", "category_weights": {"运转类": 30, "特定目标类": 70}})
    projects = [{"category": "运转类", "total": 100.0, "budget": 10000.0},
                {"category": "特定目标类", "total": 89.0, "budget": 30000.0},
                {"category": None, "total": 70.0, "budget": 20000.0}]
    text = department_trace(projects, {"total": 92.3}, rules)
    assert "Σ 类别权重 × 类别得分 ÷ Σ 类别权重 = 92.3" in text
    assert "运转类（权重 30）：Σ(总分 × 预算数) ÷ Σ预算数 = (100 × 10,000.00) ÷ 10,000.00" in text
    assert "未分类（权重 0）：不计入" in text
    assert "运转类 30、特定目标类 70（未列出的类别不计入）" in dict(method_rows(rules))["部门整体"]


def test_method_text_names_any_months_line() -> None:
    """It should list a rule's 4月底/8月底 lines in 计算说明 in calendar order."""
    from selfeval.report.excel import method_rows
    from selfeval.rules.loader import rules_from_mapping

    rules = rules_from_mapping({"name": "m", "execution": {"schedule": {"thresholds": {"8": 60, "4月底": 25}}}})
    assert "4月底不低于 25%、8月底不低于 60%" in dict(method_rows(rules))["预算执行率"]


def test_execution_trace_shows_the_schedule_deduction() -> None:
    """It should show the execution points before and after the checkpoint deduction: 9.93 − 3 × 1 = 6.93
    (3 checkpoints behind, 1 point each), not "= 9.9250 → 6.93"."""
    from selfeval.report.trace import execution_trace
    from selfeval.rules.loader import rules_from_mapping

    rules = rules_from_mapping({"name": "s", "execution": {"schedule": {"thresholds": {"mar": 25, "jun": 40, "oct": 80},
                                                                      "points_per_checkpoint": 1}}})
    project = {"executed": 19850.0, "year_budget": 20000.0, "execution_rate": 0.9925, "execution_weight": 10.0,
               "execution_points": 6.93}
    text = execution_trace(project, rules)
    assert "9.93 − 支出进度滞后 3 个节点 × 1 = 6.93" in text, text


def test_trace_cites_the_rounding_reading() -> None:
    """It should quote a profile's own note on its rounding in the traces it shapes: anhui's whole indicator
    points and neimenggu's truncated execution points are readings marked 原文未见, and a unit must see that."""
    from selfeval.report.trace import execution_trace, indicator_trace
    from selfeval.rules.loader import load_rules

    row = {"explain": "95次 对比指标值 ≥100次：未完成（r = 0.95）→ 16.6667 × 0.95 = 16", "status": "scored",
           "direction": "ge", "target_op": "ge", "ratio": 0.95, "weight": 16.6667}
    assert "取整为本规则集的理解" in indicator_trace(row, load_rules("anhui-2022"))
    assert "取整" not in indicator_trace(row, load_rules("mof-2020"))
    project = {"executed": 9876.0, "year_budget": 10000.0, "execution_rate": 0.9876, "execution_weight": 10.0,
               "execution_points": 9.87}
    assert "执行率得分截尾为本规则集的理解" in execution_trace(project, load_rules("neimenggu-2022"))


def test_execution_trace_cites_the_monitoring_lines_source() -> None:
    """It should quote the profile's note on its monitoring lines when checkpoints behind take execution points
    off (a unit losing 2 points must see 某省财政厅〔2025〕1号 第三条), and not when they cost nothing."""
    from selfeval.report.trace import execution_trace
    from selfeval.rules.loader import rules_from_mapping

    schedule = {"thresholds": {"4月底": 25, "8月底": 60}, "source": "某省财政厅〔2025〕1号 第三条"}
    project = {"executed": 950000.0, "year_budget": 1000000.0, "execution_rate": 0.95, "execution_weight": 10.0,
               "execution_points": 7.5}
    deducting = rules_from_mapping({"name": "s", "execution": {"schedule": {**schedule, "points_per_checkpoint": 1}}})
    assert "某省财政厅〔2025〕1号 第三条" in execution_trace(project, deducting).splitlines()[-1]
    warning_only = rules_from_mapping({"name": "w", "execution": {"schedule": schedule}})
    assert "某省财政厅" not in execution_trace({**project, "execution_points": 9.5}, warning_only)


def test_department_category_trace_gives_each_category_score() -> None:
    """It should end each weighted category's line with its score (运转类 (97.5 × 100万 + 89 × 30万) ÷ 130万 =
    95.5385), and word a category whose budgets add up to 0 as the plain mean it is ((80 + 100) ÷ 2 = 90),
    never as a division by 0.00."""
    from selfeval.report.trace import department_trace
    from selfeval.rules.loader import rules_from_mapping

    rules = rules_from_mapping({"name": "c", "department": "category", "category_weights": {"运转类": 30, "特定目标类": 70}})
    projects = [{"category": "运转类", "total": 97.5, "budget": 1000000.0}, {"category": "运转类", "total": 89.0, "budget": 300000.0},
                {"category": "特定目标类", "total": 98.0, "budget": 500000.0}]
    text = department_trace(projects, {"total": 97.26}, rules)
    assert "(97.5 × 1,000,000.00 + 89 × 300,000.00) ÷ 1,300,000.00 = 95.5385" in text
    assert "(98 × 500,000.00) ÷ 500,000.00 = 98\n" in text
    zero = [{"category": "运转类", "total": 80.0, "budget": 0.0}, {"category": "运转类", "total": 100.0, "budget": 0.0},
            {"category": "特定目标类", "total": 100.0, "budget": 80000.0}]
    text = department_trace(zero, {"total": 97.0}, rules)
    assert "运转类（权重 30）：预算数合计为 0，取总分的简单平均 = (80 + 100) ÷ 2 = 90" in text and "÷ 0.00" not in text


def test_execution_comment_names_the_late_months(tmp_path: Path) -> None:
    """It should name the month ends a project was behind in its 执行率 得分 comment (4月底 under a 4/8月底 rule)."""
    import polars as pl

    from selfeval.ingest import read_execution
    from selfeval.report.excel import late_months
    from selfeval.rules.loader import rules_from_mapping

    execution = read_execution(EXECUTION).with_columns(
        pl.when(pl.col("project_code") == "13022925P00JXC419898U").then(2000.0).otherwise(None).alias("executed_by_apr"))
    rules = rules_from_mapping({"name": "m", "execution": {"schedule": {"thresholds": {"4月底": 25, "8月底": 60},
                                                                      "points_per_checkpoint": 1}}})
    result = selfeval.score(SEED, ACTUALS, execution, rules)
    assert late_months(result.findings, "13022925P00JXC419898U") == ["4月底"]
    wb = openpyxl.load_workbook(write_workbook(result, tmp_path / "m.xlsx"))
    comments = [c.comment.text for ws in wb.worksheets for row in ws.iter_rows() for c in row
                if c.comment is not None and "个节点（" in c.comment.text]
    # the sample's own plans are missed at 3/6/10月底 by two other projects
    heads = sorted(t.split("\n")[0].split(" → ")[-1] for t in comments)
    assert heads == ["9.1 − 支出进度滞后 3 个节点（3月底、6月底、10月底） × 1 = 6.1", "9.8 − 支出进度滞后 2 个节点（3月底、6月底） × 1 = 7.8",
                     "9.93 − 支出进度滞后 1 个节点（4月底） × 1 = 8.93"], heads


def test_execution_comment_lists_late_months_without_points() -> None:
    """It should list the late month ends on their own line when lateness takes no points off."""
    from selfeval.report.trace import execution_trace
    from selfeval.rules.loader import load_rules

    project = {"executed": 19850.0, "year_budget": 20000.0, "execution_rate": 0.9925, "execution_weight": 10.0,
               "execution_points": 9.93}
    lines = execution_trace(project, load_rules("mof-2020"), ["3月底", "6月底"]).split("\n")
    assert lines[0].endswith("→ 9.93") and lines[1] == "支出进度滞后：3月底、6月底（不扣分，见问题清单）"
