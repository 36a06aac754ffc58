"""The one writer of result tables: `folder/<name>.parquet` and/or `.csv`, each written atomically.

CSV files carry a UTF-8 BOM so that Excel shows the Chinese text. A LazyFrame is streamed to the
file (`sink_*`), so a scan over many part files is copied part by part and memory stays bounded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import polars as pl

from selfeval.atomic import atomic_path

TableFormat = Literal["parquet", "csv", "both"]
TABLE_FORMATS: tuple[str, ...] = ("parquet", "csv", "both")


def table_suffixes(fmt: str) -> tuple[str, ...]:
    """The file suffixes of a table format (`both` → parquet and csv)."""
    if fmt not in TABLE_FORMATS:
        msg = f"未知的结果表格式 {fmt!r}：应为 parquet、csv 或 both"
        raise ValueError(msg)
    return ("parquet", "csv") if fmt == "both" else (fmt,)


# A spreadsheet reads a CSV cell starting with one of these as a formula (OWASP CSV injection).
FORMULA_STARTS = "=+-@\t\r"


def csv_safe(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Text cells that a spreadsheet would run as a formula, prefixed with `'`; numbers stay numbers
    (Parquet outputs keep the exact text)."""
    text_columns = [name for name, dtype in frame.collect_schema().items() if dtype == pl.String]
    pattern = "^[" + "".join("\\" + c if c in "-\\" else c for c in FORMULA_STARTS) + "]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(pattern)).then(pl.concat_str([pl.lit("'"), pl.col(c)])).otherwise(pl.col(c)).alias(c)
        for c in text_columns
    )


def restored_text(text: pl.Expr) -> pl.Expr:
    """A CSV text cell as written before `csv_safe` (the `'` before a formula character removed)."""
    pattern = "^'([" + "".join("\\" + c if c in "-\\" else c for c in FORMULA_STARTS) + "])"
    return text.str.replace(pattern, "${1}")


def csv_restored(frame: pl.DataFrame) -> pl.DataFrame:
    """The text cells of a CSV as written before `csv_safe`: the `'` it put before a formula
    character is removed, so the tool's own CSV tables read back unchanged. Only the columns
    holding such a cell are rewritten (a large table is not copied for nothing)."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not text or not frame.height:
        return frame
    pattern = "^'[" + "".join("\\" + c if c in "-\\" else c for c in FORMULA_STARTS) + "]"
    marked = frame.select(pl.col(name).str.contains(pattern).any() for name in text).row(0)
    return frame.with_columns(restored_text(pl.col(name)) for name, hit in zip(text, marked) if hit)


def _write(frame: pl.DataFrame | pl.LazyFrame, path: Path, suffix: str) -> None:
    if isinstance(frame, pl.LazyFrame):
        if suffix == "parquet":
            frame.sink_parquet(str(path), engine="streaming")
        else:
            csv_safe(frame).sink_csv(str(path), include_bom=True, engine="streaming")
    elif suffix == "parquet":
        frame.write_parquet(path)
    else:
        csv_safe(frame).write_csv(path, include_bom=True)


def table_paths(names: Iterable[str], folder: str | os.PathLike[str], fmt: str = "parquet") -> list[Path]:
    """The files `write_tables` writes for tables `names` into `folder`."""
    return [Path(folder) / f"{name}.{suffix}" for name in names for suffix in table_suffixes(fmt)]


def write_tables(
    frames: Mapping[str, pl.DataFrame | pl.LazyFrame], folder: str | os.PathLike[str], fmt: str = "parquet"
) -> list[Path]:
    """Write each named frame as `folder/<name>.parquet` and/or `.csv`; return the paths written.

    `fmt` is parquet, csv or both (a ValueError otherwise, before anything is written).
    """
    suffixes = table_suffixes(fmt)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, frame in frames.items():
        for suffix in suffixes:
            target = out / f"{name}.{suffix}"
            with atomic_path(target) as tmp:
                _write(frame, tmp, suffix)
            written.append(target)
    return written


__all__ = ["TABLE_FORMATS", "TableFormat", "table_paths", "table_suffixes", "write_tables"]
