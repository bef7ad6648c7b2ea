"""The camera of a real overhead door counter, and the size of a person it sees: shared by the generator
(which draws people at this scale) and the pipeline (which calibrates its person size from it).

A camera 3 m above the floor at the door, looking straight down through a wide lens (92 degrees across the
long side of a 4:3 frame). People are seen from above: what the camera separates is the head and
shoulders, about 1.45 m above the floor, so 1.55 m from the lens.
"""

import math

CAMERA_HEIGHT_M = 3.0
HORIZONTAL_FOV_DEG = 92.0
SHOULDER_HEIGHT_M = 1.45
SHOULDER_WIDTH_M = 0.47  # an adult's shoulders, mean; the generator draws 0.42-0.52 m
BODY_DEPTH_M = 0.26  # chest to back


def view_width_m(at_height_m: float = SHOULDER_HEIGHT_M) -> float:
    """How wide the frame's long side is at that height above the floor (3.2 m at the shoulders)."""
    distance = CAMERA_HEIGHT_M - at_height_m
    return 2 * distance * math.tan(math.radians(HORIZONTAL_FOV_DEG / 2))


def px_per_m(frame_width: int) -> float:
    """Pixels per metre at shoulder height, for a frame ``frame_width`` pixels wide."""
    return frame_width / view_width_m()


# A person's shoulder width as a fraction of the frame's width (about 0.147): the pipeline's unit of size.
PERSON_WIDTH_FRACTION = SHOULDER_WIDTH_M / view_width_m()
