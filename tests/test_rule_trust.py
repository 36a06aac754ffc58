"""Rules and configuration are trusted only as far as they are checked (issue 10 §3).

A rule file's weights must add up to its total_points; `extends:` reaches only rule files; a
`./scoring_rules/` folder never replaces a built-in rule set unless given with `--rules-dir`;
every run names the rule file it used (name, path, SHA-256).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from selfeval.cli import app
from selfeval.errors import RuleFileError
from selfeval.rules.loader import available_rules, load_rules, rules_from_mapping

ROOT = Path(__file__).resolve().parents[1]
SEED = str(ROOT / "samples" / "seed_targets_2025.txt")
ACT = str(ROOT / "samples" / "actuals_sample.csv")
EXE = str(ROOT / "samples" / "execution_sample.csv")
BUILTIN = ROOT / "scoring_rules" / "mof-2020.yaml"
# A rule set on a 9-point scale that grades 9/100 as 优 — what a stray ./scoring_rules/ once did.
NINE_POINTS = (
    "name: mof-2020\ntitle: 本地伪造\ntotal_points: 9\n"
    "weights: {产出指标: 5, 效益指标: 2, 满意度指标: 1, 预算执行率: 1}\n"
    "grades: [{grade: 优, min: 9}, {grade: 差, min: 0}]\n"
)
runner = CliRunner()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ weights


def test_rule_file_weights_must_add_up(tmp_path: Path) -> None:
    """It should refuse a rule file whose weights add up to 90 of 100, naming the file and the fields."""
    path = _write(tmp_path / "r90.yaml", "extends: mof-2020\nweights: {产出指标: 40}\n")
    with pytest.raises(RuleFileError) as err:
        load_rules(path)
    assert "r90.yaml" in str(err.value) and "weights" in str(err.value) and "total_points" in str(err.value)


def test_rule_file_with_its_own_scale(tmp_path: Path) -> None:
    """It should accept a deliberate 90-point scale that says so in total_points."""
    path = _write(tmp_path / "r90.yaml", "extends: mof-2020\ntotal_points: 90\nweights: {产出指标: 40}\n")
    assert load_rules(path).total_points == 90


def test_in_memory_rule_sets_stay_free() -> None:
    """It should leave rule sets built in memory (what-if scenarios) unconstrained."""
    rules = rules_from_mapping({"name": "x", "weights": {"产出指标": 40, "效益指标": 30, "满意度指标": 10, "预算执行率": 10}})
    assert sum(rules.weights.values()) == 90


def test_sweep_off_scale_is_allowed_and_reported() -> None:
    """It should run a what-if sweep whose weights leave 100 and report that scenario's total."""
    result = runner.invoke(app, ["whatif", SEED, "-a", ACT, "-e", EXE, "--sweep", "weights.产出指标=40,50"])
    assert result.exit_code == 0, result.output
    assert "权重合计 90" in result.stderr and "weights.产出指标=40" in result.stderr


# ------------------------------------------------------------------------------ extends


@pytest.mark.parametrize("target", ["token.txt", "../outside.yaml", "/etc/passwd", "sub/../../outside.yaml", "/tmp/x.yaml"])
def test_extends_reaches_only_rule_files(tmp_path: Path, target: str) -> None:
    """It should refuse `extends:` of a non-rule file or a file outside the rule file's folder, never printing its content."""
    _write(tmp_path / "token.txt", "title: SECRET-TOKEN\n")
    _write(tmp_path / "outside.yaml", "title: SECRET-TOKEN\n")
    path = _write(tmp_path / "rules" / "child.yaml", f"extends: {target}\n")
    with pytest.raises(RuleFileError) as err:
        load_rules(path)
    assert "extends" in str(err.value) and "SECRET-TOKEN" not in str(err.value)


def test_extends_by_name_and_sibling_file(tmp_path: Path) -> None:
    """It should resolve `extends:` by rule-set name and to a sibling .yaml/.yml file."""
    _write(tmp_path / "base.yml", "extends: mof-2020\ntitle: 基础\nsplit: per_level2\n")
    child = _write(tmp_path / "child.yaml", "extends: base.yml\ntitle: 子规则\n")
    by_name = _write(tmp_path / "by-name.yaml", "extends: base\n")
    assert load_rules(child).split == "per_level2" and load_rules(child).title == "子规则"
    assert load_rules(by_name).title == "基础"


def test_empty_mapping_under_extends_is_not_ignored(tmp_path: Path) -> None:
    """It should take `tiers: {}` under extends as written (and refuse it), not keep the parent's tiers."""
    path = _write(tmp_path / "tiers.yaml", "extends: mof-2020\nqualitative:\n  tiers: {}\n")
    with pytest.raises(RuleFileError, match="tiers"):
        load_rules(path)


def test_rules_path_must_be_yaml(tmp_path: Path) -> None:
    """It should refuse a --rules path that is not a .yaml/.yml file."""
    token = _write(tmp_path / "token.txt", "title: SECRET-TOKEN\n")
    with pytest.raises(RuleFileError, match="yaml"):
        load_rules(str(token))


def test_gbk_rule_file_is_read(tmp_path: Path) -> None:
    """It should read a rule file saved as GBK (as Windows editors do) rather than fail with a codec error."""
    path = tmp_path / "gbk.yaml"
    path.write_bytes("extends: mof-2020\ntitle: 省级变体\n".encode("gbk"))
    assert load_rules(path).title == "省级变体"


# ------------------------------------------------------------------------------ which file


def test_local_folder_does_not_replace_builtin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should keep the built-in mof-2020 when ./scoring_rules/mof-2020.yaml exists, and use the local one only with --rules-dir."""
    _write(tmp_path / "scoring_rules" / "mof-2020.yaml", NINE_POINTS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SELFEVAL_RULES_PATH", raising=False)
    assert load_rules("mof-2020").total_points == 100
    assert available_rules()["mof-2020"].resolve() != (tmp_path / "scoring_rules" / "mof-2020.yaml").resolve()
    assert load_rules("mof-2020", rules_dirs=["scoring_rules"]).total_points == 9
    result = runner.invoke(app, ["score", SEED, "-a", ACT, "-e", EXE, "--style", "json"])
    assert json.loads(result.stdout)["rules"]["source"] == str(load_rules("mof-2020").source)
    shadowed = runner.invoke(app, ["rules", "show", "mof-2020", "--rules-dir", "scoring_rules"], env={"COLUMNS": "200"})
    assert "本地伪造" in shadowed.stdout


def test_local_folder_adds_new_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should still find a rule set that only ./scoring_rules/ holds."""
    _write(tmp_path / "scoring_rules" / "province.yaml", "extends: mof-2020\ntitle: 省级\n")
    monkeypatch.chdir(tmp_path)
    assert load_rules("province").title == "省级"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "args",
    [
        ["score", SEED, "-a", ACT, "-e", EXE],
        ["report", SEED, "-a", ACT, "-e", EXE, "--out", "r.xlsx"],
        ["template", SEED, "--out", "t.xlsx"],
        ["whatif", SEED, "-a", ACT, "-e", EXE, "-r", "mof-2020", "-r", "mof-2020"],
    ],
    ids=["score", "report", "template", "whatif"],
)
def test_console_names_the_rule_file(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should print the rule set's name, path and SHA-256 in the console summary of every run."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("规则集 mof-2020"))
    assert str(BUILTIN) in line and _sha(BUILTIN) in line


def test_bulk_names_the_rule_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should print the rule file used by a bulk run."""
    monkeypatch.chdir(tmp_path)
    from selfeval.synth import write_synth

    write_synth(tmp_path / "county", 2, 0)
    result = runner.invoke(app, ["bulk", "county", "--out", "results"])
    assert _sha(BUILTIN) in result.stdout


def test_json_names_the_rule_file() -> None:
    """It should put the rule file (name, path, SHA-256) into `score --style json`."""
    result = runner.invoke(app, ["score", SEED, "-a", ACT, "-e", EXE, "--style", "json"])
    rules = json.loads(result.stdout)["rules"]
    assert rules == {"name": "mof-2020", "source": str(BUILTIN), "sha256": _sha(BUILTIN)}
