"""What the CLI says when something is wrong: one line on stderr, exit 2, never a traceback.

* `error_line(error)` — any error as one line: an input error's problems joined, an OS error as
  “path：reason” in Chinese (a writer's temporary file named by the file it stands for).
* `OneLineGroup` — the typer group class of the app: usage errors (a missing option, a value out
  of range, an unknown choice) print one line instead of click's usage box, and an error nobody
  anticipated prints one line and exits 2 (`SELFEVAL_DEBUG=1` shows the traceback).
* `output_problem(path, kind)` — a `--out` that cannot be written, found before any work is done.
* `json_ready(value)` — NaN and ±inf become null, so `--style json` prints valid JSON.

Imports only the standard library and typer (rich lazily), so `--help` stays fast.
"""

from __future__ import annotations

import errno
import math
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

# click's base of usage errors, whether typer vendors click (≥ 0.20) or depends on it
ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")

MAX_PROBLEMS = 8  # problems shown on the line; the rest are counted
DEBUG_ENV = "SELFEVAL_DEBUG"

OS_REASONS = {
    errno.ENOENT: "不存在",
    errno.EACCES: "没有读写权限",
    errno.EPERM: "没有权限",
    errno.EEXIST: "已存在同名文件",
    errno.ENOTDIR: "路径中有一段是文件，不是文件夹",
    errno.EISDIR: "是文件夹，不是文件",
    errno.ENOSPC: "磁盘空间不足",
    errno.EROFS: "位于只读的文件系统",
    errno.ENAMETOOLONG: "路径太长",
    errno.EINVAL: "路径无效",
    errno.ELOOP: "符号链接循环",
}
# `selfeval.atomic.atomic_path` writes `.NAME.<random>.tmp` beside NAME, then renames it.
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[^./\\]+\.tmp$")


def _shown_path(name: object) -> str:
    """A path as the user knows it: a writer's temporary file is named by the file it stands for."""
    path = Path(os.fsdecode(name))  # type: ignore[arg-type]
    m = _TEMP_NAME.match(path.name)
    return str(path.with_name(m.group("name"))) if m else str(path)


def os_error_text(exc: OSError) -> str:
    """`path：reason` of an OS error, in Chinese where the reason is a common one."""
    reason = OS_REASONS.get(exc.errno or -1) or exc.strerror or str(exc) or type(exc).__name__
    name = exc.filename if exc.filename is not None else exc.filename2
    return f"{_shown_path(name)}：{reason}" if name is not None else f"{reason}"


def error_line(error: BaseException) -> str:
    """`error` as one line: every problem of an input error (the first MAX_PROBLEMS, then a count)."""
    if isinstance(error, OSError):
        return os_error_text(error)
    problems = getattr(error, "problems", None)
    lines = [str(p) for p in problems] if problems else str(error).splitlines()
    lines = [" ".join(line.split()) for line in lines if line.strip()]
    if len(lines) > MAX_PROBLEMS:
        lines = [*lines[:MAX_PROBLEMS], f"……共 {len(lines)} 处问题"]
    return "；".join(lines) or type(error).__name__


def print_error(message: str) -> None:
    """Print `错误：message` as exactly one line on stderr (no wrapping, no markup read)."""
    from rich.console import Console
    from rich.markup import escape

    text = " ".join(message.split())
    Console(stderr=True, soft_wrap=True, highlight=False).print(f"[bold red]错误：[/]{escape(text)}")


def output_problem(path: Path, kind: str, option: str = "--out") -> str | None:
    """Why `path` cannot be written as `kind` ("folder" or "file"), or None when it can be tried."""
    if kind == "folder" and path.exists() and not path.is_dir():
        return f"{option} {path}：已存在同名文件，不能作为输出文件夹"
    if kind == "file" and path.is_dir():
        return f"{option} {path}：是文件夹，不能作为输出文件"
    for parent in (path, *path.parents) if kind == "folder" else path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"{option} {path}：路径中的 {parent} 是文件，不是文件夹"
            break
    return None


def rules_line(rules: Any) -> str:
    """Which rule file a run used: name, path and SHA-256 (also in the workbook's 计算说明)."""
    return f"规则集 {rules.name}：{rules.source or '（内存中构造）'}（SHA-256 {rules.sha256 or '—'}）"


def json_ready(value: Any) -> Any:
    """`value` with every NaN or ±inf float replaced by None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


class OneLineGroup(TyperGroup):
    """The app's group: every error ends as one line on stderr and an exit code (see module doc)."""

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ClickException as exc:
            if type(exc).__name__ != "NoArgsIsHelpError":  # the help was printed already
                ctx = getattr(exc, "ctx", None)
                hint = f"（运行 {ctx.command_path} --help 查看用法）" if ctx is not None else ""
                print_error(f"{exc.format_message()}{hint}")
            sys.exit(exc.exit_code)
        except typer.Abort:
            print_error("已中止")
            sys.exit(1)
        except Exception as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            if isinstance(exc, OSError):
                print_error(error_line(exc))
            else:
                first = (str(exc).strip().splitlines() or [""])[0][:200]
                print_error(f"无法处理该输入（{type(exc).__name__}：{first}）；设置环境变量 {DEBUG_ENV}=1 可查看详细信息")
            sys.exit(2)
        sys.exit(code if isinstance(code, int) else 0)


__all__ = ["OneLineGroup", "error_line", "json_ready", "os_error_text", "output_problem", "print_error", "rules_line"]
