"""The declared target document (SPEC.md §3.1) as a stream of paragraphs and table rows → Declaration.

The text dump reader (`text.py`) and the Word reader (`docx.py`) both turn their file into the
same stream of `Para` and `Row` items; this module reads that stream:

* part 1 (第一部分) paragraphs → `department_goals` (总体绩效目标, 分项绩效目标, 工作保障措施);
* part 2 rows, one project table after another: the unit line, 单位：元/万元, the labelled
  project fields (项目编码, 项目名称, 预算数, 财政资金, 其他资金, 资金用途, 资金支出计划, 绩效目标)
  and the indicator rows under the header row (一级指标 … 指标值 …), carrying merged cells down.

Layouts (`selfeval.ingest.layout`): a target split over 指标性质 | 指标值 | 度量单位 is combined
into target_text (`≥95%`) and direction; a 指标方向 column sets direction; 分值 is the weight.
Amounts are stored in 元: a note `单位：万元` / `金额单位：万元` (before or inside a project table) or
a label naming its unit (`项目资金（万元）`, `预算数(万元)`) gives the project's amount unit, kept in
`amount_unit`. A project without a budget keeps it null (lint: LINT_MISSING_BUDGET), an indicator
without a 三级指标 name keeps it null (LINT_MISSING_LEVEL3). A header cell of the indicator table that
is not read (备注, a second 指标值 …) is an InputWarning, once per file.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.errors import InputError, Problem
from selfeval.ingest.common import AMOUNT_MAX, header_unit, norm_label, warn_inputs
from selfeval.ingest.layout import AMOUNT_SCALES, amount_note, combined_targets


@dataclass
class Para:
    """A paragraph outside any table."""

    text: str
    line: int | None = None


@dataclass
class Row:
    """One table row: its cells' texts (stripped; "" for an empty or merged-continuation cell)."""

    cells: list[str]
    line: int | None = None
    where: str = ""


Item = Para | Row

# ------------------------------------------------------------------------------ patterns

UNIT_LINE = re.compile(r"^(?:(?:预算)?单位(?:名称|编码)?[:：]\s*)?(\d{6,15})\s*[-－—_、.．:：]?\s*([\u4e00-\u9fff（(].*)$")
AMOUNT_UNIT = re.compile(r"^\(?(?:金额|资金)?(?:单位|计量单位)[:：]\s*(万元|千元|元)\)?$")
HEADING = re.compile(r"^\s*\d+\s*[.．、]\s*(.+?)(?:项目)?绩效目标表\s*$")
PART2 = re.compile(r"^第[二2]部分")
SECTION = re.compile(
    r"^(?:[一二三四五六七八九十]+\s*[、.．]|\d+\s*[、.．])?\s*(总体绩效目标|分项绩效目标|(?:工作)?保障措施)\s*$"
)
ITEM = re.compile(r"^(?:[（(]\s*[一二三四五六七八九十百零〇\d]+\s*[）)]|\d+\s*[、.．]|[一二三四五六七八九十]+\s*、)\s*(.*)$", re.S)
GOAL_PREFIX = re.compile(r"^(?:绩效目标|目标)\s*[:：]\s*(.*)$", re.S)
INDICATOR_PREFIX = re.compile(r"^(?:绩效指标|指标)\s*[:：]\s*(.*)$", re.S)
MONTH = re.compile(r"^(3|6|10|12)月(?:底|末)?$")
YEAR_OF = re.compile(r"(20\d{2})\s*年度")
YEAR_IN = re.compile(r"(20\d{2})\s*年")

SECTIONS = {"总体绩效目标": "总体绩效目标", "分项绩效目标": "分项绩效目标", "保障措施": "工作保障措施", "工作保障措施": "工作保障措施"}
SECTION_ORDER = ("总体绩效目标", "分项绩效目标", "工作保障措施")

# Normalized label cell → project field. The cell after the label holds the value.
PROJECT_LABELS = {
    "项目编码": "project_code",
    "项目代码": "project_code",
    "项目名称": "project_name",
    "预算数": "budget",
    "年度预算数": "budget",
    "预算金额": "budget",
    "预算总额": "budget",
    "资金总额": "budget",
    "年度资金总额": "budget",
    "项目总额": "budget",
    "财政资金": "fiscal_funds",
    "财政拨款": "fiscal_funds",
    "其他资金": "other_funds",
    "资金用途": "purpose",
    "项目资金用途": "purpose",
    "绩效目标": "goal",
    "年度绩效目标": "goal",
    "项目绩效目标": "goal",
    "年度目标": "goal",
}
AMOUNT_FIELDS = ("budget", "fiscal_funds", "other_funds")
PLAN_FIELDS = {"3": "plan_mar", "6": "plan_jun", "10": "plan_oct", "12": "plan_dec"}

# Indicator header cell → field; required fields must all be present in the header row.
INDICATOR_HEADERS = {
    "一级指标": "level1",
    "二级指标": "level2",
    "三级指标": "level3",
    "三级指标名称": "level3",
    "指标名称": "level3",
    "绩效指标描述": "description",
    "指标描述": "description",
    "指标内容": "description",
    "指标值": "target_text",
    "年度指标值": "target_text",
    "目标值": "target_text",
    "指标目标值": "target_text",
    "指标值确定依据": "basis",
    "确定依据": "basis",
    "分值": "weight",
    "权重": "weight",
    "指标分值": "weight",
    "指标性质": "nature",
    "度量单位": "measure_unit",
    "计量单位": "measure_unit",
    "指标单位": "measure_unit",
    "指标方向": "direction",
    "指标方向性": "direction",
}
# Header cells of the indicator table that carry nothing to read (not warned about).
INDICATOR_IGNORED = ("序号", "编号", "")
# Words in a label that make its unit suffix the project's amount unit (`项目资金（万元）`).
AMOUNT_LABEL_WORDS = ("资金", "预算", "金额", "总额", "拨款")
INDICATOR_REQUIRED = ("level1", "level2", "level3", "target_text")


def _label(cell: str) -> str:
    """A cell as a label: normalized, without a leading 其中： and trailing (%)/（元）."""
    text = norm_label(cell)
    text = re.sub(r"^其中[:：]?", "", text)
    return header_unit(text)[0]


def _number(text: str) -> float | None:
    """A declared amount or percent as written (20000.00, 2,000, 25%, 2万) → float, else None."""
    cleaned = re.sub(r"[,\s]", "", norm_label(text))
    scale = 1.0
    if re.search(r"万元?$", cleaned):
        scale, cleaned = 1e4, re.sub(r"万元?$", "", cleaned)
    cleaned = re.sub(r"(元|%)$", "", cleaned)
    try:
        number = round(float(cleaned) * scale, 6)
    except ValueError:
        return None
    return number if math.isfinite(number) else None  # `inf`, `nan`: not a number a person wrote


# ------------------------------------------------------------------------------ the parser


@dataclass
class _Project:
    unit_code: str | None
    unit_name: str | None
    multiplier: float
    start: str
    heading: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    plans: dict[str, float | None] = field(default_factory=dict)
    header: dict[str, int] | None = None
    header_cells: list[str] = field(default_factory=list)
    indicators: list[dict[str, object]] = field(default_factory=list)


class _Parser:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.units: dict[str, str] = {}
        self.unit: tuple[str, str] | None = None
        self.multiplier = 1.0
        self.heading: str | None = None
        self.projects: list[_Project] = []
        self.project: _Project | None = None
        self.in_indicators = False
        self.texts: list[str] = []
        self.pending_plan: dict[int, str] = {}
        self.after_budget = False
        self.unread_headers: dict[str, str] = {}  # header cell → where first seen

    # -- helpers
    def problem(self, message: str, where: str = "", **kw: object) -> None:
        text = f"{where}：{message}" if where else message
        self.problems.append(Problem(file=self.file, message=text, **kw))  # type: ignore[arg-type]

    def set_unit(self, code: str, name: str) -> None:
        self.unit = (code, name.strip())
        self.units.setdefault(code, name.strip())

    def scan_unit(self, cells: list[str]) -> bool:
        """Pick up the unit line and the amount unit from a row or paragraph; True if found any."""
        found = False
        for cell in cells:
            if len(cell) <= 40 and (unit := amount_note(cell)):  # a note, not a sentence mentioning one
                self.multiplier = AMOUNT_SCALES[unit]
                if self.project is not None and self.project.header is None:  # a note inside the project's table
                    self.project.multiplier = self.multiplier
                found = True
            elif m := UNIT_LINE.match(cell.strip()):
                self.set_unit(m.group(1), m.group(2))
                found = True
        return found

    # -- part 2
    def start_project(self, row: Row) -> None:
        self.in_indicators = False
        code, name = self.unit if self.unit else (None, None)
        self.project = _Project(code, name, self.multiplier, row.where, heading=self.heading)
        self.projects.append(self.project)
        self.pending_plan: dict[int, str] = {}
        self.after_budget = False

    def row(self, row: Row) -> None:
        cells = row.cells
        labels = [_label(c) for c in cells]
        self.texts.extend(c for c in cells if c)
        nonempty = [c for c in cells if c]
        starts = {"project_code", "project_name"} & {PROJECT_LABELS.get(lab) for lab in labels}
        if self.in_indicators:
            unit_row = any(AMOUNT_UNIT.match(lab) for lab in labels) or (
                len(nonempty) <= 2 and any(UNIT_LINE.match(c) for c in nonempty)
            )
            if not unit_row and not starts:
                self.indicator_row(row)
                return
            self.in_indicators = False
        if starts and (
            self.project is None
            or self.project.header is not None
            or any(name in self.project.fields for name in starts)
        ):
            self.start_project(row)
        elif self.project is None or self.project.header is not None:
            self.scan_unit(cells)
            return
        project = self.project
        assert project is not None
        # the indicator table's header row
        header = {INDICATOR_HEADERS[lab]: i for i, lab in reversed(list(enumerate(labels))) if lab in INDICATOR_HEADERS}
        if "level3" in header and "target_text" in header:
            missing = [f for f in INDICATOR_REQUIRED if f not in header]
            if missing:
                names = "、".join(schema.LABELS[f] for f in missing)
                self.problem(f"指标表表头缺少列：{names}", row.where,
                             expected="一级指标、二级指标、三级指标、绩效指标描述、指标值、指标值确定依据")
            project.header = header
            project.header_cells = labels
            self.in_indicators = True
            for i, (cell, lab) in enumerate(zip(cells, labels)):
                if lab not in INDICATOR_IGNORED and header.get(INDICATOR_HEADERS.get(lab, "")) != i:
                    self.unread_headers.setdefault(cell, row.where)
            return
        # a label naming the amount unit: 项目资金（万元）, 预算数(万元)
        for cell in cells:
            base, unit = header_unit(cell)
            if unit in AMOUNT_SCALES and any(word in base for word in AMOUNT_LABEL_WORDS):
                project.multiplier = AMOUNT_SCALES[unit]
        # plan values under the month labels of the previous row
        if self.pending_plan:
            for i, month in self.pending_plan.items():
                if i < len(cells):
                    project.plans[PLAN_FIELDS[month]] = _number(cells[i])
            self.pending_plan = {}
        months = {i: m.group(1) for i, lab in enumerate(labels) if (m := MONTH.match(lab))}
        for i, month in months.items():
            following = cells[i + 1] if i + 1 < len(cells) else ""
            if following and not MONTH.match(_label(following)) and _number(following) is not None:
                project.plans[PLAN_FIELDS[month]] = _number(following)
            else:
                self.pending_plan[i] = month
        # labelled fields: the value is the next cell
        had_label = False
        for i, lab in enumerate(labels):
            name = PROJECT_LABELS.get(lab)
            if name is None:
                continue
            had_label = True
            value = cells[i + 1] if i + 1 < len(cells) and _label(cells[i + 1]) not in PROJECT_LABELS else ""
            project.fields.setdefault(name, value)
        # the purpose text under a merged 预算规模及资金用途 label (a row led by an empty cell)
        if (
            self.after_budget
            and not had_label
            and not months
            and cells
            and cells[0] == ""
            and "purpose" not in project.fields
            and nonempty
        ):
            project.fields["purpose"] = "\n".join(nonempty)
        self.after_budget = "budget" in {PROJECT_LABELS.get(lab) for lab in labels}
        if not had_label and not months:
            self.scan_unit(cells)

    def indicator_row(self, row: Row) -> None:
        project = self.project
        assert project is not None and project.header is not None
        width = len(project.header_cells)
        fields = {INDICATOR_HEADERS.get(_label(c)) for c in row.cells}
        if {"level3", "target_text"} <= fields:
            return  # a repeated header row (table continued on the next page)
        cells = list(row.cells)
        if len(cells) < width:  # merged leading cells left out of the row
            cells = [""] * (width - len(cells)) + cells

        def get(name: str) -> str:
            i = project.header.get(name)  # type: ignore[union-attr]
            return cells[i] if i is not None and i < len(cells) else ""

        level1, level2 = get("level1"), get("level2")
        level3, description, target = get("level3"), get("description"), get("target_text")
        if not (level3 or description or target):
            return
        previous = project.indicators[-1] if project.indicators else None
        if previous is not None and (not level1 or level1 == previous["level1"]):
            level1 = str(previous["level1"] or "")
            if not level2:  # a merged 二级 cell carries down only within its 一级 group
                level2 = str(previous["level2"] or "")
        weight_text = get("weight")
        weight = _number(weight_text) if weight_text else None
        if weight_text and weight is None:
            self.problem(f"分值不是数值：{weight_text!r}", row.where, expected="数值")
        project.indicators.append(
            {
                "level1": level1 or None,
                "level2": level2 or None,
                "level3": level3 or None,
                "description": description or None,
                "target_text": target or None,
                "basis": get("basis") or None,
                "weight": weight,
                "direction": get("direction") or None,
                "nature": get("nature") or None,
                "measure_unit": get("measure_unit") or None,
                "where": row.where,
            }
        )


def _department_goals(paras: list[Para]) -> list[dict[str, object]]:
    """Part 1 paragraphs → department goal rows (section, seq, title, goal, indicator)."""
    rows: list[dict[str, object]] = []
    section: str | None = None
    overall: list[str] = []
    current: dict[str, object] | None = None
    for para in paras:
        text = para.text.strip()
        if not text:
            continue
        if m := SECTION.match(norm_label(text)):
            section = SECTIONS[m.group(1)]
            current = None
            continue
        if section == "总体绩效目标":
            overall.append(text)
        elif section in ("分项绩效目标", "工作保障措施"):
            item = ITEM.match(text)
            if section == "分项绩效目标":
                if item and not GOAL_PREFIX.match(text) and not INDICATOR_PREFIX.match(text):
                    current = {"section": section, "title": item.group(1).strip(), "goal": None, "indicator": None}
                    rows.append(current)
                elif current is not None:
                    if m := GOAL_PREFIX.match(text):
                        current["goal"] = _join(current["goal"], m.group(1).strip())
                    elif m := INDICATOR_PREFIX.match(text):
                        current["indicator"] = _join(current["indicator"], m.group(1).strip())
                    elif current["indicator"] is not None:
                        current["indicator"] = _join(current["indicator"], text)
                    else:
                        current["goal"] = _join(current["goal"], text)
            else:
                if item:
                    body = item.group(1).strip()
                    title, _, rest = re.split(r"([。：:])", body, maxsplit=1) if re.search(r"[。：:]", body) else (body, "", "")
                    current = {"section": section, "title": title.strip(), "goal": rest.strip() or None, "indicator": None}
                    rows.append(current)
                elif current is not None:
                    current["goal"] = _join(current["goal"], text)
    if overall:
        rows.insert(0, {"section": "总体绩效目标", "title": None, "goal": "\n".join(overall), "indicator": None})
    counters: Counter[str] = Counter()
    for row in rows:
        counters[str(row["section"])] += 1
        row["seq"] = counters[str(row["section"])]
    return rows


def _join(old: object, new: str) -> str:
    return new if not old else f"{old}\n{new}"


def sort_declared(decl: Declaration) -> Declaration:
    """The canonical order: units by code; within a unit, projects in the order the document lists
    them (the official workbook follows it); indicators by (unit, that project order, seq)."""
    goals = decl.department_goals
    rank = pl.col("section").replace_strict(
        {name: i for i, name in enumerate(SECTION_ORDER)}, default=len(SECTION_ORDER), return_dtype=pl.Int32
    )
    projects = decl.projects.sort("unit_code", maintain_order=True)
    position = projects.select("unit_code", "project_code").with_row_index("_position").unique(
        ["unit_code", "project_code"], keep="first"
    )
    return Declaration(
        units=decl.units.sort("unit_code", maintain_order=True),
        projects=projects,
        indicators=decl.indicators.join(position, on=["unit_code", "project_code"], how="left", maintain_order="left")
        .sort("unit_code", "_position", "project_code", "seq", maintain_order=True, nulls_last=True)
        .drop("_position"),
        department_goals=goals.sort(pl.col("unit_code"), rank, pl.col("seq"), maintain_order=True),
        sources=decl.sources,
    )


def resolve_year(year: int | None, texts: list[str], targets: list[str], file: str) -> int:
    """The declared year: given; else a `20xx年度` in the text; else the commonest `20xx年` in the targets."""
    if year is not None:
        return int(year)
    found = Counter(m.group(1) for text in texts for m in YEAR_OF.finditer(text))
    if not found:
        found = Counter(m.group(1) for text in targets for m in YEAR_IN.finditer(text))
    if found:
        return int(found.most_common(1)[0][0])
    raise InputError(
        Problem(file=file, message="无法从文件中确定预算年度（没有“20xx年度”，指标值中也没有年份）",
                expected="用 --year 指定年度（如 --year 2025）")
    )


def parse_items(items: list[Item], *, file: str, year: int | None = None) -> Declaration:
    """Read a document's paragraphs and table rows into the canonical declared tables."""
    parser = _Parser(file)
    part1: list[Para] = []
    in_part1 = True
    for item in items:
        if isinstance(item, Para):
            text = item.text.strip()
            parser.texts.append(text)
            if PART2.match(norm_label(text)):
                in_part1 = False
                continue
            if m := HEADING.match(text):
                in_part1 = False
                parser.in_indicators = False
                parser.heading = m.group(1).strip()
                continue
            if in_part1:
                part1.append(item)
            if text:
                parser.in_indicators = False
                if len(text) <= 80:
                    parser.scan_unit([text])
            continue
        in_part1 = False
        parser.row(item)

    if not parser.projects:
        raise InputError(
            Problem(file=file, message="没有找到项目绩效目标表（含“项目编码/项目名称”和“三级指标/指标值”的表格）",
                    expected="绩效目标表：项目编码、项目名称、预算数、资金支出计划、绩效目标及指标表")
        )
    if not parser.units:
        parser.problem("没有找到单位行（如“480001某某单位”）", expected="每个项目表前写明单位编码和单位名称")

    project_rows: list[dict[str, object]] = []
    indicator_rows: list[dict[str, object]] = []
    for project in parser.projects:
        where = project.start
        f = project.fields
        code = f.get("project_code", "").strip()
        name = f.get("project_name", "").strip() or (project.heading or "")
        if not code:
            parser.problem("项目表缺少项目编码", where, expected="“项目编码”单元格及其右侧的编码")
            code = f"?{len(project_rows) + 1}"
        amounts: dict[str, float | None] = {}
        for key in AMOUNT_FIELDS:
            text = f.get(key, "").strip()
            value = _number(text) if text else None
            if text and value is None:
                parser.problem(f"项目 {code} 的{schema.LABELS[key]}不是数值：{text!r}", where, expected="金额")
            scale = 1.0 if re.search(r"万元?$", text) else project.multiplier
            if value is not None and not 0 <= value * scale <= AMOUNT_MAX:
                parser.problem(f"项目 {code} 的{schema.LABELS[key]}{'是负数' if value < 0 else '超出合理范围'}：{text!r}", where,
                               expected=f"0 到 {AMOUNT_MAX:g} 元之间的金额")
                value = None
            amounts[key] = round(value * scale, 2) if value is not None else None
        known = any(v is not None for v in amounts.values())  # no amount at all: budget stays null (lint reports it)
        if amounts["budget"] is None and known:
            amounts["budget"] = round((amounts["fiscal_funds"] or 0.0) + (amounts["other_funds"] or 0.0), 2)
        if project.header is None:
            parser.problem(f"项目 {code} 没有指标表（缺少“一级指标/二级指标/三级指标/指标值”表头行）", where,
                           expected="指标表表头：一级指标、二级指标、三级指标、绩效指标描述、指标值、指标值确定依据")
        elif not project.indicators:
            parser.problem(f"项目 {code} 的指标表没有指标行", where)
        unit_code = project.unit_code or (next(iter(parser.units)) if parser.units else None)
        project_rows.append(
            {
                "unit_code": unit_code,
                "project_code": code,
                "project_name": name or None,
                "budget": amounts["budget"],
                "fiscal_funds": (amounts["fiscal_funds"] or 0.0) if known else None,
                "other_funds": (amounts["other_funds"] or 0.0) if known else None,
                "purpose": f.get("purpose", "").strip() or None,
                "goal": f.get("goal", "").strip() or None,
                **{name_: project.plans.get(name_) for name_ in PLAN_FIELDS.values()},
                "amount_unit": next((u for u, v in AMOUNT_SCALES.items() if v == project.multiplier), "元"),
            }
        )
        for seq, indicator in enumerate(project.indicators, start=1):
            if not indicator["level1"]:
                parser.problem(f"项目 {code} 第 {seq} 个指标没有一级指标", str(indicator["where"]))
            indicator_rows.append(
                {
                    "unit_code": unit_code,
                    "project_code": code,
                    "indicator_id": f"{code}-{seq:02d}",
                    "seq": seq,
                    **{k: v for k, v in indicator.items() if k != "where"},
                }
            )
    codes = Counter(str(r["project_code"]) for r in project_rows)
    for code, n in codes.items():
        if n > 1:
            parser.problem(f"项目编码 {code} 出现了 {n} 次", expected="每个项目编码只出现一次")
    if parser.problems:
        raise InputError(parser.problems)

    year_value = resolve_year(year, parser.texts, [str(r["target_text"] or "") for r in indicator_rows], file)
    units = pl.DataFrame(
        {"unit_code": list(parser.units), "unit_name": list(parser.units.values()), "year": [year_value] * len(parser.units)},
        schema=schema.UNITS,
    )
    indicators = combined_targets(
        pl.DataFrame(indicator_rows, schema={**schema.INDICATORS, "nature": pl.String, "measure_unit": pl.String})
    )
    warn_inputs(
        Problem(file=file, message=f"{where}：指标表的列“{cell}”未读取",
                expected="一级指标、二级指标、三级指标、绩效指标描述、指标性质、指标值、度量单位、指标方向、分值、指标值确定依据")
        for cell, where in parser.unread_headers.items()
    )
    first_unit = next(iter(parser.units))
    goals = [{"unit_code": first_unit, **row} for row in _department_goals(part1)]
    decl = Declaration(
        units=units,
        projects=schema.conform(pl.DataFrame(project_rows, schema=schema.PROJECTS), schema.PROJECTS),
        indicators=schema.conform(indicators, schema.INDICATORS),
        department_goals=schema.conform(
            pl.DataFrame(goals, schema=schema.DEPARTMENT_GOALS) if goals else schema.empty(schema.DEPARTMENT_GOALS),
            schema.DEPARTMENT_GOALS,
        ),
        sources=(file,),
    )
    return sort_declared(decl)
