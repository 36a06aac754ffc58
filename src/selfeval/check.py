"""Check: what each declared indicator is and whether it can be scored (stage 2 of 5).

Joins the actuals to the declared indicators, resolves the level-1 group and the shape of the
weights (present groups, divisors), parses target and actual texts, resolves the qualitative tier
and picks the first reason an indicator can't be scored (docs/scoring.md §1–4). Nothing here
depends on the numeric rule parameters (weights, thresholds, penalties), so a what-if computes
it once for every scenario.

Indicators repeat the same few (target, actual) pairs, so everything that depends only on the
texts is worked out once per distinct *case* (schema.CASES) and each indicator row carries its
case number `_case` (schema.CHECKED); later stages gather case values by that number.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from selfeval import schema
from selfeval.findings import detect, problem_message
from selfeval.grammar import parsed_fields
from selfeval.ingest.prepare import Prepared
from selfeval.rules.model import LEVEL1_GROUPS, RuleSet

COMPARABLE_OPS = ("eq", "ge", "gt", "le", "lt")
GROUP_FLAGS = {"产出指标": "_has_output", "效益指标": "_has_effect", "满意度指标": "_has_satisfaction"}
PARSED = ("op", "value", "value_hi", "deadline", "unit", "dimension", "error")
# What a case is: indicators with equal values of these columns are scored alike (given a weight).
CASE_KEYS = ["target_text", "actual_text", "year", "tier", "fraction", "_group_known", "_key_problem"]
# Case columns every indicator row carries (the rest are gathered when needed).
ROW_CASE_COLUMNS = ["target_op", "_tier", "_problem"]


@dataclass(frozen=True)
class Checked:
    """Stage output: indicator rows (schema.CHECKED), their cases (schema.CASES), key findings."""

    indicators: pl.DataFrame
    cases: pl.DataFrame
    key_findings: pl.DataFrame

    def case_columns(self, names: list[str], cases: pl.DataFrame | None = None) -> list[pl.Series]:
        """Columns of `cases` (default: this stage's cases) for every indicator row, gathered by `_case`."""
        table = self.cases if cases is None else cases
        index = self.indicators.get_column("_case")
        return [table.get_column(name).gather(index) for name in names]


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


# ----------------------------------------------------------------------------- keys


def _actuals_per_key(actuals: pl.DataFrame) -> pl.DataFrame:
    """One actual row per indicator key (the first read), with `_n_actual` rows seen for it."""
    keyed = actuals.filter(pl.col("_ik").is_not_null())
    counts = keyed.group_by("_ik").agg(pl.len().alias("_n_actual"))
    if counts.height == keyed.height:  # the usual case: every key once
        return keyed.with_columns(pl.lit(1, dtype=pl.UInt32).alias("_n_actual"))
    return keyed.unique("_ik", keep="first", maintain_order=True).join(counts, on="_ik", how="left", maintain_order="left")


def _key_findings(prepared: Prepared, per_key: pl.DataFrame, rules: RuleSet) -> pl.LazyFrame:
    """Actual rows naming no declared indicator, and declared keys filled more than once."""
    declared = prepared.indicators.lazy().select("_ik")
    unknown = prepared.actuals.lazy().join(declared, on="_ik", how="anti").with_columns(
        pl.lit(True).alias("_unknown"), pl.lit(False).alias("_duplicate"), pl.lit(None, dtype=pl.UInt32).alias("_n_actual")
    )
    duplicate = (
        per_key.lazy().filter(pl.col("_n_actual") > 1)
        .join(declared, on="_ik", how="semi")
        .with_columns(pl.lit(False).alias("_unknown"), pl.lit(True).alias("_duplicate"))
    )
    cols = ["unit_code", "project_code", "seq", "level3", "_row", "_unknown", "_duplicate", "_n_actual"]
    return detect(pl.concat([unknown.select(cols), duplicate.select(cols)], how="vertical_relaxed"), "key", rules)


def _with_actuals(indicators: pl.DataFrame, per_key: pl.DataFrame) -> pl.DataFrame:
    """Each declared indicator with the columns of its actual row (nulls when none)."""
    at = (
        indicators.select("_ik")
        .join(per_key.select("_ik").with_row_index("_a"), on="_ik", how="left", maintain_order="left")
        .get_column("_a")
    )
    names = {"level3": "_actual_level3", "actual_text": "actual_text", "deviation_reason": "deviation_reason",
             "tier": "tier", "fraction": "fraction", "_n_actual": "_n_actual"}
    return indicators.with_columns(per_key.get_column(c).gather(at).alias(alias) for c, alias in names.items())


# ----------------------------------------------------------------------------- weights


def _weight_shape(frame: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    """Scenario-independent inputs of the weights: explicit flag, present groups, divisor."""
    group = pl.col("level1_group")
    per_project = frame.group_by("_pid").agg(
        pl.col("weight").is_not_null().all().alias("_explicit"),
        *[(group == g).sum().alias(f"_n{flag}") for g, flag in GROUP_FLAGS.items()],
    )
    frame = frame.join(per_project, on="_pid", how="left", maintain_order="left").with_columns(
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


# ----------------------------------------------------------------------------- cases


def _case_numbers(rows: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
    """(`_case` of every row, one row per case with its CASE_KEYS), cases numbered 0…n-1.

    Texts are compared by their categorical codes (one hash per text), the rest as numbers.
    """
    code = rows.select(
        pl.col("target_text").cast(pl.Categorical).to_physical().alias("_t"),
        pl.col("actual_text").cast(pl.Categorical).to_physical().alias("_a"),
        pl.col("year"), pl.col("tier").cast(pl.Categorical).to_physical().alias("_tier_code"),
        pl.col("fraction"), pl.col("_group_known"), pl.col("_key_problem"),
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"),
    )
    keys = ["_t", "_a", "year", "_tier_code", "fraction", "_group_known", "_key_problem"]
    groups = code.group_by(keys).agg(pl.col("_row")).with_row_index("_case")
    members = groups.select("_case", "_row").explode("_row")
    case = pl.zeros(rows.height, dtype=pl.UInt32, eager=True).scatter(members.get_column("_row"), members.get_column("_case"))
    first = groups.select(pl.col("_row").list.first()).to_series()
    return case.alias("_case"), rows.select(CASE_KEYS)[first].with_row_index("_case")


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
    problem = (
        pl.when(pl.col("_key_problem")).then(pl.lit("KEY_MISMATCH"))
        .when(~pl.col("_group_known")).then(pl.lit("UNKNOWN_LEVEL1"))
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


def _checked_cases(cases: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    """Each case with its parsed target and actual, resolved tier and status."""
    frame = parsed_fields(cases.lazy(), "target_text", pl.col("year")).rename({f: f"target_{f}" for f in PARSED})
    frame = parsed_fields(frame, "actual_text", pl.col("year")).rename({f: f"actual_{f}" for f in PARSED})
    tier, problem = status_expr(rules)
    return (
        frame.with_columns(word_tier_expr(pl.col("actual_text"), rules).alias("_word_tier"))
        .with_columns(tier.alias("_tier"), problem.alias("_problem"))
        .select(schema.CASES.names())
        .collect(engine="in-memory")
    )


# ----------------------------------------------------------------------------- the stage


def check(prepared: Prepared, rules: RuleSet) -> Checked:
    """Every declared indicator with its actual, weight shape and case; every case checked."""
    per_key = _actuals_per_key(prepared.actuals)
    level3_clash = pl.col("_actual_level3").is_not_null() & (pl.col("_actual_level3") != pl.col("level3").str.strip_chars())
    rows = _with_actuals(prepared.indicators, per_key).with_columns(
        group_expr(pl.col("level1"), rules).alias("level1_group"),
    ).with_columns(
        pl.col("level1_group").is_not_null().alias("_group_known"),
        ((pl.col("_n_actual").fill_null(0) > 1) | level3_clash).alias("_key_problem"),
    )
    rows = _weight_shape(rows, rules)
    case, cases = _case_numbers(rows)
    cases = schema.validated(_checked_cases(cases, rules), schema.CASES, "check (cases)")
    rows = rows.with_columns(case, *[cases.get_column(c).gather(case) for c in ROW_CASE_COLUMNS])
    # Messages only for the rows that have a problem (texts for every row are the costly part).
    has_problem = rows.get_column("_problem").is_not_null()
    if has_problem.any():
        problem_rows = rows.filter(has_problem)
        detail = cases.drop("_case", *CASE_KEYS, "target_op", "_tier", "_problem")[problem_rows.get_column("_case")]
        messages = pl.concat([problem_rows, detail], how="horizontal").select("_order", problem_message(rules).alias("_message"))
        rows = rows.join(messages, on="_order", how="left", maintain_order="left")
    else:
        rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias("_message"))
    checked = rows.select(schema.CHECKED.names())
    return Checked(
        indicators=schema.validated(checked, schema.CHECKED, "check"),
        cases=cases,
        key_findings=_key_findings(prepared, per_key, rules).collect(engine="in-memory"),
    )


__all__ = ["CASE_KEYS", "COMPARABLE_OPS", "Checked", "check", "group_expr", "status_expr", "word_tier_expr"]
