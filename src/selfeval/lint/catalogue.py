"""The lint finding kinds (issue 7): code, short name, default severity, message template, why.

Registered into the one findings catalogue (`selfeval.findings.CATALOGUE`, which loads this
module on first lookup; this module imports the catalogue, never the reverse). Templates use named placeholders filled from the check's rows
(level3, target, …) or from the check's configuration (satisfaction_min, rate_max, …).
"""

from __future__ import annotations

from selfeval.findings import CATALOGUE, FindingKind

LINT_CATALOGUE: dict[str, FindingKind] = {
    k.code: k
    for k in (
        FindingKind("LINT_MISSING_LEVEL1", "缺少一级指标", "warning",
                    "项目没有{group}（一级指标按规则集别名归类）",
                    "产出、效益、满意度三类一级指标缺一类，绩效目标就不完整，自评时该类分值只能转移或落空"),
        FindingKind("LINT_UNKNOWN_LEVEL1", "一级指标无法识别", "warning",
                    "指标“{level3}”的一级指标“{level1}”不属于产出、效益、满意度指标（及其别名）",
                    "无法归类的一级指标在评分时分不到分值"),
        FindingKind("LINT_LEVEL2_MISPLACED", "二级指标归类错误", "warning",
                    "二级指标“{level2}”应属于{expected}，却列在一级指标“{level1}”下",
                    "二级指标挂错一级指标会使分值分配错误，也说明目标表是拼凑而成"),
        FindingKind("LINT_QUANT_NAME_QUALITATIVE", "定量指标用了定性指标值", "warning",
                    "指标“{level3}”名称含“{word}”，应为定量指标，但指标值“{target}”是定性描述",
                    "名称是率、数、金额、时间、成本的指标应给出可衡量的数值，否则年底无法客观评价"),
        FindingKind("LINT_RATE_OVER_MAX", "比率目标超过上限", "warning",
                    "指标“{level3}”的指标值“{target}”要求超过 {rate_max}%",
                    "比率通常不可能超过 100%，这样的目标要么写错，要么无法完成"),
        FindingKind("LINT_SATISFACTION_LOW", "满意度目标偏低", "warning",
                    "满意度指标“{level3}”的指标值“{target}”低于 {satisfaction_min}%",
                    "满意度目标一般不低于 80%，过低的目标等于预先放弃了服务质量"),
        FindingKind("LINT_COST_FLOOR", "成本指标用了下限", "warning",
                    "成本指标“{level3}”的指标值“{target}”用了“≥/＞”，成本应以“≤”控制上限",
                    "成本指标约束的是花多少钱，设下限会鼓励多花钱"),
        FindingKind("LINT_COST_OVER_BUDGET", "成本超过项目预算", "warning",
                    "成本指标“{level3}”的金额 {amount} 元超过项目预算数 {budget} 元",
                    "成本不可能超过项目的全部预算，指标值或预算数必有一处填错"),
        FindingKind("LINT_PLACEHOLDER_TARGET", "指标值为占位符", "error",
                    "指标“{level3}”的指标值为“{target}”，没有填写实际目标",
                    "占位符不是目标，年底无法评价，该指标会被判为不可评分"),
        FindingKind("LINT_UNPARSEABLE_TARGET", "指标值无法解析", "error",
                    "指标“{level3}”的指标值“{target}”无法解析：{detail}",
                    "无法识别的指标值不能与实际完成值比较，该指标会被判为不可评分"),
        FindingKind("LINT_COPIED_TABLE", "目标表疑似照搬", "warning",
                    "本项目的绩效目标表与{others}相同或高度相似（按{key_label}逐行比较，括号内为相同行所占比例）",
                    "不同项目的目标表照抄照搬，说明目标没有结合项目实际设定"),
        FindingKind("LINT_PLAN_DECREASING", "支出计划递减", "warning",
                    "资金支出计划（%）{plans} 不是逐期不减的累计进度",
                    "支出计划是累计百分比，后一节点不能低于前一节点"),
        FindingKind("LINT_PLAN_NOT_100", "支出计划未到 100%", "warning",
                    {"default": "12月底资金支出计划为 {plan_dec}，应为 100%",
                     "no_plan": "本单位 {missing_plans} 个项目（共 {projects} 个）没有填写资金支出计划，无法核对年底是否支出 100%"},
                    "预算应在年底前全部支出，年底累计计划不是 100% 说明计划有误；多数目标表不填支出计划，"
                    "这时按单位提示一次（提示级），不逐个项目警告"),
        FindingKind("LINT_FUNDS_SUM", "预算数与资金来源不符", "error",
                    "预算数 {budget} 元 ≠ 财政资金 {fiscal} 元 + 其他资金 {other} 元（差 {diff} 元）",
                    "预算数应等于各资金来源之和，不符说明金额填错，执行率和成本比较都会失真"),
        FindingKind("LINT_MISSING_BUDGET", "缺少预算数", "warning",
                    "项目“{project_name}”没有预算数",
                    "没有预算数就无法计算执行率，也无法核对成本指标与资金来源；应补填，而不是按 0 元处理"),
        FindingKind("LINT_MISSING_LEVEL3", "缺少三级指标名称", "warning",
                    "第 {seq} 个指标没有三级指标名称（指标值“{target}”）",
                    "没有名称的指标无法与实际完成值逐项对应，也看不出考核的是什么"),
        FindingKind("LINT_DUPLICATE_LEVEL3", "三级指标重名", "info",
                    "三级指标“{level3}”在本项目中出现 {count} 次（序号 {seqs}）",
                    "同名指标通常是复制后忘记修改，自评时也容易填错行"),
    )
}

CATALOGUE.register(*LINT_CATALOGUE.values())
