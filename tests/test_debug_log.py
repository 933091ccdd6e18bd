"""`python -m bot run` at DEBUG, fed realistic messages holding card numbers in the shapes
tellers type (zero-width and ideographic spaces, soft hyphens, dots, dashes, line breaks,
irregular groups, full-width digits, Chinese numerals): no card can be read in its log."""

from __future__ import annotations

import random
import re
import signal
import unicodedata
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.privacy import luhn_ok
from tests.botrun import PROCESS_ADMIN, TOKEN, BotProcess
from tests.fake_bot_api import FakeBotApi

STRANGER = 5150
_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.M)
_ZH = str.maketrans("〇零一二三四五六七八九", "00123456789")
SHAPES: list[Callable[[str], str]] = [
    lambda c: "\u200b".join(c[i:i + 4] for i in range(0, len(c), 4)),
    lambda c: "\u3000".join(c[i:i + 4] for i in range(0, len(c), 4)),
    lambda c: "\u00ad".join(c[i:i + 4] for i in range(0, len(c), 4)),
    lambda c: ".".join(c[i:i + 4] for i in range(0, len(c), 4)),
    lambda c: " - ".join(c[i:i + 4] for i in range(0, len(c), 4)),
    lambda c: "_".join(c[i:i + 4] for i in range(0, len(c), 4)),
    lambda c: "/".join(c[i:i + 4] for i in range(0, len(c), 4)),
    lambda c: "\n".join(c[i:i + 4] for i in range(0, len(c), 4)),
    lambda c: f"{c[:3]} {c[3:8]} {c[8:11]} {c[11:]}",
    lambda c: "\u200c".join(c[i:i + 3] for i in range(0, len(c), 3)),
    lambda c: "\u2060".join(c[i:i + 5] for i in range(0, len(c), 5)),
    lambda c: "\ufeff".join(c[i:i + 4] for i in range(0, len(c), 4)),
    lambda c: c.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    lambda c: c.translate(str.maketrans("0123456789", "〇一二三四五六七八九")),
    lambda c: "—".join(c[i:i + 4] for i in range(0, len(c), 4)),
]
TEMPLATES = ["客户卡号{}被盗刷了怎么办", "帮客户查一下 {} 的余额", "卡号:{} 吞卡了",
             "customer card {} was swallowed by the ATM", "客户说{}这张卡挂失后还能用吗",
             "老人拿着卡 {} 要转钱到安全账户"]


def card_numbers(n: int, seed: int = 20) -> list[str]:
    """Luhn-valid 16- and 19-digit numbers under Chinese bank prefixes (seeded)."""
    rng = random.Random(seed)
    cards = []
    while len(cards) < n:
        prefix = rng.choice(["622202", "621700", "622848", "621226", "625972", "436742"])
        body = prefix + "".join(rng.choice("0123456789")
                                for _ in range(rng.choice([16, 19]) - 7))
        check = next(d for d in "0123456789" if luhn_ok(body + d))
        cards.append(body + check)
    return cards


def readable(card: str, log: str) -> bool:
    """The card's digits after its first 6 (the masked part), in order, with at most three
    other characters between two of them (a line break too), time stamps left out."""
    text = unicodedata.normalize("NFKC", _STAMP.sub("", log)).translate(_ZH)
    return re.search(r"\D{0,3}".join(card[6:-4]), text) is not None


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


async def test_no_card_number_reaches_the_debug_log(api: FakeBotApi, tmp_path: Path) -> None:
    cards = card_numbers(30)
    messages = [TEMPLATES[i % len(TEMPLATES)].format(SHAPES[i % len(SHAPES)](card))
                for i, card in enumerate(cards)]
    bot = BotProcess(api, tmp_path, COACH_LOG_LEVEL="DEBUG")
    await bot.start()
    try:
        await api.send_text(PROCESS_ADMIN, "/start", first_name="Admin")
        await api.wait_for(lambda _: len(api.sent_texts(PROCESS_ADMIN)) >= 1, timeout=30)
        for text in messages[:-2]:
            await api.send_text(PROCESS_ADMIN, text)
        await api.send_text(PROCESS_ADMIN, f"/team add {cards[-2]}")
        await api.send_text(STRANGER, messages[-1])
        await api.send_text(PROCESS_ADMIN, "/help")  # answered after all of the above
        await api.wait_for(lambda _: any(x.startswith(("直接输入", "Type your question"))
                                         for x in api.sent_texts(PROCESS_ADMIN)), timeout=60)
        await api.wait_for(lambda _: len(api.sent_texts(STRANGER)) == 1, timeout=30)
    finally:
        assert await bot.stop(signal.SIGTERM) == 0
    log = bot.stderr
    leaked = [card for card in cards if readable(card, log)]
    print(f"\nDEBUG log: {len(log.splitlines())} lines, {len(cards)} card numbers in "
          f"{len(SHAPES)} shapes sent, {len(leaked)} readable")
    assert leaked == []
    assert log.count(" DEBUG ") > 50 and f"(message, user {PROCESS_ADMIN})" in log
    # the check itself finds every card in the messages as they were sent
    assert all(readable(card, m) for card, m in zip(cards, messages, strict=True))
