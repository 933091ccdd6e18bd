"""Enrolment, teams, roles and supervisor summaries: who may see what, and the reports.

Administrators (COACH_ADMINS) manage teams and invites; a supervisor sees only the
teams they supervise; staff see only themselves.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from bot.config import Settings
from bot.i18n import t
from bot.knowledge import KnowledgeBase
from bot.models import Button, Lang, Push, Reply, ReplyKind, Role, Who
from bot.privacy import mask
from bot.reports import (
    PersonActivity,
    TeamSummary,
    TopicAccuracy,
    chart_png,
    find_cjk_font,
    pct,
    render_text,
    to_csv,
)
from bot.schedule import Status, is_working_day, local_at
from bot.store import Store
from bot.text import number
from bot.training import Training

INVITE_DAYS = 7
PERIODS = {"7d": 7, "30d": 30, "90d": 90}
TEAM_RE = re.compile(r"^[\w\-.*]{1,40}$")  # "*": a customer number typed as a name is masked
WEEKLY_AT = time(9, 0)


class Staffing:
    """People, teams and reports for the assistant."""

    def __init__(self, settings: Settings, store: Store, kb: Callable[[], KnowledgeBase],
                 training: Training, outbox: list[Push]) -> None:
        self.settings = settings
        self.store = store
        self.kb = kb
        self.training = training
        self.outbox = outbox  # messages to other people, sent by the adapter

    # --- access -------------------------------------------------------------------------

    async def visible_teams(self, actor: Who) -> list[str]:
        if actor.admin:
            return await self.store.teams()
        return sorted(actor.person.supervises)

    async def resolve_teams(self, actor: Who, name: str | None) -> tuple[list[str], str | None]:
        """Teams a request covers, or an error message (unknown team, not theirs)."""
        visible = await self.visible_teams(actor)
        if name is None:
            return visible, None if visible else t("no_teams", actor.lang)
        team = await self.store.team(name)
        if team is None:
            return [], t("no_such_team", actor.lang, team=name[:40])
        if not actor.admin and team.lower() not in {v.lower() for v in visible}:
            return [], t("not_your_team", actor.lang, team=team)
        return [team], None

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
        text = t("whoami", lang, name=p.name, id=p.user_id, roles=roles, team=p.team or "-",
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

    async def people_cmd(self, actor: Who, args: str, now: datetime) -> list[Reply]:
        rows = []
        for p in await self.store.people():
            roles = ",".join(sorted(r.value for r in p.roles))
            sup = f" ⭑{','.join(sorted(p.supervises))}" if p.supervises else ""
            rows.append(f"{p.user_id} {p.name} [{p.team or '-'}] {roles}{sup}")
        return [Reply("\n".join(rows) or t("sum_nobody", actor.lang))]

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
        target = args.strip()
        user = number(target)
        if user is None:
            return [Reply(t("remove_usage", actor.lang))]
        if user == actor.person.user_id:
            return [Reply(t("remove_self", actor.lang))]
        if not await self.store.erase_person(user):
            return [Reply(t("no_such_person", actor.lang, id=user))]
        await self.store.audit(actor.person.user_id, "remove", f"user={user}", now)
        return [Reply(t("removed", actor.lang, id=user))]

    # --- supervisors -----------------------------------------------------------------------

    async def summary(self, team: str, days: int, now: datetime) -> TeamSummary:
        """The numbers behind /summary, for one team over the last `days` days."""
        tz = self.settings.timezone
        today = now.astimezone(tz).date()
        start = today - timedelta(days=days - 1)
        since = local_at(start, time(0), tz)
        members = [p for p in await self.store.people(team) if Role.STAFF in p.roles]
        ids = [p.user_id for p in members]
        drills = await self.store.completed_drills(ids, since)
        counts = await self.store.answer_counts(ids, since)
        last = await self.store.last_active(ids)
        cards = self.kb().cards
        people = []
        for p in members:
            days_done = {d.astimezone(tz).date() for u, d in drills if u == p.user_id}
            mine = [c for c in counts if c[0] == p.user_id]
            statuses = await self.training.statuses(p.user_id, now)
            enrolled = await self._enrolled(p.user_id, start)
            expected = await self._expected_days(p.user_id, max(start, enrolled), today,
                                                 today in days_done)
            people.append(PersonActivity(
                person=p, drill_days=len(days_done), expected_days=expected,
                drills=sum(1 for u, _ in drills if u == p.user_id),
                answers=sum(c[2] for c in mine), correct=sum(c[3] for c in mine),
                due=sum(s.status is Status.DUE for s in statuses.values()),
                overdue=sum(s.status is Status.OVERDUE for s in statuses.values()),
                last_active=last.get(p.user_id)))
        per_card: dict[str, tuple[int, int]] = {}
        for _, card_id, n, ok in counts:
            a, b = per_card.get(card_id, (0, 0))
            per_card[card_id] = (a + n, b + ok)
        topics = tuple(TopicAccuracy(cid, cards[cid].title, cards[cid].section, n, ok)
                       for cid, (n, ok) in per_card.items() if cid in cards)
        gaps = await self.store.gaps(since, ids, limit=10) if ids else []
        return TeamSummary(team, days, start, today, tuple(people), topics, tuple(gaps))

    async def _enrolled(self, user_id: int, fallback: date) -> date:
        person = await self.store.enrolled_at(user_id)
        return person.astimezone(self.settings.timezone).date() if person else fallback

    async def _expected_days(self, user_id: int, start: date, today: date, done_today: bool) -> int:
        """Working days from `start` to yesterday, today too once drilled; paused days excluded."""
        paused = await self.store.paused_days(user_id)
        count = 0
        day = start
        while day <= today:
            if (day < today or done_today) and is_working_day(day) and not any(
                    a <= day <= b for a, b in paused):
                count += 1
            day += timedelta(days=1)
        return count

    async def summary_cmd(self, actor: Who, args: str, now: datetime) -> list[Reply]:
        parsed = _team_and_period(args)
        if parsed is None:
            return [Reply(t("summary_usage", actor.lang))]
        name, days = parsed
        teams, error = await self.resolve_teams(actor, name)
        if error:
            return [Reply(error)]
        replies = []
        font = find_cjk_font(self.settings.chart_font)
        for team in teams:
            s = await self.summary(team, days, now)
            replies.append(Reply(render_text(s, actor.lang, self.settings.timezone)))
            png, _ = await asyncio.to_thread(chart_png, s, actor.lang, font)
            replies.append(Reply(t("chart_caption", actor.lang, team=team),
                                 kind=ReplyKind.PHOTO, data=png, filename=f"{team}.png"))
        await self.store.audit(actor.person.user_id, "report.summary",
                               f"teams={','.join(teams)} days={days}", now)
        return replies

    async def export_csv(self, teams: list[str], now: datetime) -> bytes:
        """One row per person × topic: status, last passed, version, accuracy."""
        tz = self.settings.timezone
        cards = self.kb().cards
        header = ["team", "person", "user_id", "topic", "title", "section", "status",
                  "last_passed", "passed_version", "current_version", "answers", "accuracy"]
        rows: list[list[object]] = []
        for team in teams:
            members = [p for p in await self.store.people(team) if Role.STAFF in p.roles]
            states = await self.store.topic_states_of([p.user_id for p in members])
            for p in members:
                statuses = await self.training.statuses(p.user_id, now)
                for card_id, card in cards.items():
                    st = states[p.user_id].get(card_id)
                    passed = (st.last_pass_at.astimezone(tz).date().isoformat()
                              if st and st.last_pass_at else "")
                    rows.append([team, p.name, p.user_id, card_id, card.title.zh, card.section,
                                 statuses[card_id].status.value, passed,
                                 st.last_pass_version if st and st.last_pass_version else "",
                                 card.version, st.answers if st else 0,
                                 pct(st.correct / st.answers) if st and st.answers else ""])
        return to_csv(header, rows)

    async def export_cmd(self, actor: Who, args: str, now: datetime) -> list[Reply]:
        name = args.split()[0] if args.split() else None
        teams, error = await self.resolve_teams(actor, name)
        if error:
            return [Reply(error)]
        data = await self.export_csv(teams, now)
        await self.store.audit(actor.person.user_id, "report.export", f"teams={','.join(teams)}", now)
        day = now.astimezone(self.settings.timezone).date().isoformat()
        filename = f"coach-{name or 'all'}-{day}.csv"
        return [Reply(t("export_caption", actor.lang), kind=ReplyKind.FILE, data=data,
                      filename=filename)]

    async def nudge(self, actor: Who, args: str, now: datetime) -> list[Reply]:
        name = args.split()[0] if args.split() else None
        teams, error = await self.resolve_teams(actor, name)
        if error:
            return [Reply(error)]
        pushes = []
        for team in teams:
            for p in await self.store.people(team):
                if not p.active or Role.STAFF not in p.roles:
                    continue
                due = await self.training.due_list(p.user_id, now)
                overdue = [s for s in due if s.status is Status.OVERDUE]
                if overdue:
                    lang = p.lang or p.last_lang or Lang.ZH
                    pushes.append(Push(p.user_id, Reply(
                        t("nudge", lang, n=len(overdue)),
                        buttons=((Button(t("invite_button", lang), "drill:start"),),))))
        await self.store.audit(actor.person.user_id, "nudge",
                               f"teams={','.join(teams)} people={len(pushes)}", now)
        self.outbox.extend(pushes)
        return [Reply(t("nudged", actor.lang, n=len(pushes)))]

    async def weekly(self, now: datetime) -> list[Push]:
        """Each supervisor's weekly summary, once per ISO week, from Monday 09:00."""
        local = now.astimezone(self.settings.timezone)
        monday = local.date() - timedelta(days=local.weekday())
        if local < local_at(monday, WEEKLY_AT, self.settings.timezone):
            return []
        week = f"{local.isocalendar().year}-W{local.isocalendar().week:02d}"
        pushes = []
        for p in await self.store.people():
            if not p.active or not p.supervises:
                continue
            if not await self.store.claim_push(p.user_id, "weekly", week, now):
                continue
            lang = p.lang or p.last_lang or Lang.ZH
            for team in sorted(p.supervises):
                s = await self.summary(team, 7, now)
                pushes.append(Push(p.user_id, Reply(render_text(s, lang, self.settings.timezone)),
                                   key=f"weekly:{week}:{team}"))
            await self.store.audit(p.user_id, "report.weekly", f"week={week}", now)
        return pushes


def _team_and_period(args: str) -> tuple[str | None, int] | None:
    """("A", 30) from "A 30d"; None when an argument makes no sense."""
    team, days = None, 7
    for part in args.split():
        if re.fullmatch(r"\d+d", part.lower()):
            if part.lower() not in PERIODS:
                return None
            days = PERIODS[part.lower()]
        elif team is None:
            team = part
        else:
            return None
    return team, days
