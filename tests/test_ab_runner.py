"""`benches/ab.py`: one command under two revisions, in turns, each side importing its own code."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="the A/B runner needs git")


def _ab():
    spec = importlib.util.spec_from_file_location("selfeval_bench_ab", ROOT / "benches" / "ab.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def _repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A git repository whose `src/abprobe.py` says v1 in its first commit and v2 in its second."""
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)

    def git(*args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo,
                              check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    revs = []
    for version in ("v1", "v2"):
        (repo / "src" / "abprobe.py").write_text(f"VERSION = {version!r}\n", encoding="utf-8")
        git("add", "-A")
        git("commit", "-q", "-m", version)
        revs.append(git("rev-parse", "HEAD"))
    (repo / "src" / "abprobe.py").write_text("VERSION = 'working tree'\n", encoding="utf-8")  # uncommitted
    return repo, revs[0], revs[1]


def test_sides_run_in_turns_each_on_its_own_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It should run each side `rounds` times, importing the old, the new or the working tree's code, and clean up."""
    ab = _ab()
    repo, first, second = _repo(tmp_path)
    probe = ["-c", "import abprobe, sys; print(abprobe.VERSION); open(sys.argv[1] + '.txt', 'w').close()", "{out}"]
    old, new = ab.compare(first, second, probe, rounds=2, python=True, ok={0}, root=repo)
    assert [o.strip() for o in old.outputs] == ["v1", "v1"]
    assert [o.strip() for o in new.outputs] == ["v2", "v2"]
    assert len(old.runs) == len(new.runs) == 2 and all(wall > 0 and cpu >= 0 for wall, cpu in old.runs + new.runs)
    printed = capsys.readouterr().out
    assert printed.count("round ") == 4 and "best of 2" in printed
    old_wt, tree = ab.compare(first, None, probe, rounds=1, python=True, ok={0}, root=repo)
    assert tree.outputs[0].strip() == "working tree" and old_wt.outputs[0].strip() == "v1"
    listed = subprocess.run(["git", "worktree", "list"], cwd=repo, check=True, capture_output=True, text=True).stdout
    assert len(listed.strip().splitlines()) == 1  # the temporary worktrees are gone


def test_a_failing_side_stops_the_comparison(tmp_path: Path) -> None:
    """It should stop with the failing side's exit code and the end of its error output."""
    ab = _ab()
    repo, first, second = _repo(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        ab.compare(first, second, ["-c", "import sys; sys.exit('broken probe')"], rounds=1, python=True, ok={0}, root=repo)
    assert "exit 1" in str(stopped.value) and "broken probe" in str(stopped.value)


def test_command_line_needs_a_command() -> None:
    """It should refuse a call without the command after --."""
    done = subprocess.run([sys.executable, str(ROOT / "benches" / "ab.py"), "HEAD"], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "--" in done.stderr
