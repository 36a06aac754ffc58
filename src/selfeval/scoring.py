"""Indicator scoring as one Polars pipeline: join, parse, weigh, ratio, curve, points (SPEC.md §5).

The precise rules are in docs/scoring.md; `selfeval.reference` implements the same rules in
plain Python as the test oracle. Nothing here loops over rows.
"""

from __future__ import annotations

from itertools import product

import polars as pl

from selfeval import schema
from selfeval.expressions import clean_text, curve_expr, num_text, round_half_up
from selfeval.engine import collect
from selfeval.grammar import parsed_fields
from selfeval.rules.model import LEVEL1_GROUPS, QUANT_OPS, RuleSet
from selfeval.scenarios import SCENARIO

UNIT_KEYS = ["unit_code"]
PROJECT_KEYS = ["unit_code", "project_code"]
INDICATOR_KEYS = ["unit_code", "project_code", "seq"]
COMPARABLE_OPS = ("eq", "ge", "gt", "le", "lt")
DAYS_PER = {"小时": 1.0 / 24.0, "天": 1.0, "周": 7.0, "月": 30.0, "年": 365.0}
DIMENSION_LABELS = {
    "percent": "百分比", "money": "金额", "count": "数量", "duration": "时长", "date": "日期", "other": "其他",
}


# ----------------------------------------------------------------------------- preparation


def with_declared_unit(frame: pl.LazyFrame, given: pl.DataFrame, projects: pl.DataFrame) -> pl.LazyFrame:
    """Fill a null unit_code from the declared project of the same code (skipped when none is null)."""
    if not given.height:
        return frame
    if "unit_code" in given.columns:
        codes = given["unit_code"].cast(pl.String).str.strip_chars()
        if not (codes.is_null() | (codes == "")).any():
            return frame
    owner = projects.lazy().select("project_code", pl.col("unit_code").alias("_declared_unit")).unique(
        "project_code", keep="first"
    )
    return (
        frame.join(owner, on="project_code", how="left", maintain_order="left")
        .with_columns(pl.coalesce("unit_code", "_declared_unit").alias("unit_code"))
        .drop("_declared_unit")
    )


def prepared_actuals(actuals: pl.DataFrame, projects: pl.DataFrame) -> pl.LazyFrame:
    """Actuals cast to the schema, texts cleaned, unit_code filled from the declared project."""
    frame = (
        schema.conform(actuals, schema.ACTUALS)
        .lazy()
        .with_row_index("_row")
        .with_columns(
            clean_text(pl.col(c)) for c in ("unit_code", "project_code", "level3", "actual_text", "deviation_reason", "tier")
        )
    )
    return with_keys(with_declared_unit(frame, actuals, projects))


def actuals_per_key(actuals: pl.LazyFrame) -> pl.LazyFrame:
    """One actual row per indicator key (the first), with `_n_actual` rows seen for it."""
    return actuals.group_by("_ik").agg(pl.all().first(), pl.len().alias("_n_actual"))


def key_findings(actuals: pl.LazyFrame, per_key: pl.LazyFrame, indicators: pl.LazyFrame) -> pl.LazyFrame:
    """KEY_MISMATCH findings: actual rows for undeclared indicators, and keys filled more than once."""
    declared_keys = indicators.select("_ik")
    unknown = actuals.join(declared_keys, on="_ik", how="anti").select(
        *INDICATOR_KEYS,
        pl.lit("seq").alias("column"),
        pl.format("实际完成值第 {} 条记录对应的指标（项目 {}，序号 {}）未在绩效目标表中申报",
                  pl.col("_row") + 1, pl.col("project_code"), pl.col("seq")).alias("message"),
        pl.col("level3").alias("value"),
    )
    duplicate = (
        per_key.filter(pl.col("_n_actual") > 1)
        .join(declared_keys, on="_ik", how="semi")
        .select(
            *INDICATOR_KEYS,
            pl.lit("seq").alias("column"),
            pl.format("同一指标（项目 {}，序号 {}）填写了 {} 行实际完成值，无法确定采用哪一行",
                      pl.col("project_code"), pl.col("seq"), pl.col("_n_actual")).alias("message"),
            pl.lit(None, dtype=pl.String).alias("value"),
        )
    )
    return pl.concat([unknown, duplicate], how="vertical").with_columns(code=pl.lit("KEY_MISMATCH"))


def with_keys(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add one-string project and indicator keys: hashing one column beats hashing three."""
    pk = pl.concat_str([pl.col("unit_code").fill_null(""), pl.col("project_code").fill_null("")], separator="\x1f")
    return frame.with_columns(pk.alias("_pk")).with_columns(
        pl.concat_str([pl.col("_pk"), pl.col("seq").cast(pl.String).fill_null("")], separator="\x1f").alias("_ik")
    )


def group_expr(level1: pl.Expr, rules: RuleSet) -> pl.Expr:
    """Canonical level-1 group of a level-1 name (null when unknown)."""
    mapping = {g: g for g in LEVEL1_GROUPS} | dict(rules.aliases)
    return level1.str.strip_chars().replace_strict(mapping, default=None, return_dtype=pl.String)


def effective_group_weights(rules: RuleSet, params: pl.DataFrame) -> pl.LazyFrame:
    """Weight of each present group, per scenario and combination of present groups (missing_transfer applied)."""
    rows = []
    for scenario in params.iter_rows(named=True):
        base = {g: scenario[f"_w_{g}"] for g in LEVEL1_GROUPS}
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
            rows += [
                {SCENARIO: scenario[SCENARIO], "_has_output": present[0], "_has_effect": present[1],
                 "_has_satisfaction": present[2], "level1_group": g, "_group_weight": weights[g]}
                for g in LEVEL1_GROUPS if has[g]
            ]
    return pl.LazyFrame(
        rows,
        schema={SCENARIO: pl.String, "_has_output": pl.Boolean, "_has_effect": pl.Boolean,
                "_has_satisfaction": pl.Boolean, "level1_group": pl.String, "_group_weight": pl.Float64},
    )


def with_weight_shape(frame: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    """Scenario-independent inputs of the weights: explicit flag, present groups, divisors.

    Project-level facts come from one group_by joined back (cheaper than a window per fact).
    """
    group = pl.col("level1_group")
    names = ("output", "effect", "satisfaction")
    per_project = frame.group_by("_pk").agg(
        pl.col("weight").is_not_null().all().alias("_explicit"),
        *[(group == g).sum().alias(f"_n_{name}") for g, name in zip(LEVEL1_GROUPS, names)],
    )
    frame = frame.join(per_project, on="_pk", how="left", maintain_order="left").with_columns(
        *[(pl.col(f"_n_{name}") > 0).alias(f"_has_{name}") for name in names]
    )
    if rules.split == "per_indicator":
        n_in_group = pl.lit(None, dtype=pl.UInt32)
        for g, name in zip(LEVEL1_GROUPS, names):
            n_in_group = pl.when(group == g).then(pl.col(f"_n_{name}")).otherwise(n_in_group)
        divisor = n_in_group
    else:
        level2_key = pl.col("level2").fill_null("\u0000")
        divisor = level2_key.n_unique().over(["_pk", "level1_group"]) * pl.len().over(
            ["_pk", "level1_group", level2_key]
        )
    return frame.with_columns(divisor.cast(pl.Float64).alias("_divisor")).drop([f"_n_{n}" for n in names])


def with_params(frame: pl.LazyFrame, params: pl.DataFrame) -> pl.LazyFrame:
    """Join the scenario parameters in: literals for one scenario, a cross join for several."""
    if params.height == 1:
        return frame.with_columns(pl.lit(v, dtype=params.schema[k]).alias(k) for k, v in params.row(0, named=True).items())
    return frame.join(params.lazy(), how="cross")


def with_weights(frame: pl.LazyFrame, rules: RuleSet, params: pl.DataFrame) -> pl.LazyFrame:
    """Add `_weight` per scenario (explicit when the whole project has 分值, else from the rules)."""
    computed = pl.when(pl.col("level1_group").is_null()).then(None).otherwise(pl.col("_group_weight") / pl.col("_divisor"))
    return frame.join(
        effective_group_weights(rules, params),
        on=[SCENARIO, "_has_output", "_has_effect", "_has_satisfaction", "level1_group"],
        how="left",
    ).with_columns(pl.when(pl.col("_explicit")).then(pl.col("weight")).otherwise(computed).alias("_weight"))


def _unnest_parsed(frame: pl.LazyFrame, text_col: str, prefix: str) -> pl.LazyFrame:
    """Parse a text column (each distinct text and year once) into `{prefix}_op` … `{prefix}_error`."""
    fields = ("op", "value", "value_hi", "deadline", "unit", "dimension", "error")
    return parsed_fields(frame, text_col, pl.col("year")).rename({f: f"{prefix}_{f}" for f in fields})


# ----------------------------------------------------------------------------- qualitative tiers


def word_tier_expr(text: pl.Expr, rules: RuleSet) -> pl.Expr:
    """The tier named by a word in the text: longest word first, ties to the tier listed first."""
    words = [
        (len(word), -order, word, name)
        for order, (name, tier) in enumerate(rules.qualitative.tiers.items())
        for word in tier.words
    ]
    words.sort(reverse=True)
    chain = None
    for _, _, word, name in words:
        cond = text.str.contains(word, literal=True)
        chain = pl.when(cond).then(pl.lit(name)) if chain is None else chain.when(cond).then(pl.lit(name))
    return pl.lit(None, dtype=pl.String) if chain is None else chain.otherwise(None)


# ----------------------------------------------------------------------------- status


def with_status(frame: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    """Resolve tier, unit compatibility and the first reason an indicator can't be scored."""
    tiers = rules.qualitative.tiers
    t_op, a_op = pl.col("target_op"), pl.col("actual_op")
    t_unit, a_unit = pl.col("target_unit"), pl.col("actual_unit")
    qualitative = t_op == "qualitative"
    actual_missing = pl.col("actual_text").is_null()
    tier_given = pl.col("tier").is_not_null()
    tier_valid = pl.col("tier").is_in(list(tiers))
    resolved_tier = pl.coalesce(
        pl.col("tier"),
        pl.col("_word_tier"),
        pl.when(pl.col("actual_text") == pl.col("target_text")).then(pl.lit(rules.qualitative.top_tier)),
    )
    band_lo = resolved_tier.replace_strict({k: t.band[0] for k, t in tiers.items()}, default=None, return_dtype=pl.Float64)
    band_hi = resolved_tier.replace_strict({k: t.band[1] for k, t in tiers.items()}, default=None, return_dtype=pl.Float64)
    fraction_out_of_band = pl.col("fraction").is_not_null() & (
        (pl.col("fraction") < band_lo - 1e-12) | (pl.col("fraction") > band_hi + 1e-12)
    )
    both_units = t_unit.is_not_null() & a_unit.is_not_null()
    dims_differ = both_units & (pl.col("target_dimension").fill_null("") != pl.col("actual_dimension").fill_null(""))
    units_differ = both_units & pl.col("target_dimension").is_in(["count", "other"]) & (t_unit != a_unit)
    level3_clash = pl.col("_actual_level3").is_not_null() & (pl.col("_actual_level3") != pl.col("level3").str.strip_chars())

    status = (
        pl.when((pl.col("_n_actual").fill_null(0) > 1) | level3_clash).then(pl.lit("KEY_MISMATCH"))
        .when(pl.col("level1_group").is_null()).then(pl.lit("UNKNOWN_LEVEL1"))
        .when(t_op.is_null() | ((t_op == "deadline") & pl.col("target_deadline").is_null())).then(pl.lit("UNPARSEABLE_TARGET"))
        .when(qualitative & tier_given & ~tier_valid).then(pl.lit("INVALID_TIER"))
        .when(qualitative & resolved_tier.is_null() & actual_missing).then(pl.lit("MISSING_ACTUAL"))
        .when(qualitative & resolved_tier.is_null()).then(pl.lit("INVALID_TIER"))
        .when(qualitative & fraction_out_of_band).then(pl.lit("INVALID_TIER"))
        .when(qualitative).then(None)
        .when(actual_missing).then(pl.lit("MISSING_ACTUAL"))
        .when(a_op.is_null()).then(pl.lit("UNPARSEABLE_ACTUAL"))
        .when((t_op == "deadline") & ((a_op != "deadline") | pl.col("actual_deadline").is_null())).then(pl.lit("UNIT_MISMATCH"))
        .when(t_op == "deadline").then(None)
        .when(~a_op.is_in(list(COMPARABLE_OPS))).then(pl.lit("UNIT_MISMATCH"))
        .when(dims_differ | units_differ).then(pl.lit("UNIT_MISMATCH"))
        .otherwise(None)
    )
    # Tier words are matched once per distinct actual text, then joined back.
    word_tiers = (
        frame.select("actual_text").unique().drop_nulls()
        .with_columns(word_tier_expr(pl.col("actual_text"), rules).alias("_word_tier"))
    )
    return frame.join(word_tiers, on="actual_text", how="left").with_columns(
        pl.when(qualitative).then(resolved_tier).otherwise(None).alias("_tier"),
        status.alias("_problem"),
    )


# ----------------------------------------------------------------------------- ratio and points


def _to_days(value: pl.Expr, unit: pl.Expr) -> pl.Expr:
    return value * unit.replace_strict(DAYS_PER, default=1.0, return_dtype=pl.Float64)


def ratio_expr() -> pl.Expr:
    """Achievement ratio r per op (docs/scoring.md §5); null for qualitative/unscorable rows."""
    t_op = pl.col("target_op")
    duration = pl.col("target_dimension") == "duration"
    both_units = pl.col("target_unit").is_not_null() & pl.col("actual_unit").is_not_null()
    convert = duration & both_units
    a = pl.when(convert).then(_to_days(pl.col("actual_value"), pl.col("actual_unit"))).otherwise(pl.col("actual_value"))
    t = pl.when(convert).then(_to_days(pl.col("target_value"), pl.col("target_unit"))).otherwise(pl.col("target_value"))
    hi = pl.when(convert).then(_to_days(pl.col("target_value_hi"), pl.col("target_unit"))).otherwise(pl.col("target_value_hi"))
    big, small = pl.max_horizontal(a, t), pl.min_horizontal(a, t)
    ge = pl.when(t == 0).then(1.0).otherwise(a / t)
    le = pl.when(a <= t).then(1.0).when(t == 0).then(0.0).otherwise(t / a)
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
    deadline = pl.when(at <= dl).then(1.0).otherwise(
        (1.0 - months_late * pl.col("_late_penalty")).clip(lower_bound=0.0)
    )
    return (
        pl.when(pl.col("_problem").is_not_null()).then(None)
        .when(t_op.is_in(["ge", "gt"])).then(ge)
        .when(t_op.is_in(["le", "lt"])).then(le)
        .when(t_op == "eq").then(eq)
        .when(t_op == "range").then(rng)
        .when(t_op == "deadline").then(deadline)
        .otherwise(None)
    )


def fraction_expr(rules: RuleSet) -> pl.Expr:
    """Fraction of the weight earned: curve(r) per op, minus any overshoot deduction; tiers for qualitative."""
    r, t_op = pl.col("ratio"), pl.col("target_op")
    by_curve: pl.Expr = curve_expr(r, rules.curve_for("default"))
    for op in QUANT_OPS:
        if op in rules.curves:
            by_curve = pl.when(t_op == op).then(curve_expr(r, rules.curves[op])).otherwise(by_curve)
    if rules.overshoot.deduct is not None:
        deduct = curve_expr(r, rules.overshoot.deduct)
        by_curve = pl.when(pl.col("_overshoot")).then((by_curve - deduct).clip(lower_bound=0.0)).otherwise(by_curve)
    tier_default = pl.col("_tier").replace_strict(
        {k: t.default for k, t in rules.qualitative.tiers.items()}, default=None, return_dtype=pl.Float64
    )
    return (
        pl.when(pl.col("_problem").is_not_null()).then(None)
        .when(t_op == "qualitative").then(pl.coalesce(pl.col("fraction"), tier_default))
        .otherwise(by_curve)
    )


def explain_expr() -> pl.Expr:
    """A sentence a person can check: how the points of the row were obtained."""
    w, f, p, r = pl.col("_w_text"), pl.col("_f_text"), pl.col("_p_text"), pl.col("_r_text")
    actual, target = pl.col("actual_text").fill_null("（空）"), pl.col("target_text").fill_null("（空）")
    t_op = pl.col("target_op")
    return (
        pl.when(pl.col("_problem").is_not_null()).then(pl.format("不计分：{}", pl.col("_message")))
        .when(t_op == "qualitative").then(pl.format("定性指标，评价档次“{}”，得分比例 {} → {} × {} = {}", pl.col("_tier"), f, w, f, p))
        .when(t_op == "deadline").then(
            pl.when(pl.col("ratio") >= 1).then(pl.format("{} 不晚于期限 {} → 按期完成 → {} × 1 = {}", actual, target, w, p))
            .otherwise(pl.format("{} 晚于期限 {} → r = {} → {} × {} = {}", actual, target, r, w, f, p))
        )
        .when(pl.col("ratio") >= 1).then(pl.format("{} 对比指标值 {}：已完成（r = {}）→ {} × {} = {}", actual, target, r, w, f, p))
        .otherwise(pl.format("{} 对比指标值 {}：未完成（r = {}）→ {} × {} = {}", actual, target, r, w, f, p))
    )


def problem_message_expr() -> pl.Expr:
    """Chinese message for the reason an indicator can't be scored (docs/scoring.md §4)."""
    lvl3 = pl.col("level3").fill_null("")
    a_dim = pl.col("actual_dimension").replace_strict(DIMENSION_LABELS, default=None, return_dtype=pl.String)
    t_dim = pl.col("target_dimension").replace_strict(DIMENSION_LABELS, default=None, return_dtype=pl.String)
    a_desc = pl.coalesce(pl.col("actual_unit"), a_dim, pl.col("actual_op").replace_strict(
        {"qualitative": "文字", "deadline": "日期", "range": "区间"}, default="数值", return_dtype=pl.String))
    t_desc = pl.coalesce(pl.col("target_unit"), t_dim, pl.lit("数值"))
    level3_clash = pl.col("_actual_level3").is_not_null() & (pl.col("_actual_level3") != pl.col("level3").str.strip_chars())
    problem = pl.col("_problem")
    return (
        pl.when(problem == "KEY_MISMATCH").then(
            pl.when(level3_clash).then(pl.format("实际完成值中的三级指标“{}”与申报的“{}”不一致", pl.col("_actual_level3"), lvl3))
            .otherwise(pl.format("指标“{}”填写了多行实际完成值，无法确定采用哪一行", lvl3))
        )
        .when(problem == "UNKNOWN_LEVEL1").then(pl.format("一级指标“{}”不在规则集的一级指标及别名中，无法分配分值", pl.col("level1").fill_null("")))
        .when(problem == "UNPARSEABLE_TARGET").then(pl.format("指标“{}”的指标值“{}”无法解析：{}", lvl3, pl.col("target_text").fill_null(""), pl.col("target_error").fill_null("缺少年份")))
        .when(problem == "UNPARSEABLE_ACTUAL").then(pl.format("指标“{}”的实际完成值“{}”无法解析：{}", lvl3, pl.col("actual_text"), pl.col("actual_error").fill_null("")))
        .when(problem == "MISSING_ACTUAL").then(pl.format("指标“{}”没有填写实际完成值，无法评分", lvl3))
        .when(problem == "UNIT_MISMATCH").then(pl.format("指标“{}”的实际完成值“{}”（{}）与指标值“{}”（{}）口径不一致，无法比较", lvl3, pl.col("actual_text"), a_desc, pl.col("target_text"), t_desc))
        .when(problem == "INVALID_TIER").then(
            pl.when(pl.col("tier").is_not_null() & pl.col("_tier").is_null()).then(pl.format("定性评价档次“{}”无效", pl.col("tier")))
            .when(pl.col("_tier").is_null()).then(pl.format("定性指标“{}”无法从实际完成值“{}”识别评价档次，请填写定性评价档次", lvl3, pl.col("actual_text")))
            .otherwise(pl.format("档内得分比例 {} 不在“{}”档的区间内", num_text(pl.col("fraction")), pl.col("_tier")))
        )
        .otherwise(None)
    )


def scored_indicators(
    indicators: pl.DataFrame,
    actuals: pl.DataFrame,
    projects: pl.DataFrame,
    units: pl.DataFrame,
    rules: RuleSet,
    params: pl.DataFrame,
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Every declared indicator scored under each scenario of `params` (one row per scenario and
    indicator: INDICATOR_SCORES plus helper columns), and the key findings.

    `rules` supplies the structure shared by all scenarios (scenarios.group_by_structure).
    """
    decl = collect(with_keys(schema.conform(indicators, schema.INDICATORS).lazy().with_row_index("_order"))).lazy()
    prepared = collect(prepared_actuals(actuals, projects)).lazy()
    acts = collect(actuals_per_key(prepared)).lazy()  # read by the join below and the key findings
    key_problems = key_findings(prepared, acts, decl)
    years = units.lazy().select("unit_code", pl.col("year").cast(pl.Int32)).unique("unit_code", keep="first")
    frame = (
        decl.join(
            acts.select("_ik", pl.col("level3").alias("_actual_level3"), "actual_text", "deviation_reason",
                        "tier", "fraction", "_n_actual"),
            on="_ik", how="left",
        )
        .join(years, on="unit_code", how="left")
        .with_columns(
            group_expr(pl.col("level1"), rules).alias("level1_group"),
            clean_text(pl.col("target_text")).alias("target_text"),
            clean_text(pl.col("level2")).alias("level2"),
        )
    )
    # Stages that join a frame with a distinct-value view of itself are materialized first:
    # left lazy, the optimizer would compute the shared upstream plan once per branch.
    frame = collect(with_weight_shape(frame, rules)).lazy()
    frame = collect(_unnest_parsed(frame, "target_text", "target")).lazy()
    frame = collect(_unnest_parsed(frame, "actual_text", "actual")).lazy()
    frame = collect(with_status(frame, rules))
    # Messages only for the rows that need one (building texts for every row is the costly part).
    messages = frame.filter(pl.col("_problem").is_not_null()).select("_order", problem_message_expr().alias("_message"))
    frame = frame.lazy().join(messages.lazy(), on="_order", how="left")
    # Everything above is the same for every scenario; the parameters join in here.
    frame = with_params(frame, params)
    frame = with_weights(frame, rules, params)
    frame = frame.with_columns(ratio_expr().alias("ratio")).with_columns(
        (pl.col("target_op").is_in(["ge", "gt"]) & (pl.col("ratio") >= pl.col("_overshoot_threshold")))
        .fill_null(False).alias("_overshoot")
    )
    decimals = rules.rounding.decimals
    frame = frame.with_columns(fraction_expr(rules).alias("_fraction")).with_columns(
        round_half_up(pl.col("_weight") * pl.col("_fraction"), decimals).alias("points"),
        pl.when(pl.col("_problem").is_null()).then(pl.lit("scored")).otherwise(pl.lit("unscorable")).alias("status"),
    )
    frame = collect(frame.with_columns(
        # Number texts once, shared by every branch of the explanation.
        num_text(pl.col("_weight")).alias("_w_text"), num_text(pl.col("_fraction")).alias("_f_text"),
        num_text(pl.col("points"), 2).alias("_p_text"), num_text(pl.col("ratio")).alias("_r_text"),
    )).lazy()
    # The same few texts and numbers repeat across indicators: explain each distinct case once.
    inputs = ["_problem", "_message", "target_op", "_tier", "_w_text", "_f_text", "_p_text", "_r_text",
              "actual_text", "target_text", "ratio"]
    explained = frame.select(inputs).unique().with_columns(explain_expr().alias("explain"))
    frame = frame.join(explained, on=inputs, how="left", nulls_equal=True)
    return frame, key_problems


def indicator_findings(frame: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    # Findings are per scenario; callers scoring one scenario get exactly its findings.
    """Findings seen on indicator rows: the unscorable reason, OVERSHOOT and MISSING_REASON."""
    problem = pl.col("_problem")
    code = problem.replace({"UNPARSEABLE_TARGET": "UNPARSEABLE", "UNPARSEABLE_ACTUAL": "UNPARSEABLE"})
    column = problem.replace_strict(
        {"KEY_MISMATCH": "level3", "UNKNOWN_LEVEL1": "level1", "UNPARSEABLE_TARGET": "target_text",
         "UNPARSEABLE_ACTUAL": "actual_text", "MISSING_ACTUAL": "actual_text", "UNIT_MISMATCH": "actual_text",
         "INVALID_TIER": "tier"},
        default=None, return_dtype=pl.String,
    )
    value = pl.when(problem == "UNPARSEABLE_TARGET").then(pl.col("target_text")).when(problem == "UNKNOWN_LEVEL1").then(
        pl.col("level1")).when(problem == "INVALID_TIER").then(pl.coalesce(pl.col("tier"), pl.col("actual_text"))).otherwise(pl.col("actual_text"))
    # A key filled by several actual rows is reported once, by key_findings.
    own_problem = problem.is_not_null() & ~((problem == "KEY_MISMATCH") & (pl.col("_n_actual").fill_null(0) > 1))
    unscorable = frame.filter(own_problem).select(
        SCENARIO, *INDICATOR_KEYS, code.alias("code"), column.alias("column"), value.alias("value"), pl.col("_message").alias("message")
    )
    overshoot = frame.filter(pl.col("_overshoot") & problem.is_null()).select(
        SCENARIO, *INDICATOR_KEYS, pl.lit("OVERSHOOT").alias("code"), pl.lit("actual_text").alias("column"),
        pl.col("actual_text").alias("value"),
        pl.format("指标“{}”完成值 {} 为指标值 {} 的 {} 倍（≥ {}），可能指标值设置偏低，须说明原因",
                  pl.col("level3"), pl.col("actual_text"), pl.col("target_text"), num_text(pl.col("ratio"), 2),
                  num_text(pl.col("_overshoot_threshold"), 2)).alias("message"),
    )
    top = rules.qualitative.top_tier
    needs_reason = (
        problem.is_null()
        & pl.col("deviation_reason").is_null()
        & (
            (pl.col("target_op").is_in(list(QUANT_OPS)) & (pl.col("ratio") < 1))
            | pl.col("_overshoot")
            | ((pl.col("target_op") == "qualitative") & (pl.col("_tier") != top))
        )
    )
    why = (
        pl.when(pl.col("_overshoot")).then(pl.lit("超额完成较多"))
        .when(pl.col("target_op") == "qualitative").then(pl.format("评价为“{}”", pl.col("_tier")))
        .otherwise(pl.format("未完成指标值（完成比例 {}）", num_text(pl.col("ratio"), 4)))
    )
    missing_reason = frame.filter(needs_reason).select(
        SCENARIO, *INDICATOR_KEYS, pl.lit("MISSING_REASON").alias("code"), pl.lit("deviation_reason").alias("column"),
        pl.col("actual_text").alias("value"),
        pl.format("指标“{}”{}，但未填写偏差原因分析及改进措施", pl.col("level3"), why).alias("message"),
    )
    return pl.concat([unscorable, overshoot, missing_reason], how="vertical")


def indicator_scores_frame(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The public indicator_scores columns (schema INDICATOR_SCORES), after the scenario column."""
    return frame.with_columns(
        pl.col("_tier").alias("tier"), pl.col("_weight").alias("weight"), pl.col("_fraction").alias("fraction")
    ).select(pl.col(SCENARIO), "_order", *[pl.col(name).cast(dtype) for name, dtype in schema.INDICATOR_SCORES.items()])


SCENARIO_PROJECT_KEYS = [SCENARIO, *PROJECT_KEYS]


def group_points_columns() -> list[pl.Expr]:
    """Per-project sums of points for each level-1 group (0 when none scored)."""
    return [
        pl.col("points").filter(pl.col("level1_group") == g).sum().alias(col)
        for g, col in schema.LEVEL1_GROUPS.items()
    ]


