"""The long canonical form (issue 14): canonical tables plus claimed_points, claimed_total … audited like a form."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import selfeval


def write_tables(folder: Path, *, claimed_total: float = 97.0, row2_points: float = 22.5, suffix: str = "csv") -> Path:
    """The clean hand-made project of audit_fixtures as canonical tables (total 97: 25 + 22.5 + 30 + 10 + 9.5)."""
    folder.mkdir()
    tables = {
        "units": pl.DataFrame({"unit_code": ["480001"], "unit_name": ["石臼窝镇人民政府本级"], "year": [2025]}),
        "projects": pl.DataFrame({"unit_code": ["480001"], "project_code": ["P1"], "project_name": ["农村人居环境整治"],
                                  "budget": [100000.0]}),
        "indicators": pl.DataFrame({
            "unit_code": ["480001"] * 4, "project_code": ["P1"] * 4, "seq": [1, 2, 3, 4],
            "level1": ["产出指标", "产出指标", "效益指标", "满意度指标"], "level2": ["质量指标", "数量指标", "生态效益指标", "服务对象满意度指标"],
            "level3": ["整治达标率", "清理次数", "人居环境", "群众满意度"], "target_text": ["≥95%", "≥20次", "有效提升", "≥90%"],
            "weight": [25.0, 25.0, 30.0, 10.0]}),
        "actuals": pl.DataFrame({
            "unit_code": ["480001"] * 4, "project_code": ["P1"] * 4, "seq": [1, 2, 3, 4],
            "level3": ["整治达标率", "清理次数", "人居环境", "群众满意度"], "actual_text": ["95%", "18次", "达成", "92%"],
            "deviation_reason": [None, "汛期顺延", None, None], "claimed_points": [25.0, row2_points, 30.0, 10.0]}),
        "execution": pl.DataFrame({"unit_code": ["480001"], "project_code": ["P1"], "year_budget": [100000.0], "executed": [95000.0],
                                   "claimed_execution_points": [9.5], "claimed_total": [claimed_total], "claimed_grade": ["优"]}),
    }
    for name, frame in tables.items():
        if suffix == "csv":
            frame.write_csv(folder / f"{name}.csv")
        else:
            frame.write_parquet(folder / f"{name}.parquet")
    return folder


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_clean_canonical_tables_have_no_finding(tmp_path: Path, suffix: str) -> None:
    """It should recompute the canonical form (97.00, 优) and find nothing."""
    result = selfeval.audit(write_tables(tmp_path / "t", suffix=suffix))
    assert result.findings.height == 0
    assert result.summary.select("claimed_total", "total", "grade").row(0) == (97.0, 97.0, "优")


def test_canonical_claims_are_located_by_table_and_row(tmp_path: Path) -> None:
    """It should flag a wrong total (98 under parts of 97) at execution.csv row 2 and wrong points at actuals.csv row 3."""
    result = selfeval.audit(write_tables(tmp_path / "t", claimed_total=98.0, row2_points=20.0))
    found = {(r["code"], Path(r["file"]).name, r["row"]) for r in result.findings.iter_rows(named=True)}
    # parts: 25 + 20 + 30 + 10 + 9.5 = 94.5; the rule gives 22.5 for row 2 (18/20 × 25) and 97 in all
    assert found == {("AUDIT_TOTAL_SUM", "execution.csv", 2), ("AUDIT_TOTAL_RULE", "execution.csv", 2),
                     ("AUDIT_POINTS_EXPLAINED", "actuals.csv", 3)}
    assert result.findings.filter(pl.col("code") == "AUDIT_TOTAL_SUM").get_column("expected").to_list() == ["94.5"]


def test_canonical_tables_in_one_workbook(tmp_path: Path) -> None:
    """It should read the canonical form from one .xlsx with a sheet per table, and flag the wrong grade (97 is 优)."""
    import xlsxwriter

    folder = write_tables(tmp_path / "t", suffix="parquet")
    path = tmp_path / "canonical.xlsx"
    with xlsxwriter.Workbook(path) as wb:
        for name in ("units", "projects", "indicators", "actuals", "execution"):
            frame = pl.read_parquet(folder / f"{name}.parquet")
            if name == "execution":
                frame = frame.with_columns(pl.lit("良").alias("claimed_grade"))
            frame.write_excel(workbook=wb, worksheet=name)
    result = selfeval.audit(path)
    found = result.findings.row(0, named=True)
    assert result.findings.height == 1
    assert (found["code"], found["sheet"], found["row"], found["expected"]) == ("AUDIT_GRADE", "execution", 2, "优")
