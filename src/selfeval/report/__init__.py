"""Reports: the self-evaluation workbook, the fill-in template, and safe file writing.

* `write_workbook(result, path, unit_code=None)` / `write_workbooks(result, folder)` — 自评表.
* `write_template(declaration, path, rules=None)` — the fill-in template (实际完成值 / 预算执行).
* `atomic_path`, `safe_filename`, `unique_sheet_names` — safe writing and naming helpers.

Imported lazily so that `selfeval.report.console` does not load xlsxwriter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from selfeval.lazy import lazy_getattr

_EXPORTS = {
    "ReportError": "selfeval.report.excel",
    "write_workbook": "selfeval.report.excel",
    "write_workbooks": "selfeval.report.excel",
    "write_template": "selfeval.report.template",
    "atomic_path": "selfeval.report.atomic",
    "safe_filename": "selfeval.report.atomic",
    "unique_sheet_names": "selfeval.report.atomic",
}

__all__ = list(_EXPORTS)

if TYPE_CHECKING:
    from selfeval.report.atomic import atomic_path, safe_filename, unique_sheet_names
    from selfeval.report.excel import ReportError, write_workbook, write_workbooks
    from selfeval.report.template import write_template


__getattr__ = lazy_getattr(__name__, _EXPORTS)
