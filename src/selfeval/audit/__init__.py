"""Auditing submitted self-evaluations (issue 14): read filled 自评表, recompute, flag every claim the rules don't support.

* `audit(submissions, rules)` → `AuditResult` (summary, findings, indicators, projects, files, sheets);
* `write_audit_workbook(result, path)` — 审核结果.xlsx; `write_audit_tables(result, folder, fmt)`.

Modules, in reading order: grid (file → grids of cells), form (grid → 自评表 forms, by their words),
read (forms → located records, files read in worker processes), canonical (the long canonical
form), claims (records → claim frames and pipeline inputs), kinds (the audit finding kinds),
compare (the pipeline's recompute, stage frames, findings located), api, report (workbook, tables).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from selfeval.lazy import lazy_getattr

_EXPORTS = {
    "audit": "selfeval.audit.api",
    "AuditResult": "selfeval.audit.result",
    "write_audit_workbook": "selfeval.audit.report",
    "write_audit_tables": "selfeval.audit.report",
}

__all__ = list(_EXPORTS)

if TYPE_CHECKING:
    from selfeval.audit.api import audit
    from selfeval.audit.report import write_audit_tables, write_audit_workbook
    from selfeval.audit.result import AuditResult

__getattr__ = lazy_getattr(__name__, _EXPORTS)
