"""Logging set-up: every record is redacted of secrets and masked of customer data.

httpx logs request URLs (which hold the bot token) at INFO, and
python-telegram-bot logs whole updates and Bot API payloads at DEBUG, so
redaction happens on the handler, after formatting, where no library can bypass
it. Library DEBUG records never carry payloads (only a summary), and escape
sequences in a message (a repr writes `\\u200b` between a card's digit groups)
are decoded before masking, so the mask sees the number a reader would.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

from bot.privacy import mask

REDACTED = "[REDACTED]"
LIBRARIES = ("telegram", "httpx", "httpcore", "aiohttp")
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|(n)|(t))")
_AUTH = re.compile(r"(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:basic|bearer)\s+)?[^\s\"',}]+",
                   re.I)
_KINDS = ("message", "edited_message", "callback_query", "my_chat_member", "chat_member",
          "inline_query")


def _unescape(m: re.Match[str]) -> str:
    code, byte, newline, _ = m.groups()
    if code or byte:
        return chr(int(code or byte, 16))
    return "\n" if newline else "\t"


def summary(value: object) -> object:
    """A library's log argument without the text in it: an update as its id, kind and
    user; a payload as its size. Short plain values stay."""
    if hasattr(value, "update_id"):
        kind = next((k for k in _KINDS if getattr(value, k, None) is not None), "other")
        user = getattr(getattr(value, "effective_user", None), "id", None)
        return f"update {value.update_id} ({kind}, user {user})"
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, int) for v in value):
        return value  # update ids
    text = str(value)
    if isinstance(value, str) and len(text) <= 64 and "{" not in text:
        return value  # an endpoint name, a URL (the token is redacted below)
    return f"<{type(value).__name__}, {len(text)} characters not logged>"


class RedactingFilter(logging.Filter):
    """Replaces secrets and customer data in the fully formatted message and traceback."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def clean(self, text: str) -> str:
        if "\\" in text:
            text = _ESCAPE.sub(_unescape, text)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = _AUTH.sub(lambda m: m.group(1) + REDACTED, text)
        return mask(text)

    def filter(self, record: logging.LogRecord) -> bool:
        if (record.levelno <= logging.DEBUG and record.name.startswith(LIBRARIES)
                and isinstance(record.args, tuple)):
            record.args = tuple(summary(a) for a in record.args)
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
