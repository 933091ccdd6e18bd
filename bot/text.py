"""Normalising text: NFKC, width, case, invisible characters, traditional <-> simplified."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import opencc


@lru_cache(maxsize=2)  # "t2s" and "s2t"
def _converter(config: str) -> opencc.OpenCC:
    """Loaded on first use (~80 ms each), so `--help` and `--version` stay quick."""
    return opencc.OpenCC(config)


CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{CJK}]")
INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\x00-\x1f\x7f]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def valid(text: str) -> str:
    """Lone surrogates (bytes that were not UTF-8, broken JSON escapes) as U+FFFD:
    SQLite, OpenCC and log files accept only valid Unicode."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def clean(text: str) -> str:
    """NFKC (full-width -> half-width), drop control / zero-width / bidi marks, squeeze spaces."""
    text = unicodedata.normalize("NFKC", valid(text))
    text = INVISIBLE.sub(" ", text)
    return " ".join(text.split())


def normalise(text: str) -> str:
    """`clean`, case-folded, traditional characters converted to simplified."""
    return to_simplified(clean(text).casefold())


def to_simplified(text: str) -> str:
    return str(_converter("t2s").convert(text))


def to_traditional(text: str) -> str:
    return str(_converter("s2t").convert(text))


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text))


def is_traditional(text: str) -> bool:
    """True when the text has Chinese characters that change under traditional -> simplified."""
    text = clean(text)
    return has_cjk(text) and to_simplified(text) != text



# Readings anyascii (one reading per character) gets wrong where they matter here:
# a bank's team names and the surnames read differently from the common word.
_WORDS = {"支行": "Zhihang", "分行": "Fenhang", "总行": "Zonghang", "银行": "Yinhang"}
_SURNAMES = {"曾": "Zeng", "单": "Shan", "解": "Xie", "仇": "Qiu", "朴": "Piao", "区": "Ou",
             "查": "Zha", "缪": "Miao", "翟": "Zhai", "覃": "Qin", "盖": "Ge", "尉": "Yu",
             "欧阳": "Ouyang", "司马": "Sima", "诸葛": "Zhuge", "上官": "Shangguan",
             "司徒": "Situ", "慕容": "Murong", "皇甫": "Huangfu", "令狐": "Linghu"}


def latin(text: str, drawable: Callable[[str], bool] = str.isascii, name: bool = False) -> str:
    """The text with what a font cannot draw transliterated: Chinese as pinyin ("演示组" ->
    "Yan Shi Zu"; a person's `name` as "王小龙" -> "Wang Xiaolong"), other scripts by
    anyascii; symbols and emoji the font lacks are dropped."""
    from anyascii import anyascii

    pieces: list[tuple[bool, str]] = []  # (a run of Chinese syllables?, text)
    syllables: list[str] = []

    def close_run() -> None:
        if syllables:
            if name and len(syllables) > 1:  # family name, then the given name as one word
                syllables[1:] = [syllables[1] + "".join(s.lower() for s in syllables[2:])]
            pieces.append((True, " ".join(syllables)))
            syllables.clear()

    i = 0
    while i < len(text):
        c, pair, first = text[i], text[i:i + 2], name and not pieces and not syllables
        word = _WORDS.get(pair) or (_SURNAMES.get(pair) if first else None)
        if word is not None or (_CJK_RE.match(c) and not drawable(c)):
            syllables.append(word or (_SURNAMES.get(c) if first else None) or anyascii(c))
            i += 2 if word else 1
            continue
        close_run()
        if drawable(c) or c.isspace():
            pieces.append((False, c))
        elif unicodedata.category(c)[0] in "LN":  # letters and digits of other scripts
            pieces.append((False, anyascii(c)))
        i += 1
    close_run()
    joined = ""
    for n, (run, piece) in enumerate(pieces):  # a run of syllables stands apart
        joined += " " + piece if run or (n and pieces[n - 1][0]) else piece
    return " ".join(joined.split())
