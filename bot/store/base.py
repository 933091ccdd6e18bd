"""The store's engine: where every statement runs, migrations, and row conversion.

Only this module imports the database driver (sqlite3). Every statement runs
through `Engine.run`: a use case hands it a plain function of a `Tx`, which runs
whole on the database thread — one trip, however many statements. SQL stays
portable (`?` parameters, `ON CONFLICT`, no `INSERT OR …`), so a second engine
can implement `Engine` and `Tx` behind the same store methods.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Self, TypeVar

from bot.models import Drill, ItemState, Lang, Person, Role, TopicState
from bot.store.migrations import MIGRATIONS

Row = sqlite3.Row
T = TypeVar("T")


class Tx:
    """The statements of one use case, run on the database thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        return self.conn.execute(sql, args).fetchall()

    def row(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        found = self.rows(sql, args)  # fetchall: a half-read statement would block COMMIT
        return found[0] if found else None

    def run(self, sql: str, args: Sequence[object] = ()) -> int:
        """A writing statement; the number of rows it changed."""
        return self.conn.execute(sql, args).rowcount

    def many(self, sql: str, args: Iterable[Sequence[object]]) -> int:
        return self.conn.executemany(sql, args).rowcount

    def insert(self, sql: str, args: Sequence[object] = ()) -> int:
        """An INSERT into a table with an `id` key; the new row's id (SQLite's lastrowid;
        an engine without one adds RETURNING id)."""
        return int(self.conn.execute(sql, args).lastrowid or 0)


class Engine:
    """SQLite: one connection on one thread, so use cases run one at a time, whole.

    That thread is the store's lock: a read queues behind a transaction like a
    write does, so nothing ever sees a write that is later rolled back.
    """

    def __init__(self, conn: sqlite3.Connection, thread: ThreadPoolExecutor) -> None:
        self.conn = conn
        self.thread = thread
        self.trips = 0  # trips to the database thread (read by the tests and the bench)
        self.closed = False

    @classmethod
    async def open(cls, path: Path) -> Engine:
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        conn = await asyncio.get_running_loop().run_in_executor(thread, _connect, path)
        return cls(conn, thread)

    async def run(self, work: Callable[[Tx], T], atomic: bool = True) -> T:
        """`work` in one trip: a transaction when `atomic` (rolled back if it raises),
        else statements that each commit by themselves (reads, or a single write)."""
        self.trips += 1
        job = partial(self._atomic, work) if atomic else partial(work, Tx(self.conn))
        return await asyncio.get_running_loop().run_in_executor(self.thread, job)

    def _atomic(self, work: Callable[[Tx], T]) -> T:
        self.conn.execute("BEGIN IMMEDIATE")  # other processes' writers queue (busy timeout)
        try:
            result = work(Tx(self.conn))
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:  # also when COMMIT itself failed
                self.conn.execute("ROLLBACK")
            raise
        return result

    async def close(self) -> None:
        """Close the connection once queued work is done; closing again does nothing."""
        if self.closed:
            return
        self.closed = True
        await asyncio.get_running_loop().run_in_executor(self.thread, self.conn.close)
        self.thread.shutdown()


def _connect(path: Path) -> sqlite3.Connection:
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), isolation_level=None)  # we BEGIN ourselves
    conn.row_factory = sqlite3.Row
    for pragma in ("journal_mode=WAL", "busy_timeout=5000", "foreign_keys=ON",
                   "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


class StoreBase:
    """The engine and the one-statement helpers; the table groups extend it."""

    def __init__(self, engine: Engine, path: Path) -> None:
        self.engine = engine
        self.path = path

    @classmethod
    async def open(cls, path: Path) -> Self:
        store = cls(await Engine.open(path), path)
        await store.migrate()
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

    async def migrate(self) -> int:
        """Apply pending migrations in one transaction; return the schema version."""
        stamp = _ts(datetime.now(UTC))

        def work(tx: Tx) -> int:
            tx.run("CREATE TABLE IF NOT EXISTS schema_migrations"
                   " (number INTEGER PRIMARY KEY, applied_at TEXT)")
            found = tx.row("SELECT COALESCE(MAX(number), 0) FROM schema_migrations")
            current = int(found[0]) if found else 0
            for number, statements in enumerate(MIGRATIONS[current:], current + 1):
                for statement in statements:
                    tx.run(statement)
                tx.run("INSERT INTO schema_migrations VALUES (?, ?)", (number, stamp))
            return max(current, len(MIGRATIONS))

        return await self.transaction(work)


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
