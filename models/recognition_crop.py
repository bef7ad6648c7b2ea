"""The recogniser's crop rule, written once for both ends of ``POST /recognize``.

The node's preprocessing (``edge/recognition/preprocess.py``, ``"resize": "center-crop"`` in a bundle's
model.json) takes the largest centred square of a picture and scales it to the model's input side. The kiosk
(``kiosk_ui/hardware/query_frame.py``) cuts the same square out of its camera frame and sends it scaled to
``QUERY_SIDE``: what the node then crops is the whole picture, so it sees what it would have seen in the full
frame, for a fraction of the decoding. Pure geometry: the pixels are cut by whoever holds them (OpenCV,
Pillow or numpy).
"""

from typing import NamedTuple

__all__ = ["QUERY_SIDE", "Square", "centre_square"]

# The side of the query frame the kiosk sends the node: twice the shipped model's 96 px input. A JPEG of
# 192 px decodes at half scale (Pillow's draft, the DCT's own scaling) straight to 96 px, and a model with a
# larger input still gets a frame it can crop and scale (the node's crop works for any size). The node's
# GET /recognition/status does not report the model's input size, so this is a constant, not a question.
QUERY_SIDE = 192


class Square(NamedTuple):
    """A square inside a picture: its top-left corner and its side, in pixels."""

    left: int
    top: int
    side: int


def centre_square(width: int, height: int) -> Square:
    """The largest square centred in a ``width`` x ``height`` picture (an odd margin leaves the extra pixel on
    the right or at the bottom)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"a picture of {width}x{height} has no square")
    side = min(width, height)
    return Square((width - side) // 2, (height - side) // 2, side)
