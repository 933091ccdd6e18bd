"""Strangers cost almost nothing: 600 of them at once through the real adapter and the fake
Bot API, with the clocks moved by hand (no sleeps, no timing)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.adapters.telegram_pace import Pace
from bot.config import Settings
from bot.i18n import t
from bot.models import Lang
from bot.privacy import pseudonym
from tests.botrun import TOKEN, running_bot
from tests.conftest import ADMIN, FakeClock
from tests.fake_bot_api import FakeBotApi

STRANGERS = range(700_000, 700_600)
QUESTION = "客户说这个月多扣了手续费，怎么跟他解释"


class HandPace(Pace):
    """Pacing time that moves only when the test says so."""

    def __init__(self) -> None:
        self.time = 0.0
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.sleepers.append((self.time + seconds, woken))
            await woken

    async def advance(self, seconds: float, step: float = 1.0) -> None:
        """Move time on in steps; after each, let what woke run until it sleeps again."""
        end = self.time + seconds
        while self.time < end:
            self.time = min(end, self.time + step)
            woke = [w for w in self.sleepers if w[0] <= self.time]
            for due, woken in woke:
                self.sleepers.remove((due, woken))
                woken.set_result(None)
            asleep = len(self.sleepers)
            for _ in range(100 if woke else 0):  # a woken sender sends, then sleeps again
                await asyncio.sleep(0.005)
                if len(self.sleepers) > asleep:
                    break


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.02)


def sends(api: FakeBotApi) -> list[int]:
    """Chats of the carried-out sendMessage calls, in the order Telegram got them."""
    return [int(c.params["chat_id"]) for c in api.calls("sendMessage") if c.ok]


async def test_a_flood_of_strangers_waits_behind_staff_and_is_capped(
        api: FakeBotApi, settings: Settings, clock: FakeClock) -> None:
    pace = HandPace()
    async with running_bot(api, settings, now=clock, pace=pace) as bot:
        assert bot.assistant is not None
        store = bot.assistant.store
        await api.send_text(ADMIN, "/start")
        await api.wait_for(lambda _: ADMIN in sends(api), timeout=60)
        for user in STRANGERS:
            await api.send_text(user, "你好，怎么用这个机器人？", first_name="Visitor")

        async def counted(n: int = len(STRANGERS)) -> bool:
            return await store.counter("stranger_messages") == n

        t0 = time.monotonic()
        await until(counted)
        print(f"flood handled in {time.monotonic() - t0:.1f}s")
        before_staff = len(sends(api))
        await api.send_text(ADMIN, QUESTION)
        await api.wait_for(lambda _: len(sends(api)) > before_staff
                           and sends(api)[-1] == ADMIN, timeout=60)
        order = sends(api)
        staff_at = len(order) - 1
        strangers_before = [c for c in order[:staff_at] if c in STRANGERS]
        assert len(strangers_before) <= 1  # the lane sends one, then waits its turn
        queued = bot.strangers.queue.qsize()

        await pace.advance(61.0)
        answered = [c for c in sends(api) if c in STRANGERS]
        assert len(answered) == len(set(answered)) == 60  # COACH_STRANGER_REPLIES a minute
        assert sends(api).index(answered[1]) > staff_at  # the rest came after the staff reply
        assert all(x == t("not_enrolled", Lang.ZH) for c in answered
                   for x in api.sent_texts(c))

        # each is answered once a day; those left out may be answered in a later minute
        left_out = next(u for u in STRANGERS if u not in answered)
        clock.advance(minutes=1)
        await api.send_text(answered[0], "在吗？")
        await api.send_text(left_out, "在吗？")
        await until(lambda: counted(len(STRANGERS) + 2))
        await pace.advance(2.0)
        assert api.sent_texts(answered[0]) == [t("not_enrolled", Lang.ZH)]
        assert api.sent_texts(left_out) == [t("not_enrolled", Lang.ZH)]

        # what is kept of them: a keyed hash and the day, forgotten the next day
        kept = [tuple(r) for r in await store.rows("SELECT who, day FROM strangers")]
        assert len(kept) == 61 and {d for _, d in kept} == {"2026-11-30"}
        key = bot.assistant.stranger_key
        assert (pseudonym(left_out, key), "2026-11-30") in kept
        assert not any(str(u) in w for w, _ in kept for u in (left_out, answered[0]))
        clock.advance(days=1)
        await bot.assistant.tick(clock())
        assert await store.rows("SELECT * FROM strangers") == []
    print(f"\nstranger flood: {len(STRANGERS)} strangers -> {len(answered)} replies in the "
          f"first minute ({queued} waiting when the staff reply went out, "
          f"{len(strangers_before)} sent before it); staff reply was send "
          f"#{staff_at + 1} of the run")

