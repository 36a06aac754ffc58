"""The findings catalogue and the one findings frame (SPEC.md §8).

A finding has a code, a severity, a location (unit, project, seq, column), the value seen and a
Chinese message rendered from the catalogue's template.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from selfeval import schema


@dataclass(frozen=True)
class FindingKind:
    code: str
    name: str
    severity: str
    template: str
    why: str


CATALOGUE: dict[str, FindingKind] = {
    k.code: k
    for k in (
        FindingKind("MISSING_ACTUAL", "缺少实际完成值", "error",
                    "指标“{level3}”没有填写实际完成值，无法评分",
                    "未填写的指标不得分也不能视为零分，须补齐后才能得出完整的自评结果"),
        FindingKind("UNPARSEABLE", "无法解析", "error",
                    "{column_label}“{value}”无法解析：{detail}",
                    "无法识别的数值不能与目标比较"),
        FindingKind("UNIT_MISMATCH", "计量单位不一致", "error",
                    "实际完成值“{value}”的计量口径（{actual_dim}）与指标值“{target}”（{target_dim}）不一致",
                    "不同口径的数值不能直接比较，须按指标值的口径填写"),
        FindingKind("KEY_MISMATCH", "指标不匹配", "error",
                    "{detail}",
                    "实际完成值必须对应已申报的指标，否则会错配或丢失"),
        FindingKind("MISSING_REASON", "缺少偏差原因", "warning",
                    "指标“{level3}”{detail}，但未填写偏差原因分析及改进措施",
                    "财预〔2020〕10号要求对未完成或超额较多的指标说明原因"),
        FindingKind("OVERSHOOT", "超额完成较多", "warning",
                    "指标“{level3}”完成值{value}为指标值{target}的{ratio}倍，可能指标值设置偏低",
                    "完成值远高于指标值通常说明目标设置保守，需说明原因"),
        FindingKind("SCHEDULE", "支出进度滞后", "warning",
                    "{checkpoint}累计支出 {executed} 元（{rate}），低于计划 {plan}",
                    "支出进度落后于计划会影响资金效益"),
        FindingKind("WEIGHTS_SUM", "分值合计不符", "warning",
                    "项目指标分值合计 {total}，与应有的 {expected} 分不一致",
                    "分值合计不为满分时总分失真"),
        FindingKind("MISSING_EXECUTION", "缺少预算执行数据", "error",
                    "项目没有全年预算数或全年执行数，预算执行率无法评分",
                    "预算执行率是自评的必备指标"),
        FindingKind("UNKNOWN_LEVEL1", "一级指标无法识别", "error",
                    "一级指标“{value}”不在规则集的一级指标及别名中，无法分配分值",
                    "一级指标决定分值，无法识别的一级指标无法评分"),
        FindingKind("INVALID_TIER", "定性档次无效", "error",
                    "{detail}",
                    "定性指标须按达成/部分达成/未达成三档评分"),
    )
}


def concat_findings(parts: list[pl.LazyFrame | pl.DataFrame], *, scenario: bool = False) -> pl.DataFrame:
    """One findings frame, cast to the fixed schema and sorted by location.

    With `scenario=True` the parts carry a `scenario` column, kept first.
    """
    target = pl.Schema({"scenario": pl.String, **schema.FINDINGS}) if scenario else schema.FINDINGS
    if not parts:
        return schema.empty(target)
    severities = {code: kind.severity for code, kind in CATALOGUE.items()}
    frames = [
        schema.conform(p, target).with_columns(
            pl.coalesce(
                pl.col("severity"),
                pl.col("code").replace_strict(severities, default=None, return_dtype=pl.String),
            ).alias("severity")
        )
        for p in parts
    ]
    severity_rank = pl.col("severity").replace_strict({"error": 0, "warning": 1, "info": 2}, default=3)
    return (
        pl.concat(frames, how="vertical")
        .sort([*(["scenario"] if scenario else []), "unit_code", "project_code", "seq", severity_rank, "code"],
              nulls_last=True)
    )


# Target-quality lint kinds (issue 7), declared in selfeval/lint/catalogue.py and merged here so
# that every consumer of CATALOGUE (concat_findings, reports) knows them. Kept at the end: the
# catalogue module imports FindingKind from this one.
from selfeval.lint.catalogue import LINT_CATALOGUE  # noqa: E402

CATALOGUE.update(LINT_CATALOGUE)
