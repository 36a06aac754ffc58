"""Filled 项目支出绩效自评表 written the way units submit them (for tests, benchmarks and `synth_submissions`).

A form is a plain dict (`FormSpec` keys below) holding what a unit printed: header, funds, indicator
rows with 分值/得分/偏差原因, 总分 and 自评等级. Layouts:

* `central`   — the central template: 项目资金 block with 年度资金总额 / 其中：财政拨款 / 上年结转资金 /
  其他资金 rows, 偏差原因 merged over two columns, 总分 row with 满分 under 分值;
* `provincial` — the target split over 指标性质 | 指标值 | 度量单位 under a merged 年度指标值, plus 指标方向;
* `stacked`   — (a flag of `write_xlsx`) every form of the unit on one sheet, one under the other;
* `.docx`     — the central layout as Word tables, one per project.

Amounts are written in 元 or 万元 (`amount_unit`), level-1 labels with their points when asked
(`产出指标（50分）`). Every text is written as text, through the one workbook factory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FormSpec = dict[str, Any]
# project: project_code, project_name, department, unit_name, year, goal, achieved, budget, year_budget, executed,
# fiscal, other, carryover (amounts in 元), execution_weight, execution_rate (text or fraction), execution_points,
# indicators: [{level1, level2, level3, target, actual, weight, points, reason, nature?, value?, unit?, direction?}],
# total, grade, full_points

SCALES = {"元": 1.0, "万元": 1e4}


def _amount(value: Any, unit: str) -> Any:
    if value is None or isinstance(value, str):
        return value
    return round(value / SCALES[unit], 6)


def _rate(value: Any) -> Any:
    return value


def _rows(form: FormSpec, layout: str, amount_unit: str) -> tuple[list[list[Any]], list[tuple[int, int, int, int]], int]:
    """(cells, merges (r1, c1, r2, c2), column count) of one form, rows from 0."""
    provincial = layout == "provincial"
    ncols = 11 if provincial else 9
    cells: list[list[Any]] = []
    merges: list[tuple[int, int, int, int]] = []

    def row(values: list[Any]) -> int:
        cells.append(values + [None] * (ncols - len(values)))
        return len(cells) - 1

    r = row(["项目支出绩效自评表"])
    merges.append((r, 0, r, ncols - 1))
    r = row([f"（{form.get('year', 2025)}年度）"])
    merges.append((r, 0, r, ncols - 1))
    r = row(["项目编码", form.get("project_code"), None, None, None, None, f"金额单位：{amount_unit}"])
    merges += [(r, 1, r, 5), (r, 6, r, ncols - 1)]
    r = row(["项目名称", form["project_name"]])
    merges.append((r, 1, r, ncols - 1))
    r = row(["主管部门", form.get("department"), None, None, "实施单位", form.get("unit_name")])
    merges += [(r, 1, r, 3), (r, 5, r, ncols - 1)]
    top = row([f"项目资金（{amount_unit}）", None, "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"])
    u = amount_unit
    row([f"项目资金（{amount_unit}）", "年度资金总额", _amount(form.get("budget"), u), _amount(form.get("year_budget"), u),
         _amount(form.get("executed"), u), form.get("execution_weight"), form.get("execution_rate"), form.get("execution_points")])
    for label, key in (("其中：财政拨款", "fiscal"), ("上年结转资金", "carryover"), ("其他资金", "other")):
        part = form.get(key) or {}
        row([f"项目资金（{amount_unit}）", label, _amount(part.get("budget"), u), _amount(part.get("year_budget"), u),
             _amount(part.get("executed"), u), "—", "—", "—"])
    merges.append((top, 0, top + 4, 0))
    r = row(["年度总体目标", "预期目标", None, None, None, "实际完成情况"])
    merges += [(r, 1, r, 4), (r, 5, r, ncols - 1)]
    r2 = row(["年度总体目标", form.get("goal") or "完成年度工作任务", None, None, None, form.get("achieved") or "已按计划完成"])
    merges += [(r2, 1, r2, 4), (r2, 5, r2, ncols - 1), (r, 0, r2, 0)]
    if provincial:
        head = row(["一级指标", "二级指标", "三级指标", "年度指标值", None, None, "指标方向", "实际完成值", "分值", "得分",
                    "偏差原因分析及改进措施"])
        sub = row(["一级指标", "二级指标", "三级指标", "指标性质", "指标值", "度量单位", "指标方向", "实际完成值", "分值", "得分",
                   "偏差原因分析及改进措施"])
        merges.append((head, 3, head, 5))
        for c in (0, 1, 2, 6, 7, 8, 9, 10):
            merges.append((head, c, sub, c))
    else:
        head = row(["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"])
        merges.append((head, 7, head, 8))
    first = len(cells)
    for ind in form["indicators"]:
        if provincial:
            r = row([ind["level1"], ind["level2"], ind["level3"], ind.get("nature"), ind.get("value"), ind.get("unit"),
                     ind.get("direction"), ind.get("actual"), ind.get("weight"), ind.get("points"), ind.get("reason")])
        else:
            r = row([ind["level1"], ind["level2"], ind["level3"], ind["target"], ind.get("actual"), ind.get("weight"),
                     ind.get("points"), ind.get("reason")])
            merges.append((r, 7, r, 8))
    # merged 一级 / 二级 cells over consecutive equal values
    inds = form["indicators"]
    for col, key in ((0, ("level1",)), (1, ("level1", "level2"))):
        start = 0
        for i in range(1, len(inds) + 1):
            if i == len(inds) or tuple(inds[i][k] for k in key) != tuple(inds[start][k] for k in key):
                if i - 1 > start:
                    merges.append((first + start, col, first + i - 1, col))
                start = i
    points_col = 9 if provincial else 6
    weight_col = points_col - 1
    total = [None] * ncols
    total[0] = "总分"
    total[weight_col] = form.get("full_points")
    total[points_col] = form.get("total")
    r = row(total)
    merges.append((r, 0, r, weight_col - 1))
    grade = [None] * ncols
    grade[0] = "自评等级"
    grade[points_col] = form.get("grade")
    r = row(grade)
    merges.append((r, 0, r, weight_col))
    return cells, merges, ncols


def write_xlsx(path: str | Path, forms: list[FormSpec], *, layout: str = "central", amount_unit: str = "元",
               stacked: bool = False, sheet_names: list[str] | None = None) -> Path:
    """Write `forms` as one workbook: a sheet per form, or all on one sheet (`stacked`)."""
    from selfeval.atomic import unique_sheet_names
    from selfeval.report.workbook import new_workbook

    path = Path(path)
    with new_workbook(path) as wb:
        text = wb.add_format({"text_wrap": True, "valign": "vcenter", "border": 1})
        names = sheet_names or unique_sheet_names([f"{i}.{f['project_name']}" for i, f in enumerate(forms, start=1)])
        ws = wb.add_worksheet("自评表") if stacked else None
        offset = 0
        for form, name in zip(forms, names):
            if not stacked:
                ws = wb.add_worksheet(name)
                offset = 0
            cells, merges, _ = _rows(form, layout, amount_unit)
            merged_at = {}
            for r1, c1, r2, c2 in merges:
                merged_at[(r1, c1)] = (r2, c2)
            covered = {(r, c) for (r1, c1), (r2, c2) in merged_at.items() for r in range(r1, r2 + 1)
                       for c in range(c1, c2 + 1) if (r, c) != (r1, c1)}
            for (r1, c1), (r2, c2) in merged_at.items():
                if (r1, c1) != (r2, c2):
                    ws.merge_range(offset + r1, c1, offset + r2, c2, "", text)
            for r, values in enumerate(cells):
                for c, value in enumerate(values):
                    if (r, c) in covered or value is None:
                        continue
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        fmt = wb.add_format({"num_format": "0.00%", "border": 1}) if (r, c) == (6, 6) and value <= 1.5 \
                            else text
                        ws.write_number(offset + r, c, float(value), fmt)
                    else:
                        ws.write_string(offset + r, c, str(value), text)
            offset += len(cells) + 3
    return path


def write_docx(path: str | Path, forms: list[FormSpec], *, amount_unit: str = "元") -> Path:
    """Write `forms` as a Word document: a heading and a central-layout table per form (atomically)."""
    import docx
    from docx.table import _Cell

    from selfeval.atomic import atomic_path

    document = docx.Document()
    for form in forms:
        document.add_paragraph(f"{form['project_name']}项目支出绩效自评表")
        cells, merges, ncols = _rows(form, "central", amount_unit)
        table = document.add_table(rows=len(cells), cols=ncols)
        # cells addressed through their <w:tc> elements, captured before any merge (table.cell() re-walks the grid each call)
        tcs = [list(tr.tc_lst) for tr in table._tbl.tr_lst]
        covered = {(r, c) for r1, c1, r2, c2 in merges for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
                   if (r, c) != (r1, c1)}
        for r, values in enumerate(cells):
            for c, value in enumerate(values):
                if value is None or (r, c) in covered:
                    continue
                if isinstance(value, float) and (r, c) == (6, 6) and value <= 1.5:
                    value = f"{value * 100:.2f}%"
                _Cell(tcs[r][c], table).text = value if isinstance(value, str) else f"{value:g}"
        for r1, c1, r2, c2 in merges:
            if (r1, c1) != (r2, c2):
                _Cell(tcs[r1][c1], table).merge(_Cell(tcs[r2][c2], table))
    with atomic_path(path) as tmp:
        document.save(str(tmp))
    return Path(path)


__all__ = ["FormSpec", "write_docx", "write_xlsx"]
