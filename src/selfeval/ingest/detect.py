"""Which reader a file needs, decided from its content (the extension only breaks ties)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Literal

from selfeval.errors import InputError, Problem
from selfeval.ingest.common import decode_text

Kind = Literal["folder", "docx", "xlsx", "parquet", "csv", "text"]

# Limits of an Office package (a zip archive) beyond which it is refused before any part is
# inflated: a part larger than Excel's 1,048,576-row sheet of this tool's tables would be, a
# package larger in all, a part packed more tightly than any real sheet or document is (real
# sheets, even of repeated values, pack 5–20:1; a "zip bomb" 1000:1), or more parts than a
# workbook has. The sizes are those the archive declares; `zipfile` never inflates a part beyond
# its declared size (it stops there, and a wrong checksum is an error), so the declared sizes bound
# what any reader (openpyxl, python-docx) can inflate.
MAX_PART_BYTES = 512 * 2**20
MAX_PACKAGE_BYTES = 2**30
MAX_RATIO = 100
RATIO_FROM_BYTES = 2**20  # the ratio is checked for parts declared larger than this
MAX_PARTS = 10_000
# How much of a text file `sniff` reads to tell a target document from a table.
SNIFF_BYTES = 2**20

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
                refuse_absurd_archive(archive, file)
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
    text = decode_head(path, file)  # raises for empty and binary files
    return text_kind(text, path)


def decode_head(path: Path, file: str, size: int = SNIFF_BYTES) -> str:
    """The first `size` bytes of a text file decoded as `decode_text` decodes the whole file (a
    character cut at the end is dropped); a larger file is never read whole here. A table reader
    checks the rest of the file as it reads it."""
    with path.open("rb") as handle:
        data = handle.read(size + 1)
    if len(data) <= size:
        return decode_text(data, file)
    data = data[:size]
    for cut in range(4):  # a UTF-8 character is at most 4 bytes: cut the prefix where UTF-8 ends one
        try:
            data[: len(data) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return decode_text(data[: len(data) - cut], file)
    error: InputError | None = None
    for cut in range(4):  # GB18030 characters are at most 4 bytes too; UTF-16 units are 2
        try:
            return decode_text(data[: len(data) - cut], file)
        except InputError as exc:
            error = exc
    assert error is not None
    raise error


def archive_problem(archive: zipfile.ZipFile, file: str) -> Problem | None:
    """What makes an Office package absurd (see MAX_PART_BYTES …), judged from the sizes its
    directory declares; None for a sensible package."""
    expected = (f"正常保存的 .xlsx/.docx 文件（单个部件解压后不超过 {MAX_PART_BYTES // 2**20} MiB、"
                f"合计不超过 {MAX_PACKAGE_BYTES // 2**30} GiB，压缩比不超过 {MAX_RATIO}:1）")
    infos = archive.infolist()
    if len(infos) > MAX_PARTS:
        return Problem(file=file, message=f"压缩包中有 {len(infos):,} 个部件，远多于正常的 Office 文件", expected=expected)
    total = 0
    for info in infos:
        size, packed = info.file_size, info.compress_size
        total += size
        if size > MAX_PART_BYTES:
            return Problem(file=file, value=info.filename, expected=expected,
                           message=f"压缩包中的部件解压后有 {_size_text(size)}，超出合理范围（可能是“压缩炸弹”）")
        if size > RATIO_FROM_BYTES and size > MAX_RATIO * max(packed, 1):
            return Problem(file=file, value=info.filename, expected=expected,
                           message=f"压缩包中的部件压缩比为 {size / max(packed, 1):,.0f}:1（{_size_text(packed)} 解压为 "
                                   f"{_size_text(size)}），远超正常文件（可能是“压缩炸弹”）")
    if total > MAX_PACKAGE_BYTES:
        return Problem(file=file, expected=expected,
                       message=f"压缩包解压后共有 {_size_text(total)}，超出合理范围（可能是“压缩炸弹”）")
    return None


def refuse_absurd_archive(archive: zipfile.ZipFile, file: str) -> None:
    """InputError when `archive_problem` finds the package absurd."""
    problem = archive_problem(archive, file)
    if problem is not None:
        raise InputError(problem)


def check_package(path: str | Path) -> None:
    """InputError when the Office package at `path` is absurd; nothing when it is sensible or is no
    zip archive at all (its reader reports that)."""
    try:
        with zipfile.ZipFile(path) as archive:
            refuse_absurd_archive(archive, str(path))
    except (zipfile.BadZipFile, OSError):
        return


def _size_text(size: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} 字节"


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
