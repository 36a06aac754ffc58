"""Bulk's helper threads: batches read ahead and written behind, in order, errors raised."""

from __future__ import annotations

import threading
import time

import pytest

from selfeval.background import InOrder, mapped_in_order, prefetched, started


def test_prefetched_yields_every_item_in_order_reading_ahead_in_another_thread() -> None:
    readers: list[str] = []

    def items():
        for i in range(5):
            readers.append(threading.current_thread().name)
            yield i

    assert list(prefetched(items())) == [0, 1, 2, 3, 4]
    assert readers and all(name.startswith("selfeval-read") for name in readers)


def test_prefetched_raises_a_reading_error_at_the_item_that_failed() -> None:
    def items():
        yield 1
        raise OSError("partition unreadable")

    got = []
    with pytest.raises(OSError, match="partition unreadable"):
        for item in prefetched(items()):
            got.append(item)
    assert got == [1]


def test_in_order_runs_work_in_the_order_handed_over_one_at_a_time() -> None:
    done: list[int] = []
    writer = InOrder()
    for i in range(4):
        def work(i: int = i) -> None:
            time.sleep(0.01 * (4 - i))  # the first pieces take longest: order must still hold
            done.append(i)
        writer.submit(work)
    writer.wait()
    writer.close()
    assert done == [0, 1, 2, 3]


def test_in_order_raises_a_writing_error_at_the_next_hand_off() -> None:
    writer = InOrder()

    def fail() -> None:
        raise OSError("disk full")

    writer.submit(fail)
    with pytest.raises(OSError, match="disk full"):
        writer.submit(lambda: None)
    writer.close()


@pytest.mark.parametrize("workers", [1, 3])
def test_mapped_in_order_gives_results_in_the_order_of_the_items(workers: int) -> None:
    def slow_square(i: int) -> int:
        time.sleep(0.002 * (6 - i))  # earlier items finish last
        return i * i

    assert list(mapped_in_order(slow_square, iter(range(6)), workers)) == [(i, i * i) for i in range(6)]


def test_mapped_in_order_raises_the_error_of_the_item_that_failed() -> None:
    def work(i: int) -> int:
        if i == 2:
            raise ValueError("batch 2")
        return i

    got = []
    with pytest.raises(ValueError, match="batch 2"):
        for item, _ in mapped_in_order(work, iter(range(5)), 2):
            got.append(item)
    assert got == [0, 1]


def test_started_runs_the_work_beside_the_caller_and_hands_over_its_result() -> None:
    release = threading.Event()
    ran_in: list[str] = []

    def work() -> int:
        ran_in.append(threading.current_thread().name)
        assert release.wait(5), "the caller should go on while the work waits"
        return 42

    future = started(work, "test")
    assert not future.done()  # the caller was not held up by the work
    release.set()
    assert future.result(timeout=5) == 42
    assert len(ran_in) == 1 and ran_in[0].startswith("selfeval-test")  # in a helper thread of its own


def test_started_raises_the_work_s_error_where_its_result_is_awaited() -> None:
    def work() -> None:
        raise ValueError("weights unreadable")

    future = started(work, "test")
    with pytest.raises(ValueError, match="weights unreadable"):
        future.result(timeout=5)
