"""Different people's updates are handled at once; one person's stay one at a time, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace

import pytest
from telegram import Bot, Update

from bot.adapters.telegram import PersonOrder, on_the_network, with_retries
from bot.config import Settings
from tests.botrun import TOKEN, running_bot
from tests.fake_bot_api import FakeBotApi

BOT = Bot(TOKEN)


def message_from(user_id: int, update_id: int) -> Update:
    return Update.de_json({"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "text": "hi",
        "chat": {"id": user_id, "type": "private"},
        "from": {"id": user_id, "is_bot": False, "first_name": "X"}}}, BOT)


class Jobs:
    """Stand-ins for handling an update: each notes when it starts and ends; a held one
    waits until `release()`."""

    def __init__(self, log: list[str] | None = None) -> None:
        self.log: list[str] = [] if log is None else log  # may be shared between Jobs
        self._gate = asyncio.Event()

    async def run(self, name: str, hold: bool = False, network: bool = False) -> None:
        """`network`: the hold is a wait for Telegram (the update's turn to run is free)."""
        self.log.append(f"start {name}")
        if hold and network:
            async with on_the_network():
                await self._gate.wait()
        elif hold:
            await self._gate.wait()
        self.log.append(f"end {name}")

    def release(self) -> None:
        self._gate.set()

    def ended(self) -> list[str]:
        return [e.removeprefix("end ") for e in self.log if e.startswith("end ")]


def submit(order: PersonOrder, user_id: int, update_id: int, job: Awaitable[None]
           ) -> asyncio.Task[None]:
    return asyncio.create_task(order.process_update(message_from(user_id, update_id), job))


async def test_one_person_waits_in_order_while_another_goes_ahead() -> None:
    order, jobs = PersonOrder(8), Jobs()
    a1 = submit(order, 1, 1, jobs.run("a1", hold=True))
    a2 = submit(order, 1, 2, jobs.run("a2"))
    b1 = submit(order, 2, 3, jobs.run("b1"))
    await asyncio.wait_for(b1, 5)  # person 2 is not held up by person 1
    assert jobs.log == ["start a1", "start b1", "end b1"]  # and a2 has not started
    jobs.release()
    await asyncio.wait_for(asyncio.gather(a1, a2), 5)
    assert jobs.log[3:] == ["end a1", "start a2", "end a2"]
    assert order._people == {}  # nothing kept once a person's updates are done


async def test_one_persons_queue_does_not_take_everyone_elses_places() -> None:
    order, jobs = PersonOrder(2), Jobs()
    mine = [submit(order, 1, n, jobs.run(f"a{n}", hold=n == 1))
            for n in range(1, 6)]  # five quick messages, the first one slow
    other = submit(order, 2, 9, jobs.run("b"))
    await asyncio.wait_for(other, 5)  # two places: person 1 holds one, person 2 gets the other
    assert jobs.ended() == ["b"]
    jobs.release()
    await asyncio.wait_for(asyncio.gather(*mine), 5)
    assert jobs.ended() == ["b", "a1", "a2", "a3", "a4", "a5"]


async def test_one_at_a_time_when_set_to_one() -> None:
    order, jobs = PersonOrder(1), Jobs()
    a1 = submit(order, 1, 1, jobs.run("a1", hold=True))
    b1 = submit(order, 2, 2, jobs.run("b1"))
    await asyncio.sleep(0.05)
    assert jobs.log == ["start a1"]
    jobs.release()
    await asyncio.wait_for(asyncio.gather(a1, b1), 5)
    assert jobs.log == ["start a1", "end a1", "start b1", "end b1"]


def started(jobs: Jobs) -> list[str]:
    return [e.removeprefix("start ") for e in jobs.log if e.startswith("start ")]


async def test_two_run_at_once_but_waits_for_telegram_do_not_count() -> None:
    order, busy, away = PersonOrder(8), Jobs(), Jobs()
    tasks = [submit(order, n, n, busy.run(f"b{n}", hold=True)) for n in (1, 2, 3)]
    tasks += [submit(order, n, n, away.run(f"w{n}", hold=True, network=True))
              for n in (4, 5, 6, 7)]
    await asyncio.sleep(0.05)
    assert started(busy) == ["b1", "b2"]  # running: two at a time
    assert started(away) == []  # they queue for a turn behind b3, first come first served
    busy.release()
    await asyncio.sleep(0.05)
    assert busy.ended() == ["b1", "b2", "b3"]
    assert started(away) == ["w4", "w5", "w6", "w7"]  # all wait on Telegram together
    away.release()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert order._turns.free == 2  # every turn given back


async def test_cancelled_while_coming_back_from_telegram_gives_back_one_turn() -> None:
    order, away, busy = PersonOrder(8), Jobs(), Jobs()
    back = submit(order, 1, 1, away.run("w", hold=True, network=True))
    await asyncio.sleep(0.01)
    hogs = [submit(order, n, n, busy.run(f"b{n}", hold=True)) for n in (2, 3)]
    await asyncio.sleep(0.01)
    away.release()  # "w" is back from Telegram, but both turns are taken
    await asyncio.sleep(0.01)
    back.cancel()
    busy.release()
    await asyncio.gather(back, *hogs, return_exceptions=True)
    assert back.cancelled()
    assert order._turns.free == 2


async def test_back_from_telegram_goes_before_updates_that_came_later() -> None:
    log: list[str] = []
    order, away, busy = PersonOrder(8, running=1), Jobs(log), Jobs(log)
    first = submit(order, 1, 1, away.run("a", hold=True, network=True))
    await asyncio.sleep(0.01)  # "a" waits on Telegram: its turn is free
    hog = submit(order, 2, 2, busy.run("b", hold=True))
    await asyncio.sleep(0.01)
    later = submit(order, 3, 3, busy.run("c"))  # came after "a": waits for the turn
    await asyncio.sleep(0.01)
    away.release()  # "a" is back from Telegram and waits for the turn too
    await asyncio.sleep(0.01)
    busy.release()
    await asyncio.wait_for(asyncio.gather(first, hog, later), 5)
    assert log == ["start a", "start b", "end b", "end a", "start c", "end c"]


async def test_a_bot_api_call_gives_the_turn_away() -> None:
    order, telegram, log = PersonOrder(8, running=1), asyncio.Event(), []

    async def update(name: str) -> None:
        log.append(f"start {name}")
        await with_retries(telegram.wait, idempotent=True)  # as every send and edit does
        log.append(f"end {name}")

    tasks = [submit(order, n, n, update(f"u{n}")) for n in (1, 2)]
    await asyncio.sleep(0.05)
    assert log == ["start u1", "start u2"]  # one turn, yet both are waiting on Telegram
    telegram.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert order._turns.free == 1


@pytest.fixture
async def slow_api() -> AsyncIterator[FakeBotApi]:
    """Every Bot API call takes 100 ms, as over a real network."""
    async with FakeBotApi(TOKEN, latency=0.1) as server:
        yield server


@pytest.mark.parametrize(("concurrent", "overlap"), [(16, True), (1, False)])
async def test_people_are_answered_at_once_over_a_slow_network(
        slow_api: FakeBotApi, settings: Settings, concurrent: int, overlap: bool) -> None:
    people = list(range(7001, 7009))
    admins = replace(settings, admins=frozenset(people), concurrent_updates=concurrent)
    async with running_bot(slow_api, admins):
        for user in people:
            await slow_api.send_text(user, "/start")  # administrators: joined on /start
        await slow_api.wait_for(
            lambda _: all(len(slow_api.sent_texts(u)) >= 1 for u in people), timeout=30)
    assert all(len(slow_api.sent_texts(u)) == 1 for u in people)
    assert (slow_api.peak_in_flight["sendMessage"] > 1) is overlap
