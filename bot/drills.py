"""Choosing the items of a micro-drill (pure).

Order of preference:
1. items the person got wrong that are due again (spaced), soonest first;
2. topics that are due or overdue (cycle lapsed, version changed, never passed);
3. topics never drilled, section by section of the catalogue;
4. review: current topics, the one closest to its refresh date first.
No item twice; at most one item per card unless nothing else is left.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

from bot.models import SECTIONS, Card, DrillItem, ItemState
from bot.schedule import Status, TopicStatus


def choose(cards: Sequence[Card], statuses: dict[str, TopicStatus], spaced: Sequence[ItemState],
           recent: set[str], now: datetime, size: int, rng: random.Random) -> list[DrillItem]:
    """Pick `size` drill items for one person.

    `recent` holds item ids answered lately; they are avoided within a topic when
    the topic has other items.
    """
    by_id = {c.id: c for c in cards}
    items = {i.id: i for c in cards for i in c.drills}

    def fresh_item(card: Card) -> DrillItem | None:
        pool = [i for i in card.drills if i.id not in recent] or list(card.drills)
        return rng.choice(pool) if pool else None

    candidates: list[DrillItem] = []
    for state in sorted(spaced, key=lambda s: s.due_at):
        if state.due_at <= now and state.item_id in items:
            candidates.append(items[state.item_id])
    due = [s for s in statuses.values() if s.status in (Status.OVERDUE, Status.DUE)]
    due.sort(key=lambda s: (s.status is not Status.OVERDUE, s.due_at or now))
    new = [c for c in cards if statuses.get(c.id) is None or statuses[c.id].status is Status.NEW]
    rng.shuffle(new)  # varied within a section, so a team does not all get the same drill
    new.sort(key=lambda c: SECTIONS.index(c.section) if c.section in SECTIONS else len(SECTIONS))
    review = [s for s in statuses.values() if s.status is Status.CURRENT]
    review.sort(key=lambda s: s.due_at or now)
    for card in [by_id[s.card.id] for s in due if s.card.id in by_id] + new + \
            [by_id[s.card.id] for s in review if s.card.id in by_id]:
        item = fresh_item(card)
        if item is not None:
            candidates.append(item)

    chosen: list[DrillItem] = []
    used_cards: set[str] = set()
    for item in candidates:  # first pass: one per card
        if len(chosen) < size and item.card_id not in used_cards and item not in chosen:
            chosen.append(item)
            used_cards.add(item.card_id)
    if len(chosen) < size:  # nothing else left: allow a second item of a card
        rest = [i for i in items.values() if i not in chosen]
        rng.shuffle(rest)
        chosen += rest[: size - len(chosen)]
    return chosen


def shuffled_options(item: DrillItem, rng: random.Random) -> list[str]:
    """Option ids in the order shown; stored with the drill so a restart shows the same."""
    ids = [o.id for o in item.options]
    rng.shuffle(ids)
    return ids

