"""The schema, as numbered migrations recorded in the database, for both engines."""

from __future__ import annotations

import re

# Append only: an applied migration is never edited, a change is a new number.
# A migration is its statements, one string each: splitting a script on ';' breaks
# on a ';' inside a string literal or a trigger body. Statements are written for SQLite
# and run on PostgreSQL through `for_engine`; one that must differ starts with the line
# `-- sqlite only` or `-- postgresql only`.
MIGRATIONS: list[tuple[str, ...]] = [
    # 1: people
    (
        """
        CREATE TABLE people (
            user_id    INTEGER PRIMARY KEY,
            name       TEXT NOT NULL,
            lang       TEXT,
            last_lang  TEXT,
            roles      TEXT NOT NULL DEFAULT 'staff',
            created_at TEXT NOT NULL
        )
        """,
    ),
    # 2: questions asked (masked text only) and what the bot did with them
    (
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
        )
        """,
        "CREATE INDEX questions_user ON questions (user_id, asked_at)",
        "CREATE INDEX questions_time ON questions (asked_at)",
        """
        CREATE TABLE notices (
            user_id INTEGER NOT NULL,
            kind    TEXT NOT NULL,
            day     TEXT NOT NULL,
            PRIMARY KEY (user_id, kind, day)
        )
        """,
    ),
    # 3: micro-drills, every answer, and per-person state derived from answers.
    # topic_state / item_state are updated in the same transaction as each answer
    # so the daily plan for thousands of people never re-reads a year of answers.
    (
        """
        CREATE TABLE card_versions (
            card_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            since   TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE drills (
            id          INTEGER PRIMARY KEY,
            user_id     INTEGER NOT NULL,
            started_at  TEXT NOT NULL,
            finished_at TEXT,
            items       TEXT NOT NULL,
            position    INTEGER NOT NULL DEFAULT 0,
            correct     INTEGER NOT NULL DEFAULT 0
        )
        """,
        "CREATE INDEX drills_open ON drills (user_id, finished_at)",
        """
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
        )
        """,
        "CREATE INDEX answers_user ON answers (user_id, answered_at)",
        "CREATE INDEX answers_time ON answers (answered_at)",
        """
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
        )
        """,
        """
        CREATE TABLE item_state (
            user_id INTEGER NOT NULL,
            item_id TEXT NOT NULL,
            card_id TEXT NOT NULL,
            step    INTEGER NOT NULL,
            due_at  TEXT NOT NULL,
            PRIMARY KEY (user_id, item_id)
        )
        """,
        "ALTER TABLE people ADD COLUMN remind_at TEXT DEFAULT '09:00'",
        "ALTER TABLE people ADD COLUMN paused_until TEXT",
        "ALTER TABLE people ADD COLUMN active INTEGER NOT NULL DEFAULT 1",
        """
        CREATE TABLE pushes (
            user_id INTEGER NOT NULL,
            kind    TEXT NOT NULL,
            day     TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            PRIMARY KEY (user_id, kind, day)
        )
        """,
    ),
    # 4: updates already handled, so a redelivery after a crash changes nothing
    (
        """
        CREATE TABLE deliveries (
            key     TEXT PRIMARY KEY,
            seen_at TEXT NOT NULL
        )
        """,
    ),
    # 5: teams, invites, supervisors, leave history, audit and anonymous counters
    (
        """
        CREATE TABLE teams (
            name       TEXT PRIMARY KEY COLLATE NOCASE,
            created_at TEXT NOT NULL
        )
        """,
        "ALTER TABLE people ADD COLUMN team TEXT",
        """
        CREATE TABLE supervisors (
            user_id INTEGER NOT NULL,
            team    TEXT NOT NULL COLLATE NOCASE,
            PRIMARY KEY (user_id, team)
        )
        """,
        """
        CREATE TABLE invites (
            code       TEXT PRIMARY KEY,
            team       TEXT NOT NULL,
            role       TEXT NOT NULL,
            created_by INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_by    INTEGER,
            used_at    TEXT
        )
        """,
        """
        CREATE TABLE pauses (
            user_id INTEGER NOT NULL,
            start   TEXT NOT NULL,
            until   TEXT NOT NULL
        )
        """,
        "CREATE INDEX pauses_user ON pauses (user_id)",
        """
        CREATE TABLE audit (
            id     INTEGER PRIMARY KEY,
            at     TEXT NOT NULL,
            actor  INTEGER NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        )
        """,
        """
        CREATE TABLE counters (
            name  TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        )
        """,
        # PostgreSQL has no NOCASE: team names are unique and matched by lower(name)
        "-- postgresql only\nCREATE UNIQUE INDEX teams_nocase ON teams (lower(name))",
        "-- postgresql only\nCREATE UNIQUE INDEX supervisors_nocase"
        " ON supervisors (user_id, lower(team))",
    ),
    # 6: handled updates are forgotten by age, so that needs an index
    (
        "CREATE INDEX deliveries_time ON deliveries (seen_at)",
    ),
    # 7: staff numbers (unique; NULL for none), and the xAPI outbox: each statement frozen
    # (id and body) in the transaction that stores the answer, sent later by the sender
    (
        "ALTER TABLE people ADD COLUMN staff_no TEXT",
        "CREATE UNIQUE INDEX people_staff_no ON people (staff_no)",
        """
        CREATE TABLE xapi_outbox (
            id           INTEGER PRIMARY KEY,
            statement_id TEXT NOT NULL UNIQUE,
            user_id      INTEGER NOT NULL,
            verb         TEXT NOT NULL,
            body         TEXT NOT NULL,
            queued_at    TEXT NOT NULL,
            state        TEXT NOT NULL DEFAULT 'queued'
                         CHECK (state IN ('queued', 'sent', 'parked')),
            tries        INTEGER NOT NULL DEFAULT 0,
            next_at      TEXT NOT NULL,
            sent_at      TEXT,
            error        TEXT NOT NULL DEFAULT ''
        )
        """,
        "CREATE INDEX xapi_outbox_due ON xapi_outbox (state, next_at)",
        "CREATE INDEX xapi_outbox_user ON xapi_outbox (user_id)",
    ),
    # 8: the update inbox: an update is stored before Telegram is told it arrived and kept
    # until its replies are sent; effects note the update that made them, so handling it
    # again finds them instead of repeating them
    (
        """
        CREATE TABLE inbox (
            update_id     INTEGER PRIMARY KEY,
            user_id       INTEGER NOT NULL,
            body          TEXT,
            received_at   TEXT NOT NULL,
            state         TEXT NOT NULL DEFAULT 'new'
                          CHECK (state IN ('new', 'done', 'sent', 'failed')),
            replies       TEXT,
            claimed_by    TEXT,
            claimed_until TEXT,
            attempts      INTEGER NOT NULL DEFAULT 0
        )
        """,
        "CREATE INDEX inbox_person ON inbox (user_id, update_id)",
        "CREATE INDEX inbox_open ON inbox (state, update_id)",
        "CREATE INDEX inbox_time ON inbox (received_at)",
        "ALTER TABLE answers ADD COLUMN update_id INTEGER",
        "ALTER TABLE questions ADD COLUMN update_id INTEGER",
        "CREATE UNIQUE INDEX questions_update ON questions (update_id)",
        "DROP TABLE deliveries",
    ),
    # 9: strangers (not enrolled): a keyed hash of the Telegram id and the day they were
    # answered, and replies to strangers per minute; both forgotten daily
    (
        """
        CREATE TABLE strangers (
            who TEXT NOT NULL,
            day TEXT NOT NULL,
            PRIMARY KEY (who, day)
        )
        """,
        """
        CREATE TABLE stranger_minutes (
            minute  TEXT PRIMARY KEY,
            replies INTEGER NOT NULL
        )
        """,
    ),
    # 10: learning from use: a question (masked) and the card a person picked for it, counted;
    # an administrator accepts (the index then also matches it) or rejects it
    (
        """
        CREATE TABLE suggestions (
            id         INTEGER PRIMARY KEY,
            question   TEXT NOT NULL,
            card_id    TEXT NOT NULL,
            count      INTEGER NOT NULL DEFAULT 1,
            status     TEXT NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'accepted', 'rejected')),
            created_at TEXT NOT NULL,
            last_at    TEXT NOT NULL,
            decided_at TEXT,
            decided_by INTEGER,
            UNIQUE (question, card_id)
        )
        """,
        "CREATE INDEX suggestions_status ON suggestions (status, count)",
    ),
    # 11: the shared push outbox: a push is queued in the transaction that claims it, sent
    # by whichever instance claims its row, at one rate for all instances (push_pace)
    (
        """
        CREATE TABLE outbox (
            id            INTEGER PRIMARY KEY,
            user_id       INTEGER NOT NULL,
            push_key      TEXT NOT NULL,
            body          TEXT,
            state         TEXT NOT NULL DEFAULT 'queued'
                          CHECK (state IN ('queued', 'sent', 'blocked', 'failed')),
            queued_at     TEXT NOT NULL,
            not_before    TEXT NOT NULL,
            claimed_by    TEXT,
            claimed_until TEXT,
            send_at       TEXT,
            sent_at       TEXT,
            tries         INTEGER NOT NULL DEFAULT 0,
            error         TEXT NOT NULL DEFAULT ''
        )
        """,
        "CREATE INDEX outbox_due ON outbox (state, id)",
        "CREATE INDEX outbox_user ON outbox (user_id, send_at)",
        "CREATE INDEX outbox_time ON outbox (queued_at)",
        """
        CREATE TABLE push_pace (
            name      TEXT PRIMARY KEY,
            next_slot TEXT NOT NULL
        )
        """,
        "CREATE INDEX pushes_time ON pushes (sent_at)",
        "CREATE INDEX pushes_day ON pushes (kind, day)",
    ),
]


_ONLY = re.compile(r"\s*-- (sqlite|postgresql) only\n")
_DDL = re.compile(r"\s*(CREATE TABLE|ALTER TABLE)\b", re.IGNORECASE)
# SQLite's types as PostgreSQL spells them: Telegram ids pass 2**31, so every INTEGER is
# BIGINT; an `id INTEGER PRIMARY KEY` numbers itself; NOCASE is an index on lower(…).
_PG_TYPES = [
    (re.compile(r"\bid\s+INTEGER\s+PRIMARY\s+KEY\b"),
     "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\s*\bCOLLATE NOCASE\b"), ""),
]


def for_engine(statements: tuple[str, ...], engine: str) -> list[str]:
    """A migration's statements as `engine` ("sqlite" or "postgresql") runs them."""
    out = []
    for statement in statements:
        only = _ONLY.match(statement)
        if only and only.group(1) != engine:
            continue
        if engine == "postgresql" and _DDL.match(statement):
            for pattern, replacement in _PG_TYPES:
                statement = pattern.sub(replacement, statement)
        out.append(statement)
    return out


def tables() -> list[str]:
    """Every table the migrations leave, in the order they were created."""
    created: list[str] = []
    for statements in MIGRATIONS:
        for statement in statements:
            if made := re.match(r"\s*CREATE TABLE (\w+)", statement, re.IGNORECASE):
                created.append(made.group(1))
            elif dropped := re.match(r"\s*DROP TABLE (?:IF EXISTS )?(\w+)", statement,
                                     re.IGNORECASE):
                created.remove(dropped.group(1))
    return list(dict.fromkeys(created))
