"""Property tests of the value grammar: never raises, one row per input in order, and the
vectorized parser agrees with the plain reference parser."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from selfeval import grammar
from selfeval.grammar import parse_values
from selfeval.grammar_reference import parse_texts
from selfeval.schema import PARSED_VALUES

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

years = st.one_of(st.none(), st.integers(min_value=1, max_value=9999))
texts = st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=25)

pytestmark = pytest.mark.slow  # hypothesis: run in CI, skipped by the fast `-m "not slow"`


def _reference(values, year) -> pl.DataFrame:
    return pl.DataFrame(parse_texts(values, year), schema=PARSED_VALUES)


@SETTINGS
@given(values=texts, year=years)
def test_never_raises_one_row_per_input(values, year):
    """It should never raise on arbitrary text and return one row per input, in order."""
    parsed = parse_values(values, year=year)
    assert parsed.schema == PARSED_VALUES
    assert parsed.height == len(values)
    assert parsed.get_column("text").to_list() == values
    # Every row is either recognised (op) or explained (error).
    assert parsed.filter(pl.col("op").is_null() & pl.col("error").is_null()).height == 0


# ---------------------------------------------------------------------------- realistic texts

digits = st.integers(min_value=0, max_value=2_000_000)


@st.composite
def numbers(draw) -> str:
    """95, 1,150, 8.9, 0.5, full-width digits now and then."""
    whole = draw(digits)
    text = draw(st.sampled_from([str(whole), f"{whole:,}", f"{whole % 1000}.{draw(digits) % 100}"]))
    if draw(st.booleans()) and draw(st.booleans()):
        text = text.translate(str.maketrans("0123456789.,", "０１２３４５６７８９．，"))
    return text


units = st.sampled_from(
    ["", "", "%", "％", "百分比", "元", "千元", "人次", "次", "个", "项", "人", "个工作日", "天", "周", "月", "个月",
     "年", "公里", "吨", "公顷", "亩", "元/亩", "元/公里", "平方米", "元/月", "元／人", "次/年", "千元/人", "公里/天"]
)
multipliers = st.sampled_from(["", "", "", "万", "亿", "百万"])
prefixes = st.sampled_from(["", "", "", "每年", "全年", *grammar.PREFIX_OPERATORS, *grammar.SOFT_PREFIX_OPERATORS,
                            *grammar.NEUTRAL_PREFIXES, "≧", "≦", "＞", "＜", "═", "﹦", ">=", "<=", "≥ ", "=", "＝"])
suffixes = st.sampled_from(["", "", "", *grammar.SUFFIX_OPERATORS, *grammar.NEUTRAL_SUFFIXES])
# A unit restated in brackets (full or half width), and a trailing word.
brackets = st.one_of(
    st.just(""),
    st.builds(lambda u, wide: f"（{u}）" if wide else f"({u})", units, st.booleans()),
    st.sampled_from(["（含）", "(含本数)", "（万元）", "(个)", "（", ")"]),
)
trailing = st.sampled_from(["", "", "", *grammar.TRAILING_WORDS])


@st.composite
def quantities(draw) -> str:
    return (
        draw(prefixes) + draw(numbers()) + draw(multipliers) + draw(units) + draw(brackets) + draw(suffixes)
        + draw(trailing)
    )


@st.composite
def ranges(draw) -> str:
    unit = draw(units)
    low_unit = draw(st.sampled_from([unit, ""]))
    separator = draw(st.sampled_from([*grammar.RANGE_SEPARATORS, "--", "——", "～"]))
    return (
        draw(numbers()) + low_unit + separator + draw(numbers()) + unit + draw(brackets) + draw(trailing)
    )


@st.composite
def dates(draw) -> str:
    y = draw(st.integers(min_value=1995, max_value=2035))
    m = draw(st.integers(min_value=0, max_value=13))
    d = draw(st.integers(min_value=0, max_value=32))
    y2 = y + draw(st.integers(min_value=-1, max_value=2))
    m2 = draw(st.integers(min_value=0, max_value=13))
    return draw(
        st.sampled_from(
            [f"{y}年", f"{y}年底前", f"{y}年{m}月", f"{y}年{m}月{d}日前", f"{y}-{m:02d}-{d:02d}", f"{y}/{m}/{d}",
             f"{y}.{m:02d}.{d:02d}", f"{y}.{m:02d}-{y2}.{m:02d}", f"{y}年{m}月-{y2}年{m}月", f"{m}月底前", f"{m}月前",
             f"{m}月{d}日前", "年底前", "上半年", f"{y}年上半年", f"{m}月", f"{m}月底", f"≤{m}月", f"截至{m}月",
             f"{m}-{m2}月", f"{m}月至{m2}月", f"{m}月{d}日-{m2}月{d}日", f"{y}年{m}月--{y2}年{m2}月", f"{y}年{m}月至{m2}月"]
        )
    ) + draw(trailing)


formulas = st.one_of(
    st.sampled_from(["=A1*2", "=SUM(B2:B9)", "=44,561", "=44561", "=", "＝Ａ１"]),
    st.builds(lambda n: f"={n:,}", st.integers(min_value=0, max_value=10**7)),
)


qualitative = st.sampled_from(["有效提升", "达到预期", "确保群众满意", "是", "否", "优良", "长期", "良好", "≥"])
realistic = st.lists(
    st.one_of(quantities(), ranges(), dates(), formulas, qualitative, st.none()), min_size=1, max_size=30
)


@SETTINGS
@given(values=realistic, year=st.sampled_from([None, 2025]))
def test_vectorized_equals_reference_on_realistic_texts(values, year):
    """It should agree with the reference parser on realistic operator + number + multiplier + unit texts."""
    assert_frame_equal(parse_values(values, year=year), _reference(values, year))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=texts, year=st.sampled_from([None, 2025]))
def test_vectorized_equals_reference_on_any_text(values, year):
    """It should agree with the reference parser on arbitrary unicode text too."""
    assert_frame_equal(parse_values(values, year=year), _reference(values, year))


cells = st.lists(
    st.one_of(
        st.none(),
        st.text(max_size=12),
        st.integers(min_value=-(10**12), max_value=10**12),
        st.floats(allow_nan=True, allow_infinity=True),
        st.dates(),
    ),
    max_size=20,
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=cells, year=st.sampled_from([None, 2025]))
def test_cells_parse_as_their_text(values, year):
    """It should take spreadsheet cells (numbers, None, dates mixed with text), one row per cell,
    each parsed as its text, the same from a list and the vectorized and reference parsers."""
    parsed = parse_values(values, year=year)
    assert parsed.height == len(values)
    texts = parsed.get_column("text").to_list()
    assert [t is None for t in texts] == [v is None or (isinstance(v, float) and v != v) for v in values]
    assert_frame_equal(parsed, _reference(texts, year))
