"""Customer-data recall on generated odd shapes, and false positives on benign text.

Run from the repo root: .venv/bin/python bench/privacy_bench.py
Cards (Luhn), ID numbers (check character) and mainland mobiles are written with
random separators (dots, slashes, " - ", underscores, soft hyphens, zero-width
spaces, ideographic spaces, line breaks), random group sizes, full-width digits or
Chinese numerals; a shape counts as caught when the number's middle digits (all
but the first 6, for a mobile 3, and the last 4 that a masked number keeps) are gone. Benign text: dates, times, money, versions, counts, staff numbers.
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.privacy import mask  # noqa: E402

SEPS = [" ", ".", "/", " - ", "_", "\u00ad", "\u200b", "\u3000", "\n", "-", "·", "—", " / "]
ZH = "零一二三四五六七八九"
rng = random.Random(20261206)


def luhn_complete(payload: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return payload + str((10 - total % 10) % 10)


def id_complete(body: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def number(kind: str) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(20))
    if kind == "card":
        return luhn_complete("62" + digits[:rng.choice((11, 14, 16))])
    if kind == "id":
        return id_complete("11" + digits[:15])
    return "1" + rng.choice("3456789") + digits[:9]


def shape(value: str) -> str:
    cuts, i = [], 0
    while i < len(value):
        step = rng.randint(2, 6)
        cuts.append(value[i:i + step])
        i += step
    text = rng.choice(SEPS).join(cuts) if rng.random() < 0.85 else value
    style = rng.random()
    if style < 0.15:
        text = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)
    elif style < 0.25 and value.isdigit():
        text = "".join(ZH[int(c)] if c.isdigit() else c for c in text)
    return rng.choice(["卡号", "客户说", "phone ", "", "身份证 "]) + text + rng.choice(["，谢谢", "", " pls"])


def main() -> None:
    for kind in ("card", "id", "mobile"):
        caught = 0
        for _ in range(1000):
            value = number(kind)
            left = re.sub(r"[^\d*]", "", mask(shape(value)))  # stars kept: no false joins
            middle = value[3:-4] if kind == "mobile" else value[6:-4]  # what a mask hides
            caught += "*" in left and middle not in left
        print(f"{kind:<7} recall {caught / 10:.1f}% of 1000 odd shapes")
    from tests.test_privacy import BENIGN  # the benign corpus the tests hold
    kept = sum(mask(t) == __import__("unicodedata").normalize("NFKC", t) for t in BENIGN)
    print(f"benign  {len(BENIGN) - kept} of {len(BENIGN)} texts changed (false positives)")


if __name__ == "__main__":
    main()
