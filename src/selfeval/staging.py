"""An output folder written whole: staged beside it, swapped in, locked while it is written.

`selfeval bulk` writes many files into one folder (the result tables, the league table, the
workbooks). A reader must find one run's files, all of them, or the previous run's — never a
mix — also when the run is stopped with SIGINT, killed with SIGKILL at any instruction, or when
two runs are started into the same folder. `ReplacedFolder(out)` gives that:

1. **Lock.** `.<out>.selfeval-lock` beside `out` is opened and `flock`-ed (exclusive, without
   waiting); a second run gets an OutputError naming the process that holds it. The kernel drops
   a flock when its process dies, however it dies, so a lock is never stale; the run removes the
   file when it ends (after locking, the file is checked to be the one at the path, so two runs
   never hold locks on different files).
2. **Clean.** Holding the lock proves that every other run on `out` has ended, so the staging
   and set-aside folders beside `out` (`.<out>.selfeval-staging-<pid>-<random>`,
   `.<out>.selfeval-old-<pid>-<random>`) belong to dead runs and are removed — after putting
   the old folder back when a run died between the two renames of the fallback in step 4.
3. **Stage.** The run writes everything into a fresh staging folder beside `out` (the same file
   system, so renames are atomic); `out` is not touched meanwhile.
4. **Commit.** `manifest.json` (the run id, its rules, the input digests, the tables with their
   row counts, every file with its size and sha256) is written last, then the staging folder and
   `out` are exchanged by one `renameat2(RENAME_EXCHANGE)` system call, or the staging folder is
   renamed to `out` when there was none: at every instant `out` is the old folder or the new one,
   complete. The old folder, now under the staging name, is removed.
   Where RENAME_EXCHANGE is missing (not Linux, or a file system without it), `out` is renamed
   aside and the staging folder renamed to `out`; a kill between the two renames leaves no `out`
   until the next run puts the old one back (step 2).
5. **Abort.** An exception (KeyboardInterrupt from SIGINT included) removes the staging folder
   and releases the lock; `out` is unchanged. SIGKILL leaves the staging folder behind for step 2
   of the next run.

Why the whole folder: the tables live at `out/<table>.parquet` (what scripts and the README
use), and several files can only change together if the folder holding them is swapped. So
`out` must belong to selfeval: an existing `out` holding anything the previous run did not write
(files not in its manifest; for outputs of older versions, names `owned` does not accept) or a
symbolic link is refused with an OutputError, never deleted. Files are not fsync-ed: the
guarantee holds when the process dies, not necessarily across a power cut.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selfeval.atomic import atomic_path, owner_pid, pid_alive
from selfeval.errors import OutputError

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def folder_files(folder: Path, *, skip_hidden: bool = False) -> list[dict[str, Any]]:
    """Every regular file under `folder` (links not followed) as {path (relative, /), bytes,
    sha256}, sorted by path; `skip_hidden` leaves out names starting with `.` or `~$`."""
    entries = []
    for root, dirs, names in os.walk(folder):
        if skip_hidden:
            dirs[:] = [d for d in dirs if not d.startswith((".", "~$"))]
        for name in names:
            path = Path(root) / name
            if (skip_hidden and name.startswith((".", "~$"))) or path.is_symlink() or not path.is_file():
                continue
            entries.append({"path": path.relative_to(folder).as_posix(), "bytes": path.stat().st_size, "sha256": file_sha256(path)})
    return sorted(entries, key=lambda e: e["path"])


def digest_of(entries: list[dict[str, Any]]) -> str:
    """One sha256 over a file listing (paths and file digests): a fingerprint of a data set."""
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(f"{entry['path']}\t{entry['sha256']}\n".encode())
    return digest.hexdigest()


def utc_now() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


# ----------------------------------------------------------------------------- lock


class OutputLock:
    """An exclusive lock on an output folder: `.<name>.selfeval-lock` beside it (see step 1)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out.parent / f".{out.name}.selfeval-lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise OutputError (another run holds it)."""
        try:
            import fcntl
        except ImportError:  # no flock (Windows): a lock file created exclusively
            self._acquire_exclusive()
            return
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        while True:
            fd = os.open(self.path, flags, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = os.read(fd, 64).decode(errors="replace").strip()
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise OutputError(self._busy(holder)) from None
                raise
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path, follow_symlinks=False))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the holder removed the file as we opened it: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def _acquire_exclusive(self) -> None:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = self.path.read_text(errors="replace").strip()
                if holder.isdigit() and not pid_alive(int(holder)):
                    with contextlib.suppress(OSError):
                        self.path.unlink()
                    continue
                raise OutputError(self._busy(holder)) from None
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return
        raise OutputError(self._busy(""))

    def _busy(self, holder: str) -> str:
        who = f"（进程 {holder}）" if holder.isdigit() else ""
        return (
            f"{self.out}：另一个 selfeval 运行{who}正在写出这个输出文件夹；请等它结束后再运行，或换一个 --out"
            f"（锁文件 {self.path}）"
        )

    def release(self) -> None:
        """Remove the lock file and drop the lock (removing first: a waiting run re-checks the path)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None


# ----------------------------------------------------------------------------- swap

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux `renameat2(RENAME_EXCHANGE)`); False when
    the system or file system cannot (then nothing was changed)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def _remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


class ReplacedFolder:
    """`with ReplacedFolder(out) as stage:` write into `stage.path`, then `stage.commit(manifest)`.

    See the module docstring for the steps and why they are all-or-nothing. `owned(relative
    path)` accepts the entries an output of an older version (without a manifest) may hold.
    """

    def __init__(self, out: str | os.PathLike[str], *, owned: Callable[[str], bool] = lambda _: False) -> None:
        self.given = Path(out)
        self.out = Path(out).resolve()  # a symbolic link to the folder is the user's: swap its target
        self.owned = owned
        self.run_id = secrets.token_hex(16)
        self.lock = OutputLock(self.out)
        self.path: Path | None = None
        self.committed = False
        self._prefix = f".{self.out.name}.selfeval-"

    def __enter__(self) -> ReplacedFolder:
        out = self.out
        if not out.name or out == out.parent:
            raise OutputError(f"{self.given}：不能用文件系统的根目录作为输出文件夹")
        if out.exists() and not out.is_dir():
            raise OutputError(f"{self.given}：已存在且不是文件夹；请为 --out 给出一个文件夹")
        out.parent.mkdir(parents=True, exist_ok=True)
        self.lock.acquire()
        try:
            self._recover_and_clean()
            self._refuse_foreign()
            self.path = out.parent / f"{self._prefix}staging-{os.getpid()}-{secrets.token_hex(4)}"
            self.path.mkdir()
        except BaseException:
            self.lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.path is not None and os.path.lexists(self.path):
                _remove_tree(self.path)  # the aborted staging folder, or the old folder after a commit
        finally:
            self.lock.release()

    def _leftovers(self) -> list[Path]:
        parent = self.out.parent
        return [
            parent / name for name in os.listdir(parent)
            if owner_pid(name, f"{self._prefix}staging-") is not None or owner_pid(name, f"{self._prefix}old-") is not None
        ]

    def _recover_and_clean(self) -> None:
        """Step 2: put back an old folder set aside by a run that died mid-swap; remove the rest."""
        leftovers = self._leftovers()
        if not os.path.lexists(self.out):
            aside = [p for p in leftovers if p.name.startswith(f"{self._prefix}old-") and p.is_dir()]
            if aside:
                newest = max(aside, key=lambda p: p.stat().st_mtime)
                os.rename(newest, self.out)
                leftovers.remove(newest)
        for path in leftovers:
            _remove_tree(path)

    def _refuse_foreign(self) -> None:
        """OutputError when the existing `out` holds a symbolic link or anything not written by bulk."""
        if not self.out.is_dir():
            return
        listed = _manifest_files(self.out / MANIFEST)
        foreign: list[str] = []
        for root, dirs, names in os.walk(self.out):
            dirs[:] = [d for d in dirs if not (_is_temp(d) and not (Path(root) / d).is_symlink())]
            for name in [*dirs, *names]:
                path = Path(root) / name
                rel = path.relative_to(self.out).as_posix()
                if path.is_symlink():
                    msg = f"{path} 是符号链接：bulk 不会通过符号链接写出，也不会替换它；请删除它或换一个输出文件夹"
                    raise OutputError(msg)
                if name in dirs or rel == MANIFEST or _is_temp(name):
                    continue
                if not (rel in listed if listed is not None else self.owned(rel)):
                    foreign.append(rel)
        if foreign:
            shown = "、".join(foreign[:3]) + (f" 等 {len(foreign)} 项" if len(foreign) > 3 else "")
            msg = (
                f"{self.given}：其中有不是上一次 bulk 写出的文件（{shown}）；bulk 会整体替换输出文件夹，"
                "为免删除这些文件，请换一个新的或空的输出文件夹"
            )
            raise OutputError(msg)

    def commit(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Write `manifest.json` (plus run_id, finished, files) last, then swap the folder in."""
        if self.path is None:
            msg = "commit() outside the with-block"
            raise RuntimeError(msg)
        document = {"run_id": self.run_id, **manifest, "finished": utc_now(), "files": folder_files(self.path)}
        with atomic_path(self.path / MANIFEST) as tmp:
            tmp.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        self._swap()
        self.committed = True
        return document

    def _swap(self) -> None:
        assert self.path is not None
        if not os.path.lexists(self.out):
            os.rename(self.path, self.out)
        elif not exchange(self.path, self.out):
            aside = self.out.parent / f"{self._prefix}old-{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(self.out, aside)
            try:
                os.rename(self.path, self.out)
            except BaseException:
                os.rename(aside, self.out)
                raise
            self.path = aside
        if os.path.lexists(self.path):  # the old folder
            _remove_tree(self.path)


def _is_temp(name: str) -> bool:
    """A temporary of a writer (`.<name>.<…>.tmp`) or the spill folder of older versions."""
    return (name.startswith(".") and name.endswith(".tmp")) or name == ".selfeval-parts"


def _manifest_files(path: Path) -> set[str] | None:
    """The files a manifest lists (None when there is no readable manifest)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return {str(entry["path"]) for entry in document["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest of an output folder, or None."""
    try:
        return json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


__all__ = ["MANIFEST", "OutputLock", "ReplacedFolder", "digest_of", "exchange", "file_sha256", "folder_files", "read_manifest"]
