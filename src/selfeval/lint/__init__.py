"""Target-quality lint of declared performance target tables (issue 7).

`lint(declared, config=None) -> findings frame`. The engine is imported on first use, so that
`selfeval.findings` can merge `selfeval.lint.catalogue.LINT_CATALOGUE` without a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["CHECKS", "LINT_CATALOGUE", "LintConfig", "LintConfigError", "lint", "load_lint_config"]

if TYPE_CHECKING:
    from selfeval.lint.catalogue import LINT_CATALOGUE
    from selfeval.lint.config import LintConfig, LintConfigError, load_lint_config
    from selfeval.lint.engine import CHECKS, lint

_HOMES = {
    "CHECKS": "selfeval.lint.engine",
    "lint": "selfeval.lint.engine",
    "LINT_CATALOGUE": "selfeval.lint.catalogue",
    "LintConfig": "selfeval.lint.config",
    "LintConfigError": "selfeval.lint.config",
    "load_lint_config": "selfeval.lint.config",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    msg = f"module 'selfeval.lint' has no attribute {name!r}"
    raise AttributeError(msg)
