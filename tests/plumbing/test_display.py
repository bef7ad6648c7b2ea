"""Whether there is a screen, and Kivy's environment before its import (``plumbing.display``): what the kiosk
and calibrate's preview window both rely on. Kivy itself is not imported here."""

import os
from pathlib import Path

import pytest

from plumbing.display import desktop_display, kms_card, prepare_kivy_environment, sdl_video_drivers

KIVY_VARIABLES = ("KIVY_NO_ARGS", "KIVY_HOME", "KIVY_NO_CONSOLELOG", "KIVY_WINDOW", "SDL_VIDEODRIVER")


@pytest.fixture
def bare(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No display named and none of Kivy's variables set, all restored after the test: those the code under
    test sets too (monkeypatch restores only a variable it has seen, so each is set before it is deleted;
    a leaked SDL_VIDEODRIVER=kmsdrm would keep every later Kivy window of the session from opening)."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", *KIVY_VARIABLES):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return monkeypatch


def test_a_desktop_is_named_by_display_or_wayland_display(bare: pytest.MonkeyPatch):
    assert not desktop_display()
    assert sdl_video_drivers() == "kmsdrm"
    bare.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert desktop_display()
    assert sdl_video_drivers() == "wayland"
    bare.setenv("DISPLAY", ":0")
    assert sdl_video_drivers() == "x11,wayland"
    bare.delenv("WAYLAND_DISPLAY")
    assert sdl_video_drivers() == "x11"


def test_a_kms_card_is_one_this_process_may_open(tmp_path: Path):
    assert kms_card(tmp_path) is None
    (tmp_path / "renderD128").touch()  # a render node draws nothing on a screen
    assert kms_card(tmp_path) is None
    (tmp_path / "card1").touch()
    (tmp_path / "card0").touch()
    assert kms_card(tmp_path) == tmp_path / "card0"
    if os.geteuid() != 0:  # root may open anything
        (tmp_path / "card0").chmod(0o400)
        assert kms_card(tmp_path) == tmp_path / "card1"


def test_the_kiosks_environment_uses_kms_without_a_desktop(bare: pytest.MonkeyPatch, tmp_path: Path):
    prepare_kivy_environment(tmp_path / "home", quiet=True)
    assert os.environ["KIVY_NO_ARGS"] == "1"
    assert os.environ["KIVY_HOME"] == str(tmp_path / "home")
    assert os.environ["KIVY_NO_CONSOLELOG"] == "1"
    assert os.environ["SDL_VIDEODRIVER"] == "kmsdrm"
    assert "KIVY_WINDOW" not in os.environ
    assert (tmp_path / "home").is_dir()


def test_on_a_desktop_the_kiosk_leaves_sdl_to_choose(bare: pytest.MonkeyPatch, tmp_path: Path):
    bare.setenv("DISPLAY", ":0")
    prepare_kivy_environment(tmp_path)
    assert "SDL_VIDEODRIVER" not in os.environ
    assert "KIVY_NO_CONSOLELOG" not in os.environ


def test_the_named_display_only_or_no_window(bare: pytest.MonkeyPatch, tmp_path: Path):
    bare.setenv("DISPLAY", ":0")
    prepare_kivy_environment(tmp_path, named_display_only=True)
    assert os.environ["SDL_VIDEODRIVER"] == "x11"  # not SDL's off-screen fallback
    assert os.environ["KIVY_WINDOW"] == "sdl2"  # not Kivy's X11 window, which exits without a server
    bare.setenv("SDL_VIDEODRIVER", "wayland")
    prepare_kivy_environment(tmp_path, named_display_only=True)
    assert os.environ["SDL_VIDEODRIVER"] == "wayland"  # what the person running it chose stands
