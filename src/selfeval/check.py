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

import re
from dataclasses import dataclass

import polars as pl

from selfeval import schema
from selfeval.background import started
from selfeval.expressions import join_by_runs, looked_up, numbered
from selfeval.findings import detect, problem_message
from selfeval.grammar import parse_frame
from selfeval.ingest.prepare import Prepared
from selfeval.level1 import TRADITIONAL, level1_table, normalize_level1, normalize_level1_text
from selfeval.level1 import group_expr as level1_group_expr
from selfeval.rules.model import RuleSet

COMPARABLE_OPS = ("eq", "ge", "gt", "le", "lt")
GROUP_FLAGS = {"产出指标": "_has_output", "效益指标": "_has_effect", "满意度指标": "_has_satisfaction"}
PARSED = ("op", "value", "value_hi", "deadline", "unit", "dimension", "error", "scale", "unit_text", "op_written")
# What a case is: indicators with equal values of these columns are scored alike (given a weight).
CASE_KEYS = ["target_text", "actual_text", "year", "tier", "fraction", "_group_known", "_key_problem",
             "_direction_hint", "_direction_from_column"]
DIRECTIONS = ("ge", "le", "eq")
# An Excel date serial of 2000-01-01 … 2099-12-31: a bare number there, against a date target, is a date lost in a cell.
EXCEL_SERIALS = (36526, 73050)
# Case columns every indicator row carries (the rest are gathered when needed).
ROW_CASE_COLUMNS = ["target_op", "_tier", "_problem"]


@dataclass(frozen=True)
class Checked:
    """Stage output: indicator rows (schema.CHECKED), their cases (schema.CASES), key findings."""

    indicators: pl.DataFrame
    cases: pl.DataFrame
    key_findings: pl.DataFrame

    def case_columns(self, names: list[str], cases: pl.DataFrame | None = None) -> pl.DataFrame:
        """Columns of `cases` (default: this stage's cases) for every indicator row, gathered by `_case`."""
        table = self.cases if cases is None else cases
        # one select: the columns are gathered side by side (one call per column runs them one by one)
        return table.select(pl.col(names).gather(self.indicators.get_column("_case")))


def group_expr(level1: pl.Expr, rules: RuleSet) -> pl.Expr:
    """Canonical level-1 group of a level-1 label as printed (null when unknown) — docs/scoring.md §2.

    The label is normalized (width, traditional characters, points, enumeration) by `selfeval.level1`.
    """
    return level1_group_expr(level1, rules)


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
    key = actuals.get_column("_ik")
    keyed = actuals.filter(pl.col("_ik").is_not_null()) if key.null_count() else actuals
    if _strictly_increasing(keyed.get_column("_ik")):  # a filled template: in declared order, each key once
        return keyed.with_columns(pl.lit(1, dtype=pl.UInt32).alias("_n_actual"))
    counts = keyed.group_by("_ik").agg(pl.len().alias("_n_actual"))
    if counts.height == keyed.height:  # the usual case: every key once
        return keyed.with_columns(pl.lit(1, dtype=pl.UInt32).alias("_n_actual"))
    return keyed.unique("_ik", keep="first", maintain_order=True).join(counts, on="_ik", how="left", maintain_order="left")


def _aligned(indicators: pl.DataFrame, per_key: pl.DataFrame) -> bool:
    """The actuals name the declared indicators one for one, in order (a filled template)."""
    return per_key.height == indicators.height and indicators.get_column("_ik").equals(per_key.get_column("_ik"))


def _key_findings(prepared: Prepared, per_key: pl.DataFrame, rules: RuleSet, *, aligned: bool) -> pl.LazyFrame:
    """Actual rows naming no declared indicator, and declared keys filled more than once."""
    declared = prepared.indicators.lazy().select("_ik")
    # aligned: every keyed actual row names a declared indicator, so only the unkeyed ones are unknown
    unknown = (
        prepared.actuals.lazy().filter(pl.col("_ik").is_null()) if aligned
        else prepared.actuals.lazy().join(declared, on="_ik", how="anti")
    ).with_columns(
        pl.lit(True).alias("_unknown"), pl.lit(False).alias("_duplicate"), pl.lit(None, dtype=pl.UInt32).alias("_n_actual")
    )
    duplicate = per_key.lazy().filter(pl.col("_n_actual") > 1)
    if not aligned:
        duplicate = duplicate.join(declared, on="_ik", how="semi")
    duplicate = duplicate.with_columns(pl.lit(False).alias("_unknown"), pl.lit(True).alias("_duplicate"))
    cols = ["unit_code", "project_code", "seq", "level3", "_row", "_unknown", "_duplicate", "_n_actual"]
    return detect(pl.concat([unknown.select(cols), duplicate.select(cols)], how="vertical_relaxed"), "key", rules)


def _strictly_increasing(key: pl.Series) -> bool:
    return key.len() < 2 or bool(key.null_count() == 0 and (key.diff(null_behavior="drop") > 0).all())


def _with_actuals(indicators: pl.DataFrame, per_key: pl.DataFrame, *, aligned: bool) -> pl.DataFrame:
    """Each declared indicator with the columns of its actual row (nulls when none)."""
    names = {"level3": "_actual_level3", "actual_text": "actual_text", "deviation_reason": "deviation_reason",
             "tier": "tier", "fraction": "fraction", "_n_actual": "_n_actual", "weight": "_actual_weight",
             "points": "_given_points"}
    if aligned:
        # the actuals name the declared indicators one for one, in order: their columns fit as they are
        return indicators.with_columns(per_key.get_column(c).alias(alias) for c, alias in names.items())
    # keys flagged sorted at prepare (both in declared order) make this a merge join
    at = (
        indicators.select("_ik")
        .join(per_key.select("_ik").with_row_index("_a"), on="_ik", how="left", maintain_order="left")
        .get_column("_a")
    )
    found = per_key.select(pl.col(c).gather(at).alias(alias) for c, alias in names.items())
    return indicators.hstack(found)


# ----------------------------------------------------------------------------- weights


def _level2_share_divisor(divisor: pl.Expr, rules: RuleSet) -> pl.Expr:
    """Groups with fixed level-2 shares (`rules.level2_weights`): weight = group weight × share ÷
    (shares of the level-2s present) ÷ indicators in the level-2, written as a divisor."""
    group, level2_key = pl.col("level1_group"), pl.col("level2").fill_null("\u0000")
    for g in GROUP_FLAGS:
        table = rules.level2_share_table(g)
        if table is None:
            continue
        names, other = table
        share = pl.col("level2").replace_strict(names, default=other, return_dtype=pl.Float64).fill_null(other)
        in_level2 = pl.len().over(["_pid", "level1_group", level2_key])
        present = (share / in_level2).sum().over(["_pid", "level1_group"])  # Σ share over the level-2s present
        divisor = pl.when((group == g) & (present > 0)).then(present * in_level2 / share).otherwise(divisor)
    return divisor


def _weight_shape(frame: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    """Scenario-independent inputs of the weights: explicit flag, present groups, divisor."""
    group = pl.col("level1_group")
    # the row flags are columns first: the group-by then only sums (its fast path, not an expression per group)
    per_project = frame.lazy().select(
        "_pid", pl.col("weight").is_not_null().alias("_explicit"), *[(group == g).alias(f"_n{flag}") for g, flag in GROUP_FLAGS.items()]
    ).group_by("_pid").agg(
        pl.col("_explicit").all(), *[pl.col(f"_n{flag}").sum() for flag in GROUP_FLAGS.values()]
    ).collect(engine="in-memory")
    frame = looked_up(frame, per_project, ["_pid"]).with_columns(
        (pl.col(f"_n{flag}") > 0).alias(flag) for flag in GROUP_FLAGS.values()
    )
    if rules.split == "per_indicator":
        divisor: pl.Expr = pl.lit(None, dtype=pl.UInt32)
        for g, flag in GROUP_FLAGS.items():
            divisor = pl.when(group == g).then(pl.col(f"_n{flag}")).otherwise(divisor)
    else:
        level2_key = pl.col("level2").fill_null("\u0000")
        divisor = level2_key.n_unique().over(["_pid", "level1_group"]) * pl.len().over(["_pid", "level1_group", level2_key])
    divisor = _level2_share_divisor(divisor.cast(pl.Float64), rules)
    return frame.with_columns(divisor.cast(pl.Float64).alias("_divisor")).drop([f"_n{f}" for f in GROUP_FLAGS.values()])


# ----------------------------------------------------------------------------- cases


def _case_numbers(rows: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
    """(`_case` of every row, one row per case with its CASE_KEYS), cases numbered 0…n-1."""
    case, first = numbered(rows, CASE_KEYS, "_case")
    return case, rows.select(CASE_KEYS)[first].with_row_index("_case")


def direction_hint(rules: RuleSet) -> tuple[pl.Expr, pl.Expr]:
    """(direction a bare target value takes, whether the table's 指标方向 column gave it) — docs/scoring.md §3."""
    dd = rules.direction_defaults
    declared = pl.when(pl.col("direction").is_in(list(DIRECTIONS))).then(pl.col("direction"))
    by_rule: pl.Expr = pl.lit(dd.default)
    if dd.level3_words:
        by_rule = pl.when(pl.col("level3").str.contains_any(dd.level3_words)).then(pl.lit("le")).otherwise(by_rule)
    if dd.level2:  # `_level2_direction`: the direction_defaults.level2 entry of the label (check() adds it)
        by_rule = pl.coalesce(pl.col("_level2_direction"), by_rule)
    # `_level1_direction`: the direction_defaults.level1 entry of the normalized label (check() adds it)
    by_rule = pl.coalesce(pl.col("_level1_direction"), by_rule)
    return pl.coalesce(declared, by_rule), declared.is_not_null()


def level2_directions(level2: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    """`level2` labels with `_level2_direction`, the direction_defaults.level2 entry of each."""
    simplified = pl.col("level2").str.replace_many(TRADITIONAL)  # 成本指標 is 成本指标
    mapped = simplified.replace_strict(rules.direction_defaults.level2, default=None, return_dtype=pl.String)
    return level2.with_columns(mapped.alias("_level2_direction"))


def qualitative_text(text: pl.Expr, rules: RuleSet) -> pl.Expr:
    """A qualitative text as its words are read: traditional characters simplified, a leading word of
    time or scope (`全年`, `年度内` …, rules.qualitative.leading_words) dropped."""
    simplified = text.str.replace_many(TRADITIONAL)
    words = sorted(rules.qualitative.leading_words, key=len, reverse=True)
    if not words:
        return simplified
    return simplified.str.replace("^(?:" + "|".join(re.escape(w) for w in words) + ")", "")


def affirms_expr(rules: RuleSet) -> pl.Expr:
    """The actual affirms a qualitative target: the same text, or both negative about the same thing
    (`无安全事故` / `未发生安全事故`, `否` / `否`)."""
    markers = sorted(rules.qualitative.negative_markers, key=len, reverse=True)
    if not markers:
        return pl.col("actual_text") == pl.col("target_text")
    pattern = "^(?:" + "|".join(re.escape(m) for m in markers) + ")"
    negative_t, negative_a = pl.col("target_text").str.contains(pattern), pl.col("actual_text").str.contains(pattern)
    # cores are short phrases (安全事故); a long text is cut so it can't blow up the substring test
    core_t = pl.col("target_text").str.slice(0, 100).str.replace(pattern, "").str.strip_chars()
    core_a = pl.col("actual_text").str.slice(0, 100).str.replace(pattern, "").str.strip_chars()
    same_thing = (core_t == core_a) | (core_a == "") | core_a.str.contains(core_t, literal=True) | core_t.str.contains(core_a, literal=True)
    return (pl.col("actual_text") == pl.col("target_text")) | (negative_t & negative_a & same_thing).fill_null(False)


YES_WORDS = ("是", "有", "存在", "发生")


def contradicts_expr(rules: RuleSet) -> pl.Expr:
    """A negative target (`否`, `无安全事故`) answered by a bare yes (`是`, `有`, `发生…`): not achieved."""
    markers = sorted(rules.qualitative.negative_markers, key=len, reverse=True)
    if not markers:
        return pl.lit(False)
    pattern = "^(?:" + "|".join(re.escape(m) for m in markers) + ")"
    yes = pl.col("actual_text").is_in(list(YES_WORDS)) | pl.col("actual_text").str.starts_with("发生")
    return (pl.col("target_text").str.contains(pattern) & ~pl.col("actual_text").str.contains(pattern) & yes).fill_null(False)


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
        pl.when(pl.col("_affirms")).then(pl.lit(rules.qualitative.top_tier)),
        pl.when(pl.col("_contradicts")).then(pl.lit(rules.qualitative.bottom_tier)),
        pl.col("_word_tier"),
    )
    band_lo = resolved_tier.replace_strict({k: t.band[0] for k, t in tiers.items()}, default=None, return_dtype=pl.Float64)
    band_hi = resolved_tier.replace_strict({k: t.band[1] for k, t in tiers.items()}, default=None, return_dtype=pl.Float64)
    fraction_out_of_band = pl.col("fraction").is_not_null() & (
        (pl.col("fraction") < band_lo - 1e-12) | (pl.col("fraction") > band_hi + 1e-12)
    )
    both_units = t_unit.is_not_null() & a_unit.is_not_null()
    dims_differ = both_units & (pl.col("target_dimension").fill_null("") != pl.col("actual_dimension").fill_null(""))
    units_differ = both_units & pl.col("target_dimension").is_in(["count", "other", "rate"]) & (t_unit != a_unit)
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
        .when(a_op.is_null() | pl.col("_excel_serial")).then(pl.lit("UNPARSEABLE_ACTUAL"))
        .when((t_op == "deadline") & ((a_op != "deadline") | pl.col("actual_deadline").is_null())).then(pl.lit("UNIT_MISMATCH"))
        .when(t_op == "deadline").then(None)
        .when(~a_op.is_in(list(COMPARABLE_OPS))).then(pl.lit("UNIT_MISMATCH"))
        .when(dims_differ | units_differ).then(pl.lit("UNIT_MISMATCH"))
        .otherwise(None)
    )
    return pl.when(qualitative).then(resolved_tier).otherwise(None), problem


def _resolved_values(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Direction of a bare target, unit of a bare actual, and date serials — docs/scoring.md §3.

    * A bare target value (`90%`, no ≥/≤/= written) takes the direction hint of its row.
    * A bare actual number (no unit) means the target's unit as written, multiplier included:
      `12` against `≥11.376万元` is 12万元 (`_assumed_unit` says so).
    * A bare number in the range of Excel date serials against a date target is not a number.
    """
    t_op, a_op = pl.col("target_op"), pl.col("actual_op")
    bare_target = (t_op == "eq") & ~pl.col("target_op_written").fill_null(True)
    bare_actual = (
        pl.col("actual_unit").is_null() & pl.col("target_unit").is_not_null() & a_op.is_in(list(COMPARABLE_OPS))
        & pl.col("actual_value").is_not_null()
    )
    # `118.6万` wrote its own multiplier: it takes the target's unit, not its multiplier again
    own_multiplier = pl.col("actual_scale").fill_null(1.0) != 1.0
    # a bare target of 0 (`0起`) can only be a cap: "at least 0" would be met by anything
    hint = pl.when(pl.col("target_value") == 0).then(pl.lit("le")).otherwise(pl.col("_direction_hint"))
    serial = (
        (t_op == "deadline") & (a_op == "eq") & pl.col("actual_unit").is_null()
        & pl.col("actual_value").is_between(*EXCEL_SERIALS) & (pl.col("actual_value") == pl.col("actual_value").floor())
    ).fill_null(False)
    return frame.with_columns(
        pl.when(bare_target).then(hint).otherwise(t_op).alias("target_op"),
        pl.when(bare_target & pl.col("_direction_from_column")).then(pl.lit("指标方向"))
        .when(bare_target).then(pl.lit("规则默认"))
        .when(t_op.is_not_null()).then(pl.lit("指标值写明")).alias("direction_source"),
        pl.when(bare_actual & ~own_multiplier).then(pl.col("actual_value") * pl.col("target_scale"))
        .otherwise(pl.col("actual_value")).alias("actual_value"),
        pl.when(bare_actual).then(pl.col("target_unit")).otherwise(pl.col("actual_unit")).alias("actual_unit"),
        pl.when(bare_actual).then(pl.col("target_dimension")).otherwise(pl.col("actual_dimension")).alias("actual_dimension"),
        pl.when(bare_actual).then(pl.col("target_unit_text")).alias("_assumed_unit"),
        serial.alias("_excel_serial"),
        pl.when(serial).then(pl.format("疑似 Excel 日期序列号 {}（单元格被设成了数字），请填写日期", pl.col("actual_value").cast(pl.Int64)))
        .otherwise(pl.col("actual_error")).alias("actual_error"),
    ).with_columns(pl.col("target_op").alias("direction"))


def _checked_cases(cases: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    """Each case with its parsed target and actual, resolved tier and status."""
    # target and actual texts parsed together: one pass of the grammar, each distinct (text, year) once
    texts = pl.concat(
        [cases.select(pl.col(side).alias("_text"), "year") for side in ("target_text", "actual_text")], how="vertical"
    ).unique()
    parsed = pl.concat([texts, parse_frame(texts, "_text", pl.col("year"))], how="horizontal")
    frame = cases.lazy()
    for side in ("target", "actual"):
        frame = frame.join(
            parsed.lazy().rename({"_text": f"{side}_text", **{f: f"{side}_{f}" for f in PARSED}}),
            on=[f"{side}_text", "year"], how="left", nulls_equal=True, maintain_order="left",
        )
    resolved = _resolved_values(frame).collect(engine="in-memory")
    # the texts of qualitative cases only are searched for tier words and negation
    qualitative = resolved.lazy().filter(pl.col("target_op") == "qualitative").with_columns(
        qualitative_text(pl.col("target_text"), rules).alias("target_text"),
        qualitative_text(pl.col("actual_text"), rules).alias("actual_text"),
    ).select(
        "_case",
        word_tier_expr(pl.col("actual_text"), rules).alias("_word_tier"),
        affirms_expr(rules).alias("_affirms"),
        contradicts_expr(rules).alias("_contradicts"),
    )
    tier, problem = status_expr(rules)
    return (
        resolved.lazy().join(qualitative, on="_case", how="left", maintain_order="left")
        .with_columns(pl.col("_affirms").fill_null(False), pl.col("_contradicts").fill_null(False))
        .with_columns(tier.alias("_tier"), problem.alias("_problem"))
        .select(schema.CASES.names())
        .collect(engine="in-memory")
    )


# ----------------------------------------------------------------------------- the stage


def check(prepared: Prepared, rules: RuleSet, *, findings: bool = True) -> Checked:
    """Every declared indicator with its actual, weight shape and case; every case checked.

    `findings=False` (what-if, which reports no findings) leaves out what only findings read: the
    key findings and the problem messages (`_message` stays null).
    """
    per_key = _actuals_per_key(prepared.actuals)
    level3_clash = pl.col("_actual_level3").is_not_null() & (pl.col("_actual_level3") != pl.col("level3").str.strip_chars())
    hint, from_column = direction_hint(rules)
    by_name = {normalize_level1_text(k): v for k, v in rules.direction_defaults.level1.items()}

    def labels(level1: pl.DataFrame) -> pl.DataFrame:
        """level1_group, level1_points, _level1_hint and _level1_direction of each distinct label."""
        return level1_table(level1.get_column("level1"), rules).with_columns(  # `成本指标（20分）` is 成本指标 too
            normalize_level1(pl.col("level1")).replace_strict(by_name, default=None, return_dtype=pl.String)
            .alias("_level1_direction")
        )

    aligned = _aligned(prepared.indicators, per_key)
    key_findings = None
    if findings:  # they need nothing below: found in a helper thread meanwhile
        key_findings = started(lambda: _key_findings(prepared, per_key, rules, aligned=aligned).collect(engine="in-memory"), "keys")
    rows = join_by_runs(_with_actuals(prepared.indicators, per_key, aligned=aligned), labels, ["level1"])
    if rules.direction_defaults.level2:
        rows = join_by_runs(rows, lambda level2: level2_directions(level2, rules), ["level2"])
    rows = rows.with_columns(
        pl.coalesce("weight", "_actual_weight").alias("weight"),  # a 分值 on the actuals row fills a gap
        hint.alias("_direction_hint"), from_column.alias("_direction_from_column"),
    ).with_columns(
        pl.col("level1_group").is_not_null().alias("_group_known"),
        ((pl.col("_n_actual").fill_null(0) > 1) | level3_clash).alias("_key_problem"),
    )
    # the weight shape and the cases read different columns: the shape is found beside the cases
    shaped = started(lambda: _weight_shape(rows, rules), "weights")
    case, cases = _case_numbers(rows)
    cases = schema.validated(_checked_cases(cases, rules), schema.CASES, "check (cases)")
    rows = shaped.result().with_columns(case, *cases.select(pl.col(ROW_CASE_COLUMNS).gather(case)).get_columns())
    # Messages only for the rows that have a problem (texts for every row are the costly part).
    has_problem = rows.get_column("_problem").is_not_null()
    if findings and has_problem.any():
        message = problem_message(rules)
        read = set(message.meta.root_names())  # only the columns the messages read are gathered
        problem_rows = rows.select(c for c in rows.columns if c in read or c == "_case").filter(has_problem)
        detail = cases.select(c for c in cases.columns if c in read and c not in problem_rows.columns)
        if detail.width:
            problem_rows = pl.concat([problem_rows, detail[problem_rows.get_column("_case")]], how="horizontal")
        messages = problem_rows.select(message).to_series()
        none = pl.repeat(None, rows.height, dtype=pl.String, eager=True)
        rows = rows.with_columns(none.scatter(has_problem.arg_true(), messages).alias("_message"))
    else:
        rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias("_message"))
    checked = rows.select(schema.CHECKED.names())
    return Checked(
        indicators=schema.validated(checked, schema.CHECKED, "check"),
        cases=cases,
        key_findings=key_findings.result() if key_findings is not None else schema.empty(schema.FINDINGS),
    )


__all__ = ["CASE_KEYS", "COMPARABLE_OPS", "Checked", "check", "group_expr", "status_expr", "word_tier_expr"]
