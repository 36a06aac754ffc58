"""Several Polars tables in one Arrow (and Spark) frame, and back.

Spark's Arrow hand-offs (`mapInArrow`, `groupBy(...).applyInArrow`) take frames of one schema,
but a unit group has six input tables and several result tables (the large ones, the per-group
counts, the skipped files). A `Layout` stacks them: a `_table` tag (the table's index),
the group key, and every table's columns prefixed `<table>__<column>` (nulls elsewhere). Types
come from the declared schemas (`selfeval.schema`), so Spark's schema is known before any data
is read and every table comes back exactly as declared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

TAG = "_table"
GROUP = "unit_group"
SEP = "__"

_ARROW = {
    pl.String: pa.string(), pl.Int8: pa.int8(), pl.Int16: pa.int16(), pl.Int32: pa.int32(), pl.Int64: pa.int64(),
    pl.UInt8: pa.int16(), pl.UInt16: pa.int32(), pl.UInt32: pa.int64(), pl.UInt64: pa.int64(),
    pl.Float32: pa.float32(), pl.Float64: pa.float64(), pl.Boolean: pa.bool_(), pl.Date: pa.date32(),
    pl.Binary: pa.binary(),
}


def arrow_type(dtype: pl.DataType) -> pa.DataType:
    """The Arrow type Spark exchanges for a Polars dtype (unsigned widened: Spark has none)."""
    for polars_type, arrow in _ARROW.items():
        if dtype == polars_type:
            return arrow
    msg = f"Spark 引擎不支持的列类型：{dtype}"
    raise TypeError(msg)


def restored_dtype(dtype: pl.DataType) -> pl.DataType:
    """The Polars dtype a column of `dtype` is stored under in Spark (unsigned widened)."""
    return pl.from_arrow(pa.array([], type=arrow_type(dtype))).dtype  # type: ignore[union-attr]


@dataclass(frozen=True)
class Layout:
    """Tables stacked in one frame: names in tag order, each with its declared schema."""

    tables: Mapping[str, pl.Schema]

    def index(self, name: str) -> int:
        return list(self.tables).index(name)

    def arrow_schema(self) -> pa.Schema:
        fields = [pa.field(TAG, pa.int8(), nullable=False), pa.field(GROUP, pa.int64())]
        for name, target in self.tables.items():
            fields += [pa.field(f"{name}{SEP}{col}", arrow_type(dtype)) for col, dtype in target.items()]
        return pa.schema(fields)

    def spark_schema(self) -> Any:
        """The Spark StructType of the stacked frame (pyspark imported here)."""
        from pyspark.sql.pandas.types import from_arrow_schema

        return from_arrow_schema(self.arrow_schema())

    def pack(self, frames: Mapping[str, pl.DataFrame], group: int | None) -> pa.Table:
        """The stacked Arrow table of `frames` (every table of the layout; missing ones empty)."""
        schema = self.arrow_schema()
        parts = []
        for i, (name, target) in enumerate(self.tables.items()):
            frame = frames.get(name)
            if frame is None or frame.height == 0:
                continue
            parts.append(frame.select(
                pl.lit(i, pl.Int8).alias(TAG), pl.lit(group, pl.Int64).alias(GROUP),
                *[pl.col(col).cast(restored_dtype(dtype)).alias(f"{name}{SEP}{col}") for col, dtype in target.items()],
            ))
        if not parts:
            return schema.empty_table()
        stacked = pl.concat(parts, how="diagonal")
        table = stacked.to_arrow()
        columns = [table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
                   for f in schema]
        return pa.Table.from_arrays(columns, schema=schema)

    def unpack(self, stacked: pl.DataFrame) -> dict[str, pl.DataFrame]:
        """Each table of a stacked frame, columns and dtypes as declared."""
        out = {}
        for i, (name, target) in enumerate(self.tables.items()):
            rows = stacked.filter(pl.col(TAG) == i)
            out[name] = rows.select(pl.col(f"{name}{SEP}{col}").cast(dtype).alias(col) for col, dtype in target.items())
        return out

    def spark_table(self, stacked: Any, name: str, *, keep_group: bool = True) -> Any:
        """One table of a stacked Spark frame (the group key first when kept)."""
        from pyspark.sql import functions as F

        columns = [F.col(f"`{name}{SEP}{col}`").alias(col) for col in self.tables[name]]
        if keep_group:
            columns = [F.col(GROUP), *columns]
        return stacked.filter(F.col(TAG) == self.index(name)).select(*columns)


__all__ = ["GROUP", "TAG", "Layout", "arrow_type", "restored_dtype"]
