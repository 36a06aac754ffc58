"""Round trip (issue 14): a workbook `selfeval report` writes, audited unchanged, has no finding of its own."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import selfeval
from selfeval.report.excel import write_workbook

SEED = Path(__file__).resolve().parents[1] / "samples"


def _seed_result(with_reasons: bool) -> selfeval.Result:
    declared = selfeval.read_declared(SEED / "seed_targets_2025.txt")
    actuals = selfeval.read_actuals(SEED / "actuals_sample.csv", declared=declared)
    if with_reasons:  # every row the rules require a reason for gets one
        actuals = actuals.with_columns(pl.coalesce("deviation_reason", pl.lit("已说明原因")).alias("deviation_reason"))
    return selfeval.score(declared, actuals, SEED / "execution_sample.csv")


def test_own_workbook_audited_unchanged_has_zero_findings(tmp_path: Path) -> None:
    """It should read back selfeval's own 自评表 (5 projects, SPEC §5.7 totals) and find nothing."""
    result = _seed_result(with_reasons=True)
    path = write_workbook(result, tmp_path / "自评表.xlsx")
    audited = selfeval.audit(path)
    assert audited.findings.height == 0
    totals = dict(audited.summary.select("project_code", "claimed_total").iter_rows())
    assert totals == {"13022925P00JXC419898U": 99.93, "13022925P00JXC419591N": 100.0, "13022925P00016410007L": 99.36,
                      "13022925P00JXC419899F": 98.07, "13022925P00JXC419896L": 99.55}
    assert audited.summary.get_column("difference").to_list() == [0.0] * 5
    assert audited.summary.get_column("unit_code").unique().to_list() == ["480001"]
    skipped = audited.sheets.filter(pl.col("status") == "已跳过").get_column("sheet").to_list()
    assert skipped == ["汇总", "部门整体", "问题清单", "计算说明", "计算明细"]


def test_own_workbook_keeps_exactly_the_reasons_the_run_asked_for(tmp_path: Path) -> None:
    """It should report, of the seed's own findings, exactly its MISSING_REASON rows (located in 偏差原因), nothing else."""
    result = _seed_result(with_reasons=False)
    audited = selfeval.audit(write_workbook(result, tmp_path / "自评表.xlsx"))
    wanted = result.findings.filter(pl.col("code") == "MISSING_REASON").select("project_code", "seq").sort("project_code", "seq")
    got = audited.findings.select("project_code", "seq").sort("project_code", "seq")
    assert audited.findings.get_column("code").unique().to_list() == ["MISSING_REASON"]
    assert got.rows() == wanted.rows() and got.height == 5
    assert audited.findings.get_column("column").unique().to_list() == ["偏差原因分析及改进措施"]
    assert audited.findings.get_column("cell").str.starts_with("H").all()
