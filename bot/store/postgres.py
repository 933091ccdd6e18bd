"""The PostgreSQL engine: several instances on one database. The only psycopg import.

The same interface as the SQLite engine: a use case is a plain function of a `Tx`, run
whole in a worker thread on a connection borrowed from a pool (psycopg 3, synchronous API,
`psycopg_pool.ConnectionPool`) for that use case, in one transaction. Synchronous psycopg
in threads rather than its async API: the use cases stay plain functions shared with
SQLite, and it measured about twice the use cases per second at less CPU
(bench/pg_driver_bench.py, numbers in bench/README.md). Isolation is PostgreSQL's
default, READ COMMITTED: the store's writes are guarded (ON CONFLICT, conditional UPDATE),
not serialised. A connection lost before COMMIT is retried on a fresh one (the server rolled
the transaction back); lost during COMMIT, the outcome is unknown and the use case fails.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg.rows import RowMaker
from psycopg_pool import ConnectionPool, PoolTimeout

from bot.config import hide_password
from bot.store.base import Row, StoreUnavailable, Tx

T = TypeVar("T")
RETRY_PAUSES = (0.05, 0.5, 2.0)  # seconds before each retry after a lost connection
WAIT = 5.0  # seconds a use case waits for a pooled connection before failing
# A dead connection is replaced with backoff (1, 2, 4 s …) for this long; then the pool
# starts again on demand, so recovery after an outage never lags it by more than a few s.
RECONNECT = 10.0
# Keepalives stop a load balancer or NAT from silently dropping an idle pooled connection.
DEFAULTS = {"keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 10,
            "keepalives_count": 3}
# The server says it ended the session (shutdown, restart, pg_terminate_backend): met on the
# first statement, the pool had handed over a connection that was already dead.
ENDED = {"57P01", "57P02", "57P03"}


class PgRow(tuple[Any, ...]):
    """A row by position or by column name, like sqlite3.Row."""

    positions: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.positions[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.positions)


def _row_factory(cursor: Any) -> RowMaker[PgRow]:
    result = cursor.pgresult  # its raw names: cursor.description builds objects (40 µs)
    return _row_class(tuple(result.fname(i) for i in range(result.nfields)) if result else ())


@lru_cache(maxsize=1024)
def _row_class(names: tuple[bytes, ...]) -> type[PgRow]:
    """One class per set of column names, holding their positions."""
    positions = {n.decode(): i for i, n in enumerate(names)}
    return type("PgRow", (PgRow,), {"positions": positions})


# A statement that only reads: it may run before the transaction is opened
_READ = re.compile(r"\s*SELECT\b(?!.*\b(FOR\s+(NO\s+KEY\s+)?UPDATE|FOR\s+(KEY\s+)?SHARE|"
                   r"pg_advisory))", re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=4096)
def _pg(sql: str) -> tuple[str, bool]:
    """The store's `?` parameters as psycopg's `%s` (a literal % doubled); whether the
    statement only reads."""
    parts = sql.split("'")  # even parts are outside string literals
    query = "'".join(p.replace("%", "%%").replace("?", "%s") if i % 2 == 0
                     else p.replace("%", "%%") for i, p in enumerate(parts))
    return query, bool(_READ.match(sql))


class PgTx:
    """The statements of one use case, on one connection.

    In a use case that must be atomic the transaction opens with its first statement that
    is not a plain SELECT (a write, FOR UPDATE / SHARE, an advisory lock), and BEGIN travels
    with it in one round trip. Under READ COMMITTED each statement reads the latest
    committed rows inside a transaction or not, so reads before it see the same; a use
    case that only reads costs no BEGIN or COMMIT at all.
    """

    def __init__(self, conn: psycopg.Connection[PgRow], atomic: bool = False) -> None:
        self.conn = conn
        self.cur = conn.cursor()
        self.pending = atomic  # BEGIN not sent yet
        self.began = False
        self.trips = 0  # round trips to the server
        self.wrote = False  # a statement other than a plain SELECT was sent

    def _execute(self, sql: str, args: Sequence[object]) -> psycopg.Cursor[PgRow]:
        self.trips += 1
        query, reads = _pg(sql)
        if reads or not self.pending:
            self.wrote = self.wrote or not reads
            return self.cur.execute(query, tuple(args))
        self.pending, self.began, self.wrote = False, True, True
        with self.conn.pipeline():  # BEGIN and this statement in one round trip
            self.conn.execute("BEGIN")
            self.cur.execute(query, tuple(args))
        return self.cur

    def commit(self) -> None:
        if self.began:
            self.trips += 1
            self.conn.execute("COMMIT")

    def rows(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        cur = self._execute(sql, args)
        result = cur.pgresult  # (not cur.description, which builds objects)
        return list(cur.fetchall()) if result is not None and result.nfields else []

    def row(self, sql: str, args: Sequence[object] = ()) -> Row | None:
        found = self.rows(sql, args)
        return found[0] if found else None

    def run(self, sql: str, args: Sequence[object] = ()) -> int:
        return self._execute(sql, args).rowcount

    def many(self, sql: str, args: Iterable[Sequence[object]]) -> int:
        batch = [tuple(a) for a in args]
        if not batch:
            return 0
        if self.pending:
            self.trips += 1
            self.pending, self.began = False, True
            self.conn.execute("BEGIN")
        self.trips += 1  # executemany pipelines the batch
        self.wrote = True
        self.cur.executemany(_pg(sql)[0], batch)
        return self.cur.rowcount

    def insert(self, sql: str, args: Sequence[object] = ()) -> int:
        found = self._execute(sql + " RETURNING id", args).fetchone()
        return int(found[0]) if found else 0


class _Lost(Exception):
    def __init__(self, committing: bool) -> None:
        self.committing = committing


class PgEngine:
    """A connection pool and as many worker threads as connections."""

    name = "postgresql"

    def __init__(self, pool: ConnectionPool[psycopg.Connection[PgRow]], size: int,
                 shown: str) -> None:
        self.pool = pool
        self.shown = shown  # the URL without its password, for messages
        self.thread = ThreadPoolExecutor(max_workers=size, thread_name_prefix="store")
        self.trips = 0  # calls of run
        self.round_trips = 0  # statements, BEGIN and COMMIT sent to the server
        self.lock = threading.Lock()
        self.closed = False

    @classmethod
    async def open(cls, url: str, password: str = "", size: int = 10) -> PgEngine:
        """Connect once to report a refusal plainly (a pool only times out), then fill the
        pool; StoreUnavailable names COACH_DB, never the password."""
        shown = hide_password(url)
        try:
            given = conninfo_to_dict(url)
            kwargs: dict[str, Any] = {k: v for k, v in DEFAULTS.items() if k not in given}
            kwargs |= {"autocommit": True, "row_factory": _row_factory,
                       "connect_timeout": given.get("connect_timeout", 10),
                       "application_name": given.get("application_name", "counter-coach")}
            if password:
                kwargs["password"] = password
            await asyncio.to_thread(_probe, url, kwargs)
        except psycopg.Error as err:
            reason = _first_line(err).replace(password or "\0", "***")
            raise StoreUnavailable(f"COACH_DB: cannot connect to {shown}: "
                                   f"{hide_password(reason)}") from None
        pool: ConnectionPool[psycopg.Connection[PgRow]] = ConnectionPool(
            url, kwargs=kwargs, min_size=size, max_size=size, open=False, timeout=WAIT,
            reconnect_timeout=RECONNECT, name="coach")
        try:
            await asyncio.to_thread(pool.open, True, 30.0)
        except PoolTimeout:
            await asyncio.to_thread(pool.close)
            raise StoreUnavailable(f"COACH_DB: could not open {size} connections to {shown}"
                                   " in 30 s (COACH_DB_POOL against the server's"
                                   " max_connections?)") from None
        return cls(pool, size, shown)

    async def run(self, work: Callable[[Tx], T], atomic: bool = True) -> T:
        self.trips += 1
        return await asyncio.get_running_loop().run_in_executor(
            self.thread, self._call, work, atomic)

    def _call(self, work: Callable[[Tx], T], atomic: bool) -> T:
        for pause in (*RETRY_PAUSES, None):
            try:
                return self._once(work, atomic)
            except _Lost as lost:
                if lost.committing or pause is None:
                    what = "while committing" if lost.committing else "and not regained"
                    raise StoreUnavailable(f"COACH_DB: the connection to {self.shown} was "
                                           f"lost {what}; nothing more was done") from None
                self.pool.check()  # drop the pool's other dead connections too
                time.sleep(pause)
            except PoolTimeout:
                raise StoreUnavailable(f"COACH_DB: no connection to {self.shown} within "
                                       f"{WAIT:.0f} s") from None
        raise AssertionError("unreachable")

    def _once(self, work: Callable[[Tx], T], atomic: bool) -> T:
        with self.pool.connection() as conn:
            tx, committing = PgTx(conn, atomic), False
            try:
                result = work(tx)
                committing = True
                tx.commit()
                return result
            except BaseException as err:
                if conn.broken and isinstance(err, psycopg.OperationalError):
                    # not atomic, a write sent by itself commits by itself
                    dead_before = tx.trips <= 1 and err.sqlstate in ENDED
                    raise _Lost(committing or (not atomic and tx.wrote and not dead_before)
                                ) from err
                if not conn.broken and conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
                raise
            finally:
                with self.lock:
                    self.round_trips += tx.trips

    async def close(self) -> None:
        """Close the pool once running work is done; closing again does nothing."""
        if self.closed:
            return
        self.closed = True
        await asyncio.get_running_loop().run_in_executor(self.thread, self.pool.close)
        self.thread.shutdown()


def _probe(url: str, kwargs: dict[str, Any]) -> None:
    psycopg.connect(url, **kwargs).close()


def _first_line(err: Exception) -> str:
    """libpq's cause, e.g. 'connection to server at "db", port 5432 failed: Connection
    refused' (the hint lines after it are left out)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    text = lines[0] if lines else type(err).__name__
    return re.sub(r"(FATAL|ERROR):\s+", "", text.removeprefix("connection failed: "))
