"""Hybrid logical clocks: monotonic whatever the wall clock does, causal across nodes, bounded, and encoded as
strings that sort like the stamps."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_protocol.errors import ClockDriftExceeded, InvalidHLC
from sync_protocol.hlc import DEFAULT_MAX_DRIFT_MS, HLC, MAX_COUNTER, MAX_WALL_MS, HybridClock

T0 = 1_750_000_000_000

nodes = st.from_regex(r"[A-Za-z0-9_.:-]{1,12}", fullmatch=True)
stamps = st.builds(HLC, st.integers(0, MAX_WALL_MS), st.integers(0, MAX_COUNTER), nodes)


def test_a_tick_follows_the_wall_clock_and_counts_within_a_millisecond():
    clock = HybridClock("node-a")
    assert clock.tick(T0) == HLC(T0, 0, "node-a")
    assert clock.tick(T0) == HLC(T0, 1, "node-a")
    assert clock.tick(T0 + 5) == HLC(T0 + 5, 0, "node-a")


def test_a_wall_clock_stepping_back_never_makes_a_smaller_stamp():
    clock = HybridClock("node-a")
    first = clock.tick(T0)
    second = clock.tick(T0 - 60_000)  # NTP stepped the clock back a minute
    assert second > first
    assert second == HLC(T0, 1, "node-a")


def test_observe_follows_the_kulkarni_cases():
    clock = HybridClock("b", last=HLC(T0, 3, "b"))
    # remote and local share the largest wall: max counter + 1
    assert clock.observe(HLC(T0, 7, "a"), T0 - 10) == HLC(T0, 8, "b")
    # local wall largest: local counter + 1
    assert clock.observe(HLC(T0 - 1, 50, "a"), T0 - 10) == HLC(T0, 9, "b")
    # remote wall largest: remote counter + 1
    assert clock.observe(HLC(T0 + 2, 4, "a"), T0) == HLC(T0 + 2, 5, "b")
    # physical time past both: counter resets
    assert clock.observe(HLC(T0 + 3, 9, "a"), T0 + 10) == HLC(T0 + 10, 0, "b")


def test_a_received_stamp_makes_later_local_stamps_greater_than_it():
    cloud = HybridClock("cloud")
    node = HybridClock("node")
    sent = cloud.tick(T0 + 2_000)  # the cloud's clock is 2 s ahead of the node's
    node.observe(sent, T0)
    assert node.tick(T0) > sent


def test_a_remote_too_far_ahead_is_refused_and_leaves_the_clock_alone():
    clock = HybridClock("node", max_drift_ms=1_000)
    before = clock.tick(T0)
    with pytest.raises(ClockDriftExceeded) as caught:
        clock.observe(HLC(T0 + 1_001, 0, "rogue"), T0)
    assert caught.value.ahead_ms == 1_001
    assert caught.value.max_drift_ms == 1_000
    assert clock.last == before
    assert clock.observe(HLC(T0 + 1_000, 0, "honest"), T0) == HLC(T0 + 1_000, 1, "node")


def test_the_default_drift_allowance_is_five_minutes():
    clock = HybridClock("node")
    assert clock.max_drift_ms == DEFAULT_MAX_DRIFT_MS == 300_000
    clock.observe(HLC(T0 + 300_000, 0, "x"), T0)
    with pytest.raises(ClockDriftExceeded):
        clock.observe(HLC(T0 + 300_001 + 300_000, 0, "x"), T0 + 300_000)


def test_the_counter_is_bounded_by_borrowing_the_next_millisecond():
    clock = HybridClock("node", last=HLC(T0, MAX_COUNTER, "node"))
    assert clock.tick(T0) == HLC(T0 + 1, 0, "node")
    clock = HybridClock("node", last=HLC(T0, 10, "node"))
    assert clock.observe(HLC(T0, MAX_COUNTER, "other"), T0) == HLC(T0 + 1, 0, "node")


def test_a_clock_restored_from_its_last_stamp_keeps_increasing():
    clock = HybridClock("node")
    for _ in range(3):
        clock.tick(T0)
    restored = HybridClock("node", last=clock.last)
    assert restored.tick(T0 - 1_000) > clock.last  # rebooted with a clock behind the old one


def test_a_clock_cannot_be_restored_from_another_nodes_stamp():
    with pytest.raises(InvalidHLC):
        HybridClock("node", last=HLC(T0, 0, "other"))


@pytest.mark.parametrize(
    ("wall", "counter", "node"),
    [(-1, 0, "n"), (MAX_WALL_MS + 1, 0, "n"), (0, -1, "n"), (0, MAX_COUNTER + 1, "n"), (0, 0, ""),
     (0, 0, "a/b"), (0, 0, "a+b"), (0, 0, "a#"), (0, 0, "x" * 65), (True, 0, "n"), (0.5, 0, "n")],
)  # fmt: skip
def test_out_of_range_stamps_are_refused(wall, counter, node):
    with pytest.raises(InvalidHLC):
        HLC(wall, counter, node)


@pytest.mark.parametrize("now", [-1, 1.5, MAX_WALL_MS + 1, True])
def test_now_must_be_integer_milliseconds(now):
    with pytest.raises(ValueError, match="now_ms"):
        HybridClock("n").tick(now)


def test_encoding_is_fixed_width_hex_then_node():
    assert HLC(T0, 10, "node-a").encode() == "01977420dc00-000a-node-a"
    assert str(HLC(0, 0, "n")) == "000000000000-0000-n"


@pytest.mark.parametrize(
    "text",
    ["", "01977420DC00-000a-n", "1977420dc00-000a-n", "01977420dc00-00a-n", "01977420dc00-000a-",
     "01977420dc00-000a-a/b", "01977420dc00_000a_n", " 01977420dc00-000a-n", "01977420dc00-000a-n\n"],
)  # fmt: skip
def test_parse_accepts_only_the_canonical_spelling(text):
    with pytest.raises(InvalidHLC):
        HLC.parse(text)


@given(stamps)
def test_encode_parse_round_trips(stamp):
    assert HLC.parse(stamp.encode()) == stamp


@given(stamps, stamps)
def test_encoded_strings_sort_exactly_like_stamps(a, b):
    assert (a < b) == (a.encode() < b.encode())
    assert (a == b) == (a.encode() == b.encode())
    assert (a < b) == ((a.wall_ms, a.counter, a.node) < (b.wall_ms, b.counter, b.node))


events = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(-5_000, 5_000)),
        st.tuples(st.just("observe"), st.integers(-5_000, 5_000), st.integers(-2_000, 2_000),
                  st.integers(0, MAX_COUNTER), nodes),
    ),
    min_size=1,
    max_size=60,
)  # fmt: skip


@given(events)
def test_stamps_strictly_increase_and_exceed_what_was_received(script):
    clock = HybridClock("me", max_drift_ms=1_000)
    previous = clock.last
    for step in script:
        if step[0] == "tick":
            now = T0 + step[1]
            stamp = clock.tick(now)
        else:
            _, offset, remote_offset, counter, node = step
            now = T0 + offset
            remote = HLC(now + remote_offset, counter, node)
            if remote_offset > 1_000:
                with pytest.raises(ClockDriftExceeded):
                    clock.observe(remote, now)
                assert clock.last == previous
                continue
            stamp = clock.observe(remote, now)
            assert stamp > remote
        assert stamp > previous
        assert stamp.wall_ms >= now
        assert stamp.node == "me"
        assert clock.last == stamp
        previous = stamp
