"""Pushes: messages the bot sends on its own, claimed once and kept in a shared outbox.

Every push is claimed in `pushes` (one per person, kind and day or week) and written to
`outbox` in the same transaction, by `INSERT … ON CONFLICT DO NOTHING RETURNING`: two
instances ticking together queue each push once, and a claim never lacks its message.
Each instance's sender claims due rows for a while (`claimed_by`, `claimed_until`); each
row gets a send time from one shared pacing row (`push_pace`), so the rate holds across
every instance together, and one row per chat is taken at a time, no sooner than `gap`
after that chat's last. A sent row is marked in one write after the Bot API call; a row
whose claim ran out (its instance died) is claimed again: only such rows can go twice.
Outbox times carry microseconds (a slot is 1/rate seconds), as ISO text like all times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from bot.models import Push
from bot.store.base import Row, StoreBase, Tx, _ts
from bot.store.inbox import decode_replies, encode_replies
from bot.store.strangers import forget_strangers

CHUNK = 500  # people claimed per transaction (well under either engine's parameter limit)
MAX_TRIES = 5  # a push that failed this often (network, 5xx) is given up
# Rows this instance may skip (locked by another claimer) on PostgreSQL; SQLite has one
# writer at a time, so a plain SELECT inside its transaction is enough.
SKIP_LOCKED = {"postgresql": " FOR UPDATE SKIP LOCKED", "sqlite": ""}


@dataclass(frozen=True)
class Claimed:
    """An outbox row claimed by a sender: send it at `send_at`, not after `until`."""

    row: int
    push: Push
    send_at: datetime
    until: datetime


def _us(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _claim(tx: Tx, people: list[int], pushes: dict[int, list[Push]], kind: str, day: str,
           now: datetime) -> list[Push]:
    """Claim the push of `kind` on `day` for `people` (ascending, so concurrent claimers
    never deadlock) and queue the pushes of those claimed here."""
    marks = ", ".join(["(?, ?, ?, ?)"] * len(people))
    args = [v for u in people for v in (u, kind, day, _ts(now))]
    won = {r[0] for r in tx.rows(f"INSERT INTO pushes VALUES {marks} ON CONFLICT DO NOTHING"
                                 f" RETURNING user_id", args)}
    queued = [p for u in people if u in won for p in pushes[u]]
    tx.many("INSERT INTO outbox (user_id, push_key, body, queued_at, not_before)"
            " VALUES (?, ?, ?, ?, ?)",
            [(p.user_id, p.key, encode_replies([p.reply]), _us(now), _us(now)) for p in queued])
    return queued


class OutboxStore(StoreBase):
    """Claiming pushes once, and the senders' side of the outbox."""

    async def queue_pushes(self, pushes: Sequence[Push], kind: str, day: str,
                           now: datetime) -> list[Push]:
        """Queue each person's pushes unless a push of `kind` on `day` was claimed for them
        before (by any instance); the pushes queued. A transaction per CHUNK people, each
        claim with its pushes: other use cases are not held up while 100,000 are queued."""
        by_person: dict[int, list[Push]] = {}
        for push in pushes:
            by_person.setdefault(push.user_id, []).append(push)
        done = await self.claimed(kind, day)  # no writes for them (ticks until 18:00 re-offer)
        people = sorted(u for u in by_person if u not in done)
        queued: list[Push] = []
        for start in range(0, len(people), CHUNK):
            queued += await self.transaction(partial(
                _claim, people=people[start:start + CHUNK], pushes=by_person, kind=kind,
                day=day, now=now))
        return queued

    async def claimed(self, kind: str, day: str) -> set[int]:
        """People whose push of `kind` on `day` is claimed (to skip costly work for them)."""
        found = await self.rows("SELECT user_id FROM pushes WHERE kind = ? AND day = ?",
                                (kind, day))
        return {r["user_id"] for r in found}

    async def claim_tick(self, minute: str, now: datetime) -> bool:
        """The scheduled jobs of `minute` for this instance; False when another instance
        took them (one scan of everyone a minute, however many instances)."""
        return await self.changed_one(
            "INSERT INTO pushes VALUES (0, 'tick', ?, ?) ON CONFLICT DO NOTHING",
            (minute, _ts(now)))

    async def purge_once(self, day: str, before: datetime, now: datetime) -> int | None:
        """The daily clean-up, claimed for `day` in its own transaction: strangers of past
        days, and every log older than `before` (retention). Rows deleted; None when it
        had run for `day` already (on any instance)."""

        def work(tx: Tx) -> int | None:
            if tx.run("INSERT INTO pushes VALUES (0, 'purge', ?, ?) ON CONFLICT DO NOTHING",
                      (day, _ts(now))) != 1:
                return None
            forget_strangers(tx, day, now)
            old = _ts(before)
            return (tx.run("DELETE FROM answers WHERE answered_at < ?", (old,))
                    + tx.run("DELETE FROM questions WHERE asked_at < ?", (old,))
                    + tx.run("DELETE FROM xapi_outbox WHERE state = 'sent' AND sent_at < ?",
                             (old,))
                    # undecided suggestions nobody asked again within the retention period
                    + tx.run("DELETE FROM suggestions WHERE status = 'pending' AND last_at < ?",
                             (old,))
                    + tx.run("DELETE FROM outbox WHERE queued_at < ?", (_us(before),))
                    + tx.run("DELETE FROM inbox WHERE received_at < ?", (old,))
                    + tx.run("DELETE FROM pushes WHERE sent_at < ?", (old,))
                    # minute claims are needed for a minute; keep a day of them
                    + tx.run("DELETE FROM pushes WHERE kind = 'tick' AND sent_at < ?",
                             (_ts(now - timedelta(days=1)),)))

        return await self.transaction(work)

    # --- the senders' side --------------------------------------------------------------

    async def claim_outbox(self, owner: str, now: datetime, rate: float, limit: int,
                           hold: timedelta, gap: timedelta = timedelta(seconds=1),
                           ahead: timedelta = timedelta(seconds=2)) -> list[Claimed]:
        """Claim up to `limit` due rows for `owner`, oldest first, one per chat, none of a
        chat sent to within `gap`; each gets the next send slot (1/`rate` s apart, shared
        by every instance) and is held until its slot plus `hold`. Nothing while the
        slots are taken more than `ahead` from now (by other instances): few rows wait
        claimed. A row whose holder let its claim run out is due again."""
        skip = SKIP_LOCKED[self.engine.name]

        def work(tx: Tx) -> list[Claimed]:
            # the pacing row, locked until this transaction ends: claimers take turns
            pace = tx.row("INSERT INTO push_pace VALUES ('pushes', ?) ON CONFLICT (name)"
                          " DO UPDATE SET next_slot = push_pace.next_slot RETURNING next_slot",
                          (_us(now),))
            first = max(now, datetime.fromisoformat(pace[0])) if pace else now
            if first > now + ahead:
                return []
            found = tx.rows("SELECT id, user_id, push_key, body FROM outbox"
                            " WHERE state = 'queued' AND not_before <= ? AND"
                            " (claimed_until IS NULL OR claimed_until < ?)"
                            f" ORDER BY id LIMIT ?{skip}", (_us(now), _us(now), 4 * limit))
            chats = sorted({r["user_id"] for r in found})
            recent = {r[0] for r in tx.rows(
                f"SELECT DISTINCT user_id FROM outbox WHERE user_id IN"
                f" ({', '.join('?' * len(chats))}) AND send_at > ?",
                [*chats, _us(first - gap)])} if chats else set()
            picked: list[Row] = []
            for r in found:
                if r["user_id"] not in recent and len(picked) < limit:
                    recent.add(r["user_id"])
                    picked.append(r)
            step = timedelta(seconds=1 / rate)
            out = [Claimed(r["id"], Push(r["user_id"], decode_replies(r["body"])[0],
                                         r["push_key"]), first + n * step,
                           first + n * step + hold) for n, r in enumerate(picked)]
            tx.many("UPDATE outbox SET claimed_by = ?, claimed_until = ?, send_at = ?"
                    " WHERE id = ?",
                    [(owner, _us(c.until), _us(c.send_at), c.row) for c in out])
            if out:
                tx.run("UPDATE push_pace SET next_slot = ? WHERE name = 'pushes'",
                       (_us(first + len(out) * step),))
            return out

        return await self.transaction(work)

    async def push_sent(self, row: int, now: datetime) -> None:
        """Delivered: one write; the text goes (a summary names people), the row stays
        until the retention purge (it spaces that chat's next push; `claimed_by` says
        which instance sent it)."""
        await self.write("UPDATE outbox SET state = 'sent', sent_at = ?, body = NULL"
                         " WHERE id = ?", (_us(now), row))

    async def push_later(self, row: int, at: datetime, error: str, failure: bool) -> None:
        """Not delivered: due again at `at`, for any instance. A `failure` (network, 5xx,
        not a 429) counts; the MAX_TRIES-th is given up."""
        await self.write("UPDATE outbox SET not_before = ?, error = ?, claimed_by = NULL,"
                         " claimed_until = NULL, tries = tries + ?, state = CASE"
                         " WHEN tries + ? >= ? THEN 'failed' ELSE state END"
                         " WHERE id = ? AND state = 'queued'",
                         (_us(at), error[:300], int(failure), int(failure), MAX_TRIES, row))

    async def push_failed(self, row: int, error: str) -> None:
        """Refused for good (400: the chat is gone, the message is wrong): not retried."""
        await self.write("UPDATE outbox SET state = 'failed', error = ?, body = NULL,"
                         " claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                         (error[:300], row))

    async def push_blocked(self, row: int, user_id: int) -> None:
        """403: the person blocked the bot (or left Telegram): inactive, and the row done."""

        def work(tx: Tx) -> None:
            tx.run("UPDATE people SET active = 0 WHERE user_id = ?", (user_id,))
            tx.run("UPDATE outbox SET state = 'blocked', body = NULL, claimed_by = NULL,"
                   " claimed_until = NULL WHERE id = ?", (row,))

        await self.transaction(work)

    async def release_pushes(self, rows: list[int]) -> None:
        """Give back claimed rows not sent (an instance stopping): due again at once."""
        await self.transaction(lambda tx: tx.many(
            "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL, send_at = NULL"
            " WHERE id = ? AND state = 'queued'", [(r,) for r in rows]))

    async def drain_pushes(self, now: datetime) -> list[Push]:
        """Take every queued push at once, marked sent, oldest first: for the console,
        which shows them instead of sending them (and for tests)."""

        def work(tx: Tx) -> list[Push]:
            found = tx.rows("SELECT id, user_id, push_key, body FROM outbox"
                            " WHERE state = 'queued' ORDER BY id")
            tx.many("UPDATE outbox SET state = 'sent', sent_at = ?, body = NULL WHERE id = ?",
                    [(_us(now), r["id"]) for r in found])
            return [Push(r["user_id"], decode_replies(r["body"])[0], r["push_key"])
                    for r in found]

        return await self.transaction(work)

    async def in_flight(self, owner: str) -> int:
        """Rows `owner` holds and has not finished (sent, blocked or given up): at most
        these go twice if that instance dies now."""
        row = await self.row("SELECT COUNT(*) FROM outbox WHERE claimed_by = ?"
                             " AND state = 'queued'", (owner,))
        return int(row[0]) if row else 0
