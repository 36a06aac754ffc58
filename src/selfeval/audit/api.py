"""`selfeval.audit(submissions, rules)`: read the submitted self-evaluations, recompute, flag every unsupported claim."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from selfeval.audit.claims import Claims, claims_of
from selfeval.audit.compare import audit_findings
from selfeval.audit.read import read_files, submission_files
from selfeval.audit.result import AuditResult
from selfeval.errors import InputError, Problem
from selfeval.rules.loader import DEFAULT_RULES, load_rules
from selfeval.rules.model import RuleSet


def audit(
    submissions: str | Path | list[str | Path],
    rules: RuleSet | str | Path = DEFAULT_RULES,
    *,
    year: int | None = None,
    workers: int | None = None,
) -> AuditResult:
    """Audit one submitted workbook/document, a folder of them, or the long canonical form.

    `year` is used where a file states none; `workers` reading processes (default: the CPU count,
    for folders of 64 files or more). A file that cannot be read is a finding; the others are audited.
    """
    rules = load_rules(rules)
    if not isinstance(submissions, list):
        from selfeval.audit.canonical import is_canonical, read_canonical

        if is_canonical(submissions):
            return audit_claims(read_canonical(submissions, year=year), rules)
        files = submission_files(submissions)
        if not files or not all(f.exists() for f in files):
            raise InputError(Problem(file=str(submissions), message="没有找到可审核的文件",
                                     expected="自评表 .xlsx/.xls/.docx，或存放它们的文件夹，或规范表格文件夹"))
    else:
        files = [Path(f) for f in submissions]
    return audit_claims(claims_of(read_files(files, workers), year=year), rules)


def audit_claims(claims: Claims, rules: RuleSet) -> AuditResult:
    """Recompute and compare claims already read (any reader's `Claims`)."""
    findings, indicators, projects, _ = audit_findings(claims, rules)
    return AuditResult(
        summary=summary(projects, findings),
        findings=findings,
        indicators=indicator_view(indicators),
        projects=project_view(projects),
        files=claims.files,
        sheets=claims.sheets,
        rules=rules,
    )


def summary(projects: pl.DataFrame, findings: pl.DataFrame) -> pl.DataFrame:
    """Unit × project, worst first: most errors, then the largest difference, then most warnings."""
    counts = findings.filter(pl.col("project_code").is_not_null()).group_by("file", "sheet", "project_code").agg(
        *((pl.col("severity") == s).sum().cast(pl.Int64).alias(n) for s, n in
          (("error", "errors"), ("warning", "warnings"), ("info", "infos"))))
    out = projects.select(
        "file", "sheet", "unit_code", "unit_name", "project_code", "project_name", "claimed_total", "total",
        # a recompute that could not score every row (its own finding) has no difference to show: its total is partial
        pl.when((pl.col("_dup_rank") == 0) & pl.col("complete").fill_null(False))
        .then((pl.col("claimed_total") - pl.col("total")).round(2)).alias("difference"),
        "claimed_grade", "grade", "complete", (pl.col("_dup_rank") > 0).alias("duplicate"),
    ).join(counts, on=["file", "sheet", "project_code"], how="left").with_columns(
        pl.col("errors", "warnings", "infos").fill_null(0))
    return out.sort(
        [pl.col("errors"), pl.col("difference").abs().fill_null(0.0), pl.col("warnings"), pl.col("file"), pl.col("sheet")],
        descending=[True, True, True, False, False], maintain_order=True)


def indicator_view(indicators: pl.DataFrame) -> pl.DataFrame:
    return indicators.select(
        "file", "sheet", (pl.col("row") + 1).alias("row"), "unit_code", "project_code", "project_name", "seq", "level1", "level2", "level3", "target_text", "actual_text",
        "claimed_weight", "weight", "claimed_points", "rule_points",
        (pl.col("claimed_points") - pl.col("rule_points")).round(2).alias("difference"),
        "deviation_reason", "status", "explain",
    )


def project_view(projects: pl.DataFrame) -> pl.DataFrame:
    return projects.select(
        "file", "sheet", "unit_code", "unit_name", "project_code", "project_name", "year_budget", "executed",
        "claimed_rate", "execution_rate", "claimed_execution_points", "execution_points", "claimed_total", "total",
        "claimed_grade", "grade", "complete", (pl.col("_dup_rank") > 0).alias("duplicate"),
    )


__all__ = ["audit", "audit_claims", "summary"]
