"""Load: 200 simulated staff through the real Application against the fake Bot API.

Each person starts, does a 3-question drill and asks 5 questions, all people at
once. The same run drives a bare python-telegram-bot echo bot (PTB defaults; one
reply per update, and a button press answered as well) against the same fake
server with the same updates: the framework's floor. A second echo row is the
text-only mix the first version of this benchmark used (no drill, 6 updates a
person). Neither has a rate limiter. Ours runs twice: with its default number of
updates handled at once (COACH_CONCURRENT_UPDATES) and one at a time.
Handling time is update received -> replies handed to the Bot API client (the
adapter's whole on_update, sends included).

--latency MS adds a network round trip to every Bot API call (0: CPU only; the
fake server, the staff and the bot then share one process and one core).

Run from the repo root: .venv/bin/python bench/load_bench.py [--people 200] [--latency 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Bot, Update  # noqa: E402
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bot.adapters.telegram_http import AiohttpRequest  # noqa: E402
from bot.adapters.telegram_run import TelegramBot  # noqa: E402
from bot.config import load_settings  # noqa: E402
from tests.botrun import Webhooks, running_bot  # noqa: E402
from tests.fake_bot_api import FakeBotApi  # noqa: E402

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"
QUESTIONS = ["客户说手续费多扣了", "cust angry abt atm fee wat do i do", "老人要转钱到安全账户",
             "客人說利息少咗", "客户手机丢了，手机银行怎么办"]


class CountingApi(FakeBotApi):
    """The fake Bot API with this bench's token (`next_message` wakes a simulated person)."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__(TOKEN, latency=latency)


async def person(api: CountingApi, uid: int, drill: bool, waits: list[float]) -> int:
    """One member of staff; returns how many updates they sent. `waits` gets how long
    each reply took as the person sees it (sent -> the reply's message arrived)."""
    seen = 0

    async def say(text: str) -> dict[str, Any]:
        nonlocal seen
        t0 = time.perf_counter()
        await api.send_text(uid, text)
        got = await api.next_message(uid, seen)
        waits.append(time.perf_counter() - t0)
        seen = len(api.inbox[uid])
        return got

    sent = 0
    await say("/start")
    sent += 1
    if drill:
        last = await say("/drill")
        sent += 1
        for _ in range(3):
            keyboard = last["params"].get("reply_markup", {}).get("inline_keyboard", [])
            payload = keyboard[0][0]["callback_data"] if keyboard else "x"
            t0 = time.perf_counter()
            await api.send_callback(uid, payload, last["message"]["message_id"])
            sent += 1
            # feedback, then the next question (or the score)
            while True:
                last = await api.next_message(uid, seen)
                seen += 1
                text = last["params"].get("text", "")
                if "/3" in text:
                    break
            waits.append(time.perf_counter() - t0)
    for q in QUESTIONS:
        await say(q if drill else f"echo {q}")
        sent += 1
    return sent


async def measure(api: CountingApi, people: int, drill: bool) -> dict[str, Any]:
    waits: list[float] = []
    before = len(api.calls())
    start = time.perf_counter()
    counts = await asyncio.gather(*(person(api, 10_000 + n, drill, waits)
                                    for n in range(people)))
    waits.sort()
    calls = api.calls()[before:]
    return {"elapsed": time.perf_counter() - start, "updates": sum(counts),
            "calls": len(calls), "polls": sum(c.method == "getUpdates" for c in calls),
            "wait_p50": 1000 * statistics.median(waits),
            "wait_p99": 1000 * waits[int(0.99 * (len(waits) - 1))]}


@asynccontextmanager
async def staff(people: int, latency: float, drill: bool, apart: bool,
                webhooks: list[int] | None = None,
                ) -> AsyncIterator[tuple[Any, Callable[[], Awaitable[dict[str, Any]]]]]:
    """The fake Bot API and the simulated staff: (its address, start them and wait).
    `apart`: in their own process, as Telegram and the phones are, so that only the bot's
    own work is on the bot's process; else in the bot's process (and on its core).
    `webhooks`: ports of instances in webhook mode (tests.botrun.Webhooks) to POST each
    update to, a person's to each in turn, instead of answering getUpdates."""
    if not apart:
        assert webhooks is None
        api = CountingApi(latency)
        async with api:
            yield api, lambda: measure(api, people, drill)
        return
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--staff-child", "--people", str(people), "--latency",
        str(latency * 1000), *([] if drill else ["--text-only"]),
        *(["--webhooks", ",".join(map(str, webhooks))] if webhooks else []), cwd=ROOT,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    url, file_url = (await child.stdout.readline()).decode().split()

    async def go() -> dict[str, Any]:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(b"go\n")
        await child.stdin.drain()
        return dict(json.loads(await child.stdout.readline()))

    try:
        yield SimpleNamespace(url=url, file_url=file_url), go
    finally:
        child.stdin.close()  # the bot has stopped polling: the server may go
        await child.wait()


async def staff_child(people: int, latency: float, drill: bool, webhooks: str) -> None:
    api = CountingApi(latency)
    async with api, Webhooks([int(p) for p in webhooks.split(",") if p]) as hooks:
        if webhooks:
            api.deliver = hooks.post
        print(api.url, api.file_url, flush=True)
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, sys.stdin.readline):
            return  # closed without a "go": only the server was wanted
        print(json.dumps(await measure(api, people, drill)), flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)


async def timed(go: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """The staff's result, plus the CPU this process spent meanwhile."""
    cpu = time.process_time()
    result = await go()
    return {**result, "cpu": time.process_time() - cpu}


# When each Bot API call of the update being handled was handed to the client.
HANDED: ContextVar[list[float] | None] = ContextVar("handed", default=None)
_do_request = AiohttpRequest.do_request


async def _noting_do_request(self: AiohttpRequest, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
    marks = HANDED.get()
    if marks is not None:  # tasks the update starts (edits, the button answer) share the list
        marks.append(time.perf_counter())
    return await _do_request(self, *args, **kwargs)


AiohttpRequest.do_request = _noting_do_request  # type: ignore[method-assign]


def pcts(values: list[float]) -> tuple[float, float]:
    """Median and p99, in ms."""
    values = sorted(values)
    return 1000 * statistics.median(values), 1000 * values[int(0.99 * (len(values) - 1))]


async def run_ours(people: int, latency: float, concurrent: int, apart: bool) -> dict[str, Any]:
    whole: list[float] = []  # on_update, start to end (waits for Telegram's answers too)
    handed: list[float] = []  # start -> the last reply handed to the Bot API client

    class Timed(TelegramBot):
        async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            marks: list[float] = []
            token = HANDED.set(marks)
            t0 = time.perf_counter()
            try:
                await super().on_update(update, context)
            finally:
                HANDED.reset(token)
            end = time.perf_counter()
            whole.append(end - t0)
            handed.append((max(marks) if marks else end) - t0)

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "coach.db"
        settings = replace(load_settings({}, env_file=Path(tmp) / "none"), token=TOKEN, db=db,
                           knowledge=ROOT / "knowledge",
                           admins=frozenset(10_000 + n for n in range(people)),
                           concurrent_updates=concurrent)
        async with staff(people, latency, True, apart) as (api, go), \
                running_bot(api, settings, Timed):
            result = await timed(go)
        con = sqlite3.connect(db)
        answers = con.execute("SELECT COUNT(*), COUNT(DISTINCT drill_id || ':' || position)"
                              " FROM answers").fetchone()
        questions = con.execute("SELECT COUNT(*) FROM questions").fetchone()[0]
        con.close()
    return {**result, "answers": answers, "questions": questions,
            "whole": pcts(whole), "handed": pcts(handed)}


async def run_echo(people: int, latency: float, drill: bool, apart: bool) -> dict[str, Any]:
    """The bare echo bot."""
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query:
            await update.callback_query.answer()
            await context.bot.send_message(update.callback_query.message.chat.id,  # type: ignore[union-attr]
                                           "1/3")
        elif update.message and update.message.text:
            await update.message.reply_text(update.message.text)

    async with staff(people, latency, drill, apart) as (api, go):
        builder = ApplicationBuilder().token(TOKEN).base_url(api.url).base_file_url(api.file_url)
        app: Application = builder.build()
        app.add_handler(TypeHandler(Update, echo))
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        result = await timed(go)
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    return result


async def client_costs(calls: int = 2000, at_once: int = 16) -> None:
    """CPU of one sendMessage in the bot's process, per client; the fake server runs in
    its own process here so that its work is not counted."""
    async with staff(0, 0.0, False, apart=True) as (api, _):
        print(f"Bot API client, {calls} sendMessage calls, {at_once} at once:")
        for name, request in (("httpx (PTB default)", HTTPXRequest(connection_pool_size=256)),
                              ("aiohttp (ours)", AiohttpRequest())):
            async with Bot(TOKEN, base_url=api.url, request=request) as bot:
                await bot.send_message(1, "warm up")
                cpu, wall = time.process_time(), time.perf_counter()

                async def sender(chat: int) -> None:
                    for _ in range(calls // at_once):
                        await bot.send_message(chat, "hello")

                await asyncio.gather(*(sender(1000 + k) for k in range(at_once)))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"  {name:<20} {calls / wall:7.0f} calls/s  {1000 * cpu / calls:.2f} ms CPU a call")
        print()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.0, help="ms per Bot API call")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each bot; the median counts")
    parser.add_argument("--one-process", action="store_true",
                        help="fake server and staff in the bot's process (the old layout)")
    parser.add_argument("--staff-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--text-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--webhooks", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    latency, apart = args.latency / 1000, not args.one_process
    if args.staff_child:
        return await staff_child(args.people, latency, not args.text_only, args.webhooks)
    await client_costs()
    default = load_settings({}, env_file=Path("/nonexistent")).concurrent_updates
    bots: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
        "echo": lambda: run_echo(args.people, latency, True, apart),
        "echo text-only": lambda: run_echo(args.people, latency, False, apart),
        f"ours ({default} at once)": lambda: run_ours(args.people, latency, default, apart),
        "ours (1 at once)": lambda: run_ours(args.people, latency, 1, apart)}
    rounds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _ in range(args.rounds):  # interleaved, so a slow spell of the machine hits all
        for name, run in bots.items():
            rounds[name].append(await run())
    # each bot's median round by throughput
    runs = {name: sorted(rs, key=lambda r: r["updates"] / r["elapsed"])[len(rs) // 2]
            for name, rs in rounds.items()}
    rate = {name: r["updates"] / r["elapsed"] for name, r in runs.items()}
    print(f"people: {args.people}; Bot API latency {args.latency:g} ms; no rate limiter; "
          f"fake server and staff {'in their own process' if apart else 'in the bot process'}; "
          f"median of {args.rounds} rounds")
    print("cpu = the bot process's CPU per update (with the server's when in one process); "
          "handling = update received -> last reply handed to the Bot API client, median / "
          "p99 ms; whole = on_update start to end, Telegram's answers awaited too; reply = sent "
          "-> reply arrived, as the person sees it, median / p99 ms")
    print(f"{'bot':<18} {'updates':>8} {'updates/s':>10} {'x echo':>7} {'x text-only':>12} "
          f"{'cpu ms':>7} {'handling':>14} {'whole':>14} {'reply':>12}")
    for name, r in runs.items():
        handling = (f"{r['handed'][0]:.1f} / {r['handed'][1]:.1f}" if "handed" in r else "-")
        whole = (f"{r['whole'][0]:.1f} / {r['whole'][1]:.1f}" if "whole" in r else "-")
        reply = f"{r['wait_p50']:.0f} / {r['wait_p99']:.0f}"
        spread = "/".join(f"{x['updates'] / x['elapsed']:.0f}" for x in rounds[name])
        print(f"{name:<18} {r['updates']:>8} {rate[name]:>10.1f} "
              f"{rate[name] / rate['echo']:>7.2f} {rate[name] / rate['echo text-only']:>12.2f} "
              f"{1000 * r['cpu'] / r['updates']:>7.2f} {handling:>14} {whole:>14} {reply:>12}"
              f"  ({spread})")
    for name, rs in rounds.items():
        for r in rs:
            if "answers" in r:
                total, distinct = r["answers"]
                print(f"{name}: drill answers stored {total} (distinct {distinct}, expected "
                      f"{3 * args.people}); questions logged {r['questions']} "
                      f"(expected {5 * args.people})")


if __name__ == "__main__":
    asyncio.run(main())
