"""The recogniser's crop rule, written once for both ends of ``POST /recognize``.

The node's preprocessing (``edge/recognition/preprocess.py``, ``"resize": "center-crop"`` in a bundle's
model.json) takes the largest centred square of a picture and scales it to the model's input side. The kiosk
(``kiosk_ui/hardware/query_frame.py``) cuts the same square out of its camera frame and sends it scaled to
the model's input side: what the node then crops is the whole picture, so it sees what it would have seen in the full
frame, for a fraction of the decoding. Pure geometry: the pixels are cut by whoever holds them (OpenCV,
Pillow or numpy).
"""

from typing import NamedTuple

__all__ = ["QUERY_SIDE", "Square", "centre_square"]

# The side of the query frame the kiosk sends the node when the node has not said its model's input side
# (``RecognitionHealth.inputSize`` in /health): the shipped model's 96 px. The frame is then exactly the
# model's input, so the node neither decodes a JPEG nor scales anything (docs/performance.md, "Product
# recognition"); a frame of another size is still cropped and scaled right by the node.
QUERY_SIDE = 96


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
