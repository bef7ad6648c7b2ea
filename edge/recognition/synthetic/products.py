"""Synthetic packaged products and the objects that are in no catalog.

A product is fixed by its seed: its kind of packaging (box, bottle, can, bag, carton, jar), brand word,
Chinese name, palette, pattern and logo. Its variants (flavours, colours) share all of that and differ in a
flavour colour (the whole background, a band, or the label) and the flavour's name and icon, so variants of
one product look alike but can be told apart, as on a real shelf.
"""

import colorsys
import string
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from edge.recognition.synthetic.fonts import cjk_font, latin_font

KINDS = ("box", "bottle", "can", "bag", "carton", "jar")
PATTERNS = ("plain", "stripes", "dots", "diagonal", "waves", "checks")
LOGOS = ("circle", "star", "diamond", "shield", "ring", "triangle")
VARIANT_MODES = ("background", "band", "label")
ZH_CHARS = "茶果香甜鮮乳味好家園山海青金花田米豆糖餅乾酥脆麥穀水源清泉晨光福樂美雲風月星禾竹梅桃"
FLAVOURS = (
    ("ORIGINAL", "原味"),
    ("STRAWBERRY", "草莓"),
    ("LEMON", "檸檬"),
    ("CHOCOLATE", "巧克力"),
    ("MATCHA", "抹茶"),
    ("HONEY", "蜂蜜"),
    ("OOLONG", "烏龍"),
    ("MANGO", "芒果"),
    ("SEAWEED", "海苔"),
    ("SPICY", "辣味"),
    ("MILK", "牛奶"),
    ("GRAPE", "葡萄"),
    ("PEACH", "水蜜桃"),
    ("TARO", "芋頭"),
    ("LIGHT", "低糖"),
    ("COFFEE", "咖啡"),
)
SIZES = ("250ml", "330ml", "500ml", "600ml", "1L", "100g", "150g", "200g", "12入", "6入")
RGB = tuple[int, int, int]
PRODUCT_STREAM = 0x5EED_9D
DISTRACTOR_STREAM = 0xD15_7AC7


def _hsv(hue: float, sat: float, val: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, min(max(sat, 0.0), 1.0), min(max(val, 0.0), 1.0))
    return int(r * 255), int(g * 255), int(b * 255)


def _contrast_text(rgb: RGB) -> RGB:
    luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return (20, 20, 24) if luma > 150 else (250, 250, 245)


@dataclass(frozen=True)
class ProductDesign:
    """Everything a product's variants share, drawn from its seed."""

    seed: int
    kind: str
    aspect: float  # body width / height
    brand: str
    zh_name: str
    size_label: str
    base: RGB
    accent: RGB
    ink: RGB
    pattern: str
    pattern_scale: float
    logo: str
    logo_color: RGB
    variant_mode: str
    layout: int
    variant_hues: tuple[float, ...]
    flavours: tuple[tuple[str, str], ...]

    @property
    def variants(self) -> int:
        return len(self.variant_hues)


def _brand(rng: np.random.Generator) -> str:
    consonants, vowels = "BCDFGKLMNPRSTVZ", "AEIOU"
    syllables = int(rng.integers(2, 4))
    word = "".join(
        str(rng.choice(list(consonants))) + str(rng.choice(list(vowels))) for _ in range(syllables)
    )
    if rng.random() < 0.4:
        word += str(rng.choice(list("NRSX")))
    return word


def design(product_seed: int) -> ProductDesign:
    rng = np.random.default_rng([PRODUCT_STREAM, product_seed])
    kind = str(rng.choice(KINDS))
    aspect = {
        "box": rng.uniform(0.6, 1.3),
        "bottle": rng.uniform(0.32, 0.45),
        "can": rng.uniform(0.5, 0.62),
        "bag": rng.uniform(0.7, 0.95),
        "carton": rng.uniform(0.45, 0.6),
        "jar": rng.uniform(0.7, 0.95),
    }[kind]
    n_variants = int(rng.integers(2, 6))
    base_hue = rng.random()
    spread = rng.uniform(0.12, 1.0 / n_variants)  # variants' hues: distinct, some products closer than others
    hues = tuple(float((base_hue + k * spread + rng.uniform(-0.02, 0.02)) % 1.0) for k in range(n_variants))
    flavour_idx = rng.choice(len(FLAVOURS), size=n_variants, replace=False)
    base = _hsv(rng.random(), rng.uniform(0.0, 0.9), rng.uniform(0.35, 1.0))
    accent = _hsv(rng.random(), rng.uniform(0.4, 1.0), rng.uniform(0.3, 0.95))
    return ProductDesign(
        seed=product_seed,
        kind=kind,
        aspect=float(aspect),
        brand=_brand(rng),
        zh_name="".join(str(c) for c in rng.choice(list(ZH_CHARS), size=int(rng.integers(2, 5)))),
        size_label=str(rng.choice(SIZES)),
        base=base,
        accent=accent,
        ink=_contrast_text(base) if rng.random() < 0.7 else accent,
        pattern=str(rng.choice(PATTERNS)),
        pattern_scale=float(rng.uniform(0.05, 0.2)),
        logo=str(rng.choice(LOGOS)),
        logo_color=_hsv(rng.random(), rng.uniform(0.5, 1.0), rng.uniform(0.5, 1.0)),
        variant_mode=str(rng.choice(VARIANT_MODES)),
        layout=int(rng.integers(0, 3)),
        variant_hues=hues,
        flavours=tuple(FLAVOURS[int(i)] for i in flavour_idx),
    )


def variant_count(product_seed: int) -> int:
    """How many variants (2 to 5) the product of this seed has."""
    return design(product_seed).variants


def _fit_font_size(text: str, width: float, height: float, cjk: bool) -> int:
    per_char = 1.0 if cjk else 0.68
    size = min(height, width / max(len(text) * per_char, 1.0))
    return max(6, int(size) // 2 * 2)  # even sizes only: fonts are cached per size


def _text(
    draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, box: tuple[float, float], fill: RGB
) -> None:
    """``text`` centred at ``xy``, as large as fits ``box`` (width, height); CJK text needs a CJK font."""
    cjk = any(ord(c) > 0x2E7F for c in text)
    size = _fit_font_size(text, box[0], box[1], cjk)
    font = cjk_font(size) if cjk else latin_font(size)
    if font is None:
        return
    draw.text(xy, text, font=font, fill=fill, anchor="mm")


def _stripes(draw: ImageDraw.ImageDraw, w: int, h: int, step: int, color: RGB) -> None:
    for x in range(0, w, step * 2):
        draw.rectangle((x, 0, x + step - 1, h), fill=color)


def _dots(draw: ImageDraw.ImageDraw, w: int, h: int, step: int, color: RGB) -> None:
    r = max(1, step // 4)
    for y in range(step // 2, h, step):
        for x in range(step // 2, w, step):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=color)


def _diagonal(draw: ImageDraw.ImageDraw, w: int, h: int, step: int, color: RGB) -> None:
    for x in range(-h, w, step * 2):
        draw.polygon([(x, h), (x + step, h), (x + step + h, 0), (x + h, 0)], fill=color)


def _waves(draw: ImageDraw.ImageDraw, w: int, h: int, step: int, color: RGB) -> None:
    for y in range(0, h, step * 2):
        pts = [(x, y + step * 0.5 * np.sin(x / max(step, 1) * 1.3)) for x in range(0, w + 4, 4)]
        draw.line(pts, fill=color, width=max(2, step // 2))


def _checks(draw: ImageDraw.ImageDraw, w: int, h: int, step: int, color: RGB) -> None:
    for y in range(0, h, step):
        for x in range((y // step) % 2 * step, w, step * 2):
            draw.rectangle((x, y, x + step - 1, y + step - 1), fill=color)


PATTERN_DRAWERS = {
    "stripes": _stripes,
    "dots": _dots,
    "diagonal": _diagonal,
    "waves": _waves,
    "checks": _checks,
}


def _pattern(draw: ImageDraw.ImageDraw, d: ProductDesign, w: int, h: int, color: RGB) -> None:
    drawer = PATTERN_DRAWERS.get(d.pattern)
    if drawer is not None:
        drawer(draw, w, h, max(4, int(d.pattern_scale * w)), color)


def _logo(draw: ImageDraw.ImageDraw, d: ProductDesign, cx: float, cy: float, r: float) -> None:
    c = d.logo_color
    if d.logo == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=c)
    elif d.logo == "ring":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=c, width=max(2, int(r / 3)))
    elif d.logo == "star":
        pts = [
            (
                cx + (r if k % 2 == 0 else r * 0.45) * np.sin(k * np.pi / 5),
                cy - (r if k % 2 == 0 else r * 0.45) * np.cos(k * np.pi / 5),
            )
            for k in range(10)
        ]
        draw.polygon(pts, fill=c)
    elif d.logo == "diamond":
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=c)
    elif d.logo == "shield":
        draw.polygon(
            [
                (cx - r, cy - r),
                (cx + r, cy - r),
                (cx + r, cy + r * 0.2),
                (cx, cy + r),
                (cx - r, cy + r * 0.2),
            ],
            fill=c,
        )
    else:
        draw.polygon([(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)], fill=c)
    _text(draw, (cx, cy), d.brand[0], (r * 1.1, r * 1.1), _contrast_text(c))


def _face(d: ProductDesign, variant: int, w: int, h: int) -> Image.Image:
    """The printed front of the packaging, w x h, RGB."""
    vcolor = _hsv(d.variant_hues[variant], 0.75, 0.85)
    background = vcolor if d.variant_mode == "background" else d.base
    img = Image.new("RGB", (w, h), background)
    draw = ImageDraw.Draw(img)
    pattern_color = tuple(int(0.82 * a + 0.18 * b) for a, b in zip(background, d.accent, strict=True))
    _pattern(draw, d, w, h, pattern_color)  # type: ignore[arg-type]
    ink = _contrast_text(background) if d.variant_mode == "background" else d.ink
    top = (0.08, 0.3, 0.55)[d.layout]
    # Brand band
    band_y0, band_y1 = h * top, h * (top + 0.2)
    draw.rectangle((0, band_y0, w, band_y1), fill=d.accent)
    _text(
        draw,
        (w * 0.58, (band_y0 + band_y1) / 2),
        d.brand,
        (w * 0.72, (band_y1 - band_y0) * 0.8),
        _contrast_text(d.accent),
    )
    _logo(draw, d, w * 0.14, (band_y0 + band_y1) / 2, min(w * 0.11, (band_y1 - band_y0) * 0.45))
    # Chinese name
    zh_y = h * (0.62 if d.layout == 0 else 0.12 if d.layout == 2 else 0.15)
    _text(draw, (w / 2, zh_y), d.zh_name, (w * 0.86, h * 0.16), ink)
    # Flavour: band, label or plain text, with its icon
    fl_en, fl_zh = d.flavours[variant]
    fy = h * (0.82 if d.layout != 2 else 0.35)
    if d.variant_mode == "band":
        draw.rectangle((0, fy - h * 0.1, w, fy + h * 0.1), fill=vcolor)
    elif d.variant_mode == "label":
        draw.rounded_rectangle(
            (w * 0.1, fy - h * 0.1, w * 0.9, fy + h * 0.1), radius=int(h * 0.04), fill=vcolor
        )
    fl_ink = _contrast_text(vcolor) if d.variant_mode != "background" else ink
    _text(draw, (w * 0.42, fy - h * 0.035), fl_zh, (w * 0.5, h * 0.08), fl_ink)
    _text(draw, (w * 0.42, fy + h * 0.045), fl_en, (w * 0.55, h * 0.06), fl_ink)
    icon_r = min(w, h) * 0.07
    icx = w * 0.82
    draw.ellipse(
        (icx - icon_r, fy - icon_r, icx + icon_r, fy + icon_r),
        fill=_hsv(d.variant_hues[variant], 0.9, 0.6),
        outline=fl_ink,
    )
    _text(draw, (w * 0.5, h * 0.95), d.size_label, (w * 0.3, h * 0.05), ink)
    return img


def _shade(face: NDArray[np.float32], profile: NDArray[np.float32]) -> NDArray[np.float32]:
    return np.asarray(face * profile[None, :, None], dtype=np.float32)


def _cylinder_profile(w: int) -> NDArray[np.float32]:
    x = np.linspace(-1.0, 1.0, w, dtype=np.float32)
    profile = 0.55 + 0.45 * np.sqrt(np.clip(1 - x**2, 0, 1)) + 0.25 * np.exp(-((x + 0.45) ** 2) / 0.01)
    return np.asarray(profile, dtype=np.float32)


def _packaging(d: ProductDesign, face: Image.Image, size: int) -> Image.Image:
    """The face put on its packaging (shape, cap, shading) on a transparent size x size canvas."""
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    fw, fh = face.size
    x0, y0 = (size - fw) // 2, (size - fh) // 2
    arr = np.asarray(face, dtype=np.float32)
    mask = Image.new("L", face.size, 0)
    mdraw = ImageDraw.Draw(mask)
    if d.kind in ("bottle", "can", "jar"):
        arr = _shade(arr, _cylinder_profile(fw))
    else:
        arr = _shade(arr, np.linspace(1.05, 0.85, fw, dtype=np.float32))
    face = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if d.kind == "bottle":
        neck_w, cap_h = fw * 0.4, fh * 0.09
        draw.rectangle(
            (size / 2 - neck_w / 2, y0 - fh * 0.16, size / 2 + neck_w / 2, y0 + 4), fill=(*d.base, 255)
        )
        draw.rectangle(
            (size / 2 - neck_w / 2 - 2, y0 - fh * 0.16 - cap_h, size / 2 + neck_w / 2 + 2, y0 - fh * 0.16),
            fill=(*d.accent, 255),
        )
        mdraw.rounded_rectangle((0, 0, fw - 1, fh - 1), radius=int(fw * 0.3), fill=255)
    elif d.kind == "can":
        mdraw.rounded_rectangle((0, 0, fw - 1, fh - 1), radius=int(fw * 0.12), fill=255)
        draw.ellipse((x0, y0 - fh * 0.05, x0 + fw, y0 + fh * 0.05), fill=(200, 200, 205, 255))
    elif d.kind == "jar":
        lid_h = fh * 0.14
        draw.rounded_rectangle(
            (x0 + fw * 0.05, y0 - lid_h, x0 + fw * 0.95, y0 + 3),
            radius=int(lid_h * 0.3),
            fill=(*d.accent, 255),
        )
        mdraw.rounded_rectangle((0, 0, fw - 1, fh - 1), radius=int(fw * 0.1), fill=255)
    elif d.kind == "bag":
        teeth = 14
        tooth = fh * 0.03
        top = [(k * fw / teeth, tooth * (k % 2)) for k in range(teeth + 1)]
        bottom = [(k * fw / teeth, fh - 1 - tooth * (k % 2)) for k in range(teeth, -1, -1)]
        mdraw.polygon([*top, (fw - 1, fh * 0.5), *bottom, (0, fh * 0.5)], fill=255)
    elif d.kind == "carton":
        gable = fh * 0.12
        draw.polygon([(x0, y0 + 2), (size / 2, y0 - gable), (x0 + fw, y0 + 2)], fill=(*d.accent, 255))
        draw.rectangle(
            (size / 2 - fw * 0.3, y0 - gable - 4, size / 2 + fw * 0.3, y0 - gable + 2), fill=(*d.accent, 255)
        )
        mdraw.rectangle((0, 0, fw - 1, fh - 1), fill=255)
    else:  # box: a top face in a darker tone
        depth = fh * 0.08
        dark = tuple(int(c * 0.7) for c in d.accent)
        draw.polygon(
            [(x0, y0 + 1), (x0 + depth, y0 - depth), (x0 + fw + depth, y0 - depth), (x0 + fw, y0 + 1)],
            fill=(*dark, 255),
        )
        draw.polygon(
            [
                (x0 + fw - 1, y0),
                (x0 + fw + depth, y0 - depth),
                (x0 + fw + depth, y0 + fh - depth),
                (x0 + fw - 1, y0 + fh),
            ],
            fill=(*tuple(int(c * 0.55) for c in d.base), 255),
        )
        mdraw.rectangle((0, 0, fw - 1, fh - 1), fill=255)
    canvas.paste(face, (x0, y0), mask)
    return canvas


def _body_size(d: ProductDesign, size: int) -> tuple[int, int]:
    height = size * (0.7 if d.kind in ("bottle", "carton", "jar") else 0.8)
    width = height * d.aspect
    if width > size * 0.8:
        width = size * 0.8
        height = width / d.aspect
    return int(width), int(height)


def product_image(product_seed: int, variant: int, size: int = 192) -> Image.Image:
    """A clean studio picture of variant ``variant`` (0-based) of the product of ``product_seed``: RGBA,
    size x size, transparent around the packaging."""
    d = design(product_seed)
    if not 0 <= variant < d.variants:
        raise ValueError(f"product {product_seed} has {d.variants} variants, not a variant {variant}")
    fw, fh = _body_size(d, size)
    return _packaging(d, _face(d, variant, fw, fh), size)


Rgba = tuple[int, int, int, int]


def _mug(draw: ImageDraw.ImageDraw, rng: np.random.Generator, s: int, color: Rgba) -> None:
    draw.rounded_rectangle((s * 0.22, s * 0.25, s * 0.68, s * 0.8), radius=int(s * 0.05), fill=color)
    draw.ellipse((s * 0.6, s * 0.38, s * 0.82, s * 0.65), outline=color, width=int(s * 0.05))
    if rng.random() < 0.6:
        word = "".join(rng.choice(list(string.ascii_uppercase), size=4))
        _text(draw, (s * 0.45, s * 0.5), word, (s * 0.35, s * 0.12), (255, 255, 255))


def _phone(draw: ImageDraw.ImageDraw, rng: np.random.Generator, s: int, color: Rgba) -> None:
    draw.rounded_rectangle(
        (s * 0.3, s * 0.12, s * 0.7, s * 0.88), radius=int(s * 0.05), fill=(25, 25, 30, 255)
    )
    draw.rectangle((s * 0.33, s * 0.17, s * 0.67, s * 0.83), fill=(*_hsv(rng.random(), 0.5, 0.8), 255))
    for k in range(int(rng.integers(3, 9))):
        y = s * (0.22 + 0.07 * k)
        draw.rectangle((s * 0.36, y, s * (0.4 + 0.2 * rng.random()), y + s * 0.03), fill=(255, 255, 255, 255))


def _fruit(draw: ImageDraw.ImageDraw, rng: np.random.Generator, s: int, color: Rgba) -> None:
    r = s * rng.uniform(0.2, 0.32)
    draw.ellipse((s / 2 - r, s / 2 - r * rng.uniform(0.8, 1.1), s / 2 + r, s / 2 + r), fill=color)
    draw.rectangle((s / 2 - 2, s / 2 - r - s * 0.08, s / 2 + 2, s / 2 - r + 4), fill=(90, 60, 30, 255))
    draw.ellipse((s / 2 + 2, s / 2 - r - s * 0.08, s / 2 + s * 0.14, s / 2 - r), fill=(40, 140, 50, 255))


def _wallet(draw: ImageDraw.ImageDraw, rng: np.random.Generator, s: int, color: Rgba) -> None:
    draw.rounded_rectangle((s * 0.15, s * 0.3, s * 0.85, s * 0.72), radius=int(s * 0.04), fill=color)
    draw.line((s * 0.15, s * 0.45, s * 0.85, s * 0.45), fill=(0, 0, 0, 255), width=2)


def _keys(draw: ImageDraw.ImageDraw, rng: np.random.Generator, s: int, color: Rgba) -> None:
    cx, cy = s * 0.5, s * 0.4
    for k in range(int(rng.integers(2, 5))):
        angle = rng.uniform(0, np.pi)
        ex, ey = cx + np.cos(angle) * s * 0.35, cy + np.sin(angle) * s * 0.35
        draw.line((cx, cy, ex, ey), fill=(180, 180, 170, 255), width=int(s * 0.04))
        draw.ellipse(
            (ex - s * 0.06, ey - s * 0.06, ex + s * 0.06, ey + s * 0.06), fill=(*_hsv(k / 5, 0.7, 0.8), 255)
        )
    draw.ellipse((s * 0.42, s * 0.32, s * 0.58, s * 0.48), outline=(160, 160, 160, 255), width=3)


def _book(draw: ImageDraw.ImageDraw, rng: np.random.Generator, s: int, color: Rgba) -> None:
    rgb = (color[0], color[1], color[2])
    draw.rectangle((s * 0.2, s * 0.12, s * 0.8, s * 0.88), fill=color)
    draw.rectangle((s * 0.2, s * 0.12, s * 0.26, s * 0.88), fill=(*(int(c * 0.6) for c in rgb), 255))
    title = "".join(rng.choice(list(string.ascii_uppercase), size=5))
    _text(draw, (s * 0.53, s * 0.35), title, (s * 0.45, s * 0.1), _contrast_text(rgb))
    zh = "".join(str(c) for c in rng.choice(list(ZH_CHARS), size=3))
    _text(draw, (s * 0.53, s * 0.55), zh, (s * 0.45, s * 0.13), _contrast_text(rgb))


def _toy(draw: ImageDraw.ImageDraw, rng: np.random.Generator, s: int, color: Rgba) -> None:
    for _ in range(int(rng.integers(3, 7))):
        x, y = rng.uniform(0.2, 0.65, size=2) * s
        draw.rectangle((x, y, x + s * 0.15, y + s * 0.15), fill=(*_hsv(rng.random(), 0.9, 0.9), 255))


DISTRACTOR_DRAWERS = {
    "mug": _mug,
    "phone": _phone,
    "fruit": _fruit,
    "wallet": _wallet,
    "keys": _keys,
    "book": _book,
    "toy": _toy,
}


def distractor(seed: int, size: int = 192) -> Image.Image:
    """An object that is in no catalog (a mug, phone, fruit, wallet, keys, book, toy, or packaging of a
    product no store sells), RGBA, size x size: what a shopper may hold up that must come out unknown."""
    rng = np.random.default_rng([DISTRACTOR_STREAM, seed])
    kind = str(rng.choice([*DISTRACTOR_DRAWERS, "package", "package"]))
    if kind == "package":
        # Packaging of products from a seed range no catalog draws from (dataset_split uses [0, 2**31)).
        product = 2**40 + seed
        return product_image(product, int(rng.integers(0, variant_count(product))), size)
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    color = (*_hsv(rng.random(), rng.uniform(0, 1), rng.uniform(0.2, 1)), 255)
    DISTRACTOR_DRAWERS[kind](ImageDraw.Draw(canvas), rng, size, color)
    return canvas
