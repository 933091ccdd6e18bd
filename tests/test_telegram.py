"""The real python-telegram-bot application against the fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.adapters.telegram import split_text
from tests.botrun import PROCESS_ADMIN, ROOT, BotProcess
from tests.cards import REAL_KB, card, write_cards
from tests.fake_bot_api import FakeBotApi

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"
ADMIN = PROCESS_ADMIN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN, timeout_delay=2.0) as server:
        yield server


def long_kb(tmp_path: Path) -> Path:
    """The real cards plus one whose text is longer than a Telegram message."""
    kb = tmp_path / "kb"
    shutil.copytree(REAL_KB, kb)
    steps = [f"步骤说明第{n}行：" + "核对" * 45 for n in range(80)]
    long = card("long.card", steps={"zh": steps, "en": steps})
    write_cards(kb, long)
    return kb


def texts_to(api: FakeBotApi, chat_id: int) -> list[str]:
    return api.sent_texts(chat_id)


async def reply_after(api: FakeBotApi, chat_id: int, before: int, count: int = 1) -> list[str]:
    await api.wait_for(lambda _: len(texts_to(api, chat_id)) >= before + count, timeout=60)
    return texts_to(api, chat_id)[before:]


def last_markup(api: FakeBotApi, chat_id: int) -> dict[str, object]:
    sends = [c for c in api.calls("sendMessage") if c.params.get("chat_id") == chat_id]
    for call in reversed(sends):
        if call.params.get("reply_markup"):
            return call.params["reply_markup"]  # type: ignore[no-any-return]
    raise AssertionError("no keyboard sent")


async def test_polling_end_to_end(api: FakeBotApi, tmp_path: Path) -> None:
    bot = BotProcess(api, tmp_path, COACH_KNOWLEDGE=str(long_kb(tmp_path)))
    await bot.start()
    try:
        await api.wait_for_call("setMyCommands", count=2, timeout=30)
        langs = sorted(str(c.params.get("language_code", "")) for c in api.calls("setMyCommands"))
        assert langs == ["", "zh"]

        await api.send_text(ADMIN, "/start", first_name="Admin")
        greeting = await reply_after(api, ADMIN, 0)
        assert "Counter Coach" in greeting[0] and "/drill" in greeting[0]

        n = len(texts_to(api, ADMIN))
        await api.send_text(ADMIN, "客户说这个月多扣了手续费，怎么跟他解释")
        answer = await reply_after(api, ADMIN, n)
        assert answer[0].startswith("<b>手续费争议</b>")

        n = len(texts_to(api, ADMIN))
        await api.send_text(ADMIN, "利息")  # vague: did you mean …
        await reply_after(api, ADMIN, n)
        markup = last_markup(api, ADMIN)
        buttons = [b for row in markup["inline_keyboard"] for b in row]  # type: ignore[index]
        assert 1 <= len(buttons) <= 3
        dym = [c for c in api.calls("sendMessage") if c.params.get("chat_id") == ADMIN][-1]
        message_id = dym.response["result"]["message_id"]  # type: ignore[index]
        n = len(texts_to(api, ADMIN))
        await api.send_callback(ADMIN, buttons[0]["callback_data"], message_id)
        shown = await reply_after(api, ADMIN, n)
        assert shown[0].startswith(f"<b>{buttons[0]['text']}</b>")
        await api.wait_for_call("answerCallbackQuery")
        await api.wait_for_call("editMessageText")  # runs alongside the new card's send
        edited = api.message(ADMIN, message_id)
        assert "reply_markup" not in edited  # pressed message edited: cannot be pressed twice

        n = len(texts_to(api, ADMIN))
        await api.send_text(ADMIN, "/card long.card full")
        await api.wait_for(lambda _: "不要争辩" in texts_to(api, ADMIN)[-1], timeout=60)
        parts = texts_to(api, ADMIN)[n:]
        assert len(parts) >= 2 and all(len(p) <= 4096 for p in parts)
        assert all(line.startswith(("<b>", "步骤", "Steps", "")) for p in parts
                   for line in p.split("\n"))
        assert "long title" not in parts[1]

        n = len(texts_to(api, ADMIN))
        await api.send_sticker(ADMIN)
        assert "文字" in (await reply_after(api, ADMIN, n))[0]

        answered = len(api.calls("answerCallbackQuery"))
        n = len(texts_to(api, ADMIN))
        await api.send_callback(ADMIN, "a:999:0:z", message_id)  # forged payload
        assert "过期" in (await reply_after(api, ADMIN, n))[0] or "结束" in texts_to(api, ADMIN)[-1]
        await api.wait_for(lambda _: len(api.calls("answerCallbackQuery")) > answered)
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.stderr[-2000:]
    assert TOKEN not in bot.stderr and TOKEN.split(":")[1] not in bot.stderr
    assert "DEBUG" in bot.stderr  # the log really ran at DEBUG
    assert "Traceback" not in bot.stderr
    assert "Warning" not in bot.stderr


def test_a_long_reply_is_split_at_line_breaks_and_nothing_is_lost() -> None:
    lines = [f"第{n}步：" + "核对客户身份并说明手续费" * (n % 9 + 1) for n in range(400)]
    text = "\n".join(lines)[:10_000]
    parts = split_text(text)
    assert len(text) == 10_000 and len(parts) == 3
    assert all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text  # every line break between parts is the one split at
    whole = set(text.split("\n"))
    assert all(line in whole for p in parts for line in p.split("\n"))  # no line cut


def test_a_single_line_longer_than_a_message_is_cut_hard() -> None:
    text = "核" * 10_000
    parts = split_text(text)
    assert [len(p) for p in parts] == [4096, 4096, 1808] and "".join(parts) == text


async def test_rejected_token_one_line_and_never_logged(api: FakeBotApi, tmp_path: Path) -> None:
    wrong = "999999:WRONG-TOKEN-abcdefghijklmnopqrstuvw"
    bot = BotProcess(api, tmp_path, TELEGRAM_BOT_TOKEN=wrong)
    await bot.start()
    code = await bot.wait_exit()
    assert code == 2
    assert wrong not in bot.stderr and "WRONG-TOKEN" not in bot.stderr
    assert bot.stderr.strip().splitlines()[-1].startswith("counter-coach: TELEGRAM_BOT_TOKEN")


async def test_second_instance_conflict_stops_cleanly(api: FakeBotApi, tmp_path: Path) -> None:
    bot = BotProcess(api, tmp_path, COACH_LOG_LEVEL="INFO")
    await bot.start()
    await api.wait_for_call("getUpdates", timeout=30)
    api.fail_next("getUpdates", "409", times=50)
    code = await bot.wait_exit()
    assert code == 1
    assert bot.stderr.count("409 Conflict") == 1
    assert "Traceback" not in bot.stderr


async def test_webhook_checks_secret_and_has_health(api: FakeBotApi, tmp_path: Path) -> None:
    port = free_port()
    # Telegram calls the public HTTPS URL; TLS ends at the load balancer, which forwards
    # the same path to the bot's listener.
    bot = BotProcess(api, tmp_path, COACH_WEBHOOK_URL="https://coach.bank.example/tg/hook",
                     COACH_WEBHOOK_LISTEN="127.0.0.1", COACH_WEBHOOK_PORT=str(port),
                     COACH_WEBHOOK_SECRET="s3cret-value")
    await bot.start()
    try:
        await api.wait_for_call("setWebhook", timeout=30)
        assert api.webhook["url"] == "https://coach.bank.example/tg/hook"
        assert api.webhook["secret_token"] == "s3cret-value"

        def get(path: str) -> int:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                    return int(r.status)
            except urllib.error.HTTPError as err:
                return int(err.code)

        async def health() -> int:
            for _ in range(100):
                try:
                    return await asyncio.to_thread(get, "/healthz")
                except OSError:
                    await asyncio.sleep(0.2)
            raise AssertionError("webhook server never came up")

        assert await health() == 200

        def post(secret: str | None) -> int:
            update = {"update_id": 1, "message": {
                "message_id": 1, "date": 0, "chat": {"id": ADMIN, "type": "private"},
                "from": {"id": ADMIN, "is_bot": False, "first_name": "Admin"}, "text": "/start"}}
            req = urllib.request.Request(f"http://127.0.0.1:{port}/tg/hook",
                                         data=json.dumps(update).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            if secret:
                req.add_header("X-Telegram-Bot-Api-Secret-Token", secret)
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    return int(r.status)
            except urllib.error.HTTPError as err:
                return int(err.code)

        assert await asyncio.to_thread(post, None) == 403
        assert await asyncio.to_thread(post, "wrong") == 403
        await asyncio.sleep(0.5)
        assert texts_to(api, ADMIN) == []
        assert await asyncio.to_thread(post, "s3cret-value") == 200
        greeting = await reply_after(api, ADMIN, 0)
        assert "Counter Coach" in greeting[0]
    finally:
        code = await bot.stop()
    assert code == 0, bot.stderr[-2000:]
    assert "s3cret-value" not in bot.stderr


def option_buttons(api: FakeBotApi, chat_id: int) -> tuple[list[str], int]:
    """Payloads of the last drill question's options, and that message's id."""
    for call in reversed([c for c in api.calls("sendMessage")
                          if c.params.get("chat_id") == chat_id]):
        rows = (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
        payloads = [b["callback_data"] for row in rows for b in row
                    if b["callback_data"].startswith("a:")]
        if payloads:
            return payloads, int(call.response["result"]["message_id"])  # type: ignore[index]
    raise AssertionError(api.dump())


async def drill_started(api: FakeBotApi, tmp_path: Path) -> tuple[BotProcess, list[str], int]:
    """`python -m bot run` with the administrator in a drill: the process, the first
    question's option payloads and its message id."""
    bot = BotProcess(api, tmp_path, COACH_LOG_LEVEL="INFO")
    await bot.start()
    await api.send_text(ADMIN, "/start", first_name="Admin")
    await reply_after(api, ADMIN, 0)
    n = len(texts_to(api, ADMIN))
    await api.send_text(ADMIN, "/drill")
    await reply_after(api, ADMIN, n)
    payloads, message_id = option_buttons(api, ADMIN)
    return bot, payloads, message_id


async def test_sigkill_mid_drill_then_restart(api: FakeBotApi, tmp_path: Path) -> None:
    """Killed between answers: after a restart the drill resumes and nothing counts twice."""
    import sqlite3

    bot, payloads, message_id = await drill_started(api, tmp_path)
    await api.send_callback(ADMIN, payloads[0], message_id)
    await api.wait_for(lambda _: any("2/3" in t for t in texts_to(api, ADMIN)), timeout=60)
    await bot.stop(signal.SIGKILL)

    db = sqlite3.connect(tmp_path / "coach.db")
    assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 1
    db.close()

    restarted = BotProcess(api, tmp_path, COACH_LOG_LEVEL="INFO")
    await restarted.start()
    try:
        # the first answer's update delivered again, as Telegram does for unconfirmed ones
        first = [c for c in api.calls("getUpdates") if c.response and any(
            "callback_query" in u for u in c.response.get("result", []))][0]
        raw = next(u for u in first.response["result"] if "callback_query" in u)  # type: ignore[index]
        await api.send_update(raw)
        n = len(texts_to(api, ADMIN))
        await api.send_text(ADMIN, "/drill")  # resumes at question 2
        resumed = await reply_after(api, ADMIN, n, count=2)
        assert any("2/3" in t for t in resumed)
        payloads, message_id = option_buttons(api, ADMIN)
        await api.send_callback(ADMIN, payloads[0], message_id)
        await api.wait_for(lambda _: any("3/3" in t for t in texts_to(api, ADMIN)[n:]),
                           timeout=60)
    finally:
        assert await restarted.stop() == 0
    db = sqlite3.connect(tmp_path / "coach.db")
    rows = db.execute("SELECT position FROM answers ORDER BY position").fetchall()
    db.close()
    assert rows == [(0,), (1,)]


async def test_backup_while_running_restores(api: FakeBotApi, tmp_path: Path) -> None:
    import sqlite3
    import subprocess

    bot = BotProcess(api, tmp_path, COACH_LOG_LEVEL="INFO")
    await bot.start()
    try:
        await api.send_text(ADMIN, "/start", first_name="Admin")
        await reply_after(api, ADMIN, 0)
        await api.send_text(ADMIN, "/team add 柜面一组")
        await reply_after(api, ADMIN, 1)
        copy = tmp_path / "backup" / "coach-copy.db"
        proc = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "bot", "backup", str(copy)], cwd=ROOT,
            env=bot.env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
    finally:
        await bot.stop()
    restored = sqlite3.connect(copy)
    assert restored.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert restored.execute("SELECT name FROM teams").fetchall() == [("柜面一组",)]
    assert restored.execute("SELECT user_id FROM people").fetchall() == [(ADMIN,)]
    restored.close()
    # the restored copy serves a bot: point COACH_DB at it and ask for the team summary
    proc = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot", "report", "--team", "柜面一组"], cwd=ROOT,
        env={**bot.env, "COACH_DB": str(copy)}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "柜面一组" in proc.stdout
