"""Bounded memory on large and hostile files (issue 10 §5).

- Office packages: an archive whose declared sizes or compression ratio are absurd is refused
  before anything is inflated; sheets are scanned for formulas a block at a time.
- `synth`: the size is estimated and refused when the disk cannot hold it; a killed run leaves a
  data set `bulk` refuses as incomplete.
- Large tables: a CSV is checked and scanned a block at a time; read for a declaration, only the
  rows scoring can use are kept, and those are checked exactly as before.

The peak memory of whole runs on a 1 GiB CSV and a 10 M-indicator data set is measured in
`benches/bench_memory.py`.
"""

from __future__ import annotations

import shutil
import zipfile
from collections import namedtuple
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

import selfeval.synth
from selfeval.bulk import score_many
from selfeval.cli import app
from selfeval.errors import InputError, InputWarning, OutputError
from selfeval.ingest import actuals as actuals_module
from selfeval.ingest import read_actuals, read_declared, read_execution
from selfeval.ingest import tables as tables_module
from selfeval.ingest.detect import MAX_PART_BYTES, sniff
from selfeval.ingest.sheet import _FORMULA_TAG, SCAN_BLOCK, has_formulas, part_contains
from selfeval.synth import MARKER, synth_bytes, write_synth

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHEET = "xl/worksheets/sheet1.xml"
runner = CliRunner()


# ------------------------------------------------------------------------------ packages


def _workbook(path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "实际完成值"
    book.active.append(["project_code", "seq", "actual_text"])
    book.active.append(["13022925P00JXC419898U", 1, "20000元"])
    book.save(path)
    return path


def _declaring(src: Path, dst: Path, part: str, size: int) -> Path:
    """A copy of the package `src` whose central directory declares `size` bytes for `part` (the
    data stay as they are: nothing large is inflated by the test)."""
    data = bytearray(src.read_bytes())
    name = part.encode()
    pos = data.find(b"PK\x01\x02")
    found = False
    while pos != -1:
        length = int.from_bytes(data[pos + 28 : pos + 30], "little")
        if data[pos + 46 : pos + 46 + length] == name:
            data[pos + 24 : pos + 28] = size.to_bytes(4, "little")
            found = True
        pos = data.find(b"PK\x01\x02", pos + 4)
    assert found
    dst.write_bytes(bytes(data))
    return dst


ABSURD = {
    "3-GiB-part": 3 * 2**30,  # a 3 GiB sheet in a few kilobytes (the 3.1 MB → 3 GiB)
    "ratio": 64 * 2**20,  # a part of 64 MiB packed into a kilobyte
}


@pytest.mark.parametrize("size", ABSURD.values(), ids=ABSURD.keys())
def test_absurd_package_refused_before_inflating(size: int, tmp_path: Path) -> None:
    """It should refuse a workbook whose part declares an absurd size or ratio, naming file and part."""
    bomb = _declaring(_workbook(tmp_path / "ok.xlsx"), tmp_path / "bomb.xlsx", SHEET, size)
    assert zipfile.ZipFile(bomb).getinfo(SHEET).file_size == size
    for read in (read_actuals, read_declared, tables_module.sheet_names):
        with pytest.raises(InputError) as err:
            read(bomb)
        (problem,) = err.value.problems
        assert (problem.file, problem.value) == (str(bomb), SHEET)
    assert read_actuals(tmp_path / "ok.xlsx").height == 1  # the package as saved reads


def test_absurd_docx_refused(tmp_path: Path) -> None:
    """It should refuse a Word document whose body declares more than any document holds."""
    from docx_builder import build_docx

    doc = build_docx((SAMPLES / "seed_targets_2025.txt").read_text(encoding="utf-8"), tmp_path / "ok.docx")
    bomb = _declaring(doc, tmp_path / "bomb.docx", "word/document.xml", MAX_PART_BYTES + 1)
    with pytest.raises(InputError) as err:
        read_declared(bomb)
    assert err.value.problems[0].value == "word/document.xml"


def test_absurd_package_cli_exit_2(tmp_path: Path) -> None:
    """It should answer `score -a BOMB.xlsx` with exit 2 and one line naming the file."""
    bomb = _declaring(_workbook(tmp_path / "ok.xlsx"), tmp_path / "bomb.xlsx", SHEET, 3 * 2**30)
    result = runner.invoke(app, ["score", str(SAMPLES / "seed_targets_2025.txt"), "-a", str(bomb),
                                 "-e", str(SAMPLES / "execution_sample.csv")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bomb) in lines[0] and SHEET in lines[0]


def _sheet_package(path: Path, xml: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr(SHEET, xml)
    return path


def test_has_formulas_reads_a_block_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should find a formula at the end of a large sheet without ever reading the sheet whole."""
    cells = b"<c r='A1'><v>1</v></c>" * (3 * SCAN_BLOCK // 22)
    book = _sheet_package(tmp_path / "f.xlsx", b"<sheetData>" + cells + b"<c><f>SUM(A1)</f></c></sheetData>")
    plain = _sheet_package(tmp_path / "p.xlsx", b"<sheetData>" + cells + b"</sheetData>")
    sizes: list[int] = []
    real_read = zipfile.ZipExtFile.read

    def read(self: zipfile.ZipExtFile, n: int = -1) -> bytes:
        sizes.append(n)
        return real_read(self, n)

    def whole(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("a sheet read whole")

    monkeypatch.setattr(zipfile.ZipExtFile, "read", read)
    monkeypatch.setattr(zipfile.ZipFile, "read", whole)
    assert has_formulas(str(book)) and not has_formulas(str(plain))
    assert sizes and all(0 < n <= SCAN_BLOCK for n in sizes)


@pytest.mark.parametrize("cut", range(12))
def test_formula_tag_cut_between_blocks_is_found(cut: int, tmp_path: Path) -> None:
    """It should find a formula tag that a block boundary cuts in two."""
    block = 1000
    head = b"x" * (block - cut)
    book = _sheet_package(tmp_path / "f.xlsx", head + b"<x:f>A1</x:f>" + b"y" * 3000)
    with zipfile.ZipFile(book) as archive:
        assert part_contains(archive, SHEET, _FORMULA_TAG, block)


# ------------------------------------------------------------------------------ synth


Usage = namedtuple("Usage", "total used free")


def test_synth_refuses_what_the_disk_cannot_hold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should refuse, before writing anything, a data set larger than the disk's free space."""
    monkeypatch.setattr(selfeval.synth.shutil, "disk_usage", lambda path: Usage(10**12, 0, synth_bytes(50) - 1))
    out = tmp_path / "ds"
    with pytest.raises(OutputError):
        write_synth(out, 50)
    assert not out.exists()
    result = runner.invoke(app, ["synth", "--units", "1000000", "--out", str(out)])
    assert result.exit_code == 2 and not out.exists()
    assert str(out) in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_synth_estimate_bounds_the_size_written(tmp_path: Path) -> None:
    """It should estimate a little above what it writes (one group of units, and one unit)."""
    for units in (1, 1000):
        out = tmp_path / str(units)
        write_synth(out, units, seed=4)
        written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        assert 0.5 * synth_bytes(units) < written <= synth_bytes(units)
    assert synth_bytes(1_000_000_000) > 700 * 10**9  # the issue's ≈770 GB


class Killed(BaseException):
    """Stands for the signal that stops a synth part-way."""


def test_killed_synth_is_refused_as_incomplete(tmp_path: Path) -> None:
    """It should leave a data set that bulk and whatif refuse, when killed after its first group."""
    from selfeval.whatif import whatif_dataset

    def kill(done: int, total: int) -> None:
        raise Killed

    out = tmp_path / "ds"
    with pytest.raises(Killed):
        write_synth(out, selfeval.synth.GROUP_UNITS + 1, seed=1, on_group=kill)
    assert (out / "indicators" / "unit_group=0" / "part-0.parquet").is_file()  # a group is on disk
    for run in (lambda: score_many(out), lambda: whatif_dataset(out, ["mof-2020"])):
        with pytest.raises(InputError) as err:
            run()
        assert err.value.problems[0].file == str(out / MARKER)
    result = runner.invoke(app, ["bulk", str(out), "--out", str(tmp_path / "res")])
    assert result.exit_code == 2 and not (tmp_path / "res").exists()


def test_finished_synth_and_unmarked_datasets_are_accepted(tmp_path: Path) -> None:
    """It should score a finished synth, and a data set without the marker (written by other means)."""
    out = tmp_path / "ds"
    counts = write_synth(out, 4, seed=2)
    marker = (out / MARKER).read_text(encoding="utf-8")
    assert '"complete": true' in marker
    assert score_many(out).unit_scores.height == counts["units"]
    (out / MARKER).unlink()
    assert score_many(out).unit_scores.height == counts["units"]


# ------------------------------------------------------------------------------ large tables


@pytest.fixture(scope="module")
def declared():
    return read_declared(SAMPLES / "seed_targets_2025.txt")


def _undeclared_rows(n: int, first: int = 0) -> list[str]:
    return [f"9999P{first + i:05d},{1 + i % 7},其他指标,{90 + i % 10}%," for i in range(n)]


def test_sniff_reads_only_the_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should tell a large CSV from a document by its first megabyte, never reading the file whole."""
    path = tmp_path / "big.csv"
    lines = ["project_code,seq,level3,actual,deviation_reason", *_undeclared_rows(80_000)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > 2**21

    def whole(self: Path) -> bytes:
        raise AssertionError(f"{self} read whole")

    monkeypatch.setattr(Path, "read_bytes", whole)
    assert sniff(path) == "csv"


def _mixed_actuals(tmp_path: Path, bad_declared: bool = False) -> tuple[Path, list[int], list[int]]:
    """The sample actuals with undeclared rows before, between and after; (path, file rows of
    declared rows, file rows of undeclared rows)."""
    lines = (SAMPLES / "actuals_sample.csv").read_text(encoding="utf-8-sig").splitlines()
    header, body = lines[0], lines[1:]
    if bad_declared:
        body[3] = body[3].replace(",4,", ",4.5,")  # a fraction in an integer column
    rows = [header, *_undeclared_rows(2), *body[:20], *_undeclared_rows(3, 2), *body[20:], *_undeclared_rows(5, 5)]
    rows[-1] = "9999P00099,x,其他指标,95%,"  # a bad seq in an undeclared row beyond the limit
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    file_rows = range(2, len(rows) + 1)
    undeclared = [r for r, line in zip(file_rows, rows[1:]) if line.startswith("9999P")]
    return path, [r for r in file_rows if r not in undeclared], undeclared


def test_rows_of_undeclared_projects_counted_beyond_the_limit(declared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should keep every declared row and the first undeclared ones in file order, count the rest and say so."""
    from selfeval.api import score

    monkeypatch.setattr(actuals_module, "MAX_UNDECLARED_ROWS", 3)
    path, declared_rows, undeclared_rows = _mixed_actuals(tmp_path)
    with pytest.raises(InputError) as err:  # the last row's bad seq: checked when every row is kept …
        read_actuals(path)
    assert [p.row for p in err.value.problems] == [undeclared_rows[-1]]
    clean = tmp_path / "clean.csv"
    clean.write_text(path.read_text(encoding="utf-8").replace(",x,", ",1,"), encoding="utf-8")
    everything = read_actuals(clean)
    assert everything.height == len(declared_rows) + len(undeclared_rows)
    with pytest.warns(InputWarning, match="另有 7 行") as caught:
        kept = read_actuals(path, declared=declared)
    assert [w.message.problem.file for w in caught if "另有" in str(w.message)] == [str(path)]
    keep = sorted([*declared_rows, *undeclared_rows[:3]])  # … but not read when it is not kept
    assert_frame_equal(kept, everything[[r - 2 for r in keep]])
    with pytest.warns(InputWarning, match="另有 7 行"):
        result = score(declared, path, SAMPLES / "execution_sample.csv")
    unknown = result.findings.filter((pl.col("code") == "KEY_MISMATCH") & (pl.col("column") == "seq"))
    assert sorted(unknown["project_code"].to_list()) == ["9999P00000", "9999P00001", "9999P00002"]
    assert result.actual_rows == len(keep)
    # the rows counted and not read are in the results too, not only on the console
    notes = result.findings.filter(pl.col("code") == "INPUT_NOTE")
    assert notes.height == 1
    assert notes.row(0, named=True)["severity"] == "info"
    assert "另有 7 行" in notes.row(0, named=True)["message"] and str(path) in notes.row(0, named=True)["message"]


def test_rows_of_undeclared_projects_counted_in_bulk_findings(declared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bulk on a folder of canonical tables should keep the count of unread rows as an INPUT_NOTE
    finding in its findings table and summary."""
    from selfeval.bulk import score_many
    from selfeval.ingest.tables import write_declared

    monkeypatch.setattr(actuals_module, "MAX_UNDECLARED_ROWS", 3)
    path, _, _ = _mixed_actuals(tmp_path)
    folder = tmp_path / "tables"
    write_declared(declared, folder, "csv")
    (folder / "actuals.csv").write_bytes(path.read_bytes())
    (folder / "execution.csv").write_bytes((SAMPLES / "execution_sample.csv").read_bytes())
    with pytest.warns(InputWarning, match="另有 7 行"):
        result = score_many(folder, out=tmp_path / "out", progress=False)
    findings = pl.read_parquet(tmp_path / "out" / "findings.parquet")
    notes = findings.filter(pl.col("code") == "INPUT_NOTE")
    assert notes.height == 1 and "另有 7 行" in notes.item(0, "message")
    noted = result.findings_summary.filter(pl.col("code") == "INPUT_NOTE")
    assert noted.select("severity", "name", "count").rows() == [("info", "读取提示", 1)]


@pytest.mark.parametrize("limit", [100_000, 3])
def test_kept_rows_checked_as_before(limit: int, declared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should report the bad cells of kept rows exactly as a whole read does (file, row, column,
    value), and not those of rows beyond the limit, which are not read."""
    monkeypatch.setattr(actuals_module, "MAX_UNDECLARED_ROWS", limit)
    path, _, undeclared_rows = _mixed_actuals(tmp_path, bad_declared=True)
    with pytest.raises(InputError) as whole:
        read_actuals(path)
    with pytest.raises(InputError) as kept:
        read_actuals(path, declared=declared)
    where = lambda err: [(p.file, p.row, p.column, p.value) for p in err.value.problems]
    beyond = set(undeclared_rows[limit:])
    assert where(kept) == [w for w in where(whole) if w[1] not in beyond]
    assert where(kept)[0][1] == 1 + 2 + 4  # the sample's 4th row: after the header and 2 undeclared rows
    assert (undeclared_rows[-1] in {w[1] for w in where(kept)}) == (limit > len(undeclared_rows))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("table", ["actuals", "execution"])
def test_declared_rows_read_as_before(declared, table: str, suffix: str, tmp_path: Path) -> None:
    """It should read a table naming only declared projects identically with or without the declaration."""
    read = read_actuals if table == "actuals" else read_execution
    source = SAMPLES / f"{table}_sample.csv"
    path = tmp_path / f"{table}{suffix}"
    if suffix == ".csv":
        shutil.copy(source, path)
    else:
        pl.read_csv(source, infer_schema=False).write_parquet(path)
    assert_frame_equal(read(path, declared=declared), read(path))


ENCODINGS = {
    "gb18030": lambda text: text.encode("gb18030"),
    "utf-16": lambda text: text.encode("utf-16"),
    "utf-8-bom": lambda text: text.encode("utf-8-sig"),
    "cr-only": lambda text: text.replace("\n", "\r").encode("utf-8"),
    "crlf": lambda text: text.replace("\n", "\r\n").encode("utf-8"),
}


@pytest.mark.parametrize("encode", ENCODINGS.values(), ids=ENCODINGS.keys())
def test_csv_checked_a_block_at_a_time(encode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should read every accepted encoding and line end the same when decoded in tiny blocks
    (characters and line ends cut between blocks), never reading the file whole."""
    text = (SAMPLES / "actuals_sample.csv").read_text(encoding="utf-8-sig")
    expected = read_actuals(SAMPLES / "actuals_sample.csv")
    path = tmp_path / "actuals.csv"
    path.write_bytes(encode(text))
    monkeypatch.setattr(tables_module, "TEXT_BLOCK", 7)

    def whole(self: Path) -> bytes:
        raise AssertionError(f"{self} read whole")

    monkeypatch.setattr(Path, "read_bytes", whole)
    assert_frame_equal(read_actuals(path), expected)


BINARY = {
    "nul": b"project_code,seq\n\x00\x00A,1\n",
    "controls": b"project_code,seq\n" + b"\x01\x02\x03\x04" * 40 + b",1\n",
    "blank": b"  \n\n  \n",
}


@pytest.mark.parametrize("data", BINARY.values(), ids=BINARY.keys())
def test_csv_refused_like_a_whole_read(data: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It should refuse a binary or blank CSV with the message `decode_text` gives, checked in blocks."""
    from selfeval.ingest.common import decode_text

    path = tmp_path / "t.csv"
    path.write_bytes(data)
    with pytest.raises(InputError) as expected:
        decode_text(data, str(path))
    monkeypatch.setattr(tables_module, "TEXT_BLOCK", 5)
    with pytest.raises(InputError) as err:
        tables_module.read_table_file(path, "csv")
    assert [p.message for p in err.value.problems] == [p.message for p in expected.value.problems]
