"""Supervisor reports on a large history: /items, /summary (with the chart) and /export.

Builds a database of TEAMS teams of SIZE staff plus the 4-person demo-sized team
"small", each person drilling 3 questions on ~85% of working days for 90 days
(answers written straight into the tables), then times each report as a
supervisor or administrator asks for it through the real assistant.

Run from the repo root: .venv/bin/python bench/report_bench.py [--teams 10] [--size 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
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
from bot.knowledge import load  # noqa: E402
from bot.models import Inbound  # noqa: E402
from bot.schedule import is_working_day  # noqa: E402
from bot.store import Store  # noqa: E402

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 16:00 in Shanghai
ADMIN = 1


def fill(db: Path, library: Library, teams: dict[str, int]) -> int:
    """People, drills and answers for 90 days; the number of answers written."""
    rng = random.Random(7)
    items = list(library.kb.items.values())
    versions = {c.id: c.version for c in library.kb.cards.values()}
    conn = sqlite3.connect(db)
    uid, drill_id, answers = 100, 0, []
    stamp = (NOW - timedelta(days=120)).isoformat(timespec="seconds")
    for team, size in teams.items():
        conn.execute("INSERT INTO teams VALUES (?, ?)", (team, stamp))
        for _ in range(size):
            uid += 1
            conn.execute("INSERT INTO people (user_id, name, roles, created_at, team)"
                         " VALUES (?, ?, 'staff', ?, ?)", (uid, f"员工{uid}", stamp, team))
            skill = rng.uniform(0.5, 0.95)
            for days_ago in range(90, 0, -1):
                day = NOW - timedelta(days=days_ago)
                if not is_working_day(day.date()) or rng.random() > 0.85:
                    continue
                drill_id += 1
                chosen = rng.sample(items, 3)
                conn.execute("INSERT INTO drills VALUES (?, ?, ?, ?, ?, 3, ?)",
                             (drill_id, uid, day.isoformat(timespec="seconds"),
                              day.isoformat(timespec="seconds"),
                              json.dumps([[i.id, [o.id for o in i.options]] for i in chosen]), 0))
                for n, item in enumerate(chosen):
                    right = rng.random() < skill
                    pick = item.correct.id if right else rng.choice(
                        [o.id for o in item.options if not o.correct])
                    answers.append((uid, drill_id, n, item.id, item.card_id,
                                    versions[item.card_id], pick, item.correct.id, int(right),
                                    (day + timedelta(minutes=n)).isoformat(timespec="seconds")))
    conn.executemany("INSERT INTO answers (user_id, drill_id, position, item_id, card_id,"
                     " card_version, chosen, correct_option, is_correct, answered_at)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", answers)
    conn.execute("INSERT INTO topic_state SELECT user_id, card_id, MIN(answered_at),"
                 " MAX(answered_at), MAX(CASE WHEN is_correct = 1 THEN answered_at END),"
                 " MAX(card_version), COUNT(*), SUM(is_correct) FROM answers"
                 " GROUP BY user_id, card_id")
    conn.commit()
    conn.close()
    return len(answers)


async def timed(assistant: Assistant, text: str, repeat: int = 3) -> tuple[float, int]:
    """Best of `repeat` wall-clock times (ms) of one command, and the bytes it replied."""
    best, size = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        replies = await assistant.handle(Inbound(ADMIN, "Admin", text=text))
        best = min(best, (time.perf_counter() - start) * 1000)
        size = sum(len(r.text.encode()) + len(r.data) for r in replies)
    return best, size


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--size", type=int, default=200)
    args = parser.parse_args()
    library = Library.build(load(ROOT / "knowledge"))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        await (await Store.open(db)).close()
        teams = {"small": 4, **{f"T{n}": args.size for n in range(args.teams)}}
        start = time.perf_counter()
        rows = fill(db, library, teams)
        print(f"{sum(teams.values())} people, {rows} answers over 90 days "
              f"(filled in {time.perf_counter() - start:.1f} s)")
        settings = replace(load_settings({}, env_file=Path(tmp) / "none"), db=db,
                           admins=frozenset({ADMIN}))
        assistant = Assistant(settings, await Store.open(db), library, lambda: NOW)
        await assistant.start()
        await assistant.handle(Inbound(ADMIN, "Admin", text="/start"))
        try:
            print(f"{'command':<22} {'ms (best of 3)':>15} {'bytes':>10}")
            for command in ("/items small 30d", "/items T0 90d", "/items 7d", "/items 90d",
                            "/summary small 30d", "/summary T0 30d", "/export small",
                            "/export T0"):
                ms, size = await timed(assistant, command)
                print(f"{command:<22} {ms:>15.0f} {size:>10}")
        finally:
            await assistant.store.close()


if __name__ == "__main__":
    asyncio.run(main())
