"""Score traces: the text of the comment on every 得分 cell of the workbook (issue 13).

A trace says how the number was obtained — the formula with its inputs (the indicator row's
`explain`, made by the scoring stage), the rule clause that applied, the rounding, and the
clause's source as the rule file cites it — so a unit can check each score by hand.
Plain Python over the few rows of one project sheet; nothing here computes a score.
"""

from __future__ import annotations

from typing import Any

from selfeval.rules.describe import REVERSE_FORMULAS, ROUND_MODES, curve_samples, grades_words, overshoot_words
from selfeval.rules.model import EXECUTION_KEY, UNCATEGORISED, RuleSet

OP_CLAUSES = {"ge": "正向指标", "gt": "正向指标", "le": "反向指标", "lt": "反向指标", "eq": "等值指标", "range": "区间指标",
              "deadline": "时限指标", "qualitative": "定性指标"}


def _rounding(rules: RuleSet, part: str) -> str:
    mode, decimals = rules.rounding.of(part)  # type: ignore[arg-type]
    held = "，不超过分值" if part == "indicator" and rules.rounding.indicator.within_weight else ""
    return f"{ROUND_MODES[mode]}{'取整数' if decimals == 0 else f'保留 {decimals} 位小数'}{held}"


def _rounded(value: float, rules: RuleSet, part: str) -> float:
    """`value` rounded as the rule set rounds `part` (binary noise dropped at 9 decimals first)."""
    from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

    mode, decimals = rules.rounding.of(part)  # type: ignore[arg-type]
    exact = Decimal(repr(round(value, 9)))
    return float(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN if mode == "truncate" else ROUND_HALF_UP))


def _sources(rules: RuleSet, *paths: str, own: tuple[str, ...] = ()) -> str:
    """The distinct source notes of `paths` (each its most specific note), else the profile's `*` note;
    then the notes the profile gives `own` paths themselves (e.g. its rounding), never their `*` fallback."""
    notes = []
    for path in paths:
        note = rules.source_of(path)
        if note and note not in notes:
            notes.append(note)
    for path in own:
        parts = path.split(".")
        note = next((rules.sources[k] for n in range(len(parts), 0, -1) if (k := ".".join(parts[:n])) in rules.sources), None)
        if note and note not in notes:
            notes.append(note)
    return "；".join(notes) or "规则文件未注明依据"


def _clause(row: dict[str, Any], rules: RuleSet) -> tuple[str, tuple[str, ...]]:
    """(the rule clause in words, the rule fields it comes from) for an indicator row."""
    op = row.get("direction") or row.get("target_op") or ""  # the op the target was scored by
    kind = OP_CLAUSES.get(op, "指标")
    curve = rules.curve_for(op)
    if op == "qualitative":
        tiers = "；".join(f"{n} {t.band[0]:g}–{t.band[1]:g}（默认 {t.default:g}）" for n, t in rules.qualitative.tiers.items())
        return f"{kind}按档次记分：{tiers}", ("qualitative.tiers", "weights")
    parts = [f"{kind}：计分曲线 {curve.describe()}"]
    fields: tuple[str, ...] = (f"curves.{op}", "weights")
    if op in ("le", "lt"):
        parts.append(f"反向指标 {REVERSE_FORMULAS[rules.reverse.formula]}")
        fields = ("reverse", *fields)
    if op == "deadline":
        parts.append(f"逾期每月扣减 {rules.deadline.late_penalty_per_month:g}")
        fields = ("deadline", *fields)
    ratio, zero = row.get("ratio"), rules.overshoot.zero_threshold
    zero_over = zero is not None and row.get("target_value") == 0 and (row.get("actual_value") or 0) >= zero
    if op in ("ge", "gt") and rules.overshoot.effective_mode != "none" and (
        (ratio is not None and ratio >= rules.overshoot.threshold) or zero_over
    ):
        parts.append(f"超额完成：{overshoot_words(rules)}")
        fields = ("overshoot", *fields)
    return "；".join(parts), fields


def indicator_trace(row: dict[str, Any], rules: RuleSet) -> str:
    """The comment on an indicator's 得分: formula and inputs, rule clause, rounding, source."""
    lines = [str(row.get("explain") or "")]
    if row.get("status") != "scored":
        return lines[0]
    clause, fields = _clause(row, rules)
    weight = row.get("weight")
    lines.append(f"分值 {weight:g}" if isinstance(weight, (int, float)) else "分值 —")
    lines.append(f"规则：{clause}；得分{_rounding(rules, 'indicator')}")
    lines.append(f"依据：{_sources(rules, *fields, own=('rounding.indicator',))}")
    return "\n".join(lines)


def execution_trace(project: dict[str, Any], rules: RuleSet, late: list[str] | None = None) -> str:
    """The comment on a project's 预算执行率 得分; `late`: the month ends its spending was behind (4月底 …)."""
    executed, budget, rate = project.get("executed"), project.get("year_budget"), project.get("execution_rate")
    weight, points = project.get("execution_weight"), project.get("execution_points")
    curve = rules.execution.curve
    if points is None:
        head = "预算执行率未能评分（缺少全年执行数或全年预算数无效），见问题清单"
    elif rate is None:
        head = f"全年预算数为 0：按规则{'记满分' if rules.execution.zero_budget == 'full' else '记 0 分'} → {points:g}"
    else:
        used = min(rate, 1.0) if rules.execution.cap else rate
        raw = _rounded(weight * curve(used), rules, "execution")
        head = (f"执行率 = 全年执行数 {executed:,.2f} ÷ 全年预算数 {budget:,.2f} = {rate:.2%} → "
                f"{weight:g} × 执行率曲线({used:.4g}) = {weight * curve(used):.4f} → {raw:g}")
        per = rules.execution.schedule.points_per_checkpoint
        if per and points < raw - 1e-9:  # checkpoints behind (SCHEDULE findings) took points off
            behind = round((raw - points) / per)
            where = f"（{'、'.join(late)}）" if late else ""
            head += (f" − 支出进度滞后 {behind} 个节点{where} × {per:g} = {points:g}" if points > 0 or raw - behind * per == 0
                     else f" − 支出进度滞后扣分{where}（每个节点 {per:g}，不低于 0）= {points:g}")
    schedule = rules.execution.schedule
    lines = [head, f"规则：执行率曲线 {curve.describe()}（取样 {curve_samples(curve)}）；得分{_rounding(rules, 'execution')}"]
    if late and not schedule.points_per_checkpoint:
        lines.insert(1, f"支出进度滞后：{'、'.join(late)}（不扣分，见问题清单）")
    if schedule.points_per_checkpoint:
        lines.append(f"支出进度每滞后一个节点扣 {schedule.points_per_checkpoint:g} 分")
    # a deduction for checkpoints behind cites the profile's own note on its monitoring lines
    own = ("rounding.execution", "execution.schedule") if schedule.points_per_checkpoint else ("rounding.execution",)
    lines.append(f"依据：{_sources(rules, f'weights.{EXECUTION_KEY}', 'execution', own=own)}")
    return "\n".join(lines)


def total_trace(project: dict[str, Any], rows: list[dict[str, Any]], rules: RuleSet) -> str:
    """The comment on a project's 总分."""
    scored = [r["points"] for r in rows if r.get("status") == "scored" and r.get("points") is not None]
    execution = project.get("execution_points")
    parts = " + ".join(f"{p:g}" for p in [*scored, *([execution] if execution is not None else [])]) or "0"
    total = project.get("total")
    lines = [f"总分 = 各指标得分 + 预算执行率得分 = {parts} = {total:g}" if total is not None else "总分未能计算",
             f"总分{_rounding(rules, 'total')}；等级：{grades_words(rules)}",
             f"依据：{_sources(rules, 'grades', 'rounding.total')}"]
    if project.get("complete") is False:
        lines.insert(1, "有指标或预算执行未能评分，总分不完整，见问题清单")
    return "\n".join(lines)


def department_trace(projects: list[dict[str, Any]], unit: dict[str, Any], rules: RuleSet,
                     indicators: list[dict[str, Any]] | None = None) -> str:
    """The comment on the department (部门整体) score: the roll-up formula with its inputs."""
    total = unit.get("total")
    result = f"{total:g}" if total is not None else "—"
    totals = [(p.get("total"), p.get("budget")) for p in projects if p.get("total") is not None]
    if rules.department == "parts":
        lines = _parts_lines(projects, rules, indicators or [])
        head = f"部门整体得分 = Σ 部分权重 × 该部分得分之和 ÷ 该部分分值之和 = {result}"
        lines = [head, *lines]
    elif rules.department == "category":
        head = f"部门整体得分 = Σ 类别权重 × 类别得分 ÷ Σ 类别权重 = {result}"
        lines = [head, *_category_lines(projects, rules)]
    elif rules.department == "budget" and sum(b or 0.0 for _, b in totals) > 0:
        terms = " + ".join(f"{t:g} × {b or 0:,.2f}" for t, b in totals)
        lines = [f"部门整体得分 = Σ(项目总分 × 预算数) ÷ Σ预算数 = ({terms}) ÷ {sum(b or 0.0 for _, b in totals):,.2f} = {result}"]
    else:
        terms = " + ".join(f"{t:g}" for t, _ in totals)
        lines = [f"部门整体得分 = 项目总分的简单平均 = ({terms}) ÷ {len(totals)} = {result}"]
    lines.append(f"得分{_rounding(rules, 'total')}；等级：{grades_words(rules)}")
    lines.append(f"依据：{_sources(rules, 'department', 'department_weights', 'category_weights', 'grades')}")
    return "\n".join(lines)


def _category_lines(projects: list[dict[str, Any]], rules: RuleSet) -> list[str]:
    """Per project category: its weight and the totals × budgets it averages (display only)."""
    members: dict[str, list[dict[str, Any]]] = {}
    for p in projects:
        members.setdefault((p.get("category") or "").strip() or UNCATEGORISED, []).append(p)
    lines = []
    for name, rows in members.items():
        weight = rules.category_weight(name)
        terms = " + ".join(f"{p.get('total') or 0:g} × {p.get('budget') or 0:,.2f}" for p in rows)
        budget = sum(p.get("budget") or 0.0 for p in rows)
        line = f"Σ(总分 × 预算数) ÷ Σ预算数 = ({terms}) ÷ {budget:,.2f}"
        totals = [p["total"] for p in rows if p.get("total") is not None]
        if budget <= 0 and totals:  # the plain mean, as the roll-up takes it
            line = f"预算数合计为 0，取总分的简单平均 = ({' + '.join(f'{t:g}' for t in totals)}) ÷ {len(totals)}"
        score = (sum(p["total"] * (p.get("budget") or 0.0) for p in rows if p.get("total") is not None) / budget if budget > 0
                 else sum(totals) / len(totals) if totals else None)
        if score is not None:
            line += f" = {round(score, 4):g}"
        lines.append(f"{name}（权重 {weight:g}）：" + (line if weight > 0 else "不计入"))
    return lines


def _parts_lines(projects: list[dict[str, Any]], rules: RuleSet, indicators: list[dict[str, Any]]) -> list[str]:
    """Per department part: points earned and available over the unit's projects (display only)."""
    earned: dict[str, float] = {EXECUTION_KEY: sum(p.get("execution_points") or 0.0 for p in projects)}
    available: dict[str, float] = {EXECUTION_KEY: sum(p.get("execution_weight") or 0.0 for p in projects)}
    for row in indicators:
        group, weight = row.get("level1_group"), row.get("weight")
        if group is None or weight is None:
            continue
        available[group] = available.get(group, 0.0) + weight
        if row.get("status") == "scored":
            earned[group] = earned.get(group, 0.0) + (row.get("points") or 0.0)
    lines = []
    for names, weight in rules.department_parts():
        have = sum(available.get(n, 0.0) for n in names)
        got = sum(earned.get(n, 0.0) for n in names)
        share = f"{weight:g} × {got:g} ÷ {have:g}" if have > 0 else f"{weight:g}（无此部分，权重按比例分给其余部分）"
        lines.append(f"{'+'.join(names)}：{share}")
    return lines


COMMENT_OPTIONS = {"author": "selfeval", "x_scale": 3.2, "y_scale": 2.4, "font_name": "SimSun", "font_size": 9}


__all__ = ["COMMENT_OPTIONS", "department_trace", "execution_trace", "indicator_trace", "total_trace"]
