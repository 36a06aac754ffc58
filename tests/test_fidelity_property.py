"""No silent wrong score: a bare actual number means the target's unit as written (issue 12 §1)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selfeval.api import score
from selfeval.reference import reference_score
from test_reference import MOF, actual_rows, declare, execution_rows

pytestmark = pytest.mark.slow  # hypothesis: run in CI, skipped by the fast `-m "not slow"`

UNITS = ["万元", "千元", "亿元", "元", "万人次", "人次", "万株", "株", "万亩", "%", "个", "万册"]
OPS = ["≥", "≤", "", "不少于", "不超过"]
numbers = st.decimals(min_value="0.01", max_value="9999", places=2).map(lambda d: format(d.normalize(), "f"))


def _row(target: str, actual: str) -> tuple[float | None, float | None, str]:
    result = score(declare([{"target_text": target}]), actual_rows([{"seq": 1, "level3": "指标1", "actual_text": actual}]),
                   execution_rows(), MOF)
    row = result.indicator_scores.row(0, named=True)
    return row["ratio"], row["points"], row["status"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(op=st.sampled_from(OPS), unit=st.sampled_from(UNITS), target=numbers, actual=numbers)
def test_bare_actual_scores_like_the_unit_written_out(op: str, unit: str, target: str, actual: str) -> None:
    """It should score `12` against `≥11.376万元` exactly like `12万元`, in the pipeline and the reference."""
    target_text = f"{op}{target}{unit}"
    bare = _row(target_text, actual)
    written = _row(target_text, f"{actual}{unit}")
    assert bare == written
    assert bare[2] == "scored"
    decl = declare([{"target_text": target_text}])
    ref_bare = reference_score(decl, actual_rows([{"seq": 1, "level3": "指标1", "actual_text": actual}]), execution_rows(), MOF)
    ref_written = reference_score(decl, actual_rows([{"seq": 1, "level3": "指标1", "actual_text": f"{actual}{unit}"}]),
                                  execution_rows(), MOF)
    key = next(iter(ref_bare.indicators))
    assert ref_bare.indicators[key]["points"] == ref_written.indicators[key]["points"] == bare[1]
