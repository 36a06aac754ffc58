"""Result tables written part by part (`selfeval.report.parts`): each part once, in order, nothing half-written."""

from __future__ import annotations

import threading
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from selfeval.report.parts import ParquetSink, TableParts

SCHEMA = pl.Schema({"unit_code": pl.String, "seq": pl.Int32, "points": pl.Float64, "message": pl.String})


def _part(start: int, n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "unit_code": [f"U{i:04d}" for i in range(start, start + n)],
            "seq": pl.Series(range(start, start + n), dtype=pl.Int32),
            "points": [i / 7 for i in range(start, start + n)],
            "message": [None if i % 3 else f"第{i}行：偏差原因为空" for i in range(start, start + n)],
        },
        schema=SCHEMA,
    )


def _writer_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "selfeval-parquet"]


def test_parts_in_order_equal_their_concatenation(tmp_path: Path) -> None:
    """It should write every part once, in the order given, into one Parquet file and one CSV file."""
    parts = TableParts(tmp_path, "indicator_scores", ("parquet", "csv"), SCHEMA)
    frames = [_part(0, 5), _part(5, 0), _part(5, 1000), _part(1005, 3)]
    for frame in frames:
        parts.append(frame)
    written = parts.finish()
    assert sorted(p.name for p in written) == ["indicator_scores.csv", "indicator_scores.parquet"]
    expected = pl.concat(frames)
    assert_frame_equal(pl.read_parquet(tmp_path / "indicator_scores.parquet"), expected, check_exact=True)
    assert pl.read_csv(tmp_path / "indicator_scores.csv", schema=SCHEMA).equals(expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["indicator_scores.csv", "indicator_scores.parquet"]
    assert parts.rows == expected.height
    assert _writer_threads() == []


def test_one_part_and_no_part(tmp_path: Path) -> None:
    """It should write a table of one part without a writer thread, and an empty table with its columns."""
    one = TableParts(tmp_path, "one", ("parquet",), SCHEMA)
    one.append(_part(0, 4))
    assert _writer_threads() == []
    one.finish()
    assert_frame_equal(pl.read_parquet(tmp_path / "one.parquet"), _part(0, 4), check_exact=True)
    empty = TableParts(tmp_path, "empty", ("parquet", "csv"), SCHEMA)
    empty.finish()
    assert pl.read_parquet(tmp_path / "empty.parquet").schema == SCHEMA
    assert pl.read_parquet(tmp_path / "empty.parquet").height == 0


def test_abort_leaves_nothing(tmp_path: Path) -> None:
    """It should stop its writer and remove the temporary files when a run is abandoned part-way."""
    parts = TableParts(tmp_path, "findings", ("parquet", "csv"), SCHEMA)
    parts.append(_part(0, 10))
    parts.append(_part(10, 10))  # the writer thread is running
    parts.abort()
    assert list(tmp_path.iterdir()) == []
    assert _writer_threads() == []


def test_writer_error_is_raised_not_hung(tmp_path: Path) -> None:
    """It should raise the writer's error in the caller's thread (a full queue never waits forever)."""
    sink = ParquetSink(tmp_path / "missing-folder" / "x.parquet", SCHEMA)
    with pytest.raises(Exception) as failed:  # noqa: PT011 - Polars' own error type for the path
        for start in range(0, 100, 10):
            sink.put(_part(start, 10))
        sink.close()
    assert "missing-folder" in str(failed.value) or "No such file" in str(failed.value)
    assert _writer_threads() == []
