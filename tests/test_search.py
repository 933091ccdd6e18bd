"""Matching: normalisation, typos, each language, the unconfident path and the ask contract."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.adapters.console import converse
from bot.answers import Library
from bot.assistant import Assistant
from bot.terms import prepare, tokens
from bot.text import is_traditional, normalise, to_traditional
from tests.conftest import ADMIN, Chat

ROOT = Path(__file__).resolve().parent.parent


def test_normalise_width_case_and_traditional() -> None:
    assert normalise("ＡＴＭ　手續費 ＦＥＥ") == "atm 手续费 fee"
    assert normalise("帳戶被盜") == "帐户被盗"
    assert prepare("帳戶被盜") == "账户被盗"  # 帐户 folded to the cards' 账户
    assert is_traditional("客人說利息少咗") and not is_traditional("客户说利息少了")
    assert to_traditional("存款利息争议") == "存款利息爭議"


def test_dialect_and_shorthand_fold_to_card_words() -> None:
    assert prepare("客人話佢利息少咗") == "客户话他利息少了"
    assert prepare("cust's acct bal wat 2 do") == "customer account balance what to do"
    assert "2026" in prepare("2026")  # digits inside numbers are not shorthand
    assert prepare("cx wants stmt 4 her fd, w/d 2day") == \
        "customer wants statement for her fixed deposit, withdrawal today"


def test_tokens_cjk_ngrams_and_english_stems() -> None:
    got = tokens(prepare("手续费 disputes charged"))
    assert {"手", "续", "费", "手续", "续费", "disput", "charg"} <= set(got)
    assert "怎么办" not in "".join(tokens(prepare("手续费怎么办")))


@pytest.mark.parametrize(("question", "expected"), [
    ("客户说这个月多扣了手续费", "dispute.fee"),
    ("客人說存款利息算少咗", "dispute.deposit_interest"),
    ("老人要转钱到安全账户", "ebanking.safety.impersonation_scam"),
    ("customer says we charged him twice for a transfer fee", "dispute.fee"),
    ("cust sez app balnce diffrent from atm", "dispute.balance"),  # typos
    ("phishng sms with a link to upgrade online bankng", "ebanking.safety.phishing"),
    ("客户手机丢了 mobile banking 怎么冻结", "ebanking.safety.account_takeover"),
    ("ＶＩＰ客户接待流程", "vip.reception"),  # full width
    ("cust keeps yellin at me", "complaint.on_site"),  # chat English drops the g
])
def test_each_language_and_typos_find_the_card(real_library: Library, question: str,
                                               expected: str) -> None:
    result = real_library.index.search(question)
    assert result.matches[0].card.id == expected
    assert result.confident
    assert 0.0 <= result.matches[-1].score <= result.matches[0].score <= 1.0


@pytest.mark.parametrize("question", ["今天天气怎么样", "what's the gold price today",
                                      "帮我订个会议室", "who won the football last night"])
def test_out_of_scope_is_not_confident(real_library: Library, question: str) -> None:
    assert not real_library.index.search(question).confident


def test_empty_and_symbol_queries_have_no_matches(real_library: Library) -> None:
    for question in ("", "   ", "？？？", "😀"):
        result = real_library.index.search(question)
        assert result.matches == () and not result.confident


async def test_console_did_you_mean_buttons(admin: Chat, assistant: Assistant) -> None:
    out = io.StringIO()
    await converse(assistant, io.StringIO("利息\n/1\n"), out, user_id=ADMIN)
    text = out.getvalue()
    assert "您想问的是以下哪一项？" in text and "[/1] 存款利息争议" in text
    assert "== 存款利息争议 ==" in text.split("> /1", 1)[1]


def ask(*args: str, stdin: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           "COACH_KNOWLEDGE": str(ROOT / "knowledge")}
    return subprocess.run([sys.executable, "-m", "bot", "ask", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, env=env, timeout=120)


def test_ask_contract_single_question(tmp_path: Path) -> None:
    proc = ask("客户说手续费多扣了", "--json", "--top", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"query", "confident", "smalltalk", "matches"}
    assert data["smalltalk"] is False
    assert data["query"] == "客户说手续费多扣了" and data["confident"] is True
    assert len(data["matches"]) == 2
    assert data["matches"][0] == {"id": "dispute.fee", "score": data["matches"][0]["score"],
                                  "title": "手续费争议"}
    assert not (tmp_path / "data").exists()  # ask never opens or writes the database


def test_ask_contract_stdin_one_object_per_line() -> None:
    lines = ["fee dispute", "", "今天天气怎么样"] * 200
    proc = ask("--json", stdin="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["query"] for o in out] == lines
    assert out[0]["matches"][0]["id"] == "dispute.fee" and out[0]["confident"]
    assert out[1] == {"query": "", "confident": False, "smalltalk": False, "matches": []}
    assert out[2]["confident"] is False
    assert all(len(o["matches"]) <= 3 for o in out)


def test_ask_survives_bytes_that_are_not_utf8() -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           "COACH_KNOWLEDGE": str(ROOT / "knowledge")}
    proc = subprocess.run([sys.executable, "-m", "bot", "ask", "--json"], cwd=ROOT, env=env,
                          input="手续费多扣了\n".encode() + b"\xff\xfe fee \xe6\x89\n",
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    first, second = (json.loads(line) for line in proc.stdout.decode().splitlines())
    assert first["matches"][0]["id"] == "dispute.fee"
    assert "\ufffd" in second["query"] and "fee" in second["query"]


def test_ask_with_another_card_folder(tmp_path: Path) -> None:
    from tests.cards import card, write_cards

    write_cards(tmp_path, card("only.one"))
    data = json.loads(ask("one question", "--json", "--kb", str(tmp_path)).stdout)
    assert [m["id"] for m in data["matches"]] == ["only.one"]


def test_typos_of_synonyms_and_dropped_g_read_as_the_word(real_library: Library) -> None:
    index = real_library.index
    assert index.query_terms("jornalist") == index.query_terms("journalist") == ["reporter"]
    assert index.query_terms("yellin") == index.query_terms("yelling")
    assert index.query_terms("askin") == index.query_terms("asking")
    assert index.query_terms("doin") == []  # "doing" is a stop word
    assert index.query_terms("qwzx") == ["qwzx"]  # nothing close: kept, counted as unknown
    # a typo is one slip in a short word: "audit" is not read as "admit" (two slips)
    assert "admit" in index.lexical.words and "admit" not in index.query_terms("audit")
    assert index.query_terms("pasword") == index.query_terms("password")  # one slip: read


def test_the_model_reads_a_question_with_its_typos_mended(real_library: Library) -> None:
    lexical = real_library.index.lexical
    assert lexical.mend(prepare("cust sez app balnce diffrent from atm")) == \
        "customer says app balance different from atm"
    assert lexical.mend(prepare("jornalist askin")) == "reporter asking"  # via the synonym
    assert lexical.mend(prepare("qwzxy 客户")) == "qwzxy 客户"  # nothing close: kept


def test_hong_kong_forms_fold_to_the_cards_words() -> None:
    assert prepare("個客過錯數俾陌生人，想追返") == "客户转错账给陌生人,想追回"
    assert prepare("老細話啲糧未入戶口") == "老板话些工资未入账户"
    assert prepare("佢個網銀俾人登入咗") == "他个网银被人登录了"
    assert prepare("佢係客人，唔係職員") == "他是客户,不是职员"
    assert prepare("一个客户带了户口本") == "一个客户带了户口本"  # the hukou stays
    assert prepare("我應該點同佢講") == "我应该怎么同他讲"  # 點 + a verb: how to
    assert prepare("网点回访，快点回来") == "网点回访,快点回来"  # Mandarin 点 stays


@pytest.mark.parametrize(("question", "expected"), [
    ("個客用App過錯數俾第二個人，想追返", "transfer.wrong_account"),
    ("客人張信用咭唔見咗，點算", "card.loss_report"),
    ("呢排好多客人話收到積分到期嘅短訊", "ebanking.safety.phishing"),
])
def test_hong_kong_situations_find_the_card(real_library: Library, question: str,
                                            expected: str) -> None:
    assert real_library.index.search(question).matches[0].card.id == expected
