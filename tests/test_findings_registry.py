"""The findings registry: every kind declared once, rendered by one renderer, lint registered into it."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

from selfeval.findings import CATALOGUE, QUOTE_LIMIT, SCORING_KINDS, placeholders, render, template_pattern
from selfeval.rules.loader import load_rules
from test_reference import MOF, actual_rows, declare, execution_rows

VARIANTS = [(kind.code, variant, template) for kind in CATALOGUE.values() for variant, template in kind.variants().items()]


@pytest.mark.parametrize(("code", "variant", "template"), VARIANTS, ids=[f"{c}-{v}" for c, v, _ in VARIANTS])
def test_every_kind_renders_its_template(code: str, variant: str, template: str) -> None:
    """It should render each template with its fields in place, and the message should match the template."""
    names = placeholders(template)
    values = {name: f"«{name}-值»" for name in names}
    message = pl.select(render(template, {n: pl.lit(v) for n, v in values.items()})).item()
    assert template_pattern(template).match(message), (template, message)
    assert all(v in message for v in values.values())
    assert "{" not in message.replace("{", "", template.count("{{"))  # no placeholder left unfilled


def test_catalogue_holds_scoring_and_lint_kinds_with_valid_severities() -> None:
    """It should hold the scoring kinds and the lint kinds in one catalogue, each with a known severity."""
    codes = set(CATALOGUE)
    assert {k.code for k in SCORING_KINDS} <= codes
    assert any(code.startswith("LINT_") for code in codes)
    assert {kind.severity for kind in CATALOGUE.values()} <= {"error", "warning", "info"}


@pytest.mark.parametrize("kind", SCORING_KINDS, ids=lambda k: k.code)
def test_every_check_supplies_its_template_fields(kind) -> None:
    """It should give every check of a scoring kind the fields its template names, and a located column."""
    assert kind.checks, f"{kind.code} has no check"
    for check in kind.checks:
        fields = check.fields(MOF)
        assert set(placeholders(kind.template_of(check.variant))) <= set(fields), (kind.code, check.variant)
        assert check.column is not None


def test_findings_of_a_run_match_their_templates() -> None:
    """It should produce findings whose messages match a template of their kind (rendered, not hand-written)."""
    from selfeval.api import score

    cases = [("≥90%", "88%"), ("≥20次", "36次"), ("≥95%", None), ("≥95%", "3次"), ("12/5", "95%"), ("明显改善", "无明显变化")]
    decl = declare([{"target_text": t} for t, _ in cases])
    actuals = actual_rows([{"seq": i, "level3": f"指标{i}", "actual_text": a} for i, (_, a) in enumerate(cases, start=1)]
                          + [{"seq": 99, "level3": "未申报", "actual_text": "1次"}])
    result = score(decl, actuals, execution_rows([{"project_code": "P1", "year_budget": 20000.0, "executed": None}]), MOF)
    assert result.findings.height >= 8
    for row in result.findings.iter_rows(named=True):
        kind = CATALOGUE[row["code"]]
        assert any(template_pattern(t).match(row["message"]) for t in kind.variants().values()), row


def test_detect_lists_only_the_checks_that_fired_and_keeps_key_types() -> None:
    """It should give one finding per flagged row of the checks that fired, the same rows with or
    without extra keys, and, where nothing fired, an empty frame whose keys keep their types."""
    from selfeval.findings import detect
    from selfeval.pipeline import checked_inputs
    from selfeval.scenarios import Params
    from selfeval.scoring import indicator_detail, score

    decl = declare([{"target_text": "≥90%"}, {"target_text": "≥20次"}, {"target_text": "≥95%"}])
    actuals = actual_rows([{"seq": 1, "level3": "指标1", "actual_text": "88%"}, {"seq": 2, "level3": "指标2", "actual_text": None},
                           {"seq": 3, "level3": "指标3", "actual_text": "96%"}])
    inputs = checked_inputs(decl, actuals, execution_rows(), MOF)
    detail = indicator_detail(inputs.checked, score(inputs.checked, MOF, Params.of(MOF)))
    rows = detail.with_columns(pl.lit(7, dtype=pl.Int16).alias("_k"))
    keyed = detect(rows.lazy(), "indicator", MOF, keys=["_k"]).collect()
    plain = detect(rows.lazy(), "indicator", MOF).collect()
    assert keyed.drop("_k").equals(plain) and keyed.get_column("_k").to_list() == [7] * plain.height
    assert sorted(plain.get_column("seq")) == [1, 2]  # 88% < 90%, and the missing actual; 96% meets its target
    nothing = detect(rows.filter(pl.col("seq") == 3).lazy(), "indicator", MOF, keys=["_k"]).collect()
    assert nothing.is_empty() and nothing.schema["_k"] == pl.Int16 and nothing.schema["seq"] == pl.Int32
    categorical = rows.with_columns(pl.col("unit_code").cast(pl.Categorical))
    for part in (categorical, categorical.filter(pl.col("seq") == 3)):  # found rows, and none: the same types
        assert detect(part.lazy(), "indicator", MOF).collect().schema["unit_code"] == pl.Categorical


def test_user_text_is_quoted_at_most_the_limit() -> None:
    """It should quote at most QUOTE_LIMIT characters of a huge user text in a finding."""
    from selfeval.api import score

    huge = "9" * 1_000_000 + "次"
    result = score(declare([{"target_text": "≥95%"}]), actual_rows([{"seq": 1, "level3": "指标1", "actual_text": huge}]),
                   execution_rows(), load_rules())
    assert result.findings.height == 1
    assert result.findings["message"].str.len_chars().max() < QUOTE_LIMIT + 200
    assert result.findings["value"].str.len_chars().max() <= QUOTE_LIMIT + 1


def test_no_import_cycle_between_findings_and_lint() -> None:
    """It should import the findings module without the lint package, and either module first."""
    code = ("import sys, selfeval.findings as f; assert 'selfeval.lint' not in sys.modules;"
            " assert 'LINT_MISSING_LEVEL1' in f.CATALOGUE; import selfeval.lint.catalogue")
    subprocess.run([sys.executable, "-c", code], check=True)
    subprocess.run([sys.executable, "-c", "import selfeval.lint.catalogue, selfeval.findings"], check=True)
