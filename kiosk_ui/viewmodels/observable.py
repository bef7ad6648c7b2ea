"""The one way a view-model tells its screen to redraw: ``watch`` a callback, ``changed()`` calls them."""

from collections.abc import Callable


class Observable:
    def __init__(self) -> None:
        self._watchers: list[Callable[[], None]] = []

    def watch(self, callback: Callable[[], None]) -> None:
        self._watchers.append(callback)

    def changed(self) -> None:
        for callback in list(self._watchers):
            callback()
