"""The only SQLite code: one connection, numbered migrations, typed methods returning models.

A package because it outgrew one module: `base` holds the connection and the
only aiosqlite import; each other module is one group of tables.
"""

from __future__ import annotations

from bot.store.base import AnswerRow, QuestionRow, StoreBase, accepted_questions, backup
from bot.store.people import PeopleStore
from bot.store.questions import QuestionStore
from bot.store.reports import ReportStore
from bot.store.training import Spacing, TrainingStore

__all__ = ["AnswerRow", "QuestionRow", "Spacing", "Store", "accepted_questions", "backup"]


class Store(PeopleStore, QuestionStore, TrainingStore, ReportStore, StoreBase):
    """Async access to the bot's SQLite database; open with `await Store.open(path)`."""
