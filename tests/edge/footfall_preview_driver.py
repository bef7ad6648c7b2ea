"""Runs ``edgestore footfall calibrate`` in a process of its own (Kivy keeps one window per process) with an
observer on its preview window, for tests/edge/test_footfall_preview.py:

    python -m tests.edge.footfall_preview_driver OUT [--press-q-after N] -- CALIBRATE ARGUMENTS...

The command runs exactly as a technician's (the same typer app, its own window on the ``DISPLAY`` the test
started); the observer only looks: it counts the frames the window showed and records what each showed,
renders the window's content into ``OUT/preview.png`` as it closes, and with ``--press-q-after N`` presses
q on the window after N frames. ``OUT/result.json``: {"shown": [{"frames", "ins", "outs", "counts"}...],
"framesShown", "texts", "closed": true, "exitCode"}.
"""

import json
import sys
from functools import partial
from pathlib import Path
from typing import Any

from edge.footfall import preview


class Recorder:
    def __init__(self, out: Path, press_q_after: int | None) -> None:
        self.out, self.press_q_after = out, press_q_after
        self.result: dict[str, Any] = {"shown": [], "framesShown": 0, "texts": [], "closed": False}

    def shown(self, now: preview.Shown) -> None:
        assert now.last is not None
        self.result["shown"].append(
            {"frames": now.last.frames, "ins": now.last.ins, "outs": now.last.outs, "counts": now.texts[0]}
        )
        if self.press_q_after is not None and now.frames_shown == self.press_q_after:
            from kivy.core.window import Window

            # As a keyboard does it: SDL's key-down event for q (keycode 113), through the window.
            Window.dispatch("on_key_down", 113, 20, "q", [])

    def closing(self, now: preview.Shown) -> None:
        now.root.export_to_png(str(self.out / "preview.png"))
        self.result.update(framesShown=now.frames_shown, texts=now.texts, closed=True)


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    split = argv.index("--")
    options, arguments = argv[1:split], argv[split + 1 :]
    press_q_after = (
        int(options[options.index("--press-q-after") + 1]) if "--press-q-after" in options else None
    )
    recorder = Recorder(out, press_q_after)
    preview.show_while = partial(preview.show_while, observer=recorder)  # type: ignore[assignment]

    from edge.footfall.cli import app

    code = 0
    try:
        app(arguments, prog_name="edgestore footfall")
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    recorder.result["exitCode"] = code
    (out / "result.json").write_text(json.dumps(recorder.result, indent=1))
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
