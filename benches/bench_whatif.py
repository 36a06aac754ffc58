"""What-if: 100 rule scenarios × ≈1,000,000 indicators in one pass, against separate score runs.

    pytest benches/bench_whatif.py --benchmark-only -s

The 100 scenarios sweep `weights.产出指标` from 30 to 79.5 (numeric parameters only, so one
vectorized pass). "Separate runs" times SEPARATE_RUNS full `score` calls with those rules and
scales to 100 (set SELFEVAL_BENCH_SEPARATE=100 to run all of them).
"""

from __future__ import annotations

import os
import time

import pytest

from selfeval.api import score
from selfeval.rules.loader import load_rules
from selfeval.synth import synth
from selfeval.whatif import whatif, with_field

UNITS = int(os.environ.get("SELFEVAL_BENCH_UNITS", "17600"))  # ≈ 1,000,000 indicators
SCENARIOS = 100
SEPARATE_RUNS = int(os.environ.get("SELFEVAL_BENCH_SEPARATE", "3"))
VALUES = [30 + 0.5 * i for i in range(SCENARIOS)]


@pytest.fixture(scope="module")
def data():
    return synth(UNITS, seed=0)


def test_whatif_100_scenarios(benchmark, data) -> None:
    """All 100 scenarios in one pass vs separate full runs (a few timed, scaled to 100)."""
    def run():
        return whatif(data.declaration, data.actuals, data.execution, sweep={"weights.产出指标": VALUES})

    result = benchmark.pedantic(run, rounds=1, iterations=1)
    one_pass = benchmark.stats.stats.min
    assert result.passes == 1 and len(result.names) == SCENARIOS
    base = load_rules()
    t0 = time.perf_counter()
    for value in VALUES[:SEPARATE_RUNS]:
        single = score(data.declaration, data.actuals, data.execution, with_field(base, "weights.产出指标", value))
    per_run = (time.perf_counter() - t0) / SEPARATE_RUNS
    name = result.names[SEPARATE_RUNS - 1]
    got = result.project_scores.filter(result.project_scores["scenario"] == name)["total"]
    assert got.to_list() == single.project_scores.sort("unit_code", "project_code")["total"].to_list()
    n = data.indicators.height
    benchmark.extra_info.update(
        indicators=n, scenarios=SCENARIOS, one_pass_s=one_pass, separate_run_s=per_run,
        separate_scaled_s=per_run * SCENARIOS, speedup=per_run * SCENARIOS / one_pass, load=os.getloadavg(),
    )
    print(
        f"\nwhat-if {SCENARIOS} scenarios × {n:,} indicators: one pass {one_pass:.1f} s"
        f" ({result.project_scores.height:,} project rows, {result.unit_scores.height:,} unit rows)"
        f"\nseparate score runs: {per_run:.2f} s each (timed {SEPARATE_RUNS}) → ×{SCENARIOS} = {per_run * SCENARIOS:.0f} s"
        f"\nspeed-up ×{per_run * SCENARIOS / one_pass:.0f}   [load average %.2f %.2f %.2f, {os.cpu_count()} cores]" % os.getloadavg()
    )
