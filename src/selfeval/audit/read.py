"""Submitted files → raw records: every form's header, funds, indicator rows and claims, located.

`read_file(path)` reads one file (run in worker processes for a large folder) and returns plain
records: one per form (project), one per indicator row, one per located cell, one per sheet
(read, or skipped and why). A file that cannot be read becomes one record naming it and why; the
other files are still read. Nothing is parsed as a number here: the texts go to `frames.py`, where
whole columns are converted at once.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfeval.audit.form import Form, find_forms, unit_line, year_of
from selfeval.audit.grid import SUFFIXES, Grid, read_grids
from selfeval.errors import SelfevalError

# Project fields read from the form's header block and totals, and from the 项目资金 total row.
HEADER_FIELDS = ("project_code", "project_name", "department", "unit_name", "goal", "total", "grade", "full_points")
FUND_FIELDS = ("budget", "year_budget", "executed", "execution_weight", "execution_rate", "execution_points")
PART_ROWS = ("fiscal", "other", "carryover")
PART_FIELDS = ("budget", "year_budget", "executed")
INDICATOR_FIELDS = ("seq", "level1", "level2", "level3", "target_text", "nature", "measure_unit", "direction",
                    "actual_text", "weight", "points", "deviation_reason")
# Files a folder is read for; other files (notes, pictures) are not submissions and are passed over.
PARALLEL_FROM = 64  # files: below this a folder is read in-process (a spawned worker costs ≈ 1 s to start)


@dataclass
class FileRecords:
    """What one file holds, as plain records (pickled back from a worker process)."""

    file: str
    unit_code: str | None = None
    unit_name: str | None = None
    year: int | None = None
    sheets: list[dict[str, Any]] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    indicators: list[dict[str, Any]] = field(default_factory=list)
    cells: list[dict[str, Any]] = field(default_factory=list)
    subtotals: list[dict[str, Any]] = field(default_factory=list)
    uncached: list[dict[str, Any]] = field(default_factory=list)  # located formula cells saved without a result
    error: str | None = None


def submission_files(source: str | Path) -> list[Path]:
    """The files to audit: `source` itself, or the submissions in a folder (recursively, sorted)."""
    path = Path(source)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                      and not p.name.startswith(("~$", ".")))
    return [path]


def read_file(path: str | Path) -> FileRecords:
    """Every form of one file as records; an unreadable file is one record saying why."""
    file = str(path)
    out = FileRecords(file=file)
    try:
        grids = read_grids(file)
    except SelfevalError as exc:
        out.error = " ".join(str(exc).split())
        return out
    except Exception as exc:  # noqa: BLE001  (a broken file is named, never a crash of the whole audit)
        out.error = f"{file}：无法读取（{type(exc).__name__}：{exc}）"
        return out
    found = unit_line(grids)
    if found is not None:
        out.unit_code, out.unit_name = found
    out.year = year_of(grids)
    for grid in grids:
        forms = find_forms(grid)
        if forms:
            out.sheets.append({"file": file, "sheet": grid.sheet, "forms": len(forms), "status": "已审核", "reason": None})
        else:
            out.sheets.append({"file": file, "sheet": grid.sheet, "forms": 0, "status": "已跳过",
                               "reason": "不是项目支出绩效自评表（未找到含“三级指标”“得分”的指标表及其上方的“项目名称”）"})
        for form in forms:
            first = len(out.cells)
            _records(out, grid, form)
            if grid.uncached:
                out.uncached += [{**c, "formula": grid.uncached[(c["row"], c["col"])]} for c in out.cells[first:]
                                 if (c["row"], c["col"]) in grid.uncached]
    return out


def _records(out: FileRecords, grid: Grid, form: Form) -> None:
    index = len(out.projects)
    record: dict[str, Any] = {"_form": index, "file": out.file, "sheet": grid.sheet, "grid_kind": grid.kind,
                              "amount_unit": form.amount_unit, "year": form.year}
    for name in HEADER_FIELDS:
        located = form.fields.get(name)
        record[name] = located.text if located else None
        if located is not None:
            out.cells.append({"_form": index, "seq": 0, "field": name, "row": located.row, "col": located.col})
    total = form.funds.get("total", {})
    rate_cell = total.get("execution_rate")
    # a rate stored as a number is compared at the tolerance; one typed as text (`99%`) within its last digit too
    record["execution_rate_stored"] = rate_cell is not None and isinstance(grid.value(rate_cell.row, rate_cell.col), (int, float))
    for name in FUND_FIELDS:
        located = total.get(name)
        record[name] = located.text if located else None
        if located is not None:
            out.cells.append({"_form": index, "seq": 0, "field": name, "row": located.row, "col": located.col})
    for part in PART_ROWS:
        cells = form.funds.get(part, {})
        for name in PART_FIELDS:
            located = cells.get(name)
            record[f"{part}_{name}"] = located.text if located else None
            if located is not None:
                out.cells.append({"_form": index, "seq": 0, "field": f"{part}_{name}", "row": located.row, "col": located.col})
    out.projects.append(record)
    columns = form.columns
    for row in form.subtotals:
        col = columns.get("points", columns.get("weight", 0))
        out.subtotals.append({"_form": index, "row": row.row, "col": col,
                              "text": row.values.get("points") or row.values.get("weight"), "label": row.values.get("level1")})
    for seq, row in enumerate(form.rows, start=1):
        values = {name: row.values.get(name) for name in INDICATOR_FIELDS}
        values["seq"] = seq  # the position in the form (a printed 序号 may repeat or be blank)
        out.indicators.append({"_form": index, "row": row.row, **values})
        for name, col in columns.items():
            out.cells.append({"_form": index, "seq": seq, "field": name, "row": row.row, "col": col})


def read_files(files: list[Path], workers: int | None = None) -> list[FileRecords]:
    """Every file read, in order; a large folder is read in worker processes (reading is the slow part)."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers <= 1 or len(files) < PARALLEL_FROM:
        return [read_file(f) for f in files]
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    chunk = max(1, len(files) // (workers * 4))
    # spawned, not forked (as bulk): a fork after Polars has started its thread pool can deadlock the child
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(files)), mp_context=multiprocessing.get_context("spawn")) as pool:
            return list(pool.map(read_file, [str(f) for f in files], chunksize=chunk))
    except (BrokenProcessPool, RuntimeError):  # no worker could start (a script without a __main__ guard): read here
        return [read_file(f) for f in files]


__all__ = ["FileRecords", "read_file", "read_files", "submission_files"]
