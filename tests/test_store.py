"""The store itself, on each engine: isolation, trips to the database per button press,
migrating an older database forward, refusing a newer one."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.assistant import Assistant
from bot.models import Inbound, Reply, Role
from bot.store import SchemaError, State, Store, Tx
from bot.store.base import open_engine
from bot.store.inbox import HANDLING
from bot.store.migrations import MIGRATIONS, for_engine
from tests.conftest import ADMIN
from tests.pg_server import ThrowawayPostgres

pytestmark = pytest.mark.both_engines  # the store's SQL on SQLite and PostgreSQL

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TRIPS_PER_PRESS = 8  # the inbox's 3 (stored, handled, finished) and the press's 5
ROUND_TRIPS_PER_PRESS = 24  # PostgreSQL: those use cases' statements, BEGIN and COMMIT


@pytest.fixture
async def store(db: Path | str) -> AsyncIterator[Store]:
    opened = await Store.open(db, pool=2, migrate=True)
    yield opened
    await opened.close()


@pytest.fixture
def empty_db(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """A database with no schema at all."""
    if engine == "sqlite":
        return tmp_path / "empty.db"
    server: ThrowawayPostgres = request.getfixturevalue("postgres")
    return server.create_schema()


async def test_nothing_sees_or_joins_a_use_case_that_is_rolled_back(store: Store) -> None:
    """A read and a write made while another use case is open (on SQLite they wait for it,
    on PostgreSQL they run beside it): the read does not see its write, and the write is
    not undone with it."""
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


def _option_payloads(replies: list[Reply]) -> list[str]:
    for reply in reversed(replies):
        payloads = [b.payload for row in reply.buttons for b in row]
        if payloads and all(p.startswith("a:") for p in payloads):
            return payloads
    return []


async def test_a_button_press_takes_at_most_six_trips_to_the_database(
        assistant: Assistant) -> None:
    """Counted as the Telegram adapter handles a press: stored in the inbox, handled, its
    replies stored, finished once they are sent."""
    store = assistant.store
    engine: Any = store.engine
    await assistant.handle(Inbound(ADMIN, "Admin", text="/start"))
    trips: dict[str, list[int]] = {"drill:start": [], "a": []}
    network: list[int] = []
    payload, update = "drill:start", 0
    while payload:
        update += 1
        before, sent = store.engine.trips, getattr(engine, "round_trips", 0)
        assert await store.receive([(update, ADMIN, "{}")], "me", NOW, NOW + timedelta(minutes=2))
        token = HANDLING.set(update)
        replies = await assistant.handle(Inbound(ADMIN, "Admin", callback=payload))
        HANDLING.reset(token)
        await store.handled(update, replies)
        await store.finish(update, State.SENT, NOW)
        trips["a" if payload.startswith("a:") else payload].append(store.engine.trips - before)
        network.append(getattr(engine, "round_trips", 0) - sent)
        found = _option_payloads(replies)
        payload = found[0] if found else ""
    assert len(trips["a"]) == assistant.settings.drill_size  # every question answered
    assert (await store.rows("SELECT COUNT(*) FROM answers"))[0][0] == len(trips["a"])
    assert max(trips["drill:start"] + trips["a"]) <= TRIPS_PER_PRESS, trips
    assert max(network) <= ROUND_TRIPS_PER_PRESS, network


async def make_schema(where: Path | str, version: int) -> None:
    """A database as that version of the code made it: its migrations' statements."""
    engine = await open_engine(where)

    def work(tx: Tx) -> None:
        tx.run("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, applied_at TEXT)")
        for number, statements in enumerate(MIGRATIONS[:version], 1):
            for statement in for_engine(statements, engine.name):
                tx.run(statement)
            tx.run("INSERT INTO schema_migrations VALUES (?, 'then')", (number,))

    await engine.run(work)
    await engine.close()


@pytest.mark.parametrize("version", [3, 5])
async def test_a_database_of_an_older_schema_is_migrated_forward(empty_db: Path | str,
                                                                 version: int) -> None:
    """Made as that version of the code made it, with data; then migrated."""
    await make_schema(empty_db, version)
    old = await open_engine(empty_db)
    await old.run(lambda tx: tx.run(
        "INSERT INTO people (user_id, name, lang, roles, created_at, remind_at)"
        " VALUES (5, '王芳', 'zh', 'staff', '2026-01-05T01:00:00+00:00', '08:30')") + tx.run(
        "INSERT INTO answers (user_id, drill_id, position, item_id, card_id, card_version,"
        " chosen, correct_option, is_correct, answered_at)"
        " VALUES (5, 1, 0, 'i', 'c', 1, 'a', 'a', 1, '2026-01-05T01:01:00+00:00')"))
    await old.close()

    store = await Store.open(empty_db, migrate=True)
    assert await store.migrate() == len(MIGRATIONS)
    numbers = [r[0] for r in await store.rows("SELECT number FROM schema_migrations")]
    assert numbers == list(range(1, len(MIGRATIONS) + 1))
    person = await store.person(5)
    assert person is not None and (person.name, person.remind_at, person.team) == (
        "王芳", "08:30", None)
    assert [a.card_id for a in await store.answers(5)] == ["c"]
    assert await store.add_team("A", NOW) and await store.set_team(5, "A")  # tables of later
    assert await store.receive([(1, 5, "{}")], "me", NOW, NOW)              # versions work
    await store.close()


async def test_a_newer_schema_is_refused(empty_db: Path | str) -> None:
    """Code older than its database stops (it would misread tables it does not know)."""
    await make_schema(empty_db, len(MIGRATIONS))
    newer = await open_engine(empty_db)
    await newer.run(lambda tx: tx.run("INSERT INTO schema_migrations VALUES (?, 'later')",
                                      (len(MIGRATIONS) + 1,)))
    await newer.close()
    for migrate in (True, None):
        with pytest.raises(SchemaError) as err:
            await Store.open(empty_db, migrate=migrate)
        assert str(err.value) == (
            f"COACH_DB: the database schema is at version {len(MIGRATIONS) + 1}, newer than "
            f"this code's {len(MIGRATIONS)}: run the newer version of the bot")


async def test_team_names_match_whatever_the_case(store: Store) -> None:
    """SQLite's NOCASE; on PostgreSQL a unique index on lower(name)."""
    assert await store.add_team("North Branch", NOW)
    assert not await store.add_team("NORTH branch", NOW)
    assert await store.team("north BRANCH") == "North Branch"
    await store.upsert_person(5, "Li", set(), NOW)
    await store.add_supervisor(5, "North Branch")
    await store.add_supervisor(5, "north branch")  # the same team: nothing added
    assert (await store.rows("SELECT COUNT(*) FROM supervisors"))[0][0] == 1
    assert await store.teams() == ["North Branch"]


async def test_an_invite_is_used_once_even_by_two_people_at_once(store: Store) -> None:
    """On PostgreSQL the two run side by side: the UPDATE that takes the code is the guard."""
    await store.add_team("A", NOW)
    await store.create_invite("CODE1", "A", Role.STAFF, ADMIN, NOW, NOW + timedelta(days=7))
    joined = await asyncio.gather(*(store.use_invite("CODE1", 100 + i, f"P{i}", NOW)
                                    for i in range(6)))
    assert sorted(j or "-" for j in joined) == ["-"] * 5 + ["A"]
    assert (await store.rows("SELECT COUNT(*) FROM people"))[0][0] == 1


async def test_each_engine_keeps_the_tx_contract(store: Store) -> None:
    """`?` parameters (and a literal `%` or `?` inside quotes), the new id from `insert`,
    rows changed from `run` and `many`, rows by name and by position."""

    def work(tx: Tx) -> tuple[int, int, int, int, list[tuple[object, ...]]]:
        first = tx.insert("INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                          ("t", 1, "a", "100% sure?"))
        second = tx.insert("INSERT INTO audit (at, actor, action) VALUES (?, ?, 'b')", ("t", 2))
        many = tx.many("INSERT INTO counters VALUES (?, ?)", [("x", 1), ("y", 2), ("z", 3)])
        changed = tx.run("UPDATE counters SET value = value + 1 WHERE name LIKE '%' AND"
                         " value >= ?", (2,))
        found = tx.rows("SELECT id, detail FROM audit WHERE detail LIKE '%?' ORDER BY id")
        return first, second, many, changed, [(r["id"], r[1]) for r in found]

    first, second, many, changed, found = await store.transaction(work)
    assert (second - first, many, changed) == (1, 3, 2)
    assert found == [(first, "100% sure?")]
