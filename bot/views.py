"""How a card is shown to a person (transport-agnostic).

A matched card arrives as its glance: the title, what to do right now and, on a safety
card, the one thing never to do. Each section is a button that shows it in the same
message, with "◀" back to the glance; `full` is everything at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from bot.i18n import t
from bot.models import Button, Card, Lang, Reply

# Characters of a section message: Telegram takes 4,096; the rest is room for the bold
# title's tags and HTML escapes (the adapter splits on the HTML; an edit shows one part).
BUDGET = 4000
LABEL_MAX = 64  # characters of a button label (what the adapters send at most)


class View(StrEnum):
    GLANCE = "g"
    STEPS = "steps"
    SAY = "say"
    ESCALATE = "esc"
    NEVER = "never"
    ABOUT = "about"
    RELATED = "rel"


SECTION_VIEWS = (View.STEPS, View.SAY, View.ESCALATE, View.NEVER, View.ABOUT, View.RELATED)
_BUTTON_KEYS = {View.STEPS: "btn_steps", View.SAY: "btn_say", View.ESCALATE: "btn_escalate",
                View.NEVER: "btn_never", View.ABOUT: "btn_about", View.RELATED: "btn_related"}


def view_payload(card_id: str, view: View, qid: int | None = None) -> str:
    """Button data `v:CARD:VIEW:QUESTION` (the question id keeps 👍/👎 on the glance)."""
    return f"v:{card_id}:{view.value}:{qid or ''}"


def parse_view(rest: str) -> tuple[str, View, int | None] | None:
    """(card id, view, question id) from the part after `v:`; None when malformed."""
    parts = rest.split(":")
    if len(parts) != 3 or parts[1] not in View._value2member_map_:
        return None
    card_id, view, qid = parts
    if qid and not (qid.isdigit() and len(qid) <= 18):  # SQLite integers are 64-bit
        return None
    return card_id, View(view), int(qid) if qid else None


def label(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[:LABEL_MAX - 1] + "…"


def now_lines(card: Card, lang: Lang) -> list[str]:
    """What to do in the next minute, numbered when more than one thing; a card without
    `now` (only hand-made test sets load without one) falls back to its first step."""
    now = card.now.get(lang) or card.steps.get(lang)[:1]
    return [f"{n}. {s}" for n, s in enumerate(now, 1)] if len(now) > 1 else list(now)


def glance(card: Card, lang: Lang, qid: int | None = None, feedback: bool = False) -> Reply:
    """The first message: title, `now`, a safety card's first `never`; section buttons,
    and 👍/👎 when `feedback` (for the question `qid`)."""
    lines = [t("now", lang), *now_lines(card, lang)]
    never = card.never.get(lang)
    if card.type == "safety" and never:
        lines += ["", f"⛔ {never[0]}"]
    rows = section_buttons(card, lang, qid)
    if feedback and qid is not None:
        rows += ((Button(t("fb_up", lang), f"fb:{qid}:up"),
                  Button(t("fb_down", lang), f"fb:{qid}:down")),)
    return Reply("\n".join(lines), card.title.get(lang), rows)


def section_buttons(card: Card, lang: Lang, qid: int | None = None,
                    shown: View = View.GLANCE) -> tuple[tuple[Button, ...], ...]:
    """The section buttons, three to a row; in a section, "◀" first and that section left out."""
    views = [v for v in SECTION_VIEWS if v is not shown and (v is not View.RELATED or card.related)]
    buttons = [Button(t(_BUTTON_KEYS[v], lang), view_payload(card.id, v, qid)) for v in views]
    rows = [tuple(buttons[i:i + 3]) for i in range(0, len(buttons), 3)]
    if shown is not View.GLANCE:
        rows.insert(0, (Button(t("back", lang), view_payload(card.id, View.GLANCE, qid)),))
    return tuple(rows)


def section_lines(card: Card, view: View, lang: Lang,
                  cards: Mapping[str, Card]) -> list[str]:
    """One section's text lines, its heading first."""
    if view is View.STEPS:
        steps = [f"{n}. {s}" for n, s in enumerate(card.steps.get(lang), 1)]
        return [t("head_steps", lang), *steps]
    if view is View.SAY:
        quoted = [f"“{s}”" if lang.base is Lang.ZH else f'"{s}"' for s in card.say.get(lang)]
        return [t("head_say", lang), *quoted]
    if view is View.ESCALATE:
        return [t("head_escalate", lang), *(f"• {s}" for s in card.escalate.get(lang))]
    if view is View.NEVER:
        return [f"⛔ {t('head_never', lang)}", *(f"• {s}" for s in card.never.get(lang))]
    if view is View.ABOUT:
        return [t("head_about", lang), card.summary.get(lang)]
    titles = [f"• {cards[r].title.get(lang)}" for r in card.related if r in cards]
    return [t("head_related", lang), *(titles or [t("sum_none", lang)])]


def section(card: Card, view: View, lang: Lang, cards: Mapping[str, Card],
            qid: int | None = None) -> Reply:
    """One section of the card, to replace the glance in the same message."""
    rows = section_buttons(card, lang, qid, shown=view)
    if view is View.RELATED:
        rows += tuple((Button(label(cards[r].title.get(lang)), f"card:{r}"),)
                      for r in card.related if r in cards)
    title = card.title.get(lang)
    text = fit(section_lines(card, view, lang, cards), BUDGET - len(title) - 1,
               t("cut", lang, id=card.id))
    return Reply(text, title, rows, edit=True)


def fit(lines: list[str], budget: int, cut: str) -> str:
    """The lines joined, or as much as fits followed by `cut`: whole lines, unless that
    would leave out more than half of the room (one very long line)."""
    text = "\n".join(lines)
    if len(text) <= budget:
        return text
    kept = text[:budget - len(cut) - 1]
    end = kept.rfind("\n")
    return f"{kept[:end] if end > len(kept) // 2 else kept}\n{cut}"


def full(card: Card, lang: Lang, cards: Mapping[str, Card]) -> Reply:
    """Everything at once (`/card ID full`); the adapter splits it if it is long."""
    parts = [card.summary.get(lang), "", t("now", lang), *now_lines(card, lang)]
    for view in SECTION_VIEWS:
        if view is not View.ABOUT and (view is not View.RELATED or card.related):
            parts += ["", *section_lines(card, view, lang, cards)]
    return Reply("\n".join(parts), card.title.get(lang))
