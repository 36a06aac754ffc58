"""Small reusable Polars expressions: rounding, curves, text cleaning, number display."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from selfeval.rules.model import Curve


def round_half_up(expr: pl.Expr, decimals: int = 2) -> pl.Expr:
    """Round half up (never banker's): drop binary noise at 9 decimals, then round half up.

    9.925 → 9.93, 7.125 → 7.13, 0.005 → 0.01.
    """
    scale = 10.0**decimals
    # After scaling, the 9-decimal value has 9 - decimals decimals; rounding there again only
    # removes the noise the multiplication added.
    # The final division may be computed as a multiplication by 1/scale (off by one ulp):
    # rounding again gives the exact nearest float.
    return (((expr.round(9) * scale).round(9 - decimals) + 0.5).floor() / scale).round(decimals)


def truncate(expr: pl.Expr, decimals: int = 2) -> pl.Expr:
    """Cut off (round toward zero, points are never negative) after dropping binary noise: 9.929 → 9.92."""
    scale = 10.0**decimals
    return (((expr.round(9) * scale).round(9 - decimals)).floor() / scale).round(decimals)


def round_points(expr: pl.Expr, mode: str, decimals: int) -> pl.Expr:
    """Points rounded as a rule set says: `half_up` or `truncate` to `decimals` (0 = whole points)."""
    return truncate(expr, decimals) if mode == "truncate" else round_half_up(expr, decimals)


def curve_expr(r: pl.Expr, curve: Curve) -> pl.Expr:
    """The curve applied to a column of ratios (linear: flat beyond the ends; step: 0 below)."""
    pts = curve.points
    if curve.kind == "step":
        out: pl.Expr = pl.lit(0.0)
        for x, y in pts:
            out = pl.when(r >= x).then(pl.lit(float(y))).otherwise(out)
        return pl.when(r.is_null()).then(None).otherwise(out)
    chain = pl.when(r.is_null()).then(None).when(r <= pts[0][0]).then(pl.lit(float(pts[0][1])))
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        chain = chain.when(r <= x1).then(pl.lit(float(y0)) + (y1 - y0) * (r - x0) / (x1 - x0))
    return chain.otherwise(pl.lit(float(pts[-1][1])))


def run_starts(on: list[str]) -> pl.Expr:
    """True on the first row of each run of consecutive rows with equal `on` values."""
    return pl.any_horizontal(pl.int_range(pl.len()) == 0, *[pl.col(k).ne_missing(pl.col(k).shift()) for k in on])


def join_by_runs(
    frame: pl.DataFrame, table: pl.DataFrame | Callable[[pl.DataFrame], pl.DataFrame], on: list[str]
) -> pl.DataFrame:
    """`frame` with the columns of `table` (a left join on `on`, nulls equal), looked up once per run
    of rows with equal `on` values and gathered back: tables list an indicator's project and labels
    in runs, so a 1 M-row lookup becomes one over a few thousand run heads.

    `table` may be a function of the distinct `on` values (a frame of `on` columns) returning the
    table: the work is then done once per distinct value.
    """
    starts = frame.select(run_starts(on)).to_series()
    heads = frame.select(on).filter(starts)
    if callable(table):
        table = table(heads.unique(maintain_order=True))
    if not frame.height:
        return frame.join(table, on=on, how="left", maintain_order="left", nulls_equal=True)
    run = (starts.cum_sum() - 1).cast(pl.UInt32)
    heads = heads.join(table, on=on, how="left", maintain_order="left", nulls_equal=True)
    return frame.with_columns(heads.get_column(c).gather(run) for c in heads.columns if c not in on)


def numbered(frame: pl.DataFrame, keys: list[str], name: str) -> tuple[pl.Series, pl.Series]:
    """(`name`: the number of each row's distinct `keys` values, 0…n-1 in no particular order;
    the first row of each number), nulls equal. One group-by of the keys as they are: hashing
    texts once there is cheaper than casting them to categorical codes first, and the distinct
    rows are then gathered by position instead of joined back on every key."""
    groups = (
        frame.select(*keys, pl.int_range(pl.len(), dtype=pl.UInt32).alias("__row"))
        .group_by(keys).agg(pl.col("__row")).select("__row").with_row_index(name)
    )
    members = groups.explode("__row")
    number = pl.zeros(frame.height, dtype=pl.UInt32, eager=True).scatter(members.get_column("__row"), members.get_column(name))
    return number.alias(name), groups.select(pl.col("__row").list.first()).to_series()


def looked_up(frame: pl.DataFrame, table: pl.DataFrame, on: list[str], *, nulls_equal: bool = False) -> pl.DataFrame:
    """`frame` with the other columns of `table` (one row per `on` key), as a left join on `on` gives
    them: the keys alone are joined and the table's columns gathered, so the join copies the key
    columns and not every column of a wide `frame`."""
    at = (
        frame.lazy().select(on)
        .join(table.lazy().select(on).with_row_index("__at"), on=on, how="left", maintain_order="left", nulls_equal=nulls_equal)
        .select("__at").collect(engine="in-memory").to_series()
    )
    return frame.with_columns(table.get_column(c).gather(at) for c in table.columns if c not in on)


def clean_text(expr: pl.Expr) -> pl.Expr:
    """Strip surrounding whitespace; an empty string becomes null."""
    # `replace` rather than `when(stripped != "").then(stripped)`: an eager frame computes a repeated
    # subexpression twice, and a when/then copies every string (1 M-row text columns: 2x slower)
    return expr.cast(pl.String).str.strip_chars().replace("", None)


def num_text(expr: pl.Expr, decimals: int = 4) -> pl.Expr:
    """A number as short display text: 12.5 → "12.5", 10.0 → "10", 0.977777 → "0.9778"."""
    return expr.round(decimals).cast(pl.String).str.strip_suffix(".0")


def money_text(expr: pl.Expr) -> pl.Expr:
    """An amount in 元 for messages: 3000.0 → "3000", 19850.5 → "19850.5"."""
    return num_text(expr, 2)


def pct_text(expr: pl.Expr) -> pl.Expr:
    """A 0–1 rate as a percent text with up to two decimals: 0.9925 → "99.25%"."""
    return pl.concat_str([num_text(expr * 100, 2), pl.lit("%")])
