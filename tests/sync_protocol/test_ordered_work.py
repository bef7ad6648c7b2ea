"""The keyed serial executor: order per key under concurrency, keys in parallel, a failing task isolated,
backpressure when the queue is full, and a close that runs or drops what waits and joins the threads.

Nothing here waits on the clock for an outcome: threads meet on events, and the timeouts only keep a broken
executor from hanging the run."""

import logging
import threading
from collections import defaultdict

import pytest

from sync_protocol.ordered_work import OrderedWork

WAIT_S = 10  # only ever reached when the executor is broken


def test_tasks_of_one_key_run_one_at_a_time_in_submission_order_while_keys_run_concurrently():
    work = OrderedWork(4, capacity=10_000)
    ran: dict[str, list[int]] = defaultdict(list)
    running: dict[str, int] = defaultdict(int)
    overlaps: list[str] = []
    guard = threading.Lock()

    def task(key: str, n: int) -> None:
        with guard:
            running[key] += 1
            if running[key] > 1:
                overlaps.append(key)
        ran[key].append(n)  # only this key's tasks touch its list
        with guard:
            running[key] -= 1

    submitters = [
        threading.Thread(
            target=lambda k=f"key-{s}": [work.submit(k, lambda k=k, n=n: task(k, n)) for n in range(500)]
        )
        for s in range(6)
    ]
    for t in submitters:
        t.start()
    for t in submitters:
        t.join(WAIT_S)
    work.close()
    assert overlaps == []
    assert dict(ran) == {f"key-{s}": list(range(500)) for s in range(6)}


def test_a_blocked_key_does_not_hold_another():
    work = OrderedWork(2, capacity=10)
    release = threading.Event()
    started_a = threading.Event()
    done_b = threading.Event()
    after_a: list[str] = []

    def blocked() -> None:
        started_a.set()
        assert release.wait(WAIT_S)

    work.submit("a", blocked)
    work.submit("a", lambda: after_a.append("second a"))
    assert started_a.wait(WAIT_S)
    work.submit("b", done_b.set)
    assert done_b.wait(WAIT_S)  # while a's first task still blocks
    assert after_a == []  # a's second task waits behind its first
    release.set()
    work.close()
    assert after_a == ["second a"]


def test_one_thread_runs_everything_in_submission_order():
    work = OrderedWork(1, capacity=100)
    gate = threading.Event()
    ran: list[str] = []
    work.submit("gate", lambda: gate.wait(WAIT_S))
    for name in ("a1", "a2", "b1", "a3", "c1", "b2"):
        work.submit(name[0], lambda name=name: ran.append(name))
    gate.set()
    work.close()
    assert ran == ["a1", "a2", "b1", "a3", "c1", "b2"]


def test_a_failing_task_is_logged_and_its_key_and_the_pool_go_on(caplog: pytest.LogCaptureFixture):
    work = OrderedWork(2, capacity=10)
    ran: list[str] = []

    def boom() -> None:
        raise RuntimeError("database down")

    with caplog.at_level(logging.ERROR, logger="sync_protocol.ordered_work"):
        work.submit("a", boom)
        work.submit("a", lambda: ran.append("a after the failure"))
        work.submit("b", boom)
        work.submit("b", lambda: ran.append("b after the failure"))
        work.close()
    assert sorted(ran) == ["a after the failure", "b after the failure"]
    failures = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], RuntimeError)]
    assert len(failures) == 2


def test_submit_blocks_while_the_queue_is_full_and_goes_on_when_a_task_starts():
    work = OrderedWork(1, capacity=2)
    release = threading.Event()
    running = threading.Event()
    work.submit("a", lambda: (running.set(), release.wait(WAIT_S)))
    assert running.wait(WAIT_S)  # started: no longer waiting, the queue is empty
    work.submit("a", lambda: None)
    work.submit("b", lambda: None)  # the queue holds two: full
    submitted = threading.Event()
    ran_last = threading.Event()

    def third() -> None:
        work.submit("c", ran_last.set)
        submitted.set()

    blocked = threading.Thread(target=third)
    blocked.start()
    assert not submitted.wait(0.2)  # still held: a queue that did not block would have let it through
    release.set()  # the running task ends, the next starts, and there is room again
    assert submitted.wait(WAIT_S)
    assert ran_last.wait(WAIT_S)
    blocked.join(WAIT_S)
    work.close()


def test_close_runs_what_waits_and_joins_the_threads():
    work = OrderedWork(2, capacity=100)
    gate = threading.Event()
    ran: list[int] = []
    work.submit("a", lambda: gate.wait(WAIT_S))
    for n in range(20):
        work.submit("a", lambda n=n: ran.append(n))
    gate.set()
    assert work.close() == 0
    assert ran == list(range(20))
    assert not any(t.is_alive() for t in work._threads)
    assert work.submit("a", lambda: ran.append(99)) is False  # closed: not taken
    assert ran == list(range(20))


def run_until_released(work: OrderedWork, ran: list[str]) -> threading.Event:
    """Start a task of key "a" on ``work`` that runs until the returned event is set, then notes "running"."""
    started = threading.Event()
    release = threading.Event()

    def running() -> None:
        started.set()
        release.wait(WAIT_S)
        ran.append("running")

    work.submit("a", running)
    assert started.wait(WAIT_S)
    return release


def test_close_can_drop_what_waits_but_lets_the_running_task_finish():
    work = OrderedWork(1, capacity=100)
    ran: list[str] = []
    release = run_until_released(work, ran)
    for n in range(5):
        work.submit("b", lambda n=n: ran.append(f"waiting {n}"))
    closer = threading.Thread(target=lambda: dropped.append(work.close(drop_waiting=True)))
    dropped: list[int] = []
    closer.start()
    release.set()
    closer.join(WAIT_S)
    assert dropped == [5]
    assert ran == ["running"]
    assert not any(t.is_alive() for t in work._threads)


def test_dropping_what_waits_keeps_the_running_task_and_the_pool():
    """What ``mqtt_link`` does when a connection ends: its waiting messages go, the pool takes new ones."""
    work = OrderedWork(1, capacity=3)
    ran: list[str] = []
    release = run_until_released(work, ran)
    for n in range(3):  # the room is full now
        work.submit("a" if n else "b", lambda n=n: ran.append(f"old {n}"))
    assert work.drop_waiting() == 3
    for n in range(3):  # room again, at once: a full queue would block this thread
        assert work.submit("a" if n else "b", lambda n=n: ran.append(f"new {n}"))
    release.set()
    work.close()
    assert ran == ["running", "new 0", "new 1", "new 2"]


def test_close_releases_a_submitter_blocked_on_a_full_queue():
    work = OrderedWork(1, capacity=1)
    release = threading.Event()
    running = threading.Event()
    work.submit("a", lambda: (running.set(), release.wait(WAIT_S)))
    assert running.wait(WAIT_S)
    work.submit("a", lambda: None)  # full
    answers: list[bool] = []
    blocked = threading.Thread(target=lambda: answers.append(work.submit("b", lambda: None)))
    blocked.start()
    closer = threading.Thread(target=lambda: work.close(drop_waiting=True))
    closer.start()
    blocked.join(WAIT_S)
    assert answers == [False]  # woken by the close, and the task not taken
    release.set()
    closer.join(WAIT_S)
    assert not closer.is_alive()


def test_nonsense_sizes_are_refused():
    with pytest.raises(ValueError, match="thread"):
        OrderedWork(0, capacity=1)
    with pytest.raises(ValueError, match="room"):
        OrderedWork(1, capacity=0)
