"""The journeys behind the pages, each a thin driver over the library (no rule lives here).

* `parse_declaration` — an uploaded 绩效目标表 read (`read_declared`) and checked (`lint`); its
  tables kept as Parquet for the page.
* `score_job` — a filled template (or actuals + execution) scored (`selfeval.score`), the
  official workbook (`write_workbooks`) and the result tables (`write_tables`) written.
* `bulk_job` — a county (uploaded zip, or a synthetic one from `write_synth`) scored by
  `bulk.score_many`; per unit × finding code counts kept for the league table's filter.
* `whatif_job` — a bulk run's inputs under two scenarios (`whatif` / `whatif_dataset`).
* `audit_job` — submitted self-evaluations audited (`selfeval.audit`).

Every output is written into a staging folder and published whole (`Store.publish`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from selfeval.errors import InputError, Problem, SelfevalError
from selfeval.web.jobs import JobFailed, Progress
from selfeval.web.store import Record, Store
from selfeval.web.uploads import content_root, unpack_zip

DECLARED_SUFFIXES = (".txt", ".docx", ".xlsx", ".csv", ".parquet", ".zip")
TABLE_SUFFIXES = (".xlsx", ".csv", ".parquet", ".xls")
RESULT_TABLES = ("indicator_scores", "project_scores", "unit_scores", "findings")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_digests(folder: Path) -> list[dict[str, Any]]:
    """Every uploaded file of a record: name, size, sha256."""
    if not folder.is_dir():
        return []
    return [
        {"name": str(p.relative_to(folder)), "size": p.stat().st_size, "sha256": sha256_of(p)}
        for p in sorted(folder.rglob("*")) if p.is_file() and ".unpacked" not in p.parts
    ]


def rules_for(store: Store, name: str | None) -> Any:
    """A rule set by name: built-in ones and those uploaded on the 规则 page."""
    from selfeval.rules.loader import DEFAULT_RULES, load_rules

    return load_rules(name or DEFAULT_RULES, rules_dirs=[store.rules_dir])


def rules_meta(rules: Any) -> dict[str, Any]:
    return {"rules": {"name": rules.name, "title": getattr(rules, "title", None), "sha256": rules.sha256, "source": rules.source}}


def unpacked_source(folder: Path) -> Path:
    """What a record's upload stands for: one file, a zip's content, or the folder of several files."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    zips = [p for p in files if p.suffix.lower() == ".zip"]
    if zips:
        if len(files) > 1:
            raise InputError(Problem(file=zips[0].name, message="压缩包请单独上传（不要与其他文件一起选）"))
        unpacked = folder / ".unpacked"
        if unpacked.is_dir():
            return content_root(unpacked)
        return unpack_zip(zips[0], unpacked)
    if len(files) == 1:
        return files[0]
    if not files:
        raise JobFailed("没有上传文件")
    return folder


# ----------------------------------------------------------------------------- declaration


def parse_declaration(store: Store, record: Record, *, year: int | None = None, unit_code: str | None = None) -> dict[str, Any]:
    """Read and lint the uploaded declaration of `record`; its tables and findings to `out/`.

    `unit_code` (a unit account's) refuses a declaration of another unit."""
    from selfeval.ingest import read_declared
    from selfeval.ingest.summary import parsed_targets
    from selfeval.lint import lint
    from selfeval.report.tables import write_tables

    source = unpacked_source(store.input_dir(record.id))
    decl = read_declared(source, year=year)
    codes = decl.units.get_column("unit_code").to_list()
    if unit_code is not None and any(c != unit_code for c in codes):
        others = "、".join(sorted({str(c) for c in codes if c != unit_code}))
        raise InputError(Problem(file=source.name, message=f"绩效目标表属于单位 {others}，不是本账户的单位 {unit_code}；只能上传本单位的绩效目标表"))
    findings = lint(decl)
    staging = store.staging_dir(record.id)
    write_tables({**decl.tables(), "parsed_targets": parsed_targets(decl), "lint": findings}, staging, "parquet")
    store.publish(record.id, staging)
    units = decl.units.to_dicts()
    return {
        "source": str(source.relative_to(store.input_dir(record.id))) if source != store.input_dir(record.id) else ".",
        "year": year,
        "units": [{"unit_code": u["unit_code"], "unit_name": u["unit_name"], "year": u["year"]} for u in units],
        "projects": decl.projects.height,
        "indicators": decl.indicators.height,
        "budget": float(decl.projects.get_column("budget").fill_null(0).sum()),
        "lint": {s: int((findings.get_column("severity") == s).sum()) for s in ("error", "warning", "info")},
        "inputs": input_digests(store.input_dir(record.id)),
    }


def declared_path(store: Store, declaration: Record) -> Path:
    source = declaration.meta.get("source", ".")
    return store.input_dir(declaration.id) / source if source != "." else store.input_dir(declaration.id)


def read_declaration(store: Store, declaration: Record) -> Any:
    from selfeval.ingest import read_declared

    return read_declared(declared_path(store, declaration), year=declaration.meta.get("year"))


def template_file(store: Store, declaration: Record, rules_name: str | None = None) -> Path:
    """The fill-in template of a declaration (written once per rule set, atomically)."""
    from selfeval.atomic import safe_filename
    from selfeval.report.template import write_template

    rules = rules_for(store, rules_name)
    target = store.folder(declaration.id) / "template" / safe_filename(f"填报模板_{rules.name}.xlsx")
    if not target.is_file():
        write_template(read_declaration(store, declaration), target, rules=rules)
    return target


# ----------------------------------------------------------------------------- score


def score_job(store: Store, record: Record, progress: Progress) -> dict[str, Any]:
    from selfeval.api import score, write_tables
    from selfeval.reconcile import reconcile
    from selfeval.report.excel import write_workbooks

    declaration = store.record(record.parent or "")
    if declaration is None:
        raise JobFailed("找不到这次评分所用的绩效目标表")
    progress(0.1, "读取绩效目标表与实际完成值")
    rules = rules_for(store, record.params.get("rules"))
    decl = read_declaration(store, declaration)
    inputs = store.input_dir(record.id)
    actuals = inputs / record.params["actuals"]
    execution = inputs / record.params["execution"]
    progress(0.3, "评分")
    result = score(decl, actuals, execution, rules)
    reconcile(result).check()
    progress(0.6, "生成自评表与结果表")
    staging = store.staging_dir(record.id)
    books = write_workbooks(result, staging)
    tables = write_tables(result, staging, "both")
    store.publish(record.id, staging)
    units = result.unit_scores.to_dicts()
    errors = int((result.findings.get_column("severity") == "error").sum())
    return {
        **rules_meta(rules),
        "files": [p.name for p in [*books, *tables]],
        "workbooks": [p.name for p in books],
        "units": [{"unit_code": u["unit_code"], "unit_name": u["unit_name"], "total": u["total"], "grade": u["grade"]} for u in units],
        "errors": errors,
        "findings": result.findings.height,
        "inputs": [*declaration.meta.get("inputs", []), *input_digests(inputs)],
    }


# ----------------------------------------------------------------------------- bulk


def bulk_source(store: Store, record: Record) -> Path:
    """The folder a bulk record scores: its unpacked upload, or the synthetic county it made."""
    if record.params.get("synth_units"):
        return store.folder(record.id) / "county"
    return unpacked_source(store.input_dir(record.id))


def bulk_job(store: Store, record: Record, progress: Progress) -> dict[str, Any]:
    import polars as pl

    from selfeval.bulk import score_many
    from selfeval.synth_marker import incomplete_synth

    rules = rules_for(store, record.params.get("rules"))
    source = bulk_source(store, record)
    synth = record.params.get("synth_units")
    if synth and (not (source / "synth.json").is_file() or incomplete_synth(source) is not None):
        from selfeval.synth import write_synth
        from selfeval.web.uploads import remove_tree

        remove_tree(source)
        progress(0.05, f"生成示例县数据（{synth} 个单位）")
        write_synth(source, int(synth), int(record.params.get("seed", 0)),
                    on_group=lambda done, total: progress(0.05 + 0.25 * done / max(total, 1), f"生成示例县数据 {done}/{total}"))
    progress(0.3, "读取并评分（大数据集需要几分钟）")
    staging = store.staging_dir(record.id)
    result = score_many(source, rules, out=staging / "tables", fmt="parquet")
    progress(0.9, "汇总问题")
    codes = (
        result.findings.group_by("unit_code", "code").agg(pl.len().cast(pl.Int64).alias("count")).collect()
        .sort("unit_code", "code")
    )
    codes.write_parquet(staging / "unit_finding_codes.parquet")
    store.publish(record.id, staging)
    counts = dict(result.grade_distribution.filter(pl.col("level") == "单位").select("grade", "count").iter_rows())
    return {
        **rules_meta(rules),
        "units": result.unit_scores.height,
        "projects": result.projects,
        "skipped": result.skipped.height,
        "grades": counts,
        "inputs": input_digests(store.input_dir(record.id)) if not synth else [{"name": f"synth --units {synth}", "size": 0, "sha256": ""}],
        "source_kind": _source_kind(source),
    }


def _source_kind(source: Path) -> str:
    from selfeval.bulk import source_kind

    return source_kind(source)


# ----------------------------------------------------------------------------- what-if


def scenario_rules(store: Store, params: dict[str, Any]) -> dict[str, Any]:
    """The two scenarios of a what-if: the base profile and either another profile or the base
    with the fields moved on the sliders (`with_field`, validated like a rule file)."""
    from selfeval.whatif import with_field

    base = rules_for(store, params.get("base"))
    if params.get("compare"):
        other = rules_for(store, params["compare"])
        if other.name == base.name:
            raise JobFailed("请选择两个不同的规则集进行比较")
        return {base.name: base, other.name: other}
    changed = base
    moved = []
    for field, value in params.get("fields", {}).items():
        changed = with_field(changed, field, value, name="调整后")
        moved.append(f"{field}={value:g}")
    return {f"{base.name}（基准）": base, "调整后：" + ("，".join(moved) or "无变化"): changed}


def whatif_job(store: Store, record: Record, progress: Progress) -> dict[str, Any]:
    from selfeval.whatif import whatif, whatif_dataset, write_whatif_tables

    bulk = store.record(record.parent or "")
    if bulk is None:
        raise JobFailed("找不到试算所用的批量评分")
    scenarios = scenario_rules(store, record.params)
    source = bulk_source(store, bulk)
    staging = store.staging_dir(record.id)
    progress(0.1, "读取数据")
    if _source_kind(source) == "dataset":
        done = [0]

        def on_batch() -> None:
            done[0] += 1
            progress(0.2 + min(0.6, 0.05 * done[0]), f"已计算 {done[0]} 批")

        result, _, _ = whatif_dataset(source, scenarios, tables=staging / "tables", on_batch=on_batch)
    else:
        from selfeval.bulk import load_inputs

        declared, actuals, execution, _ = load_inputs(source)
        progress(0.4, "计算各情景得分")
        result = whatif(declared, actuals, execution, scenarios)
        write_whatif_tables(result, staging / "tables")
    progress(0.85, "生成试算工作簿")
    result.write_workbook(staging / "试算结果.xlsx")
    names = result.names
    views = {
        "summary": result.summary,
        "units": result.units,
        "projects_count": result.projects.height,
    }
    views["units"].write_parquet(staging / "units_view.parquet")
    result.summary.write_parquet(staging / "summary_view.parquet")
    matrices = {level: result.migration_matrix(names[-1], level).to_dicts() for level in ("单位", "项目")}
    store.publish(record.id, staging)
    return {
        "scenarios": names,
        "rules": [{"name": r.name, "sha256": r.sha256} for r in scenarios.values()],
        "matrices": matrices,
        "grades": result.grades,
        "warnings": list(result.warnings),
        "compared": dict(result.compared),
        "files": ["试算结果.xlsx"],
    }


# ----------------------------------------------------------------------------- audit


def audit_job(store: Store, record: Record, progress: Progress) -> dict[str, Any]:
    from selfeval.audit.api import audit
    from selfeval.audit.report import (
        WORKBOOK_NAME,
        write_audit_tables,
        write_audit_workbook,
    )

    rules = rules_for(store, record.params.get("rules"))
    source = unpacked_source(store.input_dir(record.id))
    progress(0.2, "读取并复算自评表")
    result = _named_as_uploaded(store, record, audit(source, rules, year=record.params.get("year"), workers=1))
    progress(0.8, "生成审核结果")
    staging = store.staging_dir(record.id)
    write_audit_workbook(result, staging / WORKBOOK_NAME)
    write_audit_tables(result, staging / "tables", "parquet")
    store.publish(record.id, staging)
    return {**rules_meta(rules), "counts": result.counts(), "files": [WORKBOOK_NAME], "inputs": input_digests(store.input_dir(record.id))}


def _named_as_uploaded(store: Store, record: Record, result: Any) -> Any:
    """An audit whose tables name the files as the person uploaded them (a zip's entries as in the
    zip), not by the store's folders: for the page and for 审核结果.xlsx."""
    import dataclasses

    import polars as pl

    def named(frame: pl.DataFrame) -> pl.DataFrame:
        text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
        if not text:
            return frame
        expr = pl.col(text)
        for prefix in store.shown_prefixes(record.id):
            expr = expr.str.replace_all(prefix, "", literal=True)
        return frame.with_columns(expr)

    frames = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    return dataclasses.replace(result, **{name: named(v) for name, v in frames.items() if isinstance(v, pl.DataFrame)})


WORK = {"score": score_job, "bulk": bulk_job, "whatif": whatif_job, "audit": audit_job}


def json_cell(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


__all__ = ["WORK", "SelfevalError", "parse_declaration", "template_file"]
