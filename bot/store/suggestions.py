"""Suggestions: questions people asked and the card they then picked, for review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.store.base import Row, StoreBase, Tx, _ts

KNOWLEDGE_VERSION = "knowledge_version"  # a counter every instance compares each minute
_BUMP = ("INSERT INTO counters VALUES (?, 1) ON CONFLICT(name)"
         " DO UPDATE SET value = counters.value + 1")


@dataclass(frozen=True)
class Suggestion:
    id: int
    question: str  # masked of customer data when it was asked
    card_id: str
    count: int
    status: str


class SuggestionStore(StoreBase):
    """Learning from use: suggest, review (accept / reject), read the accepted ones."""

    async def suggest(self, question: str, card_id: str, now: datetime) -> None:
        """A person picked `card_id` for `question` (masked); asked again, it counts up.
        A decided suggestion stays decided."""
        await self.write(
            "INSERT INTO suggestions (question, card_id, created_at, last_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (question, card_id) DO UPDATE SET count = suggestions.count + 1,"
            " last_at = excluded.last_at", (question, card_id, _ts(now), _ts(now)))

    async def pending(self, limit: int = 10) -> list[Suggestion]:
        """Undecided suggestions, most frequent first."""
        rows = await self.rows("SELECT * FROM suggestions WHERE status = 'pending'"
                               " ORDER BY count DESC, last_at DESC, id LIMIT ?", (limit,))
        return [_suggestion(r) for r in rows]

    async def suggestion(self, suggestion_id: int) -> Suggestion | None:
        row = await self.row("SELECT * FROM suggestions WHERE id = ?", (suggestion_id,))
        return _suggestion(row) if row else None

    async def decide(self, suggestion_id: int, accept: bool, actor: int, now: datetime
                     ) -> Suggestion | None:
        """Accept or reject a pending suggestion, audited; None if it is not pending.
        An acceptance bumps the knowledge version, so every instance re-indexes."""
        status = "accepted" if accept else "rejected"

        def work(tx: Tx) -> Suggestion | None:
            if not tx.run("UPDATE suggestions SET status = ?, decided_at = ?, decided_by = ?"
                          " WHERE id = ? AND status = 'pending'",
                          (status, _ts(now), actor, suggestion_id)):
                return None
            row = tx.row("SELECT * FROM suggestions WHERE id = ?", (suggestion_id,))
            assert row is not None
            found = _suggestion(row)
            tx.run("INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                   (_ts(now), actor, f"suggestion.{status[:-2]}",
                    f"#{found.id} {found.card_id}: {found.question}"))
            if accept:
                tx.run(_BUMP, (KNOWLEDGE_VERSION,))
            return found

        return await self.transaction(work)

    async def accepted(self) -> dict[str, list[str]]:
        """Accepted questions by card id, oldest first."""
        rows = await self.rows("SELECT card_id, question FROM suggestions"
                               " WHERE status = 'accepted' ORDER BY id")
        out: dict[str, list[str]] = {}
        for row in rows:
            out.setdefault(row["card_id"], []).append(row["question"])
        return out

    async def knowledge_version(self) -> int:
        row = await self.row("SELECT value FROM counters WHERE name = ?", (KNOWLEDGE_VERSION,))
        return int(row["value"]) if row else 0

    async def bump_knowledge(self) -> None:
        """Tell every instance to re-read the knowledge (e.g. after /reload)."""
        await self.write(_BUMP, (KNOWLEDGE_VERSION,))


def _suggestion(row: Row) -> Suggestion:
    return Suggestion(row["id"], row["question"], row["card_id"], row["count"], row["status"])
