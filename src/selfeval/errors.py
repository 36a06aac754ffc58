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


# pydantic's error types in the words of a rule file's reader; `{…}` are the error's `ctx` values
_ERROR_WORDS = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不是已知字段（是否拼写有误？）",
    "float_parsing": "应为数字，读到 {input}", "float_type": "应为数字，读到 {input}",
    "int_parsing": "应为整数，读到 {input}", "int_type": "应为整数，读到 {input}", "int_from_float": "应为整数，读到 {input}",
    "bool_parsing": "应为 true 或 false，读到 {input}", "bool_type": "应为 true 或 false，读到 {input}",
    "string_type": "应为文本，读到 {input}", "dict_type": "应为键值映射", "list_type": "应为列表", "tuple_type": "应为列表",
    "literal_error": "应为 {expected} 之一，读到 {input}",
    "greater_than_equal": "应不小于 {ge}，读到 {input}", "greater_than": "应大于 {gt}，读到 {input}",
    "less_than_equal": "应不大于 {le}，读到 {input}", "less_than": "应小于 {lt}，读到 {input}",
    "finite_number": "应为有限的数，读到 {input}", "string_too_short": "不能为空", "too_short": "至少需要 {min_length} 项",
    "too_long": "至多 {max_length} 项",
}


def error_words(err: dict) -> str:
    """One pydantic error in Chinese: our own validators' messages as written, pydantic's translated."""
    kind = err.get("type", "")
    if kind in ("value_error", "assertion_error"):
        return str(err.get("ctx", {}).get("error", err["msg"]))
    template = _ERROR_WORDS.get(kind)
    if template is None:
        return err["msg"]
    fields = dict(err.get("ctx") or {})
    if "expected" in fields:  # pydantic lists the choices as "'a', 'b' or 'c'"
        fields["expected"] = str(fields["expected"]).replace(" or ", ", ").replace(", ", "、")
    # bounds and numbers as a person writes them (0, not 0.0); nothing written reads as 空值, not None
    fields = {k: f"{v:g}" if isinstance(v, float) else v for k, v in fields.items()}
    given = err.get("input")
    fields["input"] = repr(given) if isinstance(given, str) else "空值" if given is None else f"{given:g}" if isinstance(given, float) else given
    try:
        return template.format(**fields)
    except (KeyError, IndexError):
        return err["msg"]


def field_errors(source: object, errors: list[dict]) -> str:
    """A pydantic ValidationError's `errors()` as lines “source：字段 path：message”."""
    return "\n".join(f"{source}：字段 {'.'.join(str(p) for p in err['loc']) or '（顶层）'}：{error_words(err)}" for err in errors)

