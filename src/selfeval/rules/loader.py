"""Load scoring rule sets from YAML: by name or path, with `extends:` and precise errors."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from selfeval.checkpoints import checkpoint_of
from selfeval.errors import RuleFileError, field_errors
from selfeval.rules.model import RuleSet, inline_sources

DEFAULT_RULES = "mof-2020"
RULE_SUFFIXES = (".yaml", ".yml")
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def builtin_rule_dirs() -> list[Path]:
    """The folders of the rule sets that ship with selfeval (a source checkout, the package data)."""
    return [_PACKAGE_ROOT.parents[1] / "scoring_rules", _PACKAGE_ROOT / "data" / "scoring_rules"]


def rule_dirs(rules_dirs: Sequence[str | Path] = ()) -> list[Path]:
    """Folders searched for `NAME.yaml`, first match wins.

    Order: the folders given (`--rules-dir`), then `SELFEVAL_RULES_PATH`, then the built-in rule
    sets, then `./scoring_rules`. A local folder therefore shadows a built-in name only when it is
    given explicitly; `./scoring_rules` can add names, never replace one.
    """
    dirs: list[Path] = [Path(d) for d in rules_dirs]
    for d in dirs:
        if not d.is_dir():
            msg = f"规则文件夹 {d} {'不是文件夹' if d.exists() else '不存在'}"
            raise RuleFileError(msg)
    if env := os.environ.get("SELFEVAL_RULES_PATH"):
        dirs.extend(Path(p) for p in env.split(os.pathsep) if p)
    dirs.extend(builtin_rule_dirs())
    dirs.append(Path.cwd() / "scoring_rules")
    seen: list[Path] = []
    for d in dirs:
        if d not in seen:
            seen.append(d)
    return seen


def available_rules(rules_dirs: Sequence[str | Path] = ()) -> dict[str, Path]:
    """Every rule set name found on the search path (the first folder holding a name wins)."""
    found: dict[str, Path] = {}
    for d in rule_dirs(rules_dirs):
        if d.is_dir():
            for f in sorted(p for p in d.iterdir() if p.suffix in RULE_SUFFIXES and p.is_file()):
                found.setdefault(f.stem, f)
    return found


def _named_rule_file(name: str, folders: Sequence[Path]) -> Path | None:
    for d in folders:
        for suffix in RULE_SUFFIXES:
            f = d / f"{name}{suffix}"
            if f.is_file():
                return f
    return None


def resolve_rule_file(name_or_path: str | Path, rules_dirs: Sequence[str | Path] = ()) -> Path:
    """The file of a rule set given by name (`mof-2020`, searched in `rule_dirs`) or by a path to a
    `.yaml`/`.yml` file (a path the user gave; anything else is refused)."""
    text = str(name_or_path)
    candidate = Path(name_or_path)
    if isinstance(name_or_path, Path) or candidate.suffix or any(sep in text for sep in ("/", "\\")):
        if candidate.suffix.lower() not in RULE_SUFFIXES:
            msg = f"规则文件 {candidate} 不是 .yaml 或 .yml 文件"
            raise RuleFileError(msg)
        if not candidate.is_file():
            msg = f"规则文件 {candidate} 不存在" if not candidate.exists() else f"规则文件 {candidate} 不是文件"
            raise RuleFileError(msg)
        return candidate
    if not text.strip() or ".." in text:
        msg = f"规则集名称 {text!r} 无效"
        raise RuleFileError(msg)
    found = _named_rule_file(text, rule_dirs(rules_dirs))
    if found is not None:
        return found
    names = ", ".join(available_rules(rules_dirs)) or "（无）"
    msg = f"找不到名为 {text!r} 的规则集；可用：{names}"
    raise RuleFileError(msg)


def _decoded(data: bytes) -> str:
    """A YAML file's text: UTF-8 (with or without BOM), else GB18030 (a file saved as GBK)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


# libyaml's safe loader when PyYAML was built with it (≈10× faster; same documents, same errors).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _safe_load(text: str) -> Any:
    """One YAML document read by the safe loader (libyaml's when available): what `yaml.safe_load` does."""
    loader = SAFE_LOADER(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_yaml_mapping(path: Path, error: type[Exception] = RuleFileError, what: str = "规则文件") -> dict[str, Any]:
    """A YAML file's top-level mapping (safe loader); any problem raises `error` naming the file."""
    try:
        data = _safe_load(_decoded(path.read_bytes()))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" 第 {mark.line + 1} 行" if mark is not None else ""
        msg = f"{path}{where}：YAML 格式错误：{getattr(exc, 'problem', None) or '无法解析'}"
        raise error(msg) from None
    except UnicodeDecodeError:
        msg = f"{path}：无法读取{what}：不是 UTF-8 或 GBK 编码的文本"
        raise error(msg) from None
    except OSError as exc:
        msg = f"{path}：无法读取{what}：{exc.strerror or exc}"
        raise error(msg) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        msg = f"{path}：{what}顶层必须是键值映射，读到 {type(data).__name__}"
        raise error(msg)
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` over `base`: nested mappings merge, everything else is replaced — an empty
    mapping too (`tiers: {}` means no tiers, not "keep the parent's")."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and value and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _checkpoint_names(data: dict[str, Any]) -> dict[str, Any]:
    """One file's `execution.schedule.thresholds` keyed by checkpoint name (`6月底: 50` → `jun: 50`),
    so that a profile's line replaces its parent's however either spells the month. Keys that do not
    name a month, or a month written twice in this file, are left as written for validation to report."""
    execution = data.get("execution")
    schedule = execution.get("schedule") if isinstance(execution, dict) else None
    thresholds = schedule.get("thresholds") if isinstance(schedule, dict) else None
    if not isinstance(thresholds, dict):
        return data
    named: dict[str, Any] = {}
    for key, value in thresholds.items():
        try:
            month = checkpoint_of(key)
        except ValueError:
            return data
        if month in named:
            return data
        named[month] = value
    return {**data, "execution": {**execution, "schedule": {**schedule, "thresholds": named}}}


def _parent_file(path: Path, parent: str, rules_dirs: Sequence[str | Path]) -> Path:
    """The file `extends: parent` of rule file `path` names: a rule set name (looked up beside `path`,
    then in `rule_dirs`) or a `.yaml`/`.yml` path relative to `path`'s folder and inside it."""
    text = parent.strip()
    if text.lower().endswith(RULE_SUFFIXES) or any(sep in text for sep in ("/", "\\")):
        target = (path.parent / text).resolve()
        if target.suffix.lower() not in RULE_SUFFIXES or not target.is_relative_to(path.parent.resolve()):
            msg = f"{path}：字段 extends：{parent!r} 不是本文件夹中的 .yaml/.yml 规则文件；请写规则集名称（如 mof-2020）或同一文件夹中的规则文件名"
            raise RuleFileError(msg)
        if not target.is_file():
            msg = f"{path}：字段 extends：规则文件 {target} 不存在"
            raise RuleFileError(msg)
        return target
    if not text or ".." in text:
        msg = f"{path}：字段 extends：规则集名称 {parent!r} 无效"
        raise RuleFileError(msg)
    found = _named_rule_file(text, [path.parent, *rule_dirs(rules_dirs)])
    if found is None:
        names = ", ".join(available_rules(rules_dirs)) or "（无）"
        msg = f"{path}：字段 extends：找不到名为 {parent!r} 的规则集；可用：{names}"
        raise RuleFileError(msg)
    return found


def _raw_rules(path: Path, chain: tuple[Path, ...] = (), rules_dirs: Sequence[str | Path] = ()) -> tuple[dict[str, Any], list[Path]]:
    """The merged raw mapping of `path` and every file it extends (parents first)."""
    path = path.resolve()
    if path in chain:
        cycle = " → ".join(str(p) for p in (*chain, path))
        msg = f"{path}：extends 形成循环：{cycle}"
        raise RuleFileError(msg)
    # each file's own `source:` notes become its `sources` before the merge, so they replace the parent's
    data = _checkpoint_names(dict(inline_sources(read_yaml_mapping(path))))
    parent = data.pop("extends", None)
    files = [path]
    if parent is not None:
        if not isinstance(parent, str):
            msg = f"{path}：字段 extends 应为规则集名称（如 mof-2020）"
            raise RuleFileError(msg)
        base, parent_files = _raw_rules(_parent_file(path, parent, rules_dirs), (*chain, path), rules_dirs)
        base.pop("name", None)
        data = deep_merge(base, data)
        files = parent_files + files
    return data, files


def rules_from_mapping(data: dict[str, Any], *, source: str = "<mapping>") -> RuleSet:
    """Validate a raw mapping into a RuleSet; errors name the source and field path."""
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        raise RuleFileError(field_errors(source, exc.errors())) from None


def load_rules(name_or_path: str | Path | RuleSet = DEFAULT_RULES, *, rules_dirs: Sequence[str | Path] = ()) -> RuleSet:
    """Load and validate a rule set by name (searched in `rule_dirs(rules_dirs)`) or by file path.

    A rule file is held to its word: its weights (with 预算执行率) must add up to `total_points`
    (a deliberate other scale says so in `total_points`); so must `department_weights` under
    `department: parts`, and every grade line lies within 0 … `total_points`. Rule sets built in memory
    (`rules_from_mapping`, what-if sweeps) are not held to it; what-if reports their totals.
    """
    if isinstance(name_or_path, RuleSet):
        return name_or_path
    path = resolve_rule_file(name_or_path, rules_dirs)
    data, files = _raw_rules(path, rules_dirs=rules_dirs)
    data.setdefault("name", path.stem)
    rules = rules_from_mapping(data, source=str(path))
    total = sum(rules.weights.values())
    if abs(total - rules.total_points) > 1e-6:
        parts = "、".join(f"{k} {v:g}" for k, v in rules.weights.items())
        msg = (f"{path}：字段 weights：各项权重合计 {total:g}（{parts}），与满分 total_points {rules.total_points:g} 不一致；"
               "有意采用其他满分时请在 total_points 中写明")
        raise RuleFileError(msg)
    if rules.department == "parts":
        parts = sum(rules.department_weights.values())
        if abs(parts - rules.total_points) > 1e-6:
            listed = "、".join(f"{k} {v:g}" for k, v in rules.department_weights.items())
            msg = (f"{path}：字段 department_weights：部门整体各部分权重合计 {parts:g}（{listed}），"
                   f"与满分 total_points {rules.total_points:g} 不一致")
            raise RuleFileError(msg)
    outside = [f"{g.grade} {g.min:g}" for g in rules.grades if not 0 <= g.min <= rules.total_points]
    if outside:
        msg = f"{path}：字段 grades：等级分数线 {'、'.join(outside)} 不在 0 到满分 {rules.total_points:g} 之间"
        raise RuleFileError(msg)
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.read_bytes())
    return rules.model_copy(update={"source": str(path), "sha256": digest.hexdigest()})


def describe_rules(rules: RuleSet) -> list[tuple[str, str]]:
    """(项目, 内容) rows describing a rule set (see `selfeval.rules.describe`)."""
    from selfeval.rules.describe import describe_rules as rows

    return rows(rules)
