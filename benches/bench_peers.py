"""selfeval beside its peers on the same synth data, in the same session: whole processes and in-process.

    python -m pip install -e '.[bench]' && python -m pytest benches/bench_peers.py -s

For each size (env SELFEVAL_BENCH_SIZES, default "10000,100000,1000000" indicators; about 57 per
unit, so units = size / 57) a `selfeval synth` dataset is written once (hive-partitioned Parquet).
Then, best of N rounds (env SELFEVAL_BENCH_ROUNDS, default 3), the rounds interleaved so that a
burst of load from the other users of the machine hits every contender alike:

- whole processes, wall time from spawn to exit (bytecode cached, as on a user's machine: the
  children run without PYTHONDONTWRITEBYTECODE): `selfeval bulk DATASET --out OUT` (the console
  script of this interpreter), the plain-Python scorer (`benches.peers.plain_python`: pyarrow +
  dict loops + `re`), the DuckDB SQL scorer (`benches.peers.duckdb_sql`) and the lower bound
  (`benches.peers.lower_bound`: read + one join + one group-by, Polars);
- in-process: `selfeval.score()` (from frames, and read + score) against the lower bound
  (read + join + group-by, and join + group-by on frames already read) and the thin output
  scorer (`benches.peers.thin_output`: read + the result table's columns built with the least
  per-row work and simplified rules — what returning the table alone costs).

Each run prints one table — seconds, ratios plain/selfeval, selfeval/DuckDB, selfeval/lower bound
with the issue's targets, a floor (below), the peers' agreement with selfeval's project and
unit totals, the load average and the core count — and stores the figures in `benchmark.extra_info`.

The floor bounds any tool that reads these files and writes the tables bulk writes: it must do the
lower bound's work and write those tables, so it can take no less wall time than the lower-bound
process, nor less than the CPU time of both (the process's, and writing selfeval's large tables
again from memory as bulk writes them: Polars, zstd) spread over every core. plain / floor is
then the most such a tool could reach here. Two more benches:
`selfeval --help` (best of 5) against `python -c "import typer, rich"`, and the seed demo end to
end (`selfeval demo --out TMP`, best of 3). Timings are reported, never asserted (the machine is
shared); a contender that fails makes the test fail after the table is printed.

Targets (the issue): bulk at 1M ≥ 8× faster than plain Python and ≤ 1.5× DuckDB; at 100k ≥ 4×
plain Python; at 10k not slower. score() at 1M ≤ 0.6 s or ≤ 3× the lower bound. `--help` ≤ 0.15 s;
the demo ≤ 0.6 s.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `benches.peers` in this process; the children get cwd=ROOT
    sys.path.insert(0, str(ROOT))

from benches.peers.lower_bound import ACTUAL_COLUMNS, INDICATOR_COLUMNS, lower_bound, project_sums  # noqa: E402
from benches.peers.thin_output import thin_output  # noqa: E402

SIZES = [int(s) for s in os.environ.get("SELFEVAL_BENCH_SIZES", "10000,100000,1000000").split(",") if s.strip()]
ROUNDS = max(1, int(os.environ.get("SELFEVAL_BENCH_ROUNDS", "3")))
INDICATORS_PER_UNIT = 57
SELFEVAL = Path(sys.executable).parent / "selfeval"
TABLES = ("units", "projects", "indicators", "actuals", "execution")
BULK_OK = (0, 1)  # 1: error-level findings in the data (synth has them on purpose)

# Targets by nominal size: minimum plain/selfeval, maximum selfeval/duckdb.
PLAIN_TARGET = {1_000_000: 8.0, 100_000: 4.0, 10_000: 1.0}
DUCKDB_TARGET = {1_000_000: 1.5}
SCORE_TARGET_S, SCORE_TARGET_X = 0.6, 3.0  # score() at 1M: seconds, or × the lower bound
HELP_TARGET_S, DEMO_TARGET_S = 0.15, 0.6

MISSING = [m for m in ("duckdb", "pyarrow") if importlib.util.find_spec(m) is None]
needs_peers = pytest.mark.skipif(
    bool(MISSING),
    reason=f"the peers need {' and '.join(MISSING)}: python -m pip install -e '.[bench]'",
)
needs_cli = pytest.mark.skipif(not SELFEVAL.exists(), reason=f"no selfeval console script at {SELFEVAL}: pip install -e .")


# ----------------------------------------------------------------------------- helpers


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def machine() -> str:
    return f"[{load()}, {os.cpu_count()} cores]"


@dataclass
class Contender:
    """One contender's rounds: a command run as a whole process, or a function run in-process."""

    label: str
    run: Callable[[int], object]  # round number → a failure text (str), or anything else on success
    seconds: list[float] = field(default_factory=list)
    child_cpu: list[float] = field(default_factory=list)  # CPU seconds of the processes a round ran
    failure: str | None = None

    def once(self, k: int) -> None:
        if self.failure is not None:
            return
        before = children_cpu()
        start = time.perf_counter()
        outcome = self.run(k)
        elapsed = time.perf_counter() - start
        if isinstance(outcome, str):
            self.failure = outcome
        else:
            self.seconds.append(elapsed)
            self.child_cpu.append(children_cpu() - before)

    @property
    def best(self) -> float | None:
        return min(self.seconds) if self.seconds else None


def children_cpu() -> float:
    """User + system CPU seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# The children run as on a user's machine: Python caches compiled modules (a CI or container
# setting PYTHONDONTWRITEBYTECODE=1 would make every process compile selfeval's and its
# dependencies' sources again, ≈0.25 s each; the first round writes the cache).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def process(cmd: list[str], ok: tuple[int, ...] = (0,)) -> Callable[[], str | None]:
    """Run `cmd` from the repository root; a failure text when its exit code is not in `ok`."""

    def run() -> str | None:
        proc = subprocess.run(cmd, cwd=ROOT, env=CHILD_ENV, capture_output=True, text=True, check=False)
        if proc.returncode in ok:
            return None
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        return f"exit {proc.returncode}: {' '.join(cmd[-4:])}\n{tail}"

    return run


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt_x(x: float | None) -> str:
    return "   n/a" if x is None else f"{x:6.2f}"


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("  met" if ok else "  MISSED")


def agreement(selfeval_out: Path, peer_out: Path) -> dict[str, object]:
    """Share of projects (units) whose total equals selfeval's, matched on their keys."""
    result: dict[str, object] = {}
    for kind, mine, theirs, keys in (
        ("projects", "project_scores.parquet", "project_totals.parquet", ["unit_code", "project_code"]),
        ("units", "unit_scores.parquet", "unit_totals.parquet", ["unit_code"]),
    ):
        try:
            ours = pl.read_parquet(selfeval_out / mine, columns=[*keys, "total"])
            peer = pl.read_parquet(peer_out / theirs, columns=[*keys, "total"])
        except (OSError, pl.exceptions.PolarsError) as exc:
            result[kind] = f"n/a ({type(exc).__name__})"
            continue
        joined = ours.join(peer, on=keys, how="full", suffix="_peer", coalesce=True)
        same = int((joined["total"] == joined["total_peer"]).fill_null(False).sum())
        result[kind] = (same, joined.height)
    return result


# The tables bulk writes batch by batch (the small ones take milliseconds).
LARGE_TABLES = ("indicator_scores", "project_scores", "findings")


def writing_cpu(selfeval_out: Path, scratch: Path) -> float | None:
    """Least CPU seconds (all threads) of ROUNDS writes of selfeval's large result tables again
    from memory, as bulk writes them (Polars, zstd); None when they can't be read."""
    try:
        frames = [pl.read_parquet(selfeval_out / f"{name}.parquet") for name in LARGE_TABLES]
    except (OSError, pl.exceptions.PolarsError):
        return None
    scratch.mkdir(parents=True, exist_ok=True)
    best = None
    for _ in range(ROUNDS):
        start = time.process_time()
        for name, frame in zip(LARGE_TABLES, frames):
            frame.write_parquet(scratch / f"{name}.parquet", compression="zstd")
        used = time.process_time() - start
        best = used if best is None else min(best, used)
    return best


def floor_seconds(lower: Contender, write_cpu: float | None) -> float | None:
    """No less than the lower-bound process's wall time, nor than its CPU and the writing's spread over every core."""
    if lower.best is None or write_cpu is None:
        return None
    return max(lower.best, (min(lower.child_cpu) + write_cpu) / (os.cpu_count() or 1))


def fmt_agreement(a: dict[str, object]) -> str:
    parts = []
    for kind, value in a.items():
        if isinstance(value, tuple):
            same, n = value
            parts.append(f"{kind} {100 * same / max(n, 1):.3f}% ({same:,}/{n:,})")
        else:
            parts.append(f"{kind} {value}")
    return ", ".join(parts)


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Dataset:
    size: int
    folder: Path
    counts: dict[str, int]
    write_s: float


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n}")
def dataset(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    from selfeval.synth import write_synth

    size = request.param
    folder = tmp_path_factory.mktemp(f"synth{size}")
    start = time.perf_counter()
    counts = write_synth(folder, max(1, round(size / INDICATORS_PER_UNIT)), seed=0)
    return Dataset(size, folder, counts, time.perf_counter() - start)


def header(data: Dataset, what: str) -> str:
    c = data.counts
    return (
        f"\n{what} — {c['indicators']:,} indicators (nominal {data.size:,}), {c['projects']:,} projects, "
        f"{c['units']:,} units; best of {ROUNDS}"
    )


# ----------------------------------------------------------------------------- whole processes


@needs_peers
@needs_cli
def test_bulk_against_peers(benchmark, dataset: Dataset, tmp_path: Path) -> None:
    """It should time `selfeval bulk` and the three peers as whole processes and print the ratios."""
    load_before = os.getloadavg()
    src = str(dataset.folder)

    def out(name: str, k: int) -> Path:
        folder = tmp_path / f"{name}-{k}"
        shutil.rmtree(folder, ignore_errors=True)
        return folder

    def peer(module: str, name: str) -> Callable[[int], str | None]:
        return lambda k: process([sys.executable, "-m", f"benches.peers.{module}", src, str(out(name, k))])()

    bulk = Contender("selfeval bulk", lambda k: process([str(SELFEVAL), "bulk", src, "--out", str(out("selfeval", k))], BULK_OK)())
    peers = [
        Contender("plain python (pyarrow + loops)", peer("plain_python", "plain")),
        Contender("duckdb sql", peer("duckdb_sql", "duckdb")),
        Contender("lower bound (read+join+group-by)", peer("lower_bound", "lower")),
    ]
    rounds = iter(range(ROUNDS))

    def setup() -> tuple[tuple, dict]:
        # pytest-benchmark times `bulk` alone; the peers run here, untimed by it, in the same round.
        k = next(rounds)
        for c in peers:
            c.once(k)
        return (k,), {}

    benchmark.pedantic(bulk.once, setup=setup, rounds=ROUNDS, iterations=1)
    plain, duck, lower = peers
    last = ROUNDS - 1
    agree = {
        name: agreement(tmp_path / f"selfeval-{len(bulk.seconds) - 1}", tmp_path / f"{name}-{last}")
        for name in ("plain", "duckdb")
    } if bulk.seconds else {}

    plain_x = ratio(plain.best, bulk.best)
    duck_x = ratio(bulk.best, duck.best)
    lower_x = ratio(bulk.best, lower.best)
    write_cpu = writing_cpu(tmp_path / f"selfeval-{len(bulk.seconds) - 1}", tmp_path / "rewritten") if bulk.seconds else None
    floor = floor_seconds(lower, write_cpu)
    plain_target, duck_target = PLAIN_TARGET.get(dataset.size), DUCKDB_TARGET.get(dataset.size)
    lines = [header(dataset, "selfeval bulk vs peers, whole processes (wall, spawn to exit)")]
    lines.append(f"  {'':34} {'best s':>8}   {'rounds s':<26} {'÷ selfeval':>10}")
    for c in (bulk, *peers):
        rounds_s = " ".join(f"{s:.3f}" for s in c.seconds) or "-"
        best = "  failed" if c.best is None else f"{c.best:8.3f}"
        lines.append(f"  {c.label:34} {best}   {rounds_s:<26} {fmt_x(ratio(c.best, bulk.best)):>10}")
    lines.append(
        f"  plain / selfeval {fmt_x(plain_x)}×"
        + (f"  (target ≥ {plain_target:g}×){verdict(None if plain_x is None else plain_x >= plain_target)}" if plain_target else "")
    )
    lines.append(
        f"  selfeval / duckdb {fmt_x(duck_x)}×"
        + (f"  (target ≤ {duck_target:g}×){verdict(None if duck_x is None else duck_x <= duck_target)}" if duck_target else "")
    )
    lines.append(f"  selfeval / lower bound {fmt_x(lower_x)}×")
    if floor is not None:
        lines.append(
            f"  floor {floor:.3f} s = max(lower-bound process {lower.best:.3f} s, (its CPU {min(lower.child_cpu):.3f} s"
            f" + writing selfeval's large tables {write_cpu:.3f} s of CPU) / {os.cpu_count()} cores):"
            f" plain / floor {fmt_x(ratio(plain.best, floor))}× is the most a tool reading these files and writing"
            " these tables can reach here"
        )
    for name, a in agree.items():
        lines.append(f"  agreement with selfeval totals, {name}: {fmt_agreement(a)}")
    lines.append(f"  data written in {dataset.write_s:.1f} s   [before: load average %.2f %.2f %.2f]  {machine()}" % load_before)
    for c in (bulk, *peers):
        if c.failure:
            lines.append(f"  FAILED {c.label}: {c.failure}")
    print("\n".join(lines))

    benchmark.extra_info.update(
        size=dataset.size, indicators=dataset.counts["indicators"], projects=dataset.counts["projects"],
        units=dataset.counts["units"], rounds=ROUNDS,
        seconds={c.label: c.seconds for c in (bulk, *peers)},
        best_s={c.label: c.best for c in (bulk, *peers)},
        plain_over_selfeval=plain_x, selfeval_over_duckdb=duck_x, selfeval_over_lower_bound=lower_x,
        lower_bound_cpu_s=min(lower.child_cpu) if lower.child_cpu else None, writing_large_tables_cpu_s=write_cpu, floor_s=floor,
        agreement={n: {k: list(v) if isinstance(v, tuple) else v for k, v in a.items()} for n, a in agree.items()},
        load_before=load_before, load_after=os.getloadavg(), cpu_count=os.cpu_count(),
        failures={c.label: c.failure for c in (bulk, *peers) if c.failure},
    )
    failed = [c for c in (bulk, *peers) if c.failure]
    assert not failed, "\n".join(f"{c.label}: {c.failure}" for c in failed)


# ----------------------------------------------------------------------------- in-process


def test_score_in_process(benchmark, dataset: Dataset) -> None:
    """It should time selfeval.score() (from frames; read + score) against the in-process lower bound."""
    import selfeval
    from selfeval.synth import PARTITION

    folder = dataset.folder
    load_before = os.getloadavg()

    def read() -> tuple:
        t = {name: pl.read_parquet(folder / name, hive_partitioning=True).drop(PARTITION) for name in TABLES}
        return selfeval.Declaration(t["units"], t["projects"], t["indicators"]), t["actuals"], t["execution"]

    frames = read()
    ind_cols = frames[0].indicators.select(INDICATOR_COLUMNS)
    act_cols = frames[1].select(ACTUAL_COLUMNS)
    score_frames = Contender("score() from frames", lambda k: selfeval.score(*frames))
    read_score = Contender("read + score()", lambda k: selfeval.score(*read()))
    lower_read = Contender("lower bound: read + join + group-by", lambda k: lower_bound(folder))
    lower_mem = Contender("lower bound: join + group-by (frames)", lambda k: project_sums(ind_cols.lazy(), act_cols.lazy()).collect())
    thin = Contender("thin output scorer: read + score", lambda k: thin_output(folder))
    others = [score_frames, lower_read, lower_mem, thin]
    for c in (read_score, *others):  # warm-up: imports, rule loading, first calls
        c.run(-1)
    rounds = iter(range(ROUNDS))

    def setup() -> tuple[tuple, dict]:
        k = next(rounds)
        for c in others:
            c.once(k)
        return (k,), {}

    benchmark.pedantic(read_score.once, setup=setup, rounds=ROUNDS, iterations=1)
    x_read = ratio(read_score.best, lower_read.best)
    x_mem = ratio(score_frames.best, lower_mem.best)
    x_thin, x_thin_lower = ratio(read_score.best, thin.best), ratio(thin.best, lower_read.best)
    at_1m = dataset.size == 1_000_000
    met = None
    if at_1m and read_score.best is not None:
        met = read_score.best <= SCORE_TARGET_S or (x_read is not None and x_read <= SCORE_TARGET_X)
    lines = [header(dataset, "selfeval.score() in-process vs lower bound")]
    for c in (read_score, score_frames, lower_read, lower_mem, thin):
        rounds_s = " ".join(f"{s:.3f}" for s in c.seconds)
        lines.append(f"  {c.label:40} {c.best:8.3f} s   ({rounds_s})")
    lines.append(
        f"  read + score / read + join + group-by {fmt_x(x_read)}×"
        + (f"  (target ≤ {SCORE_TARGET_S:g} s or ≤ {SCORE_TARGET_X:g}×){verdict(met)}" if at_1m else "")
    )
    lines.append(f"  score from frames / join + group-by   {fmt_x(x_mem)}×")
    lines.append(f"  thin output scorer / lower bound      {fmt_x(x_thin_lower)}×   read + score / thin output scorer {fmt_x(x_thin)}×")
    lines.append(f"  [before: load average %.2f %.2f %.2f]  {machine()}" % load_before)
    print("\n".join(lines))
    benchmark.extra_info.update(
        size=dataset.size, indicators=dataset.counts["indicators"], rounds=ROUNDS,
        best_s={c.label: c.best for c in (read_score, *others)},
        seconds={c.label: c.seconds for c in (read_score, *others)},
        read_score_over_lower_bound=x_read, score_over_join_group_by=x_mem,
        read_score_over_thin_output=x_thin, thin_output_over_lower_bound=x_thin_lower,
        load_before=load_before, load_after=os.getloadavg(), cpu_count=os.cpu_count(),
    )


# ----------------------------------------------------------------------------- CLI start-up, demo


@needs_cli
def test_help_wall_time(benchmark) -> None:
    """It should time `selfeval --help` (best of 5 processes) against importing typer and rich."""
    load_before = os.getloadavg()
    help_ = Contender("selfeval --help", lambda k: process([str(SELFEVAL), "--help"])())
    base = Contender('python -c "import typer, rich"', lambda k: process([sys.executable, "-c", "import typer, rich"])())
    rounds = iter(range(5))

    def setup() -> tuple[tuple, dict]:
        k = next(rounds)
        base.once(k)
        return (k,), {}

    benchmark.pedantic(help_.once, setup=setup, rounds=5, iterations=1)
    assert help_.failure is None and base.failure is None, help_.failure or base.failure
    print(
        f"\nselfeval --help, best of 5 processes: {help_.best:.3f} s (target ≤ {HELP_TARGET_S:g} s){verdict(help_.best <= HELP_TARGET_S)}"
        f"\n  baseline python -c 'import typer, rich': {base.best:.3f} s; selfeval's own share {help_.best - base.best:+.3f} s"
        f"\n  [before: load average %.2f %.2f %.2f]  {machine()}" % load_before
    )
    benchmark.extra_info.update(
        help_s=help_.seconds, baseline_s=base.seconds, help_best_s=help_.best, baseline_best_s=base.best,
        load_before=load_before, load_after=os.getloadavg(), cpu_count=os.cpu_count(),
    )


@needs_cli
def test_demo_end_to_end(benchmark, tmp_path: Path) -> None:
    """It should time `selfeval demo --out TMP` end to end (best of 3 processes) and check its workbook."""
    load_before = os.getloadavg()
    demo = Contender("selfeval demo", lambda k: process([str(SELFEVAL), "demo", "--out", str(tmp_path / f"demo-{k}")])())
    rounds = iter(range(3))
    benchmark.pedantic(demo.once, setup=lambda: ((next(rounds),), {}), rounds=3, iterations=1)
    assert demo.failure is None, demo.failure
    assert list((tmp_path / "demo-0").glob("*.xlsx")), "the demo wrote no workbook"
    print(
        f"\nselfeval demo end to end, best of 3 processes: {demo.best:.3f} s (target ≤ {DEMO_TARGET_S:g} s)"
        f"{verdict(demo.best <= DEMO_TARGET_S)}   rounds {' '.join(f'{s:.3f}' for s in demo.seconds)}"
        f"\n  [before: load average %.2f %.2f %.2f]  {machine()}" % load_before
    )
    benchmark.extra_info.update(
        demo_s=demo.seconds, demo_best_s=demo.best,
        load_before=load_before, load_after=os.getloadavg(), cpu_count=os.cpu_count(),
    )
