"""Learning from use: review of suggested ways of asking, and keeping the index current.

A person who picks a card from "did you mean" or after 👎 leaves a suggestion
(their masked question and that card). Administrators accept or reject them with
/learn (or `python -m bot kb suggestions`). Accepted questions are matched like
the cards' own: an acceptance (or /reload) bumps a knowledge version in the
store, and every running instance rebuilds its index when its minute tick sees it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.answers import Library
from bot.config import Settings
from bot.i18n import t
from bot.knowledge import KnowledgeBase, check
from bot.models import Button, Card, Reply, Who
from bot.store import Store
from bot.views import label

log = logging.getLogger(__name__)
SHOWN = 10  # pending suggestions listed at once


class Learning:
    """/learn and its buttons; the knowledge version this instance has built."""

    def __init__(self, settings: Settings, store: Store, get: Callable[[], Library],
                 put: Callable[[Library], None]) -> None:
        self.settings = settings
        self.store = store
        self.get = get
        self.put = put
        self.version = 0
        self.lock = asyncio.Lock()  # one rebuild at a time: the last one reads the newest

    async def start(self) -> None:
        """At start-up: the accepted questions join the index built from the cards."""
        if await self.store.accepted():
            await self.refresh()
        else:
            self.version = await self.store.knowledge_version()

    async def refresh(self, cards: list[Card] | None = None) -> None:
        """Rebuild the index with the accepted questions (and new `cards` if given)."""
        async with self.lock:
            version = await self.store.knowledge_version()  # before reading: none is missed
            accepted = await self.store.accepted()
            library = self.get()
            kb = KnowledgeBase.of(cards) if cards is not None else library.kb
            extra = {cid: [q for q in qs if q not in own(kb.cards[cid])]
                     for cid, qs in accepted.items() if cid in kb.cards}
            self.put(await asyncio.to_thread(library.rebuilt, kb, extra))
            self.version = version

    async def follow(self) -> bool:
        """At the minute tick: rebuild when another instance (or the CLI) changed the
        knowledge; True when the cards were re-read."""
        if await self.store.knowledge_version() == self.version:
            return False
        cards, problems = await asyncio.to_thread(check, self.settings.knowledge)
        if problems:  # a broken set on disk: keep the cards, take the accepted questions
            log.warning("knowledge changed but the cards have %d problem(s); kept the "
                        "loaded cards", len(problems))
        await self.refresh(None if problems else cards)
        return not problems

    async def learn(self, who: Who, args: str, now: datetime, note: str = "") -> list[Reply]:
        """/learn: pending suggestions, most frequent first, each with ✅ / ❌."""
        found = await self.store.pending(SHOWN)
        cards = self.get().kb.cards
        head = [note] if note else []
        if not found:
            return [Reply("\n\n".join([*head, t("learn_empty", who.lang)]))]
        lines = [*head, t("learn_head", who.lang)]
        rows = []
        for s in found:
            card = cards.get(s.card_id)
            title = card.title.get(who.lang) if card else s.card_id
            lines.append(f"#{s.id} ×{s.count} “{s.question}” ➜ {title}")
            rows.append((Button(f"✅ #{s.id}", f"lrn:{s.id}:a"),
                         Button(f"❌ #{s.id}", f"lrn:{s.id}:r")))
        return [Reply("\n".join(lines), buttons=tuple(rows))]

    async def decide(self, who: Who, rest: str, now: datetime) -> list[Reply]:
        """A ✅ / ❌ button `ID:a|r`: decided once, audited; the list again in its place."""
        if not who.admin:
            return [Reply(t("not_allowed", who.lang))]
        sid, _, choice = rest.partition(":")
        if not sid.isdigit() or choice not in ("a", "r"):
            return [Reply(t("stale_button", who.lang))]
        decided = await self.store.decide(int(sid), choice == "a", who.person.user_id, now)
        if decided is None:
            note = t("learn_done", who.lang, id=sid)
        else:
            if decided.status == "accepted":
                await self.refresh()  # at once here; other instances at their next tick
            key = "learn_accepted" if decided.status == "accepted" else "learn_rejected"
            note = t(key, who.lang, id=sid, question=label(decided.question))
        return [replace(r, edit=True) for r in await self.learn(who, "", now, note)]


def own(card: Card) -> set[str]:
    """A card's own questions (an exported suggestion is not added twice)."""
    return {*card.questions.zh, *card.questions.en}
