"""Small talk, 👎 with next best cards, and learning from use (suggestions, /learn, export)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bot.answers import Library
from bot.assistant import Assistant
from bot.config import Settings
from bot.i18n import t
from bot.models import Lang, Role
from bot.store import Store
from tests.cards import REAL_KB
from tests.conftest import Chat, FakeClock

ROOT = Path(__file__).resolve().parent.parent
MISSED = "a regular customer keeps offering me free concert tickets"  # gifts: service.conduct
TIE = "lost my tie this morning, on counter duty in 10 minutes"  # confidently appearance


async def count(store: Store, sql: str) -> int:
    row = await store.row(sql)
    return int(row[0]) if row else 0


async def test_small_talk_gets_a_friendly_reply_and_is_no_gap(admin: Chat,
                                                              assistant: Assistant) -> None:
    for text in ("thanks", "thx", "ok thanks", "ok", "好的", "谢谢", "多謝", "收到", "唔该", "bye",
                 "👍"):
        replies = await admin.say(text)
        assert len(replies) == 1 and replies[0].text and not replies[0].buttons, text
        assert "Which of these" not in replies[0].text and "没有" not in replies[0].text
    assert (await admin.say("多謝晒"))[0].text == "唔使客氣，有嘢隨時問我。"
    assert (await admin.say("多謝"))[0].text == "不客氣，有問題隨時問我。"
    assert (await admin.say("thx"))[0].text == "You're welcome! Ask me any time."
    await admin.say("/lang zh-TW")  # a language chosen: small talk answered in it too
    assert (await admin.say("thanks"))[0].text == "不客氣，有問題隨時問我。"
    assert (await admin.say("唔该"))[0].text == "唔使客氣，有嘢隨時問我。"
    await admin.say("/lang en")
    assert (await admin.say("谢谢"))[0].text == "You're welcome! Ask me any time."
    await admin.say("/lang zh")
    assert (await admin.say("多謝"))[0].text == "不客气，有问题随时问我。"
    assert await count(assistant.store, "SELECT COUNT(*) FROM questions") == 0
    assert await assistant.store.gaps(assistant.now().replace(year=2000)) == []


async def test_help_typed_without_the_slash_shows_help(admin: Chat) -> None:
    for text in ("help", "Help!", "帮助"):
        replies = await admin.say(text)
        assert "/drill" in replies[0].text and "/learn" in replies[0].text


async def test_did_you_mean_always_has_options(admin: Chat) -> None:
    await admin.say("/lang en")
    for text in ("my stamp got stuck in the printer", "interest", "ok thanks and", "hmm", "fee?"):
        for reply in await admin.say(text):
            if reply.text == "Which of these topics do you mean?":
                assert reply.buttons, text


async def test_thumbs_down_offers_next_best_and_a_pick_is_learnt(admin: Chat,
                                                                 assistant: Assistant) -> None:
    await admin.say("/lang en")
    answer = await admin.say(TIE)
    assert answer[-1].title == "Appearance & branch environment" or answer[-1].buttons
    shown = answer[-1].title
    replies = await admin.press("👎")
    offer = replies[-1]
    labels = [b.label for row in offer.buttons for b in row]
    assert offer.text == "Thanks - noted. Is it one of these?"
    assert 2 <= len(labels) <= 4 and labels[-1] == "None of these" and shown not in labels
    picked = labels[0]
    replies = await admin.press(picked)
    assert replies[0].edit and picked in replies[0].text
    assert replies[1].title == picked and any("👎" in b.label for r in replies[1].buttons for b in r)
    row = await assistant.store.row("SELECT outcome, card_id, feedback FROM questions")
    assert row is not None and row["outcome"] == "answered" and row["feedback"] is None
    pending = await assistant.store.pending()
    assert [(s.question, s.card_id, s.count) for s in pending] == [(TIE, row["card_id"], 1)]
    assert await assistant.store.gaps(assistant.now().replace(year=2000)) == []
    again = await admin.tap(offer.buttons[0][0].payload)  # the same offer pressed twice
    assert "expired" in again[0].text


async def test_none_of_these_keeps_the_gap(admin: Chat, assistant: Assistant) -> None:
    await admin.say("/lang en")
    await admin.say(TIE)
    await admin.press("👎")
    replies = await admin.press("None of these")
    assert replies[0].edit and "noted" in replies[1].text
    assert await assistant.store.gaps(assistant.now().replace(year=2000)) == [(TIE, 1)]
    assert await assistant.store.pending() == []


async def test_did_you_mean_pick_becomes_a_suggestion(admin: Chat, assistant: Assistant) -> None:
    await admin.say("/lang en")
    for _ in range(2):  # asked twice, picked twice: one suggestion counted twice
        replies = await admin.say("my stamp got stuck in the printer")
        assert replies[-1].text == "Which of these topics do you mean?"
        await admin.tap(replies[-1].buttons[0][0].payload)
    [s] = await assistant.store.pending()
    assert (s.question, s.card_id, s.count) == ("my stamp got stuck in the printer", "device.guide", 2)


async def test_accepted_suggestion_matches_at_once_everywhere_and_after_restart(
        admin: Chat, assistant: Assistant, settings: Settings, clock: FakeClock,
        real_library: Library) -> None:
    await admin.say("/lang en")
    missed = await admin.say(MISSED)
    assert missed[-1].title != "Professional conduct standards"
    other = Assistant(settings, await Store.open(settings.db), real_library, clock)
    await other.start()  # a second instance on the same database
    try:
        await assistant.store.suggest(MISSED, "service.conduct", clock())
        staff = 3101
        await assistant.store.upsert_person(staff, "Staff", {Role.STAFF}, clock())
        refused = t("not_allowed", Lang.ZH)
        assert (await Chat(assistant, staff).say("/learn"))[0].text == refused
        listed = await admin.say("/learn")
        [s] = await assistant.store.pending()
        assert f"#{s.id} ×1 “{MISSED}” ➜ " in listed[0].text
        denied = await Chat(assistant, staff).tap(f"lrn:{s.id}:a")
        assert (await assistant.store.suggestion(s.id)).status == "pending"  # type: ignore[union-attr]
        assert denied[0].text == refused
        decided = await admin.press(f"✅ #{s.id}")
        assert decided[0].edit and "accepted" in decided[0].text
        assert (await admin.tap(f"lrn:{s.id}:r"))[0].text.startswith(f"#{s.id} was already")
        result = assistant.library.index.search(MISSED)
        assert result.confident and result.matches[0].card.id == "service.conduct"
        assert (await admin.say(MISSED))[-1].title == "Professional conduct standards"
        audit = await assistant.store.row("SELECT actor, action FROM audit WHERE action"
                                          " LIKE 'suggestion.%'")
        assert audit is not None and tuple(audit) == (900, "suggestion.accept")
        # the other instance learns it at its minute tick, without a restart
        assert not other.library.index.search(MISSED).confident
        await other.tick(clock())
        assert other.library.index.search(MISSED).confident
    finally:
        await other.store.close()
    restarted = Assistant(settings, await Store.open(settings.db), real_library, clock)
    await restarted.start()
    try:
        assert restarted.library.index.search(MISSED).confident
    finally:
        await restarted.store.close()


async def test_reject_and_undecided_suggestions_expire(admin: Chat, assistant: Assistant,
                                                       clock: FakeClock) -> None:
    store = assistant.store
    await store.suggest("old pending", "dispute.fee", clock())
    await store.suggest("rejected one", "dispute.fee", clock())
    rejected = [s for s in await store.pending() if s.question == "rejected one"][0]
    listed = await admin.say("/learn")
    assert "old pending" in listed[0].text
    replies = await admin.press(f"❌ #{rejected.id}")
    assert "rejected" in replies[0].text or "已拒绝" in replies[0].text
    assert "rejected one" not in replies[0].text.split("\n", 1)[1]
    clock.advance(days=assistant.settings.retention_days + 2)
    await assistant.tick(clock())
    assert await store.pending() == []
    assert (await store.suggestion(rejected.id)) is not None  # a decision is kept


def cli(*args: str, db: Path, kb: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COACH_DB": str(db),
           "COACH_KNOWLEDGE": str(kb), "COACH_EMBEDDINGS": "off"}
    return subprocess.run([sys.executable, "-m", "bot", "kb", "suggestions", *args], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=120)


async def test_cli_review_and_export_keeps_the_rest_of_each_file(tmp_path: Path,
                                                                 clock: FakeClock) -> None:
    kb, db = tmp_path / "kb", tmp_path / "coach.db"
    shutil.copytree(REAL_KB, kb)
    store = await Store.open(db)
    for question, card in ((MISSED, "service.conduct"), ("客户要送我演唱会门票", "service.conduct"),
                           ("客人話要送飛俾我，收唔收得", "service.conduct"),
                           ("not this one", "dispute.fee")):
        await store.suggest(question, card, clock())
    await store.suggest(MISSED, "service.conduct", clock())
    ids = {s.question: s.id for s in await store.pending()}
    await store.close()
    listed = cli(db=db, kb=kb)
    assert listed.returncode == 0 and listed.stdout.splitlines()[0].endswith(MISSED)
    for question in (MISSED, "客户要送我演唱会门票", "客人話要送飛俾我，收唔收得"):
        assert cli("--accept", str(ids[question]), db=db, kb=kb).returncode == 0
    assert cli("--reject", str(ids["not this one"]), db=db, kb=kb).returncode == 0
    assert cli("--reject", str(ids["not this one"]), db=db, kb=kb).returncode == 1
    card = kb / "basics" / "service.conduct.yaml"
    before = card.read_text(encoding="utf-8")
    fee = (kb / "complaints" / "dispute.fee.yaml").read_bytes()
    done = cli("--export", db=db, kb=kb)
    assert done.returncode == 0, done.stderr
    after = card.read_text(encoding="utf-8")
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    # each joins its own list (zh, zh-Hant, en), after that list's last line
    assert added == ["    - 客户要送我演唱会门票", "    - 客人話要送飛俾我，收唔收得", f"    - {MISSED}"]
    remaining = after.splitlines()
    for line in added:
        remaining.remove(line)
    assert remaining == before.splitlines()  # everything else byte for byte
    assert (kb / "complaints" / "dispute.fee.yaml").read_bytes() == fee
    assert cli("--export", db=db, kb=kb).returncode == 0  # again: nothing added twice
    assert card.read_text(encoding="utf-8") == after
    store = await Store.open(db)
    try:
        actions = [r[0] for r in await store.rows("SELECT action FROM audit ORDER BY id")]
        assert actions == ["suggestion.accept"] * 3 + ["suggestion.reject",
                                                       "suggestions.export",
                                                       "suggestions.export"]
    finally:
        await store.close()


async def test_reload_keeps_accepted_questions(admin: Chat, assistant: Assistant,
                                               settings: Settings, clock: FakeClock) -> None:
    await assistant.store.suggest(MISSED, "service.conduct", clock())
    [s] = await assistant.store.pending()
    await assistant.store.decide(s.id, True, 900, clock())
    await assistant.tick(clock())
    assert assistant.library.index.search(MISSED).confident
    await admin.say("/reload")
    assert assistant.library.index.search(MISSED).confident
