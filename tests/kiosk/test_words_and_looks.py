"""The kiosk's words in both languages, and colours readable on every background they are drawn on."""

import pytest

from kiosk_ui.message_sources import SOURCES
from kiosk_ui.theme import LARGE, PALETTES, SMALL, contrast, sizes_for
from plumbing.message_catalogs import extract, problems


def test_every_key_the_kiosk_asks_for_has_words_in_both_languages():
    assert problems(SOURCES) == []
    keys = extract(SOURCES)
    assert {"attract.welcome", "pay.declined", "keyboard.zhuyin", "problem.unreachable"} <= keys.keys()


@pytest.mark.parametrize("name", list(PALETTES))
def test_text_has_at_least_4_5_to_1_contrast(name):
    p = PALETTES[name]
    for text, background in [
        (p.text, p.background),
        (p.text, p.surface),
        (p.muted, p.background),
        (p.muted, p.surface),
        (p.on_accent, p.accent),
        (p.danger, p.background),
        (p.danger, p.surface),
        (p.on_banner, p.banner),
    ]:
        assert contrast(text, background) >= 4.5


def test_touch_targets_are_at_least_48_dp_on_both_screens():
    assert sizes_for(800, 480) is SMALL
    assert sizes_for(1280, 800) is LARGE
    for sizes in (SMALL, LARGE):
        assert sizes.touch >= 48
        assert sizes.key >= 48
