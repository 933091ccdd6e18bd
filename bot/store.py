"""The only SQLite code: one connection, numbered migrations, typed methods returning models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiosqlite

from bot.models import Lang, Person, Role

# Append only: an applied migration is never edited, a change is a new number.
MIGRATIONS: list[str] = [
    # 1: people
    """
    CREATE TABLE people (
        user_id    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        lang       TEXT,
        last_lang  TEXT,
        roles      TEXT NOT NULL DEFAULT 'staff',
        created_at TEXT NOT NULL
    );
    """,
    # 2: questions asked (masked text only) and what the bot did with them
    """
    CREATE TABLE questions (
        id         INTEGER PRIMARY KEY,
        user_id    INTEGER NOT NULL,
        asked_at   TEXT NOT NULL,
        text       TEXT NOT NULL,
        outcome    TEXT NOT NULL CHECK (outcome IN ('answered', 'unsure', 'none')),
        card_id    TEXT,
        score      REAL NOT NULL DEFAULT 0,
        offered    TEXT NOT NULL DEFAULT '',
        feedback   INTEGER
    );
    CREATE INDEX questions_user ON questions (user_id, asked_at);
    CREATE INDEX questions_time ON questions (asked_at);
    CREATE TABLE notices (
        user_id INTEGER NOT NULL,
        kind    TEXT NOT NULL,
        day     TEXT NOT NULL,
        PRIMARY KEY (user_id, kind, day)
    );
    """,
]


class Store:
    """Async access to the bot's SQLite database; open with `Store.open(path)`."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    @classmethod
    async def open(cls, path: Path) -> Store:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path), isolation_level=None)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA synchronous=NORMAL")
        store = cls(db, path)
        await store.migrate()
        return store

    async def close(self) -> None:
        await self.db.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction per use case; BEGIN IMMEDIATE so writers queue instead of failing."""
        await self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            await self.db.execute("ROLLBACK")
            raise
        await self.db.execute("COMMIT")

    async def migrate(self) -> int:
        """Apply pending migrations; return the schema version."""
        await self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, applied_at TEXT)"
        )
        async with self.db.execute("SELECT COALESCE(MAX(number), 0) FROM schema_migrations") as cur:
            row = await cur.fetchone()
        current = int(row[0]) if row else 0
        for number, sql in enumerate(MIGRATIONS, 1):
            if number <= current:
                continue
            async with self.transaction() as db:
                for statement in sql.split(";"):
                    if statement.strip():
                        await db.execute(statement)
                await db.execute(
                    "INSERT INTO schema_migrations VALUES (?, datetime('now'))", (number,)
                )
        return len(MIGRATIONS)

    # --- people ---------------------------------------------------------------

    async def person(self, user_id: int) -> Person | None:
        async with self.db.execute("SELECT * FROM people WHERE user_id = ?", (user_id,)) as cur:
            row = await cur.fetchone()
        return _person(row) if row else None

    async def upsert_person(self, user_id: int, name: str, roles: set[Role], now: datetime,
                            lang: Lang | None = None) -> Person:
        """Create or update a person's name and roles; keeps the chosen language unless given."""
        roles_text = ",".join(sorted(r.value for r in roles))
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO people (user_id, name, lang, roles, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(user_id) DO UPDATE SET name = excluded.name, roles = excluded.roles,"
                " lang = COALESCE(excluded.lang, people.lang)",
                (user_id, name, lang.value if lang else None, roles_text, now.isoformat()),
            )
        person = await self.person(user_id)
        assert person is not None
        return person

    async def set_lang(self, user_id: int, lang: Lang) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE people SET lang = ? WHERE user_id = ?", (lang.value, user_id))

    async def note_lang(self, user_id: int, lang: Lang) -> None:
        """Remember the language a person last wrote in (for replies to button presses)."""
        async with self.transaction() as db:
            await db.execute("UPDATE people SET last_lang = ? WHERE user_id = ? AND"
                             " last_lang IS NOT ?", (lang.value, user_id, lang.value))


    # --- questions and knowledge gaps ---------------------------------------------

    async def log_question(self, user_id: int, now: datetime, text: str, outcome: str,
                           card_id: str | None, score: float, offered: list[str]) -> int:
        """Record a question; `text` must already be masked of customer data."""
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO questions (user_id, asked_at, text, outcome, card_id, score, offered)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (user_id, now.isoformat(), text, outcome, card_id, score, ",".join(offered)),
            )
            return int(cur.lastrowid or 0)

    async def question(self, question_id: int, user_id: int) -> QuestionRow | None:
        async with self.db.execute(
            "SELECT id, outcome, card_id, offered, feedback FROM questions"
            " WHERE id = ? AND user_id = ?", (question_id, user_id),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        offered = tuple(x for x in row["offered"].split(",") if x)
        return QuestionRow(row["id"], row["outcome"], row["card_id"], offered, row["feedback"])

    async def choose_card(self, question_id: int, card_id: str) -> bool:
        """A did-you-mean button was pressed; True the first time only."""
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE questions SET card_id = ? WHERE id = ? AND card_id IS NULL",
                (card_id, question_id),
            )
            return cur.rowcount == 1

    async def set_feedback(self, question_id: int, value: int) -> bool:
        """Store 👍 (1) / 👎 (-1) once; True the first time only."""
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE questions SET feedback = ? WHERE id = ? AND feedback IS NULL",
                (value, question_id),
            )
            return cur.rowcount == 1

    async def gaps(self, since: datetime, user_ids: list[int] | None = None,
                   limit: int = 10) -> list[tuple[str, int]]:
        """Questions the knowledge base could not answer, most frequent first.

        A gap is a question with no match, a did-you-mean where nothing was chosen,
        or an answer marked 👎.
        """
        sql = (
            "SELECT text, COUNT(*) AS n FROM questions WHERE asked_at >= ? AND"
            " (outcome = 'none' OR (outcome = 'unsure' AND card_id IS NULL) OR feedback = -1)"
        )
        args: list[object] = [since.isoformat()]
        if user_ids is not None:
            sql += f" AND user_id IN ({','.join('?' * len(user_ids))})"
            args += user_ids
        sql += " GROUP BY text ORDER BY n DESC, MAX(asked_at) DESC LIMIT ?"
        args.append(limit)
        async with self.db.execute(sql, args) as cur:
            return [(r["text"], r["n"]) for r in await cur.fetchall()]

    async def first_notice_today(self, user_id: int, kind: str, day: str) -> bool:
        """True once per person, kind and day (e.g. the "don't paste customer data" hint)."""
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO notices VALUES (?, ?, ?)", (user_id, kind, day)
            )
            return cur.rowcount == 1


@dataclass(frozen=True)
class QuestionRow:
    id: int
    outcome: str
    card_id: str | None
    offered: tuple[str, ...]
    feedback: int | None


def _person(row: aiosqlite.Row) -> Person:
    return Person(
        user_id=row["user_id"],
        name=row["name"],
        lang=Lang(row["lang"]) if row["lang"] else None,
        last_lang=Lang(row["last_lang"]) if row["last_lang"] else None,
        roles=frozenset(Role(r) for r in row["roles"].split(",") if r),
    )
