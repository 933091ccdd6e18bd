"""The redaction filter through the bot's own logging set-up (setup_logging): what reaches stderr."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.logs import REDACTED, setup_logging

TOKEN = "123456789:AAHx9-FAKEtokenFORtestsONLYxxxxxxxxx"
SECRET = "webhook-secret-Zq81"
CARD = "6222 6002 6000 1072 444"  # Luhn-valid, as a teller would paste it
CARD_MASKED = "622260*********2444"
CARD_MIDDLE = ("600260001", "6002 6000 1")  # what must never be shown, in both shapes


@pytest.fixture
def root_logging() -> Iterator[None]:
    """setup_logging replaces the root logger's handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_secrets_and_card_numbers_are_masked_in_messages_and_tracebacks(
        root_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", [TOKEN, SECRET])
    log = logging.getLogger("bot.test")
    logging.getLogger("httpx").info('HTTP Request: POST %s "HTTP/1.1 200 OK"',
                                    f"https://api.telegram.org/bot{TOKEN}/getUpdates")
    log.warning("webhook call refused: secret %r", SECRET)
    log.info("question from %d: %s", 42, f"客户卡号{CARD}挂失怎么办")
    try:
        raise ValueError(f"cannot handle {CARD} with {TOKEN} / {SECRET}")
    except ValueError:
        log.exception("update failed")

    err = capsys.readouterr().err
    assert "POST https://api.telegram.org/bot[REDACTED]/getUpdates" in err
    assert f"secret '{REDACTED}'" in err
    assert f"客户卡号{CARD_MASKED}挂失怎么办" in err
    assert "Traceback" in err and "ValueError: cannot handle" in err
    assert f"ValueError: cannot handle {CARD_MASKED} with {REDACTED} / {REDACTED}" in err
    for secret in (TOKEN, TOKEN.split(":")[1], SECRET, *CARD_MIDDLE):
        assert secret not in err
    assert len(err.strip().splitlines()) > 4  # every record was written, none dropped
