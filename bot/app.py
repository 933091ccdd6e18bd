"""Composition root: build the `Assistant` from `Settings`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.answers import Library
from bot.assistant import Assistant
from bot.config import Settings
from bot.embeddings import Embedder
from bot.knowledge import KnowledgeError, load
from bot.models import Now
from bot.store import Store, StoreError

DEMO_DB = Path("data/demo.db")
DEMO_USER = 1


class StartupError(Exception):
    """Stops the program with one line and exit status 2."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def embedder(settings: Settings, write_cache: bool = True, background: bool = False
             ) -> Embedder | None:
    """The embedding model the settings name, or None for `off`. `background`: load it in a
    thread of its own and match on words alone until it is ready (the bot); otherwise it
    loads at first use and every answer waits for it (`ask`, `kb check`)."""
    if settings.embeddings == "off":
        return None
    return Embedder(settings.embeddings, settings.embed_threads, settings.cache_dir, write_cache,
                    background)


def load_library(settings: Settings, write_cache: bool = True, background: bool = False
                 ) -> Library:
    """Load and index the knowledge base, or stop with its first problem."""
    try:
        return Library.build(load(settings.knowledge),
                             embedder(settings, write_cache, background))
    except KnowledgeError as err:
        first = err.problems[0]
        more = f" (and {len(err.problems) - 1} more; run `python -m bot kb check`)"
        raise StartupError(f"knowledge base: {first}{more if len(err.problems) > 1 else ''}") from None


async def open_store(settings: Settings, migrate: bool | None = None) -> Store:
    """The store at COACH_DB, or StartupError with the store's one line."""
    try:
        return await Store.open(settings.db, settings.db_password, settings.db_pool, migrate)
    except StoreError as err:
        raise StartupError(str(err)) from None


async def build(settings: Settings, now: Now = utc_now) -> Assistant:
    """Open the store and load the knowledge base; the caller closes `assistant.store`."""
    library = load_library(settings, background=True)
    store = await open_store(settings)
    assistant = Assistant(settings, store, library, now)
    await assistant.start()
    return assistant


def demo_settings(settings: Settings) -> Settings:
    """The console's settings: its own demo database unless COACH_DB is set; demo user is admin."""
    db = settings.db if "COACH_DB" in settings.explicit else DEMO_DB
    return replace(settings, db=db, admins=settings.admins | {DEMO_USER})
