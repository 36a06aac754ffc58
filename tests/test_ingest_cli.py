"""`selfeval parse`: summary, written tables, clean errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from selfeval import schema
from selfeval.cli import app
from selfeval.ingest import read_declared

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "seed_targets_2025.txt"
runner = CliRunner()


def test_parse_prints_summary() -> None:
    """It should print the unit, project and indicator counts, the budget total and the parse-error count."""
    result = runner.invoke(app, ["parse", str(SEED)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("480001", "2025", "179,000.00", "指标值解析错误数"):
        assert text in result.output
    line = next(line for line in result.output.splitlines() if "480001" in line)
    cells = [c.strip() for c in line.replace("│", "|").split("|") if c.strip()]
    assert cells[-4:] == ["5", "45", "179,000.00", "0"]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_parse_writes_tables(tmp_path: Path, fmt: str) -> None:
    """It should write the four canonical tables plus parsed_targets, readable back as the same declaration."""
    result = runner.invoke(app, ["parse", str(SEED), "--out", str(tmp_path), "--format", fmt])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"{n}.{fmt}" for n in [*schema.DECLARED_TABLES, "parsed_targets"])
    decl = read_declared(tmp_path)
    assert_frame_equal(decl.indicators, read_declared(SEED).indicators)
    reader = pl.read_parquet if fmt == "parquet" else pl.read_csv
    targets = reader(tmp_path / f"parsed_targets.{fmt}")
    assert targets.height == 45
    assert {"indicator_id", "seq", "target_text", "op", "value", "unit", "dimension", "error"} <= set(targets.columns)
    assert targets["error"].null_count() == 45
    assert targets.filter(pl.col("indicator_id") == "13022925P00JXC419591N-01")["value"].item() == 89000.0


def test_parse_year_option() -> None:
    """It should take --year as the declared year."""
    result = runner.invoke(app, ["parse", str(SEED), "--year", "2026"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "2026" in result.output


@pytest.mark.parametrize(
    ("content", "word"),
    [(b"", "文件为空"), (b"\x00\x01\x02binary\xff" * 50, "不是文本文件"), ("随便写的文字\n".encode(), "没有找到项目绩效目标表")],
    ids=["empty", "binary", "no-table"],
)
def test_parse_bad_input_exit_2(tmp_path: Path, content: bytes, word: str) -> None:
    """It should print a one-line Chinese error naming the file and exit 2, without a traceback."""
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    result = runner.invoke(app, ["parse", str(path)], env={"COLUMNS": "400"})
    assert result.exit_code == 2
    assert "错误" in result.output and word in result.output and "bad.txt" in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_python_dash_m_help() -> None:
    """It should run as `python -m selfeval parse --help`."""
    done = subprocess.run([sys.executable, "-m", "selfeval", "parse", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "--year" in done.stdout and "--format" in done.stdout
