"""Moving a deployment: every table of a SQLite database into an empty one (PostgreSQL),
then the row counts compared."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from bot.store.base import Row, StoreBase, StoreError, Tx
from bot.store.migrations import tables

BATCH = 5000  # rows read and written per trip


class CopyError(StoreError):
    """The copy was refused or did not verify; `str()` is one line."""


async def copy_database(source: StoreBase, target: StoreBase,
                        progress: Callable[[str, int], None] = lambda table, rows: None,
                        ) -> dict[str, int]:
    """Copy every table from `source` (SQLite) to `target`, which must hold no rows; rows
    copied by table. On any failure the target is emptied again, so it can be retried."""
    if source.engine.name != "sqlite":
        raise CopyError("copy-db: --from must be a SQLite database (for PostgreSQL use "
                        "pg_dump and pg_restore)")
    names = tables()
    before = await _counts(target, names)
    if busy := [f"{t} ({n} rows)" for t, n in before.items() if n]:
        raise CopyError(f"copy-db: the target already holds data: {', '.join(busy[:3])}; "
                        "it copies only into an empty database")
    try:
        for table in names:
            progress(table, await _copy_table(source, target, table))
        copied, expected = await _counts(target, names), await _counts(source, names)
        if wrong := [f"{t}: {copied[t]} of {n}" for t, n in expected.items() if copied[t] != n]:
            raise CopyError(f"copy-db: row counts differ after copying ({', '.join(wrong)}); "
                            "was the bot still running on the source?")
        if target.engine.name == "postgresql":
            await target.transaction(_renumber)
    except BaseException:
        await target.transaction(lambda tx: [tx.run(f"DELETE FROM {t}") for t in names])
        raise
    return copied


async def _counts(store: StoreBase, names: list[str]) -> dict[str, int]:
    def work(tx: Tx) -> dict[str, int]:
        return {t: _count(tx.row(f"SELECT COUNT(*) FROM {t}")) for t in names}

    return await store.engine.run(work, atomic=False)


async def _copy_table(source: StoreBase, target: StoreBase, table: str) -> int:
    """Batches in rowid order (SQLite's own key, so no batch is read twice)."""
    last, done = 0, 0
    while True:
        batch = await source.rows(f"SELECT rowid AS copy_rowid, * FROM {table}"
                                  " WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, BATCH))
        if not batch:
            return done
        keys = batch[0].keys()  # a row iterates over its values
        columns = [c for c in keys if c != "copy_rowid"]
        insert = (f"INSERT INTO {table} ({', '.join(columns)})"
                  f" VALUES ({', '.join('?' * len(columns))})")
        values = [tuple(r[c] for c in columns) for r in batch]
        await target.transaction(partial(_insert, insert, values))
        last, done = batch[-1]["copy_rowid"], done + len(batch)


def _insert(sql: str, values: list[tuple[object, ...]], tx: Tx) -> int:
    return tx.many(sql, values)


def _renumber(tx: Tx) -> None:
    """Self-numbering ids continue after the copied ones."""
    for row in tx.rows("SELECT table_name FROM information_schema.columns WHERE"
                       " table_schema = current_schema() AND column_name = 'id'"
                       " AND is_identity = 'YES'"):
        table = row["table_name"]
        tx.row(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
               f" (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)")


def _count(row: Row | None) -> int:
    return int(row[0]) if row else 0
