"""Month-end spending checkpoints (支出进度监控节点): names, month numbers, labels and columns."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Month-end monitoring checkpoints: 1–11月底 (12月底 is the year's execution rate itself). An
# execution table may carry the cumulative spending of any of them (`executed_by_apr` …); the
# declaration plans 3/6/10月底 (`plan_mar` …), a rule's `thresholds` may set a line at any month.
CHECKPOINT_MONTHS: dict[str, int] = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11,
}
_MONTH_WORDS = re.compile(r"^(\d{1,2})(?:月(?:底|末)?)?$")


def checkpoint_of(key: object) -> str:
    """A checkpoint written as `apr`, 4, `4`, `4月`, `4月底` or `4月末` → `apr`."""
    text = str(key).strip().lower()
    if text in CHECKPOINT_MONTHS:
        return text
    m = _MONTH_WORDS.match(text)
    month = int(m.group(1)) if m else None
    if month == 12:
        msg = "12月底即全年执行率，由执行率曲线计分，不能设为支出进度监控节点"
        raise ValueError(msg)
    for name, number in CHECKPOINT_MONTHS.items():
        if number == month:
            return name
    msg = f"支出进度监控节点“{key}”不是 1–11 月底之一（可写 4、4月底 或 apr）"
    raise ValueError(msg)


def month_label(checkpoint: str) -> str:
    """`apr` → `4月底`."""
    return f"{CHECKPOINT_MONTHS[checkpoint]}月底"


# The declaration's spending plan (绩效目标表 3/6/10月底 支出计划) exists for these checkpoints only.
DECLARED_PLANS = ("mar", "jun", "oct")
# One column of cumulative spending per checkpoint in an execution table.
SPENT_COLUMNS = {c: f"executed_by_{c}" for c in CHECKPOINT_MONTHS}


def checked_months(thresholds: Iterable[str] = ()) -> list[str]:
    """The checkpoints a rule checks, in calendar order: the declared plans' and its own lines'."""
    return sorted({*DECLARED_PLANS, *thresholds}, key=CHECKPOINT_MONTHS.__getitem__)
