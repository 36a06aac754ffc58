"""`selfeval audit` (issue 14): outputs, exit codes, one-line errors; `selfeval synth --submissions`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from audit_fixtures import changed, clean_form
from typer.testing import CliRunner

from selfeval.audit.forms_writer import write_xlsx
from selfeval.cli import app

runner = CliRunner()


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    write_xlsx(folder / "a.xlsx", [clean_form("PA", "甲项目")])
    write_xlsx(folder / "b.xlsx", [changed(clean_form("PB", "乙项目"), total=98.0)])
    return folder


def test_audit_writes_workbook_and_tables_and_exits_1_on_errors(tmp_path: Path) -> None:
    """It should write 审核结果.xlsx (summary worst first) and the tables, and exit 1 for error findings."""
    out = tmp_path / "audit"
    done = runner.invoke(app, ["audit", str(_folder(tmp_path)), "--out", str(out), "--format", "both"])
    assert done.exit_code == 1, done.output
    assert "审核汇总" in done.output and "AUDIT_TOTAL_SUM" in done.output
    wb = openpyxl.load_workbook(out / "审核结果.xlsx", read_only=True)
    assert wb.sheetnames[:3] == ["审核汇总", "问题清单", "文件"]
    rows = list(wb["审核汇总"].iter_rows(values_only=True))
    header = rows[0]
    assert header[:2] == ("文件", "工作表")
    first = dict(zip(header, rows[1]))
    assert (first["项目编码"], first["自评总分"], first["复算总分"], first["差额"], first["错误数"]) == ("PB", 98, 97, 1, 2)
    findings = list(wb["问题清单"].iter_rows(values_only=True))
    assert {"文件", "工作表", "行", "单元格", "字段", "说明", "规则值"} <= set(findings[0])
    wb.close()
    table = pl.read_parquet(out / "audit_findings.parquet")
    assert sorted(table.get_column("code").to_list()) == ["AUDIT_TOTAL_RULE", "AUDIT_TOTAL_SUM"]
    assert (out / "audit_summary.csv").is_file()


def test_audit_clean_exits_0_and_json(tmp_path: Path) -> None:
    """It should exit 0 on a clean submission and print machine-readable JSON with --style json."""
    path = write_xlsx(tmp_path / "ok.xlsx", [clean_form()])
    done = runner.invoke(app, ["audit", str(path), "--style", "json"])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.output)
    assert payload["counts"] == {"error": 0, "warning": 0, "info": 0}
    assert payload["summary"][0]["total"] == 97.0


@pytest.mark.parametrize(("args", "fragment"), [
    (["audit", "{tmp}/missing.xlsx"], "missing.xlsx"),
    (["audit", "{tmp}/ok.xlsx", "--rules", "no-such-rules"], "no-such-rules"),
    (["audit", "{tmp}/ok.xlsx", "--out", "{tmp}/ok.xlsx"], "ok.xlsx"),
    (["audit", "{tmp}/ok.xlsx", "--workers", "0"], "--workers"),
])
def test_bad_input_is_one_line_exit_2(tmp_path: Path, args: list[str], fragment: str) -> None:
    """It should print one line naming the file or option and exit 2, never a traceback."""
    write_xlsx(tmp_path / "ok.xlsx", [clean_form()])
    done = runner.invoke(app, [a.format(tmp=tmp_path) for a in args])
    assert done.exit_code == 2, done.output
    lines = [line for line in done.output.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in done.output


def test_out_may_not_overwrite_an_input(tmp_path: Path) -> None:
    """It should refuse an --out folder whose tables would overwrite a submitted file (exit 2, input intact)."""
    folder = _folder(tmp_path)
    before = (folder / "a.xlsx").read_bytes()
    shutil.copy(folder / "a.xlsx", folder / "audit_summary.parquet")
    done = runner.invoke(app, ["audit", str(folder), "--out", str(folder)])
    assert done.exit_code == 2
    assert (folder / "a.xlsx").read_bytes() == before


def test_out_inside_the_submissions_folder_is_refused(tmp_path: Path) -> None:
    """It should refuse an --out inside the folder being audited (its workbook would be read next time), exit 2."""
    folder = _folder(tmp_path)
    done = runner.invoke(app, ["audit", str(folder), "--out", str(folder / "审核")])
    assert done.exit_code == 2
    assert not (folder / "审核").exists()


def test_synth_submissions_then_audit_finds_the_truth(tmp_path: Path) -> None:
    """It should write submissions and truth.csv, and the audit should find every row of the truth."""
    out = tmp_path / "subs"
    done = runner.invoke(app, ["synth", "--submissions", "-n", "5", "--out", str(out), "--seed", "3", "--error-rate", "0.5"])
    assert done.exit_code == 0, done.output
    truth = pl.read_csv(out / "truth.csv")
    assert truth.height > 0
    audited = runner.invoke(app, ["audit", str(out), "--out", str(tmp_path / "res")])
    assert audited.exit_code == 1
    findings = pl.read_parquet(tmp_path / "res" / "audit_findings.parquet")
    missed = truth.join(findings.select("file", "project_code", "code"), on=["file", "project_code", "code"], how="anti",
                        nulls_equal=True)
    assert missed.height == 0


def test_help_does_not_import_polars() -> None:
    """It should list `audit` in `selfeval --help` without importing polars."""
    code = "import sys; from selfeval.cli import app; assert 'polars' not in sys.modules, 'polars imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
    done = subprocess.run([sys.executable, "-m", "selfeval", "--help"], capture_output=True, text=True, check=True)
    assert "audit" in done.stdout


def test_unit_sheet_sets_claimed_beside_recomputed(tmp_path: Path) -> None:
    """It should write one sheet per unit: the project's claimed 98 beside the recomputed 97, the difference highlighted."""
    from selfeval.audit.api import audit
    from selfeval.audit.report import write_audit_workbook

    result = audit(_folder(tmp_path))
    path = write_audit_workbook(result, tmp_path / "审核结果.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["审核汇总", "问题清单", "文件", "石臼窝镇人民政府本级"]
    ws = wb["石臼窝镇人民政府本级"]
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    by_code = {r[header.index("项目编码")]: dict(zip(header, r)) for r in rows[1:3]}
    assert (by_code["PB"]["自评总分"], by_code["PB"]["复算总分"], by_code["PB"]["差额"]) == (98, 97, 1)
    assert (by_code["PA"]["自评总分"], by_code["PA"]["复算总分"], by_code["PA"]["差额"]) == (97, 97, 0)
    column = openpyxl.utils.get_column_letter(header.index("差额") + 1)
    ranges = [str(r.sqref) for r in ws.conditional_formatting]
    assert any(r.startswith(f"{column}2") for r in ranges), ranges
    indicator_header = next(i for i, r in enumerate(rows) if r[0] == "逐项指标：自评与复算对照（差额非零者标红）") + 1
    assert {"自评得分", "规则得分", "差额", "计算过程"} <= set(rows[indicator_header])
    assert len([r for r in rows[indicator_header + 1:] if r[0] is not None]) == 8  # 4 indicators × 2 projects
