"""Shared fixtures: a fresh SQLite file per test, a movable clock, the real knowledge base."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.answers import Library
from bot.assistant import Assistant
from bot.config import Settings, load_settings
from bot.knowledge import load
from bot.models import Inbound, Reply
from bot.store import Store
from tests.cards import REAL_KB

# Words-only matching unless a test asks for the model (tests/test_embeddings.py): the
# suite stays quick, and subprocesses that inherit the environment do the same.
os.environ.setdefault("COACH_EMBEDDINGS", "off")

ADMIN = 900


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 30, 1, 0, tzinfo=UTC))  # Monday 09:00 in Shanghai


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    base = load_settings({}, env_file=tmp_path / "no.env")
    return replace(base, db=tmp_path / "coach.db", knowledge=REAL_KB, admins=frozenset({ADMIN}),
                   embeddings="off")


@pytest.fixture(scope="session")
def real_library() -> Library:
    """The real cards, indexed once per test session (they are read-only)."""
    return Library.build(load(REAL_KB))


@pytest.fixture
async def assistant(settings: Settings, clock: FakeClock,
                    real_library: Library) -> AsyncIterator[Assistant]:
    a = Assistant(settings, await Store.open(settings.db), real_library, clock)
    await a.start()
    try:
        yield a
    finally:
        await a.store.close()


class Chat:
    """Drives the assistant as one person would: text lines and button presses."""

    def __init__(self, assistant: Assistant, user_id: int, name: str = "Tester") -> None:
        self.assistant = assistant
        self.user_id = user_id
        self.name = name
        self.last: list[Reply] = []

    async def say(self, text: str) -> list[Reply]:
        self.last = await self.assistant.handle(Inbound(self.user_id, self.name, text=text))
        return self.last

    async def press(self, label_part: str) -> list[Reply]:
        for reply in reversed(self.last):
            for row in reply.buttons:
                for button in row:
                    if label_part in button.label:
                        return await self.tap(button.payload)
        raise AssertionError(f"no button with {label_part!r} in {self.last}")

    async def tap(self, payload: str) -> list[Reply]:
        self.last = await self.assistant.handle(Inbound(self.user_id, self.name, callback=payload))
        return self.last

    def text(self) -> str:
        return "\n".join(f"{r.title}\n{r.text}" for r in self.last)


@pytest.fixture
async def admin(assistant: Assistant) -> Chat:
    chat = Chat(assistant, ADMIN, "Admin")
    await chat.say("/start")
    return chat
