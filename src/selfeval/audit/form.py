"""The 项目支出绩效自评表 forms in a grid, found by their words, never by position.

A form is anchored on its indicator table's header row (a row naming 三级指标 and 得分 or 实际完成值).
Above it, back to the end of the previous form, lie the header block (项目名称, 项目编码, 主管部门,
实施单位), the 项目资金 block (a row naming 全年执行数 and 执行率, then 年度资金总额 / 其中：财政资金 /
其他资金 …) and 年度总体目标; below it the indicator rows down to 总分, then 自评等级. Several forms
may stand on one sheet (stacked) or one per sheet; a grid with no such anchor, or an anchor with no
项目名称 above it (a flat table such as 计算明细), is not a form and is reported as skipped.

The provincial variant splits the target over 指标性质 | 指标值 | 度量单位 (one header row, or a
second header row under a merged 年度指标值) and may add 指标方向; these cells are kept raw for
`layout.combined_targets`. Everything is read as text as a person sees it (`cell_text`: a number
formatted as a percent reads `99.25%`); numbers are parsed later, over whole columns.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from selfeval.audit.grid import Grid
from selfeval.ingest.sheet import cell_text

# Indicator table headers (normalized: NFKC, no whitespace) → field; the first column naming a field wins.
INDICATOR_HEADERS: dict[str, tuple[str, ...]] = {
    "seq": ("序号",),
    "level1": ("一级指标",),
    "level2": ("二级指标",),
    "level3": ("三级指标", "三级指标名称", "指标名称"),
    "target_text": ("年度指标值", "指标值", "年度目标值", "预期指标值", "目标值", "预期目标值", "全年指标值"),
    "nature": ("指标性质",),
    "measure_unit": ("度量单位", "计量单位", "指标单位"),
    "direction": ("指标方向", "指标方向性"),
    "actual_text": ("实际完成值", "全年实际值", "实际值", "完成值", "实际完成情况", "全年实际完成值"),
    "weight": ("分值", "权重", "指标分值"),
    "points": ("得分", "自评得分", "指标得分"),
    "deviation_reason": ("偏差原因分析及改进措施", "偏差原因", "偏差原因分析", "偏差原因及改进措施", "未完成原因分析及改进措施",
                         "未完成原因", "未完成原因和改进措施"),
}
FUNDS_HEADERS: dict[str, tuple[str, ...]] = {
    "budget": ("年初预算数", "年初预算", "预算数"),
    "year_budget": ("全年预算数", "全年预算", "调整后预算数"),
    "executed": ("全年执行数", "全年执行", "执行数", "实际支出"),
    "execution_weight": ("分值",),
    "execution_rate": ("执行率", "预算执行率"),
    "execution_points": ("得分",),
}
# 项目资金 rows by the words of their label: the total row and the parts that add up to it.
FUND_ROWS = (("total", ("资金总额", "合计", "总额", "小计")), ("fiscal", ("财政",)), ("carryover", ("上年结转", "结转")),
             ("other", ("其他资金", "其他")))
_BRACKETED = re.compile(r"[（(][^）)]*[）)]$")
# Labels of the header block: a blank label's value is never the next label.
HEADER_LABELS = frozenset({"项目名称", "项目编码", "项目代码", "主管部门", "实施单位", "项目负责人", "联系电话", "预算单位"})
_LABELLED = re.compile(r"^(?:金额|资金|计量)?单位[:：]")
YEAR = re.compile(r"((?:19|20)\d{2})\s*年度")
# The grade row of a form, by its label (自评等级, or 评价等级 in provincial variants).
GRADE_LABELS = ("自评等级", "评价等级", "绩效评价等级", "等级")
UNIT_LINE = re.compile(r"^(?:预算)?单位(?:名称)?[:：]\s*([0-9A-Za-z]{3,})\s+(.+)$")


def norm(value: Any) -> str:
    """A cell as a header word: NFKC, no whitespace."""
    if value is None:
        return ""
    return _norm_text(value if isinstance(value, str) else str(value))


@lru_cache(maxsize=65536)
def _norm_text(text: str) -> str:  # merged cells repeat their text: each distinct text is normalized once
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def header_word(value: Any) -> str:
    """A header without a trailing unit or note in brackets (`分值（分）` → 分值)."""
    return _header_text(norm(value))


@lru_cache(maxsize=65536)
def _header_text(text: str) -> str:
    return _BRACKETED.sub("", text)


@dataclass
class Located:
    """A value as read and the cell it was read from (0-based grid row and column)."""

    text: str | None
    row: int
    col: int


@dataclass
class IndicatorRow:
    row: int
    values: dict[str, str | None]


@dataclass
class Form:
    """One 项目支出绩效自评表 as read: header fields, funds, indicator rows, totals; every value located."""

    grid: Grid
    header_row: int
    fields: dict[str, Located] = field(default_factory=dict)  # project_name, project_code, total, grade, …
    funds: dict[str, dict[str, Located]] = field(default_factory=dict)  # fund row → field → value
    columns: dict[str, int] = field(default_factory=dict)  # indicator field → grid column
    rows: list[IndicatorRow] = field(default_factory=list)
    # rows with 分值 or 得分 but no 三级指标, 指标值 or 实际完成值 (a level-1 subtotal): reported, never read as indicators
    subtotals: list[IndicatorRow] = field(default_factory=list)
    amount_unit: str = "元"
    year: int | None = None


def _text(grid: Grid, r: int, c: int) -> str | None:
    return cell_text(grid.value(r, c), grid.number_format(r, c))


def _row_words(grid: Grid, r: int) -> list[str]:
    return [header_word(v) for v in (grid.cells[r] if r < len(grid.cells) else [])]


def _spellings(vocabulary: dict[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, spellings in vocabulary.items():
        for spelling in spellings:
            out.setdefault(spelling, name)
    return out


_BY_SPELLING = {id(INDICATOR_HEADERS): _spellings(INDICATOR_HEADERS), id(FUNDS_HEADERS): _spellings(FUNDS_HEADERS)}


def _map_headers(words: list[str], vocabulary: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """field → first column whose header word spells it."""
    by_spelling = _BY_SPELLING[id(vocabulary)]
    found: dict[str, int] = {}
    for c, word in enumerate(words):
        name = by_spelling.get(word)
        if name is not None and name not in found:
            found[name] = c
    return found


def _is_indicator_header(words: list[str]) -> bool:
    mapped = _map_headers(words, INDICATOR_HEADERS)
    return "level3" in mapped and ("points" in mapped or "actual_text" in mapped)


def _right_of(grid: Grid, r: int, c: int, label: str) -> Located | None:
    """The first non-empty cell right of a label that is not the label itself (a merged label repeats)."""
    row = grid.cells[r] if r < len(grid.cells) else []
    for j in range(c + 1, len(row)):
        text = _text(grid, r, j)
        if text is None or header_word(text) == label:
            continue
        if header_word(text) in HEADER_LABELS or _LABELLED.match(norm(text)):
            return None  # the next label (`实施单位`, `金额单位：元`): this one was left blank
        return Located(text, r, j)
    return None


def _label_value(grid: Grid, r0: int, r1: int, labels: tuple[str, ...]) -> Located | None:
    """The value of the first cell in rows [r0, r1) naming one of `labels` (`项目编码：X` inline, or the cell to its right)."""
    for r in range(r0, r1):
        row = grid.cells[r] if r < len(grid.cells) else []
        for c, value in enumerate(row):
            word = norm(value)
            for label in labels:
                if word == label:
                    return _right_of(grid, r, c, label)
                if word.startswith(label) and word[len(label):len(label) + 1] in (":", "："):
                    rest = str(value).split("：", 1)[-1] if "：" in str(value) else str(value).split(":", 1)[-1]
                    return Located(rest.strip() or None, r, c)
    return None


def find_forms(grid: Grid) -> list[Form]:
    """Every self-evaluation form in `grid`, in order (none when the grid holds no form)."""
    headers = [r for r in range(len(grid.cells)) if _is_indicator_header(_row_words(grid, r))]
    anchors = [r for r in headers if r - 1 not in headers]  # a second header row (指标性质 | 指标值 …) belongs to the first
    forms: list[Form] = []
    start = 0
    for k, anchor in enumerate(anchors):
        limit = anchors[k + 1] if k + 1 < len(anchors) else len(grid.cells)
        form = _read_form(grid, start, anchor, limit)
        if form is not None:
            forms.append(form)
            start = form.fields["_end"].row + 1 if "_end" in form.fields else anchor + 1
        else:
            start = anchor + 1
    return forms


def _read_form(grid: Grid, start: int, anchor: int, limit: int) -> Form | None:
    name = _label_value(grid, start, anchor, ("项目名称",))
    if name is None:
        return None
    form = Form(grid=grid, header_row=anchor)
    form.fields["project_name"] = name
    for fld, labels in (("project_code", ("项目编码", "项目代码")), ("department", ("主管部门",)), ("unit_name", ("实施单位",))):
        found = _label_value(grid, start, anchor, labels)
        if found is not None:
            form.fields[fld] = found
    texts = [norm(v) for r in range(start, anchor) for v in (grid.cells[r] if r < len(grid.cells) else []) if v is not None]
    form.amount_unit = _amount_unit(texts)
    _read_funds(grid, start, anchor, form)
    _read_goal(grid, start, anchor, form)
    _read_indicators(grid, anchor, limit, form)
    return form


def _amount_unit(texts: list[str]) -> str:
    from selfeval.ingest.layout import amount_note

    for text in texts:
        if (unit := amount_note(text)) is not None:
            return unit
        # `项目资金（万元）`, or a funds header `全年预算数（万元）`
        if (text.startswith("项目资金") or "预算数" in text or "执行数" in text) and ("万元" in text or "千元" in text):
            return "万元" if "万元" in text else "千元"
    return "元"


def _read_funds(grid: Grid, start: int, anchor: int, form: Form) -> None:
    header = next((r for r in range(start, anchor)
                   if {"executed", "execution_rate"} <= _map_headers(_row_words(grid, r), FUNDS_HEADERS).keys()), None)
    if header is None:
        return
    columns = _map_headers(_row_words(grid, header), FUNDS_HEADERS)
    first = min(columns.values())
    for r in range(header + 1, anchor):
        label = "".join(norm(grid.value(r, c)) for c in range(first) if grid.value(r, c) is not None)
        if "目标" in label:  # 年度总体目标: the funds block has ended
            break
        kind = next((k for k, words in FUND_ROWS if any(w in label for w in words)), None)
        if kind is None or kind in form.funds:
            continue
        form.funds[kind] = {f: Located(_text(grid, r, c), r, c) for f, c in columns.items()}


def _read_goal(grid: Grid, start: int, anchor: int, form: Form) -> None:
    for r in range(start, anchor):
        for c, value in enumerate(grid.cells[r] if r < len(grid.cells) else []):
            if header_word(value) == "预期目标":
                below = _text(grid, r + 1, c)
                if below is not None and header_word(below) != "预期目标":
                    form.fields["goal"] = Located(below, r + 1, c)
                return


def _read_indicators(grid: Grid, anchor: int, limit: int, form: Form) -> None:
    columns = _map_headers(_row_words(grid, anchor), INDICATOR_HEADERS)
    first = anchor + 1
    # a second header row under a merged 年度指标值: 指标性质 | 指标值 | 度量单位
    sub = _map_headers(_row_words(grid, first), INDICATOR_HEADERS)
    if {"nature", "measure_unit"} & sub.keys():
        columns.update({k: v for k, v in sub.items() if k in ("nature", "target_text", "measure_unit", "direction")})
        first += 1
    form.columns = columns
    carried: dict[str, str | None] = {"level1": None, "level2": None}
    for r in range(first, limit):
        label = next((norm(v) for v in (grid.cells[r] if r < len(grid.cells) else []) if v is not None), "")
        if label.startswith("总分") or label in ("合计", "总计"):
            _read_totals(grid, r, limit, form)
            return
        if label.startswith(GRADE_LABELS):  # no 总分 row: the grade row ends the table (never an indicator)
            _read_grade(grid, r, form)
            return
        if header_word(label) in HEADER_LABELS or "自评表" in label:  # the next form's title or header block
            return
        values = {f: _text(grid, r, c) for f, c in columns.items()}
        if all(v is None for v in values.values()):
            continue
        for key in ("level1", "level2"):  # a merged cell read without its range (.xls) is carried down
            if values.get(key) is None:
                values[key] = carried[key]
            carried[key] = values.get(key)
        if values.get("level3") is None and values.get("target_text") is None and values.get("actual_text") is None:
            if values.get("points") is not None or values.get("weight") is not None:
                form.subtotals.append(IndicatorRow(r, values))
            continue  # a level-1 label, subtotal or spacer row
        form.rows.append(IndicatorRow(r, values))


def _read_totals(grid: Grid, r: int, limit: int, form: Form) -> None:
    points_col = form.columns.get("points")
    weight_col = form.columns.get("weight")
    total = Located(_text(grid, r, points_col), r, points_col) if points_col is not None else None
    # under 得分 when the table has one (a blank there is a blank total, not the 满分 printed under 分值)
    if total is None or (total.text is not None and header_word(total.text) == "总分"):
        total = _right_of(grid, r, 0, "总分")
    if total is not None:
        form.fields["total"] = total
    if weight_col is not None and weight_col != (total.col if total else None):
        full = _text(grid, r, weight_col)
        if full is not None and header_word(full) != "总分":
            form.fields["full_points"] = Located(full, r, weight_col)
    form.fields["_end"] = Located(None, r, 0)
    for g in range(r + 1, min(r + 4, limit if limit > r + 1 else r + 4, len(grid.cells))):
        label = next((norm(v) for v in grid.cells[g] if v is not None), "")
        if label.startswith(GRADE_LABELS):
            _read_grade(grid, g, form)
            return


def _read_grade(grid: Grid, g: int, form: Form) -> None:
    """The 自评等级 of row `g` (under 得分, else the cell right of its label); the form ends there."""
    points_col = form.columns.get("points")
    grade = Located(_text(grid, g, points_col), g, points_col) if points_col is not None else None
    if grade is None or grade.text is None or header_word(grade.text) in GRADE_LABELS:
        grade = _right_of(grid, g, 0, header_word(grid.cells[g][0]) if grid.cells[g] else "")
    if grade is not None:
        form.fields["grade"] = grade
    form.fields["_end"] = Located(None, g, 0)


def unit_line(grids: list[Grid]) -> tuple[str, str] | None:
    """(unit code, unit name) of a line `单位：480001 玉田县…` in the top rows of any grid (selfeval's 汇总)."""
    for grid in grids:
        for row in grid.cells[:6]:
            for value in row:
                if isinstance(value, str) and (m := UNIT_LINE.match(value.strip())):
                    return m.group(1), m.group(2).strip()
    return None


def year_of(grids: list[Grid]) -> int | None:
    """The year of a `（2025年度）` subtitle or title in the top rows of any grid."""
    for grid in grids:
        for row in grid.cells[:8]:
            for value in row:
                if isinstance(value, str) and (m := YEAR.search(value)):
                    return int(m.group(1))
    return None


__all__ = ["FUNDS_HEADERS", "INDICATOR_HEADERS", "Form", "IndicatorRow", "Located", "find_forms", "unit_line", "year_of"]
