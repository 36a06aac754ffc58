"""Timings of `selfeval.lint.lint`: on the seed, and on a synthetic ~10,000-project declaration.

The synthetic declaration replicates the seed's five projects with new unit and project codes
and perturbed targets (numbers shifted, some rows swapped for qualitative or placeholder
texts, some plans broken), so every check has work to do.

    python benches/bench_lint.py [--projects 10000] [--per-unit 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import polars as pl

from selfeval.declaration import Declaration
from selfeval.ingest import read_declared
from selfeval.lint import lint

SEED = Path(__file__).resolve().parents[1] / "samples" / "seed_targets_2025.txt"


def synthetic(seed: Declaration, projects: int, per_unit: int) -> Declaration:
    """`projects` projects: replicas of the seed's, `per_unit` per unit, targets perturbed."""
    n_seed = seed.projects.height
    copies = -(-projects // n_seed)
    rep = pl.DataFrame({"copy": list(range(copies))})
    proj = (
        seed.projects.with_columns(pl.int_range(pl.len()).alias("p"))
        .join(rep, how="cross")
        .with_columns((pl.col("copy") * n_seed + pl.col("p")).alias("i"))
        .filter(pl.col("i") < projects)
        .with_columns(
            (pl.col("i") // per_unit).cast(pl.String).str.zfill(6).alias("unit_code"),
            pl.concat_str([pl.lit("SYN"), pl.col("i").cast(pl.String).str.zfill(8)]).alias("project_code"),
            # every 97th project: plan not ending at 100; every 89th: funds not adding up
            pl.when(pl.col("i") % 97 == 0).then(90.0).otherwise(pl.col("plan_dec")).alias("plan_dec"),
            pl.when(pl.col("i") % 89 == 0).then(pl.col("budget") + 1000).otherwise(pl.col("budget")).alias("budget"),
        )
    )
    codes = proj.select("unit_code", "project_code", "i", seed_code=seed.projects["project_code"].gather(proj["p"]))
    ind = seed.indicators.join(codes, left_on="project_code", right_on="seed_code").with_columns(
        pl.col("unit_code_right").alias("unit_code"),
        pl.col("project_code_right").alias("project_code"),
    )
    k = pl.col("i") * 13 + pl.col("seq")
    ind = ind.with_columns(
        pl.when(k % 7 == 0).then(pl.concat_str([pl.lit("≥"), (80 + k % 25).cast(pl.String), pl.lit("%")]))
        .when(k % 11 == 0).then(pl.lit("有效提升"))
        .when(k % 101 == 0).then(pl.lit("/"))
        .when(k % 103 == 0).then(pl.lit("≥120%"))
        .otherwise(pl.col("target_text"))
        .alias("target_text"),
    ).with_columns(
        pl.concat_str([pl.col("project_code"), pl.lit("-"), pl.col("seq").cast(pl.String).str.zfill(2)]).alias("indicator_id")
    ).select(seed.indicators.columns)
    units = proj.select("unit_code").unique().with_columns(pl.lit("合成单位").alias("unit_name"), pl.lit(2025, pl.Int32).alias("year"))
    return Declaration(units.select(seed.units.columns), proj.select(seed.projects.columns), ind)


def timed(label: str, decl: Declaration, repeat: int) -> None:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        findings = lint(decl)
        times.append(time.perf_counter() - start)
    counts = dict(findings.group_by("severity").len().iter_rows())
    print(
        f"{label:<34} projects={decl.projects.height:>6} indicators={decl.indicators.height:>6} "
        f"findings={findings.height:>6} {counts}  best={min(times):.3f}s  mean={sum(times) / len(times):.3f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--per-unit", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    seed = read_declared(SEED)
    timed("seed", seed, args.repeat)
    decl = synthetic(seed, args.projects, args.per_unit)
    timed(f"synthetic ({args.per_unit} projects/unit)", decl, args.repeat)
    decl = synthetic(seed, args.projects, 50)
    timed("synthetic (50 projects/unit)", decl, args.repeat)


if __name__ == "__main__":
    main()
