"""Small talk, questions about another person's data, extra ways of asking, `ask --db`
(words only: the model's own tests are in test_embeddings.py)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.answers import Library
from bot.knowledge import load
from bot.ranker import THIRD_PARTY, about_other_person
from bot.search import Index
from bot.smalltalk import language, reply, smalltalk
from tests.cards import write_cards
from tests.semantic_cards import CARDS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("text", "kind", "lang"), [
    ("谢谢", "thanks", "zh-Hans"), ("thx", "thanks", "en"), ("好的", "ok", "zh-Hans"),
    ("收到", "ok", "zh-Hans"), ("唔該", "thanks", "yue"), ("bye", "bye", "en"),
    ("早晨", "greeting", "yue"), ("ok 👍", "ok", "en"), ("多謝晒", "thanks", "yue"),
    ("謝謝你！", "thanks", "zh-Hant"), ("Thanks a lot!", "thanks", "en"),
    ("好的，谢谢", "thanks", "zh-Hans"), ("noted 🙏", "ok", "en"), ("拜拜", "bye", "zh-Hans"),
    ("👍", "ok", "en"), ("hello", "greeting", "en"), ("辛苦了", "thanks", "zh-Hans"),
])
def test_small_talk_is_recognised_and_answered_in_the_persons_language(
        text: str, kind: str, lang: str) -> None:
    assert smalltalk(text) == kind
    assert language(text) == lang
    answer = reply(text)
    assert answer and len(answer) < 60
    assert ("不客气" in answer or "不客氣" in answer or "唔使客氣" in answer) == (
        kind == "thanks" and lang != "en")


@pytest.mark.parametrize("text", [
    "thanks, and how do I handle a fee dispute?", "好的，客户说手续费多扣了", "可以吗", "this",
    "银行", "hi cust wants a refund", "", "   ", "ok so the cust is yelling",
])
def test_a_question_with_small_talk_in_it_is_a_question(text: str) -> None:
    assert smalltalk(text) == "" and reply(text) is None


def test_small_talk_matches_no_card(real_library: Library) -> None:
    for text in ("谢谢", "唔该", "thx", "好的"):
        result = real_library.index.search(text)
        assert result.smalltalk and result.matches == () and not result.confident


@pytest.mark.parametrize(("text", "other"), [
    ("客户要打印别人的流水", True), ("客户要帮他老婆打印近半年流水", True),
    ("dad wants to check his son's balance", True), ("個客要我 print 佢阿爸嘅 statement", True),
    ("cust wants a copy of her husband's statement", True), ("有人拿别人的存折来问余额", True),
    ("客户说他的余额不对", False), ("客户要打印流水", False), ("cust says balance is wrong", False),
    ("app的余额和atm不一样", False), ("someone stole my card", False),
    # new phrasings: zh-Hans, Cantonese, English, mixed; and one's own data
    ("小姨子拿着姐夫的卡来问里面还有多少钱", True), ("保姆拿着雇主的存折要查余额", True),
    ("個客想睇下佢阿哥個戶口最近有冇錢入", True), ("佢個女婿拎住佢張存摺嚟查餘額", True),
    ("cust's nephew wants a printout of his uncle's transactions", True),
    ("guy wants his gf's bank statement 4 the visa", True),
    ("客户拿着他老丈人的 card 要查 balance", True), ("客户帮她 bf 查 acct 余额，bf 没来", True),
    ("一位阿姨说女儿帮她装了手机银行，想给孙子转零花钱", False),
    ("個客話佢張卡唔見咗", False), ("cust wants her own statement printed", False),
])
def test_questions_about_another_persons_data_are_recognised(text: str, other: bool) -> None:
    assert about_other_person(text) is other


def test_another_persons_statement_is_never_answered_with_the_how_to(tmp_path: Path) -> None:
    index = Index(list(load(write_cards(tmp_path, *CARDS)).cards.values()))
    own = index.search("客户要打印流水")
    assert own.confident and own.matches[0].card.id == "device.statement"
    for question in ("客户要打印他老婆的流水", "cust wants to print her husband's statement"):
        result = index.search(question)
        top = result.matches[0].card.id
        assert not (result.confident and top == "device.statement"), question


def test_on_the_real_cards_no_confident_how_to_for_someone_elses_data(
        real_library: Library) -> None:
    index = real_library.index
    for question in ("客户要打印别人的流水", "帮老公查一下他卡里的余额", "lady wants her son's statement",
                     "man wants his brother's card transactions"):
        result = index.search(question)
        top = index.cards.index(result.matches[0].card)
        assert not result.confident or index.third[top] >= THIRD_PARTY, question


@pytest.mark.parametrize("question", [
    "小姨子拿着姐夫的卡来问里面还有多少钱", "表哥拿着表妹的存折要打明细",
    "個客拎住佢老豆張卡，想印埋佢老豆嘅交易紀錄", "佢個女婿拎住佢張存摺嚟查餘額",
    "tenant asks me to show him his landlord's account details",
    "guy wants his gf's bank statement 4 the visa",
    "客户拿着他老丈人的 card 要查 balance", "客户帮她 bf 查 acct 余额，bf 没来",
])
def test_another_persons_data_leans_to_the_privacy_card_never_a_how_to(
        real_library: Library, question: str) -> None:
    index = real_library.index
    result = index.search(question)
    top = index.cards.index(result.matches[0].card)
    assert not result.confident or index.third[top] >= THIRD_PARTY
    assert "counter.privacy" in [m.card.id for m in result.matches]


def test_extra_ways_of_asking_count_without_touching_the_cards(tmp_path: Path) -> None:
    cards = list(load(write_cards(tmp_path, *CARDS)).cards.values())
    question = "柜员能不能去客户家里吃年夜饭"
    before = Index(cards).search(question)
    assert not before.confident
    after = Index(cards).with_questions({"service.gifts": [question]}).search(question)
    assert after.confident and after.matches[0].card.id == "service.gifts"


def test_alternatives_are_the_next_best_cards(tmp_path: Path) -> None:
    index = Index(list(load(write_cards(tmp_path, *CARDS)).cards.values()))
    first = index.search("客户要打印流水", limit=4).matches
    others = index.alternatives("客户要打印流水", first[0].card.id)
    assert [m.card.id for m in others] == [m.card.id for m in first[1:4]]
    assert first[0].card.id not in {m.card.id for m in others}


def ask(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           "COACH_EMBEDDINGS": "off"}
    return subprocess.run([sys.executable, "-m", "bot", "ask", "--json", *args], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, env=env, timeout=120)


def test_ask_flags_small_talk() -> None:
    proc = ask(stdin="谢谢\n唔该\nfee dispute\n")
    assert proc.returncode == 0, proc.stderr
    thanks, cantonese, question = (json.loads(line) for line in proc.stdout.splitlines())
    assert thanks == {"query": "谢谢", "confident": False, "smalltalk": True, "matches": []}
    assert cantonese["smalltalk"] is True
    assert question["smalltalk"] is False and question["matches"]


def test_ask_db_reads_accepted_suggestions_and_writes_nothing(tmp_path: Path) -> None:
    kb = write_cards(tmp_path / "kb", *CARDS)
    db = tmp_path / "coach.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE suggestions (id INTEGER PRIMARY KEY, card_id TEXT, "
                     "question TEXT, status TEXT)")
        conn.executemany("INSERT INTO suggestions (card_id, question, status) VALUES (?, ?, ?)",
                         [("service.gifts", "柜员能不能去客户家里吃年夜饭", "accepted"),
                          ("service.dress", "柜员能不能去客户家里吃年夜饭", "pending")])
    conn.close()
    before = db.read_bytes()
    files = sorted(p.name for p in tmp_path.iterdir())
    question = "柜员能不能去客户家里吃年夜饭"
    plain = json.loads(ask(question, "--kb", str(kb)).stdout)
    learned = json.loads(ask(question, "--kb", str(kb), "--db", str(db)).stdout)
    assert not plain["confident"]
    assert learned["confident"] and learned["matches"][0]["id"] == "service.gifts"
    assert db.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == files
    empty = tmp_path / "old.db"
    sqlite3.connect(empty).close()  # a database from before suggestions existed
    assert json.loads(ask(question, "--kb", str(kb), "--db", str(empty)).stdout)["matches"]
    missing = ask(question, "--db", str(tmp_path / "nope.db"))
    assert missing.returncode == 2 and "no database" in missing.stderr
