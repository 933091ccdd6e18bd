"""Normalising text: NFKC, width, case, invisible characters, traditional <-> simplified."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import opencc


@lru_cache(maxsize=4)  # t2s, s2t, s2hk, s2tw
def _converter(config: str) -> opencc.OpenCC:
    """Loaded on first use (~80 ms each), so `--help` and `--version` stay quick."""
    return opencc.OpenCC(config)


CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{CJK}]")
INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\x00-\x1f\x7f]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NUMBER = re.compile(r"[0-9]{1,19}")
MAX_ID = 2**63 - 1  # the largest integer the database stores (SQLite INTEGER, BIGINT)


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


# What OpenCC gets wrong in our texts, found by converting every card and UI string and
# reading what changed (and what did not). Before conversion, in the simplified text
# (OpenCC then gives each region its own form, 卡裏 / 卡裡):
SIMPLIFIED_FIXES = (("卡里", "卡裏"), ("天后", "天後"))  # in the card; 7 days later
# after conversion, in this order:
TRADITIONAL_FIXES = (
    ("彆", "別"), ("別扭", "彆扭"),  # 别着急 is not 彆着急 (彆 only in 彆扭)
    ("覈", "核"), ("爲", "為"),  # plain s2t's forms; s2hk / s2tw already avoid them
    ("籤", "簽"),  # 签 a form, not a slip of paper ...
    ("便簽", "便籤"), ("標簽", "標籤"), ("書簽", "書籤"), ("抽簽", "抽籤"), ("求簽", "求籤"),
    ("製度", "制度"),  # 行内制度
    ("髮卡", "發卡"), ("羣髮", "羣發"), ("群髮", "群發"),  # 发卡行, 群发
    ("隻是", "只是"),  # 还是只是
    ("拖幹", "拖乾"), ("銷燬", "銷毀"),
    ("衝正", "沖正"), ("衝賬", "沖賬"), ("衝帳", "沖帳"), ("衝銷", "沖銷"),  # reversing an entry
)


@lru_cache(maxsize=8192)
def to_traditional(text: str, taiwan: bool = False) -> str:
    """Simplified -> traditional: Hong Kong forms (s2hk), or Taiwan forms (s2tw) - never
    s2twp, which swaps in Taiwan vocabulary (打印 -> 列印); then TRADITIONAL_FIXES."""
    for wrong, right in SIMPLIFIED_FIXES:
        if wrong in text:
            text = text.replace(wrong, right)
    text = str(_converter("s2tw" if taiwan else "s2hk").convert(text))
    for wrong, right in TRADITIONAL_FIXES:
        if wrong in text:
            text = text.replace(wrong, right)
    return text


def is_simplified(text: str) -> bool:
    """True when the text has characters a Hong Kong writer would not use (客户 is the same
    in both, 说 is not)."""
    text = clean(text)
    return has_cjk(text) and to_traditional(text) != text


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


def number(text: str, high: int = MAX_ID) -> int | None:
    """A whole number from 0 to `high` written in ASCII digits, else None. Ids in button
    payloads and command arguments come from outside: no sign, no other script's digits
    (`"²".isdigit()` is true), nothing larger than the database can hold."""
    if not _NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if value <= high else None
