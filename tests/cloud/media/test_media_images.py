"""Image checks and thumbnails on real images made with Pillow in memory, and on real damaged and hostile
files (truncations, flipped checksums, a decompression bomb)."""

import random
import struct
import zlib
from io import BytesIO

import pytest
from PIL import ExifTags, Image

from cloud.media.images import (
    DEFAULT_MAX_PIXELS,
    THUMBNAIL_CONTENT_TYPE,
    THUMBNAIL_FORMAT,
    ImageInfo,
    ImageRejected,
    inspect_image,
    make_thumbnail,
)

MAX_BYTES = 10 * 1024 * 1024


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def photo(size: tuple[int, int] = (400, 300), mode: str = "RGB") -> Image.Image:
    """Noise, so encoders cannot squeeze it to nothing and truncation lands inside the pixel data."""
    rng = random.Random(size[0] * 7919 + size[1])
    raw = rng.randbytes(size[0] * size[1] * len(mode))
    return Image.frombytes(mode, size, raw)


def left_red_right_blue(size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return image


def jpeg_with_orientation(image: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    return encode(image, "JPEG", quality=95, exif=exif.tobytes())


def png_chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))


def bilevel_png(width: int, height: int) -> bytes:
    """A valid all-black 1-bit PNG, streamed row by row: a few kilobytes on disk for any size in pixels.

    This is how a decompression bomb is made: 20000x20000 is 400 megapixels (1.6 GB as RGBA) in ~50 KB.
    """
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte "none", then the packed pixels
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", pixels)
        + png_chunk(b"IEND", b"")
    )


def rejected(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS) -> str:
    with pytest.raises(ImageRejected) as info:
        inspect_image(data, max_bytes, max_pixels=max_pixels)
    assert info.value.message
    return info.value.code


def reddish(pixel: tuple[int, ...]) -> bool:
    return pixel[0] > 200 and pixel[2] < 60


def bluish(pixel: tuple[int, ...]) -> bool:
    return pixel[2] > 200 and pixel[0] < 60


# accepted


def test_png_is_accepted() -> None:
    assert inspect_image(encode(photo((400, 300)), "PNG"), MAX_BYTES) == ImageInfo(
        "PNG", "image/png", 400, 300
    )


def test_jpeg_is_accepted() -> None:
    assert inspect_image(encode(photo((640, 480)), "JPEG"), MAX_BYTES) == ImageInfo(
        "JPEG", "image/jpeg", 640, 480
    )


@pytest.mark.parametrize("lossless", [False, True])
def test_webp_is_accepted(lossless: bool) -> None:
    data = encode(photo((300, 200)), "WEBP", lossless=lossless)
    assert inspect_image(data, MAX_BYTES) == ImageInfo("WEBP", "image/webp", 300, 200)


def test_a_multi_picture_jpeg_from_a_phone_counts_as_jpeg() -> None:
    data = encode(photo((64, 32)), "MPO", save_all=True, append_images=[photo((64, 32))])
    assert inspect_image(data, MAX_BYTES) == ImageInfo("JPEG", "image/jpeg", 64, 32)


def test_the_type_comes_from_the_bytes_not_from_any_name() -> None:
    """A PNG is a PNG whatever the browser claimed; the function never sees a name or a claimed type."""
    info = inspect_image(encode(photo((10, 10), "RGBA"), "PNG"), MAX_BYTES)
    assert (info.format, info.content_type) == ("PNG", "image/png")


def test_exif_orientation_6_reports_the_displayed_size() -> None:
    data = jpeg_with_orientation(left_red_right_blue((400, 200)), 6)
    assert inspect_image(data, MAX_BYTES) == ImageInfo("JPEG", "image/jpeg", 200, 400)


# refused


def test_empty_data_is_refused() -> None:
    assert rejected(b"") == "emptyImage"


def test_more_bytes_than_allowed_are_refused_before_decoding() -> None:
    data = encode(photo((100, 100)), "PNG")
    assert inspect_image(data, len(data)).width == 100
    assert rejected(data, max_bytes=len(data) - 1) == "imageTooLarge"


def test_gif_is_unsupported() -> None:
    assert rejected(encode(photo((20, 20)).convert("P"), "GIF")) == "unsupportedImageType"


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO"])
def test_other_pillow_formats_are_unsupported(fmt: str) -> None:
    assert rejected(encode(photo((16, 16)), fmt)) == "unsupportedImageType"


def test_heic_from_a_phone_is_unsupported_not_corrupt() -> None:
    heic_header = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200
    assert rejected(heic_header) == "unsupportedImageType"


def test_svg_is_unsupported() -> None:
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    assert rejected(svg) == "unsupportedImageType"


def test_random_bytes_are_corrupt() -> None:
    for seed in range(20):
        assert rejected(random.Random(seed).randbytes(4096)) == "corruptImage"


def test_text_is_corrupt() -> None:
    assert rejected("這不是圖片，只是一段文字。".encode()) == "corruptImage"


def test_a_truncated_png_is_corrupt() -> None:
    data = encode(photo((256, 256)), "PNG")
    for cut in (len(data) // 2, len(data) - 20, 60):
        assert rejected(data[:cut]) == "corruptImage"


def test_a_truncated_jpeg_is_corrupt() -> None:
    data = encode(photo((256, 256)), "JPEG", quality=95)
    assert rejected(data[: len(data) // 2]) == "corruptImage"


def test_a_truncated_webp_is_corrupt() -> None:
    data = encode(photo((256, 256)), "WEBP", lossless=True)
    assert rejected(data[: len(data) // 2]) == "corruptImage"


def test_a_png_with_a_damaged_chunk_is_corrupt() -> None:
    """Same length, one bit flipped in the compressed pixels: only the chunk checksum notices."""
    data = bytearray(encode(photo((64, 64)), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 40] ^= 0x01
    assert rejected(bytes(data)) == "corruptImage"


def test_the_pixel_limit_is_checked_from_the_header() -> None:
    data = encode(Image.new("RGB", (1000, 1000), "white"), "PNG")
    assert inspect_image(data, MAX_BYTES, max_pixels=1_000_000).width == 1000
    assert rejected(data, max_pixels=999_999) == "imageTooLarge"


def test_a_48_megapixel_canvas_in_a_small_file_is_refused_by_the_default_limit() -> None:
    data = bilevel_png(8000, 6000)
    assert len(data) < 100_000
    assert DEFAULT_MAX_PIXELS < 8000 * 6000 < 89_478_485  # over our limit, under Pillow's
    assert rejected(data) == "imageTooLarge"


def test_a_decompression_bomb_is_refused() -> None:
    """400 megapixels in ~50 KB: over twice Pillow's own limit, so Image.open itself refuses it."""
    data = bilevel_png(20000, 20000)
    assert len(data) < 200_000
    assert rejected(data) == "imageTooLarge"
    assert rejected(data, max_pixels=10**12) == "imageTooLarge"  # Pillow's guard holds even if ours is lifted


def test_a_bomb_between_pillows_warning_and_error_limits_is_refused() -> None:
    """100 megapixels: Pillow's open only warns (DecompressionBombWarning, an error under this suite's
    filterwarnings) and the function's own check, capped at Pillow's limit, refuses it in any case."""
    data = bilevel_png(10000, 10000)
    assert rejected(data) == "imageTooLarge"
    assert rejected(data, max_pixels=10**12) == "imageTooLarge"


# thumbnails


def open_thumbnail(data: bytes) -> Image.Image:
    image = Image.open(BytesIO(data))
    assert image.format == THUMBNAIL_FORMAT
    image.load()
    return image


def test_thumbnail_is_webp_within_max_side_keeping_the_aspect_ratio() -> None:
    assert THUMBNAIL_FORMAT == "WEBP"  # this Pillow has WebP; JPEG is the fallback without it
    assert THUMBNAIL_CONTENT_TYPE == "image/webp"
    thumb = open_thumbnail(make_thumbnail(encode(photo((1000, 500)), "PNG")))
    assert thumb.size == (320, 160)


@pytest.mark.parametrize(
    ("size", "max_side", "expected"), [((300, 900), 100, (33, 100)), ((64, 48), 320, (64, 48))]
)
def test_thumbnail_sizes(size: tuple[int, int], max_side: int, expected: tuple[int, int]) -> None:
    thumb = open_thumbnail(make_thumbnail(encode(photo(size), "JPEG"), max_side=max_side))
    assert thumb.size == expected  # and a small image is never enlarged


def test_thumbnail_honours_exif_orientation() -> None:
    """Stored 400x200 with the left half red; orientation 6 shows it turned a quarter clockwise, so the
    thumbnail is portrait with red on top."""
    data = jpeg_with_orientation(left_red_right_blue((400, 200)), 6)

    thumb = open_thumbnail(make_thumbnail(data, max_side=100)).convert("RGB")

    assert thumb.size == (50, 100)
    assert reddish(thumb.getpixel((25, 10)))
    assert bluish(thumb.getpixel((25, 90)))
    assert thumb.getexif().get(ExifTags.Base.Orientation) in (None, 1)  # not turned a second time


def test_thumbnail_without_orientation_keeps_the_layout() -> None:
    data = encode(left_red_right_blue((400, 200)), "JPEG", quality=95)
    thumb = open_thumbnail(make_thumbnail(data, max_side=100)).convert("RGB")
    assert thumb.size == (100, 50)
    assert reddish(thumb.getpixel((10, 25)))
    assert bluish(thumb.getpixel((90, 25)))


def test_thumbnail_keeps_transparency() -> None:
    image = Image.new("RGBA", (200, 200), (255, 0, 0, 0))
    image.paste((0, 0, 255, 255), (100, 0, 200, 200))
    thumb = open_thumbnail(make_thumbnail(encode(image, "PNG"), max_side=50))
    assert thumb.mode == "RGBA"
    assert thumb.getpixel((5, 25))[3] < 10
    assert thumb.getpixel((45, 25))[3] > 245


def test_thumbnail_of_a_palette_png_with_a_transparent_colour() -> None:
    image = Image.new("P", (60, 60), 0)
    image.putpalette([255, 255, 255, 0, 128, 0] + [0] * 762)
    image.paste(1, (30, 0, 60, 60))
    thumb = open_thumbnail(make_thumbnail(encode(image, "PNG", transparency=0), max_side=30))
    assert thumb.mode == "RGBA"
    assert thumb.getpixel((2, 15))[3] == 0


@pytest.mark.parametrize("mode", ["L", "LA", "CMYK", "I;16"])
def test_thumbnail_converts_other_modes(mode: str) -> None:
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    image = Image.new(mode, (80, 40), 30000 if mode == "I;16" else 0)
    thumb = open_thumbnail(make_thumbnail(encode(image, fmt), max_side=40))
    assert thumb.size == (40, 20)
    if mode == "I;16":  # 30000 of 65535 is a mid grey, not the white a plain convert would give
        assert 100 < thumb.convert("L").getpixel((20, 10)) < 140


def test_thumbnail_of_webp() -> None:
    thumb = open_thumbnail(make_thumbnail(encode(photo((640, 640)), "WEBP")))
    assert thumb.size == (320, 320)


def test_thumbnail_of_bad_input_raises_image_rejected() -> None:
    with pytest.raises(ImageRejected) as info:
        make_thumbnail(random.Random(1).randbytes(1000))
    assert info.value.code == "corruptImage"
    with pytest.raises(ImageRejected) as info:
        make_thumbnail(encode(photo((20, 20)).convert("P"), "GIF"))
    assert info.value.code == "unsupportedImageType"
    with pytest.raises(ImageRejected) as info:
        make_thumbnail(bilevel_png(8000, 6000))
    assert info.value.code == "imageTooLarge"
    with pytest.raises(ValueError, match="max_side"):
        make_thumbnail(encode(photo((20, 20)), "PNG"), max_side=0)
