"""Supervisor summaries as data, text, CSV and a PNG chart (pure; data comes in)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import lru_cache
from pathlib import Path

from bot.i18n import section_name, t
from bot.models import SECTIONS, Lang, Person, Text

MIN_TOPIC_ANSWERS = 10  # a topic needs this many answers before it can be "weakest"
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
        enough = [tp for tp in self.topics if tp.answers >= MIN_TOPIC_ANSWERS]
        return sorted(enough, key=lambda tp: (tp.accuracy, -tp.answers, tp.card_id))[:n]

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
    lines += ["", t("sum_weakest", lang, n=MIN_TOPIC_ANSWERS)]
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


CJK_FONT_HINTS = ("wqy", "notosanscjk", "noto sans cjk", "notoserifcjk", "droidsansfallback",
                  "simhei", "sourcehansans", "uming", "ukai")


@lru_cache(maxsize=2)  # the installed fonts do not change while the bot runs
def find_cjk_font(configured: Path | None) -> Path | None:
    """COACH_CHART_FONT if set and present, else a CJK font fontconfig / matplotlib knows."""
    if configured is not None:
        return configured if configured.is_file() else None
    from matplotlib import font_manager

    for path in sorted(font_manager.findSystemFonts()):
        name = Path(path).name.lower().replace("-", "").replace("_", "")
        if any(h.replace(" ", "") in name for h in CJK_FONT_HINTS):
            return Path(path)
    return None


def chart_png(s: TeamSummary, lang: Lang, font: Path | None) -> tuple[bytes, Lang]:
    """Completion per person and accuracy per section as a PNG.

    Without a CJK font the chart falls back to English labels and person ids, so
    it never shows empty boxes for missing glyphs. Returns the language used.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt
    from matplotlib.ft2font import FT2Font

    if lang.base is Lang.ZH and font is None:
        lang = Lang.EN
    props = None
    if font is not None:
        font_manager.fontManager.addfont(str(font))
        props = font_manager.FontProperties(fname=str(font))
    face = str(font) if font is not None else font_manager.findfont("DejaVu Sans")
    drawable = set(FT2Font(face).get_charmap())

    def plain(text: str, fallback: str) -> str:
        """The text without characters the font lacks (emoji, CJK without a CJK font)."""
        kept = "".join(c for c in text if ord(c) in drawable or c.isspace()).strip()
        return kept if kept and len(kept) * 2 >= len(text.strip()) else fallback

    def label(p: PersonActivity) -> str:
        return plain(p.person.name, f"#{p.person.user_id}")

    people = list(s.people)
    completion = [min(p.drill_days, p.expected_days) / p.expected_days if p.expected_days else 0.0
                  for p in people]
    sections = [sec for sec in SECTIONS if sec in s.by_section()]
    accuracy = [s.by_section()[sec][0] / max(1, s.by_section()[sec][1]) for sec in sections]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 5), dpi=100)
    left.barh([label(p) for p in people] or ["-"], [100 * c for c in completion] or [0],
              color="#2f6f9f")
    left.set_xlim(0, 100)
    left.set_title(t("chart_completion", lang), fontproperties=props)
    right.bar([section_name(sec, lang) for sec in sections] or ["-"],
              [100 * a for a in accuracy] or [0], color="#4f9f6f")
    right.set_ylim(0, 100)
    right.set_title(t("chart_accuracy", lang), fontproperties=props)
    for axis in (left, right):
        for text in axis.get_xticklabels() + axis.get_yticklabels():
            if props is not None:
                text.set_fontproperties(props)
    right.tick_params(axis="x", labelrotation=30)
    fig.suptitle(f"{plain(s.team, 'Team')} {s.start.isoformat()} - {s.end.isoformat()}",
                 fontproperties=props)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue(), lang
