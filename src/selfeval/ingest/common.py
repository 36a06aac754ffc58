"""Shared reader helpers: decoding text files, matching headers, coercing raw frames to a schema.

Every reader ends in `coerce`, which renames headers (identifier, Chinese label or alias), checks
the required columns, converts every column to its schema dtype with Polars expressions and
reports every problem of the file at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

import polars as pl

from selfeval import schema
from selfeval.errors import InputError, Problem

ROW = "__row__"  # the source row number carried through coercion for error messages

# Extra header spellings seen in real files, on top of each identifier and its schema.LABELS label.
ALIASES: dict[str, tuple[str, ...]] = {
    "unit_code": ("单位代码", "预算单位编码", "预算单位代码"),
    "unit_name": ("预算单位", "预算单位名称", "单位"),
    "project_code": ("项目代码",),
    "budget": ("预算金额", "年度预算数", "预算总额", "年初预算数"),
    "fiscal_funds": ("其中：财政资金", "财政拨款"),
    "purpose": ("项目资金用途",),
    "goal": ("年度绩效目标", "年度目标", "目标"),
    "plan_mar": ("3月底", "plan_mar_pct"),
    "plan_jun": ("6月底",),
    "plan_oct": ("10月底",),
    "plan_dec": ("12月底",),
    "seq": ("指标序号",),
    "level3": ("指标名称", "三级指标名称"),
    "description": ("指标描述", "指标内容"),
    "target_text": ("target", "年度指标值", "目标值", "指标目标值"),
    "basis": ("确定依据",),
    "weight": ("权重",),
    "actual_text": ("actual", "实际值", "完成值", "实际完成情况", "全年实际值"),
    "deviation_reason": ("reason", "偏差原因", "偏差原因分析", "偏差原因及改进措施"),
    "tier": ("档次", "评价档次"),
    "fraction": ("得分比例",),
    "year_budget": ("全年预算", "调整后预算数"),
    "executed": ("执行数", "全年执行", "实际支出", "实际执行数"),
    "executed_by_mar": ("3月底执行数", "3月底累计支出"),
    "executed_by_jun": ("6月底执行数", "6月底累计支出"),
    "executed_by_oct": ("10月底执行数", "10月底累计支出"),
    "section": ("部分",),
}


def norm_label(text: object) -> str:
    """A header or label in a comparable form: NFKC, no whitespace, lower case."""
    if text is None:
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text))).lower()


def header_map(targets: Iterable[str], extra: Mapping[str, Iterable[str]] | None = None) -> dict[str, str]:
    """Normalized header spelling → identifier, for the given target identifiers."""
    mapping: dict[str, str] = {}
    for name in targets:
        spellings = [name, schema.LABELS.get(name, name), *ALIASES.get(name, ())]
        spellings += list((extra or {}).get(name, ()))
        for spelling in spellings:
            mapping.setdefault(norm_label(spelling), name)
    return mapping


def decode_text(data: bytes, file: str) -> str:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030."""
    if not data.strip():
        raise InputError(Problem(file=file, message="文件为空", expected="有内容的表格或文本"))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\r\n\f")
            if controls <= max(2, len(text) // 200):
                return text
    raise InputError(
        Problem(file=file, message="不是文本文件，无法识别其内容（可能是二进制或已损坏的文件）",
                expected="UTF-8 或 GB18030 编码的文本、.csv、.xlsx、.docx 或 .parquet")
    )


def missing_columns_problem(file: str, missing: list[str], present: list[str], sheet: str | None = None) -> Problem:
    """One problem naming every missing required column (identifier and Chinese label)."""
    names = "、".join(f"{schema.LABELS.get(m, m)}（{m}）" for m in missing)
    return Problem(
        file=file,
        sheet=sheet,
        message=f"缺少必需的列：{names}",
        value="，".join(str(p) for p in present if not str(p).startswith("__")) or None,
        expected="表头使用字段名或中文列名（如 " + "、".join(schema.LABELS.get(m, m) for m in missing) + "）",
    )


def rename_headers(frame: pl.DataFrame, targets: Iterable[str], extra: Mapping[str, Iterable[str]] | None = None) -> pl.DataFrame:
    """Rename recognised headers to identifiers and drop every other column (except ROW)."""
    mapping = header_map(targets, extra)
    renames: dict[str, str] = {}
    for column in frame.columns:
        target = mapping.get(norm_label(column))
        if target is not None and target not in renames.values():
            renames[column] = target
    keep = [c for c in frame.columns if c in renames or c == ROW]
    return frame.select(keep).rename(renames)


def _text_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    """Any raw column as stripped text, empty → null; integral floats lose their `.0`."""
    col = pl.col(name)
    if dtype == pl.String:
        text = col
    elif dtype.is_float():
        text = (
            pl.when(col.is_finite() & (col == col.round(0)) & (col.abs() < 1e15))
            .then(col.cast(pl.Int64).cast(pl.String))
            .otherwise(col.cast(pl.String))
        )
    else:
        text = col.cast(pl.String)
    text = text.str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _number_expr(text: pl.Expr, *, percent_is_fraction: bool) -> pl.Expr:
    """Text → Float64: thousands separators, full-width digits, trailing 元/万元/%, else null."""
    cleaned = text.str.normalize("NFKC").str.replace_all(r"[,\s]", "")
    wan = cleaned.str.contains(r"万元?$")
    pct = cleaned.str.ends_with("%")
    number = cleaned.str.replace(r"(万元|万|元|%)$", "").cast(pl.Float64, strict=False)
    number = pl.when(wan).then((number * 1e4).round(6)).otherwise(number)
    if percent_is_fraction:
        number = pl.when(pct).then((number / 100).round(12)).otherwise(number)
    return number


def coerce(
    frame: pl.DataFrame,
    target: pl.Schema,
    *,
    file: str,
    required: Iterable[str] = (),
    sheet: str | None = None,
    extra_aliases: Mapping[str, Iterable[str]] | None = None,
    first_row: int = 2,
    renamed: bool = False,
) -> pl.DataFrame:
    """Rename, check and cast a raw frame to `target`; raise one InputError listing every problem.

    `first_row` is the file row number of the frame's first data row (used when the frame has
    no ROW column). Rows whose recognised columns are all empty are dropped.
    """
    raw = frame if renamed else rename_headers(frame, target.names(), extra_aliases)
    if ROW not in raw.columns:
        raw = raw.with_row_index(ROW, offset=first_row).with_columns(pl.col(ROW).cast(pl.Int64))
    missing = [name for name in required if name not in raw.columns]
    if missing:
        raise InputError(missing_columns_problem(file, missing, frame.columns, sheet))

    present = [c for c in raw.columns if c in target]
    texts = raw.select(pl.col(ROW), *[_text_expr(c, raw.schema[c]).alias(c) for c in present])
    if present:
        texts = texts.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in present]))

    exprs: list[pl.Expr] = [pl.col(ROW)]
    checks: list[pl.Expr] = []
    for name in present:
        dtype = target[name]
        if dtype == pl.String:
            exprs.append(pl.col(name))
            continue
        number = _number_expr(pl.col(name), percent_is_fraction=name == "fraction")
        bad = pl.col(name).is_not_null() & number.is_null()
        if dtype.is_integer():
            bad = bad | (number.is_not_null() & (number != number.round(0)))
        exprs.append(number.cast(dtype, strict=False).alias(name))
        checks.append(bad.alias(name))
    converted = texts.select(exprs)
    problems: list[Problem] = []
    if checks:
        flags = texts.select(pl.col(ROW), *checks)
        for name in [c for c in flags.columns if c != ROW]:
            bad_rows = texts.filter(flags[name])
            if bad_rows.height:
                shown = "，".join(
                    f"第{r}行 {v!r}" for r, v in bad_rows.select(ROW, name).head(5).iter_rows()
                )
                more = f" 等 {bad_rows.height} 处" if bad_rows.height > 5 else ""
                kind = "整数" if target[name].is_integer() else "数值"
                problems.append(
                    Problem(file=file, sheet=sheet, column=f"{schema.LABELS.get(name, name)}（{name}）",
                            message=f"不是{kind}：{shown}{more}", expected=kind)
                )
    if problems:
        raise InputError(problems)
    return converted.with_columns(pl.col(ROW)).pipe(_conform_keep_row, target)


def _conform_keep_row(frame: pl.DataFrame, target: pl.Schema) -> pl.DataFrame:
    out = schema.conform(frame, target)
    return out.with_columns(frame[ROW])


def drop_row(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame without the bookkeeping row-number column."""
    return frame.drop(ROW, strict=False)
