"""Through the real adapter and the fake Bot API: a button answered too late for Telegram,
forged numbers, commands for another bot, an invite code posted in a group."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.i18n import t
from bot.models import Lang
from tests.botrun import TOKEN, running_bot
from tests.conftest import ADMIN
from tests.fake_bot_api import FakeBotApi

TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
FORGED = ["a:999999999999999999999999999999:0:a", "dym:99999999999999999999:0",
          "fb:99999999999999999999:up", "a:-1:0:a", "a:1:99999999999999999999:a",
          "dym:１２:0", "fb:²:up", "a:٣:0:a"]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


def texts(api: FakeBotApi, chat_id: int = ADMIN) -> list[str]:
    return api.sent_texts(chat_id)


async def say(api: FakeBotApi, text: str, user: int = ADMIN, count: int = 1,
              **kwargs: object) -> list[str]:
    """Send a message and wait for `count` more texts to that chat."""
    chat = kwargs.get("chat_id") or user
    assert isinstance(chat, int)
    before = len(texts(api, chat))
    await api.send_text(user, text, **kwargs)  # type: ignore[arg-type]
    await api.wait_for(lambda _: len(texts(api, chat)) >= before + count, timeout=60)
    return texts(api, chat)[before:]


def last_buttons(api: FakeBotApi, chat_id: int = ADMIN) -> tuple[list[str], int]:
    for call in reversed([c for c in api.calls("sendMessage")
                          if c.ok and c.params.get("chat_id") == chat_id]):
        rows = (call.params.get("reply_markup") or {}).get("inline_keyboard", [])
        if rows:
            return ([b["callback_data"] for row in rows for b in row],
                    int(call.response["result"]["message_id"]))  # type: ignore[index]
    raise AssertionError(api.dump())


async def test_a_press_answered_too_late_is_handled_and_not_an_error(
        api: FakeBotApi, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with running_bot(api, settings):
        await say(api, "/start")
        await say(api, "/drill")
        payloads, message_id = last_buttons(api)
        api.fail_next("answerCallbackQuery", "400", description=TOO_OLD)
        await api.send_callback(ADMIN, payloads[0], message_id)
        await api.wait_for(lambda _: any("2/3" in x for x in texts(api)), timeout=60)
        await say(api, "/help")  # the press (and any error notice) comes first: same person
        assert t("error", Lang.ZH) not in texts(api)
        late = [r for r in caplog.records if "too late" in r.getMessage()]
        assert [r.levelno for r in late] == [logging.INFO]
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

        # a real failure of the same call still reaches the error handler
        payloads, message_id = last_buttons(api)
        api.fail_next("answerCallbackQuery", "400")  # chat not found
        await api.send_callback(ADMIN, payloads[0], message_id)
        await api.wait_for(lambda _: t("error", Lang.ZH) in texts(api), timeout=60)
        assert any(r.levelno == logging.ERROR for r in caplog.records)


async def test_forged_numbers_get_the_normal_replies(
        api: FakeBotApi, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """Ids past what SQLite stores, negative, in other scripts: the stale-button or usage
    reply, never the error handler (they raised OverflowError before)."""
    async with running_bot(api, settings):
        await say(api, "/start")
        message_id = 1  # the greeting: a message of the bot's to press a forged button on
        for payload in FORGED:
            before = len(texts(api))
            await api.send_callback(ADMIN, payload, message_id)
            await api.wait_for(lambda _, n=before: len(texts(api)) > n, timeout=60)
            assert texts(api)[-1] == t("stale_button", Lang.ZH), payload
        for command, usage in [("/remove 99999999999999999999", "remove_usage"),
                               ("/remove -5", "remove_usage"),
                               ("/move 99999999999999999999 A", "move_usage"),
                               ("/pause 99999999999999999999", "pause_usage"),
                               ("/pause ٣", "pause_usage"), ("/remind ١٢:٣٠", "remind_usage")]:
            assert await say(api, command) == [t(usage, Lang.ZH)], command
        assert t("error", Lang.ZH) not in texts(api)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_invites_only_for_this_bot_and_only_in_private(
        api: FakeBotApi, settings: Settings) -> None:
    async with running_bot(api, settings) as bot:
        assert bot.assistant is not None
        store = bot.assistant.store
        await say(api, "/start")
        await say(api, "/team add A")
        code = re.findall(r"/start (\S+)", (await say(api, "/invite A staff"))[0])[0]
        # a private command for another bot is not ours: ignored, the code stays unused
        await api.send_text(301, f"/start@OtherBot {code}")
        joined = await say(api, f"/start@CoachTestBot {code}", user=301, count=2)
        assert "A" in joined[0] and texts(api, 301) == joined
        # an enrolled person posts a code in a group: not redeemed, no welcome there
        code = re.findall(r"/start (\S+)", (await say(api, "/invite A supervisor"))[0])[0]
        shown = await say(api, f"/start {code}", user=301, chat_id=-1001)
        assert shown == [t("private_only", Lang.ZH)]
        assert (await store.rows("SELECT used_by FROM invites WHERE code = ?", (code,))
                )[0][0] is None
        person = await store.person(301)
        assert person is not None and not person.supervises
