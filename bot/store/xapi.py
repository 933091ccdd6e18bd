"""The xAPI outbox: statements made with their answer, waiting for the LRS.

A statement is written here in the transaction that stores its answer (so it is
never lost, and never made twice), then sent by the sender: claimed for a lease,
marked sent, or put back with a back-off, or parked when the LRS refuses it alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.models import Drill, DrillItem, Lang
from bot.store.base import StoreBase, Tx, _dt, _ts
from bot.xapi import Answered, Statement

# Builds an answer's statements inside the answer's transaction (bot.xapi.Statements).
Report = Callable[[Answered], list[Statement]]


@dataclass(frozen=True)
class Outgoing:
    """A statement on its way: its outbox row, id and frozen body."""

    row: int
    statement_id: str
    body: str
    tries: int


@dataclass(frozen=True)
class OutboxStatus:
    queued: int
    sent: int
    parked: int
    oldest_queued: datetime | None
    parked_errors: list[tuple[str, str]]  # (statement id, why), the first few


def pass_before(tx: Tx, user_id: int, card_id: str, version: int) -> datetime | None:
    """The person's last pass of the card at `version`, read before the answer changes it."""
    row = tx.row("SELECT last_pass_at, last_pass_version FROM topic_state"
                 " WHERE user_id = ? AND card_id = ?", (user_id, card_id))
    if row is None or row["last_pass_at"] is None or row["last_pass_version"] != version:
        return None
    return _dt(row["last_pass_at"])


def queue_answer(tx: Tx, report: Report, drill: Drill, item: DrillItem, version: int,
                 chosen: str, correct: bool, now: datetime, passed: datetime | None) -> None:
    """Make the answer's statements and queue them, in the answer's transaction."""
    person = tx.row("SELECT staff_no, team, COALESCE(lang, last_lang) AS lang FROM people"
                    " WHERE user_id = ?", (drill.user_id,))
    lang = Lang(person["lang"]) if person and person["lang"] else Lang.ZH
    made = report(Answered(
        user_id=drill.user_id, staff_no=person["staff_no"] if person else None,
        team=person["team"] if person else None, lang=lang, drill_id=drill.id,
        item_id=item.id, card_id=item.card_id, card_version=version, chosen=chosen,
        correct=correct, at=now, drill_done=drill.done, drill_correct=drill.correct,
        drill_size=len(drill.items), passed_before=passed))
    tx.many("INSERT INTO xapi_outbox (statement_id, user_id, verb, body, queued_at, next_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(s.id, drill.user_id, s.verb, s.body, _ts(now), _ts(now)) for s in made])


class XapiStore(StoreBase):
    """The sender's side of the outbox, and what `xapi status` shows."""

    async def claim_statements(self, now: datetime, limit: int,
                               lease: timedelta) -> list[Outgoing]:
        """Up to `limit` queued statements that are due, oldest first, held for `lease`
        (another instance skips them; after a crash they come back when it ends)."""

        def work(tx: Tx) -> list[Outgoing]:
            found = tx.rows("SELECT id, statement_id, body, tries FROM xapi_outbox"
                            " WHERE state = 'queued' AND next_at <= ? ORDER BY id LIMIT ?",
                            (_ts(now), limit))
            tx.many("UPDATE xapi_outbox SET next_at = ? WHERE id = ?",
                    [(_ts(now + lease), r["id"]) for r in found])
            return [Outgoing(r["id"], r["statement_id"], r["body"], r["tries"]) for r in found]

        return await self.transaction(work)

    async def statements_sent(self, rows: list[int], now: datetime) -> None:
        await self.transaction(lambda tx: tx.many(
            "UPDATE xapi_outbox SET state = 'sent', sent_at = ?, tries = tries + 1, error = ''"
            " WHERE id = ?", [(_ts(now), r) for r in rows]))

    async def statements_failed(self, rows: list[int], retry_at: datetime, error: str) -> None:
        """Put statements back in the queue until `retry_at` (the LRS was down or refused)."""
        await self.transaction(lambda tx: tx.many(
            "UPDATE xapi_outbox SET tries = tries + 1, next_at = ?, error = ? WHERE id = ?",
            [(_ts(retry_at), error[:300], r) for r in rows]))

    async def park_statement(self, row: int, error: str) -> None:
        """The LRS refused this statement on its own: keep it aside, do not retry it."""
        await self.write("UPDATE xapi_outbox SET state = 'parked', tries = tries + 1, error = ?"
                         " WHERE id = ?", (error[:300], row))

    async def requeue_parked(self, now: datetime) -> int:
        """`xapi resend`: parked statements go back in the queue, as they were made."""
        return await self.write("UPDATE xapi_outbox SET state = 'queued', next_at = ?, tries = 0"
                                " WHERE state = 'parked'", (_ts(now),))

    async def outbox_status(self) -> OutboxStatus:
        def work(tx: Tx) -> OutboxStatus:
            counts = {r["state"]: r["n"] for r in tx.rows(
                "SELECT state, COUNT(*) AS n FROM xapi_outbox GROUP BY state")}
            oldest = tx.row("SELECT MIN(queued_at) FROM xapi_outbox WHERE state = 'queued'")
            parked = tx.rows("SELECT statement_id, error FROM xapi_outbox WHERE state = 'parked'"
                             " ORDER BY id LIMIT 5")
            return OutboxStatus(counts.get("queued", 0), counts.get("sent", 0),
                                counts.get("parked", 0),
                                _dt(oldest[0]) if oldest and oldest[0] else None,
                                [(r["statement_id"], r["error"]) for r in parked])

        return await self.engine.run(work, atomic=False)
