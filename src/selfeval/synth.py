"""Synthetic self-evaluation data for tests and benchmarks (issue 6).

`synth(units, seed)` builds declarations, actuals and execution for `units` budget units, modelled
on the seed document (玉田县石臼窝镇 2025): 3–12 projects per unit, about 9 indicators per project
under 产出/效益/满意度指标 with the seed's level-2 names, targets written the way people write them
(`≥95百分比`, `≤20000元`, `2万元`, `≥20次`, `≥3月`, `≤5个工作日`, `2025年12月`, `有效提升` …), and
actuals that are mostly met, sometimes short or far over target, and now and then missing,
unparseable or in the wrong unit; spending is sometimes behind the 3/6/10-month plan.

Generation is vectorized (numpy draws, Polars string expressions) and done in groups of
`GROUP_UNITS` units, each group drawn from its own stream `SeedSequence([seed, group])`, so the
data are deterministic for a seed and a large data set can be written group by group with
bounded memory (`write_synth`: hive-partitioned Parquet, `TABLE/unit_group=K/part-0.parquet`).

Before writing, `write_synth` estimates the size of the data set (`synth_bytes`, ≈ 770 bytes per
unit) and refuses what the disk cannot hold. It writes `synth.json` first with `"complete": false`
and again, with the row counts, as its last file: a killed synth leaves a data set that `bulk`
and `whatif` refuse as incomplete (`incomplete_synth`), never one they would score as whole.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from selfeval import schema
from selfeval.atomic import atomic_path, refuse_symlinks
from selfeval.declaration import Declaration
from selfeval.synth_marker import MARKER, incomplete_synth

GROUP_UNITS = 1000
YEAR = 2025
PARTITION = "unit_group"
TABLES = ("units", "projects", "indicators", "actuals", "execution")
# Size on disk: ≈ 770 bytes per unit measured (seeds 0–5, 1,000–3,000 units), plus each Parquet
# file's own overhead; the estimate keeps a margin above both.
BYTES_PER_UNIT = 900
BYTES_PER_FILE = 5 * 1024

# ----------------------------------------------------------------------------- vocabulary

COUNTIES = ["玉田县", "丰润区", "遵化市", "迁安市", "滦州市", "乐亭县", "迁西县", "滦南县", "曹妃甸区", "丰南区"]
BODIES = [
    "石臼窝镇人民政府本级", "林南仓镇人民政府本级", "鸦鸿桥镇人民政府本级", "教育局本级", "卫生健康局本级", "农业农村局本级",
    "水务局本级", "民政局本级", "文化广电和旅游局本级", "第一中学", "实验小学", "人民医院", "疾病预防控制中心",
    "自然资源和规划局本级", "交通运输局本级", "应急管理局本级", "市场监督管理局本级", "退役军人事务局本级",
]
PROJECT_NAMES = [
    "河渠清理及河长制", "残疾人保障金", "乡镇人大工作站", "安保、环保、安全生产、应急、食药监管", "人武、党团妇建设、纪检、宣传经费",
    "农村人居环境整治", "义务教育学校公用经费", "基本公共卫生服务", "高标准农田建设", "森林防火及病虫害防治",
    "城乡居民医疗救助", "农村公路养护", "老年人福利补贴", "文化惠民演出", "食品安全抽检", "安全生产执法检查",
    "退役军人优抚", "村级组织运转经费", "污水处理设施运维", "便民服务中心运转",
]
PURPOSES = ["保障项目正常开展", "用于日常运转及专项工作", "按计划支付相关费用", "用于设备购置与维护", "用于人员培训与宣传"]
GOALS = ["按期完成年度工作任务，提升服务质量", "保障各项工作正常运转，群众满意度不断提高", "改善人居环境，促进经济社会发展"]

# level-2 class → (level1, level2 name, indicator names)
L2_CLASSES: list[tuple[str, str, list[str]]] = [
    ("产出指标", "数量指标", ["开展宣传活动次数", "培训人次", "完成项目个数", "受益户数", "检查次数", "发放补贴人数", "预算金额", "维修设施数量"]),
    ("产出指标", "质量指标", ["工作质量", "验收合格率", "卫生整治合格率", "资金使用合规率", "工作开展率", "任务完成率"]),
    ("产出指标", "时效指标", ["额度到账时间", "项目完成时间", "资金拨付及时率", "问题整改时限", "卫生整治保持效果"]),
    ("产出指标", "成本指标", ["项目成本", "河渠治理成本", "产出比", "人均培训成本", "单位建设成本"]),
    ("效益指标", "经济效益指标", ["是否能促进乡镇工作", "带动群众增收", "保持水体干净", "节约运行成本"]),
    ("效益指标", "社会效益指标", ["村民人居环境变动情况", "受益群众率", "社会稳定水平", "群众知晓率"]),
    ("效益指标", "生态效益指标", ["环境改善情况", "对环境影响", "绿化覆盖率", "污染物减排情况"]),
    ("效益指标", "可持续影响指标", ["是否可持续", "长效机制建立情况", "宣传工作效率", "设施持续使用年限"]),
    ("满意度指标", "服务对象满意度指标", ["群众满意度", "服务对象满意度", "受益群众满意度"]),
]
N_CLASSES = len(L2_CLASSES)

# target kinds
PCT_GE, COUNT_GE, MONEY_LE, MONEY_EQ, DEADLINE, DURATION_GE, DAYS_LE, COUNT_EQ, QUAL, PCT_RANGE = range(10)
# probability of each kind, per level-2 class (rows sum to 1)
KIND_P = np.array(
    [
        # PCT_GE COUNT_GE MONEY_LE MONEY_EQ DEADLINE DURATION DAYS_LE COUNT_EQ QUAL RANGE
        [0.15, 0.50, 0.00, 0.20, 0.00, 0.00, 0.00, 0.15, 0.00, 0.00],  # 数量
        [0.70, 0.10, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.12, 0.08],  # 质量
        [0.15, 0.00, 0.00, 0.00, 0.45, 0.20, 0.20, 0.00, 0.00, 0.00],  # 时效
        [0.30, 0.00, 0.50, 0.20, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00],  # 成本
        [0.60, 0.00, 0.00, 0.00, 0.00, 0.10, 0.00, 0.05, 0.25, 0.00],  # 经济效益
        [0.65, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.05, 0.30, 0.00],  # 社会效益
        [0.60, 0.00, 0.00, 0.00, 0.00, 0.05, 0.00, 0.00, 0.35, 0.00],  # 生态效益
        [0.55, 0.00, 0.00, 0.00, 0.00, 0.20, 0.00, 0.00, 0.25, 0.00],  # 可持续影响
        [1.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00, 0.00],  # 满意度
    ]
)
COUNT_UNITS = ["次", "人次", "个", "场", "户", "期", "篇", "件", "人"]
QUAL_TARGETS = ["有效提升", "显著改善", "明显提高", "持续发挥效益", "达到预期", "确保群众满意", "稳步提升", "有效保障"]
QUAL_MET = ["达成", "已完成", "达到预期", "有效", "实现"]
QUAL_PART = ["基本完成", "部分达成", "基本实现"]
QUAL_NOT = ["未完成", "未达到"]
TIER_NAMES = ["达成", "部分达成", "未达成"]
REASONS = [
    "汛期影响施工进度，已列入次年计划", "受疫情及天气影响部分活动延期", "实际需求高于预期，指标值设置偏保守",
    "资金拨付滞后，已督促加快支出", "参与群众踊跃，超额完成", "部分工作转由上级统一实施",
]
BASIS = ["历史标准", "行业标准", "计划标准", "其他"]
BAD_ACTUALS = ["约95%左右", "95%?", "见附件", "N/A"]

# outcome of an actual
MET, SHORT, OVER, MISSING, BAD, MISMATCH = range(6)
OUTCOME_P = np.array([0.80, 0.12, 0.03, 0.025, 0.015, 0.01])


@dataclass(frozen=True)
class SynthData:
    """Canonical tables of a synthetic data set (schema.UNITS … schema.EXECUTION)."""

    units: pl.DataFrame
    projects: pl.DataFrame
    indicators: pl.DataFrame
    actuals: pl.DataFrame
    execution: pl.DataFrame

    @property
    def declaration(self) -> Declaration:
        return Declaration(units=self.units, projects=self.projects, indicators=self.indicators)

    def tables(self) -> dict[str, pl.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}


def _pick(rng: np.random.Generator, pool: list[str], n: int) -> pl.Series:
    """n draws from `pool` as a String series (vectorized)."""
    return pl.Series(pool, dtype=pl.String).gather(rng.integers(0, len(pool), n))


def _num(expr: pl.Expr) -> pl.Expr:
    """A float as people write it: `8.9`, `2` (no `.0`, no binary noise)."""
    return expr.round(4).cast(pl.String).str.replace(r"\.0$", "")


def _choice(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each row i, a category drawn with probabilities probs[rows[i]]."""
    cum = np.cumsum(probs, axis=1)[rows]
    return (rng.random(len(rows))[:, None] >= cum[:, :-1]).sum(axis=1)


def synth_group(group: int, first_unit: int, n_units: int, seed: int = 0) -> SynthData:
    """The units `first_unit … first_unit + n_units − 1` (0-based), drawn from stream (seed, group)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, group]))
    idx = np.arange(first_unit, first_unit + n_units)
    unit_codes = pl.Series((idx + 100001).astype(str), dtype=pl.String)
    units = pl.DataFrame(
        {"unit_code": unit_codes, "county": _pick(rng, COUNTIES, n_units), "body": _pick(rng, BODIES, n_units)}
    ).select("unit_code", pl.concat_str("county", "body").alias("unit_name"), pl.lit(YEAR, pl.Int32).alias("year"))

    # ---- projects: 3–12 per unit, most between 4 and 8
    n_proj = np.clip(np.rint(rng.gamma(6.0, 1.1, n_units)), 3, 12).astype(np.int64)
    p_unit = np.repeat(np.arange(n_units), n_proj)
    n_p = len(p_unit)
    p_seq = np.arange(n_p) - np.repeat(np.cumsum(n_proj) - n_proj, n_proj) + 1
    budget = np.clip(np.round(rng.lognormal(np.log(50_000), 1.1, n_p), -2), 5_000, 20_000_000)
    other_share = np.where(rng.random(n_p) < 0.1, np.round(rng.uniform(0.1, 0.5, n_p), 1), 0.0)
    other = np.round(budget * other_share, -2)
    plan_kind = _choice(rng, np.array([[0.8, 0.1, 0.1]]), np.zeros(n_p, dtype=np.int64))
    plans = np.array([[25, 50, 75, 100], [30, 60, 90, 100], [20, 40, 80, 100]], dtype=np.float64)[plan_kind]
    projects = pl.DataFrame(
        {
            "unit_code": unit_codes.gather(p_unit),
            "_seq": p_seq,
            "project_name": _pick(rng, PROJECT_NAMES, n_p),
            # each unit's first project its running costs (运转类), the others 特定目标类 — drawn
            # without the generator, so every other synthetic value stays as it was
            "category": np.where(p_seq == 1, "运转类", "特定目标类"),
            "budget": budget,
            "other_funds": other,
            "purpose": _pick(rng, PURPOSES, n_p),
            "goal": _pick(rng, GOALS, n_p),
            "plan_mar": plans[:, 0], "plan_jun": plans[:, 1], "plan_oct": plans[:, 2], "plan_dec": plans[:, 3],
        }
    ).with_columns(
        pl.format("1302{}P{}", "unit_code", pl.col("_seq").cast(pl.String).str.zfill(5)).alias("project_code"),
        (pl.col("budget") - pl.col("other_funds")).alias("fiscal_funds"),
    )
    projects = schema.conform(projects, schema.PROJECTS)

    # ---- indicators: 产出 3–5 (数量/质量/时效/成本 in turn), 效益 2–5, 满意度 0–2
    n_out = rng.choice([3, 4, 5], n_p, p=[0.15, 0.7, 0.15])
    n_eff = rng.choice([2, 3, 4, 5], n_p, p=[0.1, 0.25, 0.55, 0.1])
    n_sat = rng.choice([0, 1, 2], n_p, p=[0.04, 0.9, 0.06])
    n_ind = n_out + n_eff + n_sat
    i_proj = np.repeat(np.arange(n_p), n_ind)
    seq = np.arange(len(i_proj)) - np.repeat(np.cumsum(n_ind) - n_ind, n_ind) + 1
    pos = seq - 1  # 0-based position inside the project
    out_n, eff_n = n_out[i_proj], n_eff[i_proj]
    klass = np.where(pos < out_n, pos % 4, np.where(pos < out_n + eff_n, 4 + (pos - out_n) % 4, 8))
    n = len(i_proj)
    kind = _choice(rng, KIND_P, klass)
    cost_as_level1 = (rng.random(n_p) < 0.1)[i_proj] & (klass == 3)
    sat_alias = (rng.random(n_p) < 0.05)[i_proj] & (klass == 8)
    name_pick = rng.integers(0, 8, n)
    names = [c[2] for c in L2_CLASSES]
    level3 = pl.Series([n for ns in names for n in ns], dtype=pl.String).gather(
        np.array([sum(len(x) for x in names[:k]) for k in range(N_CLASSES)])[klass] + name_pick % np.array([len(x) for x in names])[klass]
    )
    ind = pl.DataFrame(
        {
            "_p": i_proj,
            "seq": seq.astype(np.int32),
            "_class": klass,
            "_kind": kind,
            "level1": pl.Series([c[0] for c in L2_CLASSES], dtype=pl.String).gather(klass),
            "level2": pl.Series([c[1] for c in L2_CLASSES], dtype=pl.String).gather(klass),
            "level3": level3,
            "basis": _pick(rng, BASIS, n),
            "_cost_l1": cost_as_level1,
            "_sat_alias": sat_alias,
            "_budget": budget[i_proj],
            "_pct": rng.choice([80, 85, 90, 95, 95, 95, 98, 100], n).astype(np.float64),
            "_pct_style": rng.random(n) < 0.55,  # 百分比 as in the seed, else %
            "_count": np.maximum(1, np.round(rng.lognormal(np.log(30), 1.3, n))),
            "_count_unit": _pick(rng, COUNT_UNITS, n),
            "_deadline_form": rng.integers(0, 4, n),
            "_months": rng.choice([1, 3, 6, 12], n).astype(np.float64),
            "_years_form": rng.random(n) < 0.25,
            "_days": rng.choice([3, 5, 7, 10, 15, 30], n).astype(np.float64),
            "_qual": _pick(rng, QUAL_TARGETS, n),
            "_range_lo": rng.choice([70, 75, 80, 85], n).astype(np.float64),
        }
    ).with_columns(
        pl.when("_cost_l1").then(pl.lit("成本指标")).when("_sat_alias").then(pl.lit("服务对象满意度指标"))
        .otherwise(pl.col("level1")).alias("level1"),
    )
    money_le = pl.col("_budget")
    wan = pl.col("_budget") / 10_000
    pct_unit = pl.when("_pct_style").then(pl.lit("百分比")).otherwise(pl.lit("%"))
    k = pl.col("_kind")
    target = (
        pl.when(k == PCT_GE).then(pl.concat_str(pl.lit("≥"), _num(pl.col("_pct")), pct_unit))
        .when(k == COUNT_GE).then(pl.concat_str(pl.lit("≥"), _num(pl.col("_count")), pl.col("_count_unit")))
        .when(k == MONEY_LE).then(pl.concat_str(pl.lit("≤"), _num(money_le), pl.lit("元")))
        .when(k == MONEY_EQ).then(pl.concat_str(_num(wan), pl.lit("万元")))
        .when(k == DEADLINE).then(
            pl.col("_deadline_form").replace_strict(
                {0: f"{YEAR}年", 1: f"{YEAR}年12月", 2: f"{YEAR}年6月30日前", 3: f"{YEAR}年10月"}, return_dtype=pl.String
            )
        )
        .when(k == DURATION_GE).then(
            pl.when("_years_form").then(pl.concat_str(pl.lit("≥"), _num((pl.col("_months") / 3).ceil()), pl.lit("年")))
            .otherwise(pl.concat_str(pl.lit("≥"), _num(pl.col("_months")), pl.lit("月")))
        )
        .when(k == DAYS_LE).then(pl.concat_str(pl.lit("≤"), _num(pl.col("_days")), pl.lit("个工作日")))
        .when(k == COUNT_EQ).then(pl.concat_str(_num((pl.col("_count") / 5).ceil()), pl.lit("人")))
        .when(k == QUAL).then(pl.col("_qual"))
        .otherwise(pl.format("{}%-{}%", _num(pl.col("_range_lo")), _num(pl.col("_range_lo") + 10)))
    )
    ind = ind.with_columns(target.alias("target_text"))

    # ---- actuals
    outcome = _choice(rng, OUTCOME_P[None, :], np.zeros(n, dtype=np.int64))
    # overshoot only makes sense for open-ended counts; elsewhere it is met
    outcome = np.where((outcome == OVER) & (kind != COUNT_GE), MET, outcome)
    u = rng.random(n)
    acts = ind.with_columns(
        pl.Series("_outcome", outcome),
        pl.Series("_u", u),
        pl.Series("_bad", BAD_ACTUALS, dtype=pl.String).gather(rng.integers(0, len(BAD_ACTUALS), n)).alias("_bad"),
        _pick(rng, QUAL_MET, n).alias("_q_met"),
        _pick(rng, QUAL_PART, n).alias("_q_part"),
        _pick(rng, QUAL_NOT, n).alias("_q_not"),
        _pick(rng, REASONS, n).alias("_reason"),
        pl.Series("_tier_col", rng.random(n) < 0.15),
        pl.Series("_frac", np.round(rng.uniform(0.0, 1.0, n), 2)),
        pl.Series("_with_reason", rng.random(n) < 0.6),
    )
    o, uu = pl.col("_outcome"), pl.col("_u")
    met, short, over = o == MET, o == SHORT, o == OVER
    pct_actual = (
        pl.when(met).then((pl.col("_pct") + (uu * 6).floor()).clip(upper_bound=100.0))
        .otherwise((pl.col("_pct") * (0.75 + 0.24 * uu)).round(0))
    )
    count_actual = (
        pl.when(met).then((pl.col("_count") * (1 + 0.3 * uu)).ceil())
        .when(over).then((pl.col("_count") * (1.5 + 1.5 * uu)).ceil())
        .otherwise((pl.col("_count") * (0.6 + 0.39 * uu)).floor())
    )
    money_actual = pl.when(met).then((money_le * (0.85 + 0.15 * uu)).round(0)).otherwise((money_le * (1.01 + 0.24 * uu)).round(0))
    wan_actual = pl.when(met).then(pl.concat_str(_num(wan), pl.lit("万元"))).otherwise(
        pl.concat_str(_num((pl.col("_budget") * (0.9 + 0.09 * uu)).round(0)), pl.lit("元"))
    )
    deadline_actual = pl.when(met).then(
        pl.when(uu < 0.5).then(pl.col("target_text")).otherwise(pl.lit(f"{YEAR}-06-15"))
    ).otherwise(pl.format("{}年{}月", pl.lit(YEAR + 1), (1 + (uu * 3).floor()).cast(pl.Int32)))
    duration_actual = pl.when("_years_form").then(
        pl.concat_str(_num(pl.when(met).then((pl.col("_months") / 3).ceil() + 1).otherwise(((pl.col("_months") / 3).ceil() - 1).clip(0))), pl.lit("年"))
    ).otherwise(pl.concat_str(_num(pl.when(met).then(pl.col("_months") + (uu * 4).floor()).otherwise((pl.col("_months") - 1).clip(0))), pl.lit("个月")))
    days_actual = pl.concat_str(
        _num(pl.when(met).then((pl.col("_days") * (0.5 + 0.5 * uu)).ceil()).otherwise((pl.col("_days") * (1.2 + uu)).ceil())),
        pl.lit("个工作日"),
    )
    eq_count = (pl.col("_count") / 5).ceil()
    count_eq_actual = pl.concat_str(_num(pl.when(met).then(eq_count).otherwise((eq_count - 1).clip(0))), pl.lit("人"))
    qual_actual = (
        pl.when(met & (uu < 0.3)).then(pl.col("target_text"))
        .when(met).then(pl.col("_q_met"))
        .when(uu < 0.7).then(pl.col("_q_part"))
        .otherwise(pl.col("_q_not"))
    )
    range_actual = pl.concat_str(
        _num(pl.when(met).then(pl.col("_range_lo") + (uu * 10).floor()).otherwise(pl.col("_range_lo") - 1 - (uu * 10).floor())),
        pl.lit("%"),
    )
    mismatch = pl.when(k.is_in([PCT_GE, PCT_RANGE])).then(pl.format("{}次", _num(pl.col("_count")))).otherwise(pl.lit("96%"))
    actual = (
        pl.when(o == MISSING).then(pl.lit(None, pl.String))
        .when(o == BAD).then(pl.col("_bad"))
        .when(o == MISMATCH).then(mismatch)
        .when(k == PCT_GE).then(pl.concat_str(_num(pct_actual), pl.lit("%")))
        .when(k == COUNT_GE).then(pl.concat_str(_num(count_actual), pl.col("_count_unit")))
        .when(k == MONEY_LE).then(pl.concat_str(_num(money_actual), pl.lit("元")))
        .when(k == MONEY_EQ).then(wan_actual)
        .when(k == DEADLINE).then(deadline_actual)
        .when(k == DURATION_GE).then(duration_actual)
        .when(k == DAYS_LE).then(days_actual)
        .when(k == COUNT_EQ).then(count_eq_actual)
        .when(k == QUAL).then(qual_actual)
        .otherwise(range_actual)
    )
    # qualitative rows: sometimes the evaluator fills the tier column (and a fraction inside the band)
    tier_given = (k == QUAL) & pl.col("_tier_col") & (o == MET)
    actuals = acts.with_columns(actual.alias("actual_text")).with_columns(
        pl.when((short | over | ((k == QUAL) & ~met)) & pl.col("_with_reason")).then(pl.col("_reason"))
        .otherwise(None).alias("deviation_reason"),
        pl.when(tier_given).then(pl.lit(TIER_NAMES[0])).otherwise(None).alias("tier"),
        pl.when(tier_given & (uu < 0.5)).then((0.8 + 0.2 * pl.col("_frac")).round(2)).otherwise(None).alias("fraction"),
    )
    # a missing actual is sometimes a blank cell, sometimes no row at all
    actuals = actuals.filter(~((o == MISSING) & (uu < 0.5)))

    p_keys = projects.select("unit_code", "project_code").with_row_index("_p")
    indicators = schema.conform(
        ind.join(p_keys, on="_p", how="left", maintain_order="left").with_columns(
            pl.format("{}-{}", "project_code", pl.col("seq").cast(pl.String).str.zfill(2)).alias("indicator_id"),
            pl.concat_str(pl.lit("反映"), pl.col("level3"), pl.lit("情况")).alias("description"),
        ),
        schema.INDICATORS,
    )
    actuals = schema.conform(actuals.join(p_keys, on="_p", how="left", maintain_order="left"), schema.ACTUALS)

    # ---- execution: mostly near full, some low; ~25% of projects behind plan at a checkpoint
    rate = np.where(rng.random(n_p) < 0.8, rng.uniform(0.95, 1.0, n_p), np.where(rng.random(n_p) < 0.75, rng.uniform(0.7, 0.95, n_p), rng.uniform(0.3, 0.7, n_p)))
    executed = np.round(budget * rate, 2)
    behind = rng.random((n_p, 3)) < np.array([0.12, 0.12, 0.08])
    factor = np.where(behind, rng.uniform(0.5, 0.97, (n_p, 3)), rng.uniform(1.0, 1.12, (n_p, 3)))
    by = np.round(budget[:, None] * plans[:, :3] / 100 * factor, 2)
    by[:, 2] = np.minimum(by[:, 2], executed)
    by[:, 1] = np.minimum(by[:, 1], by[:, 2])
    by[:, 0] = np.minimum(by[:, 0], by[:, 1])
    execution = pl.DataFrame(
        {
            "unit_code": projects["unit_code"], "project_code": projects["project_code"],
            "year_budget": budget, "executed": executed,
            "executed_by_mar": by[:, 0], "executed_by_jun": by[:, 1], "executed_by_oct": by[:, 2],
            "_drop": rng.random(n_p) < 0.01, "_blank": rng.random(n_p) < 0.01,
        }
    ).filter(~pl.col("_drop")).with_columns(pl.when("_blank").then(None).otherwise(pl.col("executed")).alias("executed"))
    execution = schema.conform(execution, schema.EXECUTION)
    return SynthData(units=units, projects=projects, indicators=indicators, actuals=actuals, execution=execution)


def groups(units: int, group_units: int = GROUP_UNITS) -> Iterator[tuple[int, int, int]]:
    """(group, first_unit, n_units) for `units` units in groups of `group_units`."""
    for g, first in enumerate(range(0, units, group_units)):
        yield g, first, min(group_units, units - first)


def synth(units: int, seed: int = 0) -> SynthData:
    """A deterministic synthetic data set of `units` units (see the module docstring)."""
    if units < 1:
        msg = f"units must be at least 1, got {units}"
        raise ValueError(msg)
    parts = [synth_group(g, first, n, seed) for g, first, n in groups(units)]
    return SynthData(**{t: pl.concat([getattr(p, t) for p in parts], how="vertical") for t in TABLES})


def synth_bytes(units: int) -> int:
    """An upper estimate of the bytes `write_synth` writes for `units` units."""
    n_groups = -(-units // GROUP_UNITS)
    return units * BYTES_PER_UNIT + n_groups * len(TABLES) * BYTES_PER_FILE + 4096


def _size_text(size: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size:.0f} 字节"


def refuse_oversized(out: Path, units: int) -> None:
    """OutputError when the disk holding `out` has less free space than `synth_bytes(units)`."""
    from selfeval.errors import OutputError

    existing = out
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    need, free = synth_bytes(units), shutil.disk_usage(existing).free
    if need > free:
        msg = (f"{out}：{units:,} 个单位的合成数据约需 {_size_text(need)} 磁盘空间，该磁盘只剩 {_size_text(free)}；"
               "请减少 --units，或换一个空间足够的 --out")
        raise OutputError(msg)


def _write_marker(out: Path, content: dict[str, Any]) -> None:
    target = out / MARKER
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(content, ensure_ascii=False, indent=1), encoding="utf-8")


def write_synth(
    out: str | Path, units: int, seed: int = 0, *, on_group: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """Write `synth(units, seed)` group by group as hive-partitioned Parquet under `out`:
    `out/<table>/unit_group=<K>/part-0.parquet` for units, projects, indicators, actuals, execution.

    Memory stays bounded by one group. `on_group(done, total)` is called after each group.
    Returns the row count of each table. Refused with an OutputError before anything is written:
    a data set larger than the free space of the disk (`synth_bytes`), and a symbolic link inside
    `out` (a table folder, a partition, the marker): no file lands outside `out`. `out/synth.json`
    is written first marked incomplete and rewritten complete last (see `incomplete_synth`).
    """
    if units < 1:
        msg = f"units must be at least 1, got {units}"
        raise ValueError(msg)
    out = Path(out)
    counts = dict.fromkeys(TABLES, 0)
    plan = list(groups(units))
    refuse_oversized(out, units)
    refuse_symlinks(out, out / MARKER)
    for g, _, _ in plan:
        for name in TABLES:
            refuse_symlinks(out, out / name / f"{PARTITION}={g}" / "part-0.parquet")
    import selfeval

    marker: dict[str, Any] = {"command": "synth", "selfeval": selfeval.__version__, "units": units, "seed": seed,
                              "groups": len(plan), "complete": False}
    _write_marker(out, marker)
    for done, (g, first, n) in enumerate(plan, start=1):
        data = synth_group(g, first, n, seed)
        for name, frame in data.tables().items():
            target = out / name / f"{PARTITION}={g}" / "part-0.parquet"
            with atomic_path(target) as tmp:
                frame.write_parquet(tmp)
            counts[name] += frame.height
        if on_group is not None:
            on_group(done, len(plan))
    _write_marker(out, {**marker, "complete": True, "rows": counts})
    return counts


__all__ = ["SynthData", "synth", "synth_group", "write_synth", "synth_bytes", "incomplete_synth", "GROUP_UNITS", "TABLES",
           "PARTITION", "MARKER"]
