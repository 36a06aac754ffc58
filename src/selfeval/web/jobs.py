"""Background jobs: long work (scoring, bulk, what-if, audit) runs in a worker thread, one at a
time (the machine's cores go to Polars), with its state and progress in the store.

A page shows a job's progress from the store, so it survives a reload; a server stopped while a
job waited or ran finds it again on start and runs it again from its stored inputs (its outputs
appear only when complete, see `Store.publish`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from selfeval.web.store import Record, Store

log = logging.getLogger("selfeval.web")

Progress = Callable[[float | None, str], None]
Work = Callable[[Store, Record, Progress], dict]


class JobFailed(Exception):
    """A job's failure with a message for the page (one line, in Chinese)."""


class Jobs:
    """Runs the work of a record's kind in the background and records how it went."""

    def __init__(self, store: Store, work: dict[str, Work], *, workers: int = 1):
        self.store = store
        self.work = work
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="selfeval-job")
        self._lock = threading.Lock()
        self._futures: dict[str, Future] = {}

    def submit(self, record: Record) -> Future:
        with self._lock:
            future = self._pool.submit(self._run, record.id)
            self._futures[record.id] = future
            return future

    def resume(self) -> int:
        """Queue again every job left waiting or running by a stopped server; how many."""
        waiting = self.store.unfinished_jobs()
        for record in waiting:
            if record.kind not in self.work:  # an upload read in its request (not a job): read again by uploading again
                self.store.update(record.id, status="failed", error="上传时服务中断，请重新上传", message="失败")
                continue
            self.store.update(record.id, status="queued", message="服务重启，重新排队")
            self.submit(record)
        return len(waiting)

    def wait(self, record_id: str, timeout: float | None = None) -> None:
        """Block until the job of `record_id` has finished (tests and the demo)."""
        future = self._futures.get(record_id)
        if future is not None:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, record_id: str) -> None:
        from selfeval.cli_support import error_line
        from selfeval.errors import SelfevalError

        record = self.store.record(record_id)
        if record is None:
            return
        self.store.sweep_staging(record_id)
        self.store.update(record_id, status="running", progress=0.0, message="开始", error=None, attempts=record.attempts + 1)

        def progress(fraction: float | None, message: str) -> None:
            self.store.update(record_id, progress=fraction, message=message)

        try:
            meta = self.work[record.kind](self.store, record, progress)
        except (JobFailed, SelfevalError, OSError) as exc:
            self.store.update(record_id, status="failed", error=self._shown(record, error_line(exc)), message="失败")
        except Exception as exc:
            log.exception("job %s (%s) failed", record_id, record.kind)
            self.store.update(record_id, status="failed", error=f"内部错误：{type(exc).__name__}：{exc}", message="失败")
        else:
            self.store.update(record_id, status="done", progress=1.0, message="完成", meta={**record.meta, **meta})
        finally:
            self.store.sweep_staging(record_id)

    def _shown(self, record: Record, text: str) -> str:
        """An error as the person knows the files: their names, not the store's folders."""
        return self.store.shown(text, record.id, record.parent)
