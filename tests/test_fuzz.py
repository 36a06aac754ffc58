"""Fuzz (issue 7): hostile texts and tables through read → score → workbook never crash, never
drop a row, and every failure is a finding or a clean SelfevalError.

Three tests, sized for CI on a small machine (SELFEVAL_FUZZ_SCALE multiplies the counts):

* test_fuzz_read_tables — 2,000 examples: a hostile actuals or execution table (.csv) through
  `read_actuals` / `read_execution`: a clean InputError naming the file, or every non-blank row
  kept with its text intact. Cheap (a few ms each).
* test_fuzz_score — 150 examples: up to three hostile units (canonical tables as .csv, actuals,
  execution) through read_declared → read_* → score → reconcile: indicator_scores has one row per
  declared indicator and the reconciliation adds up. Scoring costs ~0.2 s an example (Polars plan
  building), so each example carries several units and projects.
* test_fuzz_workbook — 40 examples: the same through `write_workbooks`; every file lands inside
  the output folder and no cell of any sheet is a formula.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from selfeval.errors import InputError, SelfevalError
from selfeval.findings import CATALOGUE
from selfeval.ingest import read_actuals, read_declared, read_execution
from selfeval.reconcile import reconcile

SCALE = float(os.environ.get("SELFEVAL_FUZZ_SCALE", "1"))
FAST = settings(
    max_examples=int(2000 * SCALE), deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
SLOW = settings(FAST, max_examples=int(150 * SCALE))
SLOWEST = settings(FAST, max_examples=int(40 * SCALE))

HOSTILE = (
    "=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-1+1", "@SUM(A1)", "../../etc/passwd",
    "..\\..\\x", "/etc/passwd", "CON", "", " ", "\t", "\u3000", "\u00a0", "\ufeff", "\u202e", "𠀀𠀁",
    "#N/A", "#REF!", "#DIV/0!", "#VALUE!", "NaN", "nan", "inf", "-inf", "1e308", "1e400", "-0",
    "99999999999999999999", "0.1e-320", "≥95%", "９５％", "1,150", "19,850.00", "8.9万元", "≥1.2万人次",
    "2025年", "2025年12月", "80%-90%", "≤5个工作日", "达成", "部分达成", "有效提升", "3次", "'quoted'",
    "a\nb", "\"", ",", "；", "null", "None",
)
# Characters hypothesis may draw: any printable unicode but C0/C1 controls (a file of control
# characters is refused as binary, tested elsewhere) and surrogates.
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
HOSTILE_TEXT = st.one_of(st.sampled_from(HOSTILE), TEXT)
# For whole runs: no Excel error values (a reader refuses them, which would end most examples early).
RUN_TEXT = st.one_of(st.sampled_from([h for h in HOSTILE if not h.startswith("#")]), TEXT.filter(lambda t: not t.startswith("#")))
NUMBER_TEXT = st.one_of(
    st.integers(-10**6, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(("19,850.00", "１９８５０", " 100 ", "2万", "100元", "1e400", "NaN", "", "#N/A", "x")),
)
LEVEL1 = st.sampled_from(("产出指标", "效益指标", "满意度指标", "成本指标", "服务对象满意度指标", "未知指标", "=1+1"))

pytestmark = pytest.mark.slow  # hypothesis: run in CI, skipped by the fast `-m "not slow"`


def _csv(header: list[str], rows: list[list[str | None]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return buffer.getvalue()


def _is_blank(values: list[str | None]) -> list[bool]:
    """Blank as the readers see it (Polars' whitespace, which is Unicode White_Space)."""
    series = pl.Series(values, dtype=pl.String).str.strip_chars()
    return (series.is_null() | (series == "")).to_list()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# ---------------------------------------------------------------- tables through the readers

ACTUAL_COLUMNS = ("项目编码", "序号", "三级指标", "实际完成值", "偏差原因分析及改进措施", "备注")
EXECUTION_COLUMNS = ("项目编码", "全年预算数", "全年执行数", "3月底累计执行数", "备注")


@st.composite
def hostile_tables(draw: st.DrawFn) -> tuple[str, list[str], list[list[str | None]]]:
    kind = draw(st.sampled_from(("actuals", "execution")))
    columns = list(ACTUAL_COLUMNS if kind == "actuals" else EXECUTION_COLUMNS)
    if draw(st.integers(0, 9)) == 0:  # sometimes a required column is missing
        columns.remove(draw(st.sampled_from(columns[:3])))
    if draw(st.integers(0, 19)) == 0:  # sometimes a header repeats
        columns.append(draw(st.sampled_from(columns)))
    n = draw(st.integers(0, 6))
    rows: list[list[str | None]] = []
    for i in range(n):
        row: list[str | None] = []
        for c in columns:
            if c == "序号":
                row.append(draw(st.one_of(st.just(str(i + 1)), st.just(str(i + 1)), NUMBER_TEXT)))
            elif c in ("全年预算数", "全年执行数", "3月底累计执行数"):
                row.append(draw(st.one_of(st.integers(0, 10**7).map(str), NUMBER_TEXT, st.none())))
            elif c == "项目编码":
                row.append(draw(st.one_of(st.sampled_from(("P1", "P2", "../../x", "=cmd|' /C calc'!A0")), HOSTILE_TEXT)))
            else:
                row.append(draw(st.one_of(st.none(), HOSTILE_TEXT)))
        rows.append(row)
    return kind, columns, rows


@FAST
@given(case=hostile_tables())
def test_fuzz_read_tables(work: Path, case: tuple[str, list[str], list[list[str | None]]]) -> None:
    """It should read a hostile table keeping every non-blank row and text, or raise a clean InputError."""
    kind, columns, rows = case
    path = work / f"{kind}.csv"
    path.write_text(_csv(columns, rows), encoding="utf-8")
    reader = read_actuals if kind == "actuals" else read_execution
    try:
        frame = reader(path)
    except InputError as err:
        assert err.problems and all(p.file == str(path) and p.message for p in err.problems)
        event("refused")
        return
    event("read")
    recognised = [j for j, c in enumerate(columns) if c != "备注"]
    first = {c: j for j, c in reversed(list(enumerate(columns)))}
    kept = [r for r in rows if not all(_is_blank([r[j] for j in recognised]))]
    assert frame.height == len(kept)
    if kind == "actuals":
        typed = pl.Series([r[first["实际完成值"]] for r in kept], dtype=pl.String).str.strip_chars()
        assert sorted(frame["actual_text"].drop_nulls().to_list()) == sorted(typed.filter(typed != "").to_list())
        assert frame["seq"].null_count() == 0 and frame["project_code"].null_count() == 0
    else:
        assert frame["project_code"].null_count() == 0
        assert frame.select(pl.col("year_budget", "executed").is_infinite().any()).row(0) == (False, False)


# ---------------------------------------------------------------- read → score → reconcile


@dataclass
class Case:
    files: dict[str, str] = field(default_factory=dict)  # file name → csv text


@st.composite
def hostile_runs(draw: st.DrawFn, max_units: int = 3) -> Case:
    units, projects, indicators, actuals, execution = [], [], [], [], []
    duplicate = draw(st.integers(0, 9)) == 0  # one case in ten repeats an actual row (a reader refuses it)
    for u in range(draw(st.integers(1, max_units))):
        unit_code = draw(st.sampled_from((f"U{u}", f"../U{u}", f"=U{u}", f"U{u}/x", f"U{u}\u3000")))
        units.append([unit_code, draw(RUN_TEXT) or "单位", "2025"])
        codes = draw(st.lists(st.one_of(st.sampled_from(("P1", "../../x", "=cmd|' /C calc'!A0", "CON", "a/b")), TEXT.filter(str.strip)),
                              min_size=1, max_size=2, unique_by=lambda s: s.strip()))
        for code in codes:
            projects.append([unit_code, code, draw(RUN_TEXT) or "项目", draw(st.sampled_from(("20000", "0", "1e308", "19,850.00")))])
            n = draw(st.integers(1, 4))
            for seq in range(1, n + 1):
                target = draw(st.one_of(st.sampled_from(("≥95%", "≤20000元", "2025年", "有效提升", "≥20次", "80%-90%")), RUN_TEXT))
                indicators.append([unit_code, code, str(seq), draw(LEVEL1), draw(RUN_TEXT) or f"指标{seq}", target or "≥1"])
                for _ in range(draw(st.sampled_from((0, 1, 1, 1, 1, 1, 1, 1, 1, 1)))):  # missing or present
                    actual = draw(st.one_of(st.sampled_from(("96%", "98", "20000元", "2025年6月", "达成", "3次")), RUN_TEXT))
                    actuals.append([unit_code, code, str(seq), actual, draw(st.one_of(st.none(), RUN_TEXT))])
            if draw(st.booleans()):
                actuals.append([unit_code, code, str(n + 1), draw(RUN_TEXT), None])  # undeclared
            if draw(st.integers(0, 4)):
                execution.append([unit_code, code, draw(st.sampled_from(("20000", "0", "", "1e308"))),
                                  draw(st.sampled_from(("19850", "0", "", "25000", "19,850.00")))])
    if duplicate and actuals:
        actuals.append(list(actuals[0]))
    return Case({
        "decl/units.csv": _csv(["unit_code", "unit_name", "year"], units),
        "decl/projects.csv": _csv(["unit_code", "project_code", "project_name", "budget"], projects),
        "decl/indicators.csv": _csv(["unit_code", "project_code", "seq", "level1", "level3", "target_text"], indicators),
        "actuals.csv": _csv(["单位编码", "项目编码", "序号", "实际完成值", "偏差原因分析及改进措施"], actuals),
        "execution.csv": _csv(["单位编码", "项目编码", "全年预算数", "全年执行数"], execution),
    })


def _run(work: Path, case: Case):
    """Read and score a case; None when a reader or the scorer refused it cleanly."""
    (work / "decl").mkdir(parents=True, exist_ok=True)
    for name, text in case.files.items():
        (work / name).write_text(text, encoding="utf-8")
    try:
        declared = read_declared(work / "decl")
        actuals = read_actuals(work / "actuals.csv")
        execution = read_execution(work / "execution.csv")
    except InputError as err:
        assert err.problems and all(p.message for p in err.problems)
        event("refused by a reader: " + err.problems[0].message[:12])
        return None
    from selfeval.api import score

    try:
        result = score(declared, actuals, execution)
    except SelfevalError:
        event("refused by score")
        return None
    assert result.indicator_scores.height == declared.indicators.height
    assert result.project_scores.height == declared.projects.height
    assert set(result.findings["code"].unique()) <= set(CATALOGUE)
    assert set(result.findings["severity"].unique()) <= {"error", "warning", "info"}
    reconcile(result, actuals.height, execution_rows_read=execution.height).check()
    event("scored")
    return result


@SLOW
@given(case=hostile_runs())
def test_fuzz_score(work: Path, case: Case) -> None:
    """It should score hostile inputs without losing a row, every unscorable row with one error finding."""
    _run(work / "score", case)


@SLOWEST
@given(case=hostile_runs(max_units=2))
def test_fuzz_workbook(work: Path, case: Case) -> None:
    """It should write every unit's workbook inside the output folder, with no formula anywhere."""
    from selfeval.report import excel
    result = _run(work / "wb", case)
    if result is None:
        return
    out = work / "wb" / "out"
    for old in out.glob("*"):
        old.unlink()
    for path in excel.write_workbooks(result, out):
        assert path.resolve().parent == out.resolve()
        with zipfile.ZipFile(path) as archive:
            sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
            assert sheets and not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in sheets)
