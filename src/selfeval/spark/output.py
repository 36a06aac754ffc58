"""Folders Spark writes, whole or not at all.

Spark writes a table's part files straight into its target folder and a failed job leaves them
there; a run writes several tables. So what Spark writes is staged and swapped in, never written
in place:

* **A local folder** (`bulk --out`, `whatif --tables`, the job's `--output` without a scheme):
  `staging.ReplacedFolder`, the local engine's own lock, staging folder beside the output,
  `manifest.json` written last and atomic exchange.
* **A cluster path** (`hdfs://`, `s3a://`, `file://` … — the job's `--output`): a staging
  folder beside it on the same file system (Hadoop `FileSystem`), renamed to the output once
  every table is written, and removed when the run fails. A rename cannot exchange two folders
  there, so an existing output is refused: give each run its own path. On HDFS the rename is
  atomic; on object stores (s3a) a rename is a copy, so there the output is whole only once its
  `manifest.json` (written last) is there.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from selfeval.errors import OutputError
from selfeval.staging import MANIFEST


def spark_parts(relative: str) -> bool:
    """Whether a file of an older output folder (no manifest) is one Spark wrote there."""
    parts = relative.split("/")
    return parts[-1].endswith(".parquet") and all(p.startswith("unit_group=") for p in parts[1:-1])


def drop_spark_markers(folder: Path) -> None:
    """Spark's `_SUCCESS` and `.crc` side files: not results, and not in the manifest."""
    for root, _, names in os.walk(folder):
        for name in names:
            if name == "_SUCCESS" or (name.startswith(".") and name.endswith(".crc")):
                os.remove(Path(root) / name)


@contextlib.contextmanager
def hadoop_staged(spark: Any, output: str) -> Iterator[str]:
    """A staging path beside `output` (any Hadoop file system); renamed to `output` when the block
    ends without an error, removed otherwise."""
    hadoop = spark._jvm.org.apache.hadoop.fs  # PySpark's gateway to the JVM (Hadoop FileSystem: any cluster path)
    target = hadoop.Path(output.rstrip("/"))
    fs = target.getFileSystem(spark._jsc.hadoopConfiguration())
    if fs.exists(target):
        msg = f"{output}：输出路径已存在；集群路径无法整体替换，请为每次运行给出一个新的输出路径"
        raise OutputError(msg)
    stage = hadoop.Path(target.getParent(), f".{target.getName()}.selfeval-staging-{secrets.token_hex(4)}")
    try:
        yield stage.toString()
        fs.mkdirs(target.getParent())
        if not fs.rename(stage, target):
            msg = f"{output}：无法把暂存文件夹 {stage.toString()} 改名为输出路径（该路径是否已被另一次运行写出？）"
            raise OutputError(msg)
    finally:
        if fs.exists(stage):
            fs.delete(stage, True)


def write_manifest(spark: Any, folder: str, manifest: dict[str, Any]) -> None:
    """`manifest.json` into a Hadoop-path folder (the local one gets it from `ReplacedFolder.commit`)."""
    hadoop = spark._jvm.org.apache.hadoop.fs  # PySpark's gateway to the JVM (Hadoop FileSystem: any cluster path)
    path = hadoop.Path(f"{folder.rstrip('/')}/{MANIFEST}")
    stream = path.getFileSystem(spark._jsc.hadoopConfiguration()).create(path, False)
    try:
        stream.write(bytearray((json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()))
    finally:
        stream.close()


__all__ = ["drop_spark_markers", "hadoop_staged", "spark_parts", "write_manifest"]
