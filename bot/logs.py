"""Logging set-up: every record is redacted of secrets and masked of customer data.

httpx logs request URLs (which hold the bot token) at INFO, and
python-telegram-bot logs whole payloads at DEBUG, so redaction happens on the
handler, after formatting, where no library can bypass it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from bot.privacy import mask

REDACTED = "[REDACTED]"


class RedactingFilter(logging.Filter):
    """Replaces secrets and customer data in the fully formatted message and traceback."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return mask(text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.clean(record.getMessage())
        record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.clean(text)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        return True


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """One stderr handler on the root logger, with the redacting filter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
