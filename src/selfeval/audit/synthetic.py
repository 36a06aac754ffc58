"""Synthetic submitted self-evaluations with injected errors and a truth table (`selfeval synth --submissions`).

The units, projects, targets and actuals are `selfeval.synth`'s; the claims are what the scoring
pipeline gives them (so a clean submission is right by construction), with a deviation reason
wherever the rules require one; projects the rules cannot score (missing or unparseable actuals)
are left out. Each unit is one file, in one of five layouts in turn: central template in 元,
central in 万元 with level-1 labels carrying their points, the provincial split target, every
project stacked on one sheet, and a Word document. Then, with probability `error_rate`, a project
gets one injected error of the kinds below, recorded in the truth table (file, project, code).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from selfeval.audit.forms_writer import FormSpec, write_docx, write_xlsx
from selfeval.rules.loader import DEFAULT_RULES, load_rules
from selfeval.rules.model import RuleSet

LAYOUTS = ("central", "central_wan", "provincial", "stacked", "docx")
TRUTH = pl.Schema({"file": pl.String, "unit_code": pl.String, "project_code": pl.String, "code": pl.String})
_SIGNED = re.compile(r"^(≥|≤|>|<|=)(\d[\d.,]*)(\D.*)?$")


def clean_forms(units: int, seed: int, rules: RuleSet) -> list[tuple[str, str, list[FormSpec]]]:
    """(unit code, unit name, forms) of `units` synthetic units, every claim as the rules give it."""
    from selfeval.api import score
    from selfeval.synth import synth

    data = synth(units, seed)
    result = score(data.declaration, data.actuals, data.execution, rules)
    broken = result.findings.filter(pl.col("severity") == "error").select("unit_code", "project_code").unique()
    reasons = result.findings.filter(pl.col("code") == "MISSING_REASON").select(
        "unit_code", "project_code", "seq", pl.lit("已分析原因并制定改进措施").alias("_reason"))
    indicators = (
        result.indicator_scores.join(broken, on=["unit_code", "project_code"], how="anti")
        .join(reasons, on=["unit_code", "project_code", "seq"], how="left")
        .with_columns(pl.coalesce("deviation_reason", "_reason").alias("deviation_reason"))
        .sort("unit_code", "project_code", "seq")
    )
    projects = result.project_scores.join(broken, on=["unit_code", "project_code"], how="anti")
    names = dict(data.units.select("unit_code", "unit_name").iter_rows())
    by_project: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in indicators.iter_rows(named=True):
        by_project.setdefault((row["unit_code"], row["project_code"]), []).append(row)
    out: dict[str, list[FormSpec]] = {}
    for p in projects.iter_rows(named=True):
        rows = by_project.get((p["unit_code"], p["project_code"]), [])
        if not rows:
            continue
        out.setdefault(p["unit_code"], []).append(_form(p, rows, names[p["unit_code"]]))
    return [(code, names[code], forms) for code, forms in out.items()]


def _split_target(text: str | None) -> tuple[str | None, str | None, str | None]:
    """(指标性质, 指标值, 度量单位) of a target as the provincial layout prints it."""
    if text is None:
        return None, None, None
    m = _SIGNED.match(text)
    if m:
        return m.group(1), m.group(2), m.group(3)
    if not re.search(r"\d", text):
        return "定性", text, None
    return None, text, None


def _form(p: dict[str, Any], rows: list[dict[str, Any]], unit_name: str) -> FormSpec:
    indicators = []
    for r in rows:
        nature, value, unit = _split_target(r["target_text"])
        indicators.append({
            "level1": r["level1"], "level2": r["level2"], "level3": r["level3"], "target": r["target_text"],
            "actual": r["actual_text"], "weight": r["weight"], "points": r["rule_points"], "reason": r["deviation_reason"],
            "nature": nature, "value": value, "unit": unit, "direction": None, "_op": r["target_op"],
            "_met": r["rule_points"] is not None and r["rule_points"] >= r["weight"] - 0.005, "_tier": r["tier"],
        })
    return {
        "project_code": p["project_code"], "project_name": p["project_name"], "department": unit_name, "unit_name": unit_name,
        "year": 2025, "budget": p["budget"], "year_budget": p["year_budget"], "executed": p["executed"],
        "fiscal": {"budget": p["budget"]}, "other": {"budget": 0.0},
        "execution_weight": p["execution_weight"], "execution_rate": p["execution_rate"],
        "execution_points": p["execution_points"], "indicators": indicators, "total": p["total"], "grade": p["grade"],
        "full_points": 100,
    }


# ------------------------------------------------------------------------------------ injections


def _grade_of(total: float, rules: RuleSet) -> str:
    """The grade of a printed total, by rollup's one grading expression."""
    from selfeval.rollup import grade_expr

    return pl.select(grade_expr(pl.lit(total, pl.Float64), rules)).item()

Inject = Callable[[FormSpec, random.Random, RuleSet], bool]


def _pick(rows: list[dict[str, Any]], rng: random.Random, test: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    found = [r for r in rows if test(r)]
    return found[rng.randrange(len(found))] if found else None


def _total_sum(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    form["total"] = round(form["total"] + (1.0 if form["total"] <= 99 else -1.0), 2)
    form["grade"] = _grade_of(form["total"], rules)
    return True


def _grade(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    others = [g.grade for g in rules.grades if g.grade != form["grade"]]
    form["grade"] = others[rng.randrange(len(others))]
    return True


def _rate_zero(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    if not form["executed"]:
        return False
    form["execution_rate"] = 0.0
    return True


def _execution_points(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    delta = 1.0 if form["execution_points"] <= form["execution_weight"] - 1 else -1.0
    form["execution_points"] = round(form["execution_points"] + delta, 2)
    form["total"] = round(form["total"] + delta, 2)
    form["grade"] = _grade_of(form["total"], rules)
    return True


def _points(form: FormSpec, value: Callable[[dict[str, Any]], Any], test: Callable[[dict[str, Any]], bool],
            rng: random.Random, rules: RuleSet, *, drop_reason: bool = False) -> bool:
    row = _pick(form["indicators"], rng, test)
    if row is None:
        return False
    old = row["points"]
    row["points"] = value(row)
    if drop_reason:
        row["reason"] = None
    if row["points"] is None or isinstance(row["points"], (int, float)):  # the total printed sums the parts printed
        form["total"] = round(form["total"] - old + (row["points"] or 0.0), 2)
        form["grade"] = _grade_of(form["total"], rules)
    return True


_QUANT = ("ge", "gt", "le", "lt", "eq", "range", "deadline")


def _met_deducted(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    return _points(form, lambda r: round(r["weight"] * 0.7, 2),
                   lambda r: r["_op"] in _QUANT and r["_met"] and r["reason"] is None and r["weight"] > 0.5, rng, rules)


def _unmet_full(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    return _points(form, lambda r: r["weight"], lambda r: r["_op"] in _QUANT and r["points"] < r["weight"] - 0.05, rng, rules)


def _above_weight(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    return _points(form, lambda r: round(r["weight"] + 2, 2), lambda r: True, rng, rules)


def _points_off(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    return _points(form, lambda r: round(max(r["points"] - 1.0, 0.0), 2),
                   lambda r: r["_op"] in _QUANT and 1.0 < r["points"] < r["weight"] - 0.05, rng, rules, drop_reason=True)


def _points_explained(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    row = _pick(form["indicators"], rng, lambda r: r["_op"] in _QUANT and r["_met"] and r["weight"] > 1.0)
    if row is None:
        return False
    row["reason"] = "按单位自评办法酌情扣分"  # a met target deducted, with a reason: the reviewer judges it
    return _points(form, lambda r: round(r["weight"] - 1.0, 2), lambda r: r is row, rng, rules)


def _points_missing(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    return _points(form, lambda r: None, lambda r: r["points"] is not None and r["points"] > 0, rng, rules)


def _not_a_number(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    return _points(form, lambda r: "满分", lambda r: True, rng, rules)


def _tier_band(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    top = rules.qualitative.top_tier
    return _points(form, lambda r: r["weight"], lambda r: r["_op"] == "qualitative" and r["_tier"] not in (None, top), rng, rules)


def _missing_reason(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    row = _pick(form["indicators"], rng, lambda r: r["reason"] is not None)
    if row is None:
        return False
    row["reason"] = None
    return True


def _weights_total(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    row = _pick(form["indicators"], rng, lambda r: r["_met"] and r["_op"] in _QUANT)
    if row is None:
        return False
    row["weight"] = row["weight"] + 10  # 分值 adding up to 110, points as the 分值 give them
    form["total"] = round(form["total"] + 10, 2)
    row["points"] = round(row["points"] + 10, 2)
    form["grade"] = _grade_of(form["total"], rules)
    return True


def _funds_parts(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    form["other"] = {"budget": 1000.0}
    return True


def _overspent(form: FormSpec, rng: random.Random, rules: RuleSet) -> bool:
    if not form["year_budget"]:
        return False
    old = form["execution_points"]
    form["executed"] = round(form["year_budget"] * 1.05, 2)
    form["execution_rate"] = form["executed"] / form["year_budget"]
    form["execution_points"] = form["execution_weight"]  # min(rate, 1) × weight
    form["total"] = round(form["total"] - old + form["execution_points"], 2)
    form["grade"] = _grade_of(form["total"], rules)
    return True


INJECTIONS: dict[str, Inject] = {
    "AUDIT_TOTAL_SUM": _total_sum, "AUDIT_GRADE": _grade, "AUDIT_RATE": _rate_zero, "AUDIT_EXECUTION_POINTS": _execution_points,
    "AUDIT_MET_DEDUCTED": _met_deducted, "AUDIT_UNMET_FULL": _unmet_full, "AUDIT_ABOVE_WEIGHT": _above_weight,
    "AUDIT_POINTS": _points_off, "AUDIT_POINTS_EXPLAINED": _points_explained, "AUDIT_POINTS_MISSING": _points_missing,
    "AUDIT_NOT_A_NUMBER": _not_a_number, "AUDIT_TIER_BAND": _tier_band,
    "MISSING_REASON": _missing_reason, "AUDIT_WEIGHTS_TOTAL": _weights_total, "AUDIT_FUNDS_PARTS": _funds_parts,
    "AUDIT_OVERSPENT": _overspent,
}


def write_submissions(folder: str | Path, units: int, seed: int = 0, *, error_rate: float = 0.3,
                      rules: RuleSet | str = DEFAULT_RULES, duplicates: int = 1) -> pl.DataFrame:
    """Write one submitted file per unit into `folder` and `truth.csv`; return the truth table.

    `error_rate`: the share of projects given one injected error; `duplicates`: files re-submitting
    one project of an earlier file (each an AUDIT_DUPLICATE_PROJECT).
    """
    from selfeval.atomic import atomic_path, safe_filename

    rules = load_rules(rules)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}-14")
    kinds = list(INJECTIONS)
    truth: list[dict[str, Any]] = []
    written: list[tuple[Path, FormSpec]] = []
    for k, (code, name, forms) in enumerate(clean_forms(units, seed, rules)):
        layout = LAYOUTS[k % len(LAYOUTS)]
        suffix = ".docx" if layout == "docx" else ".xlsx"
        path = out / safe_filename(f"{code}_{name}{suffix}")
        for form in forms:
            if error_rate and rng.random() < error_rate:
                for attempt in rng.sample(range(len(kinds)), len(kinds)):
                    if INJECTIONS[kinds[attempt]](form, rng, rules):
                        truth.append({"file": str(path), "unit_code": name, "project_code": form["project_code"],
                                      "code": kinds[attempt]})
                        break
        if layout == "central_wan":  # level-1 labels carry the points of their rows: `产出指标（50分）`
            for form in forms:
                sums: dict[str, float] = {}
                for ind in form["indicators"]:
                    sums[ind["level1"]] = sums.get(ind["level1"], 0.0) + float(ind["weight"])
                for ind in form["indicators"]:
                    ind["level1"] = f"{ind['level1']}（{round(sums[ind['level1']], 2):g}分）"
        if layout == "docx":
            write_docx(path, forms)
        else:
            write_xlsx(path, forms, layout="provincial" if layout == "provincial" else "central",
                       amount_unit="万元" if layout == "central_wan" else "元", stacked=layout == "stacked")
        written.append((path, forms[0]))
    for d in range(min(duplicates, len(written))):
        path, form = written[d]
        copy = out / f"{path.stem}_重复提交.xlsx"
        write_xlsx(copy, [form])
        truth.append({"file": str(copy), "unit_code": form["unit_name"], "project_code": form["project_code"],
                      "code": "AUDIT_DUPLICATE_PROJECT"})
    if duplicates and written:  # a damaged file and a file holding no form: named, the others audited
        broken = out / "损坏的文件.xlsx"
        with atomic_path(broken) as tmp:
            tmp.write_bytes(b"PK\x03\x04 damaged in transit")
        notes = out / "报送说明.docx"
        _write_note(notes)
        truth += [{"file": str(broken), "unit_code": None, "project_code": None, "code": "AUDIT_UNREADABLE"},
                  {"file": str(notes), "unit_code": None, "project_code": None, "code": "AUDIT_NO_FORM"}]
    frame = pl.DataFrame(truth, schema=TRUTH)
    with atomic_path(out / "truth.csv") as tmp:
        frame.write_csv(tmp)
    return frame


def _write_note(path: Path) -> None:
    """A covering letter: a Word document with a paragraph and a small table that is no 自评表."""
    import docx

    from selfeval.atomic import atomic_path

    document = docx.Document()
    document.add_paragraph("关于报送2025年度项目支出绩效自评结果的说明")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "联系人", "电话"
    table.cell(1, 0).text, table.cell(1, 1).text = "张三", "0315-0000000"
    with atomic_path(path) as tmp:
        document.save(str(tmp))


__all__ = ["INJECTIONS", "LAYOUTS", "clean_forms", "write_submissions"]
