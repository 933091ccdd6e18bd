"""Answering questions and browsing cards: the card, "did you mean", or a recorded gap."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.config import Settings
from bot.embeddings import Embedder
from bot.i18n import section_name, t
from bot.knowledge import KnowledgeBase
from bot.models import SECTIONS, Button, Lang, Reply, Who
from bot.privacy import has_customer_data, mask
from bot.search import Index
from bot.smalltalk import reply as smalltalk_reply
from bot.store import Store
from bot.text import number
from bot.views import View, full, glance, label, parse_view, section, section_buttons

MAX_QUESTION = 500  # longer texts are cut before matching and logging
# A "did you mean" button needs at least this score, and a fifth of the best one's
# (scores are the ranker's probabilities: short questions score low on every card).
MIN_OFFER = 0.005
OFFER_SHARE = 0.2
NONE = "-"  # the "none of these" button after 👎


@dataclass
class Library:
    """The knowledge base and its search index, swapped as one on reload."""

    kb: KnowledgeBase
    index: Index

    @classmethod
    def build(cls, kb: KnowledgeBase, embedder: Embedder | None = None) -> Library:
        return cls(kb, Index(list(kb.cards.values()), embedder=embedder))

    def rebuilt(self, kb: KnowledgeBase, extra: Mapping[str, Sequence[str]] | None = None
                ) -> Library:
        """New cards (and extra ways of asking, else the same), the same embedding model
        (only changed lines are embedded)."""
        extra = self.index.extra if extra is None else extra
        return Library(kb, Index(list(kb.cards.values()), extra, self.index.embedder))


class Answers:
    """Questions in, cards out; every question is logged masked of customer data."""

    def __init__(self, settings: Settings, store: Store, library: Callable[[], Library]) -> None:
        self.settings = settings
        self.store = store
        self.library = library

    async def answer(self, who: Who, text: str, now: datetime) -> list[Reply]:
        """Match a question to a card: answer, offer "did you mean", or record a gap.
        Small talk ("thanks", "好的", "唔該") is no question: a short reply, no gap."""
        friendly = smalltalk_reply(text, who.person.lang)
        if friendly is not None:
            return [Reply(friendly)]
        masked = mask(text)[:MAX_QUESTION]  # masked before the cut: no half number is left
        uid, lang = who.person.user_id, who.lang
        replies: list[Reply] = []
        if has_customer_data(text):
            day = now.astimezone(self.settings.timezone).date().isoformat()
            if await self.store.first_notice_today(uid, "privacy", day):
                replies.append(Reply(t("privacy_warning", lang)))
        result = await self.library().index.asearch(masked, limit=3)
        if result.confident:
            card = result.matches[0].card
            qid = await self.store.log_question(uid, now, masked, "answered", card.id,
                                                result.matches[0].score, [])
            return [*replies, glance(card, lang, qid, feedback=True)]
        floor = max(MIN_OFFER, OFFER_SHARE * result.matches[0].score) if result.matches else 1.0
        shown = [m for m in result.matches[:3] if m.score >= floor]
        if result.plausible and shown:  # never a "did you mean" without options
            offered = [m.card.id for m in shown]
            score = result.matches[0].score
            qid = await self.store.log_question(uid, now, masked, "unsure", None, score, offered)
            options = tuple((Button(label(m.card.title.get(lang)), f"dym:{qid}:{n}"),)
                            for n, m in enumerate(shown))
            return [*replies, Reply(t("did_you_mean", lang), buttons=options)]
        score = result.matches[0].score if result.matches else 0.0
        await self.store.log_question(uid, now, masked, "none", None, score, [])
        return [*replies, Reply(t("no_match", lang))]

    async def did_you_mean(self, who: Who, rest: str, now: datetime) -> list[Reply]:
        """A "did you mean" button `QUESTION:POSITION`: show that card, record the choice."""
        qid, _, pos = rest.partition(":")
        question, position = number(qid), number(pos, 9)
        row = await self.store.question(question, who.person.user_id) if question else None
        if row is None or position is None or position >= len(row.offered):
            return [Reply(t("stale_button", who.lang))]
        card = self.library().kb.cards.get(row.offered[position])
        if card is None:
            return [Reply(t("stale_button", who.lang))]
        if await self.store.choose_card(row.id, card.id) and row.text:
            await self.store.suggest(row.text, card.id, now)  # learning from use
        return [Reply(f"➜ {card.title.get(who.lang)}", edit=True),
                glance(card, who.lang, row.id, feedback=row.feedback is None)]

    async def feedback(self, who: Who, rest: str, now: datetime) -> list[Reply]:
        """👍 / 👎 under an answer `QUESTION:up|down`, stored once."""
        qid, _, value = rest.partition(":")
        question = number(qid)
        row = await self.store.question(question, who.person.user_id) if question else None
        if row is None or value not in ("up", "down"):
            return [Reply(t("stale_button", who.lang))]
        first = await self.store.set_feedback(row.id, 1 if value == "up" else -1)
        key = "feedback_done" if not first else ("feedback_up" if value == "up" else "feedback_down")
        # 👍/👎 go; the text and the section buttons stay (a keyboard-only edit)
        card = self.library().kb.cards.get(row.card_id or "")
        rows = section_buttons(card, who.lang) if card is not None else ()
        edit = Reply("", buttons=rows, edit=True)
        if not first or value == "up":
            return [edit, Reply(t(key, who.lang))]
        return [edit, await self._alternatives(row.id, row.text, row.card_id or "", who.lang)]

    async def _alternatives(self, qid: int, text: str, shown: str, lang: Lang) -> Reply:
        """After 👎 no dead end: the next best cards (up to 3) and "none of these"."""
        found = (await self.library().index.asearch(text, 4)).matches if text else ()
        found = tuple(m for m in found if m.card.id != shown)[:3]
        rows = tuple((Button(label(m.card.title.get(lang)), f"alt:{qid}:{m.card.id}"),)
                     for m in found if m.score > 0)  # after 👎 even a weak next best helps
        if not rows:
            return Reply(t("feedback_down", lang))
        none = (Button(t("none_of_these", lang), f"alt:{qid}:{NONE}"),)
        return Reply(t("alternatives", lang), buttons=(*rows, none))

    async def alternative(self, who: Who, rest: str, now: datetime) -> list[Reply]:
        """A card picked after 👎 `QUESTION:CARD` (its glance; learnt as a suggestion), or
        `QUESTION:-` "none of these" (the 👎 stays a knowledge gap)."""
        qid, _, card_id = rest.partition(":")
        row = await self.store.question(int(qid), who.person.user_id) if qid.isdigit() else None
        if row is None or row.feedback != -1:
            return [Reply(t("stale_button", who.lang))]
        if card_id == NONE:
            return [Reply("", edit=True), Reply(t("feedback_down", who.lang))]
        card = self.library().kb.cards.get(card_id)
        if card is None:
            return [Reply(t("stale_button", who.lang))]
        if await self.store.choose_instead(row.id, card.id) and row.text:
            await self.store.suggest(row.text, card.id, now)
        return [Reply(f"➜ {card.title.get(who.lang)}", edit=True),
                glance(card, who.lang, row.id, feedback=True)]

    async def view(self, who: Who, rest: str, now: datetime) -> list[Reply]:
        """A section button `CARD:VIEW:QUESTION`: that view of the card as it is now, in
        the same message. A double tap shows the same again; a card removed by a reload
        is said to be gone (the message keeps what it showed)."""
        parsed = parse_view(rest)
        if parsed is None:
            return [Reply(t("stale_button", who.lang))]
        card_id, shown, qid = parsed
        cards = self.library().kb.cards
        card = cards.get(card_id)
        if card is None:
            return [Reply(t("card_gone", who.lang))]
        if shown is View.GLANCE:
            row = await self.store.question(qid, who.person.user_id) if qid else None
            ask = row is not None and row.feedback is None
            return [replace(glance(card, who.lang, qid, feedback=ask), edit=True)]
        return [section(card, shown, who.lang, cards, qid)]

    async def topics(self, who: Who, args: str, now: datetime) -> list[Reply]:
        present = {c.section for c in self.library().kb.cards.values()}
        buttons = tuple((Button(section_name(s, who.lang), f"sec:{s}"),)
                        for s in SECTIONS if s in present)
        return [Reply(t("topics", who.lang), buttons=buttons)]

    async def section(self, who: Who, section: str, now: datetime) -> list[Reply]:
        """A section of /topics (or, for `sec:` alone, all of them) in the same message."""
        if not section:
            return [replace(r, edit=True) for r in await self.topics(who, "", now)]
        cards = [c for c in self.library().kb.cards.values() if c.section == section]
        if not cards:
            return [Reply(t("stale_button", who.lang))]
        buttons = ((Button(t("all_sections", who.lang), "sec:"),),
                   *((Button(label(c.title.get(who.lang)), f"card:{c.id}"),) for c in cards))
        name = section_name(section, who.lang)
        return [Reply(t("section_cards", who.lang, section=name), buttons=buttons, edit=True)]

    async def card_button(self, who: Who, card_id: str, now: datetime) -> list[Reply]:
        if card_id not in self.library().kb.cards:
            return [Reply(t("stale_button", who.lang))]
        return await self.card(who, card_id, now)

    async def card(self, who: Who, args: str, now: datetime) -> list[Reply]:
        """/card ID: the glance; /card ID full: everything at once."""
        words = args.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() != "full"):
            return [Reply(t("card_usage", who.lang))]
        cards = self.library().kb.cards
        card = cards.get(words[0].lower())
        if card is None:
            return [Reply(t("no_card", who.lang, id=words[0][:60]))]
        return [full(card, who.lang, cards) if len(words) == 2 else glance(card, who.lang)]
