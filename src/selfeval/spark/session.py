"""The SparkSession of a run: PySpark imported here only, errors as one line.

Local masters (`local[2]`, the default) run the executors' Python with this interpreter, so the
installed `selfeval` and its Polars are the ones scoring; on a cluster the executors need the
same package installed or shipped (README, "Running on Spark").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from selfeval.errors import SelfevalError
from selfeval.spark import DEFAULT_MASTER

MIN_PYSPARK = (4, 0)
INSTALL_HINT = "pip install 'selfeval[spark]'"
# Shuffle partitions of a local run: the machine is shared and the groups are few and large.
LOCAL_SHUFFLE_PARTITIONS = 4


# Spark's own log lines on stderr (start-up notes, warnings, a failed task's stack) would drown
# selfeval's one-line messages: off for local runs unless SELFEVAL_DEBUG is set.
LOG4J = """status = error
rootLogger.level = {level}
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = {level}
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = {level}
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{{yy/MM/dd HH:mm:ss}} %p %c{{1}}: %m%n%ex
"""


def quiet_log4j() -> Path:
    """A log4j2 configuration for the driver JVM (level off; warn with SELFEVAL_DEBUG)."""
    level = "warn" if os.environ.get("SELFEVAL_DEBUG") else "off"
    path = Path(tempfile.gettempdir()) / f"selfeval-spark-log4j2-{level}.properties"
    text = LOG4J.format(level=level)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return path


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
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{quiet_log4j()}")
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
    spark.sparkContext.setLogLevel("WARN" if os.environ.get("SELFEVAL_DEBUG") else "OFF")
    return spark


@contextlib.contextmanager
def spark_errors(what: str) -> Iterator[None]:
    """A failure inside Spark (a file it cannot read, a lost executor …) as one SelfevalError line."""
    try:
        yield
    except SelfevalError:
        raise
    except Exception as exc:
        module = type(exc).__module__
        if not module.startswith(("pyspark", "py4j")):
            raise
        lines = [line.strip().lstrip(": ").strip() for line in str(exc).splitlines() if line.strip()]
        # a Py4JJavaError says "An error occurred while calling …" first, the Java exception next
        useful = [line for line in lines if not line.startswith("An error occurred while calling")]
        first = (useful or lines or [type(exc).__name__])[0][:400]
        msg = f"{what}：Spark 运行失败（{type(exc).__name__}）：{first}"
        raise SelfevalError(msg) from None


__all__ = ["INSTALL_HINT", "is_local", "require_pyspark", "spark_session"]
