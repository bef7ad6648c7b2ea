"""Zhuyin initials of names: one per character, every reading of a polyphone, runs split by Latin and digits."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.zhuyin import INITIALS, char_initials, initials, matches, zhuyin_query

FAST = settings(max_examples=200, derandomize=True, database=None, deadline=None)


def test_the_37_initials_are_the_zhuyin_letters_in_keyboard_order():
    assert len(INITIALS) == len(set(INITIALS)) == 37
    assert "".join(chr(c) for c in range(0x3105, 0x312A)) == INITIALS  # ㄅ .. ㄩ


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("珍珠奶茶", (("ㄓ", "ㄓ", "ㄋ", "ㄔ"),)),
        ("鳳梨酥", (("ㄈ", "ㄌ", "ㄙ"),)),
        # a syllable with no consonant is typed by its first symbol: 銀 ㄧㄣˊ, 安 ㄢ, 二 ㄦˋ
        ("銀", (("ㄧ",),)),
        ("安", (("ㄢ",),)),
        ("二", (("ㄦ",),)),
        # polyphones: every reading's initial, in keyboard order
        ("銀行", (("ㄧ", "ㄏㄒ"),)),
        ("行走", (("ㄏㄒ", "ㄗ"),)),
        ("長", (("ㄓㄔ",),)),
        # traditional and simplified characters alike
        ("鳳梨", (("ㄈ", "ㄌ"),)),
        ("凤梨", (("ㄈ", "ㄌ"),)),
    ],
)
def test_initials_of_chinese_names(text, expected):
    assert initials(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("iPhone 15", ()),  # nothing Chinese: nothing to type in Zhuyin
        ("Zenfone 11 Ultra", ()),
        ("iPhone 15 粉紅", (("ㄈ", "ㄍㄏㄐ"),)),
        ("128GB 黑色", (("ㄏ", "ㄕㄙ"),)),
        # Latin letters and digits end a run; a query does not bridge them
        ("珍珠奶茶 12入", (("ㄓ", "ㄓ", "ㄋ", "ㄔ"), ("ㄖ",))),
        ("3杯", (("ㄅ",),)),
        ("A5和牛B", (("ㄏ", "ㄋ"),)),
        ("中A中", (("ㄓ",), ("ㄓ",))),
        ("中１中", (("ㄓ",), ("ㄓ",))),  # a full-width digit is a digit
        # spaces, punctuation and symbols are passed over
        ("海苔 洋芋片", (("ㄏ", "ㄊ", "ㄒㄧ", "ㄒㄩ", "ㄆ"),)),
        ("伴手禮．鳳梨酥（12入）", (("ㄅㄆ", "ㄕ", "ㄌ", "ㄈ", "ㄌ", "ㄙ"), ("ㄖ",))),
        # Zhuyin written in a name stands for itself
        ("ㄅㄅ米", (("ㄅ", "ㄅ", "ㄇ"),)),
        ("", ()),
    ],
)
def test_initials_of_names_mixing_latin_digits_and_punctuation(text, expected):
    assert initials(text) == expected


@pytest.mark.parametrize(
    ("query", "text", "found"),
    [
        ("ㄓㄓㄋㄔ", "珍珠奶茶", True),
        ("ㄋㄔ", "珍珠奶茶", True),  # any part of the name
        ("ㄓㄔ", "珍珠奶茶", False),  # in order, with nothing skipped
        ("ㄔㄋ", "珍珠奶茶", False),
        ("ㄧㄏ", "銀行", True),  # 行 read háng
        ("ㄧㄒ", "銀行", True),  # and xíng: either matches
        ("ㄒㄗ", "行走", True),
        ("ㄏㄗ", "行走", True),
        ("ㄓㄓㄋㄔㄖ", "珍珠奶茶 12入", False),  # "12" stands between
        ("ㄖ", "珍珠奶茶 12入", True),
        ("ㄏㄊㄧㄩㄆ", "海苔 洋芋片", True),
        ("ㄈㄏ", "iPhone 15 粉紅", True),
        ("ㄅ", "iPhone 15", False),
    ],
)
def test_matches(query, text, found):
    assert matches(query, text) is found


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ㄓㄓㄋㄔ", "ㄓㄓㄋㄔ"),
        (" ㄓㄓ ㄋㄔ\u3000", "ㄓㄓㄋㄔ"),  # spaces, full-width too, are dropped
        ("ㄅ", "ㄅ"),
        ("珍珠", None),
        ("ㄓa", None),  # mixed with other text: an ordinary search
        ("ㄓㄓˇ", None),  # a tone mark: typed with an IME, not on the kiosk's initials keyboard
        ("ㄪ", None),  # a dialect letter, never an initial of Mandarin
        ("", None),
        ("   ", None),
    ],
)
def test_a_query_of_zhuyin_initials_is_recognised(q, expected):
    assert zhuyin_query(q) == expected


hanzi = st.sampled_from("珍珠奶茶銀行走長重樂了的凍頂烏龍美式拿鐵鳳梨酥太陽餅牛軋糖海苔洋芋片蝦味先衛生紙")
names = st.text(alphabet=st.one_of(hanzi, st.sampled_from("ab 12．ㄅ")), max_size=12)


@FAST
@given(names, st.data())
def test_one_reading_per_character_of_any_run_window_matches(text, data):
    runs = [run for run in initials(text) if run]
    if not runs:
        assert not any(matches(symbol, text) for symbol in INITIALS)
        return
    run = data.draw(st.sampled_from(runs))
    start = data.draw(st.integers(0, len(run) - 1))
    end = data.draw(st.integers(start + 1, len(run)))
    query = "".join(data.draw(st.sampled_from(run[k])) for k in range(start, end))
    assert matches(query, text)


@FAST
@given(names)
def test_every_initial_of_every_character_is_known_and_in_order(text):
    for run in initials(text):
        for alternatives in run:
            assert alternatives
            assert alternatives == "".join(s for s in INITIALS if s in alternatives)
    for char in text:
        assert set(char_initials(char)) <= set(INITIALS)
