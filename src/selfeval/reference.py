"""The plain-Python reference scorer: the oracle the tests compare the pipeline with.

Written from SPEC.md §5 and docs/scoring.md only, never from the vectorized code: plain loops
over `frame.to_dicts()`, `decimal` half-up rounding, texts parsed one at a time with
`selfeval.grammar_reference.parse_text`. Never imported by the pipeline.

Readings of docs/scoring.md where it is silent (each marked "READING" below):

- An actual's `unit_code` that is null takes the unit of the declared project with that
  `project_code` (when exactly one unit declares it); the join key is then
  (unit_code, project_code, seq). A non-null unit_code that is not the project's unit is a key
  that matches nothing (KEY_MISMATCH).
- Actual rows whose key matches no declared indicator give one KEY_MISMATCH per row, even when
  several such rows repeat the same key; the "once for the key" rule applies to declared keys.
- Texts (target_text, actual_text, deviation_reason, level3, level2, tier) are stripped and an
  empty string counts as null. A null level2 is one level-2 value of its own (per_level2).
- Explicit weights need at least one indicator in the project. The WEIGHTS_SUM check adds every
  indicator's 分值 as written (an indicator with an unknown level-1 included); such an indicator
  still gets no weight.
- `missing_transfer` chains that loop back give their weight to nobody (lost).
- A qualitative actual equal to the target text counts as the tier named 达成 (the top tier when
  the rule set has no tier of that name).
- SCHEDULE is checked whenever the project's execution row exists with a usable year budget,
  even if `executed` itself is missing (spending behind plan is a fact on its own).
- Two execution rows for one project: KEY_MISMATCH once (seq null); execution not scored.
- Department budget weighting uses the declared project `budget`; a null budget weighs 0.
  A unit without projects has total and grade null (and counts as complete).
- Group points (output/effect/satisfaction) are the sum of rounded points, rounded again to the
  rule set's decimals to drop float noise.
- Findings are (code, unit_code, project_code, seq) tuples sorted by
  (code, unit_code, project_code, seq) with None before any value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from selfeval.checkpoints import CHECKPOINT_MONTHS
from selfeval.grammar_reference import parse_text
from selfeval.level1 import level1_points_text

if TYPE_CHECKING:
    import polars as pl

    from selfeval.declaration import Declaration
    from selfeval.rules.model import RuleSet

__all__ = ["ReferenceResult", "reference_score", "round_half_up"]

GROUPS = ("产出指标", "效益指标", "满意度指标")
GROUP_COLUMNS = {"产出指标": "output_points", "效益指标": "effect_points", "满意度指标": "satisfaction_points"}
EXECUTION_KEY = "预算执行率"
UNCATEGORISED = "未分类"
QUANT_OPS = ("ge", "gt", "le", "lt", "eq", "range")
ACTUAL_VALUE_OPS = ("eq", "ge", "gt", "le", "lt")
# Days per duration unit (docs/scoring.md §4.8). READING: 小时 is 1/24 day (the doc lists only
# 天/周/月/年; the grammar also knows hours). Any other duration unit compares only to itself.
DAYS = {"天": 1.0, "周": 7.0, "月": 30.0, "年": 365.0, "小时": 1.0 / 24.0}


def round_half_up(x: float, decimals: int = 2) -> float:
    """Round half up (never banker's) after dropping binary noise at 9 decimals."""
    exact = Decimal(repr(round(x, 9)))
    return float(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def round_as(x: float, mode: str, decimals: int) -> float:
    """A rule set's rounding: half up, or truncate (cut off after dropping binary noise)."""
    if mode != "truncate":
        return round_half_up(x, decimals)
    exact = Decimal(repr(round(x, 9)))
    return float(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN))


@dataclass
class ReferenceResult:
    """Plain dicts keyed like the pipeline's result frames."""

    indicators: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    projects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[tuple[str, str | None, str | None, int | None]] = field(default_factory=list)
    # The same findings with the column they point at: (code, unit, project, seq, column).
    findings_detailed: list[tuple[str, str | None, str | None, int | None, str | None]] = field(default_factory=list)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def _none_first(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, value)


def _finding_key(f: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_none_first(v) for v in f)


class _Findings:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str | None, str | None, int | None, str | None]] = []

    def add(self, code: str, unit: str | None, project: str | None, seq: int | None, column: str | None) -> None:
        self.rows.append((code, unit, project, seq, column))


def _parse(text: str | None, year: int | None) -> dict[str, Any]:
    if text is None:
        return {"op": None, "value": None, "value_hi": None, "deadline": None, "unit": None,
                "dimension": None, "error": "empty", "scale": None, "unit_text": None, "op_written": None}
    return parse_text(text, year=year)


def _direction_hint(ind: dict[str, Any], rules: RuleSet) -> str:
    """The direction a bare target value takes: the table's 指标方向, else the rule defaults."""
    declared = _text(ind.get("direction"))
    if declared in ("ge", "le", "eq"):
        return declared
    dd = rules.direction_defaults
    from selfeval.level1 import normalize_level1_text

    by_name = {normalize_level1_text(k): v for k, v in dd.level1.items()}
    level1 = normalize_level1_text(ind.get("level1"))
    if level1 in by_name:
        return by_name[level1]
    from selfeval.level1 import TRADITIONAL

    level2 = _text(ind.get("level2"))
    level2 = level2.translate(str.maketrans(TRADITIONAL)) if level2 is not None else None
    if level2 in dd.level2:
        return dd.level2[level2]
    if any(word in (ind.get("level3") or "") for word in dd.level3_words):
        return "le"
    return dd.default


def _affirms(actual: str | None, target: str | None, rules: RuleSet) -> bool:
    """The actual restates the target, or both are negative about the same thing (无安全事故 / 未发生安全事故)."""
    if actual is None or target is None:
        return False
    if actual == target:
        return True
    markers = sorted(rules.qualitative.negative_markers, key=len, reverse=True)

    def core(text: str) -> str | None:
        for marker in markers:
            if text.startswith(marker):
                return text[len(marker):].strip()
        return None

    core_t, core_a = core(target[:100]), core(actual[:100])
    if core_t is None or core_a is None:
        return False
    return core_a == core_t or core_a == "" or core_t in core_a or core_a in core_t


def _qualitative_text(text: str | None, rules: RuleSet) -> str | None:
    """Traditional characters simplified, a leading word of time or scope (全年 …) dropped."""
    from selfeval.level1 import TRADITIONAL

    if text is None:
        return None
    text = text.translate(str.maketrans(TRADITIONAL))
    for word in sorted(rules.qualitative.leading_words, key=len, reverse=True):
        if text.startswith(word):
            return text[len(word):]
    return text


def _contradicts(actual: str | None, target: str | None, rules: RuleSet) -> bool:
    """A negative target answered by a bare yes (是, 有, 存在, 发生…)."""
    if actual is None or target is None:
        return False
    markers = rules.qualitative.negative_markers
    negative = lambda text: any(text.startswith(m) for m in markers)  # noqa: E731
    yes = actual in ("是", "有", "存在", "发生") or actual.startswith("发生")
    return negative(target) and not negative(actual) and yes


EXCEL_SERIALS = (36526, 73050)  # 2000-01-01 … 2099-12-31


def _months_late(actual: dt.date, target: dt.date) -> int:
    late = (actual.year * 12 + actual.month) - (target.year * 12 + target.month)
    if actual.day > target.day:
        late += 1
    return max(late, 1)


def _ratio(op: str, a: float, t: float, t_hi: float | None, reverse: str = "ratio") -> float:
    if op in ("ge", "gt"):
        return 1.0 if t == 0 else a / t
    if op in ("le", "lt"):
        if a <= t:
            return 1.0
        if t == 0:
            return 0.0
        if reverse == "deviation":  # a ≤ t full; t < a < 2t: 1 − (a − t)/t; a ≥ 2t: 0
            return max(0.0, 2.0 - a / t)
        return t / a
    if op == "eq":
        if a == t:
            return 1.0
        hi, lo = max(a, t), min(a, t)
        return 0.0 if hi <= 0 else lo / hi
    # range [t, t_hi]
    lo, hi = t, t_hi
    assert hi is not None
    if lo <= a <= hi:
        return 1.0
    if a < lo:
        return 0.0 if lo <= 0 else a / lo
    return hi / a


def _tier_from_words(text: str | None, rules: RuleSet) -> str | None:
    """The tier whose word occurs in `text`, longest word first, ties to the tier listed first."""
    if text is None:
        return None
    best: tuple[int, int] | None = None
    best_tier = None
    for order, (name, tier) in enumerate(rules.qualitative.tiers.items()):
        for word in tier.words:
            if word and word in text:
                key = (-len(word), order)
                if best is None or key < best:
                    best, best_tier = key, name
    return best_tier


def _group_weights(
    present: dict[str, int], rules: RuleSet
) -> dict[str, float]:
    """Each present group's weight after passing the weights of absent groups along."""
    weights = {g: (rules.weights[g] if g in present else 0.0) for g in GROUPS}
    for g in GROUPS:
        if g in present:
            continue
        seen = {g}
        target = rules.missing_transfer.get(g)
        while target is not None and target not in present:
            if target in seen:  # READING: a loop passes the weight to nobody
                target = None
                break
            seen.add(target)
            target = rules.missing_transfer.get(target)
        if target is not None:
            weights[target] += rules.weights[g]
    return weights


def _department_parts_total(
    mine: list[tuple[dict[str, Any], dict[str, Any]]], indicators: dict[tuple[str, str, int], dict[str, Any]],
    by_project: dict[tuple[str, str], list[dict[str, Any]]], rules: RuleSet, mode: str, decimals: int,
) -> float | None:
    """`department: parts`: Σ weight × earned ÷ available per part over the unit's projects; parts
    with nothing available pass their weight to the others in proportion. READING: an unscorable
    indicator or execution earns 0 of its weight (the weight still counts as available)."""
    earned: dict[str, float] = {}
    available: dict[str, float] = {}
    for p, row in mine:
        earned[EXECUTION_KEY] = earned.get(EXECUTION_KEY, 0.0) + (row["execution_points"] or 0.0)
        available[EXECUTION_KEY] = available.get(EXECUTION_KEY, 0.0) + rules.weights[EXECUTION_KEY]
        for i in by_project.get((p["unit_code"], p["project_code"]), []):
            out = indicators[(p["unit_code"], p["project_code"], i["seq"])]
            if out["group"] is None or out["weight"] is None:
                continue
            available[out["group"]] = available.get(out["group"], 0.0) + out["weight"]
            if out["status"] == "scored":
                earned[out["group"]] = earned.get(out["group"], 0.0) + out["points"]
    parts = rules.department_parts()
    full = sum(w for _, w in parts)
    score = used = 0.0
    for names, weight in parts:
        have = sum(available.get(n, 0.0) for n in names)
        if have > 0:
            score += weight * sum(earned.get(n, 0.0) for n in names) / have
            used += weight
    return round_as(score * full / used, mode, decimals) if used > 0 else None


def _department_category_total(
    mine: list[tuple[dict[str, Any], dict[str, Any]]], rules: RuleSet, mode: str, decimals: int, findings: _Findings
) -> float | None:
    """`department: category`: Σ weight × category score ÷ Σ weight; a category's score is the
    budget-weighted mean of its projects' totals (plain mean when its budgets add up to 0)."""
    categories: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for p, r in mine:
        name = (p.get("category") or "").strip()
        weighed = rules.category_weight(name) > 0
        if not weighed or not name:  # left out, or counted as 未分类
            findings.add("CATEGORY", p["unit_code"], p["project_code"], None, "category")
        if weighed:
            categories.setdefault(name or UNCATEGORISED, []).append((p, r))
    weighted, weights = 0.0, 0.0
    for name, members in categories.items():
        budget = sum(p["budget"] or 0.0 for p, _ in members)
        if budget > 0:
            score = sum(r["total"] * (p["budget"] or 0.0) for p, r in members) / budget
        else:
            score = sum(r["total"] for _, r in members) / len(members)
        weight = rules.category_weight(name)
        weighted += weight * score
        weights += weight
    return round_as(weighted / weights, mode, decimals) if weights > 0 else None


def reference_score(
    declaration: Declaration, actuals: pl.DataFrame, execution: pl.DataFrame, rules: RuleSet
) -> ReferenceResult:
    """Score `declaration` against `actuals` and `execution` under `rules`, one row at a time."""
    decimals = rules.rounding.decimals
    ind_mode, ind_decimals = rules.rounding.of("indicator")

    def indicator_points(points: float, weight: float) -> float:
        out = round_as(points, ind_mode, ind_decimals)
        if rules.rounding.indicator.within_weight:  # never above the 分值
            out = min(out, round_as(weight, "truncate", ind_decimals))
        return out

    exe_mode, exe_decimals = rules.rounding.of("execution")
    tot_mode, tot_decimals = rules.rounding.of("total")
    overshoot_mode = rules.overshoot.effective_mode
    findings = _Findings()

    units = declaration.units.to_dicts()
    projects = declaration.projects.to_dicts()
    indicators = declaration.indicators.to_dicts()
    year_of = {u["unit_code"]: u["year"] for u in units}

    units_of_project: dict[str, set[str]] = {}
    for p in projects:
        units_of_project.setdefault(p["project_code"], set()).add(p["unit_code"])
    for ind in indicators:
        units_of_project.setdefault(ind["project_code"], set()).add(ind["unit_code"])

    def fill_unit(unit: str | None, project: str | None) -> str | None:
        if unit is not None or project is None:
            return unit
        owners = units_of_project.get(project, set())
        return next(iter(owners)) if len(owners) == 1 else None

    declared_keys = {(i["unit_code"], i["project_code"], i["seq"]): i for i in indicators}

    # ---- §1 joining actuals
    actual_rows: dict[tuple[Any, Any, Any], list[dict[str, Any]]] = {}
    for row in actuals.to_dicts():
        unit = fill_unit(_text(row.get("unit_code")), _text(row.get("project_code")))
        key = (unit, _text(row.get("project_code")), row.get("seq"))
        if key not in declared_keys:
            findings.add("KEY_MISMATCH", key[0], key[1], key[2], "seq")
            continue
        actual_rows.setdefault(key, []).append(row)

    # ---- §2 weights, per project (a 分值 on the actuals row fills a declared gap)
    by_project: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for ind in indicators:
        key = (ind["unit_code"], ind["project_code"], ind["seq"])
        if ind.get("weight") is None and actual_rows.get(key):
            ind["weight"] = actual_rows[key][0].get("weight")
        by_project.setdefault((ind["unit_code"], ind["project_code"]), []).append(ind)

    weight_of: dict[tuple[str, str, int], float | None] = {}
    for (unit, project), inds in by_project.items():
        explicit = bool(inds) and all(i["weight"] is not None for i in inds)
        if not explicit and any(i["weight"] is not None for i in inds):  # READING: some 分值 given, not all
            findings.add("WEIGHTS_SUM", unit, project, None, "weight")
        if explicit:
            for i in inds:
                known = rules.group_of(i["level1"]) is not None
                weight_of[(unit, project, i["seq"])] = i["weight"] if known else None
            total = sum(i["weight"] for i in inds) + rules.weights[EXECUTION_KEY]
            if abs(total - rules.total_points) > 0.005:
                findings.add("WEIGHTS_SUM", unit, project, None, "weight")
            continue
        members: dict[str, list[dict[str, Any]]] = {}
        for i in inds:
            g = rules.group_of(i["level1"])
            if g is None:
                weight_of[(unit, project, i["seq"])] = None
            else:
                members.setdefault(g, []).append(i)
        group_weight = _group_weights({g: len(m) for g, m in members.items()}, rules)
        for g, m in members.items():
            shares = rules.level2_weights.get(g)
            if shares:  # fixed level-2 shares, `指标` at the end optional; unlisted: the mean share
                def share_of(level2: str | None, shares: dict[str, float] = shares) -> float:
                    if level2 is not None:
                        for name, value in shares.items():
                            stem = name[:-2] if name.endswith("指标") else name
                            if level2 in (stem, stem + "指标"):
                                return value
                    return sum(shares.values()) / len(shares)

                by_l2: dict[str | None, list[dict[str, Any]]] = {}
                for i in m:
                    by_l2.setdefault(_text(i["level2"]), []).append(i)
                present = sum(share_of(l2) for l2 in by_l2)
                if present > 0:
                    for l2, sub in by_l2.items():
                        for i in sub:
                            weight_of[(unit, project, i["seq"])] = group_weight[g] * share_of(l2) / present / len(sub)
                    continue
            if rules.split == "per_indicator":
                for i in m:
                    weight_of[(unit, project, i["seq"])] = group_weight[g] / len(m)
            else:
                by_level2: dict[str | None, list[dict[str, Any]]] = {}
                for i in m:
                    by_level2.setdefault(_text(i["level2"]), []).append(i)
                for sub in by_level2.values():
                    for i in sub:
                        weight_of[(unit, project, i["seq"])] = group_weight[g] / len(by_level2) / len(sub)

    # ---- §2 points written in a level-1 label: once per project and label (its first indicator)
    seen_labels: set[tuple[Any, Any, Any]] = set()
    for ind in indicators:
        label = ind["level1"]
        if (ind["unit_code"], ind["project_code"], label) in seen_labels:
            continue
        seen_labels.add((ind["unit_code"], ind["project_code"], label))
        g, written = rules.group_of(label), level1_points_text(label)
        if g is not None and written is not None and abs(written - rules.weights[g]) > 0.005:
            findings.add("LEVEL1_POINTS", ind["unit_code"], ind["project_code"], ind["seq"], "level1")

    # ---- §4–§6 every indicator
    result = ReferenceResult()
    top_tier = rules.qualitative.top_tier
    for ind in indicators:
        unit, project, seq = ind["unit_code"], ind["project_code"], ind["seq"]
        key = (unit, project, seq)
        year = year_of.get(unit)
        rows = actual_rows.get(key, [])
        act = rows[0] if len(rows) == 1 else {}
        actual_text = _text(act.get("actual_text"))
        reason = _text(act.get("deviation_reason"))
        weight = weight_of.get(key)
        out: dict[str, Any] = {"weight": weight, "ratio": None, "fraction": None, "points": None,
                               "status": "unscorable", "tier": None,
                               "group": rules.group_of(ind["level1"])}
        result.indicators[key] = out

        def fail(code: str, column: str | None) -> None:
            findings.add(code, unit, project, seq, column)  # noqa: B023

        # 1. key problems
        if len(rows) > 1:
            fail("KEY_MISMATCH", "seq")
            continue
        declared_l3 = _text(ind["level3"])
        actual_l3 = _text(act.get("level3"))
        if actual_l3 is not None and actual_l3 != declared_l3:
            fail("KEY_MISMATCH", "level3")
            continue
        # 2. level-1
        if out["group"] is None:
            fail("UNKNOWN_LEVEL1", "level1")
            continue
        # 3. target
        target_text = _text(ind["target_text"])
        target = _parse(target_text, year)
        t_op = target["op"]
        if t_op is None or (t_op == "deadline" and target["deadline"] is None):
            fail("UNPARSEABLE", "target_text")
            continue
        if t_op == "eq" and target.get("op_written") is False:  # a bare value: not "exactly equal"
            t_op = "le" if target["value"] == 0 else _direction_hint(ind, rules)  # `0起` is a cap
        out["direction"] = t_op
        fraction: float
        ratio: float | None = None
        overshoot = zero_over = False
        if t_op == "qualitative":
            # 4. qualitative target: the tier
            tier_col = _text(act.get("tier"))
            if tier_col is not None:
                if tier_col not in rules.qualitative.tiers:
                    fail("INVALID_TIER", "tier")
                    continue
                tier = tier_col
            else:
                q_actual, q_target = _qualitative_text(actual_text, rules), _qualitative_text(target_text, rules)
                if _affirms(q_actual, q_target, rules):
                    tier = top_tier
                elif _contradicts(q_actual, q_target, rules):
                    tier = rules.qualitative.bottom_tier
                else:
                    tier = _tier_from_words(q_actual, rules)
                if tier is None:
                    fail("MISSING_ACTUAL" if actual_text is None else "INVALID_TIER", "actual_text")
                    continue
            given = act.get("fraction")
            band = rules.qualitative.tiers[tier].band
            if given is not None and not band[0] <= given <= band[1]:
                fail("INVALID_TIER", "fraction")
                continue
            fraction = given if given is not None else rules.qualitative.tiers[tier].default
            out["tier"] = tier
        else:
            # 5.–8. quantitative or deadline target
            if actual_text is None:
                fail("MISSING_ACTUAL", "actual_text")
                continue
            actual = _parse(actual_text, year)
            serial = (
                t_op == "deadline" and actual["op"] == "eq" and actual["unit"] is None and actual["value"] is not None
                and EXCEL_SERIALS[0] <= actual["value"] <= EXCEL_SERIALS[1] and actual["value"] == int(actual["value"])
            )
            if actual["op"] is None or serial:
                fail("UNPARSEABLE", "actual_text")
                continue
            if t_op == "deadline":
                if actual["op"] != "deadline" or actual["deadline"] is None:
                    fail("UNIT_MISMATCH", "actual_text")
                    continue
                a_date, t_date = actual["deadline"], target["deadline"]
                if a_date <= t_date:
                    ratio = 1.0
                else:
                    late = _months_late(a_date, t_date)
                    ratio = max(0.0, 1.0 - late * rules.deadline.late_penalty_per_month)
            else:
                if actual["op"] not in ACTUAL_VALUE_OPS or actual["value"] is None:
                    fail("UNIT_MISMATCH", "actual_text")
                    continue
                a, t, t_hi = actual["value"], target["value"], target["value_hi"]
                a_unit, t_unit = actual["unit"], target["unit"]
                if a_unit is None and t_unit is not None:  # a bare number means the target's unit, 万 included
                    if (actual.get("scale") or 1.0) == 1.0:  # `118.6万` wrote its own multiplier
                        a = a * target["scale"]
                    out["assumed_unit"] = target["unit_text"]
                if a_unit is not None and t_unit is not None:
                    if actual["dimension"] != target["dimension"]:
                        fail("UNIT_MISMATCH", "actual_text")
                        continue
                    dim = target["dimension"]
                    if dim == "duration":
                        if a_unit in DAYS and t_unit in DAYS:
                            a = a * DAYS[a_unit]
                            t = t * DAYS[t_unit]
                            t_hi = None if t_hi is None else t_hi * DAYS[t_unit]
                        elif a_unit != t_unit:
                            fail("UNIT_MISMATCH", "actual_text")
                            continue
                    elif dim in ("count", "other", "rate") and a_unit != t_unit:
                        fail("UNIT_MISMATCH", "actual_text")
                        continue
                ratio = _ratio(t_op, a, t, t_hi, rules.reverse.formula)
                zero = rules.overshoot.zero_threshold
                zero_over = zero is not None and t == 0 and a >= zero
            fraction = rules.curve_for(t_op)(ratio)
            if overshoot_mode != "none" and t_op in ("ge", "gt") and (
                ratio >= rules.overshoot.threshold or zero_over
            ):
                overshoot = True
                fail("OVERSHOOT", "actual_text")
                if overshoot_mode == "deduct" and rules.overshoot.deduct is not None:
                    fraction = max(0.0, fraction - rules.overshoot.deduct(ratio))
                if overshoot_mode == "cap" and rules.overshoot.cap is not None:
                    fraction = min(fraction, rules.overshoot.cap)
        # §6 points; the evaluator's own score (points, or a fraction on a quantitative row) overrides
        assert weight is not None
        rule_points = indicator_points(weight * fraction, weight)
        out.update(ratio=ratio, fraction=fraction, status="scored", points=rule_points, rule_points=rule_points)
        given = act.get("points")
        if given is None and t_op != "qualitative" and act.get("fraction") is not None:
            given = indicator_points(weight * act["fraction"], weight)
        if given is not None:
            if 0.0 <= given <= weight + 1e-9:
                out["points"] = given
                if abs(given - rule_points) > 0.005:
                    fail("OVERRIDE", "points")
            else:
                fail("OVERRIDE", "points")
        if reason is None:
            short = ratio is not None and ratio < 1
            weak_tier = out["tier"] is not None and out["tier"] != top_tier
            if short or overshoot or weak_tier:
                fail("MISSING_REASON", "deviation_reason")

    # ---- §7 execution
    exec_rows: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    declared_projects = {(p["unit_code"], p["project_code"]) for p in projects}
    for row in execution.to_dicts():
        project_code = _text(row.get("project_code"))
        key = (fill_unit(_text(row.get("unit_code")), project_code), project_code)
        if key not in declared_projects:
            findings.add("KEY_MISMATCH", key[0], key[1], None, "project_code")
            continue
        exec_rows.setdefault(key, []).append(row)

    exec_weight = rules.weights[EXECUTION_KEY]
    for p in projects:
        unit, project = p["unit_code"], p["project_code"]
        rows = exec_rows.get((unit, project), [])
        out = {"execution_rate": None, "execution_points": None, "year_budget": None,
               "executed": None, "budget": p["budget"]}
        result.projects[(unit, project)] = out
        if len(rows) > 1:  # READING: duplicate execution rows are a key problem
            findings.add("KEY_MISMATCH", unit, project, None, "project_code")
            continue
        if not rows:
            findings.add("MISSING_EXECUTION", unit, project, None, "executed")
            continue
        row = rows[0]
        year_budget = row["year_budget"] if row["year_budget"] is not None else p["budget"]
        executed = row["executed"]
        out["year_budget"], out["executed"] = year_budget, executed
        usable_budget = year_budget is not None and year_budget > 0
        behind = 0
        if usable_budget:
            for cp in CHECKPOINT_MONTHS:
                # a rule's monitoring line replaces the declared plan at its checkpoint
                plan = rules.execution.schedule.thresholds.get(cp, p.get(f"plan_{cp}"))
                done = row.get(f"executed_by_{cp}")
                if done is None or plan is None:
                    continue
                if round(100 * done / year_budget, 6) < plan - rules.execution.schedule.tolerance:
                    behind += 1
                    findings.add("SCHEDULE", unit, project, None, f"executed_by_{cp}")
        zero_rule = rules.execution.zero_budget
        if executed is not None and year_budget == 0 and zero_rule != "unscorable":
            rate, fraction = None, (1.0 if zero_rule == "full" else 0.0)
        elif executed is None or not usable_budget:
            findings.add("MISSING_EXECUTION", unit, project, None, "executed")
            continue
        else:
            rate = executed / year_budget
            fraction = rules.execution.curve(min(rate, 1.0) if rules.execution.cap else rate)
        points = round_as(exec_weight * fraction, exe_mode, exe_decimals)
        if behind and rules.execution.schedule.points_per_checkpoint:
            points = round_as(
                max(0.0, points - rules.execution.schedule.points_per_checkpoint * behind), exe_mode, exe_decimals
            )
        out["execution_rate"], out["execution_points"] = rate, points

    # ---- §8 roll-up
    for p in projects:
        unit, project = p["unit_code"], p["project_code"]
        out = result.projects[(unit, project)]
        inds = [result.indicators[(unit, project, i["seq"])] for i in by_project.get((unit, project), [])]
        for g, col in GROUP_COLUMNS.items():
            s = sum(i["points"] for i in inds if i["status"] == "scored" and i["group"] == g)
            out[col] = round_half_up(s, decimals)
        scored = sum(i["points"] for i in inds if i["status"] == "scored")
        total = round_as(scored + (out["execution_points"] or 0.0), tot_mode, tot_decimals)
        out["total"] = total
        out["complete"] = all(i["status"] == "scored" for i in inds) and out["execution_points"] is not None
        out["grade"] = rules.grade_of(total)

    for u in units:
        code = u["unit_code"]
        mine = [(p, result.projects[(p["unit_code"], p["project_code"])]) for p in projects if p["unit_code"] == code]
        budget_sum = sum(p["budget"] for p, _ in mine if p["budget"] is not None)
        executed_sum = sum(r["executed"] for _, r in mine if r["executed"] is not None)
        if not mine:
            total = None
        elif rules.department == "parts":
            total = _department_parts_total(mine, result.indicators, by_project, rules, tot_mode, tot_decimals)
        elif rules.department == "category":
            total = _department_category_total(mine, rules, tot_mode, tot_decimals, findings)
        elif rules.department == "budget" and budget_sum != 0:
            weighted = sum(r["total"] * p["budget"] for p, r in mine if p["budget"] is not None)
            total = round_as(weighted / budget_sum, tot_mode, tot_decimals)
        else:
            total = round_as(sum(r["total"] for _, r in mine) / len(mine), tot_mode, tot_decimals)
        result.units[code] = {
            "total": total,
            "grade": None if total is None else rules.grade_of(total),
            "complete": all(r["complete"] for _, r in mine) and (total is not None or not mine),
            "budget": float(budget_sum),
            "executed": float(executed_sum),
            "projects": len(mine),
        }

    result.findings_detailed = sorted(findings.rows, key=_finding_key)
    result.findings = sorted((f[:4] for f in findings.rows), key=_finding_key)
    return result
