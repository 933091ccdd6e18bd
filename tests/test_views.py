"""How cards are shown: the glance, sections, the full card, traditional Chinese and the
`kb show --json` contract, over every real card (COACH_KNOWLEDGE picks another folder)."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.__main__ import as_sent
from bot.i18n import SECTION_NAMES, STRINGS, t
from bot.knowledge import check
from bot.models import Card, Lang, Reply
from bot.views import SECTION_VIEWS, View, full, glance, parse_view, section, view_payload
from tests.cards import REAL_KB, card, write_cards

ROOT = Path(__file__).resolve().parent.parent
KB = Path(os.environ.get("COACH_KNOWLEDGE") or REAL_KB)
GLANCE_MAX = {Lang.ZH: 400, Lang.HANT: 400, Lang.TW: 400, Lang.EN: 700}
QID = 2**31  # the longest question id button data will carry for years
# What OpenCC gets wrong in our texts and bot/text.py fixes (彆 only in 彆扭; 籤 only in the
# words for a slip of paper, never for signing).
WRONG = ("彆着", "彆著", "覈", "爲", "製度", "髮卡", "群髮", "羣髮", "隻是", "拖幹", "衝正",
         "衝賬", "銷燬", "天后", "卡里")
SLIP = re.compile(r"(?<![便標書抽求])籤")


def real_cards() -> dict[str, Card]:
    cards, _ = check(KB)
    assert cards, f"no cards in {KB}"
    return {c.id: c for c in cards}


def utf16(text: str) -> int:
    """Telegram counts a message's length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def new_message(reply: Reply) -> list[dict[str, Any]]:
    """The reply sent as a new message: every part, not just what an edit shows."""
    return as_sent(replace(reply, edit=False))


def test_every_card_glance_fits_a_phone_and_every_section_one_message() -> None:
    cards = real_cards()
    problems: list[str] = []
    for lang in Lang:
        for c in cards.values():
            shown = new_message(glance(c, lang, QID, feedback=True))
            if len(shown) != 1 or len(shown[0]["text"]) > GLANCE_MAX[lang]:
                problems.append(f"{c.id} {lang.value}: glance {len(shown[0]['text'])}")
            for view in SECTION_VIEWS:
                parts = new_message(section(c, view, lang, cards, QID))
                if len(parts) != 1 or utf16(parts[0]["text"]) > 4096:
                    problems.append(f"{c.id} {lang.value} {view.value}: {len(parts)} messages")
                if parts[-1]["text"].endswith(t("cut", lang, id=c.id)):
                    problems.append(f"{c.id} {lang.value} {view.value}: cut")
                shown += parts
            problems += [f"{c.id}: button {b}" for m in shown for row in m["buttons"] for b in row
                         if len(b["text"]) > 64 or len(b["data"].encode()) > 64]
    assert problems == []


def test_glance_is_shorter_than_the_whole_card() -> None:
    """The numbers the closing note reports: what a person first reads, before and after."""
    cards = real_cards()
    for lang in (Lang.ZH, Lang.EN):
        before = [len(c.title.get(lang)) + 1 + len(full(c, lang, cards).text)
                  for c in cards.values()]
        after = [len(new_message(glance(c, lang))[0]["text"]) for c in cards.values()]
        print(f"{lang.value}: first message max {max(before)} -> {max(after)}, median "
              f"{statistics.median(before)} -> {statistics.median(after)}")
        assert max(after) <= GLANCE_MAX[lang] and statistics.median(after) < statistics.median(before)


def all_texts(c: Card, lang: Lang, cards: dict[str, Card]) -> list[str]:
    texts = [glance(c, lang).text, full(c, lang, cards).text]
    texts += [section(c, v, lang, cards).text for v in SECTION_VIEWS]
    for item in c.drills:
        texts += [item.question.get(lang), item.explain.get(lang)]
        texts += [o.text.get(lang) for o in item.options]
    return texts


def test_traditional_output_has_none_of_opencc_slips() -> None:
    cards = real_cards()
    found = []
    for lang in (Lang.HANT, Lang.TW):
        texts = [t(key, lang) for key in STRINGS] + [lang.pick(*n) for n in SECTION_NAMES.values()]
        texts += [c.title.get(lang) for c in cards.values()]
        for c in cards.values():
            texts += all_texts(c, lang, cards)
        found += [f"{lang.value}: {w} in {x[:40]}" for x in texts for w in WRONG if w in x]
        found += [f"{lang.value}: 籤 in {x[:40]}" for x in texts if SLIP.search(x)]
    assert found == []


def test_traditional_forms_per_region() -> None:
    assert Lang.HANT.pick("您先别着急，请核对身份证，为了安全", "") == "您先別着急，請核對身份證，為了安全"
    assert Lang.TW.pick("您先别着急，请核对身份证，为了安全", "") == "您先別著急，請核對身份證，為了安全"
    assert Lang.TW.pick("打印回单", "") == "打印回單"  # not s2twp's Taiwan words (列印)
    assert Lang.HANT.pick("客户本人签字，不写便签；满7天后，卡里的钱", "") == (
        "客户本人簽字，不寫便籤；滿7天後，卡裏的錢")
    assert t("did_you_mean", Lang.HANT) == "您想問的是以下哪一項？"
    assert t("fb_down", Lang.TW) == "👎 沒用" and t("btn_say", Lang.HANT) == "話術"


def test_a_card_id_must_fit_in_button_data(tmp_path: Path) -> None:
    long_id = "a" * 20 + "." + "b" * 20
    _, problems = check(write_cards(tmp_path / "kb", card(long_id)))
    assert [str(p).split(": ", 1)[1] for p in problems] == [
        f"{long_id}: id: at most 40 characters (it travels in button data)"]
    assert len(view_payload("a" * 40, View.ABOUT, QID).encode()) <= 64


def test_a_card_without_now_starts_with_its_first_step(tmp_path: Path) -> None:
    plain = card("plain.card")
    del plain["now"]
    (loaded,), problems = check(write_cards(tmp_path / "kb", plain))
    assert problems == []
    shown = glance(loaded, Lang.ZH)
    assert shown.text == f"{t('now', Lang.ZH)}\ncard第一步"


def test_safety_glance_has_its_first_never_and_sections_their_lines(tmp_path: Path) -> None:
    data = card("scam.call", ctype="safety", related=["other.card"],
                now={"zh": ["先别转账", "请主管过来"], "en": ["Hold the transfer", "Call the supervisor"]},
                never={"zh": ["不要办转账", "不要争辩"], "en": ["Never transfer", "Never argue"]})
    cards = {c.id: c for c in check(write_cards(tmp_path / "kb", data, card("other.card")))[0]}
    scam = cards["scam.call"]
    assert glance(scam, Lang.ZH).text == "现在先做：\n1. 先别转账\n2. 请主管过来\n\n⛔ 不要办转账"
    assert glance(cards["other.card"], Lang.EN).text == "Right now:\ncard first move"
    assert [b.label for row in glance(scam, Lang.EN).buttons for b in row] == [
        "Steps", "What to say", "Escalate", "Never", "Background", "Related"]
    steps = section(scam, View.STEPS, Lang.EN, cards, qid=7)
    assert steps.edit and steps.title == "call title"
    assert steps.text == "Steps:\n1. call step one\n2. step two"
    assert steps.buttons[0][0].label == "◀ Back"
    assert parse_view(steps.buttons[0][0].payload[2:]) == ("scam.call", View.GLANCE, 7)
    assert "Steps" not in [b.label for row in steps.buttons for b in row]
    related = section(scam, View.RELATED, Lang.ZH, cards)
    assert related.buttons[-1][0].payload == "card:other.card"
    assert related.buttons[-1][0].label == "card标题"
    assert "Related" not in [b.label for row in glance(cards["other.card"], Lang.EN).buttons
                             for b in row]
    assert parse_view("x:nope:") is None and parse_view("x:g:1a") is None
    assert view_payload("a.b", View.SAY) == "v:a.b:say:"


def test_a_section_too_long_for_one_message_is_cut_with_the_way_to_the_rest(
        tmp_path: Path) -> None:
    steps = [f"第{n}步：" + "核对客户身份与用途" * 12 for n in range(60)]
    (long,), _ = check(write_cards(tmp_path / "kb", card("long.card", steps={
        "zh": steps, "en": steps})))
    shown = new_message(section(long, View.STEPS, Lang.ZH, {long.id: long}))
    assert len(shown) == 1 and utf16(shown[0]["text"]) <= 4096
    assert shown[0]["text"].endswith("…（太长，其余请看 /card long.card full）")
    assert len(new_message(full(long, Lang.ZH, {long.id: long}))) == 2  # sent in parts


def kb_show(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           "COACH_KNOWLEDGE": str(REAL_KB)}
    return subprocess.run([sys.executable, "-m", "bot", "kb", "show", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_kb_show_json_is_what_is_sent(tmp_path: Path) -> None:
    steps = [f"第{n}步：" + "核对 <身份> & 用途" * 12 for n in range(60)]
    kb = write_cards(tmp_path / "kb", card("long.card", steps={"zh": steps, "en": steps},
                                           say={"zh": ["您先别着急"], "en": ["Don't worry"]}))
    glance_json = json.loads(kb_show("long.card", "--kb", str(kb), "--json").stdout)
    assert glance_json == [{"text": "card标题\n现在先做：\ncard先做这一步",
                            "html": "<b>card标题</b>\n现在先做：\ncard先做这一步",
                            "buttons": [[{"text": "步骤", "data": "v:long.card:steps:"},
                                         {"text": "话术", "data": "v:long.card:say:"},
                                         {"text": "上报", "data": "v:long.card:esc:"}],
                                        [{"text": "切勿", "data": "v:long.card:never:"},
                                         {"text": "背景", "data": "v:long.card:about:"}]]}]
    whole = json.loads(kb_show("long.card", "--kb", str(kb), "--full", "--json").stdout)
    assert len(whole) >= 3 and all(m["buttons"] == [] for m in whole)
    assert all(utf16(m["text"]) <= 4096 and "<b>" not in m["text"] for m in whole)
    assert "核对 <身份> & 用途" in whole[1]["text"] and "核对 &lt;身份&gt; &amp; 用途" in whole[1]["html"]
    say = json.loads(kb_show("long.card", "--kb", str(kb), "--lang", "zh-TW", "--section", "say",
                             "--json").stdout)
    assert say[0]["text"] == "card標題\n怎麼說：\n“您先別著急”"
    assert say[0]["buttons"][0] == [{"text": "◀ 返回", "data": "v:long.card:g:"}]
    hk = json.loads(kb_show("long.card", "--kb", str(kb), "--lang", "zh-Hant", "--section", "say",
                            "--json").stdout)
    assert hk[0]["text"] == "card標題\n怎麼説：\n“您先別着急”"
    plain = kb_show("dispute.fee", "--lang", "en")
    assert plain.stdout.startswith("Fee disputes\nRight now:\n")
    assert "[Steps]  [What to say]  [Escalate]" in plain.stdout
    assert kb_show("dispute.fee", "--lang", "fr").returncode == 2
