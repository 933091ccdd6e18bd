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
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from db_bench import fresh_pg, server_cpu, tree_cpu  # noqa: E402
from load_bench import TOKEN, staff  # noqa: E402

from bot.store import Store  # noqa: E402
from tests.botrun import Webhooks  # noqa: E402
from tests.pg_server import ThrowawayPostgres, find_bin, free_port  # noqa: E402


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
        with tempfile.TemporaryDirectory() as tmp:
            rounds["1 × SQLite"].append(
                await run(args.people, latency, Path(tmp) / f"c{k}.db", 1, None))
        rounds["1 × PostgreSQL"].append(
            await run(args.people, latency, await fresh_pg(server), 1, server))
        rounds["3 × PostgreSQL"].append(
            await run(args.people, latency, await fresh_pg(server), 3, server))
    print(f"people: {args.people}; Bot API latency {args.latency:g} ms; webhook mode; "
          f"median of {args.rounds} rounds by updates/s; everything on this machine's "
          f"{os.cpu_count()} cores (instances, staff + fake Bot API process, PostgreSQL)")
    print("reply = sent -> reply arrived, as the person sees it (median / p99 ms); cpu = ms "
          "per update: all bot processes, database server; store = use cases per update; "
          "trips = PostgreSQL round trips per update")
    print(f"{'layout':<15} {'updates':>7} {'updates/s':>9} {'reply ms':>13} {'bot cpu':>8} "
          f"{'db cpu':>7} {'store':>6} {'trips':>6}")
    for name, rs in rounds.items():
        r = sorted(rs, key=lambda x: x["updates"] / x["elapsed"])[len(rs) // 2]
        u = r["updates"]
        spread = "/".join(f"{x['updates'] / x['elapsed']:.0f}" for x in rs)
        trips = f"{r['round_trips'] / u:.1f}" if r["round_trips"] else "-"
        print(f"{name:<15} {u:>7} {u / r['elapsed']:>9.1f} "
              f"{r['wait_p50']:>5.0f} / {r['wait_p99']:<5.0f} {1000 * r['bot_cpu'] / u:>8.2f} "
              f"{1000 * r['db_cpu'] / u:>7.2f} {r['calls'] / u:>6.2f} {trips:>6}  ({spread})")
        print(f"  drill answers stored (all, distinct) per round: "
              f"{sorted({x['answers'] for x in rs})}; expected {3 * args.people}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--latency", type=float, default=20.0, help="ms per Bot API call")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each; the median counts")
    parser.add_argument("--instance", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    bin_dir = find_bin()
    if bin_dir is None:
        sys.exit("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
    server = ThrowawayPostgres(bin_dir, fsync=True).start()
    try:
        await load(args, server)
    finally:
        server.stop()


if __name__ == "__main__":
    if "--instance" in sys.argv:
        sys.exit(instance())
    asyncio.run(main())
