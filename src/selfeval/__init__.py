"""selfeval — 预算绩效自评引擎 (Chinese budget performance self-evaluation engine).

    >>> import selfeval
    >>> result = selfeval.score("samples/seed_targets_2025.txt",
    ...                         "samples/actuals_sample.csv", "samples/execution_sample.csv")
    >>> result.project_scores            # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from selfeval.lazy import lazy_getattr, shadow_subpackages

__version__ = "0.1.0"

# Public names and the module each lives in; imported lazily so `selfeval --help` stays fast.
_EXPORTS = {
    "lint": "selfeval.lint",
    "parse_values": "selfeval.grammar",
    "parse_expr": "selfeval.grammar",
    "read_declared": "selfeval.ingest",
    "read_actuals": "selfeval.ingest",
    "read_execution": "selfeval.ingest",
    "load_rules": "selfeval.rules.loader",
    "RuleSet": "selfeval.rules.model",
    "score": "selfeval.api",
    "audit": "selfeval.audit.api",
    "AuditResult": "selfeval.audit.result",
    "write_tables": "selfeval.api",
    "write_workbook": "selfeval.report.excel",
    "write_template": "selfeval.report.template",
    "Declaration": "selfeval.declaration",
    "Result": "selfeval.result",
    "SelfevalError": "selfeval.errors",
    "InputError": "selfeval.errors",
    "RuleFileError": "selfeval.errors",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from selfeval.api import score, write_tables
    from selfeval.audit.api import audit
    from selfeval.audit.result import AuditResult
    from selfeval.declaration import Declaration
    from selfeval.errors import InputError, RuleFileError, SelfevalError
    from selfeval.grammar import parse_expr, parse_values
    from selfeval.ingest import read_actuals, read_declared, read_execution
    from selfeval.lint.engine import lint
    from selfeval.report.excel import write_workbook
    from selfeval.report.template import write_template
    from selfeval.result import Result
    from selfeval.rules.loader import load_rules
    from selfeval.rules.model import RuleSet


__getattr__ = lazy_getattr(__name__, _EXPORTS)

# `lint` and `audit` are both a subpackage and its main function: `selfeval.lint` stays the function
# even after the subpackage is imported (the import system would otherwise rebind it to the module).
shadow_subpackages(__name__, "lint", "audit")
