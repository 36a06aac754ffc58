"""Overlap a batch run's reading, scoring and writing in helper threads.

Polars and pyarrow release the GIL while they read Parquet, write Parquet/CSV or compute, so the
next batch can be read, batches scored side by side on the machine's cores, and the last one
written while the main thread gathers results. Work waiting in each direction is bounded (one
batch to read, `workers` to score, one to write), so memory stays bounded too; an error in a
helper thread is raised in the main thread at the next hand-off.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
_END = object()


def started(work: Callable[[], R], name: str) -> Future[R]:
    """`work` begun in a helper thread of its own, its result to be awaited later (Polars releases
    the GIL, so independent parts of one run proceed on both cores)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"selfeval-{name}")
    try:
        return pool.submit(work)
    finally:
        pool.shutdown(wait=False)  # the thread ends with its one piece of work


def prefetched(items: Iterator[T]) -> Iterator[T]:
    """`items` in order, the next one fetched in a helper thread while the caller works on this one."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="selfeval-read") as pool:
        upcoming = pool.submit(next, items, _END)
        while True:
            item = upcoming.result()
            if item is _END:
                return
            upcoming = pool.submit(next, items, _END)
            yield item  # type: ignore[misc]


def mapped_in_order(work: Callable[[T], R], items: Iterator[T], workers: int) -> Iterator[tuple[T, R]]:
    """(item, work(item)) for each of `items`, in order, up to `workers` items worked on at once."""
    if workers <= 1:
        for item in items:
            yield item, work(item)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="selfeval-score") as pool:
        pending: deque[tuple[T, Future[R]]] = deque()
        try:
            for item in items:
                pending.append((item, pool.submit(work, item)))
                if len(pending) >= workers:
                    done, future = pending.popleft()
                    yield done, future.result()
            while pending:
                done, future = pending.popleft()
                yield done, future.result()
        finally:
            for _, future in pending:  # stopped early: what has not started never will
                future.cancel()


class InOrder:
    """Work done in a helper thread, in the order handed over, at most one piece pending."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="selfeval-write")
        self._pending: Future[None] | None = None

    def submit(self, work: Callable[[], None]) -> None:
        """Start `work` once the previous piece is done (its error, if any, is raised here)."""
        self.wait()
        self._pending = self._pool.submit(work)

    def wait(self) -> None:
        """Wait for the pending piece; raise its error."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Wait for the pending piece (errors are the caller's to raise through `wait`) and stop."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.exception()
        self._pool.shutdown(wait=True)


__all__ = ["InOrder", "mapped_in_order", "prefetched"]
