"""Target-quality lint (issue 7): every check triggered and not triggered, seed, config, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from selfeval import schema
from selfeval.declaration import Declaration
from selfeval.findings import CATALOGUE, concat_findings
from selfeval.lint import CHECKS, LINT_CATALOGUE, LintConfigError, lint, load_lint_config

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "samples" / "seed_targets_2025.txt"
SEED_COPIES = {"13022925P00JXC419591N", "13022925P00JXC419896L"}

# ------------------------------------------------------------------ a clean hand-made declaration

CLEAN_P1 = [
    ("产出指标", "数量指标", "培训人次", "≥200人次"),
    ("产出指标", "质量指标", "培训合格率", "≥95%"),
    ("产出指标", "时效指标", "培训完成时间", "2025年12月"),
    ("产出指标", "成本指标", "培训成本", "≤80000元"),
    ("效益指标", "社会效益指标", "带动就业人数", "≥50人"),
    ("效益指标", "可持续影响指标", "长效机制建立", "有效提升"),
    ("满意度指标", "服务对象满意度指标", "参训人员满意度", "≥90%"),
]
CLEAN_P2 = [
    ("产出指标", "数量指标", "清理河渠长度", "≥12公里"),
    ("产出指标", "质量指标", "河渠整治达标率", "≥90%"),
    ("产出指标", "时效指标", "整治完成时间", "2025年10月"),
    ("产出指标", "成本指标", "河渠清理成本", "≤20000元"),
    ("效益指标", "生态效益指标", "水体环境改善", "明显改善"),
    ("满意度指标", "服务对象满意度指标", "沿岸群众满意度", "≥85%"),
]


def _project(code: str, amount: float, **over: Any) -> dict[str, Any]:
    row = {"unit_code": "U1", "project_code": code, "project_name": f"项目{code}", "budget": amount,
           "fiscal_funds": amount, "other_funds": 0.0, "plan_mar": 25.0, "plan_jun": 50.0, "plan_oct": 75.0,
           "plan_dec": 100.0}
    return row | over


def _indicators(code: str, rows: list[tuple[str, str, str, str]]) -> list[dict[str, Any]]:
    return [
        {"unit_code": "U1", "project_code": code, "indicator_id": f"{code}-{i:02d}", "seq": i,
         "level1": l1, "level2": l2, "level3": l3, "target_text": t}
        for i, (l1, l2, l3, t) in enumerate(rows, start=1)
    ]


def declaration(
    *, p1: dict[int, dict[str, Any]] | None = None, drop: tuple[int, ...] = (), project: dict[str, Any] | None = None,
    copy_p1: bool = False,
) -> Declaration:
    """The clean declaration, with P1's indicator rows changed (by seq) or dropped and P1's fields changed."""
    rows = [r | (p1 or {}).get(r["seq"], {}) for r in _indicators("P1", CLEAN_P1) if r["seq"] not in drop]
    rows += _indicators("P2", CLEAN_P2) if not copy_p1 else [r | {"project_code": "P2"} for r in rows]
    projects = [_project("P1", 100000.0, **(project or {})), _project("P2", 20000.0)]
    return Declaration(
        units=schema.conform(pl.DataFrame({"unit_code": ["U1"], "unit_name": ["测试单位"], "year": [2025]}), schema.UNITS),
        projects=schema.conform(pl.DataFrame(projects), schema.PROJECTS),
        indicators=schema.conform(pl.DataFrame(rows, infer_schema_length=None), schema.INDICATORS),
    )


# ------------------------------------------------------------------ cases as data
# (id, code, declaration changes, expected location (project, seq) or None when it must not fire)

CASES: list[tuple[str, str, dict[str, Any], tuple[str, int | None] | None]] = [
    ("no-satisfaction", "LINT_MISSING_LEVEL1", {"drop": (7,)}, ("P1", None)),
    ("satisfaction-alias", "LINT_MISSING_LEVEL1", {"p1": {7: {"level1": "服务对象满意度指标"}}}, None),
    ("cost-level1-counts-as-output", "LINT_MISSING_LEVEL1",
     {"p1": {i: {"level1": "成本指标", "level2": "成本指标"} for i in (1, 2, 3, 4)}}, None),
    ("unknown-level1", "LINT_UNKNOWN_LEVEL1", {"p1": {1: {"level1": "产品指标"}}}, ("P1", 1)),
    ("known-level1", "LINT_UNKNOWN_LEVEL1", {"p1": {1: {"level1": " 产出指标 "}}}, None),
    ("level2-misplaced", "LINT_LEVEL2_MISPLACED", {"p1": {5: {"level2": "数量指标"}}}, ("P1", 5)),
    ("level2-without-suffix", "LINT_LEVEL2_MISPLACED", {"p1": {5: {"level2": "社会效益"}}}, None),
    ("quant-name-qualitative", "LINT_QUANT_NAME_QUALITATIVE", {"p1": {2: {"target_text": "有效提升"}}}, ("P1", 2)),
    ("qual-name-qualitative", "LINT_QUANT_NAME_QUALITATIVE", {"p1": {6: {"target_text": "明显提升"}}}, None),
    ("rate-120", "LINT_RATE_OVER_MAX", {"p1": {2: {"target_text": "≥120%"}}}, ("P1", 2)),
    ("rate-100", "LINT_RATE_OVER_MAX", {"p1": {2: {"target_text": "≥100%"}}}, None),
    ("growth-rate-120", "LINT_RATE_OVER_MAX", {"p1": {2: {"level3": "收入增长率", "target_text": "≥120%"}}}, None),
    ("satisfaction-75", "LINT_SATISFACTION_LOW", {"p1": {7: {"target_text": "≥75%"}}}, ("P1", 7)),
    ("satisfaction-80", "LINT_SATISFACTION_LOW", {"p1": {7: {"target_text": "≥80%"}}}, None),
    ("cost-floor-money", "LINT_COST_FLOOR", {"p1": {4: {"target_text": "≥80000元"}}}, ("P1", 4)),
    ("cost-floor-percent", "LINT_COST_FLOOR", {"p1": {4: {"target_text": "≥95%"}}}, None),
    ("cost-over-budget", "LINT_COST_OVER_BUDGET", {"p1": {4: {"target_text": "≤15万元"}}}, ("P1", 4)),
    ("cost-equals-budget", "LINT_COST_OVER_BUDGET", {"p1": {4: {"target_text": "≤10万元"}}}, None),
    ("placeholder-slash", "LINT_PLACEHOLDER_TARGET", {"p1": {1: {"target_text": "/"}}}, ("P1", 1)),
    ("placeholder-star", "LINT_PLACEHOLDER_TARGET", {"p1": {1: {"target_text": "*"}}}, ("P1", 1)),
    ("placeholder-dash", "LINT_PLACEHOLDER_TARGET", {"p1": {1: {"target_text": "—"}}}, ("P1", 1)),
    ("placeholder-none", "LINT_PLACEHOLDER_TARGET", {"p1": {1: {"target_text": "无"}}}, ("P1", 1)),
    ("placeholder-empty", "LINT_PLACEHOLDER_TARGET", {"p1": {1: {"target_text": " "}}}, ("P1", 1)),
    ("placeholder-null", "LINT_PLACEHOLDER_TARGET", {"p1": {1: {"target_text": None}}}, ("P1", 1)),
    ("real-target", "LINT_PLACEHOLDER_TARGET", {"p1": {1: {"target_text": "≥1项"}}}, None),
    ("unparseable", "LINT_UNPARSEABLE_TARGET", {"p1": {2: {"target_text": "合格率≥90%"}}}, ("P1", 2)),
    ("placeholder-not-unparseable", "LINT_UNPARSEABLE_TARGET", {"p1": {2: {"target_text": "/"}}}, None),
    ("copied-table", "LINT_COPIED_TABLE", {"copy_p1": True}, ("P1", None)),
    ("distinct-tables", "LINT_COPIED_TABLE", {}, None),
    ("plan-decreasing", "LINT_PLAN_DECREASING", {"project": {"plan_jun": 20.0}}, ("P1", None)),
    ("plan-gap-ok", "LINT_PLAN_DECREASING", {"project": {"plan_jun": None}}, None),
    ("plan-dec-90", "LINT_PLAN_NOT_100", {"project": {"plan_dec": 90.0}}, ("P1", None)),
    ("plan-dec-missing", "LINT_PLAN_NOT_100", {"project": {"plan_dec": None}}, ("P1", None)),
    ("plan-dec-100", "LINT_PLAN_NOT_100", {"project": {"plan_dec": 100.0}}, None),
    ("funds-mismatch", "LINT_FUNDS_SUM", {"project": {"fiscal_funds": 90000.0}}, ("P1", None)),
    ("funds-split", "LINT_FUNDS_SUM", {"project": {"fiscal_funds": 60000.0, "other_funds": 40000.0}}, None),
    ("funds-within-tolerance", "LINT_FUNDS_SUM", {"project": {"fiscal_funds": 99999.996}}, None),
    ("duplicate-level3", "LINT_DUPLICATE_LEVEL3", {"p1": {5: {"level3": "培训人次"}}}, ("P1", 5)),
    ("distinct-level3", "LINT_DUPLICATE_LEVEL3", {}, None),
    ("two-unnamed-not-duplicates", "LINT_DUPLICATE_LEVEL3", {"p1": {1: {"level3": None}, 2: {"level3": None}}}, None),
    ("missing-budget", "LINT_MISSING_BUDGET", {"project": {"budget": None}}, ("P1", None)),
    ("budget-present", "LINT_MISSING_BUDGET", {}, None),
    ("missing-level3", "LINT_MISSING_LEVEL3", {"p1": {2: {"level3": None}}}, ("P1", 2)),
    ("blank-level3", "LINT_MISSING_LEVEL3", {"p1": {2: {"level3": " "}}}, ("P1", 2)),
    ("level3-present", "LINT_MISSING_LEVEL3", {}, None),
]


@pytest.mark.parametrize(("code", "changes", "where"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_check_cases(code: str, changes: dict[str, Any], where: tuple[str, int | None] | None) -> None:
    """It should report the code at the expected location when triggered, and not otherwise."""
    found = lint(declaration(**changes)).filter(pl.col("code") == code)
    if where is None:
        assert found.is_empty(), found.to_dicts()
    else:
        project, seq = where
        hits = found.filter(pl.col("project_code") == project)
        assert hits.height >= 1, found.to_dicts()
        if seq is not None:
            assert seq in hits["seq"].to_list()
        assert hits["unit_code"].to_list() == ["U1"] * hits.height


def test_every_check_has_cases() -> None:
    """It should have a triggering and a non-triggering case for every registered check."""
    codes = {spec.code for spec in CHECKS.values()}
    assert codes == set(LINT_CATALOGUE)
    fired = {c[1] for c in CASES if c[3] is not None}
    quiet = {c[1] for c in CASES if c[3] is None}
    assert codes <= fired
    assert codes <= quiet


def test_clean_declaration_reports_nothing_above_info() -> None:
    """It should report nothing above info on a clean declaration."""
    findings = lint(declaration())
    assert findings.filter(pl.col("severity") != "info").is_empty(), findings.to_dicts()


def test_findings_schema_and_locations() -> None:
    """It should return one frame of the FINDINGS schema with a column and a Chinese message per finding."""
    findings = lint(declaration(p1={2: {"target_text": "/"}}, project={"plan_dec": 90.0}))
    assert findings.schema == schema.FINDINGS
    assert findings["message"].null_count() == 0
    assert findings["column"].null_count() == 0
    assert dict(findings.select("code", "column").iter_rows()).items() >= {
        ("LINT_PLACEHOLDER_TARGET", "target_text"), ("LINT_PLAN_NOT_100", "plan_dec"),
    }


def test_missing_level1_names_the_group() -> None:
    """It should name the missing level-1 group as the finding's value."""
    findings = lint(declaration(drop=(5, 6))).filter(pl.col("code") == "LINT_MISSING_LEVEL1")
    assert findings.select("project_code", "value").rows() == [("P1", "效益指标")]


def test_lint_catalogue_is_registered() -> None:
    """It should merge the lint kinds into the findings catalogue so concat_findings fills severities."""
    assert set(LINT_CATALOGUE) <= set(CATALOGUE)
    frame = pl.DataFrame({"code": ["LINT_DUPLICATE_LEVEL3"], "unit_code": ["U1"], "project_code": ["P1"]})
    assert concat_findings([frame])["severity"].to_list() == ["info"]


# ------------------------------------------------------------------ the seed


@pytest.fixture(scope="module")
def seed() -> Declaration:
    from selfeval.ingest import read_declared

    return read_declared(SEED)


def test_seed_copied_tables(seed: Declaration) -> None:
    """It should report projects 2 and 5 of the seed as copies of each other, as warnings."""
    copied = lint(seed).filter(pl.col("code") == "LINT_COPIED_TABLE")
    assert set(copied["project_code"]) == SEED_COPIES
    assert set(copied["severity"]) == {"warning"}
    for project, other in copied.select("project_code", "value").iter_rows():
        assert other == (SEED_COPIES - {project}).pop()


def test_seed_has_no_errors_and_known_duplicates(seed: Declaration) -> None:
    """It should find no error on the seed and the two same-named level-3 pairs it is known for."""
    findings = lint(seed)
    assert findings.filter(pl.col("severity") == "error").is_empty()
    dups = findings.filter(pl.col("code") == "LINT_DUPLICATE_LEVEL3").select("project_code", "seq").rows()
    assert ("13022925P00JXC419898U", 7) in dups
    assert ("13022925P00JXC419899F", 6) in dups


# ------------------------------------------------------------------ configuration


def test_config_disables_a_check(seed: Declaration) -> None:
    """It should skip a check switched off by a mapping of overrides."""
    findings = lint(seed, config={"checks": {"copied_tables": {"enabled": False}}})
    assert "LINT_COPIED_TABLE" not in set(findings["code"])
    assert "LINT_DUPLICATE_LEVEL3" in set(findings["code"])


def test_config_thresholds_and_severity(tmp_path: Path) -> None:
    """It should apply thresholds and severity overrides from a YAML file merged over the defaults."""
    cfg = tmp_path / "lint.yaml"
    cfg.write_text(
        "checks:\n  satisfaction_low:\n    satisfaction_min: 95\n    severity: error\n", encoding="utf-8"
    )
    findings = lint(declaration(), config=cfg).filter(pl.col("code") == "LINT_SATISFACTION_LOW")
    assert findings.select("project_code", "seq", "severity").rows() == [("P1", 7, "error"), ("P2", 6, "error")]


def test_config_copied_tables_similarity(seed: Declaration) -> None:
    """It should compare by the configured key and similarity, across units with scope all."""
    strict = lint(seed, config={"checks": {"copied_tables": {"key": ["level1", "level2", "level3", "target_text"]}}})
    assert "LINT_COPIED_TABLE" not in set(strict["code"])  # 7 of 9 rows equal: 78% < 80%
    loose = lint(seed, config={"checks": {"copied_tables": {"min_similarity": 0.6, "scope": "all"}}})
    assert set(loose.filter(pl.col("code") == "LINT_COPIED_TABLE")["project_code"]) == SEED_COPIES | {
        "13022925P00JXC419898U"
    }


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("checks:\n  satisfaction_low:\n    satisfaction_min: abc\n", "checks.satisfaction_low.satisfaction_min"),
        ("checks:\n  no_such_check:\n    enabled: true\n", "checks.no_such_check"),
        ("checks:\n  copied_tables:\n    scope: county\n", "checks.copied_tables.scope"),
        ("level2_groups:\n  成果指标: [数量指标]\n", "level2_groups"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    """It should reject an invalid config file naming the file and the field."""
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(LintConfigError) as info:
        load_lint_config(cfg)
    assert str(cfg) in str(info.value)
    assert field in str(info.value)


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    """It should reject malformed YAML and a missing file with the file named."""
    cfg = tmp_path / "broken.yaml"
    cfg.write_text("checks: [\n", encoding="utf-8")
    with pytest.raises(LintConfigError, match="broken.yaml"):
        load_lint_config(cfg)
    with pytest.raises(LintConfigError, match="nope.yaml"):
        load_lint_config(tmp_path / "nope.yaml")


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    """It should refuse Python object tags in a config file."""
    cfg = tmp_path / "evil.yaml"
    cfg.write_text("rules: !!python/object/apply:os.getcwd []\n", encoding="utf-8")
    with pytest.raises(LintConfigError):
        load_lint_config(cfg)


# ------------------------------------------------------------------ CLI


@pytest.fixture
def hostile_folder(tmp_path: Path) -> Path:
    """Canonical tables whose P1 has a formula-like, unparseable target."""
    from selfeval.ingest import write_declared

    folder = tmp_path / "declared"
    write_declared(declaration(p1={2: {"target_text": "=SUM(A1:A9)"}}), folder, "parquet")
    return folder


def _cli(*args: str) -> Any:
    from selfeval.cli import app

    return CliRunner().invoke(app, ["lint", *args])


def test_cli_table_on_seed() -> None:
    """It should print the table and counts and exit 0 when there is no error finding."""
    result = _cli(str(SEED))
    assert result.exit_code == 0, result.output
    assert "严重程度" in result.output
    assert "错误 0 项，警告 2 项，提示 6 项" in result.output
    for header in ("严重程度", "代码", "问题", "项目", "序号", "说明"):
        assert header in result.output


def test_cli_json_and_exit_1(hostile_folder: Path) -> None:
    """It should print the findings as JSON and exit 1 when an error finding exists."""
    result = _cli(str(hostile_folder), "--format", "json")
    assert result.exit_code == 1, result.output
    rows = json.loads(result.stdout)
    assert {"code": "LINT_UNPARSEABLE_TARGET", "project_code": "P1", "seq": 2}.items() <= next(
        r for r in rows if r["code"] == "LINT_UNPARSEABLE_TARGET"
    ).items()


def test_cli_xlsx_keeps_text_as_text(hostile_folder: Path, tmp_path: Path) -> None:
    """It should write a filterable table where formula-like values stay text."""
    import openpyxl

    out = tmp_path / "out" / "lint.xlsx"
    result = _cli(str(hostile_folder), "--format", "xlsx", "--out", str(out))
    assert result.exit_code == 1, result.output
    wb = openpyxl.load_workbook(out)
    ws = wb["问题清单"]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["严重程度", "代码", "问题"]
    assert "问题清单" in ws.tables
    cells = [c for row in ws.iter_rows(min_row=2) for c in row if c.value == "=SUM(A1:A9)"]
    assert cells and all(c.data_type == "s" for c in cells)
    assert not list(out.parent.glob(".*.tmp"))


def test_cli_bad_input_exit_2(tmp_path: Path) -> None:
    """It should exit 2 on a missing input file, a bad config, or xlsx without --out."""
    assert _cli(str(tmp_path / "missing.txt")).exit_code == 2
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("checks:\n  funds_sum:\n    tolerance: -1\n", encoding="utf-8")
    result = _cli(str(SEED), "--config", str(cfg))
    assert result.exit_code == 2
    assert "checks.funds_sum.tolerance" in result.output
    assert _cli(str(SEED), "--format", "xlsx").exit_code == 2


def test_package_exports_the_lint_function() -> None:
    """It should expose `selfeval.lint` as the function, not the subpackage."""
    import selfeval

    assert callable(selfeval.lint)
