"""Read-only queries behind supervisor summaries and exports."""

from __future__ import annotations

import json
from datetime import datetime

from bot.models import ChoiceCount, TopicState
from bot.store.base import StoreBase, _dt, _topic_state, _ts


def _in(ids: list[int]) -> str:
    return ",".join("?" * len(ids)) or "NULL"


class ReportStore(StoreBase):
    """Aggregates for a set of people over a period."""

    async def completed_drills(self, user_ids: list[int], since: datetime
                               ) -> list[tuple[int, datetime]]:
        """(person, finished at) of drills answered to the end (not abandoned)."""
        found = await self.rows(
            f"SELECT user_id, finished_at, position, items FROM drills WHERE user_id IN"
            f" ({_in(user_ids)}) AND finished_at >= ?", [*user_ids, _ts(since)],
        )
        return [(r["user_id"], _dt(r["finished_at"])) for r in found
                if r["position"] >= len(json.loads(r["items"]))]

    async def answer_counts(self, user_ids: list[int], since: datetime
                            ) -> list[tuple[int, str, int, int]]:
        """(person, card id, answers, correct) in the period."""
        found = await self.rows(
            f"SELECT user_id, card_id, COUNT(*) AS n, SUM(is_correct) AS ok FROM answers"
            f" WHERE user_id IN ({_in(user_ids)}) AND answered_at >= ? GROUP BY user_id, card_id",
            [*user_ids, _ts(since)],
        )
        return [(r["user_id"], r["card_id"], r["n"], int(r["ok"])) for r in found]

    async def last_active(self, user_ids: list[int]) -> dict[int, datetime]:
        """Last answer or question of each person."""
        found = await self.rows(
            f"SELECT user_id, MAX(t) AS t FROM (SELECT user_id, answered_at AS t FROM answers"
            f" UNION ALL SELECT user_id, asked_at FROM questions) AS times WHERE user_id IN"
            f" ({_in(user_ids)}) GROUP BY user_id", user_ids,
        )
        return {r["user_id"]: _dt(r["t"]) for r in found}

    async def topic_states_of(self, user_ids: list[int]) -> dict[int, dict[str, TopicState]]:
        out: dict[int, dict[str, TopicState]] = {u: {} for u in user_ids}
        found = await self.rows(
            f"SELECT * FROM topic_state WHERE user_id IN ({_in(user_ids)})", user_ids,
        )
        for r in found:
            out[r["user_id"]][r["card_id"]] = _topic_state(r)
        return out

    async def choice_counts(self, user_ids: list[int] | None, since: datetime
                            ) -> list[ChoiceCount]:
        """How often each option of each drill item was chosen since `since`, by card
        version; everyone's answers (anonymised ones of people who left too) when None."""
        where = "" if user_ids is None else f" AND user_id IN ({_in(user_ids)})"
        found = await self.rows(
            "SELECT item_id, card_version, chosen, is_correct, COUNT(*) AS n FROM answers"
            f" WHERE answered_at >= ?{where} GROUP BY item_id, card_version, chosen, is_correct",
            [_ts(since), *(user_ids or [])],
        )
        return [ChoiceCount(r["item_id"], r["card_version"], r["chosen"], bool(r["is_correct"]),
                            r["n"]) for r in found]
