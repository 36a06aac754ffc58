"""Check: what each declared indicator is and whether it can be scored (stage 2 of 5).

Joins the actuals to the declared indicators, parses target and actual texts, resolves the
level-1 group, the shape of the weights (present groups, divisors) and the qualitative tier, and
picks the first reason an indicator can't be scored (docs/scoring.md §1–4). Nothing here depends
on the numeric rule parameters (weights, thresholds, penalties), so a what-if computes it once
for every scenario. Nothing loops over rows; texts are parsed once per distinct (text, year).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from selfeval import schema
from selfeval.engine import collect
from selfeval.findings import detect, problem_message
from selfeval.grammar import parsed_fields
from selfeval.ingest.prepare import Prepared
from selfeval.rules.model import LEVEL1_GROUPS, RuleSet

COMPARABLE_OPS = ("eq", "ge", "gt", "le", "lt")
GROUP_FLAGS = {"产出指标": "_has_output", "效益指标": "_has_effect", "满意度指标": "_has_satisfaction"}
PARSED = ("op", "value", "value_hi", "deadline", "unit", "dimension", "error")


@dataclass(frozen=True)
class Checked:
    """Stage output: one row per declared indicator (schema.CHECKED) and the key findings."""

    indicators: pl.DataFrame
    key_findings: pl.DataFrame


def group_expr(level1: pl.Expr, rules: RuleSet) -> pl.Expr:
    """Canonical level-1 group of a level-1 name (null when unknown)."""
    mapping = {g: g for g in LEVEL1_GROUPS} | dict(rules.aliases)
    return level1.str.strip_chars().replace_strict(mapping, default=None, return_dtype=pl.String)


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


def _actuals_per_key(actuals: pl.DataFrame) -> pl.LazyFrame:
    """One actual row per indicator key (the first read), with `_n_actual` rows seen for it."""
    return (
        actuals.lazy()
        .filter(pl.col("_ik").is_not_null())
        .group_by("_ik")
        .agg(pl.all().first(), pl.len().alias("_n_actual"))
    )


def _key_problems(prepared: Prepared, per_key: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    """Actual rows naming no declared indicator, and declared keys filled more than once (findings)."""
    declared = prepared.indicators.lazy().select("_ik")
    unknown = prepared.actuals.lazy().join(declared, on="_ik", how="anti").with_columns(
        pl.lit(True).alias("_unknown"), pl.lit(False).alias("_duplicate"), pl.lit(None, dtype=pl.UInt32).alias("_n_actual")
    )
    duplicate = (
        per_key.filter(pl.col("_n_actual") > 1)
        .join(declared, on="_ik", how="semi")
        .with_columns(pl.lit(False).alias("_unknown"), pl.lit(True).alias("_duplicate"))
    )
    cols = ["unit_code", "project_code", "seq", "level3", "_row", "_unknown", "_duplicate", "_n_actual"]
    both = pl.concat([unknown.select(cols), duplicate.select(cols)], how="vertical_relaxed")
    return detect(both, "key", rules)


def _weight_shape(frame: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    """Scenario-independent inputs of the weights: explicit flag, present groups, divisor."""
    group = pl.col("level1_group")
    per_project = frame.group_by("_pid").agg(
        pl.col("weight").is_not_null().all().alias("_explicit"),
        *[(group == g).sum().alias(f"_n{flag}") for g, flag in GROUP_FLAGS.items()],
    )
    frame = frame.join(per_project, on="_pid", how="left", maintain_order="left", nulls_equal=True).with_columns(
        (pl.col(f"_n{flag}") > 0).alias(flag) for flag in GROUP_FLAGS.values()
    )
    if rules.split == "per_indicator":
        divisor: pl.Expr = pl.lit(None, dtype=pl.UInt32)
        for g, flag in GROUP_FLAGS.items():
            divisor = pl.when(group == g).then(pl.col(f"_n{flag}")).otherwise(divisor)
    else:
        level2_key = pl.col("level2").fill_null("\u0000")
        divisor = level2_key.n_unique().over(["_pid", "level1_group"]) * pl.len().over(["_pid", "level1_group", level2_key])
    return frame.with_columns(divisor.cast(pl.Float64).alias("_divisor")).drop([f"_n{f}" for f in GROUP_FLAGS.values()])


def _parsed(frame: pl.LazyFrame, text_col: str, prefix: str) -> pl.LazyFrame:
    return parsed_fields(frame, text_col, pl.col("year")).rename({f: f"{prefix}_{f}" for f in PARSED})


def status_expr(rules: RuleSet) -> tuple[pl.Expr, pl.Expr]:
    """(resolved qualitative tier, first reason the indicator can't be scored) — docs/scoring.md §4."""
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
    problem = (
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
    return pl.when(qualitative).then(resolved_tier).otherwise(None), problem


def check(prepared: Prepared, rules: RuleSet) -> Checked:
    """Every declared indicator with its actual, parsed values, weight shape, tier and status."""
    per_key = collect(_actuals_per_key(prepared.actuals)).lazy()  # read by the join and the key findings
    years = prepared.units.lazy().select("unit_code", pl.col("year").cast(pl.Int32)).unique("unit_code", keep="first")
    frame = (
        prepared.indicators.lazy()
        .join(
            per_key.select("_ik", pl.col("level3").alias("_actual_level3"), "actual_text", "deviation_reason",
                           "tier", "fraction", "_n_actual"),
            on="_ik", how="left", maintain_order="left",
        )
        .join(years, on="unit_code", how="left", maintain_order="left")
        .with_columns(group_expr(pl.col("level1"), rules).alias("level1_group"))
    )
    # Stages that join a frame with a distinct-value view of itself are materialized first:
    # left lazy, the optimizer would compute the shared upstream plan once per branch.
    frame = collect(_weight_shape(frame, rules)).lazy()
    frame = collect(_parsed(_parsed(frame, "target_text", "target"), "actual_text", "actual"))
    word_tiers = (
        frame.select("actual_text").unique().drop_nulls()
        .with_columns(word_tier_expr(pl.col("actual_text"), rules).alias("_word_tier"))
    )
    tier, problem = status_expr(rules)
    frame = frame.join(word_tiers, on="actual_text", how="left", maintain_order="left").with_columns(
        tier.alias("_tier"), problem.alias("_problem")
    )
    # Messages only for the rows that have a problem (texts for every row are the costly part).
    has_problem = frame.get_column("_problem").is_not_null()
    messages = frame.filter(has_problem).select("_order", problem_message(rules).alias("_message"))
    frame = frame.join(messages, on="_order", how="left", maintain_order="left")
    checked = frame.select(schema.CHECKED.names())
    return Checked(indicators=schema.validated(checked, schema.CHECKED, "check"),
                   key_findings=collect(_key_problems(prepared, per_key, rules)))


__all__ = ["COMPARABLE_OPS", "Checked", "check", "group_expr", "status_expr", "word_tier_expr"]
