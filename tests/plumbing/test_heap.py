"""Startup objects are left out of the collector's full collections (issue 22)."""

import gc

from plumbing import freeze_startup_heap


def test_what_exists_is_frozen_and_what_comes_later_is_not(unfrozen: None) -> None:
    before = [object()]
    frozen = freeze_startup_heap()
    assert frozen == gc.get_freeze_count() > 0
    later = [object()]
    tracked = {id(o) for o in gc.get_objects()}
    assert id(before) not in tracked  # frozen: a full collection does not walk it
    assert id(later) in tracked
