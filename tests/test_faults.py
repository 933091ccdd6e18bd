"""Bot API faults, redelivered updates and reloads: nothing lost, nothing counted twice."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.adapters.telegram import Retry
from bot.config import Settings
from bot.i18n import t
from bot.models import Lang
from tests.botrun import TOKEN, running_bot
from tests.cards import REAL_CARDS, REAL_KB
from tests.conftest import ADMIN
from tests.fake_bot_api import FakeBotApi


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN, timeout_delay=7.0) as server:
        yield server


def sends(api: FakeBotApi, chat_id: int) -> list[str]:
    return api.sent_texts(chat_id)


async def start(api: FakeBotApi) -> None:
    await api.send_text(ADMIN, "/start", first_name="Admin")
    await api.wait_for(lambda _: len(sends(api, ADMIN)) >= 1, timeout=60)


@pytest.mark.parametrize("kind", ["429", "500", "502"])
async def test_send_is_retried_after_429_and_5xx(api: FakeBotApi, settings: Settings,
                                                kind: str) -> None:
    async with running_bot(api, settings):
        await start(api)
        api.fail_next("sendMessage", kind, times=1, retry_after=1)
        await api.send_text(ADMIN, "客户说这个月多扣了手续费，怎么跟他解释")
        await api.wait_for(lambda _: any("手续费争议" in t for t in sends(api, ADMIN)), timeout=60)
        failed = [c for c in api.calls("sendMessage") if c.fault == kind]
        assert len(failed) == 1
        assert sum("手续费争议" in t for t in sends(api, ADMIN)) == 1


async def test_timed_out_send_is_not_repeated(api: FakeBotApi, settings: Settings) -> None:
    """Telegram delivered it although the client timed out; sending again would duplicate."""
    async with running_bot(api, settings):
        await start(api)
        api.fail_next("sendMessage", "timeout", times=1)
        await api.send_text(ADMIN, "客户说这个月多扣了手续费，怎么跟他解释")
        await api.wait_for(lambda _: any("手续费争议" in t for t in sends(api, ADMIN)), timeout=60)
        await api.wait_for_call("sendMessage", count=3, timeout=60)  # the error notice follows
        assert sum("手续费争议" in t for t in sends(api, ADMIN)) == 1
        assert sends(api, ADMIN)[-1] == t("error", Lang.ZH)


async def test_flood_wait_past_the_budget_gives_up_and_tells_the_person(
        api: FakeBotApi, settings: Settings) -> None:
    """Telegram asks for 31 s: more than the 30 s a call may wait in all, so no retry."""
    async with running_bot(api, settings):
        await start(api)
        api.fail_next("sendMessage", "429", retry_after=31)
        await api.send_text(ADMIN, "客户说这个月多扣了手续费，怎么跟他解释")
        await api.wait_for(lambda _: len(sends(api, ADMIN)) >= 2, timeout=60)
        assert sends(api, ADMIN)[1:] == [t("error", Lang.ZH)]
        assert [c.fault for c in api.calls("sendMessage")] == [None, "429", None]


async def test_at_most_four_tries_then_the_person_is_told(api: FakeBotApi,
                                                       settings: Settings) -> None:
    async with running_bot(api, settings, retry=Retry(backoff=(0.0,))):
        await start(api)
        api.fail_next("sendMessage", "500", times=4)
        await api.send_text(ADMIN, "客户说这个月多扣了手续费，怎么跟他解释", language_code="en")
        await api.wait_for(lambda _: len(sends(api, ADMIN)) >= 2, timeout=60)
        assert sum(c.fault == "500" for c in api.calls("sendMessage")) == 4
        assert sends(api, ADMIN)[1:] == [t("error", Lang.EN)]


async def drill_answer_payload(bot_assistant: object, api: FakeBotApi) -> tuple[str, int]:
    """The first option button of the last drill question sent, and its message id."""
    for call in reversed(api.calls("sendMessage")):
        markup = call.params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if button["callback_data"].startswith("a:"):
                    return button["callback_data"], call.response["result"]["message_id"]  # type: ignore[index]
    raise AssertionError(api.dump())


async def answers(bot: object) -> int:
    store = bot.assistant.store  # type: ignore[attr-defined]
    row = await store.row("SELECT COUNT(*) FROM answers")
    return int(row[0])


async def test_answer_is_stored_even_when_every_send_fails(api: FakeBotApi,
                                                          settings: Settings) -> None:
    async with running_bot(api, settings) as bot:
        await start(api)
        await api.send_text(ADMIN, "/drill")
        await api.wait_for(lambda _: any("小测 1/3" in t for t in sends(api, ADMIN)), timeout=60)
        payload, message_id = await drill_answer_payload(bot, api)
        api.fail_next("sendMessage", "500", times=30)
        api.fail_next("editMessageText", "500", times=30)
        await api.send_callback(ADMIN, payload, message_id)
        await api.wait_for(lambda calls: sum(c.fault == "500" for c in calls) >= 4, timeout=30)
        assert await answers(bot) == 1


async def test_redelivered_updates_change_nothing(api: FakeBotApi, settings: Settings) -> None:
    async with running_bot(api, settings) as bot:
        await start(api)
        await api.send_text(ADMIN, "/drill")
        await api.wait_for(lambda _: any("小测 1/3" in t for t in sends(api, ADMIN)), timeout=60)
        payload, message_id = await drill_answer_payload(bot, api)
        await api.send_callback(ADMIN, payload, message_id)
        await api.wait_for(lambda _: any("小测 2/3" in t for t in sends(api, ADMIN)), timeout=60)
        assert await answers(bot) == 1
        update = next(c for c in api.calls("getUpdates")
                      if c.response and any("callback_query" in u
                                            for u in c.response.get("result", [])))
        raw = next(u for u in update.response["result"] if "callback_query" in u)  # type: ignore[index]
        before = len(api.calls("sendMessage"))
        await api.send_update(raw)  # the same update_id again, as after a crash
        await api.send_text(ADMIN, "/help")
        await api.wait_for(lambda _: len(api.calls("sendMessage")) > before, timeout=60)
        assert await answers(bot) == 1
        assert not any("已经记录" in t for t in sends(api, ADMIN))


async def test_reload_keeps_old_cards_when_the_new_set_is_broken(
        api: FakeBotApi, settings: Settings, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(REAL_KB, kb)
    async with running_bot(api, replace(settings, knowledge=kb)):
        await start(api)
        fee = kb / "complaints" / "dispute.fee.yaml"
        fee.write_text(fee.read_text(encoding="utf-8").replace("section: complaints",
                                                               "section: nowhere"), "utf-8")
        await api.send_text(ADMIN, "/reload")
        await api.wait_for(lambda _: any("section" in t and "nowhere" not in t or "问题" in t
                                         for t in sends(api, ADMIN)[1:]), timeout=60)
        notice = sends(api, ADMIN)[-1]
        assert "dispute.fee: section: expected one of" in notice
        await api.send_text(ADMIN, "客户说这个月多扣了手续费，怎么跟他解释")
        await api.wait_for(lambda _: "手续费争议" in sends(api, ADMIN)[-1], timeout=60)
        fee.write_text(fee.read_text(encoding="utf-8").replace("section: nowhere",
                                                               "section: complaints"), "utf-8")
        await api.send_text(ADMIN, "/reload")
        await api.wait_for(lambda _: str(REAL_CARDS) in sends(api, ADMIN)[-1], timeout=60)


async def test_bad_request_is_not_retried(api: FakeBotApi, settings: Settings) -> None:
    async with running_bot(api, settings):
        await start(api)
        api.fail_next("sendMessage", "400")
        await api.send_text(ADMIN, "客户说这个月多扣了手续费，怎么跟他解释")
        await api.wait_for(lambda calls: sum(c.fault == "400" for c in calls) == 1, timeout=60)
        await api.send_text(ADMIN, "/help")  # the bot keeps running
        await api.wait_for(lambda _: "/drill" in sends(api, ADMIN)[-1], timeout=60)
        assert sum(c.fault == "400" for c in api.calls("sendMessage")) == 1
        assert not any("手续费争议" in t for t in sends(api, ADMIN))
