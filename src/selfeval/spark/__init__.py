"""The Spark engine (issue 16): `bulk` and `whatif` over a partitioned dataset on Apache Spark.

Spark only moves the data: every unit group is handed to the one Polars pipeline
(`selfeval.pipeline`) through Arrow (`groupBy(unit_group).applyInArrow`), so there is no second
implementation of the rules. PySpark is an optional dependency (`pip install 'selfeval[spark]'`)
imported only when this engine runs; `import selfeval` never loads it.

* `session.py`  the SparkSession (master, small shuffle, the executors' Python), one-line errors
* `packing.py`  several Polars tables in one Arrow/Spark frame (a tag column and prefixed columns)
* `bulk.py`     `score_dataset`: bulk's tables written by Spark, partitioned by unit group
* `whatif.py`   `whatif_spark`: every scenario in one pass over the data
"""

from __future__ import annotations

ENGINES = ("local", "spark")
DEFAULT_MASTER = "local[2]"

__all__ = ["DEFAULT_MASTER", "ENGINES"]
