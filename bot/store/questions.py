"""Questions asked, knowledge gaps and once-a-day notices"""

from __future__ import annotations

from datetime import datetime

from bot.store.base import QuestionRow, StoreBase, Tx, _ts
from bot.store.inbox import HANDLING


class QuestionStore(StoreBase):
    """Questions asked, knowledge gaps and once-a-day notices."""

    # --- questions and knowledge gaps ---------------------------------------------

    async def log_question(self, user_id: int, now: datetime, text: str, outcome: str,
                           card_id: str | None, score: float, offered: list[str]) -> int:
        """Record a question; `text` must already be masked of customer data. The update
        being handled is noted: handled again after a crash, it finds its question."""
        update = HANDLING.get()

        def work(tx: Tx) -> int:
            if update is not None:
                row = tx.row("SELECT id FROM questions WHERE update_id = ?", (update,))
                if row is not None:
                    return int(row["id"])
            return tx.insert(
                "INSERT INTO questions (user_id, asked_at, text, outcome, card_id, score,"
                " offered, update_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (user_id, _ts(now), text, outcome, card_id, score, ",".join(offered), update))

        return await self.transaction(work)

    async def question(self, question_id: int, user_id: int) -> QuestionRow | None:
        row = await self.row(
            "SELECT id, outcome, card_id, offered, feedback FROM questions"
            " WHERE id = ? AND user_id = ?", (question_id, user_id),
        )
        if row is None:
            return None
        offered = tuple(x for x in row["offered"].split(",") if x)
        return QuestionRow(row["id"], row["outcome"], row["card_id"], offered, row["feedback"])

    async def choose_card(self, question_id: int, card_id: str) -> bool:
        """A did-you-mean button was pressed; True the first time only."""
        return await self.changed_one(
            "UPDATE questions SET card_id = ? WHERE id = ? AND card_id IS NULL",
            (card_id, question_id))

    async def set_feedback(self, question_id: int, value: int) -> bool:
        """Store 👍 (1) / 👎 (-1) once; True the first time only."""
        return await self.changed_one(
            "UPDATE questions SET feedback = ? WHERE id = ? AND feedback IS NULL",
            (value, question_id))

    async def gaps(self, since: datetime, user_ids: list[int] | None = None,
                   limit: int = 10) -> list[tuple[str, int]]:
        """Questions the knowledge base could not answer, most frequent first.

        A gap is a question with no match, a did-you-mean where nothing was chosen,
        or an answer marked 👎.
        """
        sql = (
            "SELECT text, COUNT(*) AS n FROM questions WHERE asked_at >= ? AND"
            " (outcome = 'none' OR (outcome = 'unsure' AND card_id IS NULL) OR feedback = -1)"
        )
        args: list[object] = [_ts(since)]
        if user_ids is not None:
            sql += f" AND user_id IN ({','.join('?' * len(user_ids))})"
            args += user_ids
        sql += " GROUP BY text ORDER BY n DESC, MAX(asked_at) DESC LIMIT ?"
        args.append(limit)
        found = await self.rows(sql, args)
        return [(r["text"], r["n"]) for r in found]

    async def first_notice_today(self, user_id: int, kind: str, day: str) -> bool:
        """True once per person, kind and day (e.g. the "don't paste customer data" hint)."""
        return await self.changed_one("INSERT INTO notices VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                                      (user_id, kind, day))
