"""Zhuyin (ㄅㄆㄇ) initials of Chinese text: how a shopper finds 珍珠奶茶 by typing 「ㄓㄓㄋㄔ」, with no IME.

The kiosk's on-screen keyboard has a Zhuyin layout of the symbols a syllable begins with. Typing one per
character is the search Taiwanese phones offer for contacts: 珍(ㄓㄣ) 珠(ㄓㄨ) 奶(ㄋㄞˇ) 茶(ㄔㄚˊ) is
「ㄓㄓㄋㄔ」. A syllable without a consonant begins with its medial or rhyme (銀 ㄧㄣˊ: ㄧ, 安 ㄢ: ㄢ), so the
first symbol of each reading is what is typed, which is pypinyin's ``Style.BOPOMOFO_FIRST``.

A polyphone gives every initial its readings have (行: ㄒ in 行走, ㄏ in 銀行), so either matches. The
readings are per character, not per phrase: pypinyin would pick one reading of a phrase it knows, and a
shopper may type the other. The alternatives are kept per character, never multiplied out into strings
(a name of ten polyphones would make a thousand), so this holds every reading of every character.

Pure: pypinyin is a dictionary in Python modules (read at import, about 50 MB and 0.1 s), with no I/O.
"""

import unicodedata
from functools import cache

from pypinyin import Style, pinyin

INITIALS = "ㄅㄆㄇㄈㄉㄊㄋㄌㄍㄎㄏㄐㄑㄒㄓㄔㄕㄖㄗㄘㄙㄚㄛㄜㄝㄞㄟㄠㄡㄢㄣㄤㄥㄦㄧㄨㄩ"
"""The 37 symbols a Mandarin syllable can begin with, in Unicode (and keyboard) order: the 21 consonants,
then the rhymes and medials that begin the syllables without one."""

_RUN_BREAKS = frozenset({"Lu", "Ll", "Lt", "Lo", "Nd", "Nl", "No"})
"""Letters and digits of other scripts end a run of initials: 「ㄔㄖ」 does not bridge "珍珠奶茶 12入"."""

Run = tuple[str, ...]
"""Consecutive characters of a name, each as the initials it can begin with (行 -> "ㄏㄒ")."""


@cache  # a catalog repeats its characters; the cache is bounded by the characters that exist
def char_initials(char: str) -> str:
    """Every initial ``char`` can be typed as, in ``INITIALS`` order; "" for anything but a Chinese character
    or a Zhuyin initial (which stands for itself: a name may be written partly in Zhuyin)."""
    if char in INITIALS:
        return char
    readings = pinyin(char, style=Style.BOPOMOFO_FIRST, heteronym=True, errors="ignore")
    found = {symbol for reading in readings for symbol in reading}
    # A few rare readings (hm, ng) have no Zhuyin initial: pypinyin leaves them out or as Latin letters.
    return "".join(symbol for symbol in INITIALS if symbol in found)


def initials(text: str) -> tuple[Run, ...]:
    """The runs of ``text`` a Zhuyin query can match: its Chinese characters in order, split where a letter
    or a digit of another script stands between them. Spaces, punctuation and symbols are passed over, so
    「ㄏㄊㄧㄩㄆ」 finds 海苔 洋芋片."""
    runs: list[Run] = []
    run: list[str] = []
    for char in text:
        found = char_initials(char)
        if found:
            run.append(found)
        elif unicodedata.category(char) in _RUN_BREAKS and run:
            runs.append(tuple(run))
            run = []
    if run:
        runs.append(tuple(run))
    return tuple(runs)


def zhuyin_query(q: str) -> str | None:
    """``q`` as the initials it asks for, when it is a Zhuyin query: only ``INITIALS`` and whitespace (the
    kiosk types no tones), with at least one initial; None for any other search text."""
    symbols = "".join(q.split())
    if symbols and all(symbol in INITIALS for symbol in symbols):
        return symbols
    return None


def matches(query: str, text: str) -> bool:
    """Whether the initials ``query`` (from ``zhuyin_query``) match ``text``: some run holds, at consecutive
    characters, each symbol in turn. The rule the node's search index implements in SQL."""
    n = len(query)
    return any(
        all(symbol in run[start + k] for k, symbol in enumerate(query))
        for run in initials(text)
        for start in range(len(run) - n + 1)
    )
