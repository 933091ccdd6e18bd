"""Normalising text: NFKC, width, case, invisible characters, traditional <-> simplified."""

from __future__ import annotations

import re
import unicodedata
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


def to_traditional(text: str) -> str:
    return str(_converter("s2t").convert(text))


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text))


def is_traditional(text: str) -> bool:
    """True when the text has Chinese characters that change under traditional -> simplified."""
    text = clean(text)
    return has_cjk(text) and to_simplified(text) != text


def number(text: str, high: int = MAX_ID) -> int | None:
    """A whole number from 0 to `high` written in ASCII digits, else None. Ids in button
    payloads and command arguments come from outside: no sign, no other script's digits
    (`"²".isdigit()` is true), nothing larger than the database can hold."""
    if not _NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if value <= high else None
