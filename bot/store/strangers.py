"""People who are not enrolled: at most one reply a day each, a budget per minute in all.

A stranger is kept only as a keyed hash of their Telegram id and the day they were
answered; both tables are emptied of past days by the daily purge.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.store.base import StoreBase, Tx, _ts
from bot.store.people import _BUMP


class StrangerStore(StoreBase):
    """Replies to strangers, counted and capped."""

    async def answer_stranger(self, who: str, day: str, now: datetime, per_minute: int) -> bool:
        """Count a message from a stranger (`who`: their hashed id); True when it may be
        answered: their first answer on `day`, within `per_minute` answers in all."""
        minute = _ts(now)[:16]

        def work(tx: Tx) -> bool:
            tx.run(_BUMP, ("stranger_messages",))
            if per_minute < 1 or tx.row("SELECT 1 FROM strangers WHERE who = ? AND day = ?",
                                        (who, day)):
                return False
            if tx.run("INSERT INTO stranger_minutes VALUES (?, 1) ON CONFLICT(minute) DO UPDATE"
                      " SET replies = stranger_minutes.replies + 1"
                      " WHERE stranger_minutes.replies < ?", (minute, per_minute)) != 1:
                return False  # this minute's budget is spent; they may be answered later
            tx.run("INSERT INTO strangers VALUES (?, ?)", (who, day))
            return True

        return await self.transaction(work)


def forget_strangers(tx: Tx, today: str, now: datetime) -> int:
    """Drop strangers answered before `today` and minute counts older than a day (in the
    daily purge's transaction)."""
    return (tx.run("DELETE FROM strangers WHERE day < ?", (today,))
            + tx.run("DELETE FROM stranger_minutes WHERE minute < ?",
                     (_ts(now - timedelta(days=1))[:16],)))
