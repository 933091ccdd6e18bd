"""Drills, answers and the per-person state derived from them"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from bot.models import Drill, DrillItem, ItemState, TopicState
from bot.store.base import (
    AnswerRow,
    Row,
    StoreBase,
    Tx,
    _drill,
    _dt,
    _item_state,
    _topic_state,
    _ts,
)
from bot.store.inbox import HANDLING
from bot.store.xapi import Report, pass_before, queue_answer

# How an answer changes an item's spacing: (state before, correct, item, now) -> state after.
Spacing = Callable[[ItemState | None, bool, DrillItem, datetime], ItemState | None]
# A drill item by id, with its card's version; None once a reload removed it.
Lookup = Callable[[str], tuple[DrillItem, int] | None]


class Press(Enum):
    """What became of a pressed drill option."""

    STORED = "stored"  # recorded; the drill moved on
    ALREADY = "already"  # that question was answered before (a double tap)
    ENDED = "ended"  # the drill is over or past that question, or its item is gone
    STALE = "stale"  # no such drill for this person


@dataclass(frozen=True)
class DrillHistory:
    """What choosing a drill needs to know about a person."""

    open: Drill | None  # the unfinished drill, if any
    spaced: list[ItemState]  # items waiting to come back
    recent: set[str]  # items answered lately


@dataclass(frozen=True)
class DrillAnswer:
    press: Press
    drill: Drill | None = None  # as it is after the answer (when STORED)
    item: DrillItem | None = None
    correct: bool = False


class TrainingStore(StoreBase):
    """Drills, answers and the per-person state derived from them."""

    # --- drills -------------------------------------------------------------------

    async def sync_card_versions(self, versions: dict[str, int], now: datetime) -> dict[str, datetime]:
        """Record each card's current version; return when each version was first seen."""

        def work(tx: Tx) -> dict[str, datetime]:
            tx.many("INSERT INTO card_versions VALUES (?, ?, ?) ON CONFLICT(card_id) DO UPDATE"
                    " SET version = excluded.version, since = excluded.since"
                    " WHERE card_versions.version != excluded.version",
                    [(card_id, version, _ts(now)) for card_id, version in versions.items()])
            found = tx.rows("SELECT card_id, since FROM card_versions")
            return {r["card_id"]: _dt(r["since"]) for r in found}

        return await self.transaction(work)

    async def start_drill(self, user_id: int, now: datetime,
                          items: list[tuple[str, list[str]]]) -> Drill:
        """Close any unfinished drill of the person and start a new one."""

        def work(tx: Tx) -> Drill:
            tx.run("UPDATE drills SET finished_at = ? WHERE user_id = ? AND finished_at IS NULL",
                   (_ts(now), user_id))
            drill_id = tx.insert("INSERT INTO drills (user_id, started_at, items) VALUES (?, ?, ?)",
                                 (user_id, _ts(now), json.dumps(items)))
            return _drill(_one(tx, "SELECT * FROM drills WHERE id = ?", drill_id))

        return await self.transaction(work)

    async def drill(self, drill_id: int) -> Drill | None:
        row = await self.row("SELECT * FROM drills WHERE id = ?", (drill_id,))
        return _drill(row) if row else None

    async def open_drill(self, user_id: int) -> Drill | None:
        row = await self.row(_OPEN_DRILL, (user_id,))
        return _drill(row) if row else None

    async def answer_drill(self, user_id: int, drill_id: int, position: int, chosen: str,
                           now: datetime, lookup: Lookup, spacing: Spacing,
                           report: Report | None = None) -> DrillAnswer:
        """A pressed option: the answer, the topic and item state it changes and the drill's
        next position, stored in one transaction; whether it is right is decided here only.
        With `report` (xAPI on), the answer's statements are queued in the same transaction.
        The same update handled again (after a crash) gets the stored answer back."""
        update = HANDLING.get()

        def work(tx: Tx) -> DrillAnswer:
            row = tx.row("SELECT * FROM drills WHERE id = ? AND user_id = ?", (drill_id, user_id))
            if row is None:
                return DrillAnswer(Press.STALE)
            drill = _drill(row)
            if position < drill.position:
                return _again(tx, drill, position, update, lookup)
            if drill.done or position != drill.position or position >= len(drill.items):
                return DrillAnswer(Press.ENDED)
            found = lookup(drill.items[position][0])
            if found is None or found[0].option(chosen) is None:
                return DrillAnswer(Press.ENDED)
            item, version = found
            correct = item.correct.id == chosen
            if tx.run(  # the unique (drill, position) stops a second answer from any instance
                "INSERT INTO answers (user_id, drill_id, position, item_id, card_id, card_version,"
                " chosen, correct_option, is_correct, answered_at, update_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (user_id, drill_id, position, item.id, item.card_id, version, chosen,
                 item.correct.id, int(correct), _ts(now), update),
            ) != 1:
                return DrillAnswer(Press.ALREADY)
            prior = pass_before(tx, user_id, item.card_id, version) if report else None
            passed = (_ts(now), version) if correct else (None, None)
            tx.run(
                "INSERT INTO topic_state VALUES (?, ?, ?, ?, ?, ?, 1, ?)"
                " ON CONFLICT(user_id, card_id) DO UPDATE SET"
                " last_answer_at = excluded.last_answer_at,"
                " answers = topic_state.answers + 1,"
                " correct = topic_state.correct + excluded.correct,"
                " last_pass_at = COALESCE(excluded.last_pass_at, topic_state.last_pass_at),"
                " last_pass_version = COALESCE(excluded.last_pass_version,"
                " topic_state.last_pass_version)",
                (user_id, item.card_id, _ts(now), _ts(now), *passed, int(correct)),
            )
            before = tx.row("SELECT * FROM item_state WHERE user_id = ? AND item_id = ?",
                            (user_id, item.id))
            spaced = spacing(_item_state(before) if before else None, correct, item, now)
            if spaced is None:
                tx.run("DELETE FROM item_state WHERE user_id = ? AND item_id = ?",
                       (user_id, item.id))
            else:
                tx.run("INSERT INTO item_state VALUES (?, ?, ?, ?, ?)"
                       " ON CONFLICT(user_id, item_id) DO UPDATE SET card_id = excluded.card_id,"
                       " step = excluded.step, due_at = excluded.due_at",
                       (user_id, item.id, item.card_id, spaced.step, _ts(spaced.due_at)))
            last = position + 1 >= len(drill.items)
            tx.run("UPDATE drills SET position = position + 1, correct = correct + ?,"
                   " finished_at = ? WHERE id = ?",
                   (int(correct), _ts(now) if last else None, drill_id))
            after = _drill(_one(tx, "SELECT * FROM drills WHERE id = ?", drill_id))
            if report is not None:
                queue_answer(tx, report, after, item, version, chosen, correct, now, prior)
            return DrillAnswer(Press.STORED, after, item, correct)

        return await self.transaction(work)

    async def topic_states(self, user_id: int) -> dict[str, TopicState]:
        found = await self.rows("SELECT * FROM topic_state WHERE user_id = ?", (user_id,))
        return {r["card_id"]: _topic_state(r) for r in found}

    async def drill_history(self, user_id: int, since: datetime) -> DrillHistory:
        """The open drill, items waiting to come back, items answered since `since`: one trip."""

        def work(tx: Tx) -> DrillHistory:
            current = tx.row(_OPEN_DRILL, (user_id,))
            spaced = tx.rows("SELECT * FROM item_state WHERE user_id = ?", (user_id,))
            recent = tx.rows("SELECT DISTINCT item_id FROM answers"
                             " WHERE user_id = ? AND answered_at >= ?", (user_id, _ts(since)))
            return DrillHistory(_drill(current) if current else None,
                                [_item_state(r) for r in spaced], {r["item_id"] for r in recent})

        return await self.engine.run(work, atomic=False)

    async def answers(self, user_id: int) -> list[AnswerRow]:
        found = await self.rows(
            "SELECT card_id, is_correct, answered_at, drill_id FROM answers WHERE user_id = ?"
            " ORDER BY answered_at", (user_id,),
        )
        return [AnswerRow(r["card_id"], bool(r["is_correct"]), _dt(r["answered_at"]),
                          r["drill_id"]) for r in found]


_OPEN_DRILL = ("SELECT * FROM drills WHERE user_id = ? AND finished_at IS NULL"
               " ORDER BY id DESC LIMIT 1")


def _again(tx: Tx, drill: Drill, position: int, update: int | None,
           lookup: Lookup) -> DrillAnswer:
    """A question already answered: by this very update (handled again after a crash),
    the stored answer; otherwise a double tap."""
    row = tx.row("SELECT item_id, is_correct FROM answers WHERE drill_id = ? AND position = ?"
                 " AND update_id = ?", (drill.id, position, update)) if update else None
    found = lookup(row["item_id"]) if row else None
    if row is None or found is None:
        return DrillAnswer(Press.ALREADY)
    return DrillAnswer(Press.STORED, drill, found[0], bool(row["is_correct"]))


def _one(tx: Tx, sql: str, key: object) -> Row:
    row = tx.row(sql, (key,))
    assert row is not None
    return row
