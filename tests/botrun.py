"""The real Telegram adapter running in-process against the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from telegram import Update

from bot.adapters.telegram import Retry
from bot.adapters.telegram_run import POLL_PAUSE, TelegramBot
from bot.config import Settings
from tests.fake_bot_api import FakeBotApi

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"


@asynccontextmanager
async def running_bot(api: FakeBotApi, settings: Settings, kind: type[TelegramBot] = TelegramBot,
                      retry: Retry | None = None) -> AsyncIterator[TelegramBot]:
    """initialize → post_init → start → poll, and the reverse on exit (as run_polling does)."""
    bot = kind(replace(settings, token=TOKEN, base_url=api.url, base_file_url=api.file_url),
               retry)
    app = bot.application()
    await app.initialize()
    await bot.post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=POLL_PAUSE, timeout=1,
                                    allowed_updates=Update.ALL_TYPES)
    try:
        yield bot
    finally:
        await app.updater.stop()
        await app.stop()
        await bot.post_shutdown(app)
        await app.shutdown()
