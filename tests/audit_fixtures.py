"""Hand-made submitted self-evaluations for the audit tests: every number computed by hand here.

The clean project (rules mof-2020, explicit 分值 50/30/10 + 预算执行率 10):
* 产出指标 2 × 25: `≥95%` ← `95%` → 25; `≥20次` ← `18次` → 25 × 18/20 = 22.50 (reason given);
* 效益指标 30: `有效提升` ← `达成` → qualitative 达成, default 1.0 → 30;
* 满意度指标 10: `≥90%` ← `92%` → 10;
* 预算执行: 95,000 / 100,000 = 95% → 10 × 0.95 = 9.50;
* total 25 + 22.5 + 30 + 10 + 9.5 = 97.00 → 优.
"""

from __future__ import annotations

import copy
from typing import Any

CLEAN_TOTAL = 97.0


def clean_form(code: str = "13022925P00000001A", name: str = "农村人居环境整治", unit: str = "石臼窝镇人民政府本级") -> dict[str, Any]:
    """It should be a clean, hand-computed 自评表 (no finding under mof-2020)."""
    return {
        "project_code": code, "project_name": name, "department": "玉田县石臼窝镇人民政府", "unit_name": unit, "year": 2025,
        "budget": 100000.0, "year_budget": 100000.0, "executed": 95000.0,
        "fiscal": {"budget": 80000.0}, "other": {"budget": 20000.0},
        "execution_weight": 10, "execution_rate": 0.95, "execution_points": 9.5,
        "indicators": [
            {"level1": "产出指标", "level2": "质量指标", "level3": "整治达标率", "target": "≥95%", "actual": "95%",
             "weight": 25, "points": 25, "reason": None, "nature": "≥", "value": "95", "unit": "%", "direction": "正向"},
            {"level1": "产出指标", "level2": "数量指标", "level3": "清理次数", "target": "≥20次", "actual": "18次",
             "weight": 25, "points": 22.5, "reason": "汛期两次清理顺延", "nature": "≥", "value": "20", "unit": "次", "direction": "正向"},
            {"level1": "效益指标", "level2": "生态效益指标", "level3": "人居环境", "target": "有效提升", "actual": "达成",
             "weight": 30, "points": 30, "reason": None, "nature": "定性", "value": "有效提升", "unit": None, "direction": None},
            {"level1": "满意度指标", "level2": "服务对象满意度指标", "level3": "群众满意度", "target": "≥90%", "actual": "92%",
             "weight": 10, "points": 10, "reason": None, "nature": "≥", "value": "90", "unit": "%", "direction": "正向"},
        ],
        "total": CLEAN_TOTAL, "grade": "优", "full_points": 100,
    }


def changed(form: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of `form` with top-level fields changed."""
    out = copy.deepcopy(form)
    out.update(changes)
    return out


def changed_indicator(form: dict[str, Any], index: int, **changes: Any) -> dict[str, Any]:
    """A copy of `form` with indicator `index` (0-based) changed."""
    out = copy.deepcopy(form)
    out["indicators"][index].update(changes)
    return out
