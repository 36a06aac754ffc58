"""Writing files safely: a temp file in the target's folder, then `os.replace`; safe names.

A reader (or a crash) never sees a half-written workbook: the file appears complete or not at
all. Names that come from input text (unit and project names) are made safe for file systems
and for Excel's sheet-name rules here.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

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


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside `path`; on success it replaces `path`, on error it is removed.

    >>> with atomic_path("out.xlsx") as tmp:  # doctest: +SKIP
    ...     write_something(tmp)
    """
    target = Path(path)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
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


def unique_filenames(names: Iterable[str]) -> list[str]:
    """`names` (already safe) made unique case-insensitively with `_2`, `_3`, … before the suffix."""
    taken: set[str] = set()
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
