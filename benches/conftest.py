"""Collect `bench_*.py` under benches/ as test modules (the root config only collects tests/).

    pytest benches/bench_grammar.py --benchmark-only -s
"""

from __future__ import annotations

import pytest


def pytest_collect_file(file_path, parent):
    # A file named on the command line is collected by pytest itself; don't collect it twice.
    if parent.session.isinitpath(file_path):
        return None
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None
