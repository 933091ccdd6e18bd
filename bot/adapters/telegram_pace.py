"""Paced sending in one process, apart from interactive replies: replies to strangers
(pushes go through the shared outbox, `telegram_push`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.models import Push

log = logging.getLogger(__name__)


class Pace:
    """Monotonic time and sleeping, for pacing sends (tests move time by hand)."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class PushQueue:
    """Paced sending apart from interactive replies: <= rate/s, >= gap per chat; at most
    `limit` waiting (0 = no limit)."""

    def __init__(self, send: Callable[[Push], Awaitable[None]], rate: float = 20.0,
                 per_chat_gap: float = 1.0, limit: int = 0, pace: Pace | None = None) -> None:
        self.send = send
        self.interval = 1.0 / rate
        self.gap = per_chat_gap
        self.queue: asyncio.Queue[Push] = asyncio.Queue(limit)
        self.last: dict[int, float] = {}
        self.task: asyncio.Task[None] | None = None
        self.pace = pace or Pace()

    def offer(self, push: Push) -> bool:
        """Queue `push` unless the queue is full."""
        try:
            self.queue.put_nowait(push)
        except asyncio.QueueFull:
            return False
        return True

    def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def run(self) -> None:
        while True:
            push = await self.queue.get()
            wait = self.last.get(push.user_id, 0.0) + self.gap - self.pace.now()
            if wait > 0:
                await self.pace.sleep(wait)
            self.last[push.user_id] = self.pace.now()
            try:
                await self.send(push)
            except Exception:  # one failed push must not stop the others
                log.exception("push to a person failed")
            await self.pace.sleep(self.interval)
