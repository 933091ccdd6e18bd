"""People: enrolment, language, reminders, pauses"""

from __future__ import annotations

from datetime import date, datetime

from bot.models import Lang, Person, Role
from bot.store.base import StoreBase, _person, _ts


class PeopleStore(StoreBase):
    """People."""

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
