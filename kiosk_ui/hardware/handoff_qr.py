"""Reading a phone's hand-off QR code off a camera frame: ``handoff_code_in(frame) -> code or None``.

A shopper who built a cart on their phone (over Bluetooth) is shown a 6-digit hand-off code and a QR code
whose text is ``edgestore-handoff:<code>``. The kiosk's "take my cart from my phone" screen looks for that QR
in the frames its camera already grabs (the JPEG stills ``Camera.capture`` gives, or OpenCV's own pixels),
with OpenCV's ``QRCodeDetector``, and its text read with the node's own rule
(``models.node_api.parse_handoff_qr``); anything else in view (another QR, no QR at all) reads as None.
"""

import cv2
import numpy as np
import numpy.typing as npt

from models.node_api import parse_handoff_qr


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
    return parse_handoff_qr(text) if text else None
