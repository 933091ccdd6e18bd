"""The store's interface: where every statement runs, migrations, and row conversion.

Two engines implement `Engine` and `Tx`: SQLite (`sqlite.py`, the embedded default) and
PostgreSQL (`postgres.py`, several instances on one database); only they import a driver.
A use case hands `Engine.run` a plain function of a `Tx`, which runs whole in one trip to
the database, however many statements. SQL stays portable (`?` parameters, `ON CONFLICT`,
no `INSERT OR …`, timestamps passed in as ISO text), so the same store methods run on both.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol, Self, TypeVar

from bot.config import hide_password
from bot.models import Drill, ItemState, Lang, Person, Role, TopicState
from bot.store.migrations import MIGRATIONS, for_engine

T = TypeVar("T")


class Row(Protocol):
    """A result row: by column name or position (sqlite3.Row, or the PostgreSQL engine's)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...

    def keys(self) -> list[str]: ...


class Tx(Protocol):
    """The statements of one use case, run in one trip to the database."""

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[Row]: ...

    def row(self, sql: str, args: Sequence[object] = ()) -> Row | None: ...

    def run(self, sql: str, args: Sequence[object] = ()) -> int:
        """A writing statement; the number of rows it changed."""
        ...

    def many(self, sql: str, args: Iterable[Sequence[object]]) -> int: ...

    def insert(self, sql: str, args: Sequence[object] = ()) -> int:
        """An INSERT into a table with an `id` key; the new row's id."""
        ...


class Engine(Protocol):
    name: str  # "sqlite" or "postgresql": which migration statements apply
    trips: int  # calls of `run` (read by the tests and the bench)

    async def run(self, work: Callable[[Tx], T], atomic: bool = True) -> T:
        """`work` in one trip: a transaction when `atomic` (rolled back if it raises),
        else statements that each commit by themselves (reads, or a single write)."""
        ...

    async def close(self) -> None: ...


class StoreError(Exception):
    """The database cannot be used; `str()` is one line for the operator, no password."""


class SchemaError(StoreError):
    """The database's schema is not the one this code expects."""


class StoreUnavailable(StoreError):
    """No connection to the database (refused, wrong password, lost and not regained)."""


async def open_engine(where: Path | str, password: str = "", pool: int = 10) -> Engine:
    """A path: SQLite; a postgresql:// URL (a str): PostgreSQL with a pool of `pool`."""
    if isinstance(where, str):
        from bot.store.postgres import PgEngine

        return await PgEngine.open(where, password, pool)
    from bot.store.sqlite import SqliteEngine

    return await SqliteEngine.open(where)


_HAS_TABLE = {
    "sqlite": "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
    "postgresql": "SELECT COUNT(*) FROM information_schema.tables"
                  " WHERE table_schema = current_schema() AND table_name = ?",
}


class StoreBase:
    """The engine and the one-statement helpers; the table groups extend it."""

    def __init__(self, engine: Engine, path: Path | str) -> None:
        self.engine = engine
        self.path = path  # where the data is, as shown to people (a URL without its password)

    @classmethod
    async def open(cls, where: Path | str, password: str = "", pool: int = 10,
                   migrate: bool | None = None) -> Self:
        """SQLite (a path) is migrated on open; PostgreSQL (a URL) only when `migrate`
        (`python -m bot migrate`): otherwise a schema that is behind is refused."""
        engine = await open_engine(where, password, pool)
        store = cls(engine, hide_password(where) if isinstance(where, str) else where)
        try:
            if migrate or (migrate is None and engine.name == "sqlite"):
                await store.migrate()
            else:
                await store.check_schema()
        except BaseException:
            await engine.close()
            raise
        return store

    async def close(self) -> None:
        await self.engine.close()

    async def transaction(self, work: Callable[[Tx], T]) -> T:
        """One use case as one transaction, in one trip to the database."""
        return await self.engine.run(work)

    async def rows(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        return await self.engine.run(lambda tx: tx.rows(sql, args), atomic=False)

    async def row(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        return await self.engine.run(lambda tx: tx.row(sql, args), atomic=False)

    async def write(self, sql: str, args: Sequence[object] = ()) -> int:
        """One writing statement, committed by itself; rows changed."""
        return await self.engine.run(lambda tx: tx.run(sql, args), atomic=False)

    async def changed_one(self, sql: str, args: Sequence[object]) -> bool:
        """One writing statement; True if it changed exactly one row."""
        return await self.write(sql, args) == 1

    async def ping(self, timeout: float = 5.0) -> bool:
        """The database answers within `timeout` seconds (the health check)."""
        try:
            return await asyncio.wait_for(self.row("SELECT 1"), timeout) is not None
        except (StoreError, TimeoutError):
            return False

    async def schema_version(self) -> int:
        """The last migration applied; 0 for an empty database."""

        def work(tx: Tx) -> int:
            return _version(tx, self.engine.name)

        return await self.engine.run(work, atomic=False)

    async def check_schema(self) -> int:
        """The schema version if it is this code's; else SchemaError (what to do, one line)."""
        current = await self.schema_version()
        _not_newer(current)
        if current < len(MIGRATIONS):
            raise SchemaError(
                f"COACH_DB: the database schema is at version {current}, this code needs "
                f"{len(MIGRATIONS)}: run `python -m bot migrate` first")
        return current

    async def migrate(self) -> int:
        """Apply pending migrations in one transaction; return the schema version."""
        stamp = _ts(datetime.now(UTC))
        name = self.engine.name

        def work(tx: Tx) -> int:
            if name == "postgresql":  # instances starting together migrate one at a time
                tx.row("SELECT pg_advisory_xact_lock(7263540)")
            tx.run("CREATE TABLE IF NOT EXISTS schema_migrations"
                   " (number INTEGER PRIMARY KEY, applied_at TEXT)")
            current = _version(tx, name)
            _not_newer(current)
            for number, statements in enumerate(MIGRATIONS[current:], current + 1):
                for statement in for_engine(statements, name):
                    tx.run(statement)
                tx.run("INSERT INTO schema_migrations VALUES (?, ?)", (number, stamp))
            return len(MIGRATIONS)

        return await self.transaction(work)


def _version(tx: Tx, engine: str) -> int:
    found = tx.row(_HAS_TABLE[engine], ("schema_migrations",))
    if not found or not found[0]:
        return 0
    latest = tx.row("SELECT COALESCE(MAX(number), 0) FROM schema_migrations")
    return int(latest[0]) if latest else 0


def _not_newer(current: int) -> None:
    if current > len(MIGRATIONS):
        raise SchemaError(
            f"COACH_DB: the database schema is at version {current}, newer than this code's "
            f"{len(MIGRATIONS)}: run the newer version of the bot")


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
    text: str = ""  # masked


def _ts(value: datetime) -> str:
    """Times are stored as UTC ISO-8601 text, so text order is time order."""
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _drill(row: Row) -> Drill:
    return Drill(
        id=row["id"], user_id=row["user_id"], started_at=_dt(row["started_at"]),
        finished_at=_dt(row["finished_at"]) if row["finished_at"] else None,
        items=tuple((i, tuple(order)) for i, order in json.loads(row["items"])),
        position=row["position"], correct=row["correct"],
    )


def _topic_state(row: Row) -> TopicState:
    return TopicState(
        card_id=row["card_id"], first_answer_at=_dt(row["first_answer_at"]),
        last_answer_at=_dt(row["last_answer_at"]),
        last_pass_at=_dt(row["last_pass_at"]) if row["last_pass_at"] else None,
        last_pass_version=row["last_pass_version"], answers=row["answers"],
        correct=row["correct"],
    )


def _item_state(row: Row) -> ItemState:
    return ItemState(row["item_id"], row["card_id"], row["step"], _dt(row["due_at"]))


def _person(row: Row, supervises: frozenset[str] = frozenset()) -> Person:
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
        staff_no=row["staff_no"],
    )
