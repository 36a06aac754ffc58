"""Writing files safely: a temp file in the target's folder, then `os.replace`; safe names.

A reader (or a crash) never sees a half-written workbook: the file appears complete or not at
all. A temp file is named `.<target>.<pid>-<random>.tmp`; one left by a process that no longer
runs (killed with SIGKILL, a power cut) is removed by the next write of the same target. Names
that come from input text (unit and project names) are made safe for file systems and for
Excel's sheet-name rules here, and the guards every writer shares live here too: never write
over an input (`refuse_overwriting_input`), never through a symbolic link inside an output
folder (`refuse_symlinks`).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

from selfeval.errors import OutputError

# Characters no file name may hold on Windows, macOS or Linux, plus control characters.
_BAD_FILE_CHARS = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
# Characters Excel forbids in sheet names.
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]")
SHEET_NAME_MAX = 31


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def pid_alive(pid: int) -> bool:
    """Whether process `pid` runs on this machine (True when that cannot be told)."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs, as another user
        return True
    return True


def owner_pid(name: str, prefix: str) -> int | None:
    """The pid in a temporary's name `<prefix><pid>-<random>…`, or None."""
    if not name.startswith(prefix):
        return None
    pid, dash, _ = name[len(prefix) :].partition("-")
    return int(pid) if dash and pid.isdigit() else None


_SWEPT: set[tuple[int, str]] = set()  # (pid, folder) already swept of stale temp files


def remove_stale_temps(folder: Path) -> None:
    """Remove the `.<name>.<pid>-<random>.tmp` files in `folder` whose process is gone (once per
    folder and process: a folder receiving thousands of workbooks is listed once, not each time)."""
    key = (os.getpid(), os.path.abspath(folder))
    if key in _SWEPT:
        return
    _SWEPT.add(key)
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
                continue
            pid = owner_pid(entry.name.rsplit(".", 2)[-2], "") if entry.name.count(".") >= 3 else None
            if pid is not None and pid != os.getpid() and not pid_alive(pid):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def temp_file(target: Path) -> Path:
    """An empty temp file `.<target name>.<pid>-<random>.tmp` beside `target` (mode 0600); stale
    temp files of processes that are gone are removed from the folder first."""
    remove_stale_temps(target.parent)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}-", suffix=".tmp")
    os.close(fd)
    return Path(name)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def refuse_overwriting_input(target: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None]) -> None:
    """OutputError when `target` is one of `inputs` (the same file, however it is spelt), or an
    existing file inside an input folder (a folder of tables is read file by file)."""
    out = Path(target)
    for item in inputs:
        if item is None:
            continue
        source = Path(item)
        if not source.exists():
            continue
        inside = source.is_dir() and out.exists() and out.resolve().is_relative_to(source.resolve())
        if inside or _same_file(out, source):
            msg = f"{out}：输出会覆盖输入 {source}；请为 --out 换一个路径（输入文件从不被改写）"
            raise OutputError(msg)


def refuse_overwriting_inputs(
    targets: Iterable[str | os.PathLike[str]], inputs: Iterable[str | os.PathLike[str] | None]
) -> None:
    """`refuse_overwriting_input` for each of `targets`."""
    sources = list(inputs)
    for target in targets:
        refuse_overwriting_input(target, sources)


def refuse_symlinks(root: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """OutputError when `target`, or a folder between the output folder `root` and it, is a
    symbolic link: a write there would land outside the output folder (`root` itself may be one)."""
    base = Path(root)
    path = Path(target)
    parts = path.relative_to(base).parts
    current = base
    for part in parts:
        current = current / part
        if current.is_symlink():
            msg = f"{current} 是符号链接：selfeval 不会通过符号链接写出文件；请删除它或换一个输出文件夹"
            raise OutputError(msg)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside `path`; on success it replaces `path`, on error it is removed.

    >>> with atomic_path("out.xlsx") as tmp:  # doctest: +SKIP
    ...     write_something(tmp)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_file(target)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def safe_filename(name: str, *, default: str = "未命名", max_length: int = 100) -> str:
    """`name` made safe as a file name on every platform (CJK kept, bad characters → `_`)."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = _BAD_FILE_CHARS.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip().strip(".")
    if len(text) > max_length:
        text = text[:max_length].rstrip(" .")
    if not text or text.upper().split(".")[0] in _WINDOWS_RESERVED:
        text = f"{default}_{text}" if text else default
    return text


def _clean_sheet_name(name: str, default: str) -> str:
    text = _BAD_SHEET_CHARS.sub("_", str(name or ""))
    text = re.sub(r"\s+", " ", text).strip().strip("'").strip()
    return text or default


def unique_sheet_names(
    names: Iterable[str], *, reserved: Iterable[str] = (), default: str = "工作表"
) -> list[str]:
    """Valid, unique Excel sheet names for `names`, in order.

    Each name loses characters Excel forbids (`[]:*?/\\`), leading/trailing apostrophes and
    spaces, and is cut to 31 characters; a name equal (case-insensitively, as Excel compares)
    to an earlier one or to a `reserved` name gets a `~2`, `~3`, … suffix within the limit.
    """
    taken = {r.casefold() for r in reserved}
    taken.add("history")  # reserved by Excel
    out: list[str] = []
    for raw in names:
        base = _clean_sheet_name(raw, default)[:SHEET_NAME_MAX].rstrip().rstrip("'") or default
        candidate, n = base, 1
        while candidate.casefold() in taken:
            n += 1
            suffix = f"~{n}"
            candidate = base[: SHEET_NAME_MAX - len(suffix)].rstrip().rstrip("'") + suffix
        taken.add(candidate.casefold())
        out.append(candidate)
    return out


def unique_filenames(names: Iterable[str], *, taken: set[str] | None = None) -> list[str]:
    """`names` (already safe) made unique case-insensitively with `_2`, `_3`, … before the suffix.

    `taken` (case-folded names already used) is updated, so names given in several calls stay
    unique across them.
    """
    taken = set() if taken is None else taken
    out: list[str] = []
    for name in names:
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, n = name, 1
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{stem}_{n}.{ext}" if ext else f"{stem}_{n}"
        taken.add(candidate.casefold())
        out.append(candidate)
    return out


# The name other modules and the hardening notes use.
safe_file_name = safe_filename
