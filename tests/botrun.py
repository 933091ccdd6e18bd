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
from typing import Any

import aiohttp
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


class Webhooks:
    """Telegram and a load balancer in front of instances in webhook mode: each update is
    POSTed, with the secret header, to one instance, a person's updates to each instance in
    turn (so one person's are split between them). An instance that does not answer 200 is
    skipped for the next, as a load balancer skips a dead upstream and Telegram retries."""

    PATH, SECRET = "/hook", "multi-instance-secret"

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turns: dict[int, int] = {}  # person -> updates of theirs posted
        self.posted: dict[int, list[dict[str, Any]]] = {}  # person -> their updates, in order
        self.taken: dict[int, int] = {}  # update id -> the port of the instance that took it
        self.session: aiohttp.ClientSession | None = None

    def env(self, port: int) -> dict[str, str]:
        """The settings of the instance listening on `port`."""
        return {"COACH_WEBHOOK_URL": f"https://coach.bank.example{self.PATH}",
                "COACH_WEBHOOK_LISTEN": "127.0.0.1", "COACH_WEBHOOK_PORT": str(port),
                "COACH_WEBHOOK_SECRET": self.SECRET}

    async def __aenter__(self) -> Webhooks:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.session is not None
        await self.session.close()

    async def ready(self, timeout: float = 120) -> None:
        """Wait until every instance answers /healthz with 200."""
        assert self.session is not None
        deadline = asyncio.get_running_loop().time() + timeout
        for port in self.ports:
            while True:
                try:
                    async with self.session.get(f"http://127.0.0.1:{port}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"the instance on port {port} never became healthy")
                await asyncio.sleep(0.2)

    async def post(self, update: dict[str, Any]) -> None:
        assert self.session is not None
        kind = next(k for k in update if k != "update_id")
        person = int(update[kind]["from"]["id"])
        turn = self.turns.get(person, 0)
        self.turns[person] = turn + 1
        self.posted.setdefault(person, []).append(update)
        for step in range(2 * len(self.ports)):
            port = self.ports[(person + turn + step) % len(self.ports)]
            try:
                async with self.session.post(
                        f"http://127.0.0.1:{port}{self.PATH}", json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": self.SECRET}) as r:
                    if r.status == 200:
                        self.taken[update["update_id"]] = port
                        return
            except aiohttp.ClientError:
                pass
        raise AssertionError(f"no instance took update {update['update_id']}")


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
