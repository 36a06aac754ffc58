"""Every workbook the tool writes keeps hostile text as text; 计算说明 follows the rule set; one table writer."""

from __future__ import annotations

import dataclasses
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from report_fixtures import GENERATED_AT, make_result
from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.ingest import read_actuals, read_declared, read_execution
from selfeval.rules.loader import load_rules, rules_from_mapping
from selfeval.rules.model import RuleSet

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "seed_targets_2025.txt"
ACTUALS = ROOT / "samples" / "actuals_sample.csv"
EXECUTION = ROOT / "samples" / "execution_sample.csv"

# A formula injection, a link and a number that must all stay the text they are.
HOSTILE = "=cmd|' /C calc'!A0"
LINK = "http://example.com/x"
LEADING_ZEROS = "007"
TEXTS = (HOSTILE, LINK, LEADING_ZEROS)


def _seed_with_hostile_names() -> Declaration:
    decl = read_declared(SEED)
    names = pl.Series([TEXTS[i % len(TEXTS)] for i in range(decl.projects.height)], dtype=pl.String)
    return dataclasses.replace(decl, projects=decl.projects.with_columns(names.alias("project_name")))


def _report(path: Path) -> None:
    from selfeval.report.excel import write_workbook

    write_workbook(make_result(list(TEXTS), level3_prefix=HOSTILE), path, generated_at=GENERATED_AT)


def _template(path: Path) -> None:
    from selfeval.report.template import write_template

    write_template(_seed_with_hostile_names(), path, generated_at=GENERATED_AT)


def _lint(path: Path) -> None:
    from selfeval.lint.report import write_findings_xlsx

    findings = pl.DataFrame(
        [{"code": "LINT_PLACEHOLDER_TARGET", "severity": "warning", "unit_code": "U1", "project_code": text, "seq": 1,
          "column": "target_text", "value": text, "message": text} for text in TEXTS],
        schema=schema.FINDINGS,
    )
    write_findings_xlsx(findings, path, created=GENERATED_AT)


def _whatif(path: Path) -> None:
    from selfeval.whatif import whatif

    result = whatif(_seed_with_hostile_names(), read_actuals(ACTUALS), read_execution(EXECUTION),
                    sweep="weights.产出指标=50,40")
    result.write_workbook(path)


def _declared(path: Path) -> None:
    from selfeval.ingest import write_declared_xlsx

    write_declared_xlsx(_seed_with_hostile_names(), path)


def _table(path: Path) -> None:
    from selfeval.report.workbook import new_workbook, write_table

    frame = pl.DataFrame({"project_name": list(TEXTS), "total": [1.0, float("nan"), None], "complete": [True, False, None]})
    with new_workbook(path, created=GENERATED_AT) as wb:
        write_table(wb, "表", frame)


WRITERS: dict[str, Callable[[Path], None]] = {
    "自评表": _report, "填报模板": _template, "审查结果": _lint, "规则调整试算": _whatif, "规范表格": _declared,
    "write_table": _table,
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_every_writer_keeps_hostile_text_as_text(writer: str, tmp_path: Path) -> None:
    """It should write a formula, a link and a zero-padded number from input as plain text cells, nothing else."""
    path = tmp_path / "out.xlsx"
    WRITERS[writer](path)
    wb = openpyxl.load_workbook(path)
    found = {text: 0 for text in TEXTS}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith(TEXTS):
                    assert cell.data_type == "s", (ws.title, cell.coordinate)
                    found[next(t for t in TEXTS if cell.value.startswith(t))] += 1
    assert all(found.values()), found
    with zipfile.ZipFile(path) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in sheets)
        links = [n for n in archive.namelist() if n.startswith("xl/worksheets/_rels/")]
        assert not any(LINK.encode() in archive.read(n) for n in links)  # no hyperlink made from text
    assert not list(tmp_path.glob(".*.tmp"))


def test_write_table_labels_and_words(tmp_path: Path) -> None:
    """It should write Chinese headers, 是/否 for Booleans and a blank for NaN."""
    path = tmp_path / "t.xlsx"
    _table(path)
    ws = openpyxl.load_workbook(path)["表"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("项目名称", "总分", "是否完整")
    assert [r[2] for r in rows[1:]] == ["是", "否", None]
    assert [r[1] for r in rows[1:]] == [1.0, None, None]
    assert len(ws.tables) == 1


def test_failed_workbook_leaves_nothing(tmp_path: Path) -> None:
    """It should leave neither the target nor a temp file when writing fails half way."""
    from selfeval.report.workbook import new_workbook

    with pytest.raises(RuntimeError), new_workbook(tmp_path / "x.xlsx") as wb:
        wb.add_worksheet("a").write_string(0, 0, "x")
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ 计算说明 from the rule set


def _rules(**changes: object) -> RuleSet:
    data = load_rules().model_dump()
    for dotted, value in changes.items():
        node = data
        *parents, key = dotted.split("__")
        for part in parents:
            node = node[part]
        node[key] = value
    return rules_from_mapping(data)


def _method(rules: RuleSet, tmp_path: Path) -> dict[str, str]:
    from selfeval.report.excel import write_workbook

    result = dataclasses.replace(make_result(), rules=rules)
    path = write_workbook(result, tmp_path / "m.xlsx", generated_at=GENERATED_AT)
    rows = list(openpyxl.load_workbook(path)["计算说明"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == "四、计分方法")
    return {r[0]: r[1] for r in rows[start + 1:] if r[0]}


METHOD_CASES = [  # (rule changes, 计算说明 row, text it must hold, text it must not hold)
    ({}, "指标得分", "min(r, 1)", "阶梯"),
    ({}, "舍入", "保留 2 位小数", "保留 1 位小数"),
    ({"rounding__decimals": 1}, "舍入", "保留 1 位小数", "2 位小数"),
    ({"rounding__decimals": 0}, "舍入", "取整", "位小数"),
    ({"curves": {"default": {"kind": "step", "points": [[0.6, 0.6], [1, 1]]}}}, "指标得分", "r ≥ 0.6 记 0.6", "min(r, 1)"),
    ({"curves": {"default": {"kind": "linear", "points": [[0.5, 0], [1, 1]]}}}, "指标得分", "(0.5, 0)、(1, 1)", "min(r, 1)"),
    ({"curves": {"le": {"kind": "step", "points": [[1, 1]]}}}, "指标得分", "反向（≤）指标为 阶梯：r ≥ 1 记 1", "正向"),
    ({"execution__curve": {"kind": "linear", "points": [[0.6, 0], [1, 1]]}}, "预算执行率", "(0.6, 0)", "min(执行率, 1)"),
    ({"weights": {"产出指标": 40, "效益指标": 40, "满意度指标": 10, "预算执行率": 10}}, "分值", "产出指标 40、效益指标 40", "产出指标 50"),
    ({"split": "per_level2"}, "分值", "二级指标间平均分配", "在其三级指标间平均分配"),
    ({"department": "mean"}, "部门整体", "简单平均", "加权"),
    ({"overshoot__threshold": 2.0}, "超额完成", "r ≥ 2", "1.5"),
    ({"overshoot__deduct": {"kind": "linear", "points": [[1.5, 0], [3, 0.5]]}}, "超额完成", "扣分曲线", "不扣分"),
    ({"deadline__late_penalty_per_month": 0.25}, "完成比例 r", "0.25 × 逾期月数", "0.1 ×"),
    ({"execution__schedule__points_per_checkpoint": 2}, "预算执行率", "每个节点扣 2 分", "不扣分"),
    ({"grades": [{"grade": "A", "min": 85}, {"grade": "B", "min": 0}]}, "等级", "85 分及以上为A", "90"),
]


@pytest.mark.parametrize(("changes", "row", "present", "absent"), METHOD_CASES)
def test_method_text_follows_rules(changes: dict, row: str, present: str, absent: str) -> None:
    """It should describe the method with the rule set's own curves, weights, rounding and bands."""
    from selfeval.report.excel import method_rows

    text = dict(method_rows(_rules(**changes)))[row]
    assert present in text and absent not in text, text


def test_method_sheet_shows_changed_rule(tmp_path: Path) -> None:
    """It should write the changed rounding and step curve into the workbook's 计算说明."""
    rows = _method(_rules(rounding__decimals=1, curves={"default": {"kind": "step", "points": [[0.8, 0.8], [1, 1]]}}),
                   tmp_path)
    assert "保留 1 位小数" in rows["舍入"] and "2 位小数" not in rows["舍入"]
    assert "阶梯" in rows["指标得分"] and "r ≥ 0.8 记 0.8" in rows["指标得分"] and "min(r, 1)" not in rows["指标得分"]


# ------------------------------------------------------------------ the one table writer


@pytest.mark.parametrize("fmt", ["parquet", "csv", "both"])
def test_write_tables_formats(fmt: str, tmp_path: Path) -> None:
    """It should write eager and lazy frames as parquet and/or BOM-prefixed csv, atomically."""
    from selfeval.report.tables import write_tables

    frame = pl.DataFrame({"项目": ["甲", "乙"], "n": [1, 2]})
    written = write_tables({"a": frame, "b": frame.lazy()}, tmp_path / "out", fmt)
    suffixes = ["parquet", "csv"] if fmt == "both" else [fmt]
    assert [p.name for p in written] == [f"{n}.{s}" for n in "ab" for s in suffixes]
    for path in written:
        if path.suffix == ".csv":
            assert path.read_bytes().startswith(b"\xef\xbb\xbf")
            assert pl.read_csv(path).equals(frame)
        else:
            assert pl.read_parquet(path).equals(frame)
    assert not list((tmp_path / "out").glob(".*"))


def test_write_tables_rejects_unknown_format(tmp_path: Path) -> None:
    """It should refuse an unknown format before writing anything."""
    from selfeval.report.tables import write_tables

    with pytest.raises(ValueError, match="xlsx"):
        write_tables({"a": pl.DataFrame({"x": [1]})}, tmp_path / "out", "xlsx")
    assert not (tmp_path / "out").exists()


def test_whatif_cli_writes_tables(tmp_path: Path) -> None:
    """It should write the what-if comparison tables with --tables through the one table writer."""
    from typer.testing import CliRunner

    from selfeval.cli import app

    run = CliRunner().invoke(app, ["whatif", str(SEED), "-a", str(ACTUALS), "-e", str(EXECUTION), "--sweep",
                                   "weights.产出指标=50,40", "--tables", str(tmp_path / "t"), "--format", "both"])
    assert run.exit_code == 0, run.output
    names = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert names == sorted(f"whatif_{n}.{s}" for n in ("summary", "projects", "units", "migration", "parameters")
                           for s in ("parquet", "csv"))
    assert pl.read_parquet(tmp_path / "t" / "whatif_units.parquet").height == 1


def test_labels_declared_once() -> None:
    """It should keep severity labels, grade styles and fills in the labels module only."""
    src = ROOT / "src" / "selfeval"
    pattern_hits = []
    for path in src.rglob("*.py"):
        if path.name == "labels.py":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ('"error": "错误"', '"优": "bold green"', '"优": ("#C6EFCE"', '"scored": "已评分"'):
            if needle in text:
                pattern_hits.append(f"{path.relative_to(src)}: {needle}")
    assert pattern_hits == []
