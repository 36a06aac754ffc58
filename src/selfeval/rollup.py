"""Budget execution, project totals, department (unit) scores and grades (SPEC.md §5.5–5.6)."""

from __future__ import annotations

import polars as pl

from selfeval import schema
from selfeval.expressions import clean_text, curve_expr, money_text, num_text, pct_text, round_half_up
from selfeval.rules.model import RuleSet
from selfeval.scenarios import SCENARIO
from selfeval.scoring import PROJECT_KEYS, SCENARIO_PROJECT_KEYS, group_points_columns, with_declared_unit, with_params

CHECKPOINTS = {"mar": "3月底", "jun": "6月底", "oct": "10月底"}


def grade_expr(total: pl.Expr, rules: RuleSet) -> pl.Expr:
    """Grade of a total: the first band (highest min first) whose min the total reaches."""
    chain = None
    for band in rules.grades:  # sorted by min, descending
        cond = total >= band.min
        chain = pl.when(cond).then(pl.lit(band.grade)) if chain is None else chain.when(cond).then(pl.lit(band.grade))
    return pl.when(total.is_null()).then(None).otherwise(chain.otherwise(pl.lit(rules.grades[-1].grade)))


def project_total_expr(decimals: int) -> pl.Expr:
    """A project's total: its scored indicator points (`_indicator_points`) plus execution points.

    The parts are already rounded; rounding the sum only drops float noise.
    """
    return (pl.col("_indicator_points") + pl.col("execution_points").fill_null(0.0)).round(decimals)


def prepared_execution(execution: pl.DataFrame, projects: pl.DataFrame) -> pl.LazyFrame:
    """Execution rows cast to the schema with unit_code filled from the declared project."""
    frame = (
        schema.conform(execution, schema.EXECUTION)
        .lazy()
        .with_columns(clean_text(pl.col("unit_code")), clean_text(pl.col("project_code")))
    )
    return with_declared_unit(frame, execution, projects)


def scored_execution(
    projects: pl.DataFrame, execution: pl.DataFrame, rules: RuleSet, params: pl.DataFrame
) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    """Per scenario and project: year_budget, executed, rate, execution points; plus execution findings."""
    exe = prepared_execution(execution, projects)
    decl = schema.conform(projects, schema.PROJECTS).lazy()
    unknown = exe.join(decl.select(PROJECT_KEYS), on=PROJECT_KEYS, how="anti").select(
        *PROJECT_KEYS,
        pl.lit("KEY_MISMATCH").alias("code"),
        pl.lit("project_code").alias("column"),
        pl.col("project_code").alias("value"),
        pl.format("预算执行数据中的项目 {} 未在绩效目标表中申报", pl.col("project_code")).alias("message"),
    )
    weight, tolerance = pl.col("_w_execution"), pl.col("_schedule_tolerance")
    counts = exe.group_by(PROJECT_KEYS).agg(pl.len().alias("_n_execution"))
    duplicate = counts.filter(pl.col("_n_execution") > 1).join(decl.select(PROJECT_KEYS), on=PROJECT_KEYS, how="semi").select(
        *PROJECT_KEYS,
        pl.lit("KEY_MISMATCH").alias("code"),
        pl.lit("project_code").alias("column"),
        pl.col("project_code").alias("value"),
        pl.format("项目 {} 有 {} 行预算执行数据，无法确定采用哪一行，预算执行率不评分",
                  pl.col("project_code"), pl.col("_n_execution")).alias("message"),
    )
    frame = decl.join(
        exe.unique(PROJECT_KEYS, keep="first", maintain_order=True).join(counts, on=PROJECT_KEYS, how="left").select(
            "_n_execution",
            *PROJECT_KEYS, "year_budget", "executed", "executed_by_mar", "executed_by_jun", "executed_by_oct",
            pl.lit(True).alias("_has_execution"),
        ),
        on=PROJECT_KEYS, how="left", maintain_order="left",
    ).with_columns(pl.coalesce("year_budget", "budget").alias("year_budget"))
    frame = with_params(frame, params)
    yb = pl.col("year_budget")
    single = pl.col("_n_execution").fill_null(1) <= 1
    scorable = single & pl.col("executed").is_not_null() & yb.is_not_null() & (yb > 0)
    frame = frame.with_columns(
        pl.when(scorable).then(pl.col("executed") / yb).otherwise(None).alias("execution_rate"),
        weight.alias("execution_weight"),
        *[
            (
                single & pl.col(f"executed_by_{c}").is_not_null() & pl.col(f"plan_{c}").is_not_null()
                & yb.is_not_null() & (yb > 0)
                & ((100.0 * pl.col(f"executed_by_{c}") / yb).round(6) < pl.col(f"plan_{c}") - tolerance)
            ).fill_null(False).alias(f"_behind_{c}")
            for c in CHECKPOINTS
        ],
    )
    behind_count = pl.sum_horizontal([pl.col(f"_behind_{c}").cast(pl.Int32) for c in CHECKPOINTS])
    decimals = rules.rounding.decimals
    raw = round_half_up(weight * curve_expr(pl.col("execution_rate"), rules.execution.curve), decimals)
    deducted = round_half_up((raw - pl.col("_schedule_points") * behind_count).clip(lower_bound=0.0), decimals)
    frame = frame.with_columns(pl.when(pl.col("_schedule_points") > 0).then(deducted).otherwise(raw).alias("execution_points"))
    missing = frame.filter(pl.col("execution_rate").is_null() & single).select(
        SCENARIO, *PROJECT_KEYS,
        pl.lit("MISSING_EXECUTION").alias("code"),
        pl.lit("executed").alias("column"),
        pl.col("executed").cast(pl.String).alias("value"),
        pl.when(pl.col("_has_execution").is_null()).then(pl.lit("项目没有预算执行数据，预算执行率无法评分"))
        .when(pl.col("executed").is_null()).then(pl.lit("项目没有填写全年执行数，预算执行率无法评分"))
        .otherwise(pl.format("全年预算数 {} 无效，预算执行率无法评分", pl.col("year_budget").cast(pl.String)))
        .alias("message"),
    )
    schedule = [
        frame.filter(pl.col(f"_behind_{c}")).select(
            SCENARIO, *PROJECT_KEYS,
            pl.lit("SCHEDULE").alias("code"),
            pl.lit(f"executed_by_{c}").alias("column"),
            money_text(pl.col(f"executed_by_{c}")).alias("value"),
            pl.format("{}累计支出 {} 元（占全年预算 {}），低于支出计划 {}%",
                      pl.lit(label), money_text(pl.col(f"executed_by_{c}")),
                      pct_text(pl.col(f"executed_by_{c}") / yb), num_text(pl.col(f"plan_{c}"), 2)).alias("message"),
        )
        for c, label in CHECKPOINTS.items()
    ]
    return frame, pl.concat([unknown, duplicate], how="vertical"), pl.concat([missing, *schedule], how="vertical")


def project_scores(
    indicators: pl.LazyFrame, execution: pl.LazyFrame, rules: RuleSet
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Project totals (schema PROJECT_SCORES) and WEIGHTS_SUM findings."""
    per_project = indicators.group_by(SCENARIO_PROJECT_KEYS).agg(
        *group_points_columns(),
        pl.col("points").sum().alias("_indicator_points"),
        (pl.col("status") == "scored").all().alias("_all_scored"),
        pl.col("_explicit").first().alias("_explicit"),
        pl.col("_weight").sum().alias("_weight_sum"),
    )
    decimals = rules.rounding.decimals
    frame = execution.join(per_project, on=SCENARIO_PROJECT_KEYS, how="left", maintain_order="left").with_columns(
        pl.col("_indicator_points").fill_null(0.0),
        *[pl.col(c).fill_null(0.0) for c in schema.LEVEL1_GROUPS.values()],
    ).with_columns(
        project_total_expr(decimals).alias("total"),
        (pl.col("_all_scored").fill_null(True) & pl.col("execution_points").is_not_null()).alias("complete"),
    ).with_columns(grade_expr(pl.col("total"), rules).alias("grade"))
    expected = pl.col("_total_points")
    weights_sum = frame.filter(
        pl.col("_explicit").fill_null(False)
        & ((pl.col("_weight_sum") + pl.col("execution_weight") - expected).abs() > 0.005)
    ).select(
        SCENARIO, *PROJECT_KEYS,
        pl.lit("WEIGHTS_SUM").alias("code"),
        pl.lit("weight").alias("column"),
        num_text(pl.col("_weight_sum") + pl.col("execution_weight"), 2).alias("value"),
        pl.format("项目指标分值合计 {}（含预算执行率 {}），与满分 {} 不一致",
                  num_text(pl.col("_weight_sum") + pl.col("execution_weight"), 2),
                  num_text(pl.col("execution_weight"), 2), num_text(expected, 2)).alias("message"),
    )
    out = frame.select(SCENARIO, *[pl.col(name).cast(dtype) for name, dtype in schema.PROJECT_SCORES.items()])
    return out, weights_sum


def unit_scores(projects: pl.LazyFrame, units: pl.DataFrame, rules: RuleSet) -> pl.LazyFrame:
    """Department (unit) score: budget-weighted (default) or plain mean of project totals."""
    budget = pl.col("budget").fill_null(0.0)
    weighted = (pl.col("total") * budget).sum() / budget.sum()
    plain = pl.col("total").mean()
    mean = plain if rules.department == "mean" else pl.when(budget.sum() > 0).then(weighted).otherwise(plain)
    agg = projects.group_by(SCENARIO, "unit_code").agg(
        pl.col("budget").sum().alias("budget"),
        pl.col("executed").sum().alias("executed"),
        round_half_up(mean, rules.rounding.decimals).alias("total"),
        pl.len().cast(pl.Int32).alias("projects"),
        pl.col("complete").all().alias("complete"),
    )
    scenarios = projects.select(SCENARIO).unique(maintain_order=True)
    frame = (
        schema.conform(units, schema.UNITS).lazy()
        .join(scenarios, how="cross")
        .join(agg, on=[SCENARIO, "unit_code"], how="left", maintain_order="left")
        .with_columns(
            pl.col("projects").fill_null(0),
            pl.col("complete").fill_null(False),
        )
        .with_columns(grade_expr(pl.col("total"), rules).alias("grade"))
    )
    return frame.select(SCENARIO, *[pl.col(name).cast(dtype) for name, dtype in schema.UNIT_SCORES.items()])
