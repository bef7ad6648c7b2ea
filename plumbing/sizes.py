"""``WIDTHxHEIGHT`` options (``320x240``, ``800x480``), read by one rule: the kiosk's window and the door
counter's working size both take them."""


def parse_size(text: str, *, minimum: tuple[int, int] = (1, 1), example: str = "320x240") -> tuple[int, int]:
    """``"320x240"`` -> ``(320, 240)``; ``ValueError`` (its message naming ``example``) for anything else or
    for a side below ``minimum``."""
    width, sep, height = text.lower().partition("x")
    if (
        not sep
        or not width.isdigit()
        or not height.isdigit()
        or int(width) < minimum[0]
        or int(height) < minimum[1]
    ):
        raise ValueError(f"size {text!r}: write WIDTHxHEIGHT, e.g. {example}")
    return int(width), int(height)
