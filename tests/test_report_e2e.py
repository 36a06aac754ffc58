"""End to end: `selfeval demo`, `report` and `template` on the seed, read back as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from report_fixtures import (
    GOLDEN_TOTALS,
    cells_right_of,
    findings_table_rows,
    number_right_of,
    project_code_of,
    project_sheets,
    summary_rows,
)
from selfeval.cli import app

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "seed_targets_2025.txt"
ACTUALS = ROOT / "samples" / "actuals_sample.csv"
EXECUTION = ROOT / "samples" / "execution_sample.csv"
TABLES = ("indicator_scores", "project_scores", "unit_scores", "findings")

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "selfeval-output"
    result = runner.invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "自评表_480001.xlsx" in result.output and "99.55" in result.output
    return out


def test_demo_writes_workbook_and_tables(demo_dir: Path) -> None:
    """It should write the workbook and the four tables as parquet and csv."""
    names = {p.name for p in demo_dir.iterdir()}
    assert names == {"自评表_480001.xlsx", *(f"{t}.{ext}" for t in TABLES for ext in ("parquet", "csv"))}


def test_demo_workbook_golden_totals(demo_dir: Path) -> None:
    """It should show the golden totals of SPEC.md §5.7 in the 总分 cell of each project sheet."""
    wb = openpyxl.load_workbook(demo_dir / "自评表_480001.xlsx")
    sheets = project_sheets(wb)
    assert len(sheets) == 5
    totals = {project_code_of(ws): number_right_of(ws, "总分") for ws in sheets}
    assert totals == GOLDEN_TOTALS
    assert all(cells_right_of(ws, "自评等级")[0] == "优" for ws in sheets)
    assert len(set(wb.sheetnames)) == len(wb.sheetnames) and all(len(n) <= 31 for n in wb.sheetnames)


def test_demo_workbook_summary_and_department(demo_dir: Path) -> None:
    """It should give 汇总 the department row 99.55 优 and the project totals."""
    wb = openpyxl.load_workbook(demo_dir / "自评表_480001.xlsx")
    rows = summary_rows(wb["汇总"])
    dept = rows[-1]
    assert (dept["项目编码"], dept["总分"], dept["自评等级"]) == ("部门整体", 99.55, "优")
    assert {r["项目编码"]: r["总分"] for r in rows[:-1]} == GOLDEN_TOTALS
    assert dept["预算数"] == 179000
    assert number_right_of(wb["部门整体"], "总分") == 99.55


def test_demo_workbook_lists_every_finding(demo_dir: Path) -> None:
    """It should list every finding of the run in 问题清单."""
    findings = pl.read_parquet(demo_dir / "findings.parquet")
    wb = openpyxl.load_workbook(demo_dir / "自评表_480001.xlsx")
    ws = wb["问题清单"]
    assert findings.height > 0
    assert findings_table_rows(ws) == findings.height
    codes = [row[2] for row in ws.iter_rows(min_row=4, values_only=True) if row[2]]
    assert sorted(codes) == sorted(findings.get_column("code").to_list())
    assert codes.count("SCHEDULE") == 5  # project 3 at 3/6月底, project 4 at all three checkpoints
    assert codes.count("OVERSHOOT") == 1


def test_demo_method_sheet_names_inputs(demo_dir: Path) -> None:
    """It should record each input file with its sha256 in 计算说明."""
    ws = openpyxl.load_workbook(demo_dir / "自评表_480001.xlsx")["计算说明"]
    for role, name in (("绩效目标表", SEED.name), ("实际完成值", ACTUALS.name), ("预算执行", EXECUTION.name)):
        path, digest = cells_right_of(ws, role)[:2]
        assert Path(path).name == name and len(digest) == 64


def test_report_command(tmp_path: Path) -> None:
    """It should score and write the workbook to --out, exit 0 when there is no error finding."""
    out = tmp_path / "自评表.xlsx"
    result = runner.invoke(app, ["report", str(SEED), "--actuals", str(ACTUALS), "--execution", str(EXECUTION),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert {project_code_of(ws): number_right_of(ws, "总分") for ws in project_sheets(wb)} == GOLDEN_TOTALS


def test_report_command_with_error_findings(tmp_path: Path) -> None:
    """It should still write the workbook but exit 1 when an indicator cannot be scored."""
    partial = tmp_path / "actuals.csv"
    pl.read_csv(ACTUALS, infer_schema_length=0).slice(1).write_csv(partial)
    out = tmp_path / "自评表.xlsx"
    result = runner.invoke(app, ["report", str(SEED), "-a", str(partial), "-e", str(EXECUTION), "-o", str(out)])
    assert result.exit_code == 1, result.output
    wb = openpyxl.load_workbook(out)
    assert "缺少实际完成值" in [c.value for row in wb["问题清单"].iter_rows() for c in row]
    assert summary_rows(wb["汇总"])[-1]["是否完整"] == "否"


@pytest.mark.parametrize(
    "args",
    [
        ["report", "missing.txt", "-a", str(ACTUALS), "-e", str(EXECUTION), "-o", "x.xlsx"],
        ["report", str(SEED), "-a", "missing.csv", "-e", str(EXECUTION), "-o", "x.xlsx"],
        ["report", str(SEED), "-a", str(ACTUALS), "-e", str(EXECUTION), "-r", "no-such-rules", "-o", "x.xlsx"],
        ["template", "missing.txt", "--out", "t.xlsx"],
    ],
)
def test_input_errors_exit_2_without_traceback(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should report a bad input or rule file in Chinese with exit code 2, no traceback, no file."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "错误" in result.output and "Traceback" not in result.output
    assert not list(tmp_path.glob("*.xlsx"))


def test_template_command(tmp_path: Path) -> None:
    """It should write the template from the seed."""
    out = tmp_path / "template.xlsx"
    result = runner.invoke(app, ["template", str(SEED), "--out", str(out)])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert wb["实际完成值"].max_row == 46 and wb["预算执行"].max_row == 6


def test_help_is_chinese() -> None:
    """It should describe the commands in Chinese."""
    for command in ("demo", "report", "template"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert any("\u4e00" <= ch <= "\u9fff" for ch in result.output), command


def test_bundled_samples_resolve() -> None:
    """It should find the bundled samples (the package's data/samples links or the repository's samples/)."""
    from selfeval.cli import DEMO_SAMPLES, sample_dir

    folder = sample_dir()
    for name in DEMO_SAMPLES:
        assert (folder / name).read_bytes() == (ROOT / "samples" / name).read_bytes()


# ------------------------------------------------------------------ LibreOffice

def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def test_libreoffice_opens_and_prints_one_page_wide(demo_dir: Path, tmp_path: Path) -> None:
    """It should convert without repair and print each project sheet on one A4 page width."""
    soffice = _soffice()
    if soffice is None:
        assert not os.environ.get("CI"), "CI must run the print check: .ci/run installs LibreOffice"
        pytest.skip("LibreOffice not installed: `soffice`/`libreoffice` not on PATH (apt-get install libreoffice-calc)")
    if shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None:
        assert not os.environ.get("CI"), "CI must run the print check: .ci/run installs poppler-utils"
        pytest.skip("poppler-utils not installed: `pdftotext`/`pdfinfo` not on PATH (apt-get install poppler-utils)")
    workbook = demo_dir / "自评表_480001.xlsx"
    profile = tmp_path / "lo-profile"
    env = {**os.environ, "HOME": str(tmp_path)}
    done = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(workbook)],
        capture_output=True, text=True, timeout=180, env=env, check=False,
    )
    pdf = tmp_path / "自评表_480001.pdf"
    assert pdf.exists(), done.stdout + done.stderr
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    project_pages = []
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        if "项目支出绩效自评表" in text and "项目编码：" in text:
            project_pages.append((page, text))
    assert len(project_pages) == 5  # one page per project sheet
    sizes = {line.split(":")[0].split()[1]: line for line in info.splitlines() if line.startswith("Page ") and "size" in line}
    for page, text in project_pages:
        # the first (一级指标) and last (偏差原因分析及改进措施) columns and the total on the same page: not split
        assert "一级指标" in text and "偏差原因分析及改进措施" in text and "总分" in text and "自评等级" in text
        assert "595.3" in sizes[str(page)] and "841.89" in sizes[str(page)]  # A4 portrait
    printed_totals = {f"{t:.2f}" for t in GOLDEN_TOTALS.values()}
    assert all(any(t in text for t in printed_totals) for _, text in project_pages)


@pytest.mark.skipif(sys.platform == "win32", reason="console script path differs on Windows")
def test_console_script_demo_no_traceback(tmp_path: Path) -> None:
    """It should run `python -m selfeval demo` as a fresh process from any folder."""
    done = subprocess.run([sys.executable, "-m", "selfeval", "demo", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "out" / "自评表_480001.xlsx").exists()


def _two_unit_inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Canonical tables of two units (the fixture's declaration) with complete actuals and execution."""
    from report_fixtures import make_result
    from selfeval.ingest import write_declared

    result = make_result(units=[("480001", "甲镇"), ("480002", "乙镇")])
    declared = tmp_path / "declared"
    write_declared(result.declaration, declared, "parquet")
    actuals = result.declaration.indicators.select(
        "unit_code", "project_code", "seq", "level3",
        pl.when(pl.col("target_text").str.contains("月")).then(pl.lit("3个月")).otherwise(pl.lit("96%")).alias("actual_text"),
    )
    execution = result.declaration.projects.select(
        "unit_code", "project_code", pl.col("budget").alias("year_budget"), pl.col("budget").alias("executed")
    )
    actuals.write_csv(tmp_path / "actuals.csv")
    execution.write_csv(tmp_path / "execution.csv")
    return declared, tmp_path / "actuals.csv", tmp_path / "execution.csv"


def test_report_several_units(tmp_path: Path) -> None:
    """It should write one workbook per unit into a folder, one unit with --unit, and refuse one .xlsx for all."""
    declared, actuals, execution = _two_unit_inputs(tmp_path)
    base = ["report", str(declared), "-a", str(actuals), "-e", str(execution)]
    refused = runner.invoke(app, [*base, "-o", str(tmp_path / "all.xlsx")])
    assert refused.exit_code == 2 and "--unit" in refused.output
    folder = runner.invoke(app, [*base, "-o", str(tmp_path / "out")])
    assert folder.exit_code == 0, folder.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["自评表_480001.xlsx", "自评表_480002.xlsx"]
    one = runner.invoke(app, [*base, "--unit", "480002", "-o", str(tmp_path / "b.xlsx")])
    assert one.exit_code == 0, one.output
    wb = openpyxl.load_workbook(tmp_path / "b.xlsx")
    assert summary_rows(wb["汇总"])[-1]["项目名称"] == "乙镇"
