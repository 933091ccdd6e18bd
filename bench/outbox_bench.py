"""The 09:00 plan: everyone's invitation queued at once, then drained at the global rate.

N people, all reminded at 09:00 on a working day, on SQLite and on a throwaway PostgreSQL
(tests/pg_server.py, fsync on). Measures: the 09:00 tick that claims and queues every
invitation (one transaction), the 09:01 tick that finds them all claimed (what each minute
costs until 18:00), and the store's side of draining: three senders (three Stores, as three
instances) claiming and marking rows as fast as the database lets them (fake clock moved
ahead of every slot; the Bot API call replaced by nothing), so the database's headroom over
COACH_PUSH_RATE shows. The drain itself is paced: N / rate seconds, whatever the machine.

Run from the repo root: .venv/bin/python bench/outbox_bench.py [--people 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.telegram_push import PushSender  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.models import Reply  # noqa: E402
from bot.store import Store, Tx  # noqa: E402
from bot.training import Training  # noqa: E402
from tests.pg_server import ThrowawayPostgres, find_bin  # noqa: E402

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
DRAIN = 6000  # rows drained by the three senders


async def fill(store: Store, people: int) -> None:
    def work(tx: Tx) -> None:
        tx.many("INSERT INTO people (user_id, name, roles, created_at) VALUES (?, ?, 'staff', ?)",
                [(u, f"p{u}", NOW.isoformat()) for u in range(1, people + 1)])

    await store.transaction(work)


async def run(db: Path | str, people: int, rate: int) -> dict[str, Any]:
    settings = replace(load_settings({}, env_file=Path("/nonexistent")), db=db)
    stores = [await Store.open(db, pool=4, migrate=True) for _ in range(3)]
    try:
        await fill(stores[0], people)
        training = Training(settings, stores[0], lambda: None)  # type: ignore[arg-type,return-value]
        t0 = time.perf_counter()
        queued = len(await training.invitations(NOW))
        tick = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = len(await training.invitations(NOW + timedelta(minutes=1)))
        tick_after = time.perf_counter() - t0

        clock = [NOW]
        calls = [0]

        async def count(chat: int, reply: Reply) -> None:
            calls[0] += 1

        senders = [PushSender(store, count, f"i{n}", rate, timedelta(seconds=60),
                              lambda: clock[0]) for n, store in enumerate(stores)]
        t0 = time.perf_counter()
        while calls[0] < min(DRAIN, queued):
            clock[0] += timedelta(seconds=1)  # every held slot is due: the database's pace
            for sender in senders:
                await sender.step()
            for sender in senders:
                await sender.settle()
        sent = calls[0]
        drain = time.perf_counter() - t0
        return {"queued": queued, "again": again, "tick": tick, "tick_after": tick_after,
                "drained": sent, "drain": drain}
    finally:
        for s in stores:
            await s.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=25)
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = await run(Path(tmp) / "c.db", args.people, args.rate)
    bin_dir = find_bin()
    if bin_dir is not None:
        server = ThrowawayPostgres(bin_dir, fsync=True).start()
        try:
            url = server.create_database()
            results["postgresql"] = await run(url, args.people, args.rate)
        finally:
            server.stop()
    print(f"people {args.people}, all reminded at 09:00; COACH_PUSH_RATE {args.rate}")
    for name, r in results.items():
        print(f"{name:<11} 09:00 tick queues {r['queued']} in {r['tick']:.2f} s; 09:01 tick "
              f"({r['again']} new) {r['tick_after']:.2f} s; store side of sending: "
              f"{r['drained']} rows by 3 senders in {r['drain']:.2f} s = "
              f"{r['drained'] / r['drain']:.0f} rows/s ({1000 * r['drain'] / r['drained']:.2f}"
              f" ms a push)")
    minutes = args.people / args.rate / 60
    print(f"drain at {args.rate}/s: {minutes:.0f} min for everyone at 09:00; reminder times "
          f"spread evenly over 2 hours ({args.people / 120:.0f} a minute, capacity "
          f"{args.rate * 60} a minute): each within a minute of its time"
          if args.people / 120 <= args.rate * 60 else "")


if __name__ == "__main__":
    asyncio.run(main())
