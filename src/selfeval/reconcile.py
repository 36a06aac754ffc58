"""Nothing lost: the reconciliation line of a scoring run (issue 7).

Every declared indicator is either scored or unscorable, and every unscorable one carries
exactly one error finding at its key (project_code, seq); every actual row either names a
declared indicator or is reported as KEY_MISMATCH; every declared project has its execution
scored or a MISSING_EXECUTION finding. `reconcile(result)` counts these from the result
frames; `.check()` raises when they don't add up; `.line()` is the Chinese one-liner a run prints:

    对账：申报指标 45 = 已评分 43 + 无法评分 2（均有问题记录）；实际完成值 46 行，其中 1 行未匹配；预算执行 5 个项目 = 已评分 5 + 无法评分 0

Key-level findings about actual rows (column `seq`: an actual row naming an undeclared indicator,
or several actual rows naming one indicator) describe the actuals file, not an indicator row;
they are counted as `unmatched` / `duplicated_keys` and are not an indicator's own finding.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from selfeval.errors import SelfevalError
from selfeval.result import Result

KEYS = ["unit_code", "project_code", "seq"]


class ReconciliationError(SelfevalError):
    """The counts of a run do not add up: a row was lost or an unscorable row has no finding."""


@dataclass(frozen=True)
class Reconciliation:
    """The counts of one scoring run (see the module docstring)."""

    declared: int  # declared indicators (rows of the declaration)
    indicator_rows: int  # rows of indicator_scores (must equal declared)
    scored: int
    unscorable: int
    unscorable_with_one_error: int  # unscorable indicators with exactly one error finding at their key
    scored_with_error: int  # scored indicators that nonetheless carry an error finding (must be 0)
    other_status: int  # indicator rows whose status is neither scored nor unscorable (must be 0)
    with_actual: int  # declared indicators for which an actual value or tier was read
    actual_rows: int | None  # rows read from the actuals (None: not told)
    unmatched: int  # actual rows naming no declared indicator (KEY_MISMATCH)
    duplicated_keys: int  # declared indicators named by more than one actual row (KEY_MISMATCH)
    projects: int  # declared projects
    project_rows: int  # rows of project_scores (must equal projects)
    execution_scored: int
    execution_missing: int  # projects with MISSING_EXECUTION, or KEY_MISMATCH for several execution rows
    execution_rows: int | None  # rows read from the execution table (None: not told)
    execution_unmatched: int  # execution rows naming no declared project (KEY_MISMATCH)

    def problems(self) -> list[str]:
        """Every way the counts fail to add up (empty when they do)."""
        out: list[str] = []
        if self.indicator_rows != self.declared:
            out.append(f"评分表有 {self.indicator_rows} 行，申报指标 {self.declared} 个：有指标丢失或重复")
        if self.scored + self.unscorable != self.declared:
            out.append(f"已评分 {self.scored} + 无法评分 {self.unscorable} ≠ 申报指标 {self.declared}")
        if self.other_status:
            out.append(f"{self.other_status} 个指标的状态既不是已评分也不是无法评分")
        if self.unscorable_with_one_error != self.unscorable:
            out.append(f"无法评分 {self.unscorable} 个，其中只有 {self.unscorable_with_one_error} 个恰有一条错误级问题记录")
        if self.scored_with_error:
            out.append(f"{self.scored_with_error} 个已评分指标带有错误级问题记录")
        if self.actual_rows is not None and self.actual_rows < self.unmatched + self.with_actual + self.duplicated_keys:
            out.append(
                f"实际完成值只读到 {self.actual_rows} 行，少于已匹配 {self.with_actual} + 重复 {self.duplicated_keys}"
                f" + 未匹配 {self.unmatched}"
            )
        if self.project_rows != self.projects:
            out.append(f"项目得分表有 {self.project_rows} 行，申报项目 {self.projects} 个")
        if self.execution_scored + self.execution_missing != self.projects:
            out.append(
                f"预算执行已评分 {self.execution_scored} + 无法评分 {self.execution_missing} ≠ 申报项目 {self.projects}"
            )
        if self.execution_rows is not None and self.execution_rows < self.execution_unmatched:
            out.append(f"预算执行只读到 {self.execution_rows} 行，少于未匹配的 {self.execution_unmatched} 行")
        return out

    def check(self) -> Reconciliation:
        """Raise ReconciliationError naming every count that does not add up; return self otherwise."""
        problems = self.problems()
        if problems:
            msg = "对账不平：" + "；".join(problems) + f"（{self.line()}）"
            raise ReconciliationError(msg)
        return self

    def line(self) -> str:
        """The one-line Chinese reconciliation a run prints."""
        missing = self.unscorable - self.unscorable_with_one_error
        note = "均有问题记录" if missing == 0 else f"其中 {missing} 个没有恰好一条问题记录"
        parts = [f"申报指标 {self.declared} = 已评分 {self.scored} + 无法评分 {self.unscorable}（{note}）"]
        if self.actual_rows is not None:
            text = f"实际完成值 {self.actual_rows} 行，其中 {self.unmatched} 行未匹配"
        else:
            text = f"实际完成值未匹配 {self.unmatched} 行"
        if self.duplicated_keys:
            text += f"，{self.duplicated_keys} 个指标重复填写"
        parts.append(text)
        execution = f"预算执行 {self.projects} 个项目 = 已评分 {self.execution_scored} + 无法评分 {self.execution_missing}"
        if self.execution_unmatched:
            execution += f"，{self.execution_unmatched} 行未匹配"
        parts.append(execution)
        return "对账：" + "；".join(parts)


def reconcile(
    result: Result, actuals_rows_read: int | None = None, *, execution_rows_read: int | None = None
) -> Reconciliation:
    """Count what a run read, scored and reported (`actuals_rows_read`: rows of the actuals table read).

    When not given, the row counts are taken from `result.actual_rows` / `result.execution_rows`
    if the Result carries them.
    """
    if actuals_rows_read is None:
        actuals_rows_read = getattr(result, "actual_rows", None)
    if execution_rows_read is None:
        execution_rows_read = getattr(result, "execution_rows", None)
    declared = result.declaration.indicators.select(KEYS)
    scores = result.indicator_scores
    findings = result.findings
    errors = findings.filter(pl.col("severity") == "error")
    about_actual_rows = (pl.col("code") == "KEY_MISMATCH") & (pl.col("column") == "seq")
    actual_row_findings = errors.filter(about_actual_rows)
    # A declared key filled twice carries its one error as a key finding (column seq).
    indicator_errors = errors.filter(pl.col("seq").is_not_null())
    per_key = indicator_errors.group_by(KEYS).agg(pl.len().alias("_errors"))
    counted = scores.select(*KEYS, "status", "actual_text", "tier").join(
        per_key, on=KEYS, how="left", nulls_equal=True
    ).with_columns(pl.col("_errors").fill_null(0))
    unscorable = counted.filter(pl.col("status") == "unscorable")
    scored = counted.filter(pl.col("status") == "scored")
    known = actual_row_findings.join(declared, on=KEYS, how="semi", nulls_equal=True)
    execution_keys = errors.filter((pl.col("code") == "KEY_MISMATCH") & (pl.col("column") == "project_code"))
    declared_projects = result.declaration.projects.select("unit_code", "project_code")
    # KEY_MISMATCH on a declared project: several execution rows for it (execution not scored).
    duplicated_execution = execution_keys.join(declared_projects, on=["unit_code", "project_code"], how="semi", nulls_equal=True)
    project_errors = execution_keys.join(declared_projects, on=["unit_code", "project_code"], how="anti", nulls_equal=True)
    return Reconciliation(
        declared=declared.height,
        indicator_rows=scores.height,
        scored=scored.height,
        unscorable=unscorable.height,
        unscorable_with_one_error=unscorable.filter(pl.col("_errors") == 1).height,
        scored_with_error=scored.filter(pl.col("_errors") > 0).height,
        other_status=counted.height - scored.height - unscorable.height,
        with_actual=counted.filter(pl.col("actual_text").is_not_null() | pl.col("tier").is_not_null()).height,
        actual_rows=actuals_rows_read,
        unmatched=actual_row_findings.height - known.height,
        duplicated_keys=known.unique(KEYS).height,
        projects=result.declaration.projects.height,
        project_rows=result.project_scores.height,
        # points, not the rate: a year budget of 0 scored by `execution.zero_budget` has points and no rate
        execution_scored=result.project_scores.filter(pl.col("execution_points").is_not_null()).height,
        execution_missing=findings.filter(pl.col("code") == "MISSING_EXECUTION").height + duplicated_execution.height,
        execution_rows=execution_rows_read,
        execution_unmatched=project_errors.height,
    )
