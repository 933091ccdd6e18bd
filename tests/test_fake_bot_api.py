"""The fake Bot API, driven by a real python-telegram-bot client on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, InvalidToken, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from tests.fake_bot_api import FakeBotApi

TOKEN = "123456:TEST-TOKEN"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


def make_bot(api: FakeBotApi, token: str = TOKEN, read_timeout: float = 5.0) -> Bot:
    return Bot(token, base_url=api.url, base_file_url=api.file_url,
               request=HTTPXRequest(read_timeout=read_timeout))


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with make_bot(api) as b:
        yield b


async def test_get_me(bot: Bot, api: FakeBotApi) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot, me.first_name) == (777, "CoachTestBot", True, "Coach")
    assert api.calls("getMe")


async def test_send_message_records_inline_keyboard(bot: Bot, api: FakeBotApi) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    first = await bot.send_message(42, "hello", reply_markup=markup)
    second = await bot.send_message(42, "123")
    call = api.calls("sendMessage")[0]
    assert call.params["chat_id"] == 42
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    assert first.reply_markup == markup and first.chat.type == "private"
    assert second.message_id == first.message_id + 1 and isinstance(first.date.year, int)
    assert api.sent_texts(42) == ["hello", "123"]


async def test_callback_and_edit(bot: Bot, api: FakeBotApi) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(42, "pick", reply_markup=markup)
    await api.send_callback(42, "a", sent.message_id)
    (update,) = await bot.get_updates(timeout=1)
    assert update.callback_query is not None and update.callback_query.data == "a"
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == sent.message_id
    assert await update.callback_query.answer()
    edited = await bot.edit_message_text("done", chat_id=42, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.text == "done" and edited.reply_markup is None
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("done", chat_id=42, message_id=sent.message_id)


async def test_send_document_records_bytes(bot: Bot, api: FakeBotApi) -> None:
    msg = await bot.send_document(42, b"a,b\n1,2\n", filename="report.csv", caption="log")
    (call,) = api.calls("sendDocument")
    assert call.files["document"] == ("report.csv", b"a,b\n1,2\n")
    assert call.params["caption"] == "log" and call.params["chat_id"] == 42
    assert msg.document is not None and msg.document.file_name == "report.csv"
    photo = await bot.send_photo(42, b"\x89PNG fake", filename="chart.png")
    assert api.calls("sendPhoto")[0].files["photo"] == ("chart.png", b"\x89PNG fake")
    assert photo.photo


async def test_get_updates_long_poll_and_offset(bot: Bot, api: FakeBotApi) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5, allowed_updates=["message"]))
    await asyncio.sleep(0.2)
    assert not poll.done()
    started = time.monotonic()
    update_id = await api.send_text(42, "/start now")
    (update,) = await poll
    assert time.monotonic() - started < 1
    assert update.update_id == update_id and update.message is not None
    assert update.message.text == "/start now" and update.message.chat.id == 42
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/start")
    assert api.calls("getUpdates")[0].params["allowed_updates"] == ["message"]
    assert await bot.get_updates(offset=update_id, timeout=0) != ()  # not confirmed yet
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
    # Re-delivering a confirmed update_id: delivered once more, then confirmed again.
    await api.send_update({"update_id": update_id, "message": update.message.to_dict()})
    (dup,) = await bot.get_updates(offset=update_id + 1, timeout=0)
    assert dup.update_id == update_id
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()


async def test_group_message(bot: Bot, api: FakeBotApi) -> None:
    await api.send_text(42, "hi all", chat_id=-1001)
    (update,) = await bot.get_updates(timeout=0)
    assert update.effective_chat is not None
    assert (update.effective_chat.id, update.effective_chat.type) == (-1001, "group")
    assert update.effective_user is not None and update.effective_user.id == 42


async def test_fail_next_429_raises_retry_after(bot: Bot, api: FakeBotApi) -> None:
    api.fail_next("sendMessage", "429", retry_after=3)
    with pytest.raises(RetryAfter, match="Retry in 3"):
        await bot.send_message(42, "hi")
    await bot.send_message(42, "hi")
    assert [c.fault for c in api.calls("sendMessage")] == ["429", None]
    assert api.sent_texts(42) == ["hi"]


async def test_fail_next_409_on_get_updates(bot: Bot, api: FakeBotApi) -> None:
    api.fail_next("getUpdates", "409")
    with pytest.raises(Conflict):
        await bot.get_updates(timeout=0)


async def test_timeout_still_delivers_and_stop_does_not_hang(api: FakeBotApi) -> None:
    api.fail_next("sendMessage", "timeout")  # default delay 30 s
    async with make_bot(api, read_timeout=0.3) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(42, "once")
        await bot.send_message(42, "once")  # the retry a bot would make
    assert api.sent_texts(42) == ["once", "once"]
    started = time.monotonic()
    await api.stop()
    assert time.monotonic() - started < 3


async def test_wrong_token_is_unauthorized(api: FakeBotApi) -> None:
    with pytest.raises(InvalidToken):
        await make_bot(api, token="999:WRONG").get_me()


async def test_unknown_method_and_raw_bodies(api: FakeBotApi) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api.url}{TOKEN}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404,
                                         "description": "Not Found"}
        markup = '{"inline_keyboard": [[{"text": "B", "callback_data": "b"}]]}'
        async with http.post(f"{api.url}{TOKEN}/sendMessage",
                             data={"chat_id": "7", "text": "form", "reply_markup": markup}) as r:
            assert (await r.json())["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "B"
        async with http.post(f"{api.url}{TOKEN}/sendMessage",
                             json={"chat_id": 7, "text": "json"}) as r:
            assert (await r.json())["result"]["message_id"] == 2
    assert api.sent_texts(7) == ["form", "json"]
    with pytest.raises(TimeoutError, match="sendMessage"):
        await api.wait_for_call("sendMessage", count=3, timeout=0.1)
