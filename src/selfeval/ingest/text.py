"""The seed's text dump of a Word document (SPEC.md §3.1) → paragraphs and table rows.

In the dump every table cell is one line starting with a tab; a blank line ends a table row; a
lone tab is an empty cell; a line without a leading tab is a paragraph (or, right after a cell
line, the next line of that cell's text). `[bookmark: …]` markers are dropped.
"""

from __future__ import annotations

import re
from pathlib import Path

from selfeval.declaration import Declaration
from selfeval.ingest.common import decode_text
from selfeval.ingest.document import HEADING, PART2, Item, Para, Row, parse_items

BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")


def dump_items(text: str) -> list[Item]:
    """Split a text dump into paragraphs and table rows, in document order."""
    text = BOOKMARK.sub("", text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff"))
    items: list[Item] = []
    row: Row | None = None
    last_was_cell = False

    def end_row() -> None:
        nonlocal row
        if row is not None:
            items.append(row)
            row = None

    for lineno, line in enumerate(text.split("\n"), start=1):
        if line.startswith("\t"):
            if row is None:
                row = Row([], lineno, f"第 {lineno} 行")
            row.cells.append(line[1:].strip())
            last_was_cell = True
            continue
        stripped = line.strip()
        if not stripped:
            end_row()
            if line:  # a whitespace-only line is an empty paragraph between tables
                items.append(Para("", lineno))
        elif last_was_cell and row is not None and not (HEADING.match(stripped) or PART2.match(stripped)):
            row.cells[-1] = f"{row.cells[-1]}\n{stripped}" if row.cells[-1] else stripped
            continue
        else:
            end_row()
            items.append(Para(stripped, lineno))
        last_was_cell = False
    end_row()
    return items


def read_text_dump(path: str | Path, *, year: int | None = None) -> Declaration:
    """Read a target-table text dump (UTF-8, UTF-8 with BOM or GB18030; LF or CRLF)."""
    file = str(path)
    text = decode_text(Path(path).read_bytes(), file)
    return parse_items(dump_items(text), file=file, year=year)
