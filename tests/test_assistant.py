"""Conversations through the real Assistant, real store file and real knowledge base."""

from __future__ import annotations

import pytest

from bot.assistant import Assistant, _lang_for
from bot.i18n import t
from bot.models import Inbound, Lang, Reply
from bot.text import is_traditional, to_traditional
from tests.conftest import ADMIN, Chat

pytestmark = pytest.mark.both_engines  # the store's SQL on SQLite and PostgreSQL


async def count(assistant: Assistant, sql: str) -> int:
    row = await assistant.store.row(sql)
    return int(row[0]) if row else 0


async def test_stranger_gets_one_short_message_and_nothing_is_stored(assistant: Assistant) -> None:
    chat = Chat(assistant, 5)
    replies = await chat.say("客户说手续费多扣了")
    assert len(replies) == 1 and "invite code" not in replies[0].text
    assert "邀请码" in replies[0].text
    assert await count(assistant, "SELECT COUNT(*) FROM questions") == 0
    assert await count(assistant, "SELECT COUNT(*) FROM people") == 0


async def test_admin_start_greets_with_help(admin: Chat) -> None:
    text = admin.text()
    assert "Counter Coach" in text and "/drill" in text and "/invite" in text


async def test_confident_answer_in_chinese_with_feedback(admin: Chat, assistant: Assistant) -> None:
    replies = await admin.say("客户说这个月多扣了手续费，怎么跟他解释")
    card = replies[-1]
    assert card.title == "手续费争议"
    assert card.text.startswith("现在先做：") and len(card.text) <= 400
    labels = [b.label for row in card.buttons for b in row]
    assert labels == ["步骤", "话术", "上报", "切勿", "背景", "相关", "👍 有用", "👎 没用"]
    await admin.press("👎")
    assert "记录" in admin.text()
    kept = admin.last[0]  # 👍/👎 go, the text and the section buttons stay
    assert kept.edit and kept.text == "" and [b.label for row in kept.buttons for b in row] == [
        "步骤", "话术", "上报", "切勿", "背景", "相关"]
    gaps = await assistant.store.gaps(assistant.now().replace(year=2000))
    assert gaps == [("客户说这个月多扣了手续费,怎么跟他解释", 1)]  # stored NFKC-normalised
    await admin.tap(card.buttons[-1][0].payload)  # second press: recorded once
    assert "已收到" in admin.text()


async def test_english_question_gets_english_card(admin: Chat) -> None:
    replies = await admin.say("cust angry abt atm fee wat do i do")
    assert replies[-1].title == "Fee disputes"
    assert replies[-1].text.startswith("Right now:")
    await admin.press("Steps")
    assert admin.last[0].edit and "Steps:\n1. " in admin.last[0].text


async def test_traditional_question_gets_traditional_card(admin: Chat) -> None:
    replies = await admin.say("客人說存款利息算少咗，點同佢解釋？")
    assert replies[-1].title == "存款利息爭議"
    assert replies[-1].text.startswith("現在先做：") and is_traditional(replies[-1].text)


async def test_unknown_question_is_a_gap(admin: Chat, assistant: Assistant) -> None:
    replies = await admin.say("食堂今天中午吃什么")
    assert "没有这个问题的答案" in replies[-1].text
    assert replies[-1].buttons == ()
    gaps = await assistant.store.gaps(assistant.now().replace(year=2000))
    assert ("食堂今天中午吃什么", 1) in gaps


async def test_customer_data_is_masked_in_the_log_and_warned_once_a_day(
        admin: Chat, assistant: Assistant) -> None:
    await admin.say("客户卡号 6222 0212 3456 7890 128 余额对不上怎么办")
    assert "不要" in admin.last[0].text  # the once-a-day reminder
    await admin.say("客户手机号13812345678收不到验证码")
    assert not any("不要在这里粘贴" in r.text for r in admin.last)
    stored = [r[0] for r in await assistant.store.rows("SELECT text FROM questions")]
    assert stored and all("3456 7890" not in s and "12345678" not in s for s in stored)
    assert any("138****5678" in s for s in stored)


async def test_a_number_cut_by_the_length_limit_is_masked_first(
        admin: Chat, assistant: Assistant) -> None:
    # the question limit (500) falls inside the card number: masking comes before the cut
    card = "6259 - 7249 - 2086 - 8288"  # the cut at 500 falls after "6259 - 7"
    await admin.say("客户问" + "余额" * 243 + " 卡号 " + card + " 怎么办")
    stored = [r[0] for r in await assistant.store.rows("SELECT text FROM questions")]
    assert len(stored) == 1 and len(stored[0]) == 500
    assert stored[0].endswith(" 卡号 625972*")  # the card's first six, then stars


async def test_odd_shapes_never_reach_the_gap_list(admin: Chat, assistant: Assistant) -> None:
    await admin.say("卡号6212.0443.1982.9650 食堂在哪")
    await admin.say("客户密码 123456 告诉别人了 食堂在哪")
    gaps = " ".join(text for text, _ in await assistant.store.gaps(
        assistant.now().replace(year=2000)))
    assert "0443" not in gaps and "1982" not in gaps and "123456" not in gaps


async def test_topics_and_card_browsing(admin: Chat) -> None:
    await admin.say("/topics")
    assert [b.label for row in admin.last[0].buttons for b in row][0] == "基础服务要求"
    await admin.press("投诉与应急")
    listed = admin.last[0]
    assert listed.edit and listed.buttons[0][0].label == "◀ 全部章节"
    await admin.press("◀ 全部章节")  # back to the sections, in the same message
    assert admin.last[0].edit and admin.last[0].text == "请选择章节："
    await admin.press("投诉与应急")
    await admin.press("手续费争议")
    assert admin.last[0].title == "手续费争议"
    assert not admin.last[0].edit  # a card opens as a new message: the list stays
    await admin.say("/card dispute.fee full")
    assert "步骤：\n1. " in admin.text() and "⛔ 切勿：" in admin.text()
    await admin.say("/card dispute.fee everything")
    assert "用法" in admin.text()
    await admin.say("/card nope.nothing")
    assert "没有这张卡片" in admin.text()
    await admin.say("/card")
    assert "用法" in admin.text()


async def test_did_you_mean_buttons_then_choice(admin: Chat, assistant: Assistant) -> None:
    await admin.say("/lang en")
    replies = await admin.say("interest")  # vague: several cards talk about interest
    assert replies[-1].text == "Which of these topics do you mean?"
    options = [b for row in replies[-1].buttons for b in row]
    assert 2 <= len(options) <= 3
    chosen = options[0].label
    await admin.tap(options[0].payload)
    assert admin.last[0].edit and chosen in admin.last[0].text
    assert admin.last[1].title == chosen
    row = await assistant.store.row("SELECT outcome, card_id FROM questions")
    assert row is not None and row[0] == "unsure" and row[1] is not None


async def test_forged_and_stale_buttons_are_refused(admin: Chat, assistant: Assistant) -> None:
    for payload in ("dym:999:0", "fb:abc:up", "a:1:0:zz", "card:", "zzz", "a:x", "sec:nowhere",
                    "v:", "v:dispute.fee", "v:dispute.fee:zz:", "v:dispute.fee:g:1a",
                    "v:dispute.fee:g:" + "9" * 30, "v:dispute.fee:g:1:2"):
        replies = await admin.tap(payload)
        assert len(replies) == 1 and ("expired" in replies[0].text or "过期" in replies[0].text)
    assert await count(assistant, "SELECT COUNT(*) FROM answers") == 0
    replies = await admin.tap("v:no.such.card:steps:")
    assert replies == [Reply(t("card_gone", Lang.ZH))]
    replies = await admin.tap("v:dispute.fee:g:999")  # not this person's question: no 👍/👎
    assert "fb:" not in str(replies[0].buttons) and replies[0].edit


async def test_non_text_and_empty_messages(admin: Chat, assistant: Assistant) -> None:
    replies = await assistant.handle(Inbound(ADMIN, "Admin"))
    assert "文字" in replies[0].text or "text" in replies[0].text
    for text in ("", "   ", "😀😀", "\u200b\u200b"):
        replies = await admin.say(text)
        assert len(replies) == 1 and replies[0].buttons == ()
    assert await count(assistant, "SELECT COUNT(*) FROM questions") == 0


async def test_language_choice_wins(admin: Chat) -> None:
    await admin.say("/lang en")
    replies = await admin.say("客户说手续费多扣了")
    assert replies[-1].title == "Fee disputes"
    await admin.say("/lang xx")
    assert "Usage" in admin.text()
    await admin.say("/lang auto")  # back to following each message
    assert admin.last[0].text == "OK, I'll reply in the language of each message from now on."
    replies = await admin.say("客户说手续费多扣了")
    assert replies[-1].title == "手续费争议"
    replies = await admin.say("customer says we overcharged a fee")
    assert replies[-1].title == "Fee disputes"
    await admin.say("/whoami")
    assert "Language: auto" in admin.text()


async def test_the_script_follows_the_writing_and_stays_for_buttons(
        admin: Chat, assistant: Assistant) -> None:
    replies = await admin.say("客人說存款利息算少咗，點同佢解釋？")  # Cantonese, traditional
    assert replies[-1].title == "存款利息爭議"
    assert await count(assistant, "SELECT COUNT(*) FROM people WHERE last_lang = 'zh-Hant'") == 1
    await admin.press("話術")  # a button press carries no text: the script stays
    assert admin.last[0].text.startswith("怎麼説：") and admin.last[0].buttons[0][0].label == "◀ 返回"
    await admin.say("存款利息")  # the same in both scripts: the script stays
    assert admin.last[-1].text.startswith("您想問的是") or admin.last[-1].title == "存款利息爭議"
    await admin.say("客户说手续费多扣了")  # simplified
    assert admin.last[-1].title == "手续费争议"
    simplified = admin.last[-1].text
    await admin.say("/lang zh-tw")
    await admin.say("客户说手续费多扣了")
    assert admin.last[-1].title == "手續費爭議"
    assert admin.last[-1].text == to_traditional(simplified, taiwan=True) != simplified
    await admin.say("/lang")
    assert admin.last[0].text.startswith("用法：/lang zh（簡體）")
    await admin.say("/whoami")
    assert "語言：zh-TW" in admin.text()


async def test_a_stranger_is_answered_in_the_script_of_the_client() -> None:
    assert _lang_for(None, "", "zh-hk") is Lang.HANT
    assert _lang_for(None, "", "zh-TW") is Lang.TW
    assert _lang_for(None, "", "zh-hans") is Lang.ZH
    assert _lang_for(None, "", "en-GB") is Lang.EN and _lang_for(None, "", None) is Lang.ZH
    assert _lang_for(None, "客人話部機食咗張卡", None) is Lang.HANT


async def test_group_shows_nothing_personal(assistant: Assistant) -> None:
    await Chat(assistant, ADMIN).say("/start")
    replies = await assistant.handle(Inbound(ADMIN, "Admin", text="/progress", private=False))
    assert "私聊" in replies[0].text or "private" in replies[0].text
    replies = await assistant.handle(Inbound(ADMIN, "Admin", text="/card dispute.fee",
                                             private=False))
    assert replies[0].title == "手续费争议"


async def test_enrolled_staff_becomes_supervisor_with_an_invite(
        admin: Chat, assistant: Assistant) -> None:
    await admin.say("/team add A")
    staff_code = (await admin.say("/invite A staff"))[0].text.split("：")[1].split()[0]
    sup_code = (await admin.say("/invite A supervisor"))[0].text.split("：")[1].split()[0]
    member = Chat(assistant, 321, "Li")
    await member.say(f"/start {staff_code}")
    assert "欢迎加入团队 A" in member.text()
    await member.say("/summary A")
    assert "权限" in member.text()
    await member.say(f"/start {sup_code}")
    assert "欢迎加入团队 A" in member.text()
    await member.say("/summary A")
    assert "团队 A 汇总" in member.text()
    await member.say(f"/start {sup_code}")  # single use
    assert "无效" in member.text()
