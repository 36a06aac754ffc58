"""The library's front door: read, load rules, score (SPEC.md §6.1)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from selfeval.declaration import Declaration
from selfeval.engine import collect
from selfeval.findings import concat_findings
from selfeval.result import InputFile, Result
from selfeval.rollup import project_scores, scored_execution, unit_scores
from selfeval.scenarios import SCENARIO, group_by_structure, scenario_params
from selfeval.rules.loader import DEFAULT_RULES, load_rules
from selfeval.rules.model import RuleSet
from selfeval.scoring import indicator_findings, indicator_scores_frame, scored_indicators


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _input_record(role: str, source: object) -> InputFile | None:
    if isinstance(source, (str, Path)) and Path(source).is_file():
        return InputFile(role=role, path=str(source), sha256=file_sha256(source))
    return None


@dataclass(frozen=True)
class ScenarioFrames:
    """Result frames of several scenarios, each with a leading `scenario` column."""

    indicator_scores: pl.DataFrame
    project_scores: pl.DataFrame
    unit_scores: pl.DataFrame
    findings: pl.DataFrame


def scenario_frames(
    declared: Declaration, actuals: pl.DataFrame, execution: pl.DataFrame, scenarios: dict[str, RuleSet]
) -> ScenarioFrames:
    """Score every scenario; scenarios sharing a structure are computed in one vectorized pass."""
    parts: list[tuple[pl.LazyFrame, ...]] = []
    key_parts: list[pl.LazyFrame] = []
    for group in group_by_structure(scenarios):
        rules = next(iter(group.values()))
        params = scenario_params(group)
        frame, key_problems = scored_indicators(
            declared.indicators, actuals, declared.projects, declared.units, rules, params
        )
        frame = collect(frame).lazy()  # read twice below: compute joins and parses once
        exec_frame, exec_unknown, exec_findings = scored_execution(declared.projects, execution, rules, params)
        exec_frame = collect(exec_frame).lazy()
        projects, weight_findings = project_scores(frame, exec_frame, rules)
        projects = collect(projects).lazy()
        units = unit_scores(projects, declared.units, rules)
        findings = pl.concat(
            [indicator_findings(frame, rules), exec_findings, weight_findings], how="diagonal_relaxed"
        )
        parts.append((indicator_scores_frame(frame), projects, units, findings))
        if not key_parts:
            key_parts = [key_problems, exec_unknown]
    names = list(scenarios)
    order = pl.col(SCENARIO).replace_strict({n: i for i, n in enumerate(names)}, return_dtype=pl.Int32)
    indicator_df, projects_df, units_df, per_scenario = (
        collect(pl.concat([p[i] for p in parts], how="vertical")) for i in range(4)
    )
    keys = collect(pl.concat(key_parts, how="diagonal_relaxed"))
    scenario_col = pl.DataFrame({SCENARIO: names})
    findings = concat_findings([per_scenario.lazy(), keys.lazy().join(scenario_col.lazy(), how="cross")], scenario=True)
    return ScenarioFrames(
        indicator_scores=indicator_df.sort([order, "_order"], maintain_order=True).drop("_order"),
        project_scores=projects_df.sort(order, maintain_order=True),  # declared project order within each scenario
        unit_scores=units_df.sort([order, "unit_code"], maintain_order=True),
        findings=findings.sort(order, maintain_order=True),
    )


def score(
    declared: Declaration | str | Path,
    actuals: pl.DataFrame | str | Path,
    execution: pl.DataFrame | str | Path,
    rules: RuleSet | str | Path = DEFAULT_RULES,
) -> Result:
    """Score every declared indicator, project and unit under a rule set.

    Inputs may be frames/Declaration or paths (read with the readers of `selfeval.ingest`).
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
    if not isinstance(declared, Declaration):
        from selfeval.ingest import read_declared

        declared = read_declared(declared)
    else:
        inputs = [InputFile(role="绩效目标表", path=s, sha256=file_sha256(s)) for s in declared.sources if Path(s).is_file()] + inputs
    if not isinstance(actuals, pl.DataFrame):
        from selfeval.ingest import read_actuals

        actuals = read_actuals(actuals)
    if not isinstance(execution, pl.DataFrame):
        from selfeval.ingest import read_execution

        execution = read_execution(execution)
    rules = load_rules(rules)

    frames = scenario_frames(declared, actuals, execution, {rules.name: rules})
    drop = SCENARIO
    return Result(
        indicator_scores=frames.indicator_scores.drop(drop),
        project_scores=frames.project_scores.drop(drop),
        unit_scores=frames.unit_scores.drop(drop),
        findings=frames.findings.drop(drop),
        declaration=declared,
        rules=rules,
        inputs=tuple(inputs),
        actual_rows=actuals.height,
        execution_rows=execution.height,
    )


def write_tables(result: Result, folder: str | Path, fmt: str = "parquet") -> list[Path]:
    """Write the four result tables as parquet and/or csv (atomically) into `folder`."""
    from selfeval.atomic import atomic_path

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    formats = ("parquet", "csv") if fmt == "both" else (fmt,)
    for name, frame in result.tables().items():
        for f in formats:
            target = out / f"{name}.{f}"
            with atomic_path(target) as tmp:
                if f == "parquet":
                    frame.write_parquet(tmp)
                else:
                    frame.write_csv(tmp, include_bom=True)  # Excel needs the BOM to show Chinese
            written.append(target)
    return written


__all__ = ["ScenarioFrames", "file_sha256", "scenario_frames", "score", "write_tables"]
