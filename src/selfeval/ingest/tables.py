"""Canonical declared tables (SPEC.md §3.2) as files: a folder of .csv/.parquet, or one .xlsx workbook.

A folder holds `units.*`, `projects.*`, `indicators.*` and optionally `department_goals.*`; a
workbook holds sheets of those names (or their Chinese names 单位/项目/指标/部门整体目标). Headers
may be identifiers or the Chinese labels of `schema.LABELS`.

Layouts (see `selfeval.ingest.layout`): an indicators table whose target is split over
指标性质 | 指标值 | 度量单位 is combined into target_text and direction; amounts whose header
names 万元 (`预算数（万元）`) or under a sheet note `金额单位：万元` are stored in 元, with
`amount_unit` recording the unit written. A missing budget or level-3 name stays null (lint
reports it); a missing budget with 财政资金/其他资金 filled is their sum, as in a target document.
"""

from __future__ import annotations

import codecs
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import polars as pl

from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.errors import InputError, Problem
from selfeval.ingest.common import coerce_report, drop_row, header_units, key_problems, norm_label, warn_inputs
from selfeval.ingest.document import sort_declared
from selfeval.ingest.layout import AMOUNT_FIELDS, amount_scales, combined_targets, in_yuan, unused_columns
from selfeval.engine import collect_reading
from selfeval.report.tables import TableFormat, csv_restored, write_tables

REQUIRED: dict[str, tuple[str, ...]] = {
    "units": ("unit_code", "unit_name", "year"),
    "projects": ("project_code", "project_name"),
    "indicators": ("project_code", "seq", "level1", "level3", "target_text"),
    "department_goals": ("section", "goal"),
}
SHEET_ALIASES: dict[str, tuple[str, ...]] = {
    "units": ("units", "单位", "单位表", "预算单位"),
    "projects": ("projects", "项目", "项目表"),
    "indicators": ("indicators", "指标", "指标表", "绩效指标"),
    "department_goals": ("department_goals", "部门整体目标", "部门目标", "部门整体绩效目标"),
}
OPTIONAL = ("department_goals",)
# Keys that must be filled and unique, per table (unit_code joins the check where present).
KEYS: dict[str, tuple[str, ...]] = {
    "units": ("unit_code",),
    "projects": ("project_code",),
    "indicators": ("project_code", "seq"),
}
TABLE_SUFFIXES = (".parquet", ".csv")
TEXT_BLOCK = 4 * 2**20  # bytes of a CSV checked (decoded) at a time
QUOTE_SCAN_BYTES = 64 * 2**20  # a CSV Polars cannot read is searched for an unbalanced quote up to this size
# Control characters (Unicode category Cc) other than tab, LF, FF and CR, as `decode_text` counts them.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# What a table is read as, when it has reading helpers beyond its canonical columns.
READ_AS: dict[str, pl.Schema] = {
    "indicators": pl.Schema({**schema.INDICATORS, "nature": pl.String, "measure_unit": pl.String}),
}


# ------------------------------------------------------------------------------ reading


def read_table_file(path: Path, kind: Literal["csv", "parquet"] | None = None) -> pl.DataFrame:
    """One table file as raw columns: parquet with its dtypes, csv as text (UTF-8 or GB18030).

    The path is read literally (never as a glob pattern); CR-only line ends are read as line ends;
    an unbalanced quote is reported at the row and column where it opens. The file is read a block
    at a time (`scan_table_file`), never held whole beside the frame.
    """
    with scan_table_file(path, kind) as scan:
        (frame,) = collect_reading([scan])
    return frame if is_parquet(path, kind) else csv_restored(frame)


def is_parquet(path: Path, kind: Literal["csv", "parquet"] | None = None) -> bool:
    """Whether `read_table_file` reads `path` as Parquet (else as CSV)."""
    return kind == "parquet" or (kind is None and path.suffix.lower() == ".parquet")


@contextmanager
def scan_table_file(path: Path, kind: Literal["csv", "parquet"] | None = None) -> Iterator[pl.LazyFrame]:
    """A lazy scan of one table file's raw columns (parquet with its dtypes, csv as text, cells
    exactly as written: `csv_restored` is the caller's), for the `with` block to collect.

    A CSV is checked as `decode_text` checks a text file, a block at a time (`text_encoding`), and
    scanned where it is; one in GB18030 or UTF-16, or with CR-only line ends, is scanned from a
    temporary UTF-8 copy. An error Polars raises while the block collects (a damaged Parquet file,
    an unbalanced quote) becomes an InputError naming the file.
    """
    file = str(path)
    if is_parquet(path, kind):
        try:
            scan = pl.scan_parquet(path, glob=False)
            readable_columns(scan.collect_schema(), file)
            yield scan
        except InputError:
            raise
        except Exception as exc:  # a damaged or truncated parquet file
            raise InputError(Problem(file=file, message=f"无法读取 Parquet 文件：{first_line(exc)}", expected="有效的 .parquet 表")) from None
        return
    with utf8_csv(path) as source:
        try:
            scan = pl.scan_csv(source, infer_schema=False, truncate_ragged_lines=True, glob=False)
            scan.collect_schema()
            yield scan
        except InputError:
            raise
        except Exception as exc:
            raise csv_error(file, source, exc) from None


def csv_error(file: str, source: Path, exc: BaseException) -> InputError:
    """The InputError of a CSV Polars could not read: an unbalanced quote where it opens (searched
    in a file up to QUOTE_SCAN_BYTES), else Polars' first line."""
    if source.stat().st_size <= QUOTE_SCAN_BYTES:
        text = source.read_bytes().decode("utf-8-sig", errors="replace")
        where = unbalanced_quote(text)
        if where is not None:
            row, column, line = where
            return InputError(Problem(file=file, row=row, column=column, value=line[:60],
                                      message="引号不成对：从这一格开始的引号没有正确闭合",
                                      expected="成对的英文双引号（单元格里的引号写成两个 \"\"）"))
    return InputError(Problem(file=file, message=f"无法按 CSV 读取：{first_line(exc)}", expected="逗号分隔、首行为表头的 .csv"))


@dataclass
class _TextStats:
    """What one pass over a text file in one encoding saw."""

    chars: int = 0
    controls: int = 0
    blank: bool = True
    nul: bool = False
    cr: bool = False
    lf: bool = False


def _text_stats(path: Path, encoding: str, out: BinaryIO | None = None, *, cr_only: bool = False) -> _TextStats | None:
    """One pass over `path` decoded as `encoding` a block at a time (None when it does not decode);
    with `out`, the text is written there as UTF-8 (CR line ends as LF when `cr_only`)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    stats = _TextStats()
    with path.open("rb") as handle:
        while True:
            block = handle.read(TEXT_BLOCK)
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError:
                return None
            stats.chars += len(text)
            stats.controls += len(_CONTROLS.findall(text))
            stats.blank = stats.blank and not block.strip()
            stats.nul = stats.nul or b"\x00" in block
            stats.cr = stats.cr or "\r" in text
            stats.lf = stats.lf or "\n" in text
            if out is not None:
                out.write((text.replace("\r", "\n") if cr_only else text).encode("utf-8"))
            if not block:
                return stats


def text_encoding(path: Path, file: str) -> tuple[str, bool]:
    """(encoding, whether the line ends are CR alone) of a text table file, decided as `decode_text`
    decides it for the whole file but read a block at a time; InputError for an empty or binary file."""
    not_text = InputError(Problem(file=file, message="不是文本文件，无法识别其内容（可能是二进制或已损坏的文件）",
                                  expected="UTF-8 或 GB18030 编码的文本、.csv、.xlsx、.docx 或 .parquet"))
    with path.open("rb") as handle:
        head = handle.read(2)
    if head in (b"\xff\xfe", b"\xfe\xff"):
        stats = _text_stats(path, "utf-16")
        if stats is None:
            raise not_text
        return "utf-16", stats.cr and not stats.lf
    for encoding in ("utf-8-sig", "gb18030"):
        stats = _text_stats(path, encoding)
        if stats is None:
            continue
        if stats.blank:
            raise InputError(Problem(file=file, message="文件为空", expected="有内容的表格或文本"))
        if stats.nul:
            raise not_text
        if stats.controls <= max(2, stats.chars // 200):
            return encoding, stats.cr and not stats.lf
    raise not_text


@contextmanager
def utf8_csv(path: Path) -> Iterator[Path]:
    """`path` when it is UTF-8 text with LF (or CRLF) line ends, else a temporary UTF-8 copy of it
    with LF line ends (removed after the block); InputError for an empty or binary file."""
    encoding, cr_only = text_encoding(path, str(path))
    if encoding == "utf-8-sig" and not cr_only:  # Polars skips the BOM itself
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="selfeval-csv-") as folder:
        copy = Path(folder) / "table.csv"
        with copy.open("wb") as out:
            _text_stats(path, encoding, out, cr_only=cr_only)
        yield copy


def first_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message, cut to `limit` characters (never a dump of the file)."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unbalanced_quote(text: str) -> tuple[int, str, str] | None:
    """(line, header of the column, that line's text) of a quoted CSV field that never closes, or
    closes with something other than a comma or line end after it; None when every quote is well formed."""
    row, field, start = 1, 0, 0
    opened: tuple[int, int, int] | None = None
    at_field_start = True
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if opened is not None:
            if ch == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 2
                    continue
                if i + 1 < n and text[i + 1] not in ",\r\n":
                    break  # the quote closed inside a cell: the opening quote is the culprit
                opened = None
                at_field_start = False
            elif ch == "\n":
                row += 1
            i += 1
            continue
        if ch == '"' and at_field_start:
            opened = (row, field, start)
        elif ch == ",":
            field += 1
        elif ch == "\n":
            row, field, start = row + 1, 0, i + 1
        at_field_start = ch in ",\n"
        i += 1
    if opened is None:
        return None
    row, field, start = opened
    header = text.split("\n", 1)[0].lstrip("\ufeff").split(",")
    column = header[field].strip().strip('"') if field < len(header) else f"第 {field + 1} 列"
    return row, column, text[start:].split("\n", 1)[0]


def readable_columns(frame: pl.DataFrame | pl.Schema, file: str) -> pl.DataFrame | pl.Schema:
    """`frame` (or a schema) unchanged when every column holds scalars; a list, struct or binary
    column is a Problem."""
    columns = frame if isinstance(frame, pl.Schema) else frame.schema
    bad = [(name, dtype) for name, dtype in columns.items() if dtype.is_nested() or dtype in (pl.Binary, pl.Object)]
    if bad:
        raise InputError([
            Problem(file=file, column=str(name), message=f"列的类型是 {dtype}，不是单个数值或文本",
                    expected="每个单元格一个数值或文本（不是列表、结构或二进制）")
            for name, dtype in bad
        ])
    return frame


def _finish(
    raw: dict[str, pl.DataFrame],
    where: dict[str, tuple[str, str | None]],
    sources: tuple[str, ...],
    read_problems: list[Problem] | None = None,
    notes: dict[str, str | None] | None = None,
) -> Declaration:
    """Coerce the raw tables, fill derivable columns, sort; report every table's problems at once.

    `notes`: per table, the amount unit of a sheet note (`金额单位：万元`).
    """
    problems: list[Problem] = list(read_problems or [])
    warnings: list[Problem] = []
    frames: dict[str, pl.DataFrame] = {}
    for name, target in schema.DECLARED_TABLES.items():
        if name not in raw:
            frames[name] = schema.empty(target)
            continue
        file, sheet = where[name]
        reading = READ_AS.get(name, target)
        try:
            units = header_units(raw[name].columns, reading.names())
            scales = amount_scales(AMOUNT_FIELDS[name], units, (notes or {}).get(name)) if name in AMOUNT_FIELDS else None
            frame, found = coerce_report(raw[name], reading, file=file, sheet=sheet, required=REQUIRED[name],
                                         amount_scales=scales)
        except InputError as err:
            problems.extend(err.problems)
            continue
        problems += found
        if name in KEYS:
            problems += key_problems(frame, KEYS[name], file=file, sheet=sheet,
                                     optional=("unit_code",) if name != "units" else (), reported=found)
        if name == "indicators":
            frame = combined_targets(frame)
        if name in AMOUNT_FIELDS:
            frame = in_yuan(frame, AMOUNT_FIELDS[name], units, (notes or {}).get(name))
        warnings += unused_columns(raw[name], name, file=file, sheet=sheet)
        frames[name] = drop_row(frame)
    if problems:
        raise InputError(problems)
    units, projects, indicators = frames["units"], frames["projects"], frames["indicators"]
    for name, what in (("units", "单位"), ("projects", "项目"), ("indicators", "指标")):
        if frames[name].height == 0:
            file, sheet = where[name]
            raise InputError(Problem(file=file, sheet=sheet, message=f"{what}表没有数据行", expected=f"至少一个{what}"))
    only_unit = units["unit_code"][0] if units.height == 1 else None
    sources_sum = pl.col("fiscal_funds").fill_null(0.0) + pl.col("other_funds").fill_null(0.0)
    projects = projects.with_columns(
        pl.col("unit_code").fill_null(pl.lit(only_unit, pl.String)),
        pl.when(pl.col("budget").is_null() & (pl.col("fiscal_funds").is_not_null() | pl.col("other_funds").is_not_null()))
        .then(sources_sum).otherwise(pl.col("budget")).alias("budget"),
    )
    project_unit = projects.select("project_code", pl.col("unit_code").alias("_unit")).unique("project_code", keep="first")
    indicators = (
        indicators.join(project_unit, on="project_code", how="left", maintain_order="left")
        .with_columns(
            pl.col("unit_code").fill_null(pl.col("_unit")).fill_null(pl.lit(only_unit, pl.String)),
            pl.col("indicator_id").fill_null(
                pl.format("{}-{}", pl.col("project_code"), pl.col("seq").cast(pl.String).str.zfill(2))
            ),
        )
        .drop("_unit")
    )
    goals = frames["department_goals"].with_columns(pl.col("unit_code").fill_null(pl.lit(only_unit, pl.String)))
    file, sheet = where["indicators"]
    duplicated = indicators.filter(pl.struct("unit_code", "project_code", "seq").is_duplicated())
    if duplicated.height:
        keys = "，".join(f"{p} 序号 {s}" for p, s in duplicated.select("project_code", "seq").unique(maintain_order=True).head(5).iter_rows())
        raise InputError(Problem(file=file, sheet=sheet, message=f"指标键（项目编码, 序号）重复：{keys}", expected="每个项目内序号唯一"))
    warn_inputs(warnings)
    return sort_declared(
        Declaration(
            units=schema.conform(units, schema.UNITS),
            projects=schema.conform(projects, schema.PROJECTS),
            indicators=schema.conform(indicators, schema.INDICATORS),
            department_goals=schema.conform(goals, schema.DEPARTMENT_GOALS),
            sources=sources,
        )
    )


def read_tables_folder(folder: str | Path) -> Declaration:
    """A folder holding units/projects/indicators(/department_goals) as .parquet or .csv."""
    folder = Path(folder)
    files: dict[str, Path] = {}
    for suffix in reversed(TABLE_SUFFIXES):  # .parquet wins over .csv when both are there
        for p in sorted(folder.iterdir()):
            if p.is_file() and p.suffix.lower() == suffix and not p.name.startswith("."):
                files[p.stem.lower()] = p
    found: dict[str, Path] = {}
    for name, aliases in SHEET_ALIASES.items():
        for alias in aliases:
            if alias.lower() in files:
                found[name] = files[alias.lower()]
                break
    if not found:
        present = "、".join(p.name for p in sorted(folder.iterdir())[:10]) or "（空）"
        raise InputError(
            Problem(file=str(folder), message=f"文件夹中没有可读取的表格（现有：{present}）",
                    expected="units、projects、indicators（可选 department_goals）的 .parquet 或 .csv 文件")
        )
    missing = [n for n in SHEET_ALIASES if n not in found and n not in OPTIONAL]
    if missing:
        raise InputError(
            Problem(file=str(folder), message="缺少表格：" + "、".join(f"{m}.parquet/.csv" for m in missing),
                    expected="units、projects、indicators 三张表（department_goals 可选）")
        )
    raw = {name: read_table_file(path) for name, path in found.items()}
    where = {name: (str(path), None) for name, path in found.items()}
    return _finish(raw, where, tuple(str(found[n]) for n in found))


def sheet_names(path: str | Path) -> list[str]:
    """The sheet names of a workbook, in order."""
    from openpyxl import load_workbook

    from selfeval.ingest.detect import check_package

    check_package(path)
    try:
        workbook = load_workbook(str(path), read_only=True)
    except Exception as exc:
        raise InputError(Problem(file=str(path), message=f"无法打开 Excel 工作簿：{exc}", expected="有效的 .xlsx 文件")) from None
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def is_tables_workbook(names: list[str]) -> bool:
    """True when the sheets include units, projects and indicators (by any accepted name)."""
    normalized = {norm_label(n) for n in names}
    return all(any(norm_label(a) in normalized for a in SHEET_ALIASES[t]) for t in ("units", "projects", "indicators"))


def read_tables_xlsx(path: str | Path) -> Declaration:
    """A workbook with sheets units, projects, indicators (department_goals optional)."""
    file = str(path)
    names = sheet_names(path)
    by_norm = {norm_label(n): n for n in names}
    found: dict[str, str] = {}
    for table, aliases in SHEET_ALIASES.items():
        for alias in aliases:
            if norm_label(alias) in by_norm:
                found[table] = by_norm[norm_label(alias)]
                break
    missing = [t for t in SHEET_ALIASES if t not in found and t not in OPTIONAL]
    if missing:
        raise InputError(
            Problem(file=file, message="缺少工作表：" + "、".join(missing) + "（现有工作表：" + "、".join(names) + "）",
                    expected="工作表 units、projects、indicators（可选 department_goals），或中文名 单位、项目、指标")
        )
    from selfeval.ingest.sheet import read_sheet

    raw: dict[str, pl.DataFrame] = {}
    notes: dict[str, str | None] = {}
    problems: list[Problem] = []
    for table, sheet in found.items():
        target = READ_AS.get(table, schema.DECLARED_TABLES[table])
        try:
            raw[table], _, found_problems, notes[table] = read_sheet(
                path, target.names(), sheet=sheet, required=REQUIRED[table],
                numeric=[n for n, d in target.items() if d != pl.String],
            )
        except InputError as err:
            problems.extend(err.problems)
            continue
        problems += found_problems
    where = {table: (file, sheet) for table, sheet in found.items()}
    return _finish(raw, where, (file,), problems, notes)


# ------------------------------------------------------------------------------ writing


# One table writer for the whole tool (atomic, CSV with BOM); the old name stays for callers.
write_frames = write_tables


def write_declared(decl: Declaration, folder: str | Path, fmt: TableFormat = "parquet") -> list[Path]:
    """Write the four canonical tables into `folder` as parquet, csv or both; return the paths."""
    return write_frames(decl.tables(), folder, fmt)


def write_declared_xlsx(decl: Declaration, path: str | Path) -> Path:
    """Write the four canonical tables as one workbook (sheets units/projects/indicators/department_goals)."""
    from selfeval.report.workbook import new_workbook

    path = Path(path)
    with new_workbook(path, title="绩效目标表（规范表格）") as workbook:
        for name, frame in decl.tables().items():
            frame.write_excel(workbook=workbook, worksheet=name, autofit=True, float_precision=2)
    return path
