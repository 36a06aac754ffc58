"""Messy input is read or refused precisely, nothing is lost, and outputs stay safe (issue 7).

The fixtures are built by hand-written code in tests/fixtures/messy/build.py into tmp_path.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import polars as pl
import pytest

from selfeval.api import score
from selfeval.errors import InputError, Problem
from selfeval.ingest import read_actuals, read_declared, read_execution
from selfeval.reconcile import ReconciliationError, reconcile

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "selfeval"
_spec = importlib.util.spec_from_file_location("messy_build", ROOT / "tests" / "fixtures" / "messy" / "build.py")
assert _spec is not None and _spec.loader is not None
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

P1, P5 = build.P1, build.P5
GOLDEN_TOTALS = {  # SPEC.md §5.7
    "13022925P00JXC419898U": 99.93,
    "13022925P00JXC419591N": 100.00,
    "13022925P00016410007L": 99.36,
    "13022925P00JXC419899F": 98.07,
    "13022925P00JXC419896L": 99.55,
}


@pytest.fixture(scope="module")
def seed():
    return read_declared(build.SEED)


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("messy")


def _problems(call, *args, **kwargs) -> list[Problem]:
    with pytest.raises(InputError) as err:
        call(*args, **kwargs)
    return err.value.problems


def _where(problems: list[Problem]) -> set[tuple[str | None, int | None, str | None, str | None]]:
    return {(p.sheet, p.row, p.column, p.value) for p in problems}


# ---------------------------------------------------------------- the filled template


def test_mixed_types_template_scores_like_the_sample(seed, messy: Path) -> None:
    """It should read percent cells, bare numbers, spaces, full-width digits and blank rows as typed and score the golden totals."""
    path = build.filled_template(messy)
    actuals, execution = read_actuals(path), read_execution(path)
    assert actuals.height == 45 and execution.height == 5
    assert execution.sort("project_code")["executed"].to_list() == [19600.0, 89000.0, 19600.0, 19850.0, 27300.0]
    result = score(seed, actuals, execution)
    totals = dict(result.project_scores.select("project_code", "total").iter_rows())
    assert totals == GOLDEN_TOTALS
    assert result.unit_scores["total"].to_list() == [99.55]
    sample = score(seed, build.ACTUALS_SAMPLE, build.EXECUTION_SAMPLE)
    keys = ["project_code", "seq"]
    assert result.indicator_scores.select(*keys, "points").equals(sample.indicator_scores.select(*keys, "points"))
    rec = reconcile(result, actuals.height, execution_rows_read=execution.height).check()
    assert rec.line() == (
        "对账：申报指标 45 = 已评分 45 + 无法评分 0（均有问题记录）；实际完成值 45 行，其中 0 行未匹配；"
        "预算执行 5 个项目 = 已评分 5 + 无法评分 0"
    )


def test_template_with_gaps_reconciles(seed, messy: Path) -> None:
    """It should turn an empty value, a wrong unit and an undeclared row into located findings that add up."""
    path = build.filled_template(messy, gaps=True)
    actuals = read_actuals(path)
    result = score(seed, actuals, read_execution(path))
    errors = result.findings.filter(pl.col("severity") == "error")
    located = set(errors.select("code", "project_code", "seq", "column").iter_rows())
    assert located == {
        ("MISSING_ACTUAL", P5, 4, "actual_text"),
        ("UNIT_MISMATCH", P1, 2, "actual_text"),
        ("KEY_MISMATCH", P1, 10, "seq"),
    }
    assert errors.filter(pl.col("code") == "UNIT_MISMATCH")["value"].to_list() == ["3次"]
    rec = reconcile(result, actuals.height).check()
    assert (rec.declared, rec.scored, rec.unscorable, rec.actual_rows, rec.unmatched) == (45, 43, 2, 46, 1)
    assert rec.line().startswith("对账：申报指标 45 = 已评分 43 + 无法评分 2（均有问题记录）；实际完成值 46 行，其中 1 行未匹配；")


def test_sheet_name_tolerates_spaces_and_width(messy: Path) -> None:
    """It should find 实际完成值 when asked for it with stray spaces."""
    path = build.filled_template(messy)
    assert read_actuals(path, sheet=" 实际完成值 ").height == 45


# ---------------------------------------------------------------- error cells, formulas, sheets


def test_error_cells_reported_with_locations(messy: Path) -> None:
    """It should report every Excel error value at once, with sheet, row, column as written and value."""
    path = build.error_cells(messy)
    assert _where(_problems(read_actuals, path)) == {
        ("实际完成值", 3, "实际完成值（actual_text）", "#N/A"),
        ("实际完成值", 4, "序号（seq）", "#REF!"),
        ("实际完成值", 5, "偏差原因分析及改进措施（deviation_reason）", "#DIV/0!"),
        ("实际完成值", 7, "实际完成值（actual_text）", "#VALUE!"),
    }
    problems = _problems(read_execution, path)
    assert _where(problems) == {("预算执行", 2, "全年执行数（executed）", "#DIV/0!")}
    assert all(p.file == str(path) and p.expected for p in problems)


def test_formula_cached_value_is_read(messy: Path) -> None:
    """It should read the value Excel cached for a formula, honouring the cell's percent format."""
    path = build.formulas(messy, cached=True)
    assert read_actuals(path)["actual_text"].to_list() == ["20000元", "98%"]
    assert read_execution(path)["executed"].to_list() == [19850.0]


def test_formula_without_cached_value_is_reported(messy: Path) -> None:
    """It should report a formula that has no cached result, naming the formula."""
    path = build.formulas(messy, cached=False)
    assert _where(_problems(read_actuals, path)) == {("实际完成值", 3, "实际完成值（actual_text）", "=0.9+0.08")}
    assert _where(_problems(read_execution, path)) == {("预算执行", 2, "全年执行数（executed）", "=19600+250")}


def test_missing_sheet_lists_the_sheets(messy: Path) -> None:
    """It should name the sheets that exist when the sheet asked for is missing, or none holds actuals."""
    path = build.no_actuals_sheet(messy)
    (named,) = _problems(read_actuals, path, sheet="实际完成值")
    assert "说明、汇总" in named.message and named.value == "实际完成值"
    (unnamed,) = _problems(read_actuals, path)
    assert unnamed.sheet == "汇总" and "序号" in unnamed.message and "实际完成值" in unnamed.message


# ---------------------------------------------------------------- duplicate keys, merged cells


def test_duplicate_actual_keys_name_both_rows(messy: Path) -> None:
    """It should report a repeated (项目编码, 序号) with both file rows (blank lines counted)."""
    (problem,) = _problems(read_actuals, build.duplicate_keys_csv(messy))
    assert problem.row == 48 and "第 4 行与第 48 行" in problem.message and P1 in problem.value


def test_duplicate_execution_rows(messy: Path) -> None:
    """It should report a project named twice in 预算执行 with both rows."""
    (problem,) = _problems(read_execution, build.duplicate_execution_xlsx(messy))
    assert (problem.sheet, problem.row) == ("预算执行", 4) and "第 2 行与第 4 行" in problem.message


def test_duplicate_declared_indicator_rows(messy: Path) -> None:
    """It should report a repeated indicator key of a canonical workbook with both sheet rows."""
    (problem,) = _problems(read_declared, build.duplicate_declared_xlsx(messy))
    assert problem.sheet == "indicators" and re.search(r"第 \d+ 行与第 47 行", problem.message)


def test_merged_cells_fill_their_range(messy: Path) -> None:
    """It should give every row of a merged 项目编码 the merged value and skip a merged title row."""
    frame = read_actuals(build.merged_layout(messy))
    assert frame["project_code"].to_list() == [P1] * 9
    assert frame["seq"].to_list() == list(range(1, 10))


# ---------------------------------------------------------------- cell-level reading (csv)


NUMBER_CASES = [
    ("19,850.00", 19850.0),
    ("１９，８５０．００", 19850.0),
    ("  19850  ", 19850.0),
    ("1.985万", 19850.0),
    ("19850元", 19850.0),
]


@pytest.mark.parametrize(("text", "expected"), NUMBER_CASES)
def test_numbers_stored_as_text(tmp_path: Path, text: str, expected: float) -> None:
    """It should read amounts typed as text with separators, full-width digits, spaces or 万/元."""
    path = tmp_path / "e.csv"
    path.write_text(f'项目编码,全年预算数,全年执行数\nP1,20000,"{text}"\n', encoding="utf-8")
    assert read_execution(path)["executed"].to_list() == [expected]


@pytest.mark.parametrize("text", ["NaN", "inf", "-Infinity", "1e400", "#N/A", "十万"])
def test_non_numbers_in_amounts(tmp_path: Path, text: str) -> None:
    """It should refuse NaN, infinity, Excel errors and words as amounts, naming row, column and value."""
    path = tmp_path / "e.csv"
    path.write_text(f"项目编码,全年预算数,全年执行数\nP1,20000,{text}\n", encoding="utf-8")
    assert _where(_problems(read_execution, path)) == {(None, 2, "全年执行数（executed）", text)}


@pytest.mark.parametrize("seq", ["1.5", "99999999999", "-1e12"])
def test_seq_must_fit(tmp_path: Path, seq: str) -> None:
    """It should refuse a seq that is not a whole number that fits, instead of losing it."""
    path = tmp_path / "a.csv"
    path.write_text(f"project_code,seq,actual\nP1,{seq},96%\n", encoding="utf-8")
    problems = _problems(read_actuals, path)
    assert (2, "seq（序号）", seq) in {(p.row, p.column, p.value) for p in problems}


def test_every_bad_cell_reported_at_once(tmp_path: Path) -> None:
    """It should report all bad cells of a file in one error, one problem per cell, capped per column."""
    rows = "\n".join(f"P{i},x{i},1" for i in range(60))
    path = tmp_path / "e.csv"
    path.write_text("项目编码,全年预算数,全年执行数\n" + rows + "\nQ,1,#REF!\n", encoding="utf-8")
    problems = _problems(read_execution, path)
    budget = [p for p in problems if p.column == "全年预算数（year_budget）"]
    assert len(budget) == 51 and budget[0].row == 2 and "另有 10 处" in budget[-1].message
    assert ("全年执行数（executed）", 62, "#REF!") in {(p.column, p.row, p.value) for p in problems}


def test_repeated_header_with_values_is_reported(tmp_path: Path) -> None:
    """It should not silently drop a second 实际完成值 column that holds values."""
    path = tmp_path / "a.csv"
    path.write_text("项目编码,序号,实际完成值,actual\nP1,1,96%,97%\n", encoding="utf-8")
    (problem,) = _problems(read_actuals, path)
    assert (problem.row, problem.column, problem.value) == (2, "actual", "97%")


# ---------------------------------------------------------------- reconciliation


def test_reconciliation_catches_a_lost_row(seed) -> None:
    """It should raise when a scored row is dropped or an unscorable row has no finding."""
    result = score(seed, build.ACTUALS_SAMPLE, build.EXECUTION_SAMPLE)
    reconcile(result, 45).check()
    dropped = type(result)(**{**result.__dict__, "indicator_scores": result.indicator_scores.slice(1)})
    with pytest.raises(ReconciliationError, match="丢失"):
        reconcile(dropped).check()
    gap = score(seed, read_actuals(build.ACTUALS_SAMPLE).filter(pl.col("seq") != 3), build.EXECUTION_SAMPLE)
    assert reconcile(gap, 40).check().unscorable == 5
    silent = type(gap)(**{**gap.__dict__, "findings": gap.findings.filter(pl.col("code") != "MISSING_ACTUAL")})
    with pytest.raises(ReconciliationError, match="恰有一条"):
        reconcile(silent).check()
    with pytest.raises(ReconciliationError, match="少于"):
        reconcile(gap, 3).check()


# ---------------------------------------------------------------- safety audits


def _source_files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_yaml_only_safe_load() -> None:
    """It should load YAML only with yaml.safe_load anywhere in the package."""
    unsafe = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in _source_files()
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"yaml\.(load|full_load|unsafe_load|load_all)\(|Loader\s*=", line)
    ]
    assert unsafe == []


def test_every_xlsxwriter_workbook_keeps_strings_as_text() -> None:
    """It should create every workbook in the one factory, with strings never turned into formulas, links or numbers."""
    from selfeval.report.workbook import SAFE_OPTIONS

    factory = SRC / "report" / "workbook.py"
    offenders = []
    for p in _source_files():
        text = p.read_text(encoding="utf-8")
        where = [text.count(chr(10), 0, m.start()) + 1 for m in re.finditer(r"xlsxwriter\.Workbook\(|(?<![.\w])Workbook\(", text)]
        # write_excel given a path would open its own workbook without our options
        where += [text.count(chr(10), 0, m.start()) + 1 for m in re.finditer(r"\.write_excel\((?![^)]*workbook=)", text)]
        if where and p != factory:
            offenders += [f"{p.relative_to(ROOT)}:{line}" for line in where]
    assert offenders == []
    assert SAFE_OPTIONS == {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
                            "nan_inf_to_errors": True}


@pytest.mark.parametrize("name", ["../../x", "..", "/etc/passwd", "a/../../b", "C:\\temp\\x", "x\x00y", ""])
def test_safe_file_name_stays_in_folder(tmp_path: Path, name: str) -> None:
    """It should make a file name from input that cannot leave the chosen folder."""
    from selfeval.atomic import safe_file_name

    cleaned = safe_file_name(name)
    assert cleaned and "/" not in cleaned and "\\" not in cleaned and cleaned not in {".", ".."}
    assert (tmp_path / cleaned).resolve().parent == tmp_path.resolve()
