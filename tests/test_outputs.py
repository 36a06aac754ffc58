"""Outputs are all-or-nothing: one run's files or the previous run's, never a mix; inputs never
overwritten; no write through a symbolic link (issue 10 §2)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from selfeval.bulk import score_many
from selfeval.cli import app
from selfeval.declaration import Declaration
from selfeval.errors import OutputError
from selfeval.ingest import write_declared
from selfeval.report.parts import TableParts
from selfeval.staging import file_sha256, read_manifest
from selfeval.synth import synth, write_synth

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ds") / "ds"
    write_synth(folder, 6, seed=3)
    return folder


def dead_pid() -> int:
    """The pid of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def assert_complete(out: Path) -> dict:
    """`out` holds exactly the files its manifest lists, each with the listed sha256; return the manifest."""
    manifest = read_manifest(out)
    assert manifest is not None, sorted(p.name for p in out.iterdir())
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    present = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    assert present == set(listed)
    for path, digest in listed.items():
        assert file_sha256(out / path) == digest, path
    for name, table in manifest["tables"].items():
        for file in table["files"]:
            frame = pl.read_parquet(out / file) if file.endswith(".parquet") else pl.read_csv(out / file, infer_schema=False)
            assert frame.height == table["rows"], name
    return manifest


def beside(out: Path) -> list[str]:
    """What lies beside `out` in its folder, other than `out` and the data set."""
    return sorted(p.name for p in out.parent.iterdir() if p.name not in (out.name, "ds"))


# ----------------------------------------------------------------------------- the manifest


def test_manifest_names_run_rules_inputs_and_tables(dataset: Path, tmp_path: Path) -> None:
    """It should write manifest.json naming the run, its rules (with sha256), the input digests and each table's rows."""
    from selfeval.rules.loader import load_rules

    out = tmp_path / "out"
    result = score_many(dataset, "strict-overshoot", out=out, fmt="both")
    manifest = assert_complete(out)
    assert len(manifest["run_id"]) == 32
    assert manifest["rules"]["name"] == "strict-overshoot"
    assert manifest["rules"]["sha256"] == load_rules("strict-overshoot").sha256
    digests = {f["path"]: f["sha256"] for f in manifest["input"]["digests"]}
    some = next(dataset.rglob("*.parquet"))
    assert digests[some.relative_to(dataset).as_posix()] == file_sha256(some)
    assert manifest["tables"]["unit_scores"]["rows"] == result.unit_scores.height == 6
    assert manifest["tables"]["indicator_scores"]["rows"] == result.indicator_scores.collect().height
    assert set(manifest["tables"]) == {"indicator_scores", "project_scores", "findings", "unit_scores", "league_table",
                                       "grade_distribution", "findings_summary", "skipped"}
    assert out / "manifest.json" in result.written
    assert beside(out) == []


# ----------------------------------------------------------------------------- two runs, one folder


def test_second_run_into_the_same_out_is_refused(dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should refuse a second bulk run into an --out another run is writing (exit 2, one line), and finish the first."""
    out = tmp_path / "out"
    seen: dict[str, object] = {}
    real = TableParts.append

    def append(self, frame):
        if "second" not in seen:  # the first run is writing: start another into the same folder
            seen["staging"] = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out.selfeval-staging-"))
            seen["second"] = CliRunner().invoke(app, ["bulk", str(dataset), "--out", str(out)])
            with pytest.raises(OutputError) as refused:
                score_many(dataset, out=out)
            seen["message"] = str(refused.value)
        return real(self, frame)

    monkeypatch.setattr(TableParts, "append", append)
    first = score_many(dataset, out=out)
    second = seen["second"]
    assert second.exit_code == 2, second.output
    assert "Traceback" not in second.output
    assert "\n" not in seen["message"]
    assert [name.split("-")[2] for name in seen["staging"]] == [str(os.getpid())]  # its own staging folder
    manifest = assert_complete(out)
    assert manifest["tables"]["unit_scores"]["rows"] == first.unit_scores.height
    assert beside(out) == []


# ----------------------------------------------------------------------------- interrupted runs


def _interrupt(monkeypatch: pytest.MonkeyPatch, target: object, name: str, after: int = 0) -> None:
    """Make `target.name` raise KeyboardInterrupt (as SIGINT does) on its call number `after + 1`."""
    real = getattr(target, name)
    calls = {"n": 0}

    def stop(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == after + 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, stop)


# stage: (module, class or "", function, calls that pass before the interrupt)
STAGES = {
    "reading inputs": ("selfeval.bulk", "", "_input_manifest", 0),
    "first rows": ("selfeval.report.parts", "TableParts", "append", 1),
    "a large table in place": ("selfeval.report.parts", "TableParts", "finish", 1),
    "small tables": ("selfeval.report.tables", "", "write_tables", 0),
    "manifest": ("selfeval.staging", "", "atomic_path", 0),
    "swap": ("selfeval.staging", "", "exchange", 0),
}


@pytest.mark.parametrize("stage", list(STAGES))
def test_interrupted_run_keeps_the_old_run_whole(stage: str, dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should leave the previous run complete (same manifest, every file intact) and nothing beside it when stopped at any stage."""
    import importlib

    out = tmp_path / "out"
    score_many(dataset, out=out, fmt="both")
    old = assert_complete(out)
    module, cls, name, after = STAGES[stage]
    target = importlib.import_module(module)
    _interrupt(monkeypatch, getattr(target, cls) if cls else target, name, after)
    with pytest.raises(KeyboardInterrupt):
        score_many(dataset, "strict-overshoot", out=out, fmt="both", batch_indicators=100)
    assert assert_complete(out)["run_id"] == old["run_id"]
    assert beside(out) == []


def test_interrupted_after_the_swap_keeps_the_new_run(dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should hold the new run complete when stopped while the old folder is being removed."""
    import selfeval.staging

    out = tmp_path / "out"
    score_many(dataset, out=out)
    old = assert_complete(out)
    _interrupt(monkeypatch, selfeval.staging, "_remove_tree")
    with pytest.raises(KeyboardInterrupt):
        score_many(dataset, "strict-overshoot", out=out)
    new = assert_complete(out)
    assert new["run_id"] != old["run_id"] and new["rules"]["name"] == "strict-overshoot"
    assert beside(out) == []


def test_leftovers_of_killed_runs_are_removed(dataset: Path, tmp_path: Path) -> None:
    """It should remove the staging folders, set-aside folders, lock and temp files that killed runs left."""
    out = tmp_path / "out"
    score_many(dataset, out=out)
    pid = dead_pid()
    (tmp_path / f".out.selfeval-staging-{pid}-ab12").mkdir()
    (tmp_path / f".out.selfeval-staging-{pid}-ab12" / "unit_scores.parquet").write_bytes(b"half")
    (tmp_path / f".out.selfeval-old-{pid}-cd34").mkdir()
    (tmp_path / ".out.selfeval-lock").write_text(f"{pid}\n")
    (out / ".selfeval-parts").mkdir()  # the spill folder of older versions
    (out / ".selfeval-parts" / "part-0.parquet").write_bytes(b"x")
    (out / f".league_table.parquet.{pid}-xyz.tmp").write_bytes(b"x")
    score_many(dataset, out=out)
    assert_complete(out)
    assert beside(out) == []
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_run_killed_between_the_fallback_renames_is_repaired(dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should put back the old folder a run set aside before it died (systems without RENAME_EXCHANGE)."""
    out = tmp_path / "out"
    score_many(dataset, out=out)
    old = assert_complete(out)
    out.rename(tmp_path / f".out.selfeval-old-{dead_pid()}-ef56")  # killed after the first rename
    _interrupt(monkeypatch, TableParts, "append")
    with pytest.raises(KeyboardInterrupt):
        score_many(dataset, out=out)
    assert assert_complete(out)["run_id"] == old["run_id"]
    assert beside(out) == []


def test_stale_temp_files_of_dead_writers_are_removed(tmp_path: Path) -> None:
    """It should remove a dead process's temp file beside a target at the next write, and keep a live one's."""
    from selfeval.atomic import atomic_path

    dead = tmp_path / f".a.xlsx.{dead_pid()}-abc.tmp"
    live = tmp_path / f".a.xlsx.{os.getppid()}-def.tmp"
    dead.write_bytes(b"x")
    live.write_bytes(b"x")
    with atomic_path(tmp_path / "a.xlsx") as tmp:
        tmp.write_bytes(b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a.xlsx", live.name])


# ----------------------------------------------------------------------------- what --out may be


def test_bulk_refuses_an_out_holding_other_files(dataset: Path, tmp_path: Path) -> None:
    """It should refuse (exit 2) an --out holding files bulk did not write, or the input itself, and keep them."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    run = CliRunner().invoke(app, ["bulk", str(dataset), "--out", str(out)])
    assert run.exit_code == 2, run.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    for bad in (dataset, dataset / "results", dataset.parent):
        run = CliRunner().invoke(app, ["bulk", str(dataset), "--out", str(bad)])
        assert run.exit_code == 2, (bad, run.output)
    assert not (dataset / "results").exists()
    with pytest.raises(OutputError):
        score_many(dataset, out=dataset)


def test_bulk_replaces_an_old_output_without_manifest(dataset: Path, tmp_path: Path) -> None:
    """It should replace an output folder of an older version (tables, workbooks, spill folder, no manifest)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "unit_scores.parquet").write_bytes(b"old")
    (out / "自评表").mkdir()
    (out / "自评表" / "自评表_X.xlsx").write_bytes(b"old")
    (out / ".selfeval-parts").mkdir()
    score_many(dataset, out=out)
    assert_complete(out)


# ----------------------------------------------------------------------------- workbook names


def test_bulk_workbooks_named_like_report(tmp_path: Path) -> None:
    """It should write units A/B and A_B to two workbooks, named as `report` names them."""
    from selfeval.api import score
    from selfeval.report.excel import write_workbooks

    data = synth(2, seed=4)
    codes = data.units["unit_code"].to_list()
    rename = pl.col("unit_code").replace({codes[0]: "A/B", codes[1]: "A_B"})
    decl = Declaration(*(getattr(data, t).with_columns(rename) for t in ("units", "projects", "indicators")))
    src = tmp_path / "tables"
    write_declared(decl, src)
    data.actuals.with_columns(rename).write_parquet(src / "actuals.parquet")
    data.execution.with_columns(rename).write_parquet(src / "execution.parquet")
    out = tmp_path / "out"
    result = score_many(src, out=out, workbooks=out / "自评表", workers=1)
    books = sorted((out / "自评表").iterdir())
    assert [b.name for b in books] == ["自评表_A_B.xlsx", "自评表_A_B_2.xlsx"]
    reported = write_workbooks(score(decl, data.actuals.with_columns(rename), data.execution.with_columns(rename)), tmp_path / "report")
    assert sorted(p.name for p in reported) == [b.name for b in books]
    titles = sorted(openpyxl.load_workbook(b, read_only=True).properties.title for b in books)
    assert [t.split()[2] for t in titles] == ["A/B", "A_B"]
    assert sorted(p for p in result.written if p.suffix == ".xlsx") == books
    assert_complete(out)


# ----------------------------------------------------------------------------- symbolic links


def test_bulk_never_writes_through_a_symlinked_folder(tmp_path: Path) -> None:
    """It should refuse (exit 2) an output folder whose 自评表 is a symbolic link, writing nothing where it points."""
    runner = CliRunner()
    assert runner.invoke(app, ["synth", "--units", "2", "--seed", "5", "--out", str(tmp_path / "ds")]).exit_code == 0
    out = tmp_path / "out"
    assert runner.invoke(app, ["bulk", str(tmp_path / "ds"), "--out", str(out)]).exit_code in (0, 1)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "自评表").symlink_to(elsewhere, target_is_directory=True)
    run = runner.invoke(app, ["bulk", str(tmp_path / "ds"), "--out", str(out), "--workbooks", "-j", "1"])
    assert run.exit_code == 2, run.output
    assert list(elsewhere.iterdir()) == []
    assert (out / "自评表").is_symlink()


def test_synth_never_writes_through_a_symlinked_folder(tmp_path: Path) -> None:
    """It should refuse (exit 2) to write a table through a symlinked folder inside --out."""
    out = tmp_path / "ds"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "units").symlink_to(elsewhere, target_is_directory=True)
    run = CliRunner().invoke(app, ["synth", "--units", "2", "--out", str(out)])
    assert run.exit_code == 2, run.output
    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == ["units"]


# ----------------------------------------------------------------------------- inputs are never overwritten


def filled_template(folder: Path) -> tuple[Path, Path]:
    """The seed declaration and its template filled with the sample actuals and execution."""
    from selfeval.ingest import read_declared
    from selfeval.report.template import write_template

    doc = folder / "480001.txt"
    doc.write_bytes((SAMPLES / "seed_targets_2025.txt").read_bytes())
    template = write_template(read_declared(doc), folder / "my.xlsx")
    wb = openpyxl.load_workbook(template)
    actuals = {(r["project_code"], int(r["seq"])): r for r in pl.read_csv(SAMPLES / "actuals_sample.csv", infer_schema_length=0).iter_rows(named=True)}
    ws = wb["实际完成值"]
    col = {c.value: c.column for c in ws[1]}
    for row in range(2, ws.max_row + 1):
        ws.cell(row, col["实际完成值"]).value = actuals[(ws.cell(row, col["项目编码"]).value, ws.cell(row, col["序号"]).value)]["actual"]
    ex = wb["预算执行"]
    ecol = {c.value: c.column for c in ex[1]}
    execution = {r["project_code"]: r for r in pl.read_csv(SAMPLES / "execution_sample.csv").iter_rows(named=True)}
    for row in range(2, ex.max_row + 1):
        ex.cell(row, ecol["全年执行数"]).value = execution[ex.cell(row, ecol["项目编码"]).value]["executed"]
    wb.save(template)
    return doc, template


def test_report_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    """It should refuse (exit 2) `report … -a my.xlsx --out my.xlsx` and leave the filled template as it was."""
    doc, template = filled_template(tmp_path)
    before = template.read_bytes()
    for extra in ([], ["--force"]):
        run = CliRunner().invoke(app, ["report", str(doc), "-a", str(template), "-e", str(template), "--out", str(template), *extra])
        assert run.exit_code == 2, run.output
        assert template.read_bytes() == before
    run = CliRunner().invoke(app, ["report", str(doc), "-a", str(template), "-e", str(template), "--out", str(tmp_path)])
    assert run.exit_code in (0, 1), run.output  # a folder beside the input is fine
    assert template.read_bytes() == before


def test_report_needs_force_to_overwrite_a_filled_file(tmp_path: Path) -> None:
    """It should refuse (exit 2) to write a report over a filled template that is not an input, unless --force."""
    doc, template = filled_template(tmp_path)
    copy = tmp_path / "copy.xlsx"
    shutil.copy(template, copy)
    args = ["report", str(doc), "-a", str(template), "-e", str(template), "--out", str(copy)]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 2, run.output
    assert copy.read_bytes() == template.read_bytes()
    run = CliRunner().invoke(app, [*args, "--force"])
    assert run.exit_code in (0, 1), run.output
    assert "汇总" in openpyxl.load_workbook(copy, read_only=True).sheetnames
    run = CliRunner().invoke(app, args)  # a report written by selfeval holds nothing filled in
    assert run.exit_code in (0, 1), run.output


def test_template_never_wipes_a_filled_template(tmp_path: Path) -> None:
    """It should refuse (exit 2) `template --out my.xlsx` over a filled template or over its input, unless --force for the former."""
    doc, template = filled_template(tmp_path)
    before = template.read_bytes()
    run = CliRunner().invoke(app, ["template", str(doc), "--out", str(template)])
    assert run.exit_code == 2, run.output
    assert template.read_bytes() == before
    doc_before = doc.read_bytes()
    run = CliRunner().invoke(app, ["template", str(doc), "--out", str(doc), "--force"])
    assert run.exit_code == 2, run.output
    assert doc.read_bytes() == doc_before
    fresh = tmp_path / "fresh.xlsx"
    for _ in range(2):  # an unfilled template is replaced freely
        assert CliRunner().invoke(app, ["template", str(doc), "--out", str(fresh)]).exit_code == 0
    run = CliRunner().invoke(app, ["template", str(doc), "--out", str(template), "--force"])
    assert run.exit_code == 0, run.output
    assert template.read_bytes() != before


# ----------------------------------------------------------------------------- kills at random points


RUN = "import sys; from selfeval.bulk import score_many; score_many(sys.argv[1], sys.argv[2], out=sys.argv[3], batch_indicators=int(sys.argv[4]))"
RULES = ("mof-2020", "strict-overshoot", "per-level2")


@pytest.fixture(scope="module")
def kill_case(tmp_path_factory) -> tuple[Path, dict[str, pl.DataFrame]]:
    """A data set big enough that a run writes for a while, and each rule set's expected unit scores."""
    folder = tmp_path_factory.mktemp("kill") / "ds"
    write_synth(folder, 200, seed=9)
    expected = {rules: score_many(folder, rules).unit_scores for rules in RULES}
    return folder, expected


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.sampled_from(RULES), second=st.sampled_from(RULES), gap=st.floats(0.0, 2.5),
    kill_after=st.floats(0.3, 5.0), victim=st.sampled_from(["first", "second", "both"]),
    sig=st.sampled_from([signal.SIGKILL, signal.SIGINT]),
)
def test_random_kills_leave_one_whole_run(kill_case, tmp_path_factory, first, second, gap, kill_after, victim, sig) -> None:
    """It should hold the complete old run or the complete new run (by its manifest), never a mix, whatever is killed when."""
    folder, expected = kill_case
    out = tmp_path_factory.mktemp("k") / "out"
    score_many(folder, "mof-2020", out=out)
    old = assert_complete(out)["run_id"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    start = time.monotonic()
    procs = {"first": subprocess.Popen([sys.executable, "-c", RUN, str(folder), first, str(out), "500"], env=env, stderr=subprocess.PIPE)}
    time.sleep(gap)
    procs["second"] = subprocess.Popen([sys.executable, "-c", RUN, str(folder), second, str(out), "500"], env=env, stderr=subprocess.PIPE)
    time.sleep(max(0.0, kill_after - (time.monotonic() - start)))
    for name, proc in procs.items():
        if victim in (name, "both") and proc.poll() is None:
            proc.send_signal(sig)
    for proc in procs.values():
        proc.communicate(timeout=120)
    manifest = assert_complete(out)
    assert manifest["run_id"] == old or manifest["pid"] in {p.pid for p in procs.values()}
    unit_scores = pl.read_parquet(out / "unit_scores.parquet")
    assert unit_scores.equals(expected[manifest["rules"]["name"]])
    league = pl.read_parquet(out / "league_table.parquet")
    assert dict(zip(league["unit_code"], league["total"])) == dict(zip(unit_scores["unit_code"], unit_scores["total"]))
    if sig == signal.SIGINT:  # SIGINT cleans up after itself
        assert [n for n in beside(out) if "staging" in n] == []
    score_many(folder, out=out)  # the next run removes what killed runs left
    assert_complete(out)
    assert beside(out) == []


def test_table_and_lint_outputs_never_overwrite_inputs(tmp_path: Path) -> None:
    """It should refuse (exit 2) `parse tables/ --out tables/` and `lint … --out <its input>`, leaving the inputs as they were."""
    from selfeval.ingest import read_declared

    tables = tmp_path / "tables"
    write_declared(read_declared(SAMPLES / "seed_targets_2025.txt"), tables, "csv")
    before = {p.name: p.read_bytes() for p in tables.iterdir()}
    run = CliRunner().invoke(app, ["parse", str(tables), "--out", str(tables), "--format", "csv"])
    assert run.exit_code == 2, run.output
    assert {p.name: p.read_bytes() for p in tables.iterdir()} == before
    doc = tmp_path / "seed.txt"
    doc.write_bytes((SAMPLES / "seed_targets_2025.txt").read_bytes())
    run = CliRunner().invoke(app, ["lint", str(doc), "--format", "json", "--out", str(doc)])
    assert run.exit_code == 2, run.output
    assert doc.read_bytes() == (SAMPLES / "seed_targets_2025.txt").read_bytes()
    run = CliRunner().invoke(app, ["parse", str(tables), "--out", str(tmp_path / "parsed"), "--format", "csv"])
    assert run.exit_code == 0, run.output
