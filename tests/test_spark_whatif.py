"""`whatif --engine spark` (issue 16): every scenario of every unit group in one Spark pass, equal
to the local engine's comparison (views, migration, summary, parameters and written tables)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from spark_datasets import synth_tables, with_every_finding, write_dataset

from selfeval.whatif import whatif_dataset

SWEEP = ["weights.产出指标=40,50,55", "overshoot.threshold=1.2,1.5"]


@pytest.fixture(scope="module")
def spark():
    from selfeval.spark.session import spark_session

    return spark_session("local[2]")


@pytest.mark.parametrize("shuffled", [False, True], ids=["read-on-executors", "shuffled"])
def test_sweep_equals_local(spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shuffled: bool) -> None:
    """It should give the local engine's views (largest moves kept), counts and tables, whether the
    executors read and write the groups themselves or Spark shuffles them (as for Hive tables)."""
    if shuffled:
        monkeypatch.setattr("selfeval.spark.groups.direct_listing", lambda *_: None)
    tables = with_every_finding(synth_tables(120, seed=21))
    data = write_dataset(tmp_path / "d", tables, 30, missing={"actuals": {2}})
    local, _, _ = whatif_dataset(data, sweep=SWEEP, tables=tmp_path / "local", keep=40)
    result, files, skipped = whatif_dataset(data, sweep=SWEEP, tables=tmp_path / "spark", keep=40, engine="spark")
    assert len(result.names) == 6 and result.compared == local.compared and result.compared["projects"] > 40
    for view in ("projects", "units", "migration", "summary", "parameters"):
        assert_frame_equal(getattr(local, view), getattr(result, view))
    assert result.passes == local.passes and result.warnings == local.warnings and skipped == []
    for level, keys in (("projects", ["unit_code", "project_code"]), ("units", ["unit_code"])):
        mine = pl.read_parquet(tmp_path / "spark" / f"whatif_{level}" / "**" / "*.parquet", hive_partitioning=True)
        theirs = pl.read_parquet(tmp_path / "local" / f"whatif_{level}.parquet")
        assert_frame_equal(theirs.sort(keys), mine.drop("unit_group").sort(keys), check_dtypes=False)
        assert mine.drop("unit_group").schema == theirs.schema or set(mine.columns) - {"unit_group"} == set(theirs.columns)
    assert {p.name for p in files if p.parent == tmp_path / "spark"} == {
        "whatif_summary.parquet", "whatif_migration.parquet", "whatif_parameters.parquet"}


def test_unreadable_group_skipped_as_local(spark, tmp_path: Path) -> None:
    """It should skip a group it cannot read, with the local engine's reason, and compare the rest alike."""
    data = write_dataset(tmp_path / "d", synth_tables(40, seed=6), 10)
    (data / "execution" / "unit_group=3" / "part-0.parquet").write_bytes(b"not parquet")
    local, _, local_skipped = whatif_dataset(data, sweep=SWEEP, batch_indicators=1)
    result, _, skipped = whatif_dataset(data, sweep=SWEEP, engine="spark")
    assert skipped == local_skipped and [path for path, _ in skipped] == [str(data / "*" / "unit_group=3")]
    assert result.compared == local.compared and result.compared["units"] == 30
    for view in ("projects", "units", "migration", "summary"):
        assert_frame_equal(getattr(local, view), getattr(result, view))
