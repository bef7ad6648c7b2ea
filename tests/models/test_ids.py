"""Ids are ULIDs, unique and strictly increasing within a process, even inside one millisecond."""

import threading
import time
from datetime import UTC, datetime
from itertools import pairwise
from types import SimpleNamespace

import pytest
from ulid import ULID

import models.ids
from models.ids import ULID_PATTERN, is_id, new_id

FIXED_SECONDS = 1_750_000_000.123  # 2025-06-15, a fixed millisecond


@pytest.fixture
def frozen_clock(monkeypatch):
    """Freeze the clock new_id reads and start from a clean 'last id', restoring both afterwards."""
    clock = SimpleNamespace(time=lambda: FIXED_SECONDS)
    monkeypatch.setattr(models.ids, "time", clock)
    monkeypatch.setattr(models.ids, "_last", None)
    return clock


def test_new_id_is_a_valid_ulid():
    value = new_id()
    assert isinstance(value, str)
    assert len(value) == 26
    assert is_id(value)
    assert str(ULID.from_str(value)) == value


def test_new_id_carries_the_current_time():
    before = datetime.now(UTC).replace(microsecond=0)
    value = new_id()
    after = datetime.now(UTC)
    stamped = ULID.from_str(value).datetime
    # ULIDs keep milliseconds; allow for the truncation at the low end.
    assert before <= stamped <= after


def test_ten_thousand_ids_are_unique_and_strictly_increasing():
    ids = [new_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(a < b for a, b in pairwise(ids))
    assert all(is_id(i) for i in ids)


def test_ids_in_the_same_millisecond_still_increase(frozen_clock):
    ids = [new_id() for _ in range(10_000)]
    assert len(set(ids)) == 10_000
    assert all(a < b for a, b in pairwise(ids))
    # All in one millisecond: same timestamp part, and each is the previous one plus one.
    assert {i[:10] for i in ids} == {ids[0][:10]}
    assert ULID.from_str(ids[0]).milliseconds == int(FIXED_SECONDS * 1000)
    assert all(int(ULID.from_str(b)) == int(ULID.from_str(a)) + 1 for a, b in pairwise(ids))


def test_ids_keep_increasing_when_the_clock_steps_back(monkeypatch, frozen_clock):
    first = new_id()
    monkeypatch.setattr(frozen_clock, "time", lambda: FIXED_SECONDS - 60)
    second = new_id()
    third = new_id()
    assert first < second < third


def test_ids_follow_the_clock_when_it_moves_on(monkeypatch, frozen_clock):
    first = new_id()
    monkeypatch.setattr(frozen_clock, "time", lambda: FIXED_SECONDS + 1)
    second = new_id()
    assert first < second
    assert ULID.from_str(second).milliseconds == int(FIXED_SECONDS * 1000) + 1000


def test_ids_from_several_threads_are_unique():
    threads_count, per_thread = 8, 2_000
    results: list[list[str]] = [[] for _ in range(threads_count)]
    start = threading.Barrier(threads_count)

    def work(out: list[str]) -> None:
        start.wait()
        for _ in range(per_thread):
            out.append(new_id())

    threads = [threading.Thread(target=work, args=(results[n],)) for n in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)

    everything = [i for chunk in results for i in chunk]
    assert len(everything) == threads_count * per_thread
    assert len(set(everything)) == len(everything)
    for chunk in results:  # each thread sees its own ids increase
        assert all(a < b for a, b in pairwise(chunk))


def test_ids_from_threads_in_one_millisecond_are_unique(frozen_clock):
    results: list[list[str]] = [[] for _ in range(4)]

    def work(out: list[str]) -> None:
        for _ in range(1_000):
            out.append(new_id())

    threads = [threading.Thread(target=work, args=(chunk,)) for chunk in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    everything = sorted(i for chunk in results for i in chunk)
    assert len(set(everything)) == 4_000
    # One millisecond, one process: the 4,000 ids are consecutive integers.
    assert int(ULID.from_str(everything[-1])) - int(ULID.from_str(everything[0])) == 3_999


def test_ids_sort_as_strings_in_time_order():
    earlier = str(ULID.from_timestamp(time.time() - 10))
    assert earlier < new_id()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "01J0000000000000000000000",  # 25 characters
        "01J000000000000000000000000",  # 27 characters
        "01j0000000000000000000000a",  # lower case is not canonical
        "01I00000000000000000000000",  # I, L, O and U are not in the alphabet
        "01L00000000000000000000000",
        "01O00000000000000000000000",
        "01U00000000000000000000000",
        "01J0000000000000000000000-",
        " 01J0000000000000000000000",
        "01J0000000000000000000000 ",
        "01J00000000000000000000000\n",  # regression: re.match with "$" accepted a trailing newline
        "cart-123",
    ],
)
def test_is_id_rejects(value):
    assert is_id(value) is False


@pytest.mark.parametrize(
    "value", ["01J00000000000000000000000", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "00000000000000000000000000"]
)
def test_is_id_accepts(value):
    assert is_id(value) is True


def test_ulid_pattern_is_anchored():
    assert ULID_PATTERN.startswith("^")
    assert ULID_PATTERN.endswith("$")
