"""The self-evaluation rules in plain Python, as a careful analyst would script them.

    python -m benches.peers.plain_python DATASET OUT      # from the repository root

DATASET is a `selfeval synth` dataset (hive-partitioned Parquet: `TABLE/unit_group=K/part-*.parquet`).
pyarrow reads the columns the rules need; from there on it is dicts, loops and `re`: value texts
parsed by regular expressions (each distinct text once), weights per project, ratio, linear curve,
qualitative tiers, half-up rounding (`decimal`), execution points, project totals, the
budget-weighted unit score and grades. Writes OUT/project_totals.parquet and
OUT/unit_totals.parquet. The simplified rules are listed in `benches.peers.mof2020`.

It imports nothing from selfeval; `benches/bench_peers.py` times it as a whole process beside
`selfeval bulk` and checks that its totals agree with selfeval's.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

if not __package__:  # run as a file: make `benches.peers` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pyarrow as pa
import pyarrow.parquet as pq

from benches.peers.mof2020 import (
    ALIASES,
    DATE,
    DECIMALS,
    DIGIT,
    EQUAL_TIER,
    EXECUTION_WEIGHT,
    GRADES,
    GROUP_WEIGHTS,
    LATE_PENALTY_PER_MONTH,
    MISSING_TRANSFER,
    MULTIPLIERS,
    OPERATORS,
    QUANTITY,
    RANGE,
    TIER_WORDS,
    TIERS,
    UNITS,
)

DATE_RE, RANGE_RE, QUANTITY_RE, DIGIT_RE = re.compile(DATE), re.compile(RANGE), re.compile(QUANTITY), re.compile(DIGIT)
QUANT = Decimal(1).scaleb(-DECIMALS)
ACTUAL_OPS = ("eq", "ge", "gt", "le", "lt")

# A parsed value text: (op, value, value_hi, deadline, unit, dimension, factor to the unit).
# op None: unparseable (or empty). value × factor is in the unit (days for durations).
UNPARSEABLE = (None, None, None, None, None, None, None)
QUALITATIVE = ("qualitative", None, None, None, None, None, None)


def round_half_up(x: float) -> float:
    """Round half up after dropping binary noise at 9 decimals (9.925 → 9.93)."""
    return float(Decimal(repr(round(x, 9))).quantize(QUANT, rounding=ROUND_HALF_UP))


def grade_of(total: float) -> str:
    for low, grade in GRADES:
        if total >= low:
            return grade
    return GRADES[-1][1]


def _unit(word: str | None) -> tuple[str | None, str | None, float]:
    if not word:
        return None, None, 1.0
    return UNITS.get(word, (word, "count", 1.0))


def parse(text: str | None) -> tuple:
    """One value text → (op, value, value_hi, deadline, unit, dimension, factor)."""
    if text is None:
        return UNPARSEABLE
    m = DATE_RE.match(text)
    if m:
        year, m1, d1, m2, d2 = m.groups()
        month, day = m1 or m2, d1 or d2
        try:
            if day:
                date = dt.date(int(year), int(month), int(day))
            elif month:
                date = dt.date(int(year), int(month), calendar.monthrange(int(year), int(month))[1])
            else:
                date = dt.date(int(year), 12, 31)
        except ValueError:
            return UNPARSEABLE
        return ("deadline", None, None, date, None, "date", None)
    m = RANGE_RE.match(text)
    if m:
        lo, u1, hi, u2 = m.groups()
        unit, dim, factor = _unit(u2)
        if (u1 and _unit(u1) != (unit, dim, factor)) or float(lo) > float(hi):
            return UNPARSEABLE
        return ("range", float(lo), float(hi), None, unit, dim, factor)
    m = QUANTITY_RE.match(text)
    if m:
        sign, number, multiplier, word = m.groups()
        value = float(number) * MULTIPLIERS.get(multiplier, 1.0)
        unit, dim, factor = _unit(word)
        return (OPERATORS[sign], value, None, None, unit, dim, factor)
    if not DIGIT_RE.search(text):
        return QUALITATIVE
    return UNPARSEABLE


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def ratio_of(op: str, a: float, t: float, t_hi: float | None) -> float:
    if op in ("ge", "gt"):
        return 1.0 if t == 0 else a / t
    if op in ("le", "lt"):
        if a <= t:
            return 1.0
        return 0.0 if t == 0 else t / a
    if op == "eq":
        if a == t:
            return 1.0
        return 0.0 if max(a, t) <= 0 else min(a, t) / max(a, t)
    if t <= a <= t_hi:  # range
        return 1.0
    if a < t:
        return 0.0 if t <= 0 else a / t
    return t_hi / a


def tier_of_words(text: str) -> str | None:
    for word, tier in TIER_WORDS:
        if word in text:
            return tier
    return None


def fraction_of(target_text: str | None, actual: tuple | None, parsed: dict) -> float | None:
    """The fraction of the indicator's weight earned, or None when it cannot be scored."""
    target = parsed.get(target_text)
    if target is None:
        target = parsed[target_text] = parse(target_text)
    t_op = target[0]
    if t_op is None:
        return None
    actual_text, tier, given = actual if actual is not None else (None, None, None)
    if t_op == "qualitative":
        if tier is None:
            tier = tier_of_words(actual_text) if actual_text is not None else None
            if tier is None and actual_text is not None and actual_text == target_text:
                tier = EQUAL_TIER
            if tier is None:
                return None
        elif tier not in TIERS:
            return None
        low, high, default, _ = TIERS[tier]
        if given is None:
            return default
        return given if low <= given <= high else None
    if actual_text is None:
        return None
    a = parsed.get(actual_text)
    if a is None:
        a = parsed[actual_text] = parse(actual_text)
    if t_op == "deadline":
        if a[0] != "deadline":
            return None
        done, due = a[3], target[3]
        if done <= due:
            return 1.0
        late = max(1, (done.year * 12 + done.month) - (due.year * 12 + due.month) + (done.day > due.day))
        return min(1.0, max(0.0, 1.0 - late * LATE_PENALTY_PER_MONTH))
    a_op, a_value, _, _, a_unit, a_dim, a_factor = a
    if a_op not in ACTUAL_OPS:
        return None
    _, t_value, t_hi, _, t_unit, t_dim, t_factor = target
    if a_unit is None:
        a_factor = t_factor
    elif t_unit is None:
        t_factor = a_factor
    elif a_dim != t_dim or (a_dim != "duration" and a_unit != t_unit):
        return None
    r = ratio_of(t_op, a_value * a_factor, t_value * t_factor, None if t_hi is None else t_hi * t_factor)
    return min(1.0, max(0.0, r))


def group_weights(counts: dict[str, int]) -> dict[str, float]:
    """Each present group's weight, absent groups passing theirs along `MISSING_TRANSFER`."""
    weights = {g: w for g, w in GROUP_WEIGHTS.items() if g in counts}
    for g, w in GROUP_WEIGHTS.items():
        if g in counts:
            continue
        seen, target = {g}, MISSING_TRANSFER.get(g)
        while target is not None and target not in counts and target not in seen:
            seen.add(target)
            target = MISSING_TRANSFER.get(target)
        if target in counts:
            weights[target] += w
    return weights


def read(dataset: Path, table: str, columns: list[str]) -> dict[str, list]:
    return pq.read_table(dataset / table, columns=columns).to_pydict()


def score_dataset(dataset: str | Path) -> tuple[dict[str, list], dict[str, list]]:
    """(project totals, unit totals) of a synth dataset, as column dicts."""
    dataset = Path(dataset)
    units = read(dataset, "units", ["unit_code"])
    projects = read(dataset, "projects", ["unit_code", "project_code", "budget"])
    indicators = read(dataset, "indicators", ["unit_code", "project_code", "seq", "level1", "target_text", "weight"])
    actuals = read(dataset, "actuals", ["unit_code", "project_code", "seq", "actual_text", "tier", "fraction"])
    execution = read(dataset, "execution", ["unit_code", "project_code", "year_budget", "executed"])

    actual_of = {}
    for unit, project, seq, text, tier, fraction in zip(*actuals.values()):
        actual_of[(unit, project, seq)] = (_text(text), _text(tier), fraction)

    by_project: dict[tuple[str, str], list] = {}
    for unit, project, seq, level1, target, weight in zip(*indicators.values()):
        group = ALIASES.get(_text(level1))
        by_project.setdefault((unit, project), []).append((seq, group, _text(target), weight))

    parsed: dict[str | None, tuple] = {}
    points_of: dict[tuple[str, str], float] = {}
    for (unit, project), inds in by_project.items():
        counts: dict[str, int] = {}
        for _, group, _, _ in inds:
            if group is not None:
                counts[group] = counts.get(group, 0) + 1
        explicit = all(weight is not None for *_, weight in inds)
        weights = group_weights(counts)
        points = 0.0
        for seq, group, target, weight in inds:
            if group is None:
                continue
            fraction = fraction_of(target, actual_of.get((unit, project, seq)), parsed)
            if fraction is not None:
                w = weight if explicit else weights[group] / counts[group]
                points += round_half_up(w * fraction)
        points_of[(unit, project)] = points

    execution_of: dict[tuple[str, str], tuple] = {}
    for unit, project, year_budget, executed in zip(*execution.values()):
        execution_of[(unit, project)] = (year_budget, executed)

    out = {"unit_code": [], "project_code": [], "execution_points": [], "total": [], "grade": []}
    by_unit: dict[str, list[tuple[float, float | None]]] = {}
    for unit, project, budget in zip(*projects.values()):
        year_budget, executed = execution_of.get((unit, project), (None, None))
        if year_budget is None:
            year_budget = budget
        exec_points = None
        if executed is not None and year_budget is not None and year_budget > 0:
            exec_points = round_half_up(EXECUTION_WEIGHT * min(1.0, max(0.0, executed / year_budget)))
        total = round_half_up(points_of.get((unit, project), 0.0) + (exec_points or 0.0))
        for column, value in zip(out, (unit, project, exec_points, total, grade_of(total))):
            out[column].append(value)
        by_unit.setdefault(unit, []).append((total, budget))

    unit_out = {"unit_code": [], "budget": [], "total": [], "grade": []}
    for unit in units["unit_code"]:
        mine = by_unit.get(unit, [])
        budget = sum(b for _, b in mine if b is not None)
        if not mine:
            total = None
        elif budget != 0:
            total = round_half_up(sum(t * b for t, b in mine if b is not None) / budget)
        else:
            total = round_half_up(sum(t for t, _ in mine) / len(mine))
        for column, value in zip(unit_out, (unit, float(budget), total, None if total is None else grade_of(total))):
            unit_out[column].append(value)
    return out, unit_out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m benches.peers.plain_python DATASET OUT", file=sys.stderr)
        return 2
    start = time.perf_counter()
    projects, units = score_dataset(args[0])
    out = Path(args[1])
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(projects), out / "project_totals.parquet")
    pq.write_table(pa.table(units), out / "unit_totals.parquet")
    print(f"plain python: {len(projects['total'])} projects, {len(units['total'])} units in {time.perf_counter() - start:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
