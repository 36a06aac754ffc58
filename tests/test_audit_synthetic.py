"""Synthetic submissions (issue 14): every injected error found (recall), a clean set yields nothing (precision)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from selfeval.audit.api import audit
from selfeval.audit.synthetic import INJECTIONS, LAYOUTS, write_submissions


@pytest.fixture(scope="module")
def injected_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    folder = tmp_path_factory.mktemp("injected")
    return folder, write_submissions(folder, 24, seed=7, error_rate=0.6)


@pytest.fixture(scope="module")
def injected(injected_folder: tuple[Path, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    folder, truth = injected_folder
    return truth, audit(folder).findings


def test_clean_synthetic_set_has_no_finding(tmp_path: Path) -> None:
    """It should find nothing in clean submissions of every layout (precision)."""
    truth = write_submissions(tmp_path, 10, seed=11, error_rate=0.0, duplicates=0)
    assert truth.height == 0
    result = audit(tmp_path)
    assert result.findings.height == 0
    assert result.files.get_column("status").unique().to_list() == ["已审核"]
    assert result.files.height == 10 and len(LAYOUTS) == 5
    assert result.summary.height > 30


def test_every_injected_error_is_found(injected: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    """It should find each injected error under its code, in its file and project (recall 100 %)."""
    truth, findings = injected
    missed = truth.join(findings.select("file", "project_code", "code").unique(), on=["file", "project_code", "code"],
                        how="anti", nulls_equal=True)
    assert missed.height == 0, missed
    assert truth.height >= 40
    assert set(truth.get_column("code")) >= set(INJECTIONS) - {"AUDIT_TIER_BAND"} | {
        "AUDIT_DUPLICATE_PROJECT", "AUDIT_UNREADABLE", "AUDIT_NO_FORM"}


def test_no_finding_outside_the_injected_projects(injected: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    """It should raise nothing on a project no error was injected into (precision within the injected set)."""
    truth, findings = injected
    stray = findings.join(truth.select("project_code").unique(), on="project_code", how="anti", nulls_equal=True)
    assert stray.height == 0, stray


def test_reading_in_worker_processes_gives_the_same_records(injected_folder: tuple[Path, pl.DataFrame],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """It should read a folder in spawned worker processes exactly as in-process (same records, same order)."""
    from selfeval.audit import read

    folder, _ = injected_folder
    files = read.submission_files(folder)[:6]
    here = read.read_files(files, workers=1)
    monkeypatch.setattr(read, "PARALLEL_FROM", 2)
    there = read.read_files(files, workers=2)
    assert [r.file for r in there] == [str(f) for f in files]
    assert [(r.projects, r.indicators, r.cells) for r in there] == [(r.projects, r.indicators, r.cells) for r in here]
