"""selfeval — 预算绩效自评引擎 (Chinese budget performance self-evaluation engine)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
