"""The log filter (bot/logs.py) through a real logger and handler: secrets, customer data
in odd shapes and escaped reprs, library DEBUG payloads."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from telegram import Update

from bot.logs import REDACTED, RedactingFilter

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678"
CARD = "6217783266161234567"  # 19 digits: masked as a card or as an account either way
MOBILE = "13812345678"


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter([TOKEN, "hook-secret-xyz", "db-pass-123"]))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield out
    root.removeHandler(handler)
    root.setLevel(old_level)


def digits_of_card_left(text: str) -> bool:
    return CARD[6:12] in "".join(ch for ch in text if ch.isdigit())


def test_secrets_in_messages_args_and_tracebacks(log: io.StringIO) -> None:
    logger = logging.getLogger("bot.test")
    logger.info("GET https://api.telegram.org/bot%s/getMe", TOKEN)
    logger.info("secret %s and %s", "hook-secret-xyz", "db-pass-123")
    logger.info("headers {'Authorization': 'Basic dXNlcjpwYXNz'}")
    try:
        raise ValueError(f"card {CARD} for {MOBILE}")
    except ValueError:
        logger.exception("failed")
    text = log.getvalue()
    for secret in (TOKEN, "hook-secret-xyz", "db-pass-123", "dXNlcjpwYXNz", CARD, MOBILE):
        assert secret not in text
    assert text.count(REDACTED) == 4 and "138****5678" in text


def test_escaped_reprs_are_decoded_before_masking(log: io.StringIO) -> None:
    spaced = "\u200b".join(CARD[i:i + 4] for i in range(0, 16, 4)) + CARD[16:]
    logging.getLogger("bot.test").info("text=%r", f"客户卡号{spaced}")
    logging.getLogger("bot.test").info("text=%r", f"卡号{'　'.join([CARD[:8], CARD[8:]])}")
    text = log.getvalue()
    assert "\\u200b" not in text and not digits_of_card_left(text)


def test_library_debug_records_carry_no_message_text(log: io.StringIO) -> None:
    update = Update.de_json({"update_id": 77, "message": {
        "message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "A"},
        "text": f"客户说卡号 {CARD[:4]} {CARD[4:8]} {CARD[8:]} 被盗刷"}}, None)
    logging.getLogger("telegram.ext.Application").debug("Processing update %s", update)
    logging.getLogger("telegram.Bot").debug(
        "Calling Bot API endpoint `%s` with parameters `%s`", "sendMessage",
        {"chat_id": 5, "text": "您的问题：被盗刷 " + CARD})
    text = log.getvalue()
    assert "update 77 (message, user 5)" in text
    assert "sendMessage" in text and "characters not logged" in text
    assert "被盗刷" not in text and not digits_of_card_left(text)


def test_unix_times_and_ordinary_numbers_stay(log: io.StringIO) -> None:
    logging.getLogger("bot.test").info("tick at 1765000000, 12 pushes, took 0.035 s")
    assert "tick at 1765000000, 12 pushes, took 0.035 s" in log.getvalue()
