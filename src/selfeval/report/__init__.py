"""Reports: the self-evaluation workbook, the fill-in template, and safe file writing.

* `write_workbook(result, path, unit_code=None)` / `write_workbooks(result, folder)` — 自评表.
* `write_template(declaration, path, rules=None)` — the fill-in template (实际完成值 / 预算执行).
* `new_workbook(path)` / `write_table(wb, sheet, frame)` — every workbook the tool writes: the
  safety options, atomic, tabular sheets through `DataFrame.write_excel` (`report.workbook`).
* `write_tables(frames, folder, fmt)` — every parquet/csv result table (`report.tables`).
* `report.labels` — severity and grade words, styles and fills, column labels.
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
    "new_workbook": "selfeval.report.workbook",
    "write_table": "selfeval.report.workbook",
    "write_tables": "selfeval.report.tables",
    "atomic_path": "selfeval.report.atomic",
    "safe_filename": "selfeval.report.atomic",
    "unique_sheet_names": "selfeval.report.atomic",
}

__all__ = list(_EXPORTS)

if TYPE_CHECKING:
    from selfeval.report.atomic import atomic_path, safe_filename, unique_sheet_names
    from selfeval.report.excel import ReportError, write_workbook, write_workbooks
    from selfeval.report.tables import write_tables
    from selfeval.report.template import write_template
    from selfeval.report.workbook import new_workbook, write_table


__getattr__ = lazy_getattr(__name__, _EXPORTS)
