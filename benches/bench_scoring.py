"""Scoring 1,000,000 indicators from Parquet: the Polars pipeline against the plain-Python reference.

    pytest benches/bench_scoring.py --benchmark-only -s

The data are `selfeval synth` output (≈ 17,600 units, ≈ 115,000 projects, ≈ 1,000,000 indicators)
written as hive-partitioned Parquet. The pipeline is timed from the Parquet files (read + score);
the reference scorer (`selfeval.reference.reference_score`, one row at a time) is timed on the
first REFERENCE_UNITS units and scaled to the full data by indicator count (set
SELFEVAL_BENCH_FULL_REFERENCE=1 to run it on everything). Printed: both times, the ratio, the
machine's load average (other processes share the 2 cores).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl
import pytest

from selfeval.api import score
from selfeval.declaration import Declaration
from selfeval.reference import reference_score
from selfeval.rules.loader import load_rules
from selfeval.synth import PARTITION, write_synth

UNITS = int(os.environ.get("SELFEVAL_BENCH_UNITS", "17600"))  # ≈ 1,000,000 indicators
REFERENCE_UNITS = UNITS if os.environ.get("SELFEVAL_BENCH_FULL_REFERENCE") else 1000
TABLES = ("units", "projects", "indicators", "actuals", "execution")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth1m")
    write_synth(folder, UNITS, seed=0)
    return folder


def read_dataset(folder: Path) -> tuple[Declaration, pl.DataFrame, pl.DataFrame]:
    tables = {t: pl.read_parquet(folder / t, hive_partitioning=True).drop(PARTITION) for t in TABLES}
    return Declaration(tables["units"], tables["projects"], tables["indicators"]), tables["actuals"], tables["execution"]


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def test_score_1m_indicators(benchmark, dataset: Path) -> None:
    """Pipeline (read Parquet + score) on ≈1M indicators vs the reference, same data, same run."""
    rules = load_rules()

    def run():
        declared, actuals, execution = read_dataset(dataset)
        return score(declared, actuals, execution, rules)

    result = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    pipeline = benchmark.stats.stats.min
    n = result.indicator_scores.height

    declared, actuals, execution = read_dataset(dataset)
    t0 = time.perf_counter()
    declared_read = read_dataset(dataset)
    read_time = time.perf_counter() - t0
    del declared_read
    codes = declared.units["unit_code"].head(REFERENCE_UNITS)
    keep = pl.col("unit_code").is_in(codes.implode())
    part = Declaration(declared.units.filter(keep), declared.projects.filter(keep), declared.indicators.filter(keep))
    ref_n = part.indicators.height
    t0 = time.perf_counter()
    reference = reference_score(part, actuals.filter(keep), execution.filter(keep), rules)
    ref_time = time.perf_counter() - t0
    scaled = ref_time * n / ref_n
    # the slice scores the same in both
    sliced = result.project_scores.filter(keep)
    assert {(r["unit_code"], r["project_code"]): r["total"] for r in sliced.iter_rows(named=True)} == {
        k: v["total"] for k, v in reference.projects.items()
    }
    benchmark.extra_info.update(
        indicators=n, pipeline_s=pipeline, read_s=read_time, reference_s=ref_time, reference_indicators=ref_n,
        reference_scaled_s=scaled, speedup=scaled / pipeline, load=os.getloadavg(),
    )
    print(
        f"\nscore {n:,} indicators from Parquet: pipeline {pipeline:.2f} s (best of 3; reading Parquet {read_time:.2f} s)"
        f"\nreference {ref_n:,} indicators in {ref_time:.2f} s → scaled to {n:,}: {scaled:.1f} s"
        f"{'' if ref_n == n else ' (timed on a slice, scaled by indicator count)'}"
        f"\nspeed-up ×{scaled / pipeline:.0f}   [{load()}, {os.cpu_count()} cores]"
    )
