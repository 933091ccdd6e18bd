"""Load on each engine: one instance on SQLite vs one on PostgreSQL, same people, same updates.

load_bench.py's staff (each starts, does a 3-question drill, asks 5 questions; all at once,
in their own process with the fake Bot API) against the real Application, once with
COACH_DB a SQLite file and once a database on a throwaway PostgreSQL server on this machine
(tests/pg_server.py; fsync and synchronous_commit on, as a production server has them).
Per update: the bot process's CPU, the PostgreSQL server's CPU (all its processes, from
/proc), store calls (one use case = one call) and, on PostgreSQL, network round trips
(statements, BEGIN and COMMIT).

Run from the repo root: .venv/bin/python bench/db_bench.py [--people 200] [--latency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_bench import TOKEN, staff, timed  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.botrun import running_bot  # noqa: E402
from tests.pg_server import ThrowawayPostgres, bench_server  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def server_cpu(server: ThrowawayPostgres) -> float:
    """Seconds of CPU used by the server: the postmaster and its backends."""
    return tree_cpu(int((server.dir / "data" / "postmaster.pid").read_text().split()[0]))


def tree_cpu(pid: int) -> float:
    """Seconds of CPU used by a process (with the children it has reaped) and its live
    children, from /proc."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(entry.name) == pid:
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        elif int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / TICK


async def run(people: int, latency: float, db: Path | str,
              server: ThrowawayPostgres | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(load_settings({}, env_file=Path(tmp) / "none"), token=TOKEN, db=db,
                           knowledge=ROOT / "knowledge",
                           admins=frozenset(10_000 + n for n in range(people)))
        async with staff(people, latency, True, True) as (api, go), \
                running_bot(api, settings) as bot:
            assert bot.assistant is not None
            store = bot.assistant.store
            engine: Any = store.engine
            calls, trips = engine.trips, getattr(engine, "round_trips", 0)
            pg_cpu = server_cpu(server) if server else 0.0
            result = await timed(go)
            result["store_calls"] = engine.trips - calls
            result["round_trips"] = getattr(engine, "round_trips", 0) - trips
            result["pg_cpu"] = (server_cpu(server) - pg_cpu) if server else 0.0
            answers = await store.rows("SELECT COUNT(*), COUNT(DISTINCT drill_id || ':' ||"
                                       " position) FROM answers")
            result["answers"] = tuple(answers[0])
    return result


def print_rounds(rounds: dict[str, list[dict[str, Any]]], people: int, label: str,
                 keys: tuple[str, str, str]) -> None:
    """One line per layout: its median round by updates/s, the rounds' spread, and the drill
    answers stored. `keys` name the round's bot CPU, server CPU and use-case counts."""
    bot_cpu, db_cpu, calls = keys
    width = max(len(label), *(len(name) for name in rounds)) + 2
    print(f"{label:<{width}} {'updates':>7} {'updates/s':>9} {'reply ms':>13} {'bot cpu':>8} "
          f"{'db cpu':>7} {'store':>6} {'trips':>6}")
    for name, rs in rounds.items():
        r = sorted(rs, key=lambda x: x["updates"] / x["elapsed"])[len(rs) // 2]
        u = r["updates"]
        spread = "/".join(f"{x['updates'] / x['elapsed']:.0f}" for x in rs)
        trips = f"{r['round_trips'] / u:.1f}" if r["round_trips"] else "-"
        print(f"{name:<{width}} {u:>7} {u / r['elapsed']:>9.1f} "
              f"{r['wait_p50']:>5.0f} / {r['wait_p99']:<5.0f} {1000 * r[bot_cpu] / u:>8.2f} "
              f"{1000 * r[db_cpu] / u:>7.2f} {r[calls] / u:>6.2f} {trips:>6}  ({spread})")
        print(f"  drill answers stored (all, distinct) per round: "
              f"{sorted({str(x['answers']) for x in rs})}; expected {3 * people}")


async def fresh_pg(server: ThrowawayPostgres) -> str:
    url = server.create_database()
    await (await Store.open(url, migrate=True)).close()
    return url


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--latency", type=float, default=20.0, help="ms per Bot API call")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each; the median counts")
    args = parser.parse_args()
    server = bench_server()
    rounds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    try:
        for n in range(args.rounds):  # interleaved, so a slow spell of the machine hits both
            with tempfile.TemporaryDirectory() as tmp:
                rounds["sqlite"].append(
                    await run(args.people, args.latency / 1000, Path(tmp) / f"c{n}.db", None))
            rounds["postgresql"].append(
                await run(args.people, args.latency / 1000, await fresh_pg(server), server))
    finally:
        server.stop()
    print(f"people: {args.people}; Bot API latency {args.latency:g} ms; one instance; "
          f"median of {args.rounds} rounds by updates/s; server on this machine (2 cores "
          "shared by the bot, the staff + fake Bot API process and PostgreSQL)")
    print("reply = sent -> reply arrived, as the person sees it (median / p99 ms); cpu = ms "
          "per update: bot process + database server; store = use cases (calls of the "
          "engine) per update; trips = network round trips per update")
    print_rounds(rounds, args.people, "engine", ("cpu", "pg_cpu", "store_calls"))


if __name__ == "__main__":
    asyncio.run(main())
