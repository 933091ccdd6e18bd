"""The SQLite engine, the embedded default: the only sqlite3 import.

One connection on one thread: a use case hands `run` a plain function of a `Tx`, which runs
whole on that thread — one trip, however many statements.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

from bot.store.base import Row, Tx

T = TypeVar("T")


class SqliteTx:
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
        """An INSERT into a table with an `id` key; the new row's id."""
        return int(self.conn.execute(sql, args).lastrowid or 0)


class SqliteEngine:
    """SQLite: one connection on one thread, so use cases run one at a time, whole.

    That thread is the store's lock: a read queues behind a transaction like a
    write does, so nothing ever sees a write that is later rolled back.
    """

    name = "sqlite"

    def __init__(self, conn: sqlite3.Connection, thread: ThreadPoolExecutor) -> None:
        self.conn = conn
        self.thread = thread
        self.trips = 0  # trips to the database thread (read by the tests and the bench)
        self.closed = False

    @classmethod
    async def open(cls, path: Path) -> SqliteEngine:
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        conn = await asyncio.get_running_loop().run_in_executor(thread, _connect, path)
        return cls(conn, thread)

    async def run(self, work: Callable[[Tx], T], atomic: bool = True) -> T:
        """`work` in one trip: a transaction when `atomic` (rolled back if it raises),
        else statements that each commit by themselves (reads, or a single write)."""
        self.trips += 1
        job = partial(self._atomic, work) if atomic else partial(work, SqliteTx(self.conn))
        return await asyncio.get_running_loop().run_in_executor(self.thread, job)

    def _atomic(self, work: Callable[[Tx], T]) -> T:
        self.conn.execute("BEGIN IMMEDIATE")  # other processes' writers queue (busy timeout)
        try:
            result = work(SqliteTx(self.conn))
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
