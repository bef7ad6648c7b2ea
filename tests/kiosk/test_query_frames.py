"""The kiosk's query frame: the centre square of the camera's frame at the model's input side, cut by the
rule the node's preprocessing uses, a lossless BMP the node reads, upright, for landscape and portrait frames
alike; and each camera gives it with the still it shows."""

import io
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from edge.recognition.embedder import decode
from edge.recognition.preprocess import center_crop_resize
from kiosk_ui.hardware.camera import FileCamera, OpenCvCamera, PiCamera, camera_from, lores_size
from kiosk_ui.hardware.query_frame import QUERY_SIDE, query_from_jpeg, query_from_pixels, square_pixels
from models.recognition_crop import Square, centre_square
from tests.fake_picamera2 import FakePicamera2

RED, GREEN, BLUE = (255, 0, 0), (0, 160, 0), (0, 0, 255)


def framed(width: int, height: int) -> npt.NDArray[np.uint8]:
    """RGB: red outside the centre square, green inside, a blue block in the square's top-left quarter."""
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    rgb[:] = RED
    left, top, side = centre_square(width, height)
    rgb[top : top + side, left : left + side] = GREEN
    rgb[top : top + side // 2, left : left + side // 2] = BLUE
    return rgb


def jpeg(rgb: npt.NDArray[np.uint8], exif_orientation: int | None = None) -> bytes:
    out = io.BytesIO()
    image = Image.fromarray(rgb)
    exif = Image.Exif()
    if exif_orientation is not None:
        exif[0x0112] = exif_orientation
    image.save(out, format="JPEG", quality=95, exif=exif)
    return out.getvalue()


def rgb_of(data: bytes, kind: str = "JPEG") -> npt.NDArray[np.uint8]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == kind
        return np.asarray(image.convert("RGB"), dtype=np.uint8)


def assert_the_centre_square(query: bytes, side: int = QUERY_SIDE) -> None:
    """A BMP of side x side, no red margin, the blue quarter top-left and green elsewhere."""
    rgb = rgb_of(query, "BMP").astype(int)
    assert rgb.shape == (side, side, 3)
    assert decode(query).shape == (side, side, 3)  # what the node reads
    half, edge = side // 2, 4  # away from the quarter's edges, where the still's JPEG and scaling blur
    blue = rgb[edge : half - edge, edge : half - edge]
    green = np.concatenate(
        [
            rgb[half + edge : -edge, edge:-edge].reshape(-1, 3),
            rgb[edge:-edge, half + edge : -edge].reshape(-1, 3),
        ]
    )
    assert np.abs(blue - BLUE).max() < 40
    assert np.abs(green - GREEN).max() < 40
    assert rgb[edge:-edge, edge:-edge, 0].max() < 60  # no red margin
    assert rgb[:, :, 0].max() < 160  # not even at the border (where chroma subsampling bleeds a little)


@pytest.mark.parametrize(
    ("width", "height", "square"),
    [
        (640, 480, Square(80, 0, 480)),
        (480, 640, Square(0, 80, 480)),
        (192, 192, Square(0, 0, 192)),
        (101, 50, Square(25, 0, 50)),  # an odd margin: the extra pixel on the right
        (50, 101, Square(0, 25, 50)),
    ],
)
def test_the_centre_square_is_the_largest_centred_one(width: int, height: int, square: Square):
    assert centre_square(width, height) == square


def test_a_picture_without_pixels_has_no_square():
    with pytest.raises(ValueError, match="no square"):
        centre_square(0, 480)


@pytest.mark.parametrize(("width", "height"), [(640, 480), (480, 640), (1920, 1080), (300, 300), (120, 90)])
def test_the_query_frame_is_the_centre_square_at_the_models_side(width: int, height: int):
    rgb = framed(width, height)
    assert_the_centre_square(query_from_jpeg(jpeg(rgb)))  # enlarged from 90 px too
    assert_the_centre_square(query_from_pixels(np.ascontiguousarray(rgb[:, :, ::-1])))  # OpenCV's BGR
    assert_the_centre_square(query_from_jpeg(jpeg(rgb), 128), 128)  # a model whose input is 128 px


def test_the_query_frame_is_upright_as_the_node_reads_the_still():
    # Stored on its side with EXIF orientation 6 (turn 90° clockwise to show): upright it is 480 x 640.
    upright = framed(480, 640)
    stored = np.ascontiguousarray(np.rot90(upright, k=1))
    assert decode(jpeg(stored, exif_orientation=6)).shape == (640, 480, 3)
    assert_the_centre_square(query_from_jpeg(jpeg(stored, exif_orientation=6)))


def test_the_node_sees_in_the_query_frame_what_it_saw_in_the_whole_frame():
    """The node's 96 px model input from the query frame and from the 640 x 480 still differ by the still's
    draft decoding only: the same square, scaled the same way, and the query frame is the input itself."""
    rng = np.random.default_rng(18)
    scene = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (0, 0), 6)
    scene = cv2.normalize(scene, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    still = jpeg(scene)
    from_still = center_crop_resize(decode(still, at_least=96), 96).astype(int)
    query = decode(query_from_jpeg(still), at_least=96)
    assert np.array_equal(center_crop_resize(query, 96), query)  # nothing left for the node to scale
    from_query = query.astype(int)
    assert np.abs(from_still - from_query).mean() < 3
    shifted = center_crop_resize(decode(still, at_least=96)[:, :-40], 96).astype(int)  # another square
    assert np.abs(from_still - shifted).mean() > 3 * np.abs(from_still - from_query).mean()


def test_square_pixels_keeps_a_square_of_the_right_side_as_it_is():
    pixels = framed(QUERY_SIDE, QUERY_SIDE)
    assert np.array_equal(square_pixels(pixels), pixels)
    with pytest.raises(ValueError, match="H x W x C"):
        square_pixels(pixels[:, :, 0])


def test_the_pi_cameras_lores_stream_keeps_the_main_streams_aspect():
    assert lores_size((640, 480)) == (256, 192)
    assert lores_size((480, 640)) == (192, 256)
    assert lores_size((1920, 1080)) == (342, 192)
    assert lores_size((160, 120)) == (160, 120)  # never larger than the main stream


def test_the_file_camera_gives_its_still_and_the_query_frame(tmp_path: Path):
    (tmp_path / "a.jpg").write_bytes(jpeg(framed(640, 480)))
    (tmp_path / "b.jpg").write_bytes(b"not a picture")
    camera = FileCamera(tmp_path)
    camera.start()
    frame = camera.capture_frame()
    assert frame.display == (tmp_path / "a.jpg").read_bytes()
    assert_the_centre_square(frame.query)
    broken = camera.capture_frame()  # sent as it is: the node says it is not an image
    assert broken.display == broken.query == b"not a picture"
    assert camera.capture() == frame.display  # capture() is the shown still, as before


def test_the_opencv_camera_gives_its_frame_and_the_query_frame(tmp_path: Path):
    """OpenCV plays numbered stills as a camera (its image-sequence backend): the same code path as V4L2."""
    for n in range(2):
        cv2.imwrite(str(tmp_path / f"frame{n:02d}.jpg"), framed(640, 480)[:, :, ::-1])
    camera = OpenCvCamera(str(tmp_path / "frame%02d.jpg"))
    try:
        camera.start()
    except Exception as exc:  # pragma: no cover - an OpenCV build without its image-sequence reader
        pytest.skip(f"OpenCV cannot play stills here: {exc}")
    frame = camera.capture_frame()
    assert rgb_of(frame.display).shape == (480, 640, 3)
    assert_the_centre_square(frame.query)
    assert rgb_of(camera.capture()).shape == (480, 640, 3)
    camera.stop()


def test_the_pi_camera_cuts_the_query_frame_from_its_lores_stream(fake_picamera2: type[FakePicamera2]):
    """On a stand-in for picamera2 (tests/fake_picamera2.py): each stream is the framed picture at its size."""
    fake_picamera2.picture = staticmethod(  # type: ignore[method-assign]
        lambda size: cv2.resize(framed(640, 480)[:, :, ::-1], size, interpolation=cv2.INTER_AREA)
    )
    camera = camera_from("pi")
    assert isinstance(camera, PiCamera)
    frame = camera.capture_frame()  # starts the camera on first use
    (made,) = fake_picamera2.made
    assert made.config is not None
    assert made.config["kind"] == "still"
    assert made.config["lores"] == {"size": (256, 192), "format": "YUV420"}
    assert rgb_of(frame.display).shape == (480, 640, 3)
    assert_the_centre_square(frame.query)
    assert rgb_of(camera.capture()).shape == (480, 640, 3)  # the shown still, JPEG from picamera2
    camera.stop()
    assert made.closed
