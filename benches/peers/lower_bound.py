"""A lower bound for scoring a synth dataset: read the needed columns, one join, one group-by (Polars).

    python -m benches.peers.lower_bound DATASET OUT      # from the repository root

Reads the columns a scorer needs from `indicators` and `actuals` (keys, level-1, target and actual
texts, tier, fraction), left-joins actuals to indicators on (unit_code, project_code, seq) and sums
per project (indicators, actuals present, given fractions, text lengths). No rule is applied, so no
scorer reading the same Parquet can do less work; `bench_peers.py` times it as a whole process
(OUT/project_totals.parquet written) and in-process (`lower_bound(dataset)`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import polars as pl

KEYS = ["unit_code", "project_code"]
INDICATOR_COLUMNS = [*KEYS, "seq", "level1", "target_text", "weight"]
ACTUAL_COLUMNS = [*KEYS, "seq", "actual_text", "tier", "fraction"]


def scan(dataset: Path, table: str, columns: list[str]) -> pl.LazyFrame:
    return pl.scan_parquet(dataset / table / "**" / "*.parquet", hive_partitioning=True).select(columns)


def project_sums(indicators: pl.LazyFrame, actuals: pl.LazyFrame) -> pl.LazyFrame:
    """One join and one group-by: per-project sums over the joined rows."""
    return (
        indicators.join(actuals, on=[*KEYS, "seq"], how="left")
        .group_by(KEYS)
        .agg(
            pl.len().alias("indicators"),
            pl.col("actual_text").count().alias("actuals"),
            pl.col("fraction").sum(),
            (pl.col("target_text").str.len_bytes() + pl.col("actual_text").str.len_bytes()).sum().alias("text_bytes"),
            (pl.col("level1").is_not_null() & pl.col("tier").is_null()).sum().alias("untiered"),
        )
    )


def lower_bound(dataset: str | Path) -> pl.DataFrame:
    """Read + join + group-by of a synth dataset, collected."""
    dataset = Path(dataset)
    return project_sums(scan(dataset, "indicators", INDICATOR_COLUMNS), scan(dataset, "actuals", ACTUAL_COLUMNS)).collect()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m benches.peers.lower_bound DATASET OUT", file=sys.stderr)
        return 2
    start = time.perf_counter()
    out = Path(args[1])
    out.mkdir(parents=True, exist_ok=True)
    frame = lower_bound(args[0])
    frame.write_parquet(out / "project_totals.parquet")
    print(f"lower bound: {frame.height} projects in {time.perf_counter() - start:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
