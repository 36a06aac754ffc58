"""The canonical frames' columns and dtypes, declared once (SPEC.md §3.2, §6.1).

Every reader produces exactly these schemas; every later stage reads only these.
"""

from __future__ import annotations

import polars as pl

from selfeval.checkpoints import SPENT_COLUMNS, month_label

UNITS = pl.Schema({"unit_code": pl.String, "unit_name": pl.String, "year": pl.Int32})

PROJECTS = pl.Schema(
    {
        "unit_code": pl.String,
        "project_code": pl.String,
        "project_name": pl.String,
        "category": pl.String,  # 项目类别 (read by `department: category`); null when the table has none
        "budget": pl.Float64,
        "fiscal_funds": pl.Float64,
        "other_funds": pl.Float64,
        "purpose": pl.String,
        "goal": pl.String,
        "plan_mar": pl.Float64,
        "plan_jun": pl.Float64,
        "plan_oct": pl.Float64,
        "plan_dec": pl.Float64,
        "amount_unit": pl.String,  # the unit the amounts were written in (元, 千元, 万元); amounts are stored in 元
    }
)

INDICATORS = pl.Schema(
    {
        "unit_code": pl.String,
        "project_code": pl.String,
        "indicator_id": pl.String,
        "seq": pl.Int32,
        "level1": pl.String,
        "level2": pl.String,
        "level3": pl.String,
        "description": pl.String,
        "target_text": pl.String,
        "basis": pl.String,
        "weight": pl.Float64,
        # 指标方向 as the table states it: ge (正向/≥), le (反向/≤), eq (=), qualitative (定性); null when not stated
        "direction": pl.String,
    }
)

# Part 1 of a declaration: section ∈ 总体绩效目标 / 分项绩效目标 / 工作保障措施.
DEPARTMENT_GOALS = pl.Schema(
    {
        "unit_code": pl.String,
        "section": pl.String,
        "seq": pl.Int32,
        "title": pl.String,
        "goal": pl.String,
        "indicator": pl.String,
    }
)

ACTUALS = pl.Schema(
    {
        "unit_code": pl.String,
        "project_code": pl.String,
        "seq": pl.Int32,
        "level3": pl.String,
        "actual_text": pl.String,
        "deviation_reason": pl.String,
        "tier": pl.String,
        "fraction": pl.Float64,
        "weight": pl.Float64,  # 分值 written on the actuals row (used when the declaration has none)
        "points": pl.Float64,  # the evaluator's own score for the row (an override, kept beside the rule's)
    }
)

EXECUTION = pl.Schema(
    {
        "unit_code": pl.String,
        "project_code": pl.String,
        "year_budget": pl.Float64,
        "executed": pl.Float64,
        **dict.fromkeys(SPENT_COLUMNS.values(), pl.Float64),  # cumulative spending at each month end
        "amount_unit": pl.String,  # the unit the amounts were written in (元, 千元, 万元); amounts are stored in 元
    }
)

# Output of the value grammar, one row per input text (SPEC.md §4).
PARSED_VALUES = pl.Schema(
    {
        "text": pl.String,
        "op": pl.String,
        "value": pl.Float64,
        "value_hi": pl.Float64,
        "deadline": pl.Date,
        "unit": pl.String,
        "dimension": pl.String,
        "error": pl.String,
        "scale": pl.Float64,  # value / the number as written (万元 1e4, 千元 1e3, 公里 1e3, none 1)
        "unit_text": pl.String,  # multiplier and unit as written: 万元, 万人次, %, 元/月
        "op_written": pl.Boolean,  # the text wrote the op (≥, 不少于, 以上 …); False for a bare value
    }
)

OPS = ("ge", "le", "gt", "lt", "eq", "range", "deadline", "qualitative")
DIMENSIONS = ("percent", "money", "count", "duration", "date", "other")

FINDINGS = pl.Schema(
    {
        "code": pl.String,
        "severity": pl.String,
        "unit_code": pl.String,
        "project_code": pl.String,
        "seq": pl.Int32,
        "column": pl.String,
        "value": pl.String,
        "message": pl.String,
    }
)

SEVERITIES = ("error", "warning", "info")

# The tables readers produce, by name (a folder of canonical tables holds files named so).
DECLARED_TABLES = {
    "units": UNITS,
    "projects": PROJECTS,
    "indicators": INDICATORS,
    "department_goals": DEPARTMENT_GOALS,
}


def empty(schema: pl.Schema) -> pl.DataFrame:
    """An empty frame of the given schema."""
    return pl.DataFrame(schema=schema)


def conform(frame: pl.DataFrame | pl.LazyFrame, schema: pl.Schema) -> pl.DataFrame:
    """Select and cast `frame` to `schema`, adding missing nullable columns as nulls."""
    lazy = frame.lazy()
    present = lazy.collect_schema().names()
    exprs = [
        (pl.col(name) if name in present else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in schema.items()
    ]
    return lazy.select(exprs).collect(engine="in-memory")

# ---------------------------------------------------------------- results (SPEC.md §6.1)

# The three canonical level-1 groups every level-1 name maps onto (via the rule set's aliases),
# and the project_scores column holding each group's points.
LEVEL1_GROUPS = {"产出指标": "output_points", "效益指标": "effect_points", "满意度指标": "satisfaction_points"}

INDICATOR_SCORES = pl.Schema(
    {
        "unit_code": pl.String,
        "project_code": pl.String,
        "indicator_id": pl.String,
        "seq": pl.Int32,
        "level1": pl.String,
        "level1_group": pl.String,
        "level2": pl.String,
        "level3": pl.String,
        "target_text": pl.String,
        "actual_text": pl.String,
        "deviation_reason": pl.String,
        "target_op": pl.String,
        "target_value": pl.Float64,
        "target_value_hi": pl.Float64,
        "target_unit": pl.String,
        "target_dimension": pl.String,
        "target_deadline": pl.Date,
        "actual_op": pl.String,
        "actual_value": pl.Float64,
        "actual_unit": pl.String,
        "actual_dimension": pl.String,
        "actual_deadline": pl.Date,
        "tier": pl.String,
        "direction": pl.String,  # the op the target was scored by (ge/le/eq/range/deadline/qualitative)
        "direction_source": pl.String,  # 指标值写明 | 指标方向 | 规则默认
        "ratio": pl.Float64,
        "weight": pl.Float64,
        "fraction": pl.Float64,
        "rule_points": pl.Float64,  # the points the rules give
        "points": pl.Float64,  # the points counted: the rule's, or the evaluator's own within the weight
        "status": pl.String,  # scored | unscorable
        "explain": pl.String,
    }
)

PROJECT_SCORES = pl.Schema(
    {
        "unit_code": pl.String,
        "project_code": pl.String,
        "project_name": pl.String,
        "category": pl.String,
        "budget": pl.Float64,
        "year_budget": pl.Float64,
        "executed": pl.Float64,
        "execution_rate": pl.Float64,
        "execution_weight": pl.Float64,
        "execution_points": pl.Float64,
        "output_points": pl.Float64,
        "effect_points": pl.Float64,
        "satisfaction_points": pl.Float64,
        "total": pl.Float64,
        "complete": pl.Boolean,
        "grade": pl.String,
    }
)

UNIT_SCORES = pl.Schema(
    {
        "unit_code": pl.String,
        "unit_name": pl.String,
        "year": pl.Int32,
        "budget": pl.Float64,
        "executed": pl.Float64,
        "total": pl.Float64,
        "grade": pl.String,
        "projects": pl.Int32,
        "complete": pl.Boolean,
    }
)

# Chinese label of every column a person reads (workbooks, CLI tables, template headers).
# Readers accept either the identifier or the label as a header.
LABELS: dict[str, str] = {
    "unit_code": "单位编码",
    "unit_name": "单位名称",
    "year": "年度",
    "project_code": "项目编码",
    "project_name": "项目名称",
    "category": "项目类别",
    "budget": "预算数",
    "fiscal_funds": "财政资金",
    "other_funds": "其他资金",
    "purpose": "资金用途",
    "goal": "绩效目标",
    "plan_mar": "3月底支出计划（%）",
    "plan_jun": "6月底支出计划（%）",
    "plan_oct": "10月底支出计划（%）",
    "plan_dec": "12月底支出计划（%）",
    "indicator_id": "指标编号",
    "seq": "序号",
    "level1": "一级指标",
    "level1_group": "一级指标归类",
    "level2": "二级指标",
    "level3": "三级指标",
    "description": "绩效指标描述",
    "target_text": "指标值",
    "basis": "指标值确定依据",
    "weight": "分值",
    "amount_unit": "原金额单位",
    "actual_text": "实际完成值",
    "deviation_reason": "偏差原因分析及改进措施",
    "tier": "定性评价档次",
    "fraction": "档内得分比例",
    "year_budget": "全年预算数",
    "executed": "全年执行数",
    **{column: f"{month_label(c)}累计执行数" for c, column in SPENT_COLUMNS.items()},
    "execution_rate": "执行率",
    "execution_weight": "执行率分值",
    "execution_points": "执行率得分",
    "output_points": "产出指标得分",
    "effect_points": "效益指标得分",
    "satisfaction_points": "满意度指标得分",
    "total": "总分",
    "complete": "是否完整",
    "grade": "自评等级",
    "projects": "项目数",
    "ratio": "完成比例",
    "points": "得分",
    "rule_points": "规则得分",
    "direction": "指标方向",
    "direction_source": "方向依据",
    "status": "状态",
    "explain": "计算过程",
    "code": "问题代码",
    "severity": "严重程度",
    "column": "字段",
    "value": "值",
    "message": "说明",
    "section": "类别",
    "title": "标题",
    "indicator": "绩效指标",
}


# ---------------------------------------------------------------- stage hand-offs (issue 11)
# The frames one pipeline stage hands to the next (prepare → check → score → rollup → findings).
# `validated` checks a hand-off against its declaration when SELFEVAL_VALIDATE_STAGES is set
# (the test suite sets it), listing every problem at once.

_PARSED_SIDE = {"op": pl.String, "value": pl.Float64, "value_hi": pl.Float64, "deadline": pl.Date,
                "unit": pl.String, "dimension": pl.String, "error": pl.String, "scale": pl.Float64,
                "unit_text": pl.String, "op_written": pl.Boolean}

CASES = pl.Schema(
    {
        "_case": pl.UInt32,
        "target_text": pl.String,
        "actual_text": pl.String,
        "year": pl.Int32,
        "tier": pl.String,
        "fraction": pl.Float64,
        "_group_known": pl.Boolean,
        "_key_problem": pl.Boolean,
        "_direction_hint": pl.String,
        "_direction_from_column": pl.Boolean,
        **{f"target_{k}": v for k, v in _PARSED_SIDE.items()},
        **{f"actual_{k}": v for k, v in _PARSED_SIDE.items()},
        "direction": pl.String,  # the op the target is scored by (a bare value's resolved direction)
        "direction_source": pl.String,  # 指标值写明 | 指标方向 | 规则默认
        "_assumed_unit": pl.String,  # the target unit a bare actual number was read in
        "_tier": pl.String,
        "_problem": pl.String,
    }
)

CHECKED = pl.Schema(
    {
        "_order": pl.UInt32,
        "_pid": pl.UInt32,
        "_ik": pl.Int64,
        "_case": pl.UInt32,
        "unit_code": pl.String,
        "project_code": pl.String,
        "indicator_id": pl.String,
        "seq": pl.Int32,
        "level1": pl.String,
        "level1_group": pl.String,
        "level1_points": pl.Float64,  # the points written in the level-1 label (`产出指标(50分)`), null when none
        "_level1_hint": pl.String,  # an unknown label's closest known level-1 name
        "level2": pl.String,
        "level3": pl.String,
        "target_text": pl.String,
        "weight": pl.Float64,
        "year": pl.Int32,
        "_actual_level3": pl.String,
        "actual_text": pl.String,
        "deviation_reason": pl.String,
        "tier": pl.String,
        "fraction": pl.Float64,
        "_n_actual": pl.UInt32,
        "_given_points": pl.Float64,
        "_explicit": pl.Boolean,
        "_has_output": pl.Boolean,
        "_has_effect": pl.Boolean,
        "_has_satisfaction": pl.Boolean,
        "_divisor": pl.Float64,
        "target_op": pl.String,
        "_tier": pl.String,
        "_problem": pl.String,
        "_message": pl.String,
    }
)

CHECKED_EXECUTION = pl.Schema(
    {
        **PROJECTS,
        "_pid": pl.UInt32,
        "_n_execution": pl.UInt32,
        "year_budget": pl.Float64,
        "executed": pl.Float64,
        **dict.fromkeys(SPENT_COLUMNS.values(), pl.Float64),  # cumulative spending at each month end
        "_has_execution": pl.Boolean,
    }
)


class StageError(AssertionError):
    """A stage handed on a frame that does not match its declaration (a bug, not bad input)."""


def stage_problems(frame: pl.DataFrame, declared: pl.Schema) -> list[str]:
    """Every difference between `frame`'s columns and `declared`: missing, extra, wrong dtype, order."""
    problems = []
    have = frame.schema
    for name, dtype in declared.items():
        if name not in have:
            problems.append(f"missing column {name!r} ({dtype})")
        elif have[name] != dtype:
            problems.append(f"column {name!r} is {have[name]}, declared {dtype}")
    problems += [f"undeclared column {name!r} ({have[name]})" for name in have if name not in declared]
    if not problems and list(have) != list(declared):
        problems.append(f"columns out of declared order: {list(have)}")
    return problems


def validating() -> bool:
    import os

    return bool(os.environ.get("SELFEVAL_VALIDATE_STAGES"))


def validated(frame: pl.DataFrame, declared: pl.Schema, stage: str) -> pl.DataFrame:
    """`frame` unchanged; in validation mode, raise StageError listing every mismatch."""
    if validating():
        problems = stage_problems(frame, declared)
        if problems:
            raise StageError(f"stage {stage!r} hand-off does not match its declaration: " + "; ".join(problems))
    return frame
