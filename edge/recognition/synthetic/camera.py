"""Kiosk-camera shots: a product (or any RGBA object) held up in front of the kiosk's camera.

What a real shot does to it, each drawn from ``rng``: a cluttered background (counter, shelves, other
things), scale, position, rotation and perspective, a soft shadow, a hand holding it (occluding an edge),
uneven light and a colour cast, gamma, a specular glare, focus or motion blur, sensor noise and JPEG
compression.
"""

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from edge.recognition.synthetic.products import _hsv

SHOT_SIZE = (320, 240)  # width, height: a 4:3 frame, as the kiosk camera's preview stream
SKIN = ((255, 219, 172), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36), (255, 224, 196))


def _background(rng: np.random.Generator, width: int, height: int) -> NDArray[np.uint8]:
    base = np.array(_hsv(rng.random(), rng.uniform(0, 0.5), rng.uniform(0.25, 0.95)), dtype=np.float32)
    # Low-frequency texture (wood, fabric, a wall) then clutter.
    coarse = rng.normal(0, rng.uniform(5, 30), size=(int(rng.integers(2, 12)), int(rng.integers(2, 12)), 3))
    texture = cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    img = np.clip(base + texture, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(3, 14))):
        color = tuple(int(c) for c in _hsv(rng.random(), rng.uniform(0, 1), rng.uniform(0.1, 1)))
        x, y = int(rng.integers(-40, width)), int(rng.integers(-40, height))
        w, h = int(rng.integers(10, width // 2)), int(rng.integers(10, height // 2))
        shape = rng.integers(0, 4)
        if shape == 0:
            cv2.rectangle(img, (x, y), (x + w, y + h), color, -1)
        elif shape == 1:
            cv2.ellipse(img, (x, y), (w // 2, h // 2), float(rng.uniform(0, 180)), 0, 360, color, -1)
        elif shape == 2:
            cv2.line(img, (x, y), (x + w, y + h), color, int(rng.integers(1, 8)))
        else:
            pts = rng.integers(-20, max(width, height), size=(3, 2)).astype(np.int32)
            cv2.fillPoly(img, [pts], color)
    sigma = rng.uniform(0.5, 3.0)  # the background is out of focus
    return np.asarray(cv2.GaussianBlur(img, (0, 0), sigma), dtype=np.uint8)


def _placement(rng: np.random.Generator, src: int, width: int, height: int) -> NDArray[np.float32]:
    """The homography putting the object's src x src canvas into the frame (scale, shift, rotation, tilt)."""
    scale = (
        rng.uniform(0.75, 1.25) * height / src
    )  # the canvas is ~70 % packaging: it fills 50-90 % of the height
    cx = width / 2 + rng.uniform(-0.12, 0.12) * height
    cy = height / 2 + rng.uniform(-0.1, 0.1) * height
    angle = rng.uniform(-25, 25) if rng.random() < 0.85 else rng.uniform(-90, 90)
    theta = np.deg2rad(angle)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    half = src / 2
    corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    tilt = rng.uniform(-0.12, 0.12, size=(4, 2)) * src
    # A consistent tilt: one side nearer the camera looks larger than the other.
    lean = rng.uniform(-0.1, 0.1)
    corners_t = corners * np.array([[1 - lean, 1], [1 + lean, 1], [1 + lean, 1], [1 - lean, 1]])
    dst = (corners_t + tilt) @ rot.T * scale + np.array([cx, cy])
    srcs = np.array([[0, 0], [src, 0], [src, src], [0, src]], dtype=np.float32)
    return np.asarray(cv2.getPerspectiveTransform(srcs, dst.astype(np.float32)), dtype=np.float32)


def _hand(
    rng: np.random.Generator,
    layer: NDArray[np.float32],
    alpha: NDArray[np.float32],
    object_box: tuple[int, int, int, int],
) -> None:
    """Draw a hand gripping the object's left, right or bottom edge, into ``layer`` and ``alpha``."""
    x0, y0, x1, y1 = object_box
    skin = np.array(SKIN[int(rng.integers(0, len(SKIN)))], dtype=np.float32) * rng.uniform(0.75, 1.0)
    color = tuple(float(c) for c in np.clip(skin, 0, 255))
    side = int(rng.integers(0, 3))
    w, h = x1 - x0, y1 - y0
    finger = max(4, int(0.09 * min(w, h) + 6))
    canvas = np.zeros(alpha.shape, dtype=np.uint8)
    rgb = np.zeros(layer.shape, dtype=np.uint8)
    if side == 2:  # from below: palm under the object, thumb over the front
        palm_c = (int(x0 + w * rng.uniform(0.3, 0.7)), int(y1 + finger))
        axes = (int(w * 0.35) + finger, int(finger * 2.5))
        thumb_end = (palm_c[0] + int(rng.uniform(-0.3, 0.3) * w), int(y1 - h * rng.uniform(0.15, 0.35)))
        starts = [(palm_c[0], palm_c[1] - finger)]
        ends = [thumb_end]
    else:
        edge_x = x0 if side == 0 else x1
        out = -1 if side == 0 else 1
        palm_c = (int(edge_x + out * finger * 2), int(y0 + h * rng.uniform(0.35, 0.75)))
        axes = (int(finger * 2.4), int(h * 0.28) + finger)
        reach = w * rng.uniform(0.12, 0.35)
        n = int(rng.integers(2, 5))
        starts = [(palm_c[0], palm_c[1] + int((k - n / 2) * finger * 1.2)) for k in range(n)]
        ends = [(int(edge_x - out * reach), s[1] + int(rng.integers(-3, 4))) for s in starts]
    for target in (canvas, rgb):
        fill: tuple[float, ...] = (255,) if target is canvas else color
        cv2.ellipse(target, palm_c, axes, float(rng.uniform(-20, 20)), 0, 360, fill, -1)
        for s, e in zip(starts, ends, strict=True):
            cv2.line(target, s, e, fill, finger)
            cv2.circle(target, e, finger // 2, fill, -1)
    hand = canvas.astype(np.float32)[..., None] / 255.0
    shade = np.linspace(0.85, 1.1, alpha.shape[1], dtype=np.float32)[None, :, None]
    layer[...] = layer * (1 - hand) + rgb.astype(np.float32) * shade * hand
    alpha[...] = np.maximum(alpha, hand[..., 0])


def _lighting(rng: np.random.Generator, img: NDArray[np.float32]) -> NDArray[np.float32]:
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    direction = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(direction) * (xx / w - 0.5) + np.sin(direction) * (yy / h - 0.5)) * rng.uniform(0, 0.7)
    gain = rng.uniform(0.65, 1.3) * (1 + ramp)
    cast = rng.uniform(0.88, 1.12, size=3).astype(np.float32)
    out = img * gain[..., None] * cast
    if rng.random() < 0.3:  # a glare spot on glossy packaging
        cx, cy, r = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h, rng.uniform(0.05, 0.15) * w
        spot = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)) * rng.uniform(60, 160)
        out = out + spot[..., None]
    out = np.clip(out, 0, 255)
    gamma = rng.uniform(0.75, 1.35)
    return np.asarray(255.0 * (out / 255.0) ** gamma, dtype=np.float32)


def _degrade(rng: np.random.Generator, img: NDArray[np.uint8]) -> NDArray[np.uint8]:
    roll = rng.random()
    if roll < 0.25:  # motion blur
        k = int(rng.integers(3, 8))
        kernel = np.zeros((k, k), dtype=np.float32)
        kernel[k // 2, :] = 1.0 / k
        rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), float(rng.uniform(0, 180)), 1.0)
        kernel = np.asarray(cv2.warpAffine(kernel, rot, (k, k)), dtype=np.float32)
        img = np.asarray(cv2.filter2D(img, -1, kernel / max(float(kernel.sum()), 1e-6)), dtype=np.uint8)
    elif roll < 0.7:  # focus
        img = np.asarray(cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.6)), dtype=np.uint8)
    noise = rng.normal(0, rng.uniform(1, 8), size=img.shape).astype(np.float32)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    quality = int(rng.integers(45, 95))
    ok, jpeg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if ok:
        img = np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED), dtype=np.uint8)
    return np.asarray(img, dtype=np.uint8)


def kiosk_shot(
    image: Image.Image, rng: np.random.Generator, size: tuple[int, int] = SHOT_SIZE
) -> Image.Image:
    """``image`` (RGBA, transparent around the object; an RGB picture is taken as opaque) as the kiosk's
    camera sees it when a shopper holds it up: an RGB picture of ``size`` (width, height)."""
    width, height = size
    obj = np.asarray(image.convert("RGBA"), dtype=np.float32)
    src = max(obj.shape[:2])
    if obj.shape[0] != obj.shape[1]:
        square = np.zeros((src, src, 4), dtype=np.float32)
        top, left = (src - obj.shape[0]) // 2, (src - obj.shape[1]) // 2
        square[top : top + obj.shape[0], left : left + obj.shape[1]] = obj
        obj = square
    frame = _background(rng, width, height).astype(np.float32)
    # BGR/RGB order does not matter below: every step treats channels alike except the hand's skin tone,
    # which is given in RGB, and the frame is RGB throughout.
    homography = _placement(rng, src, width, height)
    warped = cv2.warpPerspective(
        obj, homography, (width, height), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0)
    )
    alpha = np.asarray(warped[..., 3] / 255.0, dtype=np.float32)
    # Soft shadow under the object.
    offset = rng.integers(-8, 9, size=2)
    shadow = np.roll(alpha, (int(offset[1]) + 4, int(offset[0])), axis=(0, 1))
    shadow = cv2.GaussianBlur(shadow, (0, 0), 6) * rng.uniform(0.2, 0.55)
    frame *= (1 - shadow)[..., None]
    layer = np.asarray(warped[..., :3], dtype=np.float32).copy()
    ys, xs = np.nonzero(alpha > 0.5)
    if len(xs) and rng.random() < 0.6:
        _hand(rng, layer, alpha, (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())))
    frame = frame * (1 - alpha[..., None]) + layer * alpha[..., None]
    frame = _lighting(rng, frame)
    out = _degrade(rng, np.clip(frame, 0, 255).astype(np.uint8))
    return Image.fromarray(out, mode="RGB")
