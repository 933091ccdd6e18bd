"""Every kind of bad input gets a clear reply or is ignored by design; nothing stored changes."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Bot, Update

from bot.adapters.telegram import to_inbound
from bot.assistant import Assistant
from bot.models import Inbound
from tests.conftest import ADMIN, Chat

pytestmark = pytest.mark.both_engines  # the store's SQL on SQLite and PostgreSQL

TABLES = ("people", "drills", "answers", "topic_state", "item_state", "teams", "invites",
          "supervisors", "pushes")
LONG = ("客户说手续费多扣了" * 500)[:4096]

BAD_TEXT = [
    ("empty", ""),
    ("spaces", "   \t  "),
    ("long 4096", LONG),
    ("emoji only", "😀🙏🏦"),
    ("control chars", "\x00\x07客户\x1b[31m说\x7f手续费"),
    ("zero width", "\u200b\u200c\u200d\ufeff"),
    ("zero width inside", "手\u200b续\u200d费多扣了"),
    ("right to left", "\u202eمرحبا كيف حالك\u202c"),
    ("sql injection", "'; DROP TABLE answers; --"),
    ("sql in command", "/card x' OR '1'='1"),
    ("html injection", "<script>alert(1)</script><b>bold</b>"),
    ("markdown injection", "*bold* _it_ [link](http://evil.example) `code`"),
    ("command unknown", "/doesnotexist"),
    ("command no args", "/card"),
    ("remind malformed", "/remind 25:99"),
    ("pause malformed", "/pause -3"),
    ("lang malformed", "/lang fr"),
    ("summary malformed", "/summary A B C"),
    ("invite missing args", "/invite"),
    ("team malformed", "/team add <b>x</b>"),
    ("move malformed", "/move abc"),
    ("remove malformed", "/remove"),
    ("start bad code", "/start ' OR 1=1 --"),
    ("slash only", "/"),
    ("bot mention command", "/help@SomeOtherBot"),
    ("lone surrogates", "客户\ud800说手续费\udfff多扣了"),  # broken JSON escapes
    ("lone surrogates, no question", "\udc80\udcff"),
]
BAD_BUTTONS = ["", ":", "a", "a:1", "a:x:y:z", "a:99999:0:a", "dym:1:99", "dym:-1:0",
               "fb:1:sideways", "card:../../etc/passwd", "sec:", "leave:no",
               "x" * 64, "a:1:0:a" + "\u0000", "a:1:0:\ud800", "card:\udfff"]


async def snapshot(assistant: Assistant) -> dict[str, list[Any]]:
    """Stored rows; people.last_lang is left out: it follows the language of the last message."""
    out = {}
    for table in TABLES:
        columns = "*" if table != "people" else "user_id, name, lang, roles, team, remind_at"
        found = await assistant.store.rows(f"SELECT {columns} FROM {table} ORDER BY 1")
        out[table] = [tuple(r) for r in found]
    return out


@pytest.fixture
async def seeded(admin: Chat, assistant: Assistant) -> Chat:
    """Some state worth protecting: a team, an invite, a drill with an answer."""
    await admin.say("/team add A")
    await admin.say("/invite A staff")
    await admin.say("/drill")
    option = admin.last[-1].buttons[0][0].payload
    await admin.tap(option)
    return admin


@pytest.mark.parametrize(("name", "text"), BAD_TEXT, ids=[n for n, _ in BAD_TEXT])
async def test_bad_text_gets_a_reply_and_changes_nothing(
        seeded: Chat, assistant: Assistant, name: str, text: str) -> None:
    before = await snapshot(assistant)
    replies = await seeded.say(text)
    assert replies, f"{name}: no reply"
    assert all(r.text or r.title or r.data for r in replies)
    after = await snapshot(assistant)
    if name == "team malformed":
        assert after == before  # refused: "<b>x</b>" is not a team name
    for table in TABLES:
        assert after[table][: len(before[table])] == before[table], f"{name} changed {table}"


@pytest.mark.parametrize("payload", BAD_BUTTONS)
async def test_forged_buttons_are_refused_and_change_nothing(
        seeded: Chat, assistant: Assistant, payload: str) -> None:
    before = await snapshot(assistant)
    replies = await seeded.tap(payload)
    assert len(replies) == 1 and replies[0].text
    assert await snapshot(assistant) == before


async def test_strangers_bad_input_is_counted_not_stored(assistant: Assistant) -> None:
    """Each stranger is told how to join once a day, whatever they send."""
    for n, text in enumerate(("", "/drill", "'; DROP TABLE people; --", LONG)):
        replies = await assistant.handle(Inbound(5555 + n, "x", text=text))
        assert len(replies) == 1 and replies[0].low_priority
        assert await assistant.handle(Inbound(5555 + n, "x", text=text)) == []
    await assistant.handle(Inbound(5555, "x", callback="a:1:0:a"))
    assert all([await assistant.store.person(5555 + n) is None for n in range(4)])
    assert await assistant.store.counter("stranger_messages") == 9


async def test_a_name_with_lone_surrogates_is_stored_readable(assistant: Assistant) -> None:
    await assistant.handle(Inbound(ADMIN, "Ad\ud800min", text="/start"))
    person = await assistant.store.person(ADMIN)
    assert person is not None and person.name == "Ad\ufffdmin"


def update(data: dict[str, Any]) -> Update:
    bot = Bot("123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz")
    return Update.de_json({"update_id": 1, **data}, bot)


USER = {"id": ADMIN, "is_bot": False, "first_name": "Admin", "language_code": "zh-hans"}
PRIVATE = {"id": ADMIN, "type": "private"}
GROUP = {"id": -100, "type": "group", "title": "branch"}


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("edited message", {"edited_message": {"message_id": 1, "date": 0, "chat": PRIVATE,
                                           "from": USER, "text": "edit"}}, None),
    ("channel post", {"channel_post": {"message_id": 1, "date": 0, "text": "hi",
                                       "chat": {"id": -1001, "type": "channel"}}}, None),
    ("group chatter", {"message": {"message_id": 1, "date": 0, "chat": GROUP, "from": USER,
                                   "text": "客户说手续费多扣了"}}, None),
    ("group mention", {"message": {"message_id": 1, "date": 0, "chat": GROUP, "from": USER,
                                   "text": "@CoachTestBot 手续费争议"}}, "手续费争议"),
    ("group command", {"message": {"message_id": 1, "date": 0, "chat": GROUP, "from": USER,
                                   "text": "/progress@CoachTestBot"}}, "/progress"),
    ("group command for another bot", {"message": {
        "message_id": 1, "date": 0, "chat": GROUP, "from": USER,
        "text": "/progress@SomeOtherBot"}}, None),
    ("group mention in lower case", {"message": {
        "message_id": 1, "date": 0, "chat": GROUP, "from": USER,
        "text": "@coachtestbot 手续费争议"}}, "手续费争议"),
    ("from a bot", {"message": {"message_id": 1, "date": 0, "chat": PRIVATE,
                                "from": {**USER, "is_bot": True}, "text": "hi"}}, None),
    ("sticker", {"message": {"message_id": 1, "date": 0, "chat": PRIVATE, "from": USER,
                             "sticker": {"file_id": "s", "file_unique_id": "s", "width": 1,
                                         "height": 1, "is_animated": False,
                                         "is_video": False, "type": "regular"}}}, "no text"),
])
def test_adapter_ignores_or_translates_by_design(name: str, data: dict[str, Any],
                                                  expected: str | None) -> None:
    inbound = to_inbound(update(data), "CoachTestBot")
    if expected is None:
        assert inbound is None, name
    elif expected == "no text":
        assert inbound is not None and inbound.text is None and inbound.callback is None
    else:
        assert inbound is not None and inbound.text is not None and not inbound.private
        assert inbound.text.startswith(expected)


async def test_group_replies_never_show_personal_results(assistant: Assistant) -> None:
    await Chat(assistant, ADMIN).say("/start")
    for text in ("/progress", "/due", "/drill", "/summary", "/whoami", "/export"):
        replies = await assistant.handle(Inbound(ADMIN, "Admin", text=text, private=False))
        assert len(replies) == 1 and ("私聊" in replies[0].text or "private" in replies[0].text)
