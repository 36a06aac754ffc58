"""The SparkSession of a run: PySpark imported here only, errors as one line.

Local masters (`local[2]`, the default) run the executors' Python with this interpreter, so the
installed `selfeval` and its Polars are the ones scoring; on a cluster the executors need the
same package installed or shipped (README, "Running on Spark").
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any

from selfeval.errors import SelfevalError
from selfeval.spark import DEFAULT_MASTER

MIN_PYSPARK = (4, 0)
INSTALL_HINT = "pip install 'selfeval[spark]'"
# Shuffle partitions of a local run: the machine is shared and the groups are few and large.
LOCAL_SHUFFLE_PARTITIONS = 4


def require_pyspark() -> Any:
    """The pyspark module, or a SelfevalError saying how to install it."""
    try:
        import pyspark
    except ImportError:
        msg = f"--engine spark 需要 PySpark，当前环境未安装：请运行 {INSTALL_HINT}（另需 Java 17 或以上）"
        raise SelfevalError(msg) from None
    version = tuple(int(p) for p in pyspark.__version__.split(".")[:2] if p.isdigit())
    if version < MIN_PYSPARK:
        msg = f"--engine spark 需要 PySpark 4.0 或以上（当前 {pyspark.__version__}）：请运行 {INSTALL_HINT}"
        raise SelfevalError(msg)
    return pyspark


def is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def spark_session(master: str | None = None) -> Any:
    """The active SparkSession, or a new one on `master` (default `local[2]`)."""
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    master = master or DEFAULT_MASTER
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        msg = "--engine spark 需要 Java 17 或以上：找不到 java（请安装，例如 apt-get install default-jre-headless，或设置 JAVA_HOME）"
        raise SelfevalError(msg)
    builder = (
        SparkSession.builder.appName("selfeval").master(master)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if is_local(master):
        # the executors' Python is this one (with this selfeval), unless the user chose another
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        builder = (
            builder.config("spark.sql.shuffle.partitions", str(LOCAL_SHUFFLE_PARTITIONS))
            .config("spark.default.parallelism", str(LOCAL_SHUFFLE_PARTITIONS))
            .config("spark.driver.memory", os.environ.get("SELFEVAL_SPARK_DRIVER_MEMORY", "2g"))
            # catalog tables of a local run go to a temporary folder, not ./spark-warehouse
            .config("spark.sql.warehouse.dir", os.environ.get(
                "SELFEVAL_SPARK_WAREHOUSE", os.path.join(tempfile.gettempdir(), "selfeval-spark-warehouse")))
        )
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001  the JVM did not start: no Java, a bad master URL …
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = f"无法启动 Spark（master {master}）：{first}"
        raise SelfevalError(msg) from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


__all__ = ["INSTALL_HINT", "is_local", "require_pyspark", "spark_session"]
