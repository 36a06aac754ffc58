"""Layouts people use (issue: real tables score right): split targets, directions, amount units, unused columns.

* A target split over three columns 指标性质 | 指标值 | 度量单位 (Yunnan, Sichuan …) is combined
  into one `target_text` = `{sign}{value}{unit}` (`≧` + `95` + `%` → `≥95%`), and the sign or word
  sets `direction`. 正向/反向 are directions, not signs: they go to `direction` only; a 定性
  nature keeps the 指标值 text as written. An explicit 指标方向 column sets `direction` too
  (it wins over 指标性质). `direction` ∈ ge | le | eq | qualitative, else null.
* Amounts written in 万元 (a header `预算数（万元）`, a note `金额单位：万元`) are stored in 元,
  rounded to cents; `amount_unit` records the unit they were written in.
* Columns a reader recognises but does not use are reported as `InputWarning`s, never dropped
  silently (`unused_columns`).

Everything here is a Polars expression over whole columns; the document reader builds its rows
into a frame and uses the same expressions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import polars as pl

from selfeval.checkpoints import SPENT_COLUMNS
from selfeval.errors import Problem
from selfeval.ingest.common import header_map, header_unit, lookup, norm_label

# ------------------------------------------------------------------------------ directions

# Normalized word or sign (NFKC, no spaces) → (direction, the sign written into target_text or None).
DIRECTION_WORDS: dict[str, tuple[str, str | None]] = {
    **{w: ("ge", "≥") for w in ("≥", "≧", "⩾", ">=", "=>", "大于等于", "大于或等于", "不低于", "不少于", "不小于", "不得低于", "不得少于")},
    **{w: ("ge", ">") for w in (">", "大于", "高于", "多于", "超过")},
    **{w: ("le", "≤") for w in ("≤", "≦", "⩽", "<=", "=<", "小于等于", "小于或等于", "不高于", "不多于", "不大于", "不超过", "不得高于", "不得超过")},
    **{w: ("le", "<") for w in ("<", "小于", "低于", "少于")},
    **{w: ("eq", "=") for w in ("=", "==", "等于")},
    **{w: ("ge", None) for w in ("正向", "正向指标", "越大越好", "越高越好", "ge")},
    **{w: ("le", None) for w in ("反向", "反向指标", "越小越好", "越低越好", "le")},
    **{w: ("eq", None) for w in ("eq",)},
    **{w: ("qualitative", None) for w in ("定性", "定性指标", "qualitative")},
}
NO_UNIT = ("", "无", "/", "-", "—", "——", "－", "*", "n/a", "na")
_STARTS_WITH_NUMBER = r"^[-+]?[0-9.]"
_TAKES_UNIT = r"[0-9万千亿]$"  # a value written without its unit ends in a digit (or 万/千/亿)


def _key(expr: pl.Expr) -> pl.Expr:
    """A cell as a vocabulary key: NFKC, no whitespace, lower case (like `norm_label`)."""
    return expr.str.normalize("NFKC").str.replace_all(r"\s+", "").str.to_lowercase()


def direction_expr(expr: pl.Expr) -> pl.Expr:
    """The direction a 指标方向/指标性质 cell states (ge | le | eq | qualitative), else null."""
    mapping = {norm_label(w): d for w, (d, _) in DIRECTION_WORDS.items()}
    return _key(expr).replace_strict(mapping, default=None, return_dtype=pl.String)


def sign_expr(expr: pl.Expr) -> pl.Expr:
    """The sign a 指标性质 cell puts in front of the value (≥ ≤ = > <), else null (正向/反向/定性 have none)."""
    mapping = {norm_label(w): s for w, (_, s) in DIRECTION_WORDS.items() if s is not None}
    return _key(expr).replace_strict(mapping, default=None, return_dtype=pl.String)


def _unit_expr(expr: pl.Expr) -> pl.Expr:
    unit = expr.str.strip_chars()
    return pl.when(_key(unit).is_in(list(NO_UNIT)) | unit.is_null()).then(None).otherwise(unit)


def with_unit(value: pl.Expr, unit: pl.Expr) -> pl.Expr:
    """`value` followed by `unit` when the value is a number written without one (`96` + `%` → `96%`)."""
    value = value.str.strip_chars()
    unit = _unit_expr(unit)
    bare = value.str.normalize("NFKC").str.contains(_TAKES_UNIT) & unit.is_not_null()
    already = value.str.normalize("NFKC").str.ends_with(unit.str.normalize("NFKC"))
    return pl.when(bare & ~already.fill_null(False)).then(pl.concat_str([value, unit])).otherwise(value)


def combined_targets(frame: pl.DataFrame) -> pl.DataFrame:
    """Indicators with `target_text` combined from 指标性质 (`nature`) | 指标值 | 度量单位 (`measure_unit`)
    and `direction` from 指标方向 (`direction`) or 指标性质; the helper columns are dropped.

    A 定性 nature keeps the 指标值 as written; a sign goes in front of a value that starts with a
    number (`≥` + `95` → `≥95`, `≥95` stays); the unit goes after a value that ends in a digit.
    """
    columns = frame.columns
    if not {"nature", "measure_unit"} & set(columns) and "direction" not in columns:
        return frame
    nature = pl.col("nature") if "nature" in columns else pl.lit(None, pl.String)
    unit = pl.col("measure_unit") if "measure_unit" in columns else pl.lit(None, pl.String)
    stated = pl.col("direction") if "direction" in columns else pl.lit(None, pl.String)
    value = pl.col("target_text").str.strip_chars()
    qualitative = direction_expr(nature) == "qualitative"
    sign = pl.coalesce(sign_expr(nature), sign_expr(stated))
    signed = pl.when(sign.is_not_null() & value.str.normalize("NFKC").str.contains(_STARTS_WITH_NUMBER)).then(
        pl.concat_str([sign, value])
    ).otherwise(value)
    text = pl.when(qualitative.fill_null(False)).then(value).otherwise(with_unit(signed, unit))
    combine = [
        pl.when(value.is_null() | (value == "")).then(pl.col("target_text")).otherwise(text).alias("target_text"),
        pl.coalesce(direction_expr(stated), direction_expr(nature)).alias("direction"),
    ]
    keys = [c for c in ("target_text", "nature", "measure_unit", "direction") if c in columns]
    distinct = frame.select(keys).unique()
    if distinct.height * 4 > frame.height:
        return frame.with_columns(combine).drop("nature", "measure_unit", strict=False)
    # Long tables repeat the same few thousand cells: combine each distinct one once.
    solved = distinct.with_columns(c.alias(f"{c.meta.output_name()}_combined") for c in combine)
    return (
        frame.join(solved, on=keys, how="left", nulls_equal=True, maintain_order="left")
        .with_columns(pl.col("target_text_combined").alias("target_text"), pl.col("direction_combined").alias("direction"))
        .drop("target_text_combined", "direction_combined", "nature", "measure_unit", strict=False)
    )


# ------------------------------------------------------------------------------ amount units

AMOUNT_SCALES = {"元": 1.0, "千元": 1e3, "万元": 1e4}
# `金额单位：万元`, `（单位：万元）`, `单位:元` — in a note line or a cell; not `计量单位：元/人`.
AMOUNT_NOTE = re.compile(r"(?:金额|资金|计量)?单位[:：](万元|千元|元)(?![\u4e00-\u9fff/a-z0-9])")
AMOUNT_FIELDS = {
    "projects": ("budget", "fiscal_funds", "other_funds"),
    "execution": ("year_budget", "executed", *SPENT_COLUMNS.values()),
}


def amount_note(text: object) -> str | None:
    """The amount unit a note states (`金额单位：万元` → 万元), else None."""
    m = AMOUNT_NOTE.search(norm_label(text))
    return m.group(1) if m else None


def amount_scales(fields: Iterable[str], units: Mapping[str, str], note: str | None = None) -> dict[str, float]:
    """{amount column: what its stated unit is worth in 元} for the columns `in_yuan` will scale."""
    return {f: AMOUNT_SCALES[u] for f in fields if (u := units.get(f, note)) in AMOUNT_SCALES and AMOUNT_SCALES[u] != 1.0}


def in_yuan(frame: pl.DataFrame, fields: Iterable[str], units: Mapping[str, str], note: str | None = None) -> pl.DataFrame:
    """Amount columns converted to 元 (rounded to cents where converted) and `amount_unit` set.

    `units`: the unit each column's header names (`预算数（万元）`); `note`: the sheet's
    `金额单位：…` note, for columns whose header names none. Without either the amounts are 元, and
    an `amount_unit` column already present (a canonical table: amounts already in 元) is kept.
    """
    fields = [f for f in fields if f in frame.columns]
    written = {f: units.get(f, note) for f in fields}
    exprs = [
        (pl.col(f) * AMOUNT_SCALES[u]).round(2).alias(f)
        for f, u in written.items()
        if u is not None and AMOUNT_SCALES.get(u, 1.0) != 1.0
    ]
    stated = next((u for f in fields if (u := written[f]) in AMOUNT_SCALES), None)
    if stated is not None:
        unit = pl.lit(stated, pl.String)
    elif "amount_unit" in frame.columns:
        unit = pl.col("amount_unit").cast(pl.String).fill_null("元")
    else:
        unit = pl.lit("元", pl.String)
    return frame.with_columns(*exprs, unit.alias("amount_unit"))


# ------------------------------------------------------------------------------ unused columns

# Per table: normalized header → why the reader does not read it. Each present column (with a
# value) is an InputWarning; unknown headers stay silent (people keep 备注, 联系人 … beside the data).
UNUSED: dict[str, dict[str, str]] = {
    "actuals": {
        **dict.fromkeys(("完成率", "指标完成率", "完成比例", "完成程度"), "完成比例由实际完成值与指标值计算"),
    },
    "execution": {
        **dict.fromkeys(("执行率", "预算执行率", "全年执行率"), "执行率由全年执行数与全年预算数计算"),
        **dict.fromkeys(("得分", "执行率得分", "自评得分"), "预算执行得分按规则计算，不读取填写的得分"),
    },
    "indicators": {
        **dict.fromkeys(("指标属性",), "定量、定性由指标值（及指标性质）判断"),
    },
}


# An execution header naming a month end (4月底…, 截至8月末…) that is not one of the spellings read as that
# month's cumulative spending: its numbers would be dropped without a word, and no checkpoint checked.
_MONTH_END = re.compile(r"\d{1,2}月(?:底|末)")
_UNREAD_MONTH_END = ("表头未识别为月底累计支出（可写作“4月底累计支出”“4月底执行数”“4月末执行数”等，1–11 月底；"
                     "全年执行数填在“执行数”列），该月的支出进度未检查")


def _unread_month_end(column: object) -> str | None:
    if not _MONTH_END.search(header_unit(column)[0]):
        return None
    return None if lookup(header_map(SPENT_COLUMNS.values()), column) is not None else _UNREAD_MONTH_END


def unused_reason(table: str, column: object) -> str | None:
    """Why a column of `table` is not read, when it is one to warn of: a recognised-but-unused header (执行率（%）
    is 执行率), or an execution header naming a month end not read as that month's spending."""
    reason = UNUSED.get(table, {}).get(header_unit(column)[0])
    if reason is None and table == "execution":
        reason = _unread_month_end(column)
    return reason


def unused_columns(frame: pl.DataFrame, table: str, *, file: str, sheet: str | None = None) -> list[Problem]:
    """A Problem (to be warned) for each column of `table` holding a value that `unused_reason` names."""
    out: list[Problem] = []
    for column in frame.columns:
        reason = unused_reason(table, column)
        if reason is None:
            continue
        values = frame.get_column(column).cast(pl.String).str.strip_chars().drop_nulls()
        values = values.filter(values != "")
        if values.len():
            out.append(Problem(file=file, sheet=sheet, column=str(column), value=values[0],
                               message=f"该列未读取：{reason}", expected="删除该列，或改填对应的可读取列"))
    return out
