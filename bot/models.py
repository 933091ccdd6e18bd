"""Frozen dataclasses shared by every layer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bot.text import to_traditional


class Lang(StrEnum):
    """The language a person reads: English, or Chinese in one of three scripts.

    Content is written in simplified Chinese and English; the traditional forms
    (Hong Kong, Taiwan) are converted from the simplified text when shown."""

    ZH = "zh"
    EN = "en"
    HANT = "zh-Hant"  # traditional, Hong Kong forms (OpenCC s2hk)
    TW = "zh-TW"  # traditional, Taiwan forms (OpenCC s2tw)

    @property
    def base(self) -> Lang:
        """The language the content is written in: ZH for every Chinese script."""
        return Lang.EN if self is Lang.EN else Lang.ZH

    def pick(self, zh: str, en: str) -> str:
        """`en`, or `zh` in this language's script."""
        if self is Lang.EN:
            return en
        return zh if self is Lang.ZH else to_traditional(zh, taiwan=self is Lang.TW)


BASE_LANGS = (Lang.ZH, Lang.EN)  # the languages cards and strings are written in


SECTIONS = ("basics", "skills", "process", "complaints", "relationships", "assessment")
CARD_TYPES = ("sop", "script", "safety", "policy", "skill")


@dataclass(frozen=True)
class Text:
    """One text in both languages."""

    zh: str
    en: str

    def get(self, lang: Lang) -> str:
        return lang.pick(self.zh, self.en)


@dataclass(frozen=True)
class Lines:
    """A list of lines in both languages."""

    zh: tuple[str, ...]
    en: tuple[str, ...]

    def get(self, lang: Lang) -> tuple[str, ...]:
        if lang in BASE_LANGS:
            return self.zh if lang is Lang.ZH else self.en
        return tuple(lang.pick(line, "") for line in self.zh)


@dataclass(frozen=True)
class Option:
    id: str
    text: Text
    correct: bool


@dataclass(frozen=True)
class DrillItem:
    id: str
    card_id: str
    question: Text
    options: tuple[Option, ...]
    explain: Text

    @property
    def correct(self) -> Option:
        return next(o for o in self.options if o.correct)

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


@dataclass(frozen=True)
class Card:
    id: str
    section: str
    type: str
    version: int
    retrain_days: int
    title: Text
    summary: Text
    now: Lines  # 1-3 short lines: what to do in the next minute
    steps: Lines
    say: Lines
    escalate: Lines
    never: Lines
    related: tuple[str, ...]
    questions: Lines
    drills: tuple[DrillItem, ...]
    source: str = ""


@dataclass(frozen=True)
class Match:
    card: Card
    score: float


@dataclass(frozen=True)
class SearchResult:
    query: str
    confident: bool
    matches: tuple[Match, ...]
    plausible: bool = False  # worth a "did you mean" when not confident
    smalltalk: str = ""  # "thanks", "greeting", "bye" or "ok" when the message is only that


class Role(StrEnum):
    STAFF = "staff"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Person:
    user_id: int
    name: str
    lang: Lang | None
    roles: frozenset[Role]
    last_lang: Lang | None = None
    team: str | None = None
    supervises: frozenset[str] = frozenset()
    active: bool = True
    remind_at: str | None = "09:00"  # HH:MM local time, None = reminders off
    paused_until: date | None = None
    staff_no: str | None = None  # the bank's employee number, set by administrators


@dataclass(frozen=True)
class TopicState:
    """What the store knows of one person and one topic."""

    card_id: str
    first_answer_at: datetime
    last_answer_at: datetime
    last_pass_at: datetime | None
    last_pass_version: int | None
    answers: int
    correct: int


@dataclass(frozen=True)
class ItemState:
    """A drill item a person got wrong, waiting to come back."""

    item_id: str
    card_id: str
    step: int  # index into INTERVALS_DAYS of the next interval
    due_at: datetime


@dataclass(frozen=True)
class Drill:
    """A micro-drill in progress or finished; `items` pairs each item id with its option order."""

    id: int
    user_id: int
    started_at: datetime
    finished_at: datetime | None
    items: tuple[tuple[str, tuple[str, ...]], ...]
    position: int
    correct: int

    @property
    def done(self) -> bool:
        return self.finished_at is not None


@dataclass(frozen=True)
class Who:
    """Who is talking, and the language to answer in."""

    person: Person
    lang: Lang

    @property
    def admin(self) -> bool:
        return Role.ADMIN in self.person.roles

    def has(self, role: Role) -> bool:
        return self.admin or role in self.person.roles


@dataclass(frozen=True)
class Inbound:
    """What a person sent: a text line or a button payload."""

    user_id: int
    name: str = ""
    text: str | None = None
    callback: str | None = None
    lang_hint: str | None = None  # the client's language code, e.g. "zh-hans"
    private: bool = True


@dataclass(frozen=True)
class Button:
    label: str
    payload: str


class ReplyKind(StrEnum):
    TEXT = "text"
    FILE = "file"
    PHOTO = "photo"


@dataclass(frozen=True)
class Reply:
    """One message to show: plain text (adapters escape it), optional bold title and buttons."""

    text: str
    title: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    kind: ReplyKind = ReplyKind.TEXT
    data: bytes = b""
    filename: str = ""
    edit: bool = False  # replaces the message whose button was pressed
    low_priority: bool = False  # may wait behind every other send (replies to strangers)


@dataclass(frozen=True)
class Push:
    """A message the assistant sends on its own (invitations, weekly summaries)."""

    user_id: int
    reply: Reply
    key: str = ""  # de-duplication key, e.g. "invite:2026-11-30"


Now = Callable[[], datetime]


@dataclass(frozen=True)
class ChoiceCount:
    """How often one option of a drill item was chosen, at one version of its card."""

    item_id: str
    card_version: int
    chosen: str
    correct: bool
    answers: int
