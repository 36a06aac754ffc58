"""Before/after on a drifting machine: run one command under two revisions of selfeval, in turns.

    python benches/ab.py aab2627 --rounds 3 -- bulk /tmp/synth1m --out {out}
    python benches/ab.py aab2627 HEAD --python -- /tmp/my_profile.py /tmp/synth1m

A shared virtual machine's speed drifts by ±30 % within the hour, so timing the old code, then
the new, compares the machine with itself as much as the code. This runs the two sides
alternately (old, new, old, new …) in fresh processes on the same inputs, each side's package
taken from its own git worktree (`PYTHONPATH=<worktree>/src`; NEW defaults to this working tree,
uncommitted changes included), and prints each round's wall and CPU seconds with the load
average, then the best of each side.

After `--`: arguments of `python -m selfeval` (default), or with `--python` of `python`
itself (a script and its arguments). `{out}` in an argument becomes a fresh empty folder per run.
The worktrees are removed at the end. Children run without `PYTHONDONTWRITEBYTECODE`, as on a
user's machine (a first, untimed run of each side fills the bytecode cache).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = "{out}"


@dataclass
class Side:
    """One revision: where its package is imported from, and its timed runs (wall, CPU seconds)."""

    label: str
    src: Path
    runs: list[tuple[float, float]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)  # each run's standard output

    @property
    def best(self) -> float:
        return min(wall for wall, _ in self.runs)


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def worktree(rev: str, folder: Path, root: Path) -> Path:
    """A detached worktree of `rev` in `folder` (its `src` is imported by that side)."""
    git("worktree", "add", "--detach", "--force", str(folder), rev, cwd=root)
    return folder / "src"


def command(args: list[str], python: bool, scratch: Path) -> list[str]:
    """The child's argv; `{out}` replaced by a fresh folder under `scratch`."""
    out = Path(tempfile.mkdtemp(dir=scratch))
    shutil.rmtree(out)  # commands that refuse an existing folder get a free name
    argv = [arg.replace(OUT, str(out)) for arg in args]
    return [sys.executable, *argv] if python else [sys.executable, "-m", "selfeval", *argv]


def run_once(side: Side, args: list[str], python: bool, scratch: Path, ok: set[int], root: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one child process of `side`; a failure stops the comparison."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(side.src), *filter(None, [os.environ.get("PYTHONPATH")])])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command(args, python, scratch), cwd=root, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        raise SystemExit(f"{side.label}: exit {done.returncode}\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    side.outputs.append(done.stdout)
    return wall, cpu


def compare(
    old: str, new: str | None, args: list[str], *, rounds: int, python: bool, ok: set[int], root: Path = ROOT
) -> list[Side]:
    """Run `args` under `old` and `new` (None: the working tree of `root`) alternately, `rounds` times each."""
    with tempfile.TemporaryDirectory(prefix="selfeval-ab-") as tmp:
        scratch = Path(tmp)
        trees: list[Path] = []
        try:
            sides = []
            for label, rev in (("old", old), ("new", new)):
                if rev is None:
                    sides.append(Side(f"{label} (working tree)", root / "src"))
                    continue
                tree = scratch / f"tree-{label}"
                trees.append(tree)
                sides.append(Side(f"{label} {git('rev-parse', '--short', rev, cwd=root)}", worktree(rev, tree, root)))
            for side in sides:  # untimed: fills each side's bytecode cache
                run_once(side, args, python, scratch, ok, root)
                side.outputs.clear()
            for i in range(rounds):
                for side in sides:
                    wall, cpu = run_once(side, args, python, scratch, ok, root)
                    side.runs.append((wall, cpu))
                    print(f"round {i + 1}  {side.label:28s} wall {wall:7.2f} s  cpu {cpu:7.2f} s"
                          f"  load {os.getloadavg()[0]:.2f}", flush=True)
        finally:
            for tree in trees:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=root, capture_output=True, check=False)
    old_side, new_side = sides
    print(f"best of {rounds}: {old_side.label} {old_side.best:.2f} s, {new_side.label} {new_side.best:.2f} s"
          f"  (new ÷ old {new_side.best / old_side.best:.2f})   [{os.cpu_count()} cores]")
    return sides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", help="the revision to compare against (commit, tag, branch)")
    parser.add_argument("new", nargs="?", help="the other revision (default: this working tree)")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each side (default 3)")
    parser.add_argument("--python", action="store_true", help="the arguments after -- are python's, not selfeval's")
    parser.add_argument("--ok", default="0,1", help="exit codes that count as success (default 0,1: findings)")
    raw = sys.argv[1:] if argv is None else argv
    if "--" not in raw:
        parser.error("give the command after --")
    cut = raw.index("--")
    options, args = parser.parse_args(raw[:cut]), raw[cut + 1:]
    if not args:
        parser.error("give the command after --")
    compare(options.old, options.new, args, rounds=options.rounds, python=options.python,
            ok={int(code) for code in options.ok.split(",")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
