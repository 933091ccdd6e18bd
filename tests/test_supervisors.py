"""The supervisors' rough edges (issue 19, item 5), each through the real assistant, store,
CLI or Telegram adapter."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.assistant import Assistant
from bot.chart import draw, find_cjk_font
from bot.config import Settings
from bot.demo import DEMO_STAFF, DEMO_TEAM, seed
from bot.i18n import t
from bot.models import Inbound, Lang, Person, Reply, ReplyKind, Role
from bot.reports import PersonActivity, TeamSummary, wilson_upper
from bot.text import latin
from tests.botrun import TOKEN, running_bot
from tests.conftest import ADMIN, Chat, FakeClock
from tests.fake_bot_api import FakeBotApi
from tests.test_items import answer, five_items, wrong
from tests.test_staff import ROOT, drill_through, join, png_size, report, scalar, shanghai, table

# --- the command line: --db, the teams it holds, never a new file -----------------------------


def cli(cwd: Path, *args: str, db: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           "COACH_KNOWLEDGE": str(ROOT / "knowledge"), **({"COACH_DB": str(db)} if db else {})}
    return subprocess.run([sys.executable, "-m", "bot", "report", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)


async def test_report_without_a_team_lists_the_teams_of_the_file_it_opened(
        admin: Chat, settings: Settings, tmp_path: Path) -> None:
    await admin.say("/team add 柜面一组")
    await admin.say("/team add B")
    done = cli(tmp_path, "--db", str(settings.db))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"teams in {settings.db}: B, 柜面一组\n"
    elsewhere = tmp_path / "elsewhere.db"  # --db wins over COACH_DB
    done = cli(tmp_path, "--db", str(settings.db), "--team", "b", db=elsewhere)
    assert done.returncode == 0 and done.stdout.startswith("团队 B 汇总"), done.stderr
    done = cli(tmp_path, "--db", str(settings.db), "--team", "演示组")
    assert done.returncode == 2
    assert done.stderr == (f"counter-coach: no team '演示组' in {settings.db}; "
                           "teams: B, 柜面一组\n")
    assert not elsewhere.exists()


@pytest.mark.parametrize("how", ["default", "COACH_DB", "--db"])
def test_report_never_creates_a_database(tmp_path: Path, how: str) -> None:
    missing = tmp_path / "nope" / "coach.db"
    if how == "default":
        done, shown = cli(tmp_path, "--team", "A"), "data/coach.db"
    elif how == "COACH_DB":
        done, shown = cli(tmp_path, db=missing), str(missing)
    else:
        done, shown = cli(tmp_path, "--db", str(missing)), str(missing)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"counter-coach: no database at {shown} (nothing created); the "
                           "console chat's demo data is in data/demo.db; choose one with --db FILE\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


async def test_report_people_table_at_the_command_line(admin: Chat, settings: Settings,
                                                      tmp_path: Path) -> None:
    await admin.say("/team add A")
    await join(admin, "A", "staff", 201, "张三")
    out = tmp_path / "people.csv"
    done = report(settings.db, "--team", "A", "--people", "--format", "csv", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert rows[0][:3] == ["团队", "姓名", "用户ID"] and [r[1] for r in rows[1:]] == ["张三", "团队合计"]
    done = report(settings.db, "--team", "A", "--people")
    assert done.returncode == 2 and b"--people is csv" in done.stderr


# --- periods ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["/summary 1y", "/summary 30", "/summary 30天", "/summary A 1y",
                                     "/summary 2weeks A", "/items 3个月", "/export A 90",
                                     "/items A 14d"])
async def test_a_period_that_is_not_one_says_which_periods_there_are(
        admin: Chat, assistant: Assistant, command: str) -> None:
    await admin.say("/team add A")
    before = await scalar(assistant, "SELECT COUNT(*) FROM audit")
    assert await admin.say(command) == [Reply(t("period_bad", Lang.ZH))]
    await admin.say("/lang en")
    assert await admin.say(command) == [Reply("The period is 7d, 30d or 90d, e.g. 30d.")]
    assert await scalar(assistant, "SELECT COUNT(*) FROM audit") == before


async def test_periods_and_teams_in_either_order(admin: Chat) -> None:
    await admin.say("/team add A")
    await admin.say("/team add 30")  # a team may be called "30": then /summary 30 is that team
    assert (await admin.say("/summary 30d A"))[0].text.startswith("团队 A 汇总（2026-11-01 至")
    assert (await admin.say("/summary 30"))[0].text.startswith("团队 30 汇总（2026-11-24 至")
    assert (await admin.say("/summary 30 90d"))[0].text.startswith("团队 30 汇总（2026-09-02 至")
    for usage in ("/summary A B", "/summary 7d 30d", "/summary A 7d B"):
        assert await admin.say(usage) == [Reply(t("summary_usage", Lang.ZH))], usage
    assert await admin.say("/export A B") == [Reply(t("export_usage", Lang.ZH))]
    assert await admin.say("/items A B") == [Reply(t("items_usage", Lang.ZH))]


# --- /nudge: once a day per person, stored, with a button ------------------------------------


async def test_nudge_once_a_day_whoever_asks_and_after_a_restart(
        admin: Chat, assistant: Assistant, clock: FakeClock, settings: Settings) -> None:
    await admin.say("/team add A")
    late = await join(admin, "A", "staff", 201, "张三")
    first = await join(admin, "A", "supervisor", 301, "王主管")
    second = await join(admin, "A", "supervisor", 302, "赵主管")
    await drill_through(late, [False, False, False])
    clock.advance(days=8)  # past the 7-day grace: three overdue topics
    assert await first.say("/nudge A") == [Reply(t("nudged", Lang.ZH, n=1))]
    (push,) = await assistant.store.drain_pushes(clock())
    assert push.user_id == 201 and push.key == "nudge:2026-12-08"
    assert push.reply.text == t("nudge", Lang.ZH, n=3)
    assert push.reply.buttons[0][0].label == t("invite_button", Lang.ZH) == "开始小测"
    before = Reply(f"{t('nudged', Lang.ZH, n=0)}\n{t('nudged_before', Lang.ZH, n=1)}")
    assert await second.say("/nudge") == [before]  # another supervisor, the same day
    restarted = Assistant(settings, assistant.store, assistant.library, clock)
    await restarted.start()
    assert await restarted.handle(Inbound(301, "王主管", text="/nudge A")) == [before]
    assert await assistant.store.drain_pushes(clock()) == []  # one outbox for both
    assert await table(assistant, "SELECT user_id, kind, day FROM pushes WHERE kind = 'nudge'"
                       ) == [(201, "nudge", "2026-12-08")]
    clock.advance(days=1)  # the next day: again
    assert await second.say("/nudge A") == [Reply(t("nudged", Lang.ZH, n=1))]
    (push,) = await assistant.store.drain_pushes(clock())
    late.last = [push.reply]
    replies = await late.press("开始小测")
    assert replies[0].title == "小测 1/3"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN) as server:
        yield server


async def test_nudge_export_and_remove_over_telegram(api: FakeBotApi, settings: Settings) -> None:
    """The real adapter: the nudge carries its button, /export sends two files, /remove asks."""
    async with running_bot(api, settings) as bot:
        assistant = bot.assistant
        assert assistant is not None
        store, now = assistant.store, datetime.now(UTC)
        await store.add_team("A", now)
        await store.upsert_person(ADMIN, "Admin", {Role.STAFF, Role.SUPERVISOR, Role.ADMIN}, now)
        await store.upsert_person(201, "张三", {Role.STAFF}, now - timedelta(days=20))
        await store.set_team(201, "A")
        item = five_items(assistant)[0]
        await answer(assistant, 201, [(item, wrong(item))], now - timedelta(days=10))

        await api.send_text(ADMIN, "/nudge A")
        await api.wait_for(lambda cs: any(c.params.get("chat_id") == 201 for c in cs
                                          if c.method == "sendMessage"))
        (nudge,) = [c for c in api.calls("sendMessage") if c.params["chat_id"] == 201]
        assert nudge.params["text"] == t("nudge", Lang.ZH, n=1)
        assert nudge.params["reply_markup"] == {"inline_keyboard": [[
            {"text": "开始小测", "callback_data": "drill:start"}]]}
        await api.wait_for(lambda cs: len(api.sent_texts(ADMIN)) == 1)  # the nudge may come first
        assert api.sent_texts(ADMIN)[-1] == t("nudged", Lang.ZH, n=1)
        await api.send_text(ADMIN, "/nudge A")
        await api.wait_for(lambda cs: len(api.sent_texts(ADMIN)) == 2)
        assert "今天已经提醒过" in api.sent_texts(ADMIN)[-1]
        assert len([c for c in api.calls("sendMessage") if c.params["chat_id"] == 201]) == 1
        assert nudge.response is not None
        await api.send_callback(201, "drill:start", nudge.response["result"]["message_id"])
        await api.wait_for(lambda cs: any("小测 1/3" in t for t in api.sent_texts(201)))

        await api.send_text(ADMIN, "/export A")
        docs = await api.wait_for_call("sendDocument", 2)
        assert [d.files["document"][0] for d in docs] == [
            f"coach-A-{now.astimezone(settings.timezone).date()}.csv",
            f"coach-A-{now.astimezone(settings.timezone).date()}-people-30d.csv"]

        await api.send_text(ADMIN, "/remove 201")
        await api.wait_for(lambda cs: len(api.sent_texts(ADMIN)) == 3)
        ask = api.calls("sendMessage")[-1]
        assert ask.params["text"].startswith("确定删除 张三（ID 201，团队 A）")
        assert await store.person(201) is not None
        assert ask.response is not None
        await api.send_callback(ADMIN, "rm:201", ask.response["result"]["message_id"])
        await api.wait_for(lambda cs: t("removed", Lang.ZH, id="201") in api.sent_texts(ADMIN))
        await api.wait_for_call("editMessageReplyMarkup")
        assert await store.person(201) is None
        assert "reply_markup" not in api.message(ADMIN, ask.response["result"]["message_id"])


# --- /remove asks first -----------------------------------------------------------------------


async def test_remove_button_is_no_licence(admin: Chat, assistant: Assistant) -> None:
    """Only an administrator's press erases; a forged or replayed button does nothing."""
    await admin.say("/team add A")
    staff = await join(admin, "A", "staff", 201, "张三")
    boss = await join(admin, "A", "supervisor", 301, "王主管")
    for chat in (staff, boss):
        assert await chat.tap("rm:201") == [Reply(t("not_allowed", Lang.ZH))]
    assert await admin.tap(f"rm:{ADMIN}") == [Reply(t("stale_button", Lang.ZH))]
    assert await admin.tap("rm:abc") == [Reply(t("stale_button", Lang.ZH))]
    assert await scalar(assistant, "SELECT COUNT(*) FROM people WHERE user_id IN (201, ?)",
                        ADMIN) == 2
    assert await admin.say("/remove 99999999999999999999999") == [
        Reply(t("remove_usage", Lang.ZH))]
    assert await scalar(assistant, "SELECT COUNT(*) FROM audit WHERE action = 'remove'") == 0


# --- the per-person completion table -----------------------------------------------------------


async def test_export_sends_a_completion_table_per_person(admin: Chat, assistant: Assistant,
                                                         clock: FakeClock) -> None:
    await admin.say("/team add A")
    one = await join(admin, "A", "staff", 201, "张三")
    await join(admin, "A", "staff", 202, "李四")
    clock.advance(days=1)  # Tuesday: Monday counts as due for both
    await drill_through(one, [True, True, False])
    replies = await admin.say("/export A 7d")
    assert [r.filename for r in replies] == ["coach-A-2026-12-01.csv",
                                             "coach-A-2026-12-01-people-7d.csv"]
    assert replies[1].text == t("export_people_caption", Lang.ZH, start="2026-11-25",
                                end="2026-12-01")
    rows = list(csv.reader(io.StringIO(replies[1].data.decode("utf-8-sig"))))
    assert rows == [
        ["团队", "姓名", "用户ID", "起", "止", "有小测的天数", "应训工作日", "完成率", "完成小测", "作答次数",
         "正确率", "到期主题", "逾期主题", "最近活动"],
        ["A", "张三", "201", "2026-11-25", "2026-12-01", "1", "2", "50%", "1", "3", "67%", "1",
         "0", "2026-12-01"],
        ["A", "李四", "202", "2026-11-25", "2026-12-01", "0", "1", "0%", "0", "0", "", "0", "0",
         ""],
        ["A", "团队合计", "", "2026-11-25", "2026-12-01", "1", "3", "33%", "1", "3", "67%", "1", "0",
         ""]]
    s = await assistant.staff.summary("A", 7, clock())
    assert s.completion == pytest.approx(1 / 3)  # the same figure as /summary


# --- weakest topics for a team of four ------------------------------------------------------------


def test_wilson_upper_bound() -> None:
    assert wilson_upper(0, 3) == pytest.approx(0.5615, abs=1e-4)
    assert wilson_upper(1, 4) == pytest.approx(0.6994, abs=1e-4)
    assert wilson_upper(2, 4) == pytest.approx(0.8500, abs=1e-4)
    assert wilson_upper(4, 10) == pytest.approx(0.6873, abs=1e-4)
    assert wilson_upper(0, 0) == 1.0


async def test_weakest_topics_show_for_a_team_of_four(admin: Chat, assistant: Assistant,
                                                      clock: FakeClock) -> None:
    await admin.say("/team add A")
    people = [201, 202, 203, 204]
    for uid in people:
        await join(admin, "A", "staff", uid, f"员工{uid}")
    weak, even, thin, *_ = five_items(assistant)
    kb = assistant.library.kb
    for n, uid in enumerate(people):  # once each: weak 1/4 right, even 2/4, thin 0/2
        plan = [(weak, weak.correct.id if n == 0 else wrong(weak)),
                (even, even.correct.id if n < 2 else wrong(even))]
        await answer(assistant, uid, plan + ([(thin, wrong(thin))] if n < 2 else []), clock())
    s = await assistant.staff.summary("A", 7, clock())
    assert [tp.card_id for tp in s.weakest()] == [weak.card_id]
    text = (await admin.say("/summary A"))[0].text
    assert "最薄弱的主题（至少 3 次作答，正确率很可能低于 80%）：" in text
    assert f"• {kb.cards[weak.card_id].title.zh}: 25% (1/4)" in text
    assert kb.cards[even.card_id].title.zh not in text and kb.cards[thin.card_id].title.zh not in text


# --- /pause counts working days and says when it ends ------------------------------------------


async def test_pause_on_a_sunday_counts_working_days_and_names_the_end(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    clock.current = shanghai(date(2026, 12, 6), 10)  # Sunday
    await admin.say("/pause 3")
    assert admin.last == [Reply("已暂停提醒 3 个工作日，至 2026-12-09（周三，含）；2026-12-10（周四）起恢复。")]
    assert await table(assistant, "SELECT start, until FROM pauses") == [
        ("2026-12-06", "2026-12-09")]
    await admin.say("/lang en")
    clock.current = shanghai(date(2026, 9, 30), 10)  # Wednesday before the National Day week
    await admin.say("/pause 2")
    assert admin.last == [Reply("Reminders paused for 2 working day(s): until 2026-10-08 (Thu) "
                                "inclusive; back on 2026-10-09 (Fri).")]
    for lang, text in (("zh-Hant", "已暫停提醒 2 個工作日，至 2026-10-08（週四，含）；2026-10-09（週五）起恢復。"),
                       ("zh-TW", "已暫停提醒 2 個工作日，至 2026-10-08（週四，含）；2026-10-09（週五）起恢復。")):
        await admin.say(f"/lang {lang}")  # weekday names in the traditional scripts too
        await admin.say("/pause 2")
        assert admin.last == [Reply(text)]


# --- the chart --------------------------------------------------------------------------------------


def texts_of(fig: object) -> dict[str, list[str]]:
    """Every text drawn: titles, tick labels, notes, per axis; "figure" for the title."""
    out: dict[str, list[str]] = {"figure": [x.get_text() for x in fig.texts]}  # type: ignore[attr-defined]
    for n, axis in enumerate(fig.axes):  # type: ignore[attr-defined]
        out[f"title{n}"] = [axis.get_title()]
        out[f"labels{n}"] = [x.get_text() for x in axis.get_yticklabels()]
        out[f"notes{n}"] = [x.get_text() for x in axis.texts]
    return out


def overlaps(fig: object, axis: int) -> list[tuple[str, str]]:
    fig.canvas.draw()  # type: ignore[attr-defined]
    labels = fig.axes[axis].get_yticklabels()  # type: ignore[attr-defined]
    boxes = [(x.get_text(), x.get_window_extent()) for x in labels]
    return [(a, b) for i, (a, ba) in enumerate(boxes) for b, bb in boxes[i + 1:] if ba.overlaps(bb)]


async def test_chart_of_the_demo_team_labels_every_bar(assistant: Assistant,
                                                       clock: FakeClock) -> None:
    await seed(assistant, 1, clock())
    s = await assistant.staff.summary(DEMO_TEAM, 30, clock())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph would warn
        fig, lang = draw(s, Lang.ZH, None)  # no CJK font: English, names transliterated
    shown = texts_of(fig)
    assert lang is Lang.EN
    assert shown["figure"] == [f"Team Yan Shi Zu: 2026-11-01 to 2026-11-30, completion "
                               f"{round(100 * (s.completion or 0))}%"]
    assert shown["labels0"] == ["Chen Jing", "Li Qiang", "Wang Fang", "Zhao Min"]
    assert len(DEMO_STAFF) == 4 and not any("#" in x for x in shown["labels0"])
    for p, note in zip(s.people, shown["notes0"], strict=True):
        assert note.endswith(f"  {min(p.drill_days, p.expected_days)}/{p.expected_days}")
    sections = s.by_section()
    assert len(shown["notes1"]) == len(sections) == 6
    assert all("(n=" in note for note in shown["notes1"])
    assert sum(int(n.split("n=")[1].rstrip(")")) for n in shown["notes1"]) == sum(
        n for _, n in sections.values())
    assert overlaps(fig, 0) == [] and overlaps(fig, 1) == []
    assert max(len(line) for x in shown["labels1"] for line in x.split("\n")) <= 16
    assert s.weakest()  # a team of four has weakest topics over a month


async def test_chart_of_an_empty_team_says_no_data_yet(admin: Chat, assistant: Assistant) -> None:
    await admin.say("/team add 营业部")
    s = await assistant.staff.summary("营业部", 7, assistant.now())
    fig, _ = draw(s, Lang.EN, None)
    shown = texts_of(fig)
    assert shown["notes0"] == shown["notes1"] == ["No data yet"]
    assert shown["figure"][0].startswith("Team Ying Ye Bu: ")
    font = find_cjk_font(None)
    if font is not None:
        fig, _ = draw(s, Lang.ZH, font)
        assert texts_of(fig)["notes0"] == ["暂无数据"]


async def test_chart_grows_with_the_team_and_keeps_names_apart(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    store = assistant.store
    await store.add_team("A", clock())
    for n in range(25):
        await store.upsert_person(500 + n, f"欧阳{'小龙娜丽'[n % 4]}{n}", {Role.STAFF}, clock())
        await store.set_team(500 + n, "A")
    s: TeamSummary = await assistant.staff.summary("A", 7, clock())
    fig, _ = draw(s, Lang.ZH, None)
    assert overlaps(fig, 0) == []
    names = texts_of(fig)["labels0"]
    assert set(names) == {f"Ouyang {['Xiao', 'Long', 'Na', 'Li'][n % 4]} {n}" for n in range(25)}
    replies = await admin.say("/summary A")
    assert replies[1].kind is ReplyKind.PHOTO
    width, height = png_size(replies[1].data)
    assert width == 1000 and height > 1000


@pytest.mark.parametrize(("text", "name", "expected"), [
    ("王芳", True, "Wang Fang"), ("王小龙", True, "Wang Xiaolong"), ("曾乐", True, "Zeng Le"),
    ("欧阳娜娜", True, "Ouyang Nana"), ("小王🌟", True, "Xiao Wang"), ("Chen Jing", True, "Chen Jing"),
    ("演示组", False, "Yan Shi Zu"), ("第一支行", False, "Di Yi Zhihang"), ("A组", False, "A Zu"),
    ("柜面一组 2", False, "Gui Mian Yi Zu 2"), ("Иван", False, "Ivan"), ("🌟", True, ""),
])
def test_latin_names_for_a_font_without_chinese(text: str, name: bool, expected: str) -> None:
    assert latin(text, name=name) == expected
    assert latin("Иван", lambda c: True) == "Иван"  # what the font can draw stays


def test_chart_of_a_big_team_shows_those_furthest_behind() -> None:
    people = tuple(PersonActivity(Person(n, f"P{n:02d}", None, frozenset({Role.STAFF})),
                                  drill_days=n % 20, expected_days=20, drills=n % 20, answers=0,
                                  correct=0, due=0, overdue=0, last_active=None)
                   for n in range(200))
    s = TeamSummary("Big", 30, date(2026, 11, 1), date(2026, 11, 30), people, (), ())
    fig, _ = draw(s, Lang.EN, None)
    shown = texts_of(fig)
    assert len(shown["labels0"]) == 30 and shown["title0"] == [
        "Completion (drill days / working days due)\n(the 30 lowest of 200)"]
    assert shown["labels0"][:3] == ["P00", "P100", "P120"]  # 0/20 first, then by name
    assert all(note.endswith(("  0/20", "  1/20", "  2/20")) for note in shown["notes0"])
    width, height = (round(x) for x in fig.get_size_inches() * fig.dpi)
    assert width == 1000 and height <= 1500  # Telegram: width + height <= 10000
