"""Staff teaching a product in the real kiosk window under Xvfb, driven by touches against a real node with
the shipped model: a cashier logs in, finds the latte with the search keyboard, picks its variant, the
camera (a FileCamera playing generated photos of the product) gives six photos, "save" sends them, and the
node's own API then says the variant has references and recognises it."""

from pathlib import Path

from models.staff import StaffRole
from tests.edge.conftest import EdgeServer
from tests.edge.helpers import add_staff
from tests.kiosk.conftest import run_kiosk
from tests.recognition_node.conftest import enrolment, queries


def keys(typed: str) -> list[dict[str, object]]:
    """Touches of the on-screen keys that type ``typed``."""
    return [{"tap": f"key:{k}"} for k in typed]


def test_a_cashier_teaches_the_latte_at_the_kiosk_and_the_node_recognises_it(
    display: str, edge: EdgeServer, tmp_path: Path
) -> None:
    add_staff(edge.settings, "AMY", StaffRole.CASHIER, "1357")
    stills = tmp_path / "stills"
    stills.mkdir()
    for n, photo in enumerate(enrolment("latte-1")):
        (stills / f"latte-{n}.jpg").write_bytes(photo)
    status = edge.client.get("/recognition/status").json()
    assert status["loaded"]
    assert status["enrolledVariants"] == 0
    seen = run_kiosk(
        display,
        {
            "edgeUrl": edge.base_url,
            "size": [800, 480],
            "camera": str(stills),
            "steps": [
                {"screen": "attract"},
                {"go": "enrol"},  # no touch gets there without a login: the screen says so
                {"screen": "enrol"},
                {"texts": "guard"},
                {"tap": "toLogin"},
                {"screen": "staff-login"},
                *keys("AMY"),
                {"tap": "staffPin"},
                *keys("1357"),
                {"tap": "staffLogin"},
                {"screen": "staff"},
                {"tap": "enrol"},
                {"screen": "enrol"},
                {"texts": "products"},  # the catalog's first page
                {"tap": "keyboard"},  # and the shopper's search finds it: ㄋㄊ (拿鐵)
                *keys("ㄋㄊ"),
                {"screen": "enrol"},
                {"texts": "searched"},
                {"shot": "searched.png"},
                {"tap": "pick:latte"},
                {"screen": "enrol"},
                {"texts": "variants"},
                {"tap": "teach:latte-1"},
                {"screen": "enrol"},
                {"texts": "ready"},
                {"tap": "start"},
                {"see": "save"},  # once the six photos are in
                {"texts": "captured"},
                {"shot": "captured.png"},
                {"tap": "save"},
                {"screen": "enrol"},
                {"texts": "saved"},
                {"shot": "saved.png"},
                {"tap": "language"},
                {"texts": "saved-en"},
                {"tap": "another"},
                {"screen": "enrol"},
                {"tap": "back"},
                {"screen": "staff"},
                {"tap": "staffLogout"},
                {"screen": "attract"},
            ],
        },
        tmp_path / "run",
    )
    texts = seen["texts"]
    assert "這項操作需要店員協助" in texts["guard"]
    assert "拿鐵" not in texts["guard"]
    assert "登錄商品辨識" in texts["products"]
    assert {"拿鐵", "珍珠奶茶"} <= set(texts["products"])
    assert "拿鐵" in texts["searched"]
    assert "珍珠奶茶" not in texts["searched"]
    assert "拿鐵：選擇款式" in texts["variants"]
    assert "把商品放在鏡頭前，按「開始拍照」後慢慢轉動它（拍 6 張）" in texts["ready"]
    assert "已拍好 6 張：請儲存，或重拍" in texts["captured"]
    assert "儲存" in texts["captured"]
    assert "重拍" in texts["captured"]
    assert "已儲存 6 張：這個款式現在有 6 張參考照片，可以辨識了" in texts["saved"]
    assert "Saved 6 photos: this variant now has 6 reference photos and is recognised" in texts["saved-en"]
    assert (tmp_path / "run" / "captured.png").stat().st_size > 10_000

    # The node's own API: the latte has its six references, and a photo it never saw is recognised.
    status = edge.client.get("/recognition/status").json()
    assert (status["enrolledVariants"], status["referenceCount"]) == (1, 6)
    found = edge.client.post(
        "/recognize", files={"image": ("shot.jpg", queries("latte-1")[0], "image/jpeg")}
    ).json()
    assert not found["unknown"]
    assert found["candidates"][0]["variantId"] == "latte-1"
