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
ROUNDS = int(os.environ.get("SELFEVAL_BENCH_ROUNDS", "3"))  # the one pass: best of ROUNDS
VALUES = [30 + 0.5 * i for i in range(SCENARIOS)]


@pytest.fixture(scope="module")
def data():
    return synth(UNITS, seed=0)


def test_whatif_100_scenarios(benchmark, data) -> None:
    """All 100 scenarios in one pass vs separate full runs (a few timed, scaled to 100)."""
    def run():
        return whatif(data.declaration, data.actuals, data.execution, sweep={"weights.产出指标": VALUES})

    result = benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
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
        f"\nwhat-if {SCENARIOS} scenarios × {n:,} indicators: one pass {one_pass:.1f} s (best of {ROUNDS})"
        f" ({result.project_scores.height:,} project rows, {result.unit_scores.height:,} unit rows)"
        f"\nseparate score runs: {per_run:.2f} s each (timed {SEPARATE_RUNS}) → ×{SCENARIOS} = {per_run * SCENARIOS:.0f} s"
        f"\nspeed-up ×{per_run * SCENARIOS / one_pass:.0f}   [load average %.2f %.2f %.2f, {os.cpu_count()} cores]" % os.getloadavg()
    )


# ----------------------------------------------------------------------------- a dataset, batch by batch

DATASET_UNITS = int(os.environ.get("SELFEVAL_BENCH_WHATIF_DATASET_UNITS", "17600"))  # 176000 ≈ 10 M indicators


def test_whatif_dataset_peak_memory(benchmark, tmp_path_factory) -> None:
    """100 scenarios over a partitioned dataset, batch by batch, in a child process: wall time and peak RSS.

    The issue's bound: 100 scenarios × 10 M indicators within 2 GB (set
    SELFEVAL_BENCH_WHATIF_DATASET_UNITS=176000; the default, 17,600 units, is ≈1 M indicators).
    """
    import subprocess
    import sys

    from selfeval.synth import write_synth

    folder = tmp_path_factory.mktemp("whatif-dataset")
    counts = write_synth(folder / "ds", DATASET_UNITS, seed=0)
    values = ",".join(f"{v:g}" for v in VALUES)
    # The child reports its own high-water mark (VmHWM, reset by exec). Its ru_maxrss from wait4
    # would not do: Linux keeps the pre-exec high-water mark, i.e. this process's (which holds the
    # 1 M-indicator what-if of the test above, ≈3 GB).
    script = (
        "import re, sys; from selfeval.whatif import whatif_dataset\n"
        "r, w, s = whatif_dataset(sys.argv[1], sweep=sys.argv[2], tables=sys.argv[3])\n"
        "hwm = int(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1))\n"
        "print(r.compared['projects'], r.compared['units'], len(r.names), hwm)"
    )

    def run() -> str:
        done = subprocess.run([sys.executable, "-c", script, str(folder / "ds"), f"weights.产出指标={values}", str(folder / "t")],
                              capture_output=True, text=True, check=True)
        return done.stdout

    out = benchmark.pedantic(run, rounds=1, iterations=1)
    projects, units, scenarios, hwm_kib = (int(x) for x in out.split())
    rss_gb = hwm_kib * 1024 / 1e9
    assert scenarios == SCENARIOS and units == DATASET_UNITS
    seconds = benchmark.stats.stats.min
    benchmark.extra_info.update(indicators=counts.get("indicators"), seconds=seconds, peak_rss_gb=rss_gb, load=os.getloadavg())
    print(
        f"\nwhat-if dataset {SCENARIOS} scenarios × {counts.get('indicators', 0):,} indicators ({projects:,} projects,"
        f" {units:,} units), batch by batch, whole process: {seconds:.1f} s, peak RSS {rss_gb:.2f} GB"
        f" (bound 2 GB)   [load average %.2f %.2f %.2f, {os.cpu_count()} cores]" % os.getloadavg()
    )
