"""The store's one-trip helpers: a single write is its own transaction, never part of another."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store import Store

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


async def test_a_single_write_waits_for_an_open_transaction_and_outlives_its_rollback(
        tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "coach.db")
    inside, leave = asyncio.Event(), asyncio.Event()

    async def rolled_back() -> None:
        with pytest.raises(RuntimeError):
            async with store.transaction() as db:
                await db.execute("INSERT INTO audit (at, actor, action, detail)"
                                 " VALUES ('t', 1, 'rolled back', '')")
                inside.set()
                await leave.wait()
                raise RuntimeError("the use case fails")

    other = asyncio.create_task(rolled_back())
    await inside.wait()
    single = asyncio.create_task(store.audit(2, "kept", "", NOW))  # one write, via write()
    await asyncio.sleep(0.05)
    assert not single.done()  # it waits: on the shared connection it would join the other
    leave.set()
    await asyncio.gather(other, single)
    assert [r["action"] for r in await store.rows("SELECT action FROM audit")] == ["kept"]
    assert await store.row("SELECT * FROM audit WHERE actor = 1") is None
    await store.close()
