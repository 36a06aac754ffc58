"""The completion marker of a `selfeval synth` data set (`synth.json`), read without numpy.

`bulk`, `whatif` and the web page check it before scoring a data set; keeping it apart from the
generator (`selfeval.synth`, which needs numpy) keeps their start-up free of numpy.
"""

from __future__ import annotations

import json
from pathlib import Path

MARKER = "synth.json"  # written first (incomplete) and last (complete)


def incomplete_synth(folder: str | Path) -> str | None:
    """Why the data set in `folder` is not whole, when `write_synth` began it and did not finish
    (its `synth.json` says so, or cannot be read); None for a finished one or a data set that
    `write_synth` did not write (no marker)."""
    marker = Path(folder) / MARKER
    if not marker.is_file():
        return None
    try:
        content = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"{marker} 无法读取（{type(exc).__name__}），无法确认数据集完整"
    if not isinstance(content, dict) or content.get("command") != "synth":
        return None  # someone else's file of that name
    if content.get("complete") is not True:
        return (f"数据集由 selfeval synth 生成，但没有写完（生成被中断，{MARKER} 标记为未完成，"
                f"计划 {content.get('units', '?')} 个单位）")
    return None


__all__ = ["MARKER", "incomplete_synth"]
