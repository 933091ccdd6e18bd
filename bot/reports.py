"""Supervisor summaries as data, text and CSV tables (pure; data comes in). The chart is
in `chart`."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from bot.i18n import columns, t
from bot.models import Lang, Person, Text

# "Weakest topics" are those the team very likely gets wrong: the upper end of the 95%
# Wilson interval of their accuracy is below WEAK_BELOW, from at least WEAK_MIN_ANSWERS
# answers. A team of 4 reaches that on a topic it keeps missing (0/3, 1/4, 2/6 right) -
# missed items come back after a day - while a few lucky or unlucky answers do not count.
WEAK_MIN_ANSWERS = 3
WEAK_BELOW = 0.8
Z95 = 1.96
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class PersonActivity:
    person: Person
    drill_days: int  # days in the period with a completed drill
    expected_days: int  # working days since enrolment, minus paused days
    drills: int
    answers: int
    correct: int
    due: int
    overdue: int
    last_active: datetime | None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.answers if self.answers else None


@dataclass(frozen=True)
class TopicAccuracy:
    card_id: str
    title: Text
    section: str
    answers: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answers if self.answers else 0.0

    @property
    def upper(self) -> float:
        """Upper end of the 95% Wilson score interval of the accuracy."""
        return wilson_upper(self.correct, self.answers)


def wilson_upper(k: int, n: int, z: float = Z95) -> float:
    if n == 0:
        return 1.0
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z * z / n))


@dataclass(frozen=True)
class TeamSummary:
    team: str
    days: int
    start: date
    end: date
    people: tuple[PersonActivity, ...]
    topics: tuple[TopicAccuracy, ...]
    gaps: tuple[tuple[str, int], ...]

    @property
    def completion(self) -> float | None:
        expected = sum(p.expected_days for p in self.people)
        return sum(min(p.drill_days, p.expected_days) for p in self.people) / expected if expected else None

    def weakest(self, n: int = 5) -> list[TopicAccuracy]:
        """Topics the team very likely gets wrong (see WEAK_BELOW), surest first."""
        weak = [tp for tp in self.topics
                if tp.answers >= WEAK_MIN_ANSWERS and tp.upper < WEAK_BELOW]
        return sorted(weak, key=lambda tp: (tp.upper, tp.accuracy, tp.card_id))[:n]

    def by_section(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for tp in self.topics:
            ok, n = out.get(tp.section, (0, 0))
            out[tp.section] = (ok + tp.correct, n + tp.answers)
        return out


def pct(value: float | None) -> str:
    return "-" if value is None else f"{round(100 * value)}%"


def render_text(s: TeamSummary, lang: Lang, tz: tzinfo) -> str:
    """The summary as a chat message."""
    lines = [t("sum_head", lang, team=s.team, start=s.start.isoformat(), end=s.end.isoformat()),
             t("sum_completion", lang, rate=pct(s.completion)), "", t("sum_people", lang)]
    for p in s.people:
        last = p.last_active.astimezone(tz).date().isoformat() if p.last_active else "-"
        lines.append(t("sum_person", lang, name=p.person.name, days=p.drill_days,
                       expected=p.expected_days, drills=p.drills, accuracy=pct(p.accuracy),
                       due=p.due, overdue=p.overdue, last=last))
    if not s.people:
        lines.append(t("sum_nobody", lang))
    weak = s.weakest()
    lines += ["", t("sum_weakest", lang, n=WEAK_MIN_ANSWERS, below=pct(WEAK_BELOW))]
    lines += [f"• {tp.title.get(lang)}: {pct(tp.accuracy)} ({tp.correct}/{tp.answers})"
              for tp in weak] or [t("sum_none", lang)]
    lines += ["", t("sum_gaps", lang)]
    lines += [f"• {text} ×{n}" for text, n in s.gaps] or [t("sum_none", lang)]
    return "\n".join(lines)


def safe_cell(value: object) -> str:
    """A CSV cell Excel will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(header: list[str], rows: list[list[object]]) -> bytes:
    """UTF-8 with a BOM so Excel shows Chinese names; formula-looking cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


PEOPLE_COLUMNS = ("team", "person", "user_id", "start", "end", "drill_days", "expected_days",
                  "completion", "drills", "answers", "accuracy", "due", "overdue", "last_active")


def people_table(summaries: list[TeamSummary], lang: Lang, tz: tzinfo) -> bytes:
    """Completion per person over the period, and each team's total: the figure reported
    upward. Headers in the reader's language."""
    rows: list[list[object]] = []
    for s in summaries:
        span = [s.start.isoformat(), s.end.isoformat()]
        for p in s.people:
            last = p.last_active.astimezone(tz).date().isoformat() if p.last_active else ""
            done = min(p.drill_days, p.expected_days)
            rows.append([s.team, p.person.name, p.person.user_id, *span, done, p.expected_days,
                         pct(done / p.expected_days) if p.expected_days else "", p.drills,
                         p.answers, pct(p.accuracy) if p.answers else "", p.due, p.overdue, last])
        answers = sum(p.answers for p in s.people)
        correct = sum(p.correct for p in s.people)
        rows.append([s.team, t("csv_total", lang), "", *span,
                     sum(min(p.drill_days, p.expected_days) for p in s.people),
                     sum(p.expected_days for p in s.people),
                     pct(s.completion) if s.completion is not None else "",
                     sum(p.drills for p in s.people), answers,
                     pct(correct / answers) if answers else "",
                     sum(p.due for p in s.people), sum(p.overdue for p in s.people), ""])
    return to_csv(columns(PEOPLE_COLUMNS, lang), rows)
