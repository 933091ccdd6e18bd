"""Micro-drill dialogues, the retraining schedule and daily invitations, end to end.

Everything goes through the real Assistant, a real SQLite file in tmp_path and the
real knowledge base; time moves only by setting the FakeClock or the `now` of a tick.
"""

from __future__ import annotations

import asyncio
import io
import re
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from bot.adapters.console import converse
from bot.app import build
from bot.assistant import Assistant
from bot.config import Settings
from bot.i18n import section_name
from bot.models import SECTIONS, Button, DrillItem, Lang, Push, Reply, Role
from bot.schedule import Status, bump_delay
from tests.cards import REAL_CARDS
from tests.conftest import ADMIN, Chat, FakeClock

pytestmark = pytest.mark.both_engines  # the store's SQL on SQLite and PostgreSQL

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
CARDS = REAL_CARDS
ENDED_ZH = "这次小测已经结束，输入 /drill 开始新的小测。"
ALREADY_ZH = "这题已经记录过了。"
STALE_ZH = "这个按钮已过期，请重新提问或输入 /help。"
INVITE_ZH = "早上好！今天的 2 分钟小测准备好了。"


# --- helpers ---------------------------------------------------------------------------


def sh(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Shanghai."""
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def ts(moment: datetime) -> str:
    """How the store writes a time (UTC ISO-8601, seconds)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


async def rows(assistant: Assistant, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await assistant.store.rows(sql, params)]


async def scalar(assistant: Assistant, sql: str, *params: Any) -> Any:
    found = await rows(assistant, sql, *params)
    assert len(found) == 1, found
    return found[0][0]


def payloads(reply: Reply) -> list[str]:
    return [b.payload for row in reply.buttons for b in row]


def question(replies: list[Reply]) -> Reply:
    """The last reply whose buttons are drill options."""
    for reply in reversed(replies):
        if reply.buttons and all(p.startswith("a:") for p in payloads(reply)):
            return reply
    raise AssertionError(f"no drill question in {replies}")


async def item_for(assistant: Assistant, payload: str) -> DrillItem:
    """The drill item an option button belongs to (from the stored `drills.items`)."""
    _, drill_id, position, _ = payload.split(":")
    drill = await assistant.store.drill(int(drill_id))
    assert drill is not None
    return assistant.library.kb.items[drill.items[int(position)][0]]


async def option_payload(assistant: Assistant, q: Reply, right: bool) -> str:
    """The payload of a right (or a wrong) option of the question shown."""
    for payload in payloads(q):
        item = await item_for(assistant, payload)
        if (payload.split(":")[3] == item.correct.id) is right:
            return payload
    raise AssertionError(f"no {'right' if right else 'wrong'} option in {q}")


async def answer(chat: Chat, right: bool) -> list[Reply]:
    """Press a right or wrong option of the question on screen."""
    return await chat.tap(await option_payload(chat.assistant, question(chat.last), right))


async def run_drill(chat: Chat, pattern: list[bool]) -> list[DrillItem]:
    """/drill, then answer each question right or wrong; the items asked, in order."""
    await chat.say("/drill")
    items = []
    for right in pattern:
        q = question(chat.last)
        items.append(await item_for(chat.assistant, payloads(q)[0]))
        await answer(chat, right)
    return items


async def drill_items(assistant: Assistant, user_id: int) -> list[str]:
    drill = await assistant.store.open_drill(user_id)
    assert drill is not None
    return [item_id for item_id, _ in drill.items]


def invites(pushes: list[Push]) -> list[Push]:
    return [p for p in pushes if p.key.startswith("invite:")]


def invited(pushes: list[Push]) -> list[int]:
    return sorted(p.user_id for p in invites(pushes))


async def enrol(assistant: Assistant, user_id: int, at: datetime) -> None:
    await assistant.store.upsert_person(user_id, f"Staff {user_id}", {Role.STAFF}, at)


def copy_kb_with_version(source: Path, target: Path, card_id: str, version: int) -> Path:
    """A copy of the knowledge folder with one card's version changed."""
    shutil.copytree(source, target)
    (path,) = list(target.rglob(f"{card_id}.yaml"))
    text, n = re.subn(r"\nversion: \d+\n", f"\nversion: {version}\n", path.read_text("utf-8"),
                      count=1)
    assert n == 1
    path.write_text(text, "utf-8")
    return target


# --- 1. a whole drill -----------------------------------------------------------------------


async def test_complete_drill_in_chinese_with_feedback_score_and_stored_answers(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    kb = assistant.library.kb
    replies = await admin.say("/drill")
    assert len(replies) == 1
    first = replies[0]
    assert first.title == "小测 1/3"
    drill = await assistant.store.open_drill(ADMIN)
    assert drill is not None and drill.position == 0 and len(drill.items) == 3
    assert len({kb.items[i].card_id for i, _ in drill.items}) == 3  # one item per card
    item0_id, order0 = drill.items[0]
    item0 = kb.items[item0_id]
    assert first.text == item0.question.zh
    assert 3 <= len(first.buttons) <= 4
    assert all(len(row) == 1 for row in first.buttons)
    assert sorted(order0) == sorted(o.id for o in item0.options)
    assert payloads(first) == [f"a:{drill.id}:0:{o}" for o in order0]
    texts = {o.id: o.text.zh for o in item0.options}
    assert [row[0].label for row in first.buttons] == [texts[o] for o in order0]

    pattern = [True, False, True]
    asked: list[DrillItem] = []
    chosen: list[str] = []
    for position, right in enumerate(pattern):
        q = question(admin.last)
        payload = await option_payload(assistant, q, right)
        item = await item_for(assistant, payload)
        picked = item.option(payload.split(":")[3])
        assert picked is not None and picked.correct is right
        asked.append(item)
        chosen.append(picked.id)
        replies = await admin.tap(payload)
        assert len(replies) == 2
        feedback, after = replies
        # the pressed question is edited into its feedback: options gone, card button instead
        assert feedback.edit and feedback.title == f"小测 {position + 1}/3"
        assert feedback.text.startswith(item.question.zh)
        verdict = "✅ 答对了！" if right else f"❌ 不对。正确答案：{item.correct.text.zh}"
        mark = "✅" if right else "❌"
        assert feedback.text.endswith(
            f"您的选择：{picked.text.zh} {mark}\n\n{verdict}\n{item.explain.zh}")
        assert feedback.buttons == ((Button("📖 查看卡片", f"card:{item.card_id}"),),)
        if position < 2:
            assert after.title == f"小测 {position + 2}/3"
            assert all(p.startswith(f"a:{drill.id}:{position + 1}:") for p in payloads(after))
    missed = kb.cards[asked[1].card_id]
    assert admin.last[-1].text == f"本次小测完成：2/3\n接下来要复训：{missed.title.zh}"
    assert admin.last[-1].buttons == ()

    stored = await rows(
        assistant, "SELECT user_id, drill_id, position, item_id, card_id, card_version, chosen,"
        " correct_option, is_correct, answered_at FROM answers ORDER BY position")
    now = ts(clock())
    assert stored == [
        (ADMIN, drill.id, n, item.id, item.card_id, kb.cards[item.card_id].version, chosen[n],
         item.correct.id,
         int(pattern[n]), now)
        for n, item in enumerate(asked)
    ]
    assert [i.id for i in asked] == [i for i, _ in drill.items]
    assert await rows(assistant, "SELECT finished_at, position, correct FROM drills") == [
        (now, 3, 2)]
    assert await assistant.store.open_drill(ADMIN) is None

    await admin.press("查看卡片")  # the last feedback's button opens that item's card
    assert any(r.title == kb.cards[asked[2].card_id].title.zh for r in admin.last)


async def test_complete_drill_in_english_all_right(admin: Chat, assistant: Assistant) -> None:
    await admin.say("/lang en")
    replies = await admin.say("/drill")
    assert replies[0].title == "Drill 1/3"
    item = await item_for(assistant, payloads(replies[0])[0])
    assert replies[0].text == item.question.en
    for position in range(3):
        q = question(admin.last)
        payload = await option_payload(assistant, q, right=True)
        item = await item_for(assistant, payload)
        feedback, after = await admin.tap(payload)
        assert f"Your answer: {item.correct.text.en} ✅" in feedback.text
        assert feedback.text.endswith(f"✅ Correct!\n{item.explain.en}")
        assert feedback.buttons[0][0].label == "📖 Open the card"
        if position < 2:
            assert after.title == f"Drill {position + 2}/3"
    assert admin.last[-1].text == (
        f"Drill done: 3/3\nNothing is due for refresher training; {CARDS - 3} topics not "
        "drilled yet - the next drill goes on with them.")
    assert await scalar(assistant, "SELECT SUM(is_correct) FROM answers") == 3


# --- 2. double taps, stale and forged buttons --------------------------------------------


async def test_double_tap_records_one_answer(admin: Chat, assistant: Assistant) -> None:
    q = (await admin.say("/drill"))[0]
    right = await option_payload(assistant, q, right=True)
    wrong = await option_payload(assistant, q, right=False)
    first = await admin.tap(right)
    assert len(first) == 2
    again = await admin.tap(right)
    assert [r.text for r in again] == [ALREADY_ZH]
    other = await admin.tap(wrong)  # a different option of the answered question
    assert [r.text for r in other] == [ALREADY_ZH]
    assert await rows(assistant, "SELECT position, chosen, is_correct FROM answers") == [
        (0, right.split(":")[3], 1)]
    assert await rows(assistant, "SELECT position, correct FROM drills") == [(1, 1)]


async def test_buttons_of_a_finished_drill_record_nothing(
        admin: Chat, assistant: Assistant) -> None:
    await admin.say("/drill")
    shown_options: list[str] = []
    for _ in range(3):
        shown_options += payloads(question(admin.last))
        await answer(admin, right=True)
    assert admin.last[-1].text.startswith("本次小测完成：3/3")
    for payload in shown_options:
        replies = await admin.tap(payload)
        assert len(replies) == 1 and replies[0].text in (ALREADY_ZH, ENDED_ZH)
    assert await scalar(assistant, "SELECT COUNT(*) FROM answers") == 3
    assert await rows(assistant, "SELECT position, correct FROM drills") == [(3, 3)]


async def test_forged_payloads_are_refused_and_record_nothing(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    await enrol(assistant, 2001, clock())
    other = Chat(assistant, 2001, "Other")
    q = (await other.say("/drill"))[0]
    theirs = await option_payload(assistant, q, right=True)
    _, drill_id, _, option = theirs.split(":")
    replies = await admin.tap(theirs)  # somebody else's drill
    assert [r.text for r in replies] == [STALE_ZH]
    await admin.say("/drill")
    mine = payloads(question(admin.last))[0]
    _, my_drill, _, my_option = mine.split(":")
    for forged, text in ((f"a:{my_drill}:2:{my_option}", ENDED_ZH),  # a question not yet asked
                         (f"a:{my_drill}:0:zz", ENDED_ZH),  # an option the item does not have
                         (f"a:{my_drill}:x:{my_option}", STALE_ZH),
                         ("a:999999:0:a", STALE_ZH)):
        replies = await admin.tap(forged)
        assert [r.text for r in replies] == [text], forged
    assert await scalar(assistant, "SELECT COUNT(*) FROM answers") == 0
    assert await rows(assistant, "SELECT user_id, position FROM drills ORDER BY id") == [
        (2001, 0), (ADMIN, 0)]
    await other.tap(theirs)  # the owner can still answer
    assert await rows(assistant, "SELECT user_id, drill_id, chosen FROM answers") == [
        (2001, int(drill_id), option)]


# --- 3. abandon and resume ---------------------------------------------------------------


async def test_same_day_drill_resumes_the_unfinished_one(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    await admin.say("/drill")
    drill_id = payloads(admin.last[0])[0].split(":")[1]
    await answer(admin, right=True)
    clock.advance(hours=8)  # 17:00, same local day
    replies = await admin.say("/drill")
    assert len(replies) == 2
    assert replies[0].text == "继续上次未完成的小测："
    assert replies[1].title == "小测 2/3"
    assert all(p.startswith(f"a:{drill_id}:1:") for p in payloads(replies[1]))
    assert await scalar(assistant, "SELECT COUNT(*) FROM drills") == 1
    await answer(admin, right=True)
    assert admin.last[-1].title == "小测 3/3"


async def test_next_day_drill_replaces_an_abandoned_one(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    await admin.say("/drill")
    old_id = int(payloads(admin.last[0])[0].split(":")[1])
    await answer(admin, right=True)
    old_question = question(admin.last)  # question 2 of the old drill, never answered
    clock.advance(days=1)
    replies = await admin.say("/drill")
    assert len(replies) == 1 and "继续" not in replies[0].text
    assert replies[0].title == "小测 1/3"
    new_id = int(payloads(replies[0])[0].split(":")[1])
    assert new_id != old_id
    assert await rows(assistant, "SELECT id, finished_at, position FROM drills ORDER BY id") == [
        (old_id, ts(clock()), 1), (new_id, None, 0)]
    for payload in payloads(old_question):
        stale = await admin.tap(payload)
        assert [r.text for r in stale] == [ENDED_ZH]
    assert await rows(assistant, "SELECT drill_id FROM answers") == [(old_id,)]
    open_drill = await assistant.store.open_drill(ADMIN)
    assert open_drill is not None and open_drill.id == new_id and open_drill.position == 0


async def test_drill_from_just_before_midnight_is_not_resumed_after_midnight(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    clock.current = sh(2026, 11, 30, 23, 50)
    await admin.say("/drill")
    await answer(admin, right=True)
    clock.current = sh(2026, 12, 1, 0, 5)  # 16:05 UTC: still Nov 30 in UTC, Dec 1 locally
    replies = await admin.say("/drill")
    assert replies[0].title == "小测 1/3" and "继续" not in replies[0].text
    assert await scalar(assistant, "SELECT COUNT(*) FROM drills") == 2


# --- 4. restart mid-drill ------------------------------------------------------------------


async def test_drill_survives_a_restart(
        settings: Settings, admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    await admin.say("/drill")
    await answer(admin, right=True)
    old_q2 = question(admin.last)
    assert old_q2.title == "小测 2/3"
    await assistant.store.close()

    clock.advance(minutes=3)
    a2 = await build(settings, clock)
    try:
        chat = Chat(a2, ADMIN, "Admin")
        q2_wrong = await option_payload(a2, old_q2, right=False)
        replies = await chat.tap(q2_wrong)
        assert len(replies) == 2 and "❌" in replies[0].text
        q3 = replies[1]
        assert q3.title == "小测 3/3"
        again = await chat.tap(q2_wrong)
        assert [r.text for r in again] == [ALREADY_ZH]
        await chat.tap(await option_payload(a2, q3, right=True))
        assert chat.last[-1].text.startswith("本次小测完成：2/3")
        assert await rows(a2, "SELECT position, is_correct FROM answers ORDER BY position") == [
            (0, 1), (1, 0), (2, 1)]
        assert await rows(a2, "SELECT position, correct, finished_at FROM drills") == [
            (3, 2, ts(clock()))]
    finally:
        await a2.store.close()


# --- 5. order of items and the schedule ------------------------------------------------


async def test_missed_item_comes_back_first_one_day_later_not_before(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    t0 = clock()
    first = await run_drill(admin, [False, True, True])
    missed = first[0]
    assert await rows(assistant, "SELECT item_id, step, due_at FROM item_state") == [
        (missed.id, 1, ts(t0 + timedelta(days=1)))]

    clock.advance(hours=2)  # same day, a second drill
    await admin.say("/drill")
    assert missed.id not in await drill_items(assistant, ADMIN)
    for _ in range(3):
        await answer(admin, right=True)

    clock.current = t0 + timedelta(hours=23, minutes=59)  # next local day, not yet 1 day
    await admin.say("/drill")
    assert admin.last[0].title == "小测 1/3"
    assert missed.id not in await drill_items(assistant, ADMIN)
    for _ in range(3):
        await answer(admin, right=True)

    clock.current = t0 + timedelta(days=1)
    await admin.say("/drill")
    assert (await drill_items(assistant, ADMIN))[0] == missed.id
    assert admin.last[0].text == missed.question.zh
    await answer(admin, right=True)
    assert await rows(assistant, "SELECT item_id, step, due_at FROM item_state") == [
        (missed.id, 2, ts(clock() + timedelta(days=3)))]


async def due_then_overdue(chat: Chat, clock: FakeClock, title: str, due_at: datetime,
                           grace_days: int) -> None:
    """/due lists the topic as due from `due_at` to the end of the grace days, then overdue."""
    since = due_at.astimezone(SH).date().isoformat()
    grace_end = due_at + timedelta(days=grace_days)
    for moment, line in ((due_at, f"• {title} — 到期，{since} 起"),
                         (grace_end, f"• {title} — 到期，{since} 起"),
                         (grace_end + timedelta(minutes=1), f"⚠️ {title} — 逾期，{since} 起")):
        clock.current = moment
        await chat.say("/due")
        assert line in chat.text()


async def test_passed_topic_is_current_until_retrain_days_then_due_then_overdue(
        admin: Chat, assistant: Assistant, clock: FakeClock, settings: Settings) -> None:
    t0 = clock()
    items = await run_drill(admin, [True, True, True])
    kb = assistant.library.kb
    cards = [kb.cards[i.card_id] for i in items]
    statuses = await assistant.training.statuses(ADMIN, t0)
    for card in cards:
        assert statuses[card.id].status is Status.CURRENT
        assert statuses[card.id].due_at == t0 + timedelta(days=card.retrain_days)
    assert sum(s.status is Status.NEW for s in statuses.values()) == CARDS - 3
    await admin.say("/due")
    assert admin.last[0].text == (
        f"目前没有到期或逾期的内容。尚未学习的主题：{CARDS - 3} 个，输入 /drill 开始。")

    soonest = min(cards, key=lambda c: c.retrain_days)
    due_at = t0 + timedelta(days=soonest.retrain_days)
    clock.current = due_at - timedelta(minutes=1)
    await admin.say("/due")
    assert soonest.title.zh not in admin.text()
    await due_then_overdue(admin, clock, soonest.title.zh, due_at, settings.grace_days)
    assert admin.last[0].buttons == ((Button("开始小测", "drill:start"),),)


async def test_card_version_bump_makes_a_passed_topic_due_then_overdue(
        admin: Chat, assistant: Assistant, clock: FakeClock, settings: Settings,
        tmp_path: Path) -> None:
    t0 = clock()
    items = await run_drill(admin, [True, True, True])
    bumped = assistant.library.kb.cards[items[0].card_id]
    others = [assistant.library.kb.cards[i.card_id] for i in items[1:]]
    await enrol(assistant, 2002, t0)  # never drilled: the bump does not concern them
    kb2 = copy_kb_with_version(settings.knowledge, tmp_path / "kb2", bumped.id,
                               bumped.version + 1)

    clock.current = t0 + timedelta(days=10)
    bumped_at = clock()
    a2 = await build(replace(settings, knowledge=kb2), clock)
    try:
        new = bumped.version + 1
        assert a2.library.kb.cards[bumped.id].version == new
        assert await rows(a2, "SELECT version, since FROM card_versions WHERE card_id = ?",
                          bumped.id) == [(new, ts(bumped_at))]
        chat = Chat(a2, ADMIN, "Admin")
        # due on the card's own day within the bump window (a batch of bumps is spread)
        due = bumped_at + bump_delay(bumped)
        statuses = await a2.training.statuses(ADMIN, clock())
        assert statuses[bumped.id].due_at == due
        statuses = await a2.training.statuses(ADMIN, due)
        assert statuses[bumped.id].status is Status.DUE
        assert all(statuses[c.id].status is Status.CURRENT for c in others)
        assert (await a2.training.statuses(2002, due))[bumped.id].status is Status.NEW
        await due_then_overdue(chat, clock, bumped.title.zh, due, settings.grace_days)
        assert all(c.title.zh not in chat.text() for c in others)

        await chat.say("/drill")  # the overdue topic comes first; passing it at v2 clears it
        assert (await drill_items(a2, ADMIN))[0].startswith(f"{bumped.id}.d")
        await answer(chat, right=True)
        assert await rows(a2, "SELECT card_id, card_version FROM answers WHERE answered_at = ?",
                          ts(clock())) == [(bumped.id, new)]
        statuses = await a2.training.statuses(ADMIN, clock())
        assert statuses[bumped.id].status is Status.CURRENT
    finally:
        await a2.store.close()


# --- 6. /due, /progress, /remind, /pause -----------------------------------------------


async def test_due_lists_due_and_overdue_soonest_first(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    t0 = clock()
    await admin.say("/drill")
    missed: list[DrillItem] = []
    for _ in range(3):
        missed.append(await item_for(assistant, payloads(question(admin.last))[0]))
        await answer(admin, right=False)
        clock.advance(minutes=5)
    titles = [assistant.library.kb.cards[i.card_id].title.zh for i in missed]

    clock.current = t0 + timedelta(days=7, minutes=3)  # the first is overdue, the others due
    replies = await admin.say("/due")
    assert replies[0].text.split("\n") == [
        "需要复训的内容（最早到期在前）：",
        f"⚠️ {titles[0]} — 逾期，2026-11-30 起",
        f"• {titles[1]} — 到期，2026-11-30 起",
        f"• {titles[2]} — 到期，2026-11-30 起",
        f"另有 {CARDS - 3} 个主题尚未学习。",
    ]
    await admin.tap("drill:start")
    assert admin.last[0].title == "小测 1/3"


async def test_progress_shows_streak_drills_and_accuracy_by_section(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    kb = assistant.library.kb
    await admin.say("/progress")
    assert admin.last[0].text == "还没有答题记录，输入 /drill 开始第一次小测。"
    log: list[tuple[str, bool]] = []  # (section, correct) of every answer

    async def drill_on(moment: datetime, pattern: list[bool]) -> None:
        clock.current = moment
        for item, right in zip(await run_drill(admin, pattern), pattern, strict=True):
            log.append((kb.cards[item.card_id].section, right))
        assert admin.last[-1].text.startswith(f"本次小测完成：{sum(pattern)}/3")

    def expected(streak: int, drills: int) -> str:
        right = sum(ok for _, ok in log)
        lines = [f"连续学习：{streak} 个工作日", f"完成小测：{drills} 次",
                 f"答题：{len(log)} 道，正确率 {round(100 * right / len(log))}%", "",
                 "各章节正确率："]
        for section in SECTIONS:
            marks = [ok for s, ok in log if s == section]
            if marks:
                lines.append(f"• {section_name(section, Lang.ZH)}: "
                             f"{round(100 * sum(marks) / len(marks))}% ({sum(marks)}/{len(marks)})")
        return "\n".join(lines)

    await drill_on(sh(2026, 12, 3, 9), [True, True, False])  # Thursday
    await drill_on(sh(2026, 12, 4, 9), [True, False, False])  # Friday
    await drill_on(sh(2026, 12, 6, 10), [True, True, True])  # Sunday: a drill, not a work day
    await admin.say("/progress")
    assert admin.last[0].text == expected(streak=2, drills=3)
    clock.current = sh(2026, 12, 7, 8)  # Monday, no drill yet today: the weekend is no gap
    await admin.say("/progress")
    assert admin.last[0].text == expected(streak=2, drills=3)
    assert "答题：9 道，正确率 67%" in admin.last[0].text
    await drill_on(sh(2026, 12, 7, 9), [True, True, True])
    await admin.say("/progress")
    assert admin.last[0].text == expected(streak=3, drills=4)
    assert "正确率 75%" in admin.last[0].text
    clock.current = sh(2026, 12, 9, 9)  # Wednesday: Tuesday was a working day without a drill
    await admin.say("/progress")
    assert admin.last[0].text.startswith("连续学习：0 个工作日")


async def test_remind_sets_clears_and_rejects_times(admin: Chat, assistant: Assistant) -> None:
    async def remind_at() -> str | None:
        value: str | None = await scalar(
            assistant, "SELECT remind_at FROM people WHERE user_id = ?", ADMIN)
        return value

    assert await remind_at() == "09:00"  # the default
    await admin.say("/remind 08:30")
    assert admin.last[0].text == "好的，工作日 08:30 提醒您做小测。"
    assert await remind_at() == "08:30"
    await admin.say("/remind 7:05")
    assert "07:05" in admin.last[0].text and await remind_at() == "07:05"
    await admin.say("/remind off")
    assert admin.last[0].text == "已关闭每日提醒，随时可以输入 /drill。"
    assert await remind_at() is None
    await admin.say("/remind")  # alone: what is set, and how to change it
    assert admin.last[0].text.startswith("每日提醒已关闭。/remind HH:MM")
    for bad in ("/remind 25:00", "/remind 12:60", "/remind soon", "/remind 0830"):
        await admin.say(bad)
        assert admin.last[0].text.startswith("用法：/remind"), bad
        assert await remind_at() is None
    await admin.say("/lang en")
    await admin.say("/remind 24:00")
    assert admin.last[0].text.startswith("Usage: /remind")
    await admin.say("/remind 8:15")
    await admin.say("/remind")
    assert admin.last[0].text == ("Daily reminder: 08:15 on working days. /remind HH:MM changes "
                                  "it, /remind off stops it.")


async def test_pause_sets_clears_and_rejects_days(admin: Chat, assistant: Assistant) -> None:
    async def paused() -> str | None:
        value: str | None = await scalar(
            assistant, "SELECT paused_until FROM people WHERE user_id = ?", ADMIN)
        return value

    await admin.say("/pause 7")  # Monday 2026-11-30: seven working days including today
    assert admin.last[0].text == ("已暂停提醒 7 个工作日，至 2026-12-08（周二，含）；"
                                  "2026-12-09（周三）起恢复。")
    assert await paused() == "2026-12-08"
    assert await rows(assistant, "SELECT start, until FROM pauses") == [
        ("2026-11-30", "2026-12-08")]
    await admin.say("/pause 0")
    assert admin.last[0].text == "已恢复每日提醒。"
    assert await paused() is None
    assert await assistant.store.paused_days(ADMIN) == []
    await admin.say("/pause 2")
    assert await paused() == "2026-12-01"
    await admin.say("/pause off")
    assert admin.last[0].text == "已恢复每日提醒。" and await paused() is None
    await admin.say("/pause 3")
    for bad in ("/pause abc", "/pause 61", "/pause -1", "/pause", "/pause 1.5"):
        await admin.say(bad)
        assert admin.last[0].text.startswith("用法：/pause"), bad
        assert await paused() == "2026-12-02"


# --- 7. invitations --------------------------------------------------------------------------


async def test_invitation_once_a_day_from_nine_with_a_drill_button(
        assistant: Assistant, clock: FakeClock) -> None:
    await enrol(assistant, 3001, clock())
    assert invited(await assistant.tick(sh(2026, 11, 30, 8, 59))) == []
    pushes = await assistant.tick(sh(2026, 11, 30, 9, 0))
    (push,) = invites(pushes)
    assert push.user_id == 3001 and push.key == "invite:2026-11-30"
    assert push.reply.text == INVITE_ZH
    assert push.reply.buttons == ((Button("开始小测", "drill:start"),),)
    assert invited(await assistant.tick(sh(2026, 11, 30, 9, 0))) == []
    assert invited(await assistant.tick(sh(2026, 11, 30, 12, 0))) == []
    assert await rows(assistant, "SELECT user_id, day FROM pushes WHERE kind = 'invite'") == [
        (3001, "2026-11-30")]

    chat = Chat(assistant, 3001, "Staff")
    await chat.tap("drill:start")  # the invitation's button starts a drill
    assert chat.last[0].title == "小测 1/3"
    assert await scalar(assistant, "SELECT COUNT(*) FROM drills WHERE user_id = 3001") == 1

    assert invited(await assistant.tick(sh(2026, 12, 1, 9, 0))) == [3001]  # Tuesday: again


async def test_invitation_in_the_persons_language(assistant: Assistant, clock: FakeClock) -> None:
    await enrol(assistant, 3002, clock())
    await Chat(assistant, 3002).say("/lang en")
    (push,) = invites(await assistant.tick(sh(2026, 11, 30, 9, 0)))
    assert push.reply.text == "Good morning! Today's 2-minute drill is ready."
    assert push.reply.buttons[0][0] == Button("Start the drill", "drill:start")


async def test_own_reminder_time_off_and_pause(assistant: Assistant, clock: FakeClock) -> None:
    for uid in (3101, 3102, 3103, 3104):
        await enrol(assistant, uid, clock())
    await Chat(assistant, 3102).say("/remind 10:00")
    await Chat(assistant, 3103).say("/remind off")
    await Chat(assistant, 3104).say("/pause 3")  # Monday to Wednesday
    assert invited(await assistant.tick(sh(2026, 11, 30, 9, 0))) == [3101]
    assert invited(await assistant.tick(sh(2026, 11, 30, 9, 59))) == []
    assert invited(await assistant.tick(sh(2026, 11, 30, 10, 0))) == [3102]
    assert invited(await assistant.tick(sh(2026, 11, 30, 17, 0))) == []
    assert invited(await assistant.tick(sh(2026, 12, 1, 10, 0))) == [3101, 3102]
    assert invited(await assistant.tick(sh(2026, 12, 2, 17, 0))) == [3101, 3102]
    assert invited(await assistant.tick(sh(2026, 12, 3, 9, 0))) == [3101, 3104]
    assert invited(await assistant.tick(sh(2026, 12, 3, 10, 0))) == [3102]
    await Chat(assistant, 3103).say("/remind 09:30")
    assert invited(await assistant.tick(sh(2026, 12, 4, 9, 30))) == [3101, 3103, 3104]
    assert await scalar(assistant, "SELECT COUNT(*) FROM pushes WHERE kind = 'invite'"
                        " AND user_id = 3103") == 1


async def test_pause_off_resumes_invitations(assistant: Assistant, clock: FakeClock) -> None:
    await enrol(assistant, 3201, clock())
    chat = Chat(assistant, 3201)
    await chat.say("/pause 10")
    assert invited(await assistant.tick(sh(2026, 11, 30, 9, 0))) == []
    clock.current = sh(2026, 12, 1, 8, 0)
    await chat.say("/pause off")
    assert invited(await assistant.tick(sh(2026, 12, 1, 9, 0))) == [3201]


async def test_no_invitations_on_weekends_and_public_holidays_but_on_make_up_days(
        assistant: Assistant) -> None:
    await enrol(assistant, 3301, sh(2026, 9, 1, 9))
    # the calendar this relies on (chinese_calendar's PRC data for 2026)
    assert not chinese_calendar.is_workday(date(2026, 10, 1))  # National Day, a Thursday
    assert date(2026, 10, 10).weekday() == 5 and chinese_calendar.is_workday(date(2026, 10, 10))
    assert not chinese_calendar.is_workday(date(2026, 12, 5))
    for day in (date(2026, 12, 5), date(2026, 12, 6), date(2026, 10, 1), date(2026, 10, 2),
                date(2026, 10, 7)):
        for hour in (9, 12, 17):
            assert invited(await assistant.tick(sh(day.year, day.month, day.day, hour))) == [], day
    assert invited(await assistant.tick(sh(2026, 10, 10, 9))) == [3301]  # make-up Saturday
    assert invited(await assistant.tick(sh(2026, 10, 8, 9))) == [3301]  # back to work
    assert await rows(assistant, "SELECT day FROM pushes WHERE kind = 'invite' ORDER BY day") == [
        ("2026-10-08",), ("2026-10-10",)]


async def test_after_downtime_invitation_goes_out_until_evening_only(
        assistant: Assistant, clock: FakeClock) -> None:
    await enrol(assistant, 3401, clock())
    (push,) = invites(await assistant.tick(sh(2026, 11, 30, 15, 0)))  # down all morning
    assert push.key == "invite:2026-11-30"
    assert invited(await assistant.tick(sh(2026, 12, 1, 18, 30))) == []  # Tuesday missed
    assert invited(await assistant.tick(sh(2026, 12, 1, 23, 59))) == []
    pushes = invites(await assistant.tick(sh(2026, 12, 2, 9, 0)))  # Wednesday: one, not two
    assert [p.key for p in pushes] == ["invite:2026-12-02"]
    assert await rows(assistant, "SELECT day FROM pushes WHERE kind = 'invite' ORDER BY day") == [
        ("2026-11-30",), ("2026-12-02",)]


async def test_inactive_person_is_not_invited(assistant: Assistant, clock: FakeClock) -> None:
    await enrol(assistant, 3501, clock())
    await enrol(assistant, 3502, clock())
    await assistant.store.set_active(3502, False)
    assert invited(await assistant.tick(sh(2026, 11, 30, 9, 0))) == [3501]
    assert invited(await assistant.tick(sh(2026, 12, 1, 9, 0))) == [3501]
    await assistant.store.set_active(3502, True)
    assert invited(await assistant.tick(sh(2026, 12, 2, 9, 0))) == [3501, 3502]


# --- 8. many people -------------------------------------------------------------------------


async def test_two_hundred_people_each_invited_exactly_once(
        assistant: Assistant, clock: FakeClock) -> None:
    people = list(range(10_000, 10_200))
    for uid in people:
        await enrol(assistant, uid, clock())
    pushes = invites(await assistant.tick(sh(2026, 11, 30, 9, 0)))
    assert len(pushes) == 200
    assert sorted(p.user_id for p in pushes) == people
    assert {p.key for p in pushes} == {"invite:2026-11-30"}
    assert invites(await assistant.tick(sh(2026, 11, 30, 9, 1))) == []
    assert await scalar(assistant, "SELECT COUNT(DISTINCT user_id) FROM pushes"
                        " WHERE kind = 'invite'") == 200


# --- 9. the console -------------------------------------------------------------------------


async def test_console_drill_with_numbered_buttons(admin: Chat, assistant: Assistant) -> None:
    # after an answer the screen shows [/1] open card, then the next question's options
    lines = io.StringIO("/drill\n/1\n/2\n/2\n/9\n")
    out = io.StringIO()
    await converse(assistant, lines, out, user_id=ADMIN, name="Admin")
    shown = out.getvalue()
    assert "> /drill\n== 小测 1/3 ==" in shown
    assert "[/1] " in shown and "[/3] " in shown
    assert "== 小测 2/3 ==" in shown and "== 小测 3/3 ==" in shown
    assert "(updated) " in shown and "您的选择：" in shown
    assert "[/1] 📖 查看卡片" in shown
    correct = await scalar(assistant, "SELECT SUM(is_correct) FROM answers")
    assert f"本次小测完成：{correct}/3" in shown
    assert "> /9\n(no button 9 on screen)" in shown  # only the card button is left
    assert await scalar(assistant, "SELECT COUNT(*) FROM answers") == 3
    assert await rows(assistant, "SELECT position, finished_at IS NOT NULL FROM drills") == [
        (3, 1)]


# --- 10. a time zone with daylight saving time --------------------------------------------


async def test_nine_oclock_follows_daylight_saving_time(
        settings: Settings, clock: FakeClock) -> None:
    berlin = await build(replace(settings, timezone=BERLIN), clock)
    try:
        await enrol(berlin, 3601, clock())
        # Friday 27 March 2026 (CET, UTC+1) and Monday 30 March (CEST, UTC+2): working days
        assert chinese_calendar.is_workday(date(2026, 3, 27))
        assert chinese_calendar.is_workday(date(2026, 3, 30))
        assert invited(await berlin.tick(datetime(2026, 3, 27, 7, 59, tzinfo=UTC))) == []
        (push,) = invites(await berlin.tick(datetime(2026, 3, 27, 8, 0, tzinfo=UTC)))
        assert push.user_id == 3601 and push.key == "invite:2026-03-27"
        assert invited(await berlin.tick(datetime(2026, 3, 30, 6, 59, tzinfo=UTC))) == []
        (push,) = invites(await berlin.tick(datetime(2026, 3, 30, 7, 0, tzinfo=UTC)))
        assert push.key == "invite:2026-03-30"
        # the last-invite cut-off is local too: 17:59 CEST is 15:59 UTC
        await berlin.store.upsert_person(3602, "Late", {Role.STAFF}, clock())
        assert invited(await berlin.tick(datetime(2026, 3, 31, 15, 59, tzinfo=UTC))) == [
            3601, 3602]
        await berlin.store.upsert_person(3603, "Later", {Role.STAFF}, clock())
        assert invited(await berlin.tick(datetime(2026, 3, 31, 16, 0, tzinfo=UTC))) == []
    finally:
        await berlin.store.close()


# --- bugs found ---------------------------------------------------------------------------


async def test_answer_during_a_tick_is_recorded(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    for uid in range(11_000, 11_050):
        await enrol(assistant, uid, clock())
    q = (await admin.say("/drill"))[0]
    payload = await option_payload(assistant, q, right=True)
    pushes, replies = await asyncio.gather(
        assistant.tick(sh(2026, 11, 30, 9, 0)), admin.tap(payload))
    assert len(invites(pushes)) == 51
    assert len(replies) == 2
    assert await scalar(assistant, "SELECT COUNT(*) FROM answers") == 1


async def test_concurrent_double_tap_records_one_answer_without_error(
        admin: Chat, assistant: Assistant) -> None:
    q = (await admin.say("/drill"))[0]
    payload = await option_payload(assistant, q, right=True)
    first, second = await asyncio.gather(admin.tap(payload), admin.tap(payload),
                                         return_exceptions=True)
    assert not isinstance(first, BaseException) and not isinstance(second, BaseException)
    assert sorted(len(r) for r in (first, second)) == [1, 2]
    assert await scalar(assistant, "SELECT COUNT(*) FROM answers") == 1


async def test_an_accepted_evening_reminder_time_is_honoured(
        admin: Chat, assistant: Assistant) -> None:
    await admin.say("/remind 19:00")
    accepted = await scalar(
        assistant, "SELECT remind_at FROM people WHERE user_id = ?", ADMIN) == "19:00"
    pushes = await assistant.tick(sh(2026, 11, 30, 19, 5))
    assert not accepted or invited(pushes) == [ADMIN]


async def test_progress_counts_only_completed_drills(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    await run_drill(admin, [True, True, True])
    clock.advance(days=1)
    await admin.say("/drill")
    await answer(admin, right=True)  # then abandoned
    clock.advance(days=1)
    await admin.say("/progress")
    assert "完成小测：1 次" in admin.last[0].text
