"""Reading a phone's hand-off QR code off a camera frame: ``handoff_code_in(frame) -> code or None``.

A shopper who built a cart on their phone (over Bluetooth) is shown a 6-digit hand-off code and a QR code
whose text is ``edgestore-handoff:<code>``. The kiosk's "take my cart from my phone" screen looks for that QR
in the frames its camera already grabs (the JPEG stills ``Camera.capture`` gives, or OpenCV's own pixels),
with OpenCV's ``QRCodeDetector``; anything else in view (another QR, no QR at all) reads as None.
"""

import re

import cv2
import numpy as np
import numpy.typing as npt

HANDOFF_PREFIX = "edgestore-handoff:"
_CODE = re.compile(r"\d{6}")


def parse_handoff(text: str) -> str | None:
    """The code in a hand-off QR's text (or a bare 6-digit code); None for any other text."""
    text = text.strip()
    if text.startswith(HANDOFF_PREFIX):
        text = text[len(HANDOFF_PREFIX) :].strip()
    return text if _CODE.fullmatch(text) else None


def handoff_code_in(frame: bytes | npt.NDArray[np.uint8]) -> str | None:
    """The hand-off code of the QR in ``frame`` (an encoded still, JPEG or PNG, or decoded pixels, grey or
    BGR), or None when the frame holds no readable hand-off QR."""
    if isinstance(frame, bytes | bytearray):
        pixels = cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_GRAYSCALE)
        if pixels is None:
            return None
    else:
        pixels = frame
    try:
        text, _points, _straight = cv2.QRCodeDetector().detectAndDecode(pixels)
    except cv2.error:
        return None
    return parse_handoff(text) if text else None
