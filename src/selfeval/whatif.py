"""What-if rule tuning (SPEC.md §7, issue 6): the same inputs under several rule scenarios.

`whatif(declared, actuals, execution, scenarios=..., sweep=...)` scores every scenario, then
compares them with the first: per project and per unit the total and grade under each scenario,
the delta against the first, and a grade migration matrix (优→良 …).

Every scenario is scored by the one pipeline (`selfeval.pipeline`), never by a copy of its rules:
the parameter-free stages (prepare, check) run once per structure group (scenarios sharing
aliases, curves, tiers, grades …); indicators are then folded by (project, weight shape, fraction
earned) once per `fraction_key` (late penalty, and the overshoot threshold when it deducts); each
scenario weighs the distinct tuples (`weigh`), and the projects of many scenarios are stacked and
rolled up at once by `project_totals`/`unit_scores` (`pipeline.stacked_totals`).

`whatif_dataset` does the same over a partitioned dataset a batch of units at a time, so memory
stays bounded whatever the size of the dataset and the number of scenarios.

Only project and unit totals are computed (the per-indicator detail and findings of every
scenario are not materialized); the tests compare every parameter of `PARAMS` with separate
`score` runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from selfeval.checkpoints import checkpoint_of
from selfeval.declaration import Declaration
from selfeval.errors import RuleFileError
from selfeval.pipeline import checked_inputs, stacked_totals
from selfeval.rules.loader import DEFAULT_RULES, load_rules, rules_from_mapping
from selfeval.rules.model import RuleSet
from selfeval.scenarios import PARAMS, SCENARIO, Params, group_by_structure
from selfeval.schema import PROJECT_SCORES, UNIT_SCORES

PROJECT_VIEW_KEYS = ["unit_code", "project_code"]
NO_GRADE = "—"


# ----------------------------------------------------------------------------- scenarios


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """`weights.产出指标=40,45,50` → ("weights.产出指标", [40, 45, 50]); values read as YAML scalars."""
    field, sep, values = text.partition("=")
    field = field.strip()
    items = [v.strip() for v in values.split(",")] if sep else []
    if not field or not items or any(v == "" for v in items):
        msg = f"--sweep {text!r} 格式不对：应为 字段=值1,值2,…（如 weights.产出指标=40,45,50,55）"
        raise RuleFileError(msg)
    return field, [yaml.safe_load(v) for v in items]


def _field_paths(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _field_paths(v, f"{prefix}{k}.")]
    return [prefix.rstrip(".")]


def with_field(base: RuleSet, field: str, value: Any, *, name: str | None = None) -> RuleSet:
    """`base` with the dotted `field` set to `value`, validated like a rule file.

    An unknown field or an invalid value raises RuleFileError naming the field.
    """
    data = base.model_dump()
    node: Any = data
    parts = field.split(".")
    for i, key in enumerate(parts):
        last = i == len(parts) - 1
        parent = ".".join(parts[:i])
        if last and parent == "execution.schedule.thresholds" and isinstance(node, dict):
            # a monitoring line at any month end, spelt as a rule file may spell it (4, 4月底, apr) —
            # one the base rule has or a new one
            try:
                index: Any = checkpoint_of(key)
            except ValueError as exc:
                msg = f"--sweep {field}：{exc}"
                raise RuleFileError(msg) from None
        elif last and parent == "category_weights" and isinstance(node, dict) and key.strip():
            index = key.strip()  # a project category's weight, one the base rule lists or a new one
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            index = int(key)
        elif isinstance(node, dict) and key in node:
            index = key
        else:
            known = "、".join(p for p in _field_paths(data) if p)
            msg = f"规则字段 {field!r} 不存在（{'.'.join(parts[: i + 1])} 处找不到）；可用字段：{known}"
            raise RuleFileError(msg)
        if last:
            node[index] = value
        else:
            node = node[index]
    data["name"] = name or f"{field}={value}"
    return rules_from_mapping(data, source=f"--sweep {field}={value}")


def sweep_scenarios(base: RuleSet, sweeps: Mapping[str, Sequence[Any]] | Sequence[str] | str) -> dict[str, RuleSet]:
    """One scenario per value (several fields: per combination, first field varying slowest).

    `sweeps` maps dotted fields to values, or is CLI text(s) like `overshoot.threshold=1.2,1.5`.
    """
    if isinstance(sweeps, str):
        sweeps = [sweeps]
    if not isinstance(sweeps, Mapping):
        sweeps = dict(parse_sweep(s) for s in sweeps)
    if not sweeps:
        msg = "sweep 至少需要一个字段"
        raise RuleFileError(msg)
    scenarios: dict[str, RuleSet] = {}
    fields = list(sweeps)
    for combo in itertools.product(*(sweeps[f] for f in fields)):
        label = ", ".join(f"{f}={_value_text(v)}" for f, v in zip(fields, combo))
        rules = base
        for f, v in zip(fields, combo):
            rules = with_field(rules, f, v, name=label)
        scenarios[label] = rules
    return scenarios


def _value_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _unique_names(rule_sets: Sequence[RuleSet]) -> dict[str, RuleSet]:
    out: dict[str, RuleSet] = {}
    for rules in rule_sets:
        name, n = rules.name, 2
        while name in out:
            name, n = f"{rules.name}#{n}", n + 1
        out[name] = rules
    return out


# ----------------------------------------------------------------------------- scoring


def scenario_scores(
    declared: Declaration, actuals: pl.DataFrame, execution: pl.DataFrame, scenarios: dict[str, RuleSet]
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(project_scores, unit_scores, passes): each frame has a leading `scenario` column, in
    scenario order, each scenario's block in the same (declared) order.

    The parameter-free stages (prepare, check) run once per structure group (`passes`); the
    group's scenarios are then weighed and rolled up together by `pipeline.stacked_totals` — the
    score and roll-up stages `score` runs, without the indicator detail and findings.
    """
    groups = group_by_structure(scenarios)
    position = {name: i for i, name in enumerate(scenarios)}
    project_parts: list[pl.DataFrame] = []
    unit_parts: list[pl.DataFrame] = []
    for group in groups:
        inputs = checked_inputs(declared, actuals, execution, next(iter(group.values())), findings=False)
        described = inputs.execution.select("project_code", "project_name")  # the order of every scenario's rows
        stacked_projects, stacked_units = stacked_totals(inputs, group, {})
        at = {i: position[name] for i, name in enumerate(group)}  # the group's scenarios among all
        repeated = pl.concat([described] * len(group), how="vertical")
        project_parts.append(pl.concat([stacked_projects, repeated], how="horizontal").with_columns(
            pl.col("_s").replace_strict(at, return_dtype=pl.UInt32)))
        unit_parts.append(stacked_units.with_columns(pl.col("_s").replace_strict(at, return_dtype=pl.UInt32)))
    labels = pl.Series(SCENARIO, list(scenarios), dtype=pl.String)

    def long(parts: list[pl.DataFrame], names: list[str]) -> pl.DataFrame:
        frame = pl.concat(parts, how="vertical")
        if len(parts) > 1:  # structure groups interleave: scenario order, each block's order kept
            frame = frame.sort("_s", maintain_order=True)
        return frame.select(names).insert_column(0, labels.gather(frame.get_column("_s")))  # a name per row by position

    return long(project_parts, PROJECT_SCORES.names()), long(unit_parts, UNIT_SCORES.names()), len(groups)


# ----------------------------------------------------------------------------- views


@dataclass(frozen=True)
class WhatIfResult:
    """Scores under each scenario and their comparison with the first scenario.

    * `project_scores`, `unit_scores`: long frames (`scenario` + schema PROJECT_SCORES/UNIT_SCORES).
    * `projects`, `units`: one row per project/unit; per scenario `total__<s>`, `grade__<s>` and,
      after the first, `delta__<s>` (= total − total of the first scenario).
    * `migration`: `level` (项目/单位), `scenario`, `from_grade` (first scenario), `to_grade`, `count`.
    * `summary`: per scenario the mean totals, grade counts and how many projects/units changed grade.
    * `parameters`: per scenario its numeric parameters and the structure pass it was scored in.
    """

    scenarios: dict[str, RuleSet]
    project_scores: pl.DataFrame
    unit_scores: pl.DataFrame
    projects: pl.DataFrame
    units: pl.DataFrame
    migration: pl.DataFrame
    summary: pl.DataFrame
    parameters: pl.DataFrame
    passes: int
    warnings: tuple[str, ...] = ()
    # rows compared in all, when `projects`/`units` keep only the largest moves (whatif_dataset)
    compared: Mapping[str, int] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.scenarios)

    @property
    def grades(self) -> list[str]:
        """Grade labels: the first scenario's, best first, then any other scenario's it lacks (`scenario_grades`)."""
        return scenario_grades(self.scenarios)

    def migration_matrix(self, scenario: str, level: str = "项目") -> pl.DataFrame:
        """Rows: grade under the first scenario; columns: grade under `scenario`; cells: counts."""
        sub = self.migration.filter((pl.col("level") == level) & (pl.col(SCENARIO) == scenario))
        counts = {(r["from_grade"], r["to_grade"]): r["count"] for r in sub.iter_rows(named=True)}
        seen = {g for key in counts for g in key}
        grades = [*self.grades, *sorted(seen - set(self.grades))]
        return pl.DataFrame(
            {"from_grade": grades, **{to: [counts.get((fr, to), 0) for fr in grades] for to in grades}},
            schema={"from_grade": pl.String, **dict.fromkeys(grades, pl.Int64)},
        )

    def write_workbook(self, path: str | Path) -> Path:
        """The comparison as a workbook, one sheet per view (written atomically)."""
        return write_whatif_workbook(self, path)


def _blocks(long: pl.DataFrame, names: list[str]) -> int:
    """Rows per scenario of a long frame made of equal, identically ordered scenario blocks."""
    n, rest = divmod(long.height, max(1, len(names)))
    if rest:
        msg = f"internal: {long.height} rows do not split into {len(names)} equal scenario blocks"
        raise AssertionError(msg)
    return n


def _wide(long: pl.DataFrame, keys: list[str], names: list[str], extra: list[str]) -> pl.DataFrame:
    """One row per key; per scenario total__/grade__ and, after the first, delta__ (blocks reshaped, no joins)."""
    n = _blocks(long, names)
    columns: dict[str, pl.Series] = {c: long.get_column(c).slice(0, n) for c in (*keys, *extra)}
    total, grade = long.get_column("total"), long.get_column("grade")
    first = total.slice(0, n)
    for i, name in enumerate(names):
        columns[f"total__{name}"] = total.slice(i * n, n).alias(f"total__{name}")
        columns[f"grade__{name}"] = grade.slice(i * n, n).alias(f"grade__{name}")
    for i, name in enumerate(names[1:], start=1):
        columns[f"delta__{name}"] = (total.slice(i * n, n) - first).round(6).alias(f"delta__{name}")
    frame = pl.DataFrame(list(columns.values()))
    changed = (
        pl.any_horizontal([pl.col(f"grade__{m}").ne_missing(pl.col(f"grade__{names[0]}")) for m in names[1:]])
        if len(names) > 1 else pl.lit(False)
    )
    return frame.with_columns(changed.alias("grade_changed"))


def _grade_codes(long: pl.DataFrame, names: list[str], grades: list[str]) -> Any:
    """Each row's grade as a code (its position in `grades`; len(grades) for no grade), as a
    (scenarios, rows) array of the long frame's blocks: counted as small integers, not hashed as text."""
    none = len(grades)
    if len(grades) <= 8:  # a few comparisons of short texts beat a hash per row
        code = pl.lit(none, dtype=pl.UInt8)
        for i, grade in reversed(list(enumerate(grades))):
            code = pl.when(pl.col("grade") == grade).then(pl.lit(i, dtype=pl.UInt8)).otherwise(code)
    else:
        code = pl.col("grade").replace_strict({g: i for i, g in enumerate(grades)}, default=none, return_dtype=pl.UInt8)
    codes = long.select(code.fill_null(none)).to_series().to_numpy()
    return codes.reshape(len(names), _blocks(long, names))


def _migration_counts(codes: Any, grades: list[str], level: str) -> pl.DataFrame:
    """Grade moves from the first scenario (`codes`: `_grade_codes`), counted: `level`, `_s`, from_grade, to_grade, count."""
    import numpy as np

    labels = dict(enumerate([*grades, NO_GRADE]))
    size = len(labels)
    first = codes[0].astype(np.int64) * size
    # each (from, to) an integer, counted by one bincount per scenario (grade codes are small)
    counts = [np.bincount(first + row, minlength=size * size) for row in codes[1:]]
    moves = [(s, int(m), int(c[m])) for s, c in enumerate(counts, start=1) for m in np.flatnonzero(c)]
    return pl.DataFrame(moves, schema={"_s": pl.Int32, "_move": pl.Int64, "count": pl.Int64}, orient="row").select(
        pl.lit(level).alias("level"), "_s",
        (pl.col("_move") // size).replace_strict(labels, return_dtype=pl.String).alias("from_grade"),
        (pl.col("_move") % size).replace_strict(labels, return_dtype=pl.String).alias("to_grade"), "count",
    )


def scenario_grades(rule_sets: dict[str, RuleSet]) -> list[str]:
    """Every grade label the scenarios use: the first scenario's, best first, then the labels other
    scenarios add (a profile grading A/B/C/D against 优/良/中/差), each in its own order."""
    out: list[str] = []
    for rules in rule_sets.values():
        out += [g.grade for g in rules.grades if g.grade not in out]
    return out


def _tallies(long: pl.DataFrame, codes: Any, grades: list[str], prefix: str) -> pl.DataFrame:
    """Per scenario (`_s`) the sums a summary is made of (`codes`: `_grade_codes`); tallies of batches add up."""
    import numpy as np

    k, n = codes.shape
    if not n:  # nothing compared: no tallies (the summary shows none rather than zeros)
        return pl.DataFrame(schema={"_s": pl.Int32, f"{prefix}_sum": pl.Float64, f"{prefix}_n": pl.Int64,
                                    **{f"{prefix}_{g}": pl.Int64 for g in grades},
                                    f"{prefix}_grade_changed": pl.Int64, f"{prefix}_total_changed": pl.Int64})
    total = long.get_column("total")
    blocks = [total.slice(i * n, n) for i in range(k)]
    totals = total.to_numpy().reshape(k, n)  # no total: NaN, which is never "changed"
    columns: dict[str, Any] = {
        "_s": np.arange(k),
        f"{prefix}_sum": [block.sum() for block in blocks],
        f"{prefix}_n": [block.count() for block in blocks],
    }
    columns.update({f"{prefix}_{g}": (codes == i).sum(axis=1) for i, g in enumerate(grades)})
    columns[f"{prefix}_grade_changed"] = (codes != codes[0]).sum(axis=1)
    columns[f"{prefix}_total_changed"] = (abs(totals - totals[0]) > 0.005).sum(axis=1)
    return pl.DataFrame(columns, schema={"_s": pl.Int32, f"{prefix}_sum": pl.Float64, **dict.fromkeys(list(columns)[2:], pl.Int64)})


@dataclass(frozen=True)
class Comparison:
    """The comparison of some units (one batch, or all): wide views and counts that add up."""

    projects: pl.DataFrame
    units: pl.DataFrame
    migration: pl.DataFrame  # _migration_counts of projects and units
    tallies: pl.DataFrame  # _tallies of projects and units, joined on `_s`


def compare(projects_long: pl.DataFrame, units_long: pl.DataFrame, names: list[str], grades: list[str]) -> Comparison:
    """Scenario blocks of project and unit scores compared with the first scenario.

    The parts are independent and Polars and numpy release the GIL: the wide views, the unit-level
    counts and the project grade moves are made in helper threads beside the project tallies.
    """
    from concurrent.futures import ThreadPoolExecutor

    def units_compared() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        codes = _grade_codes(units_long, names, grades)
        return (_wide(units_long, ["unit_code"], names, ["unit_name", "budget"]),
                _migration_counts(codes, grades, "单位"), _tallies(units_long, codes, grades, "units"))

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="selfeval-compare") as pool:
        wide = pool.submit(_wide, projects_long, PROJECT_VIEW_KEYS, names, ["project_name", "budget"])
        units = pool.submit(units_compared)
        codes = _grade_codes(projects_long, names, grades)
        moves = pool.submit(_migration_counts, codes, grades, "项目")
        tallies = _tallies(projects_long, codes, grades, "projects")
        unit_wide, unit_moves, unit_tallies = units.result()
        return Comparison(
            projects=wide.result(),
            units=unit_wide,
            migration=pl.concat([moves.result(), unit_moves], how="vertical"),
            tallies=tallies.join(unit_tallies, on="_s", how="full", coalesce=True),
        )


def _migration(parts: list[pl.DataFrame], names: list[str]) -> pl.DataFrame:
    """The migration table from the counts of every batch: level, scenario, from_grade, to_grade, count."""
    level_order = pl.col("level").replace_strict({"项目": 0, "单位": 1}, return_dtype=pl.Int8)
    return (
        pl.concat(parts, how="vertical")
        .group_by("level", "_s", "from_grade", "to_grade").agg(pl.col("count").sum())
        .sort(level_order, "_s", "from_grade", "to_grade")
        .select("level", pl.col("_s").replace_strict(dict(enumerate(names)), return_dtype=pl.String).alias(SCENARIO),
                "from_grade", "to_grade", "count")
    )


def _summary(parts: list[pl.DataFrame], names: list[str], grades: list[str]) -> pl.DataFrame:
    """Per scenario the mean totals, grade counts and how many projects/units changed, from every batch's tallies."""
    summed = pl.concat(parts, how="vertical").group_by("_s").agg(pl.all().sum())
    columns = []
    for prefix in ("projects", "units"):
        mean = pl.when(pl.col(f"{prefix}_n") > 0).then(pl.col(f"{prefix}_sum") / pl.col(f"{prefix}_n"))
        columns += [
            mean.round(2).alias(f"{prefix}_mean_total"),
            *[pl.col(f"{prefix}_{g}") for g in grades],
            pl.col(f"{prefix}_grade_changed"), pl.col(f"{prefix}_total_changed"),
        ]
    order = pl.DataFrame({SCENARIO: names, "_s": list(range(len(names)))}, schema={SCENARIO: pl.String, "_s": pl.Int32})
    return order.join(summed, on="_s", how="left", maintain_order="left").select(SCENARIO, *columns)


def _parameters(scenarios: dict[str, RuleSet]) -> pl.DataFrame:
    params = pl.DataFrame(
        [{SCENARIO: name, **Params.of(rules).as_row()} for name, rules in scenarios.items()],
        schema={SCENARIO: pl.String, **dict.fromkeys(PARAMS, pl.Float64)},
    )
    pass_of = {name: i for i, group in enumerate(group_by_structure(scenarios), start=1) for name in group}
    labels = {col: ".".join(path) for col, path in PARAMS.items()}
    return params.rename(labels).with_columns(
        pl.col(SCENARIO).replace_strict(pass_of, return_dtype=pl.Int32).alias("pass"),
        pl.Series("rules", [r.name for r in scenarios.values()], dtype=pl.String),
    )


def resolve_scenarios(
    scenarios: Mapping[str, RuleSet] | Sequence[RuleSet | str] | None = None,
    *,
    sweep: Mapping[str, Sequence[Any]] | Sequence[str] | str | None = None,
    base: RuleSet | str = DEFAULT_RULES,
) -> dict[str, RuleSet]:
    """The named rule sets of a what-if (see `whatif` for the arguments)."""
    listed: dict[str, RuleSet]
    if scenarios is None:
        listed = {}
    elif isinstance(scenarios, Mapping):
        listed = {name: load_rules(r) for name, r in scenarios.items()}
    else:
        listed = _unique_names([load_rules(r) for r in scenarios])
    if sweep is not None:
        base_rules = next(iter(listed.values())) if len(listed) == 1 else load_rules(base)
        swept = sweep_scenarios(base_rules, sweep)
        if len(listed) == 1:
            listed = {}
        listed = {**listed, **{k: v for k, v in swept.items() if k not in listed}}
    if not listed:
        listed = {load_rules(base).name: load_rules(base)}
    return listed


def whatif(
    declared: Declaration,
    actuals: pl.DataFrame,
    execution: pl.DataFrame,
    scenarios: Mapping[str, RuleSet] | Sequence[RuleSet | str] | None = None,
    *,
    sweep: Mapping[str, Sequence[Any]] | Sequence[str] | str | None = None,
    base: RuleSet | str = DEFAULT_RULES,
) -> WhatIfResult:
    """Score the inputs under every scenario and compare each with the first.

    `scenarios`: rule sets (or names/paths) — a mapping gives them names, a list is named by the
    rule sets' names. `sweep`: a dotted field and its values (`{"weights.产出指标": [40, 45, 50]}` or
    `"weights.产出指标=40,45,50"`), applied to `base` (or to the single scenario given). Given both,
    the listed scenarios come first, then the sweep.
    """
    listed = resolve_scenarios(scenarios, sweep=sweep, base=base)
    names = list(listed)
    projects_long, units_long, passes = scenario_scores(declared, actuals, execution, listed)
    grades = scenario_grades(listed)
    found = compare(projects_long, units_long, names, grades)
    return WhatIfResult(
        scenarios=listed,
        project_scores=projects_long,
        unit_scores=units_long,
        projects=found.projects,
        units=found.units,
        migration=_migration([found.migration], names),
        summary=_summary([found.tallies], names, grades),
        parameters=_parameters(listed),
        passes=passes,
        warnings=tuple(_weight_warnings(listed)),
    )


# A dataset's views keep the projects/units whose totals move most (the written tables keep all).
KEEP_ROWS = 20_000
# Indicators × scenarios scored at once: a dataset's batch shrinks as scenarios grow, so memory
# stays bounded whatever the dataset and the number of scenarios.
BATCH_CELLS = 10_000_000
MIN_BATCH_INDICATORS = 20_000


def _largest_moves(frame: pl.DataFrame, names: list[str], keep: int) -> pl.DataFrame:
    """At most `keep` rows: those whose total moves most under any scenario (ties: declared order)."""
    if frame.height <= keep:
        return frame
    if len(names) < 2:
        return frame.head(keep)
    move = pl.max_horizontal([pl.col(f"delta__{n}").abs() for n in names[1:]]).fill_null(0.0)
    return frame.sort(move, "_order", descending=[True, False]).head(keep)


def whatif_dataset(
    source: str | Path,
    scenarios: Mapping[str, RuleSet] | Sequence[RuleSet | str] | None = None,
    *,
    sweep: Mapping[str, Sequence[Any]] | Sequence[str] | str | None = None,
    base: RuleSet | str = DEFAULT_RULES,
    tables: str | Path | None = None,
    fmt: str = "parquet",
    keep: int = KEEP_ROWS,
    batch_indicators: int | None = None,
    on_batch: Any = None,
    engine: str = "local",
    master: str | None = None,
) -> tuple[WhatIfResult, list[Path], list[tuple[str, str]]]:
    """`whatif` over a partitioned dataset (as `selfeval synth` writes), a batch of units at a time.

    Memory is bounded: each batch is scored under every scenario, compared, appended to the
    `tables` (whatif_projects/whatif_units, every row) and reduced to counts; the result's
    `projects`/`units` views keep the `keep` rows that move most (all rows when there are fewer;
    `compared` says how many there were), and `project_scores`/`unit_scores` are left empty.
    Returns (result, files written, skipped partitions).

    `engine="spark"` compares every unit group on Apache Spark in one pass (`master`, default
    `local[2]`; `selfeval.spark.whatif`); whatif_projects/whatif_units are then written
    partitioned by unit group.
    """
    from selfeval.bulk import dataset_batches
    from selfeval.errors import InputError
    from selfeval.report.parts import TableParts
    from selfeval.report.tables import table_suffixes, write_tables

    listed = resolve_scenarios(scenarios, sweep=sweep, base=base)
    names = list(listed)
    grades = scenario_grades(listed)
    if engine == "spark":
        from selfeval.spark.whatif import whatif_spark

        return whatif_spark(source, listed, tables=tables, fmt=fmt, keep=keep, master=master)
    if engine != "local":
        raise RuleFileError(f"未知的引擎 {engine!r}：应为 local 或 spark")
    size = batch_indicators or max(MIN_BATCH_INDICATORS, BATCH_CELLS // len(names))
    skipped: list[tuple[str, str]] = []
    _, batches = dataset_batches(Path(source), size, skipped)
    views: dict[str, pl.DataFrame] = {}
    counts: dict[str, int] = {"projects": 0, "units": 0}
    migration: list[pl.DataFrame] = []
    tallies: list[pl.DataFrame] = []
    parts: dict[str, TableParts] = {}
    passes = 0
    if tables is not None:
        Path(tables).mkdir(parents=True, exist_ok=True)
    try:
        for batch in batches:
            projects_long, units_long, passes = scenario_scores(batch.declaration, batch.actuals, batch.execution, listed)
            found = compare(projects_long, units_long, names, grades)
            del projects_long, units_long
            for level, frame in (("projects", found.projects), ("units", found.units)):
                if tables is not None:
                    if level not in parts:
                        parts[level] = TableParts(Path(tables), f"whatif_{level}", table_suffixes(fmt), frame.schema)
                    parts[level].append(frame)
                numbered = frame.with_row_index("_order", offset=counts[level])
                counts[level] += frame.height
                previous = views.get(level)
                both = numbered if previous is None else pl.concat([previous, numbered], how="vertical")
                views[level] = _largest_moves(both, names, keep)
            migration.append(found.migration)
            tallies.append(found.tallies)
            if on_batch is not None:
                on_batch()
        if not tallies:
            msg = "数据集中没有可评分的单位（所有分区都无法读取）" + (f"：{skipped[0][0]}：{skipped[0][1]}" if skipped else "")
            raise InputError(msg, Path(source))
        written = [p for level in ("projects", "units") if level in parts for p in parts.pop(level).finish()]
    finally:
        for unfinished in parts.values():
            unfinished.abort()
    result = WhatIfResult(
        scenarios=listed,
        project_scores=pl.DataFrame(schema={SCENARIO: pl.String, **PROJECT_SCORES}),
        unit_scores=pl.DataFrame(schema={SCENARIO: pl.String, **UNIT_SCORES}),
        projects=views["projects"].sort("_order").drop("_order"),
        units=views["units"].sort("_order").drop("_order"),
        migration=_migration(migration, names),
        summary=_summary(tallies, names, grades),
        parameters=_parameters(listed),
        passes=passes,
        warnings=tuple(_weight_warnings(listed)),
        compared=dict(counts),
    )
    if tables is not None:
        small = {k: v for k, v in whatif_tables(result).items() if k not in ("whatif_projects", "whatif_units")}
        written += write_tables(small, tables, fmt)
    return result, written, skipped


def _weight_warnings(scenarios: Mapping[str, RuleSet]) -> list[str]:
    """Scenarios whose weights do not add up to the total points (totals may exceed or miss 100)."""
    out = []
    for name, rules in scenarios.items():
        total = sum(rules.weights.values())
        if abs(total - rules.total_points) > 1e-9:
            out.append(f"情景“{name}”的权重合计 {total:g}，与满分 {rules.total_points:g} 不一致，总分可能高于或低于满分")
    return out


# ----------------------------------------------------------------------------- presentation


def _label(column: str) -> str:
    """Chinese header of a view column (`total__A` → 总分（A）)."""
    from selfeval.report.labels import VIEW_LABELS, label

    if column in VIEW_LABELS:
        return VIEW_LABELS[column]
    for prefix, name in (("total__", "总分"), ("grade__", "等级"), ("delta__", "差值")):
        if column.startswith(prefix):
            return f"{name}（{column[len(prefix):]}）"
    for prefix, name in (("projects_", "项目数·"), ("units_", "单位数·")):
        if column.startswith(prefix):
            return f"{name}{column[len(prefix):]}"
    return label(column)


def _cell(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        from selfeval.report.labels import yes_no

        return str(yes_no(value))
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def summary_table(result: WhatIfResult) -> Any:
    """情景对比汇总: per scenario mean totals, grade counts and changes against the first."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"情景对比（以“{escape(result.names[0])}”为基准，共 {len(result.names)} 个情景、{result.passes} 次向量化计算）",
                  header_style="bold")
    table.add_column("情景", overflow="fold", min_width=24)
    for header in ("项目平均分", *[f"项目{g}" for g in result.grades], "等级变化项目", "单位平均分", "等级变化单位"):
        table.add_column(header, justify="right")
    for row in result.summary.iter_rows(named=True):
        table.add_row(
            escape(row[SCENARIO]), _cell(row["projects_mean_total"]),
            *[str(row[f"projects_{g}"]) for g in result.grades],
            str(row["projects_grade_changed"]), _cell(row["units_mean_total"]), str(row["units_grade_changed"]),
        )
    return table


def migration_tables(result: WhatIfResult, level: str = "项目") -> list[Any]:
    """One grade migration matrix per scenario after the first."""
    from rich.markup import escape
    from rich.table import Table

    from selfeval.report.labels import grade_markup

    tables = []
    for name in result.names[1:]:
        matrix = result.migration_matrix(name, level)
        table = Table(title=f"{level}等级迁移：{escape(result.names[0])} → {escape(name)}", header_style="bold")
        table.add_column("原等级 \\ 新等级")
        for to in matrix.columns[1:]:
            table.add_column(to, justify="right")
        for row in matrix.iter_rows():
            cells = [f"[bold]{c}[/]" if row[0] == to and c else ("[red]" + str(c) + "[/]" if c else "·")
                     for to, c in zip(matrix.columns[1:], row[1:])]
            table.add_row(grade_markup(row[0]), *cells)
        tables.append(table)
    return tables


def changes_table(result: WhatIfResult, level: str = "单位", limit: int = 20) -> Any:
    """The units (or projects) whose total moves most under any scenario."""
    from rich.markup import escape
    from rich.table import Table

    from selfeval.report.labels import grade_markup

    frame = result.units if level == "单位" else result.projects
    names = result.names
    keys = ["unit_code", "unit_name"] if level == "单位" else ["unit_code", "project_code", "project_name"]
    if len(names) > 1:
        frame = frame.with_columns(pl.max_horizontal([pl.col(f"delta__{n}").abs() for n in names[1:]]).alias("_move")).sort(
            "_move", descending=True, nulls_last=True
        )
    shown = frame.head(limit)
    total = max(frame.height, result.compared.get("units" if level == "单位" else "projects", 0))
    table = Table(title=f"{level}得分（变化最大的 {shown.height} 个，共 {total} 个）", header_style="bold")
    for key in keys:
        table.add_column(_label(key), overflow="fold")
    for n in names:
        table.add_column(escape(n), justify="right", overflow="fold")
    for row in shown.iter_rows(named=True):
        cells = []
        for i, n in enumerate(names):
            grade = row[f"grade__{n}"] or NO_GRADE
            text = f"{_cell(row[f'total__{n}'])} {grade_markup(grade)}"
            if i:
                delta = row[f"delta__{n}"]
                text += f" ({delta:+.2f})" if delta is not None else ""
            cells.append(text)
        table.add_row(*[escape(str(row[k] or "")) for k in keys], *cells)
    return table


WHATIF_TABLES = ("whatif_summary", "whatif_projects", "whatif_units", "whatif_migration", "whatif_parameters")


def whatif_tables(result: WhatIfResult) -> dict[str, pl.DataFrame]:
    """The comparison's tables by file name (summary, projects, units, migration, parameters)."""
    frames = (result.summary, result.projects, result.units, result.migration, result.parameters)
    return dict(zip(WHATIF_TABLES, frames))


def write_whatif_tables(result: WhatIfResult, folder: str | Path, fmt: str = "parquet") -> list[Path]:
    """The comparison's tables as parquet and/or csv in `folder` (the tool's one table writer)."""
    from selfeval.report.tables import write_tables

    return write_tables(whatif_tables(result), folder, fmt)


def _kept_note(result: WhatIfResult, view: str, level: str) -> str | None:
    """A heading when a view keeps only the largest moves of a dataset."""
    kept, total = getattr(result, view).height, result.compared.get(view, 0)
    if total <= kept:
        return None
    return f"仅列出得分变化最大的 {kept} 个{level}（共 {total} 个）；完整数据见 --tables 写出的 whatif_{view} 表"


def write_whatif_workbook(result: WhatIfResult, path: str | Path) -> Path:
    """Sheets 情景汇总, 项目得分, 单位得分, 等级迁移, 迁移明细, 情景参数; all input text written as text."""
    from selfeval.report.workbook import new_workbook, write_table

    target = Path(path)
    labels = {c: _label(c) for frame in (result.summary, result.projects, result.units, result.migration, result.parameters)
              for c in frame.columns}
    note = "；完整数据请用 --tables 写出结果表"
    with new_workbook(target, title="规则调整试算（what-if）") as wb:
        title = wb.add_format({"bold": True, "font_size": 12})

        def frame_sheet(name: str, frame: pl.DataFrame, heading: str | None = None) -> None:
            ws = wb.add_worksheet(name)
            row0 = 2 if heading else 0
            if heading:
                ws.write_string(0, 0, heading, title)
            write_table(wb, ws, frame, position=(row0, 0), labels=labels, overflow_note=note)
            ws.freeze_panes(row0 + 1, 0)

        frame_sheet("情景汇总", result.summary, f"基准情景：{result.names[0]}；向量化计算批次：{result.passes}")
        frame_sheet("项目得分", result.projects, _kept_note(result, "projects", "项目"))
        frame_sheet("单位得分", result.units, _kept_note(result, "units", "单位"))
        ws = wb.add_worksheet("等级迁移")
        row = 0
        for level in ("项目", "单位"):
            for name in result.names[1:]:
                ws.write_string(row, 0, f"{level}等级迁移：{result.names[0]} → {name}（行：原等级，列：新等级）", title)
                matrix = result.migration_matrix(name, level)
                row = write_table(wb, ws, matrix, position=(row + 1, 0), labels={"from_grade": "原等级＼新等级"}) + 2
        if len(result.names) == 1:
            ws.write_string(0, 0, "只有一个情景，没有等级迁移", title)
        frame_sheet("迁移明细", result.migration)
        frame_sheet("情景参数", result.parameters)
    return target


__all__ = [
    "WHATIF_TABLES",
    "WhatIfResult",
    "changes_table",
    "compare",
    "migration_tables",
    "parse_sweep",
    "resolve_scenarios",
    "scenario_scores",
    "summary_table",
    "sweep_scenarios",
    "whatif",
    "whatif_dataset",
    "whatif_tables",
    "with_field",
    "write_whatif_tables",
    "write_whatif_workbook",
]
