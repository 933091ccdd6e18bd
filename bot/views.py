"""How cards and other structured content are shown to a person (transport-agnostic)."""

from __future__ import annotations

from bot.models import Card, Lang, Reply
from bot.text import to_traditional

HEADINGS = {
    Lang.ZH: {"steps": "步骤", "say": "怎么说", "escalate": "何时上报", "never": "切勿",
              "related": "相关"},
    Lang.EN: {"steps": "Steps", "say": "What to say", "escalate": "When to escalate",
              "never": "Never", "related": "Related"},
}


def card_text(card: Card, lang: Lang, traditional: bool = False) -> tuple[str, str]:
    """The card as (title, body) in one language; numbered steps, bulleted lists."""
    head = HEADINGS[lang]
    parts = [card.summary.get(lang), ""]
    parts.append(f"{head['steps']}:")
    parts += [f"{n}. {s}" for n, s in enumerate(card.steps.get(lang), 1)]
    parts += ["", f"{head['say']}:"] + [f"“{s}”" if lang is Lang.ZH else f'"{s}"'
                                         for s in card.say.get(lang)]
    parts += ["", f"{head['escalate']}:"] + [f"• {s}" for s in card.escalate.get(lang)]
    parts += ["", f"⛔ {head['never']}:"] + [f"• {s}" for s in card.never.get(lang)]
    title, body = card.title.get(lang), "\n".join(parts)
    if traditional and lang is Lang.ZH:
        title, body = to_traditional(title), to_traditional(body)
    return title, body


def card_reply(card: Card, lang: Lang, traditional: bool = False) -> Reply:
    title, body = card_text(card, lang, traditional)
    return Reply(text=body, title=title)
