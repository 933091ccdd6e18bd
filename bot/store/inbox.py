"""The update inbox: no update is lost between Telegram and the reply.

An update is stored (state `new`) before Telegram is told it arrived, claimed by
one instance until a time, and handled; its effects and then its replies are
stored (`done`), and once the replies are sent the row keeps only its id (`sent`).
A row left `new` or `done` by a crash is claimed again (at start-up, or by any
instance once the claim has run out) and handled again: the use cases with an
effect note the update that made it (`HANDLING`), so handling it again finds
that effect instead of repeating it, and a `done` row is answered with the
replies stored for it. One person's updates are claimed one at a time, in `update_id`
order, across every instance.
The SQL is portable, so every engine and every instance share the same inbox.
"""

from __future__ import annotations

import base64
import json
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.models import Button, Reply, ReplyKind
from bot.store.base import Row, StoreBase, Tx, _ts

# The update the current task is handling (None outside one, e.g. the console); set by
# the adapter, read by the use cases whose effect must not happen twice.
HANDLING: ContextVar[int | None] = ContextVar("handling", default=None)
KEPT = timedelta(days=1)  # Telegram redelivers an update for 24 hours at most
MAX_ATTEMPTS = 3  # an update that failed to finish this often is given up (a poison pill)
_OPEN = "('new', 'done')"


class State(StrEnum):
    NEW = "new"  # stored; nothing committed for it yet, or not all of it
    DONE = "done"  # handled: its effects and its replies are stored
    SENT = "sent"  # its replies were delivered
    FAILED = "failed"  # given up: the error handler told the person


@dataclass(frozen=True)
class Delivery:
    """An inbox row claimed for handling."""

    update_id: int
    user_id: int
    body: str  # the update as Telegram sent it (JSON)
    replies: list[Reply] | None  # stored when handled: send these, handle nothing again
    attempts: int


class InboxStore(StoreBase):
    """Updates from arrival to the reply; every method is one trip."""

    async def receive(self, updates: list[tuple[int, int, str]], owner: str, now: datetime,
                      until: datetime) -> set[int]:
        """Store new updates (update id, user id, body), in one trip; those `owner` is to
        handle now are claimed until `until` and returned. Not returned: one stored before
        (a redelivery), or one whose sender has an earlier update not finished (it waits,
        unclaimed, and `finish` of that one hands it on)."""

        lock = " FOR UPDATE" if self.engine.name == "postgresql" else ""  # SQLite: one writer

        def work(tx: Tx) -> set[int]:
            mine = set()
            for update_id, user_id, body in sorted(updates):
                if tx.run("INSERT INTO inbox (update_id, user_id, body, received_at)"
                          " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                          (update_id, user_id, body, _ts(now))) != 1:
                    continue
                # One of a person's updates claimed at a time, even by one instance (two
                # paths into its queue could swap them). Locked on PostgreSQL: an instance
                # finishing the earlier update holds its row, so this waits and then sees
                # it closed; or `finish` waits for this, sees this update waiting and hands
                # it on. Never neither.
                if tx.row(f"SELECT 1 FROM inbox WHERE user_id = ? AND update_id < ? AND state"
                          f" IN {_OPEN} LIMIT 1{lock}", (user_id, update_id)):
                    continue
                tx.run("UPDATE inbox SET claimed_by = ?, claimed_until = ?, attempts = 1"
                       " WHERE update_id = ?", (owner, _ts(until), update_id))
                mine.add(update_id)
            return mine

        return await self.transaction(work)

    async def release_claims(self) -> int:
        """Forget every claim: for an instance that knows it is the only one (long polling
        allows one), claims found at start-up are a dead process's."""
        return await self.write(f"UPDATE inbox SET claimed_by = NULL, claimed_until = NULL"
                                f" WHERE state IN {_OPEN}")

    async def claim_unfinished(self, owner: str, now: datetime, until: datetime,
                               limit: int = 1000) -> tuple[list[Delivery], int]:
        """Claim rows nobody holds (or whose claim ran out), oldest first, each person's
        oldest open one only; rows tried `MAX_ATTEMPTS` times are given up. Returns the claimed rows and
        how many were given up."""

        def work(tx: Tx) -> tuple[list[Delivery], int]:
            claimed: list[Delivery] = []
            failed = 0
            for row in tx.rows(f"SELECT * FROM inbox WHERE state IN {_OPEN} AND"
                               f" (claimed_until IS NULL OR claimed_until < ?)"
                               f" ORDER BY update_id LIMIT ?", (_ts(now), limit)):
                if row["attempts"] >= MAX_ATTEMPTS:
                    failed += tx.run(_FINISH, (State.FAILED.value, row["update_id"]))
                    continue
                if tx.row(f"SELECT 1 FROM inbox WHERE user_id = ? AND update_id < ? AND state"
                          f" IN {_OPEN} LIMIT 1", (row["user_id"], row["update_id"])):
                    continue  # an earlier update of this person is not finished (or was just
                    # claimed above): its `finish` hands this one on
                if tx.run("UPDATE inbox SET claimed_by = ?, claimed_until = ?,"
                          " attempts = attempts + 1 WHERE update_id = ? AND"
                          " (claimed_until IS NULL OR claimed_until < ?)",
                          (owner, _ts(until), row["update_id"], _ts(now))) == 1:
                    claimed.append(_delivery(row))
            return claimed, failed

        return await self.transaction(work)

    async def handled(self, update_id: int, replies: list[Reply]) -> None:
        """The update's effects are stored; store its replies, so they are what a crash
        before sending them leads to, not a second handling."""
        await self.write("UPDATE inbox SET state = 'done', replies = ? WHERE update_id = ?",
                         (encode_replies(replies), update_id))

    async def finish(self, update_id: int, state: State, now: datetime, owner: str = "",
                     until: datetime | None = None) -> Delivery | None:
        """Sent or given up: keep the id (a redelivery is then ignored), drop the text.
        Rows older than a day go in the same trip (an index range, usually empty). With an
        `owner`, the sender's next update, which waited unclaimed for this one, is claimed
        for `owner` and returned: it is handled now, not when some instance's minute tick
        looks for left-over updates."""

        def work(tx: Tx) -> Delivery | None:
            tx.run(_FINISH, (state.value, update_id))
            tx.run("DELETE FROM inbox WHERE received_at < ? AND state IN ('sent', 'failed')",
                   (_ts(now - KEPT),))
            if not owner or until is None:
                return None
            row = tx.row(f"UPDATE inbox SET claimed_by = ?, claimed_until = ?,"
                         f" attempts = attempts + 1 WHERE claimed_by IS NULL AND update_id ="
                         f" (SELECT MIN(update_id) FROM inbox WHERE state IN {_OPEN} AND"
                         f" user_id = (SELECT user_id FROM inbox WHERE update_id = ?))"
                         f" RETURNING update_id, user_id, body, replies, attempts",
                         (owner, _ts(until), update_id))
            if row is None:
                return None
            replies = decode_replies(row["replies"]) if row["replies"] else None
            return Delivery(row["update_id"], row["user_id"], row["body"] or "{}", replies,
                            row["attempts"])

        return await self.transaction(work)


_FINISH = ("UPDATE inbox SET state = ?, body = NULL, replies = NULL, claimed_by = NULL,"
           " claimed_until = NULL WHERE update_id = ?")


def _delivery(row: Row) -> Delivery:
    replies = decode_replies(row["replies"]) if row["replies"] else None
    return Delivery(row["update_id"], row["user_id"], row["body"] or "{}", replies,
                    row["attempts"] + 1)


def encode_replies(replies: list[Reply]) -> str:
    out = []
    for reply in replies:
        fields = asdict(reply)
        fields["data"] = base64.b64encode(reply.data).decode()
        out.append(fields)
    return json.dumps(out, ensure_ascii=False)


def decode_replies(text: str) -> list[Reply]:
    out = []
    for fields in json.loads(text):
        buttons = tuple(tuple(Button(**b) for b in row) for row in fields.pop("buttons"))
        data = base64.b64decode(fields.pop("data"))
        kind = ReplyKind(fields.pop("kind"))
        out.append(Reply(**fields, buttons=buttons, data=data, kind=kind))
    return out
