"""Several instances, one bot: three `python -m bot run` processes in webhook mode on one
PostgreSQL, the fake Bot API, and a load balancer that sends each person's updates to the
instances in turn. Skipped (saying why) only where PostgreSQL is not installed."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.models import Role
from bot.store import Store
from tests.botrun import TOKEN, BotProcess, Webhooks
from tests.fake_bot_api import FakeBotApi
from tests.pg_server import ThrowawayPostgres, free_port

PEOPLE = [70_001 + n for n in range(50)]
INSTANCES = 3
NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


class Cluster:
    """The fake Bot API, the load balancer in front of the instances, and the database."""

    def __init__(self, api: FakeBotApi, hooks: Webhooks, bots: list[BotProcess],
                 store: Store) -> None:
        self.api, self.hooks, self.bots, self.store = api, hooks, bots, store


@pytest.fixture
async def cluster(postgres: ThrowawayPostgres, tmp_path: Path) -> AsyncIterator[Cluster]:
    url = postgres.create_schema()
    store = await Store.open(url, pool=2, migrate=True)
    for n, user_id in enumerate(PEOPLE):
        await store.upsert_person(user_id, f"柜员{n}", {Role.STAFF}, NOW)
    ports = [free_port() for _ in range(INSTANCES)]
    async with FakeBotApi(TOKEN) as api, Webhooks(ports) as hooks:
        api.deliver = hooks.post
        bots = [BotProcess(api, tmp_path, COACH_DB=url, COACH_LOG_LEVEL="INFO",
                           COACH_DB_POOL="4", **hooks.env(port)) for port in ports]
        for bot in bots:
            await bot.start()
        try:
            await hooks.ready()
            yield Cluster(api, hooks, bots, store)
        finally:
            codes = [await bot.stop() for bot in bots]
            await store.close()
        for bot, code in zip(bots, codes, strict=True):
            assert code in (0, -9), bot.stderr[-3000:]  # -9: a test killed it
            assert "Traceback" not in bot.stderr, bot.stderr[-3000:]


def options(message: dict[str, Any]) -> list[str]:
    rows = (message["params"].get("reply_markup") or {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row
            if b["callback_data"].startswith("a:")]


async def drill(api: FakeBotApi, user_id: int) -> None:
    """/start, /drill, then each question's options tapped twice in quick succession (the
    second tap posted before the first is answered, to another instance); the person's
    messages come in the order of the taps."""
    await api.send_text(user_id, "/start")
    await api.next_message(user_id, 0)
    await api.send_text(user_id, "/drill")
    question = await api.next_message(user_id, 1)
    seen = 2
    for n in range(1, 4):
        assert f"{n}/3" in question["params"]["text"] and len(options(question)) >= 2
        message_id = question["message"]["message_id"]
        await api.send_callback(user_id, options(question)[0], message_id)
        await api.send_callback(user_id, options(question)[1], message_id)
        after, again = [await api.next_message(user_id, seen + k) for k in range(2)]
        seen += 2
        # the first tap's reply (the next question, or the score) before the second's
        assert (n < 3) == bool(options(after)), after["params"]["text"]
        assert not options(again) and "/3" not in again["params"]["text"]
        question = after


async def test_drill_answers_stored_once_in_order_across_instances(cluster: Cluster) -> None:
    api, store = cluster.api, cluster.store
    await asyncio.gather(*(drill(api, user_id) for user_id in PEOPLE))

    rows = await store.rows("SELECT user_id, position, update_id FROM answers"
                            " ORDER BY user_id, position")
    assert len(rows) == 3 * len(PEOPLE)  # stored once each: (drill, position) is unique too
    for user_id in PEOPLE:
        posted = cluster.hooks.posted[user_id]
        taps = [u["update_id"] for u in posted if "callback_query" in u]
        instances = [cluster.hooks.taken[u["update_id"]] for u in posted]
        assert all(a != b for a, b in zip(instances, instances[1:], strict=False))
        # the first tap of each pair is the one stored: handled before the second
        assert [(r["position"], r["update_id"]) for r in rows if r["user_id"] == user_id] == [
            (0, taps[0]), (1, taps[2]), (2, taps[4])]
    # every press answered, once
    answered = Counter(c.params["callback_query_id"] for c in api.calls("answerCallbackQuery"))
    assert len(answered) == 6 * len(PEOPLE) and set(answered.values()) == {1}

    async def all_finished() -> bool:  # a row is finished just after its replies are out
        left = await store.rows("SELECT state, COUNT(*) FROM inbox GROUP BY state")
        return {r[0]: r[1] for r in left} == {"sent": 8 * len(PEOPLE)}

    await until(all_finished, "every update's inbox row finished", timeout=30)


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 120) -> None:
    """Wait for a condition of the cluster (its processes keep real time)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.05)
