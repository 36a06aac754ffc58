"""The library's front door: read, load rules, score (SPEC.md §6.1)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from selfeval.declaration import Declaration
from selfeval.pipeline import run
from selfeval.result import InputFile, Result
from selfeval.rules.loader import DEFAULT_RULES, load_rules
from selfeval.rules.model import RuleSet
from selfeval.staging import file_sha256


def _input_record(role: str, source: object) -> InputFile | None:
    if isinstance(source, (str, Path)) and Path(source).is_file():
        return InputFile(role=role, path=str(source), sha256=file_sha256(source))
    return None


def score(
    declared: Declaration | str | Path,
    actuals: pl.DataFrame | str | Path,
    execution: pl.DataFrame | str | Path,
    rules: RuleSet | str | Path = DEFAULT_RULES,
    *,
    year: int | None = None,
) -> Result:
    """Score every declared indicator, project and unit under a rule set.

    Inputs may be frames/Declaration or paths (read with the readers of `selfeval.ingest`);
    `year` is the declared year when `declared` is a path (`read_declared(path, year=year)`).
    """
    inputs = [
        rec
        for rec in (
            _input_record("绩效目标表", declared),
            _input_record("实际完成值", actuals),
            _input_record("预算执行", execution),
        )
        if rec is not None
    ]
    from selfeval.ingest.common import input_notes

    with input_notes() as notes:  # kept as INPUT_NOTE findings, not only printed
        if not isinstance(declared, Declaration):
            from selfeval.ingest import read_declared

            declared = read_declared(declared, year=year)
        else:
            inputs = [InputFile(role="绩效目标表", path=s, sha256=file_sha256(s)) for s in declared.sources if Path(s).is_file()] + inputs
        if not isinstance(actuals, pl.DataFrame):
            from selfeval.ingest import read_actuals

            actuals = read_actuals(actuals, declared=declared)  # rows of undeclared projects: counted beyond a limit
        if not isinstance(execution, pl.DataFrame):
            from selfeval.ingest import read_execution

            execution = read_execution(execution, declared=declared)
    rules = load_rules(rules)

    frames = run(declared, actuals, execution, rules)
    findings = frames.findings
    if notes:
        from selfeval.findings import concat_findings, input_note_findings

        units = declared.units.get_column("unit_code").unique().to_list()
        findings = concat_findings([findings, input_note_findings(notes, units[0] if len(units) == 1 else None)])
    return Result(
        indicator_scores=frames.indicator_scores,
        project_scores=frames.project_scores,
        unit_scores=frames.unit_scores,
        findings=findings,
        declaration=declared,
        rules=rules,
        inputs=tuple(inputs),
        actual_rows=actuals.height,
        execution_rows=execution.height,
    )


def write_tables(result: Result, folder: str | Path, fmt: str = "parquet") -> list[Path]:
    """Write the four result tables as parquet and/or csv (atomically) into `folder`."""
    from selfeval.report.tables import write_tables as write_frames

    return write_frames(result.tables(), folder, fmt)


__all__ = ["file_sha256", "score", "write_tables"]
