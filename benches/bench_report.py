"""Benchmark: the seed end to end in-process — read → score → workbook.

    pytest benches/bench_report.py            # pytest-benchmark statistics
    python benches/bench_report.py            # a quick timing printed to the terminal
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "seed_targets_2025.txt"
ACTUALS = ROOT / "samples" / "actuals_sample.csv"
EXECUTION = ROOT / "samples" / "execution_sample.csv"
WHEN = dt.datetime(2026, 1, 15)


def seed_end_to_end(out: Path) -> Path:
    """Read the seed and the samples, score, and write the unit's workbook."""
    from selfeval.api import score
    from selfeval.ingest import read_actuals, read_declared, read_execution
    from selfeval.report.excel import write_workbook

    result = score(read_declared(SEED), read_actuals(ACTUALS), read_execution(EXECUTION))
    return write_workbook(result, out / "自评表_480001.xlsx", generated_at=WHEN)


def test_bench_seed_end_to_end(benchmark, tmp_path: Path) -> None:  # noqa: ANN001 — pytest-benchmark fixture
    """It should read, score and write the seed's workbook; the time is printed by pytest-benchmark."""
    path = benchmark(seed_end_to_end, tmp_path)
    assert path.stat().st_size > 10_000
    stats = benchmark.stats.stats
    print(f"\nseed end to end (read → score → workbook): mean {stats.mean * 1000:.1f} ms, min {stats.min * 1000:.1f} ms")


def main(rounds: int = 10) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        seed_end_to_end(Path(tmp))  # warm-up: imports, first compilation
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            seed_end_to_end(Path(tmp))
            times.append(time.perf_counter() - start)
    times.sort()
    print(f"seed end to end (read → score → workbook), {rounds} rounds: "
          f"min {times[0] * 1000:.1f} ms, median {times[len(times) // 2] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
