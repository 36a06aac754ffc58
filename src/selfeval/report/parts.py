"""A result table written part by part, once: Parquet row groups appended, CSV rows appended.

Bulk runs score in batches; each batch's rows of a large table go straight into the table's one
file (no spill files to merge afterwards, so every byte is written once). The file is written
under a temporary name in the target folder and renamed into place by `finish`, so a reader
never sees a half-written table.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, Any

import polars as pl

from selfeval.atomic import temp_file
from selfeval.report.tables import csv_safe


class TableParts:
    """`folder/<name>.<suffix>` for each suffix (parquet, csv), appended to batch by batch."""

    def __init__(self, folder: Path, name: str, suffixes: tuple[str, ...], schema: pl.Schema) -> None:
        self.targets = {suffix: folder / f"{name}.{suffix}" for suffix in suffixes}
        self.schema = schema
        self._temps: dict[str, Path] = {}
        self._parquet: Any = None
        self._first: pl.DataFrame | None = None
        self._arrow_schema: Any = None
        self._csv: IO[bytes] | None = None
        for suffix, target in self.targets.items():
            self._temps[suffix] = temp_file(target)
        self.rows = 0

    def append(self, frame: pl.DataFrame) -> None:
        """Add `frame`'s rows (already in the table's schema) at the end of every file."""
        if "parquet" in self._temps:
            self._append_parquet(frame)
        if "csv" in self._temps:
            first = self._csv is None
            if first:
                self._csv = open(self._temps["csv"], "wb")  # noqa: SIM115 - closed in finish/abort
            csv_safe(frame).write_csv(self._csv, include_header=first, include_bom=first)  # BOM: Excel shows Chinese
        self.rows += frame.height

    def _append_parquet(self, frame: pl.DataFrame) -> None:
        # The first part is held back: a table of one part (every run of up to one batch) is
        # written by Polars itself, so a small run never loads pyarrow (≈0.15 s of start-up).
        if self._parquet is None and self._first is None:
            self._first = frame
            return
        if self._parquet is None:
            import pyarrow.parquet as pq

            held, self._first = self._first, None
            table = held.to_arrow()
            self._arrow_schema = table.schema
            self._parquet = pq.ParquetWriter(str(self._temps["parquet"]), self._arrow_schema, compression="zstd")
            self._parquet.write_table(table)
        table = frame.to_arrow()
        if not table.schema.equals(self._arrow_schema):
            table = table.cast(self._arrow_schema)
        self._parquet.write_table(table)

    def finish(self) -> list[Path]:
        """Close the files (an empty table gets its header) and rename them into place."""
        if self._parquet is None and self._first is None and self._csv is None:
            self.append(pl.DataFrame(schema=self.schema))
        if self._first is not None:
            self._first.write_parquet(self._temps["parquet"], compression="zstd")
            self._first = None
        self._close()
        mask = os.umask(0)
        os.umask(mask)
        for suffix, temp in self._temps.items():
            os.chmod(temp, 0o666 & ~mask)
            os.replace(temp, self.targets[suffix])
        self._temps = {}
        return list(self.targets.values())

    def abort(self) -> None:
        """Close and remove the temporary files (an interrupted run leaves nothing behind)."""
        self._close()
        for temp in self._temps.values():
            with contextlib.suppress(OSError):
                temp.unlink()
        self._temps = {}

    def _close(self) -> None:
        self._first = None
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._csv is not None:
            self._csv.close()
            self._csv = None


__all__ = ["TableParts"]
