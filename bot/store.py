"""The only SQLite code: one connection, numbered migrations, typed methods returning models."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiosqlite

from bot.models import Drill, DrillItem, ItemState, Lang, Person, Role, TopicState

# How an answer changes an item's spacing: (state before, correct, now) -> state after.
Spacing = Callable[[ItemState | None, bool, DrillItem, datetime], ItemState | None]

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
    # 3: micro-drills, every answer, and per-person state derived from answers.
    # topic_state / item_state are updated in the same transaction as each answer
    # so the daily plan for thousands of people never re-reads a year of answers.
    """
    CREATE TABLE card_versions (
        card_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        since   TEXT NOT NULL
    );
    CREATE TABLE drills (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL,
        started_at  TEXT NOT NULL,
        finished_at TEXT,
        items       TEXT NOT NULL,
        position    INTEGER NOT NULL DEFAULT 0,
        correct     INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX drills_open ON drills (user_id, finished_at);
    CREATE TABLE answers (
        id             INTEGER PRIMARY KEY,
        user_id        INTEGER NOT NULL,
        drill_id       INTEGER NOT NULL,
        position       INTEGER NOT NULL,
        item_id        TEXT NOT NULL,
        card_id        TEXT NOT NULL,
        card_version   INTEGER NOT NULL,
        chosen         TEXT NOT NULL,
        correct_option TEXT NOT NULL,
        is_correct     INTEGER NOT NULL,
        answered_at    TEXT NOT NULL,
        UNIQUE (drill_id, position)
    );
    CREATE INDEX answers_user ON answers (user_id, answered_at);
    CREATE INDEX answers_time ON answers (answered_at);
    CREATE TABLE topic_state (
        user_id           INTEGER NOT NULL,
        card_id           TEXT NOT NULL,
        first_answer_at   TEXT NOT NULL,
        last_answer_at    TEXT NOT NULL,
        last_pass_at      TEXT,
        last_pass_version INTEGER,
        answers           INTEGER NOT NULL DEFAULT 0,
        correct           INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, card_id)
    );
    CREATE TABLE item_state (
        user_id INTEGER NOT NULL,
        item_id TEXT NOT NULL,
        card_id TEXT NOT NULL,
        step    INTEGER NOT NULL,
        due_at  TEXT NOT NULL,
        PRIMARY KEY (user_id, item_id)
    );
    ALTER TABLE people ADD COLUMN remind_at TEXT DEFAULT '09:00';
    ALTER TABLE people ADD COLUMN paused_until TEXT;
    ALTER TABLE people ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE pushes (
        user_id INTEGER NOT NULL,
        kind    TEXT NOT NULL,
        day     TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (user_id, kind, day)
    );
    """,
    # 4: updates already handled, so a redelivery after a crash changes nothing
    """
    CREATE TABLE deliveries (
        key     TEXT PRIMARY KEY,
        seen_at TEXT NOT NULL
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

    async def first_delivery(self, key: str, now: datetime) -> bool:
        """True the first time an update key is seen; old keys are pruned after a day."""
        async with self.transaction() as db:
            cur = await db.execute("INSERT OR IGNORE INTO deliveries VALUES (?, ?)", (key, _ts(now)))
            if cur.rowcount == 1 and hash(key) % 500 == 0:
                await db.execute("DELETE FROM deliveries WHERE seen_at < ?",
                                 (_ts(now - timedelta(days=1)),))
            return cur.rowcount == 1

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
                (user_id, name, lang.value if lang else None, roles_text, _ts(now)),
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
                (user_id, _ts(now), text, outcome, card_id, score, ",".join(offered)),
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
        args: list[object] = [_ts(since)]
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


    # --- drills -------------------------------------------------------------------

    async def sync_card_versions(self, versions: dict[str, int], now: datetime) -> dict[str, datetime]:
        """Record each card's current version; return when each version was first seen."""
        async with self.transaction() as db:
            for card_id, version in versions.items():
                await db.execute(
                    "INSERT INTO card_versions VALUES (?, ?, ?) ON CONFLICT(card_id) DO UPDATE"
                    " SET version = excluded.version, since = excluded.since"
                    " WHERE card_versions.version != excluded.version",
                    (card_id, version, _ts(now)),
                )
        async with self.db.execute("SELECT card_id, since FROM card_versions") as cur:
            return {r["card_id"]: _dt(r["since"]) for r in await cur.fetchall()}

    async def start_drill(self, user_id: int, now: datetime,
                          items: list[tuple[str, list[str]]]) -> Drill:
        """Close any unfinished drill of the person and start a new one."""
        async with self.transaction() as db:
            await db.execute("UPDATE drills SET finished_at = ? WHERE user_id = ? AND"
                             " finished_at IS NULL", (_ts(now), user_id))
            cur = await db.execute(
                "INSERT INTO drills (user_id, started_at, items) VALUES (?, ?, ?)",
                (user_id, _ts(now), json.dumps(items)),
            )
            drill_id = int(cur.lastrowid or 0)
        drill = await self.drill(drill_id)
        assert drill is not None
        return drill

    async def drill(self, drill_id: int) -> Drill | None:
        async with self.db.execute("SELECT * FROM drills WHERE id = ?", (drill_id,)) as cur:
            row = await cur.fetchone()
        return _drill(row) if row else None

    async def open_drill(self, user_id: int) -> Drill | None:
        async with self.db.execute(
            "SELECT * FROM drills WHERE user_id = ? AND finished_at IS NULL ORDER BY id DESC"
            " LIMIT 1", (user_id,),
        ) as cur:
            row = await cur.fetchone()
        return _drill(row) if row else None

    async def record_answer(self, drill: Drill, item: DrillItem, version: int, chosen: str,
                            now: datetime, spacing: Spacing) -> bool:
        """Store one answer and everything derived from it, atomically; False if already stored."""
        correct = item.correct.id == chosen
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT OR IGNORE INTO answers (user_id, drill_id, position, item_id, card_id,"
                " card_version, chosen, correct_option, is_correct, answered_at)"
                " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM drills"
                " WHERE id = ? AND position = ? AND finished_at IS NULL",
                (drill.user_id, drill.id, drill.position, item.id, item.card_id, version, chosen,
                 item.correct.id, int(correct), _ts(now), drill.id, drill.position),
            )
            if cur.rowcount != 1:
                return False
            await db.execute(
                "INSERT INTO topic_state VALUES (?, ?, ?, ?, ?, ?, 1, ?)"
                " ON CONFLICT(user_id, card_id) DO UPDATE SET last_answer_at = excluded.last_answer_at,"
                " answers = answers + 1, correct = correct + excluded.correct,"
                " last_pass_at = COALESCE(excluded.last_pass_at, last_pass_at),"
                " last_pass_version = COALESCE(excluded.last_pass_version, last_pass_version)",
                (drill.user_id, item.card_id, _ts(now), _ts(now), _ts(now) if correct else None,
                 version if correct else None, int(correct)),
            )
            async with db.execute("SELECT * FROM item_state WHERE user_id = ? AND item_id = ?",
                                  (drill.user_id, item.id)) as c:
                row = await c.fetchone()
            spaced = spacing(_item_state(row) if row else None, correct, item, now)
            if spaced is None:
                await db.execute("DELETE FROM item_state WHERE user_id = ? AND item_id = ?",
                                 (drill.user_id, item.id))
            else:
                await db.execute(
                    "INSERT OR REPLACE INTO item_state VALUES (?, ?, ?, ?, ?)",
                    (drill.user_id, item.id, item.card_id, spaced.step, _ts(spaced.due_at)),
                )
            last = drill.position + 1 >= len(drill.items)
            await db.execute(
                "UPDATE drills SET position = position + 1, correct = correct + ?,"
                " finished_at = CASE WHEN ? THEN ? ELSE NULL END WHERE id = ?",
                (int(correct), int(last), _ts(now), drill.id),
            )
        return True

    async def topic_states(self, user_id: int) -> dict[str, TopicState]:
        async with self.db.execute("SELECT * FROM topic_state WHERE user_id = ?", (user_id,)) as cur:
            return {r["card_id"]: _topic_state(r) for r in await cur.fetchall()}

    async def item_states(self, user_id: int) -> list[ItemState]:
        async with self.db.execute("SELECT * FROM item_state WHERE user_id = ?", (user_id,)) as cur:
            return [_item_state(r) for r in await cur.fetchall()]

    async def recent_items(self, user_id: int, since: datetime) -> set[str]:
        async with self.db.execute(
            "SELECT DISTINCT item_id FROM answers WHERE user_id = ? AND answered_at >= ?",
            (user_id, _ts(since)),
        ) as cur:
            return {r["item_id"] for r in await cur.fetchall()}

    async def answers(self, user_id: int) -> list[AnswerRow]:
        async with self.db.execute(
            "SELECT card_id, is_correct, answered_at, drill_id FROM answers WHERE user_id = ?"
            " ORDER BY answered_at", (user_id,),
        ) as cur:
            return [AnswerRow(r["card_id"], bool(r["is_correct"]), _dt(r["answered_at"]),
                              r["drill_id"]) for r in await cur.fetchall()]

    # --- reminders ------------------------------------------------------------------

    async def set_reminder(self, user_id: int, at: str | None) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE people SET remind_at = ? WHERE user_id = ?", (at, user_id))

    async def set_pause(self, user_id: int, until: date | None) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE people SET paused_until = ? WHERE user_id = ?",
                             (until.isoformat() if until else None, user_id))

    async def set_active(self, user_id: int, active: bool) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE people SET active = ? WHERE user_id = ?", (int(active), user_id))

    async def people(self) -> list[Person]:
        async with self.db.execute("SELECT * FROM people ORDER BY user_id") as cur:
            return [_person(r) for r in await cur.fetchall()]

    async def claim_push(self, user_id: int, kind: str, day: str, now: datetime) -> bool:
        """Reserve the one push of `kind` for a person and day; False if already sent."""
        async with self.transaction() as db:
            cur = await db.execute("INSERT OR IGNORE INTO pushes VALUES (?, ?, ?, ?)",
                                   (user_id, kind, day, _ts(now)))
            return cur.rowcount == 1


@dataclass(frozen=True)
class AnswerRow:
    card_id: str
    correct: bool
    answered_at: datetime
    drill_id: int


@dataclass(frozen=True)
class QuestionRow:
    id: int
    outcome: str
    card_id: str | None
    offered: tuple[str, ...]
    feedback: int | None


def _ts(value: datetime) -> str:
    """Times are stored as UTC ISO-8601 text, so text order is time order."""
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _drill(row: aiosqlite.Row) -> Drill:
    return Drill(
        id=row["id"], user_id=row["user_id"], started_at=_dt(row["started_at"]),
        finished_at=_dt(row["finished_at"]) if row["finished_at"] else None,
        items=tuple((i, tuple(order)) for i, order in json.loads(row["items"])),
        position=row["position"], correct=row["correct"],
    )


def _topic_state(row: aiosqlite.Row) -> TopicState:
    return TopicState(
        card_id=row["card_id"], first_answer_at=_dt(row["first_answer_at"]),
        last_answer_at=_dt(row["last_answer_at"]),
        last_pass_at=_dt(row["last_pass_at"]) if row["last_pass_at"] else None,
        last_pass_version=row["last_pass_version"], answers=row["answers"],
        correct=row["correct"],
    )


def _item_state(row: aiosqlite.Row) -> ItemState:
    return ItemState(row["item_id"], row["card_id"], row["step"], _dt(row["due_at"]))


def _person(row: aiosqlite.Row) -> Person:
    return Person(
        user_id=row["user_id"],
        name=row["name"],
        lang=Lang(row["lang"]) if row["lang"] else None,
        last_lang=Lang(row["last_lang"]) if row["last_lang"] else None,
        roles=frozenset(Role(r) for r in row["roles"].split(",") if r),
        active=bool(row["active"]),
        remind_at=row["remind_at"],
        paused_until=date.fromisoformat(row["paused_until"]) if row["paused_until"] else None,
    )
