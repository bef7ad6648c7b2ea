"""Every kiosk screen at 800x480 and 1280x800, in zh-TW and English, into docs/screenshots/kiosk/.

Starts its own store node (a temporary folder, the demo catalog) and, without a display, its own Xvfb;
drives the real kiosk with touches (tests/kiosk/kiosk_driver.py) and saves each screen as it shows.
Run with `make screenshots`; open the pictures and look: nothing cut off, nothing overlapping.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge import staff  # noqa: E402
from edge.api.app import create_app  # noqa: E402
from edge.catalog import load_snapshot  # noqa: E402
from edge.demo_catalog import demo_catalog  # noqa: E402
from edge.node import Node  # noqa: E402
from edge.settings import EdgeSettings  # noqa: E402
from models.staff import StaffRole  # noqa: E402
from plumbing import free_port, serve_in_thread, utcnow  # noqa: E402
from plumbing.xvfb import virtual_display  # noqa: E402

OUT = ROOT / "docs" / "screenshots" / "kiosk"
SIZES = {"7in": (800, 480), "10in": (1280, 800)}
LOCALES = ("zh-TW", "en")


def walk(prefix: str) -> list[dict[str, object]]:
    """A shopper's way through every screen, a picture of each."""
    return [
        {"screen": "attract"},
        {"shot": f"{prefix}-1-attract.png"},
        {"tap": "start"},
        {"screen": "browse"},
        {"wait": 0.5},
        {"shot": f"{prefix}-2-browse.png"},
        {"tap": "keyboard"},
        *[{"tap": f"key:{k}"} for k in "ㄓㄓㄋㄔ"],
        {"screen": "browse"},
        {"wait": 0.5},
        {"shot": f"{prefix}-3-search-zhuyin.png"},
        {"tap": "keyboard"},
        {"tap": "product:bubble-tea"},
        {"screen": "product"},
        {"tap": "variant:bubble-tea-2"},
        {"tap": "more"},
        {"shot": f"{prefix}-4-product.png"},
        {"tap": "add"},
        {"screen": "browse"},
        {"tap": "keyboard"},
        {"tap": "clear"},
        {"screen": "browse"},
        {"tap": "keyboard"},
        {"tap": "category:souvenirs"},
        {"screen": "browse"},
        {"wait": 0.3},
        {"tap": "product:pineapple-cake"},
        {"screen": "product"},
        {"tap": "add"},
        {"screen": "browse"},
        {"tap": "cart"},
        {"screen": "cart"},
        {"tap": "coupon"},
        *[{"tap": f"key:{k}"} for k in "SAVE10"],
        {"shot": f"{prefix}-5-cart-coupon.png"},
        {"tap": "couponUse"},
        {"screen": "cart"},
        {"shot": f"{prefix}-6-cart.png"},
        {"tap": "pay"},
        {"screen": "pay"},
        {"shot": f"{prefix}-7-pay.png"},
        {"tap": "cash"},
        {"tap": "note:500"},
        {"shot": f"{prefix}-8-cash.png"},
        {"tap": "confirmCash"},
        {"screen": "receipt"},
        {"shot": f"{prefix}-9-receipt.png"},
        {"tap": "done"},
        {"screen": "attract"},
        # staff mode: a manager finds the order just sold by its receipt number
        {"tap": "staff"},
        {"screen": "staff-login"},
        *[{"tap": f"key:{k}"} for k in "BOSS"],
        {"tap": "staffPin"},
        *[{"tap": f"key:{k}"} for k in "2468"],
        {"shot": f"{prefix}-10-staff-login.png"},
        {"tap": "staffLogin"},
        {"screen": "staff"},
        {"tap": "find"},  # nothing typed: says so
        {"screen": "staff"},
        {"shot": f"{prefix}-11-staff.png"},
        {"tap": "staffLogout"},
        {"screen": "attract"},
        # a cart from a phone: the hand-off code half typed (no camera here: the keypad alone)
        {"tap": "phoneCart"},
        {"screen": "phone-cart"},
        *[{"tap": f"digit:{k}"} for k in "042"],
        {"shot": f"{prefix}-12-phone-cart.png"},
        {"tap": "back"},
        {"screen": "attract"},
    ]


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="kiosk-shots-"))
    settings = EdgeSettings(data_dir=work / "node", port=free_port())
    node = Node.open(settings)
    with node.db.write() as conn:
        load_snapshot(conn, demo_catalog(now=utcnow()), utcnow())
        staff.add_local(conn, "BOSS", StaffRole.MANAGER, "2468", utcnow())
    node.close()
    served = serve_in_thread(create_app(settings), settings.port)
    env = dict(os.environ, XDG_CACHE_HOME=str(work / "cache"))
    with contextlib.ExitStack() as stack:
        if not env.get("DISPLAY"):
            env["DISPLAY"] = stack.enter_context(virtual_display())
        try:
            return shoot(settings.port, work, env)
        finally:
            served.stop(timeout_s=10)


def shoot(port: int, work: Path, env: dict[str, str]) -> int:
    """The walk at each size and language, one kiosk process per run; the pictures into OUT."""
    OUT.mkdir(parents=True, exist_ok=True)
    runs = [(size, locale) for size in SIZES for locale in LOCALES]
    for n, (size, locale) in enumerate(runs, 1):
        print(f"[{n}/{len(runs)}] {size} {SIZES[size][0]}x{SIZES[size][1]} {locale}", flush=True)  # noqa: T201
        folder = work / f"{size}-{locale}"
        folder.mkdir()
        script = {
            "edgeUrl": f"http://127.0.0.1:{port}/api/v1",
            "size": SIZES[size],
            "locale": locale,
            "out": str(folder),
            "steps": walk(f"{size}-{locale}"),
        }
        (folder / "script.json").write_text(json.dumps(script, ensure_ascii=False))
        subprocess.run(  # noqa: S603 (this interpreter, the repository's driver)
            [sys.executable, "-m", "tests.kiosk.kiosk_driver", str(folder / "script.json")],
            cwd=ROOT,
            env=env,
            check=False,
            timeout=300,
        )
        result = json.loads((folder / "result.json").read_text())
        if result["error"]:
            print(result["error"], file=sys.stderr)  # noqa: T201
            return 1
        for shot in sorted(folder.glob("*.png")):
            shutil.copy(shot, OUT / shot.name)
    print(f"saved to {OUT}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
