"""Several instances, one bot: three `python -m bot run` processes in webhook mode on one
PostgreSQL, the fake Bot API, and a load balancer that sends each person's updates to the
instances in turn. Skipped (saying why) only where PostgreSQL is not installed."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.answers import Library
from bot.assistant import Assistant
from bot.config import load_settings
from bot.models import Role
from bot.store import Store
from tests.botrun import TOKEN, BotProcess, Webhooks
from tests.cards import REAL_KB
from tests.conftest import FakeClock
from tests.fake_bot_api import FakeBotApi
from tests.pg_server import ThrowawayPostgres, free_port

PEOPLE = [70_001 + n for n in range(50)]
INSTANCES = 3
NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
CLAIM_TIMEOUT = 30  # s; the shortest COACH_CLAIM_TIMEOUT allowed


class Cluster:
    """The fake Bot API, the load balancer in front of the instances, and the database."""

    def __init__(self, api: FakeBotApi, hooks: Webhooks, bots: list[BotProcess],
                 store: Store, url: str) -> None:
        self.api, self.hooks, self.bots, self.store, self.url = api, hooks, bots, store, url


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
                           COACH_DB_POOL="4", COACH_CLAIM_TIMEOUT=str(CLAIM_TIMEOUT),
                           **hooks.env(port)) for port in ports]
        for bot in bots:
            await bot.start()
        try:
            await hooks.ready()
            yield Cluster(api, hooks, bots, store, url)
        finally:
            codes = [await stop(bot) for bot in bots]
            await store.close()
        for bot, code in zip(bots, codes, strict=True):
            assert code in (0, -9), bot.stderr[-3000:]  # -9: a test killed it
            assert "Traceback" not in bot.stderr, bot.stderr[-3000:]


async def stop(bot: BotProcess) -> int | None:
    """SIGTERM; an instance that does not stop in time is killed, and None returned."""
    try:
        return await bot.stop()
    except TimeoutError:
        await bot.stop(signal.SIGKILL)
        return None


def options(message: dict[str, Any]) -> list[str]:
    rows = (message["params"].get("reply_markup") or {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row
            if b["callback_data"].startswith("a:")]


def story(cluster: Cluster, user_id: int) -> str:
    """A person's updates (id, the instance's port, what) and the messages they got."""
    posted = [(u["update_id"], cluster.hooks.taken.get(u["update_id"]),
               u["callback_query"]["data"] if "callback_query" in u else u["message"]["text"])
              for u in cluster.hooks.posted.get(user_id, [])]
    got = [m["params"]["text"][:14] for m in cluster.api.inbox[user_id]]
    return f"updates {posted}; messages {got}"


async def drill(cluster: Cluster, user_id: int) -> None:
    """/start, /drill, then each question's options tapped twice in quick succession (the
    second tap posted before the first is answered, to another instance); the person's
    messages come in the order of the taps."""
    api = cluster.api
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
        assert (n < 3) == bool(options(after)), story(cluster, user_id)
        assert not options(again) and "/3" not in again["params"]["text"], story(
            cluster, user_id)
        question = after


async def test_drill_answers_stored_once_in_order_across_instances(cluster: Cluster) -> None:
    api, store = cluster.api, cluster.store
    await asyncio.gather(*(drill(cluster, user_id) for user_id in PEOPLE))

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
            (0, taps[0]), (1, taps[2]), (2, taps[4])], story(cluster, user_id)
    # every press answered (an answer that timed out may be sent again: it is idempotent)
    answered = {c.params["callback_query_id"] for c in api.calls("answerCallbackQuery")}
    assert len(answered) == 6 * len(PEOPLE)

    async def all_finished() -> bool:  # a row is finished just after its replies are out
        left = await store.rows("SELECT state, attempts, COUNT(*) FROM inbox"
                                " GROUP BY state, attempts")
        return [tuple(r) for r in left] == [("sent", 1, 8 * len(PEOPLE))]  # each claimed once

    await until(all_finished, "every update's inbox row finished", timeout=30)


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 120) -> None:
    """Wait for a condition of the cluster (its processes keep real time)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.05)


def invitations(api: FakeBotApi) -> Counter[int]:
    """Invitations Telegram carried out, by chat."""
    return Counter(chat for chat, sent in api.inbox.items() for m in sent
                   if "drill:start" in str(m["params"].get("reply_markup")))


async def test_invitations_sent_at_least_once_when_an_instance_dies_mid_push(
        cluster: Cluster, real_library: Library, tmp_path: Path) -> None:
    """The 09:00 tick queues the invitations in the shared outbox; the instances' senders
    share them out. One instance is killed while its sends are out (left, not answered):
    everyone is invited, and only rows it held unfinished may go twice."""
    api, store = cluster.api, cluster.store
    api.hold("sendMessage")  # each invitation waits at Telegram once it has left its instance
    # The minute tick's work at 09:00 on a Monday, run here with a test clock (the
    # instances keep the machine's time); it only queues: the instances send.
    settings = replace(load_settings({}, env_file=tmp_path / "none"), db=cluster.url,
                       knowledge=REAL_KB, embeddings="off")
    ticker = Assistant(settings, store, real_library, FakeClock(NOW))
    await ticker.start()
    assert sorted(p.user_id for p in await ticker.tick(NOW)) == PEOPLE

    async def claims() -> dict[str, int]:
        rows = await store.rows("SELECT claimed_by, COUNT(*) FROM outbox WHERE state ="
                                " 'queued' AND claimed_by IS NOT NULL GROUP BY claimed_by")
        return {r[0]: r[1] for r in rows}

    async def mid_push() -> bool:  # all claimed; some sends out, more to start
        return sum((await claims()).values()) == len(PEOPLE) and api.held["sendMessage"] >= 30

    await until(mid_push, "the invitations claimed and the sends under way")
    # the instance with the 25th send slot: that send is out (30 are), later ones may not be
    found = await store.row("SELECT claimed_by FROM outbox ORDER BY send_at LIMIT 1 OFFSET 24")
    assert found is not None
    owner = found[0]
    victim = next(b for b in cluster.bots
                  if b.proc and owner.startswith(f"{socket.gethostname()}:{b.proc.pid}:"))
    await victim.stop(signal.SIGKILL)
    in_flight = await store.in_flight(owner)  # claimed by it and not marked sent
    assert in_flight > 0
    api.release("sendMessage")  # Telegram carries out every send that reached it

    async def all_sent() -> bool:
        row = await store.row("SELECT COUNT(*) FROM outbox WHERE state != 'sent'")
        return row is not None and row[0] == 0

    await until(all_sent, "every outbox row sent", timeout=CLAIM_TIMEOUT + 60)
    sent = invitations(api)
    assert sorted(sent) == PEOPLE  # everyone invited
    twice = sum(n - 1 for n in sent.values())
    # its sends that reached Telegram went again; any it had not started, once
    assert 0 < twice <= in_flight, (twice, in_flight)
    rows = await store.rows("SELECT claimed_by, COUNT(*) FROM outbox GROUP BY claimed_by")
    assert owner not in {r[0] for r in rows}  # the dead instance's rows were sent by others
