"""The daily plan at scale: 5,000 people x 40 topics x a year of history.

Fills a real store (SQLite file) with a year's derived state — topic_state for every
person and topic, spaced items for the ones they missed — then times, through the real
code: the 09:00 invitation tick for everyone, and for every person choosing a drill
and computing /due. Answers themselves are not needed: planning reads the state
tables that each answer updates (see bot/store/training.py).

Run from the repo root: .venv/bin/python bench/schedule_bench.py [--people 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answers import Library  # noqa: E402
from bot.assistant import Assistant  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.drills import choose  # noqa: E402
from bot.knowledge import load  # noqa: E402
from bot.store import Store, Tx  # noqa: E402

NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


async def fill(store: Store, people: int, cards: list, rng: random.Random) -> None:
    topics = []
    items = []
    for uid in range(1, people + 1):
        for card in cards:
            first = NOW - timedelta(days=rng.randint(200, 365))
            last = NOW - timedelta(days=rng.randint(0, 199))
            passed = last - timedelta(days=rng.randint(0, 60)) if rng.random() < 0.8 else None
            n = rng.randint(3, 12)
            topics.append((uid, card.id, first.isoformat(), last.isoformat(),
                           passed.isoformat() if passed else None,
                           card.version if passed else None, n, rng.randint(0, n)))
            if rng.random() < 0.1:
                item = rng.choice(card.drills)
                due = NOW + timedelta(days=rng.randint(-5, 20))
                items.append((uid, item.id, card.id, rng.randint(1, 5), due.isoformat()))
    def work(tx: Tx) -> None:
        tx.many("INSERT INTO people (user_id, name, roles, created_at) VALUES (?, ?, 'staff', ?)",
                [(uid, f"员工{uid}", (NOW - timedelta(days=400)).isoformat())
                 for uid in range(1, people + 1)])
        tx.many("INSERT INTO topic_state VALUES (?, ?, ?, ?, ?, ?, ?, ?)", topics)
        tx.many("INSERT INTO item_state VALUES (?, ?, ?, ?, ?)", items)

    await store.transaction(work)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=5000)
    args = parser.parse_args()
    library = Library.build(load(ROOT / "knowledge"))
    cards = list(library.kb.cards.values())
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(load_settings({}, env_file=Path(tmp) / "none"), db=Path(tmp) / "c.db")
        store = await Store.open(settings.db)
        t0 = time.perf_counter()
        await fill(store, args.people, cards, rng)
        filled = time.perf_counter() - t0
        assistant = Assistant(settings, store, library, lambda: NOW)
        await assistant.start()

        t0 = time.perf_counter()
        pushes = await assistant.tick(NOW)
        tick = time.perf_counter() - t0

        t0 = time.perf_counter()
        due_total = chosen_total = 0
        training = assistant.training
        for uid in range(1, args.people + 1):
            statuses = await training.statuses(uid, NOW)
            spaced = (await store.drill_history(uid, NOW)).spaced
            chosen_total += len(choose(cards, statuses, spaced, set(), NOW, 3, rng))
            due_total += len(await training.due_list(uid, NOW, statuses))
        plan = time.perf_counter() - t0
        await store.close()
    print(f"people {args.people}, topics {len(cards)}; state rows filled in {filled:.1f} s")
    print(f"09:00 invitation tick for everyone: {tick:.2f} s ({len(pushes)} invitations)")
    print(f"choose a drill and compute /due for everyone: {plan:.2f} s "
          f"({1000 * plan / args.people:.2f} ms a person; {chosen_total} items, "
          f"{due_total} due topics)")


if __name__ == "__main__":
    asyncio.run(main())
