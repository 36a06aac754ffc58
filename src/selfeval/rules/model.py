"""Pydantic models of a scoring rule file (SPEC.md §5). Every parameter is declared once here."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from selfeval.checkpoints import CHECKPOINT_MONTHS, checkpoint_of

LEVEL1_GROUPS = ("产出指标", "效益指标", "满意度指标")
EXECUTION_KEY = "预算执行率"
UNCATEGORISED = "未分类"  # the project category of a project that states none
QUANT_OPS = ("ge", "gt", "le", "lt", "eq", "range", "deadline")


class _Strict(BaseModel):
    # NaN and ±inf are never a weight, threshold or setting (a NaN weight once graded blank totals 优)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Curve(_Strict):
    """A piecewise curve from ratio r to a fraction of the weight.

    linear: joined linearly, flat beyond both ends. step: the fraction of the last point whose
    r is ≤ the input (0 below the first point).
    """

    kind: Literal["linear", "step"] = "linear"
    points: list[tuple[float, float]] = Field(default=[(0.0, 0.0), (1.0, 1.0)], min_length=1)

    @field_validator("points")
    @classmethod
    def _increasing(cls, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        xs = [x for x, _ in points]
        if any(b <= a for a, b in zip(xs, xs[1:])):
            msg = "曲线各点的 r 必须严格递增"
            raise ValueError(msg)
        if any(not 0.0 <= y <= 1.0 for _, y in points):
            msg = "曲线的得分比例必须在 0 到 1 之间"
            raise ValueError(msg)
        return points

    def __call__(self, r: float) -> float:
        """Evaluate at one r (plain Python; used by the reference and for display)."""
        pts = self.points
        if self.kind == "step":
            out = 0.0
            for x, y in pts:
                if r >= x:
                    out = y
            return out
        if r <= pts[0][0]:
            return pts[0][1]
        if r >= pts[-1][0]:
            return pts[-1][1]
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            if x0 <= r <= x1:
                return y0 + (y1 - y0) * (r - x0) / (x1 - x0)
        return pts[-1][1]  # unreachable

    def describe(self) -> str:
        joined = "，".join(f"({x:g}, {y:g})" for x, y in self.points)
        return f"{'线性' if self.kind == 'linear' else '阶梯'}：{joined}"


OvershootMode = Literal["none", "explain", "deduct", "cap"]


class Overshoot(_Strict):
    """完成值高于指标值较多: for ge/gt targets with r ≥ threshold (or a ≥ zero_threshold when t = 0).

    mode: `explain` (default, today's rule): an OVERSHOOT finding and a deviation reason is
    required, points unchanged; `none`: overshoot is not looked at (no finding, no reason);
    `deduct`: as explain, minus `deduct(r)` of the weight; `cap`: as explain, the fraction earned
    is at most `cap`. A file that gives `deduct` without a mode means `deduct`.
    """

    mode: OvershootMode | None = None
    threshold: float = Field(default=1.5, gt=1.0)
    # A ge/gt target of 0 has r = 1 whatever the actual; it overshoots when the actual (in the
    # target's base unit) reaches this value. None: a zero target never overshoots (default).
    zero_threshold: float | None = Field(default=None, gt=0.0)
    # Fraction of the weight deducted as a function of r; None = no deduction (default).
    deduct: Curve | None = None
    # Highest fraction of the weight an overshooting row earns (mode cap).
    cap: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _mode_fields(self) -> Overshoot:
        mode = self.effective_mode
        if mode == "deduct" and self.deduct is None:
            msg = "mode 为 deduct 时须给出扣分曲线 deduct"
            raise ValueError(msg)
        if mode == "cap" and self.cap is None:
            msg = "mode 为 cap 时须给出得分上限比例 cap（0–1）"
            raise ValueError(msg)
        return self

    @property
    def effective_mode(self) -> str:
        if self.mode is not None:
            return self.mode
        return "deduct" if self.deduct is not None else "explain"


class Reverse(_Strict):
    """反向指标 (le/lt targets, smaller is better), a over the target t.

    ratio (default): r = 1 when a ≤ t, else t / a. deviation (the published formula):
    a ≤ t → 1; t < a < 2t → 1 − (a − t)/t; a ≥ 2t → 0. t = 0 and a > 0 gives 0 in both.
    """

    formula: Literal["ratio", "deviation"] = "ratio"


class Deadline(_Strict):
    late_penalty_per_month: float = Field(default=0.1, ge=0.0, le=1.0)


class Tier(_Strict):
    """One qualitative tier: its band of fractions, default fraction and the words naming it."""

    band: tuple[float, float]
    default: float
    words: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _default_in_band(self) -> Tier:
        lo, hi = self.band
        if not 0.0 <= lo <= hi <= 1.0:
            msg = f"档次区间 {self.band} 无效：须满足 0 ≤ 下限 ≤ 上限 ≤ 1"
            raise ValueError(msg)
        if not lo <= self.default <= hi:
            msg = f"默认比例 {self.default} 不在档次区间 {self.band} 内"
            raise ValueError(msg)
        return self


def _default_tiers() -> dict[str, Tier]:
    return {
        "达成": Tier(band=(0.8, 1.0), default=1.0,
                   words=["达成", "完成", "达到", "是", "已完成", "全部完成", "实现", "已实现", "达标", "满意", "良好", "优良", "有效"]),
        "部分达成": Tier(band=(0.6, 0.8), default=0.7,
                     words=["部分达成", "部分完成", "基本完成", "基本达成", "基本达到", "部分实现", "基本实现", "基本满意", "一般"]),
        "未达成": Tier(band=(0.0, 0.6), default=0.3,
                    words=["未达成", "未完成", "未达到", "否", "未实现", "不达标", "不满意", "无效"]),
    }


def _default_negative_markers() -> list[str]:
    return ["否", "无", "没有", "未发生", "未出现", "未发现", "零", "杜绝", "不存在", "不发生"]


class Qualitative(_Strict):
    tiers: dict[str, Tier] = Field(default_factory=_default_tiers)
    # Words that open a negative target (`否`, `无安全事故`, `未发生…`): an actual of the same
    # polarity about the same thing (`未发生安全事故`) affirms it and earns the top tier.
    negative_markers: list[str] = Field(default_factory=_default_negative_markers)
    # Words of time or scope in front of a qualitative text that change nothing
    # (`全年无安全责任事故` is `无安全责任事故`); dropped before the tier words and negation are read.
    leading_words: list[str] = Field(default_factory=lambda: ["本年度内", "本年度", "年度内", "全年度", "全年", "年度",
                                                             "本年", "今年", "当年", "项目期内", "实施期内", "期内"])

    @field_validator("tiers")
    @classmethod
    def _non_empty(cls, tiers: dict[str, Tier]) -> dict[str, Tier]:
        if not tiers:
            msg = "至少需要一个定性档次"
            raise ValueError(msg)
        # adjacent bands share an end (0.6–0.8, 0.8–1); overlapping ones make a fraction ambiguous
        ordered = sorted(tiers.items(), key=lambda kv: kv[1].band)
        for (low_name, low), (high_name, high) in zip(ordered, ordered[1:]):
            if high.band[0] < low.band[1]:
                msg = (f"定性档次“{low_name}”{low.band[0]:g}–{low.band[1]:g} 与“{high_name}”"
                       f"{high.band[0]:g}–{high.band[1]:g} 的区间重叠，档内得分比例无法判定属于哪一档")
                raise ValueError(msg)
        return tiers

    @property
    def bottom_tier(self) -> str:
        """The tier with the lowest band (未达成 by default)."""
        return min(self.tiers, key=lambda name: self.tiers[name].band)

    @property
    def top_tier(self) -> str:
        """The tier with the highest band (达成 by default): no deviation reason needed."""
        return max(self.tiers, key=lambda name: self.tiers[name].band)


class Grade(_Strict):
    grade: str = Field(min_length=1)
    min: float


def _default_grades() -> list[Grade]:
    return [Grade(grade="优", min=90), Grade(grade="良", min=80), Grade(grade="中", min=60), Grade(grade="差", min=0)]


Direction = Literal["ge", "le", "eq"]


class DirectionDefaults(_Strict):
    """How a bare target value (`90%`, `5人`, `2万元`) is read when the table states no 指标方向.

    A bare value is never "exactly equal" unless a rule says so: a level-1 or level-2 named
    here takes its direction, a level-3 name containing one of `level3_words` is a cap (≤),
    everything else takes `default`.
    """

    default: Direction = "ge"
    level1: dict[str, Direction] = Field(default_factory=lambda: {"成本指标": "le"})
    level2: dict[str, Direction] = Field(default_factory=lambda: {"成本指标": "le"})
    level3_words: list[str] = Field(default_factory=list)


Checkpoint = Literal["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov"]  # CHECKPOINT_MONTHS


class Schedule(_Strict):
    """Spending behind plan at month-end checkpoints (SCHEDULE findings).

    The declared plan (3/6/10月底) is checked wherever the execution table gives that month's
    spending; `thresholds` (percent of the year budget, per month) replace the declared plan or
    add a checkpoint — a province's monitoring line (e.g. 4月底 25%, 6月底 40%, 8月底 60%, 10月底 80%).
    """

    tolerance: float = Field(default=0.0, ge=0.0, description="容差（百分点）")
    points_per_checkpoint: float = Field(default=0.0, ge=0.0, description="每个滞后节点扣减的执行率得分")
    thresholds: dict[Checkpoint, float] = Field(default_factory=dict)

    @field_validator("thresholds", mode="before")
    @classmethod
    def _months(cls, thresholds: object) -> object:
        if not isinstance(thresholds, dict):
            return thresholds
        named: dict[str, object] = {}
        for key, value in thresholds.items():
            month = checkpoint_of(key)
            if month in named:
                msg = f"支出进度监控节点 {CHECKPOINT_MONTHS[month]}月底 写了两次"
                raise ValueError(msg)
            named[month] = value
        # in calendar order, whatever order the file wrote them in
        return dict(sorted(named.items(), key=lambda kv: CHECKPOINT_MONTHS[kv[0]]))

    @field_validator("thresholds")
    @classmethod
    def _percent(cls, thresholds: dict[str, float]) -> dict[str, float]:
        bad = [f"{CHECKPOINT_MONTHS[k]}月底 {v:g}" for k, v in thresholds.items() if not 0.0 <= v <= 100.0]
        if bad:
            msg = f"支出进度阈值须在 0 到 100（百分比）之间，读到 {'、'.join(bad)}"
            raise ValueError(msg)
        return thresholds


class Execution(_Strict):
    curve: Curve = Field(default_factory=Curve)
    schedule: Schedule = Field(default_factory=Schedule)
    # True: an execution rate above 100 % is read as 100 % before the curve.
    cap: bool = False
    # A year budget of 0: `unscorable` (default, MISSING_EXECUTION), `full` or `zero` points.
    zero_budget: Literal["unscorable", "full", "zero"] = "unscorable"


class Audit(_Strict):
    """Auditing submitted self-evaluations (issue 14): how far a claimed number may differ from the rule's."""

    tolerance: float = Field(default=0.01, ge=0.0, description="得分、总分、执行率等与规则结果的容差（分或百分点）")


RoundMode = Literal["half_up", "truncate"]


class RoundStep(_Strict):
    """Rounding of one kind of points; unset fields take the rule set's `rounding` mode/decimals."""

    mode: RoundMode | None = None
    decimals: int | None = Field(default=None, ge=0, le=6)
    # Indicator points only: a score that rounds above its 分值 (12.5 full → 13 in whole points)
    # is the 分值 rounded down instead (12) — “得分最高不能超过该指标分值上限”.
    within_weight: bool = False


class Rounding(_Strict):
    """half_up (default) or truncate, to `decimals`; `indicator`, `execution` and `total` may
    each set their own (decimals 0 = whole points)."""

    decimals: int = Field(default=2, ge=0, le=6)
    mode: RoundMode = "half_up"
    indicator: RoundStep = Field(default_factory=RoundStep)
    execution: RoundStep = Field(default_factory=RoundStep)
    total: RoundStep = Field(default_factory=RoundStep)

    def of(self, part: Literal["indicator", "execution", "total"]) -> tuple[str, int]:
        """(mode, decimals) used for `part`."""
        step: RoundStep = getattr(self, part)
        return (step.mode or self.mode, self.decimals if step.decimals is None else step.decimals)


def _default_weights() -> dict[str, float]:
    return {"产出指标": 50.0, "效益指标": 30.0, "满意度指标": 10.0, EXECUTION_KEY: 10.0}


def _default_aliases() -> dict[str, str]:
    return {
        "成本指标": "产出指标",
        "产出": "产出指标",
        "效益": "效益指标",
        "满意度": "满意度指标",
        "服务对象满意度指标": "满意度指标",
        "服务对象满意度": "满意度指标",
        # names real tables print as a level-1 (docs/scoring.md §2); `X` and `X指标` match alike
        "项目完成指标": "产出指标",
        "完成指标": "产出指标",
        "项目产出指标": "产出指标",
        "项目效益指标": "效益指标",
        "效果指标": "效益指标",
        "项目效果指标": "效益指标",
        "社会效益": "效益指标",
        "经济效益": "效益指标",
        "生态效益": "效益指标",
        "可持续影响": "效益指标",
        "社会效益指标": "效益指标",
        "经济效益指标": "效益指标",
        "生态效益指标": "效益指标",
        "可持续影响指标": "效益指标",
        "满意程度": "满意度指标",
        "服务对象满意程度": "满意度指标",
        "社会公众或服务对象满意度": "满意度指标",
        "社会公众满意度": "满意度指标",
        "公众满意度": "满意度指标",
        "群众满意度": "满意度指标",
        "受益对象满意度": "满意度指标",
    }


_SOURCE_ROOTS = ("name", "title", "description", "total_points", "weights", "level2_weights", "aliases",
                 "missing_transfer", "split", "curves", "department_weights", "category_weights", "overshoot", "reverse", "deadline", "direction_defaults",
                 "qualitative", "execution", "grades", "department", "rounding", "audit")


def _known_path(path: str) -> bool:
    """A dotted path names a field of the rule set: its first part a field, the rest either keys
    of a mapping (weights.产出指标) or fields of a nested model."""
    parts = path.split(".")
    if parts[0] not in _SOURCE_ROOTS:
        return False
    model: type[BaseModel] | None = RuleSet
    for part in parts:
        if model is None:
            return True  # inside a mapping or list: any key
        field = model.model_fields.get(part)
        if field is None:
            return False
        ann = field.annotation
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return True


def inline_sources(data: Any) -> Any:
    """`source:` written inside a field (`overshoot: {threshold: 1.3, source: 鄂财绩发…}`, a tier,
    a curve, `weights`, a grade band) becomes that field's entry in `sources`; a `source:` at the
    top of the file is the whole profile's (`*`). An entry given in `sources` itself wins; a
    `source` that is not text is left in place (and rejected as an unknown field).

    The loader applies this to each file before merging it over the profile it `extends`, so a
    profile's own notes replace its parent's for the same field."""
    if not isinstance(data, dict) or not isinstance(data.get("sources", {}), dict):
        return data
    notes: dict[str, str] = {}

    def strip(node: Any, path: str) -> Any:
        if isinstance(node, list):
            return [strip(v, path) for v in node]  # a note on a list item (a grade band) is the list's
        if not isinstance(node, dict):
            return node
        if path and isinstance(node.get("source"), str):
            notes.setdefault(path, node["source"])
            node = {k: v for k, v in node.items() if k != "source"}
        return {k: strip(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()}

    out = {k: strip(v, str(k)) if k != "sources" else v for k, v in data.items() if k != "source"}
    top = data.get("source")
    if isinstance(top, str) and top.strip():
        notes.setdefault("*", top)
    elif top is not None:
        out["source"] = top
    if not notes:
        return data
    out["sources"] = {**notes, **(data.get("sources") or {})}
    return out


class RuleSet(_Strict):
    """A complete, validated scoring rule set."""

    name: str
    title: str = ""
    description: str = ""
    total_points: float = Field(default=100.0, gt=0)
    weights: dict[str, float] = Field(default_factory=_default_weights)
    aliases: dict[str, str] = Field(default_factory=_default_aliases)
    missing_transfer: dict[str, str] = Field(default_factory=lambda: {"满意度指标": "效益指标"})
    split: Literal["per_indicator", "per_level2"] = "per_indicator"
    # Fixed level-2 shares within a level-1 group (e.g. 产出指标: {数量指标: 20, 质量指标: 15, …}):
    # the group's weight is divided over the level-2 groups a project has in proportion to their
    # shares (an absent one's share goes to the others), then equally over each level-2's
    # indicators. A level-2 not listed takes the mean of the listed shares. `指标` at the end of a
    # name is optional. Groups not named here follow `split`.
    level2_weights: dict[str, dict[str, float]] = Field(default_factory=dict)
    curves: dict[str, Curve] = Field(default_factory=lambda: {"default": Curve()})
    overshoot: Overshoot = Field(default_factory=Overshoot)
    reverse: Reverse = Field(default_factory=Reverse)
    deadline: Deadline = Field(default_factory=Deadline)
    direction_defaults: DirectionDefaults = Field(default_factory=DirectionDefaults)
    qualitative: Qualitative = Field(default_factory=Qualitative)
    execution: Execution = Field(default_factory=Execution)
    grades: list[Grade] = Field(default_factory=_default_grades)
    # Department (整体) score: `budget` (default) budget-weighted mean of project totals, `mean`
    # plain mean, `parts`: Σ department_weights[part] × (points earned ÷ points available in that
    # part over all the unit's projects), parts named by level-1 group or 预算执行率, several joined
    # with `+` (e.g. `效益指标+满意度指标: 40`); a part no project has passes its weight to the others
    # in proportion. `category`: each project category's (项目类别) budget-weighted mean of totals,
    # weighed by `category_weights` (every category present weighs the same when none are given);
    # a project without a category counts as 未分类, a category with no weight is left out (a finding).
    department: Literal["budget", "mean", "parts", "category"] = "budget"
    department_weights: dict[str, float] = Field(default_factory=dict, validate_default=True)
    category_weights: dict[str, float] = Field(default_factory=dict, validate_default=True)
    rounding: Rounding = Field(default_factory=Rounding)
    audit: Audit = Field(default_factory=Audit)
    # Where each rule comes from: a dotted field path (`weights`, `overshoot.threshold`, or `*`
    # for the whole profile) → document number and clause. Shown by `rules show`, in 计算说明
    # and in each score's trace.
    sources: dict[str, str] = Field(default_factory=dict)
    # Filled in by the loader, not by the file.
    source: str = Field(default="", exclude=True)
    sha256: str = Field(default="", exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _inline_sources(cls, data: Any) -> Any:
        """Inline `source:` notes into `sources` (see `inline_sources`)."""
        return inline_sources(data)

    @field_validator("weights")
    @classmethod
    def _weights(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(weights) - set(LEVEL1_GROUPS) - {EXECUTION_KEY})
        if unknown:
            msg = f"未知的权重项 {unknown}；可用：{[*LEVEL1_GROUPS, EXECUTION_KEY]}"
            raise ValueError(msg)
        missing = [k for k in (*LEVEL1_GROUPS, EXECUTION_KEY) if k not in weights]
        if missing:
            msg = f"缺少权重项 {missing}"
            raise ValueError(msg)
        if any(v < 0 for v in weights.values()):
            msg = "权重不能为负数"
            raise ValueError(msg)
        return weights

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, aliases: dict[str, str]) -> dict[str, str]:
        bad = {k: v for k, v in aliases.items() if v not in LEVEL1_GROUPS}
        if bad:
            msg = f"别名必须指向 {list(LEVEL1_GROUPS)} 之一：{bad}"
            raise ValueError(msg)
        return aliases

    @field_validator("department_weights")
    @classmethod
    def _department_weights(cls, weights: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        if info.data.get("department") == "parts" and not any(v > 0 for v in weights.values()):
            msg = "department 为 parts 时须给出各部分权重（如 预算执行率: 20、产出指标: 40、效益指标+满意度指标: 40）"
            raise ValueError(msg)
        known = {*LEVEL1_GROUPS, EXECUTION_KEY}
        seen: list[str] = []
        for key, value in weights.items():
            parts = [p.strip() for p in key.split("+")]
            unknown = [p for p in parts if p not in known]
            if unknown:
                msg = f"部门整体权重项 {key!r} 中的 {unknown} 不是 {sorted(known)} 之一"
                raise ValueError(msg)
            if value < 0:
                msg = f"部门整体权重项 {key!r} 不能为负数"
                raise ValueError(msg)
            seen += parts
        repeated = sorted({p for p in seen if seen.count(p) > 1})
        if repeated:
            msg = f"部门整体权重中 {repeated} 出现多次"
            raise ValueError(msg)
        return weights


    @field_validator("category_weights")
    @classmethod
    def _category_weights(cls, weights: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        # a misspelt `department` is reported on its own (absent from info.data), not blamed on these weights
        if weights and "department" in info.data and info.data["department"] != "category":
            msg = ("category_weights 只在 department 为 category（按项目类别汇总）时使用；"
                   "从所扩展（extends）的规则集继承来的，可写 category_weights: {} 清除")
            raise ValueError(msg)
        bad = [f"{k} {v:g}" for k, v in weights.items() if not (v >= 0 and v < float("inf"))]
        if bad:
            msg = f"项目类别权重须为不小于 0 的数，读到 {'、'.join(bad)}"
            raise ValueError(msg)
        blank = [k for k in weights if not str(k).strip()]
        if blank:
            msg = "项目类别权重的类别名不能为空"
            raise ValueError(msg)
        if weights and not any(v > 0 for v in weights.values()):
            msg = "项目类别权重至少有一项大于 0"
            raise ValueError(msg)
        return {str(k).strip(): float(v) for k, v in weights.items()}

    def category_weight(self, category: str | None) -> float:
        """The department weight of a project category (None or blank: 未分类); 0 when it counts for nothing."""
        name = (category or "").strip() or UNCATEGORISED
        if not self.category_weights:
            return 1.0
        return self.category_weights.get(name, 0.0)

    def department_parts(self) -> list[tuple[list[str], float]]:
        """(the level-1 groups and/or 预算执行率 of each part, its weight), parts with weight > 0."""
        return [([p.strip() for p in key.split("+")], float(v)) for key, v in self.department_weights.items() if v > 0]

    @field_validator("level2_weights")
    @classmethod
    def _level2_weights(cls, shares: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        unknown = sorted(set(shares) - set(LEVEL1_GROUPS))
        if unknown:
            msg = f"二级指标权重须按一级指标 {list(LEVEL1_GROUPS)} 给出，未知：{unknown}"
            raise ValueError(msg)
        for group, table in shares.items():
            if not table:
                msg = f"{group} 的二级指标权重为空"
                raise ValueError(msg)
            if any(v < 0 for v in table.values()):
                msg = f"{group} 的二级指标权重不能为负数"
                raise ValueError(msg)
            if sum(table.values()) <= 0:
                msg = f"{group} 的二级指标权重合计须大于 0"
                raise ValueError(msg)
        return shares

    def level2_share_table(self, group: str) -> tuple[dict[str, float], float] | None:
        """(level-2 name → share, with and without a trailing 指标; the share of an unlisted level-2)
        for a group with fixed level-2 weights, else None."""
        table = self.level2_weights.get(group)
        if not table:
            return None
        names: dict[str, float] = {}
        for name, share in table.items():
            stem = name[:-2] if name.endswith("指标") else name
            names.setdefault(stem, share)
            names.setdefault(f"{stem}指标", share)
        return names, sum(table.values()) / len(table)

    @field_validator("missing_transfer")
    @classmethod
    def _transfer(cls, transfer: dict[str, str]) -> dict[str, str]:
        bad = {k: v for k, v in transfer.items() if k not in LEVEL1_GROUPS or v not in LEVEL1_GROUPS or k == v}
        if bad:
            msg = f"缺失一级指标的权重转移必须在 {list(LEVEL1_GROUPS)} 之间且不能指向自身：{bad}"
            raise ValueError(msg)
        return transfer

    @field_validator("curves")
    @classmethod
    def _curves(cls, curves: dict[str, Curve]) -> dict[str, Curve]:
        unknown = sorted(set(curves) - {"default", *QUANT_OPS})
        if unknown:
            msg = f"未知的曲线名 {unknown}；可用：default 或 {list(QUANT_OPS)}"
            raise ValueError(msg)
        if "default" not in curves:
            curves = {"default": Curve(), **curves}
        return curves

    @field_validator("grades")
    @classmethod
    def _grades(cls, grades: list[Grade]) -> list[Grade]:
        ordered = sorted(grades, key=lambda g: g.min, reverse=True)
        names = [g.grade for g in ordered]
        if len(set(names)) != len(names):
            msg = f"等级名称重复：{names}"
            raise ValueError(msg)
        mins = [g.min for g in ordered]
        if len(set(mins)) != len(mins):
            msg = f"等级下限重复：{mins}"
            raise ValueError(msg)
        if not ordered or ordered[-1].min > 0:
            msg = "等级划分必须覆盖 0 分（最低一档的 min 应为 0）"
            raise ValueError(msg)
        return ordered

    @field_validator("sources")
    @classmethod
    def _sources(cls, sources: dict[str, str]) -> dict[str, str]:
        unknown = sorted(k for k in sources if k != "*" and not _known_path(k))
        if unknown:
            msg = f"sources 中的字段路径不存在：{unknown}；请写规则字段的路径（如 weights、overshoot.threshold）或 *"
            raise ValueError(msg)
        empty = sorted(k for k, v in sources.items() if not v.strip())
        if empty:
            msg = f"sources 中的依据为空：{empty}"
            raise ValueError(msg)
        return sources

    def source_of(self, *paths: str) -> str | None:
        """The source note of the most specific of `paths` given (`overshoot.threshold`, then
        `overshoot`), else of the whole profile (`*`)."""
        for path in paths:
            parts = path.split(".")
            for n in range(len(parts), 0, -1):
                note = self.sources.get(".".join(parts[:n]))
                if note:
                    return note
        return self.sources.get("*")

    def curve_for(self, op: str) -> Curve:
        """The curve used for targets of `op` (falls back to `default`)."""
        return self.curves.get(op, self.curves["default"])

    def group_of(self, level1: str | None) -> str | None:
        """The canonical level-1 group a level-1 label belongs to (None when unknown) — docs/scoring.md §2."""
        from selfeval.level1 import level1_group_text

        return level1_group_text(level1, self)

    def grade_of(self, total: float) -> str:
        for g in self.grades:
            if total >= g.min:
                return g.grade
        return self.grades[-1].grade
