"""The mof-2020 rule numbers the peers use, copied by hand from scoring_rules/mof-2020.yaml.

A peer stands in for an analyst who read the rule file and wrote the numbers into their script;
it does not import selfeval (nor its YAML loader).

Simplified rules shared by `plain_python` and `duckdb_sql` (docs/scoring.md, restricted to what a
`selfeval synth` dataset holds):
- one actual row per (unit_code, project_code, seq); no level-3 check, no unit_code filling;
- level-1 → group by the alias table; unknown level-1 → not scored, no weight;
- weights: explicit when every indicator of the project has one, else group weight (satisfaction
  passes to effect when absent) split evenly per indicator (`split: per_indicator`);
- value texts: dates (`2025年`, `2025年6月`, `2025年6月30日前`, `2025-06-15`), ranges (`80%-90%`),
  quantities (`≥95%`, `≤5个工作日`, `8.9万元`, `30人次`), qualitative (no digit); anything else
  is unparseable;
- ratio ge/gt/le/lt/eq/range/deadline, linear curve clamp(r, 0, 1), qualitative tiers (tier column,
  then longest word, then actual = target), no overshoot deduction, no schedule deduction;
- points, execution points, project totals and the budget-weighted unit score rounded half up.
"""

from __future__ import annotations

GROUP_WEIGHTS = {"产出指标": 50.0, "效益指标": 30.0, "满意度指标": 10.0}
EXECUTION_WEIGHT = 10.0
ALIASES = {
    "产出指标": "产出指标",
    "效益指标": "效益指标",
    "满意度指标": "满意度指标",
    "成本指标": "产出指标",
    "产出": "产出指标",
    "效益": "效益指标",
    "满意度": "满意度指标",
    "服务对象满意度指标": "满意度指标",
    "服务对象满意度": "满意度指标",
}
MISSING_TRANSFER = {"满意度指标": "效益指标"}
LATE_PENALTY_PER_MONTH = 0.1
# tier → (band low, band high, default fraction, words); listed in the rule file's order
TIERS: dict[str, tuple[float, float, float, tuple[str, ...]]] = {
    "达成": (0.8, 1.0, 1.0, ("达成", "完成", "达到", "是", "已完成", "全部完成", "实现", "已实现", "达标", "满意", "良好", "优良", "有效")),
    "部分达成": (0.6, 0.8, 0.7, ("部分达成", "部分完成", "基本完成", "基本达成", "基本达到", "部分实现", "基本实现", "基本满意", "一般")),
    "未达成": (0.0, 0.6, 0.3, ("未达成", "未完成", "未达到", "否", "未实现", "不达标", "不满意", "无效")),
}
EQUAL_TIER = "达成"  # a qualitative actual written exactly as the target
GRADES = ((90.0, "优"), (80.0, "良"), (60.0, "中"), (0.0, "差"))
DECIMALS = 2

# Tier words, longest first; equal lengths keep the tier listed first.
TIER_WORDS: list[tuple[str, str]] = sorted(
    ((word, tier) for tier, (_, _, _, words) in TIERS.items() for word in words),
    key=lambda wt: (-len(wt[0]), list(TIERS).index(wt[1])),
)

# ---- value grammar (a subset of selfeval's: the forms people write and synth produces); the same
# patterns serve Python `re` and DuckDB (RE2), so ASCII digits only
NUMBER = r"[0-9]+(?:\.[0-9]+)?"
DATE = r"^((?:19|20)[0-9]{2})(?:年(?:([0-9]{1,2})月(?:([0-9]{1,2})日)?)?(?:之前|以前|前)?|-([0-9]{1,2})-([0-9]{1,2}))$"
RANGE = rf"^({NUMBER})(%|百分比)?[-~至]({NUMBER})(%|百分比)$"
HAN = "\u4e00-\u9fff"  # the characters themselves, not escapes (RE2 has no \u)
QUANTITY = rf"^(≥|≤|>|<|=)?({NUMBER})(万|亿)?(%|[{HAN}]+)?$"
OPERATORS = {"≥": "ge", "≤": "le", ">": "gt", "<": "lt", "=": "eq", None: "eq", "": "eq"}
DIGIT = "[0-9]"
MULTIPLIERS = {"万": 1e4, "亿": 1e8}
# unit as written → (unit, dimension, factor to the unit); durations in days; any other word is a
# count unit compared as written. A number without a unit takes the other side's unit.
UNITS: dict[str, tuple[str, str, float]] = {
    "%": ("%", "percent", 1.0),
    "百分比": ("%", "percent", 1.0),
    "元": ("元", "money", 1.0),
    "天": ("天", "duration", 1.0),
    "日": ("天", "duration", 1.0),
    "工作日": ("天", "duration", 1.0),
    "个工作日": ("天", "duration", 1.0),
    "周": ("天", "duration", 7.0),
    "月": ("天", "duration", 30.0),
    "个月": ("天", "duration", 30.0),
    "年": ("天", "duration", 365.0),
}
