"""Lazy public names for package `__init__` modules: import the defining module on first use."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any


def lazy_getattr(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` resolving `exports` (name → defining module) on first access."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
            setattr(sys.modules[package], name, value)
            return value
        msg = f"module {package!r} has no attribute {name!r}"
        raise AttributeError(msg)

    return __getattr__


class _ShadowingPackage(types.ModuleType):
    """A package whose listed public names are never rebound to their same-named subpackages."""

    _shadowed: frozenset[str] = frozenset()

    def __setattr__(self, name: str, value: Any) -> None:
        # Importing `package.name` ends with `setattr(package, "name", <module>)`; drop that
        # binding so the lazy `__getattr__` (or an already bound function) keeps answering.
        subpackage = isinstance(value, types.ModuleType) and value.__name__ == f"{self.__name__}.{name}"
        if name in self._shadowed and subpackage:
            return
        super().__setattr__(name, value)


def shadow_subpackages(package: str, *names: str) -> None:
    """Keep `package.<name>` the lazily exported object of that name (e.g. a function), not the
    same-named subpackage, however and whenever that subpackage is imported."""
    module = sys.modules[package]
    shadowed = frozenset(names) | getattr(type(module), "_shadowed", frozenset())
    module.__class__ = type(f"{package}.package", (_ShadowingPackage,), {"_shadowed": shadowed})
