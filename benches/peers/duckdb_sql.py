"""The same simplified rules as `benches.peers.plain_python`, as one DuckDB SQL query.

    python -m benches.peers.duckdb_sql DATASET OUT      # from the repository root

`read_parquet` (hive partitioning) reads the synth dataset; `regexp_extract` splits each value text
into op / number / multiplier / unit (or a date, a range); weights come from per-project counts;
ratio, curve, tiers and half-up rounding (via DECIMAL) are CASE expressions; the query groups by
project, then by unit. Writes OUT/project_totals.parquet and OUT/unit_totals.parquet.
The rule numbers and patterns come from `benches.peers.mof2020` (no selfeval import).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if not __package__:  # run as a file: make `benches.peers` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import duckdb

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


def lit(value: object) -> str:
    """A SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(float(value))


def case(column: str, mapping: dict, default: object = None, *, default_sql: str | None = None) -> str:
    """CASE column WHEN key THEN value … ELSE default END (default_sql: an SQL expression instead)."""
    whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in mapping.items() if k is not None)
    return f"(CASE {column} {whens} ELSE {default_sql or lit(default)} END)"


def half_up(expr: str) -> str:
    """Round half up to DECIMALS after dropping binary noise at 9 decimals (DECIMAL rounds half up)."""
    return f"round(({expr})::DECIMAL(18, 9), {DECIMALS})"


def parsed(prefix: str, text: str) -> str:
    """Columns {prefix}_op, _value, _hi, _date, _unit, _dim, _factor of the value text `text`,
    computed from the regexp_extract structs {prefix}d (date), {prefix}r (range), {prefix}q (quantity)."""
    d, r, q = f"{prefix}d", f"{prefix}r", f"{prefix}q"
    unit = f"CASE WHEN {d}.y <> '' THEN NULL WHEN {r}.lo <> '' THEN {r}.u2 ELSE nullif({q}.u, '') END"
    names = {w: u for w, (u, _, _) in UNITS.items()}
    dims = {w: dim for w, (_, dim, _) in UNITS.items()}
    factors = {w: f for w, (_, _, f) in UNITS.items()}
    multiplier = case(f"{q}.x", MULTIPLIERS, 1.0)
    day = f"nullif({d}.d1 || {d}.d2, '')"
    month = f"nullif({d}.m1 || {d}.m2, '')"
    return f"""
        CASE WHEN {text} IS NULL THEN NULL
             WHEN {d}.y <> '' THEN 'deadline'
             WHEN {r}.lo <> '' THEN CASE WHEN ({r}.u1 = '' OR {case(f'{r}.u1', names)} = {case(f'{r}.u2', names)})
                                              AND {r}.lo::DOUBLE <= {r}.hi::DOUBLE THEN 'range' END
             WHEN {q}.n <> '' THEN {case(f'{q}.s', OPERATORS, 'eq')}
             WHEN NOT regexp_matches({text}, '{DIGIT}') THEN 'qualitative'
        END AS {prefix}_op,
        CASE WHEN {r}.lo <> '' THEN {r}.lo::DOUBLE WHEN {q}.n <> '' THEN {q}.n::DOUBLE * {multiplier} END AS {prefix}_value,
        CASE WHEN {r}.lo <> '' THEN {r}.hi::DOUBLE END AS {prefix}_hi,
        CASE WHEN {d}.y = '' THEN NULL
             WHEN {day} IS NOT NULL THEN try_strptime({d}.y || '-' || {month} || '-' || {day}, '%Y-%m-%d')::DATE
             WHEN {month} IS NOT NULL THEN last_day(try_strptime({d}.y || '-' || {month} || '-1', '%Y-%m-%d')::DATE)
             ELSE make_date({d}.y::INTEGER, 12, 31)
        END AS {prefix}_date,
        {case(f'({unit})', names, default_sql=f'({unit})')} AS {prefix}_unit,
        CASE WHEN ({unit}) IS NOT NULL THEN {case(f'({unit})', dims, 'count')} END AS {prefix}_dim,
        {case(f'({unit})', factors, 1.0)} AS {prefix}_factor"""


def extracts(prefix: str, text: str) -> str:
    return f"""
        regexp_extract({text}, '{DATE}', ['y', 'm1', 'd1', 'm2', 'd2']) AS {prefix}d,
        regexp_extract({text}, '{RANGE}', ['lo', 'u1', 'hi', 'u2']) AS {prefix}r,
        regexp_extract({text}, '{QUANTITY}', ['s', 'n', 'x', 'u']) AS {prefix}q"""


def weight_expr() -> str:
    """The indicator's weight: explicit, or its group's (absent groups passing theirs on, one step)."""
    whens = []
    for g, w in GROUP_WEIGHTS.items():
        extra = " ".join(
            f"+ CASE WHEN n_{list(GROUP_WEIGHTS).index(h)} = 0 THEN {lit(GROUP_WEIGHTS[h])} ELSE 0 END"
            for h, target in MISSING_TRANSFER.items() if target == g
        )
        whens.append(f"WHEN {lit(g)} THEN ({lit(w)} {extra}) / n_{list(GROUP_WEIGHTS).index(g)}")
    return f"CASE WHEN explicit THEN weight ELSE CASE grp {' '.join(whens)} END END"


def tier_expr() -> str:
    words = " ".join(f"WHEN contains(actual, {lit(w)}) THEN {lit(t)}" for w, t in TIER_WORDS)
    return (f"coalesce(a_tier, CASE {words} END, "
            f"CASE WHEN actual = target THEN {lit(EQUAL_TIER)} END)")


def grade_expr(total: str) -> str:
    return "CASE " + " ".join(f"WHEN {total} >= {lit(low)} THEN {lit(g)}" for low, g in GRADES) + f" ELSE {lit(GRADES[-1][1])} END"


def query(dataset: Path) -> str:
    """The query creating the temporary table `project_totals`."""
    def src(table: str) -> str:
        return f"read_parquet({lit(str(dataset / table / '*' / '*.parquet'))}, hive_partitioning = true)"

    assert all(t not in MISSING_TRANSFER for t in MISSING_TRANSFER.values()), "one-step transfers only"
    counts = ", ".join(f"count(*) FILTER (WHERE grp = {lit(g)}) AS n_{k}" for k, g in enumerate(GROUP_WEIGHTS))
    tiers = ", ".join(lit(t) for t in TIERS)
    low, high, default = ({t: v[k] for t, v in TIERS.items()} for k in range(3))
    ratio = """CASE t_op
                 WHEN 'ge' THEN CASE WHEN t = 0 THEN 1.0 ELSE a / t END
                 WHEN 'gt' THEN CASE WHEN t = 0 THEN 1.0 ELSE a / t END
                 WHEN 'le' THEN CASE WHEN a <= t THEN 1.0 WHEN t = 0 THEN 0.0 ELSE t / a END
                 WHEN 'lt' THEN CASE WHEN a <= t THEN 1.0 WHEN t = 0 THEN 0.0 ELSE t / a END
                 WHEN 'eq' THEN CASE WHEN a = t THEN 1.0 WHEN greatest(a, t) <= 0 THEN 0.0 ELSE least(a, t) / greatest(a, t) END
                 ELSE CASE WHEN a BETWEEN t AND t_hi THEN 1.0 WHEN a < t THEN CASE WHEN t <= 0 THEN 0.0 ELSE a / t END ELSE t_hi / a END
               END"""
    return f"""
CREATE TEMP TABLE project_totals AS
WITH
ind0 AS (
    SELECT unit_code, project_code, seq, {case('trim(level1)', ALIASES)} AS grp,
           nullif(trim(target_text), '') AS target, weight
    FROM {src('indicators')}
),
ind1 AS (SELECT *, {extracts('t', 'target')} FROM ind0),
ind AS (SELECT unit_code, project_code, seq, grp, target, weight, {parsed('t', 'target')} FROM ind1),
act0 AS (
    SELECT unit_code, project_code, seq, nullif(trim(actual_text), '') AS actual,
           nullif(trim(tier), '') AS tier, fraction
    FROM {src('actuals')}
),
act1 AS (SELECT *, {extracts('a', 'actual')} FROM act0),
act AS (SELECT unit_code, project_code, seq, actual, tier, fraction, {parsed('a', 'actual')} FROM act1),
counts AS (
    SELECT unit_code, project_code, {counts}, count(weight) = count(*) AS explicit
    FROM ind GROUP BY unit_code, project_code
),
joined0 AS (
    SELECT i.*, c.* EXCLUDE (unit_code, project_code), a.actual, a.tier AS a_tier, a.fraction AS given,
           a.a_op, a.a_value, a.a_date, a.a_unit, a.a_dim, a.a_factor,
           CASE WHEN a.a_unit IS NULL THEN i.t_factor ELSE a.a_factor END AS af,
           CASE WHEN a.a_unit IS NOT NULL AND i.t_unit IS NULL THEN a.a_factor ELSE i.t_factor END AS tf
    FROM ind i
    JOIN counts c USING (unit_code, project_code)
    LEFT JOIN act a USING (unit_code, project_code, seq)
),
joined AS (
    SELECT unit_code, project_code, grp, t_op, t_date, a_date, a_op, actual, {weight_expr()} AS w,
           {tier_expr()} AS tier, given, a_value * af AS a, t_value * tf AS t, t_hi * tf AS t_hi,
           a_unit IS NOT NULL AND t_unit IS NOT NULL
               AND (a_dim <> t_dim OR (a_dim <> 'duration' AND a_unit <> t_unit)) AS unit_mismatch
    FROM joined0
),
scored AS (
    SELECT unit_code, project_code, w,
        CASE
            WHEN grp IS NULL OR t_op IS NULL THEN NULL
            WHEN t_op = 'qualitative' THEN
                CASE WHEN tier IS NULL OR tier NOT IN ({tiers}) THEN NULL
                     WHEN given IS NULL THEN {case('tier', default)}
                     WHEN given BETWEEN {case('tier', low)} AND {case('tier', high)} THEN given
                END
            WHEN actual IS NULL OR a_op IS NULL THEN NULL
            WHEN t_op = 'deadline' THEN
                CASE WHEN a_op <> 'deadline' THEN NULL
                     WHEN a_date <= t_date THEN 1.0
                     ELSE least(1.0, greatest(0.0, 1.0 - {LATE_PENALTY_PER_MONTH!r} * greatest(1,
                          (year(a_date) * 12 + month(a_date)) - (year(t_date) * 12 + month(t_date))
                          + (day(a_date) > day(t_date))::INTEGER)))
                END
            WHEN a_op NOT IN ('eq', 'ge', 'gt', 'le', 'lt') OR unit_mismatch THEN NULL
            ELSE least(1.0, greatest(0.0, {ratio}))
        END AS f
    FROM joined
),
points AS (
    SELECT unit_code, project_code, coalesce(sum({half_up('w * f')}), 0) AS points
    FROM scored GROUP BY unit_code, project_code
),
execution AS (
    SELECT p.unit_code, p.project_code, p.budget, e.executed, coalesce(e.year_budget, p.budget) AS year_budget
    FROM {src('projects')} p
    LEFT JOIN {src('execution')} e USING (unit_code, project_code)
),
execution_points AS (
    SELECT *, CASE WHEN executed IS NOT NULL AND year_budget > 0 THEN
        {half_up(f'{EXECUTION_WEIGHT!r} * least(1.0, greatest(0.0, executed / year_budget))')}::DOUBLE END AS execution_points
    FROM execution
)
SELECT e.unit_code, e.project_code, e.budget, e.execution_points,
       {half_up('coalesce(pt.points, 0) + coalesce(e.execution_points, 0)')}::DOUBLE AS total
FROM execution_points e
LEFT JOIN points pt USING (unit_code, project_code)
"""


def unit_query(dataset: Path) -> str:
    """Unit totals: budget-weighted mean of project totals (plain mean when Σ budget is 0)."""
    units = f"read_parquet({lit(str(dataset / 'units' / '*' / '*.parquet'))}, hive_partitioning = true)"
    total = f"""CASE WHEN count(p.total) = 0 THEN NULL
                     WHEN coalesce(sum(p.budget), 0) <> 0 THEN {half_up('sum(p.total * p.budget) / sum(p.budget)')}::DOUBLE
                     ELSE {half_up('avg(p.total)')}::DOUBLE END"""
    return f"""
SELECT unit_code, budget, total, CASE WHEN total IS NOT NULL THEN {grade_expr('total')} END AS grade
FROM (
    SELECT u.unit_code, coalesce(sum(p.budget), 0)::DOUBLE AS budget, {total} AS total
    FROM {units} u LEFT JOIN project_totals p USING (unit_code)
    GROUP BY u.unit_code
)"""


def score_dataset(dataset: str | Path, out: str | Path, con: duckdb.DuckDBPyConnection | None = None) -> None:
    """Score `dataset` and write OUT/project_totals.parquet and OUT/unit_totals.parquet."""
    dataset, out = Path(dataset), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    con = con or duckdb.connect()
    con.execute(query(dataset))
    con.execute(f"""COPY (SELECT unit_code, project_code, execution_points, total, {grade_expr('total')} AS grade
                          FROM project_totals) TO {lit(str(out / 'project_totals.parquet'))} (FORMAT parquet)""")
    con.execute(f"COPY ({unit_query(dataset)}) TO {lit(str(out / 'unit_totals.parquet'))} (FORMAT parquet)")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m benches.peers.duckdb_sql DATASET OUT", file=sys.stderr)
        return 2
    start = time.perf_counter()
    score_dataset(args[0], args[1])
    print(f"duckdb sql: {time.perf_counter() - start:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
