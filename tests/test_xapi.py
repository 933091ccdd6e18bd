"""xAPI statements: made from each stored answer, frozen in the outbox in the answer's
transaction, their settings, retention and erasure (no LRS needed; see test_xapi_lrs.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.answers import Library
from bot.assistant import Assistant
from bot.config import ConfigError, Settings, load_settings
from bot.models import Lang
from bot.store import Store
from bot.xapi import VERBS, Answered, Statements
from tests.conftest import ADMIN, Chat, FakeClock
from tests.test_drill_flow import answer, payloads, question, run_drill

ROOT = Path(__file__).resolve().parent.parent
HOME = "https://coach.bank.example"
XAPI_ENV = {"COACH_XAPI_ENDPOINT": "http://127.0.0.1:9/xapi", "COACH_XAPI_USER": "coach",
            "COACH_XAPI_PASSWORD": "pw-not-shown", "COACH_XAPI_HOMEPAGE": HOME}


def with_xapi(settings: Settings, endpoint: str = "http://127.0.0.1:9/xapi/") -> Settings:
    return replace(settings, xapi_endpoint=endpoint, xapi_user="coach", xapi_password="pw",
                   xapi_homepage=HOME)


@pytest.fixture
async def xassistant(settings: Settings, clock: FakeClock,
                     real_library: Library) -> Any:
    a = Assistant(with_xapi(settings), await Store.open(settings.db, migrate=True), real_library,
                  clock)
    await a.start()
    try:
        yield a
    finally:
        await a.store.close()


async def outbox(assistant: Assistant) -> list[dict[str, Any]]:
    rows = await assistant.store.rows("SELECT * FROM xapi_outbox ORDER BY id")
    return [dict(r) for r in rows]


async def admin_drill(assistant: Assistant, pattern: list[bool]) -> Chat:
    """The administrator enrols and does one drill, answering right or wrong by `pattern`."""
    chat = Chat(assistant, ADMIN, "Admin")
    await chat.say("/start")
    await run_drill(chat, pattern)
    return chat


def bodies(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in rows]


# --- statements made with the answer --------------------------------------------------------


@pytest.mark.both_engines
async def test_a_drill_queues_answered_completed_and_passed(xassistant: Assistant,
                                                            clock: FakeClock) -> None:
    chat = Chat(xassistant, ADMIN, "Admin")
    await chat.say("/start")
    items = await run_drill(chat, [True, False, True])
    rows = await outbox(xassistant)
    made = bodies(rows)
    verbs = [r["verb"] for r in rows]
    assert verbs == ["answered", "passed", "answered", "answered", "completed", "passed"]
    assert all(r["state"] == "queued" and r["tries"] == 0 for r in rows)
    assert [r["statement_id"] for r in rows] == [b["id"] for b in made]
    stamp = clock().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for body in made:
        assert body["actor"] == {"objectType": "Agent",
                                 "account": {"homePage": HOME, "name": str(ADMIN)}}
        assert body["verb"]["id"] == VERBS[body["verb"]["display"]["en-US"]]
        assert body["timestamp"] == stamp
        assert body["context"]["language"] == "zh-CN"
    answered = [b for b in made if b["verb"]["display"]["en-US"] == "answered"]
    for body, item, right in zip(answered, items, [True, False, True], strict=True):
        card = xassistant.library.kb.cards[item.card_id]
        assert body["object"]["id"] == f"{HOME}/cards/{item.card_id}/items/{item.id}"
        assert body["result"]["success"] is right
        assert (body["result"]["response"] == item.correct.id) is right
        assert body["context"]["extensions"][f"{HOME}/xapi/card-version"] == card.version
    completed = made[verbs.index("completed")]
    drill_id = completed["object"]["id"].rsplit("/", 1)[1]
    assert completed["object"]["id"] == f"{HOME}/drills/{drill_id}"
    assert completed["result"]["score"] == {"raw": 2, "min": 0, "max": 3, "scaled": 0.6667}
    passed = [b["object"]["id"] for b in made if b["verb"]["display"]["en-US"] == "passed"]
    assert passed == [f"{HOME}/cards/{items[0].card_id}", f"{HOME}/cards/{items[2].card_id}"]
    # masked data only: no question or option text, no person's name
    text = " ".join(r["body"] for r in rows)
    for item in items:
        for words in (item.question.zh, item.question.en, *(o.text.zh for o in item.options)):
            assert words not in text
    assert "Admin" not in text


@pytest.mark.both_engines
async def test_staff_number_names_new_statements_only(xassistant: Assistant) -> None:
    """A statement is frozen when its answer is stored: a staff number set later shows in
    the statements made after it, not in those already queued."""
    chat = Chat(xassistant, ADMIN, "Admin")
    await chat.say("/start")
    await chat.say("/drill")
    await answer(chat, True)
    before = await outbox(xassistant)
    await chat.say(f"/staffno {ADMIN} E12345")
    await chat.say("/drill")  # resumes the drill
    await answer(chat, False)
    after = await outbox(xassistant)
    assert after[:len(before)] == before  # same ids, same bodies
    names = [b["actor"]["account"]["name"] for b in bodies(after)]
    assert names == [str(ADMIN)] * len(before) + ["E12345"] * (len(after) - len(before))


@pytest.mark.both_engines
async def test_a_double_tap_or_an_old_button_queues_nothing(xassistant: Assistant) -> None:
    chat = Chat(xassistant, ADMIN, "Admin")
    await chat.say("/start")
    await chat.say("/drill")
    press = payloads(question(chat.last))[0]
    await chat.tap(press)
    queued = len(await outbox(xassistant))
    await chat.tap(press)
    await chat.tap("a:999:0:x")
    assert len(await outbox(xassistant)) == queued


async def test_nothing_is_queued_without_xapi(assistant: Assistant) -> None:
    await admin_drill(assistant, [True, True, True])
    assert await outbox(assistant) == []


async def test_the_statements_are_made_in_the_answers_transaction(
        xassistant: Assistant) -> None:
    """A report that fails rolls the answer back: never an answer without its statements."""
    chat = Chat(xassistant, ADMIN, "Admin")
    await chat.say("/start")
    await chat.say("/drill")
    press = payloads(question(chat.last))[0]

    def broken(_: Answered) -> list[Any]:
        raise RuntimeError("report failed")

    xassistant.training.report = broken
    with pytest.raises(RuntimeError):
        await chat.tap(press)
    row = await xassistant.store.row("SELECT COUNT(*) FROM answers")
    assert row is not None and row[0] == 0
    assert await outbox(xassistant) == []


def facts(at: datetime, passed_before: datetime | None, correct: bool = True) -> Answered:
    return Answered(user_id=7, staff_no=None, team="A", lang=Lang.EN, drill_id=1,
                    item_id="fee.1", card_id="dispute.fee", card_version=3, chosen="b",
                    correct=correct, at=at, drill_done=False, drill_correct=1, drill_size=3,
                    passed_before=passed_before)


def test_passed_only_when_the_card_is_passed_anew() -> None:
    build = Statements(HOME + "/", lambda card_id: 90, new_id=lambda: "x")
    now = datetime(2026, 11, 30, 1, tzinfo=UTC)

    def verbs(a: Answered) -> list[str]:
        return [s.verb for s in build(a)]

    assert verbs(facts(now, None)) == ["answered", "passed"]  # first pass at this version
    assert verbs(facts(now, now - timedelta(days=30))) == ["answered"]  # still current
    assert verbs(facts(now, now - timedelta(days=90))) == ["answered", "passed"]  # a new cycle
    assert verbs(facts(now, None, correct=False)) == ["answered"]
    body = json.loads(build(facts(now, None))[0].body)
    assert body["object"]["id"] == f"{HOME}/cards/dispute.fee/items/fee.1"  # one slash
    assert body["context"]["extensions"] == {f"{HOME}/xapi/team": "A",
                                             f"{HOME}/xapi/card-version": 3}
    assert body["context"]["language"] == "en"


@pytest.mark.parametrize(("lang", "tag"), [(Lang.ZH, "zh-CN"), (Lang.HANT, "zh-HK"),
                                           (Lang.TW, "zh-TW"), (Lang.EN, "en")])
def test_every_language_a_person_reads_in_has_its_tag(lang: Lang, tag: str) -> None:
    build = Statements(HOME + "/", lambda card_id: 90, new_id=lambda: "x")
    answered = replace(facts(datetime(2026, 11, 30, 1, tzinfo=UTC), None), lang=lang)
    assert json.loads(build(answered)[0].body)["context"]["language"] == tag


# --- retention and erasure ---------------------------------------------------------------


@pytest.mark.both_engines
async def test_sent_statements_are_purged_after_retention(xassistant: Assistant,
                                                          clock: FakeClock) -> None:
    await admin_drill(xassistant, [True, True, True])
    rows = await outbox(xassistant)
    await xassistant.store.statements_sent([r["id"] for r in rows[:2]], clock())
    await xassistant.store.park_statement(rows[2]["id"], "LRS answered 400")
    clock.advance(days=xassistant.settings.retention_days + 1)
    await xassistant.tick(clock())
    left = await outbox(xassistant)
    assert [r["id"] for r in left] == [r["id"] for r in rows[2:]]  # parked and queued stay


@pytest.mark.both_engines
async def test_leaving_erases_the_persons_statements(xassistant: Assistant) -> None:
    chat = await admin_drill(xassistant, [True, True, True])
    assert await outbox(xassistant)
    await chat.say("/leave")
    await chat.tap("leave:yes")
    assert await outbox(xassistant) == []


# --- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize("missing", sorted(XAPI_ENV))
def test_some_xapi_settings_without_the_others_name_the_missing_one(
        tmp_path: Path, missing: str) -> None:
    env = {k: v for k, v in XAPI_ENV.items() if k != missing}
    with pytest.raises(ConfigError) as err:
        load_settings(env, env_file=tmp_path / "none")
    assert str(err.value).startswith(f"{missing}: expected a value when ")
    assert "pw-not-shown" not in str(err.value)


def test_endpoint_with_or_without_a_slash_and_the_password_is_a_secret(tmp_path: Path) -> None:
    plain = load_settings(XAPI_ENV, env_file=tmp_path / "none")
    slash = load_settings({**XAPI_ENV, "COACH_XAPI_ENDPOINT": "http://127.0.0.1:9/xapi/"},
                          env_file=tmp_path / "none")
    assert plain.xapi_endpoint == slash.xapi_endpoint == "http://127.0.0.1:9/xapi/"
    assert plain.xapi and plain.xapi_batch == 50
    assert "pw-not-shown" in plain.secret_values()
    assert not load_settings({}, env_file=tmp_path / "none").xapi


def test_partial_xapi_settings_stop_start_up_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COACH_DB": str(tmp_path / "c.db"),
           "COACH_XAPI_ENDPOINT": "https://lrs.example/xapi/"}
    proc = subprocess.run([sys.executable, "-m", "bot", "xapi", "status"], cwd=tmp_path,
                          env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("counter-coach: COACH_XAPI_USER: expected a value when "
                                  "COACH_XAPI_ENDPOINT is set")


async def test_xapi_status_and_resend_from_the_command_line(xassistant: Assistant,
                                                            settings: Settings) -> None:
    chat = await admin_drill(xassistant, [True, False, False])
    rows = await outbox(xassistant)
    await xassistant.store.statements_sent([rows[0]["id"]], chat.assistant.now())
    await xassistant.store.park_statement(rows[1]["id"], "LRS answered 422: bad statement")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           "COACH_DB": str(settings.db)}

    def cli(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "bot", "xapi", *args], cwd=settings.db.parent,
                              env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    status = cli("status")
    assert "xAPI: not configured" in status
    assert f"queued {len(rows) - 2} (oldest " in status and "sent 1, parked 1" in status
    assert f"parked {rows[1]['statement_id']}: LRS answered 422: bad statement" in status
    resent = cli("resend")
    assert resent.startswith("1 parked statement(s) queued again")
    assert f"queued {len(rows) - 1} " in resent and "parked 0" in resent
