"""The recognizer's preprocessing, written once: training, evaluation and the node all call this.

``"resize": "center-crop"`` in a bundle's model.json means :func:`center_crop_resize`: take the largest
centred square of the RGB picture, then resize it to ``size`` x ``size``. Shrinking uses OpenCV's
``INTER_AREA`` (bilinear weights averaged over the source pixels, so a 640x480 camera frame and a 320x240
synthetic shot alias alike); enlarging uses ``INTER_LINEAR``. The square is ``models.recognition_crop``'s,
which the kiosk's query frame uses too. The result is RGB uint8, ready for a model
whose input is uint8 (or for ``to_int8`` when the model's input is int8).
"""

import cv2
import numpy as np
from numpy.typing import NDArray

from models.recognition_crop import centre_square

__all__ = ["center_crop_resize", "to_int8"]


def center_crop_resize(rgb: NDArray[np.uint8], size: int) -> NDArray[np.uint8]:
    """The largest centred square of ``rgb`` (H x W x 3, uint8, RGB order) resized to ``size`` x ``size``."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 RGB array, got shape {rgb.shape}")
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    height, width = rgb.shape[:2]
    left, top, side = centre_square(width, height)  # the kiosk's query frame cuts the same square
    square = rgb[top : top + side, left : left + side]
    if side == size:
        return np.ascontiguousarray(square, dtype=np.uint8)
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    resized = cv2.resize(square, (size, size), interpolation=interpolation)
    return np.asarray(resized, dtype=np.uint8)


def to_int8(pixels: NDArray[np.uint8]) -> NDArray[np.int8]:
    """uint8 pixels shifted by -128, for a model whose input tensor is int8 (scale 1, zero point -128)."""
    return (pixels.astype(np.int16) - 128).astype(np.int8)
