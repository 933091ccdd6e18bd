"""The store's connection, transactions, migrations and row conversion (the only aiosqlite import)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Self

import aiosqlite

from bot.models import Drill, ItemState, Lang, Person, Role, TopicState
from bot.store.migrations import MIGRATIONS

Row = aiosqlite.Row
Connection = aiosqlite.Connection


class StoreBase:
    """One aiosqlite connection (WAL, busy timeout); the table groups extend it."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self.db = db
        self.path = path
        # One connection: a job (the tick) and an update handler must not interleave
        # their transactions, so each transaction holds this lock.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Self:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path), isolation_level=None)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA synchronous=NORMAL")
        store = cls(db, path)
        await store.migrate()
        return store

    async def close(self) -> None:
        await self.db.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction per use case; BEGIN IMMEDIATE so other processes' writers queue."""
        async with self._lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    async def write(self, sql: str, args: tuple[object, ...] = ()) -> aiosqlite.Cursor:
        """One writing statement as its own transaction (autocommit), in one trip to the
        database thread instead of three; the lock keeps it out of an open transaction."""
        async with self._lock:
            return await self.db.execute(sql, args)

    async def changed_one(self, sql: str, args: tuple[object, ...]) -> bool:
        """Run one writing statement in its own transaction; True if it changed exactly one row."""
        return (await self.write(sql, args)).rowcount == 1

    async def rows(self, sql: str, args: Sequence[object] = ()) -> list[aiosqlite.Row]:
        """A query's rows in one trip to the database thread (a cursor takes three)."""
        return list(await self.db.execute_fetchall(sql, args))

    async def row(self, sql: str, args: Sequence[object] = ()) -> aiosqlite.Row | None:
        found = await self.rows(sql, args)
        return found[0] if found else None

    async def migrate(self) -> int:
        """Apply pending migrations; return the schema version."""
        await self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, applied_at TEXT)"
        )
        row = await self.row("SELECT COALESCE(MAX(number), 0) FROM schema_migrations")
        current = int(row[0]) if row else 0
        for number, sql in enumerate(MIGRATIONS, 1):
            if number <= current:
                continue
            async with self.transaction() as db:
                for statement in sql.split(";"):
                    if statement.strip():
                        await db.execute(statement)
                await db.execute(
                    "INSERT INTO schema_migrations VALUES (?, datetime('now'))", (number,)
                )
        return len(MIGRATIONS)


@dataclass(frozen=True)
class AnswerRow:
    card_id: str
    correct: bool
    answered_at: datetime
    drill_id: int


@dataclass(frozen=True)
class QuestionRow:
    id: int
    outcome: str
    card_id: str | None
    offered: tuple[str, ...]
    feedback: int | None


def backup(source: Path, target: Path) -> int:
    """A consistent copy of a live database (SQLite online backup); pages copied."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
        row = dst.execute("PRAGMA page_count").fetchone()
        return int(row[0]) if row else 0
    finally:
        dst.close()
        src.close()


def accepted_questions(source: Path) -> dict[str, list[str]]:
    """Accepted suggestions (card id -> questions), read without writing anything (`ask --db`).
    A database from before suggestions existed has none."""
    db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT card_id, question FROM suggestions WHERE status = 'accepted' "
                          "ORDER BY id").fetchall()
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):
            return {}
        raise
    finally:
        db.close()
    out: dict[str, list[str]] = {}
    for card_id, question in rows:
        out.setdefault(str(card_id), []).append(str(question))
    return out


def _ts(value: datetime) -> str:
    """Times are stored as UTC ISO-8601 text, so text order is time order."""
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _drill(row: aiosqlite.Row) -> Drill:
    return Drill(
        id=row["id"], user_id=row["user_id"], started_at=_dt(row["started_at"]),
        finished_at=_dt(row["finished_at"]) if row["finished_at"] else None,
        items=tuple((i, tuple(order)) for i, order in json.loads(row["items"])),
        position=row["position"], correct=row["correct"],
    )


def _topic_state(row: aiosqlite.Row) -> TopicState:
    return TopicState(
        card_id=row["card_id"], first_answer_at=_dt(row["first_answer_at"]),
        last_answer_at=_dt(row["last_answer_at"]),
        last_pass_at=_dt(row["last_pass_at"]) if row["last_pass_at"] else None,
        last_pass_version=row["last_pass_version"], answers=row["answers"],
        correct=row["correct"],
    )


def _item_state(row: aiosqlite.Row) -> ItemState:
    return ItemState(row["item_id"], row["card_id"], row["step"], _dt(row["due_at"]))


def _person(row: aiosqlite.Row, supervises: frozenset[str] = frozenset()) -> Person:
    return Person(
        user_id=row["user_id"],
        name=row["name"],
        lang=Lang(row["lang"]) if row["lang"] else None,
        last_lang=Lang(row["last_lang"]) if row["last_lang"] else None,
        roles=frozenset(Role(r) for r in row["roles"].split(",") if r),
        team=row["team"],
        supervises=supervises,
        active=bool(row["active"]),
        remind_at=row["remind_at"],
        paused_until=date.fromisoformat(row["paused_until"]) if row["paused_until"] else None,
    )
