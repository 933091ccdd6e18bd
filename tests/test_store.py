"""The store itself: isolation, trips to the database per button press, forgetting by age,
migrating an older database forward."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.assistant import Assistant
from bot.models import Inbound, Reply
from bot.store import Store, Tx
from bot.store.migrations import MIGRATIONS
from tests.conftest import ADMIN

pytestmark = pytest.mark.both_engines  # the store's SQL on SQLite and PostgreSQL

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TRIPS_PER_PRESS = 6


async def test_nothing_sees_or_joins_a_use_case_that_is_rolled_back(tmp_path: Path) -> None:
    """A read and a write made while another use case is open wait for it; the read does
    not see its write (before, reads skipped the lock and returned a person who was then
    rolled back), and the write is not undone with it."""
    store = await Store.open(tmp_path / "coach.db")
    inside, leave = threading.Event(), threading.Event()

    def enrol_then_fail(tx: Tx) -> None:
        tx.run("INSERT INTO people (user_id, name, roles, created_at)"
               " VALUES (7, 'Ghost', 'staff', 't')")
        inside.set()
        leave.wait(10)  # held open on the database thread until the others have started
        raise RuntimeError("the use case fails")

    other = asyncio.create_task(store.transaction(enrol_then_fail))
    assert await asyncio.to_thread(inside.wait, 10)
    read = asyncio.create_task(store.person(7))
    write = asyncio.create_task(store.audit(2, "kept", "", NOW))
    await asyncio.sleep(0)  # both have started and now wait behind the open use case
    leave.set()
    with pytest.raises(RuntimeError):
        await other
    assert await read is None
    await write
    assert [tuple(r) for r in await store.rows("SELECT actor, action FROM audit")] == [(2, "kept")]
    assert await store.person(7) is None
    await store.close()


def _option_payloads(replies: list[Reply]) -> list[str]:
    for reply in reversed(replies):
        payloads = [b.payload for row in reply.buttons for b in row]
        if payloads and all(p.startswith("a:") for p in payloads):
            return payloads
    return []


async def test_a_button_press_takes_at_most_six_trips_to_the_database(
        assistant: Assistant) -> None:
    """Counted as the Telegram adapter handles a press: the delivery check, then the update."""
    store = assistant.store
    await assistant.handle(Inbound(ADMIN, "Admin", text="/start"))
    trips: dict[str, list[int]] = {"drill:start": [], "a": []}
    payload, update = "drill:start", 0
    while payload:
        update += 1
        before = store.engine.trips
        assert await assistant.first_delivery(f"u{update}")
        replies = await assistant.handle(Inbound(ADMIN, "Admin", callback=payload))
        trips["a" if payload.startswith("a:") else payload].append(store.engine.trips - before)
        found = _option_payloads(replies)
        payload = found[0] if found else ""
    assert len(trips["a"]) == assistant.settings.drill_size  # every question answered
    assert (await store.rows("SELECT COUNT(*) FROM answers"))[0][0] == len(trips["a"])
    assert max(trips["drill:start"] + trips["a"]) <= TRIPS_PER_PRESS, trips


async def test_handled_updates_are_forgotten_after_a_day(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "coach.db")
    assert await store.first_delivery("u1", NOW)
    assert not await store.first_delivery("u1", NOW + timedelta(hours=23))  # a redelivery
    assert await store.first_delivery("u2", NOW + timedelta(hours=25))
    assert [r["key"] for r in await store.rows("SELECT key FROM deliveries")] == ["u2"]
    await store.close()


@pytest.mark.parametrize("version", [3, 5])
async def test_a_database_of_an_older_schema_is_migrated_forward(tmp_path: Path,
                                                                 version: int) -> None:
    """Made as that version of the code made it: its migrations' statements, then data."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, applied_at TEXT)")
    for number, statements in enumerate(MIGRATIONS[:version], 1):
        for statement in statements:
            db.execute(statement)
        db.execute("INSERT INTO schema_migrations VALUES (?, 'then')", (number,))
    db.execute("INSERT INTO people (user_id, name, lang, roles, created_at, remind_at)"
               " VALUES (5, '王芳', 'zh', 'staff', '2026-01-05T01:00:00+00:00', '08:30')")
    db.execute("INSERT INTO answers (user_id, drill_id, position, item_id, card_id, card_version,"
               " chosen, correct_option, is_correct, answered_at)"
               " VALUES (5, 1, 0, 'i', 'c', 1, 'a', 'a', 1, '2026-01-05T01:01:00+00:00')")
    db.commit()
    db.close()

    store = await Store.open(path)
    assert await store.migrate() == len(MIGRATIONS)
    numbers = [r[0] for r in await store.rows("SELECT number FROM schema_migrations")]
    assert numbers == list(range(1, len(MIGRATIONS) + 1))
    person = await store.person(5)
    assert person is not None and (person.name, person.remind_at, person.team) == (
        "王芳", "08:30", None)
    assert [a.card_id for a in await store.answers(5)] == ["c"]
    assert await store.add_team("A", NOW) and await store.set_team(5, "A")  # tables of later
    assert await store.first_delivery("u1", NOW)                            # versions work
    await store.close()
