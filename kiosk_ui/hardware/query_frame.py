"""The query frame: what the kiosk sends the node's recogniser, apart from the still the screen shows.

The node's model looks at the centre square of a picture scaled to its input side (96 px for the shipped
model, ``"resize": "center-crop"``); decoding the whole 640x480 camera still for it cost the node twice the
model's own time, and a 192 px JPEG still 1.6 times (docs/performance.md, "Product recognition"). So the
kiosk cuts the centre square out of its frame itself, scales it to the model's input side (the node says it
in /health, ``RecognitionHealth.inputSize``; ``QUERY_SIDE`` until it has) and sends it losslessly as an
uncompressed BMP (27 KiB at 96 px, over the Pi's loopback): the node reads it in a few hundredths of a
millisecond, scales nothing, and the model sees the camera's pixels with no JPEG loss in between. The square
is ``models.recognition_crop.centre_square``, the rule the node's ``center_crop_resize`` uses, and the
scaling is OpenCV's ``INTER_AREA`` as there.

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

__all__ = ["QUERY_CONTENT_TYPE", "QUERY_SIDE", "Frame", "query_from_jpeg", "query_from_pixels"]

QUERY_CONTENT_TYPE = "image/bmp"


@dataclass(frozen=True)
class Frame:
    """One look of the camera: the still the screen shows and the query frame the recogniser is sent."""

    display: bytes  # JPEG, the camera's whole frame
    query: bytes  # BMP, its centre square at the model's input side


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


def encode_query(bgr: npt.NDArray[np.uint8]) -> bytes:
    """``bgr`` (OpenCV's channel order) as an uncompressed BMP: lossless, and the cheapest file to read."""
    ok, bmp = cv2.imencode(".bmp", bgr)
    if not ok:
        raise ValueError("the query frame could not be encoded")
    return bytes(bmp.tobytes())


def query_from_pixels(bgr: npt.NDArray[np.uint8], side: int = QUERY_SIDE) -> bytes:
    """The query frame of a camera frame held as BGR pixels (H x W x 3): its centre square, ``side`` px, BMP."""
    return encode_query(square_pixels(bgr, side))


def query_from_jpeg(still: bytes, side: int = QUERY_SIDE) -> bytes:
    """The query frame of a still held as an image file (JPEG, PNG, WebP), upright per its EXIF as the node
    reads it. A JPEG is decoded at the smallest draft scale whose shorter side still covers ``side``.
    ``OSError`` (Pillow's ``UnidentifiedImageError``) when it is not an image."""
    with Image.open(io.BytesIO(still)) as image:
        if image.format == "JPEG":
            image.draft("RGB", (side, side))
        rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"), dtype=np.uint8)
    return encode_query(np.ascontiguousarray(square_pixels(rgb, side)[:, :, ::-1]))
