"""Roll-up: budget execution, project totals, department (unit) scores and grades (stage 4 of 5).

The only place where totals, grades, completeness and the department weighting are computed
(SPEC.md §5.5–5.6). Every function takes `by`: extra leading key columns (e.g. `scenario`) that
the inputs carry, so the same code serves one run, a batch of units, or many scenarios.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from selfeval import schema
from selfeval.checkpoints import CHECKPOINT_MONTHS, DECLARED_PLANS, SPENT_COLUMNS, checked_months, month_label
from selfeval.expressions import curve_expr, round_points
from selfeval.findings import detect
from selfeval.ingest.prepare import PROJECT_KEYS, Prepared
from selfeval.rules.model import EXECUTION_KEY, UNCATEGORISED, RuleSet
from selfeval.scenarios import Params

CHECKPOINTS = {c: month_label(c) for c in CHECKPOINT_MONTHS}
# per project, the weights of each level-1 group's indicators (read by `department: parts`)
GROUP_WEIGHTS = {g: f"_weight_{col}" for g, col in schema.LEVEL1_GROUPS.items()}


def grade_expr(total: pl.Expr, rules: RuleSet) -> pl.Expr:
    """Grade of a total: the first band (highest min first) whose min the total reaches."""
    chain = None
    for band in rules.grades:  # sorted by min, descending
        cond = total >= band.min
        chain = pl.when(cond).then(pl.lit(band.grade)) if chain is None else chain.when(cond).then(pl.lit(band.grade))
    return pl.when(total.is_null()).then(None).otherwise(chain.otherwise(pl.lit(rules.grades[-1].grade)))


# ----------------------------------------------------------------------------- execution


def check_execution(prepared: Prepared, rules: RuleSet) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(one row per declared project with its execution row, execution key findings).

    Parameter-free, like `selfeval.check`: computed once for every scenario.
    """
    exe = prepared.execution.lazy()
    decl = prepared.projects.lazy()
    declared_pids = decl.select("_pid").unique()
    # a row of a project no declared project row has (a null _pid included) is unknown
    known = exe.join(declared_pids, on="_pid", how="semi")
    counts = known.group_by("_pid").agg(pl.len().alias("_n_execution"))
    unknown = exe.join(declared_pids, on="_pid", how="anti").with_columns(
        pl.lit(True).alias("_unknown"), pl.lit(False).alias("_duplicate"), pl.lit(None, dtype=pl.UInt32).alias("_n_execution")
    )
    duplicate = (
        known.unique("_pid", keep="first", maintain_order=True)
        .join(counts.filter(pl.col("_n_execution") > 1), on="_pid", how="inner", maintain_order="left")
        .with_columns(pl.lit(False).alias("_unknown"), pl.lit(True).alias("_duplicate"))
    )
    cols = [*PROJECT_KEYS, "_unknown", "_duplicate", "_n_execution"]
    findings = detect(pl.concat([unknown.select(cols), duplicate.select(cols)], how="vertical_relaxed"), "execution_key", rules)
    first = known.unique("_pid", keep="first", maintain_order=True).join(
        counts, on="_pid", how="left"
    ).select("_pid", "_n_execution", "year_budget", "executed", *SPENT_COLUMNS.values(), pl.lit(True).alias("_has_execution"))
    frame = decl.join(first, on="_pid", how="left", maintain_order="left").with_columns(
        pl.coalesce("year_budget", "budget").alias("year_budget")
    )
    checked, found = pl.collect_all([frame, findings], engine="in-memory")
    return schema.validated(checked, schema.CHECKED_EXECUTION, "check_execution"), found


def score_execution(checked: pl.LazyFrame, rules: RuleSet, params: Params) -> pl.LazyFrame:
    """Per project: execution rate, weight and points, checkpoints behind plan (`_behind_*`) and
    why the execution can't be scored (`_missing_execution`)."""
    yb = pl.col("year_budget")
    single = pl.col("_n_execution").fill_null(1) <= 1
    scorable = single & pl.col("executed").is_not_null() & yb.is_not_null() & (yb > 0)
    # a year budget of 0 scores by the rule's zero_budget (unscorable by default)
    zero_budget = rules.execution.zero_budget
    zero = (single & pl.col("executed").is_not_null() & (yb == 0)).fill_null(False) if zero_budget != "unscorable" else pl.lit(False)
    thresholds = rules.execution.schedule.thresholds
    checked_at = set(checked_months(thresholds))
    frame = checked.with_columns(
        # a rule's monitoring line replaces the declared plan at that checkpoint (SCHEDULE quotes
        # it); a month with neither has no plan and is never behind
        *[
            (pl.lit(float(thresholds[c])) if c in thresholds else pl.col(f"plan_{c}") if c in DECLARED_PLANS
             else pl.lit(None, dtype=pl.Float64)).alias(f"plan_{c}")
            for c in CHECKPOINTS
        ],
    ).with_columns(
        pl.when(scorable).then(pl.col("executed") / yb).otherwise(None).alias("execution_rate"),
        pl.lit(params.execution_weight).alias("execution_weight"),
        *[
            (
                single & pl.col(spent).is_not_null() & pl.col(f"plan_{c}").is_not_null()
                & yb.is_not_null() & (yb > 0)
                & ((100.0 * pl.col(spent) / yb).round(6) < pl.col(f"plan_{c}") - params.schedule_tolerance)
            ).fill_null(False).alias(f"_behind_{c}")
            if c in checked_at else pl.lit(False).alias(f"_behind_{c}")
            for c, spent in SPENT_COLUMNS.items()
        ],
    )
    behind_count = pl.sum_horizontal([pl.col(f"_behind_{c}").cast(pl.Int32) for c in CHECKPOINTS])
    mode, decimals = rules.rounding.of("execution")
    rate = pl.col("execution_rate").clip(upper_bound=1.0) if rules.execution.cap else pl.col("execution_rate")
    fraction = curve_expr(rate, rules.execution.curve)
    if zero_budget != "unscorable":
        fraction = pl.when(zero).then(pl.lit(1.0 if zero_budget == "full" else 0.0)).otherwise(fraction)
    raw = round_points(params.execution_weight * fraction, mode, decimals)
    deducted = round_points((raw - params.schedule_points * behind_count).clip(lower_bound=0.0), mode, decimals)
    return frame.with_columns(
        (deducted if params.schedule_points > 0 else raw).alias("execution_points"),
        pl.when(pl.col("execution_rate").is_not_null() | ~single | zero).then(None)
        .when(pl.col("_has_execution").is_null()).then(pl.lit("no_row"))
        .when(pl.col("executed").is_null()).then(pl.lit("no_executed"))
        .otherwise(pl.lit("bad_budget")).alias("_missing_execution"),
    )


# ----------------------------------------------------------------------------- projects and units


def indicator_sums(indicators: pl.LazyFrame, by: Sequence[str] = ()) -> pl.LazyFrame:
    """Per project (`by` + `_pid`) its indicators' points summed per level-1 group and in all, the
    weights summed, whether every indicator was scored, and how many indicators there are."""
    keys = [*by, "_pid"]
    # A row may stand for `_n` equal indicators (what-if folds them); one indicator by default.
    folded = "_n" in indicators.collect_schema()
    n = pl.col("_n") if folded else pl.lit(1, dtype=pl.UInt32)
    count = pl.col("_n").sum() if folded else pl.len()
    points = pl.col("points") * n
    # per-group columns made first (0 outside the group) so the group-by only sums: adding 0.0
    # leaves every partial sum as it was, so the result equals summing the group's points alone
    return indicators.with_columns(
        *[pl.when(pl.col("level1_group") == g).then(points).otherwise(0.0).alias(col) for g, col in schema.LEVEL1_GROUPS.items()],
        *[pl.when(pl.col("level1_group") == g).then(pl.col("_weight") * n).otherwise(0.0).fill_null(0.0).alias(col)
          for g, col in GROUP_WEIGHTS.items()],
        points.alias("_indicator_points"),
        (pl.col("_weight") * n).alias("_weight_sum"),
        (pl.col("weight").is_not_null() * n).alias("_weights_given"),
        (pl.col("status") == "scored").alias("_all_scored"),
    ).group_by(keys).agg(
        *[pl.col(col).sum() for col in schema.LEVEL1_GROUPS.values()],
        *[pl.col(col).sum() for col in GROUP_WEIGHTS.values()],
        pl.col("_indicator_points").sum(),
        pl.col("_all_scored").all(),
        pl.col("_explicit").first(),
        pl.col("_weight_sum").sum(),
        pl.col("_weights_given").sum(),
        count.alias("_indicators"),
    )


def project_totals(projects: pl.LazyFrame, rules: RuleSet, params: Params, by: Sequence[str] = ()) -> pl.LazyFrame:
    """Project totals from every declared project's execution row beside its `indicator_sums`
    (null where it has no indicator): total, completeness and grade.

    Returns PROJECT_SCORES (the descriptive columns as far as `projects` has them) plus `_pid`,
    `_explicit`, `_weight_sum`, `_total_points` (read by WEIGHTS_SUM). A `_total_points` column
    already present (one per stacked scenario) is kept.
    """
    given = set(projects.collect_schema().names())
    computed = {"total", "complete", "grade", *schema.LEVEL1_GROUPS.values()}
    mode, decimals = rules.rounding.of("total")
    return (
        projects.with_columns(
            pl.col("_indicator_points").fill_null(0.0),
            # group points: a sum of rounded points; 9 decimals drop the float noise of adding them (46.800000000000004)
            *[pl.col(c).fill_null(0.0).round(9) for c in schema.LEVEL1_GROUPS.values()],
            *[pl.col(c).fill_null(0.0) for c in GROUP_WEIGHTS.values()],
        )
        .with_columns(
            # the parts are already rounded; rounding the sum only drops float noise
            round_points(pl.col("_indicator_points") + pl.col("execution_points").fill_null(0.0), mode, decimals).alias("total"),
            (pl.col("_all_scored").fill_null(True) & pl.col("execution_points").is_not_null()).alias("complete"),
            (pl.col("_total_points") if "_total_points" in given else pl.lit(params.total_points)).alias("_total_points"),
        )
        .with_columns(grade_expr(pl.col("total"), rules).alias("grade"))
        .select(*by, *[c for c in schema.PROJECT_SCORES.names() if c in computed or c in given],
                "_pid", "_explicit", "_weight_sum", "_total_points", "_weights_given", "_indicators",
                *GROUP_WEIGHTS.values(), *(["_uid"] if "_uid" in given else []))
    )


def project_scores(
    indicators: pl.LazyFrame, execution: pl.LazyFrame, rules: RuleSet, params: Params, by: Sequence[str] = ()
) -> pl.LazyFrame:
    """Project totals: every declared project (the rows of `execution`) with its indicators' points
    summed per level-1 group, plus execution points; completeness and grade (`project_totals`)."""
    sums = indicator_sums(indicators, by)
    return project_totals(execution.join(sums, on=[*by, "_pid"], how="left", maintain_order="left"), rules, params, by)


def unit_index(units: pl.DataFrame) -> pl.DataFrame:
    """(unit_code, `_uid`): each declared unit code numbered once, in declared order."""
    return units.select("unit_code").unique(maintain_order=True).with_row_index("_uid")


STACKED_KEY = "_k"


def stacked_key(units: pl.DataFrame) -> pl.Expr:
    """`_s` × (number of units) + `_uid`: a stacked scenario's unit as one integer key (`unit_scores`
    groups by it). Ascending when every scenario block lists its projects unit by unit."""
    return (pl.col("_s").cast(pl.UInt64) * unit_index(units).height + pl.col("_uid")).alias(STACKED_KEY)


def _every_unit_by_scenario(declared: pl.DataFrame, agg: pl.DataFrame, size: int) -> pl.DataFrame:
    """Every declared unit (with `_uid`) under every scenario of `agg` (rows keyed by `_k`), by
    scenario then unit code: each (scenario, unit) finds its row through a dense table of the keys,
    so there is no hash join and no sort of the stacked rows."""
    by_code = declared.sort("unit_code", maintain_order=True)
    scenarios = agg.get_column("_s").unique().sort()
    if scenarios.is_empty():
        return pl.concat([by_code.clear(), pl.DataFrame(schema={"_s": pl.UInt32}), agg.clear().drop("_s", "_uid", STACKED_KEY)],
                         how="horizontal")
    base = int(scenarios[0]) * size
    keys = agg.get_column(STACKED_KEY).cast(pl.Int64) - base
    row_of_key = pl.repeat(None, (int(scenarios[-1]) + 1) * size - base, dtype=pl.UInt32, eager=True).scatter(
        keys, pl.int_range(agg.height, dtype=pl.UInt32, eager=True)
    )
    # scenario by scenario, every unit in code order (a cross join lists the left rows' pairs together)
    grid = scenarios.to_frame().join(by_code, how="cross", maintain_order="left_right")
    rows = row_of_key.gather(grid.get_column("_s").cast(pl.Int64) * size + grid.get_column("_uid") - base)
    found = agg.drop("_s", "_uid", STACKED_KEY).select(pl.all().gather(rows))  # a unit without projects: nulls
    return pl.concat([grid.select(*by_code.columns, "_s"), found], how="horizontal")


def _department_parts(rules: RuleSet) -> tuple[pl.Expr, list[pl.Expr]]:
    """`department: parts`: (the department score over the per-unit sums, those sums).

    Each part earns its department weight × (points earned ÷ points available) over all the
    unit's projects; parts with nothing available pass their weight to the others in proportion.
    """
    earned = {**schema.LEVEL1_GROUPS, EXECUTION_KEY: "execution_points"}
    available = {**GROUP_WEIGHTS, EXECUTION_KEY: "execution_weight"}
    sums, score, used = [], pl.lit(0.0), pl.lit(0.0)
    full = sum(w for _, w in rules.department_parts())
    for i, (names, weight) in enumerate(rules.department_parts()):
        sums += [
            pl.sum_horizontal([pl.col(earned[n]).fill_null(0.0) for n in names]).sum().alias(f"_part_earned_{i}"),
            pl.sum_horizontal([pl.col(available[n]).fill_null(0.0) for n in names]).sum().alias(f"_part_available_{i}"),
        ]
        has = pl.col(f"_part_available_{i}") > 0
        score = score + pl.when(has).then(weight * pl.col(f"_part_earned_{i}") / pl.col(f"_part_available_{i}")).otherwise(0.0)
        used = used + pl.when(has).then(weight).otherwise(0.0)
    return pl.when(used > 0).then(score * full / used), sums


def category_blank() -> pl.Expr:
    """The project states no category (null, empty or only spaces)."""
    return pl.col("category").str.strip_chars().fill_null("") == ""


def category_expr() -> pl.Expr:
    """A project's category (项目类别) as the department roll-up reads it: blank or null is 未分类."""
    return pl.when(category_blank()).then(pl.lit(UNCATEGORISED)).otherwise(pl.col("category").str.strip_chars())


def category_weight_expr(rules: RuleSet) -> pl.Expr:
    """A project's category weight (`RuleSet.category_weight`): 1 for every category when none are given."""
    if not rules.category_weights:
        return pl.lit(1.0)
    return category_expr().replace_strict(rules.category_weights, default=0.0, return_dtype=pl.Float64)


def _department_by_category(projects: pl.LazyFrame, keys: list[str], rules: RuleSet) -> pl.LazyFrame:
    """`department: category`: per unit (`keys`), Σ weight × category score ÷ Σ weight over its
    weighted categories, each category's score the budget-weighted mean of its project totals (the
    plain mean when its budgets add up to 0)."""
    budget = pl.col("budget").fill_null(0.0)
    per_category = projects.with_columns(category_expr().alias("_category"), category_weight_expr(rules).alias("_cw")).filter(
        pl.col("_cw") > 0
    ).group_by([*keys, "_category"]).agg(
        (pl.col("total") * budget).sum().alias("_cat_x_budget"), budget.sum().alias("_cat_budget"),
        pl.col("total").sum().alias("_cat_sum"), pl.col("total").count().alias("_cat_totals"), pl.col("_cw").first(),
    ).with_columns(
        pl.when(pl.col("_cat_budget") > 0).then(pl.col("_cat_x_budget") / pl.col("_cat_budget"))
        .when(pl.col("_cat_totals") > 0).then(pl.col("_cat_sum") / pl.col("_cat_totals")).alias("_cat_score")
    ).filter(pl.col("_cat_score").is_not_null())
    return per_category.group_by(keys).agg(
        ((pl.col("_cw") * pl.col("_cat_score")).sum() / pl.col("_cw").sum()).alias("_by_category")
    )


def unit_scores(projects: pl.LazyFrame, units: pl.DataFrame, rules: RuleSet, by: Sequence[str] = ()) -> pl.LazyFrame:
    """Department (unit) score of every declared unit by the rule's `department` mode: budget-weighted
    (default) or plain mean of project totals, by parts, or by project category.

    Projects carrying `_uid` (`unit_index`, e.g. many stacked scenarios) are grouped by that number
    instead of hashing every unit code; stacked scenarios carrying `_k` (`stacked_key`, flagged
    sorted when it is) by that one key, which a sorted group-by reads in runs, and their rows come
    back by scenario, then unit code (otherwise: declared order).
    """
    names = projects.collect_schema().names()
    key = "_uid" if "_uid" in names else "unit_code"
    one_key = by == ["_s"] and key == "_uid" and STACKED_KEY in names
    budget = pl.col("budget").fill_null(0.0)
    # plain sums in the group-by (its fast path), the department's rule on them afterwards
    weighted = pl.col("_total_x_budget") / pl.col("_budget_weight")
    plain = pl.when(pl.col("_totals") > 0).then(pl.col("_total_sum") / pl.col("_totals"))  # the mean of the totals given
    mean = plain if rules.department == "mean" else pl.when(pl.col("_budget_weight") > 0).then(weighted).otherwise(plain)
    parts_sums: list[pl.Expr] = []
    if rules.department == "parts":
        mean, parts_sums = _department_parts(rules)
    agg = projects.group_by([STACKED_KEY] if one_key else [*by, key]).agg(
        *parts_sums,
        # a sum skips nulls and a group of nulls sums to 0: Σ budget is Σ budget-or-0, summed once
        pl.col("budget").sum().alias("_budget_weight"),
        pl.col("executed").sum().round(6).alias("executed"),
        (pl.col("total") * budget).sum().alias("_total_x_budget"),
        pl.col("total").sum().alias("_total_sum"),
        pl.col("total").count().alias("_totals"),
        pl.len().cast(pl.Int32).alias("projects"),
        pl.col("complete").all().alias("complete"),
    ).with_columns(
        # amounts: a float sum depends on the order the engine adds in; 6 decimals drop that noise
        pl.col("_budget_weight").round(6).alias("budget")
    )
    if one_key:
        size = unit_index(units).height
        agg = agg.with_columns((pl.col(STACKED_KEY) // size).cast(pl.UInt32).alias("_s"),
                               (pl.col(STACKED_KEY) % size).cast(pl.UInt32).alias("_uid"))
    if rules.department == "category":
        agg = agg.join(_department_by_category(projects, [*by, key], rules), on=[*by, key], how="left")
        mean = pl.col("_by_category")
    # a department without a score (no project in a weighted category) is not complete
    agg = agg.with_columns(round_points(mean, *rules.rounding.of("total")).alias("total")).with_columns(
        pl.col("complete") & pl.col("total").is_not_null()
    )
    declared = units.lazy().select(schema.UNITS.names())
    if key == "_uid":
        declared = declared.join(unit_index(units).lazy(), on="unit_code", how="left", maintain_order="left")
    if one_key:
        joined = _every_unit_by_scenario(declared.collect(engine="in-memory"), agg.collect(engine="in-memory"), size).lazy()
    else:
        if by:
            declared = declared.join(projects.select(by).unique(maintain_order=True), how="cross")
        joined = declared.join(agg, on=[*by, key], how="left", maintain_order="left")
    return (
        joined
        .with_columns(pl.col("projects").fill_null(0), pl.col("complete").fill_null(False))
        .with_columns(grade_expr(pl.col("total"), rules).alias("grade"))
        .select(*by, *[pl.col(name).cast(dtype) for name, dtype in schema.UNIT_SCORES.items()])
    )


__all__ = [
    "CHECKPOINTS", "STACKED_KEY", "category_blank", "category_expr", "category_weight_expr", "check_execution", "grade_expr", "indicator_sums",
    "project_scores", "project_totals", "score_execution", "stacked_key", "unit_index", "unit_scores",
]
