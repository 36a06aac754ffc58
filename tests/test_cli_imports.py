"""`selfeval --help` stays cheap: importing the package or the CLI, and building any command's help,
loads none of the heavy libraries (polars, pydantic, numpy, xlsxwriter). Correctness only; the
timings live in benches/."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import typer

import selfeval
from selfeval.cli import app

HEAVY = ("polars", "pydantic", "numpy", "xlsxwriter")


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=False
    )


def _heavy_loaded(code: str) -> list[str]:
    """The heavy modules loaded in a fresh interpreter after running `code`."""
    proc = _run(f"{textwrap.dedent(code)}\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    assert proc.returncode == 0, proc.stderr
    return eval(proc.stdout.strip().splitlines()[-1])  # noqa: S307 - our own printed list


def _help_invocations() -> list[list[str]]:
    """Every command path of the CLI (the app, each command, each command of a sub-app), as argv."""
    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():  # a group's commands
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


def test_import_cli_loads_no_heavy_module() -> None:
    """It should import `selfeval.cli` without polars, pydantic, numpy or xlsxwriter."""
    assert _heavy_loaded("import selfeval.cli") == []


def test_import_package_loads_no_heavy_module() -> None:
    """It should import `selfeval` (every public name lazy) without any heavy module."""
    assert _heavy_loaded("import selfeval") == []


def test_help_invocations_cover_the_commands() -> None:
    """It should find every command (a guard for the help test below)."""
    invocations = _help_invocations()
    assert [] in invocations and ["score"] in invocations and ["rules", "show"] in invocations
    assert len(invocations) > 10


def test_every_help_loads_no_heavy_module() -> None:
    """It should print every command's --help (exit 0) without loading a heavy module."""
    invocations = _help_invocations()
    proc = _run(
        f"""
        import contextlib, io, json, sys
        from selfeval.cli import app
        report = []
        for argv in {invocations!r}:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                try:
                    app([*argv, "--help"], prog_name="selfeval")
                    code = 0
                except SystemExit as exc:
                    code = exc.code
            heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
            report.append({{"argv": argv, "code": code, "usage": "Usage" in out.getvalue(), "heavy": heavy}})
        print(json.dumps(report))
        """
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [r["argv"] for r in report] == invocations
    for r in report:
        assert r["code"] in (0, None) and r["usage"], r
        assert r["heavy"] == [], f"`selfeval {' '.join(r['argv'])} --help` loaded {r['heavy']}"


def test_python_m_help_loads_no_heavy_module() -> None:
    """It should run `python -m selfeval --help` (exit 0) without importing a heavy module."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "selfeval", "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "selfeval.cli" in imported  # the importtime listing is real
    assert not imported & set(HEAVY)


@pytest.mark.parametrize("name", selfeval.__all__)
def test_public_names_resolve(name: str) -> None:
    """It should resolve every public name of the package on first access."""
    assert getattr(selfeval, name) is not None
    assert name in vars(selfeval)  # cached after the first access


def test_lint_stays_the_function_whatever_is_imported_first() -> None:
    """It should keep `selfeval.lint` the function even when the lint subpackage is imported first."""
    proc = _run(
        """
        import sys
        import selfeval.lint.catalogue
        import selfeval
        from selfeval import lint
        import selfeval.lint.engine
        assert lint is selfeval.lint is sys.modules["selfeval.lint.engine"].lint, selfeval.lint
        print("ok")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_command_modules_give_typer_their_annotations_as_objects() -> None:
    """It should declare command options with evaluated annotations: under `from __future__ import
    annotations` typer compiles and evaluates every option's annotation text to build any help."""
    from pathlib import Path

    folder = Path(selfeval.__file__).parent
    defining = [p for p in folder.glob("cli*.py") if "typer.Option(" in p.read_text(encoding="utf-8")
                or "typer.Argument(" in p.read_text(encoding="utf-8")]
    assert {p.name for p in defining} >= {"cli.py", "cli_audit.py", "cli_rules.py", "cli_serve.py"}
    postponed = [p.name for p in defining if "from __future__ import annotations" in p.read_text(encoding="utf-8")]
    assert postponed == []
    from selfeval.cli import score_command

    assert score_command.__annotations__ and not any(isinstance(a, str) for a in score_command.__annotations__.values())
