"""Staff numbers (/staffno, `people import`) and the paged /people list, through the real
assistant, store and command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.assistant import Assistant
from bot.config import Settings
from bot.i18n import t
from bot.models import Lang, Role
from bot.privacy import mask
from bot.roster import PAGE
from tests.conftest import ADMIN, Chat, FakeClock

ROOT = Path(__file__).resolve().parent.parent
STAFF, SUP = 101, 102


async def scalar(assistant: Assistant, sql: str, *args: object) -> Any:
    row = await assistant.store.row(sql, args)
    return None if row is None else row[0]


async def setup_team(assistant: Assistant, clock: FakeClock) -> None:
    await assistant.store.add_team("A", clock())
    await assistant.store.upsert_person(STAFF, "张三", {Role.STAFF}, clock())
    await assistant.store.set_team(STAFF, "A")
    await assistant.store.upsert_person(SUP, "王主管", {Role.STAFF, Role.SUPERVISOR}, clock())
    await assistant.store.add_supervisor(SUP, "A")


# --- /staffno ----------------------------------------------------------------------------


async def test_staffno_is_set_audited_and_never_masked(admin: Chat, clock: FakeClock) -> None:
    await setup_team(admin.assistant, clock)
    number = "6222021234567890128"  # looks like a card number: it is ours, so kept whole
    assert mask(number) != number
    await admin.say(f"/staffno {STAFF} {number}")
    assert admin.text().strip() == t("staffno_set", Lang.ZH, id=STAFF, name="张三", value=number)
    a = admin.assistant
    assert await scalar(a, "SELECT staff_no FROM people WHERE user_id = ?", STAFF) == number
    assert await scalar(a, "SELECT detail FROM audit WHERE action = 'staffno'") == \
        f"user={STAFF} staff_no={number}"
    staff = Chat(a, STAFF, "张三")
    await staff.say("/whoami")
    assert f"工号：{number}" in staff.text()
    await admin.say("/people A")
    assert f"{STAFF} 张三 [A] staff #{number}" in admin.text()


async def test_staffno_refusals_change_nothing(admin: Chat, clock: FakeClock) -> None:
    await setup_team(admin.assistant, clock)
    a = admin.assistant
    await admin.say(f"/staffno {SUP} E1")
    cases = {
        f"/staffno {STAFF} E1": t("staffno_taken", Lang.ZH, value="E1", id=SUP),
        f"/staffno {STAFF} E 1": t("staffno_usage", Lang.ZH),
        f"/staffno {STAFF} <E1>": t("staffno_bad", Lang.ZH, value="<E1>"),
        "/staffno 777 E2": t("no_such_person", Lang.ZH, id="777"),
        "/staffno E2": t("staffno_usage", Lang.ZH),
    }
    for command, expected in cases.items():
        await admin.say(command)
        assert admin.text().strip() == expected, command
    assert await scalar(a, "SELECT staff_no FROM people WHERE user_id = ?", STAFF) is None
    await admin.say(f"/staffno {SUP} -")  # clears
    assert await scalar(a, "SELECT staff_no FROM people WHERE user_id = ?", SUP) is None
    for user in (STAFF, SUP):  # staff and supervisors may not
        chat = Chat(a, user)
        await chat.say(f"/staffno {user} E9")
        assert chat.text().strip() == t("not_allowed", Lang.ZH)
    assert await scalar(a, "SELECT COUNT(*) FROM people WHERE staff_no = 'E9'") == 0


# --- /people -----------------------------------------------------------------------------


async def test_people_pages_twenty_at_a_time_with_buttons(admin: Chat, clock: FakeClock) -> None:
    a = admin.assistant
    for n in range(44):  # and the admin: 45 people
        await a.store.upsert_person(5000 + n, f"P{n:02d}", {Role.STAFF}, clock())
    await admin.say("/people")
    first = admin.last[0]
    lines = first.text.splitlines()
    assert lines[0] == t("people_head", Lang.ZH, first=1, last=PAGE, total=45)
    assert len(lines) == PAGE + 1 and lines[1].startswith(f"{ADMIN} Admin")
    assert [b.label for row in first.buttons for b in row] == [t("page_next", Lang.ZH)]
    await admin.press(t("page_next", Lang.ZH))
    second = admin.last[0]
    assert second.edit and second.text.splitlines()[0] == t(
        "people_head", Lang.ZH, first=21, last=40, total=45)
    assert [b.label for row in second.buttons for b in row] == [
        t("page_prev", Lang.ZH), t("page_next", Lang.ZH)]
    await admin.press(t("page_next", Lang.ZH))
    third = admin.last[0].text.splitlines()
    assert len(third) == 1 + 5 and third[-1].startswith("5043 P43")
    await admin.press(t("page_prev", Lang.ZH))
    assert admin.last[0].text == second.text
    shown = {line.split()[0] for page in (first, second) for line in page.text.splitlines()[1:]}
    assert len(shown) == 2 * PAGE  # no one twice


async def test_people_filters_by_team(admin: Chat, clock: FakeClock) -> None:
    a = admin.assistant
    await setup_team(a, clock)
    long_team = "柜面" * 20  # 40 characters, 120 bytes: more than a button may carry
    await a.store.add_team(long_team, clock())
    for n in range(25):
        await a.store.upsert_person(6000 + n, f"Q{n:02d}", {Role.STAFF}, clock())
        await a.store.set_team(6000 + n, long_team)
    await admin.say("/people a")  # team names match case-insensitively
    text = admin.text()
    assert t("people_team", Lang.ZH, team="A") in text
    assert f"{STAFF} 张三 [A] staff" in text and f"{SUP} 王主管 [-] staff,supervisor ⭑A" in text
    assert "Q00" not in text and str(ADMIN) not in text
    await admin.say(f"/people {long_team}")
    payload = admin.last[0].buttons[0][0].payload
    assert len(payload.encode()) <= 64
    await admin.press(t("page_next", Lang.ZH))
    assert admin.last[0].text.splitlines()[1].startswith("6020 Q20")
    await admin.say("/people Z")
    assert admin.text().strip() == t("no_such_team", Lang.ZH, team="Z")
    staff = Chat(a, STAFF)  # a page button is an administrator's only
    await staff.tap(payload)
    assert staff.text().strip() == t("stale_button", Lang.ZH)


# --- people import -----------------------------------------------------------------------


def import_cli(settings: Settings, csv_text: str, *args: str,
               encoding: str = "utf-8-sig") -> subprocess.CompletedProcess[str]:
    path = settings.db.parent / "people.csv"
    path.write_bytes(csv_text.encode(encoding))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           "COACH_DB": str(settings.db)}
    return subprocess.run([sys.executable, "-m", "bot", "people", "import", str(path), *args],
                          cwd=settings.db.parent, env=env, capture_output=True, text=True,
                          timeout=60)


async def test_people_import_dry_run_then_for_real(admin: Chat, clock: FakeClock,
                                                   settings: Settings) -> None:
    a = admin.assistant
    await setup_team(a, clock)
    await a.store.set_staff_no(SUP, "E2", ADMIN, clock())
    csv_text = ("telegram_id,staff_no,name,team\n"
                f"{STAFF},E2,张三,A\n"  # takes SUP's number, who gets another: a swap
                f"{SUP},E1,,\n"
                "7001,E7001,李四,柜面一组\n"  # new person, new team
                "\n"
                f"{ADMIN},,Admin,\n")  # unchanged
    before = await scalar(a, "SELECT COUNT(*) FROM audit")
    dry = import_cli(settings, csv_text, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        f"line 2: {STAFF} staff number - -> E2",
        f"line 3: {SUP} staff number E2 -> E1",
        "line 4: 7001 new: name 李四, team 柜面一组, staff number E7001",
        "new teams: 柜面一组",
    ]
    assert dry.stderr.strip().endswith("1 new, 2 changed, 1 unchanged, 0 failed; dry run, "
                                       "nothing changed")
    assert await scalar(a, "SELECT COUNT(*) FROM audit") == before
    assert await scalar(a, "SELECT COUNT(*) FROM people WHERE user_id = 7001") == 0
    done = import_cli(settings, csv_text)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith("; done")
    numbers = await a.store.rows("SELECT user_id, staff_no FROM people WHERE staff_no IS NOT NULL"
                                 " ORDER BY user_id")
    assert [tuple(r) for r in numbers] == [(STAFF, "E2"), (SUP, "E1"), (7001, "E7001")]
    assert await a.store.team("柜面一组") == "柜面一组"
    assert await scalar(a, "SELECT COUNT(*) FROM audit WHERE action = 'people.import'") == 3
    newcomer = Chat(a, 7001, "Li")  # enrolled by the import: the bot knows them
    await newcomer.say("/whoami")
    assert "李四" in newcomer.text() and "E7001" in newcomer.text() and "柜面一组" in newcomer.text()
    again = import_cli(settings, csv_text)  # running it twice changes nothing more
    assert again.returncode == 0 and again.stdout == ""
    assert "0 new, 0 changed, 4 unchanged" in again.stderr


async def test_every_failing_row_says_why_and_nothing_changes(
        admin: Chat, clock: FakeClock, settings: Settings) -> None:
    a = admin.assistant
    await setup_team(a, clock)
    await a.store.set_staff_no(SUP, "E2", ADMIN, clock())
    csv_text = "\n".join([
        f"{STAFF},E1,张三,A",
        "abc,E3,x,A",
        "7002,E 4,x,A",
        f"{STAFF},E5,x,A",
        "7003,E1,x,A",
        "7004,E2,x,A",
        "7005,E6,x,bad team!",
        "7006",
        "7007,E7,ok,A",
    ]) + "\n"
    proc = import_cli(settings, csv_text, encoding="utf-8")
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-7:] == [
        "line 2: FAILED: Telegram id 'abc' is not a Telegram user id (a whole number)",
        "line 3: FAILED: staff number 'E 4': expected letters and digits (and . _ -), up to 32",
        f"line 4: FAILED: Telegram id {STAFF} is on line 1 too",
        "line 5: FAILED: staff number E1 is on line 1 too",
        f"line 6: FAILED: staff number E2 belongs to {SUP}",
        "line 7: FAILED: team 'bad team!': letters, digits, - _ . only, up to 40",
        "line 8: FAILED: expected: Telegram id, staff number, name, team",
    ]
    assert "7 failed; nothing changed: fix the failing rows and run again" in proc.stderr
    assert await scalar(a, "SELECT COUNT(*) FROM people WHERE staff_no = 'E1'") == 0
    assert await scalar(a, "SELECT COUNT(*) FROM people WHERE user_id = 7007") == 0
    gbk = import_cli(settings, "101,E1,张三,A\n", encoding="gbk")
    assert gbk.returncode == 2
    assert gbk.stderr.strip().endswith('not UTF-8 text (in Excel: save as "CSV UTF-8")')
