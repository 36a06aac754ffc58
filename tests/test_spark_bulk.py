"""`bulk --engine spark` (issue 16): Spark hands each unit group to the one Polars pipeline, and
its output equals the local engine's row for row, for datasets of several shapes."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from spark_datasets import (
    PIPELINE_KINDS,
    synth_tables,
    with_every_finding,
    write_dataset,
)

from selfeval import schema
from selfeval.bulk import _sort_findings, score_many
from selfeval.rules.loader import available_rules, load_rules
from selfeval.spark.bulk import rules_of, rules_text
from selfeval.synth import write_synth

SORTS = {"indicator_scores": ["unit_code", "project_code", "seq"], "project_scores": ["unit_code", "project_code"]}
SMALL = ("unit_scores", "league", "grade_distribution", "findings_summary", "skipped")


@pytest.fixture(scope="module")
def spark():
    from selfeval.spark.session import spark_session

    return spark_session("local[2]")


def _large(result, name: str) -> pl.DataFrame:
    frame = getattr(result, name).collect()
    return _sort_findings(frame) if name == "findings" else frame.sort(SORTS[name], maintain_order=True)


def assert_same_run(local, spark_result) -> None:
    """Every table of the two runs equal, rows sorted the same way."""
    for name in ("indicator_scores", "project_scores", "findings"):
        assert_frame_equal(_large(local, name), _large(spark_result, name))
    for name in SMALL:
        assert_frame_equal(getattr(local, name), getattr(spark_result, name))


def test_rules_travel_to_the_executors_unchanged() -> None:
    """It should rebuild every built-in rule set from the YAML shipped to the executors, sha256 kept."""
    for name in available_rules():
        rules = load_rules(name)
        again = rules_of(rules_text(rules))
        assert again == rules and again.sha256 == rules.sha256 and again.source == rules.source


def test_one_unit_equals_local(spark, tmp_path: Path) -> None:
    """It should score a one-unit dataset exactly as the local engine does (tables in memory)."""
    write_synth(tmp_path / "one", 1, seed=3)
    local = score_many(tmp_path / "one")
    assert local.unit_scores.height == 1
    assert_same_run(local, score_many(tmp_path / "one", engine="spark"))


@pytest.mark.parametrize("shuffled", [False, True], ids=["read-on-executors", "shuffled"])
def test_holes_and_every_finding_equal_local(spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shuffled: bool) -> None:
    """It should match the local engine on groups without actuals or execution, units without
    either, and rows raising every finding kind — written to a folder partitioned by unit group,
    whether the executors read and write the groups themselves or Spark shuffles and writes them."""
    if shuffled:
        monkeypatch.setattr("selfeval.spark.groups.direct_listing", lambda *_: None)
    tables = with_every_finding(synth_tables(120, seed=5))
    data = write_dataset(tmp_path / "holes", tables, 30, missing={"actuals": {1}, "execution": {2}})
    local = score_many(data, out=tmp_path / "local")
    assert set(local.findings.collect().get_column("code")) == set(PIPELINE_KINDS)
    result = score_many(data, out=tmp_path / "spark", engine="spark")
    assert_same_run(local, result)
    groups = sorted(p.name for p in (tmp_path / "spark" / "indicator_scores").iterdir())
    assert groups == [f"unit_group={k}" for k in range(4)]
    manifest = json.loads((tmp_path / "spark" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["engine"]["name"] == "spark" and manifest["engine"]["master"] == "local[2]"
    assert manifest["rules"]["sha256"] == load_rules("mof-2020").sha256
    assert manifest["tables"]["indicator_scores"]["rows"] == local.indicator_scores.collect().height
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {p.relative_to(tmp_path / "spark").as_posix() for p in (tmp_path / "spark").rglob("*") if p.is_file()}
    assert on_disk - {"manifest.json"} == listed  # no Spark side files (_SUCCESS, .crc) left over
    # read back with the declared schemas, not Spark's
    assert result.indicator_scores.collect_schema() == schema.INDICATOR_SCORES
    assert result.project_scores.collect_schema() == schema.PROJECT_SCORES
    assert result.findings.collect_schema() == schema.FINDINGS


def test_unreadable_groups_skipped_as_local(spark, tmp_path: Path) -> None:
    """It should skip a group whose indicators are not Parquet and one whose projects are not,
    with the local engine's reasons (each group its own batch there), and score the others alike."""
    data = write_dataset(tmp_path / "d", synth_tables(40, seed=4), 10)
    (data / "indicators" / "unit_group=1" / "part-0.parquet").write_bytes(b"not parquet")
    (data / "projects" / "unit_group=2" / "part-0.parquet").write_bytes(b"PAR1")
    local = score_many(data, batch_indicators=1)
    skipped = local.skipped.get_column("path").to_list()
    assert skipped == [str(data / "indicators" / "unit_group=1"), str(data / "*" / "unit_group=2")]
    assert local.unit_scores.height == 20
    assert_same_run(local, score_many(data, out=tmp_path / "out", engine="spark"))
    assert_frame_equal(local.skipped, pl.read_parquet(tmp_path / "out" / "skipped.parquet"))


@pytest.mark.slow
def test_two_thousand_units_equal_local(spark, tmp_path: Path) -> None:
    """It should score 2,000 units in eight unit groups exactly as the local engine does."""
    data = write_dataset(tmp_path / "big", synth_tables(2000, seed=11), 250)
    local = score_many(data)
    assert local.unit_scores.height == 2000 and local.indicator_scores.collect().height > 100_000
    assert_same_run(local, score_many(data, engine="spark"))


def test_submit_job_reads_tables_and_equals_local(spark, tmp_path: Path) -> None:
    """It should score catalog tables (as Hive tables are read) with the spark-submit job and
    write what the local engine computes."""
    from selfeval.spark.job import main

    write_synth(tmp_path / "d", 4, seed=8)
    for name in ("units", "projects", "indicators", "actuals", "execution"):
        spark.read.parquet(str(tmp_path / "d" / name)).createOrReplaceTempView(f"t16_{name}")
    assert main(["--hive", "t16_{table}", "--output", str(tmp_path / "out")]) == 0
    local = score_many(tmp_path / "d")
    mine = pl.read_parquet(tmp_path / "out" / "indicator_scores" / "**" / "*.parquet", hive_partitioning=True)
    assert_frame_equal(_large(local, "indicator_scores"),
                       schema.conform(mine, schema.INDICATOR_SCORES).sort(SORTS["indicator_scores"]))
    for name, frame in (("league_table", local.league), ("unit_scores", local.unit_scores)):
        assert_frame_equal(frame, schema.conform(pl.read_parquet(tmp_path / "out" / name / "*.parquet"), frame.schema))


def test_job_output_whole_or_absent(spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """It should leave neither output nor staging folder when the job fails after writing the large
    tables, and every table with manifest.json last when it succeeds: a local folder (swapped in as
    bulk --out) and a file:// path (staged beside it and renamed in, as on HDFS)."""
    from selfeval.errors import SelfevalError
    from selfeval.spark import bulk as spark_bulk
    from selfeval.spark.job import main

    write_synth(tmp_path / "d", 4, seed=8)
    outputs = {"local": str(tmp_path / "local"), "cluster": f"file://{tmp_path / 'cluster'}"}

    def fail(*_: object) -> None:
        raise SelfevalError("模拟：大表写出之后失败")

    with monkeypatch.context() as patched:
        patched.setattr(spark_bulk, "small_tables", fail)
        for output in outputs.values():
            assert main(["--input", str(tmp_path / "d"), "--output", output]) == 2
    assert "模拟" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # no output, no staging folder
    local = score_many(tmp_path / "d")
    for kind, output in outputs.items():
        assert main(["--input", str(tmp_path / "d"), "--output", output]) == 0
        folder = tmp_path / kind
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["tables"]["unit_scores"] == 4 and manifest["rules"]["sha256"] == load_rules("mof-2020").sha256
        assert manifest["tables"]["indicator_scores"] == local.indicator_scores.collect().height
        assert_frame_equal(local.league, schema.conform(pl.read_parquet(folder / "league_table" / "*.parquet"), local.league.schema))
        assert kind == "cluster" or not list(folder.rglob("_SUCCESS"))  # Spark's markers stay on a cluster path
    assert main(["--input", str(tmp_path / "d"), "--output", outputs["cluster"]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "已存在" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
