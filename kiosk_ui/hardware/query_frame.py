"""The query frame: what the kiosk sends the node's recogniser, apart from the still the screen shows.

The node's model looks at a 96 px centre square (``"resize": "center-crop"``); decoding the whole 640x480
camera still for it cost the node twice the model's own time (docs/performance.md, "Product recognition").
So the kiosk cuts the centre square out of its frame itself, scales it to ``QUERY_SIDE`` (192 px, twice the
model's side) and sends that as a JPEG (quality ``QUERY_QUALITY``): the node's own crop then takes the whole
of it. The square is ``models.recognition_crop.centre_square``, the rule the node's ``center_crop_resize``
uses, and the scaling is OpenCV's ``INTER_AREA`` as there.

``query_from_pixels`` makes it from pixels a camera already holds (OpenCV's frame, picamera2's lores
stream); ``query_from_jpeg`` from a still the kiosk only has as a file (Pillow decodes it at a reduced
draft scale that still covers ``side``).
"""

import io
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from models.recognition_crop import QUERY_SIDE, centre_square

__all__ = ["QUERY_QUALITY", "QUERY_SIDE", "Frame", "query_from_jpeg", "query_from_pixels"]

# JPEG quality of the query frame: 95, not the 90 of the shown still. At 192 px the frame is small (about
# 13 KiB) and its JPEG loss is what the model sees: on the benchmark's never-trained products quality 90 cost
# about 1.7 points of right answers (more came out unknown), 95 about 0.4, for 0.03 ms more decoding at the node
# (docs/performance.md, "Product recognition").
QUERY_QUALITY = 95


@dataclass(frozen=True)
class Frame:
    """One look of the camera: the still the screen shows and the query frame the recogniser is sent."""

    display: bytes  # JPEG, the camera's whole frame
    query: bytes  # JPEG, its centre square at ``QUERY_SIDE`` px


def square_pixels(pixels: npt.NDArray[np.uint8], side: int = QUERY_SIDE) -> npt.NDArray[np.uint8]:
    """The centre square of ``pixels`` (H x W x C, any channel order) scaled to ``side`` x ``side``:
    ``INTER_AREA`` when shrinking, ``INTER_LINEAR`` when enlarging, as the node's preprocessing."""
    if pixels.ndim != 3 or side <= 0:
        raise ValueError(f"expected an H x W x C picture and a positive side, got {pixels.shape} and {side}")
    height, width = pixels.shape[:2]
    left, top, square = centre_square(width, height)
    cut = pixels[top : top + square, left : left + square]
    if square == side:
        return np.ascontiguousarray(cut)
    interpolation = cv2.INTER_AREA if square > side else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(cut, (side, side), interpolation=interpolation), dtype=np.uint8)


def encode_bgr(bgr: npt.NDArray[np.uint8], quality: int) -> bytes:
    """``bgr`` (OpenCV's channel order) as JPEG bytes."""
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("the frame could not be encoded as JPEG")
    return bytes(jpeg.tobytes())


def query_from_pixels(
    bgr: npt.NDArray[np.uint8], side: int = QUERY_SIDE, quality: int = QUERY_QUALITY
) -> bytes:
    """The query frame of a camera frame held as BGR pixels (H x W x 3): its centre square, ``side`` px, JPEG."""
    return encode_bgr(square_pixels(bgr, side), quality)


def query_from_jpeg(still: bytes, side: int = QUERY_SIDE, quality: int = QUERY_QUALITY) -> bytes:
    """The query frame of a still held as an image file (JPEG, PNG, WebP), upright per its EXIF as the node
    reads it. A JPEG is decoded at the smallest draft scale whose shorter side still covers ``side``.
    ``OSError`` (Pillow's ``UnidentifiedImageError``) when it is not an image."""
    with Image.open(io.BytesIO(still)) as image:
        if image.format == "JPEG":
            image.draft("RGB", (side, side))
        rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"), dtype=np.uint8)
    return encode_bgr(square_pixels(rgb, side)[:, :, ::-1], quality)
