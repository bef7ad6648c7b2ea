"""The node's writers queue first in, first out (edge.fifo_lock), so no writer loses the lock again and
again to newcomers."""

import threading
import time

import pytest

from edge.fifo_lock import FifoLock


def _wait_until(predicate: object, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.001)


def test_waiters_get_the_lock_in_the_order_they_came() -> None:
    lock = FifoLock()
    order: list[int] = []
    lock.acquire()
    threads = []
    for n in range(8):
        thread = threading.Thread(target=lambda n=n: _take(lock, order, n))
        thread.start()
        threads.append(thread)
        _wait_until(lambda n=n: lock.waiting() == n + 1)  # queued before the next one starts
    lock.release()
    for thread in threads:
        thread.join(timeout=5)
    assert order == list(range(8))
    assert lock.waiting() == 0


def _take(lock: FifoLock, order: list[int], n: int) -> None:
    with lock:
        order.append(n)


def test_a_newcomer_does_not_cut_in_before_a_waiter() -> None:
    lock = FifoLock()
    got: list[str] = []
    lock.acquire()
    waiter = threading.Thread(target=lambda: _take_named(lock, got, "waiter"))
    waiter.start()
    _wait_until(lambda: lock.waiting() == 1)
    lock.release()  # handed to the waiter at once: a newcomer now finds it held
    with lock:
        got.append("newcomer")
    waiter.join(timeout=5)
    assert got == ["waiter", "newcomer"]


def _take_named(lock: FifoLock, got: list[str], name: str) -> None:
    with lock:
        got.append(name)


def test_release_of_an_unheld_lock_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        FifoLock().release()


def test_the_database_writers_use_it(tmp_path: object) -> None:
    from pathlib import Path

    from edge.db import Database

    assert isinstance(tmp_path, Path)
    db = Database(tmp_path / "x.sqlite3")
    try:
        assert isinstance(db._writer_lock, FifoLock)
    finally:
        db.dispose()


def test_a_waiter_interrupted_leaves_the_queue() -> None:
    """Ctrl-C in a CLI's main thread while it waits: the lock must not be handed to it afterwards."""
    import signal

    lock = FifoLock()
    holder_has_it, let_go = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            holder_has_it.set()
            let_go.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    holder_has_it.wait(5)

    def interrupt_once_queued() -> None:
        _wait_until(lambda: lock.waiting() == 1)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)  # wakes the blocked acquire

    threading.Thread(target=interrupt_once_queued).start()
    with pytest.raises(KeyboardInterrupt):
        lock.acquire()  # this (main) thread queues, then is interrupted
    assert lock.waiting() == 0
    assert holder.is_alive()  # still holding it: the waiter left the queue, it was not handed the lock
    let_go.set()
    holder.join(timeout=5)
    with lock:  # free again: nobody was handed it
        pass
