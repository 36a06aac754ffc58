"""Score: weights, ratio, curve and points of every checked indicator (stage 3 of 5, SPEC.md §5).

Takes the frame of `selfeval.check` and one set of numeric rule parameters
(`selfeval.scenarios.Params`: weights, thresholds, penalties), so the same code scores one run,
a batch of units, or each scenario of a what-if. The precise rules are in docs/scoring.md;
`selfeval.reference` implements them in plain Python as the test oracle. Nothing here loops over rows.
"""

from __future__ import annotations

from itertools import product
from typing import TYPE_CHECKING

import polars as pl

from selfeval import schema
from selfeval.expressions import curve_expr, num_text, numbered, round_points, truncate
from selfeval.rules.model import LEVEL1_GROUPS, QUANT_OPS, RuleSet
from selfeval.scenarios import Params

if TYPE_CHECKING:
    from selfeval.check import Checked

DAYS_PER = {"小时": 1.0 / 24.0, "天": 1.0, "周": 7.0, "月": 30.0, "年": 365.0}
DIMENSION_LABELS = {
    "percent": "百分比", "money": "金额", "count": "数量", "duration": "时长", "date": "日期", "other": "其他",
}
FLAGS = ("_has_output", "_has_effect", "_has_satisfaction")

# The columns of the check stage that scoring reads (a what-if scores only these).
SCORING_INPUTS = ["_pid", "_case", "level1_group", "weight", "_explicit", *FLAGS, "_divisor", "_problem",
                  "target_op", "fraction", "_given_points"]


# ----------------------------------------------------------------------------- weights


def effective_group_weights(rules: RuleSet, params: Params) -> dict[tuple[bool, bool, bool], dict[str, float]]:
    """Weight of each present group for every combination of present groups (missing_transfer applied)."""
    base = params.group_weights
    out = {}
    for present in product([False, True], repeat=len(LEVEL1_GROUPS)):
        has = dict(zip(LEVEL1_GROUPS, present))
        weights = {g: base[g] if has[g] else 0.0 for g in LEVEL1_GROUPS}
        for g in LEVEL1_GROUPS:
            if has[g]:
                continue
            seen, target = {g}, rules.missing_transfer.get(g)
            while target is not None and not has[target] and target not in seen:
                seen.add(target)
                target = rules.missing_transfer.get(target)
            if target is not None and has[target]:
                weights[target] += base[g]
        out[present] = weights
    return out


def weight_expr(rules: RuleSet, params: Params) -> pl.Expr:
    """An indicator's weight: its own 分值 when the whole project has them, else its group's share."""
    table = effective_group_weights(rules, params)
    combo = sum((pl.col(f).cast(pl.Int32) * (4 >> i) for i, f in enumerate(FLAGS)), pl.lit(0, dtype=pl.Int32))
    group_weight: pl.Expr = pl.lit(None, dtype=pl.Float64)
    for g in LEVEL1_GROUPS:
        by_combo = {sum(int(p) * (4 >> i) for i, p in enumerate(present)): w[g] for present, w in table.items()}
        group_weight = pl.when(pl.col("level1_group") == g).then(
            combo.replace_strict(by_combo, default=None, return_dtype=pl.Float64)
        ).otherwise(group_weight)
    return pl.when(pl.col("_explicit")).then(pl.col("weight")).otherwise(group_weight / pl.col("_divisor"))


# ----------------------------------------------------------------------------- ratio and fraction


def _to_days(value: pl.Expr, unit: pl.Expr) -> pl.Expr:
    return value * unit.replace_strict(DAYS_PER, default=1.0, return_dtype=pl.Float64)


def _base_values() -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(actual, target, target_hi) in one base unit: durations in days when both carry a unit."""
    duration = pl.col("target_dimension") == "duration"
    both_units = pl.col("target_unit").is_not_null() & pl.col("actual_unit").is_not_null()
    convert = duration & both_units
    a = pl.when(convert).then(_to_days(pl.col("actual_value"), pl.col("actual_unit"))).otherwise(pl.col("actual_value"))
    t = pl.when(convert).then(_to_days(pl.col("target_value"), pl.col("target_unit"))).otherwise(pl.col("target_value"))
    hi = pl.when(convert).then(_to_days(pl.col("target_value_hi"), pl.col("target_unit"))).otherwise(pl.col("target_value_hi"))
    return a, t, hi


def ratio_expr(params: Params, rules: RuleSet | None = None) -> pl.Expr:
    """Achievement ratio r per op (docs/scoring.md §5); null for qualitative/unscorable rows.

    le/lt (反向指标) follow `rules.reverse.formula`: t/a (default) or the published deviation
    formula 1 − (a − t)/t, 0 from a ≥ 2t.
    """
    t_op = pl.col("target_op")
    a, t, hi = _base_values()
    big, small = pl.max_horizontal(a, t), pl.min_horizontal(a, t)
    ge = pl.when(t == 0).then(1.0).otherwise(a / t)
    reverse = rules.reverse.formula if rules is not None else "ratio"
    over = (2.0 - a / t).clip(lower_bound=0.0) if reverse == "deviation" else t / a
    le = pl.when(a <= t).then(1.0).when(t == 0).then(0.0).otherwise(over)
    eq = pl.when(a == t).then(1.0).when(big <= 0).then(0.0).otherwise(small / big)
    rng = (
        pl.when((a >= t) & (a <= hi)).then(1.0)
        .when(a < t).then(pl.when(t <= 0).then(0.0).otherwise(a / t))
        .otherwise(hi / a)
    )
    at, dl = pl.col("actual_deadline"), pl.col("target_deadline")
    months_late = (
        (at.dt.year().cast(pl.Int64) * 12 + at.dt.month()) - (dl.dt.year().cast(pl.Int64) * 12 + dl.dt.month())
        + (at.dt.day() > dl.dt.day()).cast(pl.Int64)
    ).clip(lower_bound=1)
    deadline = pl.when(at <= dl).then(1.0).otherwise((1.0 - months_late * params.late_penalty).clip(lower_bound=0.0))
    return (
        pl.when(pl.col("_problem").is_not_null()).then(None)
        .when(t_op.is_in(["ge", "gt"])).then(ge)
        .when(t_op.is_in(["le", "lt"])).then(le)
        .when(t_op == "eq").then(eq)
        .when(t_op == "range").then(rng)
        .when(t_op == "deadline").then(deadline)
        .otherwise(None)
    )


def overshoot_expr(params: Params, rules: RuleSet | None = None) -> pl.Expr:
    """OVERSHOOT: a ge/gt target with r ≥ the threshold, or a zero target whose actual reaches
    `overshoot.zero_threshold`; never under mode `none`."""
    if rules is not None and rules.overshoot.effective_mode == "none":
        return pl.lit(False)
    ge = pl.col("target_op").is_in(["ge", "gt"])
    over = ge & (pl.col("ratio") >= params.overshoot_threshold)
    zero = rules.overshoot.zero_threshold if rules is not None else None
    if zero is not None:
        a, t, _ = _base_values()
        over = over | (ge & pl.col("ratio").is_not_null() & (t == 0) & (a >= zero))
    return over.fill_null(False)


def fraction_expr(rules: RuleSet) -> pl.Expr:
    """Fraction of the weight earned: curve(r) per op, minus any overshoot deduction; tiers for qualitative."""
    r, t_op = pl.col("ratio"), pl.col("target_op")
    by_curve: pl.Expr = curve_expr(r, rules.curve_for("default"))
    for op in QUANT_OPS:
        if op in rules.curves:
            by_curve = pl.when(t_op == op).then(curve_expr(r, rules.curves[op])).otherwise(by_curve)
    mode = rules.overshoot.effective_mode
    if mode == "deduct" and rules.overshoot.deduct is not None:
        deduct = curve_expr(r, rules.overshoot.deduct)
        by_curve = pl.when(pl.col("_overshoot")).then((by_curve - deduct).clip(lower_bound=0.0)).otherwise(by_curve)
    elif mode == "cap" and rules.overshoot.cap is not None:
        by_curve = pl.when(pl.col("_overshoot")).then(by_curve.clip(upper_bound=rules.overshoot.cap)).otherwise(by_curve)
    tier_default = pl.col("_tier").replace_strict(
        {k: t.default for k, t in rules.qualitative.tiers.items()}, default=None, return_dtype=pl.Float64
    )
    return (
        pl.when(pl.col("_problem").is_not_null()).then(None)
        .when(t_op == "qualitative").then(pl.coalesce(pl.col("fraction"), tier_default))
        .otherwise(by_curve)
    )


def score_cases(cases: pl.DataFrame, rules: RuleSet, params: Params) -> pl.DataFrame:
    """Per case (in `_case` order): ratio, overshoot and the fraction of the weight earned."""
    return (
        cases.lazy()
        .with_columns(ratio_expr(params, rules).alias("ratio"))
        .with_columns(overshoot_expr(params, rules).alias("_overshoot"))
        .select("ratio", "_overshoot", fraction_expr(rules).alias("_fraction"))
        .collect(engine="in-memory")
    )


def weigh(rows: pl.LazyFrame, rules: RuleSet, params: Params) -> pl.LazyFrame:
    """Rows with `_fraction` (and the weight shape) given `_weight`, `rule_points`, `points` and `status`.

    The evaluator's own score — `points` on the actuals row, or a `fraction` on a quantitative
    row — replaces the rule's points when it lies within 0 … weight; `_override` marks every
    row where it differs from the rule's or can't be used (an OVERRIDE finding asks why).
    """
    mode, decimals = rules.rounding.of("indicator")
    weight, rule = pl.col("_weight"), pl.col("rule_points")

    within = rules.rounding.indicator.within_weight

    def rounded(points: pl.Expr) -> pl.Expr:
        out = round_points(points, mode, decimals)
        if within:  # never above the 分值: its rounded-down value at most (null stays null)
            held = truncate(weight, decimals)
            out = pl.when(out > held).then(held).otherwise(out)
        return out

    given = pl.coalesce(
        pl.col("_given_points"),
        pl.when((pl.col("target_op") != "qualitative") & pl.col("fraction").is_not_null())
        .then(rounded(weight * pl.col("fraction"))),
    )
    scored = pl.col("_problem").is_null()
    usable = scored & given.is_not_null() & (given >= 0.0) & (given <= weight + 1e-9)
    return rows.with_columns(
        weight_expr(rules, params).alias("_weight"),
        pl.lit(params.overshoot_threshold).alias("_overshoot_threshold"),  # quoted by OVERSHOOT
    ).with_columns(
        rounded(weight * pl.col("_fraction")).alias("rule_points"),
        # the rule's points were held at the 分值 (explain says so)
        ((round_points(weight * pl.col("_fraction"), mode, decimals) > truncate(weight, decimals)).fill_null(False)
         if within else pl.lit(False)).alias("_held_at_weight"),
        given.alias("_given"),
    ).with_columns(
        pl.when(usable).then(pl.col("_given")).otherwise(rule).alias("points"),
        pl.when(scored).then(pl.lit("scored")).otherwise(pl.lit("unscorable")).alias("status"),
        (scored & pl.col("_given").is_not_null() & (~usable | ((pl.col("_given") - rule).abs() > 0.005))).alias("_override"),
        usable.alias("_override_valid"),
    )


def score(checked: Checked, rules: RuleSet, params: Params, columns: list[str] | None = None) -> pl.DataFrame:
    """Indicator rows (all of schema.CHECKED, or `columns` of it) with the case's `ratio`,
    `_overshoot` and `_fraction`, and their `_weight`, `points` and `status` (schema.SCORED)."""
    rows = checked.indicators if columns is None else checked.indicators.select(columns)
    per_case = score_cases(checked.cases, rules, params)
    rows = rows.with_columns(checked.case_columns(["ratio", "_overshoot", "_fraction"], per_case).get_columns())
    return weigh(rows.lazy(), rules, params).collect(engine="in-memory")


# ----------------------------------------------------------------------------- explanation


def explain_expr() -> pl.Expr:
    """A sentence a person can check: how the points of a scored row were obtained."""
    w, f, r = num_text(pl.col("_weight")), num_text(pl.col("_fraction")), num_text(pl.col("ratio"))
    p = pl.when(pl.col("_held_at_weight")).then(pl.format("{}（不超过分值）", num_text(pl.col("rule_points"), 2))).otherwise(
        num_text(pl.col("rule_points"), 2))
    actual = pl.concat_str([
        pl.col("actual_text").fill_null("（空）"),
        pl.when(pl.col("_assumed_unit").is_not_null()).then(pl.format("（按指标值单位“{}”）", pl.col("_assumed_unit"))).otherwise(pl.lit("")),
    ])
    target = pl.col("target_text").fill_null("（空）")
    t_op = pl.col("target_op")
    return (
        pl.when(t_op == "qualitative").then(pl.format("定性指标，评价档次“{}”，得分比例 {} → {} × {} = {}", pl.col("_tier"), f, w, f, p))
        .when(t_op == "deadline").then(
            pl.when(pl.col("ratio") >= 1).then(pl.format("{} 不晚于期限 {} → 按期完成 → {} × 1 = {}", actual, target, w, p))
            .otherwise(pl.format("{} 晚于期限 {} → r = {} → {} × {} = {}", actual, target, r, w, f, p))
        )
        .when(pl.col("ratio") >= 1).then(pl.format("{} 对比指标值 {}：已完成（r = {}）→ {} × {} = {}", actual, target, r, w, f, p))
        .otherwise(pl.format("{} 对比指标值 {}：未完成（r = {}）→ {} × {} = {}", actual, target, r, w, f, p))
    )


# The parsed case columns the result table shows for every indicator.
PARSED_OUTPUT = ["target_value", "target_value_hi", "target_unit", "target_dimension", "target_deadline",
                 "actual_op", "actual_value", "actual_unit", "actual_dimension", "actual_deadline",
                 "direction", "direction_source", "_assumed_unit"]


def with_explain(scored: pl.DataFrame) -> pl.DataFrame:
    """`scored` (with the case columns of explain_expr) plus `explain`.

    A scored row's explanation depends only on its case and weight: each distinct (case, weight)
    is explained once and gathered back by its number; an unscorable row says why (its
    `_message`), and a row with the evaluator's own points says whether they were used — those
    few sentences are made for those rows alone.
    """
    ok = pl.col("_problem").is_null()
    needed = ["_weight", "target_op", "_tier", "actual_text", "target_text", "ratio", "_fraction", "rule_points",
              "_assumed_unit", "_held_at_weight"]
    # numbered on the two keys alone: a unique() over the wide rows would gather every text column of them
    pair, first = numbered(scored, ["_case", "_weight"], "_pair")
    explained = scored.select(needed)[first].lazy().select(explain_expr()).collect(engine="in-memory").to_series()
    frame = scored.with_columns(explained.gather(pair).alias("explain"))
    # unscorable rows were explained from their empty values above: their sentence replaces it
    special = frame.select((~ok | pl.col("_override")).fill_null(False)).to_series()
    if not special.any():
        return frame
    at = special.arg_true()
    sentence = (
        pl.when(~ok).then(pl.format("不计分：{}", pl.col("_message")))
        .when(pl.col("_override") & pl.col("_override_valid"))
        .then(pl.format("{}；采用评价人给出的得分 {}", pl.col("explain"), num_text(pl.col("points"), 2)))
        .otherwise(pl.format("{}；评价人填写的得分 {} 超出分值范围，未采用", pl.col("explain"), num_text(pl.col("_given"), 2)))
    )
    # only the columns the sentence reads are gathered for those rows, not the whole wide frame
    sentences = frame.select(sorted(set(sentence.meta.root_names())))[at].select(sentence).to_series()
    return frame.with_columns(frame.get_column("explain").scatter(at, sentences))


def indicator_detail(checked: Checked, scored: pl.DataFrame) -> pl.DataFrame:
    """Scored rows with every parsed case column and `explain`: what findings and the result table read."""
    missing = [c for c in ["target_error", "actual_error", *PARSED_OUTPUT] if c not in scored.columns]
    return with_explain(scored.with_columns(checked.case_columns(missing).get_columns()))


def indicator_scores_frame(detail: pl.DataFrame) -> pl.DataFrame:
    """The public indicator_scores columns (schema INDICATOR_SCORES), in declaration order."""
    return detail.with_columns(
        pl.col("_tier").alias("tier"), pl.col("_weight").alias("weight"), pl.col("_fraction").alias("fraction")
    ).select(*[pl.col(name).cast(dtype) for name, dtype in schema.INDICATOR_SCORES.items()])


__all__ = [
    "DIMENSION_LABELS", "SCORING_INPUTS", "effective_group_weights", "explain_expr", "fraction_expr",
    "indicator_detail", "indicator_scores_frame", "ratio_expr", "score", "score_cases", "weigh", "weight_expr",
    "with_explain",
]
