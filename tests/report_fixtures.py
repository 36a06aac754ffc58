"""A small hand-built `Result` for the report tests (conforms to the schemas; no scoring run).

The real pipeline is exercised in the end-to-end tests; these fixtures let the workbook and
template writers be tested on their own, including hostile input.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.result import InputFile, Result
from selfeval.rules.loader import load_rules

UNIT = ("480001", "玉田县石臼窝镇人民政府本级")
GENERATED_AT = dt.datetime(2026, 1, 15, 9, 30)

# (level1, level1_group, level2, level3, target, actual, reason, ratio, weight, points, status)
_INDICATORS = [
    ("产出指标", "产出指标", "数量指标", "整治河渠环境达标率", "≥90百分比", "88%", "汛期淤积复发", 0.9778, 25.0, 24.44, "scored"),
    ("产出指标", "产出指标", "质量指标", "卫生整治合格率", "≥95百分比", "96%", None, 1.0105, 25.0, 25.0, "scored"),
    ("效益指标", "效益指标", "社会效益指标", "环境改善情况", "≥95百分比", "93%", None, 0.9789, 15.0, 14.68, "scored"),
    ("效益指标", "效益指标", "社会效益指标", "保持水体干净", "≥3月", None, None, None, 15.0, None, "unscorable"),
    ("满意度指标", "满意度指标", "服务对象满意度指标", "群众满意度", "≥95百分比", "97%", None, 1.0211, 10.0, 10.0, "scored"),
]


def make_result(
    project_names: list[str] | None = None,
    *,
    level3_prefix: str = "",
    units: list[tuple[str, str]] | None = None,
) -> Result:
    """It should build a Result of one or more units, each with the given projects."""
    names = project_names or ["河渠清理及河长制", "乡镇人大工作站"]
    units = units or [UNIT]
    rules = load_rules()
    u_rows, p_rows, i_rows, g_rows, is_rows, ps_rows, us_rows, f_rows = ([] for _ in range(8))
    for ucode, uname in units:
        u_rows.append({"unit_code": ucode, "unit_name": uname, "year": 2025})
        g_rows += [
            {"unit_code": ucode, "section": "总体绩效目标", "seq": 1, "title": None, "goal": "做好农业、农村、农民工作。", "indicator": None},
            {"unit_code": ucode, "section": "分项绩效目标", "seq": 1, "title": "党组织建设及党员教育管理",
             "goal": "负责乡镇党组织建设。", "indicator": "负责综合协调、信息反馈。"},
            {"unit_code": ucode, "section": "分项绩效目标", "seq": 2, "title": "林业", "goal": "植树造林、森林防火。", "indicator": "负责企业管理。"},
            {"unit_code": ucode, "section": "工作保障措施", "seq": 1, "title": "完善制度建设", "goal": "制定完善预算绩效管理制度。", "indicator": None},
        ]
        totals = []
        for p, pname in enumerate(names, start=1):
            pcode = f"{ucode}P{p:04d}"
            budget = 20000.0 * p
            executed = budget * 0.98
            p_rows.append({"unit_code": ucode, "project_code": pcode, "project_name": pname, "budget": budget,
                           "fiscal_funds": budget, "other_funds": None, "purpose": pname, "goal": f"完成{pname}年度工作任务。",
                           "plan_mar": 25.0, "plan_jun": 50.0, "plan_oct": 75.0, "plan_dec": 100.0})
            points_sum = 0.0
            for seq, (l1, grp, l2, l3, target, actual, reason, ratio, weight, points, status) in enumerate(_INDICATORS, 1):
                iid = f"{pcode}-{seq:02d}"
                i_rows.append({"unit_code": ucode, "project_code": pcode, "indicator_id": iid, "seq": seq, "level1": l1,
                               "level2": l2, "level3": level3_prefix + l3, "description": None, "target_text": target,
                               "basis": None, "weight": None})
                is_rows.append({"unit_code": ucode, "project_code": pcode, "indicator_id": iid, "seq": seq, "level1": l1,
                                "level1_group": grp, "level2": l2, "level3": level3_prefix + l3, "target_text": target,
                                "actual_text": actual, "deviation_reason": reason, "ratio": ratio, "weight": weight,
                                "fraction": None if ratio is None else min(ratio, 1.0), "points": points, "status": status,
                                "explain": f"{actual} 对 {target}" if actual else "缺少实际完成值"})
                points_sum += points or 0.0
                if status == "unscorable":
                    f_rows.append({"code": "MISSING_ACTUAL", "severity": "error", "unit_code": ucode, "project_code": pcode,
                                   "seq": seq, "column": "actual_text", "value": None,
                                   "message": f"指标“{level3_prefix + l3}”没有填写实际完成值，无法评分"})
            f_rows.append({"code": "SCHEDULE", "severity": "warning", "unit_code": ucode, "project_code": pcode, "seq": None,
                           "column": "executed_by_mar", "value": "3000", "message": "3月底累计支出 3000 元（15.00%），低于计划 25%"})
            total = round(points_sum + 9.8, 2)
            totals.append((total, budget))
            ps_rows.append({"unit_code": ucode, "project_code": pcode, "project_name": pname, "budget": budget,
                            "year_budget": budget, "executed": executed, "execution_rate": 0.98, "execution_weight": 10.0,
                            "execution_points": 9.8, "output_points": 49.44, "effect_points": 14.68,
                            "satisfaction_points": 10.0, "total": total, "complete": False, "grade": "良" if total >= 80 else "中"})
        dept = round(sum(t * b for t, b in totals) / sum(b for _, b in totals), 2)
        us_rows.append({"unit_code": ucode, "unit_name": uname, "year": 2025, "budget": sum(b for _, b in totals),
                        "executed": sum(b for _, b in totals) * 0.98, "total": dept,
                        "grade": "良" if dept >= 80 else "中", "projects": len(names), "complete": False})
    declaration = Declaration(
        units=pl.DataFrame(u_rows, schema=schema.UNITS),
        projects=pl.DataFrame(p_rows, schema=schema.PROJECTS),
        indicators=pl.DataFrame(i_rows, schema=schema.INDICATORS),
        department_goals=pl.DataFrame(g_rows, schema=schema.DEPARTMENT_GOALS),
        sources=("fixture",),
    )
    return Result(
        indicator_scores=schema.conform(pl.DataFrame(is_rows, infer_schema_length=None), schema.INDICATOR_SCORES),
        project_scores=pl.DataFrame(ps_rows, schema=schema.PROJECT_SCORES),
        unit_scores=pl.DataFrame(us_rows, schema=schema.UNIT_SCORES),
        findings=pl.DataFrame(f_rows, schema=schema.FINDINGS),
        declaration=declaration,
        rules=rules,
        inputs=(InputFile("declared", "fixture.txt", "0" * 64), InputFile("actuals", "actuals.csv", "1" * 64)),
    )


# ------------------------------------------------------------------ reading workbooks back

GOLDEN_TOTALS = {  # SPEC.md §5.7
    "13022925P00JXC419898U": 99.93,
    "13022925P00JXC419591N": 100.00,
    "13022925P00016410007L": 99.36,
    "13022925P00JXC419899F": 98.07,
    "13022925P00JXC419896L": 99.55,
}
FIXED_SHEETS = ("汇总", "部门整体", "问题清单", "计算说明", "计算明细")


def cells_right_of(ws, label: str) -> list:
    """Values to the right of the first cell whose value is `label` (merged placeholders skipped)."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == label:
                return [c.value for c in row[cell.column:] if c.value is not None]
    msg = f"label {label!r} not found in sheet {ws.title!r}"
    raise AssertionError(msg)


def number_right_of(ws, label: str) -> float:
    """The first number to the right of `label`."""
    for value in cells_right_of(ws, label):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    msg = f"no number right of {label!r} in {ws.title!r}"
    raise AssertionError(msg)


def project_code_of(ws) -> str:
    """The project code written in a project sheet (项目编码：… line)."""
    for row in ws.iter_rows(max_row=5):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("项目编码："):
                return cell.value.removeprefix("项目编码：")
    msg = f"no 项目编码 in {ws.title!r}"
    raise AssertionError(msg)


def project_sheets(wb) -> list:
    """The project sheets of a workbook (every sheet but the fixed ones)."""
    return [wb[name] for name in wb.sheetnames if name not in FIXED_SHEETS]


def summary_rows(ws) -> list[dict]:
    """汇总 rows below the header row (keyed by the Chinese header), up to the 部门整体 row."""
    rows = list(ws.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "项目编码")
    header = rows[header_at]
    out = []
    for r in rows[header_at + 1:]:
        if r[0] is None:
            break
        out.append(dict(zip(header, r)))
        if r[0] == "部门整体":
            break
    return out


def findings_table_rows(ws) -> int:
    """Data rows of the 问题清单 Excel table."""
    (table,) = ws.tables.values()
    from openpyxl.utils.cell import range_boundaries

    _, min_row, _, max_row = range_boundaries(table.ref)
    return max_row - min_row
