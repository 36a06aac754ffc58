"""Which reader a file needs, decided from its content (the extension only breaks ties)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Literal

from selfeval.errors import InputError, Problem
from selfeval.ingest.common import decode_text

Kind = Literal["folder", "docx", "xlsx", "parquet", "csv", "text"]

EXPECTED = "绩效目标表文本（.txt）、Word 文档（.docx）、Excel 工作簿（.xlsx）、.csv、.parquet 或存放这些表的文件夹"
# The suffixes openpyxl opens; a workbook under another name is refused with its real kind named.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")


def sniff(path: str | Path, expected: str = EXPECTED) -> Kind:
    """The kind of input at `path`; raise InputError for a missing, empty, binary or unknown file.

    `expected` says what the caller reads (a declaration by default) in the error's 应为 part.
    """
    path = Path(path)
    file = str(path)
    if path.is_dir():
        return "folder"
    if not path.exists():
        raise InputError(Problem(file=file, message="文件不存在", expected=expected))
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputError(Problem(file=file, message=f"无法读取文件：{exc.strerror or exc}", expected=expected)) from None
    if not head:
        raise InputError(Problem(file=file, message="文件为空", expected=expected))
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            raise InputError(Problem(file=file, message="压缩包已损坏，无法打开", expected=expected)) from None
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            if path.suffix.lower() not in WORKBOOK_SUFFIXES:
                raise InputError(Problem(file=file, message=f"内容是 Excel 工作簿，但扩展名是 {path.suffix or '（无）'}",
                                         expected="把文件改名为 .xlsx 后再试"))
            return "xlsx"
        raise InputError(Problem(file=file, message="是压缩包，但不是 Word 或 Excel 文件", expected=expected))
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            Problem(file=file, message="是旧版 Office 文件（.doc/.xls），无法直接读取",
                    expected="请在 Word/Excel 中另存为 .docx 或 .xlsx 后再试")
        )
    if head.startswith(b"%PDF"):
        raise InputError(Problem(file=file, message="是 PDF 文件，无法读取表格", expected=expected))
    text = decode_text(path.read_bytes(), file)  # raises for empty and binary files
    return text_kind(text, path)


def text_kind(text: str, path: Path) -> Literal["csv", "text"]:
    """A text file is either the target-table dump (tab-led cells) or a delimited table."""
    lines = [line for line in text.splitlines() if line.strip()]
    tab_led = sum(1 for line in lines if line.startswith("\t"))
    if tab_led and any(word in text for word in ("三级指标", "项目编码", "项目名称")):
        return "text"
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv"}:
        return "csv"
    if suffix == ".txt":
        return "text"
    first = lines[0] if lines else ""
    if first.count(",") >= 1 and not tab_led:
        return "csv"
    raise InputError(
        Problem(file=str(path), message="无法识别的文本格式：既不是绩效目标表文本，也不是逗号分隔的表格",
                value=first[:60] or None, expected=EXPECTED)
    )
