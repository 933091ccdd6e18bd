"""A matched card through the real Application and the fake Bot API: the glance first,
each section by button in the same message, back, double taps, old messages after a
/reload, and traditional Chinese for a Cantonese writer."""

from __future__ import annotations

import copy
import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Settings
from bot.i18n import t
from bot.models import Lang
from tests.botrun import TOKEN, running_bot
from tests.cards import bi, card, write_cards
from tests.conftest import ADMIN
from tests.fake_bot_api import FakeBotApi

ERROR_ZH = t("error", Lang.ZH)
REPLY_METHODS = ("sendMessage", "editMessageText", "editMessageReplyMarkup")


def fee_card(**extra: Any) -> dict[str, Any]:
    data = card(
        "fee.dispute", related=["atm.swallow"], title=bi("手续费争议", "Fee disputes"),
        summary=bi("手续费多扣时先查清是哪一笔。", "Find the charge first."),
        now={"zh": ["先致谢，请客户说明是哪一笔、哪一天", "调出交易记录"],
             "en": ["Thank them; ask which charge and when", "Open the records"]},
        steps={"zh": ["核对交易记录和收费标准", "确属多扣的按规定退还"],
               "en": ["Check the records and the fee schedule", "Refund a proven overcharge"]},
        say={"zh": ["您先别着急，我帮您查一下这笔费用。"], "en": ["Don't worry, let me check it."]},
        escalate={"zh": ["金额较大或客户要投诉时报主管"], "en": ["Large sums or a complaint: supervisor"]},
        never={"zh": ["不要说“系统扣的我们管不了”"], "en": ["Never blame the system"]},
        questions={"zh": ["客户说手续费多扣了怎么办", "手续费扣多了", "客户投诉手续费",
                          "多收了手续费怎么解释"],
                   "en": ["customer says we overcharged a fee", "fee charged twice",
                          "fee complaint", "overcharged fee"]})
    data.update(extra)
    return data


def atm_card() -> dict[str, Any]:
    return card("atm.swallow", title=bi("ATM吞卡", "ATM kept the card"),
                questions={"zh": ["ATM吞卡了怎么办", "取款机把卡吞了", "卡被机器吞了", "吞卡"],
                           "en": ["atm swallowed the card", "atm kept my card", "card retained",
                                  "machine ate the card"]})


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN, timeout_delay=7.0) as server:
        yield server


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return write_cards(tmp_path / "kb", fee_card(), atm_card())


def plain(message: dict[str, Any]) -> str:
    """What the person reads in a message as it stands now."""
    return html.unescape(message["text"].replace("<b>", "").replace("</b>", ""))


def keyboard(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


def data_of(message: dict[str, Any], label: str) -> str:
    return next(d for text, d in keyboard(message) if text == label)


class Person:
    """One person in a private chat with the bot, seen through the fake Bot API."""

    def __init__(self, api: FakeBotApi, user_id: int) -> None:
        self.api = api
        self.user_id = user_id

    def texts(self) -> list[str]:
        return self.api.sent_texts(self.user_id)

    async def say(self, text: str, until: str = "") -> list[str]:
        """Send `text`; the messages that came back (once one contains `until`)."""
        before = len(self.texts())
        await self.api.send_text(self.user_id, text, first_name="Admin")
        await self.api.wait_for(lambda _: any(until in x for x in self.texts()[before:]),
                                timeout=60)
        return self.texts()[before:]

    async def ask(self, question: str) -> int:
        """Send a question; the id of the message that answers it with a card."""
        before = len(self.api.calls("sendMessage"))
        await self.api.send_text(self.user_id, question)

        def answered(calls: list[Any]) -> bool:
            sent = [c for c in calls if c.method == "sendMessage"][before:]
            return any("v:" in str(c.params.get("reply_markup")) and c.ok for c in sent)

        await self.api.wait_for(answered, timeout=60)
        call = next(c for c in self.api.calls("sendMessage")[before:]
                    if "v:" in str(c.params.get("reply_markup")))
        return int(call.response["result"]["message_id"])  # type: ignore[index]

    def message(self, message_id: int) -> dict[str, Any]:
        """The message as it stands now (a copy: later edits leave it as it was)."""
        return copy.deepcopy(self.api.message(self.user_id, message_id))

    async def press(self, message_id: int, data: str, times: int = 1, replies: int = 0) -> None:
        """Tap a button `times` times at once; returns when every tap was answered and
        `replies` (default: one a tap) edits and sends were made."""
        answered = len(self.api.calls("answerCallbackQuery"))
        made = sum(len(self.api.calls(m)) for m in REPLY_METHODS)
        for _ in range(times):
            await self.api.send_callback(self.user_id, data, message_id)

        def handled(calls: list[Any]) -> bool:
            done = sum(c.method == "answerCallbackQuery" for c in calls) - answered
            replied = sum(c.method in REPLY_METHODS for c in calls) - made
            return done >= times and replied >= (replies or times)

        await self.api.wait_for(handled, timeout=60)


@asynccontextmanager
async def asked(api: FakeBotApi, settings: Settings, question: str
                ) -> AsyncIterator[tuple[Person, int]]:
    """The bot running, the administrator started and `question` asked: the person and the
    id of the card's message."""
    async with running_bot(api, settings):
        me = Person(api, ADMIN)
        await me.say("/start", until="Counter Coach")
        yield me, await me.ask(question)


async def test_glance_then_each_section_by_button_back_and_double_tap(
        api: FakeBotApi, settings: Settings, kb: Path) -> None:
    async with asked(api, replace(settings, knowledge=kb), "客户说手续费多扣了怎么办") as (me, mid):
        first = me.message(mid)
        glance = plain(first)
        assert glance == "手续费争议\n现在先做：\n1. 先致谢，请客户说明是哪一笔、哪一天\n2. 调出交易记录"
        assert [label for label, _ in keyboard(first)] == [
            "步骤", "话术", "上报", "切勿", "背景", "相关", "👍 有用", "👎 没用"]
        expected = {"步骤": "步骤：\n1. 核对交易记录和收费标准\n2. 确属多扣的按规定退还",
                    "话术": "怎么说：\n“您先别着急，我帮您查一下这笔费用。”",
                    "上报": "何时上报：\n• 金额较大或客户要投诉时报主管",
                    "切勿": "⛔ 切勿：\n• 不要说“系统扣的我们管不了”",
                    "背景": "背景：\n手续费多扣时先查清是哪一笔。",
                    "相关": "相关卡片：\n• ATM吞卡"}
        sends = len(me.texts())
        for label, body in expected.items():
            await me.press(mid, data_of(first, label))
            shown = me.message(mid)
            assert plain(shown) == f"手续费争议\n{body}", label
            assert keyboard(shown)[0][0] == "◀ 返回" and label not in dict(keyboard(shown))
            await me.press(mid, keyboard(shown)[0][1])  # ◀
            assert plain(me.message(mid)) == glance
            assert keyboard(me.message(mid)) == keyboard(first)  # 👍/👎 are back too
        assert len(me.texts()) == sends  # all of it in the one message

        await me.press(mid, data_of(first, "步骤"), times=2)  # a double tap
        assert plain(me.message(mid)).startswith("手续费争议\n步骤：")
        refused = [c for c in api.calls("editMessageText") if not c.ok]
        assert len(refused) == 1 and "not modified" in str(refused[0].response)
        assert len(me.texts()) == sends and ERROR_ZH not in me.texts()  # nothing went wrong

        await me.press(mid, data_of(me.message(mid), "相关"))
        await me.press(mid, data_of(me.message(mid), "ATM吞卡"))  # opens as a new message
        assert me.texts()[-1].startswith("<b>ATM吞卡</b>\n现在先做：")
        assert plain(me.message(mid)).startswith("手续费争议\n相关卡片：")  # still there

        await me.press(mid, data_of(me.message(mid), "◀ 返回"))
        await me.press(mid, data_of(me.message(mid), "👍 有用"), replies=2)  # edit and thanks
        assert me.texts()[-1] == "谢谢反馈！"
        assert plain(me.message(mid)) == glance  # the text stays; 👍/👎 are gone
        assert [label for label, _ in keyboard(me.message(mid))] == [
            "步骤", "话术", "上报", "切勿", "背景", "相关"]
        await me.press(mid, data_of(me.message(mid), "切勿"))
        await me.press(mid, data_of(me.message(mid), "◀ 返回"))
        assert "👍 有用" not in dict(keyboard(me.message(mid)))  # and stay gone
        assert ERROR_ZH not in me.texts()


async def test_an_old_message_after_reload_shows_the_card_as_it_is_now(
        api: FakeBotApi, settings: Settings, kb: Path) -> None:
    async with asked(api, replace(settings, knowledge=kb), "客户说手续费多扣了怎么办") as (me, mid):
        old = me.message(mid)
        changed = fee_card(version=2, steps={"zh": ["新的第一步：先查收费标准"],
                                             "en": ["New first step"]})
        (kb / "fee.dispute.yaml").write_text(yaml.safe_dump(changed, allow_unicode=True), "utf-8")
        await me.say("/reload", until="重新加载")
        await me.press(mid, data_of(old, "步骤"))  # a button of the message sent before
        assert plain(me.message(mid)) == "手续费争议\n步骤：\n1. 新的第一步：先查收费标准"

        (kb / "fee.dispute.yaml").unlink()
        (kb / "atm.swallow.yaml").write_text(yaml.safe_dump(
            {**atm_card(), "related": []}, allow_unicode=True), "utf-8")
        await me.say("/reload", until="1 张卡片")
        before = me.message(mid)["text"]
        await me.press(mid, data_of(old, "话术"))
        assert me.texts()[-1] == t("card_gone", Lang.ZH)
        assert me.message(mid)["text"] == before  # what it showed stays
        assert ERROR_ZH not in me.texts()


async def test_a_cantonese_writer_reads_hong_kong_forms_everywhere(
        api: FakeBotApi, settings: Settings, kb: Path) -> None:
    async with asked(api, replace(settings, knowledge=kb), "客人話手續費扣多咗，點算？") as (me, mid):
        first = me.message(mid)
        assert plain(first) == "手續費爭議\n現在先做：\n1. 先致謝，請客户説明是哪一筆、哪一天\n2. 調出交易記錄"
        assert [label for label, _ in keyboard(first)] == [
            "步驟", "話術", "上報", "切勿", "背景", "相關", "👍 有用", "👎 沒用"]
        await me.press(mid, data_of(first, "話術"))  # a button press carries no text
        assert plain(me.message(mid)) == "手續費爭議\n怎麼説：\n“您先別着急，我幫您查一下這筆費用。”"
        assert keyboard(me.message(mid))[0][0] == "◀ 返回"
        await me.press(mid, data_of(first, "👎 沒用"), replies=2)
        assert me.texts()[-1] == "謝謝，已記錄，內容負責人會改進這張卡片。"

        assert (await me.say("/lang zh-TW", until="好的"))[-1] == "好的，以後用中文回覆。"
        await me.press(mid, data_of(first, "話術"))
        assert plain(me.message(mid)) == "手續費爭議\n怎麼說：\n“您先別著急，我幫您查一下這筆費用。”"
        await me.say("/lang zh", until="好的")
        assert plain(me.message(await me.ask("客人話手續費扣多咗，點算？"))).startswith("手续费争议")
        assert ERROR_ZH not in me.texts()
