"""Benchmark: auditing a folder of submitted self-evaluations (issue 14) — files/s and ms per file.

    pytest benches/bench_audit.py -s          # SELFEVAL_BENCH_AUDIT_UNITS=200 (default), one file per unit
    python benches/bench_audit.py 200         # a quick timing printed to the terminal

The submissions are `selfeval synth --submissions` (five layouts in turn, 30 % of projects with one
injected error); the figures split reading (per file, in worker processes with `workers`) from the
recompute (one vectorized pass over every row of every file), and check recall against truth.csv.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def timed_audit(folder: Path, workers: int) -> dict[str, float]:
    import polars as pl

    from selfeval.audit.api import audit_claims
    from selfeval.audit.claims import claims_of
    from selfeval.audit.read import read_files, submission_files
    from selfeval.rules.loader import load_rules

    rules = load_rules("mof-2020")
    files = submission_files(folder)
    t0 = time.perf_counter()
    read = read_files(files, workers)
    t1 = time.perf_counter()
    result = audit_claims(claims_of(read), rules)
    t2 = time.perf_counter()
    truth = pl.read_csv(folder / "truth.csv")
    missed = truth.join(result.findings.select("file", "project_code", "code").unique(), on=["file", "project_code", "code"], how="anti",
                        nulls_equal=True)
    return {"files": len(files), "projects": result.summary.height, "indicators": result.indicators.height,
            "read_s": t1 - t0, "recompute_s": t2 - t1, "total_s": t2 - t0, "missed": missed.height, "injected": truth.height}


def report(stats: dict[str, float], workers: int) -> str:
    n = stats["files"]
    return (f"workers={workers}: {n} files, {stats['projects']} projects, {stats['indicators']} indicators — "
            f"read {stats['read_s']:.2f} s ({stats['read_s'] / n * 1000:.1f} ms/file), recompute {stats['recompute_s']:.2f} s; "
            f"{stats['total_s'] / n * 1000:.1f} ms/file, {n / stats['total_s']:.1f} files/s; "
            f"missed {stats['missed']} of {stats['injected']} injected (load {os.getloadavg()[0]:.1f})")


def test_bench_audit_folder(tmp_path: Path) -> None:
    """It should audit the synthetic folder, find every injected error, and print the cost per file."""
    from selfeval.audit.synthetic import write_submissions

    units = int(os.environ.get("SELFEVAL_BENCH_AUDIT_UNITS", "200"))
    write_submissions(tmp_path, units, seed=1, error_rate=0.3)
    for workers in (1, os.cpu_count() or 1):
        stats = timed_audit(tmp_path, workers)
        print("\n" + report(stats, workers))
        assert stats["missed"] == 0


def main(units: int = 200) -> None:
    from selfeval.audit.synthetic import write_submissions

    with tempfile.TemporaryDirectory() as tmp:
        write_submissions(tmp, units, seed=1, error_rate=0.3)
        for workers in (1, os.cpu_count() or 1):
            print(report(timed_audit(Path(tmp), workers), workers))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
