"""The package installs and imports on a fresh machine: every module imports, every third-party
import is a declared dependency (issue 10 §1)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
import tomllib
from pathlib import Path

import pytest

import selfeval

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "selfeval"

# Import names that differ from the distribution names declared in pyproject.toml.
DISTRIBUTION_OF = {"yaml": "pyyaml", "docx": "python-docx", "multipart": "python-multipart", "argon2": "argon2-cffi"}
# Files whose imports may come from an optional extra instead (`pip install -e '.[EXTRA]'`); each
# imports them only when its feature runs, never on `import selfeval` (tests/test_cli_imports.py).
OPTIONAL_FILES = {"web": ("src/selfeval/web/", "src/selfeval/cli_serve.py"), "spark": ("src/selfeval/spark/",)}


def _modules() -> list[str]:
    # __main__ runs the CLI on import; its import is covered by `python -m selfeval --help` tests.
    return sorted(m.name for m in pkgutil.walk_packages(selfeval.__path__, prefix="selfeval.") if m.name != "selfeval.__main__")


def _requirement_name(requirement: str) -> str:
    for sep in "<>=!~[; ":
        requirement = requirement.split(sep, 1)[0]
    return requirement.strip().lower().replace("_", "-")


def _third_party_imports() -> dict[str, list[str]]:
    """Top-level import names of `src/` that are neither stdlib nor selfeval, with the files using them."""
    found: dict[str, list[str]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".", 1)[0]
                if top != "selfeval" and top not in sys.stdlib_module_names and top != "__future__":
                    found.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return found


def test_the_package_has_modules() -> None:
    """It should find the package's modules (a guard for the import test below)."""
    modules = _modules()
    assert "selfeval.cli" in modules and "selfeval.scoring" in modules and len(modules) > 30


@pytest.mark.parametrize("module", _modules())
def test_every_module_imports(module: str) -> None:
    """It should import every module of the package (an import error is a failure, never a skip)."""
    assert importlib.import_module(module).__name__ == module


def test_third_party_imports_are_declared() -> None:
    """It should declare in [project.dependencies] every package that src/ imports."""
    declared = {
        _requirement_name(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    imports = _third_party_imports()
    assert {"polars", "pydantic", "yaml"} <= set(imports)  # the scan sees real imports
    extras = {k: {_requirement_name(r) for r in v} for k, v in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get("optional-dependencies", {}).items()}

    def covered(name: str, file: str) -> bool:
        wanted = DISTRIBUTION_OF.get(name, name).lower().replace("_", "-")
        optional = [extra for extra, prefixes in OPTIONAL_FILES.items() if file.startswith(prefixes)]
        return wanted in declared or any(wanted in extras.get(extra, set()) for extra in optional)

    undeclared = {name: bad for name, files in imports.items() if (bad := [f for f in files if not covered(name, f)])}
    assert not undeclared, f"imported by src/ but not declared in pyproject.toml: {undeclared}"
