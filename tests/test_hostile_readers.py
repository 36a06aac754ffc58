"""Readers under hostile input (issue 10 §6): what used to be silently wrong or unclear is now read
right or refused with file, sheet, row and column."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from selfeval.cli import app
from selfeval.cli_support import error_line, json_ready, os_error_text
from selfeval.errors import InputError, Problem
from selfeval.ingest import read_actuals, read_declared, read_execution
from selfeval.ingest.tables import unbalanced_quote

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "seed_targets_2025.txt"
ACT = ROOT / "samples" / "actuals_sample.csv"
EXE = ROOT / "samples" / "execution_sample.csv"
runner = CliRunner()


def _problem(call, *args) -> Problem:
    with pytest.raises(InputError) as err:
        call(*args)
    assert len(err.value.problems) == 1, err.value.problems
    return err.value.problems[0]


def _execution_with(tmp_path: Path, value: str) -> Path:
    lines = EXE.read_text(encoding="utf-8-sig").splitlines()
    cells = lines[1].split(",")
    cells[-1] = value
    lines[1] = ",".join(cells)
    path = tmp_path / "execution.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ silently wrong


def test_cr_only_line_ends_read_every_row(tmp_path: Path) -> None:
    """It should read a CSV with classic-Mac CR line ends row by row, not as an empty table."""
    path = tmp_path / "cr.csv"
    path.write_bytes(EXE.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    assert read_execution(path).equals(read_execution(EXE))


def test_negative_executed_is_an_error(tmp_path: Path) -> None:
    """It should refuse a negative 全年执行数 naming file, row and column, instead of a −99 % rate."""
    problem = _problem(read_execution, _execution_with(tmp_path, "-19850"))
    assert (problem.row, problem.value) == (2, "-19850") and "executed" in (problem.column or "")


def test_percent_in_an_amount_is_an_error(tmp_path: Path) -> None:
    """It should refuse `99%` as an executed amount instead of reading 99 元."""
    problem = _problem(read_execution, _execution_with(tmp_path, "99%"))
    assert (problem.row, problem.value) == (2, "99%") and "executed" in (problem.column or "")


def test_percent_formatted_amount_cell_is_an_error(tmp_path: Path) -> None:
    """It should refuse an executed cell typed as 99% in Excel (stored 0.99) instead of reading 0.99 元."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["project_code", "year_budget", "executed"])
    sheet.append(["13022925P00JXC419898U", 20000, 0.99])
    sheet["C2"].number_format = "0%"
    book.save(tmp_path / "exe.xlsx")
    problem = _problem(read_execution, tmp_path / "exe.xlsx")
    assert (problem.row, problem.value) == (2, "99%")


def test_percent_still_reads_where_it_belongs(tmp_path: Path) -> None:
    """It should keep reading 得分比例 70% as 0.7."""
    path = tmp_path / "actuals.csv"
    path.write_text("project_code,seq,actual_text,tier,fraction\nP,1,完成,部分达成,70%\n", encoding="utf-8")
    assert read_actuals(path)["fraction"].to_list() == [0.7]


def test_amount_out_of_range_is_an_error(tmp_path: Path) -> None:
    """It should refuse an amount of 10³⁰⁰ 元 (it would make the execution rate infinite)."""
    problem = _problem(read_execution, _execution_with(tmp_path, "1e300"))
    assert problem.row == 2 and "executed" in (problem.column or "")


def test_year_out_of_range(tmp_path: Path) -> None:
    """It should refuse a year 0 in a units table and as read_declared's year."""
    from selfeval.ingest import write_declared

    write_declared(read_declared(SEED), tmp_path, "csv")
    units = tmp_path / "units.csv"
    units.write_text(units.read_text(encoding="utf-8-sig").replace(",2025", ",0"), encoding="utf-8")
    problem = _problem(read_declared, tmp_path)
    assert (problem.row, problem.value) == (2, "0") and "year" in (problem.column or "")
    with pytest.raises(InputError, match="年度"):
        read_declared(SEED, year=0)


def test_header_only_table_is_an_error(tmp_path: Path) -> None:
    """It should refuse an execution table without data rows rather than score every project as missing."""
    path = tmp_path / "execution.csv"
    path.write_text("project_code,year_budget,executed\n", encoding="utf-8")
    assert "没有数据行" in _problem(read_execution, path).message


def test_json_style_never_prints_infinity() -> None:
    """It should turn NaN and ±inf into null so that `--style json` is valid JSON."""
    assert json_ready({"a": [1.0, math.inf, {"b": -math.inf, "c": math.nan}], "d": "x"}) == {"a": [1.0, None, {"b": None, "c": None}], "d": "x"}
    result = runner.invoke(app, ["score", str(SEED), "-a", str(ACT), "-e", str(EXE), "--style", "json"])

    def refuse(constant: str) -> None:
        raise AssertionError(constant)

    json.loads(result.stdout, parse_constant=refuse)


# ------------------------------------------------------------------------------ crashes


@pytest.mark.parametrize("folder", ["pq[1]", "a*b", "q?"])
def test_paths_are_never_glob_patterns(tmp_path: Path, folder: str) -> None:
    """It should read a file whose folder name holds glob characters ([, *, ?) literally."""
    (tmp_path / folder).mkdir()
    parquet = tmp_path / folder / "a.parquet"
    read_actuals(ACT).write_parquet(parquet)
    assert read_actuals(parquet).equals(read_actuals(ACT))
    result = runner.invoke(app, ["score", str(SEED), "-a", str(parquet), "-e", str(EXE)])
    assert result.exit_code == 0, result.output


def test_list_column_is_an_error(tmp_path: Path) -> None:
    """It should refuse a Parquet list column naming the column, instead of a traceback."""
    path = tmp_path / "a.parquet"
    pl.DataFrame({"project_code": ["P"], "seq": [[1, 2]], "actual_text": ["x"]}).write_parquet(path)
    problem = _problem(read_actuals, path)
    assert problem.column == "seq" and problem.file == str(path)


# ------------------------------------------------------------------------------ unclear


def test_unbalanced_quote_names_row_and_column(tmp_path: Path) -> None:
    """It should name the row and column where a quote opens, not dump the file's text."""
    lines = ACT.read_text(encoding="utf-8-sig").splitlines()
    lines[5] = lines[5].replace(",", ',"', 1)
    path = tmp_path / "a.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problem = _problem(read_actuals, path)
    assert (problem.row, problem.column) == (6, "seq")
    assert len(str(problem)) < 300


@pytest.mark.parametrize(
    ("text", "where"),
    [('a,b\n1,"x""y"\n', None), ('a,b\n1,"x\ny"\n2,3\n', None), ('a,b\n1,"x\n2,3\n', (2, "b")), ('a,b\n"1"x,2\n', (2, "a"))],
    ids=["escaped", "multiline-cell", "never-closed", "closed-mid-cell"],
)
def test_unbalanced_quote_locator(text: str, where: tuple[int, str] | None) -> None:
    """It should tell well-formed quoting from a quote that never closes or closes inside a cell."""
    found = unbalanced_quote(text)
    assert (found[:2] if found else None) == where


def test_missing_actuals_names_what_was_expected(tmp_path: Path) -> None:
    """It should say a missing -a file was expected to hold 实际完成值, not a 绩效目标表."""
    problem = _problem(read_actuals, tmp_path / "nosuch.csv")
    assert "实际完成值" in (problem.expected or "") and "绩效目标表" not in (problem.expected or "")


def test_workbook_renamed_to_docx(tmp_path: Path) -> None:
    """It should say a .docx holding an Excel workbook is a workbook under the wrong name."""
    from openpyxl import Workbook

    Workbook().save(tmp_path / "book.xlsx")
    (tmp_path / "book.xlsx").rename(tmp_path / "book.docx")
    problem = _problem(read_declared, tmp_path / "book.docx")
    assert "Excel" in problem.message and ".docx" in problem.message


def test_os_errors_name_the_target_not_the_temp_file(tmp_path: Path) -> None:
    """It should name the file being written, in Chinese, when the OS refuses a writer's temp file."""
    temp = tmp_path / ".自评表.xlsx.1234-abcd.tmp"
    text = os_error_text(PermissionError(13, "Permission denied", str(temp)))
    assert text == f"{tmp_path / '自评表.xlsx'}：没有读写权限"


def test_error_line_is_one_line() -> None:
    """It should join an input error's problems into one line and count what it leaves out."""
    problems = [Problem(file="f.csv", row=i, column="c", message="不是数值\n（换行）") for i in range(2, 20)]
    line = error_line(InputError(problems))
    assert "\n" not in line and "共 18 处问题" in line and "第 2 行" in line


def test_long_error_is_not_wrapped(tmp_path: Path) -> None:
    """It should print a long error as one line even on an 80-column terminal."""
    missing = tmp_path / ("很长的文件夹名" * 12) / "nosuch.csv"
    result = runner.invoke(app, ["score", str(SEED), "-a", str(missing), "-e", str(EXE)], env={"COLUMNS": "80"})
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


def test_parse_writes_files_like_every_other_command(tmp_path: Path) -> None:
    """It should write parse's tables with the same permissions as score's (0644 under umask 022)."""
    old = os.umask(0o022)
    try:
        assert runner.invoke(app, ["parse", str(SEED), "--out", str(tmp_path / "p")]).exit_code == 0
        runner.invoke(app, ["score", str(SEED), "-a", str(ACT), "-e", str(EXE), "--out", str(tmp_path / "s")])
    finally:
        os.umask(old)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in [*(tmp_path / "p").iterdir(), *(tmp_path / "s").iterdir()]}
    assert modes == {0o644}


def test_large_number_cell_reads_without_exponent(tmp_path: Path) -> None:
    """It should read a numeric cell of 10²⁰ as digits, never as `1e+20` (which the value grammar cannot read)."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["project_code", "seq", "actual_text"])
    book.active.append(["P", 1, 1e20])
    book.save(tmp_path / "a.xlsx")
    assert read_actuals(tmp_path / "a.xlsx")["actual_text"].to_list() == ["100000000000000000000"]
