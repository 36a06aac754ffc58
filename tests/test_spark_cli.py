"""`selfeval bulk|whatif --engine spark` on the command line (issue 16): the same results as the
local engine, one-line errors (exit 2) for what the Spark engine cannot do, and PySpark never
loaded unless asked for."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from selfeval.cli import app
from selfeval.synth import write_synth


def _cli(*args: str, block_pyspark: bool = False) -> subprocess.CompletedProcess[str]:
    """selfeval in a fresh interpreter (PySpark made unimportable when asked)."""
    code = f"""
        import sys
        {"sys.modules['pyspark'] = None" if block_pyspark else ""}
        sys.argv = ["selfeval", *{list(args)!r}]
        from selfeval.cli import main
        main()
    """
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spark_cli") / "county"
    write_synth(folder, 12, seed=2)
    return folder


def test_without_pyspark_one_line_and_exit_2(dataset: Path, tmp_path: Path) -> None:
    """It should tell the user to install the spark extra, in one line, with exit code 2."""
    for args in (["bulk", str(dataset), "--out", str(tmp_path / "o"), "--engine", "spark"],
                 ["whatif", str(dataset), "--sweep", "weights.产出指标=40,50", "--engine", "spark"]):
        proc = _cli(*args, block_pyspark=True)
        assert proc.returncode == 2, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "pip install 'selfeval[spark]'" in lines[0]
    assert not (tmp_path / "o").exists()


def test_help_and_import_never_load_pyspark() -> None:
    """It should import selfeval and build bulk's and whatif's help without loading PySpark."""
    code = """
        import sys
        import selfeval, selfeval.cli, selfeval.bulk, selfeval.whatif, selfeval.spark.bulk, selfeval.spark.whatif
        from typer.testing import CliRunner
        from selfeval.cli import app
        for command in ("bulk", "whatif"):
            out = CliRunner().invoke(app, [command, "--help"]).output
            assert "--engine" in out and "--master" in out, out
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("pyspark", "py4j")))
    """
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(("args", "word"), [
    (["--format", "csv"], "Parquet"),
    (["--workbooks"], "--workbooks"),
])
def test_what_spark_does_not_write_is_refused(dataset: Path, tmp_path: Path, args: list[str], word: str) -> None:
    """It should refuse options the Spark engine does not support, in one line, exit 2."""
    result = CliRunner().invoke(app, ["bulk", str(dataset), "--out", str(tmp_path / "o"), "--engine", "spark", *args])
    assert result.exit_code == 2
    assert word in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_not_a_dataset_is_refused(tmp_path: Path) -> None:
    """It should refuse a folder that is not a partitioned dataset, in one line, exit 2."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("x", encoding="utf-8")
    result = CliRunner().invoke(app, ["bulk", str(tmp_path / "in"), "--out", str(tmp_path / "o"), "--engine", "spark"])
    assert result.exit_code == 2 and "分区 Parquet 数据集" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bulk_engine_spark_writes_what_local_writes(dataset: Path, tmp_path: Path) -> None:
    """It should exit as the local engine does and write the same league table and scores."""
    local = CliRunner().invoke(app, ["bulk", str(dataset), "--out", str(tmp_path / "local")])
    spark = CliRunner().invoke(app, ["bulk", str(dataset), "--out", str(tmp_path / "spark"), "--engine", "spark",
                                     "--master", "local[2]"])
    assert spark.exit_code == local.exit_code, spark.output
    for name in ("league_table", "unit_scores", "grade_distribution", "findings_summary"):
        assert_frame_equal(pl.read_parquet(tmp_path / "local" / f"{name}.parquet"), pl.read_parquet(tmp_path / "spark" / f"{name}.parquet"))
    keys = ["unit_code", "project_code"]
    theirs = pl.read_parquet(tmp_path / "local" / "project_scores.parquet")
    mine = pl.read_parquet(tmp_path / "spark" / "project_scores" / "**" / "*.parquet", hive_partitioning=True).drop("unit_group")
    assert_frame_equal(theirs.sort(keys), mine.sort(keys))


def test_unreadable_partition_is_skipped_as_local(dataset: Path, tmp_path: Path) -> None:
    """It should list an unreadable partition under 跳过的输入 and exit as the local engine does."""
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    part = next((broken / "indicators").rglob("*.parquet"))
    part.write_bytes(b"not parquet")
    local = CliRunner().invoke(app, ["bulk", str(broken), "--out", str(tmp_path / "local")])
    spark = CliRunner().invoke(app, ["bulk", str(broken), "--out", str(tmp_path / "spark"), "--engine", "spark"])
    assert spark.exit_code == local.exit_code != 0, spark.output
    assert "跳过的输入（1 个）" in spark.output and "无法读取 Parquet" in spark.output
    assert_frame_equal(pl.read_parquet(tmp_path / "local" / "skipped.parquet"), pl.read_parquet(tmp_path / "spark" / "skipped.parquet"))
