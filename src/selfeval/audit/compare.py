"""Recompute every submitted form with the scoring pipeline and compare it with what it claims.

One vectorized pass over all rows of all files: the claims become the pipeline's canonical
inputs (the printed 分值 as explicit weights), `pipeline.run` scores them under the rule set, and
the stage frames of `kinds.py` are joined from claims and scores; `findings.detect` evaluates
every audit check over them. Three runs of the same pipeline, never a second implementation:
1. the submission's 分值 as weights — the points, totals and grades the rules give;
2. only when a qualitative row's claimed points lie inside its tier's band but off its default
   fraction — run 1 again with that claimed fraction (the rules let the evaluator choose within
   the band), so the recomputed total accepts it;
3. the rule's own weights (no 分值) — what each level-1 group should hold, for AUDIT_WEIGHTS_LEVEL1.
"""

from __future__ import annotations

import polars as pl

from selfeval.audit.claims import FIELD_LABELS, Claims, canonical_inputs, rate_tolerance
from selfeval.audit.grid import column_letter
from selfeval.checkpoints import SPENT_COLUMNS
from selfeval.audit.kinds import AUDIT_KINDS, EXPECTED, PIPELINE_CODES
from selfeval.expressions import num_text, pct_text
from selfeval.findings import CATALOGUE, detect, render
from selfeval.level1 import level1_points
from selfeval.pipeline import Frames, run
from selfeval.rollup import grade_expr
from selfeval.rules.model import RuleSet

KEYS = ["unit_code", "project_code", "seq"]

AUDIT_FINDINGS = pl.Schema({
    "severity": pl.String, "code": pl.String, "name": pl.String, "file": pl.String, "sheet": pl.String,
    "row": pl.Int64, "cell": pl.String, "column": pl.String, "unit_code": pl.String, "project_code": pl.String,
    "project_name": pl.String, "seq": pl.Int32, "level3": pl.String, "value": pl.String, "expected": pl.String,
    "message": pl.String,
})


def _bands(rules: RuleSet) -> tuple[dict[str, float], dict[str, float]]:
    tiers = rules.qualitative.tiers
    return {n: t.band[0] for n, t in tiers.items()}, {n: t.band[1] for n, t in tiers.items()}


def _with_bands(frame: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    lo, hi = _bands(rules)
    return frame.with_columns(
        pl.col("tier").replace_strict(lo, default=None, return_dtype=pl.Float64).alias("_band_lo"),
        pl.col("tier").replace_strict(hi, default=None, return_dtype=pl.Float64).alias("_band_hi"),
    )


def _scored(claims: Claims, rules: RuleSet) -> tuple[Frames, pl.DataFrame]:
    """Run 1 (and run 2 when some qualitative claim lies within its band): the frames and the indicator frame."""
    tol = rules.audit.tolerance
    frames = run(*canonical_inputs(claims), rules)
    joined = _indicator_frame(claims, frames, rules)
    in_band = joined.filter(
        (pl.col("target_op") == "qualitative") & (pl.col("status") == "scored") & pl.col("claimed_points").is_not_null()
        & (pl.col("weight") > 0) & ((pl.col("claimed_points") - pl.col("rule_points")).abs() > tol)
        & (pl.col("claimed_points") >= pl.col("_band_lo") * pl.col("weight") - tol)
        & (pl.col("claimed_points") <= pl.col("_band_hi") * pl.col("weight") + tol)
    ).select(*KEYS, (pl.col("claimed_points") / pl.col("weight")).clip(pl.col("_band_lo"), pl.col("_band_hi")).alias("fraction"))
    if in_band.height:
        frames = run(*canonical_inputs(claims, fractions=in_band), rules)
        joined = _indicator_frame(claims, frames, rules)
    return frames, joined


def _indicator_frame(claims: Claims, frames: Frames, rules: RuleSet) -> pl.DataFrame:
    scores = frames.indicator_scores.select(
        *KEYS, "level1_group", "target_op", "tier", "ratio", "weight", "rule_points", "status", "explain",
    )
    kept = claims.projects.filter(pl.col("_dup_rank") == 0).select("_form", "project_name", "file", "sheet")
    joined = claims.indicators.join(kept, on="_form", how="semi").join(kept, on="_form", how="left").join(
        scores, on=KEYS, how="left")
    tol = rules.audit.tolerance
    joined = _with_bands(joined, rules).with_columns(
        pl.lit(tol).alias("_tol"),
        pl.coalesce("claimed_weight", "weight").alias("_full"),
        pl.col("deviation_reason").str.strip_chars().replace("", None).alias("deviation_reason"),
    )
    return joined.with_columns(
        pl.concat_str([num_text(pl.col("_band_lo") * pl.col("weight"), 2), pl.lit("–"),
                       num_text(pl.col("_band_hi") * pl.col("weight"), 2)]).alias("_band_text"))


def _group_frame(indicators: pl.DataFrame, claims: Claims, rules: RuleSet) -> pl.DataFrame:
    """Per project and level-1 group: the printed 分值 summed, against the rule's weights (run 3)."""
    complete = indicators.group_by("_form").agg(
        (pl.col("claimed_weight").is_not_null().all() & (pl.len() > 0)).alias("_complete"))
    claimed = indicators.filter(pl.col("level1_group").is_not_null()).group_by(
        "_form", "unit_code", "project_code", "project_name", "level1_group").agg(
        pl.col("claimed_weight").sum().alias("_claimed_sum"),
        pl.max_horizontal(pl.lit(rules.audit.tolerance), 0.005 * pl.len()).alias("_wtol"),
        pl.col("seq").min().alias("_seq"),
        pl.col("level1").first().alias("level1"),
        pl.when(pl.col("level1").n_unique() == 1).then(level1_points(pl.col("level1").first())).alias("_label_points"),
    ).join(complete, on="_form", how="left")
    if not claimed.filter(pl.col("_complete")).height:
        return claimed.with_columns(pl.lit(None, pl.Float64).alias("_rule_sum"), pl.lit(rules.audit.tolerance).alias("_tol"))
    default = run(*canonical_inputs(claims, with_weights=False, structure_only=True), rules).indicator_scores
    rule = default.group_by("unit_code", "project_code", "level1_group").agg(pl.col("weight").sum().alias("_rule_sum"))
    return claimed.join(rule, on=["unit_code", "project_code", "level1_group"], how="left").with_columns(
        pl.lit(rules.audit.tolerance).alias("_tol"))


def _project_frame(claims: Claims, frames: Frames, indicators: pl.DataFrame, rules: RuleSet) -> pl.DataFrame:
    sums = indicators.group_by("_form").agg(
        pl.col("claimed_points").sum().alias("_points_sum"),
        pl.col("claimed_points").is_not_null().any().alias("_any_points"),
        (pl.col("claimed_points").is_null() & ~pl.col("_points_blank")).any().alias("_points_unreadable"),
        pl.col("claimed_weight").sum().alias("_weights_sum"),
        # each 分值 printed to 2 decimals (16.67 for 50/3) may be off by 0.005: a sum of n is allowed n × 0.005
        pl.max_horizontal(pl.lit(rules.audit.tolerance), 0.005 * (pl.len() + 1)).alias("_wtol"),
        (pl.col("claimed_weight").is_not_null().all() & (pl.len() > 0)).alias("_weights_complete"),
    )
    scores = frames.project_scores.select(
        "unit_code", "project_code", "year_budget", "executed", "execution_rate", "execution_weight", "execution_points",
        "total", "complete", "grade",
    )
    frame = claims.projects.join(sums, on="_form", how="left").join(scores, on=["unit_code", "project_code"], how="left")
    # a duplicate copy is not recomputed: only the duplicate check reads it
    recomputed = pl.col("_dup_rank") == 0
    # a printed part that is not a number (its own finding) leaves the sum unknown
    parts = pl.when(~pl.col("_points_unreadable").fill_null(False)
                    & (pl.col("_any_points") | pl.col("claimed_execution_points").is_not_null())).then(
        pl.col("_points_sum").fill_null(0.0) + pl.col("claimed_execution_points").fill_null(0.0))
    return frame.with_columns(
        pl.lit(rules.audit.tolerance).alias("_tol"),
        pl.lit(float(rules.total_points)).alias("_total_points"),
        # the budget as the form wrote it (万元 stays 万元): the rule's value of AUDIT_OVERSPENT
        pl.concat_str([num_text(pl.col("year_budget") / pl.col("_scale").fill_null(1.0), 2),
                       pl.col("amount_unit").fill_null("元")]).alias("_year_budget_written"),
        pl.when(recomputed).then(parts).alias("_parts_sum"),
        pl.when(recomputed).then(grade_expr(pl.col("claimed_total"), rules)).alias("_claimed_band"),
        rate_tolerance(pl.col("execution_rate_text"), rules.audit.tolerance,
                       pl.col("execution_rate_stored") if "execution_rate_stored" in frame.columns else None).alias("_rate_tol"),
        pl.when(recomputed).then(pl.col("_weights_sum") + pl.coalesce("claimed_execution_weight", "execution_weight"))
        .alias("_weights_total"),
        pl.col("_weights_complete").fill_null(False) & recomputed,
    ).with_columns(
        *(pl.when(recomputed).then(pl.col(c)).alias(c) for c in (
            "claimed_total", "claimed_grade", "claimed_rate", "claimed_execution_points", "claimed_execution_weight",
            "claimed_budget", "claimed_year_budget", "claimed_executed", "fiscal_budget", "other_budget", "carryover_budget",
            "fiscal_year_budget", "other_year_budget", "carryover_year_budget", "fiscal_executed", "other_executed",
            "carryover_executed")),
    )


def _expected_columns(frame: pl.DataFrame, stage: str) -> tuple[pl.DataFrame, list[str]]:
    """`_x_CODE` text columns: the rule's value of each kind checked at `stage`."""
    codes = [k.code for k in AUDIT_KINDS if any(c.stage == stage for c in k.checks) and k.code in EXPECTED]
    exprs = []
    for code in codes:
        col = EXPECTED[code]
        if col not in frame.columns:
            continue
        source = pl.col(col)
        if code == "AUDIT_RATE":
            text = pct_text(source)
        elif frame.schema[col] == pl.String:
            text = source
        else:
            text = num_text(source, 2)
        exprs.append(text.alias(f"_x_{code}"))
    return frame.with_columns(exprs), [e.meta.output_name() for e in exprs]


def _detect(frame: pl.DataFrame, stage: str, rules: RuleSet, seq: pl.Expr, field: pl.Expr | None = None) -> pl.DataFrame:
    frame, expected = _expected_columns(frame.with_columns(seq.cast(pl.Int32).alias("_seq")), stage)
    if field is not None:
        frame = frame.with_columns(field.alias("_field"))
    keys = ["_form", "_seq", *(["_field"] if field is not None else []), *expected]
    found = detect(frame.lazy(), stage, rules, keys=keys).collect(engine="in-memory")
    if field is None:
        found = found.with_columns(pl.col("column").alias("_field"))
    pick = [pl.when(pl.col("code") == c.removeprefix("_x_")).then(pl.col(c)) for c in expected]
    return found.select("_form", "_seq", "_field", "code", "value", pl.coalesce(pick).alias("expected") if pick
                        else pl.lit(None, pl.String).alias("expected"), "message")


def _pipeline_findings(frames: Frames, claims: Claims) -> pl.DataFrame:
    kept = claims.projects.filter(pl.col("_dup_rank") == 0).select("_form", "unit_code", "project_code")
    # the submitted form has no month-end columns: their findings sit on its 执行数 cell
    moved = {"tier": "actual_text", "seq": "level3", **dict.fromkeys(SPENT_COLUMNS.values(), "executed"),
             "year_budget": "executed"}
    return frames.findings.filter(pl.col("code").is_in(PIPELINE_CODES)).join(
        kept, on=["unit_code", "project_code"], how="inner").select(
        "_form", pl.col("seq").fill_null(0).alias("_seq"),
        pl.col("column").replace(moved).alias("_field"), "code", "value", pl.lit(None, pl.String).alias("expected"), "message",
    )


def _subtotal_findings(claims: Claims) -> pl.DataFrame:
    """Rows with 分值/得分 but no indicator, read as subtotals: each named (info), none dropped silently."""
    if claims.subtotals is None or claims.subtotals.height == 0:
        return pl.DataFrame(schema={"_form": pl.Int64, "_seq": pl.Int32, "_field": pl.String, "code": pl.String,
                                    "value": pl.String, "expected": pl.String, "message": pl.String, "row": pl.Int64,
                                    "col": pl.Int64})
    kind = CATALOGUE["AUDIT_SUBTOTAL_ROW"]
    return claims.subtotals.select(
        "_form", pl.lit(0, pl.Int32).alias("_seq"), pl.lit("points").alias("_field"), pl.lit(kind.code).alias("code"),
        pl.col("text").alias("value"), pl.lit(None, pl.String).alias("expected"),
        render(kind.template, {"row": (pl.col("row") + 1).cast(pl.String), "label": pl.col("label").fill_null(""),
                               "text": pl.col("text")}).alias("message"),
        "row", "col",
    )


def _uncached_findings(claims: Claims) -> pl.DataFrame:
    """Formula cells of a form saved without their result: each a located AUDIT_FORMULA_UNCACHED (the claim is unknown)."""
    kind = CATALOGUE["AUDIT_FORMULA_UNCACHED"]
    return claims.uncached.select(
        "_form", pl.col("seq").cast(pl.Int32).alias("_seq"), pl.col("field").alias("_field"), pl.lit(kind.code).alias("code"),
        pl.col("formula").alias("value"), pl.lit(None, pl.String).alias("expected"),
        render(kind.template, {"label": pl.col("field").replace_strict(FIELD_LABELS, default=pl.col("field"), return_dtype=pl.String),
                               "formula": pl.col("formula")}).alias("message"),
    )


def _file_findings(claims: Claims) -> pl.DataFrame:
    files = claims.files
    unreadable = CATALOGUE["AUDIT_UNREADABLE"]
    no_form = CATALOGUE["AUDIT_NO_FORM"]
    return pl.concat([
        files.filter(pl.col("status") == "无法读取").select(
            "file", pl.lit("AUDIT_UNREADABLE").alias("code"),
            render(unreadable.template, {"reason": pl.col("reason")}).alias("message")),
        files.filter(pl.col("status") == "无自评表").select(
            "file", pl.lit("AUDIT_NO_FORM").alias("code"),
            render(no_form.template, {"sheets": pl.col("sheets")}).alias("message")),
    ])


def audit_findings(claims: Claims, rules: RuleSet) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, Frames]:
    """(findings, indicator comparison, project comparison, pipeline frames) of every submitted form."""
    frames, indicators = _scored(claims, rules)
    projects = _project_frame(claims, frames, indicators, rules)
    groups = _group_frame(indicators, claims, rules)
    bad = claims.bad_numbers.with_columns(pl.lit(rules.audit.tolerance).alias("_tol"))
    parts = [
        _detect(indicators, "audit_indicator", rules, pl.col("seq")),
        _detect(groups, "audit_group", rules, pl.col("_seq")),
        _detect(projects, "audit_project", rules, pl.lit(0)),
        _detect(bad, "audit_cell", rules, pl.col("seq"), field=pl.col("field")),
        _pipeline_findings(frames, claims),
        *([_uncached_findings(claims)] if claims.uncached is not None and claims.uncached.height else []),
    ]
    found = pl.concat([p.with_columns(pl.col("_seq").cast(pl.Int32)) for p in parts], how="vertical_relaxed")
    located = _locate(found, claims, indicators)
    subtotals = _subtotal_findings(claims)
    if subtotals.height:
        located = pl.concat([located, _locate(subtotals, claims, indicators, located_at=True)], how="diagonal_relaxed")
    files = _file_findings(claims)
    if files.height:
        located = pl.concat([located, files], how="diagonal_relaxed")
    names = {code: kind.name for code, kind in CATALOGUE.items()}
    severities = {code: kind.severity for code, kind in CATALOGUE.items()}
    rank = pl.col("severity").replace_strict({"error": 0, "warning": 1, "info": 2}, default=3, return_dtype=pl.Int8)
    out = located.with_columns(
        pl.col("code").replace_strict(severities, default="error", return_dtype=pl.String).alias("severity"),
        pl.col("code").replace_strict(names, default=None, return_dtype=pl.String).alias("name"),
    ).with_columns(rank.alias("_rank"))
    out = out.sort("file", "sheet", "row", "_rank", "code", nulls_last=True, maintain_order=True)
    return _conform(out), indicators, projects, frames


def _conform(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c) for c, t in AUDIT_FINDINGS.items())


def _locate(found: pl.DataFrame, claims: Claims, indicators: pl.DataFrame, *, located_at: bool = False) -> pl.DataFrame:
    """Each finding's file, sheet, row (as the file numbers it), cell and the column's Chinese label
    (`located_at`: the findings carry their own 0-based row and col)."""
    forms = claims.projects.select("_form", "file", "sheet", "grid_kind", "unit_code", "project_code", "project_name")
    level3 = indicators.select("_form", pl.col("seq").cast(pl.Int32).alias("_seq"), "level3")
    if located_at:
        out = found.with_columns(pl.lit(None, pl.String).alias("_cfile"), pl.lit(None, pl.String).alias("_csheet"))
    else:
        cells = claims.cells.select("_form", pl.col("seq").cast(pl.Int32).alias("_seq"), pl.col("field").alias("_field"),
                                    "row", "col", pl.col("file").alias("_cfile"), pl.col("sheet").alias("_csheet"))
        out = found.join(cells, on=["_form", "_seq", "_field"], how="left")
        # a field with no cell of its own (a 满分 not printed …) is located at the form's 总分, else its 项目名称
        fallback = (cells.filter((pl.col("_seq") == 0) & pl.col("_field").is_in(["total", "project_name"]))
                    .sort("_form", pl.col("_field") != "total").unique("_form", keep="first")
                    .select("_form", pl.col("row").alias("_frow"), pl.col("col").alias("_fcol")))
        out = out.join(fallback, on="_form", how="left").with_columns(
            pl.when(pl.col("row").is_null()).then(pl.col("_frow")).otherwise(pl.col("row")).alias("row"),
            pl.when(pl.col("row").is_null()).then(pl.col("_fcol")).otherwise(pl.col("col")).alias("col"),
        )
    out = (out.join(forms, on="_form", how="left")
           .join(level3, on=["_form", "_seq"], how="left")
           .with_columns(pl.coalesce("_cfile", "file").alias("file"), pl.coalesce("_csheet", "sheet").alias("sheet")))
    letters = out.get_column("col").unique().drop_nulls().to_list()
    letter = pl.col("col").replace_strict({c: column_letter(c) for c in letters}, default=None, return_dtype=pl.String)
    row = (pl.col("row") + 1).cast(pl.Int64)
    cell = pl.when(pl.col("grid_kind") == "table").then(
        pl.format("第{}行第{}列", row, (pl.col("col") + 1).cast(pl.String))).otherwise(pl.concat_str([letter, row.cast(pl.String)]))
    return out.with_columns(
        row.alias("row"), cell.alias("cell"),
        pl.col("_field").replace_strict(FIELD_LABELS, default=pl.col("_field"), return_dtype=pl.String).alias("column"),
        pl.when(pl.col("_seq") > 0).then(pl.col("_seq")).alias("seq"),
    )


__all__ = ["AUDIT_FINDINGS", "audit_findings"]
