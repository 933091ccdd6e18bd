"""The card set's authoring rules `kb check` applies beyond what loading needs.

Loading refuses a broken card; these rules keep a whole set worth using: enough ways
of asking in each language, a `now` line, enough drill items, and drills that cannot
be passed by picking the longest or the most procedural-sounding option.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.models import BASE_LANGS, Card, Lang
from bot.text import to_simplified

# ways of asking per card: total, simplified, traditional, English, mixed zh+en
MIN_QUESTIONS = {"all": 40, "zh-Hans": 15, "zh-Hant": 6, "en": 15, "mixed": 4}
MIN_ITEMS, MIN_SAFETY_ITEMS = 4, 6
NOW_MAX = {Lang.ZH: 120, Lang.EN: 250}
# share of items whose correct option is strictly the longest (chance is ~1/3)
LONGEST_WARN, LONGEST_FAIL = 0.35, 0.40
# share of correct options holding a giveaway word minus the share of wrong ones
GIVEAWAY_WARN, GIVEAWAY_FAIL = 0.10, 0.15
GIVEAWAYS = {
    Lang.ZH: ("报告", "上报", "登记", "核实", "主管", "按规定"),
    Lang.EN: ("report", "escalate", "verify", "supervisor"),
}
_LATIN = re.compile(r"[A-Za-z]{2,}")
_HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class DrillStats:
    lang: Lang
    items: int
    longest_share: float
    giveaway_gap: float


def question_kinds(card: Card) -> dict[str, int]:
    """Count a card's ways of asking by kind. Traditional ones are told by their
    characters, whichever list (`zh` or `zh-Hant`) they were written in."""
    hant = [q for q in card.questions.zh if to_simplified(q) != q]
    hans = [q for q in card.questions.zh if to_simplified(q) == q]
    mixed = [q for q in hans if _LATIN.search(q)]
    return {"all": len(card.questions.zh) + len(card.questions.en),
            "zh-Hans": len(hans) - len(mixed), "zh-Hant": len(hant),
            "en": sum(1 for q in card.questions.en if not _HAN.search(q)),
            "mixed": len(mixed) + sum(1 for q in card.questions.en if _HAN.search(q))}


def card_problems(card: Card) -> list[tuple[str, str]]:
    """(field, message) for each authoring rule the card breaks."""
    out: list[tuple[str, str]] = []
    counts = question_kinds(card)
    short = [f"{kind} {counts[kind]}/{need}" for kind, need in MIN_QUESTIONS.items()
             if counts[kind] < need]
    if short:
        out.append(("questions", "too few ways of asking: " + ", ".join(short)))
    if not card.now.zh or not card.now.en:
        out.append(("now", "missing: 1-3 short lines, what to do in the next minute"))
    for lang in BASE_LANGS:
        lines = card.now.get(lang)
        if len(lines) > 3:
            out.append((f"now.{lang.value}", "at most 3 lines"))
        if sum(len(line) for line in lines) > NOW_MAX[lang]:
            out.append((f"now.{lang.value}", f"longer than {NOW_MAX[lang]} characters"))
    need = MIN_SAFETY_ITEMS if card.type == "safety" else MIN_ITEMS
    if len(card.drills) < need:
        out.append(("drills", f"expected {need} or more items, found {len(card.drills)}"))
    return out


def drill_stats(cards: list[Card], lang: Lang) -> DrillStats:
    """How far the drills can be passed by test-taking alone, in one language."""
    items = [item for card in cards for item in card.drills]
    longest = 0
    right_hits = right_all = wrong_hits = wrong_all = 0
    for item in items:
        texts = [(o.text.get(lang), o.correct) for o in item.options]
        right = next(len(t) for t, ok in texts if ok)
        if all(right > len(t) for t, ok in texts if not ok):
            longest += 1
        for text, ok in texts:
            hit = any(w in text.lower() for w in GIVEAWAYS[lang])
            if ok:
                right_all, right_hits = right_all + 1, right_hits + hit
            else:
                wrong_all, wrong_hits = wrong_all + 1, wrong_hits + hit
    n = max(len(items), 1)
    gap = right_hits / max(right_all, 1) - wrong_hits / max(wrong_all, 1)
    return DrillStats(lang, len(items), longest / n, gap)


def verdict(stats: DrillStats) -> tuple[str, str]:
    """('ok' | 'warning' | 'problem', one line naming the figures)."""
    line = (f"drills ({stats.lang.value}, {stats.items} items): correct option strictly longest "
            f"{stats.longest_share:.0%} (fail above {LONGEST_FAIL:.0%}); giveaway words "
            f"{stats.giveaway_gap * 100:+.1f} points right vs wrong (fail above "
            f"{GIVEAWAY_FAIL * 100:.0f})")
    if stats.longest_share > LONGEST_FAIL or stats.giveaway_gap > GIVEAWAY_FAIL:
        return "problem", line
    if stats.longest_share > LONGEST_WARN or stats.giveaway_gap > GIVEAWAY_WARN:
        return "warning", line
    return "ok", line
