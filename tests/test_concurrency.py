"""Different people's updates are handled at once; one person's stay one at a time, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace

import pytest
from telegram import Bot, Update

from bot.adapters.telegram_run import PersonOrder
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

    def __init__(self) -> None:
        self.log: list[str] = []
        self._gate = asyncio.Event()

    async def run(self, name: str, hold: bool = False) -> None:
        self.log.append(f"start {name}")
        if hold:
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


async def test_one_persons_messages_are_answered_in_the_order_sent(
        slow_api: FakeBotApi, settings: Settings) -> None:
    """Five messages typed at once (one getUpdates batch), each reply ~100 ms away on the
    network: the answers still come in the order asked, while another person is served."""
    asked = [("客户说这个月多扣了手续费，怎么跟他解释", "手续费争议"), ("/help", "/drill"),
             ("/whoami", "7001"), ("/card dispute.fee", "手续费争议"), ("/topics", "章节")]
    async with running_bot(slow_api, replace(settings, admins=frozenset({7001, 7002}))):
        for user in (7001, 7002):
            await slow_api.send_text(user, "/start")
        await slow_api.wait_for(lambda _: all(slow_api.sent_texts(u) for u in (7001, 7002)),
                                timeout=30)
        for text, _ in asked:
            await slow_api.send_text(7001, text)
            await slow_api.send_text(7002, "/help")
        await slow_api.wait_for(lambda _: len(slow_api.sent_texts(7001)) >= 1 + len(asked)
                                and len(slow_api.sent_texts(7002)) >= 1 + len(asked), timeout=30)
    answers = slow_api.sent_texts(7001)[1:]
    assert len(answers) == len(asked)
    assert all(marker in answer for (_, marker), answer in zip(asked, answers, strict=True))
    assert slow_api.peak_in_flight["sendMessage"] > 1  # the other person was served alongside
