"""Several instances on one database: scheduled work claimed once, pushes through the shared
outbox at one rate for all instances. Each "instance" is its own Store (its own connections)
on the same database; senders are the real PushSender on a real PTB Bot against the fake
Bot API, driven by hand in steps of fake time (no sleeps)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from telegram import Bot

from bot.adapters.telegram import Replies, Retry
from bot.adapters.telegram_push import PushSender
from bot.answers import Library
from bot.assistant import Assistant
from bot.config import Settings
from bot.models import Push, Reply, Role
from bot.store import Store
from tests.botrun import TOKEN
from tests.conftest import FakeClock
from tests.fake_bot_api import FakeBotApi

pytestmark = pytest.mark.both_engines
STAFF = list(range(1001, 1061))
BOSSES = [2001, 2002]
HOLD = timedelta(seconds=60)


@pytest.fixture
async def stores(settings: Settings) -> AsyncIterator[tuple[Store, Store]]:
    """Two instances' stores on one database."""
    one = await Store.open(settings.db, pool=2, migrate=True)
    two = await Store.open(settings.db, pool=2, migrate=True)
    try:
        yield one, two
    finally:
        await one.close()
        await two.close()


@pytest.fixture
async def bot() -> AsyncIterator[tuple[FakeBotApi, Bot]]:
    async with FakeBotApi(TOKEN) as api:
        client = Bot(TOKEN, base_url=api.url, base_file_url=api.file_url)
        await client.initialize()
        try:
            yield api, client
        finally:
            await client.shutdown()


def sender(store: Store, client: Bot, owner: str, clock: FakeClock, rate: int = 25
           ) -> PushSender:
    return PushSender(store, Replies(client, Retry(attempts=1)).send, owner, rate, HOLD, clock)


async def run_for(senders: list[PushSender], clock: FakeClock, seconds: float,
                  tick: float = 0.01) -> None:
    """Every sender takes a step each `tick` of fake time; what it started finishes."""
    for _ in range(round(seconds / tick)):
        for s in senders:
            await s.step()
        for s in senders:
            await s.settle()
        clock.advance(seconds=tick)


async def sent(store: Store) -> list[tuple[int, datetime]]:
    found = await store.rows("SELECT user_id, sent_at FROM outbox WHERE state = 'sent'"
                             " ORDER BY sent_at")
    return [(r[0], datetime.fromisoformat(r[1])) for r in found]


def delivered(api: FakeBotApi) -> Counter[int]:
    return Counter(int(c.params["chat_id"]) for c in api.calls("sendMessage") if c.ok)


async def table(store: Store, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await store.rows(sql)]


def pushes(users: list[int], key: str = "test") -> list[Push]:
    return [Push(u, Reply(f"hello {u}"), key) for u in users]


# --- scheduled work: once, whichever instance ticks ------------------------------------------


async def test_two_instances_ticking_together_queue_each_push_once(
        stores: tuple[Store, Store], settings: Settings, real_library: Library,
        clock: FakeClock) -> None:
    one, two = stores
    now = clock()  # Monday 09:00 in Shanghai: invitations and weekly summaries are due
    await one.add_team("A", now)
    await one.add_team("B", now)
    for user in STAFF:
        await one.upsert_person(user, f"staff {user}", {Role.STAFF}, now)
        await one.set_team(user, "A")
    for boss in BOSSES:
        await one.upsert_person(boss, f"boss {boss}", {Role.SUPERVISOR}, now)
        await one.add_supervisor(boss, "A")
    await one.add_supervisor(2002, "B")
    await one.log_question(1001, now - timedelta(days=400), "old", "none", None, 0.0, [])
    instances = [Assistant(settings, s, real_library, clock) for s in stores]
    for a in instances:
        await a.start()

    queued: list[Push] = []
    for minute in (0, 0, 1):  # the same minute twice, then the next one
        for got in await asyncio.gather(*(a.tick(now + timedelta(minutes=minute))
                                          for a in instances)):
            queued += got

    rows = await one.rows("SELECT user_id, push_key, COUNT(*) FROM outbox"
                          " GROUP BY user_id, push_key")
    assert {r[2] for r in rows} == {1}  # nothing queued twice
    assert sorted((r[0], r[1]) for r in rows) == sorted((p.user_id, p.key) for p in queued)
    invited = sorted(r[0] for r in rows if r[1] == "invite:2026-11-30")
    assert invited == STAFF + BOSSES  # everyone reminded at 09:00, once
    assert sorted((r[0], r[1]) for r in rows if r[1].startswith("weekly:")) == [
        (2001, "weekly:2026-W49:A"), (2002, "weekly:2026-W49:A"), (2002, "weekly:2026-W49:B")]
    assert await table(one, "SELECT COUNT(*) FROM audit WHERE action = 'report.weekly'") == [(2,)]
    assert await table(one, "SELECT COUNT(*) FROM pushes WHERE kind = 'purge'") == [(1,)]
    assert await table(one, "SELECT COUNT(*) FROM questions") == [(0,)]  # purged, once
    # each minute's jobs (a scan of everyone) ran on one instance only
    assert await table(one, "SELECT day FROM pushes WHERE kind = 'tick' ORDER BY day") == [
        ("2026-11-30T01:00",), ("2026-11-30T01:01",)]
    assert not await two.claim_tick("2026-11-30T01:01", now)


async def test_claims_race_on_one_database(stores: tuple[Store, Store], clock: FakeClock) -> None:
    """The claim itself, many people at once from both instances, five times over."""
    people = list(range(1, 1201))
    for _ in range(5):
        await asyncio.gather(*(s.queue_pushes(pushes(people), "invite", "d1", clock())
                               for s in stores))
    assert await table(stores[0], "SELECT COUNT(*), COUNT(DISTINCT user_id) FROM outbox") == [
        (1200, 1200)]
    runs = await asyncio.gather(*(s.purge_once("d1", clock() - timedelta(days=365), clock())
                                  for s in stores for _ in range(3)))
    assert sum(r is not None for r in runs) == 1


# --- the shared outbox -------------------------------------------------------------------------


async def test_two_senders_keep_one_global_rate_and_a_second_per_chat(
        stores: tuple[Store, Store], bot: tuple[FakeBotApi, Bot], clock: FakeClock) -> None:
    api, client = bot
    one, two = stores
    people = list(range(1, 121))
    await one.queue_pushes(pushes(people), "invite", "d1", clock())
    busy = [Push(7777, Reply(f"summary {n}"), f"weekly:{n}") for n in range(3)]
    await one.queue_pushes(busy, "weekly", "w1", clock())  # three pushes for one chat
    senders = [sender(one, client, "a", clock), sender(two, client, "b", clock)]
    start = clock()

    await run_for(senders, clock, 8.0)

    assert delivered(api) == Counter({**{u: 1 for u in people}, 7777: 3})  # each once
    times = [t for _, t in await sent(one)]
    assert len(times) == 123
    most = max(sum(t <= u < t + timedelta(seconds=1) for u in times) for t in times)
    assert most <= 25  # in any second, both senders together
    per_second = Counter(int((t - start).total_seconds()) for t in times)
    assert per_second == {0: 25, 1: 25, 2: 25, 3: 25, 4: 21, 5: 1, 6: 1}  # 7777's last two
    assert len({r[0] for r in await one.rows("SELECT send_at FROM outbox")}) == 123  # own slots
    by = Counter(r[0] for r in await one.rows("SELECT claimed_by FROM outbox"))
    assert by["a"] > 40 and by["b"] > 40 and by["a"] + by["b"] == 123  # the work is shared
    busy_times = [t for u, t in await sent(one) if u == 7777]
    assert len(busy_times) == 3
    assert all(b - a >= timedelta(seconds=1)
               for a, b in zip(busy_times, busy_times[1:], strict=False))


async def test_slots_are_not_taken_far_ahead(stores: tuple[Store, Store],
                                             clock: FakeClock) -> None:
    """Instances hold at most a few seconds of slots between them: a dead one leaves few."""
    one, two = stores
    await one.queue_pushes(pushes(list(range(1, 201))), "invite", "d1", clock())
    claims = [len(await s.claim_outbox(f"i{n}", clock(), 25, 25, HOLD))
              for n, s in enumerate([one, two, one, two])]
    assert claims == [25, 25, 25, 0]  # slots up to 3 s ahead; then wait
    clock.advance(seconds=1)
    assert len(await two.claim_outbox("i4", clock(), 25, 25, HOLD)) == 25


async def test_a_dead_instances_rows_go_once_more_at_most(
        stores: tuple[Store, Store], bot: tuple[FakeBotApi, Bot], clock: FakeClock) -> None:
    api, client = bot
    one, two = stores
    await one.queue_pushes(pushes(list(range(1, 41))), "invite", "d1", clock())
    dead, alive = sender(one, client, "dead", clock), sender(two, client, "alive", clock)
    api.hold("sendMessage")
    await dead.step()  # claims a second's worth and starts the first send
    in_flight = await two.in_flight("dead")
    assert in_flight == 25
    await one.close()  # it dies mid-send: the first push goes out, it cannot note that
    api.release("sendMessage")
    await dead.settle()

    await run_for([alive], clock, 3.0)  # the rest; the dead one's rows are still held
    assert await two.in_flight("dead") == 25
    assert sum(delivered(api).values()) == 16
    clock.advance(seconds=60)  # their claims run out
    await run_for([alive], clock, 2.0)

    got = delivered(api)
    assert set(got) == set(range(1, 41))
    duplicates = sum(got.values()) - 40
    assert duplicates == 1 and duplicates <= in_flight
    assert await two.in_flight("dead") == 0 and await two.in_flight("alive") == 0
    assert await table(two, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'") == [(40,)]


async def test_a_stopping_instance_gives_back_what_it_did_not_start(
        stores: tuple[Store, Store], bot: tuple[FakeBotApi, Bot], clock: FakeClock) -> None:
    api, client = bot
    one, two = stores
    await one.queue_pushes(pushes(list(range(1, 11))), "invite", "d1", clock())
    stopping = sender(one, client, "stopping", clock)
    await stopping.step()  # holds ten, starts the first
    await stopping.stop()
    assert delivered(api) == Counter({1: 1})
    assert await two.in_flight("stopping") == 0
    await run_for([sender(two, client, "other", clock)], clock, 1.0)  # at once, no timeout
    assert delivered(api) == Counter(range(1, 11))


async def test_a_429_puts_the_push_back_for_retry_after(
        stores: tuple[Store, Store], bot: tuple[FakeBotApi, Bot], clock: FakeClock) -> None:
    api, client = bot
    one, _ = stores
    await one.queue_pushes(pushes([5]), "invite", "d1", clock())
    api.fail_next("sendMessage", "429", retry_after=7)
    push = sender(one, client, "a", clock)
    await run_for([push], clock, 6.9, tick=0.1)
    assert delivered(api) == Counter()
    assert await table(one, "SELECT state, error, claimed_by FROM outbox") == [
        ("queued", "429", None)]
    await run_for([push], clock, 0.2, tick=0.1)
    assert delivered(api) == Counter({5: 1})
    assert [c.fault for c in api.calls("sendMessage")] == ["429", None]


async def test_failures_blocked_and_given_up(
        stores: tuple[Store, Store], bot: tuple[FakeBotApi, Bot], clock: FakeClock) -> None:
    api, client = bot
    one, _ = stores
    await one.upsert_person(6, "blocker", {Role.STAFF}, clock())
    await one.queue_pushes(pushes([6, 7, 8]), "invite", "d1", clock())
    api.fail_next("sendMessage", "403")
    api.fail_next("sendMessage", "400")
    api.fail_next("sendMessage", "500", times=5)
    await run_for([sender(one, client, "a", clock)], clock, 200.0, tick=1.0)
    states = await one.rows("SELECT user_id, state, tries FROM outbox ORDER BY user_id")
    assert [tuple(r) for r in states] == [(6, "blocked", 0), (7, "failed", 0), (8, "failed", 5)]
    person = await one.person(6)
    assert person is not None and not person.active


async def test_old_outbox_and_inbox_rows_are_purged(stores: tuple[Store, Store],
                                                    clock: FakeClock) -> None:
    one, _ = stores
    long_ago = clock() - timedelta(days=400)
    await one.queue_pushes(pushes([1]), "invite", "old", long_ago)
    await one.queue_pushes(pushes([2]), "invite", "new", clock())
    await one.receive([(10, 1, "{}")], "x", long_ago, long_ago)  # never finished
    await one.receive([(11, 1, "{}")], "x", clock(), clock())
    assert await one.purge_once("today", clock() - timedelta(days=365), clock()) == 3
    assert await table(one, "SELECT user_id FROM outbox") == [(2,)]
    assert await table(one, "SELECT update_id FROM inbox") == [(11,)]
    assert await table(one, "SELECT day FROM pushes ORDER BY day") == [("new",), ("today",)]
