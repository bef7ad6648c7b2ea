"""What the model sees: the photo's largest centred square, resized (bilinear) to the model's input size, RGB
uint8. Training and the node call the same function, so a reference and a query are seen alike."""

import numpy as np
import numpy.typing as npt
from PIL import Image


def center_crop_resize(rgb: npt.NDArray[np.uint8], size: int) -> npt.NDArray[np.uint8]:
    """``rgb`` (H x W x 3, uint8) -> its largest centred square, bilinear-resized to ``size`` x ``size``."""
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = rgb[top : top + side, left : left + side]
    if side == size:
        return np.ascontiguousarray(square, dtype=np.uint8)
    image = Image.fromarray(np.ascontiguousarray(square, dtype=np.uint8), mode="RGB")
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
