"""Build a .docx from a target-table text dump: paragraphs as paragraphs, tables as real Word tables.

Consecutive rows form one table; a paragraph (even an empty one) ends it. A row with fewer
cells than the table is wide gets its last cell merged across the rest (as Word does), and in
the indicator table an empty first cell is merged vertically into the 一级指标 cell above it.
"""

from __future__ import annotations

from pathlib import Path

import docx

from selfeval.ingest.document import Para, Row
from selfeval.ingest.text import dump_items


def build_docx(dump: str, path: str | Path, *, repeat_merged: bool = False) -> Path:
    """Write `dump` (the text of a dump file) as a Word document at `path`.

    With `repeat_merged`, the 一级指标 text is repeated on every row instead of merging the cells
    (how some exporters write a merged column).
    """
    document = docx.Document()
    rows: list[Row] = []

    def flush() -> None:
        if rows:
            _table(document, rows, repeat_merged)
            rows.clear()

    for item in dump_items(dump):
        if isinstance(item, Para):
            flush()
            document.add_paragraph(item.text)
        else:
            rows.append(item)
    flush()
    path = Path(path)
    document.save(str(path))
    return path


def _table(document: docx.document.Document, rows: list[Row], repeat_merged: bool) -> None:
    width = max(len(r.cells) for r in rows)
    table = document.add_table(rows=len(rows), cols=width)
    is_indicator_table = any("三级指标" in r.cells for r in rows)
    for i, row in enumerate(rows):
        cells = table.rows[i].cells
        for j, text in enumerate(row.cells):
            cells[j].text = text
        if len(row.cells) < width:
            cells[len(row.cells) - 1].merge(cells[width - 1])
    if is_indicator_table and repeat_merged:
        above = ""
        for i, row in enumerate(rows):
            if row.cells and row.cells[0] == "" and i > 0:
                table.cell(i, 0).text = above
            elif row.cells:
                above = row.cells[0]
    elif is_indicator_table:
        top = None
        for i, row in enumerate(rows):
            if row.cells and row.cells[0] == "" and top is not None and i > 0:
                continue
            if top is not None and i - 1 > top:
                table.cell(top, 0).merge(table.cell(i - 1, 0))
            top = i
        if top is not None and len(rows) - 1 > top:
            table.cell(top, 0).merge(table.cell(len(rows) - 1, 0))
