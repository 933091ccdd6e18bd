"""Shared fixtures: a fresh database per test (a SQLite file; and for tests marked
`both_engines`, also a database on a throwaway PostgreSQL started once per session), a
movable clock, the real knowledge base."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
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
from tests.pg_server import ThrowawayPostgres, find_bin

# Words-only matching unless a test asks for the model (tests/test_embeddings.py): the
# suite stays quick, and subprocesses that inherit the environment do the same.
os.environ.setdefault("COACH_EMBEDDINGS", "off")

ADMIN = 900
ENGINES = ["sqlite", "postgresql"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_engines` run once on each engine (through the `engine` fixture)."""
    if "engine" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
            "both_engines"):
        metafunc.parametrize("engine", ENGINES, indirect=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    """One throwaway PostgreSQL server for the session; skipped (saying why) only where the
    server binaries are not installed (.ci/run installs them)."""
    bin_dir = find_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl on PATH or under "
                    "/usr/lib/postgresql/*/bin; apt-get install postgresql)")
    server = ThrowawayPostgres(bin_dir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_shared(postgres: ThrowawayPostgres) -> str:
    """One schema migrated by the store once per session, emptied for each test."""
    url = postgres.create_schema()

    async def migrate() -> None:
        await (await Store.open(url, migrate=True)).close()

    asyncio.run(migrate())
    return url


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def db(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """Where this test's fresh database is: a SQLite file, or an emptied PostgreSQL schema."""
    if engine == "sqlite":
        return tmp_path / "coach.db"
    server: ThrowawayPostgres = request.getfixturevalue("postgres")
    return server.empty(request.getfixturevalue("pg_shared"))


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
def settings(tmp_path: Path, db: Path | str) -> Settings:
    base = load_settings({}, env_file=tmp_path / "no.env")
    return replace(base, db=db, db_pool=2, knowledge=REAL_KB, admins=frozenset({ADMIN}),
                   embeddings="off")


@pytest.fixture(scope="session")
def real_library() -> Library:
    """The real cards, indexed once per test session (they are read-only)."""
    return Library.build(load(REAL_KB))


@pytest.fixture
async def assistant(settings: Settings, clock: FakeClock,
                    real_library: Library) -> AsyncIterator[Assistant]:
    a = Assistant(settings, await Store.open(settings.db, migrate=True), real_library, clock)
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
