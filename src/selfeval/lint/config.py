"""The lint configuration: pydantic models (extra="forbid") and the YAML loader.

The defaults live once, in ``selfeval/data/lint.yaml``; a user file or a mapping is merged over
them (nested mappings merge, everything else is replaced), then validated. Errors name the file
and the field path, like the rule-file loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from selfeval.errors import SelfevalError, field_errors
from selfeval.rules.loader import deep_merge, read_yaml_mapping
from selfeval.rules.model import LEVEL1_GROUPS

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "data" / "lint.yaml"

Severity = Literal["error", "warning", "info"]
KeyColumn = Literal["level1", "level2", "level3", "target_text", "description"]


class LintConfigError(SelfevalError):
    """A lint configuration is invalid: names the file (or mapping), the field path and the reason."""


class _Strict(BaseModel):
    # NaN and ±inf are never a weight, threshold or setting (a NaN weight once graded blank totals 优)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Check(_Strict):
    enabled: bool
    severity: Severity | None = None  # None: the catalogue's default


class WordsCheck(Check):
    words: list[str] = Field(min_length=1)


class RateOverMax(Check):
    rate_max: float
    exempt_words: list[str]


class SatisfactionLow(Check):
    satisfaction_min: float = Field(ge=0, le=100)
    words: list[str] = Field(min_length=1)


class Tolerance(Check):
    tolerance: float = Field(ge=0)


class Placeholders(Check):
    placeholders: list[str]


class CopiedTables(Check):
    min_similarity: float = Field(gt=0, le=1)
    key: list[KeyColumn] = Field(min_length=1)
    scope: Literal["unit", "all"]
    min_indicators: int = Field(ge=1)


class Checks(_Strict):
    missing_level1: Check
    unknown_level1: Check
    level2_misplaced: Check
    quantitative_name_qualitative_target: WordsCheck
    rate_over_max: RateOverMax
    satisfaction_low: SatisfactionLow
    cost_floor: Check
    cost_over_budget: Tolerance
    placeholder_target: Placeholders
    unparseable_target: Check
    copied_tables: CopiedTables
    plan_order: Check
    plan_total: Tolerance
    plan_missing: Check
    funds_sum: Tolerance
    duplicate_level3: Check
    missing_budget: Check
    missing_level3: Check


class LintConfig(_Strict):
    rules: str
    level2_groups: dict[str, list[str]]
    checks: Checks
    source: str = Field(default="", exclude=True)

    @field_validator("level2_groups")
    @classmethod
    def _groups(cls, groups: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(groups) - set(LEVEL1_GROUPS))
        if unknown:
            msg = f"未知的一级指标 {unknown}；可用：{list(LEVEL1_GROUPS)}"
            raise ValueError(msg)
        return groups


def _read_yaml(path: Path) -> dict[str, Any]:
    return read_yaml_mapping(path, LintConfigError, "审查配置文件")


def config_from_mapping(data: dict[str, Any], *, source: str = "<mapping>") -> LintConfig:
    """Validate `data` merged over the defaults; errors name `source` and the field path."""
    merged = deep_merge(_read_yaml(DEFAULT_CONFIG), data)
    try:
        config = LintConfig.model_validate(merged)
    except ValidationError as exc:
        raise LintConfigError(field_errors(source, exc.errors())) from None
    return config.model_copy(update={"source": source})


def load_lint_config(config: str | Path | dict[str, Any] | LintConfig | None = None) -> LintConfig:
    """The lint configuration: the defaults, a YAML file merged over them, or a mapping of overrides."""
    if isinstance(config, LintConfig):
        return config
    if config is None:
        return config_from_mapping({}, source=str(DEFAULT_CONFIG))
    if isinstance(config, dict):
        return config_from_mapping(config)
    path = Path(config)
    if not path.is_file():
        msg = f"审查配置文件 {path} {'不是文件' if path.exists() else '不存在'}"
        raise LintConfigError(msg)
    return config_from_mapping(_read_yaml(path), source=str(path))
