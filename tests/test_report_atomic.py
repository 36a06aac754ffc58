"""Safe writing and naming: atomic replace, file names, Excel sheet names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from selfeval.report.atomic import atomic_path, safe_filename, unique_filenames, unique_sheet_names

SHEET_CASES = [
    (["汇总"], ["汇总"]),
    (["a[b]c:d*e?f/g\\h"], ["a_b_c_d_e_f_g_h"]),
    (["'quoted'"], ["quoted"]),
    (["x" * 40, "x" * 40, "x" * 40], ["x" * 31, "x" * 29 + "~2", "x" * 29 + "~3"]),
    (["Sheet", "sheet", "SHEET"], ["Sheet", "sheet~2", "SHEET~3"]),
    (["", "   "], ["工作表", "工作表~2"]),
    (["History"], ["History~2"]),
]


@pytest.mark.parametrize(("names", "expected"), SHEET_CASES)
def test_unique_sheet_names(names: list[str], expected: list[str]) -> None:
    """It should make valid, unique (case-insensitively) sheet names of at most 31 characters."""
    assert unique_sheet_names(names) == expected


def test_unique_sheet_names_avoid_reserved() -> None:
    """It should never reuse a reserved (fixed) sheet name."""
    assert unique_sheet_names(["汇总", "问题清单"], reserved=["汇总", "问题清单"]) == ["汇总~2", "问题清单~2"]


def test_unique_sheet_names_many_collisions() -> None:
    """It should stay within 31 characters and unique even with hundreds of equal names."""
    names = unique_sheet_names(["项" * 50] * 300)
    assert len(set(n.casefold() for n in names)) == 300
    assert all(len(n) <= 31 for n in names)


FILE_CASES = [
    ("自评表_480001.xlsx", "自评表_480001.xlsx"),
    ("a/b\\c:d*e?f\"g<h>i|j", "a_b_c_d_e_f_g_h_i_j"),
    ("../../etc/passwd", "_.._etc_passwd"),
    ("  .hidden. ", "hidden"),
    ("", "未命名"),
    ("CON", "未命名_CON"),
    ("x" * 300, "x" * 100),
]


@pytest.mark.parametrize(("name", "expected"), FILE_CASES)
def test_safe_filename(name: str, expected: str) -> None:
    """It should keep CJK, replace path separators and forbidden characters, and cap the length."""
    assert safe_filename(name) == expected
    assert "/" not in safe_filename(name) and "\\" not in safe_filename(name)


def test_unique_filenames() -> None:
    """It should number repeated file names before the suffix."""
    assert unique_filenames(["a.xlsx", "A.xlsx", "a.xlsx", "b"]) == ["a.xlsx", "A_2.xlsx", "a_3.xlsx", "b"]


def test_atomic_path_replaces_on_success(tmp_path: Path) -> None:
    """It should write beside the target and rename over it, leaving no temp file."""
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("new", encoding="utf-8")
        assert not target.exists()
    assert target.read_text(encoding="utf-8") == "new"
    assert list(target.parent.iterdir()) == [target]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # the usual permissions, not mkstemp's 0600


def test_atomic_path_keeps_old_file_on_error(tmp_path: Path) -> None:
    """It should leave an existing target untouched and remove the temp file when writing fails."""
    target = tmp_path / "out.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "old"
    assert list(tmp_path.iterdir()) == [target]
