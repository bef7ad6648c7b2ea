"""The phone's hand-off QR code read off a camera frame (``kiosk_ui.hardware.handoff_qr``): real QR codes
drawn with segno, as the phone draws them, then photographed as the kiosk's camera would give them: a JPEG
still, turned, scaled, off centre; a QR of something else and a frame with no QR read as None."""

import io

import cv2
import numpy as np
import pytest
import segno
from PIL import Image

from kiosk_ui.hardware.handoff_qr import handoff_code_in


def qr_image(text: str, *, scale: int = 8) -> Image.Image:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=scale, border=4)
    return Image.open(out).convert("L")


def still(
    qr: Image.Image, *, angle: float = 0, side: int | None = None, at: tuple[int, int] = (230, 130)
) -> bytes:
    """The QR held up in front of a 640x480 camera: turned by ``angle``, ``side`` px across, as a JPEG."""
    turned = qr.rotate(angle, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)
    if side is not None:
        turned = turned.resize((side, side), Image.Resampling.BILINEAR)
    frame = Image.new("L", (640, 480), 150)
    frame.paste(turned, at)
    out = io.BytesIO()
    frame.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def test_a_hand_off_qr_is_read_from_the_png_the_phone_draws():
    out = io.BytesIO()
    segno.make("edgestore-handoff:042917", error="m").save(out, kind="png", scale=6, border=4)
    assert handoff_code_in(out.getvalue()) == "042917"


@pytest.mark.parametrize(
    ("angle", "side", "at"),
    [(0, None, (230, 130)), (30, 200, (380, 40)), (-15, 140, (40, 300)), (90, 260, (200, 100))],
)
def test_a_hand_off_qr_is_read_from_a_camera_still_turned_and_scaled(
    angle: float, side: int | None, at: tuple[int, int]
):
    assert (
        handoff_code_in(still(qr_image("edgestore-handoff:503118"), angle=angle, side=side, at=at))
        == "503118"
    )


def test_decoded_pixels_read_as_well_as_an_encoded_still():
    pixels = cv2.imdecode(
        np.frombuffer(still(qr_image("edgestore-handoff:000777")), np.uint8), cv2.IMREAD_COLOR
    )
    assert handoff_code_in(pixels) == "000777"


def test_other_frames_read_as_nothing():
    assert handoff_code_in(still(qr_image("01HZXORDERID0000000000000"))) is None  # a receipt's QR
    assert handoff_code_in(still(qr_image("edgestore-handoff:12345"))) is None  # not six digits
    blank = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 150)).save(blank, "JPEG")
    assert handoff_code_in(blank.getvalue()) is None
    assert handoff_code_in(b"not a picture") is None
