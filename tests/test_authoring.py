"""kb check's authoring rules and drill figures (bot/authoring.py), on small real card sets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.authoring import card_problems, drill_stats, question_kinds, verdict
from bot.knowledge import check
from bot.models import Lang
from tests.cards import card, full_card, write_cards

ROOT = Path(__file__).resolve().parent.parent


def kb_check(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "kb", "check", str(folder)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_a_full_card_meets_the_rules(tmp_path: Path) -> None:
    cards, problems = check(write_cards(tmp_path, full_card("dispute.ok")))
    assert problems == []
    assert card_problems(cards[0]) == []
    assert question_kinds(cards[0]) == {"all": 40, "zh-Hans": 15, "zh-Hant": 6, "en": 15,
                                        "mixed": 4}
    proc = kb_check(tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "correct option strictly longest 0%" in proc.stdout


def test_traditional_questions_count_in_either_list(tmp_path: Path) -> None:
    data = full_card("dispute.mixed")
    data["questions"]["zh"] += data["questions"].pop("zh-Hant")  # documented mixing
    cards, problems = check(write_cards(tmp_path, data))
    assert problems == [] and question_kinds(cards[0])["zh-Hant"] == 6


def test_short_cards_are_named_with_what_they_lack(tmp_path: Path) -> None:
    thin = card("ebanking.safety.thin", section="process", ctype="safety",
                questions={"zh": ["问题一", "问题二", "柜台 acct"], "en": ["q one"]})
    del thin["now"]
    cards, _ = check(write_cards(tmp_path, thin))
    found = dict(card_problems(cards[0]))
    assert found["questions"] == ("too few ways of asking: all 4/40, zh-Hans 2/15, zh-Hant 0/6, "
                                  "en 1/15, mixed 1/4")
    assert found["now"].startswith("missing")
    assert found["drills"] == "expected 6 or more items, found 3"  # safety cards need 6


def test_now_is_short(tmp_path: Path) -> None:
    long_now = full_card("dispute.long", now={"zh": ["很长" * 61], "en": ["x"] * 4})
    cards, _ = check(write_cards(tmp_path, long_now))
    found = card_problems(cards[0])
    assert ("now.zh", "longer than 120 characters") in found
    assert ("now.en", "at most 3 lines") in found


def test_longest_correct_option_fails_the_set(tmp_path: Path) -> None:
    # the right answer is the longest in every item: pickable without knowing anything
    write_cards(tmp_path, full_card("dispute.giveaway", right="先核对收费明细再处理",
                                    right_en="check the fee record first, then act"))
    cards, _ = check(tmp_path)
    stats = drill_stats(cards, Lang.ZH)
    assert stats.items == 4 and stats.longest_share == 1.0
    assert verdict(stats)[0] == "problem"
    proc = kb_check(tmp_path)
    assert proc.returncode == 1
    assert "problem: drills (zh, 4 items): correct option strictly longest 100%" in proc.stdout


def test_giveaway_words_are_measured_right_against_wrong(tmp_path: Path) -> None:
    # same lengths, but only the right option says "supervisor"
    write_cards(tmp_path, full_card("dispute.word", right="主管方案", wrong=("甲乙方案", "丙丁方案"),
                                    right_en="ask supervisor", wrong_en=("ask a friend!",
                                                                         "ask the hotline")))
    cards, _ = check(tmp_path)
    zh, en = drill_stats(cards, Lang.ZH), drill_stats(cards, Lang.EN)
    assert zh.longest_share == 0 and round(zh.giveaway_gap, 2) == 1.0
    assert verdict(zh)[0] == "problem" and verdict(en)[0] == "problem"


def test_warning_band_between_35_and_40_percent(tmp_path: Path) -> None:
    # 3 of 8 items (37.5%) have the longest right option: a warning, not a failure
    fair = [full_card(f"dispute.f{n}", items=1) for n in range(5)]
    long = [full_card(f"dispute.l{n}", items=1, right="乙方案长一些", right_en="plan b, longer")
            for n in range(3)]
    cards, _ = check(write_cards(tmp_path, *fair, *long))
    stats = drill_stats(cards, Lang.ZH)
    assert stats.longest_share == 3 / 8
    assert verdict(stats)[0] == "warning"
