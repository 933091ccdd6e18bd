"""What supervisors see: which teams, summaries, exports, item analytics, nudges, the weekly push.

A supervisor sees only the teams they supervise; administrators see every team.
`Staffing` (people and teams) builds on this.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from bot.chart import chart_png, find_cjk_font
from bot.config import Settings
from bot.i18n import columns, section_name, t
from bot.items import item_stats, items_table, render_items
from bot.knowledge import KnowledgeBase
from bot.models import Button, Lang, Push, Reply, ReplyKind, Role, Who
from bot.reports import (
    PersonActivity,
    TeamSummary,
    TopicAccuracy,
    pct,
    people_table,
    render_text,
    to_csv,
)
from bot.schedule import Status, is_working_day, local_at
from bot.store import Store
from bot.training import Training

PERIODS = {"7d": 7, "30d": 30, "90d": 90}
# What a person may mean as a period ("30", "1y", "30天", "3个月"): answered with the
# periods there are, not "no team 1y" (unless a team has that name).
PERIOD_LIKE = re.compile(r"\d+\s*(d|days?|w|wks?|weeks?|m|mo|months?|y|yrs?|years?"
                         r"|天|日|周|星期|个月|月|年)?", re.IGNORECASE)
EXPORT_DAYS = 30  # the per-person completion table covers a month unless told otherwise
WEEKLY_AT = time(9, 0)
TOPIC_COLUMNS = ("team", "person", "user_id", "topic", "title", "section", "status",
                 "last_passed", "passed_version", "current_version", "answers", "accuracy")


class Supervising:
    """Reports on teams; mixed into `Staffing`, which sets these attributes."""

    settings: Settings
    store: Store
    kb: Callable[[], KnowledgeBase]
    training: Training

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

    async def team_and_period(self, args: str, lang: Lang, usage: str, days: int = 7
                              ) -> tuple[str | None, int] | Reply:
        """("A", 30) from "A 30d" or "30d A"; else the message to answer with."""
        team, period = None, None
        for part in args.split():
            if part.lower() in PERIODS and period is None:
                period = PERIODS[part.lower()]
            elif team is None and not (PERIOD_LIKE.fullmatch(part)
                                       and await self.store.team(part) is None):
                team = part
            else:
                bad = PERIOD_LIKE.fullmatch(part) and part.lower() not in PERIODS
                return Reply(t("period_bad" if bad else usage, lang))
        return team, period or days

    async def request(self, actor: Who, args: str, usage: str, days: int = 7
                      ) -> tuple[str | None, list[str], int] | Reply:
        """The team named, the teams a report covers and its period; else the reply."""
        parsed = await self.team_and_period(args, actor.lang, usage, days)
        if isinstance(parsed, Reply):
            return parsed
        name, days = parsed
        teams, error = await self.resolve_teams(actor, name)
        return Reply(error) if error else (name, teams, days)

    def span(self, days: int, now: datetime) -> tuple[date, date, datetime]:
        """First and last day of a period ending today, and its first moment."""
        today = now.astimezone(self.settings.timezone).date()
        start = today - timedelta(days=days - 1)
        return start, today, local_at(start, time(0), self.settings.timezone)

    async def members(self, team: str) -> list[int]:
        return [p.user_id for p in await self.store.people(team) if Role.STAFF in p.roles]

    # --- summaries ----------------------------------------------------------------------

    async def summary(self, team: str, days: int, now: datetime) -> TeamSummary:
        """The numbers behind /summary, for one team over the last `days` days."""
        tz = self.settings.timezone
        start, today, since = self.span(days, now)
        members = [p for p in await self.store.people(team) if Role.STAFF in p.roles]
        ids = [p.user_id for p in members]
        drills = await self.store.completed_drills(ids, since)
        counts = await self.store.answer_counts(ids, since)
        last = await self.store.last_active(ids)
        cards = self.kb().cards
        finished: dict[int, list[datetime]] = defaultdict(list)  # grouped once: a big team
        for u, d in drills:  # has thousands of drills
            finished[u].append(d)
        answered: dict[int, list[tuple[int, str, int, int]]] = defaultdict(list)
        for c in counts:
            answered[c[0]].append(c)
        people = []
        for p in members:
            days_done = {d.astimezone(tz).date() for d in finished[p.user_id]}
            mine = answered[p.user_id]
            statuses = await self.training.statuses(p.user_id, now)
            enrolled = await self._enrolled(p.user_id, start)
            expected = await self._expected_days(p.user_id, max(start, enrolled), today,
                                                 today in days_done)
            people.append(PersonActivity(
                person=p, drill_days=len(days_done), expected_days=expected,
                drills=len(finished[p.user_id]),
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
        asked = await self.request(actor, args, "summary_usage")
        if isinstance(asked, Reply):
            return [asked]
        _, teams, days = asked
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

    # --- exports ------------------------------------------------------------------------

    async def export_csv(self, teams: list[str], now: datetime, lang: Lang) -> bytes:
        """One row per person × topic: status, last passed, version, accuracy."""
        tz = self.settings.timezone
        cards = self.kb().cards
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
                    rows.append([team, p.name, p.user_id, card_id, card.title.get(lang),
                                 section_name(card.section, lang),
                                 t(f"status_{statuses[card_id].status.value}", lang), passed,
                                 st.last_pass_version if st and st.last_pass_version else "",
                                 card.version, st.answers if st else 0,
                                 pct(st.correct / st.answers) if st and st.answers else ""])
        return to_csv(columns(TOPIC_COLUMNS, lang), rows)

    async def people_csv(self, teams: list[str], days: int, now: datetime, lang: Lang) -> bytes:
        """Completion per person over the period, with each team's total."""
        summaries = [await self.summary(team, days, now) for team in teams]
        return people_table(summaries, lang, self.settings.timezone)

    async def export_cmd(self, actor: Who, args: str, now: datetime) -> list[Reply]:
        """Two files: each person's topics now, and completion per person over the period."""
        asked = await self.request(actor, args, "export_usage", EXPORT_DAYS)
        if isinstance(asked, Reply):
            return [asked]
        name, teams, days = asked
        lang = actor.lang
        topics = await self.export_csv(teams, now, lang)
        people = await self.people_csv(teams, days, now, lang)
        await self.store.audit(actor.person.user_id, "report.export",
                               f"teams={','.join(teams)}", now)
        start, day, _ = self.span(days, now)
        stem = f"coach-{name or 'all'}-{day.isoformat()}"
        return [Reply(t("export_caption", lang), kind=ReplyKind.FILE, data=topics,
                      filename=f"{stem}.csv"),
                Reply(t("export_people_caption", lang, start=start.isoformat(),
                        end=day.isoformat()),
                      kind=ReplyKind.FILE, data=people, filename=f"{stem}-people-{days}d.csv")]

    async def items_report(self, teams: list[str] | None, days: int, now: datetime,
                           lang: Lang) -> tuple[str, bytes]:
        """Item analytics as chat text and CSV, over the teams' members (None: everyone)."""
        start, today, since = self.span(days, now)
        ids = None if teams is None else [u for team in teams for u in await self.members(team)]
        kb = self.kb()
        stats = item_stats(await self.store.choice_counts(ids, since), kb.items, kb.cards)
        label = t("items_all", lang) if teams is None else ", ".join(teams)
        return render_items(stats, label, start, today, lang), items_table(stats, lang)

    async def items_cmd(self, actor: Who, args: str, now: datetime) -> list[Reply]:
        """/items [TEAM] [period]; an administrator without a team: every answer."""
        parsed = await self.team_and_period(args, actor.lang, "items_usage")
        if isinstance(parsed, Reply):
            return [parsed]
        name, days = parsed
        teams: list[str] | None = None
        if name is not None or not actor.admin:
            teams, error = await self.resolve_teams(actor, name)
            if error:
                return [Reply(error)]
        text, table = await self.items_report(teams, days, now, actor.lang)
        scope = "*" if teams is None else ",".join(teams)
        await self.store.audit(actor.person.user_id, "report.items",
                               f"teams={scope} days={days}", now)
        day = now.astimezone(self.settings.timezone).date().isoformat()
        return [Reply(text), Reply(t("items_caption", actor.lang), kind=ReplyKind.FILE, data=table,
                                   filename=f"coach-items-{name or 'all'}-{day}-{days}d.csv")]

    # --- reminders ------------------------------------------------------------------------

    async def nudge(self, actor: Who, args: str, now: datetime) -> list[Reply]:
        """Remind people with overdue topics; each at most once a day, whoever asks."""
        name = args.split()[0] if args.split() else None
        teams, error = await self.resolve_teams(actor, name)
        if error:
            return [Reply(error)]
        overdue: dict[int, tuple[Lang, int]] = {}
        for team in teams:
            for p in await self.store.people(team):
                if not p.active or Role.STAFF not in p.roles:
                    continue
                due = await self.training.due_list(p.user_id, now)
                late = sum(s.status is Status.OVERDUE for s in due)
                if late:
                    overdue[p.user_id] = (p.lang or p.last_lang or Lang.ZH, late)
        day = now.astimezone(self.settings.timezone).date().isoformat()
        pushes = [Push(user_id, Reply(t("nudge", lang, n=late), buttons=(
            (Button(t("invite_button", lang), "drill:start"),),)), key=f"nudge:{day}")
            for user_id, (lang, late) in overdue.items()]
        fresh = await self.store.queue_pushes(pushes, "nudge", day, now) if pushes else []
        await self.store.audit(actor.person.user_id, "nudge",
                               f"teams={','.join(teams)} people={len(fresh)}", now)
        text = t("nudged", actor.lang, n=len(fresh))
        if len(overdue) > len(fresh):
            text += "\n" + t("nudged_before", actor.lang, n=len(overdue) - len(fresh))
        return [Reply(text)]

    async def weekly(self, now: datetime) -> list[Push]:
        """Queue each supervisor's weekly summary, once per ISO week across every instance,
        from Monday 09:00; the pushes queued."""
        local = now.astimezone(self.settings.timezone)
        monday = local.date() - timedelta(days=local.weekday())
        if local < local_at(monday, WEEKLY_AT, self.settings.timezone):
            return []
        week = f"{local.isocalendar().year}-W{local.isocalendar().week:02d}"
        sent = await self.store.claimed("weekly", week)  # no summaries made for nothing
        queued = []
        for p in await self.store.people():
            if not p.active or not p.supervises or p.user_id in sent:
                continue
            lang = p.lang or p.last_lang or Lang.ZH
            pushes = [Push(p.user_id, Reply(render_text(await self.summary(team, 7, now), lang,
                                                        self.settings.timezone)),
                           key=f"weekly:{week}:{team}") for team in sorted(p.supervises)]
            # claimed and queued together: another instance may have been quicker
            if mine := await self.store.queue_pushes(pushes, "weekly", week, now):
                queued += mine
                await self.store.audit(p.user_id, "report.weekly", f"week={week}", now)
        return queued
