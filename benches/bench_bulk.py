"""Bulk scoring of ≈10,000,000 indicators from a hive-partitioned Parquet dataset, with peak RSS.

    pytest benches/bench_bulk.py --benchmark-only -s

`selfeval synth` writes ≈176,000 units (≈1.15M projects, ≈10M indicators) partitioned by
`unit_group` (1,000 units each). `score_many` (what `selfeval bulk` runs) then runs in a child process that reports its own
peak resident memory (VmHWM): partitions are scored in batches of
≈250,000 indicators (in memory), result parts are written as they come and merged into one
Parquet file per table by a streaming sink. Set SELFEVAL_BENCH_BULK_UNITS for another size.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from selfeval.synth import write_synth

UNITS = int(os.environ.get("SELFEVAL_BENCH_BULK_UNITS", "176000"))  # ≈ 10,000,000 indicators
# The child reports its own high-water mark (VmHWM, reset by exec). Its ru_maxrss from wait4 would
# not do: on Linux it keeps the pre-exec high-water mark, i.e. the size of this pytest process.
SCRIPT = """
import re, sys
from selfeval.bulk import score_many
r = score_many(sys.argv[1], out=sys.argv[2])
hwm = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
print(r.unit_scores.height, r.projects, r.skipped.height, hwm)
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("synth10m")
    counts = write_synth(folder, UNITS, seed=0)
    return folder, counts


def run_child(source: Path, out: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS in GiB, stdout) of `score_many` in a child process."""
    log = out.with_suffix(".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with log.open("w") as handle:
        proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(source), str(out)], stdout=handle)
        proc.wait()
    elapsed = time.perf_counter() - start
    stdout = log.read_text()
    assert proc.returncode == 0, stdout
    return elapsed, int(stdout.split()[-1]) / 1024**2, stdout


def test_bulk_10m_indicators(benchmark, dataset, tmp_path: Path) -> None:
    """Score every unit of the dataset; report time, throughput and the child's peak RSS."""
    folder, counts = dataset
    out = tmp_path / "out"
    elapsed, rss, stdout = benchmark.pedantic(run_child, args=(folder, out), rounds=1, iterations=1)
    units, projects, skipped, _ = (int(x) for x in stdout.split())
    assert units == counts["units"] and skipped == 0
    rows = pl.scan_parquet(out / "indicator_scores.parquet").select(pl.len()).collect().item()
    assert rows == counts["indicators"]
    benchmark.extra_info.update(
        indicators=rows, units=units, projects=projects, seconds=elapsed, peak_rss_gib=rss,
        indicators_per_s=rows / elapsed, load=os.getloadavg(),
    )
    print(
        f"\nbulk: {rows:,} indicators, {projects:,} projects, {units:,} units from partitioned Parquet"
        f"\n{elapsed:.1f} s ({rows / elapsed / 1e6:.2f} M indicators/s), peak RSS {rss:.2f} GiB (child process)"
        f"\n[load average %.2f %.2f %.2f, {os.cpu_count()} cores]" % os.getloadavg()
    )
