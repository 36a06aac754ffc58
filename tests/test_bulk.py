"""Bulk scoring (selfeval.bulk): many units in one run, the same scores however the inputs are split."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from selfeval.api import score
from selfeval.bulk import score_many
from selfeval.cli import app
from selfeval.declaration import Declaration
from selfeval.ingest import write_declared
from selfeval.synth import synth, write_synth

UNITS = 12
SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture(scope="module")
def data():
    return synth(UNITS, seed=21)


def _unit(data, code: str) -> tuple[Declaration, pl.DataFrame, pl.DataFrame]:
    keep = pl.col("unit_code") == code
    decl = Declaration(data.units.filter(keep), data.projects.filter(keep), data.indicators.filter(keep))
    return decl, data.actuals.filter(keep), data.execution.filter(keep)


def write_per_unit(data, folder: Path) -> list[str]:
    """One subfolder per unit: canonical tables plus actuals/execution (csv or parquet, alternating)."""
    codes = data.units["unit_code"].to_list()
    for i, code in enumerate(codes):
        decl, actuals, execution = _unit(data, code)
        sub = folder / f"单位{code}"
        write_declared(decl, sub, "parquet" if i % 2 else "csv")
        if i % 2:
            actuals.write_parquet(sub / "actuals.parquet")
            execution.write_csv(sub / "execution.csv")
        else:
            actuals.write_csv(sub / "actuals.csv")
            execution.write_parquet(sub / "execution.parquet")
    return codes


@pytest.fixture(scope="module")
def combined(data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("combined")
    write_declared(data.declaration, folder)
    data.actuals.write_parquet(folder / "actuals.parquet")
    data.execution.write_parquet(folder / "execution.parquet")
    return score_many(folder)


def assert_same(a, b) -> None:
    """Exact equality (no float tolerance) of every result frame."""
    for name in ("unit_scores", "league", "grade_distribution", "findings_summary"):
        assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    for name in ("project_scores", "indicator_scores", "findings"):
        assert_frame_equal(getattr(a, name).collect(), getattr(b, name).collect(), check_exact=True)


def test_combined_run_matches_score(data, combined) -> None:
    """It should give exactly the scores of one `score` call over all units."""
    single = score(data.declaration, data.actuals, data.execution)
    assert_frame_equal(combined.unit_scores, single.unit_scores)
    assert_frame_equal(combined.project_scores.collect(), single.project_scores.sort("unit_code", "project_code"),
                       check_exact=True)
    assert_frame_equal(combined.indicator_scores.collect(), single.indicator_scores.sort("unit_code", "project_code", "seq"),
                       check_exact=True)
    assert combined.skipped.height == 0
    assert combined.unit_scores.height == UNITS


def test_split_into_many_files_equals_combined(data, combined, tmp_path: Path) -> None:
    """It should score per-unit folders exactly like the combined tables."""
    write_per_unit(data, tmp_path)
    split = score_many(tmp_path)
    assert split.inputs == UNITS
    assert_same(split, combined)


def test_partitioned_dataset_and_batches_equal_combined(combined, tmp_path: Path) -> None:
    """It should score a hive-partitioned dataset, in one batch or many, exactly like the tables."""
    write_synth(tmp_path / "ds", UNITS, seed=21)
    assert_same(score_many(tmp_path / "ds"), combined)
    out = tmp_path / "out"
    batched = score_many(tmp_path / "ds", out=out, fmt="both", batch_indicators=1)
    assert_same(batched, combined)
    for name in ("indicator_scores", "project_scores", "unit_scores", "findings", "league_table",
                 "grade_distribution", "findings_summary", "skipped"):
        assert (out / f"{name}.parquet").is_file() and (out / f"{name}.csv").is_file()
    assert not (out / ".selfeval-parts").exists()
    assert_frame_equal(pl.read_parquet(out / "project_scores.parquet"), combined.project_scores.collect())
    assert pl.read_parquet(out / "indicator_scores.parquet").height == combined.indicator_scores.collect().height


def test_batches_scored_side_by_side_equal_combined(combined, tmp_path: Path) -> None:
    """It should give the same tables, rows in the same order, when batches are scored at once on several threads."""
    write_synth(tmp_path / "ds", UNITS, seed=21)
    out = tmp_path / "out"
    assert_same(score_many(tmp_path / "ds", out=out, batch_indicators=1, workers=3), combined)
    assert_frame_equal(pl.read_parquet(out / "indicator_scores.parquet"), combined.indicator_scores.collect(), check_exact=True)
    assert_frame_equal(pl.read_parquet(out / "findings.parquet"), combined.findings.collect(), check_exact=True)


def test_in_memory_batches_equal_combined(data, combined, tmp_path: Path) -> None:
    """It should not depend on how units are batched."""
    write_per_unit(data, tmp_path)
    assert_same(score_many(tmp_path, batch_indicators=50), combined)


def test_bad_files_are_skipped_with_reasons(data, tmp_path: Path) -> None:
    """It should name a corrupt file and a file with a wrong column, and score every other unit."""
    codes = write_per_unit(data, tmp_path)
    corrupt = tmp_path / f"单位{codes[1]}" / "indicators.parquet"
    corrupt.write_bytes(b"PAR1 this is not a parquet file")
    wrong = tmp_path / f"单位{codes[2]}" / "actuals.csv"
    wrong.write_text(pl.read_csv(wrong).rename({"actual_text": "完成情况"}).write_csv(), encoding="utf-8")
    result = score_many(tmp_path)
    skipped = {Path(p).name: reason for p, reason in result.skipped.iter_rows()}
    assert result.skipped.height == 2
    assert set(skipped) == {"indicators.parquet", "actuals.csv"}
    assert skipped["indicators.parquet"] and skipped["actuals.csv"]
    assert any(str(tmp_path / f"单位{codes[1]}") in p for p in result.skipped["path"])
    assert sorted(result.unit_scores["unit_code"]) == sorted(set(codes) - {codes[1], codes[2]})
    expected = score(*_concat_units(data, [c for c in codes if c not in (codes[1], codes[2])]))
    assert_frame_equal(result.unit_scores, expected.unit_scores)


def _concat_units(data, codes: list[str]):
    keep = pl.col("unit_code").is_in(codes)
    decl = Declaration(data.units.filter(keep), data.projects.filter(keep), data.indicators.filter(keep))
    return decl, data.actuals.filter(keep), data.execution.filter(keep)


def test_flat_folder_of_documents_and_filled_templates(tmp_path: Path) -> None:
    """It should pair NAME.txt with its filled template NAME_填报.xlsx and score it like score()."""
    from selfeval.ingest import read_declared
    from selfeval.report.template import write_template

    doc = tmp_path / "480001.txt"
    doc.write_bytes((SAMPLES / "seed_targets_2025.txt").read_bytes())
    template = write_template(read_declared(doc), tmp_path / "480001_填报.xlsx")
    wb = openpyxl.load_workbook(template)
    actuals = {(r["project_code"], int(r["seq"])): r for r in pl.read_csv(SAMPLES / "actuals_sample.csv", infer_schema_length=0).iter_rows(named=True)}
    ws = wb["实际完成值"]
    col = {c.value: c.column for c in ws[1]}
    for row in range(2, ws.max_row + 1):
        sample = actuals[(ws.cell(row, col["项目编码"]).value, ws.cell(row, col["序号"]).value)]
        ws.cell(row, col["实际完成值"]).value = sample["actual"]
        ws.cell(row, col["偏差原因分析及改进措施"]).value = sample["deviation_reason"]
    ex = wb["预算执行"]
    ecol = {c.value: c.column for c in ex[1]}
    execution = {r["project_code"]: r for r in pl.read_csv(SAMPLES / "execution_sample.csv").iter_rows(named=True)}
    names = {"全年预算数": "year_budget", "全年执行数": "executed", "3月底累计执行数": "executed_by_mar",
             "6月底累计执行数": "executed_by_jun", "10月底累计执行数": "executed_by_oct"}
    for row in range(2, ex.max_row + 1):
        for header, name in names.items():
            ex.cell(row, ecol[header]).value = execution[ex.cell(row, ecol["项目编码"]).value][name]
    wb.save(template)
    (tmp_path / "lonely.txt").write_bytes(doc.read_bytes())  # no template: reported, not fatal
    result = score_many(tmp_path)
    expected = score(doc, SAMPLES / "actuals_sample.csv", SAMPLES / "execution_sample.csv")
    assert_frame_equal(result.unit_scores, expected.unit_scores, check_exact=True)
    assert result.unit_scores["total"].to_list() == [99.55]
    assert [Path(p).name for p in result.skipped["path"]] == ["lonely.txt"]


def test_league_and_distribution(combined) -> None:
    """It should rank units by total (ties share a rank) and count grades per level."""
    league = combined.league
    assert league["total"].is_sorted(descending=True, nulls_last=True)
    assert league["rank"][0] == 1 and league.height == UNITS
    dist = combined.grade_distribution
    assert dist.filter(pl.col("level") == "单位")["count"].sum() == UNITS
    assert dist.filter(pl.col("level") == "项目")["count"].sum() == combined.project_scores.collect().height == combined.projects
    assert combined.findings_summary["count"].sum() == combined.findings.collect().height


def test_cli_bulk_with_workbooks(tmp_path: Path) -> None:
    """It should score a synthetic dataset from the command line and write one workbook per unit."""
    runner = CliRunner()
    made = runner.invoke(app, ["synth", "--units", "3", "--seed", "5", "--out", str(tmp_path / "ds")])
    assert made.exit_code == 0, made.output
    run = runner.invoke(app, ["bulk", str(tmp_path / "ds"), "--out", str(tmp_path / "out"), "--workbooks", "-j", "1"])
    assert run.exit_code in (0, 1), run.output
    assert "单位排名" in run.output and "等级分布" in run.output
    books = sorted((tmp_path / "out" / "自评表").glob("*.xlsx"))
    assert len(books) == 3
    assert "汇总" in openpyxl.load_workbook(books[0], read_only=True).sheetnames
    assert (tmp_path / "out" / "league_table.parquet").is_file()


def test_cli_bulk_bad_rules(tmp_path: Path) -> None:
    """It should exit 2 with a clean message for an unknown rule set."""
    write_synth(tmp_path / "ds", 2, seed=1)
    run = CliRunner().invoke(app, ["bulk", str(tmp_path / "ds"), "--out", str(tmp_path / "o"), "--rules", "nope"])
    assert run.exit_code == 2


def test_large_tables_written_once_without_spill(tmp_path: Path) -> None:
    """It should write each large table straight into its one file: no spill folder, no temp file left."""
    write_synth(tmp_path / "ds", 6, seed=3)
    out = tmp_path / "out"
    result = score_many(tmp_path / "ds", out=out, fmt="both", batch_indicators=50)
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.startswith(".")], names
    for table in ("indicator_scores", "project_scores", "findings"):
        parquet = pl.read_parquet(out / f"{table}.parquet")
        csv = pl.read_csv(out / f"{table}.csv", infer_schema=False)
        assert parquet.height == csv.height > 0
    assert pl.read_parquet(out / "indicator_scores.parquet").height == result.indicator_scores.collect().height


def test_interrupted_bulk_leaves_no_partial_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should remove its temporary files when a run stops part-way (no output folder appears, nothing is left beside it)."""
    from selfeval.report.parts import TableParts

    write_synth(tmp_path / "ds", 6, seed=3)
    calls = {"n": 0}
    real = TableParts.append

    def interrupted(self, frame):
        calls["n"] += 1
        if calls["n"] == 2:  # the first table's rows are on disk when the run is stopped
            raise KeyboardInterrupt
        return real(self, frame)

    monkeypatch.setattr(TableParts, "append", interrupted)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        score_many(tmp_path / "ds", out=out, fmt="both")
    assert calls["n"] == 2
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


@pytest.mark.parametrize("seed", range(40))
def test_rows_put_in_location_order_as_a_sort_would(seed: int) -> None:
    """It should return rows in (unit, project, seq) order exactly as a stable sort does — the
    frame itself when already in order — with ties, nulls, and texts that differ only late."""
    import random

    from selfeval.bulk import _sorted_by_location

    rng = random.Random(seed)
    n = rng.randint(0, 40)
    units = ["001", "002", "01", "1", "一"] + ([None] if seed % 7 == 0 else [])
    rows = [(rng.choice(units), rng.choice(["P1", "P10", "P2", "甲"]), rng.choice([1, 2, 10] + ([None] if seed % 5 == 0 else [])), i)
            for i in range(n)]
    frame = pl.DataFrame(rows, schema={"unit_code": pl.String, "project_code": pl.String, "seq": pl.Int32, "row": pl.Int64},
                         orient="row")
    # in no order; in order; of unit only; of unit and project only (the later keys decide); in
    # the keys' reverse order, or project before unit (the earlier keys decide)
    order = [[], ["unit_code", "project_code", "seq"], ["unit_code"], ["unit_code", "project_code"],
             ["seq", "project_code", "unit_code"], ["project_code", "unit_code", "seq"]][seed % 6]
    if order:
        frame = frame.sort(order, maintain_order=True)
    expected = frame.sort("unit_code", "project_code", "seq", maintain_order=True)
    got = _sorted_by_location(frame)
    assert got.equals(expected)
    no_null_keys = frame.select("unit_code", "project_code", "seq").null_count().row(0) == (0, 0, 0)
    if frame.equals(expected) and frame.height > 1 and no_null_keys:
        assert got is frame  # already in order: returned as it is, not sorted again
