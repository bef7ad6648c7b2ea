"""Checking the images sellers upload, and making the thumbnails the kiosk and the dashboard show.

An uploaded image is untrusted input decoded by C code, so ``inspect_image`` is strict before anything else
touches it: a size cap on the bytes, only JPEG, PNG and WebP recognised by their content (never by file name
or the claimed content type), a pixel cap checked from the header before any pixels are decoded (a small
file can declare a gigapixel canvas), ``Image.verify()`` for structural damage, and a full decode for
truncation that ``verify`` cannot see. Every refusal is an ``ImageRejected`` with a camelCase ``code`` the
API returns as is.
"""

from dataclasses import dataclass
from io import BytesIO

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError, features

# Pillow format name -> content type. MPO is how Pillow reports a JPEG carrying a multi-picture index (many
# phone and camera photos): it is a JPEG file and browsers show it as one.
_CONTENT_TYPES = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_OPEN_FORMATS = ("JPEG", "PNG", "WEBP")
DEFAULT_MAX_PIXELS = 40_000_000  # a 48 MP phone photo is 8000x6000; 40 MP keeps a decode under ~160 MB RGBA
DEFAULT_THUMBNAIL_SIDE = 320

# EXIF orientations 5-8 rotate by a quarter turn: the picture as shown is the stored one turned on its side.
_QUARTER_TURN_ORIENTATIONS = frozenset({5, 6, 7, 8})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_HIGH_DEPTH_GRAY_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
# ISO base media ("ftyp") brands of HEIF/HEIC/AVIF: what phones upload when they are not set to JPEG.
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
)

# Formats sellers might upload by mistake, by their magic bytes; HEIF/AVIF and SVG are recognised separately.
_OTHER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
    (b"%PDF-", "PDF"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
    (b"\xff\x0a", "JPEG XL"),
    (b"qoif", "QOI"),
)

WEBP_SUPPORTED = bool(features.check("webp"))
THUMBNAIL_FORMAT = "WEBP" if WEBP_SUPPORTED else "JPEG"
THUMBNAIL_CONTENT_TYPE = "image/webp" if WEBP_SUPPORTED else "image/jpeg"


class ImageRejected(ValueError):
    """An image the cloud refuses to store. ``code``: ``emptyImage``, ``imageTooLarge``,
    ``unsupportedImageType`` or ``corruptImage``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ImageInfo:
    """What the metadata document records about an accepted image.

    ``width`` and ``height`` are as displayed, after the EXIF orientation is applied, which is also how the
    thumbnail comes out: a portrait photo stored sideways by the camera is reported as portrait.
    """

    format: str
    content_type: str
    width: int
    height: int


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    """Refuse more than ``max_pixels``, and never more than Pillow's own bomb limit, whose check in
    ``Image.open`` only warns below twice that limit: the outcome must not depend on warning filters."""
    if Image.MAX_IMAGE_PIXELS is not None:
        max_pixels = min(max_pixels, int(Image.MAX_IMAGE_PIXELS))
    width, height = size
    if width * height > max_pixels:
        raise ImageRejected(
            "imageTooLarge", f"the image is {width}x{height} pixels, over the limit of {max_pixels} pixels"
        )


def _has_accepted_signature(data: bytes) -> bool:
    return (
        data.startswith(b"\xff\xd8\xff")
        or data.startswith(b"\x89PNG\r\n\x1a\n")
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    )


def _other_format(data: bytes) -> str | None:
    """The name of a known image (or look-alike) format that is not ours, from its magic bytes."""
    for signature, name in _OTHER_SIGNATURES:
        if data.startswith(signature):
            return name
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF/AVIF"
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in head:
        return "SVG"
    return None


def _rejection_for_unidentified(data: bytes) -> ImageRejected:
    """Tell a real image of another kind from a damaged JPEG/PNG/WebP or bytes that are no image at all.

    The first deserves ``unsupportedImageType`` so the seller knows to convert it rather than re-upload.
    Decided by magic bytes, not by letting every Pillow decoder try: some formats (TGA, for one) have no
    magic number and would claim random bytes, and parsing with more decoders is more attack surface.
    """
    if _has_accepted_signature(data):
        return ImageRejected("corruptImage", "the image is damaged and cannot be read")
    other = _other_format(data)
    if other is not None:
        return ImageRejected(
            "unsupportedImageType", f"{other} images are not accepted; use JPEG, PNG or WebP"
        )
    return ImageRejected("corruptImage", "the file is not a readable image")


def inspect_image(data: bytes, max_bytes: int, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Accept ``data`` as a JPEG, PNG or WebP image and describe it, or raise ``ImageRejected``.

    ``max_pixels`` is checked from the header before decoding, capped at Pillow's own decompression-bomb
    limit (``Image.MAX_IMAGE_PIXELS``, about 89 MP). Pillow's guard in ``Image.open`` raises at twice that
    limit and is reported the same way; between the two it only emits a ``DecompressionBombWarning``, and
    the cap refuses those images whether or not warnings are turned into errors.
    """
    if not data:
        raise ImageRejected("emptyImage", "the image is empty")
    if len(data) > max_bytes:
        raise ImageRejected("imageTooLarge", f"the image is {len(data)} bytes, over the limit of {max_bytes}")
    try:
        with Image.open(BytesIO(data), formats=_OPEN_FORMATS) as probe:
            image_format = str(probe.format)
            size = probe.size
            _check_pixels(size, max_pixels)
            # Structure and checksums. It must come straight after open (reading EXIF first breaks it for
            # PNG) and leaves the image unusable, hence the second open.
            probe.verify()
        with Image.open(BytesIO(data), formats=_OPEN_FORMATS) as decoded:
            decoded.load()  # a full decode: catches truncated pixel data that verify() does not read
            orientation = decoded.getexif().get(ExifTags.Base.Orientation)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("imageTooLarge", f"the image has too many pixels: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise _rejection_for_unidentified(data) from exc
    except Exception as exc:  # Pillow reports damage as OSError, SyntaxError, ValueError, EOFError, ...
        raise ImageRejected("corruptImage", "the image is damaged and cannot be read") from exc
    if image_format not in _CONTENT_TYPES:  # the restricted open makes this unreachable; kept as the rule
        raise ImageRejected("unsupportedImageType", f"{image_format} images are not accepted")
    width, height = size
    if orientation in _QUARTER_TURN_ORIENTATIONS:
        width, height = height, width
    canonical = "JPEG" if image_format == "MPO" else image_format
    return ImageInfo(canonical, _CONTENT_TYPES[image_format], width, height)


def _thumbnail_mode(image: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has transparency: the modes WebP and JPEG encoders take.

    16-bit greyscale is scaled down to 8 bits first; a plain convert would clip nearly everything to white.
    """
    if image.mode in _HIGH_DEPTH_GRAY_MODES:
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    has_alpha = image.mode in _ALPHA_MODES or (image.mode == "P" and "transparency" in image.info)
    target = "RGBA" if has_alpha else "RGB"
    return image if image.mode == target else image.convert(target)


def make_thumbnail(
    data: bytes, max_side: int = DEFAULT_THUMBNAIL_SIDE, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> bytes:
    """A thumbnail no larger than ``max_side`` on either side (never enlarged), upright as displayed.

    Encoded as WebP (``THUMBNAIL_CONTENT_TYPE``), or JPEG on a Pillow built without WebP, where transparency
    is flattened onto white. Meant for images ``inspect_image`` accepted; anything else still raises
    ``ImageRejected`` rather than a Pillow error.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    try:
        with Image.open(BytesIO(data), formats=_OPEN_FORMATS) as source:
            _check_pixels(source.size, max_pixels)
            # JPEG only: decode at a reduced scale that is still at least max_side, much faster for photos.
            source.draft(None, (max_side, max_side))
            upright = ImageOps.exif_transpose(source)  # a new, loaded image without the orientation tag
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("imageTooLarge", f"the image has too many pixels: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise _rejection_for_unidentified(data) from exc
    except Exception as exc:  # Pillow reports damage with many exception types
        raise ImageRejected("corruptImage", "the image is damaged and cannot be read") from exc

    thumb = _thumbnail_mode(upright)
    thumb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = BytesIO()
    if THUMBNAIL_FORMAT == "WEBP":
        thumb.save(out, "WEBP", quality=80, method=4)
    else:
        if thumb.mode == "RGBA":
            flat = Image.new("RGB", thumb.size, (255, 255, 255))
            flat.paste(thumb, mask=thumb.getchannel("A"))
            thumb = flat
        thumb.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()
