"""When the kiosk collects its garbage: between touches, never in the middle of one.

A screen's ``render()`` replaces its widget tree, and the old tree is a web of cycles (widgets know their
parents, their canvases, the callbacks bound to them) that only the cyclic garbage collector frees. Left to
CPython's thresholds, those trees pile up in the oldest generation until a full collection walks and frees
them all at once: 80-250 ms on a 2-core machine, in the middle of whichever touch came next, every few
touches (docs/performance.md, "Kiosk").

So the kiosk does what games do:
- what starting made (modules, Kivy, the screens, the fonts) lives as long as the kiosk: it is frozen out of
  the collector's sight (``gc.freeze``) once the first screen is up;
- the oldest generation is never collected automatically (the young ones still are: they are cheap);
- instead, right after the frame that shows a touch's result, one full collection frees the trees that touch
  replaced, while the shopper looks at the screen (not after a frame drawn while the touch still waits for
  the node: its answer is part of the touch);
- and every ``SWEEP_EVERY_S`` of no touch at all, one more, for what the health checks leave behind.
"""

import gc
import time
from collections.abc import Callable

SWEEP_EVERY_S = 30.0
# The oldest generation's threshold: collections of the middle one before the oldest is collected. CPython's
# default is 10; this many never comes between two of ours.
NEVER = 1_000_000


class QuietCollector:
    """Full garbage collections at quiet moments. ``start`` once the first screen is up; ``rendered`` after a
    screen redrew; ``frame_drawn`` after every frame (the window's ``on_flip``); ``sweep`` now and then."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._due = False
        self._last_full = clock()
        self._defaults = gc.get_threshold()
        self.collections = 0

    def start(self) -> None:
        gc.collect()
        gc.freeze()
        young, middle, _ = self._defaults
        gc.set_threshold(young, middle, NEVER)
        self._last_full = self._clock()

    def stop(self) -> None:
        gc.set_threshold(*self._defaults)
        gc.unfreeze()

    @property
    def due(self) -> bool:
        return self._due

    def rendered(self) -> None:
        """A screen replaced its widgets: collect once the frame showing them has been drawn."""
        self._due = True

    def frame_drawn(self, *, busy: bool = False) -> bool:
        """Called after each frame; collects when a render is waiting for it and the touch is not still
        waiting for the node (``busy``: its result will render again, and the collection waits for that
        frame). True when it collected."""
        if not self._due or busy:
            return False
        self._due = False
        self._collect()
        return True

    def sweep(self, idle_s: float) -> bool:
        """A collection after ``SWEEP_EVERY_S`` without one, when nobody has touched for ``idle_s``."""
        if idle_s < 1.0 or self._clock() - self._last_full < SWEEP_EVERY_S:
            return False
        self._collect()
        return True

    def _collect(self) -> None:
        gc.collect()
        self._last_full = self._clock()
        self.collections += 1
