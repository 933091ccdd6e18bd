"""The real Telegram adapter against the fake Bot API: in-process, or `python -m bot run`
as a subprocess."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from telegram import Update

from bot.adapters.telegram import Retry
from bot.adapters.telegram_pace import Pace
from bot.adapters.telegram_run import POLL_PAUSE, TelegramBot
from bot.app import utc_now
from bot.config import Settings
from bot.models import Now
from tests.cards import REAL_KB
from tests.fake_bot_api import FakeBotApi

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"
ROOT = Path(__file__).resolve().parent.parent
PROCESS_ADMIN = 4242  # the administrator of a BotProcess


class BotProcess:
    """`python -m bot run` as a subprocess, pointed at the fake server."""

    def __init__(self, api: FakeBotApi, tmp_path: Path, **env: str) -> None:
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": api.url,
            "TELEGRAM_BASE_FILE_URL": api.file_url, "COACH_DB": str(tmp_path / "coach.db"),
            "COACH_ADMINS": str(PROCESS_ADMIN), "COACH_KNOWLEDGE": str(REAL_KB),
            "COACH_LOG_LEVEL": "DEBUG", "COACH_EMBEDDINGS": "off", **env,
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr = ""
        # A file, not a pipe: a DEBUG log fills a pipe nobody reads and blocks the bot.
        self.log = tmp_path / f"bot-{id(self)}.log"

    async def start(self) -> None:
        with self.log.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=str(ROOT), env=self.env,
                stdout=log, stderr=log)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await self.wait_exit(timeout)

    async def wait_exit(self, timeout: float = 30) -> int:
        assert self.proc is not None
        await asyncio.wait_for(self.proc.wait(), timeout)
        self.stderr = self.log.read_text(encoding="utf-8", errors="replace")
        return int(self.proc.returncode or 0)


@asynccontextmanager
async def running_bot(api: FakeBotApi, settings: Settings, kind: type[TelegramBot] = TelegramBot,
                      retry: Retry | None = None, now: Now = utc_now,
                      pace: Pace | None = None) -> AsyncIterator[TelegramBot]:
    """initialize → post_init → start → poll, and the reverse on exit (as run_polling does)."""
    bot = kind(replace(settings, token=TOKEN, base_url=api.url, base_file_url=api.file_url),
               retry, now, pace)
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
