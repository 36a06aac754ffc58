"""Peak memory of whole `selfeval` processes on large inputs (issue 10 §5), figures printed.

    pytest benches/bench_memory.py --benchmark-only -s

- `selfeval score` of the seed declaration (45 indicators) with a ≈1 GiB actuals CSV: the
  sample's 45 rows first, then ≈13 M rows of other units' indicators (`selfeval synth` actuals,
  their project codes made distinct per copy). Size: SELFEVAL_BENCH_CSV_MB (default 1024).
- `selfeval bulk` on a folder of canonical tables: the seed declaration's units/projects/indicators
  and that same ≈1 GiB actuals CSV.
- `selfeval bulk` on a `selfeval synth` dataset of ≈10 M indicators (≈176,000 units). Size:
  SELFEVAL_BENCH_MEMORY_UNITS (default 176000).

Each command runs as the console script's code in a child process (`selfeval.cli.main`) that
writes its own high-water mark of resident memory (VmHWM) when it exits; the child's
`ru_maxrss` from wait4 would not do on Linux, it keeps the pre-exec high-water mark (the size of
this pytest process). The target is a peak under 2 GiB; it is printed and stored in
`benchmark.extra_info`, and asserted only for the full sizes (SELFEVAL_BENCH_ASSERT=0 turns it off).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from selfeval.synth import synth, write_synth

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
CSV_MB = int(os.environ.get("SELFEVAL_BENCH_CSV_MB", "1024"))
UNITS = int(os.environ.get("SELFEVAL_BENCH_MEMORY_UNITS", "176000"))  # ≈ 10,000,000 indicators
TARGET_GIB = 2.0
ASSERT = os.environ.get("SELFEVAL_BENCH_ASSERT", "1") != "0"
# The console script, run in this interpreter; its peak resident memory goes to the file named
# by the first argument when it exits (normally or by typer.Exit / SystemExit).
SCRIPT = """
import atexit, re, sys
out = sys.argv.pop(1)
def report():
    hwm = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
    open(out, "w").write(str(hwm))
atexit.register(report)
sys.argv[0] = "selfeval"
from selfeval.cli import main
main()
"""


def run_cli(args: list[str], log: Path) -> tuple[float, float, int, str]:
    """(seconds, peak RSS in GiB, exit code, output) of `selfeval ARGS` in a child process."""
    hwm = log.with_suffix(".hwm")
    start = time.perf_counter()
    with log.open("w") as handle:
        proc = subprocess.run([sys.executable, "-c", SCRIPT, str(hwm), *args], stdout=handle, stderr=subprocess.STDOUT,
                              env={**os.environ, "COLUMNS": "200"}, check=False)
    elapsed = time.perf_counter() - start
    return elapsed, int(hwm.read_text()) / 1024**2, proc.returncode, log.read_text()


def measure(benchmark, args: list[str], log: Path, title: str, full_size: bool, **info: object) -> None:
    """Run `selfeval ARGS` once under the benchmark, print its time and peak RSS with the load,
    record them, and hold the peak under TARGET_GIB at the full size."""
    elapsed, rss, code, output = benchmark.pedantic(run_cli, args=(args, log), rounds=1, iterations=1)
    benchmark.extra_info.update(**info, seconds=elapsed, peak_rss_gib=rss, exit_code=code)
    print(
        f"\n{title}"
        f"\n{elapsed:.1f} s, peak RSS {rss:.2f} GiB (child process), exit {code}"
        f"\n[load average %.2f %.2f %.2f, {os.cpu_count()} cores]" % os.getloadavg()
    )
    assert code in (0, 1), output[-2000:]
    if ASSERT and full_size:
        assert rss < TARGET_GIB


@pytest.fixture(scope="module")
def big_actuals(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """(a CSV of ≈CSV_MB MiB: the sample's actuals, then copies of synth actuals, rows)."""
    folder = tmp_path_factory.mktemp("bigcsv")
    path = folder / "actuals.csv"
    columns = {"project_code": "project_code", "seq": "seq", "level3": "level3", "actual_text": "actual",
               "deviation_reason": "deviation_reason"}
    body = synth(20_000, seed=3).actuals.select(pl.col(c).alias(a) for c, a in columns.items())
    sample = pl.read_csv(SAMPLES / "actuals_sample.csv", infer_schema=False)
    target = CSV_MB * 1024**2
    rows = sample.height
    with path.open("wb") as handle:
        sample.write_csv(handle)
        copy = 0
        while handle.tell() < target:
            part = body.with_columns(pl.format("C{}-{}", pl.lit(copy), pl.col("project_code")).alias("project_code"))
            left = target - handle.tell()
            if copy == 0:
                per_row = max(1, len(part.head(1000).write_csv(include_header=False).encode()) // 1000)
            if left < len(body) * per_row:
                part = part.head(max(1, left // per_row))
            part.write_csv(handle, include_header=False)
            rows += part.height
            copy += 1
    return path, rows


def test_score_with_1gib_actuals_csv(benchmark, big_actuals, tmp_path: Path) -> None:
    """Score the seed declaration against a ≈1 GiB actuals CSV; report the child's peak RSS."""
    path, rows = big_actuals
    args = ["score", str(SAMPLES / "seed_targets_2025.txt"), "-a", str(path), "-e", str(SAMPLES / "execution_sample.csv"),
            "--out", str(tmp_path / "out")]
    size = path.stat().st_size / 1024**2
    measure(benchmark, args, tmp_path / "score.log",
            f"score: seed declaration (45 indicators), actuals CSV {size:,.0f} MiB, {rows:,} rows",
            CSV_MB >= 1024, csv_mib=size, rows=rows)


def test_bulk_tables_folder_with_1gib_actuals_csv(benchmark, big_actuals, tmp_path: Path) -> None:
    """`selfeval bulk` on a canonical-tables folder whose actuals CSV is ≈1 GiB; report the peak RSS."""
    from selfeval.ingest import read_declared
    from selfeval.ingest.tables import write_declared

    path, rows = big_actuals
    folder = tmp_path / "tables"
    write_declared(read_declared(SAMPLES / "seed_targets_2025.txt"), folder, "csv")
    (folder / "actuals.csv").symlink_to(path)
    (folder / "execution.csv").write_bytes((SAMPLES / "execution_sample.csv").read_bytes())
    args = ["bulk", str(folder), "--out", str(tmp_path / "out")]
    size = path.stat().st_size / 1024**2
    measure(benchmark, args, tmp_path / "bulk_tables.log",
            f"bulk: tables folder (seed declaration), actuals CSV {size:,.0f} MiB, {rows:,} rows",
            CSV_MB >= 1024, csv_mib=size, rows=rows)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("synth_memory")
    return folder, write_synth(folder, UNITS, seed=0)


def test_bulk_synth_dataset(benchmark, dataset, tmp_path: Path) -> None:
    """`selfeval bulk` on a ≈10 M-indicator synth dataset; report the child's peak RSS."""
    folder, counts = dataset
    args = ["bulk", str(folder), "--out", str(tmp_path / "out")]
    measure(benchmark, args, tmp_path / "bulk.log",
            f"bulk: {counts['indicators']:,} indicators, {counts['units']:,} units (synth dataset)",
            UNITS >= 176_000, indicators=counts["indicators"], units=counts["units"])
