"""The long canonical form (systems that export data): the canonical tables plus the claims.

A folder of `units`, `projects`, `indicators`, `actuals`, `execution` (.csv or .parquet), or one
.xlsx with sheets of those names. The declaration is read by `selfeval.ingest.read_declared`
(the indicators' `weight` is the printed 分值); the claims are columns of the same tables:
`claimed_points` on `actuals` (or `indicators`), and on `execution` (or `projects`)
`claimed_execution_points`, `claimed_total`, `claimed_grade`, optionally `claimed_rate` and
`execution_weight` (the printed 分值 of 预算执行率). A finding is located by the table, its row and column.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from selfeval.audit.claims import Claims
from selfeval.errors import InputError, Problem

TABLES = ("units", "projects", "indicators", "actuals", "execution")
SUFFIXES = (".parquet", ".csv")
PROJECT_CLAIMS = {"claimed_execution_points": pl.Float64, "claimed_total": pl.Float64, "claimed_grade": pl.String,
                  "claimed_rate": pl.Float64, "execution_weight": pl.Float64}


def _table_files(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name in TABLES:
        for suffix in SUFFIXES:
            if (folder / f"{name}{suffix}").is_file():
                found[name] = folder / f"{name}{suffix}"
                break
    return found


def is_canonical(source: str | Path) -> bool:
    """A folder holding `indicators` and `actuals` tables, or an .xlsx with sheets of those names."""
    path = Path(source)
    if path.is_dir():
        return {"indicators", "actuals"} <= _table_files(path).keys()
    if path.suffix.lower() == ".xlsx" and path.is_file():
        try:
            import fastexcel

            names = set(fastexcel.read_excel(str(path)).sheet_names)
        except Exception:  # noqa: BLE001  (an unreadable workbook is not canonical; the form reader names it)
            return False
        return {"indicators", "actuals"} <= names
    return False


def _read(source: Path, name: str) -> tuple[pl.DataFrame, str, int] | None:
    """(table, file shown, row number of the first data row) or None when the table is absent."""
    if source.is_dir():
        path = _table_files(source).get(name)
        if path is None:
            return None
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, infer_schema_length=0)
        return frame, str(path), 1 if path.suffix == ".parquet" else 2
    try:
        frame = pl.read_excel(source, sheet_name=name, infer_schema_length=0)
    except Exception:  # noqa: BLE001  (the sheet is not there)
        return None
    return frame, str(source), 2


def _cast(frame: pl.DataFrame, columns: dict[str, pl.DataType], file: str) -> pl.DataFrame:
    out = frame
    for name, dtype in columns.items():
        if name not in out.columns:
            out = out.with_columns(pl.lit(None, dtype).alias(name))
        elif dtype != pl.String:
            text = out.get_column(name).cast(pl.String)
            values = text.cast(dtype, strict=False)
            bad = values.is_null() & text.is_not_null() & (text.str.strip_chars() != "")
            if bad.any():
                row = int(bad.arg_true()[0])
                raise InputError(Problem(file=file, row=row + 2, column=name, value=text[row], message="不是数值",
                                         expected="数值"))
            out = out.with_columns(values.alias(name))
    return out


def read_canonical(source: str | Path, *, year: int | None = None) -> Claims:
    """The claims of the long canonical form, in the frames the form reader produces."""
    from selfeval.ingest import read_declared

    source = Path(source)
    declared = read_declared(source, year=year)
    actuals = _read(source, "actuals")
    execution = _read(source, "execution")
    if actuals is None:
        raise InputError(Problem(file=str(source), message="缺少 actuals 表", expected="actuals.csv/.parquet 或名为 actuals 的工作表"))
    act, act_file, act_first = actuals
    act = _cast(act, {"seq": pl.Int64, "claimed_points": pl.Float64}, act_file)
    if act.get_column("claimed_points").is_null().all() and "points" in act.columns:  # `points` as the claim
        act = _cast(act.with_columns(pl.col("points").alias("claimed_points")), {"claimed_points": pl.Float64}, act_file)
    exe, exe_file, exe_first = execution if execution is not None else (pl.DataFrame(), "", 2)
    exe = _cast(exe, {"year_budget": pl.Float64, "executed": pl.Float64, **PROJECT_CLAIMS}, exe_file or str(source))
    for column in ("unit_code", "project_code"):
        if column not in exe.columns:
            exe = exe.with_columns(pl.lit(None, pl.String).alias(column))
    units = declared.units.select("unit_code", "unit_name", "year")
    projects = (
        declared.projects.with_row_index("_form").with_columns(pl.col("_form").cast(pl.Int64))
        .join(units, on="unit_code", how="left")
        .join(exe.with_row_index("_erow").select("unit_code", "project_code", "_erow", "year_budget", "executed",
                                                 *PROJECT_CLAIMS), on=["unit_code", "project_code"], how="left")
    )
    kept = projects.with_columns(
        pl.lit(exe_file or str(source)).alias("file"), pl.lit("execution").alias("sheet"), pl.lit("canonical").alias("grid_kind"),
        pl.lit(1.0).alias("_scale"),
        pl.col("budget").alias("claimed_budget"), pl.col("year_budget").alias("claimed_year_budget"),
        pl.col("executed").alias("claimed_executed"),
        pl.col("fiscal_funds").alias("fiscal_budget"), pl.col("other_funds").alias("other_budget"),
        *(pl.lit(None, pl.Float64).alias(f"{p}_{f}") for p, f in (("carryover", "budget"), ("fiscal", "year_budget"),
                                                                    ("other", "year_budget"), ("carryover", "year_budget"),
                                                                    ("fiscal", "executed"), ("other", "executed"),
                                                                    ("carryover", "executed"))),
        pl.col("execution_weight").alias("claimed_execution_weight"),
        pl.col("claimed_rate").cast(pl.String).alias("execution_rate_text"),
        pl.int_range(pl.len()).over("project_code").alias("_dup_rank"),
        pl.lit(exe_file or str(source)).alias("_kept_at"),
    ).drop("year_budget", "executed", "execution_weight")
    indicators = declared.indicators.join(
        act.with_row_index("_arow").select(
            "unit_code" if "unit_code" in act.columns else pl.lit(None, pl.String).alias("unit_code"),
            "project_code", pl.col("seq").cast(pl.Int32), "_arow",
            *(pl.col(c).cast(pl.String) if c in act.columns else pl.lit(None, pl.String).alias(c)
              for c in ("actual_text", "deviation_reason")), "claimed_points"),
        on=["project_code", "seq"], how="left", suffix="_a",
    ).join(kept.select("_form", "unit_code", "project_code"), on=["unit_code", "project_code"], how="inner")
    indicators = indicators.select(
        "_form", pl.col("_arow").cast(pl.Int64).alias("row"), "seq", "level1", "level2", "level3", "target_text",
        pl.lit(None, pl.String).alias("nature"), pl.lit(None, pl.String).alias("measure_unit"), "direction",
        "actual_text", "deviation_reason", "unit_code", "project_code",
        pl.col("weight").alias("claimed_weight"), "claimed_points",
        pl.col("claimed_points").is_null().alias("_points_blank"),
        pl.col("weight").cast(pl.String).alias("weight_text"), pl.col("claimed_points").cast(pl.String).alias("points_text"),
    )
    ind_fields = ("level3", "target_text", "actual_text", "deviation_reason", "weight", "points")
    project_fields = ("total", "grade", "execution_points", "execution_rate", "execution_weight", "executed", "project_code")
    cells = pl.concat([
        indicators.filter(pl.col("row").is_not_null()).select(
            "_form", pl.col("seq").cast(pl.Int64), pl.lit(list(ind_fields)).alias("field"),
            (pl.col("row") + act_first - 1).alias("row"), pl.lit(act_file).alias("file"), pl.lit("actuals").alias("sheet"),
        ).explode("field"),
        kept.filter(pl.col("_erow").is_not_null()).select(
            "_form", pl.lit(0, pl.Int64).alias("seq"), pl.lit(list(project_fields)).alias("field"),
            (pl.col("_erow").cast(pl.Int64) + exe_first - 1).alias("row"), pl.lit(exe_file).alias("file"),
            pl.lit("execution").alias("sheet"),
        ).explode("field"),
    ]).with_columns(
        pl.lit("canonical").alias("grid_kind"), pl.lit(None, pl.Int64).alias("col"),
    )
    files = pl.DataFrame({"file": [str(source)], "status": ["已审核"], "projects": [kept.height], "sheets": [len(TABLES)],
                          "reason": [None]}, schema={"file": pl.String, "status": pl.String, "projects": pl.Int64,
                                                     "sheets": pl.Int64, "reason": pl.String})
    sheets = pl.DataFrame({"file": [str(source)] * 2, "sheet": ["actuals", "execution"], "forms": [kept.height] * 2,
                           "status": ["已审核"] * 2, "reason": [None, None]},
                          schema={"file": pl.String, "sheet": pl.String, "forms": pl.Int64, "status": pl.String, "reason": pl.String})
    bad = pl.DataFrame(schema={"_form": pl.Int64, "unit_code": pl.String, "project_code": pl.String, "seq": pl.Int32,
                               "field": pl.String, "text": pl.String, "label": pl.String})
    return Claims(files=files, sheets=sheets, projects=kept, indicators=indicators, cells=cells, bad_numbers=bad)


__all__ = ["is_canonical", "read_canonical"]
