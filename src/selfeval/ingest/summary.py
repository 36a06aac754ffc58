"""What `selfeval parse` shows and writes besides the canonical tables: parsed targets and a summary."""

from __future__ import annotations

import polars as pl
from rich.table import Table

from selfeval.declaration import Declaration

INDICATOR_KEYS = ("unit_code", "project_code", "indicator_id", "seq")


def parsed_targets(decl: Declaration) -> pl.DataFrame:
    """Indicator keys, target_text and the parsed target columns (op, value, …, error), one row per indicator.

    Each unit's targets are parsed with that unit's year (so `12月底前` means that year's December).
    """
    from selfeval.grammar import parse_values

    indicators = decl.indicators.join(
        decl.units.select("unit_code", "year"), on="unit_code", how="left", maintain_order="left"
    )
    parts: list[pl.DataFrame] = []
    for (year,), group in indicators.group_by("year", maintain_order=True):
        parsed = parse_values(group["target_text"], year=year)
        parts.append(
            pl.concat([group.select(*INDICATOR_KEYS, "target_text"), parsed.drop("text")], how="horizontal")
        )
    if not parts:
        empty = parse_values(pl.Series("text", [], pl.String)).drop("text")
        return pl.concat([decl.indicators.select(*INDICATOR_KEYS, "target_text"), empty], how="horizontal")
    return pl.concat(parts).sort("unit_code", "project_code", "seq", maintain_order=True)


def summary_frame(decl: Declaration, targets: pl.DataFrame) -> pl.DataFrame:
    """One row per unit: name, year, projects, indicators, budget total, target parse errors."""
    projects = decl.projects.group_by("unit_code").agg(
        pl.len().alias("projects"), pl.col("budget").sum().alias("budget")
    )
    indicators = decl.indicators.group_by("unit_code").agg(pl.len().alias("indicators"))
    errors = targets.group_by("unit_code").agg(pl.col("error").is_not_null().sum().alias("errors"))
    return (
        decl.units.join(projects, on="unit_code", how="left", maintain_order="left")
        .join(indicators, on="unit_code", how="left", maintain_order="left")
        .join(errors, on="unit_code", how="left", maintain_order="left")
        .with_columns(pl.col("projects", "indicators", "errors").fill_null(0), pl.col("budget").fill_null(0.0))
    )


def declared_summary(decl: Declaration, targets: pl.DataFrame) -> Table:
    """The rich table `selfeval parse` prints."""
    frame = summary_frame(decl, targets)
    table = Table(title="绩效目标表解析结果", header_style="bold")
    for label, justify in (("单位", "left"), ("年度", "right"), ("项目", "right"), ("指标", "right"),
                           ("预算合计（元）", "right"), ("指标值解析错误数", "right")):
        table.add_column(label, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in frame.iter_rows(named=True):
        errors = int(row["errors"])
        table.add_row(
            f"{row['unit_code']} {row['unit_name'] or ''}",
            str(row["year"]),
            str(row["projects"]),
            str(row["indicators"]),
            f"{row['budget']:,.2f}",
            f"[red]{errors}[/]" if errors else "0",
        )
    if frame.height > 1:
        table.add_row(
            "合计", "", str(frame["projects"].sum()), str(frame["indicators"].sum()),
            f"{frame['budget'].sum():,.2f}", str(frame["errors"].sum()), style="bold",
        )
    return table
