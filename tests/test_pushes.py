"""The strangers' paced queue, and a blocked person (a push through the shared outbox)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.adapters.telegram_run import PushQueue
from bot.config import Settings
from bot.models import Push, Reply, Role
from bot.store import Store
from tests.botrun import TOKEN, running_bot
from tests.fake_bot_api import FakeBotApi


async def test_queue_paces_overall_and_per_chat() -> None:
    sent: list[tuple[float, int]] = []

    async def send(push: Push) -> None:
        sent.append((time.monotonic(), push.user_id))
        if push.user_id == 2 and len(sent) < 5:
            raise RuntimeError("one failed push must not stop the queue")

    queue = PushQueue(send, rate=50.0, per_chat_gap=0.2)
    queue.start()
    pushes = [Push(uid, Reply("hi")) for _ in range(4) for uid in (1, 2, 3, 4, 5)]
    for push in pushes:
        queue.queue.put_nowait(push)
    for _ in range(200):
        if len(sent) == len(pushes):
            break
        await asyncio.sleep(0.05)
    await queue.stop()
    assert len(sent) == 20
    times = [t for t, _ in sent]
    assert all(b - a >= 1 / 50 - 0.005 for a, b in zip(times, times[1:], strict=False))
    for uid in (1, 2, 3, 4, 5):
        mine = [t for t, u in sent if u == uid]
        assert len(mine) == 4
        assert all(b - a >= 0.2 - 0.005 for a, b in zip(mine, mine[1:], strict=False))


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


async def test_blocked_person_is_marked_inactive_and_skipped(api: FakeBotApi,
                                                            settings: Settings) -> None:
    async with running_bot(api, settings) as bot:
        assert bot.assistant is not None
        store = bot.assistant.store
        monday_9am = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
        await store.upsert_person(501, "阿明", {Role.STAFF}, monday_9am)
        await store.upsert_person(502, "阿芳", {Role.STAFF}, monday_9am)
        api.fail_next("sendMessage", "403")  # Forbidden: bot was blocked by the user
        await store.queue_pushes([Push(501, Reply("今天的小测准备好了"))], "test", "1", monday_9am)
        await outbox_empty(store)  # the running sender took it from the outbox
        person = await store.person(501)
        assert person is not None and not person.active
        invited = await bot.assistant.training.invitations(monday_9am)
        assert [p.user_id for p in invited] == [502]
        await outbox_empty(store)
        assert api.sent_texts(502) == [invited[0].reply.text]
        assert [tuple(r) for r in await store.rows(
            "SELECT user_id, state FROM outbox ORDER BY id")] == [(501, "blocked"), (502, "sent")]


async def outbox_empty(store: Store, timeout: float = 30) -> None:
    """Wait until every queued push has been sent (or given up) and noted."""
    async with asyncio.timeout(timeout):
        while await store.rows("SELECT 1 FROM outbox WHERE state = 'queued'"):
            await asyncio.sleep(0.02)
