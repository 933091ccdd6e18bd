"""The drill dialogue and the retraining commands: /drill, /due, /progress, /remind, /pause.

Dialogue state (which drill, which question, option order) lives in the store, so
a drill survives a restart and works the same in every adapter.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from bot.config import Settings
from bot.drills import choose, shuffled_options
from bot.i18n import section_name, t, weekday
from bot.knowledge import KnowledgeBase
from bot.models import SECTIONS, Button, Drill, DrillItem, Lang, Push, Reply, Who
from bot.schedule import (
    Status,
    TopicStatus,
    after_answer,
    is_working_day,
    local_at,
    topic_status,
)
from bot.store import Press, Store
from bot.text import number
from bot.xapi import Statements

RECENT_DAYS = 14
LAST_INVITE = time(18, 0)  # a missed invitation still goes out until this local time
LATE_GRACE = timedelta(hours=1)  # for a reminder set at or after 18:00
MAX_POSITION = 100  # a drill has at most 10 questions; a larger position is forged
PRESSED = {Press.ALREADY: "drill_already", Press.ENDED: "drill_ended", Press.STALE: "stale_button"}


class Training:
    """Micro-drills and the retraining schedule for one knowledge base at a time."""

    def __init__(self, settings: Settings, store: Store, kb: Callable[[], KnowledgeBase],
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.store = store
        self.kb = kb
        self.rng = rng or random.Random()
        self.version_since: dict[str, datetime] = {}
        # xAPI on: each answer's statements are made and queued as it is stored
        self.report = Statements(settings.xapi_homepage, self.retrain_days) if settings.xapi else None

    async def sync_versions(self, now: datetime) -> None:
        """Note card versions (a bump makes the topic due for everyone who passed it)."""
        versions = {c.id: c.version for c in self.kb().cards.values()}
        self.version_since = await self.store.sync_card_versions(versions, now)

    def today(self, now: datetime) -> date:
        return now.astimezone(self.settings.timezone).date()

    async def statuses(self, user_id: int, now: datetime) -> dict[str, TopicStatus]:
        states = await self.store.topic_states(user_id)
        return {
            c.id: topic_status(c, states.get(c.id), self.version_since.get(c.id), now,
                               self.settings.grace_days)
            for c in self.kb().cards.values()
        }

    # --- drills ---------------------------------------------------------------------

    async def drill(self, who: Who, args: str, now: datetime) -> list[Reply]:
        """Resume today's unfinished drill, or start a new one."""
        history = await self.store.drill_history(who.person.user_id,
                                                 now - timedelta(days=RECENT_DAYS))
        current = history.open
        if current is not None and self.today(current.started_at) == self.today(now):
            return [Reply(t("drill_resume", who.lang)), self.question(current, who.lang)]
        kb = self.kb()
        statuses = await self.statuses(who.person.user_id, now)
        items = choose(list(kb.cards.values()), statuses, history.spaced, history.recent, now,
                       self.settings.drill_size, self.rng)
        if not items:
            return [Reply(t("drill_empty", who.lang))]
        drill = await self.store.start_drill(
            who.person.user_id, now, [(i.id, shuffled_options(i, self.rng)) for i in items])
        return [self.question(drill, who.lang)]

    def question(self, drill: Drill, lang: Lang) -> Reply:
        item_id, order = drill.items[drill.position]
        item = self.kb().items.get(item_id)
        title = t("drill_title", lang, n=drill.position + 1, total=len(drill.items))
        if item is None:  # removed by a reload; the drill cannot go on
            return Reply(t("drill_ended", lang), title=title)
        buttons = []
        for option_id in order:
            option = item.option(option_id)
            if option is not None:
                payload = f"a:{drill.id}:{drill.position}:{option_id}"
                buttons.append((Button(option.text.get(lang), payload),))
        return Reply(item.question.get(lang), title=title, buttons=tuple(buttons))

    async def answer(self, who: Who, payload: str, now: datetime) -> list[Reply]:
        """A pressed option `DRILL:POSITION:OPTION`: record first, then reply."""
        parts = payload.split(":")
        drill_id = number(parts[0]) if len(parts) == 3 else None
        position = number(parts[1], MAX_POSITION) if len(parts) == 3 else None
        if drill_id is None or position is None:
            return [Reply(t("stale_button", who.lang))]
        chosen = parts[2]
        pressed = await self.store.answer_drill(who.person.user_id, drill_id, position,
                                                chosen, now, self.lookup, after_answer,
                                                self.report)
        if pressed.press is not Press.STORED:
            return [Reply(t(PRESSED[pressed.press], who.lang))]
        drill, item, right, lang = pressed.drill, pressed.item, pressed.correct, who.lang
        assert drill is not None and item is not None
        picked = item.option(chosen)
        assert picked is not None
        verdict = t("drill_right", lang) if right else t(
            "drill_wrong", lang, answer=item.correct.text.get(lang))
        # The pressed question becomes its feedback: the choice, right or wrong, why, and
        # a way to the card; its option buttons are gone, so it cannot be answered twice.
        feedback = Reply(
            f"{item.question.get(lang)}\n\n{t('you_chose', lang, choice=picked.text.get(lang))}"
            f" {'✅' if right else '❌'}\n\n{verdict}\n{item.explain.get(lang)}",
            title=t("drill_title", lang, n=position + 1, total=len(drill.items)),
            buttons=((Button(t("drill_open_card", lang), f"card:{item.card_id}"),),), edit=True)
        if not drill.done:
            return [feedback, self.question(drill, lang)]
        return [feedback, await self.finish(who, drill, now)]

    def lookup(self, item_id: str) -> tuple[DrillItem, int] | None:
        """A drill item and its card's version, if the current cards still have them."""
        kb = self.kb()
        item = kb.items.get(item_id)
        card = kb.cards.get(item.card_id) if item else None
        return (item, card.version) if item and card else None

    def retrain_days(self, card_id: str) -> int:
        card = self.kb().cards.get(card_id)
        return card.retrain_days if card else 365

    async def finish(self, who: Who, drill: Drill, now: datetime) -> Reply:
        lang = who.lang
        score = f"{drill.correct}/{len(drill.items)}"
        statuses = await self.statuses(who.person.user_id, now)
        due = await self.due_list(who.person.user_id, now, statuses)
        cards = self.kb().cards
        new = sum(s.status is Status.NEW for s in statuses.values())
        if due:
            titles = "、".join if lang.base is Lang.ZH else ", ".join
            nxt = t("drill_next_due", lang, titles=titles(cards[s.card.id].title.get(lang) for s in due[:3]))
        elif new:  # "nothing due" alone would read as "all learned"
            nxt = t("drill_new_left", lang, new=new)
        else:
            nxt = t("drill_all_current", lang)
        return Reply(f"{t('drill_score', lang, score=score)}\n{nxt}")

    # --- schedule views ------------------------------------------------------------

    async def due_list(self, user_id: int, now: datetime,
                       statuses: dict[str, TopicStatus] | None = None) -> list[TopicStatus]:
        """Due and overdue topics, soonest first (`statuses` when already computed)."""
        statuses = statuses if statuses is not None else await self.statuses(user_id, now)
        due = [s for s in statuses.values() if s.status in (Status.DUE, Status.OVERDUE)]
        return sorted(due, key=lambda s: s.due_at or now)

    async def due(self, who: Who, args: str, now: datetime) -> list[Reply]:
        lang = who.lang
        statuses = await self.statuses(who.person.user_id, now)
        new = sum(s.status is Status.NEW for s in statuses.values())
        due = await self.due_list(who.person.user_id, now, statuses)
        if not due:
            return [Reply(t("due_none", lang, new=new))]
        lines = [t("due_head", lang)]
        for s in due:
            overdue = s.status is Status.OVERDUE
            since = self.today(s.due_at or now).isoformat()
            lines.append(t("due_line", lang, mark="⚠️" if overdue else "•",
                           title=s.card.title.get(lang),
                           status=t("status_overdue" if overdue else "status_due", lang),
                           since=since))
        if new:
            lines.append(t("due_new", lang, new=new))
        return [Reply("\n".join(lines), buttons=((Button(t("invite_button", lang), "drill:start"),),))]

    async def progress(self, who: Who, args: str, now: datetime) -> list[Reply]:
        lang = who.lang
        answers = await self.store.answers(who.person.user_id)
        if not answers:
            return [Reply(t("progress_none", lang))]
        cards = self.kb().cards
        per_section: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for a in answers:
            card = cards.get(a.card_id)
            if card is not None:
                per_section[card.section][0] += a.correct
                per_section[card.section][1] += 1
        epoch = datetime.fromtimestamp(0, UTC)
        drills = len(await self.store.completed_drills([who.person.user_id], epoch))
        right = sum(a.correct for a in answers)
        days = {self.today(a.answered_at) for a in answers}
        text = t("progress", lang, streak=self.streak(days, now), drills=drills,
                 answers=len(answers), accuracy=_pct(right, len(answers)))
        lines = [text, "", t("progress_sections", lang)]
        for section in SECTIONS:
            if section in per_section:
                ok, n = per_section[section]
                lines.append(f"• {section_name(section, lang)}: {_pct(ok, n)} ({ok}/{n})")
        return [Reply("\n".join(lines))]

    def streak(self, days: set[date], now: datetime) -> int:
        """Working days in a row with a drill, ending today (or the working day before, if not
        drilled yet today). Days off neither count nor break it."""
        day = self.today(now)
        if day not in days:
            day -= timedelta(days=1)
        count = 0
        for _ in range(400):
            if is_working_day(day):
                if day not in days:
                    break
                count += 1
            day -= timedelta(days=1)
        return count

    # --- reminders --------------------------------------------------------------------

    async def remind(self, who: Who, args: str, now: datetime) -> list[Reply]:
        value = args.strip().lower()
        if not value:  # what is set now, and how to change it
            at = who.person.remind_at
            return [Reply(t("remind_now", who.lang, at=at) if at else t("remind_none", who.lang))]
        if value == "off":
            await self.store.set_reminder(who.person.user_id, None)
            return [Reply(t("remind_off", who.lang))]
        match = re.fullmatch(r"([0-9]{1,2})[:：.]([0-9]{2})", value)
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            return [Reply(t("remind_usage", who.lang))]
        at = f"{int(match[1]):02d}:{match[2]}"
        await self.store.set_reminder(who.person.user_id, at)
        return [Reply(t("remind_set", who.lang, at=at))]

    async def pause(self, who: Who, args: str, now: datetime) -> list[Reply]:
        value = args.strip().lower()
        if value in ("off", "0"):
            await self.store.set_pause(who.person.user_id, self.today(now), None)
            return [Reply(t("pause_off", who.lang))]
        days = number(value, 60)
        if days is None or days < 1:
            return [Reply(t("pause_usage", who.lang))]
        today, lang = self.today(now), who.lang
        until = _working_day(today, days)  # leave is counted in working days
        back = _working_day(until + timedelta(days=1), 1)
        await self.store.set_pause(who.person.user_id, today, until)
        return [Reply(t("pause_set", lang, n=days, until=until.isoformat(),
                        weekday=weekday(until, lang), back=back.isoformat(),
                        back_weekday=weekday(back, lang)))]

    async def invitations(self, now: datetime) -> list[Push]:
        """Queue today's drill invitations that are due by now, each person's at most once
        a day across every instance; the pushes queued."""
        local = now.astimezone(self.settings.timezone)
        today = local.date()
        if not is_working_day(today):
            return []
        due: list[Push] = []
        day = today.isoformat()
        for person in await self.store.people():
            if not person.active or person.remind_at is None:
                continue
            if person.paused_until is not None and person.paused_until >= today:
                continue
            hour, minute = (int(x) for x in person.remind_at.split(":"))
            tz = self.settings.timezone
            at = local_at(today, time(hour, minute), tz)
            last = max(local_at(today, LAST_INVITE, tz), at + LATE_GRACE)
            if at <= local < last:
                lang = person.lang or person.last_lang or Lang.ZH
                due.append(Push(person.user_id, Reply(
                    t("invite", lang),
                    buttons=((Button(t("invite_button", lang), "drill:start"),),)),
                    key=f"invite:{day}"))
        # each claimed with its push in one transaction: once, whichever instance ticks first
        return await self.store.queue_pushes(due, "invite", day, now) if due else []


def _working_day(start: date, n: int) -> date:
    """The n-th working day from `start` (counting `start` itself if it is one)."""
    day = start
    while not is_working_day(day) or n > 1:
        n -= is_working_day(day)
        day += timedelta(days=1)
    return day


def _pct(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "-"
