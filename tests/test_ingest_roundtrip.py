"""Every declared-table format reads back to frames equal to the text-dump parse."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from docx_builder import build_docx
from polars.testing import assert_frame_equal

from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.ingest import read_declared, write_declared, write_declared_xlsx

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "seed_targets_2025.txt"
VARIANT = Path(__file__).resolve().parent / "fixtures" / "ingest" / "variant_unit.txt"


@pytest.fixture(scope="module", params=[SEED, VARIANT], ids=["seed", "variant"])
def declared(request: pytest.FixtureRequest) -> Declaration:
    return read_declared(request.param)


def assert_same(left: Declaration, right: Declaration) -> None:
    for name, frame in left.tables().items():
        assert_frame_equal(frame, right.tables()[name], check_exact=True)


def test_docx_round_trip(declared: Declaration, tmp_path: Path) -> None:
    """It should parse a Word version of the document (real tables, merged 一级 cells) like the text dump."""
    path = build_docx(Path(declared.sources[0]).read_text(encoding="utf-8"), tmp_path / "targets.docx")
    assert_same(read_declared(path), declared)


def test_docx_repeated_merged_text(declared: Declaration, tmp_path: Path) -> None:
    """It should treat a 一级指标 written again on every row like a merged cell."""
    dump = Path(declared.sources[0]).read_text(encoding="utf-8")
    path = build_docx(dump, tmp_path / "repeated.docx", repeat_merged=True)
    assert_same(read_declared(path), declared)


def test_docx_has_merged_cells(tmp_path: Path) -> None:
    """It should build its docx fixture with vertically merged 一级指标 cells (so the test means something)."""
    import docx

    path = build_docx(SEED.read_text(encoding="utf-8"), tmp_path / "seed.docx")
    merges = [tc.vMerge for t in docx.Document(str(path)).tables for tr in t._tbl.tr_lst for tc in tr.tc_lst]
    assert merges.count("continue") == 5 * 6  # 产出 3 + 效益 3 continuation rows per project


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_folder_round_trip(declared: Declaration, tmp_path: Path, fmt: str) -> None:
    """It should write the canonical tables to a folder and read the folder back unchanged."""
    written = write_declared(declared, tmp_path / "out", fmt)
    assert sorted(p.name for p in written) == sorted(f"{n}.{fmt}" for n in schema.DECLARED_TABLES)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temp files left
    assert_same(read_declared(tmp_path / "out"), declared)


def test_single_table_file_reads_its_folder(declared: Declaration, tmp_path: Path) -> None:
    """It should read the whole folder when given one of its canonical table files."""
    write_declared(declared, tmp_path, "parquet")
    assert_same(read_declared(tmp_path / "indicators.parquet"), declared)


def test_xlsx_round_trip(declared: Declaration, tmp_path: Path) -> None:
    """It should write one workbook with a sheet per table and read it back unchanged."""
    path = write_declared_xlsx(declared, tmp_path / "declared.xlsx")
    assert openpyxl.load_workbook(path, read_only=True).sheetnames == list(schema.DECLARED_TABLES)
    assert_same(read_declared(path), declared)


def test_chinese_headers_csv_folder(declared: Declaration, tmp_path: Path) -> None:
    """It should accept the Chinese labels of schema.LABELS as headers and derive indicator_id/unit_code."""
    for name, frame in declared.tables().items():
        labelled = frame.rename({c: schema.LABELS[c] for c in frame.columns})
        if name == "indicators":
            labelled = labelled.drop(schema.LABELS["indicator_id"], schema.LABELS["unit_code"])
        labelled.write_csv(tmp_path / f"{name}.csv")
    assert_same(read_declared(tmp_path), declared)


def test_gb18030_csv_folder(declared: Declaration, tmp_path: Path) -> None:
    """It should read csv tables saved by Excel in GB18030 with extra columns it does not know."""
    for name, frame in declared.tables().items():
        text = frame.with_columns(pl.lit("x").alias("备注")).write_csv()
        (tmp_path / f"{name}.csv").write_bytes(text.encode("gb18030"))
    assert_same(read_declared(tmp_path), declared)


def test_hand_made_workbook(tmp_path: Path) -> None:
    """It should read a hand-made workbook: Chinese sheet names, numeric codes, amounts as text with commas."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "单位"
    ws.append(["单位编码", "单位名称", "年度"])
    ws.append([480001, "某单位", 2025])
    ws = wb.create_sheet("项目")
    ws.append(["项目编码", "项目名称", "项目类型", "预算数", "财政资金"])
    ws.append(["P1", "项目一", "特定目标类", "19,850.00", 19850])
    ws = wb.create_sheet("指标")
    ws.append(["项目编码", "序号", "一级指标", "二级指标", "三级指标", "指标值"])
    ws.append(["P1", 1.0, "产出指标", "数量指标", "次数", "≥20次"])
    ws.append([None, None, None, None, None, None])
    ws.append(["P1", 2, "满意度指标", "服务对象满意度指标", "满意度", "≥95%"])
    wb.save(tmp_path / "hand.xlsx")
    decl = read_declared(tmp_path / "hand.xlsx")
    assert decl.units.rows() == [("480001", "某单位", 2025)]
    assert decl.projects.select("unit_code", "category", "budget", "fiscal_funds", "other_funds").rows() == [
        ("480001", "特定目标类", 19850.0, 19850.0, None)]
    assert decl.indicators.select("unit_code", "indicator_id", "seq").rows() == [("480001", "P1-01", 1), ("480001", "P1-02", 2)]
    assert decl.department_goals.height == 0


def test_copy_of_seed_in_folder_with_other_files(tmp_path: Path) -> None:
    """It should ignore unrelated files in a folder of canonical tables."""
    decl = read_declared(SEED)
    write_declared(decl, tmp_path, "csv")
    shutil.copy(SEED, tmp_path / "readme.txt")
    assert_same(read_declared(tmp_path), decl)


def test_projects_amounts_stating_their_own_unit(tmp_path: Path) -> None:
    """It should read a project budget written `50万` in a `预算数（万元）` column as 50万 元, and `800元` as 800 元."""
    (tmp_path / "units.csv").write_text("单位编码,单位名称,年度\n480001,某单位,2025\n", encoding="utf-8")
    (tmp_path / "projects.csv").write_text("项目编码,项目名称,预算数（万元）\nP1,项目一,50万\nP2,项目二,800元\nP3,项目三,2\n",
                                           encoding="utf-8")
    (tmp_path / "indicators.csv").write_text(
        "项目编码,序号,一级指标,二级指标,三级指标,指标值\n" + "".join(f"{p},1,产出指标,数量指标,次数,≥20次\n" for p in ("P1", "P2", "P3")),
        encoding="utf-8")
    assert read_declared(tmp_path).projects["budget"].to_list() == [500000.0, 800.0, 20000.0]
