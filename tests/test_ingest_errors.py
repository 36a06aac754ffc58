"""Bad input gives one clear InputError naming the file (and what was expected), never a traceback."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from selfeval.errors import InputError
from selfeval.ingest import read_actuals, read_declared, read_execution, write_declared

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "seed_targets_2025.txt"


def _empty(tmp: Path) -> Path:
    (tmp / "empty.txt").write_bytes(b"")
    return tmp / "empty.txt"


def _blank(tmp: Path) -> Path:
    (tmp / "blank.csv").write_bytes(b" \r\n\t\n")
    return tmp / "blank.csv"


def _binary(tmp: Path) -> Path:
    (tmp / "garbage.txt").write_bytes(bytes(range(256)) * 8 + os.urandom(512))
    return tmp / "garbage.txt"


def _old_office(tmp: Path) -> Path:
    (tmp / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    return tmp / "old.xls"


def _bad_zip(tmp: Path) -> Path:
    (tmp / "broken.docx").write_bytes(b"PK\x03\x04" + b"\x00garbage" * 20)
    return tmp / "broken.docx"


def _other_zip(tmp: Path) -> Path:
    with zipfile.ZipFile(tmp / "archive.zip", "w") as archive:
        archive.writestr("a.txt", "hello")
    return tmp / "archive.zip"


def _json(tmp: Path) -> Path:
    (tmp / "data.json").write_text('{"a": 1}\n', encoding="utf-8")
    return tmp / "data.json"


def _prose(tmp: Path) -> Path:
    (tmp / "notes.txt").write_text("这是一份会议纪要。\n没有任何表格。\n", encoding="utf-8")
    return tmp / "notes.txt"


def _missing(tmp: Path) -> Path:
    return tmp / "no-such-file.txt"


def _empty_folder(tmp: Path) -> Path:
    (tmp / "tables").mkdir()
    (tmp / "tables" / "readme.md").write_text("x", encoding="utf-8")
    return tmp / "tables"


def _lone_table(tmp: Path) -> Path:
    (tmp / "targets.csv").write_text("项目编码,序号,指标值\nP1,1,≥95%\n", encoding="utf-8")
    return tmp / "targets.csv"


def _workbook_without_tables(tmp: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "汇总"
    wb.save(tmp / "other.xlsx")
    return tmp / "other.xlsx"


def _header_without_level1(tmp: Path) -> Path:
    text = SEED.read_text(encoding="utf-8").replace("\t一级指标\n", "\t序号\n")
    (tmp / "nolevel1.txt").write_text(text, encoding="utf-8")
    return tmp / "nolevel1.txt"


def _no_unit_line(tmp: Path) -> Path:
    text = SEED.read_text(encoding="utf-8").replace("480001玉田县石臼窝镇人民政府本级", "玉田县石臼窝镇")
    (tmp / "nounit.txt").write_text(text, encoding="utf-8")
    return tmp / "nounit.txt"


# (case, reader, builder, a word the message must contain)
CASES: list[tuple[str, Callable[[Path], object], Callable[[Path], Path], str]] = [
    ("empty declared", read_declared, _empty, "文件为空"),
    ("blank actuals", read_actuals, _blank, "文件为空"),
    ("binary declared", read_declared, _binary, "不是文本文件"),
    ("binary execution", read_execution, _binary, "不是文本文件"),
    ("old office", read_declared, _old_office, ".xlsx"),
    ("broken zip", read_declared, _bad_zip, "损坏"),
    ("other zip", read_declared, _other_zip, "不是 Word 或 Excel"),
    ("unknown text", read_declared, _json, "无法识别"),
    ("prose", read_declared, _prose, "没有找到项目绩效目标表"),
    ("missing file", read_declared, _missing, "不存在"),
    ("folder without tables", read_declared, _empty_folder, "没有可读取的表格"),
    ("single table file", read_declared, _lone_table, "不足以构成"),
    ("workbook without tables", read_declared, _workbook_without_tables, "汇总"),
    ("indicator header without 一级指标", read_declared, _header_without_level1, "一级指标"),
    ("no unit line", read_declared, _no_unit_line, "单位行"),
    ("docx as actuals", read_actuals, _bad_zip, "损坏"),
    ("folder as actuals", read_actuals, _empty_folder, ".csv、.xlsx 或 .parquet"),
]


@pytest.mark.parametrize(("reader", "build", "word"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(tmp_path: Path, reader: Callable[[Path], object], build: Callable[[Path], Path], word: str) -> None:
    """It should raise one InputError whose message names the file and says what is wrong."""
    path = build(tmp_path)
    with pytest.raises(InputError) as err:
        reader(path)
    message = str(err.value)
    assert str(path) in message
    assert word in message
    assert all(p.file == str(path) for p in err.value.problems)


def test_missing_columns_reported_together(tmp_path: Path) -> None:
    """It should name every missing required column of an actuals table in one error."""
    path = tmp_path / "actuals.csv"
    path.write_text("项目编码,三级指标,备注\nP1,次数,x\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_actuals(path)
    message = str(err.value)
    assert "序号" in message and "实际完成值" in message and str(path) in message


def test_bad_values_name_rows_and_columns(tmp_path: Path) -> None:
    """It should list the rows and columns whose values are not numbers, all at once."""
    path = tmp_path / "execution.csv"
    path.write_text("项目编码,全年预算数,全年执行数\nP1,abc,100\nP2,200,两百\nP3,300,300\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_execution(path)
    problems = err.value.problems
    assert len(problems) == 2
    assert {p.column for p in problems} == {"全年预算数（year_budget）", "全年执行数（executed）"}
    assert {p.row for p in problems} == {2, 3}
    text = str(err.value)
    assert "第 2 行" in text and "第 3 行" in text
    assert "第2行" not in text and "第3行" not in text  # the row is said once, where the place is named


def test_seq_must_be_integer(tmp_path: Path) -> None:
    """It should reject a seq that is not a whole number."""
    path = tmp_path / "actuals.csv"
    path.write_text("project_code,seq,actual\nP1,1.5,96%\n", encoding="utf-8")
    with pytest.raises(InputError, match="序号"):
        read_actuals(path)


def test_rows_without_keys(tmp_path: Path) -> None:
    """It should reject rows that carry values but no project code or seq."""
    path = tmp_path / "actuals.csv"
    path.write_text("project_code,seq,actual\nP1,1,96%\n,,97%\n", encoding="utf-8")
    with pytest.raises(InputError, match="第 3 行"):
        read_actuals(path)


def test_folder_missing_tables_and_columns(tmp_path: Path) -> None:
    """It should name the missing tables of a folder, then every table's missing columns at once."""
    decl = read_declared(SEED)
    write_declared(decl, tmp_path, "csv")
    (tmp_path / "indicators.csv").unlink()
    with pytest.raises(InputError, match="indicators"):
        read_declared(tmp_path)
    write_declared(decl, tmp_path, "csv")
    decl.units.drop("year").write_csv(tmp_path / "units.csv")
    decl.indicators.drop("level1", "target_text").write_csv(tmp_path / "indicators.csv")
    with pytest.raises(InputError) as err:
        read_declared(tmp_path)
    files = {p.file for p in err.value.problems}
    assert files == {str(tmp_path / "units.csv"), str(tmp_path / "indicators.csv")}
    assert "年度" in str(err.value) and "一级指标" in str(err.value) and "指标值" in str(err.value)


def test_duplicate_indicator_keys(tmp_path: Path) -> None:
    """It should reject canonical tables where (project_code, seq) repeats."""
    decl = read_declared(SEED)
    write_declared(decl, tmp_path, "csv")
    import polars as pl

    pl.concat([decl.indicators, decl.indicators.head(1)]).write_csv(tmp_path / "indicators.csv")
    with pytest.raises(InputError, match="重复"):
        read_declared(tmp_path)
