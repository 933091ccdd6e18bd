"""The supervisor's chart: completion per person and accuracy per section, as a PNG (pure)."""

from __future__ import annotations

import io
import textwrap
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.i18n import section_name, t
from bot.models import SECTIONS, Lang
from bot.reports import PersonActivity, TeamSummary, pct
from bot.text import latin

CJK_FONT_HINTS = ("wqy", "notosanscjk", "noto sans cjk", "notoserifcjk", "droidsansfallback",
                  "simhei", "sourcehansans", "uming", "ukai")
WIDTH, ROW_INCHES, MIN_HEIGHT = 10.0, 0.45, 5.0  # inches at 100 dpi; taller for a big team
MAX_PEOPLE = 30  # rows of people drawn at most: the picture stays under 2000 px high
MIN_ROWS = 4  # a team of one still gets bars of the usual width
LABEL_WIDTH = 16  # characters per line of a section name: long names wrap, never overlap
BLUE, GREEN, GREY = "#2f6f9f", "#4f9f6f", "#888888"


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
    """The chart as a PNG, and the language its labels are in."""
    from matplotlib import pyplot as plt

    fig, lang = draw(s, lang, font)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue(), lang


def draw(s: TeamSummary, lang: Lang, font: Path | None) -> tuple[Any, Lang]:
    """Completion per person (days drilled / working days due) and accuracy per section
    (with the number of answers), each bar labelled; "no data yet" where there is none.

    Without a CJK font the labels are English and names are transliterated ("王芳" ->
    "Wang Fang"), so the chart never shows empty boxes. Returns the matplotlib Figure
    (the caller closes it) and the language used.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt
    from matplotlib.ft2font import FT2Font

    if lang is not Lang.EN and font is None:  # no CJK font: English labels
        lang = Lang.EN
    props = None
    if font is not None:
        font_manager.fontManager.addfont(str(font))
        props = font_manager.FontProperties(fname=str(font))
    face = str(font) if font is not None else font_manager.findfont("DejaVu Sans")
    charmap = set(FT2Font(face).get_charmap())

    def drawable(c: str) -> bool:
        return ord(c) in charmap

    people = list(s.people)
    if len(people) > MAX_PEOPLE:  # a big team: those furthest behind (Telegram caps a photo's size)
        people = sorted(people, key=lambda p: (_completion(p) or 0.0, p.person.name))[:MAX_PEOPLE]
    sections = [(sec, *s.by_section()[sec]) for sec in SECTIONS if sec in s.by_section()]
    rows = max(len(people), len(sections), 1)
    height = max(MIN_HEIGHT, ROW_INCHES * rows + 1.5)
    fig, (left, right) = plt.subplots(1, 2, figsize=(WIDTH, height), dpi=100)
    text = {"fontproperties": props} if props is not None else {}
    names = [latin(p.person.name, drawable, name=True) or f"#{p.person.user_id}"
             for p in people]
    values = [_completion(p) for p in people]
    _bars(left, names, values,
          [f"{pct(v)}  {min(p.drill_days, p.expected_days)}/{p.expected_days}"
           for v, p in zip(values, people, strict=True)],
          BLUE, t("chart_no_data", lang), text)
    left.set_title(t("chart_completion", lang) + ("" if len(s.people) <= MAX_PEOPLE else "\n"
                   + t("chart_lowest", lang, n=MAX_PEOPLE, total=len(s.people))), **text)
    _bars(right, [textwrap.fill(section_name(sec, lang), LABEL_WIDTH) for sec, _, _ in sections],
          [ok / n for _, ok, n in sections],
          [t("chart_answers", lang, pct=pct(ok / n), n=n) for _, ok, n in sections],
          GREEN, t("chart_no_data", lang), text)
    right.set_title(t("chart_accuracy", lang), **text)
    team = latin(s.team, drawable) or "Team"
    fig.suptitle(t("chart_title", lang, team=team, start=s.start.isoformat(),
                   end=s.end.isoformat(), rate=pct(s.completion)), **text)
    fig.tight_layout()
    return fig, lang


def _bars(axis: Any, labels: list[str], values: list[float | None], notes: list[str],
          color: str, empty: str, text: dict[str, Any]) -> None:
    """Horizontal bars (first label on top), each with its note; `empty` when there are none."""
    axis.set_xlim(0, 125)  # room for the notes beyond a full bar
    axis.set_xticks([0, 25, 50, 75, 100])
    for side in ("top", "right"):
        axis.spines[side].set_visible(False)
    if not labels:
        axis.set_axis_off()
        axis.text(0.5, 0.5, empty, ha="center", va="center", color=GREY, fontsize=14,
                  transform=axis.transAxes, **text)
        return
    shown = [100 * v if v is not None else 0.0 for v in values]
    bars = axis.barh(range(len(labels)), shown, color=color, height=0.6)
    axis.bar_label(bars, labels=notes, padding=4, fontsize=9, **text)
    axis.set_yticks(range(len(labels)), labels, fontsize=9, **text)
    axis.set_ylim(max(len(labels), MIN_ROWS) - 0.5, -0.5)  # first on top; one bar stays a bar


def _completion(p: PersonActivity) -> float | None:
    return min(p.drill_days, p.expected_days) / p.expected_days if p.expected_days else None
