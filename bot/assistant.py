"""The conversation engine: `handle(Inbound) -> list[Reply]` and `tick(now)`, transport-agnostic.

It resolves who is talking and in which language, checks what they may do, and
hands the work to answers, training (drills and schedule) or staff (people,
teams and reports).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.answers import Answers, Library
from bot.config import Settings
from bot.i18n import t
from bot.knowledge import check
from bot.learning import Learning
from bot.models import Button, Inbound, Lang, Now, Person, Push, Reply, Role, Who
from bot.privacy import pseudonym
from bot.roster import Roster
from bot.staff import Staffing
from bot.store import Store
from bot.text import clean, has_cjk, is_simplified, is_traditional, valid
from bot.training import Training

log = logging.getLogger(__name__)

Handler = Callable[[Who, str, datetime], Awaitable[list[Reply]]]

_GREETING = re.compile(
    r"^(hi|hello|hey|你好|您好|嗨|哈喽|在吗|早上好|早|morning|good morning)[!！.。~ ]*$", re.IGNORECASE)
HELP_WORDS = {"help", "帮助", "幫助", "菜单", "menu", "命令", "commands"}  # typed without the /
# In a group the bot shows only what is not personal; the rest goes to a private chat.
GROUP_COMMANDS = {"help", "topics", "card", "start", None}
GROUP_BUTTONS = {"card", "sec", "dym", "fb", "v", "alt"}
ALL_ROLES = {Role.STAFF, Role.SUPERVISOR, Role.ADMIN}
LANG_CHOICES = {"zh": Lang.ZH, "zh-hans": Lang.ZH, "zh-cn": Lang.ZH, "en": Lang.EN,
                "zh-hant": Lang.HANT, "zh-hk": Lang.HANT, "zh-tw": Lang.TW}


class Assistant:
    """Decides what to say; adapters only translate."""

    def __init__(self, settings: Settings, store: Store, library: Library, now: Now) -> None:
        self.settings = settings
        self.store = store
        self.library = library
        self.now = now
        # strangers are stored as a keyed hash of their id: the token is the key, a secret
        # the database never holds (the console has no token, and no strangers)
        self.stranger_key = (settings.token or secrets.token_hex(16)).encode()
        self.answers = Answers(settings, store, lambda: self.library)
        self.training = Training(settings, store, lambda: self.library.kb)
        self.staff = Staffing(settings, store, lambda: self.library.kb, self.training)
        self.roster = Roster(settings, store)
        self.learning = Learning(settings, store, lambda: self.library, self._put_library)
        a, tr, st, ro = self.answers, self.training, self.staff, self.roster
        self.commands: dict[str, tuple[Role, Handler]] = {
            "start": (Role.STAFF, self.greet), "help": (Role.STAFF, self.help),
            "topics": (Role.STAFF, a.topics), "card": (Role.STAFF, a.card),
            "lang": (Role.STAFF, self.set_lang), "drill": (Role.STAFF, tr.drill),
            "due": (Role.STAFF, tr.due), "progress": (Role.STAFF, tr.progress),
            "remind": (Role.STAFF, tr.remind), "pause": (Role.STAFF, tr.pause),
            "whoami": (Role.STAFF, st.whoami), "leave": (Role.STAFF, self.leave),
            "summary": (Role.SUPERVISOR, st.summary_cmd), "export": (Role.SUPERVISOR, st.export_cmd),
            "nudge": (Role.SUPERVISOR, st.nudge), "items": (Role.SUPERVISOR, st.items_cmd),
            "team": (Role.ADMIN, st.team_cmd),
            "invite": (Role.ADMIN, st.invite), "people": (Role.ADMIN, ro.people),
            "move": (Role.ADMIN, st.move), "remove": (Role.ADMIN, st.remove),
            "reload": (Role.ADMIN, self.reload), "staffno": (Role.ADMIN, ro.staffno),
            "learn": (Role.ADMIN, self.learning.learn),
        }
        self.buttons: dict[str, Handler] = {
            "card": a.card_button, "sec": a.section, "dym": a.did_you_mean, "fb": a.feedback,
            "v": a.view,
            "a": tr.answer, "drill": tr.drill, "leave": self.leave_confirmed,
            "people": ro.people_button, "rm": st.remove_confirmed, "alt": a.alternative,
            "lrn": self.learning.decide,
        }

    async def start(self) -> None:
        """Work to do once the store is open (record card versions, accepted questions)."""
        await self.training.sync_versions(self.now())
        await self.learning.start()

    def _put_library(self, library: Library) -> None:
        self.library = library

    # --- entry points ---------------------------------------------------------------

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Answer one message or button press."""
        inbound = replace(inbound, name=valid(inbound.name),
                          text=None if inbound.text is None else valid(inbound.text),
                          callback=None if inbound.callback is None else valid(inbound.callback))
        text = clean(inbound.text or "")
        person = await self.store.person(inbound.user_id)
        lang = _lang_for(person, text, inbound.lang_hint)
        command, args = _split_command(text)
        now = self.now()
        if person is None:
            return await self._stranger(inbound, command, args, lang, now)
        who = Who(self._effective(person), lang)
        if not inbound.private and (not _group_ok(command, inbound.callback)
                                    or command == "start" and args):
            return [Reply(t("private_only", lang))]  # an invite code is redeemed in private
        if person.lang is None and lang is not person.last_lang:
            await self.store.note_lang(person.user_id, lang)
        if inbound.callback is not None:
            kind, _, rest = inbound.callback.partition(":")
            button = self.buttons.get(kind)
            return await button(who, rest, now) if button else [Reply(t("stale_button", lang))]
        if inbound.text is None:
            return [Reply(t("text_only", lang))]
        if command is not None:
            entry = self.commands.get(command)
            if entry is None:
                return [Reply(t("unknown_command", lang))]
            role, handler = entry
            if not who.has(role):
                return [Reply(t("not_allowed", lang))]
            return await handler(who, args, now)
        if not text or not any(c.isalnum() for c in text):
            return [Reply(t("empty", lang))]
        if text.lower().rstrip("!！?？. 。") in HELP_WORDS:
            return await self.help(who, "", now)
        if _GREETING.match(text):
            return await self.greet(who, "", now)
        return await self.answers.answer(who, text, now)

    async def tick(self, now: datetime) -> list[Push]:
        """Scheduled work due by `now`: invitations, weekly summaries, retention purge.
        Each runs once across every instance; the pushes queued (in the store's outbox,
        which the adapter's sender drains)."""
        if await self.learning.follow():  # another instance reloaded the cards
            await self.training.sync_versions(now)
        if not await self.store.claim_tick(now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M"), now):
            return []  # another instance runs this minute's jobs
        pushes = await self.training.invitations(now)
        pushes += await self.staff.weekly(now)
        day = now.astimezone(self.settings.timezone).date().isoformat()
        purged = await self.store.purge_once(
            day, now - timedelta(days=self.settings.retention_days), now)
        if purged:
            log.info("retention: purged %d old rows", purged)
        return pushes

    # --- enrolment ---------------------------------------------------------------------

    async def _stranger(self, inbound: Inbound, command: str | None, args: str, lang: Lang,
                        now: datetime) -> list[Reply]:
        """Not enrolled: admins join with /start, others with an invite code; nothing else.
        Anything else is answered at most once a day per stranger, within
        COACH_STRANGER_REPLIES a minute in all, behind every staff reply."""
        name = inbound.name or str(inbound.user_id)
        key = "not_enrolled"
        if command == "start" and inbound.private and inbound.text is not None:
            if inbound.user_id in self.settings.admins:
                person = await self.store.upsert_person(inbound.user_id, name, ALL_ROLES, now)
                await self.store.audit(inbound.user_id, "enrol", "admin", now)
                return await self.greet(Who(person, lang), "", now)
            if args:
                team = await self.staff.join(inbound.user_id, name, args, now)
                joined = await self.store.person(inbound.user_id)
                if team is not None and joined is not None:
                    welcome = Reply(t("joined", lang, team=team))
                    return [welcome, *await self.greet(Who(joined, lang), "", now)]
                key = "invite_bad"
        day = now.astimezone(self.settings.timezone).date().isoformat()
        who = pseudonym(inbound.user_id, self.stranger_key)
        if not await self.store.answer_stranger(who, day, now, self.settings.stranger_replies):
            return []
        return [Reply(t(key, lang), low_priority=True)]

    def _effective(self, person: Person) -> Person:
        """Administrator rights follow COACH_ADMINS now, not what was stored at enrolment."""
        roles = set(person.roles) - {Role.ADMIN}
        if person.user_id in self.settings.admins:
            roles |= ALL_ROLES
        return replace(person, roles=frozenset(roles))

    async def enrol_demo(self, user_id: int, name: str) -> Person:
        """The console's demo user: every role, enrolled without an invite."""
        return await self.store.upsert_person(user_id, name, ALL_ROLES, self.now())

    # --- small commands -------------------------------------------------------------------

    async def greet(self, who: Who, args: str, now: datetime) -> list[Reply]:
        """/start: the greeting; with an invite code, an enrolled person joins that team too."""
        if args:
            team = await self.staff.join(who.person.user_id, who.person.name, args, now)
            if team is None:
                return [Reply(t("invite_bad", who.lang))]
            joined = await self.store.person(who.person.user_id)
            who = Who(self._effective(joined), who.lang) if joined else who
            return [Reply(t("joined", who.lang, team=team)), *await self.greet(who, "", now)]
        text = t("greeting", who.lang, name=who.person.name)
        return [Reply(text + "\n\n" + self._help_text(who))]

    async def help(self, who: Who, args: str, now: datetime) -> list[Reply]:
        return [Reply(self._help_text(who))]

    def _help_text(self, who: Who) -> str:
        parts = [t("help", who.lang)]
        if who.has(Role.SUPERVISOR):
            parts.append(t("help_supervisor", who.lang))
        if who.admin:
            parts.append(t("help_admin", who.lang))
        return "\n\n".join(parts)

    async def set_lang(self, who: Who, args: str, now: datetime) -> list[Reply]:
        choice = args.strip().lower()
        if choice == "auto":  # back to the language of each message
            await self.store.set_lang(who.person.user_id, None)
            return [Reply(t("lang_auto", who.lang))]
        lang = LANG_CHOICES.get(choice)
        if lang is None:
            return [Reply(t("lang_usage", who.lang))]
        await self.store.set_lang(who.person.user_id, lang)
        return [Reply(t("lang_set", lang))]

    async def leave(self, who: Who, args: str, now: datetime) -> list[Reply]:
        return [Reply(t("leave_confirm", who.lang),
                      buttons=((Button(t("leave_yes", who.lang), "leave:yes"),),))]

    async def leave_confirmed(self, who: Who, rest: str, now: datetime) -> list[Reply]:
        if rest != "yes":
            return [Reply(t("stale_button", who.lang))]
        await self.store.audit(who.person.user_id, "leave", "", now)
        await self.store.erase_person(who.person.user_id)
        return [Reply("", edit=True), Reply(t("left", who.lang))]

    async def reload(self, who: Who, args: str, now: datetime) -> list[Reply]:
        """Re-read the knowledge base; a broken set keeps the old cards serving."""
        cards, problems = check(self.settings.knowledge)
        if problems:
            shown = "\n".join(str(p) for p in problems[:15])
            more = f"\n… +{len(problems) - 15}" if len(problems) > 15 else ""
            await self.store.audit(who.person.user_id, "reload.failed", f"{len(problems)}", now)
            return [Reply(t("reload_failed", who.lang, problems=shown + more))]
        await self.store.bump_knowledge()  # every instance re-reads them at its minute tick
        await self.learning.refresh(cards)
        await self.training.sync_versions(now)
        await self.store.audit(who.person.user_id, "reload", f"cards={len(cards)}", now)
        return [Reply(t("reloaded", who.lang, n=len(cards)))]


def _group_ok(command: str | None, callback: str | None) -> bool:
    if callback is not None:
        return callback.partition(":")[0] in GROUP_BUTTONS
    return command in GROUP_COMMANDS


def _split_command(text: str) -> tuple[str | None, str]:
    """("start", "CODE") for "/start@CoachBot CODE"; (None, text) for plain text."""
    if not text.startswith("/") or len(text) < 2:
        return None, text
    head, _, args = text[1:].partition(" ")
    return head.split("@")[0].lower(), args.strip()


def _lang_for(person: Person | None, text: str, hint: str | None) -> Lang:
    """A chosen language wins; otherwise the language of the message, then the last one used."""
    if person is not None and person.lang is not None:
        return person.lang
    last = person.last_lang if person is not None else None
    if text and not text.startswith("/"):
        if has_cjk(text):
            return _script(text, last)
        if any(c.isalpha() for c in text):
            return Lang.EN
    if last is not None:
        return last
    hint = (hint or "").lower()
    if not hint.startswith("zh"):
        return Lang.EN if hint else Lang.ZH
    return LANG_CHOICES.get(hint, Lang.HANT if hint.endswith(("hant", "mo")) else Lang.ZH)


def _script(text: str, last: Lang | None) -> Lang:
    """Chinese in the script it is written in: traditional is the Hong Kong form unless
    the person last used the Taiwan one; a text the same in both scripts keeps the last."""
    if is_traditional(text):
        return last if last in (Lang.HANT, Lang.TW) else Lang.HANT
    if is_simplified(text) or last is None or last is Lang.EN:
        return Lang.ZH
    return last
