"""`selfeval rules show` and `selfeval rules diff` (issue 13): profiles in words, differences, their effect on data."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from selfeval.cli import app
from selfeval.rules.describe import describe_rules, rule_differences
from selfeval.rules.loader import load_rules

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "seed_targets_2025.txt"
ACTUALS = ROOT / "samples" / "actuals_sample.csv"
EXECUTION = ROOT / "samples" / "execution_sample.csv"
runner = CliRunner()
WIDE = {"COLUMNS": "250"}

# 优 from 99.5: the sample's totals 99.93, 100.00, 99.36, 98.07, 99.55 → 3 优 and 2 良 (SPEC.md §5.7)
HIGH_BAR = """extends: mof-2020
name: high-bar
grades:
  - {grade: 优, min: 99.5}
  - {grade: 良, min: 80}
  - {grade: 中, min: 60}
  - {grade: 差, min: 0}
sources:
  grades: 测试用：优的分数线 99.5
"""


@pytest.mark.parametrize(
    ("other", "fields"),
    [
        ("per-level2", {"权重分配"}),
        ("sichuan-2023", {"反向指标计分公式"}),
        ("anhui-2022", {"指标得分保留小数位数", "指标得分不超过分值"}),
        ("hubei-2020", {"超额完成阈值", "指标值为 0 时的超额阈值"}),
        ("hunan-2019", {"定性档次·部分达成", "定性档次·未达成"}),
        ("neimenggu-2022", {"支出进度监控线·6月底", "支出进度监控线·10月底", "执行率得分舍入方式"}),
        ("strict-overshoot", {"计分曲线·默认", "超额扣分曲线", "超额完成处理"}),  # as `rules show` names it
    ],
)
def test_differences_name_the_changed_rules(other: str, fields: set[str]) -> None:
    """It should list exactly the scoring fields the profile changes (besides its name, description and sources)."""
    rows = rule_differences(load_rules("mof-2020"), load_rules(other))
    scoring = {f for f, _, _ in rows if f not in {"名称", "说明"} and not f.startswith("依据")}
    assert scoring == fields


def test_no_differences_with_itself() -> None:
    """It should find nothing between a rule set and itself, and say so on the command line."""
    assert rule_differences(load_rules("hunan-2019"), load_rules("hunan-2019")) == []
    run = runner.invoke(app, ["rules", "diff", "hunan-2019", "hunan-2019"], env=WIDE)
    assert run.exit_code == 0 and "全部规则相同" in run.output


def test_diff_prints_fields_in_words() -> None:
    """It should print the changed field with both values in words."""
    run = runner.invoke(app, ["rules", "diff", "mof-2020", "sichuan-2023"], env=WIDE)
    assert run.exit_code == 0, run.output
    assert "反向指标计分公式" in run.output and "偏离度公式" in run.output and "指标值 ÷ 完成值" in run.output


def test_diff_on_sample_shows_grade_migration(tmp_path: Path) -> None:
    """It should show, on the sample, 2 projects moving 优 → 良 when 优 starts at 99.5."""
    from selfeval.cli_rules import _whatif_on

    path = tmp_path / "high-bar.yaml"
    path.write_text(HIGH_BAR, encoding="utf-8")
    result = _whatif_on(SEED, ACTUALS, EXECUTION, [load_rules("mof-2020"), load_rules(path)])
    matrix = {row["from_grade"]: row for row in result.migration_matrix(result.names[1], "项目").iter_rows(named=True)}
    assert (matrix["优"]["优"], matrix["优"]["良"]) == (3, 2)
    run = runner.invoke(app, ["rules", "diff", "mof-2020", str(path), "--on", str(SEED), "-a", str(ACTUALS),
                              "-e", str(EXECUTION)], env=WIDE)
    assert run.exit_code == 0, run.output
    assert "项目等级迁移" in run.output and "等级" in run.output and "99.5" in run.output


def test_diff_profile_on_sample() -> None:
    """It should run `rules diff mof-2020 <profile>` on the sample: field differences, then the migration."""
    run = runner.invoke(app, ["rules", "diff", "mof-2020", "neimenggu-2022", "--on", str(SEED), "-a", str(ACTUALS),
                              "-e", str(EXECUTION)], env=WIDE)
    assert run.exit_code == 0, run.output
    assert "执行率得分舍入方式" in run.output and "项目等级迁移" in run.output and "单位等级迁移" in run.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["rules", "diff", "mof-2020", "no-such-rules"], "no-such-rules"),
        (["rules", "diff", "mof-2020", "hunan-2019", "-a", "x.csv"], "--execution"),
        (["rules", "diff", "mof-2020", "hunan-2019", "--on", "nosuch.txt", "-a", "a.csv", "-e", "e.csv"], "nosuch"),
    ],
)
def test_diff_bad_input_one_line(args: list[str], needle: str) -> None:
    """It should refuse a bad rule set or input with exit 2 and one line naming it."""
    run = runner.invoke(app, args, env=WIDE)
    assert run.exit_code == 2
    lines = [line for line in run.output.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], run.output


def test_show_lists_sources_samples_and_new_fields() -> None:
    """It should show a profile's reverse formula, curve samples, monitoring lines, rounding per part and its sources."""
    rows = dict(describe_rules(load_rules("neimenggu-2022")))
    assert "6月底 40%" in rows["支出进度监控线"] and "10月底 80%" in rows["支出进度监控线"]
    assert "执行率得分截尾" in rows["舍入"] and "指标得分四舍五入" in rows["舍入"]
    assert "0.5→0.5" in rows["执行率曲线"]
    assert "内财监〔2019〕1343号" in rows["依据·整个规则集"]
    run = runner.invoke(app, ["rules", "show", "sichuan-2023"], env=WIDE)
    assert run.exit_code == 0 and "偏离度公式" in run.output and "510000_0013zp" in run.output


def test_diff_on_bulk_folder_matches_two_runs(tmp_path: Path) -> None:
    """It should count the grade migration on a bulk folder exactly as two separate scoring runs do."""
    from collections import Counter

    import selfeval
    from selfeval.bulk import load_inputs
    from selfeval.cli_rules import _whatif_on
    from selfeval.synth import write_synth

    write_synth(tmp_path / "ds", 6, seed=13)
    rules = [load_rules("mof-2020"), load_rules("hunan-2019")]
    result = _whatif_on(tmp_path / "ds", None, None, rules)
    declared, actuals, execution, _ = load_inputs(tmp_path / "ds")
    grades = [dict(((r["unit_code"], r["project_code"]), r["grade"]) for r in
                   selfeval.score(declared, actuals, execution, rs).project_scores.iter_rows(named=True)) for rs in rules]
    want = Counter((grades[0][k], grades[1][k]) for k in grades[0])
    matrix = result.migration_matrix(result.names[1], "项目")
    got = Counter({(row["from_grade"], to): row[to] for row in matrix.iter_rows(named=True)
                   for to in matrix.columns[1:] if row[to]})
    assert got == want
    run = runner.invoke(app, ["rules", "diff", "mof-2020", "hunan-2019", "--on", str(tmp_path / "ds")], env=WIDE)
    assert run.exit_code == 0, run.output
    assert "定性档次·部分达成" in run.output and "项目等级迁移" in run.output


def test_named_grades_print_in_the_terminal(tmp_path: Path) -> None:
    """It should print grades named by the profile (A/B/C/D, 优秀 …) in `score`'s table, not stop
    with a markup error (a grade without a colour of its own is printed plain)."""
    rules = tmp_path / "abcd.yaml"
    rules.write_text("extends: mof-2020\nname: abcd\ngrades:\n  - {grade: A, min: 99.5}\n  - {grade: B, min: 80}\n"
                     "  - {grade: C, min: 60}\n  - {grade: D, min: 0}\n", encoding="utf-8")
    res = runner.invoke(app, ["score", str(SEED), "-a", str(ACTUALS), "-e", str(EXECUTION), "--rules", str(rules)], env=WIDE)
    assert res.exit_code == 0, res.output
    assert " A " in res.output and " B " in res.output


def test_diff_counts_grades_the_base_does_not_have(tmp_path: Path) -> None:
    """It should count each scenario's own grades in the summary (A/B/C/D against 优/良/中/差): the sample's
    totals 99.93, 100, 99.36, 98.07, 99.55 are 5 × A, not a row of zeros under 优 … 差."""
    from selfeval.cli_rules import _whatif_on

    rules = tmp_path / "abcd.yaml"
    rules.write_text("extends: mof-2020\nname: abcd\ngrades:\n  - {grade: A, min: 90}\n  - {grade: B, min: 80}\n"
                     "  - {grade: C, min: 60}\n  - {grade: D, min: 0}\n", encoding="utf-8")
    result = _whatif_on(SEED, ACTUALS, EXECUTION, [load_rules("mof-2020"), load_rules(rules)])
    row = result.summary.filter(result.summary["scenario"] == "abcd").row(0, named=True)
    assert (row["projects_优"], row["projects_A"], row["units_A"]) == (0, 5, 1)
    assert result.grades == ["优", "良", "中", "差", "A", "B", "C", "D"]


def test_diff_lists_monitoring_lines_by_month() -> None:
    """It should list a profile's monitoring lines in calendar order (4月底, 6月底, 8月底, 10月底), not
    alphabetically by the month's name (apr, aug, jun, oct)."""
    from selfeval.rules.loader import rules_from_mapping

    lines = rules_from_mapping({"name": "p", "execution": {"schedule": {"thresholds": {4: 25, 6: 40, 8: 60, 10: 80}}}})
    fields = [f for f, _, _ in rule_differences(load_rules("mof-2020"), lines) if f.startswith("支出进度监控线")]
    assert fields == ["支出进度监控线·4月底", "支出进度监控线·6月底", "支出进度监控线·8月底", "支出进度监控线·10月底"]
