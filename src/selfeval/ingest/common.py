"""Shared reader helpers: decoding text files, matching headers, coercing raw frames to a schema.

Every reader ends in `coerce`, which renames headers (identifier, Chinese label or alias), checks
the required columns, converts every column to its schema dtype with Polars expressions and
reports every problem of the file at once.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping

from typing import Any

import polars as pl

from selfeval import schema
from selfeval.checkpoints import CHECKPOINT_MONTHS, SPENT_COLUMNS, month_label
from selfeval.errors import InputError, Problem

ROW = "__row__"  # the source row number carried through coercion for error messages

# Extra header spellings seen in real files, on top of each identifier and its schema.LABELS label.
ALIASES: dict[str, tuple[str, ...]] = {
    "unit_code": ("单位代码", "预算单位编码", "预算单位代码"),
    "unit_name": ("预算单位", "预算单位名称", "单位"),
    "project_code": ("项目代码",),
    "category": ("项目类型", "项目分类", "项目类别名称"),
    "budget": ("预算金额", "年度预算数", "预算总额", "年初预算数", "项目资金", "资金总额", "年度资金总额", "项目总额", "金额"),
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
    "weight": ("权重", "指标分值"),
    "direction": ("指标方向性", "方向"),
    "points": ("自评得分", "评分", "指标得分", "自评得分（如需调整）"),
    "actual_text": ("actual", "实际值", "完成值", "实际完成情况", "全年实际值"),
    "deviation_reason": ("reason", "偏差原因", "偏差原因分析", "偏差原因及改进措施", "未完成原因", "未完成原因分析",
                         "未完成原因和改进措施", "未完成原因分析及改进措施"),
    "tier": ("档次", "评价档次"),
    "fraction": ("得分比例",),
    "year_budget": ("全年预算", "调整后预算数"),
    "executed": ("执行数", "全年执行", "实际支出", "实际执行数"),
    **{column: tuple(f"{month_label(c)}{word}" for word in ("执行数", "累计支出", "累计执行数", "支出数"))
       + tuple(f"{CHECKPOINT_MONTHS[c]}月末{word}" for word in ("执行数", "累计支出", "累计执行数", "支出数"))
       for c, column in SPENT_COLUMNS.items()},
    "section": ("部分",),
    # reading helpers, not canonical columns (see selfeval.ingest.layout): a target split over
    # 指标性质 | 指标值 | 度量单位 is combined into target_text (and direction)
    "nature": ("指标性质",),
    "measure_unit": ("度量单位", "计量单位", "指标单位"),
}

# A header may carry the unit of its column: 预算数（万元）, 金额(元), 3月底（%）.
UNIT_SUFFIX = re.compile(r"\((?:(?:金额)?单位[:：])?(万元|千元|元|%)\)$")


def norm_label(text: object) -> str:
    """A header or label in a comparable form: NFKC, no whitespace, lower case."""
    if text is None:
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text))).lower()


def header_unit(text: object) -> tuple[str, str | None]:
    """(normalized header without a unit suffix, the unit it names) — `预算数（万元）` → ("预算数", "万元")."""
    label = norm_label(text)
    m = UNIT_SUFFIX.search(label)
    if m is None or m.start() == 0:
        return label, None
    return label[: m.start()], m.group(1)


def lookup(mapping: Mapping[str, str], header: object) -> str | None:
    """The identifier a header names: its spelling, or its spelling without a unit suffix."""
    label = norm_label(header)
    if label in mapping:
        return mapping[label]
    base, unit = header_unit(label)
    return mapping.get(base) if unit is not None else None


def header_units(
    columns: Iterable[str], targets: Iterable[str], extra: Mapping[str, Iterable[str]] | None = None
) -> dict[str, str]:
    """{identifier: unit} for recognised headers that name their unit (`预算数（万元）` → budget: 万元)."""
    mapping = header_map(targets, extra)
    units: dict[str, str] = {}
    for column in columns:
        name = lookup(mapping, column)
        _, unit = header_unit(column)
        if name is not None and unit is not None:
            units.setdefault(name, unit)
    return units


def warn_inputs(problems: Iterable[Problem]) -> None:
    """Emit each problem as an InputWarning (a reader calls this once the file read without errors)."""
    import warnings

    from selfeval.errors import InputWarning

    for problem in problems:
        warnings.warn(InputWarning(problem), stacklevel=3)


@contextlib.contextmanager
def input_notes() -> Iterator[list[Problem]]:
    """Record the InputWarnings readers raise inside the block: the list yielded fills with their
    problems (for the results), and each is raised again on leaving (for the console)."""
    import warnings

    from selfeval.errors import InputWarning

    notes: list[Problem] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        try:
            yield notes
        finally:
            passed = list(caught)
    for w in passed:
        if isinstance(w.message, InputWarning):
            notes.append(w.message.problem)
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


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


# Excel's error values: a broken formula or lookup. They are never data, in any column.
EXCEL_ERRORS = ("#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!", "#GETTING_DATA")
_REPEAT_SUFFIX = re.compile(r"(__\d+|_duplicated_\d+)$")
MAX_PROBLEMS_PER_COLUMN = 50  # beyond this a column's problems are summarised in one more problem
# Numeric columns where a trailing % belongs to the value: 得分比例 (read as a fraction) and the
# spending plans (read as percent). In every other numeric column `99%` is not a number.
PERCENT_COLUMNS = frozenset({"fraction", "plan_mar", "plan_jun", "plan_oct", "plan_dec"})
# Numeric columns that never hold a negative number: amounts, plans, 分值 and 得分.
NON_NEGATIVE = frozenset({
    "budget", "fiscal_funds", "other_funds", "plan_mar", "plan_jun", "plan_oct", "plan_dec",
    "year_budget", "executed", *SPENT_COLUMNS.values(), "weight", "points",
})
# Bounds of numeric columns beyond their sign: a budget year, and amounts under 10¹⁵ 元 (a larger
# amount is a typing or unit error and would overflow the totals).
AMOUNT_MAX = 1e15
LIMITS: dict[str, tuple[float, float]] = {
    "year": (1900.0, 2100.0),
    **{name: (0.0, AMOUNT_MAX) for name in ("budget", "fiscal_funds", "other_funds", "year_budget", "executed",
                                           *SPENT_COLUMNS.values())},
}


def recognised_headers(
    columns: Iterable[str], targets: Iterable[str], extra: Mapping[str, Iterable[str]] | None = None
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """({header as written: identifier} for recognised headers, [(header, identifier)] repeating one).

    The first column of an identifier wins; later columns naming the same identifier are returned
    separately so a reader can report them instead of silently dropping their values.
    """
    mapping = header_map(targets, extra)
    renames: dict[str, str] = {}
    repeated: list[tuple[str, str]] = []
    for column in columns:
        if column == ROW:
            continue
        target = lookup(mapping, column)
        if target is None:
            # a repeated header, renamed by the reader (`X__7`) or by Polars' CSV reader (`X_duplicated_0`)
            base = lookup(mapping, _REPEAT_SUFFIX.sub("", column))
            if base is not None and base in renames.values():
                repeated.append((column, base))
            continue
        if target in renames.values():
            repeated.append((column, target))
        else:
            renames[column] = target
    return renames, repeated


def rename_headers(frame: pl.DataFrame, targets: Iterable[str], extra: Mapping[str, Iterable[str]] | None = None) -> pl.DataFrame:
    """Rename recognised headers to identifiers and drop every other column (except ROW)."""
    renames, _ = recognised_headers(frame.columns, targets, extra)
    keep = [c for c in frame.columns if c in renames or c == ROW]
    return frame.select(keep).rename(renames)


def column_label(written: str | None, name: str) -> str:
    """How a problem names a column: the header as written, then the identifier (or its label)."""
    if written is None or written == name:
        return f"{name}（{schema.LABELS.get(name, name)}）"
    return f"{written}（{name}）"


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


def _number_expr(text: pl.Expr, *, percent_is_fraction: bool, scale: float = 1.0) -> pl.Expr:
    """Text → Float64: thousands separators, full-width digits, trailing 元/万元/%, else null.

    `scale`: what the column's unit is worth in 元 (a `（万元）` header: 1e4; the reader multiplies
    the column by it afterwards). A cell stating its own unit (`95万`, `40元`) is that amount, so
    it is written here in the column's unit — never scaled twice.
    """
    cleaned = text.str.normalize("NFKC").str.replace_all(r"[,\s]", "")
    wan = cleaned.str.contains(r"万元?$")
    yuan = cleaned.str.ends_with("元") & ~wan
    pct = cleaned.str.ends_with("%")
    number = cleaned.str.replace(r"(万元|万|元|%)$", "").cast(pl.Float64, strict=False)
    number = pl.when(wan).then((number * 1e4).round(6)).otherwise(number)
    if scale != 1.0:
        number = pl.when(wan | yuan).then(number / scale).otherwise(number)
    if percent_is_fraction:
        number = pl.when(pct).then((number / 100).round(12)).otherwise(number)
    return number


def coerce(frame: pl.DataFrame, target: pl.Schema, *, file: str, **options: Any) -> pl.DataFrame:
    """Rename, check and cast a raw frame to `target`; raise one InputError listing every problem.

    Takes the options of `coerce_report`.
    """
    converted, problems = coerce_report(frame, target, file=file, **options)
    if problems:
        raise InputError(problems)
    return converted


def coerce_report(
    frame: pl.DataFrame,
    target: pl.Schema,
    *,
    file: str,
    required: Iterable[str] = (),
    sheet: str | None = None,
    extra_aliases: Mapping[str, Iterable[str]] | None = None,
    first_row: int = 2,
    renamed: bool = False,
    amount_scales: Mapping[str, float] | None = None,
) -> tuple[pl.DataFrame, list[Problem]]:
    """Like `coerce`, but return (converted frame, every problem) so a reader can add its own.

    Missing required columns raise at once (nothing else can be checked). Otherwise each bad
    cell is one Problem with file, sheet, row (as the spreadsheet numbers it), column (header as
    written), the value seen and what was expected; a bad cell converts to null. Problems:
    Excel error values (`#N/A`, `#REF!` …) in any column, text that is not a number in a numeric
    column, a fraction in an integer column, NaN/inf or an out-of-range integer, and a second
    non-empty column repeating a header. `amount_scales`: per amount column the worth in 元 of the
    unit its header or sheet note states (`layout.amount_scales`), for cells stating their own.
    """
    required = tuple(required)
    if renamed:
        raw, written, repeated = frame, {c: c for c in frame.columns}, []
    else:
        renames, repeated = recognised_headers(frame.columns, target.names(), extra_aliases)
        raw = frame.select([c for c in frame.columns if c in renames or c == ROW]).rename(renames)
        written = {v: k for k, v in renames.items()}
    if ROW not in raw.columns:
        raw = raw.with_row_index(ROW, offset=first_row).with_columns(pl.col(ROW).cast(pl.Int64))
    missing = [name for name in required if name not in raw.columns]
    if missing:
        raise InputError(missing_columns_problem(file, missing, frame.columns, sheet))

    present = [c for c in raw.columns if c in target]
    # A column already numeric in the file (Parquet, typed Excel) is checked as a number; only
    # text columns are stripped, matched against Excel error values and parsed.
    as_text = [c for c in present if target[c] == pl.String or not raw.schema[c].is_numeric()]
    texts = raw.select(
        pl.col(ROW),
        *[_text_expr(c, raw.schema[c]).alias(c) if c in as_text else pl.col(c) for c in present],
    )
    problems: list[Problem] = []
    for column, name in repeated:
        if ROW in frame.columns:
            rows = frame.select(pl.col(ROW), _text_expr(column, frame.schema[column]).alias("v")).drop_nulls("v")
        else:
            rows = frame.select(_text_expr(column, frame.schema[column]).alias("v")).with_row_index(ROW, offset=first_row).drop_nulls("v")
        if rows.height:
            r, v = rows.row(0)
            problems.append(Problem(
                file=file, sheet=sheet, row=r, column=column, value=v,
                message=f"与列“{written.get(name, name)}”是同一字段（{schema.LABELS.get(name, name)}），该列的值不会被读取",
                expected="每个字段只有一列表头",
            ))
    # Excel error values: reported, then treated as empty.
    errors = pl.lit(list(EXCEL_ERRORS), dtype=pl.List(pl.String))
    text_present = [c for c in present if c in as_text]
    flags = _flag_columns(texts, {
        f"err:{c}": pl.col(c).str.to_uppercase().is_in(errors).fill_null(False) for c in text_present
    })
    for name in text_present:
        if f"err:{name}" in flags:
            problems += _cell_problems(
                texts, flags, f"err:{name}", name, written, file, sheet,
                message="是 Excel 错误值（公式或引用出错）", expected="修正公式或引用后的数值或文本",
            )
    if flags:
        texts = texts.with_columns(
            pl.when(flags[f"err:{c}"]).then(None).otherwise(pl.col(c)).alias(c) for c in text_present if f"err:{c}" in flags
        )
    if present:
        texts = texts.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in present]))

    # Each numeric column is parsed once; its checks are boolean columns computed in one pass.
    numeric = [c for c in present if target[c] != pl.String]
    numbers = texts.select(
        pl.col(ROW),
        *[(_number_expr(pl.col(c), percent_is_fraction=c == "fraction", scale=(amount_scales or {}).get(c, 1.0))
           if c in as_text else pl.col(c).cast(pl.Float64)).alias(c)
          for c in numeric],
    )
    checks: dict[str, pl.Expr] = {}
    kinds: dict[str, str] = {}
    for name in numeric:
        dtype, number, seen = target[name], pl.col(name), texts.get_column(name).is_not_null()
        bad = pl.lit(seen) & (number.is_null() | ~number.is_finite())
        kinds[name] = "数值"
        if dtype.is_integer():
            kinds[name] = "整数"
            limit = 2.0**31 if dtype == pl.Int32 else 2.0**63
            bad = bad | (number.is_finite() & ((number != number.round(0)) | (number.abs() >= limit)))
        bad = bad.fill_null(False)
        checks[f"bad:{name}"] = bad
        if name not in PERCENT_COLUMNS and name in as_text:  # `99%` in an amount is not 99 元
            percent = ~bad & pl.lit(texts.get_column(name).str.contains(r"[%％]$").fill_null(False))
            checks[f"pct:{name}"] = percent
            bad = bad | percent
        if name in NON_NEGATIVE:
            negative = ~bad & (number < 0).fill_null(False)
            checks[f"neg:{name}"] = negative
            bad = bad | negative
        if name in LIMITS:
            lo, hi = LIMITS[name]
            outside = ~bad & ((number < lo) | (number > hi)).fill_null(False)
            checks[f"out:{name}"] = outside
            bad = bad | outside
        checks[f"any:{name}"] = bad
    flagged = _flag_columns(numbers, checks)
    for name in numeric:
        kind = kinds[name]
        for key, message, expected in (
            ("bad", f"不是{kind}", kind),
            ("pct", "是百分数，但此列应为数值（不是比率）", f"{kind}（不带 %）"),
            ("neg", "是负数", f"不小于 0 的{kind}"),
            ("out", "超出合理范围", "{} 到 {} 之间的{}".format(*(f"{x:g}" for x in LIMITS.get(name, (0, 0))), kind)),
        ):
            if f"{key}:{name}" in flagged:
                problems += _cell_problems(texts, flagged, f"{key}:{name}", name, written, file, sheet,
                                           message=message, expected=expected)
    exprs: list[pl.Expr] = [pl.col(ROW)]
    for name in present:
        if target[name] == pl.String:
            exprs.append(pl.col(name))
            continue
        value = pl.lit(numbers.get_column(name))
        if f"any:{name}" in flagged:
            value = pl.when(flagged[f"any:{name}"]).then(None).otherwise(value)
        exprs.append(value.cast(target[name], strict=False).alias(name))
    converted = texts.select(exprs)
    return converted.pipe(_conform_keep_row, target), problems


def _flag_columns(frame: pl.DataFrame, checks: Mapping[str, pl.Expr]) -> dict[str, pl.Series]:
    """The checks that flag at least one row, each as a boolean Series over `frame`."""
    if not checks:
        return {}
    flags = frame.select(**checks)
    hit = flags.select(pl.all().any()).row(0, named=True)
    return {name: flags.get_column(name) for name, any_hit in hit.items() if any_hit}


def _cell_problems(
    texts: pl.DataFrame, flags: Mapping[str, pl.Series], key: str, name: str, written: Mapping[str, str],
    file: str, sheet: str | None, *, message: str, expected: str,
) -> list[Problem]:
    """One Problem per cell of column `name` flagged by `flags[key]` (the first
    MAX_PROBLEMS_PER_COLUMN, then a summary)."""
    bad = texts.filter(flags[key]).select(ROW, name)
    if bad.height == 0:
        return []
    if bad.schema[name] != pl.String:
        bad = bad.with_columns(_text_expr(name, bad.schema[name]))
    label = column_label(written.get(name), name)
    out = [
        Problem(file=file, sheet=sheet, row=r, column=label, value=v, message=message, expected=expected)
        for r, v in bad.head(MAX_PROBLEMS_PER_COLUMN).iter_rows()
    ]
    if bad.height > MAX_PROBLEMS_PER_COLUMN:
        rest = bad[MAX_PROBLEMS_PER_COLUMN:, ROW]
        out.append(Problem(file=file, sheet=sheet, column=label, expected=expected,
                           message=f"另有 {rest.len()} 处同样的问题（第 {rest.min()}–{rest.max()} 行之间）"))
    return out


def key_problems(
    frame: pl.DataFrame,
    keys: tuple[str, ...],
    *,
    file: str,
    sheet: str | None,
    optional: tuple[str, ...] = (),
    reported: Iterable[Problem] = (),
) -> list[Problem]:
    """Rows missing a key, and keys that repeat (naming every row that holds them).

    `frame` is a coerced frame with ROW; `keys` must all be filled; `optional` keys (such as
    unit_code) take part in the duplicate check when filled somewhere. A key cell already in
    `reported` (e.g. an Excel error value there) is not reported again as missing.
    """
    problems: list[Problem] = []
    labels = "、".join(schema.LABELS.get(k, k) for k in keys)
    seen = {(p.row, p.column) for p in reported}
    for key in keys:
        for r in frame.filter(pl.col(key).is_null())[ROW].head(MAX_PROBLEMS_PER_COLUMN).to_list():
            if any(row == r and column and (column.endswith(f"（{key}）") or column.startswith(f"{key}（")) for row, column in seen):
                continue
            problems.append(Problem(file=file, sheet=sheet, row=r, column=column_label(None, key),
                                    message=f"第 {r} 行缺少{schema.LABELS.get(key, key)}", expected=f"每行都填写{labels}"))
    group = [k for k in optional if k in frame.columns and frame[k].is_not_null().any()]
    group += [k for k in keys if k in frame.columns]
    if not frame.select(pl.struct(group).is_duplicated().any()).item():
        return problems
    dup = (
        frame.drop_nulls(list(keys))
        .group_by(group, maintain_order=True)
        .agg(pl.col(ROW).sort().alias("rows"))
        .filter(pl.col("rows").list.len() > 1)
    )
    for row in dup.head(MAX_PROBLEMS_PER_COLUMN).iter_rows(named=True):
        rows = row["rows"]
        key_text = "，".join(f"{schema.LABELS.get(k, k)} {row[k]}" for k in group if row[k] is not None)
        where = "与".join(f"第 {r} 行" for r in rows)
        problems.append(Problem(
            file=file, sheet=sheet, row=rows[1], column="、".join(schema.LABELS.get(k, k) for k in group),
            value=key_text, message=f"键重复：{where}都是（{key_text}）", expected=f"每个（{labels}）只出现一行",
        ))
    return problems


def _conform_keep_row(frame: pl.DataFrame, target: pl.Schema) -> pl.DataFrame:
    out = schema.conform(frame, target)
    return out.with_columns(frame[ROW])


def drop_row(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame without the bookkeeping row-number column."""
    return frame.drop(ROW, strict=False)
