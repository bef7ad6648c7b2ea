"""The measuring half of bench/kiosk.py: runs *inside* the kiosk process, which it starts the way a shop does
(``edgestore kiosk``, through the project's CLI), with a probe attached to the app before it runs.

Run as ``python bench/kiosk_probe.py CONFIG.json`` by bench/kiosk.py, one process per run (Kivy keeps one
window per process). CONFIG: {"mode": "cold" | "flow", "entry": "edgestore" | "kiosk_ui", "edgeUrl",
"size": "800x480", "lang", "out": folder, "cycles", "settle", "query"}. It writes out/result.json:

  {"mode", "marks": {name: time.monotonic()}, "rss_at": {name: bytes}, "samples": [...], "first": [...],
   "memory": {...}, "rss_by_cycle", "resident_by_mapping", "gc": {...}, "gl": {...}, "frames", "cpu_s",
   "flow_cpu_s", "error": null or a message}

A sample is one touch: {"label", "cycle", "widget", "ms", "node_ms", "render_ms", "gc_ms", "gc_full",
"renders", "frames", "frames_not_shown"}.

Times are ``time.monotonic()`` (CLOCK_MONOTONIC on Linux, one clock for every process of the machine), so
bench/kiosk.py subtracts the moment it started this process from ``marks["first_frame"]``.

- **cold**: stops at the first frame drawn after the attract screen is current.
- **flow**: one unmeasured shopper ("first", the first of this process), then ``cycles`` measured ones.
  Each shopper: start -> browse, the keyboard, the Zhuyin keys of ``query`` one by one (the list
  re-queried after each), clear, hide the keyboard, a category, a product, add, the cart, pay, cash, notes,
  confirm -> receipt, done. Every touch is a sample: from the touch (injected as Kivy's tests do, on the
  widget's centre) to the ``on_flip`` of the first frame drawn after (1) the expected screen is current,
  (2) every node call the touch started has come back and its result has been applied (``app.busy`` went
  false for it), (3) the screen was rebuilt (``render()``) after that, and (4) the result is in the widget
  tree (the grid's first tile is the list's first product; the product's "add"; the receipt's "done").
  Progress lines go to stdout.
"""

import gc
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

T_MAIN = time.monotonic()  # the interpreter is up and runs this file

STEP_TIMEOUT_S = 30.0
LOST_AFTER_S = 2.0  # a touch that changed nothing (no render, no node call) this long after was lost
PAGE = os.sysconf("SC_PAGE_SIZE")


def kivy_cache_usage() -> dict[str, int]:
    """Kivy's own caches after the flow (label and image textures live there): objects per category."""
    from kivy.cache import Cache

    return {category: len(objects) for category, objects in Cache._objects.items() if objects}


def rss_now() -> int:
    """This process's resident set in bytes (/proc/self/statm: cheap enough to read at each mark)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return -1


def resident_by_mapping(top: int = 12) -> list[tuple[str, int]]:
    """Where the resident memory is (/proc/self/smaps): bytes per mapped file (its name) or kind of
    anonymous memory, the largest ``top``."""
    sizes: dict[str, int] = {}
    name = "?"
    try:
        for line in Path("/proc/self/smaps").read_text().splitlines():
            fields = line.split()
            if fields and "-" in fields[0] and not fields[0].endswith(":"):
                name = (
                    Path(fields[5]).name
                    if len(fields) > 5 and fields[5].startswith("/")
                    else " ".join(fields[5:]) or "[anonymous]"
                )
            elif fields and fields[0] == "Rss:":
                sizes[name] = sizes.get(name, 0) + int(fields[1]) * 1024
    except (OSError, ValueError, IndexError):
        return []
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:top]


@dataclass
class Tap:
    """One touch: the widget (its kiosk_name, or a function giving it when the step runs), the screen it
    leads to, the label it is measured under, and whether it calls the node (then a sample without a node
    call is an error of the probe: the touch's handler did not run within the touch)."""

    name: str | Callable[[], str]
    expect: str
    label: str
    node: bool = False


@dataclass
class Active:
    tap: Tap
    widget_name: str
    t0: float
    render_mark: int  # render count when the touch (or the last of its node calls' results) happened
    pending: int = 0  # node calls this touch started that have not come back
    calls: int = 0  # node calls this touch started
    node_s: float = 0.0
    render_s: float = 0.0
    renders: int = 0
    frames: int = 0
    frames_not_shown: int = 0  # frames where (1)-(3) held but the result was not in the widget tree yet
    gc_s: float = 0.0  # the garbage collector's pauses meanwhile (in any thread: it holds the GIL)
    gc_full: int = 0  # of them, collections of the oldest generation
    errors: list[str] = field(default_factory=list)  # what its node calls raised
    touch_uid: int = -1
    seen: list[str] = field(default_factory=list)  # who saw the touch: window, manager, screen, the widget
    transition_active: bool = False  # the screen manager's, when touched (it ignores touches meanwhile)


@dataclass
class Probe:
    app: Any
    config: dict[str, Any]
    marks: dict[str, float]
    out: Path
    samples: list[dict[str, Any]] = field(default_factory=list)
    first: list[dict[str, Any]] = field(default_factory=list)
    steps: list[Tap] = field(default_factory=list)
    cycle: int = 0  # 0: the unmeasured first shopper
    active: Active | None = None
    attributing: int = 0  # > 0 while a touch (or a result it brought) runs: node calls made now are its
    render_count: int = 0
    ready_at: float = 0.0
    deadline: float = 0.0
    frames: int = 0
    finished: bool = False
    started_flow: bool = False
    gl: dict[str, str] = field(default_factory=dict)
    cpu_at_flow_start: float = 0.0
    gc_started: float = 0.0
    gc_total_s: float = 0.0
    gc_runs: list[int] = field(default_factory=lambda: [0, 0, 0])
    gc_pause_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    gc_collected: list[int] = field(default_factory=lambda: [0, 0, 0])
    rss_by_cycle: list[int] = field(default_factory=list)
    rss_at: dict[str, int] = field(default_factory=dict)
    gc_end: dict[str, float] = field(default_factory=dict)
    lost: list[dict[str, Any]] = field(default_factory=list)
    touches: int = 0
    error: str | None = None

    # --- hooks ----------------------------------------------------------------------------------------

    def attach(self) -> None:
        from kivy.clock import Clock
        from kivy.core.window import Window

        import kiosk_ui.screens.base as base

        probe = self
        render = base.KioskScreen.render

        def timed_render(screen: base.KioskScreen) -> None:
            t = time.monotonic()
            render(screen)
            probe.render_count += 1
            if probe.active is not None:
                probe.active.render_s += time.monotonic() - t
                probe.active.renders += 1

        base.KioskScreen.render = timed_render  # type: ignore[method-assign,assignment]
        call_node = self.app.call_node

        def counted_call_node(work: Callable[[], Any], then: Callable[[Any], object], **kwargs: Any) -> None:
            active = probe.active if probe.attributing else None
            if active is None:  # the health poll, or a call no touch started
                call_node(work, then, **kwargs)
                return
            active.pending += 1
            active.calls += 1

            def timed_work() -> Any:
                t = time.monotonic()
                try:
                    return work()
                except Exception as exc:
                    active.errors.append(f"{type(exc).__name__}: {exc}")
                    raise
                finally:
                    active.node_s += time.monotonic() - t  # one worker thread: no other writer

            def counted_then(result: Any) -> object:
                active.pending -= 1
                active.render_mark = probe.render_count
                probe.attributing += 1
                try:
                    return then(result)
                finally:
                    probe.attributing -= 1

            call_node(timed_work, counted_then, **kwargs)

        self.app.call_node = counted_call_node
        gc.callbacks.append(self.on_gc)
        self.app.bind(on_start=lambda *_: self.mark("on_start"))
        Window.bind(on_touch_down=self.seen("window:down"), on_touch_up=self.seen("window:up"))
        Window.bind(on_flip=self.on_flip)
        Clock.schedule_interval(self.tick, 0)

    def seen(self, where: str) -> Callable[..., None]:
        """A listener noting that the measured touch reached ``where``: an ``on_touch_*`` listener (it never
        handles the touch) or a button's ``on_press`` / ``on_release`` (the touch is its ``last_touch``)."""

        def record(widget: Any, *args: Any) -> None:
            touch = args[0] if args else getattr(widget, "last_touch", None)
            active = self.active
            if active is not None and touch is not None and active.touch_uid == touch.uid:
                active.seen.append(where)

        return record

    def watch_screens(self) -> None:
        screens = self.app.screens
        screens.bind(on_touch_down=self.seen("manager:down"), on_touch_up=self.seen("manager:up"))
        for screen in screens.screens:
            screen.bind(on_touch_down=self.seen("screen:down"), on_touch_up=self.seen("screen:up"))

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.gc_started = time.monotonic()
            return
        pause = time.monotonic() - self.gc_started
        self.gc_total_s += pause
        self.gc_runs[info["generation"]] += 1
        self.gc_pause_s[info["generation"]] += pause
        self.gc_collected[info["generation"]] += info["collected"]
        if self.active is not None:
            self.active.gc_s += pause
            self.active.gc_full += info["generation"] == 2

    def on_flip(self, *_: object) -> None:
        now = time.monotonic()
        self.frames += 1
        if "first_frame" not in self.marks and self.app.screens.current == "attract":
            self.marks["first_frame"] = now
            self.rss_at["first_frame"] = rss_now()
            self.read_gl()
            self.watch_screens()
            if self.config["mode"] == "cold":
                self.finish()
            else:
                self.ready_at = now + 1.0  # let the first health poll come back
            return
        active = self.active
        if active is None:
            return
        active.frames += 1
        if not self.state_done(active):
            return
        if not self.shows_result(active):
            active.frames_not_shown += 1
            return
        self.active = None
        if active.tap.node and not active.calls:
            self.fail(f"{active.widget_name}: no node call within the touch (the probe would mis-time it)")
            return
        sample = {
            "label": active.tap.label,
            "cycle": self.cycle,
            "widget": active.widget_name,
            "ms": (now - active.t0) * 1000,
            "node_ms": active.node_s * 1000,
            "render_ms": active.render_s * 1000,
            "renders": active.renders,
            "calls": active.calls,
            "frames": active.frames,
            "frames_not_shown": active.frames_not_shown,
            "gc_ms": active.gc_s * 1000,
            "gc_full": active.gc_full,
            "seen": active.seen,
        }
        (self.samples if self.cycle > 0 else self.first).append(sample)
        self.ready_at = now + float(self.config["settle"])
        self.deadline = self.ready_at + STEP_TIMEOUT_S

    def state_done(self, active: Active) -> bool:
        return (
            self.app.screens.current == active.tap.expect
            and active.pending == 0
            and self.render_count > active.render_mark
        )

    def shows_result(self, active: Active) -> bool:
        screen = self.app.screens.current_screen
        if active.tap.expect == "browse":
            items = self.app.kiosk.catalog.items
            if not items:
                return True
            grid = getattr(screen, "grid", None)
            tiles = grid.children[0].children if grid is not None and grid.children else []
            return any(getattr(t, "product_id", "") == items[0].product_id for t in tiles)
        if active.tap.expect == "product":
            return self.named(screen, "add") is not None
        if active.tap.expect == "receipt":
            return self.named(screen, "done") is not None
        return True

    # --- the shopper ----------------------------------------------------------------------------------

    def shopper(self) -> list[Tap]:
        kiosk = self.app.kiosk
        n = self.cycle

        def category() -> str:
            categories = kiosk.catalog.categories
            return f"category:{categories[n % len(categories)].category_id}"

        def product() -> str:
            return f"product:{kiosk.catalog.items[0].product_id}"

        query = str(self.config["query"])
        return [
            Tap("start", "browse", "browse: attract -> first page", node=True),
            Tap("keyboard", "browse", "open the keyboard"),
            *[
                Tap(f"key:{k}", "browse", f"Zhuyin key ({i + 1} of {len(query)})", node=True)
                for i, k in enumerate(query)
            ],
            Tap("clear", "browse", "clear the search", node=True),
            Tap("keyboard", "browse", "hide the keyboard"),
            Tap(category, "browse", "open a category", node=True),
            Tap(product, "product", "open a product", node=True),
            Tap("add", "browse", "add to cart: product -> browse", node=True),
            Tap("cart", "cart", "open the cart"),
            Tap("pay", "pay", "pay: cart -> pay"),
            Tap("cash", "pay", "cash"),
            Tap("note:1000", "pay", "a NT$1,000 note"),
            Tap("note:1000", "pay", "a NT$1,000 note"),  # a synthetic product costs at most NT$1,999
            Tap("confirmCash", "receipt", "pay: confirm cash -> receipt", node=True),
            Tap("done", "attract", "done -> attract"),
        ]

    def tick(self, _dt: float) -> None:
        if self.finished or "first_frame" not in self.marks or self.config["mode"] != "flow":
            return
        try:
            self.advance()
        except Exception:
            import traceback

            self.fail(traceback.format_exc())

    def advance(self) -> None:
        now = time.monotonic()
        if not self.started_flow:
            if now < self.ready_at or self.app.busy:
                return
            self.started_flow = True
            self.cpu_at_flow_start = time.process_time()
            self.steps = self.shopper()
            self.deadline = now + STEP_TIMEOUT_S
        active = self.active
        if active is not None and not (active.renders or active.calls) and now - active.t0 > LOST_AFTER_S:
            self.touch_lost(active, now)
            return
        if active is not None:
            if active.errors or self.app.problem:
                self.fail(
                    f"{active.widget_name}: the node call failed {active.errors}, the kiosk says {self.app.problem!r}"
                )
            elif now > self.deadline:
                self.fail(
                    f"{active.widget_name} never finished ({active.pending} node calls pending, "
                    f"{active.renders} renders): {self.describe()}"
                )
            return
        if not self.steps:
            self.progress()
            if self.cycle >= int(self.config["cycles"]):
                self.finish()
                return
            self.cycle += 1
            self.steps = self.shopper()
        if now >= self.ready_at:
            self.touch_next(now)

    def touch_lost(self, active: Active, now: float) -> None:
        """The touch changed nothing: noted with who saw it, and touched again (as a shopper would)."""
        self.lost.append(
            {
                "cycle": self.cycle,
                "widget": active.widget_name,
                "screen": self.app.screens.current,
                "seen": active.seen,
                "transition_active_at_touch": active.transition_active,
                "transition_active_now": bool(self.app.screens.transition.is_active),
            }
        )
        self.steps.insert(0, active.tap)
        self.active = None
        self.ready_at = now
        self.deadline = now + STEP_TIMEOUT_S

    def touch_next(self, now: float) -> None:
        """Touch the next step's widget once it is on screen (until the step's deadline)."""
        tap = self.steps[0]
        name = tap.name() if callable(tap.name) else tap.name
        screen = self.app.screens.current_screen
        widget = self.named(screen, name) or self.named(self.app.root, name)
        if widget is None or widget.disabled or not self.on_screen(widget):
            if now > self.deadline:
                self.fail(f"no {name} to touch: {self.describe()}")
            return
        from kivy.tests.common import UnitTestTouch

        self.steps.pop(0)
        touch = UnitTestTouch(*widget.to_window(*widget.center))
        active = Active(tap, name, time.monotonic(), self.render_count, touch_uid=touch.uid)
        active.transition_active = bool(self.app.screens.transition.is_active)
        self.active = active
        self.touches += 1
        self.deadline = active.t0 + STEP_TIMEOUT_S
        pressed, released = self.seen("widget:press"), self.seen("widget:release")
        widget.bind(on_press=pressed, on_release=released)
        self.attributing += 1
        try:
            touch.touch_down()
            touch.touch_up()
        finally:
            self.attributing -= 1
            widget.unbind(on_press=pressed, on_release=released)

    def on_screen(self, widget: Any) -> bool:
        """Whether ``widget``'s centre is in the window; if not, its strip is scrolled to it (as a shopper
        would swipe) and the touch waits for the next frame."""
        from kivy.core.window import Window
        from kivy.uix.scrollview import ScrollView

        x, y = widget.to_window(*widget.center)
        if 0 <= x < Window.width and 0 <= y < Window.height:
            return True
        parent = widget.parent
        while parent is not None and not isinstance(parent, ScrollView):
            parent = parent.parent
        if parent is not None:
            parent.scroll_to(widget, animate=False)
        return False

    @staticmethod
    def named(widget: Any, name: str) -> Any:
        from tests.kiosk.kiosk_driver import named

        return named(widget, name)

    def describe(self) -> str:
        from tests.kiosk.kiosk_driver import texts_of

        app = self.app
        return (
            f"on {app.screens.current!r}, busy {app.busy}, problem {app.problem!r}, "
            f"showing {texts_of(app.screens.current_screen)[:20]}"
        )

    def progress(self) -> None:
        """One line per shopper on stdout, for bench/kiosk.py to show while it runs."""
        mine = [s for s in (self.samples if self.cycle > 0 else self.first) if s["cycle"] == self.cycle]
        self.rss_by_cycle.append(rss_now())
        line = {
            "cycle": self.cycle,
            "cycles": self.config["cycles"],
            "samples": mine,
            "rss": self.rss_by_cycle[-1],
        }
        print("PROGRESS " + json.dumps(line, ensure_ascii=False), flush=True)

    # --- the end ----------------------------------------------------------------------------------------

    def read_gl(self) -> None:
        try:
            from kivy.graphics.opengl import GL_RENDERER, GL_VERSION, glGetString

            self.gl = {
                "renderer": glGetString(GL_RENDERER).decode(errors="replace"),
                "version": glGetString(GL_VERSION).decode(errors="replace"),
            }
        except Exception as exc:  # a figure about the machine, never a reason to fail the run
            self.gl = {"error": repr(exc)}

    def memory(self) -> dict[str, float]:
        import resource

        import psutil

        process = psutil.Process()
        info = process.memory_full_info()
        return {
            "rss": float(info.rss),
            "uss": float(info.uss),
            "pss": float(getattr(info, "pss", float("nan"))),
            "max_rss": float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024),
            "threads": float(process.num_threads()),
        }

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, time.monotonic())
        self.rss_at.setdefault(name, rss_now())

    def gc_probe(self) -> None:
        """After the measurements: a full collection now (what the flow left to free), then at once another,
        which has nothing left to free, so its time is only walking every tracked object."""
        t0 = time.monotonic()
        freed = gc.collect()
        t1 = time.monotonic()
        gc.collect()
        t2 = time.monotonic()
        self.gc_end = {"first_s": t1 - t0, "first_freed": freed, "walk_only_s": t2 - t1}

    def fail(self, message: str) -> None:
        self.error = message
        self.finish()

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        self.marks["end"] = time.monotonic()
        if self.config["mode"] == "flow" and self.error is None:
            self.gc_probe()
        result = {
            "mode": self.config["mode"],
            "marks": self.marks,
            "samples": self.samples,
            "first": self.first,
            "memory": self.memory(),
            "rss_at": self.rss_at,
            "rss_by_cycle": self.rss_by_cycle,
            "resident_by_mapping": resident_by_mapping() if self.config["mode"] == "flow" else [],
            "gc": {
                "pause_s": self.gc_total_s,
                "collections": self.gc_runs,
                "pause_s_by_generation": self.gc_pause_s,
                "collected_by_generation": self.gc_collected,
                "tracked_objects": len(gc.get_objects()),
                "at_end": self.gc_end,
            },
            "kivy_cache": kivy_cache_usage(),
            "gl": self.gl,
            "lost": self.lost,
            "touches": self.touches,
            "frames": self.frames,
            "cpu_s": time.process_time(),
            "flow_cpu_s": time.process_time() - self.cpu_at_flow_start if self.started_flow else None,
            "error": self.error,
        }
        (self.out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
        self.app.stop()


def bare_kivy_window(config: dict[str, Any], out: Path) -> int:
    """The floor under the kiosk's memory: Kivy set up as the kiosk sets it, one window, one label, nothing
    of the kiosk; its RSS a second after the first frame."""
    import psutil

    from kiosk_ui.kivy_setup import prepare_kivy

    width, height = (int(n) for n in config["size"].split("x"))
    prepare_kivy(size=(width, height), fullscreen=False, home=out / "kivy-home", quiet=True)
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.uix.label import Label

    class Bare(App):  # type: ignore[misc]  # Kivy has no type hints
        def build(self) -> Label:
            Clock.schedule_once(self.measure, 1.0)
            return Label(text="edgestore")

        def measure(self, _dt: float) -> None:
            info = psutil.Process().memory_full_info()
            (out / "result.json").write_text(
                json.dumps({"mode": "floor", "memory": {"rss": info.rss, "uss": info.uss}, "error": None})
            )
            self.stop()

    Bare().run()
    return 0


def main(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    out = Path(config["out"])
    if config["mode"] == "floor":
        return bare_kivy_window(config, out)
    marks: dict[str, float] = {"main": T_MAIN}
    rss_at = {"main": rss_now()}
    probes: list[Probe] = []

    import kiosk_ui.run as run

    build_app = run.build_app

    def build_with_probe(options: Any, terminal: Any = None) -> Any:
        marks["build_app"] = time.monotonic()  # the CLI parsed its options and set Kivy up
        rss_at["build_app"] = rss_now()
        app = build_app(options, terminal)
        marks["app_made"] = time.monotonic()  # Kivy's window is open, the app object made, fonts found
        rss_at["app_made"] = rss_now()
        probe = Probe(app, config, marks, out, rss_at=rss_at)
        probe.attach()
        probes.append(probe)
        return app

    run.build_app = build_with_probe  # run_kiosk looks it up when it runs
    if config.get("entry", "edgestore") == "edgestore":  # as a shop starts it: `edgestore kiosk`
        from edgestore.cli import app as cli

        marks["cli_imported"] = time.monotonic()
        rss_at["cli_imported"] = rss_now()
        argv = ["kiosk", "--edge-url", config["edgeUrl"], "--size", config["size"], "--lang", config["lang"]]
        cli(argv, standalone_mode=False)
    else:  # a diagnostic: the kiosk's own command without the rest of the edgestore CLI (edge, cloud)
        from kiosk_ui.cli import kiosk

        marks["cli_imported"] = time.monotonic()
        rss_at["cli_imported"] = rss_now()
        kiosk(edge_url=config["edgeUrl"], size=config["size"], lang=config["lang"])
    if not probes or not probes[0].finished:
        print("the kiosk stopped before the probe finished", file=sys.stderr)
        return 1
    return 0 if probes[0].error is None else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
