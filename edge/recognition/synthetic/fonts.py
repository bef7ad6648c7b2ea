"""Fonts for the packaging: a CJK face for Chinese (Noto Sans CJK TC, found where the kiosk finds it) and a
Latin face. Nothing is downloaded: when no CJK font is installed, Chinese text is left off the packaging
(the generator stays deterministic on a given machine, and says which fonts it used)."""

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

# The same places kiosk_ui/fonts.py looks (edge does not import the kiosk): Debian/Raspberry Pi OS, Fedora.
CJK_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/google-noto-cjk"))
CJK_FILES = ("NotoSansCJK-Bold.ttc", "NotoSansCJK-Regular.ttc")
CJK_FAMILY = "Noto Sans CJK TC"
LATIN_FILES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _fc_match(pattern: str) -> Path | None:
    fc_match = shutil.which("fc-match")
    if not fc_match:
        return None
    found = subprocess.run(  # noqa: S603 (fontconfig's own tool, with a fixed pattern)
        [fc_match, "-f", "%{file}", pattern], capture_output=True, text=True, check=False
    ).stdout.strip()
    return Path(found) if found.endswith((".ttc", ".otf", ".ttf")) and Path(found).exists() else None


@lru_cache(maxsize=1)
def cjk_font_file() -> tuple[Path, int] | None:
    """(file, face index) of a Traditional Chinese face, or None when the machine has no CJK font."""
    candidates = [folder / name for folder in CJK_DIRS for name in CJK_FILES if (folder / name).exists()]
    matched = _fc_match(f"{CJK_FAMILY}:style=Bold")
    if matched:
        candidates.append(matched)
    for path in candidates:
        for index in range(10):
            try:
                face = ImageFont.truetype(str(path), 12, index=index)
            except OSError:
                break
            if face.getname()[0] == CJK_FAMILY:
                return path, index
    return None


@lru_cache(maxsize=1)
def latin_font_file() -> Path | None:
    for path in LATIN_FILES:
        if path.exists():
            return path
    return _fc_match("DejaVu Sans:style=Bold") or _fc_match("sans-serif:style=Bold")


@lru_cache(maxsize=64)
def cjk_font(size: int) -> ImageFont.FreeTypeFont | None:
    found = cjk_font_file()
    if found is None:
        return None
    return ImageFont.truetype(str(found[0]), size, index=found[1])


@lru_cache(maxsize=64)
def latin_font(size: int) -> Font:
    """A Latin face at ``size`` px: DejaVu Sans Bold, else the CJK face, else Pillow's own default."""
    path = latin_font_file()
    if path is not None:
        return ImageFont.truetype(str(path), size)
    cjk = cjk_font(size)
    return cjk if cjk is not None else ImageFont.load_default(size)
