"""Where lazy plans are executed: one place to choose the Polars engine.

Polars 2.x runs `collect()` on its streaming engine by default; on this pipeline's string-heavy
plans that engine intermittently panics (`assertion failed: i < self.len()` in a string kernel),
so the pipeline collects in memory unless SELFEVAL_POLARS_ENGINE says otherwise
(`streaming` for larger-than-memory bulk runs, `auto` for Polars' own choice).
"""

from __future__ import annotations

import os

import polars as pl


def engine() -> str:
    return os.environ.get("SELFEVAL_POLARS_ENGINE", "in-memory")


def collect(frame: pl.LazyFrame) -> pl.DataFrame:
    """Collect a lazy frame on the configured engine."""
    return frame.collect(engine=engine())  # type: ignore[arg-type]


def collect_all(frames: list[pl.LazyFrame]) -> list[pl.DataFrame]:
    """Collect several lazy frames in one call, sharing common sub-plans."""
    return pl.collect_all(frames, engine=engine())  # type: ignore[arg-type]
