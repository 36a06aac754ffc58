"""What-if rule tuning (selfeval.whatif): every scenario in one pass, each equal to its own score run."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from selfeval.api import score
from selfeval.cli import app
from selfeval.errors import RuleFileError
from selfeval.rules.loader import load_rules
from selfeval.synth import synth, write_synth
from selfeval.whatif import parse_sweep, sweep_scenarios, whatif, with_field

# (field, values): every parameter of selfeval.scenarios.PARAMS; each value must match a separate score run
SWEEPS = [
    ("weights.产出指标", [50, 40, 45, 55]),
    ("overshoot.threshold", [1.5, 1.2, 2.0]),
    ("deadline.late_penalty_per_month", [0.1, 0.25, 0.5]),
    ("execution.schedule.points_per_checkpoint", [0, 1, 2.5]),
    ("weights.预算执行率", [10, 20]),
    ("weights.效益指标", [30, 20]),
    ("weights.满意度指标", [10, 0, 15]),
    ("execution.schedule.tolerance", [0, 5, 30]),
    ("total_points", [100, 90]),
]


@pytest.fixture(scope="module")
def data():
    return synth(15, seed=31)


def scenario_frame(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    return frame.filter(pl.col("scenario") == name).drop("scenario")


def assert_matches_score(data, result, name, rules) -> None:
    single = score(data.declaration, data.actuals, data.execution, rules)
    projects = single.project_scores.sort("unit_code", "project_code")
    assert_frame_equal(scenario_frame(result.project_scores, name), projects)
    assert_frame_equal(scenario_frame(result.unit_scores, name), single.unit_scores)
    exact = ["unit_code", "project_code", "execution_points", "total", "complete", "grade"]
    assert_frame_equal(scenario_frame(result.project_scores, name).select(exact), projects.select(exact), check_exact=True)
    exact_units = ["unit_code", "unit_name", "total", "grade", "projects", "complete"]
    assert_frame_equal(scenario_frame(result.unit_scores, name).select(exact_units), single.unit_scores.select(exact_units),
                       check_exact=True)


def test_base_scenario_reproduces_score(data) -> None:
    """It should reproduce `score` exactly when the only scenario is the base rules."""
    result = whatif(data.declaration, data.actuals, data.execution, ["mof-2020"])
    assert result.names == ["mof-2020"] and result.passes == 1
    assert_matches_score(data, result, "mof-2020", load_rules("mof-2020"))
    assert result.migration.is_empty() or result.migration["count"].sum() == 0


@pytest.mark.parametrize(("field", "values"), SWEEPS, ids=[s[0] for s in SWEEPS])
def test_each_sweep_value_matches_its_own_score_run(data, field, values) -> None:
    """It should compute all sweep values in one pass, each equal to a separate score run."""
    result = whatif(data.declaration, data.actuals, data.execution, sweep={field: values})
    assert result.passes == 1
    assert len(result.names) == len(values)
    base = load_rules("mof-2020")
    for name, value in zip(result.names, values):
        assert_matches_score(data, result, name, with_field(base, field, value))


def test_structural_scenarios_are_grouped(data) -> None:
    """It should score rule sets of different structure (one pass each) and numeric variants together."""
    per_level2 = load_rules("per-level2")
    variant = with_field(load_rules("mof-2020"), "weights.效益指标", 25, name="mof-效益25")
    result = whatif(data.declaration, data.actuals, data.execution, {"mof": load_rules("mof-2020"), "l2": per_level2,
                                                                    "strict": load_rules("strict-overshoot"), "v": variant})
    assert result.passes == 3
    for name, rules in result.scenarios.items():
        assert_matches_score(data, result, name, rules)


def test_views_delta_and_migration(data) -> None:
    """It should give per-project deltas against the first scenario and a migration matrix that adds up."""
    result = whatif(data.declaration, data.actuals, data.execution, sweep="weights.产出指标=50,40")
    first, second = result.names
    projects = result.projects
    assert projects.height == data.projects.height
    delta = (projects[f"total__{second}"] - projects[f"total__{first}"]).round(6)
    assert_frame_equal(projects.select(f"delta__{second}").to_series().to_frame(), delta.alias(f"delta__{second}").to_frame())
    assert (projects[f"delta__{second}"] <= 0).all()
    matrix = result.migration_matrix(second, "项目")
    assert matrix["from_grade"].to_list()[:4] == ["优", "良", "中", "差"]
    assert matrix.drop("from_grade").sum().sum_horizontal().item() == projects.height
    changed = projects.filter(pl.col(f"grade__{first}") != pl.col(f"grade__{second}")).height
    assert result.summary.filter(pl.col("scenario") == second)["projects_grade_changed"].item() == changed
    assert result.units.height == data.units.height
    assert result.warnings  # 40 + 30 + 10 + 10 ≠ 100


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("weights.产出指标=-5", "weights.产出指标"), ("overshoot.threshold=0.5", "overshoot.threshold"),
     ("weights.绩效指标=5", "weights.绩效指标"), ("nosuch.field=1", "nosuch.field"), ("weights.产出指标", "格式")],
)
def test_invalid_sweep_names_the_field(text, fragment) -> None:
    """It should reject an unknown field or an invalid value with an error naming the field."""
    with pytest.raises(RuleFileError, match=fragment.replace(".", r"\.")):
        sweep_scenarios(load_rules(), text)


def test_parse_sweep_values() -> None:
    """It should read sweep values as numbers or strings."""
    assert parse_sweep("weights.产出指标=40, 45.5") == ("weights.产出指标", [40, 45.5])
    assert parse_sweep("split=per_level2")[1] == ["per_level2"]


def test_workbook_sheets_and_text(data, tmp_path: Path) -> None:
    """It should write one sheet per view, input text as text (a leading '=' is not a formula)."""
    projects = data.projects.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("=SUM(A1:A9)")).otherwise(pl.col("project_name")).alias("project_name")
    )
    from selfeval.declaration import Declaration

    decl = Declaration(data.units, projects, data.indicators)
    result = whatif(decl, data.actuals, data.execution, sweep="weights.产出指标=50,45")
    path = result.write_workbook(tmp_path / "whatif.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["情景汇总", "项目得分", "单位得分", "等级迁移", "迁移明细", "情景参数"]
    ws = wb["项目得分"]
    headers = [c.value for c in ws[1]]
    assert "项目名称" in headers and any(h.startswith("差值") for h in headers)
    names = [ws.cell(r, headers.index("项目名称") + 1) for r in range(2, ws.max_row + 1)]
    hostile = [c for c in names if c.value == "=SUM(A1:A9)"]
    assert hostile and hostile[0].data_type == "s"
    assert ws.max_row == data.projects.height + 1


def test_cli_whatif(tmp_path: Path) -> None:
    """It should compare rule sets and sweeps from the command line and write the workbook."""
    write_synth(tmp_path / "ds", 4, seed=2)
    runner = CliRunner()
    run = runner.invoke(app, ["whatif", str(tmp_path / "ds"), "--rules", "mof-2020", "--rules", "per-level2",
                              "--out", str(tmp_path / "a.xlsx")])
    assert run.exit_code == 0, run.output
    assert "等级迁移" in run.output and (tmp_path / "a.xlsx").is_file()
    run = runner.invoke(app, ["whatif", str(tmp_path / "ds"), "--sweep", "overshoot.threshold=1.5,1.2"])
    assert run.exit_code == 0, run.output
    bad = runner.invoke(app, ["whatif", str(tmp_path / "ds"), "--sweep", "weights.产出指标=abc"])
    assert bad.exit_code == 2 and "weights.产出指标" in bad.output


# ----------------------------------------------------------------------------- datasets, batch by batch


def write_partitioned(data, folder: Path, groups: int) -> None:
    """`data` as a hive-partitioned dataset with `groups` unit groups (so it is read in several batches)."""
    codes = data.declaration.units.get_column("unit_code").unique(maintain_order=True).to_list()
    group_of = {code: i * groups // len(codes) for i, code in enumerate(codes)}
    tables = {"units": data.declaration.units, "projects": data.declaration.projects,
              "indicators": data.declaration.indicators, "actuals": data.actuals, "execution": data.execution}
    for name, frame in tables.items():
        part = frame.with_columns(pl.col("unit_code").replace_strict(group_of, return_dtype=pl.Int64).alias("unit_group"))
        part.write_parquet(folder / name, partition_by="unit_group")


@pytest.fixture(scope="module")
def dataset(data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("whatif-ds")
    write_partitioned(data, folder, 4)
    return folder


def test_dataset_batches_give_the_in_memory_comparison(data, dataset, tmp_path: Path) -> None:
    """It should compare a dataset batch by batch (bounded memory) exactly as the in-memory what-if does."""
    from selfeval.whatif import whatif_dataset

    sweep = {"weights.产出指标": [50, 40, 60]}
    whole = whatif(data.declaration, data.actuals, data.execution, sweep=sweep)
    calls: list[int] = []
    batched, written, skipped = whatif_dataset(dataset, sweep=sweep, tables=tmp_path / "t", batch_indicators=1,
                                               on_batch=lambda: calls.append(1))
    assert len(calls) == 4 and not skipped
    keys = ["unit_code", "project_code"]
    assert_frame_equal(batched.projects.sort(keys), whole.projects.sort(keys))
    assert_frame_equal(batched.units.sort("unit_code"), whole.units.sort("unit_code"))
    assert_frame_equal(batched.migration, whole.migration)
    assert_frame_equal(batched.summary, whole.summary)
    assert batched.compared == {"projects": whole.projects.height, "units": whole.units.height}
    # the tables hold every row, batch by batch
    assert {p.name for p in written} >= {"whatif_projects.parquet", "whatif_units.parquet", "whatif_summary.parquet"}
    assert_frame_equal(pl.read_parquet(tmp_path / "t" / "whatif_projects.parquet").sort(keys), whole.projects.sort(keys))


def test_dataset_views_keep_the_largest_moves(data, dataset) -> None:
    """It should keep at most `keep` rows in the views: those whose totals move most."""
    from selfeval.whatif import whatif_dataset

    sweep = {"weights.产出指标": [50, 30]}
    whole = whatif(data.declaration, data.actuals, data.execution, sweep=sweep)
    batched, _, _ = whatif_dataset(dataset, sweep=sweep, keep=5, batch_indicators=1)
    assert batched.units.height == 5 and batched.compared["units"] == whole.units.height
    name = batched.names[1]
    threshold = batched.units.get_column(f"delta__{name}").abs().min()
    assert (whole.units.get_column(f"delta__{name}").abs() > threshold).sum() <= 5


def test_dataset_with_no_readable_unit_is_an_input_error(tmp_path: Path) -> None:
    """It should say that nothing could be scored, not fail with a KeyError."""
    from selfeval.errors import InputError
    from selfeval.whatif import whatif_dataset

    for name in ("units", "projects", "indicators"):
        (tmp_path / name / "unit_group=0").mkdir(parents=True)
        (tmp_path / name / "unit_group=0" / "part.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="没有可评分的单位"):
        whatif_dataset(tmp_path, sweep={"weights.产出指标": [50, 40]})


def test_cli_whatif_on_a_dataset_writes_every_row(data, dataset, tmp_path: Path) -> None:
    """It should compare a dataset batch by batch from the command line, the tables holding every project."""
    run = CliRunner().invoke(app, ["whatif", str(dataset), "--sweep", "weights.产出指标=50,40", "--tables", str(tmp_path / "t"),
                                   "--out", str(tmp_path / "w.xlsx")])
    assert run.exit_code == 0, run.output
    whole = whatif(data.declaration, data.actuals, data.execution, sweep={"weights.产出指标": [50, 40]})
    keys = ["unit_code", "project_code"]
    assert_frame_equal(pl.read_parquet(tmp_path / "t" / "whatif_projects.parquet").sort(keys), whole.projects.sort(keys))
    assert_frame_equal(pl.read_parquet(tmp_path / "t" / "whatif_summary.parquet"), whole.summary)
    assert openpyxl.load_workbook(tmp_path / "w.xlsx").sheetnames[:3] == ["情景汇总", "项目得分", "单位得分"]


def test_department_modes_match_their_own_score_runs(data) -> None:
    """It should roll every department mode (by category and by months' lines too) up as `score` does, in one sweep."""
    from selfeval.rules.loader import rules_from_mapping

    base: dict = {}  # rules_from_mapping starts from the default (财预〔2020〕10号) fields
    scenarios = {
        "mof": load_rules("mof-2020"),
        "category": rules_from_mapping({**base, "name": "c1", "department": "category"}),
        "category-weights": rules_from_mapping({**base, "name": "c2", "department": "category",
                                                "category_weights": {"运转类": 30, "特定目标类": 70}}),
        "parts": rules_from_mapping({**base, "name": "p", "department": "parts",
                                     "department_weights": {"预算执行率": 20, "产出指标": 40, "效益指标+满意度指标": 40}}),
        "months": rules_from_mapping({**base, "name": "m", "execution": {"schedule": {
            "thresholds": {"4月底": 25, "8月底": 60}, "points_per_checkpoint": 1}}}),
    }
    result = whatif(data.declaration, data.actuals, data.execution, scenarios)
    for name, rules in result.scenarios.items():
        assert_matches_score(data, result, name, rules)
    units = result.unit_scores
    # synth's units have a 运转类 and 特定目标类 projects: weighing them 30/70 moves some department scores
    moved = units.filter(pl.col("scenario") == "category-weights")["total"] != units.filter(pl.col("scenario") == "mof")["total"]
    assert moved.any()


def test_sweep_a_monitoring_line_or_category_weight_the_base_lacks(data) -> None:
    """It should sweep a monitoring line spelt as a rule file spells it (4, 4月底) — at a month the base rule
    draws no line, too — and a category weight the base does not list, each equal to its own score run; a
    month that is not 1–11月底 is refused naming the sweep."""
    from selfeval.rules.loader import rules_from_mapping

    base = rules_from_mapping({"name": "c", "department": "category", "category_weights": {"运转类": 30},
                               "execution": {"schedule": {"thresholds": {"jun": 40}, "points_per_checkpoint": 1}}})
    for field, values, key in [("execution.schedule.thresholds.4月底", [25, 60], "apr"),
                               ("execution.schedule.thresholds.6", [50], "jun"),
                               ("category_weights.特定目标类", [70], "特定目标类")]:
        result = whatif(data.declaration, data.actuals, data.execution, sweep={field: values}, base=base)
        for name, value in zip(result.names, values):
            rules = with_field(base, field, value)
            assert {**rules.execution.schedule.thresholds, **rules.category_weights}[key] == value
            assert_matches_score(data, result, name, rules)
    with pytest.raises(RuleFileError, match="13月"):
        with_field(base, "execution.schedule.thresholds.13月", 20)


@pytest.mark.parametrize(("declared_order", "stack_rows"), [("as_listed", 2_000_000), ("as_listed", 1), ("reversed", 2_000_000)])
def test_units_without_projects_are_in_every_scenario(data, declared_order, stack_rows, monkeypatch) -> None:
    """It should list a declared unit that has no project under every scenario, as its own score run does
    (projects 0, no total), with the units in code order whatever order they were declared in (listed
    unit by unit, the stacked units are placed by one key; reversed, by unit and scenario), and
    whether the scenarios are rolled up in one chunk or one chunk each (keys not starting at 0)."""
    from dataclasses import replace

    import selfeval.pipeline
    import selfeval.rollup

    monkeypatch.setattr(selfeval.pipeline, "STACK_ROWS", stack_rows)
    placed = []
    monkeypatch.setattr(selfeval.rollup, "_every_unit_by_scenario",
                        lambda *a, f=selfeval.rollup._every_unit_by_scenario: placed.append(1) or f(*a))
    empty_units = pl.DataFrame({"unit_code": ["000001", "999999"], "unit_name": ["无项目单位甲", "无项目单位乙"]})
    listed = data.units if declared_order == "as_listed" else data.units.reverse()
    units = pl.concat([empty_units.join(data.units.drop("unit_code", "unit_name").head(1), how="cross")
                       .select(data.units.columns), listed], how="vertical_relaxed")
    declaration = replace(data.declaration, units=units)
    result = whatif(declaration, data.actuals, data.execution, sweep={"weights.产出指标": [50, 40]})
    for name, value in zip(result.names, [50, 40]):
        single = score(declaration, data.actuals, data.execution, with_field(load_rules("mof-2020"), "weights.产出指标", value))
        got = scenario_frame(result.unit_scores, name)
        assert_frame_equal(got, single.unit_scores, check_exact=True)
        assert got.get_column("unit_code").is_sorted()
        lonely = got.filter(pl.col("unit_code").is_in(["000001", "999999"]))
        assert lonely.get_column("projects").to_list() == [0, 0] and lonely.get_column("total").null_count() == 2
    assert len(placed) == (0 if declared_order == "reversed" else 1 if stack_rows > 1 else 2)  # one per chunk


def test_comparison_of_nothing_has_no_tallies() -> None:
    """It should compare empty score frames into empty views and a summary without counts (not zeros)."""
    from selfeval.schema import PROJECT_SCORES, UNIT_SCORES
    from selfeval.whatif import _summary, compare

    grades = ["优", "良", "中", "差"]
    projects = pl.DataFrame(schema={"scenario": pl.String, **PROJECT_SCORES})
    units = pl.DataFrame(schema={"scenario": pl.String, **UNIT_SCORES})
    found = compare(projects, units, ["a", "b"], grades)
    assert found.projects.is_empty() and found.units.is_empty() and found.migration.is_empty()
    summary = _summary([found.tallies], ["a", "b"], grades)
    assert summary.get_column("scenario").to_list() == ["a", "b"]
    assert summary.drop("scenario").null_count().row(0) == (2,) * (summary.width - 1)
