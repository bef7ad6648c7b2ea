"""Taking a cart from a phone, in the real kiosk window under Xvfb against a real node: the entry on the
attract and browse screens, the hand-off code typed on the keypad or its QR code seen by the camera, the
phone's cart on the cart screen, paid as usual, and the receipt's code for the phone."""

from pathlib import Path

from tests.edge.conftest import EdgeServer
from tests.kiosk.conftest import run_kiosk


def test_the_phone_cart_screen_opens_from_attract_and_browse(display: str, edge: EdgeServer, tmp_path: Path):
    seen = run_kiosk(
        display,
        {
            "edgeUrl": edge.base_url,
            "size": [800, 480],
            "steps": [
                {"screen": "attract"},
                {"texts": "attract"},
                {"tap": "phoneCart"},
                {"screen": "phone-cart"},
                *[{"tap": f"digit:{k}"} for k in "0429"],
                {"tap": "backspace"},
                {"texts": "typed"},
                {"shot": "phone-cart.png"},
                {"tap": "back"},
                {"screen": "attract"},
                {"tap": "start"},
                {"screen": "browse"},
                {"texts": "browse"},
                {"tap": "phoneCart"},
                {"screen": "phone-cart"},
                {"tap": "back"},
                {"screen": "browse"},
            ],
        },
        tmp_path / "run",
    )
    texts = seen["texts"]
    assert "從手機取購物車" in texts["attract"]
    assert "從手機取購物車" in texts["browse"]
    assert "0 4 2 _ _ _" in texts["typed"]
    assert "輸入手機上顯示的 6 位數代碼" in texts["typed"]  # no camera at this kiosk
