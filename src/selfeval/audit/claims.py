"""Raw records of the submissions → claim frames and the pipeline's canonical inputs.

Numbers are read over whole columns (`number`): `12.5`, `12.5分`, `1,234.00`, `99.25%` (a rate);
a blank, `—`, `/` or `未评分` is no claim; any other text is a located AUDIT_NOT_A_NUMBER finding,
never a silent zero. Amounts written in 万元/千元 are converted to 元. Keys: the unit is the
`单位：CODE 名称` line of the file (selfeval's 汇总), else the 实施单位, else the file name; the
project is its 项目编码, else its name. A project code submitted twice is audited once: the
first file (in path order) counts and each later copy is one AUDIT_DUPLICATE_PROJECT finding.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from selfeval import schema
from selfeval.audit.read import (
    FUND_FIELDS,
    HEADER_FIELDS,
    INDICATOR_FIELDS,
    PART_FIELDS,
    PART_ROWS,
    FileRecords,
)
from selfeval.declaration import Declaration
from selfeval.ingest.layout import AMOUNT_SCALES, combined_targets

# Grades as forms print them → the rule set's grade letters (a grade in full words is the same grade).
GRADE_WORDS = {"优秀": "优", "良好": "良", "中等": "中", "一般": "中", "较差": "差"}
NO_CLAIM = ("", "—", "——", "-", "－", "/", "／", "无", "未评分", "不适用", "n/a", "N/A")
AMOUNTS = ("budget", "year_budget", "executed", *(f"{p}_{f}" for p in PART_ROWS for f in PART_FIELDS))
PROJECT_NUMBERS = (*AMOUNTS, "execution_weight", "execution_points", "total", "full_points")
INDICATOR_NUMBERS = ("weight", "points")
# The label a person reads for each located field (Chinese, as the form prints it).
FIELD_LABELS = {
    "project_code": "项目编码", "project_name": "项目名称", "department": "主管部门", "unit_name": "实施单位", "goal": "预期目标",
    "total": "总分", "grade": "自评等级", "full_points": "总分（分值）", "budget": "年初预算数", "year_budget": "全年预算数",
    "executed": "全年执行数", "execution_weight": "预算执行率分值", "execution_rate": "执行率", "execution_points": "预算执行率得分",
    **{f"{p}_{f}": f"{pl_}{FIELD}" for p, pl_ in (("fiscal", "财政资金"), ("other", "其他资金"), ("carryover", "上年结转"))
       for f, FIELD in (("budget", "年初预算数"), ("year_budget", "全年预算数"), ("executed", "全年执行数"))},
    "seq": "序号", "level1": "一级指标", "level2": "二级指标", "level3": "三级指标", "target_text": "年度指标值",
    "nature": "指标性质", "measure_unit": "度量单位", "direction": "指标方向", "actual_text": "实际完成值", "weight": "分值",
    "points": "得分", "deviation_reason": "偏差原因分析及改进措施", "tier": "定性评价档次",
}


def _cleaned(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().str.replace_all(r"[,，\s]", "").str.replace(r"(?:分|元)$", "")


def is_blank(expr: pl.Expr) -> pl.Expr:
    return expr.is_null() | expr.str.strip_chars().is_in(list(NO_CLAIM))


def number(expr: pl.Expr) -> pl.Expr:
    """A claimed number read from its text (null: no claim, or not a number)."""
    return pl.when(is_blank(expr)).then(None).otherwise(_cleaned(expr).cast(pl.Float64, strict=False))


def rate(expr: pl.Expr) -> pl.Expr:
    """A printed execution rate as a fraction: `99.25%` → 0.9925; a bare number above 1.5 is read as percent points."""
    text = _cleaned(expr)
    pct = text.str.ends_with("%") | text.str.ends_with("％")
    value = text.str.replace(r"[%％]$", "").cast(pl.Float64, strict=False)
    return (pl.when(is_blank(expr)).then(None).when(pct).then(value / 100)
            .when(value > 1.5).then(value / 100).otherwise(value))


def rate_tolerance(expr: pl.Expr, tol: float, stored: pl.Expr | None = None) -> pl.Expr:
    """How far a printed rate may differ: `tol` percentage points, or for a rate typed as text half its last digit
    (`99%` ± 0.5 %); a rate `stored` as a number (the cell's full value) gets `tol` alone."""
    decimals = _cleaned(expr).str.extract(r"\.(\d+)", 1).str.len_chars().fill_null(0)
    percent = _cleaned(expr).str.contains("[%％]")
    typed = percent if stored is None else percent & ~stored.fill_null(False)
    printed = pl.when(typed).then(0.5 * 10.0 ** (-decimals.cast(pl.Float64)) / 100).otherwise(0.0)
    return pl.max_horizontal(pl.lit(tol / 100), printed)


@dataclass(frozen=True)
class Claims:
    """What the submissions claim, keyed, plus what was read and where."""

    files: pl.DataFrame  # file, status, projects, reason
    sheets: pl.DataFrame  # file, sheet, forms, status, reason
    projects: pl.DataFrame  # one row per form: keys, raw texts, claimed numbers, _dup_rank
    indicators: pl.DataFrame  # one row per indicator row: keys, raw texts, claimed numbers
    cells: pl.DataFrame  # _form, seq, field → file, sheet, kind, row, col
    bad_numbers: pl.DataFrame  # located cells that do not read as numbers
    subtotals: pl.DataFrame | None = None  # rows with points but no indicator (_form, row, col, text, label)
    uncached: pl.DataFrame | None = None  # formula cells saved without a result (_form, seq, field, row, col, formula)


def _frame(records: list[dict], columns: dict[str, pl.DataType], offsets: list[int] | None = None) -> pl.DataFrame:
    """Records as a frame of `columns` (other keys ignored); `offsets` are added to `_form` (forms numbered across files)."""
    if not records:
        return pl.DataFrame(schema=columns)
    frame = pl.from_dicts(records, schema=columns)
    if offsets is not None:
        frame = frame.with_columns(pl.col("_form") + pl.Series(offsets, dtype=pl.Int64))
    return frame


def claims_of(read: list[FileRecords], *, year: int | None = None) -> Claims:
    """The claim frames of every file read (forms numbered across files in file order)."""
    lists: dict[str, list[dict]] = {k: [] for k in ("projects", "indicators", "cells", "subtotals", "uncached")}
    offsets: dict[str, list[int]] = {k: [] for k in lists}
    sheets, files, per_file = [], [], []
    offset = 0
    for order, rec in enumerate(read):
        n = len(rec.projects)
        status = "无法读取" if rec.error else ("已审核" if n else "无自评表")
        files.append({"file": rec.file, "status": status, "projects": n, "sheets": len(rec.sheets), "reason": rec.error})
        per_file += [{"_file_order": order, "file_unit_code": rec.unit_code, "file_unit_name": rec.unit_name,
                      "file_year": rec.year}] * n
        sheets += rec.sheets
        for name in lists:
            records = getattr(rec, name)
            lists[name] += records
            offsets[name] += [offset] * len(records)
        offset += n
    text = pl.String
    p_cols = {"_form": pl.Int64, "file": text, "sheet": text, "grid_kind": text, "amount_unit": text,
              "year": pl.Int64, **dict.fromkeys(HEADER_FIELDS, text), **dict.fromkeys(FUND_FIELDS, text),
              **{f"{p}_{f}": text for p in PART_ROWS for f in PART_FIELDS}, "execution_rate_stored": pl.Boolean}
    f_cols = {"_file_order": pl.Int64, "file_unit_code": text, "file_unit_name": text, "file_year": pl.Int64}
    raw_projects = pl.concat([_frame(lists["projects"], p_cols, offsets["projects"]), _frame(per_file, f_cols)],
                             how="horizontal")
    i_cols = {"_form": pl.Int64, "row": pl.Int64, **dict.fromkeys(INDICATOR_FIELDS, text), "seq": pl.Int64}
    raw_indicators = _frame(lists["indicators"], i_cols, offsets["indicators"])
    c_cols = {"_form": pl.Int64, "seq": pl.Int64, "field": text, "row": pl.Int64, "col": pl.Int64}
    raw_cells = _frame(lists["cells"], c_cols, offsets["cells"])
    subtotals = _frame(lists["subtotals"], {"_form": pl.Int64, "row": pl.Int64, "col": pl.Int64, "text": text, "label": text},
                       offsets["subtotals"])
    uncached = lists["uncached"]
    uncached_offsets = offsets["uncached"]

    keyed = _keyed_projects(raw_projects, year)
    located = raw_cells.join(keyed.select("_form", "file", "sheet", "grid_kind"), on="_form", how="left")
    ind = raw_indicators.join(keyed.select("_form", "unit_code", "project_code"), on="_form", how="left").with_columns(
        number(pl.col("weight")).alias("claimed_weight"),
        number(pl.col("points")).alias("claimed_points"),
        is_blank(pl.col("points")).alias("_points_blank"),
        pl.col("seq").cast(pl.Int32),
    ).rename({"weight": "weight_text", "points": "points_text"})
    uncached_frame = _frame(uncached, {"_form": pl.Int64, "seq": pl.Int64, "field": text, "row": pl.Int64, "col": pl.Int64,
                                       "formula": text}, uncached_offsets)
    # a 得分 formula saved without its result is not a blank claim: the claim is unknown (its own finding)
    unknown = uncached_frame.filter(pl.col("field") == "points").select("_form", pl.col("seq").cast(pl.Int32),
                                                                       pl.lit(True).alias("_unknown"))
    ind = ind.join(unknown, on=["_form", "seq"], how="left").with_columns(
        (pl.col("_points_blank") & pl.col("_unknown").is_null()).alias("_points_blank")).drop("_unknown")
    bad = _bad_numbers(keyed, ind)
    return Claims(
        files=pl.DataFrame(files, schema={"file": text, "status": text, "projects": pl.Int64, "sheets": pl.Int64, "reason": text}),
        sheets=_frame(sheets, {"file": text, "sheet": text, "forms": pl.Int64, "status": text, "reason": text}),
        projects=keyed, indicators=ind, cells=located, bad_numbers=bad,
        subtotals=subtotals,
        uncached=uncached_frame,
    )


TEXT_FIELDS = (*FUND_FIELDS, "total", "grade", "full_points", *(f"{p}_{f}" for p in PART_ROWS for f in PART_FIELDS))


def _keyed_projects(raw: pl.DataFrame, year: int | None) -> pl.DataFrame:
    """One row per form: keys, the printed texts (`*_text`) and the claimed numbers (amounts in 元)."""
    scale = pl.col("amount_unit").replace_strict(AMOUNT_SCALES, default=1.0, return_dtype=pl.Float64)
    stem = pl.col("file").str.extract(r"([^/\\]+?)(?:\.[^./\\]*)?$", 1)
    unit_name = pl.coalesce("file_unit_name", "unit_name", "department", stem)
    project_code = pl.coalesce(pl.col("project_code").str.strip_chars(), pl.col("project_name").str.strip_chars(),
                               pl.concat_str([pl.col("sheet"), pl.lit("#"), pl.col("_form").cast(pl.String)]))
    text = raw.sort("_form").rename({f: f"{f}_text" for f in TEXT_FIELDS}).with_columns(
        pl.col("project_code").alias("project_code_text"))
    frame = text.with_columns(
        pl.coalesce("file_unit_code", unit_name).alias("unit_code"),
        unit_name.alias("unit_name"),
        pl.coalesce(pl.col("file_year"), pl.lit(year, pl.Int64)).cast(pl.Int32).alias("year"),
        project_code.alias("project_code"),
        scale.alias("_scale"),
        *(number(pl.col(f"{f}_text")).mul(scale).alias(f"claimed_{f}") for f in ("budget", "year_budget", "executed")),
        *(number(pl.col(f"{p}_{f}_text")).mul(scale).alias(f"{p}_{f}") for p in PART_ROWS for f in PART_FIELDS),
        number(pl.col("execution_weight_text")).alias("claimed_execution_weight"),
        number(pl.col("execution_points_text")).alias("claimed_execution_points"),
        rate(pl.col("execution_rate_text")).alias("claimed_rate"),
        number(pl.col("total_text")).alias("claimed_total"),
        pl.col("grade_text").str.replace_all(r"\s+", "").replace(GRADE_WORDS).alias("claimed_grade"),
    )
    where = pl.concat_str([pl.col("file"), pl.lit(" 工作表 "), pl.col("sheet")])
    # a printed 项目编码 is unique nationwide; a project known only by its name is unique within its unit
    printed = pl.col("project_code_text").str.strip_chars().replace("", None)
    key = pl.when(printed.is_not_null()).then(pl.concat_str([pl.lit("code:"), printed])).otherwise(
        pl.concat_str([pl.lit("name:"), pl.col("unit_code"), pl.lit("|"), pl.col("project_code")]))
    return frame.with_columns(key.alias("_dup_key")).with_columns(
        pl.int_range(pl.len()).over("_dup_key").alias("_dup_rank"),
        where.first().over("_dup_key").alias("_kept_at"),
    )


def _bad_numbers(projects: pl.DataFrame, indicators: pl.DataFrame) -> pl.DataFrame:
    """Number cells whose text reads as no number: one row each, (_form, seq, field, text)."""
    index = ["_form", "unit_code", "project_code", "seq"]
    p = projects.filter(pl.col("_dup_rank") == 0).select(
        "_form", "unit_code", "project_code", pl.lit(0, pl.Int32).alias("seq"),
        *(pl.col(f"{f}_text").alias(f) for f in (*PROJECT_NUMBERS, "execution_rate")),
    ).unpivot(index=index, variable_name="field", value_name="text")
    i = indicators.select(*index, *(pl.col(f"{f}_text").alias(f) for f in INDICATOR_NUMBERS)).unpivot(index=index, variable_name="field", value_name="text")
    both = pl.concat([p, i], how="vertical_relaxed")
    reads = pl.when(pl.col("field") == "execution_rate").then(rate(pl.col("text"))).otherwise(number(pl.col("text")))
    return both.filter(~is_blank(pl.col("text")) & reads.is_null()).with_columns(
        pl.col("field").replace_strict(FIELD_LABELS, default=pl.col("field"), return_dtype=pl.String).alias("label"))


def canonical_inputs(claims: Claims, *, with_weights: bool = True, fractions: pl.DataFrame | None = None,
                     structure_only: bool = False) -> tuple[Declaration, pl.DataFrame, pl.DataFrame]:
    """(declaration, actuals, execution) of the audited projects for the scoring pipeline.

    `with_weights`: the printed 分值 as the indicators' explicit weights (else the rule's weights);
    `fractions`: (unit_code, project_code, seq, fraction) — a qualitative row's claimed fraction within its tier's band;
    `structure_only`: every target `≥1` met by `1` — for the rule's weights alone, which depend only on the
    level-1/level-2 structure (one value to parse instead of every text).
    """
    kept = claims.projects.filter(pl.col("_dup_rank") == 0)
    units = kept.group_by("unit_code", maintain_order=True).agg(pl.col("unit_name").first(), pl.col("year").first())
    projects = kept.select(
        "unit_code", "project_code", pl.col("project_name"),
        pl.coalesce("claimed_budget", "claimed_year_budget").alias("budget"),
        pl.col("fiscal_budget").alias("fiscal_funds"), pl.col("other_budget").alias("other_funds"),
        pl.col("goal"), pl.col("amount_unit"),
    )
    ind = claims.indicators.join(kept.select("_form"), on="_form", how="semi")
    indicators = combined_targets(ind.select(
        "unit_code", "project_code",
        pl.concat_str([pl.col("project_code"), pl.lit("-"), pl.col("seq").cast(pl.String).str.zfill(2)]).alias("indicator_id"),
        "seq", "level1", "level2", "level3", "target_text",
        (pl.col("claimed_weight") if with_weights else pl.lit(None, pl.Float64)).alias("weight"),
        "nature", "measure_unit", "direction",
    ))
    actuals = ind.select("unit_code", "project_code", "seq", "level3", "actual_text", "deviation_reason")
    if structure_only:
        indicators = indicators.with_columns(pl.lit("≥1").alias("target_text"), pl.lit(None, pl.String).alias("direction"))
        actuals = actuals.with_columns(pl.lit("1").alias("actual_text"))
    if fractions is not None:
        actuals = actuals.join(fractions, on=["unit_code", "project_code", "seq"], how="left")
    execution = kept.select(
        "unit_code", "project_code",
        pl.coalesce("claimed_year_budget", "claimed_budget").alias("year_budget"),
        pl.col("claimed_executed").alias("executed"),
    )
    declaration = Declaration(
        units=schema.conform(units, schema.UNITS),
        projects=schema.conform(projects, schema.PROJECTS),
        indicators=schema.conform(indicators, schema.INDICATORS),
        sources=tuple(claims.files.get_column("file").to_list()),
    )
    return declaration, schema.conform(actuals, schema.ACTUALS), schema.conform(execution, schema.EXECUTION)


__all__ = ["FIELD_LABELS", "Claims", "canonical_inputs", "claims_of", "is_blank", "number", "rate", "rate_tolerance"]
