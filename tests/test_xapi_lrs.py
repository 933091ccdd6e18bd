"""xAPI statements sent to a real LRS (Ralph, started on 127.0.0.1 by tests/lrs.py): they
arrive and validate; batches; a refused batch goes one at a time and a refused statement
is parked; the LRS down for a while loses nothing and stores nothing twice; and from a
drill answered in chat through the running bot to statements stored in the LRS."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.adapters.xapi_sender import BACKOFF_CAP, IDLE, LEASE, XapiSender
from bot.answers import Library
from bot.assistant import Assistant
from bot.config import Settings, load_settings
from bot.store import Store
from tests.botrun import TOKEN, running_bot
from tests.conftest import ADMIN, Chat, FakeClock
from tests.fake_bot_api import FakeBotApi
from tests.lrs import PASSWORD, USER, Lrs, ready
from tests.test_drill_flow import run_drill
from tests.test_faults import drill_answer_payload, sends

HOME = "https://coach.bank.example"


@pytest.fixture(scope="module")
def lrs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lrs]:
    ready()
    server = Lrs(tmp_path_factory.mktemp("ralph"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh(lrs: Lrs) -> Lrs:
    """The module's LRS, running and empty."""
    if lrs.process is None:
        lrs.start()
    lrs.clear()
    return lrs


def xapi_settings(settings: Settings, lrs: Lrs, batch: int = 50,
                  endpoint: str | None = None) -> Settings:
    """The test settings with xAPI on, the xAPI part read as from the environment."""
    xapi = load_settings({"COACH_XAPI_ENDPOINT": endpoint or lrs.endpoint, "COACH_XAPI_USER": USER,
                          "COACH_XAPI_PASSWORD": PASSWORD, "COACH_XAPI_HOMEPAGE": HOME,
                          "COACH_XAPI_BATCH": str(batch)}, env_file=lrs.folder / "no.env")
    return replace(settings, xapi_endpoint=xapi.xapi_endpoint, xapi_user=xapi.xapi_user,
                   xapi_password=xapi.xapi_password, xapi_homepage=xapi.xapi_homepage,
                   xapi_batch=xapi.xapi_batch)


class Posts:
    """The requests the sender makes, seen through httpx's event hook."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.statuses: list[int] = []

    async def request(self, request: httpx.Request) -> None:
        self.sizes.append(len(json.loads(request.content)))

    async def response(self, response: httpx.Response) -> None:
        self.statuses.append(response.status_code)

    def client(self, settings: Settings) -> httpx.AsyncClient:
        return httpx.AsyncClient(auth=(settings.xapi_user, settings.xapi_password),
                                 headers={"X-Experience-API-Version": "1.0.3"},
                                 event_hooks={"request": [self.request],
                                              "response": [self.response]})


@pytest.fixture
async def drilled(settings: Settings, clock: FakeClock, real_library: Library,
                  fresh: Lrs) -> AsyncIterator[Assistant]:
    """An assistant with xAPI on whose admin has done one drill (statements queued)."""
    a = Assistant(xapi_settings(settings, fresh), await Store.open(settings.db), real_library,
                  clock)
    await a.start()
    chat = Chat(a, ADMIN, "Admin")
    await chat.say("/start")
    await chat.say(f"/staffno {ADMIN} E900")
    await run_drill(chat, [True, False, True])
    try:
        yield a
    finally:
        await a.store.close()


async def outbox(assistant: Assistant) -> list[dict[str, Any]]:
    return [dict(r) for r in await assistant.store.rows("SELECT * FROM xapi_outbox ORDER BY id")]


def ids(statements: list[dict[str, Any]]) -> list[str]:
    return sorted(s["id"] for s in statements)


async def test_statements_arrive_as_made_and_validate(drilled: Assistant, fresh: Lrs,
                                                      clock: FakeClock) -> None:
    queued = await outbox(drilled)
    posts = Posts()
    sender = XapiSender(drilled.settings, drilled.store, clock, posts.client(drilled.settings))
    try:
        done = await sender.drain()
    finally:
        await sender.stop()
    assert (done.sent, done.parked, done.failed) == (len(queued), 0, 0)
    assert posts.sizes == [len(queued)] and posts.statuses == [200]
    stored = fresh.statements()
    assert ids(stored) == sorted(r["statement_id"] for r in queued)
    by_id = {s["id"]: s for s in stored}
    for row in queued:  # what the LRS holds is what we froze (plus what an LRS adds)
        mine = json.loads(row["body"])
        theirs = {k: v for k, v in by_id[row["statement_id"]].items() if k in mine}
        assert theirs == mine
    assert {s["actor"]["account"]["name"] for s in stored} == {"E900"}
    assert fresh.validate(stored) == []
    assert [r["state"] for r in await outbox(drilled)] == ["sent"] * len(queued)


async def test_batches_of_coach_xapi_batch_and_an_endpoint_without_slash(
        drilled: Assistant, fresh: Lrs, clock: FakeClock) -> None:
    settings = xapi_settings(drilled.settings, fresh, batch=2,
                             endpoint=fresh.endpoint.rstrip("/"))
    queued = await outbox(drilled)
    posts = Posts()
    sender = XapiSender(settings, drilled.store, clock, posts.client(settings))
    try:
        await sender.drain()
    finally:
        await sender.stop()
    assert posts.sizes == [2] * (len(queued) // 2) + [1] * (len(queued) % 2)
    assert len(fresh.statements()) == len(queued)


async def test_the_lrs_down_then_back_loses_nothing_and_stores_nothing_twice(
        drilled: Assistant, fresh: Lrs, clock: FakeClock) -> None:
    settings = drilled.settings
    sender = XapiSender(settings, drilled.store, clock, Posts().client(settings))
    chat = Chat(drilled, ADMIN, "Admin")
    try:
        assert await sender.step() == 0.0  # the first drill's statements go
        first = len(fresh.statements())
        fresh.stop()
        clock.advance(days=1)
        await run_drill(chat, [True, True, False])  # answered while the LRS is down
        waits = [await sender.step()]
        for _ in range(9):
            clock.advance(seconds=waits[-1])
            waits.append(await sender.step())
        assert waits == [5, 10, 20, 40, 80, 160, 320, 640, BACKOFF_CAP, BACKOFF_CAP]
        clock.advance(seconds=BACKOFF_CAP - 1)
        assert await sender.step() == IDLE  # backing off: nothing is due yet
        queued = [r for r in await outbox(drilled) if r["state"] == "queued"]
        assert queued and all(r["tries"] == 10 for r in queued)
        assert "no answer from the LRS (ConnectError)" in queued[0]["error"]
        fresh.start()
        clock.advance(seconds=1)
        assert await sender.step() == 0.0
        assert await sender.step() == IDLE
        # a crash after the LRS stored the batches but before we noted it: once the lease
        # is over they go again
        await drilled.store.write("UPDATE xapi_outbox SET state = 'queued'")
        clock.advance(seconds=LEASE.total_seconds())
        done = await sender.drain()
    finally:
        await sender.stop()
    rows = await outbox(drilled)
    assert done.sent == len(rows) and done.failed == 0
    stored = fresh.statements()
    assert first < len(stored) == len(rows)  # all arrived, none twice
    assert ids(stored) == sorted(r["statement_id"] for r in rows)
    assert fresh.validate(stored) == []


async def test_a_refused_batch_goes_one_at_a_time_and_the_refused_one_is_parked(
        drilled: Assistant, fresh: Lrs, clock: FakeClock) -> None:
    queued = await outbox(drilled)
    # another system already stored different content under one of our ids (409), and one
    # row is not a statement the LRS accepts (422: no actor)
    clash = json.loads(queued[1]["body"])
    assert fresh.post([{**clash, "result": {"success": False}}]) == 200
    broken = {"id": "00000000-0000-4000-8000-000000000001", "verb": {"id": "http://x/v"},
              "object": {"id": "http://x/o"}}
    await drilled.store.write(
        "INSERT INTO xapi_outbox (statement_id, user_id, verb, body, queued_at, next_at)"
        " VALUES (?, ?, 'answered', ?, '2000-01-01', '2000-01-01')",
        (broken["id"], ADMIN, json.dumps(broken)))
    posts = Posts()
    sender = XapiSender(drilled.settings, drilled.store, clock, posts.client(drilled.settings))
    try:
        done = await sender.drain()
        assert posts.sizes == [len(queued) + 1] + [1] * (len(queued) + 1)
        assert (done.sent, done.parked) == (len(queued) - 1, 2)
        parked = {r["statement_id"]: r["error"] for r in await outbox(drilled)
                  if r["state"] == "parked"}
        assert set(parked) == {clash["id"], broken["id"]}
        assert parked[clash["id"]].startswith("LRS answered 409")
        assert parked[broken["id"]].startswith("LRS answered 422")
        assert await sender.step() == IDLE  # parked: not retried by itself
        assert await drilled.store.requeue_parked(clock()) == 2  # `xapi resend`
        again = await sender.drain()
        assert again.parked == 2
    finally:
        await sender.stop()
    stored = fresh.statements()
    assert len(stored) == len(queued)  # ours but the clashing one, plus the other system's
    assert fresh.validate(stored) == []


async def test_from_a_drill_in_chat_to_statements_in_the_lrs(settings: Settings, fresh: Lrs,
                                                              tmp_path: Path) -> None:
    """The running bot (the real Application against the fake Bot API) with xAPI on: its
    lifecycle starts the sender, which delivers the drill's statements to the LRS."""
    async with FakeBotApi(TOKEN, timeout_delay=7.0) as api, running_bot(
            api, xapi_settings(settings, fresh)) as bot:
        await api.send_text(ADMIN, "/start", first_name="Admin")
        await api.wait_for(lambda _: len(sends(api, ADMIN)) >= 1, timeout=60)
        await api.send_text(ADMIN, "/drill")
        for n in (1, 2, 3):
            await api.wait_for(lambda _, n=n: any(f"小测 {n}/3" in t for t in sends(api, ADMIN)),
                               timeout=60)
            payload, message_id = await drill_answer_payload(bot, api)
            await api.send_callback(ADMIN, payload, message_id)
        assert bot.xapi is not None and bot.assistant is not None
        store = bot.assistant.store

        async def all_sent() -> bool:
            row = await store.row("SELECT COUNT(*), SUM(state = 'sent') FROM xapi_outbox")
            return row is not None and row[0] > 0 and row[0] == row[1]

        await eventually(all_sent)  # the sender looks every IDLE seconds
        rows = [dict(r) for r in await store.rows("SELECT * FROM xapi_outbox")]
    stored = fresh.statements()
    assert rows and all(r["state"] == "sent" for r in rows)
    assert ids(stored) == sorted(r["statement_id"] for r in rows)
    verbs = sorted(s["verb"]["id"].rsplit("/", 1)[1] for s in stored)
    assert verbs.count("answered") == 3 and verbs.count("completed") == 1
    assert fresh.validate(stored) == []


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    """Wait for another task's work to show (bounded); not a timing assertion."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"not done within {timeout} s"
        await asyncio.sleep(0.05)
