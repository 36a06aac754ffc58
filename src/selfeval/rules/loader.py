"""Load scoring rule sets from YAML: by name or path, with `extends:` and precise errors."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from selfeval.errors import RuleFileError
from selfeval.rules.model import RuleSet

DEFAULT_RULES = "mof-2020"
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def rule_dirs() -> list[Path]:
    """Folders searched for `NAME.yaml`, first match wins."""
    dirs: list[Path] = []
    if env := os.environ.get("SELFEVAL_RULES_PATH"):
        dirs.extend(Path(p) for p in env.split(os.pathsep) if p)
    dirs.append(Path.cwd() / "scoring_rules")
    dirs.append(_PACKAGE_ROOT.parents[1] / "scoring_rules")  # a source checkout (editable install)
    dirs.append(_PACKAGE_ROOT / "data" / "scoring_rules")  # bundled with the package
    seen: list[Path] = []
    for d in dirs:
        if d not in seen:
            seen.append(d)
    return seen


def available_rules() -> dict[str, Path]:
    """Every rule set name found on the search path."""
    found: dict[str, Path] = {}
    for d in rule_dirs():
        if d.is_dir():
            for f in sorted(d.glob("*.yaml")):
                found.setdefault(f.stem, f)
    return found


def resolve_rule_file(name_or_path: str | Path) -> Path:
    """The file of a rule set given by name (`mof-2020`) or path."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        if not candidate.is_file():
            msg = f"规则文件 {candidate} 不存在"
            raise RuleFileError(msg)
        return candidate
    name = str(name_or_path)
    if any(sep in name for sep in ("/", "\\", "..")):
        msg = f"规则文件 {name} 不存在"
        raise RuleFileError(msg)
    for d in rule_dirs():
        f = d / f"{name}.yaml"
        if f.is_file():
            return f
    names = ", ".join(available_rules()) or "（无）"
    msg = f"找不到名为 {name_or_path!r} 的规则集；可用：{names}"
    raise RuleFileError(msg)


def read_yaml_mapping(path: Path, error: type[Exception] = RuleFileError, what: str = "规则文件") -> dict[str, Any]:
    """A YAML file's top-level mapping (safe loader); any problem raises `error` naming the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" 第 {mark.line + 1} 行" if mark is not None else ""
        msg = f"{path}{where}：YAML 格式错误：{getattr(exc, 'problem', exc)}"
        raise error(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}：无法读取{what}：{exc}"
        raise error(msg) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        msg = f"{path}：{what}顶层必须是键值映射，读到 {type(data).__name__}"
        raise error(msg)
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` over `base`: nested mappings merge, everything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _raw_rules(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[Path]]:
    """The merged raw mapping of `path` and every file it extends (parents first)."""
    path = path.resolve()
    if path in chain:
        cycle = " → ".join(str(p) for p in (*chain, path))
        msg = f"{path}：extends 形成循环：{cycle}"
        raise RuleFileError(msg)
    data = read_yaml_mapping(path)
    parent = data.pop("extends", None)
    files = [path]
    if parent is not None:
        if not isinstance(parent, str):
            msg = f"{path}：字段 extends 应为规则集名称或文件路径"
            raise RuleFileError(msg)
        parent_path = (path.parent / parent) if parent.endswith((".yaml", ".yml")) else resolve_rule_file(parent)
        base, parent_files = _raw_rules(parent_path, (*chain, path))
        base.pop("name", None)
        data = deep_merge(base, data)
        files = parent_files + files
    return data, files


def rules_from_mapping(data: dict[str, Any], *, source: str = "<mapping>") -> RuleSet:
    """Validate a raw mapping into a RuleSet; errors name the source and field path."""
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "（顶层）"
            lines.append(f"{source}：字段 {loc}：{err['msg']}")
        raise RuleFileError("\n".join(lines)) from None


def load_rules(name_or_path: str | Path | RuleSet = DEFAULT_RULES) -> RuleSet:
    """Load and validate a rule set by name (searched in `scoring_rules/`) or by file path."""
    if isinstance(name_or_path, RuleSet):
        return name_or_path
    path = resolve_rule_file(name_or_path)
    data, files = _raw_rules(path)
    data.setdefault("name", path.stem)
    rules = rules_from_mapping(data, source=str(path))
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.read_bytes())
    return rules.model_copy(update={"source": str(path), "sha256": digest.hexdigest()})


def describe_rules(rules: RuleSet) -> list[tuple[str, str]]:
    """(项目, 内容) rows describing a rule set, for `rules show` and the 计算说明 sheet."""
    rows = [
        ("规则集", rules.name),
        ("名称", rules.title or rules.name),
        ("文件", rules.source or "（内存）"),
        ("SHA-256", rules.sha256 or "—"),
        ("满分", f"{rules.total_points:g}"),
    ]
    rows += [(f"权重·{k}", f"{v:g}") for k, v in rules.weights.items()]
    rows += [("一级指标别名", "；".join(f"{k}→{v}" for k, v in rules.aliases.items()) or "—")]
    rows += [("缺失一级指标权重转移", "；".join(f"{k}→{v}" for k, v in rules.missing_transfer.items()) or "—")]
    rows += [("权重分配", {"per_indicator": "按指标平均（per_indicator）", "per_level2": "先按二级指标平均再按指标平均（per_level2）"}[rules.split])]
    rows += [(f"计分曲线·{op}", c.describe()) for op, c in rules.curves.items()]
    rows += [("超额完成阈值", f"r ≥ {rules.overshoot.threshold:g}")]
    rows += [("超额扣分曲线", rules.overshoot.deduct.describe() if rules.overshoot.deduct else "不扣分")]
    rows += [("逾期每月扣减比例", f"{rules.deadline.late_penalty_per_month:g}")]
    rows += [
        (f"定性档次·{name}", f"区间 {t.band[0]:g}–{t.band[1]:g}，默认 {t.default:g}；关键词：{'、'.join(t.words)}")
        for name, t in rules.qualitative.tiers.items()
    ]
    rows += [("执行率曲线", rules.execution.curve.describe())]
    rows += [("支出进度容差（百分点）", f"{rules.execution.schedule.tolerance:g}")]
    rows += [("支出进度每滞后节点扣分", f"{rules.execution.schedule.points_per_checkpoint:g}")]
    rows += [("等级", "；".join(f"{g.grade} ≥ {g.min:g}" for g in rules.grades))]
    rows += [("部门整体得分", {"budget": "按预算数加权平均", "mean": "简单平均"}[rules.department])]
    rows += [("舍入", f"四舍五入（half up）保留 {rules.rounding.decimals} 位小数")]
    return rows
