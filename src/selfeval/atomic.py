"""Atomic writes: write to a temporary file in the target folder, then rename over the target."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temp path beside `target`; on success it replaces `target`, on error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def safe_file_name(name: str, default: str = "unnamed", max_len: int = 120) -> str:
    """A file name that stays inside its folder: no separators, no `..`, no control characters."""
    cleaned = _UNSAFE.sub("_", name).strip(" .")
    cleaned = cleaned.replace("..", "_")
    return (cleaned or default)[:max_len]
