"""Target-quality lint of a declaration (issue 7): explainable checks, one findings frame.

Every check is a small function registered with its config key, finding code and location
column. Indicator and project checks are predicates (`pl.Expr`) over one enriched frame; the
checks that need a whole table (a missing level-1, copied target tables) return the rows of
their findings as a LazyFrame built from group_by/joins. Nothing iterates over rows.

Messages are rendered from the catalogue's templates (`selfeval.lint.catalogue`) with the
named placeholders taken from the check's columns or from its configuration.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.engine import collect
from selfeval.expressions import num_text
from selfeval.findings import concat_findings
from selfeval.grammar import normalized, parsed_fields
from selfeval.level1 import level1_table
from selfeval.lint.catalogue import LINT_CATALOGUE
from selfeval.lint.config import LintConfig, load_lint_config
from selfeval.rules.loader import load_rules
from selfeval.rules.model import LEVEL1_GROUPS, RuleSet

KEYS = ["unit_code", "project_code"]
FIELDS = [name for name in schema.PARSED_VALUES.names() if name != "text"]  # op, value, … error
COMPARABLE_OPS = ("ge", "gt", "eq", "range")  # ops whose `value` is the lower bound asked for
KEY_LABELS = {"level1": "一级指标", "level2": "二级指标", "level3": "三级指标", "target_text": "指标值", "description": "绩效指标描述"}

Scope = Literal["indicators", "projects", "frame"]


@dataclass(frozen=True)
class Context:
    """What every check sees: the enriched frames, the declaration and the configuration."""

    declared: Declaration
    indicators: pl.LazyFrame  # INDICATORS + year, budget, parsed target (t_*) and derived columns
    projects: pl.LazyFrame  # PROJECTS + derived columns
    config: LintConfig
    rules: RuleSet


@dataclass(frozen=True)
class LintCheck:
    """A registered check: its config key, finding code, where it runs and what it locates."""

    key: str
    code: str
    scope: Scope
    build: Callable[..., Any]  # (section) -> pl.Expr for indicators/projects; (ctx, section) -> LazyFrame for frame
    column: str | None = None  # the location column of its findings
    value: str | None = None  # the column shown as the finding's value
    variant: str = "default"  # which of the kind's message templates it renders
    severity: str | None = None  # its default severity when not the kind's (config may still override)


CHECKS: dict[str, LintCheck] = {}


def check(key: str, code: str, scope: Scope, *, column: str | None = None, value: str | None = None,
          variant: str = "default", severity: str | None = None):
    """Register the decorated function as the check `key` (config section `checks.<key>`)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if code not in LINT_CATALOGUE:
            msg = f"check {key!r}: code {code!r} is not in LINT_CATALOGUE"
            raise KeyError(msg)
        LINT_CATALOGUE[code].template_of(variant)  # a KeyError names an unknown variant at import
        CHECKS[key] = LintCheck(key, code, scope, fn, column, value, variant, severity)
        return fn

    return register


# ============================================================================ enrichment


def _alternation(words: list[str]) -> str:
    return "(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"


def _level2_key(expr: pl.Expr) -> pl.Expr:
    """A level-2 name for lookup: no whitespace, no trailing 指标 (数量指标 ≡ 数量)."""
    return expr.str.replace_all(r"\s+", "").str.strip_suffix("指标")


def _target_key(expr: pl.Expr) -> pl.Expr:
    """A target text for comparison: folded by the grammar, without surrounding blanks and stops."""
    return normalized(expr).str.strip_chars(" \t\r\n\u3000。.，,；;")


def _normalized_words(words: list[str]) -> list[str]:
    """The placeholder list folded exactly as `_target_key` folds the targets (one small column)."""
    frame = pl.DataFrame({"w": words}, schema={"w": pl.String})
    return frame.select(_target_key(pl.col("w"))).to_series().drop_nulls().unique().to_list()


def indicator_frame(declared: Declaration, config: LintConfig, rules: RuleSet) -> pl.LazyFrame:
    """The indicators with everything a check looks at, one row per declared indicator."""
    checks = config.checks
    expected = {
        key: group
        for group, names in config.level2_groups.items()
        for name in names
        for key in pl.Series([name]).str.replace_all(r"\s+", "").str.strip_suffix("指标").to_list()
    }
    placeholders = _normalized_words(checks.placeholder_target.placeholders)
    units = declared.units.lazy().select("unit_code", "year").unique("unit_code", keep="first")
    budgets = declared.projects.lazy().select(*KEYS, "budget").unique(KEYS, keep="first")
    base = (
        schema.conform(declared.indicators, schema.INDICATORS)
        .lazy()
        .join(units, on="unit_code", how="left")
        .join(budgets, on=KEYS, how="left")
    )
    parsed = parsed_fields(base, "target_text", year=pl.col("year")).rename({f: f"t_{f}" for f in FIELDS})
    level3 = pl.col("level3").fill_null("")
    target_key = _target_key(pl.col("target_text"))
    duplicates = (
        base.group_by([*KEYS, "level3"])
        .agg(
            pl.len().alias("count"),
            pl.col("seq").sort().cast(pl.String).str.join("、").alias("seqs"),
        )
        .filter((pl.col("count") > 1) & pl.col("level3").is_not_null())
    )
    # the group of each distinct level-1 label, as the scoring reads it (docs/scoring.md §2)
    groups = level1_table(declared.indicators.get_column("level1"), rules).select("level1", pl.col("level1_group").alias("group"))
    return (
        parsed.join(groups.lazy(), on="level1", how="left", maintain_order="left").with_columns(
            pl.col("target_text").alias("target"),
            pl.col("t_error").alias("detail"),
            _level2_key(pl.col("level2")).replace_strict(expected, default=None, return_dtype=pl.String).alias("expected"),
            target_key.alias("target_key"),
            (target_key.is_null() | (target_key == "") | target_key.is_in(placeholders)).alias("is_placeholder"),
            level3.str.extract(_alternation(checks.quantitative_name_qualitative_target.words), 1).alias("word"),
            (
                _level2_key(pl.col("level2")).fill_null("").str.contains("成本", literal=True)
                | level3.str.contains("成本", literal=True)
            ).alias("is_cost"),
            level3.str.contains_any(checks.rate_over_max.exempt_words or [""]).alias("rate_exempt")
            if checks.rate_over_max.exempt_words
            else pl.lit(False).alias("rate_exempt"),
            pl.coalesce("t_value_hi", "t_value").alias("amount"),
        )
        .with_columns(
            (
                (pl.col("group") == "满意度指标").fill_null(False)
                | level3.str.contains_any(checks.satisfaction_low.words)
            ).alias("is_satisfaction"),
        )
        .join(duplicates, on=[*KEYS, "level3"], how="left")
    )


def project_frame(declared: Declaration) -> pl.LazyFrame:
    """The projects with the derived columns the project checks look at."""
    plans = ["plan_mar", "plan_jun", "plan_oct", "plan_dec"]
    fiscal, other = pl.col("fiscal_funds"), pl.col("other_funds")
    return (
        schema.conform(declared.projects, schema.PROJECTS)
        .lazy()
        .with_columns(
            pl.concat_list(plans).list.drop_nulls().list.diff().list.min().alias("plan_min_step"),
            pl.concat_str([_pct(pl.col(p)) for p in plans], separator="/").alias("plans"),
            _pct(pl.col("plan_dec")).alias("plan_dec_text"),
            pl.concat_str([_pct(pl.col(p)) for p in plans], separator="/").alias("plan_text"),
            (fiscal.is_not_null() | other.is_not_null()).alias("has_sources"),
            pl.any_horizontal(pl.col(p).is_not_null() for p in plans).alias("has_plan"),
            (pl.col("budget") - fiscal.fill_null(0.0) - other.fill_null(0.0)).alias("diff"),
            fiscal.alias("fiscal"),
            other.alias("other"),
        )
    )


def _pct(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.is_null()).then(pl.lit("空")).otherwise(pl.concat_str([num_text(expr, 2), pl.lit("%")]))


# ============================================================================ indicator checks


@check("missing_level3", "LINT_MISSING_LEVEL3", "indicators", column="level3", value="target_text")
def missing_level3(cfg: Any) -> pl.Expr:
    """The indicator has no 三级指标 name."""
    return pl.col("level3").is_null() | (pl.col("level3").str.strip_chars() == "")


@check("unknown_level1", "LINT_UNKNOWN_LEVEL1", "indicators", column="level1", value="level1")
def unknown_level1(cfg: Any) -> pl.Expr:
    """The level-1 maps to none of 产出/效益/满意度指标 through the rule set's aliases."""
    return pl.col("group").is_null()


@check("level2_misplaced", "LINT_LEVEL2_MISPLACED", "indicators", column="level2", value="level2")
def level2_misplaced(cfg: Any) -> pl.Expr:
    """A known level-2 sits under a level-1 of another group."""
    return (pl.col("group") != pl.col("expected")).fill_null(False)


@check("quantitative_name_qualitative_target", "LINT_QUANT_NAME_QUALITATIVE", "indicators",
       column="target_text", value="target_text")
def quantitative_name_qualitative_target(cfg: Any) -> pl.Expr:
    """The name sounds quantitative (率/数/金额/…) but the target is a qualitative phrase."""
    return pl.col("word").is_not_null() & (pl.col("t_op") == "qualitative").fill_null(False) & ~pl.col("is_placeholder")


@check("rate_over_max", "LINT_RATE_OVER_MAX", "indicators", column="target_text", value="target_text")
def rate_over_max(cfg: Any) -> pl.Expr:
    """A percent target asks for more than rate_max (≥120%), unless the name is a growth rate."""
    return (
        (pl.col("t_dimension") == "percent")
        & pl.col("t_op").is_in(COMPARABLE_OPS)
        & (pl.col("t_value") > cfg.rate_max)
        & ~pl.col("rate_exempt")
    ).fill_null(False)


@check("satisfaction_low", "LINT_SATISFACTION_LOW", "indicators", column="target_text", value="target_text")
def satisfaction_low(cfg: Any) -> pl.Expr:
    """A satisfaction target (percent) below satisfaction_min."""
    return (
        pl.col("is_satisfaction")
        & (pl.col("t_dimension") == "percent")
        & pl.col("t_op").is_in(COMPARABLE_OPS)
        & (pl.col("t_value") < cfg.satisfaction_min)
    ).fill_null(False)


@check("cost_floor", "LINT_COST_FLOOR", "indicators", column="target_text", value="target_text")
def cost_floor(cfg: Any) -> pl.Expr:
    """A money cost target written as a floor (≥/>) instead of a cap (≤)."""
    return (pl.col("is_cost") & (pl.col("t_dimension") == "money") & pl.col("t_op").is_in(("ge", "gt"))).fill_null(False)


@check("cost_over_budget", "LINT_COST_OVER_BUDGET", "indicators", column="target_text", value="target_text")
def cost_over_budget(cfg: Any) -> pl.Expr:
    """A money cost target larger than the project's whole budget."""
    return (
        pl.col("is_cost") & (pl.col("t_dimension") == "money") & (pl.col("amount") > pl.col("budget") + cfg.tolerance)
    ).fill_null(False)


@check("placeholder_target", "LINT_PLACEHOLDER_TARGET", "indicators", column="target_text", value="target_text")
def placeholder_target(cfg: Any) -> pl.Expr:
    """The target is empty or a placeholder (*, /, -, —, 无 …)."""
    return pl.col("is_placeholder")


@check("unparseable_target", "LINT_UNPARSEABLE_TARGET", "indicators", column="target_text", value="target_text")
def unparseable_target(cfg: Any) -> pl.Expr:
    """The grammar cannot read the target (and it is not a placeholder)."""
    return pl.col("t_op").is_null() & ~pl.col("is_placeholder")


@check("duplicate_level3", "LINT_DUPLICATE_LEVEL3", "indicators", column="level3", value="level3")
def duplicate_level3(cfg: Any) -> pl.Expr:
    """The same level-3 name appears more than once in the project."""
    return pl.col("count").is_not_null()


# ============================================================================ project checks


@check("plan_order", "LINT_PLAN_DECREASING", "projects", column="plan_mar", value="plan_text")
def plan_order(cfg: Any) -> pl.Expr:
    """The cumulative spending plan goes down between two checkpoints."""
    return (pl.col("plan_min_step") < 0).fill_null(False)


@check("plan_total", "LINT_PLAN_NOT_100", "projects", column="plan_dec", value="plan_dec_text")
def plan_total(cfg: Any) -> pl.Expr:
    """A spending plan is declared but its 12月底 point is missing or not 100% (no plan at all: `plan_missing`)."""
    return pl.col("has_plan") & (pl.col("plan_dec").is_null() | ((pl.col("plan_dec") - 100.0).abs() > cfg.tolerance))


@check("missing_budget", "LINT_MISSING_BUDGET", "projects", column="budget", value="project_name")
def missing_budget(cfg: Any) -> pl.Expr:
    """The project has no budget (read as null, never as 0)."""
    return pl.col("budget").is_null() | pl.col("budget").is_nan()


@check("funds_sum", "LINT_FUNDS_SUM", "projects", column="budget", value="budget")
def funds_sum(cfg: Any) -> pl.Expr:
    """budget ≠ 财政资金 + 其他资金 (beyond the tolerance)."""
    return (pl.col("has_sources") & (pl.col("diff").abs() > cfg.tolerance)).fill_null(False)


# ============================================================================ frame checks


@check("missing_level1", "LINT_MISSING_LEVEL1", "frame", column="level1", value="group")
def missing_level1(ctx: Context, cfg: Any) -> pl.LazyFrame:
    """One row per (project, level-1 group) with no indicator in the project."""
    declared = pl.concat(
        [ctx.projects.select(KEYS), ctx.indicators.select(KEYS)], how="vertical"
    ).unique()
    present = ctx.indicators.select(*KEYS, "group").drop_nulls("group").unique()
    every = declared.join(pl.LazyFrame({"group": list(LEVEL1_GROUPS)}), how="cross")
    return every.join(present, on=[*KEYS, "group"], how="anti")


@check("copied_tables", "LINT_COPIED_TABLE", "frame", column="target_text", value="others_codes")
def copied_tables(ctx: Context, cfg: Any) -> pl.LazyFrame:
    """One row per project whose table matches another's in ≥ min_similarity of its rows.

    Tables are compared as multisets of rows keyed by `cfg.key` (each row numbered among its
    equal rows in the project: a token); a pair's similarity is its shared tokens over the
    larger table. Candidate pairs come from a prefix filter (set-similarity join): with tokens
    ordered rarest first, two tables sharing ≥ ceil(s·n) tokens must share one of the first
    n − ceil(s·n) + 1 tokens of each, so boiler-plate rows present in every project (群众满意度
    ≥95%) never pair projects by themselves. Candidates are then verified exactly.
    """
    part = ["unit_code"] if cfg.scope == "unit" else []
    key_exprs = [
        (_target_key(pl.col(c)) if c == "target_text" else pl.col(c).str.strip_chars()).fill_null("").alias(f"k_{c}")
        for c in cfg.key
    ]
    token = ["tok", "occ"]  # a row's key as one 64-bit hash, and its number among equal rows
    tokens = (
        ctx.indicators.select(*KEYS, pl.struct(key_exprs).hash(seed=7).alias("tok"))
        .with_columns(pl.len().over(KEYS).alias("n"), pl.int_range(pl.len()).over([*KEYS, "tok"]).alias("occ"))
        .filter(pl.col("n") >= cfg.min_indicators)
        .with_columns(pl.len().over([*part, *token]).alias("freq"))
        .sort([*KEYS, "freq", *token])
        .with_columns(pl.int_range(pl.len()).over(KEYS).alias("rank"))
    )
    needed = (pl.col("n") * cfg.min_similarity - 1e-9).ceil()
    prefix = tokens.filter(pl.col("rank") < pl.col("n") - needed + 1).select(*KEYS, *token)
    other = {"unit_code": "other_unit", "project_code": "other_project"}
    ordered = (pl.col("unit_code") < pl.col("other_unit")) | (
        (pl.col("unit_code") == pl.col("other_unit")) & (pl.col("project_code") < pl.col("other_project"))
    )
    right_prefix = prefix.rename(other).with_columns(*(pl.col("other_unit").alias("unit_code") for _ in part))
    candidates = (
        prefix.join(right_prefix, on=[*part, *token], how="inner").filter(ordered)
        .select(*KEYS, "other_unit", "other_project").unique()
    )
    sizes = tokens.select(*KEYS, "n").unique()
    pairs = (
        candidates.join(tokens.select(*KEYS, *token), on=KEYS)
        .join(tokens.select(*KEYS, *token).rename(other), on=["other_unit", "other_project", *token])
        .group_by([*KEYS, "other_unit", "other_project"])
        .agg(pl.len().alias("matched"))
        .join(sizes, on=KEYS)
        .join(sizes.rename({**other, "n": "other_n"}), on=["other_unit", "other_project"])
        .with_columns((pl.col("matched") / pl.max_horizontal("n", "other_n")).alias("similarity"))
        .filter(pl.col("similarity") >= cfg.min_similarity - 1e-9)
        .select(*KEYS, "other_unit", "other_project", "similarity")
    )
    mirrored = pairs.select(
        pl.col("other_unit").alias("unit_code"), pl.col("other_project").alias("project_code"),
        pl.col("unit_code").alias("other_unit"), pl.col("project_code").alias("other_project"), "similarity",
    )
    pairs = pl.concat([pairs, mirrored], how="vertical")
    names = ctx.projects.select(
        pl.col("unit_code").alias("other_unit"), pl.col("project_code").alias("other_project"),
        pl.col("project_name").alias("other_name"),
    ).unique(["other_unit", "other_project"], keep="first")
    unit_label = pl.when(pl.col("other_unit") != pl.col("unit_code")).then(
        pl.concat_str([pl.lit("单位 "), pl.col("other_unit"), pl.lit(" 的")])
    ).otherwise(pl.lit(""))
    name_label = pl.when(pl.col("other_name").is_not_null()).then(
        pl.concat_str([pl.lit(" "), pl.col("other_name")])
    ).otherwise(pl.lit(""))
    return (
        pairs.join(names, on=["other_unit", "other_project"], how="left")
        .with_columns(
            pl.concat_str(
                [unit_label, pl.lit("项目 "), pl.col("other_project"), name_label, pl.lit("（"),
                 num_text(pl.col("similarity") * 100, 0), pl.lit("%）")]
            ).alias("label")
        )
        .sort([*KEYS, "similarity", "other_project"], descending=[False, False, True, False])
        .group_by(KEYS, maintain_order=True)
        .agg(
            pl.col("label").str.join("、").alias("others"),
            pl.col("other_project").str.join("、").alias("others_codes"),
        )
        .with_columns(pl.lit("、".join(KEY_LABELS[c] for c in cfg.key)).alias("key_label"))
    )


@check("plan_missing", "LINT_PLAN_NOT_100", "frame", column="plan_dec", value="missing_plans",
       variant="no_plan", severity="info")
def plan_missing(ctx: Context, cfg: Any) -> pl.LazyFrame:
    """One row per unit with projects that declare no spending plan at all (info, not one warning per project)."""
    return (
        ctx.projects.group_by("unit_code", maintain_order=True)
        .agg((~pl.col("has_plan")).sum().alias("missing_plans"), pl.len().alias("projects"))
        .filter(pl.col("missing_plans") > 0)
        .with_columns(pl.lit(None, pl.String).alias("project_code"))
    )


# ============================================================================ rendering and lint()


def _display(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A column as message text: numbers without noise, nulls as 空."""
    if dtype.is_float():
        text = num_text(expr, 2)
    elif dtype == pl.String:
        text = expr
    else:
        text = expr.cast(pl.String)
    return text.fill_null("空")


def _param(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _render(rows: pl.LazyFrame, spec: LintCheck, cfg: Any) -> pl.LazyFrame:
    """The rows of one check as findings (schema FINDINGS), message from the catalogue template."""
    kind = LINT_CATALOGUE[spec.code]
    present = rows.collect_schema()
    params = cfg.model_dump()
    pieces: list[pl.Expr] = []
    for literal, field, _spec, _conv in string.Formatter().parse(kind.template_of(spec.variant)):
        if literal:
            pieces.append(pl.lit(literal))
        if field:
            if field in present:
                pieces.append(_display(pl.col(field), present[field]))
            elif field in params:
                pieces.append(pl.lit(_param(params[field])))
            else:
                msg = f"template of {spec.code} names {field!r}, found neither in its rows nor in checks.{spec.key}"
                raise KeyError(msg)
    value = _display(pl.col(spec.value), present[spec.value]) if spec.value else pl.lit(None, pl.String)
    return rows.select(
        pl.lit(spec.code).alias("code"),
        pl.lit(cfg.severity or spec.severity or kind.severity).alias("severity"),
        pl.col("unit_code").cast(pl.String),
        pl.col("project_code").cast(pl.String),
        (pl.col("seq") if "seq" in present else pl.lit(None)).cast(pl.Int32).alias("seq"),
        pl.lit(spec.column, pl.String).alias("column"),
        value.cast(pl.String).alias("value"),
        pl.concat_str(pieces).alias("message"),
    )


def lint(declared: Declaration, config: str | Path | dict[str, Any] | LintConfig | None = None) -> pl.DataFrame:
    """Review a declaration's target tables: every enabled check, all findings in one frame (FINDINGS).

    `config`: None for the defaults (``selfeval/data/lint.yaml``), a YAML file, a mapping of
    overrides (``{"checks": {"copied_tables": {"enabled": False}}}``) or a LintConfig.
    """
    cfg = load_lint_config(config)
    rules = load_rules(cfg.rules)
    indicators = collect(indicator_frame(declared, cfg, rules)).lazy()
    projects = collect(project_frame(declared)).lazy()
    ctx = Context(declared, indicators, projects, cfg, rules)
    parts: list[pl.LazyFrame] = []
    for key, spec in CHECKS.items():
        section = getattr(cfg.checks, key)
        if not section.enabled:
            continue
        if spec.scope == "frame":
            rows = spec.build(ctx, section)
        else:
            frame = indicators if spec.scope == "indicators" else projects
            rows = frame.filter(spec.build(section))
        parts.append(_render(rows, spec, section))
    if not parts:
        return schema.empty(schema.FINDINGS)
    return concat_findings(pl.collect_all(parts))
