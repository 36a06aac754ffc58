"""Rule sets in words: the rows of `rules show` and 计算说明, and the differences of `rules diff`."""

from __future__ import annotations

from typing import Any

from selfeval.rules.model import CHECKPOINT_MONTHS, Curve, RuleSet

# r values at which `rules show` and `rules diff` print a curve
SAMPLE_R = (0.0, 0.5, 0.6, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0)
OP_NAMES = {"default": "默认", "ge": "正向（≥）", "gt": "正向（>）", "le": "反向（≤）", "lt": "反向（<）", "eq": "等值（=）",
            "range": "区间", "deadline": "时限"}
OVERSHOOT_MODES = {"none": "不检查超额完成", "explain": "须说明原因，不扣分", "deduct": "须说明原因，按扣分曲线扣分",
                   "cap": "须说明原因，得分不超过上限"}
REVERSE_FORMULAS = {"ratio": "r = 指标值 ÷ 完成值（完成值 ≤ 指标值为 1）",
                    "deviation": "偏离度公式：完成值 ≤ 指标值为 1；指标值 < 完成值 < 2 倍指标值为 1 − (完成值 − 指标值) ÷ 指标值；2 倍及以上为 0"}
ROUND_MODES = {"half_up": "四舍五入（half up）", "truncate": "截尾（舍去）"}
ZERO_BUDGET = {"unscorable": "不计分（列入问题清单）", "full": "记满分", "zero": "记 0 分"}
DEPARTMENT = {"budget": "按预算数加权平均", "mean": "简单平均", "parts": "按部门整体权重分部分计分", "category": "按项目类别加权"}
SPLIT = {"per_indicator": "按指标平均（per_indicator）", "per_level2": "先按二级指标平均再按指标平均（per_level2）"}
PART_NAMES = {"indicator": "指标得分", "execution": "执行率得分", "total": "总分"}

# Chinese names of rule fields (dotted paths; a path not listed shows its last known prefix's name)
FIELD_NAMES = {
    "title": "名称", "description": "说明", "total_points": "满分", "weights": "权重", "aliases": "一级指标别名",
    "missing_transfer": "缺失一级指标权重转移", "level2_weights": "二级指标权重", "split": "权重分配", "curves": "计分曲线", "overshoot": "超额完成",
    "overshoot.mode": "超额完成处理", "overshoot.threshold": "超额完成阈值", "overshoot.zero_threshold": "指标值为 0 时的超额阈值",
    "overshoot.deduct": "超额扣分曲线", "overshoot.cap": "超额得分上限", "reverse": "反向指标", "reverse.formula": "反向指标计分公式",
    "deadline.late_penalty_per_month": "逾期每月扣减比例", "direction_defaults": "无方向指标值的理解",
    "qualitative.tiers": "定性档次", "qualitative.negative_markers": "否定式指标值用词", "qualitative.leading_words": "定性文字前的时间范围词",
    "execution.curve": "执行率曲线", "execution.cap": "执行率封顶", "execution.zero_budget": "全年预算为 0",
    "execution.schedule.tolerance": "支出进度容差（百分点）", "execution.schedule.points_per_checkpoint": "支出进度每滞后节点扣分",
    "execution.schedule.thresholds": "支出进度监控线", "grades": "等级", "department": "部门整体得分", "category_weights": "项目类别权重", "rounding": "舍入",
    "audit": "审核", "audit.tolerance": "审核容差", "department_weights": "部门整体权重", "sources": "依据", "execution": "预算执行", "execution.schedule": "支出进度监控",
    "qualitative": "定性指标", "deadline": "时限指标", "rounding.mode": "舍入方式", "rounding.decimals": "保留小数位数",
    **{f"rounding.{part}": f"{name}舍入" for part, name in PART_NAMES.items()},
    **{f"rounding.{part}.mode": f"{name}舍入方式" for part, name in PART_NAMES.items()},
    **{f"rounding.{part}.decimals": f"{name}保留小数位数" for part, name in PART_NAMES.items()},
    "rounding.indicator.within_weight": "指标得分不超过分值",
}
CHECKPOINT_NAMES = {c: f"{m}月底" for c, m in CHECKPOINT_MONTHS.items()}


def curve_samples(curve: Curve) -> str:
    """A curve as a few sample points: `r 0.5→0.5；0.8→0.8；1→1 …`."""
    return "；".join(f"{x:g}→{curve(x):.4g}" for x in SAMPLE_R)


def curve_words(curve: Curve) -> str:
    return f"{curve.describe()}（取样 r→比例：{curve_samples(curve)}）"


def grades_words(rules: RuleSet) -> str:
    return "；".join(f"{g.grade} ≥ {g.min:g}" for g in rules.grades)


def rounding_words(rules: RuleSet) -> str:
    parts = []
    for part, name in PART_NAMES.items():
        mode, decimals = rules.rounding.of(part)  # type: ignore[arg-type]
        places = "取整数" if decimals == 0 else f"保留 {decimals} 位小数"
        held = "，不超过分值" if part == "indicator" and rules.rounding.indicator.within_weight else ""
        parts.append(f"{name}{ROUND_MODES[mode]}{places}{held}")
    return "；".join(parts)


def thresholds_words(rules: RuleSet) -> str:
    lines = rules.execution.schedule.thresholds
    if not lines:
        return "按项目申报的支出计划（3月底、6月底、10月底）"
    given = "、".join(f"{CHECKPOINT_MONTHS[c]}月底 {v:g}%" for c, v in sorted(lines.items(), key=lambda kv: CHECKPOINT_MONTHS[kv[0]]))
    return f"{given}（其余节点按项目申报的支出计划）"


def overshoot_words(rules: RuleSet) -> str:
    o = rules.overshoot
    text = f"{OVERSHOOT_MODES[o.effective_mode]}"
    if o.effective_mode != "none":
        text += f"；正向指标 r ≥ {o.threshold:g}"
        if o.zero_threshold is not None:
            text += f"，指标值为 0 时完成值 ≥ {o.zero_threshold:g}"
    if o.effective_mode == "deduct" and o.deduct is not None:
        text += f"；扣分曲线 {curve_words(o.deduct)}"
    if o.effective_mode == "cap" and o.cap is not None:
        text += f"；超额时得分比例不超过 {o.cap:g}"
    return text


def department_words(rules: RuleSet) -> str:
    """How the department score is formed, in words."""
    if rules.department == "category":
        weights = ("、".join(f"{k} {v:g}" for k, v in rules.category_weights.items()) + "（未列出的类别不计入）"
                   if rules.category_weights else "各类别权重相同")
        return (f"按项目类别加权：类别得分 = 该类别项目总分按预算数加权平均，部门整体得分 = Σ 类别权重 × 类别得分 ÷ Σ 类别权重；"
                f"类别权重：{weights}；未填写项目类别的按“未分类”计")
    if rules.department != "parts":
        return DEPARTMENT[rules.department]
    parts = "、".join(f"{'+'.join(names)} {w:g}" for names, w in rules.department_parts())
    return (f"按部门整体权重分部分计分：{parts}；每部分得分 = 权重 × 各项目该部分得分之和 ÷ 该部分分值之和"
            "（没有的部分其权重按比例分给其余部分）")


def describe_rules(rules: RuleSet) -> list[tuple[str, str]]:
    """(项目, 内容) rows describing a rule set, for `rules show` and the 计算说明 sheet."""
    rows = [
        ("规则集", rules.name),
        ("名称", rules.title or rules.name),
        ("文件", rules.source or "（内存）"),
        ("SHA-256", rules.sha256 or "—"),
        ("满分", f"{rules.total_points:g}"),
    ]
    rows += [(f"权重·{k}", f"{v:g}") for k, v in rules.weights.items()]
    rows += [("一级指标别名", "；".join(f"{k}→{v}" for k, v in rules.aliases.items()) or "—")]
    rows += [("缺失一级指标权重转移", "；".join(f"{k}→{v}" for k, v in rules.missing_transfer.items()) or "—")]
    rows += [("权重分配", SPLIT[rules.split])]
    rows += [(f"二级指标权重·{g}", "、".join(f"{k} {v:g}" for k, v in table.items()) + "（按项目实有的二级指标按比例分配，未列出的按平均数计）")
             for g, table in rules.level2_weights.items()]
    rows += [(f"计分曲线·{OP_NAMES.get(op, op)}", curve_words(c)) for op, c in rules.curves.items()]
    rows += [("反向指标计分", REVERSE_FORMULAS[rules.reverse.formula])]
    rows += [("超额完成", overshoot_words(rules))]
    rows += [("逾期每月扣减比例", f"{rules.deadline.late_penalty_per_month:g}")]
    rows += [
        (f"定性档次·{name}", f"区间 {t.band[0]:g}–{t.band[1]:g}，默认 {t.default:g}；关键词：{'、'.join(t.words)}")
        for name, t in rules.qualitative.tiers.items()
    ]
    rows += [("执行率曲线", curve_words(rules.execution.curve))]
    rows += [("执行率封顶", "超过 100% 按 100% 计" if rules.execution.cap else "不封顶（按执行率曲线）")]
    rows += [("全年预算为 0", ZERO_BUDGET[rules.execution.zero_budget])]
    rows += [("支出进度监控线", thresholds_words(rules))]
    rows += [("支出进度容差（百分点）", f"{rules.execution.schedule.tolerance:g}")]
    rows += [("支出进度每滞后节点扣分", f"{rules.execution.schedule.points_per_checkpoint:g}")]
    rows += [("等级", grades_words(rules))]
    rows += [("部门整体得分", department_words(rules))]
    rows += [("舍入", rounding_words(rules))]
    rows += [(f"依据·{field_name(path)}", note) for path, note in rules.sources.items()]
    return rows


def field_name(path: str) -> str:
    """A dotted rule-field path in words: `weights.产出指标` → `权重·产出指标`, `*` → `整个规则集`."""
    if path == "*":
        return "整个规则集"
    if path.startswith("sources."):
        return f"依据·{field_name(path[len('sources.'):])}"
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        name = FIELD_NAMES.get(".".join(parts[:n]))
        if name is not None:
            # a curve is named as `rules show` names it (计分曲线·默认, 计分曲线·反向（≤）)
            words = OP_NAMES if parts[0] in ("curves",) else CHECKPOINT_NAMES
            rest = [words.get(p, p) for p in parts[n:]]
            return "·".join([name, *rest])
    return path


# ----------------------------------------------------------------------------- differences


def _value_words(path: str, value: Any) -> str:
    if value is None:
        return "（无）"
    if isinstance(value, dict) and set(value) == {"kind", "points"}:
        return curve_words(Curve.model_validate(value))
    if path == "grades":
        return "；".join(f"{g['grade']} ≥ {g['min']:g}" for g in value)
    if path.startswith("qualitative.tiers.") and isinstance(value, dict):
        lo, hi = value["band"]
        return f"区间 {lo:g}–{hi:g}，默认 {value['default']:g}；关键词：{'、'.join(value['words'])}"
    if path == "reverse.formula":
        return REVERSE_FORMULAS.get(value, str(value))
    if path == "overshoot.mode":
        return OVERSHOOT_MODES.get(value, str(value))
    if path == "execution.zero_budget":
        return ZERO_BUDGET.get(value, str(value))
    if path == "department":
        return DEPARTMENT.get(value, str(value))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    if path == "split":
        return SPLIT.get(value, str(value))
    if path.endswith(".mode") and path.startswith("rounding"):
        return ROUND_MODES.get(value, str(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value) or "（空）"
    return str(value)


def _leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted path → value, walking mappings but keeping curves, tiers and lists whole."""
    if isinstance(node, dict) and not node:
        return {}  # an empty mapping is the same as none
    whole_tier = prefix.startswith("qualitative.tiers.") and prefix.count(".") >= 3
    if isinstance(node, dict) and set(node) != {"kind", "points"} and not whole_tier:
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_leaves(value, f"{prefix}{key}." if prefix or key else key))
        return out
    return {prefix.rstrip("."): node}


def _resolved(rules: RuleSet) -> dict[str, Any]:
    data = rules.model_dump(mode="json", exclude={"name", "source", "sha256"})
    data["overshoot"]["mode"] = rules.overshoot.effective_mode
    for part in PART_NAMES:
        mode, decimals = rules.rounding.of(part)  # type: ignore[arg-type]
        data["rounding"][part] = {"mode": mode, "decimals": decimals}
    data["rounding"]["indicator"]["within_weight"] = rules.rounding.indicator.within_weight
    return _leaves(data)


def _diff_order(path: str) -> tuple[bool, str]:
    """Sources last; monitoring lines by month (4月底 before 6月底, 8月底, 10月底), not by name."""
    head, _, month = path.rpartition(".")
    if head == "execution.schedule.thresholds" and month in CHECKPOINT_MONTHS:
        path = f"{head}.{CHECKPOINT_MONTHS[month]:02d}"
    return path.split(".")[0] == "sources", path


def rule_differences(a: RuleSet, b: RuleSet) -> list[tuple[str, str, str]]:
    """Every field whose resolved value differs between `a` and `b`: (字段, A, B), in words.

    Rounding is compared as used per part (indicator/execution/total), the overshoot mode as in
    effect; title, description and sources are compared like any field.
    """
    left, right = _resolved(a), _resolved(b)
    out = []
    for path in sorted(set(left) | set(right), key=_diff_order):
        va, vb = left.get(path), right.get(path)
        if va != vb:
            out.append((field_name(path), _value_words(path, va), _value_words(path, vb)))
    return out


__all__ = ["curve_samples", "describe_rules", "field_name", "rule_differences"]
