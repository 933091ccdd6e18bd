"""Why the PostgreSQL engine runs psycopg's synchronous API in worker threads: the same use
cases through it and through psycopg's async API with an AsyncConnectionPool.

Each iteration is what an update typically costs the store: a two-statement transaction
(an INSERT … ON CONFLICT and a DELETE on a table of update ids) and a one-row read, 16 iterations at
once, 10 pooled connections, on a throwaway server on this machine. Prints iterations/s
and this process's CPU per iteration, three interleaved rounds each.

Run from the repo root: .venv/bin/python bench/pg_driver_bench.py [--n 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from psycopg_pool import AsyncConnectionPool

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.store import Store, Tx  # noqa: E402
from tests.pg_server import bench_server  # noqa: E402

NOW = "2026-11-30T01:00:00+00:00"
AT_ONCE = 16


async def rate(one: Callable[[int], Awaitable[None]], n: int) -> tuple[float, float]:
    gate = asyncio.Semaphore(AT_ONCE)

    async def gated(i: int) -> None:
        async with gate:
            await one(i)

    for i in range(200):  # warm up: connections, prepared statements
        await one(-i - 1)
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(gated(i) for i in range(n)))
    return n / (time.perf_counter() - wall), 1000 * (time.process_time() - cpu) / n


async def ours(url: str, n: int, round_: int) -> tuple[float, float]:
    store = await Store.open(url, pool=10)

    async def one(i: int) -> None:
        def first(tx: Tx) -> int:
            new = tx.run("INSERT INTO deliveries VALUES (?, ?) ON CONFLICT DO NOTHING",
                         (f"s{round_}:{i}", NOW))
            tx.run("DELETE FROM deliveries WHERE seen_at < ?", ("2000",))
            return new

        await store.engine.run(first)
        await store.row("SELECT * FROM people WHERE user_id = ?", (1,))

    try:
        return await rate(one, n)
    finally:
        await store.close()


async def async_psycopg(url: str, n: int, round_: int) -> tuple[float, float]:
    pool = AsyncConnectionPool(url, min_size=10, max_size=10, kwargs={"autocommit": True},
                               open=False)
    await pool.open(wait=True)

    async def one(i: int) -> None:
        async with pool.connection() as conn, conn.transaction():
            cur = conn.cursor()
            await cur.execute("INSERT INTO deliveries VALUES (%s, %s) ON CONFLICT DO NOTHING",
                              (f"a{round_}:{i}", NOW))
            await cur.execute("DELETE FROM deliveries WHERE seen_at < %s", ("2000",))
        async with pool.connection() as conn:
            cur = conn.cursor()
            await cur.execute("SELECT * FROM people WHERE user_id = %s", (1,))
            await cur.fetchall()

    try:
        return await rate(one, n)
    finally:
        await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    server = bench_server()
    try:
        url = server.create_database()
        store = await Store.open(url, migrate=True)
        # the table of update ids the store kept before the inbox replaced it: the work
        # measured stays the same two statements across versions
        await store.write("CREATE TABLE deliveries (update_id TEXT PRIMARY KEY,"
                          " seen_at TEXT NOT NULL)")
        await store.close()
        results: dict[str, list[tuple[float, float]]] = {"sync API in threads (ours)": [],
                                                         "async API": []}
        for round_ in range(3):
            results["sync API in threads (ours)"].append(await ours(url, args.n, round_))
            results["async API"].append(await async_psycopg(url, args.n, round_))
    finally:
        server.stop()
    print(f"{args.n} iterations (a 2-statement transaction + a read), {AT_ONCE} at once, "
          "pool of 10")
    for name, rounds in results.items():
        shown = ", ".join(f"{r:.0f}/s {c:.2f} ms CPU" for r, c in rounds)
        print(f"  {name:<28} {shown}")


if __name__ == "__main__":
    asyncio.run(main())
