"""The audit finding kinds (issue 14), registered into the one findings CATALOGUE.

Each kind declares its code, name, severity, message template and why, and its checks: the stage
(`audit_indicator`, `audit_group`, `audit_project`, `audit_cell`), the condition over that stage's
frame (built in `compare.py`), the column it locates and the claimed value it quotes. The rule's
value a claim is compared with is named per code in `EXPECTED` (a column of the same frame).
Tolerances come from the frame's `_tol` (the rule set's `audit.tolerance`), never from here.

Stage frames (one row per …):
* audit_indicator — indicator: `claimed_points`, `claimed_weight`, the rule's `weight` and
  `rule_points`, `status`, `target_op`, `tier`, `_band_lo`/`_band_hi`, `deviation_reason`, `explain`;
* audit_group — project × level-1 group: `_claimed_sum`, `_rule_sum`, `_label_points`, `_complete`;
* audit_project — project: claimed and recomputed total, grade, rate, execution points, 分值 sums,
  funds and their parts, `_dup_rank`;
* audit_cell — a number cell that does not read as a number.
"""

from __future__ import annotations

import polars as pl

from selfeval.findings import CATALOGUE, Check, FindingKind, quoted

T = pl.col("_tol")


def _num(expr: pl.Expr, decimals: int = 2) -> pl.Expr:
    from selfeval.expressions import num_text

    return num_text(expr, decimals)


def _pct(expr: pl.Expr) -> pl.Expr:
    from selfeval.expressions import pct_text

    return pct_text(expr)


# --------------------------------------------------------------------------- indicator conditions

_SCORED = pl.col("status") == "scored"
_CLAIMED = pl.col("claimed_points")
_QUAL = pl.col("target_op") == "qualitative"
_REASON = pl.col("deviation_reason").is_not_null()
# The points a row can hold: its printed 分值, else the rule's weight.
_FULL = pl.coalesce(pl.col("claimed_weight"), pl.col("weight"))
_ABOVE = _CLAIMED > _FULL + T
_MET = pl.col("rule_points") >= pl.col("weight") - T
_UNMET_FULL = _SCORED & ~_QUAL & ~_ABOVE & ~_MET & (_CLAIMED >= pl.col("weight") - T)
_MET_DEDUCTED = _SCORED & ~_QUAL & _MET & (_CLAIMED < pl.col("rule_points") - T) & ~_REASON
_OUT_OF_BAND = _SCORED & _QUAL & ~_ABOVE & (
    (_CLAIMED < pl.col("_band_lo") * pl.col("weight") - T) | (_CLAIMED > pl.col("_band_hi") * pl.col("weight") + T)
)
_DIFFERS = (_SCORED & ~_QUAL & ~_ABOVE & ~_UNMET_FULL & ~_MET_DEDUCTED
            & ((_CLAIMED - pl.col("rule_points")).abs() > T))
_IND = {"level3": pl.col("level3").fill_null(""), "claimed": _num(_CLAIMED), "rule": _num(pl.col("rule_points")),
        "weight": _num(_FULL), "explain": pl.col("explain").fill_null(""), "reason": quoted(pl.col("deviation_reason"))}


def _ind(when: pl.Expr, column: str = "points", **extra: pl.Expr) -> Check:
    return Check("audit_indicator", lambda r, w=when: w, column=column, value=lambda r: _num(_CLAIMED),
                 fields=lambda r: {**_IND, **extra})


# --------------------------------------------------------------------------- project conditions

_P = {"project": pl.concat_str([pl.lit("“"), quoted(pl.col("project_name").fill_null(pl.col("project_code"))), pl.lit("”")])}


def _written(column: str) -> pl.Expr:
    """An amount (stored in 元) as the form wrote it: in its own unit, with the unit (`9.5万元`)."""
    return pl.concat_str([_num(pl.col(column) / pl.col("_scale").fill_null(1.0)), pl.col("amount_unit").fill_null("元")])


def _differs(claimed: str, rule: str, tol: pl.Expr = T) -> pl.Expr:
    return pl.col(claimed).is_not_null() & pl.col(rule).is_not_null() & ((pl.col(claimed) - pl.col(rule)).abs() > tol)


def _part_check(field: str, label: str) -> Check:
    parts = [f"{p}_{field}" for p in ("fiscal", "other", "carryover")]
    present = pl.any_horizontal(pl.col(p).is_not_null() for p in parts)
    total = pl.sum_horizontal(pl.col(p).fill_null(0.0) for p in parts)
    return Check(
        "audit_project",
        lambda r: present & pl.col(f"claimed_{field}").is_not_null()
        & ((pl.col(f"claimed_{field}") - total).abs() > T * pl.col("_scale")),
        variant=field, column=field, value=lambda r: _num(pl.col(f"claimed_{field}") / pl.col("_scale")),
        fields=lambda r: {**_P, "label": pl.lit(label), "total": _num(pl.col(f"claimed_{field}") / pl.col("_scale")),
                          "parts": _num(total / pl.col("_scale")), "unit": pl.col("amount_unit")},
    )


AUDIT_KINDS: tuple[FindingKind, ...] = (
    FindingKind(
        "AUDIT_ABOVE_WEIGHT", "得分超过分值", "error",
        "指标“{level3}”自评得分 {claimed} 超过其分值 {weight}；按规则应得 {rule}（{explain}）",
        "一项指标的得分不能超过它的分值",
        (_ind(_ABOVE),),
    ),
    FindingKind(
        "AUDIT_MET_DEDUCTED", "完成目标却扣分且未说明", "error",
        "指标“{level3}”已完成指标值，按规则应得满分 {rule}，自评只给 {claimed}，且未填写偏差原因（{explain}）",
        "完成指标值的，记全部分值；扣分须在偏差原因分析及改进措施中说明理由",
        (_ind(_MET_DEDUCTED),),
    ),
    FindingKind(
        "AUDIT_UNMET_FULL", "未完成目标却给满分", "error",
        "指标“{level3}”未完成指标值，按规则应得 {rule}（{explain}），自评给了满分 {claimed}",
        "未完成的，按照完成值与指标值的比例记分，不能记满分",
        (_ind(_UNMET_FULL),),
    ),
    FindingKind(
        "AUDIT_TIER_BAND", "定性得分超出档次区间", "error",
        "定性指标“{level3}”评价为“{tier}”，该档得分应在 {lo} 至 {hi} 分之间，自评给了 {claimed}",
        "定性指标按达成/部分达成/未达成三档记分，得分须在所评档次的区间内",
        (_ind(_OUT_OF_BAND, tier=pl.col("tier").fill_null(""), lo=_num(pl.col("_band_lo") * pl.col("weight")),
              hi=_num(pl.col("_band_hi") * pl.col("weight"))),),
    ),
    FindingKind(
        "AUDIT_POINTS", "得分与规则不符", "error",
        "指标“{level3}”自评得分 {claimed}，按规则应得 {rule}（{explain}），且未说明原因",
        "自评得分须能按评分规则复算；与规则不同而不说明理由的，审核不予认可",
        (_ind(_DIFFERS & ~_REASON),),
    ),
    FindingKind(
        "AUDIT_POINTS_EXPLAINED", "得分与规则不符（已说明原因）", "warning",
        "指标“{level3}”自评得分 {claimed}，按规则应得 {rule}（{explain}）；填写的原因：{reason}",
        "与规则不同的得分附有理由，须由审核人判断理由是否成立",
        (_ind(_DIFFERS & _REASON),),
    ),
    FindingKind(
        "AUDIT_POINTS_MISSING", "未填写得分", "error",
        "指标“{level3}”未填写自评得分，按规则应得 {rule}（{explain}）",
        "每项可评分的指标都须给出得分，总分才能复核",
        (Check("audit_indicator", lambda r: _SCORED & _CLAIMED.is_null() & pl.col("_points_blank"), column="points",
               value=lambda r: pl.lit(None, pl.String), fields=lambda r: _IND),),
    ),
    FindingKind(
        "AUDIT_WEIGHTS_LEVEL1", "一级指标分值与规则不符", "warning",
        {"rule": "项目{project}“{group}”各指标分值合计 {claimed}，规则为 {rule} 分",
         "label": "项目{project}一级指标“{level1}”写明 {label} 分，其下各指标分值合计 {claimed}"},
        "各一级指标的分值须符合所选规则（财预〔2020〕10号：产出 50、效益 30、满意度 10、预算执行率 10）",
        (
            Check("audit_group", lambda r: pl.col("_complete") & _differs("_claimed_sum", "_rule_sum", pl.col("_wtol")), variant="rule",
                  column="weight", value=lambda r: _num(pl.col("_claimed_sum")),
                  fields=lambda r: {**_P, "group": pl.col("level1_group"), "claimed": _num(pl.col("_claimed_sum")),
                                    "rule": _num(pl.col("_rule_sum"))}),
            Check("audit_group", lambda r: pl.col("_complete") & _differs("_claimed_sum", "_label_points", pl.col("_wtol")), variant="label",
                  column="level1", value=lambda r: pl.col("level1"),
                  fields=lambda r: {**_P, "level1": quoted(pl.col("level1")), "label": _num(pl.col("_label_points")),
                                    "claimed": _num(pl.col("_claimed_sum"))}),
        ),
    ),
    FindingKind(
        "AUDIT_WEIGHTS_TOTAL", "分值合计不为满分", "error",
        {"total": "项目{project}各指标分值合计 {indicators} 加预算执行率分值 {execution}，共 {claimed}，不等于满分 {full}",
         "execution": "项目{project}预算执行率分值 {claimed}，规则为 {rule} 分"},
        "分值合计不为满分时，总分与等级都失真",
        (
            Check("audit_project", lambda r: pl.col("_weights_complete") & _differs("_weights_total", "_total_points", pl.col("_wtol")),
                  variant="total", column="full_points", value=lambda r: _num(pl.col("_weights_total")),
                  fields=lambda r: {**_P, "indicators": _num(pl.col("_weights_sum")),
                                    "execution": _num(pl.col("claimed_execution_weight").fill_null(0.0)),
                                    "claimed": _num(pl.col("_weights_total")), "full": _num(pl.col("_total_points"))}),
            Check("audit_project", lambda r: _differs("claimed_execution_weight", "execution_weight"), variant="execution",
                  column="execution_weight", value=lambda r: _num(pl.col("claimed_execution_weight")),
                  fields=lambda r: {**_P, "claimed": _num(pl.col("claimed_execution_weight")),
                                    "rule": _num(pl.col("execution_weight"))}),
        ),
    ),
    FindingKind(
        "AUDIT_TOTAL_SUM", "总分不等于各项得分之和", "error",
        "项目{project}总分填写 {claimed}，各指标得分与预算执行率得分之和为 {parts}",
        "总分应为各项得分之和，加总错误直接影响等级",
        (Check("audit_project", lambda r: _differs("claimed_total", "_parts_sum"), column="total",
               value=lambda r: _num(pl.col("claimed_total")),
               fields=lambda r: {**_P, "claimed": _num(pl.col("claimed_total")), "parts": _num(pl.col("_parts_sum"))}),),
    ),
    FindingKind(
        "AUDIT_TOTAL_RULE", "总分与复算结果不符", "error",
        "项目{project}总分填写 {claimed}，按规则复算为 {rule}（相差 {diff}）",
        "自评总分须能按评分规则复算",
        (Check("audit_project", lambda r: pl.col("complete").fill_null(False) & _differs("claimed_total", "total"), column="total",
               value=lambda r: _num(pl.col("claimed_total")),
               fields=lambda r: {**_P, "claimed": _num(pl.col("claimed_total")), "rule": _num(pl.col("total")),
                                 "diff": _num(pl.col("claimed_total") - pl.col("total"))}),),
    ),
    FindingKind(
        "AUDIT_GRADE", "自评等级与总分不符", "error",
        "项目{project}总分 {total} 对应等级“{band}”，填写的自评等级为“{claimed}”",
        "等级由总分所在的分数段决定（90 分及以上为优，80 分及以上为良，60 分及以上为中，其余为差）",
        (Check("audit_project", lambda r: pl.col("claimed_grade").is_not_null() & pl.col("_claimed_band").is_not_null()
               & (pl.col("claimed_grade") != pl.col("_claimed_band")), column="grade", value=lambda r: pl.col("claimed_grade"),
               fields=lambda r: {**_P, "total": _num(pl.col("claimed_total")), "band": pl.col("_claimed_band"),
                                 "claimed": quoted(pl.col("claimed_grade"))}),),
    ),
    FindingKind(
        "AUDIT_RATE", "执行率计算错误", "error",
        "项目{project}执行率填写 {claimed}，全年执行数 {executed} ÷ 全年预算数 {budget} = {rule}",
        "执行率 = 全年执行数 ÷ 全年预算数，是预算执行得分的依据",
        (Check("audit_project", lambda r: _differs("claimed_rate", "execution_rate", pl.col("_rate_tol")), column="execution_rate",
               value=lambda r: _pct(pl.col("claimed_rate")),
               fields=lambda r: {**_P, "claimed": _pct(pl.col("claimed_rate")), "rule": _pct(pl.col("execution_rate")),
                                 "executed": _written("executed"), "budget": _written("year_budget")}),),
    ),
    FindingKind(
        "AUDIT_EXECUTION_POINTS", "预算执行得分与规则不符", "error",
        "项目{project}预算执行率得分填写 {claimed}，按规则应得 {rule}（执行率 {rate} × 分值 {weight}）",
        "预算执行率得分按执行率与规则的分值计算",
        (Check("audit_project", lambda r: _differs("claimed_execution_points", "execution_points"), column="execution_points",
               value=lambda r: _num(pl.col("claimed_execution_points")),
               fields=lambda r: {**_P, "claimed": _num(pl.col("claimed_execution_points")), "rule": _num(pl.col("execution_points")),
                                 "rate": _pct(pl.col("execution_rate")), "weight": _num(pl.col("execution_weight"))}),),
    ),
    FindingKind(
        "AUDIT_OVERSPENT", "执行数超过预算数", "warning",
        "项目{project}全年执行数 {executed} 超过全年预算数 {budget}（执行率 {rate}）",
        "执行数超过预算数通常是填报错误，或存在超预算支出，须核实",
        (Check("audit_project", lambda r: (pl.col("year_budget") > 0) & (pl.col("executed") > pl.col("year_budget") + 0.005),
               column="executed", value=lambda r: _written("executed"),
               fields=lambda r: {**_P, "executed": _written("executed"), "budget": _written("year_budget"),
                                 "rate": _pct(pl.col("execution_rate"))}),),
    ),
    FindingKind(
        "AUDIT_FUNDS_PARTS", "资金分项之和不等于合计", "warning",
        "项目{project}{label}合计 {total}{unit}，其中各分项（财政资金、其他资金、上年结转）之和为 {parts}{unit}",
        "资金总额应等于各资金来源之和",
        (_part_check("budget", "年初预算数"), _part_check("year_budget", "全年预算数"), _part_check("executed", "全年执行数")),
    ),
    FindingKind(
        "AUDIT_DUPLICATE_PROJECT", "项目重复提交", "warning",
        "项目 {code}（{name}）重复提交，以 {kept} 为准，本表未审核",
        "同一项目只能有一份自评；重复提交时须确认以哪一份为准",
        (Check("audit_project", lambda r: pl.col("_dup_rank") > 0, column="project_code", value=lambda r: pl.col("project_code"),
               fields=lambda r: {"code": quoted(pl.col("project_code")), "name": quoted(pl.col("project_name")),
                                 "kept": pl.col("_kept_at")}),),
    ),
    FindingKind(
        "AUDIT_NOT_A_NUMBER", "数值无法读取", "error",
        "{label}“{text}”不是数值，无法复核",
        "分值、得分、金额、执行率须填写数值，否则无法复算",
        (Check("audit_cell", lambda r: pl.lit(True), column="field", value=lambda r: quoted(pl.col("text")),
               fields=lambda r: {"label": pl.col("label"), "text": quoted(pl.col("text"))}),),
    ),
    FindingKind(
        "AUDIT_FORMULA_UNCACHED", "公式没有保存计算结果", "error",
        "{label}是公式“{formula}”，但文件中没有保存计算结果（文件可能由程序生成、未在 Excel 中保存过），无法复核",
        "没有计算结果的公式读不出数值；在 Excel 中打开并保存后重新提交，或直接填写数值",
        (),
    ),
    FindingKind(
        "AUDIT_SUBTOTAL_ROW", "小计行未作为指标读取", "info",
        "第 {row} 行只有分值或得分“{text}”（{label}），没有三级指标、指标值或实际完成值，按小计行处理，未计入指标",
        "指标表中的每一行都须有着落：小计行不参与复算，列出以便核对",
        (),
    ),
    FindingKind(
        "AUDIT_UNREADABLE", "文件无法读取", "error",
        "{reason}",
        "无法读取的文件没有被审核，须重新提交",
        (),
    ),
    FindingKind(
        "AUDIT_NO_FORM", "文件中没有自评表", "error",
        "文件中没有找到项目支出绩效自评表（共 {sheets} 个工作表/表格，均已跳过）",
        "提交的文件须含自评表，才能审核",
        (),
    ),
)

# The column of each kind's stage frame holding the rule's value the claim is compared with.
EXPECTED: dict[str, str] = {
    "AUDIT_ABOVE_WEIGHT": "_full", "AUDIT_MET_DEDUCTED": "rule_points", "AUDIT_UNMET_FULL": "rule_points",
    "AUDIT_TIER_BAND": "_band_text", "AUDIT_POINTS": "rule_points", "AUDIT_POINTS_EXPLAINED": "rule_points",
    "AUDIT_POINTS_MISSING": "rule_points", "AUDIT_WEIGHTS_LEVEL1": "_rule_sum", "AUDIT_WEIGHTS_TOTAL": "_total_points",
    "AUDIT_TOTAL_SUM": "_parts_sum", "AUDIT_TOTAL_RULE": "total", "AUDIT_GRADE": "_claimed_band",
    "AUDIT_RATE": "execution_rate", "AUDIT_EXECUTION_POINTS": "execution_points", "AUDIT_OVERSPENT": "_year_budget_written",
}

CATALOGUE.register(*AUDIT_KINDS)

# Findings of the scoring pipeline an audit reports as they are: rows the rules cannot score
# (so the claim cannot be checked) and deviation reasons the rules require.
PIPELINE_CODES = ("MISSING_ACTUAL", "UNPARSEABLE", "UNIT_MISMATCH", "INVALID_TIER", "UNKNOWN_LEVEL1", "MISSING_EXECUTION",
                  "MISSING_REASON", "KEY_MISMATCH")

__all__ = ["AUDIT_KINDS", "EXPECTED", "PIPELINE_CODES"]
