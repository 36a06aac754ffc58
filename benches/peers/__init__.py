"""Peers that `benches/bench_peers.py` times beside `selfeval bulk` on the same synth dataset.

- `plain_python`: the rules in plain Python (pyarrow reads, dict loops, `re`), as an analyst writes it;
- `duckdb_sql`: the same simplified rules as one DuckDB SQL query;
- `lower_bound`: read the needed columns, one join, one group-by (Polars) — no rule at all.

None of them imports selfeval. Run one on its own from the repository root:

    python -m benches.peers.plain_python DATASET OUT
"""
