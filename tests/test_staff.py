"""Enrolment, roles, teams and supervisor reports through the real assistant and store."""

from __future__ import annotations

import csv
import io
import os
import re
import struct
import subprocess
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.answers import Library
from bot.assistant import Assistant
from bot.chart import chart_png, find_cjk_font
from bot.config import Settings
from bot.i18n import section_name, t
from bot.models import Button, DrillItem, Inbound, Lang, Push, Reply, ReplyKind, Role
from bot.privacy import mask, pseudonym
from bot.reports import TeamSummary
from bot.schedule import after_answer
from bot.store import Press
from bot.store.migrations import tables
from tests.cards import REAL_CARDS
from tests.conftest import ADMIN, Chat, FakeClock

pytestmark = pytest.mark.both_engines  # the store's SQL on SQLite and PostgreSQL

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BOM = b"\xef\xbb\xbf"
CSV_HEADER = ["Team", "Person", "User id", "Topic id", "Topic", "Section", "Status",
              "Last passed", "Version passed", "Current version", "Answers", "Accuracy"]
CSV_HEADER_ZH = ["团队", "姓名", "用户ID", "主题ID", "主题", "章节", "状态", "最近通过", "通过的版本",
                 "当前版本", "作答次数", "正确率"]
CANTEEN = "食堂今天中午吃什么"  # no card answers this: a knowledge gap
CANTEEN_CARD = "食堂卡号 6222 0212 3456 7890 128 今天中午吃什么"  # a gap with a card number
PARKING = "员工停车场几点关门"  # a gap asked by someone outside the team

STRANGER, STAFF_A, SUP_A, SUP_B, VICTIM = 555, 101, 102, 103, 104
STRANGER_REPLY = Reply(t("not_enrolled", Lang.ZH), low_priority=True)  # sent behind staff replies


# --- helpers ---------------------------------------------------------------------------------


async def scalar(assistant: Assistant, sql: str, *args: object) -> Any:
    row = await assistant.store.row(sql, args)
    return None if row is None else row[0]


async def table(assistant: Assistant, sql: str, *args: object) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await assistant.store.rows(sql, args)]


async def snapshot(assistant: Assistant) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a refused command stored nothing."""
    return {n: sorted(await table(assistant, f"SELECT * FROM {n}"), key=repr)
            for n in tables()}  # the schema's tables, on either engine


def ts(moment: datetime) -> str:
    """A time as the store writes it (UTC ISO-8601, seconds)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def shanghai(day: date, hour: int, minute: int = 0) -> datetime:
    """Local wall-clock time in Asia/Shanghai (UTC+8, no DST) as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def invite_code(replies: list[Reply]) -> str:
    match = re.search(r"/start (\S+)", replies[0].text)
    assert match is not None, replies
    return match[1]


async def join(admin: Chat, team: str, role: str, user_id: int, name: str) -> Chat:
    """The admin makes an invite and the person joins with `/start CODE`."""
    code = invite_code(await admin.say(f"/invite {team} {role}"))
    chat = Chat(admin.assistant, user_id, name)
    replies = await chat.say(f"/start {code}")
    assert replies[0].text == t("joined", Lang.ZH, team=team), replies
    return chat


async def drill_through(chat: Chat, plan: Sequence[bool]) -> list[str]:
    """`/drill`, then press the right (True) or a wrong (False) option for each question.

    A plan shorter than the drill leaves it unfinished. Returns the card ids drilled.
    """
    store, kb = chat.assistant.store, chat.assistant.library.kb
    await chat.say("/drill")
    cards = []
    for right in plan:
        drill = await store.open_drill(chat.user_id)
        assert drill is not None, chat.last
        item = kb.items[drill.items[drill.position][0]]
        option = item.correct.id if right else next(o.id for o in item.options if not o.correct)
        payload = f"a:{drill.id}:{drill.position}:{option}"
        shown = [b.payload for r in chat.last for row in r.buttons for b in row]
        assert payload in shown, (payload, shown)
        await chat.tap(payload)
        cards.append(item.card_id)
    return cards


async def seed_answers(assistant: Assistant, user_id: int, plan: Sequence[tuple[DrillItem, bool]],
                       now: datetime) -> None:
    """Answers straight into the store, in a drill left open (so it is not a completed drill)."""
    store = assistant.store
    spare = plan[0][0]
    items = [(i.id, [o.id for o in i.options]) for i, _ in plan] + [
        (spare.id, [o.id for o in spare.options])]
    drill = await store.start_drill(user_id, now, items)
    for position, (item, right) in enumerate(plan):
        chosen = item.correct.id if right else next(o.id for o in item.options if not o.correct)
        pressed = await store.answer_drill(user_id, drill.id, position, chosen, now,
                                           assistant.training.lookup, after_answer)
        assert pressed.press is Press.STORED and pressed.correct is right


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must come first."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def texts(replies: list[Reply]) -> str:
    return "\n".join(f"{r.title}\n{r.text}" for r in replies)


# --- 1. the access matrix ----------------------------------------------------------------------


@dataclass
class World:
    assistant: Assistant
    chats: dict[str, Chat]


@pytest.fixture
async def world(assistant: Assistant) -> World:
    """Teams A and B; staff of A, supervisors of A and of B, the admin, a stranger."""
    admin = Chat(assistant, ADMIN, "Admin")
    await admin.say("/start")
    await admin.say("/team add A")
    await admin.say("/team add B")
    chats = {
        "staff": await join(admin, "A", "staff", STAFF_A, "张三"),
        "supA": await join(admin, "A", "supervisor", SUP_A, "王主管"),
        "supB": await join(admin, "B", "supervisor", SUP_B, "Bob Lee"),
        "admin": admin,
    }
    await join(admin, "A", "staff", VICTIM, "李四")
    for chat in chats.values():  # the first message notes the language; later ones store nothing
        await chat.say("/help")
    chats["stranger"] = Chat(assistant, STRANGER, "Mallory")
    return World(assistant, chats)


@dataclass(frozen=True)
class Ok:
    """The command works: these texts shown (and not those), this much stored."""

    says: tuple[str, ...] = ()
    never: tuple[str, ...] = ()
    kinds: tuple[ReplyKind, ...] | None = None
    stored: tuple[str, object] | None = None  # (SQL, value); `?` is the actor. None: no change


@dataclass(frozen=True)
class Refused:
    """A supervisor asked about a team that is not theirs."""

    team: str


NO = "not_allowed"
GREETING = Ok(says=("您好",), never=("/summary", "/invite"))
SUP_GREETING = Ok(says=("您好", "/summary"), never=("/invite",))
ADMIN_GREETING = Ok(says=("您好", "/summary", "/invite"))
HELP = Ok(says=("/drill",), never=("/summary", "/invite"))
SUP_HELP = Ok(says=("/drill", "/summary"), never=("/invite",))
ADMIN_HELP = Ok(says=("/drill", "/summary", "/invite"))


def every(expect: Ok | Refused | str) -> dict[str, Ok | Refused | str]:
    return {actor: expect for actor in ("staff", "supA", "supB", "admin")}


def audited(action: str) -> tuple[str, object]:
    return (f"SELECT COUNT(*) FROM audit WHERE actor = ? AND action = '{action}'", 1)


def summary_of(*teams: str) -> Ok:
    kinds = (ReplyKind.TEXT, ReplyKind.PHOTO) * len(teams)
    never = tuple(f"团队 {x} 汇总" for x in "AB" if x not in teams)
    return Ok(says=tuple(f"团队 {x} 汇总" for x in teams), never=never, kinds=kinds,
              stored=audited("report.summary"))


EXPORT = Ok(says=(t("export_caption", Lang.ZH),), kinds=(ReplyKind.FILE, ReplyKind.FILE),
            stored=audited("report.export"))


def items_of(team: str) -> Ok:
    return Ok(says=(f"{team} 小测题目分析", t("items_none", Lang.ZH)),
              kinds=(ReplyKind.TEXT, ReplyKind.FILE), stored=audited("report.items"))

NUDGE = Ok(says=(t("nudged", Lang.ZH, n=0),), stored=audited("nudge"))
SUPERVISORS_ONLY: dict[str, Ok | Refused | str] = {"staff": NO}
ADMINS_ONLY: dict[str, Ok | Refused | str] = {"staff": NO, "supA": NO, "supB": NO}

MATRIX: list[tuple[str, dict[str, Ok | Refused | str]]] = [
    ("/start", {"staff": GREETING, "supA": SUP_GREETING, "supB": SUP_GREETING,
                "admin": ADMIN_GREETING}),
    ("/help", {"staff": HELP, "supA": SUP_HELP, "supB": SUP_HELP, "admin": ADMIN_HELP}),
    ("/topics", every(Ok(says=(t("topics", Lang.ZH),)))),
    ("/card dispute.fee", every(Ok(says=("手续费争议", "现在先做")))),
    ("/lang en", every(Ok(says=(t("lang_set", Lang.EN),),
                          stored=("SELECT lang FROM people WHERE user_id = ?", "en")))),
    ("/drill", every(Ok(says=("小测 1/3",), stored=(
        "SELECT COUNT(*) FROM drills WHERE user_id = ? AND finished_at IS NULL", 1)))),
    ("/due", every(Ok(says=(t("due_none", Lang.ZH, new=REAL_CARDS),)))),
    ("/progress", every(Ok(says=(t("progress_none", Lang.ZH),)))),
    ("/remind 08:00", every(Ok(says=("08:00",), stored=(
        "SELECT remind_at FROM people WHERE user_id = ?", "08:00")))),
    ("/pause 2", every(Ok(says=("2026-12-01",), stored=(
        "SELECT start || '..' || until FROM pauses WHERE user_id = ?", "2026-11-30..2026-12-01")))),
    ("/whoami", {
        "staff": Ok(says=("张三（ID 101）", "角色：staff\n", "团队：A", "主管团队：-")),
        "supA": Ok(says=("角色：staff, supervisor", "团队：-", "主管团队：A")),
        "supB": Ok(says=("角色：staff, supervisor", "主管团队：B")),
        "admin": Ok(says=("角色：admin, staff, supervisor",)),
    }),
    ("/summary", {**SUPERVISORS_ONLY, "supA": summary_of("A"), "supB": summary_of("B"),
                  "admin": summary_of("A", "B")}),
    ("/summary A", {**SUPERVISORS_ONLY, "supA": summary_of("A"), "supB": Refused("A"),
                    "admin": summary_of("A")}),
    ("/summary B", {**SUPERVISORS_ONLY, "supA": Refused("B"), "supB": summary_of("B"),
                    "admin": summary_of("B")}),
    ("/export A", {**SUPERVISORS_ONLY, "supA": EXPORT, "supB": Refused("A"), "admin": EXPORT}),
    ("/nudge A", {**SUPERVISORS_ONLY, "supA": NUDGE, "supB": Refused("A"), "admin": NUDGE}),
    ("/items", {**SUPERVISORS_ONLY, "supA": items_of("A"), "supB": items_of("B"),
                "admin": items_of(t("items_all", Lang.ZH))}),
    ("/items A 30d", {**SUPERVISORS_ONLY, "supA": items_of("A"), "supB": Refused("A"),
                      "admin": items_of("A")}),
    ("/team add C", {**ADMINS_ONLY, "admin": Ok(says=(t("team_added", Lang.ZH, team="C"),), stored=(
        "SELECT COUNT(*) FROM teams WHERE name = 'C'", 1))}),
    ("/invite A staff", {**ADMINS_ONLY, "admin": Ok(says=("邀请码：", "团队 A，角色 staff"), stored=(
        "SELECT COUNT(*) FROM invites WHERE used_by IS NULL AND created_by = ?", 1))}),
    ("/people", {**ADMINS_ONLY, "admin": Ok(says=(
        f"{STAFF_A} 张三 [A] staff", f"{VICTIM} 李四 [A] staff",
        f"{SUP_A} 王主管 [-] staff,supervisor ⭑A", f"{SUP_B} Bob Lee [-] staff,supervisor ⭑B",
        f"{ADMIN} Admin [-] admin,staff,supervisor"), never=(str(STRANGER),))}),
    (f"/move {STAFF_A} B", {**ADMINS_ONLY, "admin": Ok(
        says=(t("moved", Lang.ZH, id=STAFF_A, team="B"),),
        stored=(f"SELECT team FROM people WHERE user_id = {STAFF_A}", "B"))}),
    (f"/remove {VICTIM}", {**ADMINS_ONLY, "admin": Ok(  # asks first; erases nothing yet
        says=(t("remove_confirm", Lang.ZH, name="李四", id=VICTIM, team="A"),))}),
    ("/reload", {**ADMINS_ONLY, "admin": Ok(says=(t("reloaded", Lang.ZH, n=REAL_CARDS),),
                                            stored=audited("reload"))}),
]
ACTORS = ("stranger", "staff", "supA", "supB", "admin")
CASES = [(command, actor, row.get(actor, "stranger")) for command, row in MATRIX
         for actor in ACTORS]


def test_matrix_covers_every_command_and_actor() -> None:
    commands = {c.split()[0].lstrip("/") for c, _ in MATRIX}
    assert commands == {"start", "help", "topics", "card", "lang", "drill", "due", "progress",
                        "remind", "pause", "whoami", "summary", "export", "nudge", "items",
                        "team",
                        "invite", "people", "move", "remove", "reload"}
    for command, row in MATRIX:
        assert set(row) == {"staff", "supA", "supB", "admin"}, command


@pytest.mark.parametrize(("command", "actor", "expect"), CASES,
                         ids=[f"{a}:{c}" for c, a, _ in CASES])
async def test_access_matrix(world: World, command: str, actor: str,
                             expect: Ok | Refused | str) -> None:
    assistant, chat = world.assistant, world.chats[actor]
    before = await snapshot(assistant)
    replies = await chat.say(command)
    after = await snapshot(assistant)
    if expect == "stranger":
        assert replies == [STRANGER_REPLY]
        counters_before = dict(before.pop("counters"))
        counters_after = dict(after.pop("counters"))
        answered = after.pop("strangers")[0]
        assert before.pop("strangers") == [] and after.pop("stranger_minutes") == [(
            ts(world.assistant.now())[:16], 1)] and before.pop("stranger_minutes") == []
        assert after == before  # nothing at all about the stranger...
        assert counters_after == {**counters_before,  # ...but one anonymous count
                                  "stranger_messages": counters_before.get("stranger_messages",
                                                                           0) + 1}
        # and a hashed id with the day they were answered (once a day, so not again)
        assert answered == (pseudonym(STRANGER, world.assistant.stranger_key), "2026-11-30")
        assert re.fullmatch("[0-9a-f]{32}", answered[0])
        assert await chat.say(command) == []
        return
    if expect == NO:
        assert replies == [Reply(t("not_allowed", Lang.ZH))]
        assert after == before
        return
    if isinstance(expect, Refused):
        assert replies == [Reply(t("not_your_team", Lang.ZH, team=expect.team))]
        assert f"团队 {expect.team} " in replies[0].text
        assert after == before
        return
    assert isinstance(expect, Ok)
    shown = texts(replies)
    assert t("not_allowed", Lang.ZH) not in shown and t("not_enrolled", Lang.ZH) not in shown
    for part in expect.says:
        assert part in shown, (part, shown)
    for part in expect.never:
        assert part not in shown, (part, shown)
    if expect.kinds is not None:
        assert tuple(r.kind for r in replies) == expect.kinds
    if expect.stored is None:
        assert after == before
    else:
        sql, value = expect.stored
        assert await scalar(assistant, sql, *([chat.user_id] if "?" in sql else [])) == value


# --- 2. invites, /whoami, /people, /move, /remove ---------------------------------------------


async def test_invite_is_single_use(admin: Chat, assistant: Assistant) -> None:
    await admin.say("/team add A")
    code = invite_code(await admin.say("/invite A staff"))
    first, second = Chat(assistant, 301, "张三"), Chat(assistant, 302, "李四")
    assert (await first.say(f"/start {code}"))[0].text == "欢迎加入团队 A！"
    assert await second.say(f"/start {code}") == [Reply(t("invite_bad", Lang.ZH),
                                                        low_priority=True)]
    assert await scalar(assistant, "SELECT COUNT(*) FROM people WHERE user_id = 302") == 0
    assert await scalar(assistant, "SELECT used_by FROM invites WHERE code = ?", code) == 301
    assert await second.say("/help") == []  # a stranger is answered once a day
    assert await scalar(assistant, "SELECT team FROM people WHERE user_id = 301") == "A"


async def test_invalid_invite_code_is_refused(admin: Chat, assistant: Assistant) -> None:
    await admin.say("/team add A")
    code = invite_code(await admin.say("/invite A staff"))
    someone = Chat(assistant, 302, "李四")
    for n, bad in enumerate(("NOPE-not-a-code",
                             code.lower() if code != code.lower() else code + "x", code[:-1])):
        replies = await someone.say(f"/start {bad}")  # answered once a day, then silence
        assert replies == ([Reply(t("invite_bad", Lang.ZH), low_priority=True)] if n == 0
                           else [])
    assert await scalar(assistant, "SELECT COUNT(*) FROM people WHERE user_id = 302") == 0
    assert await scalar(assistant, "SELECT COUNT(*) FROM invites WHERE used_by IS NULL") == 1


async def test_invite_expires_after_seven_days(admin: Chat, assistant: Assistant,
                                              clock: FakeClock) -> None:
    await admin.say("/team add A")
    replies = await admin.say("/invite A staff")
    assert "2026-12-07" in replies[0].text  # valid until, shown to the admin
    in_time = invite_code(replies)
    too_late = invite_code(await admin.say("/invite A staff"))
    clock.advance(days=6, hours=23)
    assert (await Chat(assistant, 301, "张三").say(f"/start {in_time}"))[0].text == "欢迎加入团队 A！"
    clock.advance(days=1, hours=1)  # 8 days after the invite was made
    late = Chat(assistant, 302, "李四")
    assert await late.say(f"/start {too_late}") == [Reply(t("invite_bad", Lang.ZH),
                                                          low_priority=True)]
    assert await scalar(assistant, "SELECT COUNT(*) FROM people WHERE user_id = 302") == 0
    assert await scalar(assistant, "SELECT used_by FROM invites WHERE code = ?", too_late) is None


async def test_whoami_people_and_move(admin: Chat, assistant: Assistant) -> None:
    await admin.say("/team add A")
    await admin.say("/team add B")
    staff = await join(admin, "A", "staff", 301, "张三")
    await join(admin, "A", "staff", 302, "李四")
    text = texts(await staff.say("/whoami"))
    assert "张三（ID 301）" in text and "角色：staff\n" in text and "团队：A\n" in text
    listing = texts(await admin.say("/people"))
    assert "301 张三 [A] staff" in listing and "302 李四 [A] staff" in listing

    assert await admin.say("/move 301 B") == [Reply(t("moved", Lang.ZH, id="301", team="B"))]
    assert await scalar(assistant, "SELECT team FROM people WHERE user_id = 301") == "B"
    assert "团队：B\n" in texts(await staff.say("/whoami"))
    assert "301 张三 [B] staff" in texts(await admin.say("/people"))
    assert await admin.say("/move 999 B") == [Reply(t("no_such_person", Lang.ZH, id="999"))]
    assert await admin.say("/move 301 Z") == [Reply(t("no_such_team", Lang.ZH, team="Z"))]
    assert await scalar(assistant, "SELECT team FROM people WHERE user_id = 301") == "B"


async def test_remove_erases_the_person_and_anonymises_answers(admin: Chat,
                                                               assistant: Assistant) -> None:
    await admin.say("/team add A")
    keep = await join(admin, "A", "staff", 301, "张三")
    gone = await join(admin, "A", "staff", 302, "李四")
    await drill_through(keep, [True, True, True])
    await drill_through(gone, [True, False, True])
    await gone.say(CANTEEN)
    assert await scalar(assistant, "SELECT COUNT(*) FROM item_state WHERE user_id = 302") == 1

    assert await admin.say("/remove 302") == [Reply(
        t("remove_confirm", Lang.ZH, name="李四", id="302", team="A"),
        buttons=((Button(t("remove_yes", Lang.ZH), "rm:302"),),))]
    assert await scalar(assistant, "SELECT COUNT(*) FROM people WHERE user_id = 302") == 1
    assert await admin.press(t("remove_yes", Lang.ZH)) == [
        Reply("", edit=True), Reply(t("removed", Lang.ZH, id="302"))]
    for name in ("people", "drills", "topic_state", "item_state", "supervisors", "pauses"):
        assert await scalar(assistant, f"SELECT COUNT(*) FROM {name} WHERE user_id = 302") == 0
    assert await table(assistant, "SELECT user_id, COUNT(*) FROM answers GROUP BY user_id"
                                  " ORDER BY user_id") == [(0, 3), (301, 3)]
    assert await table(assistant, "SELECT user_id, text FROM questions") == [(0, CANTEEN)]
    assert await scalar(assistant, "SELECT COUNT(*) FROM drills WHERE user_id = 301") == 1
    assert await gone.say("/help") == [STRANGER_REPLY]
    assert await admin.say("/remove 302") == [Reply(t("no_such_person", Lang.ZH, id="302"))]
    assert await admin.tap("rm:302") == [  # the old button again: already gone
        Reply("", edit=True), Reply(t("no_such_person", Lang.ZH, id="302"))]
    assert await admin.say(f"/remove {ADMIN}") == [Reply(t("remove_self", Lang.ZH))]


async def test_admin_removed_from_coach_admins_loses_admin_commands(
        admin: Chat, assistant: Assistant, settings: Settings, clock: FakeClock,
        real_library: Library) -> None:
    await admin.say("/team add A")
    restarted = Assistant(replace(settings, admins=frozenset()), assistant.store, real_library,
                          clock)
    await restarted.start()
    for command in ("/people", "/invite A staff", "/team add B"):
        replies = await restarted.handle(Inbound(ADMIN, "Admin", text=command))
        assert replies == [Reply(t("not_allowed", Lang.ZH))], command
    assert await scalar(assistant, "SELECT COUNT(*) FROM invites") == 0


# --- 3. /leave -----------------------------------------------------------------------------------


async def test_leave_confirms_then_erases(admin: Chat, assistant: Assistant) -> None:
    await admin.say("/team add A")
    code = invite_code(await admin.say("/invite A staff"))
    staff = Chat(assistant, 301, "张三")
    await staff.say(f"/start {code}")
    await drill_through(staff, [False, True, True])
    await staff.say(CANTEEN)
    await staff.say("/pause 3")
    counts = {n: await scalar(assistant, f"SELECT COUNT(*) FROM {n} WHERE user_id = 301")
              for n in ("people", "drills", "topic_state", "item_state", "pauses")}
    assert all(counts.values()), counts

    replies = await staff.say("/leave")
    assert len(replies) == 1 and replies[0].text == t("leave_confirm", Lang.ZH)
    assert [b.payload for row in replies[0].buttons for b in row] == ["leave:yes"]
    assert await scalar(assistant, "SELECT COUNT(*) FROM people WHERE user_id = 301") == 1
    assert await staff.tap("leave:no") == [Reply(t("stale_button", Lang.ZH))]
    assert await scalar(assistant, "SELECT COUNT(*) FROM people WHERE user_id = 301") == 1

    await staff.say("/leave")
    replies = await staff.press(t("leave_yes", Lang.ZH))
    assert replies[-1].text == t("left", Lang.ZH)
    for name in counts:
        assert await scalar(assistant, f"SELECT COUNT(*) FROM {name} WHERE user_id = 301") == 0
    assert await scalar(assistant, "SELECT COUNT(*) FROM answers WHERE user_id = 0") == 3
    assert await scalar(assistant, "SELECT COUNT(*) FROM answers WHERE user_id = 301") == 0
    assert await table(assistant, "SELECT user_id, text FROM questions") == [(0, CANTEEN)]
    assert await assistant.store.counter("people_left") == 1

    assert await staff.say("/drill") == [STRANGER_REPLY]
    assert await assistant.store.counter("stranger_messages") == 1
    assert await staff.say(f"/start {code}") == []  # still used (and answered once a day)
    assert await assistant.store.person(301) is None


# --- 4. the audit trail --------------------------------------------------------------------------


async def test_audit_records_actor_action_and_time(admin: Chat, assistant: Assistant,
                                                   clock: FakeClock) -> None:
    expected: list[tuple[str, int, str, str]] = [(ts(clock()), ADMIN, "enrol", "admin")]

    async def step(chat: Chat, text: str, *rows: tuple[int, str, str]) -> None:
        clock.advance(minutes=1)
        await (chat.tap(text) if text.startswith("rm:") else chat.say(text))
        expected.extend((ts(clock()), actor, action, detail) for actor, action, detail in rows)

    await step(admin, "/team add A", (ADMIN, "team.add", "A"))
    await step(admin, "/team add B", (ADMIN, "team.add", "B"))
    await step(admin, "/invite A staff", (ADMIN, "invite", "team=A role=staff"))
    code = invite_code(admin.last)
    await step(Chat(assistant, 301, "张三"), f"/start {code}", (301, "enrol", "team=A"))
    await step(admin, "/invite A supervisor", (ADMIN, "invite", "team=A role=supervisor"))
    sup = Chat(assistant, 302, "王主管")
    await step(sup, f"/start {invite_code(admin.last)}", (302, "enrol", "team=A"))
    await step(admin, "/invite A staff", (ADMIN, "invite", "team=A role=staff"))
    await step(Chat(assistant, 303, "李四"), f"/start {invite_code(admin.last)}",
               (0, "enrol", "team=A"))  # 303 is removed below: their own rows lose the id
    await step(admin, "/move 301 B", (ADMIN, "move", "user=301 team=B"))
    await step(admin, "/remove 303")  # asks first
    await step(admin, "rm:303", (ADMIN, "remove", "user=303"))
    await step(sup, "/summary A", (302, "report.summary", "teams=A days=7"))
    await step(sup, "/export A", (302, "report.export", "teams=A"))
    await step(sup, "/nudge A", (302, "nudge", "teams=A people=0"))
    await step(sup, "/summary B")  # refused: not audited as a report
    await step(Chat(assistant, 301, "张三"), "/summary")  # not allowed: nothing
    got = await table(assistant, "SELECT at, actor, action, detail FROM audit ORDER BY id")
    assert got == expected


# --- 5. the numbers of a summary -----------------------------------------------------------------


async def test_summary_numbers_on_a_seeded_history(admin: Chat, assistant: Assistant,
                                                   clock: FakeClock) -> None:
    store, kb, monday = assistant.store, assistant.library.kb, date(2026, 11, 30)
    await admin.say("/team add A")
    one = await join(admin, "A", "staff", 201, "张三")
    two = await join(admin, "A", "staff", 202, "李四")
    boss = await join(admin, "A", "supervisor", 203, "王主管")
    # Monday: both drill; one misses a question. Gaps: two from the team, one from outside.
    await drill_through(one, [True, False, True])
    await drill_through(two, [True, True, True])
    await one.say(CANTEEN)
    await one.say(CANTEEN_CARD)
    await admin.say(PARKING)
    # Tuesday: person one drills again; person two answers one question and stops.
    clock.advance(days=1)
    await drill_through(one, [True, True, True])
    await drill_through(two, [True])
    # Wednesday: person two is on leave for two days (Wednesday and Thursday).
    clock.advance(days=1)
    assert "2026-12-03" in texts(await two.say("/pause 2"))
    # Thursday: 19 more answers for person two, straight into the store, drill left open:
    # topic X 10 answers (4 right), topic Y 9 (all wrong).
    clock.advance(days=1)
    answered = {r[0] for r in await table(assistant, "SELECT DISTINCT card_id FROM answers")}
    x, y = [c for c in sorted(kb.cards) if c not in answered][:2]
    x_items, y_items = kb.cards[x].drills, kb.cards[y].drills
    plan = [(x_items[n % len(x_items)], n < 4) for n in range(10)]
    plan += [(y_items[n % len(y_items)], False) for n in range(9)]
    await seed_answers(assistant, 202, plan, clock())
    # Friday 09:00, before anyone drilled today.
    clock.advance(days=1)
    friday = clock()
    assert friday == shanghai(date(2026, 12, 4), 9)

    s = await assistant.staff.summary("A", 7, friday)
    assert (s.team, s.days, s.start, s.end) == ("A", 7, date(2026, 11, 28), date(2026, 12, 4))
    people = {p.person.user_id: p for p in s.people}
    assert set(people) == {201, 202}  # the supervisor is not a member
    p1, p2 = people[201], people[202]
    # Mon..Thu are due (Fri only once drilled); person two's Wed and Thu are paused.
    assert (p1.drill_days, p1.expected_days, p1.drills, p1.answers, p1.correct) == (2, 4, 2, 6, 5)
    assert (p2.drill_days, p2.expected_days, p2.drills, p2.answers, p2.correct) == (1, 2, 1, 23, 8)
    assert p1.accuracy == pytest.approx(5 / 6) and p2.accuracy == pytest.approx(8 / 23)
    assert s.completion == pytest.approx(3 / 6)
    topics = {tp.card_id: tp for tp in s.topics}
    assert (topics[x].answers, topics[x].correct) == (10, 4)
    assert (topics[y].answers, topics[y].correct) == (9, 0)
    assert s.weakest() == [topics[y], topics[x]]  # surely under 80% right, surest first
    assert set(s.gaps) == {(CANTEEN, 1), (mask(CANTEEN_CARD), 1)}
    assert mask(CANTEEN_CARD) == "食堂卡号 622202*********0128 今天中午吃什么"
    assert not any("3456" in text for text, _ in s.gaps)
    assert (PARKING, 1) in await store.gaps(shanghai(monday, 0))  # a gap, but not team A's

    replies = await boss.say("/summary A")
    text = replies[0].text
    assert "团队 A 汇总（2026-11-28 至 2026-12-04）" in text
    assert "完成率（有小测的工作日 / 应训工作日）：50%" in text
    assert "• 张三：2/4 天，小测 2 次，正确率 83%，" in text
    assert "• 李四：1/2 天，小测 1 次，正确率 35%，" in text
    assert f"• {kb.cards[x].title.zh}: 40% (4/10)" in text
    assert f"• {kb.cards[y].title.zh}: 0% (0/9)" in text
    assert text.index(kb.cards[y].title.zh) < text.index(kb.cards[x].title.zh)
    assert f"• {CANTEEN} ×1" in text and f"• {mask(CANTEEN_CARD)} ×1" in text
    assert PARKING not in text and "3456" not in text

    # Friday counts as due once it is drilled.
    await drill_through(one, [True, True, True])
    s = await assistant.staff.summary("A", 7, clock())
    p1 = next(p for p in s.people if p.person.user_id == 201)
    assert (p1.drill_days, p1.expected_days, p1.drills, p1.answers, p1.correct) == (3, 5, 3, 9, 8)
    assert s.completion == pytest.approx(4 / 7)
    text = (await boss.say("/summary A"))[0].text
    assert "完成率（有小测的工作日 / 应训工作日）：57%" in text
    assert "• 张三：3/5 天，小测 3 次，正确率 89%，" in text


async def test_summary_without_pause_and_enrolled_mid_period(admin: Chat, assistant: Assistant,
                                                             clock: FakeClock) -> None:
    """Working days count from enrolment; the weekend and today (not drilled) do not."""
    await admin.say("/team add A")
    clock.advance(days=2)  # Wednesday
    one = await join(admin, "A", "staff", 201, "张三")
    await drill_through(one, [True, True, True])
    clock.advance(days=5)  # next Monday 09:00: Wed, Thu, Fri due; Sat, Sun not; Mon not yet
    s = await assistant.staff.summary("A", 30, clock())
    (p1,) = s.people
    assert (p1.drill_days, p1.expected_days, p1.drills) == (1, 3, 1)
    assert s.completion == pytest.approx(1 / 3)
    s = await assistant.staff.summary("A", 7, clock())
    assert s.people[0].expected_days == 3


# --- 6. the CSV export ---------------------------------------------------------------------------


async def test_export_csv_one_row_per_person_and_card(admin: Chat, assistant: Assistant) -> None:
    kb = assistant.library.kb
    await admin.say("/team add A")
    one = await join(admin, "A", "staff", 201, "张三")
    await join(admin, "A", "staff", 202, "李四")
    await join(admin, "A", "supervisor", 203, "王主管")
    drilled = await drill_through(one, [True, False, True])
    replies = await admin.say("/export A")
    assert [r.kind for r in replies] == [ReplyKind.FILE, ReplyKind.FILE]
    assert [r.filename for r in replies] == ["coach-A-2026-11-30.csv",
                                             "coach-A-2026-11-30-people-30d.csv"]
    data = replies[0].data
    assert data.startswith(BOM)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == CSV_HEADER_ZH  # in the supervisor's language
    body = rows[1:]
    assert len(body) == 2 * len(kb.cards) == 2 * REAL_CARDS
    assert {(r[1], r[2]) for r in body} == {("张三", "201"), ("李四", "202")}
    for name in ("张三", "李四"):
        assert sorted(r[3] for r in body if r[1] == name) == sorted(kb.cards)
    assert {r[0] for r in body} == {"A"}
    mine = {r[3]: r for r in body if r[1] == "张三"}
    right, wrong = drilled[0], drilled[1]
    assert mine[right][5] == section_name(kb.cards[right].section, Lang.ZH)
    assert mine[right][6:] == ["已通过", "2026-11-30", str(kb.cards[right].version),
                               str(kb.cards[right].version), "1", "100%"]
    assert mine[wrong][6:] == ["到期", "", "", str(kb.cards[wrong].version), "1", "0%"]
    untouched = next(c for c in kb.cards if c not in drilled)
    assert mine[untouched][4] == kb.cards[untouched].title.zh
    assert mine[untouched][6:] == ["未学", "", "", str(kb.cards[untouched].version), "0", ""]

    await admin.say("/lang en")  # an English-speaking supervisor gets English throughout
    replies = await admin.say("/export A")
    rows = list(csv.reader(io.StringIO(replies[0].data.decode("utf-8-sig"))))
    assert rows[0] == CSV_HEADER
    mine = {r[3]: r for r in rows[1:] if r[1] == "张三"}
    assert mine[right][4:7] == [kb.cards[right].title.en,
                                section_name(kb.cards[right].section, Lang.EN), "current"]
    assert mine[wrong][6] == "due" and mine[untouched][6] == "new"


async def test_export_csv_neutralises_formula_names(admin: Chat, assistant: Assistant,
                                                    clock: FakeClock) -> None:
    store = assistant.store
    await admin.say("/team add A")
    names = {401: "=cmd|' /C calc'!A0", 402: "+1+1", 403: "-2+3", 404: "@SUM(A1:A9)",
             405: "张三"}
    for uid, name in names.items():
        await store.upsert_person(uid, name, {Role.STAFF}, clock())
        assert await store.set_team(uid, "A")
    replies = await admin.say("/export A")
    rows = list(csv.reader(io.StringIO(replies[0].data.decode("utf-8-sig"))))[1:]
    shown = {int(r[2]): r[1] for r in rows}
    assert shown == {401: "'=cmd|' /C calc'!A0", 402: "'+1+1", 403: "'-2+3",
                     404: "'@SUM(A1:A9)", 405: "张三"}
    assert len(rows) == 5 * REAL_CARDS


# --- 7. the chart --------------------------------------------------------------------------------


async def test_summary_chart_is_a_1000_by_500_png(admin: Chat, assistant: Assistant) -> None:
    await admin.say("/team add A")
    await join(admin, "A", "staff", 201, "张三")
    replies = await admin.say("/summary A")
    assert [r.kind for r in replies] == [ReplyKind.TEXT, ReplyKind.PHOTO]
    photo = replies[1]
    assert photo.filename == "A.png" and photo.text == t("chart_caption", Lang.ZH, team="A")
    assert png_size(photo.data) == (1000, 500)


def test_missing_glyphs_are_caught_here() -> None:
    """The check below relies on matplotlib warning about Chinese text in its default font."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots()
    ax.set_title("营业部")
    with pytest.warns(UserWarning, match="missing from font"):
        fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


@pytest.mark.parametrize("with_font", [True, False], ids=["cjk-font", "no-font"])
async def test_chart_never_draws_missing_glyphs(admin: Chat, assistant: Assistant,
                                                with_font: bool) -> None:
    font = find_cjk_font(None) if with_font else None
    if with_font and font is None:
        pytest.skip("no CJK font installed")
    await admin.say("/team add 营业部")
    one = await join(admin, "营业部", "staff", 201, "张三")
    await join(admin, "营业部", "staff", 202, "Bob")
    await drill_through(one, [True, False, True])
    summary: TeamSummary = await assistant.staff.summary("营业部", 7, assistant.now())
    assert summary.by_section()  # sections with accuracy bars, labelled in Chinese if possible
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data, lang = chart_png(summary, Lang.ZH, font)
    assert lang is (Lang.ZH if with_font else Lang.EN)
    assert png_size(data) == (1000, 500)


async def test_chart_with_cjk_font_draws_no_boxes_for_emoji_names(admin: Chat,
                                                                  assistant: Assistant) -> None:
    font = find_cjk_font(None)
    if font is None:
        pytest.skip("no CJK font installed")
    await admin.say("/team add A")
    await join(admin, "A", "staff", 201, "小王🌟")
    summary = await assistant.staff.summary("A", 7, assistant.now())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chart_png(summary, Lang.ZH, font)


# --- 8. the weekly push ---------------------------------------------------------------------------


def weekly(pushes: list[Push]) -> list[tuple[int, str]]:
    return sorted((p.user_id, p.key) for p in pushes if p.key.startswith("weekly:"))


async def test_weekly_summary_once_per_iso_week_from_monday_nine(
        assistant: Assistant, clock: FakeClock) -> None:
    clock.advance(hours=-2)  # set up on Monday 07:00
    admin = Chat(assistant, ADMIN, "Admin")
    await admin.say("/start")
    await admin.say("/team add A")
    await admin.say("/team add B")
    await join(admin, "A", "staff", 201, "张三")
    await join(admin, "A", "supervisor", 301, "王主管")
    await join(admin, "A", "supervisor", 302, "赵主管")
    await assistant.store.add_supervisor(302, "B")  # 302 supervises A and B
    monday, week = date(2026, 11, 30), [(301, "weekly:2026-W49:A"), (302, "weekly:2026-W49:A"),
                                        (302, "weekly:2026-W49:B")]

    assert weekly(await assistant.tick(shanghai(monday, 8, 59))) == []
    pushes = await assistant.tick(shanghai(monday, 9))
    assert weekly(pushes) == week
    first = next(p for p in pushes if p.key == "weekly:2026-W49:A" and p.user_id == 301)
    assert first.reply.text.startswith("团队 A 汇总（2026-11-24 至 2026-11-30）")
    assert "• 张三：" in first.reply.text
    for later in (shanghai(monday, 10), shanghai(monday + timedelta(days=2), 9),
                  shanghai(monday + timedelta(days=6), 23, 59)):
        assert weekly(await assistant.tick(later)) == []
    next_monday = monday + timedelta(days=7)
    assert weekly(await assistant.tick(shanghai(next_monday, 8, 59))) == []
    assert weekly(await assistant.tick(shanghai(next_monday, 9))) == [
        (u, k.replace("W49", "W50")) for u, k in week]
    assert weekly(await assistant.tick(shanghai(next_monday, 9, 1))) == []
    assert await table(assistant, "SELECT actor, COUNT(*) FROM audit WHERE action ="
                                  " 'report.weekly' GROUP BY actor ORDER BY actor") == [
        (301, 2), (302, 2)]


# --- 9. /nudge ------------------------------------------------------------------------------------


async def test_nudge_pushes_only_people_with_overdue_topics(admin: Chat, assistant: Assistant,
                                                            clock: FakeClock) -> None:
    await admin.say("/team add A")
    await admin.say("/team add B")
    late = await join(admin, "A", "staff", 201, "张三")
    keen = await join(admin, "A", "staff", 202, "李四")
    await join(admin, "A", "staff", 203, "新人")  # never drilled: nothing overdue
    other = await join(admin, "B", "staff", 204, "Bob")
    boss = await join(admin, "A", "supervisor", 301, "王主管")
    await drill_through(late, [False, False, False])
    await drill_through(keen, [True, True, True])
    await drill_through(other, [False, False, False])
    clock.advance(days=3)
    assert await boss.say("/nudge A") == [Reply(t("nudged", Lang.ZH, n=0))]  # due, not overdue
    assert await assistant.store.drain_pushes(clock()) == []
    clock.advance(days=5)  # 8 days after the misses: past the 7-day grace
    assert await boss.say("/nudge A") == [Reply(t("nudged", Lang.ZH, n=1))]
    pushes = await assistant.store.drain_pushes(clock())  # queued in the outbox
    assert [p.user_id for p in pushes] == [201]
    assert pushes[0].key == "nudge:2026-12-08"
    assert pushes[0].reply.text == t("nudge", Lang.ZH, n=3)
    assert [b.payload for row in pushes[0].reply.buttons for b in row] == ["drill:start"]
    assert [p for p in await assistant.store.drain_pushes(clock())
            if p.key.startswith("nudge:")] == []
    assert await boss.say("/nudge B") == [Reply(t("not_your_team", Lang.ZH, team="B"))]
    assert await assistant.store.drain_pushes(clock()) == []
    assert texts(await admin.say("/nudge")) == (  # every team; 201 had one today already
        f"\n{t('nudged', Lang.ZH, n=1)}\n{t('nudged_before', Lang.ZH, n=1)}")
    assert sorted(p.user_id for p in await assistant.store.drain_pushes(clock())) == [204]


# --- 10. retention ---------------------------------------------------------------------------------


async def test_retention_purges_old_answers_and_questions_once_a_day(
        admin: Chat, assistant: Assistant, clock: FakeClock) -> None:
    store, start = assistant.store, clock()
    assert assistant.settings.retention_days == 365
    await admin.say("/team add A")
    one = await join(admin, "A", "staff", 201, "张三")
    await drill_through(one, [True, False, True])
    await one.say(CANTEEN)
    clock.advance(days=3)
    await drill_through(one, [True, True, True])
    await one.say(PARKING)
    topics = await table(assistant, "SELECT * FROM topic_state ORDER BY card_id")
    assert topics

    clock.advance(days=363)  # the first rows are 366 days old, the later ones 363
    await assistant.tick(clock())
    assert await table(assistant, "SELECT answered_at FROM answers") == [
        (ts(start + timedelta(days=3)),)] * 3
    assert await table(assistant, "SELECT text FROM questions") == [(PARKING,)]
    assert await table(assistant, "SELECT * FROM topic_state ORDER BY card_id") == topics

    await store.log_question(201, start, "旧问题", "none", None, 0.0, [])  # old again
    clock.advance(hours=5)
    await assistant.tick(clock())  # same day: the purge already ran
    assert await scalar(assistant, "SELECT COUNT(*) FROM questions WHERE text = '旧问题'") == 1
    clock.advance(days=1)
    await assistant.tick(clock())
    assert await scalar(assistant, "SELECT COUNT(*) FROM questions WHERE text = '旧问题'") == 0
    assert await scalar(assistant, "SELECT COUNT(*) FROM answers") == 3
    assert await scalar(assistant, "SELECT COUNT(*) FROM questions") == 1


# --- 11. python -m bot report ---------------------------------------------------------------------


def report(db: Path | str, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COACH_DB": str(db),
           "COACH_KNOWLEDGE": str(ROOT / "knowledge"), "COACH_EMBEDDINGS": "off"}
    return subprocess.run([sys.executable, "-m", "bot", "report", *args], cwd=ROOT, env=env,
                          capture_output=True, timeout=180)


async def test_report_command_line(admin: Chat, assistant: Assistant, settings: Settings,
                                   tmp_path: Path) -> None:
    await admin.say("/team add A")
    one = await join(admin, "A", "staff", 201, "张三")
    await join(admin, "A", "staff", 202, "Bob")
    await drill_through(one, [True, True, False])

    text_file, csv_file, png_file = (tmp_path / f"report.{x}" for x in ("txt", "csv", "png"))
    done = report(settings.db, "--team", "A", "--format", "text", "--out", str(text_file))
    assert done.returncode == 0, done.stderr
    text = text_file.read_text("utf-8")
    assert text.startswith("团队 A 汇总") and "• 张三：" in text and "• Bob：" in text

    done = report(settings.db, "--team", "A", "--format", "csv", "--lang", "en",
                  "--out", str(csv_file))
    assert done.returncode == 0, done.stderr
    data = csv_file.read_bytes()
    assert data.startswith(BOM)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == CSV_HEADER and len(rows) == 1 + 2 * REAL_CARDS
    assert {r[1] for r in rows[1:]} == {"张三", "Bob"}

    done = report(settings.db, "--team", "A", "--format", "png", "--period", "7d",
                  "--out", str(png_file))
    assert done.returncode == 0, done.stderr
    assert png_size(png_file.read_bytes()) == (1000, 500)

    done = report(settings.db, "--team", "Nowhere", "--format", "text")
    assert done.returncode == 2 and done.stdout == b""
    error = done.stderr.decode("utf-8").strip()
    assert "\n" not in error and error.startswith("counter-coach: no team 'Nowhere'")
    done = report(settings.db, "--team", "A", "--format", "png")  # png needs --out
    assert done.returncode == 2 and len(done.stderr.decode().strip().splitlines()) == 1

    assert await table(assistant, "SELECT actor, detail FROM audit WHERE action = 'report.cli'"
                                  " ORDER BY id") == [
        (0, "team=A format=text"), (0, "team=A format=csv"), (0, "team=A format=png")]
