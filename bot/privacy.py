"""Finding and masking customer data in free text before it is stored or logged.

Everything is matched after NFKC (full-width digits become ASCII) with spaces and
dashes allowed inside numbers, as staff paste them.
"""

from __future__ import annotations

import re
import unicodedata

# Separators people paste inside numbers: space, no-break space, hyphens and dashes.
_SEP_CHARS = " \u00a0\\-\u2010-\u2015\u2212"
_SEP = f"[{_SEP_CHARS}]"
# A digit run, optionally in groups of 3+ digits ("6222 0212 3456 7890 128",
# "138-1234-5678"), optionally ending in the ID check letter X. Groups of one or
# two digits do not join, so dates and times ("2026-11-28 10:30") stay apart.
_DIGITS = re.compile(rf"(?<!\d)\d+(?:{_SEP}\d{{3,}})*(?:{_SEP}?[Xx](?![A-Za-z]))?(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def id_number_ok(value: str) -> bool:
    """PRC resident identity number: 17 digits and a valid check character."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17].upper()


def _keep(value: str, head: int, tail: int) -> str:
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


def _mask_number(match: re.Match[str]) -> str:
    raw = match.group(0)
    value = re.sub(_SEP, "", raw)
    if len(value) == 18 and id_number_ok(value):
        return _keep(value, 6, 4)
    if value.isdigit() and 13 <= len(value) <= 19 and luhn_ok(value):
        return _keep(value, 6, 4)
    if _MOBILE.match(value):
        return _keep(value, 3, 4)
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 10:
        return _keep(value, 0, 4) if value[-1:].isdigit() else "*" * len(value)
    return raw


def mask(text: str) -> str:
    """The text with card / ID / phone / account numbers and e-mail addresses masked."""
    text = unicodedata.normalize("NFKC", text)
    while True:  # until stable: chained addresses ("a@b.cc@d.ee") need a second pass
        masked = _EMAIL.sub(lambda m: m.group(0)[0] + "***@" + m.group(0).split("@")[1], text)
        if masked == text:
            break
        text = masked
    return _DIGITS.sub(_mask_number, text)


def has_customer_data(text: str) -> bool:
    return mask(text) != unicodedata.normalize("NFKC", text)
