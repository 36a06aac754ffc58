"""The Spark engine (issue 16): `bulk` and `whatif` over a partitioned dataset on Apache Spark.

Spark only moves the work: every unit group is handed to the one Polars pipeline
(`selfeval.pipeline`) on an executor — which reads the group's own Parquet files where it can,
else gets them from Spark through Arrow — so there is no second implementation of the rules.
PySpark is an optional dependency (`pip install 'selfeval[spark]'`) imported only when this
engine runs; `import selfeval` never loads it.

* `session.py`  the SparkSession (master, small shuffle, the executors' Python), one-line errors
* `groups.py`   each unit group to the pipeline: read on the executor (`mapInArrow`) or shuffled
* `inputs.py`   the tables read and stacked by Spark (catalog/Hive tables, paths Polars cannot open)
* `packing.py`  several Polars tables in one Arrow/Spark frame (a tag column and prefixed columns)
* `bulk.py`     `score_many_spark`: bulk's tables written by Spark, partitioned by unit group
* `whatif.py`   `whatif_spark`: every scenario in one pass over the data
* `output.py`   what Spark writes, staged and swapped in whole
* `job.py`      the `spark-submit` entry script (paths or Hive tables in and out)
"""

from __future__ import annotations

ENGINES = ("local", "spark")
DEFAULT_MASTER = "local[2]"

__all__ = ["DEFAULT_MASTER", "ENGINES"]
