"""Exported CSV text is safe where people open it; non-finite numbers never enter a rule set (issue 10 §3–4)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import polars as pl
import pytest

from selfeval.api import score, write_tables
from selfeval.errors import RuleFileError
from selfeval.rules.loader import load_rules, rules_from_mapping
from test_reference import MOF, actual_rows, declare, execution_rows

HOSTILE = ["=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-1+1", "@SUM(A1:A2)", "\tx"]


def test_csv_cells_never_start_a_formula(tmp_path: Path) -> None:
    """It should neutralise every CSV text cell that a spreadsheet would run, and keep Parquet exact."""
    decl = declare([{"target_text": "≥90%", "level3": text} for text in HOSTILE])
    actuals = actual_rows([{"seq": i, "level3": text, "actual_text": text} for i, text in enumerate(HOSTILE, start=1)])
    result = score(decl, actuals, execution_rows(), MOF)
    write_tables(result, tmp_path, "both")
    cells = 0
    for name in ("indicator_scores", "findings"):
        with open(tmp_path / f"{name}.csv", encoding="utf-8-sig", newline="") as handle:
            for row in csv.reader(handle):
                for cell in row:
                    cells += 1
                    assert cell[:1] not in ("=", "+", "@", "\t", "\r") and not (cell.startswith("-") and not _number(cell)), cell
    assert cells > 100
    parquet = pl.read_parquet(tmp_path / "indicator_scores.parquet")
    assert set(HOSTILE) - {"\tx"} <= set(parquet["actual_text"].to_list())  # exact in Parquet (texts are stripped)
    csv_frame = pl.read_csv(tmp_path / "indicator_scores.csv", infer_schema=False)
    assert set(csv_frame["actual_text"].to_list()) >= {"'" + text for text in HOSTILE if text != "\tx"}
    assert csv_frame["points"].cast(pl.Float64).equals(parquet["points"].cast(pl.Float64))  # numbers stay numbers


def _number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("field", ["weights", "overshoot", "deadline"])
def test_non_finite_numbers_are_rejected(field: str, value: float) -> None:
    """It should reject NaN and ±inf anywhere in a rule set, naming the field."""
    data = load_rules().model_dump()
    if field == "weights":
        data["weights"]["产出指标"] = value
    elif field == "overshoot":
        data["overshoot"]["threshold"] = value
    else:
        data["deadline"]["late_penalty_per_month"] = value
    with pytest.raises(RuleFileError, match=field):
        rules_from_mapping(data, source="test")


def test_non_finite_lint_setting_is_rejected(tmp_path: Path) -> None:
    """It should reject a NaN threshold in a lint configuration."""
    from selfeval.lint.config import LintConfigError, load_lint_config

    config = tmp_path / "lint.yaml"
    config.write_text("thresholds:\n  satisfaction_min: .nan\n", encoding="utf-8")
    with pytest.raises(LintConfigError):
        load_lint_config(config)


@pytest.mark.parametrize("name", ["[/x].txt", "[red]x.txt", "[bold]a[/]b.txt"])
def test_markup_in_paths_is_printed_as_text(tmp_path: Path, name: str) -> None:
    """It should print a path holding rich markup as written: no crash, exit 2 for a missing file, 0 when it works."""
    from typer.testing import CliRunner

    from selfeval.cli import app

    runner = CliRunner()
    missing = runner.invoke(app, ["parse", str(tmp_path / name)])
    assert missing.exit_code == 2, missing.output
    assert name in missing.output.replace("\n", "")
    if "/" not in name:
        source = tmp_path / name
        source.write_bytes((Path(__file__).resolve().parents[1] / "samples" / "seed_targets_2025.txt").read_bytes())
        out = tmp_path / f"{name}.xlsx"
        done = runner.invoke(app, ["template", str(source), "--out", str(out)])
        assert done.exit_code == 0, done.output
        assert out.name in done.output.replace("\n", "")


def test_own_csv_tables_read_back_unchanged(tmp_path: Path) -> None:
    """It should read its own neutralised CSV back to the text written (`=500元` stays `=500元`)."""
    from selfeval.ingest import read_actuals
    from selfeval.report.tables import write_tables as write_frames

    frame = pl.DataFrame({"project_code": ["P1", "P1"], "seq": ["1", "2"], "actual_text": ["=500元", "@x"]})
    write_frames({"actuals": frame}, tmp_path, "csv")
    assert (tmp_path / "actuals.csv").read_text(encoding="utf-8-sig").count("'=500元") == 1
    assert read_actuals(tmp_path / "actuals.csv")["actual_text"].to_list() == ["=500元", "@x"]
