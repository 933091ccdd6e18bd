"""People, teams, invites, pauses, the audit trail and anonymous counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.models import Lang, Person, Role
from bot.store.base import Row, StoreBase, Tx, _person, _ts

# A person with the teams they supervise: one row per team (or one row with NULL).
_WITH_TEAMS = ("SELECT people.*, supervisors.team AS supervised FROM people"
               " LEFT JOIN supervisors ON supervisors.user_id = people.user_id")


class PeopleStore(StoreBase):
    """People and what administrators do with them."""

    # --- people ---------------------------------------------------------------

    async def person(self, user_id: int) -> Person | None:
        found = await self.rows(f"{_WITH_TEAMS} WHERE people.user_id = ?", (user_id,))
        return next(iter(_people(found)), None)

    async def upsert_person(self, user_id: int, name: str, roles: set[Role], now: datetime,
                            lang: Lang | None = None) -> Person:
        """Create or update a person's name and roles; keeps the chosen language unless given."""
        roles_text = ",".join(sorted(r.value for r in roles))

        def work(tx: Tx) -> Person:
            tx.run(
                "INSERT INTO people (user_id, name, lang, roles, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(user_id) DO UPDATE SET name = excluded.name, roles = excluded.roles,"
                " lang = COALESCE(excluded.lang, people.lang)",
                (user_id, name, lang.value if lang else None, roles_text, _ts(now)))
            return _people(tx.rows(f"{_WITH_TEAMS} WHERE people.user_id = ?", (user_id,)))[0]

        return await self.transaction(work)

    async def set_lang(self, user_id: int, lang: Lang | None) -> None:
        """The language replies are in; None: the language of each message."""
        await self.write("UPDATE people SET lang = ? WHERE user_id = ?",
                         (lang.value if lang else None, user_id))

    async def note_lang(self, user_id: int, lang: Lang) -> None:
        """Remember the language a person last wrote in (for replies to button presses)."""
        await self.write("UPDATE people SET last_lang = ? WHERE user_id = ? AND"
                         " (last_lang IS NULL OR last_lang != ?)", (lang.value, user_id, lang.value))


    # --- reminders ------------------------------------------------------------------

    async def set_reminder(self, user_id: int, at: str | None) -> None:
        await self.write("UPDATE people SET remind_at = ? WHERE user_id = ?", (at, user_id))

    async def set_pause(self, user_id: int, today: date, until: date | None) -> None:
        """Pause reminders from `today` to `until` inclusive (None resumes from today)."""

        def work(tx: Tx) -> None:
            tx.run("UPDATE people SET paused_until = ? WHERE user_id = ?",
                   (until.isoformat() if until else None, user_id))
            tx.run("UPDATE pauses SET until = ? WHERE user_id = ? AND until >= ?",
                   ((today - timedelta(days=1)).isoformat(), user_id, today.isoformat()))
            if until is not None:
                tx.run("INSERT INTO pauses VALUES (?, ?, ?)",
                       (user_id, today.isoformat(), until.isoformat()))

        await self.transaction(work)

    async def paused_days(self, user_id: int) -> list[tuple[date, date]]:
        found = await self.rows("SELECT start, until FROM pauses WHERE user_id = ?",
                                (user_id,))
        return [(date.fromisoformat(r["start"]), date.fromisoformat(r["until"]))
                for r in found if r["start"] <= r["until"]]

    async def enrolled_at(self, user_id: int) -> datetime | None:
        row = await self.row("SELECT created_at FROM people WHERE user_id = ?",
                             (user_id,))
        return datetime.fromisoformat(row["created_at"]) if row else None

    # --- teams, invites, membership ----------------------------------------------------

    async def add_team(self, name: str, now: datetime) -> bool:
        return await self.changed_one("INSERT INTO teams VALUES (?, ?) ON CONFLICT DO NOTHING",
                                      (name, _ts(now)))

    async def teams(self) -> list[str]:
        found = await self.rows("SELECT name FROM teams ORDER BY lower(name), name")
        return [r["name"] for r in found]

    async def team(self, name: str) -> str | None:
        """The team's name as created (names match case-insensitively)."""
        row = await self.row("SELECT name FROM teams WHERE lower(name) = lower(?)", (name,))
        return row["name"] if row else None

    async def create_invite(self, code: str, team: str, role: Role, by: int, now: datetime,
                            expires: datetime) -> None:
        await self.write(
            "INSERT INTO invites (code, team, role, created_by, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", (code, team, role.value, by, _ts(now), _ts(expires)))

    async def use_invite(self, code: str, user_id: int, name: str, now: datetime) -> str | None:
        """Enrol with a single-use code; the team joined, or None if the code is not valid now."""

        def work(tx: Tx) -> str | None:
            # the guarded UPDATE, not a read first: two people using one code at once
            if tx.run("UPDATE invites SET used_by = ?, used_at = ? WHERE code = ?"
                      " AND used_by IS NULL AND expires_at > ?",
                      (user_id, _ts(now), code, _ts(now))) != 1:
                return None
            invite = tx.row("SELECT team, role FROM invites WHERE code = ?", (code,))
            assert invite is not None
            tx.run("INSERT INTO people (user_id, name, roles, created_at) VALUES (?, ?, 'staff', ?)"
                   " ON CONFLICT(user_id) DO UPDATE SET name = excluded.name",
                   (user_id, name, _ts(now)))
            team = str(invite["team"])
            if invite["role"] == Role.SUPERVISOR.value:
                tx.run(_SUPERVISE, (user_id, team))
                tx.run("UPDATE people SET roles = CASE WHEN roles LIKE '%supervisor%' THEN roles"
                       " ELSE roles || ',supervisor' END WHERE user_id = ?", (user_id,))
            else:
                tx.run("UPDATE people SET team = ? WHERE user_id = ?", (team, user_id))
            return team

        return await self.transaction(work)

    async def add_supervisor(self, user_id: int, team: str) -> None:
        await self.write(_SUPERVISE, (user_id, team))

    async def set_team(self, user_id: int, team: str) -> bool:
        return await self.changed_one("UPDATE people SET team = ? WHERE user_id = ?",
                                      (team, user_id))

    async def erase_person(self, user_id: int) -> bool:
        """Delete a person's data; answers and questions stay as anonymous counts (user 0)."""

        def work(tx: Tx) -> bool:
            if tx.run("DELETE FROM people WHERE user_id = ?", (user_id,)) != 1:
                return False
            for table in ("supervisors", "drills", "topic_state", "item_state", "pushes",
                          "notices", "pauses", "xapi_outbox", "outbox"):
                tx.run(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
            tx.run("UPDATE answers SET user_id = 0 WHERE user_id = ?", (user_id,))
            tx.run("UPDATE questions SET user_id = 0 WHERE user_id = ?", (user_id,))
            tx.run("UPDATE invites SET used_by = 0 WHERE used_by = ?", (user_id,))
            tx.run("UPDATE audit SET actor = 0 WHERE actor = ?", (user_id,))
            tx.run(  # "user=12" but not "user=123"
                "UPDATE audit SET detail = rtrim(replace(detail || ' ', ?, 'user=0 '), ' ')",
                (f"user={user_id} ",))
            tx.run("UPDATE invites SET created_by = 0 WHERE created_by = ?", (user_id,))
            tx.run(_BUMP, ("people_left",))
            return True

        return await self.transaction(work)

    # --- audit and counters ----------------------------------------------------------

    async def audit(self, actor: int, action: str, detail: str, now: datetime) -> None:
        await self.write("INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                         (_ts(now), actor, action, detail))

    async def bump(self, name: str) -> None:
        await self.write(_BUMP, (name,))

    async def counter(self, name: str) -> int:
        row = await self.row("SELECT value FROM counters WHERE name = ?", (name,))
        return int(row["value"]) if row else 0

    async def set_active(self, user_id: int, active: bool) -> None:
        await self.write("UPDATE people SET active = ? WHERE user_id = ?", (int(active), user_id))

    async def people(self, team: str | None = None) -> list[Person]:
        """Everyone, or the members of one team, ordered by name."""
        sql, args = _WITH_TEAMS, []
        if team is not None:  # team names match case-insensitively
            sql, args = sql + " WHERE lower(people.team) = lower(?)", [team]
        return _people(await self.rows(sql + " ORDER BY people.name, people.user_id", args))

    # --- staff numbers and the roster ---------------------------------------------------

    async def set_staff_no(self, user_id: int, staff_no: str | None, actor: int,
                           now: datetime) -> int | None:
        """Set (or clear) a person's staff number, audited; the id of someone else who
        already has that number (nothing changed then), else None."""

        def work(tx: Tx) -> int | None:
            holder = tx.row("SELECT user_id FROM people WHERE staff_no = ? AND user_id != ?",
                            (staff_no, user_id)) if staff_no else None
            if holder is not None:
                return int(holder["user_id"])
            tx.run("UPDATE people SET staff_no = ? WHERE user_id = ?", (staff_no, user_id))
            tx.run(_AUDIT, (_ts(now), actor, "staffno", f"user={user_id} staff_no={staff_no or '-'}"))
            return None

        return await self.transaction(work)

    async def people_page(self, team: str | None, offset: int,
                          limit: int) -> tuple[list[Person], int]:
        """One page of everyone (or of a team's members and supervisors) by name; the total."""
        where, args = "", []
        if team is not None:
            where = (" WHERE lower(team) = lower(?)"
                     " OR user_id IN (SELECT user_id FROM supervisors WHERE team = ?)")
            args = [team, team]

        def work(tx: Tx) -> tuple[list[Person], int]:
            total = tx.row(f"SELECT COUNT(*) FROM people{where}", args)
            ids = [r["user_id"] for r in tx.rows(
                f"SELECT user_id FROM people{where} ORDER BY name, user_id LIMIT ? OFFSET ?",
                [*args, limit, offset])]
            marks = ", ".join("?" * len(ids))
            found = tx.rows(f"{_WITH_TEAMS} WHERE people.user_id IN ({marks})"
                            " ORDER BY people.name, people.user_id", ids) if ids else []
            return _people(found), int(total[0]) if total else 0

        return await self.engine.run(work, atomic=False)

    async def apply_roster(self, changes: list[RosterChange], teams: list[str], actor: int,
                           now: datetime) -> None:
        """`people import`: new teams, new people and changed ones, all or nothing, audited.
        Staff numbers that move between people are cleared first (the column is unique)."""

        def work(tx: Tx) -> None:
            tx.many("INSERT INTO teams VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [(team, _ts(now)) for team in teams])
            tx.many("UPDATE people SET staff_no = NULL WHERE user_id = ?",
                    [(c.user_id,) for c in changes if c.staff_no is not None and not c.new])
            for c in changes:
                if c.new:
                    tx.run("INSERT INTO people (user_id, name, roles, created_at)"
                           " VALUES (?, ?, 'staff', ?)", (c.user_id, c.name, _ts(now)))
                tx.run("UPDATE people SET name = COALESCE(?, name), team = COALESCE(?, team),"
                       " staff_no = COALESCE(?, staff_no) WHERE user_id = ?",
                       (c.name, c.team, c.staff_no, c.user_id))
                tx.run(_AUDIT, (_ts(now), actor, "people.import", c.detail()))

        await self.transaction(work)


@dataclass(frozen=True)
class RosterChange:
    """One person's change from `people import`; None = that field is left as it is."""

    user_id: int
    new: bool
    name: str | None
    team: str | None
    staff_no: str | None

    def detail(self) -> str:
        parts = [f"user={self.user_id}"] + ["new"] * self.new
        parts += [f"{k}={v}" for k, v in (("team", self.team), ("staff_no", self.staff_no)) if v]
        return " ".join(parts)


_AUDIT = "INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)"
_SUPERVISE = "INSERT INTO supervisors VALUES (?, ?) ON CONFLICT DO NOTHING"
_BUMP = ("INSERT INTO counters VALUES (?, 1) ON CONFLICT(name)"
         " DO UPDATE SET value = counters.value + 1")


def _people(rows: list[Row]) -> list[Person]:
    """People from `_WITH_TEAMS` rows, in the order first seen."""
    teams: dict[int, set[str]] = {}
    first: dict[int, Row] = {}
    for r in rows:
        first.setdefault(r["user_id"], r)
        if r["supervised"] is not None:
            teams.setdefault(r["user_id"], set()).add(r["supervised"])
    return [_person(r, frozenset(teams.get(uid, ()))) for uid, r in first.items()]
