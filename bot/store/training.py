"""Drills, answers and the per-person state derived from them"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from bot.models import Drill, DrillItem, ItemState, TopicState
from bot.store.base import AnswerRow, StoreBase, _drill, _dt, _item_state, _topic_state, _ts

# How an answer changes an item's spacing: (state before, correct, item, now) -> state after.
Spacing = Callable[[ItemState | None, bool, DrillItem, datetime], ItemState | None]


class TrainingStore(StoreBase):
    """Drills, answers and the per-person state derived from them."""

    # --- drills -------------------------------------------------------------------

    async def sync_card_versions(self, versions: dict[str, int], now: datetime) -> dict[str, datetime]:
        """Record each card's current version; return when each version was first seen."""
        async with self.transaction() as db:
            for card_id, version in versions.items():
                await db.execute(
                    "INSERT INTO card_versions VALUES (?, ?, ?) ON CONFLICT(card_id) DO UPDATE"
                    " SET version = excluded.version, since = excluded.since"
                    " WHERE card_versions.version != excluded.version",
                    (card_id, version, _ts(now)),
                )
        found = await self.rows("SELECT card_id, since FROM card_versions")
        return {r["card_id"]: _dt(r["since"]) for r in found}

    async def start_drill(self, user_id: int, now: datetime,
                          items: list[tuple[str, list[str]]]) -> Drill:
        """Close any unfinished drill of the person and start a new one."""
        async with self.transaction() as db:
            await db.execute("UPDATE drills SET finished_at = ? WHERE user_id = ? AND"
                             " finished_at IS NULL", (_ts(now), user_id))
            cur = await db.execute(
                "INSERT INTO drills (user_id, started_at, items) VALUES (?, ?, ?)",
                (user_id, _ts(now), json.dumps(items)),
            )
            drill_id = int(cur.lastrowid or 0)
        drill = await self.drill(drill_id)
        assert drill is not None
        return drill

    async def drill(self, drill_id: int) -> Drill | None:
        row = await self.row("SELECT * FROM drills WHERE id = ?", (drill_id,))
        return _drill(row) if row else None

    async def open_drill(self, user_id: int) -> Drill | None:
        row = await self.row("SELECT * FROM drills WHERE user_id = ? AND finished_at IS NULL"
                             " ORDER BY id DESC LIMIT 1", (user_id,))
        return _drill(row) if row else None

    async def record_answer(self, drill: Drill, item: DrillItem, version: int, chosen: str,
                            now: datetime, spacing: Spacing) -> bool:
        """Store one answer and everything derived from it, atomically; False if already stored."""
        correct = item.correct.id == chosen
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO answers (user_id, drill_id, position, item_id, card_id,"
                " card_version, chosen, correct_option, is_correct, answered_at)"
                " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM drills"
                " WHERE id = ? AND position = ? AND finished_at IS NULL",
                (drill.user_id, drill.id, drill.position, item.id, item.card_id, version, chosen,
                 item.correct.id, int(correct), _ts(now), drill.id, drill.position),
            )
            if cur.rowcount != 1:
                return False
            await db.execute(
                "INSERT INTO topic_state VALUES (?, ?, ?, ?, ?, ?, 1, ?)"
                " ON CONFLICT(user_id, card_id) DO UPDATE SET last_answer_at = excluded.last_answer_at,"
                " answers = answers + 1, correct = correct + excluded.correct,"
                " last_pass_at = COALESCE(excluded.last_pass_at, last_pass_at),"
                " last_pass_version = COALESCE(excluded.last_pass_version, last_pass_version)",
                (drill.user_id, item.card_id, _ts(now), _ts(now), _ts(now) if correct else None,
                 version if correct else None, int(correct)),
            )
            async with db.execute("SELECT * FROM item_state WHERE user_id = ? AND item_id = ?",
                                  (drill.user_id, item.id)) as c:
                row = await c.fetchone()
            spaced = spacing(_item_state(row) if row else None, correct, item, now)
            if spaced is None:
                await db.execute("DELETE FROM item_state WHERE user_id = ? AND item_id = ?",
                                 (drill.user_id, item.id))
            else:
                await db.execute(
                    "INSERT OR REPLACE INTO item_state VALUES (?, ?, ?, ?, ?)",
                    (drill.user_id, item.id, item.card_id, spaced.step, _ts(spaced.due_at)),
                )
            last = drill.position + 1 >= len(drill.items)
            await db.execute(
                "UPDATE drills SET position = position + 1, correct = correct + ?,"
                " finished_at = CASE WHEN ? THEN ? ELSE NULL END WHERE id = ?",
                (int(correct), int(last), _ts(now), drill.id),
            )
        return True

    async def topic_states(self, user_id: int) -> dict[str, TopicState]:
        found = await self.rows("SELECT * FROM topic_state WHERE user_id = ?", (user_id,))
        return {r["card_id"]: _topic_state(r) for r in found}

    async def item_states(self, user_id: int) -> list[ItemState]:
        found = await self.rows("SELECT * FROM item_state WHERE user_id = ?", (user_id,))
        return [_item_state(r) for r in found]

    async def recent_items(self, user_id: int, since: datetime) -> set[str]:
        found = await self.rows(
            "SELECT DISTINCT item_id FROM answers WHERE user_id = ? AND answered_at >= ?",
            (user_id, _ts(since)),
        )
        return {r["item_id"] for r in found}

    async def answers(self, user_id: int) -> list[AnswerRow]:
        found = await self.rows(
            "SELECT card_id, is_correct, answered_at, drill_id FROM answers WHERE user_id = ?"
            " ORDER BY answered_at", (user_id,),
        )
        return [AnswerRow(r["card_id"], bool(r["is_correct"]), _dt(r["answered_at"]),
                          r["drill_id"]) for r in found]
