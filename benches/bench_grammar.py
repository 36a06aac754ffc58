"""Value grammar on 1,000,000 texts: the vectorized `parse_values` against the plain per-row
reference parser (`selfeval.grammar_reference.parse_text`) on the same texts.

    pytest benches/bench_grammar.py --benchmark-only -s

The mix cycles the seed's 45 targets, the sample's 45 actuals and the real-world forms of the
value grammar (full-width operators, ranges, dates, qualitative words …). The reference parser
is timed on the first 100,000 texts and scaled ×10 (set SELFEVAL_BENCH_FULL_REFERENCE=1 to time
all 1,000,000). Times and ratios are printed and stored in `benchmark.extra_info`.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import polars as pl
import pytest

from selfeval.grammar import parse_values
from selfeval.grammar_reference import parse_texts
from selfeval.ingest import read_actuals, read_declared
from selfeval.schema import PARSED_VALUES

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
N = 1_000_000
REFERENCE_N = N if os.environ.get("SELFEVAL_BENCH_FULL_REFERENCE") else 100_000
YEAR = 2025

FORMS = [
    "≧95%", "≦5%", "＞3", "＜3", "═100%", "﹦100%", "≥ 95%", ">=90%", "不少于20次", "20次以上",
    "控制在5万元以内", "每年8.9万元", "1,150人", "1600元/亩", "12月底前", "2025年6月30日前",
    "2023.07-2024.01", "2023年7月-2024年1月", "100%", "是", "否", "优良", "长期", "有效提升", "９５％",
    "1.2亿元", "5公里", "3吨", "2公顷", "≥3年", "2025年12月", "80~90%", "80%至90%", "80%-90%",
    "≤5个工作日", "不低于90%", "≥1.2万人次", "=100%", "2025-06-30", "年底前", "上半年", "96", "",
    "第1名", "3个月", "19600元",
]


def _seed_targets() -> list[str]:
    """The 指标值 texts of the seed declaration, as the reader gives them."""
    return read_declared(SAMPLES / "seed_targets_2025.txt").indicators["target_text"].to_list()


def _sample_actuals() -> list[str]:
    return read_actuals(SAMPLES / "actuals_sample.csv")["actual_text"].to_list()


@pytest.fixture(scope="module")
def texts() -> list[str]:
    mix = _seed_targets() + _sample_actuals() + FORMS
    return list(itertools.islice(itertools.cycle(mix), N))


def _seconds(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def test_parse_values_1m(benchmark, texts):
    """Time parse_values on 1M texts (distinct texts parsed once, the default), every row parsed
    (distinct=False), and the per-row reference parser; check they agree on a slice."""
    parsed = benchmark.pedantic(parse_values, args=(texts,), kwargs={"year": YEAR}, rounds=1, iterations=1)
    pipeline = benchmark.stats.stats.max
    every_row, parsed_every_row = _seconds(lambda: parse_values(texts, year=YEAR, distinct=False))
    reference_part, reference = _seconds(lambda: parse_texts(texts[:REFERENCE_N], YEAR))
    reference_1m = reference_part * N / REFERENCE_N

    assert parsed.height == N
    assert parsed.equals(parsed_every_row)
    head = parsed.head(REFERENCE_N)
    assert head.equals(pl.DataFrame(reference, schema=PARSED_VALUES))

    info = {
        "texts": N,
        "distinct_texts": len(set(texts)),
        "parse_values_s": round(pipeline, 3),
        "parse_values_every_row_s": round(every_row, 3),
        "reference_s_for_1m": round(reference_1m, 3),
        "reference_timed_on": REFERENCE_N,
        "speedup": round(reference_1m / pipeline, 1),
        "speedup_every_row": round(reference_1m / every_row, 1),
        "parse_errors": parsed.filter(pl.col("error").is_not_null()).height,
    }
    benchmark.extra_info.update(info)
    scaled = "" if REFERENCE_N == N else f" (timed on {REFERENCE_N:,}, ×{N // REFERENCE_N})"
    print(
        f"\nvalue grammar, {N:,} texts ({info['distinct_texts']} distinct):\n"
        f"  parse_values (default, distinct texts once) {pipeline:8.3f} s\n"
        f"  parse_values (distinct=False, every row)    {every_row:8.3f} s\n"
        f"  reference parse_text per row                {reference_1m:8.3f} s{scaled}\n"
        f"  ratio reference / parse_values              {info['speedup']:8.1f} ×  "
        f"(every row: {info['speedup_every_row']:.1f} ×)"
    )
