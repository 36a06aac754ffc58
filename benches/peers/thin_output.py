"""What the result table alone costs: a thin scorer that builds selfeval's indicator_scores columns
with as little per-row work as we (and a cold reviewer) found, and simplified rules.

    python -m benches.peers.thin_output DATASET      # from the repository root: timings, best of 5

The lower bound (`benches.peers.lower_bound`) reads a few columns and sums them; selfeval must
also return one row per indicator with its parsed values, weight, points and explanation
(schema INDICATOR_SCORES: 32 columns, 21 of them texts). This peer does only that: the columns
the table shows read, the actuals left-joined on their three keys (faster than keying by runs
here), one number per distinct case, each distinct value text parsed once by selfeval's grammar,
the parsed case columns gathered to the rows, a weight per (project, group) and one explanation
per distinct (case, weight) numbered by integer keys in numpy, then per-project sums. It applies
none of the checks (units, tiers, directions, keys, overrides), writes no findings, scores no
execution, and takes a project's rows to be consecutive (selfeval can't), so it is a low estimate
of what returning this table costs with selfeval's grammar; `bench_peers.py` times it beside
`selfeval.score()` and the lower bound.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

if not __package__:  # run as a file: make `benches.peers` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from selfeval.expressions import num_text, numbered
from selfeval.grammar import parse_frame
from selfeval.schema import INDICATOR_SCORES

KEYS = ["unit_code", "project_code", "seq"]
# the columns the result table shows (nothing else is read)
INDICATOR_COLUMNS = [*KEYS[:2], "indicator_id", "seq", "level1", "level2", "level3", "target_text"]
ACTUAL_COLUMNS = [*KEYS, "actual_text", "deviation_reason", "tier", "fraction"]
CASE_KEYS = ["target_text", "actual_text", "tier", "fraction", "level1"]
FIELDS = ("op", "value", "value_hi", "deadline", "unit", "dimension", "error", "scale", "unit_text", "op_written")
# the parsed case columns the result table shows for every indicator
CASE_OUTPUT = ["level1_group", "target_op", "target_value", "target_value_hi", "target_unit", "target_dimension",
               "target_deadline", "actual_op", "actual_value", "actual_unit", "actual_dimension", "actual_deadline",
               "ratio", "_fraction", "_group", "_group_weight"]
GROUP_WEIGHT = {"产出": 50.0, "效益": 30.0, "满意": 10.0}
GROUPS = ["产出", "效益", "满意", "成本", "服务"]
YEAR = 2025


def _cases(cases: pl.DataFrame) -> pl.DataFrame:
    """Each distinct case with its target and actual parsed (each distinct text once), ratio and fraction."""
    texts = pl.concat([cases.select(pl.col(side).alias("_text")) for side in ("target_text", "actual_text")]).unique()
    parsed = pl.concat([texts, parse_frame(texts, "_text", YEAR)], how="horizontal")
    frame = cases.lazy()
    for side in ("target", "actual"):
        names = {"_text": f"{side}_text", **{f: f"{side}_{f}" for f in FIELDS}}
        frame = frame.join(parsed.lazy().rename(names), on=f"{side}_text", how="left", nulls_equal=True, maintain_order="left")
    group = pl.col("level1").str.slice(0, 2)
    return frame.with_columns(
        (pl.col("actual_value") / pl.col("target_value")).alias("ratio"),
        group.alias("level1_group"),
        group.replace_strict(GROUP_WEIGHT, default=10.0, return_dtype=pl.Float64).alias("_group_weight"),
        group.replace_strict(GROUPS, list(range(len(GROUPS))), default=len(GROUPS), return_dtype=pl.Int64).fill_null(len(GROUPS)).alias("_group"),
    ).with_columns(
        pl.coalesce(pl.col("fraction"), pl.col("ratio").clip(0.0, 1.0)).alias("_fraction")
    ).collect(engine="in-memory")


def _dense_numbers(key: np.ndarray, domain: int) -> tuple[pl.Series, pl.Series]:
    """(number of each row's key, 0…n-1 in key order; first row of each number) for integer keys < domain."""
    present = np.zeros(domain, dtype=bool)
    present[key] = True
    rank = np.cumsum(present, dtype=np.int64) - 1
    first = np.empty(domain, dtype=np.int64)
    first[key[::-1]] = np.arange(key.size - 1, -1, -1)
    return pl.Series(rank[key]), pl.Series(first[present])


def thin_scores(indicators: pl.DataFrame, actuals: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(one row per indicator with the result table's columns, per-project sums)."""
    rows = indicators.join(actuals, on=KEYS, how="left", maintain_order="left")
    case, first = numbered(rows, CASE_KEYS, "_case")
    cases = _cases(rows.select(CASE_KEYS)[first])
    rows = rows.with_columns(case, *cases.select(pl.col(CASE_OUTPUT).gather(case)).get_columns()).with_columns(
        pl.col("target_op").alias("direction"), pl.lit("指标值写明").alias("direction_source")
    )
    project = rows.select(pl.struct("unit_code", "project_code").rle_id()).to_series().to_numpy().astype(np.int64)
    cell = project * (len(GROUPS) + 1) + rows.get_column("_group").to_numpy()
    in_cell = np.bincount(cell)[cell]  # indicators of the row's (project, group)
    rows = rows.with_columns(pl.Series("_pid", project), pl.Series("_n", in_cell)).with_columns(
        (pl.col("_group_weight") / pl.col("_n")).alias("weight")
    ).with_columns(
        (pl.col("weight") * pl.col("_fraction")).round(2).alias("points"),
        pl.col("_fraction").alias("fraction"),
        pl.when(pl.col("_fraction").is_null()).then(pl.lit("unscorable")).otherwise(pl.lit("scored")).alias("status"),
    )
    # a weight is the group's divided by the indicators in its cell: (case, count) numbers the pairs
    most = int(in_cell.max(initial=0)) + 1
    pair, first_of_pair = _dense_numbers(case.to_numpy().astype(np.int64) * most + in_cell, cases.height * most)
    # every row explained, as selfeval's are (an empty part would make the whole sentence null)
    parts = [pl.col("actual_text"), pl.col("target_text"), num_text(pl.col("ratio")), num_text(pl.col("weight")),
             num_text(pl.col("_fraction")), num_text(pl.col("points"), 2)]
    explained = rows.select("actual_text", "target_text", "ratio", "weight", "_fraction", "points")[first_of_pair].select(
        pl.format("{} 对比指标值 {}：r = {} → {} × {} = {}", *(part.fill_null("—") for part in parts))
    ).to_series()
    rows = rows.with_columns(explained.gather(pair).alias("explain"), pl.col("points").alias("rule_points"))
    projects = rows.group_by("_pid").agg(pl.col("unit_code").first(), pl.col("project_code").first(), pl.col("points").sum(), pl.len())
    # exactly the result table's columns and dtypes (one this peer failed to build would raise here)
    return rows.select(INDICATOR_SCORES.names()).match_to_schema(INDICATOR_SCORES), projects


def read(dataset: str | Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The synth dataset's indicators and actuals: the columns the result table shows."""
    dataset = Path(dataset)
    scans = [
        pl.scan_parquet(dataset / table / "**" / "*.parquet", hive_partitioning=True).select(columns)
        for table, columns in (("indicators", INDICATOR_COLUMNS), ("actuals", ACTUAL_COLUMNS))
    ]
    indicators, actuals = pl.collect_all(scans)
    return indicators, actuals


def thin_output(dataset: str | Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read + thin scoring of a synth dataset."""
    return thin_scores(*read(dataset))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m benches.peers.thin_output DATASET", file=sys.stderr)
        return 2
    frames = read(args[0])
    best = {"read + thin scoring": float("inf"), "thin scoring (frames)": float("inf")}
    for _ in range(5):
        start = time.perf_counter()
        rows, _ = thin_output(args[0])
        best["read + thin scoring"] = min(best["read + thin scoring"], time.perf_counter() - start)
        start = time.perf_counter()
        thin_scores(*frames)
        best["thin scoring (frames)"] = min(best["thin scoring (frames)"], time.perf_counter() - start)
    for label, seconds in best.items():
        print(f"{label}: {seconds:.3f} s ({rows.height} rows × {rows.width} columns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
