"""Retraining cycles, due / overdue, spacing of missed items and working days (pure).

Definitions (also in the README):
- A topic is *passed* at a version when one of its drill items is answered
  correctly while the card is at that version. The pass is dated by that answer.
- `current`: passed at the card's current version, less than `retrain_days` ago.
- `due`: answered before but not passed at the current version (a miss, or a
  version bump since the last pass: see `bump_delay`), or the last pass is
  `retrain_days` old.
- `overdue`: due for more than the grace period.
- `new`: never answered.
A missed item comes back after 1, 3, 7, 14, 30 days of correct answers; a miss
starts it over at 1 day; after the last step it leaves the spaced queue.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

import chinese_calendar

from bot.models import Card, DrillItem, ItemState, TopicState

INTERVALS_DAYS = (1, 3, 7, 14, 30)
# A version bump makes an older pass due within this many days (safety cards sooner),
# each card on its own day: a batch of bumps must not make a whole team due, and a week
# later overdue, on one day.
BUMP_SPREAD_DAYS = {"safety": 7}
BUMP_SPREAD_DEFAULT = 28


class Status(StrEnum):
    NEW = "new"
    CURRENT = "current"
    DUE = "due"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class TopicStatus:
    card: Card
    status: Status
    due_at: datetime | None  # when it became (or becomes) due; None for new


def topic_status(card: Card, state: TopicState | None, version_since: datetime | None,
                 now: datetime, grace_days: int) -> TopicStatus:
    """Status of one topic for one person at `now`.

    `version_since` is when the card's current version was first seen; a pass at
    an older version is due from then.
    """
    if state is None:
        return TopicStatus(card, Status.NEW, None)
    if state.last_pass_at is not None and state.last_pass_version == card.version:
        due_at = state.last_pass_at + timedelta(days=card.retrain_days)
    elif state.last_pass_at is not None:  # passed an older version
        seen = max(version_since or state.last_pass_at, state.last_pass_at)
        due_at = min(seen + bump_delay(card),
                     state.last_pass_at + timedelta(days=card.retrain_days))
    else:  # answered, never passed
        due_at = state.first_answer_at
    if now < due_at:
        return TopicStatus(card, Status.CURRENT, due_at)
    late = now - due_at > timedelta(days=grace_days)
    return TopicStatus(card, Status.OVERDUE if late else Status.DUE, due_at)


def bump_delay(card: Card) -> timedelta:
    """How long after its new version is first seen a card's refresher falls due: a
    fixed number of days per card (from its id), spread over the window for its type."""
    window = BUMP_SPREAD_DAYS.get(card.type, BUMP_SPREAD_DEFAULT)
    return timedelta(days=zlib.crc32(card.id.encode()) % window)


def after_answer(item: ItemState | None, correct: bool, drill_item: DrillItem,
                 now: datetime) -> ItemState | None:
    """The spaced-repetition state after an answer; None when the item needs no spacing."""
    if not correct:
        return ItemState(drill_item.id, drill_item.card_id, 1,
                         now + timedelta(days=INTERVALS_DAYS[0]))
    if item is None:
        return None
    if item.step >= len(INTERVALS_DAYS):
        return None
    return ItemState(item.item_id, item.card_id, item.step + 1,
                     now + timedelta(days=INTERVALS_DAYS[item.step]))


def is_working_day(day: date, holidays: frozenset[date] = frozenset(),
                   workdays: frozenset[date] = frozenset()) -> bool:
    """PRC working day: public holidays off, make-up working days on.

    Uses the chinesecalendar package; for years it has no data for, Monday to
    Friday minus the bank's own `holidays` plus its `workdays`.
    """
    if day in holidays:
        return False
    if day in workdays:
        return True
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def local_at(day: date, at: time, tz: tzinfo) -> datetime:
    """An aware datetime for a wall-clock time in `tz` (handles DST gaps via zoneinfo)."""
    return datetime.combine(day, at, tzinfo=tz)
