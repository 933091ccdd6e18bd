"""Item analytics: how each drill question is answered, and which look too easy or unclear
(pure; the counts come in)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.i18n import columns, section_name, t
from bot.models import Card, ChoiceCount, DrillItem, Lang
from bot.reports import pct, to_csv

# An item is judged only from MIN_ITEM_ANSWERS answers: below that one person's bad day
# decides. Too easy: TOO_EASY_AT or more right. Unclear: UNCLEAR_AT or fewer right (about
# chance with 3-4 options), or a wrong option drew more answers than the right one (the
# question or its key is probably ambiguous).
MIN_ITEM_ANSWERS = 10
TOO_EASY_AT = 0.95
UNCLEAR_AT = 0.30
SHOWN = 10  # lines per list in chat; the CSV has every item


class Flag(StrEnum):
    TOO_EASY = "flag_easy"
    UNCLEAR = "flag_unclear"
    FEW = "flag_few"


@dataclass(frozen=True)
class ItemStat:
    item: DrillItem
    card: Card
    version: int  # the card version the answers were given at
    answers: int
    correct: int
    wrong: tuple[tuple[str, int], ...]  # wrong options chosen, most chosen first

    @property
    def accuracy(self) -> float:
        return self.correct / self.answers if self.answers else 0.0

    @property
    def current(self) -> bool:
        return self.version == self.card.version

    @property
    def flag(self) -> Flag | None:
        if self.answers < MIN_ITEM_ANSWERS:
            return Flag.FEW
        if self.accuracy >= TOO_EASY_AT:
            return Flag.TOO_EASY
        if self.accuracy <= UNCLEAR_AT or (self.wrong and self.wrong[0][1] > self.correct):
            return Flag.UNCLEAR
        return None


def item_stats(counts: Iterable[ChoiceCount], items: Mapping[str, DrillItem],
               cards: Mapping[str, Card]) -> list[ItemStat]:
    """One entry per item and card version answered; items no longer in the cards are left out."""
    grouped: dict[tuple[str, int], list[ChoiceCount]] = {}
    for c in counts:
        grouped.setdefault((c.item_id, c.card_version), []).append(c)
    stats = []
    for (item_id, version), choices in sorted(grouped.items()):
        item = items.get(item_id)
        card = cards.get(item.card_id) if item else None
        if item is None or card is None:
            continue
        wrong = sorted(((c.chosen, c.answers) for c in choices if not c.correct),
                       key=lambda w: (-w[1], w[0]))
        stats.append(ItemStat(item, card, version, sum(c.answers for c in choices),
                              sum(c.answers for c in choices if c.correct), tuple(wrong)))
    return stats


def _line(s: ItemStat, lang: Lang) -> str:
    line = t("items_line", lang, question=_short(s.item.question.get(lang), 40), item=s.item.id,
             pct=pct(s.accuracy), ok=s.correct, n=s.answers)
    if s.wrong:
        option = s.item.option(s.wrong[0][0])
        text = option.text.get(lang) if option else s.wrong[0][0]
        line += t("items_wrong", lang, option=_short(text, 30), k=s.wrong[0][1])
    return line


def render_items(stats: list[ItemStat], team: str, start: date, end: date, lang: Lang) -> str:
    """The chat view: totals, the flagged items and the most missed, at current versions."""
    now = [s for s in stats if s.current]
    lines = [t("items_head", lang, team=team, start=start.isoformat(), end=end.isoformat())]
    if not now:
        return "\n".join([*lines, t("items_none", lang)])
    lines.append(t("items_totals", lang, answers=sum(s.answers for s in now), items=len(now),
                   judged=sum(s.flag is not Flag.FEW for s in now), n=MIN_ITEM_ANSWERS))
    lines.append(t("items_rule", lang, n=MIN_ITEM_ANSWERS, easy=pct(TOO_EASY_AT),
                   unclear=pct(UNCLEAR_AT)))
    unclear = sorted((s for s in now if s.flag is Flag.UNCLEAR), key=lambda s: s.accuracy)
    easy = sorted((s for s in now if s.flag is Flag.TOO_EASY), key=lambda s: -s.answers)
    listed = {s.item.id for s in unclear + easy}
    missed = sorted((s for s in now if s.answers > s.correct and s.item.id not in listed),
                    key=lambda s: (s.correct - s.answers, s.accuracy, s.item.id))
    for key, group in (("items_unclear", unclear), ("items_easy", easy),
                       ("items_missed", missed[:5])):
        if group:
            lines += ["", t(key, lang), *(_line(s, lang) for s in group[:SHOWN])]
            if len(group) > SHOWN:
                lines.append(f"… +{len(group) - SHOWN}")
    return "\n".join([*lines, "", t("items_file", lang)])


ITEM_COLUMNS = ("item", "topic", "title", "section", "version", "question", "answers",
                "correct", "accuracy", "top_wrong", "top_wrong_n", "flag")


def items_table(stats: list[ItemStat], lang: Lang) -> bytes:
    """Every item and card version answered, weakest first; headers in the reader's language."""
    rows: list[list[object]] = []
    for s in sorted(stats, key=lambda s: (s.accuracy, s.item.id, s.version)):
        option = s.item.option(s.wrong[0][0]) if s.wrong else None
        rows.append([s.item.id, s.card.id, s.card.title.get(lang), section_name(s.card.section, lang),
                     s.version, s.item.question.get(lang), s.answers, s.correct, pct(s.accuracy),
                     option.text.get(lang) if option else (s.wrong[0][0] if s.wrong else ""),
                     s.wrong[0][1] if s.wrong else "", t(s.flag.value, lang) if s.flag else ""])
    return to_csv(columns(ITEM_COLUMNS, lang), rows)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
