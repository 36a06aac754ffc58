"""Uploaded files: safe names, size limits, and zip archives unpacked without surprises.

A zip is refused (one Chinese line naming the archive and the entry) when it holds more than
`MAX_ENTRIES` entries, an entry whose name is absolute, climbs out (`..`), or names a drive, a
symbolic link, an entry whose compression ratio exceeds `MAX_RATIO` (a zip bomb), or more than
`MAX_UNPACKED` bytes in all — counted while inflating, not trusted from the header. Names written
without the UTF-8 flag are read as UTF-8 when they are (Info-ZIP on Linux, macOS), else as GBK
(Windows tools).
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from selfeval.atomic import atomic_path, safe_filename
from selfeval.errors import InputError, Problem

MAX_ENTRIES = 20_000
MAX_RATIO = 100
MAX_UNPACKED = 2 << 30  # 2 GiB
CHUNK = 1 << 20
SKIPPED_PARTS = ("__MACOSX",)


def save_upload(folder: Path, filename: str, data: bytes) -> Path:
    """Write one uploaded file into `folder` under a safe form of its name (atomically)."""
    name = safe_filename(PurePosixPath(filename.replace("\\", "/")).name, default="上传文件")
    target = folder / name
    n = 2
    while target.exists():
        target = folder / f"{Path(name).stem}_{n}{Path(name).suffix}"
        n += 1
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


def _entry_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if not info.flag_bits & 0x800:  # not flagged UTF-8: Info-ZIP (Linux) and macOS write UTF-8 anyway, Windows tools GBK
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            raw = b""
        for codec in ("utf-8", "gbk"):  # Chinese in GBK is hardly ever valid UTF-8: try UTF-8 first
            try:
                name = raw.decode(codec) if raw else name
                break
            except UnicodeDecodeError:
                continue
    return name.replace("\\", "/")


def _refuse(archive: Path, entry: str, message: str) -> InputError:
    return InputError(Problem(file=archive.name, message=f"压缩包中的 {entry!r}：{message}" if entry else message))


def unpack_zip(archive: Path, dest: Path, *, max_unpacked: int = MAX_UNPACKED) -> Path:
    """Unpack `archive` into `dest` and return the folder holding its content (the one top-level
    folder when the archive holds just one)."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(Problem(file=archive.name, message=f"不是有效的 zip 压缩包（{exc}）")) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise _refuse(archive, "", f"条目过多（{len(infos)} 个，最多 {MAX_ENTRIES} 个）")
        declared = sum(i.file_size for i in infos)
        if declared > max_unpacked:
            raise _refuse(archive, "", f"解压后共 {declared:,} 字节，超过上限 {max_unpacked:,} 字节")
        dest.mkdir(parents=True, exist_ok=True)
        written = 0
        for info in infos:
            name = _entry_name(info)
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                raise _refuse(archive, name, "路径指向压缩包之外，已拒绝")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise _refuse(archive, name, "是符号链接，已拒绝")
            if any(p in SKIPPED_PARTS for p in parts) or any(p.startswith(".") for p in parts):
                continue
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
                raise _refuse(archive, name, f"压缩比超过 {MAX_RATIO}:1（疑似压缩炸弹），已拒绝")
            target = dest.joinpath(*(safe_filename(p) for p in parts))
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                while block := src.read(CHUNK):
                    written += len(block)
                    if written > max_unpacked:
                        raise _refuse(archive, name, f"解压后超过上限 {max_unpacked:,} 字节，已拒绝")
                    out.write(block)
    return content_root(dest)


def content_root(folder: Path) -> Path:
    """`folder`, or its only sub-folder when it holds nothing else (a zipped folder; one level only,
    so a zipped county folder holding a single unit's folder stays the county)."""
    children = [c for c in folder.iterdir() if not c.name.startswith(".")]
    if len(children) == 1 and children[0].is_dir():
        return children[0]
    return folder


def remove_tree(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)


def file_size(path: Path) -> int:
    return os.stat(path).st_size
