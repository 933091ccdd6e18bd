"""The conversation engine: `handle(Inbound) -> list[Reply]` and `tick(now)`, transport-agnostic."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.config import Settings
from bot.i18n import section_name, t
from bot.knowledge import KnowledgeBase
from bot.models import SECTIONS, Button, Inbound, Lang, Now, Person, Push, Reply, Role
from bot.privacy import mask
from bot.search import Index
from bot.store import Store
from bot.text import clean, has_cjk, is_traditional
from bot.training import Training, Who
from bot.views import card_reply

log = logging.getLogger(__name__)

MAX_QUESTION = 500
MIN_OFFER = 0.05  # a "did you mean" button needs at least this match score
# In a group the bot shows only what is not personal; the rest goes to a private chat.
GROUP_OK = {"help", "topics", "card", None}
GROUP_OK_BUTTONS = {"card", "sec", "dym", "fb"}
_GREETING = re.compile(r"^(hi|hello|hey|start|你好|您好|嗨|哈喽|在吗|早上好|morning|good morning)[!！.。~ ]*$",
                       re.IGNORECASE)  # longer texts are cut before matching and logging


@dataclass
class Library:
    """The knowledge base and its search index, swapped as one on reload."""

    kb: KnowledgeBase
    index: Index

    @classmethod
    def build(cls, kb: KnowledgeBase) -> Library:
        return cls(kb, Index(list(kb.cards.values())))


@dataclass(frozen=True)
class Context:
    """Who is talking and in which language, resolved once per inbound."""

    person: Person
    lang: Lang
    inbound: Inbound


Handler = Callable[[Context, str], Awaitable[list[Reply]]]


class Assistant:
    """Decides what to say; adapters only translate."""

    def __init__(self, settings: Settings, store: Store, library: Library, now: Now) -> None:
        self.settings = settings
        self.store = store
        self.library = library
        self.now = now
        self.training = Training(settings, store, lambda: self.library.kb)
        self.commands: dict[str, Handler] = {
            "start": self.cmd_start, "help": self.cmd_help, "topics": self.cmd_topics,
            "card": self.cmd_card, "lang": self.cmd_lang, "drill": self.cmd_drill,
            "due": self.cmd_due, "progress": self.cmd_progress, "remind": self.cmd_remind,
            "pause": self.cmd_pause,
        }
        self.callbacks: dict[str, Handler] = {
            "card": self.cb_card, "sec": self.cb_section, "dym": self.cb_did_you_mean,
            "fb": self.cb_feedback, "a": self.cb_answer, "drill": self.cmd_drill,
        }

    async def start(self) -> None:
        """Work to do once the store is open (record card versions)."""
        await self.training.sync_versions(self.now())

    # --- entry points ---------------------------------------------------------------

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Answer one message or button press."""
        text = clean(inbound.text or "")
        person = await self.store.person(inbound.user_id)
        lang = _lang_for(person, text, inbound.lang_hint)
        command, args = _split_command(text)
        if person is None:
            person = await self._enrol(inbound, command, args)
            if person is None:
                return [Reply(t("not_enrolled", lang))]
            if command == "start":
                return await self.cmd_start(Context(person, lang, inbound), args)
        ctx = Context(person, lang, inbound)
        if not inbound.private and not _group_ok(command, inbound.callback):
            return [Reply(t("private_only", lang))]
        if person.lang is None and lang is not person.last_lang:
            await self.store.note_lang(person.user_id, lang)
        if inbound.callback is not None:
            return await self._callback(ctx, inbound.callback)
        if inbound.text is None:
            return [Reply(t("text_only", lang))]
        if command is not None:
            handler = self.commands.get(command)
            return await handler(ctx, args) if handler else [Reply(t("unknown_command", lang))]
        if not text or not any(c.isalnum() for c in text):
            return [Reply(t("empty", lang))]
        if _GREETING.match(text):
            return await self.cmd_start(ctx, "")
        return await self.answer(ctx, text)

    async def first_delivery(self, key: str) -> bool:
        """False when this update was handled before (redelivered after a restart)."""
        return await self.store.first_delivery(key, self.now())

    async def tick(self, now: datetime) -> list[Push]:
        """Scheduled work due by `now`: drill invitations."""
        return await self.training.invitations(now)

    async def enrol_demo(self, user_id: int, name: str) -> Person:
        """The console's demo user: every role, enrolled without an invite."""
        roles = {Role.STAFF, Role.SUPERVISOR, Role.ADMIN}
        return await self.store.upsert_person(user_id, name, roles, self.now())

    async def _enrol(self, inbound: Inbound, command: str | None, args: str) -> Person | None:
        if inbound.user_id in self.settings.admins and command == "start":
            roles = {Role.STAFF, Role.SUPERVISOR, Role.ADMIN}
            return await self.store.upsert_person(inbound.user_id, inbound.name or "admin",
                                                  roles, self.now())
        return None

    async def _callback(self, ctx: Context, payload: str) -> list[Reply]:
        kind, _, rest = payload.partition(":")
        handler = self.callbacks.get(kind)
        if handler is None:
            return [Reply(t("stale_button", ctx.lang))]
        return await handler(ctx, rest)

    # --- answering questions -------------------------------------------------------------

    async def answer(self, ctx: Context, text: str) -> list[Reply]:
        """Match a question to a card: answer, offer "did you mean", or record a gap."""
        masked = mask(text[:MAX_QUESTION])
        replies: list[Reply] = []
        if masked != text[:MAX_QUESTION]:
            day = self.now().astimezone(self.settings.timezone).date().isoformat()
            if await self.store.first_notice_today(ctx.person.user_id, "privacy", day):
                replies.append(Reply(t("privacy_warning", ctx.lang)))
        result = self.library.index.search(masked, limit=3)
        now = self.now()
        uid = ctx.person.user_id
        lang = ctx.lang
        if result.confident:
            card = result.matches[0].card
            qid = await self.store.log_question(uid, now, masked, "answered", card.id,
                                                result.matches[0].score, [])
            reply = card_reply(card, lang, traditional=is_traditional(text))
            buttons = ((Button(t("fb_up", lang), f"fb:{qid}:up"),
                        Button(t("fb_down", lang), f"fb:{qid}:down")),)
            return [*replies, Reply(reply.text, reply.title, buttons)]
        if result.plausible and result.matches:
            shown = [m for m in result.matches[:3] if m.score >= MIN_OFFER]
            offered = [m.card.id for m in shown]
            score = result.matches[0].score
            qid = await self.store.log_question(uid, now, masked, "unsure", None, score, offered)
            options = tuple((Button(m.card.title.get(lang), f"dym:{qid}:{n}"),)
                            for n, m in enumerate(shown))
            return [*replies, Reply(t("did_you_mean", lang), buttons=options)]
        score = result.matches[0].score if result.matches else 0.0
        await self.store.log_question(uid, now, masked, "none", None, score, [])
        return [*replies, Reply(t("no_match", lang))]

    async def cb_did_you_mean(self, ctx: Context, rest: str) -> list[Reply]:
        qid, _, pos = rest.partition(":")
        row = await self.store.question(int(qid), ctx.person.user_id) if qid.isdigit() else None
        if row is None or not pos.isdigit() or int(pos) >= len(row.offered):
            return [Reply(t("stale_button", ctx.lang))]
        card = self.library.kb.cards.get(row.offered[int(pos)])
        if card is None:
            return [Reply(t("stale_button", ctx.lang))]
        await self.store.choose_card(row.id, card.id)
        shown = card_reply(card, ctx.lang)
        buttons = ((Button(t("fb_up", ctx.lang), f"fb:{row.id}:up"),
                    Button(t("fb_down", ctx.lang), f"fb:{row.id}:down")),)
        return [Reply(f"➜ {card.title.get(ctx.lang)}", edit=True),
                Reply(shown.text, shown.title, buttons)]

    async def cb_feedback(self, ctx: Context, rest: str) -> list[Reply]:
        qid, _, value = rest.partition(":")
        row = await self.store.question(int(qid), ctx.person.user_id) if qid.isdigit() else None
        if row is None or value not in ("up", "down"):
            return [Reply(t("stale_button", ctx.lang))]
        first = await self.store.set_feedback(row.id, 1 if value == "up" else -1)
        key = "feedback_done" if not first else ("feedback_up" if value == "up" else "feedback_down")
        return [Reply("", edit=True), Reply(t(key, ctx.lang))]

    # --- commands ---------------------------------------------------------------------

    async def cmd_start(self, ctx: Context, args: str) -> list[Reply]:
        name = ctx.person.name
        return [Reply(t("greeting", ctx.lang, name=name) + "\n\n" + self._help_text(ctx))]

    async def cmd_help(self, ctx: Context, args: str) -> list[Reply]:
        return [Reply(self._help_text(ctx))]

    def _help_text(self, ctx: Context) -> str:
        parts = [t("help", ctx.lang)]
        if Role.SUPERVISOR in ctx.person.roles or Role.ADMIN in ctx.person.roles:
            parts.append(t("help_supervisor", ctx.lang))
        if Role.ADMIN in ctx.person.roles:
            parts.append(t("help_admin", ctx.lang))
        return "\n\n".join(parts)

    async def cmd_topics(self, ctx: Context, args: str) -> list[Reply]:
        present = {c.section for c in self.library.kb.cards.values()}
        buttons = tuple((Button(section_name(s, ctx.lang), f"sec:{s}"),)
                        for s in SECTIONS if s in present)
        return [Reply(t("topics", ctx.lang), buttons=buttons)]

    async def cb_section(self, ctx: Context, section: str) -> list[Reply]:
        cards = [c for c in self.library.kb.cards.values() if c.section == section]
        if not cards:
            return [Reply(t("stale_button", ctx.lang))]
        buttons = tuple((Button(c.title.get(ctx.lang), f"card:{c.id}"),) for c in cards)
        name = section_name(section, ctx.lang)
        return [Reply(t("section_cards", ctx.lang, section=name), buttons=buttons)]

    async def cmd_card(self, ctx: Context, args: str) -> list[Reply]:
        card_id = args.split()[0] if args.split() else ""
        if not card_id:
            return [Reply(t("card_usage", ctx.lang))]
        card = self.library.kb.cards.get(card_id.lower())
        if card is None:
            return [Reply(t("no_card", ctx.lang, id=card_id[:60]))]
        return [card_reply(card, ctx.lang)]

    async def cb_card(self, ctx: Context, card_id: str) -> list[Reply]:
        return await self.cmd_card(ctx, card_id) if card_id else [Reply(t("stale_button", ctx.lang))]

    # --- drills and schedule (bot/training.py does the work) ---------------------------

    @staticmethod
    def _who(ctx: Context) -> Who:
        return Who(ctx.person, ctx.lang)

    async def cmd_drill(self, ctx: Context, args: str) -> list[Reply]:
        return await self.training.start(self._who(ctx), self.now())

    async def cb_answer(self, ctx: Context, rest: str) -> list[Reply]:
        return await self.training.answer(self._who(ctx), rest, self.now())

    async def cmd_due(self, ctx: Context, args: str) -> list[Reply]:
        return await self.training.due(self._who(ctx), self.now())

    async def cmd_progress(self, ctx: Context, args: str) -> list[Reply]:
        return await self.training.progress(self._who(ctx), self.now())

    async def cmd_remind(self, ctx: Context, args: str) -> list[Reply]:
        return await self.training.remind(self._who(ctx), args)

    async def cmd_pause(self, ctx: Context, args: str) -> list[Reply]:
        return await self.training.pause(self._who(ctx), args, self.now())

    async def cmd_lang(self, ctx: Context, args: str) -> list[Reply]:
        choice = args.strip().lower()
        if choice not in ("zh", "en"):
            return [Reply(t("lang_usage", ctx.lang))]
        lang = Lang(choice)
        await self.store.set_lang(ctx.person.user_id, lang)
        return [Reply(t("lang_set", lang))]


def _group_ok(command: str | None, callback: str | None) -> bool:
    if callback is not None:
        return callback.partition(":")[0] in GROUP_OK_BUTTONS
    return command in GROUP_OK


def _split_command(text: str) -> tuple[str | None, str]:
    """("start", "CODE") for "/start@CoachBot CODE"; (None, text) for plain text."""
    if not text.startswith("/") or len(text) < 2:
        return None, text
    head, _, args = text[1:].partition(" ")
    return head.split("@")[0].lower(), args.strip()


def _lang_for(person: Person | None, text: str, hint: str | None) -> Lang:
    """A chosen language wins; otherwise the language of the message, then the client's."""
    if person is not None and person.lang is not None:
        return person.lang
    if text and not text.startswith("/"):
        if has_cjk(text):
            return Lang.ZH
        if any(c.isalpha() for c in text):
            return Lang.EN
    if person is not None and person.last_lang is not None:
        return person.last_lang
    return Lang.EN if hint and not hint.lower().startswith("zh") else Lang.ZH
