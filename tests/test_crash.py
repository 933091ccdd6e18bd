"""No lost press: `python -m bot run` killed (SIGKILL) between Telegram's acknowledgement
and the handling of an update, and between the handling and the reply; after a restart
each press is stored exactly once and answered once."""

from __future__ import annotations

import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.i18n import t
from bot.models import Lang
from tests.botrun import PROCESS_ADMIN, TOKEN, BotProcess
from tests.fake_bot_api import FakeBotApi
from tests.test_telegram import drill_started, option_buttons, reply_after, texts_to

ADMIN = PROCESS_ADMIN


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


def query(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(tmp_path / "coach.db")
    try:
        return [tuple(r) for r in db.execute(sql).fetchall()]
    finally:
        db.close()


def acknowledged(api: FakeBotApi, update_id: int) -> bool:
    """Telegram was told the update arrived: a later getUpdates asked for what follows it."""
    return any(int(c.params.get("offset") or 0) > update_id for c in api.calls("getUpdates"))


def answered(api: FakeBotApi, message_id: int) -> bool:
    """The question was edited into its feedback: its option buttons are gone."""
    markup = api.message(ADMIN, message_id).get("reply_markup") or {}
    return not any(b["callback_data"].startswith("a:")
                   for row in markup.get("inline_keyboard", []) for b in row)


async def test_a_press_survives_sigkill_after_the_ack_and_after_the_handling(
        api: FakeBotApi, tmp_path: Path) -> None:
    bot, payloads, first_question = await drill_started(api, tmp_path)

    # 1. Killed after the acknowledgement, before the handling: the press waits behind the
    # same person's /help, whose reply Telegram never carries out.
    api.hold("sendMessage")
    helped = await api.send_text(ADMIN, "/help")
    await api.wait_for(lambda _: api.held["sendMessage"] == 1, timeout=60)
    await api.send_callback(ADMIN, payloads[0], first_question)
    press_update = helped + 1
    await api.wait_for(lambda _: acknowledged(api, press_update), timeout=60)
    await bot.stop(signal.SIGKILL)
    api.release("sendMessage", carry_out=False)
    assert query(tmp_path, "SELECT COUNT(*) FROM answers") == [(0,)]
    assert query(tmp_path, f"SELECT update_id, state FROM inbox WHERE update_id >= {helped}"
                 ) == [(helped, "done"), (press_update, "new")]
    sent_before = len(texts_to(api, ADMIN))

    bot = BotProcess(api, tmp_path, COACH_LOG_LEVEL="INFO")
    await bot.start()
    after = await reply_after(api, ADMIN, sent_before, count=2)  # /help's reply, question 2
    assert after[0].startswith(t("help", Lang.ZH)[:20]) and "2/3" in after[1]
    assert query(tmp_path, "SELECT COUNT(*) FROM answers") == [(1,)]
    await api.wait_for(lambda _: answered(api, first_question))  # question 1 became its feedback

    # 2. Killed after the handling (the answer stored), before the reply reached Telegram.
    payloads, second_question = option_buttons(api, ADMIN)
    api.hold("sendMessage")
    api.hold("editMessageText")
    await api.send_callback(ADMIN, payloads[0], second_question)
    await api.wait_for(lambda _: api.held["sendMessage"] + api.held["editMessageText"] >= 1
                       and query(tmp_path, "SELECT COUNT(*) FROM answers") == [(2,)],
                       timeout=60)
    await bot.stop(signal.SIGKILL)
    api.release("sendMessage", carry_out=False)
    api.release("editMessageText", carry_out=False)
    sent_before = len(texts_to(api, ADMIN))

    bot = BotProcess(api, tmp_path, COACH_LOG_LEVEL="INFO")
    await bot.start()
    try:
        after = await reply_after(api, ADMIN, sent_before)
        assert "3/3" in after[0]
        await api.wait_for(lambda _: answered(api, second_question))
        # Telegram delivers the press again (as it does for an update it thinks unread):
        # it is finished, so nothing more happens
        raw = next(c.response["result"][0] for c in api.calls("getUpdates")  # type: ignore[index]
                   if c.response and c.response.get("result") and
                   c.response["result"][0].get("callback_query", {}).get("message", {}).get(
                       "message_id") == second_question)
        await api.send_update(raw)
        await api.send_text(ADMIN, "/help")  # handled after the redelivery (same person)
        await reply_after(api, ADMIN, sent_before + 1)
    finally:
        assert await bot.stop() == 0, bot.stderr[-2000:]
    texts = texts_to(api, ADMIN)
    assert sum("2/3" in x for x in texts) == 1 and sum("3/3" in x for x in texts) == 1
    assert sum(x.startswith(t("help", Lang.ZH)[:20]) for x in texts) == 2  # two /help, once each
    assert query(tmp_path, "SELECT position FROM answers ORDER BY position") == [(0,), (1,)]
    assert query(tmp_path, "SELECT DISTINCT state FROM inbox") == [("sent",)]
    assert query(tmp_path, "SELECT COUNT(*) FROM inbox WHERE body IS NOT NULL") == [(0,)]
    assert "Traceback" not in bot.stderr
