"""The Spark engine (issue 16) against the local engine, and the cost of a unit group on Spark.

    pytest benches/bench_spark.py --benchmark-only -s

* `test_spark_vs_local`: `bulk` of ≈1,000,000 indicators (`synth`, ≈17,700 units in groups of
  1,000) with the local engine and with `--engine spark` on `local[2]` (session started before
  the clock; its start-up printed apart). Set SELFEVAL_BENCH_SPARK_UNITS for another size
  (177000 ≈ 10 M indicators) and SELFEVAL_BENCH_SPARK_ROUNDS for best-of-N (default 1): the
  first Spark round also starts the executors' Python workers, so best and worst are printed.
* `test_per_group_overhead`: the same 240 units as one group and as 240 groups of one unit on
  Spark, written to a folder as `bulk --out` (after a warm-up run): the difference per extra
  group is what a group costs beyond its rows (a task, reading its files, the pipeline's fixed
  cost, writing its files, the counts handed back through Arrow).

Every figure is printed with the machine's load average: on a shared machine the load says how
much of the two cores the run had.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from selfeval.bulk import score_many
from selfeval.synth import synth, write_synth

T = TypeVar("T")

UNITS = int(os.environ.get("SELFEVAL_BENCH_SPARK_UNITS", "17700"))  # ≈ 1,000,000 indicators
MASTER = os.environ.get("SELFEVAL_BENCH_SPARK_MASTER", "local[2]")
OVERHEAD_UNITS = 240
ROUNDS = int(os.environ.get("SELFEVAL_BENCH_SPARK_ROUNDS", "1"))


def _best_of(run: Callable[[], T]) -> tuple[float, T]:
    """(the fastest of ROUNDS runs in seconds, the last run's result)."""
    times, result = [], None
    for _ in range(ROUNDS):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result  # type: ignore[return-value]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


@pytest.fixture(scope="module")
def spark():
    from selfeval.spark.session import spark_session

    start = time.perf_counter()
    session = spark_session(MASTER)
    print(f"\nSpark session on {MASTER}: {time.perf_counter() - start:.1f} s to start ({_load()})")
    return session


def _grouped(folder: Path, units: int, group_units: int) -> Path:
    """`units` synth units written as a dataset in groups of `group_units`."""
    data = synth(units, seed=1).tables()
    codes = data["units"].get_column("unit_code").sort()
    group_of = pl.DataFrame({"unit_code": codes, "unit_group": pl.int_range(codes.len(), eager=True) // group_units})
    for name, frame in data.items():
        keyed = frame.join(group_of, on="unit_code", how="left")
        for (group,), part in keyed.group_by("unit_group"):
            (folder / name / f"unit_group={group}").mkdir(parents=True, exist_ok=True)
            part.drop("unit_group").write_parquet(folder / name / f"unit_group={group}" / "part-0.parquet")
    return folder


def test_spark_vs_local(benchmark, spark, tmp_path: Path) -> None:
    """bulk of ≈1 M indicators: local engine vs Spark local[2], same results."""
    counts = write_synth(tmp_path / "data", UNITS, seed=0)
    indicators = counts.get("indicators", 0)
    groups = len(list((tmp_path / "data" / "indicators").iterdir()))
    local_s, local = _best_of(lambda: score_many(tmp_path / "data", out=tmp_path / "local"))
    print(f"\nlocal engine: {indicators:,} indicators, {UNITS:,} units in {local_s:.1f} s, best of {ROUNDS} "
          f"({indicators / local_s:,.0f} indicators/s; {_load()})")

    def run() -> object:
        return score_many(tmp_path / "data", out=tmp_path / "spark", engine="spark", master=MASTER)

    result = benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    spark_s = benchmark.stats.stats.min
    assert_frame_equal(local.unit_scores, result.unit_scores)
    print(f"Spark {MASTER}: best of {ROUNDS} {spark_s:.1f} s, worst {benchmark.stats.stats.max:.1f} s; "
          f"{indicators:,} indicators in {spark_s:.1f} s ({indicators / spark_s:,.0f} indicators/s), "
          f"{groups} unit groups: {spark_s / groups:.2f} s per group of ≈{indicators // max(groups, 1):,} indicators "
          f"with 2 cores ⇒ ≈{2 * spark_s / groups:.2f} core-seconds per group; Spark/local = {spark_s / local_s:.2f} ({_load()})")


def test_per_group_overhead(benchmark, spark, tmp_path: Path) -> None:
    """What a unit group costs on Spark beyond its rows: 240 units as 1 group vs as 240 groups."""
    one = _grouped(tmp_path / "one", OVERHEAD_UNITS, OVERHEAD_UNITS)
    many = _grouped(tmp_path / "many", OVERHEAD_UNITS, 1)
    score_many(one, out=tmp_path / "warm", engine="spark", master=MASTER)  # the executors' Python started
    one_s, together = _best_of(lambda: score_many(one, out=tmp_path / "one_out", engine="spark", master=MASTER))

    def run() -> object:
        return score_many(many, out=tmp_path / "many_out", engine="spark", master=MASTER)

    apart = benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    many_s = benchmark.stats.stats.min
    assert_frame_equal(together.unit_scores, apart.unit_scores)
    per_group = (many_s - one_s) / (OVERHEAD_UNITS - 1)
    print(f"\n{OVERHEAD_UNITS} units: 1 group {one_s:.1f} s, {OVERHEAD_UNITS} groups {many_s:.1f} s ⇒ "
          f"{per_group * 1000:.0f} ms wall per extra group on 2 cores ≈ {2 * per_group * 1000:.0f} core-ms ({_load()})")


SWEEP = ["weights.产出指标=" + ",".join(str(v) for v in range(30, 80, 5)), "overshoot.threshold=1.1,1.2,1.3,1.5,2.0"]


def test_whatif_50_scenarios(benchmark, spark, tmp_path: Path) -> None:
    """what-if of 50 scenarios over ≈1 M indicators: local engine vs Spark local[2], same summary."""
    from selfeval.whatif import whatif_dataset

    counts = write_synth(tmp_path / "data", UNITS, seed=0)
    indicators = counts.get("indicators", 0)
    groups = len(list((tmp_path / "data" / "indicators").iterdir()))
    local_s, (local, _, _) = _best_of(lambda: whatif_dataset(tmp_path / "data", sweep=SWEEP, tables=tmp_path / "local"))
    cells = indicators * len(local.names)
    print(f"\nwhat-if local: {len(local.names)} scenarios × {indicators:,} indicators in {local_s:.1f} s, best of {ROUNDS} "
          f"({cells / local_s:,.0f} indicator-scenarios/s; {_load()})")

    def run() -> object:
        return whatif_dataset(tmp_path / "data", sweep=SWEEP, tables=tmp_path / "spark", engine="spark", master=MASTER)

    result, _, _ = benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    spark_s = benchmark.stats.stats.min
    assert_frame_equal(local.summary, result.summary)
    print(f"what-if Spark {MASTER}: best of {ROUNDS} {spark_s:.1f} s, worst {benchmark.stats.stats.max:.1f} s: {spark_s:.1f} s ({cells / spark_s:,.0f} indicator-scenarios/s), "
          f"{spark_s / groups:.2f} s per group ⇒ ≈{2 * spark_s / groups:.2f} core-seconds per group of "
          f"≈{indicators // max(groups, 1):,} indicators × {len(local.names)} scenarios; Spark/local = {spark_s / local_s:.2f} ({_load()})")
