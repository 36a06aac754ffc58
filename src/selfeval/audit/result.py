"""The outcome of an audit: Polars frames for the summary, the findings and the side-by-side comparisons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from selfeval.rules.model import RuleSet

# Chinese labels of the audit tables' columns (the canonical columns keep schema.LABELS).
AUDIT_LABELS = {
    "file": "文件", "sheet": "工作表", "row": "行", "cell": "单元格", "name": "问题名称", "expected": "规则值",
    "claimed_total": "自评总分", "total": "复算总分", "difference": "差额", "claimed_grade": "自评等级",
    "grade": "复算等级", "errors": "错误数", "warnings": "警告数", "infos": "提示数", "claimed_weight": "自评分值",
    "weight": "规则分值", "claimed_points": "自评得分", "rule_points": "规则得分", "claimed_rate": "自评执行率",
    "execution_rate": "复算执行率", "claimed_execution_points": "自评执行率得分", "execution_points": "复算执行率得分",
    "status": "状态", "forms": "自评表数", "projects": "项目数", "sheets": "工作表数", "reason": "原因",
    "complete": "复算是否完整", "duplicate": "是否重复提交",
}


@dataclass(frozen=True)
class AuditResult:
    """Every frame of an audit (`selfeval.audit`).

    summary     — unit × project: claimed and recomputed total and grade, difference, findings by severity (worst first);
    findings    — every finding: severity, code, file, sheet, row, cell, column, message, the rule's value;
    indicators  — every indicator row: claimed 分值 and 得分 beside the rule's, with the calculation;
    projects    — every project: claimed and recomputed execution rate, execution points, total and grade;
    files       — every file: read, unreadable (why) or holding no form; sheets — every sheet, audited or skipped.
    """

    summary: pl.DataFrame
    findings: pl.DataFrame
    indicators: pl.DataFrame
    projects: pl.DataFrame
    files: pl.DataFrame
    sheets: pl.DataFrame
    rules: RuleSet

    def tables(self) -> dict[str, pl.DataFrame]:
        """The tables written as Parquet/CSV, by name."""
        return {
            "audit_summary": self.summary, "audit_findings": self.findings, "audit_indicators": self.indicators,
            "audit_projects": self.projects, "audit_files": self.files, "audit_sheets": self.sheets,
        }

    def counts(self) -> dict[str, int]:
        """Findings by severity."""
        sev = self.findings.get_column("severity")
        return {s: int((sev == s).sum()) for s in ("error", "warning", "info")}


__all__ = ["AUDIT_LABELS", "AuditResult"]
