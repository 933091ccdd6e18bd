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
from bot.store.inbox import Delivery, InboxStore, State
from bot.store.outbox import Claimed, OutboxStore
from bot.store.people import PeopleStore, RosterChange
from bot.store.questions import QuestionStore
from bot.store.reports import ReportStore
from bot.store.sqlite import accepted_questions, backup
from bot.store.strangers import StrangerStore
from bot.store.suggestions import Suggestion, SuggestionStore
from bot.store.training import (
    DrillAnswer,
    DrillHistory,
    Lookup,
    Press,
    Spacing,
    TrainingStore,
)
from bot.store.xapi import OutboxStatus, Outgoing, XapiStore

__all__ = ["AnswerRow", "Claimed", "Delivery", "DrillAnswer", "DrillHistory", "Lookup", "OutboxStatus",
           "Outgoing", "Press", "QuestionRow", "RosterChange", "SchemaError", "Spacing", "State",
           "Store", "StoreError", "StoreUnavailable", "Suggestion", "Tx", "accepted_questions",
           "backup"]


class Store(PeopleStore, QuestionStore, TrainingStore, ReportStore, XapiStore, InboxStore,
            OutboxStore, StrangerStore, SuggestionStore, StoreBase):
    """Async access to the bot's database; `await Store.open(path or postgresql:// URL)`."""
