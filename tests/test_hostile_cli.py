"""Every bad input: one line on stderr, exit 2, no traceback, nothing written outside --out (issue 10 §6).

The catalogue below is data: each case is a command line run in a fresh folder holding copies
of the samples (`seed.txt`, `actuals.csv`, `execution.csv`), the files to create first (text,
bytes, or a builder taking the folder), and the fragments the single stderr line must contain —
the file it names and, where there is one, the row and column. Cases cover every command × every
path option, every numeric option's range, every reader and the rule files. Most run through
typer's CliRunner; a few run the real console script in a subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from selfeval.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = {"seed.txt": "seed_targets_2025.txt", "actuals.csv": "actuals_sample.csv", "execution.csv": "execution_sample.csv"}
OUTPUT_OPTIONS = ("--out", "-o", "--tables")
runner = CliRunner()

Content = str | bytes | Callable[[Path], None]


# ------------------------------------------------------------------------------ builders


def _sample(name: str) -> str:
    return (ROOT / "samples" / SAMPLES[name]).read_text(encoding="utf-8-sig")


def _execution_with(value: str) -> str:
    """The sample execution table with the first project's 全年执行数 replaced by `value`."""
    lines = _sample("execution.csv").splitlines()
    cells = lines[1].split(",")
    cells[-1] = value
    lines[1] = ",".join(cells)
    return "\n".join(lines) + "\n"


def _actuals_with_quote(line: int) -> str:
    """The sample actuals with an opening quote that never closes, in line `line`'s seq cell."""
    lines = _sample("actuals.csv").splitlines()
    lines[line - 1] = lines[line - 1].replace(",", ',"', 1)
    return "\n".join(lines) + "\n"


def _list_column(tmp: Path) -> None:
    pl.DataFrame({"project_code": ["13022925P00JXC419898U"], "seq": [[1, 2]], "actual_text": ["95%"]}).write_parquet(tmp / "list.parquet")


def _workbook_as(name: str) -> Callable[[Path], None]:
    def build(tmp: Path) -> None:
        from openpyxl import Workbook

        book = Workbook()
        book.active.append(["project_code", "year_budget", "executed"])
        book.save(tmp / "book.xlsx")
        (tmp / "book.xlsx").rename(tmp / name)

    return build


def _broken_zip(tmp: Path) -> None:
    with zipfile.ZipFile(tmp / "broken.docx", "w") as archive:
        archive.writestr("word/document.xml", "<not xml")


def _tables(year: str = "2025", quote: bool = False, list_column: bool = False) -> Callable[[Path], None]:
    """A folder `tables/` of canonical tables (the seed's), with one defect."""

    def build(tmp: Path) -> None:
        from selfeval.ingest import read_declared, write_declared

        folder = tmp / "tables"
        write_declared(read_declared(ROOT / "samples" / SAMPLES["seed.txt"]), folder, "csv")
        units = (folder / "units.csv").read_text(encoding="utf-8-sig").replace(",2025", f",{year}")
        if quote:
            units = units.replace("480001,", '480001,"', 1)
        (folder / "units.csv").write_text(units, encoding="utf-8")
        if list_column:
            (folder / "indicators.csv").unlink()
            pl.DataFrame({"project_code": ["P"], "seq": [[1]], "level1": ["产出指标"], "level3": ["x"],
                          "target_text": ["1"]}).write_parquet(folder / "indicators.parquet")

    return build


def _unreadable_units(tmp: Path) -> None:
    """A folder of per-unit inputs in which every unit is unreadable."""
    (tmp / "county" / "u1").mkdir(parents=True)
    (tmp / "county" / "u1" / "decl.txt").write_text("随便写的文字\n", encoding="utf-8")
    (tmp / "county" / "u1" / "decl.xlsx").write_bytes(b"not a workbook")


def _seed_with(line: int, value: str) -> str:
    """The seed text dump with line `line` (1-based, a table cell) holding `value`."""
    lines = _sample("seed.txt").splitlines()
    lines[line - 1] = f"\t{value}"
    return "\n".join(lines) + "\n"


RULE_90 = "extends: mof-2020\nweights: {产出指标: 40}\n"
RULE_TIERS_EMPTY = "extends: mof-2020\nqualitative:\n  tiers: {}\n"


# ------------------------------------------------------------------------------ the catalogue


@dataclass(frozen=True)
class Case:
    id: str
    args: list[str]
    must: tuple[str, ...]  # fragments the single stderr line must contain
    files: dict[str, Content] = field(default_factory=dict)
    code: int = 2


SCORE = ["score", "seed.txt", "-a", "actuals.csv", "-e", "execution.csv"]
REPORT = ["report", "seed.txt", "-a", "actuals.csv", "-e", "execution.csv"]
WHATIF = ["whatif", "seed.txt", "-a", "actuals.csv", "-e", "execution.csv"]
SWEEP = ["--sweep", "weights.产出指标=40,50"]

CASES: list[Case] = [
    # -- parse: the declaration readers
    Case("parse-missing", ["parse", "nosuch.txt"], ("nosuch.txt", "不存在")),
    Case("parse-empty", ["parse", "empty.txt"], ("empty.txt", "为空"), {"empty.txt": b""}),
    Case("parse-binary", ["parse", "blob.txt"], ("blob.txt", "不是文本文件"), {"blob.txt": b"\x00\x01\xff" * 200}),
    Case("parse-no-table", ["parse", "words.txt"], ("words.txt",), {"words.txt": "随便写的文字\n"}),
    Case("parse-pdf", ["parse", "doc.pdf"], ("doc.pdf", "PDF"), {"doc.pdf": b"%PDF-1.4 x"}),
    Case("parse-old-office", ["parse", "old.doc"], ("old.doc", "旧版"), {"old.doc": b"\xd0\xcf\x11\xe0" + b"\x00" * 64}),
    Case("parse-broken-zip", ["parse", "bad.xlsx"], ("bad.xlsx", "损坏"), {"bad.xlsx": b"PK\x03\x04garbage"}),
    Case("parse-broken-docx", ["parse", "broken.docx"], ("broken.docx",), {"broken.docx": _broken_zip}),
    Case("parse-xlsx-named-docx", ["parse", "book.docx"], ("book.docx", "Excel", ".docx"), {"book.docx": _workbook_as("book.docx")}),
    Case("parse-truncated-parquet", ["parse", "tables"], ("units.parquet", "Parquet"),
         {"tables/units.parquet": b"PAR1\x00\x00", "tables/projects.csv": "project_code,project_name\n",
          "tables/indicators.csv": "project_code,seq,level1,level3,target_text\n"}),
    Case("parse-tables-year-0", ["parse", "tables"], ("units.csv", "第 2 行", "year"), {"tables": _tables(year="0")}),
    Case("parse-tables-unbalanced-quote", ["parse", "tables"], ("units.csv", "第 2 行", "unit_name", "引号"), {"tables": _tables(quote=True)}),
    Case("parse-tables-list-column", ["parse", "tables"], ("indicators.parquet", "seq", "List"), {"tables": _tables(list_column=True)}),
    Case("parse-document-negative-budget", ["parse", "neg.txt"], ("neg.txt", "第 58 行", "预算数", "负数"), {"neg.txt": _seed_with(65, "-20000.00")}),
    Case("parse-document-infinite-budget", ["parse", "inf.txt"], ("inf.txt", "预算数"), {"inf.txt": _seed_with(65, "inf")}),
    Case("parse-empty-folder", ["parse", "nothing"], ("nothing",), {"nothing/.keep": ""}),
    Case("parse-year-0", ["parse", "seed.txt", "--year", "0"], ("--year",)),
    Case("parse-year-negative", ["parse", "seed.txt", "--year", "-1"], ("--year",)),
    Case("parse-year-huge", ["parse", "seed.txt", "--year", "99999999999"], ("--year",)),
    Case("parse-year-text", ["parse", "seed.txt", "--year", "二〇二五"], ("--year",)),
    Case("parse-format", ["parse", "seed.txt", "--out", "p", "--format", "xml"], ("--format",)),
    Case("parse-out-is-file", ["parse", "seed.txt", "--out", "afile"], ("afile", "文件"), {"afile": "x"}),
    Case("parse-out-under-file", ["parse", "seed.txt", "--out", "afile/sub"], ("afile",), {"afile": "x"}),
    # -- score: every path option and every table reader
    Case("score-out-is-file", [*SCORE, "--out", "afile"], ("afile",), {"afile": "x"}),
    Case("score-out-under-file", [*SCORE, "--out", "afile/sub"], ("afile",), {"afile": "x"}),
    Case("score-actuals-missing", ["score", "seed.txt", "-a", "nosuch.csv", "-e", "execution.csv"], ("nosuch.csv", "实际完成值")),
    Case("score-execution-missing", ["score", "seed.txt", "-a", "actuals.csv", "-e", "nosuch.csv"], ("nosuch.csv", "预算执行")),
    Case("score-declared-missing", ["score", "nosuch.txt", "-a", "actuals.csv", "-e", "execution.csv"], ("nosuch.txt",)),
    Case("score-actuals-folder", ["score", "seed.txt", "-a", "adir", "-e", "execution.csv"], ("adir",), {"adir/.keep": ""}),
    Case("score-actuals-is-declaration", ["score", "seed.txt", "-a", "seed.txt", "-e", "execution.csv"], ("seed.txt", "实际完成值")),
    Case("score-actuals-list-column", ["score", "seed.txt", "-a", "list.parquet", "-e", "execution.csv"], ("list.parquet", "seq"),
         {"list.parquet": _list_column}),
    Case("score-actuals-unbalanced-quote", ["score", "seed.txt", "-a", "quote.csv", "-e", "execution.csv"],
         ("quote.csv", "第 6 行", "seq", "引号"), {"quote.csv": _actuals_with_quote(6)}),
    Case("score-actuals-quote-last-line", ["score", "seed.txt", "-a", "quote.csv", "-e", "execution.csv"],
         ("quote.csv", "第 46 行", "seq"), {"quote.csv": _actuals_with_quote(46)}),
    Case("score-executed-negative", ["score", "seed.txt", "-a", "actuals.csv", "-e", "neg.csv"],
         ("neg.csv", "第 2 行", "executed", "负数"), {"neg.csv": _execution_with("-19850")}),
    Case("score-executed-percent", ["score", "seed.txt", "-a", "actuals.csv", "-e", "pct.csv"],
         ("pct.csv", "第 2 行", "executed", "百分数"), {"pct.csv": _execution_with("99%")}),
    Case("score-executed-huge", ["score", "seed.txt", "-a", "actuals.csv", "-e", "big.csv"],
         ("big.csv", "第 2 行", "executed"), {"big.csv": _execution_with("1e300")}),
    Case("score-executed-text", ["score", "seed.txt", "-a", "actuals.csv", "-e", "txt.csv"],
         ("txt.csv", "第 2 行", "executed"), {"txt.csv": _execution_with("一万九")}),
    Case("score-execution-header-only", ["score", "seed.txt", "-a", "actuals.csv", "-e", "hdr.csv"],
         ("hdr.csv", "没有数据行"), {"hdr.csv": "project_code,year_budget,executed\n"}),
    Case("score-execution-xlsx-named-docx", ["score", "seed.txt", "-a", "actuals.csv", "-e", "book.docx"],
         ("book.docx", "Excel"), {"book.docx": _workbook_as("book.docx")}),
    Case("score-execution-empty", ["score", "seed.txt", "-a", "actuals.csv", "-e", "empty.csv"], ("empty.csv",), {"empty.csv": b""}),
    Case("score-rules-missing", [*SCORE, "-r", "nosuch"], ("nosuch",)),
    Case("score-rules-not-yaml", [*SCORE, "-r", "token.txt"], ("token.txt", ".yaml"), {"token.txt": "title: SECRET-TOKEN\n"}),
    Case("score-rules-weights-90", [*SCORE, "-r", "r90.yaml"], ("r90.yaml", "weights", "total_points"), {"r90.yaml": RULE_90}),
    Case("score-rules-extends-any-file", [*SCORE, "-r", "ext.yaml"], ("ext.yaml", "extends"),
         {"ext.yaml": "extends: token.txt\n", "token.txt": "title: SECRET-TOKEN\n"}),
    Case("score-rules-extends-absolute", [*SCORE, "-r", "ext.yaml"], ("ext.yaml", "extends"), {"ext.yaml": "extends: /etc/hostname.yaml\n"}),
    Case("score-rules-extends-outside", [*SCORE, "-r", "r/ext.yaml"], ("ext.yaml", "extends"),
         {"r/ext.yaml": "extends: ../other.yaml\n", "other.yaml": "title: x\n"}),
    Case("score-rules-tiers-empty", [*SCORE, "-r", "tiers.yaml"], ("tiers.yaml", "tiers"), {"tiers.yaml": RULE_TIERS_EMPTY}),
    Case("score-rules-bad-yaml", [*SCORE, "-r", "bad.yaml"], ("bad.yaml", "第 2 行"), {"bad.yaml": "a: [\n"}),
    Case("score-rules-not-mapping", [*SCORE, "-r", "list.yaml"], ("list.yaml",), {"list.yaml": "- a\n- b\n"}),
    Case("score-rules-folder", [*SCORE, "-r", "rdir.yaml"], ("rdir.yaml",), {"rdir.yaml/.keep": ""}),
    Case("score-rules-dir-missing", [*SCORE, "--rules-dir", "nosuch"], ("nosuch", "规则文件夹")),
    Case("score-rules-dir-file", [*SCORE, "--rules-dir", "afile"], ("afile", "规则文件夹"), {"afile": "x"}),
    Case("score-rules-empty-name", [*SCORE, "-r", ""], ("规则集",)),
    Case("score-path-too-long", ["score", "seed.txt", "-a", "a" * 300 + ".csv", "-e", "execution.csv"], ("a" * 300 + ".csv",)),
    Case("score-out-path-too-long", [*SCORE, "--out", "o" * 300], ("o" * 300,)),
    Case("score-year", [*SCORE, "--year", "0"], ("--year",)),
    Case("score-style", [*SCORE, "--style", "xml"], ("--style",)),
    Case("score-format", [*SCORE, "--format", "xml"], ("--format",)),
    Case("score-missing-execution-option", ["score", "seed.txt", "-a", "actuals.csv"], ("--execution",)),
    # -- rules
    Case("rules-show-missing", ["rules", "show", "nosuch"], ("nosuch",)),
    Case("rules-show-empty-name", ["rules", "show", ""], ("规则集",)),
    Case("rules-show-parent-path", ["rules", "show", "../x"], ("../x",)),
    Case("rules-show-weights-90", ["rules", "show", "r90.yaml"], ("r90.yaml", "weights"), {"r90.yaml": RULE_90}),
    Case("rules-list-rules-dir-missing", ["rules", "list", "--rules-dir", "nosuch"], ("nosuch",)),
    # -- template
    Case("template-declared-missing", ["template", "nosuch.txt", "--out", "t.xlsx"], ("nosuch.txt",)),
    Case("template-out-is-folder", ["template", "seed.txt", "--out", "adir"], ("adir", "文件夹"), {"adir/.keep": ""}),
    Case("template-out-under-file", ["template", "seed.txt", "--out", "afile/t.xlsx"], ("afile",), {"afile": "x"}),
    Case("template-rules-missing", ["template", "seed.txt", "--out", "t.xlsx", "-r", "nosuch"], ("nosuch",)),
    Case("template-year", ["template", "seed.txt", "--out", "t.xlsx", "--year", "-1"], ("--year",)),
    # -- report
    Case("report-out-under-file", [*REPORT, "--out", "afile/r.xlsx"], ("afile",), {"afile": "x"}),
    Case("report-out-xlsx-is-folder", [*REPORT, "--out", "adir.xlsx"], ("adir.xlsx",), {"adir.xlsx/.keep": ""}),
    Case("report-out-folder-is-file", [*REPORT, "--out", "afile"], ("afile",), {"afile": "x"}),
    Case("report-unit-unknown", [*REPORT, "--unit", "999999", "--out", "r.xlsx"], ("999999",)),
    Case("report-rules-weights-90", [*REPORT, "-r", "r90.yaml", "--out", "r.xlsx"], ("r90.yaml",), {"r90.yaml": RULE_90}),
    Case("report-executed-negative", ["report", "seed.txt", "-a", "actuals.csv", "-e", "neg.csv", "--out", "r.xlsx"],
         ("neg.csv", "executed"), {"neg.csv": _execution_with("-1")}),
    Case("report-year", [*REPORT, "--year", "99999999999"], ("--year",)),
    # -- demo
    Case("demo-out-is-file", ["demo", "--out", "afile"], ("afile",), {"afile": "x"}),
    # -- lint
    Case("lint-declared-missing", ["lint", "nosuch.txt"], ("nosuch.txt",)),
    Case("lint-config-missing", ["lint", "seed.txt", "--config", "nosuch.yaml"], ("nosuch.yaml",)),
    Case("lint-config-bad-field", ["lint", "seed.txt", "--config", "c.yaml"], ("c.yaml", "checks.nosuch"), {"c.yaml": "checks: {nosuch: 1}\n"}),
    Case("lint-config-folder", ["lint", "seed.txt", "--config", "adir"], ("adir", "不是文件"), {"adir/.keep": ""}),
    Case("lint-config-bad-yaml", ["lint", "seed.txt", "--config", "c.yaml"], ("c.yaml",), {"c.yaml": "a: [\n"}),
    Case("lint-xlsx-without-out", ["lint", "seed.txt", "--format", "xlsx"], ("--out",)),
    Case("lint-table-with-out", ["lint", "seed.txt", "--out", "l.json"], ("--format",)),
    Case("lint-out-is-folder", ["lint", "seed.txt", "--format", "json", "--out", "adir"], ("adir",), {"adir/.keep": ""}),
    Case("lint-year", ["lint", "seed.txt", "--year", "0"], ("--year",)),
    # -- synth
    Case("synth-seed-negative", ["synth", "--units", "2", "--seed", "-1", "--out", "s"], ("--seed",)),
    Case("synth-units-0", ["synth", "--units", "0", "--out", "s"], ("--units",)),
    Case("synth-units-huge", ["synth", "--units", "99999999999", "--out", "s"], ("--units",)),
    Case("synth-out-is-file", ["synth", "--units", "2", "--out", "afile"], ("afile",), {"afile": "x"}),
    Case("synth-missing-out", ["synth", "--units", "2"], ("--out",)),
    # -- bulk
    Case("bulk-source-missing", ["bulk", "nosuch", "--out", "b"], ("nosuch",)),
    Case("bulk-source-is-file", ["bulk", "seed.txt", "--out", "b"], ("seed.txt",)),
    Case("bulk-source-empty", ["bulk", "nothing", "--out", "b"], ("nothing",), {"nothing/.keep": ""}),
    Case("bulk-out-is-file", ["bulk", "nothing", "--out", "afile"], ("afile",), {"afile": "x", "nothing/.keep": ""}),
    Case("bulk-top-negative", ["bulk", "nothing", "--out", "b", "--top", "-5"], ("--top",)),
    Case("bulk-workers-0", ["bulk", "nothing", "--out", "b", "--workers", "0"], ("--workers",)),
    Case("bulk-workers-huge", ["bulk", "nothing", "--out", "b", "--workers", "100000"], ("--workers",)),
    Case("bulk-rules-missing", ["bulk", "nothing", "--out", "b", "-r", "nosuch"], ("nosuch",), {"nothing/.keep": ""}),
    Case("bulk-format", ["bulk", "nothing", "--out", "b", "--format", "xml"], ("--format",)),
    # -- whatif
    Case("whatif-nothing-to-compare", [*WHATIF], ("--rules",)),
    Case("whatif-actuals-alone", ["whatif", "seed.txt", "-a", "actuals.csv", *SWEEP], ("--execution",)),
    Case("whatif-sweep-unknown-field", [*WHATIF, "--sweep", "nosuch=1"], ("nosuch",)),
    Case("whatif-sweep-not-a-number", [*WHATIF, "--sweep", "weights.产出指标=abc"], ("weights.产出指标",)),
    Case("whatif-sweep-nan", [*WHATIF, "--sweep", "weights.产出指标=nan"], ("weights.产出指标",)),
    Case("whatif-sweep-negative", [*WHATIF, "--sweep", "weights.产出指标=-5"], ("weights",)),
    Case("whatif-sweep-shape", [*WHATIF, "--sweep", "="], ("--sweep",)),
    Case("whatif-rules-missing", [*WHATIF, "-r", "mof-2020", "-r", "nosuch"], ("nosuch",)),
    Case("whatif-rules-weights-90", [*WHATIF, "-r", "mof-2020", "-r", "r90.yaml"], ("r90.yaml",), {"r90.yaml": RULE_90}),
    Case("whatif-top-negative", [*WHATIF, *SWEEP, "--top", "-5"], ("--top",)),
    Case("whatif-out-is-folder", [*WHATIF, *SWEEP, "--out", "adir"], ("adir",), {"adir/.keep": ""}),
    Case("whatif-tables-is-file", [*WHATIF, *SWEEP, "--tables", "afile"], ("afile",), {"afile": "x"}),
    Case("whatif-source-missing", ["whatif", "nosuch", *SWEEP], ("nosuch",)),
    Case("whatif-all-units-skipped", ["whatif", "county", *SWEEP], ("county", "没有可评分的单位"), {"county": _unreadable_units}),
    Case("whatif-executed-negative", ["whatif", "seed.txt", "-a", "actuals.csv", "-e", "neg.csv", *SWEEP],
         ("neg.csv", "executed"), {"neg.csv": _execution_with("-19850")}),
]


def _prepare(tmp: Path, files: dict[str, Content]) -> None:
    for name, source in SAMPLES.items():
        shutil.copyfile(ROOT / "samples" / source, tmp / name)
    for name, content in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(tmp)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _snapshot(tmp: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(tmp)): (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp.rglob("*") if p.is_file()}


def _outputs(args: list[str]) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a in OUTPUT_OPTIONS]


def _assert_one_clean_line(code: int, stderr: str, case: Case) -> None:
    lines = stderr.strip().splitlines()
    assert code == case.code, f"{case.id}: exit {code}; stderr: {stderr}"
    assert len(lines) == 1, f"{case.id}: {len(lines)} lines on stderr:\n{stderr}"
    assert "Traceback" not in stderr and lines[0].startswith("错误："), lines[0]
    for fragment in case.must:
        assert fragment in lines[0], f"{case.id}: {fragment!r} not in {lines[0]!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_one_line_exit_2(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should answer a bad input with exit 2 and one line naming it, and change no file outside --out."""
    monkeypatch.chdir(tmp_path)
    _prepare(tmp_path, case.files)
    before = _snapshot(tmp_path)
    result = runner.invoke(app, case.args)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    _assert_one_clean_line(result.exit_code, result.stderr, case)
    outputs = _outputs(case.args)
    inside = lambda name: any(name == o or name.startswith(f"{o}/") for o in outputs)  # noqa: E731
    after = {k: v for k, v in _snapshot(tmp_path).items() if not inside(k)}
    assert after == {k: v for k, v in before.items() if not inside(k)}, f"{case.id}: files changed outside --out"


def test_catalogue_ids_unique() -> None:
    """It should name every case once."""
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


SUBPROCESS_CASES = ["parse-year-0", "score-out-is-file", "score-executed-negative", "synth-seed-negative", "whatif-all-units-skipped",
                    "score-rules-weights-90"]


@pytest.mark.parametrize("case_id", SUBPROCESS_CASES)
def test_bad_input_real_process(case_id: str, tmp_path: Path) -> None:
    """It should behave the same through the real console entry point (`python -m selfeval`)."""
    case = next(c for c in CASES if c.id == case_id)
    _prepare(tmp_path, case.files)
    env = {**os.environ, "COLUMNS": "80"}
    env.pop("SELFEVAL_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "selfeval", *case.args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env=env, check=False)
    _assert_one_clean_line(done.returncode, done.stderr, case)


def test_unexpected_error_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should turn an error nobody anticipated into one line and exit 2 (the traceback only with SELFEVAL_DEBUG)."""
    import selfeval.api

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("情景")

    monkeypatch.chdir(tmp_path)
    _prepare(tmp_path, {})
    monkeypatch.setattr(selfeval.api, "score", broken)
    monkeypatch.delenv("SELFEVAL_DEBUG", raising=False)
    result = runner.invoke(app, SCORE)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "KeyError" in lines[0] and "SELFEVAL_DEBUG" in lines[0]
    monkeypatch.setenv("SELFEVAL_DEBUG", "1")
    result = runner.invoke(app, SCORE)
    assert isinstance(result.exception, KeyError)


def test_warnings_are_not_printed_beside_the_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should print only the error line when an input also carried a column that is read but not used."""
    monkeypatch.chdir(tmp_path)
    lines = _sample("execution.csv").splitlines()
    lines = [lines[0] + ",执行率", *(line + ",98%" for line in lines[1:])]
    _prepare(tmp_path, {"warn.csv": "\n".join(lines) + "\n"})
    args = ["report", "seed.txt", "-a", "actuals.csv", "-e", "warn.csv", "--out", "r.xlsx"]
    assert "注意" in runner.invoke(app, args).stderr  # the column is worth a note on a clean run
    result = runner.invoke(app, [*args, "--unit", "999999"])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "注意" not in result.stderr


def test_bulk_dataset_under_glob_characters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should score a dataset whose folder name holds glob characters (`county[1]`)."""
    monkeypatch.chdir(tmp_path)
    from selfeval.synth import write_synth

    write_synth(tmp_path / "county[1]", 2, 0)
    result = runner.invoke(app, ["bulk", "county[1]", "--out", "results"])
    assert "跳过 0 个" in result.stdout, result.stdout
