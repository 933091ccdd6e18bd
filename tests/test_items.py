"""Item analytics: /items and `report --items`, through the real assistant, store and CLI."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.assistant import Assistant
from bot.config import Settings
from bot.i18n import section_name, t
from bot.items import MIN_ITEM_ANSWERS, Flag, ItemStat
from bot.models import DrillItem, Lang, Reply, ReplyKind
from bot.schedule import after_answer
from bot.store import Press
from tests.conftest import Chat, FakeClock
from tests.test_staff import BOM, join, report, table

ITEM_HEADER_ZH = ["题目ID", "主题ID", "主题", "章节", "卡片版本", "题目", "作答次数", "答对", "正确率",
                  "最常选的错误选项", "该选项次数", "提示"]
ITEM_HEADER_EN = ["Question id", "Topic id", "Topic", "Section", "Card version", "Question",
                  "Answers", "Right", "Accuracy", "Most chosen wrong option", "Times chosen", "Flag"]


async def answer(assistant: Assistant, user_id: int, picks: list[tuple[DrillItem, str]],
                 now: datetime, older_version: bool = False) -> None:
    """These options pressed, straight into the store (one drill); `older_version`: as if
    answered before the card's last version bump."""
    kb = assistant.library.kb

    def lookup(item_id: str) -> tuple[DrillItem, int] | None:
        found = assistant.training.lookup(item_id)
        return None if found is None else (found[0], found[1] - older_version)

    drill = await assistant.store.start_drill(
        user_id, now, [(i.id, [o.id for o in i.options]) for i, _ in picks])
    for position, (item, option) in enumerate(picks):
        pressed = await assistant.store.answer_drill(user_id, drill.id, position, option, now,
                                                     lookup, after_answer)
        assert pressed.press is Press.STORED
        assert kb.items[item.id] == item


def wrong(item: DrillItem, n: int = 0) -> str:
    return [o.id for o in item.options if not o.correct][n]


def five_items(assistant: Assistant) -> list[DrillItem]:
    """Five items of five different cards, each with at least two wrong options."""
    chosen: dict[str, DrillItem] = {}
    for item in sorted(assistant.library.kb.items.values(), key=lambda i: i.id):
        if len(item.options) >= 3 and item.card_id not in chosen:
            chosen[item.card_id] = item
    return list(chosen.values())[:5]


def rows_of(reply: Reply) -> list[list[str]]:
    assert reply.kind is ReplyKind.FILE and reply.data.startswith(BOM)
    return list(csv.reader(io.StringIO(reply.data.decode("utf-8-sig"))))


async def seed_team(admin: Chat, assistant: Assistant, clock: FakeClock
                    ) -> tuple[list[DrillItem], Chat]:
    """Team A of four answers five items (the plans below); team B's Bob answers one."""
    await admin.say("/team add A")
    await admin.say("/team add B")
    people = [201, 202, 203, 204]
    for uid, name in zip(people, ("张三", "李四", "王五", "赵六"), strict=True):
        await join(admin, "A", "staff", uid, name)
    await join(admin, "B", "staff", 301, "Bob")
    boss = await join(admin, "A", "supervisor", 401, "王主管")
    easy, unclear, miskeyed, fine, few = items = five_items(assistant)
    plans = {
        easy: [easy.correct.id] * 10,  # 100% right: too easy
        unclear: [unclear.correct.id] * 2 + [wrong(unclear)] * 5 + [wrong(unclear, 1)] * 3,
        miskeyed: [miskeyed.correct.id] * 4 + [wrong(miskeyed)] * 5 + [wrong(miskeyed, 1)],
        fine: [fine.correct.id] * 7 + [wrong(fine)] * 2 + [wrong(fine, 1)],
        few: [wrong(few)] * 9,  # all wrong, but too few answers to judge
    }
    picks: dict[int, list[tuple[DrillItem, str]]] = defaultdict(list)
    for item, options in plans.items():
        for n, option in enumerate(options):
            picks[people[n % 4]].append((item, option))
    for uid, mine in picks.items():
        await answer(assistant, uid, mine, clock())
    await answer(assistant, 301, [(easy, wrong(easy))] * 3, clock())  # team B
    await answer(assistant, 201, [(fine, fine.correct.id)] * 5,  # before this week
                 clock() - timedelta(days=10))
    return items, boss


async def test_items_counts_flags_and_most_chosen_wrong_option(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    (easy, unclear, miskeyed, fine, few), boss = await seed_team(admin, assistant, clock)
    replies = await boss.say("/items A")
    assert [r.kind for r in replies] == [ReplyKind.TEXT, ReplyKind.FILE]
    text = replies[0].text
    lines = text.split("\n")
    assert lines[0] == t("items_head", Lang.ZH, team="A", start="2026-11-24", end="2026-11-30")
    assert lines[1] == t("items_totals", Lang.ZH, answers=49, items=5, judged=4, n=10)
    assert lines[2] == t("items_rule", Lang.ZH, n=10, easy="95%", unclear="30%")
    assert "太简单" in lines[2] and "可能不清楚" in lines[2]

    def line(item: DrillItem) -> str:
        (found,) = [x for x in lines if f"（{item.id}）：" in x]
        return found

    def top_wrong(item: DrillItem, shown: str, k: int) -> None:
        """`shown` ends with the most chosen wrong option (shortened) and how often."""
        option = item.option(wrong(item))
        assert option is not None and shown.endswith(f"” ×{k}")
        quoted = shown.split("最常选错：“")[1].removesuffix(f"” ×{k}").removesuffix("…")
        assert option.text.zh.startswith(quoted)

    assert line(unclear).startswith("• ") and "：正确率 20%（2/10）；最常选错：“" in line(unclear)
    top_wrong(unclear, line(unclear), 5)
    assert "正确率 40%（4/10）" in line(miskeyed)  # 40%, but one wrong option beat the key
    top_wrong(miskeyed, line(miskeyed), 5)
    assert "正确率 100%（10/10）" in line(easy) and "最常选错" not in line(easy)
    assert "正确率 0%（0/9）" in line(few)
    assert "正确率 70%（7/10）" in line(fine)
    # the lists, in order: unclear (lowest first), too easy, then the most missed of the rest
    order = [lines.index(x) for x in (t("items_unclear", Lang.ZH), line(unclear), line(miskeyed),
                                      t("items_easy", Lang.ZH), line(easy),
                                      t("items_missed", Lang.ZH), line(few), line(fine))]
    assert order == sorted(order)
    assert lines[-1] == t("items_file", Lang.ZH)

    rows = rows_of(replies[1])
    assert rows[0] == ITEM_HEADER_ZH
    kb = assistant.library.kb
    by_item = {r[0]: r for r in rows[1:]}
    assert [r[0] for r in rows[1:]] == [few.id, unclear.id, miskeyed.id, fine.id, easy.id]
    card = kb.cards[unclear.card_id]
    option = unclear.option(wrong(unclear))
    assert option is not None
    assert by_item[unclear.id] == [unclear.id, card.id, card.title.zh,
                                   section_name(card.section, Lang.ZH), str(card.version), unclear.question.zh, "10", "2", "20%",
                                   option.text.zh, "5", "可能不清楚"]
    assert by_item[miskeyed.id][-1] == "可能不清楚"
    assert by_item[easy.id][6:] == ["10", "10", "100%", "", "", "太简单"]
    assert by_item[fine.id][6:9] == ["10", "7", "70%"] and by_item[fine.id][-1] == ""
    assert by_item[few.id][6:9] == ["9", "0", "0%"] and by_item[few.id][-1] == "作答太少"
    assert await table(assistant, "SELECT actor, detail FROM audit WHERE action = 'report.items'"
                       ) == [(401, "teams=A days=7")]


async def test_items_period_scope_and_language(admin: Chat, assistant: Assistant,
                                               clock: FakeClock) -> None:
    (easy, unclear, miskeyed, fine, few), boss = await seed_team(admin, assistant, clock)
    month = (await boss.say("/items 30d"))[0].text  # the supervisor's own team; a month
    assert "正确率 80%（12/15）" in month  # the 5 right answers of 10 days ago count now
    assert "（2026-11-01 至 2026-11-30" in month
    everyone = await admin.say("/items")  # an administrator without a team: every answer
    assert everyone[0].text.startswith(t("items_head", Lang.ZH, team="全部团队", start="2026-11-24",
                                         end="2026-11-30"))
    assert f"（{easy.id}）：正确率 77%（10/13）" in everyone[0].text  # with Bob's three misses
    assert t("items_easy", Lang.ZH) not in everyone[0].text  # so no longer too easy
    assert await admin.say("/items Z") == [Reply(t("no_such_team", Lang.ZH, team="Z"))]
    assert await boss.say("/items B") == [Reply(t("not_your_team", Lang.ZH, team="B"))]

    await admin.say("/remove 204")  # a person who leaves: their answers stay, anonymous
    await admin.press(t("remove_yes", Lang.ZH))
    team_a = (await boss.say("/items A"))[0].text
    assert t("items_totals", Lang.ZH, answers=39, items=5, judged=0, n=10) in team_a
    assert t("items_totals", Lang.ZH, answers=52, items=5, judged=4, n=10) in (
        await admin.say("/items"))[0].text

    await boss.say("/lang en")
    replies = await boss.say("/items A 30d")
    assert replies[0].text.startswith("Drill questions, A (2026-11-01 to 2026-11-30, current")
    assert "most chosen wrong" in replies[0].text
    assert rows_of(replies[1])[0] == ITEM_HEADER_EN
    assert replies[1].filename == "coach-items-A-2026-11-30-30d.csv"


async def test_items_in_chat_count_only_the_cards_current_versions(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    await admin.say("/team add A")
    await join(admin, "A", "staff", 201, "张三")
    item = five_items(assistant)[0]
    await answer(assistant, 201, [(item, wrong(item))] * 12, clock(), older_version=True)
    await answer(assistant, 201, [(item, item.correct.id)] * 2, clock())
    replies = await admin.say("/items A")
    assert t("items_totals", Lang.ZH, answers=2, items=1, judged=0, n=10) in replies[0].text
    assert t("items_unclear", Lang.ZH) not in replies[0].text  # the old wording was unclear
    version = assistant.library.kb.cards[item.card_id].version
    rows = rows_of(replies[1])[1:]
    assert [(r[0], r[4], r[6], r[7], r[-1]) for r in rows] == [
        (item.id, str(version - 1), "12", "0", "可能不清楚"),
        (item.id, str(version), "2", "2", "作答太少")]


@pytest.mark.parametrize(("right", "wrongs", "flag"), [
    (19, (1,), Flag.TOO_EASY),  # 95%
    (18, (1, 1), None),  # 90%
    (3, (4, 3), Flag.UNCLEAR),  # 30%
    (4, (3, 3), None),  # 40%, the key ahead of each wrong option
    (4, (5, 1), Flag.UNCLEAR),  # a wrong option chosen more often than the right one
    (0, (9,), Flag.FEW),  # nine answers are not enough to judge
    (MIN_ITEM_ANSWERS, (), Flag.TOO_EASY),
])
def test_item_flag_thresholds(assistant: Assistant, right: int, wrongs: tuple[int, ...],
                              flag: Flag | None) -> None:
    item = five_items(assistant)[0]
    card = assistant.library.kb.cards[item.card_id]
    wrong_ids = [o.id for o in item.options if not o.correct]
    stat = ItemStat(item, card, card.version, right + sum(wrongs), right,
                    tuple(zip(wrong_ids, wrongs, strict=False)))
    assert stat.flag is flag


async def test_report_items_at_the_command_line(admin: Chat, assistant: Assistant,
                                                clock: FakeClock, settings: Settings,
                                                tmp_path: Path) -> None:
    """The CLI runs at today's real date, so these answers are dated today too."""
    await admin.say("/team add A")
    await admin.say("/team add B")
    await join(admin, "A", "staff", 201, "张三")
    await join(admin, "B", "staff", 301, "Bob")
    item = five_items(assistant)[0]
    today = datetime.now(clock().tzinfo)
    await answer(assistant, 201, [(item, item.correct.id)] * 3 + [(item, wrong(item))], today)
    await answer(assistant, 301, [(item, wrong(item))] * 2, today)

    out = tmp_path / "items.csv"
    done = report(settings.db, "--team", "A", "--items", "--format", "csv", "--lang", "en",
                  "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == ITEM_HEADER_EN
    assert [(r[0], r[6], r[7], r[8]) for r in rows[1:]] == [(item.id, "4", "3", "75%")]
    assert rows[1][-1] == "too few answers"

    done = report(settings.db, "--items", "--format", "csv")  # no team: every answer
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout.decode("utf-8-sig"))))
    assert rows[0] == ITEM_HEADER_ZH and [r[6:9] for r in rows[1:]] == [["6", "3", "50%"]]

    done = report(settings.db, "--team", "A", "--items", "--lang", "en")  # text
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith("Drill questions, A (")
    done = report(settings.db, "--team", "A", "--items", "--format", "png", "--out",
                  str(tmp_path / "x.png"))
    assert done.returncode == 2 and b"--items is text or csv" in done.stderr
    assert await table(assistant, "SELECT detail FROM audit WHERE action = 'report.cli'"
                                  " ORDER BY id") == [
        ("team=A format=csv items",), ("team=* format=csv items",), ("team=A format=text items",)]
