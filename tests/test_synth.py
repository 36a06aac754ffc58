"""Synthetic data (selfeval.synth): deterministic for a seed, realistic in shape and rates."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from selfeval.api import score
from selfeval.synth import PARTITION, TABLES, synth, write_synth

UNITS = 60


@pytest.fixture(scope="module")
def data():
    return synth(UNITS, seed=11)


@pytest.fixture(scope="module")
def scored(data):
    return score(data.declaration, data.actuals, data.execution)


def test_same_seed_same_data(data) -> None:
    """It should give identical tables for the same seed and different ones for another seed."""
    again = synth(UNITS, seed=11)
    for name in TABLES:
        assert_frame_equal(getattr(data, name), getattr(again, name))
    assert not synth(UNITS, seed=12).indicators.equals(data.indicators)


def test_counts_and_shape(data) -> None:
    """It should hold N units with 3–12 projects each and about 9 indicators per project, keys unique."""
    assert data.units.height == UNITS
    per_unit = data.projects.group_by("unit_code").len()["len"]
    assert per_unit.min() >= 3 and per_unit.max() <= 12 and 5 <= per_unit.mean() <= 8
    per_project = data.indicators.group_by("project_code").len()["len"]
    assert 7.5 <= per_project.mean() <= 10
    assert data.indicators.select("project_code", "seq").is_duplicated().sum() == 0
    assert data.projects["project_code"].n_unique() == data.projects.height
    groups = set(data.indicators["level1"].unique())
    assert {"产出指标", "效益指标", "满意度指标"} <= groups
    assert data.units["year"].unique().to_list() == [2025]


def test_target_mix(data) -> None:
    """It should write targets the way the seed does: ≥x%, ≤x元, x万元, counts, months, deadlines, qualitative."""
    t = data.indicators["target_text"]
    share = lambda pattern: t.str.contains(pattern).mean()  # noqa: E731
    assert share(r"^≥\d+(百分比|%)$") > 0.35
    assert share(r"^≤\d+元$") > 0.01
    assert share(r"万元$") > 0.01
    assert share(r"^≥\d+(月|年)$") > 0.01
    assert share(r"工作日$") > 0.005
    assert share(r"^2025年") > 0.02
    assert 0.05 < share(r"^[^\d]+$") < 0.25  # qualitative


def test_realistic_outcomes(data, scored) -> None:
    """It should score mostly 优/良, with some unscorable rows, overshoots and spending behind plan."""
    status = scored.indicator_scores["status"]
    assert 0.02 < (status == "unscorable").mean() < 0.12
    codes = scored.findings.group_by("code").len()
    counts = dict(codes.iter_rows())
    for code in ("MISSING_ACTUAL", "UNPARSEABLE", "UNIT_MISMATCH", "OVERSHOOT", "SCHEDULE", "MISSING_REASON"):
        assert counts.get(code, 0) > 0, code
    grades = scored.project_scores["grade"]
    assert grades.is_in(["优", "良"]).mean() > 0.7
    assert (grades == "优").mean() < 0.95
    rate = scored.project_scores["execution_rate"].drop_nulls()
    assert 0.85 < rate.mean() < 1.0
    assert data.actuals["deviation_reason"].is_not_null().mean() > 0.03
    assert data.actuals["tier"].is_not_null().sum() > 0


def test_write_synth_partitions(tmp_path: Path) -> None:
    """It should write hive partitions whose union is exactly synth(units, seed)."""
    counts = write_synth(tmp_path, 25, seed=4)
    expected = synth(25, seed=4)
    for name in TABLES:
        files = sorted((tmp_path / name).glob(f"{PARTITION}=*/part-0.parquet"))
        assert files, name
        frame = pl.read_parquet(tmp_path / name, hive_partitioning=True)
        assert frame[PARTITION].unique().to_list() == [0]
        assert_frame_equal(frame.drop(PARTITION), getattr(expected, name))
        assert counts[name] == frame.height


def test_rejects_no_units() -> None:
    """It should refuse zero units."""
    with pytest.raises(ValueError, match="at least 1"):
        synth(0)
