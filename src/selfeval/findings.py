"""The findings registry (SPEC.md §8): every kind of finding declared once, rendered by one renderer.

A kind (`FindingKind`) declares its code, name, severity and why; its message templates (one per
variant, named `{placeholders}`); and, for the kinds the scoring pipeline raises, its checks: at
which stage (`indicator`, `key`, `execution`, `project`), on which condition, which input column
it locates and which value it quotes. `detect(frame, stage, rules)` evaluates every check of a
stage over a whole frame; `render` turns a template and its field expressions into one Polars
expression. Lint registers its kinds into the same `CATALOGUE` (selfeval.lint.catalogue), loaded
on first use so that neither module imports the other at import time.
"""

from __future__ import annotations

import importlib
import re
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from selfeval import schema
from selfeval.checkpoints import SPENT_COLUMNS, month_label

if TYPE_CHECKING:
    from selfeval.rules.model import RuleSet

ExprFn = Callable[["RuleSet"], pl.Expr]

# Longest user text quoted in a message: a finding names the value, it does not repeat a file.
QUOTE_LIMIT = 200


@dataclass(frozen=True)
class Check:
    """Where and when a kind is raised: a condition over a stage's frame, its variant, location and fields."""

    stage: str
    when: ExprFn
    variant: str = "default"
    column: str | None = None
    value: ExprFn | None = None
    fields: Callable[["RuleSet"], dict[str, pl.Expr]] = lambda rules: {}
    # An indicator check whose message is also the row's reason for not being scored (`_message`).
    explains: bool = False
    # The condition holds alike for every row of a group of these columns: one finding per group,
    # on its first row (no window over the whole frame).
    once_per: tuple[str, ...] = ()


@dataclass(frozen=True)
class FindingKind:
    code: str
    name: str
    severity: str
    templates: Mapping[str, str] | str
    why: str
    checks: tuple[Check, ...] = field(default=())

    @property
    def template(self) -> str:
        """The default (first) message template."""
        return self.templates if isinstance(self.templates, str) else next(iter(self.templates.values()))

    def template_of(self, variant: str) -> str:
        return self.templates if isinstance(self.templates, str) else self.templates[variant]

    def variants(self) -> dict[str, str]:
        return {"default": self.templates} if isinstance(self.templates, str) else dict(self.templates)


class Catalogue(Mapping[str, FindingKind]):
    """Every finding kind by code; lint's kinds are registered on first lookup."""

    def __init__(self) -> None:
        self._kinds: dict[str, FindingKind] = {}
        self._loaded = False

    def register(self, *kinds: FindingKind) -> None:
        for kind in kinds:
            if kind.code in self._kinds and self._kinds[kind.code] is not kind:
                msg = f"finding code {kind.code!r} registered twice"
                raise ValueError(msg)
            self._kinds[kind.code] = kind

    def _all(self) -> dict[str, FindingKind]:
        if not self._loaded:
            self._loaded = True
            importlib.import_module("selfeval.lint.catalogue")  # registers the LINT_* kinds
        return self._kinds

    def __getitem__(self, code: str) -> FindingKind:
        return self._all()[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


CATALOGUE = Catalogue()


# ----------------------------------------------------------------------------- rendering


def placeholders(template: str) -> list[str]:
    """The `{name}` placeholders of a template, in order."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def quoted(expr: pl.Expr) -> pl.Expr:
    """User text as quoted in a message: at most QUOTE_LIMIT characters, then an ellipsis."""
    text = expr.cast(pl.String)
    return pl.when(text.str.len_chars() > QUOTE_LIMIT).then(
        pl.concat_str([text.str.slice(0, QUOTE_LIMIT), pl.lit("…")])
    ).otherwise(text)


def render(template: str, fields: Mapping[str, pl.Expr]) -> pl.Expr:
    """The message of `template` with every `{name}` replaced by the text of `fields[name]`."""
    parts: list[pl.Expr] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append(pl.lit(literal))
        if name:
            parts.append(fields[name].cast(pl.String).fill_null(""))
    return pl.concat_str(parts) if parts else pl.lit("")


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching any message rendered from `template` (for tests and audits)."""
    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(re.escape(literal))
        if name:
            out.append(r"(?s:.*?)")
    return re.compile("^" + "".join(out) + "$")


# ----------------------------------------------------------------------------- detection

FINDING_COLUMNS = ["code", "unit_code", "project_code", "seq", "column", "value", "message"]


def detect(frame: pl.LazyFrame, stage: str, rules: RuleSet, keys: list[str] | None = None) -> pl.LazyFrame:
    """Every check of `stage` evaluated over `frame`: one finding row per row meeting a condition.

    `keys` are extra leading columns kept on each finding (e.g. `scenario`).
    """
    lead = list(keys or [])
    checks = [(kind, check) for kind in _scoring_kinds() for check in kind.checks if check.stage == stage]
    seq = pl.col("seq") if stage in ("indicator", "key") else pl.lit(None, dtype=pl.Int32)
    # each check's message fields and quoted value, built once for the columns they read and the rows found
    built = [(check.fields(rules), check.value(rules) if check.value is not None else None) for _, check in checks]
    if checks:
        # Findings are rare: every condition is evaluated once over the whole frame (windows see every
        # row), the rows meeting any are picked out with the columns the messages read, and each check
        # then reads only those.
        names = [f"_check_{i}" for i in range(len(checks))]
        flags = [check.when(rules).fill_null(False).alias(name) for name, (_, check) in zip(names, checks)]
        read: set[str] = {*lead, "unit_code", "project_code"}
        for (_, check), (fields, value) in zip(checks, built):
            exprs = [seq, *fields.values(), *([value] if value is not None else [])]
            read.update(*(e.meta.root_names() for e in exprs), check.once_per or ())
        flagged = (
            frame.with_columns(flags).select(*sorted(read), *names).filter(pl.any_horizontal(names))
            .collect(engine="in-memory")
        )
        fired = flagged.select(pl.col(names).any()).row(0) if flagged.height else (False,) * len(names)
        frame = flagged.lazy()
    parts = []
    for i, ((kind, check), (fields, value)) in enumerate(zip(checks, built)):
        if not fired[i]:  # most checks find nothing: their messages are not rendered at all
            continue
        found = frame.filter(pl.col(f"_check_{i}"))
        if check.once_per:
            found = found.filter(pl.int_range(pl.len()).over(list(check.once_per)) == 0)
        parts.append(
            found.select(
                *lead,
                pl.lit(kind.code).alias("code"),
                pl.col("unit_code"), pl.col("project_code"), seq.cast(pl.Int32).alias("seq"),
                pl.lit(check.column, dtype=pl.String).alias("column"),
                (quoted(value) if value is not None else pl.lit(None, dtype=pl.String)).alias("value"),
                render(kind.template_of(check.variant), fields).alias("message"),
            )
        )
    if not parts:  # the columns taken from `frame` keep its types, as found rows would
        have = frame.collect_schema()
        return pl.LazyFrame(schema={**{k: have.get(k, pl.String) for k in lead},
                                    **{c: have.get(c, schema.FINDINGS[c]) if c in ("unit_code", "project_code")
                                       else schema.FINDINGS[c] for c in FINDING_COLUMNS}})
    return pl.concat(parts, how="vertical_relaxed")


def concat_findings(parts: list[pl.LazyFrame | pl.DataFrame], *, scenario: bool = False) -> pl.DataFrame:
    """One findings frame, cast to the fixed schema (severity from the catalogue), sorted by location.

    With `scenario=True` the parts carry a `scenario` column, kept first.
    """
    target = pl.Schema({"scenario": pl.String, **schema.FINDINGS}) if scenario else schema.FINDINGS
    if not parts:
        return schema.empty(target)
    severities = {code: kind.severity for code, kind in CATALOGUE.items()}
    frames = [
        schema.conform(p, target).with_columns(
            pl.coalesce(
                pl.col("severity"),
                pl.col("code").replace_strict(severities, default=None, return_dtype=pl.String),
            ).alias("severity")
        )
        for p in parts
    ]
    severity_rank = pl.col("severity").replace_strict({"error": 0, "warning": 1, "info": 2}, default=3)
    return (
        pl.concat(frames, how="vertical")
        .sort([*(["scenario"] if scenario else []), "unit_code", "project_code", "seq", severity_rank, "code"],
              nulls_last=True)
    )


# ----------------------------------------------------------------------------- the scoring kinds

def _num(expr: pl.Expr, decimals: int = 4) -> pl.Expr:
    from selfeval.expressions import num_text

    return num_text(expr, decimals)


_LEVEL3 = {"level3": pl.col("level3").fill_null("")}
_PROBLEM_SHOWN = pl.col("_problem").is_not_null() & ~(
    (pl.col("_problem") == "KEY_MISMATCH") & (pl.col("_n_actual").fill_null(0) > 1)
)  # a key filled by several actual rows is reported once, by the key stage


def _problem(code: str) -> ExprFn:
    return lambda rules: _PROBLEM_SHOWN & (pl.col("_problem") == code)


def _level3_clash() -> pl.Expr:
    return pl.col("_actual_level3").is_not_null() & (pl.col("_actual_level3") != pl.col("level3").str.strip_chars())


def _unit_desc(side: str) -> pl.Expr:
    from selfeval.scoring import DIMENSION_LABELS

    dim = pl.col(f"{side}_dimension").replace_strict(DIMENSION_LABELS, default=None, return_dtype=pl.String)
    if side == "target":
        return pl.coalesce(pl.col("target_unit"), dim, pl.lit("数值"))
    shape = pl.col("actual_op").replace_strict(
        {"qualitative": "文字", "deadline": "日期", "range": "区间"}, default="数值", return_dtype=pl.String)
    return pl.coalesce(pl.col("actual_unit"), dim, shape)


def _tier_variant_is(name: str) -> ExprFn:
    variant = (
        pl.when(pl.col("tier").is_not_null() & pl.col("_tier").is_null()).then(pl.lit("invalid_name"))
        .when(pl.col("_tier").is_null()).then(pl.lit("unrecognised"))
        .otherwise(pl.lit("out_of_band"))
    )
    return lambda rules: _problem("INVALID_TIER")(rules) & (variant == name)


def _needs_reason(rules: RuleSet) -> pl.Expr:
    from selfeval.rules.model import QUANT_OPS

    return (
        pl.col("_problem").is_null()
        & pl.col("deviation_reason").is_null()
        & (
            (pl.col("target_op").is_in(list(QUANT_OPS)) & (pl.col("ratio") < 1))
            | pl.col("_overshoot")
            | ((pl.col("target_op") == "qualitative") & (pl.col("_tier") != rules.qualitative.top_tier))
        )
    )


def _reason_variant(rules: RuleSet) -> pl.Expr:
    return (
        pl.when(pl.col("_overshoot")).then(pl.lit("overshoot"))
        .when(pl.col("target_op") == "qualitative").then(pl.lit("qualitative"))
        .otherwise(pl.lit("shortfall"))
    )


def _level1_points_differ(rules: RuleSet) -> pl.Expr:
    """The label's written points differ from its group's rule weight (raised once per project and label)."""
    from selfeval.level1 import points_differ

    return points_differ(rules)


def _level1_rule_weight(rules: RuleSet) -> pl.Expr:
    from selfeval.level1 import rule_weight

    return rule_weight(rules)


def _category(rules: RuleSet) -> pl.Expr:
    from selfeval.rollup import category_expr

    return category_expr()


def _category_blank() -> pl.Expr:
    from selfeval.rollup import category_blank

    return category_blank()


def _category_unweighted(rules: RuleSet) -> pl.Expr:
    """Under `department: category`, a project whose category weighs nothing in the department score."""
    if rules.department != "category":
        return pl.lit(False)
    from selfeval.rollup import category_weight_expr

    return category_weight_expr(rules) <= 0


def _category_missing(rules: RuleSet) -> pl.Expr:
    """Under `department: category`, a project stating no category (counted as 未分类)."""
    if rules.department != "category":
        return pl.lit(False)
    return _category_blank() & ~_category_unweighted(rules)


def _behind_rate(rate: pl.Expr, plan: pl.Expr) -> pl.Expr:
    """The share spent by a checkpoint behind plan, as text: two decimals ("24.33%"), or up to six when two
    would read as reaching the plan (24.999995 % behind a 25 % line is not "25%，低于 25%")."""
    from selfeval.expressions import num_text, pct_text

    percent = rate * 100
    return pl.when(percent.round(2) >= plan.round(2)).then(pl.concat_str([num_text(percent, 6), pl.lit("%")])).otherwise(
        pct_text(rate))


def _checkpoint_checks() -> tuple[Check, ...]:
    from selfeval.expressions import money_text

    return tuple(
        Check(
            "execution", lambda rules, c=c: pl.col(f"_behind_{c}"), column=spent,
            value=lambda rules, spent=spent: money_text(pl.col(spent)),
            fields=lambda rules, c=c, spent=spent: {
                "month": pl.lit(month_label(c)),
                # a rule's monitoring line replaces the declared plan at its month
                "basis": pl.lit("规则的支出进度监控线" if c in rules.execution.schedule.thresholds else "支出计划"),
                "executed": money_text(pl.col(spent)),
                "rate": _behind_rate(pl.col(spent) / pl.col("year_budget"), pl.col(f"plan_{c}")),
                "plan": _num(pl.col(f"plan_{c}"), 2),
            },
        )
        for c, spent in SPENT_COLUMNS.items()
    )


SCORING_KINDS: tuple[FindingKind, ...] = (
    FindingKind(
        "MISSING_ACTUAL", "缺少实际完成值", "error",
        "指标“{level3}”没有填写实际完成值，无法评分",
        "未填写的指标不得分也不能视为零分，须补齐后才能得出完整的自评结果",
        (Check("indicator", _problem("MISSING_ACTUAL"), explains=True, column="actual_text", value=lambda r: pl.col("actual_text"),
               fields=lambda r: _LEVEL3),),
    ),
    FindingKind(
        "UNPARSEABLE", "无法解析", "error",
        {"target": "指标“{level3}”的指标值“{text}”无法解析：{detail}",
         "actual": "指标“{level3}”的实际完成值“{text}”无法解析：{detail}"},
        "无法识别的数值不能与目标比较",
        (
            Check("indicator", _problem("UNPARSEABLE_TARGET"), explains=True, variant="target", column="target_text",
                  value=lambda r: pl.col("target_text"),
                  fields=lambda r: {**_LEVEL3, "text": quoted(pl.col("target_text").fill_null("")),
                                    "detail": pl.col("target_error").fill_null("缺少年份")}),
            Check("indicator", _problem("UNPARSEABLE_ACTUAL"), explains=True, variant="actual", column="actual_text",
                  value=lambda r: pl.col("actual_text"),
                  fields=lambda r: {**_LEVEL3, "text": quoted(pl.col("actual_text")),
                                    "detail": pl.col("actual_error").fill_null("")}),
        ),
    ),
    FindingKind(
        "UNIT_MISMATCH", "计量单位不一致", "error",
        "指标“{level3}”的实际完成值“{actual}”（{actual_unit}）与指标值“{target}”（{target_unit}）口径不一致，无法比较",
        "不同口径的数值不能直接比较，须按指标值的口径填写",
        (Check("indicator", _problem("UNIT_MISMATCH"), explains=True, column="actual_text", value=lambda r: pl.col("actual_text"),
               fields=lambda r: {**_LEVEL3, "actual": quoted(pl.col("actual_text")), "actual_unit": _unit_desc("actual"),
                                 "target": quoted(pl.col("target_text")), "target_unit": _unit_desc("target")}),),
    ),
    FindingKind(
        "KEY_MISMATCH", "指标不匹配", "error",
        {"level3": "实际完成值中的三级指标“{actual_level3}”与申报的“{level3}”不一致",
         "several_actuals": "指标“{level3}”填写了多行实际完成值，无法确定采用哪一行",
         "unknown_actual": "实际完成值第 {row} 条记录对应的指标（项目 {project}，序号 {seq}）未在绩效目标表中申报",
         "duplicate_actual": "同一指标（项目 {project}，序号 {seq}）填写了 {count} 行实际完成值，无法确定采用哪一行",
         "unknown_execution": "预算执行数据中的项目 {project} 未在绩效目标表中申报",
         "duplicate_execution": "项目 {project} 有 {count} 行预算执行数据，无法确定采用哪一行，预算执行率不评分"},
        "实际完成值必须对应已申报的指标，否则会错配或丢失",
        (
            Check("indicator", lambda r: _problem("KEY_MISMATCH")(r) & _level3_clash(), explains=True, variant="level3", column="level3",
                  value=lambda r: pl.col("actual_text"),
                  fields=lambda r: {**_LEVEL3, "actual_level3": quoted(pl.col("_actual_level3"))}),
            Check("indicator", lambda r: _problem("KEY_MISMATCH")(r) & ~_level3_clash(), explains=True,
                  variant="several_actuals",
                  column="level3", value=lambda r: pl.col("actual_text"), fields=lambda r: _LEVEL3),
            Check("key", lambda r: pl.col("_unknown"), variant="unknown_actual", column="seq",
                  value=lambda r: pl.col("level3"),
                  fields=lambda r: {"row": pl.col("_row") + 1, "project": quoted(pl.col("project_code")), "seq": pl.col("seq")}),
            Check("key", lambda r: pl.col("_duplicate"), variant="duplicate_actual", column="seq",
                  fields=lambda r: {"project": quoted(pl.col("project_code")), "seq": pl.col("seq"), "count": pl.col("_n_actual")}),
            Check("execution_key", lambda r: pl.col("_unknown"), variant="unknown_execution", column="project_code",
                  value=lambda r: pl.col("project_code"), fields=lambda r: {"project": quoted(pl.col("project_code"))}),
            Check("execution_key", lambda r: pl.col("_duplicate"), variant="duplicate_execution", column="project_code",
                  value=lambda r: pl.col("project_code"),
                  fields=lambda r: {"project": quoted(pl.col("project_code")), "count": pl.col("_n_execution")}),
        ),
    ),
    FindingKind(
        "MISSING_REASON", "缺少偏差原因", "warning",
        {"overshoot": "指标“{level3}”超额完成较多，但未填写偏差原因分析及改进措施",
         "qualitative": "指标“{level3}”评价为“{tier}”，但未填写偏差原因分析及改进措施",
         "shortfall": "指标“{level3}”未完成指标值（完成比例 {ratio}），但未填写偏差原因分析及改进措施"},
        "财预〔2020〕10号要求对未完成或超额较多的指标说明原因",
        tuple(
            Check("indicator", lambda r, v=v: _needs_reason(r) & (_reason_variant(r) == v), variant=v,
                  column="deviation_reason", value=lambda r: pl.col("actual_text"),
                  fields=lambda r: {"level3": pl.col("level3"), "tier": pl.col("_tier"), "ratio": _num(pl.col("ratio"), 4)})
            for v in ("overshoot", "qualitative", "shortfall")
        ),
    ),
    FindingKind(
        "OVERSHOOT", "超额完成较多", "warning",
        {"default": "指标“{level3}”完成值 {actual} 为指标值 {target} 的 {ratio} 倍（≥ {threshold}），可能指标值设置偏低，须说明原因",
         # a zero target (r = 1 by definition) reached the rule's overshoot.zero_threshold (issue 13)
         "zero": "指标“{level3}”指标值 {target} 为 0，完成值 {actual} 达到规则的超额阈值 {zero}，可能指标值设置偏低，须说明原因"},
        "完成值远高于指标值通常说明目标设置保守，需说明原因",
        (Check("indicator",
               lambda r: pl.col("_overshoot") & pl.col("_problem").is_null()
               & (pl.col("ratio") >= pl.col("_overshoot_threshold")).fill_null(False),
               column="actual_text", value=lambda r: pl.col("actual_text"),
               fields=lambda r: {"level3": pl.col("level3"), "actual": quoted(pl.col("actual_text")),
                                 "target": quoted(pl.col("target_text")), "ratio": _num(pl.col("ratio"), 2),
                                 "threshold": _num(pl.col("_overshoot_threshold"), 2)}),
         Check("indicator",
               lambda r: pl.col("_overshoot") & pl.col("_problem").is_null()
               & ~(pl.col("ratio") >= pl.col("_overshoot_threshold")).fill_null(False),
               variant="zero", column="actual_text", value=lambda r: pl.col("actual_text"),
               fields=lambda r: {"level3": pl.col("level3"), "actual": quoted(pl.col("actual_text")),
                                 "target": quoted(pl.col("target_text")),
                                 "zero": pl.lit(f"{r.overshoot.zero_threshold:g}" if r.overshoot.zero_threshold is not None else "")}),),
    ),
    FindingKind(
        "SCHEDULE", "支出进度滞后", "warning",
        "{month}累计支出 {executed} 元（占全年预算 {rate}），低于{basis} {plan}%",
        "支出进度落后于计划会影响资金效益",
        _checkpoint_checks(),
    ),
    FindingKind(
        "WEIGHTS_SUM", "分值合计不符", "warning",
        {"sum": "项目 {project} 的指标分值合计 {total}（含预算执行率 {execution}），与满分 {expected} 不一致",
         "partial": "项目 {project} 只有 {given} 个指标填写了分值（共 {count} 个），分值不全，按规则的权重计分"},
        "分值合计不为满分时总分失真",
        (Check("project",
               lambda r: (pl.col("_weights_given") > 0) & (pl.col("_weights_given") < pl.col("_indicators")),
               variant="partial", column="weight", value=lambda r: pl.col("_weights_given").cast(pl.String),
               fields=lambda r: {"project": quoted(pl.col("project_code")), "given": pl.col("_weights_given"),
                                 "count": pl.col("_indicators")}),
         Check("project",
               lambda r: pl.col("_explicit").fill_null(False)
               & ((pl.col("_weight_sum") + pl.col("execution_weight") - pl.col("_total_points")).abs() > 0.005),
               variant="sum", column="weight", value=lambda r: _num(pl.col("_weight_sum") + pl.col("execution_weight"), 2),
               fields=lambda r: {"project": quoted(pl.col("project_code")),
                                 "total": _num(pl.col("_weight_sum") + pl.col("execution_weight"), 2),
                                 "execution": _num(pl.col("execution_weight"), 2),
                                 "expected": _num(pl.col("_total_points"), 2)}),),
    ),
    FindingKind(
        "CATEGORY", "项目类别未计入", "warning",
        {"missing": "项目 {project} 未填写项目类别，按“{category}”计入部门整体得分",
         "unweighted": "项目 {project} 的项目类别“{category}”在规则的项目类别权重（{listed}）中未列出或权重为 0，未计入部门整体得分"},
        "部门整体得分按项目类别汇总时，类别缺失或不在规则中会改变整体得分",
        (Check("project", lambda r: _category_missing(r), variant="missing", column="category",
               value=lambda r: pl.col("category"),
               fields=lambda r: {"project": quoted(pl.col("project_code")), "category": _category(r)}),
         Check("project", lambda r: _category_unweighted(r), variant="unweighted", column="category",
               value=lambda r: pl.col("category"),
               fields=lambda r: {"project": quoted(pl.col("project_code")),
                                 "category": pl.when(_category_blank())
                                 .then(pl.format("{}（未填写项目类别）", _category(r))).otherwise(_category(r)),
                                 "listed": pl.lit("、".join(f"{k} {v:g}" for k, v in r.category_weights.items()))}),),
    ),
    FindingKind(
        "OVERRIDE", "采用评价人得分", "warning",
        {"with_reason": "指标“{level3}”采用评价人给出的得分 {given}（按规则应得 {rule_points}），原因：{reason}",
         "no_reason": "指标“{level3}”采用评价人给出的得分 {given}（按规则应得 {rule_points}），"
                      "但未说明原因，须在偏差原因分析及改进措施中说明",
         "invalid": "指标“{level3}”填写的得分 {given} 不在 0 至分值 {weight} 之间，未采用，按规则计 {rule_points} 分"},
        "自评得分与评分规则不一致时，须有理由并留下记录，审核时才能判断是否合理",
        tuple(
            Check("indicator", lambda r, c=cond: pl.col("_override") & c, variant=v, column="points",
                  value=lambda r: _num(pl.col("_given"), 2),
                  fields=lambda r: {"level3": pl.col("level3"), "given": _num(pl.col("_given"), 2),
                                    "rule_points": _num(pl.col("rule_points"), 2), "weight": _num(pl.col("_weight")),
                                    "reason": quoted(pl.col("deviation_reason"))})
            for v, cond in (
                ("invalid", ~pl.col("_override_valid")),
                ("with_reason", pl.col("_override_valid") & pl.col("deviation_reason").is_not_null()),
                ("no_reason", pl.col("_override_valid") & pl.col("deviation_reason").is_null()),
            )
        ),
    ),
    FindingKind(
        "MISSING_EXECUTION", "缺少预算执行数据", "error",
        {"no_row": "项目没有预算执行数据，预算执行率无法评分",
         "no_executed": "项目没有填写全年执行数，预算执行率无法评分",
         "bad_budget": "全年预算数 {budget} 无效，预算执行率无法评分"},
        "预算执行率是自评的必备指标",
        tuple(
            Check("execution", lambda r, v=v: pl.col("_missing_execution") == v, variant=v, column="executed",
                  value=lambda r: pl.col("executed").cast(pl.String),
                  fields=lambda r: {"budget": pl.col("year_budget").cast(pl.String)})
            for v in ("no_row", "no_executed", "bad_budget")
        ),
    ),
    FindingKind(
        "UNKNOWN_LEVEL1", "一级指标无法识别", "error",
        {"default": "一级指标“{level1}”不在规则集的一级指标及别名中，无法分配分值",
         "hint": "一级指标“{level1}”不在规则集的一级指标及别名中，无法分配分值；最接近的是“{hint}”"},
        "一级指标决定分值，无法识别的一级指标无法评分",
        tuple(
            Check("indicator", lambda r, v=v: _problem("UNKNOWN_LEVEL1")(r) & (pl.col("_level1_hint").is_null() == (v == "default")),
                  explains=True, variant=v, column="level1", value=lambda r: pl.col("level1"),
                  fields=lambda r: {"level1": quoted(pl.col("level1").fill_null("")), "hint": pl.col("_level1_hint")})
            for v in ("default", "hint")
        ),
    ),
    FindingKind(
        "LEVEL1_POINTS", "一级指标分值与规则不符", "warning",
        "一级指标“{level1}”写明 {written} 分，与规则集中{group}的分值 {weight} 分不一致",
        "表中一级指标写明的分值与所选规则集不同，说明该表可能按另一套分值编制，须确认所选规则集",
        (Check("indicator", lambda r: _level1_points_differ(r), column="level1", value=lambda r: pl.col("level1"),
               once_per=("_pid", "level1"),
               fields=lambda r: {"level1": quoted(pl.col("level1")), "written": _num(pl.col("level1_points"), 2),
                                 "group": pl.col("level1_group"), "weight": _num(_level1_rule_weight(r), 2)}),),
    ),
    FindingKind(
        "INVALID_TIER", "定性档次无效", "error",
        {"invalid_name": "定性评价档次“{tier}”无效",
         "unrecognised": "定性指标“{level3}”无法从实际完成值“{actual}”识别评价档次，请填写定性评价档次",
         "out_of_band": "档内得分比例 {fraction} 不在“{tier_resolved}”档的区间内"},
        "定性指标须按达成/部分达成/未达成三档评分",
        tuple(
            Check("indicator", _tier_variant_is(v), explains=True, variant=v, column="tier",
                  value=lambda r: pl.coalesce(pl.col("tier"), pl.col("actual_text")),
                  fields=lambda r: {**_LEVEL3, "tier": quoted(pl.col("tier")), "actual": quoted(pl.col("actual_text")),
                                    "fraction": _num(pl.col("fraction")), "tier_resolved": pl.col("_tier")})
            for v in ("invalid_name", "unrecognised", "out_of_band")
        ),
    ),
)
CATALOGUE.register(*SCORING_KINDS)

# A reader's note on an input file (a column read but not used, rows of undeclared projects
# counted and not read …): printed as “注意：” and kept in the results, so nothing lives only on
# the console. Raised by `input_note_findings`, not by a pipeline check.
INPUT_NOTE = FindingKind(
    "INPUT_NOTE", "读取提示", "info", "读取输入时注意：{note}",
    "读表时发现、但不妨碍评分的情况随评分结果保留，便于事后核对输入",
)
CATALOGUE.register(INPUT_NOTE)


def input_note_findings(notes: list[Any], unit_code: str | None = None) -> pl.DataFrame:
    """One INPUT_NOTE finding per reader note (`Problem`), in the findings schema."""
    rows = [
        {"code": INPUT_NOTE.code, "severity": INPUT_NOTE.severity, "unit_code": unit_code, "project_code": None,
         "seq": None, "column": n.column, "value": n.value, "note": str(n)}
        for n in notes
    ]
    frame = pl.DataFrame(rows, schema={**schema.FINDINGS, "note": pl.String}) if rows else schema.empty(pl.Schema({**schema.FINDINGS, "note": pl.String}))
    return frame.with_columns(
        quoted(pl.col("value")).alias("value"),
        render(INPUT_NOTE.template, {"note": quoted(pl.col("note"))}).alias("message"),
    ).select(schema.FINDINGS.names())


def _scoring_kinds() -> list[FindingKind]:
    """Every registered kind the pipeline raises (those that declare checks), in registration order."""
    return [kind for kind in CATALOGUE.values() if kind.checks]


def problem_message(rules: RuleSet) -> pl.Expr:
    """The message of an indicator's unscorable reason (`_problem`), from the same checks as its finding."""
    chain: Any = None
    for kind in _scoring_kinds():
        for check in kind.checks:
            if check.stage != "indicator" or not check.explains:
                continue
            # the message also explains a key problem reported once by the key stage
            cond = check.when(rules) if kind.code != "KEY_MISMATCH" else (
                (pl.col("_problem") == "KEY_MISMATCH") & (_level3_clash() if check.variant == "level3" else ~_level3_clash())
            )
            text = render(kind.template_of(check.variant), check.fields(rules))
            chain = pl.when(cond).then(text) if chain is None else chain.when(cond).then(text)
    return chain.otherwise(None)


__all__ = [
    "CATALOGUE", "Check", "FindingKind", "INPUT_NOTE", "QUOTE_LIMIT", "concat_findings", "detect", "input_note_findings",
    "placeholders", "problem_message", "quoted", "render", "template_pattern",
]
