"""The kiosk's typeface: Noto Sans CJK TC, so Chinese is drawn as Taiwan writes it.

Debian's ``fonts-noto-cjk`` ships one collection (``.ttc``) per weight holding the Japanese, Korean,
Simplified, Traditional and Hong Kong faces; Kivy opens only a collection's first face, the Japanese one,
whose 茶, 說 or 黃 are not Taiwan's. So the Traditional Chinese face is taken out of the collection once
(fontTools), into the kiosk's cache folder, and that file is what the app registers.
"""

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTCollection

FAMILY = "Noto Sans CJK TC"
# Where Debian, Raspberry Pi OS and Fedora put the collections; fc-match finds them anywhere else.
KNOWN_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/google-noto-cjk"))
WEIGHTS = {"regular": "NotoSansCJK-Regular.ttc", "bold": "NotoSansCJK-Bold.ttc"}


class FontMissing(RuntimeError):
    """No Noto Sans CJK on this machine: install ``fonts-noto-cjk`` (scripts/bootstrap does)."""


@dataclass(frozen=True)
class KioskFonts:
    regular: Path
    bold: Path


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edgestore" / "fonts"


def _collection(file_name: str) -> Path:
    for folder in KNOWN_DIRS:
        if (folder / file_name).exists():
            return folder / file_name
    fc_match = shutil.which("fc-match")
    if fc_match:
        style = "Bold" if "Bold" in file_name else "Regular"
        found = subprocess.run(  # noqa: S603 (fontconfig's own tool, with a fixed pattern)
            [fc_match, "-f", "%{file}", f"{FAMILY}:style={style}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if found.endswith((".ttc", ".otf", ".ttf")) and Path(found).exists():
            return Path(found)
    raise FontMissing(f"{FAMILY} ({file_name}) is not installed: apt install fonts-noto-cjk")


def traditional_face(collection: Path, into: Path) -> Path:
    """The Traditional Chinese face of ``collection`` as a font file of its own in ``into`` (made once;
    a single-face font is returned as it is)."""
    if collection.suffix != ".ttc":
        return collection
    target = into / f"{collection.stem}-TC.otf"
    if target.exists() and target.stat().st_mtime >= collection.stat().st_mtime:
        return target
    faces = TTCollection(str(collection))
    for face in faces.fonts:
        if face["name"].getDebugName(1) == FAMILY:
            into.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            face.save(str(partial))
            partial.replace(target)  # whole or not at all: a kiosk killed mid-write starts clean
            return target
    raise FontMissing(f"{collection} holds no {FAMILY} face")


def kiosk_fonts(into: Path | None = None) -> KioskFonts:
    folder = into or cache_dir()
    return KioskFonts(
        regular=traditional_face(_collection(WEIGHTS["regular"]), folder),
        bold=traditional_face(_collection(WEIGHTS["bold"]), folder),
    )
