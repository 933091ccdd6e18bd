"""Small card sets written into a test's tmp_path (real YAML, real loader)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REAL_KB = Path(__file__).resolve().parent.parent / "knowledge"


def bi(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def card(card_id: str, section: str = "complaints", ctype: str = "script", **extra: Any) -> dict[str, Any]:
    """A valid card whose texts mention its id, so each is findable on its own words."""
    word = card_id.split(".")[-1]
    data: dict[str, Any] = {
        "id": card_id, "section": section, "type": ctype, "version": 1,
        "title": bi(f"{word}标题", f"{word} title"),
        "summary": bi(f"{word}摘要", f"{word} summary"),
        "now": {"zh": [f"{word}先做这一步"], "en": [f"{word} first move"]},
        "steps": {"zh": [f"{word}第一步", "第二步"], "en": [f"{word} step one", "step two"]},
        "say": {"zh": ["您好"], "en": ["Hello"]},
        "escalate": {"zh": ["报主管"], "en": ["Tell the supervisor"]},
        "never": {"zh": ["不要争辩"], "en": ["Never argue"]},
        "questions": {"zh": [f"{word}问题{i}" for i in range(4)],
                      "en": [f"{word} question {i}" for i in range(4)]},
        "drills": [
            {"id": f"{card_id}.d{n}", "question": bi(f"{word}题{n}", f"{word} q{n}"),
             "options": [
                 {"id": "a", "correct": True, "text": bi("对", "right")},
                 {"id": "b", "text": bi("错一", "wrong one")},
                 {"id": "c", "text": bi("错二", "wrong two")},
             ],
             "explain": bi("因为", "because")}
            for n in (1, 2, 3)
        ],
    }
    data.update(extra)
    return data


def write_cards(folder: Path, *cards: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for data in cards:
        name = data.get("id") or "card"
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return folder


def full_card(card_id: str, right: str = "乙方案", wrong: tuple[str, ...] = ("甲方案", "丙方案"),
              right_en: str = "plan b", wrong_en: tuple[str, ...] = ("plan a", "plan c"),
              items: int = 4, **extra: Any) -> dict[str, Any]:
    """A card that also meets kb check's authoring rules (40 ways of asking in every
    kind, a `now`, 4 drill items) with the given option texts in every item."""
    word = card_id.split(".")[-1]
    data = card(card_id, **extra)
    data["questions"] = {
        "zh": [f"简体问题{i}" for i in range(15)] + [f"{word} acct 问题{i}" for i in range(4)],
        "zh-Hant": [f"問題說明{i}" for i in range(6)],
        "en": [f"{word} question {i}" for i in range(15)],
    }
    data["drills"] = [
        {"id": f"{card_id}.d{n}", "question": bi(f"{word}题{n}", f"{word} q{n}"),
         "options": [{"id": "a", "correct": True, "text": bi(right, right_en)}]
         + [{"id": chr(98 + k), "text": bi(zh, en)}
            for k, (zh, en) in enumerate(zip(wrong, wrong_en, strict=True))],
         "explain": bi("因为", "because")}
        for n in range(1, items + 1)
    ]
    return data


# the real knowledge base: one card per catalogue topic
REAL_CARDS = sum(1 for line in (REAL_KB / "catalogue.txt").read_text("utf-8").splitlines()
                 if line.split("#")[0].strip())
