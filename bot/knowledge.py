"""Loading and validating knowledge cards (`knowledge/**/*.yaml`).

Validation collects every problem before giving up, so an author fixes a whole
file set in one pass. Each problem reads `file: card id: field: message`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.models import CARD_TYPES, SECTIONS, Card, DrillItem, Lines, Option, Text

# libyaml's parser when PyYAML has it (the wheels do): ~10x faster to start
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

RETRAIN_DEFAULTS = {"safety": 90, "script": 180, "sop": 180, "skill": 180, "policy": 365}
LANGS = ("zh", "en")
HANT = "zh-Hant"  # questions only
TEXT_FIELDS = ("title", "summary")
LINE_FIELDS = ("now", "steps", "say", "escalate", "never", "questions")
REQUIRED = ("id", "section", "type", "version", "title", "summary", "steps", "say",
            "escalate", "never", "questions", "drills")
KNOWN = {*REQUIRED, "now", "retrain_days", "related"}  # `now`: kb check requires it
ITEM_KNOWN = {"id", "question", "options", "explain"}
OPTION_KNOWN = {"id", "text", "correct"}
ID_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
MAX_ID = 40  # a card id travels in button data (Telegram: 64 bytes), e.g. v:ID:never:QUESTION
MIN_QUESTIONS = 8
MIN_DRILLS = 3
CATALOGUE_FILE = "catalogue.txt"  # required topic ids, one per line


@dataclass(frozen=True)
class Problem:
    file: str
    card: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.card}: {self.field}: {self.message}"


class KnowledgeError(Exception):
    """The card set has problems; `problems` lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the knowledge base")
        self.problems = problems


@dataclass(frozen=True)
class KnowledgeBase:
    cards: dict[str, Card]
    items: dict[str, DrillItem]

    @classmethod
    def of(cls, cards: list[Card]) -> KnowledgeBase:
        return cls({c.id: c for c in cards}, {i.id: i for c in cards for i in c.drills})


class _Checker:
    """Builds cards from parsed YAML, recording problems instead of raising."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.card = "-"
        self.problems: list[Problem] = []

    def bad(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.card, field, message))

    def text(self, raw: Any, field: str) -> Text:
        if not isinstance(raw, dict):
            self.bad(field, "expected {zh: ..., en: ...}")
            return Text("", "")
        self.unknown(raw, set(LANGS), field)
        out = {}
        for lang in LANGS:
            value = raw.get(lang)
            if value is None:
                self.bad(field, f"missing language {lang}")
            elif not isinstance(value, str | int | float) or not str(value).strip():
                self.bad(f"{field}.{lang}", "empty text")
            out[lang] = str(value).strip() if value is not None else ""
        return Text(out["zh"], out["en"])

    def lines(self, raw: Any, field: str) -> Lines:
        if not isinstance(raw, dict):
            self.bad(field, "expected {zh: [...], en: [...]}")
            return Lines((), ())
        # questions may hold traditional-Chinese ways of asking apart (zh-Hant);
        # they are matched like the zh ones, so they join that list
        langs = (*LANGS, HANT) if field == "questions" else LANGS
        self.unknown(raw, set(langs), field)
        out: dict[str, tuple[str, ...]] = {}
        for lang in langs:
            if lang == HANT and lang not in raw:
                out[lang] = ()
                continue
            value = raw.get(lang)
            if value is None:
                self.bad(field, f"missing language {lang}")
                value = []
            elif not isinstance(value, list) or not value:
                self.bad(f"{field}.{lang}", "expected a non-empty list of lines")
                value = value if isinstance(value, list) else []
            for n, line in enumerate(value, 1):
                if not isinstance(line, str | int | float) or not str(line).strip():
                    self.bad(f"{field}.{lang}[{n}]", "empty text")
            out[lang] = tuple(str(v).strip() for v in value if isinstance(v, str | int | float))
        return Lines(out["zh"] + out.get(HANT, ()), out["en"])

    def unknown(self, raw: dict[str, Any], known: set[str], where: str) -> None:
        for key in raw:
            if key not in known:
                self.bad(f"{where}.{key}" if where else str(key), "unknown field")

    def item(self, raw: Any, card_id: str, n: int) -> DrillItem | None:
        where = f"drills[{n}]"
        if not isinstance(raw, dict):
            self.bad(where, "expected a mapping with id, question, options, explain")
            return None
        self.unknown(raw, ITEM_KNOWN, where)
        item_id = str(raw.get("id", "")).strip()
        if not item_id:
            self.bad(f"{where}.id", "missing")
        where = f"drills[{item_id or n}]"
        question = self.text(raw.get("question"), f"{where}.question")
        explain = self.text(raw.get("explain"), f"{where}.explain")
        options: list[Option] = []
        raw_options = raw.get("options")
        if not isinstance(raw_options, list) or not 3 <= len(raw_options) <= 4:
            self.bad(f"{where}.options", "expected 3 or 4 options")
            raw_options = raw_options if isinstance(raw_options, list) else []
        for m, opt in enumerate(raw_options, 1):
            if not isinstance(opt, dict):
                self.bad(f"{where}.options[{m}]", "expected {id, text, correct}")
                continue
            self.unknown(opt, OPTION_KNOWN, f"{where}.options[{m}]")
            opt_id = str(opt.get("id", "")).strip()
            if not opt_id:
                self.bad(f"{where}.options[{m}].id", "missing")
            correct = opt.get("correct", False)
            if not isinstance(correct, bool):
                self.bad(f"{where}.options[{opt_id or m}].correct", "expected true or false")
            text = self.text(opt.get("text"), f"{where}.options[{opt_id or m}].text")
            options.append(Option(opt_id, text, correct is True))
        ids = [o.id for o in options]
        if len(set(ids)) != len(ids):
            self.bad(f"{where}.options", "duplicate option id")
        right = sum(o.correct for o in options)
        if options and right != 1:
            self.bad(f"{where}.options", f"expected exactly one correct option, found {right}")
        return DrillItem(item_id, card_id, question, tuple(options), explain)

    def build(self, raw: Any) -> Card | None:
        if not isinstance(raw, dict):
            self.bad("-", "expected one card (a mapping) per file")
            return None
        card_id = str(raw.get("id", "")).strip()
        self.card = card_id or "-"
        if not card_id:
            self.bad("id", "missing")
        elif not ID_RE.match(card_id):
            self.bad("id", "use lower-case words joined by dots, e.g. dispute.fee")
        elif len(card_id) > MAX_ID:
            self.bad("id", f"at most {MAX_ID} characters (it travels in button data)")
        self.unknown(raw, KNOWN, "")
        for key in REQUIRED:
            if key not in raw and key != "id":
                self.bad(key, "missing")
        section, ctype = raw.get("section"), raw.get("type")
        if "section" in raw and section not in SECTIONS:
            self.bad("section", f"expected one of {', '.join(SECTIONS)}")
        if "type" in raw and ctype not in CARD_TYPES:
            self.bad("type", f"expected one of {', '.join(CARD_TYPES)}")
        version = raw.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.bad("version", "expected a whole number >= 1")
            version = 1
        retrain = raw.get("retrain_days", RETRAIN_DEFAULTS.get(str(ctype), 180))
        if not isinstance(retrain, int) or isinstance(retrain, bool) or not 7 <= retrain <= 1095:
            self.bad("retrain_days", "expected a whole number of days from 7 to 1095")
            retrain = 180
        texts = {f: self.text(raw.get(f), f) for f in TEXT_FIELDS if f in raw}
        lines = {f: self.lines(raw.get(f), f) for f in LINE_FIELDS if f in raw}
        questions = lines.get("questions")
        if questions and len(questions.zh) + len(questions.en) < MIN_QUESTIONS:
            self.bad("questions", f"expected {MIN_QUESTIONS} or more in all")
        related = raw.get("related", []) or []
        if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
            self.bad("related", "expected a list of card ids")
            related = []
        raw_drills = raw.get("drills", [])
        if not isinstance(raw_drills, list):
            self.bad("drills", "expected a list of drill items")
            raw_drills = []
        elif "drills" in raw and len(raw_drills) < MIN_DRILLS:
            self.bad("drills", f"expected {MIN_DRILLS} or more items")
        items = [self.item(d, card_id, n) for n, d in enumerate(raw_drills, 1)]
        empty = Text("", "")
        no_lines = Lines((), ())
        return Card(
            id=card_id, section=str(section), type=str(ctype), version=version,
            retrain_days=retrain, title=texts.get("title", empty),
            summary=texts.get("summary", empty), now=lines.get("now", no_lines), steps=lines.get("steps", no_lines),
            say=lines.get("say", no_lines), escalate=lines.get("escalate", no_lines),
            never=lines.get("never", no_lines), related=tuple(related),
            questions=questions or no_lines,
            drills=tuple(i for i in items if i is not None), source=self.file,
        )


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.yaml") if p.is_file())


def check(path: Path) -> tuple[list[Card], list[Problem]]:
    """Parse every card file below `path`; return the cards and every problem found."""
    problems: list[Problem] = []
    cards: list[Card] = []
    if not path.exists():
        return [], [Problem(str(path), "-", "-", "no such file or folder")]
    files = _files(path)
    if not files:
        problems.append(Problem(str(path), "-", "-", "no *.yaml card files found"))
    for file in files:
        checker = _Checker(str(file))
        try:
            raw = yaml.load(file.read_text(encoding="utf-8"), Loader=_LOADER)
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            mark = getattr(err, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark else "-"
            problems.append(Problem(str(file), "-", where, f"not valid YAML: {err}".splitlines()[0]))
            continue
        card = checker.build(raw)
        problems.extend(checker.problems)
        if card is not None:
            cards.append(card)
    problems.extend(_cross_check(cards, path))
    return cards, problems


def _cross_check(cards: list[Card], path: Path) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, Card] = {}
    items: dict[str, str] = {}
    for card in cards:
        if card.id and card.id in seen:
            problems.append(Problem(card.source, card.id, "id",
                                    f"duplicate id, also in {seen[card.id].source}"))
            continue  # its drill ids would all repeat the same news
        seen[card.id] = card
        for item in card.drills:
            if item.id and item.id in items:
                problems.append(Problem(card.source, card.id, f"drills[{item.id}].id",
                                        f"duplicate drill id, also in card {items[item.id]}"))
            items.setdefault(item.id, card.id)
    for card in cards:
        for ref in card.related:
            if ref not in seen:
                problems.append(Problem(card.source, card.id, "related", f"{ref} points nowhere"))
    catalogue = (path if path.is_dir() else path.parent) / CATALOGUE_FILE
    if catalogue.is_file():
        for line in catalogue.read_text(encoding="utf-8").splitlines():
            topic = line.split("#")[0].strip()
            if topic and topic not in seen:
                problems.append(Problem(str(catalogue), topic, "id", "catalogue topic has no card"))
    return problems


def load(path: Path) -> KnowledgeBase:
    """Load the card set, or raise `KnowledgeError` listing every problem."""
    cards, problems = check(path)
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase.of(cards)
