"""Errors a user sees: each names the file (and sheet/row/column where known) and what was expected."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file."""

    file: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    expected: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.sheet:
            where.append(f"工作表 {self.sheet}")
        if self.row is not None:
            where.append(f"第 {self.row} 行")
        if self.column:
            where.append(f"列 {self.column}")
        text = f"{'，'.join(where)}：{self.message}"
        if self.value is not None:
            text += f"（读到：{self.value!r}）"
        if self.expected:
            text += f"；应为：{self.expected}"
        return text


class SelfevalError(Exception):
    """Base class of every error selfeval raises on purpose."""


class InputError(SelfevalError):
    """An input file is unreadable or of the wrong shape; carries every problem found."""

    def __init__(self, problems: list[Problem] | Problem | str, file: str | Path | None = None):
        if isinstance(problems, str):
            problems = [Problem(file=str(file or "?"), message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class InputWarning(UserWarning):
    """Something in an input file was read but not used, or read with an assumption (never an error).

    Readers emit it with `warnings.warn` once the file has been read without errors; the CLI
    prints each one as “注意：…”. `problem` locates it (file, sheet, row, column).
    """

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


class RuleFileError(SelfevalError):
    """A scoring rule file is invalid: names the file, the field path and the reason."""


class OutputError(SelfevalError):
    """An output cannot be written safely (it is an input, holds filled values, lies behind a
    symbolic link, or another run is writing it): names the path and what to do instead."""


def field_errors(source: object, errors: list[dict]) -> str:
    """A pydantic ValidationError's `errors()` as lines “source：字段 path：message”."""
    return "\n".join(f"{source}：字段 {'.'.join(str(p) for p in err['loc']) or '（顶层）'}：{err['msg']}" for err in errors)

