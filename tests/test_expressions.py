"""Run-length lookups equal the plain left join they replace, whatever the order and nulls."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from selfeval.expressions import join_by_runs, looked_up, run_starts
from selfeval.ingest.prepare import flag_sorted

codes = st.one_of(st.none(), st.sampled_from(["A", "B", "C"]))


def plain_join(frame: pl.DataFrame, table: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    return frame.join(table, on=on, how="left", maintain_order="left", nulls_equal=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(codes, codes), max_size=30), st.lists(st.tuples(codes, codes), unique=True, max_size=6))
def test_join_by_runs_equals_left_join(rows: list[tuple], keys: list[tuple]) -> None:
    frame = pl.DataFrame(rows, schema={"u": pl.String, "p": pl.String}, orient="row").with_row_index("i")
    table = pl.DataFrame(keys, schema={"u": pl.String, "p": pl.String}, orient="row").with_row_index("_id")
    assert_frame_equal(join_by_runs(frame, table, ["u", "p"]), plain_join(frame, table, ["u", "p"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(codes, codes), max_size=30), st.lists(st.tuples(codes, codes), unique=True, max_size=6),
       st.booleans())
def test_looked_up_equals_left_join(rows: list[tuple], keys: list[tuple], nulls_equal: bool) -> None:
    frame = pl.DataFrame(rows, schema={"u": pl.String, "p": pl.String}, orient="row").with_row_index("i")
    table = pl.DataFrame(keys, schema={"u": pl.String, "p": pl.String}, orient="row").with_columns(
        pl.concat_str("u", "p", ignore_nulls=True).alias("name"), pl.int_range(pl.len()).alias("n"))
    joined = frame.join(table, on=["u", "p"], how="left", maintain_order="left", nulls_equal=nulls_equal)
    assert_frame_equal(looked_up(frame, table, ["u", "p"], nulls_equal=nulls_equal), joined)


def test_join_by_runs_works_the_table_out_once_per_distinct_value() -> None:
    frame = pl.DataFrame({"k": ["x", "x", None, None, "y", "x"]})
    seen: list[list[str | None]] = []

    def table(heads: pl.DataFrame) -> pl.DataFrame:
        seen.append(heads.get_column("k").to_list())
        return heads.with_columns(pl.col("k").str.to_uppercase().alias("K"))

    out = join_by_runs(frame, table, ["k"])
    assert seen == [["x", None, "y"]]
    assert out.get_column("K").to_list() == ["X", "X", None, None, "Y", "X"]


def test_a_run_starts_on_the_first_row_even_when_its_key_is_null() -> None:
    frame = pl.DataFrame({"k": [None, None, "a", "a", None]})
    assert frame.select(run_starts(["k"])).to_series().to_list() == [True, False, True, False, True]


def test_flag_sorted_flags_only_ordered_columns_without_nulls() -> None:
    frame = flag_sorted(pl.DataFrame({"a": [1, 2, 2, 5], "b": [2, 1, 3, 4], "c": [None, 1, 2, 3]}), "a", "b", "c")
    assert frame.get_column("a").flags["SORTED_ASC"]
    assert not frame.get_column("b").flags["SORTED_ASC"]
    assert not frame.get_column("c").flags["SORTED_ASC"]
