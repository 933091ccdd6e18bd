"""The only database code: two engines, numbered migrations, typed methods returning models.

A package because it outgrew one module: `base` holds the engine interface and where every
statement runs, `sqlite` and `postgres` the two engines (the only driver imports); each
other module is one group of tables, each use case one call (one trip to the database).
"""

from __future__ import annotations

from bot.store.base import (
    AnswerRow,
    QuestionRow,
    SchemaError,
    StoreBase,
    StoreError,
    StoreUnavailable,
    Tx,
)
from bot.store.people import PeopleStore
from bot.store.questions import QuestionStore
from bot.store.reports import ReportStore
from bot.store.training import (
    DrillAnswer,
    DrillHistory,
    Lookup,
    Press,
    Spacing,
    TrainingStore,
)

__all__ = ["AnswerRow", "DrillAnswer", "DrillHistory", "Lookup", "Press", "QuestionRow",
           "SchemaError", "Spacing", "Store", "StoreError", "StoreUnavailable", "Tx"]


class Store(PeopleStore, QuestionStore, TrainingStore, ReportStore, StoreBase):
    """Async access to the bot's database; `await Store.open(path or postgresql:// URL)`."""
