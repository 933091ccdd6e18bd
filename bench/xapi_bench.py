"""What xAPI reporting costs: on the answer (statements made and queued in the answer's
transaction) and in sending (the outbox drained to a real LRS, Ralph, in batches).

Each person does one 3-question drill through the real assistant and store (a SQLite
file), once with xAPI off and once on; then the outbox is sent to Ralph on 127.0.0.1
(tests/lrs.py installs it under .cache/ on first use).

Run from the repo root: .venv/bin/python bench/xapi_bench.py [--people 300] [--batch 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.xapi_sender import XapiSender  # noqa: E402
from bot.answers import Library  # noqa: E402
from bot.assistant import Assistant  # noqa: E402
from bot.config import Settings, load_settings  # noqa: E402
from bot.knowledge import load  # noqa: E402
from bot.models import Inbound, Role  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.lrs import PASSWORD, USER, Lrs, install  # noqa: E402

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


async def drills(settings: Settings, library: Library, people: int) -> list[float]:
    """Seconds per answer (the press, stored with its statements, and the reply)."""
    assistant = Assistant(settings, await Store.open(settings.db), library, lambda: NOW)
    await assistant.start()
    times = []
    try:
        for uid in range(1, people + 1):
            await assistant.store.upsert_person(uid, f"P{uid}", {Role.STAFF}, NOW)
            replies = await assistant.handle(Inbound(uid, text="/drill"))
            for _ in range(settings.drill_size):
                payload = next(b.payload for r in replies for row in r.buttons for b in row
                               if b.payload.startswith("a:"))
                start = time.perf_counter()
                replies = await assistant.handle(Inbound(uid, callback=payload))
                times.append(time.perf_counter() - start)
    finally:
        await assistant.store.close()
    return times


async def main(people: int, batch: int) -> None:
    library = Library.build(load(ROOT / "knowledge"))
    base = load_settings({}, env_file=Path("/nonexistent"))
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        off = await drills(replace(base, db=tmp / "off.db"), library, people)
        lrs = Lrs(tmp / "ralph")
        on_settings = replace(base, db=tmp / "on.db", xapi_endpoint=lrs.endpoint, xapi_user=USER,
                              xapi_password=PASSWORD, xapi_homepage="https://coach.bank.example",
                              xapi_batch=batch)
        on = await drills(on_settings, library, people)
        for name, t in (("xAPI off", off), ("xAPI on", on)):
            t = sorted(t)
            print(f"{name}: {len(t)} answers, median {statistics.median(t) * 1000:.2f} ms,"
                  f" p99 {t[int(len(t) * 0.99)] * 1000:.2f} ms")
        why = install()
        if why:
            print(f"no LRS: {why}")
            return
        lrs.start()
        store = await Store.open(on_settings.db)
        sender = XapiSender(on_settings, store)
        try:
            queued = (await store.outbox_status()).queued
            start = time.perf_counter()
            done = await sender.drain()
            took = time.perf_counter() - start
            print(f"sent {done.sent} of {queued} statements in batches of {batch}: {took:.2f} s"
                  f" ({done.sent / took:.0f} statements/s)")
        finally:
            await sender.stop()
            await store.close()
            lrs.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.people, args.batch))
