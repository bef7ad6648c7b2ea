"""The kiosk's garbage collections come between touches (kiosk_ui/garbage.py): CPython's own collector,
steered, in this process."""

import gc
import weakref
from collections.abc import Iterator

import pytest

from kiosk_ui.garbage import NEVER, SWEEP_EVERY_S, QuietCollector


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def collector() -> Iterator[tuple[QuietCollector, Ticks]]:
    ticks = Ticks()
    quiet = QuietCollector(clock=ticks)
    before = gc.get_threshold()
    quiet.start()
    try:
        yield quiet, ticks
    finally:
        quiet.stop()
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == 0


def garbage_cycle() -> weakref.ref[Node]:
    node = Node()
    ref = weakref.ref(node)
    del node
    return ref


def test_start_freezes_what_lives_and_stops_automatic_full_collections(collector):
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[2] == NEVER


def test_a_render_is_collected_after_the_next_frame_only(collector):
    quiet, _ = collector
    assert quiet.frame_drawn() is False  # nothing rendered: no collection
    ref = garbage_cycle()
    quiet.rendered()
    assert quiet.due
    assert quiet.frame_drawn() is True
    assert ref() is None
    assert not quiet.due
    assert quiet.frame_drawn() is False  # one collection per render


def test_no_collection_while_the_touch_waits_for_the_node(collector):
    quiet, _ = collector
    quiet.rendered()
    assert quiet.frame_drawn(busy=True) is False
    assert quiet.due  # kept for the frame that shows the node's answer
    assert quiet.frame_drawn() is True


def test_a_sweep_waits_for_quiet_and_for_its_interval(collector):
    quiet, ticks = collector
    ref = garbage_cycle()
    assert quiet.sweep(idle_s=60) is False  # collected at start a moment ago
    ticks.now += SWEEP_EVERY_S + 1
    assert quiet.sweep(idle_s=0.2) is False  # someone is touching the screen
    assert quiet.sweep(idle_s=5) is True
    assert ref() is None
    assert quiet.collections == 1
