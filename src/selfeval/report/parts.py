"""A result table written part by part, once: Parquet parts streamed into one file by Polars' own
writer (`ParquetSink`), CSV rows appended.

Bulk runs score in batches; each batch's rows of a large table go straight into the table's one
file (no spill files to merge afterwards, so every byte is written once). The file is written
under a temporary name in the target folder and renamed into place by `finish`, so a reader
never sees a half-written table.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import polars as pl

from selfeval.atomic import temp_file
from selfeval.report.tables import csv_safe

_END = object()


class ParquetSink:
    """One Parquet file written from frames handed over one at a time: Polars' streaming
    `sink_parquet` runs in a helper thread and reads the frames as they come (a queue of one), so
    the rows are encoded once, by Polars, as they arrive, and memory holds at most two parts."""

    def __init__(self, path: Path, schema: pl.Schema) -> None:
        from polars.io.plugins import register_io_source

        self._queue: queue.Queue[object] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None

        def frames(*_: object) -> Iterator[pl.DataFrame]:
            while (item := self._queue.get()) is not _END:
                yield item  # type: ignore[misc]

        source = register_io_source(frames, schema=schema)

        def write() -> None:
            try:
                source.sink_parquet(path, compression="zstd")
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
                self._error = exc

        self._thread = threading.Thread(target=write, name="selfeval-parquet", daemon=True)
        self._thread.start()

    def put(self, frame: pl.DataFrame | object) -> None:
        """Hand `frame` to the writer (waits while it writes the previous one); its error, if any, is raised here."""
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._queue.put(frame, timeout=0.1)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    raise self._error or OSError("Parquet writer stopped")

    def close(self) -> None:
        """Finish the file (its error, if any, is raised here)."""
        self.put(_END)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        """Stop the writer; the caller removes the file."""
        with contextlib.suppress(BaseException):
            self.close()


class TableParts:
    """`folder/<name>.<suffix>` for each suffix (parquet, csv), appended to batch by batch."""

    def __init__(self, folder: Path, name: str, suffixes: tuple[str, ...], schema: pl.Schema) -> None:
        self.targets = {suffix: folder / f"{name}.{suffix}" for suffix in suffixes}
        self.schema = schema
        self._temps: dict[str, Path] = {}
        self._parquet: ParquetSink | None = None
        self._first: pl.DataFrame | None = None
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
        # written by `write_parquet` at the end, without a writer thread.
        if self._parquet is None and self._first is None:
            self._first = frame
            return
        if self._parquet is None:
            held, self._first = self._first, None
            self._parquet = ParquetSink(self._temps["parquet"], self.schema)
            self._parquet.put(held)
        self._parquet.put(frame)

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
        if self._parquet is not None:
            self._parquet.abort()
            self._parquet = None
        self._close()
        for temp in self._temps.values():
            with contextlib.suppress(OSError):
                temp.unlink()
        self._temps = {}

    def _close(self) -> None:
        self._first = None
        if self._parquet is not None:
            parquet, self._parquet = self._parquet, None
            parquet.close()
        if self._csv is not None:
            self._csv.close()
            self._csv = None


__all__ = ["ParquetSink", "TableParts"]
