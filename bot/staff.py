"""Enrolment, teams and people: what administrators manage.

Administrators (COACH_ADMINS) manage teams and invites; what supervisors see of their
teams (summaries, exports, nudges) is in `supervision`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.config import Settings
from bot.i18n import t
from bot.knowledge import KnowledgeBase
from bot.models import Button, Reply, Role, Who
from bot.privacy import mask
from bot.store import Store
from bot.supervision import Supervising
from bot.text import number
from bot.training import Training

INVITE_DAYS = 7
TEAM_RE = re.compile(r"^[\w\-.*]{1,40}$")  # "*": a customer number typed as a name is masked


class Staffing(Supervising):
    """People, teams and (from `Supervising`) reports for the assistant."""

    def __init__(self, settings: Settings, store: Store, kb: Callable[[], KnowledgeBase],
                 training: Training) -> None:
        self.settings = settings
        self.store = store
        self.kb = kb
        self.training = training

    # --- enrolment ----------------------------------------------------------------------

    async def join(self, user_id: int, name: str, code: str, now: datetime) -> str | None:
        team = await self.store.use_invite(code.strip()[:40], user_id, name or str(user_id), now)
        if team is not None:
            await self.store.audit(user_id, "enrol", f"team={team}", now)
        return team

    async def whoami(self, actor: Who, args: str, now: datetime) -> list[Reply]:
        p, lang = actor.person, actor.lang
        roles = ", ".join(sorted(r.value for r in p.roles))
        paused = p.paused_until.isoformat() if p.paused_until else "-"
        text = t("whoami", lang, name=p.name, id=p.user_id, staff_no=p.staff_no or "-",
                 roles=roles, team=p.team or "-",
                 supervises=", ".join(sorted(p.supervises)) or "-",
                 lang_set=(p.lang.value if p.lang else "auto"), remind=p.remind_at or "off",
                 paused=paused)
        return [Reply(text)]

    # --- administrators -----------------------------------------------------------------------

    async def team_cmd(self, actor: Who, args: str, now: datetime) -> list[Reply]:
        parts = args.split()
        if not parts or parts[0].lower() == "list":
            teams = await self.store.teams()
            return [Reply(t("teams_list", actor.lang, teams=", ".join(teams) or "-"))]
        name = mask(parts[1]) if len(parts) == 2 else ""  # stored, audited and shown masked
        if parts[0].lower() != "add" or not TEAM_RE.match(name):
            return [Reply(t("team_usage", actor.lang))]
        if not await self.store.add_team(name, now):
            return [Reply(t("team_exists", actor.lang, team=name))]
        await self.store.audit(actor.person.user_id, "team.add", name, now)
        return [Reply(t("team_added", actor.lang, team=name))]

    async def invite(self, actor: Who, args: str, now: datetime) -> list[Reply]:
        parts = args.split()
        if len(parts) != 2 or parts[1].lower() not in ("staff", "supervisor"):
            return [Reply(t("invite_usage", actor.lang))]
        team = await self.store.team(mask(parts[0]))
        if team is None:
            return [Reply(t("no_such_team", actor.lang, team=mask(parts[0])[:40]))]
        role = Role(parts[1].lower())
        code = secrets.token_urlsafe(9)
        expires = now + timedelta(days=INVITE_DAYS)
        await self.store.create_invite(code, team, role, actor.person.user_id, now, expires)
        await self.store.audit(actor.person.user_id, "invite", f"team={team} role={role.value}", now)
        until = expires.astimezone(self.settings.timezone).date().isoformat()
        return [Reply(t("invite_made", actor.lang, code=code, team=team, role=role.value,
                        until=until))]

    async def move(self, actor: Who, args: str, now: datetime) -> list[Reply]:
        parts = args.split()
        user = number(parts[0]) if len(parts) == 2 else None
        if user is None:
            return [Reply(t("move_usage", actor.lang))]
        team = await self.store.team(mask(parts[1]))
        if team is None:
            return [Reply(t("no_such_team", actor.lang, team=mask(parts[1])[:40]))]
        if not await self.store.set_team(user, team):
            return [Reply(t("no_such_person", actor.lang, id=user))]
        await self.store.audit(actor.person.user_id, "move", f"user={user} team={team}", now)
        return [Reply(t("moved", actor.lang, id=user, team=team))]

    async def remove(self, actor: Who, args: str, now: datetime) -> list[Reply]:
        """/remove USER_ID: who that is, and a button to confirm (erasing cannot be undone)."""
        user = number(args.strip())
        if user is None:
            return [Reply(t("remove_usage", actor.lang))]
        if user == actor.person.user_id:
            return [Reply(t("remove_self", actor.lang))]
        person = await self.store.person(user)
        if person is None:
            return [Reply(t("no_such_person", actor.lang, id=user))]
        return [Reply(t("remove_confirm", actor.lang, name=person.name, id=user,
                        team=person.team or "-"),
                      buttons=((Button(t("remove_yes", actor.lang), f"rm:{user}"),),))]

    async def remove_confirmed(self, actor: Who, target: str, now: datetime) -> list[Reply]:
        """The confirm button of /remove; a button is no proof of rights, so check again."""
        if not actor.admin:
            return [Reply(t("not_allowed", actor.lang))]
        user = number(target)
        if user is None or user == actor.person.user_id:
            return [Reply(t("stale_button", actor.lang))]
        if not await self.store.erase_person(user):
            return [Reply("", edit=True), Reply(t("no_such_person", actor.lang, id=user))]
        await self.store.audit(actor.person.user_id, "remove", f"user={user}", now)
        return [Reply("", edit=True), Reply(t("removed", actor.lang, id=user))]
