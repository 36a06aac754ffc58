"""A Word (.docx) target document → the same paragraphs and table rows as the text dump.

Each `<w:tc>` is one cell (a horizontally merged cell counts once, as in the dump); the
continuation of a vertically merged cell is an empty cell, so it is carried down exactly like
the dump's empty leading cell.
"""

from __future__ import annotations

from pathlib import Path

from selfeval.declaration import Declaration
from selfeval.errors import InputError, Problem
from selfeval.ingest.document import Item, Para, Row, parse_items


def docx_items(path: str | Path) -> list[Item]:
    """Paragraphs and table rows of a .docx body, in document order."""
    import docx  # python-docx
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises assorted errors on a damaged package
        raise InputError(
            Problem(file=str(path), message=f"无法打开 Word 文档：{exc}", expected="可用 Word 打开的 .docx 文件")
        ) from None
    items: list[Item] = []
    tables = 0
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            items.append(Para(block.text.strip()))
        elif isinstance(block, Table):
            tables += 1
            for r, tr in enumerate(block._tbl.tr_lst, start=1):
                cells = [
                    "" if tc.vMerge == "continue" else _Cell(tc, block).text.strip()
                    for tc in tr.tc_lst
                ]
                items.append(Row(cells, None, f"第 {tables} 个表格第 {r} 行"))
    return items


def read_docx(path: str | Path, *, year: int | None = None) -> Declaration:
    """Read a target document saved as .docx."""
    return parse_items(docx_items(path), file=str(path), year=year)
