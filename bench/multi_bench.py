"""Several instances: one on SQLite vs one and three on PostgreSQL, same people, same updates.

load_bench.py's staff (each starts, does a 3-question drill, asks 5 questions; all at once,
in their own process with the fake Bot API, 20 ms added to every Bot API call) against
`python -m bot run` processes in webhook mode: the staff process POSTs each update to an
instance, a person's updates to each instance in turn (tests.botrun.Webhooks, a load
balancer). One instance on a SQLite file; one and three on a throwaway PostgreSQL on this
machine (tests/pg_server.py, fsync on). Per update: CPU of the bot processes and of the
PostgreSQL server (from /proc), store use cases and PostgreSQL round trips (each instance
prints its engine's counters when sent SIGUSR1). Words-only matching (COACH_EMBEDDINGS=off)
everywhere: three copies of the embedding model do not fit beside each other here, and the
model's cost per question is the same on every layout.

Run from the repo root: .venv/bin/python bench/multi_bench.py [--people 200] [--latency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from db_bench import fresh_pg, print_rounds, server_cpu, tree_cpu  # noqa: E402
from load_bench import TOKEN, staff  # noqa: E402
from outbox_bench import NOW, fill  # noqa: E402

from bot.store import Store  # noqa: E402
from tests.botrun import Webhooks  # noqa: E402
from tests.pg_server import ThrowawayPostgres, bench_server, free_port  # noqa: E402


def instance() -> int:
    """`--instance`: `python -m bot run`, printing its store's counters on SIGUSR1."""
    from bot.adapters.telegram_run import TelegramBot
    from bot.config import load_settings
    from bot.logs import setup_logging

    settings = load_settings()
    setup_logging(settings.log_level, settings.secret_values())
    bot = TelegramBot(settings)

    def counters(*_: object) -> None:
        engine: Any = bot.assistant.store.engine if bot.assistant else None
        print(json.dumps({"calls": getattr(engine, "trips", 0),
                          "round_trips": getattr(engine, "round_trips", 0)}), flush=True)

    signal.signal(signal.SIGUSR1, counters)
    return bot.run()


class Instance:
    """One bot process in webhook mode."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--instance", cwd=ROOT, env=self.env,
                stdout=asyncio.subprocess.PIPE, stderr=log)

    async def counters(self) -> dict[str, int]:
        assert self.proc is not None and self.proc.stdout is not None
        self.proc.send_signal(signal.SIGUSR1)
        return dict(json.loads(await asyncio.wait_for(self.proc.stdout.readline(), 30)))

    def cpu(self) -> float:
        assert self.proc is not None
        return tree_cpu(self.proc.pid)

    async def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        if await asyncio.wait_for(self.proc.wait(), 60) != 0:
            sys.exit(f"an instance failed:\n{self.log.read_text()[-3000:]}")


async def snapshot(bots: list[Instance], server: ThrowawayPostgres | None) -> dict[str, float]:
    calls = [await b.counters() for b in bots]
    return {"bot_cpu": sum(b.cpu() for b in bots),
            "db_cpu": server_cpu(server) if server else 0.0,
            "calls": sum(c["calls"] for c in calls),
            "round_trips": sum(c["round_trips"] for c in calls)}


async def run(people: int, latency: float, db: Path | str, n: int,
              server: ThrowawayPostgres | None) -> dict[str, Any]:
    """`n` instances on `db` under the staff's load; the staff's figures and the costs."""
    ports = [free_port() for _ in range(n)]
    hooks = Webhooks(ports)
    with tempfile.TemporaryDirectory() as tmp:
        async with staff(people, latency, True, True, webhooks=ports) as (api, go):
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
                   "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": api.url,
                   "TELEGRAM_BASE_FILE_URL": api.file_url, "COACH_DB": str(db),
                   "COACH_ADMINS": ",".join(str(10_000 + k) for k in range(people)),
                   "COACH_KNOWLEDGE": str(ROOT / "knowledge"), "COACH_EMBEDDINGS": "off",
                   "COACH_LOG_LEVEL": "WARNING", "COACH_DB_POOL": str(10 if n == 1 else 6)}
            bots = [Instance({**env, **hooks.env(port)}, Path(tmp) / f"bot{port}.log")
                    for port in ports]
            for bot in bots:
                await bot.start()
            async with hooks:
                await hooks.ready()
            before = await snapshot(bots, server)
            result = await go()
            after = await snapshot(bots, server)
            for bot in bots:
                await bot.stop()
    store = await Store.open(db)
    answers = await store.rows("SELECT COUNT(*), COUNT(DISTINCT drill_id || ':' || position)"
                               " FROM answers")
    await store.close()
    return {**result, **{k: after[k] - before[k] for k in after}, "answers": tuple(answers[0])}


async def load(args: argparse.Namespace, server: ThrowawayPostgres) -> None:
    rounds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    latency = args.latency / 1000
    for k in range(args.rounds):  # interleaved, so a slow spell of the machine hits all
        for layout in args.layouts.split(","):
            n, engine = int(layout[-1]), layout[:-1]
            with tempfile.TemporaryDirectory() as tmp:
                db = Path(tmp) / f"c{k}.db" if engine == "sqlite" else await fresh_pg(server)
                rounds[f"{n} × {'SQLite' if engine == 'sqlite' else 'PostgreSQL'}"].append(
                    await run(args.people, latency, db, n, server if engine == "pg" else None))
    print(f"people: {args.people}; Bot API latency {args.latency:g} ms; webhook mode; "
          f"median of {args.rounds} rounds by updates/s; everything on this machine's "
          f"{os.cpu_count()} cores (instances, staff + fake Bot API process, PostgreSQL)")
    print("reply = sent -> reply arrived, as the person sees it (median / p99 ms); cpu = ms "
          "per update: all bot processes, database server; store = use cases per update; "
          "trips = PostgreSQL round trips per update")
    print_rounds(rounds, args.people, "layout", ("bot_cpu", "db_cpu", "calls"))


class Clock:
    """The bench's time, moved by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def plan(server: ThrowawayPostgres, people: int, rate: int, sample: int) -> None:
    """The 09:00 plan (outbox_bench.py has the same on both engines, and the senders'
    headroom): `people` staff on PostgreSQL, all reminded at 09:00. Measured here: the
    whole minute tick that queues their invitations (and the next minute's, with nothing
    left to queue), instance and server CPU apart; the senders' database work per push
    (claim_outbox and push_sent) at three points of the drain. Computed: the drain at
    `rate`, and what spreading people's reminder times gives."""
    from bot.answers import Library
    from bot.assistant import Assistant
    from bot.config import load_settings
    from bot.knowledge import load as load_cards

    url = await fresh_pg(server)
    store = await Store.open(url)
    at = NOW  # Monday 09:00 in Shanghai
    await fill(store, people)
    settings = replace(load_settings({}, env_file=Path("/nonexistent")), db=url,
                       knowledge=ROOT / "knowledge", embeddings="off")
    clock = Clock(at)
    assistant = Assistant(settings, store, Library.build(load_cards(settings.knowledge)), clock)
    await assistant.start()
    ticks = []
    for minute in (0, 1):
        clock.at = at + timedelta(minutes=minute)
        wall, cpu, db = time.perf_counter(), time.process_time(), server_cpu(server)
        queued = len(await assistant.tick(clock.at))
        ticks.append((queued, time.perf_counter() - wall, time.process_time() - cpu,
                      server_cpu(server) - db))
    # the senders' side: claim a second's worth, mark each sent; time moves a second a
    # round. At three points of the drain: the rows before it marked sent in one statement.
    costs = []
    for done in (0.0, 0.5, 0.9):  # (at 0 % the server also vacuums the 100,000 new rows)
        await store.write("UPDATE outbox SET state = 'sent', sent_at = ?, body = NULL"
                          " WHERE state = 'queued' AND id <= (SELECT MIN(id) FROM outbox) + ?",
                          (clock.at.isoformat(), int(done * people)))
        wall, cpu, db, sent = time.perf_counter(), time.process_time(), server_cpu(server), 0
        while sent < sample:
            claimed = await store.claim_outbox("bench", clock.at, rate, rate,
                                               timedelta(minutes=1))
            for row in claimed:
                await store.push_sent(row.row, clock.at)
            sent += len(claimed)
            clock.at += timedelta(seconds=1)
        costs.append((done, (time.perf_counter() - wall) / sent,
                      (time.process_time() - cpu) / sent, (server_cpu(server) - db) / sent))
    await store.close()
    print(f"\nThe 09:00 plan: {people:,} people on PostgreSQL (fsync on), all reminded at 09:00")
    for (queued, w, c, d), name in zip(ticks, ("09:00 tick", "09:01 tick"), strict=True):
        print(f"  {name}: {queued:>7,} invitations queued in {w:6.2f} s (instance CPU {c:.2f} s,"
              f" server CPU {d:.2f} s)")
    print(f"  senders' database work per push (claim_outbox + push_sent, {sample} pushes; "
          "the Bot API call not included), by how much of the backlog is sent:")
    for done, w, c, d in costs:
        print(f"    {100 * done:3.0f} % sent: {1000 * w:6.2f} ms wall, {1000 * c:5.2f} ms "
              f"instance CPU, {1000 * d:5.2f} ms server CPU; one sender could pace "
              f"{1 / w:5.0f} pushes/s")
    print(f"  drain at COACH_PUSH_RATE={rate}/s (computed; the rate is the limit, not the work): "
          f"{people / rate / 60:.1f} min")
    print("  reminder times spread over W minutes, one group a minute from 09:00 (computed, "
          f"FIFO at {rate}/s): last sent after 09:00 | wait from a person's own time median / p99")
    for spread in (1, 30, 60, 90, 120):
        waits, last = stagger(people, spread, rate)
        print(f"    W = {spread:>3} min: last at +{last / 60:5.1f} min | wait "
              f"{waits[len(waits) // 2] / 60:5.1f} / {waits[int(0.99 * (len(waits) - 1))] / 60:5.1f} min")


def stagger(people: int, minutes: int, rate: int) -> tuple[list[float], float]:
    """People's reminder times in `minutes` equal groups, one a minute; pushes sent first
    come first at `rate`: each person's wait (s) from their own time, and the last send."""
    free, waits = 0.0, []
    for n in range(people):
        due = 60.0 * (n * minutes // people)
        free = max(free, due) + 1 / rate
        waits.append(free - due)
    return sorted(waits), free


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--latency", type=float, default=20.0, help="ms per Bot API call")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each; the median counts")
    parser.add_argument("--layouts", default="sqlite1,pg1,pg3",
                        help="engine and number of instances, comma-separated")
    parser.add_argument("--plan-people", type=int, default=100_000,
                        help="people in the 09:00 plan (0: skip it)")
    parser.add_argument("--rate", type=int, default=25, help="COACH_PUSH_RATE for the plan")
    parser.add_argument("--load", action=argparse.BooleanOptionalAction, default=True,
                        help="run the load part")
    parser.add_argument("--instance", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    server = bench_server()
    try:
        if args.load:
            await load(args, server)
        if args.plan_people:
            await plan(server, args.plan_people, args.rate, sample=500)
    finally:
        server.stop()


if __name__ == "__main__":
    if "--instance" in sys.argv:
        sys.exit(instance())
    asyncio.run(main())
