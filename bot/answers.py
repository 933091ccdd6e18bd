"""Answering questions and browsing cards: the card, "did you mean", or a recorded gap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.config import Settings
from bot.embeddings import Embedder
from bot.i18n import section_name, t
from bot.knowledge import KnowledgeBase
from bot.models import SECTIONS, Button, Card, Lang, Reply, Who
from bot.privacy import mask
from bot.search import Index
from bot.store import Store
from bot.text import is_traditional
from bot.views import card_reply

MAX_QUESTION = 500  # longer texts are cut before matching and logging
# A "did you mean" button needs at least this score, and a fifth of the best one's
# (scores are the ranker's probabilities: short questions score low on every card).
MIN_OFFER = 0.005
OFFER_SHARE = 0.2


@dataclass
class Library:
    """The knowledge base and its search index, swapped as one on reload."""

    kb: KnowledgeBase
    index: Index

    @classmethod
    def build(cls, kb: KnowledgeBase, embedder: Embedder | None = None) -> Library:
        return cls(kb, Index(list(kb.cards.values()), embedder=embedder))

    def rebuilt(self, kb: KnowledgeBase) -> Library:
        """New cards, the same embedding model (only changed lines are embedded)."""
        return Library(kb, Index(list(kb.cards.values()), self.index.extra, self.index.embedder))


class Answers:
    """Questions in, cards out; every question is logged masked of customer data."""

    def __init__(self, settings: Settings, store: Store, library: Callable[[], Library]) -> None:
        self.settings = settings
        self.store = store
        self.library = library

    async def answer(self, who: Who, text: str, now: datetime) -> list[Reply]:
        """Match a question to a card: answer, offer "did you mean", or record a gap."""
        masked = mask(text[:MAX_QUESTION])
        uid, lang = who.person.user_id, who.lang
        replies: list[Reply] = []
        if masked != text[:MAX_QUESTION]:
            day = now.astimezone(self.settings.timezone).date().isoformat()
            if await self.store.first_notice_today(uid, "privacy", day):
                replies.append(Reply(t("privacy_warning", lang)))
        result = await self.library().index.asearch(masked, limit=3)
        if result.confident:
            card = result.matches[0].card
            qid = await self.store.log_question(uid, now, masked, "answered", card.id,
                                                result.matches[0].score, [])
            return [*replies, self._card(card, lang, qid, is_traditional(text))]
        floor = max(MIN_OFFER, OFFER_SHARE * result.matches[0].score) if result.matches else 1.0
        shown = [m for m in result.matches[:3] if m.score >= floor]
        if result.plausible and shown:
            offered = [m.card.id for m in shown]
            score = result.matches[0].score
            qid = await self.store.log_question(uid, now, masked, "unsure", None, score, offered)
            options = tuple((Button(m.card.title.get(lang), f"dym:{qid}:{n}"),)
                            for n, m in enumerate(shown))
            return [*replies, Reply(t("did_you_mean", lang), buttons=options)]
        score = result.matches[0].score if result.matches else 0.0
        await self.store.log_question(uid, now, masked, "none", None, score, [])
        return [*replies, Reply(t("no_match", lang))]

    def _card(self, card: Card, lang: Lang, qid: int, traditional: bool = False) -> Reply:
        shown = card_reply(card, lang, traditional)
        buttons = ((Button(t("fb_up", lang), f"fb:{qid}:up"),
                    Button(t("fb_down", lang), f"fb:{qid}:down")),)
        return Reply(shown.text, shown.title, buttons)

    async def did_you_mean(self, who: Who, rest: str, now: datetime) -> list[Reply]:
        """A "did you mean" button `QUESTION:POSITION`: show that card, record the choice."""
        qid, _, pos = rest.partition(":")
        row = await self.store.question(int(qid), who.person.user_id) if qid.isdigit() else None
        if row is None or not pos.isdigit() or int(pos) >= len(row.offered):
            return [Reply(t("stale_button", who.lang))]
        card = self.library().kb.cards.get(row.offered[int(pos)])
        if card is None:
            return [Reply(t("stale_button", who.lang))]
        await self.store.choose_card(row.id, card.id)
        return [Reply(f"➜ {card.title.get(who.lang)}", edit=True),
                self._card(card, who.lang, row.id)]

    async def feedback(self, who: Who, rest: str, now: datetime) -> list[Reply]:
        """👍 / 👎 under an answer `QUESTION:up|down`, stored once."""
        qid, _, value = rest.partition(":")
        row = await self.store.question(int(qid), who.person.user_id) if qid.isdigit() else None
        if row is None or value not in ("up", "down"):
            return [Reply(t("stale_button", who.lang))]
        first = await self.store.set_feedback(row.id, 1 if value == "up" else -1)
        key = "feedback_done" if not first else ("feedback_up" if value == "up" else "feedback_down")
        return [Reply("", edit=True), Reply(t(key, who.lang))]

    async def topics(self, who: Who, args: str, now: datetime) -> list[Reply]:
        present = {c.section for c in self.library().kb.cards.values()}
        buttons = tuple((Button(section_name(s, who.lang), f"sec:{s}"),)
                        for s in SECTIONS if s in present)
        return [Reply(t("topics", who.lang), buttons=buttons)]

    async def section(self, who: Who, section: str, now: datetime) -> list[Reply]:
        cards = [c for c in self.library().kb.cards.values() if c.section == section]
        if not cards:
            return [Reply(t("stale_button", who.lang))]
        buttons = tuple((Button(c.title.get(who.lang), f"card:{c.id}"),) for c in cards)
        name = section_name(section, who.lang)
        return [Reply(t("section_cards", who.lang, section=name), buttons=buttons)]

    async def card_button(self, who: Who, card_id: str, now: datetime) -> list[Reply]:
        if card_id not in self.library().kb.cards:
            return [Reply(t("stale_button", who.lang))]
        return await self.card(who, card_id, now)

    async def card(self, who: Who, args: str, now: datetime) -> list[Reply]:
        card_id = args.split()[0] if args.split() else ""
        if not card_id:
            return [Reply(t("card_usage", who.lang))]
        card = self.library().kb.cards.get(card_id.lower())
        if card is None:
            return [Reply(t("no_card", who.lang, id=card_id[:60]))]
        return [card_reply(card, who.lang)]
